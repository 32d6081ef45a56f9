//! Errors of the sync agent and their classification: permanent (retrying cannot help: park
//! the item for a technician) or transient (retry with backoff, at least `Retry-After`).

use std::path::PathBuf;
use std::time::Duration;

use booth_core::store::StoreError;

/// Whether an error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transience {
    /// Retrying later may succeed; wait at least `retry_after` if the server named one.
    Transient {
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The central service refused this for good (4xx other than 408/409/429, or a conflict
    /// that a retry cannot fix).
    Permanent,
}

/// Everything that can go wrong while syncing. Messages name what failed and with which
/// input (ids, paths, status codes), never personal data.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection could be made or it broke (DNS, refused, reset, timeout).
    #[error("cannot reach the central service ({url}): {detail}")]
    Unreachable {
        /// URL tried.
        url: String,
        /// Cause.
        detail: String,
    },
    /// The TLS handshake failed: the server's certificate is not from the pinned CA, or has
    /// expired, or our client certificate was refused.
    #[error("TLS with the central service failed ({url}): {detail}")]
    Tls {
        /// URL tried.
        url: String,
        /// Cause (e.g. "server certificate is not signed by the pinned authority CA").
        detail: String,
    },
    /// The server answered with an error status.
    #[error("{method} {path}: HTTP {status} {code}: {detail}")]
    Http {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// Status code.
        status: u16,
        /// Problem code (`problem+json`), or "-" when the body had none.
        code: String,
        /// Problem detail or title.
        detail: String,
        /// `Retry-After`, if sent.
        retry_after: Option<Duration>,
    },
    /// The server's answer is malformed or hostile (wrong content type, too large, truncated,
    /// invalid JSON, a checksum echo that does not match). Nothing is marked on such answers.
    #[error("refused response to {what}: {reason}")]
    BadResponse {
        /// Request that got it.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// The booth's sealed file is missing or unreadable.
    #[error("sealed file {path}: {detail}")]
    SealedFile {
        /// Path.
        path: PathBuf,
        /// Cause.
        detail: String,
    },
    /// The shared database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The agent has no device certificate yet.
    #[error("not enrolled: run `sync-agent enroll --url URL --token TOKEN` first")]
    NotEnrolled,
    /// Enrollment files are missing or damaged.
    #[error("enrollment state in {path}: {detail}")]
    State {
        /// File.
        path: PathBuf,
        /// Cause.
        detail: String,
    },
    /// Shutting down: the work was interrupted on purpose and resumes at the next start.
    #[error("shutting down")]
    Cancelled,
}

impl SyncError {
    /// Classifies the error for retry decisions.
    pub fn transience(&self) -> Transience {
        match self {
            SyncError::Http {
                status,
                code,
                retry_after,
                ..
            } => {
                // 409s that no retry can fix: the same id with another body, and a rating of an
                // appeal that had no answer when it was rated (seed 004: a rating is of an
                // answer). Other 409s (a tus offset mismatch) are worth retrying.
                if code == booth_core::wire::problem_codes::APPEAL_CONFLICT
                    || code == booth_core::wire::problem_codes::APPEAL_NOT_ANSWERED
                {
                    return Transience::Permanent;
                }
                if is_permanent_status(*status) {
                    Transience::Permanent
                } else {
                    Transience::Transient {
                        retry_after: *retry_after,
                    }
                }
            }
            // A sealed file that is gone or unreadable will not come back by waiting.
            SyncError::SealedFile { .. } => Transience::Permanent,
            SyncError::NotEnrolled | SyncError::State { .. } => Transience::Permanent,
            _ => Transience::Transient { retry_after: None },
        }
    }

    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.transience() == Transience::Permanent
    }

    /// A short reason for the outbox's `last_error` and parked items (no personal data).
    pub fn reason(&self) -> String {
        let s = self.to_string();
        if s.len() > 400 {
            format!("{}…", &s[..s.floor_char_boundary(400)])
        } else {
            s
        }
    }
}

/// 4xx other than 408 (timeout), 409 (conflict, e.g. a tus offset mismatch) and 429 (rate
/// limit) are permanent; everything else (5xx, 408, 409, 429, 460) is transient.
pub fn is_permanent_status(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 408 | 409 | 429 | 460)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn http(status: u16, code: &str) -> SyncError {
        SyncError::Http {
            method: "PUT".into(),
            path: "/v1/appeals/x".into(),
            status,
            code: code.into(),
            detail: "d".into(),
            retry_after: Some(Duration::from_secs(7)),
        }
    }

    #[test]
    fn classification_follows_status_and_code() {
        assert!(http(400, "bad-request").is_permanent());
        assert!(http(403, "bad-token").is_permanent());
        assert!(http(404, "not-found").is_permanent());
        assert!(http(413, "too-large").is_permanent());
        assert!(
            http(409, "appeal-conflict").is_permanent(),
            "same id, other body: retrying cannot help"
        );
        assert!(
            http(409, "appeal-not-answered").is_permanent(),
            "a rating given before the answer stays refused (seed 004)"
        );
        for s in [408, 409, 429, 460, 500, 502, 503] {
            assert_eq!(
                http(s, "x").transience(),
                Transience::Transient {
                    retry_after: Some(Duration::from_secs(7))
                },
                "{s}"
            );
        }
        assert!(
            !SyncError::Unreachable {
                url: "u".into(),
                detail: "reset".into()
            }
            .is_permanent()
        );
        assert!(
            !SyncError::BadResponse {
                what: "w".into(),
                reason: "truncated".into()
            }
            .is_permanent()
        );
    }
}
