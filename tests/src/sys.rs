//! Process and file helpers: run a command, find and stop processes by PID
//! (never by name), tail a log.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Run `argv` to completion; stdout on success, an error naming the command
/// and its stderr otherwise.
pub(crate) fn run(argv: &[&str]) -> Result<String> {
    let (prog, args) = argv.split_first().ok_or_else(|| Error::msg("empty command"))?;
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::msg(format!("cannot run `{}`: {e}", argv.join(" "))))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(Error::msg(format!(
            "`{}` failed ({}): {}{}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            if stdout.trim().is_empty() { String::new() } else { format!(" / stdout: {}", stdout.trim()) }
        )))
    }
}

/// Whether `pid` is a running (not zombie) process.
pub(crate) fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may hold spaces.
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// SIGTERM, then SIGKILL after `grace`; returns when the process is gone
/// (or a zombie: the caller reaps its own children).
pub(crate) fn kill_pid(pid: u32, grace: Duration) {
    if pid <= 1 || !alive(pid) {
        return;
    }
    signal(pid, "-TERM");
    let start = Instant::now();
    while alive(pid) && start.elapsed() < grace {
        sleep(Duration::from_millis(20));
    }
    if alive(pid) {
        signal(pid, "-KILL");
        let start = Instant::now();
        while alive(pid) && start.elapsed() < Duration::from_secs(2) {
            sleep(Duration::from_millis(10));
        }
    }
}

/// Stop a child we started: SIGTERM, SIGKILL after `grace`, and reap it.
pub(crate) fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(None) = child.try_wait() {
        kill_pid(child.id(), grace);
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// PIDs of the processes whose network namespace is the one bound at
/// `netns_path` (e.g. `/run/netns/NAME`).
pub(crate) fn pids_in_netns(netns_path: &Path) -> Vec<u32> {
    let Ok(target) = fs::metadata(netns_path) else { return Vec::new() };
    let mut pids = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else { return pids };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if let Ok(m) = fs::metadata(entry.path().join("ns/net"))
            && m.ino() == target.ino()
            && m.dev() == target.dev()
        {
            pids.push(pid);
        }
    }
    pids
}

/// The last `lines` lines of a text file ("" if it cannot be read).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let Ok(bytes) = fs::read(path) else { return String::new() };
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all.get(all.len().saturating_sub(lines)..).unwrap_or_default().join("\n")
}

/// Whether an executable named `name` is on PATH (or is an absolute path).
pub(crate) fn have_binary(name: &str) -> bool {
    if name.starts_with('/') {
        return Path::new(name).is_file();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// Wait until `path` exists (a socket or pid file a daemon creates).
pub(crate) fn wait_for_path(path: &Path, timeout: Duration, child: &mut Child, what: &str) -> Result<()> {
    let start = Instant::now();
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::msg(format!("{what} exited ({status}) before creating {}", path.display())));
        }
        if start.elapsed() > timeout {
            return Err(Error::msg(format!("{what} did not create {} within {timeout:?}", path.display())));
        }
        sleep(Duration::from_millis(20));
    }
    Ok(())
}
