//! # mdcd: the mdc routing daemon
//!
//! - [`config`]: the TOML file, validated as a whole before anything starts;
//! - [`api`]: the local read-only API socket and the tables `mdcctl` prints.
//!
//! - [`daemon`]: the BGP speaker configured from the file, the API, and an
//!   orderly shutdown on SIGTERM/SIGINT;
//! - [`fib`]: installing the best paths in the kernel (`[fib]`).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod api;
pub mod config;
pub mod daemon;
pub mod fib;
pub mod unnumbered;
