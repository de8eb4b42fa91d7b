//! The RIB of a BGP speaker: Adj-RIB-In, Loc-RIB and Adj-RIB-Out (RFC 4271
//! §3.2), the decision process, route reflection (RFC 4456) and the import
//! and export rules. Sans-IO: sessions come and go as calls, UPDATEs in as
//! decoded [`Update`]s, and what to send leaves as [`Output`]s.
//!
//! It owns the routes and the per-peer view of them; it does not touch
//! sockets, timers or the FSM. docs/adr/0006-rib.md explains the layout.
//!
//! - **Adj-RIB-In** (post-policy) and **Loc-RIB** are one structure: per
//!   family, every destination keeps all accepted paths sorted best first.
//!   The pre-policy Adj-RIB-In of a peer is kept only with soft
//!   reconfiguration inbound.
//! - **Adj-RIB-Out** is one bit per destination and peer: whether the peer
//!   holds a route from us. Its attributes are a function of the best path
//!   and the peer's export rules, recomputed when needed.
//! - Attribute sets are interned ([`attrs::Interner`]).
//!
//! ```
//! use mdc_bgp::rib::{Rib, RibConfig, PeerPolicy};
//! let mut rib = Rib::new(RibConfig::new(65000, "192.0.2.254".parse().unwrap()));
//! let peer = rib.add_peer(PeerPolicy::new("192.0.2.1".parse().unwrap()));
//! // rib.peer_up(peer, session); rib.update(peer, &update); rib.flush() ...
//! # let _ = peer;
//! ```

pub mod attrs;
pub mod decision;
mod table;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

pub use attrs::{Attrs, AttrsBuilder, Interner, SharedInterner};
pub use table::{Dest, LOCAL, Path, PeerId};

use crate::aspath::{AsPath, AsSegment, SegmentType};
use crate::attr::OpaqueNlri;
use crate::attr::{AttrValue, MpNlri, MpReach, MpUnreach, NextHop, Origin, PathAttribute, code};
use crate::community::Community;
use crate::context::SessionContext;
use crate::family::{Afi, Family};
use crate::negotiate::Negotiated;
use crate::nlri::{Nlri, Prefix};
use crate::route_refresh::RouteRefresh;
use crate::update::Update;
use attrs::{FxHashMap, FxHashSet};
use bytes::Bytes;
use decision::{Ranked, Reason};
use table::{BitSet, Table};

/// How this router decides and reflects.
#[derive(Debug, Clone)]
pub struct RibConfig {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    /// Route reflection cluster id (RFC 4456); usually the router id.
    pub cluster_id: Ipv4Addr,
    pub decision: decision::Options,
    /// ECMP: most paths used per destination (1: best path only).
    pub maximum_paths: usize,
    /// Per-family overrides of `maximum_paths`.
    pub maximum_paths_by_family: Vec<(Family, usize)>,
    /// ECMP across paths from different neighbouring ASes.
    pub multipath_relax: bool,
    /// RFC 8212: an eBGP peer without an import policy gets nothing
    /// accepted, without an export policy is sent nothing learned from
    /// other peers (routes this router originates are still announced).
    pub ebgp_requires_policy: bool,
    /// Report what the unicast destinations forward to ([`Output::Fib`]),
    /// for a program that installs them in the kernel.
    pub fib: bool,
}

impl RibConfig {
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> RibConfig {
        RibConfig {
            local_as,
            router_id,
            cluster_id: router_id,
            decision: decision::Options::default(),
            maximum_paths: 1,
            maximum_paths_by_family: Vec::new(),
            multipath_relax: false,
            ebgp_requires_policy: true,
            fib: false,
        }
    }

    fn maximum_paths(&self, family: Family) -> usize {
        self.maximum_paths_by_family
            .iter()
            .find(|(f, _)| *f == family)
            .map_or(self.maximum_paths, |(_, n)| *n)
            .max(1)
    }
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
    fn apply(&self, route: &PolicyRoute<'_>) -> PolicyVerdict;
}

/// Limits on what a peer may send (RFC 4486 Cease/1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxPrefix {
    pub limits: Vec<(Family, u32)>,
    /// Only log when the limit is passed.
    pub warning_only: bool,
}

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

/// Which paths an ADD-PATH peer gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathSend {
    /// Every path (FRR `addpath-tx-all-paths`).
    All,
    /// The best N (FRR `addpath-tx-best-selected N`).
    Best(usize),
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

/// An Established session, as the RIB needs it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub negotiated: Arc<Negotiated>,
    /// Our address on the session (next hop self).
    pub local: IpAddr,
    /// Tags [`Output::Send`] so messages for an older session are dropped.
    pub generation: u64,
}

/// A message for one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Withdrawals, End-of-RIB.
    Update(Update),
    /// Routes sharing one attribute set: [`announcement`] makes the UPDATE
    /// (on the peer's task, so the RIB task does not copy attributes).
    Announce { family: Family, attrs: Arc<Attrs>, nlri: Vec<Nlri> },
    /// BoRR/EoRR around a re-advertisement (RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// What the caller must do.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send these messages, in order, on the peer's session `generation`.
    Send { peer: PeerId, generation: u64, messages: Vec<Message> },
    /// The peer passed its prefix limit for `family`: reset the session
    /// with Cease/1 (RFC 4486) unless the limit is warning-only.
    MaxPrefix { peer: PeerId, family: Family, limit: u32, count: usize, warning_only: bool },
    /// An import policy changed and there is no pre-policy copy: ask the
    /// peer for its routes again (ROUTE-REFRESH).
    RequestRefresh { peer: PeerId, family: Family },
    /// What changed destinations now forward to ([`RibConfig::fib`]).
    Fib(Vec<FibChange>),
}

/// A unicast destination's forwarding, for the kernel's FIB: the BGP next
/// hops of its ECMP set (the best path and those equal to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibChange {
    /// Forward `prefix` to these next hops (sorted, at least one).
    Install { family: Family, prefix: Prefix, next_hops: FibNextHops },
    /// Nothing to forward to any more (no path, or only routes originated
    /// here, which have no next hop).
    Remove { family: Family, prefix: Prefix },
}

/// The BGP next hops of a [`FibChange::Install`], sorted: one is kept
/// inline (a full table's changes wait for the kernel in a queue, and most
/// have one), several in one allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibNextHops {
    One(IpAddr),
    Many(Box<[IpAddr]>),
}

impl std::ops::Deref for FibNextHops {
    type Target = [IpAddr];
    fn deref(&self) -> &[IpAddr] {
        match self {
            FibNextHops::One(a) => std::slice::from_ref(a),
            FibNextHops::Many(v) => v,
        }
    }
}

impl FromIterator<IpAddr> for FibNextHops {
    /// Sorted and without duplicates.
    fn from_iter<I: IntoIterator<Item = IpAddr>>(iter: I) -> FibNextHops {
        let mut v: Vec<IpAddr> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        match v.as_slice() {
            [one] => FibNextHops::One(*one),
            _ => FibNextHops::Many(v.into_boxed_slice()),
        }
    }
}

/// One peer's Adj-RIB-Out for a family while a batch is built for it.
struct Held<'a> {
    batch: &'a mut Batch,
    advertised: &'a mut BitSet,
    /// The NLRI sent per key destination (EVPN), to withdraw it.
    sent: &'a mut FxHashMap<u32, Bytes>,
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

/// An export computed in a flush: the best path's peer and attribute set.
type MemoKey = (PeerId, *const Attrs);

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

/// Per slot, the ADD-PATH identifiers a peer holds and their attributes.
type HeldPaths = FxHashMap<u32, Vec<(u32, Arc<Attrs>)>>;

#[derive(Debug)]
struct Peer {
    policy: PeerPolicy,
    session: Option<SessionInfo>,
    /// Of the last session (stale paths outlive it).
    router_id: Ipv4Addr,
    ebgp: bool,
    /// Paths in the Loc-RIB per family.
    counts: FxHashMap<Family, usize>,
    /// Pre-policy Adj-RIB-In (soft reconfiguration inbound).
    pre_policy: FxHashMap<(Family, Dest, u32), Arc<Attrs>>,
    /// Adj-RIB-Out: per family, one bit per slot.
    advertised: FxHashMap<Family, BitSet>,
    /// Adj-RIB-Out of an ADD-PATH peer: per family and slot, the path
    /// identifiers it holds and what they were sent with.
    advertised_paths: FxHashMap<Family, HeldPaths>,
    /// The NLRI sent for each key destination (EVPN), to withdraw it.
    sent_nlri: FxHashMap<Family, FxHashMap<u32, Bytes>>,
    over_limit: FxHashSet<Family>,
}

impl Peer {
    fn up(&self) -> Option<&SessionInfo> {
        self.session.as_ref()
    }
}

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

/// The RIB. See the module documentation.
#[derive(Debug)]
pub struct Rib {
    config: RibConfig,
    interner: SharedInterner,
    tables: BTreeMap<Family, Table>,
    /// Index = [`PeerId`]; 0 ([`LOCAL`]) is never a peer.
    peers: Vec<Option<Peer>>,
    out: Vec<Output>,
    /// FIB changes of the current flush.
    fib_out: Vec<FibChange>,
    /// Paths taken out (withdrawn, replaced, dropped) since the interner
    /// was last swept (see [`Rib::idle`]).
    dropped_paths: usize,
    /// Attribute sets out of use, to be dropped off the RIB's thread.
    garbage: Vec<Arc<Attrs>>,
    /// What next-hop tracking said of each BGP next hop.
    next_hops: NextHops,
}

/// Next-hop tracking's view of the BGP next hops (see
/// [`Rib::set_next_hop`]). A next hop not in it is reachable at cost 0,
/// as every next hop is when nothing tracks them.
#[derive(Debug, Default)]
struct NextHops {
    unreachable: FxHashSet<IpAddr>,
    /// IGP cost (the metric of the kernel route that reaches it), when not 0.
    cost: FxHashMap<IpAddr, u32>,
}

impl NextHops {
    fn unreachable(&self, attrs: &Attrs) -> bool {
        !self.unreachable.is_empty() && attrs.next_hop_ip().is_some_and(|a| self.unreachable.contains(&a))
    }

    fn cost(&self, attrs: &Attrs) -> u32 {
        if self.cost.is_empty() {
            return 0;
        }
        attrs.next_hop_ip().and_then(|a| self.cost.get(&a).copied()).unwrap_or(0)
    }
}

/// The best path: the first, unless its next hop is unreachable (then so
/// are all the others: they sort after it).
fn best(paths: &[Path]) -> Option<&Path> {
    paths.first().filter(|p| !p.unreachable)
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

/// `Greater` when `a` is the better path.
fn compare(
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

/// The destination of a codec family's NLRI: its codec key, or the whole
/// NLRI without a key function.
fn opaque_dest(ctx: &SessionContext, family: Family, nlri: &[u8]) -> Option<Dest> {
    let key = match ctx.family_codec(family).and_then(|c| c.key) {
        Some(key) => key(family, nlri)?,
        None => nlri.to_vec(),
    };
    Some(Dest::Key(key.into_boxed_slice()))
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

/// Put `asn` in front of the path (RFC 4271 §5.1.2).
fn prepend(path: &AsPath, asn: u32) -> AsPath {
    let mut segments = Vec::with_capacity(path.segments.len() + 1);
    match path.segments.split_first() {
        Some((first, rest)) if first.kind == SegmentType::Sequence && first.asns.len() < 255 => {
            let mut asns = Vec::with_capacity(first.asns.len() + 1);
            asns.push(asn);
            asns.extend_from_slice(&first.asns);
            segments.push(AsSegment::sequence(asns));
            segments.extend_from_slice(rest);
        }
        _ => {
            segments.push(AsSegment::sequence(vec![asn]));
            segments.extend_from_slice(&path.segments);
        }
    }
    AsPath { segments }
}

fn v6_next_hop(global: Ipv6Addr) -> NextHop {
    let link_local = global.is_unicast_link_local().then_some(global);
    NextHop::V6 { global, link_local }
}

/// Our address on the session as a next hop for `family`, if the session
/// can carry one.
fn self_next_hop(session: &SessionInfo, family: Family) -> Option<NextHop> {
    match (family, session.local) {
        (Family::IPV4_UNICAST, IpAddr::V4(a)) => Some(NextHop::V4(a)),
        (Family::IPV4_UNICAST, IpAddr::V6(a)) => session
            .negotiated
            .extended_next_hop
            .contains(&(Family::IPV4_UNICAST, Afi::IPV6))
            .then(|| v6_next_hop(a)),
        (Family::IPV6_UNICAST, IpAddr::V6(a)) => Some(v6_next_hop(a)),
        // IPv6 routes over an IPv4 session: the IPv4-mapped address (as FRR).
        (Family::IPV6_UNICAST, IpAddr::V4(a)) => Some(v6_next_hop(a.to_ipv6_mapped())),
        // Other families (EVPN: the VTEP address) take the session's.
        (_, IpAddr::V4(a)) => Some(NextHop::V4(a)),
        (_, IpAddr::V6(a)) => Some(v6_next_hop(a)),
    }
}

/// Announcements and withdrawals for one peer and family, grouped by
/// attribute set.
#[derive(Default)]
struct Batch {
    withdraw: Vec<OutNlri>,
    announce: FxHashMap<*const Attrs, usize>,
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

/// An UPDATE as the RIB takes it: the destinations it withdraws and, per
/// family, the attribute set it gives its destinations (sorted, encoded and
/// hashed, ready to intern). Building it needs only the session, so the
/// peer's task does it and the RIB's task does not.
#[derive(Debug, Default, Clone)]
pub struct Digest {
    withdrawn: Vec<(Family, Dest, u32)>,
    announced: Vec<Announced>,
    /// Set by [`Digest::prepare`].
    prepared: Option<Prepared>,
}

/// Destinations (with their ADD-PATH ids) that share one attribute set.
#[derive(Debug, Clone)]
struct Announced {
    family: Family,
    attrs: Arc<Attrs>,
    nlri: Vec<(Dest, u32)>,
    /// The AS path holds the AS given to [`Digest::prepare`].
    as_loop: bool,
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
                // RFC 7606 §7.5, RFC 4456 §8: not from external peers.
                AttrValue::LocalPref(_) | AttrValue::OriginatorId(_) | AttrValue::ClusterList(_) if ebgp => {}
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

impl Rib {
    pub fn new(config: RibConfig) -> Rib {
        Rib {
            config,
            interner: SharedInterner::default(),
            tables: BTreeMap::new(),
            peers: vec![None],
            out: Vec::new(),
            fib_out: Vec::new(),
            dropped_paths: 0,
            garbage: Vec::new(),
            next_hops: NextHops::default(),
        }
    }

    /// Housekeeping for when no input waits: once many paths went away
    /// (a peer withdrew or lost its table), take out the attribute sets
    /// only the interner still holds (else they stay until the interner
    /// doubles, and a table announced again is matched, set by set,
    /// against the old copies) and rebuild the destination indexes
    /// without their tombstones. Returns the sets taken out, for the
    /// caller to drop where it suits (the speaker: on another thread).
    pub fn idle(&mut self) -> Vec<Arc<Attrs>> {
        let mut gone = std::mem::take(&mut self.garbage);
        let mut interner = self.interner.lock();
        if self.dropped_paths > 0 && self.dropped_paths.saturating_mul(4) >= interner.len() {
            gone.extend(interner.sweep_out());
            self.dropped_paths = 0;
        }
        drop(interner);
        for t in self.tables.values_mut() {
            t.tidy();
        }
        gone
    }

    pub fn config(&self) -> &RibConfig {
        &self.config
    }

    /// The interner for [`Digest::prepare`].
    pub fn interner(&self) -> SharedInterner {
        self.interner.clone()
    }

    /// Change the decision options; every destination is decided again.
    pub fn set_config(&mut self, config: RibConfig) {
        self.config = config;
        let families: Vec<Family> = self.tables.keys().copied().collect();
        for family in families {
            let slots: Vec<u32> =
                self.tables.get(&family).map(|t| t.live().map(|(i, _)| i).collect()).unwrap_or_default();
            for i in slots {
                self.resort(family, i);
            }
        }
    }

    /// Next-hop tracking: what the kernel says of BGP next hop `addr`.
    /// `None`: unreachable, so the paths through it can no longer be best
    /// (their destinations are decided again, withdrawn where nothing else
    /// is left). `Some(cost)`: reachable, `cost` feeding the IGP-cost step.
    /// Either way the kernel routes through it are sent again (with a FIB
    /// consumer): the kernel's way to it may have changed.
    pub fn set_next_hop(&mut self, addr: IpAddr, reach: Option<u32>) {
        match reach {
            None => {
                self.next_hops.cost.remove(&addr);
                self.next_hops.unreachable.insert(addr);
            }
            Some(cost) => {
                self.next_hops.unreachable.remove(&addr);
                if cost == 0 {
                    self.next_hops.cost.remove(&addr);
                } else {
                    self.next_hops.cost.insert(addr, cost);
                }
            }
        }
        let via = |p: &Path| p.attrs.next_hop_ip() == Some(addr);
        let families: Vec<Family> = self.tables.keys().copied().collect();
        for family in families {
            let Some(table) = self.tables.get_mut(&family) else { continue };
            let slots: Vec<u32> =
                table.live().filter(|(_, s)| s.paths.iter().any(via)).map(|(i, _)| i).collect();
            let mut before = Vec::with_capacity(slots.len());
            for &i in &slots {
                let Some(s) = table.slot_mut(i) else { continue };
                before.push((i, best(&s.paths).map(Path::identity)));
                for p in s.paths.iter_mut().filter(|p| via(p)) {
                    p.unreachable = reach.is_none();
                }
                table.mark_fib(i);
            }
            for (i, was) in before {
                self.sort_paths(family, i, was);
            }
        }
    }

    /// What every unicast destination forwards to now: the whole table for
    /// the FIB (reconcile at start or after lost kernel events).
    pub fn fib_table(&self) -> Vec<FibChange> {
        let mut out = Vec::new();
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let Some(t) = self.tables.get(&family) else { continue };
            for (_, s) in t.live() {
                if let (Some(&prefix), Some(next_hops)) =
                    (s.dest.prefix(), self.fib_next_hops(family, &s.paths))
                {
                    out.push(FibChange::Install { family, prefix, next_hops });
                }
            }
        }
        out
    }

    /// Send the FIB the destination's route again with the next flush (it
    /// was removed from the kernel by someone else); a `Remove` if the
    /// destination has none.
    pub fn refresh_fib(&mut self, family: Family, prefix: Prefix) {
        let t = self.tables.get_mut(&family);
        match t.as_ref().and_then(|t| t.find(&Dest::Prefix(prefix))) {
            Some(i) => {
                if let Some(t) = t {
                    t.mark_fib(i);
                }
            }
            None => self.fib_out.push(FibChange::Remove { family, prefix }),
        }
    }

    fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(id as usize).and_then(Option::as_ref)
    }

    fn peer_mut(&mut self, id: PeerId) -> Option<&mut Peer> {
        self.peers.get_mut(id as usize).and_then(Option::as_mut)
    }

    /// Configure a peer (its session is down).
    pub fn add_peer(&mut self, policy: PeerPolicy) -> PeerId {
        let peer = Peer {
            router_id: Ipv4Addr::UNSPECIFIED,
            ebgp: true,
            policy,
            session: None,
            counts: FxHashMap::default(),
            pre_policy: FxHashMap::default(),
            advertised: FxHashMap::default(),
            advertised_paths: FxHashMap::default(),
            sent_nlri: FxHashMap::default(),
            over_limit: FxHashSet::default(),
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

    /// Sort a destination's paths again (after stale marks or a config change).
    fn resort(&mut self, family: Family, i: u32) {
        let before =
            self.tables.get(&family).and_then(|t| t.slot(i)).and_then(|s| best(&s.paths)).map(Path::identity);
        self.sort_paths(family, i, before);
    }

    /// Sort a destination's paths; `before` was its best path.
    fn sort_paths(&mut self, family: Family, i: u32, before: Option<(PeerId, u32, *const Attrs)>) {
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

    fn soft_reset_out_all(&mut self) {
        let ids: Vec<PeerId> = (0..self.peers.len()).filter_map(|i| PeerId::try_from(i).ok()).collect();
        for id in ids {
            self.soft_reset_out(id);
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

    /// Every destination of `family`, as the peer should have it.
    fn dump(&mut self, id: PeerId, family: Family, messages: &mut Vec<Message>) {
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
        let mut memo: FxHashMap<MemoKey, Option<Arc<Attrs>>> = FxHashMap::default();
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

    /// What the flush's destinations now forward to. With one path per
    /// destination that changes only with the best path; with ECMP any
    /// change of a destination's paths may change its set, and it is sent
    /// again (an identical replace costs the kernel little, a missed one
    /// would leave a stale route).
    fn fib_changes(&mut self, family: Family, dirty: &[u32]) {
        let ecmp = self.config.maximum_paths(family) > 1;
        let Some(t) = self.tables.get(&family) else { return };
        let mut changes = Vec::new();
        for &i in dirty {
            let Some(s) = t.slot(i) else { continue };
            let Some(&prefix) = s.dest.prefix() else { continue };
            if !s.best_changed && !s.fib && !ecmp {
                continue;
            }
            changes.push(match self.fib_next_hops(family, &s.paths) {
                Some(next_hops) => FibChange::Install { family, prefix, next_hops },
                None => FibChange::Remove { family, prefix },
            });
        }
        self.fib_out.extend(changes);
    }

    /// The BGP next hops of a destination's ECMP set, sorted; `None` when
    /// nothing forwards (no usable path, or only routes originated here).
    fn fib_next_hops(&self, family: Family, paths: &[Path]) -> Option<FibNextHops> {
        let n = self.multipath_len(family, paths);
        let mut hops = paths.iter().take(n).filter_map(|p| p.attrs.next_hop_ip());
        let first = hops.next()?;
        // One path (the usual case): no vector at all.
        Some(if n == 1 { FibNextHops::One(first) } else { std::iter::once(first).chain(hops).collect() })
    }

    /// The ECMP set of a destination: the best path and those equal to it
    /// through the IGP cost step, at most `maximum_paths`.
    fn multipath_len(&self, family: Family, paths: &[Path]) -> usize {
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
        self.peer(id).map(|p| p.advertised.iter().map(|(f, b)| (*f, b.count())).collect()).unwrap_or_default()
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
    let mut memo: FxHashMap<MemoKey, Option<Arc<Attrs>>> = FxHashMap::default();
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

/// The attributes peer `to` gets for best path `best`, or `None` when it
/// gets nothing (RFC 4271 §9.1.3, RFC 4456 §6/§8, RFC 1997, RFC 8212, the
/// export policy).
#[allow(clippy::too_many_arguments)]
fn export_attrs(
    config: &RibConfig,
    peers: &[Option<Peer>],
    to: PeerId,
    session: &SessionInfo,
    family: Family,
    prefix: Option<&Prefix>,
    best: &Path,
    split_horizon: bool,
) -> Option<Arc<Attrs>> {
    export_with(config, peers, to, session, family, prefix, best, split_horizon, true)
}

/// [`export_attrs`]; with `fast`, the common eBGP export is done on the
/// encoded set (`Attrs::ebgp_export`), else always through the typed
/// attributes (debug builds check that both agree).
#[allow(clippy::too_many_arguments)]
fn export_with(
    config: &RibConfig,
    peers: &[Option<Peer>],
    to: PeerId,
    session: &SessionInfo,
    family: Family,
    prefix: Option<&Prefix>,
    best: &Path,
    split_horizon: bool,
    fast: bool,
) -> Option<Arc<Attrs>> {
    if split_horizon && best.peer == to {
        return None;
    }
    let q = peers.get(to as usize)?.as_ref()?;
    let src = if best.peer == LOCAL { None } else { Some(peers.get(best.peer as usize)?.as_ref()?) };
    let a = &best.attrs;
    let to_ebgp = !session.negotiated.internal;
    if a.has_community(Community::NO_ADVERTISE) {
        return None;
    }
    if to_ebgp && (a.has_community(Community::NO_EXPORT) || a.has_community(Community::NO_EXPORT_SUBCONFED)) {
        return None;
    }
    let from_ibgp = src.is_some_and(|s| !s.ebgp);
    let reflect = from_ibgp && !to_ebgp;
    if reflect && !(src.is_some_and(|s| s.policy.route_reflector_client) || q.policy.route_reflector_client) {
        return None;
    }
    if to_ebgp && src.is_some() && q.policy.export.is_none() && config.ebgp_requires_policy {
        return None;
    }
    let policy = q.policy.export.as_ref().filter(|p| !p.accepts_all());
    // One pass copies what the peer gets; with no policy to see the
    // attributes first, an eBGP peer's AS path gets our AS in that pass.
    let prepend_now = to_ebgp && policy.is_none();
    if prepend_now && fast {
        let nh = self_next_hop(session, family)?;
        if let Some(out) = a.ebgp_export(config.local_as, src.is_some(), nh) {
            // An IPv4 route with an IPv6 next hop needs RFC 8950 on this
            // session (as below).
            if family == Family::IPV4_UNICAST
                && matches!(out.next_hop(), Some(NextHop::V6 { .. }))
                && !session.negotiated.extended_next_hop.contains(&(Family::IPV4_UNICAST, Afi::IPV6))
            {
                return None;
            }
            debug_assert_eq!(
                Some(&out),
                export_with(config, peers, to, session, family, prefix, best, split_horizon, false)
                    .as_deref(),
                "the encoded export differs from the typed one"
            );
            return Some(Arc::new(out));
        }
    }
    let mut prepended = false;
    let attributes = a.list();
    let mut list = Vec::with_capacity(attributes.len() + 2);
    for x in attributes {
        let code = x.code();
        let dropped = matches!(code, code::LOCAL_PREF | code::ORIGINATOR_ID | code::CLUSTER_LIST)
            // RFC 4271 §5.1.4: MED does not leave the neighbouring AS.
            || (code == code::MULTI_EXIT_DISC && src.is_some());
        if to_ebgp && dropped {
            continue;
        }
        match &x.value {
            AttrValue::AsPath(p) if prepend_now => {
                list.push(PathAttribute {
                    flags: x.flags,
                    value: AttrValue::AsPath(prepend(p, config.local_as)),
                });
                prepended = true;
            }
            _ => list.push(x),
        }
    }
    let mut b = AttrsBuilder { list, next_hop: a.next_hop().cloned(), weight: 0, nlri: a.nlri().cloned() };
    let mut nh_self = src.is_none() && b.next_hop.is_none();
    if to_ebgp {
        nh_self = true;
    } else {
        if a.local_pref().is_none() {
            b.set(AttrValue::LocalPref(100));
        }
        if reflect && let Some(s) = src {
            if a.originator_id().is_none() {
                b.set(AttrValue::OriginatorId(s.router_id));
            }
            let mut list = vec![config.cluster_id];
            list.extend(a.cluster_list());
            b.set(AttrValue::ClusterList(list));
        }
        nh_self |= q.policy.next_hop_self && !reflect;
    }
    if let Some(policy) = policy {
        let draft = b.build();
        let route = PolicyRoute { family, prefix, from: src.map(|s| s.policy.address), attrs: &draft };
        match policy.apply(&route) {
            PolicyVerdict::Reject => return None,
            PolicyVerdict::Accept { changed, next_hop_self } => {
                let policy_nh = changed.as_ref().and_then(|c| c.next_hop.clone());
                if next_hop_self {
                    nh_self = true;
                } else if policy_nh.is_some() && policy_nh.as_ref() != draft.next_hop() {
                    nh_self = false;
                }
                b = changed.unwrap_or_else(|| draft.into_builder());
            }
        }
    }
    if to_ebgp && !prepended {
        let path = prepend(a_path(&b), config.local_as);
        b.set(AttrValue::AsPath(path));
    }
    if b.list.iter().all(|x| x.code() != code::ORIGIN) {
        b.set(AttrValue::Origin(crate::attr::Origin::Igp));
    }
    if b.list.iter().all(|x| x.code() != code::AS_PATH) {
        b.set(AttrValue::AsPath(AsPath::default()));
    }
    if nh_self {
        b.next_hop = Some(self_next_hop(session, family)?);
    }
    // An IPv4 route with an IPv6 next hop needs RFC 8950 on this session.
    if family == Family::IPV4_UNICAST
        && matches!(b.next_hop, Some(NextHop::V6 { .. }))
        && !session.negotiated.extended_next_hop.contains(&(Family::IPV4_UNICAST, Afi::IPV6))
    {
        return None;
    }
    b.next_hop.as_ref()?;
    // Not interned: an exported set lives until the peer's task has
    // encoded it (interning would keep a second copy of every set alive
    // until the next sweep); within a flush, sharing comes from the memo.
    Some(Arc::new(b.build()))
}

fn a_path(b: &AttrsBuilder) -> &AsPath {
    static EMPTY: std::sync::LazyLock<AsPath> = std::sync::LazyLock::new(AsPath::default);
    b.list
        .iter()
        .find_map(|a| match &a.value {
            AttrValue::AsPath(p) => Some(p),
            _ => None,
        })
        .unwrap_or(&EMPTY)
}

#[cfg(test)]
mod tests;
