//! The kiosk's own small traits ("ports") for what lives outside it: the recorder (camera,
//! microphone, encoder, sealing), the receipt printer, the reception journal's tickets, answer
//! lookups and the clock. The controller talks only to these; adapters to booth-hardware,
//! booth-core's store and the sync agent implement them, and `Sim*` types in [`crate::sim`]
//! stand in where the real implementation has not landed.

use std::path::PathBuf;
use std::sync::Arc;

use booth_core::code::LookupId;
use booth_core::{Language, MediaRef};
use uuid::Uuid;

use crate::flow::{
    LookupView, Prefill, PrintOutcome, PrinterState, ReceiptData, RecorderError, TicketError,
};

pub use booth_core::Clock;

/// One RGB frame of the camera preview (tightly packed, 3 bytes per pixel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// Luma (grey) bytes, for QR decoding.
    pub fn luma(&self) -> Vec<u8> {
        self.rgb
            .chunks_exact(3)
            .map(|p| {
                ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8
            })
            .collect()
    }
}

/// A finished take: plaintext media in the RAM directory.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedTake {
    /// Plaintext file (RAM directory).
    pub path: PathBuf,
    /// Length in ms.
    pub duration_ms: u32,
    /// Fraction of voiced audio frames.
    pub speech_fraction: f32,
    /// MIME type with codecs.
    pub content_type: String,
}

/// Camera, microphone and encoder. One owner: the controller keeps it behind a mutex and only
/// worker threads call it, never the UI thread.
pub trait Recorder: Send {
    /// Opens camera and microphone for the live preview.
    fn start_preview(&mut self) -> Result<(), RecorderError>;
    /// Closes the preview.
    fn stop_preview(&mut self);
    /// The latest preview frame, if any.
    fn preview_frame(&mut self) -> Option<Frame>;
    /// Current microphone level 0..1.
    fn mic_level(&mut self) -> f32;
    /// Starts recording a take.
    fn start(&mut self) -> Result<(), RecorderError>;
    /// Stops the take and returns it.
    fn stop(&mut self) -> Result<RecordedTake, RecorderError>;
    /// Deletes the current take's plaintext, if any.
    fn discard(&mut self);
    /// Short human-readable state for service mode (no personal data).
    fn describe(&self) -> String;
}

/// Turns a plaintext take into a sealed (encrypted) file in the outbox, fsynced and renamed
/// into place, and deletes the plaintext.
pub trait Sealer: Send + Sync {
    /// Seals `take` as the media of appeal `id`.
    fn seal(&self, take: &RecordedTake, id: Uuid) -> Result<MediaRef, SealError>;
}

/// Sealing failures.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// No space.
    #[error("no space left while sealing: {0}")]
    DiskFull(std::io::Error),
    /// Other I/O.
    #[error("I/O error while sealing: {0}")]
    Io(std::io::Error),
    /// Encryption (keys, format).
    #[error("encryption failed: {0}")]
    Crypto(String),
}

impl SealError {
    /// Classifies an I/O error (ENOSPC → disk full).
    pub fn from_io(e: std::io::Error) -> SealError {
        if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
            SealError::DiskFull(e)
        } else {
            SealError::Io(e)
        }
    }
}

/// The receipt printer.
pub trait Printer: Send {
    /// Reads paper and cover state.
    fn status(&mut self) -> PrinterState;
    /// Prints a receipt.
    fn print_receipt(&mut self, r: &ReceiptData) -> PrintOutcome;
    /// Contact lines printed on receipts (branch address, phone and web address for answers,
    /// from the central config; 003 p.33). Printers without such lines ignore them.
    fn set_contacts(&mut self, _contacts: &booth_core::settings::Contacts) {}
    /// Prints a test page.
    fn print_test(&mut self) -> PrintOutcome;
    /// Reprints the last receipt (service mode).
    fn reprint_last(&mut self) -> PrintOutcome;
}

/// The reception journal's booth tickets (003 p.22).
pub trait TicketRedeemer: Send + Sync {
    /// Redeems a 6-digit ticket for this booth: valid once, within its time.
    fn redeem(&self, ticket: &str) -> Result<Prefill, TicketError>;
}

/// Looking up an appeal by the lookup id of its secret code.
pub trait AnswerLookup: Send + Sync {
    /// The appeal's status and answer in `lang`, `Ok(None)` when no appeal has this id.
    fn lookup(
        &self,
        id: &LookupId,
        lang: Language,
    ) -> Result<Option<LookupView>, LookupUnavailable>;
    /// Stores a rating.
    fn rate(&self, appeal_id: Uuid, rating: u8) -> Result<(), LookupUnavailable>;
}

/// Neither the local store nor the central service could answer.
#[derive(Debug, thiserror::Error)]
#[error("lookup unavailable: {0}")]
pub struct LookupUnavailable(pub String);

/// All ports together, as the controller gets them.
#[derive(Clone)]
pub struct Ports {
    /// Recorder (behind one mutex: one owner at a time).
    pub recorder: Arc<std::sync::Mutex<Box<dyn Recorder>>>,
    /// Sealer.
    pub sealer: Arc<dyn Sealer>,
    /// Printer.
    pub printer: Arc<std::sync::Mutex<Box<dyn Printer>>>,
    /// Tickets.
    pub tickets: Arc<dyn TicketRedeemer>,
    /// Lookups.
    pub lookup: Arc<dyn AnswerLookup>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Names of the adapters in use, for service mode and the report ("recorder=sim", …).
    pub adapters: Vec<(&'static str, &'static str)>,
    /// Simulated booth (headless scripts, demo without a central service): an empty store
    /// directory is replaced by the built-in demo directory. A real booth never offers agency
    /// ids the centre does not know: it waits for the sync agent's first pull.
    pub demo_directory: bool,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports")
            .field("adapters", &self.adapters)
            .finish()
    }
}
