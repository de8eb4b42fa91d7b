//! [`Frr`]: FRR 8.4 (zebra + bgpd) in a lab node, configured from a
//! [`BgpConfig`] and queried with `vtysh ... json`.
//!
//! Both daemons run in the foreground (no `-d`) as children of the test, so
//! they are stopped and reaped by their `Child` handles; `-N <namespace>`
//! keeps FRR's per-instance paths apart and `--vty_socket <dir>` puts the
//! vty sockets in the peer's own directory.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::lab::LabShared;
use crate::peer::{BgpConfig, BgpPeer, Family, Origin, Prefix, Route, SessionState};
use crate::sys::{run, stop_child, tail, wait_for_path};
use crate::{Error, Lab, Result};

const ZEBRA: &str = "/usr/lib/frr/zebra";
const BGPD: &str = "/usr/lib/frr/bgpd";
const STARTUP: Duration = Duration::from_secs(10);

/// FRR's `frr defaults` profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrrProfile {
    Traditional,
    Datacenter,
}

/// FRR in one lab node.
pub struct Frr {
    lab: Arc<LabShared>,
    node: String,
    name: String,
    dir: PathBuf,
    config: BgpConfig,
    profile: FrrProfile,
    zebra: Option<Child>,
    bgpd: Option<Child>,
}

impl Frr {
    /// FRR for `node` with `config` (datacenter profile); not started yet.
    pub fn new(lab: &Lab, node: &str, config: BgpConfig) -> Result<Frr> {
        let shared = lab.shared();
        shared.check_node(node)?;
        let name = format!("frr-{node}");
        let dir = shared.peer_dir(&name)?;
        shared.register_log(format!("{name} frr.log"), dir.join("frr.log"));
        shared.register_log(format!("{name} zebra stdout/stderr"), dir.join("zebra.out"));
        shared.register_log(format!("{name} bgpd stdout/stderr"), dir.join("bgpd.out"));
        Ok(Frr {
            lab: shared,
            node: node.to_string(),
            name,
            dir,
            config,
            profile: FrrProfile::Datacenter,
            zebra: None,
            bgpd: None,
        })
    }

    /// [`Frr::new`] and [`Frr::start`].
    pub fn start_in(lab: &Lab, node: &str, config: BgpConfig) -> Result<Frr> {
        let mut f = Frr::new(lab, node, config)?;
        f.start()?;
        Ok(f)
    }

    /// Use another `frr defaults` profile (before `start`).
    pub fn profile(mut self, profile: FrrProfile) -> Self {
        self.profile = profile;
        self
    }

    /// The generated `frr.conf`.
    pub fn config_text(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let profile = match self.profile {
            FrrProfile::Traditional => "traditional",
            FrrProfile::Datacenter => "datacenter",
        };
        let _ = writeln!(s, "frr version 8.4\nfrr defaults {profile}\nhostname {}", self.node);
        let _ = writeln!(s, "log file {}/frr.log\nlog timestamp precision 3\n!", self.dir.display());
        let _ = writeln!(s, "router bgp {}\n bgp router-id {}", c.asn, c.router_id);
        s.push_str(
            " no bgp ebgp-requires-policy\n no bgp network import-check\n no bgp default ipv4-unicast\n",
        );
        let _ = writeln!(s, " timers bgp {} {}", c.keepalive(), c.hold_time);
        for n in &c.neighbors {
            let a = n.address;
            let _ = writeln!(s, " neighbor {a} remote-as {}", n.remote_as);
            let _ = writeln!(s, " neighbor {a} timers connect 1\n neighbor {a} advertisement-interval 0");
            if let Some(p) = &n.password {
                let _ = writeln!(s, " neighbor {a} password {p}");
            }
            if let Some(ttl) = n.multihop {
                let _ = writeln!(s, " neighbor {a} ebgp-multihop {ttl}");
            }
            if n.passive {
                let _ = writeln!(s, " neighbor {a} passive");
            }
            if let Some(l) = n.local_address {
                let _ = writeln!(s, " neighbor {a} update-source {l}");
            }
        }
        for (family, afi) in [(Family::Ipv4Unicast, "ipv4"), (Family::Ipv6Unicast, "ipv6")] {
            let _ = writeln!(s, " address-family {afi} unicast");
            for p in c.networks.iter().filter(|p| p.family() == family) {
                let _ = writeln!(s, "  network {p}");
            }
            for n in c.neighbors.iter().filter(|n| n.has(family)) {
                let _ = writeln!(s, "  neighbor {} activate", n.address);
            }
            s.push_str(" exit-address-family\n");
        }
        s.push_str("exit\n!\n");
        s.push_str(&c.extra);
        s
    }

    /// Write the config and start zebra, then bgpd; returns when both vty
    /// sockets exist.
    pub fn start(&mut self) -> Result<()> {
        if self.bgpd.is_some() {
            return Err(Error::msg(format!("{} already started", self.name)));
        }
        if !Path::new("/etc/frr/vtysh.conf").exists() {
            // vtysh refuses to start without it.
            let _ = fs::create_dir_all("/etc/frr");
            fs::write("/etc/frr/vtysh.conf", "")?;
        }
        let conf = self.dir.join("frr.conf");
        fs::write(&conf, self.config_text())?;
        let dir = self.dir.display().to_string();
        run(&["chown", "-R", "frr:frr", &dir])?;
        self.zebra = Some(self.spawn(ZEBRA, "zebra")?);
        if let Some(z) = self.zebra.as_mut() {
            wait_for_path(&self.dir.join("zebra.vty"), STARTUP, z, "zebra")
                .map_err(|e| e.context(&self.name).context(tail(&self.dir.join("zebra.out"), 20)))?;
        }
        self.spawn_bgpd()
    }

    fn spawn_bgpd(&mut self) -> Result<()> {
        self.bgpd = Some(self.spawn(BGPD, "bgpd")?);
        if let Some(b) = self.bgpd.as_mut() {
            wait_for_path(&self.dir.join("bgpd.vty"), STARTUP, b, "bgpd")
                .map_err(|e| e.context(&self.name).context(tail(&self.dir.join("bgpd.out"), 20)))?;
        }
        Ok(())
    }

    /// Crash bgpd: SIGKILL (no NOTIFICATION, nothing cleaned up) and reap
    /// it. zebra keeps running, as after a real bgpd crash.
    pub fn kill_bgpd(&mut self) -> Result<()> {
        let mut child =
            self.bgpd.take().ok_or_else(|| Error::msg(format!("{}: bgpd is not running", self.name)))?;
        child.kill().map_err(|e| Error::msg(format!("{}: cannot kill bgpd: {e}", self.name)))?;
        child.wait().map_err(|e| Error::msg(format!("{}: cannot reap bgpd: {e}", self.name)))?;
        Ok(())
    }

    /// Start bgpd again after [`Frr::kill_bgpd`], from the `frr.conf`
    /// written at start (runtime changes are gone); returns when its vty
    /// socket exists.
    pub fn restart_bgpd(&mut self) -> Result<()> {
        if self.bgpd.is_some() {
            return Err(Error::msg(format!("{}: bgpd is still running", self.name)));
        }
        // The killed bgpd left its socket behind.
        let vty = self.dir.join("bgpd.vty");
        if vty.exists() {
            fs::remove_file(&vty)?;
        }
        self.spawn_bgpd()
    }

    fn spawn(&self, program: &str, daemon: &str) -> Result<Child> {
        let out = fs::File::create(self.dir.join(format!("{daemon}.out")))?;
        let err = out.try_clone()?;
        let ns = self.lab.ns(&self.node);
        let conf = self.dir.join("frr.conf");
        let pid = self.dir.join(format!("{daemon}.pid"));
        let mut cmd = self.lab.command(&self.node, program)?;
        cmd.arg("-N").arg(&ns).arg("-f").arg(&conf).arg("-i").arg(&pid).arg("--vty_socket").arg(&self.dir);
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        cmd.spawn().map_err(|e| Error::msg(format!("{}: cannot start {program}: {e}", self.name)))
    }

    /// Stop bgpd and zebra (SIGTERM, then SIGKILL) and reap them.
    pub fn stop(&mut self) {
        for child in [self.bgpd.take(), self.zebra.take()].into_iter().flatten() {
            let mut child = child;
            stop_child(&mut child, Duration::from_secs(3));
        }
    }

    /// PIDs of the running daemons (zebra, bgpd).
    pub fn pids(&self) -> Vec<u32> {
        [&self.zebra, &self.bgpd].into_iter().flatten().map(Child::id).collect()
    }

    /// Run vtysh commands (each one a `-c`); their output.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String> {
        let dir = self.dir.display().to_string();
        let mut argv = vec!["vtysh", "--vty_socket", dir.as_str()];
        for c in commands {
            argv.push("-c");
            argv.push(c);
        }
        run(&argv)
    }

    /// A `show ... json` command, parsed.
    pub fn json(&self, command: &str) -> Result<Value> {
        let out = self.vtysh(&[command])?;
        serde_json::from_str(&out)
            .map_err(|e| Error::msg(format!("{}: `{command}` gave no JSON ({e}): {}", self.name, out.trim())))
    }

    /// `configure terminal` followed by `lines`.
    pub fn configure(&self, lines: &[&str]) -> Result<()> {
        let mut cmds = vec!["configure terminal"];
        cmds.extend_from_slice(lines);
        let out = self.vtysh(&cmds)?;
        if out.contains('%') {
            return Err(Error::msg(format!("{}: configuration rejected: {}", self.name, out.trim())));
        }
        Ok(())
    }

    fn network(&self, prefix: &str, add: bool) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        let afi = match p.family() {
            Family::Ipv4Unicast => "address-family ipv4 unicast",
            Family::Ipv6Unicast => "address-family ipv6 unicast",
        };
        let router = format!("router bgp {}", self.config.asn);
        let line = format!("{}network {p}", if add { "" } else { "no " });
        self.configure(&[&router, afi, &line])
    }

    /// The peer's directory (config, vty sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Well-known community names (RFC 1997, 7999, 8326, 9494) as numbers.
pub(crate) fn normalise_community(c: &str) -> String {
    match c {
        "graceful-shutdown" | "gshut" => "65535:0",
        "accept-own" => "65535:1",
        "llgr-stale" => "65535:6",
        "no-llgr" => "65535:7",
        "blackhole" => "65535:666",
        "no-export" => "65535:65281",
        "no-advertise" => "65535:65282",
        "local-AS" | "no-export-subconfed" => "65535:65283",
        "no-peer" => "65535:65284",
        other => other,
    }
    .to_string()
}

fn u32_of(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

fn words(v: Option<&Value>) -> Vec<String> {
    v.and_then(|c| c.get("string"))
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().map(normalise_community).collect())
        .unwrap_or_default()
}

/// Paths of `show bgp <afi> unicast json detail`.
pub(crate) fn parse_routes(v: &Value) -> Result<Vec<Route>> {
    let mut out = Vec::new();
    let Some(routes) = v.get("routes").and_then(Value::as_object) else {
        return Ok(out); // an empty table has no "routes"
    };
    for (key, paths) in routes {
        let prefix: Prefix = key.parse()?;
        for p in paths.as_array().into_iter().flatten().filter(|p| p.get("nexthops").is_some()) {
            let mut r = Route::new(prefix);
            r.best = p.pointer("/bestpath/overall").and_then(Value::as_bool).unwrap_or(false);
            r.as_path = p
                .pointer("/aspath/segments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|seg| seg.get("list").and_then(Value::as_array))
                .flatten()
                .filter_map(|a| u32_of(Some(a)))
                .collect();
            r.local = p.get("sourced").and_then(Value::as_bool).unwrap_or(false)
                || p.get("local").and_then(Value::as_bool).unwrap_or(false)
                || p.pointer("/peer/peerId").and_then(Value::as_str) == Some("(unspec)");
            r.next_hop = p
                .get("nexthops")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|nh| nh.get("scope").and_then(Value::as_str) != Some("link-local"))
                .filter_map(|nh| nh.get("ip").and_then(Value::as_str)?.parse::<IpAddr>().ok())
                .find(|ip| !ip.is_unspecified());
            r.origin = p.get("origin").and_then(Value::as_str).and_then(Origin::parse);
            r.med = u32_of(p.get("metric"));
            r.local_pref = u32_of(p.get("locPrf"));
            r.communities = words(p.get("community"));
            r.large_communities = words(p.get("largeCommunity"));
            out.push(r);
        }
    }
    Ok(out)
}

impl BgpPeer for Frr {
    fn name(&self) -> &str {
        &self.name
    }

    fn session_state(&self, neighbor: IpAddr) -> Result<SessionState> {
        let v = self.json(&format!("show bgp neighbors {neighbor} json"))?;
        if v.get("bgpNoSuchNeighbor").is_some() {
            return Ok(SessionState::NotConfigured);
        }
        let state = v
            .get(neighbor.to_string())
            .and_then(|n| n.get("bgpState"))
            .and_then(Value::as_str)
            .ok_or_else(|| Error::msg(format!("{}: no bgpState for {neighbor} in {v}", self.name)))?;
        Ok(SessionState::parse(state))
    }

    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        let afi = match family {
            Family::Ipv4Unicast => "ipv4",
            Family::Ipv6Unicast => "ipv6",
        };
        parse_routes(&self.json(&format!("show bgp {afi} unicast json detail"))?)
    }

    fn announce(&self, prefix: &str) -> Result<()> {
        self.network(prefix, true)
    }

    fn withdraw(&self, prefix: &str) -> Result<()> {
        self.network(prefix, false)
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("frr.log"), lines)
    }
}
