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
//! - **Status** ([`status`]): `DLE EOT 1/2/3/4` before the citizen records and before each
//!   print, decoded into [`PrinterStatus`] (citizen message key + technician detail in words).
//! - **Confirmation** ([`exchange`]): a receipt counts as printed only when the printer itself
//!   says so after the job: the Epson process ID response (`GS ( H`, sent after printing and the
//!   cut) or, on printers without it, the answer to `GS r 1`. Pending bytes are drained before
//!   every query and answers are matched to requests, so status bytes an Epson printer sends for
//!   `DLE EOT` patterns inside image data never shift the status read afterwards.
//! - **Reprint** ([`reprint`]): every rendered receipt is kept (last `[printer] keep_last`), so a
//!   failed print can be printed again once the technician fixes the printer.
//! - **Virtual printer** ([`sim`]): a TCP 9100 server that renders the stream (rasters, text
//!   with code pages, QR, barcodes, column images) to one PNG per cut, answers `DLE EOT`, `GS r
//!   1` and `GS ( H`, and can answer `DLE EOT` inside image data like an Epson TM; binary
//!   `booth-printer-sim`.
//!
//! [`ReceiptPrinter`] is `Send` and owns no device between jobs (each job opens its own
//! connection), so the kiosk runs it on a worker thread and posts the result back to the UI.

pub mod commands;
pub mod exchange;
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

pub use exchange::{Completion, Confirmation};
pub use receipt::{
    ReceiptContacts, ReceiptData, ReceiptQr, ReceiptQrError, parse_receipt_qr, qr_payload,
};
pub use render::{Raster, RenderError, render_receipt, render_receipt_with};
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
        "cannot reach the receipt printer on {target}: {}; check its power, its cable and \
         printer.address",
        transport::plain_io(.source)
    )]
    Connect {
        /// Transport and address.
        target: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The printer is reachable but does not answer status requests.
    #[error(
        "the receipt printer on {target} does not answer (no reply to a status request within \
         {} ms): check its cable and power, that it is switched on, and that it is an ESC/POS \
         printer",
        .waited.as_millis()
    )]
    NoAnswer {
        /// Transport and address.
        target: String,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// The printer answers status requests but neither `GS ( H` nor `GS r 1`, so no receipt
    /// could ever be confirmed printed.
    #[error(
        "the receipt printer on {target} answers status requests but cannot confirm printing \
         (neither GS ( H nor GS r 1 is answered): use an Epson TM-compatible printer"
    )]
    NoConfirmation {
        /// Transport and address.
        target: String,
    },
    /// The printer took the job, still reports itself ready, but never confirmed it: the
    /// receipt may be incomplete or missing.
    #[error(
        "the receipt printer on {target} did not confirm the receipt within {} s although it \
         reports ready: the receipt may be missing or cut short; it is kept for reprint",
        .waited.as_secs()
    )]
    Unconfirmed {
        /// Transport and address.
        target: String,
        /// How long we waited after the last byte.
        waited: std::time::Duration,
    },
    /// The connection broke during a job.
    #[error(
        "the connection to the receipt printer on {target} broke while {during}: {}",
        transport::plain_io(.source)
    )]
    Io {
        /// Transport and address.
        target: String,
        /// What we were doing.
        during: &'static str,
        /// OS error.
        source: std::io::Error,
    },
    /// The printer answered but cannot print (paper out, cover open, offline).
    #[error("the receipt printer cannot print: {}", .0.technician_detail())]
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

    /// The printer status this error implies, for the status API and heartbeats: a printer
    /// that answers but failed the job is [`PrinterStatus::Offline`], one that cannot be talked
    /// to is [`PrinterStatus::NotConnected`]; the reason is the error in words.
    pub fn as_status(&self) -> PrinterStatus {
        match self {
            PrinterError::NotReady(s) => s.clone(),
            PrinterError::Unconfirmed { .. } | PrinterError::NoConfirmation { .. } => {
                PrinterStatus::Offline {
                    detail: self.to_string(),
                }
            }
            other => PrinterStatus::NotConnected {
                reason: other.to_string(),
            },
        }
    }
}

/// What a confirmed print did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintReport {
    /// Bytes sent to the printer.
    pub bytes_sent: usize,
    /// Raster height in dots (paper length at 203 dpi: dots / 8 mm); 0 for a reprint, which
    /// sends the kept job without re-rendering.
    pub height_dots: u32,
    /// How the printer confirmed the job.
    pub confirmation: Confirmation,
    /// Status read after the confirmation (paper may be near its end, or just ran out).
    pub status_after: PrinterStatus,
    /// Milliseconds from render start to the printer's confirmation.
    pub elapsed_ms: u128,
}

impl PrintReport {
    /// One line in plain words for `booth-diag` and service mode.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} bytes, {:.0} mm of paper, {} ms; printer now: {}",
            self.confirmation.describe(),
            self.bytes_sent,
            f64::from(self.height_dots) / 8.0,
            self.elapsed_ms,
            self.status_after.technician_detail()
        )
    }
}

/// Reads the status of the printer at `transport`: `DLE EOT 1`, `2`, `3`, `4` on one
/// connection, after draining anything pending. Never fails: an unreachable or mute printer is
/// [`PrinterStatus::NotConnected`] with the reason in words; a file transport is always
/// [`PrinterStatus::Ready`] (a file has no paper to run out of).
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
    exchange::Exchange::new(conn)
        .status()
        .unwrap_or_else(|e| e.as_status())
}

/// A process ID for `GS ( H`: four printable characters from a counter that starts at a
/// time-derived value, so an answer left over from an earlier run never matches.
fn next_process_id(counter: &mut u32) -> [u8; 4] {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    *counter = counter.wrapping_add(1) % (36 * 36 * 36 * 36);
    let mut n = *counter;
    let mut id = [b'0'; 4];
    for slot in id.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    id
}

/// The configured receipt printer with its reprint queue.
#[derive(Debug)]
pub struct ReceiptPrinter {
    transport: Transport,
    width_dots: u32,
    kept: ReprintQueue,
    /// Branch address, phone and web printed on every receipt (none until set).
    contacts: ReceiptContacts,
    /// How this printer confirms jobs, learnt at the first job (`None`: not yet known, or the
    /// connection failed since, and the printer may have been swapped).
    completion: Option<Completion>,
    process_ids: u32,
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
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
            .unwrap_or(0);
        Ok(ReceiptPrinter {
            transport: Transport::from_config(cfg)?,
            width_dots: cfg.width_dots,
            kept: ReprintQueue::new(cfg.keep_last as usize),
            contacts: ReceiptContacts::default(),
            completion: None,
            process_ids: seed,
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

    /// Sets the branch address, phone and web address printed on every later receipt (from
    /// `[booth]` config and the central service's booth config; `None` fields are left out).
    pub fn set_contacts(&mut self, contacts: ReceiptContacts) {
        self.contacts = contacts;
    }

    /// The contact details printed on receipts.
    pub fn contacts(&self) -> &ReceiptContacts {
        &self.contacts
    }

    /// How this printer confirms jobs, once a job or [`ReceiptPrinter::probe`] found out.
    pub fn completion(&self) -> Option<Completion> {
        self.completion
    }

    /// Finds out (without printing) whether and how the printer can confirm jobs; see
    /// [`Completion`]. Fails when the printer cannot print now or cannot confirm at all.
    pub fn probe(&mut self) -> Result<Completion, PrinterError> {
        let mut conn = self.transport.connect()?;
        if !conn.can_read() {
            return Err(PrinterError::NoConfirmation {
                target: conn.target().to_owned(),
            });
        }
        let mut ex = exchange::Exchange::new(&mut conn);
        let status = ex.status()?;
        if !status.can_print() {
            return Err(PrinterError::NotReady(status));
        }
        let completion = ex.probe(next_process_id(&mut self.process_ids))?;
        self.completion = Some(completion);
        Ok(completion)
    }

    /// Renders `receipt`, keeps it for reprint, checks the printer's status, sends the job and
    /// waits for the printer to confirm it ([`exchange`]). `Ok` means the printer confirmed this
    /// very receipt (printed and cut, with Epson's `GS ( H`); a printer that stops during the
    /// job (paper out, cover opened at the cut, cutter jam) or stays silent is an error, and
    /// the receipt stays in the reprint queue marked not printed. A file transport cannot
    /// confirm: `Ok` with [`Confirmation::Spooled`].
    pub fn print(&mut self, receipt: &ReceiptData) -> Result<PrintReport, PrinterError> {
        let started = Instant::now();
        let raster = render_receipt_with(receipt, &self.contacts, self.width_dots)?;
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

    /// Prints [`sample_receipt`] in `lang` (service-mode printer test). Not kept for reprint;
    /// `Ok` only when the printer confirmed it, as for [`ReceiptPrinter::print`].
    pub fn print_test(&mut self, lang: Language) -> Result<PrintReport, PrinterError> {
        let started = Instant::now();
        let raster = render_receipt_with(&sample_receipt(lang)?, &self.contacts, self.width_dots)?;
        let job =
            commands::receipt_job(&raster).map_err(|e| PrinterError::Commands(e.to_string()))?;
        let (confirmation, status_after) = self.try_send(&job)?;
        Ok(PrintReport {
            bytes_sent: job.len(),
            height_dots: raster.height(),
            confirmation,
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
        self.kept.mark(regno, result.is_ok());
        match result {
            Ok((confirmation, status_after)) => {
                tracing::info!(
                    registration = %regno,
                    bytes = job.len(),
                    confirmation = confirmation.describe(),
                    status = status_after.as_str(),
                    "receipt printed"
                );
                Ok(PrintReport {
                    bytes_sent: job.len(),
                    height_dots,
                    confirmation,
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

    /// One job on one connection: status before, confirmation method (probed once), the job
    /// with its confirmation request, the wait, and the status after.
    fn try_send(&mut self, job: &[u8]) -> Result<(Confirmation, PrinterStatus), PrinterError> {
        let result = self.try_send_once(job);
        if matches!(
            result,
            Err(PrinterError::Connect { .. }
                | PrinterError::Io { .. }
                | PrinterError::NoAnswer { .. })
        ) {
            // Maybe a different printer is plugged in when it comes back: probe again then.
            self.completion = None;
        }
        result
    }

    fn try_send_once(&mut self, job: &[u8]) -> Result<(Confirmation, PrinterStatus), PrinterError> {
        let mut conn = self.transport.connect()?;
        if !conn.can_read() {
            conn.send(job, transport::WRITE_TIMEOUT)?;
            return Ok((Confirmation::Spooled, PrinterStatus::Ready));
        }
        let mut ex = exchange::Exchange::new(&mut conn);
        let before = ex.status()?;
        if !before.can_print() {
            return Err(PrinterError::NotReady(before));
        }
        let completion = match self.completion {
            Some(c) => c,
            None => {
                let c = ex.probe(next_process_id(&mut self.process_ids))?;
                tracing::info!(method = c.describe(), "receipt printer confirmation");
                self.completion = Some(c);
                c
            }
        };
        let confirmation =
            ex.print_confirmed(job, completion, next_process_id(&mut self.process_ids))?;
        // Everything the job provoked arrived before the confirmation: this is the real state.
        let after = ex.status()?;
        if confirmation == Confirmation::PaperSensor && !after.can_print() {
            // Processed is not printed: a printer that stopped right after may not have cut.
            return Err(PrinterError::NotReady(after));
        }
        Ok((confirmation, after))
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
        // Computed like a real receipt's (15 working days, built-in calendar), so a test print
        // past the calendar shows the "date will come with the answer" line, never a guess.
        expected_answer_date: booth_core::calendar::expected_answer_date(
            chrono::Utc::now(),
            booth_core::calendar::kazakhstan_offset(),
            15,
            &booth_core::WorkingCalendar::builtin(),
        )
        .ok(),
        language: lang,
    })
}

/// `booth-diag print-test`: prints a Kazakh sample receipt with the configured printer and
/// reports how the printer confirmed it and the status afterwards.
pub fn print_test(cfg: &PrinterSection) -> Result<PrintReport, PrinterError> {
    ReceiptPrinter::from_config(cfg)?.print_test(Language::Kk)
}

/// `booth-diag printer-status` / the kiosk's pre-recording check: the configured printer's status.
pub fn printer_status(cfg: &PrinterSection) -> Result<PrinterStatus, PrinterError> {
    Ok(read_status(&Transport::from_config(cfg)?))
}
