//! The FIB's logic on an in-memory kernel: no root, no sockets.

use std::net::IpAddr;

use mdc_bgp::family::Family;
use mdc_bgp::nlri::Prefix;
use mdc_bgp::rib::{FibChange, FibNextHops};
use mdc_fib::{Event, IpNetwork, MemoryDataplane, NextHop, Route, RouteKey, Target};

use super::{Installer, RibLink};
use crate::config::FibOptions;

const OURS: u8 = 210;

/// The RIB's side: what it wants installed, and what it was told.
#[derive(Default)]
struct Rib {
    table: Vec<FibChange>,
    told: Vec<(IpAddr, Option<u32>)>,
    refreshed: Vec<Prefix>,
}

impl RibLink for Rib {
    fn set_next_hop(&mut self, nh: IpAddr, reach: Option<u32>) -> Result<(), String> {
        self.told.push((nh, reach));
        Ok(())
    }

    fn refresh(&mut self, _: Family, prefix: Prefix) -> Result<(), String> {
        self.refreshed.push(prefix);
        Ok(())
    }

    fn table(&mut self) -> Result<Vec<FibChange>, String> {
        Ok(self.table.clone())
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn install(prefix: &str, next_hops: &[&str]) -> FibChange {
    let p: Prefix = prefix.parse().unwrap();
    let hops: Vec<IpAddr> = next_hops.iter().map(|h| ip(h)).collect();
    let next_hops = match hops.as_slice() {
        [one] => FibNextHops::One(*one),
        _ => FibNextHops::Many(hops.into_boxed_slice()),
    };
    FibChange::Install { family: family(&p), prefix: p, next_hops }
}

fn remove(prefix: &str) -> FibChange {
    let p: Prefix = prefix.parse().unwrap();
    FibChange::Remove { family: family(&p), prefix: p }
}

fn family(p: &Prefix) -> Family {
    if matches!(p, Prefix::V4(_)) { Family::IPV4_UNICAST } else { Family::IPV6_UNICAST }
}

fn key(dst: &str) -> RouteKey {
    RouteKey { dst: net(dst), table: 254, metric: 20 }
}

fn route(dst: &str, hops: Vec<NextHop>) -> Route {
    Route { dst: net(dst), table: 254, metric: 20, target: Target::Via(hops) }.normalized()
}

/// A node on 192.0.2.0/24 (if 2) and 198.51.100.0/24 (if 3), and
/// 2001:db8::/64 on if 2.
fn kernel() -> MemoryDataplane {
    let mut k = MemoryDataplane::new(OURS);
    k.add_address(2, net("192.0.2.1/24"));
    k.add_address(3, net("198.51.100.1/24"));
    k.add_address(2, net("2001:db8::1/64"));
    k
}

fn installer(graceful: bool, k: MemoryDataplane, rib: Rib) -> Installer<MemoryDataplane, Rib> {
    let options = FibOptions { install: true, graceful_restart: graceful, ..FibOptions::default() };
    let mut i = Installer::new(k, rib, &options, OURS);
    i.survey();
    i.start();
    i
}

#[test]
fn a_connected_next_hop_is_installed_on_its_link_and_the_rib_keeps_its_assumption() {
    let mut i = installer(false, kernel(), Rib::default());
    i.changes(vec![install("203.0.113.0/24", &["192.0.2.2"]), install("2001:db8:1::/48", &["2001:db8::2"])]);
    assert_eq!(
        i.kernel().route(&key("203.0.113.0/24")),
        Some(&route("203.0.113.0/24", vec![NextHop::gateway(ip("192.0.2.2")).on(2)]))
    );
    assert_eq!(
        i.kernel().route(&key("2001:db8:1::/48")),
        Some(&route("2001:db8:1::/48", vec![NextHop::gateway(ip("2001:db8::2")).on(2)]))
    );
    assert!(i.rib().told.is_empty(), "reachable at cost 0 is what the RIB assumes: {:?}", i.rib().told);
}

#[test]
fn an_ibgp_next_hop_goes_in_through_the_static_route_and_its_metric_is_the_igp_cost() {
    let mut k = kernel();
    k.add_static(net("203.0.113.0/24"), vec![NextHop::gateway(ip("192.0.2.9")).on(2)], 10);
    let mut i = installer(false, k, Rib::default());
    i.changes(vec![install("198.18.0.0/15", &["203.0.113.5"])]);
    assert_eq!(
        i.kernel().route(&key("198.18.0.0/15")),
        Some(&route("198.18.0.0/15", vec![NextHop::gateway(ip("192.0.2.9")).on(2)]))
    );
    assert_eq!(i.rib().told, vec![(ip("203.0.113.5"), Some(10))]);

    // The static route's metric changes: the RIB hears the new cost.
    let mut events = i.kernel_mut().remove_other(net("203.0.113.0/24"));
    events.extend(i.kernel_mut().add_static(
        net("203.0.113.0/24"),
        vec![NextHop::gateway(ip("192.0.2.9")).on(2)],
        30,
    ));
    i.events(events);
    assert_eq!(i.rib().told.last(), Some(&(ip("203.0.113.5"), Some(30))));
}

#[test]
fn a_next_hop_only_a_default_route_covers_is_unreachable_and_its_route_is_not_installed() {
    let mut k = kernel();
    k.add_static(net("0.0.0.0/0"), vec![NextHop::gateway(ip("192.0.2.254")).on(2)], 0);
    let mut i = installer(false, k, Rib::default());
    i.changes(vec![install("198.18.0.0/15", &["203.0.113.5"])]);
    assert_eq!(i.rib().told, vec![(ip("203.0.113.5"), None)]);
    assert!(i.kernel().installed().is_empty());
    let v = i.view(|n| format!("if{n}"));
    assert_eq!(v.next_hops.len(), 1);
    assert!(!v.next_hops[0].reachable);
    assert_eq!(
        v.next_hops[0].via.as_deref(),
        Some("0.0.0.0/0"),
        "show fib names the route that may not resolve it"
    );
}

#[test]
fn an_ecmp_set_is_one_route_with_a_hop_per_next_hop_and_a_removal_deletes_it() {
    let mut i = installer(false, kernel(), Rib::default());
    i.changes(vec![install("203.0.113.0/24", &["192.0.2.2", "198.51.100.2"])]);
    let both = route(
        "203.0.113.0/24",
        vec![NextHop::gateway(ip("192.0.2.2")).on(2), NextHop::gateway(ip("198.51.100.2")).on(3)],
    );
    assert_eq!(i.kernel().route(&key("203.0.113.0/24")), Some(&both));
    i.changes(vec![remove("203.0.113.0/24"), remove("192.0.2.128/25")]);
    assert!(i.kernel().installed().is_empty(), "removing what is not there is no failure either");
    assert_eq!(i.view(|n| n.to_string()).failed_total, 0);
}

#[test]
fn a_link_going_down_makes_its_next_hops_unreachable_and_up_again_reachable() {
    let mut i = installer(false, kernel(), Rib::default());
    i.changes(vec![install("203.0.113.0/24", &["192.0.2.2", "198.51.100.2"])]);
    let events = i.kernel_mut().link_down(2);
    i.events(events);
    assert_eq!(i.rib().told, vec![(ip("192.0.2.2"), None)], "only the next hop on the link");
    // The RIB sends the destination again with the path left.
    i.changes(vec![install("203.0.113.0/24", &["198.51.100.2"])]);
    assert_eq!(
        i.kernel().route(&key("203.0.113.0/24")),
        Some(&route("203.0.113.0/24", vec![NextHop::gateway(ip("198.51.100.2")).on(3)]))
    );

    let events = i.kernel_mut().link_up(2);
    i.events(events);
    assert_eq!(i.rib().told.last(), Some(&(ip("192.0.2.2"), Some(0))));
}

#[test]
fn a_route_deleted_by_hand_is_asked_of_the_rib_again() {
    let mut i = installer(false, kernel(), Rib::default());
    i.changes(vec![install("203.0.113.0/24", &["192.0.2.2"])]);
    let events = i.kernel_mut().delete_by_hand(key("203.0.113.0/24"));
    assert!(!events.is_empty());
    i.events(events);
    assert_eq!(i.rib().refreshed, vec!["203.0.113.0/24".parse::<Prefix>().unwrap()]);
    // A route of ours in another table (another mdcd's) is none of ours.
    let other = Route { table: 100, ..route("198.18.0.0/15", vec![NextHop::gateway(ip("192.0.2.2"))]) };
    i.events(vec![Event::RouteRemoved(other)]);
    assert_eq!(i.rib().refreshed.len(), 1);
}

#[test]
fn only_routes_that_cover_a_next_hop_make_it_resolve_again() {
    let mut i = installer(false, kernel(), Rib::default());
    i.changes(vec![install("203.0.113.0/24", &["192.0.2.2"])]);
    // A CNI's pod route: nothing to resolve again.
    let events = i.kernel_mut().add_static(net("10.42.0.0/24"), vec![NextHop::device(9)], 0);
    i.events(events);
    assert!(i.rib().told.is_empty());
    // A more specific route to the next hop through another router.
    let events =
        i.kernel_mut().add_static(net("192.0.2.2/32"), vec![NextHop::gateway(ip("198.51.100.7")).on(3)], 5);
    i.events(events);
    assert_eq!(i.rib().told, vec![(ip("192.0.2.2"), Some(5))]);
}

#[test]
fn a_link_local_next_hop_waits_for_the_interface_of_its_peer() {
    let mut i = installer(false, kernel(), Rib::default());
    i.changes(vec![install("203.0.113.0/24", &["fe80::2"])]);
    assert_eq!(i.rib().told, vec![(ip("fe80::2"), None)]);
    assert!(i.kernel().installed().is_empty());
    i.link_local(ip("fe80::2"), 7);
    assert_eq!(i.rib().told.last(), Some(&(ip("fe80::2"), Some(0))));
    i.changes(vec![install("203.0.113.0/24", &["fe80::2"])]);
    assert_eq!(
        i.kernel().route(&key("203.0.113.0/24")),
        Some(&route("203.0.113.0/24", vec![NextHop::gateway(ip("fe80::2")).on(7)]))
    );
}

#[test]
fn a_start_without_graceful_restart_makes_the_table_what_the_rib_wants() {
    let mut k = kernel();
    k.put_ours(route("198.18.0.0/15", vec![NextHop::gateway(ip("192.0.2.3")).on(2)]));
    let rib = Rib { table: vec![install("203.0.113.0/24", &["192.0.2.2"])], ..Rib::default() };
    let i = installer(false, k, rib);
    assert_eq!(
        i.kernel().installed(),
        vec![route("203.0.113.0/24", vec![NextHop::gateway(ip("192.0.2.2")).on(2)])]
    );
}

#[test]
fn a_graceful_start_leaves_the_kernel_alone_until_bgp_converged_then_reconciles_once() {
    let mut k = kernel();
    let kept = route("203.0.113.0/24", vec![NextHop::gateway(ip("192.0.2.2")).on(2)]);
    let stale = route("198.18.0.0/15", vec![NextHop::gateway(ip("192.0.2.3")).on(2)]);
    let moved = route("192.0.2.128/25", vec![NextHop::gateway(ip("198.51.100.3")).on(3)]);
    k.put_ours(kept.clone());
    k.put_ours(stale.clone());
    k.put_ours(moved);
    let mut i = installer(true, k, Rib::default());
    assert!(i.adopting());
    // The first peer back sends its table: nothing changes yet.
    i.changes(vec![install("192.0.2.128/25", &["198.51.100.9"]), remove("203.0.113.0/24")]);
    // Lost kernel events do not reconcile against a table still partial.
    i.events(vec![Event::Resync]);
    assert_eq!(i.kernel().applied(), (0, 0), "not one change while adopting");
    assert_eq!(i.kernel().installed().len(), 3);

    // Converged: what BGP learned again stays (untouched, or replaced in
    // place), the rest goes.
    i.rib.table =
        vec![install("203.0.113.0/24", &["192.0.2.2"]), install("192.0.2.128/25", &["198.51.100.9"])];
    i.converged();
    assert!(!i.adopting());
    let moved_now = route("192.0.2.128/25", vec![NextHop::gateway(ip("198.51.100.9")).on(3)]);
    assert_eq!(i.kernel().installed(), vec![moved_now, kept]);
    assert_eq!(i.kernel().applied(), (1, 2), "one batch: the moved route replaced, the stale one removed");
    i.converged();
    assert_eq!(i.kernel().applied().0, 1, "converging twice reconciles once");
}

/// A graceful start with nothing of an earlier run in the table (after a
/// reboot) does not wait: routes go in as they come. With routes to keep,
/// it says which gateways they go through.
#[test]
fn a_graceful_start_with_nothing_to_keep_installs_at_once() {
    let options = FibOptions { install: true, graceful_restart: true, ..FibOptions::default() };
    let mut i = Installer::new(kernel(), Rib::default(), &options, OURS);
    assert_eq!(i.survey(), None);
    assert!(!i.adopting());
    i.start();
    i.changes(vec![install("203.0.113.0/24", &["192.0.2.2"])]);
    assert_eq!(i.kernel().installed().len(), 1, "installed at once");

    let mut k = kernel();
    k.put_ours(route("203.0.113.0/24", vec![NextHop::gateway(ip("192.0.2.2")).on(2)]));
    k.put_ours(route(
        "198.18.0.0/15",
        vec![NextHop::gateway(ip("192.0.2.3")).on(2), NextHop::gateway(ip("198.51.100.3")).on(3)],
    ));
    let mut i = Installer::new(k, Rib::default(), &options, OURS);
    let gateways: Vec<IpAddr> = i.survey().unwrap().into_iter().collect();
    i.start();
    assert_eq!(gateways, vec![ip("192.0.2.2"), ip("192.0.2.3"), ip("198.51.100.3")]);
    assert!(i.adopting());
    i.waiting_for(vec!["192.0.2.2 ipv4-unicast".into()]);
    assert_eq!(i.view(|_| String::new()).waiting_for, vec!["192.0.2.2 ipv4-unicast".to_string()]);
    i.converged();
    assert!(i.view(|_| String::new()).waiting_for.is_empty(), "nothing awaited once converged");
}

#[test]
fn stopping_removes_our_routes_unless_graceful_restart_keeps_them() {
    for graceful in [false, true] {
        let mut i = installer(graceful, kernel(), Rib::default());
        assert!(!i.adopting(), "nothing of an earlier run: no wait");
        i.changes(vec![install("203.0.113.0/24", &["192.0.2.2"])]);
        i.freeze();
        // The peers go down as the speaker stops: not applied.
        i.changes(vec![remove("203.0.113.0/24")]);
        i.events(vec![Event::Resync]);
        assert_eq!(i.kernel().installed().len(), 1);
        i.stop();
        assert_eq!(i.kernel().installed().len(), usize::from(graceful), "graceful: {graceful}");
    }
}

#[test]
fn lost_events_reconcile_the_table() {
    let rib = Rib { table: vec![install("203.0.113.0/24", &["192.0.2.2"])], ..Rib::default() };
    let mut i = installer(false, kernel(), rib);
    // Unseen: someone deleted ours and added a route with our protocol.
    let _ = i.kernel_mut().delete_by_hand(key("203.0.113.0/24"));
    i.kernel_mut().put_ours(route("198.18.0.0/15", vec![NextHop::gateway(ip("192.0.2.3")).on(2)]));
    i.events(vec![Event::Resync]);
    assert_eq!(
        i.kernel().installed(),
        vec![route("203.0.113.0/24", vec![NextHop::gateway(ip("192.0.2.2")).on(2)])]
    );
}

#[test]
fn refused_routes_are_counted_and_shown_and_drift_is_reported() {
    let rib = Rib {
        table: vec![install("203.0.113.0/24", &["192.0.2.2"]), install("198.18.0.0/15", &["192.0.2.2"])],
        ..Rib::default()
    };
    let mut k = kernel();
    k.refuse(net("198.18.0.0/15"));
    let mut i = installer(false, k, rib);
    let v = i.view(|n| format!("if{n}"));
    assert_eq!(v.failed_total, 1);
    assert!(v.recent_failures[0].contains("198.18.0.0/15"), "{:?}", v.recent_failures);
    assert_eq!((v.desired, v.installed, v.in_sync), (2, 1, 1));
    assert_eq!(v.drift.len(), 1);
    assert_eq!(v.drift[0].prefix, "198.18.0.0/15");
    assert_eq!(v.drift[0].desired.as_deref(), Some("via 192.0.2.2 dev if2"));
    assert_eq!(v.drift[0].kernel, None);

    // A route changed by hand and one added with our protocol: both drift.
    let changed = route("203.0.113.0/24", vec![NextHop::gateway(ip("198.51.100.5")).on(3)]);
    i.kernel_mut().put_ours(changed);
    i.kernel_mut().put_ours(route("192.0.2.128/25", vec![NextHop::gateway(ip("192.0.2.3")).on(2)]));
    let v = i.view(|n| format!("if{n}"));
    assert_eq!((v.desired, v.installed, v.in_sync), (2, 2, 0));
    let drift: Vec<(&str, Option<&str>, Option<&str>)> =
        v.drift.iter().map(|d| (d.prefix.as_str(), d.desired.as_deref(), d.kernel.as_deref())).collect();
    assert_eq!(
        drift,
        vec![
            ("203.0.113.0/24", Some("via 192.0.2.2 dev if2"), Some("via 198.51.100.5 dev if3")),
            ("198.18.0.0/15", Some("via 192.0.2.2 dev if2"), None),
            ("192.0.2.128/25", None, Some("via 192.0.2.3 dev if2")),
        ]
    );
}
