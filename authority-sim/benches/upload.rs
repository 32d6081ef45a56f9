//! Prints figures of the upload path over real TLS on 127.0.0.1: tus PATCH throughput with
//! sha256 checksums (4 MiB chunks, like the sync agent's default), "complete" (the server hashes
//! the whole file), and create+answers round trips. `cargo bench -p authority-sim --bench upload`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark that cannot run just stops

use std::time::Instant;

use base64::Engine;
use booth_core::wire::{CompleteRequest, CreateAppeal, EnrollRequest, EnrollResponse, MediaInfo};
use sha2::{Digest, Sha256};

fn appeal(media: &[u8], seed: u8) -> CreateAppeal {
    CreateAppeal {
        id: uuid::Uuid::now_v7(),
        registration_number: "ALM01-03-2026-000127".parse().unwrap(),
        applicant: booth_core::Applicant::Individual {
            surname: "Абаев".parse().unwrap(),
            name: "Арман".parse().unwrap(),
            patronymic: None,
            iin: None,
            address: "Алматы, Абая 1".parse().unwrap(),
            email: None,
        },
        addressee_id: "akimat-almaty".into(),
        kind: booth_core::AppealKind::Statement,
        complaint: None,
        language: booth_core::Language::Ru,
        recorded_at: chrono::Utc::now(),
        duration_ms: 1,
        media: MediaInfo {
            sha256: hex::encode(Sha256::digest(media)),
            size: media.len() as u64,
            content_type: "video/webm".into(),
        },
        lookup_id: hex::encode([seed; 32]).parse().unwrap(),
        expected_answer_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
        continuation_of: None,
        visit_id: None,
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let s = authority_sim::serve(authority_sim::ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().into(),
    ))
    .await
    .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["b".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let ca = reqwest::Certificate::from_pem(s.ca_pem.as_bytes()).unwrap();
    let anon = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca.clone())
        .build()
        .unwrap();
    let er: EnrollResponse = anon
        .post(format!("{}/v1/enroll", s.url))
        .json(&EnrollRequest {
            token: s.issue_token("bench-booth").unwrap(),
            csr_pem: csr,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .identity(
            reqwest::Identity::from_pem(
                format!("{}{}", er.client_cert_pem, key.serialize_pem()).as_bytes(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();

    let size = 64 * 1024 * 1024;
    let media: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let body = appeal(&media, 1);
    c.put(format!("{}/v1/appeals/{}", s.url, body.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    let r = c
        .post(format!("{}/v1/uploads", s.url))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", size.to_string())
        .header(
            "Upload-Metadata",
            format!(
                "appeal_id {}",
                base64::engine::general_purpose::STANDARD.encode(body.id.to_string())
            ),
        )
        .send()
        .await
        .unwrap();
    let up = format!("{}{}", s.url, r.headers()["location"].to_str().unwrap());
    let chunk = 4 * 1024 * 1024;
    let t = Instant::now();
    for (i, part) in media.chunks(chunk).enumerate() {
        let sum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(part));
        let r = c
            .patch(&up)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", (i * chunk).to_string())
            .header("Upload-Checksum", format!("sha256 {sum}"))
            .body(part.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "tus upload, 64 MiB in 4 MiB PATCHes with sha256: {:.2} s, {:.1} MiB/s",
        secs,
        64.0 / secs
    );
    let t = Instant::now();
    let r = c
        .post(format!("{}/v1/appeals/{}/complete", s.url, body.id))
        .json(&CompleteRequest {
            sha256: body.media.sha256.clone(),
            size: size as u64,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    println!(
        "complete (server hashes 64 MiB): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let n = 200;
    let t = Instant::now();
    for i in 0..n {
        let b = appeal(b"x", (i % 250) as u8);
        let r = c
            .put(format!("{}/v1/appeals/{}", s.url, b.id))
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let per = t.elapsed().as_secs_f64() * 1000.0 / n as f64;
    println!("appeal create over mTLS (keep-alive): {per:.2} ms each ({n} appeals)");
    let t = Instant::now();
    let r = c
        .get(format!("{}/v1/answers?since=0&limit=500", s.url))
        .send()
        .await
        .unwrap();
    let _ = r.bytes().await.unwrap();
    println!(
        "answers page of {} updates: {:.0} ms",
        n + 1,
        t.elapsed().as_secs_f64() * 1000.0
    );
    s.shutdown().await;
}
