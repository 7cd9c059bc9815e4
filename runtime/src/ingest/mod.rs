//! The HTTP ingest of `journey run`: an axum router in front of the engine ([`Api`]).
//!
//! It speaks HTTP and JSON, checks credentials, validates events and profiles against the
//! deployed schemas, and hands the engine only valid requests; the engine makes them durable.
//! One file per resource (`events`, `customers`, `journeys`, `dead_letters`, `unsubscribe`,
//! `metrics`), plus `auth` (bearer token, body signature), `body` (content type, size, JSON),
//! `errors` (the one error shape) and `openapi` (the document at `/openapi.json`).
//! The routes are listed in [`ROUTES`].
//!
//! The handlers read the clock once: the default time of an event sent without `at`.
//! Left out: TLS (put a reverse proxy in front), CORS, rate limiting, and request logs beyond
//! refusals and failures.

mod auth;
mod body;
mod customers;
mod dead_letters;
mod errors;
mod events;
mod journeys;
mod metrics;
mod openapi;
mod unsubscribe;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use serde::Deserialize;

use crate::api::Api;

/// The default header of body signatures.
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Journey-Signature";

/// Every route of the router: method and path pattern (axum's `{name}` syntax, the same as
/// OpenAPI's). `HEAD` is served for every `GET` route too.
pub const ROUTES: [(&str, &str); 12] = [
    ("POST", "/v1/events"),
    ("GET", "/v1/customers/{id}"),
    ("PUT", "/v1/customers/{id}"),
    ("DELETE", "/v1/customers/{id}"),
    ("GET", "/v1/journeys"),
    ("POST", "/v1/deploy"),
    ("GET", "/v1/dead-letters"),
    ("GET", "/v1/unsubscribe/{customer}/{token}"),
    ("POST", "/v1/unsubscribe/{customer}/{token}"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

/// The `[ingest]` section of the runtime's configuration.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The address to listen on (default `127.0.0.1:8787`).
    pub listen: SocketAddr,
    /// The bearer token every non-public route requires. With neither `token` nor `token_env`,
    /// no token is asked for (only allowed on a loopback address, see [`Config::validate`]).
    pub token: Option<String>,
    /// The environment variable holding the token (instead of `token`).
    pub token_env: Option<String>,
    /// The key of HMAC-SHA256 body signatures; when set, `POST /v1/events` and
    /// `PUT /v1/customers/{id}` must carry a signature.
    pub hmac_secret: Option<String>,
    /// The environment variable holding the HMAC key (instead of `hmac_secret`).
    pub hmac_secret_env: Option<String>,
    /// The header carrying the signature, `sha256=<hex>` (default `X-Journey-Signature`).
    pub signature_header: String,
    /// The largest request body accepted, in bytes (default 1 MiB); larger ones get a 413.
    pub max_body_bytes: usize,
    /// The most events in one batch (default 1000).
    pub max_batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8787)),
            token: None,
            token_env: None,
            hmac_secret: None,
            hmac_secret_env: None,
            signature_header: DEFAULT_SIGNATURE_HEADER.to_string(),
            max_body_bytes: 1024 * 1024,
            max_batch: 1000,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |secret: &Option<String>| secret.as_ref().map(|_| "(hidden)");
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("token", &hidden(&self.token))
            .field("token_env", &self.token_env)
            .field("hmac_secret", &hidden(&self.hmac_secret))
            .field("hmac_secret_env", &self.hmac_secret_env)
            .field("signature_header", &self.signature_header)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

/// A configuration the ingest cannot run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ingest configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks the configuration before serving (secrets readable, limits positive, a token when
    /// listening beyond loopback). [`router`] fails closed on a bad secret, so calling this at
    /// start-up turns a server refusing everything into a clear error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let keys = auth::Keys::from_config(self);
        for secret in [&keys.token, &keys.hmac] {
            if let auth::Secret::Broken(why) = secret {
                return Err(ConfigError(why.clone()));
            }
        }
        if axum::http::HeaderName::try_from(self.signature_header.as_str()).is_err() {
            return Err(ConfigError(format!(
                "signature_header `{}` is not a valid header name",
                self.signature_header
            )));
        }
        if self.max_body_bytes == 0 || self.max_batch == 0 {
            return Err(ConfigError(
                "max_body_bytes and max_batch must be at least 1".to_string(),
            ));
        }
        if matches!(keys.token, auth::Secret::Off) && !self.listen.ip().is_loopback() {
            return Err(ConfigError(format!(
                "listening on {} without a token would let anyone send events: set `token` or `token_env`",
                self.listen
            )));
        }
        Ok(())
    }
}

/// What every handler shares.
pub(crate) struct Shared<A> {
    /// The engine.
    pub(crate) api: Arc<A>,
    /// The credentials.
    pub(crate) keys: Arc<auth::Keys>,
    /// The request counters.
    pub(crate) metrics: Arc<metrics::HttpMetrics>,
    /// The most events in one batch.
    pub(crate) max_batch: usize,
}

/// The ingest's routes over `api`, configured by `config` (secrets are read now, environment
/// variables included).
pub fn router<A: Api>(api: Arc<A>, config: &Config) -> Router {
    let keys = Arc::new(auth::Keys::from_config(config));
    if matches!(keys.token, auth::Secret::Off) {
        tracing::warn!("the ingest asks for no token: anyone who can reach it can send events");
    }
    let http_metrics = Arc::new(metrics::HttpMetrics::default());
    let shared = Arc::new(Shared {
        api,
        keys: keys.clone(),
        metrics: http_metrics.clone(),
        max_batch: config.max_batch,
    });
    let protected = Router::new()
        .route("/v1/events", axum::routing::post(events::post::<A>))
        .route(
            "/v1/customers/{id}",
            get(customers::get::<A>)
                .put(customers::put::<A>)
                .delete(customers::delete::<A>),
        )
        .route("/v1/journeys", get(journeys::list::<A>))
        .route("/v1/deploy", axum::routing::post(journeys::deploy::<A>))
        .route("/v1/dead-letters", get(dead_letters::list::<A>))
        .route("/metrics", get(metrics::get::<A>))
        .route_layer(from_fn_with_state(keys, auth::bearer));
    let public = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::get::<A>))
        .route(
            "/v1/unsubscribe/{customer}/{token}",
            get(unsubscribe::page).post(unsubscribe::post::<A>),
        );
    protected
        .merge(public)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(from_fn_with_state(http_metrics, metrics::count))
        .with_state(shared)
}

/// Serves the ingest on `listener` until `shutdown` resolves (then finishes the requests in
/// flight). The router is built (and secrets read) before the returned future first runs.
pub fn serve<A: Api>(
    api: Arc<A>,
    config: &Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = std::io::Result<()>> + Send + 'static {
    let router = router(api, config);
    async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// `GET /healthz`: the server answers.
async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}
