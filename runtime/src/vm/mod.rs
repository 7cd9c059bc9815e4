//! The journey VM: a pure function from (programs, customer state, input, now) to (new state,
//! effects).
//!
//! [`step`] takes one input for one customer (an event, a timer firing, a schedule tick, a
//! profile update) and returns what changed and what the shell must do. It reads no clock, does
//! no I/O and uses no randomness: splits and coupon codes hash the customer id, so running the
//! same inputs again gives the same effects. The same core runs under `journey simulate`,
//! `journey test`, the tests and the durable runtime.
//!
//! Order of work for an event: goals of every instance (a conversion counts even if the same
//! event also exits), then `exit when` rules, then waits, then entries into journeys it
//! triggers; after every input, date triggers and segment entries are brought up to date.

pub mod builtins;
pub mod clock;
pub mod decode;
pub mod effect;
pub mod eval;
pub mod exec;
pub mod library;
pub mod message;
pub mod state;

use std::sync::Arc;

use crate::render;

use chrono::{NaiveDate, TimeZone};
use journey_compiler::bytecode::{EntryRule, Instr, MigrationTarget, Program, Trigger, Value};

pub use effect::{Decision, DecisionKind, Effect, Event, ExitReason, Input, Message, TimerId};
pub use library::Library;
pub use state::{CustomerState, Instance, Membership, Standing, Status};

use effect::RuntimeError;
use eval::EvalError;
use exec::{Place, Runner};

/// The shop's settings the VM needs.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The `shop` record templates read (name, website, address, support_email, logo_url).
    pub shop: Value,
    /// The secret coupon codes and unsubscribe links are derived from.
    pub secret: Vec<u8>,
    /// The base of unsubscribe links (`https://shop.example/unsubscribe`).
    pub unsubscribe_base: String,
    /// The domain of Message-IDs.
    pub message_domain: String,
}

impl Environment {
    /// The unsubscribe link of a customer: the base, the customer id and a token only the shop
    /// can make (so links cannot be forged for other customers).
    pub fn unsubscribe_url(&self, customer: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(&self.secret);
        hasher.update(b"unsubscribe\0");
        hasher.update(customer.as_bytes());
        let digest = hasher.finalize();
        let base = self.unsubscribe_base.trim_end_matches('/');
        let mut url = String::with_capacity(base.len() + customer.len() * 3 + 26);
        url.push_str(base);
        url.push('/');
        for b in customer.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                url.push(char::from(b));
            } else {
                const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
                url.push('%');
                for nibble in [b >> 4, b & 0x0f] {
                    url.push(char::from(
                        DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                    ));
                }
            }
        }
        url.push('/');
        exec::hex_into(digest.iter().take(12), &mut url);
        url
    }
}

/// The result of a step.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The customer's new state.
    pub state: CustomerState,
    /// What the shell must do, in order.
    pub effects: Vec<Effect>,
    /// Instructions executed (for benchmarks).
    pub executed: u64,
}

/// Steps a customer with one input: the pure form.
pub fn step(
    library: &Library,
    env: &Environment,
    state: &CustomerState,
    input: &Input,
    now: i64,
) -> Outcome {
    let mut state = state.clone();
    let mut executed = 0;
    let effects = step_in_place(library, env, &mut state, input, now, &mut executed);
    Outcome {
        state,
        effects,
        executed,
    }
}

/// Steps a customer with one input, updating the state in place (what [`step`] does without
/// the copy).
pub fn step_in_place(
    library: &Library,
    env: &Environment,
    state: &mut CustomerState,
    input: &Input,
    now: i64,
    executed: &mut u64,
) -> Vec<Effect> {
    let place = Place::of(&state.profile);
    let mut vm = Vm {
        library,
        env,
        state,
        now,
        effects: Vec::with_capacity(8),
        executed,
        place,
    };
    match input {
        Input::Event(event) => vm.event(event),
        Input::Timer(timer) => vm.timer(timer),
        Input::Schedule { journey } => vm.schedule(journey),
        Input::Profile(update) => vm.profile(update),
        Input::Migrate { journey } => vm.migrate(journey),
    }
    vm.maintain();
    vm.prune();
    vm.effects
}

struct Vm<'a> {
    library: &'a Library,
    env: &'a Environment,
    state: &'a mut CustomerState,
    now: i64,
    effects: Vec<Effect>,
    executed: &'a mut u64,
    /// The customer's zone and locale, read once per step.
    place: Place,
}

fn global_error(message: String, field: Option<String>) -> Effect {
    Effect::Error(RuntimeError {
        journey: None,
        instance: None,
        step: None,
        template: None,
        field,
        message,
    })
}

/// The first hex digits of a program version, as logs and the API show it.
fn short(version: &[u8; 32]) -> String {
    journey_compiler::bytecode::format::ProgramHash(*version).short()
}

/// Re-expresses an instance in another version of its program: values and goals reached are
/// carried over by name (a value the new version names but the old did not is missing).
fn move_to_version(instance: &mut Instance, old: &Program, new: &Program, version: [u8; 32]) {
    let slots = new
        .slots
        .iter()
        .map(|name| {
            old.slots
                .iter()
                .position(|old_name| old_name == name)
                .and_then(|at| instance.slots.get(at))
                .cloned()
                .unwrap_or(Value::Missing)
        })
        .collect();
    let mut goals = 0u32;
    for (bit, name) in old.goal_names.iter().enumerate() {
        if instance.goals & (1u32 << bit) != 0
            && let Some(at) = new.goal_names.iter().position(|n| n == name)
        {
            goals |= 1u32 << at;
        }
    }
    instance.slots = slots;
    instance.goals = goals;
    instance.version = version;
}

/// Events kept per instance for `since entry` waits, newest last.
const KEPT_EVENTS: usize = 16;

impl Vm<'_> {
    fn runner<'r>(
        &'r mut self,
        program: &'r Program,
    ) -> (
        Runner<'r>,
        &'r mut std::collections::BTreeMap<String, Membership>,
    ) {
        let CustomerState {
            id,
            profile,
            journeys,
            marketing_sends,
        } = &mut *self.state;
        (
            Runner {
                program,
                customer: id,
                profile,
                marketing_sends,
                env: self.env,
                now: self.now,
                effects: &mut self.effects,
                executed: self.executed,
                place: &mut self.place,
                library: self.library,
            },
            journeys,
        )
    }

    /// The customer's zone and locale (errors about the zone are reported by runs and offers).
    fn zone_and_locale(&self) -> (chrono_tz::Tz, render::locale::Locale) {
        (self.place.zone, self.place.locale.clone())
    }

    /// The program version of the `idx`-th instance of a journey.
    fn version_at(&self, journey: &str, idx: usize) -> Option<[u8; 32]> {
        self.state
            .journeys
            .get(journey)
            .and_then(|m| m.instances.get(idx))
            .map(|i| i.version)
    }

    // ------------------------------------------------------------------ events

    fn event(&mut self, event: &Event) {
        let Some(schema) = self.library.event_schema(&event.name) else {
            self.effects.push(global_error(
                format!("unknown event `{}`: no journey declares it", event.name),
                None,
            ));
            return;
        };
        let data = match decode::record(self.library.schemas(), schema, &event.data, "") {
            Ok(data) => data,
            Err(error) => {
                self.effects.push(global_error(
                    format!("event `{}` was not processed: {error}", event.name),
                    Some(error.field),
                ));
                return;
            }
        };
        // Instances already in journeys (offers never add or remove instances).
        let library = self.library;
        let CustomerState {
            id,
            profile,
            journeys,
            marketing_sends,
        } = &mut *self.state;
        let reacting = library.reacting_to(&event.name);
        for (name, membership) in journeys.iter_mut() {
            for instance in &mut membership.instances {
                if !reacting.contains(&instance.version) {
                    continue;
                }
                let Some(program) = library.get(&instance.version) else {
                    continue;
                };
                let mut runner = Runner {
                    program,
                    customer: id,
                    profile,
                    marketing_sends,
                    env: self.env,
                    now: self.now,
                    effects: &mut self.effects,
                    executed: self.executed,
                    place: &mut self.place,
                    library,
                };
                offer(&mut runner, name, instance, &event.name, &data);
            }
        }
        // Journeys this event starts.
        for (hash, program) in library.started_by(&event.name) {
            if let Trigger::Event(trigger) = &program.trigger {
                self.enter_on_event(hash, program, trigger, &data);
            }
        }
    }

    fn enter_on_event(
        &mut self,
        hash: [u8; 32],
        program: &Program,
        trigger: &journey_compiler::bytecode::EventMatch,
        data: &Value,
    ) {
        if let Some(condition) = &trigger.condition {
            let (zone, locale) = self.zone_and_locale();
            let (mut runner, _) = self.runner(program);
            let accepted = runner
                .env(&[], Some(data), zone, &locale)
                .condition(condition);
            match accepted {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    runner.error(None, None, None, error);
                    return;
                }
            }
        }
        let mut slots = vec![Value::Missing; program.slots.len()];
        if let Some(slot) = trigger.slot.and_then(|s| slots.get_mut(s as usize)) {
            *slot = data.clone();
        }
        self.enter(
            hash,
            program,
            slots,
            ["`", &trigger.event, "` arrived"].concat(),
        );
    }

    /// Applies the entry rules and exclusive groups; creates and runs an instance if allowed.
    fn enter(&mut self, hash: [u8; 32], program: &Program, slots: Vec<Value>, cause: String) {
        let now = self.now;
        let journey = program.journey.as_str();
        let library = self.library;
        let quiet = matches!(program.trigger, Trigger::Schedule { .. });
        // Exclusive groups: not while in another journey of the group.
        if let Some(group) = &program.exclusive {
            let busy = self.state.journeys.iter().find_map(|(name, membership)| {
                membership
                    .instances
                    .iter()
                    .filter(|i| i.is_active())
                    .find(|i| {
                        library
                            .get(&i.version)
                            .is_some_and(|p| p.exclusive.as_ref() == Some(group))
                    })
                    .map(|_| name.clone())
            });
            if let Some(other) = busy {
                // A schedule asks every day: refusals that repeat are not worth a log line.
                if quiet && other == *journey {
                    return;
                }
                let (mut runner, _) = self.runner(program);
                runner.decide(
                    None,
                    None,
                    DecisionKind::NotEntered,
                    format!("{cause}, but the customer is already in `{other}` of the exclusive group `{group}`"),
                );
                return;
            }
        }
        let (zone, locale) = self.zone_and_locale();
        if !self.state.journeys.contains_key(journey) {
            self.state
                .journeys
                .insert(journey.to_string(), Membership::default());
        }
        let Some(membership) = self.state.journeys.get_mut(journey) else {
            return;
        };
        let refusal = match &program.entry {
            EntryRule::Once if membership.entries > 0 => {
                Some("`once`: the customer entered before".to_string())
            }
            EntryRule::AgainAfter(seconds) => membership.last_entry.and_then(|last| {
                let again = clock::add(last, *seconds, zone);
                (now < again).then(|| {
                    format!(
                        "`again after {}`: the customer entered less than that ago",
                        journey_compiler::bytecode::disasm::duration(*seconds)
                    )
                })
            }),
            _ => None,
        };
        let key = match &program.entry {
            EntryRule::OncePer(expr) => {
                let (mut runner, _) = self.runner(program);
                let mut env = runner.env(&slots, None, zone, &locale);
                let result = env.eval(expr);
                drop(env);
                match result {
                    Ok(value) => Some((expr, key_text(&value))),
                    Err(error) => {
                        runner.error(None, None, None, error);
                        return;
                    }
                }
            }
            _ => None,
        };
        let Some(membership) = self.state.journeys.get_mut(journey) else {
            return;
        };
        let refusal = refusal.or_else(|| {
            key.as_ref().and_then(|(expr, key)| {
                membership
                    .keys
                    .binary_search_by(|k| k.as_ref().cmp(key.as_str()))
                    .is_ok()
                    .then(|| {
                        let shown = eval::show(expr, &program.slots);
                        format!("`once per {shown}`: already entered for {key}")
                    })
            })
        });
        if let Some(why) = refusal {
            if quiet {
                return;
            }
            let (mut runner, _) = self.runner(program);
            runner.decide(
                None,
                None,
                DecisionKind::NotEntered,
                format!("{cause}, but {why}"),
            );
            return;
        }
        if let Some((_, key)) = key
            && let Err(pos) = membership
                .keys
                .binary_search_by(|k| k.as_ref().cmp(key.as_str()))
        {
            membership.keys.insert(pos, Arc::from(key.as_str()));
        }
        membership.entries = membership.entries.saturating_add(1);
        membership.last_entry = Some(now);
        let id = membership.next_instance;
        membership.next_instance = membership.next_instance.wrapping_add(1);
        let mut instance = Instance {
            id,
            version: hash,
            pc: 0,
            entered_at: now,
            status: Status::Sleeping { until: now },
            timer: 0,
            slots,
            goals: 0,
            holdout: false,
            kept: Vec::new(),
        };
        let (mut runner, _) = self.runner(program);
        runner.decide(Some(id), None, DecisionKind::Entered, cause);
        runner.run(&mut instance);
        if let Some(membership) = self.state.journeys.get_mut(journey) {
            membership.instances.push(instance);
        }
    }

    // ------------------------------------------------------------------ timers and schedules

    fn timer(&mut self, timer: &TimerId) {
        match timer {
            TimerId::Wake {
                journey,
                instance,
                seq,
            } => self.wake(journey, *instance, *seq),
            TimerId::Anniversary { journey } => self.anniversary(journey),
        }
    }

    fn wake(&mut self, journey: &str, id: u32, seq: u32) {
        let library = self.library;
        let now = self.now;
        let Some(idx) = self
            .state
            .journeys
            .get(journey)
            .and_then(|m| m.instances.iter().position(|i| i.id == id))
        else {
            return; // The instance ended and was forgotten: a stale timer.
        };
        let Some(version) = self.version_at(journey, idx) else {
            return;
        };
        let Some(program) = library.get(&version) else {
            self.effects.push(global_error(
                format!("the program version of `{journey}` this customer runs is not deployed"),
                None,
            ));
            return;
        };
        let (mut runner, journeys) = self.runner(program);
        let Some(instance) = journeys
            .get_mut(journey)
            .and_then(|m| m.instances.get_mut(idx))
        else {
            return;
        };
        if instance.timer != seq {
            return; // Replaced or cancelled since.
        }
        match instance.status {
            Status::Sleeping { .. } => runner.run(instance),
            Status::Waiting { until: Some(_) } => {
                let Some(Instr::WaitFor {
                    step,
                    timeout: Some((seconds, target)),
                    ..
                }) = program.code.get(instance.pc as usize)
                else {
                    return;
                };
                runner.decide(
                    Some(instance.id),
                    Some(*step),
                    DecisionKind::TimedOut,
                    format!(
                        "nothing arrived within {}",
                        journey_compiler::bytecode::disasm::duration(*seconds)
                    ),
                );
                instance.pc = *target;
                instance.status = Status::Sleeping { until: now };
                runner.run(instance);
            }
            Status::Waiting { until: None } | Status::Ended { .. } => {}
        }
    }

    // ------------------------------------------------------------------ migrations

    /// Moves this customer's instances of `journey` that stand at a step named by a `migrate`
    /// line of the current version: to the labelled step (run from there at once: a wait
    /// starts again, a send goes out) or out of the journey. Others stay on their version.
    fn migrate(&mut self, journey: &str) {
        let library = self.library;
        let now = self.now;
        let Some((hash, current)) = library.current(journey) else {
            return;
        };
        if current.migrations.is_empty() {
            return;
        }
        let count = self
            .state
            .journeys
            .get(journey)
            .map_or(0, |m| m.instances.len());
        for idx in 0..count {
            let Some(version) = self.version_at(journey, idx).filter(|v| *v != hash) else {
                continue;
            };
            let Some(old) = library.get(&version) else {
                continue;
            };
            let Some(instance) = self
                .state
                .journeys
                .get(journey)
                .and_then(|m| m.instances.get(idx))
            else {
                continue;
            };
            let sleeping = match instance.status {
                Status::Sleeping { .. } => true,
                Status::Waiting { .. } => false,
                Status::Ended { .. } => continue,
            };
            let Some(label) = old.standing_label(instance.pc, sleeping) else {
                continue;
            };
            let Some(rule) = current.migrations.iter().find(|m| m.from == label.name) else {
                continue;
            };
            let from = format!(
                "`{}` (line {}) of version {}",
                label.name,
                old.steps.get(label.step as usize).map_or(0, |s| s.line),
                short(&version)
            );
            let (mut runner, journeys) = self.runner(old);
            let Some(instance) = journeys
                .get_mut(journey)
                .and_then(|m| m.instances.get_mut(idx))
            else {
                continue;
            };
            let target = match rule.to {
                MigrationTarget::Exit => {
                    runner.end(
                        instance,
                        ExitReason::Migrated,
                        format!(
                            "the migration of version {} sends customers at {from} out of the journey",
                            short(&hash)
                        ),
                    );
                    continue;
                }
                MigrationTarget::Step(target) => match current.labels.get(usize::from(target)) {
                    Some(target) => target,
                    None => continue,
                },
            };
            runner.cancel_timer(instance);
            move_to_version(instance, old, current, hash);
            let (mut runner, journeys) = self.runner(current);
            let Some(instance) = journeys
                .get_mut(journey)
                .and_then(|m| m.instances.get_mut(idx))
            else {
                continue;
            };
            runner.decide(
                Some(instance.id),
                Some(target.step),
                DecisionKind::Migrated,
                format!(
                    "moved from {from} to `{}` (line {}) of version {}",
                    target.name,
                    current
                        .steps
                        .get(target.step as usize)
                        .map_or(0, |s| s.line),
                    short(&hash)
                ),
            );
            instance.pc = target.pc;
            instance.status = Status::Sleeping { until: now };
            runner.run(instance);
        }
    }

    fn schedule(&mut self, journey: &str) {
        let library = self.library;
        let Some((hash, program)) = library.current(journey) else {
            return;
        };
        let Trigger::Schedule {
            condition, cron, ..
        } = &program.trigger
        else {
            return;
        };
        if let Some(condition) = condition {
            let (zone, locale) = self.zone_and_locale();
            let (mut runner, _) = self.runner(program);
            match runner.env(&[], None, zone, &locale).condition(condition) {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    runner.error(None, None, None, error);
                    return;
                }
            }
        }
        let slots = vec![Value::Missing; program.slots.len()];
        self.enter(hash, program, slots, format!("schedule \"{cron}\" fired"));
    }

    fn anniversary(&mut self, journey: &str) {
        let library = self.library;
        let Some((hash, program)) = library.current(journey) else {
            return;
        };
        let Trigger::Date {
            attribute, zone, ..
        } = &program.trigger
        else {
            return;
        };
        if let Some(membership) = self.state.journeys.get_mut(journey) {
            membership.next_anniversary = None;
        }
        let Some(Value::Date(days)) = self.state.profile.get(attribute).cloned() else {
            return;
        };
        let customer_zone = self.place.zone;
        let tz = zone
            .as_ref()
            .and_then(|z| clock::zone(z).ok())
            .unwrap_or(customer_zone);
        let (Some(day), Some(today)) = (
            NaiveDate::from_num_days_from_ce_opt(days),
            tz.timestamp_opt(self.now, 0)
                .single()
                .map(|d| d.date_naive()),
        ) else {
            return;
        };
        if builtins::is_anniversary(day, today) {
            let slots = vec![Value::Missing; program.slots.len()];
            self.enter(
                hash,
                program,
                slots,
                format!("today is the anniversary of `customer.{attribute}`"),
            );
        }
    }

    fn profile(&mut self, update: &serde_json::Map<String, serde_json::Value>) {
        let Some(schema) = self.library.customer_schema() else {
            return;
        };
        let (fields, problems) = decode::partial(self.library.schemas(), schema, update);
        let moved = fields
            .iter()
            .any(|(name, _)| matches!(name.as_ref(), "time_zone" | "locale"));
        for (name, value) in fields {
            self.state.profile.set(name, value);
        }
        if moved {
            self.place = Place::of(&self.state.profile);
        }
        for error in problems {
            self.effects.push(global_error(
                format!("a profile attribute was not updated: {error}"),
                Some(format!("customer.{}", error.field)),
            ));
        }
    }

    // ------------------------------------------------------------------ upkeep

    /// Date triggers and segment entries, after every input.
    fn maintain(&mut self) {
        let library = self.library;
        for (hash, program) in library.with_upkeep() {
            match &program.trigger {
                Trigger::Date {
                    attribute,
                    at,
                    zone,
                } => {
                    let next = match self.state.profile.get(attribute) {
                        Some(Value::Date(days)) => {
                            let customer_zone = self.place.zone;
                            let tz = zone
                                .as_ref()
                                .and_then(|z| clock::zone(z).ok())
                                .unwrap_or(customer_zone);
                            NaiveDate::from_num_days_from_ce_opt(*days)
                                .and_then(|day| clock::next_anniversary(self.now, tz, day, *at))
                        }
                        _ => None,
                    };
                    let current = self
                        .state
                        .journeys
                        .get(&program.journey)
                        .and_then(|m| m.next_anniversary);
                    if next != current {
                        let timer = TimerId::Anniversary {
                            journey: program.journey.clone(),
                        };
                        match next {
                            Some(at) => self.effects.push(Effect::SetTimer { timer, at }),
                            None => self.effects.push(Effect::CancelTimer { timer }),
                        }
                        self.state
                            .journeys
                            .entry(program.journey.clone())
                            .or_default()
                            .next_anniversary = next;
                    }
                }
                Trigger::Segment => {
                    let Some(segment) = &program.segment else {
                        continue;
                    };
                    let (zone, locale) = self.zone_and_locale();
                    let (runner, _) = self.runner(program);
                    let inside = runner
                        .env(&[], None, zone, &locale)
                        .condition(&segment.condition)
                        .unwrap_or(false);
                    let was = self
                        .state
                        .journeys
                        .get(&program.journey)
                        .is_some_and(|m| m.in_segment);
                    if inside != was {
                        self.state
                            .journeys
                            .entry(program.journey.clone())
                            .or_default()
                            .in_segment = inside;
                        if inside {
                            let slots = vec![Value::Missing; program.slots.len()];
                            self.enter(
                                hash,
                                program,
                                slots,
                                format!("entered segment `{}`", segment.name),
                            );
                        }
                    }
                }
                Trigger::Event(_) | Trigger::Schedule { .. } => {}
            }
        }
    }

    /// Forgets ended instances whose goal windows have closed, and empty memberships' nothing.
    fn prune(&mut self) {
        let now = self.now;
        for membership in self.state.journeys.values_mut() {
            membership
                .instances
                .retain(|i| !matches!(i.status, Status::Ended { until } if until <= now));
        }
    }
}

/// Offers an event to one instance: goals, exit rules, waits, and keeping it.
fn offer(
    runner: &mut Runner<'_>,
    journey: &str,
    instance: &mut Instance,
    event: &str,
    data: &Value,
) {
    let program = runner.program;
    let now = runner.now;
    runner.place.report(journey, runner.effects);
    let zone = runner.place.zone;
    let locale = runner.place.locale.clone();
    // Goals (also for ended and holdout instances, within their windows).
    for rule in &program.goals {
        let bit = 1u32 << (rule.goal % 32);
        let window_end = instance
            .entered_at
            .saturating_add(i64::try_from(rule.within).unwrap_or(i64::MAX));
        if rule.event.event != event || instance.goals & bit != 0 || now > window_end {
            continue;
        }
        let accepted = runner.accepts(
            rule.event.condition.as_ref(),
            &instance.slots,
            data,
            zone,
            &locale,
        );
        match accepted {
            Ok(true) => {
                instance.goals |= bit;
                runner.reach_goal(instance, rule.goal);
            }
            Ok(false) => {}
            Err(error) => runner.error(Some(instance.id), None, None, error),
        }
    }
    if !instance.is_active() {
        return;
    }
    // Exit rules.
    for rule in &program.exits {
        if rule.event != event {
            continue;
        }
        let accepted = runner.accepts(
            rule.condition.as_ref(),
            &instance.slots,
            data,
            zone,
            &locale,
        );
        match accepted {
            Ok(true) => {
                let why = format!("exit rule `exit when {event}` matched");
                runner.end(
                    instance,
                    ExitReason::ExitRule {
                        event: event.to_string(),
                    },
                    why,
                );
                return;
            }
            Ok(false) => {}
            Err(error) => runner.error(Some(instance.id), None, None, error),
        }
    }
    // Keep it for a later `since entry` wait.
    if program.since_entry_events.iter().any(|e| e == event) {
        instance.kept.push((Arc::from(event), now, data.clone()));
        if instance.kept.len() > KEPT_EVENTS {
            instance.kept.remove(0);
        }
    }
    // A wait for it.
    if !matches!(instance.status, Status::Waiting { .. }) {
        return;
    }
    let Some(Instr::WaitFor { step, arms, .. }) = program.code.get(instance.pc as usize) else {
        return;
    };
    for arm in arms {
        if arm.event.event != event {
            continue;
        }
        let accepted = runner.accepts(
            arm.event.condition.as_ref(),
            &instance.slots,
            data,
            zone,
            &locale,
        );
        match accepted {
            Ok(true) => {
                runner.cancel_timer(instance);
                if let Some(slot) = arm.event.slot
                    && let Some(target) = instance.slots.get_mut(slot as usize)
                {
                    *target = data.clone();
                }
                runner.decide(
                    Some(instance.id),
                    Some(*step),
                    DecisionKind::EventMatched,
                    format!("`{event}` arrived"),
                );
                instance.pc = arm.target;
                instance.status = Status::Sleeping { until: now };
                runner.run(instance);
                return;
            }
            Ok(false) => {}
            Err(error) => runner.error(Some(instance.id), Some(*step), None, error),
        }
    }
}

/// The text of a `once per` key: what `disasm::constant` writes, without its copies for the
/// common kinds of key.
fn key_text(value: &Value) -> String {
    match value {
        Value::Text(text) => {
            let mut out = String::with_capacity(text.len() + 2);
            out.push('"');
            for c in text.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Int(n) => n.to_string(),
        other => journey_compiler::bytecode::disasm::constant(other),
    }
}

/// A runtime error that belongs to no journey (for the shell's own problems).
pub fn shell_error(message: impl Into<String>) -> Effect {
    global_error(message.into(), None)
}

impl From<EvalError> for RuntimeError {
    fn from(error: EvalError) -> RuntimeError {
        RuntimeError {
            journey: None,
            instance: None,
            step: None,
            template: None,
            field: error.field,
            message: error.message,
        }
    }
}
