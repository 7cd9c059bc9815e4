//! JSON request bodies, in the order the checks are made: the content type (415), the size
//! (413, enforced while reading by axum's `DefaultBodyLimit`), the signature over the raw bytes
//! (401, when configured), then the JSON syntax (400 with line and column).
//! What the JSON must contain is each resource's business.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};

use super::auth::Keys;
use super::errors::Problem;

/// Reads a signed JSON body.
pub(crate) fn json(
    keys: &Keys,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<serde_json::Value, Problem> {
    if !is_json(headers) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    let bytes = body?;
    keys.verify_signature(headers, &bytes)?;
    serde_json::from_slice(&bytes).map_err(|error| {
        let mut problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {error}"),
        );
        if error.line() > 0 {
            problem.line = Some(error.line());
            problem.column = Some(error.column());
        }
        problem
    })
}

/// The media type of the body, lower-cased, without parameters (`application/json`).
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or(value).trim();
    Some(essence.to_ascii_lowercase())
}

/// Whether the body is declared as JSON (`application/json` or a `+json` type).
fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|media| {
        media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"))
    })
}

/// A JSON value described for an error message (`the number 3`, `a list`).
pub(crate) fn describe(value: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match value {
        J::Null => "null".to_string(),
        J::Bool(b) => format!("the bool {b}"),
        J::Number(n) => format!("the number {n}"),
        J::String(s) => {
            let shown: String = s.chars().take(40).collect();
            format!("the text \"{shown}\"")
        }
        J::Array(_) => "a list".to_string(),
        J::Object(_) => "an object".to_string(),
    }
}

/// Names close to `name` (typos), closest first (ties: the longest common prefix first), at
/// most three.
pub(crate) fn close_names<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    use journey_compiler::diagnostics::suggest::edit_distance;
    let limit = (name.chars().count() / 3).max(2);
    let prefix = |candidate: &str| {
        name.chars()
            .zip(candidate.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let mut close: Vec<(usize, std::cmp::Reverse<usize>, &str)> = known
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| {
            let distance = edit_distance(name, candidate);
            (distance, std::cmp::Reverse(prefix(candidate)), candidate)
        })
        .filter(|(distance, _, _)| *distance <= limit)
        .collect();
    close.sort();
    close.dedup();
    close
        .into_iter()
        .take(3)
        .map(|(_, _, candidate)| candidate.to_string())
        .collect()
}

/// The rule for customer ids (in paths and events) and idempotency keys: 1 to
/// [`MAX_ID_CHARS`] characters, none of them a control character (Unicode `Cc`: U+0000 to
/// U+001F and U+007F to U+009F). The store puts customer ids inside keys with a 0 byte as
/// separator, so NUL in particular must never reach it. `field` names the id in the error.
pub(crate) fn check_id(id: &str, field: &str) -> Result<(), Problem> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(Problem::invalid_request(
            field,
            ID_EXPECTED,
            describe(&serde_json::Value::String(id.to_string())),
        ))
    }
}

/// Whether `id` follows the rule of [`check_id`].
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= MAX_ID_CHARS && !id.chars().any(char::is_control)
}

/// The longest customer id or idempotency key accepted, in characters (Unicode scalar values,
/// as JSON Schema's `maxLength` counts them).
pub(crate) const MAX_ID_CHARS: usize = 256;

/// How ids are described in errors.
pub(crate) const ID_EXPECTED: &str = "text of 1 to 256 characters without control characters";

/// The JSON Schema pattern of the rule (with `minLength` 1 and `maxLength` [`MAX_ID_CHARS`]).
pub(crate) const ID_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]+$";
