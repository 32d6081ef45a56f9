//! Sealing a finished take: the plaintext in the RAM directory is encrypted with `age` to the
//! central service's X25519 recipients into the outbox directory, made durable (temp name,
//! fsync, rename, fsync of the directory) and hashed (SHA-256 of the sealed bytes, which the
//! central service must confirm before the booth may delete it). Only then is the appeal row
//! committed (`booth_core::intake::commit`, called by the kiosk), and only after that commit may a
//! receipt appear.
//!
//! Crash safety, instant by instant: before the rename only a `.<id>.age.tmp` exists (removed
//! by [`cleanup_outbox_temps`] at start-up, never a receipt); between the rename and the commit
//! an orphan `<id>.age` exists without a row (reported by
//! `booth_core::store::outbox::reindex_orphans`, never deleted automatically, never a
//! receipt); after the commit the row and the complete, fsynced file both exist.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use booth_core::domain::MediaRef;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::recorder::{Container, remove_if_exists};

/// Sealing failures. The plaintext is kept in RAM on every error, so the citizen's take can be
/// sealed again once the cause is fixed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// No recipient configured (the booth is not enrolled).
    #[error("no age recipient configured (recorder.recipients): the booth is not enrolled")]
    NoRecipients,
    /// A configured recipient does not parse.
    #[error("recipient #{index} in recorder.recipients is not an age X25519 recipient: {detail}")]
    BadRecipient {
        /// Position in the list.
        index: usize,
        /// Parser's message.
        detail: String,
    },
    /// The outbox file system is full.
    #[error("no space left in the outbox writing {path}")]
    DiskFull {
        /// File being written.
        path: PathBuf,
    },
    /// Other file-system error.
    #[error("file error on {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// The age library refused (should not happen with valid recipients).
    #[error("encryption failed: {0}")]
    Encrypt(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SealError + '_ {
    move |source| {
        if source.raw_os_error() == Some(28) || source.kind() == io::ErrorKind::StorageFull {
            SealError::DiskFull {
                path: path.to_owned(),
            }
        } else {
            SealError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

/// Parses the configured recipients (`age1…`).
pub fn parse_recipients(list: &[String]) -> Result<Vec<age::x25519::Recipient>, SealError> {
    if list.is_empty() {
        return Err(SealError::NoRecipients);
    }
    list.iter()
        .enumerate()
        .map(|(index, s)| {
            age::x25519::Recipient::from_str(s.trim()).map_err(|e| SealError::BadRecipient {
                index,
                detail: e.to_string(),
            })
        })
        .collect()
}

/// The sealed file's name for an appeal: `<appeal uuid>.age`.
pub fn sealed_file_name(appeal_id: Uuid) -> String {
    format!("{appeal_id}.age")
}

fn temp_name(appeal_id: Uuid) -> String {
    format!(".{appeal_id}.age.tmp")
}

/// Counts and hashes the bytes written through it.
struct HashingWriter<W> {
    inner: W,
    sha: Sha256,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts `plaintext` to `recipients` into `outbox_dir/<appeal_id>.age`, durably: written
/// under a temporary name, fsynced, renamed, and the directory fsynced. Returns the outbox
/// reference with the SHA-256 and size of the sealed file. The plaintext is not touched.
pub fn seal(
    plaintext: &Path,
    recipients: &[age::x25519::Recipient],
    outbox_dir: &Path,
    appeal_id: Uuid,
) -> Result<MediaRef, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    std::fs::create_dir_all(outbox_dir).map_err(io_err(outbox_dir))?;
    let file_name = sealed_file_name(appeal_id);
    let final_path = outbox_dir.join(&file_name);
    let tmp_path = outbox_dir.join(temp_name(appeal_id));
    let result = write_sealed(plaintext, recipients, &tmp_path);
    let (sha, len) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = remove_if_exists(&tmp_path);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&tmp_path, &final_path) {
        let _ = remove_if_exists(&tmp_path);
        return Err(io_err(&final_path)(e));
    }
    File::open(outbox_dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(outbox_dir))?;
    let content_type =
        Container::from_path(plaintext).map_or("application/octet-stream", |c| c.content_type());
    tracing::info!(appeal = %appeal_id, sealed_size = len, "recording sealed into the outbox");
    Ok(MediaRef {
        file_name,
        sealed_sha256: sha,
        sealed_size: len,
        content_type: content_type.into(),
    })
}

fn write_sealed(
    plaintext: &Path,
    recipients: &[age::x25519::Recipient],
    tmp_path: &Path,
) -> Result<(String, u64), SealError> {
    let mut input = File::open(plaintext).map_err(io_err(plaintext))?;
    let file = File::create(tmp_path).map_err(io_err(tmp_path))?;
    let hashing = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        sha: Sha256::new(),
        len: 0,
    };
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| SealError::Encrypt(e.to_string()))?;
    let mut writer = encryptor.wrap_output(hashing).map_err(io_err(tmp_path))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buf).map_err(io_err(plaintext))?;
        if n == 0 {
            break;
        }
        writer.write_all(&buf[..n]).map_err(io_err(tmp_path))?;
    }
    let mut hashing = writer.finish().map_err(io_err(tmp_path))?;
    hashing.flush().map_err(io_err(tmp_path))?;
    let HashingWriter { inner, sha, len } = hashing;
    let file = inner
        .into_inner()
        .map_err(|e| io_err(tmp_path)(e.into_error()))?;
    file.sync_all().map_err(io_err(tmp_path))?;
    Ok((hex::encode(sha.finalize()), len))
}

/// Removes temporary files of seals interrupted by a crash (`.<id>.age.tmp`). Call at
/// start-up, before any sealing. Returns how many were removed.
pub fn cleanup_outbox_temps(outbox_dir: &Path) -> io::Result<usize> {
    let rd = match std::fs::read_dir(outbox_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".age.tmp") {
            remove_if_exists(&entry.path())?;
            n += 1;
        }
    }
    Ok(n)
}

/// SHA-256 (hex) of a file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    Ok(hex::encode(sha.finalize()))
}
