//! The devices under test: BIRD, FRR (zebra + bgpd, no kernel install),
//! GoBGP and mdcd, each started in the lab's `dut` node with a config
//! written here (every feeder: import all, export nothing; the monitor:
//! export all), and measured through `/proc`.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use mdc_benches::race::{cpu_seconds, status_kb};
use mdc_tests::Lab;

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DutKind {
    Mdcd,
    Bird,
    Frr,
    Gobgp,
}

impl DutKind {
    pub const ALL: [DutKind; 4] = [DutKind::Mdcd, DutKind::Bird, DutKind::Frr, DutKind::Gobgp];

    pub fn name(self) -> &'static str {
        match self {
            DutKind::Mdcd => "mdcd",
            DutKind::Bird => "bird",
            DutKind::Frr => "frr",
            DutKind::Gobgp => "gobgp",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DutKind::Mdcd => "mdcd",
            DutKind::Bird => "BIRD 2.0.12",
            DutKind::Frr => "FRR 8.4 (bgpd+zebra)",
            DutKind::Gobgp => "GoBGP 3.10",
        }
    }

    pub fn parse(s: &str) -> Option<DutKind> {
        DutKind::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// One BGP neighbor of the device under test.
#[derive(Debug, Clone)]
pub struct DutNeighbor {
    pub address: IpAddr,
    pub asn: u32,
    /// true: the monitor (export all, import nothing); false: a feeder
    /// (import all, export nothing).
    pub monitor: bool,
}

/// The device's side of the topology.
#[derive(Debug, Clone)]
pub struct DutSetup {
    pub asn: u32,
    pub router_id: String,
    pub neighbors: Vec<DutNeighbor>,
    /// The device installs into the kernel's main table: FRR (bgpd
    /// without `-n`: zebra programs the best paths), mdcd (`[fib] install`).
    pub kernel: bool,
}

/// A running device under test.
pub struct Dut {
    pub kind: DutKind,
    children: Vec<Child>,
    pub dir: PathBuf,
}

fn afi(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "ipv4" } else { "ipv6" }
}

fn bird_config(s: &DutSetup, dir: &Path) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "log \"{}/bird.log\" {{ info, warning, error, fatal }};", dir.display());
    let _ = writeln!(c, "router id {};\nprotocol device {{}}", s.router_id);
    for (i, n) in s.neighbors.iter().enumerate() {
        let local = if n.address.is_ipv4() { "192.0.2.1" } else { "2001:db8::1" };
        let (import, export) = if n.monitor { ("none", "all") } else { ("all", "none") };
        let _ = writeln!(
            c,
            "protocol bgp n{i} {{\n  local {local} as {};\n  neighbor {} as {};\n  passive on;\n  {} {{ import {import}; export {export}; }};\n}}",
            s.asn,
            n.address,
            n.asn,
            afi(n.address)
        );
    }
    c
}

fn frr_config(s: &DutSetup, dir: &Path) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "frr version 8.4\nfrr defaults traditional\nhostname dut");
    let _ = writeln!(c, "log file {}/frr.log informational\n!", dir.display());
    let _ = writeln!(c, "router bgp {}\n bgp router-id {}", s.asn, s.router_id);
    c.push_str(" no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n");
    for n in &s.neighbors {
        let a = n.address;
        let _ = writeln!(c, " neighbor {a} remote-as {}\n neighbor {a} passive", n.asn);
        let _ = writeln!(c, " neighbor {a} advertisement-interval 0");
    }
    for family in ["ipv4", "ipv6"] {
        let _ = writeln!(c, " address-family {family} unicast");
        for n in s.neighbors.iter().filter(|n| afi(n.address) == family) {
            let _ = writeln!(c, "  neighbor {} activate", n.address);
            if !n.monitor {
                let _ = writeln!(c, "  neighbor {} route-map NOTHING out", n.address);
            }
        }
        c.push_str(" exit-address-family\n");
    }
    c.push_str("exit\n!\nroute-map NOTHING deny 10\n!\n");
    c
}

fn gobgp_config(s: &DutSetup) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "[global.config]\n  as = {}\n  router-id = \"{}\"", s.asn, s.router_id);
    c.push_str("[global.apply-policy.config]\n  export-policy-list = [\"feeders-get-nothing\"]\n");
    c.push_str("  default-import-policy = \"accept-route\"\n  default-export-policy = \"accept-route\"\n\n");
    let feeders: Vec<String> =
        s.neighbors.iter().filter(|n| !n.monitor).map(|n| format!("\"{}\"", n.address)).collect();
    let _ = writeln!(
        c,
        "[[defined-sets.neighbor-sets]]\n  neighbor-set-name = \"feeders\"\n  neighbor-info-list = [{}]\n",
        feeders.join(", ")
    );
    c.push_str(
        "[[policy-definitions]]\n  name = \"feeders-get-nothing\"\n  [[policy-definitions.statements]]\n    name = \"s1\"\n    [policy-definitions.statements.conditions.match-neighbor-set]\n      neighbor-set = \"feeders\"\n      match-set-options = \"any\"\n    [policy-definitions.statements.actions]\n      route-disposition = \"reject-route\"\n\n",
    );
    for n in &s.neighbors {
        let _ = writeln!(
            c,
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}",
            n.address, n.asn
        );
        c.push_str("  [neighbors.transport.config]\n    passive-mode = true\n");
        let _ = writeln!(
            c,
            "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{}-unicast\"\n",
            afi(n.address)
        );
    }
    c
}

fn mdcd_config(s: &DutSetup, dir: &Path) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "router-id = \"{}\"\nlocal-as = {}\n", s.router_id, s.asn);
    c.push_str("[policy.all]\ndefault = \"accept\"\n\n[policy.nothing]\ndefault = \"reject\"\n");
    for n in &s.neighbors {
        let _ = writeln!(c, "\n[[peer]]\naddress = \"{}\"\nremote-as = {}\npassive = true", n.address, n.asn);
        let _ = writeln!(c, "families = [\"{}-unicast\"]", afi(n.address));
        let (import, export) = if n.monitor { ("nothing", "all") } else { ("all", "nothing") };
        let _ = writeln!(c, "import = \"{import}\"\nexport = \"{export}\"");
    }
    let _ = writeln!(c, "\n[api]\nsocket = \"{}/mdcd.sock\"", dir.display());
    if s.kernel {
        c.push_str("\n[fib]\ninstall = true\n");
    }
    c
}

fn spawn(lab: &Lab, program: &str, args: &[&str], log: &Path) -> Result<Child, String> {
    let out = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd: Command = lab.command("dut", program).map_err(|e| e.to_string())?;
    cmd.args(args).stdout(Stdio::from(out)).stderr(Stdio::from(err));
    cmd.spawn().map_err(|e| format!("cannot start {program}: {e}"))
}

fn wait_path(p: &Path, child: &mut Child, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !p.exists() {
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!("{what} exited ({st}) before {} appeared", p.display()));
        }
        if Instant::now() > deadline {
            return Err(format!("{what}: {} did not appear in 10 s", p.display()));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn tail(p: &Path) -> String {
    let text = fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines.get(lines.len().saturating_sub(15)..).unwrap_or_default().join("\n")
}

impl Dut {
    /// Write the config and start the daemon in node `dut` of `lab`.
    /// `mdcd`: path of the mdcd binary.
    pub fn start(lab: &Lab, kind: DutKind, setup: &DutSetup, mdcd: &Path) -> Result<Dut, String> {
        let dir = lab.dir().join(format!("dut-{}", kind.name()));
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let d = dir.display().to_string();
        let write = |name: &str, text: String| -> Result<String, String> {
            let p = dir.join(name);
            fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(p.display().to_string())
        };
        let mut children = Vec::new();
        match kind {
            DutKind::Bird => {
                let conf = write("bird.conf", bird_config(setup, &dir))?;
                let ctl = format!("{d}/bird.ctl");
                let mut c = spawn(
                    lab,
                    "bird",
                    &["-f", "-c", &conf, "-s", &ctl, "-P", &format!("{d}/bird.pid")],
                    &dir.join("bird.out"),
                )?;
                let ready = wait_path(Path::new(&ctl), &mut c, "bird");
                children.push(c);
                ready.map_err(|e| format!("{e}\n{}", tail(&dir.join("bird.out"))))?;
            }
            DutKind::Frr => {
                let conf = write("frr.conf", frr_config(setup, &dir))?;
                Command::new("chown")
                    .args(["-R", "frr:frr", &d])
                    .status()
                    .map_err(|e| format!("chown: {e}"))?;
                let ns = lab.ns("dut");
                let bgpd_extra: &[&str] = if setup.kernel { &[] } else { &["-n"] };
                for (daemon, extra) in [("zebra", &[][..]), ("bgpd", bgpd_extra)] {
                    let pid = format!("{d}/{daemon}.pid");
                    let mut args = vec!["-N", ns.as_str(), "-f", conf.as_str(), "-i", pid.as_str()];
                    args.extend_from_slice(&["--vty_socket", d.as_str()]);
                    args.extend_from_slice(extra);
                    let mut c = spawn(
                        lab,
                        &format!("/usr/lib/frr/{daemon}"),
                        &args,
                        &dir.join(format!("{daemon}.out")),
                    )?;
                    let ready = wait_path(&dir.join(format!("{daemon}.vty")), &mut c, daemon);
                    children.push(c);
                    ready.map_err(|e| format!("{e}\n{}", tail(&dir.join(format!("{daemon}.out")))))?;
                }
            }
            DutKind::Gobgp => {
                let conf = write("gobgpd.toml", gobgp_config(setup))?;
                let c = spawn(
                    lab,
                    "gobgpd",
                    &["-f", &conf, "--api-hosts", "127.0.0.1:50051", "-l", "warn"],
                    &dir.join("gobgpd.log"),
                )?;
                children.push(c);
                // Let it read the config before the peers dial (they retry anyway).
                thread::sleep(Duration::from_millis(500));
            }
            DutKind::Mdcd => {
                let conf = write("mdcd.toml", mdcd_config(setup, &dir))?;
                let log = dir.join("mdcd.log");
                let out = fs::File::create(&log).map_err(|e| e.to_string())?;
                let mut cmd = lab.command("dut", &mdcd.display().to_string()).map_err(|e| e.to_string())?;
                cmd.args(["--config", &conf]).env("RUST_LOG", "info").stderr(Stdio::from(out));
                let mut c = cmd.spawn().map_err(|e| format!("cannot start mdcd: {e}"))?;
                let ready = wait_path(&dir.join("mdcd.sock"), &mut c, "mdcd");
                children.push(c);
                ready.map_err(|e| format!("{e}\n{}", tail(&log)))?;
            }
        }
        Ok(Dut { kind, children, dir })
    }

    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Whether every process still runs.
    pub fn alive(&mut self) -> bool {
        self.children.iter_mut().all(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// utime + stime of all processes.
    pub fn cpu(&self) -> f64 {
        self.pids().into_iter().filter_map(cpu_seconds).sum()
    }

    /// Sum of a `/proc/PID/status` field over the processes, bytes.
    pub fn mem(&self, field: &str) -> u64 {
        self.pids().into_iter().filter_map(|p| status_kb(p, field)).sum()
    }

    /// The last lines of the daemon's log.
    pub fn log_tail(&self) -> String {
        let name = match self.kind {
            DutKind::Bird => "bird.log",
            DutKind::Frr => "frr.log",
            DutKind::Gobgp => "gobgpd.log",
            DutKind::Mdcd => "mdcd.log",
        };
        tail(&self.dir.join(name))
    }
}

impl Drop for Dut {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
