//! The journey compiler: parses `.journey` files, resolves names, checks types and the rules of
//! journeys, and reports every problem as data ([`diagnostics::Diagnostic`]).
//!
//! It does no I/O: callers hand it source texts (and a [`Loader`] for imports) and render the
//! diagnostics it returns with [`diagnostics::render`].

pub mod bytecode;
pub mod check;
pub mod diagnostics;
pub mod graph;
pub mod model;
pub mod resolve;
pub mod source;
pub mod syntax;
pub mod types;

use std::collections::BTreeSet;

use diagnostics::{Diagnostic, Severity};
use source::{FileId, SourceMap};
use syntax::ast::{self, Declaration};

/// Finds the files that `import` declarations name. The CLI reads the disk; tests use maps.
pub trait Loader {
    /// The name and text of the file `path`, as written in an import of the file `importer`.
    /// The name must identify the file (the same file imported twice is loaded once).
    fn load(&self, importer: &str, path: &str) -> Result<(String, String), String>;
}

/// A loader for programs without imports: every import is reported as not found.
pub struct NoImports;

impl Loader for NoImports {
    fn load(&self, _importer: &str, _path: &str) -> Result<(String, String), String> {
        Err("imports are not available here".to_string())
    }
}

/// The result of checking a program.
#[derive(Debug)]
pub struct Checked {
    /// Every file read: the prelude, the given files and what they import.
    pub sources: SourceMap,
    /// Every problem found, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Ids of the files given by the caller (not the prelude, not imports).
    pub roots: Vec<FileId>,
}

impl Checked {
    /// Number of diagnostics of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Checks the given files (name, text) as one program, with their imports and the prelude.
pub fn check_files(files: Vec<(String, String)>, loader: &dyn Loader) -> Checked {
    analyze(files, loader, |program, sources, diagnostics| {
        // Whether a migration's step runs is known once the journey is compiled (steps after an
        // `exit` and branches a constant condition skips are dropped): compile the journeys
        // that move customers to a labelled step.
        for journey in program.journeys.values() {
            let moves_to_a_step = journey
                .migrations
                .iter()
                .any(|m| matches!(m.to, ast::MigrationTarget::Step(_)));
            if moves_to_a_step
                && let Err(error) = bytecode::codegen::journey(program, sources, journey)
                && let Some(diagnostic) = compile_problem(journey, &error)
            {
                diagnostics.push(diagnostic);
            }
        }
    })
}

/// The diagnostic for a compile error that is a mistake in the journey, not a defect of the
/// compiler (none for a defect).
fn compile_problem(journey: &ast::Journey, error: &bytecode::codegen::Error) -> Option<Diagnostic> {
    match error.kind {
        bytecode::codegen::ErrorKind::Defect => None,
        bytecode::codegen::ErrorKind::MigrationToSkippedStep => {
            let target = journey.migrations.iter().find_map(|m| match &m.to {
                ast::MigrationTarget::Step(to) if to.span == error.span => Some(to),
                _ => None,
            })?;
            let labelled = check::migrations::labelled_steps(&journey.steps)
                .into_iter()
                .find(|(label, _)| label.name == target.name)
                .map(|(label, _)| label.span);
            Some(diagnostics::migrations::to_skipped_step(
                target.span,
                &target.name,
                labelled,
            ))
        }
    }
}

/// The result of building a program: its check and, when it has no errors, one bytecode
/// program per journey (in name order).
#[derive(Debug)]
pub struct Built {
    /// The check of the program.
    pub checked: Checked,
    /// The compiled journeys; empty when there are errors.
    pub programs: Vec<bytecode::Program>,
    /// Journeys that checked clean but could not be compiled (a compiler defect, reported as
    /// such); `programs` is empty when there are any.
    pub failures: Vec<bytecode::codegen::Error>,
}

/// Checks the given files and, if they have no errors, compiles every journey to bytecode.
pub fn build_files(files: Vec<(String, String)>, loader: &dyn Loader) -> Built {
    build(files, loader, None)
}

/// Builds the files for a deploy: as [`build_files`], and the `migrate` lines of each journey
/// are checked against the versions of it that run (every version the runtime keeps, current
/// or not), so a line that moves nobody or would lose data is reported.
pub fn build_for_deploy(
    files: Vec<(String, String)>,
    loader: &dyn Loader,
    running: &[check::migrations::RunningVersion],
) -> Built {
    build(files, loader, Some(running))
}

fn build(
    files: Vec<(String, String)>,
    loader: &dyn Loader,
    deployed: Option<&[check::migrations::RunningVersion]>,
) -> Built {
    let mut programs = Vec::new();
    let mut failures = Vec::new();
    let checked = analyze(files, loader, |program, sources, diagnostics| {
        for journey in program.journeys.values() {
            match bytecode::codegen::journey(program, sources, journey) {
                Ok(compiled) => {
                    if let Some(deployed) = deployed {
                        let new_version = bytecode::format::hash(&compiled).short();
                        let running: Vec<&check::migrations::RunningVersion> = deployed
                            .iter()
                            .filter(|old| old.journey == compiled.journey)
                            .filter(|old| old.version != new_version)
                            .collect();
                        diagnostics.extend(check::migrations::against_deployed(
                            journey, &compiled, &running,
                        ));
                    }
                    programs.push(compiled);
                }
                Err(error) => match compile_problem(journey, &error) {
                    Some(diagnostic) => diagnostics.push(diagnostic),
                    None => failures.push(error),
                },
            }
        }
    });
    if checked.count(Severity::Error) > 0 {
        programs.clear();
    }
    if !failures.is_empty() {
        programs.clear();
    }
    Built {
        checked,
        programs,
        failures,
    }
}

/// Parses, resolves and checks; `generate` sees the checked model when there are no errors.
fn analyze(
    files: Vec<(String, String)>,
    loader: &dyn Loader,
    generate: impl FnOnce(&model::Program<'_>, &SourceMap, &mut Vec<Diagnostic>),
) -> Checked {
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let mut parsed: Vec<(FileId, ast::File, bool)> = Vec::new();
    for prelude in journey_stdlib::PRELUDE {
        let id = sources.add(prelude.name, prelude.text);
        let (file, problems) = syntax::parse_file(id, prelude.text);
        diagnostics.extend(problems);
        parsed.push((id, file, true));
    }
    let mut roots = Vec::new();
    let mut queue: Vec<FileId> = Vec::new();
    for (name, text) in files {
        if sources.find(&name).is_some() {
            continue;
        }
        let id = sources.add(name, text);
        roots.push(id);
        queue.push(id);
    }
    // Parse the given files, then whatever they import, each file once.
    let mut next = 0;
    while let Some(id) = queue.get(next).copied() {
        next += 1;
        let Some(source) = sources.get(id) else {
            continue;
        };
        let (name, text) = (source.name.clone(), source.text.clone());
        let (file, problems) = syntax::parse_file(id, &text);
        diagnostics.extend(problems);
        for declaration in &file.declarations {
            let Declaration::Import(import) = declaration else {
                continue;
            };
            match loader.load(&name, &import.path.value) {
                Ok((imported_name, imported_text)) => {
                    if sources.find(&imported_name).is_none() {
                        queue.push(sources.add(imported_name, imported_text));
                    }
                }
                Err(reason) => diagnostics.push(diagnostics::syntax::import_not_found(
                    import.path.span,
                    &import.path.value,
                    &reason,
                )),
            }
        }
        parsed.push((id, file, false));
    }

    let files: Vec<resolve::ParsedFile<'_>> = parsed
        .iter()
        .map(|(_, file, prelude)| resolve::ParsedFile {
            file,
            prelude: *prelude,
        })
        .collect();
    let program = resolve::program(&files, &mut diagnostics);
    let user_templates: BTreeSet<String> = parsed
        .iter()
        .filter(|(_, _, prelude)| !prelude)
        .flat_map(|(_, file, _)| file.declarations.iter())
        .filter_map(|declaration| match declaration {
            Declaration::Template(template) => Some(template.name.name.clone()),
            _ => None,
        })
        .collect();
    check::program(&program, &user_templates, &mut diagnostics);
    if !diagnostics.iter().any(|d| d.severity == Severity::Error) {
        generate(&program, &sources, &mut diagnostics);
    }
    diagnostics::sort(&mut diagnostics);
    diagnostics.dedup();
    Checked {
        sources,
        diagnostics,
        roots,
    }
}

/// Checks one text with the prelude, without imports.
pub fn check_source(name: &str, text: &str) -> Checked {
    check_files(vec![(name.to_string(), text.to_string())], &NoImports)
}
