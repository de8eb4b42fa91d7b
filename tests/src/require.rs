//! The skip/fail rule for interop tests: without root or a peer's binaries,
//! a test prints `skipped: <reason>` and passes, except under `CI=true`,
//! where it fails.

use std::fs;

use crate::sys::have_binary;

/// Whether the tests run in CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Binaries each peer kind needs (`ip`, `sysctl` and `kill` are always needed).
fn binaries(peer: &str) -> Option<&'static [&'static str]> {
    Some(match peer {
        "frr" => &["/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"],
        "bird" => &["bird", "birdc"],
        "gobgp" => &["gobgpd", "gobgp"],
        "exabgp" => &["exabgp"],
        "tcpdump" => &["tcpdump"],
        "lab" => &[],
        _ => return None,
    })
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Why the interop environment is not usable for `peers` (`"frr"`, `"bird"`,
/// `"gobgp"`, `"exabgp"`, `"tcpdump"`, or `"lab"` for namespaces only), or
/// `None` if it is.
pub fn missing(peers: &[&str]) -> Option<String> {
    if effective_uid() != Some(0) {
        return Some("not root (network namespaces need CAP_SYS_ADMIN)".to_string());
    }
    let mut missing = Vec::new();
    for b in ["ip", "sysctl", "kill"] {
        if !have_binary(b) {
            missing.push(b.to_string());
        }
    }
    for p in peers {
        match binaries(p) {
            Some(bins) => {
                missing.extend(bins.iter().filter(|b| !have_binary(b)).map(|b| format!("{b} ({p})")))
            }
            None => missing.push(format!("unknown peer kind {p:?}")),
        }
    }
    (!missing.is_empty()).then(|| format!("missing {}", missing.join(", ")))
}

/// `true` if the test can run. Otherwise prints `skipped: <reason>` and
/// returns `false`, or, under `CI=true`, panics with the reason.
///
/// ```no_run
/// if !mdc_tests::require_interop(&["frr", "bird"]) {
///     return;
/// }
/// ```
pub fn require_interop(peers: &[&str]) -> bool {
    match missing(peers) {
        None => true,
        Some(reason) if in_ci() => panic!("interop test cannot run under CI=true: {reason}"),
        Some(reason) => {
            println!("skipped: {reason}");
            eprintln!("skipped: {reason}");
            false
        }
    }
}
