//! Child processes of the booth's real binaries for cross-process tests and the demo: started
//! with their output in a log file, stopped with SIGTERM (then SIGKILL) when dropped.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A binary is not built.
    #[error("binary {0} not found: run `cargo build --workspace --bins` first")]
    MissingBinary(PathBuf),
    /// I/O.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Something did not happen in time.
    #[error("timed out after {secs} s waiting for {what}; last log lines:\n{log}")]
    Timeout {
        /// What.
        what: String,
        /// Seconds waited.
        secs: u64,
        /// Tail of the relevant log.
        log: String,
    },
    /// A process exited with failure.
    #[error("{name} failed ({status}); log:\n{log}")]
    Failed {
        /// Process.
        name: String,
        /// Exit status.
        status: String,
        /// Its log.
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// The directory that holds the workspace's built binaries (`target/debug`), found from the
/// running executable (a test in `target/debug/deps`, or xtask in `target/debug`).
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BOOTH_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Path of a workspace binary, checked to exist.
pub fn bin(name: &str) -> Result<PathBuf, HarnessError> {
    let p = bin_dir().join(name);
    if p.exists() {
        Ok(p)
    } else {
        Err(HarnessError::MissingBinary(p))
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; racy only against other processes).
pub fn free_port() -> Result<u16, HarnessError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("bind 127.0.0.1:0"))?;
    Ok(l.local_addr().map_err(io("local_addr"))?.port())
}

/// Last `n` lines of a file (for error messages).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A running child process with its log file.
#[derive(Debug)]
pub struct Proc {
    /// Short name for messages.
    pub name: String,
    child: Option<Child>,
    /// Combined stdout/stderr log.
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd`, sending stdout and stderr to `log_dir/<name>.log`.
    pub fn spawn(name: &str, mut cmd: Command, log_dir: &Path) -> Result<Proc, HarnessError> {
        std::fs::create_dir_all(log_dir).map_err(io(format!("create {}", log_dir.display())))?;
        let log = log_dir.join(format!("{name}.log"));
        let out = File::create(&log).map_err(io(format!("create {}", log.display())))?;
        let err = out.try_clone().map_err(io("dup log"))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().map_err(io(format!("start {name}")))?;
        Ok(Proc {
            name: name.to_owned(),
            child: Some(child),
            log,
        })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<(), HarnessError> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .contains(needle)
            {
                return Ok(());
            }
            if !self.running() {
                return Err(HarnessError::Failed {
                    name: self.name.clone(),
                    status: "exited early".into(),
                    log: tail(&self.log, 40),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(HarnessError::Timeout {
            what: format!("{:?} in {}'s log", needle, self.name),
            secs: timeout.as_secs(),
            log: tail(&self.log, 40),
        })
    }

    /// Waits until a TCP connection to `addr` succeeds.
    pub fn wait_for_port(
        &mut self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if !self.running() {
                return Err(HarnessError::Failed {
                    name: self.name.clone(),
                    status: "exited early".into(),
                    log: tail(&self.log, 40),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(HarnessError::Timeout {
            what: format!("{} listening on {addr}", self.name),
            secs: timeout.as_secs(),
            log: tail(&self.log, 40),
        })
    }

    /// SIGKILL now (crash tests).
    pub fn kill9(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns the exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let end = Instant::now() + grace;
        while Instant::now() < end {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        c.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Runs a command to completion, with its output captured; fails with its output.
pub fn run(name: &str, cmd: &mut Command) -> Result<String, HarnessError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("run {name}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(HarnessError::Failed {
            name: name.into(),
            status: out.status.to_string(),
            log: text,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `f` every 250 ms until it gives a value; panics naming `what` after `secs` seconds.
/// For tests: a timeout here is a failure to report, not a performance figure.
pub fn wait_until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= end {
            panic!("timed out after {secs} s waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
