//! Helpers shared by the runtime's test binaries.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)] // test code: a failure should stop the test loudly

use std::path::Path;

use journey_runtime::vm::Library;

/// The shipped `journeys/` folder compiled as one program (files named `journeys/NAME`).
pub fn shipped_library() -> Library {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../journeys");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "journey") {
            let name = format!("journeys/{}", path.file_name().unwrap().to_string_lossy());
            files.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files.sort();
    let built = journey_compiler::build_files(files, &journey_compiler::NoImports);
    assert!(
        built.failures.is_empty() && !built.programs.is_empty(),
        "the shipped journeys must compile"
    );
    Library::with(built.programs)
}
