//! Routes the speaker originates, as its API takes them. The outbound
//! rules (AS path, next hop self, LOCAL_PREF) are the RIB's export rules.

use std::net::IpAddr;

use crate::attr::{AttrValue, NextHop, Origin, PathAttribute};
use crate::community::{Communities, Community};
use crate::family::Family;
use crate::nlri::{Nlri, Prefix};
use crate::rib::AttrsBuilder;

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
}

impl Route {
    /// The route as the RIB originates it.
    pub(crate) fn to_rib(&self) -> (Family, Prefix, AttrsBuilder) {
        let next_hop = self.next_hop.map(|nh| match nh {
            IpAddr::V4(a) => NextHop::V4(a),
            IpAddr::V6(global) => {
                NextHop::V6 { global, link_local: global.is_unicast_link_local().then_some(global) }
            }
        });
        let mut list = self.attributes.clone();
        if list.iter().all(|a| a.code() != crate::attr::code::ORIGIN) {
            list.push(PathAttribute::new(AttrValue::Origin(Origin::Igp)));
        }
        (self.family, self.nlri.prefix, AttrsBuilder { list, next_hop, weight: 0, nlri: None })
    }
}
