//! The IPv6 next hop mdcd sends to FRR 8.4 (issue 14), checked where it
//! matters: FRR's BGP table, the route zebra puts in FRR's kernel, and a
//! ping from FRR's namespace to the address behind it (on mdcd's `lo`, as
//! an EIP would be).
//!
//! 1. IPv6 routes over an IPv4 session carry the global address of mdcd's
//!    interface towards FRR (not the IPv4-mapped `::ffff:192.0.2.1`, which
//!    no kernel can reach), and its link-local address as the second next
//!    hop if FRR shows one; an IPv4 route on the same session is the
//!    control;
//! 2. an IPv6 session on a shared link carries the global address and the
//!    link-local one (RFC 2545 §3);
//! 3. a configured `ipv6-next-hop` (a second global address of the link)
//!    is the global next hop.
//!
//! The lab: mdcd (192.0.2.1/24, 2001:db8:1::1/64) and FRR (192.0.2.2/24,
//! 2001:db8:1::2/64) on one link; mdcd (AS 65001) originates
//! 2001:db8:100::1/128 and 203.0.113.1/32 to FRR (AS 65002).
//!
//! Needs root and FRR: outside CI these tests print `skipped: ...`; under
//! `CI=true` a missing FRR fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use mdc_tests::{
    BgpConfig, BgpPeer, Check, Error, Family, Frr, Lab, Mdcd, MdcdBinaries, Neighbor, Result,
    require_interop, wait_until,
};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);
/// How long a ping may take to get through once the route is installed
/// (neighbour discovery on the first packet).
const PING_T: Duration = Duration::from_secs(10);

/// mdcd's and FRR's addresses on the link.
const M4: &str = "192.0.2.1";
const F4: &str = "192.0.2.2";
const M6: &str = "2001:db8:1::1";
const F6: &str = "2001:db8:1::2";
/// mdcd's second global address on the link (test 3).
const M6_SECOND: &str = "2001:db8:1::11";
/// The link's interface in mdcd's node and in FRR's.
const M_IF: &str = "to-frr";
const F_IF: &str = "to-mdcd";
/// Addresses on mdcd's `lo`, originated to FRR.
const EIP6: &str = "2001:db8:100::1";
const EIP4: &str = "203.0.113.1";
const P6: &str = "2001:db8:100::1/128";
const P4: &str = "203.0.113.1/32";

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::msg(format!("{e}: {text}")))
}

/// Nodes `mdcd` and `frr` on one link (`extra` more addresses on mdcd's
/// side), the EIPs on mdcd's `lo`, every IPv6 address past DAD; mdcd's
/// link-local address on the link.
fn lab(short: &str, extra: &str) -> Result<(Lab, String)> {
    let lab = Lab::new(short)?.node("mdcd")?.node("frr")?.link(
        "mdcd",
        &format!("{M4}/24 {M6}/64 {extra}"),
        "frr",
        &format!("{F4}/24 {F6}/64"),
    )?;
    lab.add_addrs("mdcd", "lo", &format!("{P6} {P4}"))?;
    // The harness adds addresses with `nodad` and turns DAD off, but the
    // link-local addresses come with the link: wait until nothing is
    // tentative and mdcd's link-local address is there.
    let ll = wait_until("IPv6 addresses past DAD", T, POLL, || {
        for node in ["mdcd", "frr"] {
            let tentative = lab.exec(node, &["ip", "-6", "addr", "show", "tentative"])?;
            if !tentative.trim().is_empty() {
                return Ok(Check::Pending(format!("{node}: {tentative}")));
            }
        }
        let v = parse_json(
            &lab.exec("mdcd", &["ip", "-j", "-6", "addr", "show", "dev", M_IF, "scope", "link"])?,
        )?;
        // iproute2 lists the addresses the filter left out as `{}`.
        let ll = v[0]["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["local"].as_str())
            .find(|a| a.starts_with("fe80:"));
        Ok(match ll {
            Some(ll) => Check::Done(ll.to_string()),
            None => Check::Pending(format!("no link-local address on mdcd's {M_IF}: {v}")),
        })
    })?;
    Ok((lab, ll))
}

/// Start FRR with `frr_neighbor` and mdcd with `mdcd_neighbor` (and
/// `peer_lines` in its `[[peer]]` table) originating `networks`; wait for
/// the session on FRR's side.
fn start(
    lab: &Lab,
    frr_neighbor: Neighbor,
    mdcd_neighbor: Neighbor,
    peer_lines: &[&str],
    networks: &[&str],
) -> Result<(Mdcd, Frr)> {
    // FRR's address on the session (mdcd's neighbor) and mdcd's.
    let (frr_addr, mdcd_addr) = (mdcd_neighbor.address.to_string(), frr_neighbor.address.to_string());
    let frr = Frr::start_in(lab, "frr", BgpConfig::new(65002, F4).neighbor(frr_neighbor))?;
    let mut config = BgpConfig::new(65001, M4).neighbor(mdcd_neighbor);
    for n in networks {
        config = config.network(n);
    }
    let mut mdcd = Mdcd::new(lab, "mdcd", bins(), config)?;
    for line in peer_lines {
        mdcd = mdcd.peer_option(&frr_addr, line);
    }
    if let Err(e) = mdcd.start() {
        return Err(mdcd.with_log(e.context("mdcd did not start")));
    }
    frr.wait_established(&mdcd_addr, T).map_err(|e| mdcd.with_log(e))?;
    Ok((mdcd, frr))
}

/// One next hop of a path in FRR's BGP table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FrrNextHop {
    ip: String,
    /// `global` or `link-local`.
    scope: String,
}

/// One path in FRR's BGP table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FrrPath {
    valid: bool,
    best: bool,
    next_hops: Vec<FrrNextHop>,
}

impl FrrPath {
    fn global(&self) -> Option<&str> {
        self.next_hops.iter().find(|n| n.scope != "link-local").map(|n| n.ip.as_str())
    }

    fn link_local(&self) -> Option<&str> {
        self.next_hops.iter().find(|n| n.scope == "link-local").map(|n| n.ip.as_str())
    }
}

/// FRR's paths to `prefix` (`show bgp ipv6 unicast PREFIX json`).
fn frr_paths(frr: &Frr, prefix: &str) -> Result<Vec<FrrPath>> {
    let v = frr.json(&format!("show bgp ipv6 unicast {prefix} json"))?;
    Ok(v["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| FrrPath {
            // FRR writes the flag only when it is true.
            valid: p["valid"].as_bool() == Some(true),
            best: p.pointer("/bestpath/overall").and_then(Value::as_bool) == Some(true),
            next_hops: p["nexthops"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| FrrNextHop {
                    ip: n["ip"].as_str().unwrap_or("-").to_string(),
                    scope: n["scope"].as_str().unwrap_or("-").to_string(),
                })
                .collect(),
        })
        .collect())
}

/// What FRR and its kernel show for `prefix` (the failure message), and
/// whether a ping to `addr` from FRR's node gets through.
fn frr_view(lab: &Lab, frr: &Frr, prefix: &str, addr: &str) -> String {
    let show = |r: Result<String>| r.unwrap_or_else(|e| format!("({e})"));
    let v6 = addr.contains(':');
    let (bgp, rib, ip) = if v6 { ("ipv6", "ipv6", "-6") } else { ("ipv4", "ip", "-4") };
    format!(
        "\n----- FRR: show bgp {bgp} unicast {prefix}\n{}\n----- FRR: show {rib} route {prefix} json\n{}\n\
         ----- FRR's kernel: ip {ip} route show exact {prefix}\n{}\n----- ping {addr} from FRR's node: {}",
        show(frr.vtysh(&[&format!("show bgp {bgp} unicast {prefix}")])),
        // JSON: it says `"failed": true` when the kernel refused the route.
        show(frr.vtysh(&[&format!("show {rib} route {prefix} json")])),
        show(lab.exec("frr", &["ip", ip, "route", "show", "exact", prefix])),
        match ping(lab, addr) {
            Ok(()) => "answered".to_string(),
            Err(e) => format!("no answer ({e})"),
        }
    )
}

/// (a) Wait until FRR's best path to `prefix` has the global next hop
/// `global`; then its link-local next hop, if it has one (and it must if
/// `required`), must be `link_local`, mdcd's address on the link.
fn wait_frr_next_hop(
    lab: &Lab,
    frr: &Frr,
    prefix: &str,
    addr: &str,
    global: &str,
    (link_local, required): (&str, bool),
) -> Result<()> {
    let what = format!("FRR's best path to {prefix} with the global next hop {global}");
    let path = wait_until(&what, T, POLL, || {
        let paths = frr_paths(frr, prefix)?;
        Ok(match paths.iter().find(|p| p.best && p.global() == Some(global)) {
            Some(p) => Check::Done(p.clone()),
            None => Check::Pending(format!("{paths:?}")),
        })
    })
    .map_err(|e| Error::msg(format!("{e}{}", frr_view(lab, frr, prefix, addr))))?;
    let view = || frr_view(lab, frr, prefix, addr);
    assert!(path.valid, "{path:?}{}", view());
    match path.link_local() {
        Some(ll) => {
            assert_eq!(ll, link_local, "the link-local next hop is mdcd's on the link: {path:?}{}", view())
        }
        None => assert!(!required, "no link-local next hop on a shared link: {path:?}{}", view()),
    }
    Ok(())
}

/// (b) Wait until zebra installed `prefix` in FRR's kernel via one of
/// `gateways` on the link.
fn wait_installed(lab: &Lab, frr: &Frr, prefix: &str, addr: &str, gateways: &[&str]) -> Result<()> {
    let ip = if addr.contains(':') { "-6" } else { "-4" };
    let what = format!("{prefix} in FRR's kernel via {gateways:?} dev {F_IF}");
    wait_until(&what, T, POLL, || {
        let v = parse_json(&lab.exec("frr", &["ip", "-j", ip, "route", "show", "exact", prefix])?)?;
        let r = &v[0];
        let installed = r["protocol"].as_str() == Some("bgp")
            && r["dev"].as_str() == Some(F_IF)
            && r["gateway"].as_str().is_some_and(|gw| gateways.contains(&gw));
        Ok(if installed { Check::Done(()) } else { Check::Pending(v.to_string()) })
    })
    .map_err(|e| Error::msg(format!("{e}{}", frr_view(lab, frr, prefix, addr))))
}

/// One ping from FRR's node to `addr`.
fn ping(lab: &Lab, addr: &str) -> Result<()> {
    let family = if addr.contains(':') { "-6" } else { "-4" };
    lab.exec("frr", &["ping", family, "-c", "1", "-W", "2", addr]).map(|_| ())
}

/// (c) Wait until a ping from FRR's node to `addr` is answered.
fn wait_ping(lab: &Lab, frr: &Frr, prefix: &str, addr: &str) -> Result<()> {
    wait_until(&format!("a ping from FRR's node to {addr} answered"), PING_T, POLL, || {
        Ok(match ping(lab, addr) {
            Ok(()) => Check::Done(()),
            Err(e) => Check::Pending(e.to_string()),
        })
    })
    .map_err(|e| Error::msg(format!("{e}{}", frr_view(lab, frr, prefix, addr))))
}

/// The IPv4 route on the session: FRR's best path via 192.0.2.1, in its
/// kernel, and 203.0.113.1 answers.
fn ipv4_control(lab: &Lab, frr: &Frr) -> Result<()> {
    let r = frr.wait_route(P4, T, &|r| r.as_path == [65001])?;
    assert_eq!(r.next_hop, Some(M4.parse().unwrap()), "{r:?}");
    wait_installed(lab, frr, P4, EIP4, &[M4])?;
    wait_ping(lab, frr, P4, EIP4)
}

/// (a), (b) and (c) for the IPv6 EIP, whose global next hop must be
/// `global`.
fn check_ipv6(lab: &Lab, frr: &Frr, global: &str, link_local: (&str, bool)) -> Result<()> {
    wait_frr_next_hop(lab, frr, P6, EIP6, global, link_local)?;
    // zebra picks the link-local next hop when there is one (FRR 8.4).
    wait_installed(lab, frr, P6, EIP6, &[global, link_local.0])?;
    wait_ping(lab, frr, P6, EIP6)
}

fn both_families(address: &str, remote_as: u32) -> Neighbor {
    Neighbor::new(address, remote_as).families(&[Family::Ipv4Unicast, Family::Ipv6Unicast])
}

#[test]
fn ipv6_routes_over_an_ipv4_session_use_the_interface_global_address() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (lab, ll) = lab("nh6v4", "")?;
    let (_mdcd, frr) = start(&lab, both_families(M4, 65001), both_families(F4, 65002), &[], &[P6, P4])?;
    ipv4_control(&lab, &frr)?;
    // Not ::ffff:192.0.2.1: the interface's own global address.
    check_ipv6(&lab, &frr, M6, (&ll, false))
}

#[test]
fn ipv6_session_on_a_shared_link_sends_global_and_link_local() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (lab, ll) = lab("nh6v6", "")?;
    let (_mdcd, frr) = start(&lab, Neighbor::new(M6, 65001), Neighbor::new(F6, 65002), &[], &[P6])?;
    check_ipv6(&lab, &frr, M6, (&ll, true))
}

#[test]
fn a_configured_ipv6_next_hop_is_used() -> Result<()> {
    if !require_interop(&["frr"]) {
        return Ok(());
    }
    let (lab, ll) = lab("nh6cfg", &format!("{M6_SECOND}/64"))?;
    let line = format!("ipv6-next-hop = \"{M6_SECOND}\"");
    let (_mdcd, frr) = start(&lab, both_families(M4, 65001), both_families(F4, 65002), &[&line], &[P6, P4])?;
    ipv4_control(&lab, &frr)?;
    // The configured address, not the link's first one (2001:db8:1::1).
    check_ipv6(&lab, &frr, M6_SECOND, (&ll, false))
}
