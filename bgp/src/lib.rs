#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod fsm;
pub mod policy;
pub mod rib;
#[cfg(feature = "speaker")]
pub mod speaker;
pub mod wire;

// The modules of the wire codec and negotiation, at the paths they had
// before they moved into `wire/` and `fsm/`.
pub use fsm::negotiate;
pub use wire::{
    aspath, attr, capability, community, context, error, family, message, nlri, notification, open, reader,
    rfc7606, route_refresh, tunnel, update,
};

pub use context::SessionContext;
pub use error::{DecodeError, EncodeError, ErrorKind, MessageError};
pub use family::{Afi, Family, Safi};
pub use message::Message;
pub use notification::Notification;
