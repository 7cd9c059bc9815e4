//! What the API shows of stored state: a customer with their journeys and decision log, the
//! deployed journeys with customers per step, dead letters.

use std::collections::BTreeMap;

use chrono::TimeZone;
use journey_compiler::bytecode::Instr;

use crate::api::{
    ApiError, CarriedView, CustomerView, DeadLetterView, DecisionView, InstanceView, JourneyView,
    LabelView, VersionView,
};
use crate::store::Store;
use crate::vm::{Library, Standing, Status};

fn rfc3339(at: i64) -> String {
    chrono::Utc
        .timestamp_opt(at, 0)
        .single()
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}

fn internal(error: crate::store::Error) -> ApiError {
    ApiError::Internal(error.message)
}

fn short(hash: &[u8; 32]) -> String {
    hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// How many decision-log entries a customer view carries.
const DECISIONS: usize = 200;

/// A customer, if stored.
pub fn customer(
    store: &Store,
    library: &Library,
    id: &str,
) -> Result<Option<CustomerView>, ApiError> {
    let Some(state) = store.customer(id).map_err(internal)? else {
        return Ok(None);
    };
    let mut journeys = Vec::new();
    for (journey, membership) in &state.journeys {
        for instance in &membership.instances {
            let program = library.get(&instance.version);
            let instr = program.and_then(|p| p.code.get(instance.pc as usize));
            let step = match (program, instance.status) {
                (Some(p), Status::Ended { .. }) => {
                    instr.and_then(step_of).map(|s| p.step_label(s).to_string())
                }
                (Some(p), status) => {
                    p.standing_text(instance.pc, matches!(status, Status::Sleeping { .. }))
                }
                (None, _) => None,
            }
            .unwrap_or_else(|| "(end)".to_string());
            let (status, wakes_at) = match instance.status {
                Status::Sleeping { until } => ("sleeping", Some(rfc3339(until))),
                Status::Waiting { until } => ("waiting", until.map(rfc3339)),
                Status::Ended { .. } => ("ended", None),
            };
            let waiting_for = match (instance.status, instr) {
                (Status::Waiting { .. }, Some(Instr::WaitFor { arms, .. })) => {
                    arms.iter().map(|arm| arm.event.event.clone()).collect()
                }
                _ => Vec::new(),
            };
            journeys.push(InstanceView {
                journey: journey.clone(),
                instance: instance.id,
                version: short(&instance.version),
                status: status.to_string(),
                step,
                wakes_at,
                waiting_for,
                entered_at: rfc3339(instance.entered_at),
            });
        }
    }
    let decisions = store
        .audit(id, DECISIONS)
        .map_err(internal)?
        .into_iter()
        .filter_map(|entry| {
            let at = entry.get("at")?.as_str()?.to_string();
            let effect = entry.get("entry")?;
            let kind = effect
                .get("kind")
                .or_else(|| effect.get("effect"))?
                .as_str()?
                .to_string();
            Some(DecisionView {
                at,
                journey: effect
                    .get("journey")
                    .and_then(|j| j.as_str())
                    .unwrap_or("")
                    .to_string(),
                step: effect
                    .get("step")
                    .and_then(|s| s.as_str())
                    .map(str::to_string),
                kind,
                why: describe(effect),
            })
        })
        .collect();
    Ok(Some(CustomerView {
        id: id.to_string(),
        profile: crate::vm::decode::to_json(&journey_compiler::bytecode::Value::record(
            state.profile.clone(),
        )),
        journeys,
        decisions,
    }))
}

/// The reason of a decision-log entry, in words.
fn describe(effect: &serde_json::Value) -> String {
    let text = |key: &str| effect.get(key).and_then(|v| v.as_str()).unwrap_or("");
    match text("effect") {
        "queued" => format!(
            "`{}` queued for {}: \"{}\"",
            text("template"),
            effect
                .get("to")
                .and_then(|v| v.as_str())
                .unwrap_or("the shop"),
            text("subject")
        ),
        "delivered" => {
            let attempt = effect
                .get("attempts")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(1);
            // Entries written before 2026-12-03 name only the message.
            match text("template") {
                "" => format!("{} delivered (attempt {attempt})", text("message_id")),
                template => format!(
                    "`{template}` delivered (attempt {attempt}), Message-ID {}",
                    text("message_id")
                ),
            }
        }
        "goal" => format!("goal `{}` reached", text("goal")),
        "exit" => format!(
            "left the journey ({})",
            effect
                .get("reason")
                .map(|r| r.to_string().trim_matches('"').to_string())
                .unwrap_or_default()
        ),
        _ => ["why", "reason", "message"]
            .iter()
            .find_map(|key| effect.get(*key).and_then(|w| w.as_str()))
            .map_or_else(|| effect.to_string(), str::to_string),
    }
}

fn step_of(instr: &Instr) -> Option<u32> {
    instr.step()
}

/// The labelled steps of a version, with the customers standing at each.
fn labels(
    library: &Library,
    version: &[u8; 32],
    standing: &BTreeMap<([u8; 32], String), u64>,
) -> Vec<LabelView> {
    library
        .get(version)
        .map(|program| {
            program
                .labels
                .iter()
                .map(|label| LabelView {
                    name: label.name.clone(),
                    customers: standing
                        .get(&(*version, label.name.clone()))
                        .copied()
                        .unwrap_or(0),
                    carries: label
                        .known
                        .iter()
                        .map(|known| CarriedView {
                            name: known.name.clone(),
                            event: known.event.clone(),
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Deployed journeys with customers per step, from the counts the writer keeps (a store written
/// before they were kept, opened offline, is counted customer by customer).
pub fn journeys(store: &Store, library: &Library) -> Result<Vec<JourneyView>, ApiError> {
    let standings: Vec<(Standing, u64)> = match store.standings().map_err(internal)? {
        Some(kept) => kept,
        None => store
            .count_standings()
            .map_err(internal)?
            .into_iter()
            .collect(),
    };
    let mut counts: BTreeMap<String, BTreeMap<[u8; 32], BTreeMap<String, u64>>> = BTreeMap::new();
    let mut standing: BTreeMap<([u8; 32], String), u64> = BTreeMap::new();
    for (at, customers) in standings {
        let program = library.get(&at.version);
        if let Some(label) = program.and_then(|p| p.standing_label(at.pc, at.sleeping)) {
            *standing
                .entry((at.version, label.name.clone()))
                .or_default() += customers;
        }
        let text = program
            .and_then(|p| p.standing_text(at.pc, at.sleeping))
            .unwrap_or_else(|| "(end)".to_string());
        *counts
            .entry(at.journey)
            .or_default()
            .entry(at.version)
            .or_default()
            .entry(text)
            .or_default() += customers;
    }
    let mut views = Vec::new();
    for (hash, program) in library.current_programs() {
        let mut versions = vec![VersionView {
            version: short(&hash),
            current: true,
            customers_per_step: counts
                .get(&program.journey)
                .and_then(|v| v.get(&hash))
                .cloned()
                .unwrap_or_default(),
            labels: labels(library, &hash, &standing),
        }];
        if let Some(by_version) = counts.get(&program.journey) {
            for (version, steps) in by_version {
                if *version != hash {
                    versions.push(VersionView {
                        version: short(version),
                        current: false,
                        customers_per_step: steps.clone(),
                        labels: labels(library, version, &standing),
                    });
                }
            }
        }
        views.push(JourneyView {
            name: program.journey.clone(),
            title: program.title.clone(),
            versions,
        });
    }
    Ok(views)
}

/// Messages given up on.
pub fn dead_letters(store: &Store) -> Result<Vec<DeadLetterView>, ApiError> {
    Ok(store
        .dead_letters(10_000)
        .map_err(internal)?
        .into_iter()
        .map(|letter| DeadLetterView {
            message_id: letter.message.message_id.clone(),
            customer: letter.customer.clone(),
            journey: letter.message.journey.clone(),
            template: letter.message.template.clone(),
            to: letter.message.to.clone(),
            reason: letter.reason.clone(),
            at: rfc3339(letter.at),
        })
        .collect())
}
