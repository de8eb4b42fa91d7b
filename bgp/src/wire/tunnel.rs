//! Tunnel path attribute values: PMSI_TUNNEL (type 22, RFC 6514 §5, as
//! EVPN uses it in RFC 7432 §11 and RFC 8365 §5.1.3) and
//! TUNNEL_ENCAPSULATION (type 23, RFC 9012 §2).
//!
//! This module owns the attribute *values* (the bytes after the attribute
//! header) and their structural checks; flags, type code, length and the
//! RFC 7606 action for a malformed value belong to [`crate::wire::attr`].
//! Semantic checks of individual sub-TLVs (RFC 9012 says to disregard a
//! Tunnel TLV whose sub-TLV is malformed, not the route) are offered as
//! typed getters that return `None` for a malformed sub-TLV, and
//! [`TunnelTlv::is_well_formed`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::error::{DecodeError, EncodeError, ErrorKind};
use crate::wire::reader::Reader;

/// IANA "BGP Tunnel Encapsulation Attribute Tunnel Types" (RFC 9012 §14),
/// used by the TUNNEL_ENCAPSULATION attribute and by the Encapsulation
/// extended community (not by PMSI_TUNNEL: see [`pmsi_tunnel_type`]).
pub mod tunnel_type {
    pub const L2TPV3_OVER_IP: u16 = 1;
    pub const GRE: u16 = 2;
    pub const IP_IN_IP: u16 = 7;
    pub const VXLAN: u16 = 8;
    pub const NVGRE: u16 = 9;
    pub const MPLS: u16 = 10;
    pub const MPLS_IN_GRE: u16 = 11;
    pub const VXLAN_GPE: u16 = 12;
    pub const MPLS_IN_UDP: u16 = 13;
    pub const SR_POLICY: u16 = 15;
    pub const GENEVE: u16 = 19;
}

// ---------------------------------------------------------------------------
// PMSI_TUNNEL (RFC 6514 §5)
// ---------------------------------------------------------------------------

/// PMSI tunnel types (RFC 6514 §5, RFC 7524, IANA "P-Multicast Service
/// Interface Tunnel (PMSI Tunnel) Tunnel Types").
pub mod pmsi_tunnel_type {
    pub const NO_TUNNEL_INFO: u8 = 0;
    pub const RSVP_TE_P2MP: u8 = 1;
    pub const MLDP_P2MP: u8 = 2;
    pub const PIM_SSM: u8 = 3;
    pub const PIM_SM: u8 = 4;
    pub const BIDIR_PIM: u8 = 5;
    /// Ingress replication: the identifier is the unicast endpoint address
    /// (RFC 6514 §5); what EVPN/VXLAN type-3 routes carry (RFC 8365 §5.1.3).
    pub const INGRESS_REPLICATION: u8 = 6;
    pub const MLDP_MP2MP: u8 = 7;
}

/// The PMSI_TUNNEL attribute value (RFC 6514 §5).
///
/// ```text
/// +---------------------------------+
/// |  Flags (1 octet)                |
/// +---------------------------------+
/// |  Tunnel Type (1 octets)         |
/// +---------------------------------+
/// |  MPLS Label (3 octets)          |
/// +---------------------------------+
/// |  Tunnel Identifier (variable)   |
/// +---------------------------------+
/// ```
///
/// The label field is kept as its raw 3 bytes: for VXLAN it carries the
/// 24-bit VNI (RFC 8365 §5.1.3), for MPLS a 20-bit label in its high-order
/// bits. The tunnel identifier is kept raw too, so any value re-encodes
/// byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PmsiTunnel {
    pub flags: u8,
    pub tunnel_type: u8,
    pub label: [u8; 3],
    pub tunnel_id: Vec<u8>,
}

impl PmsiTunnel {
    /// Flag L, "Leaf Information Required" (RFC 6514 §5).
    pub const FLAG_LEAF_INFO_REQUIRED: u8 = 0x01;
    /// Flags, tunnel type and label.
    const FIXED_LEN: usize = 5;

    /// Ingress replication to `endpoint` for `vni`, as a VXLAN VTEP
    /// advertises in its type-3 route. Only the low 24 bits of `vni` are
    /// used.
    pub fn ingress_replication(vni: u32, endpoint: IpAddr) -> Self {
        let [_, a, b, c] = vni.to_be_bytes();
        PmsiTunnel {
            flags: 0,
            tunnel_type: pmsi_tunnel_type::INGRESS_REPLICATION,
            label: [a, b, c],
            tunnel_id: match endpoint {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            },
        }
    }

    /// The raw 24-bit label field.
    pub fn label_field(&self) -> u32 {
        let [a, b, c] = self.label;
        u32::from_be_bytes([0, a, b, c])
    }

    /// The label field read as a VXLAN VNI (all 24 bits, RFC 8365).
    pub fn vni(&self) -> u32 {
        self.label_field()
    }

    /// The label field read as an MPLS label (high-order 20 bits).
    pub fn mpls_label(&self) -> u32 {
        self.label_field() >> 4
    }

    pub fn leaf_info_required(&self) -> bool {
        self.flags & Self::FLAG_LEAF_INFO_REQUIRED != 0
    }

    /// The replication endpoint when the tunnel type is ingress replication
    /// and the identifier is a 4- or 16-byte address; `None` otherwise.
    pub fn ingress_replication_endpoint(&self) -> Option<IpAddr> {
        if self.tunnel_type != pmsi_tunnel_type::INGRESS_REPLICATION {
            return None;
        }
        ip_from_bytes(&self.tunnel_id)
    }

    /// Decode the attribute value starting at byte `offset` of the message.
    /// A value shorter than the 5 fixed bytes is `BadLength` at `offset`.
    /// The identifier is not checked against the tunnel type here (see
    /// [`Self::ingress_replication_endpoint`]).
    pub fn decode(value: &[u8], offset: usize) -> Result<Self, DecodeError> {
        if value.len() < Self::FIXED_LEN {
            return Err(DecodeError::new(
                offset,
                "PMSI_TUNNEL",
                ErrorKind::BadLength { length: value.len() },
            ));
        }
        let mut r = Reader::at(value, offset);
        let flags = r.u8("PMSI tunnel flags")?;
        let tunnel_type = r.u8("PMSI tunnel type")?;
        let label = r.array::<3>("PMSI tunnel label")?;
        let tunnel_id = r.rest().to_vec();
        Ok(PmsiTunnel { flags, tunnel_type, label, tunnel_id })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(self.flags);
        out.push(self.tunnel_type);
        out.extend_from_slice(&self.label);
        out.extend_from_slice(&self.tunnel_id);
    }

    pub fn encoded_len(&self) -> usize {
        Self::FIXED_LEN + self.tunnel_id.len()
    }
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    } else if let Ok(a) = <[u8; 16]>::try_from(b) {
        Some(IpAddr::V6(Ipv6Addr::from(a)))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// TUNNEL_ENCAPSULATION (RFC 9012)
// ---------------------------------------------------------------------------

/// Sub-TLV codes (RFC 9012 §14, IANA "BGP Tunnel Encapsulation Attribute
/// Sub-TLVs"). Codes 0-127 have a 1-byte length, 128-255 a 2-byte length.
pub mod sub_tlv {
    pub const ENCAPSULATION: u8 = 1;
    pub const PROTOCOL_TYPE: u8 = 2;
    pub const COLOR: u8 = 4;
    pub const LOAD_BALANCING_BLOCK: u8 = 5;
    pub const TUNNEL_EGRESS_ENDPOINT: u8 = 6;
    pub const DS_FIELD: u8 = 7;
    pub const UDP_DESTINATION_PORT: u8 = 8;
}

/// The VXLAN Encapsulation sub-TLV (RFC 9012 §3.2.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V|M|R|R|R|R|R|R|                 VN-ID (3 Octets)              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 MAC Address (4 Octets)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  MAC Address (2 Octets)       |        Reserved               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanEncapsulation {
    /// Present when the V bit is set.
    pub vni: Option<u32>,
    /// Present when the M bit is set.
    pub mac: Option<[u8; 6]>,
}

impl VxlanEncapsulation {
    const LEN: usize = 12;

    fn parse(v: &[u8]) -> Option<Self> {
        let [flags, n0, n1, n2, m0, m1, m2, m3, m4, m5, _, _] = <[u8; 12]>::try_from(v).ok()?;
        Some(VxlanEncapsulation {
            vni: (flags & 0x80 != 0).then(|| u32::from_be_bytes([0, n0, n1, n2])),
            mac: (flags & 0x40 != 0).then_some([m0, m1, m2, m3, m4, m5]),
        })
    }

    fn to_bytes(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(Self::LEN);
        let flags = if self.vni.is_some() { 0x80 } else { 0 } | if self.mac.is_some() { 0x40 } else { 0 };
        let [_, a, b, c] = self.vni.unwrap_or(0).to_be_bytes();
        v.extend_from_slice(&[flags, a, b, c]);
        v.extend_from_slice(&self.mac.unwrap_or([0; 6]));
        v.extend_from_slice(&[0, 0]);
        v
    }
}

/// One sub-TLV of a Tunnel TLV (RFC 9012 §2), value kept raw.
///
/// ```text
/// +-----------------------------------+
/// |      Sub-TLV Type (1 octet)       |
/// +-----------------------------------+
/// |     Sub-TLV Length (1 or 2 octets)|   1 octet for types 0-127,
/// +-----------------------------------+   2 octets for 128-255
/// |     Sub-TLV Value (variable)      |
/// +-----------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubTlv {
    pub code: u8,
    pub value: Vec<u8>,
}

impl SubTlv {
    /// Length of the length field for this code.
    fn length_len(code: u8) -> usize {
        if code < 128 { 1 } else { 2 }
    }

    /// The largest value this code's length field can describe.
    pub fn max_value_len(code: u8) -> usize {
        if code < 128 { u8::MAX.into() } else { u16::MAX.into() }
    }

    pub fn encoded_len(&self) -> usize {
        1 + Self::length_len(self.code) + self.value.len()
    }

    /// Encapsulation sub-TLV with raw, tunnel-type specific bytes.
    pub fn encapsulation(value: Vec<u8>) -> Self {
        SubTlv { code: sub_tlv::ENCAPSULATION, value }
    }

    /// Encapsulation sub-TLV for a VXLAN tunnel (RFC 9012 §3.2.1). Only the
    /// low 24 bits of the VNI are used.
    pub fn vxlan_encapsulation(vni: Option<u32>, mac: Option<[u8; 6]>) -> Self {
        Self::encapsulation(VxlanEncapsulation { vni, mac }.to_bytes())
    }

    /// Protocol Type sub-TLV (RFC 9012 §3.4.1): the Ethertype of the
    /// payload.
    pub fn protocol_type(ethertype: u16) -> Self {
        SubTlv { code: sub_tlv::PROTOCOL_TYPE, value: ethertype.to_be_bytes().to_vec() }
    }

    /// Color sub-TLV (RFC 9012 §3.4.2): a Color extended community (type
    /// 0x03, sub-type 0x0b, 2 flag bytes, the 4-byte color).
    pub fn color(color: u32) -> Self {
        let mut value = vec![0x03, 0x0b, 0, 0];
        value.extend_from_slice(&color.to_be_bytes());
        SubTlv { code: sub_tlv::COLOR, value }
    }

    /// Tunnel Egress Endpoint sub-TLV (RFC 9012 §3.1): 4 reserved bytes,
    /// the AFI (0 when there is no address), the address.
    pub fn egress_endpoint(addr: Option<IpAddr>) -> Self {
        let mut value = vec![0, 0, 0, 0];
        match addr {
            None => value.extend_from_slice(&[0, 0]),
            Some(IpAddr::V4(a)) => {
                value.extend_from_slice(&1u16.to_be_bytes());
                value.extend_from_slice(&a.octets());
            }
            Some(IpAddr::V6(a)) => {
                value.extend_from_slice(&2u16.to_be_bytes());
                value.extend_from_slice(&a.octets());
            }
        }
        SubTlv { code: sub_tlv::TUNNEL_EGRESS_ENDPOINT, value }
    }

    /// UDP Destination Port sub-TLV (RFC 9012 §3.3.2).
    pub fn udp_destination_port(port: u16) -> Self {
        SubTlv { code: sub_tlv::UDP_DESTINATION_PORT, value: port.to_be_bytes().to_vec() }
    }

    /// The typed meaning of this sub-TLV: a known code with a value of the
    /// wrong shape is `Malformed`.
    pub fn kind(&self) -> SubTlvKind<'_> {
        let v = self.value.as_slice();
        let malformed = SubTlvKind::Malformed { code: self.code, value: v };
        match self.code {
            sub_tlv::ENCAPSULATION => SubTlvKind::Encapsulation(v),
            sub_tlv::PROTOCOL_TYPE => match <[u8; 2]>::try_from(v) {
                Ok(b) => SubTlvKind::ProtocolType(u16::from_be_bytes(b)),
                Err(_) => malformed,
            },
            sub_tlv::COLOR => match <[u8; 8]>::try_from(v) {
                Ok([0x03, 0x0b, _, _, a, b, c, d]) => SubTlvKind::Color(u32::from_be_bytes([a, b, c, d])),
                _ => malformed,
            },
            sub_tlv::TUNNEL_EGRESS_ENDPOINT => match v {
                [_, _, _, _, 0, 0] => SubTlvKind::EgressEndpoint(None),
                [_, _, _, _, 0, 1, a, b, c, d] => {
                    SubTlvKind::EgressEndpoint(Some(IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d))))
                }
                [_, _, _, _, 0, 2, addr @ ..] => match <[u8; 16]>::try_from(addr) {
                    Ok(a) => SubTlvKind::EgressEndpoint(Some(IpAddr::V6(Ipv6Addr::from(a)))),
                    Err(_) => malformed,
                },
                _ => malformed,
            },
            sub_tlv::UDP_DESTINATION_PORT => match <[u8; 2]>::try_from(v) {
                Ok(b) => SubTlvKind::UdpDestinationPort(u16::from_be_bytes(b)),
                Err(_) => malformed,
            },
            code => SubTlvKind::Unknown { code, value: v },
        }
    }
}

/// A typed view of a [`SubTlv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubTlvKind<'a> {
    /// Code 1: tunnel-type specific bytes (see [`TunnelTlv::vxlan`]).
    Encapsulation(&'a [u8]),
    /// Code 2: Ethertype.
    ProtocolType(u16),
    /// Code 4: the color of a Color extended community.
    Color(u32),
    /// Code 6: the egress endpoint, `None` for AFI 0 (no address).
    EgressEndpoint(Option<IpAddr>),
    /// Code 8.
    UdpDestinationPort(u16),
    /// A code mdc does not model.
    Unknown { code: u8, value: &'a [u8] },
    /// A known code whose value has the wrong length or content; RFC 9012
    /// says to disregard the Tunnel TLV that carries it.
    Malformed { code: u8, value: &'a [u8] },
}

/// One Tunnel TLV (RFC 9012 §2).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |    Tunnel Type (2 octets)     |        Length (2 octets)      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// |                 Value (sub-TLVs, variable)                    |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TunnelTlv {
    pub tunnel_type: u16,
    pub sub_tlvs: Vec<SubTlv>,
}

impl TunnelTlv {
    pub fn new(tunnel_type: u16, sub_tlvs: Vec<SubTlv>) -> Self {
        TunnelTlv { tunnel_type, sub_tlvs }
    }

    /// Length of the Value field (all sub-TLVs).
    fn value_len(&self) -> usize {
        self.sub_tlvs.iter().map(SubTlv::encoded_len).sum()
    }

    pub fn encoded_len(&self) -> usize {
        4 + self.value_len()
    }

    /// Typed views of every sub-TLV, in order.
    pub fn kinds(&self) -> impl Iterator<Item = SubTlvKind<'_>> {
        self.sub_tlvs.iter().map(SubTlv::kind)
    }

    /// No known sub-TLV is malformed (RFC 9012: otherwise disregard this
    /// Tunnel TLV).
    pub fn is_well_formed(&self) -> bool {
        !self.kinds().any(|k| matches!(k, SubTlvKind::Malformed { .. }))
    }

    fn find<T>(&self, f: impl Fn(SubTlvKind<'_>) -> Option<T>) -> Option<T> {
        self.kinds().find_map(f)
    }

    /// The raw value of the first Encapsulation sub-TLV.
    pub fn encapsulation(&self) -> Option<&[u8]> {
        self.sub_tlvs.iter().find(|s| s.code == sub_tlv::ENCAPSULATION).map(|s| s.value.as_slice())
    }

    /// The Encapsulation sub-TLV read as VXLAN, for a VXLAN tunnel whose
    /// sub-TLV is 12 bytes.
    pub fn vxlan(&self) -> Option<VxlanEncapsulation> {
        if self.tunnel_type != tunnel_type::VXLAN {
            return None;
        }
        VxlanEncapsulation::parse(self.encapsulation()?)
    }

    /// First well-formed Protocol Type.
    pub fn protocol_type(&self) -> Option<u16> {
        self.find(|k| match k {
            SubTlvKind::ProtocolType(p) => Some(p),
            _ => None,
        })
    }

    /// Every well-formed Color, in order.
    pub fn colors(&self) -> impl Iterator<Item = u32> + '_ {
        self.kinds().filter_map(|k| match k {
            SubTlvKind::Color(c) => Some(c),
            _ => None,
        })
    }

    /// First well-formed Tunnel Egress Endpoint: `Some(None)` when it is
    /// present with AFI 0 (no address).
    pub fn egress_endpoint(&self) -> Option<Option<IpAddr>> {
        self.find(|k| match k {
            SubTlvKind::EgressEndpoint(e) => Some(e),
            _ => None,
        })
    }

    /// First well-formed UDP Destination Port.
    pub fn udp_destination_port(&self) -> Option<u16> {
        self.find(|k| match k {
            SubTlvKind::UdpDestinationPort(p) => Some(p),
            _ => None,
        })
    }
}

/// The TUNNEL_ENCAPSULATION attribute value (type 23, RFC 9012 §2): a
/// sequence of Tunnel TLVs, in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TunnelEncapsulation {
    pub tunnels: Vec<TunnelTlv>,
}

impl TunnelEncapsulation {
    /// Decode the attribute value starting at byte `offset` of the message.
    /// Structural errors (a TLV or sub-TLV running past its container) are
    /// `Truncated` at the offending field; values of known sub-TLVs are not
    /// checked here (see [`SubTlv::kind`]).
    pub fn decode(value: &[u8], offset: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::at(value, offset);
        let mut tunnels = Vec::new();
        while !r.is_empty() {
            let tunnel_type = r.u16("tunnel type")?;
            let len = r.u16("tunnel TLV length")?;
            let mut body = r.sub(usize::from(len), "tunnel TLV value")?;
            let mut sub_tlvs = Vec::new();
            while !body.is_empty() {
                let code = body.u8("sub-TLV type")?;
                let len = if code < 128 {
                    usize::from(body.u8("sub-TLV length")?)
                } else {
                    usize::from(body.u16("sub-TLV length")?)
                };
                let value = body.bytes(len, "sub-TLV value")?.to_vec();
                sub_tlvs.push(SubTlv { code, value });
            }
            tunnels.push(TunnelTlv { tunnel_type, sub_tlvs });
        }
        Ok(TunnelEncapsulation { tunnels })
    }

    /// Append the value. Fails, appending nothing, when a sub-TLV value or a
    /// Tunnel TLV is longer than its length field can say.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for t in &self.tunnels {
            for s in &t.sub_tlvs {
                let max = SubTlv::max_value_len(s.code);
                if s.value.len() > max {
                    return Err(EncodeError::TooLong {
                        field: "tunnel encapsulation sub-TLV",
                        length: s.value.len(),
                        max,
                    });
                }
            }
            let len = t.value_len();
            if len > usize::from(u16::MAX) {
                return Err(EncodeError::TooLong { field: "tunnel TLV", length: len, max: u16::MAX.into() });
            }
        }
        out.reserve(self.encoded_len());
        for t in &self.tunnels {
            out.extend_from_slice(&t.tunnel_type.to_be_bytes());
            // Checked above.
            out.extend_from_slice(&(t.value_len() as u16).to_be_bytes());
            for s in &t.sub_tlvs {
                out.push(s.code);
                if s.code < 128 {
                    out.push(s.value.len() as u8);
                } else {
                    out.extend_from_slice(&(s.value.len() as u16).to_be_bytes());
                }
                out.extend_from_slice(&s.value);
            }
        }
        Ok(())
    }

    pub fn encoded_len(&self) -> usize {
        self.tunnels.iter().map(TunnelTlv::encoded_len).sum()
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

    pub(crate) fn ip_addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ]
    }

    pub(crate) fn pmsi_tunnel() -> impl Strategy<Value = PmsiTunnel> {
        prop_oneof![
            (0u32..1 << 24, ip_addr()).prop_map(|(v, ip)| PmsiTunnel::ingress_replication(v, ip)),
            (any::<u8>(), any::<u8>(), any::<[u8; 3]>(), vec(any::<u8>(), 0..40)).prop_map(
                |(flags, tunnel_type, label, tunnel_id)| PmsiTunnel { flags, tunnel_type, label, tunnel_id }
            ),
        ]
    }

    pub(crate) fn sub_tlv() -> impl Strategy<Value = SubTlv> {
        prop_oneof![
            (any::<Option<u32>>(), any::<Option<[u8; 6]>>())
                .prop_map(|(v, m)| SubTlv::vxlan_encapsulation(v.map(|v| v & 0xFF_FFFF), m)),
            any::<u16>().prop_map(SubTlv::protocol_type),
            any::<u32>().prop_map(SubTlv::color),
            proptest::option::of(ip_addr()).prop_map(SubTlv::egress_endpoint),
            any::<u16>().prop_map(SubTlv::udp_destination_port),
            // Arbitrary codes, both length-field widths.
            (any::<u8>(), vec(any::<u8>(), 0..40)).prop_map(|(code, value)| SubTlv { code, value }),
            (128u8..=255, vec(any::<u8>(), 256..300)).prop_map(|(code, value)| SubTlv { code, value }),
        ]
    }

    pub(crate) fn tunnel_tlv() -> impl Strategy<Value = TunnelTlv> {
        (any::<u16>(), vec(sub_tlv(), 0..5)).prop_map(|(t, s)| TunnelTlv::new(t, s))
    }

    pub(crate) fn tunnel_encapsulation() -> impl Strategy<Value = TunnelEncapsulation> {
        vec(tunnel_tlv(), 0..4).prop_map(|tunnels| TunnelEncapsulation { tunnels })
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use proptest::prelude::*;

    fn enc_pmsi(p: &PmsiTunnel) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode(&mut out);
        out
    }

    fn enc_te(t: &TunnelEncapsulation) -> Vec<u8> {
        let mut out = Vec::new();
        t.encode(&mut out).unwrap();
        out
    }

    // --- PMSI_TUNNEL ---

    #[test]
    fn pmsi_ingress_replication_ipv4() {
        // FRR type-3 route for VNI 100 from VTEP 192.0.2.1.
        let v = [0x00, 0x06, 0x00, 0x00, 0x64, 192, 0, 2, 1];
        let p = PmsiTunnel::decode(&v, 30).unwrap();
        assert_eq!(p.tunnel_type, pmsi_tunnel_type::INGRESS_REPLICATION);
        assert_eq!(p.vni(), 100);
        assert_eq!(p.mpls_label(), 6);
        assert!(!p.leaf_info_required());
        assert_eq!(p.ingress_replication_endpoint(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
        let built = PmsiTunnel::ingress_replication(100, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(built, p);
        assert_eq!(enc_pmsi(&built), v);
        assert_eq!(built.encoded_len(), v.len());
    }

    #[test]
    fn pmsi_full_24_bit_vni_and_ipv6() {
        let ip: IpAddr = "2001:db8::7".parse().unwrap();
        let p = PmsiTunnel::ingress_replication(0xFF_FFFF, ip);
        let b = enc_pmsi(&p);
        assert_eq!(b[..5], [0x00, 0x06, 0xFF, 0xFF, 0xFF]);
        assert_eq!(b.len(), 21);
        let d = PmsiTunnel::decode(&b, 0).unwrap();
        assert_eq!(d.vni(), 0xFF_FFFF);
        assert_eq!(d.ingress_replication_endpoint(), Some(ip));
        // Bits above 24 are dropped.
        assert_eq!(PmsiTunnel::ingress_replication(0x0100_0005, ip).vni(), 5);
    }

    #[test]
    fn pmsi_endpoint_only_for_ingress_replication_with_an_address() {
        let mut p = PmsiTunnel::ingress_replication(1, IpAddr::V4(Ipv4Addr::LOCALHOST));
        p.tunnel_type = pmsi_tunnel_type::PIM_SSM;
        assert_eq!(p.ingress_replication_endpoint(), None);
        let p = PmsiTunnel::decode(&[0, 6, 0, 0, 1, 10, 0, 0], 0).unwrap();
        assert_eq!(p.ingress_replication_endpoint(), None, "3-byte identifier");
        let p = PmsiTunnel::decode(&[1, 0, 0, 0, 0], 0).unwrap();
        assert!(p.leaf_info_required());
        assert_eq!(p.tunnel_id, Vec::<u8>::new());
    }

    #[test]
    fn pmsi_too_short() {
        for len in 0..5 {
            let e = PmsiTunnel::decode(&vec![0; len], 44).unwrap_err();
            assert_eq!(e.offset, 44);
            assert_eq!(e.field, "PMSI_TUNNEL");
            assert_eq!(e.kind, ErrorKind::BadLength { length: len });
        }
    }

    // --- TUNNEL_ENCAPSULATION ---

    #[test]
    fn tunnel_encapsulation_vxlan_known_bytes() {
        let v = [
            0x00, 0x08, 0x00, 0x1E, // tunnel type VXLAN, length 30
            0x01, 0x0C, 0x80, 0x00, 0x00, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, // encap: V, VNI 100
            0x06, 0x0A, 0, 0, 0, 0, 0x00, 0x01, 192, 0, 2, 9, // egress 192.0.2.9
            0x08, 0x02, 0x12, 0xB5, // UDP port 4789
        ];
        let te = TunnelEncapsulation::decode(&v, 60).unwrap();
        assert_eq!(te.tunnels.len(), 1);
        let t = &te.tunnels[0];
        assert_eq!(t.tunnel_type, tunnel_type::VXLAN);
        assert_eq!(t.vxlan(), Some(VxlanEncapsulation { vni: Some(100), mac: None }));
        assert_eq!(t.egress_endpoint(), Some(Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)))));
        assert_eq!(t.udp_destination_port(), Some(4789));
        assert_eq!(t.protocol_type(), None);
        assert!(t.is_well_formed());
        let built = TunnelEncapsulation {
            tunnels: vec![TunnelTlv::new(
                tunnel_type::VXLAN,
                vec![
                    SubTlv::vxlan_encapsulation(Some(100), None),
                    SubTlv::egress_endpoint(Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)))),
                    SubTlv::udp_destination_port(4789),
                ],
            )],
        };
        assert_eq!(built, te);
        assert_eq!(enc_te(&built), v);
        assert_eq!(built.encoded_len(), v.len());
    }

    #[test]
    fn color_protocol_and_long_sub_tlvs() {
        let t = TunnelTlv::new(
            tunnel_type::MPLS_IN_UDP,
            vec![
                SubTlv::color(0xDEAD_BEEF),
                SubTlv::color(7),
                SubTlv::protocol_type(0x0800),
                SubTlv::egress_endpoint(None),
                SubTlv { code: 200, value: vec![0xAB; 300] },
            ],
        );
        let te = TunnelEncapsulation { tunnels: vec![t] };
        let b = enc_te(&te);
        // Color sub-TLV = the Color extended community.
        assert_eq!(b[4..14], [0x04, 0x08, 0x03, 0x0b, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF]);
        // Code >= 128 has a 2-byte length.
        let tail = &b[b.len() - 303..];
        assert_eq!(tail[..3], [200, 0x01, 0x2C]);
        let d = TunnelEncapsulation::decode(&b, 0).unwrap();
        assert_eq!(d, te);
        let t = &d.tunnels[0];
        assert_eq!(t.colors().collect::<Vec<_>>(), vec![0xDEAD_BEEF, 7]);
        assert_eq!(t.protocol_type(), Some(0x0800));
        assert_eq!(t.egress_endpoint(), Some(None));
        assert_eq!(t.vxlan(), None, "not a VXLAN tunnel");
    }

    #[test]
    fn malformed_known_sub_tlvs() {
        let cases = [
            SubTlv { code: 2, value: vec![8] },
            SubTlv { code: 4, value: vec![0x03, 0x0c, 0, 0, 0, 0, 0, 1] },
            SubTlv { code: 4, value: vec![0x03, 0x0b, 0, 0, 0, 1] },
            SubTlv { code: 6, value: vec![0, 0, 0, 0, 0, 1, 10, 0, 0] },
            SubTlv { code: 6, value: vec![0, 0, 0, 0, 0, 2, 10, 0, 0, 1] },
            SubTlv { code: 6, value: vec![0, 0, 0, 0, 0, 3, 10, 0, 0, 1] },
            SubTlv { code: 6, value: vec![0, 0, 0, 0, 0] },
            SubTlv { code: 8, value: vec![0x12, 0xB5, 0] },
        ];
        for s in cases {
            assert!(matches!(s.kind(), SubTlvKind::Malformed { code, .. } if code == s.code), "{s:?}");
            let t = TunnelTlv::new(tunnel_type::VXLAN, vec![s]);
            assert!(!t.is_well_formed());
            assert_eq!(t.udp_destination_port(), None);
            assert_eq!(t.egress_endpoint(), None);
            assert_eq!(t.protocol_type(), None);
            assert_eq!(t.colors().count(), 0);
        }
        let u = SubTlv { code: 99, value: vec![1] };
        assert_eq!(u.kind(), SubTlvKind::Unknown { code: 99, value: &[1] });
    }

    #[test]
    fn structural_errors_name_field_and_offset() {
        // Tunnel TLV header cut short.
        let e = TunnelEncapsulation::decode(&[0x00, 0x08, 0x00], 10).unwrap_err();
        assert_eq!((e.offset, e.field), (12, "tunnel TLV length"));
        // Tunnel TLV length runs past the attribute.
        let e = TunnelEncapsulation::decode(&[0x00, 0x08, 0x00, 0x05, 8, 2, 0], 10).unwrap_err();
        assert_eq!((e.offset, e.field), (14, "tunnel TLV value"));
        assert_eq!(e.kind, ErrorKind::Truncated { needed: 5, available: 3 });
        // Sub-TLV runs past its Tunnel TLV (though not past the attribute).
        let v = [0x00, 0x08, 0x00, 0x03, 0x08, 0x02, 0x12, 0xB5, 0xFF];
        let e = TunnelEncapsulation::decode(&v, 100).unwrap_err();
        assert_eq!((e.offset, e.field), (106, "sub-TLV value"));
        // 2-byte sub-TLV length cut short.
        let e = TunnelEncapsulation::decode(&[0x00, 0x08, 0x00, 0x02, 0x80, 0x00], 0).unwrap_err();
        assert_eq!((e.offset, e.field), (5, "sub-TLV length"));
        // Empty attribute and empty tunnel TLV are structurally fine.
        assert_eq!(TunnelEncapsulation::decode(&[], 0).unwrap(), TunnelEncapsulation::default());
        let t = TunnelEncapsulation::decode(&[0, 8, 0, 0], 0).unwrap();
        assert_eq!(t.tunnels, vec![TunnelTlv::new(8, vec![])]);
    }

    #[test]
    fn encode_refuses_overlong_fields() {
        let too_long = TunnelEncapsulation {
            tunnels: vec![TunnelTlv::new(8, vec![SubTlv::encapsulation(vec![0; 256])])],
        };
        let mut out = vec![1];
        assert_eq!(
            too_long.encode(&mut out),
            Err(EncodeError::TooLong { field: "tunnel encapsulation sub-TLV", length: 256, max: 255 })
        );
        assert_eq!(out, vec![1], "nothing appended on error");
        let big = SubTlv { code: 255, value: vec![0; 40_000] };
        let too_long = TunnelEncapsulation { tunnels: vec![TunnelTlv::new(8, vec![big.clone(), big])] };
        assert!(matches!(too_long.encode(&mut out), Err(EncodeError::TooLong { field: "tunnel TLV", .. })));
    }

    /// Arbitrary well-framed bytes: a list of tunnel TLVs of arbitrary
    /// sub-TLVs, framed by hand.
    fn framed_bytes() -> impl Strategy<Value = Vec<u8>> {
        let sub = (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..30)).prop_map(|(code, v)| {
            let mut b = vec![code];
            if code < 128 {
                b.push(v.len() as u8);
            } else {
                b.extend_from_slice(&(v.len() as u16).to_be_bytes());
            }
            b.extend_from_slice(&v);
            b
        });
        let tlv = (any::<u16>(), proptest::collection::vec(sub, 0..4)).prop_map(|(t, subs)| {
            let body: Vec<u8> = subs.concat();
            let mut b = t.to_be_bytes().to_vec();
            b.extend_from_slice(&(body.len() as u16).to_be_bytes());
            b.extend_from_slice(&body);
            b
        });
        proptest::collection::vec(tlv, 0..4).prop_map(|t| t.concat())
    }

    proptest! {
        #[test]
        fn pmsi_bytes_round_trip(v in proptest::collection::vec(any::<u8>(), 5..60)) {
            let p = PmsiTunnel::decode(&v, 0).unwrap();
            prop_assert_eq!(enc_pmsi(&p), v);
        }

        #[test]
        fn pmsi_model_round_trip(p in pmsi_tunnel()) {
            let b = enc_pmsi(&p);
            prop_assert_eq!(b.len(), p.encoded_len());
            prop_assert_eq!(PmsiTunnel::decode(&b, 0).unwrap(), p);
        }

        #[test]
        fn pmsi_ingress_replication_getters(vni in 0u32..1 << 24, ip in ip_addr()) {
            let p = PmsiTunnel::ingress_replication(vni, ip);
            let d = PmsiTunnel::decode(&enc_pmsi(&p), 0).unwrap();
            prop_assert_eq!(d.vni(), vni);
            prop_assert_eq!(d.ingress_replication_endpoint(), Some(ip));
        }

        #[test]
        fn tunnel_encapsulation_bytes_round_trip(v in framed_bytes()) {
            let t = TunnelEncapsulation::decode(&v, 0).unwrap();
            prop_assert_eq!(enc_te(&t), v);
        }

        #[test]
        fn tunnel_encapsulation_model_round_trip(t in tunnel_encapsulation()) {
            let b = enc_te(&t);
            prop_assert_eq!(b.len(), t.encoded_len());
            prop_assert_eq!(TunnelEncapsulation::decode(&b, 0).unwrap(), t);
        }

        #[test]
        fn typed_sub_tlvs_read_back(
            vni in proptest::option::of(0u32..1 << 24),
            mac in any::<Option<[u8; 6]>>(),
            ep in proptest::option::of(ip_addr()),
            color in any::<u32>(),
            port in any::<u16>(),
            proto in any::<u16>(),
        ) {
            let t = TunnelTlv::new(tunnel_type::VXLAN, vec![
                SubTlv::vxlan_encapsulation(vni, mac),
                SubTlv::egress_endpoint(ep),
                SubTlv::color(color),
                SubTlv::udp_destination_port(port),
                SubTlv::protocol_type(proto),
            ]);
            let te = TunnelEncapsulation { tunnels: vec![t] };
            let d = TunnelEncapsulation::decode(&enc_te(&te), 0).unwrap();
            let t = &d.tunnels[0];
            prop_assert!(t.is_well_formed());
            prop_assert_eq!(t.vxlan(), Some(VxlanEncapsulation { vni, mac }));
            prop_assert_eq!(t.egress_endpoint(), Some(ep));
            prop_assert_eq!(t.colors().collect::<Vec<_>>(), vec![color]);
            prop_assert_eq!(t.udp_destination_port(), Some(port));
            prop_assert_eq!(t.protocol_type(), Some(proto));
        }

        /// Any bytes: decoding never panics; success re-encodes exactly.
        #[test]
        fn tunnel_encapsulation_any_bytes(v in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(t) = TunnelEncapsulation::decode(&v, 0) {
                prop_assert_eq!(enc_te(&t), v);
            }
        }
    }
}
