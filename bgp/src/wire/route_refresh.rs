//! ROUTE-REFRESH message (RFC 2918) with the enhanced route refresh
//! subtypes (RFC 7313).
//!
//! This module owns the encoding of the message body and the RFC 7313 §5
//! length rule. What a refresh request triggers is the session's business.

use crate::wire::error::{DecodeError, ErrorKind, MessageError};
use crate::wire::family::{Afi, Family, Safi};
use crate::wire::message::{HEADER_LEN, MARKER, kind};
use crate::wire::notification::{code, header_subcode, route_refresh_subcode};
use crate::wire::reader::Reader;

/// Message Subtype (RFC 7313 §3). Unknown values are kept; RFC 7313 §5
/// says a message with one is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtype(pub u8);

impl Subtype {
    /// A normal route refresh request (RFC 2918).
    pub const NORMAL: Subtype = Subtype(0);
    /// Beginning of Route Refresh (BoRR).
    pub const BEGIN: Subtype = Subtype(1);
    /// End of Route Refresh (EoRR).
    pub const END: Subtype = Subtype(2);

    /// One of the subtypes RFC 7313 defines (0, 1, 2).
    pub fn is_known(self) -> bool {
        self.0 <= 2
    }
}

/// A ROUTE-REFRESH message.
///
/// ```text
///  0       7      15      23      31
///  +-------+-------+-------+-------+
///  |      AFI      | Subtype| SAFI |
///  +-------+-------+-------+-------+
/// ```
///
/// A normal request may carry ORF entries after SAFI (RFC 5291); they, and
/// any bytes after SAFI in a message of an unknown subtype, are kept raw in
/// `data`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    pub afi: Afi,
    pub subtype: Subtype,
    pub safi: Safi,
    /// Bytes after SAFI (ORF entries). Always empty for BoRR and EoRR.
    pub data: Vec<u8>,
}

impl RouteRefresh {
    /// A normal refresh request for `family`.
    pub fn new(family: Family) -> Self {
        Self::with_subtype(family, Subtype::NORMAL)
    }

    /// Beginning of Route Refresh for `family`.
    pub fn begin(family: Family) -> Self {
        Self::with_subtype(family, Subtype::BEGIN)
    }

    /// End of Route Refresh for `family`.
    pub fn end(family: Family) -> Self {
        Self::with_subtype(family, Subtype::END)
    }

    pub fn with_subtype(family: Family, subtype: Subtype) -> Self {
        RouteRefresh { afi: family.afi, subtype, safi: family.safi, data: Vec::new() }
    }

    pub fn family(&self) -> Family {
        Family::new(self.afi, self.safi)
    }

    /// Decode the body of a ROUTE-REFRESH (after the 19-byte header, which
    /// starts at `base - 19`).
    pub fn decode_body(body: &[u8], base: usize) -> Result<RouteRefresh, MessageError> {
        let mut r = Reader::at(body, base);
        let total = body.len() + HEADER_LEN;
        if body.len() < 4 {
            // decode_header enforces this for whole messages.
            return Err(MessageError::new(
                code::MESSAGE_HEADER,
                header_subcode::BAD_MESSAGE_LENGTH,
                u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes().to_vec(),
                r.error("ROUTE-REFRESH message", ErrorKind::BadLength { length: total }),
            ));
        }
        let afi = r.u16("ROUTE-REFRESH AFI").map_err(unreachable)?;
        let subtype = Subtype(r.u8("ROUTE-REFRESH subtype").map_err(unreachable)?);
        let safi = r.u8("ROUTE-REFRESH SAFI").map_err(unreachable)?;
        if (subtype == Subtype::BEGIN || subtype == Subtype::END) && !r.is_empty() {
            // RFC 7313 §5: the data is the complete ROUTE-REFRESH message.
            let mut data = Vec::with_capacity(total);
            data.extend_from_slice(&MARKER);
            data.extend_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes());
            data.push(kind::ROUTE_REFRESH);
            data.extend_from_slice(body);
            return Err(MessageError::new(
                code::ROUTE_REFRESH,
                route_refresh_subcode::INVALID_MESSAGE_LENGTH,
                data,
                DecodeError::new(
                    base.saturating_sub(3),
                    "ROUTE-REFRESH length",
                    ErrorKind::BadLength { length: total },
                ),
            ));
        }
        Ok(RouteRefresh { afi: Afi(afi), subtype, safi: Safi(safi), data: r.rest().to_vec() })
    }

    /// Append the body (without header).
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.afi.0.to_be_bytes());
        out.push(self.subtype.0);
        out.push(self.safi.0);
        out.extend_from_slice(&self.data);
    }
}

/// The body was checked to hold the 4 fixed bytes before they are read.
#[cold]
fn unreachable(error: DecodeError) -> MessageError {
    MessageError::new(code::MESSAGE_HEADER, header_subcode::BAD_MESSAGE_LENGTH, Vec::new(), error)
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::wire::capability::strategies::family;
    use proptest::prelude::*;

    pub fn route_refresh() -> impl Strategy<Value = RouteRefresh> {
        (family(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(
            |(family, subtype, data)| {
                let subtype = Subtype(subtype);
                let data =
                    if subtype == Subtype::BEGIN || subtype == Subtype::END { Vec::new() } else { data };
                RouteRefresh { data, ..RouteRefresh::with_subtype(family, subtype) }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::context::SessionContext;
    use crate::wire::message::Message;
    use proptest::prelude::*;

    fn message(body: &[u8]) -> Vec<u8> {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
        m.push(5);
        m.extend_from_slice(body);
        m
    }

    fn decode(msg: &[u8]) -> Result<RouteRefresh, MessageError> {
        match Message::decode(msg, &SessionContext::default())? {
            Message::RouteRefresh(r) => Ok(r),
            other => panic!("not a ROUTE-REFRESH: {other:?}"),
        }
    }

    fn encode(rr: &RouteRefresh) -> Vec<u8> {
        let mut msgs = Message::RouteRefresh(rr.clone()).encode(&SessionContext::default()).unwrap();
        msgs.remove(0)
    }

    #[test]
    fn normal_request() {
        let msg = message(&[0, 2, 0, 1]);
        let rr = decode(&msg).unwrap();
        assert_eq!(rr, RouteRefresh::new(Family::IPV6_UNICAST));
        assert_eq!(rr.family(), Family::IPV6_UNICAST);
        assert_eq!(encode(&rr), msg);
    }

    #[test]
    fn borr_and_eorr() {
        let msg = message(&[0, 25, 1, 70]);
        let rr = decode(&msg).unwrap();
        assert_eq!(rr, RouteRefresh::begin(Family::L2VPN_EVPN));
        assert_eq!(encode(&rr), msg);
        let msg = message(&[0, 1, 2, 1]);
        let rr = decode(&msg).unwrap();
        assert_eq!(rr, RouteRefresh::end(Family::IPV4_UNICAST));
        assert_eq!(encode(&rr), msg);
    }

    #[test]
    fn unknown_subtype_kept() {
        let msg = message(&[0, 1, 7, 1, 9, 9]);
        let rr = decode(&msg).unwrap();
        assert_eq!(rr.subtype, Subtype(7));
        assert!(!rr.subtype.is_known());
        assert_eq!(rr.data, vec![9, 9]);
        assert_eq!(encode(&rr), msg);
    }

    #[test]
    fn orf_entries_kept() {
        // RFC 5291: When-to-refresh IMMEDIATE, ORF type 64, length 0.
        let msg = message(&[0, 1, 0, 1, 1, 64, 0, 0]);
        let rr = decode(&msg).unwrap();
        assert_eq!(rr.subtype, Subtype::NORMAL);
        assert_eq!(rr.data, vec![1, 64, 0, 0]);
        assert_eq!(encode(&rr), msg);
    }

    #[test]
    fn borr_with_extra_bytes_is_invalid_length() {
        for subtype in [1u8, 2] {
            let msg = message(&[0, 1, subtype, 1, 0]);
            let err = decode(&msg).unwrap_err();
            assert_eq!((err.notification.code, err.notification.subcode), (7, 1));
            // The data is the complete message.
            assert_eq!(err.notification.data, msg);
            assert_eq!(err.error.offset, 16);
            assert_eq!(err.error.kind, ErrorKind::BadLength { length: 24 });
        }
    }

    #[test]
    fn short_message_is_a_header_error() {
        let err = decode(&message(&[0, 1, 0])).unwrap_err();
        assert_eq!((err.notification.code, err.notification.subcode), (1, 2));
        let err = RouteRefresh::decode_body(&[0, 1], 19).unwrap_err();
        assert_eq!((err.notification.code, err.notification.subcode), (1, 2));
        assert_eq!(err.notification.data, vec![0, 21]);
    }

    proptest! {
        #[test]
        fn round_trip(rr in strategies::route_refresh()) {
            let msg = encode(&rr);
            prop_assert_eq!(msg.len(), 23 + rr.data.len());
            let back = decode(&msg).unwrap();
            prop_assert_eq!(&back, &rr);
            prop_assert_eq!(encode(&back), msg);
        }

        #[test]
        fn decode_never_panics(body in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(rr) = RouteRefresh::decode_body(&body, 19) {
                let mut out = Vec::new();
                rr.encode_body(&mut out);
                prop_assert_eq!(out, body);
            }
        }
    }
}
