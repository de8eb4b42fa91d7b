//! UPDATE decoding under the session contexts a peer can negotiate.
//!
//! Input: one selector byte (see `mdc_fuzz::context`), then an UPDATE body
//! (the message without its 19-byte header). Exercises both ways in:
//! - the zero-copy `UpdateView` and its prefix and attribute iterators,
//!   which must agree with the owned decoder on what they find;
//! - `Update::decode_body` with the RFC 7606 outcome, then the accessors a
//!   RIB uses and a re-encode whose every message must fit the session's
//!   maximum and decode again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdc_bgp::message::HEADER_LEN;
use mdc_bgp::nlri::{Nlri, Prefix};
use mdc_bgp::update::{Outcome, Update, UpdateView};
use mdc_bgp::{Family, Message};

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = mdc_fuzz::split_context(data) else {
        return;
    };
    let end = HEADER_LEN + body.len();
    let v4_add_path = ctx.add_path(Family::IPV4_UNICAST);

    // Zero-copy view. Iterators must stop within the input and point into it.
    let view = UpdateView::parse(body, HEADER_LEN);
    let mut view_nlri = Vec::new();
    let mut view_withdrawn = Vec::new();
    if let Ok(view) = &view {
        for add_path in [false, true] {
            let n = view.nlri(add_path).take(body.len() + 1).count();
            let w = view.withdrawn(add_path).take(body.len() + 1).count();
            assert!(n <= body.len() && w <= body.len(), "prefix iterator does not stop");
        }
        for item in view.nlri(v4_add_path) {
            match item {
                Ok(n) => view_nlri.push(Nlri { path_id: n.path_id, prefix: Prefix::V4(n.prefix) }),
                Err(e) => assert!(e.offset <= end, "error offset {} past the message end {end}", e.offset),
            }
        }
        for n in view.withdrawn(v4_add_path).flatten() {
            view_withdrawn.push(Nlri { path_id: n.path_id, prefix: Prefix::V4(n.prefix) });
        }
        let mut count = 0;
        for item in view.attributes() {
            count += 1;
            assert!(count <= body.len(), "attribute iterator does not stop");
            match item {
                Ok(a) => {
                    assert!(a.offset + a.value.len() <= end, "attribute value past the message end");
                    assert!(a.raw.len() >= a.value.len() + 3);
                    assert_eq!(a.raw.first(), Some(&a.flags));
                    assert_eq!(a.raw.get(1), Some(&a.code));
                }
                Err(e) => assert!(e.offset <= end, "error offset {} past the message end {end}", e.offset),
            }
        }
        let _ = view.is_ipv4_end_of_rib();
    }

    // Owned decoder with RFC 7606.
    let decoded = match Update::decode_body(body, HEADER_LEN, &ctx) {
        Ok(d) => d,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(view.is_ok(), "decode_body accepted what UpdateView::parse rejected");
    for d in &decoded.diagnostics {
        let _ = d.to_string();
    }
    let _ = decoded.outcome.action();
    let update = &decoded.update;
    if matches!(decoded.outcome, Outcome::Clean | Outcome::AttributeDiscard) {
        assert_eq!(update.nlri, view_nlri, "UpdateView and decode_body disagree on NLRI");
        assert_eq!(update.withdrawn, view_withdrawn, "UpdateView and decode_body disagree on withdrawn");
    }
    if decoded.outcome == Outcome::Clean {
        assert!(decoded.diagnostics.is_empty());
    }
    let _ = update.effective_as_path(&ctx);
    let _ = update.effective_aggregator(&ctx);
    let _ = (update.origin(), update.next_hop(), update.mp_reach(), update.mp_unreach());
    if let Some(family) = update.end_of_rib() {
        assert_eq!(Update::end_of_rib_marker(family).end_of_rib(), Some(family));
    }

    // Re-encode what the receiver would apply.
    let max = ctx.max_message_len();
    match update.encode(&ctx) {
        Ok(messages) => {
            assert!(!messages.is_empty(), "encode produced no message");
            for m in &messages {
                assert!(m.len() <= max, "encoded UPDATE of {} bytes exceeds {max}", m.len());
                match Message::decode(m, &ctx) {
                    Ok(Message::Update(_)) => {}
                    other => panic!("re-encoded UPDATE does not decode as one: {other:?}\n{m:02x?}"),
                }
            }
        }
        Err(e) => {
            // A clean UPDATE that arrived in one message must fit again.
            assert!(decoded.outcome != Outcome::Clean, "clean UPDATE does not re-encode: {e}\n{update:?}");
        }
    }
});
