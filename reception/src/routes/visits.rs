//! Registering a visit (003 p.22), issuing its booth ticket, the printable slip and the visit
//! page.
//!
//! Every typed value is parsed by booth-core's newtypes (`Iin`, `Bin`, `PersonName`,
//! `LegalEntityName`, `Email`); a refusal is shown next to its field in the receptionist's
//! language, with the typed text kept (escaped) so nothing has to be typed twice.

use axum::Form;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use booth_core::store::reception::{self as rs, Ticket, TicketState};
use booth_core::{Bin, Email, Iin, Language, LegalEntityName, PersonName, Visit};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::html::{attr, banner, csrf_field, esc, page};
use crate::i18n::t;
use crate::session::{Ctx, User};
use crate::state::{AppError, AppState};

/// ID document kinds the form offers (stored as these codes).
pub const DOCUMENT_KINDS: [&str; 4] = [
    "id_card",
    "passport",
    "residence_permit",
    "foreign_passport",
];

/// The visit form as typed (every field optional so a missing one is an error next to it).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct VisitForm {
    document_kind: String,
    document_number: String,
    iin: String,
    applicant_kind: String,
    surname: String,
    name: String,
    patronymic: String,
    bin: String,
    entity_name: String,
    phone: String,
    email: String,
    consent: String,
    booth: String,
}

/// A form that passed every check.
#[derive(Debug, Clone)]
pub struct ValidVisit {
    document_kind: String,
    document_number: String,
    iin: Option<Iin>,
    surname: PersonName,
    name: PersonName,
    patronymic: Option<PersonName>,
    entity: Option<(Bin, LegalEntityName)>,
    phone: Option<String>,
    email: Option<Email>,
    booth: Option<String>,
}

/// Field name → translation key of its error.
pub type FieldErrors = Vec<(&'static str, &'static str)>;

fn phone(s: &str) -> Result<Option<String>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let ok_chars = s.char_indices().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')') || (c == '+' && i == 0)
    });
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if ok_chars && (10..=15).contains(&digits) {
        Ok(Some(s.to_owned()))
    } else {
        Err("error-phone")
    }
}

fn document_number(s: &str) -> Result<String, &'static str> {
    let n: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if (4..=20).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(n)
    } else {
        Err("error-doc-number")
    }
}

/// Checks the form against booth-core's rules. `booth_id` is the only booth a ticket may be
/// bound to besides "any booth of the branch".
pub fn validate(f: &VisitForm, booth_id: &str) -> Result<ValidVisit, FieldErrors> {
    let mut errs: FieldErrors = Vec::new();
    let kind = f.document_kind.trim();
    if !DOCUMENT_KINDS.contains(&kind) {
        errs.push(("document_kind", "error-doc-kind"));
    }
    let document_number = document_number(&f.document_number)
        .map_err(|k| errs.push(("document_number", k)))
        .ok();
    let iin = if f.iin.trim().is_empty() && kind == "foreign_passport" {
        None
    } else {
        f.iin
            .parse::<Iin>()
            .map_err(|e| errs.push(("iin", e.message_key())))
            .ok()
    };
    let surname = f
        .surname
        .parse::<PersonName>()
        .map_err(|e| errs.push(("surname", e.message_key())))
        .ok();
    let name = f
        .name
        .parse::<PersonName>()
        .map_err(|e| errs.push(("name", e.message_key())))
        .ok();
    let patronymic = if f.patronymic.trim().is_empty() {
        None
    } else {
        f.patronymic
            .parse::<PersonName>()
            .map_err(|e| errs.push(("patronymic", e.message_key())))
            .ok()
    };
    let entity = match f.applicant_kind.as_str() {
        "individual" => None,
        "entity" => {
            let bin = f
                .bin
                .parse::<Bin>()
                .map_err(|e| errs.push(("bin", e.message_key())))
                .ok();
            let en = f
                .entity_name
                .parse::<LegalEntityName>()
                .map_err(|e| errs.push(("entity_name", e.message_key())))
                .ok();
            bin.zip(en)
        }
        _ => {
            errs.push(("applicant_kind", "error-applicant-kind"));
            None
        }
    };
    let phone = phone(&f.phone)
        .map_err(|k| errs.push(("phone", k)))
        .ok()
        .flatten();
    let email = if f.email.trim().is_empty() {
        None
    } else {
        f.email
            .parse::<Email>()
            .map_err(|e| errs.push(("email", e.message_key())))
            .ok()
    };
    if f.consent != "yes" {
        errs.push(("consent", "error-consent-required"));
    }
    let booth = match f.booth.as_str() {
        "" | "any" => None,
        b if b == booth_id => Some(b.to_owned()),
        _ => {
            errs.push(("booth", "error-booth"));
            None
        }
    };
    match (errs.is_empty(), document_number, surname, name) {
        (true, Some(document_number), Some(surname), Some(name)) => Ok(ValidVisit {
            document_kind: kind.to_owned(),
            document_number,
            iin,
            surname,
            name,
            patronymic,
            entity,
            phone,
            email,
            booth,
        }),
        _ => Err(errs),
    }
}

/// Translation key of a field's label (for the error summary).
fn label_key(field: &str) -> &'static str {
    match field {
        "document_kind" => "doc-kind",
        "document_number" => "doc-number",
        "iin" => "iin",
        "applicant_kind" => "applicant-kind",
        "surname" => "surname",
        "name" => "name",
        "patronymic" => "patronymic",
        "bin" => "bin",
        "entity_name" => "entity-name",
        "phone" => "phone",
        "email" => "email",
        "consent" => "fs-consent",
        _ => "booth",
    }
}

/// Whether `field` is the first one in error (it gets the keyboard focus).
fn first_error(errs: &FieldErrors, field: &str) -> bool {
    errs.first().is_some_and(|(f, _)| *f == field)
}

fn err_of(errs: &FieldErrors, field: &str) -> Option<&'static str> {
    errs.iter().find(|(f, _)| *f == field).map(|(_, k)| *k)
}

/// One labelled input with its error below it (linked by `aria-describedby`).
fn text_field(
    lang: Language,
    errs: &FieldErrors,
    name: &str,
    label_key: &str,
    value: &str,
    extra: &str,
    hint: Option<&str>,
) -> String {
    let err = err_of(errs, name);
    let mut described = Vec::new();
    let hint_html = hint
        .map(|h| {
            described.push(format!("h-{name}"));
            format!(
                "<span class=\"hint\" id=\"h-{name}\">{}</span>",
                esc(t(lang, h))
            )
        })
        .unwrap_or_default();
    let err_html = err
        .map(|k| {
            described.push(format!("e-{name}"));
            format!(
                "<span class=\"error\" id=\"e-{name}\">{}</span>",
                esc(t(lang, k))
            )
        })
        .unwrap_or_default();
    format!(
        "<div class=\"field{inv}\"><label for=\"f-{name}\">{label}</label>\
         <input type=\"text\" id=\"f-{name}\" name=\"{name}\" value=\"{value}\"{aria}{desc}{focus} {extra}>{hint_html}{err_html}</div>",
        focus = if first_error(errs, name) {
            " autofocus"
        } else {
            ""
        },
        inv = if err.is_some() { " invalid" } else { "" },
        label = esc(t(lang, label_key)),
        value = attr(value),
        aria = if err.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        },
        desc = if described.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"{}\"", described.join(" "))
        },
    )
}

fn error_line(lang: Language, errs: &FieldErrors, field: &str) -> String {
    err_of(errs, field)
        .map(|k| {
            format!(
                "<span class=\"error\" id=\"e-{field}\">{}</span>",
                esc(t(lang, k))
            )
        })
        .unwrap_or_default()
}

fn booth_select(lang: Language, booth_id: &str, selected: &str) -> String {
    format!(
        "<select id=\"f-booth\" name=\"booth\"><option value=\"any\"{}>{}</option><option value=\"{}\"{}>{} {}</option></select>",
        if selected != booth_id {
            " selected"
        } else {
            ""
        },
        esc(t(lang, "booth-any")),
        attr(booth_id),
        if selected == booth_id {
            " selected"
        } else {
            ""
        },
        esc(t(lang, "booth")),
        esc(booth_id),
    )
}

fn render_form(
    app: &AppState,
    ctx: &Ctx,
    user: &User,
    f: &VisitForm,
    errs: &FieldErrors,
) -> String {
    let lang = ctx.lang;
    let mut b = String::new();
    if !errs.is_empty() {
        b.push_str(&format!(
            "<div class=\"banner error\" role=\"alert\"><p>{}</p><ul>",
            esc(t(lang, "form-has-errors"))
        ));
        for (field, key) in errs {
            b.push_str(&format!(
                "<li><a href=\"#f-{field}\">{}: {}</a></li>",
                esc(t(lang, label_key(field))),
                esc(t(lang, key))
            ));
        }
        b.push_str("</ul></div>");
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/visits\" novalidate>{}",
        csrf_field(&user.csrf)
    ));

    // Identity document.
    let kind = if f.document_kind.is_empty() {
        "id_card"
    } else {
        f.document_kind.as_str()
    };
    let mut opts = String::new();
    for k in DOCUMENT_KINDS {
        opts.push_str(&format!(
            "<option value=\"{k}\"{}>{}</option>",
            if k == kind { " selected" } else { "" },
            esc(t(lang, &format!("doc-{k}")))
        ));
    }
    b.push_str(&format!(
        "<fieldset><legend>{}</legend><div class=\"row\"><div class=\"field{}\"><label for=\"f-document_kind\">{}</label>\
         <select id=\"f-document_kind\" name=\"document_kind\"{}>{opts}</select>{}</div>{}{}</div></fieldset>",
        esc(t(lang, "fs-document")),
        if err_of(errs, "document_kind").is_some() { " invalid" } else { "" },
        esc(t(lang, "doc-kind")),
        if errs.is_empty() || first_error(errs, "document_kind") { " autofocus" } else { "" },
        error_line(lang, errs, "document_kind"),
        text_field(lang, errs, "document_number", "doc-number", &f.document_number, "autocomplete=\"off\" maxlength=\"40\"", None),
        text_field(lang, errs, "iin", "iin", &f.iin, "inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"20\"", Some("iin-hint")),
    ));

    // Visitor.
    let entity = f.applicant_kind == "entity";
    b.push_str(&format!(
        "<fieldset><legend>{}</legend><div class=\"field radios{}\" role=\"radiogroup\" aria-label=\"{}\">\
         <span><label><input type=\"radio\" name=\"applicant_kind\" value=\"individual\" id=\"f-applicant_kind\"{}> {}</label>\
         <label><input type=\"radio\" name=\"applicant_kind\" value=\"entity\" id=\"f-applicant_kind-entity\"{}> {}</label></span>{}</div>\
         <div class=\"row\">{}{}{}</div></fieldset>",
        esc(t(lang, "fs-person")),
        if err_of(errs, "applicant_kind").is_some() { " invalid" } else { "" },
        attr(t(lang, "applicant-kind")),
        if entity { "" } else { " checked" },
        esc(t(lang, "kind-individual")),
        if entity { " checked" } else { "" },
        esc(t(lang, "kind-entity")),
        error_line(lang, errs, "applicant_kind"),
        text_field(lang, errs, "surname", "surname", &f.surname, "autocomplete=\"off\" maxlength=\"60\"", None),
        text_field(lang, errs, "name", "name", &f.name, "autocomplete=\"off\" maxlength=\"60\"", None),
        text_field(lang, errs, "patronymic", "patronymic", &f.patronymic, "autocomplete=\"off\" maxlength=\"60\"", None),
    ));

    // Legal entity.
    b.push_str(&format!(
        "<fieldset><legend>{}</legend><div class=\"row\">{}{}</div></fieldset>",
        esc(t(lang, "fs-entity")),
        text_field(
            lang,
            errs,
            "bin",
            "bin",
            &f.bin,
            "inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"20\"",
            None
        ),
        text_field(
            lang,
            errs,
            "entity_name",
            "entity-name",
            &f.entity_name,
            "autocomplete=\"off\" maxlength=\"200\"",
            None
        ),
    ));

    // Contacts.
    b.push_str(&format!(
        "<fieldset><legend>{}</legend><div class=\"row\">{}{}</div></fieldset>",
        esc(t(lang, "fs-contacts")),
        text_field(
            lang,
            errs,
            "phone",
            "phone",
            &f.phone,
            "inputmode=\"tel\" autocomplete=\"off\" maxlength=\"30\"",
            None
        ),
        text_field(
            lang,
            errs,
            "email",
            "email",
            &f.email,
            "inputmode=\"email\" autocomplete=\"off\" maxlength=\"254\"",
            None
        ),
    ));

    // Consent and booth.
    b.push_str(&format!(
        "<fieldset><legend>{}</legend><div class=\"field check{}\"><label><input type=\"checkbox\" id=\"f-consent\" name=\"consent\" value=\"yes\"{}{}> {}</label>{}</div>\
         <div class=\"field{}\"><label for=\"f-booth\">{}</label>{}{}</div></fieldset>",
        esc(t(lang, "fs-consent")),
        if err_of(errs, "consent").is_some() { " invalid" } else { "" },
        if f.consent == "yes" { " checked" } else { "" },
        if first_error(errs, "consent") {
            " aria-invalid=\"true\" aria-describedby=\"e-consent\" autofocus"
        } else if err_of(errs, "consent").is_some() {
            " aria-invalid=\"true\" aria-describedby=\"e-consent\""
        } else {
            ""
        },
        esc(t(lang, "consent")),
        error_line(lang, errs, "consent"),
        if err_of(errs, "booth").is_some() { " invalid" } else { "" },
        esc(t(lang, "booth")),
        booth_select(lang, &app.cfg.booth.id, &f.booth),
        error_line(lang, errs, "booth"),
    ));
    b.push_str(&format!(
        "<button type=\"submit\" id=\"submit-visit\">{}</button></form>",
        esc(t(lang, "submit-visit"))
    ));
    page(ctx, "visit-title", &b)
}

fn user_of(ctx: &Ctx) -> Result<&User, Box<Response>> {
    // The guard sends signed-out requests to /login before they reach a handler.
    ctx.user
        .as_ref()
        .ok_or_else(|| Box::new(Redirect::to("/login").into_response()))
}

/// `GET /visits/new`.
pub async fn new_visit(State(app): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    let user = match user_of(&ctx) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    Html(render_form(
        &app,
        &ctx,
        user,
        &VisitForm::default(),
        &Vec::new(),
    ))
    .into_response()
}

/// `POST /visits`: validates, writes the visit and a fresh ticket in one transaction, audits,
/// and goes to the printable slip.
pub async fn create_visit(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<VisitForm>,
) -> Result<Response, AppError> {
    let user = match user_of(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return Ok(*r),
    };
    let v = match validate(&form, &app.cfg.booth.id) {
        Ok(v) => v,
        Err(errs) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(render_form(&app, &ctx, &user, &form, &errs)),
            )
                .into_response());
        }
    };
    let now = app.clock.now();
    let visit = Visit {
        id: booth_core::new_id(),
        document_kind: v.document_kind,
        document_number: v.document_number,
        iin: v.iin,
        surname: v.surname,
        name: v.name,
        patronymic: v.patronymic,
        entity: v.entity,
        phone: v.phone,
        email: v.email,
        consent: true,
        created_at: now,
        receptionist: user.login.clone(),
    };
    let id = visit.id;
    let ttl = chrono::Duration::minutes(i64::from(app.cfg.reception.ticket_ttl_minutes.max(1)));
    let login = user.login.clone();
    app.db
        .write(move |tx| {
            rs::insert_visit(tx, &visit)?;
            rs::issue_ticket(tx, visit.id, v.booth.as_deref(), now, ttl)?;
            rs::audit(tx, now, &login, "register_visit", &visit.id.to_string())?;
            rs::audit(tx, now, &login, "issue_ticket", &visit.id.to_string())
        })
        .await?;
    tracing::info!(visit = %id, actor = %user.login, "visit registered and ticket issued");
    Ok(Redirect::to(&format!("/visits/{id}/slip")).into_response())
}

fn parse_id(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

fn not_found(ctx: &Ctx) -> Response {
    (StatusCode::NOT_FOUND, Html(page(ctx, "not-found", ""))).into_response()
}

/// Local date and time for display.
pub fn local_time(app: &AppState, at: DateTime<Utc>) -> String {
    at.with_timezone(&app.offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Full name of a visit for pages.
pub fn full_name(v: &Visit) -> String {
    let mut s = format!("{} {}", v.surname, v.name);
    if let Some(p) = &v.patronymic {
        s.push(' ');
        s.push_str(p.as_str());
    }
    s
}

/// Translation key of a ticket's state.
pub fn ticket_state_key(t: &Ticket, now: DateTime<Utc>) -> &'static str {
    match t.state(now) {
        TicketState::Active => "ticket-active",
        TicketState::Used => "ticket-used",
        TicketState::Expired => "ticket-expired",
    }
}

async fn load(
    app: &AppState,
    id: Uuid,
    actor: &str,
    action: &'static str,
) -> Result<Option<(Visit, Option<Ticket>, Option<String>)>, AppError> {
    let now = app.clock.now();
    let actor = actor.to_owned();
    app.db
        .write(move |tx| {
            let Some(v) = rs::get_visit(tx, id)? else {
                return Ok(None);
            };
            let ticket = rs::latest_ticket_of_visit(tx, id)?;
            let q = rs::JournalQuery {
                ticket: ticket.as_ref().map(|t| t.ticket.clone()),
                limit: 1,
                ..Default::default()
            };
            let regno = if ticket.is_some() {
                rs::search_journal(tx, &q)?
                    .into_iter()
                    .next()
                    .and_then(|r| r.registration_number.or(r.appeal_id.map(|a| a.to_string())))
            } else {
                None
            };
            rs::audit(tx, now, &actor, action, &id.to_string())?;
            Ok(Some((v, ticket, regno)))
        })
        .await
}

fn reissue_form(app: &AppState, ctx: &Ctx, user: &User, id: Uuid) -> String {
    format!(
        "<form method=\"post\" action=\"/visits/{id}/ticket\" class=\"noprint\">{}<label for=\"f-booth\">{}</label> {} <button type=\"submit\" class=\"secondary\">{}</button></form>",
        csrf_field(&user.csrf),
        esc(t(ctx.lang, "booth")),
        booth_select(ctx.lang, &app.cfg.booth.id, ""),
        esc(t(ctx.lang, "reissue-ticket")),
    )
}

/// `GET /visits/{id}/slip`: the printable ticket slip (CSS `@media print` for an 80 mm printer).
pub async fn slip(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = match user_of(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return Ok(*r),
    };
    let Some(id) = parse_id(&id) else {
        return Ok(not_found(&ctx));
    };
    let Some((v, ticket, _)) = load(&app, id, &user.login, "view_slip").await? else {
        return Ok(not_found(&ctx));
    };
    let lang = ctx.lang;
    let now = app.clock.now();
    let body = match ticket.filter(|t| t.state(now) == TicketState::Active) {
        Some(tk) => format!(
            "<section class=\"slip\" aria-label=\"{title}\"><p><b>{branch}</b></p><p>{title}</p>\
             <p class=\"ticket\" id=\"ticket\">{ticket}</p>\
             <p>{until_l}: <b>{until}</b></p><p>{booth_l}: {booth}</p><p>{visitor}</p><p class=\"hint\">{once}</p></section>\
             <p class=\"noprint hint\">{print}</p><p class=\"noprint\"><a href=\"/visits/{id}\">{detail}</a> · <a href=\"/visits/new\">{new}</a></p>",
            title = esc(t(lang, "slip-title")),
            branch = esc(&app.cfg.booth.branch_name),
            ticket = esc(&tk.ticket),
            until_l = esc(t(lang, "slip-valid-until")),
            until = esc(&local_time(&app, tk.expires_at)),
            booth_l = esc(t(lang, "booth")),
            booth = esc(tk.booth_id.as_deref().unwrap_or(t(lang, "booth-any"))),
            visitor = esc(&format!("{} {}", v.surname, v.name.initial())),
            once = esc(t(lang, "slip-once")),
            print = esc(t(lang, "slip-print")),
            detail = esc(t(lang, "visit-detail-title")),
            new = esc(t(lang, "nav-new-visit")),
        ),
        None => format!(
            "{}{}",
            banner("info", t(lang, "slip-no-ticket")),
            reissue_form(&app, &ctx, &user, id)
        ),
    };
    Ok(Html(page(&ctx, "slip-title", &body)).into_response())
}

/// `GET /visits/{id}`: what the journal knows about one visit (IIN masked); audited.
pub async fn visit_page(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = match user_of(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return Ok(*r),
    };
    let Some(id) = parse_id(&id) else {
        return Ok(not_found(&ctx));
    };
    let Some((v, ticket, appeal)) = load(&app, id, &user.login, "view_visit").await? else {
        return Ok(not_found(&ctx));
    };
    let lang = ctx.lang;
    let now = app.clock.now();
    let fact = |k: &str, val: &str| format!("<dt>{}</dt><dd>{}</dd>", esc(t(lang, k)), esc(val));
    let mut b = String::from("<dl class=\"facts\">");
    b.push_str(&fact("col-time", &local_time(&app, v.created_at)));
    b.push_str(&fact("col-visitor", &full_name(&v)));
    b.push_str(&fact(
        "col-document",
        &format!(
            "{} {}",
            t(lang, &format!("doc-{}", v.document_kind)),
            v.document_number
        ),
    ));
    b.push_str(&fact(
        "iin",
        &v.iin
            .as_ref()
            .map(Iin::masked)
            .unwrap_or_else(|| "—".into()),
    ));
    if let Some((bin, name)) = &v.entity {
        b.push_str(&fact(
            "entity-name",
            &format!("{name} ({} {bin})", t(lang, "bin")),
        ));
    }
    if let Some(p) = &v.phone {
        b.push_str(&fact("phone", p));
    }
    if let Some(e) = &v.email {
        b.push_str(&fact("email", e.as_str()));
    }
    b.push_str(&fact(
        "consent",
        t(lang, if v.consent { "yes" } else { "no" }),
    ));
    b.push_str(&fact("registered-by", &v.receptionist));
    if let Some(tk) = &ticket {
        b.push_str(&fact(
            "ticket",
            &format!("{} ({})", tk.ticket, t(lang, ticket_state_key(tk, now))),
        ));
    }
    b.push_str(&fact(
        "col-appeal",
        appeal.as_deref().unwrap_or(t(lang, "appeal-none")),
    ));
    b.push_str("</dl>");
    if ticket
        .as_ref()
        .is_some_and(|tk| tk.state(now) == TicketState::Active)
    {
        b.push_str(&format!(
            "<p><a class=\"button\" href=\"/visits/{id}/slip\">{}</a></p>",
            esc(t(lang, "open-slip"))
        ));
    } else if appeal.is_none() {
        b.push_str(&reissue_form(&app, &ctx, &user, id));
    }
    Ok(Html(page(&ctx, "visit-detail-title", &b)).into_response())
}

/// Fields of the reissue form.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ReissueForm {
    booth: String,
}

/// `POST /visits/{id}/ticket`: a new ticket for a visit whose ticket expired unused.
pub async fn reissue(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<ReissueForm>,
) -> Result<Response, AppError> {
    let user = match user_of(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return Ok(*r),
    };
    let Some(id) = parse_id(&id) else {
        return Ok(not_found(&ctx));
    };
    let booth = match form.booth.as_str() {
        "" | "any" => None,
        b if b == app.cfg.booth.id => Some(b.to_owned()),
        _ => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(page(
                    &ctx,
                    "bad-request",
                    &banner("error", t(ctx.lang, "error-booth")),
                )),
            )
                .into_response());
        }
    };
    let now = app.clock.now();
    let ttl = chrono::Duration::minutes(i64::from(app.cfg.reception.ticket_ttl_minutes.max(1)));
    let login = user.login.clone();
    let found = app
        .db
        .write(move |tx| {
            if rs::get_visit(tx, id)?.is_none() {
                return Ok(false);
            }
            rs::issue_ticket(tx, id, booth.as_deref(), now, ttl)?;
            rs::audit(tx, now, &login, "issue_ticket", &id.to_string())?;
            Ok(true)
        })
        .await?;
    if !found {
        return Ok(not_found(&ctx));
    }
    tracing::info!(visit = %id, actor = %user.login, "ticket reissued");
    Ok(Redirect::to(&format!("/visits/{id}/slip")).into_response())
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use booth_core::ident::complete_with_check_digit;

    fn good() -> VisitForm {
        VisitForm {
            document_kind: "id_card".into(),
            document_number: "0123 4567".into(),
            iin: (0..10)
                .find_map(|n| complete_with_check_digit(&format!("950315400{n:02}")))
                .expect("cd"),
            applicant_kind: "individual".into(),
            surname: "Қасымқызы".into(),
            name: "Әлия".into(),
            consent: "yes".into(),
            booth: "any".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_form_passes_and_each_bad_field_is_named() {
        let v = validate(&good(), "B1").expect("valid");
        assert_eq!(v.document_number, "01234567");
        assert_eq!(v.booth, None);
        let cases: Vec<(VisitForm, &str, &str)> = vec![
            (
                VisitForm {
                    iin: "123".into(),
                    ..good()
                },
                "iin",
                "error-ident-length",
            ),
            (
                VisitForm {
                    iin: "".into(),
                    ..good()
                },
                "iin",
                "error-ident-empty",
            ),
            (
                VisitForm {
                    surname: "<script>".into(),
                    ..good()
                },
                "surname",
                "error-name-char",
            ),
            (
                VisitForm {
                    name: "Aлия".into(),
                    ..good()
                },
                "name",
                "error-name-mixed",
            ),
            (
                VisitForm {
                    consent: "".into(),
                    ..good()
                },
                "consent",
                "error-consent-required",
            ),
            (
                VisitForm {
                    email: "a@b".into(),
                    ..good()
                },
                "email",
                "error-email-domain",
            ),
            (
                VisitForm {
                    phone: "12".into(),
                    ..good()
                },
                "phone",
                "error-phone",
            ),
            (
                VisitForm {
                    booth: "OTHER".into(),
                    ..good()
                },
                "booth",
                "error-booth",
            ),
            (
                VisitForm {
                    document_kind: "x".into(),
                    ..good()
                },
                "document_kind",
                "error-doc-kind",
            ),
            (
                VisitForm {
                    document_number: "№1".into(),
                    ..good()
                },
                "document_number",
                "error-doc-number",
            ),
            (
                VisitForm {
                    applicant_kind: "entity".into(),
                    ..good()
                },
                "bin",
                "error-ident-empty",
            ),
        ];
        for (f, field, key) in cases {
            let errs = validate(&f, "B1").expect_err(field);
            assert!(errs.contains(&(field, key)), "{field}: {errs:?}");
            assert!(crate::i18n::has(key), "{key}");
        }
        let foreign = VisitForm {
            document_kind: "foreign_passport".into(),
            iin: "".into(),
            ..good()
        };
        assert!(
            validate(&foreign, "B1")
                .expect("no IIN needed")
                .iin
                .is_none()
        );
    }
}
