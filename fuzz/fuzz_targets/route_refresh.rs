//! ROUTE-REFRESH body decoding (RFC 2918, RFC 7313 subtypes).
//!
//! Input: the ROUTE-REFRESH body (without its 19-byte header). A body
//! that decodes must re-encode byte-exact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdc_bgp::message::HEADER_LEN;
use mdc_bgp::route_refresh::RouteRefresh;

fuzz_target!(|body: &[u8]| {
    let rr = match RouteRefresh::decode_body(body, HEADER_LEN) {
        Ok(rr) => rr,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (rr.family(), rr.subtype.is_known());
    let mut out = Vec::new();
    rr.encode_body(&mut out);
    assert_eq!(out, body, "ROUTE-REFRESH does not re-encode byte-exact");
});
