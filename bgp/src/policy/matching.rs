//! The match conditions of a policy term and their text forms.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use crate::aspath::{AsPath, SegmentType};
use crate::community::{Community, ExtendedCommunity, LargeCommunity};
use crate::family::Family;
use crate::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};

/// A string that is not a valid policy element: what was expected, the
/// input, and why it is not that.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {why}")]
pub struct ParseError {
    /// The kind of element that was expected, e.g. "prefix list entry".
    pub what: &'static str,
    pub input: String,
    /// What is wrong and what would be accepted.
    pub why: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, input: &str, why: impl Into<String>) -> Self {
        ParseError { what, input: input.to_owned(), why: why.into() }
    }
}

/// One entry of a prefix list, FRR/JunOS style:
///
/// - `P`: exactly the prefix P;
/// - `P le M`: P and every more specific prefix inside P up to length M;
/// - `P ge N`: every prefix inside P of length N up to the address size;
/// - `P ge N le M`: every prefix inside P of length N to M.
///
/// `len(P) <= N <= M <= 32 (128)` is enforced; an IPv4 entry never matches
/// an IPv6 prefix and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixEntry {
    prefix: Prefix,
    ge: Option<u8>,
    le: Option<u8>,
}

impl PrefixEntry {
    /// An entry; `Err` when `ge` or `le` is outside `len(prefix)..=max` or
    /// `ge > le`.
    pub fn new(prefix: Prefix, ge: Option<u8>, le: Option<u8>) -> Result<Self, ParseError> {
        let entry = PrefixEntry { prefix, ge, le };
        let input = entry.to_string();
        let max = max_len(&prefix);
        let len = prefix.length();
        for (word, v) in [("ge", ge), ("le", le)] {
            if let Some(v) = v
                && (v < len || v > max)
            {
                return Err(ParseError::new(
                    "prefix list entry",
                    &input,
                    format!("{word} {v} must be between the prefix length {len} and {max}"),
                ));
            }
        }
        if let (Some(g), Some(l)) = (ge, le)
            && g > l
        {
            return Err(ParseError::new(
                "prefix list entry",
                &input,
                format!("ge {g} is greater than le {l}: no prefix could match"),
            ));
        }
        Ok(entry)
    }

    /// Exactly this prefix.
    pub fn exact(prefix: Prefix) -> Self {
        PrefixEntry { prefix, ge: None, le: None }
    }

    pub fn prefix(&self) -> Prefix {
        self.prefix
    }

    /// The shortest length that matches.
    pub fn min_len(&self) -> u8 {
        self.ge.unwrap_or(self.prefix.length())
    }

    /// The longest length that matches.
    pub fn max_len(&self) -> u8 {
        match (self.ge, self.le) {
            (_, Some(le)) => le,
            (Some(_), None) => max_len(&self.prefix),
            (None, None) => self.prefix.length(),
        }
    }

    /// Does `p` fall inside this entry?
    pub fn matches(&self, p: &Prefix) -> bool {
        let inside = match (&self.prefix, p) {
            (Prefix::V4(a), Prefix::V4(b)) => a.contains(b),
            (Prefix::V6(a), Prefix::V6(b)) => a.contains(b),
            _ => false,
        };
        inside && (self.min_len()..=self.max_len()).contains(&p.length())
    }
}

fn max_len(p: &Prefix) -> u8 {
    match p {
        Prefix::V4(_) => 32,
        Prefix::V6(_) => 128,
    }
}

impl fmt::Display for PrefixEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.prefix)?;
        if let Some(g) = self.ge {
            write!(f, " ge {g}")?;
        }
        if let Some(l) = self.le {
            write!(f, " le {l}")?;
        }
        Ok(())
    }
}

impl FromStr for PrefixEntry {
    type Err = ParseError;

    /// `"198.51.100.0/24"`, `"198.51.100.0/24 le 32"`, `"10.0.0.0/8 ge 16"`,
    /// `"10.0.0.0/8 ge 16 le 24"` (in that order of words).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        const FORMS: &str = "expected \"PREFIX\", \"PREFIX le M\", \"PREFIX ge N\" or \"PREFIX ge N le M\"";
        let err = |why: String| ParseError::new("prefix list entry", s, why);
        let words: Vec<&str> = s.split_whitespace().collect();
        let (p, ge, le) = match words.as_slice() {
            [p] => (*p, None, None),
            [p, "le", m] => (*p, None, Some(*m)),
            [p, "ge", n] => (*p, Some(*n), None),
            [p, "ge", n, "le", m] => (*p, Some(*n), Some(*m)),
            _ => return Err(err(FORMS.to_owned())),
        };
        let prefix = p
            .parse::<Prefix>()
            .map_err(|e| err(format!("{e}; expected ADDRESS/LENGTH, e.g. 198.51.100.0/24")))?;
        let num = |word: &str, v: Option<&str>| -> Result<Option<u8>, ParseError> {
            v.map(|v| v.parse::<u8>().map_err(|_| err(format!("{word} {v:?} is not a prefix length"))))
                .transpose()
        };
        let (ge, le) = (num("ge", ge)?, num("le", le)?);
        PrefixEntry::new(prefix, ge, le).map_err(|e| err(e.why))
    }
}

/// A named prefix list: a prefix matches when any entry matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrefixList {
    pub name: String,
    pub entries: Vec<PrefixEntry>,
}

impl PrefixList {
    pub fn matches(&self, p: &Prefix) -> bool {
        self.entries.iter().any(|e| e.matches(p))
    }
}

/// An address, or every address inside a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressMatch {
    Address(IpAddr),
    Prefix(Prefix),
}

impl AddressMatch {
    pub fn matches(&self, a: IpAddr) -> bool {
        match self {
            AddressMatch::Address(x) => *x == a,
            AddressMatch::Prefix(p) => match (p, a) {
                (Prefix::V4(p), IpAddr::V4(a)) => Ipv4Prefix::new(a, 32).is_ok_and(|h| p.contains(&h)),
                (Prefix::V6(p), IpAddr::V6(a)) => Ipv6Prefix::new(a, 128).is_ok_and(|h| p.contains(&h)),
                _ => false,
            },
        }
    }
}

impl fmt::Display for AddressMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressMatch::Address(a) => a.fmt(f),
            AddressMatch::Prefix(p) => p.fmt(f),
        }
    }
}

impl FromStr for AddressMatch {
    type Err = ParseError;

    /// `"192.0.2.1"`, `"2001:db8::1"` or a prefix `"192.0.2.0/24"`.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let why = "expected an IP address or a prefix, e.g. 192.0.2.1 or 192.0.2.0/24";
        if t.contains('/') {
            t.parse::<Prefix>()
                .map(AddressMatch::Prefix)
                .map_err(|e| ParseError::new("address or prefix", s, format!("{e}; {why}")))
        } else {
            t.parse::<IpAddr>()
                .map(AddressMatch::Address)
                .map_err(|_| ParseError::new("address or prefix", s, why))
        }
    }
}

/// A regular expression over the AS path as text (the `regex` crate's
/// syntax, unanchored unless it says `^`/`$`).
///
/// The text form is the one FRR and BIRD show: AS numbers in decimal, an
/// AS_SEQUENCE as numbers separated by single spaces, an AS_SET in braces
/// with commas, confederation segments in `( )` (sequence) and `[ ]` (set),
/// segments separated by one space: `65001 65002 {65003,65004}`. A route
/// with no AS path (originated in our AS) is the empty string, so `^$`
/// matches it.
///
/// As in FRR and Cisco, `_` stands for a boundary: the start or end of the
/// text, a space, a comma or a bracket; `_65001_` matches 65001 anywhere in
/// the path, never 165001.
#[derive(Debug, Clone)]
pub struct AsPathRegex {
    source: String,
    regex: regex::Regex,
}

/// What `_` stands for.
const BOUNDARY: &str = r"(?:^|$|[ ,{}()\[\]])";
/// Compiled size limit: a configuration cannot make a regex eat memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl AsPathRegex {
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, path_text: &str) -> bool {
        self.regex.is_match(path_text)
    }
}

impl PartialEq for AsPathRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for AsPathRegex {}

impl fmt::Display for AsPathRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for AsPathRegex {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let translated = s.replace('_', BOUNDARY);
        let regex = regex::RegexBuilder::new(&translated)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                let detail = match e {
                    regex::Error::Syntax(m) => {
                        let last = m.lines().last().unwrap_or_default().trim();
                        last.strip_prefix("error: ").unwrap_or(last).to_owned()
                    }
                    regex::Error::CompiledTooBig(_) => "the expression is too large".to_owned(),
                    other => other.to_string(),
                };
                ParseError::new(
                    "AS path regular expression",
                    s,
                    format!("{detail}; expected a regular expression over text like \"65001 65002 {{65003,65004}}\""),
                )
            })?;
        Ok(AsPathRegex { source: s.to_owned(), regex })
    }
}

/// Write `path` in the text form [`AsPathRegex`] matches.
pub fn write_as_path_text(path: &AsPath, out: &mut impl fmt::Write) -> fmt::Result {
    for (i, seg) in path.segments.iter().enumerate() {
        if i > 0 {
            out.write_char(' ')?;
        }
        let (open, sep, close) = match seg.kind {
            SegmentType::Sequence => ("", ' ', ""),
            SegmentType::Set => ("{", ',', "}"),
            SegmentType::ConfedSequence => ("(", ' ', ")"),
            SegmentType::ConfedSet => ("[", ',', "]"),
        };
        out.write_str(open)?;
        for (j, asn) in seg.asns.iter().enumerate() {
            if j > 0 {
                out.write_char(sep)?;
            }
            write!(out, "{asn}")?;
        }
        out.write_str(close)?;
    }
    Ok(())
}

/// A text buffer on the stack that moves to the heap only for paths
/// longer than it: matching a regex does not allocate for usual paths.
pub(crate) struct PathText {
    stack: [u8; 512],
    len: usize,
    heap: Option<String>,
}

impl PathText {
    pub(crate) fn new(path: &AsPath) -> Self {
        let mut t = PathText { stack: [0; 512], len: 0, heap: None };
        // Writing to PathText cannot fail.
        let _ = write_as_path_text(path, &mut t);
        t
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.heap {
            Some(s) => s,
            None => self.stack.get(..self.len).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default(),
        }
    }
}

impl fmt::Write for PathText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(h) = &mut self.heap {
            h.push_str(s);
            return Ok(());
        }
        let end = self.len + s.len();
        match self.stack.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            None => {
                let mut h = String::with_capacity(end * 2);
                h.push_str(
                    self.stack.get(..self.len).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default(),
                );
                h.push_str(s);
                self.heap = Some(h);
            }
        }
        Ok(())
    }
}

/// One match condition. A term matches when all of its conditions do; a
/// condition with a list matches when any item does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The route's prefix falls in one of the entries (never for EVPN).
    Prefix(Vec<PrefixEntry>),
    /// The route's prefix falls in one of the named lists.
    PrefixList(Vec<Arc<PrefixList>>),
    /// COMMUNITIES holds one of these.
    Community(Vec<Community>),
    /// LARGE_COMMUNITY holds one of these.
    LargeCommunity(Vec<LargeCommunity>),
    /// EXTENDED_COMMUNITIES holds one of these (all 8 bytes equal).
    ExtCommunity(Vec<ExtendedCommunity>),
    /// The AS path holds one of these AS numbers (in any segment).
    AsPathContains(Vec<u32>),
    /// The last AS of a final AS_SEQUENCE is one of these.
    OriginAs(Vec<u32>),
    /// `min <= path length <= max` (an AS_SET counts 1, confederation
    /// segments 0, as in the decision process).
    AsPathLength { min: Option<usize>, max: Option<usize> },
    /// The path text matches one of these expressions.
    AsPathRegex(Vec<AsPathRegex>),
    /// The next hop (global or link-local) is one of these. A next hop set
    /// to `self` by an earlier term is not known yet and matches nothing.
    NextHop(Vec<AddressMatch>),
    /// The peer the route was learned from; a locally originated route
    /// matches nothing.
    Peer(Vec<AddressMatch>),
    /// The route's address family is one of these.
    Family(Vec<Family>),
}

impl Match {
    /// Whether this condition looks at the prefix (see
    /// [`super::Policy::depends_on_prefix`]).
    pub fn depends_on_prefix(&self) -> bool {
        matches!(self, Match::Prefix(_) | Match::PrefixList(_))
    }
}

/// Parse an AS number `1..=4294967295` (used by the AS path matches).
pub fn parse_asn(s: &str) -> Result<u32, ParseError> {
    match s.trim().parse::<u32>() {
        Ok(n) if n != 0 => Ok(n),
        _ => Err(ParseError::new("AS number", s, "expected a number from 1 to 4294967295")),
    }
}

/// Parse an address family name: `ipv4-unicast`, `ipv6-unicast`,
/// `l2vpn-evpn` (the names [`Family`] displays).
pub fn parse_family(s: &str) -> Result<Family, ParseError> {
    match s.trim() {
        "ipv4-unicast" => Ok(Family::IPV4_UNICAST),
        "ipv6-unicast" => Ok(Family::IPV6_UNICAST),
        "l2vpn-evpn" => Ok(Family::L2VPN_EVPN),
        _ => Err(ParseError::new(
            "address family",
            s,
            "expected \"ipv4-unicast\", \"ipv6-unicast\" or \"l2vpn-evpn\"",
        )),
    }
}
