//! Protocol tests over real TLS on 127.0.0.1: enrollment then mutual TLS, refusal of calls
//! without a certificate or with another CA's, per-booth isolation, idempotent create, tus with
//! offset mismatch and bad checksum, "complete" with a wrong SHA-256, and injected faults.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use booth_core::wire::{
    AnswersPage, AppealAccepted, CompleteRequest, CompleteResponse, EnrollRequest, LookupResponse,
    MediaState, Problem,
};
use common::*;

async fn problem(r: reqwest::Response) -> Problem {
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "errors must be problem+json"
    );
    r.json().await.unwrap()
}

#[tokio::test]
async fn enrollment_then_mutual_tls_call_and_etag() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (c, er) = enroll(&s, "ALM01-03").await;
    assert_eq!(er.booth_id, "ALM01-03");
    assert!(er.age_recipients[0].starts_with("age1"));
    assert_eq!(er.config.deadline_working_days, 15);

    let r = c.get(format!("{}/v1/config", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{}/v1/directory", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = c
        .get(format!("{}/v1/directory", s.url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304, "a matching If-None-Match must give 304");
    let r = c
        .get(format!("{}/v1/calendar", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    booth_core::WorkingCalendar::from_toml(&text).expect("calendar in booth-core format");

    // The token was single use.
    let token_again = s.issue_token("ALM01-04").unwrap();
    let (_, csr) = device_key();
    let a = anonymous(&s);
    let ok = a
        .post(format!("{}/v1/enroll", s.url))
        .json(&EnrollRequest {
            token: token_again.clone(),
            csr_pem: csr.clone(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let again = a
        .post(format!("{}/v1/enroll", s.url))
        .json(&EnrollRequest {
            token: token_again,
            csr_pem: csr,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 403);
    assert_eq!(problem(again).await.code, "bad-token");
    s.shutdown().await;
}

#[tokio::test]
async fn calls_without_or_with_a_foreign_certificate_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let r = anonymous(&s)
        .get(format!("{}/v1/config", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(problem(r).await.code, "unauthenticated");

    // A client certificate from another CA, with the same booth id in its CN.
    let other_ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&other_ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, &other_ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["ALM01-03".to_owned()]).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "ALM01-03");
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, &issuer).unwrap();
    let _ = ca_cert;
    let forged = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(s.ca_pem.as_bytes()).unwrap())
        .identity(
            reqwest::Identity::from_pem(
                format!("{}{}", cert.pem(), key.serialize_pem()).as_bytes(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    match forged.get(format!("{}/v1/config", s.url)).send().await {
        Err(_) => {} // handshake refused
        Ok(r) => panic!("a certificate from another CA got HTTP {}", r.status()),
    }
    s.shutdown().await;
}

#[tokio::test]
async fn idempotent_create_and_per_booth_isolation() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (a, _) = enroll(&s, "booth-a").await;
    let (b, _) = enroll(&s, "booth-b").await;
    let media = vec![7u8; 1000];
    let body = appeal(&media, 0xab);
    let url = format!("{}/v1/appeals/{}", s.url, body.id);

    let r1 = a.put(&url).json(&body).send().await.unwrap();
    assert_eq!(r1.status(), 201);
    let acc1: AppealAccepted = r1.json().await.unwrap();
    assert_eq!(acc1.media, MediaState::Pending);
    let r2 = a.put(&url).json(&body).send().await.unwrap();
    assert_eq!(
        r2.status(),
        200,
        "same id + same body must be the same result"
    );
    let acc2: AppealAccepted = r2.json().await.unwrap();
    assert_eq!(acc1.central_number, acc2.central_number);
    assert_eq!(
        s.state.db.all_appeals().unwrap().len(),
        1,
        "two creates, one appeal"
    );

    let mut changed = body.clone();
    changed.duration_ms += 1;
    let r3 = a.put(&url).json(&changed).send().await.unwrap();
    assert_eq!(r3.status(), 409);
    assert_eq!(problem(r3).await.code, "appeal-conflict");

    // Booth B sees nothing of A's: not in its answers, not completable, not creatable.
    let page: AnswersPage = b
        .get(format!("{}/v1/answers?since=0", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page.updates.is_empty(), "booth B got booth A's updates");
    let page_a: AnswersPage = a
        .get(format!("{}/v1/answers?since=0", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page_a.updates.len(), 1);
    let rc = b
        .post(format!("{url}/complete"))
        .json(&CompleteRequest {
            sha256: body.media.sha256.clone(),
            size: 1000,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(rc.status(), 404);
    assert_eq!(b.put(&url).json(&body).send().await.unwrap().status(), 409);
    // But a lookup by lookup id works from any booth, without personal data.
    let lr = b
        .get(format!("{}/v1/lookup/{}", s.url, body.lookup_id))
        .send()
        .await
        .unwrap();
    assert_eq!(lr.status(), 200);
    let text = lr.text().await.unwrap();
    assert!(
        !text.contains("Сейткали") && !text.contains("Абая"),
        "lookup leaked personal data: {text}"
    );
    let l: LookupResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(l.appeal_id, body.id);
    s.shutdown().await;
}

#[tokio::test]
async fn tus_upload_in_pieces_with_offset_mismatch_bad_checksum_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (c, _) = enroll(&s, "booth-t").await;
    let media: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let body = appeal(&media, 0x11);
    let r = c
        .put(format!("{}/v1/appeals/{}", s.url, body.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let opts = c
        .request(reqwest::Method::OPTIONS, format!("{}/v1/uploads", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(opts.status(), 204);
    assert!(
        opts.headers()["tus-extension"]
            .to_str()
            .unwrap()
            .contains("checksum")
    );

    let up = tus_create(&c, &s.url, body.id, media.len()).await;
    // Creating again returns the same upload.
    assert_eq!(tus_create(&c, &s.url, body.id, media.len()).await, up);

    let r = tus_patch(&c, &up, 0, &media[..100_000], None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "100000");

    // The booth thinks it sent more than it did: 409, then HEAD, then resume.
    let r = tus_patch(&c, &up, 150_000, &media[150_000..200_000], None).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["upload-offset"], "100000");
    let p = problem(r).await;
    assert_eq!(
        (p.code.as_str(), p.upload_offset),
        ("offset-mismatch", Some(100_000))
    );
    let off = tus_head(&c, &up).await;
    assert_eq!(off, 100_000);

    // A corrupted chunk: 460, nothing stored.
    let mut bad = media[100_000..200_000].to_vec();
    bad[5] ^= 0xff;
    let r = tus_patch(&c, &up, off, &bad, Some(&media[100_000..200_000])).await;
    assert_eq!(r.status(), 460);
    assert_eq!(problem(r).await.code, "checksum-mismatch");
    assert_eq!(
        tus_head(&c, &up).await,
        100_000,
        "a chunk with a bad checksum must not be stored"
    );

    let r = tus_patch(&c, &up, 100_000, &media[100_000..], None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(tus_head(&c, &up).await, media.len() as u64);

    // complete with a wrong SHA-256 is refused.
    let complete = format!("{}/v1/appeals/{}/complete", s.url, body.id);
    let r = c
        .post(&complete)
        .json(&CompleteRequest {
            sha256: sha256_hex(b"other"),
            size: media.len() as u64,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await.code, "sha256-mismatch");
}

#[tokio::test]
async fn complete_verifies_the_whole_file_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (c, _) = enroll(&s, "booth-c").await;
    let media = vec![42u8; 50_000];
    let body = appeal(&media, 0x22);
    c.put(format!("{}/v1/appeals/{}", s.url, body.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    let complete = format!("{}/v1/appeals/{}/complete", s.url, body.id);
    let req = CompleteRequest {
        sha256: body.media.sha256.clone(),
        size: media.len() as u64,
    };
    // Before any bytes: 409 upload-incomplete.
    let r = c.post(&complete).json(&req).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await.code, "upload-incomplete");
    let up = tus_create(&c, &s.url, body.id, media.len()).await;
    assert_eq!(tus_patch(&c, &up, 0, &media, None).await.status(), 204);
    let r = c.post(&complete).json(&req).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cr: CompleteResponse = r.json().await.unwrap();
    assert_eq!(cr.sha256, body.media.sha256);
    // Again after a lost response: the same answer.
    let cr2: CompleteResponse = c
        .post(&complete)
        .json(&req)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cr2.sha256, cr.sha256);
    // A retried create now says the media is verified (nothing to upload).
    let acc: AppealAccepted = c
        .put(format!("{}/v1/appeals/{}", s.url, body.id))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(acc.media, MediaState::Verified);
    s.shutdown().await;
}

#[tokio::test]
async fn injected_faults_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (c, _) = enroll(&s, "booth-f").await;
    let media = vec![9u8; 200_000];
    let body = appeal(&media, 0x33);
    c.put(format!("{}/v1/appeals/{}", s.url, body.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    let up = tus_create(&c, &s.url, body.id, media.len()).await;
    let patch_route = "PATCH /v1/uploads/{upload_id}";

    // 503 with Retry-After, once.
    s.faults().push(authority_sim::FaultRule {
        route: patch_route.into(),
        status: Some(503),
        retry_after_s: 7,
        times: Some(1),
        ..Default::default()
    });
    let r = tus_patch(&c, &up, 0, &media, None).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "7");

    // Reset after 64 KiB of the body: the client sees a broken connection, nothing is kept
    // (the chunk had a checksum).
    s.faults().push(authority_sim::FaultRule {
        route: patch_route.into(),
        reset_after_bytes: Some(65_536),
        times: Some(1),
        ..Default::default()
    });
    let r = c
        .patch(&up)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .header(
            "Upload-Checksum",
            format!(
                "sha256 {}",
                b64(&sha2::Digest::finalize(
                    <sha2::Sha256 as sha2::Digest>::new_with_prefix(&media)
                ))
            ),
        )
        .body(media.clone())
        .send()
        .await;
    assert!(
        r.is_err() || r.as_ref().is_ok_and(|r| !r.status().is_success()),
        "reset must not look like success"
    );
    assert_eq!(tus_head(&c, &up).await, 0);
    assert_eq!(tus_patch(&c, &up, 0, &media, None).await.status(), 204);

    // Wrong checksum echo on complete.
    s.faults().push(authority_sim::FaultRule {
        route: "POST /v1/appeals/{appeal_id}/complete".into(),
        wrong_checksum: true,
        times: Some(1),
        ..Default::default()
    });
    let cr: CompleteResponse = c
        .post(format!("{}/v1/appeals/{}/complete", s.url, body.id))
        .json(&CompleteRequest {
            sha256: body.media.sha256.clone(),
            size: media.len() as u64,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(
        cr.sha256, body.media.sha256,
        "the fault must echo a wrong digest"
    );

    // Truncated response body.
    s.faults().push(authority_sim::FaultRule {
        route: "GET /v1/directory".into(),
        truncate_response: true,
        times: Some(1),
        ..Default::default()
    });
    let read = match c.get(format!("{}/v1/directory", s.url)).send().await {
        Ok(r) => r.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(read.is_err(), "a truncated body must fail to read");

    let counters = s.faults().counters();
    let p = &counters[patch_route];
    assert_eq!(p.requests, 3);
    assert_eq!(p.responses.get(&503), Some(&1));
    assert_eq!(
        p.responses.get(&0),
        Some(&1),
        "the reset counts as status 0"
    );
    assert!(
        p.request_bytes >= 65_536 + 200_000,
        "bytes received: {}",
        p.request_bytes
    );
    // The admin endpoint shows the same counters.
    let admin = reqwest::get(format!("{}/admin/counters", s.admin_url.as_ref().unwrap()))
        .await
        .unwrap();
    let j: serde_json::Value = admin.json().await.unwrap();
    assert_eq!(j[patch_route]["requests"], 3);
    s.shutdown().await;
}

#[tokio::test]
async fn expired_server_certificate_fault_is_refused_by_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path()).await;
    let (c, _) = enroll(&s, "booth-e").await;
    s.faults().set(authority_sim::FaultConfig {
        rules: vec![],
        expired_certificate: true,
    });
    let fresh = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(s.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let e = fresh
        .get(format!("{}/v1/config", s.url))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").to_lowercase().contains("expired"), "{e:?}");
    drop(c);
    s.shutdown().await;
}
