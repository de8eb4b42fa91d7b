//! EVPN NLRI decoding (RFC 7432 types 1-4, RFC 9136 type 5, unknown types)
//! and the `split`/`check` plug-in `bgp` calls for AFI 25 / SAFI 70.
//!
//! Input, two forms:
//! - starting with the 16-octet BGP marker: a whole UPDATE message (as in
//!   the golden vectors). It is decoded under the EVPN contexts, and the
//!   NLRI field of every EVPN MP_REACH_NLRI / MP_UNREACH_NLRI is checked
//!   as below;
//! - anything else: one EVPN NLRI field (routes back to back, no ADD-PATH
//!   path identifiers), as `bgp` hands it to the plug-in.
//!
//! For an NLRI field the target walks it with `split`, and for each NLRI
//! requires: `check` and `EvpnRoute::decode` agree; a decoded route takes
//! exactly the octets `split` framed, re-encodes byte-exact, decodes again
//! to itself, and has a key of its own type and RD. The lazy iterators
//! (`EvpnRoutes`, `decode_all`) must yield the same routes as the walk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdc_bgp::Family;
use mdc_bgp::attr::code;
use mdc_bgp::message::MARKER;
use mdc_bgp::update::UpdateView;
use mdc_evpn::{EvpnRoute, EvpnRoutes, check, decode_all, split};

const F: Family = Family::L2VPN_EVPN;

fn nlri_field(field: &[u8], offset: usize) {
    let mut at = 0;
    let mut walked: Vec<EvpnRoute> = Vec::new();
    let mut failed = false;
    while let Some(rest) = field.get(at..).filter(|r| !r.is_empty()) {
        let off = offset + at;
        let n = match split(F, rest, off) {
            Ok(n) => n,
            Err(e) => {
                assert!(e.offset >= off && e.offset <= offset + field.len(), "split error offset {e:?}");
                assert!(EvpnRoute::decode(rest, off).is_err(), "split failed where decode succeeded");
                failed = true;
                break;
            }
        };
        assert!(n >= 2 && n <= rest.len(), "split returned {n} for {} octets", rest.len());
        let Some(one) = rest.get(..n) else { unreachable!() };
        let checked = check(F, one, off);
        let decoded = EvpnRoute::decode(rest, off);
        match (&checked, &decoded) {
            (Ok(()), Ok((route, used))) => {
                assert_eq!(*used, n, "decode took {used} octets, split framed {n}");
                let bytes = route.to_bytes();
                assert_eq!(bytes.len(), route.wire_len());
                assert_eq!(bytes, one, "EVPN route does not re-encode byte-exact: {route:?}");
                match EvpnRoute::decode(&bytes, 0) {
                    Ok((again, used)) => {
                        assert_eq!(&again, route);
                        assert_eq!(used, bytes.len());
                    }
                    Err(e) => panic!("re-encoded EVPN route does not decode: {e}"),
                }
                let key = route.key();
                assert_eq!(key.route_type(), route.route_type());
                assert_eq!(key.rd(), route.rd());
                let _ = key.to_bytes();
                let _ = route.to_string();
                let _ = (route.esi(), route.ethernet_tag());
                walked.push(route.clone());
            }
            (Err(_), Err(e)) => {
                assert!(e.offset >= off && e.offset <= off + n, "decode error offset {e:?} outside the NLRI");
                let _ = e.to_string();
                failed = true;
                break;
            }
            _ => panic!("check {checked:?} and decode {decoded:?} disagree"),
        }
        at += n;
    }

    // The iterators see the same routes, and stop at the same error.
    let with_unknown: Vec<_> = EvpnRoutes::including_unknown(field, offset).collect();
    let ok: Vec<EvpnRoute> = with_unknown.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
    assert_eq!(ok, walked, "EvpnRoutes::including_unknown disagrees with the split walk");
    assert_eq!(with_unknown.last().is_some_and(|r| r.is_err()), failed);
    let known: Vec<EvpnRoute> = walked.iter().filter(|r| !r.is_unknown()).cloned().collect();
    match decode_all(field, offset) {
        Ok(all) => {
            assert!(!failed, "decode_all accepted a field the walk rejected");
            assert_eq!(all, known);
        }
        Err(_) => assert!(failed, "decode_all rejected a field the walk accepted"),
    }
}

/// Decode a whole message under the EVPN contexts, then check the NLRI
/// field of every EVPN MP_REACH_NLRI / MP_UNREACH_NLRI in it.
fn message(msg: &[u8]) {
    for sel in [5, 6] {
        let _ = mdc_bgp::Message::decode(msg, &mdc_fuzz::context(sel));
    }
    let Ok(view) = UpdateView::from_message(msg) else {
        return;
    };
    for attr in view.attributes().flatten() {
        let v = attr.value;
        let family = match (v.first(), v.get(1), v.get(2)) {
            (Some(&a0), Some(&a1), Some(&s)) => {
                Family::new(mdc_bgp::Afi(u16::from_be_bytes([a0, a1])), mdc_bgp::Safi(s))
            }
            _ => continue,
        };
        if family != F {
            continue;
        }
        let skip = match attr.code {
            code::MP_UNREACH_NLRI => 3,
            // AFI, SAFI, next-hop length, next hop, reserved.
            code::MP_REACH_NLRI => match v.get(3) {
                Some(&nh) => 4 + usize::from(nh) + 1,
                None => continue,
            },
            _ => continue,
        };
        if let Some(field) = v.get(skip..) {
            nlri_field(field, attr.offset + skip);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(&MARKER) {
        message(data);
    } else {
        nlri_field(data, 0);
    }
});
