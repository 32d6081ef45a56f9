//! The sync agent's local API for the kiosk: request and response types of the Unix socket
//! (`sync.socket`, mode 0660, group of the kiosk's user), plus a small blocking client.
//!
//! Framing: JSON lines. The client writes one [`Request`] as a single line of JSON ending in
//! `\n`; the agent answers with one [`Response`] line. A connection may carry several requests
//! in turn; either side may close it at any time. Lines longer than [`MAX_LINE_BYTES`] are
//! refused. Nothing personal crosses this socket: a lookup is by [`LookupId`] (Argon2id of the
//! secret code, never the code), and answers carry the appeal's status and answer text only.
//!
//! ```text
//! kiosk → {"op":"lookup","lookup_id":"3f…(64 hex)"}
//! agent ← {"result":"lookup","answer":{"outcome":"found","source":"local","appeal":{…}}}
//! kiosk → {"op":"sync_now"}
//! agent ← {"result":"sync_queued"}
//! kiosk → {"op":"status"}
//! agent ← {"result":"status","status":{…}}
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::code::{LookupId, RegistrationNumber};
use crate::domain::{Answer, Rating, StatusEvent};

/// Version of this local protocol; bumped on an incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request or response line accepted, in bytes (a long answer text fits easily).
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// How long the agent waits for the central service on a lookup before answering
/// [`LookupAnswer::Offline`].
pub const CENTRAL_LOOKUP_TIMEOUT: Duration = Duration::from_secs(4);

/// How long a client should wait for any answer: longer than [`CENTRAL_LOOKUP_TIMEOUT`], so an
/// offline answer arrives before the client gives up.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(8);

/// What the kiosk asks the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Find an appeal by its lookup id: in the local store first, else at the central service
    /// (an appeal recorded at another branch), with [`CENTRAL_LOOKUP_TIMEOUT`].
    Lookup {
        /// Argon2id of the citizen's secret code.
        lookup_id: LookupId,
    },
    /// Run the uploads and pulls now instead of waiting for the next interval (service mode
    /// "sync now", or after a new appeal was committed).
    SyncNow,
    /// The agent's health, as `sync-agent status --json` prints it.
    Status,
}

/// What the agent answers; every request gets exactly one response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// Answer to [`Request::Lookup`].
    Lookup {
        /// Outcome.
        answer: LookupAnswer,
    },
    /// [`Request::SyncNow`] was accepted; the work runs in the background.
    SyncQueued,
    /// Answer to [`Request::Status`].
    Status {
        /// Health report.
        status: AgentStatus,
    },
    /// The request could not be served; `code` says why, `message` is for logs (English,
    /// no personal data). The kiosk shows its own translated text for the code.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Detail for logs.
        message: String,
    },
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line was not a valid request (bad JSON, unknown op, bad lookup id, too long).
    BadRequest,
    /// The agent is not enrolled with a central service yet.
    NotEnrolled,
    /// The agent's store failed (a technician should look at the agent's log).
    Internal,
}

/// Outcome of a lookup.
// One value per kiosk request: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum LookupAnswer {
    /// The appeal was found.
    Found {
        /// Where the data came from.
        source: LookupSource,
        /// What the citizen may see.
        appeal: AppealView,
    },
    /// Neither the booth nor the central service knows this lookup id: the code is wrong.
    NotFound,
    /// Not on this booth, and the central service could not be asked (no network, timeout or
    /// a server error). The kiosk says "offline, try again later"; the code may be right.
    Offline {
        /// Suggested wait before trying again, in seconds.
        retry_after_s: u32,
    },
}

/// Where a lookup result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupSource {
    /// The booth's own store (recorded here; status and answer as of the last pull).
    Local,
    /// The central service, just now (recorded at another booth or branch).
    Central,
}

/// What the citizen sees about an appeal after typing its code (003 p.33): no applicant data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealView {
    /// Appeal id.
    pub appeal_id: Uuid,
    /// Registration number on the receipt.
    pub registration_number: RegistrationNumber,
    /// Addressee agency id (the kiosk shows its name from the directory).
    pub addressee_id: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Expected answer date; `None` when no calendar covered it (the kiosk says the date will
    /// come with the answer).
    #[serde(default)]
    pub expected_answer_date: Option<NaiveDate>,
    /// Status timeline, oldest first; starts with `registered`.
    pub timeline: Vec<StatusEvent>,
    /// The answer, once signed.
    pub answer: Option<Answer>,
    /// The rating the citizen already gave, if any (a second rating is not offered).
    pub rating: Option<Rating>,
}

/// Overall health, also the exit status of `sync-agent status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Enrolled, last uploads and pulls succeeded (exit 0).
    Healthy,
    /// Working but failing or backing off, or items parked (exit 1).
    Degraded,
    /// Enrolled, but nothing has been delivered for a long time while the queue is not empty
    /// (exit 2).
    Stuck,
    /// No device certificate yet (exit 2).
    NotEnrolled,
}

impl Health {
    /// Exit status of `sync-agent status`: 0 healthy, 1 degraded, 2 stuck or not enrolled.
    pub fn exit_code(self) -> i32 {
        match self {
            Health::Healthy => 0,
            Health::Degraded => 1,
            Health::Stuck | Health::NotEnrolled => 2,
        }
    }
}

/// One periodic job's last outcome (`outbox`, `directory`, `calendar`, `config`, `answers`,
/// `ratings`, `visits`, `heartbeat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobStatus {
    /// Job name.
    pub name: String,
    /// Last time it completed without error.
    pub last_success: Option<DateTime<Utc>>,
    /// Last error text (no personal data).
    pub last_error: Option<String>,
    /// When the last error happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failures in a row since the last success.
    pub consecutive_failures: u32,
    /// While backing off: when the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The agent's health report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentStatus {
    /// Overall health.
    pub health: Health,
    /// Whether a device certificate is present.
    pub enrolled: bool,
    /// Booth id.
    pub booth_id: String,
    /// Central service URL ("" before enrollment).
    pub central_url: String,
    /// Recordings not yet confirmed by the central service (sealed, uploading, parked).
    pub queue_depth: u64,
    /// Recording time of the oldest of them.
    pub oldest_unsent_at: Option<DateTime<Utc>>,
    /// Recordings refused permanently, waiting for a technician, with their reasons.
    pub parked: Vec<ParkedItem>,
    /// Ratings and visits not yet sent.
    pub unsent_ratings: u64,
    /// Reception journal entries not yet sent.
    pub unsent_visits: u64,
    /// Per-job outcomes.
    pub jobs: Vec<JobStatus>,
    /// Agent version.
    pub version: String,
}

/// A parked outbox item (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParkedItem {
    /// Appeal id.
    pub appeal_id: Uuid,
    /// Why the central service refused it.
    pub reason: String,
}

/// A failed call of the blocking client.
#[derive(Debug, thiserror::Error)]
pub enum LocalApiError {
    /// The agent's socket is missing or refuses connections (agent not running).
    #[error("cannot connect to the sync agent at {path}: {source}")]
    Connect {
        /// Socket path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Reading or writing the socket failed or timed out.
    #[error("sync agent socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The agent closed the connection without answering.
    #[error("the sync agent closed the connection without answering")]
    Closed,
    /// The answer was not a valid response line.
    #[error("the sync agent sent an invalid answer: {0}")]
    BadResponse(String),
}

/// Encodes a message as one JSON line (with the trailing `\n`).
pub fn to_line<T: Serialize>(msg: &T) -> String {
    // Invariant: these types hold only strings, numbers, dates and enums; serialising them
    // cannot fail.
    let mut s = serde_json::to_string(msg).unwrap_or_default();
    s.push('\n');
    s
}

/// Sends one request over a fresh connection and waits up to `timeout` for the response
/// (blocking; for callers without an async runtime, such as the kiosk's worker threads).
pub fn call(socket: &Path, req: &Request, timeout: Duration) -> Result<Response, LocalApiError> {
    let stream = std::os::unix::net::UnixStream::connect(socket).map_err(|source| {
        LocalApiError::Connect {
            path: socket.display().to_string(),
            source,
        }
    })?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    (&stream).write_all(to_line(req).as_bytes())?;
    let mut reader = BufReader::new(&stream).take(MAX_LINE_BYTES as u64 + 1);
    let mut line = String::new();
    let n = reader.read_line(&mut line)?;
    if n == 0 {
        return Err(LocalApiError::Closed);
    }
    if !line.ends_with('\n') {
        return Err(LocalApiError::BadResponse(
            "line too long or truncated".into(),
        ));
    }
    serde_json::from_str(line.trim_end()).map_err(|e| LocalApiError::BadResponse(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::{DecisionKind, Status};

    fn lid() -> LookupId {
        "ab".repeat(32).parse().expect("lookup id")
    }

    #[test]
    fn requests_round_trip_as_single_lines() {
        for req in [
            Request::Lookup { lookup_id: lid() },
            Request::SyncNow,
            Request::Status,
        ] {
            let line = to_line(&req);
            assert!(
                line.ends_with('\n') && line.matches('\n').count() == 1,
                "{line}"
            );
            let back: Request = serde_json::from_str(line.trim_end()).expect("parse");
            assert_eq!(back, req);
        }
        assert_eq!(to_line(&Request::SyncNow), "{\"op\":\"sync_now\"}\n");
    }

    #[test]
    fn bad_lookup_ids_and_unknown_ops_are_refused() {
        for bad in [
            r#"{"op":"lookup","lookup_id":"../../etc/passwd"}"#,
            r#"{"op":"lookup","lookup_id":"ABAB"}"#,
            r#"{"op":"drop_tables"}"#,
            r#"{"op":"lookup","lookup_id":"ab","extra":1}"#,
        ] {
            assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn found_answer_round_trips() {
        let at = DateTime::parse_from_rfc3339("2026-03-20T10:00:00Z")
            .expect("ts")
            .with_timezone(&Utc);
        let id = Uuid::now_v7();
        let resp = Response::Lookup {
            answer: LookupAnswer::Found {
                source: LookupSource::Central,
                appeal: AppealView {
                    appeal_id: id,
                    registration_number: "ALM01-03-2026-000127".parse().expect("reg"),
                    addressee_id: "mintrud".into(),
                    recorded_at: at,
                    expected_answer_date: Some(at.date_naive()),
                    timeline: vec![
                        StatusEvent {
                            at,
                            status: Status::Registered,
                        },
                        StatusEvent {
                            at,
                            status: Status::Answered {
                                decision: DecisionKind::Explained,
                            },
                        },
                    ],
                    answer: Some(Answer {
                        appeal_id: id,
                        decision: DecisionKind::Explained,
                        text: "Түсіндірме".into(),
                        signed_by: "Head of department".into(),
                        signed_on: at.date_naive(),
                        documents: vec![],
                    }),
                    rating: Rating::new(4).ok(),
                },
            },
        };
        let line = to_line(&resp);
        let back: Response = serde_json::from_str(line.trim_end()).expect("parse");
        assert_eq!(back, resp);
        let offline: Response = serde_json::from_str(
            r#"{"result":"lookup","answer":{"outcome":"offline","retry_after_s":60}}"#,
        )
        .expect("offline");
        assert_eq!(
            offline,
            Response::Lookup {
                answer: LookupAnswer::Offline { retry_after_s: 60 }
            }
        );
    }

    #[test]
    fn exit_codes_follow_health() {
        assert_eq!(Health::Healthy.exit_code(), 0);
        assert_eq!(Health::Degraded.exit_code(), 1);
        assert_eq!(Health::Stuck.exit_code(), 2);
        assert_eq!(Health::NotEnrolled.exit_code(), 2);
    }

    #[test]
    fn client_reports_a_missing_agent() {
        let dir = tempfile::tempdir().expect("tmp");
        let e = call(
            &dir.path().join("none.sock"),
            &Request::Status,
            Duration::from_secs(1),
        )
        .expect_err("no agent");
        assert!(matches!(e, LocalApiError::Connect { .. }), "{e}");
    }

    #[test]
    fn client_talks_to_a_line_server() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("a.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).expect("read");
            let req: Request = serde_json::from_str(line.trim_end()).expect("req");
            assert_eq!(req, Request::SyncNow);
            (&s).write_all(to_line(&Response::SyncQueued).as_bytes())
                .expect("write");
        });
        let r = call(&path, &Request::SyncNow, Duration::from_secs(5)).expect("call");
        assert_eq!(r, Response::SyncQueued);
        server.join().expect("server");
    }
}
