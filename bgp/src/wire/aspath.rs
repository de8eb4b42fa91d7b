//! AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 5065 confederations, RFC 6793).
//!
//! ```text
//! +-----------------+-----------------+--------------------------------+
//! | segment type (1)| segment len (1) | len × AS number (2 or 4 octets)|
//! +-----------------+-----------------+--------------------------------+
//! ```
//!
//! AS numbers are always held as 4 octets; the width on the wire comes from
//! the session context (2 octets unless both sides sent the 4-octet AS
//! capability). [`AsPath::merge_as4`] rebuilds the true path from AS_PATH
//! and AS4_PATH received from a 2-octet-only speaker.

use std::fmt;

use crate::wire::error::{DecodeError, ErrorKind};
use crate::wire::reader::Reader;

/// The AS number a 2-octet speaker sees in place of a 4-octet one (RFC 6793).
pub const AS_TRANS: u32 = 23456;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentType {
    Set,
    Sequence,
    ConfedSequence,
    ConfedSet,
}

impl SegmentType {
    pub fn code(self) -> u8 {
        match self {
            SegmentType::Set => 1,
            SegmentType::Sequence => 2,
            SegmentType::ConfedSequence => 3,
            SegmentType::ConfedSet => 4,
        }
    }
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(SegmentType::Set),
            2 => Some(SegmentType::Sequence),
            3 => Some(SegmentType::ConfedSequence),
            4 => Some(SegmentType::ConfedSet),
            _ => None,
        }
    }
    pub fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }
}

/// One path segment. Never empty when decoded (RFC 7606 §7.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    pub kind: SegmentType,
    pub asns: Vec<u32>,
}

impl AsSegment {
    pub fn sequence(asns: impl Into<Vec<u32>>) -> Self {
        AsSegment { kind: SegmentType::Sequence, asns: asns.into() }
    }
    pub fn set(asns: impl Into<Vec<u32>>) -> Self {
        AsSegment { kind: SegmentType::Set, asns: asns.into() }
    }
}

/// An AS path: a list of segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    pub fn new(segments: Vec<AsSegment>) -> Self {
        AsPath { segments }
    }

    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl Into<Vec<u32>>) -> Self {
        let asns = asns.into();
        if asns.is_empty() { AsPath::default() } else { AsPath { segments: vec![AsSegment::sequence(asns)] } }
    }

    /// Decode an AS_PATH or AS4_PATH value. `four_octet` gives the AS width.
    pub fn decode(value: &[u8], offset: usize, four_octet: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::at(value, offset);
        let width = if four_octet { 4 } else { 2 };
        // Each segment takes at least 2 + width bytes: bounded allocation.
        let mut segments = Vec::with_capacity(value.len() / (2 + width));
        while !r.is_empty() {
            let at = r.offset();
            let code = r.u8("AS path segment type")?;
            let kind = SegmentType::from_code(code).ok_or_else(|| {
                DecodeError::new(at, "AS path segment type", ErrorKind::BadValue { value: code.into() })
            })?;
            let count = r.u8("AS path segment length")?;
            if count == 0 {
                return Err(DecodeError::new(
                    at + 1,
                    "AS path segment length",
                    ErrorKind::BadLength { length: 0 },
                ));
            }
            let mut seg = r.sub(usize::from(count) * width, "AS path segment")?;
            let mut asns = Vec::with_capacity(count.into());
            while !seg.is_empty() {
                asns.push(if four_octet { seg.u32("AS number")? } else { seg.u16("AS number")?.into() });
            }
            segments.push(AsSegment { kind, asns });
        }
        Ok(AsPath { segments })
    }

    /// Encode the value; with `four_octet` false, AS numbers above 65535
    /// are written as AS_TRANS (the caller adds AS4_PATH).
    pub fn encode(&self, out: &mut Vec<u8>, four_octet: bool) {
        for seg in &self.segments {
            // A segment holds at most 255 AS numbers: longer ones are split.
            for chunk in seg.asns.chunks(255) {
                out.push(seg.kind.code());
                out.push(chunk.len() as u8);
                for &asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let a = u16::try_from(asn).unwrap_or(AS_TRANS as u16);
                        out.extend_from_slice(&a.to_be_bytes());
                    }
                }
            }
        }
    }

    /// Does the path hold any AS number that needs 4 octets?
    pub fn has_four_octet_asns(&self) -> bool {
        self.segments.iter().flat_map(|s| &s.asns).any(|&a| a > 0xffff)
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2): an AS_SET
    /// counts 1, confederation segments count 0 (RFC 5065).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// The AS that originated the route: the last AS of a final
    /// AS_SEQUENCE, if there is one.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(AsSegment { kind: SegmentType::Sequence, asns }) => asns.last().copied(),
            _ => None,
        }
    }

    /// The neighbouring AS: the first AS of a leading AS_SEQUENCE.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(AsSegment { kind: SegmentType::Sequence, asns }) => asns.first().copied(),
            _ => None,
        }
    }

    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    pub fn has_confed(&self) -> bool {
        self.segments.iter().any(|s| s.kind.is_confed())
    }

    /// Rebuild the real path from AS_PATH (`self`) and AS4_PATH received
    /// from a 2-octet speaker (RFC 6793 §4.2.3). If AS4_PATH is longer than
    /// AS_PATH, or holds confederation segments, it is ignored.
    pub fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let n = self.path_len();
        let n4 = as4.path_len();
        if n < n4 || as4.has_confed() {
            return self.clone();
        }
        // Keep the leading (n - n4) AS numbers of AS_PATH, counted the same
        // way as path_len, confederation segments kept whole.
        let mut keep = n - n4;
        let mut segments = Vec::new();
        for seg in &self.segments {
            if keep == 0 {
                if seg.kind.is_confed() {
                    segments.push(seg.clone());
                    continue;
                }
                break;
            }
            match seg.kind {
                SegmentType::Sequence => {
                    let take = keep.min(seg.asns.len());
                    segments.push(AsSegment {
                        kind: SegmentType::Sequence,
                        asns: seg.asns.iter().take(take).copied().collect(),
                    });
                    keep -= take;
                }
                SegmentType::Set => {
                    segments.push(seg.clone());
                    keep -= 1;
                }
                _ => segments.push(seg.clone()),
            }
        }
        // Join a trailing sequence with a leading AS4 sequence.
        let mut rest = as4.segments.iter().cloned();
        if let (Some(last), Some(first)) = (segments.last_mut(), as4.segments.first())
            && last.kind == SegmentType::Sequence
            && first.kind == SegmentType::Sequence
        {
            last.asns.extend_from_slice(&first.asns);
            rest.next();
        }
        segments.extend(rest);
        AsPath { segments }
    }
}

impl fmt::Display for AsPath {
    /// Like FRR and BIRD: `65001 65002 {65003,65004} (65005)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let list = |sep: &str| seg.asns.iter().map(u32::to_string).collect::<Vec<_>>().join(sep);
            match seg.kind {
                SegmentType::Sequence => f.write_str(&list(" "))?,
                SegmentType::Set => write!(f, "{{{}}}", list(","))?,
                SegmentType::ConfedSequence => write!(f, "({})", list(" "))?,
                SegmentType::ConfedSet => write!(f, "[{}]", list(","))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn as_path(four_octet: bool) -> impl Strategy<Value = AsPath> {
        // Never AS 0: a path with it is malformed (RFC 7607), not a value to round-trip.
        let asn = if four_octet { (1u32..=u32::MAX).boxed() } else { (1u32..=0xffff).boxed() };
        let kind = prop_oneof![
            4 => Just(SegmentType::Sequence),
            1 => Just(SegmentType::Set),
            1 => Just(SegmentType::ConfedSequence),
            1 => Just(SegmentType::ConfedSet),
        ];
        proptest::collection::vec(
            (kind, proptest::collection::vec(asn, 1..12)).prop_map(|(kind, asns)| AsSegment { kind, asns }),
            0..5,
        )
        .prop_map(AsPath::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decode_two_and_four_octet() {
        let v2 = [2, 2, 0xfd, 0xe9, 0x5b, 0xa0, 1, 1, 0xfd, 0xea];
        let p = AsPath::decode(&v2, 0, false).unwrap();
        assert_eq!(p.to_string(), "65001 23456 {65002}");
        assert_eq!(p.path_len(), 3);
        let v4 = [2, 1, 0xfa, 0x56, 0xea, 0x01];
        assert_eq!(AsPath::decode(&v4, 0, true).unwrap().origin_as(), Some(4_200_000_001));
    }

    #[test]
    fn malformed_segments() {
        // zero-length segment
        assert_eq!(AsPath::decode(&[2, 0], 30, true).unwrap_err().offset, 31);
        // bad type
        assert_eq!(
            AsPath::decode(&[5, 1, 0, 0, 0, 1], 30, true).unwrap_err().kind,
            ErrorKind::BadValue { value: 5 }
        );
        // overrun
        let e = AsPath::decode(&[2, 2, 0, 0, 0, 1], 30, true).unwrap_err();
        assert_eq!((e.offset, e.field), (32, "AS path segment"));
        // one byte left after a good segment
        assert!(AsPath::decode(&[2, 1, 0, 1, 2], 0, false).is_err());
    }

    #[test]
    fn merge_as4_rebuilds_path() {
        // 2-octet view: 65001 AS_TRANS AS_TRANS; AS4_PATH: 4200000001 4200000002
        let as_path = AsPath::from_sequence(vec![65001, AS_TRANS, AS_TRANS]);
        let as4 = AsPath::from_sequence(vec![4_200_000_001, 4_200_000_002]);
        assert_eq!(as_path.merge_as4(&as4).to_string(), "65001 4200000001 4200000002");
        // AS4_PATH longer than AS_PATH is ignored
        let short = AsPath::from_sequence(vec![AS_TRANS]);
        assert_eq!(short.merge_as4(&as4), short);
    }

    #[test]
    fn long_segments_split_at_255() {
        let p = AsPath::from_sequence((1..=300).collect::<Vec<u32>>());
        let mut out = Vec::new();
        p.encode(&mut out, true);
        let back = AsPath::decode(&out, 0, true).unwrap();
        assert_eq!(back.segments.len(), 2);
        assert_eq!(back.path_len(), 300);
    }

    proptest! {
        #[test]
        fn round_trip(p in strategies::as_path(true), four in any::<bool>()) {
            let mut out = Vec::new();
            p.encode(&mut out, four);
            let back = AsPath::decode(&out, 0, four).unwrap();
            if four || !p.has_four_octet_asns() {
                prop_assert_eq!(back, p);
            } else {
                prop_assert_eq!(back.path_len(), p.path_len());
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80), four in any::<bool>()) {
            let _ = AsPath::decode(&bytes, 0, four);
        }
    }
}
