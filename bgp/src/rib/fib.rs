//! The RIB towards the kernel (docs/adr/0009-rib-to-fib.md): what each
//! unicast destination forwards to ([`FibChange`]), worked out in the
//! flush or for the whole table, and next-hop tracking's view of the BGP
//! next hops ([`Rib::set_next_hop`]), which the decision process reads.
//!
//! Owns the FIB changes and the next hops' reachability and IGP cost; it
//! does not talk to the kernel (the caller does) and sends peers nothing.

use std::net::IpAddr;

use super::Rib;
use super::attrs::Attrs;
use super::hash::{RibHashMap, RibHashSet};
use super::rank::best;
use super::table::{Dest, Path};
use crate::family::Family;
use crate::nlri::Prefix;

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

/// Next-hop tracking's view of the BGP next hops (see
/// [`Rib::set_next_hop`]). A next hop not in it is reachable at cost 0,
/// as every next hop is when nothing tracks them.
#[derive(Debug, Default)]
pub(super) struct NextHops {
    unreachable: RibHashSet<IpAddr>,
    /// IGP cost (the metric of the kernel route that reaches it), when not 0.
    cost: RibHashMap<IpAddr, u32>,
}

impl NextHops {
    pub(super) fn unreachable(&self, attrs: &Attrs) -> bool {
        !self.unreachable.is_empty() && attrs.next_hop_ip().is_some_and(|a| self.unreachable.contains(&a))
    }

    pub(super) fn cost(&self, attrs: &Attrs) -> u32 {
        if self.cost.is_empty() {
            return 0;
        }
        attrs.next_hop_ip().and_then(|a| self.cost.get(&a).copied()).unwrap_or(0)
    }
}

impl Rib {
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

    /// What the flush's destinations now forward to. With one path per
    /// destination that changes only with the best path; with ECMP any
    /// change of a destination's paths may change its set, and it is sent
    /// again (an identical replace costs the kernel little, a missed one
    /// would leave a stale route).
    pub(super) fn fib_changes(&mut self, family: Family, dirty: &[u32]) {
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
}
