//! `journey simulate`: runs journeys over a scenario (customers and timed events) on a virtual
//! clock and prints what each customer would receive, when, and why.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use journey_compiler::diagnostics::render;
use journey_compiler::source::SourceMap;
use journey_runtime::vm::Library;
use journey_runtime::{scenario, simulate, testing, timeline};

use crate::compile;
use crate::inspect::Format;

/// Arguments of `journey simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// Journey files or folders (default: the current folder).
    paths: Vec<PathBuf>,
    /// The scenario: customers and timed events (a TOML file, see docs/testing.md).
    #[arg(long)]
    scenario: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Print each message's text under it.
    #[arg(long)]
    messages: bool,
    /// Print when each wait ends.
    #[arg(long)]
    timers: bool,
}

/// Runs the simulation and prints the timeline.
pub fn run(args: &Args) -> ExitCode {
    let color = crate::check::color_for(crate::ColorChoice::Auto, std::io::stderr().is_terminal());
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let programs = match compile::programs(&paths, color) {
        Ok(programs) => programs,
        Err(code) => return code,
    };
    let name = args.scenario.display().to_string();
    let text = match std::fs::read_to_string(&args.scenario) {
        Ok(text) => text,
        Err(error) => {
            eprintln!(
                "error: cannot read `{name}`: {}",
                crate::files::plain(&error)
            );
            return ExitCode::from(2);
        }
    };
    let scenario = match scenario::scenario(&text) {
        Ok(scenario) => scenario,
        Err(error) => {
            let mut sources = SourceMap::new();
            let file = sources.add(name, text);
            let diagnostic = testing::invalid(file, &error);
            eprint!(
                "{}",
                render::terminal::render(&[diagnostic], &sources, color)
            );
            return ExitCode::from(1);
        }
    };
    let library = Library::with(programs);
    let started = std::time::Instant::now();
    let simulator = simulate::run(&library, &scenario);
    let elapsed = started.elapsed();
    let zones = timeline::zones(&simulator.customers);
    let output = match args.format {
        Format::Human => {
            let mut text = timeline::human(
                &simulator.log,
                &zones,
                timeline::Options {
                    messages: args.messages,
                    timers: args.timers,
                },
            );
            let sent = simulator
                .log
                .iter()
                .filter(|e| matches!(e.effect, journey_runtime::vm::Effect::Send(_)))
                .count();
            let errors = simulator
                .log
                .iter()
                .filter(|e| matches!(e.effect, journey_runtime::vm::Effect::Error(_)))
                .count();
            text.push_str(&format!(
                "simulated {} customer{} until {}: {sent} message{} sent, {errors} runtime error{}, {} still waiting ({} steps in {:.1} ms)\n",
                simulator.customers.len(),
                if simulator.customers.len() == 1 { "" } else { "s" },
                timeline::local(scenario.until, scenario.zone),
                if sent == 1 { "" } else { "s" },
                if errors == 1 { "" } else { "s" },
                simulator.still_waiting(),
                simulator.steps,
                elapsed.as_secs_f64() * 1000.0
            ));
            text
        }
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&timeline::json(&simulator.log, &zones))
                .unwrap_or_default();
            text.push('\n');
            text
        }
    };
    if let Err(code) = crate::compile::write_stdout(&output) {
        return code;
    }
    // Runtime errors mean some customer would not get what the journey promises.
    let errors = simulator
        .log
        .iter()
        .any(|e| matches!(e.effect, journey_runtime::vm::Effect::Error(_)));
    if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
