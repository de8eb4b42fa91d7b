//! Routing policy: named import/export policies, like JunOS
//! policy-statements or FRR route-maps. Sans-IO: plain data in, a verdict
//! and the changed values out.
//!
//! This module owns the policy model ([`Policy`], [`Term`], [`Match`],
//! [`SetAction`]), the text forms of its elements (every element type
//! implements `FromStr` with an error that says what was expected) and
//! [`Policy::evaluate`]. It does not know where routes come from or go to:
//! the RIB hands it a [`Route`] and stores what comes back.
//!
//! # Semantics
//!
//! A policy is an ordered list of terms and a default verdict (reject
//! unless set). A term matches when **all** of its conditions match; a
//! condition holding a list matches when **any** item does. A matching
//! term applies its set actions in order, then stops with its verdict, or,
//! without one, evaluation goes on with the next term, which sees what was
//! set. A route that falls through every term gets the default verdict.
//!
//! # Cost
//!
//! [`Policy::evaluate`] allocates nothing for a route that passes without
//! change: [`Outcome::modified`] is `None` and [`Outcome::attributes`]
//! hands back the route's own slice.
//! The route's attributes are copied only when an action really changes
//! them (setting LOCAL_PREF to the value it already has copies nothing),
//! and an AS path regex writes the path text into a stack buffer.
//!
//! A result depends on the attributes, the family, the peer, the next hop,
//! the weight and, when [`Policy::depends_on_prefix`], on the prefix: a RIB
//! can evaluate once per attribute set when it does not. [`RibPolicy`]
//! binds a policy to the local AS for [`crate::rib`].

mod actions;
mod matching;
mod rib;

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

pub use actions::{AsPathPrepend, ListSet, MAX_PREPEND, NextHopChange, SetAction};
pub use matching::{
    AddressMatch, AsPathRegex, Match, ParseError, PrefixEntry, PrefixList, parse_asn, parse_family,
    write_as_path_text,
};
pub use rib::RibPolicy;

use crate::aspath::{AsPath, AsSegment, SegmentType};
use crate::attr::{AttrValue, NextHop, PathAttribute, code};
use crate::family::Family;
use crate::nlri::Prefix;
use actions::CommunityList;
use matching::PathText;

/// What a policy sees of one route.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub family: Family,
    /// `None` for families whose NLRI are not IP prefixes (EVPN).
    pub prefix: Option<Prefix>,
    /// The peer the route was learned from; `None`: originated here.
    pub peer: Option<IpAddr>,
    /// Path attributes sorted by type code, without MP_REACH_NLRI,
    /// MP_UNREACH_NLRI and NEXT_HOP (the next hop is [`Route::next_hop`]).
    pub attributes: &'a [PathAttribute],
    pub next_hop: Option<&'a NextHop>,
    /// The local weight.
    pub weight: u32,
}

/// Accept or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Verdict {
    Accept,
    #[default]
    Reject,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Accept => "accept",
            Verdict::Reject => "reject",
        })
    }
}

impl FromStr for Verdict {
    type Err = ParseError;

    /// `"accept"` or `"reject"`.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "accept" => Ok(Verdict::Accept),
            "reject" => Ok(Verdict::Reject),
            _ => Err(ParseError::new("verdict", s, "expected \"accept\" or \"reject\"")),
        }
    }
}

/// The values an accepted route leaves the policy with, when they differ
/// from what came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modified {
    /// The new attributes (sorted by type code), or `None` when only the
    /// next hop or the weight changed.
    pub attributes: Option<Vec<PathAttribute>>,
    pub next_hop: NextHopChange,
    pub weight: u32,
}

/// The result of [`Policy::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// The index of the term that decided; `None`: the policy's default.
    pub term: Option<usize>,
    /// `Some` only for an accepted route that some action changed.
    pub modified: Option<Modified>,
}

impl Outcome {
    pub fn accepted(&self) -> bool {
        self.verdict == Verdict::Accept
    }

    /// The attributes to keep: the modified ones, or the route's own.
    pub fn attributes<'a>(&'a self, route: &Route<'a>) -> &'a [PathAttribute] {
        match &self.modified {
            Some(Modified { attributes: Some(a), .. }) => a,
            _ => route.attributes,
        }
    }
}

/// One term: conditions, actions, and an optional verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// For messages and `show`.
    pub name: Option<String>,
    /// All must match; none: the term matches every route.
    pub matches: Vec<Match>,
    /// Applied in order when the term matches.
    pub sets: Vec<SetAction>,
    /// `None`: apply the actions and go on with the next term.
    pub verdict: Option<Verdict>,
}

/// A named policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub terms: Vec<Term>,
    /// For a route no term decided.
    pub default: Verdict,
}

impl Policy {
    /// A policy with no terms and the default verdict reject.
    pub fn new(name: impl Into<String>) -> Self {
        Policy { name: name.into(), terms: Vec::new(), default: Verdict::Reject }
    }

    /// Does any term match on the prefix? When not, routes with the same
    /// attributes (and peer, family, next hop, weight) get the same result.
    pub fn depends_on_prefix(&self) -> bool {
        self.terms.iter().flat_map(|t| &t.matches).any(Match::depends_on_prefix)
    }

    /// No terms and the default verdict accept: every route passes
    /// unchanged.
    pub fn accepts_all(&self) -> bool {
        self.terms.is_empty() && self.default == Verdict::Accept
    }

    /// Every route is accepted with only its next hop changed, to this:
    /// one term that matches everything, sets the next hop and nothing
    /// else, and accepts (itself, or by the default).
    pub fn only_next_hop(&self) -> Option<NextHopChange> {
        let [term] = self.terms.as_slice() else { return None };
        let accepts = match term.verdict {
            Some(v) => v == Verdict::Accept,
            None => self.default == Verdict::Accept,
        };
        match term.sets.as_slice() {
            [SetAction::NextHop(change)] if accepts && term.matches.is_empty() => {
                (*change != NextHopChange::Unchanged).then_some(*change)
            }
            _ => None,
        }
    }

    /// Run the policy on `route`. `local_as` is prepended by
    /// [`AsPathPrepend`] actions that name no AS.
    pub fn evaluate(&self, route: &Route<'_>, local_as: u32) -> Outcome {
        let mut state = State::new(route);
        for (i, term) in self.terms.iter().enumerate() {
            if !term.matches.iter().all(|m| state.matches(m)) {
                continue;
            }
            for set in &term.sets {
                state.apply(set, local_as);
            }
            if let Some(verdict) = term.verdict {
                return state.finish(verdict, Some(i));
            }
        }
        state.finish(self.default, None)
    }
}

/// An AS path for routes that carry none.
static EMPTY_PATH: AsPath = AsPath { segments: Vec::new() };

/// The route as the terms evaluated so far left it.
struct State<'r> {
    route: &'r Route<'r>,
    attributes: Cow<'r, [PathAttribute]>,
    next_hop: NextHopChange,
    weight: u32,
}

impl<'r> State<'r> {
    fn new(route: &'r Route<'r>) -> Self {
        State {
            route,
            attributes: Cow::Borrowed(route.attributes),
            next_hop: NextHopChange::Unchanged,
            weight: route.weight,
        }
    }

    fn value(&self, type_code: u8) -> Option<&AttrValue> {
        self.attributes.iter().find(|a| a.code() == type_code).map(|a| &a.value)
    }

    fn as_path(&self) -> &AsPath {
        match self.value(code::AS_PATH) {
            Some(AttrValue::AsPath(p)) => p,
            _ => &EMPTY_PATH,
        }
    }

    fn list<T: CommunityList>(&self) -> &[T] {
        self.value(T::CODE).and_then(T::get).unwrap_or_default()
    }

    /// Does any address of the current next hop satisfy `f`?
    fn next_hop_any(&self, f: impl Fn(IpAddr) -> bool) -> bool {
        match self.next_hop {
            NextHopChange::Address(a) => f(a),
            NextHopChange::SelfAddress => false,
            NextHopChange::Unchanged => match self.route.next_hop {
                Some(NextHop::V4(a)) => f(IpAddr::V4(*a)),
                Some(NextHop::V6 { global, link_local }) => {
                    f(IpAddr::V6(*global)) || link_local.is_some_and(|l| f(IpAddr::V6(l)))
                }
                Some(NextHop::Raw(_)) | None => false,
            },
        }
    }

    fn matches(&self, m: &Match) -> bool {
        let route = self.route;
        match m {
            Match::Prefix(entries) => route.prefix.is_some_and(|p| entries.iter().any(|e| e.matches(&p))),
            Match::PrefixList(lists) => route.prefix.is_some_and(|p| lists.iter().any(|l| l.matches(&p))),
            Match::Community(want) => {
                self.list::<crate::community::Community>().iter().any(|c| want.contains(c))
            }
            Match::LargeCommunity(want) => {
                self.list::<crate::community::LargeCommunity>().iter().any(|c| want.contains(c))
            }
            Match::ExtCommunity(want) => {
                self.list::<crate::community::ExtendedCommunity>().iter().any(|c| want.contains(c))
            }
            Match::AsPathContains(asns) => {
                let path = self.as_path();
                asns.iter().any(|a| path.contains(*a))
            }
            Match::OriginAs(asns) => self.as_path().origin_as().is_some_and(|o| asns.contains(&o)),
            Match::AsPathLength { min, max } => {
                let len = self.as_path().path_len();
                min.is_none_or(|m| len >= m) && max.is_none_or(|m| len <= m)
            }
            Match::AsPathRegex(list) => {
                let text = PathText::new(self.as_path());
                list.iter().any(|r| r.is_match(text.as_str()))
            }
            Match::NextHop(list) => self.next_hop_any(|a| list.iter().any(|m| m.matches(a))),
            Match::Peer(list) => route.peer.is_some_and(|a| list.iter().any(|m| m.matches(a))),
            Match::Family(list) => list.contains(&route.family),
        }
    }

    /// Set an attribute, keeping the flags of one already there and the
    /// order by type code.
    fn put(&mut self, value: AttrValue) {
        let attrs = self.attributes.to_mut();
        let type_code = value.code();
        match attrs.iter_mut().find(|a| a.code() == type_code) {
            Some(a) => a.value = value,
            None => {
                let at = attrs.iter().position(|a| a.code() > type_code).unwrap_or(attrs.len());
                attrs.insert(at, PathAttribute::new(value));
            }
        }
    }

    fn remove(&mut self, type_code: u8) {
        if self.value(type_code).is_some() {
            self.attributes.to_mut().retain(|a| a.code() != type_code);
        }
    }

    fn set_list<T: CommunityList>(&mut self, action: &ListSet<T>) {
        if let Some(new) = action.apply(self.list::<T>()) {
            if new.is_empty() {
                // An empty list is not a valid attribute value.
                self.remove(T::CODE);
            } else {
                self.put(T::make(new));
            }
        }
    }

    fn apply(&mut self, set: &SetAction, local_as: u32) {
        match set {
            SetAction::LocalPref(v) => {
                if self.value(code::LOCAL_PREF) != Some(&AttrValue::LocalPref(*v)) {
                    self.put(AttrValue::LocalPref(*v));
                }
            }
            SetAction::Med(v) => {
                if self.value(code::MULTI_EXIT_DISC) != Some(&AttrValue::MultiExitDisc(*v)) {
                    self.put(AttrValue::MultiExitDisc(*v));
                }
            }
            SetAction::NextHop(nh) => self.next_hop = *nh,
            SetAction::Weight(w) => self.weight = *w,
            SetAction::Community(a) => self.set_list(a),
            SetAction::LargeCommunity(a) => self.set_list(a),
            SetAction::ExtCommunity(a) => self.set_list(a),
            SetAction::AsPathPrepend(p) => {
                let asn = p.asn().unwrap_or(local_as);
                let mut path = self.as_path().clone();
                let copies = std::iter::repeat_n(asn, p.count().into());
                match path.segments.first_mut() {
                    Some(seg) if seg.kind == SegmentType::Sequence => {
                        seg.asns.splice(0..0, copies);
                    }
                    _ => path.segments.insert(0, AsSegment::sequence(copies.collect::<Vec<_>>())),
                }
                self.put(AttrValue::AsPath(path));
            }
        }
    }

    fn finish(self, verdict: Verdict, term: Option<usize>) -> Outcome {
        let route = self.route;
        if verdict == Verdict::Reject {
            return Outcome { verdict, term, modified: None };
        }
        let attributes = match self.attributes {
            Cow::Owned(v) if v.as_slice() != route.attributes => Some(v),
            _ => None,
        };
        let modified = (attributes.is_some()
            || self.next_hop != NextHopChange::Unchanged
            || self.weight != route.weight)
            .then_some(Modified { attributes, next_hop: self.next_hop, weight: self.weight });
        Outcome { verdict, term, modified }
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::nlri::strategies::{ipv4_prefix, ipv6_prefix};
    use proptest::prelude::*;

    /// A valid prefix list entry of either family.
    pub fn prefix_entry() -> impl Strategy<Value = PrefixEntry> {
        prop_oneof![ipv4_prefix().prop_map(Prefix::V4), ipv6_prefix().prop_map(Prefix::V6)]
            .prop_flat_map(|p| {
                let max = if matches!(p, Prefix::V4(_)) { 32u8 } else { 128 };
                let len = p.length();
                (Just(p), proptest::option::of(len..=max), proptest::option::of(len..=max))
            })
            .prop_map(|(p, a, b)| {
                let (ge, le) = match (a, b) {
                    (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                    other => other,
                };
                PrefixEntry::new(p, ge, le).unwrap()
            })
    }
}

#[cfg(test)]
mod tests;
