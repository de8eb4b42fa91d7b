//! Read-only views of the RIB for status output (`mdcctl`) and tests: a
//! destination's paths with why each lost, a peer's received (pre- and
//! post-policy) and advertised routes, counts.
//!
//! Changes nothing: the attributes a peer was sent are computed again by
//! `export` (ADR 0006: they are not stored).

use std::net::IpAddr;
use std::sync::Arc;

use super::Rib;
use super::attrs::Attrs;
use super::decision::Reason;
use super::export::export_attrs;
use super::rank::{best, compare};
use super::table::{Dest, Path, PeerId, Table};
use crate::family::Family;
use crate::nlri::Prefix;

/// One path with what the decision process made of it.
#[derive(Debug, Clone)]
pub struct PathView {
    pub path: Path,
    /// The peer's address; `None` for routes originated here.
    pub from: Option<IpAddr>,
    pub best: bool,
    /// In the ECMP set (the best path is too).
    pub multipath: bool,
    /// Why it is not the best path (the step that preferred the best).
    pub lost: Option<Reason>,
}

/// A destination and its paths, best first.
#[derive(Debug, Clone)]
pub struct RouteView {
    pub family: Family,
    pub dest: Dest,
    pub paths: Vec<PathView>,
}

/// Counts for status output and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RibStats {
    pub destinations: usize,
    pub paths: usize,
    pub attribute_sets: usize,
}

impl Rib {
    fn view(&self, family: Family, dest: &Dest, paths: &[Path]) -> RouteView {
        let ecmp = self.multipath_len(family, paths);
        let top = best(paths);
        let paths = paths
            .iter()
            .enumerate()
            .map(|(i, p)| PathView {
                path: p.clone(),
                from: self.peer(p.peer).map(|q| q.policy.address),
                best: i == 0 && top.is_some(),
                multipath: i < ecmp,
                lost: match top {
                    _ if p.unreachable => Some(Reason::NextHopUnreachable),
                    Some(b) if i > 0 => Some(compare(&self.config, &self.peers, &self.next_hops, b, p).1),
                    _ => None,
                },
            })
            .collect();
        RouteView { family, dest: dest.clone(), paths }
    }

    /// One destination.
    pub fn lookup(&self, family: Family, prefix: &Prefix) -> Option<RouteView> {
        self.lookup_dest(family, &Dest::Prefix(*prefix))
    }

    /// One destination of any family.
    pub fn lookup_dest(&self, family: Family, dest: &Dest) -> Option<RouteView> {
        let t = self.tables.get(&family)?;
        let s = t.slot(t.find(dest)?)?;
        (!s.paths.is_empty()).then(|| self.view(family, &s.dest, &s.paths))
    }

    /// The destinations of `family` that pass `filter`, sorted.
    pub fn routes(&self, family: Family, filter: impl Fn(&Dest) -> bool) -> Vec<RouteView> {
        let Some(t) = self.tables.get(&family) else { return Vec::new() };
        let mut v: Vec<RouteView> = t
            .live()
            .filter(|(_, s)| filter(&s.dest))
            .map(|(_, s)| self.view(family, &s.dest, &s.paths))
            .collect();
        v.sort_by(|a, b| a.dest.cmp(&b.dest));
        v
    }

    /// The peer's routes in the Loc-RIB (its post-policy Adj-RIB-In).
    pub fn received(&self, id: PeerId, family: Family) -> Vec<(Dest, Path)> {
        let Some(t) = self.tables.get(&family) else { return Vec::new() };
        let mut v: Vec<(Dest, Path)> = t
            .live()
            .flat_map(|(_, s)| s.paths.iter().filter(|p| p.peer == id).map(|p| (s.dest.clone(), p.clone())))
            .collect();
        v.sort_by(|(a, x), (b, y)| (a, x.path_id).cmp(&(b, y.path_id)));
        v
    }

    /// The peer's pre-policy routes (with soft reconfiguration inbound).
    pub fn received_pre_policy(&self, id: PeerId, family: Family) -> Vec<(Dest, u32, Arc<Attrs>)> {
        let Some(p) = self.peer(id) else { return Vec::new() };
        let mut v: Vec<(Dest, u32, Arc<Attrs>)> = p
            .pre_policy
            .iter()
            .filter(|((f, _, _), _)| *f == family)
            .map(|((_, dest, id), a)| (dest.clone(), *id, Arc::clone(a)))
            .collect();
        v.sort_by(|(a, x, _), (b, y, _)| (a, x).cmp(&(b, y)));
        v
    }

    /// What the peer was sent for `family` (its Adj-RIB-Out), with the
    /// attributes as they were computed for it.
    pub fn advertised(&mut self, id: PeerId, family: Family) -> Vec<(Dest, Arc<Attrs>)> {
        let Rib { config, tables, peers, .. } = self;
        let Some(t) = tables.get(&family) else { return Vec::new() };
        let Some(Some(q)) = peers.get(id as usize) else { return Vec::new() };
        let (Some(session), Some(bits)) = (q.session.clone(), q.advertised.get(&family)) else {
            return Vec::new();
        };
        let bits = bits.clone();
        let mut v: Vec<(Dest, Arc<Attrs>)> = t
            .live()
            .filter(|(i, _)| bits.get(*i))
            .filter_map(|(_, s)| {
                let b = best(&s.paths)?;
                export_attrs(config, peers, id, &session, family, s.dest.prefix(), b, true)
                    .map(|a| (s.dest.clone(), a))
            })
            .collect();
        v.sort_by(|(a, _), (b, _)| a.cmp(b));
        v
    }

    /// Number of destinations the peer holds from us, per family.
    pub fn advertised_counts(&self, id: PeerId) -> Vec<(Family, usize)> {
        let mut v: Vec<(Family, usize)> = self
            .peer(id)
            .map(|p| p.advertised.iter().map(|(f, b)| (*f, b.count())).collect())
            .unwrap_or_default();
        // In family order: the map's order changes with the hash's key.
        v.sort();
        v
    }

    /// Accepted paths per family of a peer.
    pub fn counts(&self, id: PeerId) -> Vec<(Family, usize)> {
        let mut v: Vec<(Family, usize)> = self
            .peer(id)
            .map(|p| p.counts.iter().map(|(f, c)| (*f, *c)).filter(|(_, c)| *c > 0).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn stats(&self) -> RibStats {
        RibStats {
            destinations: self.tables.values().map(Table::len).sum(),
            paths: self.tables.values().flat_map(|t| t.live().map(|(_, s)| s.paths.len())).sum(),
            attribute_sets: self.interner.lock().len(),
        }
    }
}
