//! The one HTTP client of the agent ([`Central`]): mutual TLS with the device identity, the
//! authority's CA as the only trust anchor, timeouts, and a strict reading of every answer
//! (status, content type, size limit, complete body, valid JSON) so a malformed or hostile
//! response is refused with a specific error instead of being acted on.

use std::time::Duration;

use booth_core::wire::{PROBLEM_CONTENT_TYPE, Problem};
use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::SyncError;
use crate::state::StateDir;

/// Largest JSON answer accepted (directory pages, answers pages); anything larger is refused.
pub const JSON_LIMIT: usize = 4 * 1024 * 1024;
/// Largest error body read for its problem details.
pub const PROBLEM_LIMIT: usize = 64 * 1024;
/// Connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence while reading an answer.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Whole-request timeout of ordinary (non-upload) calls.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Clock difference to the server beyond which the booth's clock is called wrong.
pub const MAX_CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The central service: base URL plus the process's single [`reqwest::Client`].
#[derive(Debug, Clone)]
pub struct Central {
    client: reqwest::Client,
    base: String,
}

/// TLS material for [`Central::new`].
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// The authority's CA certificate (PEM): the only trust anchor.
    pub ca_pem: Vec<u8>,
    /// Client identity: certificate PEM followed by the PKCS#8 key PEM (`None` while enrolling).
    pub identity_pem: Option<Vec<u8>>,
}

impl Central {
    /// Builds the client. `base_url` must be `https://…`.
    pub fn new(base_url: &str, tls: &TlsMaterial) -> Result<Central, SyncError> {
        let base = base_url.trim_end_matches('/').to_owned();
        let bad = |detail: String| SyncError::Tls {
            url: base.clone(),
            detail,
        };
        if !base.starts_with("https://") {
            return Err(bad("the central URL must start with https://".into()));
        }
        let ca = reqwest::Certificate::from_pem(&tls.ca_pem)
            .map_err(|e| bad(format!("CA certificate unusable: {e}")))?;
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .https_only(true)
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("booth-sync-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(id) = &tls.identity_pem {
            let identity = reqwest::Identity::from_pem(id)
                .map_err(|e| bad(format!("device identity unusable: {e}")))?;
            b = b.identity(identity);
        }
        let client = b
            .build()
            .map_err(|e| bad(format!("cannot build the HTTP client: {e}")))?;
        Ok(Central { client, base })
    }

    /// Builds the client from the enrollment state (certificate, key, CA, URL).
    pub fn from_state(state: &StateDir) -> Result<Central, SyncError> {
        let e = state.enrollment()?;
        let mut identity = state.read(&state.cert())?;
        identity.push(b'\n');
        identity.extend(state.read(&state.key())?);
        Central::new(
            &e.central_url,
            &TlsMaterial {
                ca_pem: state.read(&state.ca())?,
                identity_pem: Some(identity),
            },
        )
    }

    /// Base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Absolute URL of a path (`/v1/...`) or of a server-given location. A location on
    /// another origin is refused: uploads never leave the pinned server.
    pub fn url(&self, path_or_url: &str) -> Result<String, SyncError> {
        if path_or_url.starts_with('/') && !path_or_url.starts_with("//") {
            return Ok(format!("{}{}", self.base, path_or_url));
        }
        if let Some(rest) = path_or_url.strip_prefix(&self.base)
            && rest.starts_with('/')
        {
            return Ok(path_or_url.to_owned());
        }
        Err(SyncError::BadResponse {
            what: "upload location".into(),
            reason: format!(
                "location {path_or_url:?} is not on the central service {}",
                self.base
            ),
        })
    }

    /// A request builder on the shared client.
    pub fn request(&self, method: Method, path_or_url: &str) -> Result<RequestBuilder, SyncError> {
        Ok(self.client.request(method, self.url(path_or_url)?))
    }

    /// Sends a request, mapping transport failures to specific errors.
    pub async fn send(&self, req: RequestBuilder, what: &str) -> Result<Response, SyncError> {
        req.send()
            .await
            .map_err(|e| transport_error(&self.base, what, &e))
    }

    /// Sends and requires a success status; error statuses become [`SyncError::Http`] with the
    /// problem details (read with a size limit) and `Retry-After`.
    pub async fn send_ok(
        &self,
        req: RequestBuilder,
        method: &str,
        path: &str,
    ) -> Result<Response, SyncError> {
        let resp = self.send(req, path).await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(resp);
        }
        Err(http_error(resp, method, path).await)
    }

    /// `GET` a JSON document.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, SyncError> {
        let resp = self
            .send_ok(self.request(Method::GET, path)?, "GET", path)
            .await?;
        read_json(resp, path).await
    }

    /// `method` with a JSON body, answer JSON.
    pub async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, SyncError> {
        let m = method.to_string();
        let resp = self
            .send_ok(self.request(method, path)?.json(body), &m, path)
            .await?;
        read_json(resp, path).await
    }
}

/// Parses `Retry-After` (seconds or an HTTP date), capped at one hour.
pub fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let d = if let Ok(s) = v.parse::<u64>() {
        Duration::from_secs(s)
    } else {
        let t = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
        (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
    };
    Some(d.min(Duration::from_secs(3600)))
}

/// The server's `Date`, if sent and valid.
pub fn server_date(h: &HeaderMap) -> Option<DateTime<Utc>> {
    let v = h.get(reqwest::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Reads an error response into [`SyncError::Http`].
pub async fn http_error(resp: Response, method: &str, path: &str) -> SyncError {
    let status = resp.status().as_u16();
    let ra = retry_after(resp.headers());
    let is_problem = content_type(resp.headers())
        .is_some_and(|c| c == PROBLEM_CONTENT_TYPE || c == "application/json");
    let reason = resp
        .status()
        .canonical_reason()
        .unwrap_or("error")
        .to_owned();
    let (code, detail) = match read_limited(resp, PROBLEM_LIMIT, path).await {
        Ok(body) if is_problem => match serde_json::from_slice::<Problem>(&body) {
            Ok(p) => (p.code, p.detail.unwrap_or(p.title)),
            Err(_) => ("-".to_owned(), reason),
        },
        _ => ("-".to_owned(), reason),
    };
    SyncError::Http {
        method: method.to_owned(),
        path: path.to_owned(),
        status,
        code,
        detail,
        retry_after: ra,
    }
}

/// The media type of a response, lowercased, without parameters.
pub fn content_type(h: &HeaderMap) -> Option<String> {
    let v = h.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Reads a body of at most `limit` bytes; larger (declared or actual) or cut-off bodies are
/// refused.
pub async fn read_limited(
    mut resp: Response,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, SyncError> {
    let bad = |reason: String| SyncError::BadResponse {
        what: what.to_owned(),
        reason,
    };
    if let Some(len) = resp.content_length()
        && len > limit as u64
    {
        return Err(bad(format!(
            "body of {len} bytes exceeds the {limit}-byte limit"
        )));
    }
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if out.len() + c.len() > limit {
                    return Err(bad(format!("body exceeds the {limit}-byte limit")));
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(bad(format!(
                    "body truncated or connection lost while reading: {}",
                    chain(&e)
                )));
            }
        }
    }
    Ok(out)
}

/// Reads a JSON answer: `application/json`, within [`JSON_LIMIT`], complete and valid.
pub async fn read_json<T: DeserializeOwned>(resp: Response, what: &str) -> Result<T, SyncError> {
    let bad = |reason: String| SyncError::BadResponse {
        what: what.to_owned(),
        reason,
    };
    match content_type(resp.headers()) {
        Some(c) if c == "application/json" => {}
        other => {
            return Err(bad(format!(
                "wrong content type {:?}, expected application/json",
                other.unwrap_or_default()
            )));
        }
    }
    let body = read_limited(resp, JSON_LIMIT, what).await?;
    serde_json::from_slice(&body).map_err(|e| bad(format!("malformed JSON ({e})")))
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn find_rustls(e: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r.clone());
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(r.clone());
        }
        cur = c.source();
    }
    None
}

/// Explains a TLS failure in the technician's words.
pub fn explain_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        // BadSignature: an issuer with the pinned CA's name but another key (an impostor CA).
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "server certificate is not signed by the pinned authority CA (unknown issuer): refusing to talk to it".into()
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "server certificate has expired, or the booth clock is far ahead".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "server certificate is not valid yet: the booth clock is far behind".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "server certificate does not name the central service's host".into()
        }
        rustls::Error::AlertReceived(a) => format!("the server refused the TLS handshake ({a:?}): our client certificate was not accepted"),
        other => format!("TLS error: {other}"),
    }
}

/// The same explanations from the error text, for chains where the rustls error is not
/// reachable as a value (reqwest boxes connector errors).
fn explain_tls_text(text: &str) -> Option<String> {
    let l = text.to_ascii_lowercase();
    if l.contains("unknownissuer") || l.contains("unknown issuer") || l.contains("badsignature") {
        return Some(explain_tls(&rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        )));
    }
    if l.contains("invalid peer certificate") {
        let e = if l.contains("expired") {
            rustls::CertificateError::Expired
        } else if l.contains("not valid yet") || l.contains("notvalidyet") {
            rustls::CertificateError::NotValidYet
        } else if l.contains("notvalidforname") || l.contains("not valid for name") {
            rustls::CertificateError::NotValidForName
        } else {
            return Some("server certificate refused".into());
        };
        return Some(explain_tls(&rustls::Error::InvalidCertificate(e)));
    }
    if l.contains("received fatal alert") {
        return Some(
            "the server refused the TLS handshake: our client certificate was not accepted".into(),
        );
    }
    None
}

/// Maps a reqwest failure to a specific [`SyncError`].
pub fn transport_error(base: &str, what: &str, e: &reqwest::Error) -> SyncError {
    if let Some(t) = find_rustls(e) {
        return SyncError::Tls {
            url: base.to_owned(),
            detail: explain_tls(&t),
        };
    }
    let text = chain(e);
    if let Some(detail) = explain_tls_text(&text) {
        return SyncError::Tls {
            url: base.to_owned(),
            detail: format!("{detail} ({text})"),
        };
    }
    if e.is_timeout() {
        return SyncError::Unreachable {
            url: base.to_owned(),
            detail: format!("{what}: timed out ({text})"),
        };
    }
    let lower = text.to_ascii_lowercase();
    if [
        "close_notify",
        "incompletemessage",
        "connection closed",
        "end of file",
        "unexpected eof",
    ]
    .iter()
    .any(|m| lower.contains(m))
    {
        return SyncError::Unreachable {
            url: base.to_owned(),
            detail: format!(
                "{what}: connection closed before a complete answer arrived (truncated response or connection reset): {text}"
            ),
        };
    }
    if e.is_body() || e.is_decode() {
        return SyncError::BadResponse {
            what: what.to_owned(),
            reason: format!("body truncated or unreadable: {text}"),
        };
    }
    SyncError::Unreachable {
        url: base.to_owned(),
        detail: format!("{what}: {text}"),
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_caps() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(12)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("999999"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3600)));
        let future = (Utc::now() + chrono::TimeDelta::seconds(120)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&future).expect("hv"));
        let d = retry_after(&h).expect("date");
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn locations_must_stay_on_the_central_origin() {
        let c = Central {
            client: reqwest::Client::new(),
            base: "https://central.example:8443".into(),
        };
        assert_eq!(
            c.url("/v1/uploads/ab").expect("path"),
            "https://central.example:8443/v1/uploads/ab"
        );
        assert!(c.url("https://central.example:8443/v1/uploads/ab").is_ok());
        for bad in [
            "https://evil.example/v1/uploads/ab",
            "//evil.example/x",
            "https://central.example:8443.evil/x",
            "v1/x",
        ] {
            assert!(
                matches!(c.url(bad), Err(SyncError::BadResponse { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_https_is_accepted() {
        let e = Central::new(
            "http://127.0.0.1:1",
            &TlsMaterial {
                ca_pem: vec![],
                identity_pem: None,
            },
        )
        .expect_err("http");
        assert!(e.to_string().contains("https://"), "{e}");
    }
}
