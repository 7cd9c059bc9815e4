//! The checked model: every declaration of a program by name, with schema fields resolved to
//! [`Type`]s. Built by `resolve`, read by `check` (and later by code generation).
//!
//! Journeys and templates are kept as syntax here; their names have been checked unique and
//! every reference in them resolves against these tables.

use std::collections::BTreeMap;

use crate::source::Span;
use crate::syntax::ast;
use crate::types::{RecordId, Type};

/// Whether a schema entry is an event or a record (the customer is a record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// Something the shop sends.
    Event,
    /// A reusable shape, or the customer profile.
    Record,
}

/// A resolved field.
#[derive(Clone, Debug)]
pub struct FieldInfo {
    /// Its type.
    pub ty: Type,
    /// Where it is declared.
    pub span: Span,
}

/// A resolved event or record.
#[derive(Clone, Debug)]
pub struct RecordInfo {
    /// Its name.
    pub name: String,
    /// Event or record.
    pub kind: RecordKind,
    /// Fields by name, in declaration order of first appearance.
    pub fields: BTreeMap<String, FieldInfo>,
    /// Where it is (first) declared.
    pub span: Span,
}

/// Every event and record of a program.
#[derive(Clone, Debug, Default)]
pub struct Schemas {
    /// Records by id.
    pub records: Vec<RecordInfo>,
    /// Ids by name.
    pub by_name: BTreeMap<String, RecordId>,
}

impl Schemas {
    /// The record with this id.
    pub fn get(&self, id: RecordId) -> Option<&RecordInfo> {
        self.records.get(id.0 as usize)
    }

    /// The id of a name, if declared.
    pub fn id(&self, name: &str) -> Option<RecordId> {
        self.by_name.get(name).copied()
    }

    /// The id of an event, if `name` is one.
    pub fn event(&self, name: &str) -> Option<RecordId> {
        self.id(name)
            .filter(|id| self.get(*id).is_some_and(|r| r.kind == RecordKind::Event))
    }

    /// Names of every event, for suggestions.
    pub fn event_names(&self) -> impl Iterator<Item = &str> {
        self.records
            .iter()
            .filter(|r| r.kind == RecordKind::Event)
            .map(|r| r.name.as_str())
    }

    /// The name of a record, for messages.
    pub fn name(&self, id: RecordId) -> String {
        self.get(id)
            .map_or_else(|| "?".to_string(), |r| r.name.clone())
    }

    /// Prints a type with record names.
    pub fn show(&self, ty: &Type) -> String {
        let names = |id: RecordId| self.name(id);
        ty.display(&names).to_string()
    }
}

/// A builtin's signature.
#[derive(Clone, Debug)]
pub struct Signature {
    /// Parameters: name, type, whether it may be left out.
    pub params: Vec<(String, Type)>,
    /// The result type.
    pub result: Type,
    /// Where it is declared.
    pub span: Span,
}

/// Every declaration of a program, by name.
#[derive(Debug, Default)]
pub struct Program<'a> {
    /// Events and records.
    pub schemas: Schemas,
    /// Builtin overloads by name.
    pub builtins: BTreeMap<String, Vec<Signature>>,
    /// Templates by name.
    pub templates: BTreeMap<String, &'a ast::Template>,
    /// Journeys by name.
    pub journeys: BTreeMap<String, &'a ast::Journey>,
    /// Every journey declaration, duplicates included (each is checked).
    pub all_journeys: Vec<&'a ast::Journey>,
    /// Segments by name.
    pub segments: BTreeMap<String, &'a ast::Segment>,
    /// Layouts by name.
    pub layouts: BTreeMap<String, &'a ast::Layout>,
    /// Policies in declaration order.
    pub policies: Vec<&'a ast::Policy>,
    /// The customer record.
    pub customer: Option<RecordId>,
    /// The shop record.
    pub shop: Option<RecordId>,
    /// Names of declarations that did not parse: their uses are not reported as unknown.
    pub broken: std::collections::BTreeSet<String>,
    /// Whether some journey did not parse (so unused templates cannot be told).
    pub has_broken_journey: bool,
}

impl Program<'_> {
    /// Whether `name` belongs to a declaration that did not parse.
    pub fn is_broken(&self, name: &str) -> bool {
        self.broken.contains(name)
    }
}
