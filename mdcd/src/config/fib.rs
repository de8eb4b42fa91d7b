//! `[fib]`: whether the best paths are installed in the kernel, in which
//! table, with which metric, and whether they stay through a restart of
//! mdcd (graceful restart).

use serde::Deserialize;
use toml::Spanned;

use super::errors::{Errors, number_in};

/// `[fib]`: installing the best paths in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibOptions {
    pub install: bool,
    pub table: u32,
    pub metric: u32,
    /// Leave the routes in the kernel when mdcd stops (or dies), and adopt
    /// them at the next start.
    pub graceful_restart: bool,
    /// At a graceful start, how long routes of the previous run are kept
    /// at most while BGP converges (seconds).
    pub restart_time: u16,
}

impl Default for FibOptions {
    fn default() -> FibOptions {
        FibOptions { install: false, table: 254, metric: 20, graceful_restart: false, restart_time: 120 }
    }
}

/// `[fib]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawFib {
    #[serde(default)]
    install: bool,
    table: Option<Spanned<i64>>,
    metric: Option<Spanned<i64>>,
    #[serde(default)]
    graceful_restart: bool,
    restart_time: Option<Spanned<i64>>,
}

/// `[fib]`, its defaults without one.
pub(super) fn parse(errors: &mut Errors<'_>, raw: Option<&RawFib>) -> Option<FibOptions> {
    let d = FibOptions::default();
    let Some(raw) = raw else { return Some(d) };
    let table = match &raw.table {
        None => Some(d.table),
        Some(v) if matches!(*v.get_ref(), 253 | 255) => {
            errors.at(
                Some(v.span()),
                "fib.table",
                format!(
                    "{} is the kernel's {} table; use 254 (main) or a table of your own",
                    v.get_ref(),
                    if *v.get_ref() == 253 { "default" } else { "local" }
                ),
            );
            None
        }
        Some(v) => number_in::<u32>(
            errors,
            v,
            "fib.table",
            1..=4_294_967_295,
            "a table is 1 to 4294967295 (254 is main)",
        ),
    };
    let metric = match &raw.metric {
        None => Some(d.metric),
        Some(v) => errors.u32_value(v, "fib.metric"),
    };
    let restart_time = match &raw.restart_time {
        None => Some(d.restart_time),
        Some(v) => number_in::<u16>(errors, v, "fib.restart-time", 1..=3600, "1 to 3600 seconds"),
    };
    if let Some(v) = &raw.restart_time
        && !raw.graceful_restart
    {
        errors.at(Some(v.span()), "fib.restart-time", "has no effect without graceful-restart = true");
    }
    Some(FibOptions {
        install: raw.install,
        table: table?,
        metric: metric?,
        graceful_restart: raw.graceful_restart,
        restart_time: restart_time?,
    })
}
