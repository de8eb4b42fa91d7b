//! Kernel FIB programming for mdc.
//!
//! This crate will own every netlink conversation (routes, VXLAN devices,
//! bridge FDB, neighbours, addresses). It depends on neither BGP crate.
//! It is an empty placeholder until the kernel issue lands.
