//! Chaos run of the booth (issue 11), bounded form: real processes on 127.0.0.1.
//!
//! One authority-sim and one booth (virtual printer, reception for tickets, sync agent). The
//! citizen records `CHAOS_APPEALS` appeals (default 5) with the headless kiosk running the real
//! recorder, sealing, store and printer. Meanwhile:
//! - some kiosk runs are SIGKILLed after "Finish recording" (the sending, 003 p.27): the instant the seal's temp file shows up
//!   (mid-seal), the instant the sealed file is renamed (before the commit: an orphan), right
//!   after the commit (before or while printing), or after a random delay;
//! - a chaos thread SIGKILLs the sync agent while uploads are in flight and restarts it, and
//!   sets authority-sim network faults (5xx with Retry-After, a connection reset mid-body, a
//!   wrong checksum echoed by "complete", truncated answers), then clears them;
//! - when running as root, one more appeal is sent with the outbox on a full 3 MiB tmpfs: the
//!   seal hits ENOSPC, the kiosk shows its error and keeps the take, space is freed, "Try again"
//!   commits it and the receipt prints.
//!
//! After everything settles (faults cleared, agent running): every committed appeal (the ones a
//! receipt can name: registration number and lookup id committed) is at the central service
//! exactly once, verified, with the central copy's SHA-256 equal to the SHA-256 the booth
//! recorded at sealing; nothing else is there; every printed receipt names a committed appeal.
//! Counts are printed. `CHAOS_SEED` replays a run's random choices (not its timing);
//! `CHAOS_KEEP=1` keeps the run's directory.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use booth_core::config::Config;
use booth_e2e::process::{bin, tail, wait_until};
use booth_e2e::stack::{Authority, Booth, BoothOptions, OPERATOR_PASSWORD, RECEPTIONIST};
use booth_e2e::web::{Operator, Reception, Visitor, decode_qr};

// --- small helpers ------------------------------------------------------------------------

/// xorshift64*: the run's random choices, replayable with `CHAOS_SEED`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi.saturating_sub(lo) + 1))
    }
}

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = files(dir)
        .into_iter()
        .filter(|n| n.ends_with(".png"))
        .map(|n| dir.join(n))
        .collect();
    v.sort();
    v
}

fn has_png(dir: &Path, suffix: &str) -> bool {
    files(dir).iter().any(|n| n.ends_with(suffix))
}

fn tap_digits(s: &str) -> String {
    s.chars().map(|c| format!("tap {c}\n")).collect()
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Outbox rows by state (a fresh read-only connection each time: the kiosk and the agent write).
fn outbox_states(db: &Path) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    let Ok(c) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return m;
    };
    let _ = c.busy_timeout(Duration::from_secs(5));
    let Ok(mut st) = c.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state") else {
        return m;
    };
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)));
    if let Ok(rows) = rows {
        for (s, n) in rows.flatten() {
            m.insert(s, n);
        }
    }
    m
}

fn unsettled(db: &Path) -> u32 {
    let m = outbox_states(db);
    ["sealed", "uploading", "uploaded"]
        .iter()
        .map(|s| m.get(*s).copied().unwrap_or(0))
        .sum()
}

/// One committed appeal as the booth's store holds it.
#[derive(Debug, Clone)]
struct Committed {
    registration_number: String,
    file_name: String,
    sealed_sha256: String,
    sealed_size: u64,
    state: String,
    last_error: Option<String>,
}

fn committed_appeals(db: &Path) -> BTreeMap<String, Committed> {
    let c = rusqlite::Connection::open(db).expect("booth store");
    c.busy_timeout(Duration::from_secs(10)).expect("busy");
    let mut st = c
        .prepare(
            "SELECT a.id, a.registration_number, o.file_name, o.sealed_sha256, o.sealed_size, o.state, o.last_error
             FROM appeals a LEFT JOIN outbox o ON o.appeal_id = a.id ORDER BY a.id",
        )
        .expect("query");
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Committed {
                    registration_number: r.get(1)?,
                    file_name: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    sealed_sha256: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    sealed_size: r.get::<_, Option<u64>>(4)?.unwrap_or(0),
                    state: r
                        .get::<_, Option<String>>(5)?
                        .unwrap_or_else(|| "NO OUTBOX ROW".into()),
                    last_error: r.get(6)?,
                },
            ))
        })
        .expect("rows");
    rows.map(|r| r.expect("row")).collect()
}

/// Receipt jobs of committed appeals, read with the store's own reader: (pending, unprinted
/// registration numbers). Pending means neither printed nor listed for staff.
fn receipt_jobs(db: &Path) -> (usize, BTreeSet<String>) {
    let mut store = booth_core::store::Store::open(db).expect("booth store");
    store
        .read(|tx| {
            Ok::<_, booth_core::store::StoreError>((
                booth_core::store::receipts::pending(tx)?.len(),
                booth_core::store::receipts::unprinted(tx, 10_000)?
                    .into_iter()
                    .map(|r| r.registration_number)
                    .collect(),
            ))
        })
        .expect("receipt jobs")
}

/// Sealed files destroyed at a kiosk restart because their appeal was never committed.
fn destroyed_orphans(db: &Path) -> usize {
    let mut store = booth_core::store::Store::open(db).expect("booth store");
    store
        .read(booth_core::store::outbox::destruction_log)
        .expect("destruction log")
        .iter()
        .filter(|e| e.rule == booth_core::intake::RULE_ORPHAN_SEAL)
        .count()
}

fn destruction_counts(db: &Path) -> BTreeMap<String, u32> {
    let c = rusqlite::Connection::open(db).expect("booth store");
    let mut st = c
        .prepare(
            "SELECT recording_id, COUNT(*) FROM destruction_log WHERE rule = ?1 GROUP BY recording_id",
        )
        .expect("query");
    st.query_map([booth_core::store::outbox::RULE_UPLOADED], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
    })
    .expect("rows")
    .map(|r| r.expect("row"))
    .collect()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

// --- the kiosk -----------------------------------------------------------------------------

/// How a journey ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Runs to "No, finish".
    Complete,
    /// SIGKILL this long after a new file appears in the outbox after "Finish recording"
    /// (zero: mid-seal; later: between the rename and the commit, or after the commit).
    KillAtSealFile(Duration),
    /// SIGKILL this long after "Finish recording" (003 p.27: the sending).
    KillAfterSend(Duration),
    /// SIGKILL this long after the kiosk logged the commit (before or while printing).
    KillAfterCommit(Duration),
    /// SIGKILL the moment the sealed file gets its final name (after the rename, before the
    /// commit: an orphan file that never had a receipt).
    KillAtRename,
}

#[derive(Debug)]
enum Outcome {
    /// Exited by itself.
    Exited { ok: bool },
    /// Killed by the test.
    Killed,
}

/// A journey to "Finish recording", which sends the appeal (003 p.27), then `after_send`.
fn record_script(ticket: &str, after_send: &str) -> String {
    format!(
        "tap Touch the screen to start\ntap English\ntap Record an appeal\n{}tap Next\nexpect consent\ntap I agree\n\
         expect applicant\ntap Postal address\ntype Almaty, Abai ave 10, apt 5\ntap Next\nexpect addressee\n\
         type labour\ntap Ministry of Labour and Social Protection\nexpect kind\ntap Statement\nexpect check\nwait 1\n\
         tap Start recording\nwait 3\nexpect recording\nwait 3\n\
         shot before-send\ntap Finish recording\n{after_send}",
        tap_digits(ticket)
    )
}

/// A kiosk start after a kill, as the booth's systemd restart does: the start-up recovery
/// destroys a sealed file that never got its row and shows and prints a receipt that never
/// printed (when the appeal is young). Returns whether a receipt screen was shown.
fn restart_kiosk(cfg_path: &Path, out: &Path) -> bool {
    let (mut child, log) = spawn_kiosk(cfg_path, out, "restart", "wait 1\n");
    let st = wait_until("the restarted kiosk to settle", 120, || {
        child.try_wait().expect("try_wait")
    });
    assert!(st.success(), "restarted kiosk failed:\n{}", tail(&log, 30));
    has_png(out, "-receipt.png")
}

const FINISH: &str = "expect receipt\ntap Next\ntap No, finish\n";

fn spawn_kiosk(cfg_path: &Path, out: &Path, name: &str, script: &str) -> (Child, PathBuf) {
    std::fs::create_dir_all(out).expect("out dir");
    let script_path = out.join(format!("{name}.script"));
    std::fs::write(&script_path, script).expect("script");
    let log = out.join("kiosk.log");
    let f = File::create(&log).expect("log");
    let child = Command::new(bin("kiosk").expect("kiosk built"))
        .arg("--config")
        .arg(cfg_path)
        .arg("--headless")
        .arg("--script")
        .arg(&script_path)
        .arg("--out")
        .arg(out)
        .env("RUST_LOG", "info,kiosk::controller=debug")
        .env("BOOTH_KIOSK_REAL", "1")
        .stdin(Stdio::null())
        .stdout(f.try_clone().expect("dup"))
        .stderr(f)
        .spawn()
        .expect("kiosk starts");
    (child, log)
}

/// Runs one journey in `mode`; returns how it ended.
fn journey(
    cfg_path: &Path,
    outbox: &Path,
    out: &Path,
    name: &str,
    ticket: &str,
    mode: Mode,
) -> Outcome {
    let script = record_script(ticket, FINISH);
    let before = files(outbox);
    let (mut child, log) = spawn_kiosk(cfg_path, out, name, &script);
    let end = Instant::now() + Duration::from_secs(300);
    let mut sent_at: Option<Instant> = None;
    let mut committed_at: Option<Instant> = None;
    let mut file_at: Option<Instant> = None;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return Outcome::Exited { ok: st.success() };
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kiosk {name} hung; log:\n{}", tail(&log, 40));
        }
        // The controller logs each tap at debug level when it dispatches it.
        if sent_at.is_none()
            && has_png(out, "-before-send.png")
            && std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("Tap(FinishRecording)")
        {
            sent_at = Some(Instant::now());
        }
        if let (Mode::KillAfterCommit(_), Some(_), None) = (mode, sent_at, committed_at)
            && std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("appeal committed")
        {
            committed_at = Some(Instant::now());
        }
        if let (Mode::KillAtSealFile(_), Some(_), None) = (mode, sent_at, file_at)
            && files(outbox).difference(&before).next().is_some()
        {
            file_at = Some(Instant::now());
        }
        let kill_now = match (mode, sent_at, committed_at) {
            (Mode::KillAtRename, Some(_), _) => files(outbox)
                .difference(&before)
                .any(|f| f.ends_with(".age") && !f.starts_with('.')),
            (Mode::KillAtSealFile(d), _, _) => file_at.is_some_and(|t| t.elapsed() >= d),
            (Mode::KillAfterSend(d), Some(t), _) => t.elapsed() >= d,
            (Mode::KillAfterCommit(d), _, Some(t)) => t.elapsed() >= d,
            _ => false,
        };
        if kill_now {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            return Outcome::Killed;
        }
        std::thread::sleep(Duration::from_millis(if has_png(out, "-before-send.png") {
            1
        } else {
            20
        }));
    }
}

// --- chaos on the agent and the network ----------------------------------------------------

#[derive(Default)]
struct ChaosCounts {
    agent_kills: AtomicU32,
    agent_kills_mid_upload: AtomicU32,
    faults: AtomicU32,
    fault_clears: AtomicU32,
}

fn put_faults(admin_url: &str, rules: serde_json::Value) -> bool {
    let c = reqwest::blocking::Client::new();
    c.put(format!("{admin_url}/admin/faults"))
        .json(&serde_json::json!({ "rules": rules }))
        .send()
        .map(|r| r.status().is_success())
        .unwrap_or(false)
}

fn clear_faults(admin_url: &str) -> bool {
    let c = reqwest::blocking::Client::new();
    c.delete(format!("{admin_url}/admin/faults"))
        .send()
        .map(|r| r.status().is_success())
        .unwrap_or(false)
}

fn random_fault(rng: &mut Rng) -> (&'static str, serde_json::Value) {
    const PATCH: &str = "PATCH /v1/uploads/{upload_id}";
    const PUT: &str = "PUT /v1/appeals/{appeal_id}";
    const COMPLETE: &str = "POST /v1/appeals/{appeal_id}/complete";
    const CREATE: &str = "POST /v1/uploads";
    match rng.below(6) {
        0 => (
            "503+Retry-After on PATCH",
            serde_json::json!([{ "route": PATCH, "status": 503, "retry_after_s": 1, "times": 2 }]),
        ),
        1 => (
            "reset mid-body on PATCH",
            serde_json::json!([{ "route": PATCH, "reset_after_bytes": 8_000 + rng.below(60_000), "times": 1 }]),
        ),
        2 => (
            "wrong checksum on complete",
            serde_json::json!([{ "route": COMPLETE, "wrong_checksum": true, "times": 1 }]),
        ),
        3 => (
            "502 on PUT appeal",
            serde_json::json!([{ "route": PUT, "status": 502, "retry_after_s": 1, "times": 1 }]),
        ),
        4 => (
            "truncated answer to PUT appeal",
            serde_json::json!([{ "route": PUT, "truncate_response": true, "times": 1 }]),
        ),
        _ => (
            "truncated answer to tus create",
            serde_json::json!([{ "route": CREATE, "truncate_response": true, "times": 1 }]),
        ),
    }
}

/// Responses the server's fault rules produced, from authority-sim's counters: (5xx, aborted
/// connections).
fn fault_hits(admin_url: &str) -> (u64, u64) {
    let v: serde_json::Value = reqwest::blocking::get(format!("{admin_url}/admin/counters"))
        .and_then(|r| r.json())
        .unwrap_or_default();
    let (mut e5, mut aborted) = (0, 0);
    for c in v.as_object().into_iter().flat_map(|m| m.values()) {
        for (status, k) in c["responses"].as_object().into_iter().flatten() {
            let k = k.as_u64().unwrap_or(0);
            match status.parse::<u16>().unwrap_or(0) {
                0 => aborted += k,
                500..=599 => e5 += k,
                _ => {}
            }
        }
    }
    (e5, aborted)
}

/// Failed upload attempts whose reason contains `needle`, in every agent log of the run.
fn agent_log_count(logs: &Path, needle: &str) -> usize {
    files(logs)
        .iter()
        .filter(|f| f.starts_with("agent-run-") || f.ends_with("-agent.log"))
        .map(|f| {
            std::fs::read_to_string(logs.join(f))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("upload failed;") && l.contains(needle))
                .count()
        })
        .sum()
}

fn restart_agent(booth: &mut Booth, logs: &Path, n: u32) {
    // Keep the killed agent's log (a new one truncates it).
    if let Some(a) = booth.agent.as_ref() {
        let _ = std::fs::copy(&a.log, logs.join(format!("agent-run-{n:03}.log")));
    }
    booth.kill_agent_hard();
    booth.start_agent().expect("agent restarts");
}

/// The chaos thread: until `stop`, every few seconds one of: SIGKILL the agent while an upload
/// is in flight (then restart it), set a network fault, clear the faults.
#[allow(clippy::too_many_arguments)]
fn chaos_loop(
    booth: &Mutex<Booth>,
    db: &Path,
    admin_url: &str,
    logs: &Path,
    seed: u64,
    stop: &AtomicBool,
    counts: &ChaosCounts,
    events: &Mutex<Vec<String>>,
) {
    let mut rng = Rng::new(seed);
    let t0 = Instant::now();
    let note = |s: String| {
        events
            .lock()
            .unwrap()
            .push(format!("{:6.1}s {s}", t0.elapsed().as_secs_f32()))
    };
    let sleep = |d: Duration| {
        let end = Instant::now() + d;
        while Instant::now() < end && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut runs = 0;
    while !stop.load(Ordering::SeqCst) {
        sleep(rng.ms(500, 2_000));
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if unsettled(db) == 0 {
            // Nothing to upload: chaos now would only hit heartbeats and pulls.
            continue;
        }
        match rng.below(10) {
            0..=3 => {
                // Wait (a little) for an upload in flight, then kill at a random moment of it.
                let end = Instant::now() + Duration::from_secs(5);
                while Instant::now() < end
                    && !stop.load(Ordering::SeqCst)
                    && outbox_states(db).get("uploading").copied().unwrap_or(0) == 0
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                std::thread::sleep(rng.ms(0, 600));
                let mid = outbox_states(db).get("uploading").copied().unwrap_or(0) > 0;
                let mut b = booth.lock().unwrap();
                runs += 1;
                if let Some(a) = b.agent.as_ref() {
                    let _ = std::fs::copy(&a.log, logs.join(format!("agent-run-{runs:03}.log")));
                }
                if b.kill_agent_hard() {
                    counts.agent_kills.fetch_add(1, Ordering::SeqCst);
                    if mid {
                        counts.agent_kills_mid_upload.fetch_add(1, Ordering::SeqCst);
                    }
                    note(format!("agent SIGKILL (upload in flight: {mid})"));
                }
                drop(b);
                sleep(rng.ms(200, 2_000));
                booth.lock().unwrap().start_agent().expect("agent restarts");
            }
            4..=8 => {
                let (what, rules) = random_fault(&mut rng);
                if put_faults(admin_url, rules) {
                    counts.faults.fetch_add(1, Ordering::SeqCst);
                    note(format!("fault: {what}"));
                }
            }
            _ => {
                if clear_faults(admin_url) {
                    counts.fault_clears.fetch_add(1, Ordering::SeqCst);
                    note("faults cleared".into());
                }
            }
        }
    }
    clear_faults(admin_url);
}

// --- disk full ------------------------------------------------------------------------------

/// A tmpfs mounted over a directory, unmounted when dropped.
struct TmpfsMount(PathBuf);

impl TmpfsMount {
    fn mount(dir: &Path, size: &str) -> Result<TmpfsMount, String> {
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(TmpfsMount(dir.to_owned()))
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Fills the file system of `dir` with `filler`, leaving about `leave` bytes free.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let p = dir.join("filler.bin");
    let mut f = File::create(&p).expect("filler");
    let chunk = vec![0x5au8; 64 * 1024];
    let mut n: u64 = 0;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(k) => n += k as u64,
            Err(_) => break,
        }
    }
    let _ = f.flush();
    f.set_len(n.saturating_sub(leave)).expect("shrink filler");
    f.sync_all().expect("sync filler");
    p
}

/// Sets the flag when dropped, also while unwinding.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What the disk-full part saw.
#[derive(Debug, Default)]
struct DiskFull {
    ran: bool,
    skipped: Option<String>,
    error_key: String,
    receipt_after_retry: bool,
}

// --- the run --------------------------------------------------------------------------------

#[test]
fn chaos_every_receipt_reaches_the_centre_exactly_once() {
    let started = Instant::now();
    let n: u32 = std::env::var("CHAOS_APPEALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(3);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("chaos: {n} appeals, CHAOS_SEED={seed}");
    let mut rng = Rng::new(seed);

    // CHAOS_KEEP=1 keeps the run's directory (logs, stores, receipts) for a post-mortem.
    let tmp = tempfile::tempdir().expect("tmp");
    let (_tmp, root) = if std::env::var_os("CHAOS_KEEP").is_some() {
        let p = tmp.keep();
        println!("chaos: keeping {}", p.display());
        (None, p)
    } else {
        let p = tmp.path().to_owned();
        (Some(tmp), p)
    };
    let root = root.as_path();
    let logs = root.join("logs");
    let authority = Authority::start(root).expect("authority-sim starts");
    let mut booth = Booth::start(
        root,
        &authority,
        "ALM-0007",
        "ALM01",
        7,
        BoothOptions {
            printer: true,
            reception: true,
        },
    )
    .expect("booth starts and enrolls");
    // Slow uploads (so kills land mid-upload) and small pieces (so a reset happens mid-file).
    let mut cfg: Config = booth.config.clone();
    cfg.sync.bandwidth_kib_s = 96;
    cfg.sync.chunk_bytes = 64 * 1024;
    std::fs::write(&booth.config_path, cfg.to_toml()).expect("config");
    booth.config = cfg.clone();
    booth.stop_agent();
    booth.start_agent().expect("agent");

    let cfg_path = booth.config_path.clone();
    let booth_dir = booth.dir.clone();
    let outbox = cfg.paths.outbox_dir.clone();
    let db = cfg.paths.database();
    let receipts_dir = booth.receipts_dir.clone();
    let reception = Reception::sign_in(
        booth.reception_url.as_deref().expect("reception"),
        RECEPTIONIST.0,
        RECEPTIONIST.1,
    )
    .expect("receptionist signs in");
    let operator = Operator::new(&authority.url, &authority.ca_cert, OPERATOR_PASSWORD)
        .expect("operator client");
    let mut ticket_no = 0u32;
    let mut ticket = || {
        ticket_no += 1;
        reception
            .register(&Visitor {
                iin: booth_core::testing::sample_iin(100 + ticket_no * 25),
                surname: "Сейітова".into(),
                name: "Дана".into(),
                email: "dana@mail.kz".into(),
            })
            .expect("visit registered")
    };

    let booth = Mutex::new(booth);
    let stop = AtomicBool::new(false);
    let counts = ChaosCounts::default();
    let events: Mutex<Vec<String>> = Mutex::default();
    let chaos_seed = rng.next();

    let mut outcomes: Vec<(u32, Mode, Outcome)> = Vec::new();
    let reprints = AtomicU32::new(0);
    std::thread::scope(|s| {
        // A failed journey must not leave the chaos thread running (the scope would wait).
        let _stop = StopOnDrop(&stop);
        let chaos = s.spawn(|| {
            chaos_loop(
                &booth,
                &db,
                &authority.admin_url,
                &logs,
                chaos_seed,
                &stop,
                &counts,
                &events,
            )
        });
        for i in 0..n {
            let mode = match i {
                0 => Mode::Complete,
                1 => Mode::KillAtSealFile(Duration::ZERO),
                2 => Mode::KillAfterSend(rng.ms(0, 400)),
                3 => Mode::KillAfterCommit(Duration::ZERO),
                4 => Mode::KillAtRename,
                _ => match rng.below(7) {
                    0 | 1 => Mode::Complete,
                    2 => Mode::KillAtSealFile(rng.ms(0, 150)),
                    3 => Mode::KillAfterCommit(rng.ms(0, 100)),
                    4 => Mode::KillAtRename,
                    _ => Mode::KillAfterSend(rng.ms(0, 400)),
                },
            };
            let t = ticket();
            let out = booth_dir.join(format!("kiosk-{i:02}"));
            let o = journey(&cfg_path, &outbox, &out, &format!("j{i:02}"), &t, mode);
            let reprinted = matches!(o, Outcome::Killed)
                && restart_kiosk(&cfg_path, &booth_dir.join(format!("kiosk-{i:02}-restart")));
            if reprinted {
                reprints.fetch_add(1, Ordering::SeqCst);
            }
            println!(
                "journey {i:02}: {mode:?} → {o:?}{}",
                if reprinted {
                    ", receipt reprinted at restart"
                } else {
                    ""
                }
            );
            if mode == Mode::Complete {
                assert!(
                    matches!(o, Outcome::Exited { ok: true }) && has_png(&out, "-receipt.png"),
                    "journey {i} ran to the end with a receipt screen; log:\n{}",
                    tail(&out.join("kiosk.log"), 40)
                );
            }
            outcomes.push((i, mode, o));
        }
        // Let the chaos go on over the last uploads for a moment, then stop it.
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::SeqCst);
        chaos.join().expect("chaos thread");
    });
    let mut booth = booth.into_inner().unwrap();
    assert!(clear_faults(&authority.admin_url), "faults cleared");
    let (hits_5xx, hits_aborted) = fault_hits(&authority.admin_url);
    // A clean agent (its backoff reset) from here on.
    restart_agent(&mut booth, &logs, 999);

    // --- full outbox disk --------------------------------------------------------------
    let mut disk = DiskFull::default();
    let mut _mount: Option<TmpfsMount> = None;
    if !is_root() {
        disk.skipped = Some("not running as root: cannot mount a small tmpfs".into());
    } else {
        // Only files of pending rows matter to the agent; wait until none is pending before the
        // tmpfs hides the directory's contents.
        wait_until("the outbox to drain before the disk-full part", 300, || {
            (unsettled(&db) == 0).then_some(())
        });
        match TmpfsMount::mount(&outbox, "3m") {
            Err(e) => disk.skipped = Some(format!("cannot mount a tmpfs: {e}")),
            Ok(m) => {
                _mount = Some(m);
                disk.ran = true;
                let filler = fill(&outbox, 16 * 1024);
                let printed_before = pngs(&receipts_dir).len();
                let out = booth_dir.join("kiosk-disk-full");
                let script = record_script(
                    &ticket(),
                    "expect finishing\nshot disk-full\nwait 25\ntap Try again\nexpect receipt\ntap Next\ntap No, finish\n",
                );
                let (mut child, log) = spawn_kiosk(&cfg_path, &out, "disk-full", &script);
                wait_until("the kiosk's disk-full error screen", 300, || {
                    if let Ok(Some(st)) = child.try_wait() {
                        panic!(
                            "kiosk ended ({st}) before the disk-full screen:\n{}",
                            tail(&log, 40)
                        );
                    }
                    has_png(&out, "-disk-full.png").then_some(())
                });
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                disk.error_key = ["error-disk-full", "error-seal", "error-store"]
                    .into_iter()
                    .find(|k| text.contains(k))
                    .unwrap_or("none")
                    .to_owned();
                assert_eq!(
                    pngs(&receipts_dir).len(),
                    printed_before,
                    "no receipt is printed while the appeal could not be sealed"
                );
                assert!(
                    !files(&outbox).iter().any(|f| f.ends_with(".age")),
                    "no sealed file appears on a full disk: {:?}",
                    files(&outbox)
                );
                let committed_before = committed_appeals(&db).len();
                // Staff free space; the citizen presses "Try again" (after the script's wait).
                std::fs::remove_file(&filler).expect("free space");
                let st = wait_until("the kiosk after the retry", 300, || {
                    child.try_wait().expect("try_wait")
                });
                assert!(
                    st.success(),
                    "after space was freed, \"Try again\" committed the kept take and showed the receipt; log:\n{}",
                    tail(&log, 40)
                );
                disk.receipt_after_retry = has_png(&out, "-receipt.png");
                assert!(disk.receipt_after_retry);
                assert_eq!(committed_appeals(&db).len(), committed_before + 1);
            }
        }
    }

    // --- settle ---------------------------------------------------------------------------
    let settle_start = Instant::now();
    let mut restarted = false;
    wait_until(
        "every committed appeal to be confirmed and destroyed",
        600,
        || {
            if unsettled(&db) == 0 {
                return Some(());
            }
            if !restarted && settle_start.elapsed() > Duration::from_secs(120) {
                // A long backoff after many failures: a restart starts the job again.
                restarted = true;
                restart_agent(&mut booth, &logs, 998);
            }
            None
        },
    );
    let committed = committed_appeals(&db);
    let central = wait_until(
        "the central list to hold every committed appeal",
        120,
        || {
            let list = operator.appeals().ok()?;
            let have: BTreeSet<String> = list
                .iter()
                .filter(|a| a["media_verified"].as_bool() == Some(true))
                .filter_map(|a| a["id"].as_str().map(str::to_owned))
                .collect();
            committed.keys().all(|k| have.contains(k)).then_some(list)
        },
    );

    // --- checks ---------------------------------------------------------------------------
    let mut problems: Vec<String> = Vec::new();
    for (id, c) in &committed {
        if c.state != "destroyed" {
            problems.push(format!(
                "appeal {id} ({}) is {} on the booth (last error: {:?})",
                c.registration_number, c.state, c.last_error
            ));
        }
    }
    let mut by_id: BTreeMap<String, u32> = BTreeMap::new();
    let mut by_regno: BTreeMap<String, u32> = BTreeMap::new();
    for a in &central {
        *by_id
            .entry(a["id"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
        *by_regno
            .entry(
                a["registration_number"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default() += 1;
    }
    let duplicates =
        by_id.values().filter(|&&k| k > 1).count() + by_regno.values().filter(|&&k| k > 1).count();
    if duplicates > 0 {
        problems.push(format!("duplicates at the centre: {by_id:?} {by_regno:?}"));
    }
    for id in by_id.keys() {
        if !committed.contains_key(id) {
            problems.push(format!(
                "appeal {id} is at the centre but was never committed at the booth"
            ));
        }
    }
    let media_dir = authority.data.join("media");
    let mut sha_ok = 0;
    for (id, c) in &committed {
        let Some(a) = central
            .iter()
            .find(|a| a["id"].as_str() == Some(id.as_str()))
        else {
            problems.push(format!("committed appeal {id} is missing at the centre"));
            continue;
        };
        if a["registration_number"].as_str() != Some(c.registration_number.as_str()) {
            problems.push(format!(
                "appeal {id}: registration number {} at the booth, {} at the centre",
                c.registration_number, a["registration_number"]
            ));
        }
        let simple = id.replace('-', "");
        let path = media_dir.join(format!("{simple}.age"));
        let sha = if path.exists() {
            sha256_of(&path)
        } else {
            "MISSING".into()
        };
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if sha == c.sealed_sha256 && size == c.sealed_size {
            sha_ok += 1;
        } else {
            problems.push(format!(
                "appeal {id}: central copy sha256 {sha} ({size} B), booth sealed {} ({} B)",
                c.sealed_sha256, c.sealed_size
            ));
        }
    }
    let destroyed = destruction_counts(&db);
    for (id, k) in &destroyed {
        if *k != 1 {
            problems.push(format!(
                "recording {id} logged as destroyed after confirmation {k} times"
            ));
        }
    }
    for id in committed.keys() {
        if !destroyed.contains_key(id) {
            problems.push(format!("appeal {id} has no destruction log entry"));
        }
    }
    // Printed receipts name committed appeals only.
    let committed_regnos: BTreeSet<&str> = committed
        .values()
        .map(|c| c.registration_number.as_str())
        .collect();
    let printed = pngs(&receipts_dir);
    let mut printed_regnos = BTreeSet::new();
    for p in &printed {
        match decode_qr(p) {
            Ok(qr) => {
                let regno = qr.split(':').nth(1).unwrap_or_default().to_owned();
                if !committed_regnos.contains(regno.as_str()) {
                    problems.push(format!(
                        "printed receipt {} names {regno}, which is not committed",
                        p.display()
                    ));
                }
                printed_regnos.insert(regno);
            }
            Err(e) => problems.push(format!("printed receipt unreadable: {e}")),
        }
    }
    let completed = outcomes
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Exited { ok: true }))
        .count()
        + usize::from(disk.receipt_after_retry);
    if printed_regnos.len() < completed {
        problems.push(format!(
            "{completed} journeys showed a receipt but only {} receipts were printed",
            printed_regnos.len()
        ));
    }
    // Sealed files that no row knows (a kill between rename and commit) and temp files of a
    // kill mid-seal: never a receipt, never at the centre.
    drop(_mount);
    let left = files(&outbox);
    let orphans: Vec<&String> = left
        .iter()
        .filter(|f| f.ends_with(".age") && !committed.values().any(|c| &&c.file_name == f))
        .collect();
    let temps: Vec<&String> = left.iter().filter(|f| f.ends_with(".age.tmp")).collect();
    for o in &orphans {
        let id = o.trim_end_matches(".age");
        problems.push(format!(
            "orphan sealed file {o} (no row, no receipt) was not destroyed at the kiosk's restart{}",
            if by_id.contains_key(id) { " and is at the centre" } else { "" }
        ));
    }
    let orphans_destroyed = destroyed_orphans(&db);
    // Every committed appeal's receipt printed, or is listed for staff as not printed.
    let (pending_receipts, unprinted) = receipt_jobs(&db);
    let neither: Vec<&str> = committed_regnos
        .iter()
        .filter(|r| !printed_regnos.contains(**r) && !unprinted.contains(**r))
        .copied()
        .collect();
    if pending_receipts > 0 || !neither.is_empty() {
        problems.push(format!(
            "{pending_receipts} receipt jobs still pending; committed appeals neither printed nor listed as unprinted: {neither:?}"
        ));
    }

    for (i, m, o) in &outcomes {
        if matches!(o, Outcome::Exited { ok: false }) {
            problems.push(format!(
                "journey {i} ({m:?}) failed by itself; log:\n{}",
                tail(&booth_dir.join(format!("kiosk-{i:02}/kiosk.log")), 30)
            ));
        }
    }
    let kiosk_kills = outcomes
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Killed))
        .count();
    println!("--- chaos events ---");
    for e in events.lock().unwrap().iter() {
        println!("{e}");
    }
    println!("--- chaos counts (seed {seed}) ---");
    println!(
        "journeys:                 {}",
        outcomes.len() + usize::from(disk.ran)
    );
    println!("  ran to the end:         {completed}");
    println!(
        "kiosk SIGKILLs:           {kiosk_kills} (at the seal file: {}, after a delay: {})",
        outcomes
            .iter()
            .filter(|(_, m, o)| matches!(m, Mode::KillAtSealFile(_)) && matches!(o, Outcome::Killed))
            .count(),
        outcomes
            .iter()
            .filter(|(_, m, o)| matches!(m, Mode::KillAfterSend(_)) && matches!(o, Outcome::Killed))
            .count()
    );
    println!(
        "  at the rename:          {}",
        outcomes
            .iter()
            .filter(|(_, m, o)| *m == Mode::KillAtRename && matches!(o, Outcome::Killed))
            .count()
    );
    println!(
        "  after the commit:       {}",
        outcomes
            .iter()
            .filter(
                |(_, m, o)| matches!(m, Mode::KillAfterCommit(_)) && matches!(o, Outcome::Killed)
            )
            .count()
    );
    println!(
        "agent SIGKILLs:           {} ({} with an upload in flight)",
        counts.agent_kills.load(Ordering::SeqCst),
        counts.agent_kills_mid_upload.load(Ordering::SeqCst)
    );
    println!(
        "faults injected:          {} (cleared {} times); the server answered {hits_5xx}× 5xx and \
         dropped {hits_aborted} connections; the agent caught {} wrong checksums and {} truncated answers",
        counts.faults.load(Ordering::SeqCst),
        counts.fault_clears.load(Ordering::SeqCst),
        agent_log_count(&logs, "not marking uploaded"),
        agent_log_count(&logs, "connection closed before a complete answer"),
    );
    match &disk.skipped {
        Some(why) => println!("disk full:                SKIPPED ({why})"),
        None => println!(
            "disk full:                ran; kiosk error {}, take kept, receipt after retry: {}",
            disk.error_key, disk.receipt_after_retry
        ),
    }
    println!("committed at the booth:   {}", committed.len());
    println!(
        "printed receipts:         {} ({} distinct)",
        printed.len(),
        printed_regnos.len()
    );
    println!(
        "committed, not printed:   {} (kiosk killed between the commit and the printout), all listed as unprinted: {}",
        committed_regnos
            .iter()
            .filter(|r| !printed_regnos.contains(**r))
            .count(),
        neither.is_empty()
    );
    println!(
        "receipts reprinted at restart: {}",
        reprints.load(Ordering::SeqCst)
    );
    println!("receipts listed unprinted: {}", unprinted.len());
    println!(
        "receipts neither printed nor listed: {}",
        neither.len() + pending_receipts
    );
    println!("at the centre:            {}", central.len());
    println!("SHA-256 matching:         {sha_ok}");
    println!("duplicates:               {duplicates}");
    println!(
        "orphan sealed files:      {} left (no row, no receipt); {orphans_destroyed} destroyed and logged at restart",
        orphans.len()
    );
    println!("left-over seal temp files: {}", temps.len());
    println!(
        "duration:                 {:.0} s",
        started.elapsed().as_secs_f32()
    );
    assert!(
        problems.is_empty(),
        "chaos run found problems (seed {seed}):\n{}",
        problems.join("\n")
    );
    assert_eq!(central.len(), committed.len());
    assert_eq!(sha_ok, committed.len());
    drop(authority);
}
