//! Multi-process store tests (own harness: the test binary re-executes itself as the child).
//!
//! - Two processes write for 10 s at once: SQLITE_BUSY never surfaces as an error.
//! - A child committing 200 appeals is killed with SIGKILL at random moments: afterwards
//!   `PRAGMA integrity_check` is ok and every commit the child reported is present.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use booth_core::store::{Store, appeals};
use booth_core::testing::sample_new_appeal;
use rand::Rng;

const ROLE: &str = "BOOTH_STORE_TEST_ROLE";
const DB: &str = "BOOTH_STORE_TEST_DB";
const TARGET: u64 = 200;

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        let db = PathBuf::from(std::env::var(DB).unwrap_or_default());
        let code = match role.as_str() {
            "writer" => child_writer(&db),
            "committer" => child_committer(&db),
            _ => 3,
        };
        std::process::exit(code);
    }
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tests: [(&str, fn() -> Result<(), String>); 2] = [
        ("two_processes_writing_for_10_s_never_see_busy", two_writers),
        (
            "sigkill_during_200_commits_loses_no_reported_commit",
            sigkill_commits,
        ),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in tests {
        if filter
            .as_ref()
            .is_some_and(|flt| !name.contains(flt.as_str()))
        {
            continue;
        }
        let started = Instant::now();
        match f() {
            Ok(()) => {
                passed += 1;
                println!(
                    "test {name} ... ok ({:.1} s)",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED: {e}");
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    std::process::exit(if failed == 0 { 0 } else { 101 });
}

fn child(role: &str, db: &Path) -> Command {
    let mut c =
        Command::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe")));
    c.env(ROLE, role)
        .env(DB, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    c
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn child_writer(db: &Path) -> i32 {
    let mut store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => {
            println!("error open: {e}");
            return 1;
        }
    };
    let end = Instant::now() + Duration::from_secs(10);
    let mut n = 0u64;
    while Instant::now() < end {
        let (new, _) = sample_new_appeal("BOOTH-W", now(), None);
        match store.write(|tx| appeals::commit_appeal(tx, &new, "DEV01", 1)) {
            Ok(_) => n += 1,
            Err(e) => {
                println!("error commit: {e}");
                return 1;
            }
        }
        // Readers interleave with writers, as the kiosk and the agent do.
        if let Err(e) = store.read(|tx| appeals::count(tx)) {
            println!("error read: {e}");
            return 1;
        }
    }
    println!("ok {n}");
    0
}

fn child_committer(db: &Path) -> i32 {
    let Ok(mut store) = Store::open(db) else {
        return 1;
    };
    let mut out = std::io::stdout().lock();
    loop {
        let Ok(count) = store.read(|tx| appeals::count(tx)) else {
            return 1;
        };
        if count >= TARGET {
            return 0;
        }
        let (new, _) = sample_new_appeal("BOOTH-K", now(), None);
        if store
            .write(|tx| appeals::commit_appeal(tx, &new, "DEV01", 1))
            .is_err()
        {
            return 1;
        }
        // Reported only after the commit returned: this is the "receipt shown" moment.
        if writeln!(out, "committed {}", new.id)
            .and_then(|_| out.flush())
            .is_err()
        {
            return 1;
        }
        // Pace the commits (a booth commits seconds apart) so kills land throughout the run.
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn two_writers() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("shared.sqlite3");
    drop(Store::open(&db).map_err(|e| e.to_string())?);
    let kids: Vec<_> = (0..2)
        .map(|_| child("writer", &db).spawn())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut total = 0u64;
    for k in kids {
        let out = k.wait_with_output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            return Err(format!("a writer failed: {text}"));
        }
        total += text
            .trim()
            .strip_prefix("ok ")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(format!("bad output {text}"))?;
    }
    let mut s = Store::open(&db).map_err(|e| e.to_string())?;
    let count = s.read(|tx| appeals::count(tx)).map_err(|e| e.to_string())?;
    if count != total {
        return Err(format!(
            "children reported {total} commits, database has {count}"
        ));
    }
    if total < 20 {
        return Err(format!(
            "only {total} commits in 10 s: the writers were starved"
        ));
    }
    println!("  two writers committed {total} appeals in 10 s, no SQLITE_BUSY surfaced");
    Ok(())
}

fn sigkill_commits() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("crash.sqlite3");
    let mut reported: HashSet<String> = HashSet::new();
    let mut rng = rand::rng();
    let mut kills = 0;
    for round in 0..400 {
        let mut kid = child("committer", &db).spawn().map_err(|e| e.to_string())?;
        let stdout = kid.stdout.take().ok_or("no stdout")?;
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("committed ").map(str::to_owned))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(3..60)));
        let finished = kid.try_wait().map_err(|e| e.to_string())?.is_some();
        if !finished {
            kid.kill().map_err(|e| e.to_string())?; // SIGKILL on Unix
            kills += 1;
        }
        let _ = kid.wait();
        reported.extend(reader.join().map_err(|_| "reader thread panicked")?);
        let mut s = Store::open(&db).map_err(|e| format!("round {round}: reopen: {e}"))?;
        if !s.integrity_check().map_err(|e| e.to_string())? {
            return Err(format!("round {round}: integrity_check failed"));
        }
        for id in &reported {
            let uuid = id.parse().map_err(|e: uuid::Error| e.to_string())?;
            s.read(|tx| appeals::get(tx, uuid))
                .map_err(|e| format!("round {round}: reported commit {id} is missing: {e}"))?;
        }
        let count = s.read(|tx| appeals::count(tx)).map_err(|e| e.to_string())?;
        if count >= TARGET {
            println!(
                "  {count} commits, {} reported, {kills} SIGKILLs, integrity ok after each",
                reported.len()
            );
            if kills < 5 {
                return Err(format!(
                    "only {kills} kills happened: the test did not exercise crashes"
                ));
            }
            return Ok(());
        }
    }
    Err("did not reach 200 commits in 400 rounds".into())
}
