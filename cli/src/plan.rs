//! `journey plan [JOURNEYS]`: what deploying the journey folder would do, before doing it. It
//! compiles the folder, reads the running deployment — from a running `journey run`
//! (`GET /v1/journeys`) or, with `--data`, from the store of a stopped one — and says for each
//! journey whether it is new, unchanged, replaced by a new version (and how many customers stay
//! on the old one, at which steps) or retired.
//!
//! Versions are compared by content hash: the first 12 hex digits, as the API shows them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use journey_compiler::bytecode::format;
use journey_runtime::api::JourneyView;

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
    let programs = match crate::compile::programs(std::slice::from_ref(&folder), false) {
        Ok(programs) => programs,
        Err(code) => return code,
    };
    let (running, against) = match &args.data {
        Some(data) => (
            inspect::running(data).map(|views| views.iter().map(from_view).collect()),
            format!("the data folder {}", data.display()),
        ),
        None => (from_api(&args.url, args.token.as_deref()), args.url.clone()),
    };
    let running = match running {
        Ok(running) => running,
        Err(message) => return usage_error(&message),
    };
    let folder_versions: Vec<(String, String)> = programs
        .iter()
        .map(|p| (p.journey.clone(), format::hash(p).short()))
        .collect();
    let plan = plan(&folder_versions, &running);
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
    let unexpected = || format!("the answer of {url} to GET /v1/journeys is not a journey list");
    let document: serde_json::Value = serde_json::from_str(&body).map_err(|_| unexpected())?;
    let journeys = document
        .get("journeys")
        .and_then(|j| j.as_array())
        .ok_or_else(unexpected)?;
    journeys
        .iter()
        .map(|journey| {
            let name = journey.get("name").and_then(|n| n.as_str());
            let versions = journey.get("versions").and_then(|v| v.as_array());
            let (Some(name), Some(versions)) = (name, versions) else {
                return Err(unexpected());
            };
            let versions = versions
                .iter()
                .map(|v| {
                    let version = v.get("version").and_then(|x| x.as_str());
                    let current = v.get("current").and_then(serde_json::Value::as_bool);
                    let steps = v.get("customers_per_step").and_then(|s| s.as_object());
                    let (Some(version), Some(current), Some(steps)) = (version, current, steps)
                    else {
                        return Err(unexpected());
                    };
                    Ok(Version {
                        version: version.to_string(),
                        current,
                        steps: steps
                            .iter()
                            .map(|(step, n)| (step.clone(), n.as_u64().unwrap_or(0)))
                            .collect(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Running {
                name: name.to_string(),
                versions,
            })
        })
        .collect()
}

/// Per journey (the folder's, by name, then the retired ones), what the deploy would do.
fn plan(folder: &[(String, String)], running: &[Running]) -> Vec<(String, Action)> {
    let mut actions: BTreeMap<String, Action> = BTreeMap::new();
    for (name, version) in folder {
        let deployed = running.iter().find(|r| &r.name == name);
        let current = deployed.and_then(|r| r.versions.iter().find(|v| v.current));
        let action = match current {
            None => Action::New {
                version: version.clone(),
            },
            Some(current) if &current.version == version => Action::Unchanged {
                version: version.clone(),
            },
            Some(current) => Action::Changed {
                version: version.clone(),
                replaces: current.version.clone(),
                steps: current.steps.clone(),
            },
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
        } => {
            let staying: u64 = steps.values().sum();
            if staying == 0 {
                format!("version {version} replaces {replaces}: no customers on {replaces}")
            } else {
                format!(
                    "version {version} replaces {replaces}: {} on {replaces} until they finish (at steps: {})",
                    match staying {
                        1 => "1 customer stays".to_string(),
                        n => format!("{n} customers stay"),
                    },
                    at_steps(steps)
                )
            }
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
            let (version, replaces, steps) = match action {
                Action::New { version } | Action::Unchanged { version } => {
                    (Some(version), None, None)
                }
                Action::Changed {
                    version,
                    replaces,
                    steps,
                } => (Some(version), Some(replaces), Some(steps)),
                Action::Retired { steps } => (None, None, Some(steps)),
            };
            serde_json::json!({
                "journey": name,
                "action": action.kind(),
                "version": version,
                "replaces": replaces,
                "customers_staying": steps.map_or(0, |s| s.values().sum::<u64>()),
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
                })
                .collect(),
        }
    }

    #[test]
    fn every_kind_of_change_is_named() {
        let folder = vec![
            ("a".to_string(), "aaaa".to_string()),
            ("b".to_string(), "bbb2".to_string()),
            ("n".to_string(), "nnnn".to_string()),
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
