//! RIB behaviour: what each peer is sent, per the rules of the modules beside it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::decision::Reason;
use super::*;
use crate::aspath::AsPath;
use crate::attr::{AttrValue, MpNlri, MpReach, NextHop, Origin, PathAttribute, code};
use crate::community::Community;
use crate::context::SessionContext;
use crate::fsm::{PeerConfig, RemoteAs};
use crate::negotiate::negotiate;
use crate::nlri::Prefix;

const US: u32 = 65000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// A session of `us` with a peer at AS `asn` and router id `id`.
fn session(asn: u32, id: &str, local: &str, generation: u64) -> SessionInfo {
    let ours = PeerConfig::new(US, RemoteAs::Exact(asn), Ipv4Addr::new(192, 0, 2, 254));
    let theirs = PeerConfig::new(asn, RemoteAs::Exact(US), id.parse().unwrap());
    let negotiated = negotiate(&ours, &ours.open(), &theirs.open()).unwrap();
    SessionInfo { negotiated: Arc::new(negotiated), local: ip(local), generation, ipv6_next_hop: None }
}

fn config() -> RibConfig {
    RibConfig { ebgp_requires_policy: false, ..RibConfig::new(US, "192.0.2.254".parse().unwrap()) }
}

fn announce(path: &[u32], next_hop: &str, prefixes: &[&str], extra: Vec<AttrValue>) -> Update {
    let mut attributes = vec![
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(path.to_vec()))),
        PathAttribute::new(AttrValue::NextHop(next_hop.parse().unwrap())),
    ];
    attributes.extend(extra.into_iter().map(PathAttribute::new));
    Update { attributes, nlri: prefixes.iter().map(|p| Nlri::new(pfx(p))).collect(), ..Update::default() }
}

fn withdraw(prefixes: &[&str]) -> Update {
    Update { withdrawn: prefixes.iter().map(|p| Nlri::new(pfx(p))).collect(), ..Update::default() }
}

/// The UPDATEs sent to `peer` by these outputs.
fn sent(out: &[Output], peer: PeerId) -> Vec<Update> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { peer: p, messages, .. } if *p == peer => Some(messages),
            _ => None,
        })
        .flatten()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u.clone()),
            Message::Announce { family, attrs, nlri } => {
                Some(announcement(*family, attrs, nlri.clone(), true))
            }
            Message::RouteRefresh(_) => None,
        })
        .collect()
}

/// (prefix, AS path, next hop) of one IPv4 announcement.
type Announced = (String, Vec<u32>, String);

/// Every IPv4 announcement, and the withdrawals.
fn summary(updates: &[Update]) -> (Vec<Announced>, Vec<String>) {
    let mut ann = Vec::new();
    let mut wd = Vec::new();
    for u in updates {
        wd.extend(u.withdrawn.iter().map(|n| n.prefix.to_string()));
        for n in &u.nlri {
            let path = u
                .as_path()
                .map(|p| p.segments.iter().flat_map(|s| s.asns.clone()).collect())
                .unwrap_or_default();
            ann.push((n.prefix.to_string(), path, u.next_hop().map(|a| a.to_string()).unwrap_or_default()));
        }
    }
    (ann, wd)
}

struct Lab {
    rib: Rib,
}

impl Lab {
    fn new(config: RibConfig) -> Lab {
        Lab { rib: Rib::new(config) }
    }

    /// A peer with an Established session; its initial table (EoR) is consumed.
    fn peer(
        &mut self,
        addr: &str,
        asn: u32,
        id: &str,
        local: &str,
        f: impl FnOnce(&mut PeerPolicy),
    ) -> PeerId {
        let mut pol = PeerPolicy::new(ip(addr));
        f(&mut pol);
        let p = self.rib.add_peer(pol);
        self.rib.peer_up(p, session(asn, id, local, 1));
        self.rib.flush();
        p
    }
}

#[test]
fn ebgp_route_goes_to_other_peers_with_our_as_and_next_hop_self_never_back() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    lab.rib.update(
        a,
        &announce(
            &[65001, 65010],
            "192.0.2.1",
            &["203.0.113.0/24"],
            vec![AttrValue::MultiExitDisc(5), AttrValue::LocalPref(300)],
        ),
    );
    let out = lab.rib.flush();
    assert!(sent(&out, a).is_empty(), "not sent back to the peer it came from");
    let to_b = sent(&out, b);
    assert_eq!(
        summary(&to_b).0,
        vec![("203.0.113.0/24".into(), vec![US, 65001, 65010], "198.51.100.254".into())]
    );
    let u = &to_b[0];
    assert!(u.attribute(code::MULTI_EXIT_DISC).is_none(), "MED stays in the neighbouring AS");
    assert!(u.attribute(code::LOCAL_PREF).is_none(), "no LOCAL_PREF to eBGP (and the eBGP one was ignored)");
    let view = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    assert_eq!(view.paths[0].path.attrs.local_pref(), None, "LOCAL_PREF from eBGP discarded (RFC 7606 §7.5)");

    lab.rib.update(a, &withdraw(&["203.0.113.0/24"]));
    let out = lab.rib.flush();
    assert_eq!(summary(&sent(&out, b)).1, vec!["203.0.113.0/24".to_string()]);
    assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).is_none());
    assert_eq!(lab.rib.stats().destinations, 0);
}

#[test]
fn initial_table_then_end_of_rib() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24", "198.51.100.0/24"], vec![]));
    lab.rib.flush();
    let b = lab.rib.add_peer(PeerPolicy::new(ip("198.51.100.1")));
    lab.rib.peer_up(b, session(65002, "198.51.100.1", "198.51.100.254", 7));
    let out = lab.rib.flush();
    let Output::Send { generation, messages, .. } = &out[0] else { panic!("{out:?}") };
    assert_eq!(*generation, 7);
    assert_eq!(messages.len(), 3);
    let updates = sent(&out, b);
    let eor: Vec<Option<Family>> = updates.iter().skip(1).map(|u| u.end_of_rib()).collect();
    assert_eq!(
        eor,
        vec![Some(Family::IPV4_UNICAST), Some(Family::IPV6_UNICAST)],
        "End-of-RIB per family, last"
    );
    assert_eq!(updates[0].nlri.len(), 2, "one UPDATE for both prefixes (shared attributes)");
}

#[test]
fn rfc8212_no_policy_no_ebgp_routes_but_originated_ones_still_go_out() {
    let mut lab = Lab::new(RibConfig { ebgp_requires_policy: true, ..config() });
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    lab.rib.originate(Family::IPV4_UNICAST, pfx("192.0.2.128/25"), AttrsBuilder::default());
    let out = lab.rib.flush();
    assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).is_none(), "import denied");
    assert_eq!(summary(&sent(&out, b)).0, vec![("192.0.2.128/25".into(), vec![US], "198.51.100.254".into())]);
}

#[test]
fn an_accept_all_policy_is_a_policy_for_rfc8212_and_changes_nothing() {
    use crate::policy::{Policy, RibPolicy, Verdict};
    let all = Policy { default: Verdict::Accept, ..Policy::new("all") };
    let all: Arc<dyn RoutePolicy> = Arc::new(RibPolicy::new(Arc::new(all), US));
    assert!(all.accepts_all());
    let extra = || {
        vec![
            AttrValue::MultiExitDisc(5),
            AttrValue::Communities(crate::community::Communities(vec![Community(0x0001_0002)])),
        ]
    };
    let announced = |lab: &mut Lab, a: PeerId, b: PeerId| {
        lab.rib.update(a, &announce(&[65001, 65010], "192.0.2.1", &["203.0.113.0/24"], extra()));
        let out = lab.rib.flush();
        sent(&out, b)
    };
    // The same routes go out with the policy and RFC 8212 as with neither.
    let mut lab = Lab::new(RibConfig { ebgp_requires_policy: true, ..config() });
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |p| p.import = Some(Arc::clone(&all)));
    let b = lab
        .peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |p| p.export = Some(Arc::clone(&all)));
    let with_policy = announced(&mut lab, a, b);
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    let without = announced(&mut lab, a, b);
    assert_eq!(
        summary(&with_policy).0,
        vec![("203.0.113.0/24".into(), vec![US, 65001, 65010], "198.51.100.254".into())]
    );
    assert_eq!(with_policy, without);
}

#[test]
fn withdrawn_sets_leave_the_interner_and_idle_hands_them_over_with_the_indexes_rebuilt() {
    // With a pre-policy copy, a withdrawn path's set is still held when the
    // path goes: it is left to the sweep when idle. Without, it goes at once.
    for soft_in in [false, true] {
        let mut lab = Lab::new(config());
        let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |p| {
            p.soft_reconfiguration_inbound = soft_in
        });
        let prefixes: Vec<String> =
            (0..3000u32).map(|n| format!("10.{}.{}.0/24", n / 256, n % 256)).collect();
        let announce_all = |lab: &mut Lab| {
            for (k, chunk) in prefixes.chunks(3).enumerate() {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                lab.rib.update(a, &announce(&[65001, 4_200_000_000 + k as u32], "192.0.2.1", &refs, vec![]));
            }
            lab.rib.flush();
        };
        announce_all(&mut lab);
        assert_eq!(lab.rib.stats().attribute_sets, 1000);
        for chunk in prefixes.chunks(500) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            lab.rib.update(a, &withdraw(&refs));
        }
        lab.rib.flush();
        assert_eq!(lab.rib.stats().destinations, 0);
        let held = if soft_in { 1000 } else { 0 };
        assert_eq!(lab.rib.stats().attribute_sets, held, "soft-in {soft_in}");
        let gone = lab.rib.idle();
        assert_eq!(gone.len(), 1000, "soft-in {soft_in}");
        assert!(gone.iter().all(|a| Arc::strong_count(a) == 1), "nothing else holds them");
        assert_eq!(lab.rib.stats().attribute_sets, 0);
        assert!(lab.rib.idle().is_empty());
        // The indexes rebuilt without tombstones still find everything.
        announce_all(&mut lab);
        assert_eq!(lab.rib.stats().destinations, 3000);
        for p in prefixes.iter().step_by(7) {
            assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx(p)).is_some(), "{p}");
        }
        assert!(lab.rib.idle().is_empty(), "sets in use are kept");
        assert_eq!(lab.rib.stats().attribute_sets, 1000);
    }
}

#[test]
fn a_table_withdrawn_and_announced_again_reaches_other_peers_whether_slots_are_reused_or_renumbered() {
    // Idle between the withdrawal and the new announcement empties the
    // table and numbers its slots from zero again; without, the freed slots
    // are reused. Either way the other peer's Adj-RIB-Out must follow.
    for idle in [false, true] {
        let mut lab = Lab::new(config());
        let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
        let b = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
        let prefixes: Vec<String> =
            (0..3000u32).map(|n| format!("10.{}.{}.0/24", n / 256, n % 256)).collect();
        let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let announced_to_b = |lab: &mut Lab, order: &[&str]| {
            for chunk in order.chunks(100) {
                lab.rib.update(a, &announce(&[65001], "192.0.2.1", chunk, vec![]));
            }
            let out = lab.rib.flush();
            let (ann, wd) = summary(&sent(&out, b));
            assert!(wd.is_empty(), "idle {idle}: {wd:?}");
            sorted(ann.into_iter().map(|(p, _, _)| p).collect())
        };
        let withdrawn_from_b = |lab: &mut Lab, order: &[&str]| {
            lab.rib.update(a, &withdraw(order));
            let out = lab.rib.flush();
            let (ann, wd) = summary(&sent(&out, b));
            assert!(ann.is_empty(), "idle {idle}: {ann:?}");
            sorted(wd)
        };
        assert_eq!(announced_to_b(&mut lab, &refs), sorted(prefixes.clone()));
        assert_eq!(withdrawn_from_b(&mut lab, &refs), sorted(prefixes.clone()));
        if idle {
            lab.rib.idle();
        }
        // Again, in the opposite order: each prefix lands in another slot.
        let reversed: Vec<&str> = refs.iter().rev().copied().collect();
        assert_eq!(announced_to_b(&mut lab, &reversed), sorted(prefixes.clone()), "idle {idle}");
        assert_eq!(lab.rib.stats().destinations, 3000);
        let (gone, kept) = refs.split_at(1000);
        assert_eq!(withdrawn_from_b(&mut lab, gone), sorted(gone.iter().map(|p| p.to_string()).collect()));
        for p in kept {
            assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx(p)).is_some(), "idle {idle}: {p}");
        }
        for p in gone {
            assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx(p)).is_none(), "idle {idle}: {p}");
        }
        assert_eq!(withdrawn_from_b(&mut lab, kept), sorted(kept.iter().map(|p| p.to_string()).collect()));
    }
}

#[test]
fn a_replaced_path_lets_its_set_go_unless_another_path_holds_it() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    lab.rib.update(a, &announce(&[65001, 1], "192.0.2.1", &["203.0.113.0/24", "198.51.100.0/24"], vec![]));
    lab.rib.update(a, &announce(&[65001, 2], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    lab.rib.flush();
    assert_eq!(lab.rib.stats().attribute_sets, 2, "the first set still carries 198.51.100.0/24");
    lab.rib.update(a, &announce(&[65001, 2], "192.0.2.1", &["198.51.100.0/24"], vec![]));
    lab.rib.flush();
    assert_eq!(lab.rib.stats().attribute_sets, 1);
    assert_eq!(lab.rib.idle().len(), 1);
}

#[test]
fn a_digest_prepared_off_the_rib_gives_what_the_rib_would_do() {
    let ctx = SessionContext::modern();
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let digest =
        |path: &[u32], prefix: &str| Digest::new(announce(path, "192.0.2.1", &[prefix], vec![]), &ctx, true);
    // Prepared with the RIB's interner: the set the RIB holds is the one
    // the digest brought, and a looped path is still a withdrawal.
    let mut d = digest(&[65001, 65010], "203.0.113.0/24");
    d.prepare(&lab.rib.interner(), US);
    let brought = Arc::clone(&d.announced[0].attrs);
    lab.rib.apply(a, d);
    let held = &lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap().paths[0].path.attrs;
    assert!(Arc::ptr_eq(held, &brought));
    let mut d = digest(&[65001, US, 65010], "198.51.100.0/24");
    d.prepare(&lab.rib.interner(), US);
    assert!(d.announced[0].as_loop);
    lab.rib.apply(a, d);
    assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("198.51.100.0/24")).is_none(), "our AS in the path");
    // Prepared with another interner and AS: the RIB interns and checks
    // again (the same set as above is shared, the loop is found).
    let elsewhere = SharedInterner::default();
    let mut d = digest(&[65001, 65010], "192.0.2.0/26");
    d.prepare(&elsewhere, 64999);
    lab.rib.apply(a, d);
    let held2 = &lab.rib.lookup(Family::IPV4_UNICAST, &pfx("192.0.2.0/26")).unwrap().paths[0].path.attrs;
    assert!(Arc::ptr_eq(held2, &brought), "interned into the RIB's interner");
    let mut d = digest(&[65001, US], "192.0.2.64/26");
    d.prepare(&lab.rib.interner(), 64999);
    assert!(!d.announced[0].as_loop);
    lab.rib.apply(a, d);
    assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("192.0.2.64/26")).is_none(), "checked against our AS");
    // The second digest's looped set was not interned; the fourth's (looped
    // by our AS, not by the one it was prepared with) was, unused.
    assert_eq!(lab.rib.stats().attribute_sets, 2);
}

#[test]
fn as_path_loop_is_a_withdrawal() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    lab.rib.update(a, &announce(&[65001, US, 65010], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).is_none());
    assert_eq!(lab.rib.counts(a), vec![]);
}

#[test]
fn best_path_changes_are_announced_and_a_withdrawn_best_falls_back() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65002, "192.0.2.2", "192.0.2.254", |_| {});
    let c = lab.peer("198.51.100.1", 65003, "198.51.100.1", "198.51.100.254", |_| {});
    lab.rib.update(a, &announce(&[65001, 1, 2], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    let out = lab.rib.flush();
    assert_eq!(summary(&sent(&out, c)).0[0].1, vec![US, 65001, 1, 2]);
    lab.rib.update(b, &announce(&[65002, 2], "192.0.2.2", &["203.0.113.0/24"], vec![]));
    let out = lab.rib.flush();
    assert_eq!(summary(&sent(&out, c)).0[0].1, vec![US, 65002, 2], "shorter path wins");
    // a is sent b's path, b is sent nothing new (its own path is best).
    assert_eq!(summary(&sent(&out, a)).0[0].1, vec![US, 65002, 2]);
    assert!(sent(&out, b).iter().all(|u| u.nlri.is_empty()));
    let view = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    assert_eq!(view.paths[1].lost, Some(Reason::AsPathLength));
    lab.rib.update(b, &withdraw(&["203.0.113.0/24"]));
    let out = lab.rib.flush();
    assert_eq!(summary(&sent(&out, c)).0[0].1, vec![US, 65001, 1, 2], "back to the other path");
    // b now gets a's path; a held b's path and now must withdraw it (its own is best).
    assert_eq!(summary(&sent(&out, b)).0[0].1, vec![US, 65001, 1, 2]);
    assert_eq!(summary(&sent(&out, a)).1, vec!["203.0.113.0/24".to_string()]);
}

#[test]
fn non_best_changes_send_nothing() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65002, "192.0.2.2", "192.0.2.254", |_| {});
    let c = lab.peer("198.51.100.1", 65003, "198.51.100.1", "198.51.100.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    lab.rib.flush();
    lab.rib.update(b, &announce(&[65002, 5, 6], "192.0.2.2", &["203.0.113.0/24"], vec![]));
    lab.rib.update(b, &withdraw(&["203.0.113.0/24"]));
    let out = lab.rib.flush();
    assert!(sent(&out, c).is_empty(), "{out:?}");
}

#[test]
fn ibgp_split_horizon_and_route_reflection() {
    let mut lab = Lab::new(config());
    let rid = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let client1 = lab.peer("192.0.2.1", US, "192.0.2.1", "192.0.2.254", |p| p.route_reflector_client = true);
    let client2 = lab.peer("192.0.2.2", US, "192.0.2.2", "192.0.2.254", |p| p.route_reflector_client = true);
    let plain = lab.peer("192.0.2.3", US, "192.0.2.3", "192.0.2.254", |_| {});
    let plain2 = lab.peer("192.0.2.4", US, "192.0.2.4", "192.0.2.254", |_| {});
    lab.rib.update(
        client1,
        &announce(&[65010], "192.0.2.1", &["203.0.113.0/24"], vec![AttrValue::LocalPref(150)]),
    );
    let out = lab.rib.flush();
    for to in [client2, plain, plain2] {
        let u = sent(&out, to);
        assert_eq!(
            summary(&u).0,
            vec![("203.0.113.0/24".into(), vec![65010], "192.0.2.1".into())],
            "next hop unchanged"
        );
        assert_eq!(
            u[0].attribute(code::ORIGINATOR_ID).map(|a| a.value.clone()),
            Some(AttrValue::OriginatorId(rid("192.0.2.1")))
        );
        assert_eq!(
            u[0].attribute(code::CLUSTER_LIST).map(|a| a.value.clone()),
            Some(AttrValue::ClusterList(vec![rid("192.0.2.254")]))
        );
        assert_eq!(
            u[0].attribute(code::LOCAL_PREF).map(|a| a.value.clone()),
            Some(AttrValue::LocalPref(150))
        );
    }
    // From a non-client: to clients only.
    lab.rib.update(plain, &announce(&[65020], "192.0.2.3", &["198.51.100.0/24"], vec![]));
    let out = lab.rib.flush();
    assert_eq!(summary(&sent(&out, client1)).0.len(), 1);
    assert_eq!(summary(&sent(&out, client2)).0.len(), 1);
    assert!(sent(&out, plain2).is_empty(), "iBGP split horizon between non-clients");
    // Loops: our ORIGINATOR_ID or cluster id coming back is dropped.
    lab.rib.update(
        client1,
        &announce(&[], "192.0.2.1", &["192.0.2.0/26"], vec![AttrValue::OriginatorId(rid("192.0.2.254"))]),
    );
    lab.rib.update(
        client1,
        &announce(
            &[],
            "192.0.2.1",
            &["192.0.2.64/26"],
            vec![AttrValue::ClusterList(vec![rid("192.0.2.9"), rid("192.0.2.254")])],
        ),
    );
    assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("192.0.2.0/26")).is_none());
    assert!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("192.0.2.64/26")).is_none());
}

#[test]
fn well_known_communities_limit_export() {
    let mut lab = Lab::new(config());
    let ibgp = lab.peer("192.0.2.1", US, "192.0.2.1", "192.0.2.254", |_| {});
    let a = lab.peer("192.0.2.2", 65001, "192.0.2.2", "192.0.2.254", |_| {});
    let ext = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    use crate::community::Communities;
    lab.rib.update(
        a,
        &announce(
            &[65001],
            "192.0.2.2",
            &["203.0.113.0/25"],
            vec![AttrValue::Communities(Communities(vec![Community::NO_EXPORT]))],
        ),
    );
    lab.rib.update(
        a,
        &announce(
            &[65001],
            "192.0.2.2",
            &["203.0.113.128/25"],
            vec![AttrValue::Communities(Communities(vec![Community::NO_ADVERTISE]))],
        ),
    );
    let out = lab.rib.flush();
    assert!(sent(&out, ext).is_empty());
    assert_eq!(
        summary(&sent(&out, ibgp)).0.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
        vec!["203.0.113.0/25".to_string()]
    );
}

#[test]
fn ecmp_set_and_stale_paths() {
    let mut lab = Lab::new(RibConfig { maximum_paths: 2, ..config() });
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65001, "192.0.2.2", "192.0.2.254", |_| {});
    let c = lab.peer("192.0.2.3", 65001, "192.0.2.3", "192.0.2.254", |_| {});
    let d = lab.peer("192.0.2.4", 65004, "192.0.2.4", "192.0.2.254", |_| {});
    for (p, nh) in [(a, "192.0.2.1"), (b, "192.0.2.2"), (c, "192.0.2.3")] {
        lab.rib.update(p, &announce(&[65001, 7], nh, &["203.0.113.0/24"], vec![]));
    }
    lab.rib.update(d, &announce(&[65004, 7], "192.0.2.4", &["203.0.113.0/24"], vec![]));
    let v = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    let flags: Vec<(Option<IpAddr>, bool, bool)> =
        v.paths.iter().map(|p| (p.from, p.best, p.multipath)).collect();
    assert_eq!(
        flags,
        vec![
            (Some(ip("192.0.2.1")), true, true),
            (Some(ip("192.0.2.2")), false, true),
            (Some(ip("192.0.2.3")), false, false),
            (Some(ip("192.0.2.4")), false, false),
        ],
        "two paths (maximum-paths 2) through the same neighbouring AS, lowest router id first"
    );
    assert_eq!(v.paths[1].lost, Some(Reason::RouterId));
    // With AS-path relax the other AS could join, but the cap is 2.
    lab.rib.set_config(RibConfig { maximum_paths: 4, multipath_relax: true, ..config() });
    let v = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    assert!(v.paths.iter().all(|p| p.multipath));
    // Graceful restart: a's session drops with IPv4 kept stale: a loses to fresh paths.
    lab.rib.peer_down(a, &[Family::IPV4_UNICAST]);
    let v = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    assert_eq!(
        v.paths.last().map(|p| (p.from, p.path.stale, p.lost)),
        Some((Some(ip("192.0.2.1")), true, Some(Reason::Stale)))
    );
    lab.rib.flush_stale(a, Family::IPV4_UNICAST);
    assert_eq!(lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap().paths.len(), 3);
    assert_eq!(lab.rib.counts(a), vec![]);
}

#[test]
fn max_prefix_reports_once_per_family() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |p| {
        p.max_prefix = Some(MaxPrefix { limits: vec![(Family::IPV4_UNICAST, 2)], warning_only: false })
    });
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/26", "203.0.113.64/26"], vec![]));
    assert!(lab.rib.flush().iter().all(|o| !matches!(o, Output::MaxPrefix { .. })), "2 of 2 is fine");
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.128/26", "203.0.113.192/26"], vec![]));
    let out = lab.rib.flush();
    let trips: Vec<_> = out.iter().filter(|o| matches!(o, Output::MaxPrefix { .. })).collect();
    assert_eq!(trips.len(), 1);
    assert!(matches!(trips[0], Output::MaxPrefix { limit: 2, count: 4, warning_only: false, .. }));
    // Re-announcing the same prefixes does not count twice.
    assert_eq!(lab.rib.counts(a), vec![(Family::IPV4_UNICAST, 4)]);
}

/// A test policy: reject prefixes longer than /24, set LOCAL_PREF.
#[derive(Debug)]
struct LocalPref(u32);

impl RoutePolicy for LocalPref {
    fn depends_on_prefix(&self) -> bool {
        true
    }
    fn apply(&self, route: &PolicyRoute<'_>) -> PolicyVerdict {
        if route.prefix.is_some_and(|p| p.length() > 24) {
            return PolicyVerdict::Reject;
        }
        let mut b = route.attrs.to_builder();
        b.set(AttrValue::LocalPref(self.0));
        PolicyVerdict::Accept { changed: Some(b), next_hop_self: false }
    }
}

#[test]
fn import_policy_and_soft_reset_in_from_the_pre_policy_copy() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |p| {
        p.import = Some(Arc::new(LocalPref(200)));
        p.soft_reconfiguration_inbound = true;
    });
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24", "203.0.113.0/25"], vec![]));
    let v = lab.rib.routes(Family::IPV4_UNICAST, |_| true);
    assert_eq!(v.len(), 1, "the /25 is rejected");
    assert_eq!(v[0].paths[0].path.attrs.local_pref(), Some(200));
    assert_eq!(lab.rib.received_pre_policy(a, Family::IPV4_UNICAST).len(), 2);
    let mut pol = PeerPolicy::new(ip("192.0.2.1"));
    pol.import = Some(Arc::new(LocalPref(300)));
    pol.soft_reconfiguration_inbound = true;
    lab.rib.set_peer_policy(a, pol);
    let out = lab.rib.flush();
    assert!(out.iter().all(|o| !matches!(o, Output::RequestRefresh { .. })));
    let v = lab.rib.routes(Family::IPV4_UNICAST, |_| true);
    assert_eq!(v[0].paths[0].path.attrs.local_pref(), Some(300));
    // Without a pre-policy copy the peer is asked for a refresh.
    let mut pol = PeerPolicy::new(ip("192.0.2.1"));
    pol.import = Some(Arc::new(LocalPref(100)));
    lab.rib.set_peer_policy(a, pol);
    let out = lab.rib.flush();
    assert!(out.iter().any(|o| matches!(o, Output::RequestRefresh { peer, family } if *peer == a && *family == Family::IPV4_UNICAST)));
}

#[test]
fn export_policy_change_withdraws_what_is_no_longer_sent() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24", "203.0.113.0/25"], vec![]));
    let out = lab.rib.flush();
    assert_eq!(summary(&sent(&out, b)).0.len(), 2);
    let mut pol = PeerPolicy::new(ip("198.51.100.1"));
    pol.export = Some(Arc::new(LocalPref(1)));
    lab.rib.set_peer_policy(b, pol);
    let out = lab.rib.flush();
    let (ann, wd) = summary(&sent(&out, b));
    assert_eq!(wd, vec!["203.0.113.0/25".to_string()]);
    assert_eq!(ann.len(), 1);
    assert_eq!(lab.rib.advertised(b, Family::IPV4_UNICAST).len(), 1);
    assert_eq!(lab.rib.advertised_counts(b), vec![(Family::IPV4_UNICAST, 1)]);
}

#[test]
fn ipv6_routes_use_mp_reach_with_our_address() {
    let mut lab = Lab::new(config());
    let mut cfg_a = PeerConfig::new(US, RemoteAs::Exact(65001), Ipv4Addr::new(192, 0, 2, 254));
    cfg_a.families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
    let mut theirs = PeerConfig::new(65001, RemoteAs::Exact(US), "192.0.2.1".parse().unwrap());
    theirs.families = cfg_a.families.clone();
    let neg = Arc::new(negotiate(&cfg_a, &cfg_a.open(), &theirs.open()).unwrap());
    let a = lab.rib.add_peer(PeerPolicy::new(ip("2001:db8::1")));
    lab.rib.peer_up(
        a,
        SessionInfo {
            negotiated: Arc::clone(&neg),
            local: ip("2001:db8::fe"),
            generation: 1,
            ipv6_next_hop: None,
        },
    );
    let b = lab.rib.add_peer(PeerPolicy::new(ip("2001:db8::2")));
    lab.rib.peer_up(
        b,
        SessionInfo { negotiated: neg, local: ip("2001:db8:1::fe"), generation: 1, ipv6_next_hop: None },
    );
    lab.rib.flush();
    let reach = Update {
        attributes: vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001]))),
            PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: NextHop::V6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
                nlri: MpNlri::Prefixes(vec![Nlri::new(pfx("2001:db8:100::/48"))]),
            }))),
        ],
        ..Update::default()
    };
    lab.rib.update(a, &reach);
    let out = lab.rib.flush();
    let u = sent(&out, b);
    let r = u[0].mp_reach().unwrap();
    assert_eq!(r.next_hop, NextHop::V6 { global: "2001:db8:1::fe".parse().unwrap(), link_local: None });
    assert_eq!(r.nlri, MpNlri::Prefixes(vec![Nlri::new(pfx("2001:db8:100::/48"))]));
}

/// A session where we send ADD-PATH for IPv4 unicast.
fn add_path_session(asn: u32, id: &str, local: &str) -> SessionInfo {
    use crate::capability::{AddPathFamily, AddPathMode};
    let mut ours = PeerConfig::new(US, RemoteAs::Exact(asn), Ipv4Addr::new(192, 0, 2, 254));
    ours.add_path = vec![AddPathFamily { family: Family::IPV4_UNICAST, mode: AddPathMode::SEND }];
    let mut theirs = PeerConfig::new(asn, RemoteAs::Exact(US), id.parse().unwrap());
    theirs.add_path = vec![AddPathFamily { family: Family::IPV4_UNICAST, mode: AddPathMode::RECEIVE }];
    let negotiated = negotiate(&ours, &ours.open(), &theirs.open()).unwrap();
    assert_eq!(negotiated.add_path_send, vec![Family::IPV4_UNICAST]);
    SessionInfo { negotiated: Arc::new(negotiated), local: ip(local), generation: 1, ipv6_next_hop: None }
}

/// (path id, AS path) of each announcement of `prefix`, and withdrawn path ids.
fn paths_of(updates: &[Update]) -> (Vec<(u32, Vec<u32>)>, Vec<u32>) {
    let mut ann: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut wd = Vec::new();
    for u in updates {
        wd.extend(u.withdrawn.iter().map(|n| n.path_id.unwrap()));
        for n in &u.nlri {
            let path = u.as_path().unwrap().segments.iter().flat_map(|s| s.asns.clone()).collect();
            ann.push((n.path_id.unwrap(), path));
        }
    }
    ann.sort();
    wd.sort();
    (ann, wd)
}

#[test]
fn add_path_send_all_and_best_n() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65002, "192.0.2.2", "192.0.2.254", |_| {});
    let c = lab.peer("192.0.2.3", 65003, "192.0.2.3", "192.0.2.254", |_| {});
    let mut all = PeerPolicy::new(ip("198.51.100.1"));
    all.add_path_send = Some(AddPathSend::All);
    let all = lab.rib.add_peer(all);
    lab.rib.peer_up(all, add_path_session(65010, "198.51.100.1", "198.51.100.254"));
    let mut two = PeerPolicy::new(ip("198.51.100.2"));
    two.add_path_send = Some(AddPathSend::Best(2));
    let two = lab.rib.add_peer(two);
    lab.rib.peer_up(two, add_path_session(65011, "198.51.100.2", "198.51.100.254"));
    lab.rib.flush();

    lab.rib.update(a, &announce(&[65001, 9, 9], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    lab.rib.update(b, &announce(&[65002, 9], "192.0.2.2", &["203.0.113.0/24"], vec![]));
    lab.rib.update(c, &announce(&[65003], "192.0.2.3", &["203.0.113.0/24"], vec![]));
    let out = lab.rib.flush();
    let p = |asns: &[u32]| [&[US], asns].concat();
    // Path ids follow arrival: a=1, b=2, c=3.
    assert_eq!(
        paths_of(&sent(&out, all)).0,
        vec![(1, p(&[65001, 9, 9])), (2, p(&[65002, 9])), (3, p(&[65003]))]
    );
    assert_eq!(paths_of(&sent(&out, two)).0, vec![(2, p(&[65002, 9])), (3, p(&[65003]))], "the best two");
    // The best path goes: "two" now gets a's path instead, under a's id, and
    // withdraws c's; "all" only withdraws c's.
    lab.rib.update(c, &withdraw(&["203.0.113.0/24"]));
    let out = lab.rib.flush();
    let (ann, wd) = paths_of(&sent(&out, two));
    assert_eq!(wd, vec![3]);
    assert!(ann.contains(&(1, p(&[65001, 9, 9]))), "{ann:?}");
    assert_eq!(paths_of(&sent(&out, all)).1, vec![3]);
    // A change to a non-best path reaches ADD-PATH peers, not the others.
    lab.rib.update(a, &announce(&[65001, 8, 8], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    let out = lab.rib.flush();
    assert_eq!(paths_of(&sent(&out, all)).0, vec![(1, p(&[65001, 8, 8]))]);
    assert!(sent(&out, c).is_empty(), "c gets only best paths, and the best did not change");
    assert_eq!(lab.rib.advertised_counts(all), vec![(Family::IPV4_UNICAST, 1)]);
}

#[test]
fn changing_add_path_send_on_a_live_session_sends_the_difference() {
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65002, "192.0.2.2", "192.0.2.254", |_| {});
    let policy = |send: Option<AddPathSend>| {
        let mut p = PeerPolicy::new(ip("198.51.100.1"));
        p.add_path_send = send;
        p
    };
    let z = lab.rib.add_peer(policy(Some(AddPathSend::All)));
    lab.rib.peer_up(z, add_path_session(65010, "198.51.100.1", "198.51.100.254"));
    lab.rib.flush();
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    lab.rib.update(b, &announce(&[65002, 9], "192.0.2.2", &["203.0.113.0/24"], vec![]));
    let out = lab.rib.flush();
    let p = |asns: &[u32]| [&[US], asns].concat();
    assert_eq!(paths_of(&sent(&out, z)).0, vec![(1, p(&[65001])), (2, p(&[65002, 9]))]);
    // All -> plain (ADD-PATH stays negotiated): only the best, under id 1;
    // id 2 is withdrawn. Holding (1, a's path) already, nothing is re-sent.
    lab.rib.set_peer_policy(z, policy(None));
    let out = lab.rib.flush();
    assert_eq!(paths_of(&sent(&out, z)), (vec![], vec![2]));
    // The best goes: b's path replaces it under id 1, nothing left over.
    lab.rib.update(a, &withdraw(&["203.0.113.0/24"]));
    let out = lab.rib.flush();
    assert_eq!(paths_of(&sent(&out, z)), (vec![(1, p(&[65002, 9]))], vec![]));
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    let out = lab.rib.flush();
    assert_eq!(paths_of(&sent(&out, z)), (vec![(1, p(&[65001]))], vec![]));
    // Plain -> all: both paths under their own ids. a's path came back
    // under the lowest free id, 1, which z holds it under: only b's is new.
    lab.rib.set_peer_policy(z, policy(Some(AddPathSend::All)));
    let out = lab.rib.flush();
    assert_eq!(paths_of(&sent(&out, z)), (vec![(2, p(&[65002, 9]))], vec![]));
    // And back to plain once more with b's the best: b's path goes under
    // id 1 (replacing a's there) and id 2 is withdrawn.
    lab.rib.update(a, &announce(&[65001, 7, 7], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    lab.rib.flush();
    lab.rib.set_peer_policy(z, policy(None));
    let out = lab.rib.flush();
    assert_eq!(paths_of(&sent(&out, z)), (vec![(1, p(&[65002, 9]))], vec![2]));
    assert_eq!(lab.rib.advertised_counts(z), vec![(Family::IPV4_UNICAST, 1)]);
}

#[test]
fn two_octet_sessions_merge_as4_path_in_and_split_it_out() {
    let mut lab = Lab::new(config());
    let mut ours = PeerConfig::new(US, RemoteAs::Exact(65001), Ipv4Addr::new(192, 0, 2, 254));
    ours.four_octet_as = false;
    let theirs = PeerConfig::new(65001, RemoteAs::Exact(US), "192.0.2.1".parse().unwrap());
    let neg = Arc::new(negotiate(&ours, &ours.open(), &theirs.open()).unwrap());
    assert!(!neg.rx.four_octet_as);
    let old = lab.rib.add_peer(PeerPolicy::new(ip("192.0.2.1")));
    lab.rib.peer_up(
        old,
        SessionInfo {
            negotiated: Arc::clone(&neg),
            local: ip("192.0.2.254"),
            generation: 1,
            ipv6_next_hop: None,
        },
    );
    let new = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    let old2 = lab.rib.add_peer(PeerPolicy::new(ip("192.0.2.9")));
    lab.rib.peer_up(
        old2,
        SessionInfo { negotiated: neg, local: ip("192.0.2.254"), generation: 1, ipv6_next_hop: None },
    );
    lab.rib.flush();
    let mut u = announce(&[65001, 23456], "192.0.2.1", &["203.0.113.0/24"], vec![]);
    u.attributes.push(PathAttribute::new(AttrValue::As4Path(AsPath::from_sequence(vec![4_200_000_001]))));
    lab.rib.update(old, &u);
    let v = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    assert_eq!(v.paths[0].path.attrs.as_path().to_string(), "65001 4200000001");
    assert!(v.paths[0].path.attrs.get(code::AS4_PATH).is_none(), "merged, not kept");
    let out = lab.rib.flush();
    assert_eq!(summary(&sent(&out, new)).0[0].1, vec![US, 65001, 4_200_000_001]);
    // To a 2-octet peer: the full path goes in AS4_PATH too.
    let two = out
        .iter()
        .find_map(|o| match o {
            Output::Send { peer, messages, .. } if *peer == old2 => messages.first().cloned(),
            _ => None,
        })
        .unwrap();
    let Message::Announce { family, attrs, nlri } = two else { panic!("{two:?}") };
    let u = announcement(family, &attrs, nlri, false);
    assert_eq!(u.as4_path().map(ToString::to_string), Some("65000 65001 4200000001".into()));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// LOCAL_PREF (None = 100), AS path length, ORIGIN, MED (None = 0).
    type Spec = (Option<u32>, usize, u8, Option<u32>);

    fn spec() -> impl Strategy<Value = Spec> {
        (
            prop_oneof![Just(None), Just(Some(50)), Just(Some(100)), Just(Some(200))],
            1usize..4,
            0u8..3,
            prop_oneof![Just(None), Just(Some(0)), Just(Some(5)), Just(Some(10))],
        )
    }

    proptest! {
        /// Whatever the arrival order, the best path is the one the RFC
        /// 4271 order picks (checked against a ranking written
        /// independently of `decision`), the paths are sorted best first,
        /// and withdrawing the best promotes the runner-up.
        #[test]
        fn best_path_is_independent_of_arrival_order(
            (specs, order) in proptest::collection::vec(spec(), 2..6).prop_flat_map(|v| {
                let n = v.len();
                (Just(v), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
            }),
        ) {
            // iBGP peers so LOCAL_PREF counts; MED always compared so the
            // order is total.
            let mut cfg = config();
            cfg.decision.always_compare_med = true;
            let mut lab = Lab::new(cfg);
            let peers: Vec<PeerId> = (0..specs.len())
                .map(|i| {
                    let a = format!("192.0.2.{}", i + 1);
                    lab.peer(&a, US, &a, "192.0.2.254", |_| {})
                })
                .collect();
            let n = specs.len();
            for &i in &order {
                let (lp, len, origin, med) = specs[i];
                let origin = match origin { 0 => Origin::Igp, 1 => Origin::Egp, _ => Origin::Incomplete };
                let mut extra = vec![AttrValue::Origin(origin)];
                if let Some(lp) = lp { extra.push(AttrValue::LocalPref(lp)); }
                if let Some(m) = med { extra.push(AttrValue::MultiExitDisc(m)); }
                let path: Vec<u32> = (0..len as u32).map(|x| 64600 + x).collect();
                let mut u = announce(&path, &format!("192.0.2.{}", i + 1), &["203.0.113.0/24"], vec![]);
                u.attributes.retain(|a| a.code() != code::ORIGIN);
                u.attributes.extend(extra.into_iter().map(PathAttribute::new));
                lab.rib.update(peers[i], &u);
            }
            let rank = |i: usize| {
                let (lp, len, origin, med) = specs[i];
                (std::cmp::Reverse(lp.unwrap_or(100)), len, origin, med.unwrap_or(0), i)
            };
            let mut expected: Vec<usize> = (0..n).collect();
            expected.sort_by_key(|&i| rank(i));
            let view = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
            let got: Vec<IpAddr> = view.paths.iter().filter_map(|p| p.from).collect();
            let want: Vec<IpAddr> = expected.iter().map(|i| ip(&format!("192.0.2.{}", i + 1))).collect();
            prop_assert_eq!(&got, &want);
            prop_assert!(view.paths[0].best && view.paths.iter().skip(1).all(|p| p.lost.is_some()));
            lab.rib.update(peers[expected[0]], &withdraw(&["203.0.113.0/24"]));
            let view = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
            prop_assert_eq!(view.paths[0].from, Some(want[1]));
        }
    }
}

/// The FIB changes of these outputs.
fn fib(out: &[Output]) -> Vec<FibChange> {
    out.iter()
        .filter_map(|o| match o {
            Output::Fib(c) => Some(c.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn install(prefix: &str, next_hops: &[&str]) -> FibChange {
    FibChange::Install {
        family: Family::IPV4_UNICAST,
        prefix: pfx(prefix),
        next_hops: next_hops.iter().map(|n| ip(n)).collect(),
    }
}

fn remove(prefix: &str) -> FibChange {
    FibChange::Remove { family: Family::IPV4_UNICAST, prefix: pfx(prefix) }
}

#[test]
fn fib_changes_follow_the_best_path_and_the_ecmp_set() {
    // Off by default: nothing for the FIB.
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    assert!(fib(&lab.rib.flush()).is_empty());

    // One path per destination: a change only when the best path changes.
    let mut lab = Lab::new(RibConfig { fib: true, ..config() });
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65002, "192.0.2.2", "192.0.2.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24", "198.51.100.0/24"], vec![]));
    assert_eq!(
        fib(&lab.rib.flush()),
        [install("203.0.113.0/24", &["192.0.2.1"]), install("198.51.100.0/24", &["192.0.2.1"])]
    );
    lab.rib.update(b, &announce(&[65002, 9], "192.0.2.2", &["203.0.113.0/24"], vec![]));
    assert!(fib(&lab.rib.flush()).is_empty(), "a longer path changes nothing");
    lab.rib.update(a, &withdraw(&["203.0.113.0/24"]));
    assert_eq!(fib(&lab.rib.flush()), [install("203.0.113.0/24", &["192.0.2.2"])], "falls back to b");
    lab.rib.update(b, &withdraw(&["203.0.113.0/24"]));
    assert_eq!(fib(&lab.rib.flush()), [remove("203.0.113.0/24")]);

    // ECMP: an equal path joins the set without changing the best path.
    let mut lab = Lab::new(RibConfig { fib: true, maximum_paths: 4, ..config() });
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65001, "192.0.2.2", "192.0.2.254", |_| {});
    lab.rib.update(b, &announce(&[65001, 7], "192.0.2.2", &["203.0.113.0/24"], vec![]));
    assert_eq!(fib(&lab.rib.flush()), [install("203.0.113.0/24", &["192.0.2.2"])]);
    lab.rib.update(a, &announce(&[65001, 7], "192.0.2.1", &["203.0.113.0/24"], vec![]));
    assert_eq!(fib(&lab.rib.flush()), [install("203.0.113.0/24", &["192.0.2.1", "192.0.2.2"])]);
    lab.rib.update(b, &withdraw(&["203.0.113.0/24"]));
    assert_eq!(fib(&lab.rib.flush()), [install("203.0.113.0/24", &["192.0.2.1"])]);

    // Routes originated here have no next hop: nothing to install.
    let origin = vec![PathAttribute::new(AttrValue::Origin(Origin::Igp))];
    lab.rib.originate(
        Family::IPV4_UNICAST,
        pfx("192.0.2.128/25"),
        AttrsBuilder { list: origin, ..Default::default() },
    );
    assert_eq!(fib(&lab.rib.flush()), [remove("192.0.2.128/25")]);
}

#[test]
fn an_unreachable_next_hop_loses_its_paths_and_a_reachable_one_wins_them_back() {
    let mut lab = Lab::new(RibConfig { fib: true, ..config() });
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", 65002, "192.0.2.2", "192.0.2.254", |_| {});
    let c = lab.peer("198.51.100.1", 65003, "198.51.100.1", "198.51.100.254", |_| {});
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["203.0.113.0/24", "198.51.100.128/25"], vec![]));
    lab.rib.update(b, &announce(&[65002, 9], "192.0.2.2", &["203.0.113.0/24"], vec![]));
    lab.rib.flush();

    // a's next hop goes: b's longer path takes over, a's lone prefix goes.
    lab.rib.set_next_hop(ip("192.0.2.1"), None);
    let out = lab.rib.flush();
    assert_eq!(fib(&out), [install("203.0.113.0/24", &["192.0.2.2"]), remove("198.51.100.128/25")]);
    let (ann, wd) = summary(&sent(&out, c));
    assert_eq!(ann, [("203.0.113.0/24".into(), vec![US, 65002, 9], "198.51.100.254".into())]);
    assert_eq!(wd, ["198.51.100.128/25"]);
    let view = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    assert_eq!(view.paths[0].path.peer, b);
    assert!(view.paths[0].best);
    assert_eq!(view.paths[1].lost, Some(Reason::NextHopUnreachable));
    let view = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("198.51.100.128/25")).unwrap();
    assert!(!view.paths[0].best, "an unreachable path is kept but never best");
    assert_eq!(view.paths[0].lost, Some(Reason::NextHopUnreachable));
    assert_eq!(lab.rib.fib_table(), [install("203.0.113.0/24", &["192.0.2.2"])]);

    // A path arriving through the unreachable next hop is not used either.
    lab.rib.update(a, &announce(&[65001], "192.0.2.1", &["192.0.2.128/25"], vec![]));
    let out = lab.rib.flush();
    assert!(sent(&out, c).is_empty() && sent(&out, b).is_empty(), "nothing usable to announce");
    assert!(fib(&out).is_empty(), "nothing was installed, nothing to install");

    // It comes back: a wins again, everything is announced and installed.
    lab.rib.set_next_hop(ip("192.0.2.1"), Some(0));
    let out = lab.rib.flush();
    let mut got = fib(&out);
    got.sort_by_key(|c| format!("{c:?}"));
    let mut want = vec![
        install("203.0.113.0/24", &["192.0.2.1"]),
        install("198.51.100.128/25", &["192.0.2.1"]),
        install("192.0.2.128/25", &["192.0.2.1"]),
    ];
    want.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(got, want);
    let (ann, wd) = summary(&sent(&out, c));
    assert_eq!(ann.len(), 3, "{ann:?}");
    assert!(wd.is_empty());
}

#[test]
fn the_igp_cost_of_next_hop_tracking_decides_between_ibgp_paths_and_a_new_resolution_reinstalls() {
    let mut lab = Lab::new(RibConfig { fib: true, ..config() });
    let a = lab.peer("192.0.2.1", US, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("192.0.2.2", US, "192.0.2.2", "192.0.2.254", |_| {});
    // Equal up to the IGP cost; the lower router id (a) wins at first.
    lab.rib.update(a, &announce(&[65010], "10.0.0.1", &["203.0.113.0/24"], vec![]));
    lab.rib.update(b, &announce(&[65010], "10.0.0.2", &["203.0.113.0/24"], vec![]));
    assert_eq!(fib(&lab.rib.flush()), [install("203.0.113.0/24", &["10.0.0.1"])]);
    lab.rib.set_next_hop(ip("10.0.0.1"), Some(20));
    lab.rib.set_next_hop(ip("10.0.0.2"), Some(10));
    assert_eq!(fib(&lab.rib.flush()), [install("203.0.113.0/24", &["10.0.0.2"])]);
    let view = lab.rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
    assert_eq!(view.paths[0].path.peer, b);
    assert_eq!(view.paths[1].lost, Some(Reason::IgpCost));
    // Same cost, so same decision: the route is still sent again (the
    // kernel's way to the next hop may have changed).
    lab.rib.set_next_hop(ip("10.0.0.2"), Some(10));
    let out = lab.rib.flush();
    assert_eq!(fib(&out), [install("203.0.113.0/24", &["10.0.0.2"])]);
    assert!(sent(&out, a).is_empty(), "peers are not sent an unchanged best path");
    // Someone deleted the kernel route: it is sent again; an unknown
    // destination is removed.
    lab.rib.refresh_fib(Family::IPV4_UNICAST, pfx("203.0.113.0/24"));
    lab.rib.refresh_fib(Family::IPV4_UNICAST, pfx("198.51.100.0/24"));
    let mut got = fib(&lab.rib.flush());
    got.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(got, [install("203.0.113.0/24", &["10.0.0.2"]), remove("198.51.100.0/24")]);
}

#[test]
fn a_fib_change_with_one_next_hop_is_one_small_value() {
    // A full table's changes can wait in the installer's queue: no
    // allocation per route, 48 bytes each.
    assert!(std::mem::size_of::<FibChange>() <= 48, "{}", std::mem::size_of::<FibChange>());
    let one: FibNextHops = [ip("192.0.2.1")].into_iter().collect();
    assert!(matches!(one, FibNextHops::One(_)));
    let two: FibNextHops = [ip("192.0.2.2"), ip("192.0.2.1"), ip("192.0.2.2")].into_iter().collect();
    assert_eq!(&*two, &[ip("192.0.2.1"), ip("192.0.2.2")], "sorted, no duplicates");
}

#[test]
fn the_ebgp_export_on_encoded_sets_handles_every_as_path_shape_and_long_attributes() {
    // Exported to an eBGP peer with no policy: done on the encoded set.
    // Debug builds check each result against the typed export.
    use crate::aspath::AsSegment;
    use crate::community::{LargeCommunities, LargeCommunity};
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    let with_path = |segments: Vec<AsSegment>, prefix: &str, extra: Vec<AttrValue>| {
        let mut u = announce(&[], "192.0.2.1", &[prefix], extra);
        for x in &mut u.attributes {
            if let AttrValue::AsPath(p) = &mut x.value {
                p.segments = segments.clone();
            }
        }
        u
    };
    let long: Vec<u32> = std::iter::repeat_n(65001, 254).collect();
    let full: Vec<u32> = std::iter::repeat_n(65001, 255).collect();
    let many = LargeCommunities((0..30).map(|i| LargeCommunity::new(65001, i, i)).collect());
    let cases = [
        (vec![AsSegment::sequence(long.clone())], "203.0.113.0/26", vec![]),
        (vec![AsSegment::sequence(full.clone())], "203.0.113.64/26", vec![]),
        (vec![AsSegment::set(vec![65001, 65010])], "203.0.113.128/26", vec![]),
        (
            vec![AsSegment::sequence(vec![65001]), AsSegment::set(vec![65010, 65011])],
            "203.0.113.192/26",
            vec![AttrValue::MultiExitDisc(7), AttrValue::LocalPref(300), AttrValue::LargeCommunities(many)],
        ),
    ];
    for (segments, prefix, extra) in &cases {
        lab.rib.update(a, &with_path(segments.clone(), prefix, extra.clone()));
    }
    let out = lab.rib.flush();
    let to_b = sent(&out, b);
    let path_of = |prefix: &str| -> Vec<AsSegment> {
        let u = to_b.iter().find(|u| u.nlri.iter().any(|n| n.prefix.to_string() == prefix)).unwrap();
        u.as_path().unwrap().segments.clone()
    };
    let mut us_long = vec![US];
    us_long.extend(&long);
    assert_eq!(path_of("203.0.113.0/26"), [AsSegment::sequence(us_long)], "into the sequence: 255 ASNs");
    assert_eq!(path_of("203.0.113.64/26"), [AsSegment::sequence(vec![US]), AsSegment::sequence(full)]);
    assert_eq!(
        path_of("203.0.113.128/26"),
        [AsSegment::sequence(vec![US]), AsSegment::set(vec![65001, 65010])]
    );
    assert_eq!(
        path_of("203.0.113.192/26"),
        [AsSegment::sequence(vec![US, 65001]), AsSegment::set(vec![65010, 65011])]
    );
    let u = to_b.iter().find(|u| u.nlri.iter().any(|n| n.prefix.to_string() == "203.0.113.192/26")).unwrap();
    assert!(u.attribute(code::MULTI_EXIT_DISC).is_none() && u.attribute(code::LOCAL_PREF).is_none());
    assert!(
        matches!(u.attribute(code::LARGE_COMMUNITIES).map(|a| &a.value), Some(AttrValue::LargeCommunities(c)) if c.0.len() == 30)
    );
    assert_eq!(u.next_hop().map(|n| n.to_string()).as_deref(), Some("198.51.100.254"));
}

#[test]
fn ebgp_export_drops_exactly_its_table_on_the_typed_and_the_encoded_path() {
    use super::export::{EBGP_EXPORT_DROPS, Routes, ebgp_drops, export_with};
    use crate::attr::Aggregator;
    use crate::community::{Communities, LargeCommunities, LargeCommunity};
    let in_table = |c: u8, learned: bool| {
        EBGP_EXPORT_DROPS.iter().any(|(d, r)| *d == c && (learned || *r == Routes::All))
    };
    for learned in [true, false] {
        for c in 0..=u8::MAX {
            assert_eq!(ebgp_drops(learned).contains(c), in_table(c, learned), "code {c}, learned: {learned}");
        }
    }
    let mut lab = Lab::new(config());
    let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
    let b = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    // Every attribute of the table, and others besides.
    let attrs = Arc::new(Attrs::new(
        vec![
            PathAttribute::new(AttrValue::Origin(Origin::Igp)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001, 65010]))),
            PathAttribute::new(AttrValue::MultiExitDisc(7)),
            PathAttribute::new(AttrValue::LocalPref(300)),
            PathAttribute::new(AttrValue::AtomicAggregate),
            PathAttribute::new(AttrValue::Aggregator(Aggregator {
                asn: 65010,
                address: "192.0.2.8".parse().unwrap(),
            })),
            PathAttribute::new(AttrValue::Communities(Communities(vec![Community::new(65001, 7)]))),
            PathAttribute::new(AttrValue::OriginatorId("192.0.2.9".parse().unwrap())),
            PathAttribute::new(AttrValue::ClusterList(vec!["192.0.2.10".parse().unwrap()])),
            PathAttribute::new(AttrValue::LargeCommunities(LargeCommunities(vec![LargeCommunity::new(
                65001, 1, 2,
            )]))),
        ],
        Some(NextHop::V4("192.0.2.1".parse().unwrap())),
        0,
    ));
    let codes = |x: &Attrs| x.list().iter().map(PathAttribute::code).collect::<Vec<u8>>();
    let all = codes(&attrs);
    assert!(EBGP_EXPORT_DROPS.iter().all(|(c, _)| all.contains(c)));
    let rib = &lab.rib;
    let session = rib.peer(b).and_then(Peer::up).cloned().unwrap();
    let prefix = pfx("203.0.113.0/24");
    for (from, learned) in [(a, true), (LOCAL, false)] {
        let want: Vec<u8> = all.iter().copied().filter(|c| !in_table(*c, learned)).collect();
        assert_eq!(want.contains(&code::MULTI_EXIT_DISC), !learned, "a MED set here goes to the neighbour");
        let path = Path {
            attrs: Arc::clone(&attrs),
            peer: from,
            path_id: 0,
            tx_id: 1,
            stale: false,
            unreachable: false,
        };
        let export = |fast| {
            let f = Family::IPV4_UNICAST;
            export_with(&rib.config, &rib.peers, b, &session, f, Some(&prefix), &path, true, fast).unwrap()
        };
        let typed = export(false);
        let nh = NextHop::V4("198.51.100.254".parse().unwrap());
        let encoded = attrs.ebgp_export(US, ebgp_drops(learned), nh).unwrap();
        assert_eq!(codes(&typed), want, "typed, learned: {learned}");
        assert_eq!(codes(&encoded), want, "encoded, learned: {learned}");
        assert_eq!(*typed, encoded);
        assert_eq!(export(true), typed, "the common export: on the encoded set, the same");
    }
}

/// What is passed on of what a peer sent (RFC 4271 §4.3, §5, §9.1.4;
/// RFC 5065 §5.3), on every export: the common eBGP one on encoded sets,
/// the typed one (eBGP with a policy) and iBGP:
/// - an unknown optional transitive attribute goes on with the Partial bit;
/// - an unknown optional non-transitive one never goes on;
/// - well-known (and optional non-transitive) ones have Partial = 0, and
///   no attribute has the unused low bits set;
/// - a recognised optional transitive one keeps the Partial bit it has;
/// - an external peer never gets a confederation segment.
#[test]
fn attributes_are_passed_on_with_the_flags_rfc_4271_gives_and_no_confederation_leaks() {
    use crate::aspath::{AsSegment, SegmentType};
    use crate::community::Communities;
    let all: Arc<dyn RoutePolicy> = Arc::new(LocalPref(100));
    let mut lab = Lab::new(config());
    let from = lab.peer("192.0.2.1", US, "192.0.2.1", "192.0.2.254", |_| {});
    let plain = lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", |_| {});
    let with_policy = lab
        .peer("198.51.100.2", 65003, "198.51.100.2", "198.51.100.254", |p| p.export = Some(Arc::clone(&all)));
    let internal = lab.peer("192.0.2.3", US, "192.0.2.3", "192.0.2.254", |p| p.route_reflector_client = true);
    let raw = |flags: u8, value: AttrValue| PathAttribute { flags, value };
    let confed = AsPath::new(vec![
        AsSegment { kind: SegmentType::ConfedSequence, asns: vec![64512, 64513] },
        AsSegment::sequence(vec![65010]),
        AsSegment { kind: SegmentType::ConfedSet, asns: vec![64514] },
    ]);
    let update = Update {
        attributes: vec![
            raw(0x60 | 0x0f, AttrValue::Origin(Origin::Igp)),
            raw(0x60, AttrValue::AsPath(confed.clone())),
            raw(0x40, AttrValue::NextHop("192.0.2.1".parse().unwrap())),
            raw(0xa0, AttrValue::MultiExitDisc(5)),
            raw(0x60, AttrValue::LocalPref(200)),
            raw(0xe0, AttrValue::Communities(Communities(vec![Community::new(65010, 1)]))),
            raw(0xc0, AttrValue::Unknown { code: 250, value: vec![1, 2, 3] }),
            raw(0x80, AttrValue::Unknown { code: 251, value: vec![4, 5] }),
        ],
        nlri: vec![Nlri::new(pfx("203.0.113.0/24"))],
        ..Update::default()
    };
    lab.rib.update(from, &update);
    let out = lab.rib.flush();
    let flags_of =
        |u: &Update| -> Vec<(u8, u8)> { u.attributes.iter().map(|a| (a.code(), a.flags)).collect() };
    for to in [plain, with_policy] {
        let u = sent(&out, to);
        assert_eq!(u.len(), 1, "peer {to}");
        let path = u[0].as_path().unwrap();
        assert!(!path.has_confed(), "peer {to}: {path}");
        let asns: Vec<u32> = path.segments.iter().flat_map(|s| s.asns.clone()).collect();
        assert_eq!(asns, vec![US, 65010], "peer {to}");
        assert_eq!(
            flags_of(&u[0]),
            vec![(1, 0x40), (2, 0x40), (3, 0x40), (8, 0xe0), (250, 0xe0)],
            "peer {to}: ORIGIN and AS_PATH without Partial, COMMUNITIES keeps it, 250 gets it, 251 is gone"
        );
    }
    let u = sent(&out, internal);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].as_path(), Some(&confed), "an internal peer gets the path as it is");
    assert_eq!(
        flags_of(&u[0]),
        vec![
            (1, 0x40),
            (2, 0x40),
            (3, 0x40),
            (4, 0x80),
            (5, 0x40),
            (8, 0xe0),
            (9, 0x80),
            (10, 0x80),
            (250, 0xe0)
        ],
    );
    // From an external peer, without confederation segments: the common
    // eBGP export takes the encoded set (debug builds check it against the
    // typed one), with the same flags.
    let external = lab.peer("192.0.2.5", 65001, "192.0.2.5", "192.0.2.254", |_| {});
    let mut update = update;
    update.nlri = vec![Nlri::new(pfx("198.51.100.128/25"))];
    for a in &mut update.attributes {
        if let AttrValue::AsPath(p) = &mut a.value {
            *p = AsPath::from_sequence(vec![65001, 65010]);
        }
    }
    lab.rib.update(external, &update);
    let out = lab.rib.flush();
    let u = sent(&out, plain);
    assert_eq!(
        summary(&u).0,
        vec![("198.51.100.128/25".into(), vec![US, 65001, 65010], "198.51.100.254".into())]
    );
    assert_eq!(flags_of(&u[0]), vec![(1, 0x40), (2, 0x40), (3, 0x40), (8, 0xe0), (250, 0xe0)]);
}

/// IPv6 routes over an IPv4 session take the session's IPv6 next hop (the
/// interface's global address, and the link-local one on a shared link,
/// as the speaker found them), on the encoded and the typed export alike;
/// without one, the IPv4-mapped form of the session's address.
#[test]
fn ipv6_routes_over_an_ipv4_session_take_the_sessions_ipv6_next_hop() {
    let families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
    let mut ours = PeerConfig::new(US, RemoteAs::Exact(65001), Ipv4Addr::new(192, 0, 2, 254));
    ours.families = families.clone();
    let mut theirs = PeerConfig::new(65001, RemoteAs::Exact(US), "192.0.2.1".parse().unwrap());
    theirs.families = families;
    let neg = Arc::new(negotiate(&ours, &ours.open(), &theirs.open()).unwrap());
    let found = NextHop::V6 {
        global: "2001:db8:1::fe".parse().unwrap(),
        link_local: Some("fe80::fe".parse().unwrap()),
    };
    /// Accepts everything, but is not known to: the typed export runs.
    #[derive(Debug)]
    struct Opaque;
    impl RoutePolicy for Opaque {
        fn depends_on_prefix(&self) -> bool {
            false
        }
        fn apply(&self, _: &PolicyRoute<'_>) -> PolicyVerdict {
            PolicyVerdict::Accept { changed: None, next_hop_self: false }
        }
    }
    let policy: Arc<dyn RoutePolicy> = Arc::new(Opaque);
    for (typed, ipv6_next_hop, want) in [
        (false, Some(found.clone()), found.clone()),
        (true, Some(found.clone()), found.clone()),
        (false, None, NextHop::V6 { global: "::ffff:192.0.2.254".parse().unwrap(), link_local: None }),
    ] {
        let mut lab = Lab::new(config());
        let mut policy_of = PeerPolicy::new(ip("192.0.2.1"));
        if typed {
            policy_of.export = Some(Arc::clone(&policy));
        }
        let to = lab.rib.add_peer(policy_of);
        let session = SessionInfo {
            negotiated: Arc::clone(&neg),
            local: ip("192.0.2.254"),
            generation: 1,
            ipv6_next_hop,
        };
        lab.rib.peer_up(to, session);
        lab.rib.flush();
        lab.rib.originate(Family::IPV6_UNICAST, pfx("2001:db8:100::1/128"), AttrsBuilder::default());
        let out = lab.rib.flush();
        let u = sent(&out, to);
        let reach = u.iter().find_map(Update::mp_reach).unwrap_or_else(|| panic!("{u:?}"));
        assert_eq!(reach.next_hop, want, "typed export: {typed}");
    }
}

/// An export policy that only sets the next hop (to an address, or to
/// ours) is taken by the common eBGP export as a next hop: the encoded set
/// copied with it gives what running the policy gives.
#[test]
fn a_policy_that_only_sets_the_next_hop_keeps_the_encoded_export() {
    use super::export::{ebgp_drops, export_with};
    use crate::policy::{NextHopChange, Policy, RibPolicy, SetAction, Term, Verdict};
    let only = |change: NextHopChange, verdict: Option<Verdict>| {
        let term = Term { name: None, matches: vec![], sets: vec![SetAction::NextHop(change)], verdict };
        let p = Policy { terms: vec![term], default: Verdict::Accept, ..Policy::new("nh") };
        Arc::new(RibPolicy::new(Arc::new(p), US)) as Arc<dyn RoutePolicy>
    };
    let address = NextHopChange::Address(ip("198.51.100.77"));
    let cases = [
        (
            only(address, Some(Verdict::Accept)),
            Some(NextHopOnly::Address(NextHop::V4("198.51.100.77".parse().unwrap()))),
        ),
        (only(address, None), Some(NextHopOnly::Address(NextHop::V4("198.51.100.77".parse().unwrap())))),
        (only(NextHopChange::SelfAddress, None), Some(NextHopOnly::SelfAddress)),
        // Not only the next hop: a real policy.
        (only(address, Some(Verdict::Reject)), None),
        (Arc::new(LocalPref(50)) as Arc<dyn RoutePolicy>, None),
    ];
    for (policy, want) in cases {
        assert_eq!(policy.sets_only_next_hop(), want, "{policy:?}");
        let mut lab = Lab::new(config());
        let a = lab.peer("192.0.2.1", 65001, "192.0.2.1", "192.0.2.254", |_| {});
        let p = Arc::clone(&policy);
        let b =
            lab.peer("198.51.100.1", 65002, "198.51.100.1", "198.51.100.254", move |x| x.export = Some(p));
        lab.rib.update(
            a,
            &announce(&[65001], "192.0.2.1", &["203.0.113.0/24"], vec![AttrValue::MultiExitDisc(3)]),
        );
        let out = lab.rib.flush();
        let Some(want) = want else { continue };
        let to_b = sent(&out, b);
        let nh = match &want {
            NextHopOnly::Address(_) => "198.51.100.77",
            NextHopOnly::SelfAddress => "198.51.100.254",
        };
        assert_eq!(summary(&to_b).0, vec![("203.0.113.0/24".into(), vec![US, 65001], nh.into())]);
        // The encoded export with that next hop is what the policy gives.
        let rib = &lab.rib;
        let view = rib.lookup(Family::IPV4_UNICAST, &pfx("203.0.113.0/24")).unwrap();
        let path = view.paths[0].path.clone();
        let session = rib.peer(b).and_then(Peer::up).cloned().unwrap();
        let prefix = pfx("203.0.113.0/24");
        let typed = export_with(
            &rib.config,
            &rib.peers,
            b,
            &session,
            Family::IPV4_UNICAST,
            Some(&prefix),
            &path,
            true,
            false,
        )
        .unwrap();
        let encoded = path.attrs.ebgp_export(US, ebgp_drops(true), NextHop::V4(nh.parse().unwrap())).unwrap();
        assert_eq!(*typed, encoded);
    }
}
