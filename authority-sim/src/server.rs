//! Connections and routing: the TLS accept loop (peer certificate → booth identity in each
//! request's extensions), the plain-HTTP loops (admin, spec-test mode), the route table, and
//! the extractors every protocol handler shares (booth identity, bounded JSON bodies).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::AppState;
use crate::error::ApiError;
use crate::faults::{self, AbortConnection};

/// Booth id from the connection's verified client certificate (None: no certificate).
#[derive(Debug, Clone)]
pub struct BoothIdentity(pub Option<String>);

/// Extractor of the calling booth; refuses with 401 problem+json when the connection has no
/// client certificate from our CA.
#[derive(Debug, Clone)]
pub struct Booth(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Booth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<BoothIdentity>() {
            Some(BoothIdentity(Some(id))) => Ok(Booth(id.clone())),
            _ => Err(ApiError::Unauthenticated),
        }
    }
}

/// Largest JSON body of any protocol route.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// JSON body extractor: `application/json` only (415), at most [`MAX_JSON_BYTES`] (413),
/// parse errors and unknown fields are 400 problem+json.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType("application/json"));
        }
        let bytes = read_limited(req.into_body(), MAX_JSON_BYTES).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("JSON body: {e}")))
    }
}

/// Reads a whole body up to `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            ApiError::TooLarge { limit }
        } else {
            ApiError::BadRequest(format!("body unreadable: {e}"))
        }
    })
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> Response {
    let mut p = booth_core::wire::Problem::new(
        405,
        booth_core::wire::problem_codes::METHOD_NOT_ALLOWED,
        "Method not allowed",
        None,
    );
    p.detail = Some("this path does not accept this method".into());
    let mut r = (
        StatusCode::METHOD_NOT_ALLOWED,
        serde_json::to_vec(&p).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(booth_core::wire::PROBLEM_CONTENT_TYPE),
    );
    r
}

/// The TLS listener's routes: protocol v1 and the operator page/API.
pub fn router(state: Arc<AppState>) -> Router {
    use crate::{api, tus};
    use booth_core::wire::paths as p;
    let faults = state.faults.clone();
    let v1 = Router::new()
        .route(p::ENROLL, post(api::enroll))
        .route(p::DIRECTORY, get(api::directory))
        .route(p::CALENDAR, get(api::calendar))
        .route(p::CONFIG, get(api::config))
        .route(p::APPEAL, put(api::create_appeal))
        .route(p::APPEAL_COMPLETE, post(api::complete))
        .route(p::UPLOADS, post(tus::create).options(tus::options))
        .route(
            p::UPLOAD,
            axum::routing::head(tus::head)
                .patch(tus::patch)
                .delete(tus::terminate),
        )
        .route(p::ANSWERS, get(api::answers))
        .route(p::LOOKUP, get(api::lookup))
        .route(p::RATINGS, post(api::rating))
        .route(p::VISITS, post(api::visit))
        .route(p::HEARTBEAT, post(api::heartbeat))
        .route_layer(axum::middleware::from_fn_with_state(
            faults,
            faults::middleware,
        ));
    v1.merge(crate::operator::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Admin routes (plain HTTP on loopback): faults, counters, tokens, calendar.
pub fn admin_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/admin/calendar", put(admin_put_calendar))
        .route(
            "/admin/faults",
            get(admin_get_faults)
                .put(admin_put_faults)
                .delete(admin_clear_faults),
        )
        .route(
            "/admin/counters",
            get(admin_counters).delete(admin_reset_counters),
        )
        .route("/admin/tokens", post(admin_token))
        .fallback(not_found)
        .with_state(state)
}

async fn admin_get_faults(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(s.faults.get()).into_response()
}
async fn admin_put_faults(
    State(s): State<Arc<AppState>>,
    JsonBody(cfg): JsonBody<faults::FaultConfig>,
) -> Response {
    tracing::info!(
        rules = cfg.rules.len(),
        expired_certificate = cfg.expired_certificate,
        "fault configuration replaced"
    );
    s.faults.set(cfg);
    axum::Json(s.faults.get()).into_response()
}
async fn admin_clear_faults(State(s): State<Arc<AppState>>) -> StatusCode {
    s.faults.set(faults::FaultConfig::default());
    StatusCode::NO_CONTENT
}
async fn admin_counters(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(s.faults.counters()).into_response()
}
async fn admin_reset_counters(State(s): State<Arc<AppState>>) -> StatusCode {
    s.faults.reset_counters();
    StatusCode::NO_CONTENT
}

/// `PUT /admin/calendar` query: `?unchecked_version=N` serves the body as version N without
/// validating it (fault injection: booths must refuse it and keep their last good calendar).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarQuery {
    unchecked_version: Option<u64>,
}
/// `PUT /admin/calendar`: publishes a working-day calendar (booth-core TOML in the body),
/// validated like the booth validates it; 400 with the reason when it is refused.
async fn admin_put_calendar(
    State(s): State<Arc<AppState>>,
    axum::extract::Query(q): axum::extract::Query<CalendarQuery>,
    body: String,
) -> Result<Response, ApiError> {
    let version = match q.unchecked_version {
        Some(v) => {
            s.publish_calendar_unchecked(body, v);
            v
        }
        None => s
            .publish_calendar(body)
            .map_err(|e| ApiError::BadRequest(format!("calendar refused: {e}")))?,
    };
    Ok(axum::Json(serde_json::json!({ "version": version })).into_response())
}

/// `POST /admin/tokens` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    booth_id: String,
}
async fn admin_token(
    State(s): State<Arc<AppState>>,
    JsonBody(r): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    let token = s.issue_token(&r.booth_id, chrono::Utc::now())?;
    Ok(axum::Json(serde_json::json!({ "booth_id": r.booth_id, "token": token })).into_response())
}

#[derive(Debug)]
struct Aborted;
impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}
impl std::error::Error for Aborted {}

async fn serve_conn<I>(io: I, app: Router, booth: Option<String>, cancel: CancellationToken)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(BoothIdentity(booth.clone()));
        let app = app.clone();
        async move {
            let resp: Response = match app.oneshot(req.map(Body::new)).await {
                Ok(r) => r,
                Err(e) => match e {},
            };
            if resp.extensions().get::<AbortConnection>().is_some() {
                return Err(Aborted);
            }
            Ok::<_, Aborted>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(30))
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Accept loop of the TLS listener.
pub async fn accept_tls(
    l: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    cancel: CancellationToken,
    tasks: TaskTracker,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = tokio::select! {
            r = l.accept() => match r {
                Ok(x) => x,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
            },
            _ = cancel.cancelled() => return,
        };
        let (acceptor, app, cancel) = (acceptor.clone(), app.clone(), cancel.clone());
        tasks.spawn(async move {
            let hs = tokio::time::timeout(std::time::Duration::from_secs(15), acceptor.accept(tcp))
                .await;
            let stream = match hs {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let booth = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(crate::pki::booth_id_of);
            serve_conn(stream, app, booth, cancel).await;
        });
    }
}

/// Accept loop of a plain-HTTP listener (admin, or spec-test mode with a fixed booth).
pub async fn accept_plain(
    l: TcpListener,
    app: Router,
    booth: Option<String>,
    cancel: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let (tcp, _) = tokio::select! {
            r = l.accept() => match r {
                Ok(x) => x,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
            },
            _ = cancel.cancelled() => return,
        };
        let (app, booth, cancel) = (app.clone(), booth.clone(), cancel.clone());
        tasks.spawn(serve_conn(tcp, app, booth, cancel));
    }
}
