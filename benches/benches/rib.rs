//! RIB benchmarks: a synthetic full table (1,000,000 IPv4 prefixes in
//! ≈222,000 UPDATEs sharing attribute sets) through `mdc_bgp::rib::Rib`
//! from one feeder (and from four feeders whose paths differ) to one
//! monitor, flushing every 128 UPDATEs as the speaker does. Decoding and
//! the digest (attribute sets built and hashed) are done beforehand, as the
//! peers' tasks do them: this measures the RIB task's work only, import,
//! best path and export. The
//! end-to-end figure (sockets, decode, encode) is `rib-race`.
//!
//! Run: `cargo bench -p mdc-benches --bench rib`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mdc_benches::rib_feed::{N, feed, rib, run};
use mdc_bgp::SessionContext;
use mdc_bgp::rib::Digest;
use mdc_bgp::update::Update;

/// mdcd's allocator (ADR 0007): the RIB's figures depend on it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn full_table(c: &mut Criterion) {
    let mut g = c.benchmark_group("rib_full_table_1m");
    g.sample_size(10);
    for (feeders, fib) in [(1u32, false), (4, false), (1, true)] {
        // As the peers' tasks hand them to the RIB's task.
        let ctx = SessionContext::modern();
        let feeds: Vec<Vec<Digest>> =
            (0..feeders).map(|k| feed(k).into_iter().map(|u| Digest::new(u, &ctx, true)).collect()).collect();
        g.throughput(Throughput::Elements((N as u64) * u64::from(feeders)));
        let name = if fib { format!("{feeders}_feeder_fib") } else { format!("{feeders}_feeder") };
        g.bench_function(name, |b| {
            b.iter_batched(
                || (rib(feeders, fib), feeds.clone()),
                // The RIB is returned so that dropping it is not timed.
                |((mut rib, ids), feeds)| {
                    let sent = run(&mut rib, &ids, feeds);
                    (rib, black_box(sent))
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// The whole table withdrawn (a thousand prefixes per UPDATE) by feeder 0.
fn withdrawals(feed: &[Digest], updates: &[Update]) -> Vec<Digest> {
    let _ = feed;
    let ctx = SessionContext::modern();
    let nlri: Vec<_> = updates.iter().flat_map(|u| u.nlri.iter().cloned()).collect();
    nlri.chunks(1000)
        .map(|c| Digest::new(Update { withdrawn: c.to_vec(), ..Update::default() }, &ctx, true))
        .collect()
}

/// One feeder's table announced, withdrawn, and announced again: only the
/// second announcement is timed.
fn announced_again(c: &mut Criterion) {
    let mut g = c.benchmark_group("rib_full_table_1m");
    g.sample_size(10);
    let ctx = SessionContext::modern();
    let updates = feed(0);
    let digests: Vec<Digest> = updates.iter().map(|u| Digest::new(u.clone(), &ctx, true)).collect();
    let gone = withdrawals(&digests, &updates);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("1_feeder_announced_again", |b| {
        b.iter_batched(
            || {
                let (mut rib, ids) = rib(1, false);
                run(&mut rib, &ids, vec![digests.clone()]);
                run(&mut rib, &ids, vec![gone.clone()]);
                rib.idle();
                (rib, ids, digests.clone())
            },
            |(mut rib, ids, feed)| {
                let sent = run(&mut rib, &ids, vec![feed]);
                (rib, black_box(sent))
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, full_table, announced_again);
criterion_main!(benches);
