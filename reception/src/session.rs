//! Sign-in sessions, cookies, CSRF and passwords.
//!
//! - Session cookie `rsid`: 256 random bits; the database stores only its SHA-256, so a copy of
//!   the database does not let anyone ride a session. HttpOnly, SameSite=Strict, Secure over
//!   TLS. Expires after `reception.session_minutes` of inactivity (sliding).
//! - CSRF: every POST is checked in one place ([`guard`]) before any handler runs. Signed-in
//!   forms carry the session's token; the sign-in form carries a token bound to a short-lived
//!   `lcsrf` cookie (double submit), so a forged cross-site sign-in is refused too.
//! - Passwords: Argon2id PHC strings (RustCrypto `argon2`, default parameters).

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use booth_core::Language;
use booth_core::store::reception::{self as rs, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::html::{banner, esc, page};
use crate::i18n::t;
use crate::state::{AppError, AppState};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rsid";
/// Name of the sign-in form's CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "lcsrf";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "lang";
/// Largest form body accepted.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The signed-in account of a request.
#[derive(Debug, Clone)]
pub struct User {
    /// Login.
    pub login: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token (for the forms of the page).
    pub csrf: String,
    /// Stored session id (hash of the cookie).
    pub session_id: String,
}

impl User {
    /// Whether this is the branch admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Per-request context the guard puts into the request's extensions.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// UI language.
    pub lang: Language,
    /// Signed-in account, if any.
    pub user: Option<User>,
    /// Request path (for navigation highlighting).
    pub path: String,
    /// Path and query (for the language switch's way back).
    pub path_and_query: String,
    /// The `lcsrf` cookie value, if any.
    pub login_csrf: Option<String>,
}

/// 256 random bits as hex, from the thread CSPRNG (ChaCha12 seeded from the OS).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The stored id of a session cookie value.
pub fn session_id_of(cookie: &str) -> String {
    hex::encode(Sha256::digest(cookie.as_bytes()))
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string (a malformed hash never matches).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Constant-time comparison of two tokens.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Cookies of a request (first value of each name wins).
pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                out.entry(k.trim().to_owned())
                    .or_insert_with(|| v.trim().to_owned());
            }
        }
    }
    out
}

/// A `Set-Cookie` value with the console's attributes.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_s: Option<i64>,
    tls: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(a) = max_age_s {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if tls {
        c.push_str("; Secure");
    }
    // Invariant: names and values are ASCII tokens (hex, language codes) made in this crate.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

/// Value of the form field `name` in an urlencoded body (no percent-decoding: the CSRF token
/// is hex, and any encoded variant of it is simply not equal).
fn raw_form_field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    let s = std::str::from_utf8(body).ok()?;
    s.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then_some(v)
    })
}

fn is_public(path: &str) -> bool {
    path == "/login" || path == "/style.css" || path == "/favicon.ico" || path.starts_with("/lang/")
}

fn refused(ctx: &Ctx, status: StatusCode, key: &str) -> Response {
    let body = banner("error", t(ctx.lang, key));
    let title = if status == StatusCode::FORBIDDEN {
        "forbidden"
    } else {
        "bad-request"
    };
    let mut html = page(ctx, title, &body);
    if ctx.user.is_none() {
        html = html.replace(
            "</main>",
            &format!(
                "<p><a href=\"/login\">{}</a></p></main>",
                esc(t(ctx.lang, "login-title"))
            ),
        );
    }
    (status, Html(html)).into_response()
}

/// The one gate every request passes: reads the language and session, refuses signed-out
/// access to private pages, checks the CSRF token of every POST, and adds security headers.
pub async fn guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    match guard_inner(app, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn guard_inner(app: AppState, req: Request, next: Next) -> Result<Response, AppError> {
    let (mut parts, body) = req.into_parts();
    let jar = cookies(&parts.headers);
    let lang = jar
        .get(LANG_COOKIE)
        .and_then(|c| Language::from_code(c))
        .unwrap_or(app.cfg.booth.default_language);
    let now = app.clock.now();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| path.clone());

    let mut user = None;
    let had_cookie = jar.contains_key(SESSION_COOKIE);
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        let id = session_id_of(cookie);
        let minutes = i64::from(app.cfg.reception.session_minutes.max(1));
        let found = app
            .db
            .write(move |tx| {
                let s = rs::get_live_session(tx, &id, now)?;
                if let Some((s, _)) = &s {
                    rs::touch_session(tx, &s.id, now + chrono::Duration::minutes(minutes))?;
                }
                Ok(s)
            })
            .await?;
        user = found.map(|(s, role)| User {
            login: s.login,
            role,
            csrf: s.csrf,
            session_id: s.id,
        });
    }
    let ctx = Ctx {
        lang,
        user,
        path: path.clone(),
        path_and_query,
        login_csrf: jar.get(LOGIN_CSRF_COOKIE).cloned(),
    };

    if !is_public(&path) && ctx.user.is_none() {
        let to = if had_cookie {
            "/login?expired=1"
        } else {
            "/login"
        };
        return Ok(with_headers(Redirect::to(to).into_response()));
    }

    let body = if parts.method == Method::POST {
        let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
            return Ok(with_headers(refused(
                &ctx,
                StatusCode::PAYLOAD_TOO_LARGE,
                "bad-request",
            )));
        };
        let expected = if path == "/login" {
            ctx.login_csrf.clone()
        } else {
            ctx.user.as_ref().map(|u| u.csrf.clone())
        };
        let given = raw_form_field(&bytes, "csrf");
        let ok = matches!((expected.as_deref(), given), (Some(e), Some(g)) if !e.is_empty() && tokens_equal(e, g));
        if !ok {
            tracing::warn!(expected = expected.is_some(), given = given.is_some(), path = %path, actor = ctx.user.as_ref().map(|u| u.login.as_str()).unwrap_or("-"), "POST refused: missing or wrong CSRF token");
            return Ok(with_headers(refused(
                &ctx,
                StatusCode::FORBIDDEN,
                "csrf-refused",
            )));
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(ctx);
    let resp = next.run(Request::from_parts(parts, body)).await;
    Ok(with_headers(resp))
}

/// Security headers on every response: no inline script or style, no framing, no caching of
/// pages with personal data, no referrer.
fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_tokens() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert!(tokens_equal(&a, &a.clone()));
        assert!(!tokens_equal(&a, &a[..63]));
        assert_eq!(raw_form_field(b"a=1&csrf=abc&b=2", "csrf"), Some("abc"));
        assert_eq!(raw_form_field(b"a=1&xcsrf=abc", "csrf"), None);
    }
}
