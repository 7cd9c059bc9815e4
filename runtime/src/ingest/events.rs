//! `POST /v1/events`: one event, or a batch `{"events": [...]}`, validated against the
//! deployed schemas and handed to the engine; the answer comes once the engine has them on disk.
//!
//! An event is `{"event": "order_placed", "customer": "giulia", "at": "2026-11-23T10:00:00+01:00",
//! "id": "shop-1234", "data": {...}}`. `at` defaults to the time the request arrived (the only
//! clock this module reads); `id` is the idempotency key and defaults to a hash of the customer,
//! the event, the time and the data, so a retried post of the same event is processed once; `data`
//! defaults to `{}`. Other keys are refused, so a misspelled `date` for `data` is caught.
//!
//! A batch is all or nothing: if any event is invalid, none is submitted; the answer describes
//! the first refused event (naming its index) and lists the problems of every refused one. Left out: partial acceptance of batches, and NDJSON.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Shared;
use super::body::{self, ID_EXPECTED, describe};
use super::errors::{MAX_PROBLEMS, Problem, did_you_mean};
use crate::api::{Accepted, Api, Submission};
use crate::vm::{Event, Library, decode};

/// The keys an event may have.
const KEYS: [&str; 5] = ["event", "customer", "at", "id", "data"];

const AT_EXPECTED: &str = "a date and time such as \"2026-11-23T10:00:00+01:00\"";

#[derive(Serialize)]
struct Answer {
    results: Vec<Outcome>,
}

#[derive(Serialize)]
struct Outcome {
    id: String,
    status: Accepted,
}

/// The handler.
pub(crate) async fn post<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<impl Serialize>, Problem> {
    let json = body::json(&shared.keys, &headers, body)?;
    let now = chrono::Utc::now().timestamp();
    let library = shared.api.library();
    let submissions = submissions(&library, json, now, shared.max_batch)?;
    if submissions.is_empty() {
        return Ok(Json(Answer { results: vec![] }));
    }
    let ids: Vec<String> = submissions.iter().map(|s| s.key.clone()).collect();
    let accepted = shared
        .api
        .submit(submissions)
        .await
        .map_err(Problem::from)?;
    if accepted.len() != ids.len() {
        return Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "the engine answered for {} events out of {}",
                accepted.len(),
                ids.len()
            ),
        ));
    }
    let results = ids
        .into_iter()
        .zip(accepted)
        .map(|(id, status)| Outcome { id, status })
        .collect();
    Ok(Json(Answer { results }))
}

/// Every event of the body, validated; the first problem refuses them all.
fn submissions(
    library: &Library,
    json: Value,
    now: i64,
    max_batch: usize,
) -> Result<Vec<Submission>, Problem> {
    let Value::Object(mut object) = json else {
        return Err(Problem::invalid_request(
            "(body)",
            "an event object, or {\"events\": [...]}",
            describe(&json),
        ));
    };
    let Some(events) = object.remove("events") else {
        return submission(library, object, None, now)
            .map(|one| vec![one])
            .map_err(|refused| refused.with_others(Vec::new()));
    };
    if let Some(key) = object.keys().next() {
        return Err(Problem::unknown_key(
            key,
            "a batch has only `events`",
            Vec::new(),
        ));
    }
    let Value::Array(events) = events else {
        return Err(Problem::invalid_request(
            "events",
            "a list of event objects",
            describe(&events),
        ));
    };
    if events.len() > max_batch {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "the batch has {} events; at most {max_batch} are accepted per request",
                events.len()
            ),
        ));
    }
    // Every event is checked, so the answer lists the problems of all the refused ones.
    let mut accepted = Vec::with_capacity(events.len());
    let mut refused = Vec::new();
    for (idx, event) in events.into_iter().enumerate() {
        let result = match event {
            Value::Object(object) => submission(library, object, Some(idx), now),
            other => Err(Problem::invalid_request(
                &format!("events[{idx}]"),
                "an event object",
                describe(&other),
            )
            .at_index(Some(idx))),
        };
        match result {
            Ok(one) => accepted.push(one),
            Err(problem) => refused.push(problem),
        }
        if refused.len() > MAX_PROBLEMS {
            break;
        }
    }
    let mut refused = refused.into_iter();
    match refused.next() {
        Some(first) => Err(first.with_others(refused.collect())),
        None => Ok(accepted),
    }
}

/// One event: the envelope, then the event name, then the data against its schema.
fn submission(
    library: &Library,
    mut object: Map<String, Value>,
    index: Option<usize>,
    now: i64,
) -> Result<Submission, Problem> {
    let fail = |problem: Problem| problem.at_index(index);
    if let Some(key) = object.keys().find(|key| !KEYS.contains(&key.as_str())) {
        let candidates = body::close_names(key, KEYS);
        return Err(fail(Problem::unknown_key(
            key,
            "an event has only `event`, `customer`, `at`, `id` and `data`",
            candidates,
        )));
    }
    let name = match object.remove("event") {
        Some(Value::String(name)) if !name.is_empty() => name,
        other => return Err(fail(wrong("event", "the event's name", other))),
    };
    let customer = match object.remove("customer") {
        Some(Value::String(customer)) => customer,
        other => return Err(fail(wrong("customer", "the customer's id", other))),
    };
    body::check_id(&customer, "customer").map_err(fail)?;
    let at = match object.remove("at") {
        None | Some(Value::Null) => now,
        Some(Value::String(text)) => match chrono::DateTime::parse_from_rfc3339(&text) {
            Ok(at) => at.timestamp(),
            Err(_) => return Err(fail(wrong("at", AT_EXPECTED, Some(Value::String(text))))),
        },
        other => return Err(fail(wrong("at", AT_EXPECTED, other))),
    };
    let id = match object.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if body::is_valid_id(&id) => Some(id),
        other => return Err(fail(wrong("id", ID_EXPECTED, other))),
    };
    let data = match object.remove("data") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(data) => data,
    };

    let Some(schema) = library.event_schema(&name) else {
        let known = library
            .schemas()
            .iter()
            .filter(|s| s.is_event)
            .map(|s| s.name.as_str());
        let candidates = body::close_names(&name, known);
        let hint = did_you_mean(&candidates);
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_event",
            format!("unknown event `{name}`: the deployed journeys declare no such event{hint}"),
        )
        .with_candidates(candidates);
        problem.field = Some("event".to_string());
        problem.expected = Some("the name of an event the deployed journeys declare".to_string());
        problem.found = Some(format!("`{name}`"));
        return Err(fail(problem));
    };
    if let Err(first) = decode::record(library.schemas(), schema, &data, "") {
        let all = decode::record_problems(library.schemas(), schema, &data, MAX_PROBLEMS + 1);
        return Err(fail(Problem::invalid_field(
            &format!("event `{name}`"),
            first,
            all,
        )));
    }

    let key = id.unwrap_or_else(|| content_key(&customer, &name, at, &data));
    Ok(Submission {
        customer,
        event: Event {
            id: key.clone(),
            name,
            at,
            data,
        },
        key,
    })
}

/// An envelope field that is missing or of the wrong kind.
fn wrong(field: &str, expected: &str, found: Option<Value>) -> Problem {
    let found = match found {
        None => "missing".to_string(),
        Some(value) => describe(&value),
    };
    Problem::invalid_request(field, expected, found)
}

/// The idempotency key of an event sent without one: a hash of what it says.
fn content_key(customer: &str, name: &str, at: i64, data: &Value) -> String {
    let mut hasher = Sha256::new();
    for part in [customer, name, &at.to_string(), &data.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("auto-{hex}")
}
