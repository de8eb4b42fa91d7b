//! [`ExaBgp`]: ExaBGP 4.2 in a lab node, driven through its process API.
//!
//! Checked on this machine: ExaBGP runs in a namespace as root with
//! `exabgp.daemon.user=root`, `exabgp.daemon.daemonize=false` and
//! `exabgp.api.cli=false` (otherwise it wants named pipes in the global
//! `/run/exabgp`). The harness gives it one API process, `api.sh`, which
//! forwards lines appended to `commands` to ExaBGP (`tail -F`) and stores
//! what ExaBGP reports (JSON: neighbor state changes and parsed UPDATEs) in
//! `events`. [`ExaBgp::send`] appends an API command such as
//! `announce route 203.0.113.0/26 next-hop self attribute [ 0x63 0xc0 0x0102 ]`
//! (a generic attribute: code, flags, value), which is how arbitrary
//! attribute *values* can be injected. Structural damage (lengths that
//! overrun, duplicate attributes, a broken NLRI) is beyond ExaBGP's API: use
//! [`crate::RawPeer`] for that.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::lab::LabShared;
use crate::peer::{BgpConfig, BgpPeer, Family, Origin, Prefix, Route, SessionState};
use crate::sys::{stop_child, tail};
use crate::{Error, Lab, Result};

/// ExaBGP in one lab node.
pub struct ExaBgp {
    lab: Arc<LabShared>,
    node: String,
    name: String,
    dir: PathBuf,
    config: BgpConfig,
    child: Option<Child>,
}

impl ExaBgp {
    /// ExaBGP for `node` with `config`; not started yet. Every neighbor needs
    /// a `local_address` (ExaBGP 4.2 requires one).
    pub fn new(lab: &Lab, node: &str, config: BgpConfig) -> Result<ExaBgp> {
        let shared = lab.shared();
        shared.check_node(node)?;
        if let Some(n) = config.neighbors.iter().find(|n| n.local_address.is_none()) {
            return Err(Error::msg(format!("exabgp: neighbor {} needs a local_address", n.address)));
        }
        let name = format!("exabgp-{node}");
        let dir = shared.peer_dir(&name)?;
        shared.register_log(format!("{name} exabgp.log"), dir.join("exabgp.log"));
        shared.register_log(format!("{name} stdout/stderr"), dir.join("exabgp.out"));
        Ok(ExaBgp { lab: shared, node: node.to_string(), name, dir, config, child: None })
    }

    /// [`ExaBgp::new`] and [`ExaBgp::start`].
    pub fn start_in(lab: &Lab, node: &str, config: BgpConfig) -> Result<ExaBgp> {
        let mut x = ExaBgp::new(lab, node, config)?;
        x.start()?;
        Ok(x)
    }

    /// The generated `exabgp.conf`.
    pub fn config_text(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "process harness {{\n  run {};\n  encoder json;\n}}",
            self.dir.join("api.sh").display()
        );
        for n in &c.neighbors {
            let _ = writeln!(s, "neighbor {} {{", n.address);
            let _ = writeln!(
                s,
                "  router-id {};\n  local-as {};\n  peer-as {};",
                c.router_id, c.asn, n.remote_as
            );
            if let Some(l) = n.local_address {
                let _ = writeln!(s, "  local-address {l};");
            }
            let _ = writeln!(s, "  hold-time {};", c.hold_time);
            if let Some(p) = &n.password {
                let _ = writeln!(s, "  md5-password \"{p}\";");
            }
            if let Some(ttl) = n.multihop {
                let _ = writeln!(s, "  outgoing-ttl {ttl};");
            }
            if n.passive {
                s.push_str("  passive true;\n");
            }
            s.push_str("  family {\n");
            for f in &n.families {
                s.push_str(match f {
                    Family::Ipv4Unicast => "    ipv4 unicast;\n",
                    Family::Ipv6Unicast => "    ipv6 unicast;\n",
                });
            }
            s.push_str("  }\n  api {\n    processes [ harness ];\n    neighbor-changes;\n");
            s.push_str("    receive { parsed; update; }\n  }\n  static {\n");
            for p in c.networks.iter().filter(|p| n.has(p.family())) {
                let _ = writeln!(s, "    route {p} next-hop self;");
            }
            s.push_str("  }\n}\n");
        }
        s.push_str(&c.extra);
        s
    }

    /// Write the config and start ExaBGP (in the foreground).
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Err(Error::msg(format!("{} already started", self.name)));
        }
        let commands = self.dir.join("commands");
        let events = self.dir.join("events");
        fs::write(&commands, "")?;
        // tail exits with the shell (which becomes cat), so nothing outlives ExaBGP.
        let script = format!(
            "#!/bin/sh\ntail --pid=$$ -n +1 -F {} &\nexec cat > {}\n",
            commands.display(),
            events.display()
        );
        let api = self.dir.join("api.sh");
        fs::write(&api, script)?;
        fs::set_permissions(&api, fs::Permissions::from_mode(0o755))?;
        let conf = self.dir.join("exabgp.conf");
        fs::write(&conf, self.config_text())?;
        let out = fs::File::create(self.dir.join("exabgp.out"))?;
        let err = out.try_clone()?;
        let mut cmd = self.lab.command(&self.node, "exabgp")?;
        cmd.arg(&conf)
            .env("exabgp.daemon.user", "root")
            .env("exabgp.daemon.daemonize", "false")
            .env("exabgp.api.cli", "false")
            .env("exabgp.log.destination", self.dir.join("exabgp.log"))
            .env("exabgp.daemon.pid", self.dir.join("exabgp.pid"));
        if self.config.neighbors.iter().any(|n| n.passive) {
            let bind = self.config.neighbors.iter().find_map(|n| n.local_address);
            cmd.env("exabgp.tcp.bind", bind.map(|a| a.to_string()).unwrap_or_default());
            cmd.env("exabgp.tcp.port", "179");
        }
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        self.child =
            Some(cmd.spawn().map_err(|e| Error::msg(format!("{}: cannot start exabgp: {e}", self.name)))?);
        Ok(())
    }

    /// Stop ExaBGP (SIGTERM, then SIGKILL) and reap it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::from_secs(5));
        }
    }

    /// PID of the running daemon.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Send one API command (see the module doc).
    pub fn send(&self, command: &str) -> Result<()> {
        let mut f = OpenOptions::new().append(true).open(self.dir.join("commands"))?;
        writeln!(f, "{}", command.trim())?;
        Ok(())
    }

    /// The JSON events ExaBGP reported so far.
    pub fn events(&self) -> Vec<Value> {
        fs::read_to_string(self.dir.join("events"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The peer's directory (config, API files, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for ExaBgp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn peer_of(ev: &Value) -> Option<IpAddr> {
    ev.pointer("/neighbor/address/peer").and_then(Value::as_str).and_then(|a| a.parse().ok())
}

/// Adj-RIB-In rebuilt from the `update` events.
pub(crate) fn rib_from_events(events: &[Value], family: Family) -> Vec<Route> {
    let key = match family {
        Family::Ipv4Unicast => "ipv4 unicast",
        Family::Ipv6Unicast => "ipv6 unicast",
    };
    let mut rib: BTreeMap<(Prefix, Option<IpAddr>), Route> = BTreeMap::new();
    for ev in events.iter().filter(|e| e.get("type").and_then(Value::as_str) == Some("update")) {
        let from = peer_of(ev);
        let Some(update) = ev.pointer("/neighbor/message/update") else { continue };
        let prefixes_of = |v: &Value| -> Vec<Prefix> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.get("nlri").and_then(Value::as_str).and_then(|s| s.parse().ok()))
                .collect()
        };
        if let Some(w) = update.pointer("/withdraw").and_then(|w| w.get(key)) {
            for p in prefixes_of(w) {
                rib.remove(&(p, from));
            }
        }
        let attrs = update.get("attribute");
        for (nh, nlris) in update
            .pointer("/announce")
            .and_then(|a| a.get(key))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for p in prefixes_of(nlris) {
                let mut r = Route::new(p);
                r.best = true;
                r.next_hop = nh.parse().ok();
                if let Some(a) = attrs {
                    r.origin = a.get("origin").and_then(Value::as_str).and_then(Origin::parse);
                    r.as_path = a
                        .get("as-path")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n.as_u64().and_then(|n| u32::try_from(n).ok()))
                        .collect();
                    r.med = a.get("med").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
                    r.local_pref =
                        a.get("local-preference").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
                    r.communities = a
                        .get("community")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|c| Some(format!("{}:{}", c.get(0)?, c.get(1)?)))
                        .collect();
                }
                rib.insert((p, from), r);
            }
        }
    }
    rib.into_values().collect()
}

impl BgpPeer for ExaBgp {
    fn name(&self) -> &str {
        &self.name
    }

    /// From the last `state` event for the neighbor: `up` is Established,
    /// `down` Idle, `connected` (TCP up, OPEN not yet done) OpenSent.
    fn session_state(&self, neighbor: IpAddr) -> Result<SessionState> {
        if !self.config.neighbors.iter().any(|n| n.address == neighbor) {
            return Ok(SessionState::NotConfigured);
        }
        let last = self
            .events()
            .into_iter()
            .rev()
            .filter(|e| {
                e.get("type").and_then(Value::as_str) == Some("state") && peer_of(e) == Some(neighbor)
            })
            .filter_map(|e| e.pointer("/neighbor/state").and_then(Value::as_str).map(str::to_string))
            .next();
        Ok(match last.as_deref() {
            Some("up") => SessionState::Established,
            Some("connected") => SessionState::OpenSent,
            Some("down") | None => SessionState::Idle,
            Some(other) => SessionState::Other(other.to_string()),
        })
    }

    /// The routes received from all neighbors (ExaBGP keeps no RIB of its
    /// own: this is rebuilt from the UPDATE events; every path is "best").
    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        Ok(rib_from_events(&self.events(), family))
    }

    fn announce(&self, prefix: &str) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        self.send(&format!("announce route {p} next-hop self"))
    }

    fn withdraw(&self, prefix: &str) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        self.send(&format!("withdraw route {p} next-hop self"))
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("exabgp.log"), lines)
    }
}
