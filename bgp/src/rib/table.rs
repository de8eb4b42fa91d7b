//! The routes of one family: every path to every destination, each
//! destination's paths kept sorted best first.
//!
//! Destinations live in a slab (`slots`) found through a hash index, so a
//! destination has a small stable number for as long as it has paths; the
//! Adj-RIB-Out of each peer is then one bit per slot (see
//! `adj_rib_out.rs`), as in BIRD's export maps.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use hashbrown::HashTable;

use super::attrs::Attrs;
use super::hash::RibState;
use crate::nlri::Prefix;

/// Which peer a path came from; [`LOCAL`] is this router.
pub type PeerId = u32;
/// Routes originated by this router.
pub const LOCAL: PeerId = 0;

/// One path to a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub attrs: Arc<Attrs>,
    pub peer: PeerId,
    /// The path identifier the peer sent (ADD-PATH), else 0.
    pub path_id: u32,
    /// The path identifier this router sends with ADD-PATH: stable for as
    /// long as the path exists, unique within the destination.
    pub tx_id: u32,
    /// Kept from a session that ended (graceful restart) or from before a
    /// BoRR, not announced again yet.
    pub stale: bool,
    /// Its next hop is unreachable (next-hop tracking): it sorts last and
    /// is never the best path.
    pub unreachable: bool,
}

impl Path {
    /// What export cares about: same peer, same path, same attributes.
    pub(crate) fn identity(&self) -> (PeerId, u32, *const Attrs) {
        (self.peer, self.path_id, Arc::as_ptr(&self.attrs))
    }
}

/// A destination: an IP prefix, or the route key of a codec family
/// (EVPN, [`crate::context::NlriKey`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dest {
    Prefix(Prefix),
    Key(Box<[u8]>),
}

impl Dest {
    pub fn prefix(&self) -> Option<&Prefix> {
        match self {
            Dest::Prefix(p) => Some(p),
            Dest::Key(_) => None,
        }
    }
}

/// An IPv4 prefix is hashed as one word, an IPv6 prefix as its address and
/// its length: the table hashes each destination of a full feed about three
/// times (on arrival, and again as the index doubles), and the derived hash
/// feeds the hasher five pieces (two enum tags, the address as a length
/// and bytes, the prefix length) in a call of its own. Equal destinations
/// write the same words, so this agrees with `Eq`. The word's low bits
/// are the prefix length: a hasher must mix high bits into low ones, as
/// foldhash does (under FxHash, which does not, a million prefixes fell
/// into a few dozen buckets: docs/benchmarks.md, issue 13).
impl Hash for Dest {
    #[inline(always)]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Dest::Prefix(Prefix::V4(p)) => {
                state.write_u64(u64::from(p.addr().to_bits()) << 8 | u64::from(p.length()))
            }
            Dest::Prefix(Prefix::V6(p)) => {
                state.write_u128(p.addr().to_bits());
                state.write_u8(p.length());
            }
            Dest::Key(k) => hash_key(k, state),
        }
    }
}

/// A codec family's route key, out of line: prefixes are the common case.
#[inline(never)]
fn hash_key<H: Hasher>(key: &[u8], state: &mut H) {
    key.hash(state);
}

impl From<Prefix> for Dest {
    fn from(p: Prefix) -> Dest {
        Dest::Prefix(p)
    }
}

impl std::fmt::Display for Dest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dest::Prefix(p) => p.fmt(f),
            Dest::Key(k) => k.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

/// A destination's paths: most destinations have one, kept inline (no
/// allocation per prefix for a single feed).
#[derive(Debug, Default)]
pub(crate) enum Paths {
    #[default]
    Empty,
    One(Path),
    /// Boxed so that the enum is no larger than a `Path` (24 bytes: the
    /// tag fits in the niche of `Path::stale`); the extra allocation is
    /// paid only by destinations with several paths.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<Path>>),
}

impl std::ops::Deref for Paths {
    type Target = [Path];
    fn deref(&self) -> &[Path] {
        match self {
            Paths::Empty => &[],
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }
}

impl std::ops::DerefMut for Paths {
    fn deref_mut(&mut self) -> &mut [Path] {
        match self {
            Paths::Empty => &mut [],
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v) => v,
        }
    }
}

impl Paths {
    pub fn from_vec(mut v: Vec<Path>) -> Paths {
        match v.len() {
            0 => Paths::Empty,
            1 => v.pop().map_or(Paths::Empty, Paths::One),
            _ => Paths::Many(Box::new(v)),
        }
    }

    pub fn into_vec(self) -> Vec<Path> {
        match self {
            Paths::Empty => Vec::new(),
            Paths::One(p) => vec![p],
            Paths::Many(v) => *v,
        }
    }

    /// Insert at `at` (clamped to the end).
    pub fn insert(&mut self, at: usize, path: Path) {
        *self = match std::mem::take(self) {
            Paths::Empty => Paths::One(path),
            Paths::One(q) => Paths::Many(Box::new(if at == 0 { vec![path, q] } else { vec![q, path] })),
            Paths::Many(mut v) => {
                v.insert(at.min(v.len()), path);
                Paths::Many(v)
            }
        };
    }

    /// Remove the path at `at`; a single path leaves without an allocation.
    pub fn remove(&mut self, at: usize) -> Option<Path> {
        match self {
            Paths::One(_) if at == 0 => match std::mem::take(self) {
                Paths::One(p) => Some(p),
                _ => None,
            },
            Paths::Many(v) if at < v.len() => {
                let p = v.remove(at);
                if v.len() < 2 {
                    *self = Paths::from_vec(std::mem::take(&mut **v));
                }
                Some(p)
            }
            _ => None,
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        match self {
            Paths::Empty => {}
            Paths::One(p) => {
                if !keep(p) {
                    *self = Paths::Empty;
                }
            }
            Paths::Many(v) => {
                v.retain(keep);
                if v.len() < 2 {
                    *self = Paths::from_vec(std::mem::take(&mut **v));
                }
            }
        }
    }
}

/// One destination.
#[derive(Debug)]
pub(crate) struct Slot {
    pub dest: Dest,
    /// Best first (see `Rib::sort_slot`).
    pub paths: Paths,
    /// In the dirty list.
    pub dirty: bool,
    /// The best path changed since the last flush (else only other paths:
    /// of interest to ADD-PATH peers only).
    pub best_changed: bool,
    /// The kernel route is to be sent again (its next hops resolve
    /// differently), whether or not the best path changed.
    pub fib: bool,
}

/// Slots in chunks of 16384: growing never copies the slots already there
/// (a doubling `Vec` would hold the old and the new copy at once, a third
/// more peak memory for a full table).
#[derive(Debug, Default)]
struct Slab {
    chunks: Vec<Vec<Slot>>,
    len: usize,
}

const CHUNK_BITS: u32 = 14;
const CHUNK: usize = 1 << CHUNK_BITS;

impl Slab {
    fn get(&self, i: u32) -> Option<&Slot> {
        self.chunks.get((i >> CHUNK_BITS) as usize)?.get(i as usize & (CHUNK - 1))
    }

    fn get_mut(&mut self, i: u32) -> Option<&mut Slot> {
        self.chunks.get_mut((i >> CHUNK_BITS) as usize)?.get_mut(i as usize & (CHUNK - 1))
    }

    fn push(&mut self, slot: Slot) -> u32 {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(slot);
        }
        let i = u32::try_from(self.len).unwrap_or(u32::MAX);
        self.len += 1;
        i
    }

    fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.chunks.iter().flatten()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Slot numbers, hashed by their slot's destination: 4 bytes per
    /// destination instead of a copy of the key.
    index: HashTable<u32>,
    /// The index's hash: keyed (`rib::hash`), since peers choose the
    /// destinations.
    hasher: RibState,
    slots: Slab,
    free: Vec<u32>,
    /// Slots whose best path changed since the last flush.
    pub dirty: Vec<u32>,
    /// The capacity the index was last built with: after a mass
    /// withdrawal its tombstones exhaust the capacity with few entries
    /// left, and it is rebuilt once at this size rather than grown again
    /// from small.
    index_built: usize,
    /// Entries taken out of the index since it was built: hashbrown
    /// leaves tombstones that lengthen every probe until a rebuild.
    released: usize,
}

impl Table {
    pub fn find(&self, dest: &Dest) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(self.hasher.hash_one(dest), |&i| slots.get(i).is_some_and(|s| s.dest == *dest))
            .copied()
    }

    /// The slot of `dest`, made if needed (one probe of the index).
    pub fn slot_for(&mut self, dest: Dest) -> u32 {
        if self.index.len() == self.index.capacity() {
            self.grow_index(u32::MAX);
        }
        let hasher = &self.hasher;
        let hash = hasher.hash_one(&dest);
        let slots = &self.slots;
        let entry = self.index.entry(
            hash,
            |&i| slots.get(i).is_some_and(|s| s.dest == dest),
            |&j| slots.get(j).map_or(0, |s| hasher.hash_one(&s.dest)),
        );
        let vacant = match entry {
            hashbrown::hash_table::Entry::Occupied(o) => return *o.get(),
            hashbrown::hash_table::Entry::Vacant(v) => v,
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i) {
                    s.dest = dest;
                    s.dirty = false;
                    s.best_changed = false;
                    s.fib = false;
                }
                i
            }
            None => self.slots.push(Slot {
                dest,
                paths: Paths::Empty,
                dirty: false,
                best_changed: false,
                fib: false,
            }),
        };
        vacant.insert(i);
        i
    }

    /// Double the index by walking the slots in order. hashbrown would
    /// rehash in bucket order, a cache miss on a random slot per entry: a
    /// seventh of the RIB's time while a full table arrives.
    fn grow_index(&mut self, adding: u32) {
        let mut free = BitSet::default();
        for &i in &self.free {
            free.set(i, true);
        }
        let slots = &self.slots;
        let state = &self.hasher;
        let hasher = |&j: &u32| slots.get(j).map_or(0, |s| state.hash_one(&s.dest));
        let capacity = (2 * self.index.len()).max(self.index_built).max(1024);
        let mut index = HashTable::with_capacity(capacity);
        for (i, s) in slots.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            // Every slot not on the free list is in the index, whether it
            // is in use or not; the one being added is not yet.
            if i != adding && !free.get(i) {
                index.insert_unique(state.hash_one(&s.dest), i, hasher);
            }
        }
        self.index = index;
        self.index_built = capacity;
        self.released = 0;
    }

    /// Housekeeping when idle: after many destinations went away, rebuild
    /// the index (same capacity, no tombstones) so that lookups of the
    /// table announced again do not probe through them.
    ///
    /// A table left empty (the only feeder withdrew everything or went
    /// down) starts again as new: a table announced again then fills its
    /// slots in order and the index grows with it, as the first time.
    /// Reusing the freed slots instead probes a full-size index from the
    /// first route and took 0.1 s (12%) longer for a full table. Slot
    /// numbers may restart: a slot is only released once every peer was
    /// told, so no Adj-RIB-Out refers to one.
    pub fn tidy(&mut self) {
        if self.index.is_empty() && self.dirty.is_empty() {
            if self.slots.len > 0 {
                *self = Table::default();
            }
            return;
        }
        if self.released >= 1024 && self.released >= self.index.len() {
            self.grow_index(u32::MAX);
        }
    }

    pub fn slot(&self, i: u32) -> Option<&Slot> {
        self.slots.get(i)
    }

    pub fn slot_mut(&mut self, i: u32) -> Option<&mut Slot> {
        self.slots.get_mut(i)
    }

    /// Note a change of the destination's paths for the next flush.
    pub fn mark_dirty(&mut self, i: u32, best_changed: bool) {
        if let Some(s) = self.slots.get_mut(i) {
            s.best_changed |= best_changed;
            if !s.dirty {
                s.dirty = true;
                self.dirty.push(i);
            }
        }
    }

    /// Note that the destination's kernel route is to be sent again.
    pub fn mark_fib(&mut self, i: u32) {
        if let Some(s) = self.slots.get_mut(i) {
            s.fib = true;
        }
        self.mark_dirty(i, false);
    }

    /// Give an empty slot back (after every peer was told).
    pub fn release(&mut self, i: u32) {
        let Some(s) = self.slots.get(i) else { return };
        if !s.paths.is_empty() {
            return;
        }
        if let Ok(entry) = self.index.find_entry(self.hasher.hash_one(&s.dest), |&j| j == i) {
            entry.remove();
            self.free.push(i);
            self.released += 1;
        }
    }

    /// Destinations with at least one path.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Slots in use, in slot order.
    pub fn live(&self) -> impl Iterator<Item = (u32, &Slot)> {
        self.slots.iter().enumerate().filter(|(_, s)| !s.paths.is_empty()).map(|(i, s)| (i as u32, s))
    }

    /// Number of slots (for sizing per-peer bit sets).
    pub fn capacity(&self) -> usize {
        self.slots.len
    }
}

/// One bit per slot: what a peer was sent.
#[derive(Debug, Default, Clone)]
pub(crate) struct BitSet(Vec<u64>);

impl BitSet {
    pub fn get(&self, i: u32) -> bool {
        self.0.get((i / 64) as usize).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub fn set(&mut self, i: u32, on: bool) {
        let w = (i / 64) as usize;
        if w >= self.0.len() {
            if !on {
                return;
            }
            self.0.resize(w + 1, 0);
        }
        if let Some(word) = self.0.get_mut(w) {
            if on {
                *word |= 1 << (i % 64);
            } else {
                *word &= !(1 << (i % 64));
            }
        }
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_with_one_path_costs_no_more_than_the_path() {
        assert_eq!(std::mem::size_of::<Path>(), 24);
        assert_eq!(std::mem::size_of::<Paths>(), 24);
        assert!(std::mem::size_of::<Slot>() <= 56, "{}", std::mem::size_of::<Slot>());
    }

    fn dest(n: u32) -> Dest {
        let p = crate::nlri::Prefix::new(std::net::Ipv4Addr::from(n << 8).into(), 24);
        Dest::Prefix(p.unwrap_or_else(|e| panic!("{e:?}")))
    }

    /// A fixed pseudo-random walk over a table hashed under `hasher`: two
    /// adds for every release, checking every destination at the end. How
    /// often the index was full when a freed slot was about to be reused.
    fn walk(hasher: RibState) -> usize {
        let mut t = Table { hasher, ..Table::default() };
        let mut live: Vec<(u32, u32)> = Vec::new();
        let mut next = 0;
        let mut grown_reusing = 0;
        let mut x: u32 = 12345;
        for _ in 0..60_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if x.is_multiple_of(3) && !live.is_empty() {
                let (n, i) = live.swap_remove((x >> 8) as usize % live.len());
                t.release(i);
                assert_eq!(t.find(&dest(n)), None, "released destination {n}");
            } else {
                if !t.free.is_empty() && t.index.len() == t.index.capacity() {
                    grown_reusing += 1;
                }
                live.push((next, t.slot_for(dest(next))));
                next += 1;
            }
        }
        assert_eq!(t.len(), live.len());
        for &(n, i) in &live {
            assert_eq!(t.find(&dest(n)), Some(i), "destination {n}");
            assert_eq!(t.slot_for(dest(n)), i, "destination {n} not added twice");
        }
        assert_eq!(t.len(), live.len());
        grown_reusing
    }

    #[test]
    fn the_index_finds_every_destination_across_growth_and_reused_slots() {
        // Whether the index is ever full just as a freed slot is reused
        // depends on where hashbrown leaves tombstones, so on the key: the
        // walk is checked under new keys until it has been (about one key
        // in seven never gets there).
        let misses = (0..10).map(|_| walk(RibState::new_key())).take_while(|&g| g == 0).count();
        assert!(misses < 10, "no walk grew the index while reusing a slot");
    }

    #[test]
    fn an_emptied_table_starts_again_from_slot_zero() {
        let mut t = Table::default();
        let slots: Vec<u32> = (0..3000).map(|n| t.slot_for(dest(n))).collect();
        t.tidy();
        assert_eq!(t.capacity(), 3000, "a table with destinations is kept");
        for &i in &slots[..2999] {
            t.release(i);
        }
        t.tidy();
        assert_eq!(t.capacity(), 3000, "one destination left keeps every slot");
        assert_eq!(t.find(&dest(2999)), slots.last().copied());
        if let Some(&i) = slots.last() {
            t.release(i);
        }
        t.tidy();
        assert_eq!((t.capacity(), t.len(), t.free.len()), (0, 0, 0));
        assert_eq!(t.find(&dest(2999)), None);
        assert_eq!(t.slot_for(dest(7)), 0);
        assert_eq!(t.slot_for(dest(8)), 1);
        assert_eq!(t.find(&dest(7)), Some(0));
    }

    fn path(peer: PeerId) -> Path {
        let attrs = Arc::new(Attrs::new(Vec::new(), None, 0));
        Path { attrs, peer, path_id: 0, tx_id: peer, stale: false, unreachable: false }
    }

    fn peers(p: &Paths) -> Vec<PeerId> {
        p.iter().map(|x| x.peer).collect()
    }

    #[test]
    fn paths_go_from_one_to_many_and_back() {
        let mut p = Paths::default();
        p.insert(0, path(2));
        assert!(matches!(p, Paths::One(_)));
        p.insert(0, path(1));
        p.insert(9, path(3));
        assert_eq!(peers(&p), [1, 2, 3]);
        assert_eq!(p.remove(1).map(|x| x.peer), Some(2));
        assert!(matches!(p, Paths::Many(_)));
        assert_eq!(p.remove(5).map(|x| x.peer), None);
        assert_eq!(p.remove(0).map(|x| x.peer), Some(1));
        assert!(matches!(p, Paths::One(_)), "two paths less one is inline again");
        assert_eq!(peers(&p), [3]);
        assert_eq!(p.remove(1).map(|x| x.peer), None);
        assert_eq!(p.remove(0).map(|x| x.peer), Some(3));
        assert!(matches!(p, Paths::Empty));
        assert_eq!(p.remove(0).map(|x| x.peer), None);

        let mut p = Paths::from_vec(vec![path(1), path(2), path(3)]);
        p.retain(|x| x.peer != 2);
        assert_eq!(peers(&p), [1, 3]);
        p.retain(|x| x.peer == 3);
        assert!(matches!(p, Paths::One(_)));
        assert_eq!(peers(&p), [3]);
        p.retain(|x| x.peer == 3);
        assert_eq!(peers(&p), [3]);
        p.retain(|_| false);
        assert!(matches!(p, Paths::Empty));
    }
}
