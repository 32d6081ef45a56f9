//! Runs every journey script of `kiosk/scripts/` through the real binary in headless mode
//! (real flow, real Slint software rendering, simulated devices) and checks what a citizen
//! would have been left with: every step rendered, a receipt printed with a registration number.

use std::path::Path;
use std::process::Command;

fn run(script: &str, portrait: bool) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(format!("{script}.script"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiosk"));
    cmd.args(["--headless", "--script"])
        .arg(&path)
        .arg("--out")
        .arg(out.path())
        .env("RUST_LOG", "warn");
    if portrait {
        cmd.arg("--portrait");
    }
    let o = cmd.output().expect("run kiosk");
    assert!(
        o.status.success(),
        "{script}: the journey broke: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let pngs: Vec<_> = std::fs::read_dir(out.path())
        .expect("out")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .collect();
    assert!(
        pngs.len() > 20,
        "{script}: only {} screens rendered",
        pngs.len()
    );
    let first = image::open(out.path().join("001-attract.png"))
        .expect("png")
        .to_rgb8();
    assert_eq!(
        first.dimensions(),
        if portrait { (1080, 1920) } else { (1920, 1080) }
    );
    let distinct: std::collections::BTreeSet<[u8; 3]> =
        first.pixels().step_by(97).map(|p| p.0).collect();
    assert!(
        distinct.len() > 10,
        "{script}: the attract screen rendered blank"
    );
    if script != "record-ru" {
        let receipt = std::fs::read_to_string(out.path().join("receipt-001.txt"))
            .expect("a receipt was printed");
        assert!(
            receipt.contains("DEV01-01-2026-000001"),
            "{script}: receipt without registration number: {receipt}"
        );
    }
    out
}

#[test]
fn record_journey_kazakh() {
    run("record-kk", false);
}

#[test]
fn record_journey_russian_portrait() {
    let out = run("record-ru", true);
    // The printer ran out of paper before recording: nothing printed, both appeals committed
    // (their receipt screens are rendered, the code is on screen).
    assert!(!out.path().join("receipt-001.txt").exists());
    let receipts = std::fs::read_dir(out.path())
        .expect("out")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("-receipt.png"))
        .count();
    assert!(receipts >= 2, "{receipts} receipt screens");
}

#[test]
fn record_journey_english() {
    run("record-en", false);
}

#[test]
fn lookup_journey_kazakh() {
    let out = run("lookup-kk", false);
    assert!(
        std::fs::read_dir(out.path())
            .expect("out")
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with("-rating.png"))
    );
}

#[test]
fn lookup_journey_russian_qr() {
    run("lookup-ru", false);
}

#[test]
fn lookup_journey_english_scanner_and_service_mode() {
    run("lookup-en", true);
}

/// A code whose digits repeat is typed key by key, and each press counts: after a first "5"
/// the code display is also labelled "5", and the press must still go to the key. A valid but
/// unknown code reaches the lookup and gets "no appeal with this code".
#[test]
fn repeated_digits_on_the_keypad_all_count() {
    let code = (0..10u8)
        .map(|d| format!("55566677700{d}"))
        .find(|c| matches!(booth_core::SecretCode::check_partial(c), Ok(Some(_))))
        .expect("one check digit fits");
    let out = tempfile::tempdir().expect("tempdir");
    let script = out.path().join("repeat.script");
    let taps: String = code.chars().map(|c| format!("tap {c}\n")).collect();
    std::fs::write(
        &script,
        format!(
            "tap Touch the screen to start\ntap English\ntap View an answer\nexpect lookup\n{taps}\
             expect lookup\nexpect-message lookup-not-found\n"
        ),
    )
    .expect("script");
    let o = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["--headless", "--script"])
        .arg(&script)
        .arg("--out")
        .arg(out.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run kiosk");
    assert!(
        o.status.success(),
        "repeated digits were lost: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
