//! [`RawPeer`]: a BGP peer that sends exactly the bytes a test gives it,
//! for malformed-input tests. It runs the `rawpeer` binary of this crate
//! (`src/bin/rawpeer.rs`) inside a lab node with `ip netns exec`: the test
//! process itself cannot enter a namespace without `unsafe`.
//!
//! Integration tests find the binary with `env!("CARGO_BIN_EXE_rawpeer")`.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crate::peer::Neighbor;
use crate::sys::{stop_child, tail};
use crate::{Check, Error, Lab, Result, wait_until};

/// The raw peer process and what it reported.
pub struct RawPeer {
    name: String,
    log: std::path::PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl RawPeer {
    /// Start `binary` (the `rawpeer` program) in `node` as AS `local_as`
    /// with `router_id`, peering with `neighbor` (its address; `passive`
    /// makes it listen on port 179 instead of connecting). Returns at once.
    pub fn start_in(
        lab: &Lab,
        node: &str,
        binary: &Path,
        local_as: u32,
        router_id: &str,
        neighbor: &Neighbor,
    ) -> Result<RawPeer> {
        RawPeer::start_with_args(lab, node, binary, local_as, router_id, neighbor, &[])
    }

    /// [`RawPeer::start_in`] with more arguments for the binary, e.g.
    /// `--stop-reading` (never read the socket once established) or
    /// `--hold 30`.
    pub fn start_with_args(
        lab: &Lab,
        node: &str,
        binary: &Path,
        local_as: u32,
        router_id: &str,
        neighbor: &Neighbor,
        args: &[&str],
    ) -> Result<RawPeer> {
        let shared = lab.shared();
        let name = format!("rawpeer-{node}");
        let dir = shared.peer_dir(&name)?;
        let log = dir.join("rawpeer.err");
        shared.register_log(format!("{name} stderr"), log.clone());
        let bin = binary.display().to_string();
        let mut cmd = shared.command(node, &bin)?;
        cmd.args(["--local-as", &local_as.to_string(), "--router-id", router_id]);
        cmd.args(["--peer", &neighbor.address.to_string()]);
        if neighbor.passive {
            cmd.arg("--passive");
        }
        cmd.args(args);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::from(fs::File::create(&log)?));
        let mut child = cmd.spawn().map_err(|e| Error::msg(format!("{name}: cannot start {bin}: {e}")))?;
        let stdout = child.stdout.take().ok_or_else(|| Error::msg("rawpeer: no stdout"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        {
            let lines = Arc::clone(&lines);
            let transcript = dir.join("rawpeer.out");
            thread::spawn(move || {
                let mut file = fs::File::create(transcript).ok();
                for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                    if let Some(f) = file.as_mut() {
                        let _ = writeln!(f, "{line}");
                    }
                    lines.lock().unwrap_or_else(PoisonError::into_inner).push(line);
                }
            });
        }
        shared.register_log(format!("{name} transcript"), dir.join("rawpeer.out"));
        let stdin = child.stdin.take();
        Ok(RawPeer { name, log, child, stdin, lines })
    }

    /// Everything the raw peer reported so far, one line per event.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Messages of one type received so far (`"update"`, `"notification"`,
    /// ...), as raw bytes.
    pub fn received(&self, kind: &str) -> Vec<Vec<u8>> {
        let prefix = format!("recv {kind} ");
        self.lines().iter().filter_map(|l| l.strip_prefix(&prefix)).filter_map(|h| unhex(h).ok()).collect()
    }

    /// Send raw bytes (one or more whole messages, header included).
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let stdin = self.stdin.as_mut().ok_or_else(|| Error::msg("rawpeer: closed"))?;
        writeln!(stdin, "send {hex}")
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::msg(format!("rawpeer: {e}")))
    }

    /// Wait until a reported line satisfies `pred`; returns it.
    pub fn wait_line(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> Result<String> {
        wait_until(&format!("{}: {what}", self.name), timeout, Duration::from_millis(50), || {
            let lines = self.lines();
            Ok(match lines.iter().find(|l| pred(l)) {
                Some(l) => Check::Done(l.clone()),
                None => Check::Pending(lines.last().cloned().unwrap_or_else(|| "(nothing yet)".into())),
            })
        })
        .map_err(|e| {
            let lines = self.lines();
            let last = lines.get(lines.len().saturating_sub(10)..).unwrap_or_default().join("\n");
            Error::msg(format!("{e}\n----- last lines:\n{last}\n----- stderr:\n{}", tail(&self.log, 20)))
        })
    }

    /// Wait until the session is established.
    pub fn wait_established(&self, timeout: Duration) -> Result<()> {
        self.wait_line("session established", timeout, |l| l == "established").map(drop)
    }

    /// Close the session and stop the process.
    pub fn stop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = writeln!(s, "close");
        }
        stop_child(&mut self.child, Duration::from_secs(1));
    }

    /// PID of the process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()).ok_or_else(|| Error::msg("bad hex"))
        })
        .collect()
}

/// The `rawpeer` binary, for tests of other packages (`CARGO_BIN_EXE_rawpeer`
/// exists only in this package's own tests, and cargo builds a dependency's
/// binaries only for that package's tests): built once per test process
/// into the caller's target directory (a no-op when it is up to date).
pub fn rawpeer_binary() -> Result<PathBuf> {
    static BIN: std::sync::OnceLock<std::result::Result<PathBuf, String>> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // target/<profile>/deps/<test binary>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or("test binary is not in target/<profile>/deps")?
            .to_path_buf();
        let target_dir = profile_dir.parent().ok_or("no target directory")?;
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "--offline", "-p", "mdc-tests", "--bin", "rawpeer"])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().map_err(|e| format!("cannot run cargo to build rawpeer: {e}"))?;
        let bin = profile_dir.join("rawpeer");
        if status.success() && bin.exists() {
            Ok(bin)
        } else {
            Err(format!("building rawpeer failed ({status}); {} missing", bin.display()))
        }
    })
    .clone()
    .map_err(Error::msg)
}
