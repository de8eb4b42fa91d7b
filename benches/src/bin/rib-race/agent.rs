//! The agent: the replaying feeders and the monitor, run as one process
//! inside the lab's `peers` node (`rib-race agent PLAN`). The runner talks
//! to it over stdin/stdout, one line each way:
//!
//! ```text
//! plan:   monitor <family> <local> <remote> <asn> <router-id> <as-pos>
//!         feeder  <family> <local> <remote> <asn> <router-id> <announce-file> <withdraw-file|->
//!         timeout <seconds>
//! stdin:  announce | withdraw | stats | quit
//! stdout: established | done <phase> <first-byte-ns> <last-change-ns>
//!         | fail <phase> <why> | stats <key=value ...> | error <why>
//! ```
//!
//! `announce` replays every feeder's announcement stream at once and
//! answers when every monitor holds every expected prefix with the expected
//! best path; `withdraw` replays the withdrawals and answers when the
//! monitors hold none of them.

use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use mdc_benches::race::{
    Expect, MonitorStats, MonitorTable, Session, SessionConfig, dial, handshake, monitor, now_ns,
    send_stream, spawn_keepalive,
};
use mdc_bgp::family::Family;

/// How long the monitor may see no change once every stream is sent.
const STALL: Duration = Duration::from_secs(120);

struct MonitorLine {
    cfg: SessionConfig,
    as_pos: usize,
}

struct FeederLine {
    cfg: SessionConfig,
    announce: Vec<u8>,
    withdraw: Vec<u8>,
}

fn family(s: &str) -> Result<Family, String> {
    match s {
        "v4" => Ok(Family::IPV4_UNICAST),
        "v6" => Ok(Family::IPV6_UNICAST),
        _ => Err(format!("bad family {s}")),
    }
}

fn config(w: &[&str]) -> Result<SessionConfig, String> {
    let get = |i: usize| w.get(i).copied().ok_or_else(|| format!("short plan line {w:?}"));
    let local: IpAddr = get(2)?.parse().map_err(|e| format!("{w:?}: {e}"))?;
    let remote: IpAddr = get(3)?.parse().map_err(|e| format!("{w:?}: {e}"))?;
    Ok(SessionConfig {
        local: Some(local),
        remote: SocketAddr::new(remote, 179),
        asn: get(4)?.parse().map_err(|e| format!("{w:?}: {e}"))?,
        router_id: get(5)?.parse::<Ipv4Addr>().map_err(|e| format!("{w:?}: {e}"))?,
        family: family(get(1)?)?,
        hold: 180,
    })
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        return Ok(Vec::new());
    }
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

struct Feeder {
    session_writer: Arc<Mutex<std::net::TcpStream>>,
    announce: Arc<Vec<u8>>,
    withdraw: Arc<Vec<u8>>,
    rx: Arc<MonitorStats>,
}

struct Monitor {
    stats: Arc<MonitorStats>,
}

pub fn run(plan_path: &str) -> Result<(), String> {
    let plan = std::fs::read_to_string(plan_path).map_err(|e| format!("{plan_path}: {e}"))?;
    let mut monitors = Vec::new();
    let mut feeders = Vec::new();
    let mut timeout = Duration::from_secs(600);
    for line in plan.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.first().copied() {
            Some("monitor") => monitors.push(MonitorLine {
                cfg: config(&w)?,
                as_pos: w.get(6).and_then(|s| s.parse().ok()).unwrap_or(1),
            }),
            Some("feeder") => feeders.push(FeederLine {
                cfg: config(&w)?,
                announce: read(w.get(6).copied().unwrap_or("-"))?,
                withdraw: read(w.get(7).copied().unwrap_or("-"))?,
            }),
            Some("timeout") => {
                timeout = Duration::from_secs(w.get(1).and_then(|s| s.parse().ok()).unwrap_or(600));
            }
            _ => {}
        }
    }
    let mut expect = Expect::default();
    for f in &feeders {
        expect.add_stream(&f.announce)?;
    }

    // Sessions: monitors first, so the device has them before any route.
    let deadline = Instant::now() + Duration::from_secs(60);
    let connect = |cfg: &SessionConfig| -> Result<Session, String> {
        let s = dial(cfg, deadline).map_err(|e| format!("connect {}: {e}", cfg.remote))?;
        handshake(s, cfg).map_err(|e| format!("session {}: {e}", cfg.remote))
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut mons = Vec::new();
    for m in &monitors {
        let s = connect(&m.cfg)?;
        if let Some(k) = s.keepalive {
            spawn_keepalive(Arc::clone(&s.writer), k, Arc::clone(&stop));
        }
        let stats = Arc::new(MonitorStats::default());
        let table = MonitorTable::new(&expect, m.cfg.family);
        let st = Arc::clone(&stats);
        let pos = m.as_pos;
        let reader = s.reader;
        thread::spawn(move || monitor(reader, Some(table), pos, &st));
        mons.push(Monitor { stats });
    }
    let sessions: Vec<Result<Session, String>> = thread::scope(|sc| {
        let handles: Vec<_> = feeders.iter().map(|f| sc.spawn(|| connect(&f.cfg))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("connect thread panicked".into())))
            .collect()
    });
    let mut feeds = Vec::new();
    for (f, s) in feeders.into_iter().zip(sessions) {
        let s = s?;
        if let Some(k) = s.keepalive {
            spawn_keepalive(Arc::clone(&s.writer), k, Arc::clone(&stop));
        }
        // Drain what the device sends back (it should send nothing but
        // End-of-RIB: feeders get an export policy that rejects all).
        let rx = Arc::new(MonitorStats::default());
        let st = Arc::clone(&rx);
        let reader = s.reader;
        thread::spawn(move || monitor(reader, None, 0, &st));
        feeds.push(Feeder {
            session_writer: s.writer,
            announce: Arc::new(f.announce),
            withdraw: Arc::new(f.withdraw),
            rx,
        });
    }
    say("established");

    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        match line.trim() {
            phase @ ("announce" | "withdraw") => match replay(phase, &feeds, &mons, timeout) {
                Ok((first, last)) => say(&format!("done {phase} {first} {last}")),
                Err(e) => say(&format!("fail {phase} {e}")),
            },
            "stats" => {
                let feeder_rx: u64 = feeds.iter().map(|f| f.rx.unexpected.load(Ordering::Relaxed)).sum();
                let unexpected: u64 = mons.iter().map(|m| m.stats.unexpected.load(Ordering::Relaxed)).sum();
                let monitor_bytes: u64 = mons.iter().map(|m| m.stats.bytes.load(Ordering::Relaxed)).sum();
                let monitor_updates: u64 = mons.iter().map(|m| m.stats.updates.load(Ordering::Relaxed)).sum();
                let expected: u64 = mons.iter().map(|m| m.stats.expected.load(Ordering::Relaxed)).sum();
                let cpu = mdc_benches::race::cpu_seconds(std::process::id()).unwrap_or(0.0);
                say(&format!(
                    "stats expected={expected} unexpected={unexpected} feeder_rx_prefixes={feeder_rx} monitor_updates={monitor_updates} monitor_bytes={monitor_bytes} agent_cpu={cpu:.2}"
                ));
            }
            "quit" => break,
            other => say(&format!("error unknown command {other:?}")),
        }
    }
    stop.store(true, Ordering::Relaxed);
    Ok(())
}

/// Replay one phase on every feeder at once; wait for the monitors.
fn replay(phase: &str, feeds: &[Feeder], mons: &[Monitor], timeout: Duration) -> Result<(u64, u64), String> {
    let withdraw = phase == "withdraw";
    let barrier = Arc::new(Barrier::new(feeds.len()));
    let firsts = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for f in feeds {
        let stream = Arc::clone(if withdraw { &f.withdraw } else { &f.announce });
        let w = Arc::clone(&f.session_writer);
        let b = Arc::clone(&barrier);
        let firsts = Arc::clone(&firsts);
        senders.push(thread::spawn(move || {
            b.wait();
            let r = send_stream(&w, &stream, 256 * 1024);
            if let Ok(t) = &r {
                firsts.lock().unwrap_or_else(PoisonError::into_inner).push(*t);
            }
            r.map_err(|e| e.to_string())
        }));
    }
    let start = Instant::now();
    let reached = |m: &Monitor| {
        let s = &m.stats;
        if withdraw {
            s.held.load(Ordering::Relaxed) == 0
        } else {
            s.correct.load(Ordering::Relaxed) == s.expected.load(Ordering::Relaxed)
        }
    };
    loop {
        if let Some(e) = mons.iter().find_map(|m| m.stats.error()) {
            return Err(format!("monitor: {e}"));
        }
        if let Some(e) = feeds.iter().find_map(|f| f.rx.error()) {
            return Err(format!("feeder session: {e}"));
        }
        if mons.iter().all(reached) && senders.iter().all(|s| s.is_finished()) {
            break;
        }
        // Everything sent and nothing moved for a long time: the device
        // will not get there (e.g. it dropped what it should have sent).
        let quiet = now_ns().saturating_sub(
            mons.iter().map(|m| m.stats.last_change_ns.load(Ordering::Relaxed)).max().unwrap_or(0),
        );
        let stalled = senders.iter().all(|s| s.is_finished())
            && Duration::from_nanos(quiet) > STALL
            && start.elapsed() > STALL;
        if start.elapsed() > timeout || stalled {
            let state: Vec<String> = mons
                .iter()
                .map(|m| {
                    format!(
                        "held {} correct {} of {}",
                        m.stats.held.load(Ordering::Relaxed),
                        m.stats.correct.load(Ordering::Relaxed),
                        m.stats.expected.load(Ordering::Relaxed)
                    )
                })
                .collect();
            let why = if stalled {
                format!("stalled: no change at the monitor for {} s after the last byte", STALL.as_secs())
            } else {
                format!("timeout after {} s", timeout.as_secs())
            };
            return Err(format!("{why}: {}", state.join("; ")));
        }
        thread::sleep(Duration::from_millis(2));
    }
    for s in senders {
        s.join().map_err(|_| "sender panicked".to_string())??;
    }
    let first = firsts.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().min().unwrap_or(0);
    let last = mons.iter().map(|m| m.stats.last_change_ns.load(Ordering::Relaxed)).max().unwrap_or(0);
    Ok((first, last))
}
