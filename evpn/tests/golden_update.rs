//! EVPN golden vectors (FRR 8.4 and GoBGP 3.10, evpn/tests/data/README.md)
//! decoded through `mdc-bgp` with the EVPN plug-in: every message decodes
//! cleanly, re-encodes byte-exact, and holds the routes and attributes the
//! capture put there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use mdc_bgp::SessionContext;
use mdc_bgp::attr::{AttrValue, MpNlri};
use mdc_bgp::update::{Outcome, Update};
use mdc_evpn::EvpnRoutes;

fn vectors() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for peer in ["frr", "gobgp"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(peer);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        files.sort();
        for f in files {
            out.push((
                format!("{peer}/{}", f.file_stem().unwrap().to_string_lossy()),
                std::fs::read(&f).unwrap(),
            ));
        }
    }
    out
}

fn routes(n: &MpNlri) -> String {
    match n {
        MpNlri::Typed(items) => items
            .iter()
            .flat_map(|i| EvpnRoutes::new(&i.bytes, 0))
            .map(|r| {
                let r = r.unwrap();
                match &r {
                    mdc_evpn::EvpnRoute::MacIpAdvertisement(m) => format!("{r} vni {}", m.label1.vni()),
                    mdc_evpn::EvpnRoute::IpPrefix(p) => {
                        format!("{r} gw {} vni {}", p.gateway(), p.label.vni())
                    }
                    mdc_evpn::EvpnRoute::EthernetAutoDiscovery(a) => format!("{r} vni {}", a.label.vni()),
                    _ => r.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => panic!("EVPN NLRI not framed by the plug-in: {other:?}"),
    }
}

fn summary(u: &Update) -> String {
    let parts: Vec<String> = u
        .attributes
        .iter()
        .map(|a| match &a.value {
            AttrValue::MpReach(m) => format!("reach {} nh {} [{}]", m.family, m.next_hop, routes(&m.nlri)),
            AttrValue::MpUnreach(m) => format!("unreach {} [{}]", m.family, routes(&m.nlri)),
            AttrValue::Origin(o) => format!("origin {o}"),
            AttrValue::AsPath(p) if p.segments.is_empty() => "as-path (empty)".into(),
            AttrValue::AsPath(p) => format!("as-path {p}"),
            AttrValue::LocalPref(l) => format!("local-pref {l}"),
            AttrValue::MultiExitDisc(m) => format!("med {m}"),
            AttrValue::ExtendedCommunities(c) => format!("ext {c}"),
            AttrValue::PmsiTunnel(p) => format!(
                "pmsi type {} vni {} endpoint {}",
                p.tunnel_type,
                p.vni(),
                p.ingress_replication_endpoint().map(|a| a.to_string()).unwrap_or_default()
            ),
            other => format!("{other:?}"),
        })
        .collect();
    parts.join(", ")
}

#[test]
#[ignore = "prints the summaries; run with --ignored --nocapture"]
fn print_summaries() {
    let ctx = SessionContext::modern().with_family_codec(mdc_evpn::family_codec());
    for (name, bytes) in vectors() {
        let d = Update::decode_message(&bytes, &ctx).unwrap();
        println!("(\"{name}\", \"{}\"),", summary(&d.update).replace('"', "\\\""));
    }
}

/// What each capture holds, cross-checked against capture.sh and tshark's
/// decode in evpn/tests/data/README.md. FRR zeroes the label in withdrawals
/// and the gateway when it re-advertises a type-5 route.
const EXPECTED: &[(&str, &str)] = &[
    ("frr/eor-evpn", "unreach l2vpn-evpn []"),
    (
        "frr/update-evpn-type2-mac",
        "reach l2vpn-evpn nh 192.0.2.2 [[2]:[192.0.2.2:2]:[0]:[48]:[02:00:00:00:20:02] vni 100], origin IGP, as-path 65002, ext ET:8 RT:65002:100",
    ),
    (
        "frr/update-evpn-type2-macip4",
        "reach l2vpn-evpn nh 192.0.2.2 [[2]:[192.0.2.2:2]:[0]:[48]:[02:00:00:00:20:02]:[32]:[192.0.2.102] vni 100], origin IGP, as-path 65002, ext ET:8 RT:65002:100",
    ),
    (
        "frr/update-evpn-type2-macip6",
        "reach l2vpn-evpn nh 192.0.2.2 [[2]:[192.0.2.2:2]:[0]:[48]:[02:00:00:00:20:02]:[128]:[2001:db8:100::102] vni 100], origin IGP, as-path 65002, ext ET:8 RT:65002:100",
    ),
    (
        "frr/update-evpn-type3-imet",
        "reach l2vpn-evpn nh 192.0.2.2 [[3]:[192.0.2.2:2]:[0]:[32]:[192.0.2.2]], origin IGP, as-path 65002, ext ET:8 RT:65002:100, pmsi type 6 vni 100 endpoint 192.0.2.2",
    ),
    (
        "frr/update-evpn-type5-from-gobgp",
        "reach l2vpn-evpn nh 192.0.2.4 [[5]:[192.0.2.4:100]:[0]:[27]:[198.51.100.224] gw 0.0.0.0 vni 100], origin incomplete, as-path 65001 65004, ext RT:65004:100 ET:8 Rmac:02:00:00:00:00:04",
    ),
    (
        "frr/withdraw-evpn-type2",
        "unreach l2vpn-evpn [[2]:[192.0.2.2:2]:[0]:[48]:[02:00:00:00:20:02]:[32]:[192.0.2.102] vni 0 [2]:[192.0.2.2:2]:[0]:[48]:[02:00:00:00:20:02]:[128]:[2001:db8:100::102] vni 0 [2]:[192.0.2.2:2]:[0]:[48]:[02:00:00:00:20:02]:[128]:[fe80::ff:fe00:2002] vni 0 [2]:[192.0.2.2:2]:[0]:[48]:[02:00:00:00:20:02] vni 0]",
    ),
    ("gobgp/eor-evpn", "unreach l2vpn-evpn []"),
    (
        "gobgp/update-evpn-type1-ad",
        "origin incomplete, as-path 65004, reach l2vpn-evpn nh 192.0.2.4 [[1]:[192.0.2.4:100]:[01:02:00:00:00:44:01:00:64:00]:[0] vni 100], ext RT:65004:100 ET:8",
    ),
    (
        "gobgp/update-evpn-type2-macip",
        "origin incomplete, as-path 65004, reach l2vpn-evpn nh 192.0.2.4 [[2]:[192.0.2.4:100]:[0]:[48]:[02:00:00:00:44:44]:[32]:[192.0.2.44] vni 100], ext RT:65004:100 ET:8",
    ),
    (
        "gobgp/update-evpn-type3-imet",
        "origin incomplete, as-path 65004, reach l2vpn-evpn nh 192.0.2.4 [[3]:[192.0.2.4:100]:[0]:[32]:[192.0.2.4]], ext RT:65004:100 ET:8, pmsi type 6 vni 100 endpoint 192.0.2.4",
    ),
    (
        "gobgp/update-evpn-type4-es",
        "origin incomplete, as-path 65004, reach l2vpn-evpn nh 192.0.2.4 [[4]:[192.0.2.4:100]:[01:02:00:00:00:44:01:00:64:00]:[32]:[192.0.2.4]], ext ET:8 ES-Import-Rt:02:00:00:00:44:01",
    ),
    (
        "gobgp/update-evpn-type5-ipv4",
        "origin incomplete, as-path 65004, reach l2vpn-evpn nh 192.0.2.4 [[5]:[192.0.2.4:100]:[0]:[27]:[198.51.100.224] gw 192.0.2.4 vni 100], ext RT:65004:100 ET:8 Rmac:02:00:00:00:00:04",
    ),
    (
        "gobgp/update-evpn-type5-ipv6",
        "origin incomplete, as-path 65004, reach l2vpn-evpn nh 192.0.2.4 [[5]:[192.0.2.4:100]:[0]:[48]:[2001:db8:5000::] gw :: vni 100], ext RT:65004:100 ET:8 Rmac:02:00:00:00:00:04",
    ),
    (
        "gobgp/withdraw-evpn-type5",
        "unreach l2vpn-evpn [[5]:[192.0.2.4:100]:[0]:[27]:[198.51.100.224] gw 192.0.2.4 vni 100]",
    ),
];

#[test]
fn every_evpn_vector_decodes_re_encodes_and_holds_what_was_captured() {
    let ctx = SessionContext::modern().with_family_codec(mdc_evpn::family_codec());
    let vectors = vectors();
    assert_eq!(vectors.len(), EXPECTED.len(), "a vector without an expected decode, or the reverse");
    for (name, bytes) in &vectors {
        let d = Update::decode_message(bytes, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.outcome, Outcome::Clean, "{name}: {:?}", d.diagnostics);
        assert_eq!(d.update.encode(&ctx).unwrap(), vec![bytes.clone()], "{name}: not byte-exact");
        let want = EXPECTED.iter().find(|(n, _)| n == name).map(|(_, w)| *w);
        assert_eq!(Some(summary(&d.update).as_str()), want, "{name}");
    }
    // Every route type 1-5 appears in at least one capture.
    let all: String = EXPECTED.iter().map(|(_, s)| *s).collect();
    for t in 1..=5 {
        assert!(all.contains(&format!("[{t}]:[")), "no type-{t} route captured");
    }
}
