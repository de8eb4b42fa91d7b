//! IEEE 802 MAC addresses as EVPN carries them (RFC 7432 §7.2: 6 octets,
//! announced with a MAC Address Length of 48 bits).
//!
//! Owns only the address value, its text form and its parser; the MAC
//! length field is checked by the route decoder.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

/// A 48-bit MAC address.
///
/// ```text
/// +---+---+---+---+---+---+
/// | 6 octets, network order|
/// +---+---+---+---+---+---+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    /// 00:00:00:00:00:00, the MAC of FRR's flood-list (BUM) entries.
    pub const ZERO: MacAddress = MacAddress([0; 6]);
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddress = MacAddress([0xff; 6]);

    pub const fn new(octets: [u8; 6]) -> Self {
        MacAddress(octets)
    }

    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// The group bit (I/G) of the first octet is set.
    pub fn is_multicast(&self) -> bool {
        self.0.first().is_some_and(|b| b & 1 == 1)
    }
}

impl From<[u8; 6]> for MacAddress {
    fn from(octets: [u8; 6]) -> Self {
        MacAddress(octets)
    }
}

impl fmt::Display for MacAddress {
    /// Lower-case, colon-separated, as FRR and iproute2 print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Parse `N` hex octets separated by `sep` (each one or two hex digits).
pub(crate) fn parse_hex_octets<const N: usize>(
    s: &str,
    seps: &[char],
    what: &'static str,
) -> Result<[u8; N], ParseError> {
    let mut out = [0u8; N];
    let mut parts = s.split(|c| seps.contains(&c));
    for slot in out.iter_mut() {
        let part = parts.next().ok_or(ParseError(what))?;
        if part.is_empty() || part.len() > 2 {
            return Err(ParseError(what));
        }
        *slot = u8::from_str_radix(part, 16).map_err(|_| ParseError(what))?;
    }
    if parts.next().is_some() {
        return Err(ParseError(what));
    }
    Ok(out)
}

impl FromStr for MacAddress {
    type Err = ParseError;

    /// Accepts `aa:bb:cc:dd:ee:ff` and `aa-bb-cc-dd-ee-ff`, any case.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        parse_hex_octets::<6>(s, &[':', '-'], "expected a MAC address like aa:bb:cc:dd:ee:ff").map(MacAddress)
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn mac() -> impl Strategy<Value = MacAddress> {
        any::<[u8; 6]>().prop_map(MacAddress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_and_parse() {
        let m = MacAddress([0x52, 0x54, 0x00, 0xAB, 0x0c, 0x01]);
        assert_eq!(m.to_string(), "52:54:00:ab:0c:01");
        assert_eq!("52:54:00:AB:c:1".parse::<MacAddress>(), Ok(m));
        assert_eq!("52-54-00-ab-0c-01".parse::<MacAddress>(), Ok(m));
        assert!("52:54:00:ab:0c".parse::<MacAddress>().is_err());
        assert!("52:54:00:ab:0c:01:02".parse::<MacAddress>().is_err());
        assert!("52:54:00:ab:0c:1ff".parse::<MacAddress>().is_err());
        assert!("52:54:00:ab::01".parse::<MacAddress>().is_err());
        assert!("g2:54:00:ab:0c:01".parse::<MacAddress>().is_err());
    }

    #[test]
    fn flags() {
        assert!(MacAddress::ZERO.is_zero());
        assert!(MacAddress::BROADCAST.is_multicast());
        assert!(!MacAddress([0x52, 0, 0, 0, 0, 1]).is_multicast());
        assert!(MacAddress([0x01, 0, 0x5e, 0, 0, 1]).is_multicast());
    }

    proptest! {
        #[test]
        fn text_round_trip(m in strategies::mac()) {
            prop_assert_eq!(m.to_string().parse::<MacAddress>(), Ok(m));
        }
    }
}
