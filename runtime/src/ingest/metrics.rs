//! `GET /metrics` in the Prometheus text format: the engine's metrics (`Api::metrics`) followed
//! by the ingest's own counter of HTTP requests by route, method and status
//! (`journey_http_requests_total`), counted by a middleware around every route and fallback.
//!
//! Labels are bounded: the route is the router's pattern (`/v1/customers/{id}`, never the raw
//! path), `unmatched` for paths no route serves; methods outside the usual few count as `other`.
//! Left out: latency histograms and in-flight gauges.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;
use crate::api::Api;

/// (route, method, status) → requests answered.
type Key = (String, &'static str, u16);

/// The ingest's request counters.
#[derive(Default)]
pub(crate) struct HttpMetrics {
    counts: RwLock<BTreeMap<Key, AtomicU64>>,
}

impl HttpMetrics {
    fn record(&self, route: &str, method: &'static str, status: u16) {
        {
            let counts = self
                .counts
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(count) = counts.get(&(route.to_string(), method, status)) {
                count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut counts = self
            .counts
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts
            .entry((route.to_string(), method, status))
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP journey_http_requests_total HTTP requests answered by the ingest, by route, method and status.\n",
        );
        out.push_str("# TYPE journey_http_requests_total counter\n");
        let counts = self
            .counts
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for ((route, method, status), count) in counts.iter() {
            let _ = writeln!(
                out,
                "journey_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
                label(route),
                count.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// A label value escaped for the text format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts every answer.
pub(crate) async fn count(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = method_label(request.method());
    let response = next.run(request).await;
    metrics.record(&route, method, response.status().as_u16());
    response
}

/// The handler of `GET /metrics`.
pub(crate) async fn get<A: Api>(State(shared): State<Arc<Shared<A>>>) -> Response {
    let mut text = shared.api.metrics();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&shared.metrics.render());
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
