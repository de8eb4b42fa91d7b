#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod aspath;
pub mod attr;
pub mod capability;
pub mod community;
pub mod context;
pub mod error;
pub mod family;
pub mod fsm;
pub mod message;
pub mod negotiate;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod policy;
pub mod reader;
pub mod rfc7606;
pub mod rib;
pub mod route_refresh;
#[cfg(feature = "speaker")]
pub mod speaker;
pub mod tunnel;
pub mod update;

pub use context::SessionContext;
pub use error::{DecodeError, EncodeError, ErrorKind, MessageError};
pub use family::{Afi, Family, Safi};
pub use message::Message;
pub use notification::Notification;
