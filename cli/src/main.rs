//! The `journey` command: the shell around the compiler. It reads files, picks the output
//! format, and turns results into exit codes (0 clean, 1 problems found, 2 usage or I/O error).

mod build;
mod check;
mod compile;
mod deploy;
mod disasm;
mod event;
mod explain;
mod files;
mod graph;
mod inspect;
mod plan;
mod run;
mod simulate;
mod test;

use std::process::ExitCode;

/// mimalloc instead of the system allocator: stepping, rendering and storing allocate and free
/// many small and some large buffers per event, where glibc's allocator spends a third of the
/// writer's time (measured with `perf` during a burst of timers). Built with `no_thp`: mimalloc
/// otherwise asks for transparent huge pages, and the kernel then zeroes 2 MiB at a time as the
/// allocator reuses its memory, a quarter of the CPU of a burst of timers (`docs/performance.md`,
/// run L).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};

/// Check, test, simulate and run customer journeys.
#[derive(Parser)]
#[command(name = "journey", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check journey files for errors and warnings (folders are searched for *.journey files).
    Check(check::Args),
    /// Compile every journey to a bytecode file, `DIR/<journey>.jbc` (default DIR: `build/`).
    Build(build::Args),
    /// Print the readable listing of compiled journeys (`.jbc` files or journey sources).
    Disasm(disasm::Args),
    /// Print the long explanation of a diagnostic code, e.g. `journey explain J0102`.
    Explain {
        /// The code (`J0102`, `0102` or `unknown-field`).
        code: String,
    },
    /// Draw each journey as a diagram: Mermaid (default), Graphviz DOT, or SVG via `dot`.
    Graph(graph::Args),
    /// Run the journeys for real: store, HTTP ingest, timers and email delivery.
    Run(run::Args),
    /// Send events to a running `journey run`.
    #[command(subcommand)]
    Event(event::Command),
    /// Show what deploying the journey folder would change in the running deployment.
    Plan(plan::Args),
    /// Make a running `journey run` compile its journey folder again and deploy it.
    Deploy(deploy::Args),
    /// Read the data folder of a stopped `journey run`: journeys, customers, timers, outbox.
    Inspect(inspect::Args),
    /// Run journeys over a scenario on a virtual clock and print what each customer receives.
    Simulate(simulate::Args),
    /// Run the tests written next to journeys (`*.test.toml`).
    Test(test::Args),
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Reports with source excerpts, for people.
    Human,
    /// A JSON document (schema version 1, see docs/cli.md).
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// GitHub Actions annotations.
    Github,
}

/// When to colour human output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Disasm(args) => disasm::run(&args),
        Command::Explain { code } => explain::run(&code),
        Command::Graph(args) => graph::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Event(command) => event::run(&command),
        Command::Plan(args) => plan::run(&args),
        Command::Deploy(args) => deploy::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Test(args) => test::run(&args),
    }
}
