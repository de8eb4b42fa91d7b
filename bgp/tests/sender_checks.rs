//! The checks that depend on who sent the UPDATE (`wire::semantic`): the
//! receive context of a session names its [`Sender`], and the decoder
//! withdraws or discards what this peer may not send, even well-formed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::Ipv6Addr;

use mdc_bgp::attr::{AttrValue, code};
use mdc_bgp::context::Sender;
use mdc_bgp::rfc7606::Action;
use mdc_bgp::update::{Outcome, Update, UpdateDecode};
use mdc_bgp::{Family, SessionContext};

const PEER_AS: u32 = 65002;

fn update(attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut m = vec![0xff; 16];
    let len = 19 + 2 + 2 + attrs.len() + nlri.len();
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&attrs);
    m.extend_from_slice(nlri);
    m
}

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code, value.len() as u8];
    a.extend_from_slice(value);
    a
}

fn origin() -> Vec<u8> {
    attr(0x40, code::ORIGIN, &[0])
}

/// AS_PATH of one segment of `kind` (1 set, 2 sequence, 3 confed
/// sequence, 4 confed set), 4-octet ASNs; no ASNs: an empty path.
fn as_path_of(kind: u8, asns: &[u32]) -> Vec<u8> {
    if asns.is_empty() {
        return attr(0x40, code::AS_PATH, &[]);
    }
    let mut v = vec![kind, asns.len() as u8];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    attr(0x40, code::AS_PATH, &v)
}

fn as_path(asns: &[u32]) -> Vec<u8> {
    as_path_of(2, asns)
}

fn next_hop(a: [u8; 4]) -> Vec<u8> {
    attr(0x40, code::NEXT_HOP, &a)
}

/// 198.51.100.0/24
const NLRI: [u8; 4] = [24, 198, 51, 100];

/// MP_REACH_NLRI for IPv6 unicast: next hop bytes, 2001:db8:1::/48.
fn mp_reach_v6(nh: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, nh.len() as u8];
    v.extend_from_slice(nh);
    v.push(0);
    v.extend_from_slice(&[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
    attr(0x80, code::MP_REACH_NLRI, &v)
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().unwrap().octets()
}

fn sender(external: bool) -> Sender {
    Sender {
        external,
        peer_as: PEER_AS,
        enforce_first_as: true,
        local_address: Some("192.0.2.1".parse().unwrap()),
        direct: true,
    }
}

fn ctx_of(s: Sender) -> SessionContext {
    SessionContext { sender: Some(s), ..SessionContext::modern() }
}

fn ebgp() -> SessionContext {
    ctx_of(sender(true))
}

fn ibgp() -> SessionContext {
    ctx_of(Sender { peer_as: 65001, ..sender(false) })
}

fn decode(msg: &[u8], ctx: &SessionContext) -> UpdateDecode {
    Update::decode_message(msg, ctx).unwrap_or_else(|e| panic!("unexpected session reset: {e}"))
}

fn assert_withdrawn(d: &UpdateDecode, attribute: u8) {
    assert_eq!(d.outcome, Outcome::TreatAsWithdraw, "{:?}", d.diagnostics);
    assert!(d.update.nlri.is_empty() && d.update.mp_reach().is_none(), "{:?}", d.update);
    assert!(!d.update.withdrawn.is_empty() || d.update.mp_unreach().is_some());
    assert!(d.diagnostics.iter().any(|x| x.attribute == Some(attribute)), "{:?}", d.diagnostics);
}

fn assert_clean(d: &UpdateDecode) {
    assert_eq!(d.outcome, Outcome::Clean, "{:?}", d.diagnostics);
    assert!(!d.update.nlri.is_empty() || d.update.mp_reach().is_some());
}

/// RFC 7606 §7.5, §7.9, §7.10: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST
/// from an external peer are discarded, well-formed or not, and the route
/// is kept; from an internal peer a bad length withdraws it.
#[test]
fn ibgp_only_attributes_from_an_external_peer_are_discarded() {
    let cases: [(u8, Vec<u8>, Vec<u8>); 3] = [
        (code::LOCAL_PREF, 100u32.to_be_bytes().to_vec(), vec![0, 100]),
        (code::ORIGINATOR_ID, vec![192, 0, 2, 7], vec![192, 0, 2]),
        (code::CLUSTER_LIST, vec![192, 0, 2, 7, 192, 0, 2, 8], vec![192, 0, 2, 7, 1]),
    ];
    for (c, good, bad) in cases {
        let flags = if c == code::LOCAL_PREF { 0x40 } else { 0x80 };
        for value in [&good, &bad] {
            let msg = update(
                &[origin(), as_path(&[PEER_AS]), next_hop([192, 0, 2, 2]), attr(flags, c, value)],
                &NLRI,
            );
            let d = decode(&msg, &ebgp());
            assert_eq!(d.outcome, Outcome::AttributeDiscard, "type {c} {value:?}: {:?}", d.diagnostics);
            assert_eq!(d.diagnostics.len(), 1);
            assert_eq!(
                (d.diagnostics[0].action, d.diagnostics[0].attribute),
                (Action::AttributeDiscard, Some(c))
            );
            assert_eq!(d.update.nlri.len(), 1, "the route is kept");
            assert!(d.update.attribute(c).is_none(), "type {c} is not kept");
            // The diagnostic points at the attribute's flags byte.
            assert_eq!(msg[d.diagnostics[0].error.offset + 1], c);

            let d = decode(&msg, &ibgp());
            if value == &good {
                assert_clean(&d);
                assert!(d.update.attribute(c).is_some());
            } else {
                assert_withdrawn(&d, c);
            }
        }
    }
}

/// RFC 5065 §5: confederation segments from a peer outside our
/// confederation (mdc is never in one) make the path malformed.
#[test]
fn confederation_segments_from_an_external_peer_withdraw() {
    for kind in [3u8, 4] {
        let confed = as_path_of(kind, &[64512]);
        let mut path = vec![2, 1];
        path.extend_from_slice(&PEER_AS.to_be_bytes());
        // Peer first, then the confederation segment.
        let mut value = path.clone();
        value.extend_from_slice(&confed[3..]);
        for p in [confed.clone(), attr(0x40, code::AS_PATH, &value)] {
            let msg = update(&[origin(), p.clone(), next_hop([192, 0, 2, 2])], &NLRI);
            let d = decode(&msg, &ebgp());
            assert_withdrawn(&d, code::AS_PATH);
            assert_eq!(
                d.diagnostics.iter().find(|x| x.attribute == Some(code::AS_PATH)).unwrap().subcode,
                11
            );
            // Not from an internal peer (and not without a sender).
            let ibgp_msg = update(&[origin(), p, next_hop([192, 0, 2, 2])], &NLRI);
            assert_clean(&decode(&ibgp_msg, &ibgp()));
            assert_clean(&decode(&ibgp_msg, &SessionContext::modern()));
        }
    }
}

/// RFC 4271 §6.3 with enforce-first-as: an external peer's path must start
/// with its AS; an empty one is withdrawn too. Off: both are taken.
#[test]
fn enforce_first_as() {
    let wrong = update(&[origin(), as_path(&[65099, PEER_AS]), next_hop([192, 0, 2, 2])], &NLRI);
    let empty = update(&[origin(), as_path(&[]), next_hop([192, 0, 2, 2])], &NLRI);
    let set_first = update(&[origin(), as_path_of(1, &[PEER_AS]), next_hop([192, 0, 2, 2])], &NLRI);
    let right = update(&[origin(), as_path(&[PEER_AS, 65099]), next_hop([192, 0, 2, 2])], &NLRI);
    for msg in [&wrong, &empty, &set_first] {
        let d = decode(msg, &ebgp());
        assert_withdrawn(&d, code::AS_PATH);
        let diag = d.diagnostics.iter().find(|x| x.attribute == Some(code::AS_PATH)).unwrap();
        assert_eq!(diag.subcode, 11);
        assert!(diag.to_string().contains("enforce-first-as"), "{diag}");
    }
    assert_clean(&decode(&right, &ebgp()));
    let off = ctx_of(Sender { enforce_first_as: false, ..sender(true) });
    for msg in [&wrong, &empty, &set_first, &right] {
        assert_clean(&decode(msg, &off));
    }
    // An internal peer's path does not start with its AS.
    assert_clean(&decode(&empty, &ibgp()));
    assert_clean(&decode(&wrong, &ibgp()));
}

/// On a 2-octet session a 4-octet peer AS is AS_TRANS in AS_PATH (RFC 6793).
#[test]
fn enforce_first_as_on_a_two_octet_session() {
    let ctx = SessionContext {
        four_octet_as: false,
        sender: Some(Sender { peer_as: 4_200_000_000, ..sender(true) }),
        ..SessionContext::default()
    };
    let path = |asn: u16| attr(0x40, code::AS_PATH, &[2, 1, (asn >> 8) as u8, asn as u8]);
    let d = decode(&update(&[origin(), path(23456), next_hop([192, 0, 2, 2])], &NLRI), &ctx);
    assert_clean(&d);
    let d = decode(&update(&[origin(), path(65099), next_hop([192, 0, 2, 2])], &NLRI), &ctx);
    assert_withdrawn(&d, code::AS_PATH);
}

/// RFC 4271 §6.3: a NEXT_HOP that cannot be forwarded to, or that is our
/// own address, is not usable: the routes are withdrawn.
#[test]
fn unusable_ipv4_next_hops_withdraw() {
    for bad in [
        [0, 0, 0, 0],
        [0, 1, 2, 3],
        [127, 0, 0, 1],
        [224, 0, 0, 1],
        [239, 1, 1, 1],
        [240, 0, 0, 1],
        [255, 255, 255, 255],
    ] {
        for ctx in [ebgp(), ibgp()] {
            let msg = update(&[origin(), as_path(&[PEER_AS]), next_hop(bad)], &NLRI);
            let d = decode(&msg, &ctx);
            assert_withdrawn(&d, code::NEXT_HOP);
            let diag = d.diagnostics.iter().find(|x| x.attribute == Some(code::NEXT_HOP)).unwrap();
            assert_eq!(diag.subcode, 8);
            assert_eq!(msg[diag.error.offset..diag.error.offset + 4], bad, "the offset is the address's");
        }
    }
    // Our end of the session.
    let d = decode(&update(&[origin(), as_path(&[PEER_AS]), next_hop([192, 0, 2, 1])], &NLRI), &ebgp());
    assert_withdrawn(&d, code::NEXT_HOP);
    assert!(d.diagnostics[0].to_string().contains("own address"), "{}", d.diagnostics[0]);
    // Usable ones.
    for good in [[192, 0, 2, 2], [10, 0, 0, 1], [223, 255, 255, 254]] {
        assert_clean(&decode(&update(&[origin(), as_path(&[PEER_AS]), next_hop(good)], &NLRI), &ebgp()));
    }
}

/// Loopback next hops name this host: usable on a session over loopback.
#[test]
fn a_loopback_next_hop_is_usable_on_a_loopback_session() {
    let ctx = ctx_of(Sender { local_address: Some("127.0.0.2".parse().unwrap()), ..sender(true) });
    let msg = update(&[origin(), as_path(&[PEER_AS]), next_hop([127, 0, 0, 1])], &NLRI);
    assert_clean(&decode(&msg, &ctx));
    let d = decode(&update(&[origin(), as_path(&[PEER_AS]), next_hop([127, 0, 0, 2])], &NLRI), &ctx);
    assert_withdrawn(&d, code::NEXT_HOP);
}

/// The classic NEXT_HOP is checked only when classic NLRI use it, and
/// nothing is checked without a sender (a decoder with no session).
#[test]
fn what_is_not_checked() {
    // MP_REACH_NLRI only: the classic NEXT_HOP is ignored (RFC 4760 §3).
    let msg = update(
        &[origin(), as_path(&[PEER_AS]), next_hop([0, 0, 0, 0]), mp_reach_v6(&v6("2001:db8::2"))],
        &[],
    );
    assert_clean(&decode(&msg, &ebgp()));
    // Withdrawals only.
    let mut w = vec![0xff; 16];
    w.extend_from_slice(&[0, 27, 2, 0, 4, 24, 198, 51, 100, 0, 0]);
    assert_eq!(decode(&w, &ebgp()).outcome, Outcome::Clean);
    // No sender: syntax only.
    let msg = update(
        &[origin(), as_path(&[65099]), next_hop([0, 0, 0, 0]), attr(0x40, code::LOCAL_PREF, &[0; 4])],
        &NLRI,
    );
    assert_clean(&decode(&msg, &SessionContext::modern()));
}

/// RFC 4760 §3, RFC 2545 §3: the MP_REACH_NLRI next hop, IPv6.
#[test]
fn unusable_ipv6_next_hops_withdraw() {
    let own = ctx_of(Sender { local_address: Some("2001:db8::1".parse().unwrap()), ..sender(true) });
    let not_direct = ctx_of(Sender { direct: false, ..sender(true) });
    let (ebgp, ibgp) = (ebgp(), ibgp());
    let mut both = v6("::").to_vec();
    both.extend_from_slice(&v6("fe80::2"));
    let mut global_and_ll = v6("2001:db8::2").to_vec();
    global_and_ll.extend_from_slice(&v6("fe80::2"));
    let mut ll_multicast = v6("2001:db8::2").to_vec();
    ll_multicast.extend_from_slice(&v6("ff02::2"));
    let cases: Vec<(Vec<u8>, &SessionContext, bool)> = vec![
        (v6("::").to_vec(), &ebgp, false),
        (v6("::1").to_vec(), &ebgp, false),
        (v6("ff02::1").to_vec(), &ebgp, false),
        (v6("ff0e::1").to_vec(), &ibgp, false),
        (ll_multicast, &ebgp, false),
        (v6("2001:db8::1").to_vec(), &own, false),
        // Link-local only: usable from a peer on our link, not from others.
        (v6("fe80::2").to_vec(), &ebgp, true),
        (v6("fe80::2").to_vec(), &not_direct, false),
        (both.clone(), &ebgp, true),
        (both, &not_direct, false),
        (global_and_ll.clone(), &not_direct, true),
        (v6("2001:db8::2").to_vec(), &own, true),
    ];
    for (nh, ctx, usable) in cases {
        let msg = update(&[origin(), as_path(&[PEER_AS]), mp_reach_v6(&nh)], &[]);
        let d = decode(&msg, ctx);
        if usable {
            assert_clean(&d);
        } else {
            assert_withdrawn(&d, code::MP_REACH_NLRI);
            assert_eq!(d.update.mp_unreach().unwrap().family, Family::IPV6_UNICAST);
            let diag = d.diagnostics.iter().find(|x| x.attribute == Some(code::MP_REACH_NLRI)).unwrap();
            assert_eq!(
                msg[diag.error.offset..diag.error.offset + 16],
                nh[..16],
                "the offset is the next hop's"
            );
        }
    }
}

/// The IPv4 next hop of an MP family (here IPv4 unicast over MP_REACH).
#[test]
fn unusable_ipv4_next_hop_in_mp_reach_withdraws() {
    let mp = |nh: [u8; 4]| {
        let mut v = vec![0, 1, 1, 4];
        v.extend_from_slice(&nh);
        v.extend_from_slice(&[0, 24, 203, 0, 113]);
        attr(0x80, code::MP_REACH_NLRI, &v)
    };
    let d = decode(&update(&[origin(), as_path(&[PEER_AS]), mp([224, 0, 0, 5])], &[]), &ebgp());
    assert_withdrawn(&d, code::MP_REACH_NLRI);
    let d = decode(&update(&[origin(), as_path(&[PEER_AS]), mp([192, 0, 2, 2])], &[]), &ebgp());
    assert_clean(&d);
    assert!(matches!(d.update.mp_reach().unwrap().next_hop, mdc_bgp::attr::NextHop::V4(_)));
}

/// The strongest action wins: a discarded LOCAL_PREF and a withdrawn path.
#[test]
fn checks_combine_with_the_strongest_action() {
    let msg = update(
        &[origin(), as_path(&[65099]), next_hop([192, 0, 2, 2]), attr(0x40, code::LOCAL_PREF, &[0, 0, 0, 5])],
        &NLRI,
    );
    let d = decode(&msg, &ebgp());
    assert_withdrawn(&d, code::AS_PATH);
    let actions: Vec<Action> = d.diagnostics.iter().map(|x| x.action).collect();
    assert_eq!(actions, vec![Action::AttributeDiscard, Action::TreatAsWithdraw]);
    assert!(d.update.attributes.iter().all(|a| matches!(a.value, AttrValue::MpUnreach(_))));
}
