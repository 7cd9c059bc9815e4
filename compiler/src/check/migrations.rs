//! Step labels and `migrate` lines.
//!
//! On its own, a journey is checked for labels used twice, migration lines that point at a
//! label the journey does not have, and old steps moved twice ([`check`]). [`known_at_labels`]
//! works out what a customer carries at each labelled step (the values bound by the trigger and
//! by waits on every path to it), which code generation stores in the program. At deploy time,
//! [`against_deployed`] checks each line against the versions running: the old step must exist
//! somewhere, and customers standing there must carry everything the new step may use.

use std::collections::BTreeMap;

use crate::bytecode::{KnownValue, Program, StepLabel};
use crate::diagnostics::{Diagnostic, migrations as wording};
use crate::syntax::ast::{Ident, Journey, MigrationTarget, Step, StepKind, TriggerKind};

/// Every labelled step of a journey, in source order (nested blocks included).
pub fn labelled_steps(steps: &[Step]) -> Vec<(&Ident, &Step)> {
    let mut found = Vec::new();
    collect(steps, &mut found);
    found
}

fn collect<'s>(steps: &'s [Step], found: &mut Vec<(&'s Ident, &'s Step)>) {
    for step in steps {
        if let Some(label) = &step.label {
            found.push((label, step));
        }
        for block in nested_blocks(&step.kind) {
            collect(block, found);
        }
    }
}

/// The step lists nested inside a step (branches, timeout blocks).
fn nested_blocks(kind: &StepKind) -> Vec<&[Step]> {
    match kind {
        StepKind::WaitFor { timeout, .. } => timeout.iter().map(|b| &b.steps[..]).collect(),
        StepKind::WaitAny {
            branches, timeout, ..
        } => branches
            .iter()
            .map(|b| &b.block.steps[..])
            .chain(timeout.iter().map(|b| &b.steps[..]))
            .collect(),
        StepKind::If {
            then, otherwise, ..
        } => std::iter::once(&then.steps[..])
            .chain(otherwise.iter().map(|b| &b.steps[..]))
            .collect(),
        StepKind::Split(branches) => branches
            .iter()
            .filter_map(|b| b.block.as_ref().map(|b| &b.steps[..]))
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks a journey's labels and `migrate` lines on their own.
pub fn check(journey: &Journey, diagnostics: &mut Vec<Diagnostic>) {
    let labels = labelled_steps(&journey.steps);
    let mut first: BTreeMap<&str, &Ident> = BTreeMap::new();
    for (label, _) in &labels {
        match first.get(label.name.as_str()) {
            Some(earlier) => diagnostics.push(wording::duplicate_label(label, earlier.span)),
            None => {
                first.insert(&label.name, label);
            }
        }
    }
    let mut moved: BTreeMap<&str, &Ident> = BTreeMap::new();
    for migration in &journey.migrations {
        if let Some(earlier) = moved.get(migration.from.name.as_str()) {
            diagnostics.push(wording::duplicate_migration(&migration.from, earlier.span));
        } else {
            moved.insert(&migration.from.name, &migration.from);
        }
        if let MigrationTarget::Step(to) = &migration.to
            && !first.contains_key(to.name.as_str())
        {
            diagnostics.push(wording::unknown_label(
                to,
                &journey.name.name,
                first.keys().copied(),
            ));
        }
    }
}

/// What a customer carries at each labelled step: `(name, event)` pairs bound by the trigger
/// or by a wait on every path to the step, sorted by name.
pub fn known_at_labels(journey: &Journey) -> BTreeMap<String, Vec<KnownValue>> {
    let mut known = Known::new();
    if let Some(TriggerKind::Event(trigger)) = journey.triggers.first().map(|t| &t.kind) {
        known.insert(
            trigger.bound_name().name.clone(),
            trigger.event.name.clone(),
        );
    }
    let mut out = BTreeMap::new();
    walk(&journey.steps, Some(known), &mut out);
    out
}

/// Names bound to events: name -> event.
type Known = BTreeMap<String, String>;

/// Walks steps with what is known on entry (`None`: no customer gets here); records labels;
/// returns what is known after the steps.
fn walk(
    steps: &[Step],
    mut known: Option<Known>,
    out: &mut BTreeMap<String, Vec<KnownValue>>,
) -> Option<Known> {
    for step in steps {
        let current = known.take().unwrap_or_default();
        if let Some(label) = &step.label {
            out.entry(label.name.clone()).or_insert_with(|| {
                current
                    .iter()
                    .map(|(name, event)| KnownValue {
                        name: name.clone(),
                        event: event.clone(),
                    })
                    .collect()
            });
        }
        known = match &step.kind {
            StepKind::Exit => None,
            StepKind::WaitFor { event, timeout, .. } => {
                let mut arrived = current.clone();
                arrived.insert(event.bound_name().name.clone(), event.event.name.clone());
                let timed_out = match timeout {
                    Some(block) => walk(&block.steps, Some(current), out),
                    None => Some(current),
                };
                meet(Some(arrived), timed_out)
            }
            StepKind::WaitAny {
                branches, timeout, ..
            } => {
                let mut after = match timeout {
                    Some(block) => walk(&block.steps, Some(current.clone()), out),
                    None => Some(current.clone()),
                };
                for branch in branches {
                    let mut arrived = current.clone();
                    arrived.insert(
                        branch.event.bound_name().name.clone(),
                        branch.event.event.name.clone(),
                    );
                    after = meet(after, walk(&branch.block.steps, Some(arrived), out));
                }
                after
            }
            StepKind::If {
                then, otherwise, ..
            } => {
                let then_end = walk(&then.steps, Some(current.clone()), out);
                let else_end = match otherwise {
                    Some(block) => walk(&block.steps, Some(current), out),
                    None => Some(current),
                };
                meet(then_end, else_end)
            }
            StepKind::Split(branches) => {
                let mut after = None;
                for branch in branches {
                    if let Some(block) = &branch.block {
                        after = meet(after, walk(&block.steps, Some(current.clone()), out));
                    }
                }
                after
            }
            _ => Some(current),
        };
    }
    known
}

/// What is known after two paths join: the names both bind to the same event.
fn meet(a: Option<Known>, b: Option<Known>) -> Option<Known> {
    match (a, b) {
        (None, other) | (other, None) => other,
        (Some(a), Some(b)) => Some(
            a.into_iter()
                .filter(|(name, event)| b.get(name) == Some(event))
                .collect(),
        ),
    }
}

/// What a deploy needs to know about a version that is running: its journey, its version (the
/// short content hash) and its labelled steps. The runtime has the programs; `journey plan`
/// reads the same from the API.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningVersion {
    /// The journey.
    pub journey: String,
    /// The first hex digits of its content hash, as logs and the API show them.
    pub version: String,
    /// Its labelled steps.
    pub labels: Vec<StepLabel>,
}

impl RunningVersion {
    /// The running version of a program.
    pub fn of(program: &Program) -> RunningVersion {
        RunningVersion {
            journey: program.journey.clone(),
            version: crate::bytecode::format::hash(program).short(),
            labels: program.labels.clone(),
        }
    }
}

/// Checks the `migrate` lines of a journey about to be deployed against the versions of it
/// that are running (`running`: that journey's versions, the new one excluded).
pub fn against_deployed(
    journey: &Journey,
    new: &Program,
    running: &[&RunningVersion],
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for migration in &journey.migrations {
        let sources: Vec<(&RunningVersion, &StepLabel)> = running
            .iter()
            .filter_map(|old| {
                old.labels
                    .iter()
                    .find(|label| label.name == migration.from.name)
                    .map(|label| (*old, label))
            })
            .collect();
        if sources.is_empty() {
            let mut names: Vec<&str> = running
                .iter()
                .flat_map(|old| old.labels.iter().map(|l| l.name.as_str()))
                .collect();
            names.sort_unstable();
            names.dedup();
            diagnostics.push(wording::from_nowhere(
                &migration.from,
                &journey.name.name,
                running.len(),
                names,
            ));
            continue;
        }
        let MigrationTarget::Step(to) = &migration.to else {
            continue;
        };
        let Some(target) = new.labels.iter().find(|label| label.name == to.name) else {
            continue;
        };
        for (old, source) in sources {
            let lacking: Vec<&KnownValue> = target
                .known
                .iter()
                .filter(|value| !source.known.contains(value))
                .collect();
            if !lacking.is_empty() {
                diagnostics.push(wording::loses_data(
                    migration,
                    to,
                    &old.version,
                    &lacking,
                    &source.known,
                ));
            }
        }
    }
    diagnostics
}
