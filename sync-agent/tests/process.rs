//! The real `sync-agent` binary as systemd and a technician use it: enrollment errors and
//! success, `status` exit codes, `sd_notify` READY/WATCHDOG/STOPPING on a fake
//! `NOTIFY_SOCKET`, SIGTERM exits 0, and SIGKILL at random moments during uploads never loses
//! or duplicates an appeal.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use booth_core::localapi::{self, AgentStatus, Health, Request, Response};
use booth_core::store::{StoreError, appeals, outbox, sync as store_sync};
use booth_core::testing::sample_new_appeal;
use common::*;
use rand::Rng;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_errors_are_specific_and_status_exit_codes_follow_health() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let b = Booth::new("ALM-0101", BoothOpts::default());
    std::fs::write(&b.ca_path, &server.ca_pem).expect("ca");
    let ca = b.ca_path.to_string_lossy().into_owned();

    let (code, _, err) = b.run_cli(&["status"]);
    assert_eq!(code, 2, "not enrolled → exit 2\n{err}");

    let (code, _, err) = b.run_cli(&[
        "enroll",
        "--url",
        &server.url,
        "--token",
        "WRONGTOKEN",
        "--ca-cert",
        &ca,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("refused the enrollment token"), "{err}");

    let dead = format!("https://{}", reserve_addr());
    let (code, _, err) = b.run_cli(&["enroll", "--url", &dead, "--token", "X", "--ca-cert", &ca]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach the central service"), "{err}");

    let (code, _, err) = b.run_cli(&["enroll", "--url", &server.url, "--token", "X"]);
    assert_eq!(code, 1);
    assert!(err.contains("no CA certificate to trust"), "{err}");

    // A clock an hour ahead is refused before anything is stored.
    let token = server.issue_token("ALM-0101").expect("token");
    let clock = booth_core::ManualClock::new(chrono::Utc::now() + chrono::TimeDelta::hours(1));
    let db = sync_agent::db::Db::open(&b.cfg.paths.database()).expect("db");
    let opts = sync_agent::enroll::EnrollOptions {
        url: server.url.clone(),
        token: token.clone(),
        ca_cert: Some(b.ca_path.clone()),
        force: false,
    };
    let e = sync_agent::enroll::enroll_with_clock(&b.state(), &db, &opts, &clock)
        .await
        .expect_err("clock off");
    assert!(
        matches!(e, sync_agent::enroll::EnrollError::ClockOff { skew_s } if skew_s > 3000),
        "{e}"
    );
    assert!(e.to_string().contains("clock is off"), "{e}");
    assert!(!b.state().is_enrolled());

    let (code, out, err) = b.run_cli(&[
        "enroll",
        "--url",
        &server.url,
        "--token",
        &token,
        "--ca-cert",
        &ca,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("enrolled as ALM-0101"), "{out}");
    let mode = std::fs::metadata(b.state().key())
        .expect("key")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "device key must be private");
    let (code, out, _) = b.run_cli(&[
        "enroll",
        "--url",
        &server.url,
        "--token",
        &token,
        "--ca-cert",
        &ca,
    ]);
    assert_eq!(code, 1, "second enrollment needs --force: {out}");

    let (code, out, err) = b.run_cli(&["status", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let st: AgentStatus = serde_json::from_str(&out).expect("status JSON");
    assert!(
        st.enrolled && st.health == Health::Healthy && st.booth_id == "ALM-0101",
        "{st:?}"
    );

    // A failing job → degraded (1); an appeal unsent for two days → stuck (2).
    let mut s = b.store();
    let mut j = s
        .read(|tx| store_sync::job_status(tx, "outbox"))
        .expect("job");
    j.consecutive_failures = 3;
    j.last_error = Some("HTTP 503".into());
    s.write(|tx| store_sync::put_job_status(tx, &j))
        .expect("put");
    let (code, out, _) = b.run_cli(&["status"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("3 failure(s) in a row"), "{out}");
    let (old, _) = sample_new_appeal(
        "ALM-0101",
        chrono::Utc::now() - chrono::TimeDelta::days(2),
        None,
    );
    s.write(|tx| appeals::commit_appeal(tx, &old, "ALM01", 3))
        .expect("commit");
    let (code, out, _) = b.run_cli(&["status"]);
    assert_eq!(code, 2, "{out}");
    server.shutdown().await;
}

fn recv_until(sock: &UnixDatagram, want: &str, timeout: Duration) -> Vec<String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < timeout {
        if let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = m.lines().any(|l| l == want);
            seen.push(m);
            if hit {
                return seen;
            }
        }
    }
    panic!("no {want} within {timeout:?}; got {seen:?}");
}

#[test]
fn notifies_ready_and_watchdog_serves_the_socket_and_exits_0_on_sigterm() {
    let b = Booth::new("ALM-0102", BoothOpts::default());
    let nsock_path = b.dir.path().join("notify.sock");
    let nsock = UnixDatagram::bind(&nsock_path).expect("fake NOTIFY_SOCKET");
    nsock
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut child = b.spawn_as_systemd(
        &["run"],
        "agent.log",
        &[
            ("NOTIFY_SOCKET", nsock_path.to_str().expect("utf8")),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    recv_until(&nsock, "READY=1", Duration::from_secs(20));
    recv_until(&nsock, "WATCHDOG=1", Duration::from_secs(5));

    let mode = std::fs::metadata(b.socket())
        .expect("socket")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(
        mode, 0o660,
        "only the agent's user and the kiosk's group may connect"
    );
    match localapi::call(&b.socket(), &Request::Status, localapi::CLIENT_TIMEOUT).expect("status") {
        Response::Status { status } => assert_eq!(status.health, Health::NotEnrolled),
        other => panic!("{other:?}"),
    }
    let lid: booth_core::LookupId = "1a".repeat(32).parse().expect("lid");
    match localapi::call(
        &b.socket(),
        &Request::Lookup { lookup_id: lid },
        localapi::CLIENT_TIMEOUT,
    )
    .expect("lookup")
    {
        Response::Error { code, .. } => assert_eq!(code, localapi::ErrorCode::NotEnrolled),
        other => panic!("an unenrolled booth cannot ask the central service: {other:?}"),
    }
    let status = terminate(&mut child);
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM must exit 0\n{}",
        b.log("agent.log")
    );
    recv_until(&nsock, "STOPPING=1", Duration::from_secs(2));
    assert!(
        b.log("agent.log").contains("not enrolled"),
        "the log says why nothing is sent"
    );
}

/// Kills per run: the issue's 20 by default (about 11 s here); `SYNC_AGENT_KILLS=N` to change.
fn kills() -> usize {
    std::env::var("SYNC_AGENT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_during_uploads_loses_and_duplicates_nothing() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let chunk = 64 * 1024;
    // A cap keeps uploads in flight long enough to be killed mid-request.
    let b = Booth::new(
        "ALM-0103",
        BoothOpts {
            chunk_bytes: chunk,
            bandwidth_kib_s: 512,
            ..Default::default()
        },
    );
    b.enroll(&server).await;
    let sealed = b.seal_appeals(10, 500_000, &server.age_recipient);
    let total: u64 = {
        let mut s = b.store();
        s.read(|tx| {
            Ok::<_, StoreError>(
                outbox::pending(tx, 100)?
                    .iter()
                    .map(|i| i.media.sealed_size)
                    .sum(),
            )
        })
        .expect("sizes")
    };
    let mut rng = rand::rng();
    let n = kills();
    let mut mid_upload_kills = 0;
    for i in 0..n {
        let mut child = b.spawn(&["run"], "agent.log", &[]);
        // Kill while a request is in flight: wait (on a slow machine the agent may take
        // seconds to start) until an upload is under way, then a random moment into it.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let (uploading, (pending, _, _)) = {
                let mut s = b.store();
                let u = s
                    .read(|tx| outbox::in_state(tx, "uploading"))
                    .expect("uploading")
                    .len();
                (u, b.outbox_counts())
            };
            if uploading > 0 || pending == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..500)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let uploading = {
            let mut s = b.store();
            s.read(|tx| outbox::in_state(tx, "uploading"))
                .expect("uploading")
                .len()
        };
        mid_upload_kills += usize::from(uploading > 0);
        let (pending, destroyed, parked) = b.outbox_counts();
        assert_eq!(parked, 0, "kill {i}: nothing parked");
        assert_eq!(
            pending + destroyed,
            sealed.len(),
            "kill {i}: every appeal is either pending or destroyed"
        );
        assert_eq!(
            b.sealed_files(),
            pending,
            "kill {i}: a file exists exactly for each unconfirmed appeal"
        );
    }
    assert!(
        mid_upload_kills > 0,
        "no kill landed during an upload: the test proved nothing"
    );
    eprintln!("{mid_upload_kills} of {n} kills landed with an upload in progress");
    // A killed run may have died before it logged "ready": count from here.
    let readies_before = b.log("agent.log").matches("sync agent ready").count();
    let mut child = b.spawn(&["run"], "agent.log", &[]);
    // SIGTERM only once the handler is installed (systemd also waits for READY).
    wait_for(Duration::from_secs(60), "the final run is ready", || {
        b.log("agent.log").matches("sync agent ready").count() > readies_before
    })
    .await;
    wait_for(
        Duration::from_secs(180),
        "all delivered after the kills",
        || b.outbox_counts() == (0, sealed.len(), 0),
    )
    .await;
    let code = terminate(&mut child).code();
    assert_eq!(code, Some(0), "SIGTERM exit; log:\n{}", b.log("agent.log"));

    let (received, verified, sha_ok) = server_view(&server);
    assert_eq!(
        (received, verified),
        (sealed.len(), sealed.len()),
        "each appeal exactly once on the server"
    );
    assert!(sha_ok, "server copies match the sealed SHA-256");
    let sent = patch_bytes(&server);
    assert!(
        sent >= total && sent - total <= (n as u64 + 1) * chunk,
        "resent {} bytes over {n} kills",
        sent - total
    );
    let mut s = b.store();
    assert!(
        s.integrity_check().expect("integrity"),
        "database intact after {n} SIGKILLs"
    );
    let log = s.read(outbox::destruction_log).expect("log");
    for (id, _, _) in &sealed {
        assert_eq!(
            log.iter()
                .filter(|e| e.recording_id == *id && e.rule == outbox::RULE_UPLOADED)
                .count(),
            1,
            "{id}"
        );
    }
    assert_eq!(b.sealed_files(), 0);
    server.shutdown().await;
}
