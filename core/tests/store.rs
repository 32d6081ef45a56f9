//! Store tests on real SQLite files: commits, registration numbers, the outbox state machine,
//! the destruction log, minimisation, migration from the frozen first schema, and recovery of
//! a damaged database.

use std::path::Path;

use booth_core::store::{self, OutboxState, Store, StoreError, appeals, outbox, schema};
use booth_core::testing::{TEST_LOOKUP_PARAMS, sample_new_appeal};
use chrono::{DateTime, Utc};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("ts")
        .with_timezone(&Utc)
}

fn commit(store: &mut Store, at: &str) -> (booth_core::Appeal, booth_core::SecretCode) {
    let (new, code) = sample_new_appeal("ALM-0001", t(at), None);
    let appeal = store
        .write(|tx| appeals::commit_appeal(tx, &new, "ALM01", 3))
        .expect("commit");
    (appeal, code)
}

#[test]
fn registration_numbers_are_sequential_per_booth_and_year() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    let (a1, _) = commit(&mut s, "2026-12-31T10:00:00Z");
    let (a2, _) = commit(&mut s, "2026-12-31T11:00:00Z");
    let (a3, _) = commit(&mut s, "2027-01-05T09:00:00Z");
    assert_eq!(a1.registration_number.to_string(), "ALM01-03-2026-000001");
    assert_eq!(a2.registration_number.to_string(), "ALM01-03-2026-000002");
    assert_eq!(a3.registration_number.to_string(), "ALM01-03-2027-000001");
}

#[test]
fn lookup_by_code_finds_the_appeal_and_a_wrong_code_does_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    let (a, code) = commit(&mut s, "2026-05-04T10:00:00Z");
    let lid = code.lookup_id(&TEST_LOOKUP_PARAMS).expect("lid");
    let found = s
        .read(|tx| appeals::find_by_lookup_id(tx, &lid))
        .expect("read")
        .expect("found");
    assert_eq!(found.id, a.id);
    assert_eq!(found.registration_number, a.registration_number);
    let other = booth_core::SecretCode::generate()
        .lookup_id(&TEST_LOOKUP_PARAMS)
        .expect("lid");
    assert!(
        s.read(|tx| appeals::find_by_lookup_id(tx, &other))
            .expect("read")
            .is_none()
    );
}

#[test]
fn outbox_state_machine_refuses_illegal_transitions() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    let (a, _) = commit(&mut s, "2026-05-04T10:00:00Z");
    let now = t("2026-05-04T10:01:00Z");
    let id = a.id;
    let go = |s: &mut Store, to: OutboxState| s.write(|tx| outbox::transition(tx, id, to, now));
    // sealed → destroyed skips the central confirmation: refused.
    let e = go(&mut s, OutboxState::Destroyed).expect_err("illegal");
    assert!(
        matches!(e, StoreError::IllegalTransition { ref from, ref to, .. } if from == "sealed" && to == "destroyed"),
        "{e}"
    );
    go(&mut s, OutboxState::Uploading { offset: 0 }).expect("start");
    go(&mut s, OutboxState::Uploading { offset: 512 }).expect("progress");
    let e = go(&mut s, OutboxState::Uploading { offset: 100 }).expect_err("offset never goes back");
    assert!(matches!(e, StoreError::IllegalTransition { .. }));
    go(&mut s, OutboxState::Uploaded).expect("confirmed");
    assert!(matches!(
        go(&mut s, OutboxState::Sealed),
        Err(StoreError::IllegalTransition { .. })
    ));
    let it = s
        .write(|tx| outbox::mark_destroyed(tx, id, now))
        .expect("destroyed");
    assert_eq!(it.appeal_id, id);
    assert!(matches!(
        go(&mut s, OutboxState::Uploaded),
        Err(StoreError::IllegalTransition { .. })
    ));
    let log = s.read(|tx| outbox::destruction_log(tx)).expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].recording_id, id);
    assert_eq!(log[0].rule, outbox::RULE_UPLOADED);
}

#[test]
fn parked_items_wait_for_a_technician_and_count_in_the_queue() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    let (a, _) = commit(&mut s, "2026-05-04T10:00:00Z");
    let now = t("2026-05-04T10:01:00Z");
    s.write(|tx| {
        outbox::transition(
            tx,
            a.id,
            OutboxState::Parked {
                reason: "HTTP 422: addressee unknown".into(),
            },
            now,
        )
    })
    .expect("park");
    let it = s.read(|tx| outbox::get(tx, a.id)).expect("get");
    assert_eq!(
        it.state,
        OutboxState::Parked {
            reason: "HTTP 422: addressee unknown".into()
        }
    );
    assert!(
        s.read(|tx| outbox::pending(tx, 10))
            .expect("pending")
            .is_empty()
    );
    let (n, oldest) = s.read(|tx| outbox::queue_stats(tx)).expect("stats");
    assert_eq!((n, oldest), (1, Some(t("2026-05-04T10:00:00Z"))));
    s.write(|tx| outbox::transition(tx, a.id, OutboxState::Sealed, now))
        .expect("technician retries");
    assert_eq!(
        s.read(|tx| outbox::pending(tx, 10)).expect("pending").len(),
        1
    );
}

#[test]
fn minimise_forgets_personal_data_and_logs_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    let (a, _) = commit(&mut s, "2026-05-04T10:00:00Z");
    assert!(
        s.write(|tx| appeals::minimise(tx, a.id, t("2026-05-05T00:00:00Z")))
            .expect("minimise")
    );
    assert!(
        !s.write(|tx| appeals::minimise(tx, a.id, t("2026-05-05T00:00:00Z")))
            .expect("again: no-op")
    );
    let got = s.read(|tx| appeals::get(tx, a.id)).expect("get");
    assert!(got.applicant.is_none());
    assert_eq!(got.registration_number, a.registration_number);
    let raw: i64 = s
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM appeals WHERE applicant_json LIKE '%Қасымова%'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(raw, 0);
    assert_eq!(
        s.read(|tx| outbox::destruction_log(tx)).expect("log").len(),
        1
    );
}

#[test]
fn interrupted_destruction_is_finished_at_start_up_and_orphans_are_found() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("outbox");
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    let (a, _) = commit(&mut s, "2026-05-04T10:00:00Z");
    std::fs::write(out.join(&a.media.file_name), b"sealed").expect("file");
    std::fs::write(
        out.join("0190aaaa-0000-7000-8000-000000000000.age"),
        b"orphan",
    )
    .expect("orphan");
    let now = t("2026-05-04T10:05:00Z");
    s.write(|tx| outbox::transition(tx, a.id, OutboxState::Uploaded, now))
        .expect("uploaded");
    // Crash after the commit, before the file was deleted:
    s.write(|tx| outbox::mark_destroyed(tx, a.id, now))
        .expect("destroyed");
    assert!(out.join(&a.media.file_name).exists());
    let n = s
        .read(|tx| outbox::finish_interrupted_destruction(tx, &out))
        .expect("recover");
    assert_eq!(n, 1);
    assert!(!out.join(&a.media.file_name).exists());
    let orphans = s
        .read(|tx| outbox::reindex_orphans(tx, &out))
        .expect("orphans");
    assert_eq!(
        orphans,
        vec!["0190aaaa-0000-7000-8000-000000000000.age".to_owned()]
    );
    assert!(
        out.join(&orphans[0]).exists(),
        "orphans are never deleted automatically"
    );
}

fn schema_of(path: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).expect("open");
    let mut st = c
        .prepare("SELECT type || ' ' || name || ' ' || tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1")
        .expect("prepare");
    let rows = st.query_map([], |r| r.get::<_, String>(0)).expect("query");
    rows.map(|r| r.expect("row")).collect()
}

fn columns_of(path: &Path, table: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(path).expect("open");
    let mut st = c
        .prepare(&format!("PRAGMA table_info({table})"))
        .expect("prepare");
    let rows = st.query_map([], |r| r.get::<_, String>(1)).expect("query");
    let mut v: Vec<String> = rows.map(|r| r.expect("row")).collect();
    v.sort();
    v
}

#[test]
fn migrates_a_frozen_copy_of_the_first_schema_with_its_data() {
    let frozen = include_str!("schemas/v1.sql");
    assert_eq!(
        frozen,
        schema::V1,
        "the first schema was edited: write an upgrade step instead"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let old = dir.path().join("old.sqlite3");
    {
        let c = rusqlite::Connection::open(&old).expect("open");
        c.execute_batch(frozen).expect("v1");
        c.execute_batch("PRAGMA user_version = 1").expect("version");
        c.execute_batch(
            "INSERT INTO appeals VALUES ('0190aaaa-0000-7000-8000-000000000001','ALM01-03-2026-000001','ALM-0001',2026,1,
               '{\"type\":\"legal_entity\",\"name\":\"ТОО Ромашка\",\"bin\":null,\"address\":\"Алматы, Абая 1\",\"email\":null}',
               'mintrud','statement',NULL,'ru','2026-05-04T10:00:00.000Z',60000,
               'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','2026-05-26',NULL,NULL);
             INSERT INTO outbox (appeal_id, file_name, sealed_sha256, sealed_size, content_type, state, updated_at)
               VALUES ('0190aaaa-0000-7000-8000-000000000001','0190aaaa-0000-7000-8000-000000000001.age',
                       'bbbb', 10, 'video/webm', 'sealed', '2026-05-04T10:00:00.000Z');",
        )
        .expect("v1 data");
    }
    let mut s = Store::open(&old).expect("migrate");
    let v: u32 = s
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("v");
    assert_eq!(v, schema::VERSION);
    let a = s
        .read(|tx| {
            appeals::get(
                tx,
                "0190aaaa-0000-7000-8000-000000000001"
                    .parse()
                    .expect("uuid"),
            )
        })
        .expect("kept");
    assert_eq!(a.registration_number.to_string(), "ALM01-03-2026-000001");
    assert_eq!(
        s.read(|tx| outbox::pending(tx, 10)).expect("pending").len(),
        1
    );
    drop(s);
    let fresh = dir.path().join("fresh.sqlite3");
    drop(Store::open(&fresh).expect("fresh"));
    assert_eq!(schema_of(&old), schema_of(&fresh));
    for table in ["appeals", "outbox", "visits", "tickets", "answers"] {
        assert_eq!(
            columns_of(&old, table),
            columns_of(&fresh, table),
            "table {table}"
        );
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("b.sqlite3");
    drop(Store::open(&p).expect("open"));
    rusqlite::Connection::open(&p)
        .expect("raw")
        .execute_batch("PRAGMA user_version = 99")
        .expect("bump");
    let e = Store::open(&p).expect_err("too new");
    assert!(
        matches!(e, StoreError::SchemaTooNew { found: 99, .. }),
        "{e}"
    );
}

#[test]
fn a_damaged_database_is_moved_aside_never_deleted() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("booth.sqlite3");
    std::fs::write(
        &p,
        b"this is not a database, it was overwritten by a bad disk",
    )
    .expect("garbage");
    let (mut s, moved) = Store::open_or_recover(&p).expect("recover");
    let moved = moved.expect("moved aside");
    assert!(moved.exists());
    assert_eq!(std::fs::read(&moved).expect("read")[..8], *b"this is ");
    assert!(s.integrity_check().expect("check"));
    let (a, _) = commit(&mut s, "2026-05-04T10:00:00Z");
    assert_eq!(a.registration_number.seq(), 1);
    // A healthy database is opened as it is.
    drop(s);
    let (_s, moved_again) = Store::open_or_recover(&p).expect("open");
    assert!(moved_again.is_none());
}

#[test]
fn key_value_table() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    s.write(|tx| store::kv_set(tx, "directory.etag", "\"v1\""))
        .expect("set");
    s.write(|tx| store::kv_set(tx, "directory.etag", "\"v2\""))
        .expect("set");
    assert_eq!(
        s.read(|tx| store::kv_get(tx, "directory.etag"))
            .expect("get")
            .as_deref(),
        Some("\"v2\"")
    );
    assert_eq!(
        s.read(|tx| store::kv_get(tx, "missing")).expect("get"),
        None
    );
}

/// Issue 15: an appeal whose date no calendar covered is stored as `''` (the column is
/// `TEXT NOT NULL` since schema 1) and read back as `None` everywhere; the centre's date fills
/// it in later, but never overwrites a date the receipt printed.
#[test]
fn an_appeal_without_an_answer_date_round_trips_and_gets_the_centres_date() {
    use booth_core::store::sync as store_sync;
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
    let (mut new, code) = sample_new_appeal("ALM-0001", t("2027-12-20T06:00:00Z"), None);
    new.expected_answer_date = None;
    let a = s
        .write(|tx| appeals::commit_appeal(tx, &new, "ALM01", 3))
        .expect("commit");
    assert_eq!(a.expected_answer_date, None);
    let lid = code.lookup_id(&TEST_LOOKUP_PARAMS).expect("lid");
    let (raw, stored, to_send, view) = s
        .read(|tx| {
            let raw: String = tx.query_row(
                "SELECT expected_answer_date FROM appeals WHERE id = ?1",
                [a.id.to_string()],
                |r| r.get(0),
            )?;
            Ok::<_, StoreError>((
                raw,
                appeals::get(tx, a.id)?,
                store_sync::appeal_to_send(tx, a.id)?,
                store_sync::local_view(tx, &lid)?.expect("view"),
            ))
        })
        .expect("read");
    assert_eq!(raw, appeals::NOT_COVERED);
    assert_eq!(stored.expected_answer_date, None);
    assert_eq!(to_send.expected_answer_date, None);
    assert_eq!(view.expected_answer_date, None);

    let centre = chrono::NaiveDate::from_ymd_opt(2028, 1, 12).expect("date");
    let filled = s
        .write(|tx| store_sync::fill_expected_answer_date(tx, a.id, centre))
        .expect("fill");
    assert!(filled);
    let again = s
        .write(|tx| store_sync::fill_expected_answer_date(tx, a.id, centre + chrono::Days::new(1)))
        .expect("fill");
    assert!(!again, "a date once there is never changed");
    let view = s
        .read(|tx| store_sync::local_view(tx, &lid))
        .expect("read")
        .expect("view");
    assert_eq!(view.expected_answer_date, Some(centre));
}
