//! The OpenAPI 3.1 document served at `/openapi.json`: every route of the router, its request
//! and response schemas, the security schemes and the error answers.
//!
//! The fixed part is written here as JSON; the event and profile schemas are generated from the
//! deployed programs at each request, so the document says exactly what `POST /v1/events` and
//! `PUT /v1/customers/{id}` accept today: one envelope per event name with its `data` fields
//! typed as `vm::decode` reads them (the patterns describe forms the decoder accepts, e.g.
//! money as `"19.90 EUR"`; the decoder accepts a few more, such as `"€19.90"`).
//! The security requirements follow the configuration: the bearer scheme is listed only when a
//! token is configured, the signature scheme only when signatures are, under the configured
//! header name. Ids follow `body::check_id` (`CustomerId`, `IdempotencyKey`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use journey_compiler::bytecode::{FieldType, Schema};
use serde_json::{Map, Value, json};

use super::Shared;
use super::auth::{Keys, Secret};
use super::body::{ID_PATTERN, MAX_ID_CHARS};
use super::errors::MAX_PROBLEMS;
use crate::api::Api;
use crate::vm::Library;
use crate::vm::decode::NUMBER_LIMIT;

/// Every `code` an error answer may carry.
pub(crate) const ERROR_CODES: [&str; 17] = [
    "malformed_json",
    "invalid_request",
    "unsupported_media_type",
    "body_too_large",
    "batch_too_large",
    "unauthorized",
    "bad_signature",
    "not_found",
    "customer_not_found",
    "invalid_unsubscribe_link",
    "method_not_allowed",
    "unknown_event",
    "unknown_attribute",
    "invalid_field",
    "unprocessable",
    "unavailable",
    "internal",
];

/// A decimal as text the decoder reads (at most six decimals).
const DECIMAL_PATTERN: &str = r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$";

/// The characters Rust's `char::is_whitespace` calls white space (Unicode `White_Space`),
/// spelled out for patterns: `\s` means other sets in other regex dialects (ECMA 262 adds
/// U+FEFF and leaves out U+0085; Python adds U+001C to U+001F).
const WHITE_SPACE: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// The handler of `GET /openapi.json`.
pub(crate) async fn get<A: Api>(State(shared): State<Arc<Shared<A>>>) -> Json<Value> {
    Json(document(
        &shared.api.library(),
        &shared.keys,
        shared.max_batch,
    ))
}

/// The document for the deployed programs, the configured credentials and batch limit.
pub(crate) fn document(library: &Library, keys: &Keys, max_batch: usize) -> Value {
    // A token that is configured but unreadable still guards the routes (they answer 500).
    let tokened = !matches!(keys.token, Secret::Off);
    let signed = !matches!(keys.hmac, Secret::Off);
    let mut requirement = Map::new();
    if tokened {
        requirement.insert("bearer".to_string(), json!([]));
    }
    let security = if tokened {
        json!([requirement.clone()])
    } else {
        json!([])
    };
    if signed {
        requirement.insert("signature".to_string(), json!([]));
    }
    let body_security = if requirement.is_empty() {
        json!([])
    } else {
        json!([requirement])
    };
    let mut schemas = fixed_schemas(max_batch);
    add_program_schemas(library, &mut schemas);
    let mut security_schemes = Map::new();
    if tokened {
        security_schemes.insert(
            "bearer".to_string(),
            json!({
                "type": "http",
                "scheme": "bearer",
                "description": "The API token of the ingest configuration (`token` or `token_env`)."
            }),
        );
    }
    if signed {
        security_schemes.insert(
            "signature".to_string(),
            json!({
                "type": "apiKey",
                "in": "header",
                "name": keys.signature_header.as_str(),
                "description": "`sha256=` followed by the hex HMAC-SHA256 of the raw body, keyed with the configured `hmac_secret`."
            }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "journey ingest",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Events and profiles from the shop into the journey engine; customers, journeys and dead letters out. Every error answer has the shape of `Error`."
        },
        "security": security,
        "paths": paths(&body_security),
        "components": {
            "schemas": schemas,
            "responses": responses(),
            "securitySchemes": security_schemes
        }
    })
}

fn error_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// The error answers of an operation, by status.
fn errors(statuses: &[&str]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|status| {
            let name = match *status {
                "400" => "BadRequest",
                "401" => "Unauthorized",
                "404" => "NotFound",
                "413" => "PayloadTooLarge",
                "415" => "UnsupportedMediaType",
                "422" => "Unprocessable",
                "503" => "Unavailable",
                _ => "Internal",
            };
            (status.to_string(), error_ref(name))
        })
        .collect()
}

/// An operation's responses: the success ones plus the errors.
fn answers(success: Value, error_statuses: &[&str]) -> Value {
    let mut all = match success {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    all.extend(errors(error_statuses));
    Value::Object(all)
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn paths(body_security: &Value) -> Value {
    let html = json!({ "text/html": { "schema": { "type": "string" } } });
    json!({
        "/v1/events": {
            "post": {
                "operationId": "submitEvents",
                "summary": "Submit one event or a batch",
                "description": "One event object, or `{\"events\": [...]}` (at most `max_batch`). Every event is validated against the deployed schemas; a batch with any invalid event is refused whole and the error names its `index`. The answer comes once the events are durable. An event without `id` gets one derived from its customer, name, time and data, so an identical retry is a duplicate.",
                "security": body_security,
                "requestBody": {
                    "required": true,
                    "content": json_content(json!({
                        "oneOf": [schema_ref("Event"), schema_ref("EventBatch")]
                    }))
                },
                "responses": answers(json!({
                    "200": {
                        "description": "Every event is stored durably (or was already).",
                        "content": json_content(schema_ref("SubmitResults"))
                    }
                }), &["400", "401", "413", "415", "422", "500", "503"])
            }
        },
        "/v1/customers/{id}": {
            "parameters": [{
                "name": "id", "in": "path", "required": true,
                "description": "The customer's id.",
                "schema": schema_ref("CustomerId")
            }],
            "get": {
                "operationId": "getCustomer",
                "summary": "A customer's profile, journeys, pending waits and decision log",
                "responses": answers(json!({
                    "200": {
                        "description": "The customer.",
                        "content": json_content(schema_ref("Customer"))
                    }
                }), &["400", "401", "404", "500", "503"])
            },
            "put": {
                "operationId": "upsertProfile",
                "summary": "Merge attributes into a customer's profile (creating the customer)",
                "description": "Attributes are checked against the deployed `customer` schema; `null` clears one.",
                "security": body_security,
                "requestBody": {
                    "required": true,
                    "content": json_content(schema_ref("Profile"))
                },
                "responses": answers(json!({
                    "204": { "description": "The profile is updated durably." }
                }), &["400", "401", "404", "413", "415", "422", "500", "503"])
            },
            "delete": {
                "operationId": "eraseCustomer",
                "summary": "Erase a customer: state, profile, pending messages; audit entries anonymised",
                "responses": answers(json!({
                    "204": { "description": "The customer is erased." }
                }), &["400", "401", "404", "500", "503"])
            }
        },
        "/v1/journeys": {
            "get": {
                "operationId": "listJourneys",
                "summary": "Deployed journeys, their versions and customers per step",
                "responses": answers(json!({
                    "200": {
                        "description": "The journeys.",
                        "content": json_content(json!({
                            "type": "object",
                            "required": ["journeys"],
                            "properties": {
                                "journeys": { "type": "array", "items": schema_ref("Journey") }
                            }
                        }))
                    }
                }), &["401", "500", "503"])
            }
        },
        "/v1/deploy": {
            "post": {
                "operationId": "deploy",
                "summary": "Compile the journey folder of the server and deploy it (as SIGHUP does)",
                "description": "Changed journeys become new versions; customers mid-journey stay on theirs unless a `migrate` block moves them. A folder that does not compile is refused with the compiler's report (422) and the running versions stay. Any request body is ignored.",
                "responses": answers(json!({
                    "200": {
                        "description": "Deployed: one line per journey saying what changed.",
                        "content": json_content(json!({
                            "type": "object",
                            "required": ["deployed", "warnings"],
                            "properties": {
                                "deployed": { "type": "array", "items": { "type": "string" } },
                                "warnings": { "type": "string", "description": "The compiler's warnings about the folder, as `journey check` prints them; empty when none." }
                            }
                        }))
                    }
                }), &["401", "422", "500", "503"])
            }
        },
        "/v1/dead-letters": {
            "get": {
                "operationId": "listDeadLetters",
                "summary": "Messages the delivery gave up on",
                "responses": answers(json!({
                    "200": {
                        "description": "The dead letters.",
                        "content": json_content(json!({
                            "type": "object",
                            "required": ["dead_letters"],
                            "properties": {
                                "dead_letters": { "type": "array", "items": schema_ref("DeadLetter") }
                            }
                        }))
                    }
                }), &["401", "500", "503"])
            }
        },
        "/v1/unsubscribe/{customer}/{token}": {
            "parameters": [
                {
                    "name": "customer", "in": "path", "required": true,
                    "description": "The customer's id.",
                    "schema": schema_ref("CustomerId")
                },
                {
                    "name": "token", "in": "path", "required": true,
                    "description": "The token of the link in the email.",
                    "schema": { "type": "string", "minLength": 1 }
                }
            ],
            "get": {
                "operationId": "unsubscribePage",
                "summary": "A confirmation page whose button unsubscribes (GET changes nothing)",
                "security": [],
                "responses": answers(json!({
                    "200": { "description": "The page.", "content": html }
                }), &["400"])
            },
            "post": {
                "operationId": "unsubscribe",
                "summary": "One-click unsubscribe (RFC 8058)",
                "security": [],
                "requestBody": {
                    "required": true,
                    "content": {
                        "application/x-www-form-urlencoded": { "schema": schema_ref("OneClick") },
                        "multipart/form-data": { "schema": schema_ref("OneClick") }
                    }
                },
                "responses": answers(json!({
                    "200": { "description": "Unsubscribed.", "content": html }
                }), &["400", "404", "413", "415", "500", "503"])
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Whether the server answers",
                "security": [],
                "responses": {
                    "200": {
                        "description": "It does.",
                        "content": json_content(json!({
                            "type": "object",
                            "required": ["status"],
                            "properties": { "status": { "const": "ok" } }
                        }))
                    }
                }
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "The engine's and the ingest's metrics (Prometheus text format 0.0.4)",
                "responses": answers(json!({
                    "200": {
                        "description": "The metrics.",
                        "content": { "text/plain": { "schema": { "type": "string" } } }
                    }
                }), &["401", "500"])
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": json_content(json!({ "type": "object" }))
                    }
                }
            }
        }
    })
}

fn responses() -> Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": json_content(schema_ref("Error"))
        })
    };
    let mut unauthorized = error(
        "The bearer token is missing or wrong (`unauthorized`, with `WWW-Authenticate: Bearer`), or the body's signature is (`bad_signature`).",
    );
    if let Some(object) = unauthorized.as_object_mut() {
        object.insert(
            "headers".to_string(),
            json!({ "WWW-Authenticate": { "description": "`Bearer` challenge (for `unauthorized`).", "schema": { "type": "string" } } }),
        );
    }
    let mut unavailable = error(
        "The engine cannot take requests now (`unavailable`); retry after `Retry-After` seconds.",
    );
    if let Some(object) = unavailable.as_object_mut() {
        object.insert(
            "headers".to_string(),
            json!({ "Retry-After": { "required": true, "schema": { "type": "integer", "minimum": 0 } } }),
        );
    }
    json!({
        "BadRequest": error("Malformed JSON (`malformed_json`, with `line` and `column`) or a wrong envelope (`invalid_request`, with `field`, `expected` and `found`)."),
        "Unauthorized": unauthorized,
        "NotFound": error("No such customer (`customer_not_found`), unsubscribe link (`invalid_unsubscribe_link`) or route (`not_found`)."),
        "PayloadTooLarge": error("The body is over `max_body_bytes` (`body_too_large`) or the batch over `max_batch` (`batch_too_large`)."),
        "UnsupportedMediaType": error("The body is not of the expected content type (`unsupported_media_type`)."),
        "Unprocessable": error("An unknown event (`unknown_event`, with `candidates`) or attribute (`unknown_attribute`), or data that does not fit its schema (`invalid_field`, with `field`, `expected` and `found`); `index` names the event of a batch, and `problems` lists every problem found, in every event of a batch."),
        "Unavailable": unavailable,
        "Internal": error("The engine failed (`internal`); nothing was acknowledged.")
    })
}

fn fixed_schemas(max_batch: usize) -> Map<String, Value> {
    let nullable_string = json!({ "type": ["string", "null"] });
    let id = |description: &str| {
        json!({
            "type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS, "pattern": ID_PATTERN,
            "description": format!("{description} 1 to {MAX_ID_CHARS} characters, no control characters (U+0000 to U+001F, U+007F to U+009F).")
        })
    };
    let schemas = json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": { "type": "string", "enum": ERROR_CODES },
                        "message": { "type": "string" },
                        "field": { "type": "string", "description": "The field concerned (`customer`, `items[2].price`)." },
                        "expected": { "type": "string", "description": "What was expected there." },
                        "found": { "type": "string", "description": "What was found there." },
                        "index": { "type": "integer", "minimum": 0, "description": "The event's position in a batch." },
                        "candidates": { "type": "array", "items": { "type": "string" }, "description": "Close names for an unknown one." },
                        "problems": {
                            "type": "array",
                            "maxItems": MAX_PROBLEMS,
                            "description": "Every problem found in the data, the one `field`, `expected` and `found` describe first: on every `invalid_field` and `unknown_attribute` answer, and on any answer to a batch with more than one problem (those of every refused event, with `index`).",
                            "items": {
                                "type": "object",
                                "required": ["field", "expected", "found"],
                                "properties": {
                                    "field": { "type": "string" },
                                    "expected": { "type": "string" },
                                    "found": { "type": "string" },
                                    "index": { "type": "integer", "minimum": 0, "description": "The event's position in a batch." }
                                }
                            }
                        },
                        "line": { "type": "integer", "minimum": 1 },
                        "column": { "type": "integer", "minimum": 0 }
                    }
                }
            }
        },
        "CustomerId": id("A customer's id (in a path, percent-encoded):"),
        "IdempotencyKey": id("An event's idempotency key:"),
        "EventEnvelope": {
            "type": "object",
            "required": ["event", "customer"],
            "additionalProperties": false,
            "properties": {
                "event": { "type": "string", "minLength": 1, "description": "The event's name." },
                "customer": schema_ref("CustomerId"),
                "at": { "type": ["string", "null"], "format": "date-time", "description": "When it happened (RFC 3339); absent or `null`: when it arrived." },
                "id": { "anyOf": [schema_ref("IdempotencyKey"), { "type": "null" }], "description": "The idempotency key; absent or `null`: derived from the customer, the event's name, its time and its data." },
                "data": { "type": ["object", "null"], "description": "The event's fields; absent or `null` is `{}`." }
            }
        },
        "EventBatch": {
            "type": "object",
            "required": ["events"],
            "additionalProperties": false,
            "properties": {
                "events": { "type": "array", "maxItems": max_batch, "items": schema_ref("Event") }
            }
        },
        "SubmitResults": {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "description": "One per event, in order.",
                    "items": {
                        "type": "object",
                        "required": ["id", "status"],
                        "properties": {
                            "id": { "type": "string", "description": "The idempotency key used." },
                            "status": { "type": "string", "enum": ["processed", "duplicate"] }
                        }
                    }
                }
            }
        },
        "OneClick": {
            "type": "object",
            "required": ["List-Unsubscribe"],
            "properties": { "List-Unsubscribe": { "const": "One-Click" } }
        },
        "Customer": {
            "type": "object",
            "required": ["id", "profile", "journeys", "decisions"],
            "properties": {
                "id": { "type": "string" },
                "profile": { "type": "object" },
                "journeys": { "type": "array", "items": schema_ref("Instance") },
                "decisions": { "type": "array", "items": schema_ref("Decision") }
            }
        },
        "Instance": {
            "type": "object",
            "required": ["journey", "instance", "version", "status", "step", "wakes_at", "waiting_for", "entered_at"],
            "properties": {
                "journey": { "type": "string" },
                "instance": { "type": "integer", "minimum": 0 },
                "version": { "type": "string" },
                "status": { "type": "string", "description": "`sleeping`, `waiting` or `ended`." },
                "step": { "type": "string" },
                "wakes_at": nullable_string,
                "waiting_for": { "type": "array", "items": { "type": "string" } },
                "entered_at": { "type": "string" }
            }
        },
        "Decision": {
            "type": "object",
            "required": ["at", "journey", "step", "kind", "why"],
            "properties": {
                "at": { "type": "string" },
                "journey": { "type": "string" },
                "step": nullable_string,
                "kind": { "type": "string" },
                "why": { "type": "string" }
            }
        },
        "Journey": {
            "type": "object",
            "required": ["name", "title", "versions"],
            "properties": {
                "name": { "type": "string" },
                "title": nullable_string,
                "versions": { "type": "array", "items": schema_ref("Version") }
            }
        },
        "Version": {
            "type": "object",
            "required": ["version", "current", "customers_per_step", "labels"],
            "properties": {
                "version": { "type": "string" },
                "current": { "type": "boolean" },
                "customers_per_step": {
                    "type": "object",
                    "additionalProperties": { "type": "integer", "minimum": 0 }
                },
                "labels": { "type": "array", "items": schema_ref("Label") }
            }
        },
        "Label": {
            "type": "object",
            "required": ["name", "customers", "carries"],
            "properties": {
                "name": { "type": "string" },
                "customers": { "type": "integer", "minimum": 0 },
                "carries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "event"],
                        "properties": {
                            "name": { "type": "string" },
                            "event": { "type": "string" }
                        }
                    }
                }
            }
        },
        "DeadLetter": {
            "type": "object",
            "required": ["message_id", "customer", "journey", "template", "to", "reason", "at"],
            "properties": {
                "message_id": { "type": "string" },
                "customer": { "type": "string" },
                "journey": { "type": "string" },
                "template": { "type": "string" },
                "to": nullable_string,
                "reason": { "type": "string" },
                "at": { "type": "string" }
            }
        }
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The component name of a schema of the programs.
fn component(schema: &Schema) -> String {
    let name: String = schema
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if schema.is_event {
        format!("EventData_{name}")
    } else {
        format!("Record_{name}")
    }
}

/// `Event` (one envelope per event name), the data of each event, the records they use, and
/// `Profile` (the customer's attributes, all optional).
fn add_program_schemas(library: &Library, schemas: &mut Map<String, Value>) {
    let all = library.schemas();
    let mut envelopes = Vec::new();
    for schema in all {
        schemas.insert(component(schema), record(all, schema));
        if schema.is_event {
            let envelope = format!(
                "Event_{}",
                component(schema).trim_start_matches("EventData_")
            );
            // `data` may be left out (or `null`, read as `{}`) only when no field is required.
            let needs_data = schema
                .fields
                .iter()
                .any(|(_, ty)| !matches!(ty, FieldType::Optional(_)));
            let (required, data) = if needs_data {
                (json!(["data"]), schema_ref(&component(schema)))
            } else {
                (
                    json!([]),
                    json!({ "anyOf": [schema_ref(&component(schema)), { "type": "null" }] }),
                )
            };
            schemas.insert(
                envelope.clone(),
                json!({
                    "allOf": [schema_ref("EventEnvelope")],
                    "required": required,
                    "properties": {
                        "event": { "const": schema.name },
                        "data": data
                    }
                }),
            );
            envelopes.push(schema_ref(&envelope));
        }
    }
    let event = if envelopes.is_empty() {
        schema_ref("EventEnvelope")
    } else {
        json!({ "oneOf": envelopes })
    };
    schemas.insert("Event".to_string(), event);
    let profile = match library.customer_schema() {
        Some(customer) => {
            let properties: Map<String, Value> = customer
                .fields
                .iter()
                .map(|(name, ty)| {
                    let inner = match ty {
                        FieldType::Optional(inner) => inner.as_ref(),
                        other => other,
                    };
                    // `time_zone` is text to the journeys, and refused unless the runtime
                    // knows the zone (`customers::zone_problem`).
                    let value = if name.as_ref() == "time_zone" && *inner == FieldType::Text {
                        time_zone()
                    } else {
                        field(all, inner)
                    };
                    (
                        name.to_string(),
                        json!({ "anyOf": [value, { "type": "null" }] }),
                    )
                })
                .collect();
            json!({ "type": "object", "additionalProperties": false, "properties": properties })
        }
        None => json!({ "type": "object" }),
    };
    schemas.insert("Profile".to_string(), profile);
}

/// A profile's `time_zone`: a zone of the IANA database, by name.
fn time_zone() -> Value {
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    json!({
        "type": "string",
        "enum": names,
        "description": "A time zone of the IANA database, such as `Europe/Rome`; any other text is refused with 422 `invalid_field`."
    })
}

/// A record's JSON Schema: its fields, the non-optional ones required.
fn record(all: &[Schema], schema: &Schema) -> Value {
    let properties: Map<String, Value> = schema
        .fields
        .iter()
        .map(|(name, ty)| (name.to_string(), field(all, ty)))
        .collect();
    let required: Vec<&str> = schema
        .fields
        .iter()
        .filter(|(_, ty)| !matches!(ty, FieldType::Optional(_)))
        .map(|(name, _)| name.as_ref())
        .collect();
    json!({ "type": "object", "required": required, "properties": properties })
}

/// A field type's JSON Schema, in the forms `vm::decode` reads.
fn field(all: &[Schema], ty: &FieldType) -> Value {
    let decimal = json!({
        "anyOf": [
            { "type": "string", "pattern": DECIMAL_PATTERN },
            {
                "type": "number",
                "exclusiveMinimum": -NUMBER_LIMIT,
                "exclusiveMaximum": NUMBER_LIMIT,
                "description": "Read to six decimal places (rounded)."
            }
        ]
    });
    let ws = WHITE_SPACE;
    match ty {
        FieldType::Text => json!({ "type": "string" }),
        FieldType::Int => json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX }),
        FieldType::Decimal => decimal,
        FieldType::Money => json!({
            "anyOf": [
                { "type": "string", "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,6})? [A-Za-z]{3}$", "examples": ["19.90 EUR"] },
                {
                    "type": "object",
                    "required": ["amount", "currency"],
                    "properties": {
                        "amount": decimal,
                        "currency": { "type": "string", "pattern": "^[A-Za-z]{3}$" }
                    }
                }
            ]
        }),
        FieldType::Bool => json!({ "type": "boolean" }),
        FieldType::Date => json!({ "type": "string", "format": "date" }),
        FieldType::DateTime => json!({ "type": "string", "format": "date-time" }),
        FieldType::Time => {
            json!({ "type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$" })
        }
        FieldType::Duration => json!({
            "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX, "description": "Seconds."
        }),
        FieldType::Email => json!({
            "type": "string",
            "pattern": format!("^[^@{ws}]+@[^{ws}]*\\.[^{ws}]*$"),
            "description": "An address with `@`, a dot after it and no white space (not checked further)."
        }),
        FieldType::Url => json!({ "type": "string", "pattern": format!("^https?://[^{ws}]*$") }),
        FieldType::List(inner) => json!({ "type": "array", "items": field(all, inner) }),
        FieldType::Record(idx) => match all.get(usize::from(*idx)) {
            Some(schema) => schema_ref(&component(schema)),
            None => json!({ "type": "object" }),
        },
        FieldType::Optional(inner) => json!({ "anyOf": [field(all, inner), { "type": "null" }] }),
        FieldType::Any => json!({ "not": { "type": "null" } }),
    }
}
