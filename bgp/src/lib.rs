//! # mdc-bgp: the BGP-4 / MP-BGP wire codec of mdc
//!
//! This crate owns the BGP wire format: framing, OPEN with capabilities,
//! UPDATE with every path attribute mdc needs, NOTIFICATION, KEEPALIVE and
//! ROUTE-REFRESH, and the RFC 7606 rules that decide what a malformed
//! UPDATE costs. It does no I/O, keeps no clocks and knows nothing of
//! sessions beyond the negotiated [`SessionContext`] it is handed.
//!
//! Families it does not model (EVPN lives in `mdc-evpn`) travel as raw NLRI
//! bytes, framed and checked by a [`context::FamilyCodec`] plug-in.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod aspath;
pub mod attr;
pub mod capability;
pub mod community;
pub mod context;
pub mod error;
pub mod family;
pub mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod reader;
pub mod rfc7606;
pub mod route_refresh;
pub mod tunnel;
pub mod update;

pub use context::SessionContext;
pub use error::{DecodeError, EncodeError, ErrorKind, MessageError};
pub use family::{Afi, Family, Safi};
pub use message::Message;
pub use notification::Notification;
