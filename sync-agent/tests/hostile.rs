//! Hostile and malformed answers are refused with a specific log line of the real binary and
//! nothing is marked uploaded: a truncated body, a wrong checksum echo on "complete" and an
//! expired server certificate (authority-sim faults), a wrong content type and a huge body (a
//! TLS server with a certificate from the authority's own CA), and a server whose certificate
//! comes from another CA. Afterwards the appeal is still delivered exactly once.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use authority_sim::{FaultConfig, FaultRule, RunningServer};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS server trusted by the booth (certificate signed by the authority's CA) that answers
/// every request with `response`.
async fn hostile_server(server: &RunningServer, response: &'static [u8]) -> SocketAddr {
    let (chain, key) = server
        .state
        .authority
        .server_cert(&["127.0.0.1".into(), "localhost".into()], false)
        .expect("server cert");
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                loop {
                    // Read one request (headers, then Content-Length bytes), answer, repeat.
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match tls.read(&mut b).await {
                            Ok(1) => head.push(b[0]),
                            _ => return,
                        }
                    }
                    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    if tls.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if tls.write_all(response).await.is_err() {
                        return;
                    }
                    let _ = tls.flush().await;
                }
            });
        }
    });
    addr
}

fn point_at(b: &Booth, url: &str) {
    let p = b.state().enrollment_file();
    let mut e: sync_agent::state::Enrollment =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
    e.central_url = url.to_owned();
    b.state().write_enrollment(&e).expect("write");
}

/// Runs the binary until its log (a fresh file per phase) contains `needle`, then stops it.
async fn phase(b: &Booth, name: &str, needle: &str) -> String {
    let log = format!("{name}.log");
    let mut child = b.spawn(&["run"], &log, &[]);
    let start = std::time::Instant::now();
    while !b.log(&log).contains(needle) {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = terminate(&mut child);
            panic!(
                "{name}: no log line containing {needle:?} within 20 s; log:\n{}",
                b.log(&log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(terminate(&mut child).code(), Some(0), "{name}: clean exit");
    assert_eq!(
        b.outbox_counts(),
        (1, 0, 0),
        "{name}: nothing marked uploaded or parked on a hostile answer"
    );
    assert_eq!(b.sealed_files(), 1, "{name}: the sealed file is kept");
    b.log(&log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_answers_are_refused_with_specific_log_lines_and_nothing_is_marked() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let b = Booth::new("ALM-0201", BoothOpts::default());
    b.enroll(&server).await;
    b.seal_appeals(1, 50_000, &server.age_recipient);
    let rule = |route: &str| FaultRule {
        route: route.into(),
        ..Default::default()
    };

    server.faults().set(FaultConfig {
        rules: vec![FaultRule {
            truncate_response: true,
            ..rule("PUT /v1/appeals/{appeal_id}")
        }],
        ..Default::default()
    });
    // The sim cuts the answer and drops the connection: refused, never acted on.
    phase(&b, "truncated", "truncated response or connection reset").await;

    server.faults().set(FaultConfig {
        rules: vec![FaultRule {
            wrong_checksum: true,
            ..rule("POST /v1/appeals/{appeal_id}/complete")
        }],
        ..Default::default()
    });
    phase(&b, "wrong-checksum", "not marking uploaded").await;

    server.faults().set(FaultConfig {
        expired_certificate: true,
        ..Default::default()
    });
    phase(&b, "expired", "server certificate has expired").await;
    server.faults().set(FaultConfig::default());

    let html = hostile_server(
        &server,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n<html>hi</html>",
    )
    .await;
    point_at(&b, &format!("https://{html}"));
    phase(&b, "content-type", "wrong content type").await;

    let huge = hostile_server(&server, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{\"appeal_id\":").await;
    point_at(&b, &format!("https://{huge}"));
    phase(&b, "huge", "exceeds the 4194304-byte limit").await;

    let other_data = tempfile::tempdir().expect("tmp");
    let other = start_sim(other_data.path(), reserve_addr()).await;
    point_at(&b, &other.url);
    phase(&b, "other-ca", "not signed by the pinned authority CA").await;
    assert_eq!(
        requests(&other, "PUT /v1/appeals/{appeal_id}"),
        0,
        "no request reached the impostor"
    );
    other.shutdown().await;

    point_at(&b, &server.url);
    let mut child = b.spawn(&["run"], "final.log", &[]);
    wait_for(
        Duration::from_secs(30),
        "delivered once the server behaves",
        || b.outbox_counts() == (0, 1, 0),
    )
    .await;
    assert_eq!(terminate(&mut child).code(), Some(0));
    let (received, verified, sha_ok) = server_view(&server);
    assert_eq!((received, verified, sha_ok), (1, 1, true));
    server.shutdown().await;
}
