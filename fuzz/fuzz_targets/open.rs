//! OPEN body decoding (RFC 4271 §4.2, RFC 9072 extended parameters, every
//! capability), then validation and every accessor a session uses.
//!
//! Input: the OPEN body (the message without its 19-byte header).
//! A body that decodes must encode again and decode to the same `Open`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdc_bgp::message::HEADER_LEN;
use mdc_bgp::open::Open;

fuzz_target!(|body: &[u8]| {
    let open = match Open::decode_body(body, HEADER_LEN) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = open.validate();
    let _ = open.asn();
    let _ = open.four_octet_as();
    let _ = open.families().count();
    let _ = open.add_path().count();
    let _ = open.extended_next_hop().count();
    let _ = open.graceful_restart();
    let _ = open.long_lived_graceful_restart().count();
    let _ = (open.route_refresh(), open.enhanced_route_refresh(), open.extended_message());
    let _ = open.role();
    let _ = open.fqdn();

    // The model is deliberately lossy in places (e.g. the MP capability's
    // reserved octet is re-encoded as 0), so compare models, not bytes.
    let mut out = Vec::new();
    if let Err(e) = open.encode_body(&mut out) {
        panic!("decoded OPEN does not encode: {e}\n{open:?}");
    }
    match Open::decode_body(&out, HEADER_LEN) {
        Ok(again) => assert_eq!(open, again, "OPEN changed in a round trip"),
        Err(e) => panic!("re-encoded OPEN does not decode: {e}\n{open:?}\n{out:02x?}"),
    }
});
