//! Route Distinguishers (RFC 4364 §4.2), the first field of every EVPN
//! route (RFC 7432 §7.9).
//!
//! Owns the 8-octet value, its typed views, and the FRR text form. It does
//! not pick RDs (auto-RD `router-id:index` is the MAC-VRF's business).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use mdc_bgp::DecodeError;
use mdc_bgp::reader::Reader;

use crate::ParseError;

/// A Route Distinguisher.
///
/// ```text
/// +----------------------+-------------------------------------------+
/// |  Type (2 octets)     |  Value (6 octets)                         |
/// +----------------------+-------------------------------------------+
///
/// Type 0:  | 0x0000 | Administrator: 2-octet AS | Assigned Number: 4 octets |
/// Type 1:  | 0x0001 | Administrator: IPv4 addr  | Assigned Number: 2 octets |
/// Type 2:  | 0x0002 | Administrator: 4-octet AS | Assigned Number: 2 octets |
/// ```
///
/// Other types are kept as [`RouteDistinguisher::Unknown`] and re-encoded
/// unchanged. Decoding never yields `Unknown` with type 0, 1 or 2; if one is
/// built by hand it still encodes byte-exact, but decodes back as the typed
/// variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteDistinguisher {
    /// Type 0: `asn:number` with a 2-octet AS and a 4-octet number.
    As2 { asn: u16, number: u32 },
    /// Type 1: `address:number` with an IPv4 address and a 2-octet number.
    Ipv4 { addr: Ipv4Addr, number: u16 },
    /// Type 2: `asn:number` with a 4-octet AS and a 2-octet number.
    As4 { asn: u32, number: u16 },
    /// Any other type, value kept raw.
    Unknown { rd_type: u16, value: [u8; 6] },
}

impl RouteDistinguisher {
    /// Octets on the wire.
    pub const LEN: usize = 8;

    pub const TYPE_AS2: u16 = 0;
    pub const TYPE_IPV4: u16 = 1;
    pub const TYPE_AS4: u16 = 2;

    /// The RD type field.
    pub fn rd_type(&self) -> u16 {
        match self {
            RouteDistinguisher::As2 { .. } => Self::TYPE_AS2,
            RouteDistinguisher::Ipv4 { .. } => Self::TYPE_IPV4,
            RouteDistinguisher::As4 { .. } => Self::TYPE_AS4,
            RouteDistinguisher::Unknown { rd_type, .. } => *rd_type,
        }
    }

    /// Interpret 8 wire octets. Never fails: unknown types are kept.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        let [t0, t1, v0, v1, v2, v3, v4, v5] = b;
        match u16::from_be_bytes([t0, t1]) {
            Self::TYPE_AS2 => RouteDistinguisher::As2 {
                asn: u16::from_be_bytes([v0, v1]),
                number: u32::from_be_bytes([v2, v3, v4, v5]),
            },
            Self::TYPE_IPV4 => RouteDistinguisher::Ipv4 {
                addr: Ipv4Addr::new(v0, v1, v2, v3),
                number: u16::from_be_bytes([v4, v5]),
            },
            Self::TYPE_AS4 => RouteDistinguisher::As4 {
                asn: u32::from_be_bytes([v0, v1, v2, v3]),
                number: u16::from_be_bytes([v4, v5]),
            },
            rd_type => RouteDistinguisher::Unknown { rd_type, value: [v0, v1, v2, v3, v4, v5] },
        }
    }

    /// The 8 wire octets.
    pub fn to_bytes(&self) -> [u8; 8] {
        let (t, v): (u16, [u8; 6]) = match *self {
            RouteDistinguisher::As2 { asn, number } => {
                let [a0, a1] = asn.to_be_bytes();
                let [n0, n1, n2, n3] = number.to_be_bytes();
                (Self::TYPE_AS2, [a0, a1, n0, n1, n2, n3])
            }
            RouteDistinguisher::Ipv4 { addr, number } => {
                let [a0, a1, a2, a3] = addr.octets();
                let [n0, n1] = number.to_be_bytes();
                (Self::TYPE_IPV4, [a0, a1, a2, a3, n0, n1])
            }
            RouteDistinguisher::As4 { asn, number } => {
                let [a0, a1, a2, a3] = asn.to_be_bytes();
                let [n0, n1] = number.to_be_bytes();
                (Self::TYPE_AS4, [a0, a1, a2, a3, n0, n1])
            }
            RouteDistinguisher::Unknown { rd_type, value } => (rd_type, value),
        };
        let [t0, t1] = t.to_be_bytes();
        let [v0, v1, v2, v3, v4, v5] = v;
        [t0, t1, v0, v1, v2, v3, v4, v5]
    }

    /// Read 8 octets; fails only when fewer remain.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_bytes(r.array::<8>("route distinguisher")?))
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl fmt::Display for RouteDistinguisher {
    /// FRR's form: `65000:100`, `192.0.2.1:3`, `4200000000:7`. Type 0 and
    /// type 2 look alike (FRR prints both as `asn:number`); unknown types
    /// print as `type:0xVALUE`, which [`FromStr`] does not accept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDistinguisher::As2 { asn, number } => write!(f, "{asn}:{number}"),
            RouteDistinguisher::Ipv4 { addr, number } => write!(f, "{addr}:{number}"),
            RouteDistinguisher::As4 { asn, number } => write!(f, "{asn}:{number}"),
            RouteDistinguisher::Unknown { rd_type, value } => {
                write!(f, "{rd_type}:0x")?;
                value.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

impl FromStr for RouteDistinguisher {
    type Err = ParseError;

    /// `A.B.C.D:n` is type 1 (n ≤ 65535). `asn:n` is type 0 when the AS
    /// fits in 2 octets, otherwise type 2 (n ≤ 65535), as FRR decides.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let (admin, number) =
            s.rsplit_once(':').ok_or(ParseError("expected an RD like 65000:100 or 192.0.2.1:3"))?;
        if admin.contains('.') {
            let addr = admin.parse().map_err(|_| ParseError("RD administrator is not an IPv4 address"))?;
            let number = number.parse().map_err(|_| ParseError("RD assigned number is not 0..=65535"))?;
            return Ok(RouteDistinguisher::Ipv4 { addr, number });
        }
        let asn: u32 = admin.parse().map_err(|_| ParseError("RD administrator is not an AS number"))?;
        match u16::try_from(asn) {
            Ok(asn) => {
                let number =
                    number.parse().map_err(|_| ParseError("RD assigned number is not a 32-bit number"))?;
                Ok(RouteDistinguisher::As2 { asn, number })
            }
            Err(_) => {
                let number = number.parse().map_err(|_| ParseError("RD assigned number is not 0..=65535"))?;
                Ok(RouteDistinguisher::As4 { asn, number })
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    /// Every RD type, unknown ones included (never with a known type code).
    pub fn rd() -> impl Strategy<Value = RouteDistinguisher> {
        prop_oneof![
            (any::<u16>(), any::<u32>()).prop_map(|(asn, number)| RouteDistinguisher::As2 { asn, number }),
            (any::<u32>(), any::<u16>())
                .prop_map(|(a, number)| RouteDistinguisher::Ipv4 { addr: Ipv4Addr::from(a), number }),
            (any::<u32>(), any::<u16>()).prop_map(|(asn, number)| RouteDistinguisher::As4 { asn, number }),
            (3u16.., any::<[u8; 6]>())
                .prop_map(|(rd_type, value)| RouteDistinguisher::Unknown { rd_type, value }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn type_0_wire_and_text() {
        let b = [0, 0, 0xfd, 0xe8, 0, 0, 0, 100];
        let rd = RouteDistinguisher::from_bytes(b);
        assert_eq!(rd, RouteDistinguisher::As2 { asn: 65000, number: 100 });
        assert_eq!(rd.to_string(), "65000:100");
        assert_eq!("65000:100".parse(), Ok(rd));
        assert_eq!(rd.to_bytes(), b);
        assert_eq!(rd.rd_type(), 0);
    }

    #[test]
    fn type_1_wire_and_text() {
        let b = [0, 1, 192, 0, 2, 1, 0, 3];
        let rd = RouteDistinguisher::from_bytes(b);
        assert_eq!(rd, RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 1), number: 3 });
        assert_eq!(rd.to_string(), "192.0.2.1:3");
        assert_eq!("192.0.2.1:3".parse(), Ok(rd));
        assert_eq!(rd.to_bytes(), b);
    }

    #[test]
    fn type_2_wire_and_text() {
        let b = [0, 2, 0xfa, 0x56, 0xea, 0x00, 0, 7];
        let rd = RouteDistinguisher::from_bytes(b);
        assert_eq!(rd, RouteDistinguisher::As4 { asn: 4_200_000_000, number: 7 });
        assert_eq!(rd.to_string(), "4200000000:7");
        assert_eq!("4200000000:7".parse(), Ok(rd));
        assert_eq!(rd.to_bytes(), b);
    }

    #[test]
    fn unknown_type_kept() {
        let b = [0, 9, 1, 2, 3, 4, 5, 6];
        let rd = RouteDistinguisher::from_bytes(b);
        assert_eq!(rd, RouteDistinguisher::Unknown { rd_type: 9, value: [1, 2, 3, 4, 5, 6] });
        assert_eq!(rd.to_bytes(), b);
        assert_eq!(rd.to_string(), "9:0x010203040506");
    }

    #[test]
    fn parse_rejects() {
        for bad in [
            "",
            "65000",
            "65000:",
            ":1",
            "192.0.2.1:70000",
            "4200000000:70000",
            "65000:4294967296",
            "x:1",
            "1.2.3:1",
        ] {
            assert!(bad.parse::<RouteDistinguisher>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn decode_names_offset_when_short() {
        let b = [0u8, 0, 1, 2];
        let mut r = Reader::at(&b, 40);
        let e = RouteDistinguisher::decode(&mut r).unwrap_err();
        assert_eq!((e.offset, e.field), (40, "route distinguisher"));
    }

    proptest! {
        #[test]
        fn wire_round_trip(rd in strategies::rd()) {
            let mut out = Vec::new();
            rd.encode(&mut out);
            prop_assert_eq!(out.len(), RouteDistinguisher::LEN);
            let mut r = Reader::new(&out);
            prop_assert_eq!(RouteDistinguisher::decode(&mut r).unwrap(), rd);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn bytes_round_trip(b in any::<[u8; 8]>()) {
            prop_assert_eq!(RouteDistinguisher::from_bytes(b).to_bytes(), b);
        }

        #[test]
        fn text_round_trip(rd in strategies::rd()) {
            // Type 2 with an AS below 65536 prints like type 0 (FRR does the
            // same); it is the one form the text cannot carry.
            let ambiguous = matches!(rd, RouteDistinguisher::As4 { asn, .. } if asn <= 0xffff);
            if !ambiguous && !matches!(rd, RouteDistinguisher::Unknown { .. }) {
                prop_assert_eq!(rd.to_string().parse::<RouteDistinguisher>(), Ok(rd));
            }
        }
    }
}
