//! Adapters from the kiosk's ports to the real implementations: the GStreamer recorder and
//! age sealing of booth-hardware, the ESC/POS receipt printer, the reception journal's
//! tickets in the shared store, and lookups through the sync agent's local API (local store
//! first, then the central service for appeals recorded at other branches).
//!
//! Chosen by [`real_ports`] for a booth's normal run and for headless runs with `--real`; the
//! `Sim*` devices of [`crate::sim`] remain for scripted screen tests that turn device knobs.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};

use booth_core::code::LookupId;
use booth_core::config::Config;
use booth_core::localapi::{self, LookupAnswer, Request, Response};
use booth_core::store::{Store, StoreError, kiosk as kstore, reception, sync as ssync};
use booth_core::{Clock, Language, MediaRef, StatusEvent};
use booth_hardware::printer::{PrinterStatus, ReceiptPrinter};
use booth_hardware::recorder::{
    self as rec, Recorder as HwRecorder, RecorderEvent, RecorderSettings, RecordingHandle,
};
use uuid::Uuid;

use crate::adapters::{StoreLookup, local_text};
use crate::flow::{
    AnswerView, LookupView, Prefill, PrintOutcome, PrinterState, ReceiptData, RecorderError,
    TicketError,
};
use crate::ports::{
    AnswerLookup, Frame, LookupUnavailable, Ports, Printer, RecordedTake, Recorder, SealError,
    Sealer, TicketRedeemer,
};

fn map_rec_err(e: &rec::RecorderError) -> RecorderError {
    match e {
        rec::RecorderError::CameraFailed { .. } => RecorderError::CameraMissing,
        rec::RecorderError::MicrophoneFailed { .. } => RecorderError::MicrophoneMissing,
        rec::RecorderError::DiskFull { .. } => RecorderError::DiskFull,
        _ => RecorderError::Failed,
    }
}

/// The GStreamer recorder: a check pipeline for the live preview and level meter, and a
/// recording pipeline for each take. One owner (the controller's mutex).
pub struct GstRecorder {
    settings: RecorderSettings,
    preview: Option<(RecordingHandle, Receiver<RecorderEvent>)>,
    recording: Option<(RecordingHandle, Receiver<RecorderEvent>)>,
    level: f32,
    last_take: Option<PathBuf>,
    encoder: String,
}

impl GstRecorder {
    /// From the booth config.
    pub fn new(cfg: &Config) -> Result<GstRecorder, rec::RecorderError> {
        let settings = RecorderSettings::from_config(cfg)?;
        // Left-overs of a crash are plaintext: wipe them at start-up.
        let _ = rec::cleanup_ram_dir(&settings.ram_dir);
        Ok(GstRecorder {
            settings,
            preview: None,
            recording: None,
            level: 0.0,
            last_take: None,
            encoder: String::new(),
        })
    }

    fn drain(&mut self) {
        for slot in [&self.preview, &self.recording].into_iter().flatten() {
            while let Ok(ev) = slot.1.try_recv() {
                match ev {
                    RecorderEvent::Level(l) => {
                        self.level = ((l.rms_db + 60.0) / 60.0).clamp(0.0, 1.0)
                    }
                    RecorderEvent::Started {
                        encoder: Some(e), ..
                    } => self.encoder = format!("{e:?}"),
                    _ => {}
                }
            }
        }
    }
}

fn to_frame(f: &booth_hardware::recorder::preview::Frame) -> Frame {
    let rgb = f
        .rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Frame {
        width: f.width,
        height: f.height,
        rgb,
    }
}

impl Recorder for GstRecorder {
    fn start_preview(&mut self) -> Result<(), RecorderError> {
        if self.preview.is_some() {
            return Ok(());
        }
        let (tx, rx) = channel();
        let h = HwRecorder::check(&self.settings, tx).map_err(|e| {
            tracing::error!(error = %e, "camera/microphone check failed");
            map_rec_err(&e)
        })?;
        self.preview = Some((h, rx));
        Ok(())
    }

    fn stop_preview(&mut self) {
        if let Some((h, _)) = self.preview.take() {
            h.cancel();
        }
    }

    fn preview_frame(&mut self) -> Option<Frame> {
        self.drain();
        let slot = self.recording.as_ref().or(self.preview.as_ref())?;
        slot.0.preview().latest().map(|f| to_frame(&f))
    }

    fn mic_level(&mut self) -> f32 {
        self.drain();
        self.level
    }

    fn start(&mut self) -> Result<(), RecorderError> {
        // One owner of camera and microphone: the check pipeline gives them up first.
        self.stop_preview();
        let (tx, rx) = channel();
        let h = HwRecorder::start(&self.settings, tx).map_err(|e| {
            tracing::error!(error = %e, "recording failed to start");
            map_rec_err(&e)
        })?;
        self.recording = Some((h, rx));
        Ok(())
    }

    fn stop(&mut self) -> Result<RecordedTake, RecorderError> {
        let (h, _rx) = self.recording.take().ok_or(RecorderError::Failed)?;
        let take = h.finish().map_err(|e| {
            tracing::error!(error = %e, "recording failed");
            map_rec_err(&e)
        })?;
        self.last_take = Some(take.path.clone());
        Ok(RecordedTake {
            path: take.path.clone(),
            duration_ms: u32::try_from(take.duration.as_millis()).unwrap_or(u32::MAX),
            speech_fraction: take.speech_fraction,
            content_type: take.content_type().to_owned(),
        })
    }

    fn discard(&mut self) {
        if let Some((h, _)) = self.recording.take() {
            h.cancel();
        }
        if let Some(p) = self.last_take.take() {
            let _ = std::fs::remove_file(p);
        }
    }

    fn describe(&self) -> String {
        format!(
            "GStreamer recorder ({}x{}@{}, encoder {})",
            self.settings.width,
            self.settings.height,
            self.settings.fps,
            if self.encoder.is_empty() {
                "not chosen yet"
            } else {
                &self.encoder
            }
        )
    }
}

/// Seals takes with age to the central service's recipients (from enrollment, kept in the
/// store by the sync agent; else from `[recorder] recipients`), then removes the plaintext.
pub struct AgeSealer {
    cfg: Config,
}

impl AgeSealer {
    /// From the booth config. Removes the temporary files of seals a crash interrupted
    /// (`.<id>.age.tmp`; never a finished seal): the kiosk is the only sealer, and this runs
    /// before it seals anything.
    pub fn new(cfg: &Config) -> AgeSealer {
        match booth_hardware::seal::cleanup_outbox_temps(&cfg.paths.outbox_dir) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(count = n, "removed temp files of interrupted seals"),
            Err(e) => tracing::error!(error = %e, "cannot clean interrupted seals from the outbox"),
        }
        AgeSealer { cfg: cfg.clone() }
    }

    fn recipients(&self) -> Result<Vec<String>, SealError> {
        let mut list = self.cfg.recorder.recipients.clone();
        if let Ok(mut s) = Store::open(&self.cfg.paths.database()) {
            if let Ok(Some(r)) =
                s.read(|tx| booth_core::store::kv_get(tx, ssync::KV_AGE_RECIPIENTS))
            {
                list.extend(
                    r.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        list.dedup();
        if list.is_empty() {
            return Err(SealError::Crypto(
                "no age recipients: the booth is not enrolled".into(),
            ));
        }
        Ok(list)
    }
}

impl Sealer for AgeSealer {
    fn seal(&self, take: &RecordedTake, id: Uuid) -> Result<MediaRef, SealError> {
        let recipients = booth_hardware::seal::parse_recipients(&self.recipients()?)
            .map_err(|e| SealError::Crypto(e.to_string()))?;
        let mut media =
            booth_hardware::seal::seal(&take.path, &recipients, &self.cfg.paths.outbox_dir, id)
                .map_err(|e| match e {
                    booth_hardware::seal::SealError::DiskFull { .. } => {
                        SealError::DiskFull(std::io::Error::other(e.to_string()))
                    }
                    other => SealError::Io(std::io::Error::other(other.to_string())),
                })?;
        media.content_type = take.content_type.clone();
        let _ = std::fs::remove_file(&take.path);
        Ok(media)
    }
}

/// The ESC/POS receipt printer of booth-hardware.
pub struct EscPosPrinter {
    printer: Option<ReceiptPrinter>,
    booth_id: String,
}

fn state_of(s: &PrinterStatus) -> PrinterState {
    match s {
        PrinterStatus::Ready => PrinterState::Ready,
        PrinterStatus::PaperNearEnd => PrinterState::PaperLow,
        PrinterStatus::PaperOut => PrinterState::PaperOut,
        PrinterStatus::CoverOpen => PrinterState::CoverOpen,
        PrinterStatus::Offline { .. } | PrinterStatus::NotConnected { .. } => PrinterState::Offline,
    }
}

impl EscPosPrinter {
    /// From the booth config (`transport = "none"` gives a printer that is always offline).
    pub fn new(cfg: &Config) -> EscPosPrinter {
        let printer = if cfg.printer.transport == "none" {
            None
        } else {
            ReceiptPrinter::from_config(&cfg.printer)
                .map_err(|e| tracing::error!(error = %e, "receipt printer configuration"))
                .ok()
        };
        EscPosPrinter {
            printer,
            booth_id: cfg.booth.id.clone(),
        }
    }
}

impl Printer for EscPosPrinter {
    fn set_contacts(&mut self, c: &booth_core::settings::Contacts) {
        if let Some(p) = self.printer.as_mut() {
            p.set_contacts(booth_hardware::printer::ReceiptContacts {
                branch_address: c.branch_address.clone(),
                answer_phone: c.answer_phone.clone(),
                answer_web: c.answer_web.clone(),
            });
        }
    }

    fn status(&mut self) -> PrinterState {
        self.printer
            .as_ref()
            .map(|p| state_of(&p.status()))
            .unwrap_or(PrinterState::Offline)
    }

    fn print_receipt(&mut self, r: &ReceiptData) -> PrintOutcome {
        let Some(p) = self.printer.as_mut() else {
            return PrintOutcome::Failed(PrinterState::Offline);
        };
        let Ok(regno) = r.registration_number.parse() else {
            return PrintOutcome::Failed(PrinterState::Offline);
        };
        let data = booth_hardware::printer::ReceiptData {
            branch_name: r.branch_name.clone(),
            booth_id: self.booth_id.clone(),
            registration_number: regno,
            recorded_at: chrono::NaiveDateTime::parse_from_str(&r.recorded_local, "%d.%m.%Y %H:%M")
                .unwrap_or_else(|_| r.recorded_at.naive_utc()),
            addressee: r.addressee.clone(),
            kind: r.kind,
            secret_code: r.code.clone(),
            expected_answer_date: r.expected_answer_date,
            language: r.language,
        };
        match p.print(&data) {
            Ok(_) => PrintOutcome::Printed,
            Err(e) => {
                tracing::warn!(error = %e, "receipt not printed; kept for reprint");
                PrintOutcome::Failed(state_of(&e.as_status()))
            }
        }
    }

    fn print_test(&mut self) -> PrintOutcome {
        let Some(p) = self.printer.as_mut() else {
            return PrintOutcome::Failed(PrinterState::Offline);
        };
        match p.print_test(Language::Kk) {
            Ok(_) => PrintOutcome::Printed,
            Err(e) => PrintOutcome::Failed(state_of(&e.as_status())),
        }
    }

    fn reprint_last(&mut self) -> PrintOutcome {
        let Some(p) = self.printer.as_mut() else {
            return PrintOutcome::Failed(PrinterState::Offline);
        };
        match p.reprint_last() {
            Ok(_) => PrintOutcome::Printed,
            Err(e) => PrintOutcome::Failed(state_of(&e.as_status())),
        }
    }
}

/// Tickets of the reception journal in the shared store (single use, bound to this booth or
/// any booth of the branch, guesses rate-limited by the store).
pub struct StoreTickets {
    cfg: Config,
    clock: Arc<dyn Clock>,
    store: Mutex<Option<Store>>,
}

impl StoreTickets {
    /// From the booth config.
    pub fn new(cfg: &Config, clock: Arc<dyn Clock>) -> StoreTickets {
        StoreTickets {
            cfg: cfg.clone(),
            clock,
            store: Mutex::new(None),
        }
    }
}

impl TicketRedeemer for StoreTickets {
    fn redeem(&self, ticket: &str) -> Result<Prefill, TicketError> {
        let mut g = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(
                Store::open(&self.cfg.paths.database()).map_err(|_| TicketError::Unavailable)?,
            );
        }
        let store = g.as_mut().ok_or(TicketError::Unavailable)?;
        match reception::redeem_ticket(store, ticket, &self.cfg.booth.id, self.clock.now()) {
            Ok(p) => Ok(Prefill {
                visit_id: p.visit_id.to_string(),
                surname: p.surname.to_string(),
                name: p.name.to_string(),
                patronymic: p.patronymic.map(|x| x.to_string()).unwrap_or_default(),
                iin: p.iin.map(|x| x.to_string()).unwrap_or_default(),
                email: p.email.map(|x| x.to_string()).unwrap_or_default(),
                entity: p.entity.map(|(b, n)| (b.to_string(), n.to_string())),
            }),
            Err(e) => Err(match e {
                reception::TicketError::Used => TicketError::Used,
                reception::TicketError::Expired => TicketError::Expired,
                reception::TicketError::RateLimited { .. } => TicketError::TooManyAttempts,
                reception::TicketError::Store(_) => TicketError::Unavailable,
                _ => TicketError::Unknown,
            }),
        }
    }
}

/// Lookups: this booth's store first; otherwise the sync agent's local API, which asks the
/// central service (appeals recorded at other branches) or says "offline, try later".
pub struct AgentLookup {
    local: StoreLookup,
    socket: PathBuf,
    db: PathBuf,
    utc_offset_minutes: i32,
}

impl AgentLookup {
    /// From the booth config.
    pub fn new(cfg: &Config) -> AgentLookup {
        AgentLookup {
            local: StoreLookup::new(&cfg.paths.database(), cfg.answers.utc_offset_minutes),
            socket: cfg.sync.socket.clone(),
            db: cfg.paths.database(),
            utc_offset_minutes: cfg.answers.utc_offset_minutes,
        }
    }

    fn addressee(&self, id: &str, lang: Language) -> String {
        let from_store = Store::open(&self.db)
            .and_then(|mut s| s.read(|tx| kstore::agencies(tx)))
            .unwrap_or_default();
        from_store
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name(lang).to_owned())
            .or_else(|| {
                crate::directory::demo_directory()
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| a.name(lang).to_owned())
            })
            .unwrap_or_else(|| id.to_owned())
    }
}

impl AnswerLookup for AgentLookup {
    fn lookup(
        &self,
        id: &LookupId,
        lang: Language,
    ) -> Result<Option<LookupView>, LookupUnavailable> {
        match self.local.lookup(id, lang) {
            Ok(Some(v)) => return Ok(Some(v)),
            Ok(None) => tracing::debug!("lookup: not in this booth's store, asking the agent"),
            Err(e) => {
                tracing::warn!(error = %e, "lookup: this booth's store failed, asking the agent")
            }
        }
        let resp = localapi::call(
            &self.socket,
            &Request::Lookup {
                lookup_id: id.clone(),
            },
            localapi::CLIENT_TIMEOUT,
        )
        .map_err(|e| LookupUnavailable(format!("sync agent unreachable: {e}")))?;
        match resp {
            Response::Lookup {
                answer: LookupAnswer::Found { appeal, .. },
            } => {
                let timeline: Vec<StatusEvent> = appeal.timeline.clone();
                Ok(Some(LookupView {
                    appeal_id: appeal.appeal_id,
                    registration_number: appeal.registration_number.to_string(),
                    addressee: self.addressee(&appeal.addressee_id, lang),
                    recorded_local: local_text(appeal.recorded_at, self.utc_offset_minutes),
                    expected_answer_date: appeal.expected_answer_date,
                    timeline,
                    answer: appeal.answer.map(|a| AnswerView {
                        decision: a.decision,
                        text: a.text,
                        signed_by: a.signed_by,
                        signed_on: a.signed_on,
                        documents: a.documents,
                    }),
                    rated: appeal.rating.map(|r| r.get()),
                }))
            }
            Response::Lookup {
                answer: LookupAnswer::NotFound,
            } => Ok(None),
            Response::Lookup {
                answer: LookupAnswer::Offline { .. },
            } => Err(LookupUnavailable("central service unreachable".into())),
            Response::Error { code, .. } => {
                Err(LookupUnavailable(format!("sync agent error {code:?}")))
            }
            other => Err(LookupUnavailable(format!(
                "unexpected agent answer {other:?}"
            ))),
        }
    }

    fn rate(&self, appeal_id: Uuid, rating: u8) -> Result<(), LookupUnavailable> {
        self.local.rate(appeal_id, rating)
    }
}

/// Records that the appeal was filed with the visit's ticket (the journal shows it).
pub fn link_visit(cfg: &Config, visit_id: &str, appeal_id: Uuid) -> Result<(), StoreError> {
    let Ok(visit) = visit_id.parse::<Uuid>() else {
        return Ok(());
    };
    let mut s = Store::open(&cfg.paths.database())?;
    s.write(|tx| reception::link_visit_to_appeal(tx, visit, appeal_id).map(|_| ()))
}

/// The real devices and services, per the booth config.
pub fn real_ports(cfg: &Config, clock: Arc<dyn Clock>) -> Result<Ports, rec::RecorderError> {
    Ok(Ports {
        recorder: Arc::new(Mutex::new(Box::new(GstRecorder::new(cfg)?))),
        sealer: Arc::new(AgeSealer::new(cfg)),
        printer: Arc::new(Mutex::new(Box::new(EscPosPrinter::new(cfg)))),
        tickets: Arc::new(StoreTickets::new(cfg, clock.clone())),
        lookup: Arc::new(AgentLookup::new(cfg)),
        clock,
        adapters: vec![
            ("recorder", "GstRecorder (booth-hardware)"),
            ("sealer", "AgeSealer (age to the central recipients)"),
            ("printer", "EscPosPrinter (booth-hardware)"),
            ("tickets", "StoreTickets (reception journal)"),
            ("lookup", "AgentLookup (store, then sync agent)"),
            ("clock", "booth_core::Clock"),
        ],
        demo_directory: false,
    })
}
