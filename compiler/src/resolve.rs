//! Collects the declarations of every file of a program into the [`Program`] tables: duplicate
//! names, schema extensions (customer blocks add up; a shop may add fields to a prelude event or
//! record) and field types.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, names};
use crate::model::{FieldInfo, Program, RecordInfo, RecordKind, Signature};
use crate::syntax::ast::{self, Declaration, SchemaKind, TypeExpr, TypeExprKind};
use crate::types::{RecordId, Type};

/// One parsed file of a program.
pub struct ParsedFile<'a> {
    /// Its syntax tree.
    pub file: &'a ast::File,
    /// Whether it belongs to the prelude (which a shop may extend).
    pub prelude: bool,
}

/// Builds the tables of a program, reporting duplicates and unknown types.
pub fn program<'a>(files: &[ParsedFile<'a>], diagnostics: &mut Vec<Diagnostic>) -> Program<'a> {
    let mut program = Program::default();
    let mut prelude_records: BTreeMap<String, bool> = BTreeMap::new();
    let mut schema_decls: Vec<(&'a ast::Schema, RecordId)> = Vec::new();
    let mut first_spans: BTreeMap<String, crate::source::Span> = BTreeMap::new();

    // Pass 1: names of records and events, so field types can refer to any of them.
    for parsed in files {
        for declaration in &parsed.file.declarations {
            let Declaration::Schema(schema) = declaration else {
                continue;
            };
            let name = &schema.name.name;
            let kind = match schema.kind {
                SchemaKind::Event => RecordKind::Event,
                SchemaKind::Record | SchemaKind::Customer => RecordKind::Record,
            };
            let id = match program.schemas.id(name) {
                Some(id) => {
                    let extends_prelude =
                        prelude_records.get(name).copied().unwrap_or(false) && !parsed.prelude;
                    let same_kind = program.schemas.get(id).is_some_and(|r| r.kind == kind);
                    let is_customer = schema.kind == SchemaKind::Customer;
                    if !(is_customer || (extends_prelude && same_kind)) {
                        let first = first_spans.get(name).copied().unwrap_or(schema.name.span);
                        diagnostics.push(names::duplicate_declaration(&schema.name, first));
                        continue;
                    }
                    id
                }
                None => {
                    let id =
                        RecordId(u32::try_from(program.schemas.records.len()).unwrap_or(u32::MAX));
                    program.schemas.records.push(RecordInfo {
                        name: name.clone(),
                        kind,
                        fields: BTreeMap::new(),
                        span: schema.name.span,
                    });
                    program.schemas.by_name.insert(name.clone(), id);
                    prelude_records.insert(name.clone(), parsed.prelude);
                    first_spans.insert(name.clone(), schema.name.span);
                    id
                }
            };
            schema_decls.push((schema, id));
        }
    }
    for parsed in files {
        for (keyword, name) in &parsed.file.broken {
            program.broken.insert(name.clone());
            program.has_broken_journey |= keyword == "journey";
        }
    }
    program.customer = program.schemas.id("customer");
    program.shop = program.schemas.id("shop");

    // Pass 2: fields.
    for (schema, id) in &schema_decls {
        for field in &schema.fields {
            let ty = resolve_type(&program, &field.ty, diagnostics);
            let Some(record) = program.schemas.records.get_mut(id.0 as usize) else {
                continue;
            };
            if let Some(existing) = record.fields.get(&field.name.name) {
                diagnostics.push(names::duplicate_field(
                    &field.name,
                    existing.span,
                    &record.name,
                ));
                continue;
            }
            record.fields.insert(
                field.name.name.clone(),
                FieldInfo {
                    ty,
                    span: field.name.span,
                },
            );
        }
    }

    // Every other kind of declaration.
    let mut seen: BTreeMap<(&'static str, String), crate::source::Span> = BTreeMap::new();
    let mut claim = |kind: &'static str, ident: &ast::Ident, diagnostics: &mut Vec<Diagnostic>| {
        if let Some(first) = seen.get(&(kind, ident.name.clone())) {
            diagnostics.push(names::duplicate_declaration(ident, *first));
            false
        } else {
            seen.insert((kind, ident.name.clone()), ident.span);
            true
        }
    };
    for parsed in files {
        for declaration in &parsed.file.declarations {
            match declaration {
                Declaration::Template(template) => {
                    if claim("template", &template.name, diagnostics) {
                        program
                            .templates
                            .insert(template.name.name.clone(), template);
                    }
                }
                Declaration::Journey(journey) => {
                    program.all_journeys.push(journey);
                    if claim("journey", &journey.name, diagnostics) {
                        program.journeys.insert(journey.name.name.clone(), journey);
                    }
                }
                Declaration::Segment(segment) => {
                    if claim("segment", &segment.name, diagnostics) {
                        program.segments.insert(segment.name.name.clone(), segment);
                    }
                }
                Declaration::Layout(layout) => {
                    if claim("layout", &layout.name, diagnostics) {
                        program.layouts.insert(layout.name.name.clone(), layout);
                    }
                }
                Declaration::Policy(policy) => {
                    if claim("policy", &policy.name, diagnostics) {
                        program.policies.push(policy);
                    }
                }
                Declaration::Builtin(builtin) => {
                    if crate::bytecode::Builtin::from_name(&builtin.name.name).is_none() {
                        let provided = crate::bytecode::Builtin::ALL.iter().map(|(_, name)| *name);
                        diagnostics.push(names::builtin_not_provided(&builtin.name, provided));
                    }
                    let params = builtin
                        .params
                        .iter()
                        .map(|param| {
                            let ty = resolve_type(&program, &param.ty, diagnostics);
                            (param.name.name.clone(), ty)
                        })
                        .collect();
                    let result = resolve_type(&program, &builtin.result, diagnostics);
                    program
                        .builtins
                        .entry(builtin.name.name.clone())
                        .or_default()
                        .push(Signature {
                            params,
                            result,
                            span: builtin.span,
                        });
                }
                Declaration::Import(_) | Declaration::Schema(_) => {}
            }
        }
    }
    program
}

/// The type a written type stands for; unknown names are reported and become `Unknown`.
pub fn resolve_type(
    program: &Program<'_>,
    written: &TypeExpr,
    diagnostics: &mut Vec<Diagnostic>,
) -> Type {
    let base = match &written.kind {
        TypeExprKind::List(element) => {
            Type::List(Box::new(resolve_type(program, element, diagnostics)))
        }
        TypeExprKind::Named(ident) => match Type::builtin(&ident.name) {
            Some(ty) => ty,
            None => match program.schemas.id(&ident.name) {
                Some(id) => Type::Record(id),
                None if program.is_broken(&ident.name) => Type::Unknown,
                None => {
                    let candidates = Type::BUILTIN_NAMES
                        .iter()
                        .copied()
                        .chain(program.schemas.by_name.keys().map(String::as_str));
                    diagnostics.push(names::unknown_type(ident, candidates));
                    Type::Unknown
                }
            },
        },
    };
    if written.optional {
        base.optional()
    } else {
        base
    }
}
