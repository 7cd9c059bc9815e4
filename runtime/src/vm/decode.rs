//! Event data and profile attributes as the shop sends them (JSON) -> typed [`Value`]s, checked
//! against the compiled schemas. Every problem names the field and the expected type.
//!
//! Accepted forms: text, email and url as strings; int as a whole number (`3`, or `3.0`);
//! decimal as a number below 10^12 in magnitude (rounded to six decimal places) or a string
//! (`"3.5"`); money as `"19.90 EUR"`, `"EUR 19.90"`, `"€19.90"` or
//! `{"amount": "19.90", "currency": "EUR"}`; bool as `true`/`false`; date as `"2026-11-23"`;
//! datetime as RFC 3339 (`"2026-11-23T10:00:00+01:00"`); time as `"09:30"`; duration as whole
//! seconds; lists as arrays; records as objects. `null` or an absent field is "not set", which
//! only an optional (`?`) field may be. Fields the schema does not know are ignored, so a shop
//! can send more than its journeys read.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use journey_compiler::bytecode::value::parse_micros;
use journey_compiler::bytecode::{Currency, FieldType, Record, Schema, Value};

/// Why data did not fit its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The path of the field (`items[2].price`).
    pub field: String,
    /// What was expected there.
    pub expected: String,
    /// What was found.
    pub found: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "field `{}` should be {}, but is {}",
            self.field, self.expected, self.found
        )
    }
}

/// Decodes a record of `schema` (all fields; required ones must be present).
pub fn record(
    schemas: &[Schema],
    schema: &Schema,
    json: &serde_json::Value,
    path: &str,
) -> Result<Value, DecodeError> {
    record_here(schemas, schema, json).map_err(|error| under(path, error))
}

/// The field of an error about the whole data, when it is not an object.
const WHOLE: &str = "(data)";

/// Paths are built only for errors: the functions below report the field relative to where
/// they decode (empty: right there), and each level puts its own part in front while unwinding.
fn under(parent: &str, mut error: DecodeError) -> DecodeError {
    let rel = if error.field == WHOLE {
        ""
    } else {
        error.field.as_str()
    };
    if parent.is_empty() {
        return error;
    }
    let mut field = String::with_capacity(parent.len() + rel.len() + 1);
    field.push_str(parent);
    if !rel.is_empty() && !rel.starts_with('[') {
        field.push('.');
    }
    field.push_str(rel);
    error.field = field;
    error
}

fn record_here(
    schemas: &[Schema],
    schema: &Schema,
    json: &serde_json::Value,
) -> Result<Value, DecodeError> {
    let serde_json::Value::Object(object) = json else {
        return Err(DecodeError {
            field: WHOLE.to_string(),
            expected: format!("an object with the fields of `{}`", schema.name),
            found: describe(json),
        });
    };
    let mut fields = Vec::with_capacity(schema.fields.len());
    // The schema lists its fields by name and serde_json's map iterates by key: walk both at
    // once instead of searching the map for each field. A field the walk does not meet is
    // looked up, so an object in another order (serde_json's `preserve_order`) decodes the same.
    let mut entries = object.iter().peekable();
    for (name, ty) in &schema.fields {
        let mut found = None;
        while let Some((key, value)) = entries.peek() {
            match key.as_str().cmp(name.as_ref()) {
                std::cmp::Ordering::Less => {
                    entries.next();
                }
                std::cmp::Ordering::Equal => {
                    found = Some(*value);
                    entries.next();
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        let json = found
            .or_else(|| object.get(name.as_ref()))
            .unwrap_or(&serde_json::Value::Null);
        let value = decode_here(schemas, ty, json).map_err(|error| under(name, error))?;
        fields.push((name.clone(), value));
    }
    Ok(Value::record(Record { fields }))
}

/// Every problem of data for a record of `schema`, in the order of the schema's fields and
/// depth first, at most `limit`. The decoders above stop at the first problem (the fast path
/// of every accepted event); this walk runs only for data already refused, so an answer can
/// name all that is wrong at once. Empty if the data fits.
pub fn record_problems(
    schemas: &[Schema],
    schema: &Schema,
    json: &serde_json::Value,
    limit: usize,
) -> Vec<DecodeError> {
    let mut out = Vec::new();
    collect_record(schemas, schema, json, "", limit, &mut out);
    out
}

fn collect_record(
    schemas: &[Schema],
    schema: &Schema,
    json: &serde_json::Value,
    path: &str,
    limit: usize,
    out: &mut Vec<DecodeError>,
) {
    let serde_json::Value::Object(object) = json else {
        if let Err(error) = record_here(schemas, schema, json) {
            out.push(under(path, error));
        }
        return;
    };
    for (name, ty) in &schema.fields {
        if out.len() >= limit {
            return;
        }
        let json = object
            .get(name.as_ref())
            .unwrap_or(&serde_json::Value::Null);
        let field = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        collect(schemas, ty, json, &field, limit, out);
    }
}

/// The problems of one value, descending into lists and records where [`decode_here`] would.
fn collect(
    schemas: &[Schema],
    ty: &FieldType,
    json: &serde_json::Value,
    path: &str,
    limit: usize,
    out: &mut Vec<DecodeError>,
) {
    use serde_json::Value as J;
    match (ty, json) {
        (FieldType::Optional(_), J::Null) => {}
        (FieldType::Optional(inner), _) => collect(schemas, inner, json, path, limit, out),
        (FieldType::List(inner), J::Array(items)) => {
            for (idx, item) in items.iter().enumerate() {
                if out.len() >= limit {
                    return;
                }
                collect(schemas, inner, item, &format!("{path}[{idx}]"), limit, out);
            }
        }
        (FieldType::Record(idx), J::Object(_)) if (*idx as usize) < schemas.len() => {
            if let Some(schema) = schemas.get(*idx as usize) {
                collect_record(schemas, schema, json, path, limit, out);
            }
        }
        _ => {
            if let Err(error) = decode(schemas, ty, json, path) {
                out.push(error);
            }
        }
    }
}

/// Decodes some attributes of a record (a profile update): only the fields given. Attributes
/// that fit are returned with the problems of those that do not, so one bad attribute does not
/// hold back the others.
pub fn partial(
    schemas: &[Schema],
    schema: &Schema,
    object: &serde_json::Map<String, serde_json::Value>,
) -> (Vec<(Arc<str>, Value)>, Vec<DecodeError>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, json) in object {
        let Some((field, ty)) = schema.fields.iter().find(|(f, _)| f.as_ref() == name) else {
            problems.push(DecodeError {
                field: name.clone(),
                expected: format!("an attribute of `{}`", schema.name),
                found: "an unknown attribute".to_string(),
            });
            continue;
        };
        // An attribute may always be cleared in an update; reading it is checked by the journeys.
        if json.is_null() {
            out.push((field.clone(), Value::Missing));
            continue;
        }
        match decode(schemas, ty, json, name) {
            Ok(value) => out.push((field.clone(), value)),
            Err(error) => problems.push(error),
        }
    }
    (out, problems)
}

fn describe(json: &serde_json::Value) -> String {
    match json {
        serde_json::Value::Null => "missing".to_string(),
        serde_json::Value::Bool(b) => format!("the bool {b}"),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            format!("the text \"{shown}\"")
        }
        serde_json::Value::Array(_) => "a list".to_string(),
        serde_json::Value::Object(_) => "an object".to_string(),
    }
}

fn expected(schemas: &[Schema], ty: &FieldType) -> String {
    match ty {
        FieldType::Text => "text".to_string(),
        FieldType::Int => "a whole number".to_string(),
        FieldType::Decimal => "a number".to_string(),
        FieldType::Money => "money such as \"19.90 EUR\"".to_string(),
        FieldType::Bool => "true or false".to_string(),
        FieldType::Date => "a date such as \"2026-11-23\"".to_string(),
        FieldType::DateTime => "a date and time such as \"2026-11-23T10:00:00+01:00\"".to_string(),
        FieldType::Time => "a time such as \"09:30\"".to_string(),
        FieldType::Duration => "a number of seconds".to_string(),
        FieldType::Email => "an email address".to_string(),
        FieldType::Url => "a web address (http:// or https://)".to_string(),
        FieldType::List(inner) => format!("a list of {}", plural(schemas, inner)),
        FieldType::Record(idx) => schemas.get(*idx as usize).map_or_else(
            || "an object".to_string(),
            |s| {
                let article = if s.name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                format!("{article} `{}` object", s.name)
            },
        ),
        FieldType::Optional(inner) => expected(schemas, inner),
        FieldType::Any => "a value".to_string(),
    }
}

/// What a list of `ty` holds, in the plural (`a list of whole numbers`).
fn plural(schemas: &[Schema], ty: &FieldType) -> String {
    match ty {
        FieldType::Text => "text".to_string(),
        FieldType::Int => "whole numbers".to_string(),
        FieldType::Decimal => "numbers".to_string(),
        FieldType::Money => "amounts of money such as \"19.90 EUR\"".to_string(),
        FieldType::Bool => "true or false values".to_string(),
        FieldType::Date => "dates such as \"2026-11-23\"".to_string(),
        FieldType::DateTime => "dates and times such as \"2026-11-23T10:00:00+01:00\"".to_string(),
        FieldType::Time => "times such as \"09:30\"".to_string(),
        FieldType::Duration => "numbers of seconds".to_string(),
        FieldType::Email => "email addresses".to_string(),
        FieldType::Url => "web addresses (http:// or https://)".to_string(),
        FieldType::List(inner) => format!("lists of {}", plural(schemas, inner)),
        FieldType::Record(idx) => schemas.get(*idx as usize).map_or_else(
            || "objects".to_string(),
            |s| format!("`{}` objects", s.name),
        ),
        FieldType::Optional(inner) => plural(schemas, inner),
        FieldType::Any => "values".to_string(),
    }
}

/// Decodes one value of a field type.
pub fn decode(
    schemas: &[Schema],
    ty: &FieldType,
    json: &serde_json::Value,
    path: &str,
) -> Result<Value, DecodeError> {
    decode_here(schemas, ty, json).map_err(|error| under(path, error))
}

fn decode_here(
    schemas: &[Schema],
    ty: &FieldType,
    json: &serde_json::Value,
) -> Result<Value, DecodeError> {
    use serde_json::Value as J;
    let fail = || DecodeError {
        field: String::new(),
        expected: expected(schemas, ty),
        found: describe(json),
    };
    if let FieldType::Optional(inner) = ty {
        return if json.is_null() {
            Ok(Value::Missing)
        } else {
            decode_here(schemas, inner, json)
        };
    }
    match (ty, json) {
        (_, J::Null) => Err(fail()),
        (FieldType::Text, J::String(s)) => Ok(Value::text(s)),
        (FieldType::Email, J::String(s)) => {
            let valid = s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
            });
            if valid {
                Ok(Value::text(s))
            } else {
                Err(fail())
            }
        }
        (FieldType::Url, J::String(s)) => {
            if (s.starts_with("https://") || s.starts_with("http://"))
                && !s.contains(char::is_whitespace)
            {
                Ok(Value::text(s))
            } else {
                Err(fail())
            }
        }
        (FieldType::Int, J::Number(n)) => whole(n).map(Value::Int).ok_or_else(fail),
        (FieldType::Decimal, J::Number(n)) => number_micros(n).map(Value::Decimal).ok_or_else(fail),
        (FieldType::Decimal, J::String(s)) => parse_micros(s).map(Value::Decimal).ok_or_else(fail),
        (FieldType::Money, J::String(s)) => money_text(s).ok_or_else(fail),
        (FieldType::Money, J::Object(object)) => {
            let amount = match object.get("amount") {
                Some(J::String(s)) => parse_micros(s),
                Some(J::Number(n)) => number_micros(n),
                _ => None,
            };
            let currency = match object.get("currency") {
                Some(J::String(s)) => Currency::parse(s),
                _ => None,
            };
            match (amount, currency) {
                (Some(micros), Some(currency)) => Ok(Value::Money { micros, currency }),
                _ => Err(fail()),
            }
        }
        (FieldType::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (FieldType::Date, J::String(s)) => date(s)
            .map(|d| Value::Date(d.num_days_from_ce()))
            .ok_or_else(fail),
        (FieldType::DateTime, J::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| Value::DateTime(d.timestamp()))
            .map_err(|_| fail()),
        (FieldType::Time, J::String(s)) => NaiveTime::parse_from_str(s, "%H:%M")
            .map(|t| Value::Time(t.num_seconds_from_midnight()))
            .map_err(|_| fail()),
        (FieldType::Duration, J::Number(n)) => whole(n).map(Value::Duration).ok_or_else(fail),
        (FieldType::List(inner), J::Array(items)) => {
            let mut values = Vec::with_capacity(items.len());
            for (idx, item) in items.iter().enumerate() {
                let value = decode_here(schemas, inner, item)
                    .map_err(|error| under(&format!("[{idx}]"), error))?;
                values.push(value);
            }
            Ok(Value::list(values))
        }
        (FieldType::Record(idx), J::Object(_)) => match schemas.get(*idx as usize) {
            Some(schema) => record_here(schemas, schema, json),
            None => Err(fail()),
        },
        (FieldType::Any, other) => Ok(any(other)),
        _ => Err(fail()),
    }
}

/// A date written `YYYY-MM-DD`. The usual form is read directly (chrono's pattern parser costs
/// more than the rest of an event's decoding); anything else goes to chrono, which also takes
/// one-digit months and days.
fn date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes.get(range)?.iter().try_fold(0u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    if bytes.len() == 10
        && bytes.get(4) == Some(&b'-')
        && bytes.get(7) == Some(&b'-')
        && let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10))
    {
        return NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// A JSON number as a whole number: an integer, or a number written with a zero fraction
/// (`3.0`, `1e3`: JSON and JSON Schema do not tell them apart) whose value is exact (at most
/// 2^53 in magnitude, where every whole number is a distinct float).
fn whole(n: &serde_json::Number) -> Option<i64> {
    if let Some(int) = n.as_i64() {
        return Some(int);
    }
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let float = n.as_f64()?;
    if float.fract() == 0.0 && float.abs() <= EXACT {
        // In range and whole: the conversion is exact.
        Some(float as i64)
    } else {
        None
    }
}

/// The bound (exclusive) of a decimal or amount given as a JSON number: twelve digits before
/// the point, as in the text form the OpenAPI document describes.
pub const NUMBER_LIMIT: i64 = 1_000_000_000_000;

/// A decimal given as a JSON number, in millionths: a whole number exactly, a fraction rounded
/// to six decimal places (a JSON number with a fraction is a binary approximation, `19.9` is
/// 19.899999999999998…, so it is read at the precision of the type); `None` out of
/// (-[`NUMBER_LIMIT`], [`NUMBER_LIMIT`]).
fn number_micros(n: &serde_json::Number) -> Option<i64> {
    use journey_compiler::bytecode::value::MICROS;
    if let Some(int) = n.as_i64() {
        return (int.unsigned_abs() < NUMBER_LIMIT.unsigned_abs()).then(|| int * MICROS);
    }
    let float = n.as_f64()?;
    // Below 10^12 in magnitude, the millionths stay below 10^18: no overflow.
    (float.is_finite() && float.abs() < NUMBER_LIMIT as f64)
        .then(|| (float * MICROS as f64).round() as i64)
}

/// Money written as text: `19.90 EUR`, `EUR 19.90`, `€19.90`, `19.90€`, `$5`, `£5`.
pub fn money_text(text: &str) -> Option<Value> {
    let text = text.trim();
    let symbols = [("€", "EUR"), ("$", "USD"), ("£", "GBP"), ("¥", "JPY")];
    for (symbol, code) in symbols {
        if let Some(rest) = text
            .strip_prefix(symbol)
            .or_else(|| text.strip_suffix(symbol))
        {
            return Some(Value::Money {
                micros: parse_micros(rest.trim())?,
                currency: Currency::parse(code)?,
            });
        }
    }
    let (a, b) = text.split_once(char::is_whitespace)?;
    let (amount, code) = if a.chars().all(|c| c.is_ascii_alphabetic()) {
        (b, a)
    } else {
        (a, b)
    };
    Some(Value::Money {
        micros: parse_micros(amount.trim())?,
        currency: Currency::parse(code.trim())?,
    })
}

fn any(json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Missing,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| parse_micros(&n.to_string()).map(Value::Decimal))
            .unwrap_or(Value::Missing),
        J::String(s) => Value::text(s),
        J::Array(items) => Value::list(items.iter().map(any).collect()),
        J::Object(object) => Value::record(Record::from_pairs(
            object.iter().map(|(k, v)| (Arc::from(k.as_str()), any(v))),
        )),
    }
}

/// A value back to JSON, in the forms this module accepts (for logs and timelines).
pub fn to_json(value: &Value) -> serde_json::Value {
    use journey_compiler::bytecode::value::show_micros;
    use serde_json::Value as J;
    match value {
        Value::Missing => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) => J::from(*n),
        Value::Decimal(micros) => J::String(show_micros(*micros)),
        Value::Money { micros, currency } => {
            J::String(format!("{} {}", show_micros(*micros), currency.code()))
        }
        Value::Text(text) => J::String(text.to_string()),
        Value::Date(days) => J::String(
            NaiveDate::from_num_days_from_ce_opt(*days)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        ),
        Value::DateTime(seconds) => J::String(
            chrono::DateTime::from_timestamp(*seconds, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
        ),
        Value::Time(seconds) => {
            J::String(format!("{:02}:{:02}", seconds / 3600, seconds % 3600 / 60))
        }
        Value::Duration(seconds) => J::from(*seconds),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Record(record) => J::Object(
            record
                .fields
                .iter()
                .map(|(name, value)| (name.to_string(), to_json(value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_read_as_chrono_reads_them() {
        for text in [
            "2026-11-23",
            "2024-02-29",
            "2025-02-29",
            "2026-13-01",
            "2026-00-10",
            "0000-01-01",
            "9999-12-31",
            "2026-1-5",
            "2026-01-5",
            "26-01-05",
            "2026/01/05",
            "2026-01-05 ",
            " 2026-01-05",
            "2026-01-0x",
            "+2026-01-05",
            "",
            "2026-01-05T10:00:00",
        ] {
            assert_eq!(
                date(text),
                NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_walk_passes_over_unknown_keys_and_missing_fields() {
        let schema = Schema {
            name: "e".to_string(),
            is_event: true,
            fields: vec![
                (Arc::from("a"), FieldType::Int),
                (
                    Arc::from("b"),
                    FieldType::Optional(Box::new(FieldType::Int)),
                ),
                (Arc::from("c"), FieldType::Int),
            ],
        };
        // Inserted out of order (serde_json's map sorts them), with a key the schema does not
        // know after every field and an optional field absent between two present ones.
        let mut object = serde_json::Map::new();
        object.insert("zz".to_string(), serde_json::json!(0));
        object.insert("c".to_string(), serde_json::json!(3));
        object.insert("a".to_string(), serde_json::json!(1));
        let value = record(&[], &schema, &serde_json::Value::Object(object), "").unwrap();
        let Value::Record(record) = value else {
            panic!("not a record")
        };
        assert_eq!(record.get("a"), Some(&Value::Int(1)));
        assert_eq!(record.get("b"), Some(&Value::Missing));
        assert_eq!(record.get("c"), Some(&Value::Int(3)));
    }

    #[test]
    fn errors_name_the_whole_path_of_the_field() {
        let item = Schema {
            name: "item".to_string(),
            is_event: false,
            fields: vec![(Arc::from("price"), FieldType::Money)],
        };
        let order = Schema {
            name: "order_placed".to_string(),
            is_event: true,
            fields: vec![
                (
                    Arc::from("items"),
                    FieldType::List(Box::new(FieldType::Record(0))),
                ),
                (Arc::from("total"), FieldType::Money),
            ],
        };
        let schemas = [item, order.clone()];
        let field = |json: &str, path: &str| {
            record(&schemas, &order, &serde_json::from_str(json).unwrap(), path)
                .unwrap_err()
                .field
        };
        let ok = r#"{"items": [{"price": "1 EUR"}], "total": "1 EUR"}"#;
        assert!(record(&schemas, &order, &serde_json::from_str(ok).unwrap(), "").is_ok());
        assert_eq!(field(r#"{"items": [], "total": 3}"#, ""), "total");
        assert_eq!(
            field(r#"{"items": [{"price": "1 EUR"}, {"price": 2}]}"#, ""),
            "items[1].price"
        );
        assert_eq!(
            field(r#"{"items": [{"price": "1 EUR"}, 5]}"#, ""),
            "items[1]"
        );
        assert_eq!(field(r#"{"items": 5}"#, "data"), "data.items");
        assert_eq!(field("5", ""), "(data)");
        assert_eq!(field("5", "data"), "data");
        let list = FieldType::List(Box::new(FieldType::List(Box::new(FieldType::Int))));
        let json = serde_json::from_str("[[1], [2, \"x\"]]").unwrap();
        assert_eq!(
            decode(&schemas, &list, &json, "").unwrap_err().field,
            "[1][1]"
        );
        assert_eq!(
            decode(&schemas, &list, &json, "n").unwrap_err().field,
            "n[1][1]"
        );
    }

    #[test]
    fn money_is_read_in_every_documented_form() {
        let expected = Value::Money {
            micros: 19_900_000,
            currency: Currency::parse("EUR").unwrap(),
        };
        for text in ["19.90 EUR", "EUR 19.90", "€19.90", "19.90€", "19.9 eur"] {
            assert_eq!(money_text(text), Some(expected.clone()), "{text}");
        }
        assert_eq!(money_text("nineteen EUR"), None);
        assert_eq!(money_text("19.90"), None);
    }

    #[test]
    fn a_decimal_number_is_read_to_six_places_within_twelve_digits() {
        let decimal = |text: &str| {
            decode(
                &[],
                &FieldType::Decimal,
                &serde_json::from_str(text).unwrap(),
                "d",
            )
        };
        assert_eq!(decimal("19.9"), Ok(Value::Decimal(19_900_000)));
        assert_eq!(decimal("0.000003"), Ok(Value::Decimal(3))); // shown as 3e-6 by serde_json
        assert_eq!(
            decimal("-999999999999"),
            Ok(Value::Decimal(-999_999_999_999_000_000))
        );
        assert!(decimal("-1000000000000").is_err());
        assert!(decimal("1e12").is_err());
        assert!(decimal("1e300").is_err());
    }

    #[test]
    fn a_whole_number_may_be_written_with_a_zero_fraction() {
        let int = |text: &str| {
            decode(
                &[],
                &FieldType::Int,
                &serde_json::from_str(text).unwrap(),
                "n",
            )
        };
        assert_eq!(int("3"), Ok(Value::Int(3)));
        assert_eq!(int("-34946.0"), Ok(Value::Int(-34946)));
        assert_eq!(int("1e3"), Ok(Value::Int(1000)));
        assert_eq!(int("9223372036854775807"), Ok(Value::Int(i64::MAX)));
        assert!(int("3.5").is_err());
        assert!(int("1e300").is_err());
        assert!(int("18014398509481984.0").is_err()); // 2^54: not every whole number is exact there
    }
}
