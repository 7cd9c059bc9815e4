//! The programs the VM can run: every version by content hash, and the current version of each
//! journey. Instances name their version, so deploying a new one never changes a running
//! instance.

use std::collections::BTreeMap;
use std::sync::Arc;

use journey_compiler::bytecode::format::{self, ProgramHash};
use journey_compiler::bytecode::{Instr, Program, Schema, Trigger};

use super::eval;

/// Programs by hash, and which one is current per journey.
#[derive(Clone, Debug, Default)]
pub struct Library {
    programs: BTreeMap<[u8; 32], Arc<Program>>,
    current: BTreeMap<String, [u8; 32]>,
    schemas: Vec<Schema>,
    /// Worked out once per deploy, so steps do not redo it.
    derived: Derived,
}

/// What the VM would otherwise work out again on every step.
#[derive(Clone, Debug, Default)]
struct Derived {
    /// Current programs started by each event, in journey-name order.
    entries: BTreeMap<String, Vec<[u8; 32]>>,
    /// Current programs with a date or segment trigger (the only ones upkeep looks at), in
    /// journey-name order.
    upkeep: Vec<[u8; 32]>,
    /// The condition of each branch step as the marketer wrote it (near enough), by program
    /// version and step, for decision texts.
    branches: BTreeMap<([u8; 32], u32), String>,
    /// For each event name, the program versions (current or not) whose instances it may
    /// concern: it starts, ends, is waited for, reaches a goal or is kept `since entry`.
    reacting: BTreeMap<String, Vec<[u8; 32]>>,
}

/// What a deploy did to one journey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deployed {
    /// A journey not deployed before.
    New(ProgramHash),
    /// A new version replaced the current one.
    Changed {
        /// The version replaced (kept for its instances).
        from: ProgramHash,
        /// The new current version.
        to: ProgramHash,
    },
    /// The same program as before.
    Unchanged(ProgramHash),
    /// The journey is no longer in the deploy (its instances finish on their version).
    Retired(ProgramHash),
}

impl Library {
    /// An empty library.
    pub fn new() -> Library {
        Library::default()
    }

    /// A library with these programs current.
    pub fn with(programs: Vec<Program>) -> Library {
        let mut library = Library::new();
        library.deploy(programs);
        library
    }

    /// Makes `programs` the current versions; earlier versions stay available for instances
    /// that run them. Returns what changed, by journey name.
    pub fn deploy(&mut self, programs: Vec<Program>) -> Vec<(String, Deployed)> {
        let mut outcome = Vec::new();
        let mut next: BTreeMap<String, [u8; 32]> = BTreeMap::new();
        if let Some(first) = programs.first() {
            self.schemas = first.schemas.clone();
        }
        for program in programs {
            let hash = format::hash(&program);
            let name = program.journey.clone();
            let result = match self.current.get(&name) {
                None => Deployed::New(hash),
                Some(old) if *old == hash.0 => Deployed::Unchanged(hash),
                Some(old) => Deployed::Changed {
                    from: ProgramHash(*old),
                    to: hash,
                },
            };
            self.programs
                .entry(hash.0)
                .or_insert_with(|| Arc::new(program));
            next.insert(name.clone(), hash.0);
            outcome.push((name, result));
        }
        for (name, old) in &self.current {
            if !next.contains_key(name) {
                outcome.push((name.clone(), Deployed::Retired(ProgramHash(*old))));
            }
        }
        self.current = next;
        self.derive();
        outcome
    }

    fn derive(&mut self) {
        let mut derived = Derived::default();
        for (hash, program) in self.current_programs() {
            match &program.trigger {
                Trigger::Event(trigger) => derived
                    .entries
                    .entry(trigger.event.to_string())
                    .or_default()
                    .push(hash),
                Trigger::Date { .. } | Trigger::Segment => derived.upkeep.push(hash),
                Trigger::Schedule { .. } => {}
            }
        }
        for (hash, program) in &self.programs {
            let mut events: Vec<&str> = program.events_listened().collect();
            events.extend(program.since_entry_events.iter().map(String::as_str));
            events.sort_unstable();
            events.dedup();
            for event in events {
                derived
                    .reacting
                    .entry(event.to_string())
                    .or_default()
                    .push(*hash);
            }
            for instr in &program.code {
                if let Instr::Branch {
                    step, condition, ..
                } = instr
                {
                    derived
                        .branches
                        .entry((*hash, *step))
                        .or_insert_with(|| eval::show(condition, &program.slots));
                }
            }
        }
        self.derived = derived;
    }

    /// The current programs an event starts, in journey-name order.
    pub fn started_by(&self, event: &str) -> impl Iterator<Item = ([u8; 32], &Arc<Program>)> {
        self.derived
            .entries
            .get(event)
            .into_iter()
            .flatten()
            .filter_map(|hash| Some((*hash, self.programs.get(hash)?)))
    }

    /// The current programs with a date or segment trigger, in journey-name order.
    pub fn with_upkeep(&self) -> impl Iterator<Item = ([u8; 32], &Arc<Program>)> {
        self.derived
            .upkeep
            .iter()
            .filter_map(|hash| Some((*hash, self.programs.get(hash)?)))
    }

    /// The program versions an event may concern once a customer runs them (see
    /// `Program::events_listened`, plus events kept `since entry`).
    pub fn reacting_to(&self, event: &str) -> &[[u8; 32]] {
        self.derived.reacting.get(event).map_or(&[], Vec::as_slice)
    }

    /// The condition of a branch step of a program version, as written (near enough).
    pub fn branch_text(&self, version: &[u8; 32], step: u32) -> Option<&str> {
        self.derived
            .branches
            .get(&(*version, step))
            .map(String::as_str)
    }

    /// A program by hash.
    pub fn get(&self, hash: &[u8; 32]) -> Option<&Arc<Program>> {
        self.programs.get(hash)
    }

    /// Every version of every journey the library holds (current or not).
    pub fn programs(&self) -> impl Iterator<Item = &Arc<Program>> {
        self.programs.values()
    }

    /// The current version of a journey, with its hash.
    pub fn current(&self, journey: &str) -> Option<([u8; 32], &Arc<Program>)> {
        let hash = self.current.get(journey)?;
        Some((*hash, self.programs.get(hash)?))
    }

    /// Every current program, by journey name.
    pub fn current_programs(&self) -> impl Iterator<Item = ([u8; 32], &Arc<Program>)> {
        self.current
            .values()
            .filter_map(|hash| Some((*hash, self.programs.get(hash)?)))
    }

    /// The schemas of the current deploy (for validating events and profiles).
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// An event schema by name.
    pub fn event_schema(&self, name: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.is_event && s.name == name)
    }

    /// The customer schema.
    pub fn customer_schema(&self) -> Option<&Schema> {
        self.schemas
            .iter()
            .find(|s| !s.is_event && s.name == "customer")
    }
}
