//! The durable engine behind `journey run`: the imperative shell around the pure VM.
//!
//! ```text
//! ingest (HTTP) ──Request──> writer thread ──one batch + one sync per round──> store
//!                              │  steps the VM for events, due timers, schedules
//!                              └─ wakes ──> outbox worker ──> delivery (file or SMTP)
//!                                             └─ reports back through the writer
//! ```
//!
//! [`Engine`] is the handle: it implements [`Api`] for the ingest and answers reads from the
//! store directly. All writes go through the one writer thread (`writer`), which groups the
//! requests that arrive while it commits, so many concurrent events share one sync.

pub mod clock;
pub mod metrics;
pub mod outbox;
pub mod views;
pub mod writer;

use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

pub use clock::{Clock, Fast, SystemClock};
use metrics::Metrics;
pub use writer::{DeliveryReport, Request, Shared, Writer};

use crate::api::{
    Accepted, Api, ApiError, CustomerView, DeadLetterView, DeployView, JourneyView, Submission,
};
use crate::store::Store;
use crate::vm::{Environment, Library};

/// What a deploy's source gives: the programs and the compiler's warnings as text.
pub type Compiled = (Vec<journey_compiler::bytecode::Program>, String);

/// Where a deploy's programs come from: compiles the journey folder for a deploy over the
/// versions of the library it is given; an error is the compiler's report, as text.
pub type Source = Arc<dyn Fn(&Library) -> Result<Compiled, String> + Send + Sync>;

/// The running engine's handle (cheap to clone).
#[derive(Clone)]
pub struct Engine {
    /// The journey folder's compiler, once `journey run` has set it.
    source: Arc<Mutex<Option<Source>>>,
    requests: Sender<Request>,
    store: Store,
    shared: Arc<Shared>,
    env: Environment,
    clock: Arc<dyn Clock>,
    /// Rung when the outbox has new messages.
    pub outbox_ready: Arc<Notify>,
    writer: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// Programs stored in a data folder, and which are current.
pub fn stored_library(store: &Store) -> Result<Library, crate::store::Error> {
    let mut programs = Vec::new();
    for bytes in store.programs()? {
        match journey_compiler::bytecode::format::decode(&bytes) {
            Ok((program, _)) => programs.push(program),
            Err(error) => {
                return Err(crate::store::Error::new(format!(
                    "a stored program cannot be read: {error}"
                )));
            }
        }
    }
    let current: std::collections::BTreeMap<String, [u8; 32]> =
        store.deployment()?.into_iter().collect();
    // Old versions first, then the current ones, so the current ones win.
    let (current_programs, old): (Vec<_>, Vec<_>) = programs.into_iter().partition(|p| {
        current.get(&p.journey) == Some(&journey_compiler::bytecode::format::hash(p).0)
    });
    let mut library = Library::new();
    for program in old {
        library.deploy(vec![program]);
    }
    library.deploy(current_programs);
    Ok(library)
}

impl Engine {
    /// Starts the writer thread over a store with the programs it holds.
    pub fn start(
        store: Store,
        env: Environment,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, crate::store::Error> {
        let library = stored_library(&store)?;
        let shared = Arc::new(Shared::new(library));
        let outbox_ready = Arc::new(Notify::new());
        let mut writer = Writer::new(
            store.clone(),
            env.clone(),
            Arc::clone(&clock),
            Arc::clone(&shared),
        )?;
        let ready = Arc::clone(&outbox_ready);
        writer.on_outbox = Arc::new(move || ready.notify_one());
        let (requests, receiver) = channel();
        let handle = std::thread::Builder::new()
            .name("journey-writer".to_string())
            .spawn(move || writer.run(receiver))
            .map_err(|e| {
                crate::store::Error::new(format!("cannot start the writer thread: {e}"))
            })?;
        Ok(Engine {
            source: Arc::new(Mutex::new(None)),
            requests,
            store,
            shared,
            env,
            clock,
            outbox_ready,
            writer: Arc::new(Mutex::new(Some(handle))),
        })
    }

    /// The store (for reads).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The shop settings.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ApiError>>) -> Request,
    ) -> Result<T, ApiError> {
        let (reply, answer) = oneshot::channel();
        let request = make(reply);
        self.shared.sending(&request);
        self.requests
            .send(request)
            .map_err(|_| ApiError::Unavailable("the engine is shutting down".to_string()))?;
        answer
            .await
            .map_err(|_| ApiError::Unavailable("the engine stopped before answering".to_string()))?
    }

    /// Makes `programs` the current versions; returns one line per journey saying what changed.
    pub async fn deploy(
        &self,
        programs: Vec<journey_compiler::bytecode::Program>,
    ) -> Result<Vec<String>, ApiError> {
        self.ask(|reply| Request::Deploy(programs, reply)).await
    }

    /// Sets where [`Api::deploy_folder`] (`POST /v1/deploy`, `SIGHUP`) takes its programs.
    pub fn set_source(&self, source: Source) {
        if let Ok(mut slot) = self.source.lock() {
            *slot = Some(source);
        }
    }

    /// Reports a delivery step of an outbox message; resolves once durable.
    pub async fn report(&self, seq: u64, report: DeliveryReport) -> Result<(), ApiError> {
        self.ask(|reply| Request::Delivery(seq, report, reply))
            .await
    }

    /// Finishes the round in progress, commits it and stops the writer.
    pub fn shutdown(&self) {
        let _ = self.requests.send(Request::Shutdown);
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Api for Engine {
    fn library(&self) -> Arc<Library> {
        self.shared
            .library
            .lock()
            .map(|l| Arc::clone(&l))
            .unwrap_or_default()
    }

    async fn submit(&self, events: Vec<Submission>) -> Result<Vec<Accepted>, ApiError> {
        self.ask(|reply| Request::Events(events, reply)).await
    }

    async fn upsert_profile(
        &self,
        customer: String,
        attributes: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), ApiError> {
        let library = self.library();
        if let Some(schema) = library.customer_schema() {
            let (_, problems) = crate::vm::decode::partial(library.schemas(), schema, &attributes);
            if let Some(problem) = problems.first() {
                return Err(ApiError::Unprocessable(format!("customer.{problem}")));
            }
        }
        self.ask(|reply| Request::Profile(customer, attributes, reply))
            .await
    }

    async fn customer(&self, customer: String) -> Result<Option<CustomerView>, ApiError> {
        views::customer(&self.store, &self.library(), &customer)
    }

    async fn erase(&self, customer: String) -> Result<bool, ApiError> {
        self.ask(|reply| Request::Erase(customer, reply)).await
    }

    async fn unsubscribe(&self, customer: String, token: String) -> Result<bool, ApiError> {
        let expected = self.env.unsubscribe_url(&customer);
        if !expected.ends_with(&format!("/{token}")) || token.is_empty() {
            return Ok(false);
        }
        let mut attributes = serde_json::Map::new();
        attributes.insert("email_consent".to_string(), serde_json::Value::Bool(false));
        self.ask(|reply| Request::Profile(customer, attributes, reply))
            .await?;
        Ok(true)
    }

    async fn journeys(&self) -> Result<Vec<JourneyView>, ApiError> {
        views::journeys(&self.store, &self.library())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetterView>, ApiError> {
        views::dead_letters(&self.store)
    }

    async fn deploy_folder(&self) -> Result<DeployView, ApiError> {
        let source = self
            .source
            .lock()
            .ok()
            .and_then(|slot| slot.clone())
            .ok_or_else(|| {
                ApiError::Unprocessable("this engine has no journey folder to deploy".to_string())
            })?;
        let library = self.library();
        // Compiling takes a while: off the request threads.
        let compiled = tokio::task::spawn_blocking(move || source(&library))
            .await
            .map_err(|e| ApiError::Internal(format!("the compiler stopped: {e}")))?;
        // Logged here, so a deploy shows in the log however it was asked for (start, `SIGHUP`,
        // `POST /v1/deploy`).
        match compiled {
            Ok((programs, warnings)) => {
                let deployed = self.deploy(programs).await?;
                for line in &deployed {
                    tracing::info!("deploy: {line}");
                }
                Ok(DeployView { deployed, warnings })
            }
            Err(report) => {
                tracing::error!(
                    "deploy refused: the journeys do not compile; the versions running stay"
                );
                Err(ApiError::Unprocessable(format!(
                    "the journeys do not compile; the versions running stay:\n{report}"
                )))
            }
        }
    }

    fn metrics(&self) -> String {
        let mut text = self.shared.metrics.render();
        text.push_str(&format!(
            "# HELP journey_store_bytes Bytes the store uses on disk.\n# TYPE journey_store_bytes gauge\njourney_store_bytes {}\n",
            self.store.size_on_disk()
        ));
        text
    }
}
