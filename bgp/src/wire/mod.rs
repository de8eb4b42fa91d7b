//! The BGP wire codec: the bytes of every BGP message, and nothing else.
//!
//! This layer owns the wire format: message framing ([`message`]), OPEN
//! with its optional parameters and capabilities ([`open`],
//! [`capability`]), UPDATE ([`update`]) with its path attributes
//! ([`attr`], [`aspath`], [`community`], [`tunnel`]) and prefixes
//! ([`nlri`]), NOTIFICATION ([`notification`]), KEEPALIVE, ROUTE-REFRESH
//! ([`route_refresh`]), and the RFC 7606 rules that decide what a
//! malformed UPDATE costs ([`rfc7606`]). It turns byte slices into typed
//! values and back, and that is all: it must not do I/O (no sockets,
//! files, threads or clocks), and must not touch the session FSM
//! ([`crate::fsm`]), the RIB ([`crate::rib`]), policies ([`crate::policy`])
//! or the tokio speaker. Those layers are built on this one, never the
//! other way round: nothing under `wire/` names them.
//!
//! The vocabulary every layer shares lives here too: [`context`] (the
//! negotiated [`SessionContext`] and the [`FamilyCodec`] plug-in),
//! [`error`] (decode and encode errors and the NOTIFICATION they cost),
//! [`family`] (AFI, SAFI) and [`reader`] (the bounds-checked reader). They
//! are used by everything, but each of them describes the wire format and
//! the codec cannot work without it, so they belong to the bottom layer;
//! keeping them here keeps every dependency pointing down, into `wire`.
//! What two OPENs agree on depends on the peer's configuration and is the
//! FSM's: [`crate::fsm::negotiate`].
//!
//! The crate root re-exports every module of this layer under its old
//! name: `mdc_bgp::attr` is `mdc_bgp::wire::attr`.
//!
//! [`SessionContext`]: context::SessionContext
//! [`FamilyCodec`]: context::FamilyCodec

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
pub mod semantic;
pub mod tunnel;
pub mod update;
