//! # mdcd: the mdc routing daemon
//!
//! - [`config`]: the TOML file, validated as a whole before anything starts;
//! - [`api`]: the local read-only API socket and the tables `mdcctl` prints.
//!
//! The daemon loop that runs the BGP speaker arrives with the sessions issue.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod api;
pub mod config;
