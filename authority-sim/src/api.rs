//! Protocol v1 handlers other than tus: enrollment, directory, calendar, config, idempotent
//! appeal create, complete (whole-file SHA-256), answers since a cursor, lookup, ratings,
//! visits, heartbeat. Every booth route takes the booth from its client certificate and only
//! ever touches that booth's rows (lookup by lookup id and ratings by appeal id excepted).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use booth_core::wire::{
    Accepted, AnswersPage, AppealAccepted, BoothConfig, CALENDAR_CONTENT_TYPE, CompleteRequest,
    CompleteResponse, CreateAppeal, EnrollRequest, EnrollResponse, Heartbeat, HeartbeatAck,
    RatingSubmission, VisitSubmission, problem_codes as codes,
};
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{CreateOutcome, VisitOutcome};
use crate::error::ApiError;
use crate::faults::WrongChecksum;
use crate::server::{Booth, JsonBody};
use crate::{AppState, secret_hash};

type St = State<Arc<AppState>>;

/// Parses a UUID path segment (anything else, such as `..%2F..`, is 400 bad-id).
pub fn parse_appeal_id(
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Uuid, ApiError> {
    let Path(s) = p.map_err(|_| ApiError::BadId("appeal id".into()))?;
    Uuid::parse_str(&s).map_err(|_| ApiError::BadId("appeal id is a UUID".into()))
}

fn db<T>(r: Result<T, crate::db::DbError>) -> Result<T, ApiError> {
    r.map_err(ApiError::internal)
}

fn json(status: StatusCode, v: &impl serde::Serialize) -> Response {
    (status, axum::Json(v)).into_response()
}

/// `POST /v1/enroll`.
pub async fn enroll(
    State(s): St,
    JsonBody(req): JsonBody<EnrollRequest>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let h = secret_hash(req.token.trim());
    let booth_id = db(s.db.token_booth(&h, now))?.ok_or(ApiError::BadToken)?;
    let cert = s
        .authority
        .sign_booth_csr(&req.csr_pem, &booth_id)
        .map_err(|e| ApiError::BadCsr(e.to_string()))?;
    if !db(s.db.consume_token(&h, &booth_id, now))? {
        return Err(ApiError::BadToken);
    }
    tracing::info!(booth_id, "booth enrolled");
    Ok(json(
        StatusCode::OK,
        &EnrollResponse {
            booth_id,
            client_cert_pem: cert,
            ca_cert_pem: s.authority.ca_pem.clone(),
            age_recipients: s.config.age_recipients.clone(),
            config: s.config.clone(),
        },
    ))
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

fn with_etag(mut r: Response, etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// `GET /v1/directory`.
pub async fn directory(State(s): St, _b: Booth, headers: HeaderMap) -> Response {
    let etag = format!("\"{}\"", s.directory.version);
    if etag_matches(&headers, &etag) {
        return with_etag(StatusCode::NOT_MODIFIED.into_response(), &etag);
    }
    with_etag(json(StatusCode::OK, &s.directory), &etag)
}

/// `GET /v1/calendar`.
pub async fn calendar(State(s): St, _b: Booth, headers: HeaderMap) -> Response {
    let published = s.calendar();
    let etag = format!("\"{}\"", published.version);
    if etag_matches(&headers, &etag) {
        return with_etag(StatusCode::NOT_MODIFIED.into_response(), &etag);
    }
    let r = (
        [(header::CONTENT_TYPE, CALENDAR_CONTENT_TYPE)],
        published.toml,
    )
        .into_response();
    with_etag(r, &etag)
}

/// `GET /v1/config`.
pub async fn config(State(s): St, _b: Booth) -> axum::Json<BoothConfig> {
    axum::Json(s.config.clone())
}

fn deadline(s: &AppState, body: &CreateAppeal) -> Option<chrono::NaiveDate> {
    central_deadline(
        &s.calendar().calendar,
        s.config.deadline_working_days,
        body.recorded_at,
        body.expected_answer_date,
    )
}

/// Deadline by the central calendar, with the one function the booth uses
/// (`booth_core::calendar::expected_answer_date`: `deadline_working_days` working days, 15 in
/// Kazakhstan, from the local (UTC+5) day the appeal was recorded). When the central calendar
/// does not cover it, the date the booth printed (if the booth had one); else none: never an
/// estimate.
pub fn central_deadline(
    calendar: &booth_core::WorkingCalendar,
    deadline_working_days: u32,
    recorded_at: chrono::DateTime<Utc>,
    booth_date: Option<chrono::NaiveDate>,
) -> Option<chrono::NaiveDate> {
    booth_core::calendar::expected_answer_date(
        recorded_at,
        booth_core::calendar::kazakhstan_offset(),
        deadline_working_days,
        calendar,
    )
    .ok()
    .or(booth_date)
}

/// `PUT /v1/appeals/{appeal_id}`.
pub async fn create_appeal(
    State(s): St,
    Booth(booth): Booth,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    JsonBody(body): JsonBody<CreateAppeal>,
) -> Result<Response, ApiError> {
    let id = parse_appeal_id(path)?;
    if body.id != id {
        return Err(ApiError::BadRequest("path id and body id differ".into()));
    }
    if crate::directory::find(&s.directory, &body.addressee_id).is_none() {
        return Err(ApiError::BadRequest(
            "addressee_id is not in the directory".into(),
        ));
    }
    if body.media.size > s.config.max_upload_bytes {
        return Err(ApiError::TooLarge {
            limit: usize::try_from(s.config.max_upload_bytes).unwrap_or(usize::MAX),
        });
    }
    if body.media.sha256.len() != 64
        || !body
            .media
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ApiError::BadRequest(
            "media.sha256 is 64 lowercase hex".into(),
        ));
    }
    let now = Utc::now();
    let dl = deadline(&s, &body);
    let (outcome, row) = db(s.db.create_appeal(&booth, &body, now, dl))?;
    let status = match outcome {
        CreateOutcome::Created => {
            tracing::info!(appeal_id = %id, booth, visit_id = ?body.visit_id, "appeal registered");
            StatusCode::CREATED
        }
        CreateOutcome::Same => StatusCode::OK,
        CreateOutcome::Conflict => {
            return Err(ApiError::Conflict {
                code: codes::APPEAL_CONFLICT,
                detail: "this appeal id was created before with a different body".into(),
                offset: None,
            });
        }
    };
    let (media, upload) = db(s.db.media_state(id))?;
    Ok(json(
        status,
        &AppealAccepted {
            appeal_id: id,
            central_number: row.central_number,
            received_at: row.received_at,
            media,
            upload_url: upload.map(|u| booth_core::wire::paths::upload(&u)),
        },
    ))
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 and size of a file, read off the async threads.
pub async fn hash_file(path: std::path::PathBuf) -> Result<(String, u64), ApiError> {
    tokio::task::spawn_blocking(move || -> std::io::Result<(String, u64)> {
        use std::io::Read;
        let mut f = std::fs::File::open(&path)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            n += k as u64;
        }
        Ok((hex::encode(h.finalize()), n))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Path of a verified recording.
pub fn media_path(s: &AppState, id: Uuid) -> std::path::PathBuf {
    s.media_dir.join(format!("{}.age", id.simple()))
}

/// `POST /v1/appeals/{appeal_id}/complete`.
pub async fn complete(
    State(s): St,
    Booth(booth): Booth,
    wrong: Option<Extension<WrongChecksum>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    JsonBody(req): JsonBody<CompleteRequest>,
) -> Result<Response, ApiError> {
    let id = parse_appeal_id(path)?;
    if !is_hex64(&req.sha256) {
        return Err(ApiError::BadRequest("sha256 is 64 lowercase hex".into()));
    }
    let row = db(s.db.appeal(id))?
        .filter(|a| a.booth_id == booth)
        .ok_or(ApiError::NotFound("appeal".into()))?;
    let echo = |sha: String, size: u64, at| {
        let sha = if wrong.is_some() {
            // Injected fault: flip the first digit so the booth must notice.
            let mut c: Vec<char> = sha.chars().collect();
            if let Some(first) = c.first_mut() {
                *first = if *first == '0' { '1' } else { '0' };
            }
            c.into_iter().collect()
        } else {
            sha
        };
        json(
            StatusCode::OK,
            &CompleteResponse {
                appeal_id: id,
                sha256: sha,
                size,
                verified_at: at,
            },
        )
    };
    let mismatch = |what: &str| ApiError::Sha256Mismatch(what.to_owned());
    if let Some(at) = row.verified_at {
        let (sha, size) = hash_file(media_path(&s, id)).await?;
        if sha != req.sha256 || size != req.size {
            return Err(mismatch("the verified file has another SHA-256 or size"));
        }
        return Ok(echo(sha, size, at));
    }
    let up = db(s.db.open_upload_for(id))?.ok_or(ApiError::Conflict {
        code: codes::UPLOAD_INCOMPLETE,
        detail: "no upload for this appeal".into(),
        offset: None,
    })?;
    if up.offset < up.length {
        return Err(ApiError::Conflict {
            code: codes::UPLOAD_INCOMPLETE,
            detail: format!("{} of {} bytes received", up.offset, up.length),
            offset: Some(up.offset),
        });
    }
    let part = crate::tus::part_path(&s, &up.id);
    let (sha, size) = hash_file(part.clone()).await?;
    if sha != req.sha256 || size != req.size || sha != row.body.media.sha256 {
        // The stored bytes are not the booth's file: drop them so the booth uploads again.
        tracing::warn!(appeal_id = %id, "complete refused: SHA-256 mismatch; upload discarded");
        db(s.db.terminate_upload(&up.id))?;
        let _ = tokio::fs::remove_file(&part).await;
        return Err(mismatch(
            "the received file's SHA-256 or size differs from the booth's",
        ));
    }
    let dest = media_path(&s, id);
    tokio::fs::rename(&part, &dest).await?;
    if let Ok(d) = std::fs::File::open(&s.media_dir) {
        let _ = d.sync_all();
    }
    db(s.db.with(|c| {
        c.execute("UPDATE uploads SET state='done' WHERE id=?1", [&up.id])?;
        Ok(())
    }))?;
    let at = db(s.db.set_verified(id, Utc::now()))?;
    tracing::info!(appeal_id = %id, size, "recording verified");
    Ok(echo(sha, size, at))
}

/// `GET /v1/answers?since=&limit=`.
pub async fn answers(
    State(s): St,
    Booth(booth): Booth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    for k in q.keys() {
        if k != "since" && k != "limit" {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter {k:?}"
            )));
        }
    }
    let since: u64 = match q.get("since") {
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::BadRequest("since is a non-negative integer".into()))?,
        None => 0,
    };
    if since > 9_007_199_254_740_991 {
        return Err(ApiError::BadRequest("since too large".into()));
    }
    let limit: u32 = match q.get("limit") {
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::BadRequest("limit is 1..=500".into()))?,
        None => 100,
    };
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit is 1..=500".into()));
    }
    let (updates, more) = db(s.db.updates(&booth, since, limit))?;
    let next_cursor = updates.last().map(|u| u.cursor).unwrap_or(since);
    Ok(json(
        StatusCode::OK,
        &AnswersPage {
            updates,
            next_cursor,
            more,
        },
    ))
}

/// `GET /v1/lookup/{lookup_id}`.
pub async fn lookup(
    State(s): St,
    _b: Booth,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path(raw) = path.map_err(|_| ApiError::BadId("lookup id".into()))?;
    let lid: booth_core::LookupId = raw
        .parse()
        .map_err(|_| ApiError::BadId("lookup id is 64 lowercase hex".into()))?;
    let r = db(s.db.lookup(lid.as_str()))?
        .ok_or(ApiError::NotFound("no appeal with this lookup id".into()))?;
    Ok(json(StatusCode::OK, &r))
}

/// How far a booth's clock may run behind ours before a rating given just after the answer
/// reached it looks older than the answer.
const RATING_CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(15);

/// `POST /v1/ratings`: a satisfaction rating is of an answer (seed 004, §1: «оценки
/// удовлетворенности Заявителей ответами на Обращения»), so a rating of an appeal with no
/// answer yet, or given before its answer was attached, is refused with 409
/// `appeal-not-answered`. The refusal is stable: a rating kept by the booth does not become
/// valid when an answer arrives later.
pub async fn rating(
    State(s): St,
    Booth(booth): Booth,
    JsonBody(r): JsonBody<RatingSubmission>,
) -> Result<Response, ApiError> {
    if db(s.db.appeal(r.appeal_id))?.is_none() {
        return Err(ApiError::NotFound("appeal".into()));
    }
    let answered_at = db(s.db.timeline(r.appeal_id))?
        .iter()
        .find(|e| matches!(e.status, booth_core::Status::Answered { .. }))
        .map(|e| e.at);
    let refusal = match answered_at {
        None => Some("the appeal has no answer yet; only an answer can be rated"),
        Some(at) if r.rated_at + RATING_CLOCK_SKEW < at => {
            Some("the rating was given before the appeal was answered")
        }
        Some(_) => None,
    };
    if let Some(detail) = refusal {
        tracing::info!(appeal_id = %r.appeal_id, rating_id = %r.id, "rating refused: appeal not answered");
        return Err(ApiError::Conflict {
            code: codes::APPEAL_NOT_ANSWERED,
            detail: detail.into(),
            offset: None,
        });
    }
    let body = serde_json::to_string(&r).map_err(ApiError::internal)?;
    match db(s
        .db
        .add_rating(r.id, r.appeal_id, &booth, r.rating.get(), r.rated_at, &body))?
    {
        Some(created) => Ok(json(StatusCode::OK, &Accepted { id: r.id, created })),
        None => Err(ApiError::Conflict {
            code: codes::APPEAL_CONFLICT,
            detail: "rating id reused with another body".into(),
            offset: None,
        }),
    }
}

/// `POST /v1/visits`.
pub async fn visit(
    State(s): St,
    Booth(booth): Booth,
    JsonBody(v): JsonBody<VisitSubmission>,
) -> Result<Response, ApiError> {
    let created = match db(s.db.add_visit(&booth, &v, Utc::now()))? {
        VisitOutcome::Created => {
            tracing::info!(visit_id = %v.id, appeal_id = ?v.appeal_id, booth, "reception visit received");
            true
        }
        VisitOutcome::Linked => {
            tracing::info!(visit_id = %v.id, appeal_id = ?v.appeal_id, booth, "reception visit linked to its appeal");
            false
        }
        VisitOutcome::Same => false,
        VisitOutcome::Conflict => {
            return Err(ApiError::Conflict {
                code: codes::APPEAL_CONFLICT,
                detail: "visit id reused with other fields or another appeal".into(),
                offset: None,
            });
        }
    };
    Ok(json(StatusCode::OK, &Accepted { id: v.id, created }))
}

/// `POST /v1/heartbeat`.
pub async fn heartbeat(
    State(s): St,
    Booth(booth): Booth,
    JsonBody(h): JsonBody<Heartbeat>,
) -> Result<Response, ApiError> {
    let j = serde_json::to_string(&h).map_err(ApiError::internal)?;
    db(s.db.heartbeat(&booth, &j, Utc::now()))?;
    tracing::debug!(booth, queue = h.queue_depth, "heartbeat");
    Ok(json(
        StatusCode::OK,
        &HeartbeatAck {
            server_time: Utc::now(),
            config_version: s.config.version,
            directory_version: s.directory.version.clone(),
            calendar_version: s.calendar().version,
        },
    ))
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod deadline_tests {
    use super::central_deadline;
    use booth_core::WorkingCalendar;
    use chrono::{DateTime, NaiveDate, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("timestamp")
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    /// The centre and the booth agree: the same function, the same calendar, the same date
    /// (DESIGN §1: 15 working days).
    #[test]
    fn the_centre_computes_what_the_booth_computes() {
        let cal = WorkingCalendar::builtin();
        let recorded = at("2026-08-24T06:00:00Z");
        let booth = booth_core::calendar::expected_answer_date(
            recorded,
            booth_core::calendar::kazakhstan_offset(),
            15,
            &cal,
        )
        .expect("covered");
        assert_eq!(booth, day("2026-09-14"), "30 August 2026 is no holiday");
        assert_eq!(central_deadline(&cal, 15, recorded, None), Some(booth));
        // The central calendar wins over what the booth sent.
        assert_eq!(
            central_deadline(&cal, 15, recorded, Some(day("2026-09-15"))),
            Some(booth)
        );
    }

    /// Where the central calendar covers no date: the booth's date if it had one, else none.
    #[test]
    fn past_the_central_calendar_there_is_no_guess() {
        let cal = WorkingCalendar::builtin();
        let late = at("2027-12-20T06:00:00Z");
        assert_eq!(central_deadline(&cal, 15, late, None), None);
        assert_eq!(
            central_deadline(&cal, 15, late, Some(day("2028-01-12"))),
            Some(day("2028-01-12"))
        );
    }
}
