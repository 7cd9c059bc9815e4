//! Bytecode: the listing of every shipped journey (snapshotted), the binary format (round trip,
//! determinism, every decoding error, no panic on any input) and a few code generation rules
//! (constant `if`, dead steps after `exit`, constant folding, what changes a program's hash).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::path::{Path, PathBuf};

use journey_compiler::bytecode::format::{self, DecodeError, FORMAT_VERSION, MAGIC};
use journey_compiler::bytecode::{Expr, Instr, Program, Value, disasm};
use journey_compiler::diagnostics::Severity;
use journey_compiler::diagnostics::render::terminal;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// Bytes before the body: magic, version, hash.
const HEADER_LEN: usize = 8 + 2 + 32;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of `journeys/`, named as `compiler/tests/examples.rs` names them.
fn shipped_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(repo().join("journeys")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "journey") {
            let name = format!("journeys/{}", path.file_name().unwrap().to_string_lossy());
            files.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files.sort();
    files
}

/// Builds files that must compile; fails with the report otherwise.
fn build(files: Vec<(String, String)>) -> Vec<Program> {
    let built = journey_compiler::build_files(files, &journey_compiler::NoImports);
    assert_eq!(
        built.checked.count(Severity::Error),
        0,
        "{}",
        terminal::render(&built.checked.diagnostics, &built.checked.sources, false)
    );
    assert!(built.failures.is_empty(), "{:?}", built.failures);
    built.programs
}

/// The journeys of `journeys/`, compiled together.
fn shipped() -> Vec<Program> {
    let programs = build(shipped_files());
    assert_eq!(programs.len(), 13, "journeys/ holds thirteen journeys");
    programs
}

/// One file with one journey, compiled.
fn build_one(text: &str) -> Program {
    let mut programs = build(vec![("test.journey".to_string(), text.to_string())]);
    assert_eq!(programs.len(), 1);
    programs.remove(0)
}

/// A valid encoded program to corrupt.
fn sample_bytes() -> Vec<u8> {
    format::encode(&build_one(&journey_with("wait 1 day\n  send email hello"))).0
}

/// A journey `j` with the given steps, and a template `hello` it may send.
fn journey_with(steps: &str) -> String {
    format!(
        "journey j {{\n  when subscribed as signup\n  every time\n  {steps}\n}}\n\n\
         template hello: email transactional {{\n  subject \"Ciao\"\n  body \"Benvenuto\"\n}}\n"
    )
}

// ------------------------------------------------------------------ listings

#[test]
fn every_shipped_journey_has_a_stable_listing() {
    for program in shipped() {
        insta::assert_snapshot!(program.journey.clone(), disasm::listing(&program, None));
    }
}

// ------------------------------------------------------------------ format

#[test]
fn encoding_then_decoding_gives_the_same_program_and_hash() {
    for program in shipped() {
        let (bytes, hash) = format::encode(&program);
        assert_eq!(&bytes[..8], &MAGIC);
        assert_eq!(bytes[8..10], FORMAT_VERSION.to_le_bytes());
        assert_eq!(bytes[10..HEADER_LEN], hash.0);
        let (decoded, decoded_hash) = format::decode(&bytes).unwrap();
        assert_eq!(decoded, program, "{}", program.journey);
        assert_eq!(decoded_hash, hash, "{}", program.journey);
        assert_eq!(format::hash(&decoded), hash, "{}", program.journey);
        assert_eq!(hash.hex().len(), 64);
        assert_eq!(hash.short(), hash.hex()[..12]);
    }
}

#[test]
fn building_twice_gives_identical_bytes() {
    let first: Vec<Vec<u8>> = shipped().iter().map(|p| format::encode(p).0).collect();
    let second: Vec<Vec<u8>> = shipped().iter().map(|p| format::encode(p).0).collect();
    assert_eq!(first, second);
    // Thirteen journeys, thirteen different programs.
    let mut hashes: Vec<_> = shipped().iter().map(format::hash).collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 13);
}

#[test]
fn an_empty_or_short_foreign_file_is_not_bytecode() {
    assert_eq!(format::decode(&[]).unwrap_err(), DecodeError::NotBytecode);
    assert_eq!(
        format::decode(b"hello").unwrap_err(),
        DecodeError::NotBytecode
    );
}

#[test]
fn five_bytes_are_truncated() {
    let error = format::decode(b"JOURN").unwrap_err();
    assert_eq!(error, DecodeError::Truncated { len: 5 });
    assert!(error.to_string().contains("truncated: 5 bytes"), "{error}");
    // The magic is there but the header is cut short.
    let bytes = sample_bytes();
    let error = format::decode(&bytes[..20]).unwrap_err();
    assert_eq!(error, DecodeError::Truncated { len: 20 });
}

#[test]
fn a_wrong_magic_is_not_bytecode() {
    let mut bytes = sample_bytes();
    bytes[0] = b'X';
    let error = format::decode(&bytes).unwrap_err();
    assert_eq!(error, DecodeError::NotBytecode);
    assert!(
        error.to_string().contains("not a journey bytecode file"),
        "{error}"
    );
    assert!(error.to_string().contains("`journey build`"), "{error}");
    // A text file long enough to hold a header.
    let text = b"journey j {\n  when subscribed\n  send email hello\n}\n";
    assert_eq!(format::decode(text).unwrap_err(), DecodeError::NotBytecode);
}

#[test]
fn another_format_version_is_unsupported() {
    let mut bytes = sample_bytes();
    let bumped = FORMAT_VERSION + 1;
    bytes[8..10].copy_from_slice(&bumped.to_le_bytes());
    let error = format::decode(&bytes).unwrap_err();
    assert_eq!(error, DecodeError::UnsupportedVersion { found: bumped });
    let message = error.to_string();
    assert!(
        message.contains(&format!("version {bumped} is not supported")),
        "{message}"
    );
    assert!(
        message.contains(&format!("reads version {FORMAT_VERSION}")),
        "{message}"
    );
    assert!(message.contains("rebuild"), "{message}");
}

#[test]
fn a_flipped_body_byte_breaks_the_hash() {
    let original = sample_bytes();
    for at in [
        HEADER_LEN,
        (HEADER_LEN + original.len()) / 2,
        original.len() - 1,
    ] {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        let error = format::decode(&bytes).unwrap_err();
        assert_eq!(error, DecodeError::HashMismatch, "byte {at}");
        assert!(error.to_string().contains("is corrupt"), "{error}");
    }
    // A flipped byte of the stored hash is the same mismatch.
    let mut bytes = original;
    bytes[10] ^= 0x80;
    assert_eq!(
        format::decode(&bytes).unwrap_err(),
        DecodeError::HashMismatch
    );
}

/// A header with the right magic, version and hash of `body`, then `body`.
fn with_valid_header(body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&Sha256::digest(body));
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn a_garbage_body_with_its_own_hash_is_corrupt() {
    // The hash matches, so the bytes reach the decoder, which refuses them.
    let garbage = [0xff_u8; 24];
    let error = format::decode(&with_valid_header(&garbage)).unwrap_err();
    assert!(matches!(error, DecodeError::Corrupt { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("the file is corrupt: cannot decode the program ("),
        "{error}"
    );
    // An empty body, and a valid body cut short.
    assert!(matches!(
        format::decode(&with_valid_header(&[])).unwrap_err(),
        DecodeError::Corrupt { .. }
    ));
    let bytes = sample_bytes();
    let cut = &bytes[HEADER_LEN..bytes.len() - 3];
    assert!(matches!(
        format::decode(&with_valid_header(cut)).unwrap_err(),
        DecodeError::Corrupt { .. }
    ));
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = format::decode(&bytes);
        // The same bytes behind a valid header reach the body decoder.
        let _ = format::decode(&with_valid_header(&bytes));
    }

    #[test]
    fn decoding_mutated_files_never_panics(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let original = sample_bytes();
        let mut bytes = original.clone();
        for (at, value) in &mutations {
            let at = at.index(bytes.len());
            bytes[at] = *value;
        }
        let result = format::decode(&bytes);
        if bytes != original {
            prop_assert!(result.is_err());
        }
        // The same mutations of the body with the hash fixed reach the body decoder: it may
        // decode another valid program, or refuse, but never panic.
        let mut body = original[HEADER_LEN..].to_vec();
        for (at, value) in &mutations {
            let at = at.index(body.len());
            body[at] = *value;
        }
        let _ = format::decode(&with_valid_header(&body));
        let kept = cut.index(body.len());
        let _ = format::decode(&with_valid_header(&body[..kept]));
        let _ = format::decode(&bytes[..cut.index(bytes.len())]);
    }
}

// ------------------------------------------------------------------ code generation

fn has_branch(program: &Program) -> bool {
    program
        .code
        .iter()
        .any(|instr| matches!(instr, Instr::Branch { .. }))
}

fn sends(program: &Program) -> usize {
    program
        .code
        .iter()
        .filter(|instr| matches!(instr, Instr::Send { .. }))
        .count()
}

#[test]
fn an_if_on_a_constant_keeps_only_the_branch_that_runs() {
    let kept = build_one(&journey_with(
        "if true {\n    send email hello\n  } else {\n    wait 1 day\n  }",
    ));
    assert!(!has_branch(&kept), "{}", disasm::listing(&kept, None));
    assert_eq!(sends(&kept), 1);
    assert!(
        !kept.code.iter().any(|i| matches!(i, Instr::Wait { .. })),
        "{}",
        disasm::listing(&kept, None)
    );

    let dropped = build_one(&journey_with(
        "if false {\n    send email hello\n  }\n  wait 1 day",
    ));
    assert!(!has_branch(&dropped));
    assert_eq!(sends(&dropped), 0, "{}", disasm::listing(&dropped, None));

    // A condition the compiler cannot know stays a branch.
    let kept = build_one(&journey_with(
        "if customer.email_consent {\n    send email hello\n  }",
    ));
    assert!(has_branch(&kept));
}

#[test]
fn steps_after_exit_are_not_emitted() {
    let program = build_one(&journey_with("send email hello\n  exit\n  wait 1 day"));
    assert!(
        matches!(
            program.code.as_slice(),
            [Instr::Send { .. }, Instr::Exit { .. }, Instr::End]
        ),
        "{}",
        disasm::listing(&program, None)
    );
    // Also after an `if` whose branch that runs exits.
    let program = build_one(&journey_with(
        "if true {\n    exit\n  }\n  send email hello",
    ));
    assert!(
        matches!(program.code.as_slice(), [Instr::Exit { .. }, Instr::End]),
        "{}",
        disasm::listing(&program, None)
    );
    // And after an `if` whose two branches exit.
    let program = build_one(&journey_with(
        "if customer.email_consent {\n    exit\n  } else {\n    exit\n  }\n  send email hello",
    ));
    assert_eq!(sends(&program), 0, "{}", disasm::listing(&program, None));
}

#[test]
fn operators_on_constants_are_folded() {
    let program = build_one(&journey_with(
        "send email hello with amount = €1 * 2, n = 250 + 250",
    ));
    let Some(Instr::Send { with, .. }) = program.code.first() else {
        panic!("{}", disasm::listing(&program, None));
    };
    let values: Vec<&Expr> = with.iter().map(|(_, value)| value).collect();
    assert!(
        matches!(
            values.as_slice(),
            [
                Expr::Const(Value::Money {
                    micros: 2_000_000,
                    ..
                }),
                Expr::Const(Value::Int(500))
            ]
        ),
        "{values:?}"
    );
    let listing = disasm::listing(&program, None);
    assert!(listing.contains("= 2 EUR"), "{listing}");
    assert!(listing.contains("= 500"), "{listing}");
}

#[test]
fn the_hash_follows_the_program_not_its_comments() {
    let hash = |text: &str| format::hash(&build_one(text));
    let base = hash(&journey_with("wait 1 day\n  send email hello"));

    // A different step is a different program.
    assert_ne!(base, hash(&journey_with("wait 2 days\n  send email hello")));

    // A program holds no comments: a comment at the end of a line, or a changed comment, leaves
    // the program, so its hash, as it was.
    assert_eq!(
        base,
        hash(&journey_with(
            "wait 1 day // then the welcome\n  send email hello"
        ))
    );
    assert_eq!(
        base,
        hash(&journey_with(
            "wait 1 day // then the greeting\n  send email hello"
        ))
    );

    // But each step records its line, for the decision log: a comment on a line of its own
    // above the steps moves them down, and that is a different program. Moving lines is a
    // change of the program as the runtime reports it, even when no step changed.
    let moved = hash(&journey_with(
        "// first wait\n  wait 1 day\n  send email hello",
    ));
    assert_ne!(base, moved);
    // A comment line moves nothing when it comes after the last step.
    assert_eq!(
        base,
        hash(&journey_with(
            "wait 1 day\n  send email hello\n  // the end"
        ))
    );

    // A comment after the `{` of a block is not part of the step's label either.
    let plain = build_one(&journey_with(
        "if customer.email_consent {\n    send email hello\n  }",
    ));
    let commented = build_one(&journey_with(
        "if customer.email_consent { // greet\n    send email hello\n  }",
    ));
    assert_eq!(plain.steps[0].label, "if customer.email_consent");
    assert_eq!(commented.steps[0].label, "if customer.email_consent");
    assert_eq!(format::hash(&plain), format::hash(&commented));
}

#[test]
fn bytes_after_the_program_are_corrupt() {
    let program = shipped().into_iter().next().unwrap();
    let (mut bytes, _) = format::encode(&program);
    bytes.extend_from_slice(b"trailing");
    // Re-seal the header so only the trailing bytes are wrong.
    let body = bytes[42..].to_vec();
    let digest: [u8; 32] = Sha256::digest(&body).into();
    bytes[10..42].copy_from_slice(&digest);
    let error = format::decode(&bytes).unwrap_err();
    assert!(
        matches!(&error, DecodeError::Corrupt { detail } if detail.contains("8 unexpected bytes")),
        "{error:?}"
    );
}

#[test]
fn hostile_nesting_is_refused_not_a_crash() {
    use journey_compiler::bytecode::UnaryOp;
    let mut program = shipped().into_iter().next().unwrap();
    let mut condition = Expr::Const(Value::Bool(true));
    for _ in 0..1000 {
        condition = Expr::Unary(UnaryOp::Not, Box::new(condition));
    }
    program.code.insert(
        0,
        Instr::Branch {
            step: 0,
            condition,
            otherwise: 1,
        },
    );
    let (bytes, _) = format::encode(&program);
    let error = format::decode(&bytes).unwrap_err();
    assert!(
        matches!(&error, DecodeError::Corrupt { detail } if detail.contains("nesting deeper than 256")),
        "{error:?}"
    );
}

// ------------------------------------------------------------------ labels and migrations

#[test]
fn labels_record_where_a_step_starts_and_what_a_customer_there_carries() {
    let program = build_one(&journey_with(
        "step first: wait 1 day\n  send email hello\n  step answer: wait for order_placed as order up to 3 days\n  step thanks: send email hello",
    ));
    let names: Vec<(&str, u32)> = program
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.pc))
        .collect();
    assert_eq!(names, [("first", 0), ("answer", 2), ("thanks", 3)]);
    let carried = |label: usize| -> Vec<String> {
        program.labels[label]
            .known
            .iter()
            .map(|k| format!("{} {}", k.name, k.event))
            .collect()
    };
    assert_eq!(carried(0), ["signup subscribed"]);
    assert_eq!(carried(1), ["signup subscribed"]);
    // After a wait that may time out, `order` is not known on every path.
    assert_eq!(carried(2), ["signup subscribed"]);
}

#[test]
fn a_sleeping_customer_stands_in_the_wait_it_sleeps_in_not_at_the_next_step() {
    let program = build_one(&journey_with(
        "step first: wait 1 day\n  send email hello\n  wait for order_placed up to 3 days",
    ));
    // Asleep in `wait 1 day`: the next instruction is the send.
    assert_eq!(program.standing_at(1, true), 0);
    assert_eq!(
        program.standing_text(1, true).as_deref(),
        Some("step first: wait 1 day")
    );
    assert_eq!(
        program.standing_label(1, true).map(|l| l.name.as_str()),
        Some("first")
    );
    // Held at the send by quiet hours would look the same: it counts as still in the wait.
    // Waiting for an event: at the `wait for` itself.
    assert_eq!(
        program.standing_text(2, false).as_deref(),
        Some("wait for order_placed up to 3 days")
    );
    assert!(program.standing_label(2, false).is_none());
}

#[test]
fn migrate_lines_point_at_labels_of_the_new_version() {
    use journey_compiler::bytecode::MigrationTarget;
    let program = build_one(&journey_with(
        "migrate {\n    old_wait -> first\n    gone -> exit\n  }\n  wait 1 hour\n  step first: send email hello",
    ));
    assert_eq!(program.migrations.len(), 2);
    assert_eq!(program.migrations[0].from, "old_wait");
    assert_eq!(program.migrations[0].to, MigrationTarget::Step(0));
    assert_eq!(program.labels[0].pc, 1);
    assert_eq!(program.migrations[1].to, MigrationTarget::Exit);
    let listing = journey_compiler::bytecode::disasm::listing(&program, None);
    assert!(
        listing.contains("migrate    old_wait -> first (0001)"),
        "{listing}"
    );
    assert!(listing.contains("migrate    gone -> exit"), "{listing}");
}

#[test]
fn a_value_a_wait_binds_on_every_path_is_carried_after_it() {
    let program = build_one(&journey_with(
        "wait for order_placed as order up to 3 days {\n    timeout => { exit }\n  }\n  step thanks: send email hello",
    ));
    let carried: Vec<String> = program.labels[0]
        .known
        .iter()
        .map(|k| format!("{} {}", k.name, k.event))
        .collect();
    assert_eq!(carried, ["order order_placed", "signup subscribed"]);
}

#[test]
fn no_mistake_of_the_ui_corpus_reaches_the_compiler_as_a_defect() {
    // Each broken journey is refused by its diagnostics, never by "a defect of the journey
    // compiler" (a check that passes and a build that fails).
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "journey"))
        .collect();
    files.sort();
    assert!(files.len() > 100, "{}", files.len());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let built = journey_compiler::build_files(
            vec![(name.clone(), std::fs::read_to_string(&path).unwrap())],
            &journey_compiler::NoImports,
        );
        assert!(built.failures.is_empty(), "{name}: {:?}", built.failures);
        if path.with_extension("running").exists() {
            continue; // Its mistake shows only against the version running (tests/ui.rs).
        }
        let code = name.split('-').next().unwrap();
        let codes: Vec<String> = built
            .checked
            .diagnostics
            .iter()
            .map(|d| d.code.id())
            .collect();
        assert!(codes.iter().any(|c| c == code), "{name}: {codes:?}");
    }
}
