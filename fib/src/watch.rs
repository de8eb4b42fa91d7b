//! Kernel events: links going up and down, addresses, and our routes
//! removed by someone else. A [`Watcher`] is a netlink socket subscribed
//! to the rtnetlink groups; [`Watcher::wait`] blocks for the next events.
//!
//! The kernel drops events when a listener falls behind and then reports
//! ENOBUFS: the watcher turns that into [`Event::Resync`], after which
//! the caller reads the state again (`Fib::reconcile`) instead of trusting
//! what it missed.

use std::io;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::{FibError, IpNetwork, Route, netlink, netns};

const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;

/// Something the kernel changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A link is administratively up and has carrier (can forward).
    LinkUp {
        ifindex: u32,
        name: String,
    },
    /// A link went down or lost carrier. IPv4 routes through it are gone
    /// without a route event of their own.
    LinkDown {
        ifindex: u32,
        name: String,
    },
    /// A link was removed.
    LinkRemoved {
        ifindex: u32,
        name: String,
    },
    AddressAdded {
        ifindex: u32,
        addr: IpNetwork,
    },
    AddressRemoved {
        ifindex: u32,
        addr: IpNetwork,
    },
    /// A route with our protocol number appeared (or changed). A route
    /// by nexthop object comes with no next hops (`Fib::routes` resolves
    /// them).
    RouteAdded(Route),
    /// A route with our protocol number went away.
    RouteRemoved(Route),
    /// A route of another protocol was added, replaced or removed: what
    /// resolves through it (BGP next hops) may have changed.
    OtherRoute {
        table: u32,
        dst: IpNetwork,
    },
    /// Events were lost (the socket overflowed): read the state again.
    Resync,
}

pub struct Watcher {
    sock: Socket,
    protocol: u8,
    rx: Vec<u8>,
}

impl Watcher {
    /// Watch the current network namespace; route events are reported for
    /// routes carrying `protocol`.
    pub fn open(protocol: u8) -> Result<Watcher, FibError> {
        Ok(Watcher { sock: subscribe()?, protocol, rx: Vec::with_capacity(1 << 16) })
    }

    /// Watch the named network namespace.
    pub fn open_in_netns(name: &str, protocol: u8) -> Result<Watcher, FibError> {
        let sock = netns::run_in(name, subscribe)??;
        Ok(Watcher { sock, protocol, rx: Vec::with_capacity(1 << 16) })
    }

    /// The receive buffer: how many events may wait before the kernel
    /// drops them (and the watcher reports [`Event::Resync`]).
    pub fn set_buffer(&self, bytes: usize) -> Result<(), FibError> {
        self.sock.set_rx_buf_sz(bytes)?;
        Ok(())
    }

    /// Do not report what a [`crate::Fib`] changed itself: the kernel drops
    /// the notifications sent on behalf of netlink port `port` (see
    /// [`crate::Fib::port_id`]) before they reach this socket, so that a
    /// full table installed does not flood the watcher (FRR's zebra filters
    /// its own notifications the same way).
    pub fn ignore_port(&self, port: u32) -> Result<(), FibError> {
        Ok(attach_drop_port_filter(&self.sock, port)?)
    }

    /// Block until the kernel sends something; the events in it (possibly
    /// none that concern us).
    pub fn wait(&mut self) -> Result<Vec<Event>, FibError> {
        self.rx.clear();
        match self.sock.recv(&mut self.rx, 0) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(vec![Event::Resync]),
            Err(e) => return Err(e.into()),
        }
        let mut out = Vec::new();
        for m in netlink::Messages::new(&self.rx) {
            if let Ok(parsed) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(m.bytes)
                && let NetlinkPayload::InnerMessage(inner) = parsed.payload
            {
                out.extend(self.event(inner));
            }
        }
        Ok(out)
    }

    fn event(&self, m: RouteNetlinkMessage) -> Option<Event> {
        match m {
            RouteNetlinkMessage::NewLink(l) => {
                let (ifindex, name) = link(&l);
                let up =
                    l.header.flags.contains(LinkFlags::Up) && l.header.flags.contains(LinkFlags::LowerUp);
                Some(if up { Event::LinkUp { ifindex, name } } else { Event::LinkDown { ifindex, name } })
            }
            RouteNetlinkMessage::DelLink(l) => {
                let (ifindex, name) = link(&l);
                Some(Event::LinkRemoved { ifindex, name })
            }
            RouteNetlinkMessage::NewAddress(a) => {
                address(&a).map(|addr| Event::AddressAdded { ifindex: a.header.index, addr })
            }
            RouteNetlinkMessage::DelAddress(a) => {
                address(&a).map(|addr| Event::AddressRemoved { ifindex: a.header.index, addr })
            }
            RouteNetlinkMessage::NewRoute(r) => netlink::decode_route(&r).map(|d| {
                if d.protocol == self.protocol {
                    Event::RouteAdded(d.route)
                } else {
                    Event::OtherRoute { table: d.route.table, dst: d.route.dst }
                }
            }),
            RouteNetlinkMessage::DelRoute(r) => netlink::decode_route(&r).map(|d| {
                if d.protocol == self.protocol {
                    Event::RouteRemoved(d.route)
                } else {
                    Event::OtherRoute { table: d.route.table, dst: d.route.dst }
                }
            }),
            _ => None,
        }
    }
}

/// A classic BPF socket filter: drop a message whose `nlmsg_pid` is `port`
/// (each notification comes alone in its datagram, so its header is at
/// offset 0), keep the rest.
#[allow(unsafe_code)]
fn attach_drop_port_filter(sock: &Socket, port: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // BPF_LD | BPF_W | BPF_ABS reads big-endian: compare with the port as
    // it reads the host-order header field.
    let program = [
        // A = nlmsg_pid (offset 12 of struct nlmsghdr)
        libc::sock_filter { code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16, jt: 0, jf: 0, k: 12 },
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: u32::from_be_bytes(port.to_ne_bytes()),
        },
        libc::sock_filter { code: (libc::BPF_RET | libc::BPF_K) as u16, jt: 0, jf: 0, k: 0 },
        libc::sock_filter { code: (libc::BPF_RET | libc::BPF_K) as u16, jt: 0, jf: 0, k: u32::MAX },
    ];
    let fprog = libc::sock_fprog { len: program.len() as u16, filter: program.as_ptr().cast_mut() };
    // SAFETY: the kernel copies the program during the call; `program` and
    // `fprog` outlive it, and `len` is the program's length. The
    // descriptor is the open socket `sock` holds.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            std::ptr::from_ref(&fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn subscribe() -> io::Result<Socket> {
    let mut sock = Socket::new(NETLINK_ROUTE)?;
    sock.bind(&SocketAddr::new(0, 0))?;
    for g in [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE]
    {
        sock.add_membership(g)?;
    }
    sock.set_rx_buf_sz(4usize << 20)?;
    Ok(sock)
}

fn link(l: &LinkMessage) -> (u32, String) {
    let name = l
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_default();
    (l.header.index, name)
}

fn address(a: &AddressMessage) -> Option<IpNetwork> {
    let ip = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let ip = ip.or_else(|| {
        a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    IpNetwork::new(ip, a.header.prefix_len).ok()
}
