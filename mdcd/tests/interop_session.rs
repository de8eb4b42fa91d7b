//! Session-level interop of mdcd with FRR 8.4 and BIRD 2.0.12 in network
//! namespaces: TCP-MD5 (RFC 2385), graceful shutdown with an RFC 9003
//! message, the hold timer against a frozen peer, RFC 8950 extended next
//! hop, and the send hold timer (RFC 9687) against a peer that stops
//! reading.
//!
//! Needs root and the peers: outside CI these tests print `skipped: ...`;
//! under `CI=true` a missing peer fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mdc_tests::{
    BgpConfig, BgpPeer, Bird, Check, Error, Family, Frr, Lab, Mdcd, MdcdBinaries, Neighbor, RawPeer, Result,
    SessionState, require_interop, wait_until,
};

const T: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

/// mdcd (192.0.2.1) and a peer (192.0.2.2) on one link.
fn two_nodes(short: &str) -> Result<Lab> {
    Lab::new(short)?.node("mdcd")?.node("peer")?.link(
        "mdcd",
        "192.0.2.1/30 2001:db8:1::1/64",
        "peer",
        "192.0.2.2/30 2001:db8:1::2/64",
    )
}

fn mdcd_log(mdcd: &Mdcd) -> String {
    std::fs::read_to_string(mdcd.dir().join("mdcd.log")).unwrap_or_default()
}

/// `kill -SIG pid` (the harness keeps the pids of what it started).
fn signal(sig: &str, pid: u32) -> Result<()> {
    let st = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map_err(|e| Error::msg(format!("kill: {e}")))?;
    if st.success() { Ok(()) } else { Err(Error::msg(format!("kill {sig} {pid}: {st}"))) }
}

/// For 5 s (several 1 s connect retries), neither side is ever Established.
fn never_established(ours: &dyn BgpPeer, their_addr: &str, peer: &dyn BgpPeer, our_addr: &str) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        assert_ne!(ours.session_state(their_addr.parse().unwrap())?, SessionState::Established);
        assert_ne!(peer.session_state(our_addr.parse().unwrap())?, SessionState::Established);
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// Wait until `peer`'s session with `neighbor` is anything but Established.
fn wait_not_established(peer: &dyn BgpPeer, neighbor: &str, timeout: Duration) -> Result<SessionState> {
    let addr = neighbor.parse().unwrap();
    wait_until(&format!("{}: session with {neighbor} down", peer.name()), timeout, POLL, || {
        Ok(match peer.session_state(addr)? {
            SessionState::Established => Check::Pending("Established".into()),
            s => Check::Done(s),
        })
    })
    .map_err(|e| peer.with_log(e))
}

// ---------------------------------------------------------------------------
// 1. TCP-MD5 (RFC 2385)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Kind {
    Frr,
    Bird,
}

fn start_peer(kind: Kind, lab: &Lab, config: BgpConfig) -> Result<Box<dyn BgpPeer>> {
    Ok(match kind {
        Kind::Frr => Box::new(Frr::start_in(lab, "peer", config)?),
        Kind::Bird => Box::new(Bird::start_in(lab, "peer", config)?),
    })
}

fn md5(kind: Kind, short: &str, ours: &str, theirs: &str) -> Result<()> {
    let need = match kind {
        Kind::Frr => "frr",
        Kind::Bird => "bird",
    };
    if !require_interop(&[need]) {
        return Ok(());
    }
    let lab = two_nodes(short)?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1")
            .neighbor(Neighbor::new("192.0.2.2", 65002).password(ours))
            .network("198.51.100.0/26"),
    )?;
    let peer = start_peer(
        kind,
        &lab,
        BgpConfig::new(65002, "192.0.2.2")
            .neighbor(Neighbor::new("192.0.2.1", 65001).password(theirs))
            .network("203.0.113.0/26"),
    )?;
    if ours == theirs {
        peer.wait_established("192.0.2.1", T)?;
        mdcd.wait_established("192.0.2.2", T)?;
        peer.wait_route("198.51.100.0/26", T, &|r| r.as_path == [65001])?;
        mdcd.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65002])?;
        return Ok(());
    }
    // Wrong key: the kernels drop each other's segments, so no session
    // comes up and mdcd says why, naming the peer and TCP-MD5.
    let line = wait_until("mdcd: log line about the TCP-MD5 failure", Duration::from_secs(15), POLL, || {
        let log = mdcd_log(&mdcd);
        Ok(match log.lines().find(|l| l.contains("192.0.2.2") && l.contains("TCP-MD5")) {
            Some(l) => Check::Done(l.to_string()),
            None => Check::Pending(log.lines().last().unwrap_or_default().to_string()),
        })
    })?;
    assert!(line.contains("WARN"), "a key mismatch is a warning: {line}");
    // A few more connect retries (1 s) and still no session on either side.
    std::thread::sleep(Duration::from_secs(4));
    let ours_state = mdcd.session_state("192.0.2.2".parse().unwrap())?;
    let theirs_state = peer.session_state("192.0.2.1".parse().unwrap())?;
    assert_ne!(ours_state, SessionState::Established, "{kind:?}");
    assert_ne!(theirs_state, SessionState::Established, "{kind:?}");
    assert!(
        !mdcd_log(&mdcd).contains("session established"),
        "{kind:?}: a session came up with mismatched keys"
    );
    Ok(())
}

#[test]
fn md5_frr() -> Result<()> {
    md5(Kind::Frr, "md5frr", "s3cr3t-frr", "s3cr3t-frr")
}

#[test]
fn md5_bird() -> Result<()> {
    md5(Kind::Bird, "md5bird", "s3cr3t-bird", "s3cr3t-bird")
}

#[test]
fn md5_wrong_password_frr() -> Result<()> {
    md5(Kind::Frr, "md5badfrr", "right-key", "wrong-key")
}

#[test]
fn md5_wrong_password_bird() -> Result<()> {
    md5(Kind::Bird, "md5badbird", "right-key", "wrong-key")
}

// ---------------------------------------------------------------------------
// 2. Graceful shutdown (Cease/2 with an RFC 9003 message)
// ---------------------------------------------------------------------------

/// Every string in `v` with its JSON path, for finding where FRR put text.
fn strings_in(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s) => out.push((path.to_string(), s.clone())),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                strings_in(x, &format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                strings_in(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn frr_neighbor(frr: &Frr, addr: &str) -> Result<serde_json::Value> {
    let v = frr.json(&format!("show bgp neighbors {addr} json"))?;
    Ok(v.get(addr).cloned().unwrap_or(serde_json::Value::Null))
}

fn shutdown_message_on_frr(short: &str, frr_gr: bool) -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = two_nodes(short)?;
    let mut mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1").neighbor(Neighbor::new("192.0.2.2", 65002)),
    )?;
    let mut config = BgpConfig::new(65002, "192.0.2.2").neighbor(Neighbor::new("192.0.2.1", 65001));
    if !frr_gr {
        config = config.extra("router bgp 65002\n bgp graceful-restart-disable\nexit");
    }
    let frr = Frr::start_in(&lab, "peer", config)?;
    frr.wait_established("192.0.2.1", T)?;
    mdcd.wait_established("192.0.2.2", T)?;
    let n = frr_neighbor(&frr, "192.0.2.1")?;
    assert_eq!(n["gracefulRestartInfo"]["nBit"], frr_gr, "N bit negotiated only with GR on FRR: {n}");
    mdcd.stop();
    let text = "mdcd is shutting down";
    let found = wait_until("FRR shows mdcd's shutdown message", Duration::from_secs(15), POLL, || {
        let n = frr_neighbor(&frr, "192.0.2.1")?;
        let mut all = Vec::new();
        strings_in(&n, "", &mut all);
        Ok(match all.iter().find(|(_, s)| s.contains(text)) {
            Some(f) => Check::Done((f.clone(), n)),
            None => Check::Pending(format!("{all:?}")),
        })
    });
    let ((path, value), n) = found?;
    // FRR 8.4 keeps the RFC 9003 text in `lastShutdownDescription`.
    assert_eq!(path, ".lastShutdownDescription", "{n}");
    assert_eq!(value, text);
    assert_eq!(n["lastNotificationReason"], "Cease/Administrative Shutdown", "{n}");
    assert_eq!(n["lastErrorCodeSubcode"], "0602", "{n}");
    // With graceful restart and the N bit on both sides, mdcd wraps the
    // Cease/2 in Cease/9 Hard Reset (RFC 8538) and FRR unwraps it: the
    // message is shown either way.
    assert_eq!(n["lastNotificationHardReset"], frr_gr, "{n}");
    Ok(())
}

#[test]
fn shutdown_message_frr() -> Result<()> {
    shutdown_message_on_frr("shutfrr", true)
}

#[test]
fn shutdown_message_frr_no_gr() -> Result<()> {
    shutdown_message_on_frr("shutfrrnogr", false)
}

// ---------------------------------------------------------------------------
// 3. Hold timer against a frozen peer
// ---------------------------------------------------------------------------

#[test]
fn hold_timer_frozen_frr() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = two_nodes("holdfrr")?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1").hold_time(9).neighbor(Neighbor::new("192.0.2.2", 65002)),
    )?;
    let frr = Frr::start_in(
        &lab,
        "peer",
        BgpConfig::new(65002, "192.0.2.2").hold_time(9).neighbor(Neighbor::new("192.0.2.1", 65001)),
    )?;
    frr.wait_established("192.0.2.1", T)?;
    mdcd.wait_established("192.0.2.2", T)?;
    let bgpd = *frr.pids().last().unwrap();
    signal("-STOP", bgpd)?;
    let frozen = Instant::now();
    let down = wait_not_established(&mdcd, "192.0.2.2", Duration::from_secs(14));
    let elapsed = frozen.elapsed();
    signal("-CONT", bgpd)?;
    let state = down?;
    eprintln!("mdcd left Established after {elapsed:?} ({state:?})");
    // The last KEEPALIVE came at most 3 s (+ jitter) before the freeze:
    // the hold timer (9 s) fires 6-9 s after it.
    assert!(elapsed >= Duration::from_secs(5), "down too early ({elapsed:?}): not the hold timer");
    assert!(elapsed <= Duration::from_secs(12), "hold time 9 s, but down only after {elapsed:?}");
    let log = mdcd_log(&mdcd);
    assert!(
        log.lines()
            .any(|l| l.contains("192.0.2.2") && l.contains("session down") && l.contains("Hold Timer")),
        "mdcd's log names the hold timer:\n{}",
        mdcd.log_tail(20)
    );
    // And FRR, thawed, comes back.
    mdcd.wait_established("192.0.2.2", T)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// 5. RFC 8950: IPv4 routes with IPv6 next hops
// ---------------------------------------------------------------------------

#[test]
fn extended_next_hop_frr() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = two_nodes("enhfrr")?;
    let both = [Family::Ipv4Unicast, Family::Ipv6Unicast];
    // One session over IPv6 carrying IPv4 and IPv6 unicast.
    let mut mdcd = Mdcd::new(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1")
            .neighbor(Neighbor::new("2001:db8:1::2", 65002).families(&both))
            .network("198.51.100.0/26")
            .network("2001:db8:100::/48"),
    )?
    .peer_option("2001:db8:1::2", "extended-nexthop = true");
    mdcd.start()?;
    let frr = Frr::start_in(
        &lab,
        "peer",
        BgpConfig::new(65002, "192.0.2.2")
            .neighbor(Neighbor::new("2001:db8:1::1", 65001).families(&both))
            .network("203.0.113.0/26")
            .extra("router bgp 65002\n neighbor 2001:db8:1::1 capability extended-nexthop\nexit"),
    )?;
    frr.wait_established("2001:db8:1::1", T)?;
    mdcd.wait_established("2001:db8:1::2", T)?;
    let n = frr_neighbor(&frr, "2001:db8:1::1")?;
    let caps = &n["neighborCapabilities"];
    assert_eq!(caps["extendedNexthop"], "advertisedAndReceived", "{caps}");
    // mdcd's IPv4 route on FRR, with mdcd's IPv6 address as next hop.
    let r = frr.wait_route("198.51.100.0/26", T, &|r| r.as_path == [65001])?;
    assert_eq!(r.next_hop, Some("2001:db8:1::1".parse().unwrap()), "{r:?}");
    let r6 = frr.wait_route("2001:db8:100::/48", T, &|r| r.as_path == [65001])?;
    assert_eq!(r6.next_hop, Some("2001:db8:1::1".parse().unwrap()), "{r6:?}");
    // FRR's IPv4 route on mdcd, with FRR's IPv6 address as next hop.
    let r = mdcd.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65002])?;
    assert_eq!(r.next_hop, Some("2001:db8:1::2".parse().unwrap()), "{r:?}");
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. Send hold timer (RFC 9687)
// ---------------------------------------------------------------------------

/// The `rawpeer` binary (built once into this test's target directory).
fn rawpeer_bin() -> PathBuf {
    mdc_tests::rawpeer_binary().unwrap_or_else(|e| panic!("{e}"))
}

/// mdcd originates 512 IPv4 /32s and 4000 IPv6 /128s (~400 kB of UPDATEs)
/// to FRR and to a raw peer that stops reading once established (its
/// receive buffer pinned at 4 kB). mdcd's send hold timer (5 s here)
/// drops the raw peer; the FRR session never flaps and gets every route.
#[test]
fn send_hold_timer_drops_a_peer_that_stops_reading() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    const SEND_HOLD: Duration = Duration::from_secs(5);
    let raw_bin = rawpeer_bin();
    let lab = Lab::new("sendhold")?
        .node("mdcd")?
        .node("frr")?
        .node("raw")?
        .link("mdcd", "192.0.2.1/30", "frr", "192.0.2.2/30")?
        .link("mdcd", "192.0.2.5/30", "raw", "192.0.2.6/30")?;
    // The raw peer's receive window: at most 4 kB, never grown.
    lab.exec("raw", &["sysctl", "-w", "net.ipv4.tcp_rmem=4096 4096 4096"])?;
    let both = [Family::Ipv4Unicast, Family::Ipv6Unicast];
    let mut config = BgpConfig::new(65001, "192.0.2.1")
        .neighbor(Neighbor::new("192.0.2.2", 65002).families(&both))
        .neighbor(Neighbor::new("192.0.2.6", 65003).families(&both).passive());
    for net in ["198.51.100", "203.0.113"] {
        for i in 0..=255 {
            config = config.network(&format!("{net}.{i}/32"));
        }
    }
    for i in 0..4000u32 {
        config = config.network(&format!("2001:db8:ff::{:x}:{:x}/128", i >> 8, i & 0xff));
    }
    let mut mdcd = Mdcd::new(&lab, "mdcd", bins(), config)?
        .peer_option("192.0.2.6", &format!("send-hold-time = {}", SEND_HOLD.as_secs()));
    mdcd.start()?;
    let frr = Frr::start_in(
        &lab,
        "frr",
        BgpConfig::new(65002, "192.0.2.2").neighbor(Neighbor::new("192.0.2.1", 65001).families(&both)),
    )?;
    frr.wait_established("192.0.2.1", T)?;
    mdcd.wait_established("192.0.2.2", T)?;

    let raw = RawPeer::start_with_args(
        &lab,
        "raw",
        &raw_bin,
        65003,
        "192.0.2.6",
        &Neighbor::new("192.0.2.5", 65001),
        &["--stop-reading"],
    )?;
    raw.wait_line("raw peer stops reading", T, |l| l == "stopped reading")?;
    let stopped = Instant::now();
    // Until the raw peer is dropped, the FRR session stays Established on
    // both sides, checked at every poll.
    let down = wait_until("mdcd drops the raw peer", Duration::from_secs(20), POLL, || {
        assert_eq!(mdcd.session_state("192.0.2.2".parse().unwrap())?, SessionState::Established);
        assert_eq!(frr.session_state("192.0.2.1".parse().unwrap())?, SessionState::Established);
        Ok(match mdcd.session_state("192.0.2.6".parse().unwrap())? {
            SessionState::Established => Check::Pending("Established".into()),
            s => Check::Done(s),
        })
    })
    .map_err(|e| mdcd.with_log(e))?;
    let elapsed = stopped.elapsed();
    eprintln!("raw peer dropped {elapsed:?} after it stopped reading ({down:?})");
    assert!(elapsed >= SEND_HOLD, "dropped after {elapsed:?}: sooner than the send hold time");
    // Stall detection (1 s without write progress) + the send hold time.
    assert!(elapsed <= SEND_HOLD + Duration::from_secs(4), "dropped only after {elapsed:?}");
    let log = mdcd_log(&mdcd);
    assert!(
        log.lines().any(|l| l.contains("192.0.2.6") && l.contains("Send Hold Timer Expired")),
        "mdcd's log names the send hold timer:\n{}",
        mdcd.log_tail(30)
    );
    // FRR never lost its session and got every route.
    let n = frr_neighbor(&frr, "192.0.2.1")?;
    assert_eq!(n["connectionsEstablished"], 1, "{n}");
    assert_eq!(n["connectionsDropped"], 0, "{n}");
    assert_eq!(n["bgpState"], "Established", "{n}");
    let count = |afi: &str| -> Result<u64> {
        let v = frr.json(&format!("show bgp {afi} unicast summary json"))?;
        Ok(v["peers"]["192.0.2.1"]["pfxRcd"].as_u64().unwrap_or(0))
    };
    wait_until("FRR has all of mdcd's routes", T, POLL, || {
        let (v4, v6) = (count("ipv4")?, count("ipv6")?);
        Ok(if (v4, v6) == (512, 4000) { Check::Done(()) } else { Check::Pending(format!("{v4} + {v6}")) })
    })?;
    drop(raw);
    Ok(())
}

// ---------------------------------------------------------------------------
// 6. GTSM (RFC 5082) with FRR's ttl-security
// ---------------------------------------------------------------------------

/// mdcd with `gtsm = true` and FRR with `ttl-security hops 1`: each side
/// sends TTL 255 and drops anything below, so the session comes up only if
/// mdcd really sends 255 (FRR's eBGP default is TTL 1). Without GTSM on
/// FRR's side, mdcd's minimum TTL drops FRR's packets: no session.
fn gtsm(short: &str, frr_gtsm: bool) -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = two_nodes(short)?;
    let mut mdcd = Mdcd::new(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1")
            .neighbor(Neighbor::new("192.0.2.2", 65002))
            .network("198.51.100.0/26"),
    )?
    .peer_option("192.0.2.2", "gtsm = true");
    mdcd.start()?;
    let extra =
        if frr_gtsm { "router bgp 65002\n neighbor 192.0.2.1 ttl-security hops 1\nexit\n" } else { "" };
    let frr = Frr::start_in(
        &lab,
        "peer",
        BgpConfig::new(65002, "192.0.2.2")
            .neighbor(Neighbor::new("192.0.2.1", 65001))
            .network("203.0.113.0/26")
            .extra(extra),
    )?;
    if frr_gtsm {
        frr.wait_established("192.0.2.1", T)?;
        mdcd.wait_established("192.0.2.2", T)?;
        frr.wait_route("198.51.100.0/26", T, &|r| r.as_path == [65001])?;
        mdcd.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65002])?;
    } else {
        // Several connect retries (1 s) on both sides, and never a session.
        never_established(&mdcd, "192.0.2.2", &frr, "192.0.2.1")?;
    }
    Ok(())
}

#[test]
fn gtsm_with_frr_ttl_security() -> Result<()> {
    gtsm("gtsmfrr", true)
}

#[test]
fn gtsm_rejects_a_peer_that_sends_ttl_1() -> Result<()> {
    gtsm("gtsmttl1", false)
}

// ---------------------------------------------------------------------------
// 7. Unnumbered peering over IPv6 link-local addresses (FRR `neighbor IF
//    interface`), IPv4 routes with RFC 8950 next hops
// ---------------------------------------------------------------------------

#[test]
fn unnumbered_with_frr() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    // No addresses on the link: only the kernel's link-local ones.
    let lab = Lab::new("unnumfrr")?.node("mdcd")?.node("peer")?.link("mdcd", "", "peer", "")?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1").network("198.51.100.0/26").network("2001:db8:100::/48").extra(
            "\n[[peer]]\ninterface = \"to-peer\"\nremote-as = \"external\"\nhold-time = 9\nconnect-retry = 1\n",
        ),
    )?;
    let frr = Frr::start_in(
        &lab,
        "peer",
        BgpConfig::new(65002, "192.0.2.2").network("203.0.113.0/26").network("2001:db8:200::/48").extra(
            "router bgp 65002\n neighbor to-mdcd interface remote-as external\n address-family ipv4 unicast\n  \
             neighbor to-mdcd activate\n exit-address-family\n address-family ipv6 unicast\n  neighbor to-mdcd \
             activate\n exit-address-family\nexit\n",
        ),
    )?;
    // Each side's routes on the other's CLI: IPv4 and IPv6 over one
    // link-local session.
    let r = frr.wait_route("198.51.100.0/26", T, &|r| r.as_path == [65001])?;
    assert!(r.best, "{r:?}");
    frr.wait_route("2001:db8:100::/48", T, &|r| r.as_path == [65001])?;
    let r = mdcd.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65002])?;
    let nh = r.next_hop.expect("an IPv4 route over the unnumbered session has an IPv6 next hop");
    assert!(matches!(nh, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local()), "RFC 8950 next hop: {nh}");
    mdcd.wait_route("2001:db8:200::/48", T, &|r| r.as_path == [65002])?;
    let neighbors = mdcd.neighbors_table()?;
    assert!(neighbors.contains("fe80::"), "the session runs between link-local addresses:\n{neighbors}");
    Ok(())
}

// ---------------------------------------------------------------------------
// 8. A bad config on reload is rejected and changes nothing
// ---------------------------------------------------------------------------

#[test]
fn an_invalid_config_on_reload_changes_nothing() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = two_nodes("badreload")?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1")
            .neighbor(Neighbor::new("192.0.2.2", 65002))
            .network("198.51.100.0/26"),
    )?;
    let frr = Frr::start_in(
        &lab,
        "peer",
        BgpConfig::new(65002, "192.0.2.2").neighbor(Neighbor::new("192.0.2.1", 65001)),
    )?;
    frr.wait_route("198.51.100.0/26", T, &|r| r.as_path == [65001])?;
    // A file with an invalid prefix and no longer our route: if it were
    // applied, the route would be withdrawn.
    let conf = mdcd.dir().join("mdcd.toml");
    let text = std::fs::read_to_string(&conf).map_err(|e| Error::msg(e.to_string()))?;
    let bad = text.replace("originate = [\"198.51.100.0/26\"]", "originate = [\"198.51.100.0/33\"]");
    assert_ne!(bad, text);
    std::fs::write(&conf, bad).map_err(|e| Error::msg(e.to_string()))?;
    let pid = mdcd.pid().ok_or_else(|| Error::msg("mdcd not running"))?;
    signal("-HUP", pid)?;
    let line = wait_until("mdcd: reload rejected", Duration::from_secs(10), POLL, || {
        let log = mdcd_log(&mdcd);
        Ok(match log.lines().find(|l| l.contains("reload rejected")) {
            Some(l) => Check::Done(l.to_string()),
            None => Check::Pending(String::new()),
        })
    })?;
    assert!(
        line.contains("mdcd.toml:3:") && line.contains("originate[0]"),
        "names file, line and field: {line}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(frr.best_route("198.51.100.0/26")?.is_some(), "the running config stays in force");
    assert_eq!(mdcd.session_state("192.0.2.2".parse().unwrap())?, SessionState::Established);
    Ok(())
}

// ---------------------------------------------------------------------------
// 9. eBGP multihop: TTL 1 for single-hop eBGP (as FRR and BIRD), `multihop`
//    for a peer behind a router
// ---------------------------------------------------------------------------

/// mdcd — router — FRR, FRR with `ebgp-multihop 2`.
fn multihop(short: &str, ours: Option<u8>) -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new(short)?
        .node("mdcd")?
        .node("r")?
        .node("peer")?
        .link("mdcd", "192.0.2.1/30", "r", "192.0.2.2/30")?
        .link("r", "203.0.113.1/30", "peer", "203.0.113.2/30")?;
    lab.exec("mdcd", &["ip", "route", "add", "203.0.113.0/30", "via", "192.0.2.2"])?;
    lab.exec("peer", &["ip", "route", "add", "192.0.2.0/30", "via", "203.0.113.1"])?;
    let mut n = Neighbor::new("203.0.113.2", 65002);
    if let Some(ttl) = ours {
        n = n.multihop(ttl);
    }
    let mdcd = Mdcd::start_in(&lab, "mdcd", bins(), BgpConfig::new(65001, "192.0.2.1").neighbor(n))?;
    let frr = Frr::start_in(
        &lab,
        "peer",
        BgpConfig::new(65002, "203.0.113.2")
            .neighbor(Neighbor::new("192.0.2.1", 65001).multihop(2))
            .network("198.51.100.0/26"),
    )?;
    if ours.is_some() {
        mdcd.wait_established("203.0.113.2", T)?;
        mdcd.wait_route("198.51.100.0/26", T, &|r| r.as_path == [65002])?;
    } else {
        // Our packets leave with TTL 1 and die at the router: no session.
        never_established(&mdcd, "203.0.113.2", &frr, "192.0.2.1")?;
    }
    Ok(())
}

#[test]
fn ebgp_multihop_reaches_a_peer_behind_a_router() -> Result<()> {
    multihop("mhop2", Some(2))
}

#[test]
fn single_hop_ebgp_sends_ttl_1() -> Result<()> {
    multihop("mhop1", None)
}

// ---------------------------------------------------------------------------
// 10. SIGHUP adds, removes and resets peers, each alone (issue 14, item 4)
// ---------------------------------------------------------------------------

/// How many times FRR's session with `addr` came up.
fn established_count(frr: &Frr, addr: &str) -> Result<u64> {
    let n = frr_neighbor(frr, addr)?;
    Ok(n["connectionsEstablished"].as_u64().unwrap_or(0))
}

/// As BIRD's `configure`: a reload starts a peer added to the file, sends
/// a peer removed from it Cease/Peer De-configured (RFC 4486) and drops it,
/// resets a peer whose session settings changed, and leaves every other
/// session alone; the log says what changed. The same file again changes
/// nothing and warns about nothing.
#[test]
fn sighup_adds_removes_and_resets_peers_alone() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new("hupers")?
        .node("mdcd")?
        .node("a")?
        .node("b")?
        .link("mdcd", "192.0.2.1/30", "a", "192.0.2.2/30")?
        .link("mdcd", "198.51.100.1/30", "b", "198.51.100.2/30")?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65001, "192.0.2.1")
            .neighbor(Neighbor::new("192.0.2.2", 65002))
            .network("203.0.113.0/26"),
    )?;
    let a = Frr::start_in(
        &lab,
        "a",
        BgpConfig::new(65002, "192.0.2.2").neighbor(Neighbor::new("192.0.2.1", 65001)),
    )?;
    let b = Frr::start_in(
        &lab,
        "b",
        BgpConfig::new(65003, "198.51.100.2").neighbor(Neighbor::new("198.51.100.1", 65001)),
    )?;
    a.wait_established("192.0.2.1", T)?;
    a.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65001])?;
    assert_eq!(established_count(&a, "192.0.2.1")?, 1);
    let log_has = |what: &str| mdcd_log(&mdcd).lines().any(|l| l.contains(what));

    // The same file: nothing happens, nothing is said to need a restart.
    mdcd.reload()?;
    std::thread::sleep(Duration::from_secs(1));
    assert!(!log_has("need a restart") && !log_has("needs a restart"), "{}", mdcd_log(&mdcd));
    assert_eq!(established_count(&a, "192.0.2.1")?, 1);

    // B added: it comes up with our route; A untouched.
    mdcd.reconfigure(|c| c.neighbors.push(Neighbor::new("198.51.100.2", 65003)))?;
    b.wait_established("198.51.100.1", T)?;
    b.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65001])?;
    assert!(log_has("reload: peer added"), "{}", mdcd_log(&mdcd));
    assert_eq!(established_count(&a, "192.0.2.1")?, 1, "A's session was reset by adding B");

    // A's send hold time changed: A alone is reset, and the log names why.
    mdcd.set_peer_options("192.0.2.2", &["send-hold-time = 600"])?;
    mdcd.reload()?;
    wait_until("FRR A's session with mdcd up again", T, POLL, || {
        let n = frr_neighbor(&a, "192.0.2.1")?;
        let up = n["bgpState"].as_str() == Some("Established");
        Ok(if up && n["connectionsEstablished"].as_u64() == Some(2) {
            Check::Done(())
        } else {
            let log = mdcd_log(&mdcd);
            let reloads: Vec<&str> = log.lines().filter(|l| l.contains("reload")).collect();
            Check::Pending(format!(
                "{} {} {}; mdcd: {reloads:?}",
                n["bgpState"], n["connectionsEstablished"], n["lastResetDueTo"]
            ))
        })
    })?;
    assert!(log_has("send-hold-time changed: the session is reset"), "{}", mdcd_log(&mdcd));
    assert_eq!(established_count(&b, "198.51.100.1")?, 1, "B's session was reset by A's change");

    // B removed: FRR B hears Cease/Peer De-configured, mdcd forgets it.
    mdcd.reconfigure(|c| c.neighbors.retain(|n| n.address.to_string() != "198.51.100.2"))?;
    wait_not_established(&b, "198.51.100.1", T)?;
    let nb = frr_neighbor(&b, "198.51.100.1")?;
    let text = nb.to_string();
    assert!(
        text.contains("Peer Unconfigured") || text.contains("De-configured") || text.contains("Deconfigured"),
        "FRR B does not report Cease/3: {nb}"
    );
    let listed: Vec<String> =
        mdcd.neighbors_json()?.iter().filter_map(|n| n["address"].as_str().map(str::to_string)).collect();
    assert_eq!(listed, vec!["192.0.2.2".to_string()]);
    assert_eq!(established_count(&a, "192.0.2.1")?, 2, "A's session was reset by removing B");
    assert!(log_has("reload: peer removed"), "{}", mdcd_log(&mdcd));
    Ok(())
}
