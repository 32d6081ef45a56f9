//! authority-sim: the reference central authority service of the video-appeal booth.
//!
//! It implements protocol v1 (`docs/protocol/openapi.yaml`, wire types in
//! `booth_core::wire`) over mutual TLS with its own CA, the central workflow of 003 p.30–33
//! (forward, four decisions, merge, answer attached the day it is signed), an operator page
//! and JSON API, and per-route fault injection with traffic counters for the sync agent's
//! tests. It is a library ([`serve`]) so tests in other crates start it in-process, and the
//! `authority-sim` binary.
//!
//! Dependencies that were not an obvious choice:
//! - `tokio-rustls` + `hyper` directly instead of `axum::serve`: mutual TLS needs the peer
//!   certificate of each connection, which we put into every request's extensions; and fault
//!   injection needs to drop a connection mid-body, which only the connection owner can do.
//! - `rcgen` (with `x509-parser`): makes the CA at first start and signs booth CSRs, pure Rust
//!   with ring, no openssl.
//! - `age`: recordings are sealed to the authority's X25519 recipient on the booth; the
//!   operator page decrypts them on the fly with the identity kept in `--data`.
//! - `http-body-util`: plain body plumbing between hyper and axum.

pub mod api;
pub mod db;
pub mod directory;
pub mod error;
pub mod faults;
pub mod operator;
pub mod pki;
pub mod server;
pub mod tus;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use booth_core::WorkingCalendar;
use booth_core::calendar::CalendarError;
use booth_core::wire::{BoothConfig, DirectoryResponse};
use chrono::{DateTime, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

pub use faults::{FaultConfig, FaultRule, Faults, RouteCounter};

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// TLS listen address (port 0: OS-assigned).
    pub listen: SocketAddr,
    /// Data directory: database, CA, age identity, media.
    pub data_dir: PathBuf,
    /// Optional plain-HTTP admin listener (faults, counters, tokens); loopback only.
    pub admin_listen: Option<SocketAddr>,
    /// Test mode: a plain-HTTP listener on this loopback address whose every request is
    /// treated as coming from `plain_test_booth` (for the spec checker, which cannot do mTLS).
    pub plain_test_listen: Option<SocketAddr>,
    /// Booth id injected by the plain test listener.
    pub plain_test_booth: String,
    /// Extra DNS names / IPs for the server certificate (always: localhost, 127.0.0.1).
    pub hostnames: Vec<String>,
    /// Faults active from the start.
    pub faults: FaultConfig,
    /// Operator password to set at first start (default: random, returned once).
    pub operator_password: Option<String>,
    /// Lifetime of enrollment tokens.
    pub token_ttl: chrono::Duration,
}

impl ServeOptions {
    /// Options with defaults for `listen` and `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> ServeOptions {
        ServeOptions {
            listen,
            data_dir,
            admin_listen: None,
            plain_test_listen: None,
            plain_test_booth: "test-booth".into(),
            hostnames: Vec::new(),
            faults: FaultConfig::default(),
            operator_password: None,
            token_ttl: chrono::Duration::hours(24),
        }
    }
}

/// Failure to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Data directory.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Keys and certificates.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    /// Database.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// Binding a listener.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The plain test or admin listener must be on loopback.
    #[error("{0} must be a loopback address")]
    NotLoopback(SocketAddr),
    /// Bad option.
    #[error("{0}")]
    Invalid(String),
}

/// Operator login of the page and the operator API.
#[derive(Debug, Clone)]
pub struct OperatorLogin {
    /// Login name.
    pub login: String,
    salt: [u8; 16],
    hash: [u8; 32],
}

impl OperatorLogin {
    fn derive(salt: &[u8; 16], password: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        let params = argon2::Params::new(8 * 1024, 2, 1, Some(32));
        if let Ok(p) = params {
            let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
            // Cannot fail with these fixed parameters and sizes.
            let _ = a.hash_password_into(password.as_bytes(), salt, &mut out);
        }
        out
    }
    /// True when `login`/`password` match (constant-time compare of the hash).
    pub fn check(&self, login: &str, password: &str) -> bool {
        let h = Self::derive(&self.salt, password);
        let diff = h
            .iter()
            .zip(self.hash.iter())
            .fold(0u8, |a, (x, y)| a | (x ^ y));
        login == self.login && diff == 0
    }
}

/// Everything a request handler may need.
#[derive(Debug)]
pub struct AppState {
    /// Database.
    pub db: db::Db,
    /// CA and age identity.
    pub authority: pki::Authority,
    /// Faults and counters.
    pub faults: Arc<Faults>,
    /// The working-day calendar served at `/v1/calendar` and used for deadlines: read it with
    /// [`AppState::calendar`], replace it with [`AppState::publish_calendar`].
    published_calendar: std::sync::RwLock<PublishedCalendar>,
    /// Directory served at `/v1/directory`.
    pub directory: DirectoryResponse,
    /// Booth config served at `/v1/config`.
    pub config: BoothConfig,
    /// Where sealed recordings live (`DATA/media`).
    pub media_dir: PathBuf,
    /// Operator login.
    pub operator: OperatorLogin,
    /// Enrollment token lifetime.
    pub token_ttl: chrono::Duration,
    /// Uploads with a PATCH in progress.
    pub busy_uploads: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// The calendar the central service publishes.
#[derive(Debug, Clone)]
pub struct PublishedCalendar {
    /// The TOML served at `/v1/calendar` (booth-core format).
    pub toml: String,
    /// Its version; the `ETag` is this value in double quotes.
    pub version: u64,
    /// The calendar deadlines are computed with: the last valid one published.
    pub calendar: WorkingCalendar,
}

impl PublishedCalendar {
    /// A validated calendar file.
    pub fn from_toml(toml: String) -> Result<PublishedCalendar, CalendarError> {
        let calendar = WorkingCalendar::from_toml(&toml)?;
        Ok(PublishedCalendar {
            version: calendar.version(),
            toml,
            calendar,
        })
    }
}

/// Largest media upload accepted (a 3-minute recording is far smaller).
pub const MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;

/// Booth id rule: letters, digits, `.`, `_`, `-`, 1..=64 characters.
pub fn valid_booth_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// SHA-256 hex of a secret (tokens, session ids are stored only hashed).
pub fn secret_hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl AppState {
    /// The calendar now published.
    pub fn calendar(&self) -> PublishedCalendar {
        self.published_calendar
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Publishes a new working-day calendar after the same strict validation the booth applies;
    /// booths fetch it at their next pull (the heartbeat acknowledgement carries its version).
    pub fn publish_calendar(&self, toml: String) -> Result<u64, CalendarError> {
        let p = PublishedCalendar::from_toml(toml)?;
        let v = p.version;
        *self
            .published_calendar
            .write()
            .unwrap_or_else(|p| p.into_inner()) = p;
        tracing::info!(version = v, "working-day calendar published");
        Ok(v)
    }

    /// Fault injection: serves `toml` as version `version` WITHOUT validating it, as a faulty
    /// central service might; deadlines keep using the last valid calendar. Booths must refuse
    /// such a file and keep their last good one.
    pub fn publish_calendar_unchecked(&self, toml: String, version: u64) {
        let mut g = self
            .published_calendar
            .write()
            .unwrap_or_else(|p| p.into_inner());
        g.toml = toml;
        g.version = version;
        tracing::warn!(version, "unchecked calendar published (fault injection)");
    }

    /// Issues a one-time enrollment token for `booth_id`; the token is returned once and
    /// stored only as a hash.
    pub fn issue_token(
        &self,
        booth_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String, error::ApiError> {
        if !valid_booth_id(booth_id) {
            return Err(error::ApiError::BadRequest(
                "booth id: letters, digits, . _ - (1-64)".into(),
            ));
        }
        let mut raw = [0u8; 15];
        rand::rng().fill(&mut raw);
        let token = base32(&raw);
        self.db
            .add_token(&secret_hash(&token), booth_id, now, now + self.token_ttl)
            .map_err(error::ApiError::internal)?;
        tracing::info!(booth_id, "issued an enrollment token");
        Ok(token)
    }
}

/// RFC 4648 base32 without padding (tokens are typed by technicians: no 0/1/8 confusion).
fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for b in bytes {
        buf = (buf << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(A[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(A[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A running server. Dropping it does not stop it; call [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    /// `https://127.0.0.1:PORT` (booth API and operator page).
    pub url: String,
    /// Bound TLS address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` of the admin listener, if any.
    pub admin_url: Option<String>,
    /// `http://127.0.0.1:PORT` of the plain test listener, if any.
    pub plain_test_url: Option<String>,
    /// CA certificate PEM (clients trust it).
    pub ca_pem: String,
    /// age recipient of the authority.
    pub age_recipient: String,
    /// Operator login name.
    pub operator_login: String,
    /// Operator password when it was set at this start (first start), else None.
    pub operator_password: Option<String>,
    /// Shared state (tokens, faults, counters, database).
    pub state: Arc<AppState>,
    cancel: CancellationToken,
    tasks: tokio_util::task::TaskTracker,
}

impl RunningServer {
    /// Faults and counters.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }
    /// Issues an enrollment token.
    pub fn issue_token(&self, booth_id: &str) -> Result<String, error::ApiError> {
        self.state.issue_token(booth_id, Utc::now())
    }
    /// Stops accepting, lets connections finish, returns when all tasks ended.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
    /// Stops on SIGTERM/ctrl-c or cancellation; used by the binary.
    pub async fn run_until_signal(self) {
        let c = self.cancel.clone();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = c.cancelled() => {}
            _ = sigterm() => {}
        }
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

async fn sigterm() {
    #[cfg(unix)]
    {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}

fn check_loopback(a: SocketAddr) -> Result<(), StartError> {
    if a.ip().is_loopback() {
        Ok(())
    } else {
        Err(StartError::NotLoopback(a))
    }
}

/// Starts the server: opens (or makes) the data directory, binds the listeners, spawns the
/// accept loops and returns at once.
pub async fn serve(opts: ServeOptions) -> Result<RunningServer, StartError> {
    let dd = |source| StartError::DataDir {
        path: opts.data_dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&opts.data_dir).map_err(dd)?;
    let media_dir = opts.data_dir.join("media");
    std::fs::create_dir_all(&media_dir).map_err(dd)?;
    let authority = pki::Authority::load_or_create(&opts.data_dir)?;
    let db = db::Db::open(&opts.data_dir.join("authority.sqlite"))?;

    // Operator login: made at first start.
    let mut new_password = None;
    let (salt, hash) = match (db.meta("operator_salt")?, db.meta("operator_hash")?) {
        (Some(s), Some(h)) => {
            let mut salt = [0u8; 16];
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&s, &mut salt)
                .map_err(|e| StartError::Invalid(format!("operator salt: {e}")))?;
            hex::decode_to_slice(&h, &mut hash)
                .map_err(|e| StartError::Invalid(format!("operator hash: {e}")))?;
            (salt, hash)
        }
        _ => {
            let password = opts.operator_password.clone().unwrap_or_else(|| {
                let mut raw = [0u8; 10];
                rand::rng().fill(&mut raw);
                base32(&raw).to_lowercase()
            });
            let mut salt = [0u8; 16];
            rand::rng().fill(&mut salt);
            let hash = OperatorLogin::derive(&salt, &password);
            db.set_meta("operator_salt", &hex::encode(salt))?;
            db.set_meta("operator_hash", &hex::encode(hash))?;
            new_password = Some(password);
            (salt, hash)
        }
    };
    let operator = OperatorLogin {
        login: "operator".into(),
        salt,
        hash,
    };

    let calendar = PublishedCalendar::from_toml(booth_core::calendar::BUILTIN_CALENDAR.to_owned())
        .map_err(|e| StartError::Invalid(format!("built-in calendar: {e}")))?;
    let directory = directory::builtin();
    let config = BoothConfig {
        version: 1,
        deadline_working_days: 15,
        forward_working_days: 3,
        max_recording_s: 180,
        pull_interval_s: 60,
        heartbeat_interval_s: 60,
        max_upload_bytes: MAX_UPLOAD_BYTES,
        lookup: booth_core::code::LookupParams::default(),
        age_recipients: vec![authority.age_recipient()],
        branch_address: None,
        answer_phone: None,
        answer_web: None,
    };
    let faults = Arc::new(Faults::default());
    faults.set(opts.faults.clone());

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(opts.hostnames.iter().cloned());
    let resolver = Arc::new(pki::SwitchingResolver::new(
        &authority,
        &names,
        faults.expired_certificate.clone(),
    )?);
    let tls = Arc::new(authority.server_config(resolver)?);

    let state = Arc::new(AppState {
        db,
        authority,
        faults,
        published_calendar: std::sync::RwLock::new(calendar),
        directory,
        config,
        media_dir,
        operator,
        token_ttl: opts.token_ttl,
        busy_uploads: Default::default(),
    });

    let cancel = CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();
    let app = server::router(state.clone());

    let bind = |a: SocketAddr| async move {
        tokio::net::TcpListener::bind(a)
            .await
            .map_err(|source| StartError::Bind { addr: a, source })
    };
    let l = bind(opts.listen).await?;
    let addr = l.local_addr().map_err(|source| StartError::Bind {
        addr: opts.listen,
        source,
    })?;
    tasks.spawn(server::accept_tls(
        l,
        tls,
        app.clone(),
        cancel.clone(),
        tasks.clone(),
    ));

    let mut admin_url = None;
    if let Some(a) = opts.admin_listen {
        check_loopback(a)?;
        let l = bind(a).await?;
        let local = l
            .local_addr()
            .map_err(|source| StartError::Bind { addr: a, source })?;
        admin_url = Some(format!("http://{local}"));
        tasks.spawn(server::accept_plain(
            l,
            server::admin_router(state.clone()),
            None,
            cancel.clone(),
            tasks.clone(),
        ));
    }
    let mut plain_test_url = None;
    if let Some(a) = opts.plain_test_listen {
        check_loopback(a)?;
        if !valid_booth_id(&opts.plain_test_booth) {
            return Err(StartError::Invalid("plain test booth id".into()));
        }
        let l = bind(a).await?;
        let local = l
            .local_addr()
            .map_err(|source| StartError::Bind { addr: a, source })?;
        plain_test_url = Some(format!("http://{local}"));
        tracing::warn!(%local, booth = %opts.plain_test_booth, "plain-HTTP test listener: every request acts as this booth");
        tasks.spawn(server::accept_plain(
            l,
            app,
            Some(opts.plain_test_booth.clone()),
            cancel.clone(),
            tasks.clone(),
        ));
    }

    Ok(RunningServer {
        url: format!("https://127.0.0.1:{}", addr.port()),
        addr,
        admin_url,
        plain_test_url,
        ca_pem: state.authority.ca_pem.clone(),
        age_recipient: state.authority.age_recipient(),
        operator_login: state.operator.login.clone(),
        operator_password: new_password,
        state,
        cancel,
        tasks,
    })
}

/// Issues a token directly in a data directory's database (the `issue-token` CLI), without a
/// running server.
pub fn issue_token_offline(
    data_dir: &std::path::Path,
    booth_id: &str,
) -> Result<String, StartError> {
    if !valid_booth_id(booth_id) {
        return Err(StartError::Invalid(
            "booth id: letters, digits, . _ - (1-64)".into(),
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|source| StartError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let db = db::Db::open(&data_dir.join("authority.sqlite"))?;
    let mut raw = [0u8; 15];
    rand::rng().fill(&mut raw);
    let token = base32(&raw);
    let now = Utc::now();
    db.add_token(
        &secret_hash(&token),
        booth_id,
        now,
        now + chrono::Duration::hours(24),
    )?;
    Ok(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base32_is_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }

    #[test]
    fn booth_ids_refuse_traversal() {
        assert!(valid_booth_id("ALM01-03"));
        assert!(!valid_booth_id("../etc"));
        assert!(!valid_booth_id(""));
        assert!(!valid_booth_id("a/b"));
    }
}
