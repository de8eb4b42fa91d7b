//! Self-test of the interop harness against FRR, BIRD, GoBGP and ExaBGP.
//! Needs root and the peers; otherwise each test prints `skipped: ...`
//! (and fails under `CI=true`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mdc_tests::{
    BgpConfig, BgpPeer, Bird, ExaBgp, Frr, GoBgp, Lab, Neighbor, RawPeer, Result, require_interop,
};

const T: Duration = Duration::from_secs(30);

struct Speaker {
    node: &'static str,
    asn: u32,
    v4: &'static str,
    v6: &'static str,
    nets: [&'static str; 2],
}

const SPEAKERS: [Speaker; 3] = [
    Speaker {
        node: "frr",
        asn: 65001,
        v4: "192.0.2.1",
        v6: "2001:db8::1",
        nets: ["198.51.100.0/26", "2001:db8:1000::/48"],
    },
    Speaker {
        node: "bird",
        asn: 65002,
        v4: "192.0.2.2",
        v6: "2001:db8::2",
        nets: ["198.51.100.64/26", "2001:db8:2000::/48"],
    },
    Speaker {
        node: "gobgp",
        asn: 65003,
        v4: "192.0.2.3",
        v6: "2001:db8::3",
        nets: ["198.51.100.128/26", "2001:db8:3000::/48"],
    },
];

fn config(me: &Speaker) -> BgpConfig {
    let mut c = BgpConfig::new(me.asn, me.v4);
    for other in SPEAKERS.iter().filter(|s| s.node != me.node) {
        c = c.neighbor(Neighbor::new(other.v4, other.asn)).neighbor(Neighbor::new(other.v6, other.asn));
    }
    for n in me.nets {
        c = c.network(n);
    }
    c
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// FRR ↔ BIRD ↔ GoBGP, eBGP on one LAN: sessions, routes with next hop and
/// AS path on every peer's own CLI, then a withdrawal by each.
#[test]
fn frr_bird_gobgp_mesh() -> Result<()> {
    if !require_interop(&["frr", "bird", "gobgp"]) {
        return Ok(());
    }
    let t0 = Instant::now();
    let members: Vec<(&str, String)> =
        SPEAKERS.iter().map(|s| (s.node, format!("{}/24 {}/64", s.v4, s.v6))).collect();
    let members: Vec<(&str, &str)> = members.iter().map(|(n, a)| (*n, a.as_str())).collect();
    let lab = Lab::new("mesh")?.node("frr")?.node("bird")?.node("gobgp")?.lan("lan", &members)?;
    let frr = Frr::start_in(&lab, "frr", config(&SPEAKERS[0]))?;
    let bird = Bird::start_in(&lab, "bird", config(&SPEAKERS[1]))?;
    let gobgp = GoBgp::start_in(&lab, "gobgp", config(&SPEAKERS[2]))?;
    let peers: [&dyn BgpPeer; 3] = [&frr, &bird, &gobgp];

    for (me, peer) in SPEAKERS.iter().zip(peers) {
        for other in SPEAKERS.iter().filter(|s| s.node != me.node) {
            peer.wait_established(other.v4, T)?;
            peer.wait_established(other.v6, T)?;
        }
    }
    let established = t0.elapsed();

    for (me, peer) in SPEAKERS.iter().zip(peers) {
        for other in SPEAKERS.iter().filter(|s| s.node != me.node) {
            for (net, nh) in [(other.nets[0], other.v4), (other.nets[1], other.v6)] {
                let r =
                    peer.wait_route(net, T, &|r| r.next_hop == Some(ip(nh)) && r.as_path == [other.asn])?;
                assert!(!r.local, "{}: {net} learned, not local: {r:?}", peer.name());
            }
        }
        // Its own prefixes are there, as local routes.
        for net in me.nets {
            let r = peer.best_route(net)?.unwrap_or_else(|| panic!("{}: own {net} missing", peer.name()));
            assert!(r.local, "{}: {net} should be local: {r:?}", peer.name());
        }
    }
    let converged = t0.elapsed();

    // Each peer withdraws one prefix; the other two lose it, the rest stays.
    frr.withdraw(SPEAKERS[0].nets[0])?;
    bird.withdraw(SPEAKERS[1].nets[1])?;
    gobgp.withdraw(SPEAKERS[2].nets[0])?;
    let gone = [SPEAKERS[0].nets[0], SPEAKERS[1].nets[1], SPEAKERS[2].nets[0]];
    for (i, peer) in peers.iter().enumerate() {
        for (j, net) in gone.iter().enumerate() {
            if i != j {
                peer.wait_no_route(net, T)?;
            }
        }
    }
    for (me, peer) in SPEAKERS.iter().zip(peers) {
        for other in SPEAKERS.iter().filter(|s| s.node != me.node) {
            for net in other.nets.iter().filter(|n| !gone.contains(n)) {
                assert!(peer.best_route(net)?.is_some(), "{}: {net} should have survived", peer.name());
            }
        }
    }
    eprintln!("mesh: established {established:?}, converged {converged:?}, withdrawn {:?}", t0.elapsed());
    Ok(())
}

fn netns_list() -> String {
    String::from_utf8(Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).unwrap()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| !r.starts_with(['Z', 'X'])))
}

/// A test that panics with a lab and a running peer leaves no namespace,
/// no process and no directory behind.
#[test]
#[allow(clippy::zombie_processes)] // deliberately forgotten: the lab must stop it
fn panic_cleans_up() {
    if !require_interop(&["bird"]) {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let joined = std::thread::spawn(move || {
        let lab = Lab::new("panic").unwrap().node("a").unwrap().node("b").unwrap();
        let lab = lab.link("a", "192.0.2.1/30", "b", "192.0.2.2/30").unwrap();
        let bird = Bird::start_in(
            &lab,
            "a",
            BgpConfig::new(65001, "192.0.2.1").neighbor(Neighbor::new("192.0.2.2", 65002)),
        )
        .unwrap();
        // A process the test started and forgot (no handle kept).
        let sleeper = lab.command("b", "sleep").unwrap().arg("600").spawn().unwrap();
        tx.send((lab.namespaces(), vec![bird.pid().unwrap(), sleeper.id()], lab.dir().to_path_buf()))
            .unwrap();
        panic!("deliberate panic inside a lab");
    })
    .join();
    assert!(joined.is_err(), "the thread should have panicked");
    let (namespaces, pids, dir) = rx.recv().unwrap();
    assert_eq!(namespaces.len(), 2);
    let list = netns_list();
    for ns in &namespaces {
        assert!(!list.contains(ns.as_str()), "{ns} left behind:\n{list}");
    }
    for pid in pids {
        assert!(!alive(pid), "process {pid} left behind");
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// A namespace named after a dead test process, with a `sleep` inside, and
/// a directory of the same run; `None` if it was swept away meanwhile.
fn make_leftover() -> Option<(String, std::path::PathBuf, std::process::Child)> {
    // A PID that belonged to a process which has exited.
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let ns = format!("mdct-killed-{dead_pid}-0-x");
    let dir = std::env::temp_dir().join(format!("mdct-killed-{dead_pid}-0"));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(Command::new("ip").args(["netns", "add", &ns]).status().unwrap().success());
    let target = std::fs::metadata(format!("/run/netns/{ns}")).ok()?.ino();
    let mut orphan = Command::new("ip")
        .args(["netns", "exec", &ns, "sleep", "600"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has entered the namespace (`ip netns exec` = setns + exec).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let inside =
            std::fs::metadata(format!("/proc/{}/ns/net", orphan.id())).map(|m| m.ino()).ok() == Some(target);
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", orphan.id())).unwrap_or_default();
        if inside && comm.starts_with("sleep") {
            return Some((ns, dir, orphan));
        }
        if orphan.try_wait().unwrap().is_some() || Instant::now() > deadline {
            let _ = orphan.kill();
            let _ = orphan.wait();
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Leftovers of a killed run (a namespace with a process in it, and a
/// directory, both named after a test process that is gone) are removed by
/// the next `Lab::new`.
#[test]
fn leftovers_of_killed_run_are_removed() {
    if !require_interop(&["lab"]) {
        return;
    }
    // Another harness process running at the same time may sweep the
    // leftover away first (that is the point); then make a new one.
    let (ns, dir, mut orphan) = (0..5).find_map(|_| make_leftover()).expect("could not plant a leftover");
    // A namespace of this (live) process with the same prefix must survive.
    let lab = Lab::new("killed").unwrap().node("y").unwrap();

    let list = netns_list();
    assert!(!list.contains(&ns), "leftover {ns} not removed:\n{list}");
    assert!(list.contains(&lab.ns("y")), "our own namespace must not be removed:\n{list}");
    assert!(!dir.exists(), "leftover {} not removed", dir.display());
    let deadline = Instant::now() + Duration::from_secs(5);
    while orphan.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "process in the leftover namespace still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// ExaBGP in a namespace ↔ FRR: session, routes both ways, and generic
/// attributes: an unknown optional transitive one (accepted) and a
/// COMMUNITIES with a bad length (RFC 7606 §7.8: treat-as-withdraw), which
/// FRR drops while the session and the other routes stay.
#[test]
fn exabgp_frr() -> Result<()> {
    if !require_interop(&["frr", "exabgp"]) {
        return Ok(());
    }
    let lab =
        Lab::new("exa")?.node("frr")?.node("exa")?.link("frr", "192.0.2.1/30", "exa", "192.0.2.2/30")?;
    let frr = Frr::start_in(
        &lab,
        "frr",
        BgpConfig::new(65001, "192.0.2.1")
            .neighbor(Neighbor::new("192.0.2.2", 65004))
            .network("198.51.100.0/26"),
    )?;
    let exa = ExaBgp::start_in(
        &lab,
        "exa",
        BgpConfig::new(65004, "192.0.2.2")
            .neighbor(Neighbor::new("192.0.2.1", 65001).local_address("192.0.2.2"))
            .network("203.0.113.0/26"),
    )?;
    frr.wait_established("192.0.2.2", T)?;
    exa.wait_established("192.0.2.1", T)?;
    frr.wait_route("203.0.113.0/26", T, &|r| r.next_hop == Some(ip("192.0.2.2")) && r.as_path == [65004])?;
    exa.wait_route("198.51.100.0/26", T, &|r| r.next_hop == Some(ip("192.0.2.1")) && r.as_path == [65001])?;

    exa.send("announce route 203.0.113.128/26 next-hop self attribute [ 0x08 0xc0 0x010203 ]")?;
    exa.send("announce route 203.0.113.64/26 next-hop self attribute [ 0xf0 0xc0 0x0102 ]")?;
    frr.wait_route("203.0.113.64/26", T, &|r| r.as_path == [65004])?;
    assert_eq!(frr.best_route("203.0.113.128/26")?, None, "bad community length must be treat-as-withdraw");
    assert!(frr.best_route("203.0.113.0/26")?.is_some());
    assert_eq!(frr.session_state(ip("192.0.2.2"))?, mdc_tests::SessionState::Established);
    Ok(())
}

/// A BGP message: marker, length, `kind`, `body`.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// An UPDATE from its three parts.
fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = u16::try_from(withdrawn.len()).unwrap().to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    message(2, &b)
}

/// The raw peer ↔ FRR: a hand-made UPDATE installs a route, a hand-made
/// withdrawal removes it, FRR's own UPDATE arrives at the raw peer, and an
/// UPDATE whose AS_PATH overruns the attributes gets FRR's NOTIFICATION.
#[test]
fn rawpeer_frr() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab =
        Lab::new("raw")?.node("frr")?.node("raw")?.link("frr", "192.0.2.1/30", "raw", "192.0.2.2/30")?;
    let frr = Frr::start_in(
        &lab,
        "frr",
        BgpConfig::new(65001, "192.0.2.1")
            .neighbor(Neighbor::new("192.0.2.2", 65005))
            .network("198.51.100.0/26"),
    )?;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_rawpeer"));
    let mut raw =
        RawPeer::start_in(&lab, "raw", bin, 65005, "192.0.2.2", &Neighbor::new("192.0.2.1", 65001))?;
    raw.wait_established(T)?;
    frr.wait_established("192.0.2.2", T)?;

    // FRR's route reaches the raw peer: NLRI 198.51.100.0/26 = 1a c6 33 64 00.
    raw.wait_line("FRR's UPDATE for 198.51.100.0/26", T, |l| {
        l.starts_with("recv update") && l.ends_with("1ac6336400")
    })?;

    let origin_igp = [0x40, 1, 1, 0];
    let as_path = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xed]; // AS_SEQUENCE [65005]
    let next_hop = [0x40, 3, 4, 192, 0, 2, 2];
    let attrs = [&origin_igp[..], &as_path, &next_hop].concat();
    let nlri = [26, 203, 0, 113, 0]; // 203.0.113.0/26
    raw.send(&update(&[], &attrs, &nlri))?;
    frr.wait_route("203.0.113.0/26", T, &|r| r.as_path == [65005] && r.next_hop == Some(ip("192.0.2.2")))?;
    raw.send(&update(&nlri, &[], &[]))?;
    frr.wait_no_route("203.0.113.0/26", T)?;

    // AS_PATH claims 32 bytes, but only 6 follow before NEXT_HOP.
    let bad_as_path = [0x40, 2, 32, 2, 1, 0, 0, 0xfd, 0xed];
    let attrs = [&origin_igp[..], &bad_as_path, &next_hop].concat();
    raw.send(&update(&[], &attrs, &nlri))?;
    raw.wait_line("NOTIFICATION from FRR", T, |l| l == "closed notification")?;
    let notification = raw.received("notification").pop().unwrap();
    assert_eq!(notification[19], 3, "UPDATE Message Error expected: {notification:02x?}");
    Ok(())
}
