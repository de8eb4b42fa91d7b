//! Interop test harness: network-namespace labs with FRR, BIRD, GoBGP,
//! ExaBGP and a raw BGP peer, for the tests in `tests/tests/`.
//!
//! This crate owns only test scaffolding: it creates namespaces, veth links
//! and peer daemons that a test asks for, and removes exactly those again
//! (on drop, on panic, and leftovers of killed runs). It never touches
//! interfaces, namespaces or processes it did not create. See `README.md`.

mod error;
mod sys;

pub mod bird;
pub mod exabgp;
pub mod frr;
pub mod gobgp;
pub mod lab;
pub mod mdcd;
pub mod peer;
pub mod rawpeer;
pub mod require;
pub mod wait;
pub mod wire;

pub use bird::Bird;
pub use error::{Error, Result};
pub use exabgp::ExaBgp;
pub use frr::{Frr, FrrProfile};
pub use gobgp::GoBgp;
pub use lab::Lab;
pub use mdcd::{Mdcd, MdcdBinaries};
pub use peer::{BgpConfig, BgpPeer, Family, Neighbor, Origin, Prefix, Route, SessionState};
pub use rawpeer::{RawPeer, rawpeer_binary};
pub use require::{in_ci, require_interop};
pub use wait::{Check, wait_until};
