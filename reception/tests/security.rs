//! Security tests against the real console on 127.0.0.1 with a real SQLite file: CSRF,
//! escaping, roles, lockout, session expiry, tickets (once, expiry, guessing), TLS cookies.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use booth_core::Clock;
use booth_core::store::reception::{self as rs, MAX_FAILED_TICKET_ATTEMPTS, TicketError};
use common::*;

fn count_visits(srv: &TestServer) -> i64 {
    srv.store()
        .connection()
        .query_row("SELECT COUNT(*) FROM visits", [], |r| r.get(0))
        .expect("count")
}

fn audit_actions(srv: &TestServer) -> Vec<(String, String)> {
    let s = srv.store();
    let mut st = s
        .connection()
        .prepare("SELECT actor, action FROM audit_log ORDER BY id")
        .expect("prep");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("q")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn post_without_or_with_wrong_csrf_token_is_refused() {
    let srv = TestServer::start().await;
    let (c, csrf) = srv.signed_in("desk1").await;

    let mut no_token = visit_form(&csrf);
    no_token.retain(|(k, _)| *k != "csrf");
    let r = c
        .post(srv.url("/visits"))
        .form(&no_token)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let body = r.text().await.expect("text");
    assert!(
        body.contains("Форма ескірген"),
        "the refusal is explained in Kazakh: {body}"
    );

    let wrong = visit_form(&"0".repeat(64));
    let r = c
        .post(srv.url("/visits"))
        .form(&wrong)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    assert_eq!(
        count_visits(&srv),
        0,
        "no visit may be written by a forged POST"
    );

    // Sign-out without the token does not end the session.
    let r = c
        .post(srv.url("/logout"))
        .form(&[("x", "1")])
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 403);
    assert_eq!(
        c.get(srv.url("/journal"))
            .send()
            .await
            .expect("journal")
            .status(),
        200
    );

    // Sign-in without the login form's token is refused too (login CSRF).
    let fresh = TestServer::client();
    let r = fresh
        .post(srv.url("/login"))
        .form(&[("login", "desk1"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 403);

    // With the right token the same form goes through.
    let (_, ticket) = register(&srv, &c, &visit_form(&csrf)).await;
    assert_eq!(ticket.len(), 6);
    assert_eq!(count_visits(&srv), 1);
}

#[tokio::test]
async fn script_in_any_field_is_shown_as_text() {
    let srv = TestServer::start().await;
    let (c, csrf) = srv.signed_in("desk1").await;
    let evil = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";

    // Every field at once: the form comes back with errors and every value escaped.
    let mut form: Vec<(&str, String)> = visit_form(&csrf)
        .into_iter()
        .map(|(k, v)| {
            if k == "csrf" {
                (k, v)
            } else {
                (k, evil.to_owned())
            }
        })
        .collect();
    let r = c
        .post(srv.url("/visits"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    let body = r.text().await.expect("text");
    assert!(
        !body.contains("<script>alert(1)"),
        "raw script in the re-rendered form"
    );
    assert!(
        !body.contains("<img src=x"),
        "raw img in the re-rendered form"
    );
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img"),
        "typed text kept, escaped"
    );

    // A legal entity name may hold any printable text: store it and look at every page.
    form = visit_form(&csrf);
    for (k, v) in form.iter_mut() {
        match *k {
            "applicant_kind" => *v = "entity".into(),
            "bin" => *v = booth_core::ident::complete_with_check_digit("05014000001").expect("bin"),
            "entity_name" => *v = evil.into(),
            _ => {}
        }
    }
    let (id, ticket) = register(&srv, &c, &form).await;
    let (admin, _) = srv.signed_in("boss").await;
    for (client, path) in [
        (&c, format!("/visits/{id}")),
        (&c, format!("/journal?ticket={ticket}")),
        (&c, format!("/journal?surname={}", "%3Cscript%3E")),
        (&admin, "/journal.csv?ticket=".to_owned() + &ticket),
    ] {
        let r = client.get(srv.url(&path)).send().await.expect("get");
        let ctype = r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let body = r.text().await.expect("text");
        if path.contains(".csv") {
            // Not HTML: the text stays as typed, inside a quoted cell, never sniffed as a page.
            assert!(ctype.starts_with("text/csv"), "{ctype}");
            assert!(
                body.contains("\"<script>alert(1)</script>\"\"'><img src=x onerror=alert(2)>\""),
                "{body}"
            );
        } else {
            assert!(ctype.starts_with("text/html"), "{ctype}");
            assert!(!body.contains("<script>alert(1)"), "{path}: raw script");
            assert!(!body.contains("<img src=x"), "{path}: raw img");
        }
    }
    let page = c
        .get(srv.url(&format!("/visits/{id}")))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "entity name shown as text"
    );

    // A script as the login name: the sign-in page and the admin's audit page escape it.
    let anon = TestServer::client();
    let body = srv
        .login(&anon, evil, "x")
        .await
        .text()
        .await
        .expect("text");
    assert!(!body.contains("<script>alert(1)") && body.contains("&lt;script&gt;"));
    let audit = admin
        .get(srv.url("/audit"))
        .send()
        .await
        .expect("audit")
        .text()
        .await
        .expect("text");
    assert!(!audit.contains("<script>alert(1)") && audit.contains("&lt;script&gt;alert(1)"));
}

#[tokio::test]
async fn receptionist_cannot_export_and_admin_export_is_audited() {
    let srv = TestServer::start().await;
    let (c, csrf) = srv.signed_in("desk1").await;
    register(&srv, &c, &visit_form(&csrf)).await;

    let r = c.get(srv.url("/journal.csv")).send().await.expect("csv");
    assert_eq!(r.status(), 403);
    assert!(
        r.text().await.expect("text").contains("әкімші"),
        "refusal explained"
    );
    let page = c
        .get(srv.url("/journal"))
        .send()
        .await
        .expect("journal")
        .text()
        .await
        .expect("text");
    assert!(
        !page.contains("/journal.csv"),
        "no export link for a receptionist"
    );
    assert_eq!(
        c.get(srv.url("/audit"))
            .send()
            .await
            .expect("audit")
            .status(),
        403
    );

    let (admin, _) = srv.signed_in("boss").await;
    let r = admin
        .get(srv.url("/journal.csv?date=2026-03-20"))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("attachment")
    );
    let csv = r.text().await.expect("text");
    assert!(csv.contains("\"Қасымқызы\""), "{csv}");
    assert!(
        !csv.contains(&iin()),
        "the export holds the masked IIN only"
    );
    assert!(csv.contains(&format!("\"{}********{}\"", &iin()[..2], &iin()[10..])));

    let actions = audit_actions(&srv);
    assert!(
        actions.contains(&("desk1".into(), "export_denied".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("boss".into(), "export_csv".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("desk1".into(), "register_visit".into())),
        "{actions:?}"
    );
}

#[tokio::test]
async fn ticket_works_once_and_not_after_expiry() {
    let srv = TestServer::start().await;
    let (c, csrf) = srv.signed_in("desk1").await;
    let (id, ticket) = register(&srv, &c, &visit_form(&csrf)).await;
    let now = srv.clock.now();

    // The kiosk opens its own connection to the shared database.
    let mut kiosk = srv.store();
    let p = rs::redeem_ticket(&mut kiosk, &ticket, "ALM-0001", now).expect("first use");
    assert_eq!(p.visit_id.to_string(), id);
    assert_eq!(p.surname.as_str(), "Қасымқызы");
    assert_eq!(p.name.as_str(), "Әлия");
    assert_eq!(p.email.as_ref().map(|e| e.as_str()), Some("aliya@mail.kz"));
    let e = rs::redeem_ticket(&mut kiosk, &ticket, "ALM-0001", now).expect_err("second use");
    assert!(matches!(e, TicketError::Used), "{e}");

    // The journal shows the ticket as used; after the kiosk links an appeal, shows the appeal.
    let appeal = uuid::Uuid::now_v7();
    kiosk
        .write(|tx| rs::link_visit_to_appeal(tx, p.visit_id, appeal))
        .expect("link");
    let page = c
        .get(srv.url(&format!("/journal?ticket={ticket}")))
        .send()
        .await
        .expect("j")
        .text()
        .await
        .expect("t");
    assert!(page.contains("пайдаланылды"), "ticket shown used");
    assert!(
        page.contains(&appeal.to_string()),
        "appeal shown on the visit's row"
    );

    // A second visitor's ticket expires after reception.ticket_ttl_minutes.
    let (_, ticket2) = register(&srv, &c, &visit_form(&csrf)).await;
    let ttl = chrono::Duration::minutes(i64::from(srv.cfg.reception.ticket_ttl_minutes));
    let e = rs::redeem_ticket(&mut kiosk, &ticket2, "ALM-0001", now + ttl).expect_err("expired");
    assert!(matches!(e, TicketError::Expired), "{e}");
    // Move past the ticket's expiry while keeping the session alive.
    srv.clock.advance(Duration::from_secs(60 * 20));
    assert_eq!(
        c.get(srv.url("/journal")).send().await.expect("j").status(),
        200
    );
    srv.clock.advance(Duration::from_secs(60 * 11));
    let slip = c
        .get(srv.url(&format!("/journal?ticket={ticket2}")))
        .send()
        .await
        .expect("j")
        .text()
        .await
        .expect("t");
    assert!(
        slip.contains("мерзімі өтті"),
        "journal shows the ticket expired"
    );
}

#[tokio::test]
async fn forged_or_guessed_tickets_are_refused_and_rate_limited() {
    let srv = TestServer::start().await;
    let (c, csrf) = srv.signed_in("desk1").await;
    let mut form = visit_form(&csrf);
    for (k, v) in form.iter_mut() {
        if *k == "booth" {
            *v = "ALM-0001".into();
        }
    }
    let (_, ticket) = register(&srv, &c, &form).await;
    let now = srv.clock.now();
    let mut kiosk = srv.store();

    // Bound to ALM-0001: another booth of the branch may not use it (and that counts).
    let e = rs::redeem_ticket(&mut kiosk, &ticket, "ALM-0002", now).expect_err("wrong booth");
    assert!(matches!(e, TicketError::WrongBooth), "{e}");
    for forged in ["12345", "1234567", "abcdef", "12 34 5"] {
        let e = rs::redeem_ticket(&mut kiosk, forged, "ALM-0001", now).expect_err("malformed");
        assert!(matches!(e, TicketError::Malformed), "{forged}: {e}");
    }
    let mut guesses = 0;
    let mut n = 0u32;
    while guesses < MAX_FAILED_TICKET_ATTEMPTS {
        let g = format!("{:06}", (n * 7919) % 1_000_000);
        n += 1;
        if g == ticket {
            continue;
        }
        let e = rs::redeem_ticket(&mut kiosk, &g, "ALM-0001", now).expect_err("guess");
        assert!(matches!(e, TicketError::Unknown), "{g}: {e}");
        guesses += 1;
    }
    // Rate-limited: even the real ticket is refused without being looked at.
    match rs::redeem_ticket(&mut kiosk, &ticket, "ALM-0001", now) {
        Err(TicketError::RateLimited { retry_after }) => {
            assert!(retry_after > chrono::Duration::zero())
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    let counted: i64 = kiosk
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM ticket_attempts WHERE source = 'ALM-0001'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(counted, i64::from(MAX_FAILED_TICKET_ATTEMPTS));
    // After the window the real ticket works (it was never consumed by the refusals).
    let later = now + rs::TICKET_ATTEMPT_WINDOW + chrono::Duration::seconds(1);
    rs::redeem_ticket(&mut kiosk, &ticket, "ALM-0001", later).expect("works after the window");
}

#[tokio::test]
async fn wrong_password_locks_the_account_for_fifteen_minutes() {
    let srv = TestServer::start().await;
    let c = TestServer::client();
    for _ in 0..2 {
        let r = srv.login(&c, "desk2", "wrong password").await;
        assert_eq!(r.status(), 401);
        assert!(
            r.text()
                .await
                .expect("text")
                .contains("Логин немесе құпиясөз қате")
        );
    }
    let r = srv.login(&c, "desk2", "wrong password").await;
    assert_eq!(
        r.status(),
        429,
        "third failure locks (max_login_failures = 3)"
    );
    assert!(r.text().await.expect("text").contains("бұғатталды"));
    let r = srv.login(&c, "desk2", PASSWORD).await;
    assert_eq!(
        r.status(),
        429,
        "the right password is refused while locked"
    );
    srv.clock.advance(Duration::from_secs(16 * 60));
    let r = srv.login(&c, "desk2", PASSWORD).await;
    assert_eq!(r.status(), 303, "unlocked after 15 minutes");
    let actions = audit_actions(&srv);
    assert!(actions.contains(&("desk2".into(), "account_locked".into())));
    assert!(actions.contains(&("desk2".into(), "login_refused_locked".into())));
}

#[tokio::test]
async fn session_expires_after_inactivity_and_logout_ends_it() {
    let srv = TestServer::start().await;
    let (c, csrf) = srv.signed_in("desk1").await;
    let minutes = u64::from(srv.cfg.reception.session_minutes);
    srv.clock.advance(Duration::from_secs((minutes - 1) * 60));
    assert_eq!(
        c.get(srv.url("/journal")).send().await.expect("j").status(),
        200,
        "activity keeps it alive"
    );
    srv.clock.advance(Duration::from_secs((minutes - 1) * 60));
    assert_eq!(
        c.get(srv.url("/journal")).send().await.expect("j").status(),
        200,
        "sliding expiry"
    );
    srv.clock.advance(Duration::from_secs((minutes + 1) * 60));
    let r = c.get(srv.url("/journal")).send().await.expect("j");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?expired=1");
    let r = c
        .post(srv.url("/visits"))
        .form(&visit_form(&csrf))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303, "an expired session cannot write");
    assert_eq!(count_visits(&srv), 0);

    let (c2, csrf2) = srv.signed_in("desk1").await;
    let r = c2
        .post(srv.url("/logout"))
        .form(&[("csrf", csrf2.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 303);
    assert_eq!(
        c2.get(srv.url("/journal"))
            .send()
            .await
            .expect("j")
            .status(),
        303
    );
}

#[tokio::test]
async fn cookies_are_httponly_samesite_and_secure_over_tls() {
    let dir = tempfile::tempdir().expect("tmp");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let (cp, kp) = (cert_path.clone(), key_path.clone());
    let srv = TestServer::start_with(move |c| {
        c.reception.tls_cert = cp;
        c.reception.tls_key = kp;
    })
    .await;
    assert!(srv.base.starts_with("https://"));
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("root");
    let c = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = srv.login(&c, "desk1", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("rsid="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(session.contains(attr), "{session} lacks {attr}");
    }
    let page = c.get(srv.url("/journal")).send().await.expect("journal");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");

    // Over plain HTTP the cookie has no Secure flag (it would never be sent back).
    let plain = TestServer::start().await;
    let c = TestServer::client();
    let r = plain.login(&c, "desk1", PASSWORD).await;
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
}
