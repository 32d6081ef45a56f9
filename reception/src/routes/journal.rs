//! The journal "Registration of citizens who filed a video appeal" (003 p.22): search by date,
//! surname, ticket and appeal registration number; CSV export for the branch admin only; the
//! audit log page. Every search, view and export is written to the audit log.

use axum::extract::{Extension, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use booth_core::Iin;
use booth_core::store::reception::{self as rs, JournalQuery, JournalRow};
use chrono::{NaiveDate, TimeZone};
use serde::Deserialize;

use crate::html::{attr, banner, esc, page, url_encode};
use crate::i18n::t;
use crate::routes::visits::{full_name, local_time, ticket_state_key};
use crate::session::Ctx;
use crate::state::{AppError, AppState};

/// Most rows a page or an export shows.
pub const MAX_ROWS: usize = 1000;

/// Journal filters as typed.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct JournalParams {
    date: String,
    surname: String,
    ticket: String,
    regno: String,
}

impl JournalParams {
    fn is_empty(&self) -> bool {
        self.date.is_empty()
            && self.surname.is_empty()
            && self.ticket.is_empty()
            && self.regno.is_empty()
    }
    fn query_string(&self) -> String {
        format!(
            "date={}&surname={}&ticket={}&regno={}",
            url_encode(&self.date),
            url_encode(&self.surname),
            url_encode(&self.ticket),
            url_encode(&self.regno)
        )
    }
    /// Filter summary for the audit log: which filters, not their personal values.
    fn audit_summary(&self, rows: usize) -> String {
        let mark = |s: &str| if s.trim().is_empty() { "-" } else { "*" };
        format!(
            "date={} surname={} ticket={} regno={} rows={rows}",
            if self.date.is_empty() {
                "-"
            } else {
                self.date.as_str()
            },
            mark(&self.surname),
            mark(&self.ticket),
            if self.regno.is_empty() {
                "-"
            } else {
                self.regno.as_str()
            }
        )
    }
}

fn to_query(app: &AppState, p: &JournalParams) -> Result<JournalQuery, &'static str> {
    let mut q = JournalQuery {
        limit: MAX_ROWS,
        ..Default::default()
    };
    if !p.date.trim().is_empty() {
        let day =
            NaiveDate::parse_from_str(p.date.trim(), "%Y-%m-%d").map_err(|_| "bad-request")?;
        let start = day.and_hms_opt(0, 0, 0).ok_or("bad-request")?;
        let start = app
            .offset()
            .from_local_datetime(&start)
            .single()
            .ok_or("bad-request")?
            .with_timezone(&chrono::Utc);
        q.from = Some(start);
        q.until = Some(start + chrono::Duration::days(1));
    }
    let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    q.surname = nonempty(&p.surname);
    q.ticket = nonempty(&p.ticket);
    q.registration_number = nonempty(&p.regno);
    Ok(q)
}

fn search_form(ctx: &Ctx, p: &JournalParams, error: Option<&str>) -> String {
    let lang = ctx.lang;
    let field = |name: &str, key: &str, ty: &str, value: &str, extra: &str| {
        format!(
            "<div class=\"field\"><label for=\"q-{name}\">{}</label><input type=\"{ty}\" id=\"q-{name}\" name=\"{name}\" value=\"{}\" {extra}></div>",
            esc(t(lang, key)),
            attr(value)
        )
    };
    format!(
        "<form method=\"get\" action=\"/journal\" class=\"search\" role=\"search\">{}{}{}{}<button type=\"submit\" id=\"search-submit\">{}</button></form>{}",
        field("date", "date", "date", &p.date, ""),
        field("surname", "surname", "search", &p.surname, "autofocus"),
        field(
            "ticket",
            "ticket",
            "search",
            &p.ticket,
            "inputmode=\"numeric\" maxlength=\"6\""
        ),
        field("regno", "registration-number", "search", &p.regno, ""),
        esc(t(lang, "search")),
        error
            .map(|k| banner("error", t(lang, k)))
            .unwrap_or_default(),
    )
}

fn appeal_cell(ctx: &Ctx, r: &JournalRow) -> String {
    match (&r.registration_number, &r.appeal_id) {
        (Some(n), _) => format!("<span class=\"tag ok\">{}</span>", esc(n)),
        (None, Some(a)) => format!("<span class=\"tag ok\">{}</span>", esc(&a.to_string())),
        (None, None) => format!(
            "<span class=\"tag\">{}</span>",
            esc(t(ctx.lang, "appeal-none"))
        ),
    }
}

/// `GET /journal`.
pub async fn journal(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(mut p): Query<JournalParams>,
) -> Result<Response, AppError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(StatusCode::FORBIDDEN.into_response());
    };
    let lang = ctx.lang;
    if p.is_empty() {
        p.date = app
            .clock
            .now()
            .with_timezone(&app.offset())
            .format("%Y-%m-%d")
            .to_string();
    }
    let q = match to_query(&app, &p) {
        Ok(q) => q,
        Err(k) => {
            let html = page(&ctx, "journal-title", &search_form(&ctx, &p, Some(k)));
            return Ok((StatusCode::BAD_REQUEST, Html(html)).into_response());
        }
    };
    let now = app.clock.now();
    let (login, p2) = (user.login.clone(), p.clone());
    let rows = app
        .db
        .write(move |tx| {
            let rows = rs::search_journal(tx, &q)?;
            rs::audit(
                tx,
                now,
                &login,
                "search_journal",
                &p2.audit_summary(rows.len()),
            )?;
            Ok(rows)
        })
        .await?;
    let mut b = search_form(&ctx, &p, None);
    if user.is_admin() {
        b.push_str(&format!(
            "<p><a class=\"button secondary\" id=\"export-csv\" href=\"/journal.csv?{}\">{}</a></p>",
            attr(&p.query_string()),
            esc(t(lang, "export-csv"))
        ));
    }
    if rows.is_empty() {
        b.push_str(&format!(
            "<p id=\"no-rows\">{}</p>",
            esc(t(lang, "no-rows"))
        ));
    } else {
        b.push_str(&format!(
            "<p>{} {}</p>",
            esc(t(lang, "rows-shown")),
            rows.len()
        ));
        b.push_str("<table id=\"journal\"><thead><tr>");
        for k in [
            "col-time",
            "col-visitor",
            "col-document",
            "iin",
            "ticket",
            "col-appeal",
            "col-central",
            "col-receptionist",
        ] {
            b.push_str(&format!("<th scope=\"col\">{}</th>", esc(t(lang, k))));
        }
        b.push_str("</tr></thead><tbody>");
        for r in &rows {
            let v = &r.visit;
            let entity = v
                .entity
                .as_ref()
                .map(|(bin, n)| {
                    format!(
                        "<br><span class=\"hint\">{} ({} {})</span>",
                        esc(n.as_str()),
                        esc(t(lang, "bin")),
                        esc(bin.as_str())
                    )
                })
                .unwrap_or_default();
            let ticket = r
                .ticket
                .as_ref()
                .map(|tk| {
                    format!(
                        "{} <span class=\"tag\">{}</span>",
                        esc(&tk.ticket),
                        esc(t(lang, ticket_state_key(tk, now)))
                    )
                })
                .unwrap_or_default();
            b.push_str(&format!(
                "<tr><td>{}</td><td><a href=\"/visits/{}\">{}</a>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&local_time(&app, v.created_at)),
                v.id,
                esc(&full_name(v)),
                entity,
                esc(t(lang, &format!("doc-{}", v.document_kind))),
                esc(&v.document_number),
                esc(&v.iin.as_ref().map(Iin::masked).unwrap_or_else(|| "—".into())),
                ticket,
                appeal_cell(&ctx, r),
                esc(t(lang, if r.sent_at.is_some() { "sent-central" } else { "pending-central" })),
                esc(&v.receptionist),
            ));
        }
        b.push_str("</tbody></table>");
    }
    Ok(Html(page(&ctx, "journal-title", &b)).into_response())
}

/// A CSV cell: quoted, quotes doubled, and a leading `= + - @` neutralised so a spreadsheet
/// never runs it as a formula.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `GET /journal.csv`: admin only; the export and every refusal are audited.
pub async fn export_csv(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(p): Query<JournalParams>,
) -> Result<Response, AppError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(StatusCode::FORBIDDEN.into_response());
    };
    let now = app.clock.now();
    if !user.is_admin() {
        let login = user.login.clone();
        app.db
            .write(move |tx| rs::audit(tx, now, &login, "export_denied", "journal.csv"))
            .await?;
        tracing::warn!(actor = %user.login, "journal export refused: not an admin");
        let html = page(
            &ctx,
            "forbidden",
            &banner("error", t(ctx.lang, "forbidden-export")),
        );
        return Ok((StatusCode::FORBIDDEN, Html(html)).into_response());
    }
    let q = match to_query(&app, &p) {
        Ok(q) => q,
        Err(_) => {
            return Ok(
                (StatusCode::BAD_REQUEST, Html(page(&ctx, "bad-request", ""))).into_response(),
            );
        }
    };
    let (login, p2) = (user.login.clone(), p.clone());
    let rows = app
        .db
        .write(move |tx| {
            let rows = rs::search_journal(tx, &q)?;
            rs::audit(tx, now, &login, "export_csv", &p2.audit_summary(rows.len()))?;
            Ok(rows)
        })
        .await?;
    tracing::info!(actor = %user.login, rows = rows.len(), "journal exported");
    // UTF-8 BOM so spreadsheet programs read Kazakh letters correctly.
    let mut out = String::from("\u{feff}");
    out.push_str("created_at,surname,name,patronymic,document_kind,document_number,iin_masked,entity_bin,entity_name,phone,email,consent,ticket,ticket_state,appeal,receptionist,sent_to_central\r\n");
    for r in &rows {
        let v = &r.visit;
        let cells = [
            local_time(&app, v.created_at),
            v.surname.to_string(),
            v.name.to_string(),
            v.patronymic
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            v.document_kind.clone(),
            v.document_number.clone(),
            v.iin.as_ref().map(Iin::masked).unwrap_or_default(),
            v.entity
                .as_ref()
                .map(|(b, _)| b.to_string())
                .unwrap_or_default(),
            v.entity
                .as_ref()
                .map(|(_, n)| n.to_string())
                .unwrap_or_default(),
            v.phone.clone().unwrap_or_default(),
            v.email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            v.consent.to_string(),
            r.ticket
                .as_ref()
                .map(|t| t.ticket.clone())
                .unwrap_or_default(),
            r.ticket
                .as_ref()
                .map(|tk| {
                    ticket_state_key(tk, now)
                        .trim_start_matches("ticket-")
                        .to_owned()
                })
                .unwrap_or_default(),
            r.registration_number
                .clone()
                .or(r.appeal_id.map(|a| a.to_string()))
                .unwrap_or_default(),
            v.receptionist.clone(),
            r.sent_at.is_some().to_string(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    let name = format!(
        "attachment; filename=\"journal-{}.csv\"",
        now.with_timezone(&app.offset()).format("%Y%m%d-%H%M")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response())
}

/// `GET /audit`: the latest audit entries, admin only.
pub async fn audit_page(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, AppError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(StatusCode::FORBIDDEN.into_response());
    };
    if !user.is_admin() {
        return Ok((
            StatusCode::FORBIDDEN,
            Html(page(
                &ctx,
                "forbidden",
                &banner("error", t(ctx.lang, "forbidden")),
            )),
        )
            .into_response());
    }
    let entries = app.db.read(|tx| rs::recent_audit(tx, 300)).await?;
    let lang = ctx.lang;
    let mut b = String::from("<table id=\"audit\"><thead><tr>");
    for k in ["audit-at", "audit-actor", "audit-action", "audit-object"] {
        b.push_str(&format!("<th scope=\"col\">{}</th>", esc(t(lang, k))));
    }
    b.push_str("</tr></thead><tbody>");
    for e in entries {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&local_time(&app, e.at)),
            esc(&e.actor),
            esc(&e.action),
            esc(&e.object)
        ));
    }
    b.push_str("</tbody></table>");
    Ok(Html(page(&ctx, "nav-audit", &b)).into_response())
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("Қасымқызы"), "\"Қасымқызы\"");
    }
}
