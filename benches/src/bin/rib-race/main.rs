//! `rib-race`: full-table convergence of mdcd against BIRD, FRR and GoBGP
//! (mdc issue 4). See `benches/README.md`.
//!
//! ```text
//! rib-race [--scenario sink|full|four|many|flap|all] [--runs N] [--dut mdcd,bird,frr,gobgp]
//!          [--quick] [--v4 N] [--v6 N] [--timeout S] [--mdcd PATH] [--cache DIR]
//! rib-race agent PLAN          (internal: the feeders and the monitor, in the lab)
//! ```
//!
//! Every run builds a fresh lab (namespaces `dut` and `peers` joined by one
//! veth), starts the device under test, and the agent replays the
//! pre-encoded streams from the `peers` node. Prints a markdown table and
//! one `RESULT ...` line per measured phase.

mod agent;
mod duts;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use duts::{Dut, DutKind, DutNeighbor, DutSetup};
use mdc_benches::race::{
    Expect, MonitorStats, MonitorTable, SessionConfig, dial, handshake, monitor, send_stream,
};
use mdc_benches::table::{Feeder, Table, TableSpec};
use mdc_bgp::family::Family;
use mdc_tests::Lab;

const DUT_AS: u32 = 65000;
const MONITOR_AS: u32 = 65100;
const FIRST_FEEDER_AS: u32 = 65001;
/// Bump when the generator or the stream layout changes (cache key).
const STREAM_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    Full,
    Four,
    Many,
    Flap,
}

impl Scenario {
    const ALL: [Scenario; 4] = [Scenario::Full, Scenario::Four, Scenario::Many, Scenario::Flap];

    fn name(self) -> &'static str {
        match self {
            Scenario::Full => "full",
            Scenario::Four => "four",
            Scenario::Many => "many",
            Scenario::Flap => "flap",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Scenario::Full => "one feeder, full table (IPv4 + IPv6)",
            Scenario::Four => "four feeders, same prefixes, best path differs per prefix",
            Scenario::Many => "50 feeders x 1/50 of the IPv4 table each",
            Scenario::Flap => "one feeder: full table withdrawn, then re-announced",
        }
    }

    fn feeders(self) -> usize {
        match self {
            Scenario::Full | Scenario::Flap => 1,
            Scenario::Four => 4,
            Scenario::Many => 50,
        }
    }

    fn has_v6(self) -> bool {
        self != Scenario::Many
    }

    /// Phases run in order; the ones reported.
    fn phases(self) -> &'static [(&'static str, bool)] {
        match self {
            Scenario::Flap => &[("announce", false), ("withdraw", true), ("announce", true)],
            _ => &[("announce", true)],
        }
    }
}

struct Args {
    scenarios: Vec<Scenario>,
    sink: bool,
    runs: usize,
    duts: Vec<DutKind>,
    spec: TableSpec,
    timeout: u64,
    mdcd: PathBuf,
    cache: PathBuf,
    quick: bool,
    /// Fewer runs for some devices (`--runs-of gobgp=1`).
    runs_of: Vec<(DutKind, usize)>,
    /// FRR and mdcd install into the kernel (full scenario); also time
    /// until the kernel has every route (issue 5's zebra comparison).
    kernel: bool,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let mut a = Args {
        scenarios: Scenario::ALL.to_vec(),
        sink: true,
        runs: 3,
        duts: DutKind::ALL.to_vec(),
        spec: TableSpec::FULL,
        timeout: 600,
        mdcd: exe_dir.unwrap_or_default().join("mdcd"),
        cache: std::env::temp_dir().join("mdc-ribbench"),
        quick: false,
        kernel: false,
        runs_of: Vec::new(),
    };
    let mut it = argv.iter();
    let (mut v4, mut v6) = (None, None);
    while let Some(k) = it.next() {
        let mut val = || it.next().cloned().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--scenario" => {
                let v = val()?;
                a.sink = v == "all" || v.split(',').any(|s| s == "sink");
                a.scenarios = if v == "all" {
                    Scenario::ALL.to_vec()
                } else {
                    v.split(',')
                        .filter(|s| *s != "sink")
                        .map(|s| {
                            Scenario::ALL
                                .into_iter()
                                .find(|x| x.name() == s)
                                .ok_or_else(|| format!("unknown scenario {s}"))
                        })
                        .collect::<Result<_, _>>()?
                };
            }
            "--runs" => a.runs = val()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--dut" => {
                a.duts = val()?
                    .split(',')
                    .map(|s| DutKind::parse(s).ok_or_else(|| format!("unknown dut {s}")))
                    .collect::<Result<_, _>>()?;
            }
            "--quick" => a.quick = true,
            "--kernel" | "--frr-kernel" => a.kernel = true,
            "--runs-of" => {
                for kv in val()?.split(',') {
                    let (d, n) = kv.split_once('=').ok_or_else(|| format!("--runs-of: {kv}: DUT=N"))?;
                    let d = DutKind::parse(d).ok_or_else(|| format!("unknown dut {d}"))?;
                    a.runs_of.push((d, n.parse().map_err(|e| format!("--runs-of: {e}"))?));
                }
            }
            "--v4" => v4 = Some(val()?.parse().map_err(|e| format!("--v4: {e}"))?),
            "--v6" => v6 = Some(val()?.parse().map_err(|e| format!("--v6: {e}"))?),
            "--timeout" => a.timeout = val()?.parse().map_err(|e| format!("--timeout: {e}"))?,
            "--mdcd" => a.mdcd = PathBuf::from(val()?),
            "--cache" => a.cache = PathBuf::from(val()?),
            "-h" | "--help" => return Err(HELP.into()),
            other => return Err(format!("unknown argument {other}\n{HELP}")),
        }
    }
    if a.quick {
        a.spec = TableSpec { v4: 20_000, v6: 5_000, seed: TableSpec::FULL.seed };
        a.runs = 1;
        a.timeout = a.timeout.min(30);
    }
    a.spec.v4 = v4.unwrap_or(a.spec.v4);
    a.spec.v6 = v6.unwrap_or(a.spec.v6);
    a.duts.sort();
    Ok(a)
}

const HELP: &str = "rib-race [--scenario sink|full|four|many|flap|all (comma list)] [--runs N] \
[--runs-of DUT=N,...] [--dut mdcd,bird,frr,gobgp] [--quick] [--v4 N] [--v6 N] [--timeout S] [--mdcd PATH] [--cache DIR] \
[--kernel]";

fn feeder_v4(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 11 + k as u8)
}

fn feeder_v6(k: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x11 + k as u16)
}

const DUT_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DUT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const MON_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const MON_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);

/// Stream files of one scenario: per feeder, per family, (announce, withdraw).
struct Streams {
    files: Vec<Vec<(Family, PathBuf, PathBuf)>>,
    paths: u64,
}

fn cache_dir(a: &Args) -> PathBuf {
    a.cache.join(format!("v{STREAM_VERSION}-{}-{}-{}", a.spec.v4, a.spec.v6, a.spec.seed))
}

/// Build (or reuse) the stream files of `s`.
fn streams(a: &Args, s: Scenario, table: &mut Option<Table>) -> Result<Streams, String> {
    let dir = cache_dir(a);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let n = s.feeders();
    let mut files = Vec::new();
    let mut paths = 0u64;
    for k in 0..n {
        let mut per = Vec::new();
        let fams: &[Family] =
            if s.has_v6() { &[Family::IPV4_UNICAST, Family::IPV6_UNICAST] } else { &[Family::IPV4_UNICAST] };
        for &fam in fams {
            let tag = if fam == Family::IPV6_UNICAST { "v6" } else { "v4" };
            let ann = dir.join(format!("{}-f{k}-{tag}.announce", s.name()));
            let wd = dir.join(format!("{}-f{k}-{tag}.withdraw", s.name()));
            if !ann.exists() || !wd.exists() {
                let t = table.get_or_insert_with(|| {
                    let start = Instant::now();
                    let t = Table::generate(a.spec);
                    eprintln!(
                        "generated table {:?} in {:.1} s: {:?}",
                        a.spec,
                        start.elapsed().as_secs_f64(),
                        t.stats()
                    );
                    t
                });
                let feeder = Feeder {
                    asn: FIRST_FEEDER_AS + k as u32,
                    next_hop_v4: feeder_v4(k),
                    next_hop_v6: feeder_v6(k),
                    index: k as u64,
                    of: if s == Scenario::Four { 4 } else { 1 },
                };
                let len = t.len(fam);
                let range = if s == Scenario::Many { (len * k / n)..(len * (k + 1) / n) } else { 0..len };
                let tmp = dir.join(format!(".tmp-{}", std::process::id()));
                std::fs::write(&tmp, t.withdraw(fam, range.clone())).map_err(|e| e.to_string())?;
                std::fs::rename(&tmp, &wd).map_err(|e| e.to_string())?;
                std::fs::write(&tmp, t.announce(&feeder, fam, range)).map_err(|e| e.to_string())?;
                std::fs::rename(&tmp, &ann).map_err(|e| e.to_string())?;
            }
            paths += count_prefixes(&ann)?;
            per.push((fam, ann, wd));
        }
        files.push(per);
    }
    Ok(Streams { files, paths })
}

fn count_prefixes(p: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut e = Expect::default();
    e.add_stream(&bytes)?;
    Ok(e.len() as u64)
}

/// The replayer's rate into a sink: one session per family over loopback
/// to an in-process monitor (no device in between).
fn sink(a: &Args, st: &Streams) -> Result<String, String> {
    let files = st.files.first().ok_or("no streams")?;
    let mut expect = Expect::default();
    let mut loaded = Vec::new();
    for (fam, ann, _) in files {
        let bytes = std::fs::read(ann).map_err(|e| e.to_string())?;
        expect.add_stream(&bytes)?;
        loaded.push((*fam, Arc::new(bytes)));
    }
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let cfg = |fam: Family, asn: u32, id: u8| SessionConfig {
        local: None,
        remote: addr,
        asn,
        router_id: Ipv4Addr::new(192, 0, 2, id),
        family: fam,
        hold: 180,
    };
    let mut stats = Vec::new();
    let mut writers = Vec::new();
    let mut keep = Vec::new();
    let total_bytes: usize = loaded.iter().map(|(_, b)| b.len()).sum();
    for (fam, bytes) in &loaded {
        let c = cfg(*fam, FIRST_FEEDER_AS, 11);
        let dialer = thread::spawn(move || {
            dial(&c, Instant::now() + Duration::from_secs(5)).and_then(|s| handshake(s, &c))
        });
        let (server, _) = listener.accept().map_err(|e| e.to_string())?;
        let server = handshake(server, &cfg(*fam, MONITOR_AS, 100)).map_err(|e| e.to_string())?;
        let client = dialer.join().map_err(|_| "dialer panicked")?.map_err(|e| e.to_string())?;
        let stat = Arc::new(MonitorStats::default());
        let table = MonitorTable::new(&expect, *fam);
        let s2 = Arc::clone(&stat);
        let reader = server.reader;
        thread::spawn(move || monitor(reader, Some(table), 0, &s2));
        stats.push(stat);
        // Keep both ends open until the monitors are done.
        writers.push((Arc::clone(&client.writer), Arc::clone(bytes)));
        keep.push(client);
    }
    let cpu0 = mdc_benches::race::cpu_seconds(std::process::id()).unwrap_or(0.0);
    let barrier = Arc::new(std::sync::Barrier::new(writers.len()));
    let handles: Vec<_> = writers
        .into_iter()
        .map(|(w, bytes)| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || {
                b.wait();
                send_stream(&w, &bytes, 256 * 1024).map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut first = u64::MAX;
    let mut writer_done = 0u64;
    for h in handles {
        first = first.min(h.join().map_err(|_| "writer panicked")??);
        writer_done = writer_done.max(mdc_benches::race::now_ns());
    }
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    while !stats.iter().all(|s| s.correct.load(Ordering::Relaxed) == s.expected.load(Ordering::Relaxed)) {
        let state = || {
            let v: Vec<String> = stats
                .iter()
                .map(|s| {
                    format!(
                        "held {} correct {} of {}, {} bytes {} updates",
                        s.held.load(Ordering::Relaxed),
                        s.correct.load(Ordering::Relaxed),
                        s.expected.load(Ordering::Relaxed),
                        s.bytes.load(Ordering::Relaxed),
                        s.updates.load(Ordering::Relaxed)
                    )
                })
                .collect();
            v.join("; ")
        };
        if let Some(e) = stats.iter().find_map(|s| s.error()) {
            return Err(format!("{e} ({})", state()));
        }
        if Instant::now() > deadline {
            return Err(format!("sink: timeout ({})", state()));
        }
        thread::sleep(Duration::from_millis(1));
    }
    let last = stats.iter().map(|s| s.last_change_ns.load(Ordering::Relaxed)).max().unwrap_or(0);
    let cpu = mdc_benches::race::cpu_seconds(std::process::id()).unwrap_or(0.0) - cpu0;
    drop(keep);
    let secs = last.saturating_sub(first) as f64 / 1e9;
    let wsecs = writer_done.saturating_sub(first) as f64 / 1e9;
    let prefixes = expect.len();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| replayer -> monitor (loopback, no device) | {prefixes} | {:.1} MB | {secs:.2} s | {:.0} k prefixes/s | {:.0} MB/s | {wsecs:.2} s | {cpu:.2} s |",
        total_bytes as f64 / 1e6,
        prefixes as f64 / secs.max(1e-9) / 1e3,
        total_bytes as f64 / secs.max(1e-9) / 1e6,
    );
    println!("RESULT scenario=sink dut=none run=1 phase=announce ok secs={secs:.3} prefixes={prefixes}");
    Ok(out)
}

/// One measured run.
#[derive(Debug, Clone, Default)]
struct RunResult {
    /// (phase label, seconds) of reported phases.
    phases: Vec<(String, f64)>,
    cpu: f64,
    hwm: u64,
    base_rss: u64,
    agent_cpu: f64,
    feeder_rx: u64,
    unexpected: u64,
    error: Option<String>,
}

struct AgentProc {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl AgentProc {
    fn send(&mut self, cmd: &str) -> Result<(), String> {
        writeln!(self.stdin, "{cmd}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("agent stdin: {e}"))
    }
    fn line(&self, timeout: Duration) -> Result<String, String> {
        self.lines
            .recv_timeout(timeout)
            .map_err(|_| format!("no answer from the agent in {} s", timeout.as_secs()))
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.send("quit");
        let deadline = Instant::now() + Duration::from_secs(2);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn plan_text(a: &Args, s: Scenario, st: &Streams) -> String {
    let mut p = String::new();
    let _ = writeln!(p, "timeout {}", a.timeout);
    let _ = writeln!(p, "monitor v4 {MON_V4} {DUT_V4} {MONITOR_AS} {MON_V4} 1");
    if s.has_v6() {
        let _ = writeln!(p, "monitor v6 {MON_V6} {DUT_V6} {MONITOR_AS} {MON_V4} 1");
    }
    for (k, per) in st.files.iter().enumerate() {
        for (fam, ann, wd) in per {
            let asn = FIRST_FEEDER_AS + k as u32;
            let (tag, local, remote): (&str, IpAddr, IpAddr) = if *fam == Family::IPV6_UNICAST {
                ("v6", feeder_v6(k).into(), DUT_V6.into())
            } else {
                ("v4", feeder_v4(k).into(), DUT_V4.into())
            };
            let _ = writeln!(
                p,
                "feeder {tag} {local} {remote} {asn} {} {} {}",
                feeder_v4(k),
                ann.display(),
                wd.display()
            );
        }
    }
    p
}

fn run_one(a: &Args, s: Scenario, kind: DutKind, st: &Streams) -> RunResult {
    let mut r = RunResult::default();
    if let Err(e) = run_inner(a, s, kind, st, &mut r) {
        r.error = Some(e);
    }
    r
}

fn run_inner(a: &Args, s: Scenario, kind: DutKind, st: &Streams, r: &mut RunResult) -> Result<(), String> {
    let n = s.feeders();
    let mut peer_addrs = format!("{MON_V4}/24");
    if s.has_v6() {
        let _ = write!(peer_addrs, " {MON_V6}/64");
    }
    for k in 0..n {
        let _ = write!(peer_addrs, " {}/24", feeder_v4(k));
        if s.has_v6() {
            let _ = write!(peer_addrs, " {}/64", feeder_v6(k));
        }
    }
    let lab = Lab::new("ribrace")
        .and_then(|l| l.node("dut"))
        .and_then(|l| l.node("peers"))
        .and_then(|l| l.link("dut", &format!("{DUT_V4}/24 {DUT_V6}/64"), "peers", &peer_addrs))
        .map_err(|e| format!("lab: {e}"))?;
    for (node, ifname) in [("dut", "to-peers"), ("peers", "to-dut")] {
        lab.exec(node, &["ip", "link", "set", ifname, "mtu", "65535"]).map_err(|e| e.to_string())?;
    }
    let mut neighbors = vec![DutNeighbor { address: MON_V4.into(), asn: MONITOR_AS, monitor: true }];
    if s.has_v6() {
        neighbors.push(DutNeighbor { address: MON_V6.into(), asn: MONITOR_AS, monitor: true });
    }
    for k in 0..n {
        let asn = FIRST_FEEDER_AS + k as u32;
        neighbors.push(DutNeighbor { address: feeder_v4(k).into(), asn, monitor: false });
        if s.has_v6() {
            neighbors.push(DutNeighbor { address: feeder_v6(k).into(), asn, monitor: false });
        }
    }
    let kernel = a.kernel && matches!(kind, DutKind::Frr | DutKind::Mdcd) && s == Scenario::Full;
    let setup = DutSetup { asn: DUT_AS, router_id: DUT_V4.to_string(), neighbors, kernel };
    let mut dut = Dut::start(&lab, kind, &setup, &a.mdcd)?;

    let plan = lab.dir().join("agent.plan");
    std::fs::write(&plan, plan_text(a, s, st)).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let err_log = lab.dir().join("agent.err");
    lab.register_log("agent stderr", &err_log);
    let mut cmd = lab.command("peers", &exe.display().to_string()).map_err(|e| e.to_string())?;
    cmd.arg("agent").arg(&plan).stdin(Stdio::piped()).stdout(Stdio::piped());
    cmd.stderr(Stdio::from(std::fs::File::create(&err_log).map_err(|e| e.to_string())?));
    let mut child = cmd.spawn().map_err(|e| format!("agent: {e}"))?;
    let stdout = child.stdout.take().ok_or("agent: no stdout")?;
    let stdin = child.stdin.take().ok_or("agent: no stdin")?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut agent = AgentProc { child, stdin, lines: rx };
    let agent_err = |e: String| {
        let log = std::fs::read_to_string(&err_log).unwrap_or_default();
        format!("{e}; agent: {}", log.trim())
    };
    let first = agent.line(Duration::from_secs(90)).map_err(agent_err)?;
    if first != "established" {
        return Err(agent_err(format!("agent said {first:?}")));
    }
    // Let the device settle (initial End-of-RIBs, timers).
    thread::sleep(Duration::from_secs(1));
    let cpu0 = dut.cpu();
    r.base_rss = dut.mem("VmRSS");
    let kernel_base = if kernel { Some(kernel_routes(&lab.ns("dut"))?) } else { None };
    for (phase, reported) in s.phases() {
        agent.send(phase)?;
        let answer = agent.line(Duration::from_secs(a.timeout + 30))?;
        let w: Vec<&str> = answer.split_whitespace().collect();
        match w.as_slice() {
            ["done", p, first, last] if p == phase => {
                let first: u64 = first.parse().map_err(|_| "bad answer")?;
                let last: u64 = last.parse().map_err(|_| "bad answer")?;
                let secs = last.saturating_sub(first) as f64 / 1e9;
                if *reported {
                    let label =
                        if s == Scenario::Flap && *phase == "announce" { "re-announce" } else { phase };
                    r.phases.push((label.to_string(), secs));
                }
                if let Some(base) = kernel_base {
                    let want = a.spec.v4 as u64 + if s.has_v6() { a.spec.v6 as u64 } else { 0 };
                    let done = wait_kernel(&lab.ns("dut"), base, want, Duration::from_secs(a.timeout))?;
                    r.phases.push(("kernel".to_string(), done.saturating_sub(first) as f64 / 1e9));
                }
            }
            _ => {
                let alive = if dut.alive() { "" } else { " (the device died)" };
                return Err(format!("{answer}{alive}\n{}", dut.log_tail()));
            }
        }
    }
    r.cpu = dut.cpu() - cpu0;
    r.hwm = dut.mem("VmHWM");
    agent.send("stats")?;
    let stats = agent.line(Duration::from_secs(10))?;
    for kv in stats.split_whitespace().skip(1) {
        match kv.split_once('=') {
            Some(("agent_cpu", v)) => r.agent_cpu = v.parse().unwrap_or(0.0),
            Some(("feeder_rx_prefixes", v)) => r.feeder_rx = v.parse().unwrap_or(0),
            Some(("unexpected", v)) => r.unexpected = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    drop(agent);
    drop(dut);
    Ok(())
}

/// Routes in the namespace's kernel: IPv4 main (and local, merged while
/// there are no rules) from /proc/net/fib_triestat, IPv6 route entries
/// from /proc/net/rt6_stats. No dump of a million routes, but the trie
/// statistics walk the trie: poll sparingly.
fn kernel_routes(ns: &str) -> Result<u64, String> {
    let read = |file: &str| -> Result<String, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "cat", file])
            .output()
            .map_err(|e| format!("{file}: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let trie = read("/proc/net/fib_triestat")?;
    let v4 = trie
        .split("Main:")
        .nth(1)
        .and_then(|m| m.lines().find_map(|l| l.trim().strip_prefix("Prefixes:")))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or(format!("no Main prefixes in fib_triestat: {trie}"))?;
    let rt6 = read("/proc/net/rt6_stats")?;
    let v6 = rt6
        .split_whitespace()
        .nth(3)
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .ok_or(format!("rt6_stats: {rt6}"))?;
    Ok(v4 + v6)
}

/// Wait until the kernel holds `want` routes more than `base`; when (ns).
fn wait_kernel(ns: &str, base: u64, want: u64, timeout: Duration) -> Result<u64, String> {
    let start = std::time::Instant::now();
    loop {
        let now = kernel_routes(ns)?.saturating_sub(base);
        if now >= want {
            return Ok(mdc_benches::race::now_ns());
        }
        if start.elapsed() > timeout {
            return Err(format!("the kernel holds {now} of {want} routes after {} s", timeout.as_secs()));
        }
        // Each read walks the kernel's trie (fib_triestat counts by
        // walking): every 20 ms took a third of a core from the device.
        thread::sleep(Duration::from_millis(100));
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v.get(n / 2).copied().unwrap_or(f64::NAN),
        n => (v.get(n / 2 - 1).copied().unwrap_or(0.0) + v.get(n / 2).copied().unwrap_or(0.0)) / 2.0,
    }
}

fn mib(b: f64) -> f64 {
    b / (1024.0 * 1024.0)
}

/// The markdown table of one scenario.
fn report(s: Scenario, paths: u64, duts: &[DutKind], results: &BTreeMap<DutKind, Vec<RunResult>>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n### {} ({paths} paths)\n", s.title());
    let mut labels: Vec<String> = s
        .phases()
        .iter()
        .filter(|(_, r)| *r)
        .map(|(p, _)| {
            if s == Scenario::Flap && *p == "announce" { "re-announce".to_string() } else { (*p).to_string() }
        })
        .collect();
    // Measured for some devices only ("kernel" with --kernel: FRR and mdcd).
    for r in results.values().flatten() {
        for (p, _) in &r.phases {
            if !labels.contains(p) {
                labels.push(p.clone());
            }
        }
    }
    // Median time per (dut, phase) for the ratio columns.
    let mut med: BTreeMap<(DutKind, String), f64> = BTreeMap::new();
    for (d, runs) in results {
        for l in &labels {
            let mut v: Vec<f64> = runs
                .iter()
                .filter(|r| r.error.is_none())
                .filter_map(|r| r.phases.iter().find(|(p, _)| p == l).map(|(_, t)| *t))
                .collect();
            if !v.is_empty() {
                med.insert((*d, l.clone()), median(&mut v));
            }
        }
    }
    let _ = write!(
        out,
        "| device | phase | ok runs | time s min / median / max | CPU s (median) | peak RSS MiB (median) | bytes/path |"
    );
    for d in duts {
        let _ = write!(out, " time ÷ {} |", d.name());
    }
    out.push('\n');
    let _ = write!(out, "|---|---|---|---|---|---|---|");
    for _ in duts {
        out.push_str("---|");
    }
    out.push('\n');
    for d in duts {
        let runs = results.get(d).map(Vec::as_slice).unwrap_or_default();
        let ok: Vec<&RunResult> = runs.iter().filter(|r| r.error.is_none()).collect();
        for l in &labels {
            let mut t: Vec<f64> =
                ok.iter().filter_map(|r| r.phases.iter().find(|(p, _)| p == l).map(|(_, t)| *t)).collect();
            let mut cpu: Vec<f64> = ok.iter().map(|r| r.cpu).collect();
            let mut hwm: Vec<f64> = ok.iter().map(|r| r.hwm as f64).collect();
            let mut per: Vec<f64> =
                ok.iter().map(|r| (r.hwm.saturating_sub(r.base_rss)) as f64 / paths.max(1) as f64).collect();
            let times = if t.is_empty() {
                "–".to_string()
            } else {
                let m = median(&mut t);
                format!(
                    "{:.2} / **{m:.2}** / {:.2}",
                    t.first().copied().unwrap_or(0.0),
                    t.last().copied().unwrap_or(0.0)
                )
            };
            let fmt = |x: f64, p: usize| if x.is_nan() { "–".to_string() } else { format!("{x:.p$}") };
            let _ = write!(
                out,
                "| {} | {l} | {}/{} | {times} | {} | {} | {} |",
                d.label(),
                ok.len(),
                runs.len(),
                fmt(median(&mut cpu), 1),
                fmt(mib(median(&mut hwm)), 0),
                fmt(median(&mut per), 0),
            );
            for other in duts {
                let ratio = match (med.get(&(*d, l.clone())), med.get(&(*other, l.clone()))) {
                    (Some(a), Some(b)) if *b > 0.0 => format!("{:.2}", a / b),
                    _ => "–".to_string(),
                };
                let _ = write!(out, " {ratio} |");
            }
            out.push('\n');
        }
    }
    for d in duts {
        for (i, r) in results.get(d).map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            if let Some(e) = &r.error {
                let first = e.lines().next().unwrap_or_default();
                let _ = writeln!(out, "\n- {} run {}: failed: {first}", d.label(), i + 1);
            } else if r.unexpected > 0 || r.feeder_rx > 0 {
                let _ = writeln!(
                    out,
                    "\n- {} run {}: {} unexpected prefixes at the monitor, {} prefixes sent to feeders",
                    d.label(),
                    i + 1,
                    r.unexpected,
                    r.feeder_rx
                );
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("agent") {
        return match agent::run(argv.get(1).map(String::as_str).unwrap_or("")) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("error {e}");
                eprintln!("agent: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let a = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match race(&a) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rib-race: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run everything; Ok(false) if any run failed.
fn race(a: &Args) -> Result<bool, String> {
    let mut table = None;
    let mut all_ok = true;
    let mut doc = String::new();
    let _ = writeln!(
        doc,
        "Table: {} IPv4 + {} IPv6 prefixes (seed {}), {} run(s) each, timeout {} s.",
        a.spec.v4, a.spec.v6, a.spec.seed, a.runs, a.timeout
    );
    let mut prepared = Vec::new();
    for &s in &a.scenarios {
        prepared.push((s, streams(a, s, &mut table)?));
    }
    if a.sink {
        let st = streams(a, Scenario::Full, &mut table)?;
        doc.push_str("\n### Replayer rate into a sink\n\n| path | prefixes | stream | first byte -> all held | prefixes/s | MB/s | writer done | CPU (replayer + monitor) |\n|---|---|---|---|---|---|---|---|\n");
        match sink(a, &st) {
            Ok(row) => doc.push_str(&row),
            Err(e) => {
                all_ok = false;
                let _ = writeln!(doc, "sink failed: {e}");
            }
        }
        eprint!("{doc}");
    }
    drop(table);
    let needs_lab = !prepared.is_empty();
    if needs_lab && !mdc_tests::require_interop(&[]) {
        println!("{doc}");
        return Ok(all_ok);
    }
    let mut duts = a.duts.clone();
    if duts.contains(&DutKind::Mdcd) && !a.mdcd.exists() {
        let _ = writeln!(
            doc,
            "\nmdcd: no binary at {} (build it with `cargo build --release -p mdcd`); column left out.",
            a.mdcd.display()
        );
        duts.retain(|d| *d != DutKind::Mdcd);
    }
    let mut missing = Vec::new();
    for d in &duts {
        let bin = match d {
            DutKind::Bird => "bird",
            DutKind::Frr => "/usr/lib/frr/bgpd",
            DutKind::Gobgp => "gobgpd",
            DutKind::Mdcd => continue,
        };
        let found = if bin.starts_with('/') {
            Path::new(bin).exists()
        } else {
            std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).exists()))
        };
        if !found {
            missing.push(*d);
        }
    }
    for d in &missing {
        let _ = writeln!(doc, "\n{}: not installed; column left out.", d.label());
    }
    duts.retain(|d| !missing.contains(d));
    for (s, st) in &prepared {
        let mut results: BTreeMap<DutKind, Vec<RunResult>> = BTreeMap::new();
        for run in 1..=a.runs {
            for &d in &duts {
                let runs = a.runs_of.iter().find(|(k, _)| *k == d).map_or(a.runs, |(_, n)| *n);
                let failed = results.get(&d).is_some_and(|v| v.iter().any(|r| r.error.is_some()));
                if run > runs || failed {
                    // A device that failed a scenario once is not run again.
                    continue;
                }
                eprintln!("== {} run {run}/{runs}: {}", s.name(), d.label());
                let r = run_one(a, *s, d, st);
                match &r.error {
                    Some(e) => {
                        all_ok = false;
                        eprintln!("   failed: {e}");
                        println!("RESULT scenario={} dut={} run={run} phase=all failed", s.name(), d.name());
                    }
                    None => {
                        for (p, t) in &r.phases {
                            eprintln!(
                                "   {p}: {t:.2} s, CPU {:.1} s, VmHWM {:.0} MiB, agent CPU {:.1} s",
                                r.cpu,
                                mib(r.hwm as f64),
                                r.agent_cpu
                            );
                            println!(
                                "RESULT scenario={} dut={} run={run} phase={p} ok secs={t:.3} prefixes={} cpu={:.2} hwm={} unexpected={} feeder_rx={}",
                                s.name(),
                                d.name(),
                                st.paths,
                                r.cpu,
                                r.hwm,
                                r.unexpected,
                                r.feeder_rx
                            );
                        }
                    }
                }
                results.entry(d).or_default().push(r);
                // Leftover namespaces go with the lab; give the kernel a moment.
                thread::sleep(Duration::from_millis(300));
            }
        }
        let t = report(*s, st.paths, &duts, &results);
        eprint!("{t}");
        doc.push_str(&t);
    }
    println!("\n{doc}");
    Ok(all_ok)
}
