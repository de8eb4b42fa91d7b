//! OPEN message (RFC 4271 §4.2, RFC 9072). Placeholder: being written.
use crate::error::{EncodeError, MessageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {}

impl Open {
    pub fn decode_body(_body: &[u8], _base: usize) -> Result<Open, MessageError> {
        Ok(Open {})
    }
    pub fn encode_body(&self, _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }
}
