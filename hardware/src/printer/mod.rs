//! The receipt printer: the citizen's only proof of the appeal and key to the answer (003 p.24).
//!
//! - **Layout** ([`render`]): the receipt is laid out once and rasterised to a 1-bit image as
//!   wide as the paper (576 dots = 80 mm, or 384 = 58 mm, `[printer] width_dots`) with the
//!   DejaVu fonts shipped in `assets/fonts/`, so Kazakh letters (Ә Ғ Қ Ң Ө Ұ Ү Һ І) print on any
//!   printer whatever its code pages.
//! - **QR payload**: `VA1:<registration number>:<12-digit secret code>`, e.g.
//!   `VA1:ALM01-03-2026-000127:123456789018`; [`parse_receipt_qr`] is the kiosk's parser. The
//!   receipt also carries a Code128 barcode of the registration number alone.
//! - **Bytes** ([`commands`]): `ESC @`, the raster as `GS v 0` bands of 256 rows, `ESC d 4`,
//!   `GS V A 0` (full cut). The `escpos` crate builds the commands through a capture driver; its
//!   transport layer is not used: its network driver turns every error into a string (a refused
//!   connection and a timeout look alike) and wants an IP literal, and its USB/serial drivers pull
//!   in libusb/libudev. Our [`transport`] writes to a `TcpStream` (connect timeout 1.5 s), the
//!   Linux `usblp` node of the configured `vid:pid`, a serial device (`path[@baud]`, set to raw
//!   8N1 by `nix` termios on every open) or a file, with deadlines.
//! - **Status** ([`status`]): `DLE EOT 1/2/4` before the citizen records and before each print,
//!   decoded into [`PrinterStatus`] (citizen message key + technician detail).
//! - **Reprint** ([`reprint`]): every rendered receipt is kept (last `[printer] keep_last`), so a
//!   failed print can be printed again once the technician fixes the printer.
//! - **Virtual printer** ([`sim`]): a TCP 9100 server that renders the stream to PNG per cut
//!   and answers `DLE EOT`; binary `booth-printer-sim`.
//!
//! [`ReceiptPrinter`] is `Send` and owns no device between jobs (each job opens its own
//! connection), so the kiosk runs it on a worker thread and posts the result back to the UI.

pub mod commands;
pub mod receipt;
pub mod render;
pub mod reprint;
pub mod sim;
pub mod status;
pub mod transport;

use std::sync::Arc;
use std::time::Instant;

use booth_core::code::{RegistrationNumber, SecretCode};
use booth_core::config::PrinterSection;
use booth_core::domain::{AppealKind, Language};

pub use receipt::{ReceiptData, ReceiptQr, ReceiptQrError, parse_receipt_qr, qr_payload};
pub use render::{Raster, RenderError, render_receipt};
pub use reprint::{KeptReceipt, ReprintQueue};
pub use status::PrinterStatus;
pub use transport::Transport;

/// Why a receipt did not print. Every variant means the same to the citizen ("receipt printer
/// unavailable, your code is on screen: write it down", [`PrinterError::message_key`]); the
/// technician and the log get the exact cause from `Display`. No variant carries personal data.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    /// `[printer]` config is unusable.
    #[error("printer config {key}: {message}")]
    Config {
        /// Dotted config key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// `[printer] transport = "none"`.
    #[error("no receipt printer is configured (printer.transport = \"none\")")]
    NoPrinter,
    /// The printer could not be reached (refused, timed out, no such device).
    #[error(
        "cannot connect to the receipt printer at {target}: {source}; check its power and cable"
    )]
    Connect {
        /// Transport and address.
        target: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The connection broke during a job.
    #[error("receipt printer at {target} failed while {during}: {source}")]
    Io {
        /// Transport and address.
        target: String,
        /// What we were doing.
        during: &'static str,
        /// OS error.
        source: std::io::Error,
    },
    /// The printer answered but cannot print (paper out, cover open, offline).
    #[error("receipt printer cannot print: {}", .0.technician_detail())]
    NotReady(PrinterStatus),
    /// The receipt could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The ESC/POS command builder failed.
    #[error("building ESC/POS commands failed: {0}")]
    Commands(String),
    /// A reprint was asked for a receipt that is not kept.
    #[error("no kept receipt to reprint for {0}")]
    NotKept(String),
}

impl PrinterError {
    /// Translation key of the citizen-facing message.
    pub fn message_key(&self) -> &'static str {
        "printer-unavailable"
    }

    /// The printer status this error implies, for the status API and heartbeats.
    pub fn as_status(&self) -> PrinterStatus {
        match self {
            PrinterError::NotReady(s) => s.clone(),
            other => PrinterStatus::NotConnected {
                reason: other.to_string(),
            },
        }
    }
}

/// What a successful print did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintReport {
    /// Bytes sent to the printer.
    pub bytes_sent: usize,
    /// Raster height in dots (paper length at 203 dpi: dots / 8 mm); 0 for a reprint, which
    /// sends the kept job without re-rendering.
    pub height_dots: u32,
    /// Status read after printing (paper may be near its end).
    pub status_after: PrinterStatus,
    /// Milliseconds from render start to the printer's answer.
    pub elapsed_ms: u128,
}

/// Reads the status of the printer at `transport`: `DLE EOT 1`, `2`, `4` on one connection.
/// Never fails: an unreachable printer is [`PrinterStatus::NotConnected`]; a file transport is
/// always [`PrinterStatus::Ready`] (a file has no paper to run out of).
pub fn read_status(transport: &Transport) -> PrinterStatus {
    match transport.connect() {
        Ok(mut conn) => status_on(&mut conn),
        Err(e) => e.as_status(),
    }
}

fn status_on(conn: &mut transport::Connection) -> PrinterStatus {
    if !conn.can_read() {
        return PrinterStatus::Ready;
    }
    let mut bytes = [0u8; 3];
    for (slot, n) in bytes.iter_mut().zip([1u8, 2, 4]) {
        match conn.query_status(n) {
            Ok(b) => *slot = b,
            Err(e) => return e.as_status(),
        }
    }
    PrinterStatus::from_status_bytes(bytes[0], bytes[1], bytes[2])
}

/// The configured receipt printer with its reprint queue.
#[derive(Debug)]
pub struct ReceiptPrinter {
    transport: Transport,
    width_dots: u32,
    kept: ReprintQueue,
}

impl ReceiptPrinter {
    /// A printer from `[printer]` config; fails only on malformed config, never on a missing
    /// printer (that is a status, read with [`ReceiptPrinter::status`]).
    pub fn from_config(cfg: &PrinterSection) -> Result<ReceiptPrinter, PrinterError> {
        if !matches!(cfg.width_dots, 384 | 576) {
            return Err(PrinterError::Config {
                key: "printer.width_dots",
                message: "must be 576 or 384".into(),
            });
        }
        Ok(ReceiptPrinter {
            transport: Transport::from_config(cfg)?,
            width_dots: cfg.width_dots,
            kept: ReprintQueue::new(cfg.keep_last as usize),
        })
    }

    /// The transport in use.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Current printer status (see [`read_status`]); takes at most a few seconds.
    pub fn status(&self) -> PrinterStatus {
        read_status(&self.transport)
    }

    /// Renders `receipt`, keeps it for reprint, checks the printer's status, sends the job and
    /// reads the status again: paper out or cover opened by then counts as not printed. (A real
    /// printer answers `DLE EOT` while still printing, so a jam later in the job is not seen
    /// here; the next pre-recording check reports it.) On any error the receipt stays in the
    /// reprint queue, marked not printed.
    pub fn print(&mut self, receipt: &ReceiptData) -> Result<PrintReport, PrinterError> {
        let started = Instant::now();
        let raster = render_receipt(receipt, self.width_dots)?;
        let job = Arc::new(
            commands::receipt_job(&raster).map_err(|e| PrinterError::Commands(e.to_string()))?,
        );
        self.kept.keep(KeptReceipt {
            registration_number: receipt.registration_number.clone(),
            job: job.clone(),
            printed: false,
        });
        self.send_job(&receipt.registration_number, &job, raster.height(), started)
    }

    /// Prints a kept receipt again (kiosk "print again", service-mode reprint).
    pub fn reprint(&mut self, regno: &RegistrationNumber) -> Result<PrintReport, PrinterError> {
        let kept = self
            .kept
            .get(regno)
            .ok_or_else(|| PrinterError::NotKept(regno.to_string()))?;
        let job = kept.job.clone();
        self.send_job(regno, &job, 0, Instant::now())
    }

    /// Prints the newest kept receipt again (service mode "reprint last").
    pub fn reprint_last(&mut self) -> Result<PrintReport, PrinterError> {
        let regno = self
            .kept
            .last()
            .map(|k| k.registration_number.clone())
            .ok_or_else(|| {
                PrinterError::NotKept("any appeal (nothing printed since start)".into())
            })?;
        self.reprint(&regno)
    }

    /// Prints [`sample_receipt`] in `lang` (service-mode printer test). Not kept for reprint.
    pub fn print_test(&mut self, lang: Language) -> Result<PrintReport, PrinterError> {
        let started = Instant::now();
        let raster = render_receipt(&sample_receipt(lang)?, self.width_dots)?;
        let job =
            commands::receipt_job(&raster).map_err(|e| PrinterError::Commands(e.to_string()))?;
        let status_after = self.try_send(&job)?;
        if !status_after.can_print() {
            return Err(PrinterError::NotReady(status_after));
        }
        Ok(PrintReport {
            bytes_sent: job.len(),
            height_dots: raster.height(),
            status_after,
            elapsed_ms: started.elapsed().as_millis(),
        })
    }

    /// The reprint queue (newest first via [`ReprintQueue::list`]).
    pub fn kept(&self) -> &ReprintQueue {
        &self.kept
    }

    fn send_job(
        &mut self,
        regno: &RegistrationNumber,
        job: &[u8],
        height_dots: u32,
        started: Instant,
    ) -> Result<PrintReport, PrinterError> {
        let result = self.try_send(job);
        let printed = result.as_ref().is_ok_and(|s| s.can_print());
        self.kept.mark(regno, printed);
        match result {
            Ok(status_after) => {
                tracing::info!(registration = %regno, bytes = job.len(), status = status_after.as_str(), "receipt printed");
                if !status_after.can_print() {
                    // Paper ran out or the cover opened during the job: the end of the receipt
                    // may be missing, so it counts as not printed.
                    return Err(PrinterError::NotReady(status_after));
                }
                Ok(PrintReport {
                    bytes_sent: job.len(),
                    height_dots,
                    status_after,
                    elapsed_ms: started.elapsed().as_millis(),
                })
            }
            Err(e) => {
                tracing::warn!(registration = %regno, error = %e, "receipt not printed; kept for reprint");
                Err(e)
            }
        }
    }

    fn try_send(&self, job: &[u8]) -> Result<PrinterStatus, PrinterError> {
        let mut conn = self.transport.connect()?;
        let before = status_on(&mut conn);
        if !before.can_print() {
            return Err(PrinterError::NotReady(before));
        }
        conn.send(job, transport::WRITE_TIMEOUT)?;
        Ok(status_on(&mut conn))
    }
}

/// A sample receipt for test prints: fixed registration number `TEST-00-<year>-000001`, the
/// all-zero code (valid check digit, never issued to a citizen: real codes are random) and a
/// "TEST PRINT" addressee containing every Kazakh-specific letter.
pub fn sample_receipt(lang: Language) -> Result<ReceiptData, PrinterError> {
    use chrono::Datelike;
    let now = chrono::Local::now().naive_local();
    let bad = |what: &str| PrinterError::Commands(format!("sample receipt: {what}"));
    let year = u16::try_from(now.year()).map_err(|_| bad("year"))?;
    Ok(ReceiptData {
        branch_name: "Demo branch / Демо бөлімше".into(),
        booth_id: "DEV-BOOTH".into(),
        registration_number: RegistrationNumber::new("TEST", 0, year, 1)
            .map_err(|_| bad("registration number"))?,
        recorded_at: now,
        addressee: render::sample_addressee(lang).into(),
        kind: AppealKind::Statement,
        secret_code: "000000000000"
            .parse::<SecretCode>()
            .map_err(|_| bad("code"))?,
        expected_answer_date: now.date() + chrono::Days::new(21),
        language: lang,
    })
}

/// `booth-diag print-test`: prints a Kazakh sample receipt with the configured printer and
/// reports what was sent and the status afterwards.
pub fn print_test(cfg: &PrinterSection) -> Result<PrintReport, PrinterError> {
    ReceiptPrinter::from_config(cfg)?.print_test(Language::Kk)
}

/// `booth-diag printer-status` / the kiosk's pre-recording check: the configured printer's status.
pub fn printer_status(cfg: &PrinterSection) -> Result<PrinterStatus, PrinterError> {
    Ok(read_status(&Transport::from_config(cfg)?))
}
