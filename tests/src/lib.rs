//! booth-e2e: cross-process tests that start the booth's real binaries (authority-sim,
//! sync-agent, reception, the virtual printer and the headless kiosk) on 127.0.0.1, and the
//! same stack for `cargo xtask demo`.
//!
//! This crate depends only on booth-core and pure-Rust crates, so `xtask` can use it before
//! the Debian packages are installed.

pub mod process;
pub mod stack;
pub mod web;
