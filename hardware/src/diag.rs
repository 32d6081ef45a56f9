//! The booth's health check for field technicians (`booth-diag`): camera devices and formats,
//! microphones, video encoders (available and chosen), disk space of the outbox and the RAM
//! directory, the clock, the age recipients and the receipt printer, each with a verdict, and
//! the overall verdict as an exit status (0 good, 1 degraded, 2 cannot take appeals).

use std::path::{Path, PathBuf};

use booth_core::config::Config;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use crate::camera::{CameraDevice, list_cameras, probe_device};
use crate::recorder::{EncoderChoice, EncoderPreference, LADDER, choose_encoder};

/// A verdict, ordered from good to bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Works.
    Ok,
    /// Works, but a technician should look (simulated device, low disk, no NTP).
    Degraded,
    /// The booth cannot take appeals.
    Unusable,
}

impl Health {
    /// Exit status of `booth-diag`: 0, 1 or 2.
    pub fn exit_code(self) -> i32 {
        match self {
            Health::Ok => 0,
            Health::Degraded => 1,
            Health::Unusable => 2,
        }
    }
}

/// One checked area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Area: camera, microphone, encoder, outbox, ram, clock, recipients, printer.
    pub area: &'static str,
    /// Verdict.
    pub health: Health,
    /// What was found and, when not ok, what to do.
    pub message: String,
}

/// Free and total space of a directory's file system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskReport {
    /// Directory.
    pub path: PathBuf,
    /// Whether it exists.
    pub exists: bool,
    /// Whether a file could be created in it.
    pub writable: bool,
    /// Bytes available to this user.
    pub free_bytes: Option<u64>,
    /// Size of the file system.
    pub total_bytes: Option<u64>,
}

/// One encoder's availability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncoderAvailability {
    /// GStreamer element.
    pub element: &'static str,
    /// Installed (and, for VA-API, a GPU driver loaded).
    pub available: bool,
    /// Debian package.
    pub package: &'static str,
}

/// The whole report (`booth-diag --json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiagReport {
    /// Program version.
    pub version: &'static str,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
    /// `recorder.camera` and `recorder.camera_device`.
    pub camera_configured: String,
    /// V4L2 capture devices found.
    pub cameras: Vec<CameraDevice>,
    /// `recorder.microphone` and `recorder.microphone_device`.
    pub microphone_configured: String,
    /// Capture devices cpal sees.
    pub microphones: Vec<String>,
    /// Encoders in preference order.
    pub encoders: Vec<EncoderAvailability>,
    /// The encoder the recorder would use, and why.
    pub encoder_chosen: Option<EncoderChoice>,
    /// Outbox of sealed recordings.
    pub outbox: DiskReport,
    /// RAM directory for plaintext takes.
    pub ram_dir: DiskReport,
    /// Whether systemd reports the clock as NTP-synchronised (`None`: cannot tell).
    pub ntp_synchronized: Option<bool>,
    /// Printer status in plain words, as the printer module reads it (`None`: no printer).
    pub printer: Option<String>,
    /// Every verdict.
    pub findings: Vec<Finding>,
    /// The worst verdict.
    pub health: Health,
}

/// A recording at 720p30 for 3 minutes is about 60 MB sealed; keep room for a queue of them.
const OUTBOX_MIN_FREE: u64 = 200 * 1024 * 1024;
const OUTBOX_LOW_FREE: u64 = 2 * 1024 * 1024 * 1024;
const RAM_MIN_FREE: u64 = 150 * 1024 * 1024;

fn disk(path: &Path) -> DiskReport {
    let exists = path.is_dir();
    // Space of the nearest existing ancestor: a missing RAM dir is created at start-up.
    let mut probe = path.to_path_buf();
    while !probe.exists() {
        if !probe.pop() {
            break;
        }
    }
    let (free_bytes, total_bytes) = match nix::sys::statvfs::statvfs(&probe) {
        Ok(s) => (
            Some(s.blocks_available() * s.fragment_size()),
            Some(s.blocks() * s.fragment_size()),
        ),
        Err(_) => (None, None),
    };
    let writable = exists && {
        let test = path.join(format!(".booth-diag-{}", std::process::id()));
        let ok = std::fs::write(&test, b"diag").is_ok();
        let _ = std::fs::remove_file(&test);
        ok
    };
    DiskReport {
        path: path.to_owned(),
        exists,
        writable,
        free_bytes,
        total_bytes,
    }
}

fn mib(b: u64) -> u64 {
    b / (1024 * 1024)
}

fn ntp_synchronized() -> Option<bool> {
    let out = std::process::Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    match String::from_utf8_lossy(&out.stdout).trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Runs every check. Takes a few hundred milliseconds; touches no citizen data.
pub fn run(cfg: &Config) -> DiagReport {
    let r = &cfg.recorder;
    let mut findings = Vec::new();
    let mut add = |area: &'static str, health: Health, message: String| {
        findings.push(Finding {
            area,
            health,
            message,
        })
    };

    let cameras = list_cameras();
    match r.camera.as_str() {
        "simulated" => add(
            "camera",
            Health::Degraded,
            "simulated camera configured: not for citizens".into(),
        ),
        "image" => add(
            "camera",
            Health::Degraded,
            "still-picture test camera configured: not for citizens".into(),
        ),
        "v4l2" => match probe_device(Path::new(&r.camera_device)) {
            Ok(d) => {
                let fits = d.formats.iter().any(|f| {
                    f.sizes
                        .iter()
                        .any(|s| s.width == r.width && s.height == r.height)
                });
                if fits {
                    add(
                        "camera",
                        Health::Ok,
                        format!(
                            "{} ({}) offers {}x{}",
                            r.camera_device, d.card, r.width, r.height
                        ),
                    );
                } else {
                    add(
                        "camera",
                        Health::Degraded,
                        format!(
                            "{} ({}) does not list {}x{}: check recorder.width/height",
                            r.camera_device, d.card, r.width, r.height
                        ),
                    );
                }
            }
            Err(e) => add(
                "camera",
                Health::Unusable,
                format!(
                    "{}: {e}: plug the camera in or fix recorder.camera_device",
                    r.camera_device
                ),
            ),
        },
        other => add(
            "camera",
            Health::Unusable,
            format!("unknown recorder.camera {other:?}"),
        ),
    }

    let microphones = crate::microphone::list_microphones();
    match r.microphone.as_str() {
        "alsa" if microphones.is_empty() => add(
            "microphone",
            Health::Unusable,
            "no capture device: plug the microphone in".into(),
        ),
        "alsa"
            if r.microphone_device != "default" && !microphones.contains(&r.microphone_device) =>
        {
            add(
                "microphone",
                Health::Unusable,
                format!(
                    "{:?} not found among {}",
                    r.microphone_device,
                    microphones.join(", ")
                ),
            )
        }
        "alsa" => add(
            "microphone",
            Health::Ok,
            format!("{:?} present", r.microphone_device),
        ),
        other => add(
            "microphone",
            Health::Degraded,
            format!("simulated microphone configured ({other}): not for citizens"),
        ),
    }

    let gst_ok = crate::recorder::init();
    let encoders: Vec<EncoderAvailability> = LADDER
        .iter()
        .map(|e| EncoderAvailability {
            element: e.element(),
            available: gst_ok.is_ok() && e.available(),
            package: e.package(),
        })
        .collect();
    let encoder_chosen = match (&gst_ok, EncoderPreference::parse(&r.encoder)) {
        (Err(e), _) => {
            add("encoder", Health::Unusable, e.to_string());
            None
        }
        (Ok(()), None) => {
            add(
                "encoder",
                Health::Unusable,
                format!("unknown recorder.encoder {:?}", r.encoder),
            );
            None
        }
        (Ok(()), Some(pref)) => match choose_encoder(pref) {
            Ok(c) => {
                add("encoder", Health::Ok, c.reason.clone());
                Some(c)
            }
            Err(e) => {
                add("encoder", Health::Unusable, e.to_string());
                None
            }
        },
    };

    let outbox = disk(&cfg.paths.outbox_dir);
    match (outbox.exists, outbox.writable, outbox.free_bytes) {
        (false, _, _) => add(
            "outbox",
            Health::Unusable,
            format!("{} does not exist", outbox.path.display()),
        ),
        (true, false, _) => add(
            "outbox",
            Health::Unusable,
            format!("{} is not writable", outbox.path.display()),
        ),
        (true, true, Some(f)) if f < OUTBOX_MIN_FREE => add(
            "outbox",
            Health::Unusable,
            format!("only {} MiB free", mib(f)),
        ),
        (true, true, Some(f)) if f < OUTBOX_LOW_FREE => add(
            "outbox",
            Health::Degraded,
            format!("{} MiB free: uploads are falling behind?", mib(f)),
        ),
        (true, true, f) => add(
            "outbox",
            Health::Ok,
            format!("{} MiB free", f.map_or(0, mib)),
        ),
    }
    let ram_dir = disk(&cfg.paths.ram_dir);
    match ram_dir.free_bytes {
        Some(f) if f < RAM_MIN_FREE => add(
            "ram",
            Health::Unusable,
            format!("only {} MiB free for a 3-minute take", mib(f)),
        ),
        _ if !ram_dir.exists => add(
            "ram",
            Health::Degraded,
            format!(
                "{} missing (systemd-tmpfiles creates it)",
                ram_dir.path.display()
            ),
        ),
        f => add("ram", Health::Ok, format!("{} MiB free", f.map_or(0, mib))),
    }

    let now = Utc::now();
    let ntp = ntp_synchronized();
    if now.year() < 2025 {
        add(
            "clock",
            Health::Unusable,
            format!("clock says {now}: receipt dates would be wrong"),
        );
    } else if ntp == Some(false) {
        add(
            "clock",
            Health::Degraded,
            format!("{now}, not NTP-synchronised"),
        );
    } else {
        add("clock", Health::Ok, format!("{now}"));
    }

    match crate::seal::parse_recipients(&r.recipients) {
        Ok(list) => add(
            "recipients",
            Health::Ok,
            format!("{} age recipient(s)", list.len()),
        ),
        Err(e) => add("recipients", Health::Unusable, e.to_string()),
    }

    let printer = printer_check(cfg, &mut add);

    let health = findings
        .iter()
        .map(|f| f.health)
        .max()
        .unwrap_or(Health::Ok);
    DiagReport {
        version: env!("CARGO_PKG_VERSION"),
        checked_at: now,
        camera_configured: format!("{} {}", r.camera, r.camera_device),
        cameras,
        microphone_configured: format!("{} {}", r.microphone, r.microphone_device),
        microphones,
        encoders,
        encoder_chosen,
        outbox,
        ram_dir,
        ntp_synchronized: ntp,
        printer,
        findings,
        health,
    }
}

fn printer_check(
    cfg: &Config,
    add: &mut impl FnMut(&'static str, Health, String),
) -> Option<String> {
    use crate::printer::{PrinterStatus, ReceiptPrinter};
    if cfg.printer.transport == "none" {
        add(
            "printer",
            Health::Degraded,
            "no printer configured: receipts are only shown on screen".into(),
        );
        return None;
    }
    let mut printer = match ReceiptPrinter::from_config(&cfg.printer) {
        Ok(p) => p,
        Err(e) => {
            add("printer", Health::Unusable, e.to_string());
            return Some(e.to_string());
        }
    };
    let target = printer.transport().describe();
    if cfg.printer.transport == "file" {
        let message = format!(
            "{target}: receipts are spooled to a file, never printed or confirmed (development \
             only)"
        );
        add("printer", Health::Degraded, message.clone());
        return Some(message);
    }
    let status = printer.status();
    let (health, detail) = match &status {
        PrinterStatus::Ready | PrinterStatus::PaperNearEnd => {
            // Can receipts be confirmed printed? Asks without printing anything.
            match printer.probe() {
                Ok(c) if status == PrinterStatus::Ready => {
                    (Health::Ok, format!("ready; {}", c.describe()))
                }
                Ok(c) => (
                    Health::Degraded,
                    format!("{}; {}", status.technician_detail(), c.describe()),
                ),
                Err(e) => (Health::Unusable, e.as_status().technician_detail()),
            }
        }
        _ => (Health::Unusable, status.technician_detail()),
    };
    let message = if detail.contains(&target) {
        detail
    } else {
        format!("{target}: {detail}")
    };
    add("printer", health, message.clone());
    Some(message)
}

impl DiagReport {
    /// The human-readable table `booth-diag` prints without `--json`.
    pub fn to_table(&self) -> String {
        let mut s = format!(
            "booth-diag {}  {}\n\n",
            self.version,
            self.checked_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        s.push_str(&format!("{:<11} {:<9} {}\n", "AREA", "VERDICT", "DETAIL"));
        for f in &self.findings {
            let v = match f.health {
                Health::Ok => "ok",
                Health::Degraded => "DEGRADED",
                Health::Unusable => "UNUSABLE",
            };
            s.push_str(&format!("{:<11} {:<9} {}\n", f.area, v, f.message));
        }
        s.push_str("\ncameras:\n");
        if self.cameras.is_empty() {
            s.push_str("  (no V4L2 capture device)\n");
        }
        for c in &self.cameras {
            s.push_str(&format!(
                "  {} {} [{}]\n",
                c.path.display(),
                c.card,
                c.driver
            ));
            for f in &c.formats {
                let sizes: Vec<String> = f
                    .sizes
                    .iter()
                    .map(|z| format!("{}x{}", z.width, z.height))
                    .collect();
                s.push_str(&format!("    {} {}\n", f.fourcc, sizes.join(" ")));
            }
        }
        s.push_str(&format!(
            "microphones: {}\n",
            if self.microphones.is_empty() {
                "(none)".to_string()
            } else {
                self.microphones.join(", ")
            }
        ));
        let enc: Vec<String> = self
            .encoders
            .iter()
            .map(|e| {
                format!(
                    "{}{}",
                    e.element,
                    if e.available { "" } else { " (missing)" }
                )
            })
            .collect();
        s.push_str(&format!("encoders: {}\n", enc.join(", ")));
        s.push_str(&format!(
            "overall: {}\n",
            match self.health {
                Health::Ok => "ok (exit 0)",
                Health::Degraded => "degraded (exit 1)",
                Health::Unusable => "the booth cannot take appeals (exit 2)",
            }
        ));
        s
    }
}
