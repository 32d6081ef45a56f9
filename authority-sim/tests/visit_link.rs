//! The reception visit (journal entry, 003 p.22) and the appeal it led to reach the centre
//! separately, over mutual TLS on 127.0.0.1, in either order, and end up linked: the operator
//! API and the operator page show, for an appeal, when and by whom the citizen was identified,
//! the document kind, the number masked but for its last 4 characters, and the consent; or
//! "no reception visit" / "visit not received yet". And the rating rule of seed 004: only an
//! answer can be rated.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use authority_sim::RunningServer;
use booth_core::wire::{Accepted, Problem, RatingSubmission, VisitSubmission, problem_codes};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

/// A journal entry as the reception writes it; the visitor's surname differs from the
/// applicant's in [`appeal`] so the tests see which one a page shows.
fn visit(appeal_id: Option<Uuid>) -> VisitSubmission {
    VisitSubmission {
        id: Uuid::now_v7(),
        document_kind: "id_card".into(),
        document_number: "012345678".into(),
        iin: None,
        surname: "Жумабаев".parse().unwrap(),
        name: "Ерлан".parse().unwrap(),
        patronymic: None,
        entity: None,
        phone: Some("+77011234567".into()),
        email: None,
        consent: true,
        created_at: chrono::Utc::now() - chrono::Duration::minutes(20),
        receptionist: "desk1".into(),
        appeal_id,
    }
}

async fn post_visit(
    booth: &reqwest::Client,
    s: &RunningServer,
    v: &VisitSubmission,
) -> reqwest::Response {
    booth
        .post(format!("{}/v1/visits", s.url))
        .json(v)
        .send()
        .await
        .unwrap()
}

async fn accepted(r: reqwest::Response) -> Accepted {
    assert_eq!(
        r.status(),
        200,
        "visit refused: {}",
        r.text().await.unwrap_or_default()
    );
    r.json().await.unwrap()
}

async fn problem(r: reqwest::Response, status: u16) -> Problem {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    r.json().await.unwrap()
}

async fn put_appeal(
    booth: &reqwest::Client,
    s: &RunningServer,
    body: &booth_core::wire::CreateAppeal,
) {
    let r = booth
        .put(format!("{}/v1/appeals/{}", s.url, body.id))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

/// The appeal as the operator JSON API shows it (HTTP Basic auth).
async fn operator_view(s: &RunningServer, id: Uuid) -> Value {
    let r = anonymous(s)
        .get(format!("{}/operator/api/appeals/{id}", s.url))
        .basic_auth("operator", Some(OPERATOR_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Logs in on the operator page and returns a client and the session cookie.
async fn operator_page_login(s: &RunningServer) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(s.ca_pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .post(format!("{}/operator/login", s.url))
        .form(&[("login", "operator"), ("password", OPERATOR_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("op_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    (c, cookie)
}

/// The operator page of appeal `id` in `lang`, as HTML.
async fn operator_page(
    c: &reqwest::Client,
    cookie: &str,
    s: &RunningServer,
    id: Uuid,
    lang: &str,
) -> String {
    let r = c
        .get(format!("{}/operator/appeals/{id}?lang={lang}", s.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appeal_first_then_its_visit_links_and_the_operator_sees_who_identified_the_citizen() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (booth, _) = enroll(&s, "ALM01-03").await;
    let (c, cookie) = operator_page_login(&s).await;

    // The kiosk committed the appeal with the ticket of visit V; the appeal arrives first.
    let v = visit(None);
    let mut a = appeal(b"sealed", 0x11);
    a.visit_id = Some(v.id);
    put_appeal(&booth, &s, &a).await;
    let view = operator_view(&s, a.id).await;
    assert_eq!(view["visit"]["state"], "not_received");
    assert_eq!(view["visit"]["visit_id"], v.id.to_string());
    let page = operator_page(&c, &cookie, &s, a.id, "en").await;
    assert!(page.contains("Visit not received yet"), "{page}");

    // The journal entry arrives, still without its appeal (sent when it was registered).
    assert!(accepted(post_visit(&booth, &s, &v).await).await.created);
    let view = operator_view(&s, a.id).await;
    assert_eq!(view["visit"]["state"], "received", "{view}");
    assert_eq!(view["visit"]["visit_id"], v.id.to_string());
    assert_eq!(view["visit"]["appeal_id"], Value::Null);

    // Then again with the link written at commit: same id, the link is added, not refused.
    let linked = VisitSubmission {
        appeal_id: Some(a.id),
        ..v.clone()
    };
    let acc = accepted(post_visit(&booth, &s, &linked).await).await;
    assert_eq!((acc.id, acc.created), (v.id, false));
    assert!(
        !accepted(post_visit(&booth, &s, &linked).await)
            .await
            .created,
        "idempotent"
    );
    // A late copy of the unlinked send changes nothing.
    assert!(!accepted(post_visit(&booth, &s, &v).await).await.created);
    let view = operator_view(&s, a.id).await;
    assert_eq!(view["visit"]["state"], "received");
    assert_eq!(view["visit"]["appeal_id"], a.id.to_string());
    assert_eq!(view["visit"]["receptionist"], "desk1");
    assert_eq!(view["visit"]["document_kind"], "id_card");
    assert_eq!(view["visit"]["document_number_masked"], "•••••5678");
    assert_eq!(view["visit"]["consent"], true);
    assert_eq!(view["visit"]["booth_id"], "ALM01-03");
    let json = view.to_string();
    assert!(!json.contains("012345678") && !json.contains("Жумабаев") && !json.contains("+7701"));

    // The page, in each language: identified when and by whom, document, masked number,
    // consent; never the whole number or the visitor's name and phone.
    let en = operator_page(&c, &cookie, &s, a.id, "en").await;
    for want in [
        "Identification at reception (journal)",
        &v.created_at.format("%Y-%m-%d %H:%M").to_string(),
        "desk1",
        "Identity card, •••••5678",
        "Consent to personal data processing",
        ">noted<",
    ] {
        assert!(en.contains(want), "the operator page lacks {want:?}");
    }
    for never in ["012345678", "Жумабаев", "Ерлан", "+77011234567"] {
        assert!(!en.contains(never), "the operator page shows {never:?}");
    }
    let ru = operator_page(&c, &cookie, &s, a.id, "ru").await;
    assert!(
        ru.contains("Личность установлена") && ru.contains("Удостоверение личности, •••••5678")
    );
    assert!(ru.contains(">отмечено<"));
    let kk = operator_page(&c, &cookie, &s, a.id, "kk").await;
    assert!(kk.contains("Жеке басы анықталды") && kk.contains("Жеке куәлік, •••••5678"));

    // A second, different link for the same visit, or other fields under its id: refused.
    let relinked = VisitSubmission {
        appeal_id: Some(Uuid::now_v7()),
        ..v.clone()
    };
    let p = problem(post_visit(&booth, &s, &relinked).await, 409).await;
    assert_eq!(p.code, problem_codes::APPEAL_CONFLICT);
    let changed = VisitSubmission {
        document_number: "999999999".into(),
        ..linked.clone()
    };
    let p = problem(post_visit(&booth, &s, &changed).await, 409).await;
    assert_eq!(p.code, problem_codes::APPEAL_CONFLICT);
    assert!(
        !p.detail.unwrap_or_default().contains("999999999"),
        "no personal data in errors"
    );
    let view = operator_view(&s, a.id).await;
    assert_eq!(
        view["visit"]["appeal_id"],
        a.id.to_string(),
        "the first link stays"
    );
    assert_eq!(view["visit"]["document_number_masked"], "•••••5678");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visit_first_then_its_appeal_links_and_an_appeal_without_ticket_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (booth, _) = enroll(&s, "ALM01-03").await;
    let (branch_server, _) = enroll(&s, "ALM01-SRV").await;
    let (c, cookie) = operator_page_login(&s).await;

    // The journal entry, already linked, arrives before the appeal (the upload is slower), and
    // from the branch's reception host rather than the booth that recorded the appeal.
    let mut a = appeal(b"sealed", 0x21);
    let v = visit(Some(a.id));
    assert!(
        accepted(post_visit(&branch_server, &s, &v).await)
            .await
            .created
    );
    a.visit_id = Some(v.id);
    put_appeal(&booth, &s, &a).await;
    let view = operator_view(&s, a.id).await;
    assert_eq!(view["visit"]["state"], "received", "{view}");
    assert_eq!(view["visit"]["visit_id"], v.id.to_string());
    assert_eq!(view["visit"]["appeal_id"], a.id.to_string());
    assert_eq!(view["visit"]["booth_id"], "ALM01-SRV");

    // An appeal that does not name its visit (a kiosk before this protocol addition) is still
    // linked by the journal's link.
    let mut old_kiosk = appeal(b"sealed", 0x22);
    old_kiosk.registration_number = "ALM01-03-2026-000128".parse().unwrap();
    put_appeal(&booth, &s, &old_kiosk).await;
    let v2 = visit(Some(old_kiosk.id));
    assert!(accepted(post_visit(&booth, &s, &v2).await).await.created);
    let view = operator_view(&s, old_kiosk.id).await;
    assert_eq!(view["visit"]["state"], "received");
    assert_eq!(view["visit"]["visit_id"], v2.id.to_string());

    // Recorded without a ticket: no journal entry, and the page says so.
    let mut walk_in = appeal(b"sealed", 0x23);
    walk_in.registration_number = "ALM01-03-2026-000129".parse().unwrap();
    put_appeal(&booth, &s, &walk_in).await;
    let view = operator_view(&s, walk_in.id).await;
    assert_eq!(view["visit"], serde_json::json!({"state": "none"}));
    let en = operator_page(&c, &cookie, &s, walk_in.id, "en").await;
    assert!(en.contains("No reception visit (no ticket)"));
    let ru = operator_page(&c, &cookie, &s, walk_in.id, "ru").await;
    assert!(ru.contains("Без регистрации на ресепшн (без талона)"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_only_an_answer_can_be_rated_a_rating_before_the_answer_is_refused_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (booth, _) = enroll(&s, "ALM01-03").await;
    let a = appeal(b"sealed", 0x31);
    put_appeal(&booth, &s, &a).await;
    let rate = |rated_at: chrono::DateTime<chrono::Utc>, stars: u8| RatingSubmission {
        id: Uuid::now_v7(),
        appeal_id: a.id,
        rating: booth_core::Rating::new(stars).unwrap(),
        rated_at,
    };
    let post = |r: RatingSubmission| {
        let booth = booth.clone();
        let url = format!("{}/v1/ratings", s.url);
        async move { booth.post(url).json(&r).send().await.unwrap() }
    };

    // No answer yet: refused with its own code, and nothing stored.
    let early = rate(chrono::Utc::now() - chrono::Duration::hours(1), 1);
    let p = problem(post(early.clone()).await, 409).await;
    assert_eq!(p.code, problem_codes::APPEAL_NOT_ANSWERED);
    assert_eq!(p.type_uri, "urn:booth:problem:appeal-not-answered");
    assert!(s.state.db.ratings().unwrap().is_empty());

    // The operator answers (003 p.31).
    let r = anonymous(&s)
        .post(format!("{}/operator/api/appeals/{}/answer", s.url, a.id))
        .basic_auth("operator", Some(OPERATOR_PASSWORD))
        .json(&serde_json::json!({
            "decision": "explained",
            "text": "The road will be repaired in spring.",
            "signed_by": "Deputy akim A. Seitkali"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A rating of the answer is accepted (and idempotent by id).
    let good = rate(chrono::Utc::now(), 4);
    let acc: Accepted = post(good.clone()).await.json().await.unwrap();
    assert_eq!((acc.id, acc.created), (good.id, true));
    let acc: Accepted = post(good.clone()).await.json().await.unwrap();
    assert!(!acc.created);
    assert_eq!(s.state.db.ratings().unwrap().len(), 1);

    // The rating given before the answer, kept unsent by the booth and sent again now, is
    // still refused: it rated no answer.
    let p = problem(post(early).await, 409).await;
    assert_eq!(p.code, problem_codes::APPEAL_NOT_ANSWERED);
    assert_eq!(s.state.db.ratings().unwrap().len(), 1);

    // An unknown appeal stays 404.
    let mut stray = rate(chrono::Utc::now(), 3);
    stray.appeal_id = Uuid::now_v7();
    assert_eq!(post(stray).await.status(), 404);
    s.shutdown().await;
}
