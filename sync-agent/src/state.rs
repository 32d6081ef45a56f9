//! The agent's files in the state directory (`paths.state_dir` of the booth config):
//!
//! ```text
//! <state_dir>/booth.sqlite3          shared database (booth-core store)
//! <state_dir>/sync/                  0700, owned by the agent's user
//!   device.key                       0600, PKCS#8 PEM, made at enrollment; never leaves the booth
//!   device.crt                       client certificate from the central service (PEM)
//!   ca.crt                           the authority's CA (PEM): the only trust anchor
//!   enrollment.json                  booth id, central URL, age recipients, enrolled at
//! ```
//!
//! Every file is written to a temporary name, fsynced, renamed and the directory fsynced, so a
//! power cut leaves either the old or the new file, never half of one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::SyncError;

/// What enrollment recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    /// Booth id as the central service knows it (CN of the client certificate).
    pub booth_id: String,
    /// Central service base URL (`https://host:port`), without a trailing slash.
    pub central_url: String,
    /// age recipients of the authority.
    pub age_recipients: Vec<String>,
    /// When enrolled.
    pub enrolled_at: DateTime<Utc>,
}

/// Paths of the agent's state.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The agent's directory under the booth's state dir.
    pub fn new(state_dir: &Path) -> StateDir {
        StateDir {
            dir: state_dir.join("sync"),
        }
    }
    /// The `sync/` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Device private key.
    pub fn key(&self) -> PathBuf {
        self.dir.join("device.key")
    }
    /// Client certificate.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("device.crt")
    }
    /// Pinned CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    /// Enrollment record.
    pub fn enrollment_file(&self) -> PathBuf {
        self.dir.join("enrollment.json")
    }

    /// Creates the directory with mode 0700 (tightening it if it exists).
    pub fn ensure(&self) -> Result<(), SyncError> {
        fs::create_dir_all(&self.dir).map_err(|e| self.err(&self.dir, e))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| self.err(&self.dir, e))?;
        Ok(())
    }

    fn err(&self, path: &Path, e: impl std::fmt::Display) -> SyncError {
        SyncError::State {
            path: path.to_owned(),
            detail: e.to_string(),
        }
    }

    /// Whether enrollment completed (record, key and certificate all present).
    pub fn is_enrolled(&self) -> bool {
        self.enrollment_file().is_file()
            && self.key().is_file()
            && self.cert().is_file()
            && self.ca().is_file()
    }

    /// Reads the enrollment record; [`SyncError::NotEnrolled`] when absent.
    pub fn enrollment(&self) -> Result<Enrollment, SyncError> {
        if !self.is_enrolled() {
            return Err(SyncError::NotEnrolled);
        }
        let p = self.enrollment_file();
        let text = fs::read_to_string(&p).map_err(|e| self.err(&p, e))?;
        serde_json::from_str(&text).map_err(|e| self.err(&p, e))
    }

    /// Reads a PEM file of the state.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, SyncError> {
        fs::read(path).map_err(|e| self.err(path, e))
    }

    /// Writes `bytes` to `path` atomically with `mode`, fsyncing file and directory.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), SyncError> {
        let tmp = path.with_extension("tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| self.err(&tmp, e))?;
        f.write_all(bytes).map_err(|e| self.err(&tmp, e))?;
        f.sync_all().map_err(|e| self.err(&tmp, e))?;
        // The umask may have narrowed `mode` further; make it exact.
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| self.err(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| self.err(path, e))?;
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.err(&self.dir, e))?;
        Ok(())
    }

    /// Writes the enrollment record (last step of enrollment: its presence means "enrolled").
    pub fn write_enrollment(&self, e: &Enrollment) -> Result<(), SyncError> {
        let json =
            serde_json::to_vec_pretty(e).map_err(|x| self.err(&self.enrollment_file(), x))?;
        self.write_atomic(&self.enrollment_file(), &json, 0o600)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_atomically_with_their_mode() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = StateDir::new(tmp.path());
        s.ensure().expect("ensure");
        assert_eq!(
            fs::metadata(s.dir()).expect("meta").permissions().mode() & 0o777,
            0o700
        );
        s.write_atomic(&s.key(), b"secret", 0o600).expect("write");
        assert_eq!(
            fs::metadata(s.key()).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        assert!(!s.is_enrolled());
        assert!(matches!(s.enrollment(), Err(SyncError::NotEnrolled)));
    }
}
