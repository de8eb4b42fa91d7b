//! One test per RFC 7606 error class: the UPDATE decoder must take exactly
//! the action the RFC gives, with the right NOTIFICATION when it resets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mdc_bgp::attr::{AttrValue, MpNlri, code, flag};
use mdc_bgp::family::Family;
use mdc_bgp::rfc7606::Action;
use mdc_bgp::update::{Outcome, Update, UpdateDecode};
use mdc_bgp::{MessageError, SessionContext};

/// Build an UPDATE message from withdrawn bytes, raw attributes and NLRI bytes.
fn update(withdrawn: &[u8], attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut m = vec![0xff; 16];
    let len = 19 + 2 + withdrawn.len() + 2 + attrs.len() + nlri.len();
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&(withdrawn.len() as u16).to_be_bytes());
    m.extend_from_slice(withdrawn);
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&attrs);
    m.extend_from_slice(nlri);
    m
}

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code];
    if flags & flag::EXTENDED_LENGTH != 0 {
        a.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        a.push(value.len() as u8);
    }
    a.extend_from_slice(value);
    a
}

fn origin() -> Vec<u8> {
    attr(0x40, code::ORIGIN, &[0])
}
fn as_path() -> Vec<u8> {
    attr(0x40, code::AS_PATH, &[2, 1, 0, 0, 0xfd, 0xe9])
}
fn next_hop() -> Vec<u8> {
    attr(0x40, code::NEXT_HOP, &[192, 0, 2, 1])
}
fn med(v: u32) -> Vec<u8> {
    attr(0x80, code::MULTI_EXIT_DISC, &v.to_be_bytes())
}
/// 198.51.100.0/24 and 203.0.113.0/24
const NLRI: [u8; 8] = [24, 198, 51, 100, 24, 203, 0, 113];

/// MP_REACH_NLRI for IPv6 unicast with the given next hop and 2001:db8:1::/48.
fn mp_reach_v6(nh: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, nh.len() as u8];
    v.extend_from_slice(nh);
    v.push(0);
    v.extend_from_slice(&[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
    attr(0x90, code::MP_REACH_NLRI, &v)
}

fn v6_nh() -> [u8; 16] {
    "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets()
}

fn decode(msg: &[u8]) -> Result<UpdateDecode, MessageError> {
    Update::decode_message(msg, &SessionContext::modern())
}

fn ok(msg: &[u8]) -> UpdateDecode {
    decode(msg).unwrap_or_else(|e| panic!("unexpected session reset: {e}"))
}

fn assert_withdraws_all(d: &UpdateDecode, v4: usize) {
    assert_eq!(d.outcome, Outcome::TreatAsWithdraw, "{:?}", d.diagnostics);
    assert_eq!(d.update.withdrawn.len(), v4, "classic NLRI become withdrawals");
    assert!(d.update.nlri.is_empty());
    assert!(d.update.attributes.iter().all(|a| matches!(a.value, AttrValue::MpUnreach(_))));
}

#[test]
fn clean_update_is_clean() {
    let d = ok(&update(&[], &[origin(), as_path(), next_hop(), med(5)], &NLRI));
    assert_eq!(d.outcome, Outcome::Clean);
    assert!(d.diagnostics.is_empty());
    assert_eq!(d.update.nlri.len(), 2);
    assert_eq!(d.update.as_path().unwrap().to_string(), "65001");
}

#[test]
fn bad_origin_value_is_treat_as_withdraw() {
    let d = ok(&update(&[], &[attr(0x40, code::ORIGIN, &[3]), as_path(), next_hop()], &NLRI));
    assert_withdraws_all(&d, 2);
    assert_eq!(d.diagnostics[0].subcode, 6);
    // flags(1) type(1) len(1) after header(19) + withdrawn len(2) + attr len(2)
    assert_eq!(d.diagnostics[0].error.offset, 26);
}

#[test]
fn bad_origin_length_is_treat_as_withdraw() {
    let d = ok(&update(&[], &[attr(0x40, code::ORIGIN, &[0, 0]), as_path(), next_hop()], &NLRI));
    assert_withdraws_all(&d, 2);
    assert_eq!(d.diagnostics[0].subcode, 5);
}

#[test]
fn as_path_overrun_is_treat_as_withdraw() {
    let bad = attr(0x40, code::AS_PATH, &[2, 3, 0, 0, 0xfd, 0xe9]);
    let d = ok(&update(&[], &[origin(), bad, next_hop()], &NLRI));
    assert_withdraws_all(&d, 2);
    assert_eq!(d.diagnostics[0].subcode, 11);
    assert_eq!(d.diagnostics[0].error.field, "AS path segment");
}

#[test]
fn bad_next_hop_length_is_treat_as_withdraw() {
    let d = ok(&update(&[], &[origin(), as_path(), attr(0x40, code::NEXT_HOP, &[192, 0, 2, 1, 0])], &NLRI));
    assert_withdraws_all(&d, 2);
}

#[test]
fn bad_med_and_local_pref_lengths_are_treat_as_withdraw() {
    for (flags, c) in [(0x80, code::MULTI_EXIT_DISC), (0x40, code::LOCAL_PREF)] {
        let d = ok(&update(&[], &[origin(), as_path(), next_hop(), attr(flags, c, &[0, 0, 1])], &NLRI));
        assert_withdraws_all(&d, 2);
    }
}

#[test]
fn bad_community_lengths_are_treat_as_withdraw() {
    for (c, len) in [
        (code::COMMUNITIES, 5),
        (code::COMMUNITIES, 0),
        (code::EXTENDED_COMMUNITIES, 12),
        (code::LARGE_COMMUNITIES, 8),
        (code::IPV6_EXTENDED_COMMUNITIES, 16),
        (code::CLUSTER_LIST, 6),
    ] {
        let flags = if c == code::CLUSTER_LIST { 0x80 } else { 0xc0 };
        let d = ok(&update(&[], &[origin(), as_path(), next_hop(), attr(flags, c, &vec![1; len])], &NLRI));
        assert_withdraws_all(&d, 2);
        assert_eq!(d.diagnostics[0].attribute, Some(c));
    }
}

#[test]
fn bad_atomic_aggregate_and_aggregator_are_discarded() {
    let d = ok(&update(
        &[],
        &[
            origin(),
            as_path(),
            next_hop(),
            attr(0x40, code::ATOMIC_AGGREGATE, &[1]),
            attr(0xc0, code::AGGREGATOR, &[0; 6]),
        ],
        &NLRI,
    ));
    assert_eq!(d.outcome, Outcome::AttributeDiscard);
    assert_eq!(d.diagnostics.len(), 2);
    assert_eq!(d.update.nlri.len(), 2, "routes are kept");
    assert!(d.update.attribute(code::ATOMIC_AGGREGATE).is_none());
    assert!(d.update.attribute(code::AGGREGATOR).is_none());
    assert!(d.update.next_hop().is_some());
}

#[test]
fn malformed_as4_path_is_discarded() {
    let d = ok(&update(&[], &[origin(), as_path(), next_hop(), attr(0xc0, code::AS4_PATH, &[2, 0])], &NLRI));
    assert_eq!(d.outcome, Outcome::AttributeDiscard);
    assert_eq!(d.update.nlri.len(), 2);
}

#[test]
fn repeated_attribute_keeps_the_first() {
    let d = ok(&update(&[], &[origin(), as_path(), next_hop(), med(10), med(20)], &NLRI));
    assert_eq!(d.outcome, Outcome::AttributeDiscard);
    let meds: Vec<_> = d
        .update
        .attributes
        .iter()
        .filter_map(|a| if let AttrValue::MultiExitDisc(m) = a.value { Some(m) } else { None })
        .collect();
    assert_eq!(meds, [10]);
}

#[test]
fn repeated_mp_reach_resets_the_session() {
    let nh = v6_nh();
    let err =
        decode(&update(&[], &[origin(), as_path(), mp_reach_v6(&nh), mp_reach_v6(&nh)], &[])).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (3, 1));
}

#[test]
fn repeated_mp_unreach_resets_the_session() {
    let u = attr(0x80, code::MP_UNREACH_NLRI, &[0, 2, 1]);
    let err = decode(&update(&[], &[u.clone(), u], &[])).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (3, 1));
}

#[test]
fn bad_mp_reach_next_hop_length_disables_the_family() {
    let d = ok(&update(&[], &[origin(), as_path(), next_hop(), mp_reach_v6(&[1, 2, 3, 4, 5])], &NLRI));
    assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::IPV6_UNICAST]));
    assert_eq!(d.diagnostics[0].action, Action::AfiSafiDisable);
    assert_eq!(d.diagnostics[0].error.field, "next hop length");
    // The IPv4 routes in the same message are unaffected.
    assert_eq!(d.update.nlri.len(), 2);
    assert!(d.update.mp_reach().is_none());
}

#[test]
fn mp_unreach_nlri_overrun_disables_the_family() {
    let u = attr(0x80, code::MP_UNREACH_NLRI, &[0, 2, 1, 64, 0x20, 0x01]);
    let d = ok(&update(&[], &[u], &[]));
    assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::IPV6_UNICAST]));
}

#[test]
fn mp_reach_too_short_for_a_family_resets_with_the_attribute() {
    let short = attr(0x80, code::MP_REACH_NLRI, &[0, 2]);
    let err = decode(&update(&[], &[origin(), as_path(), short.clone()], &[])).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (3, 5));
    assert_eq!(err.notification.data, short, "data is the erroneous attribute");
}

#[test]
fn unrecognised_well_known_attribute_resets() {
    let bad = attr(0x40, 99, &[1, 2]);
    let err = decode(&update(&[], &[origin(), as_path(), next_hop(), bad.clone()], &NLRI)).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (3, 2));
    assert_eq!(err.notification.data, bad);
}

#[test]
fn unknown_optional_transitive_is_kept_and_marked_partial_when_passed_on() {
    let d = ok(&update(&[], &[origin(), as_path(), next_hop(), attr(0xc0, 99, &[1, 2, 3])], &NLRI));
    assert_eq!(d.outcome, Outcome::Clean);
    let a = d.update.attribute(99).unwrap();
    assert_eq!(a.value, AttrValue::Unknown { code: 99, value: vec![1, 2, 3] });
    assert_eq!(a.passed_on().unwrap().flags, 0xe0);
    let nt = ok(&update(&[], &[origin(), as_path(), next_hop(), attr(0x80, 98, &[1])], &NLRI));
    assert!(
        nt.update.attribute(98).unwrap().passed_on().is_none(),
        "optional non-transitive is not passed on"
    );
}

#[test]
fn attribute_overrunning_the_list_is_treat_as_withdraw() {
    // The last attribute claims 9 bytes but only 4 follow in the list.
    let mut broken = attr(0x40, code::NEXT_HOP, &[192, 0, 2, 1]);
    broken[2] = 9;
    let d = ok(&update(&[], &[origin(), as_path(), broken], &NLRI));
    assert_withdraws_all(&d, 2);
    assert_eq!(d.diagnostics[0].subcode, 1);
}

#[test]
fn withdrawn_length_overrunning_the_message_resets() {
    let mut m = update(&[24, 192, 0, 2], &[], &[]);
    m[20] = 200; // withdrawn routes length
    let err = decode(&m).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (3, 1));
    assert_eq!(err.error.offset, 21);
}

#[test]
fn bad_nlri_field_resets_with_invalid_network_field() {
    let err = decode(&update(&[], &[origin(), as_path(), next_hop()], &[33, 1, 2, 3, 4, 5])).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (3, 10));
    let err = decode(&update(&[24, 192, 0], &[], &[])).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (3, 10));
}

#[test]
fn missing_mandatory_attribute_is_treat_as_withdraw() {
    let d = ok(&update(&[], &[origin(), as_path()], &NLRI));
    assert_withdraws_all(&d, 2);
    assert_eq!(d.diagnostics[0].attribute, Some(code::NEXT_HOP));
    assert_eq!(d.diagnostics[0].subcode, 3);
    // MP_REACH alone needs no NEXT_HOP.
    let d = ok(&update(&[], &[origin(), as_path(), mp_reach_v6(&v6_nh())], &[]));
    assert_eq!(d.outcome, Outcome::Clean);
    // Withdrawals alone need no attributes at all.
    assert_eq!(ok(&update(&NLRI, &[], &[])).outcome, Outcome::Clean);
}

#[test]
fn attribute_flags_error_takes_the_attributes_action() {
    // ORIGIN marked optional: treat-as-withdraw.
    let d = ok(&update(&[], &[attr(0xc0, code::ORIGIN, &[0]), as_path(), next_hop()], &NLRI));
    assert_withdraws_all(&d, 2);
    assert_eq!(d.diagnostics[0].subcode, 4);
    // AGGREGATOR marked non-transitive: discard.
    let d =
        ok(&update(&[], &[origin(), as_path(), next_hop(), attr(0x80, code::AGGREGATOR, &[0; 8])], &NLRI));
    assert_eq!(d.outcome, Outcome::AttributeDiscard);
}

#[test]
fn strongest_action_wins() {
    // discard + treat-as-withdraw -> treat-as-withdraw
    let d = ok(&update(
        &[],
        &[attr(0x40, code::ORIGIN, &[7]), as_path(), next_hop(), attr(0x40, code::ATOMIC_AGGREGATE, &[1])],
        &NLRI,
    ));
    assert_eq!(d.outcome, Outcome::TreatAsWithdraw);
    assert_eq!(d.diagnostics.len(), 2);
    // treat-as-withdraw + AFI/SAFI disable -> AFI/SAFI disable, the rest withdrawn
    let d = ok(&update(
        &[],
        &[attr(0x40, code::ORIGIN, &[7]), as_path(), next_hop(), mp_reach_v6(&[0; 3])],
        &NLRI,
    ));
    assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::IPV6_UNICAST]));
    assert_eq!(d.update.withdrawn.len(), 2);
    // anything + session reset -> session reset
    assert!(decode(&update(&[], &[attr(0x40, code::ORIGIN, &[7]), attr(0x40, 77, &[])], &NLRI)).is_err());
}

#[test]
fn treat_as_withdraw_withdraws_mp_reach_nlri_too() {
    let d = ok(&update(&[], &[attr(0x40, code::ORIGIN, &[9]), as_path(), mp_reach_v6(&v6_nh())], &[]));
    assert_eq!(d.outcome, Outcome::TreatAsWithdraw);
    let u = d.update.mp_unreach().expect("MP_REACH NLRI turned into MP_UNREACH");
    assert_eq!(u.family, Family::IPV6_UNICAST);
    match &u.nlri {
        MpNlri::Prefixes(p) => assert_eq!(p[0].prefix.to_string(), "2001:db8:1::/48"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn end_of_rib_markers() {
    assert_eq!(ok(&update(&[], &[], &[])).update.end_of_rib(), Some(Family::IPV4_UNICAST));
    let eor = ok(&update(&[], &[attr(0x80, code::MP_UNREACH_NLRI, &[0, 2, 1])], &[]));
    assert_eq!(eor.update.end_of_rib(), Some(Family::IPV6_UNICAST));
    let ctx = SessionContext::modern();
    let encoded = Update::end_of_rib_marker(Family::IPV6_UNICAST).encode(&ctx).unwrap();
    assert_eq!(encoded, vec![update(&[], &[attr(0x80, code::MP_UNREACH_NLRI, &[0, 2, 1])], &[])]);
    // The decoder's answer agrees on clean markers.
    assert_eq!(eor.end_of_rib(), Some(Family::IPV6_UNICAST));
    assert_eq!(ok(&update(&[], &[], &[])).end_of_rib(), Some(Family::IPV4_UNICAST));
}

/// An UPDATE whose only attribute is a malformed MP_UNREACH_NLRI (or
/// MP_REACH_NLRI) is left empty by AFI/SAFI disable: it is that error, not
/// an IPv4 End-of-RIB (RFC 7606 §7.11, §5.3; RFC 4724 §2). Nor is one whose
/// only attribute was discarded.
#[test]
fn an_update_emptied_by_an_error_is_not_an_end_of_rib() {
    // IPv6 unicast, one prefix of length 200.
    let unreach = attr(0x80, code::MP_UNREACH_NLRI, &[0, 2, 1, 200, 0x20, 0x01]);
    let reach = {
        let mut v = vec![0, 2, 1, 16];
        v.extend_from_slice(&v6_nh());
        v.extend_from_slice(&[0, 200, 0x20, 0x01]);
        attr(0x80, code::MP_REACH_NLRI, &v)
    };
    for only in [unreach, reach] {
        let d = ok(&update(&[], &[only], &[]));
        assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::IPV6_UNICAST]));
        // What is left looks like the IPv4 marker; the message was not one.
        assert_eq!(d.update.end_of_rib(), Some(Family::IPV4_UNICAST));
        assert_eq!(d.end_of_rib(), None);
    }
    let aggregator = attr(0xc0, code::AGGREGATOR, &[0, 0, 0xfd, 0xe9, 192, 0, 2]);
    let d = ok(&update(&[], &[aggregator], &[]));
    assert_eq!(d.outcome, Outcome::AttributeDiscard);
    assert_eq!(d.end_of_rib(), None);
}

/// RFC 7607: AS 0 in AS_PATH makes the UPDATE malformed (treat-as-withdraw),
/// in any segment and position; the error names the ASN's byte offset.
#[test]
fn as_zero_in_as_path_is_treat_as_withdraw() {
    // AS_SET {65001} then AS_SEQUENCE {65002, 0}.
    let path = [1, 1, 0, 0, 0xfd, 0xe9, 2, 2, 0, 0, 0xfd, 0xea, 0, 0, 0, 0];
    let d = ok(&update(&[], &[origin(), attr(0x40, code::AS_PATH, &path), next_hop()], &NLRI));
    assert_withdraws_all(&d, 2);
    let diag = d.diagnostics.iter().find(|g| g.attribute == Some(code::AS_PATH)).unwrap();
    assert_eq!(diag.action, Action::TreatAsWithdraw);
    assert_eq!(diag.error.field, "AS_PATH");
    // Header 19 + withdrawn length 2 + attributes length 2 + ORIGIN 4 + AS_PATH header 3 = 30;
    // the zero is the 4th ASN field, after two segment headers and two ASNs.
    assert_eq!(diag.error.offset, 30 + 2 + 4 + 2 + 4, "{}", diag.error);

    // 2-octet session: AS 0 as the first ASN.
    let mut ctx = SessionContext::modern();
    ctx.four_octet_as = false;
    let msg =
        update(&[], &[origin(), attr(0x40, code::AS_PATH, &[2, 2, 0, 0, 0xfd, 0xe9]), next_hop()], &NLRI);
    let d = Update::decode_message(&msg, &ctx).unwrap();
    assert_withdraws_all(&d, 2);

    // The same path without the zero is clean: the check does not misfire.
    let path = [1, 1, 0, 0, 0xfd, 0xe9, 2, 2, 0, 0, 0xfd, 0xea, 0, 0, 0xfd, 0xeb];
    let d = ok(&update(&[], &[origin(), attr(0x40, code::AS_PATH, &path), next_hop()], &NLRI));
    assert_eq!(d.outcome, Outcome::Clean, "{:?}", d.diagnostics);
}

/// RFC 7607 with RFC 6793 §6 and RFC 7606 §7.7: AS 0 in AS4_PATH, AGGREGATOR
/// or AS4_AGGREGATOR: that attribute is discarded (never passed on), the
/// routes are kept.
#[test]
fn as_zero_in_as4_path_and_aggregators_is_attribute_discard() {
    let as4_path = attr(0xc0, code::AS4_PATH, &[2, 1, 0, 0, 0, 0]);
    let aggregator = attr(0xc0, code::AGGREGATOR, &[0, 0, 0, 0, 192, 0, 2, 1]);
    let as4_aggregator = attr(0xc0, code::AS4_AGGREGATOR, &[0, 0, 0, 0, 192, 0, 2, 1]);
    for (name, a, c) in [
        ("AS4_PATH", as4_path, code::AS4_PATH),
        ("AGGREGATOR", aggregator, code::AGGREGATOR),
        ("AS4_AGGREGATOR", as4_aggregator, code::AS4_AGGREGATOR),
    ] {
        let d = ok(&update(&[], &[origin(), as_path(), next_hop(), a], &NLRI));
        assert_eq!(d.outcome, Outcome::AttributeDiscard, "{name}: {:?}", d.diagnostics);
        assert_eq!(d.update.nlri.len(), 2, "{name}: routes are kept");
        assert!(d.update.attribute(c).is_none(), "{name} must not be passed on");
        assert_eq!(d.diagnostics.len(), 1);
        assert!(d.diagnostics[0].error.field.starts_with(name), "{name}: {}", d.diagnostics[0].error);
    }
    // A non-zero aggregator AS stays.
    let good = attr(0xc0, code::AGGREGATOR, &[0, 0, 0xfd, 0xe9, 192, 0, 2, 1]);
    let d = ok(&update(&[], &[origin(), as_path(), next_hop(), good], &NLRI));
    assert_eq!(d.outcome, Outcome::Clean);
    assert!(d.update.attribute(code::AGGREGATOR).is_some());
}
