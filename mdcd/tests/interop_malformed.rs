//! Malformed input end to end (RFC 7606): a raw BGP peer (the harness's
//! `rawpeer`, AS 65002 at 192.0.2.2) peers with mdcd (AS 65001 at
//! 192.0.2.1, IPv4 and IPv6 unicast), announces good routes, then sends one
//! malformed UPDATE built byte by byte here. Each test checks on mdcctl that
//! the session stays up or resets exactly as RFC 7606 says (for a reset, the
//! raw peer receives UPDATE Message Error 3/x), that the affected routes
//! are withdrawn (treat-as-withdraw) or kept (attribute discard), that the
//! other routes survive, and that mdcd keeps running: its API answers, later
//! UPDATEs are applied, and after a reset the peer comes back.
//!
//! Needs root (network namespaces): outside CI these tests print
//! `skipped: ...`; under `CI=true` they fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::Duration;

use mdc_tests::wire::{attr, nlri, update};
use mdc_tests::{
    BgpConfig, BgpPeer, Family, Lab, Mdcd, MdcdBinaries, Neighbor, RawPeer, Result, Route, SessionState,
    require_interop,
};

const T: Duration = Duration::from_secs(30);
const MDCD_AS: u32 = 65001;
const RAW_AS: u32 = 65002;
const MDCD_ADDR: &str = "192.0.2.1";
const RAW_ADDR: &str = "192.0.2.2";

// ---------------------------------------------------------------------------
// Binaries

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

/// The `rawpeer` binary (built once into this test's target directory).
fn rawpeer_bin() -> PathBuf {
    mdc_tests::rawpeer_binary().unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------
// Byte builders (RFC 4271 §4.3, RFC 4760 §3)

const WELL_KNOWN: u8 = 0x40; // transitive
const OPTIONAL: u8 = 0x80; // non-transitive
const OPTIONAL_TRANSITIVE: u8 = 0xc0;

const ORIGIN: u8 = 1;
const AS_PATH: u8 = 2;
const NEXT_HOP: u8 = 3;
const MED: u8 = 4;
const ATOMIC_AGGREGATE: u8 = 6;
const COMMUNITIES: u8 = 8;
const MP_REACH_NLRI: u8 = 14;

fn origin(v: u8) -> Vec<u8> {
    attr(WELL_KNOWN, ORIGIN, &[v])
}

/// AS_PATH with one AS_SEQUENCE of 4-octet ASNs (4-octet AS is negotiated).
fn as_path(asns: &[u32]) -> Vec<u8> {
    let mut v = vec![2, u8::try_from(asns.len()).unwrap()];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    attr(WELL_KNOWN, AS_PATH, &v)
}

fn next_hop(ip: [u8; 4]) -> Vec<u8> {
    attr(WELL_KNOWN, NEXT_HOP, &ip)
}

fn med(v: u32) -> Vec<u8> {
    attr(OPTIONAL, MED, &v.to_be_bytes())
}

fn communities(cs: &[(u16, u16)]) -> Vec<u8> {
    let v: Vec<u8> = cs.iter().flat_map(|(a, b)| [a.to_be_bytes(), b.to_be_bytes()].concat()).collect();
    attr(OPTIONAL_TRANSITIVE, COMMUNITIES, &v)
}

/// MP_REACH_NLRI for IPv6 unicast: next hop (its length taken as given,
/// so tests can break it) and NLRI.
fn mp_reach_v6(nh: &[u8], prefixes: &[&str]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, u8::try_from(nh.len()).unwrap()];
    v.extend_from_slice(nh);
    v.push(0); // reserved
    v.extend_from_slice(&nlri(prefixes));
    attr(OPTIONAL | 0x10, MP_REACH_NLRI, &v)
}

const RAW_NH: [u8; 4] = [192, 0, 2, 2];

fn raw_nh6() -> [u8; 16] {
    "2001:db8:1::2".parse::<std::net::Ipv6Addr>().unwrap().octets()
}

/// Good IPv4 attributes: ORIGIN IGP, AS_PATH `path`, NEXT_HOP 192.0.2.2,
/// MED `m`, COMMUNITIES 65002:1.
fn good_attrs(path: &[u32], m: u32) -> Vec<Vec<u8>> {
    vec![origin(0), as_path(path), next_hop(RAW_NH), med(m), communities(&[(65002, 1)])]
}

/// A well-formed UPDATE announcing IPv4 `prefixes`.
fn good_v4(prefixes: &[&str], m: u32) -> Vec<u8> {
    update(&[], &good_attrs(&[RAW_AS], m), &nlri(prefixes))
}

/// A well-formed UPDATE announcing IPv6 `prefixes` in MP_REACH_NLRI.
fn good_v6(prefixes: &[&str]) -> Vec<u8> {
    update(&[], &[origin(0), as_path(&[RAW_AS]), mp_reach_v6(&raw_nh6(), prefixes)], &[])
}

// ---------------------------------------------------------------------------
// The lab

// Baseline routes, announced before every malformed UPDATE.
const A: &str = "198.51.100.0/26"; // with B in one UPDATE, MED 10
const B: &str = "203.0.113.0/26"; // with A in one UPDATE, MED 10
const C: &str = "198.51.100.64/26"; // alone, AS path 65002 64500, MED 20
const V6: &str = "2001:db8:200::/48"; // alone, MP_REACH_NLRI
/// Announced after the malformed UPDATE: when it shows up, mdcd has
/// processed everything before it (one TCP stream, in order).
const SENTINEL: &str = "203.0.113.128/26";

/// Fields drop in order: the peers before the lab.
struct Setup {
    raw: RawPeer,
    mdcd: Mdcd,
    lab: Lab,
}

/// mdcd and the raw peer on one LAN (a spare node `rawb` takes the raw
/// peer's address over to reconnect after a reset), session up, the
/// baseline routes announced and seen on mdcctl.
fn setup(short: &str) -> Result<Setup> {
    let lab = Lab::new(short)?
        .node("mdcd")?
        .node("raw")?
        .node("rawb")?
        .lan("lan", &[("mdcd", "192.0.2.1/24"), ("raw", "192.0.2.2/24"), ("rawb", "")])?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(MDCD_AS, MDCD_ADDR)
            .neighbor(Neighbor::new(RAW_ADDR, RAW_AS).families(&[Family::Ipv4Unicast, Family::Ipv6Unicast])),
    )?;
    let raw = start_raw(&lab, "raw", &mdcd)?;
    let mut s = Setup { raw, mdcd, lab };
    s.raw.send(&good_v4(&[A, B], 10))?;
    s.raw.send(&update(&[], &good_attrs(&[RAW_AS, 64500], 20), &nlri(&[C])))?;
    s.raw.send(&good_v6(&[V6]))?;
    let r = s.mdcd.wait_route(A, T, &|_| true)?;
    assert_eq!(r.as_path, [RAW_AS], "{r:?}");
    assert_eq!(r.next_hop, Some(RAW_ADDR.parse().unwrap()), "{r:?}");
    assert_eq!(r.med, Some(10), "{r:?}");
    assert_eq!(r.communities, ["65002:1"], "{r:?}");
    s.mdcd.wait_route(B, T, &|r| r.med == Some(10))?;
    s.mdcd.wait_route(C, T, &|r| r.as_path == [RAW_AS, 64500] && r.med == Some(20))?;
    let r = s.mdcd.wait_route(V6, T, &|_| true)?;
    assert_eq!(r.next_hop, Some("2001:db8:1::2".parse().unwrap()), "{r:?}");
    Ok(s)
}

fn start_raw(lab: &Lab, node: &str, mdcd: &Mdcd) -> Result<RawPeer> {
    let raw =
        RawPeer::start_in(lab, node, &rawpeer_bin(), RAW_AS, RAW_ADDR, &Neighbor::new(MDCD_ADDR, MDCD_AS))?;
    raw.wait_established(T)?;
    mdcd.wait_established(RAW_ADDR, T)?;
    Ok(raw)
}

impl Setup {
    fn route(&self, prefix: &str) -> Route {
        self.mdcd.best_route(prefix).unwrap().unwrap_or_else(|| panic!("{prefix} is gone from mdcd"))
    }

    fn assert_absent(&self, prefix: &str, why: &str) {
        assert_eq!(self.mdcd.best_route(prefix).unwrap(), None, "{prefix}: {why}");
    }

    /// The session stayed up: a later good UPDATE is applied, mdcd still
    /// reports Established, and the raw peer got no NOTIFICATION.
    fn assert_still_up(&mut self) -> Result<()> {
        self.raw.send(&good_v4(&[SENTINEL], 99))?;
        self.mdcd.wait_route(SENTINEL, T, &|r| r.med == Some(99))?;
        assert_eq!(self.mdcd.session_state(RAW_ADDR.parse().unwrap())?, SessionState::Established);
        assert!(self.raw.received("notification").is_empty(), "no NOTIFICATION: {:?}", self.raw.lines());
        assert!(!self.raw.lines().iter().any(|l| l.starts_with("closed")), "{:?}", self.raw.lines());
        Ok(())
    }

    /// The routes that `assert` says must be unaffected still are.
    fn assert_baseline(&self, prefixes: &[&str]) {
        for p in prefixes {
            let r = self.route(p);
            let (path, m): (Vec<u32>, u32) = match *p {
                A | B => (vec![RAW_AS], 10),
                C => (vec![RAW_AS, 64500], 20),
                other => panic!("{other} is not a baseline route"),
            };
            assert_eq!((&r.as_path, r.med), (&path, Some(m)), "{p} must be unchanged: {r:?}");
        }
    }

    /// mdcd's log lines about malformed UPDATEs (the speaker logs every
    /// RFC 7606 diagnostic with its outcome).
    fn malformed_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.mdcd.dir().join("mdcd.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("UPDATE not taken as sent"))
            .map(str::to_string)
            .collect()
    }

    /// Treat-as-withdraw: `gone` were withdrawn, everything else is kept,
    /// the session stays up.
    fn expect_treat_as_withdraw(&mut self, gone: &[&str]) -> Result<()> {
        self.assert_still_up()?;
        for p in gone {
            self.assert_absent(p, "treat-as-withdraw removes the route");
        }
        let kept: Vec<&str> = [A, B, C].into_iter().filter(|p| !gone.contains(p)).collect();
        self.assert_baseline(&kept);
        assert!(self.mdcd.best_route(V6)?.is_some(), "IPv6 routes are untouched");
        let log = self.malformed_log();
        assert!(
            log.iter().any(|l| l.contains("outcome=treat-as-withdraw")),
            "mdcd logs the outcome: {log:?}"
        );
        Ok(())
    }

    /// Session reset: the raw peer receives NOTIFICATION `code`/`subcode`
    /// (returned with its data), mdcd drops the session and every route of
    /// the peer, keeps running, and the peer can come back.
    fn expect_reset(&mut self, code: u8, subcode: u8) -> Result<Vec<u8>> {
        self.raw.wait_line("NOTIFICATION from mdcd", T, |l| l.starts_with("recv notification "))?;
        let n = self.raw.received("notification").remove(0);
        assert_eq!((n[19], n[20]), (code, subcode), "NOTIFICATION code/subcode: {n:02x?}");
        let data = n[21..].to_vec();
        self.raw.wait_line("connection closed", T, |l| l.starts_with("closed"))?;
        // The peer's routes are gone (no graceful restart was negotiated).
        for p in [A, B, C, V6] {
            self.mdcd.wait_no_route(p, T)?;
        }
        // mdcd is alive and its API answers.
        let state = self.mdcd.session_state(RAW_ADDR.parse().unwrap())?;
        assert_ne!(state, SessionState::Established, "the session was reset");
        // The same peer address comes back from the spare node.
        self.raw.stop();
        self.lab.exec("raw", &["ip", "addr", "del", "192.0.2.2/24", "dev", "lan"])?;
        self.lab.exec("rawb", &["ip", "addr", "add", "192.0.2.2/24", "dev", "lan"])?;
        self.lab.exec("mdcd", &["ip", "neigh", "flush", "dev", "lan"])?;
        self.raw = start_raw(&self.lab, "rawb", &self.mdcd)?;
        self.raw.send(&good_v4(&[SENTINEL], 99))?;
        self.mdcd.wait_route(SENTINEL, T, &|r| r.med == Some(99) && r.as_path == [RAW_AS])?;
        Ok(data)
    }
}

// ---------------------------------------------------------------------------
// Treat-as-withdraw

/// RFC 7606 §7.1: an ORIGIN value other than 0, 1 or 2 is treat-as-withdraw.
/// A is re-announced with ORIGIN 3: A goes, B (announced with it before)
/// and C stay.
#[test]
fn bad_origin_value_withdraws() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mforigin")?;
    let mut attrs = good_attrs(&[RAW_AS], 11);
    attrs[0] = origin(3);
    s.raw.send(&update(&[], &attrs, &nlri(&[A])))?;
    s.expect_treat_as_withdraw(&[A])
}

/// RFC 7606 §7.2: an AS_PATH segment whose length overruns the attribute
/// (3 ASNs announced, 1 present) is treat-as-withdraw. Re-announces B.
#[test]
fn as_path_segment_overrun_withdraws() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfaspath")?;
    let mut attrs = good_attrs(&[RAW_AS], 11);
    attrs[1] = attr(WELL_KNOWN, AS_PATH, &[2, 3, 0, 0, 0xfd, 0xea]);
    s.raw.send(&update(&[], &attrs, &nlri(&[B])))?;
    s.expect_treat_as_withdraw(&[B])
}

/// RFC 7606 §7.3: a NEXT_HOP whose length is not 4 is treat-as-withdraw.
/// Re-announces C with a 5-octet NEXT_HOP.
#[test]
fn bad_next_hop_length_withdraws() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfnexthop")?;
    let mut attrs = good_attrs(&[RAW_AS], 11);
    attrs[2] = attr(WELL_KNOWN, NEXT_HOP, &[192, 0, 2, 2, 0]);
    s.raw.send(&update(&[], &attrs, &nlri(&[C])))?;
    s.expect_treat_as_withdraw(&[C])
}

/// RFC 7606 §7.8: a COMMUNITIES length that is not a non-zero multiple of 4
/// is treat-as-withdraw. Re-announces A and B together with 5 octets of
/// communities: both go, C stays.
#[test]
fn bad_communities_length_withdraws() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfcomm")?;
    let mut attrs = good_attrs(&[RAW_AS], 11);
    attrs[4] = attr(OPTIONAL_TRANSITIVE, COMMUNITIES, &[0xfd, 0xea, 0, 1, 7]);
    s.raw.send(&update(&[], &attrs, &nlri(&[A, B])))?;
    s.expect_treat_as_withdraw(&[A, B])
}

/// RFC 7606 §4: an attribute whose length runs past the end of the path
/// attributes (the last one, NEXT_HOP, claims 9 octets; 4 follow) while the
/// Total Path Attribute Length is consistent with the message: the NLRI can
/// still be found, so treat-as-withdraw. Re-announces A.
#[test]
fn attribute_list_overrun_withdraws() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfoverrun")?;
    let mut broken = next_hop(RAW_NH);
    broken[2] = 9;
    s.raw.send(&update(&[], &[origin(0), as_path(&[RAW_AS]), broken], &nlri(&[A])))?;
    s.expect_treat_as_withdraw(&[A])
}

/// RFC 7606 §3 d: a missing well-known mandatory attribute (NEXT_HOP, with
/// classic NLRI present) is treat-as-withdraw. Re-announces B without it.
#[test]
fn missing_next_hop_withdraws() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfnonh")?;
    s.raw.send(&update(&[], &[origin(0), as_path(&[RAW_AS]), med(11)], &nlri(&[B])))?;
    s.expect_treat_as_withdraw(&[B])
}

// ---------------------------------------------------------------------------
// Attribute discard and accepted attributes

/// RFC 7606 §7.6: an ATOMIC_AGGREGATE whose length is not 0 is discarded
/// (attribute discard); the route itself is applied. C is re-announced with
/// MED 50 and a 1-octet ATOMIC_AGGREGATE: C now has MED 50, nothing is
/// withdrawn, the session stays up, and mdcd logs the discard.
#[test]
fn bad_atomic_aggregate_length_is_discarded() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfatomic")?;
    let mut attrs = good_attrs(&[RAW_AS, 64500], 50);
    attrs.push(attr(WELL_KNOWN, ATOMIC_AGGREGATE, &[1]));
    s.raw.send(&update(&[], &attrs, &nlri(&[C])))?;
    s.assert_still_up()?;
    let r = s.route(C);
    assert_eq!((r.med, &r.as_path), (Some(50), &vec![RAW_AS, 64500]), "C kept and updated: {r:?}");
    assert_eq!(r.communities, ["65002:1"], "the good attributes stay: {r:?}");
    s.assert_baseline(&[A, B]);
    let log = s.malformed_log();
    assert!(
        log.iter()
            .any(|l| l.contains("outcome=attribute discard") && !l.contains("outcome=treat-as-withdraw")),
        "mdcd logs an attribute discard: {log:?}"
    );
    Ok(())
}

/// RFC 7606 §3 g: all but the first occurrence of a repeated attribute
/// (other than MP_REACH/MP_UNREACH) are discarded. A is re-announced with
/// MED 30 then MED 40: A has MED 30.
#[test]
fn repeated_med_keeps_the_first() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfmed")?;
    let mut attrs = good_attrs(&[RAW_AS], 30);
    attrs.push(med(40));
    s.raw.send(&update(&[], &attrs, &nlri(&[A])))?;
    s.assert_still_up()?;
    let r = s.route(A);
    assert_eq!(r.med, Some(30), "the first MED wins: {r:?}");
    s.assert_baseline(&[B, C]);
    let log = s.malformed_log();
    assert!(log.iter().any(|l| l.contains("outcome=attribute discard")), "mdcd logs the discard: {log:?}");
    Ok(())
}

/// RFC 4271 §5 / RFC 7606 (no error): an unrecognised optional transitive
/// attribute is accepted and kept (to be passed on with Partial set). A new
/// prefix with attribute type 99 is installed with its other attributes, and
/// mdcd reports no malformation.
#[test]
fn unknown_optional_transitive_is_accepted() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfunknown")?;
    let mut attrs = good_attrs(&[RAW_AS], 60);
    attrs.push(attr(OPTIONAL_TRANSITIVE, 99, &[1, 2, 3]));
    s.raw.send(&update(&[], &attrs, &nlri(&["198.51.100.128/26"])))?;
    s.assert_still_up()?;
    let r = s.route("198.51.100.128/26");
    assert_eq!((r.med, &r.as_path, &r.communities), (Some(60), &vec![RAW_AS], &vec!["65002:1".to_string()]));
    s.assert_baseline(&[A, B, C]);
    assert!(s.malformed_log().is_empty(), "not a malformation: {:?}", s.malformed_log());
    Ok(())
}

// ---------------------------------------------------------------------------
// AFI/SAFI disable

/// RFC 7606 §7.11 and RFC 4760 §7: an MP_REACH_NLRI with a next-hop length
/// invalid for IPv6 (5) disables IPv6 unicast for the session (ADR 0003):
/// every IPv6 route of the peer is withdrawn, later IPv6 routes are ignored,
/// the IPv4 routes in the same UPDATE are applied, and the session stays up
/// because IPv4 unicast is still negotiated.
#[test]
fn bad_mp_reach_next_hop_length_disables_ipv6() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfmpnh")?;
    let attrs = vec![
        origin(0),
        as_path(&[RAW_AS]),
        next_hop(RAW_NH),
        med(70),
        mp_reach_v6(&[0x20, 0x01, 0x0d, 0xb8, 1], &["2001:db8:300::/48"]),
    ];
    s.raw.send(&update(&[], &attrs, &nlri(&["198.51.100.128/26"])))?;
    s.raw.send(&good_v6(&["2001:db8:400::/48"]))?;
    s.assert_still_up()?;
    let r = s.route("198.51.100.128/26");
    assert_eq!(r.med, Some(70), "IPv4 NLRI of the same UPDATE applied: {r:?}");
    for p in [V6, "2001:db8:300::/48", "2001:db8:400::/48"] {
        s.assert_absent(p, "IPv6 unicast is disabled for the session");
    }
    assert!(s.mdcd.routes(Family::Ipv6Unicast)?.is_empty());
    s.assert_baseline(&[A, B, C]);
    let log = s.malformed_log();
    assert!(log.iter().any(|l| l.contains("outcome=AFI/SAFI disable")), "mdcd logs the outcome: {log:?}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Session reset

/// RFC 4271 §6.3 (RFC 7606 leaves it; ADR 0003): an unrecognised well-known
/// attribute (Optional bit clear) resets with UPDATE Message Error /
/// Unrecognized Well-known Attribute (3/2), the attribute as data.
#[test]
fn unknown_well_known_attribute_resets() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfwellknown")?;
    let bad = attr(WELL_KNOWN, 99, &[1, 2]);
    let mut attrs = good_attrs(&[RAW_AS], 11);
    attrs.push(bad.clone());
    s.raw.send(&update(&[], &attrs, &nlri(&[A])))?;
    let data = s.expect_reset(3, 2)?;
    assert_eq!(data, bad, "the data is the unrecognised attribute");
    Ok(())
}

/// RFC 7606 §3 g: MP_REACH_NLRI appearing more than once resets the
/// session: UPDATE Message Error / Malformed Attribute List (3/1).
#[test]
fn duplicate_mp_reach_resets() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfdupmp")?;
    let nh = raw_nh6();
    let attrs = vec![
        origin(0),
        as_path(&[RAW_AS]),
        mp_reach_v6(&nh, &["2001:db8:300::/48"]),
        mp_reach_v6(&nh, &["2001:db8:400::/48"]),
    ];
    s.raw.send(&update(&[], &attrs, &[]))?;
    s.expect_reset(3, 1)?;
    Ok(())
}

/// RFC 7606 §5.3 / RFC 4271 §6.3: an NLRI prefix length over 32 cannot be
/// parsed (the rest of the field cannot be found): session reset with
/// UPDATE Message Error / Invalid Network Field (3/10).
#[test]
fn bad_nlri_prefix_length_resets() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut s = setup("mfnlri")?;
    let mut n = nlri(&[B]);
    n.extend_from_slice(&[33, 198, 51, 100, 0, 0]);
    s.raw.send(&update(&[], &good_attrs(&[RAW_AS], 11), &n))?;
    s.expect_reset(3, 10)?;
    Ok(())
}
