//! End to end: `booth-provision` against a real authority-sim (mutual TLS enrollment), the real
//! sync-agent and booth-diag binaries and the virtual receipt printer, all on 127.0.0.1. Bad
//! input (booth id, URL, token) gets its specific message and changes nothing; a good run
//! enrolls, writes the config and prints a slip; a second run is harmless. The terminal form is
//! driven headless through tmux.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use booth_core::config::Config;
use booth_e2e::process::{Proc, bin, free_port};

struct Booth {
    dir: tempfile::TempDir,
    config: PathBuf,
    ca: PathBuf,
    auth_url: String,
    printer: String,
    prints: PathBuf,
    _auth: Proc,
    _printer: Proc,
}

fn start() -> Booth {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let port = free_port().expect("port");
    let mut cmd = Command::new(bin("authority-sim").expect("build authority-sim first"));
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(d.join("auth"));
    let mut auth = Proc::spawn("authority-sim", cmd, d).expect("start authority-sim");
    auth.wait_for_log("CA certificate:", Duration::from_secs(60))
        .expect("authority-sim up");
    let pport = free_port().expect("port");
    let prints = d.join("prints");
    let mut cmd = Command::new(bin("booth-printer-sim").expect("build booth-hardware first"));
    cmd.args(["--listen", &format!("127.0.0.1:{pport}"), "--out"])
        .arg(&prints);
    let mut printer = Proc::spawn("printer", cmd, d).expect("start printer sim");
    printer
        .wait_for_port(
            format!("127.0.0.1:{pport}").parse().expect("addr"),
            Duration::from_secs(30),
        )
        .expect("printer up");
    // A freshly flashed booth: default config, state in the temp dir.
    let mut cfg = Config::default();
    cfg.paths.state_dir = d.join("state");
    cfg.paths.outbox_dir = d.join("state/outbox");
    cfg.paths.ram_dir = d.join("media");
    let config = d.join("etc/booth.toml");
    std::fs::create_dir_all(d.join("etc")).expect("etc");
    std::fs::write(&config, cfg.to_toml()).expect("config");
    Booth {
        ca: d.join("auth/ca.cert.pem"),
        auth_url: format!("https://127.0.0.1:{port}"),
        printer: format!("127.0.0.1:{pport}"),
        prints,
        config,
        _auth: auth,
        _printer: printer,
        dir,
    }
}

impl Booth {
    fn token(&self, booth_id: &str) -> String {
        let out = Command::new(bin("authority-sim").expect("authority-sim"))
            .args(["issue-token", "--booth-id", booth_id, "--data"])
            .arg(self.dir.path().join("auth"))
            .output()
            .expect("issue token");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_booth-provision"));
        c.arg("--config")
            .arg(&self.config)
            .arg("--sync-agent")
            .arg(bin("sync-agent").expect("build sync-agent first"))
            .arg("--booth-diag")
            .arg(bin("booth-diag").expect("build booth-hardware first"))
            .env_remove("BOOTH_ENROLL_TOKEN")
            .env_remove("BOOTH_TECHNICIAN_PIN");
        c
    }

    fn apply(&self, booth_id: &str, url: &str, token: &str) -> Output {
        self.command()
            .args([
                "apply",
                "--booth-id",
                booth_id,
                "--branch",
                "ALM01",
                "--central-url",
                url,
                "--token",
                token,
                "--ca-cert",
            ])
            .arg(&self.ca)
            .args([
                "--printer-model",
                "virtual",
                "--printer-address",
                &self.printer,
                "--paper-width",
                "80",
            ])
            .args(["--orientation", "portrait", "--technician-pin", "482916"])
            .output()
            .expect("run booth-provision")
    }

    fn enrolled(&self) -> bool {
        self.dir.path().join("state/sync/enrollment.json").exists()
    }

    fn slips(&self) -> usize {
        std::fs::read_dir(&self.prints)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
                })
                .count()
            })
            .unwrap_or(0)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_unchanged(b: &Booth, before: &str, o: &Output, code: i32, needle: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    assert!(
        stderr(o).contains(needle),
        "expected {needle:?} in: {}",
        stderr(o)
    );
    assert!(stderr(o).contains("nothing was changed"), "{}", stderr(o));
    assert_eq!(
        std::fs::read_to_string(&b.config).expect("config"),
        before,
        "config must be unchanged"
    );
    assert!(!b.enrolled(), "must not be enrolled");
    assert!(
        !b.config.with_extension("toml.provisioning").exists(),
        "candidate config must be removed"
    );
}

#[test]
fn bad_input_changes_nothing_then_provisioning_enrolls_prints_and_is_repeatable() {
    let b = start();
    let before = std::fs::read_to_string(&b.config).expect("config");
    let token = b.token("ALM-0001");

    let o = b.apply("alm 1", &b.auth_url, &token);
    assert_unchanged(&b, &before, &o, 2, "capital Latin letters");

    let closed = free_port().expect("port");
    let o = b.apply("ALM-0001", &format!("https://127.0.0.1:{closed}"), &token);
    assert_unchanged(&b, &before, &o, 3, "cannot reach the central service");

    let o = b.apply("ALM-0001", "http://127.0.0.1:1", &token);
    assert_unchanged(&b, &before, &o, 2, "must start with https://");

    let o = b.apply("ALM-0001", &b.auth_url, "AAAAAAAAAAAAAAAAAAAAAAAA");
    assert_unchanged(&b, &before, &o, 3, "refused the enrollment token");

    let o = b.apply("ALM-0001", &b.auth_url, &token);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("enrolled as ALM-0001"), "{out}");
    assert!(out.contains("printed on"), "{out}");
    assert!(b.enrolled());
    let cfg = Config::load(&b.config).expect("written config parses");
    assert_eq!(cfg.booth.id, "ALM-0001");
    assert_eq!(cfg.booth.branch, "ALM01");
    assert_eq!(cfg.sync.central_url, b.auth_url);
    assert_eq!(cfg.kiosk.orientation, "portrait");
    assert_eq!(cfg.kiosk.technician_pin, "482916");
    assert_eq!(cfg.printer.address, b.printer);
    assert!(
        cfg.recorder
            .recipients
            .iter()
            .any(|r| r.starts_with("age1")),
        "the authority's age recipient is configured: {:?}",
        cfg.recorder.recipients
    );
    assert_eq!(
        cfg.paths.state_dir,
        b.dir.path().join("state"),
        "other keys are kept"
    );
    wait_for(|| b.slips() >= 1, "the provisioning slip PNG");

    // Twice: the used token is not needed again, the enrollment is kept, a slip is printed.
    let o = b.apply("ALM-0001", &b.auth_url, &token);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("already enrolled as ALM-0001"));
    wait_for(|| b.slips() >= 2, "the second slip PNG");

    // Another booth id on an enrolled booth is refused without --reenroll.
    let o = b.apply("ALM-0002", &b.auth_url, &token);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already enrolled as ALM-0001"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        Config::load(&b.config).expect("config").booth.id,
        "ALM-0001"
    );
}

fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// tmux session running the terminal form; killed on drop.
struct Tmux(String);

impl Tmux {
    fn keys(&self, keys: &[&str]) {
        let st = Command::new("tmux")
            .args(["send-keys", "-t", &self.0])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(st.success());
        std::thread::sleep(Duration::from_millis(150));
    }
    fn literal(&self, text: &str) {
        let st = Command::new("tmux")
            .args(["send-keys", "-l", "-t", &self.0, text])
            .status()
            .expect("tmux send-keys");
        assert!(st.success());
        std::thread::sleep(Duration::from_millis(150));
    }
    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn wait_screen(&self, needle: &str, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {needle:?} on the form; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn terminal_form_checks_fields_and_provisions_headless() {
    let b = start();
    let token = b.token("AST-0007");
    let cmd = b.command();
    let mut line: Vec<String> = vec![shell_quote(Path::new(cmd.get_program()))];
    line.extend(cmd.get_args().map(|a| shell_quote(Path::new(a))));
    line.push("tui".into());
    line.push("--printer-address".into());
    line.push(b.printer.clone());
    let exit_file = b.dir.path().join("tui.exit");
    let script = format!(
        "{}; echo $? > {}; sleep 60",
        line.join(" "),
        shell_quote(&exit_file)
    );
    let name = format!("provision-{}", std::process::id());
    let st = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "110",
            "-y",
            "40",
            "env",
            "-u",
            "BOOTH_ENROLL_TOKEN",
            "sh",
            "-c",
            &script,
        ])
        .status()
        .expect("tmux new-session");
    assert!(st.success());
    let t = Tmux(name);
    t.wait_screen("Video-appeal booth: provisioning", 30);

    // A bad booth id gets its message when the field is left.
    t.literal("ast 7");
    t.keys(&["Enter"]);
    t.wait_screen("capital Latin letters", 10);
    t.keys(&["Up"]);
    for _ in 0..5 {
        t.keys(&["BSpace"]);
    }
    t.literal("AST-0007");
    t.keys(&["Enter"]);
    t.wait_screen("Booth id: ok", 10);
    for value in [
        "AST01".to_owned(),
        b.auth_url.clone(),
        token.clone(),
        b.ca.display().to_string(),
        "virtual".into(),
    ] {
        // Fields may be pre-filled from the existing config (the printer model is): clear first.
        t.keys(&["C-u"]);
        t.literal(&value);
        t.keys(&["Enter"]);
    }
    // Paper width and orientation are pre-filled from the existing config (80, landscape).
    t.keys(&["Enter", "Enter"]);
    // An easy PIN is refused on submit, and the form focuses it.
    t.literal("111111");
    t.keys(&["F2"]);
    t.wait_screen("too easy to guess", 10);
    assert!(
        !b.enrolled(),
        "nothing may happen before every field is valid"
    );
    t.keys(&["C-u"]);
    t.literal("730519");
    t.keys(&["F2"]);
    let screen = t.wait_screen("PROVISIONED", 90);
    assert!(screen.contains("enrolled as AST-0007"), "{screen}");
    assert!(
        !screen.contains("730519") && !screen.contains(&token),
        "secrets must not be shown:\n{screen}"
    );
    t.keys(&["Enter"]);
    wait_for(|| exit_file.exists(), "the form to exit");
    assert_eq!(
        std::fs::read_to_string(&exit_file).expect("exit").trim(),
        "0"
    );
    let cfg = Config::load(&b.config).expect("config");
    assert_eq!(cfg.booth.id, "AST-0007");
    assert_eq!(cfg.booth.branch, "AST01");
    assert_eq!(cfg.kiosk.technician_pin, "730519");
    wait_for(|| b.slips() >= 1, "the provisioning slip PNG");
}
