//! The RIB's work on one full-table feed (1,000,000 IPv4 paths, one feeder,
//! one monitor), run once, for an instruction count that load on the
//! machine does not move:
//!
//!     cargo build --release -p mdc-benches --example rib-instructions
//!     valgrind --tool=callgrind --toggle-collect='*measured*' \
//!         target/release/examples/rib-instructions [fib]
//!
//! `fib`: the flush also reports kernel changes (mdcd with `[fib] install`).
//! `nh-policy`: the monitor's export policy sets the next hop and nothing
//! else (one term, `set = { next-hop = "198.51.100.200" }`).
//! Only `measured` (apply and flush) is counted, not building the feed.

use std::hint::black_box;

use std::sync::Arc;

use mdc_benches::rib_feed::{feed, rib_with, run};
use mdc_bgp::SessionContext;
use mdc_bgp::policy::{NextHopChange, Policy, RibPolicy, SetAction, Term, Verdict};
use mdc_bgp::rib::{Digest, PeerId, Rib, RoutePolicy};

/// mdcd's allocator (ADR 0007).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[inline(never)]
fn measured(rib: &mut Rib, ids: &[PeerId], feeds: Vec<Vec<Digest>>) -> usize {
    run(rib, ids, feeds)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fib = args.iter().any(|a| a == "fib");
    let export = args.iter().any(|a| a == "nh-policy").then(next_hop_policy);
    let ctx = SessionContext::modern();
    let feeds: Vec<Vec<Digest>> = vec![feed(0).into_iter().map(|u| Digest::new(u, &ctx, true)).collect()];
    let (mut rib, ids) = rib_with(1, fib, export);
    let sent = measured(&mut rib, &ids, feeds);
    println!("{} messages to the monitor", black_box(sent));
}

/// One term: set the next hop, accept.
fn next_hop_policy() -> Arc<dyn RoutePolicy> {
    let set = SetAction::NextHop(NextHopChange::Address([198, 51, 100, 200].into()));
    let term = Term { name: None, matches: vec![], sets: vec![set], verdict: Some(Verdict::Accept) };
    let policy = Policy { terms: vec![term], default: Verdict::Reject, ..Policy::new("next-hop") };
    Arc::new(RibPolicy::new(Arc::new(policy), 65000))
}
