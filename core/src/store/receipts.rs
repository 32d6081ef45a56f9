//! Receipt print jobs (kiosk writes): one row per committed appeal, queued in the commit's own
//! transaction by [`crate::intake::commit`], so a receipt that did not print is never
//! forgotten. A job ends printed, or "unprinted": listed in service mode and reported in the
//! booth's health for the branch console.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};
use uuid::Uuid;

use super::{StoreError, parse_ts, ts};

/// A receipt job that has neither printed nor been given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReceipt {
    /// Appeal.
    pub appeal_id: Uuid,
    /// When the appeal was committed (the job queued).
    pub queued_at: DateTime<Utc>,
}

/// A receipt that was given up: the appeal is sent, the citizen has no printout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnprintedReceipt {
    /// Appeal.
    pub appeal_id: Uuid,
    /// Its registration number (what the technician and the receptionist look for).
    pub registration_number: String,
    /// When the appeal was committed.
    pub queued_at: DateTime<Utc>,
    /// When the booth gave up printing it.
    pub unprinted_at: DateTime<Utc>,
}

fn uuid_of(s: &str) -> Result<Uuid, StoreError> {
    s.parse().map_err(|e: uuid::Error| StoreError::Corrupt {
        what: "receipt_prints.appeal_id",
        detail: e.to_string(),
    })
}

/// Queues the receipt of a just-committed appeal (inside the commit transaction).
pub fn queue(tx: &Transaction<'_>, appeal_id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO receipt_prints (appeal_id, queued_at) VALUES (?1, ?2)",
        params![appeal_id.to_string(), ts(at)],
    )?;
    Ok(())
}

/// The receipt came out of the printer (also after an earlier give-up: a reprint in service
/// mode clears the "unprinted" mark).
pub fn mark_printed(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE receipt_prints SET printed_at = ?2, unprinted_at = NULL WHERE appeal_id = ?1",
        params![appeal_id.to_string(), ts(at)],
    )?;
    Ok(())
}

/// The booth gives up printing this receipt (the citizen left, or it is too old to reprint at
/// start-up). Does nothing to a receipt that printed.
pub fn mark_unprinted(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE receipt_prints SET unprinted_at = ?2
         WHERE appeal_id = ?1 AND printed_at IS NULL AND unprinted_at IS NULL",
        params![appeal_id.to_string(), ts(at)],
    )?;
    Ok(())
}

/// Jobs neither printed nor given up, oldest first (after a crash: the kiosk decides at
/// start-up to reprint or give up each).
pub fn pending(tx: &Transaction<'_>) -> Result<Vec<PendingReceipt>, StoreError> {
    let mut st = tx.prepare(
        "SELECT appeal_id, queued_at FROM receipt_prints
         WHERE printed_at IS NULL AND unprinted_at IS NULL ORDER BY queued_at",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, at) = row?;
        out.push(PendingReceipt {
            appeal_id: uuid_of(&id)?,
            queued_at: parse_ts("receipt_prints.queued_at", &at)?,
        });
    }
    Ok(out)
}

/// Receipts given up, newest first, with their registration numbers (service mode list).
pub fn unprinted(tx: &Transaction<'_>, limit: u32) -> Result<Vec<UnprintedReceipt>, StoreError> {
    let mut st = tx.prepare(
        "SELECT p.appeal_id, a.registration_number, p.queued_at, p.unprinted_at
         FROM receipt_prints p JOIN appeals a ON a.id = p.appeal_id
         WHERE p.unprinted_at IS NOT NULL AND p.printed_at IS NULL
         ORDER BY p.unprinted_at DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, number, queued, given_up) = row?;
        out.push(UnprintedReceipt {
            appeal_id: uuid_of(&id)?,
            registration_number: number,
            queued_at: parse_ts("receipt_prints.queued_at", &queued)?,
            unprinted_at: parse_ts("receipt_prints.unprinted_at", &given_up)?,
        });
    }
    Ok(out)
}

/// How many receipts are unprinted (booth health for the branch console).
pub fn unprinted_count(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    Ok(tx.query_row(
        "SELECT COUNT(*) FROM receipt_prints WHERE unprinted_at IS NOT NULL AND printed_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}
