//! What the sync agent reads and writes on the shared database besides the outbox state
//! machine ([`super::outbox`]): the body of an appeal to create centrally, answers and status
//! timelines pulled from the central service, the agency directory, unsent ratings, the agent's
//! cursors, ETags and per-job outcomes (table `kv`), and the citizen-facing view of an appeal
//! for lookups.
//!
//! Row formats are the same as the kiosk's readers use (`status_events.status_json` is the
//! serde JSON of [`Status`], times are [`ts`] text), so what the agent writes the kiosk reads.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{StoreError, kv_get, kv_set, parse_ts, ts};
use crate::code::{LookupId, RegistrationNumber};
use crate::domain::{
    Agency, Answer, AppealKind, Applicant, ComplaintDetails, DecisionKind, Language, MediaRef,
    Rating, Status, StatusEvent,
};
use crate::localapi::{AppealView, JobStatus};

/// `kv` key: cursor of the last answers page applied.
pub const KV_ANSWERS_CURSOR: &str = "sync.answers_cursor";
/// `kv` key: ETag of the stored agency directory.
pub const KV_DIRECTORY_ETAG: &str = "sync.directory_etag";
/// `kv` key: ETag of the stored working-day calendar.
pub const KV_CALENDAR_ETAG: &str = "sync.calendar_etag";
/// `kv` key: the working-day calendar in booth-core TOML (see `calendar`), as last pulled.
pub const KV_CALENDAR_TOML: &str = "central.calendar_toml";
/// `kv` key: the central booth configuration (JSON of `wire::BoothConfig`), as last pulled.
pub const KV_CENTRAL_CONFIG: &str = "central.config";
/// `kv` key: the authority's age recipients, one per line (the kiosk encrypts to these when
/// `recorder.recipients` in the config file is empty).
pub const KV_AGE_RECIPIENTS: &str = "central.age_recipients";
/// `kv` key written by the kiosk: printer state for heartbeats (`ok`, `paper_low`, `paper_out`,
/// `cover_open`, `offline`, `unknown`).
pub const KV_PRINTER_HEALTH: &str = "health.printer";
/// `kv` key written by the kiosk: camera works (`true` / `false`).
pub const KV_CAMERA_OK: &str = "health.camera_ok";
/// `kv` key written by the kiosk: microphone works (`true` / `false`).
pub const KV_MICROPHONE_OK: &str = "health.microphone_ok";
/// `kv` key written by the kiosk: its version.
pub const KV_KIOSK_VERSION: &str = "health.kiosk_version";
/// Prefix of the `kv` keys holding each job's [`JobStatus`] as JSON.
pub const KV_JOB_PREFIX: &str = "sync.job.";

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: e.to_string(),
    }
}

/// Everything needed to create an appeal centrally (the wire body is built from this in the
/// agent). Holds the applicant's personal data: never log it, log `id` only.
#[derive(Debug, Clone, PartialEq)]
pub struct AppealToSend {
    /// Appeal id.
    pub id: Uuid,
    /// Registration number.
    pub registration_number: RegistrationNumber,
    /// Applicant; `None` only if already minimised (then the central service has it already).
    pub applicant: Option<Applicant>,
    /// Addressee agency.
    pub addressee_id: String,
    /// Kind.
    pub kind: AppealKind,
    /// Complaint details.
    pub complaint: Option<ComplaintDetails>,
    /// Language.
    pub language: Language,
    /// Recorded at.
    pub recorded_at: DateTime<Utc>,
    /// Duration in ms.
    pub duration_ms: u32,
    /// Sealed media (from the outbox row).
    pub media: MediaRef,
    /// Lookup id.
    pub lookup_id: LookupId,
    /// Expected answer date printed on the receipt; `None`: no calendar covered it.
    pub expected_answer_date: Option<NaiveDate>,
    /// Continued appeal.
    pub continuation_of: Option<Uuid>,
    /// The reception journal entry (visit, 003 p.22) the appeal came from, if any.
    pub visit_id: Option<Uuid>,
}

/// Reads the appeal and its outbox media for the central create call.
pub fn appeal_to_send(tx: &Transaction<'_>, id: Uuid) -> Result<AppealToSend, StoreError> {
    type Raw = (
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        String,
        String,
        u32,
        String,
        String,
        Option<String>,
        MediaRef,
        Option<String>,
    );
    let raw: Option<Raw> = tx
        .query_row(
            "SELECT a.registration_number, a.applicant_json, a.addressee_id, a.kind, a.complaint_json, a.language,
                    a.recorded_at, a.duration_ms, a.lookup_id, a.expected_answer_date, a.continuation_of,
                    o.file_name, o.sealed_sha256, o.sealed_size, o.content_type, a.visit_id
             FROM appeals a JOIN outbox o ON o.appeal_id = a.id WHERE a.id = ?1",
            [id.to_string()],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    MediaRef { file_name: r.get(11)?, sealed_sha256: r.get(12)?, sealed_size: r.get(13)?, content_type: r.get(14)? },
                    r.get(15)?,
                ))
            },
        )
        .optional()?;
    let Some((
        reg,
        applicant,
        addressee_id,
        kind,
        complaint,
        language,
        recorded_at,
        duration_ms,
        lookup_id,
        expected,
        cont,
        media,
        visit,
    )) = raw
    else {
        return Err(StoreError::NotFound {
            what: "appeal with outbox row",
            id: id.to_string(),
        });
    };
    Ok(AppealToSend {
        id,
        registration_number: reg.parse().map_err(|e| corrupt("registration number", e))?,
        applicant: applicant
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(|e| corrupt("applicant", e))?,
        addressee_id,
        kind: AppealKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        complaint: complaint
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| corrupt("complaint", e))?,
        language: Language::from_code(&language).ok_or_else(|| corrupt("language", &language))?,
        recorded_at: parse_ts("recorded_at", &recorded_at)?,
        duration_ms,
        media,
        lookup_id: lookup_id.parse().map_err(|e| corrupt("lookup id", e))?,
        expected_answer_date: super::appeals::expected_from_column(&expected)
            .map_err(|e| corrupt("expected date", e))?,
        continuation_of: cont
            .map(|c| c.parse())
            .transpose()
            .map_err(|e| corrupt("continuation_of", e))?,
        visit_id: visit
            .map(|v| v.parse())
            .transpose()
            .map_err(|e| corrupt("visit_id", e))?,
    })
}

/// Forgets an item's tus upload URL (the server lost or terminated the upload; the next
/// attempt creates a new one). The state machine itself is moved with `outbox::transition`.
pub fn clear_upload_url(tx: &Transaction<'_>, appeal_id: Uuid) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE outbox SET upload_url = NULL WHERE appeal_id = ?1",
        [appeal_id.to_string()],
    )?;
    Ok(())
}

/// Replaces the agency directory with `list` (agencies no longer listed are removed, so the
/// kiosk never offers an agency the central service dropped) and remembers its ETag, in the
/// caller's transaction.
pub fn replace_directory(
    tx: &Transaction<'_>,
    list: &[Agency],
    etag: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM agencies", [])?;
    let mut st = tx.prepare("INSERT INTO agencies (id, category, name_kk, name_ru, name_en) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for a in list {
        st.execute(params![a.id, a.category, a.name_kk, a.name_ru, a.name_en])?;
    }
    match etag {
        Some(e) => kv_set(tx, KV_DIRECTORY_ETAG, e)?,
        None => {
            tx.execute("DELETE FROM kv WHERE key = ?1", [KV_DIRECTORY_ETAG])?;
        }
    }
    Ok(())
}

/// Number of agencies in the directory.
pub fn agency_count(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    Ok(tx.query_row("SELECT COUNT(*) FROM agencies", [], |r| r.get(0))?)
}

/// Adds a status event unless the same one is stored; returns whether it was new.
pub fn add_status_event(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    ev: &StatusEvent,
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(&ev.status).map_err(|e| corrupt("status_json", e))?;
    let n = tx.execute(
        "INSERT OR IGNORE INTO status_events (appeal_id, at, status_json) VALUES (?1, ?2, ?3)",
        params![appeal_id.to_string(), ts(ev.at), json],
    )?;
    Ok(n > 0)
}

/// The status timeline of an appeal, oldest first.
pub fn timeline(tx: &Transaction<'_>, appeal_id: Uuid) -> Result<Vec<StatusEvent>, StoreError> {
    let mut st = tx.prepare(
        "SELECT at, status_json FROM status_events WHERE appeal_id = ?1 ORDER BY at, rowid",
    )?;
    let rows = st.query_map([appeal_id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (at, json) = row?;
        let status: Status = serde_json::from_str(&json).map_err(|e| corrupt("status_json", e))?;
        out.push(StatusEvent {
            at: parse_ts("status at", &at)?,
            status,
        });
    }
    Ok(out)
}

/// Stores or replaces the answer to an appeal.
pub fn put_answer(
    tx: &Transaction<'_>,
    a: &Answer,
    received_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let docs = serde_json::to_string(&a.documents).map_err(|e| corrupt("documents_json", e))?;
    tx.execute(
        "INSERT INTO answers (appeal_id, decision, text, signed_by, signed_on, documents_json, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(appeal_id) DO UPDATE SET decision = excluded.decision, text = excluded.text,
             signed_by = excluded.signed_by, signed_on = excluded.signed_on, documents_json = excluded.documents_json",
        params![a.appeal_id.to_string(), a.decision.as_str(), a.text, a.signed_by, a.signed_on.to_string(), docs, ts(received_at)],
    )?;
    Ok(())
}

/// The stored answer to an appeal.
pub fn answer(tx: &Transaction<'_>, appeal_id: Uuid) -> Result<Option<Answer>, StoreError> {
    let row = tx
        .query_row(
            "SELECT decision, text, signed_by, signed_on, documents_json FROM answers WHERE appeal_id = ?1",
            [appeal_id.to_string()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?)),
        )
        .optional()?;
    let Some((decision, text, signed_by, signed_on, docs)) = row else {
        return Ok(None);
    };
    Ok(Some(Answer {
        appeal_id,
        decision: DecisionKind::parse(&decision).ok_or_else(|| corrupt("decision", &decision))?,
        text,
        signed_by,
        signed_on: signed_on.parse().map_err(|e| corrupt("signed_on", e))?,
        documents: serde_json::from_str(&docs).map_err(|e| corrupt("documents_json", e))?,
    }))
}

/// Fills in the expected answer date of an appeal whose receipt printed none (no calendar on
/// the booth covered it, so the receipt said the date will come with the answer), with the
/// date the central service computed. A date the booth already printed is never changed: the
/// citizen holds it on paper. Returns whether a date was filled in.
pub fn fill_expected_answer_date(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    date: NaiveDate,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE appeals SET expected_answer_date = ?2 WHERE id = ?1 AND expected_answer_date = ?3",
        params![
            appeal_id.to_string(),
            super::appeals::expected_to_column(Some(date)),
            super::appeals::NOT_COVERED
        ],
    )?;
    Ok(n == 1)
}

/// Applies one pulled update of an appeal recorded here: new status events and the answer.
/// Updates for appeals this store does not know (a store restored from scratch) are ignored
/// and reported as `false`.
pub fn apply_update(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    events: &[StatusEvent],
    answer: Option<&Answer>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let known: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM appeals WHERE id = ?1)",
        [appeal_id.to_string()],
        |r| r.get(0),
    )?;
    if !known {
        return Ok(false);
    }
    for ev in events {
        add_status_event(tx, appeal_id, ev)?;
    }
    if let Some(a) = answer
        && a.appeal_id == appeal_id
    {
        put_answer(tx, a, now)?;
    }
    Ok(true)
}

/// Cursor of the answers pull (0 before the first pull).
pub fn answers_cursor(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    match kv_get(tx, KV_ANSWERS_CURSOR)? {
        None => Ok(0),
        Some(s) => s.parse().map_err(|e| corrupt("answers cursor", e)),
    }
}

/// Remembers the answers cursor; it only moves forward.
pub fn set_answers_cursor(tx: &Transaction<'_>, cursor: u64) -> Result<(), StoreError> {
    if cursor >= answers_cursor(tx)? {
        kv_set(tx, KV_ANSWERS_CURSOR, &cursor.to_string())?;
    }
    Ok(())
}

/// A rating waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsentRating {
    /// Stable id of this rating value: the same appeal and time always give the same id, so a
    /// resend after a crash is idempotent, and a changed rating is a new submission.
    pub id: Uuid,
    /// Appeal rated.
    pub appeal_id: Uuid,
    /// Rating.
    pub rating: Rating,
    /// When rated.
    pub rated_at: DateTime<Utc>,
    /// `rated_at` exactly as stored (the key [`mark_rating_sent`] matches on).
    pub rated_at_text: String,
}

/// Deterministic id of a rating value (UUIDv8 from SHA-256 of appeal id and time).
pub fn rating_id(appeal_id: Uuid, rated_at: &str) -> Uuid {
    let d = Sha256::digest(format!("rating:{appeal_id}:{rated_at}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

/// Ratings with `sent_at` NULL, oldest first.
pub fn unsent_ratings(tx: &Transaction<'_>, limit: u32) -> Result<Vec<UnsentRating>, StoreError> {
    let mut st = tx.prepare("SELECT appeal_id, rating, rated_at FROM ratings WHERE sent_at IS NULL ORDER BY rated_at LIMIT ?1")?;
    let rows = st.query_map([limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u8>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, rating, at) = row?;
        let appeal_id: Uuid = id.parse().map_err(|e| corrupt("ratings.appeal_id", e))?;
        out.push(UnsentRating {
            id: rating_id(appeal_id, &at),
            appeal_id,
            rating: Rating::new(rating).map_err(|e| corrupt("ratings.rating", e))?,
            rated_at: parse_ts("rated_at", &at)?,
            rated_at_text: at,
        });
    }
    Ok(out)
}

/// Marks a rating sent, unless it changed since it was read (then it is sent again).
pub fn mark_rating_sent(
    tx: &Transaction<'_>,
    r: &UnsentRating,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE ratings SET sent_at = ?3 WHERE appeal_id = ?1 AND rated_at = ?2",
        params![r.appeal_id.to_string(), r.rated_at_text, ts(now)],
    )?;
    Ok(())
}

/// The rating given to an appeal (recorded here or looked up from another branch), if any.
pub fn rating(tx: &Transaction<'_>, appeal_id: Uuid) -> Result<Option<Rating>, StoreError> {
    let r: Option<u8> = tx
        .query_row(
            "SELECT rating FROM ratings WHERE appeal_id = ?1",
            [appeal_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(r.and_then(|r| Rating::new(r).ok()))
}

/// Ratings and visits not yet sent.
pub fn unsent_counts(tx: &Transaction<'_>) -> Result<(u64, u64), StoreError> {
    let r: u64 = tx.query_row(
        "SELECT COUNT(*) FROM ratings WHERE sent_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    let v: u64 = tx.query_row(
        "SELECT COUNT(*) FROM visits WHERE sent_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    Ok((r, v))
}

/// The citizen-facing view of an appeal recorded on this booth, by lookup id: receipt facts,
/// status timeline (starting with `registered` at the recording time), answer and rating. No
/// applicant data.
pub fn local_view(
    tx: &Transaction<'_>,
    lookup_id: &LookupId,
) -> Result<Option<AppealView>, StoreError> {
    let row = tx
        .query_row(
            "SELECT id, registration_number, addressee_id, recorded_at, expected_answer_date FROM appeals WHERE lookup_id = ?1",
            [lookup_id.as_str()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?)),
        )
        .optional()?;
    let Some((id, reg, addressee_id, recorded_at, expected)) = row else {
        return Ok(None);
    };
    let appeal_id: Uuid = id.parse().map_err(|e| corrupt("appeal id", e))?;
    let recorded_at = parse_ts("recorded_at", &recorded_at)?;
    let mut events = timeline(tx, appeal_id)?;
    if !events.iter().any(|e| e.status == Status::Registered) {
        events.insert(
            0,
            StatusEvent {
                at: recorded_at,
                status: Status::Registered,
            },
        );
    }
    Ok(Some(AppealView {
        appeal_id,
        registration_number: reg.parse().map_err(|e| corrupt("registration number", e))?,
        addressee_id,
        recorded_at,
        expected_answer_date: super::appeals::expected_from_column(&expected)
            .map_err(|e| corrupt("expected date", e))?,
        timeline: events,
        answer: answer(tx, appeal_id)?,
        rating: rating(tx, appeal_id)?,
    }))
}

/// The stored outcome of a job, or a blank one.
pub fn job_status(tx: &Transaction<'_>, name: &str) -> Result<JobStatus, StoreError> {
    match kv_get(tx, &format!("{KV_JOB_PREFIX}{name}"))? {
        Some(j) => serde_json::from_str(&j).map_err(|e| corrupt("job status", e)),
        None => Ok(JobStatus {
            name: name.to_owned(),
            last_success: None,
            last_error: None,
            last_error_at: None,
            consecutive_failures: 0,
            next_attempt_at: None,
        }),
    }
}

/// All stored job outcomes, by name.
pub fn job_statuses(tx: &Transaction<'_>) -> Result<Vec<JobStatus>, StoreError> {
    let mut st = tx.prepare("SELECT value FROM kv WHERE key LIKE 'sync.job.%' ORDER BY key")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?).map_err(|e| corrupt("job status", e))?);
    }
    Ok(out)
}

/// Stores a job's outcome (read by `sync-agent status` from another process).
pub fn put_job_status(tx: &Transaction<'_>, s: &JobStatus) -> Result<(), StoreError> {
    let j = serde_json::to_string(s).map_err(|e| corrupt("job status", e))?;
    kv_set(tx, &format!("{KV_JOB_PREFIX}{}", s.name), &j)
}

/// Time of the last confirmed upload (`uploaded`/`destroyed` row), if any.
pub fn last_delivery(tx: &Transaction<'_>) -> Result<Option<DateTime<Utc>>, StoreError> {
    let t: Option<String> = tx.query_row(
        "SELECT MAX(updated_at) FROM outbox WHERE state IN ('uploaded','destroyed')",
        [],
        |r| r.get(0),
    )?;
    t.map(|t| parse_ts("outbox updated_at", &t)).transpose()
}

/// A small serialisable record of what the kiosk reports about its devices (read for
/// heartbeats); every field is optional because the kiosk may not have written it yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceHealth {
    /// Printer state text (see [`KV_PRINTER_HEALTH`]).
    pub printer: Option<String>,
    /// Camera works.
    pub camera_ok: Option<bool>,
    /// Microphone works.
    pub microphone_ok: Option<bool>,
    /// Kiosk version.
    pub kiosk_version: Option<String>,
}

/// Reads the device health the kiosk reported.
pub fn device_health(tx: &Transaction<'_>) -> Result<DeviceHealth, StoreError> {
    let b =
        |k: &str| -> Result<Option<bool>, StoreError> { Ok(kv_get(tx, k)?.map(|v| v == "true")) };
    Ok(DeviceHealth {
        printer: kv_get(tx, KV_PRINTER_HEALTH)?,
        camera_ok: b(KV_CAMERA_OK)?,
        microphone_ok: b(KV_MICROPHONE_OK)?,
        kiosk_version: kv_get(tx, KV_KIOSK_VERSION)?,
    })
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::store::{Store, appeals};
    use crate::testing::sample_new_appeal;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("ts")
            .with_timezone(&Utc)
    }

    #[test]
    fn appeal_to_send_reads_appeal_and_media() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let (mut new, _) = sample_new_appeal("B1", at("2026-03-20T10:00:00Z"), None);
        new.visit_id = Some(Uuid::now_v7());
        s.write(|tx| appeals::commit_appeal(tx, &new, "ALM01", 3))
            .expect("commit");
        let a = s.read(|tx| appeal_to_send(tx, new.id)).expect("read");
        assert_eq!(a.media, new.media);
        assert_eq!(a.visit_id, new.visit_id, "the centre learns the visit");
        assert_eq!(a.applicant.as_ref(), Some(&new.applicant));
        assert_eq!(a.registration_number.to_string(), "ALM01-03-2026-000001");
        s.write(|tx| appeals::minimise(tx, new.id, at("2026-03-21T10:00:00Z")))
            .expect("minimise");
        assert_eq!(
            s.read(|tx| appeal_to_send(tx, new.id))
                .expect("read")
                .applicant,
            None
        );
    }

    #[test]
    fn updates_build_the_local_view_and_cursor_only_moves_forward() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let t0 = at("2026-03-20T10:00:00Z");
        let (new, _) = sample_new_appeal("B1", t0, None);
        s.write(|tx| appeals::commit_appeal(tx, &new, "ALM01", 3))
            .expect("commit");
        let ans = Answer {
            appeal_id: new.id,
            decision: DecisionKind::Satisfied,
            text: "ok".into(),
            signed_by: "Head".into(),
            signed_on: t0.date_naive(),
            documents: vec!["a.pdf".into()],
        };
        let evs = vec![
            StatusEvent {
                at: at("2026-03-20T11:00:00Z"),
                status: Status::Delivered,
            },
            StatusEvent {
                at: at("2026-03-22T11:00:00Z"),
                status: Status::Answered {
                    decision: DecisionKind::Satisfied,
                },
            },
        ];
        let stranger = Uuid::now_v7();
        s.write(|tx| {
            assert!(apply_update(tx, new.id, &evs, Some(&ans), t0)?);
            assert!(
                apply_update(tx, new.id, &evs, Some(&ans), t0)?,
                "re-applying is harmless"
            );
            assert!(!apply_update(tx, stranger, &evs, None, t0)?);
            set_answers_cursor(tx, 7)?;
            set_answers_cursor(tx, 3)?;
            Ok::<_, StoreError>(())
        })
        .expect("apply");
        let v = s
            .read(|tx| local_view(tx, &new.lookup_id))
            .expect("view")
            .expect("found");
        assert_eq!(v.timeline.len(), 3, "registered + 2: {:?}", v.timeline);
        assert_eq!(v.timeline[0].status, Status::Registered);
        assert_eq!(v.answer, Some(ans));
        assert_eq!(s.read(answers_cursor).expect("cursor"), 7);
    }

    #[test]
    fn ratings_are_sent_once_unless_changed() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let id = Uuid::now_v7();
        let t1 = at("2026-03-20T10:00:00Z");
        s.write(|tx| {
            tx.execute(
                "INSERT INTO ratings (appeal_id, rating, rated_at) VALUES (?1, 4, ?2)",
                params![id.to_string(), ts(t1)],
            )?;
            Ok::<_, StoreError>(())
        })
        .expect("rate");
        let u = s.read(|tx| unsent_ratings(tx, 10)).expect("unsent");
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].id, rating_id(id, &ts(t1)), "stable id");
        s.write(|tx| mark_rating_sent(tx, &u[0], t1)).expect("sent");
        assert!(
            s.read(|tx| unsent_ratings(tx, 10))
                .expect("unsent")
                .is_empty()
        );
        assert_eq!(s.read(unsent_counts).expect("counts"), (0, 0));
    }

    #[test]
    fn directory_is_replaced_and_jobs_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let ag = |id: &str| Agency {
            id: id.into(),
            category: "c".into(),
            name_kk: id.into(),
            name_ru: id.into(),
            name_en: id.into(),
        };
        s.write(|tx| replace_directory(tx, &[ag("a"), ag("b")], Some("\"v1\"")))
            .expect("dir");
        s.write(|tx| replace_directory(tx, &[ag("c")], Some("\"v2\"")))
            .expect("dir");
        assert_eq!(s.read(agency_count).expect("count"), 1);
        assert_eq!(
            s.read(|tx| kv_get(tx, KV_DIRECTORY_ETAG))
                .expect("etag")
                .as_deref(),
            Some("\"v2\"")
        );
        let mut j = s.read(|tx| job_status(tx, "outbox")).expect("job");
        j.consecutive_failures = 3;
        j.last_error = Some("HTTP 503".into());
        s.write(|tx| put_job_status(tx, &j)).expect("put");
        assert_eq!(s.read(job_statuses).expect("all"), vec![j]);
    }
}
