//! What the HTTP ingest asks of the running engine, as a trait: the ingest (`ingest`) only
//! speaks HTTP and JSON and validates requests; the engine (`engine`) processes them durably.
//! Tests drive the ingest with a fake engine and the engine without HTTP.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::vm::{Event, Library};

/// An event to process, already validated against its schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    /// The customer it is for.
    pub customer: String,
    /// The event (name, time, data as sent).
    pub event: Event,
    /// The idempotency key: a retried post with the same key is processed once. Defaults to the
    /// event's id.
    pub key: String,
}

/// What happened to one submitted event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Accepted {
    /// Processed and stored durably.
    Processed,
    /// Already processed before (same idempotency key): nothing done again.
    Duplicate,
}

/// Why the engine could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// The thing asked for does not exist (404).
    NotFound(String),
    /// The request is well-formed but cannot be applied (422), e.g. an unknown profile attribute.
    Unprocessable(String),
    /// The engine is shutting down or overloaded (503); the caller should retry.
    Unavailable(String),
    /// The store failed (500); nothing was acknowledged.
    Internal(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::NotFound(m)
            | ApiError::Unprocessable(m)
            | ApiError::Unavailable(m)
            | ApiError::Internal(m) => f.write_str(m),
        }
    }
}

/// A customer's place in one journey, for `GET /v1/customers/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceView {
    /// The journey.
    pub journey: String,
    /// The instance id.
    pub instance: u32,
    /// The program version (short content hash).
    pub version: String,
    /// `sleeping`, `waiting` or `ended`.
    pub status: String,
    /// The step it stands at (its first source line).
    pub step: String,
    /// When it wakes (RFC 3339), if it has a timer.
    pub wakes_at: Option<String>,
    /// Events it waits for.
    pub waiting_for: Vec<String>,
    /// When the customer entered (RFC 3339).
    pub entered_at: String,
}

/// One entry of a customer's decision log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionView {
    /// When (RFC 3339).
    pub at: String,
    /// The journey.
    pub journey: String,
    /// The step, if any.
    pub step: Option<String>,
    /// `entered`, `sent`, `deferred`, `skipped`, `branch`, …
    pub kind: String,
    /// The rule that decided it.
    pub why: String,
}

/// A customer as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomerView {
    /// The id.
    pub id: String,
    /// The profile, in the JSON forms events use.
    pub profile: serde_json::Value,
    /// Where the customer stands in each journey.
    pub journeys: Vec<InstanceView>,
    /// The most recent decisions, oldest first.
    pub decisions: Vec<DecisionView>,
}

/// The answer of `GET /v1/journeys`: `{"journeys": [...]}` (what the server sends and what
/// `journey plan` reads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JourneyList {
    /// The deployed journeys.
    pub journeys: Vec<JourneyView>,
}

/// A deployed journey, for `GET /v1/journeys`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JourneyView {
    /// The journey's name.
    pub name: String,
    /// Its title.
    pub title: Option<String>,
    /// Every version with customers in it, the current one first.
    pub versions: Vec<VersionView>,
}

/// One version of a journey.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionView {
    /// Short content hash.
    pub version: String,
    /// Whether new customers enter this version.
    pub current: bool,
    /// Customers at each step where they stand (the step's first source line, after its label:
    /// `step reminder: wait 3 hours`); a customer asleep in a wait counts at that wait.
    pub customers_per_step: std::collections::BTreeMap<String, u64>,
    /// The labelled steps (`step reminder: …`), which `migrate` lines of a new version name
    /// (absent from the answers of servers older than labels: none).
    #[serde(default)]
    pub labels: Vec<LabelView>,
}

/// A labelled step of a version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelView {
    /// The label.
    pub name: String,
    /// Customers standing there (waiting, or held at a send).
    pub customers: u64,
    /// The event data a customer there carries: `(name, event)` pairs.
    pub carries: Vec<CarriedView>,
}

/// A value a customer carries at a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CarriedView {
    /// The name the journey gives it (`order`).
    pub name: String,
    /// The event it holds (`order_placed`).
    pub event: String,
}

/// A message that could not be delivered for good.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeadLetterView {
    /// Its Message-ID.
    pub message_id: String,
    /// The customer.
    pub customer: String,
    /// The journey and template.
    pub journey: String,
    /// The template.
    pub template: String,
    /// The address.
    pub to: Option<String>,
    /// The server's last answer.
    pub reason: String,
    /// When it was given up (RFC 3339).
    pub at: String,
}

/// What a deploy did, for `POST /v1/deploy`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeployView {
    /// One line per journey: new, changed (and what happens to its customers), unchanged,
    /// retired.
    pub deployed: Vec<String>,
    /// The compiler's warnings about the folder (a `migrate` line that moves nobody…), as
    /// `journey check` prints them; empty when there are none.
    pub warnings: String,
}

/// The engine as the ingest sees it. Every method resolves once its effect is durable.
pub trait Api: Send + Sync + 'static {
    /// The deployed programs (their schemas validate events and profiles).
    fn library(&self) -> Arc<Library>;

    /// Processes validated events; resolves when they are on disk (one result per event, in
    /// order).
    fn submit(
        &self,
        events: Vec<Submission>,
    ) -> impl Future<Output = Result<Vec<Accepted>, ApiError>> + Send;

    /// Merges attributes into a customer's profile (creating the customer if new).
    fn upsert_profile(
        &self,
        customer: String,
        attributes: serde_json::Map<String, serde_json::Value>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// A customer's profile, journeys and decision log.
    fn customer(
        &self,
        customer: String,
    ) -> impl Future<Output = Result<Option<CustomerView>, ApiError>> + Send;

    /// Erases a customer: state, profile and pending messages; their audit entries are
    /// anonymised. Resolves to whether the customer existed.
    fn erase(&self, customer: String) -> impl Future<Output = Result<bool, ApiError>> + Send;

    /// Records that a customer withdrew marketing consent (one-click unsubscribe), if the token
    /// is theirs. Resolves to whether it was.
    fn unsubscribe(
        &self,
        customer: String,
        token: String,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;

    /// Deployed journeys with customers per step.
    fn journeys(&self) -> impl Future<Output = Result<Vec<JourneyView>, ApiError>> + Send;

    /// Messages given up on.
    fn dead_letters(&self) -> impl Future<Output = Result<Vec<DeadLetterView>, ApiError>> + Send;

    /// Compiles the journey folder `journey run` serves and deploys it (as `SIGHUP` does);
    /// resolves to what changed. A folder that does not compile is refused (`Unprocessable`,
    /// with the compiler's report) and the running versions stay.
    fn deploy_folder(&self) -> impl Future<Output = Result<DeployView, ApiError>> + Send;

    /// Metrics in the Prometheus text format.
    fn metrics(&self) -> String;
}
