//! The one error shape of the API: every 4xx and 5xx answer is
//! `{"error": {"code": "invalid_field", "message": "...", "field": "items[2].price", ...}}`,
//! built here and nowhere else. Codes are stable (clients match on them); messages are for
//! people. The list of codes is repeated in the OpenAPI document (`openapi::ERROR_CODES`).
//!
//! Data that does not fit its schema is described whole: `field`, `expected` and `found` name the
//! first problem, and `problems` lists every one found (at most [`MAX_PROBLEMS`]; in a batch,
//! those of every refused event, each with its `index`), so a client fixes them all in one go.
//!
//! Left out: localised messages.

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::ApiError;
use crate::vm::decode::DecodeError;

/// Seconds a client should wait before retrying when the engine is unavailable.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 5;

/// The most problems one answer lists.
pub(crate) const MAX_PROBLEMS: usize = 100;

/// A refused or failed request, as the API answers it (boxed: it travels in `Result`s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem(Box<Fields>);

/// What an error answer says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Fields {
    /// The HTTP status (not serialized: it is the answer's status line).
    #[serde(skip)]
    pub(crate) status: StatusCode,
    /// What kind of problem, in snake case (`invalid_field`).
    pub(crate) code: &'static str,
    /// A sentence for people.
    pub(crate) message: String,
    /// The field concerned (`customer`, `items[2].price`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
    /// What was expected there (`money such as "19.90 EUR"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expected: Option<String>,
    /// What was found there (`the number 19.9`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) found: Option<String>,
    /// The position of the event in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index: Option<usize>,
    /// Close names, for an unknown name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) candidates: Vec<String>,
    /// Every problem of the body's data (the first is the one `field`, `expected` and `found`
    /// describe); empty, and left out, for other answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) problems: Vec<FieldProblem>,
    /// Where malformed JSON went wrong (1-based line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<usize>,
    /// Where malformed JSON went wrong (1-based column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<usize>,
    /// The `WWW-Authenticate` challenge of a 401 (not serialized: a header).
    #[serde(skip)]
    pub(crate) challenge: Option<&'static str>,
}

/// One problem of a body's data, as `problems` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct FieldProblem {
    /// The field concerned (`items[2].price`).
    pub(crate) field: String,
    /// What was expected there.
    pub(crate) expected: String,
    /// What was found there.
    pub(crate) found: String,
    /// The position of the event in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index: Option<usize>,
}

impl From<DecodeError> for FieldProblem {
    fn from(error: DecodeError) -> Self {
        FieldProblem {
            field: error.field,
            expected: error.expected,
            found: error.found,
            index: None,
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a Fields,
}

impl std::ops::Deref for Problem {
    type Target = Fields;

    fn deref(&self) -> &Fields {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut Fields {
        &mut self.0
    }
}

impl Problem {
    /// A problem with a status, a code and a message.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Problem(Box::new(Fields {
            status,
            code,
            message: message.into(),
            field: None,
            expected: None,
            found: None,
            index: None,
            candidates: Vec::new(),
            problems: Vec::new(),
            line: None,
            column: None,
            challenge: None,
        }))
    }

    /// 400 `invalid_request`: the request's envelope (not the event data) is wrong.
    pub(crate) fn invalid_request(field: &str, expected: &str, found: String) -> Self {
        let mut problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("`{field}` should be {expected}, but is {found}"),
        );
        problem.field = Some(field.to_string());
        problem.expected = Some(expected.to_string());
        problem.found = Some(found);
        problem
    }

    /// 400 `invalid_request`: a key the envelope does not have (`rule` says which it has).
    pub(crate) fn unknown_key(key: &str, rule: &str, candidates: Vec<String>) -> Self {
        let hint = did_you_mean(&candidates);
        let mut problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("unknown key `{key}`: {rule}{hint}"),
        );
        problem.field = Some(key.to_string());
        problem.found = Some("an unknown key".to_string());
        problem.candidates = candidates;
        problem
    }

    /// 404 for a path no route serves.
    pub(crate) fn route_not_found() -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route; the routes are listed at /openapi.json",
        )
    }

    /// 422 `invalid_field`: data that does not fit its schema. `first` is the problem the
    /// fast decoder stopped at, `all` every problem (the same first one included).
    pub(crate) fn invalid_field(subject: &str, first: DecodeError, all: Vec<DecodeError>) -> Self {
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{subject}: {first}"),
        );
        problem.problems = if all.is_empty() {
            vec![FieldProblem::from(first.clone())]
        } else {
            all.into_iter().map(FieldProblem::from).collect()
        };
        problem.field = Some(first.field);
        problem.expected = Some(first.expected);
        problem.found = Some(first.found);
        problem
    }

    /// The same problem, about the event at `index` of a batch.
    pub(crate) fn at_index(mut self, index: Option<usize>) -> Self {
        if let Some(index) = index {
            self.message = format!("event {index} of the batch: {}", self.message);
            self.index = Some(index);
            for problem in &mut self.problems {
                problem.index = Some(index);
            }
        }
        self
    }

    /// The problems of the body's data this answer describes: its list, or itself if it names
    /// a field, what was expected and what was found.
    fn field_problems(&self) -> Vec<FieldProblem> {
        if !self.problems.is_empty() {
            return self.problems.clone();
        }
        match (&self.field, &self.expected, &self.found) {
            (Some(field), Some(expected), Some(found)) => vec![FieldProblem {
                field: field.clone(),
                expected: expected.clone(),
                found: found.clone(),
                index: self.index,
            }],
            _ => Vec::new(),
        }
    }

    /// This refusal followed by `others` (the events of a batch after the first refused one):
    /// the answer describes this one, lists the problems of all of them, and says how many
    /// there are when more than one.
    pub(crate) fn with_others(mut self, others: Vec<Problem>) -> Self {
        let mut problems = self.field_problems();
        problems.extend(others.iter().flat_map(Problem::field_problems));
        let more = problems.len() > MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        if problems.len() > 1 {
            let count = if more {
                format!("more than {MAX_PROBLEMS}")
            } else {
                problems.len().to_string()
            };
            self.message = format!(
                "{} ({count} problems in all, listed in `problems`)",
                self.message
            );
        }
        // A lone problem of the envelope (a missing `customer`) is not a list.
        if problems.len() > 1 || !self.problems.is_empty() {
            self.problems = problems;
        }
        self
    }

    /// The same problem with close names.
    pub(crate) fn with_candidates(mut self, candidates: Vec<String>) -> Self {
        self.candidates = candidates;
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        } else {
            tracing::debug!(status = self.status.as_u16(), code = self.code, message = %self.message, "request refused");
        }
        let mut response = (self.status, axum::Json(Body { error: &self.0 })).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NotFound(message) => {
                Problem::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            ApiError::Unprocessable(message) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
            }
            ApiError::Unavailable(message) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("the engine cannot take requests now ({message}); retry later"),
            ),
            ApiError::Internal(message) => {
                // The engine's words may name files or internals: they go to the log only.
                tracing::error!(%message, "the engine failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the engine failed; nothing was acknowledged, so the request may be retried",
                )
            }
        }
    }
}

impl From<BytesRejection> for Problem {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the body is larger than the server accepts (`max_body_bytes`); send fewer events per request",
            )
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("the body could not be read: {}", rejection.body_text()),
            )
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("the path is not valid: {}", rejection.body_text()),
        )
    }
}

/// ` (did you mean `x`?)` for the closest candidate, or nothing.
pub(crate) fn did_you_mean(candidates: &[String]) -> String {
    match candidates.first() {
        Some(close) => format!(" (did you mean `{close}`?)"),
        None => String::new(),
    }
}

/// The answer to a request for a path no route serves.
pub(crate) async fn not_found() -> Problem {
    Problem::route_not_found()
}

/// The answer to a method a route does not serve (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not serve this method; see the `Allow` header",
    )
}
