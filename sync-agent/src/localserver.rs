//! The kiosk's local API ([`booth_core::localapi`]) on a Unix socket: JSON lines, mode 0660 so
//! only the agent's user and the kiosk's group may connect. A lookup is answered from the
//! local store first, else from the central service within
//! [`booth_core::localapi::CENTRAL_LOOKUP_TIMEOUT`], else "offline, try later".

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use booth_core::LookupId;
use booth_core::localapi::{
    AppealView, CENTRAL_LOOKUP_TIMEOUT, ErrorCode, LookupAnswer, LookupSource, MAX_LINE_BYTES,
    Request, Response, to_line,
};
use booth_core::store::sync as store_sync;
use booth_core::wire::{LookupResponse, paths};
use reqwest::Method;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, RwLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::db::Db;
use crate::error::SyncError;
use crate::http::{Central, read_json};
use crate::state::StateDir;

/// Suggested wait after an offline answer.
pub const OFFLINE_RETRY_S: u32 = 60;

/// What the server needs.
#[derive(Debug, Clone)]
pub struct LocalApi {
    /// The store.
    pub db: Db,
    /// The central client once enrolled.
    pub central: Arc<RwLock<Option<Central>>>,
    /// Enrollment state.
    pub state: StateDir,
    /// Booth id from config (for status before enrollment).
    pub booth_id: String,
    /// Wakes the outbox and pull jobs.
    pub sync_now: Arc<Notify>,
}

/// Binds the socket at `path` (replacing a stale one) with mode 0660.
pub fn bind(path: &Path) -> Result<UnixListener, SyncError> {
    let err = |e: std::io::Error| SyncError::State {
        path: path.to_owned(),
        detail: format!("local API socket: {e}"),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let l = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(err)?;
    Ok(l)
}

/// Serves connections until `cancel`; each connection is a tracked task.
pub async fn serve(
    listener: UnixListener,
    socket_path: PathBuf,
    api: LocalApi,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            acc = listener.accept() => match acc {
                Ok((stream, _)) => {
                    let api = api.clone();
                    let c = cancel.clone();
                    tracker.spawn(async move { connection(stream, api, c).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "local API accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    }
    let _ = std::fs::remove_file(&socket_path);
}

async fn connection(stream: UnixStream, api: LocalApi, cancel: CancellationToken) {
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r);
    loop {
        let mut line = String::new();
        let mut limited = (&mut reader).take(MAX_LINE_BYTES as u64 + 1);
        let n = tokio::select! {
            _ = cancel.cancelled() => return,
            n = limited.read_line(&mut line) => n,
        };
        let resp = match n {
            Ok(0) => return,
            Ok(_) if !line.ends_with('\n') => {
                let r = Response::Error {
                    code: ErrorCode::BadRequest,
                    message: "request line too long or not terminated".into(),
                };
                let _ = w.write_all(to_line(&r).as_bytes()).await;
                return;
            }
            Ok(_) => match serde_json::from_str::<Request>(line.trim_end()) {
                Ok(req) => api.handle(req).await,
                Err(e) => Response::Error {
                    code: ErrorCode::BadRequest,
                    message: format!("not a request: {e}"),
                },
            },
            Err(e) => {
                tracing::debug!(error = %e, "local API read failed");
                return;
            }
        };
        if w.write_all(to_line(&resp).as_bytes()).await.is_err() {
            return;
        }
    }
}

impl LocalApi {
    /// Answers one request.
    pub async fn handle(&self, req: Request) -> Response {
        match req {
            Request::SyncNow => {
                self.sync_now.notify_waiters();
                Response::SyncQueued
            }
            Request::Status => {
                let state = self.state.clone();
                let booth = self.booth_id.clone();
                match self
                    .db
                    .call(move |s| crate::status::compute(s, &state, &booth, chrono::Utc::now()))
                    .await
                {
                    Ok(status) => Response::Status { status },
                    Err(e) => internal(e),
                }
            }
            Request::Lookup { lookup_id } => match self.lookup(lookup_id).await {
                Ok(answer) => Response::Lookup { answer },
                Err(SyncError::NotEnrolled) => Response::Error {
                    code: ErrorCode::NotEnrolled,
                    message: "the booth is not enrolled with a central service".into(),
                },
                Err(e) => internal(e),
            },
        }
    }

    async fn lookup(&self, lookup_id: LookupId) -> Result<LookupAnswer, SyncError> {
        let lid = lookup_id.clone();
        if let Some(view) = self
            .db
            .read(move |tx| store_sync::local_view(tx, &lid))
            .await?
        {
            return Ok(LookupAnswer::Found {
                source: LookupSource::Local,
                appeal: view,
            });
        }
        let Some(central) = self.central.read().await.clone() else {
            return Err(SyncError::NotEnrolled);
        };
        let path = paths::lookup(&lookup_id);
        let fut = async {
            let req = central.request(Method::GET, &path)?;
            let resp = central.send(req, "lookup").await?;
            match resp.status().as_u16() {
                200 => Ok(Some(read_json::<LookupResponse>(resp, "lookup").await?)),
                404 => Ok(None),
                _ => Err(crate::http::http_error(resp, "GET", "lookup").await),
            }
        };
        let r = match tokio::time::timeout(CENTRAL_LOOKUP_TIMEOUT, fut).await {
            Ok(r) => r,
            Err(_) => Err(SyncError::Unreachable {
                url: central.base().to_owned(),
                detail: "lookup timed out".into(),
            }),
        };
        match r {
            Ok(Some(l)) => {
                let Ok(registration_number) = l.registration_number.parse() else {
                    tracing::warn!(
                        "central lookup answer has a malformed registration number; treated as offline"
                    );
                    return Ok(LookupAnswer::Offline {
                        retry_after_s: OFFLINE_RETRY_S,
                    });
                };
                let appeal_id = l.appeal_id;
                let rating = self
                    .db
                    .read(move |tx| store_sync::rating(tx, appeal_id))
                    .await?;
                Ok(LookupAnswer::Found {
                    source: LookupSource::Central,
                    appeal: AppealView {
                        appeal_id,
                        registration_number,
                        addressee_id: l.addressee_id,
                        recorded_at: l.recorded_at,
                        expected_answer_date: l.expected_answer_date,
                        timeline: l.timeline,
                        answer: l.answer.filter(|a| a.appeal_id == appeal_id),
                        rating,
                    },
                })
            }
            Ok(None) => Ok(LookupAnswer::NotFound),
            Err(e) => {
                tracing::warn!(error = %e, "central lookup failed; answering offline");
                Ok(LookupAnswer::Offline {
                    retry_after_s: OFFLINE_RETRY_S,
                })
            }
        }
    }
}

fn internal(e: SyncError) -> Response {
    tracing::error!(error = %e, "local API request failed");
    Response::Error {
        code: ErrorCode::Internal,
        message: e.to_string(),
    }
}
