//! `cargo xtask <command>`: the project's recipes, in Rust, readable top to bottom.
//!
//! - `test`: install the Debian packages, build, run every test of the workspace and the
//!   project checks (architecture invariants, protocol spec, systemd units), print a summary.
//! - `demo`: install, build, and run the whole booth with simulated hardware.
//! - `bench`: run the benchmarks and print their figures (never asserts times).
//! - `install`: only install the Debian packages.
//! - `chaos`: the long chaos run (kills, network faults, a full disk), with its counts.
//! - `image`, `image-test`: the booth's disk image and its boot test under QEMU.
//! - `check-readme`: every `cargo xtask …` command README.md shows parses and runs in a cheap
//!   form (also a step of `test`).

mod appliance;
mod arch;
mod chaos;
mod demo;
mod packages;
mod readme;
mod util;

use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};

use util::{Step, cargo, run_step};

/// Recipes of the video-appeal booth.
#[derive(Debug, Parser)]
#[command(about = "Build, demo, test and bench recipes of the video-appeal booth")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Install packages, build and run every test; exits non-zero on any failure.
    Test,
    /// Install packages, build and run the booth with simulated hardware.
    Demo(demo::DemoArgs),
    /// Run the benchmarks and print their figures.
    Bench,
    /// Install the Debian packages the project needs.
    Install,
    /// Check the architecture invariants of docs/ARCHITECTURE.md with `cargo tree`.
    CheckArch,
    /// Build the booth's bootable UEFI disk image (mkosi in a tools chroot) and its bmap.
    Image(appliance::ImageArgs),
    /// Boot an image tree under QEMU (software emulation) with a boot probe and check it.
    ImageTest(appliance::ImageTestArgs),
    /// Check the protocol spec against a running authority-sim with schemathesis.
    SpecCheck,
    /// Chaos run: kill kiosk and agent, inject network faults and a full disk, check every
    /// appeal with a receipt is at the central service exactly once; prints the counts.
    Chaos(chaos::ChaosArgs),
    /// Check that every `cargo xtask …` command README.md shows parses, and run each in a cheap
    /// form (`demo --seconds 20`, the image packages' install dry run); a step of `test`.
    CheckReadme,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    util::cd_workspace_root()?;
    match cli.command {
        Cmd::Install => packages::ensure(),
        Cmd::CheckArch => arch::check(),
        Cmd::Test => test(),
        Cmd::Demo(args) => {
            packages::ensure()?;
            demo::run(args)
        }
        Cmd::Bench => bench(),
        Cmd::Image(a) => {
            packages::ensure_image()?;
            appliance::image(&a)
        }
        Cmd::ImageTest(a) => {
            packages::ensure_image()?;
            appliance::image_test(&a)
        }
        Cmd::SpecCheck => spec_check(),
        Cmd::Chaos(a) => {
            packages::ensure()?;
            chaos::run_chaos(&a)
        }
        Cmd::CheckReadme => {
            packages::ensure()?;
            // As in `test`, where this check runs after the build: the demo must not rebuild.
            util::build_workspace()?;
            readme::check()
        }
    }
}

fn test() -> Result<()> {
    let started = Instant::now();
    packages::ensure()?;
    let mut steps: Vec<Step> = Vec::new();
    steps.push(run_step("format check", || {
        cargo(&["fmt", "--all", "--", "--check"])
    }));
    steps.push(run_step("architecture invariants", arch::check));
    // The same build as `demo` and `chaos`: they rebuild nothing after it.
    steps.push(run_step("build (tests included)", util::build_workspace));
    steps.push(run_step("cargo test --workspace", || {
        cargo(&["test", "--workspace", "--no-fail-fast", "--locked"])
    }));
    steps.push(run_step(
        "README.md's commands: parse, demo --seconds 20 (no rebuild, VNC), image packages",
        readme::check,
    ));
    steps.push(run_step(
        "systemd units: verify, security budgets, sysusers/tmpfiles, lockdown",
        appliance::check_units,
    ));
    steps.push(run_step(
        "kiosk under headless cage: READY/WATCHDOG, screenshot, hung UI",
        appliance::cage_kiosk_check,
    ));
    steps.push(run_step(
        "protocol spec vs authority-sim (schemathesis)",
        spec_check,
    ));
    util::summary(&steps, started)
}

/// Installs schemathesis into a private virtualenv (once) and runs authority-sim's spec check.
fn spec_check() -> Result<()> {
    let venv = std::path::Path::new("target/schemathesis-venv");
    let st = venv.join("bin/schemathesis");
    if !st.exists() {
        util::run(
            std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(venv),
        )?;
        util::run(std::process::Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            // Pinned: the version this spec and its config were checked with.
            "schemathesis==4.32.5",
        ]))?;
    }
    let path = format!(
        "{}:{}",
        std::fs::canonicalize(venv.join("bin"))?.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    util::run(
        util::cargo_command()
            .args([
                "run",
                "-q",
                "-p",
                "authority-sim",
                "--example",
                "spec_check",
            ])
            .env("PATH", path),
    )
}

fn bench() -> Result<()> {
    let started = Instant::now();
    packages::ensure()?;
    let mut steps: Vec<Step> = Vec::new();
    steps.push(run_step(
        "store: commit latency and lookup with 1 000 000 appeals",
        || cargo(&["bench", "-p", "booth-core", "--bench", "store"]),
    ));
    steps.push(run_step(
        "kiosk: cold start, frame time, preview fps, peak RSS",
        || cargo(&["run", "--release", "-p", "kiosk", "--", "bench"]),
    ));
    for (name, pkg, bench) in util::extra_benches() {
        steps.push(run_step(name, || {
            cargo(&["bench", "-p", pkg, "--bench", bench])
        }));
    }
    util::summary(&steps, started)
}
