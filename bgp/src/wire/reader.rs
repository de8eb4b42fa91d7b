//! A bounds-checked, zero-copy reader over a byte slice that remembers where
//! it is in the whole message, so every error names its byte offset.
//!
//! Every read either returns the bytes asked for or a [`DecodeError`]; no
//! method can panic or allocate.

use crate::wire::error::{DecodeError, ErrorKind};

#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` within the message.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole message (offsets start at 0).
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, base: 0 }
    }

    /// A reader over `buf`, which starts at `base` bytes into the message.
    pub fn at(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// Offset of the next byte within the message.
    #[inline]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The unread bytes, without consuming them.
    #[inline]
    pub fn peek_rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Consume and return every unread byte.
    #[inline]
    pub fn rest(&mut self) -> &'a [u8] {
        let r = self.peek_rest();
        self.pos = self.buf.len();
        r
    }

    /// An error at the current offset.
    pub fn error(&self, field: &'static str, kind: ErrorKind) -> DecodeError {
        DecodeError::new(self.offset(), field, kind)
    }

    #[inline]
    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => Err(self.error(field, ErrorKind::Truncated { needed: n, available: self.remaining() })),
        }
    }

    /// A sub-reader over the next `n` bytes, keeping absolute offsets.
    #[inline]
    pub fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>, DecodeError> {
        let base = self.offset();
        let b = self.bytes(n, field)?;
        Ok(Reader::at(b, base))
    }

    #[inline]
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let b = self.bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    #[inline]
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.error(field, ErrorKind::Truncated { needed: 1, available: 0 })),
        }
    }

    #[inline]
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    #[inline]
    pub fn u24(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let [a, b, c] = self.array(field)?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    #[inline]
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    #[inline]
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    pub fn ipv4(&mut self, field: &'static str) -> Result<std::net::Ipv4Addr, DecodeError> {
        Ok(std::net::Ipv4Addr::from(self.array::<4>(field)?))
    }

    pub fn ipv6(&mut self, field: &'static str) -> Result<std::net::Ipv6Addr, DecodeError> {
        Ok(std::net::Ipv6Addr::from(self.array::<16>(field)?))
    }

    /// Skip `n` bytes the caller has already seen through [`Reader::peek_rest`].
    /// Skipping past the end leaves the reader empty.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
    }

    /// Fail if any byte is left unread.
    pub fn finish(&self, field: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(field, ErrorKind::TrailingBytes { count: self.remaining() }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_absolute_in_sub_readers() {
        let data = [1u8, 2, 3, 4, 5, 6];
        let mut r = Reader::at(&data, 19);
        assert_eq!(r.u8("a"), Ok(1));
        let mut s = r.sub(3, "b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.offset(), 20);
        assert_eq!(s.u16("c"), Ok(0x0203));
        let err = s.u16("d").unwrap_err();
        assert_eq!(err.offset, 22);
        assert_eq!(err.field, "d");
        assert_eq!(err.kind, ErrorKind::Truncated { needed: 2, available: 1 });
        assert_eq!(r.offset(), 23);
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let data = [0u8; 4];
        let mut r = Reader::new(&data);
        assert!(r.bytes(usize::MAX, "x").is_err());
        assert_eq!(r.remaining(), 4);
    }
}
