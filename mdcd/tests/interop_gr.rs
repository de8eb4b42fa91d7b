//! Graceful restart, helper side (RFC 4724, RFC 8538), mdcd against FRR
//! 8.4 with `bgp graceful-restart`: when FRR's bgpd crashes, mdcd keeps its
//! routes marked stale until FRR is back and sends End-of-RIB (routes FRR
//! no longer has are flushed then), or until FRR's restart time runs out;
//! a Hard Reset from FRR flushes them at once. Checked on mdcctl (the
//! `stale` flag of `show routes`) and vtysh.
//!
//! Needs root and FRR: outside CI these tests print `skipped: ...`; under
//! `CI=true` a missing FRR fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use mdc_tests::{
    BgpConfig, BgpPeer, Check, Family, Frr, Lab, Mdcd, MdcdBinaries, Neighbor, Prefix, Result, SessionState,
    require_interop, wait_until,
};

const T: Duration = Duration::from_secs(30);
const MDCD: &str = "192.0.2.1";
const FRR: &str = "192.0.2.2";
/// Originated by FRR from its configuration file: survives the restart.
const KEPT: &str = "203.0.113.0/26";
const KEPT2: &str = "203.0.113.64/26";
/// Added to FRR at run time: gone after the restart.
const DROPPED: &str = "203.0.113.128/26";

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

/// mdcd (AS 65001) and FRR (AS 65002, graceful restart with forwarding
/// state preserved and the N bit, `restart_time` seconds) on one link,
/// the session up and FRR's routes (KEPT, KEPT2, DROPPED) fresh in mdcd.
fn setup(short: &str, restart_time: u16) -> Result<(Lab, Mdcd, Frr)> {
    let lab =
        Lab::new(short)?.node("mdcd")?.node("frr")?.link("mdcd", "192.0.2.1/30", "frr", "192.0.2.2/30")?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, MDCD).neighbor(Neighbor::new(FRR, 65002)).network("198.51.100.0/26"),
    )?;
    let gr = format!(
        "router bgp 65002\n bgp graceful-restart\n bgp graceful-restart preserve-fw-state\n \
         bgp graceful-restart restart-time {restart_time}\n bgp graceful-restart notification\n \
         bgp hard-administrative-reset\nexit"
    );
    let frr = Frr::start_in(
        &lab,
        "frr",
        BgpConfig::new(65002, FRR)
            .neighbor(Neighbor::new(MDCD, 65001))
            .network(KEPT)
            .network(KEPT2)
            .extra(&gr),
    )?;
    frr.wait_established(MDCD, T)?;
    mdcd.wait_established(FRR, T)?;
    frr.announce(DROPPED)?;
    for p in [KEPT, KEPT2, DROPPED] {
        mdcd.wait_route(p, T, &|r| r.as_path == [65002] && !r.stale)?;
    }
    // Both sides negotiated graceful restart (FRR's view of mdcd).
    let v = frr.json(&format!("show bgp neighbors {MDCD} json"))?;
    let caps = &v[MDCD]["neighborCapabilities"];
    assert_eq!(
        caps["gracefulRestart"].as_str(),
        Some("advertisedAndReceived"),
        "graceful restart capability not exchanged: {caps}"
    );
    Ok((lab, mdcd, frr))
}

/// The routes of `prefixes` mdcd holds, as (prefix, stale), from one
/// `mdcctl show routes` (one snapshot).
fn held(mdcd: &Mdcd, prefixes: &[&str]) -> Result<Vec<(String, bool)>> {
    let routes = mdcd.routes(Family::Ipv4Unicast)?;
    let mut out = Vec::new();
    for p in prefixes {
        let want: Prefix = p.parse()?;
        if let Some(r) = routes.iter().find(|r| r.prefix == want && !r.local) {
            out.push((p.to_string(), r.stale));
        }
    }
    Ok(out)
}

fn not_established(mdcd: &Mdcd) -> Result<bool> {
    Ok(mdcd.session_state(FRR.parse().unwrap())? != SessionState::Established)
}

/// The last error mdcctl shows for FRR.
fn last_error(mdcd: &Mdcd) -> String {
    mdcd.neighbors_table().unwrap_or_default()
}

#[test]
fn frr_restart_keeps_routes_stale_until_end_of_rib() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (_lab, mdcd, mut frr) = setup("grrestart", 120)?;
    frr.kill_bgpd()?;
    // The session is down (TCP closed without NOTIFICATION) and every
    // route is still there, marked stale.
    wait_until("mdcd keeps FRR's routes, stale", T, Duration::from_millis(200), || {
        let h = held(&mdcd, &[KEPT, KEPT2, DROPPED])?;
        let done = not_established(&mdcd)? && h.len() == 3 && h.iter().all(|(_, s)| *s);
        Ok(if done { Check::Done(()) } else { Check::Pending(format!("{h:?}")) })
    })?;
    // They stay while FRR is away (well within its 120 s restart time).
    std::thread::sleep(Duration::from_secs(2));
    let h = held(&mdcd, &[KEPT, KEPT2, DROPPED])?;
    assert_eq!(h.len(), 3, "stale routes kept while FRR restarts: {h:?}");
    assert!(h.iter().all(|(_, s)| *s), "{h:?}");
    assert!(not_established(&mdcd)?);

    frr.restart_bgpd()?;
    // Until FRR's End-of-RIB, KEPT and KEPT2 are never missing (FRR sets
    // the F bit, so nothing is flushed when the session comes back); then
    // they are fresh (re-announced) and DROPPED, which FRR no longer
    // originates, is gone.
    let mut seen = Vec::new();
    wait_until("FRR back: its routes fresh, the one it lost flushed", T, Duration::from_millis(50), || {
        let h = held(&mdcd, &[KEPT, KEPT2, DROPPED])?;
        let kept: Vec<&(String, bool)> = h.iter().filter(|(p, _)| p != DROPPED).collect();
        assert_eq!(
            kept.len(),
            2,
            "a route FRR still originates vanished during its restart: {h:?} after {seen:?}"
        );
        if seen.last() != Some(&h) {
            seen.push(h.clone());
        }
        let done = kept.iter().all(|(_, s)| !*s) && h.len() == 2;
        Ok(if done { Check::Done(()) } else { Check::Pending(format!("{h:?}")) })
    })?;
    eprintln!("mdcd's view of FRR's routes during the restart: {seen:?}");
    mdcd.wait_established(FRR, T)?;
    frr.wait_established(MDCD, T)?;
    for p in [KEPT, KEPT2] {
        let r = mdcd.best_route(p)?.unwrap();
        assert!(r.as_path == [65002] && !r.stale, "{r:?}");
    }
    // And our route is back on FRR.
    frr.wait_route("198.51.100.0/26", T, &|r| r.as_path == [65001])?;
    Ok(())
}

#[test]
fn frr_hard_reset_flushes_at_once() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (_lab, mdcd, frr) = setup("grhard", 120)?;
    // `clear bgp` sends Cease/Administrative Reset; with the N bit and
    // `bgp hard-administrative-reset` FRR wraps it in Cease/Hard Reset.
    frr.vtysh(&[&format!("clear bgp {MDCD}")])?;
    // The routes go as the session goes down, never marked stale.
    let mut seen = Vec::new();
    wait_until("FRR's routes flushed", Duration::from_secs(5), Duration::from_millis(50), || {
        let h = held(&mdcd, &[KEPT, KEPT2, DROPPED])?;
        assert!(h.iter().all(|(_, s)| !*s), "routes kept stale after a Hard Reset: {h:?} after {seen:?}");
        if seen.last() != Some(&h) {
            seen.push(h.clone());
        }
        Ok(if h.is_empty() { Check::Done(()) } else { Check::Pending(format!("{h:?}")) })
    })?;
    let log = mdcd.log_tail(200);
    assert!(
        log.contains("received NOTIFICATION 6/9"),
        "mdcd did not log the Hard Reset from FRR: {log}\n{}",
        last_error(&mdcd)
    );
    // The session comes back and the routes with it, fresh.
    mdcd.wait_established(FRR, T)?;
    for p in [KEPT, KEPT2] {
        mdcd.wait_route(p, T, &|r| !r.stale)?;
    }
    Ok(())
}

#[test]
fn frr_restart_time_expiry_flushes_stale_routes() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (_lab, mdcd, mut frr) = setup("grexpire", 5)?;
    frr.kill_bgpd()?;
    let killed = Instant::now();
    wait_until("mdcd keeps FRR's routes, stale", T, Duration::from_millis(200), || {
        let h = held(&mdcd, &[KEPT, KEPT2, DROPPED])?;
        let done = h.len() == 3 && h.iter().all(|(_, s)| *s);
        Ok(if done { Check::Done(()) } else { Check::Pending(format!("{h:?}")) })
    })?;
    // FRR advertised a 5 s restart time: the stale routes go when it
    // runs out, not before.
    wait_until("stale routes flushed", T, Duration::from_millis(200), || {
        let h = held(&mdcd, &[KEPT, KEPT2, DROPPED])?;
        Ok(if h.is_empty() { Check::Done(()) } else { Check::Pending(format!("{h:?}")) })
    })?;
    let after = killed.elapsed();
    assert!(
        after >= Duration::from_secs(4),
        "stale routes flushed after {after:?}, before the restart time ran out"
    );
    assert!(after <= Duration::from_secs(15), "stale routes flushed only after {after:?}");
    Ok(())
}
