//! The tokio speaker: sockets and tasks around the sans-IO FSM.
//!
//! Being written (sessions issue). Today: transport sockets.

pub mod socket;
