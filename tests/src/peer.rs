//! What every peer daemon has in common: a BGP configuration for the common
//! cases, the routes and session states read back from its own CLI, and the
//! [`BgpPeer`] trait with waits built on them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use crate::{Check, Error, Result, wait_until};

/// Address families the harness configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
}

impl Family {
    /// The family whose prefixes have `addr`'s address family.
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv4() { Family::Ipv4Unicast } else { Family::Ipv6Unicast }
    }
}

/// An IP prefix, host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }
}

impl FromStr for Prefix {
    type Err = Error;
    fn from_str(s: &str) -> Result<Prefix> {
        let bad = || Error::msg(format!("bad prefix {s:?}"));
        let (a, l) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let len: u8 = l.parse().map_err(|_| bad())?;
        let addr = match addr {
            IpAddr::V4(v4) if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) if len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
            _ => return Err(bad()),
        };
        Ok(Prefix { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// ORIGIN attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

impl Origin {
    pub(crate) fn parse(s: &str) -> Option<Origin> {
        match s.to_ascii_lowercase().as_str() {
            "igp" | "i" | "0" => Some(Origin::Igp),
            "egp" | "e" | "1" => Some(Origin::Egp),
            "incomplete" | "?" | "2" => Some(Origin::Incomplete),
            _ => None,
        }
    }
}

/// One path to a prefix as a peer's CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub prefix: Prefix,
    /// The global next hop (`None` for a locally originated route shown
    /// without one).
    pub next_hop: Option<IpAddr>,
    /// AS numbers in path order (AS_SET members inline).
    pub as_path: Vec<u32>,
    pub origin: Option<Origin>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    /// Standard communities as `asn:value` (well-known ones as numbers too).
    pub communities: Vec<String>,
    /// Large communities as `global:local1:local2`.
    pub large_communities: Vec<String>,
    /// The peer's best path for the prefix.
    pub best: bool,
    /// Originated by this peer itself (not learned over BGP).
    pub local: bool,
    /// Kept, marked stale, while the peer that sent it restarts (graceful
    /// restart helper, RFC 4724); only mdcd's view sets it.
    pub stale: bool,
}

impl Route {
    pub(crate) fn new(prefix: Prefix) -> Route {
        Route {
            prefix,
            next_hop: None,
            as_path: Vec::new(),
            origin: None,
            med: None,
            local_pref: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
            best: false,
            local: false,
            stale: false,
        }
    }
}

/// BGP FSM state of one neighbor (RFC 4271 §8.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
    /// The neighbor is not configured on the peer.
    NotConfigured,
    /// Anything else the CLI said (e.g. BIRD's `Down`).
    Other(String),
}

impl SessionState {
    pub(crate) fn parse(s: &str) -> SessionState {
        match s.trim().to_ascii_lowercase().as_str() {
            "idle" => SessionState::Idle,
            "connect" => SessionState::Connect,
            "active" => SessionState::Active,
            "opensent" => SessionState::OpenSent,
            "openconfirm" => SessionState::OpenConfirm,
            "established" => SessionState::Established,
            _ => SessionState::Other(s.trim().to_string()),
        }
    }
}

/// One configured neighbor. Families default to the neighbor address's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    pub address: IpAddr,
    pub remote_as: u32,
    pub families: Vec<Family>,
    pub password: Option<String>,
    /// eBGP multihop TTL.
    pub multihop: Option<u8>,
    /// Wait for the neighbor to connect; never connect out.
    pub passive: bool,
    /// Source address of the session.
    pub local_address: Option<IpAddr>,
}

impl Neighbor {
    /// A neighbor; panics on a malformed address literal (test input).
    pub fn new(address: &str, remote_as: u32) -> Neighbor {
        let address: IpAddr = match address.parse() {
            Ok(a) => a,
            Err(_) => panic!("bad neighbor address {address:?}"),
        };
        Neighbor {
            address,
            remote_as,
            families: vec![Family::of(address)],
            password: None,
            multihop: None,
            passive: false,
            local_address: None,
        }
    }
    pub fn families(mut self, families: &[Family]) -> Self {
        self.families = families.to_vec();
        self
    }
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_string());
        self
    }
    pub fn multihop(mut self, ttl: u8) -> Self {
        self.multihop = Some(ttl);
        self
    }
    pub fn passive(mut self) -> Self {
        self.passive = true;
        self
    }
    /// Panics on a malformed address literal (test input).
    pub fn local_address(mut self, address: &str) -> Self {
        match address.parse() {
            Ok(a) => self.local_address = Some(a),
            Err(_) => panic!("bad local address {address:?}"),
        }
        self
    }
    pub(crate) fn has(&self, family: Family) -> bool {
        self.families.contains(&family)
    }
}

/// A peer's BGP configuration: the common cases. Timers default to hold 9 s
/// / keepalive 3 s with a 1 s connect retry, so tests converge fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpConfig {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub neighbors: Vec<Neighbor>,
    /// Prefixes the peer originates at start.
    pub networks: Vec<Prefix>,
    pub hold_time: u16,
    /// Verbatim text appended to the generated configuration, for what the
    /// builder does not cover (FRR: lines after `router bgp`'s block, BIRD:
    /// at the end, GoBGP: TOML at the end).
    pub extra: String,
}

impl BgpConfig {
    /// Panics on a malformed router id literal (test input).
    pub fn new(asn: u32, router_id: &str) -> BgpConfig {
        let router_id = match router_id.parse() {
            Ok(r) => r,
            Err(_) => panic!("bad router id {router_id:?}"),
        };
        BgpConfig {
            asn,
            router_id,
            neighbors: Vec::new(),
            networks: Vec::new(),
            hold_time: 9,
            extra: String::new(),
        }
    }
    pub fn neighbor(mut self, n: Neighbor) -> Self {
        self.neighbors.push(n);
        self
    }
    /// Panics on a malformed prefix literal (test input).
    pub fn network(mut self, prefix: &str) -> Self {
        match prefix.parse() {
            Ok(p) => self.networks.push(p),
            Err(e) => panic!("{e}"),
        }
        self
    }
    pub fn hold_time(mut self, seconds: u16) -> Self {
        self.hold_time = seconds;
        self
    }
    pub fn extra(mut self, text: &str) -> Self {
        self.extra.push_str(text);
        self.extra.push('\n');
        self
    }
    pub(crate) fn keepalive(&self) -> u16 {
        self.hold_time / 3
    }
}

/// Default timeout of the `wait_*` helpers: sessions come up in a few
/// seconds with the harness timers.
pub const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(250);
const LOG_LINES: usize = 30;

/// A running BGP speaker the test can query through its own CLI.
pub trait BgpPeer {
    /// The peer's name in the lab (also its directory's name).
    fn name(&self) -> &str;
    /// State of the session with `neighbor`.
    fn session_state(&self, neighbor: IpAddr) -> Result<SessionState>;
    /// Every path the peer holds for `family` (best and others).
    fn routes(&self, family: Family) -> Result<Vec<Route>>;
    /// Start originating `prefix`.
    fn announce(&self, prefix: &str) -> Result<()>;
    /// Stop originating `prefix`.
    fn withdraw(&self, prefix: &str) -> Result<()>;
    /// The last `lines` lines of the peer's log(s).
    fn log_tail(&self, lines: usize) -> String;

    /// The best path to `prefix`, if any.
    fn best_route(&self, prefix: &str) -> Result<Option<Route>> {
        let p: Prefix = prefix.parse()?;
        Ok(self.routes(p.family())?.into_iter().find(|r| r.prefix == p && r.best))
    }

    /// Wait until the session with `neighbor` is Established.
    fn wait_established(&self, neighbor: &str, timeout: Duration) -> Result<()> {
        let addr: IpAddr = neighbor.parse().map_err(|_| Error::msg(format!("bad address {neighbor:?}")))?;
        wait_until(&format!("{}: session with {neighbor} Established", self.name()), timeout, POLL, || {
            Ok(match self.session_state(addr)? {
                SessionState::Established => Check::Done(()),
                s => Check::Pending(format!("{s:?}")),
            })
        })
        .map_err(|e| self.with_log(e))
    }

    /// Wait until the best path to `prefix` satisfies `pred`; returns it.
    fn wait_route(&self, prefix: &str, timeout: Duration, pred: &dyn Fn(&Route) -> bool) -> Result<Route> {
        wait_until(&format!("{}: route {prefix} as expected", self.name()), timeout, POLL, || {
            Ok(match self.best_route(prefix)? {
                Some(r) if pred(&r) => Check::Done(r),
                other => Check::Pending(format!("{other:?}")),
            })
        })
        .map_err(|e| self.with_log(e))
    }

    /// Wait until the peer holds no path at all to `prefix`.
    fn wait_no_route(&self, prefix: &str, timeout: Duration) -> Result<()> {
        let p: Prefix = prefix.parse()?;
        wait_until(&format!("{}: route {prefix} gone", self.name()), timeout, POLL, || {
            let paths: Vec<Route> = self.routes(p.family())?.into_iter().filter(|r| r.prefix == p).collect();
            Ok(if paths.is_empty() { Check::Done(()) } else { Check::Pending(format!("{paths:?}")) })
        })
        .map_err(|e| self.with_log(e))
    }

    /// `e` with this peer's log tail appended.
    fn with_log(&self, e: Error) -> Error {
        Error::msg(format!("{e}\n----- {} log tail:\n{}", self.name(), self.log_tail(LOG_LINES)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_and_normalise() {
        let p: Prefix = "198.51.100.77/26".parse().unwrap();
        assert_eq!(p.to_string(), "198.51.100.64/26");
        let p: Prefix = "2001:db8:1:2::5/48".parse().unwrap();
        assert_eq!(p.to_string(), "2001:db8:1::/48");
        assert_eq!("0.0.0.0/0".parse::<Prefix>().unwrap().len, 0);
        assert!("192.0.2.0/33".parse::<Prefix>().is_err());
        assert!("192.0.2.0".parse::<Prefix>().is_err());
    }

    #[test]
    fn states_parse() {
        assert_eq!(SessionState::parse("Established"), SessionState::Established);
        assert_eq!(SessionState::parse("OpenSent"), SessionState::OpenSent);
        assert_eq!(SessionState::parse("Down"), SessionState::Other("Down".into()));
    }
}
