//! The configured peers: what the RIB is told of each ([`PeerPolicy`], the
//! [`RoutePolicy`]s it runs, the [`SessionInfo`] of an Established
//! session), what it keeps per peer ([`Peer`]), and their lifecycle:
//! sessions coming up (the table, then End-of-RIB) and going down,
//! graceful restart's stale paths (RFC 4724), policy changes and route
//! refresh (RFC 2918, RFC 7313).
//!
//! Owns the peers. What a peer is sent is computed by `adj_rib_out`, the
//! order of the paths is `rank`'s, routes in are `import`'s.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;

use super::adj_rib_out::HeldPaths;
use super::attrs::{Attrs, AttrsBuilder};
use super::hash::{RibHashMap, RibHashSet};
use super::rank::best;
use super::table::{BitSet, Dest, Path, PeerId};
use super::{Message, Output, Rib};
use crate::attr::NextHop;
use crate::family::Family;
use crate::negotiate::Negotiated;
use crate::nlri::Prefix;
use crate::route_refresh::RouteRefresh;

/// What the RIB needs to know of one configured peer.
#[derive(Debug, Clone)]
pub struct PeerPolicy {
    pub address: IpAddr,
    pub route_reflector_client: bool,
    pub next_hop_self: bool,
    pub import: Option<Arc<dyn RoutePolicy>>,
    pub export: Option<Arc<dyn RoutePolicy>>,
    /// Keep the pre-policy Adj-RIB-In, so an import policy change needs no
    /// route refresh from the peer.
    pub soft_reconfiguration_inbound: bool,
    pub max_prefix: Option<MaxPrefix>,
    /// Which paths to send when ADD-PATH send was negotiated (RFC 7911);
    /// `None`: the best path only.
    pub add_path_send: Option<AddPathSend>,
}

impl PeerPolicy {
    pub fn new(address: IpAddr) -> PeerPolicy {
        PeerPolicy {
            address,
            route_reflector_client: false,
            next_hop_self: false,
            import: None,
            export: None,
            soft_reconfiguration_inbound: false,
            max_prefix: None,
            add_path_send: None,
        }
    }
}

/// Which paths an ADD-PATH peer gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathSend {
    /// Every path (FRR `addpath-tx-all-paths`).
    All,
    /// The best N (FRR `addpath-tx-best-selected N`).
    Best(usize),
}

/// Limits on what a peer may send (RFC 4486 Cease/1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxPrefix {
    pub limits: Vec<(Family, u32)>,
    /// Only log when the limit is passed.
    pub warning_only: bool,
}

/// An import or export policy, as the RIB runs it. `mdc_bgp::policy`
/// implements it; an embedding program may bring its own.
pub trait RoutePolicy: fmt::Debug + Send + Sync {
    /// Whether the verdict can differ between routes with the same
    /// attributes (it matches on the prefix). When not, the RIB runs the
    /// policy once per attribute set.
    fn depends_on_prefix(&self) -> bool;
    /// Whether every route is accepted unchanged (FRR's empty permit
    /// route-map, BIRD's `all`): the RIB then skips the policy.
    fn accepts_all(&self) -> bool {
        false
    }
    /// Whether every route is accepted with only its next hop changed
    /// (a policy of one `set next-hop`): the RIB's common eBGP export then
    /// copies the encoded set with that next hop instead of running it.
    fn sets_only_next_hop(&self) -> Option<NextHopOnly> {
        None
    }
    fn apply(&self, route: &PolicyRoute<'_>) -> PolicyVerdict;
}

/// The one change of a policy that only sets the next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextHopOnly {
    /// Our address on the session (next-hop self).
    SelfAddress,
    /// This next hop.
    Address(NextHop),
}

/// A route as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRoute<'a> {
    pub family: Family,
    /// `None` for families that are not IP prefixes (EVPN).
    pub prefix: Option<&'a Prefix>,
    /// The peer the route was learned from; `None`: originated here.
    pub from: Option<IpAddr>,
    pub attrs: &'a Attrs,
}

/// What a policy decided.
#[derive(Debug, Clone)]
pub enum PolicyVerdict {
    Reject,
    Accept {
        /// The changed attributes, when the policy changed any.
        changed: Option<AttrsBuilder>,
        /// The policy set the next hop to this router.
        next_hop_self: bool,
    },
}

/// An Established session, as the RIB needs it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub negotiated: Arc<Negotiated>,
    /// Our address on the session (next hop self).
    pub local: IpAddr,
    /// Tags [`Output::Send`] so messages for an older session are dropped.
    pub generation: u64,
    /// Our next hop for IPv6 routes (and IPv4 ones with an IPv6 next hop,
    /// RFC 8950) when it is not `local`: on an IPv4 session the global
    /// IPv6 address of the interface it runs over, with the link-local one
    /// on a shared link (RFC 2545 §3, as FRR sends). `None`: from `local`
    /// (on an IPv4 session, its IPv4-mapped form: nothing better is known).
    pub ipv6_next_hop: Option<NextHop>,
}

#[derive(Debug)]
pub(super) struct Peer {
    pub(super) policy: PeerPolicy,
    pub(super) session: Option<SessionInfo>,
    /// Of the last session (stale paths outlive it).
    pub(super) router_id: Ipv4Addr,
    pub(super) ebgp: bool,
    /// Paths in the Loc-RIB per family.
    pub(super) counts: RibHashMap<Family, usize>,
    /// Pre-policy Adj-RIB-In (soft reconfiguration inbound).
    pub(super) pre_policy: RibHashMap<(Family, Dest, u32), Arc<Attrs>>,
    /// Adj-RIB-Out: per family, one bit per slot.
    pub(super) advertised: RibHashMap<Family, BitSet>,
    /// Adj-RIB-Out of an ADD-PATH peer: per family and slot, the path
    /// identifiers it holds and what they were sent with.
    pub(super) advertised_paths: RibHashMap<Family, HeldPaths>,
    /// The NLRI sent for each key destination (EVPN), to withdraw it.
    pub(super) sent_nlri: RibHashMap<Family, RibHashMap<u32, Bytes>>,
    pub(super) over_limit: RibHashSet<Family>,
}

impl Peer {
    pub(super) fn up(&self) -> Option<&SessionInfo> {
        self.session.as_ref()
    }
}

impl Rib {
    /// Configure a peer (its session is down).
    pub fn add_peer(&mut self, policy: PeerPolicy) -> PeerId {
        let peer = Peer {
            router_id: Ipv4Addr::UNSPECIFIED,
            ebgp: true,
            policy,
            session: None,
            counts: RibHashMap::default(),
            pre_policy: RibHashMap::default(),
            advertised: RibHashMap::default(),
            advertised_paths: RibHashMap::default(),
            sent_nlri: RibHashMap::default(),
            over_limit: RibHashSet::default(),
        };
        let id = self.peers.len();
        self.peers.push(Some(peer));
        PeerId::try_from(id).unwrap_or(PeerId::MAX)
    }

    /// Forget a peer and its routes.
    pub fn remove_peer(&mut self, id: PeerId) {
        self.drop_paths(id, None, |_| true);
        if let Some(p) = self.peers.get_mut(id as usize) {
            *p = None;
        }
    }

    /// Change a peer's policies. A changed import policy is applied at once
    /// (from the pre-policy copy, or by asking the peer for a route
    /// refresh); changed export rules re-advertise (soft reset out).
    pub fn set_peer_policy(&mut self, id: PeerId, policy: PeerPolicy) {
        let Some(p) = self.peer_mut(id) else { return };
        let old = std::mem::replace(&mut p.policy, policy);
        let same = |a: &Option<Arc<dyn RoutePolicy>>, b: &Option<Arc<dyn RoutePolicy>>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let p = &*p;
        let import_changed = !same(&old.import, &p.policy.import) || old.max_prefix != p.policy.max_prefix;
        let export_changed = !same(&old.export, &p.policy.export)
            || old.add_path_send != p.policy.add_path_send
            || old.next_hop_self != p.policy.next_hop_self
            || old.route_reflector_client != p.policy.route_reflector_client;
        if old.route_reflector_client != p.policy.route_reflector_client {
            // What other peers are sent of this peer's routes changes too.
            self.soft_reset_out_all();
        } else if export_changed {
            self.soft_reset_out(id);
        }
        if import_changed {
            self.soft_reset_in(id);
        }
    }

    /// The session with `id` is Established: send it the table, then
    /// End-of-RIB per family.
    pub fn peer_up(&mut self, id: PeerId, session: SessionInfo) {
        let Some(p) = self.peer_mut(id) else { return };
        p.router_id = session.negotiated.peer_id;
        p.ebgp = !session.negotiated.internal;
        p.advertised.clear();
        p.advertised_paths.clear();
        p.sent_nlri.clear();
        p.over_limit.clear();
        let families = session.negotiated.families.clone();
        p.session = Some(session);
        let mut messages = Vec::new();
        for family in &families {
            self.dump(id, *family, &mut messages);
        }
        if let Some(s) = self.peer(id).and_then(Peer::up) {
            messages.extend(s.negotiated.end_of_rib_markers().into_iter().map(Message::Update));
            self.out.push(Output::Send { peer: id, generation: s.generation, messages });
        }
    }

    /// The session went down. Paths of the families in `stale` are kept,
    /// marked stale (graceful restart); the others are removed.
    pub fn peer_down(&mut self, id: PeerId, stale: &[Family]) {
        let Some(p) = self.peer_mut(id) else { return };
        p.session = None;
        p.advertised.clear();
        p.advertised_paths.clear();
        p.sent_nlri.clear();
        let stale: Vec<Family> = stale.to_vec();
        self.drop_paths(id, None, |f| !stale.contains(&f));
        for f in stale {
            self.mark_stale(id, f);
        }
    }

    /// Mark the peer's paths of `family` stale (graceful restart, or BoRR).
    pub fn mark_stale(&mut self, id: PeerId, family: Family) {
        let Some(table) = self.tables.get_mut(&family) else { return };
        let slots: Vec<u32> = table
            .live()
            .filter(|(_, s)| s.paths.iter().any(|p| p.peer == id && !p.stale))
            .map(|(i, _)| i)
            .collect();
        for &i in &slots {
            if let Some(s) = table.slot_mut(i) {
                s.paths.iter_mut().filter(|p| p.peer == id).for_each(|p| p.stale = true);
            }
        }
        for i in slots {
            self.resort(family, i);
        }
    }

    /// Remove the peer's paths of `family` that are still stale.
    pub fn flush_stale(&mut self, id: PeerId, family: Family) {
        self.drop_paths_where(id, Some(family), |p| p.stale);
    }

    /// Remove the peer's paths of `family` (RFC 7606 AFI/SAFI disable).
    pub fn clear_family(&mut self, id: PeerId, family: Family) {
        self.drop_paths(id, Some(family), |_| true);
    }

    fn drop_paths(&mut self, id: PeerId, only: Option<Family>, family_ok: impl Fn(Family) -> bool) {
        let families: Vec<Family> =
            self.tables.keys().copied().filter(|f| only.is_none_or(|o| o == *f) && family_ok(*f)).collect();
        for f in families {
            self.drop_paths_where(id, Some(f), |_| true);
            if let Some(p) = self.peer_mut(id) {
                p.pre_policy.retain(|(fam, _, _), _| *fam != f);
            }
        }
    }

    fn drop_paths_where(&mut self, id: PeerId, family: Option<Family>, pred: impl Fn(&Path) -> bool) {
        let families: Vec<Family> =
            self.tables.keys().copied().filter(|f| family.is_none_or(|o| o == *f)).collect();
        for f in families {
            let Some(table) = self.tables.get_mut(&f) else { continue };
            let slots: Vec<u32> = table
                .live()
                .filter(|(_, s)| s.paths.iter().any(|p| p.peer == id && pred(p)))
                .map(|(i, _)| i)
                .collect();
            let mut removed = 0;
            for i in slots {
                let Some(s) = table.slot_mut(i) else { continue };
                let before = best(&s.paths).map(Path::identity);
                let n = s.paths.len();
                s.paths.retain(|p| !(p.peer == id && pred(p)));
                removed += n - s.paths.len();
                let best_changed = best(&s.paths).map(Path::identity) != before;
                table.mark_dirty(i, best_changed);
            }
            self.dropped_paths += removed;
            if let Some(p) = self.peer_mut(id)
                && let Some(c) = p.counts.get_mut(&f)
            {
                *c = c.saturating_sub(removed);
            }
        }
    }

    /// The peer asked for our routes of `family` again (RFC 2918), framed
    /// by BoRR/EoRR when enhanced route refresh was negotiated (RFC 7313).
    pub fn refresh_out(&mut self, id: PeerId, family: Family) {
        let Some(s) = self.peer(id).and_then(Peer::up) else { return };
        if !s.negotiated.families.contains(&family) {
            return;
        }
        let (generation, enhanced) = (s.generation, s.negotiated.enhanced_route_refresh);
        let mut messages = Vec::new();
        if enhanced {
            messages.push(Message::RouteRefresh(RouteRefresh::begin(family)));
        }
        self.dump(id, family, &mut messages);
        if enhanced {
            messages.push(Message::RouteRefresh(RouteRefresh::end(family)));
        }
        self.out.push(Output::Send { peer: id, generation, messages });
    }
}
