//! A minimal per-peer Adj-RIB-In: what one peer announced, by family and
//! NLRI (prefix and path identifier), with its attributes.
//!
//! It owns only the bookkeeping the FSM's actions ask for: announcements
//! replace, withdrawals remove (treat-as-withdraw arrives as withdrawals),
//! a disabled family is dropped, graceful restart marks routes stale and
//! flushes what is still stale, enhanced route refresh (RFC 7313) marks
//! routes at BoRR and removes those not re-announced by EoRR. Best path
//! selection and everything else of a real RIB are not here.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::attr::{AttrValue, MpNlri, NextHop, PathAttribute};
use crate::family::Family;
use crate::nlri::Nlri;
use crate::update::Update;

/// One route as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRoute {
    pub nlri: Nlri,
    /// NEXT_HOP, or the next hop of MP_REACH_NLRI.
    pub next_hop: Option<NextHop>,
    /// The path attributes other than MP_REACH_NLRI/MP_UNREACH_NLRI.
    pub attributes: Arc<Vec<PathAttribute>>,
    /// Kept from a session that ended (graceful restart) or from before a
    /// BoRR, and not announced again yet.
    pub stale: bool,
}

/// The routes of one peer.
#[derive(Debug, Default)]
pub(crate) struct AdjRibIn {
    families: BTreeMap<Family, BTreeMap<Nlri, ReceivedRoute>>,
}

impl AdjRibIn {
    /// Apply an UPDATE (already stripped of disabled families by the FSM).
    pub fn apply(&mut self, update: &Update) {
        for n in &update.withdrawn {
            self.remove(Family::IPV4_UNICAST, n);
        }
        let plain: Arc<Vec<PathAttribute>> = Arc::new(
            update
                .attributes
                .iter()
                .filter(|a| !matches!(a.value, AttrValue::MpReach(_) | AttrValue::MpUnreach(_)))
                .cloned()
                .collect(),
        );
        for a in &update.attributes {
            if let AttrValue::MpUnreach(u) = &a.value
                && let MpNlri::Prefixes(list) = &u.nlri
            {
                for n in list {
                    self.remove(u.family, n);
                }
            }
        }
        let next_hop = update.next_hop().map(NextHop::V4);
        for n in &update.nlri {
            self.insert(Family::IPV4_UNICAST, *n, next_hop.clone(), &plain);
        }
        for a in &update.attributes {
            if let AttrValue::MpReach(r) = &a.value
                && let MpNlri::Prefixes(list) = &r.nlri
            {
                for n in list {
                    self.insert(r.family, *n, Some(r.next_hop.clone()), &plain);
                }
            }
        }
    }

    fn insert(
        &mut self,
        family: Family,
        nlri: Nlri,
        next_hop: Option<NextHop>,
        attrs: &Arc<Vec<PathAttribute>>,
    ) {
        let route = ReceivedRoute { nlri, next_hop, attributes: Arc::clone(attrs), stale: false };
        self.families.entry(family).or_default().insert(nlri, route);
    }

    fn remove(&mut self, family: Family, nlri: &Nlri) {
        if let Some(t) = self.families.get_mut(&family) {
            t.remove(nlri);
        }
    }

    /// Drop every route of a family.
    pub fn clear_family(&mut self, family: Family) {
        self.families.remove(&family);
    }

    /// Session down: keep `stale` families, marked stale; drop the rest.
    pub fn session_down(&mut self, stale: &[Family]) {
        self.families.retain(|f, _| stale.contains(f));
        for f in stale {
            self.mark_stale(*f);
        }
    }

    /// Mark every route of a family stale.
    pub fn mark_stale(&mut self, family: Family) {
        if let Some(t) = self.families.get_mut(&family) {
            t.values_mut().for_each(|r| r.stale = true);
        }
    }

    /// Remove the routes of a family that are still stale.
    pub fn flush_stale(&mut self, family: Family) {
        if let Some(t) = self.families.get_mut(&family) {
            t.retain(|_, r| !r.stale);
        }
    }

    pub fn routes(&self, family: Family) -> Vec<ReceivedRoute> {
        self.families.get(&family).map(|t| t.values().cloned().collect()).unwrap_or_default()
    }

    /// Number of routes per family.
    pub fn counts(&self) -> Vec<(Family, usize)> {
        self.families.iter().map(|(f, t)| (*f, t.len())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{MpReach, MpUnreach, Origin};

    fn p(s: &str) -> Nlri {
        Nlri::new(s.parse().unwrap())
    }

    #[test]
    fn announcements_replace_withdrawals_remove_and_stale_flushes() {
        let mut rib = AdjRibIn::default();
        let mut u = Update {
            attributes: vec![
                PathAttribute::new(AttrValue::Origin(Origin::Igp)),
                PathAttribute::new(AttrValue::NextHop("192.0.2.1".parse().unwrap())),
            ],
            nlri: vec![p("198.51.100.0/24"), p("203.0.113.0/24")],
            ..Update::default()
        };
        rib.apply(&u);
        u.attributes[1] = PathAttribute::new(AttrValue::NextHop("192.0.2.9".parse().unwrap()));
        u.nlri = vec![p("198.51.100.0/24")];
        rib.apply(&u);
        let r = rib.routes(Family::IPV4_UNICAST);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].next_hop, Some(NextHop::V4("192.0.2.9".parse().unwrap())));
        rib.apply(&Update { withdrawn: vec![p("203.0.113.0/24")], ..Update::default() });
        assert_eq!(rib.counts(), vec![(Family::IPV4_UNICAST, 1)]);

        let v6 = Update {
            attributes: vec![PathAttribute::new(AttrValue::MpReach(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: NextHop::V6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
                nlri: MpNlri::Prefixes(vec![p("2001:db8:1::/48")]),
            }))],
            ..Update::default()
        };
        rib.apply(&v6);
        rib.session_down(&[Family::IPV6_UNICAST]);
        assert_eq!(rib.counts(), vec![(Family::IPV6_UNICAST, 1)]);
        assert!(rib.routes(Family::IPV6_UNICAST)[0].stale);
        rib.apply(&v6);
        rib.flush_stale(Family::IPV6_UNICAST);
        assert_eq!(rib.routes(Family::IPV6_UNICAST).len(), 1, "re-announced routes are fresh");
        rib.apply(&Update {
            attributes: vec![PathAttribute::new(AttrValue::MpUnreach(MpUnreach {
                family: Family::IPV6_UNICAST,
                nlri: MpNlri::Prefixes(vec![p("2001:db8:1::/48")]),
            }))],
            ..Update::default()
        });
        assert!(rib.routes(Family::IPV6_UNICAST).is_empty());
    }
}
