//! Framing and whole-message decoding, as a session reads its TCP stream.
//!
//! Input: one selector byte (see `mdc_fuzz::context`), then a byte stream
//! that may hold several messages. The target cuts the stream with
//! `frame_len`, checks what framing promises, and decodes each message with
//! `Message::decode`. Nothing may panic; framing must never hand out a
//! length that is shorter than a header or longer than the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdc_bgp::Message;
use mdc_bgp::context::MAX_MESSAGE_LEN;
use mdc_bgp::message::{HEADER_LEN, decode_header, frame_len};

fuzz_target!(|data: &[u8]| {
    let Some((ctx, mut stream)) = mdc_fuzz::split_context(data) else {
        return;
    };
    let max = ctx.max_message_len().max(MAX_MESSAGE_LEN);
    while !stream.is_empty() {
        let header = decode_header(stream, &ctx);
        let framed = frame_len(stream, &ctx);
        match (&header, &framed) {
            (Ok(None), Ok(None)) => assert!(stream.len() < HEADER_LEN),
            (Ok(Some(h)), Ok(None)) => assert!(h.length > stream.len()),
            (Ok(Some(h)), Ok(Some(n))) => assert_eq!(h.length, *n),
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("decode_header {header:?} and frame_len {framed:?} disagree"),
        }
        let n = match framed {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        };
        assert!((HEADER_LEN..=max).contains(&n) && n <= stream.len(), "bad frame length {n}");
        let Some((msg, rest)) = stream.split_at_checked(n) else {
            unreachable!("frame_len {n} exceeds the buffer");
        };
        match Message::decode(msg, &ctx) {
            Ok(Message::Update(u)) => {
                for d in &u.diagnostics {
                    let _ = d.to_string();
                }
                let _ = u.update.end_of_rib();
                let _ = u.update.effective_as_path(&ctx);
            }
            Ok(Message::Notification(n)) => {
                let _ = n.to_string();
            }
            Ok(Message::Open(o)) => {
                let _ = o.validate();
            }
            Ok(_) => {}
            Err(e) => {
                let _ = e.to_string();
            }
        }
        stream = rest;
    }
});
