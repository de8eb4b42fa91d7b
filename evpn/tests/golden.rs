//! Golden EVPN vectors captured from FRR and GoBGP (tests/golden/capture.sh
//! writes one raw BGP message per file to evpn/tests/data/<peer>/*.bin).
//!
//! The UPDATE is hand-parsed here, just far enough to find MP_REACH_NLRI
//! and MP_UNREACH_NLRI of L2VPN EVPN; every EVPN NLRI field found must
//! decode without error, re-encode byte-exact, and agree with the
//! `split`/`check` plug-in. The routes capture.sh injects through GoBGP
//! must all be among the GoBGP captures.
//!
//! The captures are committed: a missing evpn/tests/data (or one of its
//! peer folders) is a broken checkout, and the test fails naming it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use mdc_bgp::Family;
use mdc_evpn::{EsiValue, EvpnRoute, EvpnRoutes, IpPrefixAddrs, Label, RouteDistinguisher};

/// One EVPN NLRI field: which file, reach or unreach, its offset in the
/// message, and its bytes.
struct Field {
    file: PathBuf,
    reach: bool,
    offset: usize,
    bytes: Vec<u8>,
}

fn bin_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut entries: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            bin_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "bin") {
            out.push(p);
        }
    }
}

fn be16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

/// The EVPN NLRI fields of one BGP message (none unless it is an UPDATE).
fn evpn_fields(file: &Path, msg: &[u8]) -> Vec<Field> {
    assert!(msg.len() >= 19 && msg[..16] == [0xff; 16], "{}: not a BGP message", file.display());
    assert_eq!(be16(msg, 16), msg.len(), "{}: header length", file.display());
    if msg[18] != 2 {
        return Vec::new();
    }
    let withdrawn = be16(msg, 19);
    let attrs_at = 21 + withdrawn + 2;
    let attrs_end = attrs_at + be16(msg, 21 + withdrawn);
    let mut at = attrs_at;
    let mut out = Vec::new();
    while at < attrs_end {
        let (flags, code) = (msg[at], msg[at + 1]);
        let (len, value_at) =
            if flags & 0x10 != 0 { (be16(msg, at + 2), at + 4) } else { (usize::from(msg[at + 2]), at + 3) };
        let value = &msg[value_at..value_at + len];
        if code == 14 || code == 15 {
            let family = Family::new(mdc_bgp::Afi(be16(value, 0) as u16), mdc_bgp::Safi(value[2]));
            if family == Family::L2VPN_EVPN {
                // MP_REACH: AFI, SAFI, next-hop length, next hop, reserved.
                let nlri_at = if code == 14 { 3 + 1 + usize::from(value[3]) + 1 } else { 3 };
                out.push(Field {
                    file: file.to_owned(),
                    reach: code == 14,
                    offset: value_at + nlri_at,
                    bytes: value[nlri_at..].to_vec(),
                });
            }
        }
        at = value_at + len;
    }
    assert_eq!(at, attrs_end, "{}: attributes overrun", file.display());
    out
}

#[test]
fn golden_evpn_vectors() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    // Committed with the code: missing means a broken checkout, not "not
    // captured yet".
    for dir in [data.clone(), data.join("frr"), data.join("gobgp")] {
        assert!(dir.is_dir(), "{} is missing: the golden EVPN vectors are committed", dir.display());
    }
    let mut files = Vec::new();
    bin_files(&data, &mut files);
    let mut fields = Vec::new();
    for f in &files {
        fields.extend(evpn_fields(f, &std::fs::read(f).unwrap()));
    }
    assert!(!fields.is_empty(), "{} holds {} messages but no EVPN NLRI", data.display(), files.len());

    let mut reached = Vec::new();
    for field in &fields {
        let what = format!("{} (EVPN NLRI at byte {})", field.file.display(), field.offset);
        let routes: Vec<EvpnRoute> = EvpnRoutes::including_unknown(&field.bytes, field.offset)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut again = Vec::new();
        let mut at = 0;
        for r in &routes {
            let n = mdc_evpn::split(Family::L2VPN_EVPN, &field.bytes[at..], field.offset + at).unwrap();
            assert_eq!(n, r.wire_len(), "{what}: split of {r}");
            mdc_evpn::check(Family::L2VPN_EVPN, &field.bytes[at..at + n], field.offset + at).unwrap();
            at += n;
            r.encode(&mut again);
        }
        assert_eq!(again, field.bytes, "{what}: re-encoding is not byte-exact");
        assert!(routes.iter().all(|r| !r.is_unknown()), "{what}: FRR and GoBGP send only types 1-5");
        if field.reach {
            reached.extend(routes.into_iter().map(|r| (field.file.clone(), r)));
        }
    }
    eprintln!("{} EVPN fields, {} reachable routes", fields.len(), reached.len());

    // Every advertised route with GoBGP's RD (seen from GoBGP itself or
    // relayed by FRR) is one of the routes capture.sh injected, field for
    // field.
    let gobgp_rd = RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 4), number: 100 };
    let want = gobgp_routes();
    let mut seen = 0;
    for (file, r) in reached.iter().filter(|(_, r)| r.rd() == Some(gobgp_rd)) {
        seen += 1;
        // FRR re-advertises a type-5 route with the gateway IP zeroed (it
        // sets one only with `advertise ... gateway-ip`); GoBGP's own
        // captures carry the gateway capture.sh gave.
        let relayed_by_frr = file.components().any(|c| c.as_os_str() == "frr");
        let r = &match r {
            EvpnRoute::IpPrefix(p) if relayed_by_frr => {
                assert!(p.gateway().is_unspecified(), "{}: FRR relayed {r} with a gateway", file.display());
                // Compare the rest with the gateway GoBGP originated.
                let mut p = *p;
                p.addrs = match p.addrs {
                    IpPrefixAddrs::V4 { prefix, .. } => {
                        IpPrefixAddrs::V4 { prefix, gateway: Ipv4Addr::new(192, 0, 2, 4) }
                    }
                    IpPrefixAddrs::V6 { prefix, .. } => {
                        IpPrefixAddrs::V6 { prefix, gateway: std::net::Ipv6Addr::UNSPECIFIED }
                    }
                };
                EvpnRoute::IpPrefix(p)
            }
            other => other.clone(),
        };
        assert!(
            want.iter().any(|w| r.key() == w.key() && matches_values(r, w)),
            "{}: {r} has GoBGP's RD but is not a route capture.sh injected",
            file.display()
        );
    }
    assert!(seen > 0, "GoBGP captures hold no EVPN route with RD {gobgp_rd}");
}

/// The routes capture.sh adds with `gobgp global rib -a evpn add ...`.
fn gobgp_routes() -> Vec<EvpnRoute> {
    use mdc_evpn::*;
    let rd = RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 4), number: 100 };
    let vtep = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 4));
    let l100 = Label::from_vni(100).unwrap();
    let lacp =
        Esi::from_value(EsiValue::Lacp { system_mac: MacAddress([2, 0, 0, 0, 0x44, 1]), port_key: 100 });
    vec![
        IpPrefixRoute {
            rd,
            esi: Esi::ZERO,
            ethernet_tag: 0,
            prefix_len: 27,
            addrs: IpPrefixAddrs::V4 {
                prefix: Ipv4Addr::new(198, 51, 100, 224),
                gateway: Ipv4Addr::new(192, 0, 2, 4),
            },
            label: l100,
        }
        .into(),
        IpPrefixRoute {
            rd,
            esi: Esi::ZERO,
            ethernet_tag: 0,
            prefix_len: 48,
            addrs: IpPrefixAddrs::V6 {
                prefix: "2001:db8:5000::".parse().unwrap(),
                gateway: std::net::Ipv6Addr::UNSPECIFIED,
            },
            label: l100,
        }
        .into(),
        MacIpAdvertisementRoute {
            rd,
            esi: Esi::ZERO,
            ethernet_tag: 0,
            mac: MacAddress([2, 0, 0, 0, 0x44, 0x44]),
            ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 44))),
            label1: l100,
            label2: None,
        }
        .into(),
        InclusiveMulticastEthernetTagRoute { rd, ethernet_tag: 0, originator: vtep }.into(),
        EthernetAutoDiscoveryRoute { rd, esi: lacp, ethernet_tag: 0, label: l100 }.into(),
        EthernetSegmentRoute { rd, esi: lacp, originator: vtep }.into(),
    ]
}

/// Same key, and the non-key values capture.sh set (ESI, labels, gateway).
fn matches_values(got: &EvpnRoute, want: &EvpnRoute) -> bool {
    let label_ok = |l: Label| l.vni() == 100 || l.mpls_label() == 100;
    match (got, want) {
        (EvpnRoute::IpPrefix(g), EvpnRoute::IpPrefix(w)) => {
            g.esi == w.esi && g.addrs == w.addrs && label_ok(g.label)
        }
        (EvpnRoute::MacIpAdvertisement(g), EvpnRoute::MacIpAdvertisement(w)) => {
            g.esi == w.esi && label_ok(g.label1)
        }
        (EvpnRoute::EthernetAutoDiscovery(g), EvpnRoute::EthernetAutoDiscovery(_)) => {
            matches!(g.esi.value(), EsiValue::Lacp { port_key: 100, .. }) && label_ok(g.label)
        }
        (EvpnRoute::InclusiveMulticastEthernetTag(_), EvpnRoute::InclusiveMulticastEthernetTag(_))
        | (EvpnRoute::EthernetSegment(_), EvpnRoute::EthernetSegment(_)) => true,
        _ => false,
    }
}

#[test]
fn hand_parser_finds_evpn_in_a_built_update() {
    // An UPDATE with ORIGIN and an MP_REACH_NLRI (extended length) carrying
    // one type-3 route, built by hand: checks the parser above so that the
    // golden test does not pass by finding nothing.
    let route = EvpnRoute::from(mdc_evpn::InclusiveMulticastEthernetTagRoute {
        rd: RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 4), number: 100 },
        ethernet_tag: 0,
        originator: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 4)),
    });
    let nlri = route.to_bytes();
    let mut mp = vec![0, 25, 70, 4, 192, 0, 2, 4, 0];
    mp.extend_from_slice(&nlri);
    let mut attrs = vec![0x40, 1, 1, 0];
    attrs.extend_from_slice(&[0x90, 14]);
    attrs.extend_from_slice(&(mp.len() as u16).to_be_bytes());
    attrs.extend_from_slice(&mp);
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&[0, 0, 2, 0, 0]);
    msg.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    msg.extend_from_slice(&attrs);
    let len = msg.len() as u16;
    msg[16..18].copy_from_slice(&len.to_be_bytes());

    let fields = evpn_fields(Path::new("built"), &msg);
    assert_eq!(fields.len(), 1);
    assert!(fields[0].reach);
    assert_eq!(fields[0].bytes, nlri);
    // 19 header + 2 withdrawn len + 2 attrs len + 4 ORIGIN + 4 MP header + 9 MP fixed
    assert_eq!(fields[0].offset, 40);
    let (back, _) = EvpnRoute::decode(&fields[0].bytes, fields[0].offset).unwrap();
    assert_eq!(back, route);
}
