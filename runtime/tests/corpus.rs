//! The broken-test corpus: one test file per mistake a marketer makes when testing a journey,
//! named after the diagnostic it must produce (`J0602-…`). Each file runs against the shipped
//! journeys it names; the rendered report is snapshotted and must contain its code.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::path::Path;

use journey_compiler::diagnostics::render::terminal;
use journey_compiler::source::SourceMap;
use journey_runtime::testing;
use journey_runtime::vm::Library;

fn library(test_file: &Path, journeys: &[String]) -> Library {
    let base = test_file.parent().unwrap();
    let files: Vec<(String, String)> = journeys
        .iter()
        .map(|relative| {
            let path = base.join(relative);
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    let built = journey_compiler::build_files(files, &journey_compiler::NoImports);
    assert!(built.failures.is_empty() && !built.programs.is_empty());
    Library::with(built.programs)
}

#[test]
fn corpus() {
    insta::glob!("corpus/*.test.toml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let file_name = path.file_name().unwrap().to_string_lossy().to_string();
        let code = file_name.split('-').next().unwrap().to_string();
        let mut sources = SourceMap::new();
        let file = sources.add(format!("tests/corpus/{file_name}"), text.clone());
        let diagnostics = match testing::parse(&text) {
            Err(error) => vec![testing::invalid(file, &error)],
            Ok(parsed) => {
                let journeys = parsed.journeys.clone().unwrap_or_default();
                let library = library(path, &journeys);
                testing::run(&library, file, &parsed)
                    .into_iter()
                    .flat_map(|outcome| outcome.failures)
                    .collect()
            }
        };
        assert!(
            diagnostics.iter().any(|d| d.code.id() == code),
            "{file_name} must produce {code}, got {:?}",
            diagnostics.iter().map(|d| d.code.id()).collect::<Vec<_>>()
        );
        let report = terminal::render(&diagnostics, &sources, false);
        insta::assert_snapshot!(format!("{text}\n=== journey test ===\n{report}"));
    });
}
