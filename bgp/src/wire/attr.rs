//! Path attributes (RFC 4271 §4.3 and the RFCs each type names).
//!
//! ```text
//! 0                   1
//! 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +---------------+---------------+------------------------------+
//! |  Attr. Flags  |Attr. Type Code| Length (1 or 2 octets) | Value
//! +---------------+---------------+------------------------------+
//! ```
//!
//! A [`PathAttribute`] keeps the flags it arrived with, so a decoded UPDATE
//! re-encodes byte-exact. Attributes this crate does not model are kept as
//! [`AttrValue::Unknown`]; [`PathAttribute::pass_on`] gives what may be
//! propagated (the Partial bit set on an unknown optional transitive one,
//! cleared on well-known ones; unknown non-transitive ones dropped).

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::Bytes;

use crate::wire::aspath::{AS_TRANS, AsPath};
use crate::wire::community::{Communities, ExtendedCommunities, Ipv6ExtendedCommunities, LargeCommunities};
use crate::wire::context::SessionContext;
use crate::wire::error::{DecodeError, EncodeError, ErrorKind};
use crate::wire::family::{Afi, Family, Safi};
use crate::wire::nlri::{Nlri, decode_prefixes};
use crate::wire::notification::update_subcode;
use crate::wire::reader::Reader;
use crate::wire::rfc7606::{Action, malformed_attribute_action};
use crate::wire::tunnel::{PmsiTunnel, TunnelEncapsulation};

/// Attribute flag bits.
pub mod flag {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod code {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MULTI_EXIT_DISC: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const PMSI_TUNNEL: u8 = 22;
    pub const TUNNEL_ENCAPSULATION: u8 = 23;
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    pub const LARGE_COMMUNITIES: u8 = 32;
    pub const OTC: u8 = 35;
}

/// ORIGIN (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

impl Origin {
    pub fn code(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}

/// AGGREGATOR / AS4_AGGREGATOR (RFC 4271 §5.1.7, RFC 6793).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    pub asn: u32,
    pub address: Ipv4Addr,
}

/// The next hop of MP_REACH_NLRI (RFC 4760 §3, RFC 2545, RFC 8950).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NextHop {
    V4(Ipv4Addr),
    /// 16 bytes, or 32 with a link-local address after the global one.
    V6 {
        global: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
    },
    /// Any other family's next hop, as bytes.
    Raw(Vec<u8>),
}

impl NextHop {
    fn decode(
        family: Family,
        bytes: &[u8],
        offset: usize,
        ctx: &SessionContext,
    ) -> Result<NextHop, DecodeError> {
        let mut r = Reader::at(bytes, offset);
        let v6_allowed = family == Family::IPV6_UNICAST
            || family.afi == Afi::L2VPN
            || ctx.extended_next_hop.contains(&(family, Afi::IPV6));
        let v4_allowed = family.afi == Afi::IPV4 || family.afi == Afi::L2VPN;
        let modelled = family.is_ip_unicast() || family.afi == Afi::L2VPN || family.safi == Safi::MULTICAST;
        let nh = match bytes.len() {
            _ if !modelled => NextHop::Raw(bytes.to_vec()),
            4 if v4_allowed => NextHop::V4(r.ipv4("next hop")?),
            16 if v6_allowed => NextHop::V6 { global: r.ipv6("next hop")?, link_local: None },
            32 if v6_allowed => {
                NextHop::V6 { global: r.ipv6("next hop")?, link_local: Some(r.ipv6("link-local next hop")?) }
            }
            n => {
                return Err(DecodeError::new(
                    offset.saturating_sub(1),
                    "next hop length",
                    ErrorKind::BadLength { length: n },
                ));
            }
        };
        Ok(nh)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            NextHop::V4(a) => {
                out.push(4);
                out.extend_from_slice(&a.octets());
            }
            NextHop::V6 { global, link_local } => {
                out.push(if link_local.is_some() { 32 } else { 16 });
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.extend_from_slice(&ll.octets());
                }
            }
            NextHop::Raw(b) => {
                out.push(b.len() as u8);
                out.extend_from_slice(b);
            }
        }
    }

    fn wire_len(&self) -> usize {
        1 + match self {
            NextHop::V4(_) => 4,
            NextHop::V6 { link_local: Some(_), .. } => 32,
            NextHop::V6 { .. } => 16,
            NextHop::Raw(b) => b.len(),
        }
    }
}

/// One NLRI of a family `bgp` carries as bytes (e.g. EVPN), framed by the
/// family's [`crate::wire::context::FamilyCodec`]. The bytes of every NLRI of one
/// attribute share one buffer, so decoding allocates per attribute, not
/// per route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpaqueNlri {
    pub path_id: Option<u32>,
    pub bytes: Bytes,
}

/// The NLRI of MP_REACH_NLRI or MP_UNREACH_NLRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MpNlri {
    /// IPv4/IPv6 unicast prefixes.
    Prefixes(Vec<Nlri>),
    /// NLRI of a family with a registered codec, one by one.
    Typed(Vec<OpaqueNlri>),
    /// NLRI of a family nobody here understands, as one block.
    Raw(Vec<u8>),
}

impl MpNlri {
    pub fn is_empty(&self) -> bool {
        match self {
            MpNlri::Prefixes(v) => v.is_empty(),
            MpNlri::Typed(v) => v.is_empty(),
            MpNlri::Raw(v) => v.is_empty(),
        }
    }

    /// Number of NLRI (a raw block counts as one).
    pub fn count(&self) -> usize {
        match self {
            MpNlri::Prefixes(v) => v.len(),
            MpNlri::Typed(v) => v.len(),
            MpNlri::Raw(v) => usize::from(!v.is_empty()),
        }
    }

    fn decode(
        family: Family,
        field: &[u8],
        offset: usize,
        ctx: &SessionContext,
    ) -> Result<MpNlri, DecodeError> {
        let add_path = ctx.add_path(family);
        if family.is_ip_unicast() {
            // Each prefix takes at least one byte: bounded allocation.
            let mut v = Vec::with_capacity(field.len() / if add_path { 5 } else { 2 });
            decode_prefixes(family.afi, field, offset, add_path, &mut v)?;
            return Ok(MpNlri::Prefixes(v));
        }
        let Some(codec) = ctx.family_codec(family) else { return Ok(MpNlri::Raw(field.to_vec())) };
        // First pass: framing only, to size the list exactly.
        let mut r = Reader::at(field, offset);
        let mut count = 0;
        while !r.is_empty() {
            if add_path {
                r.u32("path identifier")?;
            }
            let at = r.offset();
            let len = (codec.split)(family, r.peek_rest(), at)?;
            if len == 0 {
                // A codec that consumes nothing would loop forever.
                return Err(DecodeError::new(at, "NLRI length", ErrorKind::BadLength { length: 0 }));
            }
            r.bytes(len, "NLRI")?;
            count += 1;
        }
        let shared = Bytes::copy_from_slice(field);
        let mut r = Reader::at(field, offset);
        let mut v = Vec::with_capacity(count);
        while !r.is_empty() {
            let path_id = if add_path { Some(r.u32("path identifier")?) } else { None };
            let at = r.offset();
            let len = (codec.split)(family, r.peek_rest(), at)?;
            let bytes = r.bytes(len, "NLRI")?;
            (codec.check)(family, bytes, at)?;
            let start = at - offset;
            v.push(OpaqueNlri { path_id, bytes: shared.slice(start..start + len) });
        }
        Ok(MpNlri::Typed(v))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            MpNlri::Prefixes(v) => v.iter().for_each(|n| n.encode_any(out)),
            MpNlri::Typed(v) => {
                for n in v {
                    if let Some(id) = n.path_id {
                        out.extend_from_slice(&id.to_be_bytes());
                    }
                    out.extend_from_slice(&n.bytes);
                }
            }
            MpNlri::Raw(b) => out.extend_from_slice(b),
        }
    }

    /// Wire size of each NLRI, for splitting.
    pub(crate) fn item_lens(&self) -> Vec<usize> {
        match self {
            MpNlri::Prefixes(v) => v.iter().map(Nlri::wire_len_any).collect(),
            MpNlri::Typed(v) => {
                v.iter().map(|n| n.bytes.len() + if n.path_id.is_some() { 4 } else { 0 }).collect()
            }
            MpNlri::Raw(b) => vec![b.len()],
        }
    }

    /// The NLRI with index in `range`.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> MpNlri {
        match self {
            MpNlri::Prefixes(v) => MpNlri::Prefixes(v.get(range).unwrap_or_default().to_vec()),
            MpNlri::Typed(v) => MpNlri::Typed(v.get(range).unwrap_or_default().to_vec()),
            MpNlri::Raw(b) => MpNlri::Raw(if range.start == 0 { b.clone() } else { Vec::new() }),
        }
    }

    /// Append another list of the same kind (used for treat-as-withdraw).
    pub(crate) fn extend(&mut self, other: MpNlri) -> Result<(), MpNlri> {
        match (self, other) {
            (MpNlri::Prefixes(a), MpNlri::Prefixes(b)) => a.extend(b),
            (MpNlri::Typed(a), MpNlri::Typed(b)) => a.extend(b),
            (_, other) => return Err(other),
        }
        Ok(())
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Length of Next Hop Network Address (1 octet)            |
/// +---------------------------------------------------------+
/// | Network Address of Next Hop (variable)                  |
/// +---------------------------------------------------------+
/// | Reserved (1 octet)                                      |
/// +---------------------------------------------------------+
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    pub family: Family,
    pub next_hop: NextHop,
    pub nlri: MpNlri,
}

/// MP_UNREACH_NLRI (RFC 4760 §4): AFI (2), SAFI (1), withdrawn routes.
/// With no NLRI it is the End-of-RIB marker of its family (RFC 4724).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    pub family: Family,
    pub nlri: MpNlri,
}

fn read_family(r: &mut Reader<'_>) -> Result<Family, DecodeError> {
    let afi = Afi(r.u16("AFI")?);
    let safi = Safi(r.u8("SAFI")?);
    Ok(Family::new(afi, safi))
}

fn write_family(out: &mut Vec<u8>, f: Family) {
    out.extend_from_slice(&f.afi.0.to_be_bytes());
    out.push(f.safi.0);
}

impl MpReach {
    fn encode(&self, out: &mut Vec<u8>) {
        write_family(out, self.family);
        self.next_hop.encode(out);
        out.push(0);
        self.nlri.encode(out);
    }
    pub(crate) fn header_len(&self) -> usize {
        3 + self.next_hop.wire_len() + 1
    }
}

impl MpUnreach {
    fn encode(&self, out: &mut Vec<u8>) {
        write_family(out, self.family);
        self.nlri.encode(out);
    }
}

/// The value of a path attribute, typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttrValue {
    Origin(Origin),
    AsPath(AsPath),
    NextHop(Ipv4Addr),
    MultiExitDisc(u32),
    LocalPref(u32),
    AtomicAggregate,
    Aggregator(Aggregator),
    Communities(Communities),
    OriginatorId(Ipv4Addr),
    ClusterList(Vec<Ipv4Addr>),
    /// Boxed: the largest variant by far, and at most one per UPDATE.
    MpReach(Box<MpReach>),
    MpUnreach(Box<MpUnreach>),
    ExtendedCommunities(ExtendedCommunities),
    As4Path(AsPath),
    As4Aggregator(Aggregator),
    PmsiTunnel(PmsiTunnel),
    TunnelEncapsulation(TunnelEncapsulation),
    Ipv6ExtendedCommunities(Ipv6ExtendedCommunities),
    LargeCommunities(LargeCommunities),
    /// Only To Customer (RFC 9234).
    Otc(u32),
    /// Any other attribute, kept as bytes.
    Unknown {
        code: u8,
        value: Vec<u8>,
    },
}

impl AttrValue {
    pub fn code(&self) -> u8 {
        match self {
            AttrValue::Origin(_) => code::ORIGIN,
            AttrValue::AsPath(_) => code::AS_PATH,
            AttrValue::NextHop(_) => code::NEXT_HOP,
            AttrValue::MultiExitDisc(_) => code::MULTI_EXIT_DISC,
            AttrValue::LocalPref(_) => code::LOCAL_PREF,
            AttrValue::AtomicAggregate => code::ATOMIC_AGGREGATE,
            AttrValue::Aggregator(_) => code::AGGREGATOR,
            AttrValue::Communities(_) => code::COMMUNITIES,
            AttrValue::OriginatorId(_) => code::ORIGINATOR_ID,
            AttrValue::ClusterList(_) => code::CLUSTER_LIST,
            AttrValue::MpReach(_) => code::MP_REACH_NLRI,
            AttrValue::MpUnreach(_) => code::MP_UNREACH_NLRI,
            AttrValue::ExtendedCommunities(_) => code::EXTENDED_COMMUNITIES,
            AttrValue::As4Path(_) => code::AS4_PATH,
            AttrValue::As4Aggregator(_) => code::AS4_AGGREGATOR,
            AttrValue::PmsiTunnel(_) => code::PMSI_TUNNEL,
            AttrValue::TunnelEncapsulation(_) => code::TUNNEL_ENCAPSULATION,
            AttrValue::Ipv6ExtendedCommunities(_) => code::IPV6_EXTENDED_COMMUNITIES,
            AttrValue::LargeCommunities(_) => code::LARGE_COMMUNITIES,
            AttrValue::Otc(_) => code::OTC,
            AttrValue::Unknown { code, .. } => *code,
        }
    }

    /// The flags RFC 4271 and the attribute's RFC give it.
    pub fn default_flags(&self) -> u8 {
        expected_flags(self.code()).unwrap_or(flag::OPTIONAL | flag::TRANSITIVE)
    }

    fn encode(&self, out: &mut Vec<u8>, ctx: &SessionContext) -> Result<(), EncodeError> {
        match self {
            AttrValue::Origin(o) => out.push(o.code()),
            AttrValue::AsPath(p) => p.encode(out, ctx.four_octet_as),
            AttrValue::NextHop(a) | AttrValue::OriginatorId(a) => out.extend_from_slice(&a.octets()),
            AttrValue::MultiExitDisc(v) | AttrValue::LocalPref(v) | AttrValue::Otc(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            AttrValue::AtomicAggregate => {}
            AttrValue::Aggregator(a) => {
                if ctx.four_octet_as {
                    out.extend_from_slice(&a.asn.to_be_bytes());
                } else {
                    out.extend_from_slice(&u16::try_from(a.asn).unwrap_or(AS_TRANS as u16).to_be_bytes());
                }
                out.extend_from_slice(&a.address.octets());
            }
            AttrValue::As4Aggregator(a) => {
                out.extend_from_slice(&a.asn.to_be_bytes());
                out.extend_from_slice(&a.address.octets());
            }
            AttrValue::Communities(c) => c.encode(out),
            AttrValue::ClusterList(l) => l.iter().for_each(|a| out.extend_from_slice(&a.octets())),
            AttrValue::MpReach(m) => m.encode(out),
            AttrValue::MpUnreach(m) => m.encode(out),
            AttrValue::ExtendedCommunities(c) => c.encode(out),
            AttrValue::As4Path(p) => p.encode(out, true),
            AttrValue::PmsiTunnel(p) => p.encode(out),
            AttrValue::TunnelEncapsulation(t) => t.encode(out)?,
            AttrValue::Ipv6ExtendedCommunities(c) => c.encode(out),
            AttrValue::LargeCommunities(c) => c.encode(out),
            AttrValue::Unknown { value, .. } => out.extend_from_slice(value),
        }
        Ok(())
    }
}

/// The Optional and Transitive bits a recognised attribute must carry.
pub fn expected_flags(type_code: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = flag::TRANSITIVE;
    const OPT_NON_TRANS: u8 = flag::OPTIONAL;
    const OPT_TRANS: u8 = flag::OPTIONAL | flag::TRANSITIVE;
    Some(match type_code {
        code::ORIGIN | code::AS_PATH | code::NEXT_HOP | code::LOCAL_PREF | code::ATOMIC_AGGREGATE => {
            WELL_KNOWN
        }
        code::MULTI_EXIT_DISC
        | code::ORIGINATOR_ID
        | code::CLUSTER_LIST
        | code::MP_REACH_NLRI
        | code::MP_UNREACH_NLRI => OPT_NON_TRANS,
        code::AGGREGATOR
        | code::COMMUNITIES
        | code::EXTENDED_COMMUNITIES
        | code::AS4_PATH
        | code::AS4_AGGREGATOR
        | code::PMSI_TUNNEL
        | code::TUNNEL_ENCAPSULATION
        | code::IPV6_EXTENDED_COMMUNITIES
        | code::LARGE_COMMUNITIES
        | code::OTC => OPT_TRANS,
        _ => return None,
    })
}

/// A path attribute: its flags as received (or chosen) and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttribute {
    pub flags: u8,
    pub value: AttrValue,
}

impl PathAttribute {
    /// An attribute with the flags its RFC gives it.
    pub fn new(value: AttrValue) -> Self {
        PathAttribute { flags: value.default_flags(), value }
    }

    pub fn code(&self) -> u8 {
        self.value.code()
    }

    pub fn is_optional(&self) -> bool {
        self.flags & flag::OPTIONAL != 0
    }

    pub fn is_transitive(&self) -> bool {
        self.flags & flag::TRANSITIVE != 0
    }

    /// The attribute as it may be sent on to another peer, or `None` when
    /// it must not be (RFC 4271 §4.3, §5, §9.1.4):
    /// - an unknown optional non-transitive attribute is not passed on;
    /// - an unknown optional transitive one gets the Partial bit;
    /// - a well-known or optional non-transitive one has Partial = 0,
    ///   whatever the peer sent; a recognised optional transitive one keeps
    ///   the Partial bit it came with (an earlier speaker did not know it);
    /// - the four unused low bits are zero.
    pub fn pass_on(mut self) -> Option<PathAttribute> {
        let optional_transitive = self.is_optional() && self.is_transitive();
        if matches!(self.value, AttrValue::Unknown { .. }) {
            if !optional_transitive {
                return None;
            }
            self.flags |= flag::PARTIAL;
        } else if !optional_transitive {
            self.flags &= !flag::PARTIAL;
        }
        self.flags &= flag::OPTIONAL | flag::TRANSITIVE | flag::PARTIAL | flag::EXTENDED_LENGTH;
        Some(self)
    }

    /// [`PathAttribute::pass_on`] of a copy.
    pub fn passed_on(&self) -> Option<PathAttribute> {
        self.clone().pass_on()
    }

    /// Append flags, type, length and value. The Extended Length bit is
    /// kept as received and set when the value needs it.
    pub fn encode(&self, out: &mut Vec<u8>, ctx: &SessionContext) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&[self.flags, self.code(), 0, 0]);
        self.value.encode(out, ctx)?;
        let len = out.len() - start - 4;
        let len16 = u16::try_from(len).map_err(|_| EncodeError::TooLong {
            field: "path attribute",
            length: len,
            max: u16::MAX.into(),
        })?;
        let extended = self.flags & flag::EXTENDED_LENGTH != 0 || len > 255;
        if let Some([f, _, l0, l1]) = out.get_mut(start..start + 4) {
            if extended {
                *f |= flag::EXTENDED_LENGTH;
                [*l0, *l1] = len16.to_be_bytes();
            } else {
                *l0 = len as u8;
            }
        }
        if !extended {
            out.remove(start + 3);
        }
        Ok(())
    }
}

/// Why an attribute could not be used: the RFC 7606 action and the UPDATE
/// error subcode a session reset would carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttrFault {
    pub action: Action,
    pub subcode: u8,
    pub family: Option<Family>,
    pub error: DecodeError,
}

fn fault(type_code: u8, subcode: u8, error: DecodeError) -> AttrFault {
    AttrFault { action: malformed_attribute_action(type_code), subcode, family: None, error }
}

/// RFC 7607: AS 0 is never a valid AS in an AS_PATH or AS4_PATH; the path
/// is malformed (AS_PATH: treat-as-withdraw; AS4_PATH: attribute discard,
/// RFC 6793 §6). The error names the ASN's byte offset (`width`: 2 or 4
/// octets per ASN).
fn no_as_zero(
    type_code: u8,
    path: &AsPath,
    offset: usize,
    width: usize,
    what: &'static str,
) -> Result<(), AttrFault> {
    let mut at = offset;
    for s in &path.segments {
        at += 2; // segment type and length
        for &asn in &s.asns {
            if asn == 0 {
                return Err(fault(
                    type_code,
                    update_subcode::MALFORMED_AS_PATH,
                    DecodeError::new(at, what, ErrorKind::BadValue { value: 0 }),
                ));
            }
            at += width;
        }
    }
    Ok(())
}

/// RFC 7607 §2: an AGGREGATOR or AS4_AGGREGATOR naming AS 0 is malformed:
/// attribute discard (RFC 7606 §7.7, RFC 6793 §6), so it is never passed on.
fn aggregator_as(type_code: u8, a: &Aggregator, offset: usize, what: &'static str) -> Result<(), AttrFault> {
    if a.asn == 0 {
        return Err(fault(
            type_code,
            update_subcode::OPTIONAL_ATTRIBUTE_ERROR,
            DecodeError::new(offset, what, ErrorKind::BadValue { value: 0 }),
        ));
    }
    Ok(())
}

fn exact_len(type_code: u8, value: &[u8], offset: usize, len: usize) -> Result<(), AttrFault> {
    if value.len() == len {
        Ok(())
    } else {
        Err(fault(
            type_code,
            update_subcode::ATTRIBUTE_LENGTH_ERROR,
            DecodeError::new(offset, "attribute length", ErrorKind::BadLength { length: value.len() }),
        ))
    }
}

fn non_empty(type_code: u8, value: &[u8], offset: usize) -> Result<(), AttrFault> {
    if value.is_empty() {
        Err(fault(
            type_code,
            update_subcode::ATTRIBUTE_LENGTH_ERROR,
            DecodeError::new(offset, "attribute length", ErrorKind::BadLength { length: 0 }),
        ))
    } else {
        Ok(())
    }
}

/// Decode one attribute value. `offset` is that of the value in the
/// message. Errors carry the RFC 7606 action.
pub(crate) fn decode_value(
    flags: u8,
    type_code: u8,
    value: &[u8],
    offset: usize,
    ctx: &SessionContext,
) -> Result<AttrValue, AttrFault> {
    if let Some(expected) = expected_flags(type_code) {
        if flags & (flag::OPTIONAL | flag::TRANSITIVE) != expected {
            let action = match type_code {
                code::MP_REACH_NLRI | code::MP_UNREACH_NLRI => Action::SessionReset,
                c => malformed_attribute_action(c),
            };
            return Err(AttrFault {
                action,
                subcode: update_subcode::ATTRIBUTE_FLAGS_ERROR,
                family: None,
                error: DecodeError::new(
                    offset.saturating_sub(if flags & flag::EXTENDED_LENGTH != 0 { 4 } else { 3 }),
                    "attribute flags",
                    ErrorKind::BadValue { value: flags.into() },
                ),
            });
        }
    } else if flags & flag::OPTIONAL == 0 {
        return Err(AttrFault {
            action: Action::SessionReset,
            subcode: update_subcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
            family: None,
            error: DecodeError::new(
                offset.saturating_sub(2),
                "attribute type",
                ErrorKind::BadValue { value: type_code.into() },
            ),
        });
    }
    let len_err = update_subcode::ATTRIBUTE_LENGTH_ERROR;
    let as_fault = |subcode: u8| move |e: DecodeError| fault(type_code, subcode, e);
    let mut r = Reader::at(value, offset);
    Ok(match type_code {
        code::ORIGIN => {
            exact_len(type_code, value, offset, 1)?;
            match r.u8("ORIGIN").map_err(as_fault(len_err))? {
                0 => AttrValue::Origin(Origin::Igp),
                1 => AttrValue::Origin(Origin::Egp),
                2 => AttrValue::Origin(Origin::Incomplete),
                v => {
                    return Err(fault(
                        type_code,
                        update_subcode::INVALID_ORIGIN_ATTRIBUTE,
                        DecodeError::new(offset, "ORIGIN", ErrorKind::BadValue { value: v.into() }),
                    ));
                }
            }
        }
        code::AS_PATH => {
            let p = AsPath::decode(value, offset, ctx.four_octet_as)
                .map_err(as_fault(update_subcode::MALFORMED_AS_PATH))?;
            no_as_zero(type_code, &p, offset, if ctx.four_octet_as { 4 } else { 2 }, "AS_PATH")?;
            AttrValue::AsPath(p)
        }
        code::NEXT_HOP => {
            exact_len(type_code, value, offset, 4)?;
            AttrValue::NextHop(r.ipv4("NEXT_HOP").map_err(as_fault(len_err))?)
        }
        code::MULTI_EXIT_DISC => {
            exact_len(type_code, value, offset, 4)?;
            AttrValue::MultiExitDisc(r.u32("MULTI_EXIT_DISC").map_err(as_fault(len_err))?)
        }
        code::LOCAL_PREF => {
            exact_len(type_code, value, offset, 4)?;
            AttrValue::LocalPref(r.u32("LOCAL_PREF").map_err(as_fault(len_err))?)
        }
        code::ATOMIC_AGGREGATE => {
            exact_len(type_code, value, offset, 0)?;
            AttrValue::AtomicAggregate
        }
        code::AGGREGATOR => {
            exact_len(type_code, value, offset, if ctx.four_octet_as { 8 } else { 6 })?;
            let asn = if ctx.four_octet_as {
                r.u32("AGGREGATOR AS")
            } else {
                r.u16("AGGREGATOR AS").map(u32::from)
            };
            let a = Aggregator {
                asn: asn.map_err(as_fault(len_err))?,
                address: r.ipv4("AGGREGATOR address").map_err(as_fault(len_err))?,
            };
            aggregator_as(type_code, &a, offset, "AGGREGATOR AS")?;
            AttrValue::Aggregator(a)
        }
        code::AS4_AGGREGATOR => {
            exact_len(type_code, value, offset, 8)?;
            let a = Aggregator {
                asn: r.u32("AS4_AGGREGATOR AS").map_err(as_fault(len_err))?,
                address: r.ipv4("AS4_AGGREGATOR address").map_err(as_fault(len_err))?,
            };
            aggregator_as(type_code, &a, offset, "AS4_AGGREGATOR AS")?;
            AttrValue::As4Aggregator(a)
        }
        code::COMMUNITIES => {
            non_empty(type_code, value, offset)?;
            AttrValue::Communities(Communities::decode(value, offset).map_err(as_fault(len_err))?)
        }
        code::ORIGINATOR_ID => {
            exact_len(type_code, value, offset, 4)?;
            AttrValue::OriginatorId(r.ipv4("ORIGINATOR_ID").map_err(as_fault(len_err))?)
        }
        code::CLUSTER_LIST => {
            non_empty(type_code, value, offset)?;
            if !value.len().is_multiple_of(4) {
                return Err(fault(
                    type_code,
                    len_err,
                    DecodeError::new(offset, "CLUSTER_LIST", ErrorKind::BadLength { length: value.len() }),
                ));
            }
            let mut ids = Vec::with_capacity(value.len() / 4);
            while !r.is_empty() {
                ids.push(r.ipv4("CLUSTER_LIST").map_err(as_fault(len_err))?);
            }
            AttrValue::ClusterList(ids)
        }
        code::MP_REACH_NLRI => AttrValue::MpReach(Box::new(decode_mp_reach(&mut r, ctx)?)),
        code::MP_UNREACH_NLRI => AttrValue::MpUnreach(Box::new(decode_mp_unreach(&mut r, ctx)?)),
        code::EXTENDED_COMMUNITIES => {
            non_empty(type_code, value, offset)?;
            AttrValue::ExtendedCommunities(
                ExtendedCommunities::decode(value, offset).map_err(as_fault(len_err))?,
            )
        }
        code::AS4_PATH => {
            let p =
                AsPath::decode(value, offset, true).map_err(as_fault(update_subcode::MALFORMED_AS_PATH))?;
            no_as_zero(type_code, &p, offset, 4, "AS4_PATH")?;
            if p.has_confed() {
                return Err(fault(
                    type_code,
                    update_subcode::MALFORMED_AS_PATH,
                    DecodeError::new(
                        offset,
                        "AS4_PATH",
                        ErrorKind::Invalid("confederation segment in AS4_PATH"),
                    ),
                ));
            }
            AttrValue::As4Path(p)
        }
        code::PMSI_TUNNEL => AttrValue::PmsiTunnel(
            PmsiTunnel::decode(value, offset).map_err(as_fault(update_subcode::OPTIONAL_ATTRIBUTE_ERROR))?,
        ),
        code::TUNNEL_ENCAPSULATION => AttrValue::TunnelEncapsulation(
            TunnelEncapsulation::decode(value, offset)
                .map_err(as_fault(update_subcode::OPTIONAL_ATTRIBUTE_ERROR))?,
        ),
        code::IPV6_EXTENDED_COMMUNITIES => {
            non_empty(type_code, value, offset)?;
            AttrValue::Ipv6ExtendedCommunities(
                Ipv6ExtendedCommunities::decode(value, offset).map_err(as_fault(len_err))?,
            )
        }
        code::LARGE_COMMUNITIES => {
            non_empty(type_code, value, offset)?;
            AttrValue::LargeCommunities(LargeCommunities::decode(value, offset).map_err(as_fault(len_err))?)
        }
        code::OTC => {
            exact_len(type_code, value, offset, 4)?;
            AttrValue::Otc(r.u32("OTC").map_err(as_fault(len_err))?)
        }
        other => AttrValue::Unknown { code: other, value: value.to_vec() },
    })
}

/// An MP attribute error: AFI/SAFI disable when the family is known,
/// session reset when it is not (RFC 7606 §7.11, §5.3).
fn mp_fault(family: Option<Family>, subcode: u8, error: DecodeError) -> AttrFault {
    match family {
        Some(f) => AttrFault { action: Action::AfiSafiDisable, subcode, family: Some(f), error },
        None => AttrFault { action: Action::SessionReset, subcode, family: None, error },
    }
}

fn decode_mp_reach(r: &mut Reader<'_>, ctx: &SessionContext) -> Result<MpReach, AttrFault> {
    let len_err = update_subcode::ATTRIBUTE_LENGTH_ERROR;
    let opt_err = update_subcode::OPTIONAL_ATTRIBUTE_ERROR;
    let family = read_family(r).map_err(|e| mp_fault(None, len_err, e))?;
    let f = Some(family);
    let nh_len = r.u8("next hop length").map_err(|e| mp_fault(f, len_err, e))?;
    let nh_at = r.offset();
    let nh_bytes = r.bytes(nh_len.into(), "next hop").map_err(|e| mp_fault(f, len_err, e))?;
    let next_hop = NextHop::decode(family, nh_bytes, nh_at, ctx).map_err(|e| mp_fault(f, opt_err, e))?;
    r.u8("reserved").map_err(|e| mp_fault(f, len_err, e))?;
    let at = r.offset();
    let nlri = MpNlri::decode(family, r.rest(), at, ctx).map_err(|e| mp_fault(f, opt_err, e))?;
    Ok(MpReach { family, next_hop, nlri })
}

fn decode_mp_unreach(r: &mut Reader<'_>, ctx: &SessionContext) -> Result<MpUnreach, AttrFault> {
    let family = read_family(r).map_err(|e| mp_fault(None, update_subcode::ATTRIBUTE_LENGTH_ERROR, e))?;
    let at = r.offset();
    let nlri = MpNlri::decode(family, r.rest(), at, ctx)
        .map_err(|e| mp_fault(Some(family), update_subcode::OPTIONAL_ATTRIBUTE_ERROR, e))?;
    Ok(MpUnreach { family, nlri })
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Igp => "IGP",
            Origin::Egp => "EGP",
            Origin::Incomplete => "incomplete",
        })
    }
}

impl std::fmt::Display for NextHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NextHop::V4(a) => a.fmt(f),
            NextHop::V6 { global, link_local: None } => global.fmt(f),
            NextHop::V6 { global, link_local: Some(ll) } => write!(f, "{global} ({ll})"),
            NextHop::Raw(b) => write!(f, "0x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        }
    }
}
