//! Adj-RIB-Out and the flush: what each peer holds from us (one bit per
//! destination, or per ADD-PATH identifier), brought up to date with the
//! destinations changed since the last flush, the export computed once
//! per update group, and the routes packed by attribute set into
//! [`Message`]s ([`announcement`] makes the UPDATE, on the peer's task).
//! A session's whole table (coming up, soft reset out, route refresh) goes
//! out through here too.
//!
//! Owns what peers are sent. What a peer gets for a path is `export`'s;
//! which destinations changed is the import's and `rank`'s; the paths are
//! only read here.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::attrs::Attrs;
use super::export::export_attrs;
use super::hash::RibHashMap;
use super::rank::best;
use super::table::{BitSet, Dest, Path, PeerId, Table};
use super::{AddPathSend, Message, Output, Peer, Rib, RibConfig, SessionInfo};
use crate::attr::{AttrValue, MpNlri, MpReach, MpUnreach, NextHop, OpaqueNlri, PathAttribute};
use crate::family::{Afi, Family};
use crate::nlri::Nlri;
use crate::update::Update;

impl Rib {
    /// Destinations changed since the last flush (what the next flush will
    /// look at).
    pub fn pending(&self) -> usize {
        self.tables.values().map(|t| t.dirty.len()).sum()
    }

    /// Send every peer what changed since the last flush; returns what to do.
    pub fn flush(&mut self) -> Vec<Output> {
        let families: Vec<Family> = self.tables.keys().copied().collect();
        let ids: Vec<PeerId> = (1..self.peers.len())
            .filter(|&i| self.peers.get(i).is_some_and(|p| p.as_ref().is_some_and(|p| p.session.is_some())))
            .filter_map(|i| PeerId::try_from(i).ok())
            .collect();
        let mut per_peer: BTreeMap<PeerId, Vec<Message>> = BTreeMap::new();
        for family in families {
            let dirty = match self.tables.get_mut(&family) {
                Some(t) => std::mem::take(&mut t.dirty),
                None => continue,
            };
            if dirty.is_empty() {
                continue;
            }
            // Peers whose export rules give the same attributes share one
            // computation (FRR's update groups); ADD-PATH peers go alone.
            let mut groups: Vec<(GroupKey, Vec<PeerId>)> = Vec::new();
            let mut alone: Vec<PeerId> = Vec::new();
            for &id in &ids {
                match self.group_key(id, family) {
                    Some(key) => match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, members)) => members.push(id),
                        None => groups.push((key, vec![id])),
                    },
                    None => alone.push(id),
                }
            }
            for id in alone {
                let messages = per_peer.entry(id).or_default();
                self.export_slots(id, family, &dirty, true, messages);
            }
            if self.config.fib && (family == Family::IPV4_UNICAST || family == Family::IPV6_UNICAST) {
                self.fib_changes(family, &dirty);
            }
            // The groups read the table (the flush's slots are still in
            // cache); flags are cleared and empty slots given back after.
            let Rib { config, tables, peers, .. } = self;
            let Some(t) = tables.get_mut(&family) else { continue };
            let changed: Vec<u32> =
                dirty.iter().copied().filter(|&i| t.slot(i).is_some_and(|s| s.best_changed)).collect();
            for (_, members) in groups {
                let Some(&first) = members.first() else { continue };
                let outs = group_outs(config, peers, t, first, family, &changed);
                for id in members {
                    let messages = per_peer.entry(id).or_default();
                    apply_outs(peers, t, id, family, &changed, &outs, messages);
                }
            }
            for i in dirty {
                let Some(s) = t.slot_mut(i) else { continue };
                s.dirty = false;
                s.best_changed = false;
                s.fib = false;
                t.release(i);
            }
        }
        if !self.fib_out.is_empty() {
            let changes = std::mem::take(&mut self.fib_out);
            self.out.push(Output::Fib(changes));
        }
        for (id, messages) in per_peer {
            if messages.is_empty() {
                continue;
            }
            if let Some(s) = self.peer(id).and_then(Peer::up) {
                self.out.push(Output::Send { peer: id, generation: s.generation, messages });
            }
        }
        std::mem::take(&mut self.out)
    }

    /// What makes two peers get the same attributes for every path
    /// (`None`: the peer is not Established for `family`, or gets several
    /// paths per destination with ADD-PATH).
    fn group_key(&self, id: PeerId, family: Family) -> Option<GroupKey> {
        let q = self.peer(id)?;
        let s = q.up()?;
        let neg = &s.negotiated;
        if !neg.families.contains(&family) {
            return None;
        }
        // ADD-PATH sessions go alone: what they hold is kept per path
        // identifier (see `export_slots`).
        if neg.add_path_send.contains(&family) {
            return None;
        }
        Some(GroupKey {
            export: q.policy.export.as_ref().map_or(0, |p| Arc::as_ptr(p).cast::<()>() as usize),
            route_reflector_client: q.policy.route_reflector_client,
            next_hop_self: q.policy.next_hop_self,
            ebgp: !neg.internal,
            local: s.local,
            extended_next_hop: neg.extended_next_hop.contains(&(Family::IPV4_UNICAST, Afi::IPV6)),
        })
    }

    /// Export rules changed: send the peer what it should have now,
    /// withdrawing what it should not.
    pub fn soft_reset_out(&mut self, id: PeerId) {
        let Some(s) = self.peer(id).and_then(Peer::up) else { return };
        let (generation, families) = (s.generation, s.negotiated.families.clone());
        let mut messages = Vec::new();
        for family in families {
            self.dump(id, family, &mut messages);
        }
        if !messages.is_empty() {
            self.out.push(Output::Send { peer: id, generation, messages });
        }
    }

    pub(super) fn soft_reset_out_all(&mut self) {
        let ids: Vec<PeerId> = (0..self.peers.len()).filter_map(|i| PeerId::try_from(i).ok()).collect();
        for id in ids {
            self.soft_reset_out(id);
        }
    }

    /// Every destination of `family`, as the peer should have it.
    pub(super) fn dump(&mut self, id: PeerId, family: Family, messages: &mut Vec<Message>) {
        let Some(table) = self.tables.get(&family) else { return };
        let slots: Vec<u32> = (0..table.capacity()).filter_map(|i| u32::try_from(i).ok()).collect();
        self.export_slots(id, family, &slots, false, messages);
    }

    /// Decide what `id` gets for these slots, update its Adj-RIB-Out and
    /// append the UPDATEs. With `best_changes_only`, a peer that gets only
    /// best paths skips slots whose best path did not change.
    fn export_slots(
        &mut self,
        id: PeerId,
        family: Family,
        slots: &[u32],
        best_changes_only: bool,
        messages: &mut Vec<Message>,
    ) {
        let Rib { config, tables, peers, .. } = self;
        let Some(table) = tables.get(&family) else { return };
        let Some(Some(q)) = peers.get(id as usize) else { return };
        let Some(session) = q.session.clone() else { return };
        if !session.negotiated.families.contains(&family) {
            return;
        }
        let add_path = session.negotiated.add_path_send.contains(&family);
        // How many paths per destination: ADD-PATH peers may get several.
        let per_dest = match (add_path, q.policy.add_path_send) {
            (true, Some(AddPathSend::All)) => usize::MAX,
            (true, Some(AddPathSend::Best(n))) => n.max(1),
            _ => 1,
        };
        let memo_ok = q.policy.export.as_ref().is_none_or(|p| !p.depends_on_prefix());
        // Taken out while the export runs (it reads the peer table).
        let Some(Some(q)) = peers.get_mut(id as usize) else { return };
        let mut advertised = q.advertised.remove(&family).unwrap_or_default();
        let mut held = q.advertised_paths.remove(&family).unwrap_or_default();
        let mut sent = q.sent_nlri.remove(&family).unwrap_or_default();
        let mut memo: RibHashMap<MemoKey, Option<Arc<Attrs>>> = RibHashMap::default();
        let mut export = |b: &Path, dest: &Dest| -> Option<Arc<Attrs>> {
            let key = (b.peer, Arc::as_ptr(&b.attrs));
            if memo_ok && let Some(r) = memo.get(&key) {
                return r.clone();
            }
            let r = export_attrs(config, peers, id, &session, family, dest.prefix(), b, true);
            if memo_ok {
                memo.insert(key, r.clone());
            }
            r
        };
        let mut batch = Batch::default();
        for &i in slots {
            let Some(slot) = table.slot(i) else { continue };
            if !add_path {
                if best_changes_only && !slot.best_changed {
                    continue;
                }
                let out = best(&slot.paths).and_then(|b| export(b, &slot.dest));
                let mut held = Held { batch: &mut batch, advertised: &mut advertised, sent: &mut sent };
                held.best(i, &slot.dest, out.as_ref());
                continue;
            }
            // ADD-PATH: what the peer holds is kept per path identifier in
            // either mode, so that a change of mode (a reload) sends the
            // difference. One path goes as identifier 1, several each
            // under its own.
            let want: Vec<(u32, Arc<Attrs>)> = if per_dest == 1 {
                best(&slot.paths).and_then(|b| export(b, &slot.dest)).map(|a| (1, a)).into_iter().collect()
            } else {
                slot.paths
                    .iter()
                    .take(per_dest)
                    .filter(|p| !p.unreachable)
                    .filter_map(|p| export(p, &slot.dest).map(|a| (p.tx_id, a)))
                    .collect()
            };
            let before = held.remove(&i).unwrap_or_default();
            for (old, was) in before.iter().filter(|(o, _)| want.iter().all(|(n, _)| n != o)) {
                if let Some(n) = withdraw_nlri(&slot.dest, Some(*old), was.nlri().cloned()) {
                    batch.withdraw.push(n);
                }
            }
            for (n, a) in &want {
                let unchanged = before.iter().any(|(o, sent)| o == n && **sent == **a);
                if !unchanged && let Some(out) = announce_nlri(&slot.dest, a, Some(*n)) {
                    batch.add(a, out);
                }
            }
            advertised.set(i, !want.is_empty());
            if !want.is_empty() {
                held.insert(i, want);
            }
        }
        if let Some(q) = peers.get_mut(id as usize).and_then(Option::as_mut) {
            q.advertised.insert(family, advertised);
            if !held.is_empty() {
                q.advertised_paths.insert(family, held);
            }
            if !sent.is_empty() {
                q.sent_nlri.insert(family, sent);
            }
        }
        if !batch.is_empty() {
            batch.into_messages(family, &session, messages);
        }
    }
}

/// Peers with equal keys get equal attributes for every path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupKey {
    export: usize,
    route_reflector_client: bool,
    next_hop_self: bool,
    ebgp: bool,
    local: IpAddr,
    extended_next_hop: bool,
}

/// An export computed in a flush: the best path's peer and attribute set.
type MemoKey = (PeerId, *const Attrs);

/// The export of the best path of each destination in `changed` (slots of
/// `table` whose best path changed), as `rep`'s update group gets it.
fn group_outs(
    config: &RibConfig,
    peers: &[Option<Peer>],
    table: &Table,
    rep: PeerId,
    family: Family,
    changed: &[u32],
) -> Vec<Option<Arc<Attrs>>> {
    let Some(Some(q)) = peers.get(rep as usize) else { return Vec::new() };
    let Some(session) = q.session.clone() else { return Vec::new() };
    let memo_ok = q.policy.export.as_ref().is_none_or(|p| !p.depends_on_prefix());
    let mut memo: RibHashMap<MemoKey, Option<Arc<Attrs>>> = RibHashMap::default();
    let mut outs = Vec::with_capacity(changed.len());
    let mut last: Option<(MemoKey, Option<Arc<Attrs>>)> = None;
    for &i in changed {
        let Some((dest, b)) = table.slot(i).and_then(|s| best(&s.paths).map(|b| (&s.dest, b))) else {
            outs.push(None);
            continue;
        };
        // Export as if to a peer other than the source: split horizon is
        // applied per member.
        let key = (b.peer, Arc::as_ptr(&b.attrs));
        // Destinations of one UPDATE come together: the last key first.
        let hit = match &last {
            Some((k, r)) if memo_ok && *k == key => Some(r.clone()),
            _ if memo_ok => memo.get(&key).cloned(),
            _ => None,
        };
        let out = match hit {
            Some(r) => r,
            None => {
                let r = export_attrs(config, peers, rep, &session, family, dest.prefix(), b, false);
                if memo_ok {
                    memo.insert(key, r.clone());
                }
                r
            }
        };
        last = Some((key, out.clone()));
        outs.push(out);
    }
    outs
}

/// Send `id` its group's exports, minus the paths it gave us.
fn apply_outs(
    peers: &mut [Option<Peer>],
    table: &Table,
    id: PeerId,
    family: Family,
    changed: &[u32],
    outs: &[Option<Arc<Attrs>>],
    messages: &mut Vec<Message>,
) {
    let Some(q) = peers.get_mut(id as usize).and_then(Option::as_mut) else { return };
    let Some(session) = q.session.clone() else { return };
    let mut advertised = q.advertised.remove(&family).unwrap_or_default();
    let mut sent = q.sent_nlri.remove(&family).unwrap_or_default();
    let mut batch = Batch::default();
    let mut held = Held { batch: &mut batch, advertised: &mut advertised, sent: &mut sent };
    for (&i, out) in changed.iter().zip(outs) {
        let Some(s) = table.slot(i) else { continue };
        let from = best(&s.paths).map(|b| b.peer);
        held.best(i, &s.dest, out.as_ref().filter(|_| from != Some(id)));
    }
    q.advertised.insert(family, advertised);
    if !sent.is_empty() {
        q.sent_nlri.insert(family, sent);
    }
    if !batch.is_empty() {
        batch.into_messages(family, &session, messages);
    }
}

/// Per slot, the ADD-PATH identifiers a peer holds and their attributes.
pub(super) type HeldPaths = RibHashMap<u32, Vec<(u32, Arc<Attrs>)>>;

/// One peer's Adj-RIB-Out for a family while a batch is built for it.
struct Held<'a> {
    batch: &'a mut Batch,
    advertised: &'a mut BitSet,
    /// The NLRI sent per key destination (EVPN), to withdraw it.
    sent: &'a mut RibHashMap<u32, Bytes>,
}

impl Held<'_> {
    /// The peer gets `out` (its export of the best path) for `dest` in
    /// `slot`, or, with `None`, loses what it held there. Sessions without
    /// ADD-PATH only (`export_slots` keeps the others per path identifier).
    fn best(&mut self, slot: u32, dest: &Dest, out: Option<&Arc<Attrs>>) {
        match out.and_then(|a| announce_nlri(dest, a, None).map(|n| (a, n))) {
            Some((a, n)) => {
                if let OutNlri::Opaque(o) = &n {
                    self.sent.insert(slot, o.bytes.clone());
                }
                self.batch.add(a, n);
                self.advertised.set(slot, true);
            }
            None if self.advertised.get(slot) => {
                if let Some(n) = withdraw_nlri(dest, None, self.sent.remove(&slot)) {
                    self.batch.withdraw.push(n);
                }
                self.advertised.set(slot, false);
            }
            None => {}
        }
    }
}

/// One NLRI on its way out.
#[derive(Debug, Clone)]
enum OutNlri {
    Prefix(Nlri),
    Opaque(OpaqueNlri),
}

/// The NLRI announcing `dest` with `attrs` (a key destination's NLRI is the
/// one its path came with).
fn announce_nlri(dest: &Dest, attrs: &Attrs, path_id: Option<u32>) -> Option<OutNlri> {
    match dest {
        Dest::Prefix(prefix) => Some(OutNlri::Prefix(Nlri { path_id, prefix: *prefix })),
        Dest::Key(_) => attrs.nlri().map(|b| OutNlri::Opaque(OpaqueNlri { path_id, bytes: b.clone() })),
    }
}

/// The NLRI withdrawing `dest` (a key destination: the NLRI it was sent with).
fn withdraw_nlri(dest: &Dest, path_id: Option<u32>, sent: Option<Bytes>) -> Option<OutNlri> {
    match dest {
        Dest::Prefix(prefix) => Some(OutNlri::Prefix(Nlri { path_id, prefix: *prefix })),
        Dest::Key(_) => sent.map(|bytes| OutNlri::Opaque(OpaqueNlri { path_id, bytes })),
    }
}

/// Announcements and withdrawals for one peer and family, grouped by
/// attribute set.
#[derive(Default)]
struct Batch {
    withdraw: Vec<OutNlri>,
    announce: RibHashMap<*const Attrs, usize>,
    groups: Vec<Group>,
}

/// The NLRI announced with one attribute set, prefixes and codec NLRI apart.
struct Group {
    attrs: Arc<Attrs>,
    prefixes: Vec<Nlri>,
    opaque: Vec<OpaqueNlri>,
}

impl Batch {
    fn add(&mut self, attrs: &Arc<Attrs>, nlri: OutNlri) {
        let key = Arc::as_ptr(attrs);
        // Destinations of one UPDATE arrive together: most often the set
        // is the last one's.
        let at = match self.groups.last() {
            Some(g) if Arc::as_ptr(&g.attrs) == key => self.groups.len() - 1,
            _ => match self.announce.get(&key) {
                Some(&i) => i,
                None => {
                    self.announce.insert(key, self.groups.len());
                    let group = Group { attrs: Arc::clone(attrs), prefixes: Vec::new(), opaque: Vec::new() };
                    self.groups.push(group);
                    self.groups.len() - 1
                }
            },
        };
        if let Some(g) = self.groups.get_mut(at) {
            match nlri {
                OutNlri::Prefix(p) => g.prefixes.push(p),
                OutNlri::Opaque(o) => g.opaque.push(o),
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.withdraw.is_empty() && self.groups.is_empty()
    }

    /// The UPDATEs (withdrawals first).
    fn into_messages(self, family: Family, session: &SessionInfo, out: &mut Vec<Message>) {
        let (prefixes, opaque) = split_nlri(self.withdraw);
        if !prefixes.is_empty() {
            let mut u = Update::default();
            if family == Family::IPV4_UNICAST && session.local.is_ipv4() {
                u.withdrawn = prefixes;
            } else {
                u.attributes.push(PathAttribute::new(AttrValue::MpUnreach(Box::new(MpUnreach {
                    family,
                    nlri: MpNlri::Prefixes(prefixes),
                }))));
            }
            out.push(Message::Update(u));
        }
        if !opaque.is_empty() {
            let unreach = MpUnreach { family, nlri: MpNlri::Typed(opaque) };
            let u = Update {
                attributes: vec![PathAttribute::new(AttrValue::MpUnreach(Box::new(unreach)))],
                ..Update::default()
            };
            out.push(Message::Update(u));
        }
        let four_octet = session.negotiated.tx.four_octet_as;
        for Group { attrs, prefixes, opaque } in self.groups {
            if !prefixes.is_empty() {
                out.push(Message::Announce { family, attrs: Arc::clone(&attrs), nlri: prefixes });
            }
            if !opaque.is_empty() {
                out.push(Message::Update(opaque_announcement(family, &attrs, opaque, four_octet)));
            }
        }
    }
}

fn split_nlri(list: Vec<OutNlri>) -> (Vec<Nlri>, Vec<OpaqueNlri>) {
    let mut prefixes = Vec::new();
    let mut opaque = Vec::new();
    for n in list {
        match n {
            OutNlri::Prefix(p) => prefixes.push(p),
            OutNlri::Opaque(o) => opaque.push(o),
        }
    }
    (prefixes, opaque)
}

/// The UPDATE announcing NLRI of a codec family (EVPN).
fn opaque_announcement(family: Family, attrs: &Attrs, nlri: Vec<OpaqueNlri>, four_octet_as: bool) -> Update {
    let mut u = announcement(family, attrs, Vec::new(), four_octet_as);
    let mut nlri = Some(nlri);
    for a in &mut u.attributes {
        if let AttrValue::MpReach(r) = &mut a.value
            && let Some(n) = nlri.take()
        {
            r.nlri = MpNlri::Typed(n);
        }
    }
    u
}

/// The UPDATE announcing `nlri` with `attrs` (what the peer task builds
/// from [`Message::Announce`]). On a 2-octet session an AS path with
/// 4-octet AS numbers also goes in AS4_PATH (RFC 6793; the encoder writes
/// AS_TRANS in AS_PATH).
pub fn announcement(family: Family, attrs: &Attrs, nlri: Vec<Nlri>, four_octet_as: bool) -> Update {
    let mut list = attrs.list();
    list.reserve(2);
    if !four_octet_as {
        let path = attrs.as_path();
        if path.has_four_octet_asns() {
            list.push(PathAttribute::new(AttrValue::As4Path(path)));
        }
    }
    let mut u = Update::default();
    match (family, attrs.next_hop()) {
        (Family::IPV4_UNICAST, Some(NextHop::V4(nh))) => {
            list.push(PathAttribute::new(AttrValue::NextHop(*nh)));
            u.nlri = nlri;
        }
        (_, Some(nh)) => list.push(PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
            family,
            next_hop: nh.clone(),
            nlri: MpNlri::Prefixes(nlri),
        })))),
        // Export never yields a set without a next hop.
        (_, None) => {}
    }
    list.sort_by_key(PathAttribute::code);
    u.attributes = list;
    u
}
