//! The single writer: one thread takes every request that changes state (events, profile
//! updates, erasures, delivery results, deploys), fires due timers and schedules, steps the VM,
//! and applies everything of one round as one atomic batch. A second thread, the syncer, makes
//! applied rounds durable (one sync for every round waiting: group commit) and only then sends
//! their replies, so an acknowledged event is on disk; meanwhile the writer steps the next
//! round. A round reads what earlier rounds applied, synced or not: if a sync fails, the rounds
//! it covered are answered with an error (a retry is recognised by its idempotency key).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use journey_compiler::bytecode::Trigger;
use tokio::sync::oneshot;

use super::clock::Clock;
use super::metrics::Metrics;
use crate::api::{Accepted, ApiError, Submission};
use crate::store::{Batch, DeadLetter, DueTimer, OutboxRecord, Store};
use crate::vm::{self, CustomerState, Effect, Environment, Input, Library, Standing, TimerId};

/// Requests a round can group.
const MAX_GROUP: usize = 1024;
/// Due timers fired per round (the rest go in the next round).
const TIMERS_PER_ROUND: usize = 2048;
/// Due timers, or customers of a sweep, read from the store at a time: a round cut short has
/// not read much of what it leaves.
const READ_CHUNK: usize = 64;
/// Customers asked per round when a schedule fires or a migration sweeps.
const SCHEDULE_CHUNK: usize = 2048;
/// How long a round may go on with its own work (due timers, a schedule's or a migration's
/// chunk) while requests from outside wait for it (in the round, answered once it commits, or
/// queued for the next): a burst of timers holds a shop's events back for a few milliseconds,
/// not for a whole chunk.
pub const ROUND_BUDGET: Duration = Duration::from_millis(5);
/// Items of its own work a round does at least, whatever the budget, so that it always
/// advances.
const ROUND_MINIMUM: usize = 16;

/// What the outbox worker reports about a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryReport {
    /// An attempt is about to start (recorded before the message is handed over).
    Attempting {
        /// When to try again if nothing is heard back (a crash during the attempt).
        retry_at: i64,
    },
    /// Delivered (by attempt number `attempt`): forget it.
    Delivered {
        /// Which attempt it was (1 for the first).
        attempt: u32,
        /// Whose message it was (for the decision log: the writer need not read the message).
        customer: String,
        /// The journey that sent it.
        journey: String,
        /// Its template.
        template: String,
        /// Its Message-ID.
        message_id: String,
    },
    /// A temporary failure of attempt number `attempt`: try again at `at`.
    Retry {
        /// Which attempt failed (1 for the first).
        attempt: u32,
        /// When.
        at: i64,
        /// The server's answer.
        reason: String,
    },
    /// A permanent failure: a dead letter (and the address suppressed when it was refused).
    Permanent {
        /// The server's answer.
        reason: String,
        /// Whether the address itself was refused.
        suppress: bool,
    },
    /// Not sent: the customer withdrew consent or was erased since.
    Dropped {
        /// Why.
        reason: String,
    },
}

/// A request to the writer.
pub enum Request {
    /// Process events.
    Events(
        Vec<Submission>,
        oneshot::Sender<Result<Vec<Accepted>, ApiError>>,
    ),
    /// Merge profile attributes.
    Profile(
        String,
        serde_json::Map<String, serde_json::Value>,
        oneshot::Sender<Result<(), ApiError>>,
    ),
    /// Erase a customer.
    Erase(String, oneshot::Sender<Result<bool, ApiError>>),
    /// Record the outcome of a delivery step for an outbox message.
    Delivery(u64, DeliveryReport, oneshot::Sender<Result<(), ApiError>>),
    /// Make these programs current.
    Deploy(
        Vec<journey_compiler::bytecode::Program>,
        oneshot::Sender<Result<Vec<String>, ApiError>>,
    ),
    /// Finish the round in progress and stop.
    Shutdown,
}

impl Request {
    /// Whether a caller outside the engine waits for it (delivery reports are the engine's own
    /// and can wait for a round that fires timers).
    fn is_from_outside(&self) -> bool {
        !matches!(self, Request::Delivery(..) | Request::Shutdown)
    }
}

/// The writer's shared view for readers.
pub struct Shared {
    /// The deployed programs.
    pub library: Mutex<Arc<Library>>,
    /// Counters, among them the requests waiting for the writer (`requests_waiting`: while
    /// there are some, a round cuts its own work short, [`ROUND_BUDGET`]).
    pub metrics: Metrics,
}

impl Shared {
    /// The shared view of a writer starting with `library`.
    pub fn new(library: Library) -> Shared {
        Shared {
            library: Mutex::new(Arc::new(library)),
            metrics: Metrics::default(),
        }
    }

    /// Counts `request` as waiting, if it comes from outside; call before sending it.
    pub fn sending(&self, request: &Request) {
        if request.is_from_outside() {
            self.metrics
                .requests_waiting
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts `request` as taken by the writer.
    fn taken(&self, request: &Request) {
        if request.is_from_outside() {
            let _ = self.metrics.requests_waiting.fetch_update(
                Ordering::Relaxed,
                Ordering::Relaxed,
                |n| n.checked_sub(1),
            );
        }
    }

    /// Whether requests from outside are waiting for the writer.
    fn writes_waiting(&self) -> bool {
        self.metrics.requests_waiting.load(Ordering::Relaxed) > 0
    }
}

/// Replies held until the round is durable.
enum Reply {
    Events(
        oneshot::Sender<Result<Vec<Accepted>, ApiError>>,
        Vec<Accepted>,
    ),
    Unit(oneshot::Sender<Result<(), ApiError>>),
    Bool(oneshot::Sender<Result<bool, ApiError>>, bool),
    Deployed(oneshot::Sender<Result<Vec<String>, ApiError>>, Vec<String>),
}

impl Reply {
    fn send(self, failure: Option<&ApiError>) {
        match (self, failure) {
            (Reply::Events(tx, value), None) => drop(tx.send(Ok(value))),
            (Reply::Events(tx, _), Some(e)) => drop(tx.send(Err(e.clone()))),
            (Reply::Unit(tx), None) => drop(tx.send(Ok(()))),
            (Reply::Unit(tx), Some(e)) => drop(tx.send(Err(e.clone()))),
            (Reply::Bool(tx, value), None) => drop(tx.send(Ok(value))),
            (Reply::Bool(tx, _), Some(e)) => drop(tx.send(Err(e.clone()))),
            (Reply::Deployed(tx, value), None) => drop(tx.send(Ok(value))),
            (Reply::Deployed(tx, _), Some(e)) => drop(tx.send(Err(e.clone()))),
        }
    }
}

/// The writer's state.
pub struct Writer {
    store: Store,
    env: Environment,
    clock: Arc<dyn Clock>,
    shared: Arc<Shared>,
    outbox_seq: u64,
    audit_seq: u64,
    dead_seq: u64,
    /// Wakes the outbox worker when messages were added (once they are durable).
    pub on_outbox: Arc<dyn Fn() + Send + Sync>,
    /// The syncer thread, while [`Writer::run`] runs; without it a round syncs itself.
    syncer: Option<std::sync::mpsc::SyncSender<Applied>>,
    /// Next firing per schedule journey.
    schedules: HashMap<String, i64>,
    /// A schedule firing in progress: journey, the time it fired for, the last customer asked.
    schedule_cursor: Option<(String, i64, Option<String>)>,
    /// A catch-up after downtime in progress, for its progress report.
    catch_up: Option<CatchUp>,
    /// Migrations in progress after a deploy: journey, the last customer looked at, customers
    /// on older versions so far.
    migrations: std::collections::VecDeque<(String, Option<String>, u64)>,
    /// Customers per standing, as committed (the store's `n` table).
    standings: HashMap<Standing, u64>,
    /// How long a round goes on with its own work while requests wait ([`ROUND_BUDGET`]).
    round_budget: Duration,
}

/// Rounds applied and waiting for the syncer, at most (the writer waits when it is ahead).
const SYNC_QUEUE: usize = 4;
/// How soon the idle writer looks again when a timer is due within a second.
const IDLE_NEAR_TIMER: Duration = Duration::from_millis(50);

/// A round applied to the store, waiting to be made durable and answered.
struct Applied {
    replies: Vec<Reply>,
    outbox_added: bool,
    /// Writes it applied (a round with none needs no sync of its own).
    writes: usize,
    /// When the round began (for the commit-time metric).
    started: std::time::Instant,
}

/// When a round stops its own work: once its budget has passed since the round began, if it
/// carries requests from outside (answered only once it is committed) or some are waiting.
struct Budget {
    started: Instant,
    budget: Duration,
    carrying: bool,
    shared: Arc<Shared>,
}

impl Budget {
    /// Whether to stop after `done` items of the round's own work.
    fn spent(&self, done: usize) -> bool {
        done >= ROUND_MINIMUM
            && self.started.elapsed() >= self.budget
            && (self.carrying || self.shared.writes_waiting())
    }
}

/// The thread that makes applied rounds durable: one sync for all the rounds waiting, then
/// their replies, in the order they were applied.
struct Syncer {
    store: Store,
    shared: Arc<Shared>,
    on_outbox: Arc<dyn Fn() + Send + Sync>,
}

impl Syncer {
    fn run(self, rounds: Receiver<Applied>) {
        while let Ok(first) = rounds.recv() {
            let mut group = vec![first];
            while let Ok(next) = rounds.try_recv() {
                group.push(next);
            }
            self.finish(group);
        }
    }

    /// Syncs once for the group (if any round wrote), then answers every round of it.
    fn finish(&self, group: Vec<Applied>) {
        let wrote = group.iter().any(|round| round.writes > 0);
        let failure = if wrote {
            match self.store.sync() {
                Ok(()) => None,
                Err(error) => {
                    tracing::error!("sync failed, nothing acknowledged: {error}");
                    Some(ApiError::Internal(format!("the store failed: {error}")))
                }
            }
        } else {
            None
        };
        if wrote && failure.is_none() {
            let metrics = &self.shared.metrics;
            metrics.add(&metrics.commits, 1);
            if let Some(oldest) = group.first() {
                metrics.observe_commit(oldest.started.elapsed());
            }
        }
        let mut outbox_added = false;
        for round in group {
            outbox_added |= round.outbox_added;
            for reply in round.replies {
                reply.send(failure.as_ref());
            }
        }
        if outbox_added && failure.is_none() {
            (self.on_outbox)();
        }
    }
}

/// Timers that were overdue when the writer started, and how their firing goes.
struct CatchUp {
    /// Overdue at start.
    overdue: u64,
    /// Fired since.
    fired: u64,
    /// When the catch-up began.
    started: std::time::Instant,
    /// When progress was last reported.
    reported: std::time::Instant,
}

/// Seconds between two progress lines of a catch-up.
const CATCH_UP_REPORT_SECONDS: u64 = 2;

/// One round's changes before they are committed.
struct Round<'a> {
    store: &'a Store,
    batch: Batch,
    states: HashMap<String, CustomerState>,
    /// Customers whose state this round changed (written at the commit).
    dirty: std::collections::HashSet<String>,
    /// Customers erased this round: a later step starts them afresh, not from the store.
    erased: std::collections::HashSet<String>,
    timers: HashMap<(String, TimerId), Option<i64>>,
    replies: Vec<Reply>,
    outbox_added: bool,
    outbox_seq: u64,
    audit_seq: u64,
    dead_seq: u64,
    processed: HashMap<String, ()>,
    /// Where the instances of each customer read from the store stood before this round.
    before: HashMap<String, Vec<Standing>>,
}

impl Round<'_> {
    fn state(&mut self, customer: &str) -> Result<&mut CustomerState, ApiError> {
        // Read from the store (unless erased this round); a customer not there starts afresh.
        if !self.load(customer)? {
            self.states
                .insert(customer.to_string(), CustomerState::new(customer));
        }
        if !self.dirty.contains(customer) {
            self.dirty.insert(customer.to_string());
        }
        self.states
            .get_mut(customer)
            .ok_or_else(|| ApiError::Internal("customer state vanished".to_string()))
    }

    /// Loads a customer's stored state into the round (not marked changed); whether the
    /// customer exists.
    fn load(&mut self, customer: &str) -> Result<bool, ApiError> {
        if self.states.contains_key(customer) {
            return Ok(true);
        }
        if self.erased.contains(customer) {
            return Ok(false);
        }
        match self
            .store
            .customer(customer)
            .map_err(|e| ApiError::Internal(e.message))?
        {
            Some(state) => {
                self.before.insert(customer.to_string(), state.standings());
                self.states.insert(customer.to_string(), state);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// When a customer's timer is set for: as this round left it, else as the customer's state
    /// before the step said (`before`, from [`CustomerState::pending_timers`]).
    fn timer_at(&self, customer: &str, timer: &TimerId, before: &[(TimerId, i64)]) -> Option<i64> {
        match self.timers.get(&(customer.to_string(), timer.clone())) {
            Some(at) => *at,
            None => before
                .iter()
                .find(|(pending, _)| pending == timer)
                .map(|(_, at)| *at),
        }
    }

    /// Records what one step (or one delivery report) decided, under one audit key.
    fn audit(&mut self, customer: &str, at: i64, entries: Vec<serde_json::Value>) {
        if entries.is_empty() {
            return;
        }
        self.batch.audit(customer, self.audit_seq, at, entries);
        self.audit_seq += 1;
    }

    /// Records the effects of one step; `before` are the timers the customer had pending
    /// before it.
    fn effects(
        &mut self,
        customer: &str,
        now: i64,
        effects: Vec<Effect>,
        before: &[(TimerId, i64)],
        metrics: &Metrics,
    ) {
        let mut audit = Vec::new();
        for effect in effects {
            if let Effect::Send(message) = effect {
                // The log keeps what was decided, not the whole message.
                audit.push(serde_json::json!({
                    "effect": "queued", "journey": message.journey, "template": message.template,
                    "message_id": message.message_id, "to": message.to, "subject": message.subject,
                }));
                let record = OutboxRecord {
                    customer: customer.to_string(),
                    message: *message,
                    attempts: 0,
                    next_attempt: now,
                    last_error: None,
                    queued_at: now,
                };
                self.batch.put_outbox(self.outbox_seq, &record);
                self.outbox_seq += 1;
                self.outbox_added = true;
                metrics.add(&metrics.messages_queued, 1);
                continue;
            }
            match &effect {
                Effect::SetTimer { timer, at } => {
                    let previous = self.timer_at(customer, timer, before);
                    self.batch.set_timer(customer, timer, *at, previous);
                    self.timers
                        .insert((customer.to_string(), timer.clone()), Some(*at));
                }
                Effect::CancelTimer { timer } => {
                    if let Some(previous) = self.timer_at(customer, timer, before) {
                        self.batch.cancel_timer(customer, timer, previous);
                    }
                    self.timers
                        .insert((customer.to_string(), timer.clone()), None);
                }
                Effect::Send(_) => {} // below, where the message is moved
                Effect::Decision(_)
                | Effect::Goal { .. }
                | Effect::Exit { .. }
                | Effect::Error(_)
                | Effect::SetProfile { .. } => {
                    if matches!(effect, Effect::Error(_)) {
                        metrics.add(&metrics.runtime_errors, 1);
                    }
                    audit.push(serde_json::to_value(&effect).unwrap_or(serde_json::Value::Null));
                }
            }
        }
        self.audit(customer, now, audit);
    }
}

impl Writer {
    /// A writer over a store, with its counters restored.
    pub fn new(
        store: Store,
        env: Environment,
        clock: Arc<dyn Clock>,
        shared: Arc<Shared>,
    ) -> Result<Writer, crate::store::Error> {
        drop_reverse_index(&store)?;
        let standings = load_standings(&store)?;
        let outbox_seq = store.counter("outbox")?;
        let audit_seq = store.counter("audit")?;
        let dead_seq = store.counter("dead")?;
        let mut writer = Writer {
            store,
            env,
            clock,
            shared,
            outbox_seq,
            audit_seq,
            dead_seq,
            on_outbox: Arc::new(|| {}),
            syncer: None,
            schedules: HashMap::new(),
            schedule_cursor: None,
            catch_up: None,
            migrations: std::collections::VecDeque::new(),
            standings,
            round_budget: ROUND_BUDGET,
        };
        writer.start_catch_up();
        writer.plan_schedules();
        writer.resume_migrations();
        Ok(writer)
    }

    /// Sets how long a round goes on with its own work while requests wait (tests set it to
    /// zero to see the smallest rounds).
    pub fn set_round_budget(&mut self, budget: Duration) {
        self.round_budget = budget;
    }

    fn library(&self) -> Arc<Library> {
        self.shared
            .library
            .lock()
            .map(|l| Arc::clone(&l))
            .unwrap_or_default()
    }

    /// Counts the timers that fell due while the runtime was down; with more than a round's
    /// worth, says so and reports progress while they fire.
    fn start_catch_up(&mut self) {
        let now = self.clock.now();
        let overdue = self.store.count_due(now).unwrap_or(0);
        if overdue > TIMERS_PER_ROUND as u64 {
            let oldest = self.store.next_wake().ok().flatten().unwrap_or(now);
            tracing::info!(
                "catching up: {overdue} timers fell due while the runtime was down (the oldest {} s ago); firing them oldest first, {TIMERS_PER_ROUND} per round",
                now.saturating_sub(oldest)
            );
            let started = std::time::Instant::now();
            self.catch_up = Some(CatchUp {
                overdue,
                fired: 0,
                started,
                reported: started,
            });
        }
    }

    /// Counts `fired` timers toward the catch-up in progress; reports progress every few
    /// seconds, and the end.
    fn catch_up_progress(&mut self, fired: usize, done: bool, oldest_due_ago: Option<i64>) {
        let Some(progress) = self.catch_up.as_mut() else {
            return;
        };
        progress.fired += fired as u64;
        if done {
            tracing::info!(
                "caught up: {} overdue timers fired in {:.1} s",
                progress.fired,
                progress.started.elapsed().as_secs_f64()
            );
            self.catch_up = None;
        } else if progress.reported.elapsed().as_secs() >= CATCH_UP_REPORT_SECONDS {
            progress.reported = std::time::Instant::now();
            let elapsed = progress.started.elapsed().as_secs_f64().max(0.001);
            let rate = progress.fired as f64 / elapsed;
            let left = progress.overdue.saturating_sub(progress.fired);
            tracing::info!(
                "catching up: {} of {} overdue timers fired ({:.0}/s, about {:.0} s left; the oldest still due {} s ago)",
                progress.fired,
                progress.overdue,
                rate,
                left as f64 / rate.max(1.0),
                oldest_due_ago.unwrap_or(0)
            );
        }
    }

    /// Queues the migration of every current version with `migrate` lines whose sweep over
    /// the customers has not finished (a deploy interrupted by a crash, or just deployed).
    fn resume_migrations(&mut self) {
        let library = self.library();
        for (hash, program) in library.current_programs() {
            if program.migrations.is_empty() {
                continue;
            }
            let done = self
                .store
                .counter(&format!("migrated/{}", program.journey))
                .unwrap_or(0);
            if done != version_mark(&hash)
                && !self
                    .migrations
                    .iter()
                    .any(|(j, _, _)| *j == program.journey)
            {
                tracing::info!(
                    journey = program.journey,
                    "migrating customers of older versions (`migrate` lines)"
                );
                self.migrations
                    .push_back((program.journey.clone(), None, 0));
            }
        }
    }

    fn plan_schedules(&mut self) {
        let now = self.clock.now();
        let library = self.library();
        self.schedules.clear();
        for (_, program) in library.current_programs() {
            if let Trigger::Schedule { cron, zone, .. } = &program.trigger {
                let last = self
                    .store
                    .counter(&format!("schedule/{}", program.journey))
                    .ok()
                    .and_then(|v| i64::try_from(v).ok())
                    .filter(|v| *v > 0)
                    .unwrap_or(now);
                if let Some(next) = next_fire(cron, zone, last) {
                    self.schedules.insert(program.journey.clone(), next);
                }
            }
        }
    }

    /// Runs until a `Shutdown` request or until every sender is gone; the syncer runs beside it
    /// and finishes the last rounds before this returns.
    pub fn run(mut self, requests: Receiver<Request>) {
        let (applied, to_sync) = std::sync::mpsc::sync_channel(SYNC_QUEUE);
        let syncer = Syncer {
            store: self.store.clone(),
            shared: Arc::clone(&self.shared),
            on_outbox: Arc::clone(&self.on_outbox),
        };
        let handle = std::thread::Builder::new()
            .name("journey-syncer".to_string())
            .spawn(move || syncer.run(to_sync));
        match handle {
            Ok(handle) => {
                self.syncer = Some(applied);
                self.serve(requests);
                // Dropping the sender lets the syncer finish what is queued and stop.
                self.syncer = None;
                let _ = handle.join();
            }
            Err(error) => {
                tracing::warn!("cannot start the syncer thread ({error}); rounds sync themselves");
                self.serve(requests);
            }
        }
        tracing::info!("the writer stopped after its last commit");
    }

    fn serve(&mut self, requests: Receiver<Request>) {
        loop {
            let now = self.clock.now();
            let wait = self.idle_wait(now);
            let mut incoming = Vec::new();
            let mut stop = false;
            match requests.recv_timeout(wait) {
                Ok(Request::Shutdown) => stop = true,
                Ok(request) => {
                    self.shared.taken(&request);
                    incoming.push(request);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            while incoming.len() < MAX_GROUP && !stop {
                match requests.try_recv() {
                    Ok(Request::Shutdown) => stop = true,
                    Ok(request) => {
                        self.shared.taken(&request);
                        incoming.push(request);
                    }
                    Err(_) => break,
                }
            }
            self.round(incoming);
            if stop {
                return;
            }
        }
    }

    fn idle_wait(&self, now: i64) -> Duration {
        let next_timer = self.store.next_wake().ok().flatten();
        let next_schedule = self.schedules.values().min().copied();
        let busy = self.schedule_cursor.is_some() || !self.migrations.is_empty();
        let next = [next_timer, next_schedule].into_iter().flatten().min();
        match next {
            _ if busy => Duration::ZERO,
            Some(at) if at <= now => Duration::ZERO,
            // Times are whole seconds: sleep until the second before, then look again often,
            // so a timer is not a second late (in this clock's seconds: a fast clock's are short).
            Some(at) => {
                let far = self
                    .clock
                    .real_time(at.saturating_sub(now).saturating_sub(1));
                let near = IDLE_NEAR_TIMER.min(self.clock.real_time(1));
                far.max(near).min(Duration::from_secs(1))
            }
            None => Duration::from_secs(1),
        }
    }

    /// One round: the requests, due timers, a schedule chunk; one commit; the replies.
    pub fn round(&mut self, incoming: Vec<Request>) {
        let now = self.clock.now();
        let library = self.library();
        let started = Instant::now();
        let budget = Budget {
            started,
            budget: self.round_budget,
            carrying: incoming.iter().any(Request::is_from_outside),
            shared: Arc::clone(&self.shared),
        };
        let store = self.store.clone();
        let mut round = Round {
            store: &store,
            batch: Batch::new(),
            states: HashMap::new(),
            dirty: std::collections::HashSet::new(),
            erased: std::collections::HashSet::new(),
            timers: HashMap::new(),
            replies: Vec::new(),
            outbox_added: false,
            outbox_seq: self.outbox_seq,
            audit_seq: self.audit_seq,
            dead_seq: self.dead_seq,
            processed: HashMap::new(),
            before: HashMap::new(),
        };
        let mut failure: Option<ApiError> = None;
        let mut deployed = false;
        for request in incoming {
            let result = match request {
                Request::Events(events, reply) => self
                    .events(&mut round, &library, events, now)
                    .map(|accepted| {
                        round.replies.push(Reply::Events(reply, accepted));
                    }),
                Request::Profile(customer, attributes, reply) => self
                    .step(
                        &mut round,
                        &library,
                        &customer,
                        &Input::Profile(attributes),
                        now,
                    )
                    .map(|()| round.replies.push(Reply::Unit(reply))),
                Request::Erase(customer, reply) => self
                    .erase(&mut round, &customer)
                    .map(|existed| round.replies.push(Reply::Bool(reply, existed))),
                Request::Delivery(seq, report, reply) => self
                    .delivery(&mut round, seq, report, now)
                    .map(|()| round.replies.push(Reply::Unit(reply))),
                Request::Deploy(programs, reply) => {
                    let changes = self.deploy(&mut round, programs);
                    deployed = true;
                    round.replies.push(Reply::Deployed(reply, changes));
                    Ok(())
                }
                Request::Shutdown => Ok(()),
            };
            if let Err(error) = result {
                failure = Some(error);
                break;
            }
        }
        if failure.is_none()
            && let Err(error) = self.fire_timers(&mut round, &library, now, &budget)
        {
            failure = Some(error);
        }
        if failure.is_none()
            && let Err(error) = self.fire_schedule(&mut round, &library, now, &budget)
        {
            failure = Some(error);
        }
        if failure.is_none()
            && let Err(error) = self.migrate_chunk(&mut round, &library, now, &budget)
        {
            failure = Some(error);
        }
        // Commit: states, counters, everything in one batch, then one sync.
        if failure.is_none() {
            let standings = self.count_moves(&mut round);
            for customer in std::mem::take(&mut round.dirty) {
                if let Some(state) = round.states.get(&customer) {
                    round.batch.put_customer(state);
                }
            }
            round.batch.counter("outbox", round.outbox_seq);
            round.batch.counter("audit", round.audit_seq);
            round.batch.counter("dead", round.dead_seq);
            let batch = std::mem::take(&mut round.batch);
            let writes = batch.len();
            match self.store.apply(batch) {
                Ok(()) => {
                    for (standing, customers) in standings {
                        if customers == 0 {
                            self.standings.remove(&standing);
                        } else {
                            self.standings.insert(standing, customers);
                        }
                    }
                    self.outbox_seq = round.outbox_seq;
                    self.audit_seq = round.audit_seq;
                    self.dead_seq = round.dead_seq;
                }
                Err(error) => {
                    tracing::error!("commit failed, nothing acknowledged: {error}");
                    failure = Some(ApiError::Internal(format!("the store failed: {error}")));
                }
            }
            if failure.is_none() {
                if deployed {
                    self.after_deploy();
                }
                let applied = Applied {
                    replies: std::mem::take(&mut round.replies),
                    outbox_added: round.outbox_added,
                    writes,
                    started,
                };
                // The syncer answers once the round is durable; without it, sync here.
                match &self.syncer {
                    Some(syncer) => {
                        if let Err(unsent) = syncer.send(applied) {
                            self.sync_now(vec![unsent.0]);
                        }
                    }
                    None => self.sync_now(vec![applied]),
                }
                return;
            }
        }
        for reply in round.replies {
            reply.send(failure.as_ref());
        }
    }

    /// Moves the round's customers in the counts per standing: writes the counts that change
    /// into the round's batch and returns them (the writer keeps them once it is applied).
    fn count_moves(&self, round: &mut Round<'_>) -> Vec<(Standing, u64)> {
        let mut moves: HashMap<Standing, i64> = HashMap::new();
        // Each customer once (one erased and written again in the round is in both sets): out
        // of where the store had them, into where the round leaves them.
        let customers: std::collections::HashSet<&String> =
            round.dirty.iter().chain(round.erased.iter()).collect();
        for customer in customers {
            for standing in round.before.get(customer).into_iter().flatten() {
                *moves.entry(standing.clone()).or_insert(0) -= 1;
            }
            if round.dirty.contains(customer)
                && let Some(state) = round.states.get(customer)
            {
                for standing in state.standings() {
                    *moves.entry(standing).or_insert(0) += 1;
                }
            }
        }
        let mut changed = Vec::new();
        for (standing, by) in moves {
            if by == 0 {
                continue;
            }
            let now = self.standings.get(&standing).copied().unwrap_or(0);
            let customers = now.saturating_add_signed(by);
            round.batch.standing(&standing, customers);
            changed.push((standing, customers));
        }
        changed
    }

    /// What a deploy changes in the writer's own plans (after its round applied).
    fn after_deploy(&mut self) {
        self.plan_schedules();
        // A sweep in progress started for the versions deployed before: start again.
        self.migrations.clear();
        self.resume_migrations();
    }

    /// Makes rounds durable on this thread (when there is no syncer thread).
    fn sync_now(&self, rounds: Vec<Applied>) {
        Syncer {
            store: self.store.clone(),
            shared: Arc::clone(&self.shared),
            on_outbox: Arc::clone(&self.on_outbox),
        }
        .finish(rounds);
    }

    fn events(
        &mut self,
        round: &mut Round<'_>,
        library: &Library,
        events: Vec<Submission>,
        now: i64,
    ) -> Result<Vec<Accepted>, ApiError> {
        let mut accepted = Vec::with_capacity(events.len());
        for submission in events {
            let seen = round.processed.contains_key(&submission.key)
                || self
                    .store
                    .processed(&submission.key)
                    .map_err(|e| ApiError::Internal(e.message))?;
            if seen {
                self.shared
                    .metrics
                    .add(&self.shared.metrics.events_duplicate, 1);
                accepted.push(Accepted::Duplicate);
                continue;
            }
            round.processed.insert(submission.key.clone(), ());
            round.batch.processed(&submission.key, now);
            self.step(
                round,
                library,
                &submission.customer,
                &Input::Event(submission.event),
                now,
            )?;
            self.shared
                .metrics
                .add(&self.shared.metrics.events_processed, 1);
            accepted.push(Accepted::Processed);
        }
        Ok(accepted)
    }

    fn step(
        &self,
        round: &mut Round<'_>,
        library: &Library,
        customer: &str,
        input: &Input,
        now: i64,
    ) -> Result<(), ApiError> {
        // A stored customer a step leaves as it was (a schedule or a timer that concerns them
        // no longer) is not written again: a schedule's sweep would rewrite every customer.
        let stored = round.load(customer)?;
        if !stored {
            round
                .states
                .insert(customer.to_string(), CustomerState::new(customer));
        }
        let unchanged_so_far =
            stored && !round.dirty.contains(customer) && !round.erased.contains(customer);
        let state = round.state(customer)?;
        let as_stored = unchanged_so_far.then(|| state.clone());
        let before = state.pending_timers();
        let mut executed = 0;
        let effects = vm::step_in_place(library, &self.env, state, input, now, &mut executed);
        self.shared.metrics.add(&self.shared.metrics.vm_steps, 1);
        if effects.is_empty() && as_stored.is_some_and(|stored| stored == *state) {
            round.dirty.remove(customer);
            return Ok(());
        }
        round.effects(customer, now, effects, &before, &self.shared.metrics);
        Ok(())
    }

    fn fire_timers(
        &mut self,
        round: &mut Round<'_>,
        library: &Library,
        now: i64,
        budget: &Budget,
    ) -> Result<(), ApiError> {
        // A few at a time, so that a round cut short has not read what it leaves.
        let mut after: Option<DueTimer> = None;
        let mut handled = 0;
        let mut oldest_due_ago = None;
        let mut done = false;
        'chunks: while handled < TIMERS_PER_ROUND {
            let asked = READ_CHUNK.min(TIMERS_PER_ROUND - handled);
            let due = self
                .store
                .due_timers_after(now, after.as_ref(), asked)
                .map_err(|e| ApiError::Internal(e.message))?;
            if oldest_due_ago.is_none() {
                oldest_due_ago = due.first().map(|oldest| now.saturating_sub(oldest.at));
            }
            let complete = due.len() < asked;
            after = due.last().cloned();
            for timer in due {
                // The rest stay in the index for the next round.
                if budget.spent(handled) {
                    break 'chunks;
                }
                handled += 1;
                // The index entry just read is the timer's current setting, unless this round
                // already replaced or removed it.
                let key = (timer.customer.clone(), timer.timer.clone());
                if round
                    .timers
                    .get(&key)
                    .is_some_and(|current| *current != Some(timer.at))
                {
                    continue;
                }
                round
                    .batch
                    .cancel_timer(&timer.customer, &timer.timer, timer.at);
                round.timers.insert(key, None);
                // A timer left behind for a customer who is gone (erased while an older version
                // ran) is dropped without bringing the customer back.
                if !round.load(&timer.customer)? {
                    continue;
                }
                self.shared
                    .metrics
                    .add(&self.shared.metrics.timers_fired, 1);
                self.shared
                    .metrics
                    .observe_lateness(now.saturating_sub(timer.at));
                self.step(
                    round,
                    library,
                    &timer.customer,
                    &Input::Timer(timer.timer),
                    now,
                )?;
            }
            if complete {
                done = true;
                break;
            }
        }
        self.catch_up_progress(handled, done, oldest_due_ago);
        Ok(())
    }

    /// One round of a sweep (a schedule firing, a migration): `ask`s the customers after
    /// `after` in order, [`READ_CHUNK`] ids read at a time, until [`SCHEDULE_CHUNK`] are asked or
    /// the round's budget is spent. Returns the last customer asked (where the next round goes
    /// on) and whether none is left after it.
    fn sweep(
        &self,
        after: Option<String>,
        budget: &Budget,
        mut ask: impl FnMut(&str) -> Result<(), ApiError>,
    ) -> Result<(Option<String>, bool), ApiError> {
        let mut last = after;
        let mut asked = 0;
        while asked < SCHEDULE_CHUNK {
            let wanted = READ_CHUNK.min(SCHEDULE_CHUNK - asked);
            let ids = self
                .store
                .customer_ids(last.as_deref(), wanted)
                .map_err(|e| ApiError::Internal(e.message))?;
            let complete = ids.len() < wanted;
            for id in ids {
                if budget.spent(asked) {
                    return Ok((last, false));
                }
                asked += 1;
                ask(&id)?;
                last = Some(id);
            }
            if complete {
                return Ok((last, true));
            }
        }
        Ok((last, false))
    }

    fn fire_schedule(
        &mut self,
        round: &mut Round<'_>,
        library: &Library,
        now: i64,
        budget: &Budget,
    ) -> Result<(), ApiError> {
        if self.schedule_cursor.is_none() {
            let due = self
                .schedules
                .iter()
                .filter(|(_, at)| **at <= now)
                .min_by_key(|(_, at)| **at)
                .map(|(journey, at)| (journey.clone(), *at));
            if let Some((journey, at)) = due {
                tracing::info!(journey, "schedule fired; asking every customer");
                self.schedule_cursor = Some((journey, at, None));
            }
        }
        let Some((journey, fired_at, after)) = self.schedule_cursor.clone() else {
            return Ok(());
        };
        let input = Input::Schedule {
            journey: journey.clone(),
        };
        let (last, done) = self.sweep(after, budget, |id| {
            self.step(round, library, id, &input, now)
        })?;
        if done {
            // Done: remember it (a restart does not fire it again) and plan the next one.
            self.schedule_cursor = None;
            round.batch.counter(
                &format!("schedule/{journey}"),
                u64::try_from(fired_at).unwrap_or(0),
            );
            let next = library
                .current(&journey)
                .and_then(|(_, program)| match &program.trigger {
                    Trigger::Schedule { cron, zone, .. } => {
                        next_fire(cron, zone, now.max(fired_at))
                    }
                    _ => None,
                });
            match next {
                Some(next) => {
                    self.schedules.insert(journey, next);
                }
                None => {
                    self.schedules.remove(&journey);
                }
            }
        } else {
            // Cut short, or more customers than a round asks: the next round goes on after the
            // last customer asked.
            self.schedule_cursor = Some((journey, fired_at, last));
        }
        Ok(())
    }

    /// Moves the next chunk of customers of the migration in progress (customers on an older
    /// version of the journey only); marks the migration done after the last customer.
    fn migrate_chunk(
        &mut self,
        round: &mut Round<'_>,
        library: &Library,
        now: i64,
        budget: &Budget,
    ) -> Result<(), ApiError> {
        let Some((journey, after, mut looked_at)) = self.migrations.front().cloned() else {
            return Ok(());
        };
        let Some((hash, _)) = library.current(&journey) else {
            self.migrations.pop_front();
            return Ok(());
        };
        let (last, done) = self.sweep(after, budget, |id| {
            let on_older = |state: &CustomerState| {
                state.journeys.get(&journey).is_some_and(|membership| {
                    membership
                        .instances
                        .iter()
                        .any(|i| i.is_active() && i.version != hash)
                })
            };
            let on_older_version = match round.states.get(id) {
                Some(state) => on_older(state),
                None if round.erased.contains(id) => false,
                None => self
                    .store
                    .customer(id)
                    .map_err(|e| ApiError::Internal(e.message))?
                    .is_some_and(|state| on_older(&state)),
            };
            if on_older_version {
                looked_at += 1;
                self.step(
                    round,
                    library,
                    id,
                    &Input::Migrate {
                        journey: journey.clone(),
                    },
                    now,
                )?;
            }
            Ok(())
        })?;
        if done {
            self.migrations.pop_front();
            round
                .batch
                .counter(&format!("migrated/{journey}"), version_mark(&hash));
            tracing::info!(
                journey,
                "migration done: {looked_at} customer(s) on older versions checked against the `migrate` lines (the decision log says who moved)"
            );
        } else if let Some(front) = self.migrations.front_mut() {
            // The next round goes on after the last customer checked.
            front.1 = last;
            front.2 = looked_at;
        }
        Ok(())
    }

    fn erase(&self, round: &mut Round<'_>, customer: &str) -> Result<bool, ApiError> {
        let internal = |e: crate::store::Error| ApiError::Internal(e.message);
        let existed = round.load(customer)?;
        let pending = round
            .states
            .remove(customer)
            .map(|state| state.pending_timers())
            .unwrap_or_default();
        round.dirty.remove(customer);
        round.erased.insert(customer.to_string());
        round.batch.delete_customer(customer);
        // Timers as the state has them, and as this round set them (fired or cancelled ones
        // are already out of the index).
        let mut timers: HashMap<TimerId, Option<i64>> = pending
            .into_iter()
            .map(|(timer, at)| (timer, Some(at)))
            .collect();
        for ((owner, timer), at) in &round.timers {
            if owner == customer {
                timers.insert(timer.clone(), *at);
            }
        }
        for (timer, at) in timers {
            if let Some(at) = at {
                round.batch.cancel_timer(customer, &timer, at);
            }
            round.timers.insert((customer.to_string(), timer), None);
        }
        // Pending messages go; the audit keeps what happened, without the person.
        let mut from = 0;
        loop {
            let page = self.store.outbox(from, 1024).map_err(internal)?;
            let Some((last, _)) = page.last() else { break };
            from = last + 1;
            for (seq, record) in &page {
                if record.customer == customer {
                    round.batch.delete_outbox(*seq);
                }
            }
            if page.len() < 1024 {
                break;
            }
        }
        let mut records = Vec::new();
        for (key, record) in self.store.audit_records(customer).map_err(internal)? {
            round.batch.put_audit_raw(key, None);
            records.push(record);
        }
        // What this round already decided for the customer (a step before the erasure) goes
        // the same way: its records anonymised, its messages never sent.
        records.extend(round.batch.take_audit(customer));
        round.batch.take_outbox(customer);
        for mut record in records {
            anonymise(&mut record);
            round
                .batch
                .audit_record("(erased)", round.audit_seq, &record);
            round.audit_seq += 1;
        }
        Ok(existed)
    }

    fn delivery(
        &self,
        round: &mut Round<'_>,
        seq: u64,
        report: DeliveryReport,
        now: i64,
    ) -> Result<(), ApiError> {
        let internal = |e: crate::store::Error| ApiError::Internal(e.message);
        let metrics = &self.shared.metrics;
        // The common case needs only to know the message is still queued.
        if let DeliveryReport::Delivered {
            attempt,
            customer,
            journey,
            template,
            message_id,
        } = report
        {
            if self.store.outbox_queued(seq).map_err(internal)? {
                round.batch.delete_outbox(seq);
                metrics.add(&metrics.messages_delivered, 1);
                round.audit(
                    &customer,
                    now,
                    vec![serde_json::json!({
                        "effect": "delivered", "journey": journey, "template": template,
                        "message_id": message_id, "attempts": attempt,
                    })],
                );
            }
            return Ok(()); // Or already settled (or erased).
        }
        let Some((_, mut record)) = self
            .store
            .outbox(seq, 1)
            .map_err(internal)?
            .into_iter()
            .next()
            .filter(|(found, _)| *found == seq)
        else {
            return Ok(()); // Already settled (or erased).
        };
        match report {
            DeliveryReport::Attempting { retry_at } => {
                record.attempts += 1;
                record.next_attempt = retry_at;
                round.batch.put_outbox(seq, &record);
            }
            DeliveryReport::Delivered { .. } => {} // above
            DeliveryReport::Retry {
                attempt,
                at,
                reason,
            } => {
                record.attempts = record.attempts.max(attempt);
                record.next_attempt = at;
                record.last_error = Some(reason.clone());
                round.batch.put_outbox(seq, &record);
                metrics.add(&metrics.messages_retried, 1);
                round.audit(
                    &record.customer,
                    now,
                    vec![serde_json::json!({
                        "effect": "delivery_retry", "journey": record.message.journey,
                        "template": record.message.template,
                        "message_id": record.message.message_id, "reason": reason,
                    })],
                );
            }
            DeliveryReport::Permanent { reason, suppress } => {
                round.batch.delete_outbox(seq);
                if suppress && let Some(address) = &record.message.to {
                    round.batch.suppress(address, now);
                }
                let letter = DeadLetter {
                    customer: record.customer.clone(),
                    message: record.message.clone(),
                    reason: reason.clone(),
                    at: now,
                };
                round.batch.dead_letter(round.dead_seq, &letter);
                round.dead_seq += 1;
                metrics.add(&metrics.messages_dead, 1);
                round.audit(
                    &record.customer,
                    now,
                    vec![serde_json::json!({
                        "effect": "dead_letter", "journey": record.message.journey,
                        "template": record.message.template,
                        "message_id": record.message.message_id, "reason": reason,
                    })],
                );
            }
            DeliveryReport::Dropped { reason } => {
                round.batch.delete_outbox(seq);
                round.audit(
                    &record.customer,
                    now,
                    vec![serde_json::json!({
                        "effect": "not_delivered", "journey": record.message.journey,
                        "template": record.message.template,
                        "message_id": record.message.message_id, "reason": reason,
                    })],
                );
            }
        }
        Ok(())
    }

    fn deploy(
        &self,
        round: &mut Round<'_>,
        programs: Vec<journey_compiler::bytecode::Program>,
    ) -> Vec<String> {
        let mut library = (*self.library()).clone();
        let mut lines = Vec::new();
        for program in &programs {
            let (bytes, hash) = journey_compiler::bytecode::format::encode(program);
            round.batch.put_program(&hash.0, bytes);
            round.batch.deploy(&program.journey, &hash.0);
        }
        for (name, change) in library.deploy(programs) {
            use crate::vm::library::Deployed;
            let line = match change {
                Deployed::New(hash) => format!("{name}: new, version {}", hash.short()),
                Deployed::Changed { from, to } => {
                    let moved: Vec<String> = library
                        .get(&to.0)
                        .map(|p| {
                            p.migrations
                                .iter()
                                .map(|m| format!("`{}`", m.from))
                                .collect()
                        })
                        .unwrap_or_default();
                    if moved.is_empty() {
                        format!(
                            "{name}: version {} replaces {} (customers already in it finish on {})",
                            to.short(),
                            from.short(),
                            from.short()
                        )
                    } else {
                        format!(
                            "{name}: version {} replaces {}; customers at {} are migrated, the others finish on the version they started",
                            to.short(),
                            from.short(),
                            moved.join(", ")
                        )
                    }
                }
                Deployed::Unchanged(hash) => format!("{name}: unchanged, version {}", hash.short()),
                Deployed::Retired(hash) => {
                    round.batch.retire(&name);
                    format!(
                        "{name}: retired (customers in version {} finish it)",
                        hash.short()
                    )
                }
            };
            lines.push(line);
        }
        if let Ok(mut current) = self.shared.library.lock() {
            *current = Arc::new(library);
        }
        lines
    }
}

/// The counts of customers per standing, as the store keeps them; a store written before they
/// were kept (or whose counts are damaged) is counted once, by reading every customer, and the
/// counts stored in place of whatever was there.
fn load_standings(store: &Store) -> Result<HashMap<Standing, u64>, crate::store::Error> {
    match store.standings() {
        Ok(Some(kept)) => return Ok(kept.into_iter().collect()),
        Ok(None) => {}
        // They are worked out from the customers: a damaged count is counted again.
        Err(error) => tracing::warn!("{error}; counting customers per step again"),
    }
    let started = std::time::Instant::now();
    let counts = store.count_standings()?;
    let mut batch = Batch::new();
    for key in store.standing_keys()? {
        batch.delete_raw(key);
    }
    for (standing, customers) in &counts {
        batch.standing(standing, *customers);
    }
    batch.standings_kept();
    store.apply(batch)?;
    store.sync()?;
    let customers: u64 = counts.values().sum();
    if customers > 0 {
        tracing::info!(
            "counted where {customers} instances stand, once, in {:.1} s (an earlier version did not keep these counts; `GET /v1/journeys` reads them from now on)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(counts)
}

/// Removes the timer reverse index a store written before 2026-12 kept (a timer's time is now
/// read from the customer's state), in chunks, made durable before the writer starts.
fn drop_reverse_index(store: &Store) -> Result<(), crate::store::Error> {
    const CHUNK: usize = 65_536;
    let mut dropped = 0;
    loop {
        let keys = store.reverse_index_keys(CHUNK)?;
        if keys.is_empty() {
            break;
        }
        dropped += keys.len();
        let mut batch = Batch::new();
        for key in keys {
            batch.delete_raw(key);
        }
        store.apply(batch)?;
    }
    if dropped > 0 {
        store.sync()?;
        tracing::info!(
            "dropped the timer reverse index an earlier version kept ({dropped} entries): timers are found through customers' states"
        );
    }
    Ok(())
}

/// A program version as a counter value: its first eight bytes (marks a finished migration).
fn version_mark(hash: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    for (to, from) in first.iter_mut().zip(hash.iter()) {
        *to = *from;
    }
    u64::from_le_bytes(first)
}

/// Replaces personal data in an audit entry: addresses, names, ids.
fn anonymise(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if matches!(
                    key.as_str(),
                    "to" | "subject" | "customer" | "shown" | "why" | "message"
                ) {
                    *field = serde_json::Value::String("(erased)".to_string());
                } else {
                    anonymise(field);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(anonymise),
        _ => {}
    }
}

/// The next firing of a schedule strictly after `after`.
pub fn next_fire(cron: &str, zone: &str, after: i64) -> Option<i64> {
    let schedule = cron::Schedule::from_str(&format!("0 {cron}")).ok()?;
    let tz = chrono_tz::Tz::from_str(zone).unwrap_or(chrono_tz::Tz::UTC);
    let from = tz.timestamp_opt(after, 0).single()?;
    schedule.after(&from).next().map(|at| at.timestamp())
}
