//! The operator side of the central service (003 p.30–33): a server-rendered page in kk/ru/en
//! behind its own login (session cookie), and a JSON API behind HTTP Basic auth with the same
//! actions so end-to-end tests answer appeals without a browser.
//!
//! Actions: list appeals with status and deadline (overdue in red), play a recording
//! (decrypted with the authority's age identity on the fly, served with the appeal's content
//! type and byte ranges), answer with one of the four decisions (attached the day it is
//! signed), forward to another agency (a status event the citizen sees), merge a repeated
//! appeal into a main one, see ratings, issue enrollment tokens.
//!
//! For each appeal the page shows the reception journal entry it came from (003 p.22: the
//! citizen identified by ID document and recorded in the journal «Регистрация граждан,
//! подавших видеообращение»): when and by which receptionist, the document kind, the number
//! masked but for its last 4 characters, and whether consent was noted. No visitor names: the
//! applicant block shows who filed the appeal.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use booth_core::{Answer, DecisionKind, Language, Status, StatusEvent};
use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{AppealRow, VisitLink};
use crate::error::ApiError;
use crate::server::JsonBody;
use crate::{AppState, secret_hash};

type St = State<Arc<AppState>>;

const COOKIE: &str = "op_session";

/// Operator routes (page and API), merged into the TLS listener's router.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/operator", get(|| async { Redirect::to("/operator/") }))
        .route("/operator/", get(page_list))
        .route("/operator/login", get(page_login).post(do_login))
        .route("/operator/logout", post(do_logout))
        .route("/operator/appeals/{id}", get(page_appeal))
        .route("/operator/appeals/{id}/media", get(page_media))
        .route("/operator/appeals/{id}/answer", post(form_answer))
        .route("/operator/appeals/{id}/forward", post(form_forward))
        .route("/operator/appeals/{id}/merge", post(form_merge))
        .route("/operator/tokens", post(form_token))
        .route("/operator/api/appeals", get(api_list))
        .route("/operator/api/appeals/{id}", get(api_get))
        .route("/operator/api/appeals/{id}/media", get(api_media))
        .route("/operator/api/appeals/{id}/answer", post(api_answer))
        .route("/operator/api/appeals/{id}/forward", post(api_forward))
        .route("/operator/api/appeals/{id}/merge", post(api_merge))
        .route("/operator/api/ratings", get(api_ratings))
        .route("/operator/api/tokens", post(api_token))
}

// --- workflow ---------------------------------------------------------------------------

/// Today in Kazakhstan (UTC+5): the day an answer is signed and attached.
pub fn today_kz() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(5)).date_naive()
}

fn appeal_or_404(s: &AppState, id: Uuid) -> Result<AppealRow, ApiError> {
    s.db.appeal(id)
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound("appeal".into()))
}

/// Signs and attaches an answer (p.31, p.33) to `id` and the appeals merged into it.
pub fn answer(
    s: &AppState,
    id: Uuid,
    decision: DecisionKind,
    text: &str,
    signed_by: &str,
    documents: Vec<String>,
) -> Result<Answer, ApiError> {
    let row = appeal_or_404(s, id)?;
    if row.merged_into.is_some() {
        return Err(ApiError::Conflict {
            code: booth_core::wire::problem_codes::APPEAL_CONFLICT,
            detail: "this appeal was merged: answer the main appeal".into(),
            offset: None,
        });
    }
    let text = text.trim();
    if text.is_empty()
        || text.len() > 20_000
        || signed_by.trim().is_empty()
        || signed_by.len() > 300
    {
        return Err(ApiError::BadRequest(
            "answer text (1..20000) and signer (1..300) are required".into(),
        ));
    }
    let a = Answer {
        appeal_id: id,
        decision,
        text: text.to_owned(),
        signed_by: signed_by.trim().to_owned(),
        signed_on: today_kz(),
        documents,
    };
    if !s
        .db
        .attach_answer(&a, Utc::now())
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::Conflict {
            code: booth_core::wire::problem_codes::APPEAL_CONFLICT,
            detail: "this appeal is already answered".into(),
            offset: None,
        });
    }
    tracing::info!(appeal_id = %id, decision = decision.as_str(), "answer attached");
    Ok(a)
}

/// Forwards to another agency (p.30): a status event the citizen sees, with the agency name.
pub fn forward(s: &AppState, id: Uuid, to: &str, lang: Language) -> Result<(), ApiError> {
    let row = appeal_or_404(s, id)?;
    let agency = crate::directory::find(&s.directory, to)
        .ok_or(ApiError::BadRequest("unknown agency".into()))?;
    if row.agency_id == to {
        return Err(ApiError::BadRequest(
            "the appeal is already with this agency".into(),
        ));
    }
    if s.db.answer(id).map_err(ApiError::internal)?.is_some() {
        return Err(ApiError::Conflict {
            code: booth_core::wire::problem_codes::APPEAL_CONFLICT,
            detail: "already answered".into(),
            offset: None,
        });
    }
    let ev = StatusEvent {
        at: Utc::now(),
        status: Status::Forwarded {
            to_agency_id: agency.id.clone(),
            to_agency_name: agency.name(lang).to_owned(),
        },
    };
    s.db.add_event(id, &ev).map_err(ApiError::internal)?;
    tracing::info!(appeal_id = %id, to, "appeal forwarded");
    Ok(())
}

/// Merges a repeated appeal into a main one on the same issue (p.32).
pub fn merge(s: &AppState, child: Uuid, main: Uuid) -> Result<(), ApiError> {
    if child == main {
        return Err(ApiError::BadRequest(
            "an appeal cannot be merged into itself".into(),
        ));
    }
    let c = appeal_or_404(s, child)?;
    let m = appeal_or_404(s, main)?;
    if c.merged_into.is_some() || m.merged_into.is_some() {
        return Err(ApiError::Conflict {
            code: booth_core::wire::problem_codes::APPEAL_CONFLICT,
            detail: "already merged".into(),
            offset: None,
        });
    }
    if s.db.answer(child).map_err(ApiError::internal)?.is_some() {
        return Err(ApiError::Conflict {
            code: booth_core::wire::problem_codes::APPEAL_CONFLICT,
            detail: "already answered".into(),
            offset: None,
        });
    }
    s.db.merge(
        child,
        main,
        &m.body.registration_number.to_string(),
        Utc::now(),
    )
    .map_err(ApiError::internal)?;
    // If the main appeal is answered already, its answer applies to the merged one too.
    if let Some(a) = s.db.answer(main).map_err(ApiError::internal)? {
        let mut a2 = a.clone();
        a2.appeal_id = child;
        s.db.attach_answer(&a2, Utc::now())
            .map_err(ApiError::internal)?;
    }
    tracing::info!(child = %child, main = %main, "appeals merged");
    Ok(())
}

/// Marks the appeal "in review" the first time an operator opens it.
fn mark_in_review(s: &AppState, id: Uuid) -> Result<(), ApiError> {
    let tl = s.db.timeline(id).map_err(ApiError::internal)?;
    let started = tl.iter().any(|e| {
        !matches!(
            e.status,
            Status::Registered | Status::Delivered | Status::Forwarded { .. }
        )
    });
    if !started {
        s.db.add_event(
            id,
            &StatusEvent {
                at: Utc::now(),
                status: Status::InReview,
            },
        )
        .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Decrypts the appeal's sealed recording with the authority's age identity.
pub async fn decrypt_media(s: &Arc<AppState>, id: Uuid) -> Result<(Vec<u8>, String), ApiError> {
    let row = appeal_or_404(s, id)?;
    if row.verified_at.is_none() {
        return Err(ApiError::NotFound(
            "the recording has not arrived yet".into(),
        ));
    }
    let path = crate::api::media_path(s, id);
    let s2 = s.clone();
    let plain = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        use std::io::Read;
        let f = std::fs::File::open(&path)?;
        let d = age::Decryptor::new(std::io::BufReader::new(f))
            .map_err(|e| ApiError::internal(format!("age header: {e}")))?;
        let mut r = d
            .decrypt(std::iter::once(
                &s2.authority.age_identity as &dyn age::Identity,
            ))
            .map_err(|e| ApiError::internal(format!("age decrypt: {e}")))?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)
            .map_err(|e| ApiError::internal(format!("age stream: {e}")))?;
        Ok(out)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((plain, row.body.media.content_type.clone()))
}

/// Serves bytes with the content type and a single `Range` if asked (video elements seek).
fn media_response(bytes: Vec<u8>, content_type: &str, headers: &HeaderMap) -> Response {
    let total = bytes.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| {
            let (a, b) = v.split_once('-')?;
            let start: usize = if a.is_empty() {
                total.saturating_sub(b.parse().ok()?)
            } else {
                a.parse().ok()?
            };
            let end: usize = if a.is_empty() || b.is_empty() {
                total.saturating_sub(1)
            } else {
                b.parse::<usize>().ok()?.min(total.saturating_sub(1))
            };
            (start <= end && start < total).then_some((start, end))
        });
    let ct = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut r = match range {
        Some((a, b)) => {
            let mut r = (StatusCode::PARTIAL_CONTENT, bytes[a..=b].to_vec()).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{total}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        None => (StatusCode::OK, bytes).into_response(),
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, ct);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn current_status(tl: &[StatusEvent]) -> Option<&Status> {
    tl.last().map(|e| &e.status)
}

// --- JSON API ---------------------------------------------------------------------------

fn basic_auth(s: &AppState, h: &HeaderMap) -> Result<(), ApiError> {
    let v = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let decoded = v
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((l, p)) if s.operator.check(l, p) => Ok(()),
        _ => Err(ApiError::Unauthenticated),
    }
}

/// One appeal in the operator API's list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperatorAppeal {
    /// Appeal id.
    pub id: Uuid,
    /// Booth.
    pub booth_id: String,
    /// Booth registration number.
    pub registration_number: String,
    /// Central number.
    pub central_number: String,
    /// Addressee chosen at the booth.
    pub addressee_id: String,
    /// Agency handling it now.
    pub agency_id: String,
    /// Deadline (working days from the central calendar); `None` when no calendar covers it.
    pub deadline: Option<NaiveDate>,
    /// Past the deadline and not answered.
    pub overdue: bool,
    /// Recording verified.
    pub media_verified: bool,
    /// Media content type.
    pub content_type: String,
    /// Main appeal, if merged.
    pub merged_into: Option<Uuid>,
    /// Status timeline.
    pub timeline: Vec<StatusEvent>,
    /// Answer.
    pub answer: Option<Answer>,
    /// The reception journal entry the appeal came from (003 p.22).
    pub visit: ReceptionVisit,
}

/// The reception journal entry (003 p.22) an appeal came from, as the operator sees it: who
/// identified the citizen and when, by which document (number masked but for its last 4
/// characters), and whether consent was noted. No names, no full document number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReceptionVisit {
    /// Recorded without a reception ticket: no journal entry.
    None,
    /// The appeal names a journal entry that has not reached the centre yet.
    NotReceived {
        /// The visit the appeal names.
        visit_id: Uuid,
    },
    /// The journal entry.
    Received {
        /// Visit id.
        visit_id: Uuid,
        /// The appeal the journal links to the visit (`None` until the booth sends the link;
        /// the appeal's own `visit_id` links them meanwhile).
        appeal_id: Option<Uuid>,
        /// When the receptionist identified the citizen.
        identified_at: DateTime<Utc>,
        /// Receptionist's login.
        receptionist: String,
        /// ID document kind (`id_card`, `passport`, `residence_permit`, `foreign_passport`).
        document_kind: String,
        /// Document number, all but the last 4 characters masked.
        document_number_masked: String,
        /// Consent to personal-data processing noted by the receptionist.
        consent: bool,
        /// Booth whose agent sent the entry.
        booth_id: String,
    },
}

impl ReceptionVisit {
    fn from_link(link: VisitLink) -> ReceptionVisit {
        match link {
            VisitLink::NoVisit => ReceptionVisit::None,
            VisitLink::NotReceived(visit_id) => ReceptionVisit::NotReceived { visit_id },
            VisitLink::Received(v) => {
                let v = *v;
                ReceptionVisit::Received {
                    visit_id: v.body.id,
                    appeal_id: v.body.appeal_id,
                    identified_at: v.body.created_at,
                    receptionist: v.body.receptionist,
                    document_kind: v.body.document_kind,
                    document_number_masked: mask_document_number(&v.body.document_number),
                    consent: v.body.consent,
                    booth_id: v.booth_id,
                }
            }
        }
    }
}

/// A document number with every character but the last 4 replaced by `•` ("•••••5678"). A
/// number of 4 characters or fewer is masked whole: it is never shown entire.
pub fn mask_document_number(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    if chars.len() <= 4 {
        return "•".repeat(4);
    }
    let hidden = chars.len() - 4;
    let mut out = "•".repeat(hidden);
    out.extend(&chars[hidden..]);
    out
}

fn operator_appeal(s: &AppState, a: &AppealRow) -> Result<OperatorAppeal, ApiError> {
    let timeline = s.db.timeline(a.id).map_err(ApiError::internal)?;
    let answer = s.db.answer(a.id).map_err(ApiError::internal)?;
    let visit = ReceptionVisit::from_link(s.db.visit_link(a.id).map_err(ApiError::internal)?);
    Ok(OperatorAppeal {
        id: a.id,
        booth_id: a.booth_id.clone(),
        registration_number: a.body.registration_number.to_string(),
        central_number: a.central_number.clone(),
        addressee_id: a.body.addressee_id.clone(),
        agency_id: a.agency_id.clone(),
        deadline: a.deadline,
        overdue: answer.is_none()
            && a.merged_into.is_none()
            && a.deadline.is_some_and(|d| today_kz() > d),
        media_verified: a.verified_at.is_some(),
        content_type: a.body.media.content_type.clone(),
        merged_into: a.merged_into,
        timeline,
        answer,
        visit,
    })
}

fn parse_id(
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Uuid, ApiError> {
    crate::api::parse_appeal_id(p)
}
type PathR = Result<Path<String>, axum::extract::rejection::PathRejection>;

async fn api_list(State(s): St, h: HeaderMap) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let rows = s.db.all_appeals().map_err(ApiError::internal)?;
    let list = rows
        .iter()
        .map(|a| operator_appeal(&s, a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(axum::Json(list).into_response())
}

async fn api_get(State(s): St, h: HeaderMap, p: PathR) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let id = parse_id(p)?;
    let a = appeal_or_404(&s, id)?;
    Ok(axum::Json(operator_appeal(&s, &a)?).into_response())
}

async fn api_media(State(s): St, h: HeaderMap, p: PathR) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let id = parse_id(p)?;
    let (bytes, ct) = decrypt_media(&s, id).await?;
    Ok(media_response(bytes, &ct, &h))
}

/// Operator API answer body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// Decision.
    pub decision: DecisionKind,
    /// Text.
    pub text: String,
    /// Signer.
    pub signed_by: String,
    /// Attached document names.
    #[serde(default)]
    pub documents: Vec<String>,
}

async fn api_answer(
    State(s): St,
    h: HeaderMap,
    p: PathR,
    JsonBody(r): JsonBody<AnswerRequest>,
) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let id = parse_id(p)?;
    let a = answer(&s, id, r.decision, &r.text, &r.signed_by, r.documents)?;
    Ok(axum::Json(a).into_response())
}

/// Operator API forward body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    /// Agency id from the directory.
    pub to_agency_id: String,
}

async fn api_forward(
    State(s): St,
    h: HeaderMap,
    p: PathR,
    JsonBody(r): JsonBody<ForwardRequest>,
) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let id = parse_id(p)?;
    forward(&s, id, &r.to_agency_id, Language::Ru)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Operator API merge body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// Main appeal.
    pub into: Uuid,
}

async fn api_merge(
    State(s): St,
    h: HeaderMap,
    p: PathR,
    JsonBody(r): JsonBody<MergeRequest>,
) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let id = parse_id(p)?;
    merge(&s, id, r.into)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn api_ratings(State(s): St, h: HeaderMap) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let r = s.db.ratings().map_err(ApiError::internal)?;
    let v: Vec<_> = r
        .into_iter()
        .map(|(a, r, at)| serde_json::json!({"appeal_id": a, "rating": r, "rated_at": at}))
        .collect();
    Ok(axum::Json(v).into_response())
}

/// Operator API token body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Booth id.
    pub booth_id: String,
}

async fn api_token(
    State(s): St,
    h: HeaderMap,
    JsonBody(r): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    basic_auth(&s, &h)?;
    let t = s.issue_token(&r.booth_id, Utc::now())?;
    Ok(axum::Json(serde_json::json!({"booth_id": r.booth_id, "token": t})).into_response())
}

// --- HTML page --------------------------------------------------------------------------

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn lang_of(h: &HeaderMap, q: &HashMap<String, String>) -> Language {
    q.get("lang")
        .and_then(|l| Language::from_code(l))
        .or_else(|| cookie(h, "op_lang").and_then(Language::from_code))
        .unwrap_or(Language::Ru)
}

fn session(s: &AppState, h: &HeaderMap) -> Option<String> {
    let tok = cookie(h, COOKIE)?;
    s.db.session(&secret_hash(tok), Utc::now()).ok().flatten()
}

/// UI strings in kk / ru / en.
/// A deadline as shown, or a plain note when no calendar covered it (never a guessed date).
fn deadline_text(lang: Language, d: Option<NaiveDate>) -> String {
    match d {
        Some(d) => d.to_string(),
        None => t(lang, "no_deadline").to_owned(),
    }
}

fn t(lang: Language, key: &str) -> &'static str {
    let (kk, ru, en) = match key {
        "title" => ("Орталық: өтініштер", "Центр: обращения", "Central: appeals"),
        "login" => ("Логин", "Логин", "Login"),
        "password" => ("Құпиясөз", "Пароль", "Password"),
        "sign_in" => ("Кіру", "Войти", "Sign in"),
        "wrong" => (
            "Логин немесе құпиясөз қате",
            "Неверный логин или пароль",
            "Wrong login or password",
        ),
        "logout" => ("Шығу", "Выйти", "Sign out"),
        "appeals" => ("Өтініштер", "Обращения", "Appeals"),
        "number" => ("Тіркеу нөмірі", "Рег. номер", "Reg. number"),
        "booth" => ("Кабина", "Кабина", "Booth"),
        "agency" => ("Орган", "Орган", "Agency"),
        "received" => ("Түскен күні", "Поступило", "Received"),
        "deadline" => ("Мерзімі", "Срок", "Deadline"),
        "status" => ("Мәртебесі", "Статус", "Status"),
        "overdue" => ("мерзімі өтті", "просрочено", "overdue"),
        "no_deadline" => (
            "күнтізбе жоқ: мерзім белгісіз",
            "нет календаря: срок не определён",
            "no calendar: deadline unknown",
        ),
        "none" => ("Өтініштер жоқ", "Обращений нет", "No appeals"),
        "applicant" => ("Өтініш беруші", "Заявитель", "Applicant"),
        "recording" => ("Бейнежазба", "Видеозапись", "Recording"),
        "not_arrived" => (
            "Жазба әлі келген жоқ",
            "Запись ещё не поступила",
            "The recording has not arrived yet",
        ),
        "timeline" => ("Тарихы", "История", "Timeline"),
        "answer" => ("Жауап", "Ответ", "Answer"),
        "decision" => ("Шешім", "Решение", "Decision"),
        "text" => ("Жауап мәтіні", "Текст ответа", "Answer text"),
        "signed_by" => ("Қол қойған", "Подписал", "Signed by"),
        "send_answer" => (
            "Қол қойып, тіркеу",
            "Подписать и прикрепить",
            "Sign and attach",
        ),
        "forward" => (
            "Басқа органға жолдау",
            "Перенаправить в другой орган",
            "Forward to another agency",
        ),
        "do_forward" => ("Жолдау", "Перенаправить", "Forward"),
        "merge" => (
            "Қайталама өтінішті біріктіру",
            "Объединить повторное обращение",
            "Merge a repeated appeal",
        ),
        "into" => ("Негізгі өтініш", "Основное обращение", "Main appeal"),
        "do_merge" => ("Біріктіру", "Объединить", "Merge"),
        "ratings" => ("Бағалар", "Оценки", "Ratings"),
        "tokens" => (
            "Тіркеу токені",
            "Токен регистрации кабины",
            "Booth enrollment token",
        ),
        "booth_id" => ("Кабина идентификаторы", "Идентификатор кабины", "Booth id"),
        "issue" => ("Беру", "Выдать", "Issue"),
        "token_for" => ("Бір реттік токен", "Одноразовый токен", "One-time token"),
        "back" => ("Тізімге", "К списку", "Back to list"),
        "kind" => ("Түрі", "Вид", "Kind"),
        "satisfied" => ("Қанағаттандырылды", "Удовлетворено", "Satisfied"),
        "refused" => ("Бас тартылды", "Отказано", "Refused"),
        "explained" => ("Түсіндірілді", "Разъяснено", "Explained"),
        "terminated" => ("Тоқтатылды", "Прекращено", "Terminated"),
        "registered" => ("Тіркелді", "Зарегистрировано", "Registered"),
        "delivered" => ("Орталыққа жетті", "Доставлено в центр", "Delivered"),
        "forwarded" => ("Жолданды", "Перенаправлено", "Forwarded"),
        "in_review" => ("Қаралуда", "На рассмотрении", "In review"),
        "merged" => ("Біріктірілді", "Объединено", "Merged"),
        "answered" => ("Жауап берілді", "Дан ответ", "Answered"),
        "visit" => (
            "Ресепшнде сәйкестендіру (журнал)",
            "Идентификация на ресепшн (журнал)",
            "Identification at reception (journal)",
        ),
        "identified" => ("Жеке басы анықталды", "Личность установлена", "Identified"),
        "receptionist" => ("Ресепшн қызметкері", "Работник ресепшн", "Receptionist"),
        "document" => (
            "Жеке басын куәландыратын құжат",
            "Документ, удостоверяющий личность",
            "ID document",
        ),
        "consent" => (
            "Дербес деректерді өңдеуге келісім",
            "Согласие на обработку персональных данных",
            "Consent to personal data processing",
        ),
        "consent_yes" => ("белгіленді", "отмечено", "noted"),
        "consent_no" => ("белгіленбеді", "не отмечено", "not noted"),
        "no_visit" => (
            "Ресепшнде тіркелмеген (талонсыз)",
            "Без регистрации на ресепшн (без талона)",
            "No reception visit (no ticket)",
        ),
        "visit_pending" => (
            "Ресепшн жазбасы әлі келген жоқ",
            "Запись ресепшн ещё не поступила",
            "Visit not received yet",
        ),
        "doc_id_card" => ("Жеке куәлік", "Удостоверение личности", "Identity card"),
        "doc_passport" => ("ҚР паспорты", "Паспорт РК", "Kazakhstan passport"),
        "doc_residence_permit" => ("Тұруға ықтиярхат", "Вид на жительство", "Residence permit"),
        "doc_foreign_passport" => (
            "Шетелдік паспорт",
            "Иностранный паспорт",
            "Foreign passport",
        ),
        _ => ("?", "?", "?"),
    };
    match lang {
        Language::Kk => kk,
        Language::Ru => ru,
        Language::En => en,
    }
}

fn status_text(lang: Language, s: &Status) -> String {
    match s {
        Status::Registered => t(lang, "registered").into(),
        Status::Delivered => t(lang, "delivered").into(),
        Status::Forwarded { to_agency_name, .. } => {
            format!("{}: {}", t(lang, "forwarded"), to_agency_name)
        }
        Status::InReview => t(lang, "in_review").into(),
        Status::Merged {
            into_registration_number,
        } => format!("{} → {}", t(lang, "merged"), into_registration_number),
        Status::Answered { decision } => {
            format!("{}: {}", t(lang, "answered"), t(lang, decision.as_str()))
        }
    }
}

fn layout(lang: Language, title: &str, body: &str, logged_in: bool) -> Html<String> {
    let langs: String = Language::ALL
        .iter()
        .map(|l| {
            let cls = if *l == lang { " class=\"on\"" } else { "" };
            format!("<a{cls} href=\"?lang={}\">{}</a>", l.code(), l.endonym())
        })
        .collect::<Vec<_>>()
        .join(" ");
    let logout = if logged_in {
        format!(
            "<form method=post action=\"/operator/logout\" class=inline><button>{}</button></form>",
            t(lang, "logout")
        )
    } else {
        String::new()
    };
    Html(format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=utf-8><title>{title}</title>
<meta name=viewport content=\"width=device-width,initial-scale=1\">
<style>
body{{font-family:'DejaVu Sans',Arial,sans-serif;margin:0;background:#f4f6f8;color:#1b1f23}}
header{{background:#0b4f8a;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}}
header h1{{font-size:20px;margin:0;flex:1}} header a{{color:#cfe3ff;margin-left:8px}} header a.on{{color:#fff;font-weight:bold}}
main{{padding:16px 20px}} table{{border-collapse:collapse;width:100%;background:#fff}}
th,td{{border-bottom:1px solid #dde2e6;padding:6px 8px;text-align:left;font-size:14px}} th{{background:#e8eef4}}
tr.overdue td.deadline{{color:#c00;font-weight:bold}} .badge{{color:#fff;background:#c00;border-radius:4px;padding:1px 5px;font-size:12px}}
section{{background:#fff;padding:12px 16px;margin:12px 0;border-radius:6px;box-shadow:0 1px 2px #0002}}
label{{display:block;margin:6px 0 2px}} textarea{{width:100%;height:90px}} input,select,textarea,button{{font-size:14px}}
button{{background:#0b4f8a;color:#fff;border:0;border-radius:4px;padding:6px 14px;margin-top:6px;cursor:pointer}}
dl{{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:14px}} dt{{font-weight:bold}} dd{{margin:0}}
.inline{{display:inline}} .err{{color:#c00}} video{{max-width:640px;width:100%;background:#000}} .cols{{display:flex;gap:16px;flex-wrap:wrap}} .cols section{{flex:1;min-width:300px}}
</style></head><body><header><h1>{title}</h1><nav>{langs}</nav>{logout}</header><main>{body}</main></body></html>",
        code = lang.code(),
    ))
}

fn with_lang_cookie(mut r: Response, q: &HashMap<String, String>) -> Response {
    if let Some(l) = q.get("lang").and_then(|l| Language::from_code(l))
        && let Ok(v) = HeaderValue::from_str(&format!(
            "op_lang={}; Path=/operator; SameSite=Strict",
            l.code()
        ))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn page_login(h: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let lang = lang_of(&h, &q);
    let err = if q.contains_key("failed") {
        format!("<p class=err id=login-error>{}</p>", t(lang, "wrong"))
    } else {
        String::new()
    };
    let body = format!(
        "<section style=\"max-width:360px\">{err}<form method=post action=\"/operator/login\">
<label for=login>{}</label><input id=login name=login autocomplete=username>
<label for=password>{}</label><input id=password name=password type=password autocomplete=current-password>
<br><button id=sign-in type=submit>{}</button></form></section>",
        t(lang, "login"),
        t(lang, "password"),
        t(lang, "sign_in")
    );
    with_lang_cookie(
        layout(lang, t(lang, "title"), &body, false).into_response(),
        &q,
    )
}

async fn do_login(
    State(s): St,
    form: Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(f)) = form else {
        return Redirect::to("/operator/login?failed=1").into_response();
    };
    let (l, p) = (
        f.get("login").map(String::as_str).unwrap_or(""),
        f.get("password").map(String::as_str).unwrap_or(""),
    );
    if !s.operator.check(l, p) {
        tracing::info!("operator login refused");
        return Redirect::to("/operator/login?failed=1").into_response();
    }
    let mut raw = [0u8; 32];
    rand::rng().fill(&mut raw);
    let tok = hex::encode(raw);
    if s.db
        .add_session(
            &secret_hash(&tok),
            l,
            Utc::now() + chrono::Duration::hours(8),
        )
        .is_err()
    {
        return ApiError::internal("session store").into_response();
    }
    let mut r = Redirect::to("/operator/").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={tok}; Path=/operator; HttpOnly; Secure; SameSite=Strict"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn do_logout() -> Response {
    let mut r = Redirect::to("/operator/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("op_session=; Path=/operator; Max-Age=0"),
    );
    r
}

fn agency_name(s: &AppState, id: &str, lang: Language) -> String {
    crate::directory::find(&s.directory, id)
        .map(|a| a.name(lang).to_owned())
        .unwrap_or_else(|| id.to_owned())
}

async fn page_list(
    State(s): St,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&h, &q);
    if session(&s, &h).is_none() {
        return Redirect::to("/operator/login").into_response();
    }
    let rows = match s.db.all_appeals() {
        Ok(r) => r,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let mut trs = String::new();
    for a in &rows {
        let Ok(oa) = operator_appeal(&s, a) else {
            continue;
        };
        let st = current_status(&oa.timeline)
            .map(|x| status_text(lang, x))
            .unwrap_or_default();
        let (cls, badge) = if oa.overdue {
            (
                " class=overdue",
                format!(" <span class=badge>{}</span>", t(lang, "overdue")),
            )
        } else {
            ("", String::new())
        };
        trs.push_str(&format!(
            "<tr{cls}><td><a href=\"/operator/appeals/{id}\">{num}</a></td><td>{central}</td><td>{booth}</td><td>{agency}</td><td>{recv}</td><td class=deadline>{dl}{badge}</td><td>{st}</td></tr>",
            id = oa.id,
            num = esc(&oa.registration_number),
            central = esc(&oa.central_number),
            booth = esc(&oa.booth_id),
            agency = esc(&agency_name(&s, &oa.agency_id, lang)),
            recv = a.received_at.format("%Y-%m-%d %H:%M"),
            dl = deadline_text(lang, oa.deadline),
            st = esc(&st),
        ));
    }
    if rows.is_empty() {
        trs = format!("<tr><td colspan=7>{}</td></tr>", t(lang, "none"));
    }
    let ratings = s.db.ratings().unwrap_or_default();
    let rat: String = ratings
        .iter()
        .take(20)
        .map(|(id, r, at)| format!("<tr><td><a href=\"/operator/appeals/{id}\">{id}</a></td><td>{}</td><td>{}</td></tr>", "★".repeat(usize::from(*r)), at.format("%Y-%m-%d %H:%M")))
        .collect();
    let token_html = q
        .get("token")
        .map(|tk| {
            format!(
                "<p>{}: <code id=issued-token>{}</code></p>",
                t(lang, "token_for"),
                esc(tk)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<section><h2>{appeals}</h2><table id=appeals><tr><th>{number}</th><th>№</th><th>{booth}</th><th>{agency}</th><th>{received}</th><th>{deadline}</th><th>{status}</th></tr>{trs}</table></section>
<div class=cols><section><h2>{ratings_t}</h2><table>{rat}</table></section>
<section><h2>{tokens}</h2><form method=post action=\"/operator/tokens\"><label for=booth_id>{booth_id}</label><input id=booth_id name=booth_id pattern=\"[A-Za-z0-9._-]{{1,64}}\"> <button>{issue}</button></form>{token_html}</section></div>",
        appeals = t(lang, "appeals"),
        number = t(lang, "number"),
        booth = t(lang, "booth"),
        agency = t(lang, "agency"),
        received = t(lang, "received"),
        deadline = t(lang, "deadline"),
        status = t(lang, "status"),
        ratings_t = t(lang, "ratings"),
        tokens = t(lang, "tokens"),
        booth_id = t(lang, "booth_id"),
        issue = t(lang, "issue"),
    );
    with_lang_cookie(
        layout(lang, t(lang, "title"), &body, true).into_response(),
        &q,
    )
}

fn applicant_html(a: &booth_core::Applicant) -> String {
    match a {
        booth_core::Applicant::Individual {
            surname,
            name,
            patronymic,
            address,
            email,
            ..
        } => format!(
            "{} {} {}<br>{}<br>{}",
            esc(surname.as_str()),
            esc(name.as_str()),
            esc(patronymic.as_ref().map(|p| p.as_str()).unwrap_or("")),
            esc(address.as_str()),
            esc(email.as_ref().map(|e| e.as_str()).unwrap_or(""))
        ),
        booth_core::Applicant::LegalEntity {
            name,
            address,
            email,
            ..
        } => format!(
            "{}<br>{}<br>{}",
            esc(name.as_str()),
            esc(address.as_str()),
            esc(email.as_ref().map(|e| e.as_str()).unwrap_or(""))
        ),
    }
}

/// The reception journal entry block of the appeal page (003 p.22).
fn visit_html(lang: Language, v: &ReceptionVisit) -> String {
    let inner = match v {
        ReceptionVisit::None => format!("<p id=visit-none>{}</p>", t(lang, "no_visit")),
        ReceptionVisit::NotReceived { visit_id } => format!(
            "<p id=visit-pending data-visit-id=\"{visit_id}\">{}</p>",
            t(lang, "visit_pending")
        ),
        ReceptionVisit::Received {
            visit_id,
            identified_at,
            receptionist,
            document_kind,
            document_number_masked,
            consent,
            ..
        } => {
            let kind = match t(lang, &format!("doc_{document_kind}")) {
                "?" => esc(document_kind),
                k => k.to_owned(),
            };
            let consent = t(
                lang,
                if *consent {
                    "consent_yes"
                } else {
                    "consent_no"
                },
            );
            format!(
                "<dl id=visit data-visit-id=\"{visit_id}\"><dt>{}</dt><dd id=visit-identified>{}</dd><dt>{}</dt><dd id=visit-receptionist>{}</dd>\
<dt>{}</dt><dd id=visit-document>{kind}, {}</dd><dt>{}</dt><dd id=visit-consent>{consent}</dd></dl>",
                t(lang, "identified"),
                identified_at.format("%Y-%m-%d %H:%M"),
                t(lang, "receptionist"),
                esc(receptionist),
                t(lang, "document"),
                esc(document_number_masked),
                t(lang, "consent"),
            )
        }
    };
    format!("<h3>{}</h3>{inner}", t(lang, "visit"))
}

async fn page_appeal(
    State(s): St,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    p: PathR,
) -> Response {
    let lang = lang_of(&h, &q);
    if session(&s, &h).is_none() {
        return Redirect::to("/operator/login").into_response();
    }
    let id = match parse_id(p) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let a = match appeal_or_404(&s, id) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = mark_in_review(&s, id) {
        return e.into_response();
    }
    let Ok(oa) = operator_appeal(&s, &a) else {
        return ApiError::internal("appeal view").into_response();
    };
    let video = if oa.media_verified {
        format!(
            "<video id=recording controls preload=auto src=\"/operator/appeals/{id}/media\" type=\"{}\"></video>",
            esc(&oa.content_type)
        )
    } else {
        format!("<p>{}</p>", t(lang, "not_arrived"))
    };
    let tl: String = oa
        .timeline
        .iter()
        .map(|e| {
            format!(
                "<li>{} — {}</li>",
                e.at.format("%Y-%m-%d %H:%M"),
                esc(&status_text(lang, &e.status))
            )
        })
        .collect();
    let answer_html = match &oa.answer {
        Some(ans) => format!(
            "<p id=answer-done><b>{}</b>: {}<br>{}<br><i>{}, {}</i></p>",
            t(lang, "decision"),
            t(lang, ans.decision.as_str()),
            esc(&ans.text),
            esc(&ans.signed_by),
            ans.signed_on
        ),
        None if oa.merged_into.is_some() => String::new(),
        None => {
            let opts: String = DecisionKind::ALL
                .iter()
                .map(|d| {
                    format!(
                        "<option value={}>{}</option>",
                        d.as_str(),
                        t(lang, d.as_str())
                    )
                })
                .collect();
            format!(
                "<form method=post action=\"/operator/appeals/{id}/answer\"><label for=decision>{}</label><select id=decision name=decision>{opts}</select>
<label for=text>{}</label><textarea id=text name=text required></textarea><label for=signed_by>{}</label><input id=signed_by name=signed_by required size=40>
<br><button id=send-answer>{}</button></form>",
                t(lang, "decision"),
                t(lang, "text"),
                t(lang, "signed_by"),
                t(lang, "send_answer")
            )
        }
    };
    let agencies: String = s
        .directory
        .agencies
        .iter()
        .filter(|ag| ag.id != oa.agency_id)
        .map(|ag| {
            format!(
                "<option value=\"{}\">{}</option>",
                esc(&ag.id),
                esc(ag.name(lang))
            )
        })
        .collect();
    let others: String =
        s.db.all_appeals()
            .unwrap_or_default()
            .iter()
            .filter(|o| o.id != id && o.merged_into.is_none())
            .map(|o| {
                format!(
                    "<option value=\"{}\">{}</option>",
                    o.id,
                    esc(&o.body.registration_number.to_string())
                )
            })
            .collect();
    let actions = if oa.answer.is_none() && oa.merged_into.is_none() {
        format!(
            "<section><h3>{}</h3><form method=post action=\"/operator/appeals/{id}/forward\"><select name=to_agency_id>{agencies}</select> <button>{}</button></form></section>
<section><h3>{}</h3><form method=post action=\"/operator/appeals/{id}/merge\"><label>{}</label><select name=into>{others}</select> <button>{}</button></form></section>",
            t(lang, "forward"),
            t(lang, "do_forward"),
            t(lang, "merge"),
            t(lang, "into"),
            t(lang, "do_merge")
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p><a href=\"/operator/\">← {back}</a></p><div class=cols><section><h2>{num} <small>({central})</small></h2>
<p><b>{kind}:</b> {k} · <b>{agency_t}:</b> {agency} · <b>{deadline_t}:</b> <span class=\"{dcls}\">{deadline}</span></p>
<p><b>{applicant_t}:</b><br>{applicant}</p>{visit}<h3>{recording_t}</h3>{video}</section>
<section><h3>{timeline_t}</h3><ol id=timeline>{tl}</ol><h3>{answer_t}</h3>{answer_html}</section></div>{actions}",
        back = t(lang, "back"),
        num = esc(&oa.registration_number),
        central = esc(&oa.central_number),
        kind = t(lang, "kind"),
        k = a.body.kind.as_str(),
        agency_t = t(lang, "agency"),
        agency = esc(&agency_name(&s, &oa.agency_id, lang)),
        deadline_t = t(lang, "deadline"),
        dcls = if oa.overdue { "err" } else { "" },
        deadline = deadline_text(lang, oa.deadline),
        applicant_t = t(lang, "applicant"),
        applicant = applicant_html(&a.body.applicant),
        visit = visit_html(lang, &oa.visit),
        recording_t = t(lang, "recording"),
        timeline_t = t(lang, "timeline"),
        answer_t = t(lang, "answer"),
    );
    with_lang_cookie(
        layout(lang, t(lang, "title"), &body, true).into_response(),
        &q,
    )
}

async fn page_media(State(s): St, h: HeaderMap, p: PathR) -> Response {
    if session(&s, &h).is_none() {
        return ApiError::Unauthenticated.into_response();
    }
    let id = match parse_id(p) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    match decrypt_media(&s, id).await {
        Ok((bytes, ct)) => media_response(bytes, &ct, &h),
        Err(e) => e.into_response(),
    }
}

type FormR = Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>;

fn after_action(id: Uuid, r: Result<(), ApiError>) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/operator/appeals/{id}")).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn form_answer(State(s): St, h: HeaderMap, p: PathR, form: FormR) -> Response {
    if session(&s, &h).is_none() {
        return ApiError::Unauthenticated.into_response();
    }
    let (Ok(id), Ok(axum::Form(f))) = (parse_id(p), form) else {
        return ApiError::BadRequest("form".into()).into_response();
    };
    let Some(decision) = f.get("decision").and_then(|d| DecisionKind::parse(d)) else {
        return ApiError::BadRequest("decision".into()).into_response();
    };
    let r = answer(
        &s,
        id,
        decision,
        f.get("text").map(String::as_str).unwrap_or(""),
        f.get("signed_by").map(String::as_str).unwrap_or(""),
        vec![],
    );
    after_action(id, r.map(|_| ()))
}

async fn form_forward(
    State(s): St,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    p: PathR,
    form: FormR,
) -> Response {
    if session(&s, &h).is_none() {
        return ApiError::Unauthenticated.into_response();
    }
    let lang = lang_of(&h, &q);
    let (Ok(id), Ok(axum::Form(f))) = (parse_id(p), form) else {
        return ApiError::BadRequest("form".into()).into_response();
    };
    let r = forward(
        &s,
        id,
        f.get("to_agency_id").map(String::as_str).unwrap_or(""),
        lang,
    );
    after_action(id, r)
}

async fn form_merge(State(s): St, h: HeaderMap, p: PathR, form: FormR) -> Response {
    if session(&s, &h).is_none() {
        return ApiError::Unauthenticated.into_response();
    }
    let (Ok(id), Ok(axum::Form(f))) = (parse_id(p), form) else {
        return ApiError::BadRequest("form".into()).into_response();
    };
    let Some(into) = f.get("into").and_then(|m| Uuid::parse_str(m).ok()) else {
        return ApiError::BadRequest("main appeal".into()).into_response();
    };
    after_action(id, merge(&s, id, into))
}

async fn form_token(State(s): St, h: HeaderMap, form: FormR) -> Response {
    if session(&s, &h).is_none() {
        return ApiError::Unauthenticated.into_response();
    }
    let Ok(axum::Form(f)) = form else {
        return ApiError::BadRequest("form".into()).into_response();
    };
    match s.issue_token(
        f.get("booth_id").map(String::as_str).unwrap_or(""),
        Utc::now(),
    ) {
        // Rendered in this response, never put in a URL (history, logs).
        Ok(tok) => {
            let mut q = HashMap::new();
            q.insert("token".to_owned(), tok);
            page_list(State(s), h, Query(q)).await
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn document_numbers_show_only_their_last_four_characters() {
        assert_eq!(mask_document_number("012345678"), "•••••5678");
        assert_eq!(mask_document_number(" N1234567 "), "••••4567");
        assert_eq!(mask_document_number("12345"), "•2345");
        assert_eq!(mask_document_number("1234"), "••••", "never shown whole");
        assert_eq!(mask_document_number("12"), "••••");
    }

    #[test]
    fn reception_visit_strings_exist_in_every_language() {
        for key in [
            "visit",
            "identified",
            "receptionist",
            "document",
            "consent",
            "consent_yes",
            "consent_no",
            "no_visit",
            "visit_pending",
            "doc_id_card",
            "doc_passport",
            "doc_residence_permit",
            "doc_foreign_passport",
        ] {
            for lang in Language::ALL {
                assert_ne!(t(lang, key), "?", "{key} in {lang:?}");
            }
        }
    }
}
