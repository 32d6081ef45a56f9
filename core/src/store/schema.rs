//! The one place where the shared database's schema lives: [`VERSION`], the first schema, and
//! an upgrade step for every later version. `PRAGMA user_version` holds the version.
//!
//! Adding a change: write `upgrade_to_N` (SQL that turns N-1 into N), add it to [`UPGRADES`],
//! bump [`VERSION`], and freeze a copy of the old schema in `core/tests/schemas/` so the
//! migration test keeps checking the old path.
//!
//! Column notes that the frozen SQL cannot carry:
//! - `appeals.expected_answer_date TEXT NOT NULL`: `YYYY-MM-DD`, or `''` when no working-day
//!   calendar covered the date (issue 15: the receipt then prints no date and says it will come
//!   with the answer). Making the column nullable would mean rebuilding the table, so `''` is
//!   "none"; read and write it only through `appeals::expected_to_column` and
//!   `appeals::expected_from_column`.

use rusqlite::Transaction;

use super::StoreError;

/// Current schema version.
pub const VERSION: u32 = 4;

/// Schema version 1: the first schema ever shipped. Frozen; never edit (tests migrate from it).
pub const V1: &str = r#"
CREATE TABLE appeals (
    id                   TEXT PRIMARY KEY,            -- UUIDv7
    registration_number  TEXT NOT NULL UNIQUE,
    booth_id             TEXT NOT NULL,
    year                 INTEGER NOT NULL,
    seq                  INTEGER NOT NULL,
    applicant_json       TEXT,                        -- NULL once minimised after upload
    addressee_id         TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    complaint_json       TEXT,
    language             TEXT NOT NULL,
    recorded_at          TEXT NOT NULL,               -- RFC 3339 UTC
    duration_ms          INTEGER NOT NULL,
    lookup_id            TEXT NOT NULL UNIQUE,
    expected_answer_date TEXT NOT NULL,
    continuation_of      TEXT REFERENCES appeals(id),
    ticket               TEXT,
    UNIQUE (booth_id, year, seq)
);

CREATE TABLE outbox (
    appeal_id      TEXT PRIMARY KEY REFERENCES appeals(id),
    file_name      TEXT NOT NULL UNIQUE,
    sealed_sha256  TEXT NOT NULL,
    sealed_size    INTEGER NOT NULL,
    content_type   TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('sealed','uploading','uploaded','destroyed','parked')),
    upload_offset  INTEGER NOT NULL DEFAULT 0,
    upload_url     TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    updated_at     TEXT NOT NULL
);
CREATE INDEX outbox_state ON outbox(state, appeal_id);

CREATE TABLE destruction_log (
    id            INTEGER PRIMARY KEY,
    recording_id  TEXT NOT NULL,
    rule          TEXT NOT NULL,
    at            TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

/// Version 2: answers, status, ratings, directory, reception journal, tickets and accounts.
const UPGRADE_TO_2: &str = r#"
CREATE TABLE status_events (
    appeal_id   TEXT NOT NULL,
    at          TEXT NOT NULL,
    status_json TEXT NOT NULL,
    PRIMARY KEY (appeal_id, at, status_json)
);

CREATE TABLE answers (
    appeal_id      TEXT PRIMARY KEY,
    decision       TEXT NOT NULL,
    text           TEXT NOT NULL,
    signed_by      TEXT NOT NULL,
    signed_on      TEXT NOT NULL,
    documents_json TEXT NOT NULL DEFAULT '[]',
    received_at    TEXT NOT NULL
);

CREATE TABLE ratings (
    appeal_id  TEXT PRIMARY KEY,
    rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    rated_at   TEXT NOT NULL,
    sent_at    TEXT
);

CREATE TABLE agencies (
    id        TEXT PRIMARY KEY,
    category  TEXT NOT NULL,
    name_kk   TEXT NOT NULL,
    name_ru   TEXT NOT NULL,
    name_en   TEXT NOT NULL
);

CREATE TABLE visits (
    id               TEXT PRIMARY KEY,
    document_kind    TEXT NOT NULL,
    document_number  TEXT NOT NULL,
    iin              TEXT,
    surname          TEXT NOT NULL,
    name             TEXT NOT NULL,
    patronymic       TEXT,
    entity_bin       TEXT,
    entity_name      TEXT,
    phone            TEXT,
    email            TEXT,
    consent          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    receptionist     TEXT NOT NULL,
    appeal_id        TEXT,
    sent_at          TEXT
);
CREATE INDEX visits_created ON visits(created_at);
CREATE INDEX visits_surname ON visits(surname);

CREATE TABLE tickets (
    ticket      TEXT PRIMARY KEY,               -- 6 digits
    visit_id    TEXT NOT NULL REFERENCES visits(id),
    booth_id    TEXT,                           -- NULL: any booth of the branch
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE TABLE ticket_attempts (
    id      INTEGER PRIMARY KEY,
    source  TEXT NOT NULL,
    at      TEXT NOT NULL
);

CREATE TABLE reception_users (
    login          TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('receptionist','admin')),
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT
);

CREATE TABLE reception_sessions (
    id          TEXT PRIMARY KEY,
    login       TEXT NOT NULL REFERENCES reception_users(login),
    csrf        TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    object  TEXT NOT NULL
);

CREATE TABLE lookup_attempts (
    id    INTEGER PRIMARY KEY,
    at    TEXT NOT NULL,
    ok    INTEGER NOT NULL
);

ALTER TABLE appeals ADD COLUMN minimised_at TEXT;
"#;

/// Version 3: indexes for the reception journal (a visit's tickets; an appeal by its ticket).
/// Without them issuing a ticket and every journal row scan all tickets (quadratic).
const UPGRADE_TO_3: &str = r#"
CREATE INDEX IF NOT EXISTS tickets_visit ON tickets(visit_id, expires_at);
CREATE INDEX IF NOT EXISTS appeals_ticket ON appeals(ticket);
"#;

/// Version 4: closed loops of the intake (issue 15).
/// - `appeals.visit_id`: the reception journal entry (003 p.22) the appeal came from, written in
///   the same transaction as the appeal by `intake::commit` and sent to the centre with it.
/// - `receipt_prints`: the receipt print job of every committed appeal, persisted in the commit
///   transaction, so a crash between the commit and the printout is found at start-up
///   (reprinted while the citizen may still stand there, otherwise listed as unprinted).
const UPGRADE_TO_4: &str = r#"
ALTER TABLE appeals ADD COLUMN visit_id TEXT;
CREATE INDEX IF NOT EXISTS appeals_visit ON appeals(visit_id);
CREATE TABLE receipt_prints (
    appeal_id     TEXT PRIMARY KEY REFERENCES appeals(id),
    queued_at     TEXT NOT NULL,
    printed_at    TEXT,
    unprinted_at  TEXT
);
"#;

/// Upgrade steps: `UPGRADES[i]` turns version `i + 1` into `i + 2`.
const UPGRADES: &[&str] = &[UPGRADE_TO_2, UPGRADE_TO_3, UPGRADE_TO_4];

/// Creates or upgrades the schema inside `tx`. Refuses a database newer than this program
/// (a rolled-back booth must not write into a schema it does not know).
pub fn migrate(tx: &Transaction<'_>) -> Result<u32, StoreError> {
    let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: VERSION,
        });
    }
    if current == 0 {
        tx.execute_batch(V1)?;
        set_version(tx, 1)?;
    }
    let mut v = current.max(1);
    while v < VERSION {
        let step = UPGRADES[(v - 1) as usize];
        tx.execute_batch(step)?;
        v += 1;
        set_version(tx, v)?;
    }
    Ok(current)
}

fn set_version(tx: &Transaction<'_>, v: u32) -> Result<(), StoreError> {
    tx.execute_batch(&format!("PRAGMA user_version = {v}"))?;
    Ok(())
}
