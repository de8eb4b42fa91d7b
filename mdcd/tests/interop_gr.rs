//! Graceful restart (RFC 4724, RFC 8538), mdcd against FRR 8.4 with
//! `bgp graceful-restart`.
//!
//! Helper side: when FRR's bgpd crashes, mdcd keeps its routes marked stale
//! until FRR is back and sends End-of-RIB (routes FRR no longer has are
//! flushed then), or until FRR's restart time runs out; a Hard Reset from
//! FRR flushes them at once. Checked on mdcctl (the `stale` flag of `show
//! routes`) and vtysh.
//!
//! Restarting side (issue 14 item 3): with `[fib] graceful-restart`, mdcd's
//! OPEN carries its `restart-time` and its unicast families, so a kill -9
//! of mdcd leaves FRR's route to the node's EIP (stale) in FRR's kernel and
//! the data path up until mdcd is back (its new OPEN with the R and F bits)
//! and has sent End-of-RIB. Checked with vtysh (FRR's view of mdcd's
//! capability, the stale flag), `ip monitor route` and pings from FRR's
//! node.
//!
//! Needs root and FRR: outside CI these tests print `skipped: ...`; under
//! `CI=true` a missing FRR fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mdc_tests::{
    BgpConfig, BgpPeer, Check, Family, Frr, Lab, Mdcd, MdcdBinaries, Neighbor, Prefix, Result, SessionState,
    require_interop, wait_until,
};
use serde_json::{Value, json};

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

// ---------------------------------------------------------------------------
// mdcd restarting (issue 14 item 3)

/// The node's EIP, on mdcd's `lo`, originated by mdcd.
const EIP: &str = "203.0.113.1";
const EIP_P: &str = "203.0.113.1/32";
/// Originated by mdcd before the kill only: FRR keeps it stale until
/// mdcd's End-of-RIB after the restart, then flushes it.
const GONE: &str = "203.0.113.2";
const GONE_P: &str = "203.0.113.2/32";
/// On FRR's `lo`, originated by FRR: mdcd installs it in its node's
/// kernel, so the restarted mdcd finds a route of its earlier run; pings
/// from this address need it for their answers.
const F_LO: &str = "198.51.100.1";
const F_LO_P: &str = "198.51.100.1/32";
/// mdcd's `[fib] restart-time`, unlike FRR's default of 120 s.
const RESTART_TIME: u64 = 60;
/// The session's families (IPv6 unicast negotiated, without routes).
const UNICAST: &[Family] = &[Family::Ipv4Unicast, Family::Ipv6Unicast];
/// How long mdcd stays dead.
const DOWN: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(100);

/// One path of FRR's BGP table, from `show bgp ipv4 unicast P json`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FrrPath {
    peer: String,
    next_hop: String,
    stale: bool,
    /// `gracefulRestartSecondsRemaining`: FRR's restart timer for the
    /// path's peer, while the path is stale.
    gr_secs_left: Option<u64>,
}

/// FRR's paths to `prefix` (none if it has no such route).
fn frr_paths(frr: &Frr, prefix: &str) -> Result<Vec<FrrPath>> {
    let out = frr.vtysh(&[&format!("show bgp ipv4 unicast {prefix} json")])?;
    if out.contains("Network not in table") {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_str(&out)
        .map_err(|e| mdc_tests::Error::msg(format!("vtysh gave no JSON for {prefix} ({e}): {out}")))?;
    Ok(v["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| FrrPath {
            peer: p["peer"]["peerId"].as_str().unwrap_or("-").to_string(),
            next_hop: p["nexthops"][0]["ip"].as_str().unwrap_or("-").to_string(),
            stale: p["stale"].as_bool() == Some(true),
            gr_secs_left: p["gracefulRestartSecondsRemaining"].as_u64(),
        })
        .collect())
}

/// Whether `paths` hold mdcd's path (from mdcd, via mdcd).
fn has_mdcds(paths: &[FrrPath]) -> bool {
    paths.iter().any(|p| p.peer == MDCD && p.next_hop == MDCD)
}

/// FRR's `show bgp neighbors MDCD json` object for mdcd.
fn frr_neighbor(frr: &Frr) -> Result<Value> {
    Ok(frr.json(&format!("show bgp neighbors {MDCD} json"))?[MDCD].clone())
}

/// What FRR 8.4 shows of mdcd's graceful restart capability, for messages:
/// `neighborCapabilities.{gracefulRestart, gracefulRestartRemoteTimerMsecs,
/// addressFamiliesByPeer}` (the families mdcd listed, each with
/// `"preserved": true` if its F bit was set; the string "none" if it
/// listed none) and `gracefulRestartInfo` (`rBit`: the R bit of mdcd's
/// OPEN; `timers.receivedRestartTimer`; per family `fBit` and
/// `endOfRibStatus.endOfRibRecv`).
fn gr_view(n: &Value) -> String {
    let caps = &n["neighborCapabilities"];
    json!({
        "bgpState": n["bgpState"],
        "connectionsEstablished": n["connectionsEstablished"],
        "gracefulRestart": caps["gracefulRestart"],
        "gracefulRestartRemoteTimerMsecs": caps["gracefulRestartRemoteTimerMsecs"],
        "addressFamiliesByPeer": caps["addressFamiliesByPeer"],
        "gracefulRestartInfo": n["gracefulRestartInfo"],
    })
    .to_string()
}

/// The gateway of the route to `prefix` in `node`'s main table that has
/// protocol `proto` (`bgp`: zebra's; `210`: mdcd's), or `None`.
fn kernel_gateway(lab: &Lab, node: &str, prefix: &str, proto: &str) -> Result<Option<String>> {
    let out = lab.exec(node, &["ip", "-j", "-4", "route", "show", "exact", prefix, "proto", proto])?;
    let v: Value = serde_json::from_str(&out).map_err(|e| mdc_tests::Error::msg(format!("{e}: {out}")))?;
    Ok(v[0]["gateway"].as_str().map(str::to_string))
}

fn wait_kernel(lab: &Lab, node: &str, prefix: &str, proto: &str, gateway: &str) -> Result<()> {
    wait_until(&format!("{prefix} via {gateway} (proto {proto}) in {node}'s kernel"), T, POLL, || {
        let got = kernel_gateway(lab, node, prefix, proto)?;
        Ok(if got.as_deref() == Some(gateway) { Check::Done(()) } else { Check::Pending(format!("{got:?}")) })
    })
}

/// One ping from FRR's node to the EIP, from `source` if given.
fn ping_eip(lab: &Lab, source: Option<&str>) -> Result<()> {
    let mut argv = vec!["ping", "-4", "-n", "-c", "1", "-W", "2"];
    if let Some(s) = source {
        argv.extend(["-I", s]);
    }
    argv.push(EIP);
    lab.exec("f", &argv).map(|_| ())
}

/// A command running in a lab node with its stdout and stderr in a file
/// (`ip monitor route`, a ping), until interrupted or dropped.
struct Recorder {
    child: Child,
    out: PathBuf,
}

impl Recorder {
    fn start(lab: &Lab, node: &str, name: &str, argv: &[&str]) -> Result<Recorder> {
        let out = lab.dir().join(format!("{name}.txt"));
        let file = std::fs::File::create(&out)?;
        let err = file.try_clone()?;
        let (program, args) = argv.split_first().ok_or_else(|| mdc_tests::Error::msg("empty command"))?;
        let mut cmd = lab.command(node, program)?;
        cmd.args(args).stdout(file).stderr(err);
        let child = cmd.spawn().map_err(|e| mdc_tests::Error::msg(format!("{}: {e}", argv.join(" "))))?;
        Ok(Recorder { child, out })
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// SIGINT (ping prints its statistics), reap; what it wrote.
    fn interrupt(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.text()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ping -i 0.2` from FRR's node to the EIP (from `source` if given): with
/// `-O`, a request left unanswered when the next one goes out is reported.
fn start_pinger(lab: &Lab, name: &str, source: Option<&str>) -> Result<Recorder> {
    let mut argv = vec!["ping", "-4", "-n", "-O", "-i", "0.2", "-W", "1"];
    if let Some(s) = source {
        argv.extend(["-I", s]);
    }
    argv.push(EIP);
    Recorder::start(lab, "f", name, &argv)
}

/// Stop a pinger; panics unless every request was answered (the one in
/// flight at the interrupt aside) and at least `min` were.
fn assert_no_loss(pinger: Recorder, what: &str, min: u64) {
    let out = pinger.interrupt();
    let bad: Vec<&str> = out
        .lines()
        .filter(|l| ["no answer yet", "Unreachable", "sendmsg", "errors"].iter().any(|w| l.contains(w)))
        .collect();
    assert!(bad.is_empty(), "{what}: the data path broke: {bad:?}\n{out}");
    // "N packets transmitted, M received, ..."
    let stats = out.lines().find(|l| l.contains("packets transmitted")).unwrap_or_default();
    let n: Vec<u64> =
        stats.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).take(2).collect();
    assert!(n.len() == 2, "{what}: no statistics from ping: {out}");
    let (sent, received) = (n[0], n[1]);
    assert!(received + 1 >= sent && received >= min, "{what}: {received} of {sent} answered\n{out}");
    eprintln!("{what}: {received} of {sent} answered");
}

/// `ip monitor route` lines that delete the route to `addr` (printed
/// without `/32`).
fn deletions<'a>(monitor: &'a str, addr: &str) -> Vec<&'a str> {
    let host = format!("{addr}/32");
    monitor
        .lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some("Deleted") && w.next().is_some_and(|d| d == addr || d == host)
        })
        .collect()
}

/// Issue 14 (3): mdcd (AS 65001, `[fib] install`, `graceful-restart`,
/// `restart-time = 60`) originates its EIP to FRR (AS 65002, `bgp
/// graceful-restart`, helper) and installs FRR's F_LO; the session carries
/// IPv4 and IPv6 unicast, and mdcd's OPEN lists both with its restart time
/// (no R bit: nothing of an earlier run in the kernel). After a kill -9 of
/// mdcd, for 3 s: FRR keeps the EIP's route (stale, its restart timer
/// running from mdcd's 60 s), f's kernel keeps it, and pings from f (from
/// the link address, and from F_LO, whose answers need mdcd's kernel route
/// in m) keep being answered. mdcd starts again without GONE: its OPEN has
/// the R bit and the F bit for ipv4 unicast, FRR's route is fresh again,
/// GONE is flushed by mdcd's End-of-RIB (long before any timer), and no
/// route to the EIP or F_LO was ever deleted from a kernel. A later session
/// has the R bit clear.
#[test]
fn mdcd_restart_keeps_its_announcements_at_frr_and_the_data_path() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new("grspeaker")?.node("m")?.node("f")?.link(
        "m",
        &format!("{MDCD}/24"),
        "f",
        &format!("{FRR}/24"),
    )?;
    lab.add_addrs("m", "lo", &format!("{EIP}/32"))?;
    lab.add_addrs("f", "lo", &format!("{F_LO}/32"))?;
    // FRR 8.4: `bgp graceful-restart` under `router bgp` (restarting and
    // helper; the stale path time stays at its 360 s default).
    let frr = Frr::start_in(
        &lab,
        "f",
        BgpConfig::new(65002, FRR)
            .neighbor(Neighbor::new(MDCD, 65001).families(UNICAST))
            .network(F_LO_P)
            .extra("router bgp 65002\n bgp graceful-restart\nexit\n"),
    )?;
    let fib = format!("[fib]\ninstall = true\ngraceful-restart = true\nrestart-time = {RESTART_TIME}\n");
    let mut mdcd = Mdcd::new(
        &lab,
        "m",
        bins(),
        BgpConfig::new(65001, MDCD)
            .neighbor(Neighbor::new(FRR, 65002).families(UNICAST))
            .network(EIP_P)
            .network(GONE_P),
    )?
    .extra_config(&fib);
    mdcd.start()?;
    frr.wait_established(MDCD, T)?;
    mdcd.wait_established(FRR, T)?;

    // Converged: FRR's paths via mdcd in f's kernel, FRR's F_LO in m's
    // (mdcd's protocol 210), and the EIP answers both pings.
    let via_mdcd = |r: &mdc_tests::Route| r.as_path == [65001] && r.next_hop == MDCD.parse().ok();
    for (p, _) in [(EIP_P, EIP), (GONE_P, GONE)] {
        frr.wait_route(p, T, &via_mdcd)?;
        wait_kernel(&lab, "f", p, "bgp", MDCD)?;
    }
    wait_kernel(&lab, "m", F_LO_P, "210", FRR)?;
    for source in [None, Some(F_LO)] {
        wait_until(&format!("a ping from f (source {source:?}) to {EIP}"), T, POLL, || {
            Ok(match ping_eip(&lab, source) {
                Ok(()) => Check::Done(()),
                Err(e) => Check::Pending(e.to_string()),
            })
        })?;
    }

    // mdcd's first OPEN as FRR saw it: the configured restart time, both
    // negotiated families listed; a fresh start (nothing of an earlier run
    // in m's kernel), so no R bit.
    let n = frr_neighbor(&frr)?;
    let caps = &n["neighborCapabilities"];
    let view = gr_view(&n);
    eprintln!("FRR's view of mdcd's first OPEN: {view}");
    for afi in ["ipv4Unicast", "ipv6Unicast"] {
        let mp = &caps["multiprotocolExtensions"][afi];
        assert_eq!(mp["advertisedAndReceived"].as_bool(), Some(true), "{afi} not negotiated: {mp}");
    }
    assert_eq!(caps["gracefulRestart"].as_str(), Some("advertisedAndReceived"), "{view}");
    assert_eq!(
        caps["gracefulRestartRemoteTimerMsecs"].as_u64(),
        Some(RESTART_TIME * 1000),
        "mdcd's OPEN does not carry its restart-time = {RESTART_TIME}: {view}"
    );
    assert_eq!(
        n["gracefulRestartInfo"]["timers"]["receivedRestartTimer"].as_u64(),
        Some(RESTART_TIME),
        "{view}"
    );
    for afi in ["ipv4Unicast", "ipv6Unicast"] {
        assert!(
            caps["addressFamiliesByPeer"][afi].is_object(),
            "mdcd's graceful restart capability does not list {afi}: FRR would flush mdcd's routes of it as \
             soon as the session drops: {view}"
        );
    }
    assert_eq!(
        n["gracefulRestartInfo"]["rBit"].as_bool(),
        Some(false),
        "a first start (no routes of an earlier run) set the R bit: {view}"
    );
    let established_before = n["connectionsEstablished"].as_u64().unwrap_or(0);

    let f_monitor = Recorder::start(&lab, "f", "f-ip-monitor", &["ip", "monitor", "route"])?;
    let m_monitor = Recorder::start(&lab, "m", "m-ip-monitor", &["ip", "monitor", "route"])?;
    let ping_link = start_pinger(&lab, "f-ping-link", None)?;
    let ping_lo = start_pinger(&lab, "f-ping-lo", Some(F_LO))?;
    // The monitors subscribed, the pings under way.
    std::thread::sleep(Duration::from_millis(500));

    mdcd.kill();
    let killed = Instant::now();
    // While mdcd is dead: FRR keeps both routes (stale once it saw the
    // session go), so do both kernels.
    let mut stale_seen: Option<Vec<FrrPath>> = None;
    let mut polls = 0;
    while killed.elapsed() < DOWN {
        polls += 1;
        let at = killed.elapsed();
        let eip = frr_paths(&frr, EIP_P)?;
        let gone = frr_paths(&frr, GONE_P)?;
        let why = || {
            let n = frr_neighbor(&frr).map(|n| gr_view(&n)).unwrap_or_else(|e| e.to_string());
            format!("{at:.1?} after the kill: EIP {eip:?}, GONE {gone:?}\nFRR: {n}\n{}", frr.log_tail(20))
        };
        assert!(has_mdcds(&eip) && has_mdcds(&gone), "FRR dropped mdcd's routes: {}", why());
        let f_gw = kernel_gateway(&lab, "f", EIP_P, "bgp")?;
        assert_eq!(f_gw.as_deref(), Some(MDCD), "the EIP's route left f's kernel: {}", why());
        let m_gw = kernel_gateway(&lab, "m", F_LO_P, "210")?;
        assert_eq!(m_gw.as_deref(), Some(FRR), "mdcd's route to {F_LO_P} left m's kernel: {}", why());
        let down = frr.session_state(MDCD.parse().unwrap())? != SessionState::Established;
        if down && eip.iter().chain(&gone).all(|p| p.stale) {
            stale_seen = Some(eip.clone());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let stale = stale_seen.unwrap_or_else(|| panic!("FRR never showed mdcd's routes stale ({polls} polls)"));
    // FRR's restart timer runs from mdcd's restart time, not FRR's own.
    let left = stale.iter().find_map(|p| p.gr_secs_left);
    assert!(
        left.is_some_and(|s| s <= RESTART_TIME && s + 10 >= RESTART_TIME),
        "FRR's restart timer for mdcd is not mdcd's {RESTART_TIME} s: {stale:?}"
    );
    eprintln!("while mdcd was dead ({polls} polls in {DOWN:?}), FRR: {stale:?}");

    // mdcd comes back without GONE.
    let gone_p: Prefix = GONE_P.parse()?;
    mdcd.change_config(|c| c.networks.retain(|p| *p != gone_p));
    mdcd.start()?;
    frr.wait_established(MDCD, T)?;
    mdcd.wait_established(FRR, T)?;
    // The restarted mdcd's OPEN: the R bit, and ipv4 unicast with the F
    // bit (its kernel routes were kept).
    let n = frr_neighbor(&frr)?;
    let view = gr_view(&n);
    eprintln!("FRR's view of mdcd's OPEN after the restart: {view}");
    assert_eq!(n["gracefulRestartInfo"]["rBit"].as_bool(), Some(true), "no R bit after a restart: {view}");
    assert_eq!(
        n["neighborCapabilities"]["addressFamiliesByPeer"]["ipv4Unicast"]["preserved"].as_bool(),
        Some(true),
        "no F bit for ipv4 unicast after a restart that kept the kernel routes: {view}"
    );
    assert_eq!(n["gracefulRestartInfo"]["ipv4Unicast"]["fBit"].as_bool(), Some(true), "{view}");

    // FRR's route to the EIP is fresh again and never missing; GONE goes
    // with mdcd's End-of-RIB (the restart time is 60 s, the stale path
    // time 360 s, T 30 s).
    let mut seen = Vec::new();
    wait_until("FRR: the EIP fresh, GONE flushed by mdcd's End-of-RIB", T, POLL, || {
        let eip = frr_paths(&frr, EIP_P)?;
        let gone = frr_paths(&frr, GONE_P)?;
        assert!(has_mdcds(&eip), "FRR lost the EIP's route after mdcd came back: {eip:?} after {seen:?}");
        let now = (eip.clone(), gone.clone());
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        let done = eip.iter().all(|p| !p.stale) && gone.is_empty();
        Ok(if done { Check::Done(()) } else { Check::Pending(format!("EIP {eip:?}, GONE {gone:?}")) })
    })
    .map_err(|e| mdcd.with_log(frr.with_log(e)))?;
    eprintln!("FRR's paths to the EIP and GONE after mdcd came back: {seen:?}");
    let n = frr_neighbor(&frr)?;
    assert_eq!(
        n["gracefulRestartInfo"]["ipv4Unicast"]["endOfRibStatus"]["endOfRibRecv"].as_bool(),
        Some(true),
        "{}",
        gr_view(&n)
    );
    wait_kernel(&lab, "f", EIP_P, "bgp", MDCD)?;
    ping_eip(&lab, Some(F_LO))?;

    // Never a gap: the pings were all answered, neither kernel deleted its
    // route; f's monitor did see GONE go (so it was listening).
    assert_no_loss(ping_link, &format!("ping {EIP} from f's link address"), 10);
    assert_no_loss(ping_lo, &format!("ping {EIP} from {F_LO}"), 10);
    let f_seen = f_monitor.interrupt();
    let m_seen = m_monitor.interrupt();
    assert!(
        deletions(&f_seen, EIP).is_empty(),
        "f's kernel lost the route to the EIP across mdcd's restart: {:?}\n{f_seen}",
        deletions(&f_seen, EIP)
    );
    assert!(!deletions(&f_seen, GONE).is_empty(), "f's monitor did not see GONE go: {f_seen}");
    assert!(
        deletions(&m_seen, F_LO).is_empty(),
        "m's kernel lost mdcd's route to {F_LO_P} across the restart: {m_seen}"
    );

    // A later session, after the restart converged (mdcd got FRR's
    // End-of-RIBs and reconciled its table): the R bit is clear.
    wait_until("mdcd: the graceful start converged", T, POLL, || {
        let v = mdcd.fib_json()?;
        Ok(if v["adopting"].as_bool() == Some(false) {
            Check::Done(())
        } else {
            Check::Pending(v.to_string())
        })
    })
    .map_err(|e| mdcd.with_log(frr.with_log(e)))?;
    frr.vtysh(&[&format!("clear bgp {MDCD}")])?;
    let n = wait_until("a new session between FRR and mdcd", T, POLL, || {
        let n = frr_neighbor(&frr)?;
        let again = n["bgpState"].as_str() == Some("Established")
            && n["connectionsEstablished"].as_u64().unwrap_or(0) > established_before + 1;
        Ok(if again { Check::Done(n) } else { Check::Pending(gr_view(&n)) })
    })?;
    assert_eq!(
        n["gracefulRestartInfo"]["rBit"].as_bool(),
        Some(false),
        "a session after the restart converged still has the R bit: {}",
        gr_view(&n)
    );
    Ok(())
}
