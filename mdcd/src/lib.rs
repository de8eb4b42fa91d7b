//! # mdcd: the mdc routing daemon
//!
//! - [`addresses`]: our IPv6 addresses as next hops (the session's
//!   interface);
//! - [`config`]: the TOML file, validated as a whole before anything starts;
//! - [`api`]: the local API socket (root only): the state `mdcctl` prints,
//!   and session resets (`mdcctl clear bgp`).
//!
//! - [`daemon`]: the BGP speaker configured from the file, the API, and an
//!   orderly shutdown on SIGTERM/SIGINT;
//! - [`fib`]: installing the best paths in the kernel (`[fib]`): pure
//!   rules and logic over `mdc_fib::Dataplane`, and the thread that runs
//!   them.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

/// This build: the crate version and the git commit it was built from
/// ("-dirty" with uncommitted changes; see `build.rs`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("MDC_GIT_COMMIT"), ")");

/// The git commit this build comes from.
pub const COMMIT: &str = env!("MDC_GIT_COMMIT");

pub mod addresses;
pub mod api;
pub mod config;
pub mod daemon;
pub mod fib;
pub mod unnumbered;
