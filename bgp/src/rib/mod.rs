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
//! # How an UPDATE flows
//!
//! 1. On the peer's task, [`Digest::new`] turns it into the destinations
//!    it withdraws and, per family, the attribute set of those it
//!    announces; [`Digest::prepare`] interns the sets and looks for our AS
//!    in their AS paths (`import`).
//! 2. [`Rib::apply`] withdraws, then runs each set through the loop checks
//!    (RFC 4271 §9.1.2, RFC 4456 §8), the pre-policy copy, the import
//!    policy (RFC 8212) and the prefix limit (RFC 4486), and puts each
//!    accepted path in its place among its destination's paths (`import`;
//!    the order is `rank`'s, which runs [`decision`]). The destination is
//!    marked dirty, noting whether its best path changed.
//! 3. [`Rib::flush`] takes each family's dirty destinations: the peers of
//!    an update group share one export computation (`export`: what a peer
//!    gets for a path), then each peer's Adj-RIB-Out is updated and its
//!    announcements are packed by attribute set into [`Message`]s
//!    (`adj_rib_out`); unicast destinations also become [`FibChange`]s
//!    (`fib`).
//!
//! Sessions coming and going, graceful restart and route refresh (`peer`)
//! and next-hop tracking (`fib`) change paths the same way, to be sent by
//! the next flush; `view` only reads.
//!
//! ```
//! use mdc_bgp::rib::{Rib, RibConfig, PeerPolicy};
//! let mut rib = Rib::new(RibConfig::new(65000, "192.0.2.254".parse().unwrap()));
//! let peer = rib.add_peer(PeerPolicy::new("192.0.2.1".parse().unwrap()));
//! // rib.peer_up(peer, session); rib.update(peer, &update); rib.flush() ...
//! # let _ = peer;
//! ```

// Adj-RIB-Out and the flush: what each peer holds, brought up to date.
mod adj_rib_out;
pub mod attrs;
pub mod decision;
// The export rules: what one peer gets for one path.
mod export;
// FIB changes and next-hop tracking.
mod fib;
// The keyed hash of every map whose keys peers choose.
pub(crate) mod hash;
// Routes in: UPDATEs, loop checks, import policy, paths in and out.
mod import;
// Configured peers and their sessions, graceful restart, route refresh.
mod peer;
// The decision process over each destination's paths.
mod rank;
// The routes of one family (destinations in a slab, their paths).
mod table;
// Read-only views for status output.
mod view;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

pub use adj_rib_out::announcement;
pub use attrs::{Attrs, AttrsBuilder, Interner, SharedInterner};
pub use fib::{FibChange, FibNextHops};
pub use import::Digest;
pub use peer::{
    AddPathSend, MaxPrefix, NextHopOnly, PeerPolicy, PolicyRoute, PolicyVerdict, RoutePolicy, SessionInfo,
};
pub use table::{Dest, LOCAL, Path, PeerId};
pub use view::{PathView, RibStats, RouteView};

use crate::family::Family;
use crate::nlri::Nlri;
use crate::route_refresh::RouteRefresh;
use crate::update::Update;
use fib::NextHops;
use peer::Peer;
use table::Table;

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

    fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(id as usize).and_then(Option::as_ref)
    }

    fn peer_mut(&mut self, id: PeerId) -> Option<&mut Peer> {
        self.peers.get_mut(id as usize).and_then(Option::as_mut)
    }
}

#[cfg(test)]
mod tests;
