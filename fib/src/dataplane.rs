//! The boundary between mdc's logic and the kernel: [`Dataplane`].
//!
//! Everything above it (the daemon's next-hop resolution, graceful-restart
//! adoption, reconcile decisions) is written against this trait, so it
//! runs unchanged on the kernel ([`crate::Fib`], netlink) and on
//! [`crate::MemoryDataplane`], an in-memory kernel for unit tests that need
//! no root. A new kind of kernel object (addresses, NAT rules, FDB and
//! neighbour entries, links, tunnels) adds its methods here, implements
//! [`crate::KernelObject`] and is reconciled by the same [`crate::plan`].

use std::net::IpAddr;

use crate::reconcile::{self, Step};
use crate::{Change, FibError, Reconciled, Resolution, Route};

/// What mdc needs of a kernel.
pub trait Dataplane {
    /// Send every change; the result of each, in order. A refused change
    /// does not stop the others; deleting a route that is not there is
    /// not an error.
    fn apply(&mut self, changes: &[Change]) -> Vec<Result<(), FibError>>;

    /// The routes of ours, in `table` or in all tables, normalized.
    fn routes(&mut self, table: Option<u32>) -> Result<Vec<Route>, FibError>;

    /// The main-table route the kernel would forward `addr` by; `None`
    /// when it would not forward (no route, blackhole, unreachable,
    /// prohibit). A local address resolves with no next hops.
    fn resolve(&mut self, addr: IpAddr) -> Result<Option<Resolution>, FibError>;

    /// Read again what the kernel may have changed on its own (nexthop
    /// objects deleted with their link).
    fn reload_nexthops(&mut self) -> Result<(), FibError> {
        Ok(())
    }

    /// Remove helpers of ours no route uses any more (nexthop objects);
    /// how many.
    fn collect_nexthops(&mut self) -> Result<usize, FibError> {
        Ok(0)
    }

    /// Make the routes of ours in `table` exactly `desired` (those of
    /// other tables ignored), changing only what differs.
    fn reconcile(&mut self, table: u32, desired: &[Route]) -> Result<Reconciled, FibError> {
        let observed = self.routes(Some(table))?;
        let plan = reconcile::plan(desired.iter().filter(|r| r.table == table).cloned(), observed);
        let changes: Vec<Change> = plan.steps.into_iter().map(Change::from).collect();
        let mut report = Reconciled { kept: plan.kept, ..Reconciled::default() };
        for (c, r) in changes.iter().zip(self.apply(&changes)) {
            match (r, c) {
                (Err(e), c) => report.failed.push((c.key(), e)),
                (Ok(()), Change::Replace(_)) => report.installed += 1,
                (Ok(()), Change::Delete(_)) => report.removed += 1,
            }
        }
        self.collect_nexthops()?;
        Ok(report)
    }
}

impl From<Step<Route>> for Change {
    fn from(s: Step<Route>) -> Change {
        match s {
            Step::Put(r) => Change::Replace(r),
            Step::Remove(k) => Change::Delete(k),
        }
    }
}
