//! Community-type path attribute values: COMMUNITIES (RFC 1997),
//! EXTENDED_COMMUNITIES (RFC 4360, 5668, 7153, 7432, 8214, 8365, 8584,
//! 9047, 9135), IPv6 address specific extended communities (RFC 5701) and
//! LARGE_COMMUNITY (RFC 8092).
//!
//! This module owns the attribute *values* only: the bytes after the
//! attribute header. Flags, type code, length and the RFC 7606 action for a
//! malformed value belong to [`crate::wire::attr`], which maps the
//! [`DecodeError`]s returned here (always [`ErrorKind::BadLength`] at the
//! first value byte when the length is not a non-zero multiple of the
//! element size, RFC 7606 §7.8, §7.14, §7.15, RFC 8092 §6).
//!
//! Extended communities keep their 8 raw bytes, so every one, known or
//! not, re-encodes byte for byte; typed views come from
//! [`ExtendedCommunity::kind`].
//!
//! An empty list is not a valid attribute value: leave the attribute out
//! instead of encoding an empty list.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::wire::error::{DecodeError, ErrorKind};
use crate::wire::reader::Reader;

/// A string that does not parse as a community of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {why}")]
pub struct ParseCommunityError {
    /// Which kind of community was expected.
    pub what: &'static str,
    pub input: String,
    pub why: &'static str,
}

impl ParseCommunityError {
    fn new(what: &'static str, input: &str, why: &'static str) -> Self {
        ParseCommunityError { what, input: input.to_owned(), why }
    }
}

/// Decode a list of fixed-size elements: the value length must be a
/// non-zero multiple of `N`.
fn decode_fixed<const N: usize, T>(
    value: &[u8],
    offset: usize,
    field: &'static str,
    element: &'static str,
    make: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, DecodeError> {
    if value.is_empty() || !value.len().is_multiple_of(N) {
        return Err(DecodeError::new(offset, field, ErrorKind::BadLength { length: value.len() }));
    }
    let mut r = Reader::at(value, offset);
    let mut out = Vec::with_capacity(value.len() / N);
    while !r.is_empty() {
        out.push(make(r.array::<N>(element)?));
    }
    Ok(out)
}

fn fmt_mac(f: &mut fmt::Formatter<'_>, mac: &[u8; 6]) -> fmt::Result {
    let [a, b, c, d, e, g] = mac;
    write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
}

// ---------------------------------------------------------------------------
// COMMUNITIES (RFC 1997)
// ---------------------------------------------------------------------------

/// One community (RFC 1997): by convention the high 16 bits are an AS
/// number and the low 16 bits a value chosen by that AS.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             AS                |            Value              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Displays as `65000:100`, or as the well-known name FRR uses
/// (`no-export`, `local-AS`, `blackhole`, ...). Parses either form, and a
/// plain decimal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// RFC 8326.
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// RFC 7611.
    pub const ACCEPT_OWN: Community = Community(0xFFFF_0001);
    /// RFC 9494.
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// RFC 9494.
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// RFC 7999.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// RFC 1997.
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// RFC 1997.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// RFC 1997 (FRR calls it `local-AS`).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// RFC 3765.
    pub const NOPEER: Community = Community(0xFFFF_FF04);

    /// Well-known communities and the names FRR displays for them.
    const WELL_KNOWN: [(Community, &'static str); 9] = [
        (Community::GRACEFUL_SHUTDOWN, "graceful-shutdown"),
        (Community::ACCEPT_OWN, "accept-own"),
        (Community::LLGR_STALE, "llgr-stale"),
        (Community::NO_LLGR, "no-llgr"),
        (Community::BLACKHOLE, "blackhole"),
        (Community::NO_EXPORT, "no-export"),
        (Community::NO_ADVERTISE, "no-advertise"),
        (Community::NO_EXPORT_SUBCONFED, "local-AS"),
        (Community::NOPEER, "no-peer"),
    ];

    pub const fn new(asn: u16, value: u16) -> Self {
        Community(((asn as u32) << 16) | value as u32)
    }

    /// The high 16 bits (the AS by convention).
    pub const fn asn(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The low 16 bits.
    pub const fn value(self) -> u16 {
        self.0 as u16
    }

    /// The FRR name of a well-known community.
    pub fn well_known_name(self) -> Option<&'static str> {
        Self::WELL_KNOWN.iter().find(|(c, _)| *c == self).map(|(_, name)| *name)
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.well_known_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}:{}", self.asn(), self.value()),
        }
    }
}

impl FromStr for Community {
    type Err = ParseCommunityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| ParseCommunityError::new("community", s, why);
        let t = s.trim();
        if let Some((c, _)) = Self::WELL_KNOWN.iter().find(|(_, name)| name.eq_ignore_ascii_case(t)) {
            return Ok(*c);
        }
        if t.eq_ignore_ascii_case("no-export-subconfed") {
            return Ok(Community::NO_EXPORT_SUBCONFED);
        }
        match t.split_once(':') {
            Some((a, v)) => {
                let asn = a.parse::<u16>().map_err(|_| err("AS is not 0..65535"))?;
                let value = v.parse::<u16>().map_err(|_| err("value is not 0..65535"))?;
                Ok(Community::new(asn, value))
            }
            None => t
                .parse::<u32>()
                .map(Community)
                .map_err(|_| err("expected AS:value, a number or a well-known name")),
        }
    }
}

/// The COMMUNITIES attribute value (type 8): a list of 4-byte communities,
/// kept in wire order (duplicates included).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Communities(pub Vec<Community>);

impl Communities {
    /// Decode the attribute value starting at byte `offset` of the message.
    /// A length that is not a non-zero multiple of 4 is `BadLength` at
    /// `offset` (RFC 7606 §7.8: treat-as-withdraw).
    pub fn decode(value: &[u8], offset: usize) -> Result<Self, DecodeError> {
        decode_fixed::<4, _>(value, offset, "COMMUNITIES", "community", |b| Community(u32::from_be_bytes(b)))
            .map(Communities)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for c in &self.0 {
            out.extend_from_slice(&c.0.to_be_bytes());
        }
    }

    /// Length of the encoded value in bytes.
    pub fn encoded_len(&self) -> usize {
        self.0.len() * 4
    }

    pub fn contains(&self, c: Community) -> bool {
        self.0.contains(&c)
    }
}

impl fmt::Display for Communities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_list(f, &self.0)
    }
}

fn fmt_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, c) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{c}")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// EXTENDED_COMMUNITIES (RFC 4360 and friends)
// ---------------------------------------------------------------------------

/// High-order type octets of extended communities (RFC 7153 §5.1).
pub mod ec_type {
    /// Transitive Two-Octet AS-Specific (RFC 4360 §3.1).
    pub const TWO_OCTET_AS: u8 = 0x00;
    /// Transitive IPv4-Address-Specific (RFC 4360 §3.2).
    pub const IPV4: u8 = 0x01;
    /// Transitive Four-Octet AS-Specific (RFC 5668).
    pub const FOUR_OCTET_AS: u8 = 0x02;
    /// Transitive Opaque (RFC 4360 §3.3).
    pub const OPAQUE: u8 = 0x03;
    /// EVPN (RFC 7432 §7).
    pub const EVPN: u8 = 0x06;
    /// Set in the type octet of every non-transitive type (RFC 4360 §2).
    pub const NON_TRANSITIVE_BIT: u8 = 0x40;
    /// Set in the type octet of IANA-assigned types (RFC 4360 §2).
    pub const IANA_AUTHORITY_BIT: u8 = 0x80;
}

/// Sub-type octets (RFC 7153 §5.2), by the type they belong to.
pub mod ec_subtype {
    /// Route Target, in types 0x00, 0x01, 0x02 (RFC 4360 §4).
    pub const ROUTE_TARGET: u8 = 0x02;
    /// Route Origin (site of origin), in types 0x00, 0x01, 0x02 (RFC 4360 §5).
    pub const ROUTE_ORIGIN: u8 = 0x03;
    /// Encapsulation, in type 0x03 (RFC 9012 §4.1).
    pub const ENCAPSULATION: u8 = 0x0c;
    /// Default Gateway, in type 0x03 (RFC 7432 §7.8).
    pub const DEFAULT_GATEWAY: u8 = 0x0d;
    /// EVPN MAC Mobility, in type 0x06 (RFC 7432 §7.7).
    pub const MAC_MOBILITY: u8 = 0x00;
    /// EVPN ESI Label, in type 0x06 (RFC 7432 §7.5).
    pub const ESI_LABEL: u8 = 0x01;
    /// EVPN ES-Import Route Target, in type 0x06 (RFC 7432 §7.6).
    pub const ES_IMPORT_ROUTE_TARGET: u8 = 0x02;
    /// EVPN Router's MAC, in type 0x06 (RFC 9135 §8.1).
    pub const ROUTER_MAC: u8 = 0x03;
    /// EVPN Layer 2 Attributes, in type 0x06 (RFC 8214 §3.1).
    pub const LAYER2_ATTRIBUTES: u8 = 0x04;
    /// EVPN DF Election, in type 0x06 (RFC 8584 §2.2).
    pub const DF_ELECTION: u8 = 0x06;
    /// EVPN ARP/ND, in type 0x06 (RFC 9047 §2).
    pub const ND: u8 = 0x08;
}

/// The administrator fields of a Route Target or Route Origin: the global
/// administrator (AS or IPv4 address) and the local administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Administrator {
    /// Type 0x00: 2-octet AS, 4-octet local value.
    As2 { asn: u16, local: u32 },
    /// Type 0x01: IPv4 address, 2-octet local value.
    Ipv4 { addr: Ipv4Addr, local: u16 },
    /// Type 0x02: 4-octet AS (RFC 5668), 2-octet local value.
    As4 { asn: u32, local: u16 },
}

impl Administrator {
    /// The local administrator widened to 32 bits (for `*:VNI` matching).
    pub fn local(&self) -> u32 {
        match *self {
            Administrator::As2 { local, .. } => local,
            Administrator::Ipv4 { local, .. } | Administrator::As4 { local, .. } => local.into(),
        }
    }
}

impl fmt::Display for Administrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Administrator::As2 { asn, local } => write!(f, "{asn}:{local}"),
            Administrator::Ipv4 { addr, local } => write!(f, "{addr}:{local}"),
            Administrator::As4 { asn, local } => write!(f, "{asn}:{local}"),
        }
    }
}

impl FromStr for Administrator {
    type Err = ParseCommunityError;

    /// `A.B.C.D:n` is the IPv4 form; `asn:n` is the 2-octet AS form when
    /// the AS fits 16 bits, the 4-octet AS form otherwise (as FRR decides).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| ParseCommunityError::new("route target", s, why);
        let (global, local) = s.trim().rsplit_once(':').ok_or_else(|| err("expected ADMIN:value"))?;
        if global.contains('.') {
            let addr = global.parse::<Ipv4Addr>().map_err(|_| err("bad IPv4 address"))?;
            let local = local.parse::<u16>().map_err(|_| err("value is not 0..65535"))?;
            return Ok(Administrator::Ipv4 { addr, local });
        }
        let asn = global.parse::<u32>().map_err(|_| err("bad AS number"))?;
        match u16::try_from(asn) {
            Ok(asn) => {
                let local = local.parse::<u32>().map_err(|_| err("bad value"))?;
                Ok(Administrator::As2 { asn, local })
            }
            Err(_) => {
                let local =
                    local.parse::<u16>().map_err(|_| err("value is not 0..65535 for a 4-octet AS"))?;
                Ok(Administrator::As4 { asn, local })
            }
        }
    }
}

/// A typed view of an [`ExtendedCommunity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtendedCommunityKind {
    /// Types 0x00/0x01/0x02, sub-type 0x02 (RFC 4360 §4, RFC 5668).
    RouteTarget(Administrator),
    /// Types 0x00/0x01/0x02, sub-type 0x03 (RFC 4360 §5, RFC 5668).
    RouteOrigin(Administrator),
    /// Type 0x03, sub-type 0x0c (RFC 9012 §4.1): the IANA tunnel type
    /// (8 = VXLAN, see [`crate::wire::tunnel::tunnel_type`]).
    Encapsulation { tunnel_type: u16 },
    /// Type 0x03, sub-type 0x0d (RFC 7432 §7.8).
    DefaultGateway,
    /// Type 0x06, sub-type 0x00 (RFC 7432 §7.7).
    MacMobility { sticky: bool, sequence: u32 },
    /// Type 0x06, sub-type 0x01 (RFC 7432 §7.5). `label` is the raw 24-bit
    /// field (a VNI for VXLAN, RFC 8365; label << 4 for MPLS).
    EsiLabel { single_active: bool, label: u32 },
    /// Type 0x06, sub-type 0x02 (RFC 7432 §7.6).
    EsImportRouteTarget([u8; 6]),
    /// Type 0x06, sub-type 0x03 (RFC 9135 §8.1).
    RouterMac([u8; 6]),
    /// Type 0x06, sub-type 0x04 (RFC 8214 §3.1): control flags (B 0x01,
    /// P 0x02, C 0x04) and the L2 MTU.
    Layer2Attributes { control_flags: u16, mtu: u16 },
    /// Type 0x06, sub-type 0x06 (RFC 8584 §2.2): DF algorithm (5 bits),
    /// capability bitmap, and the preference in the last two octets
    /// (RFC 9785; zero when unused).
    DfElection { algorithm: u8, bitmap: u16, preference: u16 },
    /// Type 0x06, sub-type 0x08 (RFC 9047): router (R, 0x01), override
    /// (O, 0x02) and immutable ARP/ND binding (I, 0x08) flags, plus the
    /// proxy flag 0x04 that FRR sets (draft-rbickhart-evpn-ip-mac-proxy-adv,
    /// not in RFC 9047).
    Nd { router: bool, override_flag: bool, proxy: bool, immutable: bool },
    /// Anything else; the raw bytes stay in the [`ExtendedCommunity`].
    Unknown { kind: u8, subtype: u8 },
}

/// One extended community (RFC 4360 §2), kept as its 8 raw bytes.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Type high    |  Type low(*)  |                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+          Value                |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// (*) the sub-type, for every extended type mdc knows
/// ```
///
/// Displays as FRR's `show bgp` does (`RT:65000:100`, `ET:8`,
/// `MM:5, sticky MAC`, `Rmac:aa:bb:cc:dd:ee:ff`, `UNK:type, subtype`).
/// Parses route targets (`RT:65000:100`, `65000:100`, `192.0.2.1:7`,
/// `4200000000:7`) and route origins (`SoO:...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// High-order type octet (with the IANA and transitive bits).
    pub fn type_high(&self) -> u8 {
        let [t, ..] = self.0;
        t
    }

    /// Low-order type octet (the sub-type).
    pub fn subtype(&self) -> u8 {
        let [_, s, ..] = self.0;
        s
    }

    /// The 6 value bytes after type and sub-type.
    pub fn value(&self) -> [u8; 6] {
        let [_, _, a, b, c, d, e, f] = self.0;
        [a, b, c, d, e, f]
    }

    /// Transitive across ASes (the 0x40 bit of the type octet is clear).
    pub fn is_transitive(&self) -> bool {
        self.type_high() & ec_type::NON_TRANSITIVE_BIT == 0
    }

    fn from_parts(kind: u8, subtype: u8, value: [u8; 6]) -> Self {
        let [a, b, c, d, e, f] = value;
        ExtendedCommunity([kind, subtype, a, b, c, d, e, f])
    }

    fn administered(subtype: u8, admin: Administrator) -> Self {
        match admin {
            Administrator::As2 { asn, local } => {
                let [a, b] = asn.to_be_bytes();
                let [c, d, e, f] = local.to_be_bytes();
                Self::from_parts(ec_type::TWO_OCTET_AS, subtype, [a, b, c, d, e, f])
            }
            Administrator::Ipv4 { addr, local } => {
                let [a, b, c, d] = addr.octets();
                let [e, f] = local.to_be_bytes();
                Self::from_parts(ec_type::IPV4, subtype, [a, b, c, d, e, f])
            }
            Administrator::As4 { asn, local } => {
                let [a, b, c, d] = asn.to_be_bytes();
                let [e, f] = local.to_be_bytes();
                Self::from_parts(ec_type::FOUR_OCTET_AS, subtype, [a, b, c, d, e, f])
            }
        }
    }

    /// A transitive Route Target in any administrator form.
    pub fn route_target(admin: Administrator) -> Self {
        Self::administered(ec_subtype::ROUTE_TARGET, admin)
    }

    /// A transitive Route Origin (site of origin) in any administrator form.
    pub fn route_origin(admin: Administrator) -> Self {
        Self::administered(ec_subtype::ROUTE_ORIGIN, admin)
    }

    /// Route Target `asn:value`, 2-octet AS form (type 0x00).
    pub fn route_target_as2(asn: u16, value: u32) -> Self {
        Self::route_target(Administrator::As2 { asn, local: value })
    }

    /// Route Target `addr:value`, IPv4 form (type 0x01).
    pub fn route_target_ipv4(addr: Ipv4Addr, value: u16) -> Self {
        Self::route_target(Administrator::Ipv4 { addr, local: value })
    }

    /// Route Target `asn:value`, 4-octet AS form (type 0x02, RFC 5668).
    pub fn route_target_as4(asn: u32, value: u16) -> Self {
        Self::route_target(Administrator::As4 { asn, local: value })
    }

    /// Encapsulation extended community (RFC 9012 §4.1): 4 reserved bytes
    /// then the tunnel type.
    pub fn encapsulation(tunnel_type: u16) -> Self {
        let [a, b] = tunnel_type.to_be_bytes();
        Self::from_parts(ec_type::OPAQUE, ec_subtype::ENCAPSULATION, [0, 0, 0, 0, a, b])
    }

    /// Encapsulation VXLAN (tunnel type 8), as every EVPN/VXLAN route carries.
    pub fn vxlan_encapsulation() -> Self {
        Self::encapsulation(crate::wire::tunnel::tunnel_type::VXLAN)
    }

    /// Default Gateway (RFC 7432 §7.8): value all zero.
    pub fn default_gateway() -> Self {
        Self::from_parts(ec_type::OPAQUE, ec_subtype::DEFAULT_GATEWAY, [0; 6])
    }

    /// MAC Mobility (RFC 7432 §7.7): flags (sticky 0x01), reserved, 32-bit
    /// sequence number.
    pub fn mac_mobility(sticky: bool, sequence: u32) -> Self {
        let [c, d, e, f] = sequence.to_be_bytes();
        Self::from_parts(ec_type::EVPN, ec_subtype::MAC_MOBILITY, [u8::from(sticky), 0, c, d, e, f])
    }

    /// ESI Label (RFC 7432 §7.5): flags (single-active 0x01), 2 reserved
    /// bytes, the 24-bit label field. Only the low 24 bits of `label` are
    /// used.
    pub fn esi_label(single_active: bool, label: u32) -> Self {
        let [_, d, e, f] = label.to_be_bytes();
        Self::from_parts(ec_type::EVPN, ec_subtype::ESI_LABEL, [u8::from(single_active), 0, 0, d, e, f])
    }

    /// ES-Import Route Target (RFC 7432 §7.6): the 6 high bytes of the ESI.
    pub fn es_import_rt(mac: [u8; 6]) -> Self {
        Self::from_parts(ec_type::EVPN, ec_subtype::ES_IMPORT_ROUTE_TARGET, mac)
    }

    /// Router's MAC (RFC 9135 §8.1).
    pub fn router_mac(mac: [u8; 6]) -> Self {
        Self::from_parts(ec_type::EVPN, ec_subtype::ROUTER_MAC, mac)
    }

    /// Layer 2 Attributes (RFC 8214 §3.1): control flags, L2 MTU, 2
    /// reserved bytes.
    pub fn layer2_attributes(control_flags: u16, mtu: u16) -> Self {
        let [a, b] = control_flags.to_be_bytes();
        let [c, d] = mtu.to_be_bytes();
        Self::from_parts(ec_type::EVPN, ec_subtype::LAYER2_ATTRIBUTES, [a, b, c, d, 0, 0])
    }

    /// DF Election (RFC 8584 §2.2; preference RFC 9785). Only the low 5
    /// bits of `algorithm` are used.
    pub fn df_election(algorithm: u8, bitmap: u16, preference: u16) -> Self {
        let [b0, b1] = bitmap.to_be_bytes();
        let [p0, p1] = preference.to_be_bytes();
        Self::from_parts(ec_type::EVPN, ec_subtype::DF_ELECTION, [algorithm & 0x1f, b0, b1, 0, p0, p1])
    }

    /// ARP/ND extended community (RFC 9047; `proxy` is FRR's 0x04 flag).
    pub fn nd(router: bool, override_flag: bool, proxy: bool, immutable: bool) -> Self {
        let flags = u8::from(router)
            | (u8::from(override_flag) << 1)
            | (u8::from(proxy) << 2)
            | (u8::from(immutable) << 3);
        Self::from_parts(ec_type::EVPN, ec_subtype::ND, [flags, 0, 0, 0, 0, 0])
    }

    /// The typed meaning of this community, or `Unknown`.
    pub fn kind(&self) -> ExtendedCommunityKind {
        use ExtendedCommunityKind as K;
        let [t, st, a, b, c, d, e, f] = self.0;
        let mac = [a, b, c, d, e, f];
        let admin = match t {
            ec_type::TWO_OCTET_AS => Some(Administrator::As2 {
                asn: u16::from_be_bytes([a, b]),
                local: u32::from_be_bytes([c, d, e, f]),
            }),
            ec_type::IPV4 => Some(Administrator::Ipv4 {
                addr: Ipv4Addr::new(a, b, c, d),
                local: u16::from_be_bytes([e, f]),
            }),
            ec_type::FOUR_OCTET_AS => Some(Administrator::As4 {
                asn: u32::from_be_bytes([a, b, c, d]),
                local: u16::from_be_bytes([e, f]),
            }),
            _ => None,
        };
        match (t, st, admin) {
            (_, ec_subtype::ROUTE_TARGET, Some(admin)) => K::RouteTarget(admin),
            (_, ec_subtype::ROUTE_ORIGIN, Some(admin)) => K::RouteOrigin(admin),
            (ec_type::OPAQUE, ec_subtype::ENCAPSULATION, _) => {
                K::Encapsulation { tunnel_type: u16::from_be_bytes([e, f]) }
            }
            (ec_type::OPAQUE, ec_subtype::DEFAULT_GATEWAY, _) => K::DefaultGateway,
            (ec_type::EVPN, ec_subtype::MAC_MOBILITY, _) => {
                K::MacMobility { sticky: a & 0x01 != 0, sequence: u32::from_be_bytes([c, d, e, f]) }
            }
            (ec_type::EVPN, ec_subtype::ESI_LABEL, _) => {
                K::EsiLabel { single_active: a & 0x01 != 0, label: u32::from_be_bytes([0, d, e, f]) }
            }
            (ec_type::EVPN, ec_subtype::ES_IMPORT_ROUTE_TARGET, _) => K::EsImportRouteTarget(mac),
            (ec_type::EVPN, ec_subtype::ROUTER_MAC, _) => K::RouterMac(mac),
            (ec_type::EVPN, ec_subtype::LAYER2_ATTRIBUTES, _) => K::Layer2Attributes {
                control_flags: u16::from_be_bytes([a, b]),
                mtu: u16::from_be_bytes([c, d]),
            },
            (ec_type::EVPN, ec_subtype::DF_ELECTION, _) => K::DfElection {
                algorithm: a & 0x1f,
                bitmap: u16::from_be_bytes([b, c]),
                preference: u16::from_be_bytes([e, f]),
            },
            (ec_type::EVPN, ec_subtype::ND, _) => K::Nd {
                router: a & 0x01 != 0,
                override_flag: a & 0x02 != 0,
                proxy: a & 0x04 != 0,
                immutable: a & 0x08 != 0,
            },
            _ => K::Unknown { kind: t, subtype: st },
        }
    }

    /// The administrator if this is a (transitive) Route Target.
    pub fn as_route_target(&self) -> Option<Administrator> {
        match self.kind() {
            ExtendedCommunityKind::RouteTarget(a) => Some(a),
            _ => None,
        }
    }
}

impl ExtendedCommunityKind {
    /// The community for a typed value, with reserved bits zero; `None` for
    /// `Unknown` (whose value bytes the kind does not carry).
    pub fn to_community(self) -> Option<ExtendedCommunity> {
        use ExtendedCommunityKind as K;
        Some(match self {
            K::RouteTarget(a) => ExtendedCommunity::route_target(a),
            K::RouteOrigin(a) => ExtendedCommunity::route_origin(a),
            K::Encapsulation { tunnel_type } => ExtendedCommunity::encapsulation(tunnel_type),
            K::DefaultGateway => ExtendedCommunity::default_gateway(),
            K::MacMobility { sticky, sequence } => ExtendedCommunity::mac_mobility(sticky, sequence),
            K::EsiLabel { single_active, label } => ExtendedCommunity::esi_label(single_active, label),
            K::EsImportRouteTarget(m) => ExtendedCommunity::es_import_rt(m),
            K::RouterMac(m) => ExtendedCommunity::router_mac(m),
            K::Layer2Attributes { control_flags, mtu } => {
                ExtendedCommunity::layer2_attributes(control_flags, mtu)
            }
            K::DfElection { algorithm, bitmap, preference } => {
                ExtendedCommunity::df_election(algorithm, bitmap, preference)
            }
            K::Nd { router, override_flag, proxy, immutable } => {
                ExtendedCommunity::nd(router, override_flag, proxy, immutable)
            }
            K::Unknown { .. } => return None,
        })
    }
}

impl fmt::Display for ExtendedCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ExtendedCommunityKind as K;
        match self.kind() {
            K::RouteTarget(a) => write!(f, "RT:{a}"),
            K::RouteOrigin(a) => write!(f, "SoO:{a}"),
            K::Encapsulation { tunnel_type } => write!(f, "ET:{tunnel_type}"),
            K::DefaultGateway => f.write_str("Default Gateway"),
            K::MacMobility { sticky, sequence } => {
                write!(f, "MM:{sequence}")?;
                if sticky {
                    f.write_str(", sticky MAC")?;
                }
                Ok(())
            }
            K::EsiLabel { single_active, .. } => {
                write!(f, "ESI-label-Rt:{}", if single_active { "SA" } else { "AA" })
            }
            K::EsImportRouteTarget(mac) => {
                f.write_str("ES-Import-Rt:")?;
                fmt_mac(f, &mac)
            }
            K::RouterMac(mac) => {
                f.write_str("Rmac:")?;
                fmt_mac(f, &mac)
            }
            K::Layer2Attributes { control_flags, mtu } => {
                let yn = |bit: u16| if control_flags & bit != 0 { 'Y' } else { 'N' };
                write!(f, "L2: P flag:{}, B Flag {}, C word {}, MTU {mtu}", yn(0x02), yn(0x01), yn(0x04))
            }
            K::DfElection { algorithm, bitmap, preference } => {
                if bitmap != 0 {
                    write!(f, "DF: (alg: {algorithm}, bmap: 0x{bitmap:x} pref: {preference})")
                } else {
                    write!(f, "DF: (alg: {algorithm}, pref: {preference})")
                }
            }
            K::Nd { router, override_flag, proxy, immutable } => {
                f.write_str("ND:")?;
                let mut flags = Vec::with_capacity(4);
                if router {
                    flags.push("Router Flag");
                }
                if override_flag {
                    flags.push("Override Flag");
                }
                if proxy {
                    flags.push("Proxy");
                }
                if immutable {
                    flags.push("Immutable");
                }
                f.write_str(&flags.join(", "))
            }
            K::Unknown { kind, subtype } => write!(f, "UNK:{kind}, {subtype}"),
        }
    }
}

impl FromStr for ExtendedCommunity {
    type Err = ParseCommunityError;

    /// Route Targets (`RT:65000:100` or bare `65000:100`) and Route Origins
    /// (`SoO:65000:100`); see [`Administrator`] for the forms.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (prefix, rest) = match t.split_once(':') {
            Some((p, rest)) if p.eq_ignore_ascii_case("rt") => (Some(true), rest),
            Some((p, rest)) if p.eq_ignore_ascii_case("soo") => (Some(false), rest),
            _ => (None, t),
        };
        let admin = rest.parse::<Administrator>().map_err(|e| ParseCommunityError {
            what: "extended community",
            input: s.to_owned(),
            why: e.why,
        })?;
        Ok(match prefix {
            Some(false) => ExtendedCommunity::route_origin(admin),
            _ => ExtendedCommunity::route_target(admin),
        })
    }
}

/// The EXTENDED_COMMUNITIES attribute value (type 16): 8-byte communities
/// in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExtendedCommunities(pub Vec<ExtendedCommunity>);

impl ExtendedCommunities {
    /// Decode the attribute value starting at byte `offset` of the message.
    /// A length that is not a non-zero multiple of 8 is `BadLength` at
    /// `offset` (RFC 7606 §7.14: treat-as-withdraw).
    pub fn decode(value: &[u8], offset: usize) -> Result<Self, DecodeError> {
        decode_fixed::<8, _>(value, offset, "EXTENDED_COMMUNITIES", "extended community", ExtendedCommunity)
            .map(ExtendedCommunities)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for c in &self.0 {
            out.extend_from_slice(&c.0);
        }
    }

    pub fn encoded_len(&self) -> usize {
        self.0.len() * 8
    }

    /// Typed views of every community, in order.
    pub fn kinds(&self) -> impl Iterator<Item = ExtendedCommunityKind> + '_ {
        self.0.iter().map(ExtendedCommunity::kind)
    }

    /// Every transitive Route Target.
    pub fn route_targets(&self) -> impl Iterator<Item = Administrator> + '_ {
        self.0.iter().filter_map(ExtendedCommunity::as_route_target)
    }
}

impl fmt::Display for ExtendedCommunities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_list(f, &self.0)
    }
}

// ---------------------------------------------------------------------------
// IPv6 Address Specific Extended Community (RFC 5701), attribute type 25
// ---------------------------------------------------------------------------

/// A typed view of an [`Ipv6ExtendedCommunity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6ExtendedCommunityKind {
    /// Type 0x00, sub-type 0x02.
    RouteTarget { addr: Ipv6Addr, local: u16 },
    /// Type 0x00, sub-type 0x03.
    RouteOrigin { addr: Ipv6Addr, local: u16 },
    /// Anything else; the raw bytes stay in the community.
    Unknown { kind: u8, subtype: u8 },
}

/// One IPv6 Address Specific Extended Community (RFC 5701 §2), kept as its
/// 20 raw bytes.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | 0x00 or 0x40  |    Sub-Type   |    Global Administrator       :
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// :                Global Administrator (cont.)                   :
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// :                Global Administrator (cont.)                   :
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// :                Global Administrator (cont.)                   :
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// : Global Administrator (cont.)  |    Local Administrator        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6ExtendedCommunity(pub [u8; 20]);

impl Ipv6ExtendedCommunity {
    fn new(subtype: u8, addr: Ipv6Addr, local: u16) -> Self {
        let mut b = [0u8; 20];
        let (head, rest) = b.split_at_mut(2);
        let (global, tail) = rest.split_at_mut(16);
        head.copy_from_slice(&[ec_type::TWO_OCTET_AS, subtype]);
        global.copy_from_slice(&addr.octets());
        tail.copy_from_slice(&local.to_be_bytes());
        Ipv6ExtendedCommunity(b)
    }

    /// Transitive Route Target `addr:local`.
    pub fn route_target(addr: Ipv6Addr, local: u16) -> Self {
        Self::new(ec_subtype::ROUTE_TARGET, addr, local)
    }

    /// Transitive Route Origin `addr:local`.
    pub fn route_origin(addr: Ipv6Addr, local: u16) -> Self {
        Self::new(ec_subtype::ROUTE_ORIGIN, addr, local)
    }

    pub fn type_high(&self) -> u8 {
        let [t, ..] = self.0;
        t
    }

    pub fn subtype(&self) -> u8 {
        let [_, s, ..] = self.0;
        s
    }

    /// The IPv6 global administrator.
    pub fn global_admin(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        if let Some(src) = self.0.get(2..18) {
            a.copy_from_slice(src);
        }
        Ipv6Addr::from(a)
    }

    /// The 2-byte local administrator.
    pub fn local_admin(&self) -> u16 {
        let [.., a, b] = self.0;
        u16::from_be_bytes([a, b])
    }

    pub fn is_transitive(&self) -> bool {
        self.type_high() & ec_type::NON_TRANSITIVE_BIT == 0
    }

    pub fn kind(&self) -> Ipv6ExtendedCommunityKind {
        let (addr, local) = (self.global_admin(), self.local_admin());
        match (self.type_high(), self.subtype()) {
            (ec_type::TWO_OCTET_AS, ec_subtype::ROUTE_TARGET) => {
                Ipv6ExtendedCommunityKind::RouteTarget { addr, local }
            }
            (ec_type::TWO_OCTET_AS, ec_subtype::ROUTE_ORIGIN) => {
                Ipv6ExtendedCommunityKind::RouteOrigin { addr, local }
            }
            (kind, subtype) => Ipv6ExtendedCommunityKind::Unknown { kind, subtype },
        }
    }
}

impl fmt::Display for Ipv6ExtendedCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Ipv6ExtendedCommunityKind::RouteTarget { addr, local } => {
                write!(f, "RT:{addr}:{local}")
            }
            Ipv6ExtendedCommunityKind::RouteOrigin { addr, local } => {
                write!(f, "SoO:{addr}:{local}")
            }
            Ipv6ExtendedCommunityKind::Unknown { kind, subtype } => {
                write!(f, "UNK:{kind}, {subtype}")
            }
        }
    }
}

/// The IPV6_ADDRESS_SPECIFIC_EXTENDED_COMMUNITY attribute value (type 25).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ipv6ExtendedCommunities(pub Vec<Ipv6ExtendedCommunity>);

impl Ipv6ExtendedCommunities {
    /// Decode the attribute value starting at byte `offset` of the message.
    /// A length that is not a non-zero multiple of 20 is `BadLength` at
    /// `offset` (RFC 7606 §7.15: treat-as-withdraw).
    pub fn decode(value: &[u8], offset: usize) -> Result<Self, DecodeError> {
        decode_fixed::<20, _>(
            value,
            offset,
            "IPV6_EXTENDED_COMMUNITIES",
            "IPv6 extended community",
            Ipv6ExtendedCommunity,
        )
        .map(Ipv6ExtendedCommunities)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for c in &self.0 {
            out.extend_from_slice(&c.0);
        }
    }

    pub fn encoded_len(&self) -> usize {
        self.0.len() * 20
    }
}

impl fmt::Display for Ipv6ExtendedCommunities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_list(f, &self.0)
    }
}

// ---------------------------------------------------------------------------
// LARGE_COMMUNITY (RFC 8092), attribute type 32
// ---------------------------------------------------------------------------

/// One large community (RFC 8092 §3).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Global Administrator                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Local Data Part 1                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Local Data Part 2                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Displays and parses as `global:local1:local2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

impl LargeCommunity {
    pub const fn new(global: u32, local1: u32, local2: u32) -> Self {
        LargeCommunity { global, local1, local2 }
    }

    fn from_bytes(b: [u8; 12]) -> Self {
        let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3] = b;
        LargeCommunity {
            global: u32::from_be_bytes([a0, a1, a2, a3]),
            local1: u32::from_be_bytes([b0, b1, b2, b3]),
            local2: u32::from_be_bytes([c0, c1, c2, c3]),
        }
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

impl FromStr for LargeCommunity {
    type Err = ParseCommunityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| ParseCommunityError::new("large community", s, why);
        let mut parts = s.trim().split(':');
        let mut next = || -> Result<u32, ParseCommunityError> {
            parts
                .next()
                .ok_or_else(|| err("expected global:local1:local2"))?
                .parse::<u32>()
                .map_err(|_| err("each part must be 0..4294967295"))
        };
        let c = LargeCommunity::new(next()?, next()?, next()?);
        if parts.next().is_some() {
            return Err(err("expected exactly three parts"));
        }
        Ok(c)
    }
}

/// The LARGE_COMMUNITY attribute value (type 32).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LargeCommunities(pub Vec<LargeCommunity>);

impl LargeCommunities {
    /// Decode the attribute value starting at byte `offset` of the message.
    /// A length that is not a non-zero multiple of 12 is `BadLength` at
    /// `offset` (RFC 8092 §6: treat-as-withdraw).
    pub fn decode(value: &[u8], offset: usize) -> Result<Self, DecodeError> {
        decode_fixed::<12, _>(value, offset, "LARGE_COMMUNITY", "large community", LargeCommunity::from_bytes)
            .map(LargeCommunities)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for c in &self.0 {
            out.extend_from_slice(&c.global.to_be_bytes());
            out.extend_from_slice(&c.local1.to_be_bytes());
            out.extend_from_slice(&c.local2.to_be_bytes());
        }
    }

    pub fn encoded_len(&self) -> usize {
        self.0.len() * 12
    }

    pub fn contains(&self, c: LargeCommunity) -> bool {
        self.0.contains(&c)
    }
}

impl fmt::Display for LargeCommunities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_list(f, &self.0)
    }
}

// ---------------------------------------------------------------------------
// proptest strategies (reused by UPDATE-level tests)
// ---------------------------------------------------------------------------

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Up to this many elements per generated list.
    const MAX: usize = 12;

    pub(crate) fn community() -> impl Strategy<Value = Community> {
        prop_oneof![
            any::<u32>().prop_map(Community),
            prop::sample::select(Community::WELL_KNOWN.map(|(c, _)| c).to_vec()),
        ]
    }

    pub(crate) fn communities() -> impl Strategy<Value = Communities> {
        vec(community(), 1..MAX).prop_map(Communities)
    }

    pub(crate) fn administrator() -> impl Strategy<Value = Administrator> {
        prop_oneof![
            (any::<u16>(), any::<u32>()).prop_map(|(asn, local)| Administrator::As2 { asn, local }),
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(a, local)| Administrator::Ipv4 { addr: Ipv4Addr::from(a), local }),
            (any::<u32>(), any::<u16>()).prop_map(|(asn, local)| Administrator::As4 { asn, local }),
        ]
    }

    /// Typed communities of every known kind, plus arbitrary raw bytes.
    pub(crate) fn extended_community() -> impl Strategy<Value = ExtendedCommunity> {
        prop_oneof![
            any::<[u8; 8]>().prop_map(ExtendedCommunity),
            administrator().prop_map(ExtendedCommunity::route_target),
            administrator().prop_map(ExtendedCommunity::route_origin),
            any::<u16>().prop_map(ExtendedCommunity::encapsulation),
            Just(ExtendedCommunity::default_gateway()),
            (any::<bool>(), any::<u32>()).prop_map(|(s, q)| ExtendedCommunity::mac_mobility(s, q)),
            (any::<bool>(), 0u32..1 << 24).prop_map(|(s, l)| ExtendedCommunity::esi_label(s, l)),
            any::<[u8; 6]>().prop_map(ExtendedCommunity::es_import_rt),
            any::<[u8; 6]>().prop_map(ExtendedCommunity::router_mac),
            (any::<u16>(), any::<u16>()).prop_map(|(c, m)| ExtendedCommunity::layer2_attributes(c, m)),
            (0u8..32, any::<u16>(), any::<u16>())
                .prop_map(|(a, b, p)| ExtendedCommunity::df_election(a, b, p)),
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>())
                .prop_map(|(r, o, p, i)| ExtendedCommunity::nd(r, o, p, i)),
        ]
    }

    pub(crate) fn extended_communities() -> impl Strategy<Value = ExtendedCommunities> {
        vec(extended_community(), 1..MAX).prop_map(ExtendedCommunities)
    }

    pub(crate) fn ipv6_extended_community() -> impl Strategy<Value = Ipv6ExtendedCommunity> {
        prop_oneof![
            any::<[u8; 20]>().prop_map(Ipv6ExtendedCommunity),
            (any::<u128>(), any::<u16>())
                .prop_map(|(a, l)| Ipv6ExtendedCommunity::route_target(Ipv6Addr::from(a), l)),
            (any::<u128>(), any::<u16>())
                .prop_map(|(a, l)| Ipv6ExtendedCommunity::route_origin(Ipv6Addr::from(a), l)),
        ]
    }

    pub(crate) fn ipv6_extended_communities() -> impl Strategy<Value = Ipv6ExtendedCommunities> {
        vec(ipv6_extended_community(), 1..MAX).prop_map(Ipv6ExtendedCommunities)
    }

    pub(crate) fn large_community() -> impl Strategy<Value = LargeCommunity> {
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(g, a, b)| LargeCommunity::new(g, a, b))
    }

    pub(crate) fn large_communities() -> impl Strategy<Value = LargeCommunities> {
        vec(large_community(), 1..MAX).prop_map(LargeCommunities)
    }

    /// Raw attribute values: `1..max` elements of `size` arbitrary bytes.
    pub(crate) fn raw_list(size: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
        (1..max).prop_flat_map(move |n| vec(any::<u8>(), n * size))
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use proptest::prelude::*;

    fn ec(bytes: [u8; 8]) -> ExtendedCommunity {
        ExtendedCommunity(bytes)
    }

    // --- COMMUNITIES ---

    #[test]
    fn community_wire_and_text() {
        let v = [0xFD, 0xE8, 0x00, 0x64, 0xFF, 0xFF, 0xFF, 0x01];
        let c = Communities::decode(&v, 40).unwrap();
        assert_eq!(c.0, vec![Community::new(65000, 100), Community::NO_EXPORT]);
        assert_eq!(c.to_string(), "65000:100 no-export");
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(out, v);
    }

    #[test]
    fn well_known_community_values() {
        assert_eq!(Community::NO_EXPORT.0, 0xFFFF_FF01);
        assert_eq!(Community::NO_ADVERTISE.0, 0xFFFF_FF02);
        assert_eq!(Community::NO_EXPORT_SUBCONFED.0, 0xFFFF_FF03);
        assert_eq!(Community::NOPEER.0, 0xFFFF_FF04);
        assert_eq!(Community::BLACKHOLE, Community::new(65535, 666));
        assert_eq!(Community::GRACEFUL_SHUTDOWN, Community::new(65535, 0));
        assert_eq!(Community::ACCEPT_OWN, Community::new(65535, 1));
        assert_eq!(Community::LLGR_STALE, Community::new(65535, 6));
        assert_eq!(Community::NO_LLGR, Community::new(65535, 7));
        assert_eq!(Community::BLACKHOLE.to_string(), "blackhole");
        assert_eq!(Community::NO_EXPORT_SUBCONFED.to_string(), "local-AS");
        assert_eq!(Community::new(65535, 5).to_string(), "65535:5");
    }

    #[test]
    fn community_parse() {
        assert_eq!("65000:100".parse(), Ok(Community::new(65000, 100)));
        assert_eq!("no-export".parse(), Ok(Community::NO_EXPORT));
        assert_eq!("NO-EXPORT".parse(), Ok(Community::NO_EXPORT));
        assert_eq!("no-export-subconfed".parse(), Ok(Community::NO_EXPORT_SUBCONFED));
        assert_eq!("4294967041".parse(), Ok(Community::NO_EXPORT));
        assert!("65536:1".parse::<Community>().is_err());
        assert!("1:65536".parse::<Community>().is_err());
        assert!("no-such-thing".parse::<Community>().is_err());
        assert!("1:2:3".parse::<Community>().is_err());
    }

    #[test]
    fn communities_bad_lengths() {
        for len in [0usize, 1, 3, 5, 7] {
            let e = Communities::decode(&vec![0; len], 123).unwrap_err();
            assert_eq!(e.offset, 123, "len {len}");
            assert_eq!(e.kind, ErrorKind::BadLength { length: len });
            assert_eq!(e.field, "COMMUNITIES");
        }
    }

    // --- EXTENDED_COMMUNITIES: known byte vectors ---

    #[test]
    fn route_target_forms() {
        let rt = ExtendedCommunity::route_target_as2(65000, 100);
        assert_eq!(rt.0, [0x00, 0x02, 0xFD, 0xE8, 0x00, 0x00, 0x00, 0x64]);
        assert_eq!(rt.to_string(), "RT:65000:100");
        assert_eq!(
            rt.kind(),
            ExtendedCommunityKind::RouteTarget(Administrator::As2 { asn: 65000, local: 100 })
        );
        assert!(rt.is_transitive());

        let rt = ExtendedCommunity::route_target_ipv4(Ipv4Addr::new(192, 0, 2, 1), 7);
        assert_eq!(rt.0, [0x01, 0x02, 192, 0, 2, 1, 0x00, 0x07]);
        assert_eq!(rt.to_string(), "RT:192.0.2.1:7");

        let rt = ExtendedCommunity::route_target_as4(4_200_000_000, 7);
        assert_eq!(rt.0, [0x02, 0x02, 0xFA, 0x56, 0xEA, 0x00, 0x00, 0x07]);
        assert_eq!(rt.to_string(), "RT:4200000000:7");

        let soo = ec([0x00, 0x03, 0xFD, 0xE8, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(
            soo.kind(),
            ExtendedCommunityKind::RouteOrigin(Administrator::As2 { asn: 65000, local: 1 })
        );
        assert_eq!(soo.to_string(), "SoO:65000:1");
    }

    #[test]
    fn non_transitive_route_target_subtype_is_not_a_route_target() {
        // 0x40/0x02 is unassigned (RFC 7153); FRR matches RTs byte-exact,
        // so it must not import on it.
        let c = ec([0x40, 0x02, 0xFD, 0xE8, 0, 0, 0, 0x64]);
        assert!(!c.is_transitive());
        assert_eq!(c.kind(), ExtendedCommunityKind::Unknown { kind: 0x40, subtype: 0x02 });
        assert_eq!(c.to_string(), "UNK:64, 2");
    }

    #[test]
    fn encapsulation_and_default_gateway() {
        let et = ExtendedCommunity::vxlan_encapsulation();
        assert_eq!(et.0, [0x03, 0x0c, 0, 0, 0, 0, 0x00, 0x08]);
        assert_eq!(et.kind(), ExtendedCommunityKind::Encapsulation { tunnel_type: 8 });
        assert_eq!(et.to_string(), "ET:8");
        assert_eq!(ExtendedCommunity::encapsulation(0x0102).0[6..], [1, 2]);

        let gw = ExtendedCommunity::default_gateway();
        assert_eq!(gw.0, [0x03, 0x0d, 0, 0, 0, 0, 0, 0]);
        assert_eq!(gw.kind(), ExtendedCommunityKind::DefaultGateway);
        assert_eq!(gw.to_string(), "Default Gateway");
    }

    #[test]
    fn mac_mobility() {
        let mm = ExtendedCommunity::mac_mobility(true, 5);
        assert_eq!(mm.0, [0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05]);
        assert_eq!(mm.to_string(), "MM:5, sticky MAC");
        let mm = ec([0x06, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04]);
        assert_eq!(mm.kind(), ExtendedCommunityKind::MacMobility { sticky: false, sequence: 0x0102_0304 });
        assert_eq!(mm.to_string(), "MM:16909060");
    }

    #[test]
    fn esi_label() {
        let l = ExtendedCommunity::esi_label(true, 0x0A_BCDE);
        assert_eq!(l.0, [0x06, 0x01, 0x01, 0x00, 0x00, 0x0A, 0xBC, 0xDE]);
        assert_eq!(l.kind(), ExtendedCommunityKind::EsiLabel { single_active: true, label: 0x0A_BCDE });
        assert_eq!(l.to_string(), "ESI-label-Rt:SA");
        // Bits above 24 are dropped, not smeared into the reserved bytes.
        let l = ExtendedCommunity::esi_label(false, 0xFF00_0001);
        assert_eq!(l.0, [0x06, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(l.to_string(), "ESI-label-Rt:AA");
    }

    #[test]
    fn es_import_and_router_mac() {
        let mac = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
        let rm = ExtendedCommunity::router_mac(mac);
        assert_eq!(rm.0, [0x06, 0x03, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        assert_eq!(rm.kind(), ExtendedCommunityKind::RouterMac(mac));
        assert_eq!(rm.to_string(), "Rmac:aa:bb:cc:dd:ee:ff");
        let es = ExtendedCommunity::es_import_rt(mac);
        assert_eq!(es.0, [0x06, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        assert_eq!(es.kind(), ExtendedCommunityKind::EsImportRouteTarget(mac));
        assert_eq!(es.to_string(), "ES-Import-Rt:aa:bb:cc:dd:ee:ff");
    }

    #[test]
    fn layer2_attributes() {
        let l2 = ExtendedCommunity::layer2_attributes(0x0002, 1500);
        assert_eq!(l2.0, [0x06, 0x04, 0x00, 0x02, 0x05, 0xDC, 0x00, 0x00]);
        assert_eq!(l2.kind(), ExtendedCommunityKind::Layer2Attributes { control_flags: 2, mtu: 1500 });
        assert_eq!(l2.to_string(), "L2: P flag:Y, B Flag N, C word N, MTU 1500");
    }

    #[test]
    fn df_election() {
        // HRW (alg 1) with the AC-DF capability bit, preference 100.
        let df = ec([0x06, 0x06, 0xE1, 0x40, 0x00, 0x00, 0x00, 0x64]);
        assert_eq!(
            df.kind(),
            ExtendedCommunityKind::DfElection { algorithm: 1, bitmap: 0x4000, preference: 100 },
            "the 3 reserved high bits of the algorithm octet are ignored"
        );
        assert_eq!(df.to_string(), "DF: (alg: 1, bmap: 0x4000 pref: 100)");
        let df = ExtendedCommunity::df_election(2, 0, 7);
        assert_eq!(df.0, [0x06, 0x06, 0x02, 0, 0, 0, 0, 7]);
        assert_eq!(df.to_string(), "DF: (alg: 2, pref: 7)");
    }

    #[test]
    fn nd_flags() {
        let nd = ec([0x06, 0x08, 0x01, 0, 0, 0, 0, 0]);
        assert_eq!(
            nd.kind(),
            ExtendedCommunityKind::Nd { router: true, override_flag: false, proxy: false, immutable: false }
        );
        assert_eq!(nd.to_string(), "ND:Router Flag");
        let nd = ExtendedCommunity::nd(true, true, false, true);
        assert_eq!(nd.0, [0x06, 0x08, 0x0B, 0, 0, 0, 0, 0]);
        assert_eq!(nd.to_string(), "ND:Router Flag, Override Flag, Immutable");
        // FRR's proxy flag.
        let nd = ec([0x06, 0x08, 0x04, 0, 0, 0, 0, 0]);
        assert_eq!(ExtendedCommunity::nd(false, false, true, false), nd);
        assert_eq!(nd.to_string(), "ND:Proxy");
        let nd = ec([0x06, 0x08, 0x02, 0, 0, 0, 0, 0]);
        assert_eq!(
            nd.kind(),
            ExtendedCommunityKind::Nd { router: false, override_flag: true, proxy: false, immutable: false }
        );
    }

    #[test]
    fn unknown_extended_community() {
        let c = ec([0x03, 0x0b, 0, 0, 0, 0, 0, 5]); // color: not modelled
        assert_eq!(c.kind(), ExtendedCommunityKind::Unknown { kind: 3, subtype: 11 });
        assert_eq!(c.to_string(), "UNK:3, 11");
        assert_eq!(c.kind().to_community(), None);
    }

    #[test]
    fn extended_community_parse() {
        assert_eq!("RT:65000:100".parse(), Ok(ExtendedCommunity::route_target_as2(65000, 100)));
        assert_eq!("65000:4000000000".parse(), Ok(ExtendedCommunity::route_target_as2(65000, 4_000_000_000)));
        assert_eq!(
            "rt:192.0.2.1:5".parse(),
            Ok(ExtendedCommunity::route_target_ipv4(Ipv4Addr::new(192, 0, 2, 1), 5))
        );
        assert_eq!("4200000000:5".parse(), Ok(ExtendedCommunity::route_target_as4(4_200_000_000, 5)));
        assert_eq!(
            "SoO:65000:1".parse::<ExtendedCommunity>().map(|c| c.kind()),
            Ok(ExtendedCommunityKind::RouteOrigin(Administrator::As2 { asn: 65000, local: 1 }))
        );
        assert!("4200000000:70000".parse::<ExtendedCommunity>().is_err());
        assert!("RT:1.2.3:5".parse::<ExtendedCommunity>().is_err());
        assert!("RT:65000".parse::<ExtendedCommunity>().is_err());
    }

    #[test]
    fn extended_communities_list() {
        let v = [
            0x00, 0x02, 0xFD, 0xE8, 0x00, 0x00, 0x00, 0x64, // RT:65000:100
            0x03, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, // ET:8
        ];
        let l = ExtendedCommunities::decode(&v, 0).unwrap();
        assert_eq!(l.to_string(), "RT:65000:100 ET:8");
        assert_eq!(
            l.route_targets().collect::<Vec<_>>(),
            vec![Administrator::As2 { asn: 65000, local: 100 }]
        );
        assert_eq!(l.encoded_len(), 16);
    }

    #[test]
    fn extended_communities_bad_lengths() {
        for len in [0usize, 7, 9, 15, 20] {
            let e = ExtendedCommunities::decode(&vec![0; len], 57).unwrap_err();
            assert_eq!(e.offset, 57);
            assert_eq!(e.kind, ErrorKind::BadLength { length: len });
            assert_eq!(e.field, "EXTENDED_COMMUNITIES");
        }
    }

    // --- IPv6 extended communities ---

    #[test]
    fn ipv6_route_target() {
        let addr: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let rt = Ipv6ExtendedCommunity::route_target(addr, 100);
        let mut want = vec![0x00, 0x02];
        want.extend_from_slice(&addr.octets());
        want.extend_from_slice(&[0x00, 0x64]);
        assert_eq!(rt.0.to_vec(), want);
        assert_eq!(rt.kind(), Ipv6ExtendedCommunityKind::RouteTarget { addr, local: 100 });
        assert_eq!(rt.to_string(), "RT:2001:db8::1:100");
        assert!(rt.is_transitive());
        let soo = Ipv6ExtendedCommunity::route_origin(addr, 1);
        assert_eq!(soo.subtype(), 0x03);
        assert_eq!(soo.to_string(), "SoO:2001:db8::1:1");
        let mut nt = rt.0;
        nt[0] = 0x40;
        let nt = Ipv6ExtendedCommunity(nt);
        assert!(!nt.is_transitive());
        assert_eq!(nt.kind(), Ipv6ExtendedCommunityKind::Unknown { kind: 0x40, subtype: 2 });
    }

    #[test]
    fn ipv6_extended_communities_bad_lengths() {
        for len in [0usize, 8, 19, 21, 39] {
            let e = Ipv6ExtendedCommunities::decode(&vec![0; len], 9).unwrap_err();
            assert_eq!(e.offset, 9);
            assert_eq!(e.kind, ErrorKind::BadLength { length: len });
        }
    }

    // --- LARGE_COMMUNITY ---

    #[test]
    fn large_community_wire_and_text() {
        let v = [0x00, 0x00, 0xFD, 0xE8, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF];
        let l = LargeCommunities::decode(&v, 3).unwrap();
        assert_eq!(l.0, vec![LargeCommunity::new(65000, 1, u32::MAX)]);
        assert_eq!(l.to_string(), "65000:1:4294967295");
        assert_eq!("65000:1:4294967295".parse(), Ok(l.0[0]));
        assert!("1:2".parse::<LargeCommunity>().is_err());
        assert!("1:2:3:4".parse::<LargeCommunity>().is_err());
        assert!("1:2:4294967296".parse::<LargeCommunity>().is_err());
    }

    #[test]
    fn large_communities_bad_lengths() {
        for len in [0usize, 4, 8, 13, 23] {
            let e = LargeCommunities::decode(&vec![0; len], 77).unwrap_err();
            assert_eq!(e.offset, 77);
            assert_eq!(e.kind, ErrorKind::BadLength { length: len });
            assert_eq!(e.field, "LARGE_COMMUNITY");
        }
    }

    // --- round trips ---

    fn enc<T>(x: &T, f: impl Fn(&T, &mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(x, &mut out);
        out
    }

    proptest! {
        #[test]
        fn communities_bytes_round_trip(v in raw_list(4, 20)) {
            let c = Communities::decode(&v, 0).unwrap();
            prop_assert_eq!(enc(&c, Communities::encode), v);
        }

        #[test]
        fn communities_model_round_trip(c in communities()) {
            let b = enc(&c, Communities::encode);
            prop_assert_eq!(b.len(), c.encoded_len());
            prop_assert_eq!(Communities::decode(&b, 0).unwrap(), c);
        }

        #[test]
        fn community_text_round_trip(c in community()) {
            prop_assert_eq!(c.to_string().parse::<Community>(), Ok(c));
        }

        #[test]
        fn extended_bytes_round_trip(v in raw_list(8, 20)) {
            let c = ExtendedCommunities::decode(&v, 0).unwrap();
            prop_assert_eq!(enc(&c, ExtendedCommunities::encode), v);
        }

        #[test]
        fn extended_model_round_trip(c in extended_communities()) {
            let b = enc(&c, ExtendedCommunities::encode);
            prop_assert_eq!(b.len(), c.encoded_len());
            prop_assert_eq!(ExtendedCommunities::decode(&b, 0).unwrap(), c);
        }

        /// Every typed kind rebuilds exactly the community it came from
        /// when the reserved bits are zero, as our constructors make them.
        #[test]
        fn extended_kind_round_trip(c in extended_community()) {
            if let Some(rebuilt) = c.kind().to_community() {
                prop_assert_eq!(rebuilt.kind(), c.kind());
            }
        }

        #[test]
        fn route_target_text_round_trip(a in strategies::administrator()) {
            let rt = ExtendedCommunity::route_target(a);
            // A 4-octet AS below 65536 prints like a 2-octet one; the text
            // then parses to the 2-octet form, as FRR does.
            if !matches!(a, Administrator::As4 { asn, .. } if asn <= 0xFFFF) {
                prop_assert_eq!(rt.to_string().parse::<ExtendedCommunity>(), Ok(rt));
            }
        }

        #[test]
        fn ipv6_extended_bytes_round_trip(v in raw_list(20, 10)) {
            let c = Ipv6ExtendedCommunities::decode(&v, 0).unwrap();
            prop_assert_eq!(enc(&c, Ipv6ExtendedCommunities::encode), v);
        }

        #[test]
        fn ipv6_extended_model_round_trip(c in ipv6_extended_communities()) {
            let b = enc(&c, Ipv6ExtendedCommunities::encode);
            prop_assert_eq!(b.len(), c.encoded_len());
            prop_assert_eq!(Ipv6ExtendedCommunities::decode(&b, 0).unwrap(), c);
        }

        #[test]
        fn large_bytes_round_trip(v in raw_list(12, 20)) {
            let c = LargeCommunities::decode(&v, 0).unwrap();
            prop_assert_eq!(enc(&c, LargeCommunities::encode), v);
        }

        #[test]
        fn large_model_round_trip(c in large_communities()) {
            let b = enc(&c, LargeCommunities::encode);
            prop_assert_eq!(b.len(), c.encoded_len());
            prop_assert_eq!(LargeCommunities::decode(&b, 0).unwrap(), c);
        }

        #[test]
        fn large_text_round_trip(c in large_community()) {
            prop_assert_eq!(c.to_string().parse::<LargeCommunity>(), Ok(c));
        }

        /// Any input: decoding never panics, and a success means the
        /// length was a non-zero multiple of the element size.
        #[test]
        fn decoders_accept_exactly_the_right_lengths(v in proptest::collection::vec(any::<u8>(), 0..100)) {
            for (size, ok) in [
                (4, Communities::decode(&v, 0).is_ok()),
                (8, ExtendedCommunities::decode(&v, 0).is_ok()),
                (20, Ipv6ExtendedCommunities::decode(&v, 0).is_ok()),
                (12, LargeCommunities::decode(&v, 0).is_ok()),
            ] {
                prop_assert_eq!(ok, !v.is_empty() && v.len() % size == 0);
            }
        }
    }
}
