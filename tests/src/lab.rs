//! [`Lab`]: a topology of network namespaces joined by veth pairs, owned by
//! one test and removed with it.
//!
//! Names: every namespace is `mdct-<short>-<pid>-<seq>-<node>` (`short` names
//! the test, `pid` is the test process, `seq` counts labs in the process), so
//! concurrent tests never collide and a leftover names the run that made it.
//! Interfaces live only inside the lab's namespaces (veth pairs are created
//! directly in them), so their short names (`to-<peer>`, the LAN's name)
//! cannot clash with anything outside.
//!
//! Cleanup: on drop (also during a panic) every process whose network
//! namespace is one of the lab's is stopped by PID, then the namespaces and
//! the lab's temporary directory are removed. [`Lab::new`] first removes the
//! leftovers of earlier runs whose process is gone (a killed `cargo test`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::sys::{alive, kill_pid, pids_in_netns, run, tail};
use crate::{Error, Result};

/// Prefix of every namespace, directory and FRR path space the harness makes.
pub const PREFIX: &str = "mdct-";
const NETNS_DIR: &str = "/run/netns";
const FRR_RUN_DIRS: [&str; 2] = ["/var/run/frr", "/var/tmp/frr"];
/// Lines of each log printed when a test panics.
const TAIL_LINES: usize = 40;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A lab: namespaces, links, a temporary directory for configs and logs, and
/// the logs registered by the peers running in it.
///
/// ```no_run
/// # fn main() -> mdc_tests::Result<()> {
/// let lab = mdc_tests::Lab::new("ebgp")?
///     .node("a")?
///     .node("b")?
///     .link("a", "192.0.2.1/30 2001:db8:1::1/64", "b", "192.0.2.2/30 2001:db8:1::2/64")?;
/// println!("{}", lab.exec("a", &["ip", "addr"])?);
/// # Ok(()) }
/// ```
pub struct Lab {
    shared: Arc<LabShared>,
}

/// The part of a lab that peers keep a handle to.
pub(crate) struct LabShared {
    prefix: String,
    dir: PathBuf,
    namespaces: Mutex<Vec<String>>,
    logs: Mutex<Vec<(String, PathBuf)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl LabShared {
    pub(crate) fn ns(&self, node: &str) -> String {
        format!("{}{node}", self.prefix)
    }

    pub(crate) fn has_node(&self, node: &str) -> bool {
        lock(&self.namespaces).contains(&self.ns(node))
    }

    pub(crate) fn check_node(&self, node: &str) -> Result<String> {
        if self.has_node(node) {
            Ok(self.ns(node))
        } else {
            Err(Error::msg(format!("lab has no node {node:?}")))
        }
    }

    /// A fresh directory for one peer's files.
    pub(crate) fn peer_dir(&self, name: &str) -> Result<PathBuf> {
        let d = self.dir.join(name);
        if d.exists() {
            return Err(Error::msg(format!("a peer named {name:?} already exists in this lab")));
        }
        fs::create_dir_all(&d)?;
        Ok(d)
    }

    pub(crate) fn register_log(&self, label: String, path: PathBuf) {
        lock(&self.logs).push((label, path));
    }

    pub(crate) fn exec(&self, node: &str, argv: &[&str]) -> Result<String> {
        let ns = self.check_node(node)?;
        let mut full = vec!["ip", "netns", "exec", ns.as_str()];
        full.extend_from_slice(argv);
        run(&full)
    }

    pub(crate) fn command(&self, node: &str, program: &str) -> Result<Command> {
        let ns = self.check_node(node)?;
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns.as_str(), program])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Ok(c)
    }
}

impl Lab {
    /// A new, empty lab for the test `short` (1-16 chars of `a-z0-9`).
    /// Removes leftovers of killed earlier runs first.
    pub fn new(short: &str) -> Result<Lab> {
        if !valid_name(short, 16) {
            return Err(Error::msg(format!("lab name {short:?} must be 1-16 chars of a-z0-9")));
        }
        remove_leftovers();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{PREFIX}{short}-{}-{seq}-", std::process::id());
        let dir = std::env::temp_dir().join(prefix.trim_end_matches('-'));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(Lab {
            shared: Arc::new(LabShared {
                prefix,
                dir,
                namespaces: Mutex::new(Vec::new()),
                logs: Mutex::new(Vec::new()),
            }),
        })
    }

    pub(crate) fn shared(&self) -> Arc<LabShared> {
        Arc::clone(&self.shared)
    }

    /// Builder form of [`Lab::add_node`].
    pub fn node(self, name: &str) -> Result<Lab> {
        self.add_node(name)?;
        Ok(self)
    }

    /// Builder form of [`Lab::add_link`].
    pub fn link(self, a: &str, a_addrs: &str, b: &str, b_addrs: &str) -> Result<Lab> {
        self.add_link(a, a_addrs, b, b_addrs)?;
        Ok(self)
    }

    /// Builder form of [`Lab::add_lan`].
    pub fn lan(self, name: &str, members: &[(&str, &str)]) -> Result<Lab> {
        self.add_lan(name, members)?;
        Ok(self)
    }

    /// Add a namespace `node` (1-12 chars of `a-z0-9`) with `lo` up, IPv4 and
    /// IPv6 forwarding on, and IPv6 DAD and router advertisements off, so
    /// addresses are usable at once and stay the ones the test configured.
    pub fn add_node(&self, name: &str) -> Result<()> {
        if !valid_name(name, 12) {
            return Err(Error::msg(format!("node name {name:?} must be 1-12 chars of a-z0-9")));
        }
        let ns = self.shared.ns(name);
        if self.shared.has_node(name) {
            return Err(Error::msg(format!("node {name:?} already exists")));
        }
        run(&["ip", "netns", "add", &ns])?;
        // Registered at once: from here on, drop removes it.
        lock(&self.shared.namespaces).push(ns.clone());
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
        run(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_ra=0",
            "net.ipv6.conf.default.accept_ra=0",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
        ])?;
        Ok(())
    }

    /// Join `a` and `b` with a veth pair: `to-<b>` in `a`, `to-<a>` in `b`.
    /// `a_addrs`/`b_addrs`: zero or more `addr/len`, separated by spaces or
    /// commas (IPv4 and IPv6 mixed).
    pub fn add_link(&self, a: &str, a_addrs: &str, b: &str, b_addrs: &str) -> Result<()> {
        let ns_a = self.shared.check_node(a)?;
        let ns_b = self.shared.check_node(b)?;
        let if_a = format!("to-{b}");
        let if_b = format!("to-{a}");
        run(&[
            "ip", "-n", &ns_a, "link", "add", &if_a, "type", "veth", "peer", "name", &if_b, "netns", &ns_b,
        ])?;
        self.add_addrs(a, &if_a, a_addrs)?;
        self.add_addrs(b, &if_b, b_addrs)?;
        run(&["ip", "-n", &ns_a, "link", "set", &if_a, "up"])?;
        run(&["ip", "-n", &ns_b, "link", "set", &if_b, "up"])?;
        Ok(())
    }

    /// A LAN: a bridge `br0` in its own namespace `name` (1-12 chars), and
    /// for each `(node, addrs)` a veth with the LAN's name inside the node.
    pub fn add_lan(&self, name: &str, members: &[(&str, &str)]) -> Result<()> {
        self.add_node(name)?;
        let ns_lan = self.shared.ns(name);
        run(&["ip", "-n", &ns_lan, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &ns_lan, "link", "set", "br0", "up"])?;
        for (node, addrs) in members {
            let ns = self.shared.check_node(node)?;
            let port = format!("to-{node}");
            run(&[
                "ip", "-n", &ns_lan, "link", "add", &port, "type", "veth", "peer", "name", name, "netns", &ns,
            ])?;
            run(&["ip", "-n", &ns_lan, "link", "set", &port, "master", "br0", "up"])?;
            self.add_addrs(node, name, addrs)?;
            run(&["ip", "-n", &ns, "link", "set", name, "up"])?;
        }
        Ok(())
    }

    /// Add addresses (as in [`Lab::add_link`]) to interface `ifname` of `node`.
    pub fn add_addrs(&self, node: &str, ifname: &str, addrs: &str) -> Result<()> {
        let ns = self.shared.check_node(node)?;
        for addr in addrs.split([' ', ',']).filter(|s| !s.is_empty()) {
            if addr.contains(':') {
                run(&["ip", "-n", &ns, "addr", "add", addr, "dev", ifname, "nodad"])?;
            } else {
                run(&["ip", "-n", &ns, "addr", "add", addr, "dev", ifname])?;
            }
        }
        Ok(())
    }

    /// Run `argv` inside `node`'s namespace; its stdout, or an error with
    /// its stderr.
    pub fn exec(&self, node: &str, argv: &[&str]) -> Result<String> {
        self.shared.exec(node, argv)
    }

    /// A `Command` that runs `program` inside `node` (add args and spawn it;
    /// a spawned process is stopped when the lab is dropped). Stdin, stdout
    /// and stderr are `/dev/null` unless the caller sets them: a process that
    /// held the test's stdout would keep `cargo test` waiting.
    pub fn command(&self, node: &str, program: &str) -> Result<Command> {
        self.shared.command(node, program)
    }

    /// Full namespace name of `node`.
    pub fn ns(&self, node: &str) -> String {
        self.shared.ns(node)
    }

    /// All namespaces of this lab, in creation order.
    pub fn namespaces(&self) -> Vec<String> {
        lock(&self.shared.namespaces).clone()
    }

    /// The lab's temporary directory (configs, sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Register a log file to print when the test fails.
    pub fn register_log(&self, label: &str, path: &Path) {
        self.shared.register_log(label.to_string(), path.to_path_buf());
    }

    /// The last `lines` lines of every registered log.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for (label, path) in lock(&self.shared.logs).iter() {
            out.push_str(&format!("----- {label}: {} (last {lines} lines)\n", path.display()));
            out.push_str(&tail(path, lines));
            out.push('\n');
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("lab {} failed; logs:\n{}", self.shared.prefix, self.log_tails(TAIL_LINES));
        }
        let namespaces = std::mem::take(&mut *lock(&self.shared.namespaces));
        for ns in namespaces.iter().rev() {
            remove_namespace(ns);
        }
        if std::env::var_os("MDCT_KEEP_LOGS").is_none() {
            let _ = fs::remove_dir_all(&self.shared.dir);
        }
    }
}

/// Stop every process inside `ns` (by PID), delete it, and remove FRR's
/// per-namespace run directories.
fn remove_namespace(ns: &str) {
    let path = Path::new(NETNS_DIR).join(ns);
    for _ in 0..3 {
        let pids = pids_in_netns(&path);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            kill_pid(pid, Duration::from_secs(2));
        }
    }
    if path.exists() {
        let _ = run(&["ip", "netns", "del", ns]);
    }
    for d in FRR_RUN_DIRS {
        let p = Path::new(d).join(ns);
        if p.exists() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// The PID in a harness name `mdct-<short>-<pid>-...`.
fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').nth(1)?.parse().ok()
}

fn stale(name: &str) -> bool {
    owner_pid(name).is_some_and(|pid| pid != std::process::id() && !alive(pid))
}

/// Remove namespaces (with their processes), temp dirs and FRR run dirs of
/// earlier harness runs whose test process no longer exists.
pub fn remove_leftovers() {
    if let Ok(dir) = fs::read_dir(NETNS_DIR) {
        for e in dir.flatten() {
            if let Some(name) = e.file_name().to_str()
                && stale(name)
            {
                remove_namespace(name);
            }
        }
    }
    for base in [std::env::temp_dir()].into_iter().chain(FRR_RUN_DIRS.map(PathBuf::from)) {
        if let Ok(dir) = fs::read_dir(&base) {
            for e in dir.flatten() {
                if let Some(name) = e.file_name().to_str()
                    && stale(name)
                {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_parses_harness_names() {
        assert_eq!(owner_pid("mdct-ebgp-1234-0-a"), Some(1234));
        assert_eq!(owner_pid("mdct-ebgp-1234-0"), Some(1234));
        assert_eq!(owner_pid("gold-frr1"), None);
        assert_eq!(owner_pid("mdct-x"), None);
        assert!(!stale(&format!("mdct-x-{}-0-a", std::process::id())));
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("a1", 12));
        assert!(!valid_name("", 12));
        assert!(!valid_name("A", 12));
        assert!(!valid_name("a-b", 12));
        assert!(!valid_name("abcdefghijklm", 12));
    }
}
