//! End-to-end tests of the `journey` binary: exit codes, every output format, colours,
//! imports, `explain`, and SARIF validated against the official 2.1.0 schema.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `journey` in the repository root with `args`.
fn journey(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(args)
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .output()
        .expect("the journey binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("journey-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const FIXTURE: &str = "tests/e2e/fixtures/shop";

#[test]
fn the_shipped_journeys_check_clean() {
    let output = journey(&["check", "--deny-warnings", "journeys"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("no problems found"));
}

#[test]
fn errors_exit_with_1_and_name_the_problem() {
    let output = journey(&["check", "--color", "never", FIXTURE]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("[J0102] Error: `subscribed` has no field `sorce`"),
        "{text}"
    );
    assert!(text.contains("did you mean `source`?"), "{text}");
    assert!(
        text.contains("checked 2 files: 1 error, 1 warning"),
        "{text}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = temp_dir("warnings");
    std::fs::write(
        dir.join("a.journey"),
        "journey a {\n  when subscribed\n  send email hello\n}\ntemplate hello: email transactional {\n  subject \"Ciao\"\n  body \"Benvenuto\"\n}\n",
    )
    .unwrap();
    let path = dir.to_string_lossy().to_string();
    let allowed = journey(&["check", &path]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));
    assert!(stdout(&allowed).contains("J0307"));
    let denied = journey(&["check", "--deny-warnings", &path]);
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_with_2() {
    let missing = journey(&["check", "no/such/folder"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read `no/such/folder`: no such file or folder"),
        "{}",
        stderr(&missing)
    );

    let empty = temp_dir("empty");
    let output = journey(&["check", &empty.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no .journey files found"));

    assert_eq!(
        journey(&["check", "--format", "xml", FIXTURE])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(journey(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(journey(&["explain", "J9999"]).status.code(), Some(2));
}

#[test]
fn every_format_renders_the_same_diagnostics() {
    for format in ["human", "json", "sarif", "github"] {
        let output = journey(&["check", "--color", "never", "--format", format, FIXTURE]);
        assert_eq!(output.status.code(), Some(1), "{format}");
        insta::assert_snapshot!(format!("format_{format}"), stdout(&output));
    }
}

#[test]
fn json_output_follows_its_documented_schema() {
    let output = journey(&["check", "--format", "json", FIXTURE]);
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["version"], 1);
    assert_eq!(document["errors"], 1);
    assert_eq!(document["warnings"], 1);
    let first = &document["diagnostics"][0];
    assert_eq!(first["code"], "J0307");
    assert_eq!(first["severity"], "warning");
    let error = &document["diagnostics"][1];
    assert_eq!(error["name"], "unknown-field");
    assert_eq!(error["primary"]["line"], 17);
    assert_eq!(error["help"]["edit"]["replacement"], "source");
}

#[test]
fn json_output_is_valid_against_its_published_schema() {
    let schema_text = std::fs::read_to_string(repo().join("docs/diagnostics.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    for target in [FIXTURE, "compiler/tests/ui", "journeys"] {
        let output = journey(&["check", "--format", "json", target]);
        let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let problems: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{target}: {problems:#?}");
    }
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let schema_path = repo().join("../shared/schemas/sarif-schema-2.1.0.json");
    let schema_text = std::fs::read_to_string(&schema_path).unwrap_or_else(|error| {
        panic!(
            "this test needs the SARIF 2.1.0 schema at {} (the shared/ folder beside the checkout): {error}",
            schema_path.display()
        )
    });
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    for target in [FIXTURE, "compiler/tests/ui", "journeys"] {
        let output = journey(&["check", "--format", "sarif", target]);
        let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let problems: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{target}: {problems:#?}");
        assert_eq!(log["version"], "2.1.0");
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let always = stdout(&journey(&["check", "--color", "always", FIXTURE]));
    assert!(always.contains("\u{1b}["), "--color always must colour");
    let never = stdout(&journey(&["check", "--color", "never", FIXTURE]));
    assert!(!never.contains("\u{1b}["));
    // Not a terminal (captured output): auto means no colour.
    let auto = stdout(&journey(&["check", FIXTURE]));
    assert!(!auto.contains("\u{1b}["));
    let no_color = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args(["check", FIXTURE])
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&no_color).contains("\u{1b}["));
}

#[test]
fn a_missing_import_is_reported_at_the_import() {
    let dir = temp_dir("imports");
    std::fs::write(dir.join("main.journey"), "import \"lib/missing.journey\"\n").unwrap();
    let output = journey(&[
        "check",
        "--color",
        "never",
        &dir.join("main.journey").to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("[J0005] Error: cannot import `lib/missing.journey`"),
        "{text}"
    );
    assert!(text.contains("no such file or folder"), "{text}");
}

#[test]
fn explain_prints_the_error_index_section() {
    for spelling in ["J0102", "j0102", "102", "unknown-field"] {
        let output = journey(&["explain", spelling]);
        assert_eq!(output.status.code(), Some(0));
        let text = stdout(&output);
        assert!(
            text.starts_with("## J0102: unknown-field"),
            "{spelling}: {text}"
        );
        assert!(text.contains("```journey,J0102"));
        assert!(!text.contains("## J0103"), "only one section");
    }
}

#[test]
fn very_long_expressions_do_not_crash_the_binary() {
    let dir = temp_dir("long");
    let terms = vec!["1"; 20_000].join(" + ");
    std::fs::write(
        dir.join("long.journey"),
        format!("segment s where {terms} > 0\n"),
    )
    .unwrap();
    let output = journey(&["check", &dir.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// Whether Graphviz `dot` is installed (an executable `dot` in a folder of PATH).
fn graphviz_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("dot").is_file()))
}

#[test]
fn graph_prints_a_mermaid_flowchart_by_default() {
    let output = journey(&["graph", "journeys/10_abandoned_cart.journey"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("\nflowchart TD\n"), "{text}");
    assert!(
        text.contains("title: \"Carrello abbandonato (abandoned_cart)\""),
        "{text}"
    );
    assert!(text.contains("send email cart_reminder_email"), "{text}");
    assert!(
        text.contains("subgraph exit_rules[\"exit rules\"]"),
        "{text}"
    );
}

#[test]
fn graph_format_dot_prints_a_digraph() {
    let output = journey(&[
        "graph",
        "--format",
        "dot",
        "journeys/10_abandoned_cart.journey",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("digraph \"journey_abandoned_cart\" {"),
        "{text}"
    );
    assert!(text.trim_end().ends_with('}'), "{text}");
}

#[test]
fn graph_of_a_folder_draws_every_journey_or_the_one_asked_for() {
    let all = stdout(&journey(&["graph", "journeys"]));
    assert_eq!(all.matches("\nflowchart TD\n").count(), 13, "{all}");
    let one = journey(&["graph", "journeys", "--journey", "reactivation"]);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let text = stdout(&one);
    assert_eq!(text.matches("\nflowchart TD\n").count(), 1, "{text}");
    assert!(text.contains("wait up to 7 days"), "{text}");
}

#[test]
fn graph_of_an_unknown_journey_exits_2_and_lists_the_known_ones() {
    let output = journey(&["graph", "journeys", "--journey", "abandoned_carts"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("error: no journey named `abandoned_carts` in the given files"),
        "{text}"
    );
    assert!(
        text.contains("`abandoned_cart`") && text.contains("`welcome_series`"),
        "{text}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn graph_of_files_with_errors_prints_the_report_and_exits_1() {
    let output = journey(&["graph", FIXTURE]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).is_empty(),
        "no diagram: {}",
        stdout(&output)
    );
    let text = stderr(&output);
    assert!(
        text.contains("[J0102] Error: `subscribed` has no field `sorce`"),
        "{text}"
    );
    assert!(
        text.contains("checked 2 files: 1 error, 1 warning"),
        "{text}"
    );
}

#[test]
fn graph_writes_to_the_output_file() {
    let dir = temp_dir("graph-output");
    let path = dir.join("cart.mmd");
    let output = journey(&[
        "graph",
        "journeys/10_abandoned_cart.journey",
        "--output",
        &path.to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("\nflowchart TD\n"), "{written}");
}

#[test]
fn graph_svg_is_drawn_by_graphviz_when_installed() {
    let output = journey(&[
        "graph",
        "--format",
        "svg",
        "journeys/10_abandoned_cart.journey",
    ]);
    if graphviz_installed() {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stdout(&output).contains("<svg"), "{}", stdout(&output));
    } else {
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).contains("needs the Graphviz `dot` program"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn graph_svg_without_graphviz_says_what_to_do() {
    // An empty PATH: `dot` cannot be found, whatever is installed.
    let empty = temp_dir("no-graphviz");
    let output = Command::new(env!("CARGO_BIN_EXE_journey"))
        .args([
            "graph",
            "--format",
            "svg",
            "journeys/10_abandoned_cart.journey",
        ])
        .current_dir(repo())
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("`--format svg` needs the Graphviz `dot` program"),
        "{text}"
    );
    assert!(text.contains("`--format dot`"), "{text}");
    assert!(stdout(&output).is_empty());
}

#[test]
fn graph_svg_of_several_journeys_asks_for_one() {
    let output = journey(&["graph", "--format", "svg", "journeys"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("`--journey NAME`"), "{text}");
    assert!(text.contains("`reactivation`"), "{text}");
}
