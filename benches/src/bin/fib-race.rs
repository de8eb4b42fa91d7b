//! Kernel route install rate: `mdc_fib` against `ip -batch`, in fresh
//! network namespaces.
//!
//! fib-race [--v4 N] [--v6 N] [--runs N] [--only SCENARIO,...]
//!
//! Scenarios: v4-single, v4-ecmp4, v6-single, v6-ecmp4 (the prefixes of
//! rib-race's synthetic full table). Installers:
//! - `mdc-fib`: a child process (`fib-race install ...`) builds the routes
//!   (gateways with their interface, so in nexthop objects) in chunks of
//!   4096 and hands each chunk to `Fib::apply`; its time is
//!   from the first route built to the last answer read; its memory is
//!   VmHWM and VmHWM minus the RSS before the first route;
//! - `ip -batch (nhid)`: the kernel's own ceiling as the issue defines it:
//!   nexthop objects (one per gateway, a group for ECMP), routes by `nhid`;
//! - `ip -batch (inline)`: the same routes with the gateways inline, as
//!   mdc-fib sends them.
//!
//! Every run is verified: the table holds exactly the routes, and sampled
//! routes have the right next hops.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use mdc_benches::table::{Table, TableSpec};
use mdc_fib::{Change, Fib, IpNetwork, NextHop, Route, Target};
use mdc_tests::Lab;

const TABLE: u32 = 100;
const CHUNK: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scenario {
    v6: bool,
    ecmp: usize,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario { v6: false, ecmp: 1 },
        Scenario { v6: false, ecmp: 4 },
        Scenario { v6: true, ecmp: 1 },
        Scenario { v6: true, ecmp: 4 },
    ];

    fn name(self) -> String {
        let family = if self.v6 { "v6" } else { "v4" };
        if self.ecmp == 1 { format!("{family}-single") } else { format!("{family}-ecmp{}", self.ecmp) }
    }

    fn gateways(self) -> Vec<IpAddr> {
        (2..2 + self.ecmp as u16)
            .map(|i| {
                if self.v6 {
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))
                } else {
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, i as u8))
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Installer {
    Fib,
    IpNhid,
    IpInline,
}

impl Installer {
    const ALL: [Installer; 3] = [Installer::Fib, Installer::IpNhid, Installer::IpInline];

    fn label(self) -> &'static str {
        match self {
            Installer::Fib => "mdc-fib",
            Installer::IpNhid => "ip -batch (nhid)",
            Installer::IpInline => "ip -batch (inline)",
        }
    }
}

struct Args {
    v4: usize,
    v6: usize,
    runs: usize,
    only: Option<Vec<String>>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args { v4: TableSpec::FULL.v4, v6: TableSpec::FULL.v6, runs: 3, only: None };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--v4" => a.v4 = value()?.parse().map_err(|e| format!("--v4: {e}"))?,
            "--v6" => a.v6 = value()?.parse().map_err(|e| format!("--v6: {e}"))?,
            "--runs" => a.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--only" => a.only = Some(value()?.split(',').map(String::from).collect()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// The routes of a scenario, in table order.
fn prefixes(table: &Table, v6: bool) -> Vec<IpNetwork> {
    let net = |a: IpAddr, l: u8| IpNetwork::new(a, l).ok();
    if v6 {
        table.v6.iter().filter_map(|p| net(IpAddr::V6(p.addr()), p.length())).collect()
    } else {
        table.v4.iter().filter_map(|p| net(IpAddr::V4(p.addr()), p.length())).collect()
    }
}

fn route(dst: IpNetwork, gateways: &[IpAddr], ifindex: u32) -> Route {
    Route {
        dst,
        table: TABLE,
        metric: 20,
        target: Target::Via(gateways.iter().map(|g| NextHop::gateway(*g).on(ifindex)).collect()),
    }
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The child: install one scenario's routes through mdc-fib in `ns`.
fn install(mut it: impl Iterator<Item = String>) -> Result<(), String> {
    let (Some(ns), Some(v6), Some(ecmp), Some(v4n), Some(v6n)) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err("install NS v4|v6 ECMP V4N V6N".into());
    };
    let scenario = Scenario { v6: v6 == "v6", ecmp: ecmp.parse().map_err(|e| format!("{e}"))? };
    let spec = TableSpec {
        v4: v4n.parse().map_err(|e| format!("{e}"))?,
        v6: v6n.parse().map_err(|e| format!("{e}"))?,
        seed: TableSpec::FULL.seed,
    };
    let dsts = prefixes(&Table::generate(spec), scenario.v6);
    let gateways = scenario.gateways();
    let mut fib = Fib::open_in_netns(&ns, mdc_fib::PROTOCOL).map_err(|e| e.to_string())?;
    let ifindex = fib.link_index("to-peer").map_err(|e| e.to_string())?.ok_or("no to-peer")?;
    let rss_before = status_kb("VmRSS:");
    let start = Instant::now();
    let mut refused = 0usize;
    let mut first_error = None;
    for chunk in dsts.chunks(CHUNK) {
        let changes: Vec<Change> =
            chunk.iter().map(|d| Change::Replace(route(*d, &gateways, ifindex))).collect();
        for r in fib.apply(&changes) {
            if let Err(e) = r {
                refused += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "installed secs={secs:.3} routes={} refused={refused} hwm_kb={} rss_before_kb={rss_before} error={}",
        dsts.len(),
        status_kb("VmHWM:"),
        first_error.unwrap_or_default().replace(' ', "_")
    );
    Ok(())
}

fn batch_file(dsts: &[IpNetwork], scenario: Scenario, installer: Installer, dev: &str) -> String {
    let gateways = scenario.gateways();
    let mut out = String::with_capacity(dsts.len() * 64);
    if installer == Installer::IpNhid {
        for (i, g) in gateways.iter().enumerate() {
            let _ = writeln!(out, "nexthop add id {} via {g} dev {dev} proto {}", i + 1, mdc_fib::PROTOCOL);
        }
        let group: Vec<String> = (1..=gateways.len()).map(|i| i.to_string()).collect();
        let _ = writeln!(out, "nexthop add id 100 group {} proto {}", group.join("/"), mdc_fib::PROTOCOL);
    }
    for d in dsts {
        let _ = write!(out, "route add {d} table {TABLE} proto {} metric 20", mdc_fib::PROTOCOL);
        match installer {
            Installer::IpNhid => {
                let _ = writeln!(out, " nhid 100");
            }
            _ if gateways.len() == 1 => {
                let _ = writeln!(
                    out,
                    " via {}",
                    gateways.first().copied().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
                );
            }
            _ => {
                gateways.iter().for_each(|g| {
                    let _ = write!(out, " nexthop via {g}");
                });
                out.push('\n');
            }
        }
    }
    out
}

struct Run {
    secs: f64,
    hwm_mib: f64,
    delta_mib: f64,
}

/// Check the namespace's table: every route there, sampled ones right.
fn verify(ns: &str, dsts: &[IpNetwork], scenario: Scenario) -> Result<(), String> {
    let mut fib = Fib::open_in_netns(ns, mdc_fib::PROTOCOL).map_err(|e| e.to_string())?;
    let got = fib.routes(Some(TABLE)).map_err(|e| e.to_string())?;
    if got.len() != dsts.len() {
        return Err(format!("{} routes of ours in table {TABLE}, expected {}", got.len(), dsts.len()));
    }
    let want: std::collections::HashSet<IpNetwork> = dsts.iter().copied().collect();
    if let Some(r) = got.iter().find(|r| !want.contains(&r.dst)) {
        return Err(format!("unexpected route {r}"));
    }
    let gateways = scenario.gateways();
    let sample: Vec<&Route> = got.iter().step_by((got.len() / 50).max(1)).collect();
    for r in sample {
        if let Target::Via(hops) = &r.target
            && !hops.is_empty()
        {
            let mut gws: Vec<IpAddr> = hops.iter().filter_map(|h| h.gateway).collect();
            gws.sort();
            // A route by nexthop id reads back without gateways.
            if !gws.is_empty() && gws != gateways {
                return Err(format!("{r}: next hops {gws:?}, expected {gateways:?}"));
            }
        }
    }
    Ok(())
}

fn one_run(table: &Table, a: &Args, scenario: Scenario, installer: Installer) -> Result<Run, String> {
    let lab = Lab::new("fibrace")
        .and_then(|l| l.node("dut"))
        .and_then(|l| l.node("peer"))
        .and_then(|l| l.link("dut", "192.0.2.1/24 2001:db8::1/64", "peer", "192.0.2.254/24 2001:db8::fe/64"))
        .map_err(|e| format!("lab: {e}"))?;
    let ns = lab.ns("dut");
    let dsts = prefixes(table, scenario.v6);
    let run = match installer {
        Installer::Fib => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let out = Command::new(exe)
                .args([
                    "install",
                    &ns,
                    if scenario.v6 { "v6" } else { "v4" },
                    &scenario.ecmp.to_string(),
                    &a.v4.to_string(),
                    &a.v6.to_string(),
                ])
                .stderr(Stdio::inherit())
                .output()
                .map_err(|e| format!("install: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let field = |k: &str| -> Option<String> {
                text.split_whitespace().find_map(|w| w.strip_prefix(&format!("{k}=")).map(String::from))
            };
            let num = |k: &str| {
                field(k).and_then(|v| v.parse::<f64>().ok()).ok_or(format!("install said {text:?}"))
            };
            if num("refused")? > 0.0 {
                return Err(format!(
                    "mdc-fib refused {} routes: {}",
                    num("refused")?,
                    field("error").unwrap_or_default()
                ));
            }
            Run {
                secs: num("secs")?,
                hwm_mib: num("hwm_kb")? / 1024.0,
                delta_mib: (num("hwm_kb")? - num("rss_before_kb")?) / 1024.0,
            }
        }
        Installer::IpNhid | Installer::IpInline => {
            let file = lab.dir().join("routes.batch");
            std::fs::write(&file, batch_file(&dsts, scenario, installer, "to-peer"))
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            let status = Command::new("ip")
                .args(["-n", &ns, "-batch"])
                .arg(&file)
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("ip -batch: {e}"))?;
            let secs = start.elapsed().as_secs_f64();
            if !status.success() {
                return Err(format!("ip -batch failed: {status}"));
            }
            Run { secs, hwm_mib: f64::NAN, delta_mib: f64::NAN }
        }
    };
    let verified = verify(&ns, &dsts, scenario);
    // Emptied now, not by the kernel's namespace cleanup, which would run
    // in the background of the next run.
    // (Removing a nexthop object removes the routes using it.)
    let table = TABLE.to_string();
    let _ = Command::new("ip").args(["-n", &ns, "nexthop", "flush"]).stdout(Stdio::null()).status();
    let _ = Command::new("ip")
        .args(["-n", &ns, "route", "flush", "table", &table])
        .stderr(Stdio::null())
        .status();
    verified?;
    Ok(run)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("install") {
        args.next();
        return match install(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fib-race install: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let a = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "fib-race: {e}\nfib-race [--v4 N] [--v6 N] [--runs N] [--only v4-single,v4-ecmp4,v6-single,v6-ecmp4]"
            );
            return ExitCode::FAILURE;
        }
    };
    let table = Table::generate(TableSpec { v4: a.v4, v6: a.v6, seed: TableSpec::FULL.seed });
    let mut failed = false;
    println!(
        "| scenario | installer | routes | time s min / median / max | routes/s (median) | ÷ ip nhid rate | peak RSS MiB (delta) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for scenario in Scenario::ALL {
        if a.only.as_ref().is_some_and(|o| !o.contains(&scenario.name())) {
            continue;
        }
        let n = if scenario.v6 { a.v6 } else { a.v4 };
        let mut rows = Vec::new();
        for installer in Installer::ALL {
            let mut times = Vec::new();
            let mut mem = (f64::NAN, f64::NAN);
            for run in 0..a.runs {
                match one_run(&table, &a, scenario, installer) {
                    Ok(r) => {
                        eprintln!(
                            "{} {} run {}: {:.2} s",
                            scenario.name(),
                            installer.label(),
                            run + 1,
                            r.secs
                        );
                        times.push(r.secs);
                        mem = (r.hwm_mib, r.delta_mib);
                    }
                    Err(e) => {
                        eprintln!("{} {} run {}: FAILED: {e}", scenario.name(), installer.label(), run + 1);
                        failed = true;
                    }
                }
            }
            let min = times.iter().copied().fold(f64::INFINITY, f64::min);
            let max = times.iter().copied().fold(0.0, f64::max);
            let med = median(&mut times);
            rows.push((installer, min, med, max, mem));
        }
        let nhid = rows.iter().find(|r| r.0 == Installer::IpNhid).map_or(f64::NAN, |r| n as f64 / r.2);
        for (installer, min, med, max, (hwm, delta)) in rows {
            let rate = n as f64 / med;
            let memory = if hwm.is_nan() { "-".to_string() } else { format!("{hwm:.0} ({delta:.0})") };
            println!(
                "| {} | {} | {n} | {min:.2} / **{med:.2}** / {max:.2} | {rate:.0} | {:.2} | {memory} |",
                scenario.name(),
                installer.label(),
                rate / nhid
            );
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
