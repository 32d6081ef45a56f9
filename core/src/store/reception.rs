//! Reception journal, booth tickets, reception accounts, sessions and the audit log
//! (tables `visits`, `tickets`, `ticket_attempts`, `reception_users`, `reception_sessions`,
//! `audit_log`). The reception console writes visits, tickets, accounts and audit entries;
//! the kiosk redeems tickets; the sync agent sends visits to the central service.
//!
//! # Contract for the kiosk: redeeming a booth ticket
//!
//! A receptionist identifies a visitor (003 p.22), writes a [`Visit`] into the journal and
//! hands out a one-time 6-digit ticket ([`issue_ticket`]). The ticket expires after the
//! configured time, works once, and is bound either to one booth id or to any booth of the
//! branch (`booth_id` NULL).
//!
//! The kiosk calls [`redeem_ticket`] with its [`Store`] (or [`try_redeem_ticket`] inside a
//! transaction it commits itself, also when the inner result is an error). On success the
//! ticket is marked used in the same transaction and the kiosk receives a [`TicketPrefill`]:
//! the visit id and the applicant's names, IIN, e-mail and legal entity from the journal, to
//! prefill the applicant screen. Every failed attempt (unknown, used, expired, wrong booth) is
//! written to `ticket_attempts` with the booth id as source; when a booth has had
//! [`MAX_FAILED_TICKET_ATTEMPTS`] failures within [`TICKET_ATTEMPT_WINDOW`], further attempts
//! from it are refused with [`TicketError::RateLimited`] *before* the ticket is looked at, so a
//! guesser learns nothing while limited. A malformed ticket (not 6 digits) is refused without
//! counting: it reveals nothing and is a typing slip.
//!
//! After "Finish recording" commits the appeal, the kiosk calls [`link_visit_to_appeal`] in
//! the same transaction, so the journal shows that an appeal was recorded with the ticket.
//!
//! # Contract for the sync agent
//!
//! Visits with `sent_at` NULL are waiting for the central service ([`unsent_visits`]); the agent
//! marks them with [`mark_visit_sent_as`], naming the appeal link it sent. Linking an appeal
//! clears `sent_at`, so the visit is sent again with its appeal id, also when the link was
//! written while the unlinked visit was on its way.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

use super::{Store, StoreError, parse_ts, ts};
use crate::domain::Visit;
use crate::ident::{Bin, Iin};
use crate::validate::{Email, LegalEntityName, PersonName};

/// Failed ticket attempts from one booth tolerated within [`TICKET_ATTEMPT_WINDOW`].
pub const MAX_FAILED_TICKET_ATTEMPTS: u32 = 5;

/// Sliding window in which failed ticket attempts are counted (10 minutes).
pub const TICKET_ATTEMPT_WINDOW: Duration = Duration::minutes(10);

/// How long an account stays locked after too many failed logins (15 minutes).
pub const LOGIN_LOCKOUT: Duration = Duration::minutes(15);

/// Why a booth ticket was not accepted. Each variant has a translation key for the kiosk.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// Not exactly six ASCII digits.
    #[error("a ticket has 6 digits")]
    Malformed,
    /// No such ticket (a typo or a guess).
    #[error("no such ticket")]
    Unknown,
    /// The ticket was already used to start a session.
    #[error("the ticket was already used")]
    Used,
    /// The ticket's time ran out.
    #[error("the ticket has expired")]
    Expired,
    /// The ticket is bound to another booth.
    #[error("the ticket is for another booth")]
    WrongBooth,
    /// Too many failed attempts from this booth recently; try again after `retry_after`.
    #[error("too many wrong tickets; try again in {} s", retry_after.num_seconds())]
    RateLimited {
        /// How long until the oldest counted failure leaves the window.
        retry_after: Duration,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TicketError {
    /// Translation key of this error (kiosk message catalogues).
    pub fn message_key(&self) -> &'static str {
        match self {
            TicketError::Malformed => "error-ticket-malformed",
            TicketError::Unknown => "error-ticket-unknown",
            TicketError::Used => "error-ticket-used",
            TicketError::Expired => "error-ticket-expired",
            TicketError::WrongBooth => "error-ticket-wrong-booth",
            TicketError::RateLimited { .. } => "error-ticket-rate-limited",
            TicketError::Store(_) => "error-internal",
        }
    }
}

/// What a redeemed ticket gives the kiosk: the journal entry's id and the data that prefills
/// the applicant screen. Only validated values: they were parsed when the visit was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPrefill {
    /// The visit (pass it to [`link_visit_to_appeal`] after the appeal is committed).
    pub visit_id: Uuid,
    /// Surname.
    pub surname: PersonName,
    /// Given name.
    pub name: PersonName,
    /// Patronymic.
    pub patronymic: Option<PersonName>,
    /// IIN, when the visitor has one.
    pub iin: Option<Iin>,
    /// E-mail, when given at the reception.
    pub email: Option<Email>,
    /// For a legal entity's representative: the entity's BIN and name.
    pub entity: Option<(Bin, LegalEntityName)>,
}

/// A booth ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Six digits.
    pub ticket: String,
    /// Visit it was issued for.
    pub visit_id: Uuid,
    /// Booth it is bound to; `None` = any booth of the branch.
    pub booth_id: Option<String>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was redeemed.
    pub used_at: Option<DateTime<Utc>>,
}

impl Ticket {
    /// State of the ticket at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> TicketState {
        if self.used_at.is_some() {
            TicketState::Used
        } else if now >= self.expires_at {
            TicketState::Expired
        } else {
            TicketState::Active
        }
    }
}

/// State of a ticket for the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketState {
    /// Not used and not expired.
    Active,
    /// Redeemed at a booth.
    Used,
    /// Time ran out unused.
    Expired,
}

fn bad(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

fn parse_opt<T: std::str::FromStr>(
    what: &'static str,
    v: Option<String>,
) -> Result<Option<T>, StoreError>
where
    T::Err: ToString,
{
    v.map(|s| s.parse::<T>().map_err(|e| bad(what, e)))
        .transpose()
}

/// Writes a new journal entry. `sent_at` stays NULL: the sync agent sends it.
pub fn insert_visit(tx: &Transaction<'_>, v: &Visit) -> Result<(), StoreError> {
    let (bin, entity_name) = match &v.entity {
        Some((b, n)) => (Some(b.as_str()), Some(n.as_str())),
        None => (None, None),
    };
    tx.execute(
        "INSERT INTO visits (id, document_kind, document_number, iin, surname, name, patronymic, entity_bin,
             entity_name, phone, email, consent, created_at, receptionist)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            v.id.to_string(),
            v.document_kind,
            v.document_number,
            v.iin.as_ref().map(Iin::as_str),
            v.surname.as_str(),
            v.name.as_str(),
            v.patronymic.as_ref().map(PersonName::as_str),
            bin,
            entity_name,
            v.phone,
            v.email.as_ref().map(Email::as_str),
            v.consent,
            ts(v.created_at),
            v.receptionist,
        ],
    )?;
    Ok(())
}

const VISIT_COLUMNS: &str =
    "v.id, v.document_kind, v.document_number, v.iin, v.surname, v.name, v.patronymic,
     v.entity_bin, v.entity_name, v.phone, v.email, v.consent, v.created_at, v.receptionist";

/// Raw visit columns, parsed after the row closure so parse errors become [`StoreError`].
struct VisitRaw([Option<String>; 14], bool);

fn visit_raw(r: &Row<'_>, base: usize) -> rusqlite::Result<VisitRaw> {
    let mut cols: [Option<String>; 14] = Default::default();
    for (i, c) in cols.iter_mut().enumerate() {
        if i != 11 {
            *c = r.get(base + i)?;
        }
    }
    let consent: bool = r.get(base + 11)?;
    Ok(VisitRaw(cols, consent))
}

fn visit_from_raw(raw: VisitRaw) -> Result<Visit, StoreError> {
    let VisitRaw(c, consent) = raw;
    let req = |i: usize, what: &'static str| c[i].clone().ok_or_else(|| bad(what, "NULL"));
    let id = Uuid::parse_str(&req(0, "visits.id")?).map_err(|e| bad("visits.id", e))?;
    let entity = match (
        parse_opt::<Bin>("visits.entity_bin", c[7].clone())?,
        parse_opt::<LegalEntityName>("visits.entity_name", c[8].clone())?,
    ) {
        (Some(b), Some(n)) => Some((b, n)),
        _ => None,
    };
    Ok(Visit {
        id,
        document_kind: req(1, "visits.document_kind")?,
        document_number: req(2, "visits.document_number")?,
        iin: parse_opt("visits.iin", c[3].clone())?,
        surname: req(4, "visits.surname")?
            .parse()
            .map_err(|e| bad("visits.surname", e))?,
        name: req(5, "visits.name")?
            .parse()
            .map_err(|e| bad("visits.name", e))?,
        patronymic: parse_opt("visits.patronymic", c[6].clone())?,
        entity,
        phone: c[9].clone(),
        email: parse_opt("visits.email", c[10].clone())?,
        consent,
        created_at: parse_ts("visits.created_at", &req(12, "visits.created_at")?)?,
        receptionist: req(13, "visits.receptionist")?,
    })
}

/// Reads one visit.
pub fn get_visit(tx: &Transaction<'_>, id: Uuid) -> Result<Option<Visit>, StoreError> {
    let raw = tx
        .query_row(
            &format!("SELECT {VISIT_COLUMNS} FROM visits v WHERE v.id = ?1"),
            [id.to_string()],
            |r| visit_raw(r, 0),
        )
        .optional()?;
    raw.map(visit_from_raw).transpose()
}

/// Whether `s` is exactly six ASCII digits (the shape of every ticket).
pub fn is_ticket_shape(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Issues a fresh 6-digit ticket for `visit_id` from the operating system's CSPRNG, valid
/// until `now + ttl`, bound to `booth_id` (`None`: any booth of the branch). Any earlier
/// unused ticket of the same visit is expired at `now`, so a visit has at most one working
/// ticket. Ticket numbers are never reused (the column is the primary key); a collision draws
/// again.
pub fn issue_ticket(
    tx: &Transaction<'_>,
    visit_id: Uuid,
    booth_id: Option<&str>,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<Ticket, StoreError> {
    tx.execute(
        "UPDATE tickets SET expires_at = ?2 WHERE visit_id = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![visit_id.to_string(), ts(now)],
    )?;
    // ThreadRng is ChaCha12 seeded from the OS and reseeded: a CSPRNG, and unbiased ranges.
    let mut rng = rand::rng();
    // A million numbers; even with 100,000 stored tickets a draw collides one time in ten,
    // so 64 draws failing means the table is full, not bad luck.
    for _ in 0..64 {
        let n: u32 = rng.random_range(0..1_000_000);
        let ticket = format!("{n:06}");
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO tickets (ticket, visit_id, booth_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![ticket, visit_id.to_string(), booth_id, ts(now + ttl)],
        )?;
        if inserted == 1 {
            return Ok(Ticket {
                ticket,
                visit_id,
                booth_id: booth_id.map(str::to_owned),
                expires_at: now + ttl,
                used_at: None,
            });
        }
    }
    Err(bad(
        "tickets",
        "no free ticket number after 64 draws: purge old tickets",
    ))
}

/// Ticket columns as read: ticket, visit id, booth id, expiry, use time.
type TicketRaw = (String, String, Option<String>, String, Option<String>);

fn ticket_from_row(r: &Row<'_>) -> rusqlite::Result<TicketRaw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn ticket_from_raw(raw: TicketRaw) -> Result<Ticket, StoreError> {
    let (ticket, visit_id, booth_id, expires_at, used_at) = raw;
    Ok(Ticket {
        ticket,
        visit_id: Uuid::parse_str(&visit_id).map_err(|e| bad("tickets.visit_id", e))?,
        booth_id,
        expires_at: parse_ts("tickets.expires_at", &expires_at)?,
        used_at: used_at
            .map(|u| parse_ts("tickets.used_at", &u))
            .transpose()?,
    })
}

/// Reads a ticket without redeeming it (for the reception console; never for the kiosk).
pub fn get_ticket(tx: &Transaction<'_>, ticket: &str) -> Result<Option<Ticket>, StoreError> {
    let raw = tx
        .query_row(
            "SELECT ticket, visit_id, booth_id, expires_at, used_at FROM tickets WHERE ticket = ?1",
            [ticket],
            ticket_from_row,
        )
        .optional()?;
    raw.map(ticket_from_raw).transpose()
}

/// The latest ticket issued for a visit.
pub fn latest_ticket_of_visit(
    tx: &Transaction<'_>,
    visit_id: Uuid,
) -> Result<Option<Ticket>, StoreError> {
    let raw = tx
        .query_row(
            "SELECT ticket, visit_id, booth_id, expires_at, used_at FROM tickets WHERE visit_id = ?1
             ORDER BY expires_at DESC LIMIT 1",
            [visit_id.to_string()],
            ticket_from_row,
        )
        .optional()?;
    raw.map(ticket_from_raw).transpose()
}

/// Refusal time left for `source` at `now`, if it is rate-limited.
fn rate_limited(
    tx: &Transaction<'_>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<Option<Duration>, StoreError> {
    let since = ts(now - TICKET_ATTEMPT_WINDOW);
    let count: u32 = tx.query_row(
        "SELECT COUNT(*) FROM ticket_attempts WHERE source = ?1 AND at > ?2",
        params![source, since],
        |r| r.get(0),
    )?;
    if count < MAX_FAILED_TICKET_ATTEMPTS {
        return Ok(None);
    }
    // The window is full; the limit lifts when enough failures age out of it.
    let nth: String = tx.query_row(
        "SELECT at FROM ticket_attempts WHERE source = ?1 AND at > ?2 ORDER BY at DESC LIMIT 1 OFFSET ?3",
        params![source, since, MAX_FAILED_TICKET_ATTEMPTS - 1],
        |r| r.get(0),
    )?;
    let lifts_at = parse_ts("ticket_attempts.at", &nth)? + TICKET_ATTEMPT_WINDOW;
    Ok(Some((lifts_at - now).max(Duration::seconds(1))))
}

/// Redeems a ticket inside the caller's transaction. The outer `Result` is a database failure
/// (roll back); the inner one is the answer for the citizen. The caller **must commit** the
/// transaction also when the inner result is an error: that is what records the failed attempt
/// for rate limiting. Prefer [`redeem_ticket`], which does exactly that.
pub fn try_redeem_ticket(
    tx: &Transaction<'_>,
    ticket: &str,
    booth_id: &str,
    now: DateTime<Utc>,
) -> Result<Result<TicketPrefill, TicketError>, StoreError> {
    let ticket = ticket.trim();
    if !is_ticket_shape(ticket) {
        return Ok(Err(TicketError::Malformed));
    }
    if let Some(retry_after) = rate_limited(tx, booth_id, now)? {
        return Ok(Err(TicketError::RateLimited { retry_after }));
    }
    let failure = match get_ticket(tx, ticket)? {
        None => TicketError::Unknown,
        Some(t) if t.used_at.is_some() => TicketError::Used,
        Some(t) if now >= t.expires_at => TicketError::Expired,
        Some(t) if t.booth_id.as_deref().is_some_and(|b| b != booth_id) => TicketError::WrongBooth,
        Some(t) => {
            let changed = tx.execute(
                "UPDATE tickets SET used_at = ?2 WHERE ticket = ?1 AND used_at IS NULL",
                params![ticket, ts(now)],
            )?;
            if changed != 1 {
                return Ok(Err(TicketError::Used));
            }
            let visit = get_visit(tx, t.visit_id)?.ok_or(StoreError::NotFound {
                what: "visit",
                id: t.visit_id.to_string(),
            })?;
            return Ok(Ok(TicketPrefill {
                visit_id: visit.id,
                surname: visit.surname,
                name: visit.name,
                patronymic: visit.patronymic,
                iin: visit.iin,
                email: visit.email,
                entity: visit.entity,
            }));
        }
    };
    tx.execute(
        "INSERT INTO ticket_attempts (source, at) VALUES (?1, ?2)",
        params![booth_id, ts(now)],
    )?;
    Ok(Err(failure))
}

/// Redeems a booth ticket typed at booth `booth_id`: checks it exists, is unused, unexpired and
/// valid for this booth, marks it used and returns the prefill data, all in one committed
/// write transaction. A failed attempt is committed too (it counts towards the rate limit);
/// while the booth is rate-limited every attempt is refused with
/// [`TicketError::RateLimited`] without looking at the ticket.
pub fn redeem_ticket(
    store: &mut Store,
    ticket: &str,
    booth_id: &str,
    now: DateTime<Utc>,
) -> Result<TicketPrefill, TicketError> {
    store.write(|tx| try_redeem_ticket(tx, ticket, booth_id, now))?
}

/// Records that the appeal `appeal_id` was filed with the visit's ticket. The first appeal of a
/// visit is kept (a continuation recorded with the same ticket does not replace it); returns
/// whether the link was written. Clears `sent_at` so the sync agent sends the visit again with
/// its appeal. [`StoreError::NotFound`] if there is no such visit.
pub fn link_visit_to_appeal(
    tx: &Transaction<'_>,
    visit_id: Uuid,
    appeal_id: Uuid,
) -> Result<bool, StoreError> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM visits WHERE id = ?1)",
        [visit_id.to_string()],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(StoreError::NotFound {
            what: "visit",
            id: visit_id.to_string(),
        });
    }
    let changed = tx.execute(
        "UPDATE visits SET appeal_id = ?2, sent_at = NULL WHERE id = ?1 AND appeal_id IS NULL",
        params![visit_id.to_string(), appeal_id.to_string()],
    )?;
    Ok(changed == 1)
}

/// A visit waiting for the central service, with its linked appeal if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsentVisit {
    /// The journal entry.
    pub visit: Visit,
    /// Appeal recorded with its ticket.
    pub appeal_id: Option<Uuid>,
}

/// Visits with `sent_at` NULL, oldest first, at most `limit`.
pub fn unsent_visits(tx: &Transaction<'_>, limit: u32) -> Result<Vec<UnsentVisit>, StoreError> {
    let mut st = tx.prepare(&format!(
        "SELECT {VISIT_COLUMNS}, v.appeal_id FROM visits v WHERE v.sent_at IS NULL ORDER BY v.created_at LIMIT ?1"
    ))?;
    let raws = st
        .query_map([limit], |r| {
            Ok((visit_raw(r, 0)?, r.get::<_, Option<String>>(14)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter()
        .map(|(raw, appeal)| {
            Ok(UnsentVisit {
                visit: visit_from_raw(raw)?,
                appeal_id: appeal
                    .map(|a| Uuid::parse_str(&a).map_err(|e| bad("visits.appeal_id", e)))
                    .transpose()?,
            })
        })
        .collect()
}

/// Marks a visit as accepted by the central service.
pub fn mark_visit_sent(
    tx: &Transaction<'_>,
    visit_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE visits SET sent_at = ?2 WHERE id = ?1",
        params![visit_id.to_string(), ts(at)],
    )?;
    Ok(())
}

/// Marks a visit as accepted by the central service with the appeal link `sent_appeal_id`
/// that was sent, unless the link changed since the visit was read (an appeal was linked
/// while the visit was on its way): then it stays unsent and goes again with its appeal.
/// Returns whether it was marked.
pub fn mark_visit_sent_as(
    tx: &Transaction<'_>,
    visit_id: Uuid,
    sent_appeal_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE visits SET sent_at = ?2 WHERE id = ?1 AND appeal_id IS ?3",
        params![
            visit_id.to_string(),
            ts(at),
            sent_appeal_id.map(|a| a.to_string())
        ],
    )?;
    Ok(n == 1)
}

/// Removes journal entries created before `before` that the central service already has
/// (`sent_at` set), with their tickets, and ticket attempts older than a day; returns how many
/// visits were removed. An unsent visit is never removed. Called with
/// `now - retention.journal_days`.
pub fn purge_journal(
    tx: &Transaction<'_>,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let cutoff = ts(before);
    tx.execute(
        "DELETE FROM tickets WHERE visit_id IN
             (SELECT id FROM visits WHERE created_at < ?1 AND sent_at IS NOT NULL)",
        [&cutoff],
    )?;
    let n = tx.execute(
        "DELETE FROM visits WHERE created_at < ?1 AND sent_at IS NOT NULL",
        [&cutoff],
    )?;
    tx.execute(
        "DELETE FROM ticket_attempts WHERE at < ?1",
        [ts(now - Duration::days(1))],
    )?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Journal search

/// Filters of the journal page; all given filters must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalQuery {
    /// Visits created at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Visits created before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Surname contains this text, compared case-insensitively (Kazakh letters included).
    pub surname: Option<String>,
    /// A ticket issued for the visit.
    pub ticket: Option<String>,
    /// Registration number of the appeal linked to the visit.
    pub registration_number: Option<String>,
    /// Most rows returned (newest first).
    pub limit: usize,
}

/// One row of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    /// The visit.
    pub visit: Visit,
    /// Latest ticket of the visit.
    pub ticket: Option<Ticket>,
    /// Linked appeal id.
    pub appeal_id: Option<Uuid>,
    /// Linked appeal's registration number (when the appeal row is on this booth).
    pub registration_number: Option<String>,
    /// When the sync agent sent the visit.
    pub sent_at: Option<DateTime<Utc>>,
}

/// Searches the journal, newest first. A visit's appeal is the one linked by
/// [`link_visit_to_appeal`] or, failing that, the first appeal committed with one of the
/// visit's tickets (`appeals.ticket`), so the journal shows the appeal even if the link step
/// was missed. The surname filter is applied in Rust because SQLite's
/// `LIKE` folds case for ASCII only, and names here are Kazakh and Russian.
pub fn search_journal(
    tx: &Transaction<'_>,
    q: &JournalQuery,
) -> Result<Vec<JournalRow>, StoreError> {
    // Phase 1: ids of matching visits, newest first, using indexes only; the surname filter
    // runs here in Rust. Phase 2: the full row of each id (tickets, appeal) by primary key.
    let mut sql = String::from("SELECT v.id, v.surname FROM visits v WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    if let Some(f) = q.from {
        args.push(ts(f));
        sql.push_str(&format!(" AND v.created_at >= ?{}", args.len()));
    }
    if let Some(u) = q.until {
        args.push(ts(u));
        sql.push_str(&format!(" AND v.created_at < ?{}", args.len()));
    }
    if let Some(t) = &q.ticket {
        args.push(t.trim().to_owned());
        sql.push_str(&format!(
            " AND v.id IN (SELECT visit_id FROM tickets WHERE ticket = ?{})",
            args.len()
        ));
    }
    if let Some(n) = &q.registration_number {
        args.push(n.trim().to_owned());
        args.push(n.trim().to_uppercase());
        let (a, b) = (args.len() - 1, args.len());
        sql.push_str(&format!(
            " AND (v.appeal_id IN (SELECT id FROM appeals WHERE registration_number IN (?{a}, ?{b}))
               OR v.id IN (SELECT t5.visit_id FROM appeals a5 JOIN tickets t5 ON t5.ticket = a5.ticket
                           WHERE a5.registration_number IN (?{a}, ?{b})))"
        ));
    }
    sql.push_str(" ORDER BY v.created_at DESC, v.id DESC");
    let needle = q
        .surname
        .as_deref()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let mut ids: Vec<String> = Vec::new();
    {
        let mut st = tx.prepare(&sql)?;
        let mut rows = st.query(rusqlite::params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            if ids.len() >= q.limit {
                break;
            }
            if let Some(n) = &needle {
                let surname: String = r.get(1)?;
                if !surname.to_lowercase().contains(n.as_str()) {
                    continue;
                }
            }
            ids.push(r.get(0)?);
        }
    }
    let mut st = tx.prepare_cached(&format!(
        "SELECT {VISIT_COLUMNS}, COALESCE(v.appeal_id, a.id), a.registration_number, v.sent_at,
                t.ticket, t.visit_id, t.booth_id, t.expires_at, t.used_at
         FROM visits v
         LEFT JOIN appeals a ON a.id = COALESCE(v.appeal_id,
             (SELECT a2.id FROM appeals a2 JOIN tickets t4 ON t4.ticket = a2.ticket
              WHERE t4.visit_id = v.id ORDER BY a2.recorded_at LIMIT 1))
         LEFT JOIN tickets t ON t.ticket = (SELECT t2.ticket FROM tickets t2 WHERE t2.visit_id = v.id
                                            ORDER BY t2.expires_at DESC LIMIT 1)
         WHERE v.id = ?1"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        let mut rows = st.query([id])?;
        let Some(r) = rows.next()? else { continue };
        let raw = visit_raw(r, 0)?;
        let appeal_id: Option<String> = r.get(14)?;
        let registration_number: Option<String> = r.get(15)?;
        let sent_at: Option<String> = r.get(16)?;
        let t_ticket: Option<String> = r.get(17)?;
        let ticket = match t_ticket {
            Some(t) => Some(ticket_from_raw((
                t,
                r.get(18)?,
                r.get(19)?,
                r.get(20)?,
                r.get(21)?,
            ))?),
            None => None,
        };
        out.push(JournalRow {
            visit: visit_from_raw(raw)?,
            ticket,
            appeal_id: appeal_id
                .map(|a| Uuid::parse_str(&a).map_err(|e| bad("visits.appeal_id", e)))
                .transpose()?,
            registration_number,
            sent_at: sent_at
                .map(|s| parse_ts("visits.sent_at", &s))
                .transpose()?,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Accounts, sessions, audit

/// Role of a reception account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Registers visitors, searches the journal.
    Receptionist,
    /// Also exports the journal and reads the audit log.
    Admin,
}

impl Role {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Receptionist => "receptionist",
            Role::Admin => "admin",
        }
    }
    /// Parses stored or typed text.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "receptionist" => Some(Role::Receptionist),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A reception account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceptionUser {
    /// Login.
    pub login: String,
    /// PHC string of the Argon2id hash.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Failed logins since the last success or lockout.
    pub failed_logins: u32,
    /// Locked until this instant.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Creates an account or replaces its password hash and role (and unlocks it).
pub fn upsert_user(
    tx: &Transaction<'_>,
    login: &str,
    password_hash: &str,
    role: Role,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO reception_users (login, password_hash, role) VALUES (?1, ?2, ?3)
         ON CONFLICT(login) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role,
             failed_logins = 0, locked_until = NULL",
        params![login, password_hash, role.as_str()],
    )?;
    Ok(())
}

/// Reads an account.
pub fn get_user(tx: &Transaction<'_>, login: &str) -> Result<Option<ReceptionUser>, StoreError> {
    let raw = tx
        .query_row(
            "SELECT login, password_hash, role, failed_logins, locked_until FROM reception_users WHERE login = ?1",
            [login],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, u32>(3)?, r.get::<_, Option<String>>(4)?)),
        )
        .optional()?;
    raw.map(|(login, password_hash, role, failed_logins, locked)| {
        Ok(ReceptionUser {
            login,
            password_hash,
            role: Role::parse(&role).ok_or_else(|| bad("reception_users.role", role))?,
            failed_logins,
            locked_until: locked
                .map(|l| parse_ts("reception_users.locked_until", &l))
                .transpose()?,
        })
    })
    .transpose()
}

/// Counts a failed login; on the `max_failures`-th failure in a row locks the account until
/// `now + LOGIN_LOCKOUT` and resets the counter. Returns the lock time if it was locked now.
pub fn record_login_failure(
    tx: &Transaction<'_>,
    login: &str,
    now: DateTime<Utc>,
    max_failures: u32,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    tx.execute(
        "UPDATE reception_users SET failed_logins = failed_logins + 1 WHERE login = ?1",
        [login],
    )?;
    let failures: Option<u32> = tx
        .query_row(
            "SELECT failed_logins FROM reception_users WHERE login = ?1",
            [login],
            |r| r.get(0),
        )
        .optional()?;
    match failures {
        Some(n) if n >= max_failures.max(1) => {
            let until = now + LOGIN_LOCKOUT;
            tx.execute(
                "UPDATE reception_users SET failed_logins = 0, locked_until = ?2 WHERE login = ?1",
                params![login, ts(until)],
            )?;
            Ok(Some(until))
        }
        _ => Ok(None),
    }
}

/// Clears the failure counter and any expired lock after a successful login.
pub fn record_login_success(tx: &Transaction<'_>, login: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE reception_users SET failed_logins = 0, locked_until = NULL WHERE login = ?1",
        [login],
    )?;
    Ok(())
}

/// A logged-in session. `id` is whatever the console stores (it stores a hash of the cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceptionSession {
    /// Session id (as stored).
    pub id: String,
    /// Account.
    pub login: String,
    /// Per-session CSRF token.
    pub csrf: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// Stores a new session.
pub fn insert_session(tx: &Transaction<'_>, s: &ReceptionSession) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO reception_sessions (id, login, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![s.id, s.login, s.csrf, ts(s.expires_at)],
    )?;
    Ok(())
}

/// Reads a session and its account's role, if the session exists and has not expired at `now`.
pub fn get_live_session(
    tx: &Transaction<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<(ReceptionSession, Role)>, StoreError> {
    let raw = tx
        .query_row(
            "SELECT s.id, s.login, s.csrf, s.expires_at, u.role FROM reception_sessions s
             JOIN reception_users u ON u.login = s.login WHERE s.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((id, login, csrf, expires, role)) = raw else {
        return Ok(None);
    };
    let expires_at = parse_ts("reception_sessions.expires_at", &expires)?;
    if now >= expires_at {
        return Ok(None);
    }
    let role = Role::parse(&role).ok_or_else(|| bad("reception_users.role", role))?;
    Ok(Some((
        ReceptionSession {
            id,
            login,
            csrf,
            expires_at,
        },
        role,
    )))
}

/// Moves a session's expiry (sliding inactivity timeout).
pub fn touch_session(
    tx: &Transaction<'_>,
    id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE reception_sessions SET expires_at = ?2 WHERE id = ?1",
        params![id, ts(expires_at)],
    )?;
    Ok(())
}

/// Deletes a session (logout).
pub fn delete_session(tx: &Transaction<'_>, id: &str) -> Result<(), StoreError> {
    tx.execute("DELETE FROM reception_sessions WHERE id = ?1", [id])?;
    Ok(())
}

/// Deletes sessions expired at `now`; returns how many.
pub fn purge_expired_sessions(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(tx.execute(
        "DELETE FROM reception_sessions WHERE expires_at <= ?1",
        [ts(now)],
    )?)
}

/// One audit entry: who did what to which object (ids, not personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Login of the receptionist or admin.
    pub actor: String,
    /// Action (`login`, `register_visit`, `view_visit`, `search_journal`, `export_csv`, …).
    pub action: String,
    /// Object: a visit id, a filter summary, a row count.
    pub object: String,
}

/// Appends an audit entry.
pub fn audit(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    object: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, object) VALUES (?1, ?2, ?3, ?4)",
        params![ts(at), actor, action, object],
    )?;
    Ok(())
}

/// The latest `limit` audit entries, newest first.
pub fn recent_audit(tx: &Transaction<'_>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let mut st =
        tx.prepare("SELECT at, actor, action, object FROM audit_log ORDER BY id DESC LIMIT ?1")?;
    let raws = st
        .query_map([limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter()
        .map(|(at, actor, action, object)| {
            Ok(AuditEntry {
                at: parse_ts("audit_log.at", &at)?,
                actor,
                action,
                object,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ident::complete_with_check_digit;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-20T10:00:00Z")
            .expect("ts")
            .with_timezone(&Utc)
    }

    fn visit() -> Visit {
        Visit {
            id: Uuid::now_v7(),
            document_kind: "id_card".into(),
            document_number: "012345678".into(),
            iin: Some(
                complete_with_check_digit("90010140000")
                    .expect("cd")
                    .parse()
                    .expect("iin"),
            ),
            surname: "Қасымқызы".parse().expect("name"),
            name: "Әлия".parse().expect("name"),
            patronymic: None,
            entity: None,
            phone: None,
            email: Some("aliya@mail.kz".parse().expect("email")),
            consent: true,
            created_at: t0(),
            receptionist: "desk1".into(),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open(&dir.path().join("booth.sqlite3")).expect("open");
        (dir, s)
    }

    #[test]
    fn ticket_works_once_for_its_booth_and_prefills() {
        let (_d, mut s) = store();
        let v = visit();
        let t = s
            .write(|tx| {
                insert_visit(tx, &v)?;
                issue_ticket(tx, v.id, Some("B1"), t0(), Duration::minutes(30))
            })
            .expect("issue");
        assert!(is_ticket_shape(&t.ticket));
        let e = redeem_ticket(&mut s, &t.ticket, "B2", t0()).expect_err("other booth");
        assert!(matches!(e, TicketError::WrongBooth), "{e}");
        let p =
            redeem_ticket(&mut s, &t.ticket, "B1", t0() + Duration::minutes(1)).expect("redeem");
        assert_eq!(p.visit_id, v.id);
        assert_eq!(p.surname.as_str(), "Қасымқызы");
        assert_eq!(p.email, v.email);
        let e =
            redeem_ticket(&mut s, &t.ticket, "B1", t0() + Duration::minutes(2)).expect_err("used");
        assert!(matches!(e, TicketError::Used), "{e}");
    }

    #[test]
    fn expired_unknown_malformed_and_rate_limit() {
        let (_d, mut s) = store();
        let v = visit();
        let t = s
            .write(|tx| {
                insert_visit(tx, &v)?;
                issue_ticket(tx, v.id, None, t0(), Duration::minutes(30))
            })
            .expect("issue");
        let e = redeem_ticket(&mut s, &t.ticket, "B1", t0() + Duration::minutes(30))
            .expect_err("expired");
        assert!(matches!(e, TicketError::Expired), "{e}");
        assert!(matches!(
            redeem_ticket(&mut s, "12a456", "B1", t0()),
            Err(TicketError::Malformed)
        ));
        // A new ticket for the same visit; then guesses from booth B9 exhaust the limit.
        let t2 = s
            .write(|tx| {
                issue_ticket(
                    tx,
                    v.id,
                    None,
                    t0() + Duration::minutes(31),
                    Duration::minutes(30),
                )
            })
            .expect("reissue");
        let now = t0() + Duration::minutes(32);
        let mut guesses = 0;
        let mut n = 0u32;
        while guesses < MAX_FAILED_TICKET_ATTEMPTS - 1 {
            let g = format!("{n:06}");
            n += 1;
            if g == t2.ticket || g == t.ticket {
                continue;
            }
            let e = redeem_ticket(&mut s, &g, "B9", now).expect_err("guess");
            assert!(matches!(e, TicketError::Unknown), "{e}");
            guesses += 1;
        }
        // The expired first ticket counts as the fifth failure.
        assert!(matches!(
            redeem_ticket(&mut s, &t.ticket, "B9", now),
            Err(TicketError::Expired)
        ));
        // Now even the right ticket is refused at B9, but another booth may still use it.
        match redeem_ticket(&mut s, &t2.ticket, "B9", now) {
            Err(TicketError::RateLimited { retry_after }) => {
                assert_eq!(retry_after, TICKET_ATTEMPT_WINDOW)
            }
            other => panic!("expected rate limit, got {other:?}"),
        }
        let later = now + TICKET_ATTEMPT_WINDOW + Duration::seconds(1);
        assert_eq!(
            redeem_ticket(&mut s, &t2.ticket, "B9", later)
                .expect("after window")
                .visit_id,
            v.id
        );
    }

    #[test]
    fn link_journal_search_and_sync_marks() {
        let (_d, mut s) = store();
        let v = visit();
        let t = s
            .write(|tx| {
                insert_visit(tx, &v)?;
                issue_ticket(tx, v.id, None, t0(), Duration::minutes(30))
            })
            .expect("issue");
        let unsent = s.write(|tx| unsent_visits(tx, 10)).expect("unsent");
        assert_eq!(unsent.len(), 1);
        s.write(|tx| mark_visit_sent(tx, v.id, t0())).expect("sent");
        let appeal = Uuid::now_v7();
        assert!(
            s.write(|tx| link_visit_to_appeal(tx, v.id, appeal))
                .expect("link")
        );
        assert!(
            !s.write(|tx| link_visit_to_appeal(tx, v.id, Uuid::now_v7()))
                .expect("second link kept first")
        );
        let unsent = s.write(|tx| unsent_visits(tx, 10)).expect("unsent");
        assert_eq!(unsent[0].appeal_id, Some(appeal));
        let q = JournalQuery {
            surname: Some("қасым".into()),
            limit: 10,
            ..Default::default()
        };
        let rows = s.read(|tx| search_journal(tx, &q)).expect("search");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].ticket.as_ref().map(|t| t.ticket.clone()),
            Some(t.ticket.clone())
        );
        assert_eq!(rows[0].appeal_id, Some(appeal));
        let q = JournalQuery {
            ticket: Some(t.ticket.clone()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            s.read(|tx| search_journal(tx, &q)).expect("search").len(),
            1
        );
        let q = JournalQuery {
            surname: Some("Иванов".into()),
            limit: 10,
            ..Default::default()
        };
        assert!(
            s.read(|tx| search_journal(tx, &q))
                .expect("search")
                .is_empty()
        );
        let e = s
            .write(|tx| link_visit_to_appeal(tx, Uuid::now_v7(), appeal))
            .expect_err("no visit");
        assert!(matches!(e, StoreError::NotFound { .. }));
    }

    #[test]
    fn a_visit_linked_while_on_its_way_is_sent_again_with_its_appeal() {
        let (_d, mut s) = store();
        let v = visit();
        s.write(|tx| insert_visit(tx, &v)).expect("insert");
        // The agent reads the visit without a link, then an appeal is linked before the
        // central service answers: that answer must not mark the linked visit sent.
        let read = s.write(|tx| unsent_visits(tx, 10)).expect("unsent");
        assert_eq!(read[0].appeal_id, None);
        let appeal = Uuid::now_v7();
        assert!(
            s.write(|tx| link_visit_to_appeal(tx, v.id, appeal))
                .expect("link")
        );
        assert!(
            !s.write(|tx| mark_visit_sent_as(tx, v.id, None, t0()))
                .expect("mark")
        );
        let again = s.write(|tx| unsent_visits(tx, 10)).expect("unsent");
        assert_eq!(again[0].appeal_id, Some(appeal));
        assert!(
            s.write(|tx| mark_visit_sent_as(tx, v.id, Some(appeal), t0()))
                .expect("mark")
        );
        assert!(
            s.write(|tx| unsent_visits(tx, 10))
                .expect("unsent")
                .is_empty()
        );
    }

    #[test]
    fn purge_keeps_unsent_and_recent_visits() {
        let (_d, mut s) = store();
        let (old_sent, old_unsent, recent) = (
            visit(),
            visit(),
            Visit {
                created_at: t0() + Duration::days(400),
                ..visit()
            },
        );
        s.write(|tx| {
            for v in [&old_sent, &old_unsent, &recent] {
                insert_visit(tx, v)?;
                issue_ticket(tx, v.id, None, v.created_at, Duration::minutes(30))?;
            }
            mark_visit_sent(tx, old_sent.id, t0())?;
            mark_visit_sent(tx, recent.id, t0() + Duration::days(400))
        })
        .expect("fill");
        let now = t0() + Duration::days(401);
        let removed = s
            .write(|tx| purge_journal(tx, now - Duration::days(365), now))
            .expect("purge");
        assert_eq!(removed, 1);
        s.read(|tx| {
            assert!(get_visit(tx, old_sent.id)?.is_none());
            assert!(latest_ticket_of_visit(tx, old_sent.id)?.is_none());
            assert!(
                get_visit(tx, old_unsent.id)?.is_some(),
                "unsent visits are never purged"
            );
            assert!(get_visit(tx, recent.id)?.is_some());
            Ok::<_, StoreError>(())
        })
        .expect("check");
    }

    #[test]
    fn lockout_after_max_failures() {
        let (_d, mut s) = store();
        s.write(|tx| upsert_user(tx, "desk1", "$argon2id$x", Role::Receptionist))
            .expect("user");
        for _ in 0..2 {
            assert_eq!(
                s.write(|tx| record_login_failure(tx, "desk1", t0(), 3))
                    .expect("fail"),
                None
            );
        }
        assert_eq!(
            s.write(|tx| record_login_failure(tx, "desk1", t0(), 3))
                .expect("fail"),
            Some(t0() + LOGIN_LOCKOUT)
        );
        let u = s
            .read(|tx| get_user(tx, "desk1"))
            .expect("get")
            .expect("exists");
        assert_eq!(u.locked_until, Some(t0() + LOGIN_LOCKOUT));
        assert_eq!(u.failed_logins, 0);
    }
}
