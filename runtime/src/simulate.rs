//! The simulator: the VM on a virtual clock. It keeps every customer's state in memory, a queue
//! of timed inputs (scenario events, timers the VM set, schedule firings) and a log of every
//! effect with its time. `journey simulate` prints the log; `journey test` checks it.
//!
//! Inputs at the same instant run in the order they were queued. Nothing here reads the real
//! clock: a year of virtual time takes as long as the steps it contains.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::str::FromStr;

use chrono::TimeZone;
use chrono_tz::Tz;

use crate::scenario::{Happening, Scenario};
use crate::vm::{self, CustomerState, Effect, Environment, Input, Library, TimerId};

/// One effect with when and for whom it happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Virtual time, seconds since the epoch.
    pub at: i64,
    /// The customer.
    pub customer: String,
    /// What happened.
    pub effect: Effect,
}

/// Counts of what happened, kept whether or not the log is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Effects (what the log would hold).
    pub effects: u64,
    /// Messages sent.
    pub messages: u64,
    /// Runtime errors.
    pub errors: u64,
    /// Decisions.
    pub decisions: u64,
    /// Timers set (a timer set again counts again).
    pub timers_set: u64,
    /// The most timers one customer had pending at once.
    pub peak_timers_per_customer: usize,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.effects += other.effects;
        self.messages += other.messages;
        self.errors += other.errors;
        self.decisions += other.decisions;
        self.timers_set += other.timers_set;
        self.peak_timers_per_customer = self
            .peak_timers_per_customer
            .max(other.peak_timers_per_customer);
    }
}

/// What one customer has queued before the run.
#[derive(Default)]
struct Lane {
    /// The profile given with [`Simulator::add_customer`] and its time, applied before anything
    /// queued.
    profile: Option<(i64, Input)>,
    /// Inputs queued with [`Simulator::queue`]: time, order of queuing, input.
    queued: Vec<(i64, u64, Input)>,
}

/// A schedule trigger's firings up to the end of the simulation, worked out once for every
/// customer.
struct Schedule {
    journey: String,
    /// The order of queuing of the first firing (later ones are ordered as they are reached).
    seq: u64,
    firings: Vec<i64>,
}

/// Fewer customers than this are simulated on the calling thread alone.
const PARALLEL_FROM: usize = 256;

/// A running simulation.
///
/// Customers never affect one another, so the simulator runs each customer's own queue (their
/// events, the timers the VM sets for them, the schedule firings) to its end, customers side by
/// side on every core, and then merges what happened into one log ordered by time (at the same
/// instant, customer by customer in the order they were first named, each customer's effects
/// in the order they happened). The result does not depend on the number of threads.
pub struct Simulator<'a> {
    library: &'a Library,
    env: &'a Environment,
    /// Every customer's state.
    pub customers: BTreeMap<String, CustomerState>,
    /// Every customer id queued or added, by number, and the number of each.
    ids: Vec<String>,
    numbers: HashMap<String, u32>,
    /// What each customer (by number) has queued.
    lanes: Vec<Lane>,
    /// Schedule triggers queued: first firing, order of queuing, journey.
    schedules: Vec<(i64, u64, String)>,
    next_seq: u64,
    /// Everything that happened (empty when only counts are kept).
    pub log: Vec<Entry>,
    /// Counts of what happened.
    pub summary: Summary,
    /// Whether effects are kept in `log` (the default) or only counted in `summary`.
    keep_log: bool,
    /// The most threads to use (at least one).
    threads: usize,
    /// VM steps taken.
    pub steps: u64,
    /// Instructions executed.
    pub executed: u64,
    until: i64,
}

impl<'a> Simulator<'a> {
    /// A simulator with no customers yet.
    pub fn new(library: &'a Library, env: &'a Environment, until: i64) -> Simulator<'a> {
        Simulator {
            library,
            env,
            customers: BTreeMap::new(),
            ids: Vec::new(),
            numbers: HashMap::new(),
            lanes: Vec::new(),
            schedules: Vec::new(),
            next_seq: 0,
            log: Vec::new(),
            summary: Summary::default(),
            keep_log: true,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            steps: 0,
            executed: 0,
            until,
        }
    }

    /// Keeps only counts of what happens (`summary`), not the log of every effect: for
    /// benchmarks and large runs, where the log would hold gigabytes of rendered messages.
    /// `journey simulate` and `journey test` keep the log.
    pub fn keep_only_counts(&mut self) {
        self.keep_log = false;
    }

    /// Uses at most this many threads (at least one; the default is one per core).
    pub fn use_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    fn seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The number of a customer id (given on first use).
    fn number(&mut self, id: &str) -> usize {
        if let Some(number) = self.numbers.get(id) {
            return *number as usize;
        }
        let number = self.ids.len();
        self.ids.push(id.to_string());
        self.numbers
            .insert(id.to_string(), u32::try_from(number).unwrap_or(u32::MAX));
        self.lanes.push(Lane::default());
        number
    }

    fn lane(&mut self, id: &str) -> Option<&mut Lane> {
        let number = self.number(id);
        self.lanes.get_mut(number)
    }

    /// Adds a customer with an initial profile, at `at` (applied before anything queued for
    /// them; adding a customer again starts them afresh).
    pub fn add_customer(
        &mut self,
        id: &str,
        profile: serde_json::Map<String, serde_json::Value>,
        at: i64,
    ) {
        self.customers
            .insert(id.to_string(), CustomerState::new(id));
        if let Some(lane) = self.lane(id) {
            lane.profile = Some((at, Input::Profile(profile)));
        }
    }

    /// Queues an input for a customer.
    pub fn queue(&mut self, at: i64, customer: &str, input: Input) {
        let seq = self.seq();
        if let Some(lane) = self.lane(customer) {
            lane.queued.push((at, seq, input));
        }
    }

    /// Queues the schedule triggers of every current journey from `from` on.
    pub fn schedule_triggers(&mut self, from: i64) {
        let library = self.library;
        for (_, program) in library.current_programs() {
            if let journey_compiler::bytecode::Trigger::Schedule { .. } = &program.trigger
                && let Some(at) = next_fire(program, from)
            {
                let seq = self.seq();
                self.schedules.push((at, seq, program.journey.clone()));
            }
        }
    }

    /// Loads a scenario: its customers (at its start), its events and updates, its schedules.
    pub fn load(&mut self, scenario: &Scenario) {
        for (id, profile) in &scenario.customers {
            self.add_customer(id, profile.clone(), scenario.start);
        }
        for timed in &scenario.timeline {
            let input = match &timed.what {
                Happening::Event(event) => Input::Event(event.clone()),
                Happening::Profile(update) => Input::Profile(update.clone()),
            };
            self.queue(timed.at, &timed.customer, input);
        }
        self.schedule_triggers(scenario.start - 1);
    }

    /// Runs every customer until their queue is empty or the end time.
    pub fn run(&mut self) {
        let schedules = self.schedule_firings();
        let first_local_seq = self.next_seq;
        // Each customer with their state (none for an id never added) and their queue.
        let mut states: Vec<Option<&mut CustomerState>> = std::iter::repeat_with(|| None)
            .take(self.ids.len())
            .collect();
        for (id, state) in &mut self.customers {
            if let Some(slot) = self
                .numbers
                .get(id)
                .and_then(|number| states.get_mut(*number as usize))
            {
                *slot = Some(state);
            }
        }
        let lanes = std::mem::take(&mut self.lanes);
        let mut work: Vec<Work<'_>> = self
            .ids
            .iter()
            .zip(states)
            .zip(lanes)
            .enumerate()
            .map(|(number, ((id, state), lane))| Work {
                number,
                id,
                state,
                lane,
            })
            .collect();
        self.lanes = std::iter::repeat_with(Lane::default)
            .take(self.ids.len())
            .collect();
        let context = Context {
            library: self.library,
            env: self.env,
            schedules: &schedules,
            until: self.until,
            first_local_seq,
            keep_log: self.keep_log,
        };
        let threads = if work.len() < PARALLEL_FROM {
            1
        } else {
            self.threads
        };
        let size = work.len().div_ceil(threads).max(1);
        let results: Vec<Outcome> = if threads == 1 {
            vec![context.run_all(&mut work)]
        } else {
            std::thread::scope(|scope| {
                let running: Vec<_> = work
                    .chunks_mut(size)
                    .map(|chunk| scope.spawn(|| context.run_all(chunk)))
                    .collect();
                running
                    .into_iter()
                    .map(|thread| {
                        thread
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            })
        };
        let mut logs = Vec::new();
        for outcome in results {
            self.summary.add(&outcome.summary);
            self.steps += outcome.steps;
            self.executed += outcome.executed;
            logs.extend(outcome.logs);
        }
        if self.keep_log {
            merge_logs(&mut self.log, logs);
        }
    }

    /// Every queued schedule trigger's firings up to the end of the simulation.
    fn schedule_firings(&self) -> Vec<Schedule> {
        self.schedules
            .iter()
            .map(|(first, seq, journey)| {
                let mut firings = Vec::new();
                let mut at = Some(*first);
                while let Some(now) = at.filter(|now| *now <= self.until) {
                    firings.push(now);
                    at = self
                        .library
                        .current(journey)
                        .and_then(|(_, program)| next_fire(program, now))
                        .filter(|next| *next > now);
                }
                Schedule {
                    journey: journey.clone(),
                    seq: *seq,
                    firings,
                }
            })
            .collect()
    }

    /// Instances still waiting when the simulation ended (yearly date triggers not counted).
    pub fn still_waiting(&self) -> usize {
        self.customers
            .values()
            .map(CustomerState::active_instances)
            .sum()
    }
}

/// One customer to run.
struct Work<'s> {
    number: usize,
    id: &'s str,
    state: Option<&'s mut CustomerState>,
    lane: Lane,
}

/// What one thread's customers did.
#[derive(Default)]
struct Outcome {
    summary: Summary,
    steps: u64,
    executed: u64,
    /// Each customer's log (by number), in the order things happened.
    logs: Vec<(usize, Vec<Entry>)>,
}

/// What every customer's run shares.
struct Context<'c> {
    library: &'c Library,
    env: &'c Environment,
    schedules: &'c [Schedule],
    until: i64,
    /// Orders given to what a run queues itself come after everything queued before it.
    first_local_seq: u64,
    keep_log: bool,
}

/// Something due for one customer.
enum Due {
    Input(Input),
    Timer(TimerId),
    /// The `firing`th firing of the schedule at `schedule`.
    Schedule {
        schedule: usize,
        firing: usize,
    },
}

/// A customer's queue entry, ordered by time and then order of queuing.
struct Queued {
    at: i64,
    seq: u64,
    due: Due,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Queued) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Queued) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Queued) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Context<'_> {
    fn run_all(&self, work: &mut [Work<'_>]) -> Outcome {
        let mut outcome = Outcome::default();
        for customer in work {
            self.run_one(customer, &mut outcome);
        }
        outcome
    }

    /// Runs one customer's queue to its end (or the end time).
    fn run_one(&self, work: &mut Work<'_>, outcome: &mut Outcome) {
        let mut log = Vec::new();
        let lane = std::mem::take(&mut work.lane);
        let mut queue: BinaryHeap<Reverse<Queued>> = lane
            .queued
            .into_iter()
            .map(|(at, seq, input)| {
                Reverse(Queued {
                    at,
                    seq,
                    due: Due::Input(input),
                })
            })
            .collect();
        if work.state.is_some() {
            for (schedule, firings) in self.schedules.iter().enumerate() {
                if let Some(at) = firings.firings.first() {
                    queue.push(Reverse(Queued {
                        at: *at,
                        seq: firings.seq,
                        due: Due::Schedule {
                            schedule,
                            firing: 0,
                        },
                    }));
                }
            }
        }
        let mut run = CustomerRun {
            context: self,
            id: work.id,
            state: work.state.as_deref_mut(),
            timers: Vec::new(),
            next_seq: self.first_local_seq,
            outcome,
            log: &mut log,
        };
        if let Some((at, profile)) = lane.profile {
            run.apply(&profile, at, &mut queue);
        }
        while let Some(Reverse(next)) = queue.pop() {
            if next.at > self.until {
                break;
            }
            match next.due {
                Due::Input(input) => run.apply(&input, next.at, &mut queue),
                Due::Timer(timer) => {
                    // Only the latest setting of a timer fires; cancelled ones do not.
                    let current = run.timers.iter().position(|(id, at, seq)| {
                        *id == timer && *at == next.at && *seq == next.seq
                    });
                    if let Some(index) = current {
                        run.timers.swap_remove(index);
                        run.apply(&Input::Timer(timer), next.at, &mut queue);
                    }
                }
                Due::Schedule { schedule, firing } => {
                    let journey = self
                        .schedules
                        .get(schedule)
                        .map_or("", |schedule| schedule.journey.as_str());
                    run.apply(
                        &Input::Schedule {
                            journey: journey.to_string(),
                        },
                        next.at,
                        &mut queue,
                    );
                    if let Some(at) = self
                        .schedules
                        .get(schedule)
                        .and_then(|schedule| schedule.firings.get(firing + 1))
                    {
                        let seq = run.seq();
                        queue.push(Reverse(Queued {
                            at: *at,
                            seq,
                            due: Due::Schedule {
                                schedule,
                                firing: firing + 1,
                            },
                        }));
                    }
                }
            }
        }
        if self.keep_log {
            outcome.logs.push((work.number, log));
        }
    }
}

/// One customer being run.
struct CustomerRun<'r, 'c, 's> {
    context: &'r Context<'c>,
    id: &'s str,
    state: Option<&'s mut CustomerState>,
    /// The customer's pending timers: which, when, order of setting.
    timers: Vec<(TimerId, i64, u64)>,
    next_seq: u64,
    outcome: &'r mut Outcome,
    log: &'r mut Vec<Entry>,
}

impl CustomerRun<'_, '_, '_> {
    fn seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    fn record(&mut self, at: i64, effect: Effect) {
        let summary = &mut self.outcome.summary;
        summary.effects += 1;
        match &effect {
            Effect::Send(_) => summary.messages += 1,
            Effect::Error(_) => summary.errors += 1,
            Effect::Decision(_) => summary.decisions += 1,
            _ => {}
        }
        if self.context.keep_log {
            self.log.push(Entry {
                at,
                customer: self.id.to_string(),
                effect,
            });
        }
    }

    fn apply(&mut self, input: &Input, at: i64, queue: &mut BinaryHeap<Reverse<Queued>>) {
        let context = self.context;
        let Some(state) = self.state.as_deref_mut() else {
            let error = vm::shell_error(format!("no customer has the id `{}`", self.id));
            self.record(at, error);
            return;
        };
        let effects = vm::step_in_place(
            context.library,
            context.env,
            state,
            input,
            at,
            &mut self.outcome.executed,
        );
        self.outcome.steps += 1;
        for effect in effects {
            match &effect {
                Effect::SetTimer { timer, at: when } => {
                    let seq = self.seq();
                    self.timers.retain(|(id, _, _)| id != timer);
                    self.timers.push((timer.clone(), *when, seq));
                    queue.push(Reverse(Queued {
                        at: *when,
                        seq,
                        due: Due::Timer(timer.clone()),
                    }));
                    let summary = &mut self.outcome.summary;
                    summary.timers_set += 1;
                    summary.peak_timers_per_customer =
                        summary.peak_timers_per_customer.max(self.timers.len());
                }
                Effect::CancelTimer { timer } => self.timers.retain(|(id, _, _)| id != timer),
                _ => {}
            }
            self.record(at, effect);
        }
    }
}

/// Merges every customer's log into one, by time; at the same instant customer by customer (by
/// number), each customer's entries in the order they happened.
fn merge_logs(log: &mut Vec<Entry>, logs: Vec<(usize, Vec<Entry>)>) {
    let mut keyed: Vec<(i64, usize, usize, Entry)> = logs
        .into_iter()
        .flat_map(|(number, entries)| {
            entries
                .into_iter()
                .enumerate()
                .map(move |(index, entry)| (entry.at, number, index, entry))
        })
        .collect();
    keyed.sort_unstable_by_key(|(at, number, index, _)| (*at, *number, *index));
    log.extend(keyed.into_iter().map(|(_, _, _, entry)| entry));
}

/// The next time a schedule trigger fires after `after`.
fn next_fire(program: &journey_compiler::bytecode::Program, after: i64) -> Option<i64> {
    let journey_compiler::bytecode::Trigger::Schedule { cron, zone, .. } = &program.trigger else {
        return None;
    };
    let schedule = cron::Schedule::from_str(&format!("0 {cron}")).ok()?;
    let tz = Tz::from_str(zone).unwrap_or(Tz::UTC);
    let from = tz.timestamp_opt(after, 0).single()?;
    schedule.after(&from).next().map(|at| at.timestamp())
}

/// Runs a whole scenario and returns the simulator (its log and final states).
pub fn run<'a>(library: &'a Library, scenario: &'a Scenario) -> Simulator<'a> {
    let mut simulator = Simulator::new(library, &scenario.env, scenario.until);
    simulator.load(scenario);
    simulator.run();
    simulator
}
