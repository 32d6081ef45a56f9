//! `sync-agent run`: opens the store, recovers interrupted destruction, binds the local API,
//! tells systemd it is ready, and runs the jobs until SIGTERM:
//!
//! - `outbox`: drain sealed recordings (every few seconds, and at once on "sync now");
//! - `pulls`: directory, calendar, config, answers, then ratings and visits (`sync.pull_interval_s`);
//! - `heartbeat`: health figures (`sync.heartbeat_interval_s`);
//! - watchdog: `WATCHDOG=1` while the store answers.
//!
//! Each job has its own jittered exponential backoff (`backon`); a failure waits the next delay
//! or the server's `Retry-After`, whichever is longer, and the backoff is written to the store
//! so `sync-agent status` shows it. Shutdown: one [`CancellationToken`]; jobs stop between
//! requests, so in-flight work completes, and the [`TaskTracker`] is awaited before exit.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use booth_core::config::Config;
use booth_core::localapi::JobStatus;
use booth_core::store::sync as store_sync;
use tokio::sync::{Notify, RwLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::db::Db;
use crate::error::{SyncError, Transience};
use crate::http::Central;
use crate::localserver::{self, LocalApi};
use crate::outbox::Uploader;
use crate::pulls::Puller;
use crate::state::StateDir;
use crate::throttle::Throttle;
use crate::{heartbeat, notify};

/// First retry delay after a failure.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest retry delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How often the outbox job looks for new recordings when nobody says "sync now".
pub const OUTBOX_POLL: Duration = Duration::from_secs(5);
/// How long shutdown waits for in-flight work before giving up.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// How often an unenrolled agent checks whether enrollment happened.
const ENROLL_POLL: Duration = Duration::from_secs(5);
/// A "sync now" during backoff is honoured at most this often (a busy kiosk must not turn
/// the backoff into a busy loop).
const WAKE_MIN_GAP: Duration = Duration::from_secs(5);

fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(BACKOFF_MIN)
        .with_max_delay(BACKOFF_MAX)
        .with_factor(2.0)
        .without_max_times()
        .build()
}

/// Runs one job forever: `work` after each wait, recording each outcome in the store.
async fn job_loop<F, Fut>(
    name: &'static str,
    db: Db,
    interval: Duration,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), SyncError>>,
{
    let mut delays = backoff();
    let mut delay = Duration::ZERO;
    let mut failing = false;
    let mut last_attempt = Instant::now() - WAKE_MIN_GAP;
    let mut status = match db.read(move |tx| store_sync::job_status(tx, name)).await {
        Ok(s) => s,
        Err(_) => JobStatus {
            name: name.into(),
            last_success: None,
            last_error: None,
            last_error_at: None,
            consecutive_failures: 0,
            next_attempt_at: None,
        },
    };
    loop {
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => break,
                _ = wake.notified() => {
                    if !failing || last_attempt.elapsed() >= WAKE_MIN_GAP { break; }
                }
            }
        }
        if cancel.is_cancelled() {
            return;
        }
        last_attempt = Instant::now();
        let r = work().await;
        let now = chrono::Utc::now();
        match r {
            Ok(()) => {
                if failing {
                    tracing::info!(job = name, "job recovered");
                }
                failing = false;
                delays = backoff();
                delay = interval;
                status.last_success = Some(now);
                status.consecutive_failures = 0;
                status.next_attempt_at = None;
            }
            Err(SyncError::Cancelled) => return,
            Err(e) => {
                failing = true;
                let mut d = delays.next().unwrap_or(BACKOFF_MAX);
                match e.transience() {
                    Transience::Transient {
                        retry_after: Some(ra),
                    } => d = d.max(ra),
                    Transience::Transient { retry_after: None } => {}
                    // Waiting cannot fix it soon; try again rarely and show it in status.
                    Transience::Permanent => d = d.max(BACKOFF_MAX),
                }
                delay = d;
                status.consecutive_failures += 1;
                status.last_error = Some(e.reason());
                status.last_error_at = Some(now);
                status.next_attempt_at =
                    Some(now + chrono::TimeDelta::from_std(d).unwrap_or_default());
                tracing::warn!(job = name, error = %e, retry_in_ms = d.as_millis() as u64, failures = status.consecutive_failures, "job failed; backing off");
            }
        }
        let s = status.clone();
        if let Err(e) = db.write(move |tx| store_sync::put_job_status(tx, &s)).await {
            tracing::error!(job = name, error = %e, "cannot record job status");
        }
    }
}

/// Runs the daemon until `cancel`. Returns after in-flight work drained.
pub async fn run(cfg: Config, cancel: CancellationToken) -> Result<(), SyncError> {
    let started = Instant::now();
    let state = StateDir::new(&cfg.paths.state_dir);
    let db = Db::open(&cfg.paths.database())?;
    let outbox_dir = cfg.paths.outbox_dir.clone();
    crate::outbox::recover(&db, &outbox_dir).await?;

    let tracker = TaskTracker::new();
    let sync_now = Arc::new(Notify::new());
    let central: Arc<RwLock<Option<Central>>> = Arc::new(RwLock::new(None));
    let listener = localserver::bind(&cfg.sync.socket)?;
    let api = LocalApi {
        db: db.clone(),
        central: central.clone(),
        state: state.clone(),
        booth_id: cfg.booth.id.clone(),
        sync_now: sync_now.clone(),
    };
    tracker.spawn(localserver::serve(
        listener,
        cfg.sync.socket.clone(),
        api,
        cancel.clone(),
        tracker.clone(),
    ));

    // Watchdog: pet it while the store answers.
    if let Some(wd) = notify::watchdog_interval() {
        let db = db.clone();
        let c = cancel.clone();
        tracker.spawn(async move {
            let every = wd / 2;
            loop {
                if db
                    .read(|tx| Ok(tx.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
                    .await
                    .is_ok()
                {
                    notify::watchdog();
                }
                tokio::select! { _ = c.cancelled() => return, _ = tokio::time::sleep(every) => {} }
            }
        });
    }
    notify::ready("local API listening");
    tracing::info!(socket = %cfg.sync.socket.display(), "sync agent ready");

    // Wait for enrollment if needed (the local API already answers "not enrolled").
    let client = loop {
        match Central::from_state(&state) {
            Ok(c) => break c,
            Err(SyncError::NotEnrolled) => {
                notify::status("not enrolled: run `sync-agent enroll`");
                tracing::error!(
                    "not enrolled: run `sync-agent enroll --url URL --token TOKEN`; waiting"
                );
            }
            Err(e) => {
                notify::status("enrollment state unusable");
                tracing::error!(error = %e, "enrollment state unusable; waiting for a re-enrollment");
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return shutdown(tracker).await,
            _ = tokio::time::sleep(ENROLL_POLL) => {}
        }
    };
    *central.write().await = Some(client.clone());
    notify::status("running");

    let pull_interval = Duration::from_secs(u64::from(cfg.sync.pull_interval_s.max(1)));
    let outbox_interval = OUTBOX_POLL.min(pull_interval);
    let uploader = Uploader {
        central: client.clone(),
        db: db.clone(),
        outbox_dir,
        chunk_bytes: cfg.sync.chunk_bytes.max(64 * 1024),
        throttle: Throttle::new(cfg.sync.bandwidth_kib_s),
        cancel: cancel.clone(),
    };
    tracker.spawn(job_loop(
        "outbox",
        db.clone(),
        outbox_interval,
        sync_now.clone(),
        cancel.clone(),
        move || {
            let u = uploader.clone();
            async move {
                let r = u.drain().await?;
                if r.delivered > 0 || r.parked > 0 {
                    tracing::info!(
                        delivered = r.delivered,
                        parked = r.parked,
                        "outbox round done"
                    );
                }
                Ok(())
            }
        },
    ));
    let pull_wake = Arc::new(Notify::new());
    {
        // "Sync now" wakes the pulls as well as the outbox.
        let (from, to, c) = (sync_now.clone(), pull_wake.clone(), cancel.clone());
        tracker.spawn(async move {
            loop {
                tokio::select! { _ = c.cancelled() => return, _ = from.notified() => to.notify_waiters() }
            }
        });
    }
    let puller = Puller {
        central: client.clone(),
        db: db.clone(),
    };
    tracker.spawn(job_loop(
        "pulls",
        db.clone(),
        pull_interval,
        pull_wake.clone(),
        cancel.clone(),
        move || {
            let p = puller.clone();
            async move { p.all().await }
        },
    ));
    let hb_interval = Duration::from_secs(u64::from(cfg.sync.heartbeat_interval_s.max(1)));
    let state_dir: PathBuf = cfg.paths.state_dir.clone();
    let (hb_central, hb_db, hb_wake) = (client, db.clone(), pull_wake);
    tracker.spawn(job_loop(
        "heartbeat",
        db.clone(),
        hb_interval,
        Arc::new(Notify::new()),
        cancel.clone(),
        move || {
            let (c, d, s, w) = (
                hb_central.clone(),
                hb_db.clone(),
                state_dir.clone(),
                hb_wake.clone(),
            );
            async move {
                let ack = heartbeat::send(&c, &d, &s, started).await?;
                if ack.pull_needed {
                    w.notify_waiters();
                }
                Ok(())
            }
        },
    ));

    cancel.cancelled().await;
    shutdown(tracker).await
}

async fn shutdown(tracker: TaskTracker) -> Result<(), SyncError> {
    notify::stopping();
    tracing::info!("shutting down: finishing in-flight requests");
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("in-flight work did not finish in time; it resumes at the next start");
    }
    Ok(())
}
