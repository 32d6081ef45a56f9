//! Wire types of the protocol between the booth and the central authority service
//! (`docs/protocol/openapi.yaml`). Shared by `sync-agent` (client) and `authority-sim` (server).
//!
//! Plain serde types and constants only: no HTTP crate here (booth-core's invariant).
//!
//! Conventions the types encode:
//! - Request bodies (`*Request`, [`CreateAppeal`], [`RatingSubmission`], [`Heartbeat`], …) deny
//!   unknown fields: the server answers 400 problem+json to a field it does not know, so a typo
//!   on the booth is found in tests, not in production.
//! - Response bodies accept unknown fields: the server may add fields without breaking booths.
//! - Every error is [`Problem`] (RFC 9457 `application/problem+json`) with a stable
//!   [`Problem::code`] from [`problem_codes`].
//! - The booth identity never travels in a body: the server takes it from the client
//!   certificate (CN = booth id) of the mutual-TLS connection.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::code::{LookupId, LookupParams, RegistrationNumber};
use crate::domain::{
    Agency, Answer, Appeal, AppealKind, Applicant, ComplaintDetails, Language, Rating, StatusEvent,
    Visit,
};
use crate::ident::{Bin, Iin};
use crate::validate::{Email, LegalEntityName, PersonName};

/// Protocol version carried in the path prefix.
pub const API_PREFIX: &str = "/v1";

/// Endpoint paths (relative to the central URL). Templates use `{name}` placeholders as in the
/// OpenAPI document; the helper functions fill them.
pub mod paths {
    use uuid::Uuid;

    /// `POST`: enrollment with a one-time token and a CSR; the only booth route that needs no
    /// client certificate.
    pub const ENROLL: &str = "/v1/enroll";
    /// `GET`: agency directory, with `ETag` / `If-None-Match`.
    pub const DIRECTORY: &str = "/v1/directory";
    /// `GET`: working-day calendar in booth-core's TOML format, with `ETag` / `If-None-Match`.
    pub const CALENDAR: &str = "/v1/calendar";
    /// `GET`: booth configuration pushed by the central service.
    pub const CONFIG: &str = "/v1/config";
    /// `PUT`: create an appeal, idempotent by id. Template of [`appeal`].
    pub const APPEAL: &str = "/v1/appeals/{appeal_id}";
    /// `POST`: confirm the media upload with its SHA-256. Template of [`appeal_complete`].
    pub const APPEAL_COMPLETE: &str = "/v1/appeals/{appeal_id}/complete";
    /// tus 1.0 collection: `OPTIONS` (capabilities) and `POST` (creation).
    pub const UPLOADS: &str = "/v1/uploads";
    /// tus 1.0 upload resource: `HEAD`, `PATCH`, `DELETE`. Template of [`upload`].
    pub const UPLOAD: &str = "/v1/uploads/{upload_id}";
    /// `GET ?since=CURSOR&limit=N`: status updates and answers of this booth's appeals.
    pub const ANSWERS: &str = "/v1/answers";
    /// `GET`: status timeline and answer of any appeal by lookup id. Template of [`lookup`].
    pub const LOOKUP: &str = "/v1/lookup/{lookup_id}";
    /// `POST`: a satisfaction rating.
    pub const RATINGS: &str = "/v1/ratings";
    /// `POST`: a reception journal entry.
    pub const VISITS: &str = "/v1/visits";
    /// `POST`: health figures.
    pub const HEARTBEAT: &str = "/v1/heartbeat";

    /// `/v1/appeals/{id}`.
    pub fn appeal(id: Uuid) -> String {
        format!("/v1/appeals/{id}")
    }
    /// `/v1/appeals/{id}/complete`.
    pub fn appeal_complete(id: Uuid) -> String {
        format!("/v1/appeals/{id}/complete")
    }
    /// `/v1/uploads/{upload_id}`.
    pub fn upload(upload_id: &str) -> String {
        format!("/v1/uploads/{upload_id}")
    }
    /// `/v1/lookup/{lookup_id}`.
    pub fn lookup(lookup_id: &crate::code::LookupId) -> String {
        format!("/v1/lookup/{lookup_id}")
    }
}

/// tus 1.0 header names and values (<https://tus.io/protocols/resumable-upload>).
pub mod tus {
    /// Header on every tus request and response except `OPTIONS` requests.
    pub const TUS_RESUMABLE: &str = "Tus-Resumable";
    /// The one tus version spoken.
    pub const VERSION: &str = "1.0.0";
    /// `OPTIONS` response: supported versions.
    pub const TUS_VERSION: &str = "Tus-Version";
    /// `OPTIONS` response: supported extensions.
    pub const TUS_EXTENSION: &str = "Tus-Extension";
    /// Extensions this protocol requires of the server.
    pub const EXTENSIONS: &str = "creation,checksum,termination";
    /// `OPTIONS` response: largest upload accepted, in bytes.
    pub const TUS_MAX_SIZE: &str = "Tus-Max-Size";
    /// `OPTIONS` response: checksum algorithms.
    pub const TUS_CHECKSUM_ALGORITHM: &str = "Tus-Checksum-Algorithm";
    /// The one checksum algorithm used.
    pub const CHECKSUM_ALGORITHM: &str = "sha256";
    /// Current offset (`HEAD` response, `PATCH` request and response).
    pub const UPLOAD_OFFSET: &str = "Upload-Offset";
    /// Total length (creation request, `HEAD` response).
    pub const UPLOAD_LENGTH: &str = "Upload-Length";
    /// Creation metadata: comma-separated `key base64(value)` pairs.
    pub const UPLOAD_METADATA: &str = "Upload-Metadata";
    /// `PATCH` request: `sha256 <base64 of the chunk's SHA-256>`.
    pub const UPLOAD_CHECKSUM: &str = "Upload-Checksum";
    /// Required `Content-Type` of a `PATCH` body.
    pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
    /// Metadata key naming the appeal an upload belongs to (value: the UUID text). Required.
    pub const META_APPEAL_ID: &str = "appeal_id";
    /// Metadata key with the media content type (value: e.g. `video/webm`). Optional.
    pub const META_CONTENT_TYPE: &str = "content_type";
    /// Status code of a checksum mismatch (tus checksum extension).
    pub const STATUS_CHECKSUM_MISMATCH: u16 = 460;
    /// Status code of an offset mismatch (tus core).
    pub const STATUS_OFFSET_MISMATCH: u16 = 409;
}

/// `application/problem+json`.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Content type of the calendar (booth-core TOML format, [`crate::calendar::WorkingCalendar::from_toml`]).
pub const CALENDAR_CONTENT_TYPE: &str = "application/toml";

/// Stable machine-readable [`Problem::code`] values. A client decides what to do from the HTTP
/// status (retry or not) and, where it matters, from the code.
pub mod problem_codes {
    /// Body is not valid JSON, or does not match the schema (includes unknown fields).
    pub const BAD_REQUEST: &str = "bad-request";
    /// A path parameter (appeal id, upload id, lookup id) is malformed.
    pub const BAD_ID: &str = "bad-id";
    /// Body larger than the route allows.
    pub const TOO_LARGE: &str = "too-large";
    /// Missing or unusable client certificate on a booth route.
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    /// Enrollment token unknown, used or expired.
    pub const BAD_TOKEN: &str = "bad-token";
    /// CSR unparsable, badly signed, or naming another booth.
    pub const BAD_CSR: &str = "bad-csr";
    /// Resource not found (or belongs to another booth: the two are not distinguished).
    pub const NOT_FOUND: &str = "not-found";
    /// Same id was sent before with a different body: an appeal, a rating, or a visit whose
    /// fields (other than adding its appeal link once) changed. Retrying cannot help.
    pub const APPEAL_CONFLICT: &str = "appeal-conflict";
    /// Rating refused (409): the rated appeal has no answer at the central service, or the
    /// rating was given before its answer was attached. A satisfaction rating is of an answer
    /// (seed 004, §1: «оценки удовлетворенности Заявителей ответами на Обращения»), so retrying
    /// cannot help: the booth keeps the rating unsent and logs it.
    pub const APPEAL_NOT_ANSWERED: &str = "appeal-not-answered";
    /// Complete or upload for an appeal that was never created.
    pub const UNKNOWN_APPEAL: &str = "unknown-appeal";
    /// tus: `Upload-Offset` differs from the server's offset (409).
    pub const OFFSET_MISMATCH: &str = "offset-mismatch";
    /// tus: chunk checksum differs (460).
    pub const CHECKSUM_MISMATCH: &str = "checksum-mismatch";
    /// tus: missing or unsupported `Tus-Resumable`.
    pub const TUS_VERSION: &str = "tus-version";
    /// tus: upload larger than `Tus-Max-Size` or than its declared length.
    pub const UPLOAD_TOO_LARGE: &str = "upload-too-large";
    /// complete: the upload has not reached its length.
    pub const UPLOAD_INCOMPLETE: &str = "upload-incomplete";
    /// complete: the stored file's SHA-256 or size differs from the booth's.
    pub const SHA256_MISMATCH: &str = "sha256-mismatch";
    /// Wrong media type of a request body.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported-media-type";
    /// Method not allowed on this path.
    pub const METHOD_NOT_ALLOWED: &str = "method-not-allowed";
    /// Server-side failure; retry later.
    pub const INTERNAL: &str = "internal";
    /// Temporarily unavailable (also injected faults); honour `Retry-After`.
    pub const UNAVAILABLE: &str = "unavailable";
}

/// RFC 9457 problem details: the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// URI reference naming the problem type, `urn:booth:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short human-readable summary (English; not for citizens).
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What exactly was wrong with this request (never personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable code from [`problem_codes`].
    pub code: String,
    /// For offset mismatches: the server's current offset, so the client can resume at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_offset: Option<u64>,
}

impl Problem {
    /// A problem with `type` derived from `code`.
    pub fn new(status: u16, code: &str, title: &str, detail: Option<String>) -> Problem {
        Problem {
            type_uri: format!("urn:booth:problem:{code}"),
            title: title.to_owned(),
            status,
            detail,
            code: code.to_owned(),
            upload_offset: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Enrollment

/// `POST /v1/enroll` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// One-time token issued by the operator for this booth (single use, expiring).
    pub token: String,
    /// PKCS#10 certificate signing request in PEM, made with the booth's device key. Its
    /// subject is ignored: the certificate gets CN = the booth id the token was issued for.
    pub csr_pem: String,
}

/// `POST /v1/enroll` 200 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The booth id the token was issued for (CN and DNS SAN of the client certificate).
    pub booth_id: String,
    /// Signed client certificate (PEM).
    pub client_cert_pem: String,
    /// The authority's CA certificate (PEM): trust anchor for the server and for client certs.
    pub ca_cert_pem: String,
    /// age X25519 recipients (`age1…`) to encrypt recordings to.
    pub age_recipients: Vec<String>,
    /// Initial booth configuration.
    pub config: BoothConfig,
}

// ---------------------------------------------------------------------------------------------
// Directory, calendar, config

/// `GET /v1/directory` 200 response (with an `ETag` header; 304 on a matching `If-None-Match`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryResponse {
    /// Version of the directory; the `ETag` is this value in double quotes.
    pub version: String,
    /// The connected agencies.
    pub agencies: Vec<Agency>,
}

/// `GET /v1/config` 200 response; also part of [`EnrollResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothConfig {
    /// Grows with every change.
    pub version: u64,
    /// Working days to answer (Kazakhstan: 15).
    pub deadline_working_days: u32,
    /// Working days within which an appeal addressed wrongly is forwarded (003 p.30: 3).
    pub forward_working_days: u32,
    /// Longest recording in seconds (003 p.24: 180).
    pub max_recording_s: u32,
    /// Seconds between pulls of answers, directory, calendar.
    pub pull_interval_s: u32,
    /// Seconds between heartbeats.
    pub heartbeat_interval_s: u32,
    /// Largest upload the server accepts, in bytes (same as tus `Tus-Max-Size`).
    pub max_upload_bytes: u64,
    /// Argon2id parameters of lookup ids.
    pub lookup: LookupParams,
    /// age recipients to encrypt recordings to (may rotate; the booth uses the newest list).
    pub age_recipients: Vec<String>,
    /// Street address of the booth's branch, printed on receipts under the branch name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_address: Option<String>,
    /// Phone number for enquiries about answers, printed on receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_phone: Option<String>,
    /// Web address for enquiries about answers, printed on receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_web: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Appeals

/// Facts about the sealed media file that the server checks at "complete".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaInfo {
    /// SHA-256 (64 lowercase hex) of the sealed (age-encrypted) file.
    pub sha256: String,
    /// Size of the sealed file in bytes.
    pub size: u64,
    /// Content type of the plaintext recording, e.g. `video/webm; codecs="vp8, opus"`.
    pub content_type: String,
}

/// `PUT /v1/appeals/{appeal_id}` body: the appeal as committed on the booth, without booth-local
/// details (outbox file name, reception ticket). The path id must equal [`CreateAppeal::id`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAppeal {
    /// UUIDv7 from the booth.
    pub id: Uuid,
    /// Registration number printed on the receipt.
    pub registration_number: RegistrationNumber,
    /// Applicant (p.23).
    pub applicant: Applicant,
    /// Addressee agency id from the directory.
    pub addressee_id: String,
    /// Kind of appeal.
    pub kind: AppealKind,
    /// For complaints (p.25).
    #[serde(default)]
    pub complaint: Option<ComplaintDetails>,
    /// Language the citizen used.
    pub language: Language,
    /// When "Finish recording" was pressed (p.27).
    pub recorded_at: DateTime<Utc>,
    /// Recording length in milliseconds.
    pub duration_ms: u32,
    /// The sealed media.
    pub media: MediaInfo,
    /// Argon2id of the secret code (never the code).
    pub lookup_id: LookupId,
    /// Expected answer date the booth printed (`booth_core::calendar::expected_answer_date`);
    /// absent or null when no calendar on the booth covered it (the receipt said the date will
    /// come with the answer). The central service then computes it by its own calendar.
    #[serde(default)]
    pub expected_answer_date: Option<NaiveDate>,
    /// Appeal this one continues (p.24).
    #[serde(default)]
    pub continuation_of: Option<Uuid>,
    /// The reception journal entry (visit, 003 p.22) whose ticket started the session: the
    /// agency may rely on the identification by ID document recorded there. `None` for an
    /// appeal recorded without a ticket. The visit itself arrives by `POST /v1/visits`, before
    /// or after the appeal. Not serialized when `None`, so bodies stored before this field
    /// existed still compare equal on an idempotent retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<Uuid>,
}

impl From<&Appeal> for CreateAppeal {
    fn from(a: &Appeal) -> CreateAppeal {
        CreateAppeal {
            id: a.id,
            registration_number: a.registration_number.clone(),
            applicant: a.applicant.clone(),
            addressee_id: a.addressee_id.clone(),
            kind: a.kind,
            complaint: a.complaint.clone(),
            language: a.language,
            recorded_at: a.recorded_at,
            duration_ms: a.duration_ms,
            media: MediaInfo {
                sha256: a.media.sealed_sha256.clone(),
                size: a.media.sealed_size,
                content_type: a.media.content_type.clone(),
            },
            lookup_id: a.lookup_id.clone(),
            expected_answer_date: a.expected_answer_date,
            continuation_of: a.continuation_of,
            visit_id: a.visit_id,
        }
    }
}

/// Where the central side is with an appeal's media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// No bytes yet (or upload created, not finished).
    Pending,
    /// All bytes received, not yet confirmed by "complete".
    Uploaded,
    /// "complete" succeeded: SHA-256 verified; the booth may destroy its copy.
    Verified,
}

/// `PUT /v1/appeals/{appeal_id}` 201 (created) or 200 (same body seen before) response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealAccepted {
    /// The appeal id.
    pub appeal_id: Uuid,
    /// Central registration number (the authority's own, for the citizen's status screen).
    pub central_number: String,
    /// When the central service first registered it.
    pub received_at: DateTime<Utc>,
    /// Media state: a retried create after a crash tells the booth whether to upload at all.
    pub media: MediaState,
    /// tus upload URL path if an upload exists for this appeal.
    #[serde(default)]
    pub upload_url: Option<String>,
}

/// `POST /v1/appeals/{appeal_id}/complete` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// SHA-256 (64 lowercase hex) of the whole sealed file as the booth has it.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// `POST /v1/appeals/{appeal_id}/complete` 200 response: sent only after the server hashed the
/// whole stored file and found it equal. The booth must still compare `sha256` with its own
/// before destroying its copy (a server bug or fault must not cost an appeal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteResponse {
    /// The appeal id.
    pub appeal_id: Uuid,
    /// SHA-256 the server computed over the stored file.
    pub sha256: String,
    /// Size the server stored.
    pub size: u64,
    /// When the server verified it.
    pub verified_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Answers and lookups

/// Current state of one of this booth's appeals, sent whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealUpdate {
    /// Cursor of this update; pass the last one as `since` to get only newer updates.
    pub cursor: u64,
    /// The appeal.
    pub appeal_id: Uuid,
    /// The booth's registration number.
    pub registration_number: String,
    /// Full status timeline, oldest first.
    pub timeline: Vec<StatusEvent>,
    /// The answer, once signed (p.33: attached the day it is signed).
    #[serde(default)]
    pub answer: Option<Answer>,
    /// Expected answer date as the central service computes it (working days from its calendar).
    #[serde(default)]
    pub expected_answer_date: Option<NaiveDate>,
}

/// `GET /v1/answers?since=&limit=` 200 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswersPage {
    /// Updates with cursor > `since`, oldest first, at most `limit`.
    pub updates: Vec<AppealUpdate>,
    /// The cursor to pass next time (the last update's, or `since` if none).
    pub next_cursor: u64,
    /// True when more updates are waiting beyond `limit`.
    pub more: bool,
}

/// `GET /v1/lookup/{lookup_id}` 200 response: no personal data (no applicant, no media).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupResponse {
    /// The appeal.
    pub appeal_id: Uuid,
    /// Registration number from the receipt.
    pub registration_number: String,
    /// Addressee agency id.
    pub addressee_id: String,
    /// When recorded.
    pub recorded_at: DateTime<Utc>,
    /// Expected answer date (central calendar, `booth_core::calendar::expected_answer_date`);
    /// absent or null when no calendar covers it.
    #[serde(default)]
    pub expected_answer_date: Option<NaiveDate>,
    /// Status timeline, oldest first.
    pub timeline: Vec<StatusEvent>,
    /// The answer, once signed.
    #[serde(default)]
    pub answer: Option<Answer>,
}

// ---------------------------------------------------------------------------------------------
// Ratings, visits, heartbeat

/// `POST /v1/ratings` body; idempotent by `id`. The rated appeal may come from another booth
/// (lookup); the server accepts a rating of any appeal known by id that had an answer when it
/// was rated, and refuses any other with 409 [`problem_codes::APPEAL_NOT_ANSWERED`] (a rating
/// is of an answer: seed 004, §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingSubmission {
    /// UUIDv7 of this rating.
    pub id: Uuid,
    /// Appeal rated.
    pub appeal_id: Uuid,
    /// 1..=5.
    pub rating: Rating,
    /// When rated.
    pub rated_at: DateTime<Utc>,
}

/// `POST /v1/visits` body: a reception journal entry (003 p.22), idempotent by `id`. The fields
/// of [`crate::domain::Visit`] (unknown fields are refused) and the appeal recorded with the
/// visit's ticket. A visit is sent when registered (`appeal_id` `None`) and again once an
/// appeal is linked to it; the server adds the link (200, `created: false`). Any other change
/// under the same id, or a second, different link, is 409 `appeal-conflict`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitSubmission {
    /// UUIDv7.
    pub id: Uuid,
    /// ID document kind.
    pub document_kind: String,
    /// Document number.
    pub document_number: String,
    /// The visitor's IIN.
    #[serde(default)]
    pub iin: Option<Iin>,
    /// Surname.
    pub surname: PersonName,
    /// Given name.
    pub name: PersonName,
    /// Patronymic.
    #[serde(default)]
    pub patronymic: Option<PersonName>,
    /// For a legal entity's representative: the entity's BIN and name.
    #[serde(default)]
    pub entity: Option<(Bin, LegalEntityName)>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<Email>,
    /// Consent to personal-data processing noted by the receptionist.
    pub consent: bool,
    /// When registered.
    pub created_at: DateTime<Utc>,
    /// Receptionist's login.
    pub receptionist: String,
    /// The appeal recorded with this visit's ticket, once there is one. Not serialized when
    /// `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_id: Option<Uuid>,
}

impl VisitSubmission {
    /// The body for `visit` linked to `appeal_id` (the journal's link, if any).
    pub fn new(visit: &Visit, appeal_id: Option<Uuid>) -> VisitSubmission {
        VisitSubmission {
            appeal_id,
            ..VisitSubmission::from(visit)
        }
    }
}

impl From<&Visit> for VisitSubmission {
    /// The body of a visit with no appeal linked yet.
    fn from(v: &Visit) -> VisitSubmission {
        VisitSubmission {
            id: v.id,
            document_kind: v.document_kind.clone(),
            document_number: v.document_number.clone(),
            iin: v.iin.clone(),
            surname: v.surname.clone(),
            name: v.name.clone(),
            patronymic: v.patronymic.clone(),
            entity: v.entity.clone(),
            phone: v.phone.clone(),
            email: v.email.clone(),
            consent: v.consent,
            created_at: v.created_at,
            receptionist: v.receptionist.clone(),
            appeal_id: None,
        }
    }
}

/// 200 response of idempotent submissions (ratings, visits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Id of the submission.
    pub id: Uuid,
    /// False when the same id had been received before (nothing changed, except that a visit
    /// may have gained its appeal link).
    pub created: bool,
}

/// Printer health in a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterHealth {
    /// Ready.
    Ok,
    /// Paper low.
    PaperLow,
    /// Out of paper.
    PaperOut,
    /// Cover open.
    CoverOpen,
    /// Not reachable.
    Offline,
    /// Not known.
    Unknown,
}

/// `POST /v1/heartbeat` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// When sent (booth clock).
    pub sent_at: DateTime<Utc>,
    /// Appeals waiting in the outbox.
    pub queue_depth: u32,
    /// Age of the oldest unsent appeal in seconds, if any.
    #[serde(default)]
    pub oldest_unsent_age_s: Option<u64>,
    /// Free bytes on the data disk.
    pub disk_free_bytes: u64,
    /// Size of the data disk.
    pub disk_total_bytes: u64,
    /// Printer state.
    pub printer: PrinterHealth,
    /// Camera present and working.
    pub camera_ok: bool,
    /// Microphone present and working.
    #[serde(default)]
    pub microphone_ok: Option<bool>,
    /// Component versions (`kiosk`, `sync-agent`, `os`, …).
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// Seconds since the sync agent started.
    #[serde(default)]
    pub uptime_s: Option<u64>,
}

/// `POST /v1/heartbeat` 200 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatAck {
    /// Server time (lets the booth notice a wrong clock).
    pub server_time: DateTime<Utc>,
    /// Current [`BoothConfig::version`]: fetch `/v1/config` when it differs.
    pub config_version: u64,
    /// Current directory version: fetch `/v1/directory` when it differs.
    pub directory_version: String,
    /// Current calendar version: fetch `/v1/calendar` when it differs.
    pub calendar_version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_round_trips_and_names_its_code() {
        let p = Problem::new(409, problem_codes::OFFSET_MISMATCH, "Offset mismatch", None);
        let j = serde_json::to_string(&p).unwrap();
        assert!(j.contains("\"type\":\"urn:booth:problem:offset-mismatch\""));
        let back: Problem = serde_json::from_str(&j).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn requests_refuse_unknown_fields() {
        let e = serde_json::from_str::<CompleteRequest>(r#"{"sha256":"00","size":1,"extra":true}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn path_helpers_fill_templates() {
        let id = Uuid::nil();
        assert_eq!(
            paths::appeal(id),
            paths::APPEAL.replace("{appeal_id}", &id.to_string())
        );
        assert_eq!(
            paths::appeal_complete(id),
            paths::APPEAL_COMPLETE.replace("{appeal_id}", &id.to_string())
        );
        assert_eq!(
            paths::upload("x"),
            paths::UPLOAD.replace("{upload_id}", "x")
        );
    }
}
