//! The router and the listener: plain HTTP or TLS (rustls with ring) on the configured
//! address, one hyper HTTP/1.1 connection task per client, graceful shutdown on a
//! cancellation token.

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use booth_core::Clock;
use booth_core::config::Config;
use booth_core::store::Store;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::routes::{journal, login, visits};
use crate::session;
use crate::state::{AppState, Db};

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened.
    #[error("cannot open database {path}: {source}")]
    Store {
        /// Database file.
        path: PathBuf,
        /// Cause.
        source: booth_core::store::StoreError,
    },
    /// A TLS file could not be read or parsed.
    #[error("TLS file {path}: {message}")]
    TlsFile {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the certificate/key pair.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Binding or accepting failed.
    #[error("listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Hashing the timing-equaliser password failed.
    #[error("{0}")]
    App(#[from] crate::state::AppError),
}

/// Opens the shared database of `cfg` and builds the application state.
pub fn build_state(cfg: Config, clock: Arc<dyn Clock>, tls: bool) -> Result<AppState, ServeError> {
    let path = cfg.paths.database();
    let store = Store::open(&path).map_err(|source| ServeError::Store {
        path: path.clone(),
        source,
    })?;
    let dummy = session::hash_password(&session::random_token())?;
    Ok(AppState {
        db: Db::new(store),
        cfg: Arc::new(cfg),
        clock,
        tls,
        dummy_hash: Arc::new(dummy),
    })
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        crate::html::STYLE,
    )
}

async fn root() -> axum::response::Redirect {
    axum::response::Redirect::to("/visits/new")
}

/// All routes behind the [`session::guard`] (sessions, CSRF on every POST, headers).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/style.css", get(style))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/login", get(login::login_page).post(login::login_submit))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", get(login::switch_language))
        .route("/visits/new", get(visits::new_visit))
        .route("/visits", post(visits::create_visit))
        .route("/visits/{id}", get(visits::visit_page))
        .route("/visits/{id}/slip", get(visits::slip))
        .route("/visits/{id}/ticket", post(visits::reissue))
        .route("/journal", get(journal::journal))
        .route("/journal.csv", get(journal::export_csv))
        .route("/audit", get(journal::audit_page))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::guard,
        ))
        .with_state(state)
}

fn tls_file_err(path: &Path, message: impl ToString) -> ServeError {
    ServeError::TlsFile {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// A TLS acceptor from PEM certificate chain and private key files (rustls with ring).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    let open = |p: &Path| {
        std::fs::File::open(p)
            .map(BufReader::new)
            .map_err(|e| tls_file_err(p, e))
    };
    let certs = rustls_pemfile::certs(&mut open(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_file_err(cert, e))?;
    if certs.is_empty() {
        return Err(tls_file_err(cert, "no certificate in the file"));
    }
    let key_der = rustls_pemfile::private_key(&mut open(key)?)
        .map_err(|e| tls_file_err(key, e))?
        .ok_or_else(|| tls_file_err(key, "no private key in the file"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// Housekeeping every hour until `shutdown`: expired sessions, and journal entries older than
/// `retention.journal_days` that the central service already has.
pub async fn housekeeping(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = state.clock.now();
        let keep = chrono::Duration::days(i64::from(state.cfg.retention.journal_days));
        let r = state
            .db
            .write(move |tx| {
                let sessions = booth_core::store::reception::purge_expired_sessions(tx, now)?;
                let visits = booth_core::store::reception::purge_journal(tx, now - keep, now)?;
                Ok((sessions, visits))
            })
            .await;
        match r {
            Ok((sessions, visits)) => tracing::info!(sessions, visits, "housekeeping done"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry in an hour"),
        }
    }
}

/// Binds the configured listen address.
pub async fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen {
            addr: addr.to_owned(),
            source,
        })
}

/// The listening socket passed by systemd socket activation (`reception.socket`: fd 3 with
/// `LISTEN_PID` = this process and `LISTEN_FDS` >= 1), if any. The unit runs with
/// `PrivateNetwork=yes`, so this is the only way it can serve the branch LAN.
pub fn systemd_listener() -> Result<Option<TcpListener>, ServeError> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let fds = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    if !ours || fds == 0 {
        return Ok(None);
    }
    let listener = inherited_fd3();
    let err = |source| ServeError::Listen {
        addr: "systemd socket (fd 3)".into(),
        source,
    };
    listener.set_nonblocking(true).map_err(err)?;
    TcpListener::from_std(listener).map(Some).map_err(err)
}

#[allow(unsafe_code)]
fn inherited_fd3() -> std::net::TcpListener {
    use std::os::fd::FromRawFd;
    /// First passed descriptor of the sd_listen_fds protocol.
    const SD_LISTEN_FDS_START: i32 = 3;
    // SAFETY: systemd passed fd 3 to this very process (LISTEN_PID checked by the caller) as
    // a listening stream socket (reception.socket: ListenStream, Accept=no); nothing else in
    // this process opens or owns fd 3 before this call, which is made once at start-up.
    unsafe { std::net::TcpListener::from_raw_fd(SD_LISTEN_FDS_START) }
}

/// Serves `app` on `listener` (through `tls` when given) until `shutdown` is cancelled, then
/// lets open connections finish their current request.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let tracker = TaskTracker::new();
    let local: SocketAddr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: "?".into(),
        source,
    })?;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (app, tls, shutdown) = (app.clone(), tls.clone(), shutdown.clone());
        tracker.spawn(async move {
            match tls {
                Some(acc) => {
                    match tokio::time::timeout(Duration::from_secs(10), acc.accept(stream)).await {
                        Ok(Ok(s)) => serve_conn(app, TokioIo::new(s), shutdown).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => serve_conn(app, TokioIo::new(stream), shutdown).await,
            }
        });
    }
    tracing::info!(%local, "stopped accepting; finishing open requests");
    tracker.close();
    tracker.wait().await;
    Ok(())
}

async fn serve_conn<I>(app: Router, io: TokioIo<I>, shutdown: CancellationToken)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = TowerToHyperService::new(app);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
