//! The set actions of a policy term and their text forms.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::matching::{ParseError, parse_asn};
use crate::attr::{AttrValue, code};
use crate::community::{
    Communities, Community, ExtendedCommunities, ExtendedCommunity, LargeCommunities, LargeCommunity,
};

/// The most AS numbers one prepend action adds.
pub const MAX_PREPEND: u8 = 10;

/// What a policy did to the next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NextHopChange {
    /// Keep the route's next hop.
    #[default]
    Unchanged,
    /// Use this address.
    Address(IpAddr),
    /// Our own address on the session the route is sent on (the speaker
    /// resolves it, as FRR's `next-hop-self`).
    SelfAddress,
}

impl fmt::Display for NextHopChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHopChange::Unchanged => f.write_str("unchanged"),
            NextHopChange::Address(a) => a.fmt(f),
            NextHopChange::SelfAddress => f.write_str("self"),
        }
    }
}

impl FromStr for NextHopChange {
    type Err = ParseError;

    /// `"self"` or an IPv4/IPv6 address.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        if t == "self" {
            return Ok(NextHopChange::SelfAddress);
        }
        t.parse::<IpAddr>()
            .map(NextHopChange::Address)
            .map_err(|_| ParseError::new("next hop", s, "expected \"self\" or an IPv4 or IPv6 address"))
    }
}

/// AS_PATH prepending: `count` copies of `asn` (our own AS when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsPathPrepend {
    asn: Option<u32>,
    count: u8,
}

impl AsPathPrepend {
    /// `Err` unless `1 <= count <= 10` and `asn` (if given) is not 0.
    pub fn new(asn: Option<u32>, count: u8) -> Result<Self, ParseError> {
        let p = AsPathPrepend { asn, count };
        if !(1..=MAX_PREPEND).contains(&count) {
            return Err(ParseError::new(
                "AS path prepend",
                &p.to_string(),
                format!("the count must be 1 to {MAX_PREPEND}"),
            ));
        }
        if asn == Some(0) {
            return Err(ParseError::new("AS path prepend", &p.to_string(), "AS 0 is reserved (RFC 7607)"));
        }
        Ok(p)
    }

    pub fn asn(&self) -> Option<u32> {
        self.asn
    }

    pub fn count(&self) -> u8 {
        self.count
    }
}

impl fmt::Display for AsPathPrepend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.asn {
            None => write!(f, "{}", self.count),
            Some(a) => write!(f, "{a}*{}", self.count),
        }
    }
}

impl FromStr for AsPathPrepend {
    type Err = ParseError;

    /// `"3"`: our AS three times; `"65001*2"`: AS 65001 twice.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || {
            ParseError::new(
                "AS path prepend",
                s,
                format!("expected a count 1 to {MAX_PREPEND} (our AS) or ASN*COUNT, e.g. \"65001*2\""),
            )
        };
        let t = s.trim();
        let (asn, count) = match t.split_once('*') {
            Some((a, c)) => {
                (Some(parse_asn(a).map_err(|e| ParseError::new("AS path prepend", s, e.why))?), c)
            }
            None => (None, t),
        };
        let count = count.trim().parse::<u8>().map_err(|_| err())?;
        AsPathPrepend::new(asn, count).map_err(|e| ParseError::new("AS path prepend", s, e.why))
    }
}

/// Add, remove or replace the members of a community-type list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListSet<T> {
    /// Append those not present yet.
    Add(Vec<T>),
    /// Remove every occurrence.
    Remove(Vec<T>),
    /// Replace the whole list; an empty list removes the attribute.
    Replace(Vec<T>),
}

impl<T: Copy + PartialEq> ListSet<T> {
    /// The new list, or `None` when `current` would not change (so an
    /// unchanged route is not copied).
    pub fn apply(&self, current: &[T]) -> Option<Vec<T>> {
        match self {
            ListSet::Add(items) => {
                if items.iter().all(|c| current.contains(c)) {
                    return None;
                }
                let mut out = current.to_vec();
                for c in items {
                    if !out.contains(c) {
                        out.push(*c);
                    }
                }
                Some(out)
            }
            ListSet::Remove(items) => {
                if !current.iter().any(|c| items.contains(c)) {
                    return None;
                }
                Some(current.iter().copied().filter(|c| !items.contains(c)).collect())
            }
            ListSet::Replace(items) => (current != items.as_slice()).then(|| items.clone()),
        }
    }
}

/// A community-type attribute the list actions work on.
pub(crate) trait CommunityList: Copy + PartialEq + Sized {
    const CODE: u8;
    fn get(v: &AttrValue) -> Option<&[Self]>;
    fn make(list: Vec<Self>) -> AttrValue;
}

impl CommunityList for Community {
    const CODE: u8 = code::COMMUNITIES;
    fn get(v: &AttrValue) -> Option<&[Self]> {
        match v {
            AttrValue::Communities(c) => Some(&c.0),
            _ => None,
        }
    }
    fn make(list: Vec<Self>) -> AttrValue {
        AttrValue::Communities(Communities(list))
    }
}

impl CommunityList for LargeCommunity {
    const CODE: u8 = code::LARGE_COMMUNITIES;
    fn get(v: &AttrValue) -> Option<&[Self]> {
        match v {
            AttrValue::LargeCommunities(c) => Some(&c.0),
            _ => None,
        }
    }
    fn make(list: Vec<Self>) -> AttrValue {
        AttrValue::LargeCommunities(LargeCommunities(list))
    }
}

impl CommunityList for ExtendedCommunity {
    const CODE: u8 = code::EXTENDED_COMMUNITIES;
    fn get(v: &AttrValue) -> Option<&[Self]> {
        match v {
            AttrValue::ExtendedCommunities(c) => Some(&c.0),
            _ => None,
        }
    }
    fn make(list: Vec<Self>) -> AttrValue {
        AttrValue::ExtendedCommunities(ExtendedCommunities(list))
    }
}

/// One set action. A term's actions run in order; later terms see the
/// result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetAction {
    LocalPref(u32),
    /// MULTI_EXIT_DISC.
    Med(u32),
    NextHop(NextHopChange),
    /// The local weight (never sent).
    Weight(u32),
    Community(ListSet<Community>),
    LargeCommunity(ListSet<LargeCommunity>),
    ExtCommunity(ListSet<ExtendedCommunity>),
    AsPathPrepend(AsPathPrepend),
}
