//! The one intake use case: a finished take becomes a sent appeal.
//!
//! Seed 003 p.27: «С нажатием заявителем кнопки "Завершить запись" фиксируется факт отправки
//! видеообращения». Pressing "Finish recording" (or reaching the 3:00 limit of p.24) seals the
//! take into the outbox (a port of the kiosk) and then calls [`commit`], which writes in one
//! transaction everything that makes the appeal sent: the appeal row with its registration
//! number, its outbox row, its first status (registered), the link to the reception visit it
//! came from (p.22) and its receipt print job (p.24). Nothing else writes these rows.
//!
//! Start-up recovery completes the story of a crash at any instant:
//! - [`destroy_orphan_seals`]: a sealed file whose commit never happened produced no receipt
//!   and no sending (p.27); it is destroyed and the destruction logged (seed 000 p.3: the
//!   destruction of a video record is documented), unless the database was just recovered
//!   from damage (then every sealed file is an appeal to keep; see
//!   [`crate::store::outbox::reindex_orphans`]).
//! - [`crate::store::receipts::pending`]: receipts that never printed; the kiosk reprints a
//!   young one with a replacement code ([`rekey`]) or lists it as unprinted.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};
use uuid::Uuid;

use crate::code::LookupId;
use crate::domain::{Appeal, Status, StatusEvent};
use crate::store::{NewAppeal, Store, StoreError, appeals, kiosk, outbox, receipts, reception};

/// Destruction-log rule for a sealed file whose appeal was never committed.
pub const RULE_ORPHAN_SEAL: &str = "003-p27-not-sent-crash-before-commit";

/// Commits a finished appeal (seed 003 p.27: the fact of sending) in the caller's transaction:
/// appeal + outbox row + first status + visit link + receipt job. The sealed file named by
/// `new.media` must already be durable in the outbox. After the transaction commits
/// (`synchronous=FULL`), the receipt may be shown.
///
/// A visit that this database does not hold (reception on another machine of the branch) is
/// not an error: the appeal still carries `visit_id` to the centre, which links the two.
pub fn commit(
    tx: &Transaction<'_>,
    new: &NewAppeal,
    branch: &str,
    booth_number: u16,
) -> Result<Appeal, StoreError> {
    let appeal = appeals::commit_appeal(tx, new, branch, booth_number)?;
    kiosk::add_status(
        tx,
        appeal.id,
        &StatusEvent {
            at: appeal.recorded_at,
            status: Status::Registered,
        },
    )?;
    if let Some(visit) = new.visit_id {
        match reception::link_visit_to_appeal(tx, visit, appeal.id) {
            // `false`: the visit already names an earlier appeal of the same session (a
            // continuation, p.24); this appeal names the visit itself.
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => {
                tracing::info!(appeal = %appeal.id, visit = %visit, "visit not in this database; the centre links it");
            }
            Err(e) => return Err(e),
        }
    }
    receipts::queue(tx, appeal.id, appeal.recorded_at)?;
    Ok(appeal)
}

/// Gives a committed appeal whose receipt never printed a new lookup id (the code of a
/// replacement receipt), while the centre cannot have the old one yet: only while its outbox
/// row is still `sealed`. Returns whether the lookup id was replaced.
pub fn rekey(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    lookup_id: &LookupId,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE appeals SET lookup_id = ?2
         WHERE id = ?1 AND EXISTS (SELECT 1 FROM outbox o WHERE o.appeal_id = ?1 AND o.state = 'sealed')",
        params![appeal_id.to_string(), lookup_id.as_str()],
    )?;
    Ok(n == 1)
}

/// Destroys sealed files that no appeal row knows (a crash between the seal's rename and the
/// commit): the destruction is logged first (rule [`RULE_ORPHAN_SEAL`], the file's appeal id,
/// no personal data), then the file is deleted, so a crash in between at worst logs twice.
/// Files whose name is not `<uuid>.age` are left for the technician. Returns the ids destroyed.
///
/// Call only when the database was opened normally: after a damaged database was moved aside,
/// sealed files are appeals whose rows were lost, and are kept.
pub fn destroy_orphan_seals(
    store: &mut Store,
    outbox_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, StoreError> {
    let orphans = store.write(|tx| outbox::reindex_orphans(tx, outbox_dir))?;
    let ids: Vec<(Uuid, String)> = orphans
        .into_iter()
        .filter_map(|name| {
            let id = name.strip_suffix(".age")?.parse::<Uuid>().ok()?;
            Some((id, name))
        })
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    store.write(|tx| {
        for (id, _) in &ids {
            let logged: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM destruction_log WHERE recording_id = ?1 AND rule = ?2)",
                params![id.to_string(), RULE_ORPHAN_SEAL],
                |r| r.get(0),
            )?;
            if !logged {
                outbox::log_destruction(
                    tx,
                    *id,
                    RULE_ORPHAN_SEAL,
                    now,
                    "sealed recording without a committed appeal (no receipt was shown)",
                )?;
            }
        }
        Ok::<_, StoreError>(())
    })?;
    let mut destroyed = Vec::new();
    for (id, name) in ids {
        outbox::delete_sealed_file(outbox_dir, &name).map_err(|source| StoreError::Io {
            path: outbox_dir.join(&name),
            source,
        })?;
        destroyed.push(id);
    }
    Ok(destroyed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TEST_LOOKUP_PARAMS, sample_new_appeal};

    fn new_appeal(at: DateTime<Utc>, f: Option<String>) -> (NewAppeal, crate::SecretCode) {
        sample_new_appeal("ALM-0001", at, f)
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
    }

    #[test]
    fn seed_003_p27_commit_writes_appeal_outbox_status_and_receipt_job_in_one_go() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let (new, _code) = new_appeal(t("2026-12-02T10:00:00Z"), None);
        let a = s.write(|tx| commit(tx, &new, "ALM01", 1)).expect("commit");
        let (timeline, item, pending) = s
            .read(|tx| {
                Ok::<_, StoreError>((
                    kiosk::status_timeline(tx, a.id)?,
                    outbox::get(tx, a.id)?,
                    receipts::pending(tx)?,
                ))
            })
            .expect("read");
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].status, Status::Registered);
        assert_eq!(item.state, outbox::OutboxState::Sealed);
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].appeal_id, a.id);
    }

    #[test]
    fn a_failed_commit_leaves_no_row_of_any_table() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let (new, _code) = new_appeal(t("2026-12-02T10:00:00Z"), None);
        s.write(|tx| commit(tx, &new, "ALM01", 1)).expect("first");
        // Same id again: the appeal insert fails, and nothing of the second try remains.
        let again = s.write(|tx| commit(tx, &new, "ALM01", 1));
        assert!(again.is_err());
        let n: i64 = s
            .read(|tx| {
                Ok::<_, StoreError>(tx.query_row(
                    "SELECT COUNT(*) FROM receipt_prints",
                    [],
                    |r| r.get(0),
                )?)
            })
            .expect("count");
        assert_eq!(n, 1);
    }

    #[test]
    fn seed_003_p22_the_visit_is_linked_in_the_commit_and_an_unknown_visit_does_not_lose_the_appeal()
     {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let (mut new, _code) = new_appeal(t("2026-12-02T10:00:00Z"), None);
        let visit = crate::new_id();
        new.visit_id = Some(visit);
        let a = s
            .write(|tx| commit(tx, &new, "ALM01", 1))
            .expect("commit with a foreign visit");
        let stored = s.read(|tx| appeals::get(tx, a.id)).expect("get");
        assert_eq!(stored.visit_id, Some(visit));
    }

    #[test]
    fn seed_003_p22_a_visit_of_this_journal_is_linked_and_sent_again_with_its_appeal() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let at = t("2026-12-02T09:50:00Z");
        let visit = crate::domain::Visit {
            id: crate::new_id(),
            document_kind: "id_card".into(),
            document_number: "012345678".into(),
            iin: None,
            surname: "Қасымқызы".parse().expect("name"),
            name: "Әлия".parse().expect("name"),
            patronymic: None,
            entity: None,
            phone: None,
            email: None,
            consent: true,
            created_at: at,
            receptionist: "desk1".into(),
        };
        s.write(|tx| {
            reception::insert_visit(tx, &visit)?;
            reception::mark_visit_sent(tx, visit.id, at)
        })
        .expect("visit sent before the appeal");
        let (mut new, _code) = new_appeal(t("2026-12-02T10:00:00Z"), None);
        new.visit_id = Some(visit.id);
        let a = s.write(|tx| commit(tx, &new, "ALM01", 1)).expect("commit");
        let unsent = s
            .read(|tx| reception::unsent_visits(tx, 10))
            .expect("unsent");
        assert_eq!(
            unsent.len(),
            1,
            "the visit goes to the centre again, now with its appeal"
        );
        assert_eq!(unsent[0].appeal_id, Some(a.id));
    }

    #[test]
    fn rekey_only_while_the_centre_cannot_have_the_old_lookup_id() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let (new, _code) = new_appeal(t("2026-12-02T10:00:00Z"), None);
        let a = s.write(|tx| commit(tx, &new, "ALM01", 1)).expect("commit");
        let (_, code2) = new_appeal(t("2026-12-02T10:00:01Z"), None);
        let lid2 = code2.lookup_id(&TEST_LOOKUP_PARAMS).expect("lid");
        assert!(s.write(|tx| rekey(tx, a.id, &lid2)).expect("rekey"));
        let now = t("2026-12-02T10:01:00Z");
        s.write(|tx| {
            outbox::transition(tx, a.id, outbox::OutboxState::Uploading { offset: 0 }, now)
        })
        .expect("uploading");
        let (_, code3) = new_appeal(t("2026-12-02T10:00:02Z"), None);
        let lid3 = code3.lookup_id(&TEST_LOOKUP_PARAMS).expect("lid");
        assert!(!s.write(|tx| rekey(tx, a.id, &lid3)).expect("rekey refused"));
        let stored = s.read(|tx| appeals::get(tx, a.id)).expect("get");
        assert_eq!(stored.lookup_id, lid2);
    }

    #[test]
    fn seed_000_orphan_sealed_files_are_destroyed_and_logged_once() {
        let dir = tempfile::tempdir().expect("dir");
        let outbox_dir = dir.path().join("outbox");
        std::fs::create_dir_all(&outbox_dir).expect("mkdir");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let (new, _code) = new_appeal(t("2026-12-02T10:00:00Z"), None);
        s.write(|tx| commit(tx, &new, "ALM01", 1)).expect("commit");
        std::fs::write(outbox_dir.join(&new.media.file_name), b"kept").expect("committed file");
        let orphan = crate::new_id();
        std::fs::write(outbox_dir.join(format!("{orphan}.age")), b"x").expect("orphan");
        std::fs::write(outbox_dir.join("not-an-appeal.age"), b"x").expect("foreign");
        let now = t("2026-12-02T10:05:00Z");
        let gone = destroy_orphan_seals(&mut s, &outbox_dir, now).expect("destroy");
        assert_eq!(gone, vec![orphan]);
        assert!(!outbox_dir.join(format!("{orphan}.age")).exists());
        assert!(outbox_dir.join(&new.media.file_name).exists());
        assert!(outbox_dir.join("not-an-appeal.age").exists());
        let log = s.read(outbox::destruction_log).expect("log");
        let entries: Vec<_> = log.iter().filter(|e| e.recording_id == orphan).collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].rule, RULE_ORPHAN_SEAL);
        assert!(
            destroy_orphan_seals(&mut s, &outbox_dir, now)
                .expect("again")
                .is_empty()
        );
    }
}
