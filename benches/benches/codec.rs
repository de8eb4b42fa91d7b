//! Wire codec benchmarks: decode and encode of (a) a 500-prefix IPv4
//! UPDATE, (b) an MP_REACH IPv6 UPDATE with 200 prefixes, (c) an EVPN
//! UPDATE with 100 type-2 routes, (d) a synthetic full table; plus the
//! hand-written reader against nom on the same NLRI (docs/adr/0001).
//!
//! Run: `cargo bench -p mdc-benches --bench codec`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mdc_benches::{evpn_context, evpn_update, full_table_ipv4, ipv4_update, ipv6_update};
use mdc_bgp::SessionContext;
use mdc_bgp::attr::MpNlri;
use mdc_bgp::update::{Update, UpdateView};

fn ipv4_500(c: &mut Criterion) {
    let msg = ipv4_update(500);
    let ctx = SessionContext::modern();
    let mut g = c.benchmark_group("ipv4_update_500");
    g.throughput(Throughput::Elements(500));
    g.bench_function("iterate_nlri", |b| {
        b.iter(|| {
            let view = UpdateView::from_message(black_box(&msg)).unwrap_or_else(|e| panic!("{e}"));
            let mut acc = 0u32;
            for n in view.nlri(false) {
                let n = n.unwrap_or_else(|e| panic!("{e}"));
                acc = acc.wrapping_add(u32::from(n.prefix.addr())) ^ u32::from(n.prefix.length());
            }
            acc
        })
    });
    g.bench_function("iterate_nlri_nom", |b| b.iter(|| nom_nlri::sum(black_box(nom_nlri::nlri_field(&msg)))));
    g.bench_function("decode", |b| b.iter(|| Update::decode_message(black_box(&msg), &ctx)));
    let decoded = Update::decode_message(&msg, &ctx).unwrap_or_else(|e| panic!("{e}")).update;
    g.bench_function("encode", |b| b.iter(|| black_box(&decoded).encode(&ctx)));
    g.finish();
}

fn ipv6_200(c: &mut Criterion) {
    let msg = ipv6_update(200);
    let ctx = SessionContext::modern();
    let mut g = c.benchmark_group("ipv6_mp_reach_200");
    g.throughput(Throughput::Elements(200));
    g.bench_function("decode", |b| b.iter(|| Update::decode_message(black_box(&msg), &ctx)));
    let decoded = Update::decode_message(&msg, &ctx).unwrap_or_else(|e| panic!("{e}")).update;
    g.bench_function("encode", |b| b.iter(|| black_box(&decoded).encode(&ctx)));
    g.finish();
}

fn evpn_100(c: &mut Criterion) {
    let msg = evpn_update(100);
    let ctx = evpn_context();
    let mut g = c.benchmark_group("evpn_type2_100");
    g.throughput(Throughput::Elements(100));
    // Framing and syntax checks of every NLRI (what bgp does for a session).
    g.bench_function("decode", |b| b.iter(|| Update::decode_message(black_box(&msg), &ctx)));
    // Plus the typed EVPN model of every route (what a VTEP does).
    g.bench_function("decode_typed", |b| {
        b.iter(|| {
            let d = Update::decode_message(black_box(&msg), &ctx).unwrap_or_else(|e| panic!("{e}"));
            let mut n = 0;
            if let Some(MpNlri::Typed(routes)) = d.update.mp_reach().map(|r| &r.nlri) {
                for r in routes {
                    let (route, _) =
                        mdc_evpn::EvpnRoute::decode(&r.bytes, 0).unwrap_or_else(|e| panic!("{e}"));
                    n += usize::from(route.route_type());
                }
            }
            n
        })
    });
    let decoded = Update::decode_message(&msg, &ctx).unwrap_or_else(|e| panic!("{e}")).update;
    g.bench_function("encode", |b| b.iter(|| black_box(&decoded).encode(&ctx)));
    g.finish();
}

fn full_table(c: &mut Criterion) {
    const PREFIXES: usize = 1_000_000;
    let msgs = full_table_ipv4(PREFIXES);
    let ctx = SessionContext::modern();
    let mut g = c.benchmark_group("full_table_ipv4_1m");
    g.sample_size(10);
    g.throughput(Throughput::Elements(PREFIXES as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &msgs {
                let d = Update::decode_message(black_box(m), &ctx).unwrap_or_else(|e| panic!("{e}"));
                n += d.update.nlri.len();
            }
            assert_eq!(n, PREFIXES);
        })
    });
    let updates: Vec<Update> = msgs
        .iter()
        .map(|m| Update::decode_message(m, &ctx).unwrap_or_else(|e| panic!("{e}")).update)
        .collect();
    g.bench_function("encode", |b| {
        b.iter(|| {
            updates.iter().map(|u| black_box(u).encode(&ctx).map(|v| v.len()).unwrap_or(0)).sum::<usize>()
        })
    });
    g.finish();
}

/// The same NLRI walk written with nom 7, for the parser choice (ADR 0001).
mod nom_nlri {
    use nom::IResult;
    use nom::bytes::complete::take;
    use nom::number::complete::{be_u8, be_u16};

    pub fn nlri_field(msg: &[u8]) -> &[u8] {
        fn sections(i: &[u8]) -> IResult<&[u8], &[u8]> {
            let (i, _) = take(19usize)(i)?;
            let (i, wl) = be_u16(i)?;
            let (i, _) = take(wl)(i)?;
            let (i, al) = be_u16(i)?;
            let (i, _) = take(al)(i)?;
            Ok((&[], i))
        }
        sections(msg).map(|(_, n)| n).unwrap_or_default()
    }

    fn prefix(i: &[u8]) -> IResult<&[u8], (u32, u8)> {
        let (i, len) = be_u8(i)?;
        if len > 32 {
            return Err(nom::Err::Failure(nom::error::Error::new(i, nom::error::ErrorKind::Verify)));
        }
        let (i, bytes) = take(usize::from(len).div_ceil(8))(i)?;
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(bytes) {
            *d = *s;
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        Ok((i, (u32::from_be_bytes(a) & mask, len)))
    }

    pub fn sum(mut i: &[u8]) -> u32 {
        let mut acc = 0u32;
        while !i.is_empty() {
            match prefix(i) {
                Ok((rest, (addr, len))) => {
                    acc = acc.wrapping_add(addr) ^ u32::from(len);
                    i = rest;
                }
                Err(_) => break,
            }
        }
        acc
    }
}

criterion_group!(benches, ipv4_500, ipv6_200, evpn_100, full_table);
criterion_main!(benches);
