//! A deterministic synthetic full table (mdc issue 4): about a million IPv4
//! and 230,000 IPv6 prefixes with the real table's prefix-length
//! distribution, grouped into attribute sets the way a real feed shares
//! attributes, and encoded into the UPDATE streams that a feeder replays.
//!
//! Owns only generation and encoding: no sockets, no clocks. The same
//! [`TableSpec`] always gives the same prefixes, attributes and bytes.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use mdc_bgp::SessionContext;
use mdc_bgp::aspath::AsPath;
use mdc_bgp::attr::{AttrValue, MpNlri, MpReach, MpUnreach, NextHop, Origin, PathAttribute};
use mdc_bgp::community::{Communities, Community, LargeCommunities, LargeCommunity};
use mdc_bgp::family::Family;
use mdc_bgp::message::HEADER_LEN;
use mdc_bgp::nlri::{Ipv4Prefix, Ipv6Prefix, Nlri, Prefix};
use mdc_bgp::update::Update;

use crate::Rng;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableSpec {
    pub v4: usize,
    pub v6: usize,
    pub seed: u64,
}

impl TableSpec {
    /// The full table of issue 4: 1,000,000 IPv4 and 230,000 IPv6 prefixes.
    pub const FULL: TableSpec = TableSpec { v4: 1_000_000, v6: 230_000, seed: 4 };
}

/// IPv4 prefix lengths, weights per 100,000 (/24 about 61%; nothing longer
/// than /24, as in the global table).
pub const V4_LENGTHS: &[(u8, u32)] = &[
    (8, 2),
    (9, 2),
    (10, 4),
    (11, 10),
    (12, 30),
    (13, 60),
    (14, 120),
    (15, 200),
    (16, 1300),
    (17, 900),
    (18, 1500),
    (19, 2900),
    (20, 4500),
    (21, 4500),
    (22, 12000),
    (23, 11000),
    (24, 60972),
];

/// IPv6 prefix lengths, weights per 100,000 (/48 about 51%, /32 10%, /44
/// 8%, /40 6%; nothing longer than /48).
pub const V6_LENGTHS: &[(u8, u32)] = &[
    (24, 100),
    (25, 100),
    (26, 100),
    (27, 200),
    (28, 300),
    (29, 3500),
    (30, 500),
    (31, 400),
    (32, 10000),
    (33, 1200),
    (34, 1000),
    (35, 800),
    (36, 4000),
    (37, 500),
    (38, 800),
    (39, 700),
    (40, 6000),
    (41, 800),
    (42, 1500),
    (43, 1000),
    (44, 8000),
    (45, 2000),
    (46, 3000),
    (47, 2500),
    (48, 51000),
];

fn weighted(rng: &mut Rng, table: &[(u8, u32)]) -> u8 {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.below(u64::from(total)) as u32;
    for &(len, w) in table {
        if pick < w {
            return len;
        }
        pick -= w;
    }
    table.last().map_or(24, |(l, _)| *l)
}

/// One attribute set as the feed's origin saw it: the AS path without the
/// feeder's own AS (which [`Feeder`] prepends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrSet {
    pub origin: Origin,
    pub path: Vec<u32>,
    pub med: Option<u32>,
    pub communities: Vec<Community>,
    pub large: Vec<LargeCommunity>,
    /// A per-set random number (feeder variants derive prepends from it).
    pub key: u64,
}

/// Prefixes `range` (indices into the family's prefix list) share `attrs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub attrs: AttrSet,
    pub range: Range<usize>,
}

/// The generated table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub spec: TableSpec,
    pub v4: Vec<Ipv4Prefix>,
    pub v6: Vec<Ipv6Prefix>,
    pub v4_groups: Vec<Group>,
    pub v6_groups: Vec<Group>,
}

/// The documentation ranges the lab's own addresses come from: no
/// generated prefix covers or is inside them.
fn clashes_v4(p: &Ipv4Prefix) -> bool {
    let lab = u32::from(Ipv4Addr::new(192, 0, 2, 0));
    let len = u32::from(p.length().min(24));
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    (u32::from(p.addr()) & mask) == (lab & mask)
}

fn clashes_v6(p: &Ipv6Prefix) -> bool {
    let lab = u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0));
    let len = u32::from(p.length().min(32));
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    (u128::from(p.addr()) & mask) == (lab & mask)
}

fn gen_v4(rng: &mut Rng, n: usize) -> Vec<Ipv4Prefix> {
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    // The short lengths have few distinct values: give up on a length
    // after enough collisions rather than loop forever on a tiny space.
    let mut attempts = 0usize;
    while out.len() < n && attempts < n.saturating_mul(20).max(1000) {
        attempts += 1;
        let len = weighted(rng, V4_LENGTHS);
        // 1.0.0.0 - 223.255.255.255: unicast space.
        let first = 1 + rng.below(223) as u32;
        let addr = (first << 24) | (rng.next_u64() as u32 & 0x00ff_ffff);
        let Ok(p) = Ipv4Prefix::new(Ipv4Addr::from(addr), len) else { continue };
        if first == 127 || clashes_v4(&p) || !seen.insert(p) {
            continue;
        }
        out.push(p);
    }
    out
}

fn gen_v6(rng: &mut Rng, n: usize) -> Vec<Ipv6Prefix> {
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    let mut attempts = 0usize;
    while out.len() < n && attempts < n.saturating_mul(20).max(1000) {
        attempts += 1;
        let len = weighted(rng, V6_LENGTHS);
        // 2000::/3, as allocated.
        let hi = 0x2000_0000_0000_0000u64 | (rng.next_u64() >> 3);
        let Ok(p) = Ipv6Prefix::new(Ipv6Addr::from(u128::from(hi) << 64), len) else { continue };
        if clashes_v6(&p) || !seen.insert(p) {
            continue;
        }
        out.push(p);
    }
    out
}

/// Origin ASes: 75,000 of them, skewed so a few originate much (as in the
/// real table), half of them 4-octet.
fn origin_as(rng: &mut Rng) -> u32 {
    let u = rng.below(1 << 20);
    let idx = (((u * u) >> 20) * 75_000) >> 20;
    let idx = idx as u32;
    if idx.is_multiple_of(2) { 1000 + idx / 2 } else { 200_000 + idx / 2 }
}

/// Transit ASes between the origin and the feeder: a tier-1 set near the
/// top and a few thousand regional transits below.
fn transit_as(rng: &mut Rng, near_top: bool) -> u32 {
    if near_top { 100 + rng.below(20) as u32 } else { 2000 + rng.below(3000) as u32 }
}

/// AS path length as seen by the feed before its own AS: mean about 3.6,
/// so with the feeder's AS the mean is about 4.6.
fn path_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=4 => 1,
        5..=24 => 2,
        25..=54 => 3,
        55..=76 => 4,
        77..=88 => 5,
        89..=94 => 6,
        95..=97 => 7,
        _ => 8,
    }
}

fn attr_set(rng: &mut Rng) -> AttrSet {
    let n = path_len(rng);
    let mut path: Vec<u32> = (0..n.saturating_sub(1)).map(|i| transit_as(rng, i == 0)).collect();
    path.push(origin_as(rng));
    let origin = match rng.below(100) {
        0..=89 => Origin::Igp,
        90..=91 => Origin::Egp,
        _ => Origin::Incomplete,
    };
    let med = (rng.below(3) == 0).then(|| rng.below(1000) as u32);
    let communities = if rng.below(2) == 0 {
        let count = 1 + rng.below(6) as usize;
        let upstream = path.first().copied().unwrap_or(100) as u16;
        (0..count).map(|_| Community::new(upstream, rng.below(65_535) as u16)).collect()
    } else {
        Vec::new()
    };
    let large = if rng.below(7) == 0 {
        let count = 1 + rng.below(2) as usize;
        let global = path.last().copied().unwrap_or(1);
        (0..count)
            .map(|_| LargeCommunity::new(global, rng.below(100) as u32, rng.below(10_000) as u32))
            .collect()
    } else {
        Vec::new()
    };
    AttrSet { origin, path, med, communities, large, key: rng.next_u64() }
}

/// Group sizes: mostly 1-4 prefixes per attribute set (geometric, mean 4),
/// and one set in 200 with 20-200 prefixes (an origin's whole block).
fn group_size(rng: &mut Rng) -> usize {
    if rng.below(200) == 0 {
        return 20 + rng.below(181) as usize;
    }
    let mut n = 1;
    while n < 64 && rng.below(4) != 0 {
        n += 1;
    }
    n
}

fn groups(rng: &mut Rng, n: usize) -> Vec<Group> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + group_size(rng)).min(n);
        out.push(Group { attrs: attr_set(rng), range: start..end });
        start = end;
    }
    out
}

impl Table {
    /// Generate the table of `spec` (about 2 s for the full table).
    pub fn generate(spec: TableSpec) -> Table {
        let mut rng = Rng::new(spec.seed ^ 0x5eed_0004);
        let v4 = gen_v4(&mut rng, spec.v4);
        let v6 = gen_v6(&mut rng, spec.v6);
        let v4_groups = groups(&mut rng, v4.len());
        let v6_groups = groups(&mut rng, v6.len());
        Table { spec, v4, v6, v4_groups, v6_groups }
    }

    /// Groups of `family` cut to the prefix index `range` (a group that
    /// straddles an end is cut, keeping its attributes).
    fn groups_in(&self, family: Family, range: Range<usize>) -> impl Iterator<Item = Group> + '_ {
        let groups = if family == Family::IPV6_UNICAST { &self.v6_groups } else { &self.v4_groups };
        groups.iter().filter_map(move |g| {
            let start = g.range.start.max(range.start);
            let end = g.range.end.min(range.end);
            (start < end).then(|| Group { attrs: g.attrs.clone(), range: start..end })
        })
    }

    /// Number of prefixes of `family`.
    pub fn len(&self, family: Family) -> usize {
        if family == Family::IPV6_UNICAST { self.v6.len() } else { self.v4.len() }
    }

    fn nlri(&self, family: Family, range: Range<usize>) -> Vec<Nlri> {
        if family == Family::IPV6_UNICAST {
            self.v6.get(range).unwrap_or_default().iter().map(|p| Nlri::new(Prefix::V6(*p))).collect()
        } else {
            self.v4.get(range).unwrap_or_default().iter().map(|p| Nlri::new(Prefix::V4(*p))).collect()
        }
    }

    /// The announcement stream `feeder` replays for the prefixes `range`
    /// of `family`: UPDATEs of at most 4096 bytes, one attribute set each,
    /// then End-of-RIB. Whole messages, concatenated.
    pub fn announce(&self, feeder: &Feeder, family: Family, range: Range<usize>) -> Vec<u8> {
        let ctx = SessionContext::modern();
        let mut out = Vec::with_capacity(range.len() * 8);
        for g in self.groups_in(family, range) {
            let nlri = self.nlri(family, g.range.clone());
            let mut attributes = feeder.attributes(&g.attrs);
            let u = if family == Family::IPV6_UNICAST {
                attributes.insert(
                    0,
                    PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
                        family,
                        next_hop: NextHop::V6 { global: feeder.next_hop_v6, link_local: None },
                        nlri: MpNlri::Prefixes(nlri),
                    }))),
                );
                Update { withdrawn: vec![], attributes, nlri: vec![] }
            } else {
                attributes.push(PathAttribute::new(AttrValue::NextHop(feeder.next_hop_v4)));
                Update { withdrawn: vec![], attributes, nlri }
            };
            for m in u.encode(&ctx).unwrap_or_default() {
                out.extend_from_slice(&m);
            }
        }
        for m in Update::end_of_rib_marker(family).encode(&ctx).unwrap_or_default() {
            out.extend_from_slice(&m);
        }
        out
    }

    /// The withdrawal stream for the prefixes `range` of `family`: UPDATEs
    /// packed with withdrawn routes (classic field for IPv4, MP_UNREACH_NLRI
    /// for IPv6).
    pub fn withdraw(&self, family: Family, range: Range<usize>) -> Vec<u8> {
        let ctx = SessionContext::modern();
        let mut out = Vec::new();
        let all = self.nlri(family, range);
        // 800 prefixes of at most 17 bytes fit one 4096-byte message.
        for chunk in all.chunks(800) {
            let u = if family == Family::IPV6_UNICAST {
                Update {
                    withdrawn: vec![],
                    attributes: vec![PathAttribute::new(AttrValue::MpUnreach(Box::new(MpUnreach {
                        family,
                        nlri: MpNlri::Prefixes(chunk.to_vec()),
                    })))],
                    nlri: vec![],
                }
            } else {
                Update { withdrawn: chunk.to_vec(), attributes: vec![], nlri: vec![] }
            };
            for m in u.encode(&ctx).unwrap_or_default() {
                out.extend_from_slice(&m);
            }
        }
        out
    }
}

/// One feeder's view of the table: its AS (first in every path), its next
/// hops, and how it varies the attributes so that with several feeders the
/// best path differs per prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feeder {
    pub asn: u32,
    pub next_hop_v4: Ipv4Addr,
    pub next_hop_v6: Ipv6Addr,
    /// This feeder's index among `of` feeders that send the same prefixes
    /// (`of` = 1: the plain table).
    pub index: u64,
    pub of: u64,
}

impl Feeder {
    /// A lone feeder (no prepends).
    pub fn single(asn: u32, next_hop_v4: Ipv4Addr, next_hop_v6: Ipv6Addr) -> Feeder {
        Feeder { asn, next_hop_v4, next_hop_v6, index: 0, of: 1 }
    }

    /// How many times this feeder prepends its AS for `set`: a rotation of
    /// 0..of, so the feeders of one set all have different path lengths
    /// (one clear winner by AS path length) and the winner changes from
    /// set to set.
    pub fn prepends(&self, set: &AttrSet) -> u64 {
        if self.of <= 1 {
            return 0;
        }
        (self.index + set.key % self.of) % self.of
    }

    /// The attributes (without NEXT_HOP / MP_REACH_NLRI) this feeder sends
    /// for `set`.
    pub fn attributes(&self, set: &AttrSet) -> Vec<PathAttribute> {
        let extra = self.prepends(set) as usize;
        let mut path = Vec::with_capacity(set.path.len() + 1 + extra);
        path.extend(std::iter::repeat_n(self.asn, 1 + extra));
        path.extend_from_slice(&set.path);
        let mut attrs = vec![
            PathAttribute::new(AttrValue::Origin(set.origin)),
            PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(path))),
        ];
        let med = if self.of > 1 {
            // Differs per feeder; never decisive (neighbor ASes differ).
            Some((set.key >> 8).wrapping_add(self.index * 7919) as u32 % 1000)
        } else {
            set.med
        };
        if let Some(m) = med {
            attrs.push(PathAttribute::new(AttrValue::MultiExitDisc(m)));
        }
        if !set.communities.is_empty() {
            attrs.push(PathAttribute::new(AttrValue::Communities(Communities(set.communities.clone()))));
        }
        if !set.large.is_empty() {
            attrs.push(PathAttribute::new(AttrValue::LargeCommunities(LargeCommunities(set.large.clone()))));
        }
        attrs
    }
}

/// Iterate the whole messages of a concatenated stream (stops at a
/// truncated tail).
pub fn messages(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = stream;
    std::iter::from_fn(move || {
        let len = match rest.get(16..18) {
            Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
            _ => return None,
        };
        if len < HEADER_LEN || rest.len() < len {
            return None;
        }
        let (m, tail) = rest.split_at(len);
        rest = tail;
        Some(m)
    })
}

/// Summary numbers of a table, for the README and the tests.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStats {
    pub v4: usize,
    pub v6: usize,
    pub attr_sets: usize,
    /// Mean AS path length including one feeder AS.
    pub mean_path_len: f64,
    pub origin_ases: usize,
    /// Share of IPv4 prefixes that are /24, of IPv6 that are /48.
    pub v4_slash24: f64,
    pub v6_slash48: f64,
    pub with_communities: f64,
    pub with_large_communities: f64,
}

impl Table {
    pub fn stats(&self) -> TableStats {
        let sets: Vec<&AttrSet> = self.v4_groups.iter().chain(&self.v6_groups).map(|g| &g.attrs).collect();
        let n = sets.len().max(1) as f64;
        let origins: HashSet<u32> = sets.iter().filter_map(|s| s.path.last().copied()).collect();
        let share = |count: usize, of: usize| count as f64 / of.max(1) as f64;
        TableStats {
            v4: self.v4.len(),
            v6: self.v6.len(),
            attr_sets: sets.len(),
            mean_path_len: sets.iter().map(|s| s.path.len() + 1).sum::<usize>() as f64 / n,
            origin_ases: origins.len(),
            v4_slash24: share(self.v4.iter().filter(|p| p.length() == 24).count(), self.v4.len()),
            v6_slash48: share(self.v6.iter().filter(|p| p.length() == 48).count(), self.v6.len()),
            with_communities: share(sets.iter().filter(|s| !s.communities.is_empty()).count(), sets.len()),
            with_large_communities: share(sets.iter().filter(|s| !s.large.is_empty()).count(), sets.len()),
        }
    }
}
