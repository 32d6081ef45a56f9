//! What the kiosk reads and writes on the shared database besides committing appeals: the
//! agency directory, an appeal's status timeline and answer (filled by the sync agent),
//! satisfaction ratings (kiosk writes), and the lookup attempts behind the wrong-code rate limit.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{StoreError, parse_ts, ts};
use crate::domain::{Agency, Answer, DecisionKind, Rating, StatusEvent};

/// The whole directory, sorted by category then Russian name (stable order for browsing).
pub fn agencies(tx: &Transaction<'_>) -> Result<Vec<Agency>, StoreError> {
    let mut st = tx.prepare("SELECT id, category, name_kk, name_ru, name_en FROM agencies ORDER BY category, name_ru, id")?;
    let rows = st.query_map([], |r| {
        Ok(Agency {
            id: r.get(0)?,
            category: r.get(1)?,
            name_kk: r.get(2)?,
            name_ru: r.get(3)?,
            name_en: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Inserts or replaces agencies (the sync agent owns this in production; the demo and tests
/// seed with it).
pub fn upsert_agencies(tx: &Transaction<'_>, list: &[Agency]) -> Result<(), StoreError> {
    let mut st = tx.prepare(
        "INSERT INTO agencies (id, category, name_kk, name_ru, name_en) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET category = excluded.category, name_kk = excluded.name_kk,
             name_ru = excluded.name_ru, name_en = excluded.name_en",
    )?;
    for a in list {
        st.execute(params![a.id, a.category, a.name_kk, a.name_ru, a.name_en])?;
    }
    Ok(())
}

/// The status timeline of an appeal, oldest first.
pub fn status_timeline(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
) -> Result<Vec<StatusEvent>, StoreError> {
    let mut st =
        tx.prepare("SELECT at, status_json FROM status_events WHERE appeal_id = ?1 ORDER BY at")?;
    let rows = st.query_map([appeal_id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (at, json) = row?;
        let status = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
            what: "status_json",
            detail: e.to_string(),
        })?;
        out.push(StatusEvent {
            at: parse_ts("status at", &at)?,
            status,
        });
    }
    Ok(out)
}

/// Appends a status event (sync agent in production; demo and tests).
pub fn add_status(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    ev: &StatusEvent,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(&ev.status).map_err(|e| StoreError::Corrupt {
        what: "status_json",
        detail: e.to_string(),
    })?;
    tx.execute(
        "INSERT OR IGNORE INTO status_events (appeal_id, at, status_json) VALUES (?1, ?2, ?3)",
        params![appeal_id.to_string(), ts(ev.at), json],
    )?;
    Ok(())
}

/// The answer to an appeal, if it has arrived.
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
        decision: DecisionKind::parse(&decision).ok_or(StoreError::Corrupt {
            what: "decision",
            detail: decision.clone(),
        })?,
        text,
        signed_by,
        signed_on: signed_on
            .parse::<NaiveDate>()
            .map_err(|e| StoreError::Corrupt {
                what: "signed_on",
                detail: e.to_string(),
            })?,
        documents: serde_json::from_str(&docs).map_err(|e| StoreError::Corrupt {
            what: "documents_json",
            detail: e.to_string(),
        })?,
    }))
}

/// Stores an answer (sync agent in production; demo and tests).
pub fn put_answer(
    tx: &Transaction<'_>,
    a: &Answer,
    received_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let docs = serde_json::to_string(&a.documents).map_err(|e| StoreError::Corrupt {
        what: "documents_json",
        detail: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO answers (appeal_id, decision, text, signed_by, signed_on, documents_json, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(appeal_id) DO UPDATE SET decision = excluded.decision, text = excluded.text,
             signed_by = excluded.signed_by, signed_on = excluded.signed_on, documents_json = excluded.documents_json",
        params![a.appeal_id.to_string(), a.decision.as_str(), a.text, a.signed_by, a.signed_on.to_string(), docs, ts(received_at)],
    )?;
    Ok(())
}

/// Stores the citizen's rating (one per appeal; a second rating replaces the first and is sent
/// again).
pub fn insert_rating(
    tx: &Transaction<'_>,
    appeal_id: Uuid,
    rating: Rating,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO ratings (appeal_id, rating, rated_at, sent_at) VALUES (?1, ?2, ?3, NULL)
         ON CONFLICT(appeal_id) DO UPDATE SET rating = excluded.rating, rated_at = excluded.rated_at, sent_at = NULL",
        params![appeal_id.to_string(), rating.get(), ts(at)],
    )?;
    Ok(())
}

/// The rating given to an appeal, if any.
pub fn rating(tx: &Transaction<'_>, appeal_id: Uuid) -> Result<Option<u8>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT rating FROM ratings WHERE appeal_id = ?1",
            [appeal_id.to_string()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records one code lookup at the booth (no code, no lookup id: only when and whether it hit).
pub fn record_lookup_attempt(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    ok: bool,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO lookup_attempts (at, ok) VALUES (?1, ?2)",
        params![ts(at), ok],
    )?;
    Ok(())
}

/// Wrong codes in a row since the last successful lookup (looking back at most `window`), and
/// when the latest of them was typed. The rate limit is per booth, not per person: the booth
/// cannot tell citizens apart, and slowing a guesser matters more than a second's wait.
pub fn failed_lookups_in_a_row(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<(u32, Option<DateTime<Utc>>), StoreError> {
    let since = ts(now - window);
    let last_ok: Option<String> = tx.query_row(
        "SELECT MAX(at) FROM lookup_attempts WHERE ok = 1 AND at >= ?1",
        [&since],
        |r| r.get(0),
    )?;
    let from = last_ok.unwrap_or(since);
    let (n, last): (u32, Option<String>) = tx.query_row(
        "SELECT COUNT(*), MAX(at) FROM lookup_attempts WHERE ok = 0 AND at > ?1",
        [&from],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((n, last.map(|s| parse_ts("lookup at", &s)).transpose()?))
}

/// Forgets lookup attempts older than `before` (they carry no personal data, but need not pile up).
pub fn prune_lookup_attempts(
    tx: &Transaction<'_>,
    before: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM lookup_attempts WHERE at < ?1", [ts(before)])?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::Status;
    use crate::store::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("booth.sqlite3")).expect("open");
        (dir, s)
    }

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 20, 10, 0, 0)
            .single()
            .expect("date")
            + chrono::Duration::seconds(s)
    }

    #[test]
    fn directory_round_trip_and_order() {
        let (_d, mut s) = store();
        let a = |id: &str, cat: &str, ru: &str| Agency {
            id: id.into(),
            category: cat.into(),
            name_kk: format!("{ru} kk"),
            name_ru: ru.into(),
            name_en: format!("{ru} en"),
        };
        s.write(|tx| {
            upsert_agencies(
                tx,
                &[
                    a("b", "ministry", "Б"),
                    a("a", "akimat", "А"),
                    a("c", "ministry", "А"),
                ],
            )
        })
        .expect("upsert");
        s.write(|tx| upsert_agencies(tx, &[a("b", "ministry", "В")]))
            .expect("update");
        let list = s.read(agencies).expect("read");
        let ids: Vec<&str> = list.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
        assert_eq!(list[2].name_ru, "В");
    }

    #[test]
    fn timeline_answer_and_rating() {
        let (_d, mut s) = store();
        let id = Uuid::now_v7();
        s.write(|tx| {
            add_status(
                tx,
                id,
                &StatusEvent {
                    at: at(0),
                    status: Status::Registered,
                },
            )?;
            add_status(
                tx,
                id,
                &StatusEvent {
                    at: at(60),
                    status: Status::Answered {
                        decision: DecisionKind::Explained,
                    },
                },
            )?;
            add_status(
                tx,
                id,
                &StatusEvent {
                    at: at(30),
                    status: Status::Forwarded {
                        to_agency_id: "x".into(),
                        to_agency_name: "X".into(),
                    },
                },
            )
        })
        .expect("status");
        let tl = s.read(|tx| status_timeline(tx, id)).expect("timeline");
        assert_eq!(tl.len(), 3);
        assert!(
            matches!(tl[1].status, Status::Forwarded { .. }),
            "ordered by time"
        );
        assert_eq!(s.read(|tx| answer(tx, id)).expect("none"), None);
        let ans = Answer {
            appeal_id: id,
            decision: DecisionKind::Explained,
            text: "Түсіндірме".into(),
            signed_by: "Бас маман А. Б.".into(),
            signed_on: NaiveDate::from_ymd_opt(2026, 3, 25).expect("date"),
            documents: vec!["answer.pdf".into()],
        };
        s.write(|tx| put_answer(tx, &ans, at(90))).expect("answer");
        assert_eq!(s.read(|tx| answer(tx, id)).expect("answer"), Some(ans));
        assert_eq!(s.read(|tx| rating(tx, id)).expect("rating"), None);
        s.write(|tx| insert_rating(tx, id, Rating::new(2).expect("r"), at(100)))
            .expect("rate");
        s.write(|tx| insert_rating(tx, id, Rating::new(5).expect("r"), at(110)))
            .expect("re-rate");
        assert_eq!(s.read(|tx| rating(tx, id)).expect("rating"), Some(5));
    }

    #[test]
    fn wrong_codes_in_a_row_reset_by_a_hit_and_by_the_window() {
        let (_d, mut s) = store();
        let w = chrono::Duration::hours(1);
        assert_eq!(
            s.read(|tx| failed_lookups_in_a_row(tx, at(0), w))
                .expect("q"),
            (0, None)
        );
        s.write(|tx| {
            record_lookup_attempt(tx, at(0), false)?;
            record_lookup_attempt(tx, at(10), false)?;
            record_lookup_attempt(tx, at(20), true)?;
            record_lookup_attempt(tx, at(30), false)?;
            record_lookup_attempt(tx, at(40), false)
        })
        .expect("attempts");
        assert_eq!(
            s.read(|tx| failed_lookups_in_a_row(tx, at(50), w))
                .expect("q"),
            (2, Some(at(40)))
        );
        // Two hours later the old failures no longer count.
        assert_eq!(
            s.read(|tx| failed_lookups_in_a_row(tx, at(7200), w))
                .expect("q"),
            (0, None)
        );
        assert_eq!(
            s.write(|tx| prune_lookup_attempts(tx, at(25)))
                .expect("prune"),
            3
        );
    }
}
