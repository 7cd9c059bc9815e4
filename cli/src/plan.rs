//! `journey plan [JOURNEYS]`: what deploying the journey folder would do, before doing it. It
//! compiles the folder, reads the running deployment — from a running `journey run`
//! (`GET /v1/journeys`) or, with `--data`, from the store of a stopped one — and says for each
//! journey whether it is new, unchanged, replaced by a new version (how many customers its
//! `migrate` lines move, and how many stay on the old one, at which steps) or retired. The
//! folder is compiled for a deploy over what runs, so a `migrate` line that would lose data or
//! move nobody is reported here, before the deploy.
//!
//! Versions are compared by content hash: the first 12 hex digits, as the API shows them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use journey_compiler::bytecode::{KnownValue, MigrationTarget, Program, StepLabel, format};
use journey_compiler::check::migrations::RunningVersion;
use journey_runtime::api::{JourneyList, JourneyView};

use crate::check::usage_error;
use crate::compile::write_stdout;
use crate::inspect::{self, Format, count};

/// Arguments of `journey plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The folder of `.journey` files to deploy (default: `journeys`).
    journeys: Option<PathBuf>,
    /// Where `journey run` listens.
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    url: String,
    /// Read the deployment from this data folder of a stopped `journey run` instead of the API.
    #[arg(long, conflicts_with = "url", value_name = "DATA_FOLDER")]
    data: Option<PathBuf>,
    /// The bearer token (default: the `JOURNEY_TOKEN` environment variable).
    #[arg(long)]
    token: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// One version of a running journey.
struct Version {
    version: String,
    current: bool,
    steps: BTreeMap<String, u64>,
    /// Labelled steps: name, customers there, what they carry.
    labels: Vec<(String, u64, Vec<KnownValue>)>,
}

/// A journey of the folder: name, version, `migrate` lines (old label, new label or exit).
struct Planned {
    name: String,
    version: String,
    migrations: Vec<(String, Option<String>)>,
}

/// Customers one `migrate` line moves.
struct Move {
    from: String,
    to: Option<String>,
    customers: u64,
}

/// A journey of the running deployment.
struct Running {
    name: String,
    versions: Vec<Version>,
}

/// What the deploy would do to one journey.
enum Action {
    /// Not running yet.
    New { version: String },
    /// The same program.
    Unchanged { version: String },
    /// A new version replaces the current one.
    Changed {
        version: String,
        replaces: String,
        steps: BTreeMap<String, u64>,
        /// What the `migrate` lines do (every older version counted).
        moves: Vec<Move>,
        /// Customers of the replaced version that the moves take.
        moved_from_current: u64,
    },
    /// In the deployment, not in the folder.
    Retired { steps: BTreeMap<String, u64> },
}

impl Action {
    fn kind(&self) -> &'static str {
        match self {
            Action::New { .. } => "new",
            Action::Unchanged { .. } => "unchanged",
            Action::Changed { .. } => "changed",
            Action::Retired { .. } => "retired",
        }
    }
}

/// Runs `journey plan`.
pub fn run(args: &Args) -> ExitCode {
    let folder = args
        .journeys
        .clone()
        .unwrap_or_else(|| PathBuf::from("journeys"));
    let (running, against) = match &args.data {
        Some(data) => (
            inspect::running(data).map(|views| views.iter().map(from_view).collect()),
            format!("the data folder {}", data.display()),
        ),
        None => (from_api(&args.url, args.token.as_deref()), args.url.clone()),
    };
    let running = match running {
        Ok(running) => running,
        Err(message) => {
            // Mistakes in the folder come first: they need fixing whatever runs.
            if let Err(code) = crate::compile::programs(std::slice::from_ref(&folder), false) {
                return code;
            }
            return usage_error(&message);
        }
    };
    let programs = match crate::compile::programs_for_deploy(
        std::slice::from_ref(&folder),
        false,
        running_versions(&running),
    ) {
        Ok(programs) => programs,
        Err(code) => return code,
    };
    let planned: Vec<Planned> = programs.iter().map(planned).collect();
    let plan = plan(&planned, &running);
    let text = match args.format {
        Format::Human => human(&plan, &folder, &against),
        Format::Json => match serde_json::to_string_pretty(&json(&plan)) {
            Ok(text) => format!("{text}\n"),
            Err(error) => return usage_error(&format!("cannot write the plan: {error}")),
        },
    };
    match write_stdout(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// A journey of the folder as the plan needs it.
fn planned(program: &Program) -> Planned {
    Planned {
        name: program.journey.clone(),
        version: format::hash(program).short(),
        migrations: program
            .migrations
            .iter()
            .map(|m| {
                let to = match m.to {
                    MigrationTarget::Exit => None,
                    MigrationTarget::Step(idx) => {
                        program.labels.get(usize::from(idx)).map(|l| l.name.clone())
                    }
                };
                (m.from.clone(), to)
            })
            .collect(),
    }
}

/// What the compiler checks `migrate` lines against: the labelled steps of each running
/// version.
fn running_versions(running: &[Running]) -> Vec<RunningVersion> {
    running
        .iter()
        .flat_map(|journey| {
            journey.versions.iter().map(|v| RunningVersion {
                journey: journey.name.clone(),
                version: v.version.clone(),
                labels: v
                    .labels
                    .iter()
                    .map(|(name, _, known)| StepLabel {
                        name: name.clone(),
                        step: 0,
                        pc: 0,
                        known: known.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}

fn from_view(view: &JourneyView) -> Running {
    Running {
        name: view.name.clone(),
        versions: view
            .versions
            .iter()
            .map(|v| Version {
                version: v.version.clone(),
                current: v.current,
                steps: v.customers_per_step.clone(),
                labels: v
                    .labels
                    .iter()
                    .map(|l| {
                        let known = l
                            .carries
                            .iter()
                            .map(|c| KnownValue {
                                name: c.name.clone(),
                                event: c.event.clone(),
                            })
                            .collect();
                        (l.name.clone(), l.customers, known)
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The running deployment, from `GET /v1/journeys`.
fn from_api(url: &str, token: Option<&str>) -> Result<Vec<Running>, String> {
    let token = token
        .map(str::to_string)
        .or_else(|| std::env::var("JOURNEY_TOKEN").ok());
    let (status, body) = crate::event::get(url, "/v1/journeys", token.as_deref())?;
    match status {
        200 => {}
        401 | 403 => {
            return Err(format!(
                "{url} refused the request ({status}): pass the API token with `--token` or `JOURNEY_TOKEN`"
            ));
        }
        _ => {
            return Err(format!(
                "{url} answered {status} to GET /v1/journeys: {body}"
            ));
        }
    }
    let answer: JourneyList = serde_json::from_str(&body).map_err(|error| {
        format!("the answer of {url} to GET /v1/journeys is not a journey list: {error}")
    })?;
    Ok(answer.journeys.iter().map(from_view).collect())
}

/// What the `migrate` lines of a new version do to the versions running: customers moved per
/// line, and how many of them come from the current version.
fn moves(planned: &Planned, journey: &Running) -> (Vec<Move>, u64) {
    let mut from_current = 0;
    let moves = planned
        .migrations
        .iter()
        .map(|(from, to)| {
            let mut customers = 0;
            for version in journey
                .versions
                .iter()
                .filter(|v| v.version != planned.version)
            {
                let here: u64 = version
                    .labels
                    .iter()
                    .filter(|(name, _, _)| name == from)
                    .map(|(_, n, _)| n)
                    .sum();
                customers += here;
                if version.current {
                    from_current += here;
                }
            }
            Move {
                from: from.clone(),
                to: to.clone(),
                customers,
            }
        })
        .collect();
    (moves, from_current)
}

/// Per journey (the folder's, by name, then the retired ones), what the deploy would do.
fn plan(folder: &[Planned], running: &[Running]) -> Vec<(String, Action)> {
    let mut actions: BTreeMap<String, Action> = BTreeMap::new();
    for planned in folder {
        let (name, version) = (&planned.name, &planned.version);
        let deployed = running.iter().find(|r| &r.name == name);
        let current = deployed.and_then(|r| r.versions.iter().find(|v| v.current));
        let action = match current {
            None => Action::New {
                version: version.clone(),
            },
            Some(current) if &current.version == version => Action::Unchanged {
                version: version.clone(),
            },
            Some(current) => {
                let (moves, moved_from_current) = deployed
                    .map(|journey| moves(planned, journey))
                    .unwrap_or_default();
                Action::Changed {
                    version: version.clone(),
                    replaces: current.version.clone(),
                    steps: current.steps.clone(),
                    moves,
                    moved_from_current,
                }
            }
        };
        actions.insert(name.clone(), action);
    }
    for journey in running {
        if actions.contains_key(&journey.name) {
            continue;
        }
        let mut steps: BTreeMap<String, u64> = BTreeMap::new();
        for version in &journey.versions {
            for (step, n) in &version.steps {
                *steps.entry(step.clone()).or_default() += n;
            }
        }
        actions.insert(journey.name.clone(), Action::Retired { steps });
    }
    actions.into_iter().collect()
}

/// `` `step`: 2; `other step`: 1 ``, most customers first.
fn at_steps(steps: &BTreeMap<String, u64>) -> String {
    let mut sorted: Vec<(&String, &u64)> = steps.iter().filter(|(_, n)| **n > 0).collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    sorted
        .iter()
        .map(|(step, n)| format!("`{step}`: {n}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn sentence(action: &Action) -> String {
    match action {
        Action::New { version } => format!("new journey (version {version})"),
        Action::Unchanged { version } => format!("unchanged (version {version})"),
        Action::Changed {
            version,
            replaces,
            steps,
            moves,
            moved_from_current,
        } => {
            let on_old: u64 = steps.values().sum();
            let staying = on_old.saturating_sub(*moved_from_current);
            let mut text = format!("version {version} replaces {replaces}: ");
            for m in moves {
                let whom = count(m.customers, "customer");
                match &m.to {
                    Some(to) => text.push_str(&format!(
                        "{whom} at `{}` {} to `{to}`; ",
                        m.from,
                        if m.customers == 1 { "moves" } else { "move" }
                    )),
                    None => text.push_str(&format!(
                        "{whom} at `{}` {} the journey; ",
                        m.from,
                        if m.customers == 1 { "leaves" } else { "leave" }
                    )),
                }
            }
            if on_old == 0 {
                text.push_str(&format!("no customers on {replaces}"));
            } else if staying == 0 {
                text.push_str(&format!("no customers stay on {replaces}"));
            } else {
                let stays = format!(
                    "{} {}",
                    count(staying, "customer"),
                    if staying == 1 { "stays" } else { "stay" }
                );
                text.push_str(&format!("{stays} on {replaces} until they finish"));
                // When some move, the steps of those who stay are not told apart from theirs.
                if *moved_from_current == 0 {
                    text.push_str(&format!(" (at steps: {})", at_steps(steps)));
                }
            }
            text
        }
        Action::Retired { steps } => {
            let finishing: u64 = steps.values().sum();
            if finishing == 0 {
                "retired: no new entries; no customers in it".to_string()
            } else {
                format!(
                    "retired: no new entries; {} {} it (at steps: {})",
                    count(finishing, "customer"),
                    if finishing == 1 { "finishes" } else { "finish" },
                    at_steps(steps)
                )
            }
        }
    }
}

fn human(plan: &[(String, Action)], folder: &std::path::Path, against: &str) -> String {
    let mut out = format!(
        "deploying {} over what runs at {against}:\n",
        folder.display()
    );
    let width = plan.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, action) in plan {
        out.push_str(&format!("  {name:<width$}  {}\n", sentence(action)));
    }
    let tally = |kind: &str| plan.iter().filter(|(_, a)| a.kind() == kind).count();
    out.push_str(&format!(
        "{}: {} new, {} changed, {} unchanged, {} retired\n",
        count(plan.len() as u64, "journey"),
        tally("new"),
        tally("changed"),
        tally("unchanged"),
        tally("retired"),
    ));
    out
}

fn json(plan: &[(String, Action)]) -> serde_json::Value {
    let journeys: Vec<serde_json::Value> = plan
        .iter()
        .map(|(name, action)| {
            let (version, replaces, steps, moves, moved) = match action {
                Action::New { version } | Action::Unchanged { version } => {
                    (Some(version), None, None, &[][..], 0)
                }
                Action::Changed {
                    version,
                    replaces,
                    steps,
                    moves,
                    moved_from_current,
                } => (
                    Some(version),
                    Some(replaces),
                    Some(steps),
                    &moves[..],
                    *moved_from_current,
                ),
                Action::Retired { steps } => (None, None, Some(steps), &[][..], 0),
            };
            let migrations: Vec<serde_json::Value> = moves
                .iter()
                .map(
                    |m| serde_json::json!({ "from": m.from, "to": m.to, "customers": m.customers }),
                )
                .collect();
            serde_json::json!({
                "journey": name,
                "action": action.kind(),
                "version": version,
                "replaces": replaces,
                "customers_staying": steps
                    .map_or(0, |s| s.values().sum::<u64>())
                    .saturating_sub(moved),
                "migrations": migrations,
                "customers_per_step": steps.cloned().unwrap_or_default(),
                "summary": sentence(action),
            })
        })
        .collect();
    serde_json::json!({ "version": 1, "journeys": journeys })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version: its hash, whether current, customers per step.
    type Spec<'a> = (&'a str, bool, &'a [(&'a str, u64)]);

    fn running(name: &str, versions: &[Spec]) -> Running {
        Running {
            name: name.to_string(),
            versions: versions
                .iter()
                .map(|(version, current, steps)| Version {
                    version: version.to_string(),
                    current: *current,
                    steps: steps.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
                    labels: steps
                        .iter()
                        .filter_map(|(s, n)| {
                            let label = s.strip_prefix("step ")?.split(':').next()?;
                            Some((label.to_string(), *n, Vec::new()))
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn planned_for(name: &str, version: &str, migrations: &[(&str, Option<&str>)]) -> Planned {
        Planned {
            name: name.to_string(),
            version: version.to_string(),
            migrations: migrations
                .iter()
                .map(|(from, to)| (from.to_string(), to.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn migrations_say_how_many_customers_move_and_how_many_stay() {
        let folder = vec![planned_for(
            "cart",
            "ccc2",
            &[("reminder", Some("first")), ("last_call", None)],
        )];
        let deployed = vec![running(
            "cart",
            &[
                (
                    "ccc1",
                    true,
                    &[("step reminder: wait 3 hours", 4), ("wait 1 day", 2)],
                ),
                ("ccc0", false, &[("step last_call: wait 1 day", 1)]),
            ],
        )];
        let plan = plan(&folder, &deployed);
        assert_eq!(
            sentence(&plan[0].1),
            "version ccc2 replaces ccc1: 4 customers at `reminder` move to `first`; 1 customer at `last_call` leaves the journey; 2 customers stay on ccc1 until they finish"
        );
        let document = json(&plan);
        assert_eq!(document["journeys"][0]["customers_staying"], 2);
        assert_eq!(document["journeys"][0]["migrations"][0]["customers"], 4);
        assert_eq!(
            document["journeys"][0]["migrations"][1]["to"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn every_kind_of_change_is_named() {
        let folder = vec![
            planned_for("a", "aaaa", &[]),
            planned_for("b", "bbb2", &[]),
            planned_for("n", "nnnn", &[]),
        ];
        let deployed = vec![
            running("a", &[("aaaa", true, &[])]),
            running(
                "b",
                &[
                    ("bbb1", true, &[("wait 3 days", 2), ("wait 1 day", 1)]),
                    ("bbb0", false, &[("wait 1 day", 4)]),
                ],
            ),
            running("r", &[("rrrr", true, &[("wait 1 day", 1)])]),
        ];
        let plan = plan(&folder, &deployed);
        let lines: Vec<String> = plan
            .iter()
            .map(|(name, action)| format!("{name}: {}", sentence(action)))
            .collect();
        assert_eq!(
            lines,
            [
                "a: unchanged (version aaaa)",
                "b: version bbb2 replaces bbb1: 3 customers stay on bbb1 until they finish (at steps: `wait 3 days`: 2; `wait 1 day`: 1)",
                "n: new journey (version nnnn)",
                "r: retired: no new entries; 1 customer finishes it (at steps: `wait 1 day`: 1)",
            ]
        );
    }
}
