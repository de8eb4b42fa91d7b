//! Routes we originate, and how they become UPDATEs for one session.
//!
//! This module owns the outbound attribute rules of the speaker (AS path
//! prepending and no LOCAL_PREF on eBGP, LOCAL_PREF 100 on iBGP, next hop
//! self, RFC 8950 IPv4 routes with an IPv6 next hop). It keeps no state and
//! does no I/O: the peer task calls [`announcement`] and [`withdrawal`] with
//! what the session negotiated and its local address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::aspath::{AsPath, AsSegment, SegmentType};
use crate::attr::{AttrValue, MpNlri, MpReach, MpUnreach, NextHop, Origin, PathAttribute};
use crate::community::{Communities, Community};
use crate::family::{Afi, Family};
use crate::negotiate::Negotiated;
use crate::nlri::{Nlri, Prefix};
use crate::update::Update;

/// A route this speaker originates.
///
/// `attributes` are the route's own attributes (ORIGIN, MED, communities,
/// ...). The speaker adds what depends on the session: AS_PATH (our AS
/// prepended on eBGP), NEXT_HOP or MP_REACH_NLRI, and LOCAL_PREF on iBGP.
/// MP_REACH/MP_UNREACH/NEXT_HOP given here are ignored; set `next_hop` to
/// announce a next hop other than ourselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub family: Family,
    pub nlri: Nlri,
    pub attributes: Vec<PathAttribute>,
    /// Next hop to announce; `None`: next hop self (our address on the session).
    pub next_hop: Option<IpAddr>,
}

impl Route {
    /// A route for an IPv4 or IPv6 unicast prefix with ORIGIN IGP.
    pub fn new(prefix: Prefix) -> Route {
        let family = match prefix {
            Prefix::V4(_) => Family::IPV4_UNICAST,
            Prefix::V6(_) => Family::IPV6_UNICAST,
        };
        Route {
            family,
            nlri: Nlri::new(prefix),
            attributes: vec![PathAttribute::new(AttrValue::Origin(Origin::Igp))],
            next_hop: None,
        }
    }

    /// Announce this next hop instead of ourselves.
    pub fn with_next_hop(mut self, next_hop: IpAddr) -> Route {
        self.next_hop = Some(next_hop);
        self
    }

    /// MULTI_EXIT_DISC.
    pub fn with_med(self, med: u32) -> Route {
        self.with_attribute(PathAttribute::new(AttrValue::MultiExitDisc(med)))
    }

    /// COMMUNITIES (RFC 1997).
    pub fn with_communities(self, communities: Vec<Community>) -> Route {
        self.with_attribute(PathAttribute::new(AttrValue::Communities(Communities(communities))))
    }

    /// Add an attribute, replacing one of the same type.
    pub fn with_attribute(mut self, attribute: PathAttribute) -> Route {
        self.attributes.retain(|a| a.code() != attribute.code());
        self.attributes.push(attribute);
        self
    }

    /// The route's key in the originated table.
    pub(crate) fn key(&self) -> (Family, Nlri) {
        (self.family, self.nlri)
    }
}

/// What one session needs to know to build UPDATEs.
#[derive(Debug, Clone)]
pub(crate) struct Session<'a> {
    pub negotiated: &'a Negotiated,
    pub local_as: u32,
    /// Our address on the TCP session.
    pub local: IpAddr,
}

fn v4_mapped(a: Ipv4Addr) -> Ipv6Addr {
    a.to_ipv6_mapped()
}

/// The NLRI as the session sends it: with a path identifier exactly when
/// ADD-PATH send was negotiated for the family.
fn session_nlri(s: &Session<'_>, family: Family, nlri: Nlri) -> Nlri {
    if s.negotiated.add_path_send.contains(&family) {
        Nlri { path_id: Some(nlri.path_id.unwrap_or(1)), prefix: nlri.prefix }
    } else {
        Nlri { path_id: None, prefix: nlri.prefix }
    }
}

/// An IPv6 next hop: `global`, with the link-local address added when the
/// global one is itself link-local (unnumbered peering, RFC 2545 §3).
fn v6_next_hop(global: Ipv6Addr) -> NextHop {
    let link_local = global.is_unicast_link_local().then_some(global);
    NextHop::V6 { global, link_local }
}

/// The UPDATE announcing `route` on this session, or `None` when the
/// session cannot carry it (family not negotiated, or no usable next hop).
pub(crate) fn announcement(s: &Session<'_>, route: &Route) -> Option<Update> {
    let neg = s.negotiated;
    if !neg.families.contains(&route.family) {
        return None;
    }
    let nlri = session_nlri(s, route.family, route.nlri);
    let next_hop = route.next_hop.unwrap_or(s.local);
    let mut attrs: Vec<PathAttribute> = Vec::with_capacity(route.attributes.len() + 4);
    let mut as_path = AsPath::default();
    let mut local_pref = None;
    let mut has_origin = false;
    for a in &route.attributes {
        match &a.value {
            AttrValue::AsPath(p) => as_path = p.clone(),
            AttrValue::LocalPref(v) => local_pref = Some(*v),
            AttrValue::NextHop(_) | AttrValue::MpReach(_) | AttrValue::MpUnreach(_) => {}
            AttrValue::Origin(_) => {
                has_origin = true;
                attrs.push(a.clone());
            }
            _ => attrs.push(a.clone()),
        }
    }
    if !has_origin {
        attrs.push(PathAttribute::new(AttrValue::Origin(Origin::Igp)));
    }
    if !neg.internal {
        prepend(&mut as_path, s.local_as);
    } else {
        attrs.push(PathAttribute::new(AttrValue::LocalPref(local_pref.unwrap_or(100))));
    }
    attrs.push(PathAttribute::new(AttrValue::AsPath(as_path)));
    let mut update = Update::default();
    match (route.family, next_hop) {
        (Family::IPV4_UNICAST, IpAddr::V4(nh)) => {
            attrs.push(PathAttribute::new(AttrValue::NextHop(nh)));
            update.nlri.push(nlri);
        }
        (Family::IPV4_UNICAST, IpAddr::V6(nh)) => {
            // RFC 8950: only when the peer agreed to IPv6 next hops.
            if !neg.extended_next_hop.contains(&(Family::IPV4_UNICAST, Afi::IPV6)) {
                return None;
            }
            attrs.push(mp_reach(route.family, v6_next_hop(nh), nlri));
        }
        (Family::IPV6_UNICAST, nh) => {
            let global = match nh {
                IpAddr::V6(a) => a,
                // IPv6 routes over an IPv4 session: the IPv4-mapped address
                // of our end (what FRR sends too).
                IpAddr::V4(a) => v4_mapped(a),
            };
            attrs.push(mp_reach(route.family, v6_next_hop(global), nlri));
        }
        _ => return None,
    }
    attrs.sort_by_key(PathAttribute::code);
    update.attributes = attrs;
    Some(update)
}

fn mp_reach(family: Family, next_hop: NextHop, nlri: Nlri) -> PathAttribute {
    PathAttribute::new(AttrValue::MpReach(MpReach { family, next_hop, nlri: MpNlri::Prefixes(vec![nlri]) }))
}

/// The UPDATE withdrawing `nlri` of `family` on this session.
pub(crate) fn withdrawal(s: &Session<'_>, family: Family, nlri: Nlri) -> Option<Update> {
    if !s.negotiated.families.contains(&family) {
        return None;
    }
    let nlri = session_nlri(s, family, nlri);
    let mut update = Update::default();
    if family == Family::IPV4_UNICAST && s.local.is_ipv4() {
        update.withdrawn.push(nlri);
    } else {
        update.attributes.push(PathAttribute::new(AttrValue::MpUnreach(MpUnreach {
            family,
            nlri: MpNlri::Prefixes(vec![nlri]),
        })));
    }
    Some(update)
}

/// Put `asn` in front of the path (RFC 4271 §5.1.2).
fn prepend(path: &mut AsPath, asn: u32) {
    match path.segments.first_mut() {
        Some(seg) if seg.kind == SegmentType::Sequence && seg.asns.len() < 255 => seg.asns.insert(0, asn),
        _ => path.segments.insert(0, AsSegment::sequence(vec![asn])),
    }
}
