//! Running one instance: executes instructions from its `pc` until it waits, sleeps or ends,
//! emitting effects. Sends go through consent, the marketing policy and rendering here.

use std::sync::Arc;

use chrono_tz::Tz;
use journey_compiler::bytecode::{Category, Channel, Expr, Instr, Program, Record, Value};
use sha2::{Digest, Sha256};

use super::Environment;
use super::Library;
use super::builtins::{CouponSeed, print};
use super::clock;
use super::effect::{Decision, DecisionKind, Effect, ExitReason, Message, RuntimeError, TimerId};
use super::eval::{Env, EvalError};
use super::message;
use super::state::{Instance, Status};
use crate::render::locale::Locale;

/// Instructions one run may execute before it is stopped as a runaway (no journey loops, so a
/// real program never comes near).
const BUDGET: u32 = 10_000;

/// The customer-wide context of a run.
pub struct Runner<'a> {
    /// The program of the instance.
    pub program: &'a Program,
    /// The customer's id.
    pub customer: &'a str,
    /// The profile (updated by `set`).
    pub profile: &'a mut Record,
    /// Recent marketing sends (for caps).
    pub marketing_sends: &'a mut Vec<i64>,
    /// Shop settings.
    pub env: &'a Environment,
    /// The time.
    pub now: i64,
    /// Where effects go.
    pub effects: &'a mut Vec<Effect>,
    /// Instructions executed so far (for benchmarks).
    pub executed: &'a mut u64,
    /// The customer's zone and locale, kept up to date when a `set` changes them.
    pub place: &'a mut Place,
    /// The programs (for what they worked out at deploy time).
    pub library: &'a Library,
}

/// The customer's zone and locale, read from the profile once per step (and again when the
/// profile changes them).
#[derive(Clone, Debug)]
pub struct Place {
    /// The customer's time zone (UTC when not set or not valid).
    pub zone: Tz,
    /// The customer's locale.
    pub locale: Locale,
    /// Why the profile's `time_zone` is not valid, if it is not.
    zone_error: Option<String>,
}

/// A place with the profile's `locale` and `time_zone` texts it was worked out from.
type RememberedPlace = (Option<Arc<str>>, Option<Arc<str>>, Place);

thread_local! {
    /// The last place worked out on this thread: customers stepped one after another mostly
    /// share their locale and zone.
    static LAST_PLACE: std::cell::RefCell<Option<RememberedPlace>> =
        const { std::cell::RefCell::new(None) };
}

impl Place {
    /// The zone and locale of a profile.
    pub fn of(profile: &Record) -> Place {
        let text = |field: &str| match profile.get(field) {
            Some(Value::Text(text)) => Some(text),
            _ => None,
        };
        let (locale_tag, zone_name) = (text("locale"), text("time_zone"));
        let remembered = LAST_PLACE.with(|last| {
            let last = last.try_borrow().ok()?;
            let (tag, name, place) = last.as_ref()?;
            (tag.as_deref() == locale_tag.map(AsRef::as_ref)
                && name.as_deref() == zone_name.map(AsRef::as_ref))
            .then(|| place.clone())
        });
        if let Some(place) = remembered {
            return place;
        }
        let place = Place::work_out(locale_tag.map(AsRef::as_ref), zone_name.map(AsRef::as_ref));
        LAST_PLACE.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some((locale_tag.cloned(), zone_name.cloned(), place.clone()));
            }
        });
        place
    }

    fn work_out(locale_tag: Option<&str>, zone_name: Option<&str>) -> Place {
        let locale = locale_tag.map_or_else(Locale::default, Locale::parse);
        let (zone, zone_error) = match zone_name.map(clock::zone) {
            Some(Ok(zone)) => (zone, None),
            Some(Err(message)) => (Tz::UTC, Some(message)),
            None => (Tz::UTC, None),
        };
        Place {
            zone,
            locale,
            zone_error,
        }
    }

    /// Reports a `time_zone` that is not valid, as an error of `journey`.
    pub fn report(&self, journey: &str, effects: &mut Vec<Effect>) {
        if let Some(message) = &self.zone_error {
            effects.push(Effect::Error(RuntimeError {
                journey: Some(journey.to_string()),
                instance: None,
                step: None,
                template: None,
                field: Some("customer.time_zone".to_string()),
                message: format!("{message}; UTC is used instead"),
            }));
        }
    }
}

/// The customer's zone and locale, with an error effect if the zone is not valid.
pub fn zone_and_locale(profile: &Record, journey: &str, effects: &mut Vec<Effect>) -> (Tz, Locale) {
    let place = Place::of(profile);
    place.report(journey, effects);
    (place.zone, place.locale)
}

enum SendOutcome {
    Continue,
    Sleep(i64),
    Failed,
}

impl Runner<'_> {
    fn journey(&self) -> &str {
        &self.program.journey
    }

    fn step_label(&self, step: u32) -> String {
        self.program.step_label(step).to_string()
    }

    /// Records a decision.
    pub fn decide(
        &mut self,
        instance: Option<u32>,
        step: Option<u32>,
        kind: DecisionKind,
        why: String,
    ) {
        let step = step.map(|s| self.step_label(s));
        self.effects.push(Effect::Decision(Decision {
            journey: self.journey().to_string(),
            instance,
            step,
            kind,
            why,
        }));
    }

    /// Records a runtime error.
    pub fn error(
        &mut self,
        instance: Option<u32>,
        step: Option<u32>,
        template: Option<&str>,
        error: EvalError,
    ) {
        let step = step.map(|s| self.step_label(s));
        self.effects.push(Effect::Error(RuntimeError {
            journey: Some(self.journey().to_string()),
            instance,
            step,
            template: template.map(str::to_string),
            field: error.field,
            message: error.message,
        }));
    }

    /// Whether an event (`it`) passes a `where` condition (none: it passes), in the scope of
    /// an instance's slots.
    pub fn accepts(
        &self,
        condition: Option<&Expr>,
        slots: &[Value],
        it: &Value,
        zone: Tz,
        locale: &Locale,
    ) -> Result<bool, EvalError> {
        match condition {
            None => Ok(true),
            Some(condition) => self.env(slots, Some(it), zone, locale).condition(condition),
        }
    }

    /// An evaluation environment over the instance's data.
    pub fn env<'e>(
        &'e self,
        slots: &'e [Value],
        it: Option<&'e Value>,
        zone: Tz,
        locale: &'e Locale,
    ) -> Env<'e> {
        Env {
            profile: self.profile,
            slots,
            slot_names: &self.program.slots,
            it,
            locals: Vec::new(),
            shop: &self.env.shop,
            unsubscribe_url: None,
            zone,
            locale,
            now: self.now,
            coupon_seed: None,
            coupons: Vec::new(),
        }
    }

    fn set_timer(&mut self, instance: &mut Instance, at: i64) {
        instance.timer = instance.timer.wrapping_add(1);
        self.effects.push(Effect::SetTimer {
            timer: TimerId::Wake {
                journey: self.journey().to_string(),
                instance: instance.id,
                seq: instance.timer,
            },
            at,
        });
    }

    /// Cancels the instance's pending timer, if it has one.
    pub fn cancel_timer(&mut self, instance: &Instance) {
        let pending = match instance.status {
            Status::Sleeping { .. } => true,
            Status::Waiting { until } => until.is_some(),
            Status::Ended { .. } => false,
        };
        if pending {
            self.effects.push(Effect::CancelTimer {
                timer: TimerId::Wake {
                    journey: self.journey().to_string(),
                    instance: instance.id,
                    seq: instance.timer,
                },
            });
        }
    }

    /// Ends the instance: cancels its timer, reports the exit, keeps it for goal windows.
    pub fn end(&mut self, instance: &mut Instance, reason: ExitReason, why: String) {
        self.cancel_timer(instance);
        let until = self
            .program
            .goals
            .iter()
            .map(|g| {
                instance
                    .entered_at
                    .saturating_add(i64::try_from(g.within).unwrap_or(i64::MAX))
            })
            .max()
            .unwrap_or(self.now);
        instance.status = Status::Ended { until };
        let step = self.step_at(instance.pc);
        self.decide(Some(instance.id), step, DecisionKind::Left, why);
        self.effects.push(Effect::Exit {
            journey: self.journey().to_string(),
            instance: instance.id,
            reason,
        });
    }

    fn step_at(&self, pc: u32) -> Option<u32> {
        self.program.code.get(pc as usize)?.step()
    }

    /// Runs the instance from its `pc` until it waits, sleeps or ends.
    pub fn run(&mut self, instance: &mut Instance) {
        let program = self.program;
        // Read once per run: a `set` of the zone or locale counts from the next run on.
        self.place.report(&program.journey, self.effects);
        let zone = self.place.zone;
        let locale = self.place.locale.clone();
        let mut budget = BUDGET;
        loop {
            if budget == 0 {
                self.error(
                    Some(instance.id),
                    None,
                    None,
                    EvalError::new("the journey ran too many steps at once and was stopped"),
                );
                self.end(
                    instance,
                    ExitReason::Error,
                    "stopped: runaway journey".to_string(),
                );
                return;
            }
            budget -= 1;
            *self.executed += 1;
            let Some(instr) = program.code.get(instance.pc as usize) else {
                self.error(
                    Some(instance.id),
                    None,
                    None,
                    EvalError::new(format!("the program has no instruction {}", instance.pc)),
                );
                self.end(
                    instance,
                    ExitReason::Error,
                    "stopped: corrupt program".to_string(),
                );
                return;
            };
            match instr {
                Instr::Send {
                    step,
                    template,
                    with,
                } => match self.send(instance, *step, *template, with, zone, &locale) {
                    SendOutcome::Continue => instance.pc += 1,
                    SendOutcome::Sleep(until) => {
                        instance.status = Status::Sleeping { until };
                        self.set_timer(instance, until);
                        return;
                    }
                    SendOutcome::Failed => return,
                },
                Instr::Wait { seconds, .. } => {
                    let until = clock::add(self.now, *seconds, zone);
                    instance.pc += 1;
                    instance.status = Status::Sleeping { until };
                    self.set_timer(instance, until);
                    return;
                }
                Instr::WaitUntil {
                    step,
                    days,
                    weekday,
                    at,
                    zone: fixed,
                } => {
                    let tz = match fixed {
                        Some(name) => clock::zone(name).unwrap_or(zone),
                        None => zone,
                    };
                    match clock::next_local_time_after_days(self.now, tz, *at, *weekday, *days) {
                        Some(until) => {
                            instance.pc += 1;
                            if until <= self.now {
                                continue;
                            }
                            instance.status = Status::Sleeping { until };
                            self.set_timer(instance, until);
                            return;
                        }
                        None => {
                            self.error(
                                Some(instance.id),
                                Some(*step),
                                None,
                                EvalError::new("the local time to wait for is out of range"),
                            );
                            self.end(
                                instance,
                                ExitReason::Error,
                                "stopped: wait until failed".to_string(),
                            );
                            return;
                        }
                    }
                }
                Instr::WaitFor {
                    step,
                    arms,
                    timeout,
                } => {
                    // An event kept since entry may already satisfy the wait.
                    let mut matched = None;
                    for (name, at, data) in &instance.kept {
                        if *at < instance.entered_at {
                            continue;
                        }
                        for arm in arms.iter().filter(|arm| arm.since_entry) {
                            if arm.event.event.as_str() != name.as_ref() {
                                continue;
                            }
                            let accepted = self
                                .accepts(
                                    arm.event.condition.as_ref(),
                                    &instance.slots,
                                    data,
                                    zone,
                                    &locale,
                                )
                                .unwrap_or(false);
                            if accepted {
                                matched = Some((arm.clone(), data.clone()));
                                break;
                            }
                        }
                        if matched.is_some() {
                            break;
                        }
                    }
                    if let Some((arm, data)) = matched {
                        if let Some(slot) = arm.event.slot
                            && let Some(target) = instance.slots.get_mut(slot as usize)
                        {
                            *target = data;
                        }
                        self.decide(
                            Some(instance.id),
                            Some(*step),
                            DecisionKind::EventMatched,
                            format!("`{}` had already arrived since entry", arm.event.event),
                        );
                        instance.pc = arm.target;
                        continue;
                    }
                    let until = timeout.map(|(seconds, _)| clock::add(self.now, seconds, zone));
                    instance.status = Status::Waiting { until };
                    if let Some(until) = until {
                        self.set_timer(instance, until);
                        // set_timer bumps the sequence; the waiting status keeps `until`.
                        instance.status = Status::Waiting { until: Some(until) };
                    }
                    return;
                }
                Instr::Jump { target } => instance.pc = *target,
                Instr::Branch {
                    step,
                    condition,
                    otherwise,
                } => {
                    let mut env = self.env(&instance.slots, None, zone, &locale);
                    let result = env.condition(condition);
                    drop(env);
                    let why = |outcome: &str| {
                        let library = self.library;
                        match library.branch_text(&instance.version, *step) {
                            Some(shown) => ["`", shown, "` is ", outcome].concat(),
                            None => format!(
                                "`{}` is {outcome}",
                                super::eval::show(condition, &program.slots)
                            ),
                        }
                    };
                    match result {
                        Ok(true) => {
                            let why = why("true");
                            self.decide(Some(instance.id), Some(*step), DecisionKind::Branch, why);
                            instance.pc += 1;
                        }
                        Ok(false) => {
                            let why = why("false");
                            self.decide(Some(instance.id), Some(*step), DecisionKind::Branch, why);
                            instance.pc = *otherwise;
                        }
                        Err(error) => {
                            self.error(Some(instance.id), Some(*step), None, error);
                            self.end(
                                instance,
                                ExitReason::Error,
                                "stopped: a condition could not be evaluated".to_string(),
                            );
                            return;
                        }
                    }
                }
                Instr::Split { step, branches } => {
                    let bucket = split_bucket(self.customer, self.journey(), *step);
                    let chosen = branches.iter().find(|(bound, _)| bucket < *bound);
                    let mut previous = 0;
                    let mut share = 0;
                    for (bound, _) in branches {
                        if bucket < *bound {
                            share = bound - previous;
                            break;
                        }
                        previous = *bound;
                    }
                    let why = format!(
                        "customer bucket {:.2}% falls in the {}% branch",
                        f64::from(bucket) / 100.0,
                        f64::from(share) / 100.0
                    );
                    match chosen {
                        Some((_, Some(target))) => {
                            self.decide(Some(instance.id), Some(*step), DecisionKind::Split, why);
                            instance.pc = *target;
                        }
                        _ => {
                            self.decide(
                                Some(instance.id),
                                Some(*step),
                                DecisionKind::Split,
                                format!("{why} (holdout)"),
                            );
                            instance.holdout = true;
                            self.end(
                                instance,
                                ExitReason::Holdout,
                                "holdout group: nothing is sent, goals are still counted"
                                    .to_string(),
                            );
                            return;
                        }
                    }
                }
                Instr::Set {
                    step,
                    attribute,
                    value,
                } => {
                    let mut env = self.env(&instance.slots, None, zone, &locale);
                    match env.eval(value) {
                        Ok(result) => {
                            let shown =
                                print(&result, &env).unwrap_or_else(|_| "(not set)".to_string());
                            self.profile.set(attribute.clone(), result.clone());
                            if matches!(attribute.as_ref(), "time_zone" | "locale") {
                                *self.place = Place::of(self.profile);
                            }
                            self.effects.push(Effect::SetProfile {
                                journey: program.journey.clone(),
                                attribute: attribute.clone(),
                                value: result,
                                shown,
                            });
                            instance.pc += 1;
                        }
                        Err(error) => {
                            self.error(Some(instance.id), Some(*step), None, error);
                            self.end(
                                instance,
                                ExitReason::Error,
                                "stopped: a value could not be computed".to_string(),
                            );
                            return;
                        }
                    }
                }
                Instr::Goal { step, goal, within } => {
                    let elapsed = self.now.saturating_sub(instance.entered_at);
                    let in_window =
                        within.is_none_or(|w| elapsed <= i64::try_from(w).unwrap_or(i64::MAX));
                    let bit = 1u32 << (*goal % 32);
                    if in_window && instance.goals & bit == 0 {
                        instance.goals |= bit;
                        self.reach_goal(instance, *goal);
                    } else if !in_window {
                        self.decide(
                            Some(instance.id),
                            Some(*step),
                            DecisionKind::Skipped,
                            "goal reached after its window: not counted".to_string(),
                        );
                    }
                    instance.pc += 1;
                }
                Instr::Exit { .. } => {
                    self.end(
                        instance,
                        ExitReason::ExitStep,
                        "reached an `exit` step".to_string(),
                    );
                    return;
                }
                Instr::End => {
                    self.end(
                        instance,
                        ExitReason::Completed,
                        "reached the end of the journey".to_string(),
                    );
                    return;
                }
            }
        }
    }

    /// Reports a goal.
    pub fn reach_goal(&mut self, instance: &Instance, goal: u16) {
        let name = self
            .program
            .goal_names
            .get(goal as usize)
            .cloned()
            .unwrap_or_default();
        self.effects.push(Effect::Goal {
            journey: self.journey().to_string(),
            instance: instance.id,
            goal: name,
            holdout: instance.holdout,
        });
    }

    fn send(
        &mut self,
        instance: &mut Instance,
        step: u32,
        template_idx: u16,
        with: &[(u16, journey_compiler::bytecode::Expr)],
        zone: Tz,
        locale: &Locale,
    ) -> SendOutcome {
        let program = self.program;
        let Some(template) = program.templates.get(template_idx as usize) else {
            self.error(
                Some(instance.id),
                Some(step),
                None,
                EvalError::new("the program has no such template"),
            );
            self.end(
                instance,
                ExitReason::Error,
                "stopped: corrupt program".to_string(),
            );
            return SendOutcome::Failed;
        };
        let marketing = template.category == Category::Marketing;
        // Who it goes to, and whether they agreed.
        let (address_field, consent_field) = match template.channel {
            Channel::Email => (Some("email"), "email_consent"),
            Channel::Sms => (Some("phone"), "sms_consent"),
            Channel::Webhook => (None, ""),
        };
        let to = match address_field {
            Some(field) => match self.profile.get(field) {
                Some(Value::Text(address)) => Some(address.to_string()),
                _ => {
                    self.decide(
                        Some(instance.id),
                        Some(step),
                        DecisionKind::Skipped,
                        [
                            "`",
                            &template.name,
                            "` not sent: the customer has no `",
                            field,
                            "`",
                        ]
                        .concat(),
                    );
                    return SendOutcome::Continue;
                }
            },
            None => None,
        };
        if marketing && template.channel != Channel::Webhook {
            let consent = matches!(self.profile.get(consent_field), Some(Value::Bool(true)));
            if !consent {
                self.decide(
                    Some(instance.id),
                    Some(step),
                    DecisionKind::Skipped,
                    format!("`{}` not sent: marketing needs `customer.{consent_field}`, which is not true", template.name),
                );
                return SendOutcome::Continue;
            }
            if let Some(outcome) = self.apply_policy(instance, step, &template.name, zone) {
                return outcome;
            }
        }
        // `with` values, then the message.
        let unsubscribe = (marketing && template.channel == Channel::Email)
            .then(|| self.env.unsubscribe_url(self.customer));
        let seed = CouponSeed {
            secret: &self.env.secret,
            customer: self.customer,
            journey: &program.journey,
            instance: instance.id,
            pc: instance.pc,
        };
        // Every `with` value is computed from the slots as they were, then they are put in
        // place for rendering (and taken back out if it fails: sending is all or nothing).
        let mut env = self.env(&instance.slots, None, zone, locale);
        env.coupon_seed = Some(seed);
        env.unsubscribe_url = Some(unsubscribe.as_deref().unwrap_or(""));
        let mut values = Vec::with_capacity(with.len());
        let mut failure = None;
        for (slot, value) in with {
            match env.eval(value) {
                Ok(result) => values.push((*slot as usize, result)),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let mut coupons = std::mem::take(&mut env.coupons);
        drop(env);
        let rendered = match failure {
            Some(error) => Err(message::RenderError {
                part: "`with`".to_string(),
                error,
            }),
            None => {
                let mut previous = Vec::with_capacity(values.len());
                for (slot, value) in values {
                    if let Some(target) = instance.slots.get_mut(slot) {
                        previous.push((slot, std::mem::replace(target, value)));
                    }
                }
                let mut env = self.env(&instance.slots, None, zone, locale);
                env.coupon_seed = Some(seed);
                env.unsubscribe_url = Some(unsubscribe.as_deref().unwrap_or(""));
                env.coupons = coupons;
                let rendered = message::render_prepared(
                    program,
                    instance.version,
                    u32::from(template_idx),
                    &mut env,
                );
                coupons = std::mem::take(&mut env.coupons);
                drop(env);
                if rendered.is_err() {
                    // Later values of the same slot came last: put the first one back last.
                    for (slot, value) in previous.into_iter().rev() {
                        if let Some(target) = instance.slots.get_mut(slot) {
                            *target = value;
                        }
                    }
                }
                rendered
            }
        };
        let rendered = match rendered {
            Ok(rendered) => rendered,
            Err(failure) => {
                let mut error = failure.error;
                error.message = format!(
                    "in the {} of `{}`: {}",
                    failure.part, template.name, error.message
                );
                self.error(Some(instance.id), Some(step), Some(&template.name), error);
                self.end(
                    instance,
                    ExitReason::Error,
                    format!(
                        "stopped: `{}` could not be rendered, nothing was sent",
                        template.name
                    ),
                );
                return SendOutcome::Failed;
            }
        };
        if marketing {
            self.marketing_sends.push(self.now);
        }
        let why = if marketing {
            "marketing: consent given, outside quiet hours, within the frequency caps"
        } else {
            "transactional: sent at once (policies do not apply)"
        };
        self.decide(
            Some(instance.id),
            Some(step),
            DecisionKind::Sent,
            ["`", &template.name, "` sent; ", why].concat(),
        );
        self.effects.push(Effect::Send(Box::new(Message {
            message_id: message_id(
                self.customer,
                &program.journey,
                instance,
                &self.env.message_domain,
            ),
            journey: program.journey.clone(),
            instance: instance.id,
            step: self.step_label(step),
            template: template.name.clone(),
            channel: template.channel,
            category: template.category,
            to,
            subject: rendered.subject,
            preheader: rendered.preheader,
            text: rendered.text,
            html: rendered.html,
            unsubscribe_url: unsubscribe,
            coupons,
        })));
        SendOutcome::Continue
    }

    /// Quiet hours and caps for a marketing message: `Some` if it must wait or be skipped.
    fn apply_policy(
        &mut self,
        instance: &Instance,
        step: u32,
        template: &str,
        zone: Tz,
    ) -> Option<SendOutcome> {
        let policy = self.program.policy.as_ref()?;
        for quiet in &policy.quiet_hours {
            let tz = match &quiet.zone {
                Some(name) => clock::zone(name).unwrap_or(zone),
                None => zone,
            };
            if let Some(until) = clock::quiet_until(self.now, tz, quiet.from, quiet.to) {
                self.decide(
                    Some(instance.id),
                    Some(step),
                    DecisionKind::Deferred,
                    format!(
                        "`{template}` held until {}: quiet hours {:02}:{:02}–{:02}:{:02} ({}) of policy marketing",
                        local_time(until, tz),
                        quiet.from / 3600,
                        quiet.from % 3600 / 60,
                        quiet.to / 3600,
                        quiet.to % 3600 / 60,
                        tz.name()
                    ),
                );
                return Some(SendOutcome::Sleep(until));
            }
        }
        let longest = policy.caps.iter().map(|c| c.window).max().unwrap_or(0);
        let horizon = self
            .now
            .saturating_sub(i64::try_from(longest).unwrap_or(i64::MAX));
        self.marketing_sends.retain(|at| *at > horizon);
        for cap in &policy.caps {
            let window = i64::try_from(cap.window).unwrap_or(i64::MAX);
            let since = self.now.saturating_sub(window);
            let recent: Vec<i64> = self
                .marketing_sends
                .iter()
                .copied()
                .filter(|at| *at > since)
                .collect();
            if recent.len() >= cap.count as usize {
                let rule = format!(
                    "at most {} per {} of policy marketing ({} already sent)",
                    cap.count,
                    journey_compiler::bytecode::disasm::duration(cap.window),
                    recent.len()
                );
                if cap.defer {
                    // It may go once enough of those leave the window.
                    let idx = recent.len() - cap.count as usize;
                    let until = recent
                        .get(idx)
                        .copied()
                        .unwrap_or(self.now)
                        .saturating_add(window);
                    self.decide(
                        Some(instance.id),
                        Some(step),
                        DecisionKind::Deferred,
                        format!(
                            "`{template}` held until {}: {rule}",
                            local_time(until, zone)
                        ),
                    );
                    return Some(SendOutcome::Sleep(until));
                }
                self.decide(
                    Some(instance.id),
                    Some(step),
                    DecisionKind::Skipped,
                    format!("`{template}` skipped: {rule}"),
                );
                return Some(SendOutcome::Continue);
            }
        }
        None
    }
}

/// An instant as local time, `2026-11-24 08:00`, for decision reasons.
fn local_time(at: i64, tz: Tz) -> String {
    use chrono::TimeZone;
    tz.timestamp_opt(at, 0).single().map_or_else(
        || at.to_string(),
        |d| d.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// The split bucket of a customer at a split step: 0..10,000, from a hash of the customer id,
/// the journey and the step, so it never changes.
pub fn split_bucket(customer: &str, journey: &str, step: u32) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(customer.as_bytes());
    hasher.update([0]);
    hasher.update(journey.as_bytes());
    hasher.update([0]);
    hasher.update(step.to_le_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    for (slot, byte) in first.iter_mut().zip(digest.iter()) {
        *slot = *byte;
    }
    u32::try_from(u64::from_le_bytes(first) % 10_000).unwrap_or(0)
}

/// The deterministic Message-ID of a send: the same customer, journey, instance, version and
/// step always give the same id, so a retried delivery is recognisable.
pub fn message_id(customer: &str, journey: &str, instance: &Instance, domain: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [customer, journey] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(instance.id.to_le_bytes());
    hasher.update(instance.version);
    hasher.update(instance.pc.to_le_bytes());
    let digest = hasher.finalize();
    let mut id = String::with_capacity(34 + journey.len() + domain.len() + 2);
    id.push('<');
    hex_into(digest.iter().take(16), &mut id);
    id.push('.');
    id.push_str(journey);
    id.push('@');
    id.push_str(domain);
    id.push('>');
    id
}

/// Writes bytes as lowercase hexadecimal.
pub fn hex_into<'b>(bytes: impl Iterator<Item = &'b u8>, out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn profile(locale: Option<&str>, zone: Option<&str>) -> Record {
        Record::from_pairs(
            [("locale", locale), ("time_zone", zone)]
                .into_iter()
                .filter_map(|(field, text)| Some((Arc::from(field), Value::text(text?)))),
        )
    }

    #[test]
    fn each_profile_gets_its_own_place_whatever_came_before() {
        let rome = profile(Some("it-IT"), Some("Europe/Rome"));
        let york = profile(Some("en-US"), Some("America/New_York"));
        let wrong = profile(Some("en-US"), Some("Mars/Olympus"));
        let none = profile(None, None);
        for _ in 0..2 {
            let place = Place::of(&rome);
            assert_eq!(
                (place.zone, place.locale.name()),
                (Tz::Europe__Rome, "it_IT")
            );
            let place = Place::of(&york);
            assert_eq!(
                (place.zone, place.locale.name()),
                (Tz::America__New_York, "en_US")
            );
            let place = Place::of(&wrong);
            assert_eq!(place.zone, Tz::UTC);
            assert!(place.zone_error.is_some());
            let place = Place::of(&none);
            assert_eq!((place.zone, place.zone_error), (Tz::UTC, None));
            assert_eq!(place.locale, Locale::default());
        }
    }
}
