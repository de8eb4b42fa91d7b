//! mdcd against FRR 8.4, BIRD 2.0.12 and GoBGP 3.10 in network namespaces:
//! for each peer, eBGP and iBGP, IPv4 and IPv6 unicast (one session per
//! address family's transport), routes originated on each side arrive on
//! the other with the right attributes — checked on both sides' own CLIs
//! (vtysh / birdc / gobgp, and mdcctl) — and withdrawals arrive too, in
//! both directions (mdcd's through a config reload on SIGHUP).
//!
//! Needs root and the peers: outside CI these tests print `skipped: ...`;
//! under `CI=true` a missing peer fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use mdc_tests::{
    BgpConfig, BgpPeer, Bird, Frr, GoBgp, Lab, Mdcd, MdcdBinaries, Neighbor, Result, require_interop,
};

const T: Duration = Duration::from_secs(30);

fn bins() -> MdcdBinaries {
    MdcdBinaries { mdcd: env!("CARGO_BIN_EXE_mdcd").into(), mdcctl: env!("CARGO_BIN_EXE_mdcctl").into() }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Frr,
    Bird,
    GoBgp,
}

fn start_peer(kind: Kind, lab: &Lab, config: BgpConfig) -> Result<Box<dyn BgpPeer>> {
    Ok(match kind {
        Kind::Frr => Box::new(Frr::start_in(lab, "peer", config)?),
        Kind::Bird => Box::new(Bird::start_in(lab, "peer", config)?),
        Kind::GoBgp => Box::new(GoBgp::start_in(lab, "peer", config)?),
    })
}

/// mdcd (192.0.2.1, 2001:db8:1::1) and a peer (.2, ::2) on one link.
fn exchange(kind: Kind, ibgp: bool) -> Result<()> {
    let need = match kind {
        Kind::Frr => "frr",
        Kind::Bird => "bird",
        Kind::GoBgp => "gobgp",
    };
    if !require_interop(&[need]) {
        return Ok(());
    }
    let short = format!("{}{}", need, if ibgp { "i" } else { "e" });
    let lab = Lab::new(&short)?.node("mdcd")?.node("peer")?.link(
        "mdcd",
        "192.0.2.1/30 2001:db8:1::1/64",
        "peer",
        "192.0.2.2/30 2001:db8:1::2/64",
    )?;
    let (our_as, their_as) = if ibgp { (65001, 65001) } else { (65001, 65002) };
    let mdcd = Mdcd::start_in(
        &lab,
        "mdcd",
        bins(),
        BgpConfig::new(our_as, "192.0.2.1")
            .neighbor(Neighbor::new("192.0.2.2", their_as))
            .neighbor(Neighbor::new("2001:db8:1::2", their_as))
            .network("198.51.100.0/26")
            .network("2001:db8:100::/48"),
    )?;
    let peer = start_peer(
        kind,
        &lab,
        BgpConfig::new(their_as, "192.0.2.2")
            .neighbor(Neighbor::new("192.0.2.1", our_as))
            .neighbor(Neighbor::new("2001:db8:1::1", our_as))
            .network("203.0.113.0/26")
            .network("2001:db8:200::/48"),
    )?;
    let expect_path: Vec<u32> = if ibgp { vec![] } else { vec![our_as] };
    let expect_their_path: Vec<u32> = if ibgp { vec![] } else { vec![their_as] };

    for n in ["192.0.2.1", "2001:db8:1::1"] {
        peer.wait_established(n, T)?;
    }
    for n in ["192.0.2.2", "2001:db8:1::2"] {
        mdcd.wait_established(n, T)?;
    }
    // mdcd's routes on the peer's CLI.
    let r = peer.wait_route("198.51.100.0/26", T, &|r| r.as_path == expect_path)?;
    assert_eq!(r.next_hop, Some("192.0.2.1".parse().unwrap()), "{kind:?}: {r:?}");
    if ibgp {
        assert_eq!(r.local_pref, Some(100), "{kind:?}: iBGP routes carry LOCAL_PREF: {r:?}");
    }
    let r6 = peer.wait_route("2001:db8:100::/48", T, &|r| r.as_path == expect_path)?;
    assert_eq!(r6.next_hop, Some("2001:db8:1::1".parse().unwrap()), "{kind:?}: {r6:?}");
    // The peer's routes on mdcctl.
    let r = mdcd.wait_route("203.0.113.0/26", T, &|r| r.as_path == expect_their_path)?;
    assert_eq!(r.next_hop, Some("192.0.2.2".parse().unwrap()), "{kind:?}: {r:?}");
    let r6 = mdcd.wait_route("2001:db8:200::/48", T, &|r| r.as_path == expect_their_path)?;
    assert_eq!(r6.next_hop, Some("2001:db8:1::2".parse().unwrap()), "{kind:?}: {r6:?}");
    // Withdrawals from the peer reach mdcd.
    peer.withdraw("203.0.113.0/26")?;
    peer.withdraw("2001:db8:200::/48")?;
    mdcd.wait_no_route("203.0.113.0/26", T)?;
    mdcd.wait_no_route("2001:db8:200::/48", T)?;
    // And mdcd's own routes are still there on the peer.
    assert!(peer.best_route("198.51.100.0/26")?.is_some());
    // mdcd's withdrawals and new announcements (config reload on SIGHUP)
    // reach the peer.
    mdcd.withdraw("198.51.100.0/26")?;
    mdcd.withdraw("2001:db8:100::/48")?;
    mdcd.announce("198.51.100.128/26")?;
    peer.wait_no_route("198.51.100.0/26", T)?;
    peer.wait_no_route("2001:db8:100::/48", T)?;
    peer.wait_route("198.51.100.128/26", T, &|r| r.as_path == expect_path)?;
    Ok(())
}

#[test]
fn frr_ebgp() -> Result<()> {
    exchange(Kind::Frr, false)
}

#[test]
fn frr_ibgp() -> Result<()> {
    exchange(Kind::Frr, true)
}

#[test]
fn bird_ebgp() -> Result<()> {
    exchange(Kind::Bird, false)
}

#[test]
fn bird_ibgp() -> Result<()> {
    exchange(Kind::Bird, true)
}

#[test]
fn gobgp_ebgp() -> Result<()> {
    exchange(Kind::GoBgp, false)
}

#[test]
fn gobgp_ibgp() -> Result<()> {
    exchange(Kind::GoBgp, true)
}
