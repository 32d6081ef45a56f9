//! Test harness: a real reception server on 127.0.0.1 (port 0) over a real SQLite file in a
//! temp dir, with a manual clock, plus helpers that sign in and submit forms like a browser.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use booth_core::ManualClock;
use booth_core::config::Config;
use booth_core::store::Store;
use booth_core::store::reception::{self as rs, Role};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

/// Password of every test account.
pub const PASSWORD: &str = "correct horse battery";

/// A running console.
pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub db_path: PathBuf,
    pub cfg: Config,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-20T05:00:00Z")
        .expect("ts")
        .with_timezone(&Utc)
}

/// A config whose state lives in `dir`.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.paths.state_dir = dir.join("state");
    cfg.booth.id = "ALM-0001".into();
    cfg.booth.branch_name = "Алматы, ЦОН №1".into();
    cfg.reception.listen = "127.0.0.1:0".into();
    cfg.reception.max_login_failures = 3;
    cfg
}

impl TestServer {
    /// Starts a server with accounts `desk1` (receptionist) and `boss` (admin).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tmp");
        let mut cfg = test_config(dir.path());
        tweak(&mut cfg);
        let db_path = cfg.paths.database();
        {
            let mut s = Store::open(&db_path).expect("open");
            let h = reception::session::hash_password(PASSWORD).expect("hash");
            s.write(|tx| {
                rs::upsert_user(tx, "desk1", &h, Role::Receptionist)?;
                rs::upsert_user(tx, "desk2", &h, Role::Receptionist)?;
                rs::upsert_user(tx, "boss", &h, Role::Admin)
            })
            .expect("users");
        }
        let clock = Arc::new(ManualClock::new(start_time()));
        let tls = if cfg.reception.tls_cert.as_os_str().is_empty() {
            None
        } else {
            Some(
                reception::tls_acceptor(&cfg.reception.tls_cert, &cfg.reception.tls_key)
                    .expect("tls"),
            )
        };
        let state =
            reception::build_state(cfg.clone(), clock.clone(), tls.is_some()).expect("state");
        let listener = reception::bind(&cfg.reception.listen).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let scheme = if tls.is_some() { "https" } else { "http" };
        tokio::spawn(reception::serve(
            reception::router(state),
            listener,
            tls,
            shutdown.clone(),
        ));
        TestServer {
            base: format!("{scheme}://{addr}"),
            clock,
            db_path,
            cfg,
            shutdown,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A second connection to the same database, as the kiosk or sync agent would open.
    pub fn store(&self) -> Store {
        Store::open(&self.db_path).expect("open store")
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// GET `/login`, then POST the form with its CSRF token. Returns the response.
    pub async fn login(
        &self,
        c: &reqwest::Client,
        login: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = c
            .get(self.url("/login"))
            .send()
            .await
            .expect("get login")
            .text()
            .await
            .expect("text");
        let csrf = csrf_of(&page);
        c.post(self.url("/login"))
            .form(&[
                ("login", login),
                ("password", password),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .expect("post login")
    }

    /// Signs in and returns the client and the session's CSRF token (from the visit form).
    pub async fn signed_in(&self, login: &str) -> (reqwest::Client, String) {
        let c = Self::client();
        let r = self.login(&c, login, PASSWORD).await;
        assert_eq!(r.status(), 303, "sign-in of {login} should redirect");
        let page = c
            .get(self.url("/visits/new"))
            .send()
            .await
            .expect("form")
            .text()
            .await
            .expect("text");
        let csrf = csrf_of(&page);
        (c, csrf)
    }
}

/// The value of the first `name="csrf"` hidden input of a page.
pub fn csrf_of(html: &str) -> String {
    let i = html
        .find("name=\"csrf\" value=\"")
        .expect("page has a csrf field")
        + "name=\"csrf\" value=\"".len();
    html[i..].split('"').next().expect("value").to_owned()
}

/// A valid IIN of a woman born 1995-03-15.
pub fn iin() -> String {
    (0..10)
        .find_map(|n| booth_core::ident::complete_with_check_digit(&format!("950315400{n:02}")))
        .expect("some serial has a check digit")
}

/// A valid visit form for Әлия Қасымқызы, bound to any booth.
pub fn visit_form(csrf: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("document_kind", "id_card".into()),
        ("document_number", "045123789".into()),
        ("iin", iin()),
        ("applicant_kind", "individual".into()),
        ("surname", "Қасымқызы".into()),
        ("name", "Әлия".into()),
        ("patronymic", "".into()),
        ("bin", "".into()),
        ("entity_name", "".into()),
        ("phone", "+7 701 123 45 67".into()),
        ("email", "aliya@mail.kz".into()),
        ("consent", "yes".into()),
        ("booth", "any".into()),
    ]
}

/// Registers a visit and returns (visit id, ticket) read from the slip page.
pub async fn register(
    srv: &TestServer,
    c: &reqwest::Client,
    form: &[(&str, String)],
) -> (String, String) {
    let r = c
        .post(srv.url("/visits"))
        .form(form)
        .send()
        .await
        .expect("post visit");
    assert_eq!(r.status(), 303, "registration should redirect to the slip");
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    let id = loc
        .trim_start_matches("/visits/")
        .trim_end_matches("/slip")
        .to_owned();
    let slip = c
        .get(srv.url(&loc))
        .send()
        .await
        .expect("slip")
        .text()
        .await
        .expect("text");
    let i = slip.find("id=\"ticket\">").expect("slip shows the ticket") + "id=\"ticket\">".len();
    let ticket = slip[i..i + 6].to_owned();
    assert!(
        ticket.bytes().all(|b| b.is_ascii_digit()),
        "ticket {ticket:?}"
    );
    (id, ticket)
}
