//! Golden vectors: messages captured from FRR 8.4, BIRD 2.0.12 and GoBGP
//! 3.10 (tests/data/README.md says how each was made). Every one must
//! decode cleanly and re-encode byte-exact; `checks()` asserts the decoded
//! field values of each file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mdc_bgp::family::{Afi, Family};
use mdc_bgp::update::{Outcome, Update};
use mdc_bgp::{Message, SessionContext};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every stored vector, as (peer/name, bytes).
pub fn vectors() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for peer in ["frr", "bird", "gobgp"] {
        let dir = data_dir().join(peer);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        names.sort();
        for p in names {
            let name = format!("{peer}/{}", p.file_stem().unwrap().to_string_lossy());
            out.push((name, std::fs::read(&p).unwrap()));
        }
    }
    out
}

/// The session context each capture was made under, from its name.
pub fn context_for(name: &str) -> SessionContext {
    let mut ctx = SessionContext::modern();
    if name.contains("2octet") {
        ctx.four_octet_as = false;
    }
    if name.contains("addpath") {
        ctx = ctx.with_add_path(Family::IPV4_UNICAST);
    }
    if name.contains("enhe") {
        ctx.extended_next_hop.push((Family::IPV4_UNICAST, Afi::IPV6));
    }
    ctx
}

#[test]
fn every_vector_decodes_cleanly_and_re_encodes_byte_exact() {
    let vectors = vectors();
    assert!(vectors.len() >= 40, "only {} golden vectors", vectors.len());
    for (name, bytes) in &vectors {
        let ctx = context_for(name);
        let msg = Message::decode(bytes, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Message::Update(d) = &msg {
            assert_eq!(d.outcome, Outcome::Clean, "{name}: {:?}", d.diagnostics);
        }
        let again = msg.encode(&ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again, vec![bytes.clone()], "{name}: re-encoding differs");
    }
}

#[test]
fn every_peer_sent_every_message_kind() {
    let vectors = vectors();
    for peer in ["frr", "bird", "gobgp"] {
        let kinds: BTreeSet<u8> =
            vectors.iter().filter(|(n, _)| n.starts_with(peer)).map(|(_, b)| b[18]).collect();
        // OPEN, UPDATE, NOTIFICATION, KEEPALIVE; ROUTE-REFRESH where captured.
        for k in 1..=4 {
            assert!(kinds.contains(&k), "{peer} has no message of type {k}");
        }
    }
}

fn update(name: &str) -> Update {
    let (_, bytes) = vectors().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}"));
    match Message::decode(&bytes, &context_for(name)).unwrap() {
        Message::Update(d) => d.update,
        other => panic!("{name} is not an UPDATE: {other:?}"),
    }
}

#[test]
fn end_of_rib_markers() {
    for peer in ["frr", "bird", "gobgp"] {
        assert_eq!(update(&format!("{peer}/eor-ipv4")).end_of_rib(), Some(Family::IPV4_UNICAST), "{peer}");
    }
    for peer in ["frr", "bird"] {
        assert_eq!(update(&format!("{peer}/eor-ipv6")).end_of_rib(), Some(Family::IPV6_UNICAST), "{peer}");
    }
}

/// A one-line rendering of a decoded message, in the words `show bgp`
/// would use. The expected lines in `checks()` were written from the
/// capture configs and tshark's decode (tests/data/README.md), not from
/// this decoder's output.
pub fn summary(msg: &Message, ctx: &SessionContext) -> String {
    use mdc_bgp::attr::{AttrValue, MpNlri};
    fn nlri_list(n: &MpNlri) -> String {
        match n {
            MpNlri::Prefixes(p) => p.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" "),
            MpNlri::Typed(t) => format!("{} typed NLRI", t.len()),
            MpNlri::Raw(r) => format!("{} raw bytes", r.len()),
        }
    }
    match msg {
        Message::Open(o) => {
            let caps: Vec<String> = o.capabilities().map(|c| c.to_string()).collect();
            format!(
                "OPEN as {} hold {} id {}{}: {}",
                o.asn(),
                o.hold_time,
                o.bgp_id,
                if o.extended_params { " (RFC 9072 params)" } else { "" },
                caps.join("; ")
            )
        }
        Message::Keepalive => "KEEPALIVE".into(),
        Message::Notification(n) => format!("NOTIFICATION {n}"),
        Message::RouteRefresh(r) => format!("ROUTE-REFRESH {} subtype {}", r.family(), r.subtype.0),
        Message::Update(d) => {
            let u = &d.update;
            let mut parts = Vec::new();
            if !u.withdrawn.is_empty() {
                parts.push(format!(
                    "withdraw {}",
                    u.withdrawn.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
                ));
            }
            for a in &u.attributes {
                parts.push(match &a.value {
                    AttrValue::Origin(o) => format!("origin {o}"),
                    AttrValue::AsPath(p) if p.segments.is_empty() => "as-path (empty)".into(),
                    AttrValue::AsPath(_) => {
                        format!(
                            "as-path {}",
                            u.effective_as_path(ctx).map(|p| p.to_string()).unwrap_or_default()
                        )
                    }
                    AttrValue::NextHop(n) => format!("next-hop {n}"),
                    AttrValue::MultiExitDisc(m) => format!("med {m}"),
                    AttrValue::LocalPref(l) => format!("local-pref {l}"),
                    AttrValue::AtomicAggregate => "atomic-aggregate".into(),
                    AttrValue::Aggregator(a) => format!("aggregator {} {}", a.asn, a.address),
                    AttrValue::Communities(c) => format!("communities {c}"),
                    AttrValue::OriginatorId(o) => format!("originator-id {o}"),
                    AttrValue::ClusterList(c) => format!("cluster-list {c:?}"),
                    AttrValue::MpReach(m) => {
                        format!("mp-reach {} nh {} [{}]", m.family, m.next_hop, nlri_list(&m.nlri))
                    }
                    AttrValue::MpUnreach(m) => format!("mp-unreach {} [{}]", m.family, nlri_list(&m.nlri)),
                    AttrValue::ExtendedCommunities(c) => format!("ext-communities {c}"),
                    AttrValue::As4Path(p) => format!("as4-path {p}"),
                    AttrValue::As4Aggregator(a) => format!("as4-aggregator {} {}", a.asn, a.address),
                    AttrValue::PmsiTunnel(p) => format!("pmsi {p:?}"),
                    AttrValue::TunnelEncapsulation(t) => format!("tunnel-encap {t:?}"),
                    AttrValue::Ipv6ExtendedCommunities(c) => format!("ipv6-ext-communities {c}"),
                    AttrValue::LargeCommunities(c) => format!("large-communities {c}"),
                    AttrValue::Otc(o) => format!("otc {o}"),
                    AttrValue::Unknown { code, value } => format!("attribute {code} ({} bytes)", value.len()),
                });
            }
            if !u.nlri.is_empty() {
                parts.push(format!(
                    "nlri {}",
                    u.nlri.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
                ));
            }
            if parts.is_empty() { "UPDATE (empty)".into() } else { format!("UPDATE {}", parts.join(", ")) }
        }
    }
}

#[test]
#[ignore = "prints the summaries; run with --ignored --nocapture"]
fn print_summaries() {
    for (name, bytes) in vectors() {
        let ctx = context_for(&name);
        let msg = Message::decode(&bytes, &ctx).unwrap();
        println!("(\"{name}\", \"{}\"),", summary(&msg, &ctx).replace('"', "\\\""));
    }
}

/// What each capture holds, cross-checked against the capture configs and
/// tshark's decode in tests/data/README.md.
const EXPECTED: &[(&str, &str)] = &[
    ("frr/eor-ipv4", "UPDATE (empty)"),
    ("frr/eor-ipv6", "UPDATE mp-unreach ipv6-unicast []"),
    ("frr/keepalive", "KEEPALIVE"),
    (
        "frr/notification-cease-shutdown",
        "NOTIFICATION Cease/Administrative Shutdown: \"golden vector: FRR shutdown\"",
    ),
    (
        "frr/notification-hard-reset-shutdown",
        "NOTIFICATION Cease/Hard Reset: Cease/Administrative Shutdown: \"golden vector: FRR shutdown\"",
    ),
    (
        "frr/open-defaults",
        "OPEN as 65001 hold 180 id 192.0.2.1: mp ipv4-unicast; unknown 128; route-refresh; enhanced-route-refresh; 4-octet-as 65001; extended-message; add-path [ipv4-unicast send/receive]; fqdn gold-frr1; graceful-restart 120s flags 0xc []; llgr [ipv4-unicast 0x80 0s]",
    ),
    (
        "frr/open-extended-optparams",
        "OPEN as 65002 hold 180 id 192.0.2.2 (RFC 9072 params): mp ipv4-unicast; extended-nexthop [ipv4-unicast via afi2]; mp ipv6-unicast; unknown 128; route-refresh; enhanced-route-refresh; 4-octet-as 65002; extended-message; add-path [ipv4-unicast receive, ipv6-unicast receive]; fqdn gold-frr2; graceful-restart 120s flags 0xc [ipv4-unicast 0x0, ipv6-unicast 0x0]; llgr [ipv4-unicast 0x80 60s, ipv6-unicast 0x80 60s]",
    ),
    (
        "frr/open",
        "OPEN as 65002 hold 180 id 192.0.2.2: mp ipv4-unicast; mp ipv6-unicast; mp l2vpn-evpn; unknown 128; route-refresh; enhanced-route-refresh; 4-octet-as 65002; extended-message; role customer; add-path [ipv4-unicast receive, ipv6-unicast receive, l2vpn-evpn receive]; unknown 66; unknown 67; fqdn gold-frr2; graceful-restart 120s flags 0xc [ipv4-unicast 0x0, ipv6-unicast 0x0, l2vpn-evpn 0x0]; llgr [ipv4-unicast 0x80 60s, ipv6-unicast 0x80 60s, l2vpn-evpn 0x80 60s]",
    ),
    ("frr/route-refresh-borr", "ROUTE-REFRESH ipv4-unicast subtype 1"),
    ("frr/route-refresh-eorr", "ROUTE-REFRESH ipv4-unicast subtype 2"),
    ("frr/route-refresh", "ROUTE-REFRESH ipv4-unicast subtype 0"),
    (
        "frr/update-ipv4-addpath",
        "UPDATE origin IGP, as-path 65004, next-hop 192.0.2.4, med 20, local-pref 100, communities 65004:100 no-export, large-communities 65004:1:2, nlri 198.51.100.64/26 (path id 13)",
    ),
    (
        "frr/update-ipv4-as-set",
        "UPDATE origin EGP, as-path 65001 {65002,65004}, next-hop 192.0.2.1, med 0, aggregator 65001 192.0.2.1, nlri 203.0.113.0/25",
    ),
    (
        "frr/update-ipv4-as4path-2octet",
        "UPDATE origin IGP, as-path 65002 65001 4200000001, next-hop 192.0.2.1, as4-path 65002 65001 4200000001, otc 65001, nlri 198.51.100.192/26",
    ),
    (
        "frr/update-ipv4-enhe",
        "UPDATE mp-reach ipv4-unicast nh 2001:db8::2 (fe80::ff:fe00:2) [198.51.100.0/26], origin IGP, as-path 65002, med 50, communities 65002:100 65002:200 65002:65535, large-communities 65002:1:2 4200000001:3:4, ext-communities RT:65002:300 SoO:65002:400",
    ),
    (
        "frr/update-ipv4-multi-nlri",
        "UPDATE origin IGP, as-path 65002, next-hop 192.0.2.2, med 0, nlri 203.0.113.0/26 203.0.113.128/25",
    ),
    (
        "frr/update-ipv4-otc",
        "UPDATE origin IGP, as-path 65001 65002, next-hop 192.0.2.1, communities 65002:100 65002:200 65002:65535, large-communities 65002:1:2 4200000001:3:4, ext-communities RT:65002:300 SoO:65002:400, otc 65001, nlri 198.51.100.0/26",
    ),
    (
        "frr/update-ipv4",
        "UPDATE origin IGP, as-path 65002, next-hop 192.0.2.2, med 50, communities 65002:100 65002:200 65002:65535, large-communities 65002:1:2 4200000001:3:4, ext-communities RT:65002:300 SoO:65002:400, nlri 198.51.100.0/26",
    ),
    (
        "frr/update-ipv6-ibgp-nh16",
        "UPDATE mp-reach ipv6-unicast nh 2001:db8::4 [2001:db8:4000::/48], origin IGP, as-path 65004, med 30, local-pref 100, communities 65004:600",
    ),
    (
        "frr/update-ipv6",
        "UPDATE mp-reach ipv6-unicast nh 2001:db8::2 (fe80::ff:fe00:2) [2001:db8:2000::/48], origin IGP, as-path 65002, med 50, communities 65002:100 65002:200 65002:65535, large-communities 65002:1:2 4200000001:3:4, ext-communities RT:65002:300 SoO:65002:400",
    ),
    ("frr/withdraw-ipv4-addpath", "UPDATE withdraw 198.51.100.0/26 (path id 3) 198.51.100.0/26 (path id 4)"),
    ("frr/withdraw-ipv4-enhe", "UPDATE mp-unreach ipv4-unicast [198.51.100.0/26]"),
    ("frr/withdraw-ipv4", "UPDATE withdraw 198.51.100.0/26"),
    ("frr/withdraw-ipv6", "UPDATE mp-unreach ipv6-unicast [2001:db8:2000::/48]"),
    ("bird/eor-ipv4", "UPDATE (empty)"),
    ("bird/eor-ipv6", "UPDATE mp-unreach ipv6-unicast []"),
    ("bird/keepalive", "KEEPALIVE"),
    (
        "bird/notification-cease-shutdown",
        "NOTIFICATION Cease/Administrative Shutdown: \"golden vector: BIRD shutdown\"",
    ),
    (
        "bird/open-as4-off",
        "OPEN as 65003 hold 240 id 192.0.2.3: mp ipv4-unicast; route-refresh; graceful-restart 120s flags 0x0 []; enhanced-route-refresh; llgr []",
    ),
    (
        "bird/open-ipv6",
        "OPEN as 65001 hold 240 id 192.0.2.3: mp ipv6-unicast; route-refresh; graceful-restart 120s flags 0x0 []; 4-octet-as 65001; enhanced-route-refresh; llgr []",
    ),
    (
        "bird/open",
        "OPEN as 65001 hold 240 id 192.0.2.3: mp ipv4-unicast; route-refresh; extended-message; graceful-restart 120s flags 0x0 [ipv4-unicast 0x0]; 4-octet-as 65001; add-path [ipv4-unicast receive]; enhanced-route-refresh; llgr [ipv4-unicast 0x0 3600s]; fqdn gold-bird",
    ),
    ("bird/route-refresh", "ROUTE-REFRESH ipv4-unicast subtype 0"),
    (
        "bird/update-ipv4-as4path-2octet",
        "UPDATE origin IGP, as-path 65003 4200000002, next-hop 192.0.2.3, as4-path 65003 4200000002, nlri 198.51.100.128/26",
    ),
    (
        "bird/update-ipv4",
        "UPDATE origin IGP, as-path (empty), next-hop 192.0.2.3, med 10, local-pref 200, communities 65001:100 no-export, ext-communities RT:65001:300, large-communities 65001:1:2, nlri 198.51.100.128/26",
    ),
    (
        "bird/update-ipv6",
        "UPDATE mp-reach ipv6-unicast nh 2001:db8::3 (fe80::ff:fe00:3) [2001:db8:3000::/48], origin IGP, as-path (empty), local-pref 300, communities 65001:600",
    ),
    ("bird/withdraw-ipv4", "UPDATE withdraw 198.51.100.128/26"),
    ("bird/withdraw-ipv6", "UPDATE mp-unreach ipv6-unicast [2001:db8:3000::/48]"),
    ("gobgp/eor-ipv4", "UPDATE (empty)"),
    ("gobgp/keepalive", "KEEPALIVE"),
    ("gobgp/notification-cease-disable-nodata", "NOTIFICATION Cease/Administrative Shutdown"),
    (
        "gobgp/notification-cease-shutdown",
        "NOTIFICATION Cease/Administrative Shutdown: \"golden vector: GoBGP shutdown\"",
    ),
    (
        "gobgp/open-ipv6",
        "OPEN as 65004 hold 90 id 192.0.2.4: route-refresh; fqdn gold-gobgp; mp ipv6-unicast; 4-octet-as 65004",
    ),
    (
        "gobgp/open",
        "OPEN as 65004 hold 90 id 192.0.2.4: route-refresh; fqdn gold-gobgp; mp ipv4-unicast; mp l2vpn-evpn; 4-octet-as 65004; graceful-restart 120s flags 0x0 [ipv4-unicast 0x0, l2vpn-evpn 0x0]; llgr [ipv4-unicast 0x0 3600s]; extended-nexthop [ipv4-unicast via afi2, l2vpn-evpn via afi2]; add-path [ipv4-unicast receive, l2vpn-evpn receive]",
    ),
    (
        "gobgp/update-ipv4-as-set",
        "UPDATE origin incomplete, as-path 65004 65010 {65011,65012}, next-hop 192.0.2.4, nlri 198.51.100.32/27",
    ),
    (
        "gobgp/update-ipv4",
        "UPDATE origin IGP, as-path 65004, next-hop 192.0.2.4, med 20, communities 65004:100 no-export, large-communities 65004:1:2, nlri 198.51.100.64/26",
    ),
    (
        "gobgp/update-ipv6",
        "UPDATE origin IGP, as-path 65004, med 30, communities 65004:600, mp-reach ipv6-unicast nh 2001:db8::4 [2001:db8:4000::/48]",
    ),
    ("gobgp/withdraw-ipv4", "UPDATE withdraw 198.51.100.64/26"),
    ("gobgp/withdraw-ipv6", "UPDATE mp-unreach ipv6-unicast [2001:db8:4000::/48]"),
];

#[test]
fn every_vector_holds_what_was_captured() {
    let vectors = vectors();
    for (name, bytes) in &vectors {
        let want = EXPECTED.iter().find(|(n, _)| n == name).map(|(_, w)| *w);
        let want = want.unwrap_or_else(|| panic!("{name}: no expected decode; add it to EXPECTED"));
        let ctx = context_for(name);
        let msg = Message::decode(bytes, &ctx).unwrap();
        assert_eq!(summary(&msg, &ctx), want, "{name}");
    }
    assert_eq!(vectors.len(), EXPECTED.len(), "EXPECTED names a file that is not there");
}
