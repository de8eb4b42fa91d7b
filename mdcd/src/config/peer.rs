//! `[[peer]]`: the BGP neighbours. [`parse`] reads each peer with `peer`,
//! which puts together what one function per concern returns: where the
//! peer is (`address`: an address or an interface, each once), its AS and
//! so the session type (`remote_as`), transport security (`security`:
//! TCP-MD5 password, local address, multihop, GTSM), the timers
//! (`timers`), the families and capabilities it carries (`families`,
//! `extended_nexthop`, `add_path_send`), its policies (`import` and
//! `export`, through `policy::policy_ref`), route reflection
//! (`route_reflector_client`, iBGP only) and the prefix limits
//! (`max_prefix`). A peer needs `local-as` and the policies, read before it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

use mdc_bgp::capability::{AddPathFamily, AddPathMode};
use mdc_bgp::family::Family;
use mdc_bgp::policy::Policy;
use serde::Deserialize;
use toml::Spanned;

use super::BGP_PORT;
use super::errors::{Errors, Scalar, number_in, per_family};
use super::policy::policy_ref;

/// The largest `add-path-send` count.
pub const MAX_ADD_PATH_SEND: u8 = 64;

/// Which paths are sent to a peer with ADD-PATH (RFC 7911).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathSend {
    /// Every path (FRR `addpath-tx-all-paths`).
    All,
    /// The best N paths (FRR `addpath-tx-best-selected N`).
    Best(u8),
}

/// Per-family prefix limits of a peer (RFC 4486 Cease/1 when exceeded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxPrefix {
    pub limits: Vec<(Family, u32)>,
    /// Only log when a limit is exceeded; keep the session.
    pub warning_only: bool,
    /// Seconds before the session is started again; `None`: it stays down
    /// until it is reset or the configuration reloaded.
    pub restart_after: Option<u16>,
}

/// Where a peer is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeerAddress {
    Ip(IpAddr),
    /// Unnumbered: the peer's IPv6 link-local address on this interface.
    Interface(String),
}

impl fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddress::Ip(a) => a.fmt(f),
            PeerAddress::Interface(i) => write!(f, "interface {i}"),
        }
    }
}

/// The peer's AS, or whether it is in ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteAs {
    Number(u32),
    /// iBGP: the peer is in our AS.
    Internal,
    /// eBGP with any AS other than ours.
    External,
}

/// One `[[peer]]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub address: PeerAddress,
    pub remote_as: RemoteAs,
    pub description: Option<String>,
    pub password: Option<String>,
    pub local_address: Option<IpAddr>,
    /// eBGP multihop: the TTL of our packets.
    pub multihop: Option<u8>,
    /// GTSM (RFC 5082): send TTL 255, accept only 255 - (hops - 1).
    pub gtsm: bool,
    pub hold_time: u16,
    pub keepalive: Option<u16>,
    pub connect_retry: u16,
    pub passive: bool,
    pub families: Vec<Family>,
    /// The peer's BGP port (179).
    pub port: u16,
    /// Send hold time (RFC 9687), seconds; `None`: the FSM's default,
    /// max(8 minutes, 2 × hold time).
    pub send_hold_time: Option<u16>,
    /// Offer the extended next hop capability for IPv4 unicast with IPv6
    /// next hops (RFC 8950).
    pub extended_nexthop: bool,
    /// The import policy (a key of [`Config::policies`](super::Config::policies)).
    pub import: Option<String>,
    /// The export policy (a key of [`Config::policies`](super::Config::policies)).
    pub export: Option<String>,
    /// A route reflector client (RFC 4456); iBGP peers only.
    pub route_reflector_client: bool,
    /// The peer's AS paths must start with its AS, else its routes are
    /// withdrawn (RFC 4271 §6.3; FRR's `enforce-first-as`). eBGP only; on
    /// by default, off for a route server (which does not prepend its AS).
    pub enforce_first_as: bool,
    /// Send our address as the next hop of every route.
    pub next_hop_self: bool,
    /// Our next hop for IPv6 routes (a global address); default: the
    /// global address of the interface the session runs over.
    pub ipv6_next_hop: Option<std::net::Ipv6Addr>,
    /// Keep what the peer sent before the import policy (Adj-RIB-In), so a
    /// policy change needs no route refresh.
    pub soft_reconfiguration_inbound: bool,
    /// Offer ADD-PATH send for the peer's families and send these paths.
    pub add_path_send: Option<AddPathSend>,
    /// Offer ADD-PATH receive for the peer's families.
    pub add_path_receive: bool,
    pub max_prefix: Option<MaxPrefix>,
}

impl PeerConfig {
    /// Whether the session is eBGP when we are in `local_as`.
    pub fn is_ebgp(&self, local_as: u32) -> bool {
        match self.remote_as {
            RemoteAs::Number(n) => n != local_as,
            RemoteAs::Internal => false,
            RemoteAs::External => true,
        }
    }

    /// The ADD-PATH capability tuples to offer (for
    /// `mdc_bgp::fsm::PeerConfig::add_path`): one per family of the peer.
    pub fn add_path_capability(&self) -> Vec<AddPathFamily> {
        let mode = match (self.add_path_send.is_some(), self.add_path_receive) {
            (true, true) => AddPathMode::BOTH,
            (true, false) => AddPathMode::SEND,
            (false, true) => AddPathMode::RECEIVE,
            (false, false) => return Vec::new(),
        };
        self.families.iter().map(|&family| AddPathFamily { family, mode }).collect()
    }
}

/// Defaults of `[[peer]]` (FRR's traditional profile: 180/60; GoBGP and
/// Cilium use 90/30).
pub const DEFAULT_HOLD_TIME: u16 = 90;
pub const DEFAULT_CONNECT_RETRY: u16 = 30;

/// TCP-MD5 keys are at most 80 bytes (Linux TCP_MD5SIG_MAXKEYLEN).
pub const MAX_PASSWORD_LEN: usize = 80;

/// One `[[peer]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPeer {
    address: Option<Spanned<String>>,
    interface: Option<Spanned<String>>,
    remote_as: Spanned<RawAs>,
    description: Option<String>,
    password: Option<Spanned<String>>,
    local_address: Option<Spanned<String>>,
    multihop: Option<Spanned<i64>>,
    #[serde(default)]
    gtsm: bool,
    hold_time: Option<Spanned<i64>>,
    keepalive: Option<Spanned<i64>>,
    connect_retry: Option<Spanned<i64>>,
    #[serde(default)]
    passive: bool,
    families: Option<Vec<Spanned<String>>>,
    port: Option<Spanned<i64>>,
    send_hold_time: Option<Spanned<i64>>,
    extended_nexthop: Option<Spanned<bool>>,
    import: Option<Spanned<String>>,
    export: Option<Spanned<String>>,
    route_reflector_client: Option<Spanned<bool>>,
    enforce_first_as: Option<Spanned<bool>>,
    #[serde(default)]
    next_hop_self: bool,
    ipv6_next_hop: Option<Spanned<String>>,
    #[serde(default)]
    soft_reconfiguration_inbound: bool,
    add_path_send: Option<Spanned<Scalar<serde::de::IgnoredAny>>>,
    #[serde(default)]
    add_path_receive: bool,
    max_prefix: Option<Spanned<RawMaxPrefix>>,
}

/// `remote-as`: a number or a word.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAs {
    Number(i64),
    Word(String),
}

/// `[peer.max-prefix]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMaxPrefix {
    ipv4_unicast: Option<Spanned<i64>>,
    ipv6_unicast: Option<Spanned<i64>>,
    l2vpn_evpn: Option<Spanned<i64>>,
    #[serde(default)]
    warning_only: bool,
    restart_after: Option<Spanned<i64>>,
}

/// `[[peer]]`: the peers that are valid, each wrong field reported;
/// `local_as` (if valid) tells eBGP from iBGP, `policies` are what
/// `import` and `export` may name.
pub(super) fn parse(
    errors: &mut Errors<'_>,
    raw: &[Spanned<RawPeer>],
    local_as: Option<u32>,
    router_id: Option<std::net::Ipv4Addr>,
    policies: &BTreeMap<String, Arc<Policy>>,
) -> Vec<PeerConfig> {
    let mut peers = Vec::new();
    let mut seen = HashSet::new();
    for (i, p) in raw.iter().enumerate() {
        let at = At { i, span: p.span() };
        let peer = peer(errors, &at, p.get_ref(), &mut seen, local_as, policies);
        if let (Some(peer), Some(a)) = (&peer, &p.get_ref().address) {
            peer_address_usable(errors, &at, a, peer, router_id);
        }
        peers.extend(peer);
    }
    peers
}

/// A peer's address must be one a session can be opened with: not
/// unspecified, multicast or broadcast, and not this node's own (its
/// router id, or the peer's `local-address`).
fn peer_address_usable(
    errors: &mut Errors<'_>,
    at: &At,
    raw: &Spanned<String>,
    peer: &PeerConfig,
    router_id: Option<std::net::Ipv4Addr>,
) {
    let PeerAddress::Ip(ip) = peer.address else { return };
    let why = match ip {
        _ if ip.is_unspecified() => Some("is the unspecified address".to_string()),
        _ if ip.is_multicast() => Some("is a multicast address".to_string()),
        IpAddr::V4(a) if a.is_broadcast() => Some("is the broadcast address".to_string()),
        IpAddr::V4(a) if Some(a) == router_id => Some("is this node's own router-id".to_string()),
        _ if Some(ip) == peer.local_address => Some("is this peer's own local-address".to_string()),
        _ => None,
    };
    if let Some(why) = why {
        errors.at(Some(raw.span()), at.field("address"), format!("{ip} {why}: a BGP peer cannot be there"));
    }
}

/// Which peer, for messages: its index and its table in the file.
struct At {
    i: usize,
    span: Range<usize>,
}

impl At {
    /// `peer[i]`.
    fn peer(&self) -> String {
        format!("peer[{}]", self.i)
    }

    /// `peer[i].name`.
    fn field(&self, name: &str) -> String {
        format!("peer[{}].{name}", self.i)
    }
}

/// One peer, if every field it needs is valid; `seen` are the addresses of
/// the peers before it.
fn peer(
    errors: &mut Errors<'_>,
    at: &At,
    p: &RawPeer,
    seen: &mut HashSet<PeerAddress>,
    local_as: Option<u32>,
    policies: &BTreeMap<String, Arc<Policy>>,
) -> Option<PeerConfig> {
    let address = address(errors, at, p, seen);
    let remote_as = remote_as(errors, at, p);
    let Security { password, local_address, multihop } = security(errors, at, p);
    let Timers { hold_time, keepalive, connect_retry, send_hold_time } = timers(errors, at, p);
    let families = families(errors, at, p, address.as_ref());
    let extended_nexthop = extended_nexthop(errors, at, p, families.as_deref());
    let port = match &p.port {
        Some(v) => number_in::<u16>(errors, v, &at.field("port"), 1..=65535, "1 to 65535"),
        None => Some(BGP_PORT),
    };
    let import = policy_ref(errors, &p.import, at.field("import"), policies);
    let export = policy_ref(errors, &p.export, at.field("export"), policies);
    let route_reflector_client = route_reflector_client(errors, at, p, remote_as, local_as);
    let enforce_first_as = enforce_first_as(errors, at, p, remote_as, local_as);
    let ipv6_next_hop =
        p.ipv6_next_hop.as_ref().and_then(|v| ipv6_next_hop(errors, v, at.field("ipv6-next-hop")));
    let add_path_send =
        p.add_path_send.as_ref().and_then(|v| add_path_send(errors, v, at.field("add-path-send")));
    let max_prefix = p
        .max_prefix
        .as_ref()
        .and_then(|v| max_prefix(errors, v, at.field("max-prefix"), families.as_deref()));
    Some(PeerConfig {
        address: address?,
        remote_as: remote_as?,
        description: p.description.clone(),
        password,
        local_address,
        multihop,
        gtsm: p.gtsm,
        hold_time: hold_time?,
        keepalive,
        connect_retry: connect_retry?,
        passive: p.passive,
        families: families?,
        port: port?,
        send_hold_time,
        extended_nexthop,
        import,
        export,
        route_reflector_client,
        enforce_first_as,
        next_hop_self: p.next_hop_self,
        ipv6_next_hop,
        soft_reconfiguration_inbound: p.soft_reconfiguration_inbound,
        add_path_send,
        add_path_receive: p.add_path_receive,
        max_prefix,
    })
}

/// `address` or `interface` (unnumbered), exactly one; no two peers at the
/// same one.
fn address(
    errors: &mut Errors<'_>,
    at: &At,
    p: &RawPeer,
    seen: &mut HashSet<PeerAddress>,
) -> Option<PeerAddress> {
    let address = match (&p.address, &p.interface) {
        (Some(a), None) => match a.get_ref().parse::<IpAddr>() {
            Ok(ip) => Some(PeerAddress::Ip(ip)),
            Err(_) => {
                errors.at(Some(a.span()), at.field("address"), "expected an IPv4 or IPv6 address");
                None
            }
        },
        (None, Some(ifname)) => {
            let name = ifname.get_ref();
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                errors.at(
                    Some(ifname.span()),
                    at.field("interface"),
                    "expected a Linux interface name (1-15 characters, no '/' or spaces)",
                );
                None
            } else {
                Some(PeerAddress::Interface(name.clone()))
            }
        }
        (Some(a), Some(_)) => {
            errors.at(Some(a.span()), at.field("address"), "give either address or interface, not both");
            None
        }
        (None, None) => {
            errors.at(Some(at.span.clone()), at.peer(), "needs address = \"IP\" or interface = \"NAME\"");
            None
        }
    };
    if let Some(a) = &address
        && !seen.insert(a.clone())
    {
        errors.at(Some(at.span.clone()), at.peer(), format!("{a} is configured twice"));
    }
    address
}

/// `remote-as`: a number, or "internal"/"external"; with `local-as` it makes
/// the session iBGP or eBGP.
fn remote_as(errors: &mut Errors<'_>, at: &At, p: &RawPeer) -> Option<RemoteAs> {
    match p.remote_as.get_ref() {
        RawAs::Number(n) if (1..=4_294_967_295).contains(n) => Some(RemoteAs::Number(*n as u32)),
        RawAs::Word(w) if w == "internal" => Some(RemoteAs::Internal),
        RawAs::Word(w) if w == "external" => Some(RemoteAs::External),
        RawAs::Word(w) if asdot(w).is_some() => asdot(w).map(RemoteAs::Number),
        _ => {
            errors.at(
                Some(p.remote_as.span()),
                at.field("remote-as"),
                "expected an AS number: 1-4294967295 or \"65000.10\", or \"internal\" or \"external\"",
            );
            None
        }
    }
}

/// An AS number in asdot notation (RFC 5396): "65000.10" is 65000 × 65536
/// + 10. Not 0.
fn asdot(w: &str) -> Option<u32> {
    let (high, low) = w.split_once('.')?;
    let (high, low) = (high.parse::<u16>().ok()?, low.parse::<u16>().ok()?);
    let asn = (u32::from(high) << 16) | u32::from(low);
    (asn != 0).then_some(asn)
}

/// How the session's packets are protected and sent.
struct Security {
    password: Option<String>,
    local_address: Option<IpAddr>,
    multihop: Option<u8>,
}

/// `password` (TCP-MD5), `local-address`, `multihop`, and `gtsm`, which
/// excludes `multihop` and `passive`.
fn security(errors: &mut Errors<'_>, at: &At, p: &RawPeer) -> Security {
    let password = p.password.as_ref().and_then(|pw| {
        let s = pw.get_ref();
        if s.is_empty() || s.len() > MAX_PASSWORD_LEN {
            errors.at(
                Some(pw.span()),
                at.field("password"),
                format!("TCP-MD5 keys are 1 to {MAX_PASSWORD_LEN} bytes"),
            );
            None
        } else {
            Some(s.clone())
        }
    });
    let local_address = p.local_address.as_ref().and_then(|a| match a.get_ref().parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            errors.at(Some(a.span()), at.field("local-address"), "expected an IPv4 or IPv6 address");
            None
        }
    });
    let multihop = p
        .multihop
        .as_ref()
        .and_then(|m| number_in::<u8>(errors, m, &at.field("multihop"), 1..=255, "1 to 255"));
    if p.gtsm && p.passive {
        errors.at(
            Some(at.span.clone()),
            at.field("gtsm"),
            "gtsm and passive exclude each other (a GTSM session is always opened by mdcd)",
        );
    }
    if let (Some(m), true) = (&p.multihop, p.gtsm) {
        errors.at(
            Some(m.span()),
            at.field("multihop"),
            "multihop and gtsm exclude each other (GTSM fixes the TTL at 255)",
        );
    }
    Security { password, local_address, multihop }
}

/// The session's timers, seconds; `None` where it is wrong (or, for
/// `keepalive` and `send-hold-time`, not set: the FSM's default).
struct Timers {
    hold_time: Option<u16>,
    keepalive: Option<u16>,
    connect_retry: Option<u16>,
    send_hold_time: Option<u16>,
}

/// `hold-time` (0 or 3-65535), `keepalive` (at most a third of it),
/// `connect-retry` and `send-hold-time` (RFC 9687).
fn timers(errors: &mut Errors<'_>, at: &At, p: &RawPeer) -> Timers {
    let hold_time = match &p.hold_time {
        Some(h) if matches!(*h.get_ref(), 1 | 2) => {
            errors.at(
                Some(h.span()),
                at.field("hold-time"),
                "0 (no keepalives) or 3 to 65535 seconds (RFC 4271)",
            );
            None
        }
        Some(h) => number_in::<u16>(errors, h, &at.field("hold-time"), 0..=65535, "0 or 3 to 65535 seconds"),
        None => Some(DEFAULT_HOLD_TIME),
    };
    let keepalive = p.keepalive.as_ref().and_then(|k| {
        let v = number_in::<u16>(errors, k, &at.field("keepalive"), 1..=21845, "1 to 21845 seconds")?;
        match hold_time {
            Some(h) if h != 0 && v > h / 3 => {
                errors.at(
                    Some(k.span()),
                    at.field("keepalive"),
                    format!("at most a third of hold-time ({})", h / 3),
                );
                None
            }
            _ => Some(v),
        }
    });
    let connect_retry = match &p.connect_retry {
        Some(c) => number_in::<u16>(errors, c, &at.field("connect-retry"), 1..=65535, "1 to 65535 seconds"),
        None => Some(DEFAULT_CONNECT_RETRY),
    };
    let send_hold_time = p.send_hold_time.as_ref().and_then(|v| {
        number_in::<u16>(errors, v, &at.field("send-hold-time"), 1..=65535, "1 to 65535 seconds")
    });
    Timers { hold_time, keepalive, connect_retry, send_hold_time }
}

/// `families`, each once; without it the peer's address family (both
/// unicast families for an interface).
fn families(
    errors: &mut Errors<'_>,
    at: &At,
    p: &RawPeer,
    address: Option<&PeerAddress>,
) -> Option<Vec<Family>> {
    let Some(list) = &p.families else {
        return Some(match address {
            Some(PeerAddress::Ip(IpAddr::V6(_))) => vec![Family::IPV6_UNICAST],
            Some(PeerAddress::Interface(_)) => vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            _ => vec![Family::IPV4_UNICAST],
        });
    };
    let mut out = Vec::new();
    for (j, f) in list.iter().enumerate() {
        let fam = match f.get_ref().as_str() {
            "ipv4-unicast" => Family::IPV4_UNICAST,
            "ipv6-unicast" => Family::IPV6_UNICAST,
            "l2vpn-evpn" => Family::L2VPN_EVPN,
            _ => {
                errors.at(
                    Some(f.span()),
                    at.field(&format!("families[{j}]")),
                    "expected \"ipv4-unicast\", \"ipv6-unicast\" or \"l2vpn-evpn\"",
                );
                continue;
            }
        };
        if out.contains(&fam) {
            errors.at(Some(f.span()), at.field(&format!("families[{j}]")), "listed twice");
        }
        out.push(fam);
    }
    if list.is_empty() {
        errors.at(Some(at.span.clone()), at.field("families"), "needs at least one family");
    }
    Some(out)
}

/// `extended-nexthop` (RFC 8950): IPv4 unicast with IPv6 next hops, so the
/// peer must carry IPv4 unicast.
fn extended_nexthop(errors: &mut Errors<'_>, at: &At, p: &RawPeer, families: Option<&[Family]>) -> bool {
    match &p.extended_nexthop {
        Some(e) if *e.get_ref() => {
            let v4 = families.is_none_or(|f| f.contains(&Family::IPV4_UNICAST));
            if !v4 {
                errors.at(
                    Some(e.span()),
                    at.field("extended-nexthop"),
                    "carries IPv4 unicast with IPv6 next hops: needs \"ipv4-unicast\" in families",
                );
            }
            true
        }
        _ => false,
    }
}

/// Whether the peer is known to be eBGP (`Some(true)`: `remote-as`
/// differs from `local-as`, or is "external") or iBGP (`Some(false)`:
/// equal, or "internal"); `None` when a value needed is not valid.
fn known_ebgp(remote_as: Option<RemoteAs>, local_as: Option<u32>) -> Option<bool> {
    match (remote_as?, local_as) {
        (RemoteAs::Number(n), Some(l)) => Some(n != l),
        (RemoteAs::External, _) => Some(true),
        (RemoteAs::Internal, _) => Some(false),
        _ => None,
    }
}

/// `enforce-first-as` (RFC 4271 §6.3): on unless set false; an iBGP
/// peer's paths do not start with its AS, so it is refused there.
fn enforce_first_as(
    errors: &mut Errors<'_>,
    at: &At,
    p: &RawPeer,
    remote_as: Option<RemoteAs>,
    local_as: Option<u32>,
) -> bool {
    let Some(v) = &p.enforce_first_as else { return true };
    if known_ebgp(remote_as, local_as) == Some(false) {
        errors.at(
            Some(v.span()),
            at.field("enforce-first-as"),
            "the first-AS check is for eBGP peers only: this peer is iBGP \
             (remote-as equals local-as), whose paths do not start with its AS",
        );
    }
    *v.get_ref()
}

/// `ipv6-next-hop`: a global IPv6 unicast address (a peer cannot forward
/// to a link-local one off its link, nor to the others).
fn ipv6_next_hop(errors: &mut Errors<'_>, v: &Spanned<String>, field: String) -> Option<std::net::Ipv6Addr> {
    match v.get_ref().parse::<std::net::Ipv6Addr>() {
        Ok(a) if a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_unicast_link_local() => {
            errors.at(
                Some(v.span()),
                field,
                format!(
                    "{a} cannot be a next hop: expected a global IPv6 unicast address, e.g. \"2001:db8::1\""
                ),
            );
            None
        }
        Ok(a) if a.to_ipv4_mapped().is_some() => {
            errors.at(
                Some(v.span()),
                field,
                format!("{a} is an IPv4-mapped address: expected a global IPv6 unicast address"),
            );
            None
        }
        Ok(a) => Some(a),
        Err(_) => {
            errors.at(Some(v.span()), field, "expected a global IPv6 unicast address, e.g. \"2001:db8::1\"");
            None
        }
    }
}

/// `route-reflector-client` (RFC 4456): for iBGP peers only.
fn route_reflector_client(
    errors: &mut Errors<'_>,
    at: &At,
    p: &RawPeer,
    remote_as: Option<RemoteAs>,
    local_as: Option<u32>,
) -> bool {
    match &p.route_reflector_client {
        Some(rr) if *rr.get_ref() => {
            if known_ebgp(remote_as, local_as) == Some(true) {
                errors.at(
                    Some(rr.span()),
                    at.field("route-reflector-client"),
                    "route reflection (RFC 4456) is for iBGP peers only: this peer is eBGP \
                     (remote-as differs from local-as)",
                );
            }
            true
        }
        _ => false,
    }
}

/// `add-path-send` (RFC 7911): "all", or the best N paths.
fn add_path_send(
    errors: &mut Errors<'_>,
    v: &Spanned<Scalar<serde::de::IgnoredAny>>,
    field: String,
) -> Option<AddPathSend> {
    match v.get_ref() {
        Scalar::Str(s) if s == "all" => Some(AddPathSend::All),
        Scalar::Int(n) if (2..=i64::from(MAX_ADD_PATH_SEND)).contains(n) => Some(AddPathSend::Best(*n as u8)),
        _ => {
            errors.at(
                Some(v.span()),
                field,
                format!(
                    "expected \"all\" or the number of best paths to send, 2 to {MAX_ADD_PATH_SEND} \
                     (1 is plain BGP: leave add-path-send out)"
                ),
            );
            None
        }
    }
}

/// `[peer.max-prefix]`: a limit per family the peer carries (`families`),
/// and what happens above one.
fn max_prefix(
    errors: &mut Errors<'_>,
    v: &Spanned<RawMaxPrefix>,
    field: String,
    families: Option<&[Family]>,
) -> Option<MaxPrefix> {
    let m = v.get_ref();
    let mut limits = Vec::new();
    let mut ok = true;
    for (family, n) in per_family(&m.ipv4_unicast, &m.ipv6_unicast, &m.l2vpn_evpn) {
        let f = format!("{field}.{family}");
        match number_in::<u32>(errors, n, &f, 1..=4_294_967_295, "1 to 4294967295 prefixes") {
            Some(limit) => limits.push((family, limit)),
            None => ok = false,
        }
        if let Some(fams) = families
            && !fams.contains(&family)
        {
            let list: Vec<String> = fams.iter().map(ToString::to_string).collect();
            errors.at(
                Some(n.span()),
                f,
                format!("the peer does not carry {family} (families: {})", list.join(", ")),
            );
            ok = false;
        }
    }
    if limits.is_empty() && ok {
        errors.at(
            Some(v.span()),
            field.clone(),
            "needs a limit for at least one family: ipv4-unicast, ipv6-unicast or l2vpn-evpn",
        );
        ok = false;
    }
    let restart_after = match &m.restart_after {
        None => None,
        Some(r) if m.warning_only => {
            errors.at(
                Some(r.span()),
                format!("{field}.restart-after"),
                "has no effect with warning-only = true (the session is never stopped)",
            );
            ok = false;
            None
        }
        Some(r) => {
            let v = number_in::<u16>(
                errors,
                r,
                &format!("{field}.restart-after"),
                1..=65535,
                "1 to 65535 seconds",
            );
            ok &= v.is_some();
            v
        }
    };
    ok.then_some(MaxPrefix { limits, warning_only: m.warning_only, restart_after })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::tests::{errors, parse};
    use std::path::Path;

    #[test]
    fn send_hold_time_and_extended_nexthop() {
        let c = parse(
            "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"2001:db8::2\"\nremote-as = 2\n\
             families = [\"ipv4-unicast\", \"ipv6-unicast\"]\nsend-hold-time = 20\nextended-nexthop = true\n\
             [[peer]]\naddress = \"192.0.2.3\"\nremote-as = 3\n",
        )
        .unwrap();
        assert_eq!((c.peers[0].send_hold_time, c.peers[0].extended_nexthop), (Some(20), true));
        assert_eq!((c.peers[1].send_hold_time, c.peers[1].extended_nexthop), (None, false), "defaults");

        let e = errors(
            "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"2001:db8::2\"\nremote-as = 2\n\
             send-hold-time = 0\nextended-nexthop = true\n[[peer]]\naddress = \"192.0.2.3\"\nremote-as = 3\n\
             send-hold-time = 65536\n",
        );
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(e[0].starts_with("mdcd.toml:6:18: peer[0].send-hold-time: 0 is out of range"), "{}", e[0]);
        assert!(e[1].starts_with("mdcd.toml:7:20: peer[0].extended-nexthop: "), "{}", e[1]);
        assert!(e[1].contains("ipv4-unicast"), "an IPv6 peer defaults to IPv6 unicast only: {}", e[1]);
        assert!(
            e[2].starts_with("mdcd.toml:11:18: peer[1].send-hold-time: 65536 is out of range"),
            "{}",
            e[2]
        );
        // Not a boolean: a type error with its place.
        let e = errors(
            "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"192.0.2.3\"\nremote-as = 3\n\
             extended-nexthop = 1\n",
        );
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("mdcd.toml:6:"), "{}", e[0]);
    }

    #[test]
    fn gtsm_peers_cannot_be_passive() {
        let e = Config::parse(
            Path::new("mdcd.toml"),
            "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 1\ngtsm = true\npassive = true\n",
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert!(e.to_string().contains("peer[0].gtsm: gtsm and passive exclude each other"), "{e}");
    }
}
