//! Shared fixtures of the sync agent's integration tests: a real authority-sim on 127.0.0.1
//! (in-process, port 0 or a reserved port), a booth directory with a real config file and
//! SQLite store, real sealed recordings (age-encrypted random bytes committed with
//! `commit_appeal`), enrollment, and the agent either in-process or as the real binary.
#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use authority_sim::{RunningServer, ServeOptions};
use booth_core::config::Config;
use booth_core::store::{Store, appeals, outbox};
use booth_core::testing::sample_new_appeal;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sync_agent::db::Db;
use sync_agent::enroll::{EnrollOptions, enroll};
use sync_agent::state::StateDir;
use uuid::Uuid;

/// A free loopback address (bound then released, so a server can come up there later).
pub fn reserve_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// Starts authority-sim with its data in `data` on `addr`.
pub async fn start_sim(data: &Path, addr: SocketAddr) -> RunningServer {
    let o = ServeOptions::new(addr, data.to_path_buf());
    authority_sim::serve(o).await.expect("authority-sim starts")
}

/// Waits until `f` holds or panics after `timeout` with `what`.
pub async fn wait_for(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One booth: a temp dir with `booth.toml`, the state dir, outbox and socket.
pub struct Booth {
    pub dir: tempfile::TempDir,
    pub cfg: Config,
    pub config_path: PathBuf,
    pub ca_path: PathBuf,
}

/// Knobs of a test booth.
#[derive(Clone, Copy)]
pub struct BoothOpts {
    pub chunk_bytes: u64,
    pub bandwidth_kib_s: u32,
    pub pull_interval_s: u32,
    pub heartbeat_interval_s: u32,
}

impl Default for BoothOpts {
    fn default() -> Self {
        BoothOpts {
            chunk_bytes: 256 * 1024,
            bandwidth_kib_s: 0,
            pull_interval_s: 2,
            heartbeat_interval_s: 30,
        }
    }
}

impl Booth {
    pub fn new(booth_id: &str, o: BoothOpts) -> Booth {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        let text = format!(
            r#"[booth]
id = "{booth_id}"
branch = "ALM01"
number = 3

[paths]
state_dir = "{s}"
outbox_dir = "{s}/outbox"
ram_dir = "{r}"

[sync]
bandwidth_kib_s = {bw}
pull_interval_s = {pi}
heartbeat_interval_s = {hb}
socket = "{sock}"
chunk_bytes = {chunk}
"#,
            s = root.join("state").display(),
            r = root.join("ram").display(),
            sock = root.join("sync.sock").display(),
            bw = o.bandwidth_kib_s,
            pi = o.pull_interval_s,
            hb = o.heartbeat_interval_s,
            chunk = o.chunk_bytes,
        );
        let config_path = root.join("booth.toml");
        std::fs::write(&config_path, &text).expect("write config");
        let cfg = Config::parse(&text, &config_path).expect("config parses");
        std::fs::create_dir_all(&cfg.paths.outbox_dir).expect("outbox dir");
        Booth {
            ca_path: root.join("authority-ca.pem"),
            dir,
            cfg,
            config_path,
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.cfg.paths.database()).expect("store opens")
    }

    pub fn state(&self) -> StateDir {
        StateDir::new(&self.cfg.paths.state_dir)
    }

    pub fn socket(&self) -> PathBuf {
        self.cfg.sync.socket.clone()
    }

    /// Enrolls in-process against `server` (token issued for this booth's id).
    pub async fn enroll(&self, server: &RunningServer) {
        std::fs::write(&self.ca_path, &server.ca_pem).expect("ca");
        let token = server.issue_token(&self.cfg.booth.id).expect("token");
        let db = Db::open(&self.cfg.paths.database()).expect("db");
        enroll(
            &self.state(),
            &db,
            &EnrollOptions {
                url: server.url.clone(),
                token,
                ca_cert: Some(self.ca_path.clone()),
                force: false,
            },
        )
        .await
        .expect("enrollment succeeds");
    }

    /// Seals `n` recordings of `size` random bytes to `recipient` and commits them as appeals.
    /// Returns (appeal id, sealed SHA-256, lookup id) per appeal, oldest first.
    pub fn seal_appeals(
        &self,
        n: usize,
        size: usize,
        recipient: &str,
    ) -> Vec<(Uuid, String, booth_core::LookupId)> {
        let r: age::x25519::Recipient = recipient.parse().expect("age recipient");
        let mut store = self.store();
        let mut out = Vec::new();
        for _ in 0..n {
            let mut plain = vec![0u8; size];
            rand::rng().fill_bytes(&mut plain);
            let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                .expect("encryptor");
            let mut sealed = Vec::new();
            let mut w = enc.wrap_output(&mut sealed).expect("wrap");
            w.write_all(&plain).expect("encrypt");
            w.finish().expect("finish");
            let (mut new, _code) = sample_new_appeal(&self.cfg.booth.id, chrono::Utc::now(), None);
            let path = self.cfg.paths.outbox_dir.join(&new.media.file_name);
            let mut f = std::fs::File::create(&path).expect("create sealed");
            f.write_all(&sealed).expect("write sealed");
            f.sync_all().expect("fsync");
            new.media.sealed_sha256 = hex::encode(Sha256::digest(&sealed));
            new.media.sealed_size = sealed.len() as u64;
            new.media.content_type = "video/webm".into();
            let branch = self.cfg.booth.branch.clone();
            let number = self.cfg.booth.number;
            store
                .write(|tx| appeals::commit_appeal(tx, &new, &branch, number))
                .expect("commit");
            out.push((
                new.id,
                new.media.sealed_sha256.clone(),
                new.lookup_id.clone(),
            ));
        }
        out
    }

    /// (pending, destroyed, parked) outbox counts.
    pub fn outbox_counts(&self) -> (usize, usize, usize) {
        let mut s = self.store();
        s.read(|tx| {
            Ok::<_, booth_core::store::StoreError>((
                outbox::pending(tx, 100_000)?.len(),
                outbox::in_state(tx, "destroyed")?.len(),
                outbox::in_state(tx, "parked")?.len(),
            ))
        })
        .expect("counts")
    }

    /// Sealed files still in the outbox directory.
    pub fn sealed_files(&self) -> usize {
        std::fs::read_dir(&self.cfg.paths.outbox_dir)
            .expect("outbox dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".age"))
            })
            .count()
    }

    /// Spawns the real binary with `args`, stderr to `log` (in the booth dir).
    pub fn spawn(&self, args: &[&str], log: &str, env: &[(&str, &str)]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(log))
            .expect("log file");
        let mut c = Command::new(env!("CARGO_BIN_EXE_sync-agent"));
        c.arg("--config")
            .arg(&self.config_path)
            .args(args)
            .stdout(Stdio::null())
            .stderr(log);
        c.env("RUST_LOG", "info");
        for (k, v) in env {
            c.env(k, v);
        }
        c.spawn().expect("spawn sync-agent")
    }

    /// Like [`Booth::spawn`] but through `sh -c 'WATCHDOG_PID=$$ exec …'`, as systemd sets
    /// `WATCHDOG_PID` to the service's own PID (the shell's PID becomes the agent's at exec).
    pub fn spawn_as_systemd(&self, args: &[&str], log: &str, env: &[(&str, &str)]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(log))
            .expect("log file");
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("WATCHDOG_PID=$$; export WATCHDOG_PID; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_sync-agent"))
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .env("RUST_LOG", "info");
        for (k, v) in env {
            c.env(k, v);
        }
        c.spawn().expect("spawn sync-agent")
    }

    /// Runs the binary to completion; returns (exit code, stdout, stderr).
    pub fn run_cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_sync-agent"))
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .output()
            .expect("run sync-agent");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

/// Sends SIGTERM (via `kill`) and waits for the exit status.
pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "agent did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Server side: (appeals received, appeals verified) and whether every verified appeal's stored
/// file has the booth's SHA-256.
pub fn server_view(server: &RunningServer) -> (usize, usize, bool) {
    let all = server.state.db.all_appeals().expect("server appeals");
    let verified: Vec<_> = all.iter().filter(|a| a.verified_at.is_some()).collect();
    let ok = verified.iter().all(|a| {
        let p = server
            .state
            .media_dir
            .join(format!("{}.age", a.id.simple()));
        std::fs::read(&p)
            .map(|b| hex::encode(Sha256::digest(&b)) == a.body.media.sha256)
            .unwrap_or(false)
    });
    (all.len(), verified.len(), ok)
}

/// Bytes the server received on tus PATCH requests.
pub fn patch_bytes(server: &RunningServer) -> u64 {
    server
        .faults()
        .counters()
        .get("PATCH /v1/uploads/{upload_id}")
        .map(|c| c.request_bytes)
        .unwrap_or(0)
}

/// Requests the server saw on a route.
pub fn requests(server: &RunningServer, route: &str) -> u64 {
    server
        .faults()
        .counters()
        .get(route)
        .map(|c| c.requests)
        .unwrap_or(0)
}
