//! Capabilities advertised in the OPEN message (RFC 5492) and the typed
//! value of each one mdc understands.
//!
//! This module owns the encoding of one capability (code, length, value)
//! and of a list of them (the value of a Capabilities optional parameter).
//! It does not decide what a session negotiates: that is the session's job,
//! from the two OPENs' [`Capability`] lists.
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! ~                              ~
//! +------------------------------+
//! ```
//!
//! Decoding rules, chosen to match what FRR accepts:
//!
//! - A known capability whose length FRR rejects (e.g. a 4-octet AS
//!   capability that is not 4 bytes, a graceful-restart capability whose
//!   length is not 2 + 4n) is malformed: the OPEN is answered with OPEN
//!   Message Error / 0 (Unspecific), RFC 4271 §6.2.
//! - A known capability that FRR would accept but whose value the typed
//!   model cannot represent exactly (a route-refresh capability with a
//!   value, an extended-next-hop SAFI above 255, an FQDN that is not UTF-8,
//!   a long-lived GR value that is not a whole number of 7-byte tuples) is
//!   kept as [`Capability::Unknown`] so that it re-encodes byte for byte.
//!   The one exception is the reserved octet of the multiprotocol
//!   capability, which RFC 4760 says receivers ignore: it is not kept.
//! - Unknown codes are kept as [`Capability::Unknown`] (RFC 5492 §3: an
//!   unrecognised capability is ignored, not an error).

use std::fmt;

use crate::wire::error::{DecodeError, EncodeError, ErrorKind};
use crate::wire::family::{Afi, Family, Safi};
use crate::wire::reader::Reader;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    pub const MULTIPROTOCOL: u8 = 1;
    pub const ROUTE_REFRESH: u8 = 2;
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    pub const EXTENDED_MESSAGE: u8 = 6;
    pub const ROLE: u8 = 9;
    pub const GRACEFUL_RESTART: u8 = 64;
    pub const FOUR_OCTET_AS: u8 = 65;
    pub const ADD_PATH: u8 = 69;
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    pub const FQDN: u8 = 73;
    /// Pre-standard Cisco route refresh; kept as [`super::Capability::Unknown`].
    pub const ROUTE_REFRESH_CISCO: u8 = 128;
}

/// The largest capability value: its length field is one octet.
pub const MAX_VALUE_LEN: usize = 255;

/// BGP Role (RFC 9234 §4.1). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Role(pub u8);

impl Role {
    pub const PROVIDER: Role = Role(0);
    pub const ROUTE_SERVER: Role = Role(1);
    pub const ROUTE_SERVER_CLIENT: Role = Role(2);
    pub const CUSTOMER: Role = Role(3);
    pub const PEER: Role = Role(4);

    /// The role the other side must have for the pair to be valid
    /// (RFC 9234 §4.2, Table 2), or `None` for an unknown role.
    pub fn expected_peer_role(self) -> Option<Role> {
        match self {
            Role::PROVIDER => Some(Role::CUSTOMER),
            Role::CUSTOMER => Some(Role::PROVIDER),
            Role::ROUTE_SERVER => Some(Role::ROUTE_SERVER_CLIENT),
            Role::ROUTE_SERVER_CLIENT => Some(Role::ROUTE_SERVER),
            Role::PEER => Some(Role::PEER),
            Role(_) => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Role::PROVIDER => f.write_str("provider"),
            Role::ROUTE_SERVER => f.write_str("rs"),
            Role::ROUTE_SERVER_CLIENT => f.write_str("rs-client"),
            Role::CUSTOMER => f.write_str("customer"),
            Role::PEER => f.write_str("peer"),
            Role(other) => write!(f, "role-{other}"),
        }
    }
}

/// One tuple of the extended next hop capability (RFC 8950 §3).
///
/// ```text
/// +-----------------------------------------------------+
/// | NLRI AFI - 1 (2 octets)                             |
/// +-----------------------------------------------------+
/// | NLRI SAFI - 1 (2 octets)                            |
/// +-----------------------------------------------------+
/// | Nexthop AFI - 1 (2 octets)                          |
/// +-----------------------------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedNextHop {
    pub family: Family,
    pub next_hop_afi: Afi,
}

/// Graceful restart capability (RFC 4724 §3, RFC 8538 §2 for the N bit).
///
/// ```text
/// +--------------------------------------------------+
/// | Restart Flags (4 bits)                           |
/// +--------------------------------------------------+
/// | Restart Time in seconds (12 bits)                |
/// +--------------------------------------------------+
/// | Address Family Identifier (16 bits)              |
/// +--------------------------------------------------+
/// | Subsequent Address Family Identifier (8 bits)    |
/// +--------------------------------------------------+
/// | Flags for Address Family (8 bits)                |
/// +--------------------------------------------------+
/// | ...                                              |
/// +--------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    /// The 4 restart flag bits, as a value 0..=15 (R = 0x8, N = 0x4).
    pub flags: u8,
    /// Restart time in seconds, 0..=4095.
    pub restart_time: u16,
    pub families: Vec<GracefulRestartFamily>,
}

impl GracefulRestart {
    /// Restart State bit (RFC 4724).
    pub const RESTART_STATE: u8 = 0x8;
    /// Graceful Notification bit (RFC 8538).
    pub const NOTIFICATION: u8 = 0x4;
    pub const MAX_RESTART_TIME: u16 = 0x0fff;

    pub fn restart_state(&self) -> bool {
        self.flags & Self::RESTART_STATE != 0
    }

    pub fn notification(&self) -> bool {
        self.flags & Self::NOTIFICATION != 0
    }

    /// The per-family entry for `family`, if any.
    pub fn family(&self, family: Family) -> Option<&GracefulRestartFamily> {
        self.families.iter().find(|f| f.family == family)
    }
}

/// One address family of the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    pub family: Family,
    /// Raw flags octet (F = 0x80; other bits reserved, kept).
    pub flags: u8,
}

impl GracefulRestartFamily {
    /// Forwarding State bit.
    pub const FORWARDING_STATE: u8 = 0x80;

    pub fn forwarding_preserved(&self) -> bool {
        self.flags & Self::FORWARDING_STATE != 0
    }
}

/// ADD-PATH Send/Receive field (RFC 7911 §4). Unknown values are kept
/// (RFC 7911 says such a tuple is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddPathMode(pub u8);

impl AddPathMode {
    pub const RECEIVE: AddPathMode = AddPathMode(1);
    pub const SEND: AddPathMode = AddPathMode(2);
    pub const BOTH: AddPathMode = AddPathMode(3);

    /// The sender is able to receive multiple paths.
    pub fn can_receive(self) -> bool {
        self == Self::RECEIVE || self == Self::BOTH
    }

    /// The sender is able to send multiple paths.
    pub fn can_send(self) -> bool {
        self == Self::SEND || self == Self::BOTH
    }
}

/// One tuple of the ADD-PATH capability (RFC 7911 §4).
///
/// ```text
/// +------------------------------------------------+
/// | Address Family Identifier (2 octets)           |
/// +------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet) |
/// +------------------------------------------------+
/// | Send/Receive (1 octet)                         |
/// +------------------------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddPathFamily {
    pub family: Family,
    pub mode: AddPathMode,
}

/// One tuple of the long-lived graceful restart capability (RFC 9494 §3).
///
/// ```text
/// +--------------------------------------------------+
/// | Address Family Identifier (16 bits)              |
/// +--------------------------------------------------+
/// | Subsequent Address Family Identifier (8 bits)    |
/// +--------------------------------------------------+
/// | Flags for Address Family (8 bits)                |
/// +--------------------------------------------------+
/// | Long-lived Stale Time (24 bits)                  |
/// +--------------------------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LlgrFamily {
    pub family: Family,
    /// Raw flags octet (F = 0x80; other bits reserved, kept).
    pub flags: u8,
    /// Long-lived stale time in seconds, 0..=0xFF_FFFF.
    pub stale_time: u32,
}

impl LlgrFamily {
    pub const FORWARDING_STATE: u8 = 0x80;
    pub const MAX_STALE_TIME: u32 = 0x00ff_ffff;

    pub fn forwarding_preserved(&self) -> bool {
        self.flags & Self::FORWARDING_STATE != 0
    }
}

/// One capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol extensions (RFC 4760 §8): AFI (2), reserved (1), SAFI (1).
    Multiprotocol(Family),
    /// Route refresh (RFC 2918), empty value.
    RouteRefresh,
    /// Extended next hop encoding (RFC 8950).
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// Extended message (RFC 8654), empty value.
    ExtendedMessage,
    /// BGP role (RFC 9234), one octet.
    Role(Role),
    /// Graceful restart (RFC 4724).
    GracefulRestart(GracefulRestart),
    /// Support for 4-octet AS numbers (RFC 6793): the speaker's AS.
    FourOctetAs(u32),
    /// ADD-PATH (RFC 7911).
    AddPath(Vec<AddPathFamily>),
    /// Enhanced route refresh (RFC 7313), empty value.
    EnhancedRouteRefresh,
    /// Long-lived graceful restart (RFC 9494).
    LongLivedGracefulRestart(Vec<LlgrFamily>),
    /// Hostname (draft-walton-bgp-hostname-capability): hostname length (1),
    /// hostname, domain name length (1), domain name.
    Fqdn { hostname: String, domain: String },
    /// Anything else, kept as received.
    Unknown { code: u8, value: Vec<u8> },
}

impl Capability {
    /// A hostname capability.
    pub fn fqdn(hostname: impl Into<String>, domain: impl Into<String>) -> Self {
        Capability::Fqdn { hostname: hostname.into(), domain: domain.into() }
    }

    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::ExtendedNextHop(_) => code::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::Role(_) => code::ROLE,
            Capability::GracefulRestart(_) => code::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => code::FOUR_OCTET_AS,
            Capability::AddPath(_) => code::ADD_PATH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::LongLivedGracefulRestart(_) => code::LONG_LIVED_GRACEFUL_RESTART,
            Capability::Fqdn { .. } => code::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Length of the value (without code and length octets) as encoded.
    pub fn value_len(&self) -> usize {
        match self {
            Capability::Multiprotocol(_) => 4,
            Capability::RouteRefresh | Capability::ExtendedMessage | Capability::EnhancedRouteRefresh => 0,
            Capability::ExtendedNextHop(v) => 6 * v.len(),
            Capability::Role(_) => 1,
            Capability::GracefulRestart(gr) => 2 + 4 * gr.families.len(),
            Capability::FourOctetAs(_) => 4,
            Capability::AddPath(v) => 4 * v.len(),
            Capability::LongLivedGracefulRestart(v) => 7 * v.len(),
            Capability::Fqdn { hostname, domain } => 2 + hostname.len() + domain.len(),
            Capability::Unknown { value, .. } => value.len(),
        }
    }

    /// Length on the wire: code, length and value.
    pub fn encoded_len(&self) -> usize {
        2 + self.value_len()
    }

    /// Decode a capability value of type `code`; `offset` is that of the
    /// value within the message. Errors mean the capability is malformed
    /// (OPEN Message Error / Unspecific).
    pub fn decode_value(code: u8, value: &[u8], offset: usize) -> Result<Capability, DecodeError> {
        let len = value.len();
        let bad_len = |field| DecodeError::new(offset, field, ErrorKind::BadLength { length: len });
        let unknown = || Capability::Unknown { code, value: value.to_vec() };
        let mut r = Reader::at(value, offset);
        let cap = match code {
            code::MULTIPROTOCOL => {
                if len < 4 || !len.is_multiple_of(4) {
                    return Err(bad_len("multiprotocol capability"));
                }
                if len != 4 {
                    return Ok(unknown());
                }
                let afi = r.u16("multiprotocol capability AFI")?;
                let _reserved = r.u8("multiprotocol capability reserved")?;
                let safi = r.u8("multiprotocol capability SAFI")?;
                Capability::Multiprotocol(Family::new(Afi(afi), Safi(safi)))
            }
            code::ROUTE_REFRESH | code::ENHANCED_ROUTE_REFRESH | code::EXTENDED_MESSAGE => {
                if len == 0 {
                    match code {
                        code::ROUTE_REFRESH => Capability::RouteRefresh,
                        code::ENHANCED_ROUTE_REFRESH => Capability::EnhancedRouteRefresh,
                        _ => Capability::ExtendedMessage,
                    }
                } else if code == code::EXTENDED_MESSAGE {
                    return Err(bad_len("extended message capability"));
                } else {
                    unknown()
                }
            }
            code::EXTENDED_NEXT_HOP => {
                if len == 0 || !len.is_multiple_of(6) {
                    return Err(bad_len("extended next hop capability"));
                }
                let mut tuples = Vec::with_capacity(len / 6);
                while !r.is_empty() {
                    let afi = r.u16("extended next hop NLRI AFI")?;
                    let safi = r.u16("extended next hop NLRI SAFI")?;
                    let nh_afi = r.u16("extended next hop next-hop AFI")?;
                    let Ok(safi) = u8::try_from(safi) else {
                        return Ok(unknown());
                    };
                    tuples.push(ExtendedNextHop {
                        family: Family::new(Afi(afi), Safi(safi)),
                        next_hop_afi: Afi(nh_afi),
                    });
                }
                Capability::ExtendedNextHop(tuples)
            }
            code::ROLE => {
                if len != 1 {
                    return Err(bad_len("role capability"));
                }
                Capability::Role(Role(r.u8("role capability")?))
            }
            code::GRACEFUL_RESTART => {
                if len < 2 || !(len - 2).is_multiple_of(4) {
                    return Err(bad_len("graceful restart capability"));
                }
                let flags_time = r.u16("graceful restart flags and time")?;
                let mut families = Vec::with_capacity((len - 2) / 4);
                while !r.is_empty() {
                    let afi = r.u16("graceful restart AFI")?;
                    let safi = r.u8("graceful restart SAFI")?;
                    let flags = r.u8("graceful restart address family flags")?;
                    families.push(GracefulRestartFamily { family: Family::new(Afi(afi), Safi(safi)), flags });
                }
                Capability::GracefulRestart(GracefulRestart {
                    flags: (flags_time >> 12) as u8,
                    restart_time: flags_time & GracefulRestart::MAX_RESTART_TIME,
                    families,
                })
            }
            code::FOUR_OCTET_AS => {
                if len != 4 {
                    return Err(bad_len("4-octet AS capability"));
                }
                Capability::FourOctetAs(r.u32("4-octet AS capability")?)
            }
            code::ADD_PATH => {
                if len == 0 || !len.is_multiple_of(4) {
                    return Err(bad_len("ADD-PATH capability"));
                }
                let mut tuples = Vec::with_capacity(len / 4);
                while !r.is_empty() {
                    let afi = r.u16("ADD-PATH AFI")?;
                    let safi = r.u8("ADD-PATH SAFI")?;
                    let mode = r.u8("ADD-PATH send/receive")?;
                    tuples.push(AddPathFamily {
                        family: Family::new(Afi(afi), Safi(safi)),
                        mode: AddPathMode(mode),
                    });
                }
                Capability::AddPath(tuples)
            }
            code::LONG_LIVED_GRACEFUL_RESTART => {
                if !len.is_multiple_of(7) {
                    return Ok(unknown());
                }
                let mut tuples = Vec::with_capacity(len / 7);
                while !r.is_empty() {
                    let afi = r.u16("long-lived GR AFI")?;
                    let safi = r.u8("long-lived GR SAFI")?;
                    let flags = r.u8("long-lived GR flags")?;
                    let stale_time = r.u24("long-lived GR stale time")?;
                    tuples.push(LlgrFamily { family: Family::new(Afi(afi), Safi(safi)), flags, stale_time });
                }
                Capability::LongLivedGracefulRestart(tuples)
            }
            code::FQDN => {
                let host_len = r.u8("FQDN hostname length")?;
                let host = r.bytes(host_len.into(), "FQDN hostname")?;
                let domain_len = r.u8("FQDN domain name length")?;
                let domain = r.bytes(domain_len.into(), "FQDN domain name")?;
                match (std::str::from_utf8(host), std::str::from_utf8(domain)) {
                    (Ok(h), Ok(d)) if r.is_empty() => Capability::fqdn(h, d),
                    _ => unknown(),
                }
            }
            _ => unknown(),
        };
        Ok(cap)
    }

    /// Decode one capability (code, length, value) from `r`.
    pub fn decode(r: &mut Reader<'_>) -> Result<Capability, DecodeError> {
        let code = r.u8("capability code")?;
        let len = r.u8("capability length")?;
        let offset = r.offset();
        let value = r.bytes(len.into(), "capability value")?;
        Capability::decode_value(code, value, offset)
    }

    /// Decode the value of a Capabilities optional parameter: a list of
    /// capabilities filling `r` exactly.
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Capability>, DecodeError> {
        // Each capability takes at least 2 bytes.
        let mut caps = Vec::with_capacity(r.remaining() / 2);
        while !r.is_empty() {
            caps.push(Capability::decode(r)?);
        }
        Ok(caps)
    }

    /// Append code, length and value.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = self.value_len();
        let len8 = u8::try_from(len).map_err(|_| EncodeError::TooLong {
            field: "capability value",
            length: len,
            max: MAX_VALUE_LEN,
        })?;
        out.reserve(2 + len);
        out.push(self.code());
        out.push(len8);
        match self {
            Capability::Multiprotocol(family) => {
                out.extend_from_slice(&family.afi.0.to_be_bytes());
                out.push(0);
                out.push(family.safi.0);
            }
            Capability::RouteRefresh | Capability::ExtendedMessage | Capability::EnhancedRouteRefresh => {}
            Capability::ExtendedNextHop(tuples) => {
                for t in tuples {
                    out.extend_from_slice(&t.family.afi.0.to_be_bytes());
                    out.extend_from_slice(&u16::from(t.family.safi.0).to_be_bytes());
                    out.extend_from_slice(&t.next_hop_afi.0.to_be_bytes());
                }
            }
            Capability::Role(role) => out.push(role.0),
            Capability::GracefulRestart(gr) => {
                if gr.flags > 0x0f {
                    return Err(EncodeError::Unrepresentable {
                        field: "graceful restart flags",
                        why: "only 4 bits",
                    });
                }
                if gr.restart_time > GracefulRestart::MAX_RESTART_TIME {
                    return Err(EncodeError::Unrepresentable {
                        field: "graceful restart time",
                        why: "more than 4095 seconds",
                    });
                }
                let ft = (u16::from(gr.flags) << 12) | gr.restart_time;
                out.extend_from_slice(&ft.to_be_bytes());
                for f in &gr.families {
                    out.extend_from_slice(&f.family.afi.0.to_be_bytes());
                    out.push(f.family.safi.0);
                    out.push(f.flags);
                }
            }
            Capability::FourOctetAs(asn) => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::AddPath(tuples) => {
                for t in tuples {
                    out.extend_from_slice(&t.family.afi.0.to_be_bytes());
                    out.push(t.family.safi.0);
                    out.push(t.mode.0);
                }
            }
            Capability::LongLivedGracefulRestart(tuples) => {
                for t in tuples {
                    if t.stale_time > LlgrFamily::MAX_STALE_TIME {
                        return Err(EncodeError::Unrepresentable {
                            field: "long-lived GR stale time",
                            why: "more than 24 bits",
                        });
                    }
                    out.extend_from_slice(&t.family.afi.0.to_be_bytes());
                    out.push(t.family.safi.0);
                    out.push(t.flags);
                    let [_, a, b, c] = t.stale_time.to_be_bytes();
                    out.extend_from_slice(&[a, b, c]);
                }
            }
            Capability::Fqdn { hostname, domain } => {
                // Both fit: their sum plus 2 was checked against 255 above.
                out.push(hostname.len() as u8);
                out.extend_from_slice(hostname.as_bytes());
                out.push(domain.len() as u8);
                out.extend_from_slice(domain.as_bytes());
            }
            Capability::Unknown { value, .. } => out.extend_from_slice(value),
        }
        Ok(())
    }

    /// Append a list of capabilities (the value of a Capabilities
    /// optional parameter).
    pub fn encode_list(caps: &[Capability], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        caps.iter().try_for_each(|c| c.encode(out))
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn family() -> impl Strategy<Value = Family> {
        prop_oneof![
            Just(Family::IPV4_UNICAST),
            Just(Family::IPV6_UNICAST),
            Just(Family::L2VPN_EVPN),
            (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family::new(Afi(a), Safi(s))),
        ]
    }

    /// Codes the typed model does not decode, so `Unknown` round-trips.
    pub fn unknown_code() -> impl Strategy<Value = u8> {
        any::<u8>().prop_filter("known capability code", |c| {
            ![
                code::MULTIPROTOCOL,
                code::ROUTE_REFRESH,
                code::EXTENDED_NEXT_HOP,
                code::EXTENDED_MESSAGE,
                code::ROLE,
                code::GRACEFUL_RESTART,
                code::FOUR_OCTET_AS,
                code::ADD_PATH,
                code::ENHANCED_ROUTE_REFRESH,
                code::LONG_LIVED_GRACEFUL_RESTART,
                code::FQDN,
            ]
            .contains(c)
        })
    }

    fn label() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9.-]{0,40}",
            // Multi-byte characters: lengths are in bytes.
            "[a-zé€ü-]{0,12}",
        ]
    }

    pub fn capability() -> impl Strategy<Value = Capability> {
        prop_oneof![
            family().prop_map(Capability::Multiprotocol),
            Just(Capability::RouteRefresh),
            prop::collection::vec(
                (family(), any::<u16>())
                    .prop_map(|(family, a)| ExtendedNextHop { family, next_hop_afi: Afi(a) }),
                1..8
            )
            .prop_map(Capability::ExtendedNextHop),
            Just(Capability::ExtendedMessage),
            any::<u8>().prop_map(|r| Capability::Role(Role(r))),
            (
                0u8..16,
                0u16..4096,
                prop::collection::vec(
                    (family(), any::<u8>())
                        .prop_map(|(family, flags)| GracefulRestartFamily { family, flags }),
                    0..8
                )
            )
                .prop_map(|(flags, restart_time, families)| {
                    Capability::GracefulRestart(GracefulRestart { flags, restart_time, families })
                }),
            any::<u32>().prop_map(Capability::FourOctetAs),
            prop::collection::vec(
                (family(), any::<u8>())
                    .prop_map(|(family, m)| AddPathFamily { family, mode: AddPathMode(m) }),
                1..8
            )
            .prop_map(Capability::AddPath),
            Just(Capability::EnhancedRouteRefresh),
            prop::collection::vec(
                (family(), any::<u8>(), 0u32..=0x00ff_ffff)
                    .prop_map(|(family, flags, stale_time)| LlgrFamily { family, flags, stale_time }),
                0..8
            )
            .prop_map(Capability::LongLivedGracefulRestart),
            (label(), label()).prop_map(|(h, d)| Capability::fqdn(h, d)),
            (unknown_code(), prop::collection::vec(any::<u8>(), 0..40))
                .prop_map(|(code, value)| Capability::Unknown { code, value }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_one(bytes: &[u8]) -> Result<Capability, DecodeError> {
        let mut r = Reader::at(bytes, 100);
        let cap = Capability::decode(&mut r)?;
        r.finish("test")?;
        Ok(cap)
    }

    fn encode_one(cap: &Capability) -> Vec<u8> {
        let mut out = Vec::new();
        cap.encode(&mut out).unwrap();
        out
    }

    /// Decode `bytes`, check the result, and check it re-encodes to `bytes`.
    fn check(bytes: &[u8], want: Capability) {
        let got = decode_one(bytes).unwrap();
        assert_eq!(got, want);
        assert_eq!(encode_one(&got), bytes);
        assert_eq!(got.encoded_len(), bytes.len());
    }

    #[test]
    fn multiprotocol() {
        check(&[1, 4, 0, 1, 0, 1], Capability::Multiprotocol(Family::IPV4_UNICAST));
        check(&[1, 4, 0, 25, 0, 70], Capability::Multiprotocol(Family::L2VPN_EVPN));
        // Reserved octet is ignored on receipt (RFC 4760 §8).
        assert_eq!(decode_one(&[1, 4, 0, 2, 9, 1]).unwrap(), Capability::Multiprotocol(Family::IPV6_UNICAST));
    }

    #[test]
    fn multiprotocol_lengths() {
        let err = decode_one(&[1, 3, 0, 1, 0]).unwrap_err();
        assert_eq!(err.offset, 102);
        assert_eq!(err.kind, ErrorKind::BadLength { length: 3 });
        // A multiple of 4 but not 4: FRR treats it as unsupported, not an
        // error; we keep it.
        check(
            &[1, 8, 0, 1, 0, 1, 0, 2, 0, 1],
            Capability::Unknown { code: 1, value: vec![0, 1, 0, 1, 0, 2, 0, 1] },
        );
    }

    #[test]
    fn empty_capabilities() {
        check(&[2, 0], Capability::RouteRefresh);
        check(&[6, 0], Capability::ExtendedMessage);
        check(&[70, 0], Capability::EnhancedRouteRefresh);
        // Route refresh with a value is accepted by FRR: kept as is.
        check(&[2, 1, 7], Capability::Unknown { code: 2, value: vec![7] });
        let err = decode_one(&[6, 1, 0]).unwrap_err();
        assert_eq!(err.field, "extended message capability");
        assert_eq!(err.offset, 102);
    }

    #[test]
    fn cisco_route_refresh_is_unknown() {
        check(&[128, 0], Capability::Unknown { code: 128, value: vec![] });
    }

    #[test]
    fn extended_next_hop() {
        check(
            &[5, 12, 0, 1, 0, 1, 0, 2, 0, 1, 0, 128, 0, 2],
            Capability::ExtendedNextHop(vec![
                ExtendedNextHop { family: Family::IPV4_UNICAST, next_hop_afi: Afi::IPV6 },
                ExtendedNextHop { family: Family::new(Afi::IPV4, Safi::MPLS_VPN), next_hop_afi: Afi::IPV6 },
            ]),
        );
        assert!(decode_one(&[5, 4, 0, 1, 0, 1]).is_err());
        assert!(decode_one(&[5, 0]).is_err());
        // SAFI above 255 cannot be a Family: kept byte-exact.
        check(&[5, 6, 0, 1, 1, 1, 0, 2], Capability::Unknown { code: 5, value: vec![0, 1, 1, 1, 0, 2] });
    }

    #[test]
    fn role() {
        check(&[9, 1, 3], Capability::Role(Role::CUSTOMER));
        check(&[9, 1, 200], Capability::Role(Role(200)));
        assert!(decode_one(&[9, 0]).is_err());
        assert!(decode_one(&[9, 2, 0, 0]).is_err());
        assert_eq!(Role::PROVIDER.expected_peer_role(), Some(Role::CUSTOMER));
        assert_eq!(Role::ROUTE_SERVER_CLIENT.expected_peer_role(), Some(Role::ROUTE_SERVER));
        assert_eq!(Role::PEER.expected_peer_role(), Some(Role::PEER));
        assert_eq!(Role(5).expected_peer_role(), None);
    }

    #[test]
    fn graceful_restart() {
        // FRR defaults: restart time 120, N bit set, IPv4 unicast with F bit.
        let bytes = [64, 6, 0x40, 120, 0, 1, 1, 0x80];
        let cap = decode_one(&bytes).unwrap();
        let Capability::GracefulRestart(gr) = &cap else { panic!("{cap:?}") };
        assert!(gr.notification());
        assert!(!gr.restart_state());
        assert_eq!(gr.restart_time, 120);
        let f = gr.family(Family::IPV4_UNICAST).unwrap();
        assert!(f.forwarding_preserved());
        assert_eq!(encode_one(&cap), bytes);
        // R bit and 12-bit time.
        check(
            &[64, 2, 0x8f, 0xff],
            Capability::GracefulRestart(GracefulRestart { flags: 8, restart_time: 4095, families: vec![] }),
        );
        assert!(decode_one(&[64, 1, 0]).is_err());
        let err = decode_one(&[64, 5, 0, 120, 0, 1, 1]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadLength { length: 5 });
    }

    #[test]
    fn graceful_restart_encode_limits() {
        let mut out = Vec::new();
        let too_long =
            Capability::GracefulRestart(GracefulRestart { flags: 0, restart_time: 4096, families: vec![] });
        assert!(too_long.encode(&mut out).is_err());
        let bad_flags =
            Capability::GracefulRestart(GracefulRestart { flags: 16, restart_time: 0, families: vec![] });
        assert!(bad_flags.encode(&mut out).is_err());
    }

    #[test]
    fn four_octet_as() {
        check(&[65, 4, 0, 0, 0xfd, 0xe8], Capability::FourOctetAs(65000));
        check(&[65, 4, 0xfa, 0x56, 0xea, 0x00], Capability::FourOctetAs(4_200_000_000));
        let err = decode_one(&[65, 2, 0, 1]).unwrap_err();
        assert_eq!(err.field, "4-octet AS capability");
    }

    #[test]
    fn add_path() {
        let cap = decode_one(&[69, 8, 0, 1, 1, 3, 0, 2, 1, 1]).unwrap();
        let Capability::AddPath(t) = &cap else { panic!("{cap:?}") };
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].family, Family::IPV4_UNICAST);
        assert!(t[0].mode.can_send() && t[0].mode.can_receive());
        assert!(t[1].mode.can_receive() && !t[1].mode.can_send());
        // Unknown send/receive value kept.
        check(
            &[69, 4, 0, 1, 1, 9],
            Capability::AddPath(vec![AddPathFamily { family: Family::IPV4_UNICAST, mode: AddPathMode(9) }]),
        );
        assert!(decode_one(&[69, 3, 0, 1, 1]).is_err());
    }

    #[test]
    fn llgr() {
        check(
            &[71, 7, 0, 1, 1, 0x80, 0, 0x0e, 0x10],
            Capability::LongLivedGracefulRestart(vec![LlgrFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
                stale_time: 3600,
            }]),
        );
        // FRR sends an empty LLGR capability when LLGR is not configured.
        check(&[71, 0], Capability::LongLivedGracefulRestart(vec![]));
        check(&[71, 3, 0, 1, 1], Capability::Unknown { code: 71, value: vec![0, 1, 1] });
    }

    #[test]
    fn fqdn() {
        let mut bytes = vec![73, 11, 5];
        bytes.extend_from_slice(b"leaf1");
        bytes.push(4);
        bytes.extend_from_slice(b"corp");
        check(&bytes, Capability::fqdn("leaf1", "corp"));
        check(&[73, 2, 0, 0], Capability::fqdn("", ""));
        // Hostname runs past the capability.
        let err = decode_one(&[73, 3, 5, b'a', b'b']).unwrap_err();
        assert_eq!(err.field, "FQDN hostname");
        assert_eq!(err.offset, 103);
        // No domain length.
        let err = decode_one(&[73, 2, 1, b'a']).unwrap_err();
        assert_eq!(err.field, "FQDN domain name length");
        // Not UTF-8: kept byte-exact.
        check(&[73, 3, 1, 0xff, 0], Capability::Unknown { code: 73, value: vec![1, 0xff, 0] });
    }

    #[test]
    fn fqdn_too_long_to_encode() {
        let cap = Capability::fqdn("h".repeat(200), "d".repeat(60));
        let err = cap.encode(&mut Vec::new()).unwrap_err();
        assert_eq!(err, EncodeError::TooLong { field: "capability value", length: 262, max: 255 });
    }

    #[test]
    fn unknown_capability_kept() {
        check(&[131, 3, 1, 2, 3], Capability::Unknown { code: 131, value: vec![1, 2, 3] });
    }

    #[test]
    fn truncated_value() {
        let err = decode_one(&[65, 4, 0, 0]).unwrap_err();
        assert_eq!(err.field, "capability value");
        assert_eq!(err.offset, 102);
        assert_eq!(err.kind, ErrorKind::Truncated { needed: 4, available: 2 });
        let err = decode_one(&[65]).unwrap_err();
        assert_eq!(err.field, "capability length");
    }

    #[test]
    fn list() {
        let bytes = [1, 4, 0, 1, 0, 1, 2, 0, 65, 4, 0, 0, 0, 1];
        let mut r = Reader::at(&bytes, 0);
        let caps = Capability::decode_list(&mut r).unwrap();
        assert_eq!(
            caps,
            vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::RouteRefresh,
                Capability::FourOctetAs(1),
            ]
        );
        let mut out = Vec::new();
        Capability::encode_list(&caps, &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    proptest! {
        #[test]
        fn round_trip(cap in strategies::capability()) {
            let bytes = encode_one(&cap);
            prop_assert_eq!(bytes.len(), cap.encoded_len());
            let back = decode_one(&bytes).unwrap();
            prop_assert_eq!(&back, &cap);
            prop_assert_eq!(encode_one(&back), bytes);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(cap) = decode_one(&bytes) {
                // Whatever decodes re-encodes byte-exact, except the ignored
                // multiprotocol reserved octet.
                let mut expect = bytes.clone();
                if cap.code() == code::MULTIPROTOCOL && matches!(cap, Capability::Multiprotocol(_)) {
                    expect[4] = 0;
                }
                prop_assert_eq!(encode_one(&cap), expect);
            }
        }
    }
}

impl fmt::Display for AddPathMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AddPathMode::RECEIVE => f.write_str("receive"),
            AddPathMode::SEND => f.write_str("send"),
            AddPathMode::BOTH => f.write_str("send/receive"),
            AddPathMode(other) => write!(f, "mode-{other}"),
        }
    }
}

impl fmt::Display for Capability {
    /// A short form in the spirit of `show bgp neighbors`:
    /// `mp ipv4-unicast`, `add-path ipv4-unicast send/receive`,
    /// `graceful-restart 120s flags 0xc [ipv4-unicast]`, `unknown 128`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T>(items: &[T], each: impl Fn(&T) -> String) -> String {
            items.iter().map(each).collect::<Vec<_>>().join(", ")
        }
        match self {
            Capability::Multiprotocol(fam) => write!(f, "mp {fam}"),
            Capability::RouteRefresh => f.write_str("route-refresh"),
            Capability::ExtendedNextHop(v) => write!(
                f,
                "extended-nexthop [{}]",
                list(v, |e| format!("{} via afi{}", e.family, e.next_hop_afi.0))
            ),
            Capability::ExtendedMessage => f.write_str("extended-message"),
            Capability::Role(r) => write!(f, "role {r}"),
            Capability::GracefulRestart(gr) => write!(
                f,
                "graceful-restart {}s flags 0x{:x} [{}]",
                gr.restart_time,
                gr.flags,
                list(&gr.families, |x| format!("{} 0x{:x}", x.family, x.flags))
            ),
            Capability::FourOctetAs(asn) => write!(f, "4-octet-as {asn}"),
            Capability::AddPath(v) => {
                write!(f, "add-path [{}]", list(v, |a| format!("{} {}", a.family, a.mode)))
            }
            Capability::EnhancedRouteRefresh => f.write_str("enhanced-route-refresh"),
            Capability::LongLivedGracefulRestart(v) => {
                write!(f, "llgr [{}]", list(v, |l| format!("{} 0x{:x} {}s", l.family, l.flags, l.stale_time)))
            }
            Capability::Fqdn { hostname, domain } if domain.is_empty() => write!(f, "fqdn {hostname}"),
            Capability::Fqdn { hostname, domain } => write!(f, "fqdn {hostname}.{domain}"),
            Capability::Unknown { code, value } if value.is_empty() => write!(f, "unknown {code}"),
            Capability::Unknown { code, value } => write!(f, "unknown {code} ({} bytes)", value.len()),
        }
    }
}
