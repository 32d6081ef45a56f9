//! Carries out the flow's effects through the ports, on worker threads, and feeds their results
//! back as events. The UI thread only calls [`Controller::dispatch`], [`Controller::tick`] and
//! [`Controller::pump`]; anything that may block (recorder, printer, Argon2id, SQLite) runs on
//! a worker that sends its result on a channel and then calls the waker (in the windowed app,
//! `slint::invoke_from_event_loop`; in headless mode, nothing: the runner drains the channel).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use booth_core::code::SecretCode;
use booth_core::config::Config;
use booth_core::intake;
use booth_core::settings::{self, Effective};
use booth_core::store::{
    NewAppeal, Store, StoreError, appeals, kiosk, receipts, sync as store_sync,
};
use booth_core::{Clock, MediaRef};
use uuid::Uuid;

use crate::flow::{
    CommitError, CommitRequest, Diagnostics, Effect, Event, Flow, FlowConfig, LookupOutcome,
    PrintOutcome, ReceiptData, lookup_delay_s,
};
use crate::ports::{Frame, Ports, RecordedTake};

/// How often the clock guard looks again.
const CLOCK_RECHECK: Duration = Duration::from_secs(10);

/// When this kiosk was built (`SOURCE_DATE_EPOCH` or the build machine's clock, see build.rs):
/// a clock reading earlier than this is certainly wrong.
pub fn build_time() -> chrono::DateTime<chrono::Utc> {
    env!("BOOTH_BUILD_EPOCH")
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or(chrono::DateTime::UNIX_EPOCH)
}

/// Whether the clock can be trusted for receipt dates and deadlines: it must read no earlier
/// than the build, and (unless `marker` is empty) time sync must have succeeded since boot.
pub fn clock_problem(
    marker: &str,
    now: chrono::DateTime<chrono::Utc>,
    built: chrono::DateTime<chrono::Utc>,
) -> Option<crate::flow::ClockProblem> {
    if now < built {
        return Some(crate::flow::ClockProblem::BeforeBuildDate {
            clock: now.format("%Y-%m-%d %H:%M UTC").to_string(),
            built: built.format("%Y-%m-%d").to_string(),
        });
    }
    if !marker.is_empty() && !std::path::Path::new(marker).exists() {
        return Some(crate::flow::ClockProblem::NotSynchronized {
            marker: marker.to_owned(),
        });
    }
    None
}

/// How often the printer is asked for its state while nobody uses the booth (for the
/// heartbeat's device health).
const HEALTH_EVERY: Duration = Duration::from_secs(60);

/// Writes device health for the sync agent's heartbeat (store keys `health.*`). Failures are
/// logged only: health is advisory and must never disturb a citizen.
fn report_health(store: &Mutex<Store>, pairs: &[(&str, String)]) {
    let r = store.lock().unwrap_or_else(|x| x.into_inner()).write(|tx| {
        for (k, v) in pairs {
            booth_core::store::kv_set(tx, k, v)?;
        }
        Ok::<_, StoreError>(())
    });
    if let Err(e) = r {
        tracing::warn!(error = %e, "device health not recorded");
    }
}

fn printer_health(s: crate::flow::PrinterState) -> &'static str {
    use crate::flow::PrinterState as P;
    match s {
        P::Ready => "ok",
        P::PaperLow => "paper_low",
        P::PaperOut => "paper_out",
        P::CoverOpen => "cover_open",
        P::Offline => "offline",
    }
}

/// The effective settings, with the demo directory on a simulated booth whose store has none.
fn load_settings(
    store: &mut Store,
    cfg: &Config,
    demo_directory: bool,
) -> Result<Effective, StoreError> {
    let mut e = store.read(|tx| settings::load(tx, cfg))?;
    if e.agencies.is_empty() && demo_directory {
        e.agencies = crate::directory::demo_directory();
    }
    Ok(e)
}

/// Whether a damaged copy of the database (`<name>.damaged-<time>`) lies beside it.
fn damaged_copy_beside(db: &std::path::Path) -> bool {
    let (Some(dir), Some(name)) = (db.parent(), db.file_name()) else {
        return false;
    };
    let prefix = format!("{}.damaged-", name.to_string_lossy());
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
    })
}

/// How long wrong codes are remembered for the rate limit.
const LOOKUP_WINDOW_MIN: i64 = 60;

/// Called by workers after posting a result (wakes the UI loop).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Receives preview frames (the UI shows them).
pub type FrameSink = Arc<dyn Fn(Frame) + Send + Sync>;

/// The controller: the flow plus everything that executes its effects.
pub struct Controller {
    flow: Flow,
    ports: Ports,
    cfg: Arc<Config>,
    store: Arc<Mutex<Store>>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    waker: Waker,
    pending: Arc<AtomicUsize>,
    /// The take waiting to be sealed (after stop, before commit).
    take: Arc<Mutex<Option<RecordedTake>>>,
    /// A take already sealed whose commit failed: a retry reuses it, so nothing is sealed twice
    /// and nothing is lost.
    sealed: Arc<Mutex<Option<(Uuid, MediaRef)>>>,
    /// The next appeal's secret code and its Argon2id lookup id, derived while the citizen
    /// records, so "Finish recording" → receipt does not wait for the slow hash.
    next_code: Arc<Mutex<Option<(SecretCode, booth_core::LookupId)>>>,
    /// Wall-clock time the latest take ended (the appeal's recording date, 003 p.24).
    stopped_at: Arc<Mutex<Option<chrono::DateTime<chrono::Utc>>>>,
    preview_on: Arc<AtomicBool>,
    qr_on: Arc<AtomicBool>,
    /// Preview frames come from a thread at the camera's rate (windowed app) or are pulled by
    /// [`Controller::poll_preview`] (headless, deterministic).
    threaded_preview: bool,
    frame_sink: Option<FrameSink>,
    /// Effective settings (central over TOML over defaults), reloaded on the attract screen.
    settings: Arc<Effective>,
    /// Whether the clock guard runs (off only for the headless mode's simulated clock).
    clock_guard: bool,
    /// When the clock was last checked (monotonic).
    clock_checked_at: Option<std::time::Instant>,
    /// When device health was last reported while idle (monotonic).
    health_at: Option<std::time::Instant>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("screen", &self.flow.screen())
            .field("ports", &self.ports)
            .finish()
    }
}

/// Controller construction failures.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The store could not be opened.
    #[error("cannot open the booth database: {0}")]
    Store(#[from] StoreError),
}

impl Controller {
    /// A controller over `ports`, with the database of `cfg`. The directory comes from the store,
    /// or the built-in demo directory when the store has none yet.
    pub fn new(
        cfg: Config,
        ports: Ports,
        waker: Waker,
        threaded_preview: bool,
    ) -> Result<Controller, ControllerError> {
        let db: PathBuf = cfg.paths.database();
        let (mut store, moved) = Store::open_or_recover(&db)?;
        let outbox = cfg.paths.outbox_dir.clone();
        if let Some(m) = moved {
            tracing::error!(moved_to = %m.display(), "damaged database moved aside at kiosk start");
            let n = store.write(|tx| booth_core::store::outbox::reindex_orphans(tx, &outbox))?;
            tracing::warn!(
                count = n.len(),
                "sealed recordings re-indexed after database recovery"
            );
        } else if damaged_copy_beside(&db) {
            // An earlier start (of any process) moved a damaged database aside: sealed files
            // without rows may be appeals whose rows were lost. Keep them for the technician.
            tracing::warn!(
                "a damaged database copy lies beside the database: orphan sealed files kept"
            );
        } else {
            let gone = intake::destroy_orphan_seals(&mut store, &outbox, ports.clock.now())?;
            if !gone.is_empty() {
                tracing::warn!(
                    count = gone.len(),
                    rule = intake::RULE_ORPHAN_SEAL,
                    "sealed files of appeals never committed destroyed (logged in the destruction log)"
                );
            }
        }
        let settings = load_settings(&mut store, &cfg, ports.demo_directory)?;
        ports
            .printer
            .lock()
            .unwrap_or_else(|x| x.into_inner())
            .set_contacts(&settings.contacts);
        let mut flow_cfg = FlowConfig::from_config(&cfg);
        flow_cfg.max_recording = Duration::from_secs(u64::from(settings.max_recording_s));
        let flow = Flow::new(flow_cfg, settings.agencies.clone(), ports.clock.monotonic());
        let (tx, rx) = channel();
        let mut c = Controller {
            flow,
            ports,
            cfg: Arc::new(cfg),
            store: Arc::new(Mutex::new(store)),
            tx,
            rx,
            waker,
            pending: Arc::new(AtomicUsize::new(0)),
            take: Arc::new(Mutex::new(None)),
            sealed: Arc::new(Mutex::new(None)),
            next_code: Arc::new(Mutex::new(None)),
            stopped_at: Arc::new(Mutex::new(None)),
            preview_on: Arc::new(AtomicBool::new(false)),
            qr_on: Arc::new(AtomicBool::new(false)),
            threaded_preview,
            frame_sink: None,
            settings: Arc::new(settings),
            clock_guard: true,
            clock_checked_at: None,
            health_at: None,
        };
        c.recover_receipts();
        Ok(c)
    }

    /// Reads the effective settings again (what the sync agent pulled since) on a worker; the
    /// flow takes them while it shows the attract screen, so no session changes mid-way.
    fn reload_settings(&mut self) {
        let store = self.store.clone();
        let cfg = self.cfg.clone();
        let demo = self.ports.demo_directory;
        let p = self.ports.clone();
        self.spawn("settings", move || {
            let mut s = store.lock().unwrap_or_else(|x| x.into_inner());
            match load_settings(&mut s, &cfg, demo) {
                Ok(e) => {
                    // On this worker: the printer's lock may be held by a slow status read.
                    p.printer
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .set_contacts(&e.contacts);
                    Some(Event::SettingsLoaded(Box::new(e)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "settings not reloaded; the previous ones stay");
                    None
                }
            }
        });
    }

    /// Start-up: receipts of committed appeals that never printed (the kiosk stopped between
    /// the commit and the printout). The newest one younger than `kiosk.reprint_within_s` is
    /// printed again with its receipt screen (003 p.24), with a replacement code; the others
    /// are listed in service mode as "receipt not printed".
    fn recover_receipts(&mut self) {
        let p = self.ports.clone();
        let store = self.store.clone();
        let cfg = self.cfg.clone();
        let agencies = self.flow.agencies().to_vec();
        self.spawn("receipt-recovery", move || {
            match recover_receipt(&p, &cfg, &store, &agencies) {
                Ok(r) => r.map(|r| Event::ReceiptRecovered(Box::new(r))),
                Err(e) => {
                    tracing::error!(error = %e, "unprinted receipts not checked at start-up");
                    None
                }
            }
        });
    }

    /// Turns the clock guard off: only for a simulated clock (headless scripts), whose dates
    /// are fixed on purpose.
    pub fn disable_clock_guard(&mut self) {
        self.clock_guard = false;
        self.clock_checked_at = None;
        let fx = self
            .flow
            .handle(Event::ClockChecked(None), self.ports.clock.monotonic());
        self.run(fx);
    }

    /// Checks the clock now and tells the flow when the verdict changed (logged for the
    /// technician; the reason also shows in service mode).
    fn check_clock(&mut self) {
        if !self.clock_guard {
            return;
        }
        self.clock_checked_at = Some(self.ports.clock.monotonic());
        let problem = clock_problem(
            &self.cfg.kiosk.clock_sync_marker,
            self.ports.clock.now(),
            build_time(),
        );
        if problem.as_ref() == self.flow.clock_problem() {
            return;
        }
        match &problem {
            Some(p) => tracing::warn!(reason = %p, "appeals refused: the clock cannot be trusted"),
            None => tracing::info!("clock trusted: appeals accepted"),
        }
        let fx = self
            .flow
            .handle(Event::ClockChecked(problem), self.ports.clock.monotonic());
        self.run(fx);
    }

    /// Where preview frames go.
    pub fn set_frame_sink(&mut self, sink: FrameSink) {
        self.frame_sink = Some(sink);
    }

    /// The flow (for rendering).
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Effects still running on workers.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Whether the camera preview is on.
    pub fn preview_on(&self) -> bool {
        self.preview_on.load(Ordering::SeqCst)
    }

    /// Feeds one event to the flow and starts its effects.
    pub fn dispatch(&mut self, ev: Event) {
        if matches!(ev, Event::Tap(_)) {
            tracing::debug!(screen = self.flow.screen().name(), event = ?ev, "tap");
        }
        if self.clock_guard && self.clock_checked_at.is_none() {
            self.check_clock();
        }
        if let Event::SettingsLoaded(e) = &ev {
            if self.flow.screen() == crate::flow::Screen::Attract {
                self.settings = Arc::new((**e).clone());
            }
        }
        let fx = self.flow.handle(ev, self.ports.clock.monotonic());
        self.run(fx);
    }

    /// Applies timeouts, and re-checks the clock every few seconds.
    pub fn tick(&mut self) {
        let fx = self.flow.tick(self.ports.clock.monotonic());
        self.run(fx);
        let due = self.clock_checked_at.is_none_or(|t| {
            self.ports.clock.monotonic().saturating_duration_since(t) >= CLOCK_RECHECK
        });
        if self.clock_guard && due {
            self.check_clock();
        }
        let now = self.ports.clock.monotonic();
        let health_due = self
            .health_at
            .is_none_or(|t| now.saturating_duration_since(t) >= HEALTH_EVERY);
        if health_due && self.flow.screen() == crate::flow::Screen::Attract && self.pending() == 0 {
            self.health_at = Some(now);
            // What the agent pulled meanwhile (directory, calendar, central config).
            self.reload_settings();
            let p = self.ports.clone();
            let store = self.store.clone();
            self.spawn("health", move || {
                let st = p.printer.lock().unwrap_or_else(|x| x.into_inner()).status();
                report_health(
                    &store,
                    &[
                        (store_sync::KV_PRINTER_HEALTH, printer_health(st).into()),
                        (
                            store_sync::KV_KIOSK_VERSION,
                            env!("CARGO_PKG_VERSION").into(),
                        ),
                    ],
                );
                None
            });
        }
    }

    /// Feeds all worker results that have arrived. Returns how many.
    pub fn pump(&mut self) -> usize {
        let mut n = 0;
        while let Ok(ev) = self.rx.try_recv() {
            self.dispatch(ev);
            n += 1;
        }
        n
    }

    /// Waits (up to `timeout` of real time) until no effect is running, feeding results as they
    /// come. Headless mode and tests use it between script steps.
    pub fn settle(&mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.pump();
            if self.pending() == 0 {
                // A result may have started new effects; pump once more.
                if self.pump() == 0 && self.pending() == 0 {
                    return true;
                }
                continue;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            if let Ok(ev) = self.rx.recv_timeout(Duration::from_millis(20)) {
                self.dispatch(ev);
            }
        }
    }

    /// Headless preview: pulls one frame and the microphone level now, decodes a QR code when
    /// scanning, and hands the frame to the sink.
    pub fn poll_preview(&mut self) {
        if !self.preview_on() {
            return;
        }
        let (frame, level) = {
            let mut r = self
                .ports
                .recorder
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            (r.preview_frame(), r.mic_level())
        };
        self.dispatch(Event::MicLevel(level));
        if let Some(f) = frame {
            if self.qr_on.load(Ordering::SeqCst) {
                if let Some(text) = crate::qr::decode(&f) {
                    self.dispatch(Event::QrDecoded(text));
                }
            }
            if let Some(s) = &self.frame_sink {
                s(f);
            }
        }
    }

    fn spawn(&self, name: &'static str, job: impl FnOnce() -> Option<Event> + Send + 'static) {
        let tx = self.tx.clone();
        let pending = self.pending.clone();
        let waker = self.waker.clone();
        pending.fetch_add(1, Ordering::SeqCst);
        let r = std::thread::Builder::new()
            .name(format!("kiosk-{name}"))
            .spawn(move || {
                if let Some(ev) = job() {
                    // The receiver lives as long as the controller; a send error means shutdown.
                    let _ = tx.send(ev);
                }
                pending.fetch_sub(1, Ordering::SeqCst);
                waker();
            });
        if let Err(e) = r {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            tracing::error!(error = %e, job = name, "cannot start a worker thread");
        }
    }

    fn run(&mut self, fx: Vec<Effect>) {
        for e in fx {
            self.run_one(e);
        }
    }

    fn run_one(&mut self, e: Effect) {
        let p = self.ports.clone();
        match e {
            Effect::RedeemTicket(t) => self.spawn("ticket", move || {
                Some(Event::TicketChecked(p.tickets.redeem(&t)))
            }),
            Effect::CheckPrinter => {
                let store = self.store.clone();
                self.spawn("printer-status", move || {
                    let st = p.printer.lock().unwrap_or_else(|x| x.into_inner()).status();
                    report_health(
                        &store,
                        &[(store_sync::KV_PRINTER_HEALTH, printer_health(st).into())],
                    );
                    Some(Event::PrinterStatus(st))
                })
            }
            Effect::StartPreview => {
                let on = self.preview_on.clone();
                let threaded = self.threaded_preview;
                let sink = self.frame_sink.clone();
                let qr = self.qr_on.clone();
                let tx = self.tx.clone();
                let waker = self.waker.clone();
                let store = self.store.clone();
                self.spawn("preview-start", move || {
                    let r = p
                        .recorder
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .start_preview();
                    let (camera, mic) = match r {
                        Ok(()) => (true, true),
                        Err(crate::flow::RecorderError::CameraMissing) => (false, true),
                        Err(crate::flow::RecorderError::MicrophoneMissing) => (true, false),
                        Err(_) => (false, false),
                    };
                    report_health(
                        &store,
                        &[
                            (store_sync::KV_CAMERA_OK, camera.to_string()),
                            (store_sync::KV_MICROPHONE_OK, mic.to_string()),
                        ],
                    );
                    if r.is_ok() {
                        on.store(true, Ordering::SeqCst);
                        if threaded {
                            start_preview_thread(p, on, qr, sink, tx, waker);
                        }
                    }
                    Some(Event::PreviewStarted(r))
                });
            }
            Effect::StopPreview => {
                self.preview_on.store(false, Ordering::SeqCst);
                self.spawn("preview-stop", move || {
                    p.recorder
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .stop_preview();
                    None
                });
            }
            Effect::StartQrScan => {
                self.qr_on.store(true, Ordering::SeqCst);
                if !self.preview_on() {
                    self.run_one(Effect::StartPreview);
                }
            }
            Effect::StopQrScan => {
                self.qr_on.store(false, Ordering::SeqCst);
                self.run_one(Effect::StopPreview);
            }
            Effect::StartRecording => {
                let slot = self.next_code.clone();
                let params = self.cfg.lookup.argon2;
                self.spawn("code", move || {
                    let mut s = slot.lock().unwrap_or_else(|x| x.into_inner());
                    if s.is_none() {
                        let code = SecretCode::generate();
                        match code.lookup_id(&params) {
                            Ok(l) => *s = Some((code, l)),
                            // The commit derives it again and reports the failure.
                            Err(e) => tracing::warn!(error = %e, "lookup id not prepared"),
                        }
                    }
                    None
                });
                self.spawn("rec-start", move || {
                    Some(Event::RecordingStarted(
                        p.recorder.lock().unwrap_or_else(|x| x.into_inner()).start(),
                    ))
                })
            }
            Effect::StopRecording => {
                let slot = self.take.clone();
                let stopped = self.stopped_at.clone();
                self.spawn("rec-stop", move || {
                    let r = p.recorder.lock().unwrap_or_else(|x| x.into_inner()).stop();
                    let ended_at = p.clock.now();
                    if r.is_ok() {
                        *stopped.lock().unwrap_or_else(|x| x.into_inner()) = Some(ended_at);
                    }
                    Some(Event::RecordingStopped(r.map(|t| {
                        let take = crate::flow::Take {
                            duration_ms: t.duration_ms,
                            speech_fraction: t.speech_fraction,
                            ended_at,
                        };
                        *slot.lock().unwrap_or_else(|x| x.into_inner()) = Some(t);
                        take
                    })))
                });
            }
            Effect::DiscardRecording => {
                self.take.lock().unwrap_or_else(|x| x.into_inner()).take();
                self.spawn("rec-discard", move || {
                    p.recorder
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .discard();
                    None
                });
            }
            Effect::Commit(mut req) => {
                if let Some(t) = *self.stopped_at.lock().unwrap_or_else(|x| x.into_inner()) {
                    req.recorded_at = t;
                }
                let take = self.take.clone();
                let sealed = self.sealed.clone();
                let store = self.store.clone();
                let cfg = self.cfg.clone();
                let settings = self.settings.clone();
                let next_code = self.next_code.clone();
                self.spawn("commit", move || {
                    Some(Event::Committed(
                        commit(
                            &p, &cfg, &settings, &store, &take, &sealed, &next_code, &req,
                        )
                        .map(Box::new),
                    ))
                });
            }
            Effect::Print(r) => {
                let store = self.store.clone();
                self.spawn("print", move || {
                    let outcome = p
                        .printer
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .print_receipt(&r);
                    if outcome == PrintOutcome::Printed {
                        let at = p.clock.now();
                        let done = store
                            .lock()
                            .unwrap_or_else(|x| x.into_inner())
                            .write(|tx| receipts::mark_printed(tx, r.appeal_id, at));
                        if let Err(e) = done {
                            tracing::error!(error = %e, appeal = %r.appeal_id, "receipt printed but not recorded as printed");
                        }
                    }
                    Some(Event::Printed(outcome))
                })
            }
            Effect::GiveUpReceipt(id) => {
                let store = self.store.clone();
                self.spawn("receipt-unprinted", move || {
                    let at = p.clock.now();
                    let r = store
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .write(|tx| receipts::mark_unprinted(tx, id, at));
                    match r {
                        Ok(()) => tracing::warn!(appeal = %id, "receipt not printed: listed in service mode"),
                        Err(e) => tracing::error!(error = %e, appeal = %id, "unprinted receipt not recorded"),
                    }
                    None
                })
            }
            Effect::PrintTest => self.spawn("print-test", move || {
                Some(Event::Printed(
                    p.printer
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .print_test(),
                ))
            }),
            Effect::Reprint => self.spawn("reprint", move || {
                Some(Event::Printed(
                    p.printer
                        .lock()
                        .unwrap_or_else(|x| x.into_inner())
                        .reprint_last(),
                ))
            }),
            Effect::Lookup(code) => {
                let store = self.store.clone();
                let cfg = self.cfg.clone();
                let lang = self.flow.session().language;
                self.spawn("lookup", move || {
                    Some(Event::LookedUp(lookup(&p, &cfg, &store, &code, lang)))
                });
            }
            Effect::SaveRating { appeal_id, rating } => {
                self.spawn("rating", move || match p.lookup.rate(appeal_id, rating) {
                    Ok(()) => Some(Event::Rated),
                    Err(e) => {
                        tracing::error!(error = %e, appeal = %appeal_id, "rating not stored");
                        Some(Event::Rated)
                    }
                })
            }
            Effect::ReadDiagnostics => {
                let store = self.store.clone();
                let clock = match (self.clock_guard, self.flow.clock_problem()) {
                    (false, _) => "not checked (simulated clock)".to_string(),
                    (true, None) => "ok: synchronised, after the build date".to_string(),
                    (true, Some(p)) => format!("APPEALS REFUSED: {p}"),
                };
                self.spawn("diagnostics", move || {
                    let mut d = diagnostics(&p, &store);
                    d.lines.insert(1, ("clock".into(), clock));
                    Some(Event::Diagnostics(d))
                });
            }
            Effect::SessionWiped => {
                self.take.lock().unwrap_or_else(|x| x.into_inner()).take();
                self.qr_on.store(false, Ordering::SeqCst);
                tracing::info!("session wiped");
                self.reload_settings();
            }
        }
    }
}

fn start_preview_thread(
    p: Ports,
    on: Arc<AtomicBool>,
    qr: Arc<AtomicBool>,
    sink: Option<FrameSink>,
    tx: Sender<Event>,
    waker: Waker,
) {
    let r = std::thread::Builder::new()
        .name("kiosk-preview".into())
        .spawn(move || {
            let period = Duration::from_millis(33);
            let mut n: u64 = 0;
            while on.load(Ordering::SeqCst) {
                let t0 = std::time::Instant::now();
                let (frame, level) = {
                    let mut r = p.recorder.lock().unwrap_or_else(|x| x.into_inner());
                    (r.preview_frame(), r.mic_level())
                };
                n += 1;
                if n % 3 == 0 && tx.send(Event::MicLevel(level)).is_ok() {
                    waker();
                }
                if let Some(f) = frame {
                    // QR decoding costs more than a frame period: every 6th frame is plenty.
                    if qr.load(Ordering::SeqCst) && n % 6 == 0 {
                        if let Some(text) = crate::qr::decode(&f) {
                            if tx.send(Event::QrDecoded(text)).is_ok() {
                                waker();
                            }
                        }
                    }
                    if let Some(s) = &sink {
                        s(f);
                    }
                }
                if let Some(rest) = period.checked_sub(t0.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
        });
    if let Err(e) = r {
        tracing::error!(error = %e, "cannot start the preview thread");
    }
}

fn commit(
    p: &Ports,
    cfg: &Config,
    settings: &Effective,
    store: &Mutex<Store>,
    take: &Mutex<Option<RecordedTake>>,
    sealed: &Mutex<Option<(Uuid, MediaRef)>>,
    next_code: &Mutex<Option<(SecretCode, booth_core::LookupId)>>,
    req: &CommitRequest,
) -> Result<ReceiptData, CommitError> {
    // 1. Seal (once): encrypted file in the outbox, fsynced and renamed.
    let mut sealed_slot = sealed.lock().unwrap_or_else(|x| x.into_inner());
    let (id, media) = match sealed_slot.clone() {
        Some(s) => s,
        None => {
            let t = take
                .lock()
                .unwrap_or_else(|x| x.into_inner())
                .clone()
                .ok_or(CommitError::Store)?;
            let id = booth_core::new_id();
            let media = p.sealer.seal(&t, id).map_err(|e| {
                tracing::error!(error = %e, appeal = %id, "sealing failed");
                match e {
                    crate::ports::SealError::DiskFull(_) => CommitError::DiskFull,
                    _ => CommitError::Seal,
                }
            })?;
            take.lock().unwrap_or_else(|x| x.into_inner()).take();
            *sealed_slot = Some((id, media.clone()));
            (id, media)
        }
    };
    // 2. Code and lookup id (prepared while recording), expected answer date.
    let prepared = next_code.lock().unwrap_or_else(|x| x.into_inner()).take();
    let (code, lookup_id) = match prepared {
        Some(p) => p,
        None => {
            let code = SecretCode::generate();
            let lookup_id = code.lookup_id(&cfg.lookup.argon2).map_err(|e| {
                tracing::error!(error = %e, "lookup id derivation failed");
                CommitError::Store
            })?;
            (code, lookup_id)
        }
    };
    // 003 p.24: the expected answer date, by the one function (central term and calendar);
    // none when no calendar covers it: never a guess.
    let expected = settings.expected_answer_date(req.recorded_at);
    let new = NewAppeal {
        id,
        booth_id: cfg.booth.id.clone(),
        applicant: req.applicant.clone(),
        addressee_id: req.addressee_id.clone(),
        kind: req.kind,
        complaint: req.complaint.clone(),
        language: req.language,
        recorded_at: req.recorded_at,
        duration_ms: req.duration_ms,
        media,
        lookup_id,
        expected_answer_date: expected,
        continuation_of: req.continuation_of,
        ticket: req.ticket.clone(),
        visit_id: req.visit_id,
    };
    // 3. Commit (synchronous=FULL): only after this does the receipt appear.
    let appeal = {
        let mut s = store.lock().unwrap_or_else(|x| x.into_inner());
        s.write(|tx| intake::commit(tx, &new, &cfg.booth.branch, cfg.booth.number))
            .map_err(|e| {
                tracing::error!(error = %e, appeal = %id, "appeal commit failed; sealed file kept in the outbox");
                if e.is_disk_full() { CommitError::DiskFull } else { CommitError::Store }
            })?
    };
    sealed_slot.take();
    tracing::info!(appeal = %appeal.id, "appeal committed (sent, 003 p.27)");
    Ok(ReceiptData {
        appeal_id: appeal.id,
        registration_number: appeal.registration_number.to_string(),
        recorded_at: appeal.recorded_at,
        recorded_local: crate::adapters::local_text(
            appeal.recorded_at,
            cfg.answers.utc_offset_minutes,
        ),
        code,
        expected_answer_date: appeal.expected_answer_date,
        addressee: req.addressee_name.clone(),
        kind: req.kind,
        branch_name: cfg.booth.branch_name.clone(),
        language: req.language,
    })
}

/// See [`Controller::recover_receipts`].
fn recover_receipt(
    p: &Ports,
    cfg: &Config,
    store: &Mutex<Store>,
    agencies: &[booth_core::Agency],
) -> Result<Option<ReceiptData>, StoreError> {
    let now = p.clock.now();
    let window = chrono::Duration::seconds(i64::from(cfg.kiosk.reprint_within_s));
    let mut s = store.lock().unwrap_or_else(|x| x.into_inner());
    let mut pending = s.read(receipts::pending)?;
    // Oldest first: the newest young one is reprinted, every other is given up.
    let newest = pending
        .pop()
        .filter(|r| now.signed_duration_since(r.queued_at) <= window);
    for r in &pending {
        s.write(|tx| receipts::mark_unprinted(tx, r.appeal_id, now))?;
        tracing::warn!(appeal = %r.appeal_id, "receipt not printed before a restart: listed in service mode");
    }
    let Some(job) = newest else {
        return Ok(None);
    };
    // The code is never stored, so the replacement receipt carries a new one; the old lookup
    // id is replaced while the centre cannot have it yet (outbox still `sealed`).
    let code = SecretCode::generate();
    let lookup_id = match code.lookup_id(&cfg.lookup.argon2) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "lookup id derivation failed");
            s.write(|tx| receipts::mark_unprinted(tx, job.appeal_id, now))?;
            return Ok(None);
        }
    };
    let appeal = s.write(|tx| {
        if intake::rekey(tx, job.appeal_id, &lookup_id)? {
            appeals::get(tx, job.appeal_id).map(Some)
        } else {
            receipts::mark_unprinted(tx, job.appeal_id, now)?;
            Ok(None)
        }
    })?;
    let Some(a) = appeal else {
        tracing::warn!(appeal = %job.appeal_id, "receipt not printed and already uploaded: listed in service mode");
        return Ok(None);
    };
    tracing::info!(appeal = %a.id, "receipt not printed before a restart: printing it again");
    let addressee = agencies
        .iter()
        .find(|g| g.id == a.addressee_id)
        .map(|g| g.name(a.language).to_owned())
        .unwrap_or_else(|| a.addressee_id.clone());
    Ok(Some(ReceiptData {
        appeal_id: a.id,
        registration_number: a.registration_number.to_string(),
        recorded_at: a.recorded_at,
        recorded_local: crate::adapters::local_text(a.recorded_at, cfg.answers.utc_offset_minutes),
        code,
        expected_answer_date: a.expected_answer_date,
        addressee,
        kind: a.kind,
        branch_name: cfg.booth.branch_name.clone(),
        language: a.language,
    }))
}

fn lookup(
    p: &Ports,
    cfg: &Config,
    store: &Mutex<Store>,
    code: &SecretCode,
    lang: booth_core::Language,
) -> LookupOutcome {
    let now = p.clock.now();
    let window = chrono::Duration::minutes(LOOKUP_WINDOW_MIN);
    // Rate limit first: a guesser learns nothing while waiting.
    let in_a_row = store
        .lock()
        .unwrap_or_else(|x| x.into_inner())
        .read(|tx| kiosk::failed_lookups_in_a_row(tx, now, window));
    match in_a_row {
        Ok((n, Some(last))) => {
            let delay = lookup_delay_s(n, &cfg.lookup);
            let until = last + chrono::Duration::seconds(delay as i64);
            if until > now {
                let wait = (until - now).num_seconds().max(1) as u64;
                tracing::info!(failures = n, wait, "lookup slowed down after wrong codes");
                return LookupOutcome::RateLimited(wait);
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "lookup attempts unreadable");
            return LookupOutcome::Unavailable;
        }
    }
    let id = match code.lookup_id(&cfg.lookup.argon2) {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "lookup id derivation failed");
            return LookupOutcome::Unavailable;
        }
    };
    let found = p.lookup.lookup(&id, lang);
    let ok = matches!(found, Ok(Some(_)));
    if let Err(e) = store
        .lock()
        .unwrap_or_else(|x| x.into_inner())
        .write(|tx| kiosk::record_lookup_attempt(tx, now, ok))
    {
        tracing::error!(error = %e, "lookup attempt not recorded");
    }
    match found {
        Ok(Some(v)) => {
            tracing::info!(answered = v.answer.is_some(), "lookup: appeal found");
            LookupOutcome::Found(Box::new(v))
        }
        Ok(None) => {
            tracing::info!("lookup: no appeal with this code");
            LookupOutcome::NotFound
        }
        Err(e) => {
            tracing::warn!(error = %e, "lookup unavailable");
            LookupOutcome::Unavailable
        }
    }
}

fn diagnostics(p: &Ports, store: &Mutex<Store>) -> Diagnostics {
    let mut lines = Vec::new();
    lines.push(("version".to_string(), env!("CARGO_PKG_VERSION").to_string()));
    lines.push((
        "recorder".into(),
        p.recorder
            .lock()
            .unwrap_or_else(|x| x.into_inner())
            .describe(),
    ));
    lines.push((
        "printer".into(),
        format!(
            "{:?}",
            p.printer.lock().unwrap_or_else(|x| x.into_inner()).status()
        ),
    ));
    let q = store.lock().unwrap_or_else(|x| x.into_inner()).read(|tx| {
        let (depth, oldest) = booth_core::store::outbox::queue_stats(tx)?;
        let n = appeals::count(tx)?;
        Ok::<_, StoreError>((depth, oldest, n))
    });
    match q {
        Ok((depth, oldest, n)) => {
            lines.push(("appeals".into(), n.to_string()));
            lines.push(("outbox".into(), format!("{depth} waiting")));
            lines.push((
                "oldest unsent".into(),
                oldest
                    .map(|t| crate::adapters::local_text(t, 300))
                    .unwrap_or_else(|| "-".into()),
            ));
        }
        Err(e) => lines.push(("database".into(), format!("error: {e}"))),
    }
    let unprinted = store
        .lock()
        .unwrap_or_else(|x| x.into_inner())
        .read(|tx| receipts::unprinted(tx, 20));
    match unprinted {
        Ok(list) if list.is_empty() => lines.push(("receipts not printed".into(), "none".into())),
        Ok(list) => {
            for r in list {
                lines.push((
                    "RECEIPT NOT PRINTED".into(),
                    format!(
                        "{} (recorded {})",
                        r.registration_number,
                        crate::adapters::local_text(r.queued_at, 300)
                    ),
                ));
            }
        }
        Err(e) => lines.push(("receipts".into(), format!("error: {e}"))),
    }
    for (port, adapter) in &p.adapters {
        lines.push((format!("adapter {port}"), (*adapter).to_string()));
    }
    Diagnostics { lines }
}

/// Builds the ports from config: real adapters where they exist, `Sim*` otherwise.
pub fn default_ports(cfg: &Config, clock: Arc<dyn Clock>, sim: &SimKnobs) -> Ports {
    use crate::sim::*;
    let recorder = SimRecorder::new(
        sim.recorder.clone(),
        &cfg.paths.ram_dir,
        clock.clone(),
        sim.scene.clone(),
    );
    let mut printer = SimPrinter::new(sim.paper, sim.printer_out.as_deref());
    printer.cover_open = sim.cover_open;
    Ports {
        recorder: Arc::new(Mutex::new(Box::new(recorder))),
        sealer: Arc::new(SimSealer::new(&cfg.paths.outbox_dir)),
        printer: Arc::new(Mutex::new(Box::new(printer))),
        tickets: Arc::new(SimTicketRedeemer::demo(clock.clone())),
        lookup: Arc::new(crate::adapters::StoreLookup::new(
            &cfg.paths.database(),
            cfg.answers.utc_offset_minutes,
        )),
        clock,
        adapters: vec![
            ("recorder", "SimRecorder"),
            ("sealer", "SimSealer (no encryption)"),
            ("printer", "SimPrinter"),
            ("tickets", "SimTicketRedeemer"),
            ("lookup", "StoreLookup (booth-core store)"),
            ("clock", "booth_core::Clock"),
        ],
        demo_directory: true,
    }
}

/// Knobs of the simulated devices (headless scripts and tests turn them).
#[derive(Debug, Clone)]
pub struct SimKnobs {
    /// Recorder behaviour.
    pub recorder: crate::sim::SimRecorderOptions,
    /// What the camera sees.
    pub scene: Arc<crate::sim::SimCameraScene>,
    /// Receipts on the roll.
    pub paper: u32,
    /// Cover open.
    pub cover_open: bool,
    /// Where the sim printer writes receipts.
    pub printer_out: Option<PathBuf>,
}

impl Default for SimKnobs {
    fn default() -> Self {
        SimKnobs {
            recorder: crate::sim::SimRecorderOptions::default(),
            scene: Arc::default(),
            paper: 200,
            cover_open: false,
            printer_out: None,
        }
    }
}
