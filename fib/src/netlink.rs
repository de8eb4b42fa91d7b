//! The rtnetlink conversation: requests encoded with netlink-packet-route,
//! sent many per system call, answers matched by sequence number.
//!
//! Batching: changes go without NLM_F_ACK, so the kernel answers only
//! those it refuses; a NOOP with NLM_F_ACK closes each batch. The kernel
//! handles a batch inside the `send`, so once the NOOP's ACK is read every
//! answer of the batch has been read. If the answers overflow the socket
//! (ENOBUFS), the batch is sent again one request at a time, each with an
//! ACK: replace and delete are idempotent.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteNextHop, RouteNextHopFlags, RouteProtocol,
    RouteScope, RouteType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::{FibError, IpNetwork, NextHop, Route, RouteKey, Target};

/// Requests per batch: their refusals (a few hundred bytes of socket
/// buffer each) must fit in the receive buffer.
const BATCH: usize = 256;
const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_DUMP_INTR: u16 = 16;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const RT_TABLE_UNSPEC: u8 = 0;

/// The kernel said no: its errno and extended-ACK message.
#[derive(Debug)]
pub(crate) struct Refused {
    pub errno: i32,
    pub message: Option<String>,
}

impl Refused {
    pub fn into_error(self, what: String) -> FibError {
        let message = self.message.unwrap_or_else(|| io::Error::from_raw_os_error(self.errno).to_string());
        FibError::Kernel { what, errno: self.errno, message }
    }

    fn io(e: &io::Error) -> Refused {
        Refused {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
            message: Some(format!("netlink socket: {e}")),
        }
    }
}

/// A route of the kernel's with the protocol it carries.
pub(crate) struct Dumped {
    pub protocol: u8,
    pub route: Route,
    /// The nexthop object it uses; `route` then has no next hops yet.
    pub nhid: Option<u32>,
}

pub(crate) struct Netlink {
    sock: Socket,
    seq: u32,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl Netlink {
    /// The socket's netlink port id: the kernel's notifications of changes
    /// made through this socket carry it.
    pub fn port_id(&self) -> io::Result<u32> {
        let mut addr = SocketAddr::new(0, 0);
        self.sock.get_address(&mut addr)?;
        Ok(addr.port_number())
    }

    pub fn open() -> io::Result<Netlink> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // Refusals carry the kernel's message, not a copy of the request.
        sock.set_ext_ack(true)?;
        sock.set_cap_ack(true)?;
        sock.set_rx_buf_sz(1usize << 20)?;
        Ok(Netlink { sock, seq: 1, rx: Vec::with_capacity(1 << 16), tx: Vec::new() })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Send encoded requests (without NLM_F_ACK); the outcome of each.
    pub fn transact(&mut self, requests: &[Vec<u8>]) -> Vec<Result<(), Refused>> {
        let mut out = Vec::with_capacity(requests.len());
        for batch in requests.chunks(BATCH) {
            let results = match self.batch(batch) {
                Ok(r) => r,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.one_by_one(batch),
                Err(e) => batch.iter().map(|_| Err(Refused::io(&e))).collect(),
            };
            out.extend(results);
        }
        out
    }

    fn batch(&mut self, batch: &[Vec<u8>]) -> io::Result<Vec<Result<(), Refused>>> {
        let first = self.seq.wrapping_add(1);
        self.tx.clear();
        for req in batch {
            let seq = self.next_seq();
            append_with_seq(&mut self.tx, req, seq, 0);
        }
        let marker = self.next_seq();
        append_noop(&mut self.tx, marker);
        self.sock.send(&self.tx, 0)?;
        let mut results: Vec<Result<(), Refused>> = batch.iter().map(|_| Ok(())).collect();
        loop {
            self.recv()?;
            for m in Messages::new(&self.rx) {
                if m.kind != NLMSG_ERROR {
                    continue;
                }
                let (errno, message) = parse_error(&m);
                if m.seq == marker {
                    return Ok(results);
                }
                let i = m.seq.wrapping_sub(first) as usize;
                if errno != 0
                    && let Some(r) = results.get_mut(i)
                {
                    *r = Err(Refused { errno, message });
                }
            }
        }
    }

    /// Each request on its own with an ACK (after an overflow).
    fn one_by_one(&mut self, batch: &[Vec<u8>]) -> Vec<Result<(), Refused>> {
        batch
            .iter()
            .map(|req| {
                let seq = self.next_seq();
                self.tx.clear();
                append_with_seq(&mut self.tx, req, seq, NLM_F_ACK);
                self.sock.send(&self.tx, 0).map_err(|e| Refused::io(&e))?;
                loop {
                    self.recv().map_err(|e| Refused::io(&e))?;
                    for m in Messages::new(&self.rx) {
                        if m.kind == NLMSG_ERROR && m.seq == seq {
                            return match parse_error(&m) {
                                (0, _) => Ok(()),
                                (errno, message) => Err(Refused { errno, message }),
                            };
                        }
                    }
                }
            })
            .collect()
    }

    fn recv(&mut self) -> io::Result<()> {
        self.rx.clear();
        self.sock.recv(&mut self.rx, 0)?;
        Ok(())
    }

    /// Every route of every table (a dump interrupted by a change is
    /// taken again).
    pub fn dump_routes(&mut self) -> Result<Vec<Dumped>, FibError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Unspec;
        let request = encode(RouteNetlinkMessage::GetRoute(msg), NLM_F_REQUEST | NLM_F_DUMP);
        self.dump(&request, |bytes| {
            let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                .map_err(|e| FibError::Protocol(format!("undecodable route message: {e}")))?;
            Ok(match parsed.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => decode_route(&r),
                _ => None,
            })
        })
    }

    /// Every address of every interface (a dump interrupted by a change is
    /// taken again).
    pub fn dump_addresses(&mut self) -> Result<Vec<crate::HostAddress>, FibError> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Unspec;
        let request = encode(RouteNetlinkMessage::GetAddress(msg), NLM_F_REQUEST | NLM_F_DUMP);
        self.dump(&request, |bytes| {
            let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                .map_err(|e| FibError::Protocol(format!("undecodable address message: {e}")))?;
            Ok(match parsed.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => decode_address(&a),
                _ => None,
            })
        })
    }

    /// A dump (`request` encoded with sequence number 0): what `keep`
    /// makes of each message, taken again if a change interrupted it.
    pub fn dump<T>(
        &mut self,
        request: &[u8],
        mut keep: impl FnMut(&[u8]) -> Result<Option<T>, FibError>,
    ) -> Result<Vec<T>, FibError> {
        'again: for _ in 0..5 {
            let seq = self.next_seq();
            self.tx.clear();
            append_with_seq(&mut self.tx, request, seq, 0);
            self.sock.send(&self.tx, 0)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            loop {
                self.recv()?;
                for m in Messages::new(&self.rx) {
                    if m.seq != seq {
                        continue;
                    }
                    interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
                    match m.kind {
                        NLMSG_DONE if interrupted => continue 'again,
                        NLMSG_DONE => return Ok(out),
                        NLMSG_ERROR => {
                            let (errno, message) = parse_error(&m);
                            return Err(Refused { errno, message }.into_error("a dump".into()));
                        }
                        _ => out.extend(keep(m.bytes)?),
                    }
                }
            }
        }
        Err(FibError::Protocol("a dump was interrupted five times in a row".into()))
    }

    /// Send one request (encoded with sequence number 0) and read its
    /// answer: the reply message (header included) or the refusal.
    pub fn request(&mut self, request: &[u8]) -> Result<Result<Vec<u8>, Refused>, FibError> {
        let seq = self.next_seq();
        self.tx.clear();
        append_with_seq(&mut self.tx, request, seq, 0);
        self.sock.send(&self.tx, 0)?;
        loop {
            self.recv()?;
            for m in Messages::new(&self.rx) {
                if m.seq != seq {
                    continue;
                }
                return Ok(match m.kind {
                    NLMSG_ERROR => {
                        let (errno, message) = parse_error(&m);
                        Err(Refused { errno, message })
                    }
                    _ => Ok(m.bytes.to_vec()),
                });
            }
        }
    }

    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, FibError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(&encode(RouteNetlinkMessage::GetLink(msg), NLM_F_REQUEST))? {
            Err(Refused { errno: libc::ENODEV, .. }) => Ok(None),
            Err(r) => Err(r.into_error(format!("looking up interface {name}"))),
            Ok(bytes) => {
                match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).map(|m| m.payload) {
                    Ok(NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l))) => {
                        Ok(Some(l.header.index))
                    }
                    other => {
                        Err(FibError::Protocol(format!("unexpected answer to a link lookup: {other:?}")))
                    }
                }
            }
        }
    }

    /// The route the kernel would use for `addr` in the main table (the
    /// FIB entry itself: `ip route get fibmatch`), if it would forward.
    pub fn lookup(&mut self, addr: IpAddr) -> Result<Option<Dumped>, FibError> {
        let mut msg = RouteMessage::default();
        let host = IpNetwork::from(addr);
        msg.header.address_family = family(&host);
        msg.header.destination_prefix_length = host.prefix();
        msg.header.flags = RouteFlags::FibMatch;
        msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(addr)));
        match self.request(&encode(RouteNetlinkMessage::GetRoute(msg), NLM_F_REQUEST))? {
            // No route (ENETUNREACH), or one that does not forward: the
            // kernel answers a blackhole with EINVAL, unreachable with
            // EHOSTUNREACH, prohibit with EACCES.
            Err(Refused {
                errno: libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EINVAL | libc::EACCES,
                ..
            }) => Ok(None),
            Err(r) => Err(r.into_error(format!("looking up {addr}"))),
            Ok(bytes) => {
                match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).map(|m| m.payload) {
                    Ok(NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r))) => {
                        Ok(decode_route(&r))
                    }
                    other => {
                        Err(FibError::Protocol(format!("unexpected answer to a route lookup: {other:?}")))
                    }
                }
            }
        }
    }
}

/// One netlink message of a datagram.
pub(crate) struct Msg<'a> {
    kind: u16,
    flags: u16,
    seq: u32,
    /// The whole message, header included.
    pub bytes: &'a [u8],
}

pub(crate) struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub fn new(buf: &'a [u8]) -> Messages<'a> {
        Messages { rest: buf }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Msg<'a>;

    fn next(&mut self) -> Option<Msg<'a>> {
        let h = self.rest.get(..NLMSG_HDRLEN)?;
        let len = u32_at(h, 0)? as usize;
        let (kind, flags, seq) = (u16_at(h, 4)?, u16_at(h, 6)?, u32_at(h, 8)?);
        if len < NLMSG_HDRLEN {
            self.rest = &[];
            return None;
        }
        let bytes = self.rest.get(..len)?;
        self.rest = self.rest.get(align4(len)..).unwrap_or_default();
        Some(Msg { kind, flags, seq, bytes })
    }
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The errno (0 for an ACK) and extended-ACK message of an NLMSG_ERROR.
fn parse_error(m: &Msg<'_>) -> (i32, Option<String>) {
    let errno = u32_at(m.bytes, NLMSG_HDRLEN).map_or(libc::EPROTO, |e| (e as i32).wrapping_neg());
    if errno == 0 || m.flags & NLM_F_ACK_TLVS == 0 {
        return (errno, None);
    }
    // struct nlmsgerr: the error, then the request's header (capped: no
    // payload), then attributes.
    let mut tlvs = m.bytes.get(NLMSG_HDRLEN + 4 + NLMSG_HDRLEN..).unwrap_or_default();
    while let (Some(len), Some(kind)) = (u16_at(tlvs, 0), u16_at(tlvs, 2)) {
        let len = usize::from(len);
        if len < 4 {
            break;
        }
        if kind == NLMSGERR_ATTR_MSG
            && let Some(v) = tlvs.get(4..len)
        {
            let text = v.split(|&b| b == 0).next().unwrap_or_default();
            return (errno, Some(String::from_utf8_lossy(text).into_owned()));
        }
        tlvs = tlvs.get(align4(len)..).unwrap_or_default();
    }
    (errno, None)
}

fn append_message(buf: &mut Vec<u8>, inner: RouteNetlinkMessage, flags: u16, seq: u32) {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
    msg.finalize();
    let at = buf.len();
    buf.resize(at + align4(msg.buffer_len()), 0);
    if let Some(dst) = buf.get_mut(at..at + msg.buffer_len()) {
        msg.serialize(dst);
    }
}

/// A request encoded with sequence number 0, appended with `seq` and
/// `extra` flags.
fn append_with_seq(buf: &mut Vec<u8>, req: &[u8], seq: u32, extra: u16) {
    let at = buf.len();
    buf.extend_from_slice(req);
    buf.resize(at + align4(req.len()), 0);
    let flags = u16_at(buf, at + 6).unwrap_or(0) | extra;
    if let Some(f) = buf.get_mut(at + 6..at + 8) {
        f.copy_from_slice(&flags.to_ne_bytes());
    }
    if let Some(s) = buf.get_mut(at + 8..at + 12) {
        s.copy_from_slice(&seq.to_ne_bytes());
    }
}

fn append_noop(buf: &mut Vec<u8>, seq: u32) {
    let len = NLMSG_HDRLEN as u32;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&NLMSG_NOOP.to_ne_bytes());
    buf.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

fn encode(inner: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
    let mut buf = Vec::new();
    append_message(&mut buf, inner, flags, 0);
    buf
}

fn family(dst: &IpNetwork) -> AddressFamily {
    if dst.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 }
}

fn route_header(msg: &mut RouteMessage, dst: &IpNetwork, table: u32, protocol: u8) {
    msg.header.address_family = family(dst);
    msg.header.destination_prefix_length = dst.prefix();
    msg.header.table = u8::try_from(table).unwrap_or(RT_TABLE_UNSPEC);
    msg.header.protocol = RouteProtocol::from(protocol);
    msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(dst.ip())));
    msg.attributes.push(RouteAttribute::Table(table));
}

/// The gateway attribute: RTA_GATEWAY in the route's family, RTA_VIA for
/// an IPv6 gateway of an IPv4 route.
fn gateway_attr(dst: &IpNetwork, gw: IpAddr) -> RouteAttribute {
    match (dst, gw) {
        (IpNetwork::V4(_), IpAddr::V6(v6)) => RouteAttribute::Via(RouteVia::Inet6(v6)),
        (_, gw) => RouteAttribute::Gateway(RouteAddress::from(gw)),
    }
}

/// RTM_NEWROUTE that creates or replaces in place; by nexthop object
/// `nhid` when given, else with the next hops inline.
pub(crate) fn route_request(r: &Route, protocol: u8, nhid: Option<u32>) -> Vec<u8> {
    let mut msg = RouteMessage::default();
    route_header(&mut msg, &r.dst, r.table, protocol);
    msg.attributes.push(RouteAttribute::Priority(r.metric));
    msg.header.scope = RouteScope::Universe;
    match (&r.target, nhid) {
        (Target::Blackhole, _) => msg.header.kind = RouteType::BlackHole,
        (Target::Via(_), Some(id)) => {
            msg.header.kind = RouteType::Unicast;
            msg.attributes.push(RouteAttribute::NhId(id));
        }
        (Target::Via(hops), None) => {
            msg.header.kind = RouteType::Unicast;
            match hops.as_slice() {
                [h] => {
                    if h.gateway.is_none() {
                        msg.header.scope = RouteScope::Link;
                    }
                    if h.onlink {
                        msg.header.flags |= RouteFlags::Onlink;
                    }
                    if let Some(gw) = h.gateway {
                        msg.attributes.push(gateway_attr(&r.dst, gw));
                    }
                    if let Some(i) = h.ifindex {
                        msg.attributes.push(RouteAttribute::Oif(i));
                    }
                }
                hops => {
                    let list = hops
                        .iter()
                        .map(|h| {
                            let mut nh = RouteNextHop::default();
                            if h.onlink {
                                nh.flags |= RouteNextHopFlags::Onlink;
                            }
                            nh.hops = u8::try_from(h.weight.saturating_sub(1)).unwrap_or(u8::MAX);
                            nh.interface_index = h.ifindex.unwrap_or(0);
                            if let Some(gw) = h.gateway {
                                nh.attributes.push(gateway_attr(&r.dst, gw));
                            }
                            nh
                        })
                        .collect();
                    msg.attributes.push(RouteAttribute::MultiPath(list));
                }
            }
        }
    }
    encode(RouteNetlinkMessage::NewRoute(msg), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE)
}

/// RTM_DELROUTE of our route with this key (the protocol must match).
pub(crate) fn delete_request(k: &RouteKey, protocol: u8) -> Vec<u8> {
    let mut msg = RouteMessage::default();
    route_header(&mut msg, &k.dst, k.table, protocol);
    msg.attributes.push(RouteAttribute::Priority(k.metric));
    msg.header.scope = RouteScope::NoWhere;
    encode(RouteNetlinkMessage::DelRoute(msg), NLM_F_REQUEST)
}

pub(crate) fn address_request(ifindex: u32, addr: IpNetwork, add: bool) -> Vec<u8> {
    let mut msg = AddressMessage::default();
    msg.header.family = family(&addr);
    msg.header.prefix_len = addr.prefix();
    msg.header.scope = AddressScope::Universe;
    msg.header.index = ifindex;
    msg.attributes.push(AddressAttribute::Local(addr.ip()));
    msg.attributes.push(AddressAttribute::Address(addr.ip()));
    if add {
        encode(RouteNetlinkMessage::NewAddress(msg), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE)
    } else {
        encode(RouteNetlinkMessage::DelAddress(msg), NLM_F_REQUEST)
    }
}

fn address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn via(v: &RouteVia) -> Option<IpAddr> {
    match v {
        RouteVia::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteVia::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn hop_gateway(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => address(g),
        RouteAttribute::Via(v) => via(v),
        _ => None,
    })
}

/// A kernel route as a [`Route`]: unicast and blackhole routes of the
/// IP families. A route of another type (unreachable, prohibit, ...)
/// comes back with no next hops, so that it never matches a wanted one.
pub(crate) fn decode_route(m: &RouteMessage) -> Option<Dumped> {
    let h = &m.header;
    let is_v4 = match h.address_family {
        AddressFamily::Inet => true,
        AddressFamily::Inet6 => false,
        _ => return None,
    };
    let mut dst_addr = None;
    let mut table = u32::from(h.table);
    let mut metric = 0;
    let mut oif = None;
    let mut multipath = None;
    let mut nhid = None;
    for a in &m.attributes {
        match a {
            RouteAttribute::NhId(id) => nhid = Some(*id),
            RouteAttribute::Destination(d) => dst_addr = address(d),
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(list) => multipath = Some(list),
            _ => {}
        }
    }
    let dst_addr = dst_addr.unwrap_or(if is_v4 {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    });
    let dst = IpNetwork::new(dst_addr, h.destination_prefix_length).ok()?;
    let target = match h.kind {
        RouteType::BlackHole => Target::Blackhole,
        RouteType::Unicast if nhid.is_some() => Target::Via(Vec::new()),
        RouteType::Unicast => Target::Via(match multipath {
            Some(list) => list
                .iter()
                .map(|nh| NextHop {
                    gateway: hop_gateway(&nh.attributes),
                    ifindex: (nh.interface_index != 0).then_some(nh.interface_index),
                    onlink: nh.flags.contains(RouteNextHopFlags::Onlink),
                    weight: u16::from(nh.hops) + 1,
                })
                .collect(),
            None => vec![NextHop {
                gateway: hop_gateway(&m.attributes),
                ifindex: oif,
                onlink: h.flags.contains(RouteFlags::Onlink),
                weight: 1,
            }],
        }),
        _ => Target::Via(Vec::new()),
    };
    Some(Dumped { protocol: u8::from(h.protocol), route: Route { dst, table, metric, target }, nhid })
}

/// An address of the dump: where it is, and whether it may be given out
/// (not waiting for or failed in duplicate address detection, not
/// deprecated).
fn decode_address(a: &AddressMessage) -> Option<crate::HostAddress> {
    use netlink_packet_route::address::AddressFlags;
    let ip = a
        .attributes
        .iter()
        .find_map(|x| match x {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        })
        .or_else(|| {
            a.attributes.iter().find_map(|x| match x {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            })
        })?;
    let flags = a.attributes.iter().find_map(|x| match x {
        AddressAttribute::Flags(f) => Some(*f),
        _ => None,
    });
    let unusable = AddressFlags::Tentative | AddressFlags::Dadfailed | AddressFlags::Deprecated;
    let usable = flags.is_none_or(|f| !f.intersects(unusable));
    Some(crate::HostAddress {
        ifindex: a.header.index,
        addr: IpNetwork::new(ip, a.header.prefix_len).ok()?,
        usable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_a_datagram_and_stop_at_a_short_header() {
        let mut buf = Vec::new();
        append_noop(&mut buf, 7);
        append_noop(&mut buf, 8);
        buf.extend_from_slice(&[1, 2, 3]);
        let seqs: Vec<u32> = Messages::new(&buf).map(|m| m.seq).collect();
        assert_eq!(seqs, [7, 8]);
        let mut bad = Vec::new();
        bad.extend_from_slice(&4u32.to_ne_bytes());
        bad.extend_from_slice(&[0; 12]);
        assert_eq!(Messages::new(&bad).count(), 0, "a length below the header ends the walk");
    }

    fn error_message(errno: i32, text: Option<&str>) -> Vec<u8> {
        let mut tlv = Vec::new();
        if let Some(t) = text {
            let len = 4 + t.len() + 1;
            tlv.extend_from_slice(&(len as u16).to_ne_bytes());
            tlv.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
            tlv.extend_from_slice(t.as_bytes());
            tlv.push(0);
            tlv.resize(align4(tlv.len()), 0);
        }
        let len = NLMSG_HDRLEN + 4 + NLMSG_HDRLEN + tlv.len();
        let flags = if text.is_some() { NLM_F_ACK_TLVS } else { 0 };
        let mut b = Vec::new();
        b.extend_from_slice(&(len as u32).to_ne_bytes());
        b.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&9u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&(-errno).to_ne_bytes());
        b.extend_from_slice(&[0; NLMSG_HDRLEN]);
        b.extend_from_slice(&tlv);
        b
    }

    #[test]
    fn errors_carry_the_extended_ack_message() {
        let b = error_message(libc::ENODEV, Some("Nexthop device is not up"));
        let m = Messages::new(&b).next();
        let (errno, text) = m.map(|m| parse_error(&m)).unwrap_or((0, None));
        assert_eq!(errno, libc::ENODEV);
        assert_eq!(text.as_deref(), Some("Nexthop device is not up"));
        let b = error_message(0, None);
        let parsed = Messages::new(&b).next().map(|m| parse_error(&m));
        assert!(matches!(parsed, Some((0, None))), "an ACK");
    }

    fn roundtrip(r: &Route) -> Route {
        let bytes = route_request(r, 210, None);
        let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes);
        match parsed.map(|m| m.payload) {
            Ok(NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(m))) => {
                let d = decode_route(&m);
                assert_eq!(d.as_ref().map(|d| d.protocol), Some(210));
                d.map(|d| d.route).unwrap_or_else(|| panic!("undecodable {r}"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn routes_decode_as_they_were_encoded() {
        let gw4: IpAddr = "192.0.2.1".parse().unwrap_or_else(|e| panic!("{e}"));
        let gw6: IpAddr = "2001:db8::1".parse().unwrap_or_else(|e| panic!("{e}"));
        let net = |s: &str| s.parse::<IpNetwork>().unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            Route {
                dst: net("198.51.100.0/24"),
                table: 254,
                metric: 20,
                target: Target::Via(vec![NextHop::gateway(gw4)]),
            },
            Route { dst: net("0.0.0.0/0"), table: 1000, metric: 0, target: Target::Blackhole },
            Route {
                dst: net("203.0.113.0/24"),
                table: 10,
                metric: 20,
                target: Target::Via(vec![NextHop::gateway(gw6).on(3)]),
            },
            Route {
                dst: net("2001:db8:1::/48"),
                table: 254,
                metric: 1024,
                target: Target::Via(vec![
                    NextHop { weight: 3, ..NextHop::gateway(gw6).on(2) },
                    NextHop::gateway("2001:db8::2".parse().unwrap_or_else(|e| panic!("{e}"))).on(2).onlink(),
                ]),
            },
            Route {
                dst: net("192.0.2.128/25"),
                table: 254,
                metric: 5,
                target: Target::Via(vec![NextHop::device(4)]),
            },
        ];
        for r in cases {
            assert_eq!(roundtrip(&r), r);
        }
    }
}
