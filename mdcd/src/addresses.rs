//! Our own addresses as next hops: which IPv6 addresses of the interface a
//! session runs over we give to the peer (RFC 2545 §3), as FRR does: the
//! global one, and the link-local one as the second next hop when the peer
//! shares the link. Pure rules over the kernel's address list
//! ([`mdc_fib::host_addresses`]), and the lookup the speaker calls when a
//! session comes up.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use mdc_bgp::speaker::InterfaceAddresses;
use mdc_fib::HostAddress;

/// The global and the link-local IPv6 address of the interface that holds
/// `local`, each if it has a usable one. A global address is preferred
/// over a unique local one (fc00::/7), and either over none.
pub fn interface_ipv6(addresses: &[HostAddress], local: IpAddr) -> (Option<Ipv6Addr>, Option<Ipv6Addr>) {
    let Some(ifindex) = addresses.iter().find(|a| a.addr.ip() == local).map(|a| a.ifindex) else {
        return (None, None);
    };
    let v6 = || {
        addresses.iter().filter(move |a| a.ifindex == ifindex && a.usable).filter_map(|a| match a.addr.ip() {
            IpAddr::V6(ip) => Some(ip),
            IpAddr::V4(_) => None,
        })
    };
    let unicast = |a: &Ipv6Addr| !a.is_unspecified() && !a.is_loopback() && !a.is_multicast();
    let usable_global =
        |a: &Ipv6Addr| unicast(a) && !a.is_unicast_link_local() && a.to_ipv4_mapped().is_none();
    let global =
        v6().filter(usable_global).find(|a| !a.is_unique_local()).or_else(|| v6().find(usable_global));
    let link_local = v6().find(Ipv6Addr::is_unicast_link_local);
    (global, link_local)
}

/// The lookup for [`mdc_bgp::speaker::Ipv6NextHop::interface`]: the
/// kernel's addresses, read when a session comes up (a failed read gives
/// none, and the speaker falls back to the session's own address).
pub fn interface_lookup() -> InterfaceAddresses {
    Arc::new(|local: IpAddr| match mdc_fib::host_addresses() {
        Ok(addresses) => interface_ipv6(&addresses, local),
        Err(e) => {
            tracing::warn!("cannot read the interface addresses for the IPv6 next hop: {e}");
            (None, None)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ifindex: u32, s: &str, usable: bool) -> HostAddress {
        HostAddress { ifindex, addr: s.parse().unwrap(), usable }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_interface_of_the_session_gives_its_global_and_link_local_address() {
        let host = [
            addr(1, "127.0.0.1/8", true),
            addr(1, "::1/128", true),
            addr(2, "192.0.2.1/24", true),
            addr(2, "fd00::1/64", true),
            addr(2, "2001:db8:1::1/64", true),
            addr(2, "fe80::1/64", true),
            addr(3, "198.51.100.1/24", true),
            addr(3, "2001:db8:2::1/64", false), // tentative
            addr(3, "fe80::3/64", true),
            addr(4, "203.0.113.1/24", true),
            addr(4, "fd00:4::1/64", true),
        ];
        let want = |g: Option<&str>, l: Option<&str>| {
            (g.map(|s| s.parse::<Ipv6Addr>().unwrap()), l.map(|s| s.parse::<Ipv6Addr>().unwrap()))
        };
        // A global address before a unique local one, and the link-local.
        assert_eq!(interface_ipv6(&host, ip("192.0.2.1")), want(Some("2001:db8:1::1"), Some("fe80::1")));
        // An IPv6 session's own interface likewise.
        assert_eq!(interface_ipv6(&host, ip("2001:db8:1::1")), want(Some("2001:db8:1::1"), Some("fe80::1")));
        // An address still in duplicate address detection is not given out.
        assert_eq!(interface_ipv6(&host, ip("198.51.100.1")), want(None, Some("fe80::3")));
        // A unique local address when there is nothing better.
        assert_eq!(interface_ipv6(&host, ip("203.0.113.1")), want(Some("fd00:4::1"), None));
        // Not ours: nothing.
        assert_eq!(interface_ipv6(&host, ip("192.0.2.99")), want(None, None));
    }

    /// The lookup reads this namespace's addresses: loopback has ::1 only,
    /// which is never a next hop.
    #[test]
    fn the_lookup_reads_the_kernel() {
        let lookup = interface_lookup();
        assert_eq!(lookup(ip("127.0.0.1")), (None, None));
        let host = mdc_fib::host_addresses().unwrap();
        assert!(host.iter().any(|a| a.addr.ip() == ip("127.0.0.1")), "{host:?}");
    }
}
