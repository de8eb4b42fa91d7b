//! Tests of the whole file: sections together, errors across sections in
//! the order of the file, the shipped example; and the helpers and files
//! the sections' own tests share.

use std::net::Ipv4Addr;
use std::path::Path;

use mdc_bgp::capability::{AddPathFamily, AddPathMode};
use mdc_bgp::community::Community;
use mdc_bgp::family::Family;
use mdc_bgp::policy::{AsPathPrepend, ListSet, Match, NextHopChange, SetAction, Verdict};

use super::*;

pub(super) fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(Path::new("mdcd.toml"), text)
}

pub(super) fn errors(text: &str) -> Vec<String> {
    parse(text).unwrap_err().0.iter().map(ToString::to_string).collect()
}

pub(super) const HEAD: &str = "router-id = \"192.0.2.1\"\nlocal-as = 65001\n";

const GOOD: &str = r#"
router-id = "192.0.2.1"
local-as = 65001
originate = ["198.51.100.0/24", "2001:db8:100::/48"]

[[peer]]
address = "192.0.2.2"
remote-as = 65002
password = "secret"
multihop = 2
hold-time = 9

[[peer]]
interface = "eth1"
remote-as = "external"
families = ["ipv4-unicast", "ipv6-unicast", "l2vpn-evpn"]

[[peer]]
address = "2001:db8::3"
remote-as = "internal"
passive = true
"#;

/// Every key of every section.
pub(super) const FULL: &str = r#"router-id = "192.0.2.1"
local-as = 65001

[bgp]
ebgp-requires-policy = false
always-compare-med = true
missing-med-worst = true
multipath-relax = true
cluster-id = "192.0.2.10"
[bgp.maximum-paths]
ipv4-unicast = 4
ipv6-unicast = 2

[prefix-list.customers]
prefixes = ["198.51.100.0/24 le 32", "2001:db8:100::/48"]

[policy.from-upstream]
default = "accept"
[[policy.from-upstream.term]]
name = "customers"
match = { prefix-list = "customers", community = ["65000:100", "no-export"] }
set = { local-pref = 200, community-add = ["65010:1"], community-remove = "65000:100" }
action = "accept"
[[policy.from-upstream.term]]
match = { as-path-regex = "_65666_", as-path-length-min = 1, as-path-length-max = 10, family = "ipv4-unicast" }
action = "reject"
[[policy.from-upstream.term]]
match = { next-hop = "192.0.2.0/24", peer = ["192.0.2.2", "2001:db8::/32"], origin-as = [65002, 65003], as-path-contains = 65002 }
set = { med = 5, weight = 100, next-hop = "self", as-path-prepend = 2, large-community-replace = ["65001:1:2"], ext-community-add = ["rt:65000:100", "soo:192.0.2.1:7"] }

[policy.to-upstream]
[[policy.to-upstream.term]]
match = { prefix = ["198.51.100.0/24", "203.0.113.0/24 ge 25 le 32"], large-community = "65001:1:2", ext-community = "rt:65000:100" }
set = { as-path-prepend = { asn = 65001, count = 3 }, community-replace = [], ext-community-remove = ["soo:65000:1"] }
action = "accept"

[[peer]]
address = "192.0.2.2"
remote-as = 65002
import = "from-upstream"
export = "to-upstream"
next-hop-self = true
soft-reconfiguration-inbound = true
add-path-send = "all"
add-path-receive = true
[peer.max-prefix]
ipv4-unicast = 1000
restart-after = 30

[[peer]]
address = "2001:db8::3"
remote-as = "internal"
families = ["ipv4-unicast", "ipv6-unicast"]
route-reflector-client = true
add-path-send = 4
[peer.max-prefix]
ipv4-unicast = 1000
ipv6-unicast = 200
warning-only = true
"#;

#[test]
fn a_good_file() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.router_id, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(c.local_as, 65001);
    assert_eq!(c.originate.len(), 2);
    assert_eq!(c.peers.len(), 3);
    let p = &c.peers[0];
    assert_eq!(p.address, PeerAddress::Ip("192.0.2.2".parse().unwrap()));
    assert_eq!((p.remote_as, p.multihop, p.hold_time), (RemoteAs::Number(65002), Some(2), 9));
    assert_eq!(p.families, vec![Family::IPV4_UNICAST]);
    assert_eq!(c.peers[1].address, PeerAddress::Interface("eth1".into()));
    assert_eq!(c.peers[1].families.len(), 3);
    assert_eq!(c.peers[2].families, vec![Family::IPV6_UNICAST], "an IPv6 peer defaults to IPv6 unicast");
    assert_eq!(c.peers[2].hold_time, DEFAULT_HOLD_TIME);
    assert!(c.peers[2].passive);
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = errors("router-id = \"192.0.2.1\"\nlocal-as = = 1\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("mdcd.toml:2:"), "{}", e[0]);
}

#[test]
fn unknown_fields_are_rejected_with_their_place() {
    let e = errors(
        "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 1\nholdtime = 9\n",
    );
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("mdcd.toml:6:1:"), "{}", e[0]);
    assert!(e[0].contains("holdtime"), "{}", e[0]);
}

#[test]
fn every_semantic_error_is_reported_with_field_and_line() {
    let text = r#"router-id = "0.0.0.0"
local-as = 0
originate = ["198.51.100.0/33"]
[[peer]]
address = "192.0.2.300"
remote-as = "sideways"
hold-time = 2
[[peer]]
address = "192.0.2.2"
remote-as = 65002
multihop = 2
gtsm = true
keepalive = 100
hold-time = 90
families = ["ipv4-unicast", "ipv4-flowspec"]
[[peer]]
remote-as = 65003
"#;
    let e = errors(text);
    let expect = [
        "mdcd.toml:1:13: router-id: expected a non-zero IPv4 address",
        "mdcd.toml:2:12: local-as: 0 is out of range: 1 to 4294967295",
        "mdcd.toml:3:14: originate[0]:",
        "mdcd.toml:5:11: peer[0].address: expected an IPv4 or IPv6 address",
        "mdcd.toml:6:13: peer[0].remote-as: expected an AS number",
        "mdcd.toml:7:13: peer[0].hold-time: 0 (no keepalives) or 3 to 65535",
        "mdcd.toml:11:12: peer[1].multihop: multihop and gtsm exclude each other",
        "mdcd.toml:13:13: peer[1].keepalive: at most a third of hold-time (30)",
        "mdcd.toml:15:29: peer[1].families[1]: expected",
        "peer[2]: needs address",
    ];
    assert_eq!(e.len(), expect.len(), "{e:#?}");
    for (got, want) in e.iter().zip(expect) {
        assert!(got.contains(want), "got {got:?}, want {want:?}");
    }
}

#[test]
fn duplicate_peers_and_as_trans_are_rejected() {
    let e = errors(
        "router-id = \"192.0.2.1\"\nlocal-as = 23456\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 1\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 2\n",
    );
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].contains("AS_TRANS"));
    assert!(e[1].contains("configured twice"));
}

#[test]
fn an_unreadable_file_says_so() {
    let e = Config::load(Path::new("/nonexistent/mdcd.toml")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/mdcd.toml: cannot read"), "{e}");
}

#[test]
fn the_shipped_example_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mdcd.example.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.peers.len(), 3);
    assert_eq!(c.peers[2].multihop, Some(2));
    // Under RFC 8212 (the default) every eBGP peer has an import policy.
    assert!(c.bgp.ebgp_requires_policy);
    assert!(c.peers.iter().all(|p| p.import.is_some()));
    assert_eq!(c.peers[2].export.as_deref(), Some("to-upstream"));
    assert_eq!(c.peers[2].max_prefix.as_ref().map(|m| m.restart_after), Some(Some(60)));
}

#[test]
fn the_full_syntax_parses_to_the_expected_values() {
    let c = parse(FULL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.bgp,
        BgpOptions {
            ebgp_requires_policy: false,
            always_compare_med: true,
            missing_med_worst: true,
            maximum_paths: MaximumPaths {
                default: 1,
                per_family: vec![(Family::IPV4_UNICAST, 4), (Family::IPV6_UNICAST, 2)],
            },
            multipath_relax: true,
            cluster_id: Ipv4Addr::new(192, 0, 2, 10),
        }
    );
    assert_eq!(c.bgp.maximum_paths.get(Family::L2VPN_EVPN), 1);
    assert_eq!(c.prefix_lists["customers"].entries.len(), 2);

    let up = &c.policies["from-upstream"];
    assert_eq!((up.default, up.terms.len()), (Verdict::Accept, 3));
    let t0 = &up.terms[0];
    assert_eq!(t0.name.as_deref(), Some("customers"));
    assert_eq!(t0.verdict, Some(Verdict::Accept));
    assert_eq!(
        t0.matches,
        vec![
            Match::PrefixList(vec![c.prefix_lists["customers"].clone()]),
            Match::Community(vec![Community::new(65000, 100), Community::NO_EXPORT]),
        ]
    );
    assert_eq!(
        t0.sets,
        vec![
            SetAction::LocalPref(200),
            SetAction::Community(ListSet::Remove(vec![Community::new(65000, 100)])),
            SetAction::Community(ListSet::Add(vec![Community::new(65010, 1)])),
        ],
        "remove before add, whatever the order in the file"
    );
    let t1 = &up.terms[1];
    assert_eq!(t1.verdict, Some(Verdict::Reject));
    assert_eq!(t1.matches.len(), 3, "{:?}", t1.matches);
    assert!(t1.matches.contains(&Match::AsPathLength { min: Some(1), max: Some(10) }));
    assert!(t1.matches.contains(&Match::Family(vec![Family::IPV4_UNICAST])));
    let t2 = &up.terms[2];
    assert_eq!(t2.verdict, None);
    assert_eq!(t2.matches.len(), 4);
    assert!(t2.matches.contains(&Match::OriginAs(vec![65002, 65003])));
    assert!(t2.matches.contains(&Match::AsPathContains(vec![65002])));
    assert_eq!(
        t2.sets,
        vec![
            SetAction::Med(5),
            SetAction::Weight(100),
            SetAction::NextHop(NextHopChange::SelfAddress),
            SetAction::LargeCommunity(ListSet::Replace(vec!["65001:1:2".parse().unwrap()])),
            SetAction::ExtCommunity(ListSet::Add(vec![
                "rt:65000:100".parse().unwrap(),
                "soo:192.0.2.1:7".parse().unwrap()
            ])),
            SetAction::AsPathPrepend(AsPathPrepend::new(None, 2).unwrap()),
        ]
    );
    let down = &c.policies["to-upstream"];
    assert_eq!(down.default, Verdict::Reject, "reject unless set");
    assert!(down.depends_on_prefix());
    assert_eq!(
        down.terms[0].sets,
        vec![
            SetAction::Community(ListSet::Replace(vec![])),
            SetAction::ExtCommunity(ListSet::Remove(vec!["soo:65000:1".parse().unwrap()])),
            SetAction::AsPathPrepend(AsPathPrepend::new(Some(65001), 3).unwrap()),
        ]
    );

    let p = &c.peers[0];
    assert_eq!((p.import.as_deref(), p.export.as_deref()), (Some("from-upstream"), Some("to-upstream")));
    assert!(p.next_hop_self && p.soft_reconfiguration_inbound && !p.route_reflector_client);
    assert_eq!((p.add_path_send, p.add_path_receive), (Some(AddPathSend::All), true));
    assert_eq!(
        p.max_prefix,
        Some(MaxPrefix {
            limits: vec![(Family::IPV4_UNICAST, 1000)],
            warning_only: false,
            restart_after: Some(30)
        })
    );
    assert_eq!(
        p.add_path_capability(),
        vec![AddPathFamily { family: Family::IPV4_UNICAST, mode: AddPathMode::BOTH }]
    );
    assert!(p.is_ebgp(c.local_as));
    let q = &c.peers[1];
    assert!(q.route_reflector_client && !q.is_ebgp(c.local_as));
    assert_eq!((q.import.as_deref(), q.add_path_send), (None, Some(AddPathSend::Best(4))));
    assert_eq!(q.add_path_capability().len(), 2);
    assert!(q.add_path_capability().iter().all(|t| t.mode == AddPathMode::SEND));
    assert_eq!(
        q.max_prefix,
        Some(MaxPrefix {
            limits: vec![(Family::IPV4_UNICAST, 1000), (Family::IPV6_UNICAST, 200)],
            warning_only: true,
            restart_after: None
        })
    );
}

#[test]
fn defaults_without_bgp_table_and_peer_fields() {
    let c = parse(&format!("{HEAD}[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 65002\n")).unwrap();
    assert!(c.bgp.ebgp_requires_policy, "RFC 8212 by default");
    assert_eq!(c.bgp.cluster_id, c.router_id, "cluster id defaults to the router id");
    assert_eq!(c.bgp.maximum_paths.get(Family::IPV4_UNICAST), 1);
    assert!(c.policies.is_empty() && c.prefix_lists.is_empty());
    let p = &c.peers[0];
    assert_eq!((p.import.clone(), p.export.clone(), p.max_prefix.clone()), (None, None, None));
    assert!(!p.route_reflector_client && !p.next_hop_self && !p.soft_reconfiguration_inbound);
    assert!(p.add_path_capability().is_empty());
    let c = parse(&format!("{HEAD}[bgp]\nmaximum-paths = 8\n")).unwrap();
    assert_eq!(c.bgp.maximum_paths.get(Family::IPV6_UNICAST), 8);
    assert!(c.bgp.ebgp_requires_policy);
}

/// One file with one mistake of every kind: each is reported with its
/// place, its field and what is allowed.
#[test]
fn every_policy_error_names_place_and_field() {
    let text = r#"router-id = "192.0.2.1"
local-as = 65001
[bgp]
maximum-paths = 0
cluster-id = "0.0.0.0"
[prefix-list.bad]
prefixes = ["10.0.0.0/33 le 24", "10.0.0.0/8 ge 24 le 16"]
[prefix-list."no spaces"]
prefixes = []
[policy.p]
default = "permit"
[[policy.p.term]]
match = { community = ["65000:100", "65000:x"], prefix-list = "nope", as-path-regex = "^(65001" }
set = { as-path-prepend = 11, next-hop = "me", large-community-add = "1:2" }
action = "allow"
[[policy.p.term]]
match = { as-path-length-min = 5, as-path-length-max = 2, ext-community = "rt:65000", family = [] }
set = { local-pref = -1, as-path-prepend = { asn = 0, count = 1 } }
[[peer]]
address = "192.0.2.2"
remote-as = 65002
import = "undefined"
route-reflector-client = true
add-path-send = 1
[peer.max-prefix]
ipv4-unicast = 0
ipv6-unicast = 10
[[peer]]
address = "192.0.2.3"
remote-as = "internal"
export = "p"
[peer.max-prefix]
warning-only = true
restart-after = 30
"#;
    let e = errors(text);
    let expect = [
        "mdcd.toml:4:17: bgp.maximum-paths: 0 is out of range: 1 to 64 paths",
        "mdcd.toml:5:14: bgp.cluster-id: expected a non-zero IPv4 address",
        "mdcd.toml:7:13: prefix-list.bad.prefixes[0]: invalid prefix list entry \"10.0.0.0/33 le 24\": invalid prefix: IPv4 prefix length over 32",
        "mdcd.toml:7:34: prefix-list.bad.prefixes[1]: invalid prefix list entry \"10.0.0.0/8 ge 24 le 16\": ge 24 is greater than le 16",
        "mdcd.toml:8:1: prefix-list.no spaces.prefixes: needs at least one prefix",
        "mdcd.toml:8:14: prefix-list.no spaces: invalid name",
        "mdcd.toml:11:11: policy.p.default: invalid verdict \"permit\": expected \"accept\" or \"reject\"",
        "mdcd.toml:13:37: policy.p.term[0].match.community[1]: invalid community \"65000:x\": value is not 0..65535; expected",
        "mdcd.toml:13:63: policy.p.term[0].match.prefix-list: no prefix-list \"nope\" is defined (defined: bad, no spaces)",
        "mdcd.toml:13:87: policy.p.term[0].match.as-path-regex: invalid AS path regular expression \"^(65001\": unclosed group;",
        "mdcd.toml:14:27: policy.p.term[0].set.as-path-prepend: 11 is out of range: a count 1 to 10",
        "mdcd.toml:14:42: policy.p.term[0].set.next-hop: invalid next hop \"me\": expected \"self\"",
        "mdcd.toml:14:70: policy.p.term[0].set.large-community-add: invalid large community \"1:2\": expected global:local1:local2, e.g. \"65000:1:2\"",
        "mdcd.toml:15:10: policy.p.term[0].action: invalid verdict \"allow\"",
        "mdcd.toml:17:56: policy.p.term[1].match.as-path-length-max: 2 is less than as-path-length-min 5",
        "mdcd.toml:17:75: policy.p.term[1].match.ext-community: invalid extended community \"rt:65000\": expected ADMIN:value; the forms are",
        "mdcd.toml:17:96: policy.p.term[1].match.family: needs at least one value",
        "mdcd.toml:18:22: policy.p.term[1].set.local-pref: -1 is out of range: 0 to 4294967295",
        "mdcd.toml:18:52: policy.p.term[1].set.as-path-prepend.asn: 0 is out of range",
        "mdcd.toml:22:10: peer[0].import: no policy \"undefined\" is defined (defined: p)",
        "mdcd.toml:23:26: peer[0].route-reflector-client: route reflection (RFC 4456) is for iBGP peers only",
        "mdcd.toml:24:17: peer[0].add-path-send: expected \"all\" or the number of best paths",
        "mdcd.toml:26:16: peer[0].max-prefix.ipv4-unicast: 0 is out of range: 1 to 4294967295 prefixes",
        "mdcd.toml:27:16: peer[0].max-prefix.ipv6-unicast: the peer does not carry ipv6-unicast (families: ipv4-unicast)",
        "mdcd.toml:32:1: peer[1].max-prefix: needs a limit for at least one family",
        "mdcd.toml:34:17: peer[1].max-prefix.restart-after: has no effect with warning-only",
    ];
    assert_eq!(e.len(), expect.len(), "{e:#?}");
    // In the order of the file.
    for (got, want) in e.iter().zip(expect) {
        assert!(got.starts_with(want), "got {got:?}, want {want:?}");
    }
}

#[test]
fn a_bad_file_changes_nothing() {
    // Config::parse returns either a whole Config or only errors: a
    // reload with one bad policy keeps the running configuration.
    let bad =
        format!("{HEAD}[policy.p]\ndefault = \"maybe\"\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 2\n");
    assert!(parse(&bad).is_err());
}

/// `enforce-first-as`: on by default for every peer, switched off per eBGP
/// peer, refused on an iBGP peer (whose paths do not start with its AS).
#[test]
fn enforce_first_as() {
    let text = format!(
        "{HEAD}[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 65002\n\
         [[peer]]\naddress = \"192.0.2.3\"\nremote-as = 65003\nenforce-first-as = false\n"
    );
    let c = parse(&text).unwrap();
    assert!(c.peers[0].enforce_first_as);
    assert!(!c.peers[1].enforce_first_as);
    let text = format!(
        "{HEAD}[[peer]]\naddress = \"192.0.2.2\"\nremote-as = \"internal\"\nenforce-first-as = true\n"
    );
    assert_eq!(
        errors(&text),
        [
            "mdcd.toml:6:20: peer[0].enforce-first-as: the first-AS check is for eBGP peers only: this peer is iBGP \
          (remote-as equals local-as), whose paths do not start with its AS"
        ]
    );
    let text =
        format!("{HEAD}[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 65002\nenforce-first-as = \"no\"\n");
    let e = errors(&text);
    assert!(e[0].starts_with("mdcd.toml:6:20: "), "{e:?}");
}

/// `ipv6-next-hop`: a global IPv6 unicast address, else an error that
/// says what is expected.
#[test]
fn ipv6_next_hop() {
    let peer = |v: &str| {
        format!("{HEAD}[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 65002\nipv6-next-hop = {v}\n")
    };
    let c = parse(&peer("\"2001:db8:1::11\"")).unwrap();
    assert_eq!(c.peers[0].ipv6_next_hop, Some("2001:db8:1::11".parse().unwrap()));
    assert_eq!(
        parse(&format!("{HEAD}[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 65002\n")).unwrap().peers[0]
            .ipv6_next_hop,
        None
    );
    for (v, why) in [
        ("\"fe80::1\"", "fe80::1 cannot be a next hop: expected a global IPv6 unicast address"),
        ("\"::\"", ":: cannot be a next hop"),
        ("\"ff02::1\"", "ff02::1 cannot be a next hop"),
        ("\"::ffff:192.0.2.1\"", "::ffff:192.0.2.1 is an IPv4-mapped address"),
        ("\"192.0.2.1\"", "expected a global IPv6 unicast address, e.g. \"2001:db8::1\""),
    ] {
        let e = errors(&peer(v));
        assert_eq!(e.len(), 1, "{v}: {e:?}");
        assert!(e[0].starts_with("mdcd.toml:6:17: peer[0].ipv6-next-hop: "), "{v}: {e:?}");
        assert!(e[0].contains(why), "{v}: {e:?}");
    }
}

/// Issue 14 (6): an originated prefix with host bits set is an error
/// (an Elastic IP typo would announce 256 addresses), a duplicate a warning;
/// a peer at the unspecified, a multicast or broadcast address or at this
/// node's own is an error; an eBGP peer without policies under RFC 8212 is
/// a warning that says what will happen.
#[test]
fn stricter_checks_and_warnings() {
    let e = errors(&format!("{HEAD}originate = [\"198.51.100.77/24\", \"2001:db8::5/64\"]\n"));
    assert_eq!(
        e,
        [
            "mdcd.toml:3:14: originate[0]: 198.51.100.77/24 has host bits set: the prefix is 198.51.100.0/24, the single address 198.51.100.77/32",
            "mdcd.toml:3:34: originate[1]: 2001:db8::5/64 has host bits set: the prefix is 2001:db8::/64, the single address 2001:db8::5/128",
        ]
    );
    let c = parse(&format!("{HEAD}originate = [\"198.51.100.0/24\", \"198.51.100.0/24\"]\n")).unwrap();
    assert_eq!(c.originate.len(), 1);
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(c.warnings[0].to_string(), "mdcd.toml:3:33: originate[1]: 198.51.100.0/24 is listed twice");

    for (address, why) in [
        ("0.0.0.0", "is the unspecified address"),
        ("::", "is the unspecified address"),
        ("224.0.0.5", "is a multicast address"),
        ("ff02::2", "is a multicast address"),
        ("255.255.255.255", "is the broadcast address"),
        ("192.0.2.1", "is this node's own router-id"),
    ] {
        let e = errors(&format!("{HEAD}[[peer]]\naddress = \"{address}\"\nremote-as = 65002\n"));
        assert_eq!(e.len(), 1, "{address}: {e:?}");
        assert!(e[0].starts_with("mdcd.toml:4:11: peer[0].address: "), "{e:?}");
        assert!(e[0].contains(why), "{address}: {e:?}");
    }
    let e = errors(&format!(
        "{HEAD}[[peer]]\naddress = \"192.0.2.9\"\nremote-as = 65002\nlocal-address = \"192.0.2.9\"\n"
    ));
    assert!(e[0].contains("is this peer's own local-address"), "{e:?}");

    let text = format!(
        "{HEAD}[policy.p]\ndefault = \"accept\"\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 65002\n\
         [[peer]]\naddress = \"192.0.2.3\"\nremote-as = 65003\nimport = \"p\"\n\
         [[peer]]\naddress = \"192.0.2.4\"\nremote-as = 65003\nimport = \"p\"\nexport = \"p\"\n\
         [[peer]]\naddress = \"192.0.2.5\"\nremote-as = 65001\n"
    );
    let c = parse(&text).unwrap();
    let w: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("peer[0]: an eBGP peer without import or export policy: nothing will be accepted from it or sent to it (RFC 8212"), "{w:?}");
    assert!(
        w[1].contains("peer[1]: an eBGP peer without export policy: nothing will be sent to it"),
        "{w:?}"
    );
    let off = parse(&format!("{text}[bgp]\nebgp-requires-policy = false\n")).unwrap();
    assert!(off.warnings.is_empty(), "{:?}", off.warnings);
}

/// Issue 14 (6): messages in the words of the file: no Rust type names,
/// the nearest key for a typo, a hint for a top-level key inside a table;
/// asdot AS numbers are taken.
#[test]
fn messages_speak_the_files_language() {
    let peer = |body: &str| format!("{HEAD}[[peer]]\naddress = \"192.0.2.2\"\n{body}\n");
    let cases = [
        (
            peer("remote-as = 1.5"),
            "mdcd.toml:5:13: expected an AS number: 1-4294967295 or \"65000.10\", or \"internal\" or \"external\"",
        ),
        (
            peer("remote-as = 65002\nhold-time = \"x\""),
            "mdcd.toml:6:13: expected a whole number, found string \"x\"",
        ),
        (
            peer("remote-as = 65002\nholdtime = 9"),
            "mdcd.toml:6:1: unknown key `holdtime`: did you mean `hold-time`?",
        ),
        (
            peer("remote-as = 65002\npasive = true"),
            "mdcd.toml:6:1: unknown key `pasive`: did you mean `passive`?",
        ),
        (
            peer("remote-as = 65002\nlocal-as = 65009"),
            "mdcd.toml:6:1: `local-as` is a top-level key, but it is written after a [table] header",
        ),
    ];
    for (text, want) in cases {
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{text}: {e:?}");
        assert!(e[0].starts_with(want), "{e:?}\nwant: {want}");
        assert!(!e[0].contains("enum") && !e[0].contains("i64") && !e[0].contains("Raw"), "{e:?}");
    }
    let c = parse(&peer("remote-as = \"1.10\"")).unwrap();
    assert_eq!(c.peers[0].remote_as, RemoteAs::Number(65_546));
    let e = errors(&peer("remote-as = \"0.0\""));
    assert!(e[0].contains("expected an AS number: 1-4294967295 or \"65000.10\""), "{e:?}");
}
