//! The FIB's logic: from the RIB's changes to kernel routes, next-hop
//! tracking, reconcile, graceful-restart adoption, `show fib`.
//!
//! Written against two boundaries so that it runs without root in unit
//! tests: the kernel is a [`Dataplane`] (netlink in the daemon,
//! [`mdc_fib::MemoryDataplane`] in tests) and the RIB is a [`RibLink`]
//! (the speaker in the daemon, a recorder in tests). It owns no thread, no
//! socket and no channel: the shell in `fib/mod.rs` feeds it. It reads the
//! clock only to space its log lines and for `show fib`'s uptime.
//!
//! - **Install.** Each changed destination's BGP next hops become kernel
//!   next hops through their cached resolution ([`resolve`]); a
//!   destination none of whose next hops is reachable is removed.
//! - **Next-hop tracking.** Kernel events that can change a resolution
//!   (links, addresses, another protocol's route covering a next hop) make
//!   every next hop resolve again; a changed one is told to the RIB, which
//!   decides again and sends the routes through it.
//! - **Reconcile.** A route of ours deleted by someone else is asked of the
//!   RIB again; lost events reconcile the whole table ([`Dataplane::reconcile`]).
//! - **Adoption.** A graceful start leaves the kernel as it found it until
//!   [`Installer::converged`]; then one reconcile.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use mdc_bgp::family::Family;
use mdc_bgp::nlri::Prefix;
use mdc_bgp::rib::FibChange;
use mdc_fib::{Change, Dataplane, Event, IpNetwork, NextHop, Route, RouteKey, Step, Target};
use tracing::{info, warn};

use super::resolve::{self, Resolved};
use crate::api::{DriftView, FibView, NextHopView};
use crate::config::FibOptions;

/// How many recent failures `mdcctl show fib` lists.
const FAILURES_KEPT: usize = 32;

/// What the FIB needs of the RIB.
pub trait RibLink {
    /// Next hop `nh` is reachable at this IGP cost, or not (`None`).
    fn set_next_hop(&mut self, nh: IpAddr, reach: Option<u32>) -> Result<(), String>;
    /// Send the FIB change of `prefix` again.
    fn refresh(&mut self, family: Family, prefix: Prefix) -> Result<(), String>;
    /// Every destination the RIB wants installed.
    fn table(&mut self) -> Result<Vec<FibChange>, String>;
}

pub struct Installer<D, R> {
    kernel: D,
    rib: R,
    table: u32,
    metric: u32,
    protocol: u8,
    graceful: bool,
    /// Every BGP next hop seen, and how the kernel reaches it.
    resolved: HashMap<IpAddr, Resolved>,
    /// Unnumbered peers' link-local addresses and their interfaces.
    link_locals: HashMap<IpAddr, u32>,
    /// A graceful start: routes of the earlier run are kept until BGP
    /// converged.
    adopting: bool,
    /// The speaker is stopping: its peers going down must not empty a
    /// table graceful restart keeps.
    frozen: bool,
    failures: VecDeque<String>,
    failed_total: u64,
    /// Failures since the last log line, and when that was.
    unlogged: u64,
    last_logged: Option<Instant>,
    started: Instant,
    /// The initial tables (peer and family) a graceful start waits for.
    waiting_for: Vec<String>,
}

impl<D: Dataplane, R: RibLink> Installer<D, R> {
    /// Installing with `options` into `kernel`, whose routes of protocol
    /// `protocol` are ours. Call [`Installer::start`] next.
    pub fn new(kernel: D, rib: R, options: &FibOptions, protocol: u8) -> Installer<D, R> {
        Installer {
            kernel,
            rib,
            table: options.table,
            metric: options.metric,
            protocol,
            graceful: options.graceful_restart,
            resolved: HashMap::new(),
            link_locals: HashMap::new(),
            adopting: options.graceful_restart,
            frozen: false,
            failures: VecDeque::new(),
            failed_total: 0,
            unlogged: 0,
            last_logged: None,
            started: Instant::now(),
            waiting_for: Vec::new(),
        }
    }

    /// What a graceful start keeps, read from the kernel before
    /// [`Installer::start`] (it does not ask the RIB, so any thread may
    /// call it): the gateways of the earlier run's routes. `None`: not
    /// adopting, because graceful restart is off or the table holds nothing
    /// of ours (after a reboot): routes then go in as they come.
    pub fn survey(&mut self) -> Option<BTreeSet<IpAddr>> {
        if !self.adopting {
            return None;
        }
        match self.kernel.routes(Some(self.table)) {
            Ok(kept) if kept.is_empty() => {
                info!(
                    "fib: graceful restart: no route of an earlier run in table {}: nothing to wait for",
                    self.table
                );
                self.adopting = false;
                None
            }
            Ok(kept) => {
                info!(
                    "fib: graceful restart: keeping {} routes of an earlier run in table {} until BGP converges",
                    kept.len(),
                    self.table
                );
                Some(
                    kept.iter()
                        .flat_map(|r| match &r.target {
                            Target::Via(hops) => hops.iter().filter_map(|h| h.gateway).collect(),
                            Target::Blackhole => Vec::new(),
                        })
                        .collect(),
                )
            }
            // Cannot tell: keep them; the wait is bounded.
            Err(e) => {
                warn!("fib: graceful restart: cannot read table {}: {e}", self.table);
                Some(BTreeSet::new())
            }
        }
    }

    /// Without graceful restart (or with nothing to keep, see
    /// [`Installer::survey`]) the table is made what the RIB wants at once
    /// (an earlier run's routes go); a graceful start changes nothing until
    /// [`Installer::converged`].
    pub fn start(&mut self) {
        if !self.adopting {
            self.reconcile("start");
        }
    }

    /// The initial tables a graceful start still waits for, for `show fib`.
    pub fn waiting_for(&mut self, tables: Vec<String>) {
        self.waiting_for = tables;
    }

    pub fn kernel(&self) -> &D {
        &self.kernel
    }

    pub fn kernel_mut(&mut self) -> &mut D {
        &mut self.kernel
    }

    pub fn rib(&self) -> &R {
        &self.rib
    }

    pub fn adopting(&self) -> bool {
        self.adopting
    }

    /// One flush of the RIB's changes.
    pub fn changes(&mut self, batch: Vec<FibChange>) {
        // While adopting, the kernel keeps the earlier run's routes
        // untouched (as BIRD's kernel protocol does in a graceful
        // restart): the table is reconciled once, when BGP converged,
        // rather than switched to whichever peer comes back first.
        if self.frozen || self.adopting {
            return;
        }
        let mut changes = Vec::with_capacity(batch.len());
        for c in &batch {
            let (prefix, next_hops) = match c {
                FibChange::Install { prefix, next_hops, .. } => (prefix, &next_hops[..]),
                FibChange::Remove { prefix, .. } => (prefix, &[][..]),
            };
            let Some(dst) = network(prefix) else { continue };
            let key = RouteKey { dst, table: self.table, metric: self.metric };
            changes.push(match self.route(key, next_hops) {
                Some(r) => Change::Replace(r),
                None => Change::Delete(key),
            });
        }
        // Deleting a route that is not there (a link went down, or it was
        // never installed) is no failure: `Dataplane::apply` says so.
        for r in self.kernel.apply(&changes) {
            if let Err(e) = r {
                self.failed(e.to_string());
            }
        }
    }

    /// Every peer finished its initial table (or the restart time passed):
    /// end a graceful start.
    pub fn converged(&mut self) {
        if self.adopting {
            self.adopting = false;
            self.reconcile("BGP converged after a graceful restart");
        }
    }

    /// Next hops at `addr` (an unnumbered peer's link-local address) are on
    /// interface `ifindex`.
    pub fn link_local(&mut self, addr: IpAddr, ifindex: u32) {
        self.link_locals.insert(addr, ifindex);
        if self.resolved.contains_key(&addr) {
            self.recheck(&HashSet::from([ifindex]));
        }
    }

    /// Stop applying the RIB's changes and the kernel's events.
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// mdcd stops: remove our routes, unless graceful restart keeps them.
    pub fn stop(&mut self) {
        if self.graceful {
            info!("fib: graceful restart: leaving our routes in table {}", self.table);
            return;
        }
        match self.kernel.reconcile(self.table, &[]) {
            Ok(r) => info!("fib: removed our {} routes from table {}", r.removed, self.table),
            Err(e) => warn!("fib: removing our routes: {e}"),
        }
    }

    /// The kernel's events.
    pub fn events(&mut self, events: Vec<Event>) {
        if self.frozen {
            return;
        }
        let mut recheck = false;
        let mut links = HashSet::new();
        let mut down = false;
        let mut resync = false;
        for e in events {
            match e {
                Event::Resync => resync = true,
                Event::RouteRemoved(r) if r.table == self.table && r.metric == self.metric => {
                    // Someone deleted one of ours (our own deletions are
                    // filtered out by the watcher): ask the RIB again.
                    if let Some(p) = prefix(&r.dst)
                        && let Err(e) = self.rib.refresh(family(&p), p)
                    {
                        warn!("fib: {e}");
                    }
                }
                Event::RouteAdded(_) | Event::RouteRemoved(_) => {}
                Event::LinkUp { ifindex, .. } => {
                    links.insert(ifindex);
                    recheck = true;
                }
                Event::LinkDown { ifindex, .. } | Event::LinkRemoved { ifindex, .. } => {
                    links.insert(ifindex);
                    down = true;
                    recheck = true;
                }
                Event::AddressAdded { .. } | Event::AddressRemoved { .. } => recheck = true,
                // Next hops resolve through the main table; a route that
                // covers none of them changes nothing (a node's CNI adds
                // and removes routes all day).
                Event::OtherRoute { table, dst } => {
                    recheck |=
                        table == mdc_fib::MAIN_TABLE && resolve::covers_any(&dst, self.resolved.keys());
                }
            }
        }
        if down || resync {
            // The kernel deleted the link's nexthop objects.
            if let Err(e) = self.kernel.reload_nexthops() {
                self.failed(format!("reading nexthop objects: {e}"));
            }
        }
        if recheck {
            self.recheck(&links);
        }
        // While adopting, the reconcile waits for convergence: the RIB's
        // table is still partial, and reconciling against it would delete
        // the routes graceful restart keeps.
        if resync && !self.adopting {
            warn!("fib: kernel events were lost; reconciling table {}", self.table);
            self.reconcile("lost kernel events");
        }
    }

    /// The kernel route for BGP next hops `next_hops`; `None` if none is
    /// reachable.
    fn route(&mut self, key: RouteKey, next_hops: &[IpAddr]) -> Option<Route> {
        let mut hops: Vec<NextHop> = Vec::new();
        for &nh in next_hops {
            for h in self.kernel_hops(nh) {
                if !hops.contains(h) {
                    hops.push(h.clone());
                }
            }
        }
        if hops.is_empty() {
            return None;
        }
        Some(Route { dst: key.dst, table: key.table, metric: key.metric, target: Target::Via(hops) })
    }

    /// The kernel next hops of BGP next hop `nh`, from its cached
    /// resolution; the first time, asked of the kernel and reported to the
    /// RIB if it is not the RIB's assumption (reachable at cost 0).
    fn kernel_hops(&mut self, nh: IpAddr) -> &[NextHop] {
        if !self.resolved.contains_key(&nh) {
            let r = self.resolve(nh);
            if r.reach != Some(0) {
                self.tell_rib(nh, r.reach);
            }
            self.resolved.insert(nh, r);
        }
        self.resolved.get(&nh).map_or(&[], |r| r.hops.as_slice())
    }

    fn resolve(&mut self, nh: IpAddr) -> Resolved {
        if resolve::is_link_local(nh) {
            return resolve::link_local(nh, self.link_locals.get(&nh).copied());
        }
        match self.kernel.resolve(nh) {
            Ok(k) => resolve::resolve(nh, k.as_ref(), self.protocol),
            Err(e) => {
                self.failed(format!("resolving next hop {nh}: {e}"));
                Resolved::UNREACHABLE
            }
        }
    }

    fn tell_rib(&mut self, nh: IpAddr, reach: Option<u32>) {
        match reach {
            None => info!("fib: next hop {nh} is unreachable"),
            Some(cost) => info!("fib: next hop {nh} is reachable, IGP cost {cost}"),
        }
        if let Err(e) = self.rib.set_next_hop(nh, reach) {
            warn!("fib: next hop {nh}: {e}");
        }
    }

    /// Resolve every next hop again; report those that changed, and those
    /// through a link that went down or up (the kernel dropped IPv4 routes
    /// through it without a word), so that their routes are sent again.
    fn recheck(&mut self, links: &HashSet<u32>) {
        let next_hops: Vec<IpAddr> = self.resolved.keys().copied().collect();
        for nh in next_hops {
            let new = self.resolve(nh);
            let Some(old) = self.resolved.get(&nh) else { continue };
            let touched = |r: &Resolved| links.iter().any(|&i| r.uses_link(i));
            if *old != new || touched(old) || touched(&new) {
                self.tell_rib(nh, new.reach);
                self.resolved.insert(nh, new);
            }
        }
    }

    /// Make the kernel table exactly what the RIB wants.
    fn reconcile(&mut self, why: &str) {
        let desired = self.desired();
        match self.kernel.reconcile(self.table, &desired) {
            Ok(r) => {
                info!(
                    "fib: table {} reconciled ({why}): {} kept, {} installed, {} removed, {} failed",
                    self.table,
                    r.kept,
                    r.installed,
                    r.removed,
                    r.failed.len()
                );
                for (key, e) in r.failed {
                    self.failed(format!("{}: {e}", key.dst));
                }
            }
            Err(e) => warn!("fib: reconciling table {}: {e}", self.table),
        }
    }

    /// The RIB's table as kernel routes.
    fn desired(&mut self) -> Vec<Route> {
        let table = match self.rib.table() {
            Ok(t) => t,
            Err(e) => {
                warn!("fib: {e}");
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(table.len());
        for c in table {
            if let FibChange::Install { prefix, next_hops, .. } = c {
                let Some(dst) = network(&prefix) else { continue };
                let key = RouteKey { dst, table: self.table, metric: self.metric };
                out.extend(self.route(key, &next_hops));
            }
        }
        out
    }

    fn failed(&mut self, what: String) {
        self.failed_total += 1;
        self.unlogged += 1;
        // At most one line every 10 s: a refused full table must not flood
        // the log. The count says how many went unsaid.
        if self.last_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            if self.unlogged > 1 {
                warn!("fib: {what} (and {} more failures since the last report)", self.unlogged - 1);
            } else {
                warn!("fib: {what}");
            }
            self.last_logged = Some(Instant::now());
            self.unlogged = 0;
        }
        if self.failures.len() == FAILURES_KEPT {
            self.failures.pop_front();
        }
        self.failures.push_back(what);
    }

    /// `mdcctl show fib`: the next hops, and the RIB's table against the
    /// kernel's.
    pub fn view(&mut self, link_name: impl Fn(u32) -> String) -> FibView {
        let mut v = FibView {
            table: self.table,
            metric: self.metric,
            graceful_restart: self.graceful,
            adopting: self.adopting,
            waiting_for: if self.adopting { self.waiting_for.clone() } else { Vec::new() },
            uptime_secs: self.started.elapsed().as_secs(),
            failed_total: self.failed_total,
            recent_failures: self.failures.iter().cloned().collect(),
            ..FibView::default()
        };
        let mut next_hops: Vec<(&IpAddr, &Resolved)> = self.resolved.iter().collect();
        next_hops.sort_by_key(|(a, _)| **a);
        v.next_hops = next_hops
            .into_iter()
            .map(|(a, r)| NextHopView {
                address: a.to_string(),
                reachable: r.reach.is_some(),
                igp_cost: r.reach,
                via: r.via.map(|n| n.to_string()),
                kernel_next_hops: r.hops.iter().map(|h| hop_text(h, &link_name)).collect(),
            })
            .collect();
        let desired = self.desired();
        let kernel = match self.kernel.routes(Some(self.table)) {
            Ok(k) => k,
            Err(e) => {
                v.recent_failures.push(format!("reading table {}: {e}", self.table));
                Vec::new()
            }
        };
        v.desired = desired.len();
        v.installed = kernel.len();
        // What a reconcile would change is the drift.
        let observed: HashMap<RouteKey, Route> = kernel.iter().map(|r| (r.key(), r.clone())).collect();
        let plan = mdc_fib::plan(desired, kernel);
        v.in_sync = plan.kept;
        v.drift = plan
            .steps
            .into_iter()
            .map(|step| {
                let (desired, key) = match step {
                    Step::Put(want) => (Some(target_text(&want.target, &link_name)), want.key()),
                    Step::Remove(key) => (None, key),
                };
                DriftView {
                    prefix: key.dst.to_string(),
                    desired,
                    kernel: observed.get(&key).map(|g| target_text(&g.target, &link_name)),
                }
            })
            .collect();
        v
    }
}

fn hop_text(h: &NextHop, link_name: &impl Fn(u32) -> String) -> String {
    let mut s = String::new();
    if let Some(g) = h.gateway {
        s.push_str(&format!("via {g}"));
    }
    if let Some(i) = h.ifindex {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&format!("dev {}", link_name(i)));
    }
    s
}

fn target_text(t: &Target, link_name: &impl Fn(u32) -> String) -> String {
    match t {
        Target::Blackhole => "blackhole".into(),
        Target::Via(hops) => hops.iter().map(|h| hop_text(h, link_name)).collect::<Vec<_>>().join(", "),
    }
}

fn network(p: &Prefix) -> Option<IpNetwork> {
    IpNetwork::new(p.addr(), p.length()).ok()
}

fn prefix(n: &IpNetwork) -> Option<Prefix> {
    Prefix::new(n.network(), n.prefix()).ok()
}

fn family(p: &Prefix) -> Family {
    match p {
        Prefix::V4(_) => Family::IPV4_UNICAST,
        Prefix::V6(_) => Family::IPV6_UNICAST,
    }
}

#[cfg(test)]
mod tests;
