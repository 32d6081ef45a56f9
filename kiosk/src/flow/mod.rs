//! The citizen's journey as a plain state machine: no Slint types, no threads, no I/O.
//!
//! [`Flow::handle`] takes an [`Event`] (a touch, a key, a worker's result) and returns the
//! [`Effect`]s the controller must carry out (start the recorder, commit the appeal, print…);
//! [`Flow::tick`] applies timeouts (idle question, countdown, recording limits) from the
//! [`booth_core::Clock`] the caller passes in, so tests move time instead of sleeping. The Slint
//! layer only renders [`Flow::state`] and forwards events.

mod input;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use booth_core::code::SecretCode;
use booth_core::config::Config;
use booth_core::{
    Agency, AppealKind, Applicant, ComplaintDetails, DecisionKind, Language, StatusEvent,
};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

pub use input::{FieldId, code_from_payload, parse_applicant, parse_complaint};

/// Seconds of the 3-2-1 countdown before recording.
pub const COUNTDOWN_S: u64 = 3;
/// Seconds the thank-you screen stays before the attract loop.
pub const THANK_YOU_S: u64 = 8;
/// Longest text a field accepts from the keyboard (the validators refuse less anyway).
pub const MAX_FIELD_CHARS: usize = 200;
/// Microphone level (0..1) counted as "we hear you" on the check screen.
pub const VOICE_LEVEL: f32 = 0.15;

/// Every screen the citizen (or technician) can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    /// Idle loop, "touch to start".
    Attract,
    /// Қазақша / Русский / English.
    Language,
    /// Record / view answer / help.
    Menu,
    /// Booth ticket from reception (6 digits).
    Ticket,
    /// Consent to personal data, video recording, rules.
    Consent,
    /// Applicant fields of 003 p.23.
    Applicant,
    /// Addressee from the directory.
    Addressee,
    /// Kind of appeal.
    Kind,
    /// Complaint fields of 003 p.25.
    Complaint,
    /// Camera and microphone check.
    Check,
    /// 3-2-1.
    Countdown,
    /// Recording in progress.
    Recording,
    /// Sealing and committing.
    Finishing,
    /// Registration number, secret code, dates, printer outcome.
    Receipt,
    /// Offer to record a continuation to the same addressee (p.24).
    Continuation,
    /// Thank you, then attract.
    ThankYou,
    /// "This is not me": the identity from the ticket is wrong; go back to reception.
    BackToReception,
    /// Secret code keypad (and QR / scanner).
    LookupCode,
    /// Status timeline and answer.
    LookupResult,
    /// Satisfaction rating (004).
    Rating,
    /// Help.
    Help,
    /// Technician PIN.
    ServicePin,
    /// Service mode: diagnostics, printer test, reprint, sync status.
    Service,
}

impl Screen {
    /// Stable name (the Slint side switches on it; scripts name screens by it).
    pub fn name(self) -> &'static str {
        match self {
            Screen::Attract => "attract",
            Screen::Language => "language",
            Screen::Menu => "menu",
            Screen::Ticket => "ticket",
            Screen::Consent => "consent",
            Screen::Applicant => "applicant",
            Screen::Addressee => "addressee",
            Screen::Kind => "kind",
            Screen::Complaint => "complaint",
            Screen::Check => "check",
            Screen::Countdown => "countdown",
            Screen::Recording => "recording",
            Screen::Finishing => "finishing",
            Screen::Receipt => "receipt",
            Screen::Continuation => "continuation",
            Screen::ThankYou => "thanks",
            Screen::BackToReception => "not-me",
            Screen::LookupCode => "lookup",
            Screen::LookupResult => "result",
            Screen::Rating => "rating",
            Screen::Help => "help",
            Screen::ServicePin => "service-pin",
            Screen::Service => "service",
        }
    }
    /// Screens where a session's personal data may be on screen or in memory: an idle timeout
    /// there must wipe it.
    fn holds_session(self) -> bool {
        !matches!(self, Screen::Attract)
    }
}

/// Individual or legal entity (003 p.23).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplicantType {
    /// A natural person.
    #[default]
    Individual,
    /// A legal entity.
    LegalEntity,
}

/// What a touch asks for. The Slint layer sends these by name ([`Action::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Touch on the attract screen.
    Start,
    /// Pick a language.
    Language(Language),
    /// Menu: record an appeal.
    Record,
    /// Menu: view an answer.
    ViewAnswer,
    /// Open help.
    Help,
    /// Back one screen.
    Back,
    /// Next / continue / submit on the current screen.
    Next,
    /// Consent: I agree.
    Agree,
    /// Applicant type.
    ApplicantType(ApplicantType),
    /// Focus a text field.
    Field(FieldId),
    /// Browse a directory category ("" = all).
    Category(String),
    /// Choose an addressee.
    Agency(String),
    /// Choose a kind.
    Kind(AppealKind),
    /// Check screen: start the countdown.
    BeginRecording,
    /// Recording: "Finish recording": the appeal is sent (003 p.27).
    FinishRecording,
    /// Recording: discard this take and start again (asks for confirmation first).
    Discard,
    /// Recording: yes, discard the take.
    DiscardConfirm,
    /// Recording: no, keep recording.
    DiscardCancel,
    /// Applicant: the identity from the reception ticket is not mine.
    NotMe,
    /// Finishing: try the commit again after an error.
    Retry,
    /// Receipt: print again.
    PrintAgain,
    /// Continuation: yes.
    Continue,
    /// Continuation: no / finish the session.
    Done,
    /// Rating 1..=5.
    Rate(u8),
    /// "Yes, I am still here".
    StillHere,
    /// Toggle high contrast.
    Contrast,
    /// Toggle large type.
    LargeType,
    /// Long press in the hidden corner.
    ServiceCorner,
    /// Service: print a test receipt.
    ServicePrintTest,
    /// Service: reprint the last receipt.
    ServiceReprint,
    /// Service: refresh diagnostics.
    ServiceRefresh,
    /// Service: leave service mode.
    ServiceExit,
    /// Lookup: use the camera to read the receipt's QR code.
    ScanQr,
}

impl Action {
    /// Parses `name` or `name:arg` as the Slint layer and scripts send it.
    pub fn parse(s: &str) -> Option<Action> {
        let (name, arg) = s.split_once(':').unwrap_or((s, ""));
        Some(match name {
            "start" => Action::Start,
            "lang" => Action::Language(Language::from_code(arg)?),
            "record" => Action::Record,
            "view-answer" => Action::ViewAnswer,
            "help" => Action::Help,
            "back" => Action::Back,
            "next" => Action::Next,
            "agree" => Action::Agree,
            "individual" => Action::ApplicantType(ApplicantType::Individual),
            "legal" => Action::ApplicantType(ApplicantType::LegalEntity),
            "field" => Action::Field(FieldId::parse(arg)?),
            "category" => Action::Category(arg.to_owned()),
            "agency" => Action::Agency(arg.to_owned()),
            "kind" => Action::Kind(AppealKind::parse(arg)?),
            "begin" => Action::BeginRecording,
            "finish" => Action::FinishRecording,
            "discard" => Action::Discard,
            "discard-confirm" => Action::DiscardConfirm,
            "discard-cancel" => Action::DiscardCancel,
            "not-me" => Action::NotMe,
            "retry" => Action::Retry,
            "print-again" => Action::PrintAgain,
            "continue" => Action::Continue,
            "done" => Action::Done,
            "rate" => Action::Rate(arg.parse().ok()?),
            "still-here" => Action::StillHere,
            "contrast" => Action::Contrast,
            "large" => Action::LargeType,
            "service-corner" => Action::ServiceCorner,
            "service-print-test" => Action::ServicePrintTest,
            "service-reprint" => Action::ServiceReprint,
            "service-refresh" => Action::ServiceRefresh,
            "service-exit" => Action::ServiceExit,
            "scan-qr" => Action::ScanQr,
            _ => return None,
        })
    }
}

/// A key from the on-screen keyboard, a physical keyboard or a keyboard-wedge scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Text to insert (a letter, a digit, ".kz").
    Text(String),
    /// Delete the last character.
    Backspace,
    /// Enter / Return (submits the code; the scanner ends its payload with it).
    Enter,
}

/// Data the reception journal gives the booth for a ticket (003 p.22–23 prefill).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefill {
    /// Journal entry id.
    pub visit_id: String,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub name: String,
    /// Patronymic.
    pub patronymic: String,
    /// IIN.
    pub iin: String,
    /// E-mail.
    pub email: String,
    /// For a legal entity's representative: BIN and name.
    pub entity: Option<(String, String)>,
}

/// Why a ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketError {
    /// No such ticket.
    Unknown,
    /// Already used.
    Used,
    /// Past its validity.
    Expired,
    /// Too many wrong tickets: wait.
    TooManyAttempts,
    /// The journal could not be read.
    Unavailable,
}

impl TicketError {
    /// Translation key.
    pub fn message_key(self) -> &'static str {
        match self {
            TicketError::Unknown => "ticket-unknown",
            TicketError::Used => "ticket-used",
            TicketError::Expired => "ticket-expired",
            TicketError::TooManyAttempts => "ticket-too-many",
            TicketError::Unavailable => "ticket-unavailable",
        }
    }
}

/// The printer as the kiosk needs to know it before recording starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterState {
    /// Ready.
    Ready,
    /// Paper running low (still prints).
    PaperLow,
    /// Out of paper.
    PaperOut,
    /// Cover open.
    CoverOpen,
    /// Not connected or not answering.
    Offline,
}

impl PrinterState {
    /// Whether a receipt can be printed.
    pub fn can_print(self) -> bool {
        matches!(self, PrinterState::Ready | PrinterState::PaperLow)
    }
    /// Translation key of a warning, `None` when fine.
    pub fn warning_key(self) -> Option<&'static str> {
        match self {
            PrinterState::Ready => None,
            PrinterState::PaperLow => Some("printer-paper-low"),
            PrinterState::PaperOut => Some("printer-paper-out"),
            PrinterState::CoverOpen => Some("printer-cover-open"),
            PrinterState::Offline => Some("printer-offline"),
        }
    }
}

/// Why recording could not start or finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecorderError {
    /// No camera.
    CameraMissing,
    /// No microphone.
    MicrophoneMissing,
    /// The RAM directory is full.
    DiskFull,
    /// Any other failure of the pipeline.
    Failed,
}

impl RecorderError {
    /// Translation key.
    pub fn message_key(self) -> &'static str {
        match self {
            RecorderError::CameraMissing => "error-camera-missing",
            RecorderError::MicrophoneMissing => "error-microphone-missing",
            RecorderError::DiskFull => "error-disk-full",
            RecorderError::Failed => "error-recorder-failed",
        }
    }
}

/// A finished take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Take {
    /// Length in ms.
    pub duration_ms: u32,
    /// Fraction of voiced audio frames (0..1).
    pub speech_fraction: f32,
    /// Wall-clock time the take ended (the appeal's recording date, 003 p.24).
    pub ended_at: DateTime<Utc>,
}

/// Why the appeal could not be committed (the recording stays; the citizen may retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitError {
    /// No space left for the sealed file or the database.
    DiskFull,
    /// Sealing failed (no recipient keys, encryption error).
    Seal,
    /// Database error.
    Store,
}

impl CommitError {
    /// Translation key.
    pub fn message_key(self) -> &'static str {
        match self {
            CommitError::DiskFull => "error-disk-full",
            CommitError::Seal => "error-seal",
            CommitError::Store => "error-store",
        }
    }
}

/// What the receipt screen and the printed receipt show.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptData {
    /// Appeal id.
    pub appeal_id: Uuid,
    /// Registration number text.
    pub registration_number: String,
    /// When "Finish recording" was pressed.
    pub recorded_at: DateTime<Utc>,
    /// Local date-time text for display (`dd.mm.yyyy hh:mm`).
    pub recorded_local: String,
    /// The secret code (kept only until the session is wiped).
    pub code: SecretCode,
    /// Expected answer date; `None` when no calendar covers it (the receipt says the date comes
    /// with the answer).
    pub expected_answer_date: Option<NaiveDate>,
    /// Addressee name in the citizen's language.
    pub addressee: String,
    /// Kind.
    pub kind: AppealKind,
    /// Branch name.
    pub branch_name: String,
    /// Language of the receipt.
    pub language: Language,
}

/// How printing went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintOutcome {
    /// Printed.
    Printed,
    /// Not printed, because of this printer state.
    Failed(PrinterState),
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupView {
    /// Appeal id.
    pub appeal_id: Uuid,
    /// Registration number.
    pub registration_number: String,
    /// Addressee name (citizen's language).
    pub addressee: String,
    /// Recorded at (local text).
    pub recorded_local: String,
    /// Expected answer date.
    pub expected_answer_date: Option<NaiveDate>,
    /// Timeline, oldest first.
    pub timeline: Vec<StatusEvent>,
    /// The answer, when there is one.
    pub answer: Option<AnswerView>,
    /// Rating already given.
    pub rated: Option<u8>,
}

/// The agency's answer as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerView {
    /// Decision.
    pub decision: DecisionKind,
    /// Text.
    pub text: String,
    /// Signed by.
    pub signed_by: String,
    /// Signed on.
    pub signed_on: NaiveDate,
    /// Attached documents.
    pub documents: Vec<String>,
}

/// What a lookup returned.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupOutcome {
    /// Found.
    Found(Box<LookupView>),
    /// No appeal with this code.
    NotFound,
    /// Too many wrong codes: wait this many seconds.
    RateLimited(u64),
    /// Neither the store nor the central service could answer.
    Unavailable,
}

/// Diagnostics shown in service mode.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagnostics {
    /// One line per check, e.g. ("camera", "ok").
    pub lines: Vec<(String, String)>,
}

/// Why the booth's clock cannot be trusted for receipt dates and answer deadlines. While one
/// holds, the kiosk takes no appeals (lookups still work) and service mode shows the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockProblem {
    /// Time synchronisation has not succeeded since boot (no `synchronized` marker).
    NotSynchronized {
        /// The marker file that is missing.
        marker: String,
    },
    /// The clock reads a date before this software was built.
    BeforeBuildDate {
        /// The clock's date.
        clock: String,
        /// The build date.
        built: String,
    },
}

impl std::fmt::Display for ClockProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClockProblem::NotSynchronized { marker } => write!(
                f,
                "clock not synchronised since boot ({marker} missing): check the network and \
                 `timedatectl timesync-status`"
            ),
            ClockProblem::BeforeBuildDate { clock, built } => write!(
                f,
                "clock reads {clock}, before the software's build date {built}: set the time or \
                 fix time sync"
            ),
        }
    }
}

/// Everything that can happen to the flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A touch on an action.
    Tap(Action),
    /// Any touch anywhere (keeps the session alive).
    Touch,
    /// A key.
    Key(Key),
    /// Ticket check finished.
    TicketChecked(Result<Prefill, TicketError>),
    /// Printer status read.
    PrinterStatus(PrinterState),
    /// Preview started (camera and microphone found) or failed.
    PreviewStarted(Result<(), RecorderError>),
    /// Microphone level 0..1 (check screen meter).
    MicLevel(f32),
    /// Recording started or failed to.
    RecordingStarted(Result<(), RecorderError>),
    /// Recording stopped with a take, or failed.
    RecordingStopped(Result<Take, RecorderError>),
    /// Appeal committed (or not).
    Committed(Result<Box<ReceiptData>, CommitError>),
    /// Printing finished.
    Printed(PrintOutcome),
    /// A QR code was read from the camera.
    QrDecoded(String),
    /// Lookup finished.
    LookedUp(LookupOutcome),
    /// Rating stored.
    Rated,
    /// Diagnostics read.
    Diagnostics(Diagnostics),
    /// The clock was checked: `None` when it can be trusted.
    ClockChecked(Option<ClockProblem>),
    /// Effective settings were read again (directory, recording limit): taken on the attract
    /// screen only, so a session never changes under a citizen.
    SettingsLoaded(Box<booth_core::settings::Effective>),
    /// At start-up: a committed appeal whose receipt never printed (the kiosk stopped in
    /// between), with a replacement code: shown and printed again.
    ReceiptRecovered(Box<ReceiptData>),
}

/// What the controller must do. Each effect's result comes back as an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Check a booth ticket → [`Event::TicketChecked`].
    RedeemTicket(String),
    /// Read the printer's status → [`Event::PrinterStatus`].
    CheckPrinter,
    /// Start camera preview and microphone meter → [`Event::PreviewStarted`], [`Event::MicLevel`].
    StartPreview,
    /// Stop preview.
    StopPreview,
    /// Start a take → [`Event::RecordingStarted`].
    StartRecording,
    /// Stop the take → [`Event::RecordingStopped`].
    StopRecording,
    /// Delete the current take's plaintext (only when the citizen discarded it).
    DiscardRecording,
    /// Seal the take and commit the appeal → [`Event::Committed`].
    Commit(Box<CommitRequest>),
    /// Print a receipt → [`Event::Printed`].
    Print(Box<ReceiptData>),
    /// Print a test page (service mode) → [`Event::Printed`].
    PrintTest,
    /// Reprint the last receipt (service mode) → [`Event::Printed`].
    Reprint,
    /// Start decoding QR codes from the camera → [`Event::QrDecoded`].
    StartQrScan,
    /// Stop QR decoding.
    StopQrScan,
    /// Look up a code → [`Event::LookedUp`].
    Lookup(SecretCode),
    /// Store a rating → [`Event::Rated`].
    SaveRating {
        /// Appeal.
        appeal_id: Uuid,
        /// 1..=5.
        rating: u8,
    },
    /// Read diagnostics → [`Event::Diagnostics`].
    ReadDiagnostics,
    /// The session ends (or moves on to a continuation) while this appeal's receipt has not
    /// printed: the booth gives it up and lists it as unprinted for staff.
    GiveUpReceipt(Uuid),
    /// The session was wiped: forget everything personal held outside the flow.
    SessionWiped,
}

/// Everything the commit needs from the session; the controller adds code, seal and number.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRequest {
    /// Applicant.
    pub applicant: Applicant,
    /// Addressee id.
    pub addressee_id: String,
    /// Addressee name in the citizen's language (for the receipt).
    pub addressee_name: String,
    /// Kind.
    pub kind: AppealKind,
    /// Complaint details.
    pub complaint: Option<ComplaintDetails>,
    /// Language.
    pub language: Language,
    /// Take length.
    pub duration_ms: u32,
    /// When the take ended.
    pub recorded_at: DateTime<Utc>,
    /// Continued appeal.
    pub continuation_of: Option<Uuid>,
    /// Reception ticket.
    pub ticket: Option<String>,
    /// The reception journal entry (003 p.22) whose ticket started the session.
    pub visit_id: Option<Uuid>,
}

/// The idle question: shown, with its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdlePrompt {
    /// When the session is wiped unless the citizen answers.
    pub wipe_at: Instant,
}

/// The recording in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingClock {
    /// When the take started (`None` until the recorder confirms).
    pub started: Option<Instant>,
    /// The 2:30 warning has been shown.
    pub warned: bool,
    /// Stop already requested (by the citizen or the hard limit).
    pub stopping: bool,
    /// The stop was asked for by "discard" (confirmed): the take is deleted, not sent.
    pub discarding: bool,
}

impl RecordingClock {
    const IDLE: RecordingClock = RecordingClock {
        started: None,
        warned: false,
        stopping: false,
        discarding: false,
    };
}

/// All state of one citizen's session. Wiped on idle timeout and at the end.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Language chosen.
    pub language: Language,
    /// Ticket digits typed.
    pub ticket: String,
    /// Ticket accepted (its text).
    pub ticket_ok: Option<String>,
    /// The reception journal entry of the accepted ticket.
    pub visit_id: Option<Uuid>,
    /// Identity fields filled from the reception journal: shown read-only (003 p.22: the
    /// receptionist identified the citizen by their ID document).
    pub locked: std::collections::BTreeSet<FieldId>,
    /// A ticket check is running.
    pub ticket_checking: bool,
    /// Consent given.
    pub consent: bool,
    /// Individual or legal entity.
    pub applicant_type: ApplicantType,
    /// Text fields (applicant and complaint).
    pub fields: BTreeMap<FieldId, String>,
    /// Field errors (translation keys).
    pub field_errors: BTreeMap<FieldId, &'static str>,
    /// Focused field.
    pub active_field: Option<FieldId>,
    /// Addressee search text.
    pub search: String,
    /// Browsed category.
    pub category: String,
    /// Chosen addressee id.
    pub addressee: Option<String>,
    /// Chosen kind.
    pub kind: Option<AppealKind>,
    /// Camera/microphone preview is working.
    pub preview_ok: Option<Result<(), RecorderError>>,
    /// Latest microphone level.
    pub mic_level: f32,
    /// A voice was heard on the check screen.
    pub voice_heard: bool,
    /// Printer state as last read.
    pub printer: Option<PrinterState>,
    /// Takes recorded so far in this appeal.
    pub takes: u32,
    /// The latest finished take.
    pub take: Option<Take>,
    /// "Discard this take?" is being asked on the recording screen.
    pub confirm_discard: bool,
    /// The sent take was (nearly) silent: the receipt screen says so (003 p.26).
    pub silent_take: bool,
    /// The receipt on screen was recovered at start-up (no session behind it).
    pub recovered: bool,
    /// When the current take ended (the appeal's recording time).
    pub take_ended_at: Option<DateTime<Utc>>,
    /// The last commit error (finishing screen).
    pub commit_error: Option<CommitError>,
    /// The receipt of the last committed appeal.
    pub receipt: Option<ReceiptData>,
    /// How printing went.
    pub print: Option<PrintOutcome>,
    /// A continuation of this appeal is being recorded.
    pub continuation_of: Option<Uuid>,
    /// Lookup: digits typed (or a scanner payload being typed).
    pub code: String,
    /// Lookup: a lookup is running.
    pub looking_up: bool,
    /// Lookup: error key.
    pub lookup_error: Option<&'static str>,
    /// Lookup: keypad locked until.
    pub locked_until: Option<Instant>,
    /// Lookup: camera QR scanning on.
    pub scanning: bool,
    /// Lookup: result.
    pub result: Option<LookupView>,
    /// Rating given.
    pub rated: Option<u8>,
    /// Technician PIN typed.
    pub pin: String,
    /// Wrong PIN typed.
    pub pin_error: bool,
    /// Diagnostics.
    pub diagnostics: Diagnostics,
    /// Screen-level error (recorder failed etc.).
    pub error: Option<&'static str>,
}

/// Display options that survive within a session and reset with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Display {
    /// High contrast.
    pub high_contrast: bool,
    /// Large type.
    pub large_type: bool,
}

/// Settings the flow needs from the booth config.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    /// Ticket required to record.
    pub ticket_required: bool,
    /// Idle seconds before the question.
    pub idle_timeout: Duration,
    /// Seconds the question waits.
    pub idle_grace: Duration,
    /// Re-records allowed.
    pub rerecord_limit: u32,
    /// Technician PIN.
    pub technician_pin: String,
    /// Longest take.
    pub max_recording: Duration,
    /// Warning this long before the end.
    pub warn_before_end: Duration,
    /// Minimum speech fraction.
    pub min_speech_fraction: f32,
    /// Starting language.
    pub default_language: Language,
    /// Starting contrast.
    pub high_contrast: bool,
}

impl FlowConfig {
    /// From the booth config.
    pub fn from_config(c: &Config) -> FlowConfig {
        FlowConfig {
            ticket_required: c.kiosk.ticket_required,
            idle_timeout: Duration::from_secs(u64::from(c.kiosk.idle_timeout_s)),
            idle_grace: Duration::from_secs(u64::from(c.kiosk.idle_grace_s)),
            rerecord_limit: c.kiosk.rerecord_limit,
            technician_pin: c.kiosk.technician_pin.clone(),
            max_recording: Duration::from_secs(u64::from(c.kiosk.max_recording_s)),
            warn_before_end: Duration::from_secs(u64::from(c.kiosk.warn_before_end_s)),
            min_speech_fraction: c.kiosk.min_speech_fraction,
            default_language: c.booth.default_language,
            high_contrast: c.kiosk.high_contrast,
        }
    }
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct Flow {
    cfg: FlowConfig,
    agencies: Vec<Agency>,
    screen: Screen,
    /// Screen to return to from help.
    help_return: Option<Screen>,
    session: Session,
    display: Display,
    idle: Option<IdlePrompt>,
    last_touch: Instant,
    /// When the countdown / thank-you screen started.
    screen_since: Instant,
    recording: RecordingClock,
    /// Set while the clock cannot be trusted: no appeals are taken.
    clock_problem: Option<ClockProblem>,
}

impl Flow {
    /// A flow on the attract screen with this directory (from the store, or the built-in demo
    /// directory when the store has none).
    pub fn new(cfg: FlowConfig, agencies: Vec<Agency>, now: Instant) -> Flow {
        let session = Session {
            language: cfg.default_language,
            ..Session::default()
        };
        let display = Display {
            high_contrast: cfg.high_contrast,
            large_type: false,
        };
        Flow {
            cfg,
            agencies,
            screen: Screen::Attract,
            help_return: None,
            session,
            display,
            idle: None,
            last_touch: now,
            screen_since: now,
            recording: RecordingClock::IDLE,
            clock_problem: None,
        }
    }

    /// Why appeals are refused because of the clock, if they are.
    pub fn clock_problem(&self) -> Option<&ClockProblem> {
        self.clock_problem.as_ref()
    }

    /// Current screen.
    pub fn screen(&self) -> Screen {
        self.screen
    }
    /// Session data.
    pub fn session(&self) -> &Session {
        &self.session
    }
    /// Display options.
    pub fn display(&self) -> Display {
        self.display
    }
    /// The idle question, when shown.
    pub fn idle_prompt(&self) -> Option<IdlePrompt> {
        self.idle
    }
    /// Recording clock.
    pub fn recording(&self) -> RecordingClock {
        self.recording
    }
    /// Configuration.
    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }
    /// The directory.
    pub fn agencies(&self) -> &[Agency] {
        &self.agencies
    }
    /// Replaces the directory (the sync agent refreshed it).
    pub fn set_agencies(&mut self, agencies: Vec<Agency>) {
        self.agencies = agencies;
    }
    /// When the current screen was entered.
    pub fn screen_since(&self) -> Instant {
        self.screen_since
    }

    /// Directory categories, sorted, unique.
    pub fn categories(&self) -> Vec<String> {
        let mut c: Vec<String> = self.agencies.iter().map(|a| a.category.clone()).collect();
        c.sort();
        c.dedup();
        c
    }

    /// Agencies matching the search text (any language, case-insensitive, every word) and the
    /// browsed category.
    pub fn matching_agencies(&self) -> Vec<&Agency> {
        let words: Vec<String> = self
            .session
            .search
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        self.agencies
            .iter()
            .filter(|a| self.session.category.is_empty() || a.category == self.session.category)
            .filter(|a| {
                let hay = format!("{} {} {}", a.name_kk, a.name_ru, a.name_en).to_lowercase();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .collect()
    }

    /// The chosen addressee.
    pub fn addressee(&self) -> Option<&Agency> {
        let id = self.session.addressee.as_deref()?;
        self.agencies.iter().find(|a| a.id == id)
    }

    /// Takes the citizen may still discard and record again in this appeal (`kiosk.rerecord_limit`
    /// in all; every take ended so far, discarded or not, counts).
    pub fn rerecords_left(&self) -> u32 {
        self.cfg.rerecord_limit.saturating_sub(self.session.takes)
    }

    /// Seconds recorded so far.
    pub fn recorded(&self, now: Instant) -> Duration {
        self.recording
            .started
            .map(|s| now.saturating_duration_since(s))
            .unwrap_or_default()
    }

    /// Whether the "Start recording" button may be pressed.
    pub fn can_begin(&self) -> bool {
        matches!(self.session.preview_ok, Some(Ok(())))
    }

    /// The secret code typed so far checks out (or is still partial).
    pub fn code_check(&self) -> Result<Option<SecretCode>, booth_core::code::CodeError> {
        SecretCode::check_partial(&self.session.code)
    }

    fn go(&mut self, screen: Screen, now: Instant) {
        self.screen = screen;
        self.screen_since = now;
        self.session.error = None;
    }

    fn wipe(&mut self, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        if matches!(self.screen, Screen::Recording | Screen::Countdown)
            && self.recording.started.is_some()
        {
            fx.push(Effect::StopRecording);
        }
        // A wipe never deletes a finished take: the flow sends every take the citizen did not
        // discard (idle does not apply while recording or committing).
        if let Some(id) = self.unprinted_receipt() {
            fx.push(Effect::GiveUpReceipt(id));
        }
        if matches!(
            self.screen,
            Screen::Check | Screen::Countdown | Screen::Recording
        ) {
            fx.push(Effect::StopPreview);
        }
        if self.session.scanning {
            fx.push(Effect::StopQrScan);
        }
        fx.push(Effect::SessionWiped);
        self.session = Session {
            language: self.cfg.default_language,
            ..Session::default()
        };
        self.display = Display {
            high_contrast: self.cfg.high_contrast,
            large_type: false,
        };
        self.recording = RecordingClock::IDLE;
        self.idle = None;
        self.help_return = None;
        self.go(Screen::Attract, now);
        fx
    }

    /// Applies timeouts. Call on every timer tick (the controller ticks a few times a second).
    pub fn tick(&mut self, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        // Idle question and wipe. Not while recording or committing: the take has its own limit,
        // and a commit in flight must finish so no appeal is lost.
        let idle_applies = self.screen.holds_session()
            && !matches!(
                self.screen,
                Screen::Countdown | Screen::Recording | Screen::Finishing
            );
        if let Some(p) = self.idle {
            if now >= p.wipe_at {
                tracing::info!(screen = self.screen.name(), "idle timeout: session wiped");
                return self.wipe(now);
            }
        } else if idle_applies
            // Quiet time counts from the last touch or the last screen change, whichever is
            // later: a 3-minute recording must not be followed by an instant "still there?".
            && now.saturating_duration_since(self.last_touch.max(self.screen_since))
                >= self.cfg.idle_timeout
        {
            self.idle = Some(IdlePrompt {
                wipe_at: now + self.cfg.idle_grace,
            });
        }
        match self.screen {
            Screen::Countdown
                if now.saturating_duration_since(self.screen_since)
                    >= Duration::from_secs(COUNTDOWN_S) =>
            {
                self.go(Screen::Recording, now);
                self.recording = RecordingClock::IDLE;
                fx.push(Effect::StartRecording);
            }
            Screen::Recording => {
                if let Some(start) = self.recording.started {
                    let t = now.saturating_duration_since(start);
                    if !self.recording.warned
                        && t + self.cfg.warn_before_end >= self.cfg.max_recording
                    {
                        self.recording.warned = true;
                    }
                    if t >= self.cfg.max_recording && !self.recording.stopping {
                        self.recording.stopping = true;
                        fx.push(Effect::StopRecording);
                    }
                }
            }
            Screen::ThankYou | Screen::BackToReception
                if now.saturating_duration_since(self.screen_since)
                    >= Duration::from_secs(THANK_YOU_S) =>
            {
                fx.extend(self.wipe(now));
            }
            // A commit that failed (disk full, store busy) is retried by itself while nobody
            // touches the booth: the take is never given up by a timeout.
            Screen::Finishing
                if self.session.commit_error.is_some()
                    && now.saturating_duration_since(self.last_touch.max(self.screen_since))
                        >= self.cfg.idle_timeout =>
            {
                fx.extend(self.commit(now));
            }
            Screen::LookupCode => {
                if let Some(t) = self.session.locked_until {
                    if now >= t {
                        self.session.locked_until = None;
                        self.session.lookup_error = None;
                    }
                }
            }
            _ => {}
        }
        fx
    }

    /// Handles one event.
    pub fn handle(&mut self, ev: Event, now: Instant) -> Vec<Effect> {
        let user = matches!(ev, Event::Tap(_) | Event::Touch | Event::Key(_));
        if user {
            self.last_touch = now;
            if self.idle.take().is_some() {
                // Any touch answers the idle question.
                if matches!(ev, Event::Tap(Action::StillHere) | Event::Touch) {
                    return Vec::new();
                }
            }
        }
        match ev {
            Event::Touch => Vec::new(),
            Event::Tap(a) => self.on_action(a, now),
            Event::Key(k) => self.on_key(k, now),
            other => self.on_result(other, now),
        }
    }

    fn on_action(&mut self, a: Action, now: Instant) -> Vec<Effect> {
        use Screen as S;
        // Actions valid on every screen.
        match &a {
            Action::Contrast => {
                self.display.high_contrast = !self.display.high_contrast;
                return Vec::new();
            }
            Action::LargeType => {
                self.display.large_type = !self.display.large_type;
                return Vec::new();
            }
            Action::StillHere => return Vec::new(),
            Action::Help
                if !matches!(
                    self.screen,
                    S::Help | S::Countdown | S::Recording | S::Finishing
                ) =>
            {
                self.help_return = Some(self.screen);
                self.go(S::Help, now);
                return Vec::new();
            }
            Action::ServiceCorner if matches!(self.screen, S::Attract | S::Language) => {
                self.session.pin.clear();
                self.session.pin_error = false;
                self.go(S::ServicePin, now);
                return Vec::new();
            }
            _ => {}
        }
        match (self.screen, a) {
            (S::Attract, Action::Start) => {
                self.go(S::Language, now);
                Vec::new()
            }
            (S::Language, Action::Language(l)) => {
                self.session.language = l;
                self.go(S::Menu, now);
                Vec::new()
            }
            (S::Language, Action::Back) => self.wipe(now),
            (S::Menu, Action::Record) => {
                if self.clock_problem.is_some() {
                    // Receipt dates and deadlines would be wrong: refuse, say where to go.
                    self.session.error = Some("record-unavailable-clock");
                    return Vec::new();
                }
                if self.agencies.is_empty() {
                    // 003 p.25: only connected agencies; none has arrived from the centre yet.
                    self.session.error = Some("record-unavailable-directory");
                    return Vec::new();
                }
                if self.cfg.ticket_required {
                    self.session.ticket.clear();
                    self.go(S::Ticket, now);
                } else {
                    self.go(S::Consent, now);
                }
                Vec::new()
            }
            (S::Menu, Action::ViewAnswer) => {
                self.session.code.clear();
                self.session.lookup_error = None;
                self.go(S::LookupCode, now);
                Vec::new()
            }
            (S::Menu, Action::Back) => {
                self.go(S::Language, now);
                Vec::new()
            }
            (S::Help, Action::Back) => {
                let to = self.help_return.take().unwrap_or(S::Menu);
                self.go(to, now);
                Vec::new()
            }
            (S::Ticket, Action::Next) => self.submit_ticket(),
            (S::Ticket, Action::Back) => {
                self.go(S::Menu, now);
                Vec::new()
            }
            (S::Consent, Action::Agree) => {
                self.session.consent = true;
                self.session.active_field = Some(self.first_field());
                self.go(S::Applicant, now);
                Vec::new()
            }
            (S::Consent, Action::Back) => {
                self.go(S::Menu, now);
                Vec::new()
            }
            (S::Applicant, Action::ApplicantType(_)) if !self.session.locked.is_empty() => {
                Vec::new()
            }
            (S::Applicant, Action::ApplicantType(t)) => {
                self.session.applicant_type = t;
                self.session.field_errors.clear();
                self.session.active_field = Some(self.first_field());
                Vec::new()
            }
            (S::Applicant, Action::Field(f)) if self.session.locked.contains(&f) => Vec::new(),
            (S::Applicant, Action::NotMe) if !self.session.locked.is_empty() => {
                tracing::info!(
                    "identity from the ticket refused by the citizen: back to reception"
                );
                self.go(S::BackToReception, now);
                Vec::new()
            }
            (S::BackToReception, Action::Done | Action::Next) => self.wipe(now),
            (S::Applicant | S::Complaint, Action::Field(f)) => {
                self.session.active_field = Some(f);
                Vec::new()
            }
            (S::Applicant, Action::Next) => {
                match parse_applicant(self.session.applicant_type, &self.session.fields) {
                    Ok(_) => {
                        self.session.field_errors.clear();
                        self.session.active_field = None;
                        self.go(S::Addressee, now);
                    }
                    Err(errs) => {
                        self.session.active_field = errs.keys().next().copied();
                        self.session.field_errors = errs;
                    }
                }
                Vec::new()
            }
            (S::Applicant, Action::Back) => {
                self.go(S::Consent, now);
                Vec::new()
            }
            (S::Addressee, Action::Category(c)) => {
                self.session.category = c;
                Vec::new()
            }
            (S::Addressee, Action::Agency(id)) => {
                if self.agencies.iter().any(|a| a.id == id) {
                    self.session.addressee = Some(id);
                    self.go(S::Kind, now);
                }
                Vec::new()
            }
            (S::Addressee, Action::Back) => {
                self.go(S::Applicant, now);
                Vec::new()
            }
            (S::Kind, Action::Kind(k)) => {
                self.session.kind = Some(k);
                if k == AppealKind::Complaint {
                    self.session.active_field = Some(FieldId::ComplaintAgency);
                    self.go(S::Complaint, now);
                    Vec::new()
                } else {
                    self.enter_check(now)
                }
            }
            (S::Kind, Action::Back) => {
                self.go(S::Addressee, now);
                Vec::new()
            }
            (S::Complaint, Action::Next) => match parse_complaint(&self.session.fields) {
                Ok(_) => {
                    self.session.field_errors.clear();
                    self.session.active_field = None;
                    self.enter_check(now)
                }
                Err(errs) => {
                    self.session.active_field = errs.keys().next().copied();
                    self.session.field_errors = errs;
                    Vec::new()
                }
            },
            (S::Complaint, Action::Back) => {
                self.go(S::Kind, now);
                Vec::new()
            }
            (S::Check, Action::BeginRecording) if self.can_begin() => {
                self.go(S::Countdown, now);
                Vec::new()
            }
            (S::Check, Action::Back) => {
                self.go(
                    if self.session.continuation_of.is_some() {
                        S::Continuation
                    } else {
                        S::Kind
                    },
                    now,
                );
                vec![Effect::StopPreview]
            }
            // 003 p.27: "Finish recording" is the sending; the commit follows the stop.
            (S::Recording, Action::FinishRecording)
                if self.recording.started.is_some() && !self.recording.stopping =>
            {
                self.recording.stopping = true;
                self.session.confirm_discard = false;
                vec![Effect::StopRecording]
            }
            (S::Recording, Action::Discard)
                if self.recording.started.is_some()
                    && !self.recording.stopping
                    && self.rerecords_left() > 0 =>
            {
                self.session.confirm_discard = true;
                Vec::new()
            }
            (S::Recording, Action::DiscardCancel) => {
                self.session.confirm_discard = false;
                Vec::new()
            }
            (S::Recording, Action::DiscardConfirm)
                if self.session.confirm_discard && !self.recording.stopping =>
            {
                self.session.confirm_discard = false;
                self.recording.stopping = true;
                self.recording.discarding = true;
                vec![Effect::StopRecording]
            }
            (S::Finishing, Action::Retry) if self.session.commit_error.is_some() => {
                self.commit(now)
            }
            (S::Receipt, Action::PrintAgain) => match &self.session.receipt {
                Some(r) => vec![Effect::Print(Box::new(r.clone()))],
                None => Vec::new(),
            },
            // A receipt recovered after a restart has no session to continue.
            (S::Receipt, Action::Next) if self.session.recovered => {
                self.go(S::ThankYou, now);
                Vec::new()
            }
            (S::Receipt, Action::Next) => {
                self.go(S::Continuation, now);
                Vec::new()
            }
            (S::Continuation, Action::Continue) => {
                let Some(r) = &self.session.receipt else {
                    return Vec::new();
                };
                self.session.continuation_of = Some(r.appeal_id);
                self.session.takes = 0;
                self.session.take = None;
                self.session.print = None;
                self.enter_check(now)
            }
            (S::Continuation, Action::Done) => {
                self.go(S::ThankYou, now);
                Vec::new()
            }
            (S::ThankYou, Action::Next | Action::Done) => self.wipe(now),
            (S::LookupCode, Action::Next) => self.submit_code(now),
            (S::LookupCode, Action::ScanQr) => {
                self.session.scanning = !self.session.scanning;
                vec![if self.session.scanning {
                    Effect::StartQrScan
                } else {
                    Effect::StopQrScan
                }]
            }
            (S::LookupCode, Action::Back) => {
                let mut fx = Vec::new();
                if self.session.scanning {
                    self.session.scanning = false;
                    fx.push(Effect::StopQrScan);
                }
                self.go(S::Menu, now);
                fx
            }
            // Seed 004: satisfaction is rated on an answer; an appeal without one has nothing
            // to rate yet (the centre refuses such a rating too).
            (S::LookupResult, Action::Next) => {
                let answered = self
                    .session
                    .result
                    .as_ref()
                    .is_some_and(|r| r.answer.is_some());
                self.go(if answered { S::Rating } else { S::ThankYou }, now);
                Vec::new()
            }
            (S::LookupResult, Action::Back) => {
                self.session.code.clear();
                self.go(S::LookupCode, now);
                Vec::new()
            }
            (S::Rating, Action::Rate(r)) if (1..=5).contains(&r) => {
                let Some(v) = self.session.result.as_ref().filter(|v| v.answer.is_some()) else {
                    return Vec::new();
                };
                self.session.rated = Some(r);
                vec![Effect::SaveRating {
                    appeal_id: v.appeal_id,
                    rating: r,
                }]
            }
            (S::Rating, Action::Done | Action::Next) => {
                self.go(S::ThankYou, now);
                Vec::new()
            }
            (S::ServicePin, Action::Next) => {
                if self.session.pin == self.cfg.technician_pin {
                    tracing::info!("service mode entered");
                    self.go(S::Service, now);
                    vec![Effect::ReadDiagnostics]
                } else {
                    tracing::warn!("wrong technician PIN");
                    self.session.pin.clear();
                    self.session.pin_error = true;
                    Vec::new()
                }
            }
            (S::ServicePin, Action::Back) | (S::Service, Action::ServiceExit) => self.wipe(now),
            (S::Service, Action::ServiceRefresh) => vec![Effect::ReadDiagnostics],
            (S::Service, Action::ServicePrintTest) => vec![Effect::PrintTest],
            (S::Service, Action::ServiceReprint) => vec![Effect::Reprint],
            _ => Vec::new(),
        }
    }

    /// The first field the citizen can type in (identity from the journal is read-only).
    fn first_field(&self) -> FieldId {
        let order: &[FieldId] = match self.session.applicant_type {
            ApplicantType::Individual => &FieldId::INDIVIDUAL,
            ApplicantType::LegalEntity => &FieldId::LEGAL,
        };
        order
            .iter()
            .copied()
            .find(|f| !self.session.locked.contains(f))
            .unwrap_or(order[0])
    }

    fn enter_check(&mut self, now: Instant) -> Vec<Effect> {
        self.session.preview_ok = None;
        self.session.voice_heard = false;
        self.session.mic_level = 0.0;
        self.go(Screen::Check, now);
        vec![Effect::StartPreview, Effect::CheckPrinter]
    }

    fn submit_ticket(&mut self) -> Vec<Effect> {
        if self.session.ticket_checking {
            return Vec::new();
        }
        if self.session.ticket.len() != 6 {
            self.session.error = Some("ticket-six-digits");
            return Vec::new();
        }
        self.session.ticket_checking = true;
        self.session.error = None;
        vec![Effect::RedeemTicket(self.session.ticket.clone())]
    }

    fn submit_code(&mut self, now: Instant) -> Vec<Effect> {
        if self.session.looking_up || self.session.locked_until.is_some_and(|t| now < t) {
            return Vec::new();
        }
        let typed = self.session.code.clone();
        let digits = code_from_payload(&typed).unwrap_or(typed);
        match SecretCode::check_partial(&digits) {
            Ok(Some(code)) => {
                self.session.looking_up = true;
                self.session.lookup_error = None;
                vec![Effect::Lookup(code)]
            }
            Ok(None) => {
                self.session.lookup_error = Some("error-code-length");
                Vec::new()
            }
            Err(e) => {
                self.session.lookup_error = Some(e.message_key());
                Vec::new()
            }
        }
    }

    fn commit(&mut self, now: Instant) -> Vec<Effect> {
        let (Some(take), Some(kind), Some(agency)) =
            (self.session.take, self.session.kind, self.addressee())
        else {
            return Vec::new();
        };
        let Ok(applicant) = parse_applicant(self.session.applicant_type, &self.session.fields)
        else {
            return Vec::new();
        };
        let complaint = if kind == AppealKind::Complaint {
            parse_complaint(&self.session.fields).ok()
        } else {
            None
        };
        let req = CommitRequest {
            applicant,
            addressee_id: agency.id.clone(),
            addressee_name: agency.name(self.session.language).to_owned(),
            kind,
            complaint,
            language: self.session.language,
            duration_ms: take.duration_ms,
            recorded_at: take.ended_at,
            continuation_of: self.session.continuation_of,
            ticket: self.session.ticket_ok.clone(),
            visit_id: self.session.visit_id,
        };
        self.session.commit_error = None;
        self.go(Screen::Finishing, now);
        vec![Effect::StopPreview, Effect::Commit(Box::new(req))]
    }

    fn on_key(&mut self, k: Key, now: Instant) -> Vec<Effect> {
        let digits_only = |s: &mut String, k: &Key, max: usize| match k {
            Key::Text(t) => {
                for c in t.chars().filter(char::is_ascii_digit) {
                    if s.len() < max {
                        s.push(c);
                    }
                }
            }
            Key::Backspace => {
                s.pop();
            }
            Key::Enter => {}
        };
        match self.screen {
            Screen::Ticket => {
                if k == Key::Enter {
                    return self.submit_ticket();
                }
                digits_only(&mut self.session.ticket, &k, 6);
                self.session.error = None;
                Vec::new()
            }
            Screen::ServicePin => {
                if k == Key::Enter {
                    return self.on_action(Action::Next, now);
                }
                digits_only(&mut self.session.pin, &k, 12);
                self.session.pin_error = false;
                Vec::new()
            }
            Screen::LookupCode => {
                if self.session.locked_until.is_some_and(|t| now < t) {
                    return Vec::new();
                }
                match k {
                    Key::Enter => return self.submit_code(now),
                    Key::Backspace => {
                        self.session.code.pop();
                    }
                    Key::Text(t) => {
                        // A scanner types the whole QR payload; the keypad types digits. Keep the
                        // raw text (bounded) and pick the code out of it on Enter; a keypad entry
                        // stops at 12 digits.
                        for c in t.chars() {
                            let plain = self.session.code.chars().all(|x| x.is_ascii_digit());
                            let full = plain
                                && c.is_ascii_digit()
                                && self.session.code.len() >= booth_core::code::SECRET_CODE_LEN;
                            if self.session.code.chars().count() < 64 && !c.is_control() && !full {
                                self.session.code.push(c);
                            }
                        }
                    }
                }
                self.session.lookup_error = None;
                // A code typed on the keypad is submitted as soon as it is complete and valid.
                let plain = self
                    .session
                    .code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ' ');
                if plain {
                    match SecretCode::check_partial(&self.session.code) {
                        Ok(Some(_)) => return self.submit_code(now),
                        Err(e) => self.session.lookup_error = Some(e.message_key()),
                        Ok(None) => {}
                    }
                }
                Vec::new()
            }
            Screen::Applicant | Screen::Complaint => {
                let Some(f) = self.session.active_field else {
                    return Vec::new();
                };
                if self.session.locked.contains(&f) && k != Key::Enter {
                    return Vec::new();
                }
                let text = self.session.fields.entry(f).or_default();
                match k {
                    Key::Text(t) => {
                        for c in t.chars().filter(|c| !c.is_control()) {
                            if text.chars().count() < MAX_FIELD_CHARS {
                                text.push(c);
                            }
                        }
                    }
                    Key::Backspace => {
                        text.pop();
                    }
                    Key::Enter => {
                        // Enter moves to the next field of the screen.
                        let order = self.field_order();
                        if let Some(i) = order.iter().position(|x| *x == f) {
                            self.session.active_field = order[i + 1..]
                                .iter()
                                .copied()
                                .find(|x| !self.session.locked.contains(x))
                                .or(Some(f));
                        }
                    }
                }
                self.session.field_errors.remove(&f);
                Vec::new()
            }
            Screen::Addressee => {
                match k {
                    Key::Text(t) => self
                        .session
                        .search
                        .extend(t.chars().filter(|c| !c.is_control())),
                    Key::Backspace => {
                        self.session.search.pop();
                    }
                    Key::Enter => {
                        let m = self.matching_agencies();
                        if m.len() == 1 {
                            let id = m[0].id.clone();
                            return self.on_action(Action::Agency(id), now);
                        }
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Fields of the current form, in screen order.
    pub fn field_order(&self) -> Vec<FieldId> {
        match self.screen {
            Screen::Complaint => FieldId::COMPLAINT.to_vec(),
            _ => match self.session.applicant_type {
                ApplicantType::Individual => FieldId::INDIVIDUAL.to_vec(),
                ApplicantType::LegalEntity => FieldId::LEGAL.to_vec(),
            },
        }
    }

    fn on_result(&mut self, ev: Event, now: Instant) -> Vec<Effect> {
        use Screen as S;
        match (self.screen, ev) {
            (S::Ticket, Event::TicketChecked(r)) => {
                self.session.ticket_checking = false;
                match r {
                    Ok(p) => {
                        self.session.ticket_ok = Some(self.session.ticket.clone());
                        self.apply_prefill(p);
                        self.go(S::Consent, now);
                    }
                    Err(e) => {
                        self.session.ticket.clear();
                        self.session.error = Some(e.message_key());
                    }
                }
                Vec::new()
            }
            (_, Event::PrinterStatus(p)) => {
                self.session.printer = Some(p);
                Vec::new()
            }
            (S::Check, Event::PreviewStarted(r)) => {
                self.session.error = r.err().map(RecorderError::message_key);
                self.session.preview_ok = Some(r);
                Vec::new()
            }
            (_, Event::MicLevel(l)) => {
                self.session.mic_level = l.clamp(0.0, 1.0);
                if self.screen == S::Check && l >= VOICE_LEVEL {
                    self.session.voice_heard = true;
                }
                Vec::new()
            }
            (S::Recording, Event::RecordingStarted(Ok(()))) => {
                self.recording.started = Some(now);
                Vec::new()
            }
            (S::Recording, Event::RecordingStarted(Err(e))) => {
                self.recording = RecordingClock::IDLE;
                self.session.preview_ok = Some(Err(e));
                self.go(S::Check, now);
                self.session.error = Some(e.message_key());
                Vec::new()
            }
            (S::Recording, Event::RecordingStopped(Ok(_))) if self.recording.discarding => {
                self.session.takes += 1;
                self.recording = RecordingClock::IDLE;
                self.session.take = None;
                // Back to the check screen (the preview still runs): begin again when ready.
                self.go(S::Check, now);
                vec![Effect::DiscardRecording]
            }
            // 003 p.27 and p.24: the stop (by "Finish recording" or the 3:00 limit) commits at
            // once; a citizen who walked away mid-take is sent like any other.
            (S::Recording, Event::RecordingStopped(Ok(take))) => {
                self.session.takes += 1;
                self.session.take = Some(take);
                self.session.take_ended_at = Some(take.ended_at);
                self.session.silent_take = take.speech_fraction < self.cfg.min_speech_fraction;
                self.recording = RecordingClock::IDLE;
                self.commit(now)
            }
            (S::Recording, Event::RecordingStopped(Err(e))) => {
                self.recording = RecordingClock::IDLE;
                self.go(S::Check, now);
                self.session.error = Some(e.message_key());
                vec![Effect::DiscardRecording]
            }
            (S::Finishing, Event::Committed(Ok(r))) => {
                let mut fx = Vec::new();
                if let Some(id) = self.unprinted_receipt() {
                    fx.push(Effect::GiveUpReceipt(id));
                }
                self.session.receipt = Some((*r).clone());
                self.session.take = None;
                self.session.print = None;
                self.session.commit_error = None;
                self.go(S::Receipt, now);
                if self.session.silent_take {
                    // 003 p.26: an appeal that states no substance is not considered.
                    self.session.error = Some("warning-silent-sent");
                }
                fx.push(Effect::Print(r));
                fx
            }
            (S::Finishing, Event::Committed(Err(e))) => {
                tracing::error!(
                    error = e.message_key(),
                    "appeal commit failed; recording kept for retry"
                );
                self.session.commit_error = Some(e);
                self.session.error = Some(e.message_key());
                Vec::new()
            }
            (_, Event::Printed(o)) => {
                self.session.print = Some(o);
                if let PrintOutcome::Failed(p) = o {
                    self.session.printer = Some(p);
                }
                Vec::new()
            }
            (S::LookupCode, Event::QrDecoded(payload)) => {
                let Some(code) = code_from_payload(&payload) else {
                    self.session.lookup_error = Some("error-qr-unreadable");
                    return Vec::new();
                };
                self.session.scanning = false;
                self.session.code = code;
                let mut fx = vec![Effect::StopQrScan];
                fx.extend(self.submit_code(now));
                fx
            }
            (S::LookupCode, Event::LookedUp(o)) => {
                self.session.looking_up = false;
                match o {
                    LookupOutcome::Found(v) => {
                        self.session.rated = v.rated;
                        self.session.result = Some(*v);
                        self.go(S::LookupResult, now);
                    }
                    LookupOutcome::NotFound => {
                        self.session.code.clear();
                        self.session.lookup_error = Some("lookup-not-found");
                    }
                    LookupOutcome::RateLimited(s) => {
                        self.session.code.clear();
                        self.session.locked_until = Some(now + Duration::from_secs(s));
                        self.session.lookup_error = Some("lookup-wait");
                    }
                    LookupOutcome::Unavailable => {
                        self.session.lookup_error = Some("lookup-unavailable");
                    }
                }
                Vec::new()
            }
            (_, Event::ClockChecked(p)) => {
                if p.is_none() && self.session.error == Some("record-unavailable-clock") {
                    self.session.error = None;
                }
                self.clock_problem = p;
                Vec::new()
            }
            (S::Attract, Event::SettingsLoaded(e)) => {
                self.agencies = e.agencies;
                self.cfg.max_recording = Duration::from_secs(u64::from(e.max_recording_s));
                Vec::new()
            }
            (S::Attract, Event::ReceiptRecovered(r)) => {
                self.session.language = r.language;
                self.session.recovered = true;
                self.session.receipt = Some((*r).clone());
                self.session.print = None;
                self.go(S::Receipt, now);
                vec![Effect::Print(r)]
            }
            // Somebody already uses the booth: the receipt goes to the service-mode list.
            (_, Event::ReceiptRecovered(r)) => vec![Effect::GiveUpReceipt(r.appeal_id)],
            (_, Event::Diagnostics(d)) => {
                self.session.diagnostics = d;
                Vec::new()
            }
            (_, Event::Rated) => Vec::new(),
            // A result for a screen the citizen has left (e.g. wiped by the idle timeout).
            (_, Event::RecordingStopped(_)) => vec![Effect::DiscardRecording],
            _ => Vec::new(),
        }
    }

    /// The session's receipt, when it has not printed (yet).
    fn unprinted_receipt(&self) -> Option<Uuid> {
        let r = self.session.receipt.as_ref()?;
        (self.session.print != Some(PrintOutcome::Printed)).then_some(r.appeal_id)
    }

    fn apply_prefill(&mut self, p: Prefill) {
        self.session.visit_id = p.visit_id.parse().ok();
        let identity = [
            FieldId::Surname,
            FieldId::Name,
            FieldId::Patronymic,
            FieldId::Iin,
            FieldId::Bin,
            FieldId::EntityName,
        ];
        for id in identity {
            let v = match id {
                FieldId::Surname => &p.surname,
                FieldId::Name => &p.name,
                FieldId::Patronymic => &p.patronymic,
                FieldId::Iin => &p.iin,
                FieldId::Bin => match &p.entity {
                    Some((b, _)) => b,
                    None => continue,
                },
                FieldId::EntityName => match &p.entity {
                    Some((_, n)) => n,
                    None => continue,
                },
                _ => continue,
            };
            if !v.is_empty() {
                self.session.locked.insert(id);
            }
        }
        let f = &mut self.session.fields;
        let mut set = |id: FieldId, v: String| {
            if !v.is_empty() {
                f.insert(id, v);
            }
        };
        set(FieldId::Surname, p.surname);
        set(FieldId::Name, p.name);
        set(FieldId::Patronymic, p.patronymic);
        set(FieldId::Email, p.email.clone());
        set(FieldId::Iin, p.iin);
        if let Some((bin, name)) = p.entity {
            set(FieldId::Bin, bin);
            set(FieldId::EntityName, name);
            set(FieldId::EntityEmail, p.email);
            self.session.applicant_type = ApplicantType::LegalEntity;
        }
    }
}

/// Seconds to wait after `failures` wrong codes in a row: free attempts first, then the delay
/// doubles up to the maximum (booth-core `[lookup]` config).
pub fn lookup_delay_s(failures: u32, cfg: &booth_core::config::LookupSection) -> u64 {
    if failures < cfg.free_attempts {
        return 0;
    }
    let extra = failures - cfg.free_attempts;
    let d = u64::from(cfg.delay_s).saturating_mul(1u64 << extra.min(20));
    d.min(u64::from(cfg.max_delay_s))
}
