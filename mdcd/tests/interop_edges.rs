//! Issue 13, "correct at the edges", end to end: what mdcd accepts from an
//! eBGP peer and what it passes on. Each test builds one lab:
//!
//! ```text
//!  up (raw peer, AS 65002)         mdcd (AS 65001)              down (raw peer, AS 65003)
//!  192.0.2.2/24   ---------------  192.0.2.1 | 198.51.100.1  ---  198.51.100.2/30
//! ```
//!
//! The UPSTREAM raw peer sends UPDATEs built byte by byte here; the
//! DOWNSTREAM raw peer only records what mdcd sends it, and the test parses
//! those bytes (attribute flags included). mdcd runs with RFC 8212 on
//! (`ebgp-requires-policy = true`): an accept-all import policy on the
//! upstream and an accept-all export policy towards the downstream; the
//! tests of what is passed on run again with an export policy that has a
//! term, which makes mdcd export through its typed attributes rather than
//! copy the encoded set.
//!
//! Each test checks mdcd's Loc-RIB through mdcctl (the route present or
//! absent, its attributes), what the downstream holds (announced or
//! withdrawn, attributes, flags), and that both sessions stay up. The cases
//! of a class run in one lab and are all checked before the test fails, so
//! a failure lists every case that went wrong.
//!
//! Ordering: after an UPDATE under test, the upstream re-announces a
//! sentinel prefix with a new community; once mdcd's RIB and the
//! downstream show that community, mdcd has processed and flushed what
//! came before (one TCP stream in, one out), so "never passed on" needs no
//! guessed wait: only a short settle for the other messages of the
//! sentinel's flush, which mdcd may write just after it.
//!
//! Needs root (network namespaces): outside CI these tests print
//! `skipped: ...`; under `CI=true` they fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use mdc_tests::wire::{attr, nlri, update};
use mdc_tests::{
    BgpConfig, BgpPeer, Check, Family, Lab, Mdcd, MdcdBinaries, Neighbor, RawPeer, Result, SessionState,
    require_interop, wait_until,
};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
/// Left after the sentinel shows up downstream, for messages of the same
/// flush that the writer may have queued after it.
const SETTLE: Duration = Duration::from_millis(300);

const MDCD_AS: u32 = 65001;
const UP_AS: u32 = 65002;
const DOWN_AS: u32 = 65003;
const MDCD_UP: &str = "192.0.2.1"; // mdcd's address towards the upstream (and its router id)
const UP: &str = "192.0.2.2";
const MDCD_DOWN: &str = "198.51.100.1";
const DOWN: &str = "198.51.100.2";
/// 2-octet AS_PATH placeholder for a 4-octet AS (RFC 6793).
const AS_TRANS: u32 = 23456;

/// Announced before every sync with a new community (see the module doc).
const SENTINEL: &str = "203.0.113.224/27";

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

// Attribute flags (RFC 4271 §4.3).
const OPTIONAL: u8 = 0x80;
const TRANSITIVE: u8 = 0x40;
const PARTIAL: u8 = 0x20;
const EXTENDED_LENGTH: u8 = 0x10;
const WELL_KNOWN: u8 = TRANSITIVE;
const OPTIONAL_TRANSITIVE: u8 = OPTIONAL | TRANSITIVE;

// Attribute type codes.
const ORIGIN: u8 = 1;
const AS_PATH: u8 = 2;
const NEXT_HOP: u8 = 3;
const LOCAL_PREF: u8 = 5;
const ATOMIC_AGGREGATE: u8 = 6;
const AGGREGATOR: u8 = 7;
const COMMUNITIES: u8 = 8;
const ORIGINATOR_ID: u8 = 9;
const CLUSTER_LIST: u8 = 10;
const MP_REACH_NLRI: u8 = 14;
const MP_UNREACH_NLRI: u8 = 15;
const AS4_AGGREGATOR: u8 = 18;

// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3).
const AS_SET: u8 = 1;
const AS_SEQUENCE: u8 = 2;
const AS_CONFED_SEQUENCE: u8 = 3;
const AS_CONFED_SET: u8 = 4;

fn origin(v: u8) -> Vec<u8> {
    attr(WELL_KNOWN, ORIGIN, &[v])
}

/// AS_PATH from segments `(type, ASNs)`, each ASN `width` (2 or 4) octets.
fn as_path_segments(width: usize, segments: &[(u8, &[u32])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (kind, asns) in segments {
        v.push(*kind);
        v.push(u8::try_from(asns.len()).unwrap());
        for a in *asns {
            match width {
                2 => v.extend_from_slice(&u16::try_from(*a).unwrap().to_be_bytes()),
                _ => v.extend_from_slice(&a.to_be_bytes()),
            }
        }
    }
    attr(WELL_KNOWN, AS_PATH, &v)
}

/// AS_PATH with one AS_SEQUENCE of 4-octet ASNs (none: an empty AS_PATH).
fn as_path(asns: &[u32]) -> Vec<u8> {
    if asns.is_empty() { attr(WELL_KNOWN, AS_PATH, &[]) } else { as_path_segments(4, &[(AS_SEQUENCE, asns)]) }
}

fn next_hop(ip: &str) -> Vec<u8> {
    attr(WELL_KNOWN, NEXT_HOP, &ip.parse::<Ipv4Addr>().unwrap().octets())
}

fn local_pref(v: u32) -> Vec<u8> {
    attr(WELL_KNOWN, LOCAL_PREF, &v.to_be_bytes())
}

fn atomic_aggregate() -> Vec<u8> {
    attr(WELL_KNOWN, ATOMIC_AGGREGATE, &[])
}

/// AGGREGATOR as a 4-octet AS session carries it: AS (4 octets), address.
fn aggregator(asn: u32, ip: &str) -> Vec<u8> {
    let mut v = asn.to_be_bytes().to_vec();
    v.extend_from_slice(&ip.parse::<Ipv4Addr>().unwrap().octets());
    attr(OPTIONAL_TRANSITIVE, AGGREGATOR, &v)
}

/// AGGREGATOR as a 2-octet AS session carries it: AS (2 octets), address.
fn aggregator2(asn: u16, ip: &str) -> Vec<u8> {
    let mut v = asn.to_be_bytes().to_vec();
    v.extend_from_slice(&ip.parse::<Ipv4Addr>().unwrap().octets());
    attr(OPTIONAL_TRANSITIVE, AGGREGATOR, &v)
}

/// AS4_AGGREGATOR (RFC 6793 §3): AS (4 octets), address.
fn as4_aggregator(asn: u32, ip: &str) -> Vec<u8> {
    let mut v = asn.to_be_bytes().to_vec();
    v.extend_from_slice(&ip.parse::<Ipv4Addr>().unwrap().octets());
    attr(OPTIONAL_TRANSITIVE, AS4_AGGREGATOR, &v)
}

fn communities(cs: &[(u16, u16)]) -> Vec<u8> {
    let v: Vec<u8> = cs.iter().flat_map(|(a, b)| [a.to_be_bytes(), b.to_be_bytes()].concat()).collect();
    attr(OPTIONAL_TRANSITIVE, COMMUNITIES, &v)
}

fn originator_id(ip: &str) -> Vec<u8> {
    attr(OPTIONAL, ORIGINATOR_ID, &ip.parse::<Ipv4Addr>().unwrap().octets())
}

fn cluster_list(ids: &[&str]) -> Vec<u8> {
    let v: Vec<u8> = ids.iter().flat_map(|i| i.parse::<Ipv4Addr>().unwrap().octets()).collect();
    attr(OPTIONAL, CLUSTER_LIST, &v)
}

/// MP_REACH_NLRI for IPv6 unicast with next hop `nh` and NLRI.
fn mp_reach_v6(nh: &str, prefixes: &[&str]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, 16];
    v.extend_from_slice(&nh.parse::<Ipv6Addr>().unwrap().octets());
    v.push(0); // reserved
    v.extend_from_slice(&nlri(prefixes));
    attr(OPTIONAL | EXTENDED_LENGTH, MP_REACH_NLRI, &v)
}

/// MP_UNREACH_NLRI for IPv6 unicast with withdrawn-routes bytes as given
/// (so tests can break them).
fn mp_unreach_v6_raw(withdrawn: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1];
    v.extend_from_slice(withdrawn);
    attr(OPTIONAL | EXTENDED_LENGTH, MP_UNREACH_NLRI, &v)
}

const UP_NH6: &str = "2001:db8:1::2";

// ---------------------------------------------------------------------------
// Parsing what the downstream received (mdcd → AS 65003: 4-octet AS, no
// ADD-PATH)

#[derive(Debug, Clone, PartialEq, Eq)]
struct Attr {
    flags: u8,
    code: u8,
    value: Vec<u8>,
}

impl Attr {
    /// The flags without Extended Length (an encoding choice).
    fn flags(&self) -> u8 {
        self.flags & !EXTENDED_LENGTH
    }
}

/// One UPDATE: prefixes withdrawn and announced (classic and MP), and its
/// path attributes.
#[derive(Debug, Clone)]
struct Received {
    withdrawn: Vec<String>,
    announced: Vec<String>,
    attrs: Vec<Attr>,
}

/// NLRI bytes ("len, prefix octets" repeated) as "addr/len" strings.
fn parse_prefixes(mut b: &[u8], v6: bool) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = b.split_first() {
        let n = usize::from(len).div_ceil(8);
        let (bytes, rest) = rest.split_at(n);
        let addr: IpAddr = if v6 {
            let mut o = [0u8; 16];
            o[..n].copy_from_slice(bytes);
            Ipv6Addr::from(o).into()
        } else {
            let mut o = [0u8; 4];
            o[..n].copy_from_slice(bytes);
            Ipv4Addr::from(o).into()
        };
        out.push(format!("{addr}/{len}"));
        b = rest;
    }
    out
}

fn parse_update(m: &[u8]) -> Received {
    let body = &m[19..];
    let wlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let mut withdrawn = parse_prefixes(&body[2..2 + wlen], false);
    let alen = usize::from(u16::from_be_bytes([body[2 + wlen], body[3 + wlen]]));
    let mut a = &body[4 + wlen..4 + wlen + alen];
    let mut announced = parse_prefixes(&body[4 + wlen + alen..], false);
    let mut attrs = Vec::new();
    while a.len() >= 3 {
        let (flags, code) = (a[0], a[1]);
        let (len, hdr) = if flags & EXTENDED_LENGTH != 0 {
            (usize::from(u16::from_be_bytes([a[2], a[3]])), 4)
        } else {
            (usize::from(a[2]), 3)
        };
        let value = a[hdr..hdr + len].to_vec();
        a = &a[hdr + len..];
        let v6 = value.get(..3) == Some(&[0, 2, 1][..]);
        match code {
            MP_REACH_NLRI => {
                let nh_len = usize::from(value[3]);
                let v4 = value.get(..3) == Some(&[0, 1, 1][..]);
                if v6 || v4 {
                    announced.extend(parse_prefixes(&value[5 + nh_len..], v6));
                }
            }
            MP_UNREACH_NLRI if v6 => withdrawn.extend(parse_prefixes(&value[3..], true)),
            _ => {}
        }
        attrs.push(Attr { flags, code, value });
    }
    Received { withdrawn, announced, attrs }
}

fn find(attrs: &[Attr], code: u8) -> Option<&Attr> {
    attrs.iter().find(|a| a.code == code)
}

/// The segments of a 4-octet AS_PATH value.
fn parse_as_path(mut v: &[u8]) -> Vec<(u8, Vec<u32>)> {
    let mut out = Vec::new();
    while v.len() >= 2 {
        let (kind, n) = (v[0], usize::from(v[1]));
        let asns = v[2..2 + 4 * n].chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();
        out.push((kind, asns));
        v = &v[2 + 4 * n..];
    }
    out
}

/// The AS_PATH the downstream got, as one list of ASNs (any segment type).
fn downstream_path(attrs: &[Attr]) -> Vec<u32> {
    find(attrs, AS_PATH)
        .map(|a| parse_as_path(&a.value).into_iter().flat_map(|(_, s)| s).collect())
        .unwrap_or_default()
}

fn downstream_communities(attrs: &[Attr]) -> Vec<(u16, u16)> {
    find(attrs, COMMUNITIES)
        .map(|a| {
            a.value
                .chunks(4)
                .map(|c| (u16::from_be_bytes([c[0], c[1]]), u16::from_be_bytes([c[2], c[3]])))
                .collect()
        })
        .unwrap_or_default()
}

/// AGGREGATOR (4-octet form, as mdcd sends it to a 4-octet peer): AS, address.
fn downstream_aggregator(attrs: &[Attr]) -> Option<(u32, Ipv4Addr)> {
    let a = find(attrs, AGGREGATOR)?;
    let v = &a.value;
    (v.len() == 8)
        .then(|| (u32::from_be_bytes([v[0], v[1], v[2], v[3]]), Ipv4Addr::new(v[4], v[5], v[6], v[7])))
}

// ---------------------------------------------------------------------------
// The lab

/// Fields drop in order: the peers before the lab.
struct Edges {
    up: RawPeer,
    down: RawPeer,
    mdcd: Mdcd,
    /// Kept for its drop (namespaces removed, logs printed on panic).
    _lab: Lab,
    /// ASN width on the upstream session: 4, or 2 with `--two-octet-as`.
    width: usize,
    /// Sync rounds so far (the sentinel's community is 65002:<round>).
    syncs: u16,
}

/// What each test varies.
#[derive(Default)]
struct Options<'a> {
    /// Extra `key = value` lines for the upstream's `[[peer]]`.
    up_peer_lines: &'a [&'a str],
    /// The upstream is an "OLD" speaker (no 4-octet AS capability).
    two_octet: bool,
    /// The export policy towards the downstream is one with a term
    /// (`EXPORT_TYPED`), not accept-all: mdcd then exports through its
    /// typed attributes instead of copying the encoded set.
    typed_export: bool,
}

/// `accept-all` accepts everything; `not-all` too, but through a term that
/// matches none of the test's routes, so mdcd cannot skip it.
const POLICY: &str = "\n[policy.accept-all]\ndefault = \"accept\"\n\
    \n[policy.not-all]\ndefault = \"accept\"\n[[policy.not-all.term]]\n\
    match = { community = [\"64999:1\"] }\naction = \"reject\"\n";
const EXPORT_TYPED: &str = "export = \"not-all\"";

/// The lab of the module doc, both sessions up (IPv4 and IPv6 unicast).
fn setup(short: &str, o: &Options) -> Result<Edges> {
    let lab = Lab::new(short)?
        .node("mdcd")?
        .node("up")?
        .node("down")?
        .link("mdcd", "192.0.2.1/24 2001:db8:1::1/64", "up", "192.0.2.2/24 2001:db8:1::2/64")?
        .link("mdcd", "198.51.100.1/30 2001:db8:2::1/64", "down", "198.51.100.2/30 2001:db8:2::2/64")?;
    let families = [Family::Ipv4Unicast, Family::Ipv6Unicast];
    let mut mdcd = Mdcd::new(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(MDCD_AS, MDCD_UP)
            .neighbor(Neighbor::new(UP, UP_AS).families(&families))
            .neighbor(Neighbor::new(DOWN, DOWN_AS).families(&families)),
    )?
    .bgp_option("ebgp-requires-policy = true")
    .peer_option(UP, "import = \"accept-all\"")
    .peer_option(DOWN, if o.typed_export { EXPORT_TYPED } else { "export = \"accept-all\"" })
    .extra_config(POLICY);
    for line in o.up_peer_lines {
        mdcd = mdcd.peer_option(UP, line);
    }
    // A config mdcd refuses (e.g. a key it does not know yet) ends the
    // test here: say what mdcd said.
    if let Err(e) = mdcd.start() {
        return Err(e.context(format!("mdcd did not start; its log:\n{}", mdcd.log_tail(10))));
    }
    let up_args: &[&str] = if o.two_octet { &["--two-octet-as"] } else { &[] };
    let up = RawPeer::start_with_args(
        &lab,
        "up",
        &rawpeer_bin(),
        UP_AS,
        UP,
        &Neighbor::new(MDCD_UP, MDCD_AS),
        up_args,
    )?;
    let down =
        RawPeer::start_in(&lab, "down", &rawpeer_bin(), DOWN_AS, DOWN, &Neighbor::new(MDCD_DOWN, MDCD_AS))?;
    for (raw, addr) in [(&up, UP), (&down, DOWN)] {
        raw.wait_established(T)?;
        mdcd.wait_established(addr, T)?;
    }
    Ok(Edges { up, down, mdcd, _lab: lab, width: if o.two_octet { 2 } else { 4 }, syncs: 0 })
}

impl Edges {
    fn send(&mut self, m: &[u8]) {
        self.up.send(m).unwrap();
    }

    /// AS_PATH with one AS_SEQUENCE in the upstream session's width.
    fn path(&self, asns: &[u32]) -> Vec<u8> {
        as_path_segments(self.width, &[(AS_SEQUENCE, asns)])
    }

    /// Good IPv4 attributes: ORIGIN IGP, AS_PATH 65002, NEXT_HOP 192.0.2.2,
    /// COMMUNITIES 65002:`tag`.
    fn good_attrs(&self, tag: u16) -> Vec<Vec<u8>> {
        vec![origin(0), self.path(&[UP_AS]), next_hop(UP), communities(&[(65002, tag)])]
    }

    /// Announce IPv4 `prefix` with `attrs`.
    fn announce(&mut self, prefix: &str, attrs: &[Vec<u8>]) {
        self.send(&update(&[], attrs, &nlri(&[prefix])));
    }

    /// Announce `prefix` (IPv4 or IPv6) well-formed, tagged 65002:`tag`, and
    /// wait until mdcd holds it and the downstream has it from mdcd.
    fn announce_good(&mut self, prefix: &str, tag: u16) -> Result<()> {
        if prefix.contains(':') {
            let attrs = vec![
                origin(0),
                self.path(&[UP_AS]),
                communities(&[(65002, tag)]),
                mp_reach_v6(UP_NH6, &[prefix]),
            ];
            self.send(&update(&[], &attrs, &[]));
        } else {
            let attrs = self.good_attrs(tag);
            self.announce(prefix, &attrs);
        }
        let want = format!("65002:{tag}");
        self.mdcd.wait_route(prefix, T, &|r| r.as_path == [UP_AS] && r.communities == [want.clone()])?;
        self.wait_downstream(prefix, "announced with its tag", |a| {
            a.is_some_and(|a| {
                downstream_communities(a) == [(65002, tag)] && downstream_path(a) == [MDCD_AS, UP_AS]
            })
        })?;
        Ok(())
    }

    /// Everything the downstream received, parsed, in order.
    fn downstream(&self) -> Vec<Received> {
        self.down.received("update").iter().map(|m| parse_update(m)).collect()
    }

    /// How many UPDATEs the downstream has received (a mark for
    /// [`Edges::announced_since`]).
    fn mark(&self) -> usize {
        self.down.received("update").len()
    }

    /// What the downstream holds for `prefix` now: the attributes of its
    /// last announcement, or `None` if never announced or withdrawn since.
    fn held(&self, prefix: &str) -> Option<Vec<Attr>> {
        let mut state = None;
        for u in self.downstream() {
            if u.withdrawn.iter().any(|p| p == prefix) {
                state = None;
            }
            if u.announced.iter().any(|p| p == prefix) {
                state = Some(u.attrs.clone());
            }
        }
        state
    }

    /// Announcements of `prefix` the downstream received after `mark`.
    fn announced_since(&self, mark: usize, prefix: &str) -> Vec<Vec<Attr>> {
        self.downstream()
            .into_iter()
            .skip(mark)
            .filter(|u| u.announced.iter().any(|p| p == prefix))
            .map(|u| u.attrs)
            .collect()
    }

    /// Wait until what the downstream holds for `prefix` satisfies `pred`.
    fn wait_downstream(
        &self,
        prefix: &str,
        what: &str,
        pred: impl Fn(Option<&[Attr]>) -> bool,
    ) -> Result<Option<Vec<Attr>>> {
        wait_until(&format!("downstream: {prefix} {what}"), T, Duration::from_millis(50), || {
            let held = self.held(prefix);
            Ok(if pred(held.as_deref()) { Check::Done(held) } else { Check::Pending(format!("{held:?}")) })
        })
    }

    /// Re-announce the sentinel with a new community and wait until mdcd
    /// and the downstream have it: everything the upstream sent before has
    /// been processed and flushed.
    fn sync(&mut self) -> Result<()> {
        self.syncs += 1;
        let tag = 1000 + self.syncs;
        let attrs = self.good_attrs(tag);
        self.announce(SENTINEL, &attrs);
        let want = format!("65002:{tag}");
        self.mdcd.wait_route(SENTINEL, T, &|r| r.communities == [want.clone()])?;
        self.wait_downstream(SENTINEL, "with the latest sync tag", |a| {
            a.is_some_and(|a| downstream_communities(a) == [(65002, tag)])
        })?;
        std::thread::sleep(SETTLE);
        Ok(())
    }

    /// The best path to `prefix` in mdcd's Loc-RIB, as mdcctl's JSON.
    fn rib(&self, prefix: &str) -> Option<Value> {
        let family = if prefix.contains(':') { Family::Ipv6Unicast } else { Family::Ipv4Unicast };
        self.mdcd.routes_json(family).unwrap().into_iter().find(|r| {
            r["prefix"].as_str() == Some(prefix) && r.get("best").and_then(Value::as_bool).unwrap_or(true)
        })
    }

    /// Both sessions stayed up: a sync goes through, mdcd reports both
    /// Established, and neither raw peer got a NOTIFICATION or lost its
    /// connection.
    fn assert_sessions_up(&mut self) -> Result<()> {
        self.sync()?;
        for (raw, addr, name) in [(&self.up, UP, "upstream"), (&self.down, DOWN, "downstream")] {
            assert_eq!(
                self.mdcd.session_state(addr.parse().unwrap())?,
                SessionState::Established,
                "mdcd's session with the {name}"
            );
            assert!(raw.received("notification").is_empty(), "{name} got a NOTIFICATION: {:?}", raw.lines());
            assert!(!raw.lines().iter().any(|l| l.starts_with("closed")), "{name}: {:?}", raw.lines());
        }
        Ok(())
    }

    /// mdcd's log lines containing `needle`.
    fn log_lines(&self, needle: &str) -> Vec<String> {
        std::fs::read_to_string(self.mdcd.dir().join("mdcd.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }

    /// Treat-as-withdraw, checked after a sync: `prefix` (announced good
    /// before) is gone from mdcd's Loc-RIB and withdrawn from the
    /// downstream. Returns what went wrong, if anything.
    fn withdrawn(&self, case: &str, prefix: &str) -> Vec<String> {
        let mut wrong = Vec::new();
        if let Some(r) = self.rib(prefix) {
            wrong.push(format!("{case}: {prefix} still in mdcd's RIB: {r}"));
        }
        if let Some(a) = self.held(prefix) {
            wrong.push(format!("{case}: the downstream still holds {prefix} (not withdrawn): {a:?}"));
        }
        wrong
    }
}

/// Fail with every case that went wrong.
fn assert_no_failures(test: &str, failures: &[String]) {
    assert!(failures.is_empty(), "{test}: {} problem(s):\n  {}", failures.len(), failures.join("\n  "));
}

/// Run a treat-as-withdraw class: for each case, `prefix` is announced
/// good, then re-announced with the case's UPDATE; after a sync it must be
/// gone from mdcd and withdrawn downstream, and no announcement of it after
/// the bad UPDATE may have reached the downstream.
fn withdraw_cases(e: &mut Edges, prefix: &str, cases: &[(impl AsRef<str>, Vec<u8>)]) -> Result<Vec<String>> {
    let mut failures = Vec::new();
    for (i, (case, bad)) in cases.iter().enumerate() {
        let case = case.as_ref();
        e.announce_good(prefix, u16::try_from(i + 1).unwrap())?;
        let mark = e.mark();
        e.send(bad);
        e.sync()?;
        failures.extend(e.withdrawn(case, prefix));
        // Held now is reported above; an announcement withdrawn again
        // since is still one the downstream should never have had.
        let passed = e.announced_since(mark, prefix);
        if !passed.is_empty() && e.held(prefix).is_none() {
            failures.push(format!("{case}: passed on to the downstream (and withdrawn since): {passed:?}"));
        }
    }
    Ok(failures)
}

// Test prefixes (all inside 203.0.113.0/24 or 2001:db8::/32; the sentinel
// is 203.0.113.224/27).
const P: &str = "203.0.113.0/26";
const V6: &str = "2001:db8:200::/48";

// ---------------------------------------------------------------------------
// 1. AS 0 in AS_PATH

/// RFC 7607 §2 (with RFC 7606 §7.2): an AS_PATH holding AS 0 is malformed,
/// treat-as-withdraw. A good announcement of the prefix is withdrawn from
/// mdcd's RIB and from the downstream; the sessions stay up.
#[test]
fn as_zero_in_as_path_withdraws() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgeaszero", &Options::default())?;
    let cases = [
        ("AS_PATH 65002 0", update(&[], &[origin(0), as_path(&[UP_AS, 0]), next_hop(UP)], &nlri(&[P]))),
        (
            "AS_PATH 65002 0 64500",
            update(&[], &[origin(0), as_path(&[UP_AS, 0, 64500]), next_hop(UP)], &nlri(&[P])),
        ),
    ];
    let mut failures = withdraw_cases(&mut e, P, &cases)?;
    e.assert_sessions_up()?;
    let log = e.log_lines("UPDATE not taken as sent");
    if !log.iter().any(|l| l.contains("outcome=treat-as-withdraw")) {
        failures.push(format!("mdcd logs no treat-as-withdraw: {log:?}"));
    }
    assert_no_failures("AS 0 in AS_PATH", &failures);
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. AS 0 in AGGREGATOR and AS4_AGGREGATOR

/// RFC 7607 §2 (with RFC 7606 §7.7 and RFC 6793 §6): AGGREGATOR or
/// AS4_AGGREGATOR naming AS 0 is discarded (attribute discard): the route
/// stays in mdcd's RIB, and the downstream receives it without the
/// attribute. A route with a valid AGGREGATOR shows the check can see one.
#[test]
fn as_zero_in_aggregator_is_discarded() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgeaggr", &Options::default())?;
    let cases = [
        AggregatorCase {
            name: "AGGREGATOR AS 0",
            prefix: "203.0.113.0/28",
            extra: vec![aggregator(0, UP)],
            keeps: None,
        },
        AggregatorCase {
            name: "good AGGREGATOR, AS4_AGGREGATOR AS 0",
            prefix: "203.0.113.16/28",
            extra: vec![aggregator(UP_AS, UP), as4_aggregator(0, UP)],
            keeps: Some((UP_AS, UP)),
        },
        AggregatorCase {
            name: "control: good AGGREGATOR",
            prefix: "203.0.113.32/28",
            extra: vec![aggregator(UP_AS, UP)],
            keeps: Some((UP_AS, UP)),
        },
    ];
    let failures = aggregator_cases(&mut e, &cases)?;
    e.assert_sessions_up()?;
    assert_no_failures("AS 0 in AGGREGATOR", &failures);
    Ok(())
}

/// RFC 7607 §2 and RFC 6793 §4.2.3/§6, from an "OLD" (2-octet AS) peer:
/// AGGREGATOR carries AS_TRANS and AS4_AGGREGATOR the real AS. An
/// AS4_AGGREGATOR naming AS 0 is discarded: mdcd keeps AGGREGATOR AS_TRANS
/// (never AS 0) and the downstream gets that, without AS4_AGGREGATOR. A
/// good AS4_AGGREGATOR (4200000000) is merged, as control.
#[test]
fn as_zero_in_as4_aggregator_from_a_two_octet_peer_is_discarded() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgeaggr2", &Options { two_octet: true, ..Options::default() })?;
    let trans = u16::try_from(AS_TRANS).unwrap();
    let cases = [
        AggregatorCase {
            name: "AGGREGATOR AS_TRANS, AS4_AGGREGATOR AS 0",
            prefix: "203.0.113.0/28",
            extra: vec![aggregator2(trans, UP), as4_aggregator(0, UP)],
            keeps: Some((AS_TRANS, UP)),
        },
        AggregatorCase {
            name: "control: AGGREGATOR AS_TRANS, AS4_AGGREGATOR 4200000000",
            prefix: "203.0.113.16/28",
            extra: vec![aggregator2(trans, UP), as4_aggregator(4_200_000_000, UP)],
            keeps: Some((4_200_000_000, UP)),
        },
    ];
    let failures = aggregator_cases(&mut e, &cases)?;
    e.assert_sessions_up()?;
    assert_no_failures("AS 0 in AS4_AGGREGATOR (2-octet session)", &failures);
    Ok(())
}

/// One AGGREGATOR case: `prefix` announced with the good attributes and
/// `extra`; `keeps` is the AGGREGATOR (AS, address) mdcd must keep and pass
/// on, or `None`.
struct AggregatorCase {
    name: &'static str,
    prefix: &'static str,
    extra: Vec<Vec<u8>>,
    keeps: Option<(u32, &'static str)>,
}

/// Announce every case; after a sync each route must be in mdcd's RIB and
/// downstream with exactly the expected AGGREGATOR (or none) and no
/// AS4_AGGREGATOR.
fn aggregator_cases(e: &mut Edges, cases: &[AggregatorCase]) -> Result<Vec<String>> {
    for (i, c) in cases.iter().enumerate() {
        let mut attrs = e.good_attrs(u16::try_from(i + 1).unwrap());
        attrs.extend(c.extra.iter().cloned());
        e.announce(c.prefix, &attrs);
    }
    e.sync()?;
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (case, prefix) = (c.name, c.prefix);
        let tag = (65002, u16::try_from(i + 1).unwrap());
        let want = c.keeps.map(|(asn, ip)| (asn, ip.parse::<Ipv4Addr>().unwrap()));
        let Some(r) = e.rib(prefix) else {
            failures.push(format!(
                "{case}: {prefix} missing from mdcd's RIB (the attribute must be discarded, not the route)"
            ));
            continue;
        };
        let others: Vec<&str> =
            r["other_attributes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        let rib_aggr: Vec<&&str> = others.iter().filter(|o| o.starts_with("AGGREGATOR")).collect();
        let want_rib = want.map(|(asn, ip)| format!("AGGREGATOR {asn} {ip}"));
        if rib_aggr.first().map(|s| s.to_string()) != want_rib {
            failures.push(format!("{case}: mdcd's RIB has {rib_aggr:?}, expected {want_rib:?} ({r})"));
        }
        if others.contains(&"attribute 18") {
            failures.push(format!("{case}: mdcd's RIB keeps AS4_AGGREGATOR: {r}"));
        }
        match e.held(prefix) {
            None => failures.push(format!("{case}: the downstream did not get {prefix}")),
            Some(a) => {
                if downstream_communities(&a) != [tag] {
                    failures.push(format!("{case}: the downstream's {prefix} is not the latest: {a:?}"));
                }
                if downstream_aggregator(&a) != want {
                    failures.push(format!(
                        "{case}: the downstream got AGGREGATOR {:?}, expected {want:?}",
                        find(&a, AGGREGATOR)
                    ));
                }
                if let Some(x) = find(&a, AS4_AGGREGATOR) {
                    failures.push(format!("{case}: the downstream got AS4_AGGREGATOR {x:?}"));
                }
            }
        }
    }
    Ok(failures)
}

// ---------------------------------------------------------------------------
// 3. Confederation segments from an eBGP peer

/// RFC 5065 §5.3 (with RFC 7606 §7.2): an AS_PATH holding AS_CONFED_SEQUENCE
/// or AS_CONFED_SET from a peer outside our confederation (here: any eBGP
/// peer; mdcd has no confederation) is a malformed AS_PATH,
/// treat-as-withdraw. The downstream never sees a confederation segment.
#[test]
fn confed_segments_from_ebgp_withdraw() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgeconfed", &Options::default())?;
    let with_path = |path: Vec<u8>| update(&[], &[origin(0), path, next_hop(UP)], &nlri(&[P]));
    let cases = [
        (
            "AS_SEQUENCE 65002, AS_CONFED_SEQUENCE 65010",
            with_path(as_path_segments(4, &[(AS_SEQUENCE, &[UP_AS]), (AS_CONFED_SEQUENCE, &[65010])])),
        ),
        (
            "AS_SEQUENCE 65002, AS_CONFED_SET {65010 65011}",
            with_path(as_path_segments(4, &[(AS_SEQUENCE, &[UP_AS]), (AS_CONFED_SET, &[65010, 65011])])),
        ),
        (
            "AS_CONFED_SEQUENCE 65010, AS_SEQUENCE 65002",
            with_path(as_path_segments(4, &[(AS_CONFED_SEQUENCE, &[65010]), (AS_SEQUENCE, &[UP_AS])])),
        ),
        (
            "AS_SEQUENCE 65002, AS_SET {64500}, AS_CONFED_SET {65010}",
            with_path(as_path_segments(
                4,
                &[(AS_SEQUENCE, &[UP_AS]), (AS_SET, &[64500]), (AS_CONFED_SET, &[65010])],
            )),
        ),
    ];
    let mark = e.mark();
    let mut failures = withdraw_cases(&mut e, P, &cases)?;
    e.assert_sessions_up()?;
    for u in e.downstream().into_iter().skip(mark) {
        if let Some(a) = find(&u.attrs, AS_PATH) {
            let segs = parse_as_path(&a.value);
            if segs.iter().any(|(k, _)| *k == AS_CONFED_SEQUENCE || *k == AS_CONFED_SET) {
                failures.push(format!(
                    "the downstream got a confederation segment: {segs:?} for {:?}",
                    u.announced
                ));
            }
        }
    }
    assert_no_failures("confederation segments from eBGP", &failures);
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. Next hops that cannot be

/// RFC 4271 §5.1.3 and §6.3 (with RFC 7606 §7.3): a NEXT_HOP that is not a
/// valid unicast address of another host (0.0.0.0, multicast, class E,
/// loopback, or mdcd's own address on the session) is semantically
/// incorrect: the route is not used (treat-as-withdraw: a good announcement
/// before it is withdrawn) and not passed on. The same for the IPv6 next
/// hop in MP_REACH_NLRI (RFC 4760 §3, RFC 2545 §3; RFC 7606 §7.11):
/// unspecified, multicast, loopback. The sessions stay up.
#[test]
fn martian_next_hops_withdraw() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgenexthop", &Options::default())?;
    let v4 = ["0.0.0.0", "224.0.0.1", "240.0.0.1", "127.0.0.1", MDCD_UP];
    let v6 = ["::", "ff02::1", "::1"];
    let bad_v4 = |nh: &str, prefix: &str| {
        update(
            &[],
            &[origin(0), as_path(&[UP_AS]), next_hop(nh), communities(&[(65002, 99)])],
            &nlri(&[prefix]),
        )
    };
    let bad_v6 = |nh: &str, prefix: &str| {
        update(
            &[],
            &[origin(0), as_path(&[UP_AS]), communities(&[(65002, 99)]), mp_reach_v6(nh, &[prefix])],
            &[],
        )
    };
    let cases_v4: Vec<(String, Vec<u8>)> =
        v4.iter().map(|nh| (format!("NEXT_HOP {nh}"), bad_v4(nh, P))).collect();
    let cases_v6: Vec<(String, Vec<u8>)> =
        v6.iter().map(|nh| (format!("MP_REACH_NLRI next hop {nh}"), bad_v6(nh, V6))).collect();
    let mut failures = withdraw_cases(&mut e, P, &cases_v4)?;
    failures.extend(withdraw_cases(&mut e, V6, &cases_v6)?);
    // First announcements with such a next hop: never installed, never passed on.
    let fresh = "203.0.113.64/26";
    let fresh6 = "2001:db8:201::/48";
    let mark = e.mark();
    for nh in v4 {
        e.send(&bad_v4(nh, fresh));
    }
    for nh in v6 {
        e.send(&bad_v6(nh, fresh6));
    }
    e.sync()?;
    for p in [fresh, fresh6] {
        if let Some(r) = e.rib(p) {
            failures.push(format!("first announcement of {p} with a bad next hop: in mdcd's RIB: {r}"));
        }
        let passed = e.announced_since(mark, p);
        if !passed.is_empty() {
            failures.push(format!("first announcement of {p} with a bad next hop: passed on: {passed:?}"));
        }
    }
    e.assert_sessions_up()?;
    assert_no_failures("martian next hops", &failures);
    Ok(())
}

// ---------------------------------------------------------------------------
// 5. iBGP-only attributes from an eBGP peer

/// RFC 4271 §5.1.5, RFC 4456 §8 and RFC 7606 §7.5/§7.9/§7.10: LOCAL_PREF,
/// ORIGINATOR_ID and CLUSTER_LIST from an external peer are discarded
/// (attribute discard), well-formed or not (a bad length must not withdraw
/// the route): the route is kept, and neither mdcd's RIB nor the
/// downstream's UPDATE carries them.
#[test]
fn ibgp_attributes_from_ebgp_are_discarded() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgeibgpattr", &Options::default())?;
    let cases: [(&str, Vec<u8>); 6] = [
        ("LOCAL_PREF 200", local_pref(200)),
        ("LOCAL_PREF of 3 octets", attr(WELL_KNOWN, LOCAL_PREF, &[0, 0, 200])),
        ("ORIGINATOR_ID 192.0.2.9", originator_id("192.0.2.9")),
        ("ORIGINATOR_ID of 3 octets", attr(OPTIONAL, ORIGINATOR_ID, &[192, 0, 2])),
        ("CLUSTER_LIST 192.0.2.10 192.0.2.11", cluster_list(&["192.0.2.10", "192.0.2.11"])),
        ("CLUSTER_LIST of 5 octets", attr(OPTIONAL, CLUSTER_LIST, &[192, 0, 2, 10, 1])),
    ];
    let prefix = |i: usize| format!("203.0.113.{}/28", 16 * i);
    for (i, (_, extra)) in cases.iter().enumerate() {
        let mut attrs = e.good_attrs(u16::try_from(i + 1).unwrap());
        attrs.push(extra.clone());
        e.announce(&prefix(i), &attrs);
    }
    e.sync()?;
    let mut failures = Vec::new();
    for (i, (case, _)) in cases.iter().enumerate() {
        let p = prefix(i);
        let tag = u16::try_from(i + 1).unwrap();
        match e.rib(&p) {
            None => failures.push(format!("{case}: {p} missing from mdcd's RIB (must be kept)")),
            Some(r) => {
                let tagged = r["communities"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|x| x == &format!("65002:{tag}")));
                if !tagged {
                    failures.push(format!("{case}: {p} in mdcd's RIB is not the latest: {r}"));
                }
                if !r["local_pref"].is_null() || !r["originator_id"].is_null() {
                    failures.push(format!("{case}: mdcd's RIB keeps it: {r}"));
                }
                if r["cluster_list"].as_array().is_some_and(|c| !c.is_empty()) {
                    failures.push(format!("{case}: mdcd's RIB keeps it: {r}"));
                }
            }
        }
        match e.held(&p) {
            None => failures.push(format!("{case}: the downstream did not get {p}")),
            Some(a) => {
                if downstream_communities(&a) != [(65002, tag)] {
                    failures.push(format!("{case}: the downstream's {p} is not the latest: {a:?}"));
                }
                for code in [LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST] {
                    if let Some(x) = find(&a, code) {
                        failures.push(format!("{case}: the downstream got attribute {code}: {x:?}"));
                    }
                }
            }
        }
    }
    e.assert_sessions_up()?;
    assert_no_failures("iBGP attributes from eBGP", &failures);
    Ok(())
}

// ---------------------------------------------------------------------------
// 6. Unknown optional attributes on export

/// RFC 4271 §5 (and §9.1.3, §4.3): an unrecognised optional transitive
/// attribute is passed on with the Partial bit set (its value unchanged);
/// an unrecognised optional non-transitive attribute is quietly ignored and
/// never passed on. Both routes are accepted.
#[test]
fn unknown_optional_attributes_on_export() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    // The encoded set copied (accept-all), then the typed export (a policy).
    for typed_export in [false, true] {
        unknown_optional_attributes_on_export_with(typed_export)?;
    }
    Ok(())
}

fn unknown_optional_attributes_on_export_with(typed_export: bool) -> Result<()> {
    let short = if typed_export { "edgeunknownt" } else { "edgeunknown" };
    let mut e = setup(short, &Options { typed_export, ..Options::default() })?;
    let long: Vec<u8> = (0..300u16).map(|i| u8::try_from(i % 251).unwrap()).collect();
    // (case, the attribute, what the downstream must get: Some(flags) or None)
    let cases: [(&str, Vec<u8>, u8, Option<u8>); 4] = [
        ("optional transitive 250 (0xc0)", attr(OPTIONAL_TRANSITIVE, 250, &[1, 2, 3]), 250, Some(0xe0)),
        ("optional non-transitive 251 (0x80)", attr(OPTIONAL, 251, &[4, 5, 6]), 251, None),
        ("optional transitive 252, already partial (0xe0)", attr(0xe0, 252, &[7]), 252, Some(0xe0)),
        ("optional transitive 253, extended length (0xd0)", attr(0xd0, 253, &long), 253, Some(0xe0)),
    ];
    let prefix = |i: usize| format!("203.0.113.{}/28", 16 * i);
    for (i, (_, extra, _, _)) in cases.iter().enumerate() {
        let mut attrs = e.good_attrs(u16::try_from(i + 1).unwrap());
        attrs.push(extra.clone());
        e.announce(&prefix(i), &attrs);
    }
    e.sync()?;
    let mut failures = Vec::new();
    for (i, (case, sent, code, want)) in cases.iter().enumerate() {
        let p = prefix(i);
        let tag = u16::try_from(i + 1).unwrap();
        match e.rib(&p) {
            None => failures.push(format!("{case}: {p} missing from mdcd's RIB")),
            Some(r) => {
                let listed = r["other_attributes"].as_array().is_some_and(|o| {
                    o.iter()
                        .filter_map(Value::as_str)
                        .any(|s| s.starts_with(&format!("unknown attribute {code} ")))
                });
                if want.is_some() && !listed {
                    failures.push(format!("{case}: mdcd's RIB does not keep it: {r}"));
                }
            }
        }
        let value = &sent[if sent[0] & EXTENDED_LENGTH != 0 { 4 } else { 3 }..];
        match e.held(&p) {
            None => failures.push(format!("{case}: the downstream did not get {p}")),
            Some(a) => {
                if downstream_communities(&a) != [(65002, tag)] {
                    failures.push(format!("{case}: the downstream's {p} is not the latest: {a:?}"));
                }
                match (find(&a, *code), want) {
                    (None, None) => {}
                    (Some(x), None) => failures.push(format!("{case}: passed on: {x:?}")),
                    (None, Some(_)) => failures.push(format!("{case}: not passed on")),
                    (Some(x), Some(f)) => {
                        if x.flags() != *f {
                            failures.push(format!(
                                "{case}: passed on with flags 0x{:02x} (Extended Length aside), expected 0x{f:02x}",
                                x.flags()
                            ));
                        }
                        if x.value != value {
                            failures.push(format!("{case}: value changed: {:?}", x.value));
                        }
                    }
                }
            }
        }
    }
    e.assert_sessions_up()?;
    assert_no_failures(&format!("unknown optional attributes (typed export: {typed_export})"), &failures);
    Ok(())
}

// ---------------------------------------------------------------------------
// 7. The Partial bit on recognised attributes

/// RFC 4271 §4.3: for well-known attributes the Partial bit must be 0, so
/// one received with it set (ORIGIN, AS_PATH, NEXT_HOP, ATOMIC_AGGREGATE
/// with flags 0x60) is accepted and passed on with Partial = 0. A
/// recognised optional transitive attribute keeps a Partial bit a previous
/// AS set (RFC 4271 §5: "MUST NOT be set back to 0"): COMMUNITIES 0xe0.
#[test]
fn partial_bit_on_recognised_attributes() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    // The encoded set copied (accept-all), then the typed export (a policy).
    for typed_export in [false, true] {
        partial_bit_on_recognised_attributes_with(typed_export)?;
    }
    Ok(())
}

fn partial_bit_on_recognised_attributes_with(typed_export: bool) -> Result<()> {
    let short = if typed_export { "edgepartialt" } else { "edgepartial" };
    let mut e = setup(short, &Options { typed_export, ..Options::default() })?;
    let partial = |mut a: Vec<u8>| {
        a[0] |= PARTIAL;
        a
    };
    // (case, the attribute sent in place of the good one of its type (or
    // added), the flags the downstream must see on it)
    let cases: [(&str, Vec<u8>, u8); 5] = [
        ("ORIGIN 0x60", partial(origin(0)), WELL_KNOWN),
        ("AS_PATH 0x60", partial(as_path(&[UP_AS])), WELL_KNOWN),
        ("NEXT_HOP 0x60", partial(next_hop(UP)), WELL_KNOWN),
        ("ATOMIC_AGGREGATE 0x60", partial(atomic_aggregate()), WELL_KNOWN),
        ("COMMUNITIES 0xe0 (kept partial)", attr(0xe0, COMMUNITIES, &[0xfd, 0xea, 0, 7]), 0xe0),
    ];
    let prefix = |i: usize| format!("203.0.113.{}/28", 16 * i);
    for (i, (_, a, _)) in cases.iter().enumerate() {
        let mut attrs = e.good_attrs(u16::try_from(i + 1).unwrap());
        match attrs.iter().position(|x| x[1] == a[1]) {
            Some(k) => attrs[k] = a.clone(),
            None => attrs.push(a.clone()),
        }
        e.announce(&prefix(i), &attrs);
    }
    e.sync()?;
    let mut failures = Vec::new();
    for (i, (case, sent, want)) in cases.iter().enumerate() {
        let code = &sent[1];
        let p = prefix(i);
        if e.rib(&p).is_none() {
            failures.push(format!("{case}: {p} missing from mdcd's RIB"));
        }
        match e.held(&p) {
            None => failures.push(format!("{case}: the downstream did not get {p}")),
            Some(a) => match find(&a, *code) {
                None => failures.push(format!("{case}: the downstream's {p} has no attribute {code}: {a:?}")),
                Some(x) if x.flags() != *want => failures.push(format!(
                    "{case}: the downstream got flags 0x{:02x} (Extended Length aside), expected 0x{want:02x}",
                    x.flags()
                )),
                Some(_) => {}
            },
        }
        // The other well-known attributes (sent without Partial) leave
        // without it too.
        if let Some(a) = e.held(&p) {
            for x in a.iter().filter(|x| x.code != *code && x.flags & OPTIONAL == 0 && x.flags & PARTIAL != 0)
            {
                failures.push(format!("{case}: well-known attribute {} sent with Partial: {x:?}", x.code));
            }
        }
    }
    e.assert_sessions_up()?;
    assert_no_failures(&format!("Partial bit (typed export: {typed_export})"), &failures);
    Ok(())
}

// ---------------------------------------------------------------------------
// 8. A malformed MP_UNREACH_NLRI is not an End-of-RIB

/// RFC 7606 §5.3 and §7.11 (with RFC 4760 §7), RFC 4724 §2: an UPDATE whose
/// only attribute is an MP_UNREACH_NLRI for IPv6 unicast with a bad prefix
/// length (200) is malformed, not an End-of-RIB: IPv6 unicast is disabled
/// for the session (its routes leave mdcd's RIB and the downstream, later
/// IPv6 announcements are ignored), the IPv4 routes stay, and the session
/// stays up because IPv4 unicast is still negotiated, and mdcd logs the
/// disabled family (an End-of-RIB would not).
#[test]
fn malformed_mp_unreach_disables_ipv6_and_is_not_end_of_rib() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgempunreach", &Options::default())?;
    let (v4a, v4b, v6a, v6b) = ("203.0.113.0/26", "203.0.113.64/26", V6, "2001:db8:201::/48");
    for (i, p) in [v4a, v4b, v6a, v6b].into_iter().enumerate() {
        e.announce_good(p, u16::try_from(i + 1).unwrap())?;
    }
    let mut bad_nlri = vec![200];
    bad_nlri.extend_from_slice(&"2001:db8:200::".parse::<Ipv6Addr>().unwrap().octets());
    e.send(&update(&[], &[mp_unreach_v6_raw(&bad_nlri)], &[]));
    e.sync()?;
    let mut failures = Vec::new();
    for p in [v6a, v6b] {
        failures.extend(e.withdrawn("IPv6 disabled", p));
    }
    let v6_left = e.mdcd.routes_json(Family::Ipv6Unicast)?;
    if !v6_left.is_empty() {
        failures.push(format!("IPv6 routes left in mdcd's RIB: {v6_left:?}"));
    }
    for (i, p) in [v4a, v4b].into_iter().enumerate() {
        let tag = u16::try_from(i + 1).unwrap();
        if e.rib(p).is_none() {
            failures.push(format!("IPv4 {p} gone from mdcd's RIB"));
        }
        if e.held(p).is_none_or(|a| downstream_communities(&a) != [(65002, tag)]) {
            failures.push(format!("IPv4 {p} withdrawn from the downstream: {:?}", e.held(p)));
        }
    }
    // Later IPv6 routes from this session are ignored.
    let mark = e.mark();
    let v6c = "2001:db8:202::/48";
    let attrs = vec![origin(0), as_path(&[UP_AS]), mp_reach_v6(UP_NH6, &[v6c])];
    e.send(&update(&[], &attrs, &[]));
    e.sync()?;
    if let Some(r) = e.rib(v6c) {
        failures.push(format!("IPv6 {v6c} accepted after the family was disabled: {r}"));
    }
    if !e.announced_since(mark, v6c).is_empty() {
        failures.push(format!("IPv6 {v6c} passed on after the family was disabled"));
    }
    e.assert_sessions_up()?;
    // An End-of-RIB disables nothing: this line is the difference.
    let disabled = e.log_lines("family disabled");
    if !disabled.iter().any(|l| l.contains("ipv6-unicast")) {
        failures.push(format!("mdcd logs no disabled IPv6 family (taken as End-of-RIB?): {disabled:?}"));
    }
    // The reason is logged and in the neighbor's status.
    let logged = e.log_lines("UPDATE not taken as sent");
    if !logged.iter().any(|l| l.contains("AFI/SAFI disable")) {
        failures.push(format!("mdcd does not log why: {logged:?}"));
    }
    let n = e.mdcd.neighbor_json(UP)?;
    let last = n["last_update_error"].as_str().unwrap_or_default().to_string();
    if !last.starts_with("AFI/SAFI disable") || n["update_errors"].as_u64().unwrap_or(0) == 0 {
        failures.push(format!("mdcctl does not show the error: {n}"));
    }
    assert_no_failures("malformed MP_UNREACH_NLRI", &failures);
    Ok(())
}

// ---------------------------------------------------------------------------
// 9. enforce-first-as

/// RFC 4271 §6.3 ("the leftmost AS in the AS_PATH ... equal to the
/// autonomous system number of the peer"), on by default for eBGP: an
/// AS_PATH starting with another AS (65099 65002), or an empty AS_PATH from
/// an eBGP peer, is treat-as-withdraw. A path that starts right
/// (65002 65099) is the control.
#[test]
fn first_as_is_enforced_on_ebgp() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup("edgefirstas", &Options::default())?;
    let with_path = |asns: &[u32]| update(&[], &[origin(0), as_path(asns), next_hop(UP)], &nlri(&[P]));
    let cases = [("AS_PATH 65099 65002", with_path(&[65099, UP_AS])), ("empty AS_PATH", with_path(&[]))];
    let mut failures = withdraw_cases(&mut e, P, &cases)?;
    // The operator sees why (the empty path was the last).
    let n = e.mdcd.neighbor_json(UP)?;
    if !n["last_update_error"]
        .as_str()
        .is_some_and(|l| l.contains("empty from an external peer (enforce-first-as)"))
    {
        failures.push(format!("mdcctl does not say why: {n}"));
    }
    // Control: the peer's AS first, another after it.
    e.announce(P, &[origin(0), as_path(&[UP_AS, 65099]), next_hop(UP)]);
    e.sync()?;
    match e.rib(P) {
        Some(r) if r["as_path"] == "65002 65099" => {}
        other => failures.push(format!("control 65002 65099: mdcd's RIB has {other:?}")),
    }
    match e.held(P) {
        Some(a) if downstream_path(&a) == [MDCD_AS, UP_AS, 65099] => {}
        other => failures.push(format!("control 65002 65099: the downstream holds {other:?}")),
    }
    e.assert_sessions_up()?;
    assert_no_failures("enforce-first-as", &failures);
    Ok(())
}

/// RFC 4271 §6.3 leaves the first-AS check to the operator: with
/// `enforce-first-as = false` on the upstream's `[[peer]]`, an AS_PATH
/// starting with another AS (65099 65002, as a route server sends) is
/// accepted and passed on as 65001 65099 65002.
#[test]
fn enforce_first_as_off_accepts_another_first_as() -> Result<()> {
    if !require_interop(&["lab"]) {
        return Ok(());
    }
    let mut e = setup(
        "edgefirstasoff",
        &Options { up_peer_lines: &["enforce-first-as = false"], ..Options::default() },
    )?;
    e.announce(P, &[origin(0), as_path(&[65099, UP_AS]), next_hop(UP)]);
    e.sync()?;
    let r = e.rib(P).unwrap_or_else(|| panic!("{P} with AS_PATH 65099 65002 not in mdcd's RIB"));
    assert_eq!(r["as_path"], "65099 65002", "{r}");
    let a = e.held(P).unwrap_or_else(|| panic!("{P} not passed to the downstream"));
    assert_eq!(downstream_path(&a), [MDCD_AS, 65099, UP_AS], "{a:?}");
    e.assert_sessions_up()?;
    Ok(())
}
