//! Heartbeats: queue depth, oldest unsent age, disk free, printer and camera state (as the
//! kiosk last reported them in the store), versions and uptime. The answer carries the
//! server's clock and the current config, directory and calendar versions; a wrong booth clock
//! is logged, and changed versions trigger a pull.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use booth_core::store::{kv_get, outbox, sync as store_sync};
use booth_core::wire::{BoothConfig, Heartbeat, HeartbeatAck, PrinterHealth, paths};
use reqwest::Method;

use crate::db::Db;
use crate::error::SyncError;
use crate::http::{Central, MAX_CLOCK_SKEW};

/// Free and total bytes of the file system holding `path`.
pub fn disk_space(path: &Path) -> Option<(u64, u64)> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some((
        s.f_bavail.saturating_mul(s.f_frsize),
        s.f_blocks.saturating_mul(s.f_frsize),
    ))
}

fn printer(s: Option<&str>) -> PrinterHealth {
    match s {
        Some("ok") => PrinterHealth::Ok,
        Some("paper_low") => PrinterHealth::PaperLow,
        Some("paper_out") => PrinterHealth::PaperOut,
        Some("cover_open") => PrinterHealth::CoverOpen,
        Some("offline") => PrinterHealth::Offline,
        _ => PrinterHealth::Unknown,
    }
}

/// Builds the heartbeat from the store and the machine.
pub async fn build(db: &Db, state_dir: &Path, started: Instant) -> Result<Heartbeat, SyncError> {
    let ((depth, oldest), health) = db
        .read(|tx| Ok((outbox::queue_stats(tx)?, store_sync::device_health(tx)?)))
        .await?;
    let now = chrono::Utc::now();
    let (free, total) = disk_space(state_dir).unwrap_or((0, 0));
    let mut versions = BTreeMap::new();
    versions.insert(
        "sync-agent".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    );
    if let Some(k) = health.kiosk_version {
        versions.insert("kiosk".to_owned(), k);
    }
    Ok(Heartbeat {
        sent_at: now,
        queue_depth: u32::try_from(depth).unwrap_or(u32::MAX),
        oldest_unsent_age_s: oldest.map(|o| (now - o).num_seconds().max(0) as u64),
        disk_free_bytes: free,
        disk_total_bytes: total,
        printer: printer(health.printer.as_deref()),
        camera_ok: health.camera_ok.unwrap_or(false),
        microphone_ok: health.microphone_ok,
        versions,
        uptime_s: Some(started.elapsed().as_secs()),
    })
}

/// What the acknowledgement asks of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckOutcome {
    /// Config, directory or calendar changed centrally: pull now.
    pub pull_needed: bool,
}

/// Sends one heartbeat and reads the acknowledgement.
pub async fn send(
    central: &Central,
    db: &Db,
    state_dir: &Path,
    started: Instant,
) -> Result<AckOutcome, SyncError> {
    let hb = build(db, state_dir, started).await?;
    let ack: HeartbeatAck = central
        .send_json(Method::POST, paths::HEARTBEAT, &hb)
        .await?;
    let skew = ack.server_time - chrono::Utc::now();
    if skew.abs() > MAX_CLOCK_SKEW {
        tracing::error!(
            skew_s = skew.num_seconds(),
            "booth clock differs from the central service by more than 5 minutes: check NTP"
        );
    }
    let (cfg, dir_etag, cal_etag) = db
        .read(|tx| {
            Ok((
                kv_get(tx, store_sync::KV_CENTRAL_CONFIG)?,
                kv_get(tx, store_sync::KV_DIRECTORY_ETAG)?,
                kv_get(tx, store_sync::KV_CALENDAR_ETAG)?,
            ))
        })
        .await?;
    let cfg_version = cfg
        .and_then(|c| serde_json::from_str::<BoothConfig>(&c).ok())
        .map(|c| c.version);
    let dir_changed =
        dir_etag.map(|e| e.trim_matches('"').to_owned()) != Some(ack.directory_version.clone());
    let cal_changed =
        cal_etag.map(|e| e.trim_matches('"').to_owned()) != Some(ack.calendar_version.to_string());
    Ok(AckOutcome {
        pull_needed: cfg_version != Some(ack.config_version) || dir_changed || cal_changed,
    })
}
