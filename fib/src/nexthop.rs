//! Nexthop objects (RTM_NEWNEXTHOP, Linux 5.3+): one object per distinct
//! next hop and one group per distinct ECMP set, shared by every route
//! that uses them; routes carry only the object's id (`nhid`). The kernel
//! then keeps one copy of a next hop instead of one per route, and an
//! ECMP route costs it no more than a single-path one.
//!
//! netlink-packet-route has no nexthop messages: they are encoded and
//! parsed here (`struct nhmsg` and its attributes, linux/nexthop.h).

use std::collections::HashMap;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_REQUEST};

use crate::NextHop;
use crate::netlink::{u16_at, u32_at};

const RTM_NEWNEXTHOP: u16 = 104;
const RTM_DELNEXTHOP: u16 = 105;
const RTM_GETNEXTHOP: u16 = 106;
const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_GROUP_TYPE: u16 = 3;
const NHA_BLACKHOLE: u16 = 4;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;
const NEXTHOP_GRP_TYPE_MPATH: u16 = 0;
const RTNH_F_ONLINK: u32 = 4;
const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const NHMSG_LEN: usize = 8;
const HDR: usize = 16;

/// Our object ids start here: well clear of the ids `ip nexthop` users
/// pick by hand and of zebra's (which counts up from a small number).
const FIRST_ID: u32 = 0x6d64_0000;

/// What makes two next hops one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct HopKey {
    gateway: Option<IpAddr>,
    ifindex: u32,
    onlink: bool,
}

/// An object as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Object {
    Hop {
        gateway: Option<IpAddr>,
        ifindex: u32,
        onlink: bool,
    },
    /// Member ids and weights (1-256).
    Group(Vec<(u32, u16)>),
    Other,
}

/// A nexthop object from a dump.
#[derive(Debug, Clone)]
pub(crate) struct Dumped {
    pub id: u32,
    pub protocol: u8,
    pub object: Object,
}

/// The objects of ours, found by content and by id.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    hops: HashMap<HopKey, u32>,
    groups: HashMap<Vec<(u32, u16)>, u32>,
    by_id: HashMap<u32, Object>,
    /// Ids in use by anyone (ours or not), not to be taken.
    taken: std::collections::HashSet<u32>,
    next: u32,
}

impl Registry {
    /// Take in what a dump found: ours to reuse, others' ids to avoid.
    pub fn load(&mut self, dumped: Vec<Dumped>, protocol: u8) {
        for d in dumped {
            self.taken.insert(d.id);
            if d.protocol != protocol {
                continue;
            }
            match &d.object {
                Object::Hop { gateway, ifindex, onlink } => {
                    self.hops.insert(HopKey { gateway: *gateway, ifindex: *ifindex, onlink: *onlink }, d.id);
                }
                Object::Group(members) => {
                    self.groups.insert(members.clone(), d.id);
                }
                Object::Other => {}
            }
            self.by_id.insert(d.id, d.object);
        }
    }

    fn fresh_id(&mut self) -> u32 {
        if self.next < FIRST_ID {
            self.next = FIRST_ID;
        }
        while self.taken.contains(&self.next) {
            self.next = self.next.wrapping_add(1).max(FIRST_ID);
        }
        let id = self.next;
        self.taken.insert(id);
        id
    }

    /// The object id for `hops`, or `None` when they cannot be an object
    /// (a next hop without an interface: the kernel requires one). Objects
    /// not made yet are added to `create`, to be made before the route.
    pub fn id_for(
        &mut self,
        hops: &[NextHop],
        protocol: u8,
        create: &mut Vec<(u32, Vec<u8>)>,
    ) -> Option<u32> {
        let mut members = Vec::with_capacity(hops.len());
        for h in hops {
            let key = HopKey { gateway: h.gateway, ifindex: h.ifindex?, onlink: h.onlink };
            let id = match self.hops.get(&key) {
                Some(&id) => id,
                None => {
                    let id = self.fresh_id();
                    create.push((id, hop_request(id, &key, protocol)));
                    self.hops.insert(key, id);
                    let object =
                        Object::Hop { gateway: key.gateway, ifindex: key.ifindex, onlink: key.onlink };
                    self.by_id.insert(id, object);
                    id
                }
            };
            members.push((id, h.weight));
        }
        if let [(id, _)] = members.as_slice() {
            return Some(*id);
        }
        members.sort_unstable();
        if let Some(&id) = self.groups.get(&members) {
            return Some(id);
        }
        let id = self.fresh_id();
        create.push((id, group_request(id, &members, protocol)));
        self.groups.insert(members.clone(), id);
        self.by_id.insert(id, Object::Group(members));
        Some(id)
    }

    /// An object the kernel refused to make: forget it (its id stays
    /// taken: someone else may hold it).
    pub fn forget(&mut self, id: u32) {
        self.hops.retain(|_, v| *v != id);
        self.groups.retain(|_, v| *v != id);
        self.by_id.remove(&id);
    }

    /// Object `id` is ours and known to exist.
    pub fn contains(&self, id: u32) -> bool {
        self.by_id.contains_key(&id)
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The next hops of object `id`, if it is ours.
    pub fn hops_of(&self, id: u32) -> Option<Vec<NextHop>> {
        let hop = |id: u32, weight: u16| match self.by_id.get(&id) {
            Some(Object::Hop { gateway, ifindex, onlink }) => {
                Some(NextHop { gateway: *gateway, ifindex: Some(*ifindex), onlink: *onlink, weight })
            }
            _ => None,
        };
        match self.by_id.get(&id)? {
            Object::Hop { .. } => hop(id, 1).map(|h| vec![h]),
            Object::Group(members) => members.iter().map(|&(m, w)| hop(m, w)).collect(),
            Object::Other => None,
        }
    }

    /// Our objects no route uses (`used`: ids routes refer to), groups
    /// first: a group goes before the hops in it.
    pub fn unused(&self, used: &std::collections::HashSet<u32>) -> Vec<u32> {
        let in_groups: std::collections::HashSet<u32> = self
            .by_id
            .iter()
            .filter(|(id, _)| used.contains(id))
            .filter_map(|(_, o)| match o {
                Object::Group(m) => Some(m.iter().map(|(id, _)| *id)),
                _ => None,
            })
            .flatten()
            .collect();
        let mut groups = Vec::new();
        let mut hops = Vec::new();
        for (&id, o) in &self.by_id {
            if used.contains(&id) || in_groups.contains(&id) {
                continue;
            }
            match o {
                Object::Group(_) => groups.push(id),
                _ => hops.push(id),
            }
        }
        groups.sort_unstable();
        hops.sort_unstable();
        groups.extend(hops);
        groups
    }
}

fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// A nexthop message (sequence number 0), `family`, `flags`, attributes.
fn message(
    kind: u16,
    nl_flags: u16,
    family: u8,
    protocol: u8,
    nh_flags: u32,
    attrs: &[(u16, Vec<u8>)],
) -> Vec<u8> {
    let mut body = vec![family, 0, protocol, 0];
    body.extend_from_slice(&nh_flags.to_ne_bytes());
    for (k, v) in attrs {
        attr(&mut body, *k, v);
    }
    // struct nlmsghdr: length, type, flags, then sequence number and port
    // (0: set when sent).
    let mut out = Vec::with_capacity(HDR + body.len());
    out.extend_from_slice(&((HDR + body.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&nl_flags.to_ne_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&body);
    out
}

fn hop_request(id: u32, key: &HopKey, protocol: u8) -> Vec<u8> {
    let mut attrs = vec![(NHA_ID, id.to_ne_bytes().to_vec()), (NHA_OIF, key.ifindex.to_ne_bytes().to_vec())];
    let family = match key.gateway {
        Some(IpAddr::V4(a)) => {
            attrs.push((NHA_GATEWAY, a.octets().to_vec()));
            AF_INET
        }
        Some(IpAddr::V6(a)) => {
            attrs.push((NHA_GATEWAY, a.octets().to_vec()));
            AF_INET6
        }
        // A device-only hop: the family of the routes using it does not
        // matter to the kernel for IPv4; IPv6 routes need AF_INET6.
        None => AF_INET6,
    };
    let flags = if key.onlink { RTNH_F_ONLINK } else { 0 };
    // CREATE without REPLACE: an id someone else holds is refused (EEXIST).
    message(RTM_NEWNEXTHOP, NLM_F_REQUEST | NLM_F_CREATE, family, protocol, flags, &attrs)
}

fn group_request(id: u32, members: &[(u32, u16)], protocol: u8) -> Vec<u8> {
    let mut group = Vec::with_capacity(members.len() * 8);
    for &(m, w) in members {
        group.extend_from_slice(&m.to_ne_bytes());
        group.push(u8::try_from(w.saturating_sub(1)).unwrap_or(u8::MAX));
        group.extend_from_slice(&[0, 0, 0]);
    }
    let attrs = [
        (NHA_ID, id.to_ne_bytes().to_vec()),
        (NHA_GROUP, group),
        (NHA_GROUP_TYPE, NEXTHOP_GRP_TYPE_MPATH.to_ne_bytes().to_vec()),
    ];
    message(RTM_NEWNEXTHOP, NLM_F_REQUEST | NLM_F_CREATE, AF_UNSPEC, protocol, 0, &attrs)
}

pub(crate) fn delete_request(id: u32) -> Vec<u8> {
    message(RTM_DELNEXTHOP, NLM_F_REQUEST, AF_UNSPEC, 0, 0, &[(NHA_ID, id.to_ne_bytes().to_vec())])
}

/// RTM_GETNEXTHOP for one object.
pub(crate) fn get_request(id: u32) -> Vec<u8> {
    message(RTM_GETNEXTHOP, NLM_F_REQUEST, AF_UNSPEC, 0, 0, &[(NHA_ID, id.to_ne_bytes().to_vec())])
}

pub(crate) fn dump_request() -> Vec<u8> {
    message(RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP, AF_UNSPEC, 0, 0, &[])
}

fn ip(family: u8, v: &[u8]) -> Option<IpAddr> {
    match family {
        AF_INET => <[u8; 4]>::try_from(v).ok().map(IpAddr::from),
        AF_INET6 => <[u8; 16]>::try_from(v).ok().map(IpAddr::from),
        _ => None,
    }
}

/// A whole RTM_NEWNEXTHOP message (header included), if it is one.
pub(crate) fn parse(msg: &[u8]) -> Option<Dumped> {
    if u16_at(msg, 4)? != RTM_NEWNEXTHOP {
        return None;
    }
    let nh = msg.get(HDR..HDR + NHMSG_LEN)?;
    let (family, protocol) = (*nh.first()?, *nh.get(2)?);
    let flags = u32_at(nh, 4)?;
    let len = (u32_at(msg, 0)? as usize).min(msg.len());
    let mut attrs = msg.get(HDR + NHMSG_LEN..len)?;
    let (mut id, mut oif, mut gateway, mut group, mut other) = (None, None, None, None, false);
    while let (Some(alen), Some(kind)) = (u16_at(attrs, 0), u16_at(attrs, 2)) {
        let alen = usize::from(alen);
        let value = attrs.get(4..alen)?;
        match kind {
            NHA_ID => id = u32_at(value, 0),
            NHA_OIF => oif = u32_at(value, 0),
            NHA_GATEWAY => gateway = ip(family, value),
            NHA_GROUP => {
                group = Some(
                    value
                        .chunks_exact(8)
                        .filter_map(|c| Some((u32_at(c, 0)?, u16::from(*c.get(4)?) + 1)))
                        .collect(),
                )
            }
            NHA_BLACKHOLE => other = true,
            _ => {}
        }
        attrs = attrs.get(alen.next_multiple_of(4)..).unwrap_or_default();
    }
    let object = match (group, oif) {
        (Some(g), _) => Object::Group(g),
        (None, Some(ifindex)) if !other => {
            Object::Hop { gateway, ifindex, onlink: flags & RTNH_F_ONLINK != 0 }
        }
        _ => Object::Other,
    };
    Some(Dumped { id: id?, protocol, object })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_shared_and_parse_back() {
        let mut r = Registry::default();
        let gw = |s: &str| s.parse::<IpAddr>().ok();
        let a = NextHop { gateway: gw("192.0.2.2"), ifindex: Some(3), onlink: false, weight: 1 };
        let b = NextHop { gateway: gw("2001:db8::2"), ifindex: Some(3), onlink: true, weight: 3 };
        let mut create = Vec::new();
        let single = r.id_for(std::slice::from_ref(&a), 210, &mut create);
        let group = r.id_for(&[b.clone(), a.clone()], 210, &mut create);
        let again = r.id_for(&[a.clone(), b.clone()], 210, &mut create);
        assert_eq!(create.len(), 3, "two hops and one group");
        assert_eq!(group, again, "the same set in another order is the same group");
        assert_ne!(single, group);
        assert_eq!(
            r.id_for(
                &[NextHop::gateway("192.0.2.9".parse().unwrap_or(IpAddr::from([0; 4])))],
                210,
                &mut create
            ),
            None
        );
        for (id, bytes) in &create {
            let d = parse(bytes).unwrap_or_else(|| panic!("unparsable {bytes:?}"));
            assert_eq!((d.id, d.protocol), (*id, 210));
            assert_eq!(Some(&d.object), r.by_id.get(id));
        }
        let hops = group.and_then(|g| r.hops_of(g)).unwrap_or_default();
        assert_eq!(hops.len(), 2);
        assert!(hops.contains(&a) && hops.contains(&b), "{hops:?}");
        let used: std::collections::HashSet<u32> = group.into_iter().collect();
        assert!(r.unused(&used).is_empty(), "the single hop is in the used group");
        let unused = r.unused(&Default::default());
        assert_eq!(unused.first().copied(), group, "groups go first");
        assert_eq!(unused.len(), 3);
    }
}
