//! The booth's one configuration file (TOML). Every key has a default, documented on its field
//! and in `docs/booth.example.toml`; an unknown key or a wrong type is an error that names the
//! file, the line and the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::code::LookupParams;
use crate::domain::Language;

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Syntax error, unknown key or wrong type.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Values that parse but make no sense together.
    #[error("{path}: {key}: {message}")]
    Value {
        /// File.
        path: PathBuf,
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which booth this is.
    pub booth: BoothSection,
    /// Where data lives.
    pub paths: PathsSection,
    /// The citizen-facing app.
    pub kiosk: KioskSection,
    /// Answer deadlines and the calendar.
    pub answers: AnswersSection,
    /// Secret-code lookups.
    pub lookup: LookupSection,
    /// Camera, microphone and encoder.
    pub recorder: RecorderSection,
    /// Receipt printer.
    pub printer: PrinterSection,
    /// Link to the central service.
    pub sync: SyncSection,
    /// Reception console.
    pub reception: ReceptionSection,
    /// How long data is kept.
    pub retention: RetentionSection,
}

/// `[booth]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoothSection {
    /// Booth id, unique in the country (default `"DEV-BOOTH"`).
    pub id: String,
    /// Branch code in registration numbers, 2–8 letters/digits (default `"DEV01"`).
    pub branch: String,
    /// Branch name printed on receipts (default `"Demo branch"`).
    pub branch_name: String,
    /// Booth number within the branch, 1–99 (default 1).
    pub number: u16,
    /// Language the attract screen starts in (default `"kk"`).
    pub default_language: Language,
}

impl Default for BoothSection {
    fn default() -> Self {
        BoothSection {
            id: "DEV-BOOTH".into(),
            branch: "DEV01".into(),
            branch_name: "Demo branch".into(),
            number: 1,
            default_language: Language::Kk,
        }
    }
}

/// `[paths]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathsSection {
    /// Persistent state: database, keys (default `/var/lib/booth`).
    pub state_dir: PathBuf,
    /// Sealed recordings waiting for upload (default `/var/lib/booth/outbox`).
    pub outbox_dir: PathBuf,
    /// RAM directory for plaintext media, mode 0700 (default `/run/booth/media`).
    pub ram_dir: PathBuf,
}

impl Default for PathsSection {
    fn default() -> Self {
        PathsSection {
            state_dir: "/var/lib/booth".into(),
            outbox_dir: "/var/lib/booth/outbox".into(),
            ram_dir: "/run/booth/media".into(),
        }
    }
}

impl PathsSection {
    /// The shared SQLite database.
    pub fn database(&self) -> PathBuf {
        self.state_dir.join("booth.sqlite3")
    }
}

/// `[kiosk]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskSection {
    /// A reception ticket is needed to record (default true).
    pub ticket_required: bool,
    /// Seconds without a touch before "Are you still there?" (default 90).
    pub idle_timeout_s: u32,
    /// Seconds the "Are you still there?" question waits before wiping the session (default 20).
    pub idle_grace_s: u32,
    /// How many times a citizen may re-record before finishing (default 2).
    pub rerecord_limit: u32,
    /// Technician PIN for the hidden service mode (default `"000000"`; provisioning sets it).
    pub technician_pin: String,
    /// Maximum recording length in seconds: 180 by law (003 p.24). Shorter values are for tests.
    pub max_recording_s: u32,
    /// Warning before the limit, in seconds before the end (default 30: at 2:30).
    pub warn_before_end_s: u32,
    /// Minimum fraction of voiced audio frames before the "we could not hear you" warning
    /// (003 p.26; default 0.1).
    pub min_speech_fraction: f32,
    /// Screen orientation: `"landscape"` or `"portrait"` (default landscape).
    pub orientation: String,
    /// Start in high-contrast mode (default false).
    pub high_contrast: bool,
    /// Marker file whose presence means the clock has been synchronised since boot; appeals
    /// are refused while it is missing (default `/run/systemd/timesync/synchronized`, written
    /// by systemd-timesyncd). Empty disables the check (development and tests only).
    pub clock_sync_marker: String,
    /// A receipt that did not print because the kiosk stopped (crash, power cut) is printed
    /// again at start-up, with its receipt screen, if the appeal is younger than this many
    /// seconds (the citizen may still stand at the booth); older ones are listed in service
    /// mode as "receipt not printed" (default 300).
    pub reprint_within_s: u32,
}

impl Default for KioskSection {
    fn default() -> Self {
        KioskSection {
            ticket_required: true,
            idle_timeout_s: 90,
            idle_grace_s: 20,
            rerecord_limit: 2,
            technician_pin: "000000".into(),
            max_recording_s: 180,
            warn_before_end_s: 30,
            min_speech_fraction: 0.1,
            orientation: "landscape".into(),
            high_contrast: false,
            clock_sync_marker: "/run/systemd/timesync/synchronized".into(),
            reprint_within_s: 300,
        }
    }
}

/// `[answers]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnswersSection {
    /// Working days to answer (default 15; the central service may send another value).
    pub deadline_working_days: u32,
    /// Offset of local time from UTC in minutes, for receipt dates (default 300: Kazakhstan).
    pub utc_offset_minutes: i32,
}

impl Default for AnswersSection {
    fn default() -> Self {
        AnswersSection {
            deadline_working_days: 15,
            utc_offset_minutes: 300,
        }
    }
}

/// `[lookup]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LookupSection {
    /// Argon2id parameters of lookup ids (protocol-wide).
    pub argon2: LookupParams,
    /// Wrong codes allowed in a row before the keypad slows down (default 3).
    pub free_attempts: u32,
    /// Delay after each further wrong code, doubling, in seconds (default 5).
    pub delay_s: u32,
    /// Longest delay in seconds (default 300).
    pub max_delay_s: u32,
}

impl Default for LookupSection {
    fn default() -> Self {
        LookupSection {
            argon2: LookupParams::default(),
            free_attempts: 3,
            delay_s: 5,
            max_delay_s: 300,
        }
    }
}

/// `[recorder]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecorderSection {
    /// `"simulated"`, `"v4l2"` or `"image"` (a still picture at `camera_device`; tests and demo).
    pub camera: String,
    /// V4L2 device (default `/dev/video0`; udev names it `/dev/booth-camera`).
    pub camera_device: String,
    /// `"simulated"`, `"alsa"` or a WAV file path for a looped simulated voice (default simulated).
    pub microphone: String,
    /// ALSA device name (default `"default"`).
    pub microphone_device: String,
    /// Frame width (default 1280).
    pub width: u32,
    /// Frame height (default 720).
    pub height: u32,
    /// Frames per second (default 30).
    pub fps: u32,
    /// Encoder preference: `"auto"`, `"vaapi"`, `"x264"`, `"vp8"` (default auto).
    pub encoder: String,
    /// age recipients (X25519, `age1…`) of the central service; filled at enrollment.
    pub recipients: Vec<String>,
}

impl Default for RecorderSection {
    fn default() -> Self {
        RecorderSection {
            camera: "simulated".into(),
            camera_device: "/dev/video0".into(),
            microphone: "simulated".into(),
            microphone_device: "default".into(),
            width: 1280,
            height: 720,
            fps: 30,
            encoder: "auto".into(),
            recipients: Vec::new(),
        }
    }
}

/// `[printer]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterSection {
    /// `"tcp"`, `"usb"`, `"serial"`, `"file"` or `"none"` (default tcp).
    pub transport: String,
    /// Address for the transport: `host:port` for tcp (default `127.0.0.1:9100`), `vid:pid` for
    /// usb, a device path for serial, a file path for file.
    pub address: String,
    /// Paper width in dots: 576 (80 mm) or 384 (58 mm) (default 576).
    pub width_dots: u32,
    /// Receipts kept for reprint in service mode (default 10).
    pub keep_last: u32,
}

impl Default for PrinterSection {
    fn default() -> Self {
        PrinterSection {
            transport: "tcp".into(),
            address: "127.0.0.1:9100".into(),
            width_dots: 576,
            keep_last: 10,
        }
    }
}

/// `[sync]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Central service URL (default empty: not enrolled).
    pub central_url: String,
    /// Upload bandwidth cap in KiB/s, 0 = none (default 512).
    pub bandwidth_kib_s: u32,
    /// Seconds between pulls of answers, directory, calendar (default 60).
    pub pull_interval_s: u32,
    /// Seconds between heartbeats (default 60).
    pub heartbeat_interval_s: u32,
    /// Unix socket of the local lookup API for the kiosk (default `/run/booth/sync.sock`).
    pub socket: PathBuf,
    /// Bytes per tus PATCH request (default 4 MiB).
    pub chunk_bytes: u64,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            central_url: String::new(),
            bandwidth_kib_s: 512,
            pull_interval_s: 60,
            heartbeat_interval_s: 60,
            socket: "/run/booth/sync.sock".into(),
            chunk_bytes: 4 * 1024 * 1024,
        }
    }
}

/// `[reception]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceptionSection {
    /// Listen address on the branch LAN (default `127.0.0.1:8080`).
    pub listen: String,
    /// Minutes a booth ticket stays valid (default 30).
    pub ticket_ttl_minutes: u32,
    /// Failed logins before a 15-minute lockout (default 5).
    pub max_login_failures: u32,
    /// Minutes of inactivity before a session expires (default 30).
    pub session_minutes: u32,
    /// TLS certificate (PEM) — TLS is off when empty.
    pub tls_cert: PathBuf,
    /// TLS key (PEM).
    pub tls_key: PathBuf,
}

impl Default for ReceptionSection {
    fn default() -> Self {
        ReceptionSection {
            listen: "127.0.0.1:8080".into(),
            ticket_ttl_minutes: 30,
            max_login_failures: 5,
            session_minutes: 30,
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
        }
    }
}

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Days a sealed recording may stay on the booth when it cannot be uploaded before the
    /// technician is alerted (default 14). Never deleted unsent.
    pub alert_unsent_days: u32,
    /// Days the lookup data of an uploaded appeal stays for reprint and lookup (default 365).
    pub lookup_days: u32,
    /// Days reception journal entries are kept (default 1095: three years).
    pub journal_days: u32,
}

impl Default for RetentionSection {
    fn default() -> Self {
        RetentionSection {
            alert_unsent_days: 14,
            lookup_days: 365,
            journal_days: 1095,
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

impl Config {
    /// Parses configuration text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        cfg.check(path)?;
        Ok(cfg)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |key: &str, message: &str| {
            Err(ConfigError::Value {
                path: path.to_owned(),
                key: key.into(),
                message: message.into(),
            })
        };
        if self.kiosk.max_recording_s == 0 || self.kiosk.max_recording_s > 180 {
            return err(
                "kiosk.max_recording_s",
                "must be 1..=180: the law allows three minutes",
            );
        }
        if self.kiosk.warn_before_end_s >= self.kiosk.max_recording_s
            && self.kiosk.max_recording_s > 1
        {
            return err(
                "kiosk.warn_before_end_s",
                "must be shorter than kiosk.max_recording_s",
            );
        }
        if !(1..=99).contains(&self.booth.number) {
            return err("booth.number", "must be 1..=99");
        }
        if crate::code::RegistrationNumber::new(&self.booth.branch, self.booth.number, 2026, 1)
            .is_err()
        {
            return err("booth.branch", "must be 2–8 letters or digits");
        }
        if !matches!(self.printer.width_dots, 384 | 576) {
            return err("printer.width_dots", "must be 576 (80 mm) or 384 (58 mm)");
        }
        if !matches!(self.kiosk.orientation.as_str(), "landscape" | "portrait") {
            return err("kiosk.orientation", "must be \"landscape\" or \"portrait\"");
        }
        if !(6..=12).contains(&self.kiosk.technician_pin.len())
            || !self
                .kiosk
                .technician_pin
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            return err("kiosk.technician_pin", "must be 6 to 12 digits");
        }
        Ok(())
    }

    /// The config as TOML (written by provisioning and the demo).
    pub fn to_toml(&self) -> String {
        // Invariant: every field is a plain TOML value, so serialisation cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("", Path::new("booth.toml")).expect("defaults");
        assert_eq!(c, Config::default());
        assert_eq!(c.answers.deadline_working_days, 15);
        assert_eq!(c.kiosk.max_recording_s, 180);
    }

    #[test]
    fn round_trip() {
        let c = Config::default();
        assert_eq!(
            Config::parse(&c.to_toml(), Path::new("x")).expect("round trip"),
            c
        );
    }

    #[test]
    fn shipped_example_parses_and_names_every_section() {
        let text = include_str!("../../docs/booth.example.toml");
        let c = Config::parse(text, Path::new("docs/booth.example.toml")).expect("example parses");
        assert_eq!(c.booth.id, "ALM-0001");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "[booth]\nid = \"X\"\n\n[kiosk]\nidle_timeout = 5\n";
        let e = Config::parse(text, Path::new("/etc/booth/booth.toml")).expect_err("unknown key");
        let s = e.to_string();
        assert!(s.starts_with("/etc/booth/booth.toml:5:"), "{s}");
        assert!(s.contains("idle_timeout"), "{s}");
    }

    #[test]
    fn wrong_type_names_line_and_key() {
        let text = "[kiosk]\nidle_timeout_s = \"ninety\"\n";
        let e = Config::parse(text, Path::new("b.toml")).expect_err("wrong type");
        let ConfigError::Invalid { line, message, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(*line, 2);
        assert!(message.contains("invalid type"), "{message}");
        assert!(
            e.to_string().contains("idle_timeout_s") || e.to_string().contains("b.toml:2"),
            "{e}"
        );
    }

    #[test]
    fn values_are_checked() {
        let cases = [
            ("[kiosk]\nmax_recording_s = 240\n", "kiosk.max_recording_s"),
            ("[printer]\nwidth_dots = 500\n", "printer.width_dots"),
            ("[booth]\nbranch = \"A\"\n", "booth.branch"),
            ("[kiosk]\ntechnician_pin = \"12\"\n", "kiosk.technician_pin"),
        ];
        for (text, key) in cases {
            let e = Config::parse(text, Path::new("b.toml")).expect_err(key);
            assert!(e.to_string().contains(key), "{e}");
        }
    }
}
