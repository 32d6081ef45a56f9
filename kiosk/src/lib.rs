//! The kiosk: the citizen's full-screen touch app of the video-appeal booth.
//!
//! - [`flow`]: the journey as a plain state machine (no Slint types), tested without a screen.
//! - [`controller`]: carries out the flow's effects on worker threads through [`ports`].
//! - [`view`]: renders the flow's state into the Slint globals; [`ui`] is the compiled `.slint`.
//! - [`headless`]: drives the real flow and real Slint rendering from a script, writing PNGs.
//! - [`i18n`]: every text in kk, ru and en.
//!
//! Dependencies that were not an obvious choice:
//! - `slint` (software renderer + winit): one toolkit for the booth (under `cage`) and for
//!   headless rendering into a pixel buffer without any display, so screenshots and tests see
//!   exactly what a citizen sees.
//! - `i-slint-backend-testing`: Slint's own element search by accessible label; the headless
//!   runner and UI tests press buttons the way assistive technology would.
//! - `rqrr`: pure-Rust QR decoding of camera frames (no zbar/OpenCV on the booth image).
//! - `qrcode`: draws a receipt's QR code into simulated camera frames.

pub mod adapters;
pub mod controller;
pub mod directory;
pub mod flow;
pub mod headless;
pub mod i18n;
pub mod liveness;
pub mod ports;
pub mod qr;
pub mod real;
pub mod sim;
pub mod ui;
pub mod view;
