//! mdcd: the routing daemon on every node.
//!
//! `mdcd --config FILE` validates the whole file before anything starts;
//! `--check` stops after that. Sessions arrive with the sessions issue.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mdcd::config::Config;

#[derive(Parser)]
#[command(version, about = "mdc routing daemon")]
struct Args {
    /// The configuration file (TOML).
    #[arg(long, short, default_value = "/etc/mdc/mdcd.toml")]
    config: PathBuf,
    /// Validate the configuration and exit.
    #[arg(long)]
    check: bool,
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
    eprintln!("mdcd: the BGP speaker is not implemented yet (sessions issue); exiting");
    ExitCode::from(1)
}
