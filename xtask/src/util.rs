//! Small helpers for the recipes: running cargo, timing steps, the summary table.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// One step's outcome.
pub struct Step {
    name: String,
    result: Result<()>,
    took: Duration,
}

/// Runs a step, printing a header; failures are kept for the summary, not returned at once.
pub fn run_step(name: &str, f: impl FnOnce() -> Result<()>) -> Step {
    println!("\n==> {name}");
    let t = Instant::now();
    let result = f();
    if let Err(e) = &result {
        println!("xtask: step '{name}' failed: {e:#}");
    }
    Step {
        name: name.to_owned(),
        result,
        took: t.elapsed(),
    }
}

/// Prints the summary table and fails if any step failed.
pub fn summary(steps: &[Step], started: Instant) -> Result<()> {
    println!("\n{:<58} {:>8}  result", "step", "time");
    println!("{}", "-".repeat(78));
    let mut failed = 0;
    for s in steps {
        let r = match &s.result {
            Ok(()) => "ok".to_owned(),
            Err(e) => {
                failed += 1;
                format!(
                    "FAILED ({})",
                    e.to_string().lines().next().unwrap_or_default()
                )
            }
        };
        println!("{:<58} {:>7.1}s  {r}", s.name, s.took.as_secs_f64());
    }
    println!("{}", "-".repeat(78));
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if failed > 0 {
        bail!("{failed} step(s) failed");
    }
    println!("all {} steps passed", steps.len());
    Ok(())
}

/// Runs cargo with arguments, inheriting output.
pub fn cargo(args: &[&str]) -> Result<()> {
    run(cargo_command().args(args))
}

/// A cargo command with the environment of the user's shell: without the variables `cargo run`
/// set for xtask itself (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, …). Build scripts such as
/// ring's and cc's rerun when those change (`rerun-if-env-changed`), so a build from inside
/// `cargo xtask` would otherwise rebuild ring and everything above it after a plain
/// `cargo build` from the shell, and back.
pub fn cargo_command() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let Some(k) = key.to_str() else { continue };
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_MANIFEST_")
            || matches!(
                k,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
            )
        {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// The one workspace build of `cargo xtask test`, `demo` and `chaos`: every target (tests
/// included), so that with resolver 3 the dev-dependencies' features are unified exactly as in
/// `cargo test --workspace`. A binary-only build (`--bins`) resolves features without the
/// dev-dependencies, gets other hashes and rebuilds most of the workspace (13 min on 2 cores)
/// after `cargo xtask test`; this one is a no-op then.
pub const BUILD_WORKSPACE: &[&str] = &["build", "--workspace", "--all-targets", "--locked"];

/// Runs [`BUILD_WORKSPACE`].
pub fn build_workspace() -> Result<()> {
    cargo(BUILD_WORKSPACE)
}

/// Runs a command, inheriting output; non-zero exit is an error naming the command.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} exited with {status}");
    }
    Ok(())
}

/// Moves to the workspace root (xtask's parent directory).
pub fn cd_workspace_root() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?;
    std::env::set_current_dir(root).with_context(|| format!("cd {}", root.display()))
}

/// Benchmarks of the other crates, run by `cargo xtask bench` when their bench target exists.
pub fn extra_benches() -> Vec<(&'static str, &'static str, &'static str)> {
    let all = [
        (
            "recorder: CPU vs gst-launch, drops, preview fps, finish→commit",
            "booth-hardware",
            "recorder",
        ),
        (
            "receipt: layout + raster time, bytes sent",
            "booth-hardware",
            "receipt",
        ),
        (
            "sync-agent: throughput vs curl, drain 1000 appeals",
            "sync-agent",
            "sync",
        ),
        (
            "authority-sim: tus upload, complete hashing, create, answers page",
            "authority-sim",
            "upload",
        ),
        (
            "reception: visit registration and journal search with 50 000 visits",
            "reception",
            "journal",
        ),
    ];
    all.into_iter()
        .filter(|(_, pkg, bench)| {
            let dir = match *pkg {
                "booth-hardware" => "hardware",
                other => other,
            };
            Path::new(dir)
                .join("benches")
                .join(format!("{bench}.rs"))
                .exists()
        })
        .collect()
}
