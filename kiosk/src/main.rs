//! `kiosk`: the citizen's full-screen app. Without flags it opens the window full screen
//! (winit; under `cage` on the booth). `--headless --script FILE --out DIR` drives the real
//! flow and screens from a script and writes PNGs; `kiosk bench` prints performance figures.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use booth_core::config::Config;
use clap::{Parser, Subcommand};
use kiosk::controller::{Controller, SimKnobs, default_ports};
use kiosk::ui::AppWindow;
use kiosk::view::{ViewState, install_translations, render, show_frame, wire};
use slint::ComponentHandle;

/// Command line of `kiosk`.
#[derive(Debug, Parser)]
#[command(version, about = "The video-appeal booth's touch-screen app")]
struct Cli {
    /// Booth configuration file.
    #[arg(long, env = "BOOTH_CONFIG")]
    config: Option<PathBuf>,
    /// Run without a display from a script (see `kiosk/src/headless.rs`).
    #[arg(long, requires_all = ["script", "out"])]
    headless: bool,
    /// Script of touches and typed text.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Output directory for PNGs and receipts.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Render portrait (1080×1920) instead of landscape (1920×1080) in headless mode.
    #[arg(long)]
    portrait: bool,
    /// Windowed, not full screen (development).
    #[arg(long)]
    windowed: bool,
    /// Window size in physical pixels, e.g. `1920x1080`: for X servers without a window
    /// manager (the demo's Xvfb), where a full-screen request is ignored.
    #[arg(long, value_parser = parse_size)]
    size: Option<(u32, u32)>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Prints cold start, recording-screen frame time, preview fps and peak RSS.
    Bench,
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg = match &cli.config {
        Some(p) => Some(Config::load(p).with_context(|| format!("loading {}", p.display()))?),
        None => None,
    };
    if let Some(Cmd::Bench) = cli.cmd {
        return bench(started);
    }
    if cli.headless {
        let (Some(script), Some(out)) = (cli.script, cli.out) else {
            anyhow::bail!("--headless needs --script and --out")
        };
        let size = if cli.portrait {
            (1080, 1920)
        } else {
            (1920, 1080)
        };
        let written = kiosk::headless::run(&script, &out, cfg, size)?;
        println!("{} screens written to {}", written.len(), out.display());
        return Ok(());
    }
    let cfg = match cfg {
        Some(c) => c,
        None => Config::load(std::path::Path::new("/etc/booth/booth.toml"))
            .context("loading /etc/booth/booth.toml (or pass --config)")?,
    };
    windowed(cfg, !cli.windowed, cli.size)
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("size {s:?}: write it as WIDTHxHEIGHT, e.g. 1920x1080"))?;
    let n = |v: &str| {
        v.parse::<u32>()
            .ok()
            .filter(|n| (320..=8192).contains(n))
            .ok_or_else(|| format!("size {s:?}: {v:?} is not a pixel count from 320 to 8192"))
    };
    Ok((n(w)?, n(h)?))
}

thread_local! {
    static APP: RefCell<Option<(Rc<RefCell<Controller>>, slint::Weak<AppWindow>, ViewState)>> = const { RefCell::new(None) };
    /// When the UI thread last pumped the flow (the watchdog pets only while this is fresh).
    static LAST_PUMP: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

fn pump_and_render() {
    APP.with(|a| {
        let mut g = a.borrow_mut();
        let Some((ctl, weak, vs)) = g.as_mut() else {
            return;
        };
        let Some(ui) = weak.upgrade() else { return };
        ctl.borrow_mut().tick();
        ctl.borrow_mut().pump();
        LAST_PUMP.with(|l| l.set(Some(Instant::now())));
        let size = ui.window().size();
        let portrait = size.height > size.width;
        let now = ctl.borrow().ports().clock.monotonic();
        render(&ui, ctl.borrow().flow(), now, vs, portrait);
    });
}

fn windowed(cfg: Config, fullscreen: bool, size: Option<(u32, u32)>) -> anyhow::Result<()> {
    let ui = AppWindow::new().context("creating the window")?;
    install_translations(&ui);
    let clock: Arc<dyn booth_core::Clock> = Arc::new(booth_core::SystemClock);
    // The booth's devices (simulated ones when the config says `simulated`); `BOOTH_KIOSK_SIM=1`
    // keeps the in-process simulations for UI work without GStreamer devices.
    let ports = if std::env::var_os("BOOTH_KIOSK_SIM").is_some() {
        default_ports(&cfg, clock.clone(), &SimKnobs::default())
    } else {
        kiosk::real::real_ports(&cfg, clock.clone()).context("opening the booth's devices")?
    };
    tracing::info!(adapters = ?ports.adapters, "kiosk starting");
    let waker = Arc::new(|| {
        // Workers call this from their threads; the pump runs on the UI thread.
        let _ = slint::invoke_from_event_loop(pump_and_render);
    });
    let mut ctl = Controller::new(cfg, ports, waker, true).context("starting the controller")?;
    let weak = ui.as_weak();
    ctl.set_frame_sink(Arc::new(move |f| {
        let _ = weak.upgrade_in_event_loop(move |ui| show_frame(&ui, &f));
    }));
    let ctl = Rc::new(RefCell::new(ctl));
    let c1 = ctl.clone();
    let c2 = ctl.clone();
    let down_at: Rc<RefCell<Option<Instant>>> = Rc::default();
    wire(
        &ui,
        move |ev| {
            c1.borrow_mut().dispatch(ev);
            pump_and_render();
        },
        move |down| {
            let clock = c2.borrow().ports().clock.clone();
            kiosk::headless::corner_gesture(&c2, &down_at, &*clock, down);
            pump_and_render();
        },
    );
    APP.with(|a| *a.borrow_mut() = Some((ctl, ui.as_weak(), ViewState::default())));
    let timer = slint::Timer::default();
    timer.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(200),
        pump_and_render,
    );
    if let Some((w, h)) = size {
        ui.window().set_size(slint::PhysicalSize::new(w, h));
    }
    pump_and_render();
    ui.window().set_fullscreen(fullscreen);
    // READY=1 once the attract screen has really been drawn (after the first frame).
    let ready_sent = Rc::new(std::cell::Cell::new(false));
    let rs = ready_sent.clone();
    let notifier = ui.window().set_rendering_notifier(move |state, _| {
        if matches!(state, slint::RenderingState::AfterRendering) && !rs.replace(true) {
            kiosk::liveness::ready();
            tracing::info!("attract screen drawn");
        }
    });
    if let Err(e) = notifier {
        // The software renderer has no such hook (only Skia has): the event loop turning
        // 200 ms after start means the first frame (the attract screen) has been presented.
        tracing::debug!(error = %e, "no rendering notifier; READY after the first loop turns");
        slint::Timer::single_shot(Duration::from_millis(200), move || {
            if !ready_sent.replace(true) {
                kiosk::liveness::ready();
                tracing::info!("attract screen shown; READY sent");
            }
        });
    }
    // WATCHDOG=1 from the UI thread itself, only while the flow is being pumped: a hung event
    // loop or a stuck flow stops the petting and systemd restarts the session.
    let watchdog = slint::Timer::default();
    if let Some(interval) = kiosk::liveness::watchdog_interval() {
        let every = kiosk::liveness::pet_every(interval);
        tracing::info!(every_ms = every.as_millis() as u64, "watchdog on");
        watchdog.start(slint::TimerMode::Repeated, every, move || {
            let fresh = LAST_PUMP
                .with(|l| l.get())
                .is_some_and(|t| t.elapsed() < every);
            let flow_answers = APP.with(|a| {
                a.try_borrow()
                    .ok()
                    .and_then(|g| g.as_ref().map(|(c, _, _)| c.try_borrow().is_ok()))
                    .unwrap_or(false)
            });
            if fresh && flow_answers {
                kiosk::liveness::watchdog();
            } else {
                tracing::warn!(fresh, flow_answers, "watchdog not petted");
            }
        });
    }
    ui.run().context("running the window")?;
    kiosk::liveness::stopping();
    Ok(())
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn bench(started: Instant) -> anyhow::Result<()> {
    use kiosk::headless::{Session, headless_config};
    let dir = std::env::temp_dir().join(format!("kiosk-bench-{}", std::process::id()));
    let mut s = Session::start(headless_config(&dir), (1920, 1080), None)?;
    let _ = s.image();
    let cold = started.elapsed();
    println!(
        "cold start to attract screen: {:.0} ms",
        cold.as_secs_f64() * 1000.0
    );

    // Drive to the recording screen.
    let journey = include_str!("../scripts/record-kk.script");
    let mut lines = journey.lines();
    for line in lines.by_ref() {
        s.run_line(line)
            .map_err(|e| anyhow::anyhow!("bench journey: {e}"))?;
        if s.screen() == kiosk::flow::Screen::Recording {
            break;
        }
    }
    anyhow::ensure!(
        s.screen() == kiosk::flow::Screen::Recording,
        "bench journey did not reach the recording screen"
    );
    let n = 30;
    let t0 = Instant::now();
    for _ in 0..n {
        s.wait(Duration::from_millis(1000));
        let _ = s.image();
    }
    let per = t0.elapsed() / n;
    println!(
        "recording screen frame time (new preview frame + full 1920x1080 software render): {:.1} ms",
        per.as_secs_f64() * 1000.0
    );

    // Preview fps: the threaded preview pipeline with a counting sink, 3 s of real time.
    let cfg = headless_config(&dir);
    let clock: Arc<dyn booth_core::Clock> = Arc::new(booth_core::SystemClock);
    let ports = default_ports(&cfg, clock, &SimKnobs::default());
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut ctl = Controller::new(cfg, ports, Arc::new(|| {}), true)?;
    let c = count.clone();
    ctl.set_frame_sink(Arc::new(move |f| {
        let _img = kiosk::view::frame_image(&f);
        c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }));
    ctl.dispatch(kiosk::flow::Event::Tap(kiosk::flow::Action::Start));
    // Go straight to the effect: start preview as the check screen would.
    for a in ["lang:kk", "record"] {
        if let Some(a) = kiosk::flow::Action::parse(a) {
            ctl.dispatch(kiosk::flow::Event::Tap(a));
        }
    }
    let p = ctl.ports().clone();
    p.recorder
        .lock()
        .map_err(|_| anyhow::anyhow!("recorder lock"))?
        .start_preview()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let on = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let on2 = on.clone();
    let c2 = count.clone();
    let h = std::thread::spawn(move || {
        let period = Duration::from_millis(33);
        while on2.load(std::sync::atomic::Ordering::SeqCst) {
            let t = Instant::now();
            let f = p.recorder.lock().ok().and_then(|mut r| r.preview_frame());
            if let Some(f) = f {
                let _img = kiosk::view::frame_image(&f);
                c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if let Some(rest) = period.checked_sub(t.elapsed()) {
                std::thread::sleep(rest);
            }
        }
    });
    let t0 = Instant::now();
    count.store(0, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    let frames = count.load(std::sync::atomic::Ordering::SeqCst);
    on.store(false, std::sync::atomic::Ordering::SeqCst);
    let _ = h.join();
    println!(
        "preview fps delivered (sim camera 640x360 → Slint image): {:.1}",
        frames as f64 / t0.elapsed().as_secs_f64()
    );

    // Peak RSS over the full record journey (the lookup script reuses the single-use demo ticket).
    for line in lines {
        s.run_line(line)
            .map_err(|e| anyhow::anyhow!("bench journey: {e}"))?;
    }
    println!(
        "peak RSS over a full simulated journey: {} MiB",
        peak_rss_kib() / 1024
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
