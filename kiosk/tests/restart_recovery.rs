//! The kiosk binary restarted after a crash (as systemd restarts it) finishes the story of every
//! appeal (issue 15, seed 003 p.24 and p.27, seed 000 on documented destruction):
//! - a sealed file whose commit never happened is destroyed and logged;
//! - a committed appeal whose receipt never printed and that is a minute old is shown and
//!   printed again, with a replacement code that finds it;
//! - an older one is listed as "receipt not printed" for staff.

use std::path::Path;
use std::process::Command;

use booth_core::code::SecretCode;
use booth_core::store::{Store, StoreError, appeals, outbox, receipts};
use booth_core::testing::sample_new_appeal;
use chrono::{DateTime, Utc};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

#[test]
fn a_restart_destroys_orphan_seals_reprints_a_young_receipt_and_lists_an_old_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let cfg = kiosk::headless::headless_config(dir.path());
    let cfg_path = dir.path().join("booth.toml");
    std::fs::write(&cfg_path, cfg.to_toml()).expect("config");
    std::fs::create_dir_all(&cfg.paths.outbox_dir).expect("outbox");

    // What a crash left: two committed appeals whose receipts never printed (the scripted
    // clock reads 2026-03-20 09:30 UTC) and a sealed file that never got its row.
    let mut store = Store::open(&cfg.paths.database()).expect("store");
    let (young, _) = sample_new_appeal(&cfg.booth.id, at("2026-03-20T09:29:00Z"), None);
    let (old, _) = sample_new_appeal(&cfg.booth.id, at("2026-03-20T09:00:00Z"), None);
    let (young_a, old_a) = store
        .write(|tx| {
            Ok::<_, StoreError>((
                booth_core::intake::commit(tx, &young, &cfg.booth.branch, cfg.booth.number)?,
                booth_core::intake::commit(tx, &old, &cfg.booth.branch, cfg.booth.number)?,
            ))
        })
        .expect("committed before the crash");
    for a in [&young_a, &old_a] {
        std::fs::write(cfg.paths.outbox_dir.join(&a.media.file_name), b"sealed").expect("file");
    }
    let orphan = booth_core::new_id();
    let orphan_file = cfg.paths.outbox_dir.join(format!("{orphan}.age"));
    std::fs::write(&orphan_file, b"sealed, never committed").expect("orphan");
    drop(store);

    let script = dir.path().join("restart.script");
    std::fs::write(&script, "wait 1\nexpect receipt\nshot recovered\n").expect("script");
    let o = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .arg("--config")
        .arg(&cfg_path)
        .args(["--headless", "--script"])
        .arg(&script)
        .arg("--out")
        .arg(&out)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run kiosk");
    assert!(
        o.status.success(),
        "the restarted kiosk did not show the recovered receipt: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The young receipt printed, with a code that finds its appeal.
    let printed = std::fs::read_to_string(out.join("receipt-001.txt")).expect("a receipt printed");
    let number = young_a.registration_number.to_string();
    assert!(printed.contains(&number), "{printed}");
    assert!(
        !Path::new(&out.join("receipt-002.txt")).exists(),
        "only the young one"
    );
    let label = kiosk::i18n::t(young_a.language, "receipt-code");
    let code: SecretCode = printed
        .lines()
        .find_map(|l| l.strip_prefix(label.as_str())?.strip_prefix(": "))
        .and_then(|d| d.parse().ok())
        .expect("a secret code on the receipt");
    let lookup_id = code.lookup_id(&cfg.lookup.argon2).expect("lookup id");
    let mut store = Store::open(&cfg.paths.database()).expect("store");
    let found = store
        .read(|tx| appeals::find_by_lookup_id(tx, &lookup_id))
        .expect("lookup");
    assert_eq!(
        found.map(|a| a.id),
        Some(young_a.id),
        "the replacement code opens the appeal"
    );

    // The old one is listed for staff; nothing is left pending.
    let (pending, unprinted) = store
        .read(|tx| Ok::<_, StoreError>((receipts::pending(tx)?, receipts::unprinted(tx, 10)?)))
        .expect("jobs");
    assert!(pending.is_empty(), "{pending:?}");
    assert_eq!(
        unprinted.iter().map(|r| r.appeal_id).collect::<Vec<_>>(),
        vec![old_a.id]
    );

    // The orphan is gone, with its destruction logged (no personal data: id and rule).
    assert!(!orphan_file.exists());
    let log = store.read(outbox::destruction_log).expect("log");
    assert!(
        log.iter()
            .any(|e| e.recording_id == orphan && e.rule == booth_core::intake::RULE_ORPHAN_SEAL),
        "{log:?}"
    );
    assert!(cfg.paths.outbox_dir.join(&young_a.media.file_name).exists());
}
