//! `mdc_fib` against the kernel, in network namespaces the tests create.
//!
//! Needs root: outside CI these tests print `skipped: ...`; under
//! `CI=true` they fail instead.
//!
//! Topology: node `r` (where the FIB is programmed) and two neighbours:
//! `n` on 192.0.2.0/26 and 2001:db8::/64, `m` on 192.0.2.64/26 and
//! 2001:db8:1::/64. Routes go to table 100.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::Stdio;

use mdc_fib::{
    Change, Dataplane, Event, Fib, FibError, IpNetwork, NextHop, Route, RouteKey, Target, Watcher,
};
use mdc_tests::{Lab, require_interop};
use serde_json::Value;

const TABLE: u32 = 100;

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

struct Setup {
    lab: Lab,
    fib: Fib,
    /// Interface index of `r`'s link to `n`, and to `m`.
    to_n: u32,
    to_m: u32,
}

fn setup(name: &str) -> Option<Setup> {
    if !require_interop(&["lab"]) {
        return None;
    }
    let lab = Lab::new(name)
        .and_then(|l| l.node("r"))
        .and_then(|l| l.node("n"))
        .and_then(|l| l.node("m"))
        .and_then(|l| l.link("r", "192.0.2.1/26 2001:db8::1/64", "n", "192.0.2.2/26 2001:db8::2/64"))
        .and_then(|l| l.link("r", "192.0.2.65/26 2001:db8:1::1/64", "m", "192.0.2.66/26 2001:db8:1::2/64"))
        .unwrap_or_else(|e| panic!("lab: {e}"));
    let mut fib = Fib::open_in_netns(&lab.ns("r"), mdc_fib::PROTOCOL).unwrap_or_else(|e| panic!("open: {e}"));
    let index = |fib: &mut Fib, name: &str| {
        fib.link_index(name).unwrap_or_else(|e| panic!("{name}: {e}")).unwrap_or_else(|| panic!("no {name}"))
    };
    let to_n = index(&mut fib, "to-n");
    let to_m = index(&mut fib, "to-m");
    Some(Setup { lab, fib, to_n, to_m })
}

/// `ip -j route show table 100` (IPv4 or IPv6) in `r`.
fn kernel_routes(lab: &Lab, v6: bool) -> Vec<Value> {
    let family = if v6 { "-6" } else { "-4" };
    let table = TABLE.to_string();
    let out = lab
        .exec("r", &["ip", "-j", family, "route", "show", "table", &table])
        .unwrap_or_else(|e| panic!("ip route: {e}"));
    match serde_json::from_str(&out) {
        Ok(Value::Array(v)) => v,
        other => panic!("ip -j route: {other:?} from {out}"),
    }
}

fn kernel_route(lab: &Lab, dst: &str) -> Option<Value> {
    kernel_routes(lab, dst.contains(':')).into_iter().find(|r| r["dst"] == dst)
}

fn apply_all(fib: &mut Fib, changes: &[Change]) {
    for (c, r) in changes.iter().zip(fib.apply(changes)) {
        if let Err(e) = r {
            panic!("{c:?}: {e}");
        }
    }
}

fn single(dst: &str, hop: NextHop) -> Route {
    Route { dst: net(dst), table: TABLE, metric: 20, target: Target::Via(vec![hop]) }
}

#[test]
fn single_ecmp_blackhole_and_v4_via_v6_routes_appear_and_go() {
    let Some(Setup { lab, mut fib, to_n, to_m }) = setup("fibroutes") else { return };
    let routes = [
        single("198.51.100.0/24", NextHop::gateway(ip("192.0.2.2"))),
        Route {
            dst: net("203.0.113.0/25"),
            table: TABLE,
            metric: 20,
            target: Target::Via(vec![
                NextHop::gateway(ip("192.0.2.2")).on(to_n),
                NextHop { weight: 3, ..NextHop::gateway(ip("192.0.2.66")).on(to_m) },
            ]),
        },
        Route { dst: net("203.0.113.128/25"), table: TABLE, metric: 20, target: Target::Blackhole },
        single("198.51.100.64/26", NextHop::gateway(ip("2001:db8::2")).on(to_n)),
        single("2001:db8:100::/48", NextHop::gateway(ip("2001:db8::2")).on(to_n)),
        Route {
            dst: net("2001:db8:200::/48"),
            table: TABLE,
            metric: 20,
            target: Target::Via(vec![
                NextHop::gateway(ip("2001:db8::2")).on(to_n),
                NextHop::gateway(ip("2001:db8:1::2")).on(to_m),
            ]),
        },
    ];
    apply_all(&mut fib, &routes.iter().cloned().map(Change::Replace).collect::<Vec<_>>());

    let r =
        kernel_route(&lab, "198.51.100.0/24").unwrap_or_else(|| panic!("{:?}", kernel_routes(&lab, false)));
    assert_eq!(r["gateway"], "192.0.2.2");
    assert_eq!(r["dev"], "to-n");
    assert_eq!(r["metric"], 20);
    // Named once /etc/iproute2/rt_protos.d has it, the number before.
    assert!(["210", "mdc"].contains(&r["protocol"].as_str().unwrap_or("")), "{r}");
    let ecmp = kernel_route(&lab, "203.0.113.0/25").unwrap_or_else(|| panic!("no ECMP route"));
    let hops = ecmp["nexthops"].as_array().cloned().unwrap_or_default();
    let gws: Vec<&str> = hops.iter().filter_map(|h| h["gateway"].as_str()).collect();
    assert_eq!(gws, ["192.0.2.2", "192.0.2.66"], "{ecmp}");
    let weights: Vec<u64> = hops.iter().filter_map(|h| h["weight"].as_u64()).collect();
    assert_eq!(weights, [1, 3], "{ecmp}");
    let bh = kernel_route(&lab, "203.0.113.128/25").unwrap_or_else(|| panic!("no blackhole"));
    assert_eq!(bh["type"], "blackhole");
    let via6 = kernel_route(&lab, "198.51.100.64/26").unwrap_or_else(|| panic!("no v4-via-v6 route"));
    assert_eq!(via6["via"]["family"], "inet6", "{via6}");
    assert_eq!(via6["via"]["host"], "2001:db8::2", "{via6}");
    let v6 = kernel_route(&lab, "2001:db8:100::/48").unwrap_or_else(|| panic!("no IPv6 route"));
    assert_eq!(v6["gateway"], "2001:db8::2");
    let v6e = kernel_route(&lab, "2001:db8:200::/48").unwrap_or_else(|| panic!("no IPv6 ECMP"));
    assert_eq!(v6e["nexthops"].as_array().map(Vec::len), Some(2), "{v6e}");

    // Read back: exactly what was installed.
    let mut want: Vec<Route> = routes.iter().cloned().map(Route::normalized).collect();
    let mut got = fib.routes(Some(TABLE)).unwrap_or_else(|e| panic!("{e}"));
    let by_dst = |r: &Route| r.dst.to_string();
    want.sort_by_key(by_dst);
    got.sort_by_key(by_dst);
    // The kernel names the device of each gateway: compare what was asked.
    for (w, g) in want.iter().zip(&got) {
        assert_eq!((w.dst, w.metric, w.table), (g.dst, g.metric, g.table));
        match (&w.target, &g.target) {
            (Target::Blackhole, Target::Blackhole) => {}
            (Target::Via(a), Target::Via(b)) => {
                let gw = |h: &[NextHop]| h.iter().map(|x| (x.gateway, x.weight)).collect::<Vec<_>>();
                assert_eq!(gw(a), gw(b), "{w}");
            }
            _ => panic!("{w} read back as {g}"),
        }
    }
    assert_eq!(want.len(), got.len(), "{got:?}");

    // Withdraw all; a second delete of the same is not an error.
    let deletes: Vec<Change> = routes.iter().map(|r| Change::Delete(r.key())).collect();
    apply_all(&mut fib, &deletes);
    assert!(kernel_routes(&lab, false).is_empty(), "{:?}", kernel_routes(&lab, false));
    assert!(kernel_routes(&lab, true).is_empty(), "{:?}", kernel_routes(&lab, true));
    apply_all(&mut fib, &deletes);
}

#[test]
fn a_next_hop_change_replaces_the_route_in_place() {
    let Some(Setup { lab, mut fib, .. }) = setup("fibreplace") else { return };
    apply_all(&mut fib, &[Change::Replace(single("198.51.100.0/24", NextHop::gateway(ip("192.0.2.2"))))]);
    let mut monitor = lab
        .command("r", "ip")
        .map(|mut c| {
            c.args(["monitor", "route"]).stdout(Stdio::piped());
            c
        })
        .and_then(|mut c| c.spawn().map_err(Into::into))
        .unwrap_or_else(|e| panic!("ip monitor: {e}"));
    // ip monitor subscribes before it prints anything; give it a moment.
    std::thread::sleep(std::time::Duration::from_millis(300));
    apply_all(&mut fib, &[Change::Replace(single("198.51.100.0/24", NextHop::gateway(ip("192.0.2.66"))))]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = monitor.kill();
    let lines: Vec<String> = monitor
        .stdout
        .take()
        .map(|o| BufReader::new(o).lines().map_while(Result::ok).collect())
        .unwrap_or_default();
    let _ = monitor.wait();
    assert!(lines.iter().any(|l| l.contains("198.51.100.0/24 via 192.0.2.66")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("Deleted")), "a delete/add gap: {lines:?}");
    let r = kernel_route(&lab, "198.51.100.0/24").unwrap_or_else(|| panic!("route gone"));
    assert_eq!(r["gateway"], "192.0.2.66");
    assert_eq!(kernel_routes(&lab, false).len(), 1, "one route, not two");
}

#[test]
fn a_refused_route_is_reported_and_does_not_block_the_others() {
    let Some(Setup { lab, mut fib, .. }) = setup("fiberrors") else { return };
    let changes = vec![
        Change::Replace(single("198.51.100.0/26", NextHop::gateway(ip("192.0.2.2")))),
        // No such interface.
        Change::Replace(single("198.51.100.64/26", NextHop::device(9999))),
        // No route to the gateway.
        Change::Replace(single("198.51.100.128/26", NextHop::gateway(ip("203.0.113.9")))),
        // Host bits set: refused before the kernel sees it.
        Change::Replace(single("198.51.100.193/26", NextHop::gateway(ip("192.0.2.2")))),
        Change::Replace(single("198.51.100.192/26", NextHop::gateway(ip("192.0.2.66")))),
    ];
    let results = fib.apply(&changes);
    assert_eq!(results.len(), changes.len());
    let describe: Vec<String> =
        results.iter().map(|r| r.as_ref().map_or_else(ToString::to_string, |()| "ok".into())).collect();
    assert!(results.first().is_some_and(Result::is_ok), "{describe:?}");
    match results.get(1) {
        Some(Err(FibError::Kernel { errno, what, message })) => {
            assert_eq!(*errno, libc::ENODEV, "{message}");
            assert!(what.contains("198.51.100.64/26"), "{what}");
        }
        other => panic!("no such interface: {other:?}"),
    }
    match results.get(2) {
        Some(Err(FibError::Kernel { what, message, .. })) => {
            assert!(what.contains("198.51.100.128/26"), "{what}");
            assert!(!message.is_empty());
        }
        other => panic!("unreachable gateway: {other:?}"),
    }
    assert!(matches!(results.get(3), Some(Err(FibError::Invalid { .. }))), "{describe:?}");
    assert!(results.get(4).is_some_and(Result::is_ok), "{describe:?}");
    let dsts: Vec<String> =
        kernel_routes(&lab, false).iter().filter_map(|r| r["dst"].as_str().map(String::from)).collect();
    assert_eq!(dsts, ["198.51.100.0/26", "198.51.100.192/26"]);
}

#[test]
fn reconcile_fixes_only_the_difference() {
    let Some(Setup { lab, mut fib, .. }) = setup("fibreconcile") else { return };
    let table = TABLE.to_string();
    let proto = mdc_fib::PROTOCOL.to_string();
    // From an "earlier run": one stale route of ours, one we still want
    // (right), one we still want (wrong next hop); and a route of another
    // protocol that must be left alone.
    for args in [
        vec!["198.51.100.0/26", "via", "192.0.2.2", "proto", &proto, "metric", "20"],
        vec!["198.51.100.64/26", "via", "192.0.2.2", "proto", &proto, "metric", "20"],
        vec!["198.51.100.128/26", "via", "192.0.2.2", "proto", &proto, "metric", "20"],
        vec!["203.0.113.0/24", "via", "192.0.2.2", "proto", "static"],
    ] {
        let mut argv = vec!["ip", "route", "add"];
        argv.extend(args);
        argv.extend(["table", &table]);
        lab.exec("r", &argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    }
    let desired = vec![
        single("198.51.100.64/26", NextHop::gateway(ip("192.0.2.2"))),
        single("198.51.100.128/26", NextHop::gateway(ip("192.0.2.66"))),
        single("198.51.100.192/26", NextHop::gateway(ip("192.0.2.66"))),
    ];
    let report = fib.reconcile(TABLE, &desired).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!((report.kept, report.installed, report.removed), (1, 2, 1), "{report:?}");
    let show = |lab: &Lab| {
        kernel_routes(lab, false)
            .iter()
            .map(|r| format!("{} {}", r["dst"].as_str().unwrap_or("?"), r["gateway"].as_str().unwrap_or("?")))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        show(&lab),
        [
            "198.51.100.64/26 192.0.2.2",
            "198.51.100.128/26 192.0.2.66",
            "198.51.100.192/26 192.0.2.66",
            "203.0.113.0/24 192.0.2.2"
        ]
    );

    // Deleted by hand: the next reconcile brings it back, touching nothing else.
    lab.exec("r", &["ip", "route", "del", "198.51.100.128/26", "table", &table])
        .unwrap_or_else(|e| panic!("{e}"));
    let report = fib.reconcile(TABLE, &desired).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.kept, report.installed, report.removed), (2, 1, 0), "{report:?}");
    assert_eq!(show(&lab).len(), 4);
    let again = fib.reconcile(TABLE, &desired).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.kept, again.installed, again.removed), (3, 0, 0), "{again:?}");
}

#[test]
fn host_addresses_on_lo_are_added_and_removed_idempotently() {
    let Some(Setup { lab, mut fib, .. }) = setup("fibaddr") else { return };
    let lo = fib.link_index("lo").ok().flatten().unwrap_or_else(|| panic!("no lo"));
    assert_eq!(fib.link_index("no-such-link").ok(), Some(None));
    let addrs = [net("203.0.113.7/32"), net("2001:db8:ffff::7/128")];
    for a in addrs {
        fib.add_address(lo, a).unwrap_or_else(|e| panic!("{a}: {e}"));
        fib.add_address(lo, a).unwrap_or_else(|e| panic!("{a} again: {e}"));
    }
    let shown = |lab: &Lab| lab.exec("r", &["ip", "-j", "addr", "show", "dev", "lo"]).unwrap_or_default();
    let now = shown(&lab);
    assert!(now.contains("203.0.113.7") && now.contains("2001:db8:ffff::7"), "{now}");
    for a in addrs {
        fib.remove_address(lo, a).unwrap_or_else(|e| panic!("{a}: {e}"));
        fib.remove_address(lo, a).unwrap_or_else(|e| panic!("{a} again: {e}"));
    }
    let now = shown(&lab);
    assert!(!now.contains("203.0.113.7") && !now.contains("2001:db8:ffff::7"), "{now}");
}

#[test]
fn a_missing_namespace_is_a_clear_error() {
    match Fib::open_in_netns("mdc-no-such-namespace", mdc_fib::PROTOCOL) {
        Err(e) => assert!(e.to_string().contains("/run/netns/mdc-no-such-namespace"), "{e}"),
        Ok(_) => panic!("opened a namespace that does not exist"),
    }
    assert!(Fib::open_in_netns("../etc", mdc_fib::PROTOCOL).is_err());
}

#[test]
fn deleting_a_route_of_another_protocol_is_refused() {
    let Some(Setup { lab, mut fib, .. }) = setup("fibproto") else { return };
    let table = TABLE.to_string();
    lab.exec(
        "r",
        &["ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.2", "table", &table, "metric", "20"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key = RouteKey { dst: net("198.51.100.0/24"), table: TABLE, metric: 20 };
    // Not ours: the delete matches nothing (and is no error), the route stays.
    apply_all(&mut fib, &[Change::Delete(key)]);
    assert!(kernel_route(&lab, "198.51.100.0/24").is_some(), "someone else's route was deleted");
}

/// `ip -j nexthop show` in `r`: (id, protocol, group size).
fn kernel_nexthops(lab: &Lab) -> Vec<Value> {
    let out = lab.exec("r", &["ip", "-j", "nexthop", "show"]).unwrap_or_else(|e| panic!("ip nexthop: {e}"));
    match serde_json::from_str(&out) {
        Ok(Value::Array(v)) => v,
        _ if out.trim().is_empty() => Vec::new(),
        other => panic!("ip -j nexthop: {other:?} from {out}"),
    }
}

#[test]
fn next_hops_with_an_interface_share_nexthop_objects_that_outlive_the_process() {
    let Some(Setup { lab, mut fib, to_n, to_m }) = setup("fibnhobj") else { return };
    assert!(fib.uses_nexthop_objects(), "kernel 5.3+ has nexthop objects");
    let ecmp = || {
        Target::Via(vec![
            NextHop::gateway(ip("192.0.2.2")).on(to_n),
            NextHop { weight: 2, ..NextHop::gateway(ip("192.0.2.66")).on(to_m) },
        ])
    };
    let routes: Vec<Route> = (0..8u8)
        .map(|i| Route {
            dst: net(&format!("198.51.100.{}/29", i * 8)),
            table: TABLE,
            metric: 20,
            target: ecmp(),
        })
        .chain([
            single("203.0.113.0/24", NextHop::gateway(ip("192.0.2.2")).on(to_n)),
            single("203.0.113.128/25", NextHop::gateway(ip("2001:db8::2")).on(to_n)),
            single("2001:db8:100::/48", NextHop::gateway(ip("2001:db8::2")).on(to_n)),
        ])
        .collect();
    apply_all(&mut fib, &routes.iter().cloned().map(Change::Replace).collect::<Vec<_>>());

    // Two IPv4 hops, one IPv6 hop (shared by the IPv4 and the IPv6 route)
    // and one group for all eight ECMP routes.
    let objects = kernel_nexthops(&lab);
    assert_eq!(objects.len(), 4, "{objects:?}");
    assert!(objects.iter().all(|o| o["protocol"] == "210" || o["protocol"] == "mdc"), "{objects:?}");
    let groups: Vec<&Value> = objects.iter().filter(|o| o["group"].is_array()).collect();
    assert_eq!(groups.len(), 1, "{objects:?}");
    let group_id = groups.first().map(|g| g["id"].clone()).unwrap_or_default();
    let v4 = kernel_routes(&lab, false);
    let by_group = v4.iter().filter(|r| r["nhid"] == group_id).count();
    assert_eq!(by_group, 8, "{v4:?}");
    let via6 = kernel_route(&lab, "203.0.113.128/25").unwrap_or_else(|| panic!("no v4-via-v6 route"));
    assert!(via6["nhid"].is_u64(), "{via6}");

    // Read back through the objects; a new process adopts them.
    let readback = |fib: &mut Fib| {
        let mut got = fib.routes(Some(TABLE)).unwrap_or_else(|e| panic!("{e}"));
        got.sort_by_key(|r| r.dst.to_string());
        got
    };
    let mut want: Vec<Route> = routes.iter().cloned().map(Route::normalized).collect();
    want.sort_by_key(|r| r.dst.to_string());
    assert_eq!(readback(&mut fib), want);
    drop(fib);
    let mut again = Fib::open_in_netns(&lab.ns("r"), mdc_fib::PROTOCOL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(readback(&mut again), want, "a new process reads the routes through the objects it finds");
    let report = again.reconcile(TABLE, &routes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.kept, report.installed, report.removed), (routes.len(), 0, 0), "{report:?}");
    assert_eq!(kernel_nexthops(&lab).len(), 4, "no second copy of any object");

    // Without the ECMP routes the group and the hop only it used go.
    let report = again.reconcile(TABLE, &routes[8..]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.kept, report.removed), (3, 8), "{report:?}");
    let objects = kernel_nexthops(&lab);
    assert_eq!(objects.len(), 2, "the group and 192.0.2.66 removed: {objects:?}");
    let report = again.reconcile(TABLE, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.removed, 3, "{report:?}");
    assert!(kernel_nexthops(&lab).is_empty(), "{:?}", kernel_nexthops(&lab));
}

/// A watcher on `r` on a thread of its own, its events on a channel.
fn watch(lab: &Lab, buffer: Option<usize>) -> std::sync::mpsc::Receiver<Event> {
    watch_ignoring(lab, buffer, None)
}

fn watch_ignoring(lab: &Lab, buffer: Option<usize>, ignore: Option<u32>) -> std::sync::mpsc::Receiver<Event> {
    let mut w =
        Watcher::open_in_netns(&lab.ns("r"), mdc_fib::PROTOCOL).unwrap_or_else(|e| panic!("watch: {e}"));
    if let Some(b) = buffer {
        w.set_buffer(b).unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(port) = ignore {
        w.ignore_port(port).unwrap_or_else(|e| panic!("{e}"));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(events) = w.wait() {
            for e in events {
                if tx.send(e).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Events until `pred` matches one (or 5 s pass); all of them.
fn events_until(rx: &std::sync::mpsc::Receiver<Event>, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(e) => {
                let done = pred(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no matching event; saw {seen:?}");
}

#[test]
fn the_watcher_reports_our_routes_removed_links_going_down_and_lost_events() {
    let Some(Setup { lab, mut fib, to_n, to_m }) = setup("fibwatch") else { return };
    let events = watch(&lab, None);
    let by_n = single("198.51.100.0/24", NextHop::gateway(ip("192.0.2.2")).on(to_n));
    let by_m = single("203.0.113.0/24", NextHop::gateway(ip("192.0.2.66")).on(to_m));
    let desired = [by_n.clone(), by_m.clone()];
    fib.reconcile(TABLE, &desired).unwrap_or_else(|e| panic!("{e}"));
    events_until(&events, |e| matches!(e, Event::RouteAdded(r) if r.dst == by_m.dst));
    // Someone else's route is reported as such (it may carry BGP next
    // hops), not as one of ours.
    let table = TABLE.to_string();
    lab.exec("r", &["ip", "route", "add", "203.0.113.128/25", "via", "192.0.2.66", "table", &table])
        .unwrap_or_else(|e| panic!("{e}"));
    events_until(&events, |e| *e == Event::OtherRoute { table: TABLE, dst: net("203.0.113.128/25") });

    // Deleted by hand: reported, and reconcile puts it back.
    lab.exec("r", &["ip", "route", "del", "198.51.100.0/24", "table", &table])
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = events_until(&events, |e| matches!(e, Event::RouteRemoved(r) if r.dst == by_n.dst));
    assert!(
        !seen.iter().any(|e| matches!(e, Event::RouteAdded(r) if r.dst == net("203.0.113.128/25"))),
        "{seen:?}"
    );
    let report = fib.reconcile(TABLE, &desired).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.kept, report.installed), (1, 1), "{report:?}");
    assert!(kernel_route(&lab, "198.51.100.0/24").is_some());

    // The link to n goes down: reported; the kernel drops the route via it.
    lab.exec("r", &["ip", "link", "set", "to-n", "down"]).unwrap_or_else(|e| panic!("{e}"));
    events_until(
        &events,
        |e| matches!(e, Event::LinkDown { ifindex, name } if *ifindex == to_n && name == "to-n"),
    );
    assert!(kernel_route(&lab, "198.51.100.0/24").is_none(), "{:?}", kernel_routes(&lab, false));
    // The kernel deleted the link's nexthop object: read back, our objects
    // are the other link's only.
    fib.reload_nexthops().unwrap_or_else(|e| panic!("{e}"));
    let objects = lab.exec("r", &["ip", "nexthop", "show", "proto", "210"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(!objects.contains("to-n") && objects.contains("to-m"), "{objects}");
    // While it is down the route cannot go back, and the other one stays.
    let report = fib.reconcile(TABLE, &desired).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.kept, report.failed.len()), (1, 1), "{report:?}");
    lab.exec("r", &["ip", "link", "set", "to-n", "up"]).unwrap_or_else(|e| panic!("{e}"));
    events_until(&events, |e| matches!(e, Event::LinkUp { ifindex, .. } if *ifindex == to_n));
    let report = fib.reconcile(TABLE, &desired).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.failed.is_empty(), "{report:?}");
    assert!(kernel_route(&lab, "198.51.100.0/24").is_some());

    // A watcher that falls behind is told to read the state again.
    let slow = watch(&lab, Some(4096));
    apply_all(&mut fib, &host_routes(to_m));
    events_until(&slow, |e| *e == Event::Resync);
}

/// 4000 IPv6 host routes 2001:db8:ffff::N via m: enough events to
/// overflow a small watcher buffer.
fn host_routes(to_m: u32) -> Vec<Change> {
    (0..4000u16)
        .map(|i| {
            let dst = IpNetwork::new(IpAddr::from([0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, i]), 128).unwrap();
            let hop = NextHop::gateway(ip("2001:db8:1::2")).on(to_m);
            Change::Replace(Route { dst, ..single("2001:db8:ffff::/64", hop) })
        })
        .collect()
}

#[test]
fn a_watcher_that_ignores_the_fibs_port_sees_only_what_others_change() {
    let Some(Setup { lab, mut fib, to_m, .. }) = setup("fibquiet") else { return };
    // The buffer that overflowed above: our 4000 changes never reach it.
    let port = fib.port_id().unwrap_or_else(|e| panic!("{e}"));
    let events = watch_ignoring(&lab, Some(4096), Some(port));
    apply_all(&mut fib, &host_routes(to_m));
    let table = TABLE.to_string();
    lab.exec("r", &["ip", "-6", "route", "del", "2001:db8:ffff::7/128", "table", &table])
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = events_until(
        &events,
        |e| matches!(e, Event::RouteRemoved(r) if r.dst == net("2001:db8:ffff::7/128")),
    );
    assert_eq!(seen.len(), 1, "only the hand delete, nothing of ours, no overflow: {seen:?}");
}

#[test]
fn next_hops_resolve_through_the_main_table_with_the_covering_routes_metric() {
    let Some(Setup { lab, mut fib, to_n, to_m }) = setup("fibresolve") else { return };
    // Connected: metric 0, no gateway, the link.
    let r =
        fib.resolve(ip("192.0.2.2")).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no route"));
    assert_eq!((r.route, r.metric, r.protocol), (net("192.0.2.0/26"), 0, 2), "{r:?}");
    assert_eq!(r.next_hops, [NextHop::device(to_n)], "{r:?}");
    assert!(r.usable());
    assert_eq!(fib.resolve(ip("203.0.113.9")).ok(), Some(None), "nothing covers it");

    // An IGP-like route in the main table (someone else's, metric 30), a
    // more specific one of ours through nexthop objects, and a blackhole.
    lab.exec("r", &["ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.66", "metric", "30"])
        .unwrap_or_else(|e| panic!("{e}"));
    let ecmp = Route {
        dst: net("198.51.100.128/25"),
        table: mdc_fib::MAIN_TABLE,
        metric: 20,
        target: Target::Via(vec![
            NextHop::gateway(ip("192.0.2.2")).on(to_n),
            NextHop::gateway(ip("192.0.2.66")).on(to_m),
        ]),
    };
    let hole = Route {
        dst: net("203.0.113.0/24"),
        table: mdc_fib::MAIN_TABLE,
        metric: 20,
        target: Target::Blackhole,
    };
    apply_all(&mut fib, &[Change::Replace(ecmp.clone()), Change::Replace(hole)]);

    let r = fib.resolve(ip("198.51.100.7")).ok().flatten().unwrap_or_else(|| panic!("no route"));
    assert_eq!((r.route, r.metric), (net("198.51.100.0/24"), 30), "{r:?}");
    assert_eq!(
        r.next_hops.iter().map(|h| (h.gateway, h.ifindex)).collect::<Vec<_>>(),
        [(Some(ip("192.0.2.66")), Some(to_m))]
    );
    let r = fib.resolve(ip("198.51.100.200")).ok().flatten().unwrap_or_else(|| panic!("no route"));
    assert_eq!((r.route, r.metric, r.protocol), (ecmp.dst, 20, mdc_fib::PROTOCOL), "{r:?}");
    let mut gws: Vec<IpAddr> = r.next_hops.iter().filter_map(|h| h.gateway).collect();
    gws.sort();
    assert_eq!(gws, [ip("192.0.2.2"), ip("192.0.2.66")], "the group's members: {r:?}");
    let r = fib.resolve(ip("203.0.113.9")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r, None, "a blackhole does not forward");

    // Someone else's nexthop object (as zebra makes them) resolves too.
    for cmd in [
        vec!["ip", "nexthop", "add", "id", "7", "via", "2001:db8::2", "dev", "to-n"],
        vec!["ip", "-6", "route", "add", "2001:db8:77::/48", "nhid", "7", "metric", "40"],
    ] {
        lab.exec("r", &cmd).unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    }
    let r = fib.resolve(ip("2001:db8:77::1")).ok().flatten().unwrap_or_else(|| panic!("no route"));
    assert_eq!((r.route, r.metric), (net("2001:db8:77::/48"), 40), "{r:?}");
    assert_eq!(r.next_hops, [NextHop::gateway(ip("2001:db8::2")).on(to_n)], "{r:?}");
}
