//! mdcd's log lines as an operator's tools see them (issue 14, item 7):
//! `--log-format json` writes one JSON object per line, and text written
//! to a file (not a terminal) carries no ANSI colour codes. Runs mdcd as
//! the current user on a high port, with no peer: no root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A config with no peer, listening on `port`, its API socket in `dir`.
fn write_config(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let config = dir.join("mdcd.toml");
    std::fs::write(
        &config,
        format!(
            "router-id = \"192.0.2.1\"\nlocal-as = 65001\nlisten-port = {port}\n[api]\nsocket = \"{}\"\n",
            dir.join("mdcd.sock").display()
        ),
    )
    .unwrap();
    config
}

/// Start mdcd with `args`, wait until it logged that it started, stop it,
/// and return what it wrote to stderr.
fn run_mdcd(dir: &std::path::Path, port: u16, args: &[&str]) -> String {
    let config = write_config(dir, port);
    let log = dir.join(format!("mdcd-{port}.log"));
    let err = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdcd"))
        .arg("--config")
        .arg(&config)
        .args(args)
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let mut text = String::new();
        std::fs::File::open(&log).unwrap().read_to_string(&mut text).unwrap();
        if text.contains("mdcd started") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("mdcd started"), "mdcd did not start: {text}");
    text
}

#[test]
fn json_logs_are_one_object_per_line_and_text_to_a_file_has_no_colour() {
    let dir = std::env::temp_dir().join(format!("mdcd-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = 20000 + u16::try_from(std::process::id() % 20000).unwrap();

    let json = run_mdcd(&dir, port, &["--log-format", "json"]);
    for line in json.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"]["message"].is_string(), "{line}");
    }
    assert!(json.lines().any(|l| l.contains("\"router_id\":\"192.0.2.1\"")), "{json}");

    let text = run_mdcd(&dir, port + 1, &[]);
    assert!(!text.contains('\u{1b}'), "colour codes in a log file: {text:?}");
    assert!(text.contains("INFO") && text.contains("mdcd started"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A port already taken: the error names the address and port.
#[test]
fn a_bind_failure_names_the_address_and_port() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("mdcd-bind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = write_config(&dir, port);
    let out = Command::new(env!("CARGO_BIN_EXE_mdcd")).arg("--config").arg(&config).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!(":{port} for BGP")) && err.contains("cannot listen on"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    drop(taken);
}
