//! End-to-end tests of the `journey` binary: exit codes, every output format, colours,
//! imports, `explain`, and SARIF validated against the official 2.1.0 schema.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod crash;
mod operate;
mod run;

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

/// The `.jbc` files of a folder, sorted.
fn jbc_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jbc"))
        .collect();
    found.sort();
    found
}

#[test]
fn build_writes_one_bytecode_file_per_journey() {
    let out = temp_dir("build");
    let output = journey(&["build", "journeys/", "--out", &out.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let files = jbc_files(&out);
    assert_eq!(files.len(), 13, "{files:?}");
    assert!(out.join("abandoned_cart.jbc").is_file());
    let text = stdout(&output);
    assert!(
        text.ends_with(&format!("built 13 journeys into {}/\n", out.display())),
        "{text}"
    );
    // One line per journey: name, short hash, size, instructions.
    let line = text
        .lines()
        .find(|line| line.starts_with("abandoned_cart "))
        .unwrap();
    let size = std::fs::metadata(out.join("abandoned_cart.jbc"))
        .unwrap()
        .len();
    assert!(line.contains(" bytes  "), "{line}");
    assert!(line.ends_with(" instructions"), "{line}");
    let digits: String = line
        .split("  ")
        .map(str::trim)
        .find(|part| part.ends_with(" bytes"))
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(digits, size.to_string(), "{line}");
    // No temporary files are left behind.
    let leftovers = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(leftovers, 13);

    // The same sources give the same bytes.
    let again = journey(&["build", "journeys/", "--out", &out.to_string_lossy()]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stdout(&again), text);
}

#[test]
fn disasm_lists_a_bytecode_file() {
    let out = temp_dir("disasm");
    let built = journey(&["build", "journeys/", "--out", &out.to_string_lossy()]);
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    let file = out.join("abandoned_cart.jbc");
    let output = journey(&["disasm", &file.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("journey abandoned_cart \"Carrello abbandonato\"\n"),
        "{text}"
    );
    assert!(text.contains("\n  hash       "), "{text}");
    assert!(text.contains("\ncode\n"), "{text}");
    // The hash is the one `build` printed.
    let short = stdout(&built)
        .lines()
        .find(|line| line.starts_with("abandoned_cart "))
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    assert!(text.contains(&format!("  hash       {short}")), "{text}");

    // The same listing, compiled in memory from the sources.
    let from_sources = journey(&["disasm", "journeys", "--journey", "abandoned_cart"]);
    assert_eq!(
        from_sources.status.code(),
        Some(0),
        "{}",
        stderr(&from_sources)
    );
    assert_eq!(stdout(&from_sources), text);

    // Several programs are separated by a blank line.
    let two = journey(&[
        "disasm",
        &file.to_string_lossy(),
        &out.join("birthday.jbc").to_string_lossy(),
    ]);
    assert_eq!(two.status.code(), Some(0));
    assert!(
        stdout(&two).contains("\n\njourney birthday"),
        "{}",
        stdout(&two)
    );
}

#[test]
fn disasm_of_an_unknown_journey_exits_2_and_lists_the_known_ones() {
    let output = journey(&["disasm", "journeys", "--journey", "abandoned_carts"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("no journey named `abandoned_carts`"),
        "{text}"
    );
    assert!(text.contains("`abandoned_cart`"), "{text}");
    assert!(stdout(&output).is_empty());
}

#[test]
fn disasm_of_a_corrupt_bytecode_file_exits_2() {
    let out = temp_dir("corrupt");
    let built = journey(&["build", "journeys/", "--out", &out.to_string_lossy()]);
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    let file = out.join("birthday.jbc");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let output = journey(&["disasm", &file.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.starts_with(&format!("error: {}: ", file.display())),
        "{text}"
    );
    assert!(text.contains("is corrupt"), "{text}");
    assert!(stdout(&output).is_empty());
}

#[test]
fn disasm_of_a_text_file_named_jbc_exits_2() {
    let dir = temp_dir("not-bytecode");
    let file = dir.join("shop.jbc");
    std::fs::copy(repo().join("journeys/shop.journey"), &file).unwrap();
    let output = journey(&["disasm", &file.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("not a journey bytecode file"), "{text}");
    assert!(text.contains("`journey build`"), "{text}");
}

#[test]
fn build_of_a_broken_journey_exits_1_and_writes_nothing() {
    let dir = temp_dir("build-broken");
    std::fs::write(
        dir.join("a.journey"),
        "journey a {\n  when subscribed\n  every time\n  send email missing\n}\n",
    )
    .unwrap();
    let out = dir.join("out");
    let output = journey(&[
        "build",
        "--color",
        "never",
        &dir.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    // The report of `journey check`.
    let text = stdout(&output);
    assert!(
        text.contains("[J0103] Error: unknown template `missing`"),
        "{text}"
    );
    assert!(
        text.contains("checked 1 file: 1 error, 0 warnings"),
        "{text}"
    );
    assert!(!text.contains("built"), "{text}");
    assert!(!out.exists(), "nothing is written");
    // `disasm` of the same sources refuses too, with the report on stderr.
    let output = journey(&["disasm", "--journey", "a", &dir.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty());
    assert!(stderr(&output).contains("[J0103]"), "{}", stderr(&output));
}

#[test]
fn build_prints_warnings_and_still_builds() {
    let dir = temp_dir("build-warnings");
    std::fs::write(
        dir.join("a.journey"),
        "journey a {\n  when subscribed\n  send email hello\n}\ntemplate hello: email transactional {\n  subject \"Ciao\"\n  body \"Benvenuto\"\n}\n",
    )
    .unwrap();
    let out = dir.join("out");
    let output = journey(&[
        "build",
        "--color",
        "never",
        &dir.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("[J0307] Warning"), "{text}");
    assert!(text.contains("built 1 journey into "), "{text}");
    assert!(out.join("a.jbc").is_file());
}

// ---------------------------------------------------------------- simulate and test

#[test]
fn the_shipped_journey_tests_pass() {
    let output = journey(&["test", "journeys/"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(out.contains("test result: ok."), "{out}");
    // Every journey has tests next to it.
    for n in 1..=13 {
        assert!(
            out.contains(&format!("journeys/{n:02}_")),
            "no tests for journey {n:02}:\n{out}"
        );
    }
}

#[test]
fn a_failing_test_exits_1_and_points_at_the_expectation() {
    let dir = temp_dir("failing-test");
    let test = dir.join("reply.test.toml");
    std::fs::write(
        &test,
        format!(
            r#"journeys = ["{root}/journeys/13_support_auto_reply.journey", "{root}/journeys/shop.journey"]

[customer]
id = "giulia"
email = "giulia@example.it"
time_zone = "Europe/Rome"
locale = "it-IT"

[[test]]
name = "the reply"
start = "2026-11-23 10:00"

[[test.events]]
at = "+0h"
event = "support_request"
data = {{ ticket_id = "T-1", subject = "Reso", channel = "email", max_response_hours = 24 }}

[[test.expect]]
sent = "support_auto_reply_email"
at = "+2h"
"#,
            root = repo().display()
        ),
    )
    .unwrap();
    let output = journey(&["test", test.to_str().unwrap()]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("[J0602] Error: `support_auto_reply_email` was sent, but not as expected"),
        "{out}"
    );
    assert!(out.contains("reply.test.toml:18:1"), "{out}");
    assert!(
        out.contains("sent at 2026-11-23 10:00 CET, expected at 2026-11-23 12:00 CET"),
        "{out}"
    );
    assert!(
        out.contains("test result: FAILED. 0 passed, 1 failed"),
        "{out}"
    );
}

#[test]
fn test_without_test_files_exits_2() {
    let dir = temp_dir("no-tests");
    let output = journey(&["test", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no test files (*.test.toml)"));
}

#[test]
fn simulate_prints_a_timeline_in_the_customers_zone() {
    let output = journey(&[
        "simulate",
        "journeys/",
        "--scenario",
        "journeys/scenarios/black_friday.toml",
    ]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("2026-11-23 20:10 CET  giulia  abandoned_cart"),
        "{out}"
    );
    assert!(
        out.contains("deferred: `cart_reminder_email` held until 2026-11-24 08:00: quiet hours"),
        "{out}"
    );
    assert!(
        out.contains("subject: Grazie! Il tuo ordine A-2001 è confermato"),
        "{out}"
    );
    assert!(out.contains("0 runtime errors"), "{out}");
}

#[test]
fn simulate_json_lists_every_effect() {
    let output = journey(&[
        "simulate",
        "journeys/",
        "--scenario",
        "journeys/scenarios/black_friday.toml",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["version"], 1);
    let entries = document["entries"].as_array().unwrap();
    let sends: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["effect"]["effect"] == "send")
        .collect();
    assert!(sends.len() >= 10, "{}", sends.len());
    assert!(sends.iter().all(|s| {
        s["effect"]["message_id"]
            .as_str()
            .unwrap()
            .ends_with("@caffearoma.it>")
    }));
    assert!(sends.iter().any(|s| {
        s["effect"]["html"]
            .as_str()
            .unwrap_or("")
            .contains("<!DOCTYPE html>")
    }));
}

#[test]
fn simulate_reports_a_broken_scenario_at_its_place() {
    let dir = temp_dir("broken-scenario");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, "start = \"23/11/2026\"\n").unwrap();
    let output = journey(&[
        "simulate",
        "journeys/",
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("[J0601]") && err.contains("`23/11/2026` is not a time"),
        "{err}"
    );
}
