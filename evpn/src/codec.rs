//! The `FamilyCodec` plug-in through which the `bgp` crate frames and
//! checks EVPN NLRI it carries as bytes (docs/adr/0002).
//!
//! `bgp` calls these through plain `fn` pointers after stripping ADD-PATH
//! path identifiers. They never allocate.

use mdc_bgp::context::FamilyCodec;
use mdc_bgp::error::{DecodeError, ErrorKind};
use mdc_bgp::family::Family;

use crate::route::{check_one, split_one};

/// The codec to register for L2VPN EVPN (AFI 25 / SAFI 70):
/// `SessionContext::modern().with_family_codec(mdc_evpn::family_codec())`.
pub fn family_codec() -> FamilyCodec {
    FamilyCodec { family: Family::L2VPN_EVPN, split, check, key: Some(key) }
}

/// [`NlriKey`](mdc_bgp::context::NlriKey): the route key (RFC 7432 §7:
/// without labels and ESI where they are not part of it) as canonical
/// octets ([`crate::EvpnRouteKey::encode`]), so a route replaces an earlier
/// one with the same key whatever its labels.
pub fn key(_family: Family, nlri: &[u8]) -> Option<Vec<u8>> {
    let (route, used) = crate::route::EvpnRoute::decode(nlri, 0).ok()?;
    (used == nlri.len()).then(|| route.key().to_bytes())
}

/// [`NlriSplit`](mdc_bgp::context::NlriSplit): the length of the first
/// EVPN NLRI in `nlri` (2 + its length octet), which starts `offset` octets
/// into the message. Framing only (RFC 7606 §5.4): fails when the type or
/// length octet is missing or the length runs past the end of `nlri`.
/// `family` is not consulted; register the codec for EVPN only.
pub fn split(_family: Family, nlri: &[u8], offset: usize) -> Result<usize, DecodeError> {
    split_one(nlri, offset)
}

/// [`NlriCheck`](mdc_bgp::context::NlriCheck): full syntax check of one
/// EVPN NLRI, which must fill `nlri` exactly (as [`split`] cut it).
/// Fails for a known route type with a length that is not one of its
/// valid sizes, or a MAC/IP/prefix length field that disagrees with it.
/// Unknown route types pass: the caller skips them (RFC 7606 §5.4).
pub fn check(_family: Family, nlri: &[u8], offset: usize) -> Result<(), DecodeError> {
    let used = check_one(nlri, offset)?;
    match nlri.len() - used {
        0 => Ok(()),
        count => Err(DecodeError::new(offset + used, "EVPN NLRI", ErrorKind::TrailingBytes { count })),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::route::strategies;
    use mdc_bgp::SessionContext;
    use proptest::prelude::*;

    const F: Family = Family::L2VPN_EVPN;

    /// A type-3 route with an IPv4 originator (19 octets).
    const IMET: [u8; 19] = [3, 17, 0, 1, 192, 0, 2, 1, 0, 1, 0, 0, 0, 0, 32, 192, 0, 2, 1];

    #[test]
    fn registers_for_evpn() {
        let ctx = SessionContext::modern().with_family_codec(family_codec());
        let c = ctx.family_codec(Family::L2VPN_EVPN).unwrap();
        assert_eq!(c.family, Family::L2VPN_EVPN);
        assert_eq!((c.split)(F, &IMET, 0), Ok(19));
        assert_eq!((c.check)(F, &IMET, 0), Ok(()));
        assert!(ctx.family_codec(Family::IPV4_UNICAST).is_none());
    }

    #[test]
    fn split_walks_a_field() {
        let mut field = IMET.to_vec();
        field.extend_from_slice(&[99, 3, 1, 2, 3]); // unknown type 99
        field.extend_from_slice(&IMET);
        let mut at = 0;
        let mut lens = Vec::new();
        while at < field.len() {
            let n = split(F, &field[at..], 100 + at).unwrap();
            lens.push(n);
            at += n;
        }
        assert_eq!(lens, [19, 5, 19]);
    }

    #[test]
    fn split_fails_on_overrun_with_offset() {
        let e = split(F, &IMET[..18], 50).unwrap_err();
        assert_eq!((e.offset, e.field), (52, "EVPN route value"));
        assert_eq!(e.kind, ErrorKind::Truncated { needed: 17, available: 16 });
        let e = split(F, &[3], 50).unwrap_err();
        assert_eq!((e.offset, e.field), (51, "EVPN route length"));
        let e = split(F, &[], 50).unwrap_err();
        assert_eq!((e.offset, e.field), (50, "EVPN route type"));
    }

    #[test]
    fn split_does_not_validate_known_types() {
        // A type-2 route with length 3 frames fine; check rejects it.
        let nlri = [2, 3, 0, 0, 0];
        assert_eq!(split(F, &nlri, 0), Ok(5));
        let e = check(F, &nlri, 10).unwrap_err();
        assert_eq!(
            (e.offset, e.field, e.kind),
            (11, "MAC/IP advertisement route length", ErrorKind::BadLength { length: 3 })
        );
    }

    #[test]
    fn check_accepts_unknown_types() {
        assert_eq!(check(F, &[0, 0], 0), Ok(()));
        assert_eq!(check(F, &[6, 2, 0xaa, 0xbb], 0), Ok(()));
        assert_eq!(check(F, &[255, 0], 0), Ok(()));
        // ... but not a truncated one.
        assert!(check(F, &[6, 3, 0xaa], 0).is_err());
    }

    #[test]
    fn check_rejects_trailing_bytes() {
        let mut two = IMET.to_vec();
        two.push(0);
        let e = check(F, &two, 30).unwrap_err();
        assert_eq!((e.offset, e.field, e.kind), (49, "EVPN NLRI", ErrorKind::TrailingBytes { count: 1 }));
    }

    #[test]
    fn check_rejects_bad_ip_length_field() {
        let mut bad = IMET;
        bad[14] = 128; // IPv6 length in an IPv4-sized route
        let e = check(F, &bad, 200).unwrap_err();
        assert_eq!(
            (e.offset, e.field, e.kind),
            (214, "IP address length", ErrorKind::BadLength { length: 128 })
        );
    }

    proptest! {
        #[test]
        fn split_and_check_agree_with_decode(r in strategies::route(), at in 0usize..4096) {
            let b = r.to_bytes();
            prop_assert_eq!(split(F, &b, at), Ok(b.len()));
            prop_assert_eq!(check(F, &b, at), Ok(()));
        }
    }
}
