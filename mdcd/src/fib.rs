//! Installing the Loc-RIB in the kernel (`[fib]`, ADR 0009).
//!
//! The RIB sends each flush's changed destinations (their ECMP set's BGP
//! next hops) to a thread of its own here, which turns every BGP next hop
//! into the kernel next hops that reach it and installs the routes through
//! `mdc-fib`, many per system call.
//!
//! - **Resolution.** A next hop on a connected network is installed as a
//!   gateway on that interface; one reached through another route (iBGP)
//!   gets that route's own next hops, as zebra does. A default route does
//!   not count (as FRR without `ip nht resolve-via-default`), nor does one
//!   of our own routes. Resolutions are cached per next hop: a full table
//!   has a handful. A link-local next hop (an unnumbered peer's, RFC 8950)
//!   is on its peer's interface, which the daemon tells the FIB.
//! - **Next-hop tracking.** When the kernel changes (links, addresses,
//!   other protocols' routes), every next hop in use is resolved again;
//!   any that changed is reported to the RIB (`Speaker::set_next_hop`),
//!   which decides again (an unreachable next hop's paths cannot be best,
//!   the route's metric is the IGP cost) and sends the routes through it
//!   again.
//! - **Reconcile.** Routes of ours that someone deletes are asked of the
//!   RIB again; when kernel events were lost the whole table is
//!   reconciled: only the difference changes.
//! - **Start and stop.** Without graceful restart, the table is reconciled
//!   at once (routes of an earlier run go) and our routes are removed when
//!   mdcd stops. With it, routes stay when mdcd stops or dies; the next
//!   start leaves the kernel as it found it until every peer sent
//!   End-of-RIB (or `restart-time` passed), then reconciles once: routes
//!   still wanted are kept or replaced in place, the rest removed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mdc_bgp::family::Family;
use mdc_bgp::nlri::Prefix;
use mdc_bgp::rib::FibChange;
use mdc_bgp::speaker::{FibSink, Speaker};
use mdc_fib::{Change, Event, Fib, FibError, IpNetwork, NextHop, Route, RouteKey, Target, Watcher};
use tokio::runtime::Handle;
use tracing::{info, warn};

use crate::api::{DriftView, FibView, NextHopView};
use crate::config::FibOptions;

/// Changes applied together at most, when several flushes' wait.
const COALESCE: usize = 16 * 1024;

/// How many recent failures `mdcctl show fib` lists.
const FAILURES_KEPT: usize = 32;

/// What the FIB thread is asked to do.
enum Input {
    Changes(Vec<FibChange>),
    Kernel(Vec<Event>),
    WatchFailed(String),
    /// BGP converged after a graceful start: remove what it did not learn
    /// again.
    Converged,
    Show(tokio::sync::oneshot::Sender<FibView>),
    /// An unnumbered peer's link-local address and its interface.
    LinkLocal(IpAddr, u32),
    /// Stop applying the RIB's changes (the speaker is about to stop, and
    /// its peers going down must not empty a table graceful restart keeps).
    Freeze,
    Stop(mpsc::Sender<()>),
}

impl Input {
    /// How many changes or events it carries; inputs that are not batches
    /// count as full.
    fn batch_len(&self) -> usize {
        match self {
            Input::Changes(v) => v.len(),
            Input::Kernel(v) => v.len(),
            _ => COALESCE,
        }
    }

    /// Take `more` into this batch if it is of the same kind; else give it
    /// back.
    fn absorb(&mut self, more: Input) -> Result<(), Input> {
        match (self, more) {
            (Input::Changes(v), Input::Changes(m)) => v.extend(m),
            (Input::Kernel(v), Input::Kernel(m)) => v.extend(m),
            (_, other) => return Err(other),
        }
        Ok(())
    }
}

/// The running FIB thread.
#[derive(Clone)]
pub struct FibHandle {
    tx: mpsc::Sender<Input>,
    thread: std::sync::Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// What the daemon starts with: the kernel opened before the speaker, so
/// that an error (not root) stops the start.
pub struct Prepared {
    fib: Fib,
    watcher: Watcher,
    tx: mpsc::Sender<Input>,
    rx: mpsc::Receiver<Input>,
}

impl Prepared {
    pub fn open() -> Result<Prepared, FibError> {
        let fib = Fib::open(mdc_fib::PROTOCOL)?;
        let watcher = Watcher::open(mdc_fib::PROTOCOL)?;
        watcher.ignore_port(fib.port_id()?)?;
        let (tx, rx) = mpsc::channel();
        Ok(Prepared { fib, watcher, tx, rx })
    }

    /// For `SpeakerConfig::fib`.
    pub fn sink(&self) -> FibSink {
        let tx = self.tx.clone();
        FibSink::new(move |changes| {
            let _ = tx.send(Input::Changes(changes));
        })
    }

    /// Start installing. `graceful` start: keep the routes of an earlier
    /// run until [`FibHandle::converged`].
    pub fn start(self, options: &FibOptions, speaker: Speaker, rt: Handle) -> FibHandle {
        let Prepared { fib, mut watcher, tx, rx } = self;
        name_protocol();
        let events = tx.clone();
        let spawned = std::thread::Builder::new().name("mdc-fib-watch".into()).spawn(move || {
            loop {
                match watcher.wait() {
                    Ok(e) if e.is_empty() => {}
                    Ok(e) => {
                        if events.send(Input::Kernel(e)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = events.send(Input::WatchFailed(e.to_string()));
                        return;
                    }
                }
            }
        });
        if let Err(e) = spawned {
            warn!("fib: cannot start the kernel watcher: {e}");
        }
        let mut installer = Installer {
            fib,
            table: options.table,
            metric: options.metric,
            graceful: options.graceful_restart,
            speaker,
            rt,
            resolved: HashMap::new(),
            link_locals: HashMap::new(),
            adopting: options.graceful_restart,
            frozen: false,
            failures: VecDeque::new(),
            failed_total: 0,
            unlogged: 0,
            last_logged: None,
            started: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name("mdc-fib".into())
            .spawn(move || {
                if !installer.adopting {
                    installer.reconcile("start");
                }
                let mut next = None;
                while let Some(mut input) = next.take().or_else(|| rx.recv().ok()) {
                    // Batches waiting behind this one go to the kernel with
                    // it (fewer, fuller system calls while a table arrives),
                    // and a burst of kernel events is resolved once.
                    while input.batch_len() < COALESCE {
                        let Ok(more) = rx.try_recv() else { break };
                        if let Err(other) = input.absorb(more) {
                            next = Some(other);
                            break;
                        }
                    }
                    if !installer.on(input) {
                        break;
                    }
                }
            })
            .map_err(|e| warn!("fib: cannot start: {e}"))
            .ok();
        FibHandle { tx, thread: std::sync::Arc::new(std::sync::Mutex::new(thread)) }
    }
}

impl FibHandle {
    /// Every peer finished its initial table (or the restart time passed).
    pub fn converged(&self) {
        let _ = self.tx.send(Input::Converged);
    }

    /// Next hops at `addr` (an unnumbered peer's link-local address, RFC
    /// 8950) are on interface `ifindex`: the kernel cannot tell which
    /// interface a link-local address is on.
    pub fn link_local(&self, addr: IpAddr, ifindex: u32) {
        let _ = self.tx.send(Input::LinkLocal(addr, ifindex));
    }

    pub fn freeze(&self) {
        let _ = self.tx.send(Input::Freeze);
    }

    /// The table for `mdcctl show fib`.
    pub async fn show(&self) -> Option<FibView> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx.send(Input::Show(tx)).ok()?;
        rx.await.ok()
    }

    /// Remove our routes (without graceful restart) and end the thread.
    pub fn stop(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Input::Stop(tx)).is_ok() {
            let _ = rx.recv();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// How a BGP next hop is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    /// `None`: unreachable; else the IGP cost.
    reach: Option<u32>,
    hops: Vec<NextHop>,
    /// The kernel route it resolved through.
    via: Option<IpNetwork>,
}

impl Resolved {
    const UNREACHABLE: Resolved = Resolved { reach: None, hops: Vec::new(), via: None };
}

struct Installer {
    fib: Fib,
    table: u32,
    metric: u32,
    graceful: bool,
    speaker: Speaker,
    rt: Handle,
    /// Every BGP next hop seen, and how the kernel reaches it.
    resolved: HashMap<IpAddr, Resolved>,
    /// Unnumbered peers' link-local addresses and their interfaces.
    link_locals: HashMap<IpAddr, u32>,
    /// A graceful start: routes of the earlier run are kept until BGP
    /// converged.
    adopting: bool,
    frozen: bool,
    failures: VecDeque<String>,
    failed_total: u64,
    /// Failures since the last log line, and when that was.
    unlogged: u64,
    last_logged: Option<Instant>,
    started: Instant,
}

impl Installer {
    /// Handle one input; false to end the thread.
    fn on(&mut self, input: Input) -> bool {
        match input {
            // While adopting, the kernel keeps the earlier run's routes
            // untouched (as BIRD's kernel protocol does in a graceful
            // restart): the table is reconciled once, when BGP converged,
            // rather than switched to whichever peer comes back first.
            Input::Changes(c) if !self.frozen && !self.adopting => self.install(c),
            Input::Changes(_) => {}
            Input::Kernel(events) if !self.frozen => self.on_events(events),
            Input::Kernel(_) => {}
            Input::WatchFailed(e) => {
                warn!("fib: the kernel watcher stopped: {e}; next hops are no longer tracked")
            }
            Input::Converged => {
                if self.adopting {
                    self.adopting = false;
                    self.reconcile("BGP converged after a graceful restart");
                }
            }
            Input::Show(reply) => {
                let _ = reply.send(self.view());
            }
            Input::LinkLocal(addr, ifindex) => {
                self.link_locals.insert(addr, ifindex);
                if self.resolved.contains_key(&addr) {
                    self.recheck(&HashSet::from([ifindex]));
                }
            }
            Input::Freeze => self.frozen = true,
            Input::Stop(done) => {
                if self.graceful {
                    info!("fib: graceful restart: leaving our routes in table {}", self.table);
                } else {
                    match self.fib.reconcile(self.table, &[]) {
                        Ok(r) => info!("fib: removed our {} routes from table {}", r.removed, self.table),
                        Err(e) => warn!("fib: removing our routes: {e}"),
                    }
                }
                let _ = done.send(());
                return false;
            }
        }
        true
    }

    /// Install one flush's changes.
    fn install(&mut self, batch: Vec<FibChange>) {
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
        // never installed) is no failure: `Fib::apply` says so.
        for r in self.fib.apply(&changes) {
            if let Err(e) = r {
                self.failed(e.to_string());
            }
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
        if let IpAddr::V6(v6) = nh
            && v6.is_unicast_link_local()
        {
            // Only on the interface of the peer that sent it.
            return match self.link_locals.get(&nh) {
                Some(&i) => Resolved { reach: Some(0), hops: vec![NextHop::gateway(nh).on(i)], via: None },
                None => Resolved::UNREACHABLE,
            };
        }
        let r = match self.fib.resolve(nh) {
            Ok(Some(r)) => r,
            Ok(None) => return Resolved::UNREACHABLE,
            Err(e) => {
                self.failed(format!("resolving next hop {nh}: {e}"));
                return Resolved::UNREACHABLE;
            }
        };
        if !r.usable() || r.route.prefix() == 0 || r.protocol == mdc_fib::PROTOCOL {
            return Resolved { via: Some(r.route), ..Resolved::UNREACHABLE };
        }
        let connected = r.next_hops.iter().all(|h| h.gateway.is_none());
        let hops: Vec<NextHop> = if connected {
            r.next_hops.iter().filter_map(|h| h.ifindex).map(|i| NextHop::gateway(nh).on(i)).collect()
        } else {
            r.next_hops.iter().map(|h| NextHop { weight: 1, ..h.clone() }).collect()
        };
        Resolved { reach: Some(if connected { 0 } else { r.metric }), hops, via: Some(r.route) }
    }

    fn tell_rib(&self, nh: IpAddr, reach: Option<u32>) {
        match reach {
            None => info!("fib: next hop {nh} is unreachable"),
            Some(cost) => info!("fib: next hop {nh} is reachable, IGP cost {cost}"),
        }
        if let Err(e) = self.speaker.set_next_hop(nh, reach) {
            warn!("fib: next hop {nh}: {e}");
        }
    }

    fn on_events(&mut self, events: Vec<Event>) {
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
                        && let Err(e) = self.speaker.refresh_fib(family(&p), p)
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
                    recheck |= table == mdc_fib::MAIN_TABLE && covers_any(&dst, self.resolved.keys());
                }
            }
        }
        if down || resync {
            // The kernel deleted the link's nexthop objects.
            if let Err(e) = self.fib.reload_nexthops() {
                self.failed(format!("reading nexthop objects: {e}"));
            }
        }
        if recheck {
            self.recheck(&links);
        }
        if resync {
            warn!("fib: kernel events were lost; reconciling table {}", self.table);
            self.reconcile("lost kernel events");
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
            let touched = |r: &Resolved| r.hops.iter().any(|h| h.ifindex.is_some_and(|i| links.contains(&i)));
            if *old != new || touched(old) || touched(&new) {
                self.tell_rib(nh, new.reach);
                self.resolved.insert(nh, new);
            }
        }
    }

    /// Make the kernel table exactly what the RIB wants.
    fn reconcile(&mut self, why: &str) {
        let desired = self.desired();
        match self.fib.reconcile(self.table, &desired) {
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
        let speaker = self.speaker.clone();
        let table = match self.rt.block_on(speaker.fib_table()) {
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

    fn view(&mut self) -> FibView {
        let mut v = FibView {
            table: self.table,
            metric: self.metric,
            graceful_restart: self.graceful,
            adopting: self.adopting,
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
                kernel_next_hops: r.hops.iter().map(hop_text).collect(),
            })
            .collect();
        let desired = self.desired();
        let kernel = match self.fib.routes(Some(self.table)) {
            Ok(k) => k,
            Err(e) => {
                v.recent_failures.push(format!("reading table {}: {e}", self.table));
                Vec::new()
            }
        };
        v.desired = desired.len();
        v.installed = kernel.len();
        let mut have: HashMap<RouteKey, Route> = kernel.into_iter().map(|r| (r.key(), r)).collect();
        for want in desired {
            let want = want.normalized();
            match have.remove(&want.key()) {
                Some(got) if want.matches_kernel(&got) => v.in_sync += 1,
                got => v.drift.push(DriftView {
                    prefix: want.dst.to_string(),
                    desired: Some(target_text(&want.target)),
                    kernel: got.map(|g| target_text(&g.target)),
                }),
            }
        }
        let mut stale: Vec<Route> = have.into_values().collect();
        stale.sort_by_key(|r| r.dst);
        v.drift.extend(stale.into_iter().map(|r| DriftView {
            prefix: r.dst.to_string(),
            desired: None,
            kernel: Some(target_text(&r.target)),
        }));
        v
    }
}

/// `dst` contains one of `next_hops`.
fn covers_any<'a>(dst: &IpNetwork, mut next_hops: impl Iterator<Item = &'a IpAddr>) -> bool {
    next_hops.any(|nh| dst.contains(*nh))
}

fn hop_text(h: &NextHop) -> String {
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

fn target_text(t: &Target) -> String {
    match t {
        Target::Blackhole => "blackhole".into(),
        Target::Via(hops) => hops.iter().map(hop_text).collect::<Vec<_>>().join(", "),
    }
}

/// An interface's name, or its index.
fn link_name(ifindex: u32) -> String {
    std::fs::read_dir("/sys/class/net")
        .ok()
        .and_then(|d| {
            d.flatten().find_map(|e| {
                let idx = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
                (idx.trim().parse::<u32>().ok()? == ifindex)
                    .then(|| e.file_name().to_string_lossy().into_owned())
            })
        })
        .unwrap_or_else(|| format!("#{ifindex}"))
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

/// Name protocol 210 for `ip route` ("proto mdc"), where iproute2 reads
/// names from `rt_protos.d` and nobody named it yet.
fn name_protocol() {
    let dir = std::path::Path::new("/etc/iproute2/rt_protos.d");
    let file = dir.join("mdc.conf");
    if dir.is_dir() && !file.exists() {
        let text = format!("# written by mdcd: the protocol of its routes\n{} mdc\n", mdc_fib::PROTOCOL);
        if let Err(e) = std::fs::write(&file, text) {
            info!("fib: cannot name protocol {} in {}: {e}", mdc_fib::PROTOCOL, file.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_route_that_covers_a_next_hop_can_change_its_resolution() {
        let nh: Vec<IpAddr> = ["192.0.2.2", "2001:db8::2"].iter().map(|a| a.parse().unwrap()).collect();
        let net = |s: &str| s.parse::<IpNetwork>().unwrap();
        assert!(covers_any(&net("192.0.2.0/26"), nh.iter()));
        assert!(covers_any(&net("192.0.2.2/32"), nh.iter()));
        assert!(covers_any(&net("2001:db8::/32"), nh.iter()));
        assert!(covers_any(&net("0.0.0.0/0"), nh.iter()), "a default route covers everything");
        assert!(!covers_any(&net("10.42.0.0/24"), nh.iter()), "a pod route");
        assert!(!covers_any(&net("192.0.2.64/26"), nh.iter()));
        assert!(!covers_any(&net("192.0.2.0/26"), [].iter()));
    }
}
