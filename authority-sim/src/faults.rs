//! Fault injection and traffic counters, per route.
//!
//! A route is named `"METHOD /template"`, e.g. `"PATCH /v1/uploads/{upload_id}"` (`"*"` matches
//! every route). Rules come from the `--faults FILE` JSON at start or from the admin endpoint
//! (`PUT /admin/faults`), and can be limited to the next N matching requests (`times`). The
//! counters (requests, request body bytes actually received, responses by status) are what
//! the sync agent's tests read to count resent bytes and requests per minute.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// One fault rule. All effects are optional and combine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultRule {
    /// `"METHOD /template"` or `"*"`.
    pub route: String,
    /// Added latency before the request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Answer this 5xx status (with `Retry-After`) instead of handling the request.
    pub status: Option<u16>,
    /// `Retry-After` seconds sent with `status` (default 0).
    pub retry_after_s: u32,
    /// Read this many bytes of the request body, then drop the connection (reset mid-body).
    pub reset_after_bytes: Option<u64>,
    /// Send only the first half of the response body, then drop the connection.
    pub truncate_response: bool,
    /// Send the response body at this many bytes per second (slow drip).
    pub drip_bytes_per_s: Option<u32>,
    /// "complete" echoes a wrong SHA-256 (the booth must notice and keep its copy).
    pub wrong_checksum: bool,
    /// Apply to the next N matching requests only (default: until cleared).
    pub times: Option<u32>,
}

/// The whole fault configuration (file format of `--faults` and body of `PUT /admin/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Rules, first match wins.
    pub rules: Vec<FaultRule>,
    /// Serve an expired server certificate on new connections.
    pub expired_certificate: bool,
}

/// Counters of one route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCounter {
    /// Requests seen.
    pub requests: u64,
    /// Request body bytes actually received.
    pub request_bytes: u64,
    /// Responses by status code (an aborted connection counts as status 0).
    pub responses: BTreeMap<u16, u64>,
}

/// Marker in a request's extensions: the complete handler must echo a wrong checksum.
#[derive(Debug, Clone, Copy)]
pub struct WrongChecksum;

/// Marker in a response's extensions: the connection must be dropped instead of answering.
#[derive(Debug, Clone, Copy)]
pub struct AbortConnection;

/// Shared fault and counter state of one server.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    /// Switch read by the certificate resolver.
    pub expired_certificate: Arc<AtomicBool>,
    counters: Mutex<BTreeMap<String, RouteCounter>>,
}

impl Faults {
    /// Replaces the configuration.
    pub fn set(&self, cfg: FaultConfig) {
        if let Ok(mut r) = self.rules.lock() {
            *r = cfg.rules;
        }
        self.expired_certificate
            .store(cfg.expired_certificate, Ordering::Relaxed);
    }

    /// Current configuration.
    pub fn get(&self) -> FaultConfig {
        FaultConfig {
            rules: self.rules.lock().map(|r| r.clone()).unwrap_or_default(),
            expired_certificate: self.expired_certificate.load(Ordering::Relaxed),
        }
    }

    /// Adds one rule at the end.
    pub fn push(&self, rule: FaultRule) {
        if let Ok(mut r) = self.rules.lock() {
            r.push(rule);
        }
    }

    /// Takes the first rule matching `route`, counting down its `times`.
    fn take(&self, route: &str) -> Option<FaultRule> {
        let mut rules = self.rules.lock().ok()?;
        let i = rules
            .iter()
            .position(|r| r.route == "*" || r.route == route)?;
        let rule = rules[i].clone();
        if let Some(t) = rules[i].times.as_mut() {
            *t = t.saturating_sub(1);
            if *t == 0 {
                rules.remove(i);
            }
        }
        Some(rule)
    }

    /// Snapshot of all counters.
    pub fn counters(&self) -> BTreeMap<String, RouteCounter> {
        self.counters.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        if let Ok(mut c) = self.counters.lock() {
            c.clear();
        }
    }

    fn count(&self, route: &str, f: impl FnOnce(&mut RouteCounter)) {
        if let Ok(mut c) = self.counters.lock() {
            f(c.entry(route.to_owned()).or_default());
        }
    }
}

/// Request body stream that counts bytes into the route's counter and, for a reset fault,
/// fails after `limit` bytes.
struct CountingBody {
    inner: axum::body::BodyDataStream,
    faults: Arc<Faults>,
    route: String,
    seen: u64,
    limit: Option<u64>,
}

impl Stream for CountingBody {
    type Item = Result<Bytes, axum::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(l) = self.limit
            && self.seen >= l
        {
            return Poll::Ready(Some(Err(axum::Error::new("injected connection reset"))));
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(mut b))) => {
                if let Some(l) = self.limit {
                    let room = usize::try_from(l - self.seen).unwrap_or(usize::MAX);
                    if b.len() > room {
                        b.truncate(room);
                    }
                }
                let n = b.len() as u64;
                self.seen += n;
                let (faults, route) = (self.faults.clone(), self.route.clone());
                faults.count(&route, |c| c.request_bytes += n);
                Poll::Ready(Some(Ok(b)))
            }
            other => other,
        }
    }
}

/// axum middleware (installed with `route_layer`, so the matched route is known): counts,
/// then applies the first matching fault rule.
pub async fn middleware(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{} {}", req.method(), p.as_str()),
        None => format!("{} ?", req.method()),
    };
    faults.count(&route, |c| c.requests += 1);
    let rule = faults.take(&route);
    let (mut parts, body) = req.into_parts();
    if let Some(r) = &rule {
        if r.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(r.latency_ms)).await;
        }
        if let Some(status) = r.status {
            let resp = ApiError::Unavailable {
                status: status.clamp(500, 599),
                retry_after_s: r.retry_after_s,
            }
            .into_response();
            faults.count(&route, |c| {
                *c.responses.entry(resp.status().as_u16()).or_default() += 1
            });
            return resp;
        }
        if r.wrong_checksum {
            parts.extensions.insert(WrongChecksum);
        }
    }
    let counting = CountingBody {
        inner: body.into_data_stream(),
        faults: faults.clone(),
        route: route.clone(),
        seen: 0,
        limit: rule.as_ref().and_then(|r| r.reset_after_bytes),
    };
    let req = Request::from_parts(parts, Body::from_stream(counting));
    let mut resp = next.run(req).await;
    let Some(r) = rule else {
        faults.count(&route, |c| {
            *c.responses.entry(resp.status().as_u16()).or_default() += 1
        });
        return resp;
    };
    if r.reset_after_bytes.is_some() {
        resp.extensions_mut().insert(AbortConnection);
        faults.count(&route, |c| *c.responses.entry(0).or_default() += 1);
        return resp;
    }
    faults.count(&route, |c| {
        *c.responses.entry(resp.status().as_u16()).or_default() += 1
    });
    if r.truncate_response || r.drip_bytes_per_s.is_some() {
        let (mut parts, body) = resp.into_parts();
        let full = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
            Ok(b) => b,
            Err(_) => return ApiError::internal("response body unreadable").into_response(),
        };
        parts
            .headers
            .insert(header::CONTENT_LENGTH, full.len().into());
        let body = if r.truncate_response {
            let half = full.slice(..full.len() / 2);
            let s = futures_util::stream::iter(vec![
                Ok::<Bytes, std::io::Error>(half),
                Err(std::io::Error::other("injected truncation")),
            ]);
            Body::from_stream(s)
        } else {
            let rate = r.drip_bytes_per_s.unwrap_or(1).max(1) as usize;
            // Ten pieces a second.
            let piece = (rate / 10).max(1);
            let chunks: Vec<Bytes> = full.chunks(piece).map(Bytes::copy_from_slice).collect();
            let s = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
                let next = it.next()?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<Bytes, std::io::Error>(next), it))
            });
            Body::from_stream(s)
        };
        return Response::from_parts(parts, body);
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rule_with_times_expires() {
        let f = Faults::default();
        f.push(FaultRule {
            route: "GET /x".into(),
            status: Some(503),
            times: Some(2),
            ..Default::default()
        });
        assert!(f.take("GET /y").is_none());
        assert!(f.take("GET /x").is_some());
        assert!(f.take("GET /x").is_some());
        assert!(
            f.take("GET /x").is_none(),
            "a rule for 2 requests must be gone after 2"
        );
    }

    #[test]
    fn config_refuses_unknown_fields() {
        let e = serde_json::from_str::<FaultConfig>(r#"{"rules":[{"route":"*","latncy_ms":5}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
}
