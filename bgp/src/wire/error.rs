//! Decode errors: what was wrong, in which field, at which byte offset.

use std::fmt;

use crate::wire::notification::Notification;

/// What went wrong while decoding a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The field needs `needed` bytes but only `available` remain.
    Truncated { needed: usize, available: usize },
    /// A length field holds a value the RFC does not allow.
    BadLength { length: usize },
    /// A field holds a value the RFC does not allow.
    BadValue { value: u64 },
    /// Bytes were left over after the last element of a field.
    TrailingBytes { count: usize },
    /// Anything else; the text says what.
    Invalid(&'static str),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated { needed, available } => {
                write!(f, "truncated: needs {needed} bytes, {available} left")
            }
            ErrorKind::BadLength { length } => write!(f, "invalid length {length}"),
            ErrorKind::BadValue { value } => write!(f, "invalid value {value}"),
            ErrorKind::TrailingBytes { count } => write!(f, "{count} trailing bytes"),
            ErrorKind::Invalid(why) => f.write_str(why),
        }
    }
}

/// A decode failure: the field, its byte offset from the start of the
/// message (the first marker byte is offset 0), and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} at byte {offset}: {kind}")]
pub struct DecodeError {
    pub offset: usize,
    pub field: &'static str,
    pub kind: ErrorKind,
}

impl DecodeError {
    pub fn new(offset: usize, field: &'static str, kind: ErrorKind) -> Self {
        DecodeError { offset, field, kind }
    }
}

/// An encode failure: the model cannot be put on the wire as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field does not fit its length field (e.g. an attribute over 65535 bytes).
    #[error("{field} is {length} bytes, more than its length field can hold ({max})")]
    TooLong { field: &'static str, length: usize, max: usize },
    /// A single element is larger than the negotiated maximum message size.
    #[error("{field} needs {length} bytes, more than the maximum message size {max}")]
    ExceedsMessageSize { field: &'static str, length: usize, max: usize },
    /// The value cannot be expressed in this session's context.
    #[error("{field}: {why}")]
    Unrepresentable { field: &'static str, why: &'static str },
}

/// A message that must end the session: the NOTIFICATION to send and the
/// decode error that caused it (for the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} (NOTIFICATION {}/{})", notification.code, notification.subcode)]
pub struct MessageError {
    pub notification: Notification,
    pub error: DecodeError,
}

impl MessageError {
    pub fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>, error: DecodeError) -> Self {
        MessageError { notification: Notification::new(code, subcode, data), error }
    }
}
