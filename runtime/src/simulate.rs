//! The simulator: the VM on a virtual clock. It keeps every customer's state in memory, a queue
//! of timed inputs (scenario events, timers the VM set, schedule firings) and a log of every
//! effect with its time. `journey simulate` prints the log; `journey test` checks it.
//!
//! Inputs at the same instant run in the order they were queued. Nothing here reads the real
//! clock: a year of virtual time takes as long as the steps it contains.

use std::collections::{BTreeMap, HashMap};
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
    /// The most timers pending at once.
    pub peak_timers: usize,
}

enum Pending {
    /// An input for the customer with this number (`Simulator::ids`).
    Input {
        customer: u32,
        input: Input,
    },
    Schedule {
        journey: String,
    },
}

/// A running simulation.
pub struct Simulator<'a> {
    library: &'a Library,
    env: &'a Environment,
    /// Every customer's state.
    pub customers: BTreeMap<String, CustomerState>,
    order: Vec<String>,
    /// Every customer id queued or added, by number (the queue and the timers name customers by
    /// number, so setting a timer does not copy the id), and the number of each.
    ids: Vec<String>,
    numbers: HashMap<String, u32>,
    queue: BTreeMap<(i64, u64), Pending>,
    timers: HashMap<(u32, TimerId), (i64, u64)>,
    next_seq: u64,
    /// Everything that happened (empty when only counts are kept).
    pub log: Vec<Entry>,
    /// Counts of what happened.
    pub summary: Summary,
    /// Whether effects are kept in `log` (the default) or only counted in `summary`.
    keep_log: bool,
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
            order: Vec::new(),
            ids: Vec::new(),
            numbers: HashMap::new(),
            queue: BTreeMap::new(),
            timers: HashMap::new(),
            next_seq: 0,
            log: Vec::new(),
            summary: Summary::default(),
            keep_log: true,
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

    fn push(&mut self, at: i64, pending: Pending) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.insert((at, seq), pending);
        seq
    }

    /// The number of a customer id (given on first use).
    fn number(&mut self, id: &str) -> u32 {
        if let Some(number) = self.numbers.get(id) {
            return *number;
        }
        let number = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.push(id.to_string());
        self.numbers.insert(id.to_string(), number);
        number
    }

    /// Adds a customer with an initial profile, at `at`.
    pub fn add_customer(
        &mut self,
        id: &str,
        profile: serde_json::Map<String, serde_json::Value>,
        at: i64,
    ) {
        self.customers
            .insert(id.to_string(), CustomerState::new(id));
        self.order.push(id.to_string());
        let number = self.number(id);
        self.apply(number, &Input::Profile(profile), at);
    }

    /// Queues an input for a customer.
    pub fn queue(&mut self, at: i64, customer: &str, input: Input) {
        let customer = self.number(customer);
        self.push(at, Pending::Input { customer, input });
    }

    /// Queues the schedule triggers of every current journey from `from` on.
    pub fn schedule_triggers(&mut self, from: i64) {
        let library = self.library;
        for (_, program) in library.current_programs() {
            if let journey_compiler::bytecode::Trigger::Schedule { .. } = &program.trigger
                && let Some(at) = next_fire(program, from)
            {
                self.push(
                    at,
                    Pending::Schedule {
                        journey: program.journey.clone(),
                    },
                );
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

    /// Runs until the queue is empty or the end time.
    pub fn run(&mut self) {
        while let Some(entry) = self.queue.first_entry() {
            let (at, _) = *entry.key();
            if at > self.until {
                break;
            }
            let pending = entry.remove();
            match pending {
                Pending::Input { customer, input } => {
                    if let Input::Timer(timer) = input {
                        // Looked up with the timer itself (moved in and out of the key).
                        let key = (customer, timer);
                        self.timers.remove(&key);
                        self.apply(customer, &Input::Timer(key.1), at);
                    } else {
                        self.apply(customer, &input, at);
                    }
                }
                Pending::Schedule { journey } => {
                    let customers = self.order.clone();
                    for customer in customers {
                        let customer = self.number(&customer);
                        self.apply(
                            customer,
                            &Input::Schedule {
                                journey: journey.clone(),
                            },
                            at,
                        );
                    }
                    if let Some((_, program)) = self.library.current(&journey)
                        && let Some(next) = next_fire(program, at)
                    {
                        self.push(next, Pending::Schedule { journey });
                    }
                }
            }
        }
    }

    fn apply(&mut self, number: u32, input: &Input, at: i64) {
        let customer = self.ids.get(number as usize).map_or("", String::as_str);
        let Some(state) = self.customers.get_mut(customer) else {
            self.summary.effects += 1;
            self.summary.errors += 1;
            if self.keep_log {
                self.log.push(Entry {
                    at,
                    customer: customer.to_string(),
                    effect: vm::shell_error(format!("no customer has the id `{customer}`")),
                });
            }
            return;
        };
        let effects =
            vm::step_in_place(self.library, self.env, state, input, at, &mut self.executed);
        self.steps += 1;
        for effect in effects {
            match &effect {
                Effect::SetTimer { timer, at: when } => {
                    let key = (number, timer.clone());
                    if let Some((old_at, old_seq)) = self.timers.remove(&key) {
                        self.queue.remove(&(old_at, old_seq));
                    }
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    self.queue.insert(
                        (*when, seq),
                        Pending::Input {
                            customer: number,
                            input: Input::Timer(timer.clone()),
                        },
                    );
                    self.timers.insert(key, (*when, seq));
                    self.summary.peak_timers = self.summary.peak_timers.max(self.timers.len());
                }
                Effect::CancelTimer { timer } => {
                    if let Some((old_at, old_seq)) = self.timers.remove(&(number, timer.clone())) {
                        self.queue.remove(&(old_at, old_seq));
                    }
                }
                Effect::Send(_) => self.summary.messages += 1,
                Effect::Error(_) => self.summary.errors += 1,
                Effect::Decision(_) => self.summary.decisions += 1,
                _ => {}
            }
            self.summary.effects += 1;
            if self.keep_log {
                self.log.push(Entry {
                    at,
                    customer: customer.to_string(),
                    effect,
                });
            }
        }
    }

    /// Instances still waiting when the simulation ended (yearly date triggers not counted).
    pub fn still_waiting(&self) -> usize {
        self.customers
            .values()
            .map(CustomerState::active_instances)
            .sum()
    }
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
