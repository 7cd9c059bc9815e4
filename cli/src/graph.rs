//! `journey graph`: draws each journey of the given files as a diagram: Mermaid (the default),
//! Graphviz DOT, or SVG through the `dot` program when it is installed.
//!
//! The files are checked first: a program with errors is not drawn, its diagnostics are printed
//! (on stderr, so that stdout only ever carries diagrams) and the exit code is 1.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use journey_compiler::diagnostics::Severity;
use journey_compiler::graph::{self, Graph};

use crate::ColorChoice;
use crate::check::{self, usage_error};
use crate::files::{self, DiskLoader};

/// Arguments of `journey graph`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders (folders are searched for *.journey). Default: the current folder.
    paths: Vec<PathBuf>,
    /// Draw only the journey with this name.
    #[arg(long, value_name = "NAME")]
    journey: Option<String>,
    /// Diagram format.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
    /// Write the diagram to this file instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
}

/// How diagrams are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart, drawn by GitHub, GitLab and most wikis.
    Mermaid,
    /// Graphviz DOT source.
    Dot,
    /// An SVG picture, drawn by Graphviz `dot` (must be installed).
    Svg,
}

/// Checks the files, draws their journeys and returns the exit code.
pub fn run(args: &Args) -> ExitCode {
    let sources = match check::read_sources(&args.paths) {
        Ok(sources) => sources,
        Err(message) => return usage_error(&message),
    };
    let n_files = sources.len();
    let drawn = check::on_big_stack(move || {
        let checked = journey_compiler::check_files(sources, &DiskLoader);
        let graphs = if checked.count(Severity::Error) == 0 {
            graph::program(&checked)
        } else {
            Vec::new()
        };
        (checked, graphs)
    });
    let (checked, graphs) = match drawn {
        Ok(drawn) => drawn,
        Err(message) => return usage_error(&message),
    };
    if checked.count(Severity::Error) > 0 {
        // The report of `journey check`, on stderr: stdout only ever carries diagrams.
        let color = check::color_for(ColorChoice::Auto, std::io::stderr().is_terminal());
        eprint!("{}", check::human_report(&checked, n_files, color));
        return ExitCode::from(1);
    }
    let selected: Vec<&Graph> = match &args.journey {
        Some(name) => {
            let matching: Vec<&Graph> = graphs.iter().filter(|g| &g.name == name).collect();
            if matching.is_empty() {
                return usage_error(&unknown_journey(name, &graphs));
            }
            matching
        }
        None => graphs.iter().collect(),
    };
    if selected.is_empty() {
        return usage_error("the given files declare no journey");
    }
    let output = match args.format {
        Format::Mermaid => join(&selected, graph::mermaid::render),
        Format::Dot => join(&selected, graph::dot::render),
        Format::Svg => {
            if let [only] = selected.as_slice() {
                match svg(&graph::dot::render(only)) {
                    Ok(svg) => svg,
                    Err(message) => return usage_error(&message),
                }
            } else {
                return usage_error(&format!(
                    "an SVG file holds one picture, and {} journeys were found: pick one with `--journey NAME` ({})",
                    selected.len(),
                    names(&graphs)
                ));
            }
        }
    };
    match &args.output {
        Some(path) => match std::fs::write(path, output.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => usage_error(&format!(
                "cannot write `{}`: {}",
                path.display(),
                files::plain(&error)
            )),
        },
        None => {
            if let Err(code) = crate::compile::write_stdout(&output) {
                return code;
            }
            ExitCode::SUCCESS
        }
    }
}

/// Several diagrams, one after another, separated by a blank line.
fn join(graphs: &[&Graph], render: fn(&Graph) -> String) -> String {
    graphs
        .iter()
        .map(|graph| render(graph))
        .collect::<Vec<_>>()
        .join("\n")
}

fn names(graphs: &[Graph]) -> String {
    let names: Vec<String> = graphs.iter().map(|g| format!("`{}`", g.name)).collect();
    format!("the journeys are {}", names.join(", "))
}

fn unknown_journey(name: &str, graphs: &[Graph]) -> String {
    if graphs.is_empty() {
        format!("no journey named `{name}`: the given files declare no journey")
    } else {
        format!(
            "no journey named `{name}` in the given files; {}",
            names(graphs)
        )
    }
}

/// Runs Graphviz `dot -Tsvg` on the DOT text.
fn svg(dot_text: &str) -> Result<String, String> {
    let Some(program) = find_on_path("dot") else {
        return Err(
            "`--format svg` needs the Graphviz `dot` program, which was not found on \
             PATH: install Graphviz (for example `apt-get install graphviz` or \
             `brew install graphviz`), or use `--format dot` and draw the diagram elsewhere"
                .to_string(),
        );
    };
    let failed =
        |reason: String| format!("Graphviz `dot` ({}) failed: {reason}", program.display());
    let mut child = Command::new(&program)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| failed(error.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot_text.as_bytes())
            .map_err(|error| failed(error.to_string()))?;
    }
    let result = child
        .wait_with_output()
        .map_err(|error| failed(error.to_string()))?;
    if !result.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&result.stderr).trim().to_string(),
        ));
    }
    String::from_utf8(result.stdout).map_err(|_| failed("its output is not UTF-8".to_string()))
}

/// The first executable file called `name` in a folder of PATH.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| [dir.join(name), dir.join(format!("{name}.exe"))])
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}
