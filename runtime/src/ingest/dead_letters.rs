//! `GET /v1/dead-letters`: messages the delivery gave up on, with the server's last answer, as
//! `{"dead_letters": [...]}`.
//!
//! Left out: paging, and retrying a dead letter over HTTP.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::Shared;
use super::errors::Problem;
use crate::api::{Api, DeadLetterView};

#[derive(Serialize)]
struct Answer {
    dead_letters: Vec<DeadLetterView>,
}

/// The handler.
pub(crate) async fn list<A: Api>(
    State(shared): State<Arc<Shared<A>>>,
) -> Result<Json<impl Serialize>, Problem> {
    let dead_letters = shared.api.dead_letters().await?;
    Ok(Json(Answer { dead_letters }))
}
