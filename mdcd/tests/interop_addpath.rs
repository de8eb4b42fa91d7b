//! ADD-PATH send (RFC 7911) from mdcd to FRR 8.4, checked on FRR's own CLI
//! (`show bgp neighbors X json`, `show bgp ipv4 unicast PREFIX json`):
//!
//! 1. `add-path-send = "all"`: FRR (which offers ADD-PATH receive to every
//!    neighbor) negotiates mdcd→FRR ADD-PATH, holds every path mdcd has to
//!    the prefix, each under its own path identifier, and drops exactly the
//!    withdrawn one when a feeder withdraws (first the best, then the other);
//! 2. `add-path-send = 2` with three feeders: exactly the best two, which
//!    follow withdrawals and re-announcements; mdcd restarted without
//!    `add-path-send`: no ADD-PATH, exactly one path, the best;
//! 3. a SIGHUP reload from `"all"` to no `add-path-send` (the session stays
//!    up, ADD-PATH still negotiated): exactly one path, the best, and back
//!    to `"all"`: every path again.
//!
//! The feeders are FRR routers in ASes 65001, 65002, 65004 announcing the
//! same prefix with AS paths of length 1, 2 and 3 (prepends), so mdcd's
//! order of the paths is fixed by AS path length.
//!
//! Needs root and FRR: outside CI these tests print `skipped: ...`; under
//! `CI=true` a missing peer fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mdc_tests::{
    BgpConfig, BgpPeer, Check, Family, Frr, Lab, Mdcd, MdcdBinaries, Neighbor, Result, require_interop,
    wait_until,
};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);
/// How long a reached state must hold (no late extra path or withdrawal).
const STEADY: Duration = Duration::from_millis(1500);

/// mdcd (AS 65000) on the lab LAN.
const MDCD: &str = "192.0.2.1";
/// Feeder in AS 65001: AS path `65001`.
const X: &str = "192.0.2.2";
/// Feeder in AS 65002: AS path `65002 65002`.
const Y: &str = "192.0.2.3";
/// The ADD-PATH receiver, AS 65003.
const Z: &str = "192.0.2.4";
/// Feeder in AS 65004: AS path `65004 65004 65004`.
const W: &str = "192.0.2.5";
/// The prefix every feeder announces.
const P: &str = "203.0.113.0/24";

/// The AS paths Z sees for each feeder's path (mdcd prepends 65000).
const VIA_X: &[u32] = &[65000, 65001];
const VIA_Y: &[u32] = &[65000, 65002, 65002];
const VIA_W: &[u32] = &[65000, 65004, 65004, 65004];

const SEND_ALL: &str = "add-path-send = \"all\"";

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

/// The lab: mdcd, the receiver Z and `feeders` (a subset of X, Y, W) on one
/// LAN.
fn lab(short: &str, feeders: &[&str]) -> Result<Lab> {
    let mut lab = Lab::new(short)?.node("mdcd")?.node("z")?;
    let mut members = vec![("mdcd", "192.0.2.1/28"), ("z", "192.0.2.4/28")];
    for &f in feeders {
        let (node, addr) = match f {
            X => ("x", "192.0.2.2/28"),
            Y => ("y", "192.0.2.3/28"),
            W => ("w", "192.0.2.5/28"),
            _ => unreachable!("no feeder {f}"),
        };
        lab = lab.node(node)?;
        members.push((node, addr));
    }
    lab.lan("ix", &members)
}

/// mdcd (not started) with eBGP sessions to Z and `feeders`; `z_options`
/// go into Z's `[[peer]]` table.
fn mdcd(lab: &Lab, feeders: &[&str], z_options: &[&str]) -> Result<Mdcd> {
    let mut cfg = BgpConfig::new(65000, "192.0.2.101").neighbor(Neighbor::new(Z, 65003));
    for &f in feeders {
        cfg = cfg.neighbor(Neighbor::new(f, feeder_as(f)));
    }
    let mut m = Mdcd::new(lab, "mdcd", bins(), cfg)?;
    for o in z_options {
        m = m.peer_option(Z, o);
    }
    Ok(m)
}

fn feeder_as(f: &str) -> u32 {
    match f {
        X => 65001,
        Y => 65002,
        W => 65004,
        _ => unreachable!("no feeder {f}"),
    }
}

/// A feeder announcing P to mdcd, its AS prepended so that X's path is
/// the shortest, then Y's, then W's.
fn feeder(lab: &Lab, f: &str) -> Result<Frr> {
    let asn = feeder_as(f);
    let (node, id, prepend) = match f {
        X => ("x", "192.0.2.102", ""),
        Y => ("y", "192.0.2.103", "65002"),
        W => ("w", "192.0.2.105", "65004 65004"),
        _ => unreachable!("no feeder {f}"),
    };
    let mut cfg = BgpConfig::new(asn, id).neighbor(Neighbor::new(MDCD, 65000)).network(P);
    if !prepend.is_empty() {
        cfg = cfg.extra(&format!(
            "route-map LONGER permit 10\n set as-path prepend {prepend}\nexit\n!\nrouter bgp {asn}\n \
             address-family ipv4 unicast\n  neighbor {MDCD} route-map LONGER out\n \
             exit-address-family\nexit\n!"
        ));
    }
    Frr::start_in(lab, node, cfg)
}

/// The receiver: plain FRR 8.4 config; it offers ADD-PATH receive on its
/// own (no `addpath-*` line needed).
fn receiver(lab: &Lab) -> Result<Frr> {
    Frr::start_in(lab, "z", BgpConfig::new(65003, "192.0.2.104").neighbor(Neighbor::new(MDCD, 65000)))
}

/// The lab of `lab`, mdcd started with `z_options` on Z's peer, the
/// `feeders` (in the order given) and Z, every session Established.
fn start(short: &str, feeders: &[&str], z_options: &[&str]) -> Result<(Lab, Mdcd, Vec<Frr>, Frr)> {
    let lab = lab(short, feeders)?;
    let mut mdcd = mdcd(&lab, feeders, z_options)?;
    mdcd.start()?;
    let frrs = feeders.iter().map(|&f| feeder(&lab, f)).collect::<Result<Vec<_>>>()?;
    let z = receiver(&lab)?;
    for (f, n) in frrs.iter().zip(feeders).chain([(&z, &Z)]) {
        f.wait_established(MDCD, T)?;
        mdcd.wait_established(n, T)?;
    }
    Ok((lab, mdcd, frrs, z))
}

/// One path to P as FRR shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FrrPath {
    /// The path identifier mdcd sent (`addpathRxId`; 0 without ADD-PATH).
    rx_id: u64,
    as_path: Vec<u32>,
    best: bool,
    next_hop: Option<String>,
}

/// FRR's paths to `prefix` from `show bgp ipv4 unicast PREFIX json`.
fn frr_paths(frr: &Frr, prefix: &str) -> Result<Vec<FrrPath>> {
    let v = frr.json(&format!("show bgp ipv4 unicast {prefix} json"))?;
    Ok(v["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| FrrPath {
            rx_id: p["addpathRxId"].as_u64().unwrap_or(0),
            as_path: p
                .pointer("/aspath/segments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s["list"].as_array())
                .flatten()
                .filter_map(|a| a.as_u64().and_then(|a| u32::try_from(a).ok()))
                .collect(),
            best: p.pointer("/bestpath/overall").and_then(Value::as_bool) == Some(true),
            next_hop: p.pointer("/nexthops/0/ip").and_then(Value::as_str).map(str::to_owned),
        })
        .collect())
}

/// Whether `paths` are exactly `want` (AS paths, in any order, each once)
/// with pairwise distinct path identifiers, and the best one is `want[0]`.
fn matches(paths: &[FrrPath], want: &[&[u32]]) -> bool {
    let got: Vec<&[u32]> = paths.iter().map(|p| p.as_path.as_slice()).collect();
    let ids: BTreeSet<u64> = paths.iter().map(|p| p.rx_id).collect();
    got.len() == want.len()
        && want.iter().all(|w| got.contains(w))
        && ids.len() == paths.len()
        && paths.iter().filter(|p| p.best).map(|p| p.as_path.as_slice()).eq(want.first().copied())
}

/// Wait until Z holds exactly the paths `want` (AS paths; best first)
/// for P, then check that this holds for [`STEADY`]; returns them.
fn wait_paths(z: &Frr, mdcd: &Mdcd, want: &[&[u32]]) -> Result<Vec<FrrPath>> {
    let what =
        format!("FRR Z holds exactly the paths {want:?} to {P}, distinct path ids, best {:?}", want[0]);
    let paths = wait_until(&what, T, POLL, || {
        let paths = frr_paths(z, P)?;
        Ok(if matches(&paths, want) { Check::Done(paths) } else { Check::Pending(format!("{paths:?}")) })
    })
    .map_err(|e| z.with_log(mdcd.with_log(e)))?;
    let start = Instant::now();
    while start.elapsed() < STEADY {
        let now = frr_paths(z, P)?;
        let same_ids = now.iter().all(|p| paths.iter().any(|q| q.rx_id == p.rx_id && q.as_path == p.as_path));
        assert!(matches(&now, want) && same_ids, "FRR Z's paths to {P} changed from {paths:?} to {now:?}");
        std::thread::sleep(POLL);
    }
    for p in &paths {
        assert_eq!(p.next_hop.as_deref(), Some(MDCD), "eBGP: mdcd is the next hop: {paths:?}");
    }
    Ok(paths)
}

/// The path identifier Z holds for the path with `as_path`.
fn id_of(paths: &[FrrPath], as_path: &[u32]) -> u64 {
    paths.iter().find(|p| p.as_path == as_path).map(|p| p.rx_id).unwrap()
}

/// FRR's `show bgp neighbors NEIGHBOR json` object for `neighbor`.
fn frr_neighbor(frr: &Frr, neighbor: &str) -> Result<Value> {
    let v = frr.json(&format!("show bgp neighbors {neighbor} json"))?;
    Ok(v[neighbor].clone())
}

/// FRR's ADD-PATH capability for IPv4 unicast with `neighbor`:
/// `neighborCapabilities.addPath.ipv4Unicast` (`txReceived`: the neighbor
/// offered to send; `rxAdvertised`: FRR offered to receive; and the
/// reverse direction's `txAdvertised` / `rxReceived`).
fn frr_add_path(frr: &Frr, neighbor: &str) -> Result<Value> {
    Ok(frr_neighbor(frr, neighbor)?
        .pointer("/neighborCapabilities/addPath/ipv4Unicast")
        .cloned()
        .unwrap_or(Value::Null))
}

/// Whether `flag` is set in FRR's ADD-PATH capability object `cap`.
fn flag(cap: &Value, flag: &str) -> bool {
    cap[flag].as_bool() == Some(true)
}

/// How many times FRR's session with `neighbor` reached Established.
fn established_count(frr: &Frr, neighbor: &str) -> Result<u64> {
    Ok(frr_neighbor(frr, neighbor)?["connectionsEstablished"].as_u64().unwrap_or(0))
}

/// Wait until mdcd's Loc-RIB holds a path to P from each of `from`.
fn wait_mdcd_paths(mdcd: &Mdcd, from: &[&str]) -> Result<()> {
    wait_until(&format!("mdcd holds {P} from {from:?}"), T, POLL, || {
        let routes = mdcd.routes_json(Family::Ipv4Unicast)?;
        let peers: BTreeSet<&str> = routes
            .iter()
            .filter(|r| r["prefix"].as_str() == Some(P))
            .filter_map(|r| r["peer"].as_str())
            .collect();
        Ok(if peers == from.iter().copied().collect() {
            Check::Done(())
        } else {
            Check::Pending(format!("{peers:?}"))
        })
    })
    .map_err(|e| mdcd.with_log(e))
}

/// ADD-PATH send negotiated mdcd→Z, and only in that direction: Z offered
/// to receive and mdcd to send; mdcd did not offer to receive (no
/// `add-path-receive`), and Z offered to send nothing.
fn check_negotiated_send_only(z: &Frr) -> Result<()> {
    let cap = frr_add_path(z, MDCD)?;
    assert!(flag(&cap, "txReceived"), "FRR Z: mdcd did not offer ADD-PATH send for IPv4 unicast: {cap}");
    assert!(flag(&cap, "rxAdvertised"), "FRR Z did not offer ADD-PATH receive: {cap}");
    assert!(
        !flag(&cap, "rxReceived"),
        "FRR Z: mdcd offered ADD-PATH receive without add-path-receive: {cap}"
    );
    assert!(!flag(&cap, "txAdvertised"), "FRR Z offered ADD-PATH send unconfigured: {cap}");
    Ok(())
}

// ---------------------------------------------------------------------------
// 1. add-path-send = "all"
// ---------------------------------------------------------------------------

#[test]
fn frr_holds_every_path_with_add_path_send_all() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (_lab, mdcd, feeders, z) = start("apall", &[X, Y], &[SEND_ALL])?;
    let (x, y) = (&feeders[0], &feeders[1]);
    check_negotiated_send_only(&z)?;
    // The feeders have no add-path option on mdcd: mdcd offers them no
    // ADD-PATH (FRR still offers to receive).
    for f in [&x, &y] {
        let cap = frr_add_path(f, MDCD)?;
        assert!(!flag(&cap, "txReceived") && !flag(&cap, "rxReceived"), "{}: {cap}", f.name());
    }

    // Both of mdcd's paths, each under its own identifier; FRR's best is
    // the shorter one.
    wait_mdcd_paths(&mdcd, &[X, Y])?;
    let both = wait_paths(&z, &mdcd, &[VIA_X, VIA_Y])?;
    let id_y = id_of(&both, VIA_Y);

    // X withdraws (mdcd's best): Z loses exactly that path; Y's stays,
    // under the identifier it had, and becomes FRR's best.
    x.withdraw(P)?;
    wait_mdcd_paths(&mdcd, &[Y])?;
    let only_y = wait_paths(&z, &mdcd, &[VIA_Y])?;
    assert_eq!(id_of(&only_y, VIA_Y), id_y, "Y's path changed its identifier: {both:?} -> {only_y:?}");

    // X again: both again, Y's untouched.
    x.announce(P)?;
    wait_mdcd_paths(&mdcd, &[X, Y])?;
    let again = wait_paths(&z, &mdcd, &[VIA_X, VIA_Y])?;
    assert_eq!(id_of(&again, VIA_Y), id_y, "{both:?} -> {again:?}");
    let id_x = id_of(&again, VIA_X);

    // Y withdraws (not the best): Z loses exactly Y's path.
    y.withdraw(P)?;
    wait_mdcd_paths(&mdcd, &[X])?;
    let only_x = wait_paths(&z, &mdcd, &[VIA_X])?;
    assert_eq!(id_of(&only_x, VIA_X), id_x, "X's path changed its identifier: {again:?} -> {only_x:?}");

    // All of it without a session reset.
    assert_eq!(established_count(&z, MDCD)?, 1, "FRR Z's session with mdcd was reset");
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. add-path-send = 2 (best N), then plain BGP after a restart
// ---------------------------------------------------------------------------

#[test]
fn frr_holds_the_best_two_with_add_path_send_2() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (_lab, mut mdcd, feeders, z) = start("apbest", &[X, Y, W], &["add-path-send = 2"])?;
    let x = &feeders[0];
    check_negotiated_send_only(&z)?;

    // Three paths in mdcd; the best two (X's, Y's) on Z, not W's.
    wait_mdcd_paths(&mdcd, &[X, W, Y])?;
    let two = wait_paths(&z, &mdcd, &[VIA_X, VIA_Y])?;
    let id_y = id_of(&two, VIA_Y);

    // X withdraws: the best two are now Y's and W's.
    x.withdraw(P)?;
    wait_mdcd_paths(&mdcd, &[W, Y])?;
    let yw = wait_paths(&z, &mdcd, &[VIA_Y, VIA_W])?;
    assert_eq!(id_of(&yw, VIA_Y), id_y, "Y's path changed its identifier: {two:?} -> {yw:?}");

    // X is back: W's path is no longer among the best two.
    x.announce(P)?;
    wait_mdcd_paths(&mdcd, &[X, W, Y])?;
    let back = wait_paths(&z, &mdcd, &[VIA_X, VIA_Y])?;
    assert_eq!(id_of(&back, VIA_Y), id_y, "{yw:?} -> {back:?}");
    assert_eq!(established_count(&z, MDCD)?, 1, "FRR Z's session with mdcd was reset");

    // mdcd again without add-path-send: no ADD-PATH on the new session,
    // one path (the best), sent without an identifier.
    mdcd.set_peer_options(Z, &[])?;
    mdcd.restart()?;
    wait_until("FRR Z's session with mdcd comes back", T, POLL, || {
        let n = established_count(&z, MDCD)?;
        let up = z.session_state(MDCD.parse().unwrap())? == mdc_tests::SessionState::Established;
        Ok(if n >= 2 && up { Check::Done(()) } else { Check::Pending(format!("{n} sessions, up: {up}")) })
    })?;
    let cap = frr_add_path(&z, MDCD)?;
    assert!(!flag(&cap, "txReceived"), "FRR Z: mdcd offered ADD-PATH send without add-path-send: {cap}");
    let one = wait_paths(&z, &mdcd, &[VIA_X])?;
    assert_eq!(one[0].rx_id, 0, "a path identifier without ADD-PATH: {one:?}");
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. Reload between "all" and no add-path-send
// ---------------------------------------------------------------------------

#[test]
fn reload_from_add_path_send_all_to_plain_and_back() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (_lab, mdcd, _feeders, z) = start("apreload", &[X, Y], &[SEND_ALL])?;
    wait_mdcd_paths(&mdcd, &[X, Y])?;
    wait_paths(&z, &mdcd, &[VIA_X, VIA_Y])?;

    // Without add-path-send Z gets only the best path. The session keeps
    // ADD-PATH (capabilities are fixed at OPEN), so mdcd must withdraw the
    // other path's identifier (RFC 7911: a path is replaced or withdrawn
    // only by its own identifier).
    mdcd.set_peer_options(Z, &[])?;
    mdcd.reload()?;
    let one = wait_paths(&z, &mdcd, &[VIA_X])?;
    eprintln!("after the reload to plain: {one:?}");

    // And back to every path.
    mdcd.set_peer_options(Z, &[SEND_ALL])?;
    mdcd.reload()?;
    wait_paths(&z, &mdcd, &[VIA_X, VIA_Y])?;

    // Both reloads kept the session, on both sides.
    assert_eq!(established_count(&z, MDCD)?, 1, "FRR Z's session with mdcd was reset by a reload");
    check_negotiated_send_only(&z)?;
    Ok(())
}
