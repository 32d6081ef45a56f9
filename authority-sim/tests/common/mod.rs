//! Shared helpers of authority-sim's integration tests: start a server in a temp dir on
//! 127.0.0.1:0, enroll a booth over real TLS, build appeal bodies.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::net::SocketAddr;

use authority_sim::{RunningServer, ServeOptions};
use booth_core::wire::{CreateAppeal, EnrollRequest, EnrollResponse, MediaInfo};
use booth_core::{AppealKind, Applicant, Language};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const OPERATOR_PASSWORD: &str = "operator-test-pass";

pub fn loopback0() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn start(dir: &std::path::Path) -> RunningServer {
    let mut o = ServeOptions::new(loopback0(), dir.to_path_buf());
    o.admin_listen = Some(loopback0());
    o.plain_test_listen = Some(loopback0());
    o.operator_password = Some(OPERATOR_PASSWORD.into());
    authority_sim::serve(o).await.unwrap()
}

/// A client trusting the server's CA, without a client certificate.
pub fn anonymous(server: &RunningServer) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(server.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

/// A booth's device key and CSR.
pub fn device_key() -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["ignored-by-server".to_owned()]).unwrap();
    let csr = params.serialize_request(&key).unwrap();
    (key, csr.pem().unwrap())
}

/// Enrolls `booth_id` over TLS and returns a mutual-TLS client and the response.
pub async fn enroll(server: &RunningServer, booth_id: &str) -> (reqwest::Client, EnrollResponse) {
    let token = server.issue_token(booth_id).unwrap();
    let (key, csr) = device_key();
    let r = anonymous(server)
        .post(format!("{}/v1/enroll", server.url))
        .json(&EnrollRequest {
            token,
            csr_pem: csr,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "enrollment refused: {}",
        r.text().await.unwrap_or_default()
    );
    let er: EnrollResponse = r.json().await.unwrap();
    let identity = format!("{}{}", er.client_cert_pem, key.serialize_pem());
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(er.ca_cert_pem.as_bytes()).unwrap())
        .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
        .build()
        .unwrap();
    (client, er)
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// An appeal body for `media` (the sealed bytes).
pub fn appeal(media: &[u8], lookup_seed: u8) -> CreateAppeal {
    CreateAppeal {
        id: Uuid::now_v7(),
        registration_number: "ALM01-03-2026-000127".parse().unwrap(),
        applicant: Applicant::Individual {
            surname: "Сейткали".parse().unwrap(),
            name: "Айгерим".parse().unwrap(),
            patronymic: None,
            iin: None,
            address: "Алматы, ул. Абая 10, кв. 5".parse().unwrap(),
            email: None,
        },
        addressee_id: "akimat-almaty".into(),
        kind: AppealKind::Statement,
        complaint: None,
        language: Language::Ru,
        recorded_at: chrono::Utc::now(),
        duration_ms: 12_000,
        media: MediaInfo {
            sha256: sha256_hex(media),
            size: media.len() as u64,
            content_type: "video/webm".into(),
        },
        lookup_id: hex::encode([lookup_seed; 32]).parse().unwrap(),
        expected_answer_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 15),
        continuation_of: None,
        visit_id: None,
    }
}

pub fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Creates a tus upload for `appeal_id` of `len` bytes; returns the absolute upload URL.
pub async fn tus_create(c: &reqwest::Client, base: &str, appeal_id: Uuid, len: usize) -> String {
    let r = c
        .post(format!("{base}/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len.to_string())
        .header(
            "Upload-Metadata",
            format!("appeal_id {}", b64(appeal_id.to_string().as_bytes())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    format!("{base}{loc}")
}

/// One PATCH with a sha256 checksum of `chunk` (or of `checksum_of` when given).
pub async fn tus_patch(
    c: &reqwest::Client,
    url: &str,
    offset: u64,
    chunk: &[u8],
    checksum_of: Option<&[u8]>,
) -> reqwest::Response {
    let digest = Sha256::digest(checksum_of.unwrap_or(chunk));
    c.patch(url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .header("Upload-Checksum", format!("sha256 {}", b64(&digest)))
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap()
}

pub async fn tus_head(c: &reqwest::Client, url: &str) -> u64 {
    let r = c
        .head(url)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}
