//! `GET /v1/journeys`: the deployed journeys, each with its versions that still have customers
//! and the customers at each step, as `{"journeys": [...]}`. `POST /v1/deploy`: compile the
//! journey folder `journey run` serves and deploy it (what `SIGHUP` and `journey deploy` do),
//! answering `{"deployed": ["line per journey", ...], "warnings": "..."}`, or 422 with the compiler's report.
//!
//! Left out: uploading journeys over HTTP (the folder on the server is the one source).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::Shared;
use super::errors::Problem;
use crate::api::{Api, JourneyList};

/// The handler.
pub(crate) async fn list<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
) -> Result<Json<impl Serialize>, Problem> {
    let journeys = shared.api.journeys().await?;
    Ok(Json(JourneyList { journeys }))
}

/// The handler of `POST /v1/deploy` (any body is ignored).
pub(crate) async fn deploy<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
) -> Result<Json<impl Serialize>, Problem> {
    Ok(Json(shared.api.deploy_folder().await?))
}
