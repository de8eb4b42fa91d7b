//! Decode BGP messages stored one per file (as in tests/data) and print
//! them: `cargo run -p mdc-bgp --example decode -- [--two-octet]
//! [--add-path] [--enhe] [--extended] [--compact] FILE...`.

use std::process::ExitCode;

use mdc_bgp::family::{Afi, Family};
use mdc_bgp::{Message, SessionContext};

fn main() -> ExitCode {
    let mut ctx = SessionContext::modern();
    let mut files = Vec::new();
    let mut compact = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--two-octet" => ctx.four_octet_as = false,
            "--add-path" => {
                ctx = ctx.with_add_path(Family::IPV4_UNICAST).with_add_path(Family::IPV6_UNICAST);
            }
            "--enhe" => ctx.extended_next_hop.push((Family::IPV4_UNICAST, Afi::IPV6)),
            "--extended" => ctx.extended_message = true,
            "--compact" => compact = true,
            _ => files.push(arg),
        }
    }
    let mut status = ExitCode::SUCCESS;
    for f in files {
        match std::fs::read(&f) {
            Ok(bytes) => match Message::decode(&bytes, &ctx) {
                Ok(m) if compact => println!("{f}: {m:?}"),
                Ok(m) => println!("{f}: {m:#?}"),
                Err(e) => {
                    println!("{f}: would reset the session: {e}");
                    status = ExitCode::FAILURE;
                }
            },
            Err(e) => {
                eprintln!("{f}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
