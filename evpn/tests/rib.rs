//! EVPN routes through the RIB of `mdc-bgp`: stored under their RFC 7432
//! route key (labels and ESI are not part of it), re-advertised with the
//! NLRI their path came with, withdrawn with the NLRI that was sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use mdc_bgp::aspath::AsPath;
use mdc_bgp::attr::{AttrValue, MpNlri, MpReach, MpUnreach, NextHop, OpaqueNlri, Origin, PathAttribute};
use mdc_bgp::family::Family;
use mdc_bgp::fsm::{PeerConfig, RemoteAs};
use mdc_bgp::negotiate::negotiate;
use mdc_bgp::rib::{Message, Output, PeerId, PeerPolicy, Rib, RibConfig, SessionInfo};
use mdc_bgp::update::Update;
use mdc_evpn::esi::Esi;
use mdc_evpn::label::Label;
use mdc_evpn::mac::MacAddress;
use mdc_evpn::rd::RouteDistinguisher;
use mdc_evpn::route::{EvpnRoute, MacIpAdvertisementRoute};

const EVPN: Family = Family::L2VPN_EVPN;

fn session(asn: u32, id: &str, local: &str) -> SessionInfo {
    let mut ours = PeerConfig::new(65000, RemoteAs::Exact(asn), Ipv4Addr::new(192, 0, 2, 254));
    ours.families = vec![EVPN];
    ours.family_codecs = vec![mdc_evpn::family_codec()];
    let mut theirs = PeerConfig::new(asn, RemoteAs::Exact(65000), id.parse().unwrap());
    theirs.families = vec![EVPN];
    theirs.family_codecs = vec![mdc_evpn::family_codec()];
    let negotiated = negotiate(&ours, &ours.open(), &theirs.open()).unwrap();
    SessionInfo {
        negotiated: Arc::new(negotiated),
        local: local.parse().unwrap(),
        generation: 1,
        ipv6_next_hop: None,
    }
}

/// A type-2 route for `mac` from RD 192.0.2.1:100 with VNI `vni`.
fn mac_route(mac: u8, vni: u32) -> Bytes {
    let r = EvpnRoute::MacIpAdvertisement(MacIpAdvertisementRoute {
        rd: RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 1), number: 100 },
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac: MacAddress([0x02, 0, 0, 0, 0, mac]),
        ip: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, mac))),
        label1: Label::from_vni(vni).unwrap(),
        label2: None,
    });
    let mut out = Vec::new();
    r.encode(&mut out);
    Bytes::from(out)
}

fn reach(nlri: Vec<Bytes>) -> Update {
    let nlri = nlri.into_iter().map(|bytes| OpaqueNlri { path_id: None, bytes }).collect();
    Update {
        attributes: vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001]))),
            PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
                family: EVPN,
                next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
                nlri: MpNlri::Typed(nlri),
            }))),
        ],
        ..Update::default()
    }
}

fn unreach(nlri: Vec<Bytes>) -> Update {
    let nlri = nlri.into_iter().map(|bytes| OpaqueNlri { path_id: None, bytes }).collect();
    let u = MpUnreach { family: EVPN, nlri: MpNlri::Typed(nlri) };
    Update { attributes: vec![PathAttribute::new(AttrValue::MpUnreach(Box::new(u)))], ..Update::default() }
}

/// (announced, withdrawn) NLRI sent to `peer`, with the next hop announced.
fn sent(out: &[Output], peer: PeerId) -> (Vec<Bytes>, Vec<Bytes>, Option<NextHop>) {
    let (mut ann, mut wd, mut nh) = (vec![], vec![], None);
    for o in out {
        let Output::Send { peer: p, messages, .. } = o else { continue };
        if *p != peer {
            continue;
        }
        for m in messages {
            let Message::Update(u) = m else { continue };
            if let Some(r) = u.mp_reach()
                && let MpNlri::Typed(list) = &r.nlri
            {
                ann.extend(list.iter().map(|n| n.bytes.clone()));
                nh = Some(r.next_hop.clone());
            }
            if let Some(r) = u.mp_unreach()
                && let MpNlri::Typed(list) = &r.nlri
            {
                wd.extend(list.iter().map(|n| n.bytes.clone()));
            }
        }
    }
    (ann, wd, nh)
}

#[test]
fn evpn_routes_are_keyed_without_labels_and_passed_on_with_them() {
    let mut rib = Rib::new(RibConfig {
        ebgp_requires_policy: false,
        ..RibConfig::new(65000, Ipv4Addr::new(192, 0, 2, 254))
    });
    let a = rib.add_peer(PeerPolicy::new("192.0.2.1".parse().unwrap()));
    rib.peer_up(a, session(65001, "192.0.2.1", "192.0.2.254"));
    let b = rib.add_peer(PeerPolicy::new("198.51.100.250".parse().unwrap()));
    rib.peer_up(b, session(65002, "198.51.100.250", "198.51.100.254"));
    rib.flush();

    rib.update(a, &reach(vec![mac_route(1, 100), mac_route(2, 100)]));
    let out = rib.flush();
    let (ann, wd, nh) = sent(&out, b);
    assert_eq!(ann, vec![mac_route(1, 100), mac_route(2, 100)], "passed on byte for byte");
    assert!(wd.is_empty());
    assert_eq!(nh, Some(NextHop::V4(Ipv4Addr::new(198, 51, 100, 254))), "next hop self on eBGP");
    assert_eq!(rib.routes(EVPN, |_| true).len(), 2);

    // The same key with another VNI replaces the route (RFC 7432 §7: the
    // label is not part of the key).
    rib.update(a, &reach(vec![mac_route(1, 200)]));
    let out = rib.flush();
    assert_eq!(sent(&out, b).0, vec![mac_route(1, 200)]);
    let routes = rib.routes(EVPN, |_| true);
    assert_eq!(routes.len(), 2);
    assert!(routes.iter().all(|r| r.paths.len() == 1));

    // A withdrawal matches by key whatever its label; the peer gets the NLRI
    // it was sent.
    rib.update(a, &unreach(vec![mac_route(1, 0)]));
    let out = rib.flush();
    let (ann, wd, _) = sent(&out, b);
    assert!(ann.is_empty());
    assert_eq!(wd, vec![mac_route(1, 200)]);
    assert_eq!(rib.routes(EVPN, |_| true).len(), 1);

    // A session coming up gets the table (then End-of-RIB).
    let c = rib.add_peer(PeerPolicy::new("198.51.100.251".parse().unwrap()));
    rib.peer_up(c, session(65003, "198.51.100.251", "198.51.100.254"));
    assert_eq!(sent(&rib.flush(), c).0, vec![mac_route(2, 100)]);
    // A session going down takes its routes with it.
    rib.peer_down(a, &[]);
    let out = rib.flush();
    assert_eq!(sent(&out, b).1, vec![mac_route(2, 100)]);
    assert!(rib.routes(EVPN, |_| true).is_empty());
}
