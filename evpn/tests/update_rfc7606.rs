//! EVPN NLRI inside real UPDATEs decoded by `mdc-bgp` with the EVPN
//! plug-in: RFC 7606 outcomes (docs/adr/0002).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{IpAddr, Ipv4Addr};

use mdc_bgp::SessionContext;
use mdc_bgp::attr::{AttrValue, MpNlri};
use mdc_bgp::family::Family;
use mdc_bgp::update::{Outcome, Update};
use mdc_evpn::{
    Esi, EvpnRoute, EvpnRoutes, InclusiveMulticastEthernetTagRoute, Label, MacAddress,
    MacIpAdvertisementRoute, RouteDistinguisher,
};

fn ctx() -> SessionContext {
    SessionContext::modern().with_family_codec(mdc_evpn::family_codec())
}

fn rd() -> RouteDistinguisher {
    RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 1), number: 2 }
}

fn type2() -> Vec<u8> {
    EvpnRoute::MacIpAdvertisement(MacIpAdvertisementRoute {
        rd: rd(),
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac: MacAddress([0x02, 0, 0, 0, 0, 1]),
        ip: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))),
        label1: Label::from_vni(100).unwrap(),
        label2: None,
    })
    .to_bytes()
}

fn type3() -> Vec<u8> {
    EvpnRoute::InclusiveMulticastEthernetTag(InclusiveMulticastEthernetTagRoute {
        rd: rd(),
        ethernet_tag: 0,
        originator: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    })
    .to_bytes()
}

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags | 0x10, code];
    a.extend_from_slice(&(value.len() as u16).to_be_bytes());
    a.extend_from_slice(value);
    a
}

/// An UPDATE with ORIGIN, AS_PATH, the given ORIGIN value and an EVPN
/// MP_REACH_NLRI whose NLRI field is `nlri`, plus classic IPv4 NLRI.
fn update(origin: u8, nlri: &[u8], with_v4: bool) -> Vec<u8> {
    let mut mp = vec![0, 25, 70, 4, 192, 0, 2, 1, 0];
    mp.extend_from_slice(nlri);
    let mut attrs = attr(0x40, 1, &[origin]);
    attrs.extend(attr(0x40, 2, &[2, 1, 0, 0, 0xfd, 0xe9]));
    attrs.extend(attr(0x80, 14, &mp));
    let v4: &[u8] = if with_v4 { &[24, 203, 0, 113] } else { &[] };
    if with_v4 {
        attrs.extend(attr(0x40, 3, &[192, 0, 2, 1]));
    }
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + 4 + attrs.len() + v4.len()) as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&attrs);
    m.extend_from_slice(v4);
    m
}

fn evpn_routes(u: &Update) -> Vec<EvpnRoute> {
    let Some(MpNlri::Typed(items)) = u.mp_reach().map(|r| &r.nlri) else { return vec![] };
    items.iter().flat_map(|n| EvpnRoutes::new(&n.bytes, 0)).map(|r| r.unwrap()).collect()
}

#[test]
fn valid_routes_decode_and_re_encode_byte_exact() {
    let msg = update(0, &[type2(), type3()].concat(), false);
    let d = Update::decode_message(&msg, &ctx()).unwrap();
    assert_eq!(d.outcome, Outcome::Clean);
    let routes = evpn_routes(&d.update);
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].route_type(), 2);
    assert_eq!(routes[1].route_type(), 3);
    assert_eq!(d.update.encode(&ctx()).unwrap(), vec![msg]);
}

#[test]
fn unknown_route_type_is_skipped_not_fatal() {
    let unknown = [9u8, 3, 1, 2, 3];
    let msg = update(0, &[type2(), unknown.to_vec(), type3()].concat(), false);
    let d = Update::decode_message(&msg, &ctx()).unwrap();
    assert_eq!(d.outcome, Outcome::Clean);
    let routes = evpn_routes(&d.update);
    assert_eq!(routes.iter().map(EvpnRoute::route_type).collect::<Vec<_>>(), [2, 3]);
    // It is still carried, so the message re-encodes byte-exact.
    assert_eq!(d.update.encode(&ctx()).unwrap(), vec![msg]);
}

#[test]
fn known_type_with_invalid_length_disables_evpn_only() {
    // A type-2 route with length 34 (valid: 33, 37, 49, 36, 40, 52).
    let mut bad = type2();
    bad[1] = 34;
    bad.truncate(2 + 34);
    let msg = update(0, &[type3(), bad].concat(), true);
    let d = Update::decode_message(&msg, &ctx()).unwrap();
    assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::L2VPN_EVPN]));
    assert!(d.diagnostics[0].error.to_string().contains("byte"), "{}", d.diagnostics[0]);
    assert!(d.update.mp_reach().is_none());
    assert_eq!(d.update.nlri.len(), 1, "the IPv4 route in the same UPDATE survives");
}

#[test]
fn framing_overrun_disables_evpn() {
    let mut t3 = type3();
    t3[1] = 60; // runs past the end of the attribute
    let d = Update::decode_message(&update(0, &t3, false), &ctx()).unwrap();
    assert_eq!(d.outcome, Outcome::AfiSafiDisable(vec![Family::L2VPN_EVPN]));
}

#[test]
fn treat_as_withdraw_withdraws_the_evpn_routes() {
    let msg = update(7, &[type2(), type3()].concat(), false); // ORIGIN 7 is invalid
    let d = Update::decode_message(&msg, &ctx()).unwrap();
    assert_eq!(d.outcome, Outcome::TreatAsWithdraw);
    let unreach = d.update.mp_unreach().unwrap();
    assert_eq!(unreach.family, Family::L2VPN_EVPN);
    let MpNlri::Typed(items) = &unreach.nlri else { panic!("{:?}", unreach.nlri) };
    assert_eq!(items.len(), 2);
    assert!(d.update.attributes.iter().all(|a| matches!(a.value, AttrValue::MpUnreach(_))));
}

#[test]
fn without_the_plug_in_evpn_is_carried_as_one_raw_block() {
    let msg = update(0, &[type2(), type3()].concat(), false);
    let d = Update::decode_message(&msg, &SessionContext::modern()).unwrap();
    assert!(matches!(d.update.mp_reach().unwrap().nlri, MpNlri::Raw(_)));
    assert_eq!(d.update.encode(&SessionContext::modern()).unwrap(), vec![msg]);
}
