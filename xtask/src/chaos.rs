//! `cargo xtask chaos [--appeals N] [--seed S]`: the long form of the chaos run (issue 11).
//!
//! The bounded form (5 appeals) is an ordinary test, `booth-e2e`'s `tests/chaos.rs`, and runs
//! in `cargo xtask test`. This recipe builds the booth's binaries and runs the same test with
//! more appeals: random SIGKILL of the kiosk while sealing and of the sync agent while
//! uploading, network faults from authority-sim, a full outbox disk (when root); then checks
//! that every appeal with a receipt is at the central service exactly once with a matching
//! SHA-256, and prints the counts.

use anyhow::Result;
use clap::Args;

use crate::util::{build_workspace, cargo_command, run};

/// Options of `cargo xtask chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Appeals recorded during the run.
    #[arg(long, default_value_t = 20)]
    pub appeals: u32,
    /// Seed of the random choices (printed by every run), to replay one.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Builds the workspace as `cargo xtask test` does and runs the chaos test with `args.appeals` appeals.
pub fn run_chaos(args: &ChaosArgs) -> Result<()> {
    // The build and feature set of `cargo xtask test`: nothing rebuilds after it.
    build_workspace()?;
    let mut cmd = cargo_command();
    cmd.args([
        "test",
        "--workspace",
        "--locked",
        "--test",
        "chaos",
        "--",
        "--nocapture",
    ])
    .env("CHAOS_APPEALS", args.appeals.to_string());
    if let Some(s) = args.seed {
        cmd.env("CHAOS_SEED", s.to_string());
    }
    run(&mut cmd)
}
