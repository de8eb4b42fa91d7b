//! Round trip of every message type: decode -> encode -> decode.
//!
//! Input: one selector byte (see `mdc_fuzz::context`), then exactly one
//! whole BGP message (header included).
//!
//! If `Message::decode` accepts it (for an UPDATE: with RFC 7606 outcome
//! `Clean`), `Message::encode` must succeed, every message it emits must
//! fit the session (4096 for OPEN and KEEPALIVE), and decoding them must
//! give back an equal model. An UPDATE re-encodes as one message unless it
//! no longer fits; if it was split, the pieces together must carry the same
//! withdrawn routes, NLRI (classic and MP) and other path attributes.
//!
//! Models are compared, not bytes: the codec is deliberately lossy where
//! the RFCs say a field carries no meaning (prefix host bits are cleared;
//! the MP capability's reserved octet and MP_REACH_NLRI's reserved octet
//! are re-encoded as 0), so byte equality would not hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdc_bgp::attr::{AttrValue, MpNlri, PathAttribute};
use mdc_bgp::context::MAX_MESSAGE_LEN;
use mdc_bgp::update::{Outcome, Update};
use mdc_bgp::{Message, SessionContext};

fn decode_again(bytes: &[u8], ctx: &SessionContext) -> Message {
    match Message::decode(bytes, ctx) {
        Ok(m) => m,
        Err(e) => panic!("re-encoded message does not decode: {e}\n{bytes:02x?}"),
    }
}

/// Everything an UPDATE (or a set of UPDATEs split from one) says, in a
/// form where the split does not show: withdrawn routes and NLRI per
/// family, and the other attributes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Said {
    withdrawn: Vec<String>,
    nlri: Vec<String>,
    mp_reach_heads: Vec<String>,
    other: Vec<PathAttribute>,
}

fn nlri_items(family: &mdc_bgp::Family, n: &MpNlri) -> Vec<String> {
    match n {
        MpNlri::Prefixes(v) => v.iter().map(|p| format!("{family} {p:?}")).collect(),
        MpNlri::Typed(v) => v.iter().map(|p| format!("{family} {p:?}")).collect(),
        MpNlri::Raw(v) => vec![format!("{family} raw {v:02x?}")],
    }
}

fn add(said: &mut Said, u: &Update) {
    said.withdrawn.extend(u.withdrawn.iter().map(|p| format!("{p:?}")));
    said.nlri.extend(u.nlri.iter().map(|p| format!("{p:?}")));
    for a in &u.attributes {
        match &a.value {
            AttrValue::MpReach(r) => {
                said.mp_reach_heads.push(format!("{:02x} {} {:?}", a.flags, r.family, r.next_hop));
                said.nlri.extend(nlri_items(&r.family, &r.nlri));
            }
            AttrValue::MpUnreach(r) => said.withdrawn.extend(nlri_items(&r.family, &r.nlri)),
            _ => {
                if !said.other.contains(a) {
                    said.other.push(a.clone());
                }
            }
        }
    }
}

fn normalise(mut s: Said) -> Said {
    s.withdrawn.sort();
    s.nlri.sort();
    s.mp_reach_heads.sort();
    s.mp_reach_heads.dedup();
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((ctx, msg)) = mdc_fuzz::split_context(data) else {
        return;
    };
    let Ok(first) = Message::decode(msg, &ctx) else {
        return;
    };
    if let Message::Update(u) = &first {
        if u.outcome != Outcome::Clean {
            return;
        }
    }
    let encoded = match first.encode(&ctx) {
        Ok(e) => e,
        Err(e) => panic!("decoded message does not encode: {e}\n{first:?}"),
    };
    let max = match first {
        Message::Open(_) | Message::Keepalive => MAX_MESSAGE_LEN,
        _ => ctx.max_message_len(),
    };
    assert!(!encoded.is_empty(), "encode produced no message");
    for m in &encoded {
        assert!(m.len() <= max, "encoded message of {} bytes exceeds {max}", m.len());
    }

    match &first {
        Message::Update(u) => {
            let again: Vec<Update> = encoded
                .iter()
                .map(|m| match decode_again(m, &ctx) {
                    Message::Update(d) => {
                        assert_eq!(
                            d.outcome,
                            Outcome::Clean,
                            "re-encoded UPDATE is not clean: {:?}",
                            d.diagnostics
                        );
                        d.update
                    }
                    other => panic!("UPDATE re-encoded as {other:?}"),
                })
                .collect();
            if let [one] = again.as_slice() {
                assert_eq!(one, &u.update, "UPDATE changed in a round trip");
            } else {
                // Split only because it no longer fits in one message: the
                // pieces then hold more than one message can.
                let total: usize = encoded.iter().map(Vec::len).sum();
                assert!(total > max, "UPDATE split into {} messages of {total} bytes in all", encoded.len());
                let mut before = Said::default();
                add(&mut before, &u.update);
                let mut after = Said::default();
                for p in &again {
                    add(&mut after, p);
                }
                assert_eq!(
                    normalise(before),
                    normalise(after),
                    "split UPDATE does not carry the same routes"
                );
            }
        }
        other => {
            assert_eq!(encoded.len(), 1, "a non-UPDATE message was split");
            let Some(bytes) = encoded.first() else { unreachable!() };
            assert_eq!(&decode_again(bytes, &ctx), other, "message changed in a round trip");
        }
    }
});
