//! Route decoding/encoding tests: hand-built byte vectors for every route
//! type and length, the RFC 7606 length rules, unknown-type skipping, and
//! property tests.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::esi::EsiValue;
use proptest::prelude::*;

/// RD 65000:100 (type 0).
const RD0: [u8; 8] = [0, 0, 0xfd, 0xe8, 0, 0, 0, 100];
/// RD 192.0.2.1:3 (type 1).
const RD1: [u8; 8] = [0, 1, 192, 0, 2, 1, 0, 3];
/// ESI type 3, MAC aa:bb:cc:dd:ee:ff, discriminator 1.
const ESI3: [u8; 10] = [3, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0, 1];
const TAG: [u8; 4] = [0, 0, 0, 100];
const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/// VNI 10000.
const L2VNI: [u8; 3] = [0x00, 0x27, 0x10];
/// VNI 50000.
const L3VNI: [u8; 3] = [0x00, 0xc3, 0x50];
const V4: [u8; 4] = [10, 0, 0, 5];
const V6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];

fn rd0() -> RouteDistinguisher {
    RouteDistinguisher::As2 { asn: 65000, number: 100 }
}

fn rd1() -> RouteDistinguisher {
    RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 1), number: 3 }
}

fn esi3() -> Esi {
    Esi::from_value(EsiValue::MacBased {
        system_mac: MacAddress([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
        local_discriminator: 1,
    })
}

fn v4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(V4))
}

fn v6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(V6))
}

fn vni(v: u32) -> Label {
    Label::from_vni(v).unwrap()
}

/// Decode `bytes` at `offset`, check it is all consumed, equals `want`,
/// and re-encodes to the same bytes.
fn assert_wire(bytes: &[u8], want: &EvpnRoute) {
    let (got, used) = EvpnRoute::decode(bytes, 77).unwrap_or_else(|e| panic!("{want}: {e}"));
    assert_eq!(&got, want);
    assert_eq!(used, bytes.len());
    assert_eq!(got.wire_len(), bytes.len());
    assert_eq!(got.to_bytes(), bytes, "byte-exact re-encode of {want}");
    assert_eq!(usize::from(bytes[1]) + 2, bytes.len(), "test vector length octet");
}

#[test]
fn type_1_ethernet_auto_discovery() {
    let b = [&[1u8, 25][..], &RD1, &ESI3, &TAG, &L2VNI].concat();
    let want = EvpnRoute::EthernetAutoDiscovery(EthernetAutoDiscoveryRoute {
        rd: rd1(),
        esi: esi3(),
        ethernet_tag: 100,
        label: vni(10000),
    });
    assert_wire(&b, &want);
    assert_eq!(want.to_string(), "[1]:[192.0.2.1:3]:[03:aa:bb:cc:dd:ee:ff:00:00:01]:[100]");
}

#[test]
fn type_2_mac_ip_all_six_lengths() {
    let no_ip = vec![0u8];
    let ip4 = [&[32u8][..], &V4].concat();
    let ip6 = [&[128u8][..], &V6].concat();
    let l3 = Some(vni(50000));
    let cases = [
        (33u8, &no_ip, None, None),
        (36, &no_ip, None, l3),
        (37, &ip4, Some(v4()), None),
        (40, &ip4, Some(v4()), l3),
        (49, &ip6, Some(v6()), None),
        (52, &ip6, Some(v6()), l3),
    ];
    for (len, ip_field, ip, label2) in cases {
        let l2: &[u8] = if label2.is_some() { &L3VNI } else { &[] };
        let b = [&[2u8, len][..], &RD0, &ESI3, &TAG, &[48], &MAC, ip_field.as_slice(), &L2VNI, l2].concat();
        let want = EvpnRoute::MacIpAdvertisement(MacIpAdvertisementRoute {
            rd: rd0(),
            esi: esi3(),
            ethernet_tag: 100,
            mac: MacAddress(MAC),
            ip,
            label1: vni(10000),
            label2,
        });
        assert_wire(&b, &want);
    }
}

#[test]
fn type_2_display() {
    let b = [&[2u8, 37][..], &RD0, &[0; 10], &[0; 4], &[48], &MAC, &[32], &V4, &L2VNI].concat();
    let (r, _) = EvpnRoute::decode(&b, 0).unwrap();
    assert_eq!(r.to_string(), "[2]:[65000:100]:[0]:[48]:[52:54:00:12:34:56]:[32]:[10.0.0.5]");
    let EvpnRoute::MacIpAdvertisement(m) = r else { panic!("not type 2") };
    assert_eq!(m.label1.vni(), 10000);
    assert!(m.esi.is_zero());
}

#[test]
fn type_3_inclusive_multicast_v4_and_v6() {
    let b = [&[3u8, 17][..], &RD1, &[0; 4], &[32], &[192, 0, 2, 1]].concat();
    let want = EvpnRoute::InclusiveMulticastEthernetTag(InclusiveMulticastEthernetTagRoute {
        rd: rd1(),
        ethernet_tag: 0,
        originator: "192.0.2.1".parse().unwrap(),
    });
    assert_wire(&b, &want);

    let b = [&[3u8, 29][..], &RD1, &TAG, &[128], &V6].concat();
    let want = EvpnRoute::InclusiveMulticastEthernetTag(InclusiveMulticastEthernetTagRoute {
        rd: rd1(),
        ethernet_tag: 100,
        originator: v6(),
    });
    assert_wire(&b, &want);
    assert_eq!(want.to_string(), "[3]:[192.0.2.1:3]:[100]:[128]:[2001:db8::5]");
}

#[test]
fn type_4_ethernet_segment_v4_and_v6() {
    for (len, ip_field, ip) in
        [(23u8, [&[32u8][..], &V4].concat(), v4()), (35, [&[128u8][..], &V6].concat(), v6())]
    {
        let b = [&[4u8, len][..], &RD0, &ESI3, &ip_field].concat();
        let want =
            EvpnRoute::EthernetSegment(EthernetSegmentRoute { rd: rd0(), esi: esi3(), originator: ip });
        assert_wire(&b, &want);
    }
}

#[test]
fn type_5_ip_prefix_v4_and_v6() {
    let b = [&[5u8, 34][..], &RD0, &[0; 10], &[0; 4], &[24], &[192, 0, 2, 0], &[0; 4], &L3VNI].concat();
    let want = EvpnRoute::IpPrefix(IpPrefixRoute {
        rd: rd0(),
        esi: Esi::ZERO,
        ethernet_tag: 0,
        prefix_len: 24,
        addrs: IpPrefixAddrs::V4 { prefix: Ipv4Addr::new(192, 0, 2, 0), gateway: Ipv4Addr::UNSPECIFIED },
        label: vni(50000),
    });
    assert_wire(&b, &want);
    assert_eq!(want.to_string(), "[5]:[65000:100]:[0]:[24]:[192.0.2.0]");

    let gw6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let b = [&[5u8, 58][..], &RD1, &ESI3, &TAG, &[64], &V6, &gw6, &L3VNI].concat();
    let want = EvpnRoute::IpPrefix(IpPrefixRoute {
        rd: rd1(),
        esi: esi3(),
        ethernet_tag: 100,
        prefix_len: 64,
        addrs: IpPrefixAddrs::V6 { prefix: Ipv6Addr::from(V6), gateway: Ipv6Addr::from(gw6) },
        label: vni(50000),
    });
    assert_wire(&b, &want);
    let EvpnRoute::IpPrefix(p) = &want else { unreachable!() };
    assert!(p.is_ipv6());
    assert_eq!(p.gateway(), IpAddr::V6(Ipv6Addr::from(gw6)));
}

#[test]
fn type_5_host_bits_kept_on_the_wire() {
    let b = [&[5u8, 34][..], &RD0, &[0; 10], &[0; 4], &[24], &[192, 0, 2, 77], &[0; 4], &L3VNI].concat();
    let (r, _) = EvpnRoute::decode(&b, 0).unwrap();
    assert_eq!(r.to_bytes(), b);
}

/// Valid values of the length octet for each known route type.
fn valid_lengths(t: u8) -> &'static [u8] {
    match t {
        1 => &[25],
        2 => &[33, 36, 37, 40, 49, 52],
        3 => &[17, 29],
        4 => &[23, 35],
        5 => &[34, 58],
        _ => &[],
    }
}

#[test]
fn every_invalid_length_is_rejected_at_the_length_octet() {
    let fields = [
        (1u8, "Ethernet A-D route length"),
        (2, "MAC/IP advertisement route length"),
        (3, "inclusive multicast route length"),
        (4, "Ethernet segment route length"),
        (5, "IP prefix route length"),
    ];
    for (t, field) in fields {
        for len in 0..=255u8 {
            if valid_lengths(t).contains(&len) {
                continue;
            }
            let mut b = vec![t, len];
            b.resize(2 + usize::from(len), 0);
            let e = EvpnRoute::decode(&b, 1000).unwrap_err();
            assert_eq!(
                (e.offset, e.field, e.kind.clone()),
                (1001, field, ErrorKind::BadLength { length: len.into() }),
                "type {t} length {len}"
            );
            assert_eq!(crate::check(mdc_bgp::Family::L2VPN_EVPN, &b, 1000), Err(e));
        }
    }
}

#[test]
fn mac_length_must_be_48() {
    let b = [&[2u8, 33][..], &RD0, &ESI3, &TAG, &[47], &MAC, &[0], &L2VNI].concat();
    let e = EvpnRoute::decode(&b, 40).unwrap_err();
    // 40 + 2 (type, length) + 8 (RD) + 10 (ESI) + 4 (tag)
    assert_eq!((e.offset, e.field, e.kind), (64, "MAC address length", ErrorKind::BadLength { length: 47 }));
}

#[test]
fn ip_length_must_match_route_length() {
    // Length 37 says IPv4; the IP length field says 128.
    let b = [&[2u8, 37][..], &RD0, &ESI3, &TAG, &[48], &MAC, &[128], &V4, &L2VNI].concat();
    let e = EvpnRoute::decode(&b, 40).unwrap_err();
    assert_eq!((e.offset, e.field, e.kind), (71, "IP address length", ErrorKind::BadLength { length: 128 }));

    // Length 36 is "no IP + label2"; an IP length of 24 is not allowed.
    let b = [&[2u8, 36][..], &RD0, &ESI3, &TAG, &[48], &MAC, &[24], &L2VNI, &L3VNI].concat();
    let e = EvpnRoute::decode(&b, 0).unwrap_err();
    assert_eq!((e.offset, e.field, e.kind), (31, "IP address length", ErrorKind::BadLength { length: 24 }));

    // Type 3, length 29 (IPv6) with IP length 32.
    let b = [&[3u8, 29][..], &RD1, &TAG, &[32], &V6].concat();
    let e = EvpnRoute::decode(&b, 5).unwrap_err();
    assert_eq!((e.offset, e.field, e.kind), (19, "IP address length", ErrorKind::BadLength { length: 32 }));

    // Type 4, length 23 (IPv4) with IP length 0.
    let b = [&[4u8, 23][..], &RD1, &ESI3, &[0], &V4].concat();
    let e = EvpnRoute::decode(&b, 0).unwrap_err();
    assert_eq!((e.offset, e.field, e.kind), (20, "IP address length", ErrorKind::BadLength { length: 0 }));
}

#[test]
fn type_5_prefix_length_bounded_by_family() {
    let v4 = |plen: u8| [&[5u8, 34][..], &RD0, &[0; 10], &[0; 4], &[plen], &[0; 8], &L3VNI].concat();
    assert!(EvpnRoute::decode(&v4(32), 0).is_ok());
    let e = EvpnRoute::decode(&v4(33), 10).unwrap_err();
    assert_eq!((e.offset, e.field, e.kind), (34, "IP prefix length", ErrorKind::BadLength { length: 33 }));
    let v6 = |plen: u8| [&[5u8, 58][..], &RD0, &[0; 10], &[0; 4], &[plen], &[0; 32], &L3VNI].concat();
    assert!(EvpnRoute::decode(&v6(128), 0).is_ok());
    assert!(EvpnRoute::decode(&v6(129), 0).is_err());
}

#[test]
fn overrun_is_an_error_with_offset() {
    let b = [&[3u8, 17][..], &RD1, &[0; 4], &[32], &[192, 0, 2]].concat();
    let e = EvpnRoute::decode(&b, 23).unwrap_err();
    assert_eq!((e.offset, e.field), (25, "EVPN route value"));
    assert_eq!(e.kind, ErrorKind::Truncated { needed: 17, available: 16 });
}

#[test]
fn unknown_types_are_skipped_but_can_be_kept() {
    let t2 = [&[2u8, 33][..], &RD0, &ESI3, &TAG, &[48], &MAC, &[0], &L2VNI].concat();
    let t3 = [&[3u8, 17][..], &RD1, &[0; 4], &[32], &[192, 0, 2, 1]].concat();
    let field = [&t2[..], &[7, 3, 0xde, 0xad, 0xbe], &t3, &[0, 0], &[200, 1, 9]].concat();

    let known = decode_all(&field, 0).unwrap();
    assert_eq!(known.iter().map(EvpnRoute::route_type).collect::<Vec<_>>(), [2, 3]);

    let all: Vec<_> = EvpnRoutes::including_unknown(&field, 0).collect::<Result<_, _>>().unwrap();
    assert_eq!(all.iter().map(EvpnRoute::route_type).collect::<Vec<_>>(), [2, 7, 3, 0, 200]);
    assert_eq!(all[1], EvpnRoute::Unknown { route_type: 7, value: vec![0xde, 0xad, 0xbe] });
    assert!(all[3].is_unknown() && all[3].rd().is_none());
    let mut again = Vec::new();
    for r in &all {
        r.encode(&mut again);
    }
    assert_eq!(again, field, "unknown routes re-encode byte-exact");

    let (u, used) = EvpnRoute::decode(&field[t2.len()..], 0).unwrap();
    assert_eq!((u.route_type(), used), (7, 5));
}

#[test]
fn iteration_stops_after_first_error() {
    let t3 = [&[3u8, 17][..], &RD1, &[0; 4], &[32], &[192, 0, 2, 1]].concat();
    let bad = [2u8, 3, 0, 0, 0]; // type 2 with length 3
    let field = [&t3[..], &bad, &t3].concat();
    let mut it = EvpnRoutes::new(&field, 100);
    assert!(it.next().unwrap().is_ok());
    let e = it.next().unwrap().unwrap_err();
    assert_eq!((e.offset, e.field), (120, "MAC/IP advertisement route length"));
    assert!(it.next().is_none());
    assert_eq!(decode_all(&field, 100), Err(e));
}

#[test]
fn an_unknown_type_that_overruns_is_still_a_framing_error() {
    let field = [9u8, 10, 1, 2];
    let e = decode_all(&field, 0).unwrap_err();
    assert_eq!((e.offset, e.field), (2, "EVPN route value"));
}

#[test]
fn accessors() {
    let r = EvpnRoute::from(EthernetSegmentRoute { rd: rd0(), esi: esi3(), originator: v4() });
    assert_eq!((r.rd(), r.esi(), r.ethernet_tag()), (Some(rd0()), Some(esi3()), None));
    let r =
        EvpnRoute::from(InclusiveMulticastEthernetTagRoute { rd: rd1(), ethernet_tag: 9, originator: v4() });
    assert_eq!((r.rd(), r.esi(), r.ethernet_tag()), (Some(rd1()), None, Some(9)));
}

#[test]
fn oversized_unknown_value_is_clamped_not_misframed() {
    let r = EvpnRoute::Unknown { route_type: 42, value: vec![7; 300] };
    let b = r.to_bytes();
    assert_eq!(b.len(), 257);
    assert_eq!(&b[..2], &[42, 255]);
    assert_eq!(EvpnRoute::decode(&b, 0).unwrap().1, 257);
}

/// Arbitrary bytes shaped like EVPN NLRI: a plausible type and length and
/// a body that may be short, exact or long.
fn nlri_like() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..8,
        prop_oneof![
            any::<u8>(),
            prop::sample::select(vec![17u8, 23, 25, 29, 33, 34, 35, 36, 37, 40, 49, 52, 58])
        ],
    )
        .prop_flat_map(|(t, len)| {
            let n = usize::from(len);
            (Just(t), Just(len), proptest::collection::vec(any::<u8>(), n.saturating_sub(2)..n + 3))
        })
        .prop_map(|(t, len, body)| [&[t, len][..], &body].concat())
}

proptest! {
    #[test]
    fn round_trip_type_1(r in strategies::ethernet_auto_discovery()) {
        let r = EvpnRoute::from(r);
        let b = r.to_bytes();
        prop_assert_eq!(b.len(), 27);
        prop_assert_eq!(EvpnRoute::decode(&b, 0).unwrap(), (r, b.len()));
    }

    #[test]
    fn round_trip_type_2(r in strategies::mac_ip_advertisement()) {
        let r = EvpnRoute::from(r);
        let b = r.to_bytes();
        prop_assert!(valid_lengths(2).contains(&b[1]));
        prop_assert_eq!(EvpnRoute::decode(&b, 0).unwrap(), (r, b.len()));
    }

    #[test]
    fn round_trip_type_3(r in strategies::inclusive_multicast()) {
        let r = EvpnRoute::from(r);
        let b = r.to_bytes();
        prop_assert!(valid_lengths(3).contains(&b[1]));
        prop_assert_eq!(EvpnRoute::decode(&b, 0).unwrap(), (r, b.len()));
    }

    #[test]
    fn round_trip_type_4(r in strategies::ethernet_segment()) {
        let r = EvpnRoute::from(r);
        let b = r.to_bytes();
        prop_assert!(valid_lengths(4).contains(&b[1]));
        prop_assert_eq!(EvpnRoute::decode(&b, 0).unwrap(), (r, b.len()));
    }

    #[test]
    fn round_trip_type_5(r in strategies::ip_prefix()) {
        let r = EvpnRoute::from(r);
        let b = r.to_bytes();
        prop_assert!(valid_lengths(5).contains(&b[1]));
        prop_assert_eq!(EvpnRoute::decode(&b, 0).unwrap(), (r, b.len()));
    }

    #[test]
    fn round_trip_unknown(r in strategies::unknown()) {
        let b = r.to_bytes();
        prop_assert_eq!(EvpnRoute::decode(&b, 0).unwrap(), (r, b.len()));
    }

    /// A whole field of mixed routes: `decode_all` returns the known ones in
    /// order, `including_unknown` returns all of them.
    #[test]
    fn round_trip_field(routes in proptest::collection::vec(strategies::route(), 0..20), at in 0usize..5000) {
        let mut field = Vec::new();
        for r in &routes {
            r.encode(&mut field);
        }
        prop_assert_eq!(field.len(), routes.iter().map(EvpnRoute::wire_len).sum::<usize>());
        let known: Vec<_> = routes.iter().filter(|r| !r.is_unknown()).cloned().collect();
        prop_assert_eq!(decode_all(&field, at).unwrap(), known);
        let all: Vec<_> = EvpnRoutes::including_unknown(&field, at).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(all, routes);
    }

    /// Whatever decodes re-encodes to exactly the bytes consumed, and
    /// `split`/`check` agree with `decode`.
    #[test]
    fn decode_encode_is_byte_exact(b in nlri_like(), at in 0usize..100_000) {
        let f = mdc_bgp::Family::L2VPN_EVPN;
        let split = crate::split(f, &b, at);
        match EvpnRoute::decode(&b, at) {
            Ok((r, used)) => {
                prop_assert_eq!(r.to_bytes(), &b[..used]);
                prop_assert_eq!(split, Ok(used));
                prop_assert_eq!(crate::check(f, &b[..used], at), Ok(()));
            }
            Err(e) => {
                prop_assert!(e.offset >= at && e.offset <= at + b.len(), "offset {} outside input", e.offset);
                if let Ok(n) = split {
                    prop_assert_eq!(crate::check(f, &b[..n], at), Err(e));
                }
            }
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let f = mdc_bgp::Family::L2VPN_EVPN;
        let _ = crate::split(f, &b, 0);
        let _ = crate::check(f, &b, 0);
        let _ = EvpnRoute::decode(&b, 0);
        let n = EvpnRoutes::including_unknown(&b, 0).count();
        prop_assert!(n <= b.len() / 2 + 1);
        let _ = decode_all(&b, usize::MAX - 300);
    }

    #[test]
    fn never_panics_on_nlri_like_fields(parts in proptest::collection::vec(nlri_like(), 0..6)) {
        let b = parts.concat();
        let mut errors = 0;
        for r in EvpnRoutes::new(&b, 0) {
            match r {
                Ok(r) => prop_assert!(!r.is_unknown()),
                Err(e) => {
                    errors += 1;
                    prop_assert!(e.offset <= b.len());
                }
            }
        }
        prop_assert!(errors <= 1, "iteration continued after an error");
    }
}
