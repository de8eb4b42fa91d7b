//! EVPN NLRI: the five route types of RFC 7432 §7 and RFC 9136 §3, their
//! decoding with the RFC 7606 length rules, and byte-exact encoding.
//!
//! Every EVPN NLRI is framed the same way:
//!
//! ```text
//! +-----------------------------------+
//! |    Route Type (1 octet)           |
//! +-----------------------------------+
//! |     Length (1 octet)              |   octets of the value that follows
//! +-----------------------------------+
//! | Route Type specific (variable)    |
//! +-----------------------------------+
//! ```
//!
//! This module owns the route model and its wire form. It does not see
//! ADD-PATH path identifiers (the `bgp` crate strips them), path attributes,
//! or anything a MAC-VRF does with a route.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mdc_bgp::error::{DecodeError, ErrorKind};
use mdc_bgp::reader::Reader;

use crate::esi::Esi;
use crate::label::Label;
use crate::mac::MacAddress;
use crate::rd::RouteDistinguisher;

/// EVPN route type codes (IANA "EVPN Route Types").
pub mod route_type {
    pub const ETHERNET_AUTO_DISCOVERY: u8 = 1;
    pub const MAC_IP_ADVERTISEMENT: u8 = 2;
    pub const INCLUSIVE_MULTICAST_ETHERNET_TAG: u8 = 3;
    pub const ETHERNET_SEGMENT: u8 = 4;
    pub const IP_PREFIX: u8 = 5;
}

/// Route type 1, Ethernet Auto-Discovery (RFC 7432 §7.1). Length 25.
///
/// ```text
/// +---------------------------------------+
/// |  Route Distinguisher (RD) (8 octets)  |
/// +---------------------------------------+
/// |Ethernet Segment Identifier (10 octets)|
/// +---------------------------------------+
/// |  Ethernet Tag ID (4 octets)           |
/// +---------------------------------------+
/// |  MPLS Label (3 octets)                |
/// +---------------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetAutoDiscoveryRoute {
    pub rd: RouteDistinguisher,
    pub esi: Esi,
    pub ethernet_tag: u32,
    pub label: Label,
}

/// Route type 2, MAC/IP Advertisement (RFC 7432 §7.2). Length 33, 37 or 49
/// (no IP, IPv4, IPv6), plus 3 with a second label: 36, 40, 52.
///
/// ```text
/// +---------------------------------------+
/// |  RD (8 octets)                        |
/// +---------------------------------------+
/// |Ethernet Segment Identifier (10 octets)|
/// +---------------------------------------+
/// |  Ethernet Tag ID (4 octets)           |
/// +---------------------------------------+
/// |  MAC Address Length (1 octet) = 48    |
/// +---------------------------------------+
/// |  MAC Address (6 octets)               |
/// +---------------------------------------+
/// |  IP Address Length (1 octet) 0/32/128 |
/// +---------------------------------------+
/// |  IP Address (0, 4, or 16 octets)      |
/// +---------------------------------------+
/// |  MPLS Label1 (3 octets)               |   L2 VNI with VXLAN
/// +---------------------------------------+
/// |  MPLS Label2 (0 or 3 octets)          |   L3 VNI with VXLAN
/// +---------------------------------------+
/// ```
///
/// The MAC and IP length fields are implied by `mac` and `ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacIpAdvertisementRoute {
    pub rd: RouteDistinguisher,
    pub esi: Esi,
    pub ethernet_tag: u32,
    pub mac: MacAddress,
    pub ip: Option<IpAddr>,
    pub label1: Label,
    pub label2: Option<Label>,
}

/// Route type 3, Inclusive Multicast Ethernet Tag (RFC 7432 §7.3). Length
/// 17 (IPv4 originator) or 29 (IPv6).
///
/// ```text
/// +---------------------------------------+
/// |  RD (8 octets)                        |
/// +---------------------------------------+
/// |  Ethernet Tag ID (4 octets)           |
/// +---------------------------------------+
/// |  IP Address Length (1 octet) 32/128   |
/// +---------------------------------------+
/// |  Originating Router's IP Address      |
/// |          (4 or 16 octets)             |
/// +---------------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InclusiveMulticastEthernetTagRoute {
    pub rd: RouteDistinguisher,
    pub ethernet_tag: u32,
    pub originator: IpAddr,
}

/// Route type 4, Ethernet Segment (RFC 7432 §7.4). Length 23 (IPv4
/// originator) or 35 (IPv6).
///
/// ```text
/// +---------------------------------------+
/// |  RD (8 octets)                        |
/// +---------------------------------------+
/// |Ethernet Segment Identifier (10 octets)|
/// +---------------------------------------+
/// |  IP Address Length (1 octet) 32/128   |
/// +---------------------------------------+
/// |  Originating Router's IP Address      |
/// |          (4 or 16 octets)             |
/// +---------------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetSegmentRoute {
    pub rd: RouteDistinguisher,
    pub esi: Esi,
    pub originator: IpAddr,
}

/// Route type 5, IP Prefix (RFC 9136 §3.1). Length 34 (IPv4) or 58 (IPv6);
/// the prefix and the gateway are of the same family.
///
/// ```text
/// +---------------------------------------+
/// |      RD (8 octets)                    |
/// +---------------------------------------+
/// |Ethernet Segment Identifier (10 octets)|
/// +---------------------------------------+
/// |  Ethernet Tag ID (4 octets)           |
/// +---------------------------------------+
/// |  IP Prefix Length (1 octet)           |   0..=32 or 0..=128
/// +---------------------------------------+
/// |  IP Prefix (4 or 16 octets)           |
/// +---------------------------------------+
/// |  GW IP Address (4 or 16 octets)       |
/// +---------------------------------------+
/// |  MPLS Label (3 octets)                |   L3 VNI with VXLAN
/// +---------------------------------------+
/// ```
///
/// The prefix octets are kept as received (host bits included) so the
/// route re-encodes byte-exact; the route key clears host bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefixRoute {
    pub rd: RouteDistinguisher,
    pub esi: Esi,
    pub ethernet_tag: u32,
    pub prefix_len: u8,
    pub addrs: IpPrefixAddrs,
    pub label: Label,
}

/// The IP prefix and gateway of a type-5 route: both IPv4 or both IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpPrefixAddrs {
    V4 { prefix: Ipv4Addr, gateway: Ipv4Addr },
    V6 { prefix: Ipv6Addr, gateway: Ipv6Addr },
}

impl IpPrefixRoute {
    pub fn prefix(&self) -> IpAddr {
        match self.addrs {
            IpPrefixAddrs::V4 { prefix, .. } => IpAddr::V4(prefix),
            IpPrefixAddrs::V6 { prefix, .. } => IpAddr::V6(prefix),
        }
    }

    pub fn gateway(&self) -> IpAddr {
        match self.addrs {
            IpPrefixAddrs::V4 { gateway, .. } => IpAddr::V4(gateway),
            IpPrefixAddrs::V6 { gateway, .. } => IpAddr::V6(gateway),
        }
    }

    pub fn is_ipv6(&self) -> bool {
        matches!(self.addrs, IpPrefixAddrs::V6 { .. })
    }
}

/// One EVPN NLRI (without its ADD-PATH path identifier).
///
/// ```text
/// +-----------------------------------+
/// |    Route Type (1 octet)           |
/// +-----------------------------------+
/// |     Length (1 octet)              |
/// +-----------------------------------+
/// | Route Type specific (variable)    |
/// +-----------------------------------+
/// ```
///
/// Route types mdc does not know are kept as `Unknown` by
/// [`EvpnRoute::decode`] so they can be logged or re-encoded, but
/// [`EvpnRoutes`] skips them (RFC 7606 §5.4). An `Unknown` value longer
/// than 255 octets cannot be framed; `encode` writes its first 255.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EvpnRoute {
    EthernetAutoDiscovery(EthernetAutoDiscoveryRoute),
    MacIpAdvertisement(MacIpAdvertisementRoute),
    InclusiveMulticastEthernetTag(InclusiveMulticastEthernetTagRoute),
    EthernetSegment(EthernetSegmentRoute),
    IpPrefix(IpPrefixRoute),
    Unknown { route_type: u8, value: Vec<u8> },
}

/// A route's framing: type, where its length octet is, and its value.
struct Frame<'a> {
    route_type: u8,
    length_at: usize,
    length: u8,
    value: Reader<'a>,
}

/// Read the type and length octets and take the value (RFC 7606 §5.4
/// framing). Fails only when the input ends early.
fn read_frame<'a>(r: &mut Reader<'a>) -> Result<Frame<'a>, DecodeError> {
    let route_type = r.u8("EVPN route type")?;
    let length_at = r.offset();
    let length = r.u8("EVPN route length")?;
    let value = r.sub(usize::from(length), "EVPN route value")?;
    Ok(Frame { route_type, length_at, length, value })
}

fn bad_length(at: usize, field: &'static str, length: u8) -> DecodeError {
    DecodeError::new(at, field, ErrorKind::BadLength { length: length.into() })
}

/// Read a 1-octet length-in-bits field that must equal `bits`.
fn expect_bits(r: &mut Reader<'_>, field: &'static str, bits: u8) -> Result<(), DecodeError> {
    let at = r.offset();
    let got = r.u8(field)?;
    if got == bits { Ok(()) } else { Err(bad_length(at, field, got)) }
}

/// Read an IP address length (32 or 128, as the route length implies)
/// and the address.
fn read_ip(
    r: &mut Reader<'_>,
    v6: bool,
    len_field: &'static str,
    field: &'static str,
) -> Result<IpAddr, DecodeError> {
    if v6 {
        expect_bits(r, len_field, 128)?;
        Ok(IpAddr::V6(r.ipv6(field)?))
    } else {
        expect_bits(r, len_field, 32)?;
        Ok(IpAddr::V4(r.ipv4(field)?))
    }
}

fn label(r: &mut Reader<'_>, field: &'static str) -> Result<Label, DecodeError> {
    Ok(Label::from_bytes(r.array::<3>(field)?))
}

/// Decode the value of a known route type; `Ok(None)` for an unknown type.
fn decode_known(frame: Frame<'_>) -> Result<Option<EvpnRoute>, DecodeError> {
    let Frame { route_type, length_at, length, mut value } = frame;
    let r = &mut value;
    let route = match route_type {
        route_type::ETHERNET_AUTO_DISCOVERY => {
            if length != 25 {
                return Err(bad_length(length_at, "Ethernet A-D route length", length));
            }
            EvpnRoute::EthernetAutoDiscovery(EthernetAutoDiscoveryRoute {
                rd: RouteDistinguisher::decode(r)?,
                esi: Esi::decode(r)?,
                ethernet_tag: r.u32("Ethernet tag ID")?,
                label: label(r, "MPLS label")?,
            })
        }
        route_type::MAC_IP_ADVERTISEMENT => {
            let (ip_octets, two_labels) = match length {
                33 => (0, false),
                36 => (0, true),
                37 => (4, false),
                40 => (4, true),
                49 => (16, false),
                52 => (16, true),
                _ => {
                    return Err(bad_length(length_at, "MAC/IP advertisement route length", length));
                }
            };
            let rd = RouteDistinguisher::decode(r)?;
            let esi = Esi::decode(r)?;
            let ethernet_tag = r.u32("Ethernet tag ID")?;
            expect_bits(r, "MAC address length", 48)?;
            let mac = MacAddress(r.array::<6>("MAC address")?);
            let ip = match ip_octets {
                0 => {
                    expect_bits(r, "IP address length", 0)?;
                    None
                }
                4 => Some(read_ip(r, false, "IP address length", "IP address")?),
                _ => Some(read_ip(r, true, "IP address length", "IP address")?),
            };
            let label1 = label(r, "MPLS label1")?;
            let label2 = if two_labels { Some(label(r, "MPLS label2")?) } else { None };
            EvpnRoute::MacIpAdvertisement(MacIpAdvertisementRoute {
                rd,
                esi,
                ethernet_tag,
                mac,
                ip,
                label1,
                label2,
            })
        }
        route_type::INCLUSIVE_MULTICAST_ETHERNET_TAG => {
            let v6 = match length {
                17 => false,
                29 => true,
                _ => {
                    return Err(bad_length(length_at, "inclusive multicast route length", length));
                }
            };
            EvpnRoute::InclusiveMulticastEthernetTag(InclusiveMulticastEthernetTagRoute {
                rd: RouteDistinguisher::decode(r)?,
                ethernet_tag: r.u32("Ethernet tag ID")?,
                originator: read_ip(r, v6, "IP address length", "originating router's IP address")?,
            })
        }
        route_type::ETHERNET_SEGMENT => {
            let v6 = match length {
                23 => false,
                35 => true,
                _ => {
                    return Err(bad_length(length_at, "Ethernet segment route length", length));
                }
            };
            EvpnRoute::EthernetSegment(EthernetSegmentRoute {
                rd: RouteDistinguisher::decode(r)?,
                esi: Esi::decode(r)?,
                originator: read_ip(r, v6, "IP address length", "originating router's IP address")?,
            })
        }
        route_type::IP_PREFIX => {
            let v6 = match length {
                34 => false,
                58 => true,
                _ => return Err(bad_length(length_at, "IP prefix route length", length)),
            };
            let rd = RouteDistinguisher::decode(r)?;
            let esi = Esi::decode(r)?;
            let ethernet_tag = r.u32("Ethernet tag ID")?;
            let len_at = r.offset();
            let prefix_len = r.u8("IP prefix length")?;
            if prefix_len > if v6 { 128 } else { 32 } {
                return Err(bad_length(len_at, "IP prefix length", prefix_len));
            }
            let addrs = if v6 {
                IpPrefixAddrs::V6 { prefix: r.ipv6("IP prefix")?, gateway: r.ipv6("gateway IP address")? }
            } else {
                IpPrefixAddrs::V4 { prefix: r.ipv4("IP prefix")?, gateway: r.ipv4("gateway IP address")? }
            };
            let label = label(r, "MPLS label")?;
            EvpnRoute::IpPrefix(IpPrefixRoute { rd, esi, ethernet_tag, prefix_len, addrs, label })
        }
        _ => return Ok(None),
    };
    // The lengths above are exact, so this cannot fire; it keeps the
    // decoder honest if a case is ever changed.
    r.finish("EVPN route value")?;
    Ok(Some(route))
}

/// Decode one NLRI from `r`. Unknown types yield `Unknown` when
/// `keep_unknown`, otherwise `None`.
fn decode_one(r: &mut Reader<'_>, keep_unknown: bool) -> Result<Option<EvpnRoute>, DecodeError> {
    let frame = read_frame(r)?;
    let (route_type, raw) = (frame.route_type, frame.value.peek_rest());
    match decode_known(frame)? {
        Some(route) => Ok(Some(route)),
        None if keep_unknown => Ok(Some(EvpnRoute::Unknown { route_type, value: raw.to_vec() })),
        None => Ok(None),
    }
}

/// Frame and fully check the first NLRI in `nlri` without allocating;
/// returns its length.
pub(crate) fn check_one(nlri: &[u8], offset: usize) -> Result<usize, DecodeError> {
    let mut r = Reader::at(nlri, offset);
    decode_known(read_frame(&mut r)?)?;
    Ok(r.offset() - offset)
}

/// Frame the first NLRI in `nlri`; returns its length.
pub(crate) fn split_one(nlri: &[u8], offset: usize) -> Result<usize, DecodeError> {
    let mut r = Reader::at(nlri, offset);
    read_frame(&mut r)?;
    Ok(r.offset() - offset)
}

fn ip_bits(ip: &IpAddr) -> u8 {
    if ip.is_ipv6() { 128 } else { 32 }
}

fn ip_octets(ip: &IpAddr) -> usize {
    if ip.is_ipv6() { 16 } else { 4 }
}

fn put_ip(out: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

impl EvpnRoute {
    /// Decode the NLRI at the start of `nlri`, which lies `offset` octets
    /// into the message. Returns the route and the octets it took (2 plus
    /// its length octet). Unknown route types decode as `Unknown`.
    ///
    /// Errors name the field and its absolute offset: a length that runs
    /// past the input, a length that is not valid for a known route type
    /// (at the length octet), a MAC length other than 48 or an IP length
    /// that does not match the route length (at that length field), or a
    /// type-5 prefix length over 32/128.
    pub fn decode(nlri: &[u8], offset: usize) -> Result<(EvpnRoute, usize), DecodeError> {
        let mut r = Reader::at(nlri, offset);
        let route = decode_one(&mut r, true)?;
        let consumed = r.offset() - offset;
        match route {
            Some(route) => Ok((route, consumed)),
            // decode_one with keep_unknown always yields a route.
            None => {
                Err(DecodeError::new(offset, "EVPN route type", ErrorKind::Invalid("unknown route type")))
            }
        }
    }

    /// Append the NLRI (type, length, value) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.wire_len());
        out.push(self.route_type());
        // value_len() is at most 255 by construction (Unknown is clamped).
        out.push(u8::try_from(self.value_len()).unwrap_or(u8::MAX));
        match self {
            EvpnRoute::EthernetAutoDiscovery(a) => {
                a.rd.encode(out);
                a.esi.encode(out);
                out.extend_from_slice(&a.ethernet_tag.to_be_bytes());
                a.label.encode(out);
            }
            EvpnRoute::MacIpAdvertisement(m) => {
                m.rd.encode(out);
                m.esi.encode(out);
                out.extend_from_slice(&m.ethernet_tag.to_be_bytes());
                out.push(48);
                out.extend_from_slice(&m.mac.0);
                match &m.ip {
                    Some(ip) => {
                        out.push(ip_bits(ip));
                        put_ip(out, ip);
                    }
                    None => out.push(0),
                }
                m.label1.encode(out);
                if let Some(l) = m.label2 {
                    l.encode(out);
                }
            }
            EvpnRoute::InclusiveMulticastEthernetTag(i) => {
                i.rd.encode(out);
                out.extend_from_slice(&i.ethernet_tag.to_be_bytes());
                out.push(ip_bits(&i.originator));
                put_ip(out, &i.originator);
            }
            EvpnRoute::EthernetSegment(e) => {
                e.rd.encode(out);
                e.esi.encode(out);
                out.push(ip_bits(&e.originator));
                put_ip(out, &e.originator);
            }
            EvpnRoute::IpPrefix(p) => {
                p.rd.encode(out);
                p.esi.encode(out);
                out.extend_from_slice(&p.ethernet_tag.to_be_bytes());
                out.push(p.prefix_len);
                match p.addrs {
                    IpPrefixAddrs::V4 { prefix, gateway } => {
                        out.extend_from_slice(&prefix.octets());
                        out.extend_from_slice(&gateway.octets());
                    }
                    IpPrefixAddrs::V6 { prefix, gateway } => {
                        out.extend_from_slice(&prefix.octets());
                        out.extend_from_slice(&gateway.octets());
                    }
                }
                p.label.encode(out);
            }
            EvpnRoute::Unknown { value, .. } => {
                out.extend_from_slice(value.get(..usize::from(u8::MAX)).unwrap_or(value));
            }
        }
    }

    /// The encoded NLRI as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.wire_len());
        self.encode(&mut out);
        out
    }

    /// The value of the length octet.
    fn value_len(&self) -> usize {
        match self {
            EvpnRoute::EthernetAutoDiscovery(_) => 25,
            EvpnRoute::MacIpAdvertisement(m) => {
                33 + m.ip.as_ref().map_or(0, ip_octets) + if m.label2.is_some() { 3 } else { 0 }
            }
            EvpnRoute::InclusiveMulticastEthernetTag(i) => 13 + ip_octets(&i.originator),
            EvpnRoute::EthernetSegment(e) => 19 + ip_octets(&e.originator),
            EvpnRoute::IpPrefix(p) => {
                if p.is_ipv6() {
                    58
                } else {
                    34
                }
            }
            EvpnRoute::Unknown { value, .. } => value.len().min(usize::from(u8::MAX)),
        }
    }

    /// Octets `encode` writes.
    pub fn wire_len(&self) -> usize {
        2 + self.value_len()
    }

    /// The route type code.
    pub fn route_type(&self) -> u8 {
        match self {
            EvpnRoute::EthernetAutoDiscovery(_) => route_type::ETHERNET_AUTO_DISCOVERY,
            EvpnRoute::MacIpAdvertisement(_) => route_type::MAC_IP_ADVERTISEMENT,
            EvpnRoute::InclusiveMulticastEthernetTag(_) => route_type::INCLUSIVE_MULTICAST_ETHERNET_TAG,
            EvpnRoute::EthernetSegment(_) => route_type::ETHERNET_SEGMENT,
            EvpnRoute::IpPrefix(_) => route_type::IP_PREFIX,
            EvpnRoute::Unknown { route_type, .. } => *route_type,
        }
    }

    /// The RD; `None` for unknown route types.
    pub fn rd(&self) -> Option<RouteDistinguisher> {
        match self {
            EvpnRoute::EthernetAutoDiscovery(a) => Some(a.rd),
            EvpnRoute::MacIpAdvertisement(m) => Some(m.rd),
            EvpnRoute::InclusiveMulticastEthernetTag(i) => Some(i.rd),
            EvpnRoute::EthernetSegment(e) => Some(e.rd),
            EvpnRoute::IpPrefix(p) => Some(p.rd),
            EvpnRoute::Unknown { .. } => None,
        }
    }

    /// The ESI of route types 1, 2, 4 and 5.
    pub fn esi(&self) -> Option<Esi> {
        match self {
            EvpnRoute::EthernetAutoDiscovery(a) => Some(a.esi),
            EvpnRoute::MacIpAdvertisement(m) => Some(m.esi),
            EvpnRoute::EthernetSegment(e) => Some(e.esi),
            EvpnRoute::IpPrefix(p) => Some(p.esi),
            EvpnRoute::InclusiveMulticastEthernetTag(_) | EvpnRoute::Unknown { .. } => None,
        }
    }

    /// The Ethernet tag ID of route types 1, 2, 3 and 5.
    pub fn ethernet_tag(&self) -> Option<u32> {
        match self {
            EvpnRoute::EthernetAutoDiscovery(a) => Some(a.ethernet_tag),
            EvpnRoute::MacIpAdvertisement(m) => Some(m.ethernet_tag),
            EvpnRoute::InclusiveMulticastEthernetTag(i) => Some(i.ethernet_tag),
            EvpnRoute::IpPrefix(p) => Some(p.ethernet_tag),
            EvpnRoute::EthernetSegment(_) | EvpnRoute::Unknown { .. } => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, EvpnRoute::Unknown { .. })
    }
}

impl From<EthernetAutoDiscoveryRoute> for EvpnRoute {
    fn from(r: EthernetAutoDiscoveryRoute) -> Self {
        EvpnRoute::EthernetAutoDiscovery(r)
    }
}

impl From<MacIpAdvertisementRoute> for EvpnRoute {
    fn from(r: MacIpAdvertisementRoute) -> Self {
        EvpnRoute::MacIpAdvertisement(r)
    }
}

impl From<InclusiveMulticastEthernetTagRoute> for EvpnRoute {
    fn from(r: InclusiveMulticastEthernetTagRoute) -> Self {
        EvpnRoute::InclusiveMulticastEthernetTag(r)
    }
}

impl From<EthernetSegmentRoute> for EvpnRoute {
    fn from(r: EthernetSegmentRoute) -> Self {
        EvpnRoute::EthernetSegment(r)
    }
}

impl From<IpPrefixRoute> for EvpnRoute {
    fn from(r: IpPrefixRoute) -> Self {
        EvpnRoute::IpPrefix(r)
    }
}

impl fmt::Display for EvpnRoute {
    /// Close to FRR's `show bgp l2vpn evpn` prefix form, with the RD first:
    /// `[2]:[65000:100]:[0]:[48]:[52:54:00:12:34:56]:[32]:[10.0.0.5]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvpnRoute::EthernetAutoDiscovery(a) => {
                write!(f, "[1]:[{}]:[{}]:[{}]", a.rd, a.esi, a.ethernet_tag)
            }
            EvpnRoute::MacIpAdvertisement(m) => {
                write!(f, "[2]:[{}]:[{}]:[48]:[{}]", m.rd, m.ethernet_tag, m.mac)?;
                match &m.ip {
                    Some(ip) => write!(f, ":[{}]:[{ip}]", ip_bits(ip)),
                    None => Ok(()),
                }
            }
            EvpnRoute::InclusiveMulticastEthernetTag(i) => {
                write!(
                    f,
                    "[3]:[{}]:[{}]:[{}]:[{}]",
                    i.rd,
                    i.ethernet_tag,
                    ip_bits(&i.originator),
                    i.originator
                )
            }
            EvpnRoute::EthernetSegment(e) => {
                write!(f, "[4]:[{}]:[{}]:[{}]:[{}]", e.rd, e.esi, ip_bits(&e.originator), e.originator)
            }
            EvpnRoute::IpPrefix(p) => {
                write!(f, "[5]:[{}]:[{}]:[{}]:[{}]", p.rd, p.ethernet_tag, p.prefix_len, p.prefix())
            }
            EvpnRoute::Unknown { route_type, value } => {
                write!(f, "[{route_type}]:[{} octets]", value.len())
            }
        }
    }
}

/// A lazy iterator over a whole EVPN NLRI field (the NLRI of one
/// MP_REACH_NLRI or MP_UNREACH_NLRI, without path identifiers). It never
/// allocates except for `Unknown` values; after the first error it yields
/// that error and stops.
#[derive(Debug, Clone)]
pub struct EvpnRoutes<'a> {
    r: Reader<'a>,
    keep_unknown: bool,
    done: bool,
}

impl<'a> EvpnRoutes<'a> {
    /// Iterate the routes in `field`, which starts `offset` octets into the
    /// message, skipping unknown route types (RFC 7606 §5.4).
    pub fn new(field: &'a [u8], offset: usize) -> Self {
        EvpnRoutes { r: Reader::at(field, offset), keep_unknown: false, done: false }
    }

    /// Like [`EvpnRoutes::new`] but yielding unknown route types as
    /// [`EvpnRoute::Unknown`] (for logging or byte-exact relaying).
    pub fn including_unknown(field: &'a [u8], offset: usize) -> Self {
        EvpnRoutes { r: Reader::at(field, offset), keep_unknown: true, done: false }
    }
}

impl Iterator for EvpnRoutes<'_> {
    type Item = Result<EvpnRoute, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each turn consumes at least two octets, so this loop is bounded
        // by the input length.
        while !self.done && !self.r.is_empty() {
            match decode_one(&mut self.r, self.keep_unknown) {
                Ok(Some(route)) => return Some(Ok(route)),
                Ok(None) => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done { (0, Some(0)) } else { (0, Some(self.r.remaining() / 2)) }
    }
}

/// Decode a whole EVPN NLRI field, skipping unknown route types.
pub fn decode_all(field: &[u8], offset: usize) -> Result<Vec<EvpnRoute>, DecodeError> {
    EvpnRoutes::new(field, offset).collect()
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::esi::strategies::esi;
    use crate::label::strategies::label;
    use crate::mac::strategies::mac;
    use crate::rd::strategies::rd;
    use proptest::prelude::*;

    pub fn ipv4() -> impl Strategy<Value = IpAddr> {
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a)))
    }

    pub fn ipv6() -> impl Strategy<Value = IpAddr> {
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)))
    }

    pub fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![ipv4(), ipv6()]
    }

    pub fn ethernet_auto_discovery() -> impl Strategy<Value = EthernetAutoDiscoveryRoute> {
        (rd(), esi(), any::<u32>(), label()).prop_map(|(rd, esi, ethernet_tag, label)| {
            EthernetAutoDiscoveryRoute { rd, esi, ethernet_tag, label }
        })
    }

    pub fn mac_ip_advertisement() -> impl Strategy<Value = MacIpAdvertisementRoute> {
        (rd(), esi(), any::<u32>(), mac(), proptest::option::of(ip()), label(), proptest::option::of(label()))
            .prop_map(|(rd, esi, ethernet_tag, mac, ip, label1, label2)| MacIpAdvertisementRoute {
                rd,
                esi,
                ethernet_tag,
                mac,
                ip,
                label1,
                label2,
            })
    }

    pub fn inclusive_multicast() -> impl Strategy<Value = InclusiveMulticastEthernetTagRoute> {
        (rd(), any::<u32>(), ip()).prop_map(|(rd, ethernet_tag, originator)| {
            InclusiveMulticastEthernetTagRoute { rd, ethernet_tag, originator }
        })
    }

    pub fn ethernet_segment() -> impl Strategy<Value = EthernetSegmentRoute> {
        (rd(), esi(), ip()).prop_map(|(rd, esi, originator)| EthernetSegmentRoute { rd, esi, originator })
    }

    pub fn ip_prefix_addrs() -> impl Strategy<Value = (u8, IpPrefixAddrs)> {
        prop_oneof![
            (0u8..=32, any::<u32>(), any::<u32>()).prop_map(|(l, p, g)| (
                l,
                IpPrefixAddrs::V4 { prefix: Ipv4Addr::from(p), gateway: Ipv4Addr::from(g) }
            )),
            (0u8..=128, any::<u128>(), any::<u128>()).prop_map(|(l, p, g)| (
                l,
                IpPrefixAddrs::V6 { prefix: Ipv6Addr::from(p), gateway: Ipv6Addr::from(g) }
            )),
        ]
    }

    pub fn ip_prefix() -> impl Strategy<Value = IpPrefixRoute> {
        (rd(), esi(), any::<u32>(), ip_prefix_addrs(), label()).prop_map(
            |(rd, esi, ethernet_tag, (prefix_len, addrs), label)| IpPrefixRoute {
                rd,
                esi,
                ethernet_tag,
                prefix_len,
                addrs,
                label,
            },
        )
    }

    /// An unknown route type (0 or 6..=255) with a value of at most 255 octets.
    pub fn unknown() -> impl Strategy<Value = EvpnRoute> {
        (prop_oneof![Just(0u8), 6u8..], proptest::collection::vec(any::<u8>(), 0..=255))
            .prop_map(|(route_type, value)| EvpnRoute::Unknown { route_type, value })
    }

    /// A known route of any type.
    pub fn known_route() -> impl Strategy<Value = EvpnRoute> {
        prop_oneof![
            ethernet_auto_discovery().prop_map(EvpnRoute::from),
            mac_ip_advertisement().prop_map(EvpnRoute::from),
            inclusive_multicast().prop_map(EvpnRoute::from),
            ethernet_segment().prop_map(EvpnRoute::from),
            ip_prefix().prop_map(EvpnRoute::from),
        ]
    }

    /// Any route, unknown types included.
    pub fn route() -> impl Strategy<Value = EvpnRoute> {
        prop_oneof![5 => known_route(), 1 => unknown()]
    }
}

#[cfg(test)]
mod tests;
