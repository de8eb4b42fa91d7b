//! IP prefixes as they travel in NLRI, withdrawn routes and
//! MP_REACH/MP_UNREACH (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 path ids).
//!
//! ```text
//! +---------------------------+
//! | Path Identifier (4 octets)|   only with ADD-PATH (RFC 7911)
//! +---------------------------+
//! |   Length (1 octet)        |   prefix length in bits
//! +---------------------------+
//! |   Prefix (variable)       |   ceil(length / 8) octets
//! +---------------------------+
//! ```
//!
//! [`PrefixIter`] walks an NLRI field lazily without allocating; host bits
//! past the prefix length are cleared, as RFC 4271 says they are irrelevant.

use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::wire::error::{DecodeError, ErrorKind};
use crate::wire::family::Afi;
use crate::wire::reader::Reader;

/// The prefix length is larger than the address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid prefix: {0}")]
pub struct PrefixError(pub &'static str);

/// An IPv4 prefix with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Prefix {
    addr: Ipv4Addr,
    len: u8,
}

/// An IPv6 prefix with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Prefix {
    addr: Ipv6Addr,
    len: u8,
}

#[inline]
fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len.min(32))).unwrap_or(0)
}

#[inline]
fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len.min(128))).unwrap_or(0)
}

impl Ipv4Prefix {
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 32 {
            return Err(PrefixError("IPv4 prefix length over 32"));
        }
        Ok(Ipv4Prefix { addr: Ipv4Addr::from(u32::from(addr) & mask32(len)), len })
    }
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }
    pub fn length(&self) -> u8 {
        self.len
    }
    /// The default route has length 0.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }
    pub fn contains(&self, other: &Ipv4Prefix) -> bool {
        other.len >= self.len && u32::from(other.addr) & mask32(self.len) == u32::from(self.addr)
    }
}

impl Ipv6Prefix {
    pub fn new(addr: Ipv6Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 128 {
            return Err(PrefixError("IPv6 prefix length over 128"));
        }
        Ok(Ipv6Prefix { addr: Ipv6Addr::from(u128::from(addr) & mask128(len)), len })
    }
    pub fn addr(&self) -> Ipv6Addr {
        self.addr
    }
    pub fn length(&self) -> u8 {
        self.len
    }
    pub fn is_default(&self) -> bool {
        self.len == 0
    }
    pub fn contains(&self, other: &Ipv6Prefix) -> bool {
        other.len >= self.len && u128::from(other.addr) & mask128(self.len) == u128::from(self.addr)
    }
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prefix {
    V4(Ipv4Prefix),
    V6(Ipv6Prefix),
}

impl Prefix {
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        match addr {
            IpAddr::V4(a) => Ipv4Prefix::new(a, len).map(Prefix::V4),
            IpAddr::V6(a) => Ipv6Prefix::new(a, len).map(Prefix::V6),
        }
    }
    pub fn addr(&self) -> IpAddr {
        match self {
            Prefix::V4(p) => IpAddr::V4(p.addr),
            Prefix::V6(p) => IpAddr::V6(p.addr),
        }
    }
    pub fn length(&self) -> u8 {
        match self {
            Prefix::V4(p) => p.len,
            Prefix::V6(p) => p.len,
        }
    }
    pub fn is_default(&self) -> bool {
        self.length() == 0
    }
    pub fn afi(&self) -> Afi {
        match self {
            Prefix::V4(_) => Afi::IPV4,
            Prefix::V6(_) => Afi::IPV6,
        }
    }
}

impl From<Ipv4Prefix> for Prefix {
    fn from(p: Ipv4Prefix) -> Self {
        Prefix::V4(p)
    }
}

impl From<Ipv6Prefix> for Prefix {
    fn from(p: Ipv6Prefix) -> Self {
        Prefix::V6(p)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prefix::V4(p) => p.fmt(f),
            Prefix::V6(p) => p.fmt(f),
        }
    }
}

fn split_prefix(s: &str) -> Result<(&str, u8), PrefixError> {
    let (a, l) = s.split_once('/').ok_or(PrefixError("expected ADDRESS/LENGTH"))?;
    let len = l.parse().map_err(|_| PrefixError("prefix length is not a number"))?;
    Ok((a, len))
}

impl FromStr for Ipv4Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let (a, len) = split_prefix(s)?;
        Ipv4Prefix::new(a.parse().map_err(|_| PrefixError("not an IPv4 address"))?, len)
    }
}

impl FromStr for Ipv6Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let (a, len) = split_prefix(s)?;
        Ipv6Prefix::new(a.parse().map_err(|_| PrefixError("not an IPv6 address"))?, len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let (a, len) = split_prefix(s)?;
        Prefix::new(a.parse().map_err(|_| PrefixError("not an IP address"))?, len)
    }
}

/// A prefix type that can be read from and written to an NLRI field.
pub trait WirePrefix: Copy + Sized {
    const AFI: Afi;
    const MAX_LEN: u8;
    /// Read one length-prefixed prefix (without path id).
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    fn encode(&self, out: &mut Vec<u8>);
    /// Bytes `encode` writes.
    fn wire_len(&self) -> usize;
}

#[inline]
fn prefix_bytes<'a>(r: &mut Reader<'a>, max: u8) -> Result<(u8, &'a [u8]), DecodeError> {
    let at = r.offset();
    let len = r.u8("prefix length")?;
    if len > max {
        return Err(DecodeError::new(at, "prefix length", ErrorKind::BadLength { length: len.into() }));
    }
    let bytes = r.bytes(usize::from(len).div_ceil(8), "prefix")?;
    Ok((len, bytes))
}

/// Read a length-prefixed prefix into an N-byte address, zero-padded.
#[inline]
fn read_padded<const N: usize>(r: &mut Reader<'_>, max: u8) -> Result<([u8; N], u8), DecodeError> {
    let (len, bytes) = prefix_bytes(r, max)?;
    let mut a = [0u8; N];
    for (d, s) in a.iter_mut().zip(bytes) {
        *d = *s;
    }
    Ok((a, len))
}

/// Write the length byte and the significant octets of an address.
#[inline]
fn write_prefix(out: &mut Vec<u8>, len: u8, octets: &[u8]) {
    out.push(len);
    out.extend_from_slice(octets.get(..usize::from(len).div_ceil(8)).unwrap_or(octets));
}

impl WirePrefix for Ipv4Prefix {
    const AFI: Afi = Afi::IPV4;
    const MAX_LEN: u8 = 32;

    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Fast path: with 5 bytes in view, load all four address bytes at
        // once and mask off what belongs to the next prefix.
        if let Some(&[len @ 0..=32, a, b, c, d]) = r.peek_rest().get(..5) {
            r.advance(1 + usize::from(len).div_ceil(8));
            let addr = u32::from_be_bytes([a, b, c, d]) & mask32(len);
            return Ok(Ipv4Prefix { addr: Ipv4Addr::from(addr), len });
        }
        let (a, len) = read_padded::<4>(r, 32)?;
        Ok(Ipv4Prefix { addr: Ipv4Addr::from(u32::from_be_bytes(a) & mask32(len)), len })
    }

    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        write_prefix(out, self.len, &self.addr.octets());
    }

    #[inline]
    fn wire_len(&self) -> usize {
        1 + usize::from(self.len).div_ceil(8)
    }
}

impl WirePrefix for Ipv6Prefix {
    const AFI: Afi = Afi::IPV6;
    const MAX_LEN: u8 = 128;

    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Fast path, as for IPv4: one 17-byte window, masked.
        if let Some(&[len @ 0..=128, ref window @ ..]) = r.peek_rest().get(..17) {
            let mut a = [0u8; 16];
            a.copy_from_slice(window);
            r.advance(1 + usize::from(len).div_ceil(8));
            let addr = u128::from_be_bytes(a) & mask128(len);
            return Ok(Ipv6Prefix { addr: Ipv6Addr::from(addr), len });
        }
        let (a, len) = read_padded::<16>(r, 128)?;
        Ok(Ipv6Prefix { addr: Ipv6Addr::from(u128::from_be_bytes(a) & mask128(len)), len })
    }

    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        write_prefix(out, self.len, &self.addr.octets());
    }

    #[inline]
    fn wire_len(&self) -> usize {
        1 + usize::from(self.len).div_ceil(8)
    }
}

/// One NLRI: a prefix and, with ADD-PATH, its path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri<P = Prefix> {
    pub path_id: Option<u32>,
    pub prefix: P,
}

impl<P> Nlri<P> {
    pub fn new(prefix: P) -> Self {
        Nlri { path_id: None, prefix }
    }
    pub fn with_path_id(path_id: u32, prefix: P) -> Self {
        Nlri { path_id: Some(path_id), prefix }
    }
}

impl<P: WirePrefix> Nlri<P> {
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(id) = self.path_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        self.prefix.encode(out);
    }
    pub fn wire_len(&self) -> usize {
        self.prefix.wire_len() + if self.path_id.is_some() { 4 } else { 0 }
    }
}

impl Nlri<Prefix> {
    pub fn encode_any(&self, out: &mut Vec<u8>) {
        if let Some(id) = self.path_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        match self.prefix {
            Prefix::V4(p) => p.encode(out),
            Prefix::V6(p) => p.encode(out),
        }
    }
    pub fn wire_len_any(&self) -> usize {
        let p = match self.prefix {
            Prefix::V4(p) => p.wire_len(),
            Prefix::V6(p) => p.wire_len(),
        };
        p + if self.path_id.is_some() { 4 } else { 0 }
    }
}

impl<P: fmt::Display> fmt::Display for Nlri<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path_id {
            Some(id) => write!(f, "{} (path id {id})", self.prefix),
            None => self.prefix.fmt(f),
        }
    }
}

/// A lazy, allocation-free iterator over an NLRI field. After the first
/// error it yields that error and then stops.
#[derive(Debug, Clone)]
pub struct PrefixIter<'a, P> {
    r: Reader<'a>,
    add_path: bool,
    done: bool,
    _p: PhantomData<P>,
}

impl<'a, P: WirePrefix> PrefixIter<'a, P> {
    /// Iterate the NLRI in `field`, which starts `offset` bytes into the message.
    pub fn new(field: &'a [u8], offset: usize, add_path: bool) -> Self {
        PrefixIter { r: Reader::at(field, offset), add_path, done: false, _p: PhantomData }
    }

    #[inline]
    fn read(&mut self) -> Result<Nlri<P>, DecodeError> {
        let path_id = if self.add_path { Some(self.r.u32("path identifier")?) } else { None };
        Ok(Nlri { path_id, prefix: P::decode(&mut self.r)? })
    }

    /// Check the whole field; on success, the number of NLRI in it.
    pub fn validate(mut self) -> Result<usize, DecodeError> {
        let mut n = 0;
        while !self.r.is_empty() {
            self.read()?;
            n += 1;
        }
        Ok(n)
    }
}

impl<P: WirePrefix> Iterator for PrefixIter<'_, P> {
    type Item = Result<Nlri<P>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.r.is_empty() {
            return None;
        }
        let item = self.read();
        self.done = item.is_err();
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done { (0, Some(0)) } else { (0, Some(self.r.remaining())) }
    }
}

/// Decode a whole NLRI field of `afi` into `out` (one allocation for the
/// vector, none per prefix).
pub fn decode_prefixes(
    afi: Afi,
    field: &[u8],
    offset: usize,
    add_path: bool,
    out: &mut Vec<Nlri>,
) -> Result<(), DecodeError> {
    match afi {
        Afi::IPV6 => {
            for n in PrefixIter::<Ipv6Prefix>::new(field, offset, add_path) {
                let n = n?;
                out.push(Nlri { path_id: n.path_id, prefix: Prefix::V6(n.prefix) });
            }
        }
        _ => {
            for n in PrefixIter::<Ipv4Prefix>::new(field, offset, add_path) {
                let n = n?;
                out.push(Nlri { path_id: n.path_id, prefix: Prefix::V4(n.prefix) });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn ipv4_prefix() -> impl Strategy<Value = Ipv4Prefix> {
        (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Prefix::new(Ipv4Addr::from(a), l).unwrap())
    }

    pub fn ipv6_prefix() -> impl Strategy<Value = Ipv6Prefix> {
        (any::<u128>(), 0u8..=128).prop_map(|(a, l)| Ipv6Prefix::new(Ipv6Addr::from(a), l).unwrap())
    }

    pub fn nlri_list(afi: Afi, add_path: bool, max: usize) -> impl Strategy<Value = Vec<Nlri>> {
        let prefix = if afi == Afi::IPV6 {
            ipv6_prefix().prop_map(Prefix::V6).boxed()
        } else {
            ipv4_prefix().prop_map(Prefix::V4).boxed()
        };
        let path_id = if add_path { any::<u32>().prop_map(Some).boxed() } else { Just(None).boxed() };
        proptest::collection::vec(
            (path_id, prefix).prop_map(|(path_id, prefix)| Nlri { path_id, prefix }),
            0..max,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_prefixes_and_clears_host_bits() {
        // 192.0.2.0/24, 198.51.100.128/25 with a stray host bit, 0.0.0.0/0
        let field = [24, 192, 0, 2, 25, 198, 51, 100, 0x81, 0];
        let got: Vec<_> =
            PrefixIter::<Ipv4Prefix>::new(&field, 23, false).map(|n| n.unwrap().prefix.to_string()).collect();
        assert_eq!(got, ["192.0.2.0/24", "198.51.100.128/25", "0.0.0.0/0"]);
    }

    #[test]
    fn too_long_prefix_names_offset() {
        let field = [24, 192, 0, 2, 33, 1, 2, 3, 4, 5];
        let mut it = PrefixIter::<Ipv4Prefix>::new(&field, 23, false);
        assert!(it.next().unwrap().is_ok());
        let err = it.next().unwrap().unwrap_err();
        assert_eq!(
            (err.offset, err.field, err.kind),
            (27, "prefix length", ErrorKind::BadLength { length: 33 })
        );
        assert!(it.next().is_none(), "iteration stops after an error");
    }

    #[test]
    fn overrun_is_an_error() {
        let field = [24, 192, 0];
        let err = PrefixIter::<Ipv4Prefix>::new(&field, 0, false).validate().unwrap_err();
        assert_eq!(err.offset, 1);
        assert_eq!(err.kind, ErrorKind::Truncated { needed: 3, available: 2 });
    }

    #[test]
    fn add_path_ids() {
        let field = [0, 0, 0, 7, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1];
        let n: Vec<_> = PrefixIter::<Ipv6Prefix>::new(&field, 0, true).collect::<Result<_, _>>().unwrap();
        assert_eq!(n, vec![Nlri::with_path_id(7, "2001:db8:1::/48".parse().unwrap())]);
    }

    #[test]
    fn parse_and_contains() {
        let p: Prefix = "2001:db8::/32".parse().unwrap();
        assert_eq!(p.length(), 32);
        assert!("192.0.2.1/33".parse::<Prefix>().is_err());
        let a: Ipv4Prefix = "10.0.0.0/8".parse().unwrap();
        assert!(a.contains(&"10.1.0.0/16".parse().unwrap()));
        assert!(!a.contains(&"11.0.0.0/16".parse().unwrap()));
    }

    proptest! {
        #[test]
        fn round_trip_v4(list in strategies::nlri_list(Afi::IPV4, false, 50)) {
            let mut buf = Vec::new();
            for n in &list { n.encode_any(&mut buf); }
            let mut back = Vec::new();
            decode_prefixes(Afi::IPV4, &buf, 0, false, &mut back).unwrap();
            prop_assert_eq!(back, list);
        }

        #[test]
        fn round_trip_v6_add_path(list in strategies::nlri_list(Afi::IPV6, true, 50)) {
            let mut buf = Vec::new();
            for n in &list { n.encode_any(&mut buf); }
            prop_assert_eq!(buf.len(), list.iter().map(Nlri::wire_len_any).sum::<usize>());
            let mut back = Vec::new();
            decode_prefixes(Afi::IPV6, &buf, 0, true, &mut back).unwrap();
            prop_assert_eq!(back, list);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), ap in any::<bool>()) {
            let n = PrefixIter::<Ipv6Prefix>::new(&bytes, 0, ap).count();
            prop_assert!(n <= bytes.len());
        }
    }
}
