//! The one error shape of the API: every 4xx and 5xx answer is
//! `{"error": {"code": "invalid_field", "message": "...", "field": "items[2].price", ...}}`,
//! built here and nowhere else. Codes are stable (clients match on them); messages are for
//! people. The list of codes is repeated in the OpenAPI document (`openapi::ERROR_CODES`).
//!
//! Left out: localised messages, and more than one problem per answer (the first one found is
//! reported; fixing it and retrying shows the next).

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::ApiError;

/// Seconds a client should wait before retrying when the engine is unavailable.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 5;

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

    /// The same problem, about the event at `index` of a batch.
    pub(crate) fn at_index(mut self, index: Option<usize>) -> Self {
        if let Some(index) = index {
            self.message = format!("event {index} of the batch: {}", self.message);
            self.index = Some(index);
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
