//! # mdc-evpn: MP-BGP EVPN for mdc
//!
//! This crate owns the EVPN NLRI of RFC 7432 (route types 1-4), RFC 8365
//! (VXLAN: the label field carries a 24-bit VNI) and RFC 9136 (type 5, IP
//! prefix): a typed model, a decoder that enforces the RFC 7606 length
//! rules and names the field and absolute byte offset of every error, a
//! byte-exact encoder, and the route keys the RIB will store them under.
//!
//! It depends on `mdc-bgp` and never the reverse. `bgp` carries AFI 25 /
//! SAFI 70 NLRI as raw bytes and asks this crate, through the
//! [`family_codec`] plug-in registered in its `SessionContext`, how long
//! each NLRI is ([`split`]) and whether it is valid ([`check`]). See
//! docs/adr/0002-evpn-nlri-plugin.md. Path attributes (extended
//! communities, PMSI tunnel) stay in `bgp`; MAC-VRF logic is not here yet.
//!
//! ```
//! use mdc_evpn::{EvpnRoute, EvpnRoutes};
//!
//! // A type-3 (inclusive multicast) route: RD 192.0.2.1:1, tag 0, VTEP 192.0.2.1.
//! let nlri = [3, 17, 0, 1, 192, 0, 2, 1, 0, 1, 0, 0, 0, 0, 32, 192, 0, 2, 1];
//! let routes: Vec<EvpnRoute> = EvpnRoutes::new(&nlri, 0).collect::<Result<_, _>>()?;
//! assert_eq!(routes[0].to_string(), "[3]:[192.0.2.1:1]:[0]:[32]:[192.0.2.1]");
//! assert_eq!(routes[0].to_bytes(), nlri);
//! # Ok::<(), mdc_bgp::DecodeError>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod codec;
pub mod esi;
pub mod key;
pub mod label;
pub mod mac;
pub mod rd;
pub mod route;

pub use codec::{check, family_codec, split};
pub use esi::{Esi, EsiValue};
pub use key::EvpnRouteKey;
pub use label::Label;
pub use mac::MacAddress;
pub use rd::RouteDistinguisher;
pub use route::{
    EthernetAutoDiscoveryRoute, EthernetSegmentRoute, EvpnRoute, EvpnRoutes,
    InclusiveMulticastEthernetTagRoute, IpPrefixAddrs, IpPrefixRoute, MacIpAdvertisementRoute, decode_all,
    route_type,
};

/// A text form (RD, ESI, MAC) that could not be parsed; says what was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value: {0}")]
pub struct ParseError(pub &'static str);

/// Compiles and runs the example in README.md as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
