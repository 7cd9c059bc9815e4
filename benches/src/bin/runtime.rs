//! The durable runtime's benchmark (issue 5, item 9): `cargo run --release -p journey-bench --bin
//! runtime [-- options]`. It drives the real binary, `target/release/journey run journeys/`, as
//! a separate process on temporary data folders, with the file transport, over HTTP, and prints
//! figures with their targets (see `docs/performance.md`, "The durable runtime"):
//!
//! 1. F: the disk's `fdatasync` rate (small writes, each synced), in the data's filesystem;
//! 2. C: sled 0.34's ceiling: batches shaped like one event's writes, applied without a flush;
//! 3. durable events/s with 64 concurrent keep-alive clients posting single `cart_abandoned`
//!    events, and the ack latency;
//! 4. event → message in the outbox (`order_placed` → the order confirmation's `.eml`);
//! 5. timer firings/s and lateness with many timers due at one instant;
//! 6. bytes on disk and peak RSS with 1,000,000 customers waiting;
//! 7. the restart after `kill -9` with them waiting;
//! 8. timer lateness with timers falling due steadily among as many events;
//! 9. measure 5's burst while other customers' profiles are put at 200/s: their ack latency.
//!
//! Build the binary first: `cargo build --release -p journey`.
//!
//! Options: `--quick` (small counts, for trying out), `--waiting N` (default 1,000,000),
//! `--events N` (measure 3, default 20,000), `--outbox N` and `--outbox-rate R` (measure 4,
//! default 1,000 at 50/s), `--timers N` (measure 5, default 20,000), `--steady N` and
//! `--steady-rate R` (measure 8, default 20,000 at 1,000/s), `--speed S` (measure 5's clock,
//! default 3,600), `--steady-speed S` (measure 8's, default 1,440), `--clients N` (default 64), `--only DIGITS` (e.g. `--only 123`; 6 and 7
//! run together), `--dir PATH` (where the temporary folders go, default the system's temporary
//! folder), `--binary PATH`, `--keep` (keep the data folders), `--compressed` (`journey run` with
//! `[store] compression = true`), `--memory` (`journey run` with `[store] backend = "memory"`: the
//! same measures without sled and without durability, to weigh the store's share; not with 6
//! and 7). `--breakdown DATA N` only prints
//! what the store of a stopped data folder holds, table by table, per customer of `N`.

#[path = "runtime/disk.rs"]
mod disk;
#[path = "runtime/http.rs"]
mod http;
#[path = "runtime/load.rs"]
mod load;
#[path = "runtime/measures.rs"]
mod measures;
#[path = "runtime/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use server::Setup;

/// A failure, said plainly.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Error {
        Error(error.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error(format!("unexpected JSON: {error}"))
    }
}

impl From<journey_runtime::store::Error> for Error {
    fn from(error: journey_runtime::store::Error) -> Error {
        Error(error.message)
    }
}

/// The command line.
#[derive(Clone)]
pub struct Options {
    /// Customers left waiting for measures 6 and 7.
    pub waiting: usize,
    /// Events timed in measure 3.
    pub events: usize,
    /// Events timed in measure 4.
    pub outbox: usize,
    /// Their rate, a second.
    pub outbox_rate: f64,
    /// Timers due at one instant in measure 5.
    pub timers: usize,
    /// Customers in measure 8.
    pub steady: usize,
    /// Their events a second.
    pub steady_rate: f64,
    /// Measure 5's clock speed.
    pub speed: u32,
    /// Measure 8's clock speed.
    pub steady_speed: u32,
    /// Concurrent clients.
    pub clients: usize,
    /// Which measures run.
    pub only: String,
    /// Where the temporary folders go.
    pub dir: PathBuf,
    /// The `journey` binary.
    pub binary: PathBuf,
    /// Keep the data folders.
    pub keep: bool,
    /// Run `journey run` with `[store] compression = true`.
    pub compressed: bool,
    /// Run `journey run` with `[store] backend = "memory"`.
    pub memory: bool,
    /// Seconds for each of F and C.
    pub seconds: f64,
    /// Only print what a stopped data folder's store holds, table by table, for this many
    /// customers.
    pub breakdown: Option<(PathBuf, usize)>,
}

/// The repository (the parent of `benches/`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, Error> {
        let mut options = Options {
            waiting: 1_000_000,
            events: 20_000,
            outbox: 1_000,
            outbox_rate: 50.0,
            timers: 20_000,
            steady: 20_000,
            steady_rate: 1_000.0,
            speed: 3_600,
            steady_speed: 1_440,
            clients: 64,
            only: "123456789".to_string(),
            dir: std::env::temp_dir(),
            binary: repo().join("target/release/journey"),
            keep: false,
            compressed: false,
            memory: false,
            seconds: 4.0,
            breakdown: None,
        };
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| Error(format!("{arg} needs a value")))
            };
            let number = |text: String| {
                text.replace(['_', ','], "")
                    .parse::<usize>()
                    .map_err(|_| Error(format!("{arg}: not a number: {text}")))
            };
            match arg.as_str() {
                "--quick" => {
                    options.waiting = 20_000;
                    options.events = 2_000;
                    options.outbox = 200;
                    options.timers = 2_000;
                    options.steady = 2_000;
                    options.steady_rate = 500.0;
                    options.seconds = 2.0;
                }
                "--waiting" => options.waiting = number(value()?)?,
                "--events" => options.events = number(value()?)?,
                "--outbox" => options.outbox = number(value()?)?,
                "--outbox-rate" => options.outbox_rate = number(value()?)?.max(1) as f64,
                "--timers" => options.timers = number(value()?)?,
                "--steady" => options.steady = number(value()?)?,
                "--steady-rate" => options.steady_rate = number(value()?)?.max(1) as f64,
                "--speed" => {
                    options.speed = u32::try_from(number(value()?)?.max(1))
                        .map_err(|_| Error("--speed is too large".to_string()))?;
                }
                "--steady-speed" => {
                    options.steady_speed = u32::try_from(number(value()?)?.max(1))
                        .map_err(|_| Error("--steady-speed is too large".to_string()))?;
                }
                "--clients" => options.clients = number(value()?)?.max(1),
                "--only" => options.only = value()?,
                "--dir" => options.dir = PathBuf::from(value()?),
                "--binary" => options.binary = PathBuf::from(value()?),
                "--keep" => options.keep = true,
                "--compressed" => options.compressed = true,
                "--memory" => options.memory = true,
                "--breakdown" => {
                    let folder = PathBuf::from(value()?);
                    options.breakdown = Some((folder, number(value()?)?));
                }
                other => {
                    return Err(Error(format!(
                        "unknown option {other} (see the source's doc comment)"
                    )));
                }
            }
        }
        Ok(options)
    }
}

/// One line of the final table.
pub struct Figure {
    name: String,
    value: String,
    target: String,
    met: Option<bool>,
}

impl Figure {
    /// A figure with its target and whether it is met (`None`: no target).
    pub fn new(name: &str, value: String, target: String, met: Option<bool>) -> Figure {
        Figure {
            name: name.to_string(),
            value,
            target,
            met,
        }
    }
}

/// What the measures share.
pub struct Context {
    /// The binary and the journeys.
    pub setup: Setup,
    /// The temporary folder of this run.
    pub work: PathBuf,
    /// The command line.
    pub options: Options,
    /// The figures so far.
    pub figures: Vec<Figure>,
    /// F, once measured.
    pub fsync: Option<f64>,
    /// C, once measured.
    pub ceiling: Option<f64>,
}

/// A number with thousands separators, rounded.
pub fn int(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (idx, digit) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < -0.5 {
        out.insert(0, '-');
    }
    out
}

/// Milliseconds, with a decimal below 10 ms.
pub fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{} ms", int(ms))
    }
}

/// Bytes in MB or GiB.
pub fn bytes(value: f64) -> String {
    if value >= f64::from(1u32 << 30) {
        format!("{:.2} GiB", value / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MB", value / 1e6)
    }
}

/// The machine and the moment, printed first.
fn machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(String::new(), |kb| {
            format!(", {:.0} GiB", kb / 1024.0 / 1024.0)
        });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "journey runtime benchmark, {} (UTC)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    println!(
        "machine: {model}, {cores} cores{memory}; load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// The binary and the journeys, or what to do.
fn setup(options: &Options) -> Result<Setup, Error> {
    if !options.binary.is_file() {
        return Err(Error(format!(
            "the release binary is missing: {}\nbuild it first: cargo build --release -p journey",
            options.binary.display()
        )));
    }
    if options.memory && (options.only.contains('6') || options.only.contains('7')) {
        return Err(Error(
            "measures 6 and 7 weigh the store on disk: leave out --memory, or pick others with --only"
                .to_string(),
        ));
    }
    Ok(Setup {
        binary: options.binary.clone(),
        journeys: repo().join("journeys"),
        compressed: options.compressed,
        memory: options.memory,
    })
}

/// Measures 1 and 2: F and C, in the data's filesystem.
fn ceilings(ctx: &mut Context) -> Result<(), Error> {
    let time = Duration::from_secs_f64(ctx.options.seconds);
    if ctx.options.only.contains('1') {
        let append = disk::fdatasync_rate(&ctx.work, time, true)?;
        let in_place = disk::fdatasync_rate(&ctx.work, time, false)?;
        println!(
            "1. F: 512-byte writes each followed by fdatasync, {:.0} s each, in {}: appending {} /s, rewriting in place {} /s",
            ctx.options.seconds,
            ctx.work.display(),
            int(append),
            int(in_place)
        );
        let f = append.max(in_place);
        ctx.fsync = Some(f);
        ctx.figures.push(Figure::new(
            "F: fdatasync/s (the faster of appending and in place)",
            format!("{} /s", int(f)),
            "(reference)".to_string(),
            None,
        ));
    }
    if ctx.options.only.contains('2') {
        let ceiling = disk::sled_ceiling(&ctx.work.join("ceiling"), time, 60, 25)?;
        println!(
            "2. C: sled apply_batch of one event's writes (state 60 B and audit record 25 B as compressed, processed key, timer index entry: {} B), no flush: {} batches/s",
            ceiling.batch_bytes,
            int(ceiling.rate)
        );
        println!(
            "   for comparison, each batch followed by the runtime's sync (Sled::sync: sled's flush, then fdatasync of its log; {} files in the store): {} commits/s",
            ceiling.files,
            int(ceiling.commits)
        );
        ctx.ceiling = Some(ceiling.rate);
        ctx.figures.push(Figure::new(
            "C: sled batches/s, one event's writes, unflushed",
            format!("{} /s", int(ceiling.rate)),
            "(reference)".to_string(),
            None,
        ));
    }
    Ok(())
}

/// Prints the table of figures.
fn table(figures: &[Figure]) {
    let width = figures
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(10);
    let value_width = figures
        .iter()
        .map(|f| f.value.chars().count())
        .max()
        .unwrap_or(10);
    let target_width = figures
        .iter()
        .map(|f| f.target.chars().count())
        .max()
        .unwrap_or(10);
    println!();
    for figure in figures {
        let met = match figure.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        println!(
            "{:width$}  {:>value_width$}  {:target_width$}  {met}",
            figure.name, figure.value, figure.target
        );
    }
}

async fn run(options: Options) -> Result<(), Error> {
    if let Some((folder, customers)) = &options.breakdown {
        return measures::print_breakdown(&folder.join("store"), *customers);
    }
    let setup = setup(&options)?;
    let work = options
        .dir
        .join(format!("journey-bench-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    machine();
    if options.memory {
        println!(
            "store: in memory (--memory): nothing is written to disk and nothing is durable; the figures weigh the rest of the system, not the product"
        );
    }
    let mut ctx = Context {
        setup,
        work: work.clone(),
        options,
        figures: Vec::new(),
        fsync: None,
        ceiling: None,
    };
    if let Err(error) = ceilings(&mut ctx) {
        println!("F/C failed: {error}");
    }
    let only = ctx.options.only.clone();
    if only.contains('3') {
        println!("3. durable events over HTTP");
        if let Err(error) = measures::durable_events(&mut ctx).await {
            println!("  failed: {error}");
        }
    }
    if only.contains('4') {
        println!("4. event → message in the outbox");
        if let Err(error) = measures::event_to_outbox(&mut ctx).await {
            println!("  failed: {error}");
        }
    }
    if only.contains('5') {
        println!("5. timers due at one instant");
        if let Err(error) = measures::timers(&mut ctx).await {
            println!("  failed: {error}");
        }
    }
    if only.contains('9') {
        println!("9. profile puts while timers due at one instant fire");
        if let Err(error) = measures::writes_during_burst(&mut ctx).await {
            println!("  failed: {error}");
        }
    }
    if only.contains('8') {
        println!("8. timers falling due steadily");
        if let Err(error) = measures::steady_timers(&mut ctx).await {
            println!("  failed: {error}");
        }
    }
    if only.contains('6') || only.contains('7') {
        println!(
            "6, 7. {} waiting customers, kill -9, restart",
            int(ctx.options.waiting as f64)
        );
        if let Err(error) = measures::waiting_customers(&mut ctx).await {
            println!("  failed: {error}");
        }
    }
    table(&ctx.figures);
    if ctx.options.memory {
        println!("(store in memory: the targets hold for the durable store, not for this run)");
    }
    if ctx.options.keep {
        println!("data kept in {}", work.display());
    } else {
        std::fs::remove_dir_all(&work)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
