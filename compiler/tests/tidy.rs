//! Tidy checks that keep the project honest: each diagnostic code has a section in
//! docs/errors.md and a file in the UI corpus; each module opens with `//!`; tests are never
//! ignored; the compiler stays free of I/O, clocks and randomness.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::path::{Path, PathBuf};

use journey_compiler::diagnostics::Code;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target") {
                rust_files(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_code_is_documented_and_has_a_corpus_file() {
    let errors = std::fs::read_to_string(repo().join("docs/errors.md")).unwrap();
    let corpus: Vec<String> = std::fs::read_dir(repo().join("compiler/tests/ui"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    // Codes of `journey test` (J06xx) are about test files: their wrong examples are TOML and
    // their corpus is the runtime's broken-test corpus.
    let test_corpus: Vec<String> = std::fs::read_dir(repo().join("runtime/tests/corpus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let mut missing = Vec::new();
    for code in Code::ALL {
        let about_tests = code.number() >= 600 && code.number() < 700;
        let heading = format!("## {}: {}", code.id(), code.name());
        if !errors.contains(&heading) {
            missing.push(format!("docs/errors.md lacks `{heading}`"));
        }
        let language = if about_tests { "toml" } else { "journey" };
        if !errors.contains(&format!("```{language},{}", code.id())) {
            missing.push(format!(
                "docs/errors.md has no wrong example for {}",
                code.id()
            ));
        }
        let (files, folder) = if about_tests {
            (&test_corpus, "runtime/tests/corpus")
        } else {
            (&corpus, "compiler/tests/ui")
        };
        if !files
            .iter()
            .any(|name| name.starts_with(&format!("{}-", code.id())))
        {
            missing.push(format!("{folder} has no file for {}", code.id()));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn corpus_files_are_named_after_known_codes() {
    let ui = std::fs::read_dir(repo().join("compiler/tests/ui")).unwrap();
    let tests = std::fs::read_dir(repo().join("runtime/tests/corpus")).unwrap();
    for entry in ui.chain(tests) {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let code = name.split('-').next().unwrap();
        assert!(
            Code::parse(code).is_some(),
            "{name} does not start with a known code"
        );
    }
}

#[test]
fn every_module_says_what_it_is_for() {
    let mut files = Vec::new();
    for dir in [
        "compiler/src",
        "stdlib/src",
        "runtime/src",
        "cli/src",
        "benches/src",
        "tests",
    ] {
        rust_files(&repo().join(dir), &mut files);
    }
    rust_files(&repo().join("compiler/tests"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a `//!` comment",
            file.display()
        );
    }
}

#[test]
fn no_test_is_ignored_or_expected_to_panic() {
    let mut files = Vec::new();
    for dir in ["compiler", "stdlib", "runtime", "cli", "benches", "tests"] {
        rust_files(&repo().join(dir), &mut files);
    }
    let ignored = ["#[ignore", "#[should_panic"];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for marker in ignored {
            let needle = marker.to_string();
            // This file names the markers; everyone else must not use them.
            if file.ends_with("tidy.rs") {
                continue;
            }
            assert!(!text.contains(&needle), "{} uses {marker}", file.display());
        }
    }
}

#[test]
fn the_compiler_does_no_io_and_reads_no_clock() {
    let mut files = Vec::new();
    rust_files(&repo().join("compiler/src"), &mut files);
    let forbidden = [
        "std::fs", "std::net", "tokio", "sled", "axum", "lettre", "now()", "rand::", "std::env",
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`: the compiler must stay pure",
                file.display()
            );
        }
    }
}

#[test]
fn the_vm_and_the_simulator_are_pure() {
    let mut files = Vec::new();
    for dir in ["runtime/src/vm", "runtime/src/render"] {
        rust_files(&repo().join(dir), &mut files);
    }
    for file in ["simulate.rs", "scenario.rs", "testing.rs", "timeline.rs"] {
        files.push(repo().join("runtime/src").join(file));
    }
    let forbidden = [
        "std::fs",
        "std::net",
        "std::env",
        "tokio",
        "sled",
        "axum",
        "lettre",
        "now()",
        "Instant",
        "SystemTime",
        "rand::",
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`: the VM is a pure function of its inputs",
                file.display()
            );
        }
    }
}
