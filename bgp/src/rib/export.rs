//! The export rules: the attributes one peer gets for one path, or
//! nothing (RFC 4271 §9.1.3, RFC 4456 §6/§8, RFC 1997, RFC 8212, the
//! export policy). The common eBGP export (no export policy) is done on
//! the encoded set (`Attrs::ebgp_export`), the others through the typed
//! attributes; both leave out what [`EBGP_EXPORT_DROPS`] says (also after
//! an export policy: a LOCAL_PREF it sets never reaches an external peer),
//! and give an external peer no confederation segment. Both copy flags and
//! unknown attributes from sets that already hold them as they may be
//! passed on (`Attrs::new` applies `PathAttribute::pass_on`: RFC 4271 §5).
//!
//! Owns that per-path result; it reads the peers and the path and changes
//! nothing (what a peer holds and is sent is `adj_rib_out`'s).

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use super::attrs::{Attrs, AttrsBuilder, CodeSet};
use super::table::{LOCAL, Path, PeerId};
use super::{NextHopOnly, Peer, PolicyRoute, PolicyVerdict, RibConfig, SessionInfo};
use crate::aspath::{AsPath, AsSegment, SegmentType};
use crate::attr::{AttrValue, NextHop, PathAttribute, code};
use crate::community::Community;
use crate::family::{Afi, Family};
use crate::nlri::Prefix;

/// Which routes an entry of [`EBGP_EXPORT_DROPS`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Routes {
    All,
    /// Routes learned from a peer: one originated here keeps the attribute.
    Learned,
}

/// What an eBGP peer is not sent. The one table both exports leave
/// attributes out by: the typed one ([`export_with`]) and the one on
/// encoded sets (`Attrs::ebgp_export`, through [`ebgp_drops`]); debug
/// builds still compare each encoded export with the typed one.
pub(super) const EBGP_EXPORT_DROPS: &[(u8, Routes)] = &[
    // RFC 4271 §5.1.4: a MED received from a neighbouring AS is not
    // propagated to other ASes (one set here, on a route originated here,
    // is sent to the neighbour).
    (code::MULTI_EXIT_DISC, Routes::Learned),
    // RFC 4271 §5.1.5: LOCAL_PREF is not sent to external peers.
    (code::LOCAL_PREF, Routes::All),
    // RFC 4456 §8: nor are ORIGINATOR_ID and CLUSTER_LIST.
    (code::ORIGINATOR_ID, Routes::All),
    (code::CLUSTER_LIST, Routes::All),
];

/// [`EBGP_EXPORT_DROPS`] as bitmasks, built at compile time: for routes
/// learned from a peer, and for routes originated here.
static EBGP_DROPS_LEARNED: CodeSet = ebgp_drops_of(true);
static EBGP_DROPS_ORIGINATED: CodeSet = ebgp_drops_of(false);

const fn ebgp_drops_of(learned: bool) -> CodeSet {
    let mut set = CodeSet::EMPTY;
    let mut rest = EBGP_EXPORT_DROPS;
    while let [(code, routes), tail @ ..] = rest {
        if learned || matches!(routes, Routes::All) {
            set = set.with(*code);
        }
        rest = tail;
    }
    set
}

/// What an eBGP peer is not sent of a route learned from a peer
/// (`learned`) or originated here ([`EBGP_EXPORT_DROPS`]).
pub(super) fn ebgp_drops(learned: bool) -> &'static CodeSet {
    if learned { &EBGP_DROPS_LEARNED } else { &EBGP_DROPS_ORIGINATED }
}

/// The attributes peer `to` gets for best path `best`, or `None` when it
/// gets nothing (RFC 4271 §9.1.3, RFC 4456 §6/§8, RFC 1997, RFC 8212, the
/// export policy).
#[allow(clippy::too_many_arguments)]
pub(super) fn export_attrs(
    config: &RibConfig,
    peers: &[Option<Peer>],
    to: PeerId,
    session: &SessionInfo,
    family: Family,
    prefix: Option<&Prefix>,
    best: &Path,
    split_horizon: bool,
) -> Option<Arc<Attrs>> {
    export_with(config, peers, to, session, family, prefix, best, split_horizon, true)
}

/// [`export_attrs`]; with `fast`, the common eBGP export is done on the
/// encoded set (`Attrs::ebgp_export`), else always through the typed
/// attributes (debug builds check that both agree).
#[allow(clippy::too_many_arguments)]
pub(super) fn export_with(
    config: &RibConfig,
    peers: &[Option<Peer>],
    to: PeerId,
    session: &SessionInfo,
    family: Family,
    prefix: Option<&Prefix>,
    best: &Path,
    split_horizon: bool,
    fast: bool,
) -> Option<Arc<Attrs>> {
    if split_horizon && best.peer == to {
        return None;
    }
    let q = peers.get(to as usize)?.as_ref()?;
    let src = if best.peer == LOCAL { None } else { Some(peers.get(best.peer as usize)?.as_ref()?) };
    let a = &best.attrs;
    let to_ebgp = !session.negotiated.internal;
    if a.has_community(Community::NO_ADVERTISE) {
        return None;
    }
    if to_ebgp && (a.has_community(Community::NO_EXPORT) || a.has_community(Community::NO_EXPORT_SUBCONFED)) {
        return None;
    }
    let from_ibgp = src.is_some_and(|s| !s.ebgp);
    let reflect = from_ibgp && !to_ebgp;
    if reflect && !(src.is_some_and(|s| s.policy.route_reflector_client) || q.policy.route_reflector_client) {
        return None;
    }
    if to_ebgp && src.is_some() && q.policy.export.is_none() && config.ebgp_requires_policy {
        return None;
    }
    let policy = q.policy.export.as_ref().filter(|p| !p.accepts_all());
    // One pass copies what the peer gets; with no policy to see the
    // attributes first, an eBGP peer's AS path gets our AS in that pass.
    let prepend_now = to_ebgp && policy.is_none();
    // Left out for an eBGP peer, by both paths below.
    let drops = ebgp_drops(src.is_some());
    // A policy that only sets the next hop is, for the common eBGP export,
    // a next hop: the encoded set is copied with it. (One that sets the
    // next hop the route already has leaves ours, as the typed path does.)
    let next_hop_only = match policy.map(|p| p.sets_only_next_hop()) {
        None => Some(NextHopOnly::SelfAddress),
        Some(Some(NextHopOnly::Address(nh))) if a.next_hop() == Some(&nh) => None,
        Some(only) => only,
    };
    if let (true, true, Some(only)) = (to_ebgp, fast, next_hop_only) {
        let nh = match only {
            NextHopOnly::SelfAddress => self_next_hop(session, family)?,
            NextHopOnly::Address(nh) => nh,
        };
        if let Some(out) = a.ebgp_export(config.local_as, drops, nh) {
            // An IPv4 route with an IPv6 next hop needs RFC 8950 on this
            // session (as below).
            if family == Family::IPV4_UNICAST
                && matches!(out.next_hop(), Some(NextHop::V6 { .. }))
                && !session.negotiated.extended_next_hop.contains(&(Family::IPV4_UNICAST, Afi::IPV6))
            {
                return None;
            }
            debug_assert_eq!(
                Some(&out),
                export_with(config, peers, to, session, family, prefix, best, split_horizon, false)
                    .as_deref(),
                "the encoded export differs from the typed one"
            );
            return Some(Arc::new(out));
        }
    }
    let mut prepended = false;
    let attributes = a.list();
    let mut list = Vec::with_capacity(attributes.len() + 2);
    for x in attributes {
        if to_ebgp && drops.contains(x.code()) {
            continue;
        }
        match &x.value {
            AttrValue::AsPath(p) if prepend_now => {
                list.push(PathAttribute {
                    flags: x.flags,
                    value: AttrValue::AsPath(external_path(p, config.local_as)),
                });
                prepended = true;
            }
            _ => list.push(x),
        }
    }
    let mut b = AttrsBuilder { list, next_hop: a.next_hop().cloned(), weight: 0, nlri: a.nlri().cloned() };
    let mut nh_self = src.is_none() && b.next_hop.is_none();
    if to_ebgp {
        nh_self = true;
    } else {
        if a.local_pref().is_none() {
            b.set(AttrValue::LocalPref(100));
        }
        if reflect && let Some(s) = src {
            if a.originator_id().is_none() {
                b.set(AttrValue::OriginatorId(s.router_id));
            }
            let mut list = vec![config.cluster_id];
            list.extend(a.cluster_list());
            b.set(AttrValue::ClusterList(list));
        }
        nh_self |= q.policy.next_hop_self && !reflect;
    }
    if let Some(policy) = policy {
        let draft = b.build();
        let route = PolicyRoute { family, prefix, from: src.map(|s| s.policy.address), attrs: &draft };
        match policy.apply(&route) {
            PolicyVerdict::Reject => return None,
            PolicyVerdict::Accept { changed, next_hop_self } => {
                let policy_nh = changed.as_ref().and_then(|c| c.next_hop.clone());
                if next_hop_self {
                    nh_self = true;
                } else if policy_nh.is_some() && policy_nh.as_ref() != draft.next_hop() {
                    nh_self = false;
                }
                b = changed.unwrap_or_else(|| draft.into_builder());
            }
        }
        // What a policy set that an external peer must never get (a MED
        // it sets is meant for the neighbour and stays).
        if to_ebgp {
            b.list.retain(|x| !ebgp_drops(false).contains(x.code()));
        }
    }
    if to_ebgp && !prepended {
        let path = external_path(a_path(&b), config.local_as);
        b.set(AttrValue::AsPath(path));
    }
    if b.list.iter().all(|x| x.code() != code::ORIGIN) {
        b.set(AttrValue::Origin(crate::attr::Origin::Igp));
    }
    if b.list.iter().all(|x| x.code() != code::AS_PATH) {
        b.set(AttrValue::AsPath(AsPath::default()));
    }
    if nh_self {
        b.next_hop = Some(self_next_hop(session, family)?);
    }
    // An IPv4 route with an IPv6 next hop needs RFC 8950 on this session.
    if family == Family::IPV4_UNICAST
        && matches!(b.next_hop, Some(NextHop::V6 { .. }))
        && !session.negotiated.extended_next_hop.contains(&(Family::IPV4_UNICAST, Afi::IPV6))
    {
        return None;
    }
    b.next_hop.as_ref()?;
    // Not interned: an exported set lives until the peer's task has
    // encoded it (interning would keep a second copy of every set alive
    // until the next sweep); within a flush, sharing comes from the memo.
    Some(Arc::new(b.build()))
}

fn a_path(b: &AttrsBuilder) -> &AsPath {
    static EMPTY: std::sync::LazyLock<AsPath> = std::sync::LazyLock::new(AsPath::default);
    b.list
        .iter()
        .find_map(|a| match &a.value {
            AttrValue::AsPath(p) => Some(p),
            _ => None,
        })
        .unwrap_or(&EMPTY)
}

/// The path an external peer gets: without confederation segments (RFC
/// 5065 §5.3: they never leave the confederation; mdc is in none, but an
/// iBGP peer in a member AS may send them), then `local_as` in front.
fn external_path(path: &AsPath, local_as: u32) -> AsPath {
    if path.has_confed() {
        let segments = path.segments.iter().filter(|s| !s.kind.is_confed()).cloned().collect();
        return prepend(&AsPath { segments }, local_as);
    }
    prepend(path, local_as)
}

/// Put `asn` in front of the path (RFC 4271 §5.1.2).
fn prepend(path: &AsPath, asn: u32) -> AsPath {
    let mut segments = Vec::with_capacity(path.segments.len() + 1);
    match path.segments.split_first() {
        Some((first, rest)) if first.kind == SegmentType::Sequence && first.asns.len() < 255 => {
            let mut asns = Vec::with_capacity(first.asns.len() + 1);
            asns.push(asn);
            asns.extend_from_slice(&first.asns);
            segments.push(AsSegment::sequence(asns));
            segments.extend_from_slice(rest);
        }
        _ => {
            segments.push(AsSegment::sequence(vec![asn]));
            segments.extend_from_slice(&path.segments);
        }
    }
    AsPath { segments }
}

fn v6_next_hop(global: Ipv6Addr) -> NextHop {
    let link_local = global.is_unicast_link_local().then_some(global);
    NextHop::V6 { global, link_local }
}

/// Our address on the session as a next hop for `family`, if the session
/// can carry one. An IPv6 next hop is the session's `ipv6_next_hop` when
/// the speaker found one (the interface's global address, and its
/// link-local one on a shared link, as FRR sends), else made of `local`.
fn self_next_hop(session: &SessionInfo, family: Family) -> Option<NextHop> {
    let ipv6 = |a: Ipv6Addr| session.ipv6_next_hop.clone().unwrap_or_else(|| v6_next_hop(a));
    match (family, session.local) {
        (Family::IPV4_UNICAST, IpAddr::V4(a)) => Some(NextHop::V4(a)),
        (Family::IPV4_UNICAST, IpAddr::V6(a)) => {
            session.negotiated.extended_next_hop.contains(&(Family::IPV4_UNICAST, Afi::IPV6)).then(|| ipv6(a))
        }
        (Family::IPV6_UNICAST, IpAddr::V6(a)) => Some(ipv6(a)),
        // IPv6 routes over an IPv4 session: the interface's IPv6 address;
        // without one, the IPv4-mapped form (which a peer may not install).
        (Family::IPV6_UNICAST, IpAddr::V4(a)) => Some(ipv6(a.to_ipv6_mapped())),
        // Other families (EVPN: the VTEP address) take the session's.
        (_, IpAddr::V4(a)) => Some(NextHop::V4(a)),
        (_, IpAddr::V6(a)) => Some(v6_next_hop(a)),
    }
}
