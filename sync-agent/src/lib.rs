//! `sync-agent`: the booth's only link to the central authority service (DESIGN §7).
//!
//! It drains the outbox of sealed recordings exactly once (tus uploads that resume from the
//! server's offset, SHA-256 confirmation before the file is destroyed), keeps the answers,
//! directory, calendar and booth config fresh, sends ratings, reception visits and
//! heartbeats, answers the kiosk's lookups on a local Unix socket
//! ([`booth_core::localapi`]), and enrolls the booth (device key + CSR → client certificate).
//!
//! Architecture invariant: this is the only process of the booth that talks to the network,
//! and it does so through exactly one [`reqwest::Client`] ([`http::Central`]), built once with
//! the pinned CA, the device identity and timeouts.
//!
//! Dependencies that were not an obvious choice:
//! - `reqwest` 0.12 with `rustls-tls-manual-roots` (ring): no system roots at all, only the
//!   authority's CA is trusted; ring instead of aws-lc keeps builds fast on 2 cores.
//! - `rcgen` (ring): makes the device key and the PKCS#10 CSR in-process, no `openssl` binary
//!   on the appliance. `x509-parser` checks that the returned certificate carries our key.
//! - `backon`: jittered exponential backoff as an iterator of delays, which fits our per-job
//!   loops (each job sleeps the next delay, or the server's `Retry-After` when longer).
//! - `sd-notify`: `READY=1`, `WATCHDOG=1` and `STATUS=` without linking libsystemd.
//! - `rustix`: a safe `statvfs` for the heartbeat's disk figures (the workspace denies
//!   `unsafe`, so no direct libc call).

pub mod agent;
pub mod db;
pub mod enroll;
pub mod error;
pub mod heartbeat;
pub mod http;
pub mod localserver;
pub mod notify;
pub mod outbox;
pub mod pulls;
pub mod state;
pub mod status;
pub mod throttle;

pub use error::{SyncError, Transience};
