//! The RIB's work on one full-table feed (1,000,000 IPv4 paths, one feeder,
//! one monitor), run once, for an instruction count that load on the
//! machine does not move:
//!
//!     cargo build --release -p mdc-benches --example rib-instructions
//!     valgrind --tool=callgrind --toggle-collect='*measured*' \
//!         target/release/examples/rib-instructions [fib]
//!
//! `fib`: the flush also reports kernel changes (mdcd with `[fib] install`).
//! Only `measured` (apply and flush) is counted, not building the feed.

use std::hint::black_box;

use mdc_benches::rib_feed::{feed, rib, run};
use mdc_bgp::SessionContext;
use mdc_bgp::rib::{Digest, PeerId, Rib};

/// mdcd's allocator (ADR 0007).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[inline(never)]
fn measured(rib: &mut Rib, ids: &[PeerId], feeds: Vec<Vec<Digest>>) -> usize {
    run(rib, ids, feeds)
}

fn main() {
    let fib = std::env::args().nth(1).as_deref() == Some("fib");
    let ctx = SessionContext::modern();
    let feeds: Vec<Vec<Digest>> = vec![feed(0).into_iter().map(|u| Digest::new(u, &ctx, true)).collect()];
    let (mut rib, ids) = rib(1, fib);
    let sent = measured(&mut rib, &ids, feeds);
    println!("{} messages to the monitor", black_box(sent));
}
