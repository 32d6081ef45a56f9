//! Pulls from the central service into the shared store, for the kiosk: agency directory
//! (ETag), working-day calendar (ETag), booth config, and status updates and answers of this
//! booth's appeals (cursor). And the small pushes: satisfaction ratings and reception visits,
//! each idempotent by id, marked sent only after the server accepted them.

use booth_core::WorkingCalendar;
use booth_core::store::{StoreError, kv_get, kv_set, reception, sync as store_sync};
use booth_core::wire::{
    Accepted, AnswersPage, BoothConfig, CALENDAR_CONTENT_TYPE, DirectoryResponse, RatingSubmission,
    VisitSubmission, paths,
};
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};

use crate::db::Db;
use crate::error::SyncError;
use crate::http::{Central, content_type, read_json, read_limited};

/// Largest calendar accepted.
const CALENDAR_LIMIT: usize = 256 * 1024;
/// Answers pages fetched per round (a backlog is fetched over several rounds).
const MAX_PAGES: u32 = 50;
/// Ratings or visits sent per round.
const PUSH_BATCH: u32 = 100;

/// Pulls and pushes on the shared client and store.
#[derive(Debug, Clone)]
pub struct Puller {
    /// The central service.
    pub central: Central,
    /// The store.
    pub db: Db,
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn etag(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl Puller {
    /// Every pull, then the pushes; stops at the first error (the job backs off). A calendar
    /// the booth refuses does not hold up config, answers and pushes: the last good calendar
    /// stays, and the refusal is returned after the rest (so `sync-agent status` shows it).
    pub async fn all(&self) -> Result<(), SyncError> {
        self.directory().await?;
        let refused_calendar = match self.calendar().await {
            Ok(_) => None,
            Err(e @ SyncError::BadResponse { .. }) => Some(e),
            Err(e) => return Err(e),
        };
        self.config().await?;
        self.answers().await?;
        self.ratings().await?;
        self.visits().await?;
        refused_calendar.map_or(Ok(()), Err)
    }

    /// Agency directory with `If-None-Match`; returns whether it changed.
    pub async fn directory(&self) -> Result<bool, SyncError> {
        let old = self
            .db
            .read(|tx| kv_get(tx, store_sync::KV_DIRECTORY_ETAG))
            .await?;
        let mut req = self.central.request(Method::GET, paths::DIRECTORY)?;
        if let Some(e) = &old {
            req = req.header(IF_NONE_MATCH, e.as_str());
        }
        let resp = self.central.send_ok(req, "GET", paths::DIRECTORY).await?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(false);
        }
        let tag = etag(&resp);
        let dir: DirectoryResponse = read_json(resp, paths::DIRECTORY).await?;
        if dir.agencies.is_empty() {
            return Err(SyncError::BadResponse {
                what: paths::DIRECTORY.into(),
                reason: "empty directory refused; keeping the stored one".into(),
            });
        }
        let n = dir.agencies.len();
        self.db
            .write(move |tx| store_sync::replace_directory(tx, &dir.agencies, tag.as_deref()))
            .await?;
        tracing::info!(agencies = n, "agency directory updated");
        Ok(true)
    }

    /// Working-day calendar with `If-None-Match`; returns whether it changed. Stored only when
    /// it passes the strict validation of `WorkingCalendar::from_toml` (issue 15: unknown
    /// weekdays, no holidays, a year without data, duplicate, overlapping or unsorted entries
    /// are refused) and is not older than the stored one; otherwise refused with the log line
    /// "central calendar refused; the last good calendar stays in use" and the last good
    /// calendar stays.
    pub async fn calendar(&self) -> Result<bool, SyncError> {
        let old = self
            .db
            .read(|tx| kv_get(tx, store_sync::KV_CALENDAR_ETAG))
            .await?;
        let mut req = self.central.request(Method::GET, paths::CALENDAR)?;
        if let Some(e) = &old {
            req = req.header(IF_NONE_MATCH, e.as_str());
        }
        let resp = self.central.send_ok(req, "GET", paths::CALENDAR).await?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(false);
        }
        let bad = |reason: String| SyncError::BadResponse {
            what: paths::CALENDAR.into(),
            reason,
        };
        match content_type(resp.headers()) {
            Some(c) if c == CALENDAR_CONTENT_TYPE => {}
            other => {
                return Err(bad(format!(
                    "wrong content type {:?}, expected {CALENDAR_CONTENT_TYPE}",
                    other.unwrap_or_default()
                )));
            }
        }
        let tag = etag(&resp);
        let body = read_limited(resp, CALENDAR_LIMIT, paths::CALENDAR).await?;
        let refuse = |reason: String| {
            // No personal data here: the calendar is public reference data.
            tracing::warn!(
                etag = tag.as_deref().unwrap_or("-"),
                reason = %reason,
                "central calendar refused; the last good calendar stays in use"
            );
            bad(format!("calendar refused: {reason}"))
        };
        let text = String::from_utf8(body).map_err(|_| refuse("not UTF-8".into()))?;
        let cal = WorkingCalendar::from_toml(&text).map_err(|e| refuse(e.to_string()))?;
        let stored = self
            .db
            .read(|tx| kv_get(tx, store_sync::KV_CALENDAR_TOML))
            .await?
            .and_then(|t| WorkingCalendar::from_toml(&t).ok());
        if let Some(old) = stored
            && cal.version() < old.version()
        {
            return Err(refuse(format!(
                "version {} is older than the stored version {}",
                cal.version(),
                old.version()
            )));
        }
        let (version, first, last) = (cal.version(), cal.first_year(), cal.last_year());
        self.db
            .write(move |tx| {
                kv_set(tx, store_sync::KV_CALENDAR_TOML, &text)?;
                if let Some(t) = &tag {
                    kv_set(tx, store_sync::KV_CALENDAR_ETAG, t)?;
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        tracing::info!(
            version,
            first_year = first,
            last_year = last,
            "working-day calendar updated"
        );
        Ok(true)
    }

    /// Booth configuration (and the age recipients in it).
    pub async fn config(&self) -> Result<BoothConfig, SyncError> {
        let cfg: BoothConfig = self.central.get_json(paths::CONFIG).await?;
        store_config(&self.db, &cfg).await?;
        Ok(cfg)
    }

    /// Status updates and answers since the stored cursor; the cursor moves in the same
    /// transaction as the page it covers. Returns how many updates were applied.
    pub async fn answers(&self) -> Result<u32, SyncError> {
        let mut applied = 0;
        for _ in 0..MAX_PAGES {
            let since = self.db.read(store_sync::answers_cursor).await?;
            let path = format!("{}?since={since}&limit=100", paths::ANSWERS);
            let page: AnswersPage = self.central.get_json(&path).await?;
            if page.next_cursor < since {
                return Err(SyncError::BadResponse {
                    what: paths::ANSWERS.into(),
                    reason: format!("cursor went backwards ({} < {since})", page.next_cursor),
                });
            }
            let n = page.updates.len() as u32;
            let more = page.more && n > 0;
            let t = now();
            self.db
                .write(move |tx| {
                    for u in &page.updates {
                        store_sync::apply_update(
                            tx,
                            u.appeal_id,
                            &u.timeline,
                            u.answer.as_ref(),
                            t,
                        )?;
                        // A receipt that printed no date (no calendar covered it) said the
                        // date comes with the answer: the centre's date fills it in.
                        if let Some(d) = u.expected_answer_date {
                            store_sync::fill_expected_answer_date(tx, u.appeal_id, d)?;
                        }
                    }
                    store_sync::set_answers_cursor(tx, page.next_cursor)
                })
                .await?;
            applied += n;
            if !more {
                break;
            }
        }
        if applied > 0 {
            tracing::info!(updates = applied, "status updates and answers stored");
        }
        Ok(applied)
    }

    /// Sends unsent ratings; returns how many were accepted.
    pub async fn ratings(&self) -> Result<u32, SyncError> {
        let list = self
            .db
            .read(|tx| store_sync::unsent_ratings(tx, PUSH_BATCH))
            .await?;
        let mut sent = 0;
        for r in list {
            let body = RatingSubmission {
                id: r.id,
                appeal_id: r.appeal_id,
                rating: r.rating,
                rated_at: r.rated_at,
            };
            match self
                .central
                .send_json::<_, Accepted>(Method::POST, paths::RATINGS, &body)
                .await
            {
                Ok(_) => {
                    self.db
                        .write(move |tx| store_sync::mark_rating_sent(tx, &r, now()))
                        .await?;
                    sent += 1;
                }
                Err(e) if e.is_permanent() => {
                    // Kept unsent (never dropped): the technician sees it in `status`.
                    tracing::error!(appeal_id = %r.appeal_id, error = %e, "rating refused by the central service; kept unsent");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    /// Sends unsent reception visits with their appeal link (the journal's `appeal_id`, 003
    /// p.22); returns how many were accepted. A visit linked to its appeal after it was first
    /// sent is unsent again and goes again with the link; one linked while its unlinked send
    /// was on the way stays unsent ([`reception::mark_visit_sent_as`]).
    pub async fn visits(&self) -> Result<u32, SyncError> {
        let list = self
            .db
            .read(|tx| reception::unsent_visits(tx, PUSH_BATCH))
            .await?;
        let mut sent = 0;
        for v in list {
            let id = v.visit.id;
            let appeal_id = v.appeal_id;
            let body = VisitSubmission::new(&v.visit, appeal_id);
            match self
                .central
                .send_json::<_, Accepted>(Method::POST, paths::VISITS, &body)
                .await
            {
                Ok(_) => {
                    let marked = self
                        .db
                        .write(move |tx| reception::mark_visit_sent_as(tx, id, appeal_id, now()))
                        .await?;
                    if marked {
                        sent += 1;
                    } else {
                        tracing::info!(visit_id = %id, "visit linked to its appeal while being sent; it goes again with the link");
                    }
                }
                Err(e) if e.is_permanent() => {
                    tracing::error!(visit_id = %id, error = %e, "visit refused by the central service; kept unsent");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }
}

/// Stores a central booth configuration and its age recipients (enrollment and pulls).
pub async fn store_config(db: &Db, cfg: &BoothConfig) -> Result<(), SyncError> {
    let json = serde_json::to_string(cfg).map_err(|e| SyncError::BadResponse {
        what: "config".into(),
        reason: e.to_string(),
    })?;
    let recipients = cfg.age_recipients.join("\n");
    db.write(move |tx| {
        kv_set(tx, store_sync::KV_CENTRAL_CONFIG, &json)?;
        if !recipients.is_empty() {
            kv_set(tx, store_sync::KV_AGE_RECIPIENTS, &recipients)?;
        }
        Ok::<_, StoreError>(())
    })
    .await
}
