//! Every journey the project ships must check clean: the files in `journeys/` (as one program,
//! warnings denied) and every ```journey block in `docs/`. A block tagged ```journey,J0102 must
//! yield exactly that code. A block tagged ```journey,running is the version running when the
//! next blocks of its section are deployed: they are built for a deploy over it.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use journey_compiler::diagnostics::render::terminal;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn report(checked: &journey_compiler::Checked) -> String {
    terminal::render(&checked.diagnostics, &checked.sources, false)
}

#[test]
fn the_journeys_folder_checks_clean_with_warnings_denied() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(repo().join("journeys")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "journey") {
            let name = format!("journeys/{}", path.file_name().unwrap().to_string_lossy());
            files.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files.sort();
    assert!(
        files.len() >= 13,
        "journeys/ must hold the thirteen journeys of the brief"
    );
    let checked = journey_compiler::check_files(files, &journey_compiler::NoImports);
    assert!(checked.diagnostics.is_empty(), "{}", report(&checked));
}

/// A fenced code block: its info string, first line number, text, and the `##` section it is in.
struct Block {
    info: String,
    line: usize,
    text: String,
    section: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut current: Option<Block> = None;
    let mut section = String::new();
    for (idx, line) in markdown.lines().enumerate() {
        if current.is_none() && line.starts_with("## ") {
            section = line.to_string();
        }
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) => {
                current = Some(Block {
                    info: info.trim().to_string(),
                    line: idx + 1,
                    text: String::new(),
                    section: section.clone(),
                });
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => found.extend(current.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    found
}

#[test]
fn every_journey_example_in_the_docs_checks_as_documented() {
    let mut checked_blocks = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(repo().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let doc = path.file_name().unwrap().to_string_lossy().to_string();
        // A ```journey,running block is the version running when the blocks after it in its
        // section are deployed: those are built for a deploy over it.
        let mut running: Option<(String, Vec<journey_compiler::bytecode::Program>)> = None;
        for block in blocks(&std::fs::read_to_string(&path).unwrap()) {
            let mut info = block.info.split(',').map(str::trim);
            if info.next() != Some("journey") {
                continue;
            }
            checked_blocks += 1;
            let mut expected: BTreeSet<String> = info.map(str::to_string).collect();
            let name = format!("docs/{doc}:{}", block.line);
            if running
                .as_ref()
                .is_some_and(|(section, _)| *section != block.section)
            {
                running = None;
            }
            let files = vec![(name.clone(), block.text.clone())];
            if expected.remove("running") {
                let built = journey_compiler::build_files(files, &journey_compiler::NoImports);
                if built.programs.is_empty() || !built.checked.diagnostics.is_empty() {
                    failures.push(format!(
                        "{name}: a running version must build clean\n{}",
                        report(&built.checked)
                    ));
                }
                running = Some((block.section.clone(), built.programs));
                continue;
            }
            let checked = match &running {
                Some((_, programs)) => {
                    let deployed: Vec<_> = programs
                        .iter()
                        .map(journey_compiler::check::migrations::RunningVersion::of)
                        .collect();
                    journey_compiler::build_for_deploy(
                        files,
                        &journey_compiler::NoImports,
                        &deployed,
                    )
                    .checked
                }
                None => journey_compiler::check_source(&name, &block.text),
            };
            let found: BTreeSet<String> = checked.diagnostics.iter().map(|d| d.code.id()).collect();
            if found != expected {
                failures.push(format!(
                    "{name}: expected {expected:?}, found {found:?}\n{}",
                    report(&checked)
                ));
            }
        }
    }
    assert!(checked_blocks > 0, "no ```journey blocks found in docs/");
    assert!(
        failures.is_empty(),
        "{} examples disagree with the docs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
