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
use std::net::Ipv4Addr;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mdc_benches::full_table_ipv4;
use mdc_bgp::SessionContext;
use mdc_bgp::aspath::AsPath;
use mdc_bgp::attr::AttrValue;
use mdc_bgp::fsm::{PeerConfig, RemoteAs};
use mdc_bgp::negotiate::negotiate;
use mdc_bgp::rib::{Digest, PeerId, PeerPolicy, Rib, RibConfig, SessionInfo};
use mdc_bgp::update::Update;

/// mdcd's allocator (ADR 0007): the RIB's figures depend on it.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const N: usize = 1_000_000;

fn session(asn: u32, id: Ipv4Addr, local: Ipv4Addr) -> SessionInfo {
    let ours = PeerConfig::new(65000, RemoteAs::Exact(asn), Ipv4Addr::new(192, 0, 2, 254));
    let theirs = PeerConfig::new(asn, RemoteAs::Exact(65000), id);
    let negotiated = negotiate(&ours, &ours.open(), &theirs.open()).unwrap_or_else(|e| panic!("{e:?}"));
    SessionInfo { negotiated: Arc::new(negotiated), local: local.into(), generation: 1 }
}

/// The table as feeder `k` sends it: the generator's attributes with the
/// feeder's AS in front, prepended `k % 3` more times so the best path
/// differs between feeders.
fn feed(k: u32) -> Vec<Update> {
    let ctx = SessionContext::modern();
    full_table_ipv4(N)
        .iter()
        .map(|m| Update::decode_message(m, &ctx).unwrap_or_else(|e| panic!("{e}")).update)
        .map(|mut u| {
            for a in &mut u.attributes {
                if let AttrValue::AsPath(p) = &mut a.value {
                    let mut asns = vec![65001 + k; 1 + (k % 3) as usize];
                    asns.extend(p.segments.iter().flat_map(|s| s.asns.iter().copied()));
                    *p = AsPath::from_sequence(asns);
                }
                if let AttrValue::NextHop(nh) = &mut a.value {
                    *nh = Ipv4Addr::new(192, 0, 2, 1 + k as u8);
                }
            }
            u
        })
        .collect()
}

/// A RIB with `feeders` feeding peers and one monitor, sessions up; with
/// `fib`, each flush also reports the kernel changes (`Output::Fib`), as
/// in mdcd with `[fib] install = true`.
fn rib(feeders: u32, fib: bool) -> (Rib, Vec<PeerId>) {
    let mut rib = Rib::new(RibConfig {
        ebgp_requires_policy: false,
        fib,
        ..RibConfig::new(65000, Ipv4Addr::new(192, 0, 2, 254))
    });
    let mut ids = Vec::new();
    for k in 0..feeders {
        let addr = Ipv4Addr::new(192, 0, 2, 1 + k as u8);
        let id = rib.add_peer(PeerPolicy::new(addr.into()));
        rib.peer_up(id, session(65001 + k, addr, Ipv4Addr::new(192, 0, 2, 254)));
        ids.push(id);
    }
    let monitor = rib.add_peer(PeerPolicy::new(Ipv4Addr::new(198, 51, 100, 1).into()));
    rib.peer_up(monitor, session(65100, Ipv4Addr::new(198, 51, 100, 1), Ipv4Addr::new(198, 51, 100, 254)));
    rib.flush();
    (rib, ids)
}

fn run(rib: &mut Rib, ids: &[PeerId], feeds: Vec<Vec<Digest>>) -> usize {
    let mut out = 0;
    for (id, updates) in ids.iter().zip(feeds) {
        let mut n = 0;
        for u in updates {
            rib.apply(*id, u);
            n += 1;
            if n % 128 == 0 {
                out += rib.flush().len();
            }
        }
        out += rib.flush().len();
    }
    out
}

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
