//! `reception`: the branch's LAN web console where receptionists register visitors in the
//! journal "Registration of citizens who filed a video appeal" (003 p.22) and hand out
//! one-time booth tickets that the kiosk redeems (`booth_core::store::reception`).
//!
//! Server-rendered HTML that works without JavaScript; kk/ru/en; sessions with CSRF tokens;
//! Argon2id passwords with lockout; an audit log of who registered, viewed and exported what.
//! Logs carry ids only, never names, IINs, e-mails or tickets.
//!
//! Dependencies that were not an obvious choice:
//! - No template engine: pages are `format!` strings with one escaping helper
//!   ([`html::esc`]); a dozen small pages did not justify a proc-macro templating crate on a
//!   2-core build machine, and the XSS test checks every field.
//! - `hyper` + `hyper-util` directly (besides axum's router) so one accept loop serves plain
//!   HTTP and TLS (`tokio-rustls` with ring) the same way, with graceful shutdown.
//! - Tests: `fantoccini` drives Debian's `chromedriver` over W3C WebDriver (no browser
//!   download, rustls with ring like the rest of the booth); `reqwest` for the plain-HTTP
//!   security tests; `rcgen` makes the TLS test's self-signed certificate.

pub mod html;
pub mod i18n;
pub mod routes;
pub mod server;
pub mod session;
pub mod state;

pub use server::{ServeError, bind, build_state, router, serve, tls_acceptor};
pub use state::AppState;
