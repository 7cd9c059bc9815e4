//! Properties: the compiler never panics, on any text or on mutations of real journeys, and every
//! span it reports lies inside its file on character boundaries; renderers never panic either.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use journey_compiler::diagnostics::render;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

/// Checks `text`, asserts every span is valid and renders every format.
fn check_everything(text: &str) {
    let checked = journey_compiler::check_source("input.journey", text);
    for diagnostic in &checked.diagnostics {
        for span in diagnostic.spans() {
            let file = checked
                .sources
                .get(span.file)
                .expect("span in a known file");
            assert!(span.start <= span.end, "{diagnostic:?}");
            assert!(
                (span.end as usize) <= file.text.len(),
                "span past the end: {diagnostic:?}"
            );
            assert!(
                file.text.is_char_boundary(span.start as usize),
                "{diagnostic:?}"
            );
            assert!(
                file.text.is_char_boundary(span.end as usize),
                "{diagnostic:?}"
            );
        }
        assert!(!diagnostic.message.is_empty());
    }
    render::terminal::render(&checked.diagnostics, &checked.sources, true);
    render::json::render(&checked.diagnostics, &checked.sources);
    render::sarif::render(&checked.diagnostics, &checked.sources);
    render::github::render(&checked.diagnostics, &checked.sources);
}

fn seeds() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut texts = Vec::new();
    for dir in ["journeys", "compiler/tests/ui"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "journey") {
                texts.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    texts.sort();
    texts
}

/// Pieces a mutation may insert: the language's own words and symbols, and some hostile bytes.
const PIECES: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "\"",
    "\"\"\"",
    "'",
    "{{",
    "}}",
    "{%",
    "%}",
    "{% if x %}",
    "{% for",
    "=>",
    "==",
    "=",
    "??",
    "?",
    ".",
    ",",
    ":",
    "%",
    "€",
    "-",
    "wait",
    "send",
    "when",
    "exit",
    "goal",
    "split",
    "template",
    "journey",
    "event",
    "up to",
    "timeout",
    "3 days",
    "09:00",
    "99:99",
    "2026-02-30",
    "é",
    "🎉",
    "\n",
    "\t",
    "  ",
    "//",
    "/*",
    "is set",
    "not",
    "customer.",
    "it.",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, piece: usize },
    DuplicateLine { line: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 0..PIECES.len()).prop_map(|(at, piece)| Mutation::Insert { at, piece }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, mutation: &Mutation) -> String {
    match mutation {
        Mutation::Delete { at, len } => {
            let start = boundary(text, *at);
            let end = boundary(text, (start + len).min(text.len()));
            format!("{}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Insert { at, piece } => {
            let at = boundary(text, *at);
            format!("{}{}{}", &text[..at], PIECES[*piece], &text[at..])
        }
        Mutation::DuplicateLine { line } => {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return text.to_string();
            }
            let idx = line % lines.len();
            let mut out: Vec<&str> = lines.clone();
            out.insert(idx, lines[idx]);
            out.join("\n")
        }
        Mutation::Truncate { at } => text[..boundary(text, *at)].to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check_everything(&text);
    }

    #[test]
    fn arbitrary_language_soup_never_panics(pieces in proptest::collection::vec(0..PIECES.len(), 0..60)) {
        let text: String = pieces.iter().map(|i| PIECES[*i]).collect::<Vec<_>>().join(" ");
        check_everything(&text);
    }

    #[test]
    fn mutated_journeys_never_panic(seed in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        let seeds = seeds();
        let mut text = seeds[seed % seeds.len()].clone();
        for mutation in &mutations {
            text = apply(&text, mutation);
        }
        check_everything(&text);
    }
}

#[test]
fn deep_nesting_is_refused_not_crashed() {
    let brackets = format!("segment s where {}1{}", "(".repeat(5000), ")".repeat(5000));
    let nots = format!("segment s where {}true", "not ".repeat(5000));
    let negations = format!("segment s where {}1 > 0", "- ".repeat(5000));
    let ifs = format!(
        "template t: email transactional {{\n  subject \"x\"\n  body \"\"\"{}\"\"\"\n}}\n",
        "{% if true %}".repeat(5000)
    );
    for text in [brackets, nots, negations, ifs] {
        let checked = journey_compiler::check_source("deep.journey", &text);
        assert!(
            checked
                .diagnostics
                .iter()
                .any(|d| d.message.contains("nested more than 128 levels")),
            "{:?}",
            checked.diagnostics.first().map(|d| &d.message)
        );
    }
}
