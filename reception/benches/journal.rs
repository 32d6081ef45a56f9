//! Prints how long the console's database work takes on a journal of realistic size:
//! registering visits with tickets, journal searches (surname filter runs in Rust), ticket
//! redemption, and one Argon2id password check (the cost of a sign-in).
//! Run: `cargo bench -p reception --bench journal` (`BENCH_VISITS` sets the journal size).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Instant;

use booth_core::store::Store;
use booth_core::store::reception::{self as rs, JournalQuery};
use booth_core::{Visit, ident::complete_with_check_digit};
use chrono::{DateTime, Duration, Utc};

fn main() {
    let n: usize = std::env::var("BENCH_VISITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = Store::open(&dir.path().join("booth.sqlite3")).expect("open");
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-01-01T04:00:00Z")
        .expect("ts")
        .with_timezone(&Utc);
    let iin = complete_with_check_digit("90010140000")
        .expect("cd")
        .parse()
        .ok();
    let surnames = [
        "Қасымқызы",
        "Иванов",
        "Сейітқали",
        "Абенов",
        "Петрова",
        "Нұрланұлы",
        "Ким",
        "Омарова",
    ];

    let start = Instant::now();
    let mut tickets = Vec::with_capacity(n);
    store
        .write(|tx| {
            for i in 0..n {
                let v = Visit {
                    id: uuid::Uuid::now_v7(),
                    document_kind: "id_card".into(),
                    document_number: format!("{i:09}"),
                    iin: iin.clone(),
                    surname: surnames[i % surnames.len()].parse().expect("name"),
                    name: "Әлия".parse().expect("name"),
                    patronymic: None,
                    entity: None,
                    phone: None,
                    email: None,
                    consent: true,
                    created_at: t0 + Duration::minutes(i as i64 * 10),
                    receptionist: "desk1".into(),
                };
                rs::insert_visit(tx, &v)?;
                let t = rs::issue_ticket(tx, v.id, None, v.created_at, Duration::minutes(30))?;
                tickets.push((t.ticket, v.created_at));
            }
            Ok::<_, booth_core::store::StoreError>(())
        })
        .expect("fill");
    let fill = start.elapsed();
    println!(
        "journal fill: {n} visits with tickets in one transaction: {:.1} ms ({:.1} µs/visit)",
        fill.as_secs_f64() * 1e3,
        fill.as_secs_f64() * 1e6 / n as f64
    );

    let time = |label: &str, runs: u32, store: &mut Store, q: &JournalQuery| {
        let start = Instant::now();
        let mut rows = 0;
        for _ in 0..runs {
            rows = store
                .read(|tx| rs::search_journal(tx, q))
                .expect("search")
                .len();
        }
        println!(
            "{label}: {:.2} ms per search ({rows} rows)",
            start.elapsed().as_secs_f64() * 1e3 / f64::from(runs)
        );
    };
    let mid = t0 + Duration::minutes((n as i64 / 2) * 10);
    let day = JournalQuery {
        from: Some(mid),
        until: Some(mid + Duration::days(1)),
        limit: 1000,
        ..Default::default()
    };
    time("search by date (one day)", 50, &mut store, &day);
    let rare = JournalQuery {
        surname: Some("сейіт".into()),
        limit: 1000,
        ..Default::default()
    };
    time(
        "search by surname, whole journal (limit 1000)",
        10,
        &mut store,
        &rare,
    );
    let missing = JournalQuery {
        surname: Some("жоқ".into()),
        limit: 1000,
        ..Default::default()
    };
    time(
        "search by surname with no match (full scan)",
        10,
        &mut store,
        &missing,
    );
    let by_ticket = JournalQuery {
        ticket: Some(tickets[n / 3].0.clone()),
        limit: 10,
        ..Default::default()
    };
    time("search by ticket", 50, &mut store, &by_ticket);

    let runs = 200.min(n);
    let start = Instant::now();
    for (i, (t, at)) in tickets.iter().take(runs).enumerate() {
        let booth = format!("B{i}");
        rs::redeem_ticket(&mut store, t, &booth, *at + Duration::minutes(1)).expect("redeem");
    }
    println!(
        "redeem_ticket (valid, synchronous=FULL commit): {:.2} ms per ticket",
        start.elapsed().as_secs_f64() * 1e3 / runs as f64
    );

    let hash = reception::session::hash_password("correct horse battery").expect("hash");
    let start = Instant::now();
    assert!(reception::session::verify_password(
        "correct horse battery",
        &hash
    ));
    println!(
        "Argon2id password check (one sign-in): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}
