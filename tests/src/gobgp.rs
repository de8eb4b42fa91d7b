//! [`GoBgp`]: GoBGP 3.10 (`gobgpd`, the engine inside Cilium) in a lab node,
//! configured with TOML and queried with `gobgp ... -j`.
//!
//! The gRPC API listens on 127.0.0.1:50051 *inside the node's namespace*:
//! loopback is per namespace, so every gobgpd in every lab can use the same
//! port (checked: two gobgpd in two namespaces on 127.0.0.1:50051 at once).
//! GoBGP has no static routes in its config: the prefixes of
//! [`BgpConfig::networks`] are added through the CLI after start.

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
use crate::sys::{stop_child, tail};
use crate::{Check, Error, Lab, Result, wait_until};

/// API port inside the namespace.
pub const API_PORT: u16 = 50051;

/// GoBGP in one lab node.
pub struct GoBgp {
    lab: Arc<LabShared>,
    node: String,
    name: String,
    dir: PathBuf,
    config: BgpConfig,
    child: Option<Child>,
}

fn afi_safi(f: Family) -> &'static str {
    match f {
        Family::Ipv4Unicast => "ipv4-unicast",
        Family::Ipv6Unicast => "ipv6-unicast",
    }
}

fn cli_family(f: Family) -> &'static str {
    match f {
        Family::Ipv4Unicast => "ipv4",
        Family::Ipv6Unicast => "ipv6",
    }
}

impl GoBgp {
    /// GoBGP for `node` with `config`; not started yet.
    pub fn new(lab: &Lab, node: &str, config: BgpConfig) -> Result<GoBgp> {
        let shared = lab.shared();
        shared.check_node(node)?;
        let name = format!("gobgp-{node}");
        let dir = shared.peer_dir(&name)?;
        shared.register_log(format!("{name} gobgpd.log"), dir.join("gobgpd.log"));
        Ok(GoBgp { lab: shared, node: node.to_string(), name, dir, config, child: None })
    }

    /// [`GoBgp::new`] and [`GoBgp::start`].
    pub fn start_in(lab: &Lab, node: &str, config: BgpConfig) -> Result<GoBgp> {
        let mut g = GoBgp::new(lab, node, config)?;
        g.start()?;
        Ok(g)
    }

    /// The generated `gobgpd.toml`.
    pub fn config_text(&self) -> String {
        let c = &self.config;
        let mut s = String::new();
        let _ = writeln!(s, "[global.config]\n  as = {}\n  router-id = \"{}\"\n", c.asn, c.router_id);
        for n in &c.neighbors {
            let _ = writeln!(s, "[[neighbors]]\n  [neighbors.config]");
            let _ = writeln!(s, "    neighbor-address = \"{}\"\n    peer-as = {}", n.address, n.remote_as);
            if let Some(p) = &n.password {
                let _ = writeln!(s, "    auth-password = \"{p}\"");
            }
            let _ = writeln!(s, "  [neighbors.timers.config]\n    connect-retry = 1");
            let _ =
                writeln!(s, "    hold-time = {}\n    keepalive-interval = {}", c.hold_time, c.keepalive());
            if n.passive || n.local_address.is_some() {
                s.push_str("  [neighbors.transport.config]\n");
                if n.passive {
                    s.push_str("    passive-mode = true\n");
                }
                if let Some(l) = n.local_address {
                    let _ = writeln!(s, "    local-address = \"{l}\"");
                }
            }
            if let Some(ttl) = n.multihop {
                let _ = writeln!(
                    s,
                    "  [neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = {ttl}"
                );
            }
            for f in &n.families {
                let _ = writeln!(
                    s,
                    "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{}\"",
                    afi_safi(*f)
                );
            }
            s.push('\n');
        }
        s.push_str(&c.extra);
        s
    }

    /// Write the config, start gobgpd, wait for its API, and add the
    /// configured networks.
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Err(Error::msg(format!("{} already started", self.name)));
        }
        let conf = self.dir.join("gobgpd.toml");
        fs::write(&conf, self.config_text())?;
        let out = fs::File::create(self.dir.join("gobgpd.log"))?;
        let err = out.try_clone()?;
        let mut cmd = self.lab.command(&self.node, "gobgpd")?;
        cmd.arg("-f").arg(&conf).arg("--api-hosts").arg(format!("127.0.0.1:{API_PORT}"));
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        let child =
            cmd.spawn().map_err(|e| Error::msg(format!("{}: cannot start gobgpd: {e}", self.name)))?;
        self.child = Some(child);
        wait_until(
            &format!("{}: gobgpd API", self.name),
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                    return Err(Error::msg(format!("gobgpd exited ({status})")));
                }
                self.gobgp(&["global"]).map(|_| Check::Done(()))
            },
        )
        .map_err(|e| self.with_log(e))?;
        for p in self.config.networks.clone() {
            self.announce(&p.to_string())?;
        }
        Ok(())
    }

    /// Stop gobgpd (SIGTERM, then SIGKILL) and reap it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::from_secs(3));
        }
    }

    /// PID of the running daemon.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Run the `gobgp` CLI in the node; its output.
    pub fn gobgp(&self, args: &[&str]) -> Result<String> {
        let port = API_PORT.to_string();
        let mut argv = vec!["gobgp", "-p", port.as_str()];
        argv.extend_from_slice(args);
        self.lab.exec(&self.node, &argv)
    }

    fn json(&self, args: &[&str]) -> Result<Value> {
        let out = self.gobgp(args)?;
        serde_json::from_str(&out).map_err(|e| {
            Error::msg(format!(
                "{}: `gobgp {}` gave no JSON ({e}): {}",
                self.name,
                args.join(" "),
                out.trim()
            ))
        })
    }

    /// The peer's directory (config, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for GoBgp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn u32_of(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

/// Paths of `gobgp global rib -a <family> -j`.
pub(crate) fn parse_routes(v: &Value) -> Result<Vec<Route>> {
    let mut out = Vec::new();
    for (key, paths) in v.as_object().into_iter().flatten() {
        let prefix: Prefix = key.parse()?;
        for p in paths.as_array().into_iter().flatten() {
            let mut r = Route::new(prefix);
            r.best = p.get("best").and_then(Value::as_bool).unwrap_or(false);
            r.local = p.get("neighbor-ip").is_none();
            for a in p.get("attrs").and_then(Value::as_array).into_iter().flatten() {
                match a.get("type").and_then(Value::as_u64) {
                    Some(1) => {
                        r.origin =
                            a.get("value").and_then(Value::as_u64).and_then(|o| Origin::parse(&o.to_string()))
                    }
                    Some(2) => {
                        r.as_path = a
                            .get("as_paths")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|seg| seg.get("asns").and_then(Value::as_array))
                            .flatten()
                            .filter_map(|n| u32_of(Some(n)))
                            .collect();
                    }
                    Some(3 | 14) => {
                        r.next_hop = a
                            .get("nexthop")
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse::<IpAddr>().ok())
                            .filter(|ip| !ip.is_unspecified());
                    }
                    Some(4) => r.med = u32_of(a.get("metric")),
                    Some(5) => r.local_pref = u32_of(a.get("value")),
                    Some(8) => {
                        r.communities = a
                            .get("communities")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|c| u32_of(Some(c)))
                            .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                            .collect();
                    }
                    Some(32) => {
                        r.large_communities = a
                            .get("communities")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .map(|c| {
                                let f = |k| u32_of(c.get(k)).unwrap_or(0);
                                format!("{}:{}:{}", f("global_admin"), f("local_data1"), f("local_data2"))
                            })
                            .collect();
                    }
                    _ => {}
                }
            }
            out.push(r);
        }
    }
    Ok(out)
}

fn state_name(v: &Value) -> SessionState {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(1) => SessionState::Idle,
            Some(2) => SessionState::Connect,
            Some(3) => SessionState::Active,
            Some(4) => SessionState::OpenSent,
            Some(5) => SessionState::OpenConfirm,
            Some(6) => SessionState::Established,
            _ => SessionState::Other(n.to_string()),
        },
        Value::String(s) => {
            SessionState::parse(s.trim_start_matches("BGP_FSM_").trim_start_matches("SESSION_STATE_"))
        }
        other => SessionState::Other(other.to_string()),
    }
}

impl BgpPeer for GoBgp {
    fn name(&self) -> &str {
        &self.name
    }

    fn session_state(&self, neighbor: IpAddr) -> Result<SessionState> {
        let v = self.json(&["neighbor", "-j"])?;
        let found = v.as_array().into_iter().flatten().find(|n| {
            n.pointer("/conf/neighbor_address").and_then(Value::as_str).and_then(|a| a.parse::<IpAddr>().ok())
                == Some(neighbor)
        });
        Ok(match found {
            None => SessionState::NotConfigured,
            // A neighbor that never left Idle has no session_state field.
            Some(n) => n.pointer("/state/session_state").map(state_name).unwrap_or(SessionState::Idle),
        })
    }

    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        parse_routes(&self.json(&["global", "rib", "-a", cli_family(family), "-j"])?)
    }

    fn announce(&self, prefix: &str) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        self.gobgp(&["global", "rib", "-a", cli_family(p.family()), "add", &p.to_string(), "origin", "igp"])
            .map(drop)
    }

    fn withdraw(&self, prefix: &str) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        self.gobgp(&["global", "rib", "-a", cli_family(p.family()), "del", &p.to_string()]).map(drop)
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("gobgpd.log"), lines)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_global_rib() {
        let v: Value = serde_json::from_str(r#"{"198.51.100.0/26":[{"nlri":{"prefix":"198.51.100.0/26"},"best":true,
            "attrs":[{"type":1,"value":0},{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[65002,65001]}]},
            {"type":3,"nexthop":"192.0.2.5"},{"type":4,"metric":7},{"type":8,"communities":[4259905636]},
            {"type":32,"communities":[{"global_admin":65002,"local_data1":1,"local_data2":2}]}],
            "neighbor-ip":"192.0.2.5"}],
            "198.51.100.128/26":[{"nlri":{"prefix":"198.51.100.128/26"},"best":true,"attrs":[{"type":1,"value":2},{"type":3,"nexthop":"0.0.0.0"}]}]}"#).unwrap();
        let mut r = parse_routes(&v).unwrap();
        r.sort_by_key(|r| r.prefix);
        assert_eq!(r[0].as_path, vec![65002, 65001]);
        assert_eq!(r[0].next_hop, Some("192.0.2.5".parse().unwrap()));
        assert_eq!(r[0].med, Some(7));
        assert_eq!(r[0].communities, vec!["65001:100"]);
        assert_eq!(r[0].large_communities, vec!["65002:1:2"]);
        assert!(!r[0].local);
        assert!(r[1].local && r[1].next_hop.is_none());
        assert_eq!(r[1].origin, Some(Origin::Incomplete));
    }
}
