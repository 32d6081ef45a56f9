//! The booth's stack as real processes on 127.0.0.1: the central service (authority-sim) and
//! one or more booths (virtual printer, reception console, enrolled sync agent), each booth
//! with its own config, database and outbox under a root directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use booth_core::config::Config;

use crate::process::{HarnessError, Proc, bin, free_port, run};

const START: Duration = Duration::from_secs(60);

/// Operator password of the demo and the tests.
pub const OPERATOR_PASSWORD: &str = "operator-demo-2026";
/// Reception admin login and password of the demo and the tests.
pub const RECEPTION_ADMIN: (&str, &str) = ("admin", "admin-demo-2026");
/// Receptionist login and password of the demo and the tests.
pub const RECEPTIONIST: (&str, &str) = ("aigerim", "reception-demo-2026");

/// The running central service.
#[derive(Debug)]
pub struct Authority {
    /// Process.
    pub proc: Proc,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// Plain-HTTP admin URL (faults, counters, tokens).
    pub admin_url: String,
    /// Data directory.
    pub data: PathBuf,
    /// Its CA certificate (PEM), pinned by booths at enrollment.
    pub ca_cert: PathBuf,
}

impl Authority {
    /// Starts authority-sim with a fresh data directory under `root`.
    pub fn start(root: &Path) -> Result<Authority, HarnessError> {
        Self::start_on(root, free_port()?, free_port()?)
    }

    /// Starts authority-sim on given ports (the demo uses fixed ones).
    pub fn start_on(root: &Path, port: u16, admin_port: u16) -> Result<Authority, HarnessError> {
        let data = root.join("authority");
        let mut cmd = Command::new(bin("authority-sim")?);
        cmd.args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin_port}"),
        ])
        .arg("--data")
        .arg(&data)
        .env("AUTHORITY_SIM_OPERATOR_PASSWORD", OPERATOR_PASSWORD)
        .env("RUST_LOG", "info");
        let mut proc = Proc::spawn("authority-sim", cmd, &root.join("logs"))?;
        proc.wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)), START)?;
        proc.wait_for_port(SocketAddr::from(([127, 0, 0, 1], admin_port)), START)?;
        Ok(Authority {
            proc,
            url: format!("https://127.0.0.1:{port}"),
            admin_url: format!("http://127.0.0.1:{admin_port}"),
            ca_cert: data.join("ca.cert.pem"),
            data,
        })
    }

    /// Issues a one-time enrollment token for `booth_id`.
    pub fn issue_token(&self, booth_id: &str) -> Result<String, HarnessError> {
        let out = run(
            "authority-sim issue-token",
            Command::new(bin("authority-sim")?)
                .arg("issue-token")
                .arg("--data")
                .arg(&self.data)
                .args(["--booth-id", booth_id]),
        )?;
        Ok(out
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_owned())
    }
}

/// What a booth runs besides the sync agent.
#[derive(Debug, Clone, Copy)]
pub struct BoothOptions {
    /// Start a virtual printer.
    pub printer: bool,
    /// Start the reception console.
    pub reception: bool,
}

/// One running booth.
#[derive(Debug)]
pub struct Booth {
    /// Booth id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Config file.
    pub config_path: PathBuf,
    /// Parsed config.
    pub config: Config,
    /// Sync agent (None while stopped).
    pub agent: Option<Proc>,
    /// Virtual printer.
    pub printer: Option<Proc>,
    /// Printer control address (line commands).
    pub printer_control: Option<SocketAddr>,
    /// Receipt PNGs.
    pub receipts_dir: PathBuf,
    /// Reception console.
    pub reception: Option<Proc>,
    /// `http://127.0.0.1:PORT`.
    pub reception_url: Option<String>,
}

impl Booth {
    /// Writes the booth's config, starts its printer and reception, enrolls it with the
    /// authority and starts its sync agent.
    pub fn start(
        root: &Path,
        authority: &Authority,
        id: &str,
        branch: &str,
        number: u16,
        opts: BoothOptions,
    ) -> Result<Booth, HarnessError> {
        let dir = root.join(id);
        let logs = root.join("logs");
        let mut config = Config::default();
        config.booth.id = id.into();
        config.booth.branch = branch.into();
        config.booth.number = number;
        config.booth.branch_name = "Алматы, №1 филиал".into();
        config.paths.state_dir = dir.join("state");
        config.paths.outbox_dir = dir.join("state/outbox");
        config.paths.ram_dir = dir.join("run/media");
        config.sync.socket = dir.join("run/sync.sock");
        config.sync.central_url = authority.url.clone();
        config.sync.pull_interval_s = 2;
        config.sync.heartbeat_interval_s = 5;
        config.sync.bandwidth_kib_s = 0;
        config.kiosk.max_recording_s = 6;
        config.kiosk.warn_before_end_s = 2;
        // No time sync on a test machine: the kiosk's build-date check still applies.
        config.kiosk.clock_sync_marker = String::new();
        config.recorder.width = 640;
        config.recorder.height = 360;
        for d in [
            &config.paths.state_dir,
            &config.paths.outbox_dir,
            &config.paths.ram_dir,
        ] {
            std::fs::create_dir_all(d).map_err(|source| HarnessError::Io {
                what: format!("mkdir {}", d.display()),
                source,
            })?;
        }
        let receipts_dir = dir.join("receipts");
        let (mut printer, mut printer_control) = (None, None);
        if opts.printer {
            let port = free_port()?;
            let control = SocketAddr::from(([127, 0, 0, 1], free_port()?));
            let mut cmd = Command::new(bin("booth-printer-sim")?);
            cmd.args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--control",
                &control.to_string(),
            ])
            .arg("--out")
            .arg(&receipts_dir);
            let mut p = Proc::spawn(&format!("{id}-printer"), cmd, &logs)?;
            p.wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)), START)?;
            config.printer.transport = "tcp".into();
            config.printer.address = format!("127.0.0.1:{port}");
            printer = Some(p);
            printer_control = Some(control);
        } else {
            config.printer.transport = "none".into();
        }
        let reception_port = free_port()?;
        config.reception.listen = format!("127.0.0.1:{reception_port}");
        let config_path = dir.join("booth.toml");
        std::fs::write(&config_path, config.to_toml()).map_err(|source| HarnessError::Io {
            what: format!("write {}", config_path.display()),
            source,
        })?;

        let mut booth = Booth {
            id: id.into(),
            dir,
            config_path,
            config,
            agent: None,
            printer,
            printer_control,
            receipts_dir,
            reception: None,
            reception_url: None,
        };
        if opts.reception {
            for (login, password, role) in [
                (RECEPTION_ADMIN.0, RECEPTION_ADMIN.1, "admin"),
                (RECEPTIONIST.0, RECEPTIONIST.1, "receptionist"),
            ] {
                run(
                    "reception add-user",
                    Command::new(bin("reception")?)
                        .arg("--config")
                        .arg(&booth.config_path)
                        .args(["add-user", login, "--role", role])
                        .env("RECEPTION_PASSWORD", password),
                )?;
            }
            let mut cmd = Command::new(bin("reception")?);
            cmd.arg("--config")
                .arg(&booth.config_path)
                .arg("serve")
                .env("RUST_LOG", "info");
            let mut p = Proc::spawn(&format!("{id}-reception"), cmd, &logs)?;
            p.wait_for_port(SocketAddr::from(([127, 0, 0, 1], reception_port)), START)?;
            booth.reception = Some(p);
            booth.reception_url = Some(format!("http://127.0.0.1:{reception_port}"));
        }
        let token = authority.issue_token(id)?;
        run(
            "sync-agent enroll",
            Command::new(bin("sync-agent")?)
                .arg("--config")
                .arg(&booth.config_path)
                .args(["enroll", "--url", &authority.url, "--token", &token])
                .arg("--ca-cert")
                .arg(&authority.ca_cert),
        )?;
        // Enrollment writes the recipients and central settings into the config.
        booth.config = Config::load(&booth.config_path).map_err(|e| HarnessError::Io {
            what: format!("reload {}", booth.config_path.display()),
            source: std::io::Error::other(e.to_string()),
        })?;
        booth.start_agent()?;
        Ok(booth)
    }

    /// Starts (or restarts) the sync agent.
    pub fn start_agent(&mut self) -> Result<(), HarnessError> {
        let mut cmd = Command::new(bin("sync-agent")?);
        cmd.arg("--config")
            .arg(&self.config_path)
            .arg("run")
            .env("RUST_LOG", "info");
        let p = Proc::spawn(
            &format!("{}-agent", self.id),
            cmd,
            &self.dir.parent().unwrap_or(&self.dir).join("logs"),
        )?;
        self.agent = Some(p);
        let sock = self.config.sync.socket.clone();
        let end = std::time::Instant::now() + START;
        while !sock.exists() {
            if std::time::Instant::now() > end {
                return Err(HarnessError::Timeout {
                    what: format!("agent socket {}", sock.display()),
                    secs: START.as_secs(),
                    log: String::new(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops the sync agent (SIGTERM).
    pub fn stop_agent(&mut self) {
        if let Some(mut p) = self.agent.take() {
            p.stop(Duration::from_secs(10));
        }
    }

    /// Kills the sync agent with SIGKILL (no shutdown path runs: a crash or power cut). Returns
    /// whether one was running. The stale socket file stays, as after a real crash.
    pub fn kill_agent_hard(&mut self) -> bool {
        match self.agent.take() {
            Some(mut p) => {
                let was_running = p.running();
                p.kill9();
                // Already reaped: dropping it would send SIGTERM to a pid that may be reused.
                std::mem::forget(p);
                was_running
            }
            None => false,
        }
    }
}
