//! The recorder seen from outside: `booth-diag` (report, exit status, test recording) run as
//! a real process, and takes played by real headless Chromium, as the central operator's
//! page will play them.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use booth_core::config::Config;
use booth_hardware::recorder::{EncoderPreference, Recorder, RecorderSettings, VideoEncoder};

fn diag_config(dir: &Path, enrolled: bool) -> std::path::PathBuf {
    let mut cfg = Config::default();
    cfg.paths.state_dir = dir.join("state");
    cfg.paths.outbox_dir = dir.join("outbox");
    cfg.paths.ram_dir = dir.join("ram");
    std::fs::create_dir_all(&cfg.paths.outbox_dir).expect("outbox");
    std::fs::create_dir_all(&cfg.paths.ram_dir).expect("ram");
    cfg.recorder.width = 320;
    cfg.recorder.height = 240;
    cfg.printer.transport = "file".into();
    cfg.printer.address = dir.join("printer.bin").to_string_lossy().into_owned();
    if enrolled {
        cfg.recorder.recipients = vec![age::x25519::Identity::generate().to_public().to_string()];
    }
    let path = dir.join(if enrolled {
        "enrolled.toml"
    } else {
        "new.toml"
    });
    std::fs::write(&path, cfg.to_toml()).expect("config");
    path
}

fn diag(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_booth-diag"))
        .args(args)
        .output()
        .expect("booth-diag runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn booth_diag_reports_encoders_disks_and_verdicts_with_the_right_exit_status() {
    let dir = tempfile::tempdir().expect("tmp");
    let enrolled = diag_config(dir.path(), true);
    let (code, out, err) = diag(&["--config", enrolled.to_str().unwrap(), "--json"]);
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    // Simulated camera and microphone: the booth works but a technician must look.
    assert_eq!(code, 1, "{out}");
    assert_eq!(report["health"], "degraded");
    assert_eq!(
        report["encoder_chosen"]["encoder"], "x264",
        "CI has x264 but no VA-API: {out}"
    );
    let encoders = report["encoders"].as_array().expect("encoders");
    assert_eq!(encoders.len(), 4);
    assert!(
        encoders
            .iter()
            .any(|e| e["element"] == "vp8enc" && e["available"] == true)
    );
    assert_eq!(report["outbox"]["writable"], true);
    assert!(report["outbox"]["free_bytes"].as_u64().expect("free bytes") > 0);
    let verdict = |area: &str| {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["area"] == area)
            .map(|f| f["health"].clone())
    };
    assert_eq!(verdict("recipients"), Some("ok".into()));
    assert_eq!(
        verdict("printer"),
        Some("degraded".into()),
        "a file printer spools and can never confirm a receipt (development only): {out}"
    );
    assert_eq!(verdict("camera"), Some("degraded".into()));

    // Not enrolled: nothing can be sealed, so the booth cannot take appeals.
    let fresh = diag_config(dir.path(), false);
    let (code, table, _) = diag(&["--config", fresh.to_str().unwrap()]);
    assert_eq!(code, 2, "{table}");
    assert!(table.contains("recipients  UNUSABLE"), "{table}");
    assert!(table.contains("x264enc"), "{table}");
}

#[test]
fn booth_diag_record_makes_a_short_test_recording() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = diag_config(dir.path(), true);
    let out = dir.path().join("test-recording");
    let (code, stdout, stderr) = diag(&[
        "--config",
        cfg.to_str().unwrap(),
        "record",
        "--seconds",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let file = out.with_extension("mp4");
    assert!(
        std::fs::metadata(&file).expect("recording written").len() > 10_000,
        "{stdout}"
    );
    assert!(stdout.contains("x264enc"), "{stdout}");
    assert!(
        std::fs::read_dir(dir.path().join("ram"))
            .expect("ram")
            .next()
            .is_none(),
        "diag touched the kiosk's RAM dir"
    );
}

#[test]
fn takes_of_both_containers_play_in_headless_chromium() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = Config::default();
    cfg.kiosk.max_recording_s = 2;
    cfg.kiosk.warn_before_end_s = 1;
    cfg.recorder.width = 320;
    cfg.recorder.height = 240;
    cfg.paths.ram_dir = dir.path().to_owned();
    let mut names = Vec::new();
    for enc in [VideoEncoder::X264, VideoEncoder::Vp8] {
        let mut s = RecorderSettings::from_config(&cfg).expect("settings");
        s.encoder = EncoderPreference::Only(enc);
        let take = Recorder::start(&s, std::sync::mpsc::channel().0)
            .expect("starts")
            .wait(Duration::from_secs(20))
            .expect("take");
        names.push(
            take.path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    let page = dir.path().join("play.html");
    std::fs::write(
        &page,
        format!(
            r#"<html><body><div id="out"></div><script>
const out = document.getElementById('out');
for (const name of ["{}", "{}"]) {{
  const v = document.createElement('video');
  v.muted = true;
  v.addEventListener('loadeddata', () => {{ out.textContent += `[${{name}} ok ${{v.videoWidth}}x${{v.videoHeight}} ${{v.duration.toFixed(2)}}]`; }});
  v.addEventListener('error', () => {{ out.textContent += `[${{name}} error ${{v.error && v.error.code}}]`; }});
  v.src = name;
  document.body.appendChild(v);
}}
</script></body></html>"#,
            names[0], names[1]
        ),
    )
    .expect("page");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=8000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is installed (xtask installs it)");
    let dom = String::from_utf8_lossy(&out.stdout);
    for name in &names {
        let ok = format!("[{name} ok 320x240 ");
        assert!(
            dom.contains(&ok),
            "the operator's browser cannot play {name}: {dom}"
        );
    }
}
