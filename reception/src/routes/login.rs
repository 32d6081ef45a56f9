//! Sign-in, sign-out and the language switch.

use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use booth_core::Language;
use booth_core::store::reception as rs;
use serde::Deserialize;

use crate::html::{attr, banner, esc, page};
use crate::i18n::t;
use crate::session::{
    self, Ctx, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, random_token, set_cookie,
};
use crate::state::{AppError, AppState};

/// Query of the sign-in page.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    expired: Option<String>,
}

/// Fields of the sign-in form (the CSRF field is checked by the guard).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    login: String,
    password: String,
}

fn render(
    app: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    message: Option<String>,
    login: &str,
) -> Response {
    // Keep the browser's existing token: a parallel GET (a favicon request redirected here, a
    // second tab) must not invalidate the form already on screen.
    let token = ctx
        .login_csrf
        .clone()
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(random_token);
    let mut body = String::new();
    if let Some(m) = message {
        body.push_str(&banner(
            if status == StatusCode::OK {
                "info"
            } else {
                "error"
            },
            &m,
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/login\">{csrf}\
         <div class=\"field\"><label for=\"f-login\">{l}</label>\
         <input type=\"text\" id=\"f-login\" name=\"login\" value=\"{lv}\" autocomplete=\"username\" required autofocus maxlength=\"64\"></div>\
         <div class=\"field\"><label for=\"f-password\">{p}</label>\
         <input type=\"password\" id=\"f-password\" name=\"password\" autocomplete=\"current-password\" required maxlength=\"256\"></div>\
         <button type=\"submit\" id=\"login-submit\">{s}</button></form>",
        csrf = crate::html::csrf_field(&token),
        l = esc(t(ctx.lang, "login-login")),
        lv = attr(login),
        p = esc(t(ctx.lang, "login-password")),
        s = esc(t(ctx.lang, "login-submit")),
    ));
    let mut resp = (status, Html(page(ctx, "login-title", &body))).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &token, "/login", Some(3600), app.tls),
    );
    resp
}

/// `GET /login`.
pub async fn login_page(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<LoginQuery>,
) -> Response {
    if ctx.user.is_some() {
        return Redirect::to("/visits/new").into_response();
    }
    let msg = q.expired.map(|_| t(ctx.lang, "session-expired").to_owned());
    render(&app, &ctx, StatusCode::OK, msg, "")
}

/// A login as typed, cut to something safe to store in the audit log.
fn clean_login(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

/// `POST /login`: Argon2id check, lockout after `reception.max_login_failures`, new session.
pub async fn login_submit(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let now = app.clock.now();
    let login = clean_login(&form.login);
    let l2 = login.clone();
    let user = app.db.read(move |tx| rs::get_user(tx, &l2)).await?;
    let local = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&app.offset()).format("%H:%M").to_string()
    };

    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|l| *l > now)
    {
        let l2 = login.clone();
        app.db
            .write(move |tx| rs::audit(tx, now, &l2, "login_refused_locked", "-"))
            .await?;
        tracing::info!(login = %login, "sign-in refused: account locked");
        let msg = t(ctx.lang, "login-locked").replace("{until}", &local(until));
        return Ok(render(
            &app,
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            Some(msg),
            &login,
        ));
    }

    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| app.dummy_hash.as_str().to_owned());
    let password = form.password;
    let matches =
        tokio::task::spawn_blocking(move || session::verify_password(&password, &phc)).await?;

    let Some(user) = user.filter(|_| matches) else {
        let (l2, max) = (login.clone(), app.cfg.reception.max_login_failures);
        let locked = app
            .db
            .write(move |tx| {
                let locked = rs::record_login_failure(tx, &l2, now, max)?;
                rs::audit(tx, now, &l2, "login_failed", "-")?;
                if locked.is_some() {
                    rs::audit(tx, now, &l2, "account_locked", "-")?;
                }
                Ok(locked)
            })
            .await?;
        tracing::info!(login = %login, locked = locked.is_some(), "sign-in failed");
        let (status, msg) = match locked {
            Some(until) => (
                StatusCode::TOO_MANY_REQUESTS,
                t(ctx.lang, "login-locked").replace("{until}", &local(until)),
            ),
            None => (
                StatusCode::UNAUTHORIZED,
                t(ctx.lang, "login-wrong").to_owned(),
            ),
        };
        return Ok(render(&app, &ctx, status, Some(msg), &login));
    };

    let cookie = random_token();
    let s = rs::ReceptionSession {
        id: session::session_id_of(&cookie),
        login: user.login.clone(),
        csrf: random_token(),
        expires_at: now
            + chrono::Duration::minutes(i64::from(app.cfg.reception.session_minutes.max(1))),
    };
    app.db
        .write(move |tx| {
            rs::record_login_success(tx, &s.login)?;
            rs::purge_expired_sessions(tx, now)?;
            rs::insert_session(tx, &s)?;
            rs::audit(tx, now, &s.login, "login", "-")
        })
        .await?;
    tracing::info!(login = %user.login, "signed in");
    let mut resp = Redirect::to("/visits/new").into_response();
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &cookie, "/", None, app.tls),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, "", "/login", Some(0), app.tls),
    );
    Ok(resp)
}

/// `POST /logout`.
pub async fn logout(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> Result<Response, AppError> {
    if let Some(u) = ctx.user {
        let now = app.clock.now();
        app.db
            .write(move |tx| {
                rs::delete_session(tx, &u.session_id)?;
                rs::audit(tx, now, &u.login, "logout", "-")
            })
            .await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", "/", Some(0), app.tls),
    );
    Ok(resp)
}

/// Query of the language switch.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LangQuery {
    back: String,
}

/// `GET /lang/{code}`: remembers the language in a cookie and goes back to a local page.
pub async fn switch_language(
    State(app): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let Some(lang) = Language::from_code(&code) else {
        return (StatusCode::NOT_FOUND, "unknown language").into_response();
    };
    // Only same-site paths: no open redirect.
    let back = if q.back.starts_with('/')
        && !q.back.starts_with("//")
        && !q.back.contains('\\')
        && !q.back.starts_with("/lang/")
    {
        q.back
    } else {
        "/".to_owned()
    };
    let mut resp = Redirect::to(&back).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LANG_COOKIE,
            lang.code(),
            "/",
            Some(365 * 24 * 3600),
            app.tls,
        ),
    );
    resp
}
