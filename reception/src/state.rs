//! Shared state of the console: configuration, clock, and the database behind a mutex whose
//! calls run on tokio's blocking pool, so a slow SQLite write or an Argon2 hash never stalls
//! the async workers.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use booth_core::config::Config;
use booth_core::store::{Store, StoreError};
use booth_core::{Clock, Language};
use rusqlite::Transaction;

use crate::i18n::t;

/// Why a request could not be served (the citizen-facing text is generic; the log line is not).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A blocking task panicked or was cancelled.
    #[error("blocking task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// Password hashing failed.
    #[error("password hash: {0}")]
    Hash(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // Errors carry ids and SQL messages, never form values.
        tracing::error!(error = %self, "request failed");
        let text = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>500</title></head><body><p>{}</p><p>{}</p><p>{}</p></body></html>",
            crate::html::esc(t(Language::Kk, "internal-error")),
            crate::html::esc(t(Language::Ru, "internal-error")),
            crate::html::esc(t(Language::En, "internal-error")),
        );
        (StatusCode::INTERNAL_SERVER_ERROR, Html(text)).into_response()
    }
}

/// The database, shared by all requests.
#[derive(Clone, Debug)]
pub struct Db(Arc<Mutex<Store>>);

impl Db {
    /// Wraps an open store.
    pub fn new(store: Store) -> Db {
        Db(Arc::new(Mutex::new(store)))
    }

    /// Runs `f` in a committed write transaction on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.0.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut store = db.lock().unwrap_or_else(|p| p.into_inner());
            store.write(f)
        })
        .await??;
        Ok(out)
    }

    /// Runs `f` in a read transaction on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.0.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut store = db.lock().unwrap_or_else(|p| p.into_inner());
            store.read(f)
        })
        .await??;
        Ok(out)
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Database.
    pub db: Db,
    /// Booth configuration (reception section, booth id, time zone offset).
    pub cfg: Arc<Config>,
    /// Time source (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Whether the console is served over TLS (adds `Secure` to cookies).
    pub tls: bool,
    /// An Argon2id hash verified against for unknown logins, so their timing matches known ones.
    pub dummy_hash: Arc<String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Local time offset of the branch (from `answers.utc_offset_minutes`; UTC if out of range).
    pub fn offset(&self) -> chrono::FixedOffset {
        use chrono::Offset;
        chrono::FixedOffset::east_opt(self.cfg.answers.utc_offset_minutes * 60)
            .unwrap_or(chrono::Utc.fix())
    }
}
