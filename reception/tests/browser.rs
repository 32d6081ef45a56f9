//! The console in real headless Chromium (chromedriver + fantoccini), against the real
//! `reception` binary started as a separate process on 127.0.0.1 with accounts made by its
//! `add-user` command: sign in, a wrong IIN refused next to its field, a Kazakh name
//! registered, the ticket slip, the journal search, the language switch, and the lockout.
//!
//! Screenshots go to a temp dir; with `RECEPTION_SCREENSHOTS=docs` they are written to
//! `docs/reception-*.png` (that is how the committed ones were made); the slip printed to an
//! 80 mm PDF goes beside them (`docs/reception-slip-print.png` is its page via pdftoppm).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start_chromedriver() -> (Killed, u16) {
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin} (Debian package chromium-driver): {e}"));
    let guard = Killed(child);
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "chromedriver did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

async fn browser(driver_port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1280,1250", "--lang=kk",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    // chromedriver is local plain HTTP: no TLS in the WebDriver client.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("webdriver session")
}

/// The `reception` binary serving a fresh database; stopped with SIGTERM by [`Console::stop`].
struct Console {
    child: Option<Killed>,
    base: String,
}

fn reception_bin() -> &'static str {
    env!("CARGO_BIN_EXE_reception")
}

/// Runs `reception add-user`, the password in `RECEPTION_PASSWORD` or on standard input.
fn add_user(config: &Path, login: &str, role: &str, via_stdin: bool) {
    let mut cmd = Command::new(reception_bin());
    cmd.args([
        "--config",
        &config.display().to_string(),
        "add-user",
        login,
        "--role",
        role,
    ])
    .env_remove("RECEPTION_PASSWORD")
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if !via_stdin {
        cmd.env("RECEPTION_PASSWORD", common::PASSWORD);
    }
    let mut child = cmd.spawn().expect("run add-user");
    let mut stdin = child.stdin.take().expect("stdin");
    if via_stdin {
        writeln!(stdin, "{}", common::PASSWORD).expect("write password");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait add-user");
    assert!(
        out.status.success(),
        "add-user {login}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Console {
    fn start(dir: &Path) -> Console {
        let cfg = common::test_config(dir);
        let config = dir.join("booth.toml");
        std::fs::File::create(&config)
            .and_then(|mut f| f.write_all(cfg.to_toml().as_bytes()))
            .expect("config");
        add_user(&config, "desk1", "receptionist", true);
        add_user(&config, "desk2", "receptionist", false);
        // A too-short password is refused with a clear message and a failure status.
        let out = Command::new(reception_bin())
            .args([
                "--config",
                &config.display().to_string(),
                "add-user",
                "x1",
                "--role",
                "admin",
            ])
            .env("RECEPTION_PASSWORD", "short")
            .output()
            .expect("run");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("at least"));

        let mut child = Command::new(reception_bin())
            .args(["--config", &config.display().to_string(), "serve"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read address");
        let base = line
            .trim()
            .strip_prefix("reception listening on ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .to_owned();
        Console {
            child: Some(Killed(child)),
            base,
        }
    }

    /// SIGTERM: the console stops accepting, finishes requests and exits 0.
    fn stop(&mut self) {
        let Some(mut k) = self.child.take() else {
            return;
        };
        let pid = k.0.id().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(st.success());
        let t0 = Instant::now();
        loop {
            if let Some(status) = k.0.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "reception exited with {status} after SIGTERM"
                );
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "reception did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn shot_dir() -> PathBuf {
    if std::env::var("RECEPTION_SCREENSHOTS").as_deref() == Ok("docs") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
    } else {
        std::env::temp_dir().join("reception-screenshots")
    }
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG");
    assert!(
        png.len() > 10_000,
        "{name}: a page screenshot is not a few bytes"
    );
    let dir = shot_dir();
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(format!("reception-{name}.png")), png).expect("write png");
}

async fn fill(c: &Client, id: &str, text: &str) {
    let e = c
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("field {id}: {e}"));
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

/// Clicks something that loads a new page and waits until the old document is gone and the
/// new one has its `<main>` (WebDriver's click does not always wait for a POST's answer).
async fn click(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.expect("html");
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
    let t0 = Instant::now();
    while old.tag_name().await.is_ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "clicking {css} loaded no new page"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("main"))
        .await
        .expect("new page has <main>");
}

/// Clicks a checkbox or other control that stays on the page.
async fn toggle(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

async fn body_text(c: &Client) -> String {
    match c.find(Locator::Css("main")).await {
        Ok(m) => m.text().await.expect("text"),
        Err(e) => panic!(
            "no <main> on {:?}: {e}\n{}",
            c.current_url().await,
            c.source().await.unwrap_or_default()
        ),
    }
}

async fn sign_in(c: &Client, base: &str, login: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.expect("goto login");
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("f-login"))
        .await
        .expect("sign-in form");
    fill(c, "f-login", login).await;
    fill(c, "f-password", password).await;
    click(c, "#login-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receptionist_registers_kazakh_visitor_gets_ticket_and_finds_it_in_journal() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut console = Console::start(dir.path());
    let (_driver, port) = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile");
    let c = browser(port, profile.path()).await;
    let base = console.base.clone();

    // Lockout: three wrong passwords (max_login_failures = 3) lock desk2; then even the right
    // password is refused.
    c.goto(&format!("{base}/login")).await.expect("goto");
    shot(&c, "login").await;
    for _ in 0..3 {
        sign_in(&c, &base, "desk2", "not the password").await;
    }
    let text = body_text(&c).await;
    assert!(
        text.contains("бұғатталды"),
        "lockout message in Kazakh: {text}"
    );
    shot(&c, "lockout").await;
    sign_in(&c, &base, "desk2", common::PASSWORD).await;
    assert!(
        body_text(&c).await.contains("бұғатталды"),
        "still locked with the right password"
    );

    // Sign in and register Әлия Қасымқызы, first with a mistyped IIN.
    sign_in(&c, &base, "desk1", common::PASSWORD).await;
    let url = c.current_url().await.expect("url");
    assert_eq!(url.path(), "/visits/new");
    let good_iin = common::iin();
    let mut bad_iin = good_iin.clone().into_bytes();
    bad_iin[11] = b'0' + (bad_iin[11] - b'0' + 1) % 10;
    let bad_iin = String::from_utf8(bad_iin).expect("ascii");
    fill(&c, "f-document_number", "045123789").await;
    fill(&c, "f-iin", &bad_iin).await;
    fill(&c, "f-surname", "Қасымқызы").await;
    fill(&c, "f-name", "Әлия").await;
    fill(&c, "f-email", "aliya@mail.kz").await;
    toggle(&c, "#f-consent").await;
    click(&c, "#submit-visit").await;
    let err = c
        .find(Locator::Id("e-iin"))
        .await
        .expect("error next to the IIN field")
        .text()
        .await
        .expect("text");
    assert_eq!(err, "Бақылау цифры сәйкес келмейді; нөмірді тексеріңіз.");
    let kept = c
        .find(Locator::Id("f-surname"))
        .await
        .expect("surname")
        .prop("value")
        .await
        .expect("prop");
    assert_eq!(
        kept.as_deref(),
        Some("Қасымқызы"),
        "typed name kept after the error"
    );
    let focused = c
        .active_element()
        .await
        .expect("focus")
        .attr("id")
        .await
        .expect("id");
    assert_eq!(
        focused.as_deref(),
        Some("f-iin"),
        "the first wrong field gets the keyboard focus"
    );
    shot(&c, "form-errors").await;

    fill(&c, "f-iin", &good_iin).await;
    click(&c, "#submit-visit").await;
    let ticket = c
        .find(Locator::Id("ticket"))
        .await
        .expect("slip shows the ticket")
        .text()
        .await
        .expect("text");
    assert!(
        ticket.len() == 6 && ticket.bytes().all(|b| b.is_ascii_digit()),
        "ticket {ticket:?}"
    );
    assert!(
        body_text(&c).await.contains("Қасымқызы Ә."),
        "slip names the visitor briefly"
    );
    shot(&c, "slip").await;
    // The slip prints on one 80 mm page (CSS @media print hides the navigation).
    let cfg = fantoccini::wd::PrintConfiguration::builder()
        .size(fantoccini::wd::PrintSize {
            width: 8.0,
            height: 12.0,
        })
        .margins(fantoccini::wd::PrintMargins {
            top: 0.3,
            bottom: 0.3,
            left: 0.3,
            right: 0.3,
        })
        .build()
        .expect("print config");
    let pdf = c.print(cfg).await.expect("print the slip");
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let pdf_text = String::from_utf8_lossy(&pdf);
    assert!(
        pdf_text.contains("/Count 1"),
        "the slip fits one 80 mm page"
    );
    std::fs::create_dir_all(shot_dir()).expect("dir");
    std::fs::write(shot_dir().join("reception-slip-print.pdf"), &pdf).expect("write pdf");

    // The journal: search by part of the surname, in lower case.
    click(&c, "nav a[href='/journal']").await;
    fill(&c, "q-surname", "қасым").await;
    click(&c, "#search-submit").await;
    let table = c
        .find(Locator::Id("journal"))
        .await
        .expect("journal table")
        .text()
        .await
        .expect("text");
    assert!(table.contains("Қасымқызы Әлия"), "{table}");
    assert!(table.contains(&ticket), "{table}");
    let masked = format!("{}********{}", &good_iin[..2], &good_iin[10..]);
    assert!(table.contains(&masked), "IIN masked: {table}");
    assert!(!table.contains(&good_iin), "full IIN never shown");
    shot(&c, "journal").await;

    // Search by ticket after switching to Russian: the same row, Russian headings.
    click(&c, "a[lang='ru']").await;
    fill(&c, "q-surname", "").await;
    fill(&c, "q-date", "").await;
    fill(&c, "q-ticket", &ticket).await;
    click(&c, "#search-submit").await;
    let table = c
        .find(Locator::Id("journal"))
        .await
        .expect("journal table")
        .text()
        .await
        .expect("text");
    assert!(
        table.contains("Посетитель")
            && table.contains("Қасымқызы Әлия")
            && table.contains("действует"),
        "{table}"
    );
    shot(&c, "journal-ru").await;

    // Keyboard only: the visit form's first control has focus on arrival.
    c.goto(&format!("{base}/visits/new")).await.expect("goto");
    let focused = c
        .active_element()
        .await
        .expect("focus")
        .attr("id")
        .await
        .expect("id");
    assert_eq!(focused.as_deref(), Some("f-document_kind"));

    c.close().await.expect("close browser");
    console.stop();
}
