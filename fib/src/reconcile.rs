//! Level-triggered reconcile: the one way mdc makes kernel state what it
//! wants, for every kind of object it owns.
//!
//! The caller says what it wants (the *desired* objects); the kernel says
//! what it has of ours (the *observed* objects); [`plan`] computes the
//! difference: what to put (missing or different) and what to remove
//! (ours, no longer wanted). Nothing that is already right is touched, so
//! a reconcile after a restart or after lost events changes only what
//! drifted, and running it twice changes nothing the second time.
//!
//! A kind of kernel object takes part by implementing [`KernelObject`]:
//! its identity ([`KernelObject::Key`]: a route's destination, table and
//! metric; later an address's interface and prefix, an FDB entry's MAC,
//! VNI and VTEP...) and when an observed object is the desired one
//! ([`KernelObject::matches`]: the kernel may fill in fields we left
//! open). Pure code: no netlink, no clock.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;

use crate::{Route, RouteKey};

/// A kind of kernel state mdc owns and reconciles.
pub trait KernelObject: Clone + Debug {
    /// What identifies the object: two objects with one key cannot both
    /// be in the kernel.
    type Key: Copy + Eq + Hash + Ord + Debug;

    fn key(&self) -> Self::Key;

    /// The same object in a canonical form (sets sorted), as observed
    /// objects are returned.
    fn normalized(self) -> Self;

    /// `observed` (normalized) is this object (normalized) as the kernel
    /// holds it.
    fn matches(&self, observed: &Self) -> bool;
}

/// One step of a reconcile: put an object in place (add, or replace the
/// one with its key in place), or remove the one with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<O: KernelObject> {
    Put(O),
    Remove(O::Key),
}

impl<O: KernelObject> Step<O> {
    pub fn key(&self) -> O::Key {
        match self {
            Step::Put(o) => o.key(),
            Step::Remove(k) => *k,
        }
    }
}

/// What [`plan`] found: how many objects are already right, and the steps
/// that make the kernel exactly the desired set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<O: KernelObject> {
    pub kept: usize,
    /// Puts first (in the desired order), then removals.
    pub steps: Vec<Step<O>>,
}

/// The steps that turn `observed` into `desired`: put what is missing or
/// different, remove what is observed but not desired. Each desired key
/// is given once (a second one would be put after the first).
pub fn plan<O: KernelObject>(
    desired: impl IntoIterator<Item = O>,
    observed: impl IntoIterator<Item = O>,
) -> Plan<O> {
    let mut have: HashMap<O::Key, O> = observed.into_iter().map(|o| (o.key(), o)).collect();
    let mut kept = 0;
    let mut steps = Vec::new();
    for o in desired {
        let o = o.normalized();
        match have.remove(&o.key()) {
            Some(got) if o.matches(&got) => kept += 1,
            _ => steps.push(Step::Put(o)),
        }
    }
    let mut stale: Vec<O::Key> = have.into_keys().collect();
    // Deterministic order: the kernel sees the same requests for the same
    // state (and tests can compare them).
    stale.sort_unstable();
    steps.extend(stale.into_iter().map(Step::Remove));
    Plan { kept, steps }
}

impl KernelObject for Route {
    type Key = RouteKey;

    fn key(&self) -> RouteKey {
        Route::key(self)
    }

    fn normalized(self) -> Route {
        Route::normalized(self)
    }

    fn matches(&self, observed: &Route) -> bool {
        self.matches_kernel(observed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::{NextHop, Target};

    fn route(dst: &str, gws: &[&str]) -> Route {
        Route {
            dst: dst.parse().unwrap(),
            table: 254,
            metric: 20,
            target: Target::Via(gws.iter().map(|g| NextHop::gateway(g.parse().unwrap())).collect()),
        }
    }

    #[test]
    fn only_the_difference_is_planned() {
        let observed = vec![
            route("198.51.100.0/24", &["192.0.2.1"]),
            route("203.0.113.0/24", &["192.0.2.1"]),
            route("203.0.113.128/25", &["192.0.2.9"]),
        ];
        let desired = vec![
            route("198.51.100.0/24", &["192.0.2.1"]),
            route("203.0.113.0/24", &["192.0.2.2"]),
            route("2001:db8::/32", &["2001:db8::1"]),
        ];
        let p = plan(desired, observed);
        assert_eq!(p.kept, 1);
        assert_eq!(
            p.steps,
            vec![
                Step::Put(route("203.0.113.0/24", &["192.0.2.2"])),
                Step::Put(route("2001:db8::/32", &["2001:db8::1"])),
                Step::Remove(route("203.0.113.128/25", &[]).key()),
            ]
        );
    }

    #[test]
    fn a_reconciled_state_plans_nothing_and_ecmp_order_does_not_matter() {
        let observed = vec![route("198.51.100.0/24", &["192.0.2.1", "192.0.2.2"]).normalized()];
        let desired = vec![route("198.51.100.0/24", &["192.0.2.2", "192.0.2.1"])];
        assert_eq!(plan(desired, observed), Plan { kept: 1, steps: vec![] });
    }

    #[test]
    fn a_next_hop_given_without_interface_matches_the_interface_the_kernel_chose() {
        let mut observed = route("198.51.100.0/24", &["192.0.2.1"]);
        if let Target::Via(h) = &mut observed.target {
            h[0].ifindex = Some(7);
        }
        let p = plan(vec![route("198.51.100.0/24", &["192.0.2.1"])], vec![observed.clone()]);
        assert_eq!(p.kept, 1);
        // But an interface we asked for must be the one in the kernel.
        let mut want = observed.clone();
        if let Target::Via(h) = &mut want.target {
            h[0].ifindex = Some(8);
        }
        assert_eq!(plan(vec![want.clone()], vec![observed]).steps, vec![Step::Put(want)]);
    }

    #[test]
    fn nothing_desired_removes_everything_observed() {
        let observed =
            vec![route("198.51.100.0/24", &["192.0.2.1"]), route("203.0.113.0/24", &["192.0.2.1"])];
        let p = plan(Vec::new(), observed.clone());
        assert_eq!(p.kept, 0);
        assert_eq!(p.steps.len(), 2);
        assert!(p.steps.iter().all(|s| matches!(s, Step::Remove(_))));
    }
}
