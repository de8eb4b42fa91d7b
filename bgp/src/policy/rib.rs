//! [`Policy`] as the RIB runs it ([`RoutePolicy`]).

use std::net::IpAddr;
use std::sync::Arc;

use super::{Modified, NextHopChange, Policy, Route};
use crate::attr::NextHop;
use crate::rib::{AttrsBuilder, NextHopOnly, PolicyRoute, PolicyVerdict, RoutePolicy};

/// A policy bound to the local AS (for AS path prepending), ready for
/// [`crate::rib::PeerPolicy::import`] / `export`.
#[derive(Debug, Clone)]
pub struct RibPolicy {
    pub policy: Arc<Policy>,
    pub local_as: u32,
}

impl RibPolicy {
    pub fn new(policy: Arc<Policy>, local_as: u32) -> Self {
        RibPolicy { policy, local_as }
    }
}

fn next_hop_of(a: IpAddr) -> NextHop {
    match a {
        IpAddr::V4(a) => NextHop::V4(a),
        IpAddr::V6(global) => NextHop::V6 { global, link_local: None },
    }
}

impl RoutePolicy for RibPolicy {
    fn depends_on_prefix(&self) -> bool {
        self.policy.depends_on_prefix()
    }

    fn accepts_all(&self) -> bool {
        self.policy.accepts_all()
    }

    fn sets_only_next_hop(&self) -> Option<NextHopOnly> {
        match self.policy.only_next_hop()? {
            NextHopChange::Address(a) => Some(NextHopOnly::Address(next_hop_of(a))),
            NextHopChange::SelfAddress => Some(NextHopOnly::SelfAddress),
            NextHopChange::Unchanged => None,
        }
    }

    fn apply(&self, route: &PolicyRoute<'_>) -> PolicyVerdict {
        let attrs = route.attrs;
        let list = attrs.list();
        let r = Route {
            family: route.family,
            prefix: route.prefix.copied(),
            peer: route.from,
            attributes: &list,
            next_hop: attrs.next_hop(),
            weight: attrs.weight(),
        };
        let out = self.policy.evaluate(&r, self.local_as);
        if !out.accepted() {
            return PolicyVerdict::Reject;
        }
        let Some(Modified { attributes, next_hop, weight }) = out.modified else {
            return PolicyVerdict::Accept { changed: None, next_hop_self: false };
        };
        let next_hop_self = next_hop == NextHopChange::SelfAddress;
        let new_next_hop = match next_hop {
            NextHopChange::Address(a) => Some(next_hop_of(a)),
            NextHopChange::Unchanged | NextHopChange::SelfAddress => None,
        };
        if attributes.is_none() && new_next_hop.is_none() && weight == attrs.weight() {
            // Only next-hop self: nothing to copy.
            return PolicyVerdict::Accept { changed: None, next_hop_self };
        }
        let changed = AttrsBuilder {
            list: attributes.unwrap_or(list),
            next_hop: new_next_hop.or_else(|| attrs.next_hop().cloned()),
            weight,
            nlri: attrs.nlri().cloned(),
        };
        PolicyVerdict::Accept { changed: Some(changed), next_hop_self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aspath::AsPath;
    use crate::attr::{AttrValue, PathAttribute};
    use crate::family::Family;
    use crate::nlri::Prefix;
    use crate::policy::{Match, PrefixEntry, SetAction, Term, Verdict};
    use crate::rib::Attrs;

    fn policy(sets: Vec<SetAction>) -> RibPolicy {
        let p = Policy {
            name: "p".into(),
            terms: vec![Term {
                name: None,
                matches: vec![Match::Prefix(vec!["10.0.0.0/8 le 24".parse::<PrefixEntry>().unwrap()])],
                sets,
                verdict: Some(Verdict::Accept),
            }],
            default: Verdict::Reject,
        };
        RibPolicy::new(Arc::new(p), 65001)
    }

    fn apply(p: &RibPolicy, prefix: &str, attrs: &Attrs) -> PolicyVerdict {
        let prefix: Prefix = prefix.parse().unwrap();
        p.apply(&PolicyRoute { family: Family::IPV4_UNICAST, prefix: Some(&prefix), from: None, attrs })
    }

    #[test]
    fn verdicts_and_changes_reach_the_rib() {
        let attrs = Attrs::new(
            vec![PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65002])))],
            Some(NextHop::V4("192.0.2.2".parse().unwrap())),
            0,
        );
        let plain = policy(vec![]);
        assert!(plain.depends_on_prefix());
        assert!(matches!(
            apply(&plain, "10.1.0.0/16", &attrs),
            PolicyVerdict::Accept { changed: None, next_hop_self: false }
        ));
        assert!(matches!(apply(&plain, "10.1.0.0/25", &attrs), PolicyVerdict::Reject));

        let nh_self = policy(vec![SetAction::NextHop(NextHopChange::SelfAddress)]);
        assert!(matches!(
            apply(&nh_self, "10.1.0.0/16", &attrs),
            PolicyVerdict::Accept { changed: None, next_hop_self: true }
        ));

        let changes = policy(vec![
            SetAction::AsPathPrepend("1".parse().unwrap()),
            SetAction::NextHop(NextHopChange::Address("2001:db8::1".parse().unwrap())),
            SetAction::Weight(7),
        ]);
        let PolicyVerdict::Accept { changed: Some(b), next_hop_self: false } =
            apply(&changes, "10.1.0.0/16", &attrs)
        else {
            panic!("expected a change");
        };
        let built = b.build();
        assert_eq!(built.as_path().to_string(), "65001 65002");
        assert_eq!(built.next_hop_ip(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(built.weight(), 7);
    }
}
