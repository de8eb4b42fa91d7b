//! The 3-octet label field of EVPN routes (RFC 7432 §7, RFC 8365 §5.1.3).
//!
//! With MPLS the field holds a 20-bit label in its high bits; with VXLAN
//! (RFC 8365, what FRR and mdc use) it holds the whole 24-bit VNI. The raw
//! 24-bit value is stored, so both readings come from the same bytes and a
//! round trip is byte-exact.

use std::fmt;

/// A 24-bit label field.
///
/// ```text
///  0                   1                   2
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |        VXLAN: VNI (24 bits)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  MPLS: Label (20 bits)               |TC/0 |S|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Label(u32);

impl Label {
    /// Largest raw value (and largest VNI).
    pub const MAX: u32 = 0x00ff_ffff;
    /// Largest MPLS label.
    pub const MAX_MPLS: u32 = 0x000f_ffff;
    /// Octets on the wire.
    pub const LEN: usize = 3;

    /// From the raw 24-bit value; `None` if it does not fit 24 bits.
    pub const fn new(raw: u32) -> Option<Label> {
        if raw <= Self::MAX { Some(Label(raw)) } else { None }
    }

    /// A VXLAN label carrying `vni` (RFC 8365); `None` above 2^24 - 1.
    pub const fn from_vni(vni: u32) -> Option<Label> {
        Self::new(vni)
    }

    /// An MPLS label (20 bits) with the bottom-of-stack bit as RFC 3032
    /// places it; `None` above 2^20 - 1.
    pub const fn from_mpls(label: u32, bottom_of_stack: bool) -> Option<Label> {
        if label <= Self::MAX_MPLS { Some(Label(label << 4 | bottom_of_stack as u32)) } else { None }
    }

    pub const fn from_bytes(b: [u8; 3]) -> Label {
        let [a, b, c] = b;
        Label(u32::from_be_bytes([0, a, b, c]))
    }

    pub const fn to_bytes(&self) -> [u8; 3] {
        let [_, a, b, c] = self.0.to_be_bytes();
        [a, b, c]
    }

    /// The raw 24-bit field.
    pub const fn raw(&self) -> u32 {
        self.0
    }

    /// The field read as a VXLAN VNI (all 24 bits).
    pub const fn vni(&self) -> u32 {
        self.0
    }

    /// The field read as an MPLS label (the high 20 bits).
    pub const fn mpls_label(&self) -> u32 {
        self.0 >> 4
    }

    /// The MPLS bottom-of-stack bit (lowest bit).
    pub const fn bottom_of_stack(&self) -> bool {
        self.0 & 1 == 1
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl fmt::Display for Label {
    /// The raw value, which is the VNI for VXLAN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn label() -> impl Strategy<Value = Label> {
        (0..=Label::MAX).prop_map(Label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vni_uses_all_24_bits() {
        let l = Label::from_bytes([0x00, 0x27, 0x10]);
        assert_eq!(l.vni(), 10000);
        let big = Label::from_vni(0x00ab_cdef).unwrap();
        assert_eq!(big.to_bytes(), [0xab, 0xcd, 0xef]);
        assert_eq!(big.mpls_label(), 0xabcde);
        assert!(big.bottom_of_stack());
        assert_eq!(Label::from_vni(1 << 24), None);
    }

    #[test]
    fn mpls_view() {
        let l = Label::from_mpls(100, true).unwrap();
        assert_eq!(l.to_bytes(), [0x00, 0x06, 0x41]);
        assert_eq!(l.mpls_label(), 100);
        assert!(l.bottom_of_stack());
        assert_eq!(Label::from_mpls(1 << 20, false), None);
        assert_eq!(Label::from_mpls(Label::MAX_MPLS, false).map(|l| l.raw()), Some(0x00ff_fff0));
    }

    proptest! {
        #[test]
        fn bytes_round_trip(b in any::<[u8; 3]>()) {
            let l = Label::from_bytes(b);
            prop_assert_eq!(l.to_bytes(), b);
            prop_assert_eq!(Label::new(l.raw()), Some(l));
        }

        #[test]
        fn mpls_round_trip(label in 0..=Label::MAX_MPLS, s in any::<bool>()) {
            let l = Label::from_mpls(label, s).unwrap();
            prop_assert_eq!((l.mpls_label(), l.bottom_of_stack()), (label, s));
        }
    }
}
