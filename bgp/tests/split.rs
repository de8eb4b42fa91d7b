//! Encoding never emits a message above the negotiated maximum: large
//! UPDATEs are split, and every route survives the split.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{Ipv4Addr, Ipv6Addr};

use mdc_bgp::aspath::AsPath;
use mdc_bgp::attr::{AttrValue, MpNlri, MpReach, MpUnreach, NextHop, Origin, PathAttribute};
use mdc_bgp::family::Family;
use mdc_bgp::nlri::{Ipv4Prefix, Ipv6Prefix, Nlri, Prefix};
use mdc_bgp::update::{Outcome, Update};
use mdc_bgp::{EncodeError, SessionContext};

fn v4(n: u32) -> Nlri {
    Nlri::new(Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from(0x0a00_0000 + (n << 8)), 24).unwrap()))
}

fn v6(n: u32) -> Nlri {
    let a = Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 | (u128::from(n) << 80));
    Nlri::new(Prefix::V6(Ipv6Prefix::new(a, 48).unwrap()))
}

fn base_attrs() -> Vec<PathAttribute> {
    vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001, 65002]))),
        PathAttribute::new(AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
    ]
}

/// Decode every message and gather what it announced and withdrew.
fn gather(messages: &[Vec<u8>], ctx: &SessionContext) -> (Vec<Nlri>, Vec<Nlri>, Vec<Nlri>, Vec<Nlri>) {
    let (mut ann, mut wd, mut ann6, mut wd6) = (vec![], vec![], vec![], vec![]);
    for m in messages {
        assert!(m.len() <= ctx.max_message_len(), "message of {} bytes", m.len());
        let d = Update::decode_message(m, ctx).unwrap();
        assert_eq!(d.outcome, Outcome::Clean, "{:?}", d.diagnostics);
        ann.extend(d.update.nlri.iter().copied());
        wd.extend(d.update.withdrawn.iter().copied());
        if let Some(r) = d.update.mp_reach() {
            if let MpNlri::Prefixes(p) = &r.nlri {
                ann6.extend(p.iter().copied());
            }
            assert_eq!(
                d.update.as_path().unwrap().to_string(),
                "65001 65002",
                "every part carries the attributes"
            );
        }
        if let Some(u) = d.update.mp_unreach()
            && let MpNlri::Prefixes(p) = &u.nlri
        {
            wd6.extend(p.iter().copied());
        }
    }
    (ann, wd, ann6, wd6)
}

#[test]
fn small_update_is_one_message() {
    let u = Update { withdrawn: vec![], attributes: base_attrs(), nlri: (0..10).map(v4).collect() };
    assert_eq!(u.encode(&SessionContext::modern()).unwrap().len(), 1);
}

#[test]
fn large_update_is_split_below_4096() {
    let ctx = SessionContext::modern();
    let mut attributes = base_attrs();
    attributes.push(PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
        family: Family::IPV6_UNICAST,
        next_hop: NextHop::V6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
        nlri: MpNlri::Prefixes((0..900).map(v6).collect()),
    }))));
    attributes.push(PathAttribute::new(AttrValue::MpUnreach(Box::new(MpUnreach {
        family: Family::IPV6_UNICAST,
        nlri: MpNlri::Prefixes((1000..1700).map(v6).collect()),
    }))));
    let u =
        Update { withdrawn: (5000..6000).map(v4).collect(), attributes, nlri: (0..2000).map(v4).collect() };
    let messages = u.encode(&ctx).unwrap();
    assert!(messages.len() > 5, "{} messages", messages.len());
    let (ann, wd, ann6, wd6) = gather(&messages, &ctx);
    assert_eq!(ann, u.nlri);
    assert_eq!(wd, u.withdrawn);
    assert_eq!(ann6, (0..900).map(v6).collect::<Vec<_>>());
    assert_eq!(wd6, (1000..1700).map(v6).collect::<Vec<_>>());
}

#[test]
fn extended_message_fits_more() {
    let u = Update { withdrawn: vec![], attributes: base_attrs(), nlri: (0..5000).map(v4).collect() };
    let normal = u.encode(&SessionContext::modern()).unwrap();
    let ctx = SessionContext { extended_message: true, ..SessionContext::modern() };
    let extended = u.encode(&ctx).unwrap();
    assert!(extended.len() < normal.len());
    assert!(extended.iter().any(|m| m.len() > 4096));
    let (ann, ..) = gather(&extended, &ctx);
    assert_eq!(ann.len(), 5000);
}

#[test]
fn attributes_too_large_for_any_message_is_an_error() {
    let mut attributes = base_attrs();
    attributes.push(PathAttribute::new(AttrValue::Unknown { code: 200, value: vec![0; 5000] }));
    let u = Update { withdrawn: vec![], attributes, nlri: vec![v4(1)] };
    assert!(matches!(u.encode(&SessionContext::modern()), Err(EncodeError::ExceedsMessageSize { .. })));
}

#[test]
fn two_families_of_withdrawals_go_in_separate_messages() {
    // Found by the `update` fuzzer: ORIGIN 5 (treat-as-withdraw) with
    // MP_UNREACH for IPv6 and MP_REACH for IPv4 leaves two MP_UNREACH_NLRI
    // in the model, which one message must not carry (RFC 7606 §3 g).
    let body = [
        0x00, 0x00, 0x00, 0x16, 0x40, 0x01, 0x01, 0x05, 0x80, 0x0f, 0x03, 0x00, 0x02, 0x01, 0x80, 0x0e, 0x09,
        0x00, 0x01, 0x01, 0x04, 0xc0, 0x00, 0x02, 0x01, 0x00,
    ];
    let ctx = SessionContext::modern();
    let d = Update::decode_body(&body, 19, &ctx).unwrap();
    assert_eq!(d.outcome, Outcome::TreatAsWithdraw);
    assert_eq!(d.update.attributes.len(), 2, "one MP_UNREACH_NLRI per family");
    let messages = d.update.encode(&ctx).unwrap();
    assert_eq!(messages.len(), 2);
    let mut families = Vec::new();
    for m in &messages {
        let again = Update::decode_message(m, &ctx).unwrap();
        assert_eq!(again.outcome, Outcome::Clean);
        families.push(again.update.mp_unreach().unwrap().family);
    }
    assert_eq!(families, [Family::IPV6_UNICAST, Family::IPV4_UNICAST]);
}

#[test]
fn mp_reach_too_long_for_its_attribute_length_field_is_split() {
    // 6000 IPv6 /48s are 42 000 bytes of NLRI: more than one message, and
    // with 4-byte path ids more than an attribute's 65535-byte length too.
    let ctx = SessionContext { extended_message: true, ..SessionContext::default() };
    let list: Vec<Nlri> = (0..6000).map(|n| Nlri { path_id: Some(n + 1), ..v6(n) }).collect();
    let mut attrs = base_attrs();
    attrs.pop();
    attrs.push(PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
        family: Family::IPV6_UNICAST,
        next_hop: NextHop::V6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
        nlri: MpNlri::Prefixes(list.clone()),
    }))));
    let u = Update { attributes: attrs, ..Update::default() };
    let ctx = SessionContext { add_path: vec![Family::IPV6_UNICAST], ..ctx };
    let messages = u.encode(&ctx).unwrap();
    assert!(messages.len() >= 2);
    let (_, _, ann6, _) = gather(&messages, &ctx);
    assert_eq!(ann6, list);
}

#[test]
fn withdrawals_too_long_for_the_length_field_are_split() {
    // 20 000 /24s are 80 000 bytes of withdrawn routes: more than the
    // 2-byte Withdrawn Routes Length can say, even with extended messages.
    let ctx = SessionContext { extended_message: true, ..SessionContext::modern() };
    let u = Update { withdrawn: (0..20_000).map(v4).collect(), ..Update::default() };
    let messages = u.encode(&ctx).unwrap();
    assert!(messages.len() >= 2);
    let (_, wd, ..) = gather(&messages, &ctx);
    assert_eq!(wd, u.withdrawn);
}
