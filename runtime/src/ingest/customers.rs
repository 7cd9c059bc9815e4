//! `/v1/customers/{id}`: `PUT` merges profile attributes (a JSON object, checked against the
//! deployed `customer` schema; `null` clears an attribute), `GET` shows the profile, where the
//! customer stands in each journey and the decision log, `DELETE` erases the customer (state,
//! profile and pending messages; the engine anonymises audit entries).
//!
//! Left out: listing or searching customers, and partial reads.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Shared;
use super::body::{self, describe};
use super::errors::{MAX_PROBLEMS, Problem, did_you_mean};
use crate::api::Api;
use crate::vm::decode;

/// `PUT`: merges attributes into the profile; 204 once durable.
pub(crate) async fn put<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, Problem> {
    let Path(id) = id?;
    body::check_id(&id, "id")?;
    let json = body::json(&shared.keys, &headers, body)?;
    let Value::Object(attributes) = json else {
        return Err(Problem::invalid_request(
            "(body)",
            "an object of profile attributes",
            describe(&json),
        ));
    };
    let library = shared.api.library();
    let Some(schema) = library.customer_schema() else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "no journeys are deployed, so there is no customer schema to check attributes against",
        ));
    };
    let known = || schema.fields.iter().map(|(name, _)| name.as_ref());
    let (_, mut problems) = decode::partial(library.schemas(), schema, &attributes);
    problems.extend(zone_problem(&attributes));
    // A misspelt attribute first: the values of the others may be right once it is fixed.
    problems.sort_by_key(|problem| known().any(|name| name == problem.field));
    let mut problems = problems.into_iter();
    if let Some(first) = problems.next() {
        let others: Vec<decode::DecodeError> = problems.take(MAX_PROBLEMS).collect();
        let all = std::iter::once(first.clone()).chain(others).collect();
        let refused = if known().any(|name| name == first.field) {
            Problem::invalid_field("customer attribute", first, all)
        } else {
            unknown_attribute(first, all, known())
        };
        return Err(refused.with_others(Vec::new()));
    }
    shared.api.upsert_profile(id, attributes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A `time_zone` (text in the schema) that is not an IANA zone: every wait and quiet hours of
/// the customer read it, so a name the runtime does not know is refused here rather than found
/// later as UTC in the decision log. Close names are offered.
fn zone_problem(attributes: &serde_json::Map<String, Value>) -> Option<decode::DecodeError> {
    let Some(Value::String(name)) = attributes.get("time_zone") else {
        return None;
    };
    crate::vm::clock::zone(name).err()?;
    let close = body::close_names(name, chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()));
    let expected = match close.first() {
        Some(zone) => format!("an IANA time zone name (did you mean \"{zone}\"?)"),
        None => "an IANA time zone name, such as \"Europe/Rome\"".to_string(),
    };
    Some(decode::DecodeError {
        field: "time_zone".to_string(),
        expected,
        found: describe(&Value::String(name.clone())),
    })
}

/// 422 `unknown_attribute`, for the first of `all` the problems of a profile update: close
/// names if some are, else every attribute the schema has.
fn unknown_attribute<'a>(
    first: decode::DecodeError,
    all: Vec<decode::DecodeError>,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Problem {
    let candidates = body::close_names(&first.field, known.clone());
    let hint = if candidates.is_empty() {
        let names: Vec<String> = known.map(|name| format!("`{name}`")).collect();
        format!("; it has {}", names.join(", "))
    } else {
        did_you_mean(&candidates)
    };
    let mut problem = Problem::invalid_field("customer attribute", first, all);
    problem.code = "unknown_attribute";
    problem.message = format!(
        "the customer schema has no attribute `{}`{hint}",
        problem.field.as_deref().unwrap_or_default()
    );
    problem.with_candidates(candidates)
}

/// `GET`: the customer as the engine shows it; 404 if unknown.
pub(crate) async fn get<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(id) = id?;
    body::check_id(&id, "id")?;
    match shared.api.customer(id.clone()).await? {
        Some(view) => Ok(Json(view).into_response()),
        None => Err(customer_not_found(&id)),
    }
}

/// `DELETE`: erases the customer; 204 once durable, 404 if unknown.
pub(crate) async fn delete<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let Path(id) = id?;
    body::check_id(&id, "id")?;
    if shared.api.erase(id.clone()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(customer_not_found(&id))
    }
}

fn customer_not_found(id: &str) -> Problem {
    let shown: String = id.chars().take(64).collect();
    Problem::new(
        StatusCode::NOT_FOUND,
        "customer_not_found",
        format!("no customer `{shown}`"),
    )
}
