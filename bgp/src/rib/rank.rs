//! Each destination's paths in decision order: the decision process
//! ([`super::decision`]) applied to the RIB's paths, reading what it needs
//! of their peers and of next-hop tracking; the best path and the ECMP set
//! are taken from the head of that order.
//!
//! Owns the order. It sorts a destination's paths again and marks it
//! dirty; it neither adds nor removes paths, nor exports.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use super::attrs::Attrs;
use super::decision::{self, Ranked, Reason};
use super::fib::NextHops;
use super::table::{self, LOCAL, Path, PeerId};
use super::{Peer, Rib, RibConfig};
use crate::attr::Origin;
use crate::family::Family;

/// The best path: the first, unless its next hop is unreachable (then so
/// are all the others: they sort after it).
pub(super) fn best(paths: &[Path]) -> Option<&Path> {
    paths.first().filter(|p| !p.unreachable)
}

/// `Greater` when `a` is the better path.
pub(super) fn compare(
    config: &RibConfig,
    peers: &[Option<Peer>],
    nh: &NextHops,
    a: &Path,
    b: &Path,
) -> (Ordering, Reason) {
    decision::compare(&ranked(peers, nh, a), &ranked(peers, nh, b), config.decision)
}

/// A path as the decision process sees it; values are read when a step
/// asks for them.
struct RankedPath<'a> {
    path: &'a Path,
    peer: Option<&'a Peer>,
    next_hops: &'a NextHops,
}

fn ranked<'a>(peers: &'a [Option<Peer>], next_hops: &'a NextHops, path: &'a Path) -> RankedPath<'a> {
    RankedPath { path, peer: peers.get(path.peer as usize).and_then(Option::as_ref), next_hops }
}

impl Ranked for RankedPath<'_> {
    fn unreachable(&self) -> bool {
        self.path.unreachable
    }
    fn stale(&self) -> bool {
        self.path.stale
    }
    fn weight(&self) -> u32 {
        self.path.attrs.weight()
    }
    fn local_pref(&self) -> Option<u32> {
        self.path.attrs.local_pref()
    }
    fn locally_originated(&self) -> bool {
        self.path.peer == LOCAL
    }
    fn path_len(&self) -> usize {
        self.path.attrs.path_len()
    }
    fn origin(&self) -> Origin {
        self.path.attrs.origin()
    }
    fn neighbour_as(&self) -> Option<u32> {
        self.path.attrs.first_as()
    }
    fn med(&self) -> Option<u32> {
        self.path.attrs.med()
    }
    fn ebgp(&self) -> bool {
        self.peer.is_some_and(|q| q.ebgp)
    }
    fn igp_cost(&self) -> u32 {
        self.next_hops.cost(&self.path.attrs)
    }
    fn router_id(&self) -> Ipv4Addr {
        let peer_id = self.peer.map_or(Ipv4Addr::UNSPECIFIED, |q| q.router_id);
        self.path.attrs.originator_id().unwrap_or(peer_id)
    }
    fn cluster_list_len(&self) -> usize {
        self.path.attrs.cluster_list_len()
    }
    fn peer_address(&self) -> IpAddr {
        self.peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |q| q.policy.address)
    }
}

impl Rib {
    /// Sort a destination's paths again (after stale marks or a config change).
    pub(super) fn resort(&mut self, family: Family, i: u32) {
        let before =
            self.tables.get(&family).and_then(|t| t.slot(i)).and_then(|s| best(&s.paths)).map(Path::identity);
        self.sort_paths(family, i, before);
    }

    /// Sort a destination's paths; `before` was its best path.
    pub(super) fn sort_paths(&mut self, family: Family, i: u32, before: Option<(PeerId, u32, *const Attrs)>) {
        let Some(table) = self.tables.get_mut(&family) else { return };
        let Some(slot) = table.slot_mut(i) else { return };
        let mut paths = std::mem::take(&mut slot.paths).into_vec();
        // Insertion sort: keeps arrival order among equals, like insert_path.
        let mut sorted: Vec<Path> = Vec::with_capacity(paths.len());
        for p in paths.drain(..) {
            let at = sorted
                .iter()
                .position(|q| {
                    compare(&self.config, &self.peers, &self.next_hops, &p, q).0 == Ordering::Greater
                })
                .unwrap_or(sorted.len());
            sorted.insert(at, p);
        }
        slot.paths = table::Paths::from_vec(sorted);
        let best_changed = best(&slot.paths).map(Path::identity) != before;
        table.mark_dirty(i, best_changed);
    }

    /// The ECMP set of a destination: the best path and those equal to it
    /// through the IGP cost step, at most `maximum_paths`.
    pub(super) fn multipath_len(&self, family: Family, paths: &[Path]) -> usize {
        let Some(first) = best(paths) else { return 0 };
        let max = self.config.maximum_paths(family);
        let b = ranked(&self.peers, &self.next_hops, first);
        1 + paths
            .iter()
            .skip(1)
            .take(max.saturating_sub(1))
            .take_while(|p| {
                decision::multipath_equal(
                    &b,
                    &ranked(&self.peers, &self.next_hops, p),
                    self.config.decision,
                    self.config.multipath_relax,
                )
            })
            .count()
    }
}
