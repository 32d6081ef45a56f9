//! The outbox of sealed recordings and its state machine, and the destruction log.
//!
//! ```text
//!   sealed ──► uploading(offset) ──► uploaded ──► destroyed
//!     │  ▲          │   ▲ (offset grows)   ▲
//!     │  └─ parked ◄┘   └──────────────────┘ (server already had it: sealed → uploaded)
//!     └──────► parked (permanent refusal; a technician may send it back to sealed)
//! ```
//!
//! A recording's file is deleted only after the central service has confirmed its SHA-256
//! (`uploaded`), and the row goes to `destroyed` in the same transaction that writes the
//! destruction log entry. The sync agent deletes the file *after* that commit; on start-up
//! [`finish_interrupted_destruction`] deletes files of rows already `destroyed`, so a crash
//! between the two leaves no state that is not recovered.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{StoreError, parse_ts, ts};
use crate::domain::MediaRef;

/// State of one recording in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxState {
    /// Sealed on disk, not yet sent.
    Sealed,
    /// Upload in progress; the server has confirmed `offset` bytes.
    Uploading {
        /// Bytes confirmed by the server.
        offset: u64,
    },
    /// The central service confirmed the SHA-256; the file may be destroyed.
    Uploaded,
    /// File deleted after confirmation.
    Destroyed,
    /// Refused permanently by the server; waits for a technician.
    Parked {
        /// Why.
        reason: String,
    },
}

impl OutboxState {
    fn name(&self) -> &'static str {
        match self {
            OutboxState::Sealed => "sealed",
            OutboxState::Uploading { .. } => "uploading",
            OutboxState::Uploaded => "uploaded",
            OutboxState::Destroyed => "destroyed",
            OutboxState::Parked { .. } => "parked",
        }
    }

    /// Whether the state machine allows `self → to`.
    pub fn can_go_to(&self, to: &OutboxState) -> bool {
        use OutboxState::*;
        match (self, to) {
            (Sealed, Uploading { .. }) | (Sealed, Uploaded) | (Sealed, Parked { .. }) => true,
            (Uploading { offset: a }, Uploading { offset: b }) => b >= a,
            // A server that lost a partial upload makes the agent start again from zero.
            (Uploading { .. }, Sealed) => true,
            (Uploading { .. }, Uploaded) | (Uploading { .. }, Parked { .. }) => true,
            (Uploaded, Destroyed) => true,
            (Parked { .. }, Sealed) => true,
            _ => false,
        }
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboxState::Uploading { offset } => write!(f, "uploading({offset})"),
            OutboxState::Parked { reason } => write!(f, "parked({reason})"),
            s => f.write_str(s.name()),
        }
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// Appeal id.
    pub appeal_id: Uuid,
    /// Sealed media.
    pub media: MediaRef,
    /// State.
    pub state: OutboxState,
    /// tus upload URL once created.
    pub upload_url: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Last error text (no personal data).
    pub last_error: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn insert_sealed(
    tx: &Transaction<'_>,
    id: Uuid,
    media: &MediaRef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO outbox (appeal_id, file_name, sealed_sha256, sealed_size, content_type, state, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'sealed', ?6)",
        params![id.to_string(), media.file_name, media.sealed_sha256, media.sealed_size, media.content_type, ts(now)],
    )?;
    Ok(())
}

const COLS: &str = "appeal_id, file_name, sealed_sha256, sealed_size, content_type, state, upload_offset, upload_url,
                    attempts, last_error, updated_at";

fn item(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<OutboxItem, StoreError>> {
    let id: String = r.get(0)?;
    let state: String = r.get(5)?;
    let offset: u64 = r.get(6)?;
    let last_error: Option<String> = r.get(9)?;
    let updated: String = r.get(10)?;
    let media = MediaRef {
        file_name: r.get(1)?,
        sealed_sha256: r.get(2)?,
        sealed_size: r.get(3)?,
        content_type: r.get(4)?,
    };
    let upload_url: Option<String> = r.get(7)?;
    let attempts: u32 = r.get(8)?;
    Ok((|| {
        let state = match state.as_str() {
            "sealed" => OutboxState::Sealed,
            "uploading" => OutboxState::Uploading { offset },
            "uploaded" => OutboxState::Uploaded,
            "destroyed" => OutboxState::Destroyed,
            "parked" => OutboxState::Parked {
                reason: last_error.clone().unwrap_or_default(),
            },
            other => {
                return Err(StoreError::Corrupt {
                    what: "outbox state",
                    detail: other.into(),
                });
            }
        };
        Ok(OutboxItem {
            appeal_id: id.parse().map_err(|e: uuid::Error| StoreError::Corrupt {
                what: "outbox id",
                detail: e.to_string(),
            })?,
            media,
            state,
            upload_url,
            attempts,
            last_error,
            updated_at: parse_ts("outbox updated_at", &updated)?,
        })
    })())
}

/// Gets one outbox item.
pub fn get(tx: &Transaction<'_>, id: Uuid) -> Result<OutboxItem, StoreError> {
    let sql = format!("SELECT {COLS} FROM outbox WHERE appeal_id = ?1");
    tx.query_row(&sql, [id.to_string()], item)
        .optional()?
        .transpose()?
        .ok_or(StoreError::NotFound {
            what: "outbox item",
            id: id.to_string(),
        })
}

/// Items still to send (sealed or uploading), oldest first (UUIDv7 ids sort by time).
pub fn pending(tx: &Transaction<'_>, limit: u32) -> Result<Vec<OutboxItem>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM outbox WHERE state IN ('sealed','uploading') ORDER BY appeal_id LIMIT ?1"
    );
    let mut st = tx.prepare(&sql)?;
    let rows = st.query_map([limit], item)?;
    rows.map(|r| r.map_err(StoreError::from).and_then(|x| x))
        .collect()
}

/// Items in a given state name (`sealed`, `uploading`, `uploaded`, `destroyed`, `parked`).
pub fn in_state(tx: &Transaction<'_>, state: &str) -> Result<Vec<OutboxItem>, StoreError> {
    let sql = format!("SELECT {COLS} FROM outbox WHERE state = ?1 ORDER BY appeal_id");
    let mut st = tx.prepare(&sql)?;
    let rows = st.query_map([state], item)?;
    rows.map(|r| r.map_err(StoreError::from).and_then(|x| x))
        .collect()
}

/// Queue depth and the oldest unsent item's time (for heartbeats and `sync-agent status`).
pub fn queue_stats(tx: &Transaction<'_>) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
    let (n, oldest): (u64, Option<String>) = tx.query_row(
        "SELECT COUNT(*), MIN(a.recorded_at) FROM outbox o JOIN appeals a ON a.id = o.appeal_id
         WHERE o.state IN ('sealed','uploading','parked')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((n, oldest.map(|o| parse_ts("recorded_at", &o)).transpose()?))
}

/// Moves an item to a new state, refusing transitions the state machine forbids.
pub fn transition(
    tx: &Transaction<'_>,
    id: Uuid,
    to: OutboxState,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let cur = get(tx, id)?;
    if !cur.state.can_go_to(&to) {
        return Err(StoreError::IllegalTransition {
            appeal_id: id.to_string(),
            from: cur.state.to_string(),
            to: to.to_string(),
        });
    }
    let (offset, err): (u64, Option<String>) = match &to {
        OutboxState::Uploading { offset } => (*offset, cur.last_error.clone()),
        OutboxState::Parked { reason } => (0, Some(reason.clone())),
        OutboxState::Uploaded | OutboxState::Destroyed => (cur.media.sealed_size, None),
        OutboxState::Sealed => (0, cur.last_error.clone()),
    };
    tx.execute(
        "UPDATE outbox SET state = ?2, upload_offset = ?3, last_error = ?4, updated_at = ?5 WHERE appeal_id = ?1",
        params![id.to_string(), to.name(), offset, err, ts(now)],
    )?;
    Ok(())
}

/// Remembers the tus upload URL.
pub fn set_upload_url(tx: &Transaction<'_>, id: Uuid, url: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE outbox SET upload_url = ?2 WHERE appeal_id = ?1",
        params![id.to_string(), url],
    )?;
    Ok(())
}

/// Counts a failed attempt with its reason (no personal data in `error`).
pub fn record_failure(
    tx: &Transaction<'_>,
    id: Uuid,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, updated_at = ?3 WHERE appeal_id = ?1",
        params![id.to_string(), error, ts(now)],
    )?;
    Ok(())
}

/// Writes a destruction log entry: which recording, which rule, when. No personal data.
pub fn log_destruction(
    tx: &Transaction<'_>,
    recording_id: Uuid,
    rule: &str,
    at: DateTime<Utc>,
    detail: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO destruction_log (recording_id, rule, at, detail) VALUES (?1, ?2, ?3, ?4)",
        params![recording_id.to_string(), rule, ts(at), detail],
    )?;
    Ok(())
}

/// One destruction log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DestructionEntry {
    /// Recording (appeal) id.
    pub recording_id: Uuid,
    /// Rule applied.
    pub rule: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What was destroyed.
    pub detail: String,
}

/// The destruction log, oldest first.
pub fn destruction_log(tx: &Transaction<'_>) -> Result<Vec<DestructionEntry>, StoreError> {
    let mut st =
        tx.prepare("SELECT recording_id, rule, at, detail FROM destruction_log ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, rule, at, detail) = row?;
        out.push(DestructionEntry {
            recording_id: id.parse().map_err(|e: uuid::Error| StoreError::Corrupt {
                what: "destruction id",
                detail: e.to_string(),
            })?,
            rule,
            at: parse_ts("destruction at", &at)?,
            detail,
        });
    }
    Ok(out)
}

/// Rule name written when a sealed file is deleted after the central service confirmed it.
pub const RULE_UPLOADED: &str = "sealed-recording-deleted-after-central-sha256-confirmation";

/// Marks an uploaded item destroyed and logs it, in the caller's transaction. Delete the file
/// after this commits ([`delete_sealed_file`]).
pub fn mark_destroyed(
    tx: &Transaction<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<OutboxItem, StoreError> {
    let it = get(tx, id)?;
    transition(tx, id, OutboxState::Destroyed, now)?;
    log_destruction(
        tx,
        id,
        RULE_UPLOADED,
        now,
        &format!(
            "sealed file {} ({} bytes, sha256 {})",
            it.media.file_name, it.media.sealed_size, it.media.sealed_sha256
        ),
    )?;
    Ok(it)
}

/// Deletes a sealed file from the outbox directory (missing is fine: already deleted) and
/// fsyncs the directory.
pub fn delete_sealed_file(outbox_dir: &Path, file_name: &str) -> std::io::Result<()> {
    // file_name comes from our own rows, but never let it escape the outbox directory.
    if file_name.contains('/') || file_name.starts_with('.') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "bad outbox file name",
        ));
    }
    match std::fs::remove_file(outbox_dir.join(file_name)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    std::fs::File::open(outbox_dir)?.sync_all()
}

/// Start-up recovery: deletes files whose rows are already `destroyed` (a crash after the
/// commit and before the delete). Returns how many were deleted.
pub fn finish_interrupted_destruction(
    tx: &Transaction<'_>,
    outbox_dir: &Path,
) -> Result<usize, StoreError> {
    let mut n = 0;
    for it in in_state(tx, "destroyed")? {
        if outbox_dir.join(&it.media.file_name).exists() {
            delete_sealed_file(outbox_dir, &it.media.file_name).map_err(|source| {
                StoreError::Io {
                    path: outbox_dir.join(&it.media.file_name),
                    source,
                }
            })?;
            n += 1;
        }
    }
    Ok(n)
}

/// Sealed files in the outbox directory that no row knows (after a damaged database was
/// moved aside, or a crash between fsync and commit). Returns their names; the caller reports
/// them to the technician. They are never deleted automatically: a file without a committed
/// row never produced a receipt, but it may still be an appeal the central service can use.
pub fn reindex_orphans(tx: &Transaction<'_>, outbox_dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut orphans = Vec::new();
    let rd = match std::fs::read_dir(outbox_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(orphans),
        Err(source) => {
            return Err(StoreError::Io {
                path: outbox_dir.to_owned(),
                source,
            });
        }
    };
    for entry in rd {
        let entry = entry.map_err(|source| StoreError::Io {
            path: outbox_dir.to_owned(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".age") {
            continue;
        }
        let known: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM outbox WHERE file_name = ?1)",
            [&name],
            |r| r.get(0),
        )?;
        if !known {
            orphans.push(name);
        }
    }
    orphans.sort();
    Ok(orphans)
}
