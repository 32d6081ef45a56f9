//! Store benchmark: commit latency (p50/p99) with `synchronous=FULL`, and lookup-by-id time
//! with 1 000 000 appeals in the store. Prints figures; asserts nothing about time.

use std::time::{Duration, Instant};

use booth_core::store::{Store, appeals};
use booth_core::testing::sample_new_appeal;
use rand::Rng;

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let n: u64 = std::env::var("BOOTH_BENCH_APPEALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.sqlite3");
    let mut store = Store::open(&path)?;

    // Bulk load: one transaction, same columns the kiosk writes; applicant NULL as for appeals
    // minimised after upload (most of a booth's history).
    let t = Instant::now();
    let mut rng = rand::rng();
    let mut probe_ids = Vec::new();
    store.write(|tx| -> Result<(), booth_core::store::StoreError> {
        let mut st = tx.prepare(
            "INSERT INTO appeals (id, registration_number, booth_id, year, seq, applicant_json, addressee_id, kind, language,
                                  recorded_at, duration_ms, lookup_id, expected_answer_date)
             VALUES (?1, ?2, 'BULK', 2026, ?3, NULL, 'mintrud', 'statement', 'kk', '2026-05-04T10:00:00.000Z', 60000, ?4, '2026-05-26')",
        )?;
        for i in 1..=n {
            let id = uuid::Uuid::now_v7().to_string();
            let lid = hex::encode(rng.random::<[u8; 32]>());
            if i % (n / 1000).max(1) == 0 {
                probe_ids.push(lid.clone());
            }
            // Valid numbers (BRANCH-BB-YYYY-NNNNNN): six digits per booth, so the bulk spreads
            // over booths 10, 11, … as a branch's history would.
            let regno = format!("BLK01-{:02}-2026-{:06}", 10 + i / 999_999, 1 + i % 999_999);
            st.execute(rusqlite::params![id, regno, i, lid])?;
        }
        Ok(())
    })?;
    let load = t.elapsed();

    // Lookup by lookup id (the kiosk's query), 1000 random probes.
    let mut lookups = Vec::new();
    for lid in &probe_ids {
        let lid: booth_core::LookupId = lid.parse()?;
        let t = Instant::now();
        let found = store.read(|tx| appeals::find_by_lookup_id(tx, &lid))?;
        lookups.push(t.elapsed());
        if found.is_none() {
            return Err("probe not found".into());
        }
    }

    // Commit latency: 500 single appeals, each its own durable transaction.
    let mut commits = Vec::new();
    for _ in 0..500 {
        let (new, _) = sample_new_appeal("BENCH", chrono::Utc::now(), None);
        let t = Instant::now();
        store.write(|tx| appeals::commit_appeal(tx, &new, "DEV01", 1))?;
        commits.push(t.elapsed());
    }
    let size = std::fs::metadata(&path)?.len();
    println!("\nstore benchmark ({n} appeals, WAL, synchronous=FULL)");
    println!("{:<44} {:>12}", "figure", "value");
    println!(
        "{:<44} {:>10.1} s",
        "bulk load of appeals (one transaction)",
        load.as_secs_f64()
    );
    println!("{:<44} {:>9.1} MB", "database size", size as f64 / 1e6);
    println!(
        "{:<44} {:>9.1} µs",
        "lookup by lookup id, p50",
        pct(&mut lookups, 0.5).as_secs_f64() * 1e6
    );
    println!(
        "{:<44} {:>9.1} µs",
        "lookup by lookup id, p99",
        pct(&mut lookups, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "{:<44} {:>9.2} ms",
        "commit appeal + outbox row, p50",
        pct(&mut commits, 0.5).as_secs_f64() * 1e3
    );
    println!(
        "{:<44} {:>9.2} ms",
        "commit appeal + outbox row, p99",
        pct(&mut commits, 0.99).as_secs_f64() * 1e3
    );
    Ok(())
}
