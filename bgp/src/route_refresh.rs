//! ROUTE-REFRESH (RFC 2918, RFC 7313). Placeholder: being written.
use crate::error::MessageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRefresh {}

impl RouteRefresh {
    pub fn decode_body(_body: &[u8], _base: usize) -> Result<RouteRefresh, MessageError> {
        Ok(RouteRefresh {})
    }
    pub fn encode_body(&self, _out: &mut Vec<u8>) {}
}
