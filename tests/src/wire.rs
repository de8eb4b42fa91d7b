//! Byte builders for hand-made BGP messages (RFC 4271 §4.3), for tests
//! that send what a well-behaved speaker never would.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::net::IpAddr;

/// The Extended Length attribute flag.
const EXTENDED_LENGTH: u8 = 0x10;

/// A whole UPDATE message from withdrawn-routes bytes, raw attributes and
/// NLRI bytes. Panics on a message over 65535 bytes (test input).
pub fn update(withdrawn: &[u8], attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut m = vec![0xff; 16];
    let len = 19 + 2 + withdrawn.len() + 2 + attrs.len() + nlri.len();
    m.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
    m.push(2);
    m.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    m.extend_from_slice(withdrawn);
    m.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    m.extend_from_slice(&attrs);
    m.extend_from_slice(nlri);
    m
}

/// One path attribute: flags, type code, length (1 or 2 octets by the
/// Extended Length flag), value. Panics on a value too long for its
/// length field (test input).
pub fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code];
    if flags & EXTENDED_LENGTH != 0 {
        a.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    } else {
        a.push(u8::try_from(value.len()).unwrap());
    }
    a.extend_from_slice(value);
    a
}

/// Prefixes ("198.51.100.0/26", "2001:db8:200::/48") in NLRI encoding.
/// Panics on a malformed literal (test input).
pub fn nlri(prefixes: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in prefixes {
        let (addr, len) = p.split_once('/').unwrap();
        let len: u8 = len.parse().unwrap();
        let octets = match addr.parse::<IpAddr>().unwrap() {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        out.push(len);
        out.extend_from_slice(&octets[..usize::from(len).div_ceil(8)]);
    }
    out
}
