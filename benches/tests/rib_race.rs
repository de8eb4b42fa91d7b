//! The full-table race (issue 4): the generator is deterministic and
//! realistic, the monitor's set bookkeeping is exact, and one quick run
//! replays a table through BIRD and sees every prefix come out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;

use mdc_benches::race::{Expect, MonitorTable};
use mdc_benches::table::{Feeder, Table, TableSpec, messages};
use mdc_bgp::family::Family;

const SPEC: TableSpec = TableSpec { v4: 50_000, v6: 12_000, seed: 4 };

fn feeder(k: u64, of: u64) -> Feeder {
    Feeder {
        asn: 65001 + k as u32,
        next_hop_v4: Ipv4Addr::new(192, 0, 2, 11 + k as u8),
        next_hop_v6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x11 + k as u16),
        index: k,
        of,
    }
}

#[test]
fn generator_is_deterministic() {
    let a = Table::generate(SPEC);
    let b = Table::generate(SPEC);
    assert_eq!(a, b);
    let f = feeder(0, 1);
    assert_eq!(
        a.announce(&f, Family::IPV4_UNICAST, 0..a.v4.len()),
        b.announce(&f, Family::IPV4_UNICAST, 0..b.v4.len())
    );
    assert_eq!(
        a.withdraw(Family::IPV6_UNICAST, 0..a.v6.len()),
        b.withdraw(Family::IPV6_UNICAST, 0..b.v6.len())
    );
    let c = Table::generate(TableSpec { seed: 5, ..SPEC });
    assert_ne!(a.v4, c.v4, "another seed gives another table");
}

#[test]
fn table_looks_like_the_real_one() {
    let t = Table::generate(SPEC);
    let s = t.stats();
    assert_eq!((s.v4, s.v6), (SPEC.v4, SPEC.v6));
    assert!((0.55..0.67).contains(&s.v4_slash24), "/24 share {}", s.v4_slash24);
    assert!((0.45..0.57).contains(&s.v6_slash48), "/48 share {}", s.v6_slash48);
    assert!((4.0..5.0).contains(&s.mean_path_len), "mean AS path {}", s.mean_path_len);
    let per_set = (s.v4 + s.v6) as f64 / s.attr_sets as f64;
    assert!((3.0..5.0).contains(&per_set), "{per_set} prefixes per attribute set");
    assert!(s.origin_ases > s.attr_sets / 3, "{} origins for {} sets", s.origin_ases, s.attr_sets);
    assert!((0.4..0.6).contains(&s.with_communities));
    assert!((0.08..0.25).contains(&s.with_large_communities));
    assert!(t.v4.iter().all(|p| p.length() <= 24) && t.v6.iter().all(|p| p.length() <= 48));
    assert_eq!(t.v4.iter().collect::<HashSet<_>>().len(), t.v4.len(), "IPv4 prefixes are unique");
    assert_eq!(t.v6.iter().collect::<HashSet<_>>().len(), t.v6.len(), "IPv6 prefixes are unique");
    // Nothing overlaps the lab's own documentation ranges.
    assert!(!t.v4.iter().any(|p| {
        let lab = "192.0.2.0".parse::<Ipv4Addr>().unwrap();
        let len = p.length().min(24);
        let mask = u32::MAX << (32 - len);
        (u32::from(p.addr()) & mask) == (u32::from(lab) & mask)
    }));
}

#[test]
fn streams_are_whole_messages_within_4096_bytes() {
    let t = Table::generate(TableSpec { v4: 5_000, v6: 1_000, seed: 9 });
    for fam in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        let s = t.announce(&feeder(0, 1), fam, 0..t.len(fam));
        let mut total = 0;
        let mut count = 0;
        for m in messages(&s) {
            assert!(m.len() <= 4096);
            assert_eq!(m[18], 2, "UPDATE");
            total += m.len();
            count += 1;
        }
        assert_eq!(total, s.len(), "the stream is exactly whole messages");
        // About 3-5 prefixes per attribute set: many fewer UPDATEs than prefixes.
        assert!(count * 2 < t.len(fam), "{count} UPDATEs for {} prefixes", t.len(fam));
    }
}

#[test]
fn monitor_counts_set_membership_and_best_paths() {
    let t = Table::generate(TableSpec { v4: 20_000, v6: 4_000, seed: 3 });
    let fam = Family::IPV4_UNICAST;
    let range = 0..t.len(fam);
    let streams: Vec<Vec<u8>> = (0..4).map(|k| t.announce(&feeder(k, 4), fam, range.clone())).collect();
    let mut expect = Expect::default();
    for s in &streams {
        expect.add_stream(s).unwrap();
    }
    assert_eq!(expect.len(), 20_000);
    // Every prefix has one clear winner, and each feeder wins about a quarter.
    let mut wins = [0usize; 4];
    for p in &t.v4 {
        let w = expect.winner(mdc_benches::race::key_v4(p)).unwrap();
        assert!((65001..=65004).contains(&w), "winner {w}");
        wins[(w - 65001) as usize] += 1;
    }
    assert!(wins.iter().all(|&n| n > 3_500 && n < 6_500), "{wins:?}");

    // Seen from the feeders directly (feeder AS at position 0): after all
    // four streams the monitor holds every prefix, but only the paths of
    // the last stream; the winners' streams are correct where they win.
    let mut m = MonitorTable::new(&expect, fam);
    assert_eq!(m.expected(), 20_000);
    for s in &streams {
        for msg in messages(s) {
            m.apply(msg, 0).unwrap();
        }
    }
    assert_eq!(m.held(), 20_000);
    assert_eq!(m.correct() as usize, wins[3]);
    // Withdrawals bring it back to nothing (set membership, not a count).
    for msg in messages(&t.withdraw(fam, range.clone())) {
        m.apply(msg, 0).unwrap();
    }
    assert_eq!((m.held(), m.correct()), (0, 0));
    // Re-announced in another order: the last path per prefix counts.
    for k in [3, 0, 2, 1] {
        for msg in messages(&streams[k]) {
            m.apply(msg, 0).unwrap();
        }
    }
    assert_eq!(m.held(), 20_000);
    assert_eq!(m.correct() as usize, wins[1]);
    assert_eq!(m.unexpected(), 0);
    // A prefix nobody sent is unexpected.
    let other = Table::generate(TableSpec { v4: 100, v6: 0, seed: 77 });
    for msg in messages(&other.announce(&feeder(0, 1), fam, 0..100)) {
        m.apply(msg, 0).unwrap();
    }
    assert!(m.unexpected() > 90, "{}", m.unexpected());
}

/// Replayer -> BIRD -> monitor with a small table: every prefix arrives
/// (set membership, checked by the monitor), and the replayer's sink rate
/// is measured first.
#[test]
fn quick_race_through_bird_delivers_every_prefix() {
    if !mdc_tests::require_interop(&["bird"]) {
        return;
    }
    let cache = std::env::temp_dir().join(format!("mdc-ribbench-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_rib-race"))
        .args(["--quick", "--scenario", "sink,full", "--dut", "bird", "--cache"])
        .arg(&cache)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&cache);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rib-race failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("RESULT scenario=sink dut=none run=1 phase=announce ok"),
        "no sink result:\n{stdout}\n{stderr}"
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT scenario=full dut=bird run=1 phase=announce ok"))
        .unwrap_or_else(|| panic!("no BIRD result:\n{stdout}\n{stderr}"));
    assert!(line.contains("prefixes=25000"), "{line}");
    assert!(line.contains("unexpected=0") && line.contains("feeder_rx=0"), "{line}");
}
