
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
