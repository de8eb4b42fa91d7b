//! mdcctl: read the state of a running mdcd, in the spirit of `vtysh`,
//! `birdc` and `gobgp`.
//!
//! ```text
//! mdcctl show neighbors [--json]
//! mdcctl show routes [ipv4|ipv6|evpn] [PREFIX [longer-prefixes]] [--peer ADDR|local]
//!                    [--community C] [--detail] [--json]
//! mdcctl show fib [--json]
//! mdcctl clear bgp ADDR [soft] [in|out]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mdcd::api::{self, Answer, Request, Response, RouteQuery, SoftReset};
use mdcd::config::DEFAULT_API_SOCKET;

#[derive(Parser)]
#[command(version = mdcd::VERSION, about = "read the state of mdcd")]
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
    /// Reset something.
    Clear {
        #[command(subcommand)]
        what: Clear,
    },
}

#[derive(Subcommand)]
enum Clear {
    /// Reset a BGP session (Cease/4); `soft` keeps it up and runs the import
    /// policy again (`in`), sends the table again (`out`), or both.
    Bgp {
        /// The neighbor's address.
        peer: String,
        /// `soft`, `soft in`, `soft out`, `in` or `out`.
        words: Vec<String>,
    },
}

/// `clear bgp` words as FRR takes them.
fn soft_reset(words: &[String]) -> Result<Option<SoftReset>, String> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => Ok(None),
        ["soft"] => Ok(Some(SoftReset::Both)),
        ["soft", "in"] | ["in"] => Ok(Some(SoftReset::In)),
        ["soft", "out"] | ["out"] => Ok(Some(SoftReset::Out)),
        other => {
            Err(format!("unexpected {:?}: expected soft, soft in, soft out, in or out", other.join(" ")))
        }
    }
}

#[derive(Subcommand)]
enum Show {
    /// BGP neighbors and their sessions.
    Neighbors,
    /// The Loc-RIB: every path, `>` best, `=` multipath, `S` stale.
    Routes {
        /// `ipv4`, `ipv6` or `evpn`; a prefix (exact, or every prefix inside
        /// it with `longer-prefixes`).
        words: Vec<String>,
        /// Only paths from this neighbor (`local`: originated here).
        #[arg(long)]
        peer: Option<String>,
        /// Only paths with this community (65000:1, 65000:1:2, no-export...).
        #[arg(long)]
        community: Option<String>,
        /// Every attribute of every path, and why it is not the best.
        #[arg(long)]
        detail: bool,
    },
    /// The kernel routes mdcd installs: next hops, and any drift between
    /// what the RIB wants and what the kernel has.
    Fib,
    /// The running mdcd's version and the git commit it was built from.
    Version,
}

/// `show routes` words into a query.
fn route_query(
    words: &[String],
    peer: Option<String>,
    community: Option<String>,
) -> Result<RouteQuery, String> {
    let mut q = RouteQuery { peer, community, ..RouteQuery::default() };
    for w in words {
        match w.as_str() {
            "ipv4" | "ipv4-unicast" => q.family = Some("ipv4-unicast".into()),
            "ipv6" | "ipv6-unicast" => q.family = Some("ipv6-unicast".into()),
            "evpn" | "l2vpn-evpn" => q.family = Some("l2vpn-evpn".into()),
            "longer-prefixes" => q.longer_prefixes = true,
            p if p.contains('/') && q.prefix.is_none() => q.prefix = Some(p.to_string()),
            other => {
                return Err(format!(
                    "unexpected {other:?}: expected ipv4, ipv6, evpn, a prefix (198.51.100.0/24) or longer-prefixes"
                ));
            }
        }
    }
    if q.longer_prefixes && q.prefix.is_none() {
        return Err("longer-prefixes needs a prefix".into());
    }
    if q.family.is_none()
        && let Some(p) = &q.prefix
    {
        q.family = Some(if p.contains(':') { "ipv6-unicast" } else { "ipv4-unicast" }.into());
    }
    Ok(q)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut detail = false;
    let request = match args.command {
        Command::Show { what: Show::Neighbors } => Request::Neighbors,
        Command::Show { what: Show::Fib } => Request::Fib,
        Command::Show { what: Show::Version } => Request::Version,
        Command::Show { what: Show::Routes { words, peer, community, detail: d } } => {
            detail = d;
            match route_query(&words, peer, community) {
                Ok(q) => Request::Routes(q),
                Err(e) => {
                    eprintln!("mdcctl: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Command::Clear { what: Clear::Bgp { peer, words } } => match soft_reset(&words) {
            Ok(soft) => Request::ClearBgp { peer, soft },
            Err(e) => {
                eprintln!("mdcctl: {e}");
                return ExitCode::FAILURE;
            }
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
        Ok(Response::Ok(Answer::Fib(v))) => {
            print!("{}", api::fib_table(&v));
            ExitCode::SUCCESS
        }
        Ok(Response::Ok(Answer::Version { version, commit })) => {
            println!("mdcd {version} (commit {commit})");
            ExitCode::SUCCESS
        }
        Ok(Response::Ok(Answer::Done(what))) => {
            println!("{what}");
            ExitCode::SUCCESS
        }
        Ok(Response::Ok(Answer::Routes(r))) => {
            print!("{}", if detail { api::routes_detail(&r) } else { api::routes_table(&r) });
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
