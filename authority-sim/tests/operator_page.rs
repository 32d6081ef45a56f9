//! The operator page in real headless Chromium (chromedriver + fantoccini): log in, open an
//! appeal whose recording is a real WebM (VP8/Opus from GStreamer test sources) sealed with
//! age to the authority's recipient and uploaded over tus, play it (the video element reaches
//! readyState ≥ 2), answer it, and check the booth sees the answer. Screenshots go to
//! `docs/operator-*.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

use booth_core::wire::{AnswersPage, CompleteRequest};
use common::*;
use fantoccini::Locator;

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn make_webm(dir: &std::path::Path) -> Vec<u8> {
    let out = dir.join("rec.webm");
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=60",
            "!",
            "video/x-raw,width=320,height=240,framerate=30/1",
            "!",
            "vp8enc",
            "deadline=1",
            "!",
            "queue",
            "!",
            "webmmux",
            "name=m",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", out.display()))
        .args([
            "audiotestsrc",
            "num-buffers=100",
            "!",
            "audioconvert",
            "!",
            "opusenc",
            "!",
            "queue",
            "!",
            "m.",
        ])
        .status()
        .expect("gst-launch-1.0 (gstreamer1.0-tools) must be installed");
    assert!(
        status.success(),
        "gst-launch failed to make the test recording"
    );
    std::fs::read(out).unwrap()
}

fn seal(plain: &[u8], recipient: &str) -> Vec<u8> {
    let r = age::x25519::Recipient::from_str(recipient).unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    out
}

/// `OPERATOR_SCREENSHOTS=docs` refreshes the committed screenshots; otherwise they go to
/// `target/` so a test run leaves the work tree clean.
fn docs_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if std::env::var("OPERATOR_SCREENSHOTS").is_ok_and(|v| v == "docs") {
        return root.join("docs");
    }
    let dir = root.join("target/screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_logs_in_plays_the_recording_and_answers() {
    // fantoccini's rustls client needs a process-wide provider; ours is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let s = start(&dir.path().join("data")).await;
    let (booth, _) = enroll(&s, "ALM01-03").await;

    // A real recording, sealed and uploaded the way the booth does it.
    let webm = make_webm(dir.path());
    let sealed = seal(&webm, &s.age_recipient);
    let mut body = appeal(&sealed, 0x5a);
    body.media.content_type = "video/webm; codecs=\"vp8, opus\"".into();
    assert_eq!(
        booth
            .put(format!("{}/v1/appeals/{}", s.url, body.id))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let up = tus_create(&booth, &s.url, body.id, sealed.len()).await;
    assert_eq!(tus_patch(&booth, &up, 0, &sealed, None).await.status(), 204);
    let r = booth
        .post(format!("{}/v1/appeals/{}/complete", s.url, body.id))
        .json(&CompleteRequest {
            sha256: body.media.sha256.clone(),
            size: sealed.len() as u64,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A second appeal, recorded 60 days ago and never answered: overdue, shown in red.
    let mut old = appeal(b"never uploaded", 0x5b);
    old.registration_number = "ALM01-03-2026-000042".parse().unwrap();
    old.recorded_at = chrono::Utc::now() - chrono::Duration::days(60);
    assert_eq!(
        booth
            .put(format!("{}/v1/appeals/{}", s.url, old.id))
            .json(&old)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

    let port = free_port();
    let _driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian chromium-driver) must be installed"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--ignore-certificate-errors",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let mut client = None;
    for _ in 0..50 {
        match fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps.clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("chromedriver did not start");

    // Wrong password first: the page says so in the chosen language.
    c.goto(&format!("{}/operator/login?lang=en", s.url))
        .await
        .unwrap();
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .send_keys("operator")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("wrong")
        .await
        .unwrap();
    c.find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let err = c
        .wait()
        .for_element(Locator::Id("login-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(err, "Wrong login or password");

    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .send_keys("operator")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(OPERATOR_PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let table = c.wait().for_element(Locator::Id("appeals")).await.unwrap();
    assert!(table.text().await.unwrap().contains("ALM01-03-2026-000127"));
    let overdue = c
        .find(Locator::Css("tr.overdue td.deadline"))
        .await
        .unwrap();
    let color = overdue.css_value("color").await.unwrap();
    assert_eq!(
        color, "rgba(204, 0, 0, 1)",
        "an overdue deadline must be red"
    );
    std::fs::write(
        docs_dir().join("operator-list.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();

    c.find(Locator::LinkText("ALM01-03-2026-000127"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("recording"))
        .await
        .unwrap();
    let mut ready = 0;
    for _ in 0..100 {
        let v = c
            .execute("const v=document.getElementById('recording'); v.muted=true; v.play().catch(()=>{}); return v.readyState;", vec![])
            .await
            .unwrap();
        ready = v.as_u64().unwrap_or(0);
        if ready >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready >= 2,
        "the recording did not load in the browser (readyState {ready})"
    );
    let err = c
        .execute("return document.getElementById('recording').error", vec![])
        .await
        .unwrap();
    assert!(err.is_null(), "video element error: {err}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::write(
        docs_dir().join("operator-appeal.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();

    // Answer: decision "explained", text, signer.
    c.find(Locator::Css("#decision option[value=explained]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("text"))
        .await
        .unwrap()
        .send_keys("The road will be repaired in spring; see the attached plan.")
        .await
        .unwrap();
    c.find(Locator::Id("signed_by"))
        .await
        .unwrap()
        .send_keys("Deputy akim A. Seitkali")
        .await
        .unwrap();
    c.find(Locator::Id("send-answer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = c
        .wait()
        .for_element(Locator::Id("answer-done"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("Explained"), "{done}");
    std::fs::write(
        docs_dir().join("operator-answered.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();

    // Kazakh page renders too.
    c.goto(&format!("{}/operator/?lang=kk", s.url))
        .await
        .unwrap();
    let kk = c
        .wait()
        .for_element(Locator::Css("h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(kk, "Өтініштер");
    c.close().await.unwrap();

    // The booth learns the answer through its cursor.
    let page: AnswersPage = booth
        .get(format!("{}/v1/answers?since=0", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let u = page
        .updates
        .iter()
        .find(|u| u.appeal_id == body.id)
        .expect("update for the answered appeal");
    let a = u.answer.as_ref().expect("answer reached the booth");
    assert_eq!(a.decision, booth_core::DecisionKind::Explained);
    assert_eq!(
        a.signed_on,
        authority_sim::operator::today_kz(),
        "attached the day it is signed"
    );
    s.shutdown().await;
}
