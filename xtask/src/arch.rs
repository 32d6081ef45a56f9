//! Checks the dependency invariants of docs/ARCHITECTURE.md with `cargo tree`.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// (crate, crates it must not depend on, why)
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "booth-core",
        &["slint", "gstreamer", "reqwest", "axum", "hyper"],
        "booth-core depends on no UI, media or HTTP crate",
    ),
    (
        "booth-hardware",
        &["slint", "reqwest", "axum"],
        "only kiosk depends on slint; only sync-agent talks to the central service",
    ),
    (
        "reception",
        &["slint", "gstreamer", "reqwest"],
        "reception is a LAN web console: no UI toolkit, media or central client",
    ),
    ("authority-sim", &["slint"], "only kiosk depends on slint"),
    (
        "sync-agent",
        &["slint", "gstreamer"],
        "only kiosk depends on slint; only hardware touches devices",
    ),
];

fn deps_of(pkg: &str) -> Result<Vec<String>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree", "-p", pkg, "-e", "normal", "--prefix", "none", "-f", "{p}",
        ])
        .output()
        .with_context(|| format!("cargo tree -p {pkg}"))?;
    if !out.status.success() {
        bail!(
            "cargo tree -p {pkg} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}

/// Fails naming the rule and the offending crate.
pub fn check() -> Result<()> {
    let mut broken = Vec::new();
    for (pkg, forbidden, why) in RULES {
        let deps = deps_of(pkg)?;
        for f in *forbidden {
            if deps.iter().any(|d| d == f) {
                broken.push(format!("{pkg} depends on {f}: {why}"));
            }
        }
        println!(
            "  {pkg}: {} crates in its tree, none of {:?}",
            deps.len(),
            forbidden
        );
    }
    if !broken.is_empty() {
        bail!("architecture invariants broken:\n  {}", broken.join("\n  "));
    }
    Ok(())
}
