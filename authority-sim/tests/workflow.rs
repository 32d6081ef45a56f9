//! The central workflow of 003 p.30–33 through the operator JSON API, seen from booths over
//! mutual TLS: forward (the citizen's status names the new agency), merge of a repeated appeal
//! (it gets the main appeal's answer), the four decisions, answers by cursor, lookup from
//! another branch, ratings, visits, heartbeat, slow-drip and latency faults via the admin API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use booth_core::wire::{
    Accepted, AnswersPage, Heartbeat, HeartbeatAck, LookupResponse, PrinterHealth,
    RatingSubmission, VisitSubmission,
};
use booth_core::{DecisionKind, Status};
use common::*;

fn op(
    c: &reqwest::Client,
    s: &authority_sim::RunningServer,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    c.request(method, format!("{}{path}", s.url))
        .basic_auth("operator", Some(OPERATOR_PASSWORD))
}

#[tokio::test]
async fn forward_merge_decide_and_the_booths_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (a, _) = enroll(&s, "ALM01-03").await;
    let (b, _) = enroll(&s, "AST02-01").await;
    let oc = anonymous(&s);

    let mut ids = Vec::new();
    for seed in 1..=5u8 {
        let body = appeal(&[seed; 10], seed);
        assert_eq!(
            a.put(format!("{}/v1/appeals/{}", s.url, body.id))
                .json(&body)
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
        ids.push(body);
    }
    // The operator API needs its own login.
    assert_eq!(
        oc.get(format!("{}/operator/api/appeals", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let bad = oc
        .get(format!("{}/operator/api/appeals", s.url))
        .basic_auth("operator", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let list: Vec<authority_sim::operator::OperatorAppeal> =
        op(&oc, &s, reqwest::Method::GET, "/operator/api/appeals")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(list.len(), 5);

    // Forward the first appeal to the prosecutor's office.
    let r = op(
        &oc,
        &s,
        reqwest::Method::POST,
        &format!("/operator/api/appeals/{}/forward", ids[0].id),
    )
    .json(&serde_json::json!({"to_agency_id": "gpo"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    // Merge the second into the third, then answer the third: both get the answer.
    let r = op(
        &oc,
        &s,
        reqwest::Method::POST,
        &format!("/operator/api/appeals/{}/merge", ids[1].id),
    )
    .json(&serde_json::json!({"into": ids[2].id}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let r = op(
        &oc,
        &s,
        reqwest::Method::POST,
        &format!("/operator/api/appeals/{}/answer", ids[1].id),
    )
    .json(&serde_json::json!({"decision": "satisfied", "text": "x", "signed_by": "y"}))
    .send()
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        409,
        "a merged appeal is answered through its main appeal"
    );
    // The four decisions on appeals 0, 2, 3, 4.
    let decisions = [
        (0, DecisionKind::Refused),
        (2, DecisionKind::Satisfied),
        (3, DecisionKind::Explained),
        (4, DecisionKind::Terminated),
    ];
    for (i, d) in decisions {
        let r = op(&oc, &s, reqwest::Method::POST, &format!("/operator/api/appeals/{}/answer", ids[i].id))
            .json(&serde_json::json!({"decision": d, "text": format!("Answer {i}"), "signed_by": "Head of office", "documents": ["letter.pdf"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
    // A second answer is refused.
    let r = op(
        &oc,
        &s,
        reqwest::Method::POST,
        &format!("/operator/api/appeals/{}/answer", ids[3].id),
    )
    .json(&serde_json::json!({"decision": "refused", "text": "again", "signed_by": "y"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 409);

    // Booth A pulls everything by cursor, in pages of 2.
    let mut since = 0;
    let mut seen = std::collections::HashMap::new();
    loop {
        let page: AnswersPage = a
            .get(format!("{}/v1/answers?since={since}&limit=2", s.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for u in &page.updates {
            seen.insert(u.appeal_id, u.clone());
        }
        since = page.next_cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let u0 = &seen[&ids[0].id];
    assert!(
        u0.timeline.iter().any(
            |e| matches!(&e.status, Status::Forwarded { to_agency_id, .. } if to_agency_id == "gpo")
        ),
        "the citizen must see the forward"
    );
    assert_eq!(u0.answer.as_ref().unwrap().decision, DecisionKind::Refused);
    let u1 = &seen[&ids[1].id];
    assert!(u1.timeline.iter().any(|e| matches!(&e.status, Status::Merged { into_registration_number } if into_registration_number == "ALM01-03-2026-000127")));
    assert_eq!(
        u1.answer.as_ref().unwrap().decision,
        DecisionKind::Satisfied,
        "the merged appeal gets the main appeal's answer"
    );
    for (i, d) in decisions {
        assert_eq!(seen[&ids[i].id].answer.as_ref().unwrap().decision, d);
    }
    // Nothing new after the last cursor.
    let page: AnswersPage = a
        .get(format!("{}/v1/answers?since={since}", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page.updates.is_empty());

    // Booth B (another branch) looks up appeal 3 by lookup id and rates it.
    let l: LookupResponse = b
        .get(format!("{}/v1/lookup/{}", s.url, ids[3].lookup_id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(l.answer.unwrap().decision, DecisionKind::Explained);
    let rating = RatingSubmission {
        id: uuid::Uuid::now_v7(),
        appeal_id: ids[3].id,
        rating: booth_core::Rating::new(5).unwrap(),
        rated_at: chrono::Utc::now(),
    };
    let acc: Accepted = b
        .post(format!("{}/v1/ratings", s.url))
        .json(&rating)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(acc.created);
    let again: Accepted = b
        .post(format!("{}/v1/ratings", s.url))
        .json(&rating)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!again.created, "ratings are idempotent by id");
    let ratings: serde_json::Value = op(&oc, &s, reqwest::Method::GET, "/operator/api/ratings")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ratings[0]["rating"], 5);
    let unknown = b
        .get(format!("{}/v1/lookup/{}", s.url, "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // Visits and heartbeat.
    let visit = VisitSubmission {
        id: uuid::Uuid::now_v7(),
        document_kind: "id_card".into(),
        document_number: "012345678".into(),
        iin: None,
        surname: "Абаев".parse().unwrap(),
        name: "Арман".parse().unwrap(),
        patronymic: None,
        entity: None,
        phone: None,
        email: None,
        consent: true,
        created_at: chrono::Utc::now(),
        receptionist: "reception1".into(),
        appeal_id: None,
    };
    let acc: Accepted = a
        .post(format!("{}/v1/visits", s.url))
        .json(&visit)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(acc.created);
    assert_eq!(s.state.db.visit_count().unwrap(), 1);
    let hb = Heartbeat {
        sent_at: chrono::Utc::now(),
        queue_depth: 2,
        oldest_unsent_age_s: Some(30),
        disk_free_bytes: 10,
        disk_total_bytes: 20,
        printer: PrinterHealth::PaperLow,
        camera_ok: true,
        microphone_ok: None,
        versions: Default::default(),
        uptime_s: None,
    };
    let ack: HeartbeatAck = a
        .post(format!("{}/v1/heartbeat", s.url))
        .json(&hb)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ack.config_version, 1);
    let booths = s.state.db.booths().unwrap();
    assert!(
        booths
            .iter()
            .any(|(id, _, at, _)| id == "ALM01-03" && at.is_some())
    );
    s.shutdown().await;
}

#[tokio::test]
async fn admin_endpoint_sets_latency_and_slow_drip() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (a, _) = enroll(&s, "booth-d").await;
    let admin = s.admin_url.clone().unwrap();
    let http = reqwest::Client::new();
    let cfg = serde_json::json!({"rules": [
        {"route": "GET /v1/config", "latency_ms": 300, "times": 1},
        {"route": "GET /v1/directory", "drip_bytes_per_s": 2000, "times": 1}
    ]});
    let r = http
        .put(format!("{admin}/admin/faults"))
        .json(&cfg)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = http
        .put(format!("{admin}/admin/faults"))
        .json(&serde_json::json!({"rules": [{"rout": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a typo in a fault rule must be refused");

    let t = std::time::Instant::now();
    assert_eq!(
        a.get(format!("{}/v1/config", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(300),
        "latency was not added"
    );
    // The directory (~2.5 KB) at 2000 B/s arrives whole, but in many small pieces.
    let mut r = a
        .get(format!("{}/v1/directory", s.url))
        .send()
        .await
        .unwrap();
    let mut pieces = 0;
    let mut total = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        pieces += 1;
        total += chunk.len();
    }
    assert!(pieces >= 5, "slow drip sent {pieces} pieces");
    let d: serde_json::Value = a
        .get(format!("{}/v1/directory", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(total, serde_json::to_vec(&d).unwrap().len());
    // Rules with `times` are used up.
    let now: serde_json::Value = http
        .get(format!("{admin}/admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["rules"].as_array().unwrap().len(), 0);
    // Tokens from the admin endpoint enroll a booth.
    let t: serde_json::Value = http
        .post(format!("{admin}/admin/tokens"))
        .json(&serde_json::json!({"booth_id": "booth-z"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["booth_id"], "booth-z");
    assert_eq!(t["token"].as_str().unwrap().len(), 24);
    s.shutdown().await;
}

#[test]
fn cli_issues_a_token_and_prints_urls() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_authority-sim");
    let out = std::process::Command::new(exe)
        .args(["issue-token", "--data"])
        .arg(dir.path())
        .args(["--booth-id", "ALM01-07"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.len(), 24);
    let bad = std::process::Command::new(exe)
        .args(["issue-token", "--data"])
        .arg(dir.path())
        .args(["--booth-id", "../x"])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a hostile booth id must fail");

    // The server started on the same data directory accepts that token.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = start(dir.path()).await;
        let (key, csr) = device_key();
        let _ = key;
        let r = anonymous(&s)
            .post(format!("{}/v1/enroll", s.url))
            .json(&booth_core::wire::EnrollRequest {
                token,
                csr_pem: csr,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        s.shutdown().await;
    });

    // The binary prints what it serves, then stops on SIGTERM.
    let mut child = std::process::Command::new(exe)
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("second"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let mut text = String::new();
    // Five lines: booth API, operator page, CA certificate, age recipient, operator login.
    for _ in 0..5 {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(l) => {
                text.push_str(&l);
                text.push('\n');
            }
            Err(_) => break,
        }
    }
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert!(
        text.contains("booth API:      https://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("operator login: operator / "),
        "first start prints the demo login: {text}"
    );
    assert!(status.success(), "SIGTERM must end the server cleanly");
}
