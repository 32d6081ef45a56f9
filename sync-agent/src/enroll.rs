//! Enrollment: a technician's one-time token + a CSR made with a fresh device key → the
//! booth's client certificate, the authority's CA, age recipients and booth config.
//!
//! The device key (ECDSA P-256, PKCS#8) is made here, written with mode 0600 and never sent
//! anywhere. The first contact already uses TLS with the authority's CA pinned (from
//! `--ca-cert` or a CA provisioned in the state dir), so the token cannot be phished by a
//! server that merely answers on the URL. After the files are written, one mutual-TLS call
//! (`GET /v1/config`) proves the new identity works before the command reports success.

use std::path::PathBuf;

use booth_core::wire::{EnrollRequest, EnrollResponse, paths, problem_codes};
use chrono::{DateTime, Utc};
use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256, PublicKeyData as _};
use reqwest::Method;

use crate::db::Db;
use crate::error::SyncError;
use crate::http::{Central, MAX_CLOCK_SKEW, TlsMaterial, http_error, read_json, server_date};
use crate::state::{Enrollment, StateDir};

/// Why enrollment failed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The booth is enrolled already.
    #[error(
        "this booth is already enrolled with {url}; pass --force to enroll again (a new key and certificate are made)"
    )]
    AlreadyEnrolled {
        /// Current central URL.
        url: String,
    },
    /// No CA to pin.
    #[error(
        "no CA certificate to trust: pass --ca-cert FILE (the authority's CA from the provisioning bundle) or place it at {0}"
    )]
    NoCa(PathBuf),
    /// The CA file is unusable.
    #[error("CA certificate {path}: {detail}")]
    BadCa {
        /// File.
        path: PathBuf,
        /// Cause.
        detail: String,
    },
    /// The central service refused the token.
    #[error(
        "the central service refused the enrollment token (wrong, already used or expired): ask the operator for a new one ({detail})"
    )]
    WrongToken {
        /// Problem detail.
        detail: String,
    },
    /// The central service could not be reached.
    #[error("cannot reach the central service at {url}: {detail}; check the URL and the network")]
    Unreachable {
        /// URL.
        url: String,
        /// Cause.
        detail: String,
    },
    /// The booth clock is far from the server's.
    #[error(
        "the booth clock is off by {skew_s} s compared with the central service (more than 5 minutes): set the time (NTP) and enroll again"
    )]
    ClockOff {
        /// Booth minus server, in seconds.
        skew_s: i64,
    },
    /// The issued certificate is not valid at the booth's current time.
    #[error(
        "the issued certificate is valid from {not_before} to {not_after}, but the booth clock says {now}: set the time (NTP) and enroll again"
    )]
    CertNotValidNow {
        /// Start.
        not_before: DateTime<Utc>,
        /// End.
        not_after: DateTime<Utc>,
        /// Booth time.
        now: DateTime<Utc>,
    },
    /// The central service's answer is unusable.
    #[error("the central service's enrollment answer was refused: {0}")]
    BadAnswer(String),
    /// Any other sync failure (TLS, HTTP status, files).
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// Inputs of `sync-agent enroll`.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// Central base URL (`https://…`).
    pub url: String,
    /// One-time token.
    pub token: String,
    /// The authority's CA certificate file; default `<state>/sync/ca.crt` if provisioned.
    pub ca_cert: Option<PathBuf>,
    /// Enroll again even if enrolled.
    pub force: bool,
}

fn pem_to_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    let (_, p) =
        x509_parser::pem::parse_x509_pem(pem).map_err(|e| format!("not a PEM certificate: {e}"))?;
    p.parse_x509()
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    Ok(p.contents)
}

fn check_clock(now: DateTime<Utc>, resp: &reqwest::Response) -> Result<(), EnrollError> {
    if let Some(server) = server_date(resp.headers()) {
        let skew = now - server;
        if skew.abs() > MAX_CLOCK_SKEW {
            return Err(EnrollError::ClockOff {
                skew_s: skew.num_seconds(),
            });
        }
    }
    Ok(())
}

/// Runs the enrollment and writes the state; returns the record.
pub async fn enroll(
    state: &StateDir,
    db: &Db,
    opts: &EnrollOptions,
) -> Result<Enrollment, EnrollError> {
    enroll_with_clock(state, db, opts, &booth_core::SystemClock).await
}

/// [`enroll`] with the booth's clock given (tests use a clock set far off).
pub async fn enroll_with_clock(
    state: &StateDir,
    db: &Db,
    opts: &EnrollOptions,
    clock: &dyn booth_core::Clock,
) -> Result<Enrollment, EnrollError> {
    state.ensure()?;
    if !opts.force
        && let Ok(e) = state.enrollment()
    {
        return Err(EnrollError::AlreadyEnrolled { url: e.central_url });
    }
    let ca_path = opts.ca_cert.clone().unwrap_or_else(|| state.ca());
    if !ca_path.is_file() {
        return Err(EnrollError::NoCa(ca_path));
    }
    let ca_pem = std::fs::read(&ca_path).map_err(|e| EnrollError::BadCa {
        path: ca_path.clone(),
        detail: e.to_string(),
    })?;
    let pinned_der = pem_to_der(&ca_pem).map_err(|detail| EnrollError::BadCa {
        path: ca_path.clone(),
        detail,
    })?;
    let url = opts.url.trim_end_matches('/').to_owned();
    let central = Central::new(
        &url,
        &TlsMaterial {
            ca_pem: ca_pem.clone(),
            identity_pem: None,
        },
    )?;

    // Preflight without the token: reachability, TLS with the pinned CA and the clock are
    // checked before the one-time token is spent.
    let probe = central.request(Method::OPTIONS, paths::UPLOADS)?;
    let probe = match central.send(probe, "OPTIONS /v1/uploads").await {
        Ok(r) => r,
        Err(SyncError::Unreachable { url, detail }) => {
            return Err(EnrollError::Unreachable { url, detail });
        }
        Err(e) => return Err(e.into()),
    };
    check_clock(clock.now(), &probe)?;

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| EnrollError::BadAnswer(format!("cannot make a device key: {e}")))?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| EnrollError::BadAnswer(e.to_string()))?;
    params.distinguished_name.push(DnType::CommonName, "booth");
    let csr_pem = params
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| EnrollError::BadAnswer(format!("cannot make the CSR: {e}")))?;

    let req = central
        .request(Method::POST, paths::ENROLL)?
        .json(&EnrollRequest {
            token: opts.token.clone(),
            csr_pem,
        });
    let resp = match central.send(req, paths::ENROLL).await {
        Ok(r) => r,
        Err(SyncError::Unreachable { url, detail }) => {
            return Err(EnrollError::Unreachable { url, detail });
        }
        Err(e) => return Err(e.into()),
    };
    let now = clock.now();
    check_clock(now, &resp)?;
    if !resp.status().is_success() {
        let e = http_error(resp, "POST", paths::ENROLL).await;
        if let SyncError::Http {
            status,
            code,
            detail,
            ..
        } = &e
            && (code == problem_codes::BAD_TOKEN || *status == 401 || *status == 403)
        {
            return Err(EnrollError::WrongToken {
                detail: detail.clone(),
            });
        }
        return Err(e.into());
    }
    let answer: EnrollResponse = read_json(resp, paths::ENROLL).await?;

    // The certificate must carry our key, be valid now, and the CA must be the pinned one.
    let (_, cert_pem) = x509_parser::pem::parse_x509_pem(answer.client_cert_pem.as_bytes())
        .map_err(|e| EnrollError::BadAnswer(format!("client certificate is not PEM: {e}")))?;
    let cert = cert_pem
        .parse_x509()
        .map_err(|e| EnrollError::BadAnswer(format!("client certificate does not parse: {e}")))?;
    if cert.public_key().raw != key.subject_public_key_info().as_slice() {
        return Err(EnrollError::BadAnswer(
            "the certificate is not for this booth's key".into(),
        ));
    }
    let ts = |t: i64| DateTime::from_timestamp(t, 0).unwrap_or_default();
    let (nb, na) = (
        ts(cert.validity().not_before.timestamp()),
        ts(cert.validity().not_after.timestamp()),
    );
    if now < nb || now > na {
        return Err(EnrollError::CertNotValidNow {
            not_before: nb,
            not_after: na,
            now,
        });
    }
    let ca_der = pem_to_der(answer.ca_cert_pem.as_bytes())
        .map_err(|e| EnrollError::BadAnswer(format!("CA certificate: {e}")))?;
    if ca_der != pinned_der {
        return Err(EnrollError::BadAnswer(
            "the returned CA differs from the pinned CA certificate".into(),
        ));
    }
    if answer.booth_id.is_empty() || answer.booth_id.len() > 64 {
        return Err(EnrollError::BadAnswer(
            "booth id missing or too long".into(),
        ));
    }

    state.write_atomic(&state.key(), key.serialize_pem().as_bytes(), 0o600)?;
    state.write_atomic(&state.cert(), answer.client_cert_pem.as_bytes(), 0o644)?;
    state.write_atomic(&state.ca(), &ca_pem, 0o644)?;
    let mut recipients = answer.age_recipients.clone();
    if recipients.is_empty() {
        recipients = answer.config.age_recipients.clone();
    }
    crate::pulls::store_config(db, &answer.config).await?;
    if !recipients.is_empty() {
        let r = recipients.join("\n");
        db.write(move |tx| {
            booth_core::store::kv_set(tx, booth_core::store::sync::KV_AGE_RECIPIENTS, &r)
        })
        .await?;
    }
    let record = Enrollment {
        booth_id: answer.booth_id.clone(),
        central_url: url,
        age_recipients: recipients,
        enrolled_at: now,
    };
    state.write_enrollment(&record)?;

    // Prove the new identity with one mutual-TLS call.
    let mtls = Central::from_state(state)?;
    let cfg: booth_core::wire::BoothConfig = mtls.get_json(paths::CONFIG).await?;
    crate::pulls::store_config(db, &cfg).await?;
    tracing::info!(booth_id = %record.booth_id, "enrolled; mutual TLS verified");
    Ok(record)
}
