//! `booth-diag`: the field technician's health check of the booth's devices.
//!
//! ```text
//! booth-diag [--config FILE] [--json]                 report; exit 0 ok, 1 degraded, 2 unusable
//! booth-diag record --seconds N --out FILE            short test recording with the configured devices
//! booth-diag print-test                               sample receipt on the configured printer;
//!                                                     exit 0 only when the printer confirmed it
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use booth_core::config::Config;
use booth_hardware::recorder::{Recorder, RecorderEvent, RecorderSettings};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "booth-diag",
    version,
    about = "Health check of the booth's camera, microphone, encoder, disks, clock and printer"
)]
struct Cli {
    /// Booth configuration file (defaults are used when it does not exist).
    #[arg(long, env = "BOOTH_CONFIG", default_value = "/etc/booth/booth.toml")]
    config: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make a short test recording with the configured camera, microphone and encoder.
    Record {
        /// Length in seconds (1–180).
        #[arg(long, default_value_t = 5)]
        seconds: u32,
        /// Where to copy the (unencrypted) test recording; the extension is the container's.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a sample receipt on the configured printer.
    PrintTest,
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    if path.exists() {
        Ok(Config::load(path)?)
    } else {
        tracing::info!(config = %path.display(), "config file missing: using defaults");
        Ok(Config::default())
    }
}

fn record(mut cfg: Config, seconds: u32, out: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    if !(1..=180).contains(&seconds) {
        bail!("--seconds must be 1..=180");
    }
    cfg.kiosk.max_recording_s = seconds;
    cfg.kiosk.warn_before_end_s = cfg.kiosk.warn_before_end_s.min(seconds.saturating_sub(1));
    // A private RAM directory so a running kiosk's takes are never touched.
    let ram = std::env::temp_dir().join(format!("booth-diag-{}", std::process::id()));
    cfg.paths.ram_dir = ram.clone();
    let settings = RecorderSettings::from_config(&cfg)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = Recorder::start(&settings, tx).context("starting the recorder")?;
    if let Some(c) = handle.encoder() {
        eprintln!("encoder: {} ({})", c.encoder.element(), c.reason);
    }
    let result = handle.wait(Duration::from_secs(u64::from(seconds) + 20));
    let outcome = finish_record(result, &rx, &out, json);
    let _ = std::fs::remove_dir_all(&ram);
    outcome
}

fn finish_record(
    result: Result<booth_hardware::recorder::Take, booth_hardware::recorder::RecorderError>,
    rx: &std::sync::mpsc::Receiver<RecorderEvent>,
    out: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let levels: Vec<f32> = rx
        .try_iter()
        .filter_map(|e| match e {
            RecorderEvent::Level(l) => Some(l.rms_db),
            _ => None,
        })
        .collect();
    let take = match result {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "test recording failed");
            eprintln!("test recording failed: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let dest = out.with_extension(take.container.extension());
    std::fs::copy(&take.path, &dest).with_context(|| format!("copying to {}", dest.display()))?;
    let _ = take.clone().discard();
    let max_level = levels.iter().copied().fold(-100.0f32, f32::max);
    if json {
        say(
            &serde_json::json!({ "take": take, "out": dest, "max_level_db": max_level })
                .to_string(),
        );
    } else {
        say(&format!(
            "wrote {} ({} bytes, {:.2} s, {} frames, {} dropped, speech {:.0} %, loudest {:.1} dBFS, {})",
            dest.display(),
            take.size,
            take.duration.as_secs_f32(),
            take.video_frames,
            take.dropped_frames,
            take.speech_fraction * 100.0,
            max_level,
            take.encoder.element()
        ));
    }
    Ok(if take.probably_silent {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a line; a closed pipe (`booth-diag --json | head`) is not an error.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg = load_config(&cli.config)?;
    match cli.command {
        Some(Cmd::Record { seconds, out }) => record(cfg, seconds, out, cli.json),
        Some(Cmd::PrintTest) => match booth_hardware::printer::print_test(&cfg.printer) {
            Ok(report) => {
                say(&format!("test receipt {}", report.describe()));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                tracing::error!(error = %e, "print test failed");
                eprintln!("test receipt NOT printed: {e}");
                Ok(ExitCode::from(2))
            }
        },
        None => {
            let report = booth_hardware::diag::run(&cfg);
            if cli.json {
                say(&serde_json::to_string_pretty(&report)?);
            } else {
                say(report.to_table().trim_end());
            }
            Ok(ExitCode::from(report.health.exit_code() as u8))
        }
    }
}
