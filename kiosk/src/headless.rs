//! Headless mode: drives the real flow, the real controller and the real Slint screens from a
//! script, rendering each step with Slint's software renderer into a pixel buffer (no display)
//! and saving it as PNG. Time is a [`ManualClock`] that only the script moves, so runs are
//! reproducible; devices are the simulated ones, turned by `sim` commands.
//!
//! Script commands (one per line, `#` starts a comment):
//!
//! | command | meaning |
//! | --- | --- |
//! | `tap LABEL` | press the element whose accessible label is LABEL (else: contains LABEL) |
//! | `type TEXT` | type TEXT on the physical keyboard (key events to the window) |
//! | `osk TEXT` | type TEXT by pressing on-screen keyboard keys |
//! | `key enter` / `key backspace` | one key |
//! | `act ACTION` | a flow action by name (hidden gestures) |
//! | `corner` | long-press the hidden service corner |
//! | `wait SECONDS` | move the clock (ticks every 250 ms) |
//! | `expect SCREEN` | fail unless the flow shows SCREEN |
//! | `expect-message KEY` | fail unless the screen shows the message KEY (e.g. `lookup-not-found`) |
//! | `sim paper N`, `sim cover open|closed`, `sim camera off|on`, `sim voice off|on` | device knobs |
//! | `sim qr TEXT`, `sim qr receipt`, `sim qr none` | hold a QR code up to the camera |
//! | `sim answer DECISION TEXT` | the central service answers the last appeal (as the sync agent stores it) |
//! | `scan receipt` | a keyboard-wedge scanner reads the last receipt's QR code |
//! | `code receipt` | type the last receipt's secret code on the keypad (by pressing its keys) |
//! | `shot NAME` | write an extra PNG named NAME |
//!
//! Every command writes `NNN-SCREEN.png` after it has settled.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use booth_core::config::Config;
use booth_core::{ManualClock, Status, StatusEvent};
use chrono::{TimeZone, Utc};
use i_slint_backend_testing::ElementHandle;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{PointerEventButton, WindowAdapter, WindowEvent};
use slint::{ComponentHandle, LogicalPosition, PhysicalSize, Rgb8Pixel};

use crate::controller::{Controller, SimKnobs, default_ports};
use crate::flow::{Event, ReceiptData, Screen};
use crate::ports::Frame;
use crate::ui::AppWindow;
use crate::view::{ViewState, render, show_frame, wire};

/// Headless failures (a script that cannot run names its line).
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// Script file unreadable.
    #[error("cannot read script {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// A line that failed.
    #[error("{file}:{line}: {message}")]
    Step {
        /// Script.
        file: String,
        /// 1-based line.
        line: usize,
        /// What went wrong.
        message: String,
    },
    /// Slint platform or window error.
    #[error("slint: {0}")]
    Slint(String),
    /// Output error.
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, String),
    /// Controller.
    #[error(transparent)]
    Controller(#[from] crate::controller::ControllerError),
}

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl slint::platform::Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
}

thread_local! {
    static WINDOW: RefCell<Option<Rc<MinimalSoftwareWindow>>> = const { RefCell::new(None) };
}

/// The software window of this thread, installing the headless platform on first use. Slint
/// allows one platform per process; headless runs therefore share one window per thread.
pub fn headless_window() -> Result<Rc<MinimalSoftwareWindow>, HeadlessError> {
    WINDOW.with(|w| {
        if let Some(win) = w.borrow().as_ref() {
            return Ok(win.clone());
        }
        let win = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: win.clone(),
        }))
        .map_err(|e| HeadlessError::Slint(e.to_string()))?;
        *w.borrow_mut() = Some(win.clone());
        Ok(win)
    })
}

/// Renders the window into an RGB image.
pub fn render_png(window: &MinimalSoftwareWindow, w: u32, h: u32) -> image::RgbImage {
    let mut buf = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; (w * h) as usize];
    window.request_redraw();
    window.draw_if_needed(|r| {
        r.render(&mut buf, w as usize);
    });
    let bytes: Vec<u8> = buf.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    image::RgbImage::from_raw(w, h, bytes).unwrap_or_else(|| image::RgbImage::new(w, h))
}

/// A running headless kiosk.
pub struct Session {
    /// The window component.
    pub ui: AppWindow,
    /// The software window when this session installed the headless platform.
    window: Option<Rc<MinimalSoftwareWindow>>,
    /// The controller (shared with the UI callbacks).
    pub ctl: Rc<RefCell<Controller>>,
    /// The clock the script moves.
    pub clock: Arc<ManualClock>,
    /// Knobs of the simulated devices.
    pub knobs: SimKnobs,
    size: (u32, u32),
    vs: ViewState,
    frame: Arc<Mutex<Option<Frame>>>,
    corner_down: Rc<RefCell<Option<std::time::Instant>>>,
    /// The last receipt shown (for `code receipt` and `sim qr receipt`).
    pub last_receipt: Option<ReceiptData>,
    out: Option<PathBuf>,
    step: usize,
    /// PNGs written.
    pub written: Vec<PathBuf>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("size", &self.size)
            .field("step", &self.step)
            .finish()
    }
}

/// A config for headless runs: everything under `dir`, the booth's defaults otherwise.
pub fn headless_config(dir: &Path) -> Config {
    let mut c = Config::default();
    c.paths.state_dir = dir.join("state");
    c.paths.outbox_dir = dir.join("state/outbox");
    c.paths.ram_dir = dir.join("ram");
    c.booth.branch_name = "Алматы, №1 ХҚКО / ЦОН №1".into();
    c.lookup.argon2 = booth_core::testing::TEST_LOOKUP_PARAMS;
    // No time sync in tests and the demo; the build-date check still applies to real time.
    c.kiosk.clock_sync_marker = String::new();
    c
}

impl Session {
    /// Starts a kiosk at `size` with `cfg`; PNGs go to `out` when given.
    pub fn start(
        cfg: Config,
        size: (u32, u32),
        out: Option<&Path>,
    ) -> Result<Session, HeadlessError> {
        let window = headless_window()?;
        window.set_size(PhysicalSize::new(size.0, size.1));
        Session::start_inner(cfg, size, out, Some(window))
    }

    /// Starts on whatever Slint platform is already installed (Slint's testing backend in UI
    /// tests); such a session cannot render PNGs.
    pub fn start_on_current_platform(
        cfg: Config,
        size: (u32, u32),
    ) -> Result<Session, HeadlessError> {
        Session::start_inner(cfg, size, None, None)
    }

    fn start_inner(
        cfg: Config,
        size: (u32, u32),
        out: Option<&Path>,
        window: Option<Rc<MinimalSoftwareWindow>>,
    ) -> Result<Session, HeadlessError> {
        // `BOOTH_KIOSK_REAL=1`: the real recorder, sealing, printer, tickets and agent lookups
        // of the booth config (end-to-end tests); the clock then starts at the real time and
        // `wait` also lets real time pass, because the devices run in real time.
        let real = std::env::var_os("BOOTH_KIOSK_REAL").is_some();
        let clock = Arc::new(ManualClock::new(if real {
            Utc::now()
        } else {
            Utc.with_ymd_and_hms(2026, 3, 20, 9, 30, 0)
                .single()
                .unwrap_or_else(Utc::now)
        }));
        let knobs = SimKnobs {
            printer_out: out.map(Path::to_owned),
            ..SimKnobs::default()
        };
        let ports = if real {
            crate::real::real_ports(&cfg, clock.clone())
                .map_err(|e| HeadlessError::Slint(format!("real devices: {e}")))?
        } else {
            default_ports(&cfg, clock.clone(), &knobs)
        };
        let mut ctl = Controller::new(cfg, ports, Arc::new(|| {}), false)?;
        if !real {
            // The scripted clock's fixed date precedes the build: no guard on simulated time.
            ctl.disable_clock_guard();
        }
        let frame: Arc<Mutex<Option<Frame>>> = Arc::default();
        let slot = frame.clone();
        ctl.set_frame_sink(Arc::new(move |f| {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(f)
        }));
        let ui = AppWindow::new().map_err(|e| HeadlessError::Slint(e.to_string()))?;
        crate::view::install_translations(&ui);
        let ctl = Rc::new(RefCell::new(ctl));
        let c1 = ctl.clone();
        let corner_down: Rc<RefCell<Option<std::time::Instant>>> = Rc::default();
        let cd = corner_down.clone();
        let c2 = ctl.clone();
        let clk = clock.clone();
        wire(
            &ui,
            move |ev| c1.borrow_mut().dispatch(ev),
            move |down| corner(&c2, &cd, &*clk, down),
        );
        ui.show().map_err(|e| HeadlessError::Slint(e.to_string()))?;
        if window.is_none() {
            ui.window().set_size(PhysicalSize::new(size.0, size.1));
        }
        if let Some(o) = out {
            std::fs::create_dir_all(o)
                .map_err(|e| HeadlessError::Write(o.to_owned(), e.to_string()))?;
        }
        let mut s = Session {
            ui,
            window,
            ctl,
            clock,
            knobs,
            size,
            vs: ViewState::default(),
            frame,
            corner_down,
            last_receipt: None,
            out: out.map(Path::to_owned),
            step: 0,
            written: Vec::new(),
        };
        s.refresh();
        Ok(s)
    }

    /// The flow's current screen.
    pub fn screen(&self) -> Screen {
        self.ctl.borrow().flow().screen()
    }

    /// Lets workers finish, feeds their results, pulls a preview frame, and renders the state.
    pub fn refresh(&mut self) {
        {
            let mut c = self.ctl.borrow_mut();
            c.settle(Duration::from_secs(20));
            c.poll_preview();
            c.settle(Duration::from_secs(20));
            if let Some(r) = &c.flow().session().receipt {
                self.last_receipt = Some(r.clone());
            }
        }
        if let Some(f) = self.frame.lock().unwrap_or_else(|p| p.into_inner()).take() {
            show_frame(&self.ui, &f);
        }
        let portrait = self.size.1 > self.size.0;
        let now = booth_core::Clock::monotonic(&*self.clock);
        render(
            &self.ui,
            self.ctl.borrow().flow(),
            now,
            &mut self.vs,
            portrait,
        );
    }

    /// Moves time by `d`, ticking every 250 ms.
    pub fn wait(&mut self, d: Duration) {
        let step = Duration::from_millis(250);
        let mut left = d;
        let mut since_frame = Duration::ZERO;
        while !left.is_zero() {
            let s = step.min(left);
            if std::env::var_os("BOOTH_KIOSK_REAL").is_some() {
                std::thread::sleep(s);
            }
            self.clock.advance(s);
            left -= s;
            since_frame += s;
            self.ctl.borrow_mut().tick();
            if since_frame >= Duration::from_secs(1) {
                since_frame = Duration::ZERO;
                self.ctl.borrow_mut().poll_preview();
            }
            self.ctl.borrow_mut().settle(Duration::from_secs(20));
        }
        self.refresh();
    }

    fn find(&self, label: &str) -> Option<ElementHandle> {
        let exact = self.find_exact(label);
        exact.or_else(|| {
            let l = label.to_string();
            self.ui_root()
                .query_descendants()
                .match_predicate(move |e| {
                    e.accessible_label().is_some_and(|x| x.contains(l.as_str()))
                        && e.size().width > 0.0
                })
                .find_first()
        })
    }

    fn ui_root(&self) -> ElementHandle {
        use i_slint_backend_testing::ElementRoot;
        self.ui.root_element()
    }

    /// Accessible labels of the buttons on screen (for error messages and tests).
    pub fn button_labels(&self) -> Vec<String> {
        self.ui_root()
            .query_descendants()
            .match_accessible_role(i_slint_backend_testing::AccessibleRole::Button)
            .find_all()
            .into_iter()
            .filter_map(|e| e.accessible_label().map(|s| s.to_string()))
            .collect()
    }

    /// Presses the element labelled `label` with a real pointer press and release at its centre.
    pub fn tap(&mut self, label: &str) -> Result<(), String> {
        let e = self.find(label).ok_or_else(|| {
            format!(
                "no element labelled {label:?}; buttons: {:?}",
                self.button_labels()
            )
        })?;
        let p = e.absolute_position();
        let s = e.size();
        let at = LogicalPosition::new(p.x + s.width / 2.0, p.y + s.height / 2.0);
        tracing::debug!(label, x = at.x, y = at.y, found = ?e.accessible_label(), "headless tap");
        let w = self.ui.window();
        w.dispatch_event(WindowEvent::PointerMoved { position: at });
        w.dispatch_event(WindowEvent::PointerPressed {
            position: at,
            button: PointerEventButton::Left,
        });
        w.dispatch_event(WindowEvent::PointerReleased {
            position: at,
            button: PointerEventButton::Left,
        });
        // A finger lifted from a touch screen leaves the window (as winit reports it).
        w.dispatch_event(WindowEvent::PointerExited);
        self.refresh();
        Ok(())
    }

    /// Types on the physical keyboard.
    pub fn type_text(&mut self, text: &str) {
        let w = self.ui.window();
        for c in text.chars() {
            let t: slint::SharedString = c.to_string().into();
            w.dispatch_event(WindowEvent::KeyPressed { text: t.clone() });
            w.dispatch_event(WindowEvent::KeyReleased { text: t });
        }
        self.refresh();
    }

    /// Presses a named key on the physical keyboard.
    pub fn key(&mut self, k: slint::platform::Key) {
        let t: slint::SharedString = k.into();
        let w = self.ui.window();
        w.dispatch_event(WindowEvent::KeyPressed { text: t.clone() });
        w.dispatch_event(WindowEvent::KeyReleased { text: t });
        self.refresh();
    }

    /// Types by pressing on-screen keyboard keys (switching layout and shift as a person would).
    pub fn osk(&mut self, text: &str) -> Result<(), String> {
        for c in text.chars() {
            let s = c.to_string();
            if c == ' ' {
                let space =
                    crate::i18n::t(self.ctl.borrow().flow().session().language, "kbd-space");
                self.tap(&space)?;
                continue;
            }
            let layouts = ["kk", "ru", "en", "digits"];
            let mut done = false;
            for l in layouts {
                if self.find_exact(&s).is_some() {
                    break;
                }
                let upper = c.to_uppercase().to_string();
                let shift_on = self.ui.global::<crate::ui::Keyboard>().get_shift();
                // Toggle shift if the other case is on screen.
                if c.is_alphabetic()
                    && (self.find_exact(&upper).is_some()
                        || self.find_exact(&c.to_lowercase().to_string()).is_some())
                {
                    self.ui.global::<crate::ui::Keyboard>().set_shift(!shift_on);
                    self.refresh();
                    if self.find_exact(&s).is_some() {
                        break;
                    }
                }
                self.ui.global::<crate::ui::Keyboard>().set_layout(l.into());
                self.refresh();
            }
            if let Some(e) = self.find_exact(&s) {
                let _ = e;
                self.tap_exact(&s)?;
                done = true;
            }
            if !done {
                return Err(format!("no on-screen key for {c:?}"));
            }
        }
        Ok(())
    }

    fn find_exact(&self, label: &str) -> Option<ElementHandle> {
        // Among exact matches a button wins: the lookup screen's code display is labelled with
        // the digits typed so far, so after a first "5" both it and the "5" key match.
        let all: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(&self.ui, label)
            .filter(|e| e.is_valid() && e.size().width > 0.0)
            .collect();
        all.iter()
            .find(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
            .or(all.first())
            .cloned()
    }

    fn tap_exact(&mut self, label: &str) -> Result<(), String> {
        let e = self
            .find_exact(label)
            .ok_or_else(|| format!("no key {label:?}"))?;
        let p = e.absolute_position();
        let s = e.size();
        let at = LogicalPosition::new(p.x + s.width / 2.0, p.y + s.height / 2.0);
        let w = self.ui.window();
        w.dispatch_event(WindowEvent::PointerPressed {
            position: at,
            button: PointerEventButton::Left,
        });
        w.dispatch_event(WindowEvent::PointerReleased {
            position: at,
            button: PointerEventButton::Left,
        });
        self.refresh();
        Ok(())
    }

    /// Feeds a flow event directly.
    pub fn event(&mut self, ev: Event) {
        self.ctl.borrow_mut().dispatch(ev);
        self.refresh();
    }

    /// Renders the screen now.
    pub fn image(&mut self) -> image::RgbImage {
        match &self.window {
            Some(w) => render_png(w, self.size.0, self.size.1),
            None => image::RgbImage::new(self.size.0, self.size.1),
        }
    }

    /// Writes a PNG named after the step and screen (or `name`).
    pub fn shot(&mut self, name: Option<&str>) -> Result<Option<PathBuf>, HeadlessError> {
        let Some(out) = self.out.clone() else {
            return Ok(None);
        };
        self.step += 1;
        let file = out.join(format!(
            "{:03}-{}.png",
            self.step,
            name.unwrap_or(self.screen().name())
        ));
        let img = self.image();
        img.save(&file)
            .map_err(|e| HeadlessError::Write(file.clone(), e.to_string()))?;
        self.written.push(file.clone());
        Ok(Some(file))
    }

    /// Sets a simulated device knob.
    pub fn sim(&mut self, what: &str, value: &str) -> Result<(), String> {
        let ports = self.ctl.borrow().ports().clone();
        match (what, value) {
            ("qr", "none") => {
                *self
                    .knobs
                    .scene
                    .qr
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = None
            }
            ("qr", "receipt") => {
                let r = self.last_receipt.as_ref().ok_or("no receipt yet")?;
                *self
                    .knobs
                    .scene
                    .qr
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(crate::sim::qr_payload(r));
            }
            ("qr", text) => {
                *self
                    .knobs
                    .scene
                    .qr
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(text.to_owned())
            }
            ("paper" | "cover" | "camera" | "voice", _) => {
                let cfg = self.ctl.borrow().config().clone();
                match what {
                    "paper" => {
                        self.knobs.paper = value.parse().map_err(|_| "paper needs a number")?
                    }
                    "cover" => self.knobs.cover_open = value == "open",
                    "camera" => self.knobs.recorder.camera = value == "on",
                    _ => self.knobs.recorder.voice = value == "on",
                }
                let fresh = default_ports(&cfg, self.clock.clone(), &self.knobs);
                if matches!(what, "paper" | "cover") {
                    *ports.printer.lock().unwrap_or_else(|p| p.into_inner()) = std::mem::replace(
                        &mut *fresh.printer.lock().unwrap_or_else(|p| p.into_inner()),
                        Box::new(crate::sim::SimPrinter::new(0, None)),
                    );
                } else {
                    let mut r = ports.recorder.lock().unwrap_or_else(|p| p.into_inner());
                    *r = Box::new(crate::sim::SimRecorder::new(
                        self.knobs.recorder.clone(),
                        &cfg.paths.ram_dir,
                        self.clock.clone(),
                        self.knobs.scene.clone(),
                    ));
                }
            }
            ("answer", rest) => {
                let r = self.last_receipt.clone().ok_or("no receipt yet")?;
                let (decision, text) = rest.split_once(' ').ok_or("sim answer DECISION TEXT")?;
                let decision =
                    booth_core::DecisionKind::parse(decision).ok_or("unknown decision")?;
                let cfg = self.ctl.borrow().config().clone();
                let mut store = booth_core::store::Store::open(&cfg.paths.database())
                    .map_err(|e| e.to_string())?;
                let now = booth_core::Clock::now(&*self.clock);
                let id = r.appeal_id;
                store
                    .write(|tx| {
                        use booth_core::store::kiosk::*;
                        add_status(
                            tx,
                            id,
                            &StatusEvent {
                                at: now + chrono::Duration::hours(2),
                                status: Status::Delivered,
                            },
                        )?;
                        add_status(
                            tx,
                            id,
                            &StatusEvent {
                                at: now + chrono::Duration::days(1),
                                status: Status::InReview,
                            },
                        )?;
                        add_status(
                            tx,
                            id,
                            &StatusEvent {
                                at: now + chrono::Duration::days(6),
                                status: Status::Answered { decision },
                            },
                        )?;
                        put_answer(
                            tx,
                            &booth_core::Answer {
                                appeal_id: id,
                                decision,
                                text: text.to_owned(),
                                signed_by: "Бөлім басшысы / Head of department Ә. Нұрланов".into(),
                                signed_on: (now + chrono::Duration::days(6)).date_naive(),
                                documents: vec!["answer-2026-03-26.pdf".into()],
                            },
                            now,
                        )
                    })
                    .map_err(|e| e.to_string())?;
            }
            _ => return Err(format!("unknown sim knob {what} {value}")),
        }
        self.refresh();
        Ok(())
    }

    /// Runs one script line.
    pub fn run_line(&mut self, line: &str) -> Result<bool, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(false);
        }
        let (cmd, arg) = line
            .split_once(' ')
            .map(|(a, b)| (a, b.trim()))
            .unwrap_or((line, ""));
        match cmd {
            "tap" => self.tap(arg)?,
            "type" => self.type_text(arg),
            "osk" => self.osk(arg)?,
            "key" => match arg {
                "enter" => self.key(slint::platform::Key::Return),
                "backspace" => self.key(slint::platform::Key::Backspace),
                _ => return Err(format!("unknown key {arg}")),
            },
            "act" => {
                let a = crate::flow::Action::parse(arg)
                    .ok_or_else(|| format!("unknown action {arg}"))?;
                self.event(Event::Tap(a));
            }
            "corner" => {
                let c = self.ctl.clone();
                let cd = self.corner_down.clone();
                corner(&c, &cd, &*self.clock, true);
                self.clock.advance(Duration::from_secs(3));
                corner(&c, &cd, &*self.clock, false);
                self.refresh();
            }
            "wait" => {
                let s: f64 = arg
                    .trim_end_matches('s')
                    .parse()
                    .map_err(|_| format!("bad duration {arg}"))?;
                self.wait(Duration::from_secs_f64(s));
            }
            "expect" => {
                if self.screen().name() != arg {
                    let c = self.ctl.borrow();
                    let s = c.flow().session();
                    return Err(format!(
                        "expected screen {arg}, showing {} (error: {:?}, lookup error: {:?}, \
                         lookup running: {}, code characters typed: {}, workers still busy: {})",
                        self.screen().name(),
                        s.error,
                        s.lookup_error,
                        s.looking_up,
                        s.code.chars().count(),
                        c.pending()
                    ));
                }
                return Ok(false);
            }
            "expect-message" => {
                let c = self.ctl.borrow();
                let s = c.flow().session();
                let shown = s.lookup_error.or(s.error);
                if shown != Some(arg) {
                    return Err(format!("expected message {arg}, showing {shown:?}"));
                }
                return Ok(false);
            }
            "sim" => {
                let (what, value) = arg.split_once(' ').unwrap_or((arg, ""));
                self.sim(what, value)?;
            }
            "scan" => {
                // A keyboard-wedge scanner types the QR payload and Enter.
                let r = self.last_receipt.clone().ok_or("no receipt yet")?;
                self.type_text(&crate::sim::qr_payload(&r));
                self.key(slint::platform::Key::Return);
            }
            "code" => {
                let r = self.last_receipt.clone().ok_or("no receipt yet")?;
                for d in r.code.digits().chars() {
                    self.tap_exact(&d.to_string())?;
                }
            }
            "shot" => {
                self.shot(Some(arg)).map_err(|e| e.to_string())?;
                return Ok(false);
            }
            _ => return Err(format!("unknown command {cmd}")),
        }
        Ok(true)
    }

    /// Runs a whole script, writing a PNG after each step.
    pub fn run_script(&mut self, text: &str, file: &str) -> Result<(), HeadlessError> {
        self.shot(None)?;
        for (i, line) in text.lines().enumerate() {
            let stepped = self.run_line(line).map_err(|message| HeadlessError::Step {
                file: file.into(),
                line: i + 1,
                message,
            })?;
            if stepped {
                self.shot(None)?;
            }
        }
        Ok(())
    }
}

/// Long press in the hidden corner: press and release at least 2 s apart opens service mode.
fn corner(
    ctl: &Rc<RefCell<Controller>>,
    down_at: &Rc<RefCell<Option<std::time::Instant>>>,
    clock: &dyn booth_core::Clock,
    down: bool,
) {
    let now = clock.monotonic();
    if down {
        *down_at.borrow_mut() = Some(now);
    } else if let Some(t) = down_at.borrow_mut().take() {
        if now.saturating_duration_since(t) >= Duration::from_secs(2) {
            ctl.borrow_mut()
                .dispatch(Event::Tap(crate::flow::Action::ServiceCorner));
        }
    }
}

/// Public form of the corner gesture for the windowed app.
pub fn corner_gesture(
    ctl: &Rc<RefCell<Controller>>,
    down_at: &Rc<RefCell<Option<std::time::Instant>>>,
    clock: &dyn booth_core::Clock,
    down: bool,
) {
    corner(ctl, down_at, clock, down);
}

/// `kiosk --headless`: runs `script` at `size`, writing PNGs and receipts into `out`.
pub fn run(
    script: &Path,
    out: &Path,
    cfg: Option<Config>,
    size: (u32, u32),
) -> Result<Vec<PathBuf>, HeadlessError> {
    let text =
        std::fs::read_to_string(script).map_err(|e| HeadlessError::Read(script.to_owned(), e))?;
    let cfg = cfg.unwrap_or_else(|| headless_config(out));
    let mut s = Session::start(cfg, size, Some(out))?;
    s.run_script(&text, &script.display().to_string())?;
    Ok(s.written)
}
