//! [`Bird`]: BIRD 2.0.12 in a lab node, configured from a [`BgpConfig`] and
//! queried with `birdc` (which has no JSON: its text is parsed here).
//!
//! One `protocol bgp n_<address>` per neighbor, one static protocol per
//! family with the originated prefixes as blackhole routes; announce and
//! withdraw rewrite the config and run `birdc configure`.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::lab::LabShared;
use crate::peer::{BgpConfig, BgpPeer, Family, Origin, Prefix, Route, SessionState};
use crate::sys::{run, stop_child, tail, wait_for_path};
use crate::{Error, Lab, Result};

/// BIRD in one lab node.
pub struct Bird {
    lab: Arc<LabShared>,
    node: String,
    name: String,
    dir: PathBuf,
    config: Mutex<BgpConfig>,
    child: Option<Child>,
}

/// BIRD's protocol name for a neighbor.
pub fn protocol_name(neighbor: IpAddr) -> String {
    format!("n_{}", neighbor.to_string().replace(['.', ':'], "_"))
}

impl Bird {
    /// BIRD for `node` with `config`; not started yet.
    pub fn new(lab: &Lab, node: &str, config: BgpConfig) -> Result<Bird> {
        let shared = lab.shared();
        shared.check_node(node)?;
        let name = format!("bird-{node}");
        let dir = shared.peer_dir(&name)?;
        shared.register_log(format!("{name} bird.log"), dir.join("bird.log"));
        shared.register_log(format!("{name} stdout/stderr"), dir.join("bird.out"));
        Ok(Bird { lab: shared, node: node.to_string(), name, dir, config: Mutex::new(config), child: None })
    }

    /// [`Bird::new`] and [`Bird::start`].
    pub fn start_in(lab: &Lab, node: &str, config: BgpConfig) -> Result<Bird> {
        let mut b = Bird::new(lab, node, config)?;
        b.start()?;
        Ok(b)
    }

    fn config(&self) -> BgpConfig {
        self.config.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The generated `bird.conf`.
    pub fn config_text(&self) -> String {
        let c = self.config();
        let mut s = String::new();
        let _ = writeln!(s, "log \"{}/bird.log\" all;\nrouter id {};", self.dir.display(), c.router_id);
        s.push_str("protocol device {}\n");
        for (family, chan) in [(Family::Ipv4Unicast, "ipv4"), (Family::Ipv6Unicast, "ipv6")] {
            let _ = writeln!(s, "protocol static st_{chan} {{\n  {chan};");
            for p in c.networks.iter().filter(|p| p.family() == family) {
                let _ = writeln!(s, "  route {p} blackhole;");
            }
            s.push_str("}\n");
        }
        for n in &c.neighbors {
            let _ = writeln!(s, "protocol bgp {} {{", protocol_name(n.address));
            match n.local_address {
                Some(l) => {
                    let _ = writeln!(s, "  local {l} as {};", c.asn);
                }
                None => {
                    let _ = writeln!(s, "  local as {};", c.asn);
                }
            }
            let _ = writeln!(s, "  neighbor {} as {};", n.address, n.remote_as);
            let _ = writeln!(s, "  hold time {};\n  keepalive time {};", c.hold_time, c.keepalive());
            s.push_str("  connect delay time 1;\n  connect retry time 1;\n  error wait time 1, 5;\n");
            if let Some(p) = &n.password {
                let _ = writeln!(s, "  password \"{p}\";");
            }
            if let Some(ttl) = n.multihop {
                let _ = writeln!(s, "  multihop {ttl};");
            }
            if n.passive {
                s.push_str("  passive on;\n");
            }
            for (family, chan) in [(Family::Ipv4Unicast, "ipv4"), (Family::Ipv6Unicast, "ipv6")] {
                if n.has(family) {
                    let enh = if Family::of(n.address) != family { " extended next hop on;" } else { "" };
                    let _ = writeln!(s, "  {chan} {{ import all; export all;{enh} }};");
                }
            }
            s.push_str("}\n");
        }
        s.push_str(&c.extra);
        s
    }

    fn write_config(&self) -> Result<PathBuf> {
        let conf = self.dir.join("bird.conf");
        fs::write(&conf, self.config_text())?;
        Ok(conf)
    }

    /// Write the config and start `bird -f`; returns when its control
    /// socket exists.
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Err(Error::msg(format!("{} already started", self.name)));
        }
        let conf = self.write_config()?;
        let out = fs::File::create(self.dir.join("bird.out"))?;
        let err = out.try_clone()?;
        let mut cmd = self.lab.command(&self.node, "bird")?;
        cmd.arg("-f").arg("-c").arg(&conf).arg("-s").arg(self.ctl()).arg("-P").arg(self.dir.join("bird.pid"));
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        let mut child =
            cmd.spawn().map_err(|e| Error::msg(format!("{}: cannot start bird: {e}", self.name)))?;
        let ready = wait_for_path(&self.ctl(), Duration::from_secs(10), &mut child, "bird");
        self.child = Some(child);
        ready.map_err(|e| e.context(&self.name).context(tail(&self.dir.join("bird.out"), 20)))
    }

    /// Stop BIRD (SIGTERM, then SIGKILL) and reap it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::from_secs(3));
        }
    }

    /// PID of the running daemon.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn ctl(&self) -> PathBuf {
        self.dir.join("bird.ctl")
    }

    /// Run a `birdc` command (words as separate arguments); its output.
    pub fn birdc(&self, args: &[&str]) -> Result<String> {
        let ctl = self.ctl().display().to_string();
        let mut argv = vec!["birdc", "-s", ctl.as_str()];
        argv.extend_from_slice(args);
        run(&argv)
    }

    fn set_network(&self, prefix: &str, add: bool) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        {
            let mut c = self.config.lock().unwrap_or_else(PoisonError::into_inner);
            c.networks.retain(|n| *n != p);
            if add {
                c.networks.push(p);
            }
        }
        self.write_config()?;
        let out = self.birdc(&["configure"])?;
        if !out.contains("Reconfigur") {
            return Err(Error::msg(format!("{}: birdc configure: {}", self.name, out.trim())));
        }
        Ok(())
    }

    /// The peer's directory (config, control socket, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `(65001,100)` / `(65002, 1, 2)` groups as `65001:100` / `65002:1:2`.
fn paren_groups(s: &str) -> Vec<String> {
    s.split('(')
        .filter_map(|g| g.split_once(')'))
        .map(|(inner, _)| inner.split(',').map(str::trim).collect::<Vec<_>>().join(":"))
        .collect()
}

/// Routes of `birdc show route all table masterN`.
pub(crate) fn parse_routes(text: &str) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    let mut prefix: Option<Prefix> = None;
    for line in text.lines() {
        if line.starts_with('\t') {
            let Some(r) = out.last_mut() else { continue };
            let l = line.trim();
            if let Some(t) = l.strip_prefix("Type: ") {
                r.local = !t.starts_with("BGP");
            } else if let Some((key, val)) = l.split_once(": ") {
                match key {
                    "BGP.origin" => r.origin = Origin::parse(val),
                    "BGP.as_path" => {
                        r.as_path = val
                            .split(|c: char| c.is_whitespace() || c == '{' || c == '}' || c == ',')
                            .filter_map(|a| a.parse().ok())
                            .collect();
                    }
                    "BGP.next_hop" => r.next_hop = val.split_whitespace().next().and_then(|a| a.parse().ok()),
                    "BGP.med" => r.med = val.trim().parse().ok(),
                    "BGP.local_pref" => r.local_pref = val.trim().parse().ok(),
                    "BGP.community" => r.communities = paren_groups(val),
                    "BGP.large_community" => r.large_communities = paren_groups(val),
                    _ => {}
                }
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        // A path line: "PREFIX  TYPE [PROTO TIME] * (PREF) ..." or, for further
        // paths of the same prefix, the same without the prefix.
        let Some(bracket) = trimmed.find(" [") else { continue };
        if !line.starts_with(' ') {
            prefix = trimmed.split_whitespace().next().and_then(|p| p.parse().ok());
        }
        let Some(p) = prefix else { continue };
        let mut r = Route::new(p);
        let after = trimmed.get(bracket..).unwrap_or_default();
        r.best = after.split_once(']').is_some_and(|(_, rest)| rest.trim_start().starts_with('*'));
        out.push(r);
    }
    out
}

impl BgpPeer for Bird {
    fn name(&self) -> &str {
        &self.name
    }

    fn session_state(&self, neighbor: IpAddr) -> Result<SessionState> {
        if !self.config().neighbors.iter().any(|n| n.address == neighbor) {
            return Ok(SessionState::NotConfigured);
        }
        let out = self.birdc(&["show", "protocols", "all", &protocol_name(neighbor)])?;
        if let Some(line) = out.lines().find_map(|l| l.trim().strip_prefix("BGP state:")) {
            return Ok(SessionState::parse(line));
        }
        // A protocol that is down has no "BGP state" line: its table row says why.
        let row = out.lines().find(|l| l.starts_with(&protocol_name(neighbor))).unwrap_or(out.trim());
        Ok(SessionState::Other(row.split_whitespace().collect::<Vec<_>>().join(" ")))
    }

    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        let table = match family {
            Family::Ipv4Unicast => "master4",
            Family::Ipv6Unicast => "master6",
        };
        Ok(parse_routes(&self.birdc(&["show", "route", "all", "table", table])?))
    }

    fn announce(&self, prefix: &str) -> Result<()> {
        self.set_network(prefix, true)
    }

    fn withdraw(&self, prefix: &str) -> Result<()> {
        self.set_network(prefix, false)
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("bird.log"), lines)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_show_route_all() {
        let text = [
            "BIRD 2.0.12 ready.",
            "Table master4:",
            "198.51.100.0/26      unicast [n4f 18:38:42.293] * (100) [AS65001i]",
            "\tvia 192.0.2.1 on to-f",
            "\tType: BGP univ",
            "\tBGP.origin: IGP",
            "\tBGP.as_path: 65001",
            "\tBGP.next_hop: 192.0.2.1",
            "\tBGP.med: 0",
            "\tBGP.local_pref: 100",
            "\tBGP.community: (65001,100) (65535,65281)",
            "\tBGP.large_community: (65002, 1, 2)",
            "                     unicast [n4g 18:38:45.814] (100) [AS65001i]",
            "\tvia 192.0.2.10 on to-g",
            "\tType: BGP univ",
            "\tBGP.origin: Incomplete",
            "\tBGP.as_path: 65003 {65001 65004}",
            "\tBGP.next_hop: 2001:db8::1 fe80::1",
            "198.51.100.64/26     blackhole [static1 18:38:41.055] * (200)",
            "\tType: static univ",
        ]
        .join("\n");
        let r = parse_routes(&text);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].prefix.to_string(), "198.51.100.0/26");
        assert!(r[0].best && !r[0].local);
        assert_eq!(r[0].as_path, vec![65001]);
        assert_eq!(r[0].communities, vec!["65001:100", "65535:65281"]);
        assert_eq!(r[0].large_communities, vec!["65002:1:2"]);
        assert_eq!(r[0].med, Some(0));
        assert_eq!(r[1].prefix, r[0].prefix);
        assert!(!r[1].best);
        assert_eq!(r[1].as_path, vec![65003, 65001, 65004]);
        assert_eq!(r[1].next_hop, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(r[1].origin, Some(Origin::Incomplete));
        assert!(r[2].best && r[2].local);
    }
}
