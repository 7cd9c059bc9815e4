//! The UI corpus: one broken journey per mistake in `tests/ui/`, named after the code it must
//! produce. Each file's rendered report is snapshotted with its source. A `.running` file next
//! to a journey is the version running when it is deployed: the journey is then built for a
//! deploy over it (`migrate` lines checked against it), as `journey run` does.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use journey_compiler::diagnostics::render::terminal;

#[test]
fn corpus() {
    insta::glob!("ui/*.journey", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let file_name = path.file_name().unwrap().to_string_lossy().to_string();
        let expected_code = file_name.split('-').next().unwrap().to_string();
        let name = format!("tests/ui/{file_name}");
        let running = path.with_extension("running");
        let checked = if running.exists() {
            let old = std::fs::read_to_string(&running).unwrap();
            let built = journey_compiler::build_files(
                vec![(name.clone(), old)],
                &journey_compiler::NoImports,
            );
            assert!(
                !built.programs.is_empty(),
                "{} should build",
                running.display()
            );
            let deployed: Vec<_> = built
                .programs
                .iter()
                .map(journey_compiler::check::migrations::RunningVersion::of)
                .collect();
            journey_compiler::build_for_deploy(
                vec![(name, text.clone())],
                &journey_compiler::NoImports,
                &deployed,
            )
            .checked
        } else {
            journey_compiler::check_source(&name, &text)
        };
        let codes: Vec<String> = checked.diagnostics.iter().map(|d| d.code.id()).collect();
        assert!(
            codes.contains(&expected_code),
            "{file_name} should report {expected_code}, got {codes:?}"
        );
        let report = terminal::render(&checked.diagnostics, &checked.sources, false);
        insta::assert_snapshot!(format!("{text}\n=== journey check ===\n{report}"));
    });
}

#[test]
fn corpus_is_large_enough() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let count = std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "journey")
        })
        .count();
    assert!(
        count >= 40,
        "the corpus has {count} files; it needs one per mistake, at least 40"
    );
}
