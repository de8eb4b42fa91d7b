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

#[cfg(test)]
mod tests {
    use super::FibOptions;
    use crate::config::tests::{errors, parse};

    #[test]
    fn fib_options_default_to_off_and_are_checked() {
        let base = "router-id = \"192.0.2.1\"\nlocal-as = 65001\n";
        assert_eq!(parse(base).unwrap().fib, FibOptions::default());
        assert!(!FibOptions::default().install);
        let c = parse(&format!(
            "{base}[fib]\ninstall = true\ntable = 100\nmetric = 30\ngraceful-restart = true\nrestart-time = 60\n"
        ))
        .unwrap();
        assert_eq!(
            c.fib,
            FibOptions { install: true, table: 100, metric: 30, graceful_restart: true, restart_time: 60 }
        );
        let e = errors(&format!(
            "{base}[fib]\ninstall = true\ntable = 255\nmetric = -1\nrestart-time = 0\nflush = true\n"
        ));
        assert_eq!(e.len(), 1, "unknown fields are reported first: {e:?}");
        assert!(e[0].starts_with("mdcd.toml:8:1:") && e[0].contains("flush"), "{e:?}");
        let e = errors(&format!("{base}[fib]\ninstall = true\ntable = 255\nmetric = -1\nrestart-time = 0\n"));
        assert_eq!(
            e,
            [
                "mdcd.toml:5:9: fib.table: 255 is the kernel's local table; use 254 (main) or a table of your own",
                "mdcd.toml:6:10: fib.metric: -1 is out of range: 0 to 4294967295",
                "mdcd.toml:7:16: fib.restart-time: 0 is out of range: 1 to 3600 seconds",
                "mdcd.toml:7:16: fib.restart-time: has no effect without graceful-restart = true",
            ]
        );
        let e = errors(&format!("{base}[fib]\ntable = 0\n"));
        assert_eq!(
            e,
            ["mdcd.toml:4:9: fib.table: 0 is out of range: a table is 1 to 4294967295 (254 is main)"]
        );
    }
}
