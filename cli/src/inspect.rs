//! `journey inspect DATA_FOLDER`: reads the data folder of a stopped `journey run` and prints
//! what it holds — the deployed journeys with their versions and customers per step, customers,
//! pending timers, the outbox, dead letters, suppressed addresses, the size of the store — or
//! one customer (`--customer ID`).
//!
//! The store admits one process at a time: while `journey run` uses the folder, this command
//! says so and points to the API instead. It never creates a data folder, and a store it cannot
//! read is an error naming the folder (exit code 2), never a panic. `journey plan --data` reads
//! the deployment through [`running`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use journey_runtime::api::{CustomerView, JourneyView};
use journey_runtime::engine::{stored_library, views};
use journey_runtime::store::{Backend, OutboxRecord, Sled, Store};
use journey_runtime::vm::Library;

use crate::check::usage_error;
use crate::compile::write_stdout;

/// Output of `journey inspect`, `journey plan` and `journey simulate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A report (or a timeline) for people.
    Human,
    /// JSON.
    Json,
}

/// Arguments of `journey inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The data folder of `journey run` (the folder holding `store/`).
    #[arg(value_name = "DATA_FOLDER")]
    data: PathBuf,
    /// Print this customer: profile, place in each journey, decision log (`--format json`: as
    /// `GET /v1/customers/{id}` answers).
    #[arg(long)]
    customer: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// What `inspect` says when `journey run` holds the store.
const IN_USE: &str = "the data folder is in use by a running `journey run`; stop it or use the API (GET /v1/journeys)";

/// Outbox messages listed in the human report (the JSON document lists all).
const OUTBOX_LISTED: usize = 20;

/// Keys read per scan while counting.
const PAGE: usize = 4096;

/// A data folder opened for reading.
pub struct Opened {
    folder: PathBuf,
    backend: Arc<Sled>,
    store: Store,
    library: Library,
}

/// Opens the store of a data folder and the programs it holds. The error is the message to
/// print: no such folder, not a data folder, in use by `journey run`, or unreadable.
pub fn open(folder: &Path) -> Result<Opened, String> {
    if !folder.is_dir() {
        return Err(format!("no data folder at `{}`", folder.display()));
    }
    let store_folder = folder.join("store");
    // Sled keeps its files in `store/db`; opening would create them, so check first.
    if !store_folder.join("db").is_dir() {
        return Err(format!(
            "`{}` is not a data folder of `journey run`: it has no store (`store/`)",
            folder.display()
        ));
    }
    let backend = match Sled::open(&store_folder) {
        Ok(backend) => Arc::new(backend),
        Err(error) if is_locked(&error.message) => return Err(IN_USE.to_string()),
        Err(error) => return Err(unreadable(folder, &error.message)),
    };
    let store = Store::open(Arc::clone(&backend) as Arc<dyn Backend>)
        .map_err(|e| unreadable(folder, &e.message))?;
    let library = stored_library(&store).map_err(|e| unreadable(folder, &e.message))?;
    Ok(Opened {
        folder: folder.to_path_buf(),
        backend,
        store,
        library,
    })
}

/// Whether a store error says another process holds the store's lock.
fn is_locked(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("could not acquire lock")
        || message.contains("wouldblock")
        || message.contains("temporarily unavailable")
}

fn unreadable(folder: &Path, message: &str) -> String {
    format!(
        "cannot read the data folder `{}`: {message}",
        folder.display()
    )
}

impl Opened {
    /// The deployed journeys with customers per step (as `GET /v1/journeys` shows them).
    pub fn journeys(&self) -> Result<Vec<JourneyView>, String> {
        views::journeys(&self.store, &self.library).map_err(|e| self.error(&e.to_string()))
    }

    fn error(&self, message: &str) -> String {
        unreadable(&self.folder, message)
    }

    /// Keys of one table, counted a page at a time.
    fn count(&self, prefix: u8) -> Result<u64, String> {
        let mut start = vec![prefix];
        let mut total = 0u64;
        loop {
            let page = self
                .backend
                .scan(&[prefix], &start, None, PAGE)
                .map_err(|e| self.error(&e.message))?;
            total += page.len() as u64;
            match page.last() {
                Some((key, _)) if page.len() == PAGE => {
                    // The next key after `key` in byte order.
                    start = key.clone();
                    start.push(0);
                }
                _ => return Ok(total),
            }
        }
    }

    /// Every message waiting in the outbox, in order.
    fn outbox(&self) -> Result<Vec<(u64, OutboxRecord)>, String> {
        let mut out = Vec::new();
        let mut from = 0u64;
        loop {
            let page = self
                .store
                .outbox(from, PAGE)
                .map_err(|e| self.error(&e.message))?;
            let full = page.len() == PAGE;
            let last = page.last().map(|(seq, _)| *seq);
            out.extend(page);
            match last {
                Some(seq) if full => from = seq.saturating_add(1),
                _ => return Ok(out),
            }
        }
    }

    fn report(&self) -> Result<Report, String> {
        Ok(Report {
            folder: self.folder.clone(),
            store_bytes: self.store.size_on_disk(),
            journeys: self.journeys()?,
            customers: self.count(b'c')?,
            timers: self.count(b't')?,
            next_wake: self.store.next_wake().map_err(|e| self.error(&e.message))?,
            outbox: self.outbox()?,
            dead_letters: self.count(b'x')?,
            suppressed: self.count(b's')?,
        })
    }
}

/// The deployed journeys of a stopped data folder (for `journey plan --data`).
pub fn running(folder: &Path) -> Result<Vec<JourneyView>, String> {
    open(folder)?.journeys()
}

/// What a data folder holds.
struct Report {
    folder: PathBuf,
    store_bytes: u64,
    journeys: Vec<JourneyView>,
    customers: u64,
    timers: u64,
    next_wake: Option<i64>,
    outbox: Vec<(u64, OutboxRecord)>,
    dead_letters: u64,
    suppressed: u64,
}

/// Runs `journey inspect`.
pub fn run(args: &Args) -> ExitCode {
    let opened = match open(&args.data) {
        Ok(opened) => opened,
        Err(message) => return usage_error(&message),
    };
    if let Some(id) = &args.customer {
        return customer(&opened, id, args.format);
    }
    let report = match opened.report() {
        Ok(report) => report,
        Err(message) => return usage_error(&message),
    };
    let now = now();
    let text = match args.format {
        Format::Human => human(&report, now),
        Format::Json => match serde_json::to_string_pretty(&json(&report)) {
            Ok(text) => format!("{text}\n"),
            Err(error) => return usage_error(&format!("cannot write the report: {error}")),
        },
    };
    match write_stdout(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn customer(opened: &Opened, id: &str, format: Format) -> ExitCode {
    let view = match views::customer(&opened.store, &opened.library, id) {
        Ok(view) => view,
        Err(error) => return usage_error(&opened.error(&error.to_string())),
    };
    let Some(view) = view else {
        eprintln!(
            "error: no customer `{id}` in the data folder `{}`",
            opened.folder.display()
        );
        return ExitCode::from(1);
    };
    let text = match format {
        Format::Human => customer_human(&view, now()),
        Format::Json => match serde_json::to_string_pretty(&view) {
            Ok(text) => format!("{text}\n"),
            Err(error) => return usage_error(&format!("cannot write the customer: {error}")),
        },
    };
    match write_stdout(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// One customer for people: the profile on one line, a line per journey (where they stand,
/// until when), then the decision log.
fn customer_human(view: &CustomerView, now: i64) -> String {
    let mut out = String::new();
    out.push_str(&format!("{:<14}{}\n", "customer", view.id));
    let profile: Vec<String> = view
        .profile
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.as_str() != "id")
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => format!("{name} {text}"),
            other => format!("{name} {other}"),
        })
        .collect();
    let profile = if profile.is_empty() {
        "(empty)".to_string()
    } else {
        profile.join(" · ")
    };
    out.push_str(&format!("{:<14}{profile}\n", "profile"));
    if view.journeys.is_empty() {
        out.push_str(&format!("{:<14}in none\n", "journeys"));
    } else {
        out.push_str("journeys\n");
    }
    let width = view
        .journeys
        .iter()
        .map(|instance| instance.journey.len())
        .max()
        .unwrap_or(0);
    for instance in &view.journeys {
        let until = instance
            .wakes_at
            .as_deref()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| when(at.timestamp(), now));
        let place = match (instance.status.as_str(), until) {
            ("ended", _) => "ended".to_string(),
            ("waiting", until) => format!(
                "waiting for {} at `{}`{}",
                instance.waiting_for.join(" or "),
                instance.step,
                until
                    .map(|at| format!(", at most until {at}"))
                    .unwrap_or_default()
            ),
            (status, Some(at)) => format!("{status} at `{}` until {at}", instance.step),
            (status, None) => format!("{status} at `{}`", instance.step),
        };
        out.push_str(&format!(
            "  {:<width$}  version {}  {place}\n",
            instance.journey, instance.version
        ));
    }
    out.push_str(&format!(
        "{:<14}{}\n",
        "decisions",
        match view.decisions.len() {
            0 => "none".to_string(),
            n => format!("{n}, oldest first"),
        }
    ));
    for decision in &view.decisions {
        let at = chrono::DateTime::parse_from_rfc3339(&decision.at)
            .map_or_else(|_| decision.at.clone(), |at| rfc3339(at.timestamp()));
        let step = decision
            .step
            .as_deref()
            .map(|step| format!(" at `{step}`"))
            .unwrap_or_default();
        // Deliveries belong to no journey.
        let whose = if decision.journey.is_empty() {
            String::new()
        } else {
            format!("{}{step}: ", decision.journey)
        };
        out.push_str(&format!(
            "  {at}  {whose}{} ({})\n",
            decision.kind, decision.why
        ));
    }
    out
}

/// Seconds since the epoch, now.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A time as RFC 3339 in UTC, e.g. `2026-11-23T09:00:00Z` (seconds since the epoch as given
/// if out of chrono's range, which no stored time is).
pub fn rfc3339(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0).map_or_else(
        || format!("{at} s after 1970"),
        |time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// A duration in words, roughly: `3 days 4 hours`, `12 minutes`.
fn span(seconds: i64) -> String {
    let seconds = seconds.unsigned_abs();
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    if days > 0 {
        if hours > 0 {
            format!("{} {}", unit(days, "day"), unit(hours, "hour"))
        } else {
            unit(days, "day")
        }
    } else if hours > 0 {
        if minutes > 0 {
            format!("{} {}", unit(hours, "hour"), unit(minutes, "minute"))
        } else {
            unit(hours, "hour")
        }
    } else if minutes > 0 {
        unit(minutes, "minute")
    } else {
        unit(seconds, "second")
    }
}

/// When, and how far from now.
fn when(at: i64, now: i64) -> String {
    if at > now {
        format!("{} (in {})", rfc3339(at), span(at - now))
    } else {
        format!("{} (due {} ago)", rfc3339(at), span(now - at))
    }
}

/// `N word` or `N words`.
pub fn count(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = "KB";
    for next in UNITS.iter().skip(1) {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

fn customers_in(journey: &JourneyView) -> u64 {
    journey
        .versions
        .iter()
        .flat_map(|v| v.customers_per_step.values())
        .sum()
}

fn human(report: &Report, now: i64) -> String {
    let mut out = String::new();
    let line = |out: &mut String, label: &str, text: &str| {
        out.push_str(&format!("{label:<14}{text}\n"));
    };
    line(
        &mut out,
        "data folder",
        &report.folder.display().to_string(),
    );
    line(
        &mut out,
        "store",
        &format!("{} on disk", bytes(report.store_bytes)),
    );
    let in_journeys: u64 = report.journeys.iter().map(customers_in).sum();
    line(
        &mut out,
        "journeys",
        &format!(
            "{} deployed; customers in them: {in_journeys} (a customer in two journeys counts twice)",
            report.journeys.len()
        ),
    );
    let width = report
        .journeys
        .iter()
        .map(|j| j.name.len())
        .max()
        .unwrap_or(0);
    for journey in &report.journeys {
        for version in &journey.versions {
            let customers: u64 = version.customers_per_step.values().sum();
            let people = if customers == 0 {
                "no customers".to_string()
            } else {
                count(customers, "customer")
            };
            if version.current {
                out.push_str(&format!(
                    "  {:<width$}  version {}  {people}\n",
                    journey.name, version.version
                ));
            } else {
                out.push_str(&format!(
                    "  {:<width$}  older version {} (customers finish on it)  {people}\n",
                    "", version.version
                ));
            }
            for (step, n) in &version.customers_per_step {
                out.push_str(&format!("  {:<width$}    {n:>6}  {step}\n", ""));
            }
        }
    }
    line(&mut out, "customers", &report.customers.to_string());
    let timers = match report.next_wake {
        Some(at) if report.timers > 0 => {
            format!("{} pending, next at {}", report.timers, when(at, now))
        }
        _ => format!("{} pending", report.timers),
    };
    line(&mut out, "timers", &timers);
    line(
        &mut out,
        "outbox",
        &format!("{} waiting", count(report.outbox.len() as u64, "message")),
    );
    for (seq, record) in report.outbox.iter().take(OUTBOX_LISTED) {
        let message = &record.message;
        let to = message
            .to
            .as_deref()
            .map(|to| format!(" to {to}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  #{seq}  {}  {}/{}  {}{to}\n",
            record.customer,
            message.journey,
            message.template,
            message.channel.keyword()
        ));
        let mut status = format!(
            "{}, next attempt {}",
            count(u64::from(record.attempts), "attempt"),
            when(record.next_attempt, now)
        );
        if let Some(error) = &record.last_error {
            status.push_str(&format!(", last error: {error}"));
        }
        out.push_str(&format!("      {status}\n"));
    }
    if report.outbox.len() > OUTBOX_LISTED {
        out.push_str(&format!(
            "  … and {} more (`--format json` lists every one)\n",
            report.outbox.len() - OUTBOX_LISTED
        ));
    }
    line(&mut out, "dead letters", &report.dead_letters.to_string());
    line(
        &mut out,
        "suppressed",
        &format!(
            "{} address{}",
            report.suppressed,
            if report.suppressed == 1 { "" } else { "es" }
        ),
    );
    out
}

fn json(report: &Report) -> serde_json::Value {
    let messages: Vec<serde_json::Value> = report
        .outbox
        .iter()
        .map(|(seq, record)| {
            let message = &record.message;
            serde_json::json!({
                "seq": seq,
                "customer": record.customer,
                "journey": message.journey,
                "template": message.template,
                "channel": message.channel.keyword(),
                "to": message.to,
                "message_id": message.message_id,
                "attempts": record.attempts,
                "next_attempt": rfc3339(record.next_attempt),
                "last_error": record.last_error,
                "queued_at": rfc3339(record.queued_at),
            })
        })
        .collect();
    serde_json::json!({
        "version": 1,
        "data_folder": report.folder.display().to_string(),
        "store_bytes": report.store_bytes,
        "journeys": report.journeys,
        "customers": report.customers,
        "timers": {
            "pending": report.timers,
            "next_wake": report.next_wake.filter(|_| report.timers > 0).map(rfc3339),
        },
        "outbox": { "waiting": messages.len(), "messages": messages },
        "dead_letters": report.dead_letters,
        "suppressed_addresses": report.suppressed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_424_400), "2026-11-23T09:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn spans_are_rough_and_readable() {
        assert_eq!(span(59), "59 seconds");
        assert_eq!(span(3 * 86_400 + 3600 + 5), "3 days 1 hour");
        assert_eq!(span(2 * 3600 + 120), "2 hours 2 minutes");
        assert_eq!(bytes(1536), "1.5 KB");
    }

    #[test]
    fn a_held_lock_is_recognised() {
        assert!(is_locked(
            "cannot open the store in `x`: IO error: could not acquire lock on \"x/db/db\": Os { code: 11, kind: WouldBlock }"
        ));
        assert!(!is_locked("a stored customer cannot be read"));
    }
}
