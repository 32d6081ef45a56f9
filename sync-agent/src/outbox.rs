//! Draining the outbox, oldest first, one recording at a time:
//!
//! ```text
//! PUT /v1/appeals/{id}            create, idempotent by id (tells us if the media is there)
//! POST /v1/uploads                tus creation (same Location again for the same appeal)
//! HEAD  <location>                after any failure: resume from the server's offset
//! PATCH <location> (large pieces) Upload-Offset + Upload-Checksum: sha256, bandwidth-capped
//! POST /v1/appeals/{id}/complete  the server hashes the whole file; we compare its SHA-256
//! store: uploaded → destroyed + destruction log + minimise (one transaction), then unlink
//! ```
//!
//! Nothing is marked uploaded unless the server's confirmed SHA-256 and size equal the ones
//! recorded when the file was sealed. A permanent refusal parks the item with its reason; a
//! transient failure stops the round (the link is probably down) and the job backs off.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use booth_core::store::outbox::{self, OutboxItem, OutboxState};
use booth_core::store::{StoreError, appeals, sync as store_sync};
use booth_core::wire::{
    self, AppealAccepted, CompleteRequest, CompleteResponse, CreateAppeal, MediaInfo, MediaState,
    paths, tus,
};
use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::Db;
use crate::error::SyncError;
use crate::http::{Central, http_error};
use crate::throttle::Throttle;

/// Items fetched per round from the store.
const BATCH: u32 = 64;
/// tus 409/460 answers tolerated in a row on one item before the round gives up.
const MAX_MISMATCHES: u32 = 3;

/// What the uploader needs.
#[derive(Debug, Clone)]
pub struct Uploader {
    /// The central service.
    pub central: Central,
    /// The store.
    pub db: Db,
    /// Directory of sealed files.
    pub outbox_dir: PathBuf,
    /// Bytes per PATCH.
    pub chunk_bytes: u64,
    /// Bandwidth cap, shared by all uploads.
    pub throttle: Option<Arc<Throttle>>,
    /// Shutdown: checked between requests, so an in-flight request completes.
    pub cancel: CancellationToken,
}

/// Outcome of one drain round.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoundReport {
    /// Items confirmed and destroyed.
    pub delivered: u32,
    /// Items parked for a technician.
    pub parked: u32,
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Start-up recovery: deletes files of rows already `destroyed` (crash after the commit, before
/// the unlink), and destroys rows left `uploaded` by a crash or another writer. Returns how
/// many files were deleted, and the names of sealed files that no row knows (reported, never
/// deleted).
pub async fn recover(db: &Db, outbox_dir: &Path) -> Result<(usize, Vec<String>), SyncError> {
    let dir = outbox_dir.to_owned();
    let uploaded = db.read(|tx| outbox::in_state(tx, "uploaded")).await?;
    for it in uploaded {
        destroy(db, &dir, it.appeal_id).await?;
    }
    let dir2 = dir.clone();
    let n = db
        .write(move |tx| outbox::finish_interrupted_destruction(tx, &dir2))
        .await?;
    let orphans = db.read(move |tx| outbox::reindex_orphans(tx, &dir)).await?;
    if n > 0 {
        tracing::info!(files = n, "finished destruction interrupted by a crash");
    }
    for o in &orphans {
        tracing::error!(file = %o, "sealed file without an outbox row: kept for the technician");
    }
    Ok((n, orphans))
}

/// Marks a confirmed item uploaded (if it is not yet) and destroyed, with the destruction log
/// entry and data minimisation, all in one transaction; then deletes its file. A crash after
/// the commit leaves a `destroyed` row whose file [`recover`] deletes at the next start.
async fn destroy(db: &Db, dir: &Path, id: Uuid) -> Result<(), SyncError> {
    let t = now();
    let it = db
        .write(move |tx| {
            if outbox::get(tx, id)?.state != OutboxState::Uploaded {
                outbox::transition(tx, id, OutboxState::Uploaded, t)?;
            }
            let it = outbox::mark_destroyed(tx, id, t)?;
            appeals::minimise(tx, id, t)?;
            Ok::<_, StoreError>(it)
        })
        .await?;
    outbox::delete_sealed_file(dir, &it.media.file_name).map_err(|e| SyncError::SealedFile {
        path: dir.join(&it.media.file_name),
        detail: format!("delete after confirmation: {e}"),
    })?;
    tracing::info!(appeal_id = %id, bytes = it.media.sealed_size, "recording confirmed by the central service; sealed file destroyed");
    Ok(())
}

/// Technician's action: sends parked items (all, or the one given) back to `sealed`, so the
/// agent tries them again. Returns the ids re-queued. The refusal reason stays in
/// `last_error` until the next attempt.
pub fn requeue_parked(
    store: &mut booth_core::store::Store,
    only: Option<Uuid>,
) -> Result<Vec<Uuid>, StoreError> {
    store.write(|tx| {
        let mut done = Vec::new();
        for it in outbox::in_state(tx, "parked")? {
            if only.is_none_or(|id| id == it.appeal_id) {
                outbox::transition(tx, it.appeal_id, OutboxState::Sealed, now())?;
                done.push(it.appeal_id);
            }
        }
        Ok(done)
    })
}

/// Refusals that concern the booth (its certificate), not the item: they stop the round
/// instead of parking every item.
fn is_booth_level(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::Http {
            status: 401 | 403,
            ..
        } | SyncError::NotEnrolled
            | SyncError::State { .. }
    )
}

fn sealed_path(dir: &Path, file_name: &str) -> Result<PathBuf, SyncError> {
    if file_name.is_empty() || file_name.contains('/') || file_name.starts_with('.') {
        return Err(SyncError::SealedFile {
            path: dir.join(file_name),
            detail: "bad outbox file name".into(),
        });
    }
    Ok(dir.join(file_name))
}

async fn file_sha256(path: &Path) -> Result<(String, u64), SyncError> {
    let p = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&p)?;
        let mut h = Sha256::new();
        let n = std::io::copy(&mut f, &mut h)?;
        Ok::<_, std::io::Error>((hex::encode(h.finalize()), n))
    })
    .await
    .map_err(|e| SyncError::SealedFile {
        path: path.to_owned(),
        detail: e.to_string(),
    })?
    .map_err(|e| SyncError::SealedFile {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

fn header_u64(resp: &reqwest::Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

impl Uploader {
    /// Sends everything pending, oldest first. Returns on the first transient failure (with
    /// that error), after parking permanently refused items, or when the outbox is empty.
    pub async fn drain(&self) -> Result<RoundReport, SyncError> {
        let mut report = RoundReport::default();
        loop {
            let items = self.db.read(|tx| outbox::pending(tx, BATCH)).await?;
            if items.is_empty() {
                return Ok(report);
            }
            for it in items {
                if self.cancel.is_cancelled() {
                    return Err(SyncError::Cancelled);
                }
                let id = it.appeal_id;
                match self.deliver(&it).await {
                    Ok(()) => report.delivered += 1,
                    Err(SyncError::Cancelled) => return Err(SyncError::Cancelled),
                    Err(e) if e.is_permanent() && !is_booth_level(&e) => {
                        let reason = e.reason();
                        tracing::error!(appeal_id = %id, %reason, "central service refused the appeal permanently: parked for the technician");
                        let r = reason.clone();
                        self.db
                            .write(move |tx| {
                                outbox::transition(tx, id, OutboxState::Parked { reason: r }, now())
                            })
                            .await?;
                        report.parked += 1;
                    }
                    Err(e) => {
                        let reason = e.reason();
                        tracing::warn!(appeal_id = %id, %reason, "upload failed; will resume from the server's offset");
                        self.db
                            .write(move |tx| outbox::record_failure(tx, id, &reason, now()))
                            .await?;
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Delivers one item end to end.
    pub async fn deliver(&self, it: &OutboxItem) -> Result<(), SyncError> {
        let id = it.appeal_id;
        let path = sealed_path(&self.outbox_dir, &it.media.file_name)?;
        let body = self.create_body(id).await?;
        let accepted: AppealAccepted = self
            .central
            .send_json(Method::PUT, &paths::appeal(id), &body)
            .await?;
        if accepted.appeal_id != id {
            return Err(SyncError::BadResponse {
                what: paths::appeal(id),
                reason: format!("answer names appeal {} instead of {id}", accepted.appeal_id),
            });
        }
        if accepted.media != MediaState::Verified {
            let meta = tokio::fs::metadata(&path)
                .await
                .map_err(|e| SyncError::SealedFile {
                    path: path.clone(),
                    detail: format!("cannot read the sealed recording: {e}"),
                })?;
            if meta.len() != it.media.sealed_size {
                return Err(SyncError::SealedFile {
                    path,
                    detail: format!(
                        "size {} differs from the {} bytes recorded at sealing",
                        meta.len(),
                        it.media.sealed_size
                    ),
                });
            }
            self.upload(it, &path, accepted.upload_url.as_deref())
                .await?;
        }
        self.complete(it, &path).await?;
        destroy(&self.db, &self.outbox_dir, id).await
    }

    async fn create_body(&self, id: Uuid) -> Result<CreateAppeal, SyncError> {
        let a = self
            .db
            .read(move |tx| store_sync::appeal_to_send(tx, id))
            .await?;
        let Some(applicant) = a.applicant else {
            return Err(SyncError::SealedFile {
                path: self.outbox_dir.join(&a.media.file_name),
                detail:
                    "the applicant's data was already minimised before the upload was confirmed"
                        .into(),
            });
        };
        Ok(CreateAppeal {
            id,
            registration_number: a.registration_number,
            applicant,
            addressee_id: a.addressee_id,
            kind: a.kind,
            complaint: a.complaint,
            language: a.language,
            recorded_at: a.recorded_at,
            duration_ms: a.duration_ms,
            media: MediaInfo {
                sha256: a.media.sealed_sha256,
                size: a.media.sealed_size,
                content_type: a.media.content_type,
            },
            lookup_id: a.lookup_id,
            expected_answer_date: a.expected_answer_date,
            continuation_of: a.continuation_of,
            visit_id: a.visit_id,
        })
    }

    /// Records the server's offset; goes back to `sealed` first if the server has less than
    /// the store says (it lost a partial upload).
    async fn record_offset(&self, id: Uuid, offset: u64) -> Result<(), SyncError> {
        self.db
            .write(move |tx| {
                let cur = outbox::get(tx, id)?;
                match cur.state {
                    OutboxState::Uploading { offset: a } if a == offset => {}
                    OutboxState::Uploading { offset: a } if a > offset => {
                        outbox::transition(tx, id, OutboxState::Sealed, now())?;
                        outbox::transition(tx, id, OutboxState::Uploading { offset }, now())?;
                    }
                    _ => outbox::transition(tx, id, OutboxState::Uploading { offset }, now())?,
                }
                Ok::<_, StoreError>(())
            })
            .await
    }

    async fn head(&self, location: &str) -> Result<Option<u64>, SyncError> {
        let req = self
            .central
            .request(Method::HEAD, location)?
            .header(tus::TUS_RESUMABLE, tus::VERSION);
        let resp = self.central.send(req, "HEAD upload").await?;
        match resp.status() {
            StatusCode::OK | StatusCode::NO_CONTENT => {
                match header_u64(&resp, tus::UPLOAD_OFFSET) {
                    Some(o) => Ok(Some(o)),
                    None => Err(SyncError::BadResponse {
                        what: "HEAD upload".into(),
                        reason: "no valid Upload-Offset header".into(),
                    }),
                }
            }
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            _ => Err(http_error(resp, "HEAD", "upload").await),
        }
    }

    /// tus creation; returns the location and the offset the server reported (a repeated
    /// creation for the same appeal returns the existing upload).
    async fn create_upload(&self, it: &OutboxItem) -> Result<(String, Option<u64>), SyncError> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        let meta = format!(
            "{} {},{} {}",
            tus::META_APPEAL_ID,
            b64(&it.appeal_id.to_string()),
            tus::META_CONTENT_TYPE,
            b64(&it.media.content_type)
        );
        let req = self
            .central
            .request(Method::POST, paths::UPLOADS)?
            .header(tus::TUS_RESUMABLE, tus::VERSION)
            .header(tus::UPLOAD_LENGTH, it.media.sealed_size.to_string())
            .header(tus::UPLOAD_METADATA, meta)
            .header(CONTENT_LENGTH, "0");
        let resp = self.central.send_ok(req, "POST", paths::UPLOADS).await?;
        if resp.status() != StatusCode::CREATED {
            return Err(SyncError::BadResponse {
                what: "tus creation".into(),
                reason: format!("status {} instead of 201", resp.status()),
            });
        }
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SyncError::BadResponse {
                what: "tus creation".into(),
                reason: "no Location header".into(),
            })?
            .to_owned();
        self.central.url(&loc)?;
        Ok((loc, header_u64(&resp, tus::UPLOAD_OFFSET)))
    }

    async fn upload(
        &self,
        it: &OutboxItem,
        path: &Path,
        server_url: Option<&str>,
    ) -> Result<(), SyncError> {
        let id = it.appeal_id;
        let size = it.media.sealed_size;
        let mut location = it
            .upload_url
            .clone()
            .or_else(|| server_url.map(str::to_owned));
        if it.upload_url.is_none()
            && let Some(loc) = &location
        {
            self.central.url(loc)?;
            let l = loc.clone();
            self.db
                .write(move |tx| outbox::set_upload_url(tx, id, &l))
                .await?;
        }
        let mut offset = match &location {
            Some(loc) => self.head(loc).await?,
            None => None,
        };
        if offset.is_none() {
            // Fresh upload: check the file is the one that was sealed before sending a byte.
            let (sha, n) = file_sha256(path).await?;
            if sha != it.media.sealed_sha256 || n != size {
                return Err(SyncError::SealedFile {
                    path: path.to_owned(),
                    detail: "the file's SHA-256 differs from the one recorded at sealing (damaged on disk)".into(),
                });
            }
            let (loc, created_offset) = self.create_upload(it).await?;
            let l = loc.clone();
            self.db
                .write(move |tx| outbox::set_upload_url(tx, id, &l))
                .await?;
            location = Some(loc.clone());
            offset = match created_offset {
                Some(o) => Some(o),
                None => Some(self.head(&loc).await?.unwrap_or(0)),
            };
        }
        let (Some(location), Some(mut offset)) = (location, offset) else {
            return Err(SyncError::BadResponse {
                what: "tus".into(),
                reason: "upload vanished right after creation".into(),
            });
        };
        if offset > size {
            return Err(SyncError::BadResponse {
                what: "HEAD upload".into(),
                reason: format!("server offset {offset} beyond the file's {size} bytes"),
            });
        }
        self.record_offset(id, offset).await?;
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| SyncError::SealedFile {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        let mut mismatches = 0u32;
        while offset < size {
            if self.cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            let len = self.chunk_bytes.max(1).min(size - offset);
            let mut buf = vec![0u8; len as usize];
            file.seek(SeekFrom::Start(offset))
                .await
                .map_err(|e| SyncError::SealedFile {
                    path: path.to_owned(),
                    detail: e.to_string(),
                })?;
            file.read_exact(&mut buf)
                .await
                .map_err(|e| SyncError::SealedFile {
                    path: path.to_owned(),
                    detail: e.to_string(),
                })?;
            let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&buf));
            let data = Bytes::from(buf);
            let (body, timeout) = match &self.throttle {
                Some(t) => (
                    reqwest::Body::wrap_stream(t.stream(data)),
                    Duration::from_secs_f64(30.0 + 2.0 * len as f64 / t.rate()),
                ),
                None => (
                    reqwest::Body::from(data),
                    Duration::from_secs(30 + len / (64 * 1024)),
                ),
            };
            let req = self
                .central
                .request(Method::PATCH, &location)?
                .header(tus::TUS_RESUMABLE, tus::VERSION)
                .header(tus::UPLOAD_OFFSET, offset.to_string())
                .header(
                    tus::UPLOAD_CHECKSUM,
                    format!("{} {checksum}", tus::CHECKSUM_ALGORITHM),
                )
                .header(CONTENT_TYPE, tus::OFFSET_OCTET_STREAM)
                .header(CONTENT_LENGTH, len.to_string())
                .timeout(timeout)
                .body(body);
            let resp = self.central.send(req, "PATCH upload").await?;
            let status = resp.status().as_u16();
            if status == 204 || status == 200 {
                let Some(new) = header_u64(&resp, tus::UPLOAD_OFFSET) else {
                    return Err(SyncError::BadResponse {
                        what: "PATCH upload".into(),
                        reason: "no valid Upload-Offset header".into(),
                    });
                };
                if new != offset + len {
                    return Err(SyncError::BadResponse {
                        what: "PATCH upload".into(),
                        reason: format!(
                            "server reports offset {new} after {len} bytes at {offset}; resuming from HEAD"
                        ),
                    });
                }
                offset = new;
                mismatches = 0;
                self.record_offset(id, offset).await?;
                tracing::debug!(appeal_id = %id, offset, size, "chunk accepted");
            } else if status == tus::STATUS_OFFSET_MISMATCH
                || status == tus::STATUS_CHECKSUM_MISMATCH
            {
                let e = http_error(resp, "PATCH", "upload").await;
                mismatches += 1;
                if mismatches > MAX_MISMATCHES {
                    return Err(e);
                }
                tracing::warn!(appeal_id = %id, error = %e, "tus mismatch; asking the server for its offset");
                match self.head(&location).await? {
                    Some(o) if o <= size => {
                        offset = o;
                        self.record_offset(id, offset).await?;
                    }
                    _ => return Err(e),
                }
            } else if status == 404 || status == 410 {
                // The server lost or terminated the upload: start again from zero next time.
                let e = http_error(resp, "PATCH", "upload").await;
                self.restart_upload_local(id).await?;
                return Err(SyncError::BadResponse {
                    what: "PATCH upload".into(),
                    reason: format!("upload gone on the server ({e}); starting again"),
                });
            } else {
                return Err(http_error(resp, "PATCH", "upload").await);
            }
        }
        Ok(())
    }

    async fn complete(&self, it: &OutboxItem, path: &Path) -> Result<(), SyncError> {
        let id = it.appeal_id;
        let req = CompleteRequest {
            sha256: it.media.sealed_sha256.clone(),
            size: it.media.sealed_size,
        };
        let p = paths::appeal_complete(id);
        let r: Result<CompleteResponse, SyncError> =
            self.central.send_json(Method::POST, &p, &req).await;
        let c = match r {
            Ok(c) => c,
            Err(SyncError::Http {
                status: 422, code, ..
            }) if code == wire::problem_codes::SHA256_MISMATCH => {
                // The server's copy is damaged (or ours is): check ours before starting again.
                let (sha, _) = file_sha256(path).await?;
                if sha != it.media.sealed_sha256 {
                    return Err(SyncError::SealedFile {
                        path: path.to_owned(),
                        detail: "sealed file damaged on the booth (SHA-256 differs)".into(),
                    });
                }
                self.restart_upload(it).await?;
                return Err(SyncError::BadResponse {
                    what: p,
                    reason: "the server's copy failed the SHA-256 check; uploading it again from the start".into(),
                });
            }
            Err(e) => return Err(e),
        };
        if c.appeal_id != id || c.sha256 != it.media.sealed_sha256 || c.size != it.media.sealed_size
        {
            return Err(SyncError::BadResponse {
                what: p,
                reason: format!(
                    "server confirmed sha256 {} size {} for {} but the booth sealed sha256 {} size {}: not marking uploaded",
                    c.sha256, c.size, c.appeal_id, it.media.sealed_sha256, it.media.sealed_size
                ),
            });
        }
        Ok(())
    }

    /// Terminates the server's upload and forgets it, so the next attempt starts from zero.
    async fn restart_upload(&self, it: &OutboxItem) -> Result<(), SyncError> {
        let id = it.appeal_id;
        let loc = self
            .db
            .read(move |tx| outbox::get(tx, id))
            .await?
            .upload_url;
        if let Some(loc) = loc {
            let req = self
                .central
                .request(Method::DELETE, &loc)?
                .header(tus::TUS_RESUMABLE, tus::VERSION);
            let _ = self.central.send(req, "DELETE upload").await?;
        }
        self.restart_upload_local(id).await
    }

    async fn restart_upload_local(&self, id: Uuid) -> Result<(), SyncError> {
        self.db
            .write(move |tx| {
                let cur = outbox::get(tx, id)?;
                if matches!(cur.state, OutboxState::Uploading { .. }) {
                    outbox::transition(tx, id, OutboxState::Sealed, now())?;
                }
                store_sync::clear_upload_url(tx, id)?;
                Ok::<_, StoreError>(())
            })
            .await
    }
}
