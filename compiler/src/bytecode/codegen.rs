//! Code generation: a checked journey and what it uses -> one self-contained [`Program`].
//!
//! Runs only on programs that checked without errors, so every name resolves; a name that does
//! not (a builtin the runtime lacks) is a [`Error`] rather than a panic. Literals and operators on
//! literals are folded, an `if` on a constant keeps one branch, and steps after an `exit` are not
//! emitted.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use super::ops;
use super::value::{Currency, Value, parse_micros};
use super::{
    BinaryOp, BodyFormat, Builtin, Category, Channel, EntryRule, EventMatch, Expr, FieldType,
    FrequencyCap, GoalRule, Instr, KnownValue, Layout, Migration, MigrationTarget, Pc, Policy,
    Program, QuietHours, Schema, Segment, StepId, StepInfo, StepLabel, Template, TemplateNode,
    Trigger, UnaryOp, WaitArm,
};
use crate::model;
use crate::source::{SourceMap, Span};
use crate::syntax::ast;
use crate::types::Type;

/// Why a journey could not be compiled (after it checked clean, this means the runtime lacks
/// something the program declares).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// The journey being compiled.
    pub journey: String,
    /// What went wrong.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// What kind of failure a compile error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A defect of the compiler: the journey checked clean and should have compiled.
    Defect,
    /// A `migrate` line moves customers to a labelled step that is never run (after an `exit`,
    /// or in a branch that a constant condition always skips): a mistake in the journey, which
    /// the check reports as a diagnostic (`J0706`).
    MigrationToSkippedStep,
}

/// Compiles one journey of a checked program.
pub fn journey(
    model: &model::Program<'_>,
    sources: &SourceMap,
    journey: &ast::Journey,
) -> Result<Program, Error> {
    let mut generator = Generator {
        model,
        sources,
        slots: Vec::new(),
        code: Vec::new(),
        steps: Vec::new(),
        templates: Vec::new(),
        template_ids: BTreeMap::new(),
        layouts: Vec::new(),
        layout_ids: BTreeMap::new(),
        goal_names: Vec::new(),
        since_entry_events: Vec::new(),
        aliases: Vec::new(),
        locals: Vec::new(),
        in_template: false,
        labels: Vec::new(),
        known: crate::check::migrations::known_at_labels(journey),
    };
    generator.program(journey).map_err(|mut error| {
        error.journey = journey.name.name.clone();
        error
    })
}

struct Generator<'m, 'a, 's> {
    model: &'m model::Program<'a>,
    sources: &'s SourceMap,
    slots: Vec<String>,
    code: Vec<Instr>,
    steps: Vec<StepInfo>,
    templates: Vec<Template>,
    template_ids: BTreeMap<String, u16>,
    layouts: Vec<Layout>,
    layout_ids: BTreeMap<String, u16>,
    goal_names: Vec<String>,
    since_entry_events: Vec<String>,
    /// Names that mean the event being matched (`it` and the `as` name inside a `where`).
    aliases: Vec<String>,
    /// Template loop variables, innermost last.
    locals: Vec<String>,
    in_template: bool,
    /// Labelled steps emitted so far.
    labels: Vec<StepLabel>,
    /// What a customer carries at each label.
    known: BTreeMap<String, Vec<KnownValue>>,
}

fn index_u16(len: usize, span: Span, what: &str) -> Result<u16, Error> {
    u16::try_from(len).map_err(|_| Error {
        kind: ErrorKind::Defect,
        journey: String::new(),
        message: format!("too many {what} in one journey"),
        span,
    })
}

fn pc_of(len: usize) -> Pc {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Generator<'_, '_, '_> {
    fn program(&mut self, journey: &ast::Journey) -> Result<Program, Error> {
        // The file's name without its folder: the same journey built from another directory
        // is the same program.
        let file = self
            .sources
            .get(journey.span.file)
            .map(|f| {
                f.name
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(&f.name)
                    .to_string()
            })
            .unwrap_or_default();
        let trigger = match journey.triggers.first() {
            Some(trigger) => trigger,
            None => {
                return Err(Error {
                    kind: ErrorKind::Defect,
                    journey: String::new(),
                    message: format!("journey `{}` has no trigger", journey.name.name),
                    span: journey.name.span,
                });
            }
        };
        // Slot 0: the trigger's event.
        let mut segment = None;
        let trigger = match &trigger.kind {
            ast::TriggerKind::Event(event_match) => {
                let slot = self.slot(&event_match.bound_name().name, event_match.span)?;
                Trigger::Event(self.event_match(event_match, Some(slot))?)
            }
            ast::TriggerKind::Schedule {
                cron,
                zone,
                condition,
            } => Trigger::Schedule {
                cron: cron.value.trim().to_string(),
                zone: zone
                    .as_ref()
                    .map_or_else(|| "UTC".to_string(), |z| z.value.clone()),
                condition: condition.as_ref().map(|c| self.expr(c)).transpose()?,
            },
            ast::TriggerKind::Date {
                attribute,
                at,
                zone,
            } => Trigger::Date {
                attribute: Arc::from(attribute.parts.get(1).map_or("", |part| part.name.as_str())),
                at: at.hour * 3600 + at.minute * 60,
                zone: zone.as_ref().map(|z| z.value.clone()),
            },
            ast::TriggerKind::Segment(name) => {
                let Some(declared) = self.model.segments.get(&name.name) else {
                    return Err(Error {
                        kind: ErrorKind::Defect,
                        journey: String::new(),
                        message: format!("unknown segment `{}`", name.name),
                        span: name.span,
                    });
                };
                segment = Some(Segment {
                    name: name.name.clone(),
                    condition: self.expr(&declared.condition)?,
                });
                Trigger::Segment
            }
        };
        let entry = match journey.entry.first().map(|rule| &rule.kind) {
            None | Some(ast::EntryKind::Once) => EntryRule::Once,
            Some(ast::EntryKind::OncePer(key)) => EntryRule::OncePer(self.expr(key)?),
            Some(ast::EntryKind::AgainAfter(duration)) => EntryRule::AgainAfter(duration.seconds),
            Some(ast::EntryKind::EveryTime) => EntryRule::EveryTime,
        };
        let exits = journey
            .exits
            .iter()
            .map(|exit| self.event_match(exit, None))
            .collect::<Result<Vec<_>, _>>()?;
        let mut goals = Vec::new();
        for goal in &journey.goals {
            goals.push(GoalRule {
                goal: self.goal(&goal.name.name, goal.span)?,
                event: self.event_match(&goal.event, None)?,
                within: goal.within.seconds,
            });
        }
        self.block(&journey.steps)?;
        self.code.push(Instr::End);
        let migrations = self.migrations(journey)?;
        let policy = self.policy();
        Ok(Program {
            journey: journey.name.name.clone(),
            title: journey.title.as_ref().map(|t| t.value.clone()),
            file,
            trigger,
            entry,
            exits,
            goals,
            exclusive: journey.exclusive.first().map(|g| g.name.clone()),
            slots: std::mem::take(&mut self.slots),
            goal_names: std::mem::take(&mut self.goal_names),
            since_entry_events: std::mem::take(&mut self.since_entry_events),
            code: std::mem::take(&mut self.code),
            steps: std::mem::take(&mut self.steps),
            labels: std::mem::take(&mut self.labels),
            migrations,
            templates: std::mem::take(&mut self.templates),
            layouts: std::mem::take(&mut self.layouts),
            policy,
            schemas: self.schemas(),
            segment,
        })
    }

    // ------------------------------------------------------------------ names and tables

    fn slot(&mut self, name: &str, span: Span) -> Result<u16, Error> {
        if let Some(idx) = self.slots.iter().position(|s| s == name) {
            return index_u16(idx, span, "names");
        }
        let idx = index_u16(self.slots.len(), span, "names")?;
        self.slots.push(name.to_string());
        Ok(idx)
    }

    fn goal(&mut self, name: &str, span: Span) -> Result<u16, Error> {
        if let Some(idx) = self.goal_names.iter().position(|g| g == name) {
            return index_u16(idx, span, "goals");
        }
        let idx = index_u16(self.goal_names.len(), span, "goals")?;
        if idx >= 32 {
            return Err(Error {
                kind: ErrorKind::Defect,
                journey: String::new(),
                message: "a journey may have at most 32 goals".to_string(),
                span,
            });
        }
        self.goal_names.push(name.to_string());
        Ok(idx)
    }

    fn step_info(&mut self, span: Span) -> StepId {
        let (label, line) = match self.sources.get(span.file) {
            Some(file) => {
                let text = file.slice(span);
                let first = without_comment(text.lines().next().unwrap_or("")).trim();
                let label = first.strip_suffix('{').unwrap_or(first).trim_end();
                (
                    label.to_string(),
                    u32::try_from(file.line_column(span.start as usize).0).unwrap_or(0),
                )
            }
            None => (String::new(), 0),
        };
        self.steps.push(StepInfo { label, line });
        u32::try_from(self.steps.len() - 1).unwrap_or(u32::MAX)
    }

    fn source_text(&self, span: Span) -> String {
        self.sources
            .get(span.file)
            .map(|file| file.slice(span).to_string())
            .unwrap_or_default()
    }

    fn event_match(
        &mut self,
        event_match: &ast::EventMatch,
        slot: Option<u16>,
    ) -> Result<EventMatch, Error> {
        let condition = match &event_match.condition {
            Some(condition) => {
                let saved = self.aliases.len();
                self.aliases.push("it".to_string());
                if let Some(binding) = &event_match.binding {
                    self.aliases.push(binding.name.clone());
                }
                let compiled = self.expr(condition);
                self.aliases.truncate(saved);
                Some(compiled?)
            }
            None => None,
        };
        Ok(EventMatch {
            event: event_match.event.name.clone(),
            condition,
            slot,
        })
    }

    // ------------------------------------------------------------------ steps

    /// Emits a block; returns whether control can fall off its end.
    fn block(&mut self, steps: &[ast::Step]) -> Result<bool, Error> {
        let mut idx = 0;
        while let Some(step) = steps.get(idx) {
            // `wait N days` then `wait until T` means "on the N-th day at T": one instruction.
            if let (ast::StepKind::Wait(duration), Some(next)) = (&step.kind, steps.get(idx + 1))
                && duration.seconds > 0
                && duration.seconds.is_multiple_of(86_400)
                && let ast::StepKind::WaitUntil {
                    weekday,
                    time,
                    zone,
                } = &next.kind
            {
                let first = self.step_info(step.span);
                self.label(step, first);
                let id = self.step_info(next.span);
                self.label(next, id);
                self.code.push(Instr::WaitUntil {
                    step: id,
                    days: u32::try_from(duration.seconds / 86_400).unwrap_or(u32::MAX),
                    weekday: weekday.map(|(day, _)| weekday_index(day)),
                    at: time.hour * 3600 + time.minute * 60,
                    zone: zone.as_ref().map(|z| z.value.clone()),
                });
                idx += 2;
                continue;
            }
            if !self.step(step)? {
                // Dead-step elimination: nothing after this step can run.
                return Ok(false);
            }
            idx += 1;
        }
        Ok(true)
    }

    fn here(&self) -> Pc {
        pc_of(self.code.len())
    }

    fn patch(&mut self, at: Pc, target: Pc) {
        match self.code.get_mut(at as usize) {
            Some(Instr::Jump { target: t }) => *t = target,
            Some(Instr::Branch { otherwise, .. }) => *otherwise = target,
            _ => {}
        }
    }

    /// Records the label of a step about to be emitted at the current instruction.
    fn label(&mut self, step: &ast::Step, id: StepId) {
        if let Some(label) = &step.label {
            self.labels.push(StepLabel {
                name: label.name.clone(),
                step: id,
                pc: self.here(),
                known: self.known.get(&label.name).cloned().unwrap_or_default(),
            });
        }
    }

    /// The `migrate` lines, with targets as indexes into the labels emitted.
    fn migrations(&self, journey: &ast::Journey) -> Result<Vec<Migration>, Error> {
        let mut migrations = Vec::new();
        for migration in &journey.migrations {
            let to = match &migration.to {
                ast::MigrationTarget::Exit(_) => MigrationTarget::Exit,
                ast::MigrationTarget::Step(to) => {
                    let Some(idx) = self.labels.iter().position(|l| l.name == to.name) else {
                        return Err(Error {
                            kind: ErrorKind::MigrationToSkippedStep,
                            journey: String::new(),
                            message: format!(
                                "the step labelled `{}` is never run (it comes after an `exit` or sits in a branch that is always skipped), so no customer can be moved to it",
                                to.name
                            ),
                            span: to.span,
                        });
                    };
                    MigrationTarget::Step(index_u16(idx, to.span, "labels")?)
                }
            };
            migrations.push(Migration {
                from: migration.from.name.clone(),
                to,
            });
        }
        Ok(migrations)
    }

    fn step(&mut self, step: &ast::Step) -> Result<bool, Error> {
        let id = self.step_info(step.span);
        self.label(step, id);
        match &step.kind {
            ast::StepKind::Send { template, with, .. } => {
                let mut values = Vec::new();
                for (name, value) in with {
                    let slot = self.slot(&name.name, name.span)?;
                    values.push((slot, self.expr(value)?));
                }
                let template = self.template(&template.name, template.span)?;
                self.code.push(Instr::Send {
                    step: id,
                    template,
                    with: values,
                });
                Ok(true)
            }
            ast::StepKind::Wait(duration) => {
                self.code.push(Instr::Wait {
                    step: id,
                    seconds: duration.seconds,
                });
                Ok(true)
            }
            ast::StepKind::WaitUntil {
                weekday,
                time,
                zone,
            } => {
                self.code.push(Instr::WaitUntil {
                    step: id,
                    days: 0,
                    weekday: weekday.map(|(day, _)| weekday_index(day)),
                    at: time.hour * 3600 + time.minute * 60,
                    zone: zone.as_ref().map(|z| z.value.clone()),
                });
                Ok(true)
            }
            ast::StepKind::WaitFor {
                event,
                since_entry,
                up_to,
                timeout,
            } => {
                let slot = match &event.binding {
                    Some(binding) => Some(self.slot(&binding.name, binding.span)?),
                    None => None,
                };
                let arm = WaitArm {
                    event: self.event_match(event, slot)?,
                    since_entry: *since_entry,
                    target: 0,
                };
                if *since_entry {
                    self.since_entry_event(&event.event.name);
                }
                let wait_at = self.here();
                self.code.push(Instr::WaitFor {
                    step: id,
                    arms: vec![arm],
                    timeout: up_to.map(|d| (d.seconds, 0)),
                });
                let timeout_start = self.here();
                // The event arm always continues, so the wait continues whatever its timeout block does.
                if let Some(block) = timeout {
                    self.block(&block.steps)?;
                }
                let after = self.here();
                if let Some(Instr::WaitFor { arms, timeout, .. }) =
                    self.code.get_mut(wait_at as usize)
                {
                    for arm in arms.iter_mut() {
                        arm.target = after;
                    }
                    if let Some((_, target)) = timeout {
                        *target = timeout_start;
                    }
                }
                Ok(true)
            }
            ast::StepKind::WaitAny {
                up_to,
                branches,
                timeout,
            } => {
                let mut arms = Vec::new();
                for branch in branches {
                    let slot = match &branch.event.binding {
                        Some(binding) => Some(self.slot(&binding.name, binding.span)?),
                        None => None,
                    };
                    arms.push(WaitArm {
                        event: self.event_match(&branch.event, slot)?,
                        since_entry: branch.since_entry,
                        target: 0,
                    });
                    if branch.since_entry {
                        self.since_entry_event(&branch.event.event.name);
                    }
                }
                let wait_at = self.here();
                self.code.push(Instr::WaitFor {
                    step: id,
                    arms,
                    timeout: Some((up_to.seconds, 0)),
                });
                let mut live = false;
                let mut targets = Vec::new();
                let mut jumps = Vec::new();
                for branch in branches {
                    targets.push(self.here());
                    if self.block(&branch.block.steps)? {
                        live = true;
                        jumps.push(self.here());
                        self.code.push(Instr::Jump { target: 0 });
                    }
                }
                let timeout_start = self.here();
                live |= match timeout {
                    Some(block) => self.block(&block.steps)?,
                    None => true,
                };
                let after = self.here();
                for jump in jumps {
                    self.patch(jump, after);
                }
                if let Some(Instr::WaitFor { arms, timeout, .. }) =
                    self.code.get_mut(wait_at as usize)
                {
                    for (arm, target) in arms.iter_mut().zip(targets) {
                        arm.target = target;
                    }
                    if let Some((_, target)) = timeout {
                        *target = timeout_start;
                    }
                }
                Ok(live)
            }
            ast::StepKind::If {
                condition,
                then,
                otherwise,
            } => {
                let condition = self.expr(condition)?;
                let otherwise_steps = otherwise.as_ref().map_or(&[][..], |b| &b.steps[..]);
                match condition {
                    // An `if` on a constant keeps the branch that runs.
                    Expr::Const(Value::Bool(true)) => self.block(&then.steps),
                    Expr::Const(Value::Bool(false)) => self.block(otherwise_steps),
                    condition => {
                        let branch_at = self.here();
                        self.code.push(Instr::Branch {
                            step: id,
                            condition,
                            otherwise: 0,
                        });
                        let then_live = self.block(&then.steps)?;
                        let jump_at = self.here();
                        // Without an `else`, the `then` block falls through to what follows.
                        let needs_jump = then_live && !otherwise_steps.is_empty();
                        if needs_jump {
                            self.code.push(Instr::Jump { target: 0 });
                        }
                        let else_start = self.here();
                        self.patch(branch_at, else_start);
                        let else_live = self.block(otherwise_steps)?;
                        let after = self.here();
                        if needs_jump {
                            self.patch(jump_at, after);
                        }
                        Ok(then_live || else_live)
                    }
                }
            }
            ast::StepKind::Split(branches) => {
                let split_at = self.here();
                self.code.push(Instr::Split {
                    step: id,
                    branches: Vec::new(),
                });
                let mut bounds = Vec::new();
                let mut cumulative = 0u32;
                let mut jumps = Vec::new();
                let mut live = false;
                for (idx, branch) in branches.iter().enumerate() {
                    cumulative = cumulative.saturating_add(branch.basis_points);
                    let last = idx + 1 == branches.len();
                    match &branch.block {
                        Some(block) => {
                            bounds.push((cumulative, Some(self.here())));
                            if self.block(&block.steps)? {
                                live = true;
                                // The last branch falls through to what follows.
                                if !last {
                                    jumps.push(self.here());
                                    self.code.push(Instr::Jump { target: 0 });
                                }
                            }
                        }
                        None => bounds.push((cumulative, None)),
                    }
                }
                let after = self.here();
                for jump in jumps {
                    self.patch(jump, after);
                }
                if let Some(Instr::Split { branches, .. }) = self.code.get_mut(split_at as usize) {
                    *branches = bounds;
                }
                Ok(live)
            }
            ast::StepKind::Set { target, value } => {
                let attribute = target.parts.get(1).map_or("", |p| p.name.as_str());
                let value = self.expr(value)?;
                self.code.push(Instr::Set {
                    step: id,
                    attribute: Arc::from(attribute),
                    value,
                });
                Ok(true)
            }
            ast::StepKind::Exit => {
                self.code.push(Instr::Exit { step: id });
                Ok(false)
            }
            ast::StepKind::Goal { name, within } => {
                let goal = self.goal(&name.name, name.span)?;
                self.code.push(Instr::Goal {
                    step: id,
                    goal,
                    within: within.map(|d| d.seconds),
                });
                Ok(true)
            }
        }
    }

    fn since_entry_event(&mut self, name: &str) {
        if !self.since_entry_events.iter().any(|e| e == name) {
            self.since_entry_events.push(name.to_string());
        }
    }

    // ------------------------------------------------------------------ templates

    fn template(&mut self, name: &str, span: Span) -> Result<u16, Error> {
        if let Some(id) = self.template_ids.get(name) {
            return Ok(*id);
        }
        let Some(declared) = self.model.templates.get(name).copied() else {
            return Err(Error {
                kind: ErrorKind::Defect,
                journey: String::new(),
                message: format!("unknown template `{name}`"),
                span,
            });
        };
        let saved = self.in_template;
        self.in_template = true;
        let result = self.compile_template(declared);
        self.in_template = saved;
        let template = result?;
        let id = index_u16(self.templates.len(), span, "templates")?;
        self.templates.push(template);
        self.template_ids.insert(name.to_string(), id);
        Ok(id)
    }

    fn compile_template(&mut self, declared: &ast::Template) -> Result<Template, Error> {
        let channel = match declared.channel {
            ast::Channel::Email => Channel::Email,
            ast::Channel::Sms => Channel::Sms,
            ast::Channel::Webhook => Channel::Webhook,
        };
        let subject = declared
            .subject
            .as_ref()
            .map(|t| self.nodes(&t.nodes))
            .transpose()?;
        let preheader = declared
            .preheader
            .as_ref()
            .map(|t| self.nodes(&t.nodes))
            .transpose()?;
        let body = match &declared.body {
            Some((format, text)) => Some((
                match format {
                    ast::BodyFormat::Markdown => BodyFormat::Markdown,
                    ast::BodyFormat::Text => BodyFormat::Text,
                    ast::BodyFormat::Html => BodyFormat::Html,
                },
                self.nodes(&text.nodes)?,
            )),
            None => None,
        };
        let is_markdown_email =
            channel == Channel::Email && matches!(body, Some((BodyFormat::Markdown, _)));
        let layout = match (&declared.layout, is_markdown_email) {
            (_, false) => None,
            (Some(name), true) if name.name == "none" => None,
            (Some(name), true) => Some(self.layout(&name.name, name.span)?),
            (None, true) if self.model.layouts.contains_key("standard") => {
                Some(self.layout("standard", declared.name.span)?)
            }
            (None, true) => None,
        };
        Ok(Template {
            name: declared.name.name.clone(),
            channel,
            category: match declared.category {
                ast::Category::Transactional => Category::Transactional,
                ast::Category::Marketing => Category::Marketing,
            },
            subject,
            preheader,
            body,
            layout,
        })
    }

    fn layout(&mut self, name: &str, span: Span) -> Result<u16, Error> {
        if let Some(id) = self.layout_ids.get(name) {
            return Ok(*id);
        }
        let Some(declared) = self.model.layouts.get(name).copied() else {
            return Err(Error {
                kind: ErrorKind::Defect,
                journey: String::new(),
                message: format!("unknown layout `{name}`"),
                span,
            });
        };
        let header = declared
            .header
            .as_ref()
            .map(|t| self.nodes(&t.nodes))
            .transpose()?
            .unwrap_or_default();
        let footer = declared
            .footer
            .as_ref()
            .map(|t| self.nodes(&t.nodes))
            .transpose()?
            .unwrap_or_default();
        let id = index_u16(self.layouts.len(), span, "layouts")?;
        self.layouts.push(Layout {
            name: name.to_string(),
            header,
            footer,
        });
        self.layout_ids.insert(name.to_string(), id);
        Ok(id)
    }

    fn nodes(&mut self, nodes: &[ast::TemplateNode]) -> Result<Vec<TemplateNode>, Error> {
        let mut out: Vec<TemplateNode> = Vec::with_capacity(nodes.len());
        for node in nodes {
            let compiled = match node {
                ast::TemplateNode::Raw { text, .. } => TemplateNode::Raw(text.clone()),
                ast::TemplateNode::Output {
                    expr,
                    filters,
                    span,
                } => {
                    let mut value = self.expr(expr)?;
                    for filter in filters {
                        value = self.call(filter, Some(value))?;
                    }
                    let source = self.source_text(*span);
                    // Constant output (a literal) becomes text now.
                    match &value {
                        Expr::Const(Value::Text(text)) => TemplateNode::Raw(text.to_string()),
                        _ => TemplateNode::Output {
                            expr: value,
                            source,
                        },
                    }
                }
                ast::TemplateNode::If {
                    branches,
                    otherwise,
                    ..
                } => {
                    let mut compiled = Vec::new();
                    for (condition, body) in branches {
                        compiled.push((self.expr(condition)?, self.nodes(body)?));
                    }
                    TemplateNode::If {
                        branches: compiled,
                        otherwise: self.nodes(otherwise)?,
                    }
                }
                ast::TemplateNode::For {
                    var, list, body, ..
                } => {
                    let list = self.expr(list)?;
                    self.locals.push(var.name.clone());
                    let body = self.nodes(body);
                    self.locals.pop();
                    TemplateNode::For {
                        list,
                        var: var.name.clone(),
                        body: body?,
                    }
                }
            };
            // Adjacent raw texts are merged.
            if let (Some(TemplateNode::Raw(previous)), TemplateNode::Raw(next)) =
                (out.last_mut(), &compiled)
            {
                previous.push_str(next);
            } else {
                out.push(compiled);
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------------ expressions

    fn expr(&mut self, expr: &ast::Expr) -> Result<Expr, Error> {
        let compiled = match &expr.kind {
            ast::ExprKind::Text(text) => Expr::Const(Value::text(text)),
            ast::ExprKind::Int(n) => Expr::Const(Value::Int(*n)),
            ast::ExprKind::Decimal(text) => Expr::Const(Value::Decimal(
                parse_micros(text).ok_or_else(|| literal_error(expr.span, text))?,
            )),
            ast::ExprKind::Money { amount, currency } => Expr::Const(Value::Money {
                micros: parse_micros(amount).ok_or_else(|| literal_error(expr.span, amount))?,
                currency: Currency::parse(currency)
                    .ok_or_else(|| literal_error(expr.span, currency))?,
            }),
            ast::ExprKind::Duration(seconds) => {
                Expr::Const(Value::Duration(i64::try_from(*seconds).unwrap_or(i64::MAX)))
            }
            ast::ExprKind::Date(text) => {
                let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| literal_error(expr.span, text))?;
                Expr::Const(Value::Date(date.num_days_from_ce()))
            }
            ast::ExprKind::Time(time) => {
                Expr::Const(Value::Time(time.hour * 3600 + time.minute * 60))
            }
            ast::ExprKind::Bool(b) => Expr::Const(Value::Bool(*b)),
            ast::ExprKind::List(items) => {
                let items = items
                    .iter()
                    .map(|item| self.expr(item))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|item| matches!(item, Expr::Const(_))) {
                    Expr::Const(Value::list(
                        items
                            .into_iter()
                            .filter_map(|item| match item {
                                Expr::Const(value) => Some(value),
                                _ => None,
                            })
                            .collect(),
                    ))
                } else {
                    Expr::List(items)
                }
            }
            ast::ExprKind::Path(path) => self.path(path)?,
            ast::ExprKind::Call(call) => self.call(call, None)?,
            ast::ExprKind::Binary(op, left, right) => {
                let op = binary_op(*op);
                let left = self.expr(left)?;
                let right = self.expr(right)?;
                fold_binary(op, left, right)
            }
            ast::ExprKind::Unary(op, operand) => {
                let op = unary_op(*op);
                let operand = self.expr(operand)?;
                match &operand {
                    Expr::Const(value) if !matches!(op, UnaryOp::IsSet | UnaryOp::IsNotSet) => {
                        match ops::unary(op, value) {
                            Ok(folded) => Expr::Const(folded),
                            Err(_) => Expr::Unary(op, Box::new(operand)),
                        }
                    }
                    _ => Expr::Unary(op, Box::new(operand)),
                }
            }
        };
        Ok(compiled)
    }

    fn path(&mut self, path: &ast::Path) -> Result<Expr, Error> {
        let Some(head) = path.parts.first() else {
            return Err(Error {
                kind: ErrorKind::Defect,
                journey: String::new(),
                message: "empty name".to_string(),
                span: path.span,
            });
        };
        let mut expr = self.root(&head.name, head.span)?;
        for part in path.parts.iter().skip(1) {
            expr = Expr::Field(Box::new(expr), Arc::from(part.name.as_str()));
        }
        Ok(expr)
    }

    fn root(&mut self, name: &str, span: Span) -> Result<Expr, Error> {
        if let Some(depth) = self.locals.iter().rposition(|local| local == name) {
            return Ok(Expr::Local(index_u16(depth, span, "loops")?));
        }
        if self.aliases.iter().any(|alias| alias == name) {
            return Ok(Expr::It);
        }
        match name {
            "customer" => return Ok(Expr::Customer),
            "shop" if self.in_template => return Ok(Expr::Shop),
            "unsubscribe_url" if self.in_template => return Ok(Expr::UnsubscribeUrl),
            _ => {}
        }
        if let Some(idx) = self.slots.iter().position(|slot| slot == name) {
            return Ok(Expr::Slot(index_u16(idx, span, "names")?));
        }
        // A name bound later in the journey (a template sent on several paths): give it its slot.
        if self.in_template {
            return Ok(Expr::Slot(self.slot(name, span)?));
        }
        Err(Error {
            kind: ErrorKind::Defect,
            journey: String::new(),
            message: format!("unknown name `{name}`"),
            span,
        })
    }

    fn call(&mut self, call: &ast::Call, piped: Option<Expr>) -> Result<Expr, Error> {
        let Some(builtin) = Builtin::from_name(&call.name.name) else {
            return Err(Error {
                kind: ErrorKind::Defect,
                journey: String::new(),
                message: format!(
                    "the runtime does not provide the builtin `{}`",
                    call.name.name
                ),
                span: call.name.span,
            });
        };
        let params: Vec<String> = self
            .model
            .builtins
            .get(&call.name.name)
            .and_then(|overloads| overloads.first())
            .map(|signature| signature.params.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let mut args: Vec<Option<Expr>> = vec![None; params.len()];
        let mut next_positional = 0;
        if let Some(value) = piped {
            if let Some(slot) = args.get_mut(0) {
                *slot = Some(value);
            }
            next_positional = 1;
        }
        for argument in &call.args {
            let value = self.expr(&argument.value)?;
            let idx = match &argument.name {
                Some(name) => params.iter().position(|p| *p == name.name),
                None => {
                    let idx = next_positional;
                    next_positional += 1;
                    Some(idx)
                }
            };
            match idx.and_then(|i| args.get_mut(i)) {
                Some(slot) => *slot = Some(value),
                None => {
                    return Err(Error {
                        kind: ErrorKind::Defect,
                        journey: String::new(),
                        message: format!("too many arguments for `{}`", call.name.name),
                        span: argument.value.span,
                    });
                }
            }
        }
        Ok(Expr::Call(
            builtin,
            args.into_iter()
                .map(|arg| arg.unwrap_or(Expr::Const(Value::Missing)))
                .collect(),
        ))
    }

    // ------------------------------------------------------------------ policy and schemas

    fn policy(&self) -> Option<Policy> {
        let marketing: Vec<&ast::Policy> = self
            .model
            .policies
            .iter()
            .copied()
            .filter(|p| p.name.name == "marketing")
            .collect();
        if marketing.is_empty() {
            return None;
        }
        let mut policy = Policy {
            quiet_hours: Vec::new(),
            caps: Vec::new(),
        };
        for declared in marketing {
            for quiet in &declared.quiet_hours {
                policy.quiet_hours.push(QuietHours {
                    from: quiet.from.hour * 3600 + quiet.from.minute * 60,
                    to: quiet.to.hour * 3600 + quiet.to.minute * 60,
                    zone: quiet.zone.as_ref().map(|z| z.value.clone()),
                });
            }
            for cap in &declared.caps {
                policy.caps.push(FrequencyCap {
                    count: cap.count,
                    window: cap.window.seconds,
                    defer: cap.action == ast::CapAction::Defer,
                });
            }
        }
        Some(policy)
    }

    fn schemas(&self) -> Vec<Schema> {
        self.model
            .schemas
            .records
            .iter()
            .map(|record| Schema {
                name: record.name.clone(),
                is_event: record.kind == model::RecordKind::Event,
                fields: record
                    .fields
                    .iter()
                    .map(|(name, info)| (Arc::from(name.as_str()), field_type(&info.ty)))
                    .collect(),
            })
            .collect()
    }
}

fn field_type(ty: &Type) -> FieldType {
    match ty {
        Type::Text => FieldType::Text,
        Type::Int => FieldType::Int,
        Type::Decimal => FieldType::Decimal,
        Type::Money => FieldType::Money,
        Type::Bool => FieldType::Bool,
        Type::Date => FieldType::Date,
        Type::DateTime => FieldType::DateTime,
        Type::Time => FieldType::Time,
        Type::Duration => FieldType::Duration,
        Type::Email => FieldType::Email,
        Type::Url => FieldType::Url,
        Type::List(inner) => FieldType::List(Box::new(field_type(inner))),
        Type::Record(id) => FieldType::Record(u16::try_from(id.0).unwrap_or(u16::MAX)),
        Type::Optional(inner) => FieldType::Optional(Box::new(field_type(inner))),
        Type::Any | Type::Unknown => FieldType::Any,
    }
}

fn literal_error(span: Span, text: &str) -> Error {
    Error {
        kind: ErrorKind::Defect,
        journey: String::new(),
        message: format!("invalid literal `{text}`"),
        span,
    }
}

fn weekday_index(day: ast::Weekday) -> u8 {
    match day {
        ast::Weekday::Monday => 0,
        ast::Weekday::Tuesday => 1,
        ast::Weekday::Wednesday => 2,
        ast::Weekday::Thursday => 3,
        ast::Weekday::Friday => 4,
        ast::Weekday::Saturday => 5,
        ast::Weekday::Sunday => 6,
    }
}

fn binary_op(op: ast::BinaryOp) -> BinaryOp {
    match op {
        ast::BinaryOp::Or => BinaryOp::Or,
        ast::BinaryOp::And => BinaryOp::And,
        ast::BinaryOp::Eq => BinaryOp::Eq,
        ast::BinaryOp::Ne => BinaryOp::Ne,
        ast::BinaryOp::Lt => BinaryOp::Lt,
        ast::BinaryOp::Le => BinaryOp::Le,
        ast::BinaryOp::Gt => BinaryOp::Gt,
        ast::BinaryOp::Ge => BinaryOp::Ge,
        ast::BinaryOp::In => BinaryOp::In,
        ast::BinaryOp::Coalesce => BinaryOp::Coalesce,
        ast::BinaryOp::Add => BinaryOp::Add,
        ast::BinaryOp::Sub => BinaryOp::Sub,
        ast::BinaryOp::Mul => BinaryOp::Mul,
        ast::BinaryOp::Div => BinaryOp::Div,
    }
}

fn unary_op(op: ast::UnaryOp) -> UnaryOp {
    match op {
        ast::UnaryOp::Not => UnaryOp::Not,
        ast::UnaryOp::Neg => UnaryOp::Neg,
        ast::UnaryOp::IsSet => UnaryOp::IsSet,
        ast::UnaryOp::IsNotSet => UnaryOp::IsNotSet,
    }
}

/// Folds an operator on constants; keeps short-circuit semantics (`true or x` is `true`).
fn fold_binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    match (op, &left, &right) {
        (BinaryOp::Or, Expr::Const(Value::Bool(true)), _) => Expr::Const(Value::Bool(true)),
        (BinaryOp::And, Expr::Const(Value::Bool(false)), _) => Expr::Const(Value::Bool(false)),
        (BinaryOp::Or, Expr::Const(Value::Bool(false)), _)
        | (BinaryOp::And, Expr::Const(Value::Bool(true)), _) => right,
        (_, Expr::Const(a), Expr::Const(b)) => match ops::binary(op, a, b) {
            Ok(value) => Expr::Const(value),
            // An error on constants stays for the VM to report with its context.
            Err(_) => Expr::Binary(op, Box::new(left), Box::new(right)),
        },
        _ => Expr::Binary(op, Box::new(left), Box::new(right)),
    }
}

/// A line of source without a trailing `// comment` (outside quotes).
fn without_comment(line: &str) -> &str {
    let mut in_text = false;
    let mut previous = ' ';
    for (idx, c) in line.char_indices() {
        match c {
            '"' => in_text = !in_text,
            '/' if !in_text && previous == '/' => {
                return line.get(..idx.saturating_sub(1)).unwrap_or(line);
            }
            _ => {}
        }
        previous = c;
    }
    line
}
