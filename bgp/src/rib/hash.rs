//! The RIB's hash: keyed, so that a peer cannot pick keys that collide.
//!
//! Destinations, attribute sets, next hops and pre-policy routes are
//! chosen by the peers that send them. With an unkeyed hash an upstream
//! could announce prefixes that all land in one bucket and turn each
//! lookup into a walk of the table. Every hash map, set and table of the
//! RIB therefore hashes with foldhash (its `fast` variant) under a key
//! drawn once per process from the operating system's randomness.
//!
//! Maps whose keys peers do not choose (slot numbers, the pointers of
//! the flush's memo, families, configured peer addresses in the speaker)
//! use it too: the unkeyed FxHash they had was not faster there under
//! callgrind (docs/benchmarks.md, issue 13), and one hasher is simpler.
//!
//! One key for the process, not one per map: an attribute set's hash is
//! computed once where the set is built (often on a peer's task), stored
//! in the set and reused by the interner and by every map that holds the
//! set, so every consumer of a stored hash must agree on the key.
//!
//! foldhash is "minimally DoS-resistant": with the key unknown, colliding
//! keys cannot be chosen in advance; it does not claim to resist an
//! attacker who learns the key by timing a long-running process. Nothing
//! here prints or logs the key.

use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::SharedSeed;
use foldhash::fast::{FoldHasher, SeedableRandomState};

/// A hasher key: foldhash's shared seed and its per-hasher seed.
#[derive(Debug)]
struct Key {
    shared: SharedSeed,
    per_hasher: u64,
}

impl Key {
    /// A new key from the operating system's randomness (std draws its
    /// `RandomState` keys from it; SipHash of nothing under such keys is a
    /// random word, and each `RandomState` has fresh keys).
    fn random() -> Key {
        let word = || std::hash::RandomState::new().hash_one(());
        Key { shared: SharedSeed::from_u64(word()), per_hasher: word() }
    }

    fn state(&'static self) -> RibState {
        RibState(SeedableRandomState::with_seed(self.per_hasher, &self.shared))
    }
}

/// The process's key, drawn on first use.
static KEY: OnceLock<Key> = OnceLock::new();

/// Builds the RIB's hashers: foldhash under the process's key. Every
/// `RibState` of a process hashes alike (see the module's doc).
#[derive(Debug, Clone)]
pub struct RibState(SeedableRandomState);

impl Default for RibState {
    #[inline]
    fn default() -> RibState {
        KEY.get_or_init(Key::random).state()
    }
}

impl BuildHasher for RibState {
    type Hasher = FoldHasher<'static>;

    #[inline(always)]
    fn build_hasher(&self) -> FoldHasher<'static> {
        self.0.build_hasher()
    }
}

#[cfg(test)]
impl RibState {
    /// A state under a new random key, not the process's (tests only: the
    /// key is leaked).
    pub(crate) fn new_key() -> RibState {
        Box::leak(Box::new(Key::random())).state()
    }
}

/// A hash map of the RIB (keyed hash, see the module's doc).
pub type RibHashMap<K, V> = std::collections::HashMap<K, V, RibState>;
/// A hash set of the RIB (keyed hash, see the module's doc).
pub type RibHashSet<K> = std::collections::HashSet<K, RibState>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlri::Prefix;
    use crate::rib::Dest;

    fn dest(s: &str) -> Dest {
        Dest::Prefix(s.parse::<Prefix>().unwrap())
    }

    #[test]
    fn keys_are_random_so_two_keys_place_a_prefix_differently() {
        // Two keys made as the process's is: a fixed or shared key would
        // hash the same prefix the same under both.
        let (a, b) = (RibState::new_key(), RibState::new_key());
        for p in ["203.0.113.0/24", "0.0.0.0/0", "2001:db8::/32"] {
            let d = dest(p);
            assert_ne!(a.hash_one(&d), b.hash_one(&d), "{p}");
        }
        // Nor is the process's key foldhash's fixed one.
        let d = dest("203.0.113.0/24");
        assert_ne!(RibState::default().hash_one(&d), foldhash::fast::FixedState::default().hash_one(&d));
    }

    #[test]
    fn one_key_per_process_so_stored_hashes_agree() {
        let d = dest("198.51.100.0/24");
        let (s1, s2) = (RibState::default(), RibState::default());
        assert_eq!(s1.hash_one(&d), s2.hash_one(&d));
        let mut m: RibHashMap<Dest, u32> = RibHashMap::default();
        m.insert(d.clone(), 7);
        assert_eq!(m.get(&d), Some(&7));
        assert!(!m.contains_key(&dest("198.51.100.0/25")));
        // Destinations hash by their own words (see `Dest`'s `Hash`):
        // the same bits at another length, in the other family or as a
        // route key are other keys.
        let all = ["10.0.0.0/8", "10.0.0.0/16", "::/0", "::a00:0/104", "::a00:0/112"];
        let mut m: RibHashMap<Dest, usize> = all.iter().enumerate().map(|(i, p)| (dest(p), i)).collect();
        m.insert(Dest::Key(Box::new([10, 0, 0, 0, 8])), all.len());
        assert_eq!(m.len(), all.len() + 1);
        for (i, p) in all.iter().enumerate() {
            assert_eq!(m.get(&dest(p)), Some(&i), "{p}");
        }
        assert_eq!(m.get(&Dest::Key(Box::new([10, 0, 0, 0, 8]))), Some(&all.len()));
    }
}
