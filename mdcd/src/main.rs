//! mdcd: the routing daemon on every node.
//!
//! `mdcd --config FILE` validates the whole file before anything starts,
//! then runs the BGP speaker and the API socket until SIGTERM or SIGINT
//! (SIGHUP re-reads the file and applies the prefixes to originate);
//! `--check` stops after validation. Logs go to stderr (`RUST_LOG` sets the
//! level, default `info`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mdcd::config::Config;

/// jemalloc: the RIB's many small, long-lived allocations next to a stream
/// of short-lived ones from several threads are what glibc malloc handles
/// worst (docs/adr/0007-allocator.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(version = mdcd::VERSION, about = "mdc routing daemon")]
struct Args {
    /// The configuration file (TOML).
    #[arg(long, short, default_value = "/etc/mdc/mdcd.toml")]
    config: PathBuf,
    /// Validate the configuration and exit.
    #[arg(long)]
    check: bool,
    /// How log lines are written to stderr: `text`, or `json` (one object
    /// per line, for journald, Loki and the like).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("mdcd: {} error(s) in {}; nothing was started", errors.0.len(), args.config.display());
            return ExitCode::from(2);
        }
    };
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "{}: router-id {}, AS {}, {} peer(s), {} prefix(es) to originate: OK",
        args.config.display(),
        config.router_id,
        config.local_as,
        config.peers.len(),
        config.originate.len()
    );
    if args.check {
        return ExitCode::SUCCESS;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => logs.json().init(),
        // Colours only for a person at a terminal, not in a file or journal.
        LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    // The RIB has a thread of its own (mdc_bgp::speaker): the peers'
    // tasks get the other cores.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let workers = cores.saturating_sub(1).max(1);
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("mdcd: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
    match runtime.block_on(mdcd::daemon::run(config, args.config.clone())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mdcd: {e}");
            ExitCode::FAILURE
        }
    }
}
