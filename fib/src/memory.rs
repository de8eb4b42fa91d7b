//! [`MemoryDataplane`]: a kernel in memory, for tests of the logic above
//! [`Dataplane`] without root.
//!
//! It keeps what the kernel keeps for mdc (our routes by key, the main
//! table's other routes, this host's addresses, links up or down) and
//! answers as the kernel does where the logic depends on it: next hops
//! resolve by longest prefix match in the main table, a local address
//! resolves with no next hops, a blackhole does not resolve, a link that
//! goes down takes the routes through it along, deleting a route that is
//! not there is no error. The test drives the kernel's side (a link goes
//! down, someone deletes a route) and gets the events the real watcher
//! would report.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::{
    Change, Dataplane, Event, FibError, IpNetwork, MAIN_TABLE, NextHop, Resolution, Route, RouteKey, Target,
};

/// `RTPROT_KERNEL`: connected routes.
const KERNEL: u8 = 2;
/// `RTPROT_STATIC`: routes an administrator added.
const STATIC: u8 = 4;

/// An in-memory kernel (see the module doc).
#[derive(Debug, Clone)]
pub struct MemoryDataplane {
    protocol: u8,
    ours: BTreeMap<RouteKey, Route>,
    /// Main-table routes of other protocols, with their protocol.
    others: Vec<(Route, u8)>,
    /// This host's addresses and their interfaces.
    addresses: Vec<(u32, IpNetwork)>,
    down: BTreeSet<u32>,
    /// Destinations the kernel refuses routes for.
    refused: BTreeSet<IpNetwork>,
    /// `apply` calls and the changes they carried.
    calls: usize,
    changes: usize,
}

impl MemoryDataplane {
    /// An empty kernel whose routes of protocol `protocol` are ours.
    pub fn new(protocol: u8) -> MemoryDataplane {
        MemoryDataplane {
            protocol,
            ours: BTreeMap::new(),
            others: Vec::new(),
            addresses: Vec::new(),
            down: BTreeSet::new(),
            refused: BTreeSet::new(),
            calls: 0,
            changes: 0,
        }
    }

    /// An address on interface `ifindex` (`ip addr add`): the address is
    /// local, its network connected.
    pub fn add_address(&mut self, ifindex: u32, addr: IpNetwork) -> Vec<Event> {
        self.addresses.push((ifindex, addr));
        if let Ok(net) = IpNetwork::new(addr.network(), addr.prefix()) {
            let metric = if net.is_ipv6() { 256 } else { 0 };
            self.others.push((
                Route {
                    dst: net,
                    table: MAIN_TABLE,
                    metric,
                    target: Target::Via(vec![NextHop::device(ifindex)]),
                },
                KERNEL,
            ));
        }
        vec![Event::AddressAdded { ifindex, addr }]
    }

    /// A static route in the main table (`ip route add DST via GW metric M`).
    pub fn add_static(&mut self, dst: IpNetwork, hops: Vec<NextHop>, metric: u32) -> Vec<Event> {
        self.add_other(Route { dst, table: MAIN_TABLE, metric, target: Target::Via(hops) }, STATIC)
    }

    /// Another protocol's route (a blackhole, a default route, a CNI's pod
    /// route...).
    pub fn add_other(&mut self, route: Route, protocol: u8) -> Vec<Event> {
        self.others.retain(|(r, _)| r.key() != route.key());
        let event = Event::OtherRoute { table: route.table, dst: route.dst };
        self.others.push((route, protocol));
        vec![event]
    }

    /// Remove other protocols' routes to `dst`.
    pub fn remove_other(&mut self, dst: IpNetwork) -> Vec<Event> {
        let before = self.others.len();
        self.others.retain(|(r, _)| r.dst != dst);
        if before == self.others.len() {
            Vec::new()
        } else {
            vec![Event::OtherRoute { table: MAIN_TABLE, dst }]
        }
    }

    /// The link loses carrier: the kernel drops the next hops through it
    /// (our routes lose them; a route left with none is gone) and no
    /// longer resolves through its routes.
    pub fn link_down(&mut self, ifindex: u32) -> Vec<Event> {
        self.down.insert(ifindex);
        self.ours.retain(|_, r| {
            if let Target::Via(hops) = &mut r.target {
                hops.retain(|h| h.ifindex != Some(ifindex));
                return !hops.is_empty();
            }
            true
        });
        vec![Event::LinkDown { ifindex, name: format!("if{ifindex}") }]
    }

    pub fn link_up(&mut self, ifindex: u32) -> Vec<Event> {
        self.down.remove(&ifindex);
        vec![Event::LinkUp { ifindex, name: format!("if{ifindex}") }]
    }

    /// Someone deletes one of our routes (`ip route del`).
    pub fn delete_by_hand(&mut self, key: RouteKey) -> Vec<Event> {
        self.ours.remove(&key).map(Event::RouteRemoved).into_iter().collect()
    }

    /// A route of ours left by an earlier run (or added by hand with our
    /// protocol).
    pub fn put_ours(&mut self, route: Route) {
        self.ours.insert(route.key(), route.normalized());
    }

    /// From now on the kernel refuses routes to `dst`.
    pub fn refuse(&mut self, dst: IpNetwork) {
        self.refused.insert(dst);
    }

    /// Our route with `key`, as installed.
    pub fn route(&self, key: &RouteKey) -> Option<&Route> {
        self.ours.get(key)
    }

    /// Every route of ours, in key order.
    pub fn installed(&self) -> Vec<Route> {
        self.ours.values().cloned().collect()
    }

    /// How many `apply` calls were made, and how many changes they carried.
    pub fn applied(&self) -> (usize, usize) {
        (self.calls, self.changes)
    }

    fn usable(&self, r: &Route) -> bool {
        match &r.target {
            Target::Blackhole => true,
            Target::Via(hops) => hops.iter().any(|h| h.ifindex.is_none_or(|i| !self.down.contains(&i))),
        }
    }
}

impl Dataplane for MemoryDataplane {
    fn apply(&mut self, changes: &[Change]) -> Vec<Result<(), FibError>> {
        self.calls += 1;
        self.changes += changes.len();
        changes
            .iter()
            .map(|c| {
                let key = c.key();
                if self.refused.contains(&key.dst) {
                    return Err(FibError::Kernel {
                        what: format!("route {}", key.dst),
                        errno: libc::EINVAL,
                        message: "refused by the test".into(),
                    });
                }
                match c {
                    Change::Replace(r) => {
                        r.check()?;
                        self.ours.insert(key, r.clone().normalized());
                    }
                    Change::Delete(k) => {
                        self.ours.remove(k);
                    }
                }
                Ok(())
            })
            .collect()
    }

    fn routes(&mut self, table: Option<u32>) -> Result<Vec<Route>, FibError> {
        Ok(self.ours.values().filter(|r| table.is_none_or(|t| r.table == t)).cloned().collect())
    }

    fn resolve(&mut self, addr: IpAddr) -> Result<Option<Resolution>, FibError> {
        if let Some((_, a)) = self.addresses.iter().find(|(_, a)| a.ip() == addr) {
            let host = IpNetwork::from(a.ip());
            return Ok(Some(Resolution {
                route: host,
                table: 255,
                metric: 0,
                protocol: KERNEL,
                next_hops: Vec::new(),
            }));
        }
        let ours = self.ours.values().filter(|r| r.table == MAIN_TABLE).map(|r| (r, self.protocol));
        let others = self.others.iter().map(|(r, p)| (r, *p));
        let best = ours
            .chain(others)
            .filter(|(r, _)| r.dst.is_ipv4() == addr.is_ipv4() && r.dst.contains(addr) && self.usable(r))
            .min_by_key(|(r, _)| (std::cmp::Reverse(r.dst.prefix()), r.metric));
        Ok(best.and_then(|(r, protocol)| match &r.target {
            Target::Blackhole => None,
            Target::Via(hops) => Some(Resolution {
                route: r.dst,
                table: r.table,
                metric: r.metric,
                protocol,
                next_hops: hops
                    .iter()
                    .filter(|h| h.ifindex.is_none_or(|i| !self.down.contains(&i)))
                    .cloned()
                    .collect(),
            }),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn resolves_as_the_kernel_does() {
        let mut k = MemoryDataplane::new(210);
        k.add_address(2, net("192.0.2.1/24"));
        k.add_static(net("198.51.100.0/24"), vec![NextHop::gateway("192.0.2.9".parse().unwrap()).on(2)], 10);
        k.add_other(
            Route { dst: net("203.0.113.0/24"), table: MAIN_TABLE, metric: 0, target: Target::Blackhole },
            3,
        );

        let r = k.resolve("192.0.2.7".parse().unwrap()).unwrap().unwrap();
        assert_eq!(
            (r.route, r.protocol, r.next_hops.clone()),
            (net("192.0.2.0/24"), KERNEL, vec![NextHop::device(2)])
        );
        let r = k.resolve("198.51.100.5".parse().unwrap()).unwrap().unwrap();
        assert_eq!((r.route, r.metric), (net("198.51.100.0/24"), 10));
        assert!(k.resolve("203.0.113.1".parse().unwrap()).unwrap().is_none(), "a blackhole does not forward");
        assert!(k.resolve("10.0.0.1".parse().unwrap()).unwrap().is_none(), "no route");
        let local = k.resolve("192.0.2.1".parse().unwrap()).unwrap().unwrap();
        assert!(!local.usable(), "a local address is not forwarded");

        k.link_down(2);
        assert!(k.resolve("192.0.2.7".parse().unwrap()).unwrap().is_none(), "the link is down");
        k.link_up(2);
        assert!(k.resolve("192.0.2.7".parse().unwrap()).unwrap().is_some());
    }

    #[test]
    fn reconcile_through_the_trait_changes_only_the_difference() {
        let mut k = MemoryDataplane::new(210);
        let route = |dst: &str, gw: &str| Route {
            dst: net(dst),
            table: 100,
            metric: 20,
            target: Target::Via(vec![NextHop::gateway(gw.parse().unwrap())]),
        };
        k.put_ours(route("198.51.100.0/24", "192.0.2.1"));
        k.put_ours(route("203.0.113.0/24", "192.0.2.1"));
        let desired = [route("198.51.100.0/24", "192.0.2.1"), route("192.0.2.0/25", "198.51.100.1")];
        let r = k.reconcile(100, &desired).unwrap();
        assert_eq!((r.kept, r.installed, r.removed, r.failed.len()), (1, 1, 1, 0));
        assert_eq!(k.installed(), vec![desired[1].clone(), desired[0].clone()]);
        assert_eq!(k.applied(), (1, 2), "one batch: the put and the removal");
        let r = k.reconcile(100, &desired).unwrap();
        assert_eq!((r.kept, r.installed, r.removed), (2, 0, 0));

        k.refuse(net("203.0.113.0/24"));
        let r = k.reconcile(100, &[route("203.0.113.0/24", "192.0.2.1")]).unwrap();
        assert_eq!((r.installed, r.removed, r.failed.len()), (0, 2, 1));
    }
}
