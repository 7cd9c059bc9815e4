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
use super::errors::{Problem, did_you_mean};
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
    if let Some(unknown) = attributes.keys().find(|key| !known().any(|k| k == *key)) {
        let candidates = body::close_names(unknown, known());
        let hint = did_you_mean(&candidates);
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_attribute",
            format!("the customer schema has no attribute `{unknown}`{hint}"),
        )
        .with_candidates(candidates);
        problem.field = Some(unknown.clone());
        return Err(problem);
    }
    let (_, problems) = decode::partial(library.schemas(), schema, &attributes);
    if let Some(error) = problems.into_iter().next() {
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("customer attribute: {error}"),
        );
        problem.field = Some(error.field);
        problem.expected = Some(error.expected);
        problem.found = Some(error.found);
        return Err(problem);
    }
    shared.api.upsert_profile(id, attributes).await?;
    Ok(StatusCode::NO_CONTENT)
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
