//! Ethernet Segment Identifiers (RFC 7432 §5).
//!
//! Owns the 10-octet ESI and its typed views. The raw octets are what is
//! stored, compared and re-encoded, so a reserved octet set by a peer
//! survives a round trip; the typed views only read.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use mdc_bgp::DecodeError;
use mdc_bgp::reader::Reader;

use crate::ParseError;
use crate::mac::{MacAddress, parse_hex_octets};

/// An Ethernet Segment Identifier.
///
/// ```text
/// +---+---+---+---+---+---+---+---+---+---+
/// | T |          ESI Value (9 octets)     |
/// +---+---+---+---+---+---+---+---+---+---+
///
/// T=0 arbitrary:   | 9 octets operator-configured                      |
/// T=1 LACP:        | CE LACP system MAC (6) | port key (2) | 0x00      |
/// T=2 bridge:      | root bridge MAC (6)    | priority (2) | 0x00      |
/// T=3 MAC-based:   | system MAC (6)         | local discriminator (3)  |
/// T=4 router-id:   | router ID (4) | local discriminator (4) | 0x00    |
/// T=5 AS-based:    | AS number (4) | local discriminator (4) | 0x00    |
/// ```
///
/// The all-zero ESI ([`Esi::ZERO`]) marks a single-homed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Esi(pub [u8; 10]);

/// A typed view of an [`Esi`]: what its type byte says the value means.
/// Reserved trailing octets are not shown; [`Esi::from_value`] sets them 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EsiValue {
    /// Type 0: an operator-configured value.
    Arbitrary([u8; 9]),
    /// Type 1: auto-derived from LACP.
    Lacp { system_mac: MacAddress, port_key: u16 },
    /// Type 2: auto-derived from the L2 bridge protocol root bridge.
    Bridge { root_bridge_mac: MacAddress, priority: u16 },
    /// Type 3: system MAC plus a 24-bit local discriminator.
    MacBased { system_mac: MacAddress, local_discriminator: u32 },
    /// Type 4: router ID plus a 32-bit local discriminator.
    RouterId { router_id: Ipv4Addr, local_discriminator: u32 },
    /// Type 5: AS number plus a 32-bit local discriminator.
    AsBased { asn: u32, local_discriminator: u32 },
    /// Types 6..=255.
    Unknown { esi_type: u8, value: [u8; 9] },
}

impl Esi {
    /// Octets on the wire.
    pub const LEN: usize = 10;
    /// The single-homed ESI.
    pub const ZERO: Esi = Esi([0; 10]);
    /// MAX-ESI (all ones), reserved by RFC 7432 §5.
    pub const MAX: Esi = Esi([0xff; 10]);

    pub const fn new(octets: [u8; 10]) -> Self {
        Esi(octets)
    }

    pub const fn octets(&self) -> [u8; 10] {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 10]
    }

    /// The type byte.
    pub fn esi_type(&self) -> u8 {
        let [t, ..] = self.0;
        t
    }

    fn body(&self) -> [u8; 9] {
        let [_, v @ ..] = self.0;
        v
    }

    /// The typed view of this ESI.
    pub fn value(&self) -> EsiValue {
        let v = self.body();
        let [m0, m1, m2, m3, m4, m5, x0, x1, x2] = v;
        let mac = MacAddress([m0, m1, m2, m3, m4, m5]);
        let [a0, a1, a2, a3, d0, d1, d2, d3, _] = v;
        match self.esi_type() {
            0 => EsiValue::Arbitrary(v),
            1 => EsiValue::Lacp { system_mac: mac, port_key: u16::from_be_bytes([x0, x1]) },
            2 => EsiValue::Bridge { root_bridge_mac: mac, priority: u16::from_be_bytes([x0, x1]) },
            3 => EsiValue::MacBased {
                system_mac: mac,
                local_discriminator: u32::from_be_bytes([0, x0, x1, x2]),
            },
            4 => EsiValue::RouterId {
                router_id: Ipv4Addr::new(a0, a1, a2, a3),
                local_discriminator: u32::from_be_bytes([d0, d1, d2, d3]),
            },
            5 => EsiValue::AsBased {
                asn: u32::from_be_bytes([a0, a1, a2, a3]),
                local_discriminator: u32::from_be_bytes([d0, d1, d2, d3]),
            },
            esi_type => EsiValue::Unknown { esi_type, value: v },
        }
    }

    /// Build an ESI from a typed value. Reserved octets are 0; a type-3
    /// discriminator keeps its low 24 bits. `Unknown` with a type 0..=5
    /// yields that type with the given raw value.
    pub fn from_value(value: EsiValue) -> Esi {
        let (t, v): (u8, [u8; 9]) = match value {
            EsiValue::Arbitrary(v) => (0, v),
            EsiValue::Lacp { system_mac: m, port_key: k } => {
                let [k0, k1] = k.to_be_bytes();
                (1, mac_then(m, [k0, k1, 0]))
            }
            EsiValue::Bridge { root_bridge_mac: m, priority: p } => {
                let [p0, p1] = p.to_be_bytes();
                (2, mac_then(m, [p0, p1, 0]))
            }
            EsiValue::MacBased { system_mac: m, local_discriminator: d } => {
                let [_, d0, d1, d2] = d.to_be_bytes();
                (3, mac_then(m, [d0, d1, d2]))
            }
            EsiValue::RouterId { router_id, local_discriminator } => {
                (4, four_four(router_id.octets(), local_discriminator))
            }
            EsiValue::AsBased { asn, local_discriminator } => {
                (5, four_four(asn.to_be_bytes(), local_discriminator))
            }
            EsiValue::Unknown { esi_type, value } => (esi_type, value),
        };
        let [v0, v1, v2, v3, v4, v5, v6, v7, v8] = v;
        Esi([t, v0, v1, v2, v3, v4, v5, v6, v7, v8])
    }

    /// Read 10 octets; fails only when fewer remain.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Esi(r.array::<10>("ESI")?))
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

fn mac_then(m: MacAddress, tail: [u8; 3]) -> [u8; 9] {
    let [m0, m1, m2, m3, m4, m5] = m.0;
    let [t0, t1, t2] = tail;
    [m0, m1, m2, m3, m4, m5, t0, t1, t2]
}

fn four_four(a: [u8; 4], d: u32) -> [u8; 9] {
    let [a0, a1, a2, a3] = a;
    let [d0, d1, d2, d3] = d.to_be_bytes();
    [a0, a1, a2, a3, d0, d1, d2, d3, 0]
}

impl From<EsiValue> for Esi {
    fn from(v: EsiValue) -> Self {
        Esi::from_value(v)
    }
}

impl fmt::Display for Esi {
    /// Ten colon-separated hex octets, as FRR prints an ESI:
    /// `00:00:00:00:00:00:00:00:00:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Esi {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        parse_hex_octets::<10>(s, &[':'], "expected an ESI of 10 colon-separated hex octets").map(Esi)
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::mac::strategies::mac;
    use proptest::prelude::*;

    /// Typed values whose reserved bits are clear (so `from_value` then
    /// `value` gives them back).
    pub fn esi_value() -> impl Strategy<Value = EsiValue> {
        prop_oneof![
            any::<[u8; 9]>().prop_map(EsiValue::Arbitrary),
            (mac(), any::<u16>()).prop_map(|(system_mac, port_key)| EsiValue::Lacp { system_mac, port_key }),
            (mac(), any::<u16>())
                .prop_map(|(root_bridge_mac, priority)| EsiValue::Bridge { root_bridge_mac, priority }),
            (mac(), 0u32..1 << 24).prop_map(|(system_mac, local_discriminator)| {
                EsiValue::MacBased { system_mac, local_discriminator }
            }),
            (any::<u32>(), any::<u32>()).prop_map(|(a, local_discriminator)| EsiValue::RouterId {
                router_id: Ipv4Addr::from(a),
                local_discriminator
            }),
            (any::<u32>(), any::<u32>())
                .prop_map(|(asn, local_discriminator)| EsiValue::AsBased { asn, local_discriminator }),
            (6u8.., any::<[u8; 9]>()).prop_map(|(esi_type, value)| EsiValue::Unknown { esi_type, value }),
        ]
    }

    /// Any 10 octets, weighted towards the zero ESI and types 0..=5.
    pub fn esi() -> impl Strategy<Value = Esi> {
        prop_oneof![
            1 => Just(Esi::ZERO),
            4 => esi_value().prop_map(Esi::from_value),
            2 => any::<[u8; 10]>().prop_map(Esi),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esi(b: [u8; 10]) -> Esi {
        Esi(b)
    }

    #[test]
    fn typed_views_types_0_to_5() {
        let cases: [([u8; 10], EsiValue); 6] = [
            ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], EsiValue::Arbitrary([1, 2, 3, 4, 5, 6, 7, 8, 9])),
            (
                [1, 0x44, 0x38, 0x39, 0xff, 0, 1, 0x01, 0x2c, 0],
                EsiValue::Lacp { system_mac: MacAddress([0x44, 0x38, 0x39, 0xff, 0, 1]), port_key: 300 },
            ),
            (
                [2, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x80, 0x00, 0],
                EsiValue::Bridge {
                    root_bridge_mac: MacAddress([0, 0x11, 0x22, 0x33, 0x44, 0x55]),
                    priority: 32768,
                },
            ),
            (
                [3, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03],
                EsiValue::MacBased {
                    system_mac: MacAddress([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
                    local_discriminator: 0x010203,
                },
            ),
            (
                [4, 192, 0, 2, 1, 0, 0, 0, 42, 0],
                EsiValue::RouterId { router_id: Ipv4Addr::new(192, 0, 2, 1), local_discriminator: 42 },
            ),
            (
                [5, 0, 0, 0xfd, 0xe8, 0, 0, 0x27, 0x10, 0],
                EsiValue::AsBased { asn: 65000, local_discriminator: 10000 },
            ),
        ];
        for (bytes, value) in cases {
            let e = esi(bytes);
            assert_eq!(e.esi_type(), bytes[0]);
            assert_eq!(e.value(), value, "{e}");
            assert_eq!(Esi::from_value(value), e, "from_value of {value:?}");
            let mut out = Vec::new();
            e.encode(&mut out);
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn reserved_octet_survives_in_raw_bytes() {
        let raw = [4, 192, 0, 2, 1, 0, 0, 0, 42, 0x99];
        let e = esi(raw);
        assert_eq!(
            e.value(),
            EsiValue::RouterId { router_id: Ipv4Addr::new(192, 0, 2, 1), local_discriminator: 42 }
        );
        let mut out = Vec::new();
        e.encode(&mut out);
        assert_eq!(out, raw, "raw octets re-encode unchanged");
    }

    #[test]
    fn unknown_type() {
        let e = esi([7, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(e.value(), EsiValue::Unknown { esi_type: 7, value: [1, 2, 3, 4, 5, 6, 7, 8, 9] });
    }

    #[test]
    fn text() {
        assert_eq!(Esi::ZERO.to_string(), "00:00:00:00:00:00:00:00:00:00");
        let e = esi([3, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03]);
        assert_eq!(e.to_string(), "03:aa:bb:cc:dd:ee:ff:01:02:03");
        assert_eq!("03:AA:bb:cc:dd:ee:ff:01:02:03".parse(), Ok(e));
        assert!("03:aa:bb:cc:dd:ee:ff:01:02".parse::<Esi>().is_err());
        assert!("03:aa:bb:cc:dd:ee:ff:01:02:03:04".parse::<Esi>().is_err());
        assert!(Esi::ZERO.is_zero());
        assert!(!Esi::MAX.is_zero());
    }

    #[test]
    fn short_input_names_offset() {
        let b = [0u8; 9];
        let e = Esi::decode(&mut Reader::at(&b, 31)).unwrap_err();
        assert_eq!((e.offset, e.field), (31, "ESI"));
    }

    proptest! {
        #[test]
        fn value_round_trip(v in strategies::esi_value()) {
            prop_assert_eq!(Esi::from_value(v).value(), v);
        }

        #[test]
        fn wire_round_trip(e in strategies::esi()) {
            let mut out = Vec::new();
            e.encode(&mut out);
            prop_assert_eq!(out.len(), Esi::LEN);
            let mut r = Reader::new(&out);
            prop_assert_eq!(Esi::decode(&mut r).unwrap(), e);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn text_round_trip(e in strategies::esi()) {
            prop_assert_eq!(e.to_string().parse::<Esi>(), Ok(e));
        }
    }
}
