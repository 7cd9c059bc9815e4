//! Every TOML example in the docs is a real scenario or test file (or a piece of one): it must
//! read without error, and a block tagged ```toml,J0601 must be refused.
//! Pieces of test files (`[[test.expect]]` alone) are read inside a minimal `[[test]]`.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::path::Path;

use journey_runtime::{scenario, testing};

fn toml_blocks(markdown: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String, String)> = None;
    for (idx, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut current, fence) {
            (None, Some(info)) if info.trim().starts_with("toml") => {
                current = Some((idx + 1, info.trim().to_string(), String::new()));
            }
            (Some(_), Some(_)) => found.extend(current.take()),
            (Some((_, _, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            _ => {}
        }
    }
    found
}

fn read(text: &str) -> Result<(), String> {
    let is_scenario = text.lines().any(|l| l.starts_with("start =")) && !text.contains("[[test");
    if is_scenario {
        return scenario::scenario(text).map(|_| ()).map_err(|e| e.message);
    }
    let whole = if text.contains("[[test.") && !text.contains("[[test]]") {
        format!("[[test]]\nname = \"example\"\nstart = \"2026-11-23 10:00\"\n\n{text}")
    } else {
        text.to_string()
    };
    testing::parse(&whole).map(|_| ()).map_err(|e| e.message)
}

#[test]
fn toml_examples_in_the_docs_read_as_documented() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let mut problems = Vec::new();
    let mut count = 0;
    for page in ["testing.md", "errors.md", "cli.md", "running.md"] {
        let Ok(markdown) = std::fs::read_to_string(docs.join(page)) else {
            continue;
        };
        for (line, info, text) in toml_blocks(&markdown) {
            count += 1;
            // J0601 is a file that cannot be read; the other test codes are files that read
            // fine and fail when run (the runtime's corpus runs them).
            let expects_error = info.contains(",J0601");
            match (read(&text), expects_error) {
                (Ok(()), false) | (Err(_), true) => {}
                (Err(message), false) => {
                    problems.push(format!("docs/{page}:{line}: {message}"));
                }
                (Ok(()), true) => {
                    problems.push(format!(
                        "docs/{page}:{line}: tagged `{info}` but reads fine"
                    ));
                }
            }
        }
    }
    assert!(count > 10, "only {count} TOML examples found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_configuration_examples_are_valid_configurations() {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md");
    let markdown = std::fs::read_to_string(page).unwrap();
    let blocks = toml_blocks(&markdown);
    assert!(!blocks.is_empty());
    for (line, _, text) in blocks {
        if let Err(error) = journey_runtime::config::Config::parse(&text) {
            panic!("docs/operations.md:{line}: {error}");
        }
    }
}
