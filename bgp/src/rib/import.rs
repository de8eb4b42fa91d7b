//! Routes in: an UPDATE made into a [`Digest`] (on the peer's task) and
//! applied: the loop checks, the pre-policy Adj-RIB-In (soft
//! reconfiguration inbound), the import policy (RFC 8212), the prefix
//! limit (RFC 4486), and paths put into and taken out of the Loc-RIB.
//! Routes originated here come in the same way.
//!
//! Owns paths arriving and leaving and the interned sets they let go of.
//! It marks destinations dirty; what peers are then sent is the flush's
//! (`adj_rib_out`), the order of a destination's paths is `rank`'s.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::Arc;

use super::attrs::{Attrs, AttrsBuilder, SharedInterner};
use super::rank::{best, compare};
use super::table::{Dest, LOCAL, Path, PeerId};
use super::{Output, Peer, PolicyRoute, PolicyVerdict, Rib, RibConfig, RoutePolicy};
use crate::attr::{AttrValue, MpNlri, NextHop, PathAttribute};
use crate::context::SessionContext;
use crate::family::Family;
use crate::nlri::Prefix;
use crate::update::Update;
use crate::wire::semantic::NOT_FROM_EXTERNAL;

/// An UPDATE as the RIB takes it: the destinations it withdraws and, per
/// family, the attribute set it gives its destinations (sorted, encoded and
/// hashed, ready to intern). Building it needs only the session, so the
/// peer's task does it and the RIB's task does not.
#[derive(Debug, Default, Clone)]
pub struct Digest {
    withdrawn: Vec<(Family, Dest, u32)>,
    pub(super) announced: Vec<Announced>,
    /// Set by [`Digest::prepare`].
    prepared: Option<Prepared>,
}

/// Destinations (with their ADD-PATH ids) that share one attribute set.
#[derive(Debug, Clone)]
pub(super) struct Announced {
    family: Family,
    pub(super) attrs: Arc<Attrs>,
    nlri: Vec<(Dest, u32)>,
    /// The AS path holds the AS given to [`Digest::prepare`].
    pub(super) as_loop: bool,
    /// `attrs` came out of the interner given to [`Digest::prepare`].
    interned: bool,
}

impl Announced {
    /// `attrs` shared, not prepared yet.
    fn new(family: Family, attrs: Attrs, nlri: Vec<(Dest, u32)>) -> Announced {
        Announced { family, attrs: Arc::new(attrs), nlri, as_loop: false, interned: false }
    }
}

/// What [`Digest::prepare`] did: interned into `interner`, looked for
/// `local_as` in the AS paths.
#[derive(Debug, Clone)]
struct Prepared {
    interner: SharedInterner,
    local_as: u32,
}

impl Digest {
    /// Do on the caller's thread what the RIB would do first: intern the
    /// attribute sets into the RIB's interner ([`Rib::interner`]) and look
    /// for `local_as` (the RIB's AS) in the AS paths (RFC 4271 §9.1.2).
    pub fn prepare(&mut self, interner: &SharedInterner, local_as: u32) {
        if self.announced.is_empty() {
            return;
        }
        for a in &mut self.announced {
            a.as_loop = a.attrs.as_path_contains(local_as);
        }
        // A looped path is a withdrawal: its set is not kept.
        let mut i = interner.lock();
        for a in self.announced.iter_mut().filter(|a| !a.as_loop) {
            a.attrs = i.intern_shared(Arc::clone(&a.attrs));
            a.interned = true;
        }
        drop(i);
        self.prepared = Some(Prepared { interner: interner.clone(), local_as });
    }

    /// Routes withdrawn and announced (at least 1: an UPDATE is work even
    /// without any, e.g. End-of-RIB).
    pub fn weight(&self) -> usize {
        let announced: usize = self.announced.iter().map(|a| a.nlri.len()).sum();
        (self.withdrawn.len() + announced).max(1)
    }

    /// `ctx` is the session's receive context, `ebgp` whether the peer is
    /// external (LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are then dropped).
    pub fn new(mut update: Update, ctx: &SessionContext, ebgp: bool) -> Digest {
        let mut d = Digest::default();
        for n in &update.withdrawn {
            d.withdrawn.push((Family::IPV4_UNICAST, Dest::Prefix(n.prefix), n.path_id.unwrap_or(0)));
        }
        for a in &update.attributes {
            let AttrValue::MpUnreach(u) = &a.value else { continue };
            match &u.nlri {
                MpNlri::Prefixes(list) => {
                    d.withdrawn.extend(
                        list.iter().map(|n| (u.family, Dest::Prefix(n.prefix), n.path_id.unwrap_or(0))),
                    );
                }
                MpNlri::Typed(list) => {
                    for n in list {
                        if let Some(dest) = opaque_dest(ctx, u.family, &n.bytes) {
                            d.withdrawn.push((u.family, dest, n.path_id.unwrap_or(0)));
                        }
                    }
                }
                MpNlri::Raw(_) => {}
            }
        }
        let has_reach = update.attributes.iter().any(|a| {
            matches!(&a.value, AttrValue::MpReach(r) if matches!(r.nlri, MpNlri::Prefixes(_) | MpNlri::Typed(_)))
        });
        if update.nlri.is_empty() && !has_reach {
            return d;
        }
        // 2-octet sessions: AS4_PATH and AS4_AGGREGATOR merged (RFC 6793).
        let (mut merged_path, merged_aggregator) = if ctx.four_octet_as {
            (None, None)
        } else {
            (update.effective_as_path(ctx), update.effective_aggregator(ctx))
        };
        let classic_next_hop = update.next_hop().map(NextHop::V4);
        // The attributes shared by every NLRI of the message.
        let mut list: Vec<PathAttribute> = Vec::with_capacity(update.attributes.len());
        let mut reach = None;
        for a in std::mem::take(&mut update.attributes) {
            let flags = a.flags;
            match a.value {
                AttrValue::MpReach(r) => {
                    if reach.is_none() {
                        reach = Some(r);
                    }
                }
                AttrValue::AsPath(p) => {
                    let p = merged_path.take().unwrap_or(p);
                    list.push(PathAttribute { flags, value: AttrValue::AsPath(p) });
                }
                AttrValue::Aggregator(ag) => {
                    let ag = merged_aggregator.unwrap_or(ag);
                    list.push(PathAttribute { flags, value: AttrValue::Aggregator(ag) });
                }
                // RFC 7606 §7.5, RFC 4456 §8: not from external peers. The
                // decoder already discards them when it knows the sender;
                // this covers updates given to the RIB some other way.
                value if ebgp && NOT_FROM_EXTERNAL.contains(&value.code()) => {}
                value => list.push(PathAttribute { flags, value }),
            }
        }
        if !update.nlri.is_empty() {
            let shared = if reach.is_some() { list.clone() } else { std::mem::take(&mut list) };
            let nlri = update.nlri.iter().map(|n| (Dest::Prefix(n.prefix), n.path_id.unwrap_or(0))).collect();
            let attrs = Attrs::new(shared, classic_next_hop, 0);
            d.announced.push(Announced::new(Family::IPV4_UNICAST, attrs, nlri));
        }
        let Some(r) = reach else { return d };
        match r.nlri {
            MpNlri::Prefixes(nlri) => {
                let nlri = nlri.iter().map(|n| (Dest::Prefix(n.prefix), n.path_id.unwrap_or(0))).collect();
                d.announced.push(Announced::new(r.family, Attrs::new(list, Some(r.next_hop), 0), nlri));
            }
            // Each NLRI of a codec family carries its own labels: one
            // attribute set per route.
            MpNlri::Typed(nlri) => {
                for n in nlri {
                    let Some(dest) = opaque_dest(ctx, r.family, &n.bytes) else { continue };
                    let attrs = Attrs::new(list.clone(), Some(r.next_hop.clone()), 0).with_nlri(n.bytes);
                    d.announced.push(Announced::new(r.family, attrs, vec![(dest, n.path_id.unwrap_or(0))]));
                }
            }
            MpNlri::Raw(_) => {}
        }
        d
    }
}

/// The destination of a codec family's NLRI: its codec key, or the whole
/// NLRI without a key function.
fn opaque_dest(ctx: &SessionContext, family: Family, nlri: &[u8]) -> Option<Dest> {
    let key = match ctx.family_codec(family).and_then(|c| c.key) {
        Some(key) => key(family, nlri)?,
        None => nlri.to_vec(),
    };
    Some(Dest::Key(key.into_boxed_slice()))
}

impl Rib {
    /// Apply an UPDATE from a peer (after RFC 7606 handling).
    pub fn update(&mut self, id: PeerId, update: &Update) {
        self.update_owned(id, update.clone());
    }

    /// [`Rib::update`] without copying the attributes.
    pub fn update_owned(&mut self, id: PeerId, update: Update) {
        let Some(p) = self.peer(id) else { return };
        let Some(s) = p.up() else { return };
        let digest = Digest::new(update, &s.negotiated.rx, p.ebgp);
        self.apply(id, digest);
    }

    /// Take an UPDATE already turned into destinations and attribute sets
    /// (by the peer's task: [`Digest::new`]).
    pub fn apply(&mut self, id: PeerId, digest: Digest) {
        if self.peer(id).and_then(Peer::up).is_none() {
            return;
        }
        for (family, dest, path_id) in digest.withdrawn {
            self.withdraw_path(id, family, dest, path_id);
        }
        let prepared = digest.prepared.filter(|p| p.interner.same(&self.interner));
        let local_as = prepared.as_ref().map(|p| p.local_as);
        for a in digest.announced {
            let as_loop = (local_as == Some(self.config.local_as)).then_some(a.as_loop);
            self.announce(id, a.family, a.attrs, &a.nlri, a.interned && prepared.is_some(), as_loop);
        }
    }

    /// `interned`: `attrs` came out of this RIB's interner; `as_loop`:
    /// whether its AS path holds our AS, when known.
    fn announce(
        &mut self,
        id: PeerId,
        family: Family,
        attrs: Arc<Attrs>,
        nlri: &[(Dest, u32)],
        interned: bool,
        as_loop: Option<bool>,
    ) {
        let Some(p) = self.peer(id) else { return };
        let looped = match as_loop {
            Some(l) if p.ebgp => l.then_some("AS path contains our AS"),
            _ => loop_check(&self.config, p, &attrs),
        };
        if let Some(why) = looped {
            tracing::debug!(peer = %p.policy.address, %family, "announcement treated as withdrawal: {why}");
            for (d, path_id) in nlri {
                self.withdraw_path(id, family, d.clone(), *path_id);
            }
            return;
        }
        let keep_pre = p.policy.soft_reconfiguration_inbound;
        let attrs = if interned { attrs } else { self.interner.lock().intern_shared(attrs) };
        if keep_pre && let Some(p) = self.peer_mut(id) {
            for n in nlri {
                p.pre_policy.insert((family, n.0.clone(), n.1), Arc::clone(&attrs));
            }
        }
        self.import(id, family, &attrs, nlri.iter().cloned());
        self.check_limit(id, family);
    }

    /// Run the import policy over pre-policy routes and put the accepted
    /// ones in the Loc-RIB (the rejected ones out of it).
    fn import(
        &mut self,
        id: PeerId,
        family: Family,
        attrs: &Arc<Attrs>,
        nlri: impl Iterator<Item = (Dest, u32)>,
    ) {
        let Some(p) = self.peer(id) else { return };
        let from = Some(p.policy.address);
        let deny_all = p.policy.import.is_none() && p.ebgp && self.config.ebgp_requires_policy;
        let policy = p.policy.import.clone().filter(|pol| !pol.accepts_all());
        if deny_all {
            tracing::debug!(peer = %p.policy.address, "no import policy for an eBGP peer: routes rejected (RFC 8212)");
        }
        let mut once: Option<Option<Arc<Attrs>>> = None;
        for (dest, path_id) in nlri {
            if !fits(&dest, family) {
                continue;
            }
            let prefix = dest.prefix();
            let accepted = match &policy {
                _ if deny_all => None,
                None => Some(Arc::clone(attrs)),
                Some(pol) if !pol.depends_on_prefix() => match &once {
                    Some(r) => r.clone(),
                    None => {
                        let r = self.run_import(pol.as_ref(), family, prefix, from, attrs);
                        once = Some(r.clone());
                        r
                    }
                },
                Some(pol) => self.run_import(pol.as_ref(), family, prefix, from, attrs),
            };
            match accepted {
                Some(a) => self.insert_path(id, family, dest, path_id, a),
                None => self.remove_path(id, family, &dest, path_id),
            }
        }
    }

    fn run_import(
        &mut self,
        policy: &dyn RoutePolicy,
        family: Family,
        prefix: Option<&Prefix>,
        from: Option<IpAddr>,
        attrs: &Arc<Attrs>,
    ) -> Option<Arc<Attrs>> {
        match policy.apply(&PolicyRoute { family, prefix, from, attrs }) {
            PolicyVerdict::Reject => None,
            PolicyVerdict::Accept { changed: None, .. } => Some(Arc::clone(attrs)),
            PolicyVerdict::Accept { changed: Some(b), .. } => Some(self.interner.lock().intern(b.build())),
        }
    }

    fn insert_path(&mut self, id: PeerId, family: Family, dest: Dest, path_id: u32, attrs: Arc<Attrs>) {
        let table = self.tables.entry(family).or_default();
        let i = table.slot_for(dest);
        let Some(slot) = table.slot_mut(i) else { return };
        let before = best(&slot.paths).map(Path::identity);
        let old = slot
            .paths
            .iter()
            .position(|p| p.peer == id && p.path_id == path_id)
            .and_then(|at| slot.paths.remove(at));
        let existed = old.is_some();
        self.dropped_paths += usize::from(existed);
        let (tx_id, replaced) = match old {
            Some(p) => (p.tx_id, Some(p.attrs)),
            None => ((1..).find(|n| slot.paths.iter().all(|p| p.tx_id != *n)).unwrap_or(u32::MAX), None),
        };
        let unreachable = self.next_hops.unreachable(&attrs);
        let path = Path { attrs, peer: id, path_id, tx_id, stale: false, unreachable };
        let at = slot
            .paths
            .iter()
            .position(|q| {
                compare(&self.config, &self.peers, &self.next_hops, &path, q).0 == Ordering::Greater
            })
            .unwrap_or(slot.paths.len());
        slot.paths.insert(at, path);
        let best_changed = best(&slot.paths).map(Path::identity) != before;
        table.mark_dirty(i, best_changed);
        if !existed && let Some(p) = self.peer_mut(id) {
            *p.counts.entry(family).or_default() += 1;
        }
        if let Some(a) = replaced {
            self.release(a);
        }
    }

    /// A path let go of `attrs`: when only the interner holds the set any
    /// more, take it out now (as BIRD frees its attribute sets), to be
    /// dropped by the caller of [`Rib::idle`]. Sets held elsewhere too (a
    /// pre-policy copy, a flush in progress) are left to the sweep.
    fn release(&mut self, attrs: Arc<Attrs>) {
        if Arc::strong_count(&attrs) == 2 && self.interner.lock().remove_unused(&attrs) {
            self.garbage.push(attrs);
        }
    }

    /// The peer withdrew a path (or announced one treated as withdrawn).
    fn withdraw_path(&mut self, id: PeerId, family: Family, dest: Dest, path_id: u32) {
        self.remove_path(id, family, &dest, path_id);
        if let Some(p) = self.peer_mut(id)
            && p.policy.soft_reconfiguration_inbound
        {
            p.pre_policy.remove(&(family, dest, path_id));
        }
    }

    /// Take a path out of the Loc-RIB.
    fn remove_path(&mut self, id: PeerId, family: Family, dest: &Dest, path_id: u32) {
        let Some(table) = self.tables.get_mut(&family) else { return };
        let Some(i) = table.find(dest) else { return };
        let Some(slot) = table.slot_mut(i) else { return };
        let Some(at) = slot.paths.iter().position(|p| p.peer == id && p.path_id == path_id) else { return };
        let gone = slot.paths.remove(at);
        table.mark_dirty(i, at == 0);
        self.dropped_paths += 1;
        if let Some(p) = gone {
            self.release(p.attrs);
        }
        if let Some(p) = self.peer_mut(id)
            && let Some(c) = p.counts.get_mut(&family)
        {
            *c = c.saturating_sub(1);
        }
    }

    fn check_limit(&mut self, id: PeerId, family: Family) {
        let Some(p) = self.peer_mut(id) else { return };
        let Some(mp) = &p.policy.max_prefix else { return };
        let Some(limit) = mp.limits.iter().find(|(f, _)| *f == family).map(|(_, l)| *l) else { return };
        let count = p.counts.get(&family).copied().unwrap_or(0);
        if count > limit as usize && p.over_limit.insert(family) {
            let warning_only = mp.warning_only;
            self.out.push(Output::MaxPrefix { peer: id, family, limit, count, warning_only });
        }
    }

    /// Originate a route from this router. `attrs` carries ORIGIN, MED,
    /// communities...; AS_PATH starts empty; a `None` next hop means this
    /// router (the session's address).
    pub fn originate(&mut self, family: Family, prefix: Prefix, attrs: AttrsBuilder) {
        if family_of(&prefix) != family {
            return;
        }
        let attrs = self.interner.lock().intern(attrs.build());
        self.insert_path(LOCAL, family, Dest::Prefix(prefix), 0, attrs);
    }

    /// Withdraw a route originated with [`Rib::originate`].
    pub fn withdraw_local(&mut self, family: Family, prefix: Prefix) {
        self.withdraw_path(LOCAL, family, Dest::Prefix(prefix), 0);
    }

    /// Import policy changed: run it again over the peer's routes.
    pub fn soft_reset_in(&mut self, id: PeerId) {
        let Some(p) = self.peer_mut(id) else { return };
        p.over_limit.clear();
        let Some(s) = p.up() else { return };
        if !p.policy.soft_reconfiguration_inbound {
            let families = s.negotiated.families.clone();
            for family in families {
                self.out.push(Output::RequestRefresh { peer: id, family });
            }
            return;
        }
        let routes: Vec<((Family, Dest, u32), Arc<Attrs>)> =
            p.pre_policy.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect();
        for ((family, dest, path_id), attrs) in routes {
            self.import(id, family, &attrs, std::iter::once((dest, path_id)));
        }
        let families: Vec<Family> = self.tables.keys().copied().collect();
        for f in families {
            self.check_limit(id, f);
        }
    }
}

/// Why a peer's announcement is not accepted (treated as a withdrawal).
fn loop_check(config: &RibConfig, peer: &Peer, attrs: &Attrs) -> Option<&'static str> {
    if peer.ebgp {
        if attrs.as_path_contains(config.local_as) {
            return Some("AS path contains our AS");
        }
    } else {
        if attrs.originator_id() == Some(config.router_id) {
            return Some("ORIGINATOR_ID is our router id");
        }
        if attrs.cluster_list().contains(&config.cluster_id) {
            return Some("CLUSTER_LIST contains our cluster id");
        }
    }
    None
}

fn family_of(prefix: &Prefix) -> Family {
    match prefix {
        Prefix::V4(_) => Family::IPV4_UNICAST,
        Prefix::V6(_) => Family::IPV6_UNICAST,
    }
}

/// `dest` may be stored in the table of `family`.
fn fits(dest: &Dest, family: Family) -> bool {
    match dest {
        Dest::Prefix(p) => family_of(p) == family,
        Dest::Key(_) => family != Family::IPV4_UNICAST && family != Family::IPV6_UNICAST,
    }
}
