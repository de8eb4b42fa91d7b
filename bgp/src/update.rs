//! UPDATE message. Placeholder: being written.
use crate::context::SessionContext;
use crate::error::{EncodeError, MessageError};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateDecode {
    pub update: Update,
}

impl Update {
    pub fn decode_body(
        _b: &[u8],
        _base: usize,
        _ctx: &SessionContext,
    ) -> Result<UpdateDecode, MessageError> {
        Ok(UpdateDecode { update: Update {} })
    }
    pub fn encode(&self, _ctx: &SessionContext) -> Result<Vec<Vec<u8>>, EncodeError> {
        Ok(vec![])
    }
}
