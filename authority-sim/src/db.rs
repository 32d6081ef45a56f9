//! The authority's own SQLite database in `--data DIR/authority.sqlite`: enrollment tokens,
//! booths, appeals with their status timeline and answers, tus uploads, ratings, visits,
//! heartbeats and operator sessions. Separate from the booth's store: this is the other end.
//!
//! Every change of an appeal that a booth must learn about appends a status event; the event's
//! sequence number is the appeal's `update_seq`, which is the cursor of `GET /v1/answers`.
//!
//! An appeal and the reception visit (journal entry, 003 p.22) it came from arrive separately
//! and in either order: the appeal names its visit (`appeals.visit_id`), the visit may name its
//! appeal (`visits.appeal_id`). [`Db::visit_link`] joins them by whichever is there, so the
//! link holds whichever came first.

use std::path::Path;
use std::sync::Mutex;

use booth_core::wire::{AppealUpdate, CreateAppeal, LookupResponse, MediaState, VisitSubmission};
use booth_core::{Answer, DecisionKind, Status, StatusEvent};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// Reads a date column: `''` (no calendar covered it) and anything unparseable are `None`.
pub fn date_column(s: &str) -> Option<NaiveDate> {
    s.parse().ok()
}

/// `appeals.expected_answer_date` (the booth's) and `appeals.deadline` (ours) are `YYYY-MM-DD`,
/// or `''` when no calendar covered the date (then there is no date, never an estimate; read
/// with [`date_column`]).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
  token_hash TEXT PRIMARY KEY, booth_id TEXT NOT NULL, created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS booths(
  id TEXT PRIMARY KEY, enrolled_at TEXT NOT NULL, last_heartbeat_at TEXT, heartbeat TEXT);
CREATE TABLE IF NOT EXISTS appeals(
  id TEXT PRIMARY KEY, booth_id TEXT NOT NULL, body TEXT NOT NULL,
  registration_number TEXT NOT NULL, lookup_id TEXT NOT NULL, addressee_id TEXT NOT NULL,
  agency_id TEXT NOT NULL, content_type TEXT NOT NULL, media_sha256 TEXT NOT NULL,
  media_size INTEGER NOT NULL, recorded_at TEXT NOT NULL, received_at TEXT NOT NULL,
  central_number TEXT NOT NULL, expected_answer_date TEXT NOT NULL, deadline TEXT NOT NULL,
  verified_at TEXT, merged_into TEXT, update_seq INTEGER NOT NULL DEFAULT 0, visit_id TEXT);
CREATE INDEX IF NOT EXISTS appeals_booth_seq ON appeals(booth_id, update_seq);
CREATE INDEX IF NOT EXISTS appeals_lookup ON appeals(lookup_id);
CREATE TABLE IF NOT EXISTS events(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, appeal_id TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_appeal ON events(appeal_id, seq);
CREATE TABLE IF NOT EXISTS answers(appeal_id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads(
  id TEXT PRIMARY KEY, appeal_id TEXT NOT NULL, booth_id TEXT NOT NULL, length INTEGER NOT NULL,
  upload_offset INTEGER NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS uploads_appeal ON uploads(appeal_id);
CREATE TABLE IF NOT EXISTS ratings(
  id TEXT PRIMARY KEY, appeal_id TEXT NOT NULL, booth_id TEXT NOT NULL, rating INTEGER NOT NULL,
  rated_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visits(
  id TEXT PRIMARY KEY, booth_id TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL,
  appeal_id TEXT);
CREATE TABLE IF NOT EXISTS sessions(
  token_hash TEXT PRIMARY KEY, login TEXT NOT NULL, expires_at TEXT NOT NULL);
";

/// Columns added after the first release: (table, column, declaration). [`Db::open`] adds the
/// missing ones to a database made by an older version, then creates their indexes.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("appeals", "visit_id", "TEXT"),
    ("visits", "appeal_id", "TEXT"),
];
const ADDED_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS appeals_visit ON appeals(visit_id);
CREATE INDEX IF NOT EXISTS visits_appeal ON visits(appeal_id);
";

/// A booth: (id, enrolled at, last heartbeat at, last heartbeat JSON).
pub type BoothRow = (String, String, Option<String>, Option<String>);

/// A store failure or a refused state change.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// JSON column unreadable (a bug or a damaged file).
    #[error("stored JSON unreadable: {0}")]
    Json(#[from] serde_json::Error),
    /// The database lock was poisoned by a panic elsewhere.
    #[error("database lock poisoned")]
    Poisoned,
}

/// Result of an idempotent appeal create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// New appeal.
    Created,
    /// Same id, same body: nothing changed.
    Same,
    /// Same id, different body (or another booth's id).
    Conflict,
}

/// Result of an idempotent visit submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitOutcome {
    /// New journal entry.
    Created,
    /// Seen before; nothing changed.
    Same,
    /// Seen before without its appeal; the appeal link was added.
    Linked,
    /// Same id with other fields, from another booth, or with a second, different appeal.
    Conflict,
}

/// A reception journal entry (003 p.22) as the central service holds it. Holds personal data
/// (names, document number): never log it, log `body.id` only.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVisit {
    /// The visit as last accepted (with its appeal link once that arrived).
    pub body: VisitSubmission,
    /// Booth (sync agent) that sent it.
    pub booth_id: String,
    /// When it first arrived.
    pub received_at: DateTime<Utc>,
}

/// What the central service knows of the reception visit an appeal came from.
#[derive(Debug, Clone, PartialEq)]
pub enum VisitLink {
    /// The appeal names no visit and no visit names it: recorded without a ticket.
    NoVisit,
    /// The appeal names this visit, which has not arrived yet.
    NotReceived(Uuid),
    /// The visit.
    Received(Box<StoredVisit>),
}

/// A stored appeal row as the server and the operator see it.
#[derive(Debug, Clone)]
pub struct AppealRow {
    /// Appeal id.
    pub id: Uuid,
    /// Booth that sent it.
    pub booth_id: String,
    /// The create body as received.
    pub body: CreateAppeal,
    /// Agency currently handling it (changes on forward).
    pub agency_id: String,
    /// Central number.
    pub central_number: String,
    /// When first received.
    pub received_at: DateTime<Utc>,
    /// Deadline by the central calendar; `None` when no calendar covered it.
    pub deadline: Option<NaiveDate>,
    /// When the media was verified.
    pub verified_at: Option<DateTime<Utc>>,
    /// Main appeal it was merged into.
    pub merged_into: Option<Uuid>,
    /// Cursor of its last change.
    pub update_seq: u64,
}

/// An open or finished tus upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    /// Upload id (32 hex).
    pub id: String,
    /// Appeal.
    pub appeal_id: Uuid,
    /// Owner booth.
    pub booth_id: String,
    /// Declared length.
    pub length: u64,
    /// Bytes stored.
    pub offset: u64,
    /// `open`, `terminated`.
    pub state: String,
}

/// The database handle (one connection behind a mutex; every call is short).
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}
fn parse_uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_default()
}
fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Db {
    /// Opens (creating) the database at `path` with WAL and a busy timeout.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        for (table, column, decl) in ADDED_COLUMNS {
            let present: bool = conn.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1)"
                ),
                [column],
                |r| r.get(0),
            )?;
            if !present {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
            }
        }
        conn.execute_batch(ADDED_INDEXES)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `f` with the connection.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut c = self.conn.lock().map_err(|_| DbError::Poisoned)?;
        f(&mut c)
    }

    /// A meta value.
    pub fn meta(&self, key: &str) -> Result<Option<String>, DbError> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    /// Sets a meta value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=?2",
                [key, value],
            )?;
            Ok(())
        })
    }

    // --- enrollment -----------------------------------------------------------------------

    /// Stores a token hash for `booth_id`, valid until `expires_at`.
    pub fn add_token(
        &self,
        token_hash: &str,
        booth_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens(token_hash,booth_id,created_at,expires_at) VALUES(?1,?2,?3,?4)",
                params![token_hash, booth_id, ts(now), ts(expires_at)],
            )?;
            Ok(())
        })
    }

    /// Booth id of an unused, unexpired token.
    pub fn token_booth(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, DbError> {
        self.with(|c| {
            let row: Option<(String, String, Option<String>)> = c
                .query_row(
                    "SELECT booth_id, expires_at, used_at FROM tokens WHERE token_hash=?1",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok(
                row.and_then(|(b, exp, used)| {
                    (used.is_none() && parse_ts(&exp) > now).then_some(b)
                }),
            )
        })
    }

    /// Marks a token used and records the booth; false if someone used it first.
    pub fn consume_token(
        &self,
        token_hash: &str,
        booth_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute("UPDATE tokens SET used_at=?2 WHERE token_hash=?1 AND used_at IS NULL", params![token_hash, ts(now)])?;
            if n == 1 {
                tx.execute(
                    "INSERT INTO booths(id,enrolled_at) VALUES(?1,?2) ON CONFLICT(id) DO UPDATE SET enrolled_at=?2",
                    params![booth_id, ts(now)],
                )?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    /// Stores a heartbeat.
    pub fn heartbeat(&self, booth_id: &str, json: &str, now: DateTime<Utc>) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO booths(id,enrolled_at,last_heartbeat_at,heartbeat) VALUES(?1,?2,?2,?3)
                 ON CONFLICT(id) DO UPDATE SET last_heartbeat_at=?2, heartbeat=?3",
                params![booth_id, ts(now), json],
            )?;
            Ok(())
        })
    }

    /// Booths with their last heartbeat: (id, enrolled_at, last heartbeat time, heartbeat JSON).
    pub fn booths(&self) -> Result<Vec<BoothRow>, DbError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, enrolled_at, last_heartbeat_at, heartbeat FROM booths ORDER BY id",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    // --- appeals --------------------------------------------------------------------------

    fn push_event(
        tx: &rusqlite::Transaction<'_>,
        appeal_id: Uuid,
        ev: &StatusEvent,
    ) -> Result<u64, DbError> {
        tx.execute(
            "INSERT INTO events(appeal_id,json) VALUES(?1,?2)",
            params![appeal_id.to_string(), serde_json::to_string(ev)?],
        )?;
        let seq = tx.last_insert_rowid();
        tx.execute(
            "UPDATE appeals SET update_seq=?2 WHERE id=?1",
            params![appeal_id.to_string(), seq],
        )?;
        Ok(to_u64(seq))
    }

    /// Creates an appeal idempotently: the canonical body decides Same vs Conflict.
    pub fn create_appeal(
        &self,
        booth_id: &str,
        body: &CreateAppeal,
        now: DateTime<Utc>,
        deadline: Option<NaiveDate>,
    ) -> Result<(CreateOutcome, AppealRow), DbError> {
        let canon = serde_json::to_string(body)?;
        let id = body.id;
        self.with(|c| {
            let tx = c.transaction()?;
            let existing: Option<(String, String)> = tx
                .query_row("SELECT booth_id, body FROM appeals WHERE id=?1", [id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let outcome = match existing {
                Some((b, stored)) if b == booth_id && stored == canon => CreateOutcome::Same,
                Some(_) => CreateOutcome::Conflict,
                None => {
                    let n: i64 = tx.query_row("SELECT COUNT(*) FROM appeals", [], |r| r.get(0))?;
                    let central = format!("CA-{}-{:06}", now.format("%Y"), n + 1);
                    tx.execute(
                        "INSERT INTO appeals(id,booth_id,body,registration_number,lookup_id,addressee_id,agency_id,
                           content_type,media_sha256,media_size,recorded_at,received_at,central_number,
                           expected_answer_date,deadline,visit_id)
                         VALUES(?1,?2,?3,?4,?5,?6,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
                        params![
                            id.to_string(),
                            booth_id,
                            canon,
                            body.registration_number.to_string(),
                            body.lookup_id.as_str(),
                            body.addressee_id,
                            body.media.content_type,
                            body.media.sha256,
                            to_i64(body.media.size),
                            ts(body.recorded_at),
                            ts(now),
                            central,
                            body.expected_answer_date.map(|d| d.to_string()).unwrap_or_default(),
                            deadline.map(|d| d.to_string()).unwrap_or_default(),
                            body.visit_id.map(|v| v.to_string()),
                        ],
                    )?;
                    Self::push_event(&tx, id, &StatusEvent { at: body.recorded_at, status: Status::Registered })?;
                    Self::push_event(&tx, id, &StatusEvent { at: now, status: Status::Delivered })?;
                    CreateOutcome::Created
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
        .and_then(|o| {
            // The row exists in all three cases; for a conflict it is someone else's, so callers
            // must not show it.
            let row = self.appeal(id)?.ok_or(DbError::Sql(rusqlite::Error::QueryReturnedNoRows))?;
            Ok((o, row))
        })
    }

    fn row_of(r: &rusqlite::Row<'_>) -> Result<(AppealRow, String), rusqlite::Error> {
        let body: String = r.get(2)?;
        Ok((
            AppealRow {
                id: parse_uuid(&r.get::<_, String>(0)?),
                booth_id: r.get(1)?,
                body: serde_json::from_str(&body).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                agency_id: r.get(3)?,
                central_number: r.get(4)?,
                received_at: parse_ts(&r.get::<_, String>(5)?),
                deadline: date_column(&r.get::<_, String>(6)?),
                verified_at: r.get::<_, Option<String>>(7)?.map(|s| parse_ts(&s)),
                merged_into: r.get::<_, Option<String>>(8)?.map(|s| parse_uuid(&s)),
                update_seq: to_u64(r.get(9)?),
            },
            body,
        ))
    }

    const COLS: &'static str = "id, booth_id, body, agency_id, central_number, received_at, deadline, verified_at, merged_into, update_seq";

    /// One appeal.
    pub fn appeal(&self, id: Uuid) -> Result<Option<AppealRow>, DbError> {
        self.with(|c| {
            let sql = format!("SELECT {} FROM appeals WHERE id=?1", Self::COLS);
            Ok(c.query_row(&sql, [id.to_string()], Self::row_of)
                .optional()?
                .map(|x| x.0))
        })
    }

    /// All appeals, newest first (operator list).
    pub fn all_appeals(&self) -> Result<Vec<AppealRow>, DbError> {
        self.with(|c| {
            let sql = format!(
                "SELECT {} FROM appeals ORDER BY received_at DESC",
                Self::COLS
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([], Self::row_of)?;
            Ok(rows
                .map(|r| r.map(|x| x.0))
                .collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Status timeline, oldest first.
    pub fn timeline(&self, id: Uuid) -> Result<Vec<StatusEvent>, DbError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT json FROM events WHERE appeal_id=?1 ORDER BY seq")?;
            let rows = st.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for j in rows {
                out.push(serde_json::from_str(&j?)?);
            }
            Ok(out)
        })
    }

    /// The signed answer, if any.
    pub fn answer(&self, id: Uuid) -> Result<Option<Answer>, DbError> {
        self.with(|c| {
            let j: Option<String> = c
                .query_row(
                    "SELECT json FROM answers WHERE appeal_id=?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(match j {
                Some(j) => Some(serde_json::from_str(&j)?),
                None => None,
            })
        })
    }

    /// Media state for a create response.
    pub fn media_state(&self, id: Uuid) -> Result<(MediaState, Option<String>), DbError> {
        let verified = self.appeal(id)?.and_then(|a| a.verified_at).is_some();
        if verified {
            return Ok((MediaState::Verified, None));
        }
        let up = self.open_upload_for(id)?;
        Ok(match up {
            Some(u) if u.offset == u.length => (MediaState::Uploaded, Some(u.id)),
            Some(u) => (MediaState::Pending, Some(u.id)),
            None => (MediaState::Pending, None),
        })
    }

    /// Updates of `booth_id`'s appeals with cursor > `since`, oldest first, at most `limit`
    /// (plus whether more exist).
    pub fn updates(
        &self,
        booth_id: &str,
        since: u64,
        limit: u32,
    ) -> Result<(Vec<AppealUpdate>, bool), DbError> {
        let ids: Vec<(String, i64, String, String)> = self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, update_seq, registration_number, deadline FROM appeals
                 WHERE booth_id=?1 AND update_seq>?2 ORDER BY update_seq LIMIT ?3",
            )?;
            let rows = st.query_map(
                params![booth_id, to_i64(since), i64::from(limit) + 1],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        let more = ids.len() > limit as usize;
        let mut out = Vec::new();
        for (id, seq, reg, deadline) in ids.into_iter().take(limit as usize) {
            let id = parse_uuid(&id);
            out.push(AppealUpdate {
                cursor: to_u64(seq),
                appeal_id: id,
                registration_number: reg,
                timeline: self.timeline(id)?,
                answer: self.answer(id)?,
                expected_answer_date: date_column(&deadline),
            });
        }
        Ok((out, more))
    }

    /// Lookup by lookup id (any booth): the newest appeal with that id, no personal data.
    pub fn lookup(&self, lookup_id: &str) -> Result<Option<LookupResponse>, DbError> {
        let row: Option<(String, String, String, String, String)> = self.with(|c| {
            Ok(c.query_row(
                "SELECT id, registration_number, addressee_id, recorded_at, deadline FROM appeals
                 WHERE lookup_id=?1 ORDER BY received_at DESC LIMIT 1",
                [lookup_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?)
        })?;
        let Some((id, reg, addressee, recorded, deadline)) = row else {
            return Ok(None);
        };
        let id = parse_uuid(&id);
        Ok(Some(LookupResponse {
            appeal_id: id,
            registration_number: reg,
            addressee_id: addressee,
            recorded_at: parse_ts(&recorded),
            expected_answer_date: date_column(&deadline),
            timeline: self.timeline(id)?,
            answer: self.answer(id)?,
        }))
    }

    /// Marks the media verified (idempotent).
    pub fn set_verified(&self, id: Uuid, now: DateTime<Utc>) -> Result<DateTime<Utc>, DbError> {
        self.with(|c| {
            c.execute(
                "UPDATE appeals SET verified_at=?2 WHERE id=?1 AND verified_at IS NULL",
                params![id.to_string(), ts(now)],
            )?;
            let v: String = c.query_row(
                "SELECT verified_at FROM appeals WHERE id=?1",
                [id.to_string()],
                |r| r.get(0),
            )?;
            Ok(parse_ts(&v))
        })
    }

    // --- central workflow (003 p.30–33) -----------------------------------------------------

    /// Adds a status event (forward, in review, merge, answered) and moves the cursor.
    pub fn add_event(&self, id: Uuid, ev: &StatusEvent) -> Result<u64, DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            if let Status::Forwarded { to_agency_id, .. } = &ev.status {
                tx.execute(
                    "UPDATE appeals SET agency_id=?2 WHERE id=?1",
                    params![id.to_string(), to_agency_id],
                )?;
            }
            if let Status::Merged { .. } = &ev.status {
                // merged_into is set by `merge`.
            }
            let seq = Self::push_event(&tx, id, ev)?;
            tx.commit()?;
            Ok(seq)
        })
    }

    /// Merges `child` into `main` (p.32): child gets a Merged event naming main's number.
    pub fn merge(
        &self,
        child: Uuid,
        main: Uuid,
        main_number: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE appeals SET merged_into=?2 WHERE id=?1",
                params![child.to_string(), main.to_string()],
            )?;
            Self::push_event(
                &tx,
                child,
                &StatusEvent {
                    at: now,
                    status: Status::Merged {
                        into_registration_number: main_number.to_owned(),
                    },
                },
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Attaches a signed answer to `id` and to every appeal merged into it, with an Answered
    /// event on each. An appeal answered once keeps its first answer (returns false).
    pub fn attach_answer(&self, answer: &Answer, now: DateTime<Utc>) -> Result<bool, DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut targets = vec![answer.appeal_id];
            {
                let mut st = tx.prepare("SELECT id FROM appeals WHERE merged_into=?1")?;
                let rows = st.query_map([answer.appeal_id.to_string()], |r| r.get::<_, String>(0))?;
                for r in rows {
                    targets.push(parse_uuid(&r?));
                }
            }
            let mut first = true;
            for (i, t) in targets.iter().enumerate() {
                let mut a = answer.clone();
                a.appeal_id = *t;
                let n = tx.execute(
                    "INSERT INTO answers(appeal_id,json) VALUES(?1,?2) ON CONFLICT(appeal_id) DO NOTHING",
                    params![t.to_string(), serde_json::to_string(&a)?],
                )?;
                if n == 1 {
                    Self::push_event(&tx, *t, &StatusEvent { at: now, status: Status::Answered { decision: a.decision } })?;
                } else if i == 0 {
                    first = false;
                }
            }
            tx.commit()?;
            Ok(first)
        })
    }

    // --- uploads --------------------------------------------------------------------------

    /// The newest open upload of an appeal.
    pub fn open_upload_for(&self, appeal_id: Uuid) -> Result<Option<UploadRow>, DbError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT id, appeal_id, booth_id, length, upload_offset, state FROM uploads
                 WHERE appeal_id=?1 AND state='open' ORDER BY created_at DESC LIMIT 1",
                [appeal_id.to_string()],
                Self::upload_of,
            )
            .optional()?)
        })
    }

    fn upload_of(r: &rusqlite::Row<'_>) -> Result<UploadRow, rusqlite::Error> {
        Ok(UploadRow {
            id: r.get(0)?,
            appeal_id: parse_uuid(&r.get::<_, String>(1)?),
            booth_id: r.get(2)?,
            length: to_u64(r.get(3)?),
            offset: to_u64(r.get(4)?),
            state: r.get(5)?,
        })
    }

    /// One upload.
    pub fn upload(&self, id: &str) -> Result<Option<UploadRow>, DbError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT id, appeal_id, booth_id, length, upload_offset, state FROM uploads WHERE id=?1",
                [id],
                Self::upload_of,
            )
            .optional()?)
        })
    }

    /// New upload.
    pub fn add_upload(&self, u: &UploadRow, now: DateTime<Utc>) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO uploads(id,appeal_id,booth_id,length,upload_offset,state,created_at) VALUES(?1,?2,?3,?4,?5,?6,?7)",
                params![u.id, u.appeal_id.to_string(), u.booth_id, to_i64(u.length), to_i64(u.offset), u.state, ts(now)],
            )?;
            Ok(())
        })
    }

    /// Sets an upload's offset.
    pub fn set_offset(&self, id: &str, offset: u64) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "UPDATE uploads SET upload_offset=?2 WHERE id=?1",
                params![id, to_i64(offset)],
            )?;
            Ok(())
        })
    }

    /// Marks an upload terminated.
    pub fn terminate_upload(&self, id: &str) -> Result<(), DbError> {
        self.with(|c| {
            c.execute("UPDATE uploads SET state='terminated' WHERE id=?1", [id])?;
            Ok(())
        })
    }

    // --- ratings, visits, sessions --------------------------------------------------------

    /// Stores a rating; false if the id was seen before (with the same or another body).
    pub fn add_rating(
        &self,
        id: Uuid,
        appeal_id: Uuid,
        booth_id: &str,
        rating: u8,
        rated_at: DateTime<Utc>,
        body: &str,
    ) -> Result<Option<bool>, DbError> {
        self.with(|c| {
            let prev: Option<String> = c.query_row("SELECT body FROM ratings WHERE id=?1", [id.to_string()], |r| r.get(0)).optional()?;
            match prev {
                Some(p) if p == body => Ok(Some(false)),
                Some(_) => Ok(None),
                None => {
                    c.execute(
                        "INSERT INTO ratings(id,appeal_id,booth_id,rating,rated_at,body) VALUES(?1,?2,?3,?4,?5,?6)",
                        params![id.to_string(), appeal_id.to_string(), booth_id, rating, ts(rated_at), body],
                    )?;
                    Ok(Some(true))
                }
            }
        })
    }

    /// Ratings: (appeal id, rating, rated at), newest first.
    pub fn ratings(&self) -> Result<Vec<(Uuid, u8, DateTime<Utc>)>, DbError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT appeal_id, rating, rated_at FROM ratings ORDER BY rated_at DESC",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    parse_uuid(&r.get::<_, String>(0)?),
                    r.get::<_, u8>(1)?,
                    parse_ts(&r.get::<_, String>(2)?),
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Stores a reception visit idempotently by id (see [`VisitOutcome`]). A visit first sent
    /// without its appeal and sent again with it gets the link; any other difference, another
    /// booth, or a second, different link is a conflict and changes nothing.
    pub fn add_visit(
        &self,
        booth_id: &str,
        v: &VisitSubmission,
        now: DateTime<Utc>,
    ) -> Result<VisitOutcome, DbError> {
        let body = serde_json::to_string(v)?;
        let id = v.id.to_string();
        self.with(|c| {
            let tx = c.transaction()?;
            let prev: Option<(String, String)> = tx
                .query_row(
                    "SELECT booth_id, body FROM visits WHERE id=?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let outcome = match prev {
                None => {
                    tx.execute(
                        "INSERT INTO visits(id,booth_id,body,received_at,appeal_id) VALUES(?1,?2,?3,?4,?5)",
                        params![id, booth_id, body, ts(now), v.appeal_id.map(|a| a.to_string())],
                    )?;
                    VisitOutcome::Created
                }
                Some((b, _)) if b != booth_id => VisitOutcome::Conflict,
                Some((_, stored)) => {
                    let stored: VisitSubmission = serde_json::from_str(&stored)?;
                    let unlinked = |x: &VisitSubmission| VisitSubmission {
                        appeal_id: None,
                        ..x.clone()
                    };
                    if unlinked(&stored) != unlinked(v) {
                        VisitOutcome::Conflict
                    } else {
                        match (stored.appeal_id, v.appeal_id) {
                            // A late copy of the unlinked send never removes a link.
                            (_, None) => VisitOutcome::Same,
                            (Some(a), Some(b)) if a == b => VisitOutcome::Same,
                            (Some(_), Some(_)) => VisitOutcome::Conflict,
                            (None, Some(a)) => {
                                tx.execute(
                                    "UPDATE visits SET body=?2, appeal_id=?3 WHERE id=?1",
                                    params![id, body, a.to_string()],
                                )?;
                                VisitOutcome::Linked
                            }
                        }
                    }
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
    }

    /// One reception visit by id.
    pub fn visit(&self, id: Uuid) -> Result<Option<StoredVisit>, DbError> {
        let row: Option<(String, String, String)> = self.with(|c| {
            Ok(c.query_row(
                "SELECT booth_id, body, received_at FROM visits WHERE id=?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })?;
        row.map(|(booth_id, body, received_at)| {
            Ok(StoredVisit {
                body: serde_json::from_str(&body)?,
                booth_id,
                received_at: parse_ts(&received_at),
            })
        })
        .transpose()
    }

    /// The reception visit an appeal came from: the one the appeal names, or else one that
    /// names the appeal. Order of arrival does not matter.
    pub fn visit_link(&self, appeal_id: Uuid) -> Result<VisitLink, DbError> {
        let (named, row): (Option<String>, Option<(String, String, String)>) = self.with(|c| {
            let named: Option<String> = c
                .query_row(
                    "SELECT visit_id FROM appeals WHERE id=?1",
                    [appeal_id.to_string()],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let row = c
                .query_row(
                    "SELECT booth_id, body, received_at FROM visits
                     WHERE id=?1 OR (?1 IS NULL AND appeal_id=?2)
                     ORDER BY received_at LIMIT 1",
                    params![named, appeal_id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok((named, row))
        })?;
        Ok(match (named, row) {
            (_, Some((booth_id, body, received_at))) => {
                VisitLink::Received(Box::new(StoredVisit {
                    body: serde_json::from_str(&body)?,
                    booth_id,
                    received_at: parse_ts(&received_at),
                }))
            }
            (Some(v), None) => VisitLink::NotReceived(parse_uuid(&v)),
            (None, None) => VisitLink::NoVisit,
        })
    }

    /// Number of visits received.
    pub fn visit_count(&self) -> Result<u64, DbError> {
        self.with(|c| {
            Ok(to_u64(c.query_row(
                "SELECT COUNT(*) FROM visits",
                [],
                |r| r.get(0),
            )?))
        })
    }

    /// New operator session.
    pub fn add_session(
        &self,
        token_hash: &str,
        login: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO sessions(token_hash,login,expires_at) VALUES(?1,?2,?3)",
                params![token_hash, login, ts(expires_at)],
            )?;
            Ok(())
        })
    }

    /// Login of a live session.
    pub fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<String>, DbError> {
        self.with(|c| {
            let r: Option<(String, String)> = c
                .query_row(
                    "SELECT login, expires_at FROM sessions WHERE token_hash=?1",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(r.and_then(|(l, e)| (parse_ts(&e) > now).then_some(l)))
        })
    }
}

/// A decision kind's answered event, for tests and the operator.
pub fn answered(decision: DecisionKind, at: DateTime<Utc>) -> StatusEvent {
    StatusEvent {
        at,
        status: Status::Answered { decision },
    }
}
