//! Scenario files: customers and timed events for `journey simulate`, and the part of test files
//! that says what happens (see `docs/testing.md` for the format).
//!
//! A scenario is TOML. Times are written as `2026-11-23 10:00` (in the scenario's `zone`, by
//! default the first customer's `time_zone`, else UTC), as RFC 3339 (`2026-11-23T10:00:00+01:00`)
//! or relative to the start (`+3h`, `+1d 2h`, `+2 weeks`). Event data is written as the shop
//! would send it, in TOML instead of JSON.
//!
//! Errors carry the byte range they are about, so they are shown at the right place.

use std::ops::Range;
use std::str::FromStr;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use journey_compiler::bytecode::{Record, Value};
use serde::Deserialize;
use toml::Spanned;

use crate::vm::{Environment, Event};

/// A problem in a scenario or test file, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What is wrong.
    pub message: String,
    /// The byte range in the file, if known.
    pub span: Option<Range<usize>>,
    /// What to write instead, if there is a clear fix.
    pub help: Option<String>,
}

impl Error {
    /// An error at a place.
    pub fn at(span: Range<usize>, message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            span: Some(span),
            help: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> Error {
        self.help = Some(help.into());
        self
    }
}

/// An event of a scenario, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// When it happens.
    pub at: Spanned<String>,
    /// Whose event it is (may be left out when there is one customer).
    pub customer: Option<Spanned<String>>,
    /// The event's name.
    pub event: Spanned<String>,
    /// An id; by default `<customer>-<n>`.
    pub id: Option<String>,
    /// The event's data.
    #[serde(default)]
    pub data: toml::Table,
}

/// A timed change to a customer's profile, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    /// When.
    pub at: Spanned<String>,
    /// Whose profile (may be left out when there is one customer).
    pub customer: Option<Spanned<String>>,
    /// The attributes set.
    pub set: Spanned<toml::Table>,
}

/// A scenario file for `journey simulate`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// When the simulation starts.
    pub start: Spanned<String>,
    /// When it ends (default: one year after the start).
    pub until: Option<Spanned<String>>,
    /// The zone of times written without one.
    pub zone: Option<Spanned<String>>,
    /// The shop's record (`shop.name`, …); defaults are used for fields left out.
    pub shop: Option<toml::Table>,
    /// The shop's secret for coupon codes and unsubscribe links.
    pub secret: Option<String>,
    /// The customers and their profiles.
    #[serde(default)]
    pub customers: Vec<Spanned<toml::Table>>,
    /// The events, in any order.
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Profile changes over time.
    #[serde(default)]
    pub updates: Vec<UpdateSpec>,
}

/// Something that happens at a time.
#[derive(Clone, Debug, PartialEq)]
pub enum Happening {
    /// An event.
    Event(Event),
    /// A profile update.
    Profile(serde_json::Map<String, serde_json::Value>),
}

/// A timed input for one customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    /// When, seconds since the epoch.
    pub at: i64,
    /// Whose.
    pub customer: String,
    /// What.
    pub what: Happening,
    /// Where it is written.
    pub span: Range<usize>,
}

/// A resolved scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Start of the virtual clock.
    pub start: i64,
    /// End of the virtual clock.
    pub until: i64,
    /// The zone times are shown in when a customer has none.
    pub zone: Tz,
    /// The shop and its secrets.
    pub env: Environment,
    /// Customers with their initial profiles, in file order.
    pub customers: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
    /// Events and updates, sorted by time (in file order for equal times).
    pub timeline: Vec<Timed>,
}

/// One year: the default length of a simulation.
pub const DEFAULT_LENGTH: i64 = 365 * 86_400;

/// Parses a TOML document into `T`, with the error at its place.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    toml::from_str::<T>(text).map_err(|error| Error {
        message: error.message().trim().to_string(),
        span: error.span(),
        help: None,
    })
}

/// Reads a scenario file.
pub fn scenario(text: &str) -> Result<Scenario, Error> {
    let file: ScenarioFile = parse_toml(text)?;
    let customers: Vec<(Range<usize>, toml::Table)> = file
        .customers
        .into_iter()
        .map(|c| (c.span(), c.into_inner()))
        .collect();
    resolve(Parts {
        start: &file.start,
        until: file.until.as_ref(),
        zone: file.zone.as_ref(),
        shop: file.shop.as_ref(),
        secret: file.secret.as_deref(),
        customers,
        events: &file.events,
        updates: &file.updates,
    })
}

/// The pieces of a scenario, from a scenario file or a test.
pub struct Parts<'a> {
    /// The start.
    pub start: &'a Spanned<String>,
    /// The end.
    pub until: Option<&'a Spanned<String>>,
    /// The zone of times written without one.
    pub zone: Option<&'a Spanned<String>>,
    /// The shop.
    pub shop: Option<&'a toml::Table>,
    /// The secret.
    pub secret: Option<&'a str>,
    /// Customers (span, profile).
    pub customers: Vec<(Range<usize>, toml::Table)>,
    /// Events.
    pub events: &'a [EventSpec],
    /// Updates.
    pub updates: &'a [UpdateSpec],
}

/// Resolves times, customers and the shop.
pub fn resolve(parts: Parts<'_>) -> Result<Scenario, Error> {
    let mut customers = Vec::new();
    for (span, table) in &parts.customers {
        let Some(toml::Value::String(id)) = table.get("id") else {
            return Err(Error::at(span.clone(), "this customer has no `id`")
                .with_help("give every customer an id: `id = \"giulia\"`"));
        };
        if customers.iter().any(|(known, _)| known == id) {
            return Err(Error::at(
                span.clone(),
                format!("two customers have the id `{id}`"),
            ));
        }
        let profile = match json_of(&toml::Value::Table(table.clone())) {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        customers.push((id.clone(), profile));
    }
    let zone = match parts.zone {
        Some(zone) => Tz::from_str(zone.get_ref()).map_err(|_| {
            Error::at(
                zone.span(),
                format!("`{}` is not an IANA time zone", zone.get_ref()),
            )
            .with_help("write a zone such as \"Europe/Rome\"")
        })?,
        None => customers
            .first()
            .and_then(|(_, profile)| profile.get("time_zone"))
            .and_then(|zone| zone.as_str())
            .and_then(|zone| Tz::from_str(zone).ok())
            .unwrap_or(Tz::UTC),
    };
    let start = absolute_time(parts.start.get_ref(), zone)
        .map_err(|message| Error::at(parts.start.span(), message))?;
    let until = match parts.until {
        Some(until) => {
            time(until.get_ref(), start, zone).map_err(|m| Error::at(until.span(), m))?
        }
        None => start.saturating_add(DEFAULT_LENGTH),
    };
    let only_customer = (customers.len() == 1)
        .then(|| customers.first().map(|(id, _)| id.clone()))
        .flatten();
    let who = |customer: &Option<Spanned<String>>, span: Range<usize>| -> Result<String, Error> {
        match customer {
            Some(id) => {
                if customers.iter().any(|(known, _)| known == id.get_ref()) {
                    Ok(id.get_ref().clone())
                } else {
                    Err(Error::at(id.span(), format!("no customer has the id `{}`", id.get_ref())))
                }
            }
            None => only_customer.clone().ok_or_else(|| {
                Error::at(span, "say whose this is: `customer = \"…\"` (there is more than one customer, or none)")
            }),
        }
    };
    let mut timeline = Vec::new();
    for (n, event) in parts.events.iter().enumerate() {
        let span = event.event.span();
        let customer = who(&event.customer, span.clone())?;
        let at =
            time(event.at.get_ref(), start, zone).map_err(|m| Error::at(event.at.span(), m))?;
        timeline.push(Timed {
            at,
            customer: customer.clone(),
            what: Happening::Event(Event {
                id: event
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{customer}-{}", n + 1)),
                name: event.event.get_ref().clone(),
                at,
                data: json_of(&toml::Value::Table(event.data.clone())),
            }),
            span,
        });
    }
    for update in parts.updates {
        let span = update.set.span();
        let customer = who(&update.customer, span.clone())?;
        let at =
            time(update.at.get_ref(), start, zone).map_err(|m| Error::at(update.at.span(), m))?;
        let map = match json_of(&toml::Value::Table(update.set.get_ref().clone())) {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        timeline.push(Timed {
            at,
            customer,
            what: Happening::Profile(map),
            span,
        });
    }
    // Same instant: in the order written in the file.
    timeline.sort_by_key(|timed| (timed.at, timed.span.start));
    Ok(Scenario {
        start,
        until,
        zone,
        env: environment(parts.shop, parts.secret),
        customers,
        timeline,
    })
}

/// The shop record and secrets of a scenario (defaults for what is left out).
pub fn environment(shop: Option<&toml::Table>, secret: Option<&str>) -> Environment {
    let mut record = Record::from_pairs([
        (std::sync::Arc::from("name"), Value::text("Il Negozio")),
        (
            std::sync::Arc::from("website"),
            Value::text("https://negozio.example"),
        ),
        (
            std::sync::Arc::from("address"),
            Value::text("Via Roma 1, 20121 Milano"),
        ),
        (
            std::sync::Arc::from("support_email"),
            Value::text("aiuto@negozio.example"),
        ),
    ]);
    if let Some(shop) = shop {
        for (name, value) in shop {
            if let toml::Value::String(text) = value {
                record.set(std::sync::Arc::from(name.as_str()), Value::text(text));
            }
        }
    }
    let website = match record.get("website") {
        Some(Value::Text(url)) => url.to_string(),
        _ => "https://negozio.example".to_string(),
    };
    let domain = website
        .split("://")
        .nth(1)
        .unwrap_or(&website)
        .split('/')
        .next()
        .unwrap_or("negozio.example")
        .to_string();
    Environment {
        shop: Value::record(record),
        secret: secret.unwrap_or("journey-simulation").as_bytes().to_vec(),
        unsubscribe_base: format!("{}/unsubscribe", website.trim_end_matches('/')),
        message_domain: domain,
    }
}

/// TOML to JSON (dates become RFC 3339 text).
pub fn json_of(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(n) => serde_json::Value::from(*n),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(items) => serde_json::Value::Array(items.iter().map(json_of).collect()),
        toml::Value::Table(table) => {
            serde_json::Value::Object(table.iter().map(|(k, v)| (k.clone(), json_of(v))).collect())
        }
    }
}

/// A time: absolute, or `+duration` after `start`.
pub fn time(text: &str, start: i64, zone: Tz) -> Result<i64, String> {
    match text.trim().strip_prefix('+') {
        Some(relative) => {
            let seconds = duration(relative)?;
            Ok(start.saturating_add(seconds))
        }
        None => absolute_time(text, zone),
    }
}

/// An absolute time: RFC 3339, or `YYYY-MM-DD HH:MM` in `zone`.
pub fn absolute_time(text: &str, zone: Tz) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp());
    }
    for pattern in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, pattern) {
            return zone
                .from_local_datetime(&local)
                .earliest()
                .map(|d| d.timestamp())
                .ok_or_else(|| {
                    format!(
                        "{text} does not exist in {} (the clocks skip it)",
                        zone.name()
                    )
                });
        }
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return zone
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|d| d.timestamp())
            .ok_or_else(|| format!("{text} has no midnight in {}", zone.name()));
    }
    Err(format!(
        "`{text}` is not a time: write `2026-11-23 10:00`, `2026-11-23T10:00:00+01:00` or `+3h` (after the start)"
    ))
}

/// A duration such as `3h`, `1d 2h`, `90 minutes`, `2 weeks`.
pub fn duration(text: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("a duration is empty: write `3h` or `2 days`".to_string());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: i64 = rest
            .get(..digits)
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| {
                format!("`{text}` is not a duration: write `3h`, `2 days` or `1d 2h`")
            })?;
        rest = rest.get(digits..).unwrap_or("").trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_end).unwrap_or("");
        let size = match unit {
            "s" | "sec" | "second" | "seconds" => 1,
            "m" | "min" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 7 * 86_400,
            _ => {
                return Err(format!(
                    "`{unit}` is not a unit of time in `{text}`: use m, h, d or w (or minutes, hours, days, weeks)"
                ));
            }
        };
        total = total.saturating_add(number.saturating_mul(size));
        rest = rest.get(unit_end..).unwrap_or("").trim_start();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_are_absolute_local_or_relative() {
        let rome = Tz::Europe__Rome;
        let start = absolute_time("2026-11-23 10:00", rome).unwrap();
        assert_eq!(
            start,
            absolute_time("2026-11-23T10:00:00+01:00", Tz::UTC).unwrap()
        );
        assert_eq!(time("+3h", start, rome).unwrap(), start + 3 * 3600);
        assert_eq!(time("+1d 2h", start, rome).unwrap(), start + 26 * 3600);
        assert_eq!(time("+2 weeks", start, rome).unwrap(), start + 14 * 86_400);
        assert!(
            time("+3 fortnights", start, rome)
                .unwrap_err()
                .contains("fortnights")
        );
        assert!(
            absolute_time("23/11/2026", rome)
                .unwrap_err()
                .contains("is not a time")
        );
    }
}
