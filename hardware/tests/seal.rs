//! Sealing tests: real age encryption, real SQLite store in a temp dir, a real recording from
//! the simulated devices, and a child process killed with SIGKILL while sealing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use booth_core::config::Config;
use booth_core::domain::{AppealKind, Applicant, Language, MediaRef};
use booth_core::store::{NewAppeal, Store, outbox};
use booth_core::{LookupId, PostalAddress};
use booth_hardware::recorder::{Recorder, RecorderSettings, cleanup_ram_dir};
use booth_hardware::seal::{SealError, cleanup_outbox_temps, parse_recipients, seal, sha256_file};
use chrono::Utc;
use uuid::Uuid;

/// The kiosk's order (kiosk `AgeSealer` + `booth_core::intake::commit`): sealed file durable
/// first, then the row with `synchronous=FULL`, then the plaintext deleted.
fn seal_then_commit(
    store: &mut Store,
    plaintext: &Path,
    recipients: &[age::x25519::Recipient],
    outbox_dir: &Path,
    mut new: booth_core::store::NewAppeal,
    branch: &str,
    booth_number: u16,
) -> booth_core::Appeal {
    new.media = seal(plaintext, recipients, outbox_dir, new.id).expect("sealed");
    let appeal = store
        .write(|tx| booth_core::intake::commit(tx, &new, branch, booth_number))
        .expect("committed");
    std::fs::remove_file(plaintext).expect("plaintext removed");
    appeal
}

fn identity() -> (age::x25519::Identity, Vec<age::x25519::Recipient>) {
    let id = age::x25519::Identity::generate();
    let r = id.to_public();
    (id, vec![r])
}

fn decrypt(path: &Path, id: &age::x25519::Identity) -> Vec<u8> {
    let f = std::fs::File::open(path).expect("sealed file");
    let d = age::Decryptor::new(f).expect("age header");
    let mut r = d
        .decrypt(std::iter::once(id as &dyn age::Identity))
        .expect("decrypts with the central identity");
    let mut out = Vec::new();
    r.read_to_end(&mut out).expect("read plaintext");
    out
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Deterministic pseudo-random bytes (xorshift), so a file's content is not compressible.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn new_appeal(id: Uuid) -> NewAppeal {
    let lookup: LookupId = sha256(id.as_bytes()).parse().expect("64 hex digits");
    NewAppeal {
        id,
        booth_id: "TEST-BOOTH".into(),
        applicant: Applicant::LegalEntity {
            name: "ТОО Тест".parse().expect("entity name"),
            bin: None,
            address: PostalAddress::from_str("Алматы, Абая 1").expect("address"),
            email: None,
        },
        addressee_id: "akimat".into(),
        kind: AppealKind::Statement,
        complaint: None,
        language: Language::Ru,
        recorded_at: Utc::now(),
        duration_ms: 2_000,
        media: MediaRef {
            file_name: String::new(),
            sealed_sha256: String::new(),
            sealed_size: 0,
            content_type: String::new(),
        },
        lookup_id: lookup,
        expected_answer_date: Some(Utc::now().date_naive()),
        continuation_of: None,
        ticket: None,
        visit_id: None,
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_sealed_file_decrypts_with_the_matching_identity_to_the_original_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let ram = dir.path().join("ram");
    let outbox_dir = dir.path().join("outbox");
    std::fs::create_dir_all(&ram).expect("ram");
    let plain = ram.join("take-x.webm");
    let bytes = noise(3 * 1024 * 1024 + 17, 7);
    std::fs::write(&plain, &bytes).expect("plaintext");
    let (id, recipients) = identity();
    let appeal = Uuid::now_v7();
    let media = seal(&plain, &recipients, &outbox_dir, appeal).expect("sealed");
    assert_eq!(media.file_name, format!("{appeal}.age"));
    assert_eq!(media.content_type, "video/webm; codecs=\"vp8, opus\"");
    let sealed = outbox_dir.join(&media.file_name);
    assert_eq!(
        std::fs::metadata(&sealed).expect("sealed file").len(),
        media.sealed_size
    );
    assert_eq!(
        sha256_file(&sealed).expect("hash"),
        media.sealed_sha256,
        "recorded SHA-256 is the sealed file's"
    );
    assert_eq!(
        sha256(&decrypt(&sealed, &id)),
        sha256(&bytes),
        "decrypted bytes differ from the take"
    );
    assert_eq!(
        names(&outbox_dir),
        vec![media.file_name.clone()],
        "no temporary file remains"
    );
    // Another identity cannot read it.
    let (other, _) = identity();
    let f = std::fs::File::open(&sealed).expect("open");
    assert!(
        age::Decryptor::new(f)
            .expect("header")
            .decrypt(std::iter::once(&other as &dyn age::Identity))
            .is_err()
    );
    assert!(
        plain.exists(),
        "seal alone leaves the plaintext to the caller"
    );
}

#[test]
fn recipients_are_checked() {
    assert!(matches!(
        parse_recipients(&[]),
        Err(SealError::NoRecipients)
    ));
    let (_, r) = identity();
    let good = r[0].to_string();
    let err = parse_recipients(&[good.clone(), "age1notakey".into()]).expect_err("bad recipient");
    assert!(
        matches!(err, SealError::BadRecipient { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(parse_recipients(&[good]).expect("good").len(), 1);
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("x.mp4");
    std::fs::write(&p, b"x").expect("write");
    assert!(matches!(
        seal(&p, &[], dir.path(), Uuid::now_v7()),
        Err(SealError::NoRecipients)
    ));
}

#[test]
fn a_full_outbox_is_disk_full_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("take.mp4");
    std::fs::write(&plain, noise(256 * 1024, 3)).expect("plaintext");
    let outbox_dir = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox_dir).expect("outbox");
    let appeal = Uuid::now_v7();
    // The temporary name is where the bytes go first; /dev/full fails writes with ENOSPC.
    std::os::unix::fs::symlink("/dev/full", outbox_dir.join(format!(".{appeal}.age.tmp")))
        .expect("symlink");
    let (_, recipients) = identity();
    let err = seal(&plain, &recipients, &outbox_dir, appeal).expect_err("disk full");
    assert!(matches!(err, SealError::DiskFull { .. }), "{err:?}");
    assert!(
        names(&outbox_dir).is_empty(),
        "left behind: {:?}",
        names(&outbox_dir)
    );
    assert!(plain.exists(), "the take stays in RAM for a retry");
}

#[test]
fn a_recorded_take_is_sealed_committed_and_no_plaintext_remains_outside_ram() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = Config::default();
    cfg.kiosk.max_recording_s = 2;
    cfg.kiosk.warn_before_end_s = 1;
    cfg.recorder.width = 320;
    cfg.recorder.height = 240;
    cfg.paths.ram_dir = dir.path().join("ram");
    cfg.paths.outbox_dir = dir.path().join("outbox");
    cfg.paths.state_dir = dir.path().join("state");
    let (id, recipients) = identity();
    cfg.recorder.recipients = vec![recipients[0].to_string()];
    let settings = RecorderSettings::from_config(&cfg).expect("settings");
    let take = Recorder::start(&settings, std::sync::mpsc::channel().0)
        .expect("recording starts")
        .wait(Duration::from_secs(20))
        .expect("take");
    let plain_sha = sha256_file(&take.path).expect("hash");
    let mut store = Store::open(&cfg.paths.database()).expect("store");
    let recipients = parse_recipients(&cfg.recorder.recipients).expect("recipients");
    let mut new = new_appeal(Uuid::now_v7());
    new.duration_ms = take.duration.as_millis() as u32;
    let appeal = seal_then_commit(
        &mut store,
        &take.path,
        &recipients,
        &cfg.paths.outbox_dir,
        new,
        "DEV01",
        1,
    );
    assert_eq!(appeal.media.content_type, take.content_type());
    assert!(
        names(&cfg.paths.ram_dir).is_empty(),
        "plaintext left in RAM after commit: {:?}",
        names(&cfg.paths.ram_dir)
    );
    assert_eq!(
        names(&cfg.paths.outbox_dir),
        vec![format!("{}.age", appeal.id)]
    );
    let sealed = cfg.paths.outbox_dir.join(&appeal.media.file_name);
    let raw = std::fs::read(&sealed).expect("sealed");
    assert!(
        raw.starts_with(b"age-encryption.org/v1"),
        "outbox holds something other than an age file"
    );
    assert!(
        !raw.windows(4).any(|w| w == b"ftyp" || w == b"moof"),
        "MP4 structure visible in the sealed file"
    );
    assert_eq!(
        sha256(&decrypt(&sealed, &id)),
        plain_sha,
        "the central service would get different bytes"
    );
    let row = store
        .read(|tx| outbox::get(tx, appeal.id))
        .expect("outbox row");
    assert_eq!(row.media, appeal.media);
    assert_eq!(row.state, outbox::OutboxState::Sealed);
    assert_eq!(sha256_file(&sealed).expect("hash"), row.media.sealed_sha256);
}

#[test]
fn start_up_cleanup_removes_left_over_plaintext_and_interrupted_seals_but_not_sealed_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let ram = dir.path().join("ram");
    let outbox_dir = dir.path().join("outbox");
    std::fs::create_dir_all(&ram).expect("ram");
    std::fs::create_dir_all(&outbox_dir).expect("outbox");
    std::fs::write(ram.join("take-1.mp4"), b"plain").expect("w");
    std::fs::write(ram.join("take-2.webm"), b"plain").expect("w");
    let id = Uuid::now_v7();
    std::fs::write(outbox_dir.join(format!(".{id}.age.tmp")), b"half").expect("w");
    std::fs::write(outbox_dir.join(format!("{id}.age")), b"sealed").expect("w");
    assert_eq!(cleanup_ram_dir(&ram).expect("cleanup"), 2);
    assert!(names(&ram).is_empty());
    assert_eq!(cleanup_outbox_temps(&outbox_dir).expect("cleanup"), 1);
    assert_eq!(
        names(&outbox_dir),
        vec![format!("{id}.age")],
        "a sealed file is never deleted by cleanup"
    );
    assert_eq!(
        cleanup_ram_dir(&dir.path().join("missing")).expect("missing dir is fine"),
        0
    );
}

const CHILD_ENV: &str = "BOOTH_SEAL_CRASH_CHILD";

/// Child mode: seal and commit appeals in a loop until killed.
fn crash_child(base: &Path) {
    let ram = base.join("ram");
    let outbox_dir = base.join("outbox");
    std::fs::create_dir_all(&ram).expect("ram");
    let recipients =
        parse_recipients(&[std::fs::read_to_string(base.join("recipient")).expect("recipient")])
            .expect("parse");
    let mut store = Store::open(&base.join("booth.sqlite3")).expect("store");
    let mut n: u64 = std::process::id().into();
    loop {
        n += 1;
        let plain = ram.join(format!("take-{n}.mp4"));
        std::fs::write(&plain, noise(64 * 1024 + (n as usize % 16) * 64 * 1024, n))
            .expect("plaintext");
        seal_then_commit(
            &mut store,
            &plain,
            &recipients,
            &outbox_dir,
            new_appeal(Uuid::now_v7()),
            "DEV01",
            1,
        );
    }
}

#[test]
fn a_child_killed_while_sealing_never_leaves_a_committed_appeal_without_its_complete_file() {
    if let Ok(base) = std::env::var(CHILD_ENV) {
        crash_child(&PathBuf::from(base));
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path();
    let (_, recipients) = identity();
    std::fs::write(base.join("recipient"), recipients[0].to_string()).expect("recipient");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng_state = 0x9e37_79b9_7f4a_7c15u64;
    let t0 = Instant::now();
    let mut kills = 0;
    while kills < 12 && t0.elapsed() < Duration::from_secs(40) {
        let mut child = Command::new(&exe)
            .args(["--exact", "a_child_killed_while_sealing_never_leaves_a_committed_appeal_without_its_complete_file", "--nocapture"])
            .env(CHILD_ENV, base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        std::thread::sleep(Duration::from_millis(150 + rng_state % 600));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(!status.success(), "child exited by itself: {status:?}");
        kills += 1;
    }
    let outbox_dir = base.join("outbox");
    let mut store = Store::open(&base.join("booth.sqlite3")).expect("store reopens after kills");
    assert!(
        store.integrity_check().expect("integrity check"),
        "PRAGMA integrity_check is not ok"
    );
    let rows = store
        .read(|tx| outbox::in_state(tx, "sealed"))
        .expect("rows");
    assert!(
        rows.len() >= 3,
        "only {} appeals committed in {kills} runs",
        rows.len()
    );
    for row in &rows {
        let path = outbox_dir.join(&row.media.file_name);
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| {
            panic!("committed appeal {} has no sealed file: {e}", row.appeal_id)
        });
        assert_eq!(
            meta.len(),
            row.media.sealed_size,
            "appeal {}: sealed file truncated",
            row.appeal_id
        );
        assert_eq!(
            sha256_file(&path).expect("hash"),
            row.media.sealed_sha256,
            "appeal {}: sealed file differs",
            row.appeal_id
        );
    }
    // Start-up recovery: temporaries go, orphans (sealed but not committed) are reported, not deleted.
    let temps = names(&outbox_dir)
        .iter()
        .filter(|n| n.ends_with(".tmp"))
        .count();
    cleanup_outbox_temps(&outbox_dir).expect("cleanup temps");
    cleanup_ram_dir(&base.join("ram")).expect("cleanup ram");
    let orphans = store
        .read(|tx| outbox::reindex_orphans(tx, &outbox_dir))
        .expect("reindex");
    assert!(
        orphans.len() <= kills,
        "more orphans ({}) than kills ({kills})",
        orphans.len()
    );
    eprintln!(
        "{kills} kills: {} committed, {} orphans, {temps} interrupted temporaries",
        rows.len(),
        orphans.len()
    );
    let left: Vec<String> = names(&outbox_dir)
        .into_iter()
        .filter(|n| !n.ends_with(".age"))
        .collect();
    assert!(
        left.is_empty(),
        "temporary files survive start-up cleanup: {left:?}"
    );
    assert!(names(&base.join("ram")).is_empty());
}
