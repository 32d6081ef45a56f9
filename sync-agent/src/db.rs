//! The agent's handle on the shared SQLite store: one connection behind a mutex, used from
//! blocking threads so a busy database never stalls the async runtime.

use std::path::Path;
use std::sync::{Arc, Mutex};

use booth_core::store::{Store, StoreError};
use rusqlite::Transaction;

use crate::error::SyncError;

/// Cloneable handle; every call runs on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct Db {
    inner: Arc<Mutex<Store>>,
}

impl Db {
    /// Opens (and migrates) the database; a damaged file is moved aside and reported
    /// (`Store::open_or_recover`), then the caller re-indexes orphans.
    pub fn open(path: &Path) -> Result<Db, SyncError> {
        let (store, moved) = Store::open_or_recover(path)?;
        if let Some(m) = moved {
            tracing::error!(moved_to = %m.display(), "damaged database moved aside; recordings on disk are re-indexed");
        }
        Ok(Db {
            inner: Arc::new(Mutex::new(store)),
        })
    }

    /// Runs `f` with the store on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, SyncError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut g)
        })
        .await;
        match joined {
            Ok(r) => r.map_err(SyncError::from),
            Err(e) => Err(SyncError::State {
                path: "database".into(),
                detail: format!("store task failed: {e}"),
            }),
        }
    }

    /// Runs `f` in a write transaction.
    pub async fn write<T, F>(&self, f: F) -> Result<T, SyncError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.call(move |s| s.write(f)).await
    }

    /// Runs `f` in a read transaction.
    pub async fn read<T, F>(&self, f: F) -> Result<T, SyncError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.call(move |s| s.read(f)).await
    }
}
