//! Unnumbered peering: find the BGP neighbour on an interface by its IPv6
//! router advertisements, and advertise ourselves the same way, as FRR does
//! for `neighbor IFNAME interface`.
//!
//! We send a router advertisement with router lifetime 0 (we are nobody's
//! default router) to all-nodes every few seconds; the peer learns our
//! link-local address from it, and we learn the peer's from its own
//! advertisements. The session then runs between the two link-local
//! addresses, with RFC 8950 next hops for IPv4 routes.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// ICMPv6 router advertisement (RFC 4861 §4.2): type 134, code 0,
/// checksum (the kernel fills it), hop limit, flags, router lifetime 0,
/// reachable time, retransmit timer.
const ROUTER_ADVERTISEMENT: [u8; 16] = [134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// How often we advertise ourselves.
pub const ADVERTISE_EVERY: Duration = Duration::from_secs(3);

/// A raw ICMPv6 socket on one interface (driven through `UdpSocket`'s
/// datagram calls, which work on any datagram-like descriptor).
pub struct RouterAdvertiser {
    socket: std::net::UdpSocket,
    ifindex: u32,
}

impl RouterAdvertiser {
    pub fn open(interface: &str) -> io::Result<RouterAdvertiser> {
        let ifindex = mdc_bgp::speaker::socket::interface_index(interface)?;
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        socket.bind_device(Some(interface.as_bytes()))?;
        // Receivers accept neighbour discovery only with hop limit 255.
        socket.set_multicast_hops_v6(255)?;
        socket.set_unicast_hops_v6(255)?;
        socket.set_read_timeout(Some(Duration::from_millis(200)))?;
        // Do not hear our own advertisements.
        socket.set_multicast_loop_v6(false)?;
        Ok(RouterAdvertiser { socket: socket.into(), ifindex })
    }

    /// Advertise ourselves to all nodes on the link.
    pub fn advertise(&self) -> io::Result<()> {
        let to = SocketAddr::V6(SocketAddrV6::new(ALL_NODES, 0, 0, self.ifindex));
        self.socket.send_to(&ROUTER_ADVERTISEMENT, to).map(|_| ())
    }

    /// The source of the next router advertisement from another node
    /// (not one of `ours`), within `wait`.
    pub fn next_advertiser(&self, wait: Duration, ours: &[Ipv6Addr]) -> io::Result<Option<Ipv6Addr>> {
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            match self.socket.recv_from(&mut buf) {
                Ok((n, SocketAddr::V6(src))) => {
                    let is_ra = n > 0 && buf.first() == Some(&134);
                    if is_ra && src.ip().is_unicast_link_local() && !ours.contains(src.ip()) {
                        return Ok(Some(*src.ip()));
                    }
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// Advertise ourselves on `interface` for as long as the process runs and
/// report the first other router heard there (its link-local address and
/// the interface index) on `found`.
pub fn run(interface: String, found: tokio::sync::oneshot::Sender<io::Result<(Ipv6Addr, u32)>>) {
    let ra = match RouterAdvertiser::open(&interface) {
        Ok(ra) => ra,
        Err(e) => {
            let _ = found.send(Err(io::Error::new(e.kind(), format!("interface {interface}: {e}"))));
            return;
        }
    };
    let mut found = Some(found);
    loop {
        if let Err(e) = ra.advertise() {
            tracing::warn!(%interface, "cannot send a router advertisement: {e}");
        }
        let heard = ra.next_advertiser(ADVERTISE_EVERY, &[]);
        match (heard, found.take()) {
            (Ok(Some(ll)), Some(tx)) => {
                let _ = tx.send(Ok((ll, ra.ifindex)));
            }
            (Err(e), Some(tx)) => {
                let _ = tx.send(Err(e));
                return;
            }
            (_, pending) => found = pending,
        }
    }
}
