//! Next-hop resolution rules: how a BGP next hop is reached through the
//! kernel's main table, decided from the kernel's answer ([`Resolution`])
//! alone. Pure: the caller asks the kernel ([`mdc_fib::Dataplane::resolve`])
//! and passes the answer in.
//!
//! - A next hop on a connected network is a gateway on that interface, at
//!   IGP cost 0 (for several connected routes, one hop per interface).
//! - A next hop reached through another route (iBGP, recursive) takes that
//!   route's own next hops, and the route's metric is the IGP cost (RFC
//!   4271 §9.1.2.2 d), as zebra does.
//! - A default route never resolves a next hop (FRR without `ip nht
//!   resolve-via-default`), nor does one of our own routes (a BGP route
//!   cannot carry its own next hop), nor a local address (a next hop of
//!   this host), nor a route that does not forward.
//! - A link-local IPv6 next hop (an unnumbered peer's, RFC 8950) resolves
//!   only on the interface its peer was found on: the kernel cannot tell
//!   which link a link-local address is on.

use std::net::IpAddr;

use mdc_fib::{IpNetwork, NextHop, Resolution};

/// How a BGP next hop is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `None`: unreachable; else the IGP cost.
    pub reach: Option<u32>,
    /// The kernel next hops that reach it.
    pub hops: Vec<NextHop>,
    /// The kernel route it resolved through (or would have, when that
    /// route may not resolve a next hop).
    pub via: Option<IpNetwork>,
}

impl Resolved {
    pub const UNREACHABLE: Resolved = Resolved { reach: None, hops: Vec::new(), via: None };

    /// Resolves through `ifindex`.
    pub fn uses_link(&self, ifindex: u32) -> bool {
        self.hops.iter().any(|h| h.ifindex == Some(ifindex))
    }
}

/// A link-local next hop `nh`, given the interface its peer is on (if
/// known).
pub fn link_local(nh: IpAddr, ifindex: Option<u32>) -> Resolved {
    match ifindex {
        Some(i) => Resolved { reach: Some(0), hops: vec![NextHop::gateway(nh).on(i)], via: None },
        None => Resolved::UNREACHABLE,
    }
}

/// `nh` is an IPv6 link-local address (resolved by [`link_local`]).
pub fn is_link_local(nh: IpAddr) -> bool {
    matches!(nh, IpAddr::V6(v6) if v6.is_unicast_link_local())
}

/// BGP next hop `nh` given the kernel's route for it (`None`: the kernel
/// would not forward to it); `protocol` is our routes' protocol number.
pub fn resolve(nh: IpAddr, kernel: Option<&Resolution>, protocol: u8) -> Resolved {
    let Some(r) = kernel else { return Resolved::UNREACHABLE };
    if !r.usable() || r.route.prefix() == 0 || r.protocol == protocol {
        return Resolved { via: Some(r.route), ..Resolved::UNREACHABLE };
    }
    let connected = r.next_hops.iter().all(|h| h.gateway.is_none());
    let hops: Vec<NextHop> = if connected {
        r.next_hops.iter().filter_map(|h| h.ifindex).map(|i| NextHop::gateway(nh).on(i)).collect()
    } else {
        // The covering route's weights are its own: each of its hops
        // carries the BGP route once.
        r.next_hops.iter().map(|h| NextHop { weight: 1, ..h.clone() }).collect()
    };
    if hops.is_empty() {
        return Resolved { via: Some(r.route), ..Resolved::UNREACHABLE };
    }
    Resolved { reach: Some(if connected { 0 } else { r.metric }), hops, via: Some(r.route) }
}

/// A kernel route to `dst` covers one of `next_hops`: its change can change
/// how they resolve (a route that covers none, such as a CNI's pod route,
/// cannot).
pub fn covers_any<'a>(dst: &IpNetwork, mut next_hops: impl Iterator<Item = &'a IpAddr>) -> bool {
    next_hops.any(|nh| dst.contains(*nh))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: u8 = 210;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn route(dst: &str, metric: u32, protocol: u8, next_hops: Vec<NextHop>) -> Resolution {
        Resolution { route: net(dst), table: 254, metric, protocol, next_hops }
    }

    #[test]
    fn a_connected_next_hop_is_a_gateway_on_its_link_at_cost_zero() {
        let k = route("192.0.2.0/24", 0, 2, vec![NextHop::device(3)]);
        let r = resolve(ip("192.0.2.7"), Some(&k), OURS);
        assert_eq!(r.reach, Some(0));
        assert_eq!(r.hops, vec![NextHop::gateway(ip("192.0.2.7")).on(3)]);
        assert_eq!(r.via, Some(net("192.0.2.0/24")));
        assert!(r.uses_link(3) && !r.uses_link(4));
    }

    #[test]
    fn a_recursive_next_hop_takes_the_covering_routes_hops_and_its_metric_as_igp_cost() {
        let mut a = NextHop::gateway(ip("198.51.100.1")).on(3);
        a.weight = 5;
        let b = NextHop::gateway(ip("198.51.100.2")).on(4);
        let k = route("203.0.113.0/24", 30, 4, vec![a.clone(), b.clone()]);
        let r = resolve(ip("203.0.113.9"), Some(&k), OURS);
        assert_eq!(r.reach, Some(30));
        assert_eq!(r.hops, vec![NextHop { weight: 1, ..a }, b], "weights of the static route are not ours");
    }

    #[test]
    fn what_never_resolves_a_next_hop() {
        let nh = ip("203.0.113.9");
        let default = route("0.0.0.0/0", 0, 4, vec![NextHop::gateway(ip("192.0.2.1")).on(3)]);
        let r = resolve(nh, Some(&default), OURS);
        assert_eq!(r.reach, None, "a default route");
        assert_eq!(r.via, Some(net("0.0.0.0/0")), "show fib says which route was refused");
        let v6_default = route("::/0", 0, 4, vec![NextHop::gateway(ip("2001:db8::1")).on(3)]);
        assert_eq!(resolve(ip("2001:db8:1::9"), Some(&v6_default), OURS).reach, None);

        let ours = route("203.0.113.0/24", 20, OURS, vec![NextHop::gateway(ip("192.0.2.1")).on(3)]);
        assert_eq!(
            resolve(nh, Some(&ours), OURS),
            Resolved { via: Some(net("203.0.113.0/24")), ..Resolved::UNREACHABLE }
        );

        let local = route("203.0.113.9/32", 0, 2, Vec::new());
        assert_eq!(resolve(nh, Some(&local), OURS).reach, None, "an address of this host");

        assert_eq!(resolve(nh, None, OURS), Resolved::UNREACHABLE, "no route, or one that does not forward");
    }

    #[test]
    fn a_link_local_next_hop_resolves_only_on_its_peers_interface() {
        let nh = ip("fe80::1");
        assert!(is_link_local(nh));
        assert!(!is_link_local(ip("2001:db8::1")) && !is_link_local(ip("192.0.2.1")));
        assert_eq!(link_local(nh, None), Resolved::UNREACHABLE);
        let r = link_local(nh, Some(9));
        assert_eq!((r.reach, r.hops), (Some(0), vec![NextHop::gateway(nh).on(9)]));
    }

    #[test]
    fn only_a_route_that_covers_a_next_hop_can_change_its_resolution() {
        let nh: Vec<IpAddr> = ["192.0.2.2", "2001:db8::2"].iter().map(|a| ip(a)).collect();
        assert!(covers_any(&net("192.0.2.0/26"), nh.iter()));
        assert!(covers_any(&net("192.0.2.2/32"), nh.iter()));
        assert!(covers_any(&net("2001:db8::/32"), nh.iter()));
        assert!(covers_any(&net("0.0.0.0/0"), nh.iter()), "a default route covers everything");
        assert!(!covers_any(&net("10.42.0.0/24"), nh.iter()), "a pod route");
        assert!(!covers_any(&net("192.0.2.64/26"), nh.iter()));
        assert!(!covers_any(&net("192.0.2.0/26"), [].iter()));
    }
}
