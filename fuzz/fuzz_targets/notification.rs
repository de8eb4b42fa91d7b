//! NOTIFICATION body decoding plus everything that reads its data: the
//! RFC 9003 shutdown communication, the RFC 8538 hard-reset inner
//! notification, and the text form for logs.
//!
//! Input: the NOTIFICATION body (without its 19-byte header).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdc_bgp::Notification;
use mdc_bgp::message::HEADER_LEN;

fuzz_target!(|body: &[u8]| {
    let n = match Notification::decode_body(body, HEADER_LEN) {
        Ok(n) => n,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if let Some(Ok(text)) = n.shutdown_message() {
        assert_eq!(text.len() + 3, body.len(), "shutdown text must fill the data after its length octet");
    }
    if let Some(inner) = n.hard_reset_inner() {
        let _ = inner.to_string();
        let _ = inner.shutdown_message();
        // Wrapping it again gives back what was decoded.
        assert_eq!(Notification::hard_reset(inner), n);
    }
    let _ = n.to_string();
    let mut out = Vec::new();
    n.encode_body(&mut out);
    assert_eq!(out, body, "NOTIFICATION does not re-encode byte-exact");
});
