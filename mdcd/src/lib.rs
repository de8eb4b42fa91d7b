//! # mdcd: the mdc routing daemon
//!
//! Today: the configuration file and its validation. The BGP speaker, the
//! API and `mdcctl` arrive with the sessions issue.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod config;
