//! Benchmarks that print figures. `cargo run --release -p journey-bench` measures how many lines
//! per second `journey check` gets through on one core, over a large program generated from the
//! shipped journeys, and how fast broken files (the UI corpus) are diagnosed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use journey_compiler::syntax::ast::Declaration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn journey_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "journey"))
                .filter_map(|path| {
                    let text = std::fs::read_to_string(&path).ok()?;
                    Some((path.display().to_string(), text))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Names of the journeys, templates and layouts a file declares (renamed in each copy).
fn declared_names(text: &str) -> BTreeSet<String> {
    let (file, _) = journey_compiler::syntax::parse_file(journey_compiler::source::FileId(0), text);
    file.declarations
        .iter()
        .filter_map(|declaration| match declaration {
            Declaration::Journey(j) => Some(j.name.name.clone()),
            Declaration::Template(t) => Some(t.name.name.clone()),
            Declaration::Layout(l) => Some(l.name.name.clone()),
            Declaration::Segment(s) => Some(s.name.name.clone()),
            _ => None,
        })
        .collect()
}

/// Replaces whole-word occurrences of `names` by `name_suffix`, except after a `.` (fields).
fn rename(text: &str, names: &BTreeSet<String>, suffix: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut word = String::new();
    let mut after_dot = false;
    let mut previous = ' ';
    let flush = |word: &mut String, out: &mut String, after_dot: bool| {
        out.push_str(word);
        if !after_dot && names.contains(word.as_str()) {
            out.push_str(suffix);
        }
        word.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            if word.is_empty() {
                after_dot = previous == '.';
            }
            word.push(ch);
        } else {
            flush(&mut word, &mut out, after_dot);
            out.push(ch);
        }
        previous = ch;
    }
    flush(&mut word, &mut out, after_dot);
    out
}

/// A program of `copies` renamed copies of every journey file, plus the shared shop file.
fn generate(copies: usize) -> Vec<(String, String)> {
    let originals = journey_files(&repo().join("journeys"));
    let names: BTreeSet<String> = originals
        .iter()
        .filter(|(name, _)| !name.ends_with("shop.journey"))
        .flat_map(|(_, text)| declared_names(text))
        .collect();
    let mut program = Vec::new();
    for (name, text) in &originals {
        if name.ends_with("shop.journey") {
            program.push((name.clone(), text.clone()));
            continue;
        }
        for copy in 0..copies {
            program.push((
                format!("{name}#{copy}"),
                rename(text, &names, &format!("_{copy}")),
            ));
        }
    }
    program
}

fn best_of<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let result = work();
        best = best.min(start.elapsed());
        last = Some(result);
    }
    match last {
        Some(result) => (best, result),
        None => (best, work()),
    }
}

fn main() {
    let copies: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let program = generate(copies);
    let lines: usize = program.iter().map(|(_, text)| text.lines().count()).sum();
    let bytes: usize = program.iter().map(|(_, text)| text.len()).sum();
    println!("journey check benchmark (one thread, best of 5)");
    println!(
        "program: {} files, {lines} lines, {:.1} MB (the journeys/ folder copied {copies} times)",
        program.len(),
        bytes as f64 / 1e6
    );

    let (elapsed, checked) = best_of(5, || {
        journey_compiler::check_files(program.clone(), &journey_compiler::NoImports)
    });
    let clean = checked.diagnostics.is_empty();
    if let Some(first) = checked.diagnostics.first() {
        eprintln!("first diagnostic: {} {}", first.code.id(), first.message);
    }
    println!(
        "check (parse + resolve + type check): {:.3} s, {:.0} lines/s, {:.1} MB/s, {} diagnostics{}",
        elapsed.as_secs_f64(),
        lines as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64(),
        checked.diagnostics.len(),
        if clean {
            ""
        } else {
            " (expected 0: the generated program should be clean)"
        },
    );

    let (parse_elapsed, _) = best_of(5, || {
        program
            .iter()
            .map(|(_, text)| {
                journey_compiler::syntax::parse_file(journey_compiler::source::FileId(0), text)
                    .0
                    .declarations
                    .len()
            })
            .sum::<usize>()
    });
    println!(
        "parse only: {:.3} s, {:.0} lines/s",
        parse_elapsed.as_secs_f64(),
        lines as f64 / parse_elapsed.as_secs_f64()
    );

    let broken = journey_files(&repo().join("compiler/tests/ui"));
    let broken_lines: usize = broken.iter().map(|(_, text)| text.lines().count()).sum();
    let (broken_elapsed, diagnostics) = best_of(5, || {
        broken
            .iter()
            .map(|(name, text)| {
                let checked = journey_compiler::check_source(name, text);
                journey_compiler::diagnostics::render::terminal::render(
                    &checked.diagnostics,
                    &checked.sources,
                    false,
                )
                .len()
            })
            .sum::<usize>()
    });
    println!(
        "broken files (UI corpus, each checked alone with the prelude, report rendered): {} files, {broken_lines} lines, {:.3} s, {:.0} files/s, {diagnostics} bytes of reports",
        broken.len(),
        broken_elapsed.as_secs_f64(),
        broken.len() as f64 / broken_elapsed.as_secs_f64()
    );
}
