//! The BGP decision process (RFC 4271 §9.1.2.2, with the tie-breaks FRR and
//! BIRD use): which of two paths to the same destination is better, and why.
//!
//! Order, first difference wins:
//! 0. a path whose next hop the kernel reaches beats one whose next hop it
//!    does not (next-hop tracking, RFC 4271 §9.1.2.1); a path with an
//!    unreachable next hop is never the best path
//! 1. a fresh path beats a stale one (graceful restart, RFC 4724)
//! 2. highest weight (local to this router)
//! 3. highest LOCAL_PREF (100 when absent)
//! 4. locally originated
//! 5. shortest AS path (AS_SET counts 1, confederation segments 0)
//! 6. lowest ORIGIN (IGP < EGP < incomplete)
//! 7. lowest MED, only between paths from the same neighbouring AS unless
//!    `always_compare_med`; a missing MED is 0, or the worst with
//!    `missing_med_worst`
//! 8. eBGP over iBGP
//! 9. lowest IGP cost to the next hop
//! 10. lowest router id (the ORIGINATOR_ID when reflected, RFC 4456)
//! 11. shortest CLUSTER_LIST
//! 12. lowest peer address
//!
//! Steps 0-9 decide whether two paths are equal enough for ECMP
//! ([`multipath_equal`]).

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::aspath::AsPath;
use crate::attr::Origin;

/// What the decision process needs to know about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The next hop is unreachable (next-hop tracking).
    pub unreachable: bool,
    pub stale: bool,
    pub weight: u32,
    pub local_pref: Option<u32>,
    pub locally_originated: bool,
    pub as_path: &'a AsPath,
    pub origin: Origin,
    pub med: Option<u32>,
    /// Learned from an external peer.
    pub ebgp: bool,
    pub igp_cost: u32,
    /// The peer's BGP identifier.
    pub router_id: Ipv4Addr,
    pub originator_id: Option<Ipv4Addr>,
    pub cluster_list_len: usize,
    pub peer_address: IpAddr,
}

/// What the decision process asks of a path, step by step: implementors
/// may work a value out only when asked (most comparisons end at the AS
/// path length, and the later steps' attributes cost cache misses).
pub trait Ranked {
    fn unreachable(&self) -> bool;
    fn stale(&self) -> bool;
    fn weight(&self) -> u32;
    fn local_pref(&self) -> Option<u32>;
    fn locally_originated(&self) -> bool;
    /// AS path length (AS_SET counts 1, confederation segments 0).
    fn path_len(&self) -> usize;
    fn origin(&self) -> Origin;
    /// The neighbouring AS: the first AS of a leading AS_SEQUENCE.
    fn neighbour_as(&self) -> Option<u32>;
    fn med(&self) -> Option<u32>;
    fn ebgp(&self) -> bool;
    fn igp_cost(&self) -> u32;
    /// The ORIGINATOR_ID when reflected, else the peer's BGP identifier.
    fn router_id(&self) -> Ipv4Addr;
    fn cluster_list_len(&self) -> usize;
    fn peer_address(&self) -> IpAddr;
}

impl Ranked for Candidate<'_> {
    fn unreachable(&self) -> bool {
        self.unreachable
    }
    fn stale(&self) -> bool {
        self.stale
    }
    fn weight(&self) -> u32 {
        self.weight
    }
    fn local_pref(&self) -> Option<u32> {
        self.local_pref
    }
    fn locally_originated(&self) -> bool {
        self.locally_originated
    }
    fn path_len(&self) -> usize {
        self.as_path.path_len()
    }
    fn origin(&self) -> Origin {
        self.origin
    }
    fn neighbour_as(&self) -> Option<u32> {
        self.as_path.first_as()
    }
    fn med(&self) -> Option<u32> {
        self.med
    }
    fn ebgp(&self) -> bool {
        self.ebgp
    }
    fn igp_cost(&self) -> u32 {
        self.igp_cost
    }
    fn router_id(&self) -> Ipv4Addr {
        self.originator_id.unwrap_or(self.router_id)
    }
    fn cluster_list_len(&self) -> usize {
        self.cluster_list_len
    }
    fn peer_address(&self) -> IpAddr {
        self.peer_address
    }
}

/// Knobs of the MED step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Compare MED between paths from different neighbouring ASes.
    pub always_compare_med: bool,
    /// A path without MED loses to any path with one (else it counts as 0).
    pub missing_med_worst: bool,
}

/// The step that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    NextHopUnreachable,
    Stale,
    Weight,
    LocalPref,
    LocallyOriginated,
    AsPathLength,
    Origin,
    Med,
    EbgpOverIbgp,
    IgpCost,
    RouterId,
    ClusterListLength,
    PeerAddress,
    /// Nothing tells them apart.
    Equal,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::NextHopUnreachable => "next hop unreachable",
            Reason::Stale => "stale (graceful restart)",
            Reason::Weight => "weight",
            Reason::LocalPref => "local preference",
            Reason::LocallyOriginated => "locally originated",
            Reason::AsPathLength => "AS path length",
            Reason::Origin => "origin",
            Reason::Med => "MED",
            Reason::EbgpOverIbgp => "eBGP over iBGP",
            Reason::IgpCost => "IGP cost to next hop",
            Reason::RouterId => "router id",
            Reason::ClusterListLength => "cluster list length",
            Reason::PeerAddress => "peer address",
            Reason::Equal => "equal",
        })
    }
}

/// Return from the enclosing function at the first step that differs.
macro_rules! step {
    ($ord:expr, $reason:expr) => {
        let ord: Ordering = $ord;
        if ord != Ordering::Equal {
            return (ord, $reason);
        }
    };
}

/// `Ordering::Greater` when `a` is the better path, with the deciding step.
/// No allocation; cheap enough for every comparison of a full table.
pub fn compare<R: Ranked>(a: &R, b: &R, opts: Options) -> (Ordering, Reason) {
    let (ord, reason) = up_to_igp_cost(a, b, opts);
    step!(ord, reason);
    step!(b.router_id().cmp(&a.router_id()), Reason::RouterId);
    step!(b.cluster_list_len().cmp(&a.cluster_list_len()), Reason::ClusterListLength);
    step!(b.peer_address().cmp(&a.peer_address()), Reason::PeerAddress);
    (Ordering::Equal, Reason::Equal)
}

/// Equal up to and including the IGP cost: both may be used for ECMP.
/// With `relax_as_path`, paths of the same length through different ASes
/// count as equal (else their neighbouring AS must match).
pub fn multipath_equal<R: Ranked>(a: &R, b: &R, opts: Options, relax_as_path: bool) -> bool {
    up_to_igp_cost(a, b, opts).0 == Ordering::Equal && (relax_as_path || a.neighbour_as() == b.neighbour_as())
}

/// Steps 0-9.
fn up_to_igp_cost<R: Ranked>(a: &R, b: &R, opts: Options) -> (Ordering, Reason) {
    step!(b.unreachable().cmp(&a.unreachable()), Reason::NextHopUnreachable);
    step!(b.stale().cmp(&a.stale()), Reason::Stale);
    step!(a.weight().cmp(&b.weight()), Reason::Weight);
    step!(a.local_pref().unwrap_or(100).cmp(&b.local_pref().unwrap_or(100)), Reason::LocalPref);
    step!(a.locally_originated().cmp(&b.locally_originated()), Reason::LocallyOriginated);
    step!(b.path_len().cmp(&a.path_len()), Reason::AsPathLength);
    step!(b.origin().code().cmp(&a.origin().code()), Reason::Origin);
    if opts.always_compare_med || a.neighbour_as() == b.neighbour_as() {
        let missing = if opts.missing_med_worst { u32::MAX } else { 0 };
        step!(b.med().unwrap_or(missing).cmp(&a.med().unwrap_or(missing)), Reason::Med);
    }
    step!(a.ebgp().cmp(&b.ebgp()), Reason::EbgpOverIbgp);
    step!(b.igp_cost().cmp(&a.igp_cost()), Reason::IgpCost);
    (Ordering::Equal, Reason::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(asns: &[u32]) -> AsPath {
        AsPath::from_sequence(asns.to_vec())
    }

    /// A plain eBGP path; each test changes one field on one side.
    fn base(p: &AsPath) -> Candidate<'_> {
        Candidate {
            unreachable: false,
            stale: false,
            weight: 0,
            local_pref: None,
            locally_originated: false,
            as_path: p,
            origin: Origin::Igp,
            med: None,
            ebgp: true,
            igp_cost: 0,
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            originator_id: None,
            cluster_list_len: 0,
            peer_address: "192.0.2.1".parse().unwrap(),
        }
    }

    /// `better` beats `worse` by `reason`, whichever side it is on.
    fn wins(better: &Candidate<'_>, worse: &Candidate<'_>, reason: Reason, opts: Options) {
        assert_eq!(compare(better, worse, opts), (Ordering::Greater, reason));
        assert_eq!(compare(worse, better, opts), (Ordering::Less, reason));
    }

    #[test]
    fn each_step_in_order() {
        let p = path(&[65001, 65002]);
        let o = Options::default();
        let b = base(&p);
        wins(
            &Candidate { stale: true, ..base(&p) },
            &Candidate { unreachable: true, weight: 9, ..base(&p) },
            Reason::NextHopUnreachable,
            o,
        );
        wins(&b, &Candidate { stale: true, weight: 9, ..base(&p) }, Reason::Stale, o);
        wins(&Candidate { weight: 10, local_pref: Some(1), ..base(&p) }, &b, Reason::Weight, o);
        wins(&Candidate { local_pref: Some(200), ..base(&p) }, &b, Reason::LocalPref, o);
        assert_eq!(compare(&Candidate { local_pref: Some(100), ..base(&p) }, &b, o).1, Reason::Equal);
        wins(&Candidate { locally_originated: true, ..base(&p) }, &b, Reason::LocallyOriginated, o);
        let long = path(&[65001, 65002, 65003]);
        wins(&b, &Candidate { origin: Origin::Igp, ..base(&long) }, Reason::AsPathLength, o);
        wins(&b, &Candidate { origin: Origin::Incomplete, ..base(&p) }, Reason::Origin, o);
        wins(
            &Candidate { origin: Origin::Egp, ..base(&p) },
            &Candidate { origin: Origin::Incomplete, ..base(&p) },
            Reason::Origin,
            o,
        );
        wins(
            &Candidate { med: Some(5), ..base(&p) },
            &Candidate { med: Some(10), ..base(&p) },
            Reason::Med,
            o,
        );
        wins(&b, &Candidate { ebgp: false, ..base(&p) }, Reason::EbgpOverIbgp, o);
        wins(&b, &Candidate { igp_cost: 10, ..base(&p) }, Reason::IgpCost, o);
        wins(&b, &Candidate { router_id: Ipv4Addr::new(192, 0, 2, 9), ..base(&p) }, Reason::RouterId, o);
        wins(&b, &Candidate { cluster_list_len: 1, ..base(&p) }, Reason::ClusterListLength, o);
        wins(
            &b,
            &Candidate { peer_address: "192.0.2.9".parse().unwrap(), ..base(&p) },
            Reason::PeerAddress,
            o,
        );
        assert_eq!(compare(&b, &base(&p), o), (Ordering::Equal, Reason::Equal));
    }

    #[test]
    fn as_set_counts_one_and_confederations_zero() {
        let with_set = AsPath::new(vec![
            crate::aspath::AsSegment::sequence(vec![65001]),
            crate::aspath::AsSegment::set(vec![1, 2, 3, 4]),
        ]);
        let three = path(&[65001, 2, 3]);
        wins(&base(&with_set), &base(&three), Reason::AsPathLength, Options::default());
        let confed = AsPath::new(vec![
            crate::aspath::AsSegment {
                kind: crate::aspath::SegmentType::ConfedSequence,
                asns: vec![64512, 64513],
            },
            crate::aspath::AsSegment::sequence(vec![65001, 65002]),
        ]);
        let p = path(&[65001, 65002]);
        assert_eq!(compare(&base(&confed), &base(&p), Options::default()).1, Reason::Equal);
    }

    #[test]
    fn med_only_between_the_same_neighbouring_as_unless_always() {
        let (p1, p2) = (path(&[65001, 7]), path(&[65002, 7]));
        let low = Candidate { med: Some(1), ..base(&p1) };
        let high = Candidate { med: Some(100), ..base(&p2) };
        // Different neighbouring ASes: MED is skipped, the router id decides.
        let high_low_id = Candidate { router_id: Ipv4Addr::new(192, 0, 2, 0), ..high.clone() };
        wins(&high_low_id, &low, Reason::RouterId, Options::default());
        wins(&low, &high_low_id, Reason::Med, Options { always_compare_med: true, ..Options::default() });
    }

    #[test]
    fn missing_med_is_zero_or_worst() {
        let p = path(&[65001]);
        let none = base(&p);
        let five = Candidate { med: Some(5), ..base(&p) };
        wins(&none, &five, Reason::Med, Options::default());
        wins(&five, &none, Reason::Med, Options { missing_med_worst: true, ..Options::default() });
    }

    #[test]
    fn originator_id_replaces_the_router_id_when_reflected() {
        let p = path(&[65001]);
        let reflected = Candidate {
            router_id: Ipv4Addr::new(192, 0, 2, 200),
            originator_id: Some(Ipv4Addr::new(192, 0, 2, 2)),
            ebgp: false,
            ..base(&p)
        };
        let direct = Candidate { router_id: Ipv4Addr::new(192, 0, 2, 3), ebgp: false, ..base(&p) };
        wins(&reflected, &direct, Reason::RouterId, Options::default());
    }

    #[test]
    fn multipath_needs_equality_through_igp_cost() {
        let (p1, p2) = (path(&[65001, 9]), path(&[65002, 9]));
        let o = Options::default();
        let a = base(&p1);
        let a2 = Candidate { router_id: Ipv4Addr::new(192, 0, 2, 7), ..base(&p1) };
        assert!(multipath_equal(&a, &a2, o, false), "router id does not matter for ECMP");
        assert!(!multipath_equal(&a, &Candidate { igp_cost: 1, ..base(&p1) }, o, false));
        let b = base(&p2);
        assert!(!multipath_equal(&a, &b, o, false), "different neighbouring AS");
        assert!(multipath_equal(&a, &b, o, true), "as-path relax");
        assert!(!multipath_equal(&a, &Candidate { med: Some(1), ..base(&p1) }, o, true));
    }
}
