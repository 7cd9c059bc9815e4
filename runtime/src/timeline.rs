//! A simulation's log as a marketer reads it (times in each customer's zone, one block per
//! moment and journey), or as JSON for tools.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::str::FromStr;

use chrono::TimeZone;
use chrono_tz::Tz;
use journey_compiler::bytecode::Value;

use crate::simulate::Entry;
use crate::vm::{CustomerState, DecisionKind, Effect, TimerId};

/// What to show besides the essentials.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Print each message's plain-text part under it.
    pub messages: bool,
    /// Print timers set (when each wait ends).
    pub timers: bool,
}

/// The zone of each customer, from their final profile (UTC if unknown).
pub fn zones(customers: &BTreeMap<String, CustomerState>) -> BTreeMap<String, Tz> {
    customers
        .iter()
        .map(|(id, state)| {
            let zone = match state.profile.get("time_zone") {
                Some(Value::Text(name)) => Tz::from_str(name).unwrap_or(Tz::UTC),
                _ => Tz::UTC,
            };
            (id.clone(), zone)
        })
        .collect()
}

/// A time in a zone, as `2026-11-23 13:00 CET`.
pub fn local(at: i64, zone: Tz) -> String {
    zone.timestamp_opt(at, 0).single().map_or_else(
        || at.to_string(),
        |d| d.format("%Y-%m-%d %H:%M %Z").to_string(),
    )
}

fn journey_of(effect: &Effect) -> Option<&str> {
    match effect {
        Effect::Send(message) => Some(&message.journey),
        Effect::Goal { journey, .. } | Effect::Exit { journey, .. } => Some(journey),
        Effect::Decision(decision) => Some(&decision.journey),
        Effect::Error(error) => error.journey.as_deref(),
        Effect::SetTimer { timer, .. } | Effect::CancelTimer { timer } => match timer {
            TimerId::Wake { journey, .. } | TimerId::Anniversary { journey } => Some(journey),
        },
        Effect::SetProfile { journey, .. } => Some(journey),
    }
}

/// The human timeline.
pub fn human(log: &[Entry], zones: &BTreeMap<String, Tz>, options: Options) -> String {
    let mut out = String::new();
    let mut header: Option<(i64, String, String)> = None;
    let mut current_journey = String::new();
    for entry in log {
        let zone = zones.get(&entry.customer).copied().unwrap_or(Tz::UTC);
        let line = match &entry.effect {
            Effect::Send(message) => {
                let mut line = format!(
                    "sent {} {} ({})",
                    message.channel.keyword(),
                    message.template,
                    message.category.keyword()
                );
                if let Some(to) = &message.to {
                    let _ = write!(line, " to {to}");
                }
                if let Some(subject) = &message.subject {
                    let _ = write!(line, "\n    subject: {subject}");
                }
                for coupon in &message.coupons {
                    let off = coupon
                        .percent
                        .map(|p| format!("{p}%"))
                        .or_else(|| coupon.amount.clone())
                        .unwrap_or_default();
                    let expires = chrono::DateTime::parse_from_rfc3339(&coupon.expires)
                        .map_or_else(|_| coupon.expires.clone(), |d| local(d.timestamp(), zone));
                    let _ = write!(
                        line,
                        "\n    coupon {}: {off} off until {expires}",
                        coupon.code
                    );
                    if !coupon.products.is_empty() {
                        let _ = write!(line, " on {}", coupon.products.join(", "));
                    }
                    if let Some(minimum) = &coupon.minimum {
                        let _ = write!(line, ", minimum {minimum}");
                    }
                }
                if options.messages {
                    for text_line in message.text.lines() {
                        let _ = write!(line, "\n    | {text_line}");
                    }
                }
                Some(line)
            }
            Effect::Decision(decision) => {
                let label = match decision.kind {
                    DecisionKind::Sent => None,
                    DecisionKind::Entered => Some("entered"),
                    DecisionKind::NotEntered => Some("not entered"),
                    DecisionKind::Branch => Some("branch"),
                    DecisionKind::Split => Some("split"),
                    DecisionKind::Deferred => Some("deferred"),
                    DecisionKind::Skipped => Some("skipped"),
                    DecisionKind::EventMatched => Some("wait over"),
                    DecisionKind::TimedOut => Some("timed out"),
                    DecisionKind::Left => Some("left"),
                    DecisionKind::Migrated => Some("migrated"),
                };
                label.map(|label| match &decision.step {
                    Some(step) if !step.is_empty() => {
                        format!("{label}: {} (at `{step}`)", decision.why)
                    }
                    _ => format!("{label}: {}", decision.why),
                })
            }
            Effect::Goal { goal, holdout, .. } => Some(format!(
                "goal `{goal}` reached{}",
                if *holdout { " (holdout group)" } else { "" }
            )),
            Effect::SetProfile {
                attribute, shown, ..
            } => Some(format!("set customer.{attribute} = {shown}")),
            Effect::Error(error) => {
                let mut line = format!("ERROR: {}", error.message);
                if let Some(step) = &error.step {
                    let _ = write!(line, " (at `{step}`)");
                }
                Some(line)
            }
            Effect::SetTimer { timer, at } if options.timers => Some(match timer {
                TimerId::Wake { .. } => format!("waits until {}", local(*at, zone)),
                TimerId::Anniversary { .. } => format!("next date trigger at {}", local(*at, zone)),
            }),
            Effect::SetTimer { .. } | Effect::CancelTimer { .. } | Effect::Exit { .. } => None,
        };
        let Some(line) = line else { continue };
        let journey = journey_of(&entry.effect)
            .unwrap_or(current_journey.as_str())
            .to_string();
        let key = (entry.at, entry.customer.clone(), journey.clone());
        if header.as_ref() != Some(&key) {
            let _ = writeln!(
                out,
                "{}  {}  {}",
                local(entry.at, zone),
                entry.customer,
                journey
            );
            header = Some(key);
        }
        current_journey = journey;
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// The timeline as a JSON document (version 1): every effect with its time.
pub fn json(log: &[Entry], zones: &BTreeMap<String, Tz>) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = log
        .iter()
        .map(|entry| {
            let zone = zones.get(&entry.customer).copied().unwrap_or(Tz::UTC);
            let at = zone
                .timestamp_opt(entry.at, 0)
                .single()
                .map(|d| d.to_rfc3339())
                .unwrap_or_default();
            let mut effect = serde_json::to_value(&entry.effect).unwrap_or(serde_json::Value::Null);
            match (&entry.effect, &mut effect) {
                (Effect::SetProfile { value, .. }, serde_json::Value::Object(map)) => {
                    map.insert("value".to_string(), crate::vm::decode::to_json(value));
                }
                (Effect::SetTimer { at: when, .. }, serde_json::Value::Object(map)) => {
                    let when = zone
                        .timestamp_opt(*when, 0)
                        .single()
                        .map(|d| d.to_rfc3339())
                        .unwrap_or_default();
                    map.insert("at".to_string(), serde_json::Value::String(when));
                }
                _ => {}
            }
            serde_json::json!({ "at": at, "customer": entry.customer, "effect": effect })
        })
        .collect();
    serde_json::json!({ "version": 1, "entries": entries })
}
