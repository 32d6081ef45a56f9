//! Appeals table (kiosk writes): committing a finished appeal together with its outbox row,
//! assigning the registration number, lookups by lookup id, and data minimisation.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

use super::{StoreError, parse_ts, ts};
use crate::code::{LookupId, RegistrationNumber};
use crate::domain::{Appeal, AppealKind, Applicant, ComplaintDetails, Language, MediaRef};

/// Everything about an appeal the kiosk knows before the commit; the store adds the
/// registration number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAppeal {
    /// UUIDv7, also the sealed file's stem.
    pub id: Uuid,
    /// Booth id.
    pub booth_id: String,
    /// Applicant.
    pub applicant: Applicant,
    /// Addressee agency id.
    pub addressee_id: String,
    /// Kind.
    pub kind: AppealKind,
    /// Complaint details.
    pub complaint: Option<ComplaintDetails>,
    /// Language.
    pub language: Language,
    /// When "Finish recording" was pressed.
    pub recorded_at: DateTime<Utc>,
    /// Length in ms.
    pub duration_ms: u32,
    /// Sealed media (already fsynced in the outbox).
    pub media: MediaRef,
    /// Lookup id of the secret code.
    pub lookup_id: LookupId,
    /// Expected answer date ([`crate::calendar::expected_answer_date`]); `None` when no
    /// calendar covers it, stored as `''` (see [`NOT_COVERED`]).
    pub expected_answer_date: Option<NaiveDate>,
    /// Continued appeal.
    pub continuation_of: Option<Uuid>,
    /// Reception ticket.
    pub ticket: Option<String>,
    /// The reception journal entry (visit, 003 p.22) whose ticket started the session.
    pub visit_id: Option<Uuid>,
}

/// What the `appeals.expected_answer_date` column holds when no calendar covered the date
/// ("not covered": the receipt printed no date). The column is `TEXT NOT NULL` since schema 1
/// and making it nullable would mean rebuilding the table, so "no date" is the empty string.
pub const NOT_COVERED: &str = "";

/// The `appeals.expected_answer_date` column value of a date: `YYYY-MM-DD`, or [`NOT_COVERED`].
pub fn expected_to_column(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// Reads the `appeals.expected_answer_date` column: [`NOT_COVERED`] is `None`.
pub fn expected_from_column(s: &str) -> Result<Option<NaiveDate>, chrono::ParseError> {
    if s == NOT_COVERED {
        Ok(None)
    } else {
        s.parse().map(Some)
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt {
        what: "json",
        detail: e.to_string(),
    })
}

/// Commits a finished appeal and its outbox row in the caller's transaction, assigning the next
/// registration number of this booth and year. After the transaction commits (with
/// `synchronous=FULL`), the receipt may be shown.
pub fn commit_appeal(
    tx: &Transaction<'_>,
    new: &NewAppeal,
    branch: &str,
    booth_number: u16,
) -> Result<Appeal, StoreError> {
    let year = u16::try_from(new.recorded_at.year()).map_err(|_| StoreError::Corrupt {
        what: "recorded_at",
        detail: "year out of range".into(),
    })?;
    let seq: u32 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM appeals WHERE booth_id = ?1 AND year = ?2",
        params![new.booth_id, year],
        |r| r.get(0),
    )?;
    let registration_number =
        RegistrationNumber::new(branch, booth_number, year, seq).map_err(|e| {
            StoreError::Corrupt {
                what: "registration number",
                detail: e.to_string(),
            }
        })?;
    tx.execute(
        "INSERT INTO appeals (id, registration_number, booth_id, year, seq, applicant_json, addressee_id, kind,
             complaint_json, language, recorded_at, duration_ms, lookup_id, expected_answer_date, continuation_of, ticket, visit_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            new.id.to_string(),
            registration_number.to_string(),
            new.booth_id,
            year,
            seq,
            json(&new.applicant)?,
            new.addressee_id,
            new.kind.as_str(),
            new.complaint.as_ref().map(json).transpose()?,
            new.language.code(),
            ts(new.recorded_at),
            new.duration_ms,
            new.lookup_id.as_str(),
            expected_to_column(new.expected_answer_date),
            new.continuation_of.map(|u| u.to_string()),
            new.ticket,
            new.visit_id.map(|u| u.to_string()),
        ],
    )?;
    super::outbox::insert_sealed(tx, new.id, &new.media, new.recorded_at)?;
    Ok(Appeal {
        id: new.id,
        registration_number,
        booth_id: new.booth_id.clone(),
        applicant: new.applicant.clone(),
        addressee_id: new.addressee_id.clone(),
        kind: new.kind,
        complaint: new.complaint.clone(),
        language: new.language,
        recorded_at: new.recorded_at,
        duration_ms: new.duration_ms,
        media: new.media.clone(),
        lookup_id: new.lookup_id.clone(),
        expected_answer_date: new.expected_answer_date,
        continuation_of: new.continuation_of,
        ticket: new.ticket.clone(),
        visit_id: new.visit_id,
    })
}

/// What the booth keeps about an appeal for lookup and reprint; applicant data is `None` after
/// minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAppeal {
    /// Id.
    pub id: Uuid,
    /// Registration number.
    pub registration_number: RegistrationNumber,
    /// Applicant, until minimised.
    pub applicant: Option<Applicant>,
    /// Addressee agency id.
    pub addressee_id: String,
    /// Kind.
    pub kind: AppealKind,
    /// Language.
    pub language: Language,
    /// Recorded at.
    pub recorded_at: DateTime<Utc>,
    /// Duration in ms.
    pub duration_ms: u32,
    /// Lookup id.
    pub lookup_id: LookupId,
    /// Expected answer date ([`crate::calendar::expected_answer_date`]); `None` when no
    /// calendar covers it, stored as `''` (see [`NOT_COVERED`]).
    pub expected_answer_date: Option<NaiveDate>,
    /// Continued appeal.
    pub continuation_of: Option<Uuid>,
    /// Ticket.
    pub ticket: Option<String>,
    /// Reception journal entry the appeal came from.
    pub visit_id: Option<Uuid>,
}

const COLS: &str = "id, registration_number, applicant_json, addressee_id, kind, language, recorded_at, duration_ms,
                    lookup_id, expected_answer_date, continuation_of, ticket, visit_id";

fn corrupt(what: &'static str) -> impl Fn(String) -> StoreError {
    move |detail| StoreError::Corrupt { what, detail }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Result<StoredAppeal, StoreError>> {
    let id: String = r.get(0)?;
    let reg: String = r.get(1)?;
    let applicant: Option<String> = r.get(2)?;
    let addressee_id: String = r.get(3)?;
    let kind: String = r.get(4)?;
    let language: String = r.get(5)?;
    let recorded_at: String = r.get(6)?;
    let duration_ms: u32 = r.get(7)?;
    let lookup_id: String = r.get(8)?;
    let expected: String = r.get(9)?;
    let continuation_of: Option<String> = r.get(10)?;
    let ticket: Option<String> = r.get(11)?;
    let visit_id: Option<String> = r.get(12)?;
    Ok((|| {
        Ok(StoredAppeal {
            id: id
                .parse()
                .map_err(|e: uuid::Error| corrupt("appeal id")(e.to_string()))?,
            registration_number: reg
                .parse()
                .map_err(|e: crate::code::BadRegistrationNumber| {
                    corrupt("registration number")(e.to_string())
                })?,
            applicant: applicant
                .map(|a| serde_json::from_str(&a))
                .transpose()
                .map_err(|e| corrupt("applicant")(e.to_string()))?,
            addressee_id,
            kind: AppealKind::parse(&kind).ok_or_else(|| corrupt("kind")(kind.clone()))?,
            language: Language::from_code(&language)
                .ok_or_else(|| corrupt("language")(language.clone()))?,
            recorded_at: parse_ts("recorded_at", &recorded_at)?,
            duration_ms,
            lookup_id: lookup_id
                .parse()
                .map_err(|_| corrupt("lookup id")(String::new()))?,
            expected_answer_date: expected_from_column(&expected)
                .map_err(|e| corrupt("expected date")(e.to_string()))?,
            continuation_of: continuation_of
                .map(|c| c.parse())
                .transpose()
                .map_err(|e: uuid::Error| corrupt("continuation_of")(e.to_string()))?,
            ticket,
            visit_id: visit_id
                .map(|c| c.parse())
                .transpose()
                .map_err(|e: uuid::Error| corrupt("visit_id")(e.to_string()))?,
        })
    })())
}

/// Finds an appeal recorded on this booth by its lookup id.
pub fn find_by_lookup_id(
    tx: &Transaction<'_>,
    lookup_id: &LookupId,
) -> Result<Option<StoredAppeal>, StoreError> {
    let sql = format!("SELECT {COLS} FROM appeals WHERE lookup_id = ?1");
    tx.query_row(&sql, [lookup_id.as_str()], from_row)
        .optional()?
        .transpose()
}

/// Gets an appeal by id.
pub fn get(tx: &Transaction<'_>, id: Uuid) -> Result<StoredAppeal, StoreError> {
    let sql = format!("SELECT {COLS} FROM appeals WHERE id = ?1");
    tx.query_row(&sql, [id.to_string()], from_row)
        .optional()?
        .transpose()?
        .ok_or(StoreError::NotFound {
            what: "appeal",
            id: id.to_string(),
        })
}

/// Number of appeals in the store.
pub fn count(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    Ok(tx.query_row("SELECT COUNT(*) FROM appeals", [], |r| r.get(0))?)
}

/// Data minimisation: once the central service has confirmed an appeal, the booth forgets the
/// applicant's personal data and keeps what lookup and reprint need. Returns whether it changed
/// anything; the deletion is written to the destruction log.
pub fn minimise(tx: &Transaction<'_>, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE appeals SET applicant_json = NULL, complaint_json = NULL, minimised_at = ?2
         WHERE id = ?1 AND applicant_json IS NOT NULL",
        params![id.to_string(), ts(now)],
    )?;
    if n > 0 {
        super::outbox::log_destruction(
            tx,
            id,
            "personal-data-minimised-after-upload",
            now,
            "applicant and complaint fields",
        )?;
    }
    Ok(n > 0)
}
