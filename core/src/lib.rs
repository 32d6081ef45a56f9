//! booth-core: the video-appeal booth's domain types, input validation, secret codes and
//! registration numbers, working-day calendar, configuration and the shared SQLite store.
//!
//! Architecture invariant: this crate depends on no UI, media or HTTP crate (no slint,
//! gstreamer, reqwest, axum). Everything here is plain data and SQLite, so the kiosk, the
//! sync agent, the reception console and the authority simulator can all share it.
//!
//! Dependencies that were not an obvious choice:
//! - `argon2` (RustCrypto): the lookup id is Argon2id of the secret code; the pure-Rust crate
//!   builds everywhere without a C toolchain and is the reference Rust implementation.
//! - `chrono`: dates for the working-day calendar and expected answer dates; `serde` support
//!   and `NaiveDate` arithmetic are all the calendar needs.
//! - `rusqlite` with `bundled`: the booth's SQLite is the one we test with, whatever the OS
//!   image ships (WAL and `synchronous=FULL` behaviour must not change under our feet).

pub mod calendar;
pub mod clock;
pub mod code;
pub mod config;
pub mod domain;
pub mod ident;
pub mod intake;
pub mod localapi;
pub mod settings;
pub mod store;
pub mod testing;
pub mod validate;
pub mod wire;

pub use calendar::WorkingCalendar;
pub use clock::{Clock, ManualClock, SystemClock};
pub use code::{LookupId, RegistrationNumber, SecretCode};
pub use domain::*;
pub use ident::{Bin, Iin};
pub use validate::{Email, LegalEntityName, PersonName, PostalAddress};
