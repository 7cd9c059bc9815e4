//! `GET /v1/journeys`: the deployed journeys, each with its versions that still have customers
//! and the customers at each step, as `{"journeys": [...]}`.
//!
//! Left out: deploying over HTTP (deploys come from `journey run`'s files).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::Shared;
use super::errors::Problem;
use crate::api::{Api, JourneyView};

#[derive(Serialize)]
struct Answer {
    journeys: Vec<JourneyView>,
}

/// The handler.
pub(crate) async fn list<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
) -> Result<Json<impl Serialize>, Problem> {
    let journeys = shared.api.journeys().await?;
    Ok(Json(Answer { journeys }))
}
