//! Path attribute sets as the RIB keeps them: one immutable [`Attrs`] per
//! distinct set, shared by every route that carries it (interned).
//!
//! A full table of a million prefixes arrives in a few hundred thousand
//! distinct attribute sets; routes hold an `Arc<Attrs>` (one pointer), and
//! the [`Interner`] makes equal sets one allocation. Because sets are
//! interned, "same attributes" is a pointer comparison.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::aspath::AsPath;
use crate::attr::{AttrValue, NextHop, Origin, PathAttribute, code};
use crate::community::Community;

/// One path's attributes: everything but the NLRI.
///
/// `list` holds the path attributes sorted by type code, without
/// MP_REACH_NLRI, MP_UNREACH_NLRI, NEXT_HOP, AS4_PATH and AS4_AGGREGATOR
/// (the next hop is `next_hop`; 4-octet AS numbers are merged into AS_PATH
/// and AGGREGATOR on receipt and split again for 2-octet peers on export).
/// `weight` is local to this router (never sent). `nlri` is the NLRI as
/// received for families the RIB keys by a codec's route key (EVPN): the
/// labels and ESI it carries belong to the path, not to the destination.
#[derive(Debug, Clone)]
pub struct Attrs {
    list: Vec<PathAttribute>,
    next_hop: Option<NextHop>,
    weight: u32,
    /// Boxed: only codec families (EVPN) have it.
    nlri: Option<Box<Bytes>>,
    /// FxHash of the fields above, computed once: interning hashes a set
    /// once, not at every lookup.
    hash: u64,
    /// Worked out from `list` once; fits in the padding of the struct.
    rank: Rank,
}

/// What the decision process reads first, worked out once per set: a
/// full table compares sets millions of times, and reading them from
/// `list` costs a binary search and three dependent cache misses (the
/// list, the AS path's segments, their ASNs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rank {
    local_pref: Option<u32>,
    path_len: u16,
    origin: Origin,
}

impl Rank {
    fn of(list: &[PathAttribute]) -> Rank {
        let mut r = Rank { local_pref: None, path_len: 0, origin: Origin::Incomplete };
        for a in list {
            match &a.value {
                AttrValue::Origin(o) => r.origin = *o,
                AttrValue::AsPath(p) => r.path_len = u16::try_from(p.path_len()).unwrap_or(u16::MAX),
                AttrValue::LocalPref(v) => r.local_pref = Some(*v),
                _ => {}
            }
        }
        r
    }
}

impl PartialEq for Attrs {
    fn eq(&self, other: &Attrs) -> bool {
        self.hash == other.hash
            && self.weight == other.weight
            && self.next_hop == other.next_hop
            && self.list == other.list
            && self.nlri == other.nlri
    }
}

impl Eq for Attrs {}

impl Hash for Attrs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

static EMPTY_PATH: LazyLock<AsPath> = LazyLock::new(AsPath::default);

impl Attrs {
    /// A set from attributes in any order. MP_REACH/MP_UNREACH, NEXT_HOP
    /// and AS4_* in `list` are dropped; of repeated types the first is kept.
    pub fn new(list: Vec<PathAttribute>, next_hop: Option<NextHop>, weight: u32) -> Attrs {
        let mut list = list;
        list.retain(|a| {
            !matches!(
                a.code(),
                code::MP_REACH_NLRI
                    | code::MP_UNREACH_NLRI
                    | code::NEXT_HOP
                    | code::AS4_PATH
                    | code::AS4_AGGREGATOR
            )
        });
        // Stable: the first of repeated types stays first.
        list.sort_by_key(PathAttribute::code);
        list.dedup_by_key(|a| a.code());
        let rank = Rank::of(&list);
        Attrs { list, next_hop, weight, nlri: None, hash: 0, rank }.hashed()
    }

    fn hashed(mut self) -> Attrs {
        let mut h = FxHasher::default();
        self.list.hash(&mut h);
        self.next_hop.hash(&mut h);
        self.weight.hash(&mut h);
        self.nlri.hash(&mut h);
        self.hash = h.finish();
        self
    }

    /// Give back the spare capacity of every vector in the set (decoders
    /// grow vectors by doubling): the set is about to live long.
    fn shrink(&mut self) {
        self.list.shrink_to_fit();
        for a in &mut self.list {
            match &mut a.value {
                AttrValue::AsPath(p) | AttrValue::As4Path(p) => {
                    p.segments.shrink_to_fit();
                    p.segments.iter_mut().for_each(|s| s.asns.shrink_to_fit());
                }
                AttrValue::Communities(c) => c.0.shrink_to_fit(),
                AttrValue::LargeCommunities(c) => c.0.shrink_to_fit(),
                AttrValue::ExtendedCommunities(c) => c.0.shrink_to_fit(),
                AttrValue::Ipv6ExtendedCommunities(c) => c.0.shrink_to_fit(),
                AttrValue::ClusterList(c) => c.shrink_to_fit(),
                AttrValue::Unknown { value, .. } => value.shrink_to_fit(),
                _ => {}
            }
        }
    }

    /// The set with every vector shrunk to fit (see [`Interner::intern_shared`]).
    pub fn shrunk(mut self) -> Attrs {
        self.shrink();
        self
    }

    /// The same set for one NLRI of a codec family (see the type's doc).
    pub fn with_nlri(mut self, nlri: Bytes) -> Attrs {
        self.nlri = Some(Box::new(nlri));
        self.hashed()
    }

    /// The NLRI of a codec family's path, as received.
    pub fn nlri(&self) -> Option<&Bytes> {
        self.nlri.as_deref()
    }

    /// The attributes, sorted by type code.
    pub fn list(&self) -> &[PathAttribute] {
        &self.list
    }

    pub fn get(&self, type_code: u8) -> Option<&AttrValue> {
        self.list
            .binary_search_by_key(&type_code, PathAttribute::code)
            .ok()
            .and_then(|i| self.list.get(i))
            .map(|a| &a.value)
    }

    pub fn next_hop(&self) -> Option<&NextHop> {
        self.next_hop.as_ref()
    }

    /// The next hop as an address: IPv4, or the global IPv6 address.
    pub fn next_hop_ip(&self) -> Option<IpAddr> {
        match &self.next_hop {
            Some(NextHop::V4(a)) => Some(IpAddr::V4(*a)),
            Some(NextHop::V6 { global, .. }) => Some(IpAddr::V6(*global)),
            _ => None,
        }
    }

    pub fn weight(&self) -> u32 {
        self.weight
    }

    pub fn origin(&self) -> Origin {
        self.rank.origin
    }

    /// The AS path's length as the decision process counts it (AS_SET 1,
    /// confederation segments 0).
    pub fn path_len(&self) -> usize {
        usize::from(self.rank.path_len)
    }

    /// AS_PATH (empty when absent, as for a route originated here).
    pub fn as_path(&self) -> &AsPath {
        match self.get(code::AS_PATH) {
            Some(AttrValue::AsPath(p)) => p,
            _ => &EMPTY_PATH,
        }
    }

    pub fn med(&self) -> Option<u32> {
        match self.get(code::MULTI_EXIT_DISC) {
            Some(AttrValue::MultiExitDisc(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn local_pref(&self) -> Option<u32> {
        self.rank.local_pref
    }

    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        match self.get(code::ORIGINATOR_ID) {
            Some(AttrValue::OriginatorId(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn cluster_list(&self) -> &[Ipv4Addr] {
        match self.get(code::CLUSTER_LIST) {
            Some(AttrValue::ClusterList(v)) => v,
            _ => &[],
        }
    }

    /// Carries this RFC 1997 community.
    pub fn has_community(&self, c: Community) -> bool {
        match self.get(code::COMMUNITIES) {
            Some(AttrValue::Communities(list)) => list.0.contains(&c),
            _ => false,
        }
    }

    /// A copy with changes (the copy is not interned).
    /// The set as a builder, without a copy.
    pub fn into_builder(self) -> AttrsBuilder {
        AttrsBuilder {
            list: self.list,
            next_hop: self.next_hop,
            weight: self.weight,
            nlri: self.nlri.map(|n| *n),
        }
    }

    pub fn to_builder(&self) -> AttrsBuilder {
        AttrsBuilder {
            list: self.list.clone(),
            next_hop: self.next_hop.clone(),
            weight: self.weight,
            nlri: self.nlri.as_deref().cloned(),
        }
    }
}

/// A mutable attribute set, made into [`Attrs`] by [`AttrsBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct AttrsBuilder {
    pub list: Vec<PathAttribute>,
    pub next_hop: Option<NextHop>,
    pub weight: u32,
    /// See [`Attrs`].
    pub nlri: Option<Bytes>,
}

impl AttrsBuilder {
    /// Set an attribute, replacing one of the same type.
    pub fn set(&mut self, value: AttrValue) {
        let code = value.code();
        match self.list.iter_mut().find(|a| a.code() == code) {
            Some(a) => a.value = value,
            None => self.list.push(PathAttribute::new(value)),
        }
    }

    pub fn remove(&mut self, type_code: u8) {
        self.list.retain(|a| a.code() != type_code);
    }

    pub fn get_mut(&mut self, type_code: u8) -> Option<&mut AttrValue> {
        self.list.iter_mut().find(|a| a.code() == type_code).map(|a| &mut a.value)
    }

    pub fn build(self) -> Attrs {
        let a = Attrs::new(self.list, self.next_hop, self.weight);
        match self.nlri {
            Some(n) => a.with_nlri(n),
            None => a,
        }
    }
}

/// An [`Interner`] shared by the RIB and the tasks that build attribute
/// sets: the peers' tasks intern what they decode, off the RIB's thread.
#[derive(Debug, Clone, Default)]
pub struct SharedInterner(Arc<Mutex<Interner>>);

impl SharedInterner {
    pub fn lock(&self) -> MutexGuard<'_, Interner> {
        // A panic while locked leaves a consistent set (no operation is
        // half done across a panic point): go on with it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `self` and `other` are the same interner.
    pub fn same(&self, other: &SharedInterner) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// FxHash (rustc's): fast, not DoS-resistant. Keys here are prefixes and
/// attribute sets from configured peers, not from arbitrary hosts.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            if let Some(dst) = w.get_mut(..rest.len()) {
                dst.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash maps and sets of the RIB use FxHash.
pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = HashSet<K, FxBuild>;

/// Makes equal attribute sets one shared allocation. Sets nobody holds any
/// more are dropped by [`Interner::sweep`], which runs on its own whenever
/// the set has doubled since the last sweep.
#[derive(Debug, Default)]
pub struct Interner {
    /// Keyed by each set's stored hash: a lookup compares values, a
    /// removal pointers (no walk through the attributes).
    set: hashbrown::HashTable<Arc<Attrs>>,
    swept_at: usize,
}

impl Interner {
    /// The shared copy of `attrs`.
    pub fn intern(&mut self, attrs: Attrs) -> Arc<Attrs> {
        if let Some(a) = self.set.find(attrs.hash, |a| **a == attrs) {
            return Arc::clone(a);
        }
        self.insert_new(Arc::new(attrs.shrunk()))
    }

    /// The shared copy of a set already in an `Arc` (built and shrunk by
    /// the caller, e.g. on a peer's task): `attrs` itself when it is new.
    pub fn intern_shared(&mut self, attrs: Arc<Attrs>) -> Arc<Attrs> {
        if let Some(a) = self.set.find(attrs.hash, |a| **a == *attrs) {
            return Arc::clone(a);
        }
        self.insert_new(attrs)
    }

    /// Add a set known not to be here (sweeping first once the set has
    /// doubled since the last sweep).
    fn insert_new(&mut self, attrs: Arc<Attrs>) -> Arc<Attrs> {
        if self.set.len() >= 2 * self.swept_at.max(1024) {
            self.sweep();
        }
        self.set.insert_unique(attrs.hash, Arc::clone(&attrs), |x| x.hash);
        attrs
    }

    /// Take `attrs` out if it is this interner's copy and nobody but the
    /// caller (one reference) and the interner holds it. Whether it was.
    pub fn remove_unused(&mut self, attrs: &Arc<Attrs>) -> bool {
        if Arc::strong_count(attrs) != 2 {
            return false;
        }
        match self.set.find_entry(attrs.hash, |a| Arc::ptr_eq(a, attrs)) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Drop the sets only the interner holds.
    pub fn sweep(&mut self) {
        drop(self.sweep_out());
    }

    /// Take out the sets only the interner holds, for the caller to drop
    /// (freeing a full table's sets takes a tenth of a second: better on
    /// another thread).
    pub fn sweep_out(&mut self) -> Vec<Arc<Attrs>> {
        let gone: Vec<Arc<Attrs>> = self.set.extract_if(|a| Arc::strong_count(a) == 1).collect();
        self.set.shrink_to_fit(|x| x.hash);
        self.swept_at = self.set.len();
        gone
    }

    /// Distinct sets held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// Hash of a value with [`FxHasher`].
pub fn fx_hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = FxHasher::default();
    v.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(med: u32) -> Attrs {
        Attrs::new(
            vec![
                PathAttribute::new(AttrValue::MultiExitDisc(med)),
                PathAttribute::new(AttrValue::Origin(Origin::Igp)),
                PathAttribute::new(AttrValue::NextHop("192.0.2.1".parse().unwrap())),
                PathAttribute::new(AttrValue::MultiExitDisc(999)),
            ],
            Some(NextHop::V4("192.0.2.1".parse().unwrap())),
            0,
        )
    }

    #[test]
    fn normalised_sorted_first_of_repeated_kept_next_hop_apart() {
        let a = attrs(5);
        let codes: Vec<u8> = a.list().iter().map(PathAttribute::code).collect();
        assert_eq!(codes, vec![code::ORIGIN, code::MULTI_EXIT_DISC]);
        assert_eq!(a.med(), Some(5));
        assert_eq!(a.origin(), Origin::Igp);
        assert_eq!(a.next_hop_ip(), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(a.local_pref(), None);
        assert_eq!(a.as_path().path_len(), 0);
    }

    #[test]
    fn interning_shares_equal_sets_and_sweeps_unused_ones() {
        let mut i = Interner::default();
        let a = i.intern(attrs(1));
        let b = i.intern(attrs(1));
        let c = i.intern(attrs(2));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(i.len(), 2);
        drop(c);
        i.sweep();
        assert_eq!(i.len(), 1);
        drop((a, b));
        i.sweep();
        assert!(i.is_empty());
    }

    #[test]
    fn builder_replaces_and_removes() {
        let mut b = attrs(1).to_builder();
        b.set(AttrValue::LocalPref(200));
        b.set(AttrValue::MultiExitDisc(7));
        b.remove(code::ORIGIN);
        let a = b.build();
        assert_eq!(a.local_pref(), Some(200));
        assert_eq!(a.med(), Some(7));
        assert_eq!(a.origin(), Origin::Incomplete);
    }

    #[test]
    fn the_decision_summary_follows_the_list() {
        use crate::aspath::{AsSegment, SegmentType};
        let path = AsPath::new(vec![
            AsSegment { kind: SegmentType::Sequence, asns: vec![65001, 65002] },
            AsSegment { kind: SegmentType::Set, asns: vec![1, 2, 3] },
        ]);
        let mut b = attrs(1).to_builder();
        b.set(AttrValue::AsPath(path));
        b.set(AttrValue::Origin(Origin::Egp));
        let a = b.build();
        assert_eq!((a.path_len(), a.origin(), a.local_pref()), (3, Origin::Egp, None));
        assert_eq!(a.path_len(), a.as_path().path_len());
        let mut b = a.to_builder();
        b.set(AttrValue::LocalPref(50));
        b.remove(code::AS_PATH);
        let a = b.build();
        assert_eq!((a.path_len(), a.origin(), a.local_pref()), (0, Origin::Egp, Some(50)));
        // The first of repeated attributes counts, as in the list.
        let a = Attrs::new(
            vec![PathAttribute::new(AttrValue::LocalPref(300)), PathAttribute::new(AttrValue::LocalPref(10))],
            None,
            0,
        );
        assert_eq!(a.local_pref(), Some(300));
    }
}
