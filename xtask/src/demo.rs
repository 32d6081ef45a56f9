//! `cargo xtask demo`: the whole booth on one machine with simulated hardware.
//!
//! Starts authority-sim (central service + operator page), a virtual receipt printer, the
//! reception console, enrolls the booth and starts its sync agent, then opens the kiosk window
//! (under Xvfb when there is no display, with a screenshot written every few seconds), prints
//! where to look and the demo logins, and stops everything cleanly on Ctrl-C.
//! `--headless` runs the scripted end-to-end journey instead and exits 0 when it completes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use booth_e2e::process::{Proc, bin};
use booth_e2e::stack::{
    Authority, Booth, BoothOptions, OPERATOR_PASSWORD, RECEPTION_ADMIN, RECEPTIONIST,
};
use clap::Args;

use crate::util::cargo;

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
    if args.headless {
        println!("demo: running the scripted end-to-end journey (tests/tests/journey.rs) headless");
        return cargo(&[
            "test",
            "-p",
            "booth-e2e",
            "--features",
            "journey",
            "--test",
            "journey",
            "--",
            "--nocapture",
        ]);
    }
    cargo(&["build", "--workspace", "--bins"])?;
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

    let (display, xvfb) = match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => (d, None),
        _ => {
            let d = ":77".to_owned();
            let mut cmd = Command::new("Xvfb");
            cmd.args([
                d.as_str(),
                "-screen",
                "0",
                "1920x1080x24",
                "-nolisten",
                "tcp",
            ]);
            let p = Proc::spawn("xvfb", cmd, &root.join("logs"))?;
            std::thread::sleep(Duration::from_secs(1));
            (d, Some(p))
        }
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
    let mut kiosk = Proc::spawn("kiosk", kiosk_cmd, &root.join("logs"))?;

    let shots = root.join("screens");
    std::fs::create_dir_all(&shots)?;
    println!();
    println!("================ the booth is running ================");
    println!(
        "kiosk window      : {}",
        if xvfb.is_some() {
            format!(
                "no display here, so it runs under Xvfb {display}; a screenshot is written to {}/kiosk.png every 5 s",
                shots.display()
            )
        } else {
            format!("on your display {display}")
        }
    );
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
    println!("logs              : {}", root.join("logs").display());
    println!(
        "sync status       : target/debug/sync-agent --config {} status",
        booth.config_path.display()
    );
    println!("Ctrl-C stops everything.");
    println!("=======================================================");

    let started = Instant::now();
    let mut last_shot = Instant::now() - Duration::from_secs(10);
    while !stop.load(Ordering::SeqCst) {
        if args.seconds > 0 && started.elapsed() > Duration::from_secs(args.seconds) {
            break;
        }
        if !kiosk.running() {
            println!("demo: the kiosk exited; see {}", kiosk.log.display());
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
    drop(booth);
    drop(authority);
    drop(xvfb);
    println!("demo: stopped cleanly");
    Ok(())
}
