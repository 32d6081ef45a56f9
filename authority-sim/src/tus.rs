//! tus 1.0.0 uploads of sealed recordings: core (HEAD, PATCH), creation, checksum (sha256) and
//! termination. A PATCH either appends all its bytes or, with `Upload-Checksum`, nothing when
//! the digest differs (460); an offset other than the server's is 409 with the server's offset.
//! Without a checksum, the bytes received before a dropped connection are kept (tus core).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use booth_core::wire::{problem_codes as codes, tus};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use uuid::Uuid;

use crate::AppState;
use crate::db::UploadRow;
use crate::error::ApiError;
use crate::server::Booth;

type St = State<Arc<AppState>>;

/// Where the bytes of an open upload live.
pub fn part_path(s: &AppState, upload_id: &str) -> std::path::PathBuf {
    s.media_dir.join(format!("{upload_id}.part"))
}

fn check_version(h: &HeaderMap) -> Result<(), ApiError> {
    match h.get(tus::TUS_RESUMABLE).map(|v| v.to_str()) {
        None => Err(ApiError::BadRequest("Tus-Resumable header missing".into())),
        Some(Ok(tus::VERSION)) => Ok(()),
        Some(_) => Err(ApiError::TusVersion),
    }
}

fn num_header(h: &HeaderMap, name: &str) -> Result<u64, ApiError> {
    let v = h
        .get(name)
        .ok_or_else(|| ApiError::BadRequest(format!("{name} missing")))?;
    let s = v
        .to_str()
        .map_err(|_| ApiError::BadRequest(format!("{name} is not a number")))?;
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(format!("{name} is not a number")));
    }
    s.parse()
        .map_err(|_| ApiError::BadRequest(format!("{name} is not a number")))
}

/// Parses `Upload-Metadata` (`key base64,key2 base64`) into pairs.
pub fn parse_metadata(s: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let mut it = item.splitn(2, ' ');
        let key = it.next().unwrap_or_default();
        if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::BadRequest("Upload-Metadata key".into()));
        }
        let val = match it.next() {
            Some(v) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|_| {
                        ApiError::BadRequest(format!("Upload-Metadata {key}: not base64"))
                    })?;
                String::from_utf8(raw).map_err(|_| {
                    ApiError::BadRequest(format!("Upload-Metadata {key}: not UTF-8"))
                })?
            }
            None => String::new(),
        };
        out.push((key.to_owned(), val));
    }
    Ok(out)
}

/// Parses `Upload-Checksum: sha256 <base64>` into the 32-byte digest.
pub fn parse_checksum(s: &str) -> Result<[u8; 32], ApiError> {
    let mut it = s.trim().splitn(2, ' ');
    let algo = it.next().unwrap_or_default();
    if algo != tus::CHECKSUM_ALGORITHM {
        return Err(ApiError::BadRequest(
            "Upload-Checksum algorithm must be sha256".into(),
        ));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(it.next().unwrap_or_default().trim())
        .map_err(|_| ApiError::BadRequest("Upload-Checksum is not base64".into()))?;
    raw.try_into()
        .map_err(|_| ApiError::BadRequest("Upload-Checksum is not a SHA-256".into()))
}

fn tus_headers(mut r: Response) -> Response {
    r.headers_mut()
        .insert(tus::TUS_RESUMABLE, HeaderValue::from_static(tus::VERSION));
    r
}

/// `OPTIONS /v1/uploads`.
pub async fn options(State(s): St) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(tus::TUS_VERSION, HeaderValue::from_static(tus::VERSION));
    h.insert(
        tus::TUS_EXTENSION,
        HeaderValue::from_static(tus::EXTENSIONS),
    );
    h.insert(
        tus::TUS_MAX_SIZE,
        HeaderValue::from(s.config.max_upload_bytes),
    );
    h.insert(
        tus::TUS_CHECKSUM_ALGORITHM,
        HeaderValue::from_static(tus::CHECKSUM_ALGORITHM),
    );
    tus_headers(r)
}

fn created(u: &UploadRow) -> Response {
    let mut r = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&booth_core::wire::paths::upload(&u.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(tus::UPLOAD_OFFSET, HeaderValue::from(u.offset));
    tus_headers(r)
}

/// `POST /v1/uploads` (creation).
pub async fn create(
    State(s): St,
    Booth(booth): Booth,
    h: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(&h)?;
    // Creation-with-upload is not offered: a body here is refused rather than silently lost.
    let extra = crate::server::read_limited(body, 0).await?;
    if !extra.is_empty() {
        return Err(ApiError::BadRequest(
            "creation-with-upload is not supported".into(),
        ));
    }
    let length = num_header(&h, tus::UPLOAD_LENGTH)?;
    if length > s.config.max_upload_bytes {
        return Err(ApiError::TooLarge {
            limit: usize::try_from(s.config.max_upload_bytes).unwrap_or(usize::MAX),
        });
    }
    let meta = h
        .get(tus::UPLOAD_METADATA)
        .ok_or_else(|| ApiError::BadRequest("Upload-Metadata with appeal_id missing".into()))?
        .to_str()
        .map_err(|_| ApiError::BadRequest("Upload-Metadata is not ASCII".into()))?;
    let meta = parse_metadata(meta)?;
    let appeal = meta
        .iter()
        .find(|(k, _)| k == tus::META_APPEAL_ID)
        .ok_or_else(|| ApiError::BadRequest("Upload-Metadata has no appeal_id".into()))?;
    let appeal_id =
        Uuid::parse_str(&appeal.1).map_err(|_| ApiError::BadId("appeal_id is a UUID".into()))?;
    let row =
        s.db.appeal(appeal_id)
            .map_err(ApiError::internal)?
            .filter(|a| a.booth_id == booth)
            .ok_or(ApiError::NotFound("appeal".into()))?;
    if row.verified_at.is_some() {
        return Err(ApiError::Conflict {
            code: codes::APPEAL_CONFLICT,
            detail: "recording already verified".into(),
            offset: None,
        });
    }
    if length != row.body.media.size {
        return Err(ApiError::BadRequest(
            "Upload-Length differs from the appeal's media size".into(),
        ));
    }
    if let Some(u) =
        s.db.open_upload_for(appeal_id)
            .map_err(ApiError::internal)?
    {
        return Ok(created(&u));
    }
    let u = UploadRow {
        id: Uuid::new_v4().simple().to_string(),
        appeal_id,
        booth_id: booth.clone(),
        length,
        offset: 0,
        state: "open".into(),
    };
    tokio::fs::File::create(part_path(&s, &u.id)).await?;
    s.db.add_upload(&u, chrono::Utc::now())
        .map_err(ApiError::internal)?;
    tracing::info!(appeal_id = %appeal_id, upload = %u.id, length, "upload created");
    Ok(created(&u))
}

fn valid_upload_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn find_upload(
    s: &AppState,
    booth: &str,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<UploadRow, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::BadId("upload id".into()))?;
    if !valid_upload_id(&id) {
        return Err(ApiError::BadId("upload id is 32 lowercase hex".into()));
    }
    let u =
        s.db.upload(&id)
            .map_err(ApiError::internal)?
            .filter(|u| u.booth_id == booth)
            .ok_or(ApiError::NotFound("upload".into()))?;
    if u.state == "terminated" {
        return Err(ApiError::Gone);
    }
    Ok(u)
}

/// `HEAD /v1/uploads/{upload_id}`.
pub async fn head(
    State(s): St,
    Booth(booth): Booth,
    h: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    check_version(&h)?;
    let u = find_upload(&s, &booth, path)?;
    let mut r = StatusCode::OK.into_response();
    let hm = r.headers_mut();
    hm.insert(tus::UPLOAD_OFFSET, HeaderValue::from(u.offset));
    hm.insert(tus::UPLOAD_LENGTH, HeaderValue::from(u.length));
    hm.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(tus_headers(r))
}

/// Releases the per-upload PATCH lock when dropped.
struct BusyGuard<'a> {
    s: &'a AppState,
    id: String,
}
impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut b) = self.s.busy_uploads.lock() {
            b.remove(&self.id);
        }
    }
}

/// `PATCH /v1/uploads/{upload_id}`.
pub async fn patch(
    State(s): St,
    Booth(booth): Booth,
    h: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(&h)?;
    let ct = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct != tus::OFFSET_OCTET_STREAM {
        return Err(ApiError::UnsupportedMediaType(tus::OFFSET_OCTET_STREAM));
    }
    let claimed = num_header(&h, tus::UPLOAD_OFFSET)?;
    let checksum = match h.get(tus::UPLOAD_CHECKSUM) {
        Some(v) => {
            Some(parse_checksum(v.to_str().map_err(|_| {
                ApiError::BadRequest("Upload-Checksum".into())
            })?)?)
        }
        None => None,
    };
    let u = find_upload(&s, &booth, path)?;
    if u.state != "open" {
        return Err(ApiError::Conflict {
            code: codes::APPEAL_CONFLICT,
            detail: "upload already completed".into(),
            offset: Some(u.offset),
        });
    }
    {
        let mut busy = s
            .busy_uploads
            .lock()
            .map_err(|_| ApiError::internal("busy lock poisoned"))?;
        if !busy.insert(u.id.clone()) {
            return Err(ApiError::Conflict {
                code: codes::OFFSET_MISMATCH,
                detail: "another PATCH is in progress".into(),
                offset: Some(u.offset),
            });
        }
    }
    let _guard = BusyGuard {
        s: &s,
        id: u.id.clone(),
    };
    // Re-read under the lock: a PATCH that just finished moved the offset.
    let u =
        s.db.upload(&u.id)
            .map_err(ApiError::internal)?
            .ok_or(ApiError::NotFound("upload".into()))?;
    if claimed != u.offset {
        return Err(ApiError::Conflict {
            code: codes::OFFSET_MISMATCH,
            detail: format!("Upload-Offset {claimed} but the server has {}", u.offset),
            offset: Some(u.offset),
        });
    }
    let path = part_path(&s, &u.id);
    let mut f = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .await?;
    f.set_len(u.offset).await?;
    f.seek(std::io::SeekFrom::Start(u.offset)).await?;
    let room = u.length - u.offset;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut stream = body.into_data_stream();
    let mut failure: Option<ApiError> = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(b) => {
                if written + b.len() as u64 > room {
                    failure = Some(ApiError::TooLarge {
                        limit: usize::try_from(room).unwrap_or(usize::MAX),
                    });
                    break;
                }
                hasher.update(&b);
                f.write_all(&b).await?;
                written += b.len() as u64;
            }
            Err(e) => {
                failure = Some(ApiError::BadRequest(format!("body interrupted: {e}")));
                break;
            }
        }
    }
    if failure.is_none()
        && let Some(want) = checksum
        && hasher.finalize().as_slice() != want.as_slice()
    {
        failure = Some(ApiError::ChecksumMismatch);
    }
    let keep_partial = checksum.is_none() && matches!(failure, Some(ApiError::BadRequest(_)));
    let new_offset = match &failure {
        None => u.offset + written,
        Some(_) if keep_partial => u.offset + written,
        Some(_) => u.offset,
    };
    f.set_len(new_offset).await?;
    f.sync_all().await?;
    s.db.set_offset(&u.id, new_offset)
        .map_err(ApiError::internal)?;
    if let Some(e) = failure {
        tracing::info!(upload = %u.id, offset = new_offset, error = %e, "PATCH refused");
        return Err(e);
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(tus::UPLOAD_OFFSET, HeaderValue::from(new_offset));
    Ok(tus_headers(r))
}

/// `DELETE /v1/uploads/{upload_id}` (termination).
pub async fn terminate(
    State(s): St,
    Booth(booth): Booth,
    h: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    check_version(&h)?;
    let u = match find_upload(&s, &booth, path) {
        Err(ApiError::Gone) => return Ok(tus_headers(StatusCode::NO_CONTENT.into_response())),
        other => other?,
    };
    if u.state != "open" {
        return Err(ApiError::Conflict {
            code: codes::APPEAL_CONFLICT,
            detail: "upload already completed".into(),
            offset: None,
        });
    }
    s.db.terminate_upload(&u.id).map_err(ApiError::internal)?;
    let _ = tokio::fs::remove_file(part_path(&s, &u.id)).await;
    tracing::info!(upload = %u.id, "upload terminated");
    Ok(tus_headers(StatusCode::NO_CONTENT.into_response()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn metadata_parses_pairs_and_refuses_garbage() {
        let m = parse_metadata("appeal_id YWJj,flag").unwrap();
        assert_eq!(
            m,
            vec![
                ("appeal_id".into(), "abc".into()),
                ("flag".into(), String::new())
            ]
        );
        assert!(matches!(
            parse_metadata("appeal_id !!!"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn checksum_needs_sha256_of_32_bytes() {
        let d = Sha256::digest(b"x");
        let h = format!(
            "sha256 {}",
            base64::engine::general_purpose::STANDARD.encode(d)
        );
        assert_eq!(parse_checksum(&h).unwrap().as_slice(), d.as_slice());
        assert!(parse_checksum("md5 AAAA").is_err());
        assert!(parse_checksum("sha256 AAAA").is_err());
    }

    proptest::proptest! {
        #[test]
        fn header_parsers_never_panic(s in "\\PC{0,200}") {
            let _ = parse_metadata(&s);
            let _ = parse_checksum(&s);
        }
    }
}
