//! Errors of the protocol routes, each turned into an `application/problem+json` response
//! (RFC 9457) with a stable code from `booth_core::wire::problem_codes`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use booth_core::wire::{PROBLEM_CONTENT_TYPE, Problem, problem_codes as codes, tus};

/// A refused or failed request. Every variant maps to one HTTP status and problem code; the
/// `detail` never holds personal data (ids and sizes only).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed body or parameter.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Malformed id in the path.
    #[error("bad id: {0}")]
    BadId(String),
    /// Body larger than the route allows.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The route's limit.
        limit: usize,
    },
    /// Wrong `Content-Type`.
    #[error("unsupported media type: expected {0}")]
    UnsupportedMediaType(&'static str),
    /// No usable client certificate.
    #[error("a client certificate issued at enrollment is required")]
    Unauthenticated,
    /// Enrollment token refused.
    #[error("enrollment token unknown, used or expired")]
    BadToken,
    /// CSR refused.
    #[error("certificate signing request refused: {0}")]
    BadCsr(String),
    /// Not found, or not this booth's.
    #[error("not found: {0}")]
    NotFound(String),
    /// Conflict with a stored state; `code` says which.
    #[error("conflict ({code}): {detail}")]
    Conflict {
        /// Problem code.
        code: &'static str,
        /// What differs.
        detail: String,
        /// For tus offset mismatches: the server's offset.
        offset: Option<u64>,
    },
    /// tus checksum mismatch (460).
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// tus version missing or unsupported (412).
    #[error("Tus-Resumable 1.0.0 required")]
    TusVersion,
    /// Upload terminated (410).
    #[error("upload terminated")]
    Gone,
    /// "complete" with a digest or size that differs from the stored file (422).
    #[error("stored file differs: {0}")]
    Sha256Mismatch(String),
    /// Temporarily unavailable (injected fault), with `Retry-After` seconds.
    #[error("unavailable (injected {status})")]
    Unavailable {
        /// 5xx status to answer.
        status: u16,
        /// Seconds for `Retry-After`.
        retry_after_s: u32,
    },
    /// Server-side failure (database, disk); logged with its cause.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Any error of the store or file system: logged, answered as 500 with no detail leaked.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }

    /// The problem document and status of this error.
    pub fn problem(&self) -> Problem {
        let (status, code, title): (u16, &str, &str) = match self {
            ApiError::BadRequest(_) => (400, codes::BAD_REQUEST, "Bad request"),
            ApiError::BadId(_) => (400, codes::BAD_ID, "Malformed id"),
            ApiError::TooLarge { .. } => (413, codes::TOO_LARGE, "Body too large"),
            ApiError::UnsupportedMediaType(_) => {
                (415, codes::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type")
            }
            ApiError::Unauthenticated => {
                (401, codes::UNAUTHENTICATED, "Client certificate required")
            }
            ApiError::BadToken => (403, codes::BAD_TOKEN, "Enrollment token refused"),
            ApiError::BadCsr(_) => (400, codes::BAD_CSR, "Certificate signing request refused"),
            ApiError::NotFound(_) => (404, codes::NOT_FOUND, "Not found"),
            ApiError::Conflict { code, .. } => (409, code, "Conflict"),
            ApiError::ChecksumMismatch => (
                tus::STATUS_CHECKSUM_MISMATCH,
                codes::CHECKSUM_MISMATCH,
                "Checksum mismatch",
            ),
            ApiError::TusVersion => (412, codes::TUS_VERSION, "Unsupported tus version"),
            ApiError::Gone => (410, codes::NOT_FOUND, "Upload terminated"),
            ApiError::Sha256Mismatch(_) => (422, codes::SHA256_MISMATCH, "SHA-256 mismatch"),
            ApiError::Unavailable { status, .. } => {
                (*status, codes::UNAVAILABLE, "Temporarily unavailable")
            }
            ApiError::Internal(_) => (500, codes::INTERNAL, "Internal error"),
        };
        let detail = match self {
            ApiError::Internal(_) => None,
            other => Some(other.to_string()),
        };
        let mut p = Problem::new(status, code, title, detail);
        if let ApiError::Conflict { offset, .. } = self {
            p.upload_offset = *offset;
        }
        p
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let p = self.problem();
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&p).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        // tus responses carry Tus-Resumable even on errors; harmless elsewhere.
        h.insert(tus::TUS_RESUMABLE, HeaderValue::from_static(tus::VERSION));
        match &self {
            ApiError::Unavailable { retry_after_s, .. } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            ApiError::TusVersion => {
                h.insert(tus::TUS_VERSION, HeaderValue::from_static(tus::VERSION));
            }
            ApiError::Conflict {
                offset: Some(o), ..
            } => {
                h.insert(tus::UPLOAD_OFFSET, HeaderValue::from(*o));
            }
            _ => {}
        }
        resp
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e)
    }
}
