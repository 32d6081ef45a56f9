//! Hostile input: oversized bodies, malformed JSON, wrong media types, unknown fields, path
//! traversal in ids, bad tus headers. Each must be a 4xx `application/problem+json`, never a
//! 5xx or a dropped connection; plus a property test that throws random requests at the
//! router in-process (the request parsers' fuzz).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use authority_sim::server::BoothIdentity;
use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use proptest::prelude::*;
use tower::ServiceExt;

async fn expect_problem(r: reqwest::Response, status: u16) -> booth_core::wire::Problem {
    assert_eq!(r.status().as_u16(), status, "for {}", r.url());
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    r.json().await.unwrap()
}

#[tokio::test]
async fn hostile_bodies_and_ids_get_4xx_problems() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (c, _) = enroll(&s, "booth-h").await;
    let base = &s.url;
    let body = appeal(b"sealed", 1);
    let url = format!("{base}/v1/appeals/{}", body.id);

    // Oversized body (1 MiB of JSON string).
    let big = serde_json::json!({ "padding": "x".repeat(1 << 20) });
    let p = expect_problem(c.put(&url).json(&big).send().await.unwrap(), 413).await;
    assert_eq!(p.code, "too-large");
    // Malformed JSON.
    let r = c
        .put(&url)
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(expect_problem(r, 400).await.code, "bad-request");
    // Wrong media type.
    let r = c
        .put(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_problem(r, 415).await;
    // Unknown field.
    let mut v = serde_json::to_value(&body).unwrap();
    v["admin"] = serde_json::json!(true);
    let p = expect_problem(c.put(&url).json(&v).send().await.unwrap(), 400).await;
    assert!(p.detail.unwrap().contains("unknown field"));
    // Unknown field nested in the applicant.
    let mut v = serde_json::to_value(&body).unwrap();
    v["applicant"]["iin_override"] = serde_json::json!("1");
    expect_problem(c.put(&url).json(&v).send().await.unwrap(), 400).await;
    // Path traversal in ids (percent-encoded so the client does not normalise it away).
    for path in [
        "/v1/appeals/..%2F..%2Fetc%2Fpasswd",
        "/v1/appeals/%2e%2e",
        "/v1/lookup/..%2F..%2Fauthority.sqlite",
        "/v1/lookup/%00",
    ] {
        let r = c
            .request(
                if path.contains("appeals") {
                    Method::PUT
                } else {
                    Method::GET
                },
                format!("{base}{path}"),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        assert!(st == 400 || st == 404, "{path}: {st}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
    let r = c
        .patch(format!("{base}/v1/uploads/..%2F..%2Fca.key.pem"))
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(expect_problem(r, 400).await.code, "bad-id");

    // tus: missing version, bad offset header, body longer than the upload.
    c.put(&url).json(&body).send().await.unwrap();
    let up = tus_create(&c, base, body.id, 6).await;
    let r = c
        .patch(&up)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body("sealed")
        .send()
        .await
        .unwrap();
    expect_problem(r, 400).await;
    let r = c
        .patch(&up)
        .header("Tus-Resumable", "0.2.2")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body("sealed")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    expect_problem(r, 412).await;
    let r = c
        .patch(&up)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "-1")
        .body("sealed")
        .send()
        .await
        .unwrap();
    expect_problem(r, 400).await;
    let r = tus_patch(&c, &up, 0, b"sealed and more", None).await;
    expect_problem(r, 413).await;
    assert_eq!(
        tus_head(&c, &up).await,
        0,
        "an over-long PATCH must store nothing"
    );
    // Upload-Length above the limit.
    let r = c
        .post(format!("{base}/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "99999999999999")
        .header(
            "Upload-Metadata",
            format!("appeal_id {}", b64(body.id.to_string().as_bytes())),
        )
        .send()
        .await
        .unwrap();
    expect_problem(r, 413).await;

    // Unknown route and method.
    expect_problem(
        c.get(format!("{base}/v1/nothing")).send().await.unwrap(),
        404,
    )
    .await;
    expect_problem(
        c.delete(format!("{base}/v1/config")).send().await.unwrap(),
        405,
    )
    .await;
    // Query garbage.
    expect_problem(
        c.get(format!("{base}/v1/answers?since=-5"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    expect_problem(
        c.get(format!("{base}/v1/answers?limit=0"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    s.shutdown().await;
}

fn arb_request() -> impl Strategy<Value = (String, String, Vec<(String, String)>, Vec<u8>)> {
    let methods = prop::sample::select(vec![
        "GET", "PUT", "POST", "PATCH", "HEAD", "DELETE", "OPTIONS",
    ]);
    let segs = prop::sample::select(vec![
        "/v1/enroll".to_owned(),
        "/v1/directory".to_owned(),
        "/v1/config".to_owned(),
        "/v1/appeals/0190a0e0-0000-7000-8000-000000000000".to_owned(),
        "/v1/appeals/0190a0e0-0000-7000-8000-000000000000/complete".to_owned(),
        "/v1/uploads".to_owned(),
        "/v1/uploads/0123456789abcdef0123456789abcdef".to_owned(),
        "/v1/answers".to_owned(),
        "/v1/lookup/".to_owned(),
        "/v1/ratings".to_owned(),
        "/v1/visits".to_owned(),
        "/v1/heartbeat".to_owned(),
        "/operator/api/appeals".to_owned(),
    ]);
    let tail = "[a-zA-Z0-9%./_-]{0,20}";
    let header = (
        prop::sample::select(vec![
            "content-type",
            "upload-offset",
            "upload-length",
            "upload-metadata",
            "upload-checksum",
            "tus-resumable",
            "if-none-match",
            "authorization",
            "range",
        ]),
        "[ -~]{0,40}",
    )
        .prop_map(|(k, v)| (k.to_owned(), v));
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "[{}\\[\\]\":,a-z0-9 ]{0,300}".prop_map(String::into_bytes),
    ];
    (
        methods,
        (segs, tail),
        prop::collection::vec(header, 0..4),
        body,
    )
        .prop_map(|(m, (s, t), h, b)| (m.to_owned(), format!("{s}{t}"), h, b))
}

#[test]
fn random_requests_never_get_a_server_error() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = rt.block_on(start(dir.path()));
    let app = authority_sim::server::router(Arc::clone(&s.state));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(arb_request(), any::<bool>()),
            |((method, path, headers, body), with_booth)| {
                let mut b = Request::builder().method(method.as_str()).uri(&path);
                for (k, v) in &headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                let Ok(mut req) = b.body(Body::from(body)) else {
                    return Ok(());
                };
                req.extensions_mut()
                    .insert(BoothIdentity(with_booth.then(|| "fuzz-booth".to_owned())));
                let resp = rt.block_on(app.clone().oneshot(req)).unwrap();
                prop_assert!(
                    resp.status().as_u16() < 500,
                    "{method} {path} {headers:?} -> {}",
                    resp.status()
                );
                if resp.status().is_client_error() && method != "HEAD" {
                    let ct = resp
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    prop_assert_eq!(ct, "application/problem+json", "{} {}", method, path);
                }
                Ok(())
            },
        )
        .unwrap();
    rt.block_on(s.shutdown());
}
