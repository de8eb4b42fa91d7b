//! mdcctl: read the state of a running mdcd, in the spirit of `vtysh`,
//! `birdc` and `gobgp`.
//!
//! ```text
//! mdcctl show neighbors [--json]
//! mdcctl show routes [ipv4|ipv6|evpn] [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mdcd::api::{self, Answer, Request, Response};
use mdcd::config::DEFAULT_API_SOCKET;

#[derive(Parser)]
#[command(version, about = "read the state of mdcd")]
struct Args {
    /// mdcd's API socket.
    #[arg(long, default_value = DEFAULT_API_SOCKET)]
    socket: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show something.
    Show {
        #[command(subcommand)]
        what: Show,
    },
}

#[derive(Subcommand)]
enum Show {
    /// BGP neighbors and their sessions.
    Neighbors,
    /// Routes received and originated.
    Routes { family: Option<FamilyArg> },
}

#[derive(Clone, Copy, ValueEnum)]
enum FamilyArg {
    Ipv4,
    Ipv6,
    Evpn,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let request = match args.command {
        Command::Show { what: Show::Neighbors } => Request::Neighbors,
        Command::Show { what: Show::Routes { family } } => Request::Routes {
            family: family.map(|f| {
                match f {
                    FamilyArg::Ipv4 => "ipv4-unicast",
                    FamilyArg::Ipv6 => "ipv6-unicast",
                    FamilyArg::Evpn => "l2vpn-evpn",
                }
                .to_string()
            }),
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mdcctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(api::request(&args.socket, &request)) {
        Ok(Response::Ok(answer)) if args.json => match serde_json::to_string_pretty(&answer) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mdcctl: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(Response::Ok(Answer::Neighbors(n))) => {
            print!("{}", api::neighbors_table(&n));
            ExitCode::SUCCESS
        }
        Ok(Response::Ok(Answer::Routes(r))) => {
            print!("{}", api::routes_table(&r));
            ExitCode::SUCCESS
        }
        Ok(Response::Error(e)) => {
            eprintln!("mdcctl: mdcd says: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("mdcctl: {e}");
            ExitCode::FAILURE
        }
    }
}
