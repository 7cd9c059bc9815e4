//! Checks one journey: its trigger and rules, then every step along every path, tracking what
//! is known where (so a template sent before `shipment` exists is caught), unreachable steps,
//! waits that never end, and the least time to each goal.

use std::str::FromStr;

use super::expr::{ExprChecker, SendSite, proven_set};
use super::scope::Scope;
use crate::diagnostics::{Diagnostic, journeys as wording, names};
use crate::model::Program;
use crate::source::Span;
use crate::syntax::ast::{
    Block, EntryKind, EventMatch, Journey, Step, StepKind, Text, TriggerKind,
};
use crate::types::Type;

/// Templates sent by journeys, by name, for the unused-template check.
pub type SentTemplates = std::collections::BTreeSet<String>;

/// Checks a journey; records the templates it sends in `sent`.
pub fn check(
    program: &Program<'_>,
    journey: &Journey,
    sent: &mut SentTemplates,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut checker = JourneyChecker {
        exprs: ExprChecker {
            bound_in_journey: bindings(&journey.steps),
            ..ExprChecker::new(program, diagnostics)
        },
        journey,
        sent,
        first_send: None,
    };
    checker.run();
}

/// Every name a wait binds in these steps, with the first place it is bound.
fn bindings(steps: &[Step]) -> std::collections::BTreeMap<String, Span> {
    let mut found = std::collections::BTreeMap::new();
    let mut add = |event: &EventMatch| {
        let name = event.bound_name();
        found.entry(name.name.clone()).or_insert(name.span);
    };
    fn walk(steps: &[Step], add: &mut dyn FnMut(&EventMatch)) {
        for step in steps {
            match &step.kind {
                StepKind::WaitFor { event, timeout, .. } => {
                    add(event);
                    if let Some(block) = timeout {
                        walk(&block.steps, add);
                    }
                }
                StepKind::WaitAny {
                    branches, timeout, ..
                } => {
                    for branch in branches {
                        add(&branch.event);
                        walk(&branch.block.steps, add);
                    }
                    if let Some(block) = timeout {
                        walk(&block.steps, add);
                    }
                }
                StepKind::If {
                    then, otherwise, ..
                } => {
                    walk(&then.steps, add);
                    if let Some(block) = otherwise {
                        walk(&block.steps, add);
                    }
                }
                StepKind::Split(branches) => {
                    for branch in branches {
                        if let Some(block) = &branch.block {
                            walk(&block.steps, add);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    walk(steps, &mut add);
    found
}

struct JourneyChecker<'p, 'a, 'd, 's> {
    exprs: ExprChecker<'p, 'a, 'd>,
    journey: &'p Journey,
    sent: &'s mut SentTemplates,
    /// The least time from entry to the first message.
    first_send: Option<u64>,
}

impl<'p, 'a, 'd, 's> JourneyChecker<'p, 'a, 'd, 's> {
    fn program(&self) -> &'p Program<'a> {
        self.exprs.program
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.exprs.diagnostics.push(diagnostic);
    }

    fn run(&mut self) {
        let journey = self.journey;
        let mut scope = Scope::default();
        if let Some(customer) = self.program().customer {
            scope.bind("customer", Type::Record(customer), journey.name.span);
        }
        let base = scope.clone();

        match journey.triggers.as_slice() {
            [] => self.report(wording::missing_trigger(&journey.name)),
            [first, rest @ ..] => {
                for extra in rest {
                    self.report(wording::multiple_triggers(extra.span, first.span));
                }
                self.trigger(&first.kind, &mut scope);
            }
        }
        for extra in journey.triggers.iter().skip(1) {
            // Still check the extra triggers' names, in a scratch scope.
            let mut scratch = base.clone();
            self.trigger(&extra.kind, &mut scratch);
        }

        match journey.entry.as_slice() {
            [] => self.report(wording::default_reentry(&journey.name)),
            [first, rest @ ..] => {
                for extra in rest {
                    self.report(wording::conflicting_entry_rules(extra.span, first.span));
                }
            }
        }
        for rule in &journey.entry {
            if let EntryKind::OncePer(key) = &rule.kind {
                self.exprs.check(key, &scope);
            }
        }
        for exit in &journey.exits {
            self.event_match(exit, &scope);
        }
        let mut goal_names: std::collections::BTreeMap<&str, Span> =
            std::collections::BTreeMap::new();
        for goal in &journey.goals {
            if let Some(first) = goal_names.insert(&goal.name.name, goal.name.span) {
                self.report(wording::duplicate_goal(&goal.name, first));
            }
            self.event_match(&goal.event, &scope);
        }

        if journey.steps.is_empty() {
            self.report(wording::empty_journey(&journey.name));
            return;
        }
        self.steps(&journey.steps, Some(scope));

        for goal in &journey.goals {
            if let Some(first_send) = self.first_send
                && first_send > goal.within.seconds
            {
                self.report(wording::goal_rule_before_first_message(goal, first_send));
            }
        }
    }

    fn trigger(&mut self, trigger: &TriggerKind, scope: &mut Scope) {
        match trigger {
            TriggerKind::Event(event_match) => {
                let ty = self.event_match(event_match, scope);
                scope.bind(
                    &event_match.bound_name().name,
                    ty,
                    event_match.bound_name().span,
                );
            }
            TriggerKind::Schedule {
                cron,
                zone,
                condition,
            } => {
                self.cron(cron);
                if let Some(zone) = zone {
                    self.zone(zone);
                }
                if let Some(condition) = condition {
                    self.exprs.condition(condition, scope);
                }
            }
            TriggerKind::Date {
                attribute,
                at,
                zone,
            } => {
                self.exprs.time_of_day(at);
                if let Some(zone) = zone {
                    self.zone(zone);
                }
                let ty = self.exprs.path(attribute, scope);
                let is_customer = attribute
                    .parts
                    .first()
                    .is_some_and(|p| p.name == "customer");
                if !ty.is_unknown() && (!is_customer || !matches!(ty.present(), Type::Date)) {
                    let shown = self.program().schemas.show(&ty);
                    self.report(wording::not_a_date_attribute(attribute.span, &shown));
                }
            }
            TriggerKind::Segment(name) => {
                if !self.program().segments.contains_key(&name.name)
                    && !self.program().is_broken(&name.name)
                {
                    let candidates: Vec<&str> =
                        self.program().segments.keys().map(String::as_str).collect();
                    self.report(names::unknown_segment(name, candidates));
                }
            }
        }
    }

    /// Checks an event name and its `where` clause; returns the event's type.
    fn event_match(&mut self, event_match: &EventMatch, scope: &Scope) -> Type {
        let ty = match self.program().schemas.event(&event_match.event.name) {
            Some(id) => Type::Record(id),
            None if self.program().is_broken(&event_match.event.name) => Type::Unknown,
            None => {
                let candidates: Vec<&str> = self.program().schemas.event_names().collect();
                self.report(names::unknown_event(&event_match.event, candidates));
                Type::Unknown
            }
        };
        if let Some(condition) = &event_match.condition {
            let mut inner = scope.clone();
            inner.bind("it", ty.clone(), event_match.event.span);
            if let Some(binding) = &event_match.binding {
                inner.bind(&binding.name, ty.clone(), binding.span);
            }
            self.exprs.condition(condition, &inner);
        }
        ty
    }

    fn cron(&mut self, cron: &Text) {
        let fields: Vec<&str> = cron.value.split_whitespace().collect();
        if fields.len() != 5 {
            self.report(wording::invalid_cron(
                cron.span,
                &format!("it has {} fields instead of 5", fields.len()),
            ));
            return;
        }
        let with_seconds = format!("0 {}", cron.value.trim());
        if let Err(error) = cron::Schedule::from_str(&with_seconds) {
            self.report(wording::invalid_cron(cron.span, &error.to_string()));
        }
    }

    fn zone(&mut self, zone: &Text) {
        self.exprs.zone(zone);
    }

    /// Checks a sequence of steps; `None` in or out means no customer gets here.
    fn steps(&mut self, steps: &[Step], mut scope: Option<Scope>) -> Option<Scope> {
        let mut last_live = scope.clone();
        for (idx, step) in steps.iter().enumerate() {
            let current = match scope.take() {
                Some(current) => current,
                None => {
                    if let Some(previous) = idx.checked_sub(1).and_then(|i| steps.get(i)) {
                        self.report(wording::unreachable_step(step.span, previous.span));
                    }
                    // Check the rest anyway, as if it could be reached, but report it once.
                    let rest = steps.get(idx..).unwrap_or(&[]);
                    let mut quiet = Vec::new();
                    std::mem::swap(self.exprs.diagnostics, &mut quiet);
                    let _ = self.steps(rest, last_live.clone());
                    std::mem::swap(self.exprs.diagnostics, &mut quiet);
                    self.exprs.diagnostics.extend(
                        quiet
                            .into_iter()
                            .filter(|d| d.code != crate::diagnostics::Code::UnreachableStep),
                    );
                    return None;
                }
            };
            if !step.kind.always_continues() {
                // Kept only before steps that may end every path, for checking what follows.
                last_live = Some(current.clone());
            }
            scope = self.step(step, current);
        }
        scope
    }

    fn block(&mut self, block: &Block, scope: Scope) -> Option<Scope> {
        self.steps(&block.steps, Some(scope))
    }

    fn step(&mut self, step: &Step, mut scope: Scope) -> Option<Scope> {
        match &step.kind {
            StepKind::Send {
                channel,
                template,
                with,
            } => {
                self.send(step.span, channel.as_ref(), template, with, &scope);
                Some(scope)
            }
            StepKind::Wait(duration) => {
                scope.elapsed = scope.elapsed.saturating_add(duration.seconds);
                Some(scope)
            }
            StepKind::WaitUntil { time, zone, .. } => {
                self.exprs.time_of_day(time);
                if let Some(zone) = zone {
                    self.zone(zone);
                }
                Some(scope)
            }
            StepKind::WaitFor {
                event,
                up_to,
                timeout,
                ..
            } => {
                let ty = self.event_match(event, &scope);
                self.wait_can_end(step.span, event, up_to.as_ref().map(|d| d.span));
                let mut arrived = scope.clone();
                let name = event.bound_name();
                arrived.bind(&name.name, ty, name.span);
                let timed_out = match timeout {
                    Some(block) => {
                        let mut on_timeout = scope;
                        if let Some(up_to) = up_to {
                            on_timeout.elapsed = on_timeout.elapsed.saturating_add(up_to.seconds);
                        }
                        self.block(block, on_timeout)
                    }
                    None => Some(scope),
                };
                let wait_line = Span {
                    end: up_to.map_or(event.span.end, |d| d.span.end),
                    ..step.span
                };
                Scope::join(
                    Some(arrived),
                    timed_out,
                    wait_line,
                    "when this wait times out",
                )
            }
            StepKind::WaitAny {
                up_to,
                branches,
                timeout,
            } => {
                let mut joined: Option<Option<Scope>> = None;
                for branch in branches {
                    let ty = self.event_match(&branch.event, &scope);
                    let mut inner = scope.clone();
                    let name = branch.event.bound_name();
                    inner.bind(&name.name, ty, name.span);
                    let out = self.block(&branch.block, inner);
                    joined = Some(match joined {
                        None => out,
                        Some(previous) => Scope::join(
                            previous,
                            out,
                            branch.event.span,
                            "when another event arrives first",
                        ),
                    });
                }
                let mut on_timeout = scope.clone();
                on_timeout.elapsed = on_timeout.elapsed.saturating_add(up_to.seconds);
                let timed_out = match timeout {
                    Some(block) => self.block(block, on_timeout),
                    None => Some(on_timeout),
                };
                match joined {
                    None => timed_out,
                    Some(events) => {
                        Scope::join(events, timed_out, step.span, "when this wait times out")
                    }
                }
            }
            StepKind::If {
                condition,
                then,
                otherwise,
            } => {
                self.exprs.condition(condition, &scope);
                let mut then_scope = scope.clone();
                then_scope.narrowed.extend(proven_set(condition));
                let after_then = self.block(then, then_scope);
                let after_else = match otherwise {
                    Some(block) => self.block(block, scope),
                    None => Some(scope),
                };
                Scope::join(
                    after_then,
                    after_else,
                    step.span,
                    "when the condition is false",
                )
            }
            StepKind::Split(branches) => {
                let invalid: Vec<_> = branches
                    .iter()
                    .filter(|b| b.basis_points == u32::MAX)
                    .collect();
                for branch in &invalid {
                    self.report(crate::diagnostics::syntax::invalid_percentage(
                        branch.percent_span,
                    ));
                }
                let total: u64 = branches.iter().map(|b| u64::from(b.basis_points)).sum();
                if invalid.is_empty() && total != 10_000 {
                    self.report(wording::split_not_hundred(step.span, branches, total));
                }
                let mut joined: Option<Option<Scope>> = None;
                for branch in branches {
                    let out = match &branch.block {
                        Some(block) => self.block(block, scope.clone()),
                        None => None,
                    };
                    joined = Some(match joined {
                        None => out,
                        Some(previous) => Scope::join(
                            previous,
                            out,
                            branch.span,
                            "in another branch of the split",
                        ),
                    });
                }
                joined.unwrap_or(Some(scope))
            }
            StepKind::Set { target, value } => {
                self.set(target, value, &scope);
                Some(scope)
            }
            StepKind::Exit => None,
            StepKind::Goal { within, .. } => {
                if let Some(within) = within
                    && scope.elapsed > within.seconds
                {
                    self.report(wording::goal_window_too_short(
                        step.span,
                        within,
                        scope.elapsed,
                    ));
                }
                Some(scope)
            }
        }
    }

    fn wait_can_end(&mut self, wait_span: Span, event: &EventMatch, up_to: Option<Span>) {
        if let Some(exit) = self
            .journey
            .exits
            .iter()
            .find(|exit| exit.event.name == event.event.name && exit.condition.is_none())
        {
            self.report(wording::wait_for_exit_event(event.event.span, exit.span));
            return;
        }
        if up_to.is_none() {
            self.report(wording::wait_without_limit(wait_span, event.span));
        }
    }

    fn send(
        &mut self,
        span: Span,
        channel: Option<&(crate::syntax::ast::Channel, Span)>,
        template_name: &crate::syntax::ast::Ident,
        with: &[(crate::syntax::ast::Ident, crate::syntax::ast::Expr)],
        scope: &Scope,
    ) {
        self.first_send = Some(
            self.first_send
                .map_or(scope.elapsed, |t| t.min(scope.elapsed)),
        );
        let mut template_scope = scope.clone();
        for (name, value) in with {
            let typed = self.exprs.check(value, scope);
            template_scope.bind(&name.name, typed.ty, name.span);
        }
        let Some(template) = self.program().templates.get(&template_name.name).copied() else {
            if self.program().is_broken(&template_name.name) {
                return;
            }
            let candidates: Vec<&str> = self
                .program()
                .templates
                .keys()
                .map(String::as_str)
                .collect();
            self.report(names::unknown_template(template_name, candidates));
            return;
        };
        self.sent.insert(template_name.name.clone());
        if let Some((channel, channel_span)) = channel
            && *channel != template.channel
        {
            self.report(wording::channel_mismatch(*channel_span, *channel, template));
        }
        if let Some(shop) = self.program().shop {
            template_scope.bind("shop", Type::Record(shop), template.name.span);
        }
        template_scope.bind("unsubscribe_url", Type::Url, template.name.span);
        self.exprs.send_site = Some(SendSite {
            template: template.name.name.clone(),
            span,
        });
        for text in [&template.subject, &template.preheader]
            .into_iter()
            .flatten()
        {
            self.exprs.template_text(text, &template_scope);
        }
        if let Some((_, body)) = &template.body {
            self.exprs.template_text(body, &template_scope);
        }
        self.exprs.send_site = None;
    }

    fn set(
        &mut self,
        target: &crate::syntax::ast::Path,
        value: &crate::syntax::ast::Expr,
        scope: &Scope,
    ) {
        let typed = self.exprs.check(value, scope);
        let is_customer =
            target.parts.first().is_some_and(|p| p.name == "customer") && target.parts.len() == 2;
        if !is_customer {
            self.report(wording::set_not_customer(target.span));
            return;
        }
        let attribute_ty = self.exprs.path(
            target,
            &Scope {
                narrowed: Default::default(),
                ..scope.clone()
            },
        );
        if attribute_ty.is_unknown() || typed.ty.is_unknown() {
            return;
        }
        if !typed.ty.fits(&attribute_ty) {
            let expected = self.program().schemas.show(&attribute_ty);
            let found = self.program().schemas.show(&typed.ty);
            self.report(wording::set_type_mismatch(
                target.span,
                value.span,
                &expected,
                &found,
            ));
        }
    }
}
