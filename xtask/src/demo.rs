//! `cargo xtask demo`: the whole booth on one machine with simulated hardware.
//!
//! Starts authority-sim (central service + operator page), a virtual receipt printer, the
//! reception console, enrolls the booth and starts its sync agent, then opens the kiosk window,
//! prints where to look and the demo logins, and stops everything cleanly on Ctrl-C. With no
//! display, the kiosk runs under Xvfb on [`XVFB_DISPLAY`]: a screenshot is written every 5 s,
//! x11vnc serves the screen on 127.0.0.1:[`VNC_PORT`] (see and drive it with any VNC viewer),
//! and `xdotool` drives it from a script.
//! `--headless` runs the scripted end-to-end journey instead and exits 0 when it completes.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use booth_e2e::process::{Proc, bin, tail};
use booth_e2e::stack::{
    Authority, Booth, BoothOptions, OPERATOR_PASSWORD, RECEPTION_ADMIN, RECEPTIONIST,
};
use clap::Args;

use crate::util::{build_workspace, cargo};

/// The X display of the demo's Xvfb when there is no display.
pub const XVFB_DISPLAY: &str = ":77";
/// x11vnc's port for the Xvfb screen (5900 + display number), on 127.0.0.1 only.
pub const VNC_PORT: u16 = 5977;
/// What the demo prints once everything is up (`cargo xtask check-readme` waits for it).
pub const RUNNING_BANNER: &str = "the booth is running";
/// What the demo prints when it has stopped everything.
pub const STOPPED: &str = "demo: stopped cleanly";

/// `cargo xtask demo --headless`: the journey test (`tests/tests/journey.rs`) with the feature
/// set of `cargo test --workspace` in `cargo xtask test`, so nothing rebuilds after it (a `-p
/// booth-e2e` selection would unify features differently and rebuild shared dependencies).
pub const HEADLESS_TEST: &[&str] = &[
    "test",
    "--workspace",
    "--locked",
    "--test",
    "journey",
    "--",
    "--nocapture",
];

/// Options of the demo.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run the scripted end-to-end journey without a window and exit 0 when it completes.
    #[arg(long)]
    pub headless: bool,
    /// Where the demo keeps its data (wiped at start).
    #[arg(long, default_value = "demo-data")]
    pub dir: PathBuf,
    /// Stop by itself after this many seconds (0 = run until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub seconds: u64,
}

/// Builds and runs the demo.
pub fn run(args: DemoArgs) -> Result<()> {
    // The build of `cargo xtask test`: a no-op after it.
    build_workspace()?;
    if args.headless {
        println!("demo: running the scripted end-to-end journey (tests/tests/journey.rs) headless");
        cargo(HEADLESS_TEST)?;
        println!("demo: the journey completed");
        return Ok(());
    }
    let root = std::env::current_dir()?.join(&args.dir);
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("wiping {}", root.display()))?;
    }
    std::fs::create_dir_all(&root)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
    }

    println!("demo: starting the central service (authority-sim)…");
    let authority = Authority::start_on(&root, 8443, 8444)?;
    println!("demo: starting printer, reception, enrolling the booth, starting its sync agent…");
    let booth = Booth::start(
        &root,
        &authority,
        "ALM-0001",
        "ALM01",
        1,
        BoothOptions {
            printer: true,
            reception: true,
        },
    )?;

    let logs = root.join("logs");
    let (display, xvfb) = match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => (d, None),
        _ => (XVFB_DISPLAY.to_owned(), Some(start_xvfb(&logs)?)),
    };
    let vnc = if xvfb.is_some() {
        start_vnc(&display, &logs)
    } else {
        None
    };
    let mut kiosk_cmd = Command::new(bin("kiosk")?);
    kiosk_cmd
        .arg("--config")
        .arg(&booth.config_path)
        .args(if xvfb.is_some() {
            // Xvfb has no window manager to honour "full screen": size the window to the screen.
            vec!["--size", "1920x1080"]
        } else {
            vec![]
        })
        .env("DISPLAY", &display)
        .env("RUST_LOG", "info");
    if xvfb.is_some() {
        // On Xvfb, also when the user's session is Wayland-only.
        kiosk_cmd.env_remove("WAYLAND_DISPLAY");
    }
    let mut kiosk = Proc::spawn("kiosk", kiosk_cmd, &logs)?;

    let shots = root.join("screens");
    std::fs::create_dir_all(&shots)?;
    println!();
    println!("================ {RUNNING_BANNER} ================");
    if xvfb.is_some() {
        println!(
            "kiosk window      : no display here, so it runs under Xvfb {display} (1920x1080); a screenshot is written to {}/kiosk.png every 5 s",
            shots.display()
        );
        match &vnc {
            Some(_) => println!(
                "see and drive it  : VNC viewer to 127.0.0.1:{VNC_PORT} (from another machine: ssh -L {VNC_PORT}:127.0.0.1:{VNC_PORT} <this host>, then vncviewer 127.0.0.1:{VNC_PORT})"
            ),
            None => println!(
                "see and drive it  : x11vnc is not running (see {}); install x11vnc for a VNC view",
                logs.join("x11vnc.log").display()
            ),
        }
        println!(
            "script it         : DISPLAY={display} xdotool mousemove 960 540 click 1; import -display {display} -window root shot.png"
        );
    } else {
        println!("kiosk window      : on your display {display}");
    }
    println!(
        "reception console : {}/  (admin: {} / {}, receptionist: {} / {})",
        booth.reception_url.clone().unwrap_or_default(),
        RECEPTION_ADMIN.0,
        RECEPTION_ADMIN.1,
        RECEPTIONIST.0,
        RECEPTIONIST.1
    );
    println!(
        "operator page     : {}/operator/  (operator / {OPERATOR_PASSWORD}; the certificate is the demo CA's: {})",
        authority.url,
        authority.ca_cert.display()
    );
    println!(
        "virtual printer   : receipts as PNG in {}",
        booth.receipts_dir.display()
    );
    println!("logs              : {}", logs.display());
    println!(
        "sync status       : target/debug/sync-agent --config {} status",
        booth.config_path.display()
    );
    println!("Ctrl-C stops everything.");
    println!("=======================================================");

    let started = Instant::now();
    let mut last_shot = Instant::now() - Duration::from_secs(10);
    let mut kiosk_exited = false;
    while !stop.load(Ordering::SeqCst) {
        if args.seconds > 0 && started.elapsed() > Duration::from_secs(args.seconds) {
            break;
        }
        if !kiosk.running() {
            // Ctrl-C reaches the kiosk too (same process group): that exit is not a failure.
            kiosk_exited = !stop.load(Ordering::SeqCst);
            break;
        }
        if xvfb.is_some() && last_shot.elapsed() > Duration::from_secs(5) {
            let _ = Command::new("import")
                .args(["-display", &display, "-window", "root"])
                .arg(shots.join("kiosk.png"))
                .status();
            last_shot = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("demo: stopping…");
    kiosk.stop(Duration::from_secs(5));
    drop(vnc);
    drop(booth);
    drop(authority);
    drop(xvfb);
    if kiosk_exited {
        bail!(
            "the kiosk exited before the demo was stopped; the end of {}:\n{}",
            kiosk.log.display(),
            tail(&kiosk.log, 30)
        );
    }
    println!("{STOPPED}");
    Ok(())
}

/// Starts Xvfb on [`XVFB_DISPLAY`] and waits for its socket.
fn start_xvfb(logs: &Path) -> Result<Proc> {
    let mut cmd = Command::new("Xvfb");
    cmd.args([
        XVFB_DISPLAY,
        "-screen",
        "0",
        "1920x1080x24",
        "-nolisten",
        "tcp",
    ]);
    let mut p = Proc::spawn("xvfb", cmd, logs)?;
    let socket = Path::new("/tmp/.X11-unix").join(format!("X{}", &XVFB_DISPLAY[1..]));
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if !p.running() {
            bail!(
                "Xvfb {XVFB_DISPLAY} exited (another X server on that display?):\n{}",
                tail(&p.log, 10)
            );
        }
        if socket.exists() {
            return Ok(p);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("Xvfb {XVFB_DISPLAY}: no {} after 10 s", socket.display())
}

/// Serves the Xvfb screen with x11vnc on 127.0.0.1:[`VNC_PORT`] (no password: only local users
/// and SSH tunnels reach it). `None`, with the reason in the log, when x11vnc is missing or does
/// not come up: the demo runs on without it.
fn start_vnc(display: &str, logs: &Path) -> Option<Proc> {
    let mut cmd = Command::new("x11vnc");
    cmd.args(["-display", display, "-localhost", "-rfbport"])
        .arg(VNC_PORT.to_string())
        .args(["-forever", "-shared", "-nopw", "-noxdamage"]);
    let mut p = match Proc::spawn("x11vnc", cmd, logs) {
        Ok(p) => p,
        Err(e) => {
            println!("demo: no VNC view: {e} (apt-get install x11vnc)");
            return None;
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], VNC_PORT));
    match p.wait_for_port(addr, Duration::from_secs(15)) {
        Ok(()) => Some(p),
        Err(e) => {
            println!("demo: no VNC view: {e}");
            None
        }
    }
}

/// Reads the VNC server's greeting on 127.0.0.1:[`VNC_PORT`] (`RFB 003.008`).
pub fn vnc_greeting() -> Result<String> {
    use std::io::Read;
    let addr = SocketAddr::from(([127, 0, 0, 1], VNC_PORT));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to the VNC view on {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut greeting = [0u8; 12];
    s.read_exact(&mut greeting)
        .with_context(|| format!("reading the VNC greeting on {addr}"))?;
    Ok(String::from_utf8_lossy(&greeting).trim_end().to_owned())
}
