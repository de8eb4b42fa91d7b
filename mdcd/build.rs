//! Records the git commit mdcd is built from (`MDC_GIT_COMMIT`), for
//! `mdcd --version` and the API's `version`: tools that compare runs need
//! to know which code ran. A packager without a checkout sets
//! `MDC_GIT_COMMIT` itself; without either it is "unknown".

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=MDC_GIT_COMMIT");
    let commit = match std::env::var("MDC_GIT_COMMIT") {
        Ok(c) if !c.is_empty() => c,
        _ => match git(&["rev-parse", "--short=12", "HEAD"]) {
            Some(c) if !c.is_empty() => {
                let dirty = git(&["--no-optional-locks", "status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.is_empty());
                if dirty { format!("{c}-dirty") } else { c }
            }
            _ => "unknown".to_string(),
        },
    };
    // (`status` without optional locks: it must not rewrite the index it
    // watches, or every build would make the next one run this again.)
    // Build again when HEAD moves, the index changes, or a source file of
    // the binary does (dirty or not). In a linked worktree HEAD and the
    // index are its own, the refs are the repository's (a path that does
    // not exist would make cargo run this on every build).
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ) {
        let (dir, common) = (Path::new(&dir), Path::new(&common));
        for f in [dir.join("HEAD"), dir.join("index"), common.join("packed-refs")] {
            if f.exists() {
                println!("cargo:rerun-if-changed={}", f.display());
            }
        }
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]).map(|r| common.join(r)).filter(|r| r.exists()) {
            println!("cargo:rerun-if-changed={}", r.display());
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for src in ["mdcd/src", "bgp/src", "evpn/src", "fib/src"] {
            println!("cargo:rerun-if-changed={}", root.join(src).display());
        }
    }
    println!("cargo:rustc-env=MDC_GIT_COMMIT={commit}");
}
