//! mdcd installing its best paths in the kernel (`[fib]`, issue 5, ADR
//! 0009), with two FRR 8.4 peers offering the same prefix, in network
//! namespaces. Each result is read from the kernel (`ip -j route`), and
//! from `mdcctl show fib`:
//!
//! 1. the best path is installed (protocol mdc, metric 20), a stale route
//!    of ours from an earlier run goes at start, a route deleted by hand
//!    comes back, `show fib` shows no drift;
//! 2. next-hop tracking: the link to the best path's next hop goes down,
//!    and mdcd installs FRR B's path while its session with A is still
//!    Established (the next hop, not the session, decided); the link comes
//!    back, and so does A's path;
//! 3. withdrawals: A withdraws (B's path), then B (no route); mdcd stops
//!    (SIGTERM) and its routes go with it;
//! 4. with `maximum-paths = 2`, equal paths from A and B are one route with
//!    both next hops; A's link down leaves B's, A's withdrawal too;
//! 5. iBGP next hops resolved through static routes: the routes' metrics
//!    are the IGP cost that picks the best path, the route goes in through
//!    the static route's gateway, and a next hop losing its route is
//!    unreachable;
//! 6. an unnumbered FRR peer (RFC 8950): its IPv4 and IPv6 routes go via
//!    its link-local address on its link;
//! 7. graceful restart: kill -9 leaves the routes, the restarted mdcd
//!    adopts them (`ip monitor` sees them neither deleted nor changed, while
//!    the sessions come back one by one), and once every peer sent
//!    End-of-RIB removes a route of the earlier run BGP did not learn again.
//!
//! Needs root and FRR: outside CI these tests print `skipped: ...`; under
//! `CI=true` a missing FRR fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::{Child, Stdio};
use std::time::Duration;

use mdc_tests::{
    BgpConfig, BgpPeer, Check, Frr, Lab, Mdcd, MdcdBinaries, Neighbor, Result, SessionState, require_interop,
    wait_until,
};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);
/// mdcd's addresses towards A and B, and theirs.
const M_A: &str = "192.0.2.1";
const A: &str = "192.0.2.2";
const M_B: &str = "192.0.2.65";
const B: &str = "192.0.2.66";
/// Offered by both; B's path is one AS longer.
const P: &str = "198.51.100.0/24";
/// Offered by A only.
const Q: &str = "203.0.113.0/25";
/// A route of ours from an earlier run that BGP does not learn.
const STALE: &str = "203.0.113.128/25";

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

/// mdcd (AS 65000, node m) with a link to FRR A (AS 65001) and one to FRR B
/// (AS 65002); `fib` is mdcd's `[fib]` table. Before mdcd starts, a route
/// of ours (protocol 210) is put in its kernel as an earlier run would have
/// left it.
fn setup(short: &str, fib: &str) -> Result<(Lab, Mdcd, Frr, Frr)> {
    setup_with(short, fib, true, &[])
}

/// What an earlier run left: the kernel of m holds STALE, ours.
fn leave_stale(lab: &Lab) -> Result<()> {
    lab.exec("m", &["ip", "route", "add", STALE, "via", A, "proto", "210", "metric", "20"])?;
    Ok(())
}

/// [`setup`], B's path as long as A's unless `b_longer`, with `[bgp]`
/// lines for mdcd.
fn setup_with(short: &str, fib: &str, b_longer: bool, bgp: &[&str]) -> Result<(Lab, Mdcd, Frr, Frr)> {
    setup_lab(short, fib, b_longer, bgp, true)
}

/// [`setup_with`]; `stale`: the kernel holds a route of an earlier run.
fn setup_lab(
    short: &str,
    fib: &str,
    b_longer: bool,
    bgp: &[&str],
    stale: bool,
) -> Result<(Lab, Mdcd, Frr, Frr)> {
    let lab = Lab::new(short)?
        .node("m")?
        .node("a")?
        .node("b")?
        .link("m", &format!("{M_A}/26"), "a", &format!("{A}/26"))?
        .link("m", &format!("{M_B}/26"), "b", &format!("{B}/26"))?;
    if stale {
        leave_stale(&lab)?;
    }
    let a = Frr::start_in(
        &lab,
        "a",
        BgpConfig::new(65001, "192.0.2.102").neighbor(Neighbor::new(M_A, 65000)).network(P).network(Q),
    )?;
    let mut b_config = BgpConfig::new(65002, "192.0.2.103").neighbor(Neighbor::new(M_B, 65000)).network(P);
    if b_longer {
        b_config = b_config.extra(
            "route-map LONGER permit 10\n set as-path prepend 65002\nexit\n!\nrouter bgp 65002\n \
             address-family ipv4 unicast\n  neighbor 192.0.2.65 route-map LONGER out\n \
             exit-address-family\nexit\n!",
        );
    }
    let b = Frr::start_in(&lab, "b", b_config)?;
    let config = BgpConfig::new(65000, "192.0.2.101")
        .neighbor(Neighbor::new(A, 65001))
        .neighbor(Neighbor::new(B, 65002))
        .hold_time(30);
    let mut mdcd = Mdcd::new(&lab, "m", bins(), config)?.extra_config(fib);
    for line in bgp {
        mdcd = mdcd.bgp_option(line);
    }
    mdcd.start()?;
    for (f, local) in [(&a, M_A), (&b, M_B)] {
        f.wait_established(local, T)?;
    }
    mdcd.wait_established(A, T)?;
    mdcd.wait_established(B, T)?;
    Ok((lab, mdcd, a, b))
}

/// Our route to `prefix` in m's main table: (gateway, dev), or `None`.
fn kernel_route(lab: &Lab, prefix: &str) -> Result<Option<(String, String)>> {
    let out = lab.exec("m", &["ip", "-j", "route", "show", "exact", prefix, "proto", "210"])?;
    let v: Value = serde_json::from_str(&out).map_err(|e| mdc_tests::Error::msg(format!("{e}: {out}")))?;
    let Some(r) = v.as_array().and_then(|a| a.first()) else { return Ok(None) };
    assert_eq!(r["metric"].as_u64(), Some(20), "{r}");
    // A route by nexthop object: `ip route get` names the hop it uses.
    let addr = prefix.split('/').next().unwrap_or_default();
    let got = lab.exec("m", &["ip", "-j", "route", "get", addr])?;
    let g: Value = serde_json::from_str(&got).map_err(|e| mdc_tests::Error::msg(format!("{e}: {got}")))?;
    let g = &g[0];
    Ok(Some((g["gateway"].as_str().unwrap_or("-").to_string(), g["dev"].as_str().unwrap_or("-").to_string())))
}

/// Until our route to `prefix` is `want` (`None`: absent).
fn wait_kernel(lab: &Lab, prefix: &str, want: Option<(&str, &str)>) -> Result<()> {
    let want = want.map(|(g, d)| (g.to_string(), d.to_string()));
    wait_until(&format!("kernel route {prefix} = {want:?}"), T, POLL, || {
        let got = kernel_route(lab, prefix)?;
        Ok(if got == want { Check::Done(()) } else { Check::Pending(format!("{got:?}")) })
    })
}

/// Until `mdcctl show fib` has `wanted` routes, all in sync, no drift, and
/// no routes of an earlier run kept.
fn wait_in_sync(mdcd: &Mdcd, wanted: u64) -> Result<Value> {
    wait_until("mdcctl show fib in sync", T, POLL, || {
        let v = mdcd.fib_json()?;
        let ok = v["desired"].as_u64() == Some(wanted)
            && v["installed"].as_u64() == Some(wanted)
            && v["in_sync"].as_u64() == Some(wanted)
            && v["drift"].as_array().is_some_and(Vec::is_empty)
            && v["adopting"].as_bool() == Some(false);
        Ok(if ok { Check::Done(v) } else { Check::Pending(v.to_string()) })
    })
}

#[test]
fn best_paths_are_installed_follow_next_hop_tracking_and_withdrawals() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (lab, mut mdcd, a, b) = setup("fibfrr", "[fib]\ninstall = true\n")?;

    // 1. A's path is best and installed; the earlier run's route is gone.
    wait_kernel(&lab, P, Some((A, "to-a")))?;
    wait_kernel(&lab, Q, Some((A, "to-a")))?;
    wait_kernel(&lab, STALE, None)?;
    let v = wait_in_sync(&mdcd, 2)?;
    assert_eq!((v["table"].as_u64(), v["metric"].as_u64()), (Some(254), Some(20)), "{v}");
    let hops = v["next_hops"].as_array().unwrap();
    let a_hop = hops.iter().find(|h| h["address"].as_str() == Some(A)).expect("A's next hop tracked");
    assert_eq!(a_hop["reachable"].as_bool(), Some(true), "{v}");
    assert_eq!(a_hop["igp_cost"].as_u64(), Some(0), "connected: {v}");
    assert_eq!(a_hop["via"].as_str(), Some("192.0.2.0/26"), "{v}");
    let shown = lab.exec("m", &["ip", "route", "show", "exact", P])?;
    assert!(shown.contains("proto mdc") || shown.contains("proto 210"), "{shown}");

    // Deleted by hand: back again.
    lab.exec("m", &["ip", "route", "del", P, "proto", "210"])?;
    wait_kernel(&lab, P, Some((A, "to-a")))?;

    // 2. The link to A goes down: its next hop is unreachable, B's path is
    // installed while the session with A is still up (hold time 30 s).
    lab.exec("m", &["ip", "link", "set", "to-a", "down"])?;
    wait_kernel(&lab, P, Some((B, "to-b")))?;
    assert_eq!(
        mdcd.session_state(A.parse().unwrap())?,
        SessionState::Established,
        "the next hop decided, not BGP"
    );
    wait_kernel(&lab, Q, None)?;
    let paths: Vec<Value> = mdcd
        .routes_json(mdc_tests::Family::Ipv4Unicast)?
        .into_iter()
        .filter(|r| r["prefix"].as_str() == Some(P))
        .collect();
    let from_a = paths.iter().find(|p| p["peer"].as_str() == Some(A)).expect("A's path kept");
    assert_eq!(from_a["lost"].as_str(), Some("next hop unreachable"), "{paths:?}");
    assert_eq!(from_a["best"].as_bool(), Some(false), "{paths:?}");
    let v = wait_in_sync(&mdcd, 1)?;
    let a_hop = v["next_hops"].as_array().unwrap().iter().find(|h| h["address"].as_str() == Some(A)).cloned();
    assert_eq!(a_hop.map(|h| h["reachable"].clone()), Some(Value::Bool(false)), "{v}");
    // B's UPDATE path to others would be re-advertised; here, the kernel.
    lab.exec("m", &["ip", "link", "set", "to-a", "up"])?;
    a.wait_established(M_A, T)?;
    wait_kernel(&lab, P, Some((A, "to-a")))?;
    wait_kernel(&lab, Q, Some((A, "to-a")))?;

    // 3. A withdraws P: B's path; B withdraws too: no route.
    a.withdraw(P)?;
    wait_kernel(&lab, P, Some((B, "to-b")))?;
    b.withdraw(P)?;
    wait_kernel(&lab, P, None)?;
    wait_in_sync(&mdcd, 1)?;

    // mdcd stops without graceful restart: its routes go.
    mdcd.stop();
    wait_kernel(&lab, Q, None)?;
    let left = lab.exec("m", &["ip", "route", "show", "proto", "210"])?;
    assert!(left.trim().is_empty(), "routes left behind: {left}");
    Ok(())
}

/// The gateways of our route to `prefix` in m's main table, sorted (one,
/// or the members of its ECMP set).
fn kernel_gateways(lab: &Lab, prefix: &str) -> Result<Vec<String>> {
    let out = lab.exec("m", &["ip", "-j", "route", "show", "exact", prefix, "proto", "210"])?;
    let v: Value = serde_json::from_str(&out).map_err(|e| mdc_tests::Error::msg(format!("{e}: {out}")))?;
    let Some(r) = v.as_array().and_then(|a| a.first()) else { return Ok(Vec::new()) };
    let mut gws: Vec<String> = match r["nexthops"].as_array() {
        Some(hops) => hops.iter().filter_map(|h| h["gateway"].as_str().map(str::to_owned)).collect(),
        None => r["gateway"].as_str().map(str::to_owned).into_iter().collect(),
    };
    gws.sort();
    Ok(gws)
}

fn wait_gateways(lab: &Lab, prefix: &str, want: &[&str]) -> Result<()> {
    wait_until(&format!("{prefix} via {want:?}"), T, POLL, || {
        let got = kernel_gateways(lab, prefix)?;
        Ok(if got == want { Check::Done(()) } else { Check::Pending(format!("{got:?}")) })
    })
}

#[test]
fn an_ecmp_set_is_one_kernel_route_that_loses_a_next_hop_with_its_link() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let bgp = ["maximum-paths = 2", "multipath-relax = true"];
    let (lab, mdcd, a, _b) = setup_with("fibecmp", "[fib]\ninstall = true\n", false, &bgp)?;
    wait_gateways(&lab, P, &[A, B])?;
    wait_gateways(&lab, Q, &[A])?;
    wait_in_sync(&mdcd, 2)?;
    lab.exec("m", &["ip", "link", "set", "to-a", "down"])?;
    wait_gateways(&lab, P, &[B])?;
    wait_gateways(&lab, Q, &[])?;
    lab.exec("m", &["ip", "link", "set", "to-a", "up"])?;
    a.wait_established(M_A, T)?;
    wait_gateways(&lab, P, &[A, B])?;
    wait_gateways(&lab, Q, &[A])?;
    a.withdraw(P)?;
    wait_gateways(&lab, P, &[B])?;
    wait_in_sync(&mdcd, 2)?;
    Ok(())
}

/// iBGP next hops resolved through other routes: A and B (iBGP, AS 65000)
/// set next hops 198.51.100.1 and .2, which m reaches through static routes
/// (as an IGP would install them) with metrics 10 and 20.
const NH_A: &str = "198.51.100.1";
const NH_B: &str = "198.51.100.2";
const R: &str = "203.0.113.0/24";

#[test]
fn ibgp_next_hops_resolve_recursively_and_their_igp_cost_decides() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new("fibigp")?
        .node("m")?
        .node("a")?
        .node("b")?
        .link("m", &format!("{M_A}/26"), "a", &format!("{A}/26"))?
        .link("m", &format!("{M_B}/26"), "b", &format!("{B}/26"))?;
    lab.exec("m", &["ip", "route", "add", &format!("{NH_A}/32"), "via", A, "metric", "10"])?;
    lab.exec("m", &["ip", "route", "add", &format!("{NH_B}/32"), "via", B, "metric", "20"])?;
    // A's router id is the higher: without the IGP cost, B would win.
    let frr = |node: &str, id: &str, local: &str, nh: &str| -> Result<Frr> {
        let config =
            BgpConfig::new(65000, id).neighbor(Neighbor::new(local, 65000)).network(R).extra(&format!(
                "route-map NH permit 10\n set ip next-hop {nh}\nexit\n!\nrouter bgp 65000\n \
             address-family ipv4 unicast\n  neighbor {local} route-map NH out\n \
             exit-address-family\nexit\n!"
            ));
        Frr::start_in(&lab, node, config)
    };
    let a = frr("a", "192.0.2.200", M_A, NH_A)?;
    let b = frr("b", "192.0.2.100", M_B, NH_B)?;
    let config = BgpConfig::new(65000, "192.0.2.101")
        .neighbor(Neighbor::new(A, 65000))
        .neighbor(Neighbor::new(B, 65000))
        .hold_time(30);
    let mut mdcd = Mdcd::new(&lab, "m", bins(), config)?.extra_config("[fib]\ninstall = true\n");
    mdcd.start()?;
    a.wait_established(M_A, T)?;
    b.wait_established(M_B, T)?;

    // A's next hop costs 10, B's 20: A's path, installed through the
    // static route's gateway.
    wait_kernel(&lab, R, Some((A, "to-a")))?;
    let v = wait_in_sync(&mdcd, 1)?;
    let hop = |v: &Value, nh: &str| {
        v["next_hops"].as_array().unwrap().iter().find(|h| h["address"].as_str() == Some(nh)).cloned()
    };
    let h = hop(&v, NH_A).expect("A's next hop tracked");
    assert_eq!((h["igp_cost"].as_u64(), h["via"].as_str()), (Some(10), Some("198.51.100.1/32")), "{v}");
    assert_eq!(hop(&v, NH_B).expect("B's")["igp_cost"].as_u64(), Some(20), "{v}");
    let lost = |mdcd: &Mdcd, peer: &str| -> Result<Option<String>> {
        Ok(mdcd
            .routes_json(mdc_tests::Family::Ipv4Unicast)?
            .into_iter()
            .find(|r| r["prefix"].as_str() == Some(R) && r["peer"].as_str() == Some(peer))
            .and_then(|r| r["lost"].as_str().map(str::to_owned)))
    };
    assert_eq!(lost(&mdcd, B)?.as_deref(), Some("IGP cost to next hop"));

    // The IGP makes A's next hop dearer (30): B's path.
    lab.exec("m", &["ip", "route", "add", &format!("{NH_A}/32"), "via", A, "metric", "30"])?;
    lab.exec("m", &["ip", "route", "del", &format!("{NH_A}/32"), "via", A, "metric", "10"])?;
    wait_kernel(&lab, R, Some((B, "to-b")))?;
    assert_eq!(lost(&mdcd, A)?.as_deref(), Some("IGP cost to next hop"));

    // B's next hop loses its route: unreachable, A's path again.
    lab.exec("m", &["ip", "route", "del", &format!("{NH_B}/32")])?;
    wait_kernel(&lab, R, Some((A, "to-a")))?;
    assert_eq!(lost(&mdcd, B)?.as_deref(), Some("next hop unreachable"));
    mdcd.stop();
    Ok(())
}

#[test]
fn an_unnumbered_peers_routes_go_via_its_link_local_address_on_its_link() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    // No addresses on the link: only the kernel's link-local ones.
    let lab = Lab::new("fibunnum")?.node("m")?.node("peer")?.link("m", "", "peer", "")?;
    let config = BgpConfig::new(65001, "192.0.2.1").extra(
        "\n[[peer]]\ninterface = \"to-peer\"\nremote-as = \"external\"\nhold-time = 9\nconnect-retry = 1\n",
    );
    let mut mdcd = Mdcd::new(&lab, "m", bins(), config)?.extra_config("[fib]\ninstall = true\n");
    mdcd.start()?;
    let _frr = Frr::start_in(
        &lab,
        "peer",
        BgpConfig::new(65002, "192.0.2.2").network("203.0.113.0/26").network("2001:db8:200::/48").extra(
            "router bgp 65002\n neighbor to-m interface remote-as external\n address-family ipv4 unicast\n  \
             neighbor to-m activate\n exit-address-family\n address-family ipv6 unicast\n  neighbor to-m \
             activate\n exit-address-family\nexit\n",
        ),
    )?;
    let r = mdcd.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65002])?;
    let ll = r.next_hop.expect("an RFC 8950 next hop").to_string();
    assert!(ll.starts_with("fe80:"), "{ll}");
    // IPv4 via the IPv6 link-local address (RTA_VIA), IPv6 via it, both on
    // the peer's link.
    let via = |addr: &str| -> Result<Check<()>> {
        let got = lab.exec("m", &["ip", "-j", "route", "get", addr])?;
        let g: Value =
            serde_json::from_str(&got).map_err(|e| mdc_tests::Error::msg(format!("{e}: {got}")))?;
        let g = &g[0];
        let hop = g["via"]["host"].as_str().or(g["gateway"].as_str()).unwrap_or("-");
        Ok(if hop == ll && g["dev"].as_str() == Some("to-peer") {
            Check::Done(())
        } else {
            Check::Pending(g.to_string())
        })
    };
    wait_until("203.0.113.1 via the peer's link-local address", T, POLL, || via("203.0.113.1"))?;
    wait_until("2001:db8:200::1 via the peer's link-local address", T, POLL, || via("2001:db8:200::1"))?;
    let v = wait_until("show fib in sync", T, POLL, || {
        let v = mdcd.fib_json()?;
        let ok = v["in_sync"].as_u64() == Some(2) && v["drift"].as_array().is_some_and(Vec::is_empty);
        Ok(if ok { Check::Done(v) } else { Check::Pending(v.to_string()) })
    })?;
    let hop = v["next_hops"].as_array().unwrap().iter().find(|h| h["address"].as_str() == Some(&ll)).cloned();
    assert_eq!(hop.map(|h| h["reachable"].clone()), Some(Value::Bool(true)), "{v}");
    mdcd.stop();
    Ok(())
}

/// `ip monitor route` in node m, until dropped.
struct Monitor {
    child: Child,
    out: std::path::PathBuf,
}

impl Monitor {
    fn start(lab: &Lab) -> Result<Monitor> {
        let out = lab.dir().join("ip-monitor.txt");
        let file = std::fs::File::create(&out).map_err(|e| mdc_tests::Error::msg(e.to_string()))?;
        let mut cmd = lab.command("m", "ip")?;
        cmd.args(["monitor", "route"]).stdout(file).stderr(Stdio::null());
        let child = cmd.spawn().map_err(|e| mdc_tests::Error::msg(format!("ip monitor: {e}")))?;
        // Let it subscribe before anything happens.
        std::thread::sleep(Duration::from_millis(300));
        Ok(Monitor { child, out })
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn graceful_restart_keeps_the_routes_through_kill_9_and_the_next_start_adopts_them() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let fib = "[fib]\ninstall = true\ngraceful-restart = true\nrestart-time = 20\n";
    let (lab, mut mdcd, a, _b) = setup("fibgr", fib)?;
    wait_kernel(&lab, P, Some((A, "to-a")))?;
    wait_kernel(&lab, Q, Some((A, "to-a")))?;
    // A graceful start keeps what it finds until every peer sent its
    // table: then the earlier run's route goes.
    wait_kernel(&lab, STALE, None)?;
    wait_in_sync(&mdcd, 2)?;

    let monitor = Monitor::start(&lab)?;
    mdcd.kill();
    // Dead, and the routes stay: the kernel still forwards.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(kernel_route(&lab, P)?, Some((A.to_string(), "to-a".to_string())));
    assert_eq!(kernel_route(&lab, Q)?, Some((A.to_string(), "to-a".to_string())));
    // Another stale route appears while mdcd is down (as if the earlier
    // run had installed it).
    lab.exec("m", &["ip", "route", "add", STALE, "via", A, "proto", "210", "metric", "20"])?;

    mdcd.start()?;
    a.wait_established(M_A, T)?;
    mdcd.wait_established(A, T)?;
    mdcd.wait_established(B, T)?;
    wait_kernel(&lab, STALE, None)?;
    let v = wait_in_sync(&mdcd, 2)?;
    assert_eq!(v["graceful_restart"].as_bool(), Some(true), "{v}");
    assert_eq!(kernel_route(&lab, P)?, Some((A.to_string(), "to-a".to_string())));
    // No gap: the routes were replaced in place, never deleted; only the
    // stale one was.
    let seen = monitor.text();
    let deleted: Vec<&str> = seen.lines().filter(|l| l.starts_with("Deleted")).collect();
    assert!(
        deleted.iter().all(|l| l.contains(STALE.split('/').next().unwrap_or_default())),
        "a route went away across the restart: {deleted:?}\n{seen}"
    );
    assert!(!deleted.is_empty(), "the stale route was not seen going: {seen}");
    // Nor changed: B's session coming back first did not move P to B.
    let changed: Vec<&str> =
        seen.lines().filter(|l| l.starts_with(P.split('/').next().unwrap_or_default())).collect();
    assert!(changed.is_empty(), "P changed across the restart: {changed:?}\n{seen}");
    Ok(())
}

/// A third configured peer that never comes up: a passive single-hop eBGP
/// peer on A's link (a Cilium node whose k3s is not up yet).
const NEVER_UP: &str = "\n[[peer]]\naddress = \"192.0.2.3\"\nremote-as = 65011\npassive = true\n";

/// Issue 14 (2): a graceful start waits only when the kernel holds routes
/// of an earlier run, and only for peers that can have given one. With a
/// restart time of 120 s and a configured peer that never comes up:
/// - a fresh start (nothing of ours in the kernel, as after a reboot)
///   installs the peers' routes at once;
/// - a start that keeps STALE (its gateway is A) does not wait for the
///   peer that is the gateway of nothing kept: once A and B sent their
///   tables, STALE goes, long before the restart time; the log says whom
///   it did not wait for and whom it waited for.
#[test]
fn a_graceful_start_waits_only_for_what_it_keeps() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let fib = format!("[fib]\ninstall = true\ngraceful-restart = true\nrestart-time = 120\n{NEVER_UP}");
    for stale in [false, true] {
        let short = if stale { "fibgrk" } else { "fibgr0" };
        let (lab, mdcd, _a, _b) = setup_lab(short, &fib, true, &[], stale)?;
        // Well within the restart time (T is 30 s, the restart time 120).
        wait_kernel(&lab, P, Some((A, "to-a")))?;
        wait_kernel(&lab, Q, Some((A, "to-a")))?;
        wait_kernel(&lab, STALE, None)?;
        let v = wait_in_sync(&mdcd, 2)?;
        assert_eq!(v["adopting"].as_bool(), Some(false), "{v}");
        let log = std::fs::read_to_string(mdcd.dir().join("mdcd.log")).unwrap_or_default();
        if stale {
            assert!(log.contains("keeping 1 routes of an earlier run"), "{log}");
            assert!(
                log.contains("not waiting for 192.0.2.3: none of the kept routes goes through it"),
                "{log}"
            );
            assert!(log.contains("End-of-RIB from 192.0.2.2 ipv4-unicast"), "{log}");
            assert!(log.contains("every awaited peer sent its initial tables"), "{log}");
        } else {
            assert!(log.contains("no route of an earlier run in table 254: nothing to wait for"), "{log}");
        }
    }
    Ok(())
}
