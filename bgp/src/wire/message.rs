//! Message framing (RFC 4271 §4.1) and the [`Message`] enum.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::wire::context::{MAX_MESSAGE_LEN, SessionContext};
use crate::wire::error::{DecodeError, EncodeError, ErrorKind, MessageError};
use crate::wire::notification::{Notification, code, header_subcode};
use crate::wire::open::Open;
use crate::wire::route_refresh::RouteRefresh;
use crate::wire::update::{Update, UpdateDecode};

pub const MARKER: [u8; 16] = [0xff; 16];
pub const HEADER_LEN: usize = 19;

/// Message type codes (RFC 4271 §4.1, RFC 2918).
pub mod kind {
    pub const OPEN: u8 = 1;
    pub const UPDATE: u8 = 2;
    pub const NOTIFICATION: u8 = 3;
    pub const KEEPALIVE: u8 = 4;
    pub const ROUTE_REFRESH: u8 = 5;
}

/// A message header whose marker, length and type have been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total length including the header.
    pub length: usize,
    pub kind: u8,
}

fn header_error(subcode: u8, data: Vec<u8>, error: DecodeError) -> MessageError {
    MessageError::new(code::MESSAGE_HEADER, subcode, data, error)
}

/// Check the header at the start of `buf`. Returns `Ok(None)` when fewer
/// than 19 bytes are buffered; the whole message need not be there yet.
pub fn decode_header(buf: &[u8], ctx: &SessionContext) -> Result<Option<Header>, MessageError> {
    let Some(&[ref marker @ .., l0, l1, kind]) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if *marker != MARKER {
        return Err(header_error(
            header_subcode::CONNECTION_NOT_SYNCHRONIZED,
            Vec::new(),
            DecodeError::new(0, "marker", ErrorKind::Invalid("marker is not all ones")),
        ));
    }
    let len_bytes = [l0, l1];
    let length = usize::from(u16::from_be_bytes(len_bytes));
    let (min, max) = match kind {
        kind::OPEN => (29, MAX_MESSAGE_LEN),
        kind::UPDATE => (23, ctx.max_message_len()),
        kind::NOTIFICATION => (21, ctx.max_message_len()),
        kind::KEEPALIVE => (19, 19),
        kind::ROUTE_REFRESH => (23, ctx.max_message_len()),
        other => {
            return Err(header_error(
                header_subcode::BAD_MESSAGE_TYPE,
                vec![other],
                DecodeError::new(18, "message type", ErrorKind::BadValue { value: other.into() }),
            ));
        }
    };
    if length < min || length > max {
        return Err(header_error(
            header_subcode::BAD_MESSAGE_LENGTH,
            len_bytes.to_vec(),
            DecodeError::new(16, "message length", ErrorKind::BadLength { length }),
        ));
    }
    Ok(Some(Header { length, kind }))
}

/// Length of the first complete message in `buf`, `None` if more bytes are
/// needed, or the error that ends the session.
pub fn frame_len(buf: &[u8], ctx: &SessionContext) -> Result<Option<usize>, MessageError> {
    Ok(decode_header(buf, ctx)?.filter(|h| buf.len() >= h.length).map(|h| h.length))
}

/// Any BGP message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    /// An UPDATE with the outcome of RFC 7606 checks. Errors that reset the
    /// session come back as `Err(MessageError)` from [`Message::decode`].
    Update(UpdateDecode),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// Decode one whole message (header included; `buf` must be exactly it).
    pub fn decode(buf: &[u8], ctx: &SessionContext) -> Result<Message, MessageError> {
        let header = match decode_header(buf, ctx)? {
            Some(h) => h,
            None => {
                return Err(header_error(
                    header_subcode::BAD_MESSAGE_LENGTH,
                    Vec::new(),
                    DecodeError::new(
                        0,
                        "message header",
                        ErrorKind::Truncated { needed: HEADER_LEN, available: buf.len() },
                    ),
                ));
            }
        };
        if header.length != buf.len() {
            let len_bytes = buf.get(16..18).unwrap_or_default().to_vec();
            return Err(header_error(
                header_subcode::BAD_MESSAGE_LENGTH,
                len_bytes,
                DecodeError::new(16, "message length", ErrorKind::BadLength { length: header.length }),
            ));
        }
        let body = buf.get(HEADER_LEN..).unwrap_or_default();
        match header.kind {
            kind::OPEN => Ok(Message::Open(Open::decode_body(body, HEADER_LEN)?)),
            kind::UPDATE => Ok(Message::Update(Update::decode_body(body, HEADER_LEN, ctx)?)),
            kind::NOTIFICATION => Notification::decode_body(body, HEADER_LEN)
                .map(Message::Notification)
                .map_err(|error| header_error(header_subcode::BAD_MESSAGE_LENGTH, Vec::new(), error)),
            kind::KEEPALIVE => Ok(Message::Keepalive),
            kind::ROUTE_REFRESH => Ok(Message::RouteRefresh(RouteRefresh::decode_body(body, HEADER_LEN)?)),
            _ => unreachable_kind(header.kind),
        }
    }

    /// Encode a message that is not an UPDATE (UPDATEs may need several
    /// messages: see [`Update::encode`]).
    pub fn encode(&self, ctx: &SessionContext) -> Result<Vec<Vec<u8>>, EncodeError> {
        match self {
            Message::Update(u) => u.update.encode(ctx),
            other => {
                let mut out = Vec::with_capacity(64);
                begin(&mut out);
                let kind = match other {
                    Message::Open(o) => {
                        o.encode_body(&mut out)?;
                        kind::OPEN
                    }
                    Message::Notification(n) => {
                        n.encode_body(&mut out);
                        kind::NOTIFICATION
                    }
                    Message::Keepalive => kind::KEEPALIVE,
                    Message::RouteRefresh(r) => {
                        r.encode_body(&mut out);
                        kind::ROUTE_REFRESH
                    }
                    Message::Update(_) => kind::UPDATE,
                };
                // OPEN and KEEPALIVE never exceed 4096 bytes (RFC 8654 §3).
                let max = if matches!(other, Message::Open(_) | Message::Keepalive) {
                    MAX_MESSAGE_LEN
                } else {
                    ctx.max_message_len()
                };
                finish(&mut out, 0, kind, max)?;
                Ok(vec![out])
            }
        }
    }
}

#[cold]
fn unreachable_kind(kind: u8) -> Result<Message, MessageError> {
    // decode_header accepted only the five known types.
    Err(header_error(
        header_subcode::BAD_MESSAGE_TYPE,
        vec![kind],
        DecodeError::new(18, "message type", ErrorKind::BadValue { value: kind.into() }),
    ))
}

/// Start a message in `out`: marker plus a placeholder length and type.
pub fn begin(out: &mut Vec<u8>) {
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, 0]);
}

/// Fill in length and type of the message that starts at `start` in `out`.
pub fn finish(out: &mut [u8], start: usize, kind: u8, max: usize) -> Result<(), EncodeError> {
    let len = out.len() - start;
    if len > max {
        return Err(EncodeError::ExceedsMessageSize { field: "message", length: len, max });
    }
    if let Some([l0, l1, k]) = out.get_mut(start + 16..start + 19) {
        *l0 = (len >> 8) as u8;
        *l1 = len as u8;
        *k = kind;
    }
    Ok(())
}
