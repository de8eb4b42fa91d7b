//! The RIB and policies of mdcd (issue 4, ADR 0006) against FRR 8.4 and
//! GoBGP 3.10 in network namespaces, each result checked on both sides' own
//! CLIs (vtysh / gobgp, and mdcctl):
//!
//! 1. route reflection (RFC 4456) between FRR iBGP clients and non-clients:
//!    next hop unchanged, ORIGINATOR_ID and CLUSTER_LIST as FRR shows them,
//!    a non-client's route reflected to clients only;
//! 2. the decision process between two eBGP paths (AS path length, then an
//!    import policy's LOCAL_PREF applied by a SIGHUP reload without dropping
//!    a session), with the winner re-advertised to a third peer;
//! 3. an export policy that prepends and adds communities (and RFC 8212:
//!    no import policy, nothing accepted);
//! 4. max-prefix (RFC 4486 Cease/1) against GoBGP: staying down, coming back
//!    after `restart-after`, and `warning-only`;
//! 5. `mdcctl clear bgp` against FRR: soft in (a ROUTE-REFRESH), soft out
//!    (the table again), both without a session reset, and a hard reset.
//!
//! Needs root and the peers: outside CI these tests print `skipped: ...`;
//! under `CI=true` a missing peer fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use mdc_tests::{
    BgpConfig, BgpPeer, Check, Family, Frr, GoBgp, Lab, Mdcd, MdcdBinaries, Neighbor, Result, SessionState,
    require_interop, wait_until,
};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);
/// mdcd's address on every lab LAN or link.
const MDCD: &str = "192.0.2.1";

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// mdcd's Loc-RIB paths to `prefix` (`mdcctl --json show routes ipv4`).
fn mdcd_paths(mdcd: &Mdcd, prefix: &str) -> Result<Vec<Value>> {
    Ok(mdcd
        .routes_json(Family::Ipv4Unicast)?
        .into_iter()
        .filter(|r| r["prefix"].as_str() == Some(prefix))
        .collect())
}

/// The path of `paths` learned from `peer`.
fn from_peer<'a>(paths: &'a [Value], peer: &str) -> Option<&'a Value> {
    paths.iter().find(|p| p["peer"].as_str() == Some(peer))
}

/// FRR's best path to `prefix` from `show bgp ipv4 unicast PREFIX json`
/// (`None` while it has none).
fn frr_best(frr: &Frr, prefix: &str) -> Result<Option<Value>> {
    let v = frr.json(&format!("show bgp ipv4 unicast {prefix} json"))?;
    Ok(v["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p.pointer("/bestpath/overall").and_then(Value::as_bool) == Some(true))
        .cloned())
}

/// How many times FRR's session with `neighbor` reached Established.
fn frr_established_count(frr: &Frr, neighbor: &str) -> Result<u64> {
    let v = frr.json(&format!("show bgp neighbors {neighbor} json"))?;
    Ok(v[neighbor]["connectionsEstablished"].as_u64().unwrap_or(0))
}

/// For `how_long`, `prefix` never shows up on `peer` (checked every poll).
fn stays_absent(peer: &dyn BgpPeer, prefix: &str, how_long: Duration) -> Result<()> {
    let p: mdc_tests::Prefix = prefix.parse()?;
    let start = Instant::now();
    while start.elapsed() < how_long {
        let paths: Vec<_> = peer.routes(p.family())?.into_iter().filter(|r| r.prefix == p).collect();
        assert!(paths.is_empty(), "{}: {prefix} must not be there: {paths:?}", peer.name());
        std::thread::sleep(POLL);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// 1. Route reflection (RFC 4456)
// ---------------------------------------------------------------------------

const RR_ID: &str = "192.0.2.101";
const CLUSTER: &str = "192.0.2.200";
/// Clients A and B, non-clients C and D: (address, router id).
const A: (&str, &str) = ("192.0.2.2", "192.0.2.102");
const B: (&str, &str) = ("192.0.2.3", "192.0.2.103");
const C: (&str, &str) = ("192.0.2.4", "192.0.2.104");
const D: (&str, &str) = ("192.0.2.5", "192.0.2.105");
/// Announced by A, B and C.
const P1: &str = "198.51.100.0/26";
const P2: &str = "198.51.100.64/26";
const P3: &str = "198.51.100.128/26";

/// On `frr`, the best path to `prefix` is the reflected one from `origin`:
/// next hop unchanged, ORIGINATOR_ID = origin's router id, CLUSTER_LIST =
/// [our cluster id], iBGP attributes (empty AS path, LOCAL_PREF 100).
fn check_reflected(frr: &Frr, prefix: &str, origin: (&str, &str)) -> Result<()> {
    let r = frr.wait_route(prefix, T, &|r| r.next_hop == Some(ip(origin.0)))?;
    assert!(r.as_path.is_empty(), "{}: {prefix}: {r:?}", frr.name());
    assert_eq!(r.local_pref, Some(100), "{}: {prefix}: {r:?}", frr.name());
    let p = frr_best(frr, prefix)?.expect("best path");
    assert_eq!(p["originatorId"].as_str(), Some(origin.1), "{}: ORIGINATOR_ID of {prefix}: {p}", frr.name());
    let clusters: Vec<&str> = p
        .pointer("/clusterList/list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(clusters, [CLUSTER], "{}: CLUSTER_LIST of {prefix}: {p}", frr.name());
    Ok(())
}

#[test]
fn route_reflector_between_frr_clients() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new("ribrr")?.node("mdcd")?.node("a")?.node("b")?.node("c")?.node("d")?.lan(
        "rack",
        &[
            ("mdcd", "192.0.2.1/28"),
            ("a", "192.0.2.2/28"),
            ("b", "192.0.2.3/28"),
            ("c", "192.0.2.4/28"),
            ("d", "192.0.2.5/28"),
        ],
    )?;
    let mut cfg = BgpConfig::new(65000, RR_ID);
    for n in [A, B, C, D] {
        cfg = cfg.neighbor(Neighbor::new(n.0, 65000));
    }
    let mut mdcd = Mdcd::new(&lab, "mdcd", bins(), cfg)?
        .bgp_option(&format!("cluster-id = \"{CLUSTER}\""))
        .peer_option(A.0, "route-reflector-client = true")
        .peer_option(B.0, "route-reflector-client = true");
    mdcd.start()?;
    let frr = |node: &str, id: (&str, &str), net: Option<&str>| {
        let mut c = BgpConfig::new(65000, id.1).neighbor(Neighbor::new(MDCD, 65000));
        if let Some(p) = net {
            c = c.network(p);
        }
        Frr::start_in(&lab, node, c)
    };
    let a = frr("a", A, Some(P1))?;
    let b = frr("b", B, Some(P2))?;
    let c = frr("c", C, Some(P3))?;
    let d = frr("d", D, None)?;
    for (f, n) in [(&a, A), (&b, B), (&c, C), (&d, D)] {
        f.wait_established(MDCD, T)?;
        mdcd.wait_established(n.0, T)?;
    }

    // Client to client, both ways, and client to non-clients.
    check_reflected(&b, P1, A)?;
    check_reflected(&a, P2, B)?;
    for f in [&c, &d] {
        check_reflected(f, P1, A)?;
        check_reflected(f, P2, B)?;
    }
    // Non-client to clients.
    check_reflected(&a, P3, C)?;
    check_reflected(&b, P3, C)?;
    // mdcd's own view: one path each, from the announcing peer, best.
    for (p, from) in [(P1, A), (P2, B), (P3, C)] {
        let paths = mdcd_paths(&mdcd, p)?;
        assert_eq!(paths.len(), 1, "mdcctl {p}: {paths:?}");
        assert_eq!(paths[0]["peer"].as_str(), Some(from.0), "{paths:?}");
        assert_eq!(paths[0]["next_hop"].as_str(), Some(from.0), "{paths:?}");
        assert_eq!(paths[0]["best"].as_bool(), Some(true), "{paths:?}");
    }
    // ...but not from one non-client to another.
    stays_absent(&d, P3, Duration::from_secs(2))?;
    // What mdcd says it sent: D got P1 and P2, A got P2 and P3, C got P1
    // and P2 (not its own P3).
    for (n, want) in [(D, 2), (A, 2), (B, 2), (C, 2)] {
        let v = mdcd.neighbor_json(n.0)?;
        assert_eq!(v["prefixes_advertised"].as_u64(), Some(want), "mdcctl neighbor {}: {v}", n.0);
    }

    // A withdrawal from a client is reflected too.
    a.withdraw(P1)?;
    for f in [&b, &c, &d] {
        f.wait_no_route(P1, T)?;
    }
    mdcd.wait_no_route(P1, T)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. Best path between two eBGP paths, and an import policy reload
// ---------------------------------------------------------------------------

const X: &str = "192.0.2.2"; // AS 65001, the short path
const Y: &str = "192.0.2.3"; // AS 65002, prepended once
const Z: &str = "192.0.2.4"; // AS 65003, receives mdcd's best path
const P: &str = "203.0.113.0/24";

/// Wait until mdcd's best path to P is from `best`, and the path from
/// `other` lost for `reason`.
fn wait_best(mdcd: &Mdcd, best: &str, other: &str, reason: &str) -> Result<Vec<Value>> {
    wait_until(&format!("mdcd: {P} best from {best}, {other} lost on {reason}"), T, POLL, || {
        let paths = mdcd_paths(mdcd, P)?;
        let ok = match (from_peer(&paths, best), from_peer(&paths, other)) {
            (Some(b), Some(o)) => {
                b["best"].as_bool() == Some(true)
                    && b["lost"].is_null()
                    && o["best"].as_bool() == Some(false)
                    && o["lost"].as_str() == Some(reason)
            }
            _ => false,
        };
        Ok(if ok { Check::Done(paths) } else { Check::Pending(format!("{paths:?}")) })
    })
    .map_err(|e| mdcd.with_log(e))
}

#[test]
fn best_path_between_frr_ebgp_paths_and_import_policy_reload() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new("ribbest")?.node("mdcd")?.node("x")?.node("y")?.node("z")?.lan(
        "ix",
        &[("mdcd", "192.0.2.1/28"), ("x", "192.0.2.2/28"), ("y", "192.0.2.3/28"), ("z", "192.0.2.4/28")],
    )?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65000, "192.0.2.101")
            .neighbor(Neighbor::new(X, 65001))
            .neighbor(Neighbor::new(Y, 65002))
            .neighbor(Neighbor::new(Z, 65003)),
    )?;
    let x = Frr::start_in(
        &lab,
        "x",
        BgpConfig::new(65001, "192.0.2.102").neighbor(Neighbor::new(MDCD, 65000)).network(P),
    )?;
    // Y's path is one AS longer: it prepends itself towards mdcd.
    let y = Frr::start_in(
        &lab,
        "y",
        BgpConfig::new(65002, "192.0.2.103").neighbor(Neighbor::new(MDCD, 65000)).network(P).extra(
            "route-map LONGER permit 10\n set as-path prepend 65002\nexit\n!\nrouter bgp 65002\n \
             address-family ipv4 unicast\n  neighbor 192.0.2.1 route-map LONGER out\n \
             exit-address-family\nexit\n!",
        ),
    )?;
    let z =
        Frr::start_in(&lab, "z", BgpConfig::new(65003, "192.0.2.104").neighbor(Neighbor::new(MDCD, 65000)))?;
    for (f, n) in [(&x, X), (&y, Y), (&z, Z)] {
        f.wait_established(MDCD, T)?;
        mdcd.wait_established(n, T)?;
    }

    // Without policy: the shorter AS path wins, and Z gets it.
    let paths = wait_best(&mdcd, X, Y, "AS path length")?;
    assert_eq!(from_peer(&paths, X).unwrap()["as_path"].as_str(), Some("65001"), "{paths:?}");
    assert_eq!(from_peer(&paths, Y).unwrap()["as_path"].as_str(), Some("65002 65002"), "{paths:?}");
    let r = z.wait_route(P, T, &|r| r.as_path == [65000, 65001])?;
    assert_eq!(r.origin, Some(mdc_tests::Origin::Igp), "{r:?}");
    // Only the best path is advertised: Z holds exactly one path.
    let on_z: Vec<_> =
        z.routes(Family::Ipv4Unicast)?.into_iter().filter(|r| r.prefix.to_string() == P).collect();
    assert_eq!(on_z.len(), 1, "{on_z:?}");

    // An import policy on Y's session: LOCAL_PREF 200 beats the AS path.
    let before: Vec<u64> =
        [&x, &y, &z].iter().map(|f| frr_established_count(f, MDCD)).collect::<Result<_>>()?;
    assert!(before.iter().all(|&n| n == 1), "sessions flapped before the reload: {before:?}");
    let reloaded = Instant::now();
    mdcd.set_peer_options(Y, &["import = \"prefer-y\""])?;
    mdcd.reconfigure(|c| {
        c.extra.push_str(
            "\n[policy.prefer-y]\ndefault = \"accept\"\n[[policy.prefer-y.term]]\n\
             match = { as-path-contains = 65002 }\nset = { local-pref = 200 }\naction = \"accept\"\n",
        );
    })?;
    let paths = wait_best(&mdcd, Y, X, "local preference")?;
    assert_eq!(from_peer(&paths, Y).unwrap()["local_pref"].as_u64(), Some(200), "{paths:?}");
    z.wait_route(P, T, &|r| r.as_path == [65000, 65002, 65002])?;

    // The policy is gone again after the next reload: back to X's path.
    mdcd.set_peer_options(Y, &[])?;
    mdcd.reconfigure(|c| c.extra.clear())?;
    wait_best(&mdcd, X, Y, "AS path length")?;
    z.wait_route(P, T, &|r| r.as_path == [65000, 65001])?;

    // No session went down for the reloads, on either side.
    let after: Vec<u64> =
        [&x, &y, &z].iter().map(|f| frr_established_count(f, MDCD)).collect::<Result<_>>()?;
    assert_eq!(after, before, "FRR's connectionsEstablished for mdcd changed across the reloads");
    let up_since_reload = reloaded.elapsed().as_secs();
    for n in [X, Y, Z] {
        let v = mdcd.neighbor_json(n)?;
        assert_eq!(v["state"].as_str(), Some("Established"), "{v}");
        assert!(
            v["state_secs"].as_u64().unwrap_or(0) >= up_since_reload,
            "mdcd's session with {n} restarted during the reloads ({up_since_reload} s ago): {v}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. Export policy: AS path prepend and communities; RFC 8212
// ---------------------------------------------------------------------------

const F1: &str = "192.0.2.2"; // AS 65001: export policy, no import policy
const F2: &str = "192.0.2.3"; // AS 65002: import policy, no export policy
const OURS: &str = "198.51.100.0/25"; // originated, in prefix-list "ours"
const OTHER: &str = "203.0.113.192/26"; // originated, matches no term
const FROM_F2: &str = "203.0.113.0/26";
const FROM_F1: &str = "203.0.113.128/26";

const EXPORT_POLICY: &str = r#"
[prefix-list.ours]
prefixes = ["198.51.100.0/24 le 32"]

[policy.to-f1]
default = "reject"
[[policy.to-f1.term]]
match = { prefix-list = "ours" }
set = { as-path-prepend = 2, community-add = ["65000:1", "65000:2"] }
action = "accept"
[[policy.to-f1.term]]
match = { as-path-contains = 65002 }
set = { med = 10, community-add = ["65000:3"] }
action = "accept"

[policy.from-f2]
default = "accept"
"#;

#[test]
fn export_policy_prepends_and_adds_communities_on_frr() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new("ribexport")?
        .node("mdcd")?
        .node("f1")?
        .node("f2")?
        .lan("lan", &[("mdcd", "192.0.2.1/28"), ("f1", "192.0.2.2/28"), ("f2", "192.0.2.3/28")])?;
    let mut mdcd = Mdcd::new(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65000, "192.0.2.101")
            .neighbor(Neighbor::new(F1, 65001))
            .neighbor(Neighbor::new(F2, 65002))
            .network(OURS)
            .network(OTHER),
    )?
    .bgp_option("ebgp-requires-policy = true")
    .peer_option(F1, "export = \"to-f1\"")
    .peer_option(F2, "import = \"from-f2\"")
    .extra_config(EXPORT_POLICY);
    mdcd.start()?;
    let f1 = Frr::start_in(
        &lab,
        "f1",
        BgpConfig::new(65001, "192.0.2.102").neighbor(Neighbor::new(MDCD, 65000)).network(FROM_F1),
    )?;
    let f2 = Frr::start_in(
        &lab,
        "f2",
        BgpConfig::new(65002, "192.0.2.103").neighbor(Neighbor::new(MDCD, 65000)).network(FROM_F2),
    )?;
    for (f, n) in [(&f1, F1), (&f2, F2)] {
        f.wait_established(MDCD, T)?;
        mdcd.wait_established(n, T)?;
    }

    // Our own prefix: prepended twice, two communities added.
    let r = f1.wait_route(OURS, T, &|r| !r.as_path.is_empty())?;
    assert_eq!(r.as_path, [65000, 65000, 65000], "{r:?}");
    let p = frr_best(&f1, OURS)?.unwrap();
    assert_eq!(p.pointer("/aspath/string").and_then(Value::as_str), Some("65000 65000 65000"), "{p}");
    assert_eq!(p.pointer("/community/string").and_then(Value::as_str), Some("65000:1 65000:2"), "{p}");
    // A route learned from F2: the second term (MED 10, one community).
    let r = f1.wait_route(FROM_F2, T, &|_| true)?;
    assert_eq!(r.as_path, [65000, 65002], "{r:?}");
    assert_eq!(r.med, Some(10), "{r:?}");
    assert_eq!(r.communities, ["65000:3"], "{r:?}");
    let p = frr_best(&f1, FROM_F2)?.unwrap();
    assert_eq!(p.pointer("/community/string").and_then(Value::as_str), Some("65000:3"), "{p}");
    // In mdcd's Loc-RIB the learned route is as F2 sent it: export policy
    // changes only what F1 is sent.
    let paths = mdcd_paths(&mdcd, FROM_F2)?;
    let from_f2 = from_peer(&paths, F2).unwrap_or_else(|| panic!("mdcctl {FROM_F2}: {paths:?}"));
    assert_eq!(from_f2["as_path"].as_str(), Some("65002"), "{paths:?}");
    assert_eq!(from_f2["communities"].as_array().map(Vec::len), Some(0), "{paths:?}");
    let own = f2.best_route(FROM_F2)?.expect("F2 originates it");
    assert_eq!(from_f2["med"].as_u64(), own.med.map(u64::from), "MED as F2 sent it ({own:?}): {paths:?}");
    // F2 has no export policy: mdcd's own prefixes still reach it (the
    // config says to originate them), unchanged by F1's policy.
    let r = f2.wait_route(OURS, T, &|_| true)?;
    assert_eq!(r.as_path, [65000], "{r:?}");
    assert!(r.communities.is_empty(), "{r:?}");
    f2.wait_route(OTHER, T, &|r| r.as_path == [65000])?;
    // OTHER matches no term of F1's policy: rejected by its default.
    stays_absent(&f1, OTHER, Duration::from_secs(2))?;
    // RFC 8212: F1 has no import policy, so what it sends is not accepted.
    assert!(mdcd_paths(&mdcd, FROM_F1)?.is_empty(), "RFC 8212: {FROM_F1} from F1 accepted without a policy");
    assert!(f1.best_route(FROM_F1)?.is_some(), "F1 originates {FROM_F1}");
    stays_absent(&f2, FROM_F1, Duration::from_secs(1))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. max-prefix (RFC 4486 Cease/1) against GoBGP
// ---------------------------------------------------------------------------

const GOBGP: &str = "192.0.2.2";
const FIVE: [&str; 5] =
    ["198.51.100.0/27", "198.51.100.32/27", "198.51.100.64/27", "198.51.100.96/27", "198.51.100.128/27"];

/// mdcd (AS 65000, limit 3 IPv4 prefixes from GoBGP, plus `options` in the
/// `[peer.max-prefix]` table) and GoBGP (AS 65001) announcing five.
fn max_prefix_lab(short: &str, options: &[&str]) -> Result<(Lab, Mdcd, GoBgp)> {
    let lab = Lab::new(short)?.node("mdcd")?.node("gobgp")?.link(
        "mdcd",
        "192.0.2.1/30",
        "gobgp",
        "192.0.2.2/30",
    )?;
    let mut mdcd = Mdcd::new(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65000, "192.0.2.101").neighbor(Neighbor::new(GOBGP, 65001)),
    )?
    .peer_option(GOBGP, "[peer.max-prefix]")
    .peer_option(GOBGP, "ipv4-unicast = 3");
    for o in options {
        mdcd = mdcd.peer_option(GOBGP, o);
    }
    mdcd.start()?;
    let mut cfg = BgpConfig::new(65001, "192.0.2.102").neighbor(Neighbor::new(MDCD, 65000));
    for p in FIVE {
        cfg = cfg.network(p);
    }
    let gobgp = GoBgp::start_in(&lab, "gobgp", cfg)?;
    Ok((lab, mdcd, gobgp))
}

/// GoBGP's `gobgp neighbor MDCD -j`.
fn gobgp_neighbor(gobgp: &GoBgp) -> Result<Value> {
    let out = gobgp.gobgp(&["neighbor", MDCD, "-j"])?;
    serde_json::from_str(&out).map_err(|e| mdc_tests::Error::msg(format!("gobgp neighbor: {e}: {out}")))
}

/// NOTIFICATIONs GoBGP received from mdcd.
fn notifications_received(gobgp: &GoBgp) -> Result<u64> {
    Ok(gobgp_neighbor(gobgp)?
        .pointer("/state/messages/received/notification")
        .and_then(Value::as_u64)
        .unwrap_or(0))
}

/// How many Cease (6) / Maximum Number of Prefixes Reached (1)
/// NOTIFICATIONs GoBGP logged as received. gobgpd logs JSON lines:
/// `{"Code":6,"Data":"...","Key":"192.0.2.1","Subcode":1,...,"msg":"received notification",...}`.
fn gobgp_cease1_logged(gobgp: &GoBgp) -> usize {
    let log = std::fs::read_to_string(gobgp.dir().join("gobgpd.log")).unwrap_or_default();
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["msg"].as_str() == Some("received notification")
                && v["Key"].as_str() == Some(MDCD)
                && v["Code"].as_u64() == Some(6)
                && v["Subcode"].as_u64() == Some(1)
        })
        .count()
}

fn mdcd_paths_from(mdcd: &Mdcd, peer: &str) -> Result<usize> {
    Ok(mdcd.routes_json(Family::Ipv4Unicast)?.iter().filter(|r| r["peer"].as_str() == Some(peer)).count())
}

/// mdcd's log lines about GoBGP containing `text`, each with its time of
/// day in seconds (the log is `<ANSI>2026-11-25T20:49:03.002229Z<ANSI> ...`).
fn mdcd_log_lines(mdcd: &Mdcd, text: &str) -> Vec<(f64, String)> {
    let log = std::fs::read_to_string(mdcd.dir().join("mdcd.log")).unwrap_or_default();
    log.lines()
        .map(|l| {
            // Drop ANSI colour sequences (ESC [ ... m).
            let mut plain = String::new();
            let mut in_escape = false;
            for c in l.chars() {
                match (in_escape, c) {
                    (false, '\u{1b}') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (false, c) => plain.push(c),
                    (true, _) => {}
                }
            }
            plain
        })
        .filter(|l| l.contains(text) && l.contains(&format!("peer={GOBGP}")))
        .filter_map(|l| {
            let time = l.split_whitespace().next()?.split_once('T')?.1.trim_end_matches('Z').to_string();
            let mut parts = time.split(':').map(|x| x.parse::<f64>());
            let (h, m, s) = (parts.next()?.ok()?, parts.next()?.ok()?, parts.next()?.ok()?);
            Some((h * 3600.0 + m * 60.0 + s, l))
        })
        .collect()
}

/// Wait until GoBGP has received `n` NOTIFICATIONs, each a Cease/1 in its
/// log; when the test first saw the n-th.
fn wait_trips(gobgp: &GoBgp, n: u64) -> Result<Instant> {
    wait_until(&format!("GoBGP received {n} Cease/1 from mdcd"), T, Duration::from_millis(100), || {
        let got = notifications_received(gobgp)?;
        let logged = gobgp_cease1_logged(gobgp);
        Ok(if got >= n && logged as u64 >= n {
            Check::Done(Instant::now())
        } else {
            Check::Pending(format!("{got} NOTIFICATIONs, {logged} Cease/1 logged"))
        })
    })
    .map_err(|e| gobgp.with_log(e))
}

/// After a trip: mdcd's session is down, GoBGP's routes are gone from
/// mdcd, and mdcd logged why (`trips` times so far).
fn check_tripped(mdcd: &Mdcd, gobgp: &GoBgp, trips: usize) -> Result<()> {
    wait_until("mdcd dropped GoBGP's routes", T, POLL, || {
        let n = mdcd_paths_from(mdcd, GOBGP)?;
        Ok(if n == 0 { Check::Done(()) } else { Check::Pending(format!("{n} paths from GoBGP")) })
    })
    .map_err(|e| mdcd.with_log(e))?;
    let v = mdcd.neighbor_json(GOBGP)?;
    assert_ne!(v["state"].as_str(), Some("Established"), "mdcctl show neighbors: {v}");
    assert_eq!(v["prefixes_received"].as_u64(), Some(0), "mdcctl show neighbors: {v}");
    eprintln!("mdcctl show neighbors after the trip:\n{}", mdcd.neighbors_table()?);
    // GoBGP's view: the session is down.
    assert_ne!(gobgp.session_state(ip(MDCD))?, SessionState::Established, "{}", gobgp_neighbor(gobgp)?);
    let over = mdcd_log_lines(mdcd, "more than the limit of 3: closing the session (Cease/1)");
    let sent = mdcd_log_lines(mdcd, "sent NOTIFICATION 6/1");
    assert!(
        over.len() >= trips && sent.len() >= trips,
        "mdcd's log does not say {trips} times that GoBGP exceeded the limit of 3 and got Cease/1:\n{}",
        mdcd.log_tail(40)
    );
    Ok(())
}

#[test]
fn max_prefix_trips_against_gobgp_and_stays_down() -> Result<()> {
    if !require_interop(&["gobgp"]) {
        return Ok(());
    }
    let (_lab, mdcd, gobgp) = max_prefix_lab("ribmaxpfx", &[])?;
    wait_trips(&gobgp, 1)?;
    check_tripped(&mdcd, &gobgp, 1)?;
    // No restart-after: GoBGP dials again (after its own idle hold of about
    // 5 s, then every second); mdcd never brings the session up again (it
    // would trip again and send a second NOTIFICATION).
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(8) {
        assert_ne!(gobgp.session_state(ip(MDCD))?, SessionState::Established, "session came back");
        assert_ne!(mdcd.session_state(ip(GOBGP))?, SessionState::Established, "session came back");
        std::thread::sleep(POLL);
    }
    assert_eq!(notifications_received(&gobgp)?, 1, "{}", gobgp.log_tail(20));
    assert_eq!(mdcd_paths_from(&mdcd, GOBGP)?, 0);
    assert!(mdcd_log_lines(&mdcd, "hold-down over").is_empty(), "{}", mdcd.log_tail(40));
    Ok(())
}

#[test]
fn max_prefix_restart_after_brings_the_session_back() -> Result<()> {
    if !require_interop(&["gobgp"]) {
        return Ok(());
    }
    let (_lab, mdcd, gobgp) = max_prefix_lab("ribmaxrestart", &["restart-after = 3"])?;
    let first = wait_trips(&gobgp, 1)?;
    check_tripped(&mdcd, &gobgp, 1)?;
    // After 3 s mdcd starts the session again; GoBGP still sends five
    // prefixes, so it trips again.
    let second = wait_trips(&gobgp, 2)?;
    let gap = second.duration_since(first);
    assert!(
        gap >= Duration::from_millis(2500),
        "the session came back after {gap:?}, before restart-after (3 s)"
    );
    assert!(gap <= Duration::from_secs(15), "the session came back only after {gap:?}");
    check_tripped(&mdcd, &gobgp, 2)?;
    // mdcd itself waited the 3 s (GoBGP's own idle hold after a
    // NOTIFICATION, about 5 s, also delays the second session, so the gap
    // above alone would not show it).
    let sent = mdcd_log_lines(&mdcd, "sent NOTIFICATION 6/1");
    let restarted = mdcd_log_lines(&mdcd, "hold-down over");
    assert!(!restarted.is_empty(), "mdcd did not log the end of the hold-down:\n{}", mdcd.log_tail(40));
    let waited = restarted[0].0 - sent[0].0;
    assert!(
        (2.9..4.0).contains(&waited),
        "mdcd restarted the session {waited:.3} s after the trip, not 3 s: {sent:?} {restarted:?}"
    );
    Ok(())
}

#[test]
fn max_prefix_warning_only_keeps_the_session() -> Result<()> {
    if !require_interop(&["gobgp"]) {
        return Ok(());
    }
    let (_lab, mdcd, gobgp) = max_prefix_lab("ribmaxwarn", &["warning-only = true"])?;
    gobgp.wait_established(MDCD, T)?;
    mdcd.wait_established(GOBGP, T)?;
    wait_until("mdcd holds all 5 of GoBGP's prefixes", T, POLL, || {
        let n = mdcd_paths_from(&mdcd, GOBGP)?;
        Ok(if n == 5 { Check::Done(()) } else { Check::Pending(format!("{n} paths from GoBGP")) })
    })
    .map_err(|e| mdcd.with_log(e))?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        assert_eq!(gobgp.session_state(ip(MDCD))?, SessionState::Established);
        assert_eq!(mdcd.session_state(ip(GOBGP))?, SessionState::Established);
        std::thread::sleep(POLL);
    }
    assert_eq!(notifications_received(&gobgp)?, 0, "{}", gobgp.log_tail(20));
    assert_eq!(mdcd_paths_from(&mdcd, GOBGP)?, 5);
    let v = mdcd.neighbor_json(GOBGP)?;
    assert_eq!(v["prefixes_received"].as_u64(), Some(5), "{v}");
    let warned = mdcd_log_lines(&mdcd, "more than the limit of 3 (warning only)");
    assert!(!warned.is_empty(), "mdcd did not warn about the exceeded limit:\n{}", mdcd.log_tail(40));
    assert!(mdcd_log_lines(&mdcd, "NOTIFICATION 6/1").is_empty(), "{}", mdcd.log_tail(40));
    Ok(())
}

/// FRR's counters for its session with `neighbor`.
fn frr_neighbor(frr: &Frr, neighbor: &str) -> Result<Value> {
    let v = frr.json(&format!("show bgp neighbors {neighbor} json"))?;
    Ok(v[neighbor].clone())
}

#[test]
fn mdcctl_clear_bgp_soft_in_out_and_hard_against_frr() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let lab = Lab::new("ribclear")?.node("mdcd")?.node("frr")?.link(
        "mdcd",
        "192.0.2.1/30",
        "frr",
        "192.0.2.2/30",
    )?;
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(65000, MDCD).neighbor(Neighbor::new("192.0.2.2", 65001)).network("198.51.100.0/24"),
    )?;
    let frr = Frr::start_in(
        &lab,
        "frr",
        BgpConfig::new(65001, "192.0.2.2").neighbor(Neighbor::new(MDCD, 65000)).network("203.0.113.0/24"),
    )?;
    frr.wait_established(MDCD, T)?;
    wait_until("FRR has mdcd's route and mdcd FRR's", T, POLL, || {
        let theirs = frr_best(&frr, "198.51.100.0/24")?.is_some();
        let ours = !mdcd_paths(&mdcd, "203.0.113.0/24")?.is_empty();
        Ok(if theirs && ours {
            Check::Done(())
        } else {
            Check::Pending(format!("frr {theirs}, mdcd {ours}"))
        })
    })?;
    let stat = |key: &str| -> Result<u64> {
        Ok(frr_neighbor(&frr, MDCD)?
            .pointer(&format!("/messageStats/{key}"))
            .and_then(Value::as_u64)
            .unwrap_or(0))
    };

    // Soft in: no pre-policy copy, so mdcd asks FRR for a ROUTE-REFRESH.
    let sessions = frr_established_count(&frr, MDCD)?;
    let refreshes = stat("routeRefreshRecv")?;
    assert!(mdcd.clear_bgp("192.0.2.2", &["soft", "in"])?.contains("soft reset in"));
    wait_until("FRR receives a ROUTE-REFRESH", T, POLL, || {
        let n = stat("routeRefreshRecv")?;
        Ok(if n > refreshes { Check::Done(()) } else { Check::Pending(format!("{n} route refreshes")) })
    })?;
    // Soft out: mdcd sends its table again.
    let updates = stat("updatesRecv")?;
    assert!(mdcd.clear_bgp("192.0.2.2", &["soft", "out"])?.contains("soft reset out"));
    wait_until("FRR receives mdcd's table again", T, POLL, || {
        let n = stat("updatesRecv")?;
        Ok(if n > updates { Check::Done(()) } else { Check::Pending(format!("{n} UPDATEs")) })
    })?;
    assert_eq!(frr_established_count(&frr, MDCD)?, sessions, "soft resets keep the session");
    assert!(frr_best(&frr, "198.51.100.0/24")?.is_some());

    // Hard: a NOTIFICATION (Cease/4), and the session comes back.
    let notifications = stat("notificationsRecv")?;
    assert!(mdcd.clear_bgp("192.0.2.2", &[])?.contains("Cease/4"));
    wait_until("the session comes back after the reset", T, POLL, || {
        let n = frr_established_count(&frr, MDCD)?;
        let up = frr.session_state(ip(MDCD))? == SessionState::Established;
        Ok(if n > sessions && up {
            Check::Done(())
        } else {
            Check::Pending(format!("{n} sessions, up: {up}"))
        })
    })?;
    assert!(stat("notificationsRecv")? > notifications, "FRR got mdcd's NOTIFICATION");

    // Errors name what was wrong.
    let e = mdcd.clear_bgp("192.0.2.99", &[]).unwrap_err().to_string();
    assert!(e.contains("192.0.2.99"), "{e}");
    Ok(())
}
