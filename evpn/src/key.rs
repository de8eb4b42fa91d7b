//! Route keys: what makes two EVPN NLRI "the same route" for the RIB
//! (RFC 7432 §7.1-7.4, RFC 9136 §3.1; see docs/adr/0002).
//!
//! A key holds the RD and the fields the RFCs name as part of the prefix,
//! nothing else: a newer advertisement with the same key replaces the old
//! one, and a withdrawal only needs the key fields to match. Owns no RIB
//! and no path attributes; the ADD-PATH path identifier, when present, is
//! added by the RIB next to the key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::esi::Esi;
use crate::mac::MacAddress;
use crate::rd::RouteDistinguisher;
use crate::route::{EvpnRoute, IpPrefixAddrs, route_type};

/// The key of an EVPN route.
///
/// | type | key fields                                   | not in the key       |
/// |------|----------------------------------------------|----------------------|
/// | 1    | RD, ESI, Ethernet tag                        | label                |
/// | 2    | RD, Ethernet tag, MAC, IP                    | ESI, label1, label2  |
/// | 3    | RD, Ethernet tag, originating router's IP    |                      |
/// | 4    | RD, ESI, originating router's IP             |                      |
/// | 5    | RD, Ethernet tag, prefix length, prefix      | ESI, gateway, label  |
///
/// The type-5 prefix has its host bits cleared (RFC 4271: they are
/// irrelevant), so `10.0.0.1/24` and `10.0.0.0/24` are one route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EvpnRouteKey {
    EthernetAutoDiscovery {
        rd: RouteDistinguisher,
        esi: Esi,
        ethernet_tag: u32,
    },
    MacIpAdvertisement {
        rd: RouteDistinguisher,
        ethernet_tag: u32,
        mac: MacAddress,
        ip: Option<IpAddr>,
    },
    InclusiveMulticastEthernetTag {
        rd: RouteDistinguisher,
        ethernet_tag: u32,
        originator: IpAddr,
    },
    EthernetSegment {
        rd: RouteDistinguisher,
        esi: Esi,
        originator: IpAddr,
    },
    IpPrefix {
        rd: RouteDistinguisher,
        ethernet_tag: u32,
        prefix_len: u8,
        prefix: IpAddr,
    },
    /// An unknown route type: the whole value is the key.
    Unknown {
        route_type: u8,
        value: Vec<u8>,
    },
}

fn mask_v4(a: Ipv4Addr, len: u8) -> Ipv4Addr {
    let m = u32::MAX.checked_shl(32 - u32::from(len.min(32))).unwrap_or(0);
    Ipv4Addr::from(u32::from(a) & m)
}

fn mask_v6(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let m = u128::MAX.checked_shl(128 - u32::from(len.min(128))).unwrap_or(0);
    Ipv6Addr::from(u128::from(a) & m)
}

fn put_ip_with_bits(out: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            out.push(32);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            out.push(128);
            out.extend_from_slice(&a.octets());
        }
    }
}

impl EvpnRoute {
    /// The key under which the RIB stores this route.
    pub fn key(&self) -> EvpnRouteKey {
        match self {
            EvpnRoute::EthernetAutoDiscovery(a) => {
                EvpnRouteKey::EthernetAutoDiscovery { rd: a.rd, esi: a.esi, ethernet_tag: a.ethernet_tag }
            }
            EvpnRoute::MacIpAdvertisement(m) => EvpnRouteKey::MacIpAdvertisement {
                rd: m.rd,
                ethernet_tag: m.ethernet_tag,
                mac: m.mac,
                ip: m.ip,
            },
            EvpnRoute::InclusiveMulticastEthernetTag(i) => EvpnRouteKey::InclusiveMulticastEthernetTag {
                rd: i.rd,
                ethernet_tag: i.ethernet_tag,
                originator: i.originator,
            },
            EvpnRoute::EthernetSegment(e) => {
                EvpnRouteKey::EthernetSegment { rd: e.rd, esi: e.esi, originator: e.originator }
            }
            EvpnRoute::IpPrefix(p) => EvpnRouteKey::IpPrefix {
                rd: p.rd,
                ethernet_tag: p.ethernet_tag,
                prefix_len: p.prefix_len,
                prefix: match p.addrs {
                    IpPrefixAddrs::V4 { prefix, .. } => IpAddr::V4(mask_v4(prefix, p.prefix_len)),
                    IpPrefixAddrs::V6 { prefix, .. } => IpAddr::V6(mask_v6(prefix, p.prefix_len)),
                },
            },
            EvpnRoute::Unknown { route_type, value } => {
                EvpnRouteKey::Unknown { route_type: *route_type, value: value.clone() }
            }
        }
    }
}

impl EvpnRouteKey {
    /// Longest key in octets ([`EvpnRouteKey::encode`]) of a known route
    /// type: type 2 with an IPv6 address.
    pub const MAX_KNOWN_LEN: usize = 1 + 8 + 4 + 6 + 1 + 16;

    pub fn route_type(&self) -> u8 {
        match self {
            EvpnRouteKey::EthernetAutoDiscovery { .. } => route_type::ETHERNET_AUTO_DISCOVERY,
            EvpnRouteKey::MacIpAdvertisement { .. } => route_type::MAC_IP_ADVERTISEMENT,
            EvpnRouteKey::InclusiveMulticastEthernetTag { .. } => {
                route_type::INCLUSIVE_MULTICAST_ETHERNET_TAG
            }
            EvpnRouteKey::EthernetSegment { .. } => route_type::ETHERNET_SEGMENT,
            EvpnRouteKey::IpPrefix { .. } => route_type::IP_PREFIX,
            EvpnRouteKey::Unknown { route_type, .. } => *route_type,
        }
    }

    /// The RD; `None` for unknown route types.
    pub fn rd(&self) -> Option<RouteDistinguisher> {
        match self {
            EvpnRouteKey::EthernetAutoDiscovery { rd, .. }
            | EvpnRouteKey::MacIpAdvertisement { rd, .. }
            | EvpnRouteKey::InclusiveMulticastEthernetTag { rd, .. }
            | EvpnRouteKey::EthernetSegment { rd, .. }
            | EvpnRouteKey::IpPrefix { rd, .. } => Some(*rd),
            EvpnRouteKey::Unknown { .. } => None,
        }
    }

    /// Append the canonical key octets: the route type, the RD, then the
    /// key fields in wire order, each IP address preceded by its length in
    /// bits (0 for a type-2 route without IP). Two keys are equal exactly
    /// when their octets are; this is the form a byte-keyed RIB stores.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.route_type());
        if let Some(rd) = self.rd() {
            rd.encode(out);
        }
        match self {
            EvpnRouteKey::EthernetAutoDiscovery { esi, ethernet_tag, .. } => {
                esi.encode(out);
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
            }
            EvpnRouteKey::MacIpAdvertisement { ethernet_tag, mac, ip, .. } => {
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
                out.extend_from_slice(&mac.0);
                match ip {
                    Some(ip) => put_ip_with_bits(out, ip),
                    None => out.push(0),
                }
            }
            EvpnRouteKey::InclusiveMulticastEthernetTag { ethernet_tag, originator, .. } => {
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
                put_ip_with_bits(out, originator);
            }
            EvpnRouteKey::EthernetSegment { esi, originator, .. } => {
                esi.encode(out);
                put_ip_with_bits(out, originator);
            }
            EvpnRouteKey::IpPrefix { ethernet_tag, prefix_len, prefix, .. } => {
                out.extend_from_slice(&ethernet_tag.to_be_bytes());
                // The address family is told by the total key length
                // (18 or 30 octets) as the prefix is the last field.
                out.push(*prefix_len);
                match prefix {
                    IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                    IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
                }
            }
            EvpnRouteKey::Unknown { value, .. } => out.extend_from_slice(value),
        }
    }

    /// The canonical key octets as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::MAX_KNOWN_LEN);
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::label::Label;
    use crate::route::strategies;
    use crate::route::{
        EthernetAutoDiscoveryRoute, EthernetSegmentRoute, InclusiveMulticastEthernetTagRoute, IpPrefixRoute,
        MacIpAdvertisementRoute,
    };
    use proptest::prelude::*;
    use std::collections::HashSet;

    const RD: RouteDistinguisher = RouteDistinguisher::As2 { asn: 65000, number: 100 };

    fn mac_ip(esi: Esi, label1: u32, label2: Option<u32>, ip: Option<IpAddr>) -> EvpnRoute {
        EvpnRoute::MacIpAdvertisement(MacIpAdvertisementRoute {
            rd: RD,
            esi,
            ethernet_tag: 0,
            mac: MacAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            ip,
            label1: Label::new(label1).unwrap(),
            label2: label2.map(|l| Label::new(l).unwrap()),
        })
    }

    #[test]
    fn type_2_key_ignores_esi_and_labels() {
        let ip = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)));
        let a = mac_ip(Esi::ZERO, 10000, None, ip);
        let b = mac_ip(Esi([3, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 20000, Some(50000), ip);
        assert_ne!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key().to_bytes(), b.key().to_bytes());
    }

    #[test]
    fn type_2_key_depends_on_mac_ip_tag_rd() {
        let ip4 = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)));
        let base = mac_ip(Esi::ZERO, 1, None, ip4);
        let mut variants = vec![base.clone(), mac_ip(Esi::ZERO, 1, None, None)];
        variants.push(mac_ip(Esi::ZERO, 1, None, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 6)))));
        variants.push(mac_ip(Esi::ZERO, 1, None, Some("2001:db8::5".parse().unwrap())));
        for f in [
            |m: &mut MacIpAdvertisementRoute| m.mac.0[5] ^= 1,
            |m: &mut MacIpAdvertisementRoute| m.ethernet_tag = 100,
            |m: &mut MacIpAdvertisementRoute| m.rd = RouteDistinguisher::As2 { asn: 65000, number: 101 },
        ] {
            let EvpnRoute::MacIpAdvertisement(mut m) = base.clone() else { unreachable!() };
            f(&mut m);
            variants.push(EvpnRoute::MacIpAdvertisement(m));
        }
        let keys: HashSet<_> = variants.iter().map(EvpnRoute::key).collect();
        let bytes: HashSet<_> = variants.iter().map(|r| r.key().to_bytes()).collect();
        assert_eq!(keys.len(), variants.len());
        assert_eq!(bytes.len(), variants.len());
    }

    #[test]
    fn type_1_key_ignores_label_type_5_ignores_esi_gateway_label() {
        let ad = |label| {
            EvpnRoute::from(EthernetAutoDiscoveryRoute {
                rd: RD,
                esi: Esi([1; 10]),
                ethernet_tag: u32::MAX,
                label: Label::new(label).unwrap(),
            })
        };
        assert_eq!(ad(1).key(), ad(2).key());

        let p = |esi, gw: [u8; 4], label, host: u8| {
            EvpnRoute::from(IpPrefixRoute {
                rd: RD,
                esi,
                ethernet_tag: 0,
                prefix_len: 24,
                addrs: IpPrefixAddrs::V4 { prefix: Ipv4Addr::new(192, 0, 2, host), gateway: gw.into() },
                label: Label::new(label).unwrap(),
            })
        };
        let a = p(Esi::ZERO, [0; 4], 5000, 0);
        let b = p(Esi([0, 1, 1, 1, 1, 1, 1, 1, 1, 1]), [192, 0, 2, 254], 6000, 7);
        assert_eq!(a.key(), b.key(), "host bits, ESI, gateway and label are not in the key");
        let EvpnRouteKey::IpPrefix { prefix, .. } = b.key() else { unreachable!() };
        assert_eq!(prefix, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 0)));
        let EvpnRoute::IpPrefix(mut c) = a.clone() else { unreachable!() };
        c.prefix_len = 25;
        assert_ne!(a.key(), EvpnRoute::from(c).key());
    }

    #[test]
    fn type_3_and_4_keys() {
        let imet = |tag, ip: &str| {
            EvpnRoute::from(InclusiveMulticastEthernetTagRoute {
                rd: RD,
                ethernet_tag: tag,
                originator: ip.parse().unwrap(),
            })
        };
        assert_eq!(imet(0, "192.0.2.1").key(), imet(0, "192.0.2.1").key());
        assert_ne!(imet(0, "192.0.2.1").key(), imet(1, "192.0.2.1").key());
        assert_ne!(imet(0, "192.0.2.1").key(), imet(0, "192.0.2.2").key());
        let es = |esi, ip: &str| {
            EvpnRoute::from(EthernetSegmentRoute { rd: RD, esi, originator: ip.parse().unwrap() })
        };
        assert_ne!(es(Esi::ZERO, "2001:db8::1").key(), es(Esi::MAX, "2001:db8::1").key());
        assert_eq!(
            es(Esi::ZERO, "192.0.2.1").key().to_bytes(),
            [&[4u8][..], &RD.to_bytes(), &[0; 10], &[32, 192, 0, 2, 1]].concat()
        );
    }

    #[test]
    fn key_bytes_layout_type_2() {
        let r = mac_ip(Esi::MAX, 7, Some(8), Some("2001:db8::5".parse().unwrap()));
        let k = r.key().to_bytes();
        assert_eq!(k.len(), EvpnRouteKey::MAX_KNOWN_LEN);
        assert_eq!(k[0], 2);
        assert_eq!(&k[1..9], &RD.to_bytes());
        assert_eq!(&k[9..13], &[0, 0, 0, 0]);
        assert_eq!(&k[13..19], &[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(k[19], 128);
    }

    proptest! {
        /// Typed keys and key octets agree on equality.
        #[test]
        fn key_bytes_are_injective(a in strategies::route(), b in strategies::route()) {
            let (ka, kb) = (a.key(), b.key());
            prop_assert_eq!(ka == kb, ka.to_bytes() == kb.to_bytes());
            prop_assert_eq!(ka.route_type(), a.route_type());
            prop_assert_eq!(ka.rd(), a.rd());
        }

        /// A route's key survives the wire.
        #[test]
        fn key_survives_round_trip(r in strategies::known_route()) {
            let (back, _) = EvpnRoute::decode(&r.to_bytes(), 0).unwrap();
            prop_assert_eq!(back.key(), r.key());
            prop_assert!(r.key().to_bytes().len() <= EvpnRouteKey::MAX_KNOWN_LEN);
        }
    }
}
