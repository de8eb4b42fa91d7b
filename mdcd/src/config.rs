//! The mdcd configuration file (TOML), validated as a whole before anything
//! starts.
//!
//! ```toml
//! router-id = "192.0.2.1"
//! local-as = 65001
//! originate = ["198.51.100.0/24", "2001:db8:100::/48"]
//!
//! [[peer]]
//! address = "192.0.2.2"          # or: interface = "eth0" (IPv6 link-local, RFC 8950)
//! remote-as = 65002              # or "internal" / "external"
//! password = "secret"            # TCP-MD5 (RFC 2385)
//! multihop = 2                   # eBGP multihop TTL; excludes gtsm
//! hold-time = 9
//! send-hold-time = 60            # RFC 9687; default max(480, 2 x hold-time)
//! extended-nexthop = true        # RFC 8950: IPv4 routes with IPv6 next hops
//! families = ["ipv4-unicast", "ipv6-unicast"]
//!
//! [api]
//! socket = "/run/mdcd/mdcd.sock"  # mode 0600: root only
//! ```
//!
//! Every error names the file, line, column, field and what is allowed;
//! all errors in a file are reported at once.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::{Path, PathBuf};

use mdc_bgp::family::Family;
use mdc_bgp::nlri::Prefix;
use serde::Deserialize;
use toml::Spanned;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub router_id: Ipv4Addr,
    pub local_as: u32,
    pub peers: Vec<PeerConfig>,
    pub originate: Vec<Prefix>,
    /// The read-only API socket.
    pub api_socket: PathBuf,
    /// TCP port to listen on for BGP (179).
    pub listen_port: u16,
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
}

/// Defaults of `[[peer]]` (FRR's traditional profile: 180/60; GoBGP and
/// Cilium use 90/30).
pub const DEFAULT_HOLD_TIME: u16 = 90;
pub const DEFAULT_CONNECT_RETRY: u16 = 30;
pub const DEFAULT_API_SOCKET: &str = "/run/mdcd/mdcd.sock";
/// The BGP port.
pub const BGP_PORT: u16 = 179;
/// TCP-MD5 keys are at most 80 bytes (Linux TCP_MD5SIG_MAXKEYLEN).
pub const MAX_PASSWORD_LEN: usize = 80;

/// One thing wrong in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column, when the error has a place in the file.
    pub line: Option<(usize, usize)>,
    /// The field, e.g. `peer[2].remote-as`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.line {
            write!(f, ":{line}:{col}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

/// Every error found in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    router_id: Spanned<String>,
    local_as: Spanned<i64>,
    #[serde(default)]
    originate: Vec<Spanned<String>>,
    #[serde(default)]
    peer: Vec<Spanned<RawPeer>>,
    api: Option<RawApi>,
    listen_port: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawApi {
    socket: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPeer {
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
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAs {
    Number(i64),
    Word(String),
}

/// Collects errors with their place in the file.
struct Errors<'a> {
    file: &'a Path,
    text: &'a str,
    list: Vec<ConfigError>,
}

impl Errors<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn at(&mut self, span: Option<Range<usize>>, field: impl Into<String>, message: impl Into<String>) {
        let line = span.map(|s| self.line_col(s.start));
        self.list.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            field: field.into(),
            message: message.into(),
        });
    }
}

fn number_in<T: TryFrom<i64>>(
    errors: &mut Errors<'_>,
    v: &Spanned<i64>,
    field: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Option<T> {
    let n = *v.get_ref();
    if range.contains(&n) {
        T::try_from(n).ok()
    } else {
        errors.at(Some(v.span()), field, format!("{n} is out of range: {what}"));
        None
    }
}

impl Config {
    /// Read and validate a file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: None,
                field: String::new(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        Config::parse(path, &text)
    }

    /// Validate the text of a file; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let mut errors = Errors { file: path, text, list: Vec::new() };
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let message = e.message().to_string();
                errors.at(e.span(), "", message);
                return Err(ConfigErrors(errors.list));
            }
        };

        let router_id = match raw.router_id.get_ref().parse::<Ipv4Addr>() {
            Ok(id) if !id.is_unspecified() => Some(id),
            _ => {
                errors.at(
                    Some(raw.router_id.span()),
                    "router-id",
                    "expected a non-zero IPv4 address, e.g. \"192.0.2.1\"",
                );
                None
            }
        };
        let local_as =
            number_in::<u32>(&mut errors, &raw.local_as, "local-as", 1..=4_294_967_295, "1 to 4294967295");
        if local_as == Some(u32::from(mdc_bgp::aspath::AS_TRANS as u16)) {
            errors.at(
                Some(raw.local_as.span()),
                "local-as",
                "23456 is AS_TRANS (RFC 6793) and cannot be a local AS",
            );
        }

        let mut originate = Vec::new();
        for (i, p) in raw.originate.iter().enumerate() {
            match p.get_ref().parse::<Prefix>() {
                Ok(prefix) => originate.push(prefix),
                Err(e) => errors.at(
                    Some(p.span()),
                    format!("originate[{i}]"),
                    format!("{e}; expected e.g. \"198.51.100.0/24\""),
                ),
            }
        }

        let mut peers = Vec::new();
        let mut seen = HashSet::new();
        for (i, p) in raw.peer.iter().enumerate() {
            let field = |name: &str| format!("peer[{i}].{name}");
            let span = p.span();
            let p = p.get_ref();
            let address = match (&p.address, &p.interface) {
                (Some(a), None) => match a.get_ref().parse::<IpAddr>() {
                    Ok(ip) => Some(PeerAddress::Ip(ip)),
                    Err(_) => {
                        errors.at(Some(a.span()), field("address"), "expected an IPv4 or IPv6 address");
                        None
                    }
                },
                (None, Some(ifname)) => {
                    let name = ifname.get_ref();
                    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                        errors.at(
                            Some(ifname.span()),
                            field("interface"),
                            "expected a Linux interface name (1-15 characters, no '/' or spaces)",
                        );
                        None
                    } else {
                        Some(PeerAddress::Interface(name.clone()))
                    }
                }
                (Some(a), Some(_)) => {
                    errors.at(Some(a.span()), field("address"), "give either address or interface, not both");
                    None
                }
                (None, None) => {
                    errors.at(
                        Some(span.clone()),
                        format!("peer[{i}]"),
                        "needs address = \"IP\" or interface = \"NAME\"",
                    );
                    None
                }
            };
            if let Some(a) = &address {
                if !seen.insert(a.clone()) {
                    errors.at(Some(span.clone()), format!("peer[{i}]"), format!("{a} is configured twice"));
                }
            }
            let remote_as = match p.remote_as.get_ref() {
                RawAs::Number(n) if (1..=4_294_967_295).contains(n) => Some(RemoteAs::Number(*n as u32)),
                RawAs::Word(w) if w == "internal" => Some(RemoteAs::Internal),
                RawAs::Word(w) if w == "external" => Some(RemoteAs::External),
                _ => {
                    errors.at(
                        Some(p.remote_as.span()),
                        field("remote-as"),
                        "expected an AS number 1-4294967295, \"internal\" or \"external\"",
                    );
                    None
                }
            };
            let password = p.password.as_ref().and_then(|pw| {
                let s = pw.get_ref();
                if s.is_empty() || s.len() > MAX_PASSWORD_LEN {
                    errors.at(
                        Some(pw.span()),
                        field("password"),
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
                    errors.at(Some(a.span()), field("local-address"), "expected an IPv4 or IPv6 address");
                    None
                }
            });
            let multihop = p
                .multihop
                .as_ref()
                .and_then(|m| number_in::<u8>(&mut errors, m, &field("multihop"), 1..=255, "1 to 255"));
            if p.gtsm && p.passive {
                errors.at(
                    Some(span.clone()),
                    field("gtsm"),
                    "gtsm and passive exclude each other (a GTSM session is always opened by mdcd)",
                );
            }
            if let (Some(m), true) = (&p.multihop, p.gtsm) {
                errors.at(
                    Some(m.span()),
                    field("multihop"),
                    "multihop and gtsm exclude each other (GTSM fixes the TTL at 255)",
                );
            }
            let hold_time = match &p.hold_time {
                Some(h) if matches!(*h.get_ref(), 1 | 2) => {
                    errors.at(
                        Some(h.span()),
                        field("hold-time"),
                        "0 (no keepalives) or 3 to 65535 seconds (RFC 4271)",
                    );
                    None
                }
                Some(h) => number_in::<u16>(
                    &mut errors,
                    h,
                    &field("hold-time"),
                    0..=65535,
                    "0 or 3 to 65535 seconds",
                ),
                None => Some(DEFAULT_HOLD_TIME),
            };
            let keepalive = p.keepalive.as_ref().and_then(|k| {
                let v =
                    number_in::<u16>(&mut errors, k, &field("keepalive"), 1..=21845, "1 to 21845 seconds")?;
                match hold_time {
                    Some(h) if h != 0 && v > h / 3 => {
                        errors.at(
                            Some(k.span()),
                            field("keepalive"),
                            format!("at most a third of hold-time ({})", h / 3),
                        );
                        None
                    }
                    _ => Some(v),
                }
            });
            let connect_retry = match &p.connect_retry {
                Some(c) => {
                    number_in::<u16>(&mut errors, c, &field("connect-retry"), 1..=65535, "1 to 65535 seconds")
                }
                None => Some(DEFAULT_CONNECT_RETRY),
            };
            let families = match &p.families {
                None => Some(match &address {
                    Some(PeerAddress::Ip(IpAddr::V6(_))) => vec![Family::IPV6_UNICAST],
                    Some(PeerAddress::Interface(_)) => vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
                    _ => vec![Family::IPV4_UNICAST],
                }),
                Some(list) => {
                    let mut out = Vec::new();
                    for (j, f) in list.iter().enumerate() {
                        let fam = match f.get_ref().as_str() {
                            "ipv4-unicast" => Family::IPV4_UNICAST,
                            "ipv6-unicast" => Family::IPV6_UNICAST,
                            "l2vpn-evpn" => Family::L2VPN_EVPN,
                            _ => {
                                errors.at(
                                    Some(f.span()),
                                    format!("peer[{i}].families[{j}]"),
                                    "expected \"ipv4-unicast\", \"ipv6-unicast\" or \"l2vpn-evpn\"",
                                );
                                continue;
                            }
                        };
                        if out.contains(&fam) {
                            errors.at(Some(f.span()), format!("peer[{i}].families[{j}]"), "listed twice");
                        }
                        out.push(fam);
                    }
                    if list.is_empty() {
                        errors.at(Some(span.clone()), field("families"), "needs at least one family");
                    }
                    Some(out)
                }
            };
            let send_hold_time = p.send_hold_time.as_ref().and_then(|v| {
                number_in::<u16>(&mut errors, v, &field("send-hold-time"), 1..=65535, "1 to 65535 seconds")
            });
            let extended_nexthop = match &p.extended_nexthop {
                Some(e) if *e.get_ref() => {
                    let v4 = families.as_ref().is_none_or(|f| f.contains(&Family::IPV4_UNICAST));
                    if !v4 {
                        errors.at(
                            Some(e.span()),
                            field("extended-nexthop"),
                            "carries IPv4 unicast with IPv6 next hops: needs \"ipv4-unicast\" in families",
                        );
                    }
                    true
                }
                _ => false,
            };
            let port = match &p.port {
                Some(v) => number_in::<u16>(&mut errors, v, &field("port"), 1..=65535, "1 to 65535"),
                None => Some(BGP_PORT),
            };
            if let (
                Some(address),
                Some(remote_as),
                Some(hold_time),
                Some(connect_retry),
                Some(families),
                Some(port),
            ) = (address, remote_as, hold_time, connect_retry, families, port)
            {
                peers.push(PeerConfig {
                    address,
                    remote_as,
                    description: p.description.clone(),
                    password,
                    local_address,
                    multihop,
                    gtsm: p.gtsm,
                    hold_time,
                    keepalive,
                    connect_retry,
                    passive: p.passive,
                    families,
                    port,
                    send_hold_time,
                    extended_nexthop,
                });
            }
        }

        let listen_port = match &raw.listen_port {
            Some(v) => number_in::<u16>(&mut errors, v, "listen-port", 1..=65535, "1 to 65535"),
            None => Some(BGP_PORT),
        };
        let api_socket = raw
            .api
            .map_or_else(|| PathBuf::from(DEFAULT_API_SOCKET), |a| PathBuf::from(a.socket.into_inner()));

        match (router_id, local_as, listen_port, errors.list.is_empty()) {
            (Some(router_id), Some(local_as), Some(listen_port), true) => {
                Ok(Config { router_id, local_as, peers, originate, api_socket, listen_port })
            }
            _ => Err(ConfigErrors(errors.list)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse(Path::new("mdcd.toml"), text)
    }

    fn errors(text: &str) -> Vec<String> {
        parse(text).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    const GOOD: &str = r#"
router-id = "192.0.2.1"
local-as = 65001
originate = ["198.51.100.0/24", "2001:db8:100::/48"]

[[peer]]
address = "192.0.2.2"
remote-as = 65002
password = "secret"
multihop = 2
hold-time = 9

[[peer]]
interface = "eth1"
remote-as = "external"
families = ["ipv4-unicast", "ipv6-unicast", "l2vpn-evpn"]

[[peer]]
address = "2001:db8::3"
remote-as = "internal"
passive = true
"#;

    #[test]
    fn a_good_file() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.router_id, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(c.local_as, 65001);
        assert_eq!(c.originate.len(), 2);
        assert_eq!(c.peers.len(), 3);
        let p = &c.peers[0];
        assert_eq!(p.address, PeerAddress::Ip("192.0.2.2".parse().unwrap()));
        assert_eq!((p.remote_as, p.multihop, p.hold_time), (RemoteAs::Number(65002), Some(2), 9));
        assert_eq!(p.families, vec![Family::IPV4_UNICAST]);
        assert_eq!(c.peers[1].address, PeerAddress::Interface("eth1".into()));
        assert_eq!(c.peers[1].families.len(), 3);
        assert_eq!(c.peers[2].families, vec![Family::IPV6_UNICAST], "an IPv6 peer defaults to IPv6 unicast");
        assert_eq!(c.peers[2].hold_time, DEFAULT_HOLD_TIME);
        assert!(c.peers[2].passive);
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = errors("router-id = \"192.0.2.1\"\nlocal-as = = 1\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("mdcd.toml:2:"), "{}", e[0]);
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_place() {
        let e = errors(
            "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 1\nholdtime = 9\n",
        );
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("mdcd.toml:6:1:"), "{}", e[0]);
        assert!(e[0].contains("holdtime"), "{}", e[0]);
    }

    #[test]
    fn every_semantic_error_is_reported_with_field_and_line() {
        let text = r#"router-id = "0.0.0.0"
local-as = 0
originate = ["198.51.100.0/33"]
[[peer]]
address = "192.0.2.300"
remote-as = "sideways"
hold-time = 2
[[peer]]
address = "192.0.2.2"
remote-as = 65002
multihop = 2
gtsm = true
keepalive = 100
hold-time = 90
families = ["ipv4-unicast", "ipv4-flowspec"]
[[peer]]
remote-as = 65003
"#;
        let e = errors(text);
        let expect = [
            "mdcd.toml:1:13: router-id: expected a non-zero IPv4 address",
            "mdcd.toml:2:12: local-as: 0 is out of range: 1 to 4294967295",
            "mdcd.toml:3:14: originate[0]:",
            "mdcd.toml:5:11: peer[0].address: expected an IPv4 or IPv6 address",
            "mdcd.toml:6:13: peer[0].remote-as: expected an AS number",
            "mdcd.toml:7:13: peer[0].hold-time: 0 (no keepalives) or 3 to 65535",
            "mdcd.toml:11:12: peer[1].multihop: multihop and gtsm exclude each other",
            "mdcd.toml:13:13: peer[1].keepalive: at most a third of hold-time (30)",
            "mdcd.toml:15:29: peer[1].families[1]: expected",
            "peer[2]: needs address",
        ];
        assert_eq!(e.len(), expect.len(), "{e:#?}");
        for (got, want) in e.iter().zip(expect) {
            assert!(got.contains(want), "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn duplicate_peers_and_as_trans_are_rejected() {
        let e = errors(
            "router-id = \"192.0.2.1\"\nlocal-as = 23456\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 1\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 2\n",
        );
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(e[0].contains("AS_TRANS"));
        assert!(e[1].contains("configured twice"));
    }

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
    fn an_unreadable_file_says_so() {
        let e = Config::load(Path::new("/nonexistent/mdcd.toml")).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/mdcd.toml: cannot read"), "{e}");
    }
}

#[cfg(test)]
mod example {
    use super::*;

    #[test]
    fn the_shipped_example_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mdcd.example.toml");
        let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.peers.len(), 3);
        assert_eq!(c.peers[2].multihop, Some(2));
    }
}

#[cfg(test)]
mod gtsm {
    use super::*;

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
