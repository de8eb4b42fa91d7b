//! Path attribute sets as the RIB keeps them: one immutable [`Attrs`] per
//! distinct set, shared by every route that carries it (interned).
//!
//! A full table of a million prefixes arrives in a few hundred thousand
//! distinct attribute sets; routes hold an `Arc<Attrs>` (one pointer), and
//! the [`Interner`] makes equal sets one allocation. Because sets are
//! interned, "same attributes" is a pointer comparison.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use super::hash::RibState;
use crate::aspath::AsPath;
use crate::attr::{AttrValue, NextHop, Origin, PathAttribute, code, decode_value, flag};
use crate::community::Community;
use crate::context::SessionContext;

/// One path's attributes: everything but the NLRI.
///
/// The attributes are kept sorted by type code, without MP_REACH_NLRI,
/// MP_UNREACH_NLRI, NEXT_HOP, AS4_PATH and AS4_AGGREGATOR (the next hop
/// is `next_hop`; 4-octet AS numbers are merged into AS_PATH and
/// AGGREGATOR on receipt and split again for 2-octet peers on export).
/// They are stored encoded, as on a 4-octet-AS session: one allocation
/// and about a third of the memory of the typed list, which [`Attrs::list`]
/// decodes on demand. What the decision process reads is summarized apart.
/// `weight` is local to this router (never sent). `nlri` is the NLRI as
/// received for families the RIB keys by a codec's route key (EVPN): the
/// labels and ESI it carries belong to the path, not to the destination.
#[derive(Debug, Clone)]
pub struct Attrs {
    stored: Stored,
    next_hop: Option<NextHop>,
    weight: u32,
    /// Boxed: only codec families (EVPN) have it.
    nlri: Option<Box<Bytes>>,
    /// Hash of the fields above under the RIB's keyed hash (`rib::hash`),
    /// computed once: interning hashes a set once, not at every lookup.
    hash: u64,
    /// Worked out from the attributes once.
    rank: Rank,
}

/// How a set keeps its attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Stored {
    /// Encoded (flags, type, length, value), sorted by type code.
    Wire(Box<[u8]>),
    /// The typed list, for the rare set with an attribute that does not
    /// encode (longer than BGP's 16-bit attribute length allows).
    Typed(Box<[PathAttribute]>),
}

/// What the decision process reads first, worked out once per set: a
/// full table compares sets millions of times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rank {
    local_pref: Option<u32>,
    path_len: u16,
    origin: Origin,
    /// The first AS of the AS path (the neighbouring AS for MED).
    first_as: Option<u32>,
}

impl Rank {
    fn of(list: &[PathAttribute]) -> Rank {
        let mut r = Rank { local_pref: None, path_len: 0, origin: Origin::Incomplete, first_as: None };
        for a in list {
            match &a.value {
                AttrValue::Origin(o) => r.origin = *o,
                AttrValue::AsPath(p) => {
                    r.path_len = u16::try_from(p.path_len()).unwrap_or(u16::MAX);
                    r.first_as = p.first_as();
                }
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
            && self.stored == other.stored
            && self.nlri == other.nlri
    }
}

impl Eq for Attrs {}

impl Hash for Attrs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The encoded attributes of a set: (flags, type code, value).
struct WireAttrs<'a>(&'a [u8]);

impl<'a> Iterator for WireAttrs<'a> {
    type Item = (u8, u8, &'a [u8]);

    fn next(&mut self) -> Option<(u8, u8, &'a [u8])> {
        let (&flags, rest) = self.0.split_first()?;
        let (&code, rest) = rest.split_first()?;
        let (len, rest) = if flags & flag::EXTENDED_LENGTH != 0 {
            let l = rest.get(..2)?;
            (usize::from(u16::from_be_bytes([*l.first()?, *l.get(1)?])), rest.get(2..)?)
        } else {
            let (&l, rest) = rest.split_first()?;
            (usize::from(l), rest)
        };
        let value = rest.get(..len)?;
        self.0 = rest.get(len..)?;
        Some((flags, code, value))
    }
}

/// Append one encoded attribute; the Extended Length bit kept as it was,
/// and set when the value needs it (as `PathAttribute::encode` does).
fn put_attribute(out: &mut Vec<u8>, flags: u8, code: u8, value: &[u8]) -> Option<()> {
    let len = u16::try_from(value.len()).ok()?;
    match u8::try_from(len) {
        Ok(short) if flags & flag::EXTENDED_LENGTH == 0 => out.extend_from_slice(&[flags, code, short]),
        _ => {
            out.extend_from_slice(&[flags | flag::EXTENDED_LENGTH, code]);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(value);
    Some(())
}

/// A set of attribute type codes as a bitmask, built at compile time
/// (`export::EBGP_EXPORT_DROPS`): a lookup is a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeSet {
    /// Codes 0-127.
    low: u128,
    /// Codes 128-255.
    high: u128,
}

impl CodeSet {
    pub(crate) const EMPTY: CodeSet = CodeSet { low: 0, high: 0 };

    /// The set with `code` added.
    pub(crate) const fn with(self, code: u8) -> CodeSet {
        if code < 128 {
            CodeSet { low: self.low | (1 << code), ..self }
        } else {
            CodeSet { high: self.high | (1 << (code - 128)), ..self }
        }
    }

    #[inline]
    pub(crate) fn contains(&self, code: u8) -> bool {
        let word = if code < 128 { self.low } else { self.high };
        (word >> (code & 127)) & 1 != 0
    }
}

/// How sets are encoded and decoded: a 4-octet-AS session.
fn canonical() -> SessionContext {
    SessionContext::modern()
}

fn decode(flags: u8, code: u8, value: &[u8]) -> Option<PathAttribute> {
    decode_value(flags, code, value, 0, &canonical()).ok().map(|value| PathAttribute { flags, value })
}

fn encode(list: &[PathAttribute]) -> Option<Box<[u8]>> {
    let ctx = canonical();
    let mut out = Vec::with_capacity(list.len() * 8);
    for a in list {
        a.encode(&mut out, &ctx).ok()?;
    }
    Some(out.into_boxed_slice())
}

impl Attrs {
    /// A set from attributes in any order. MP_REACH/MP_UNREACH, NEXT_HOP
    /// and AS4_* in `list` are dropped; of repeated types the first is kept.
    /// Each attribute is kept as it may be passed on
    /// ([`PathAttribute::pass_on`]: no unknown non-transitive ones, the
    /// Partial bit as RFC 4271 §5 says), so what any export copies out of a
    /// set, typed or encoded, is already right for the next peer.
    pub fn new(list: Vec<PathAttribute>, next_hop: Option<NextHop>, weight: u32) -> Attrs {
        let mut list: Vec<PathAttribute> = list
            .into_iter()
            .filter(|a| {
                !matches!(
                    a.code(),
                    code::MP_REACH_NLRI
                        | code::MP_UNREACH_NLRI
                        | code::NEXT_HOP
                        | code::AS4_PATH
                        | code::AS4_AGGREGATOR
                )
            })
            .filter_map(PathAttribute::pass_on)
            .collect();
        // Stable: the first of repeated types stays first.
        list.sort_by_key(PathAttribute::code);
        list.dedup_by_key(|a| a.code());
        let rank = Rank::of(&list);
        let stored = match encode(&list) {
            Some(wire) => {
                // The encoder sets Extended Length where a value needs it.
                let plain = |a: &PathAttribute| (a.flags & !flag::EXTENDED_LENGTH, a.value.clone());
                debug_assert_eq!(
                    WireAttrs(&wire)
                        .filter_map(|(f, c, v)| decode(f, c, v))
                        .map(|a| plain(&a))
                        .collect::<Vec<_>>(),
                    list.iter().map(plain).collect::<Vec<_>>(),
                    "attributes that do not survive encoding"
                );
                Stored::Wire(wire)
            }
            None => Stored::Typed(list.into_boxed_slice()),
        };
        Attrs { stored, next_hop, weight, nlri: None, hash: 0, rank }.hashed()
    }

    fn hashed(mut self) -> Attrs {
        let mut h = std::hash::BuildHasher::build_hasher(&RibState::default());
        self.stored.hash(&mut h);
        self.next_hop.hash(&mut h);
        self.weight.hash(&mut h);
        self.nlri.hash(&mut h);
        self.hash = h.finish();
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

    /// What an eBGP peer gets of this set when no export policy sees it
    /// first, worked out on the encoded bytes (the common export: no
    /// decoding, one allocation): our AS prepended to the AS path, the
    /// attributes in `drops` left out (the export's table of what eBGP
    /// peers are not sent), `next_hop` for the next hop, no weight. `None`
    /// where the general export is needed: a set kept typed, or one
    /// without ORIGIN or AS_PATH (the export adds them).
    pub(crate) fn ebgp_export(&self, local_as: u32, drops: &CodeSet, next_hop: NextHop) -> Option<Attrs> {
        let Stored::Wire(w) = &self.stored else { return None };
        let mut out = Vec::with_capacity(w.len() + 8);
        let (mut origin, mut as_path) = (false, false);
        for (flags, code, value) in WireAttrs(w) {
            match code {
                c if drops.contains(c) => {}
                // Confederation segments are left out for an external
                // peer: the typed export does it (rare).
                code::AS_PATH if has_confed_segment(value) => return None,
                code::AS_PATH => {
                    as_path = true;
                    // 4-octet segments: into a leading AS_SEQUENCE with
                    // room, else as a new one in front (as `AsPath` does).
                    let (count, rest) = match value {
                        [2, n, rest @ ..] if *n < 255 => (n + 1, rest),
                        _ => (1, value),
                    };
                    let mut v = Vec::with_capacity(value.len() + 6);
                    v.extend_from_slice(&[2, count]);
                    v.extend_from_slice(&local_as.to_be_bytes());
                    v.extend_from_slice(rest);
                    put_attribute(&mut out, flags, code, &v)?;
                }
                _ => {
                    origin |= code == code::ORIGIN;
                    put_attribute(&mut out, flags, code, value)?;
                }
            }
        }
        if !(origin && as_path) {
            return None;
        }
        let rank = Rank {
            local_pref: None,
            path_len: self.rank.path_len.saturating_add(1),
            origin: self.rank.origin,
            first_as: Some(local_as),
        };
        let stored = Stored::Wire(out.into_boxed_slice());
        Some(
            Attrs { stored, next_hop: Some(next_hop), weight: 0, nlri: self.nlri.clone(), hash: 0, rank }
                .hashed(),
        )
    }

    /// The attributes, sorted by type code (decoded: a copy).
    pub fn list(&self) -> Vec<PathAttribute> {
        match &self.stored {
            Stored::Wire(w) => WireAttrs(w).filter_map(|(f, c, v)| decode(f, c, v)).collect(),
            Stored::Typed(l) => l.to_vec(),
        }
    }

    /// The attribute of this type (decoded: a copy).
    pub fn get(&self, type_code: u8) -> Option<AttrValue> {
        match &self.stored {
            Stored::Wire(w) => WireAttrs(w)
                .find(|&(_, c, _)| c == type_code)
                .and_then(|(f, c, v)| decode(f, c, v))
                .map(|a| a.value),
            Stored::Typed(l) => Attrs::typed(l, type_code).cloned(),
        }
    }

    /// The encoded value of an attribute, without decoding it (`None`:
    /// absent), or the typed list of a set kept typed.
    fn raw(&self, type_code: u8) -> Result<Option<&[u8]>, &[PathAttribute]> {
        match &self.stored {
            Stored::Wire(w) => Ok(WireAttrs(w).find(|&(_, c, _)| c == type_code).map(|(_, _, v)| v)),
            Stored::Typed(l) => Err(l),
        }
    }

    /// The typed value of an attribute of a set kept typed.
    fn typed(list: &[PathAttribute], type_code: u8) -> Option<&AttrValue> {
        list.iter().find(|a| a.code() == type_code).map(|a| &a.value)
    }

    /// A 4-byte attribute value (MED, ORIGINATOR_ID).
    fn be_u32(v: Option<&[u8]>) -> Option<u32> {
        v.and_then(|v| v.try_into().ok()).map(u32::from_be_bytes)
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

    /// The first AS of the AS path, if it starts with an AS_SEQUENCE.
    pub fn first_as(&self) -> Option<u32> {
        self.rank.first_as
    }

    /// AS_PATH (empty when absent, as for a route originated here).
    pub fn as_path(&self) -> AsPath {
        match self.get(code::AS_PATH) {
            Some(AttrValue::AsPath(p)) => p,
            _ => AsPath::default(),
        }
    }

    /// The AS path holds `asn` (the loop check, without decoding it).
    pub fn as_path_contains(&self, asn: u32) -> bool {
        let mut v = match self.raw(code::AS_PATH) {
            Ok(Some(v)) => v,
            Ok(None) => return false,
            Err(l) => {
                return matches!(Attrs::typed(l, code::AS_PATH), Some(AttrValue::AsPath(p)) if p.contains(asn));
            }
        };
        // Segments: type, count, count 4-octet AS numbers.
        while let Some((&[_, n], rest)) = v.split_first_chunk::<2>() {
            let len = usize::from(n) * 4;
            let Some(asns) = rest.get(..len) else { return false };
            if asns.chunks_exact(4).any(|c| c == asn.to_be_bytes()) {
                return true;
            }
            v = rest.get(len..).unwrap_or_default();
        }
        false
    }

    pub fn med(&self) -> Option<u32> {
        match self.raw(code::MULTI_EXIT_DISC) {
            Ok(v) => Attrs::be_u32(v),
            Err(l) => match Attrs::typed(l, code::MULTI_EXIT_DISC) {
                Some(AttrValue::MultiExitDisc(v)) => Some(*v),
                _ => None,
            },
        }
    }

    pub fn local_pref(&self) -> Option<u32> {
        self.rank.local_pref
    }

    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        match self.raw(code::ORIGINATOR_ID) {
            Ok(v) => Attrs::be_u32(v).map(Ipv4Addr::from),
            Err(l) => match Attrs::typed(l, code::ORIGINATOR_ID) {
                Some(AttrValue::OriginatorId(v)) => Some(*v),
                _ => None,
            },
        }
    }

    pub fn cluster_list(&self) -> Vec<Ipv4Addr> {
        match self.get(code::CLUSTER_LIST) {
            Some(AttrValue::ClusterList(v)) => v,
            _ => Vec::new(),
        }
    }

    /// The number of cluster ids in CLUSTER_LIST (without decoding it).
    pub fn cluster_list_len(&self) -> usize {
        match self.raw(code::CLUSTER_LIST) {
            Ok(v) => v.map_or(0, |v| v.len() / 4),
            Err(l) => match Attrs::typed(l, code::CLUSTER_LIST) {
                Some(AttrValue::ClusterList(v)) => v.len(),
                _ => 0,
            },
        }
    }

    /// Carries this RFC 1997 community (without decoding the list).
    pub fn has_community(&self, c: Community) -> bool {
        match self.raw(code::COMMUNITIES) {
            Ok(v) => v.is_some_and(|v| v.chunks_exact(4).any(|x| x == c.0.to_be_bytes())),
            Err(l) => {
                matches!(Attrs::typed(l, code::COMMUNITIES), Some(AttrValue::Communities(list)) if list.0.contains(&c))
            }
        }
    }

    /// The set as a builder.
    pub fn into_builder(self) -> AttrsBuilder {
        AttrsBuilder {
            list: self.list(),
            next_hop: self.next_hop,
            weight: self.weight,
            nlri: self.nlri.map(|n| *n),
        }
    }

    /// A copy with changes (the copy is not interned).
    pub fn to_builder(&self) -> AttrsBuilder {
        AttrsBuilder {
            list: self.list(),
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

/// An encoded (4-octet) AS_PATH value holds an AS_CONFED_SEQUENCE or
/// AS_CONFED_SET segment (RFC 5065 types 3 and 4).
fn has_confed_segment(mut value: &[u8]) -> bool {
    while let [kind, n, rest @ ..] = value {
        if matches!(kind, 3 | 4) {
            return true;
        }
        value = rest.get(usize::from(*n) * 4..).unwrap_or_default();
    }
    false
}

/// Makes equal attribute sets one shared allocation. Sets nobody holds any
/// more are dropped by [`Interner::sweep`], which runs on its own whenever
/// the set has doubled since the last sweep.
#[derive(Debug, Default)]
pub struct Interner {
    /// Keyed by each set's stored hash (the RIB's keyed hash, so a peer
    /// cannot send sets chosen to collide): a lookup compares values, a
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
        self.insert_new(Arc::new(attrs))
    }

    /// The shared copy of a set already in an `Arc` (built by the caller,
    /// e.g. on a peer's task): `attrs` itself when it is new.
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

    /// A set with AS path, MED, communities, ORIGINATOR_ID and CLUSTER_LIST;
    /// with `huge`, communities too long for BGP's 16-bit attribute length,
    /// so that the set is kept typed.
    fn rich(huge: bool) -> Attrs {
        use crate::aspath::AsSegment;
        use crate::community::Communities;
        let mut communities: Vec<Community> = vec![Community::new(65001, 7), Community::NO_EXPORT];
        if huge {
            communities.extend((0..20_000).map(|i| Community::new(64512, i)));
        }
        Attrs::new(
            vec![
                PathAttribute::new(AttrValue::AsPath(AsPath::new(vec![AsSegment::sequence(vec![
                    65001,
                    4_200_000_000,
                    65003,
                ])]))),
                PathAttribute::new(AttrValue::MultiExitDisc(42)),
                PathAttribute::new(AttrValue::Communities(Communities(communities))),
                PathAttribute::new(AttrValue::OriginatorId("192.0.2.9".parse().unwrap())),
                PathAttribute::new(AttrValue::ClusterList(vec![
                    "192.0.2.10".parse().unwrap(),
                    "192.0.2.11".parse().unwrap(),
                ])),
            ],
            Some(NextHop::V4("192.0.2.1".parse().unwrap())),
            0,
        )
    }

    #[test]
    fn sets_are_kept_encoded_and_read_without_decoding_as_when_typed() {
        let wire = rich(false);
        let typed = rich(true);
        assert!(matches!(wire.stored, Stored::Wire(_)));
        assert!(matches!(typed.stored, Stored::Typed(_)), "an attribute over 65535 bytes stays typed");
        for a in [&wire, &typed] {
            assert!(a.as_path_contains(4_200_000_000) && a.as_path_contains(65003));
            assert!(!a.as_path_contains(65002));
            assert_eq!(a.first_as(), Some(65001));
            assert_eq!(a.path_len(), 3);
            assert_eq!(a.med(), Some(42));
            assert_eq!(a.originator_id(), Some("192.0.2.9".parse().unwrap()));
            assert_eq!(a.cluster_list_len(), 2);
            assert_eq!(a.cluster_list().len(), 2);
            assert!(a.has_community(Community::NO_EXPORT) && a.has_community(Community::new(65001, 7)));
            assert!(!a.has_community(Community::NO_ADVERTISE));
            assert_eq!(a.as_path().to_string(), "65001 4200000000 65003");
        }
        let codes: Vec<u8> = wire.list().iter().map(PathAttribute::code).collect();
        assert_eq!(
            codes,
            [
                code::AS_PATH,
                code::MULTI_EXIT_DISC,
                code::COMMUNITIES,
                code::ORIGINATOR_ID,
                code::CLUSTER_LIST
            ]
        );
        // Equal lists make equal sets; a rebuilt set is the same set.
        assert_eq!(wire.to_builder().build(), wire);
        assert_eq!(typed.to_builder().build(), typed);
        assert_ne!(wire, rich(true));
        assert!(std::mem::size_of::<Attrs>() <= 104, "{}", std::mem::size_of::<Attrs>());
        let plain = attrs(5);
        assert_eq!((plain.med(), plain.originator_id(), plain.cluster_list_len()), (Some(5), None, 0));
        assert!(!plain.as_path_contains(0) && plain.first_as().is_none());
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
    fn equal_sets_built_apart_hash_alike_and_intern_as_one() {
        // The keyed hash is the process's: a set built on another thread
        // (as peers' tasks build them), from its attributes in another
        // order, must land on the interner's copy.
        let b = std::thread::spawn(|| {
            Attrs::new(
                vec![
                    PathAttribute::new(AttrValue::Origin(Origin::Igp)),
                    PathAttribute::new(AttrValue::MultiExitDisc(1)),
                ],
                Some(NextHop::V4("192.0.2.1".parse().unwrap())),
                0,
            )
        })
        .join()
        .unwrap();
        let a = attrs(1);
        assert_eq!(a.hash, b.hash);
        let mut i = Interner::default();
        let a = i.intern(a);
        assert!(Arc::ptr_eq(&a, &i.intern_shared(Arc::new(b))));
        assert!(!Arc::ptr_eq(&a, &i.intern(attrs(1).with_nlri(Bytes::from_static(&[1, 2, 3])))));
        assert_eq!(i.len(), 2);
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
