//! [`Mdcd`]: mdcd itself in a lab node, configured from a [`BgpConfig`]
//! (written out as mdcd's TOML) and queried with `mdcctl --json`, like any
//! other peer.
//!
//! The binaries come from the caller (`env!("CARGO_BIN_EXE_mdcd")` in a test
//! of the `mdcd` package), so the harness does not depend on the daemon.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::lab::LabShared;
use crate::peer::{BgpConfig, BgpPeer, Family, Origin, Prefix, Route, SessionState};
use crate::sys::{run, stop_child, tail, wait_for_path};
use crate::{Error, Lab, Result};

/// Where the two binaries are.
#[derive(Debug, Clone)]
pub struct MdcdBinaries {
    pub mdcd: PathBuf,
    pub mdcctl: PathBuf,
}

/// mdcd in one lab node.
pub struct Mdcd {
    lab: Arc<LabShared>,
    node: String,
    name: String,
    dir: PathBuf,
    bins: MdcdBinaries,
    config: std::sync::Mutex<BgpConfig>,
    /// Extra `key = value` lines for one `[[peer]]` table.
    peer_options: std::sync::Mutex<Vec<(IpAddr, String)>>,
    /// Lines of the `[bgp]` table besides the default
    /// `ebgp-requires-policy = false`.
    bgp_options: std::sync::Mutex<Vec<String>>,
    child: Option<Child>,
}

/// The `[bgp]` line the harness writes unless a test sets the key itself:
/// the tests written before RFC 8212 was honoured exchange routes with eBGP
/// peers without policies.
const DEFAULT_BGP_OPTION: &str = "ebgp-requires-policy = false";

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Mdcd {
    /// mdcd for `node`; not started yet.
    pub fn new(lab: &Lab, node: &str, bins: MdcdBinaries, config: BgpConfig) -> Result<Mdcd> {
        let shared = lab.shared();
        shared.check_node(node)?;
        let name = format!("mdcd-{node}");
        let dir = shared.peer_dir(&name)?;
        shared.register_log(format!("{name} log"), dir.join("mdcd.log"));
        Ok(Mdcd {
            lab: shared,
            node: node.to_string(),
            name,
            dir,
            bins,
            config: std::sync::Mutex::new(config),
            peer_options: std::sync::Mutex::new(Vec::new()),
            bgp_options: std::sync::Mutex::new(Vec::new()),
            child: None,
        })
    }

    /// [`Mdcd::new`] and [`Mdcd::start`].
    pub fn start_in(lab: &Lab, node: &str, bins: MdcdBinaries, config: BgpConfig) -> Result<Mdcd> {
        let mut m = Mdcd::new(lab, node, bins, config)?;
        m.start()?;
        Ok(m)
    }

    /// Add a `key = value` line to the `[[peer]]` table of `address` (for
    /// options [`BgpConfig`] does not cover, e.g. `send-hold-time = 5`);
    /// before [`Mdcd::start`]. Panics on a malformed address (test input).
    pub fn peer_option(self, address: &str, line: &str) -> Self {
        match address.parse() {
            Ok(a) => lock(&self.peer_options).push((a, line.to_string())),
            Err(_) => panic!("bad peer address {address:?}"),
        }
        self
    }

    /// Add a `key = value` line to the `[bgp]` table (e.g.
    /// `cluster-id = "192.0.2.10"`); before [`Mdcd::start`]. The harness
    /// writes `ebgp-requires-policy = false` unless a line sets that key.
    pub fn bgp_option(self, line: &str) -> Self {
        lock(&self.bgp_options).push(line.to_string());
        self
    }

    /// Append TOML (e.g. `[policy.NAME]` and `[prefix-list.NAME]` tables)
    /// to the end of the config; before [`Mdcd::start`]. The same as
    /// [`BgpConfig::extra`].
    pub fn extra_config(self, text: &str) -> Self {
        let mut c = lock(&self.config);
        c.extra.push_str(text);
        c.extra.push('\n');
        drop(c);
        self
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("mdcd.sock")
    }

    /// The generated `mdcd.toml`.
    pub fn config_text(&self) -> String {
        let c = lock(&self.config).clone();
        let c = &c;
        let peer_options = lock(&self.peer_options).clone();
        let bgp_options = lock(&self.bgp_options).clone();
        let mut s = String::new();
        let _ = writeln!(s, "router-id = \"{}\"\nlocal-as = {}", c.router_id, c.asn);
        let nets: Vec<String> = c.networks.iter().map(|p| format!("\"{p}\"")).collect();
        let _ = writeln!(s, "originate = [{}]", nets.join(", "));
        s.push_str("\n[bgp]\n");
        let key = |line: &str| line.split('=').next().unwrap_or_default().trim().to_string();
        if !bgp_options.iter().any(|l| key(l) == key(DEFAULT_BGP_OPTION)) {
            let _ = writeln!(s, "{DEFAULT_BGP_OPTION}");
        }
        for line in &bgp_options {
            let _ = writeln!(s, "{line}");
        }
        for n in &c.neighbors {
            let _ = writeln!(s, "\n[[peer]]\naddress = \"{}\"\nremote-as = {}", n.address, n.remote_as);
            let _ = writeln!(s, "hold-time = {}\nconnect-retry = 1", c.hold_time);
            let families: Vec<&str> = n
                .families
                .iter()
                .map(|f| match f {
                    Family::Ipv4Unicast => "\"ipv4-unicast\"",
                    Family::Ipv6Unicast => "\"ipv6-unicast\"",
                })
                .collect();
            if !families.is_empty() {
                let _ = writeln!(s, "families = [{}]", families.join(", "));
            }
            if let Some(p) = &n.password {
                let _ = writeln!(s, "password = \"{p}\"");
            }
            if let Some(m) = n.multihop {
                let _ = writeln!(s, "multihop = {m}");
            }
            if n.passive {
                s.push_str("passive = true\n");
            }
            if let Some(l) = n.local_address {
                let _ = writeln!(s, "local-address = \"{l}\"");
            }
            for (_, line) in peer_options.iter().filter(|(a, _)| *a == n.address) {
                let _ = writeln!(s, "{line}");
            }
        }
        let _ = writeln!(s, "\n[api]\nsocket = \"{}\"", self.socket().display());
        s.push_str(&c.extra);
        s
    }

    /// Write the config, start mdcd and wait for its API socket.
    pub fn start(&mut self) -> Result<()> {
        let conf = self.dir.join("mdcd.toml");
        fs::write(&conf, self.config_text()).map_err(|e| Error::msg(format!("{}: {e}", conf.display())))?;
        let log = fs::File::create(self.dir.join("mdcd.log")).map_err(|e| Error::msg(e.to_string()))?;
        let mut cmd = self.lab.command(&self.node, &self.bins.mdcd.to_string_lossy())?;
        cmd.arg("--config").arg(&conf).env("RUST_LOG", "debug").stdout(Stdio::null()).stderr(log);
        let mut child = cmd.spawn().map_err(|e| Error::msg(format!("cannot start mdcd: {e}")))?;
        let started = wait_for_path(&self.socket(), Duration::from_secs(10), &mut child, "mdcd");
        self.child = Some(child);
        started
    }

    /// SIGTERM (mdcd sends Cease/2 to every peer) and wait.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::from_secs(5));
        }
    }

    /// SIGKILL: mdcd dies without a word (no Cease, nothing cleaned up).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `mdcctl --json show fib`: table, metric, adopting, desired,
    /// installed, in_sync, drift, next_hops, failed_total, recent_failures.
    pub fn fib_json(&self) -> Result<serde_json::Value> {
        let v = self.mdcctl(&["show", "fib"])?;
        v.get("fib").cloned().ok_or_else(|| Error::msg(format!("mdcctl show fib: no \"fib\" in {v}")))
    }

    /// `mdcctl --json show ...` parsed.
    fn mdcctl(&self, args: &[&str]) -> Result<serde_json::Value> {
        let socket = self.socket();
        let mut argv = vec![self.bins.mdcctl.to_str().unwrap_or("mdcctl"), "--socket"];
        argv.push(socket.to_str().unwrap_or_default());
        argv.push("--json");
        argv.extend_from_slice(args);
        let out = run(&argv)?;
        serde_json::from_str(&out).map_err(|e| Error::msg(format!("mdcctl gave no JSON ({e}): {out}")))
    }

    /// `mdcctl clear bgp PEER [soft] [in|out]`: what mdcd says it did, or
    /// the error mdcctl printed.
    pub fn clear_bgp(&self, peer: &str, words: &[&str]) -> Result<String> {
        let mut args = vec!["clear", "bgp", peer];
        args.extend_from_slice(words);
        let v = self.mdcctl(&args)?;
        v.get("done")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::msg(format!("mdcctl clear bgp: no \"done\" in {v}")))
    }

    /// `mdcctl --json show routes <family>`: the list of paths (one object
    /// per path: family, prefix, path_id, peer, next_hop, as_path, origin,
    /// med, local_pref, communities, stale, best, multipath, lost).
    pub fn routes_json(&self, family: Family) -> Result<Vec<serde_json::Value>> {
        let fam = match family {
            Family::Ipv4Unicast => "ipv4",
            Family::Ipv6Unicast => "ipv6",
        };
        let v = self.mdcctl(&["show", "routes", fam])?;
        v.get("routes")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .ok_or_else(|| Error::msg(format!("mdcctl show routes: no \"routes\" list in {v}")))
    }

    /// `mdcctl --json show neighbors`: one object per neighbor (address,
    /// remote_as, state, state_secs, prefixes_received, ...).
    pub fn neighbors_json(&self) -> Result<Vec<serde_json::Value>> {
        let v = self.mdcctl(&["show", "neighbors"])?;
        v.get("neighbors")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .ok_or_else(|| Error::msg(format!("mdcctl show neighbors: no \"neighbors\" list in {v}")))
    }

    /// The `mdcctl --json show neighbors` object of `address`.
    pub fn neighbor_json(&self, address: &str) -> Result<serde_json::Value> {
        self.neighbors_json()?
            .into_iter()
            .find(|n| n.get("address").and_then(serde_json::Value::as_str) == Some(address))
            .ok_or_else(|| Error::msg(format!("mdcctl show neighbors: no neighbor {address}")))
    }

    /// `mdcctl show neighbors` as a table (for logs).
    pub fn neighbors_table(&self) -> Result<String> {
        let socket = self.socket();
        run(&[
            self.bins.mdcctl.to_str().unwrap_or("mdcctl"),
            "--socket",
            socket.to_str().unwrap_or_default(),
            "show",
            "neighbors",
        ])
    }

    /// Change the config, rewrite mdcd.toml and make mdcd re-read it
    /// (SIGHUP).
    pub fn reconfigure(&self, change: impl FnOnce(&mut BgpConfig)) -> Result<()> {
        change(&mut lock(&self.config));
        self.reload()
    }

    /// Change the config for the next [`Mdcd::start`] (while mdcd is down,
    /// e.g. after [`Mdcd::kill`]): nothing is written or signalled now.
    pub fn change_config(&self, change: impl FnOnce(&mut BgpConfig)) {
        change(&mut lock(&self.config));
    }

    /// Replace the extra `key = value` lines of the `[[peer]]` table of
    /// `address` (those of [`Mdcd::peer_option`]) for the next
    /// [`Mdcd::reconfigure`] / [`Mdcd::reload`] or start.
    pub fn set_peer_options(&self, address: &str, lines: &[&str]) -> Result<()> {
        let a: IpAddr = address.parse().map_err(|_| Error::msg(format!("bad peer address {address:?}")))?;
        let mut opts = lock(&self.peer_options);
        opts.retain(|(x, _)| *x != a);
        opts.extend(lines.iter().map(|l| (a, l.to_string())));
        Ok(())
    }

    /// Rewrite mdcd.toml from the current settings and send SIGHUP.
    pub fn reload(&self) -> Result<()> {
        let conf = self.dir.join("mdcd.toml");
        fs::write(&conf, self.config_text()).map_err(|e| Error::msg(format!("{}: {e}", conf.display())))?;
        let pid = self.child.as_ref().map(Child::id).ok_or_else(|| Error::msg("mdcd is not running"))?;
        run(&["kill", "-HUP", &pid.to_string()]).map(|_| ())
    }

    /// Stop mdcd (Cease/2 to every peer) and start it again from the
    /// current settings.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.start()
    }

    /// mdcd's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Mdcd {
    fn drop(&mut self) {
        self.stop();
    }
}

impl BgpPeer for Mdcd {
    fn name(&self) -> &str {
        &self.name
    }

    fn session_state(&self, neighbor: IpAddr) -> Result<SessionState> {
        let v = self.mdcctl(&["show", "neighbors"])?;
        let list = v.get("neighbors").and_then(|n| n.as_array()).cloned().unwrap_or_default();
        let want = neighbor.to_string();
        Ok(list
            .iter()
            .find(|n| n.get("address").and_then(|a| a.as_str()) == Some(want.as_str()))
            .and_then(|n| n.get("state").and_then(|s| s.as_str()))
            .map_or(SessionState::NotConfigured, SessionState::parse))
    }

    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        let fam = match family {
            Family::Ipv4Unicast => "ipv4",
            Family::Ipv6Unicast => "ipv6",
        };
        let v = self.mdcctl(&["show", "routes", fam])?;
        let list = v.get("routes").and_then(|n| n.as_array()).cloned().unwrap_or_default();
        let mut out = Vec::new();
        for r in &list {
            let s = |k: &str| r.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
            let prefix: Prefix = s("prefix").parse()?;
            let mut route = Route::new(prefix);
            route.next_hop = s("next_hop").parse().ok();
            route.as_path = s("as_path").split_whitespace().filter_map(|a| a.parse().ok()).collect();
            route.origin = Origin::parse(&s("origin"));
            route.med = r.get("med").and_then(|m| m.as_u64()).and_then(|m| u32::try_from(m).ok());
            route.local_pref =
                r.get("local_pref").and_then(|m| m.as_u64()).and_then(|m| u32::try_from(m).ok());
            for c in r.get("communities").and_then(|c| c.as_array()).cloned().unwrap_or_default() {
                let c = c.as_str().unwrap_or_default().to_string();
                if c.matches(':').count() == 2 {
                    route.large_communities.push(c);
                } else {
                    route.communities.push(c);
                }
            }
            route.local = r.get("peer").is_none_or(|p| p.is_null());
            route.stale = r.get("stale").and_then(|x| x.as_bool()).unwrap_or(false);
            // Before the RIB, mdcd listed no `best`: its only path was best.
            route.best = r.get("best").and_then(serde_json::Value::as_bool).unwrap_or(true);
            out.push(route);
        }
        Ok(out)
    }

    /// Add the prefix to mdcd's config file and send SIGHUP.
    fn announce(&self, prefix: &str) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        self.reconfigure(|c| {
            if !c.networks.contains(&p) {
                c.networks.push(p);
            }
        })
    }

    /// Remove the prefix from mdcd's config file and send SIGHUP.
    fn withdraw(&self, prefix: &str) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        self.reconfigure(|c| c.networks.retain(|n| *n != p))
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("mdcd.log"), lines)
    }
}
