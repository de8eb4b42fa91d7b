//! Kernel FIB programming for mdc: the only crate that speaks netlink.
//!
//! The API is typed and small: [`Route`]s in, per-route results out.
//! Netlink types never appear in it.
//!
//! - [`Fib::apply`] sends many changes per system call and reports the
//!   outcome of each one; one failure does not stop the others.
//! - [`Fib::routes`] reads back the routes that carry our protocol number.
//! - [`Dataplane::reconcile`] fixes only the difference between what is
//!   wanted and what the kernel has: no flush and reinstall. The difference
//!   is computed by [`plan`], the level-triggered reconcile every kind of
//!   kernel object mdc owns goes through ([`KernelObject`]).
//!
//! [`Dataplane`] is the boundary the daemon's logic is written against:
//! [`Fib`] implements it over netlink, [`MemoryDataplane`] in memory for
//! tests without root.
//!
//! ```no_run
//! use mdc_fib::{Change, Fib, NextHop, Route, Target};
//! let mut fib = Fib::open(mdc_fib::PROTOCOL)?;
//! let route = Route {
//!     dst: "198.51.100.0/24".parse()?,
//!     table: 254,
//!     metric: 20,
//!     target: Target::Via(vec![NextHop::gateway("192.0.2.1".parse()?)]),
//! };
//! for outcome in fib.apply(&[Change::Replace(route)]) {
//!     outcome?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dataplane;
mod memory;
mod netlink;
mod netns;
mod nexthop;
mod reconcile;
mod watch;

use std::fmt;
use std::net::IpAddr;

pub use dataplane::Dataplane;

/// Every address of the host's interfaces in the current network
/// namespace, without opening a [`Fib`] (one netlink dump; no privilege
/// needed).
pub fn host_addresses() -> Result<Vec<HostAddress>, FibError> {
    netlink::Netlink::open()?.dump_addresses()
}

/// One address of an interface of the host, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddress {
    pub ifindex: u32,
    pub addr: IpNetwork,
    /// It may be given out (e.g. as a BGP next hop): duplicate address
    /// detection is done and passed, and it is not deprecated.
    pub usable: bool,
}
pub use ipnetwork::IpNetwork;
pub use memory::MemoryDataplane;
pub use reconcile::{KernelObject, Plan, Step, plan};
pub use watch::{Event, Watcher};

use netlink::Netlink;

/// The route protocol number of mdc's routes (`proto mdc` once named in
/// `/etc/iproute2/rt_protos.d`). Free in iproute2's and FRR's lists
/// (FRR's daemons use 186-198, BIRD 12, keepalived 18, babel 42).
pub const PROTOCOL: u8 = 210;

/// The main routing table.
pub const MAIN_TABLE: u32 = 254;

/// A route as mdc wants it in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The destination; host bits must be zero.
    pub dst: IpNetwork,
    pub table: u32,
    /// The route's metric (`ip route ... metric N`). IPv6 treats 0 as 1024.
    pub metric: u32,
    pub target: Target,
}

/// Where a route sends its packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Drop silently (aggregates).
    Blackhole,
    /// One next hop, or several for ECMP (equal cost multipath).
    Via(Vec<NextHop>),
}

/// One next hop of a route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NextHop {
    /// The gateway; an IPv6 gateway for an IPv4 route is sent as RTA_VIA
    /// (RFC 8950 peers).
    pub gateway: Option<IpAddr>,
    /// The outgoing interface.
    pub ifindex: Option<u32>,
    /// The gateway is reachable on `ifindex` even without a covering route.
    pub onlink: bool,
    /// The share of traffic in an ECMP set, 1 to 256.
    pub weight: u16,
}

impl NextHop {
    pub fn gateway(gateway: IpAddr) -> NextHop {
        NextHop { gateway: Some(gateway), ifindex: None, onlink: false, weight: 1 }
    }

    pub fn device(ifindex: u32) -> NextHop {
        NextHop { gateway: None, ifindex: Some(ifindex), onlink: false, weight: 1 }
    }

    pub fn on(mut self, ifindex: u32) -> NextHop {
        self.ifindex = Some(ifindex);
        self
    }

    pub fn onlink(mut self) -> NextHop {
        self.onlink = true;
        self
    }
}

/// What identifies a route in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    pub dst: IpNetwork,
    pub table: u32,
    pub metric: u32,
}

impl Route {
    pub fn key(&self) -> RouteKey {
        RouteKey { dst: self.dst, table: self.table, metric: self.metric }
    }

    /// The same route with its next hops in a canonical order: an ECMP
    /// set is a set, and the kernel keeps the order it was given.
    pub fn normalized(mut self) -> Route {
        if let Target::Via(hops) = &mut self.target {
            hops.sort();
        }
        self
    }

    /// The kernel's `installed` route is this one: same key and target,
    /// where a next hop given without an interface matches the interface
    /// the kernel resolved its gateway to. Both normalized.
    pub fn matches_kernel(&self, installed: &Route) -> bool {
        if self.key() != installed.key() {
            return false;
        }
        match (&self.target, &installed.target) {
            (Target::Blackhole, Target::Blackhole) => true,
            (Target::Via(want), Target::Via(got)) => {
                want.len() == got.len()
                    && want.iter().zip(got).all(|(w, g)| {
                        w.gateway == g.gateway
                            && w.weight == g.weight
                            && w.onlink == g.onlink
                            && (w.ifindex.is_none() || w.ifindex == g.ifindex)
                    })
            }
            _ => false,
        }
    }

    fn check(&self) -> Result<(), FibError> {
        let invalid = |why: &'static str| Err(FibError::Invalid { route: self.dst.to_string(), why });
        if self.dst.network() != self.dst.ip() {
            return invalid("host bits set in the destination");
        }
        if let Target::Via(hops) = &self.target {
            if hops.is_empty() {
                return invalid("no next hop");
            }
            for h in hops {
                if h.gateway.is_none() && h.ifindex.is_none() {
                    return invalid("a next hop needs a gateway or an interface");
                }
                if !(1..=256).contains(&h.weight) {
                    return invalid("next-hop weight must be 1 to 256");
                }
                if h.onlink && h.ifindex.is_none() {
                    return invalid("an onlink next hop needs an interface");
                }
                if matches!(h.gateway, Some(IpAddr::V4(_))) && self.dst.is_ipv6() {
                    return invalid("an IPv6 route cannot have an IPv4 gateway");
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} table {} metric {}", self.dst, self.table, self.metric)?;
        match &self.target {
            Target::Blackhole => write!(f, " blackhole"),
            Target::Via(hops) => hops.iter().try_for_each(|h| {
                if let Some(g) = h.gateway {
                    write!(f, " via {g}")?;
                }
                if let Some(i) = h.ifindex {
                    write!(f, " dev #{i}")?;
                }
                if h.onlink {
                    write!(f, " onlink")?;
                }
                if hops.len() > 1 {
                    write!(f, " weight {}", h.weight)?;
                }
                Ok(())
            }),
        }
    }
}

/// How the kernel reaches an address: the route it would use (next-hop
/// resolution for BGP: the covering route's metric is the IGP cost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The covering route's destination.
    pub route: IpNetwork,
    pub table: u32,
    pub metric: u32,
    /// The covering route's protocol number (2 kernel, 4 static, ...).
    pub protocol: u8,
    /// Where it sends packets: one hop without a gateway for a connected
    /// route; empty for an address of this host.
    pub next_hops: Vec<NextHop>,
}

impl Resolution {
    /// Packets to the address would be forwarded.
    pub fn usable(&self) -> bool {
        !self.next_hops.is_empty()
    }
}

/// One change for [`Fib::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Install the route, or replace the one with the same key in place
    /// (no delete/add gap).
    Replace(Route),
    /// Remove the route; a route that is not there is not an error.
    Delete(RouteKey),
}

impl Change {
    /// The key of the route it changes.
    pub fn key(&self) -> RouteKey {
        match self {
            Change::Replace(r) => r.key(),
            Change::Delete(k) => *k,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FibError {
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("the kernel refused {what}: {message}")]
    Kernel { what: String, errno: i32, message: String },
    #[error("invalid route {route}: {why}")]
    Invalid { route: String, why: &'static str },
    #[error("netlink: {0}")]
    Protocol(String),
}

/// What [`Dataplane::reconcile`] found and did.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Wanted and already right.
    pub kept: usize,
    /// Missing or different, installed.
    pub installed: usize,
    /// Ours in the kernel but no longer wanted, removed.
    pub removed: usize,
    /// Changes the kernel refused, with the route's key.
    pub failed: Vec<(RouteKey, FibError)>,
}

/// A netlink connection to one network namespace's kernel tables.
pub struct Fib {
    nl: Netlink,
    protocol: u8,
    /// Our nexthop objects; `None` where the kernel has none (before 5.3):
    /// next hops then go inline in each route.
    objects: Option<nexthop::Registry>,
}

impl Fib {
    /// Connect in the current network namespace; routes are installed
    /// and recognised by `protocol`.
    pub fn open(protocol: u8) -> Result<Fib, FibError> {
        Fib::with(Netlink::open()?, protocol)
    }

    /// Connect in the named network namespace (`ip netns add NAME`).
    pub fn open_in_netns(name: &str, protocol: u8) -> Result<Fib, FibError> {
        Fib::with(netns::run_in(name, Netlink::open)??, protocol)
    }

    fn with(mut nl: Netlink, protocol: u8) -> Result<Fib, FibError> {
        let objects = match nl.dump(&nexthop::dump_request(), |m| Ok(nexthop::parse(m))) {
            Ok(found) => {
                let mut r = nexthop::Registry::default();
                r.load(found, protocol);
                Some(r)
            }
            Err(FibError::Kernel { errno: libc::EOPNOTSUPP | libc::EINVAL, .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(Fib { nl, protocol, objects })
    }

    /// The netlink port id of the socket changes go through (see
    /// [`Watcher::ignore_port`]).
    pub fn port_id(&self) -> Result<u32, FibError> {
        Ok(self.nl.port_id()?)
    }

    /// Whether next hops go in shared nexthop objects (else inline).
    pub fn uses_nexthop_objects(&self) -> bool {
        self.objects.is_some()
    }

    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    /// Send every change; the result of each, in order. Many changes go
    /// in one system call; a refused one does not stop the others.
    /// Next hops with an interface go in shared nexthop objects, made
    /// first when new; next hops without one go inline.
    pub fn apply(&mut self, changes: &[Change]) -> Vec<Result<(), FibError>> {
        // Checked once; the nexthop object of each valid route (`None`:
        // inline), with the objects still to make.
        let mut create = Vec::new();
        let planned: Vec<Result<Option<u32>, FibError>> = changes
            .iter()
            .map(|c| match c {
                Change::Replace(r) => r.check().map(|()| match (&r.target, self.objects.as_mut()) {
                    (Target::Via(hops), Some(objects)) => objects.id_for(hops, self.protocol, &mut create),
                    _ => None,
                }),
                Change::Delete(_) => Ok(None),
            })
            .collect();
        if !create.is_empty() {
            let requests: Vec<Vec<u8>> = create.iter().map(|(_, r)| r.clone()).collect();
            for ((id, _), r) in create.iter().zip(self.nl.transact(&requests)) {
                if r.is_err()
                    && let Some(o) = self.objects.as_mut()
                {
                    o.forget(*id);
                }
            }
        }
        let mut out: Vec<Result<(), FibError>> = Vec::with_capacity(changes.len());
        let mut requests = Vec::with_capacity(changes.len());
        let mut at = Vec::with_capacity(changes.len());
        for (i, (c, plan)) in changes.iter().zip(planned).enumerate() {
            let req = plan.map(|nhid| match c {
                // A route whose object was refused (a group is refused
                // with its members) goes inline: the kernel then says
                // what is wrong with it.
                Change::Replace(r) => {
                    let nhid = nhid.filter(|id| self.objects.as_ref().is_some_and(|o| o.contains(*id)));
                    netlink::route_request(r, self.protocol, nhid)
                }
                Change::Delete(k) => netlink::delete_request(k, self.protocol),
            });
            match req {
                Ok(req) => {
                    requests.push(req);
                    at.push(i);
                    out.push(Ok(()));
                }
                Err(e) => out.push(Err(e)),
            }
        }
        for (j, result) in self.nl.transact(&requests).into_iter().enumerate() {
            let (Some(&i), Err(e)) = (at.get(j), result) else { continue };
            let e = match (changes.get(i), e) {
                // Deleting what is not there: already done.
                (Some(Change::Delete(_)), netlink::Refused { errno: libc::ESRCH, .. }) => continue,
                (Some(c), r) => r.into_error(describe(c)),
                (None, r) => r.into_error(String::new()),
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = Err(e);
            }
        }
        out
    }

    /// The routes carrying our protocol number, in `table` or in all
    /// tables, next hops normalized (a route by a nexthop object that is
    /// not ours comes back with no next hops).
    pub fn routes(&mut self, table: Option<u32>) -> Result<Vec<Route>, FibError> {
        let all = self.nl.dump_routes()?;
        let objects = self.objects.as_ref();
        Ok(all
            .into_iter()
            .filter(|r| r.protocol == self.protocol && table.is_none_or(|t| r.route.table == t))
            .map(|mut d| {
                if let Some(id) = d.nhid {
                    d.route.target = Target::Via(objects.and_then(|o| o.hops_of(id)).unwrap_or_default());
                }
                d.route.normalized()
            })
            .collect())
    }

    /// The route the kernel's main table uses for `addr`; `None` when it
    /// would not forward to it (no route, or a blackhole, unreachable or
    /// prohibit route: the kernel does not say which).
    pub fn resolve(&mut self, addr: IpAddr) -> Result<Option<Resolution>, FibError> {
        let Some(d) = self.nl.lookup(addr)? else { return Ok(None) };
        let next_hops = match (d.nhid, d.route.target) {
            (Some(id), _) => self.object_hops(id)?,
            (None, Target::Via(hops)) => hops,
            (None, Target::Blackhole) => Vec::new(),
        };
        Ok(Some(Resolution {
            route: d.route.dst,
            table: d.route.table,
            metric: d.route.metric,
            protocol: d.protocol,
            next_hops,
        }))
    }

    /// The next hops of nexthop object `id`: ours from the registry,
    /// another's (zebra's) asked of the kernel.
    fn object_hops(&mut self, id: u32) -> Result<Vec<NextHop>, FibError> {
        if let Some(h) = self.objects.as_ref().and_then(|o| o.hops_of(id)) {
            return Ok(h);
        }
        let fetch = |nl: &mut Netlink, id: u32| -> Result<Option<nexthop::Object>, FibError> {
            Ok(match nl.request(&nexthop::get_request(id))? {
                Ok(bytes) => nexthop::parse(&bytes).map(|d| d.object),
                Err(_) => None,
            })
        };
        let hop = |o: nexthop::Object, weight: u16| match o {
            nexthop::Object::Hop { gateway, ifindex, onlink } => {
                Some(NextHop { gateway, ifindex: Some(ifindex), onlink, weight })
            }
            _ => None,
        };
        Ok(match fetch(&mut self.nl, id)? {
            Some(nexthop::Object::Group(members)) => {
                let mut hops = Vec::with_capacity(members.len());
                for (m, w) in members {
                    hops.extend(fetch(&mut self.nl, m)?.and_then(|o| hop(o, w)));
                }
                hops
            }
            Some(o) => hop(o, 1).into_iter().collect(),
            None => Vec::new(),
        })
    }

    /// Read our nexthop objects back from the kernel. The kernel deletes
    /// the objects of an interface that goes down (with the routes using
    /// them) and takes them out of their groups: after a link went down, or
    /// events were lost, this makes routes installed next use objects that
    /// exist.
    pub fn reload_nexthops(&mut self) -> Result<(), FibError> {
        if self.objects.is_none() {
            return Ok(());
        }
        let found = self.nl.dump(&nexthop::dump_request(), |m| Ok(nexthop::parse(m)))?;
        let mut r = nexthop::Registry::default();
        r.load(found, self.protocol);
        self.objects = Some(r);
        Ok(())
    }

    /// Remove our nexthop objects that no route uses any more. How many.
    pub fn collect_nexthops(&mut self) -> Result<usize, FibError> {
        let Some(objects) = self.objects.as_ref().filter(|o| !o.is_empty()) else { return Ok(0) };
        let used: std::collections::HashSet<u32> =
            self.nl.dump_routes()?.into_iter().filter_map(|d| d.nhid).collect();
        let unused = objects.unused(&used);
        let requests: Vec<Vec<u8>> = unused.iter().map(|&id| nexthop::delete_request(id)).collect();
        let mut removed = 0;
        for (id, r) in unused.iter().zip(self.nl.transact(&requests)) {
            if r.is_ok() {
                removed += 1;
            }
            if let Some(o) = self.objects.as_mut() {
                o.forget(*id);
            }
        }
        Ok(removed)
    }

    /// The index of the interface called `name`, if there is one.
    /// Every address of the host's interfaces (in this namespace).
    pub fn addresses(&mut self) -> Result<Vec<HostAddress>, FibError> {
        self.nl.dump_addresses()
    }

    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, FibError> {
        self.nl.link_index(name)
    }

    /// Add `addr` to interface `ifindex`; already there is not an error.
    pub fn add_address(&mut self, ifindex: u32, addr: IpNetwork) -> Result<(), FibError> {
        let req = netlink::address_request(ifindex, addr, true);
        let what = format!("adding address {addr}");
        self.nl.transact(&[req]).into_iter().try_for_each(|r| r.map_err(|e| e.into_error(what.clone())))
    }

    /// Remove `addr` from interface `ifindex`; not there is not an error.
    pub fn remove_address(&mut self, ifindex: u32, addr: IpNetwork) -> Result<(), FibError> {
        let req = netlink::address_request(ifindex, addr, false);
        let what = format!("removing address {addr}");
        self.nl.transact(&[req]).into_iter().try_for_each(|r| match r {
            Err(netlink::Refused { errno: libc::EADDRNOTAVAIL, .. }) => Ok(()),
            r => r.map_err(|e| e.into_error(what.clone())),
        })
    }
}

impl Dataplane for Fib {
    fn apply(&mut self, changes: &[Change]) -> Vec<Result<(), FibError>> {
        Fib::apply(self, changes)
    }

    fn routes(&mut self, table: Option<u32>) -> Result<Vec<Route>, FibError> {
        Fib::routes(self, table)
    }

    fn resolve(&mut self, addr: IpAddr) -> Result<Option<Resolution>, FibError> {
        Fib::resolve(self, addr)
    }

    fn reload_nexthops(&mut self) -> Result<(), FibError> {
        Fib::reload_nexthops(self)
    }

    fn collect_nexthops(&mut self) -> Result<usize, FibError> {
        Fib::collect_nexthops(self)
    }
}

fn describe(c: &Change) -> String {
    match c {
        Change::Replace(r) => format!("route {r}"),
        Change::Delete(k) => format!("removing route {} table {} metric {}", k.dst, k.table, k.metric),
    }
}
