//! Families and session contexts: RFC 8950 next hops, ADD-PATH, 2-octet AS
//! sessions with AS4_PATH merging, extended messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{Ipv4Addr, Ipv6Addr};

use mdc_bgp::aspath::{AS_TRANS, AsPath};
use mdc_bgp::attr::{Aggregator, AttrValue, MpNlri, MpReach, NextHop, Origin, PathAttribute};
use mdc_bgp::family::{Afi, Family};
use mdc_bgp::nlri::Nlri;
use mdc_bgp::update::{Outcome, Update};
use mdc_bgp::{Message, SessionContext};

fn v4_over_v6(link_local: bool) -> Update {
    Update {
        withdrawn: vec![],
        attributes: vec![
            PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
                family: Family::IPV4_UNICAST,
                next_hop: NextHop::V6 {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: link_local.then(|| "fe80::1".parse().unwrap()),
                },
                nlri: MpNlri::Prefixes(vec![Nlri::new("198.51.100.0/24".parse().unwrap())]),
            }))),
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001]))),
        ],
        nlri: vec![],
    }
}

#[test]
fn rfc8950_ipv4_routes_with_ipv6_next_hop() {
    let ctx = SessionContext {
        extended_next_hop: vec![(Family::IPV4_UNICAST, Afi::IPV6)],
        ..SessionContext::modern()
    };
    for ll in [false, true] {
        let u = v4_over_v6(ll);
        let wire = u.encode(&ctx).unwrap();
        let d = Update::decode_message(&wire[0], &ctx).unwrap();
        assert_eq!(d.outcome, Outcome::Clean);
        assert_eq!(d.update, u);
    }
    // Without the negotiated capability the next hop length is inconsistent
    // with the family: AFI/SAFI disable (RFC 7606 §7.11).
    let wire = v4_over_v6(false).encode(&ctx).unwrap();
    let d = Update::decode_message(&wire[0], &SessionContext::modern()).unwrap();
    assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::IPV4_UNICAST]));
}

#[test]
fn add_path_ids_are_read_only_when_negotiated() {
    let ctx = SessionContext::modern().with_add_path(Family::IPV4_UNICAST);
    let u = Update {
        withdrawn: vec![Nlri::with_path_id(9, "203.0.113.0/24".parse().unwrap())],
        attributes: vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001]))),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
        ],
        nlri: vec![
            Nlri::with_path_id(1, "198.51.100.0/24".parse().unwrap()),
            Nlri::with_path_id(2, "198.51.100.0/24".parse().unwrap()),
        ],
    };
    let wire = u.encode(&ctx).unwrap();
    assert_eq!(Update::decode_message(&wire[0], &ctx).unwrap().update, u);
    // Read without ADD-PATH, the path id bytes are taken as prefixes: the
    // first "prefix" has length 0 and the rest no longer parses.
    assert!(Update::decode_message(&wire[0], &SessionContext::modern()).is_err());
}

#[test]
fn two_octet_session_merges_as4_path_and_as4_aggregator() {
    let ctx = SessionContext::default(); // no 4-octet AS capability
    let u = Update {
        withdrawn: vec![],
        attributes: vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001, AS_TRANS, AS_TRANS]))),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
            PathAttribute::new(AttrValue::Aggregator(Aggregator {
                asn: AS_TRANS,
                address: Ipv4Addr::new(192, 0, 2, 9),
            })),
            PathAttribute::new(AttrValue::As4Path(AsPath::from_sequence(vec![4_200_000_001, 4_200_000_002]))),
            PathAttribute::new(AttrValue::As4Aggregator(Aggregator {
                asn: 4_200_000_002,
                address: Ipv4Addr::new(192, 0, 2, 9),
            })),
        ],
        nlri: vec![Nlri::new("198.51.100.0/24".parse().unwrap())],
    };
    let wire = u.encode(&ctx).unwrap();
    // AS_PATH is 2 bytes per AS on this session: 3 ASNs = 2 + 6 bytes.
    let d = Update::decode_message(&wire[0], &ctx).unwrap();
    assert_eq!(d.update, u);
    assert_eq!(d.update.as_path().unwrap().to_string(), "65001 23456 23456");
    assert_eq!(d.update.effective_as_path(&ctx).unwrap().to_string(), "65001 4200000001 4200000002");
    assert_eq!(d.update.effective_aggregator(&ctx).unwrap().asn, 4_200_000_002);
    // On a 4-octet session AS4_PATH is ignored.
    let modern = SessionContext::modern();
    let wire4 = u.encode(&modern).unwrap();
    let d4 = Update::decode_message(&wire4[0], &modern).unwrap();
    assert_eq!(d4.update.effective_as_path(&modern).unwrap().to_string(), "65001 23456 23456");
}

#[test]
fn four_octet_asns_become_as_trans_on_two_octet_sessions() {
    let ctx = SessionContext::default();
    let p = AsPath::from_sequence(vec![4_200_000_001, 65001]);
    let u = Update {
        withdrawn: vec![],
        attributes: vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(p)),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
        ],
        nlri: vec![Nlri::new("198.51.100.0/24".parse().unwrap())],
    };
    let d = Update::decode_message(&u.encode(&ctx).unwrap()[0], &ctx).unwrap();
    assert_eq!(d.update.as_path().unwrap().to_string(), "23456 65001");
}

#[test]
fn extended_messages_up_to_65535_bytes() {
    let nlri: Vec<Nlri> = (0..20_000u32)
        .map(|i| {
            Nlri::new(mdc_bgp::nlri::Prefix::new(Ipv4Addr::from(0x0a00_0000 | (i << 8)).into(), 24).unwrap())
        })
        .collect();
    let u = Update {
        withdrawn: vec![],
        attributes: vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001]))),
            PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
        ],
        nlri,
    };
    let ext = SessionContext { extended_message: true, ..SessionContext::modern() };
    let wire = u.encode(&ext).unwrap();
    assert!(wire.iter().all(|m| m.len() <= 65535));
    assert_eq!(wire.len(), 2, "80 000 bytes of NLRI need two extended messages");
    assert!(wire[0].len() > 60_000, "messages are filled up to the extended size");
    // A peer that did not negotiate extended messages must not send them.
    let err = Message::decode(&wire[0], &SessionContext::modern()).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (1, 2));
    assert_eq!(err.notification.data, wire[0][16..18].to_vec(), "data is the bad length field");
}

#[test]
fn mp_reach_next_hop_kinds() {
    let ctx = SessionContext::modern().with_family_codec(mdc_bgp::context::FamilyCodec {
        key: None,
        family: Family::L2VPN_EVPN,
        split: |_, nlri, off| match nlri {
            [_, len, ..] => Ok(2 + usize::from(*len)),
            _ => Err(mdc_bgp::DecodeError::new(off, "test", mdc_bgp::ErrorKind::Invalid("short"))),
        },
        check: |_, _, _| Ok(()),
    });
    for nh in [
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        NextHop::V6 { global: Ipv6Addr::LOCALHOST, link_local: None },
        NextHop::V6 { global: Ipv6Addr::LOCALHOST, link_local: Some("fe80::2".parse().unwrap()) },
    ] {
        let u = Update {
            withdrawn: vec![],
            attributes: vec![
                PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
                    family: Family::L2VPN_EVPN,
                    next_hop: nh,
                    nlri: MpNlri::Typed(vec![mdc_bgp::attr::OpaqueNlri {
                        path_id: None,
                        bytes: vec![3, 1, 9].into(),
                    }]),
                }))),
                PathAttribute::new(AttrValue::Origin(Origin::Igp)),
                PathAttribute::new(AttrValue::AsPath(AsPath::default())),
            ],
            nlri: vec![],
        };
        let d = Update::decode_message(&u.encode(&ctx).unwrap()[0], &ctx).unwrap();
        assert_eq!(d.outcome, Outcome::Clean);
        assert_eq!(d.update, u);
    }
}

#[test]
fn a_codec_that_consumes_nothing_cannot_hang_the_decoder() {
    let ctx = SessionContext::modern().with_family_codec(mdc_bgp::context::FamilyCodec {
        key: None,
        family: Family::L2VPN_EVPN,
        split: |_, _, _| Ok(0),
        check: |_, _, _| Ok(()),
    });
    let mut mp = vec![0x90, 14, 0, 10, 0, 25, 70, 4, 192, 0, 2, 1, 0, 3, 1, 9];
    mp[3] = (mp.len() - 4) as u8;
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + 4 + mp.len()) as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&[0, 0, 0, mp.len() as u8]);
    m.extend_from_slice(&mp);
    let d = Update::decode_message(&m, &ctx).unwrap();
    assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::L2VPN_EVPN]));
}
