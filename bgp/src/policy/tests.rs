#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::aspath::{AsPath, AsSegment};
use crate::attr::{AttrValue, NextHop, Origin, PathAttribute, flag};
use crate::community::{
    Communities, Community, ExtendedCommunities, ExtendedCommunity, LargeCommunities, LargeCommunity,
};
use crate::family::Family;
use crate::nlri::Prefix;

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn entry(s: &str) -> PrefixEntry {
    s.parse().unwrap()
}

fn attrs(mut list: Vec<AttrValue>) -> Vec<PathAttribute> {
    list.sort_by_key(AttrValue::code);
    list.into_iter().map(PathAttribute::new).collect()
}

/// ORIGIN IGP, AS path 65002 65003, and `extra`.
fn basic(extra: Vec<AttrValue>) -> Vec<PathAttribute> {
    let mut v =
        vec![AttrValue::Origin(Origin::Igp), AttrValue::AsPath(AsPath::from_sequence(vec![65002, 65003]))];
    v.extend(extra);
    attrs(v)
}

const NH: NextHop = NextHop::V4(Ipv4Addr::new(192, 0, 2, 2));

fn route<'a>(attributes: &'a [PathAttribute], prefix: &str) -> Route<'a> {
    let prefix = p(prefix);
    Route {
        family: if matches!(prefix, Prefix::V4(_)) { Family::IPV4_UNICAST } else { Family::IPV6_UNICAST },
        prefix: Some(prefix),
        peer: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))),
        attributes,
        next_hop: Some(&NH),
        weight: 0,
    }
}

fn term(matches: Vec<Match>, sets: Vec<SetAction>, verdict: Option<Verdict>) -> Term {
    Term { name: None, matches, sets, verdict }
}

/// Accept what matches `m`, reject the rest.
fn accept_if(m: Match) -> Policy {
    Policy {
        name: "t".into(),
        terms: vec![term(vec![m], vec![], Some(Verdict::Accept))],
        default: Verdict::Reject,
    }
}

/// Accept everything after `sets`.
fn set_all(sets: Vec<SetAction>) -> Policy {
    Policy {
        name: "t".into(),
        terms: vec![term(vec![], sets, Some(Verdict::Accept))],
        default: Verdict::Reject,
    }
}

fn accepts(policy: &Policy, r: &Route<'_>) -> bool {
    policy.evaluate(r, 65001).accepted()
}

fn value(out: &Outcome, r: &Route<'_>, type_code: u8) -> Option<AttrValue> {
    out.attributes(r).iter().find(|a| a.code() == type_code).map(|a| a.value.clone())
}

// --- matches ---------------------------------------------------------------

#[test]
fn match_prefix_exact_le_ge() {
    let a = basic(vec![]);
    let exact = accept_if(Match::Prefix(vec![entry("198.51.100.0/24")]));
    assert!(accepts(&exact, &route(&a, "198.51.100.0/24")));
    assert!(!accepts(&exact, &route(&a, "198.51.100.0/25")), "exact unless ge/le");
    assert!(!accepts(&exact, &route(&a, "198.51.0.0/16")));

    let le = accept_if(Match::Prefix(vec![entry("198.51.100.0/24 le 26")]));
    assert!(accepts(&le, &route(&a, "198.51.100.0/24")));
    assert!(accepts(&le, &route(&a, "198.51.100.64/26")));
    assert!(!accepts(&le, &route(&a, "198.51.100.64/27")));
    assert!(!accepts(&le, &route(&a, "198.51.101.0/24")), "outside the prefix");

    let ge = accept_if(Match::Prefix(vec![entry("10.0.0.0/8 ge 24")]));
    assert!(!accepts(&ge, &route(&a, "10.1.0.0/16")));
    assert!(accepts(&ge, &route(&a, "10.1.2.0/24")));
    assert!(accepts(&ge, &route(&a, "10.1.2.3/32")), "ge alone goes up to /32");

    // A list matches when any entry does.
    let any = accept_if(Match::Prefix(vec![entry("10.0.0.0/8"), entry("2001:db8::/32 le 48")]));
    assert!(accepts(&any, &route(&a, "10.0.0.0/8")));
    assert!(accepts(&any, &route(&a, "2001:db8:1::/48")));
    assert!(!accepts(&any, &route(&a, "2001:db8:1::/64")));
}

#[test]
fn match_prefix_needs_the_same_family_and_a_prefix() {
    let a = basic(vec![]);
    // ::/0 le 128 would hold every IPv6 prefix, never an IPv4 one.
    let v6 = accept_if(Match::Prefix(vec![entry("::/0 le 128")]));
    assert!(accepts(&v6, &route(&a, "2001:db8::/32")));
    assert!(!accepts(&v6, &route(&a, "0.0.0.0/0")));
    assert!(!accepts(&v6, &route(&a, "192.0.2.0/24")));
    // An EVPN route has no prefix: no prefix match.
    let mut evpn = route(&a, "2001:db8::/32");
    evpn.prefix = None;
    evpn.family = Family::L2VPN_EVPN;
    assert!(!accepts(&v6, &evpn));
}

#[test]
fn match_prefix_list() {
    let a = basic(vec![]);
    let list = Arc::new(PrefixList {
        name: "customers".into(),
        entries: vec![entry("198.51.100.0/24 le 32"), entry("2001:db8:100::/48")],
    });
    let other = Arc::new(PrefixList { name: "default".into(), entries: vec![entry("0.0.0.0/0")] });
    let pol = accept_if(Match::PrefixList(vec![list.clone()]));
    assert!(!accepts(&pol, &route(&a, "0.0.0.0/0")));
    let pol = accept_if(Match::PrefixList(vec![list, other]));
    assert!(accepts(&pol, &route(&a, "0.0.0.0/0")), "any of the lists");
    assert!(accepts(&pol, &route(&a, "198.51.100.7/32")));
    assert!(accepts(&pol, &route(&a, "2001:db8:100::/48")));
    assert!(!accepts(&pol, &route(&a, "2001:db8:100::/64")));
    assert!(!accepts(&pol, &route(&a, "203.0.113.0/24")));
    assert!(pol.depends_on_prefix());
}

#[test]
fn match_community_including_well_known_names() {
    let a = basic(vec![AttrValue::Communities(Communities(vec![
        Community::new(65000, 100),
        Community::NO_EXPORT,
    ]))]);
    let none = basic(vec![]);
    let c = |s: &str| s.parse::<Community>().unwrap();
    let pol = accept_if(Match::Community(vec![c("65000:200"), c("65000:100")]));
    assert!(accepts(&pol, &route(&a, "192.0.2.0/24")));
    assert!(!accepts(&pol, &route(&none, "192.0.2.0/24")), "no COMMUNITIES attribute");
    assert!(accepts(&accept_if(Match::Community(vec![c("no-export")])), &route(&a, "192.0.2.0/24")));
    assert!(!accepts(&accept_if(Match::Community(vec![c("no-advertise")])), &route(&a, "192.0.2.0/24")));
    for (name, want) in [
        ("no-export", Community::NO_EXPORT),
        ("no-advertise", Community::NO_ADVERTISE),
        ("no-export-subconfed", Community::NO_EXPORT_SUBCONFED),
        ("blackhole", Community::BLACKHOLE),
        ("graceful-shutdown", Community::GRACEFUL_SHUTDOWN),
    ] {
        assert_eq!(c(name), want, "{name}");
    }
    let e = "65536:1".parse::<Community>().unwrap_err().to_string();
    assert!(e.contains("65536:1") && e.contains("0..65535"), "{e}");
}

#[test]
fn match_large_community() {
    let a = basic(vec![AttrValue::LargeCommunities(LargeCommunities(vec![LargeCommunity::new(
        4_200_000_000,
        1,
        2,
    )]))]);
    let l = |s: &str| s.parse::<LargeCommunity>().unwrap();
    assert!(accepts(
        &accept_if(Match::LargeCommunity(vec![l("4200000000:1:2")])),
        &route(&a, "192.0.2.0/24")
    ));
    assert!(!accepts(
        &accept_if(Match::LargeCommunity(vec![l("4200000000:1:3")])),
        &route(&a, "192.0.2.0/24")
    ));
    assert!("1:2".parse::<LargeCommunity>().unwrap_err().to_string().contains("global:local1:local2"));
}

#[test]
fn match_ext_community_rt_and_soo_forms() {
    let x = |s: &str| s.parse::<ExtendedCommunity>().unwrap();
    let a = basic(vec![AttrValue::ExtendedCommunities(ExtendedCommunities(vec![
        x("rt:65000:100"),
        x("soo:192.0.2.1:7"),
    ]))]);
    let r = route(&a, "192.0.2.0/24");
    assert!(accepts(&accept_if(Match::ExtCommunity(vec![x("RT:65000:100")])), &r));
    assert!(accepts(&accept_if(Match::ExtCommunity(vec![x("SoO:192.0.2.1:7")])), &r));
    // The same numbers as a route origin, or as an RT, are different communities.
    assert!(!accepts(&accept_if(Match::ExtCommunity(vec![x("soo:65000:100")])), &r));
    assert!(!accepts(&accept_if(Match::ExtCommunity(vec![x("rt:192.0.2.1:7")])), &r));
    assert!(x("rt:4200000000:5").as_route_target().is_some(), "4-octet AS form");
    assert!("rt:192.0.2.300:1".parse::<ExtendedCommunity>().is_err());
}

#[test]
fn match_as_path_contains_origin_and_length() {
    let path = AsPath::new(vec![AsSegment::sequence(vec![65002, 65003]), AsSegment::set(vec![65004, 65005])]);
    let a = attrs(vec![AttrValue::AsPath(path)]);
    let r = route(&a, "192.0.2.0/24");
    assert!(accepts(&accept_if(Match::AsPathContains(vec![1, 65005])), &r), "inside an AS_SET");
    assert!(!accepts(&accept_if(Match::AsPathContains(vec![65001])), &r));
    // The origin AS is the last of a final AS_SEQUENCE: none here.
    assert!(!accepts(&accept_if(Match::OriginAs(vec![65003, 65005])), &r));
    let seq = basic(vec![]);
    assert!(accepts(&accept_if(Match::OriginAs(vec![65003])), &route(&seq, "192.0.2.0/24")));
    assert!(!accepts(&accept_if(Match::OriginAs(vec![65002])), &route(&seq, "192.0.2.0/24")));
    // Length: 2 + 1 for the AS_SET.
    let len = |min, max| accepts(&accept_if(Match::AsPathLength { min, max }), &r);
    assert!(len(Some(3), Some(3)));
    assert!(!len(Some(4), None));
    assert!(!len(None, Some(2)));
    assert!(len(None, Some(3)));
    // No AS path at all (originated in our AS): length 0, contains nothing.
    let none = attrs(vec![AttrValue::Origin(Origin::Igp)]);
    let local = route(&none, "192.0.2.0/24");
    assert!(accepts(&accept_if(Match::AsPathLength { min: None, max: Some(0) }), &local));
    assert!(!accepts(&accept_if(Match::AsPathContains(vec![65002])), &local));
}

#[test]
fn match_as_path_regex() {
    let path =
        AsPath::new(vec![AsSegment::sequence(vec![65002, 165003]), AsSegment::set(vec![65003, 65004])]);
    let a = attrs(vec![AttrValue::AsPath(path.clone())]);
    let r = route(&a, "192.0.2.0/24");
    let re = |s: &str| accept_if(Match::AsPathRegex(vec![s.parse().unwrap()]));
    let mut text = String::new();
    write_as_path_text(&path, &mut text).unwrap();
    assert_eq!(text, "65002 165003 {65003,65004}");
    assert!(accepts(&re("^65002 "), &r), "starts with the neighbour AS");
    assert!(accepts(&re(r"\{65003,65004\}$"), &r));
    assert!(accepts(&re("_65003_"), &r), "_ is a boundary: inside the set");
    assert!(!accepts(&re("_65003 "), &r), "the only 65003 at a boundary is followed by a comma");
    assert!(!accepts(&re("^65003"), &r));
    assert!(!accepts(&re("^$"), &r));
    assert!(accepts(&re("_165003_"), &r));
    assert!(!accepts(&re("_5003_"), &r));
    // ^$: no AS path, a route of our own AS.
    let none = attrs(vec![]);
    assert!(accepts(&re("^$"), &route(&none, "192.0.2.0/24")));
    // Confederation segments.
    let confed = AsPath::new(vec![
        AsSegment { kind: crate::aspath::SegmentType::ConfedSequence, asns: vec![1, 2] },
        AsSegment { kind: crate::aspath::SegmentType::ConfedSet, asns: vec![3, 4] },
        AsSegment::sequence(vec![5]),
    ]);
    let c = attrs(vec![AttrValue::AsPath(confed)]);
    assert!(accepts(&re(r"^\(1 2\) \[3,4\] 5$"), &route(&c, "192.0.2.0/24")));
    // A path longer than the stack buffer still matches at its end.
    let long = attrs(vec![AttrValue::AsPath(AsPath::from_sequence(
        (4_000_000_000..4_000_000_200).collect::<Vec<_>>(),
    ))]);
    assert!(accepts(&re(" 4000000199$"), &route(&long, "192.0.2.0/24")));
    assert!(accepts(&re("^4000000000 4000000001 "), &route(&long, "192.0.2.0/24")));
    // Several expressions: any.
    let any = accept_if(Match::AsPathRegex(vec!["^1$".parse().unwrap(), "_65004_".parse().unwrap()]));
    assert!(accepts(&any, &r));
}

#[test]
fn bad_regex_says_what_is_wrong() {
    let e = "^65001 (".parse::<AsPathRegex>().unwrap_err();
    assert_eq!(e.what, "AS path regular expression");
    assert_eq!(e.input, "^65001 (");
    assert!(e.to_string().contains("unclosed group"), "{e}");
    assert!(e.to_string().contains("65001 65002 {65003,65004}"), "{e}");
}

#[test]
fn match_next_hop_address_or_prefix() {
    let a = basic(vec![]);
    let r = route(&a, "192.0.2.0/24");
    let m = |s: &str| accept_if(Match::NextHop(vec![s.parse().unwrap()]));
    assert!(accepts(&m("192.0.2.2"), &r));
    assert!(accepts(&m("192.0.2.0/30"), &r));
    assert!(!accepts(&m("192.0.2.4/30"), &r));
    assert!(!accepts(&m("192.0.2.3"), &r));
    assert!(!accepts(&m("::/0"), &r), "family of the address");
    // IPv6: global or link-local.
    let nh6 =
        NextHop::V6 { global: "2001:db8::2".parse().unwrap(), link_local: Some("fe80::2".parse().unwrap()) };
    let mut r6 = route(&a, "2001:db8:1::/48");
    r6.next_hop = Some(&nh6);
    assert!(accepts(&m("fe80::/64"), &r6));
    assert!(accepts(&m("2001:db8::2"), &r6));
    // No next hop (EVPN raw): nothing matches.
    r6.next_hop = None;
    assert!(!accepts(&m("::/0"), &r6));
}

#[test]
fn match_peer_address_or_prefix() {
    let a = basic(vec![]);
    let mut r = route(&a, "192.0.2.0/24");
    let m = |s: &str| accept_if(Match::Peer(vec![s.parse().unwrap()]));
    assert!(accepts(&m("192.0.2.2"), &r));
    assert!(accepts(&m("192.0.2.0/24"), &r));
    assert!(!accepts(&m("192.0.2.1"), &r));
    r.peer = None;
    assert!(!accepts(&m("0.0.0.0/0"), &r), "originated here: no peer");
}

#[test]
fn match_family() {
    let a = basic(vec![]);
    let pol = accept_if(Match::Family(vec![parse_family("ipv6-unicast").unwrap(), Family::L2VPN_EVPN]));
    assert!(accepts(&pol, &route(&a, "2001:db8::/32")));
    assert!(!accepts(&pol, &route(&a, "192.0.2.0/24")));
    assert!(!pol.depends_on_prefix());
    let e = parse_family("ipv4-flowspec").unwrap_err().to_string();
    assert!(e.contains("ipv4-unicast"), "{e}");
}

#[test]
fn all_conditions_of_a_term_must_match() {
    let a = basic(vec![AttrValue::Communities(Communities(vec![Community::new(65000, 1)]))]);
    let pol = Policy {
        name: "t".into(),
        terms: vec![term(
            vec![Match::Community(vec![Community::new(65000, 1)]), Match::Family(vec![Family::IPV6_UNICAST])],
            vec![],
            Some(Verdict::Accept),
        )],
        default: Verdict::Reject,
    };
    assert!(!accepts(&pol, &route(&a, "192.0.2.0/24")), "community matches, family does not");
    assert!(accepts(&pol, &route(&a, "2001:db8::/32")));
}

// --- sets --------------------------------------------------------------------

#[test]
fn set_local_pref_and_med() {
    let a = basic(vec![AttrValue::MultiExitDisc(5)]);
    let r = route(&a, "192.0.2.0/24");
    let out = set_all(vec![SetAction::LocalPref(200), SetAction::Med(10)]).evaluate(&r, 65001);
    assert_eq!(value(&out, &r, code::LOCAL_PREF), Some(AttrValue::LocalPref(200)));
    assert_eq!(value(&out, &r, code::MULTI_EXIT_DISC), Some(AttrValue::MultiExitDisc(10)));
    let codes: Vec<u8> = out.attributes(&r).iter().map(PathAttribute::code).collect();
    assert_eq!(
        codes,
        vec![code::ORIGIN, code::AS_PATH, code::MULTI_EXIT_DISC, code::LOCAL_PREF],
        "kept sorted"
    );
    assert!(r.attributes.iter().all(|a| a.code() != code::LOCAL_PREF), "the input is untouched");
}

#[test]
fn set_keeps_the_flags_of_an_existing_attribute() {
    let mut a = basic(vec![AttrValue::MultiExitDisc(5)]);
    a[2].flags |= flag::EXTENDED_LENGTH;
    let r = route(&a, "192.0.2.0/24");
    let out = set_all(vec![SetAction::Med(7)]).evaluate(&r, 65001);
    let med = out.attributes(&r).iter().find(|x| x.code() == code::MULTI_EXIT_DISC).unwrap();
    assert_eq!(med.flags, a[2].flags);
}

#[test]
fn set_next_hop_address_or_self() {
    let a = basic(vec![]);
    let r = route(&a, "192.0.2.0/24");
    let out = set_all(vec![SetAction::NextHop("self".parse().unwrap())]).evaluate(&r, 65001);
    let m = out.modified.unwrap();
    assert_eq!(m.next_hop, NextHopChange::SelfAddress);
    assert_eq!(m.attributes, None, "only the next hop changed: the attributes are not copied");
    let out = set_all(vec![SetAction::NextHop("2001:db8::9".parse().unwrap())]).evaluate(&r, 65001);
    assert_eq!(out.modified.unwrap().next_hop, NextHopChange::Address("2001:db8::9".parse().unwrap()));
    assert!("itself".parse::<NextHopChange>().unwrap_err().to_string().contains("\"self\""));
}

#[test]
fn set_weight() {
    let a = basic(vec![]);
    let r = route(&a, "192.0.2.0/24");
    let m = set_all(vec![SetAction::Weight(300)]).evaluate(&r, 65001).modified.unwrap();
    assert_eq!((m.weight, m.attributes, m.next_hop), (300, None, NextHopChange::Unchanged));
    assert_eq!(set_all(vec![SetAction::Weight(0)]).evaluate(&r, 65001).modified, None, "same weight");
}

#[test]
fn set_community_add_remove_replace() {
    let c = |s: &str| s.parse::<Community>().unwrap();
    let a = basic(vec![AttrValue::Communities(Communities(vec![c("65000:1"), c("no-export")]))]);
    let r = route(&a, "192.0.2.0/24");
    let get = |sets| value(&set_all(sets).evaluate(&r, 65001), &r, code::COMMUNITIES);
    let list = |v: &[&str]| Some(AttrValue::Communities(Communities(v.iter().map(|s| c(s)).collect())));
    assert_eq!(
        get(vec![SetAction::Community(ListSet::Add(vec![c("65000:2"), c("65000:1")]))]),
        list(&["65000:1", "no-export", "65000:2"]),
        "appended once"
    );
    assert_eq!(get(vec![SetAction::Community(ListSet::Remove(vec![c("no-export")]))]), list(&["65000:1"]));
    assert_eq!(get(vec![SetAction::Community(ListSet::Replace(vec![c("65010:1")]))]), list(&["65010:1"]));
    assert_eq!(get(vec![SetAction::Community(ListSet::Replace(vec![]))]), None, "replace with [] strips");
    assert_eq!(
        get(vec![SetAction::Community(ListSet::Remove(vec![c("65000:1"), c("no-export")]))]),
        None,
        "removing every member removes the attribute"
    );
    // Adding to a route without the attribute creates it, in order.
    let none = basic(vec![AttrValue::LocalPref(100)]);
    let r2 = route(&none, "192.0.2.0/24");
    let out = set_all(vec![SetAction::Community(ListSet::Add(vec![c("65000:9")]))]).evaluate(&r2, 65001);
    let codes: Vec<u8> = out.attributes(&r2).iter().map(PathAttribute::code).collect();
    assert_eq!(codes, vec![code::ORIGIN, code::AS_PATH, code::LOCAL_PREF, code::COMMUNITIES]);
    assert_eq!(out.attributes(&r2)[3].flags, flag::OPTIONAL | flag::TRANSITIVE);
}

#[test]
fn set_large_community_add_remove_replace() {
    let l = |s: &str| s.parse::<LargeCommunity>().unwrap();
    let a = basic(vec![AttrValue::LargeCommunities(LargeCommunities(vec![l("65000:1:1")]))]);
    let r = route(&a, "192.0.2.0/24");
    let get = |set| {
        value(&set_all(vec![SetAction::LargeCommunity(set)]).evaluate(&r, 65001), &r, code::LARGE_COMMUNITIES)
    };
    let list =
        |v: &[&str]| Some(AttrValue::LargeCommunities(LargeCommunities(v.iter().map(|s| l(s)).collect())));
    assert_eq!(get(ListSet::Add(vec![l("65000:1:2")])), list(&["65000:1:1", "65000:1:2"]));
    assert_eq!(get(ListSet::Remove(vec![l("65000:1:1")])), None);
    assert_eq!(get(ListSet::Replace(vec![l("1:2:3")])), list(&["1:2:3"]));
}

#[test]
fn set_ext_community_add_remove_replace() {
    let x = |s: &str| s.parse::<ExtendedCommunity>().unwrap();
    let encap = ExtendedCommunity::vxlan_encapsulation();
    let a = basic(vec![AttrValue::ExtendedCommunities(ExtendedCommunities(vec![x("rt:65000:1"), encap]))]);
    let r = route(&a, "192.0.2.0/24");
    let get = |set| {
        value(
            &set_all(vec![SetAction::ExtCommunity(set)]).evaluate(&r, 65001),
            &r,
            code::EXTENDED_COMMUNITIES,
        )
    };
    let list = |v: Vec<ExtendedCommunity>| Some(AttrValue::ExtendedCommunities(ExtendedCommunities(v)));
    assert_eq!(
        get(ListSet::Add(vec![x("soo:65000:2")])),
        list(vec![x("rt:65000:1"), encap, x("soo:65000:2")])
    );
    assert_eq!(get(ListSet::Remove(vec![x("rt:65000:1")])), list(vec![encap]), "other kinds are kept");
    assert_eq!(get(ListSet::Replace(vec![x("rt:192.0.2.1:5")])), list(vec![x("rt:192.0.2.1:5")]));
    assert_eq!(get(ListSet::Replace(vec![])), None);
}

#[test]
fn set_as_path_prepend() {
    let a = basic(vec![]);
    let r = route(&a, "192.0.2.0/24");
    let path = |sets| match value(&set_all(sets).evaluate(&r, 65001), &r, code::AS_PATH) {
        Some(AttrValue::AsPath(p)) => p.to_string(),
        other => panic!("{other:?}"),
    };
    let own: AsPathPrepend = "2".parse().unwrap();
    assert_eq!(
        path(vec![SetAction::AsPathPrepend(own)]),
        "65001 65001 65002 65003",
        "our AS, into the sequence"
    );
    let other = AsPathPrepend::new(Some(4_200_000_000), 1).unwrap();
    assert_eq!(path(vec![SetAction::AsPathPrepend(other)]), "4200000000 65002 65003");
    assert_eq!("65010*3".parse::<AsPathPrepend>().unwrap(), AsPathPrepend::new(Some(65010), 3).unwrap());

    // A path starting with an AS_SET gets a new AS_SEQUENCE in front.
    let set_first = attrs(vec![AttrValue::AsPath(AsPath::new(vec![AsSegment::set(vec![1, 2])]))]);
    let r2 = route(&set_first, "192.0.2.0/24");
    let out = set_all(vec![SetAction::AsPathPrepend(own)]).evaluate(&r2, 65001);
    assert_eq!(
        value(&out, &r2, code::AS_PATH),
        Some(AttrValue::AsPath(AsPath::new(vec![
            AsSegment::sequence(vec![65001, 65001]),
            AsSegment::set(vec![1, 2])
        ])))
    );
    // No AS path yet: one is created.
    let none = attrs(vec![AttrValue::Origin(Origin::Igp)]);
    let r3 = route(&none, "192.0.2.0/24");
    let out = set_all(vec![SetAction::AsPathPrepend(own)]).evaluate(&r3, 65001);
    assert_eq!(
        value(&out, &r3, code::AS_PATH),
        Some(AttrValue::AsPath(AsPath::from_sequence(vec![65001, 65001])))
    );

    for bad in ["0", "11", "x", "0*2", "65001*", "65001*11"] {
        let e = bad.parse::<AsPathPrepend>().unwrap_err();
        assert_eq!((e.what, e.input.as_str()), ("AS path prepend", bad));
    }
    assert!("11".parse::<AsPathPrepend>().unwrap_err().to_string().contains("1 to 10"));
}

#[test]
fn sets_run_in_order_within_a_term() {
    let c = |s: &str| s.parse::<Community>().unwrap();
    let a = basic(vec![AttrValue::Communities(Communities(vec![c("65000:1")]))]);
    let r = route(&a, "192.0.2.0/24");
    let out = set_all(vec![
        SetAction::Community(ListSet::Replace(vec![])),
        SetAction::Community(ListSet::Add(vec![c("65000:2")])),
    ])
    .evaluate(&r, 65001);
    assert_eq!(
        value(&out, &r, code::COMMUNITIES),
        Some(AttrValue::Communities(Communities(vec![c("65000:2")])))
    );
}

// --- terms, defaults, results --------------------------------------------------

#[test]
fn first_deciding_term_wins_and_fall_through_reaches_the_default() {
    let a = basic(vec![]);
    let r = route(&a, "192.0.2.0/24");
    let m4 = Match::Family(vec![Family::IPV4_UNICAST]);
    let pol = Policy {
        name: "t".into(),
        terms: vec![
            term(vec![Match::Family(vec![Family::IPV6_UNICAST])], vec![], Some(Verdict::Accept)),
            term(vec![m4.clone()], vec![SetAction::LocalPref(50)], None),
            term(vec![m4.clone()], vec![], Some(Verdict::Reject)),
            term(vec![m4], vec![], Some(Verdict::Accept)),
        ],
        default: Verdict::Accept,
    };
    let out = pol.evaluate(&r, 65001);
    assert_eq!(
        (out.verdict, out.term),
        (Verdict::Reject, Some(2)),
        "term 2 decides, term 3 is never reached"
    );
    assert_eq!(out.modified, None, "a rejected route carries no changes");

    // Fall through every term: the default, with the changes of non-deciding terms.
    let mut pol2 = pol.clone();
    pol2.terms.truncate(2);
    let out = pol2.evaluate(&r, 65001);
    assert_eq!((out.verdict, out.term), (Verdict::Accept, None));
    assert_eq!(value(&out, &r, code::LOCAL_PREF), Some(AttrValue::LocalPref(50)));
    pol2.default = Verdict::Reject;
    assert_eq!(pol2.evaluate(&r, 65001).verdict, Verdict::Reject);
    // A policy with no terms rejects.
    assert!(!accepts(&Policy::new("empty"), &r));
}

#[test]
fn later_terms_see_what_earlier_terms_set() {
    let c = |s: &str| s.parse::<Community>().unwrap();
    let a = basic(vec![]);
    let r = route(&a, "192.0.2.0/24");
    let pol = Policy {
        name: "t".into(),
        terms: vec![
            term(
                vec![Match::OriginAs(vec![65003])],
                vec![SetAction::Community(ListSet::Add(vec![c("65000:7")]))],
                None,
            ),
            term(vec![], vec![SetAction::AsPathPrepend("1".parse().unwrap())], None),
            term(
                vec![
                    Match::Community(vec![c("65000:7")]),
                    Match::AsPathRegex(vec!["^65001 65002".parse().unwrap()]),
                    Match::AsPathLength { min: Some(3), max: Some(3) },
                ],
                vec![SetAction::NextHop(NextHopChange::Address("192.0.2.99".parse().unwrap()))],
                None,
            ),
            term(vec![Match::NextHop(vec!["192.0.2.99".parse().unwrap()])], vec![], Some(Verdict::Accept)),
        ],
        default: Verdict::Reject,
    };
    let out = pol.evaluate(&r, 65001);
    assert_eq!((out.verdict, out.term), (Verdict::Accept, Some(3)));
    // The same route without the origin AS the first term wants falls through.
    let b = attrs(vec![AttrValue::AsPath(AsPath::from_sequence(vec![65002, 65009]))]);
    assert!(!accepts(&pol, &route(&b, "192.0.2.0/24")));
    // A next hop set to self is not an address a later term can match.
    let pol_self = Policy {
        name: "t".into(),
        terms: vec![
            term(vec![], vec![SetAction::NextHop(NextHopChange::SelfAddress)], None),
            term(vec![Match::NextHop(vec!["0.0.0.0/0".parse().unwrap()])], vec![], Some(Verdict::Accept)),
        ],
        default: Verdict::Reject,
    };
    assert!(!accepts(&pol_self, &r));
}

#[test]
fn an_unchanged_route_is_not_copied() {
    let a = basic(vec![AttrValue::LocalPref(200)]);
    let r = route(&a, "192.0.2.0/24");
    let pass = accept_if(Match::Family(vec![Family::IPV4_UNICAST]));
    let out = pass.evaluate(&r, 65001);
    assert_eq!(out, Outcome { verdict: Verdict::Accept, term: Some(0), modified: None });
    // The attributes handed back are the route's own slice, not a copy.
    assert!(std::ptr::eq(out.attributes(&r), r.attributes));
    // Actions that change nothing leave it unmodified.
    let noop = set_all(vec![
        SetAction::LocalPref(200),
        SetAction::Community(ListSet::Remove(vec![Community::NO_EXPORT])),
        SetAction::Community(ListSet::Replace(vec![])),
        SetAction::Weight(0),
    ]);
    let out = noop.evaluate(&r, 65001);
    assert_eq!(out.modified, None);
    assert!(std::ptr::eq(out.attributes(&r), r.attributes));
    // A change that a later action undoes is no change either.
    let undo = set_all(vec![SetAction::LocalPref(50), SetAction::LocalPref(200)]);
    assert_eq!(undo.evaluate(&r, 65001).modified, None);
}

#[test]
fn depends_on_prefix() {
    assert!(!accept_if(Match::Community(vec![Community::NO_EXPORT])).depends_on_prefix());
    assert!(accept_if(Match::Prefix(vec![entry("10.0.0.0/8")])).depends_on_prefix());
    assert!(!set_all(vec![SetAction::LocalPref(1)]).depends_on_prefix());
}

// --- text forms ------------------------------------------------------------------

#[test]
fn prefix_entry_edge_cases() {
    let all_v4 = entry("0.0.0.0/0 le 32");
    assert!(all_v4.matches(&p("0.0.0.0/0")) && all_v4.matches(&p("192.0.2.1/32")));
    assert!(!all_v4.matches(&p("::/0")));
    let default_only = entry("0.0.0.0/0");
    assert!(default_only.matches(&p("0.0.0.0/0")) && !default_only.matches(&p("10.0.0.0/8")));
    let hosts6 = entry("::/0 ge 128");
    assert!(hosts6.matches(&p("2001:db8::1/128")) && !hosts6.matches(&p("2001:db8::/127")));
    assert_eq!((hosts6.min_len(), hosts6.max_len()), (128, 128));
    let host = entry("192.0.2.1/32 ge 32 le 32");
    assert!(host.matches(&p("192.0.2.1/32")) && !host.matches(&p("192.0.2.0/32")));
    assert!(entry("2001:db8::/32 le 128").matches(&p("2001:db8::1/128")));
    assert_eq!(entry("10.0.0.0/8 ge 8 le 8").max_len(), 8, "ge = prefix length is allowed");

    for (bad, why) in [
        ("10.0.0.0/33 le 24", "IPv4 prefix length over 32"),
        ("2001:db8::/129", "IPv6 prefix length over 128"),
        ("10.0.0.0/8 ge 24 le 16", "ge 24 is greater than le 16"),
        ("10.0.0.0/16 le 8", "le 8 must be between the prefix length 16 and 32"),
        ("10.0.0.0/16 ge 8", "ge 8 must be between"),
        ("10.0.0.0/8 le 33", "le 33 must be between the prefix length 8 and 32"),
        ("2001:db8::/32 ge 129", "and 128"),
        ("10.0.0.0/8 le", "expected \"PREFIX\""),
        ("10.0.0.0/8 le 24 ge 16", "PREFIX ge N le M"),
        ("10.0.0.0/8 le x", "le \"x\" is not a prefix length"),
        ("10.0.0.0", "ADDRESS/LENGTH"),
        ("", "expected"),
    ] {
        let e = bad.parse::<PrefixEntry>().unwrap_err();
        assert_eq!((e.what, e.input.as_str()), ("prefix list entry", bad));
        assert!(e.to_string().contains(why), "{bad}: {e}");
    }
}

#[test]
fn other_text_forms() {
    assert_eq!("accept".parse::<Verdict>().unwrap(), Verdict::Accept);
    assert!("permit".parse::<Verdict>().unwrap_err().to_string().contains("\"accept\" or \"reject\""));
    assert_eq!("192.0.2.0/24".parse::<AddressMatch>().unwrap(), AddressMatch::Prefix(p("192.0.2.0/24")));
    assert_eq!(
        "2001:db8::1".parse::<AddressMatch>().unwrap(),
        AddressMatch::Address(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
    );
    assert!("192.0.2.0/40".parse::<AddressMatch>().unwrap_err().to_string().contains("over 32"));
    assert!("router".parse::<AddressMatch>().unwrap_err().to_string().contains("expected an IP address"));
    assert_eq!(parse_asn("4200000000").unwrap(), 4_200_000_000);
    assert!(parse_asn("0").is_err() && parse_asn("4294967296").is_err());
}

proptest! {
    /// "P ge a le b" matches exactly the prefixes inside P with a <= len <= b.
    #[test]
    fn prefix_entry_matches_exactly_its_range(
        e in strategies::prefix_entry(),
        bits in any::<u128>(),
        len in 0u8..=128,
        inside in any::<bool>(),
    ) {
        let pfx = e.prefix();
        // Half the candidates share P's leading bits, so "inside" is common.
        let candidate = match pfx {
            Prefix::V4(a) => {
                let len = len % 33;
                let mut addr = bits as u32;
                if inside {
                    let keep = u32::MAX.checked_shl(32 - u32::from(a.length())).unwrap_or(0);
                    addr = (u32::from(a.addr()) & keep) | (addr & !keep);
                }
                Prefix::new(IpAddr::V4(addr.into()), len).unwrap()
            }
            Prefix::V6(a) => {
                let mut addr = bits;
                if inside {
                    let keep = u128::MAX.checked_shl(128 - u32::from(a.length())).unwrap_or(0);
                    addr = (u128::from(a.addr()) & keep) | (addr & !keep);
                }
                Prefix::new(IpAddr::V6(addr.into()), len).unwrap()
            }
        };
        let within = match (pfx, candidate) {
            (Prefix::V4(a), Prefix::V4(b)) => a.contains(&b),
            (Prefix::V6(a), Prefix::V6(b)) => a.contains(&b),
            _ => false,
        };
        let expected = within && e.min_len() <= candidate.length() && candidate.length() <= e.max_len();
        prop_assert_eq!(e.matches(&candidate), expected);
        // And the bounds are those the text says.
        let text = e.to_string();
        let words: Vec<&str> = text.split_whitespace().collect();
        let word = |w: &str| words.iter().position(|x| *x == w).map(|i| words[i + 1].parse::<u8>().unwrap());
        let (ge, le) = (word("ge"), word("le"));
        let max = if matches!(pfx, Prefix::V4(_)) { 32 } else { 128 };
        prop_assert_eq!(e.min_len(), ge.unwrap_or(pfx.length()));
        prop_assert_eq!(e.max_len(), le.unwrap_or(if ge.is_some() { max } else { pfx.length() }));
    }

    /// Text form round trip: parse(display(e)) == e.
    #[test]
    fn prefix_entry_text_round_trip(e in strategies::prefix_entry()) {
        prop_assert_eq!(e.to_string().parse::<PrefixEntry>().unwrap(), e);
    }

    /// The regex text of a path is the form AsPath displays.
    #[test]
    fn path_text_is_the_display_form(path in crate::aspath::strategies::as_path(true)) {
        let mut text = String::new();
        write_as_path_text(&path, &mut text).unwrap();
        prop_assert_eq!(&text, &path.to_string());
        let buffered = matching::PathText::new(&path);
        prop_assert_eq!(buffered.as_str(), text.as_str());
    }

    #[test]
    fn address_match_and_prepend_text_round_trip(
        a in any::<u32>(), len in 0u8..=32, asn in proptest::option::of(1u32..), count in 1u8..=10,
    ) {
        let m = AddressMatch::Prefix(Prefix::new(IpAddr::V4(a.into()), len).unwrap());
        prop_assert_eq!(m.to_string().parse::<AddressMatch>().unwrap(), m);
        let host = AddressMatch::Address(IpAddr::V4(a.into()));
        prop_assert_eq!(host.to_string().parse::<AddressMatch>().unwrap(), host);
        let pp = AsPathPrepend::new(asn, count).unwrap();
        prop_assert_eq!(pp.to_string().parse::<AsPathPrepend>().unwrap(), pp);
    }
}
