//! NOTIFICATION message (RFC 4271 §4.5) and the error codes other modules
//! use to build one.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

use crate::wire::error::DecodeError;
use crate::wire::reader::Reader;

/// Error codes (RFC 4271 §4.5, IANA "BGP Error (Notification) Codes").
pub mod code {
    pub const MESSAGE_HEADER: u8 = 1;
    pub const OPEN_MESSAGE: u8 = 2;
    pub const UPDATE_MESSAGE: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH: u8 = 7;
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Message Header Error subcodes (RFC 4271 §6.1).
pub mod header_subcode {
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492, RFC 9234).
pub mod open_subcode {
    pub const UNSPECIFIC: u8 = 0;
    pub const UNSUPPORTED_VERSION: u8 = 1;
    pub const BAD_PEER_AS: u8 = 2;
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    pub const ROLE_MISMATCH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608).
pub mod fsm_subcode {
    pub const UNSPECIFIED: u8 = 0;
    pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
    pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
pub mod route_refresh_subcode {
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
pub mod update_subcode {
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Cease subcodes (RFC 4486, RFC 8538, RFC 9003).
pub mod cease_subcode {
    pub const MAX_PREFIXES_REACHED: u8 = 1;
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
    pub const HARD_RESET: u8 = 9;
    pub const BFD_DOWN: u8 = 10;
}

/// A NOTIFICATION: error code, subcode and data, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Notification { code, subcode, data: data.into() }
    }

    /// Decode the body of a NOTIFICATION (after the 19-byte header).
    pub fn decode_body(body: &[u8], base: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::at(body, base);
        let code = r.u8("notification error code")?;
        let subcode = r.u8("notification error subcode")?;
        Ok(Notification { code, subcode, data: r.rest().to_vec() })
    }

    /// Append the body (without header).
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

/// Longest RFC 9003 shutdown communication, in bytes.
pub const MAX_SHUTDOWN_MESSAGE_LEN: usize = 255;

/// Why the data of an Administrative Shutdown / Reset is not a valid
/// shutdown communication (RFC 9003 §4: log it, do not fail the session).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownMessageError {
    #[error("shutdown communication length {length}, but {available} bytes follow")]
    BadLength { length: usize, available: usize },
    #[error("shutdown communication is not valid UTF-8")]
    InvalidUtf8,
}

/// Name of an error code (IANA "BGP Error (Notification) Codes").
pub fn code_name(error_code: u8) -> Option<&'static str> {
    Some(match error_code {
        code::MESSAGE_HEADER => "Message Header Error",
        code::OPEN_MESSAGE => "OPEN Message Error",
        code::UPDATE_MESSAGE => "UPDATE Message Error",
        code::HOLD_TIMER_EXPIRED => "Hold Timer Expired",
        code::FSM => "Finite State Machine Error",
        code::CEASE => "Cease",
        code::ROUTE_REFRESH => "ROUTE-REFRESH Message Error",
        code::SEND_HOLD_TIMER_EXPIRED => "Send Hold Timer Expired",
        _ => return None,
    })
}

/// Name of a subcode of `error_code` (IANA subcode registries).
pub fn subcode_name(error_code: u8, subcode: u8) -> Option<&'static str> {
    Some(match (error_code, subcode) {
        (code::MESSAGE_HEADER, 1) => "Connection Not Synchronized",
        (code::MESSAGE_HEADER, 2) => "Bad Message Length",
        (code::MESSAGE_HEADER, 3) => "Bad Message Type",
        (code::OPEN_MESSAGE | code::UPDATE_MESSAGE | code::CEASE | code::ROUTE_REFRESH, 0) => "Unspecific",
        (code::OPEN_MESSAGE, 1) => "Unsupported Version Number",
        (code::OPEN_MESSAGE, 2) => "Bad Peer AS",
        (code::OPEN_MESSAGE, 3) => "Bad BGP Identifier",
        (code::OPEN_MESSAGE, 4) => "Unsupported Optional Parameter",
        (code::OPEN_MESSAGE, 5) => "Authentication Failure (deprecated)",
        (code::OPEN_MESSAGE, 6) => "Unacceptable Hold Time",
        (code::OPEN_MESSAGE, 7) => "Unsupported Capability",
        (code::OPEN_MESSAGE, 11) => "Role Mismatch",
        (code::UPDATE_MESSAGE, 1) => "Malformed Attribute List",
        (code::UPDATE_MESSAGE, 2) => "Unrecognized Well-known Attribute",
        (code::UPDATE_MESSAGE, 3) => "Missing Well-known Attribute",
        (code::UPDATE_MESSAGE, 4) => "Attribute Flags Error",
        (code::UPDATE_MESSAGE, 5) => "Attribute Length Error",
        (code::UPDATE_MESSAGE, 6) => "Invalid ORIGIN Attribute",
        (code::UPDATE_MESSAGE, 7) => "AS Routing Loop (deprecated)",
        (code::UPDATE_MESSAGE, 8) => "Invalid NEXT_HOP Attribute",
        (code::UPDATE_MESSAGE, 9) => "Optional Attribute Error",
        (code::UPDATE_MESSAGE, 10) => "Invalid Network Field",
        (code::UPDATE_MESSAGE, 11) => "Malformed AS_PATH",
        (code::FSM, 0) => "Unspecified Error",
        (code::FSM, 1) => "Receive Unexpected Message in OpenSent State",
        (code::FSM, 2) => "Receive Unexpected Message in OpenConfirm State",
        (code::FSM, 3) => "Receive Unexpected Message in Established State",
        (code::CEASE, 1) => "Maximum Number of Prefixes Reached",
        (code::CEASE, 2) => "Administrative Shutdown",
        (code::CEASE, 3) => "Peer De-configured",
        (code::CEASE, 4) => "Administrative Reset",
        (code::CEASE, 5) => "Connection Rejected",
        (code::CEASE, 6) => "Other Configuration Change",
        (code::CEASE, 7) => "Connection Collision Resolution",
        (code::CEASE, 8) => "Out of Resources",
        (code::CEASE, 9) => "Hard Reset",
        (code::CEASE, 10) => "BFD Down",
        (code::ROUTE_REFRESH, 1) => "Invalid Message Length",
        _ => return None,
    })
}

/// `text` cut to at most `max` bytes on a character boundary.
fn truncate_str(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

impl Notification {
    /// Hold Timer Expired (RFC 4271 §6.5).
    pub fn hold_timer_expired() -> Self {
        Notification::new(code::HOLD_TIMER_EXPIRED, 0, Vec::new())
    }

    /// Send Hold Timer Expired (RFC 9687).
    pub fn send_hold_timer_expired() -> Self {
        Notification::new(code::SEND_HOLD_TIMER_EXPIRED, 0, Vec::new())
    }

    /// A Cease with `subcode` and no data (RFC 4486).
    pub fn cease(subcode: u8) -> Self {
        Notification::new(code::CEASE, subcode, Vec::new())
    }

    /// Cease / Maximum Number of Prefixes Reached (RFC 4486 §4): AFI (2),
    /// SAFI (1) and the configured upper bound (4).
    pub fn max_prefixes_reached(family: crate::wire::family::Family, limit: u32) -> Self {
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&family.afi.0.to_be_bytes());
        data.push(family.safi.0);
        data.extend_from_slice(&limit.to_be_bytes());
        Notification::new(code::CEASE, cease_subcode::MAX_PREFIXES_REACHED, data)
    }

    fn shutdown_communication(subcode: u8, text: &str) -> Self {
        let text = truncate_str(text, MAX_SHUTDOWN_MESSAGE_LEN);
        let mut data = Vec::with_capacity(1 + text.len());
        // At most 255 after truncation.
        data.push(text.len() as u8);
        data.extend_from_slice(text.as_bytes());
        Notification::new(code::CEASE, subcode, data)
    }

    /// Cease / Administrative Shutdown with an RFC 9003 shutdown
    /// communication (cut to 255 bytes on a character boundary; an empty
    /// text sends a zero length).
    ///
    /// ```text
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// | Error Code 6  |    Subcode    |    Length     |     ...
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// ~              Shutdown Communication (UTF-8)   ~
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// ```
    pub fn admin_shutdown(text: &str) -> Self {
        Self::shutdown_communication(cease_subcode::ADMINISTRATIVE_SHUTDOWN, text)
    }

    /// Cease / Administrative Reset with an RFC 9003 shutdown communication.
    pub fn admin_reset(text: &str) -> Self {
        Self::shutdown_communication(cease_subcode::ADMINISTRATIVE_RESET, text)
    }

    /// The RFC 9003 shutdown communication of a Cease / Administrative
    /// Shutdown or Reset: `None` if this is neither or carries no data,
    /// an error if the data is not a valid communication (length octet
    /// not matching the bytes that follow, or not UTF-8).
    pub fn shutdown_message(&self) -> Option<Result<&str, ShutdownMessageError>> {
        if self.code != code::CEASE
            || (self.subcode != cease_subcode::ADMINISTRATIVE_SHUTDOWN
                && self.subcode != cease_subcode::ADMINISTRATIVE_RESET)
        {
            return None;
        }
        let (&len, text) = self.data.split_first()?;
        let len = usize::from(len);
        if len != text.len() {
            return Some(Err(ShutdownMessageError::BadLength { length: len, available: text.len() }));
        }
        Some(std::str::from_utf8(text).map_err(|_| ShutdownMessageError::InvalidUtf8))
    }

    /// Cease / Hard Reset (RFC 8538 §3) wrapping `inner`: the data is the
    /// inner code, subcode and data.
    pub fn hard_reset(inner: Notification) -> Self {
        let mut data = Vec::with_capacity(2 + inner.data.len());
        data.push(inner.code);
        data.push(inner.subcode);
        data.extend_from_slice(&inner.data);
        Notification::new(code::CEASE, cease_subcode::HARD_RESET, data)
    }

    /// The NOTIFICATION inside a Cease / Hard Reset, if this is one and its
    /// data holds at least a code and subcode.
    pub fn hard_reset_inner(&self) -> Option<Notification> {
        if self.code != code::CEASE || self.subcode != cease_subcode::HARD_RESET {
            return None;
        }
        match self.data.as_slice() {
            [c, s, rest @ ..] => Some(Notification::new(*c, *s, rest)),
            _ => None,
        }
    }

    /// Code and subcode in words, e.g. `Cease/Administrative Shutdown`.
    fn fmt_names(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match code_name(self.code) {
            Some(name) => f.write_str(name)?,
            None => write!(f, "code {}", self.code)?,
        }
        let no_subcodes = matches!(self.code, code::HOLD_TIMER_EXPIRED | code::SEND_HOLD_TIMER_EXPIRED);
        if no_subcodes && self.subcode == 0 {
            return Ok(());
        }
        match subcode_name(self.code, self.subcode) {
            Some(name) => write!(f, "/{name}"),
            None => write!(f, "/subcode {}", self.subcode),
        }
    }

    fn fmt_data(&self, f: &mut fmt::Formatter<'_>, nested: bool) -> fmt::Result {
        if let Some(msg) = self.shutdown_message() {
            return match msg {
                Ok(text) => write!(f, ": {text:?}"),
                Err(e) => {
                    write!(f, ": ({e})")?;
                    fmt_hex(f, &self.data)
                }
            };
        }
        if let Some(inner) = self.hard_reset_inner().filter(|_| !nested) {
            f.write_str(": ")?;
            inner.fmt_names(f)?;
            return inner.fmt_data(f, true);
        }
        fmt_hex(f, &self.data)
    }
}

/// ` (data: 00 04 ...)`, at most 32 bytes shown.
fn fmt_hex(f: &mut fmt::Formatter<'_>, data: &[u8]) -> fmt::Result {
    const SHOWN: usize = 32;
    if data.is_empty() {
        return Ok(());
    }
    f.write_str(" (data:")?;
    for b in data.iter().take(SHOWN) {
        write!(f, " {b:02x}")?;
    }
    if data.len() > SHOWN {
        write!(f, " ... {} bytes", data.len())?;
    }
    f.write_str(")")
}

/// `Cease/Administrative Shutdown: "maintenance"`,
/// `OPEN Message Error/Unsupported Version Number (data: 00 04)`,
/// `Cease/Hard Reset: Hold Timer Expired`.
impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_names(f)?;
        self.fmt_data(f, false)
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn notification() -> impl Strategy<Value = Notification> {
        let raw = (any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(c, s, d)| Notification::new(c, s, d));
        prop_oneof![
            raw.clone(),
            ".{0,80}".prop_map(|t| Notification::admin_shutdown(&t)),
            ".{0,80}".prop_map(|t| Notification::admin_reset(&t)),
            raw.prop_map(Notification::hard_reset),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::context::SessionContext;
    use crate::wire::message::Message;
    use proptest::prelude::*;

    #[test]
    fn admin_shutdown_encoding() {
        let n = Notification::admin_shutdown("maintenance");
        assert_eq!((n.code, n.subcode), (6, 2));
        let mut want = vec![11];
        want.extend_from_slice(b"maintenance");
        assert_eq!(n.data, want);
        assert_eq!(n.shutdown_message(), Some(Ok("maintenance")));
        assert_eq!(n.to_string(), "Cease/Administrative Shutdown: \"maintenance\"");
        let r = Notification::admin_reset("");
        assert_eq!((r.code, r.subcode, r.data.as_slice()), (6, 4, &[0u8][..]));
        assert_eq!(r.shutdown_message(), Some(Ok("")));
    }

    #[test]
    fn admin_shutdown_truncates_on_char_boundary() {
        // 'é' is 2 bytes: 200 of them are 400 bytes; 127 fit (254 bytes).
        let text = "é".repeat(200);
        let n = Notification::admin_shutdown(&text);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.data.len(), 255);
        assert_eq!(n.shutdown_message(), Some(Ok("é".repeat(127).as_str())));
        let n = Notification::admin_shutdown(&"a".repeat(300));
        assert_eq!(n.data[0], 255);
        assert_eq!(n.shutdown_message().unwrap().unwrap().len(), 255);
    }

    #[test]
    fn shutdown_message_errors() {
        // No data: an older peer (RFC 4486 only).
        assert_eq!(Notification::cease(2).shutdown_message(), None);
        // Not a shutdown.
        assert_eq!(Notification::new(6, 3, vec![1, b'a']).shutdown_message(), None);
        assert_eq!(
            Notification::new(6, 2, vec![5, b'a']).shutdown_message(),
            Some(Err(ShutdownMessageError::BadLength { length: 5, available: 1 }))
        );
        assert_eq!(
            Notification::new(6, 4, vec![1, b'a', b'b']).shutdown_message(),
            Some(Err(ShutdownMessageError::BadLength { length: 1, available: 2 }))
        );
        let bad = Notification::new(6, 2, vec![2, 0xc3, 0x28]);
        assert_eq!(bad.shutdown_message(), Some(Err(ShutdownMessageError::InvalidUtf8)));
        assert_eq!(
            bad.to_string(),
            "Cease/Administrative Shutdown: (shutdown communication is not valid UTF-8) (data: 02 c3 28)"
        );
    }

    #[test]
    fn shutdown_message_is_escaped_in_display() {
        let n = Notification::admin_shutdown("bye\n\u{1b}[2J");
        assert_eq!(n.to_string(), "Cease/Administrative Shutdown: \"bye\\n\\u{1b}[2J\"");
    }

    #[test]
    fn hard_reset() {
        let inner = Notification::admin_shutdown("upgrade");
        let n = Notification::hard_reset(inner.clone());
        assert_eq!((n.code, n.subcode), (6, 9));
        assert_eq!(&n.data[..2], &[6, 2]);
        assert_eq!(n.hard_reset_inner(), Some(inner));
        assert_eq!(n.to_string(), "Cease/Hard Reset: Cease/Administrative Shutdown: \"upgrade\"");
        let n = Notification::hard_reset(Notification::hold_timer_expired());
        assert_eq!(n.data, vec![4, 0]);
        assert_eq!(n.to_string(), "Cease/Hard Reset: Hold Timer Expired");
        // Too short to hold an inner NOTIFICATION.
        assert_eq!(Notification::new(6, 9, vec![4]).hard_reset_inner(), None);
        assert_eq!(Notification::cease(2).hard_reset_inner(), None);
        // Nested hard resets are shown one level deep.
        let nested = Notification::hard_reset(Notification::hard_reset(Notification::hold_timer_expired()));
        assert_eq!(nested.to_string(), "Cease/Hard Reset: Cease/Hard Reset (data: 04 00)");
    }

    #[test]
    fn display_names() {
        let cases = [
            (
                Notification::new(2, 1, vec![0, 4]),
                "OPEN Message Error/Unsupported Version Number (data: 00 04)",
            ),
            (Notification::new(1, 2, vec![0, 5]), "Message Header Error/Bad Message Length (data: 00 05)"),
            (Notification::new(3, 11, vec![]), "UPDATE Message Error/Malformed AS_PATH"),
            (
                Notification::new(5, 3, vec![]),
                "Finite State Machine Error/Receive Unexpected Message in Established State",
            ),
            (Notification::send_hold_timer_expired(), "Send Hold Timer Expired"),
            (Notification::new(7, 1, vec![]), "ROUTE-REFRESH Message Error/Invalid Message Length"),
            (Notification::cease(10), "Cease/BFD Down"),
            (Notification::new(2, 0, vec![]), "OPEN Message Error/Unspecific"),
            (Notification::new(2, 11, vec![]), "OPEN Message Error/Role Mismatch"),
            (Notification::new(4, 3, vec![]), "Hold Timer Expired/subcode 3"),
            (Notification::new(42, 7, vec![1]), "code 42/subcode 7 (data: 01)"),
        ];
        for (n, want) in cases {
            assert_eq!(n.to_string(), want);
        }
        let long = Notification::new(3, 1, vec![0xab; 40]);
        assert!(long.to_string().ends_with(" ab ... 40 bytes)"), "{long}");
    }

    #[test]
    fn max_prefixes() {
        let n = Notification::max_prefixes_reached(crate::wire::family::Family::IPV6_UNICAST, 10);
        assert_eq!((n.code, n.subcode), (6, 1));
        assert_eq!(n.data, vec![0, 2, 1, 0, 0, 0, 10]);
    }

    #[test]
    fn message_with_shutdown_communication() {
        // Whole message as FRR sends it for `neighbor X shutdown message down`.
        let mut msg = vec![0xff; 16];
        msg.extend_from_slice(&[0, 26, 3, 6, 2, 4]);
        msg.extend_from_slice(b"down");
        let ctx = SessionContext::default();
        let Message::Notification(n) = Message::decode(&msg, &ctx).unwrap() else {
            panic!("not a NOTIFICATION");
        };
        assert_eq!(n.shutdown_message(), Some(Ok("down")));
        assert_eq!(Message::Notification(n).encode(&ctx).unwrap(), vec![msg]);
    }

    proptest! {
        #[test]
        fn round_trip(n in strategies::notification()) {
            let ctx = SessionContext::default();
            let msgs = Message::Notification(n.clone()).encode(&ctx).unwrap();
            prop_assert_eq!(msgs.len(), 1);
            prop_assert_eq!(msgs[0].len(), 21 + n.data.len());
            let back = Message::decode(&msgs[0], &ctx).unwrap();
            prop_assert_eq!(&back, &Message::Notification(n));
            prop_assert_eq!(back.encode(&ctx).unwrap(), msgs);
        }

        #[test]
        fn shutdown_text_round_trip(text in ".{0,300}") {
            let n = Notification::admin_shutdown(&text);
            let got = n.shutdown_message().unwrap().unwrap();
            prop_assert!(got.len() <= MAX_SHUTDOWN_MESSAGE_LEN);
            prop_assert!(text.starts_with(got));
            if text.len() <= MAX_SHUTDOWN_MESSAGE_LEN {
                prop_assert_eq!(got, text.as_str());
            }
        }

        #[test]
        fn hard_reset_round_trip(code in any::<u8>(), sub in any::<u8>(), data in prop::collection::vec(any::<u8>(), 0..40)) {
            let inner = Notification::new(code, sub, data);
            prop_assert_eq!(Notification::hard_reset(inner.clone()).hard_reset_inner(), Some(inner));
        }

        #[test]
        fn display_never_panics(n in strategies::notification()) {
            prop_assert!(!n.to_string().is_empty());
        }
    }
}
