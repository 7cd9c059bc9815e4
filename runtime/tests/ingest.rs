//! The HTTP ingest driven in-process (`tower::ServiceExt::oneshot`) over a fake engine that
//! records what it is asked, with the shipped journeys' schemas: every route's success path,
//! every refusal (one test each), all-or-nothing batches, idempotency, and the OpenAPI document
//! (structure, every route listed, schemas agreeing with the decoder on sample events).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use hmac::{Hmac, Mac};
use journey_runtime::api::{
    Accepted, Api, ApiError, CarriedView, CustomerView, DeadLetterView, DecisionView, DeployView,
    InstanceView, JourneyView, LabelView, Submission, VersionView,
};
use journey_runtime::ingest::{self, Config, ROUTES};
use journey_runtime::vm::Library;
use serde_json::{Value, json};
use sha2::Sha256;
use tower::ServiceExt;

const TOKEN: &str = "s3cret-token";
const HMAC_KEY: &str = "webhook-key";

fn library() -> Arc<Library> {
    static LIBRARY: OnceLock<Arc<Library>> = OnceLock::new();
    LIBRARY
        .get_or_init(|| Arc::new(common::shipped_library()))
        .clone()
}

/// A valid payload for each event the journeys listen to (as in `properties.rs`).
fn sample(name: &str) -> Value {
    let address = json!({ "name": "G", "street": "Via Po 3", "city": "Torino", "postal_code": "10124", "country": "IT" });
    let item = json!({ "product_id": "MOKA-3", "name": "Moka", "quantity": 2, "price": "29.90 EUR", "related": ["CAFFE"] });
    match name {
        "order_placed" => json!({
            "order_id": "A1", "placed_at": "2026-11-23T10:00:00+01:00", "total": "59.80 EUR",
            "items": [item], "shipping_method": "Posta", "shipping_address": address,
            "expected_delivery": "2026-11-28", "promised_ship_by": "2026-11-25", "payment_method": "Carta",
            "first_order": true,
            "suggested_products": [{ "product_id": "T", "name": "Tazze", "price": "12 EUR", "url": "https://x.it/t" }],
            "suggested_product_ids": ["T"]
        }),
        "order_shipped" => json!({ "order_id": "A1", "carrier": "BRT", "tracking_number": "1",
            "tracking_url": "https://brt.it/1", "shipped_at": "2026-11-24T10:00:00+01:00", "expected_delivery": "2026-11-27" }),
        "order_delivered" => {
            json!({ "order_id": "A1", "delivered_at": "2026-11-26T10:00:00+01:00" })
        }
        "order_refunded" => json!({ "order_id": "A1", "amount": "10 EUR", "method": "card" }),
        "order_cancelled" => json!({ "order_id": "A1" }),
        "cart_abandoned" => {
            json!({ "cart_id": "C1", "items": [item], "total": "59.80 EUR", "checkout_url": "https://x.it/c" })
        }
        "subscribed" => json!({ "source": "footer" }),
        "unsubscribed" => json!({ "channel": "email" }),
        "email_opened" => json!({ "journey": "reactivation", "template": "reactivation_email" }),
        "coupon_redeemed" => json!({ "code": "X", "order_id": "A1", "discount": "5 EUR" }),
        "survey_answered" => json!({ "survey": "soddisfazione", "score": 2, "comment": null }),
        "support_request" => {
            json!({ "ticket_id": "T1", "subject": "Aiuto", "channel": "email", "max_response_hours": 48 })
        }
        other => panic!("no sample for {other}"),
    }
}

const EVENTS: [&str; 12] = [
    "order_placed",
    "order_shipped",
    "order_delivered",
    "order_refunded",
    "order_cancelled",
    "cart_abandoned",
    "subscribed",
    "unsubscribed",
    "email_opened",
    "coupon_redeemed",
    "survey_answered",
    "support_request",
];

/// What the fake engine was asked.
#[derive(Debug, PartialEq)]
enum Call {
    Submit(Vec<Submission>),
    Upsert(String, serde_json::Map<String, Value>),
    Customer(String),
    Erase(String),
    Unsubscribe(String, String),
    Journeys,
    DeadLetters,
    Deploy,
}

/// An engine that records calls, remembers idempotency keys, and fails when told to.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<Call>>,
    keys: Mutex<BTreeSet<String>>,
    fail: Mutex<Option<ApiError>>,
}

impl Fake {
    fn calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn record(&self, call: Call) -> Result<(), ApiError> {
        self.calls.lock().unwrap().push(call);
        match self.fail.lock().unwrap().take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Api for Fake {
    fn library(&self) -> Arc<Library> {
        library()
    }

    async fn submit(&self, events: Vec<Submission>) -> Result<Vec<Accepted>, ApiError> {
        self.record(Call::Submit(events.clone()))?;
        let mut keys = self.keys.lock().unwrap();
        Ok(events
            .iter()
            .map(|s| {
                if keys.insert(s.key.clone()) {
                    Accepted::Processed
                } else {
                    Accepted::Duplicate
                }
            })
            .collect())
    }

    async fn upsert_profile(
        &self,
        customer: String,
        attributes: serde_json::Map<String, Value>,
    ) -> Result<(), ApiError> {
        self.record(Call::Upsert(customer, attributes))
    }

    async fn customer(&self, customer: String) -> Result<Option<CustomerView>, ApiError> {
        self.record(Call::Customer(customer.clone()))?;
        Ok((customer == "giulia").then(|| CustomerView {
            id: customer,
            profile: json!({ "email": "g@example.it" }),
            journeys: vec![InstanceView {
                journey: "abandoned_cart".to_string(),
                instance: 0,
                version: "abc123".to_string(),
                status: "waiting".to_string(),
                step: "wait 1 hour".to_string(),
                wakes_at: Some("2026-11-23T11:00:00Z".to_string()),
                waiting_for: vec!["order_placed".to_string()],
                entered_at: "2026-11-23T10:00:00Z".to_string(),
            }],
            decisions: vec![DecisionView {
                at: "2026-11-23T10:00:00Z".to_string(),
                journey: "abandoned_cart".to_string(),
                step: None,
                kind: "entered".to_string(),
                why: "cart_abandoned".to_string(),
            }],
        }))
    }

    async fn erase(&self, customer: String) -> Result<bool, ApiError> {
        self.record(Call::Erase(customer.clone()))?;
        Ok(customer == "giulia")
    }

    async fn unsubscribe(&self, customer: String, token: String) -> Result<bool, ApiError> {
        let good = token == "good";
        self.record(Call::Unsubscribe(customer, token))?;
        Ok(good)
    }

    async fn journeys(&self) -> Result<Vec<JourneyView>, ApiError> {
        self.record(Call::Journeys)?;
        Ok(vec![JourneyView {
            name: "abandoned_cart".to_string(),
            title: Some("Abandoned cart".to_string()),
            versions: vec![VersionView {
                version: "abc123".to_string(),
                current: true,
                customers_per_step: BTreeMap::from([("wait 1 hour".to_string(), 3)]),
                labels: vec![LabelView {
                    name: "reminder".to_string(),
                    customers: 3,
                    carries: vec![CarriedView {
                        name: "cart".to_string(),
                        event: "cart_abandoned".to_string(),
                    }],
                }],
            }],
        }])
    }

    async fn deploy_folder(&self) -> Result<DeployView, ApiError> {
        self.record(Call::Deploy)?;
        Ok(DeployView {
            deployed: vec!["abandoned_cart: unchanged, version abc123".to_string()],
            warnings: String::new(),
        })
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetterView>, ApiError> {
        self.record(Call::DeadLetters)?;
        Ok(vec![DeadLetterView {
            message_id: "<m1@shop.example>".to_string(),
            customer: "giulia".to_string(),
            journey: "abandoned_cart".to_string(),
            template: "cart_reminder".to_string(),
            to: Some("g@example.it".to_string()),
            reason: "550 no such user".to_string(),
            at: "2026-11-23T12:00:00Z".to_string(),
        }])
    }

    fn metrics(&self) -> String {
        "# TYPE journey_events_total counter\njourney_events_total 7".to_string()
    }
}

fn config() -> Config {
    Config {
        token: Some(TOKEN.to_string()),
        max_body_bytes: 64 * 1024,
        max_batch: 5,
        ..Config::default()
    }
}

fn signed_config() -> Config {
    Config {
        hmac_secret: Some(HMAC_KEY.to_string()),
        ..config()
    }
}

fn setup(config: &Config) -> (Arc<Fake>, Router) {
    let fake = Arc::new(Fake::default());
    let router = ingest::router(fake.clone(), config);
    (fake, router)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn error(&self) -> Value {
        self.json()["error"].clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends a request; `body` is sent as JSON unless a content type is given in `headers`.
async fn send(
    router: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

const BEARER: (&str, &str) = ("authorization", "Bearer s3cret-token");
const JSON: (&str, &str) = ("content-type", "application/json");

/// `PUT /v1/customers/giulia` with `body`, authorised.
async fn put_giulia(router: &Router, body: Value) -> Answer {
    send(
        router,
        Method::PUT,
        "/v1/customers/giulia",
        &[BEARER, JSON],
        body.to_string(),
    )
    .await
}

async fn post_events(router: &Router, body: &Value) -> Answer {
    send(
        router,
        Method::POST,
        "/v1/events",
        &[BEARER, JSON],
        body.to_string(),
    )
    .await
}

fn event(name: &str, customer: &str) -> Value {
    json!({ "event": name, "customer": customer, "at": "2026-11-23T10:00:00+01:00", "data": sample(name) })
}

fn submitted(calls: &[Call]) -> Vec<&Submission> {
    calls
        .iter()
        .filter_map(|c| match c {
            Call::Submit(s) => Some(s.iter()),
            _ => None,
        })
        .flatten()
        .collect()
}

// ------------------------------------------------------------------ events

#[tokio::test]
async fn an_event_is_validated_submitted_and_acknowledged() {
    let (fake, router) = setup(&config());
    let mut body = event("order_placed", "giulia");
    body["id"] = json!("shop-1");
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({ "results": [{ "id": "shop-1", "status": "processed" }] })
    );
    let calls = fake.calls();
    let events = submitted(&calls);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].customer, "giulia");
    assert_eq!(events[0].key, "shop-1");
    assert_eq!(events[0].event.id, "shop-1");
    assert_eq!(events[0].event.name, "order_placed");
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z").unwrap();
    assert_eq!(events[0].event.at, at.timestamp());
    assert_eq!(events[0].event.data, sample("order_placed"));
}

#[tokio::test]
async fn every_shipped_event_is_accepted() {
    let (fake, router) = setup(&Config {
        max_batch: 100,
        ..config()
    });
    let events: Vec<Value> = EVENTS.iter().map(|name| event(name, "giulia")).collect();
    let answer = post_events(&router, &json!({ "events": events })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.json()["results"].as_array().unwrap().len(),
        EVENTS.len()
    );
    assert_eq!(submitted(&fake.calls()).len(), EVENTS.len());
}

#[tokio::test]
async fn an_event_without_time_or_id_gets_now_and_a_content_key() {
    let (fake, router) = setup(&config());
    let before = chrono::Utc::now().timestamp();
    let body =
        json!({ "event": "subscribed", "customer": "giulia", "data": { "source": "footer" } });
    let answer = post_events(&router, &body).await;
    let after = chrono::Utc::now().timestamp();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let calls = fake.calls();
    let events = submitted(&calls);
    assert!((before..=after).contains(&events[0].event.at));
    assert!(events[0].key.starts_with("auto-"), "{}", events[0].key);
    assert_eq!(answer.json()["results"][0]["id"], json!(events[0].key));
}

#[tokio::test]
async fn a_batch_is_submitted_in_order() {
    let (fake, router) = setup(&config());
    let body = json!({ "events": [event("subscribed", "a"), event("order_cancelled", "b")] });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let results = answer.json()["results"].clone();
    assert_eq!(results.as_array().unwrap().len(), 2);
    let calls = fake.calls();
    let events = submitted(&calls);
    let names: Vec<&str> = events.iter().map(|s| s.event.name.as_str()).collect();
    assert_eq!(names, ["subscribed", "order_cancelled"]);
    assert_eq!(calls.len(), 1, "one submit call for the whole batch");
}

#[tokio::test]
async fn a_retried_post_is_a_duplicate() {
    let (_fake, router) = setup(&config());
    let mut body = event("order_shipped", "giulia");
    body["id"] = json!("shop-7");
    let first = post_events(&router, &body).await;
    let second = post_events(&router, &body).await;
    assert_eq!(first.json()["results"][0]["status"], "processed");
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.json()["results"][0]["status"], "duplicate");
    // Without an id, the same content gets the same key.
    let body = event("order_delivered", "giulia");
    post_events(&router, &body).await;
    let again = post_events(&router, &body).await;
    assert_eq!(again.json()["results"][0]["status"], "duplicate");
}

#[tokio::test]
async fn malformed_json_is_a_400_with_line_and_column() {
    let (fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::POST,
        "/v1/events",
        &[BEARER, JSON],
        "{\n  \"event\": \"subscribed\",\n  \"customer\": }",
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let error = answer.error();
    assert_eq!(error["code"], "malformed_json");
    assert_eq!(error["line"], 3);
    assert!(error["column"].as_u64().unwrap() > 0);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn an_unknown_event_is_a_422_naming_it_and_close_names() {
    let (fake, router) = setup(&config());
    let body = json!({ "event": "order_shiped", "customer": "giulia", "data": {} });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = answer.error();
    assert_eq!(error["code"], "unknown_event");
    assert_eq!(error["field"], "event");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("`order_shiped`")
    );
    assert_eq!(error["candidates"][0], "order_shipped");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_mistyped_field_is_a_422_naming_the_path_and_the_type() {
    let (fake, router) = setup(&config());
    let mut body = event("order_placed", "giulia");
    body["data"]["items"][0]["price"] = json!(29.9);
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = answer.error();
    assert_eq!(error["code"], "invalid_field");
    assert_eq!(error["field"], "items[0].price");
    assert_eq!(error["expected"], "money such as \"19.90 EUR\"");
    assert_eq!(error["found"], "the number 29.9");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_missing_data_field_is_a_422_naming_it() {
    let (fake, router) = setup(&config());
    let mut body = event("order_shipped", "giulia");
    body["data"].as_object_mut().unwrap().remove("carrier");
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = answer.error();
    assert_eq!(error["code"], "invalid_field");
    assert_eq!(error["field"], "carrier");
    assert_eq!(error["found"], "missing");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_missing_customer_is_a_400() {
    let (fake, router) = setup(&config());
    let body = json!({ "event": "subscribed", "data": { "source": "footer" } });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let error = answer.error();
    assert_eq!(error["code"], "invalid_request");
    assert_eq!(error["field"], "customer");
    assert_eq!(error["found"], "missing");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn an_unknown_envelope_key_is_a_400_with_close_names() {
    let (_fake, router) = setup(&config());
    let body =
        json!({ "event": "subscribed", "customer": "giulia", "date": { "source": "footer" } });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error()["field"], "date");
    assert_eq!(answer.error()["candidates"][0], "data");
    let body = json!({ "event": "subscribed", "customer": "giulia", "dat": {} });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.error()["candidates"], json!(["data", "at"]));
}

#[tokio::test]
async fn a_batch_with_one_bad_event_stores_nothing() {
    let (fake, router) = setup(&config());
    let mut bad = event("order_refunded", "b");
    bad["data"]["amount"] = json!("ten euros");
    let body = json!({ "events": [event("subscribed", "a"), bad, event("subscribed", "c")] });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = answer.error();
    assert_eq!(error["index"], 1);
    assert_eq!(error["field"], "amount");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("event 1 of the batch")
    );
    assert!(fake.calls().is_empty(), "nothing submitted");
}

#[tokio::test]
async fn every_problem_of_an_event_is_listed_in_one_answer() {
    let doc = openapi(&config()).await;
    let error_shape = validator(&doc, "Error");
    let (fake, router) = setup(&config());
    let mut body = event("order_placed", "giulia");
    let data = body["data"].as_object_mut().unwrap();
    data.remove("total");
    data.insert("first_order".to_string(), json!("yes"));
    data["items"][0]["price"] = json!(29.9);
    data["items"][0].as_object_mut().unwrap().remove("name");
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = answer.error();
    assert!(error_shape.is_valid(&answer.json()), "{}", answer.text());
    // In the schema's order, nested fields where they are.
    let fields: Vec<&str> = error["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["first_order", "items[0].name", "items[0].price", "total"]
    );
    assert_eq!(error["problems"][1]["found"], "missing");
    assert_eq!(error["problems"][2]["found"], "the number 29.9");
    // The first problem is also the answer's own field, and the message counts them.
    assert_eq!(error["field"], "first_order");
    assert_eq!(error["expected"], "true or false");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with("(4 problems in all, listed in `problems`)"),
        "{}",
        error["message"]
    );
    // One problem: listed too, and the message does not count.
    let mut one = event("order_shipped", "giulia");
    one["data"].as_object_mut().unwrap().remove("carrier");
    let error = post_events(&router, &one).await.error();
    assert_eq!(error["problems"].as_array().unwrap().len(), 1);
    assert!(!error["message"].as_str().unwrap().contains("problems"));
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_refused_batch_lists_the_problems_of_every_refused_event() {
    let (fake, router) = setup(&config());
    let mut first = event("order_shipped", "a");
    first["data"]["tracking_url"] = json!("brt.it/1");
    first["data"].as_object_mut().unwrap().remove("carrier");
    let unknown = json!({ "event": "order_shiped", "customer": "c", "data": {} });
    let body = json!({ "events": [first, event("subscribed", "b"), unknown] });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = answer.error();
    assert_eq!(error["index"], 0);
    assert_eq!(
        error["problems"],
        json!([
            { "field": "carrier", "expected": "text", "found": "missing", "index": 0 },
            { "field": "tracking_url", "expected": "a web address (http:// or https://)",
              "found": "the text \"brt.it/1\"", "index": 0 },
            { "field": "event", "expected": "the name of an event the deployed journeys declare",
              "found": "`order_shiped`", "index": 2 }
        ])
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("(3 problems in all")
    );
    assert!(fake.calls().is_empty(), "nothing submitted");
}

#[tokio::test]
async fn an_answer_lists_at_most_a_hundred_problems() {
    let (fake, router) = setup(&config());
    let mut body = event("order_placed", "giulia");
    // 60 items with two problems each.
    body["data"]["items"] = json!(vec![json!({ "quantity": "two" }); 60]);
    let answer = post_events(&router, &body).await;
    let error = answer.error();
    assert_eq!(error["problems"].as_array().unwrap().len(), 100);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("(more than 100 problems in all")
    );
    assert!(fake.calls().is_empty());
}

#[test]
fn the_list_of_problems_starts_with_the_one_the_decoder_stops_at() {
    use journey_runtime::vm::decode;
    let library = library();
    let schemas = library.schemas();
    for name in EVENTS {
        let schema = library.event_schema(name).unwrap();
        let good = sample(name);
        assert!(
            decode::record_problems(schemas, schema, &good, 100).is_empty(),
            "{name}"
        );
        // Each field left out, then each field of the wrong kind.
        for field in good.as_object().unwrap().keys() {
            for wrong in [None, Some(json!({ "not": "this" }))] {
                let mut data = good.clone();
                match &wrong {
                    None => {
                        data.as_object_mut().unwrap().remove(field);
                    }
                    Some(value) => data[field] = value.clone(),
                }
                let problems = decode::record_problems(schemas, schema, &data, 100);
                match decode::record(schemas, schema, &data, "") {
                    Ok(_) => assert!(problems.is_empty(), "{name}.{field}: {problems:?}"),
                    Err(first) => assert_eq!(problems.first(), Some(&first), "{name}.{field}"),
                }
            }
        }
    }
}

#[tokio::test]
async fn the_documented_answer_to_a_refused_event_is_the_real_one() {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"),
    )
    .unwrap();
    let start = page
        .find("```json\n{\"error\"")
        .expect("the example in operations.md");
    let text = &page[start + "```json\n".len()..];
    let documented: Value = serde_json::from_str(&text[..text.find("```").unwrap()]).unwrap();
    let (_fake, router) = setup(&config());
    let mut body = event("order_shipped", "giulia");
    body["data"].as_object_mut().unwrap().remove("carrier");
    body["data"]["tracking_url"] = json!("dhl.it/123");
    assert_eq!(post_events(&router, &body).await.json(), documented);
}

#[tokio::test]
async fn a_batch_over_the_limit_is_a_413() {
    let (fake, router) = setup(&config());
    let events: Vec<Value> = (0..6)
        .map(|i| event("subscribed", &format!("c{i}")))
        .collect();
    let answer = post_events(&router, &json!({ "events": events })).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error()["code"], "batch_too_large");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let (fake, router) = setup(&Config {
        max_body_bytes: 1024,
        ..config()
    });
    let body = json!({ "event": "subscribed", "customer": "giulia", "data": { "source": "x".repeat(2000) } });
    let answer = post_events(&router, &body).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error()["code"], "body_too_large");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415() {
    let (fake, router) = setup(&config());
    let body = event("subscribed", "giulia").to_string();
    let answer = send(
        &router,
        Method::POST,
        "/v1/events",
        &[BEARER, ("content-type", "text/plain")],
        body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(answer.error()["code"], "unsupported_media_type");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn the_engine_being_unavailable_is_a_503_with_retry_after() {
    let (fake, router) = setup(&config());
    *fake.fail.lock().unwrap() = Some(ApiError::Unavailable("shutting down".to_string()));
    let answer = post_events(&router, &event("subscribed", "giulia")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.error()["code"], "unavailable");
    assert_eq!(answer.headers[header::RETRY_AFTER], "5");
}

#[tokio::test]
async fn an_engine_failure_is_a_500_without_its_details() {
    let (fake, router) = setup(&config());
    *fake.fail.lock().unwrap() = Some(ApiError::Internal("/var/lib/journey: EIO".to_string()));
    let answer = post_events(&router, &event("subscribed", "giulia")).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.error()["code"], "internal");
    assert!(!answer.text().contains("/var/lib"));
}

// ------------------------------------------------------------------ auth

#[tokio::test]
async fn a_missing_token_is_a_401_with_a_bearer_challenge() {
    let (fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::POST,
        "/v1/events",
        &[JSON],
        event("subscribed", "giulia").to_string(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error()["code"], "unauthorized");
    assert!(
        answer.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_a_401() {
    let (fake, router) = setup(&config());
    for wrong in [
        "Bearer s3cret-tokeN",
        "Bearer s3cret",
        "Basic czNjcmV0LXRva2Vu",
    ] {
        let answer = send(
            &router,
            Method::GET,
            "/v1/journeys",
            &[("authorization", wrong)],
            Body::empty(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_token_from_the_environment_is_read_and_a_missing_variable_fails_closed() {
    let unset = Config {
        token: None,
        token_env: Some("JOURNEY_INGEST_TEST_TOKEN_THAT_IS_NEVER_SET".to_string()),
        ..config()
    };
    assert!(unset.validate().is_err());
    let (fake, router) = setup(&unset);
    let answer = send(
        &router,
        Method::GET,
        "/v1/journeys",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(fake.calls().is_empty());
    // PATH is set on every machine the tests run on.
    let path = std::env::var("PATH").unwrap();
    let from_env = Config {
        token: None,
        token_env: Some("PATH".to_string()),
        ..config()
    };
    assert_eq!(from_env.validate(), Ok(()));
    let (_fake, router) = setup(&from_env);
    let bearer = format!("Bearer {path}");
    let answer = send(
        &router,
        Method::GET,
        "/v1/journeys",
        &[("authorization", &bearer)],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[test]
fn the_configuration_is_checked() {
    assert_eq!(Config::default().validate(), Ok(()));
    let open = Config {
        listen: "0.0.0.0:8787".parse().unwrap(),
        ..Config::default()
    };
    assert!(open.validate().unwrap_err().0.contains("token"));
    let both = Config {
        token_env: Some("X".to_string()),
        ..config()
    };
    assert!(both.validate().is_err());
    let parsed: Config =
        toml::from_str("listen = \"127.0.0.1:9000\"\ntoken_env = \"TOKEN\"").unwrap();
    assert_eq!(parsed.listen.port(), 9000);
    assert_eq!(parsed.max_body_bytes, 1024 * 1024);
    assert_eq!(parsed.max_batch, 1000);
    assert_eq!(parsed.signature_header, "X-Journey-Signature");
    assert!(toml::from_str::<Config>("tokn = \"x\"").is_err());
    let shown = format!("{:?}", config());
    assert!(!shown.contains(TOKEN), "{shown}");
}

fn signature(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_KEY.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn a_signed_body_is_accepted() {
    let (fake, router) = setup(&signed_config());
    let body = event("subscribed", "giulia").to_string();
    let signature = signature(&body);
    let answer = send(
        &router,
        Method::POST,
        "/v1/events",
        &[BEARER, JSON, ("x-journey-signature", &signature)],
        body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(submitted(&fake.calls()).len(), 1);
}

#[tokio::test]
async fn a_missing_signature_is_a_401() {
    let (fake, router) = setup(&signed_config());
    let answer = post_events(&router, &event("subscribed", "giulia")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error()["code"], "bad_signature");
    assert!(
        answer.error()["message"]
            .as_str()
            .unwrap()
            .contains("X-Journey-Signature")
            || answer.error()["message"]
                .as_str()
                .unwrap()
                .contains("x-journey-signature")
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_bad_signature_is_a_401() {
    let (fake, router) = setup(&signed_config());
    let body = event("subscribed", "giulia").to_string();
    let other = signature("{}");
    for bad in [other.as_str(), "sha256=zz", "md5=abcd", ""] {
        let answer = send(
            &router,
            Method::PUT,
            "/v1/customers/giulia",
            &[BEARER, JSON, ("x-journey-signature", bad)],
            body.clone(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(answer.error()["code"], "bad_signature");
    }
    assert!(fake.calls().is_empty());
}

// ------------------------------------------------------------------ routing

#[tokio::test]
async fn a_wrong_method_is_a_405_in_json() {
    let (_fake, router) = setup(&config());
    let answer = send(&router, Method::GET, "/v1/events", &[BEARER], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.error()["code"], "method_not_allowed");
    assert_eq!(answer.headers[header::ALLOW], "POST");
    let answer = send(&router, Method::DELETE, "/healthz", &[], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.error()["code"], "method_not_allowed");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_in_json() {
    let (_fake, router) = setup(&config());
    for uri in ["/v2/events", "/", "/v1/customers"] {
        let answer = send(&router, Method::GET, uri, &[BEARER], Body::empty()).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.error()["code"], "not_found");
    }
}

// ------------------------------------------------------------------ customers

#[tokio::test]
async fn a_profile_is_upserted() {
    let (fake, router) = setup(&config());
    let body = json!({ "email": "g@example.it", "first_name": "Giulia", "orders_count": 3, "birthday": null });
    let answer = send(
        &router,
        Method::PUT,
        "/v1/customers/giulia",
        &[BEARER, JSON],
        body.to_string(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    assert_eq!(
        fake.calls(),
        [Call::Upsert(
            "giulia".to_string(),
            body.as_object().unwrap().clone()
        )]
    );
}

#[tokio::test]
async fn a_mistyped_or_unknown_attribute_is_a_422() {
    let (fake, router) = setup(&config());
    let answer = put_giulia(&router, json!({ "orders_count": "three" })).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.error()["code"], "invalid_field");
    assert_eq!(answer.error()["field"], "orders_count");
    assert_eq!(answer.error()["expected"], "a whole number");
    let answer = put_giulia(&router, json!({ "frist_name": "Giulia" })).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.error()["code"], "unknown_attribute");
    assert_eq!(answer.error()["candidates"][0], "first_name");
    // Several problems: the unknown attribute first (with no close name, the schema's
    // attributes are listed), then the others, all in `problems`.
    let answer = put_giulia(
        &router,
        json!({ "email": "giulia@", "marketing_consent": true, "points": "ten" }),
    )
    .await;
    let error = answer.error();
    assert_eq!(error["code"], "unknown_attribute");
    assert_eq!(error["field"], "marketing_consent");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("; it has `birthday`, `email`,"),
        "{message}"
    );
    assert!(message.contains("`email_consent`"), "{message}");
    assert!(
        message.ends_with("(3 problems in all, listed in `problems`)"),
        "{message}"
    );
    let fields: Vec<&str> = error["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["marketing_consent", "email", "points"]);
    let answer = put_giulia(&router, json!(["not", "an", "object"])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_time_zone_the_runtime_does_not_know_is_a_422_with_close_names() {
    let (fake, router) = setup(&config());
    let answer = put_giulia(
        &router,
        json!({ "first_name": "Giulia", "time_zone": "Europe/Roma" }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = answer.error();
    assert_eq!(error["code"], "invalid_field");
    assert_eq!(error["field"], "time_zone");
    assert_eq!(
        error["message"],
        "customer attribute: field `time_zone` should be an IANA time zone name (did you mean \"Europe/Rome\"?), but is the text \"Europe/Roma\""
    );
    let answer = put_giulia(&router, json!({ "time_zone": "ora italiana" })).await;
    assert_eq!(
        answer.error()["expected"],
        "an IANA time zone name, such as \"Europe/Rome\""
    );
    assert!(fake.calls().is_empty(), "nothing stored");
    // A known zone (aliases included), and clearing it, are taken.
    for zone in [json!("Europe/Rome"), json!("US/Eastern"), json!(null)] {
        let answer = put_giulia(&router, json!({ "time_zone": zone })).await;
        assert_eq!(
            answer.status,
            StatusCode::NO_CONTENT,
            "{zone}: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn a_customer_is_shown() {
    let (fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::GET,
        "/v1/customers/giulia",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let view = answer.json();
    assert_eq!(view["id"], "giulia");
    assert_eq!(view["journeys"][0]["wakes_at"], "2026-11-23T11:00:00Z");
    assert_eq!(view["journeys"][0]["waiting_for"][0], "order_placed");
    assert_eq!(view["decisions"][0]["kind"], "entered");
    assert_eq!(fake.calls(), [Call::Customer("giulia".to_string())]);
}

#[tokio::test]
async fn an_unknown_customer_is_a_404() {
    let (_fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::GET,
        "/v1/customers/nobody",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error()["code"], "customer_not_found");
    let answer = send(
        &router,
        Method::DELETE,
        "/v1/customers/nobody",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error()["code"], "customer_not_found");
}

#[tokio::test]
async fn a_customer_is_erased() {
    let (fake, router) = setup(&config());
    // Percent-encoded ids (as unsubscribe links carry them) are decoded.
    let answer = send(
        &router,
        Method::DELETE,
        "/v1/customers/giulia",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(fake.calls(), [Call::Erase("giulia".to_string())]);
    send(
        &router,
        Method::DELETE,
        "/v1/customers/g%40x.it",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(fake.calls(), [Call::Erase("g@x.it".to_string())]);
}

// ------------------------------------------------------------------ journeys, dead letters, ops

#[tokio::test]
async fn journeys_and_dead_letters_are_listed() {
    let (fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::GET,
        "/v1/journeys",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let journeys = answer.json();
    assert_eq!(journeys["journeys"][0]["name"], "abandoned_cart");
    assert_eq!(
        journeys["journeys"][0]["versions"][0]["customers_per_step"]["wait 1 hour"],
        3
    );
    let label = &journeys["journeys"][0]["versions"][0]["labels"][0];
    assert_eq!(label["name"], "reminder");
    assert_eq!(label["customers"], 3);
    assert_eq!(label["carries"][0]["event"], "cart_abandoned");
    let answer = send(
        &router,
        Method::GET,
        "/v1/dead-letters",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()["dead_letters"][0]["reason"],
        "550 no such user"
    );
    assert_eq!(fake.calls(), [Call::Journeys, Call::DeadLetters]);
}

#[tokio::test]
async fn deploy_compiles_the_folder_and_says_what_changed_or_why_not() {
    let (fake, router) = setup(&config());
    let answer = send(&router, Method::POST, "/v1/deploy", &[], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(fake.calls().is_empty());
    let answer = send(
        &router,
        Method::POST,
        "/v1/deploy",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()["deployed"][0],
        "abandoned_cart: unchanged, version abc123"
    );
    assert_eq!(fake.calls(), [Call::Deploy]);
    // A folder that does not compile: 422 with the compiler's report.
    *fake.fail.lock().unwrap() = Some(ApiError::Unprocessable(
        "the journeys do not compile; the versions running stay:\n[J0102] Error: …".to_string(),
    ));
    let answer = send(
        &router,
        Method::POST,
        "/v1/deploy",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.json()["error"]["code"], "unprocessable");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("[J0102]")
    );
}

#[tokio::test]
async fn health_needs_no_token() {
    let (_fake, router) = setup(&config());
    let answer = send(&router, Method::GET, "/healthz", &[], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "status": "ok" }));
}

#[tokio::test]
async fn metrics_pass_the_engine_through_and_count_requests() {
    let (_fake, router) = setup(&config());
    send(&router, Method::GET, "/healthz", &[], Body::empty()).await;
    send(
        &router,
        Method::GET,
        "/v1/customers/nobody",
        &[BEARER],
        Body::empty(),
    )
    .await;
    send(
        &router,
        Method::GET,
        "/v1/customers/giulia",
        &[],
        Body::empty(),
    )
    .await;
    send(&router, Method::GET, "/nowhere", &[], Body::empty()).await;
    let unauthorized = send(&router, Method::GET, "/metrics", &[], Body::empty()).await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    let answer = send(&router, Method::GET, "/metrics", &[BEARER], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = answer.text();
    assert!(text.starts_with("# TYPE journey_events_total counter\njourney_events_total 7\n"));
    for line in [
        "# TYPE journey_http_requests_total counter",
        "journey_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1",
        "journey_http_requests_total{route=\"/v1/customers/{id}\",method=\"GET\",status=\"404\"} 1",
        "journey_http_requests_total{route=\"/v1/customers/{id}\",method=\"GET\",status=\"401\"} 1",
        "journey_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "journey_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
}

// ------------------------------------------------------------------ unsubscribe

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

#[tokio::test]
async fn the_unsubscribe_page_changes_nothing_and_posts_one_click() {
    let (fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::GET,
        "/v1/unsubscribe/giulia/good",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = answer.text();
    assert!(page.contains("<form method=\"post\">"));
    assert!(page.contains("name=\"List-Unsubscribe\" value=\"One-Click\""));
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(answer.headers[header::REFERRER_POLICY], "no-referrer");
    assert!(fake.calls().is_empty(), "GET must not unsubscribe");
}

#[tokio::test]
async fn one_click_unsubscribes_without_a_bearer_token() {
    let (fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::POST,
        "/v1/unsubscribe/g%40x.it/good",
        &[FORM],
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert!(answer.text().contains("unsubscribed"));
    assert_eq!(
        fake.calls(),
        [Call::Unsubscribe("g@x.it".to_string(), "good".to_string())]
    );
    let multipart = "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
    let answer = send(
        &router,
        Method::POST,
        "/v1/unsubscribe/giulia/good",
        &[("content-type", "multipart/form-data; boundary=b")],
        multipart,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test]
async fn a_wrong_unsubscribe_token_or_body_is_refused() {
    let (fake, router) = setup(&config());
    let answer = send(
        &router,
        Method::POST,
        "/v1/unsubscribe/giulia/forged",
        &[FORM],
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error()["code"], "invalid_unsubscribe_link");
    fake.calls();
    let answer = send(
        &router,
        Method::POST,
        "/v1/unsubscribe/giulia/good",
        &[FORM],
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error()["field"], "List-Unsubscribe");
    let answer = send(
        &router,
        Method::POST,
        "/v1/unsubscribe/giulia/good",
        &[JSON],
        "{}",
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(fake.calls().is_empty());
}

// ------------------------------------------------------------------ OpenAPI

async fn openapi(config: &Config) -> Value {
    let (_fake, router) = setup(config);
    let answer = send(&router, Method::GET, "/openapi.json", &[], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.json()
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_is_well_formed() {
    let doc = openapi(&config()).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    let methods = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (key, operation) in item.as_object().unwrap() {
            if key == "parameters" {
                continue;
            }
            assert!(methods.contains(&key.as_str()), "{path}: {key}");
            documented.insert((key.to_uppercase(), path.clone()));
            assert!(operation["operationId"].is_string(), "{path} {key}");
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty());
            for (status, response) in responses {
                assert!(
                    status.len() == 3 && status.parse::<u16>().is_ok(),
                    "{status}"
                );
                assert!(
                    response["description"].is_string() || response["$ref"].is_string(),
                    "{path} {key} {status}"
                );
            }
            // Path templates have their parameters.
            for name in path
                .split('{')
                .skip(1)
                .map(|s| s.split('}').next().unwrap())
            {
                let declared = item["parameters"]
                    .as_array()
                    .into_iter()
                    .chain(operation["parameters"].as_array())
                    .flatten()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true);
                assert!(declared, "{path}: parameter {name}");
            }
        }
    }
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, routes, "the document and the router disagree");
    // Every reference resolves, and every security requirement names a scheme.
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let pointer = target.strip_prefix('#').unwrap();
        assert!(doc.pointer(pointer).is_some(), "dangling {target}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("bearer"));
    assert!(
        !schemes.contains_key("signature"),
        "no signature configured"
    );
    // Every component schema is a valid JSON Schema (2020-12, OpenAPI 3.1's dialect).
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert!(jsonschema::draft202012::meta::is_valid(schema), "{name}");
    }
}

#[tokio::test]
async fn the_signature_scheme_is_documented_when_configured() {
    let doc = openapi(&signed_config()).await;
    let scheme = &doc["components"]["securitySchemes"]["signature"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "x-journey-signature");
    assert_eq!(
        doc["paths"]["/v1/events"]["post"]["security"],
        json!([{ "bearer": [], "signature": [] }])
    );
}

#[tokio::test]
async fn every_route_of_the_table_is_served() {
    let (_fake, router) = setup(&config());
    for (method, path) in ROUTES {
        let uri = path
            .replace("{id}", "giulia")
            .replace("{customer}", "giulia")
            .replace("{token}", "good");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = send(&router, method.clone(), &uri, &[BEARER], Body::empty()).await;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        if answer.status == StatusCode::NOT_FOUND {
            assert_ne!(answer.error()["code"], "not_found", "{method} {path}");
        }
    }
}

fn validator(doc: &Value, component: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{component}"),
        "components": doc["components"].clone()
    });
    jsonschema::draft202012::new(&schema).unwrap()
}

#[tokio::test]
async fn the_documented_schemas_agree_with_the_decoder() {
    let doc = openapi(&config()).await;
    let events = validator(&doc, "Event");
    let batch = validator(&doc, "EventBatch");
    let all: Vec<Value> = EVENTS.iter().map(|name| event(name, "giulia")).collect();
    for body in &all {
        let errors: Vec<String> = events.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{body}: {errors:?}");
    }
    // Batches of up to `max_batch` (5 here) events.
    for chunk in all.chunks(config().max_batch) {
        assert!(batch.is_valid(&json!({ "events": chunk })));
    }
    // What the ingest refuses, the document refuses.
    let mut mistyped = event("order_placed", "giulia");
    mistyped["data"]["items"][0]["price"] = json!(29.9);
    let mut missing = event("order_shipped", "giulia");
    missing["data"].as_object_mut().unwrap().remove("carrier");
    let refused = [
        mistyped,
        missing,
        json!({ "event": "order_shiped", "customer": "giulia", "data": {} }),
        json!({ "event": "subscribed", "data": { "source": "footer" } }),
        json!({ "event": "subscribed", "customer": "giulia", "date": {} }),
    ];
    let (_fake, router) = setup(&config());
    for body in refused {
        assert!(!events.is_valid(&body), "the document accepts {body}");
        let answer = post_events(&router, &body).await;
        assert!(answer.status.is_client_error(), "the ingest accepts {body}");
    }
    let profile = validator(&doc, "Profile");
    assert!(
        profile.is_valid(&json!({ "email": "g@example.it", "orders_count": 3, "birthday": null }))
    );
    assert!(!profile.is_valid(&json!({ "orders_count": "three" })));
    assert!(!profile.is_valid(&json!({ "frist_name": "G" })));
    // The document and the ingest agree on time zones.
    assert!(profile.is_valid(&json!({ "time_zone": "Europe/Rome" })));
    assert!(profile.is_valid(&json!({ "time_zone": null })));
    assert!(!profile.is_valid(&json!({ "time_zone": "Europe/Roma" })));
}

#[tokio::test]
async fn every_answer_is_documented_and_every_error_has_the_error_shape() {
    let doc = openapi(&signed_config()).await;
    let error_shape = validator(&doc, "Error");
    let (fake, router) = setup(&signed_config());
    let good = event("subscribed", "giulia").to_string();
    let signed = signature(&good);
    let sig = ("x-journey-signature", signed.as_str());
    let signed_broken = signature("{");
    type Case<'a> = (Method, &'a str, &'a str, Vec<(&'a str, &'a str)>, String);
    let cases: Vec<Case<'_>> = vec![
        (
            Method::POST,
            "/v1/events",
            "/v1/events",
            vec![BEARER, JSON, sig],
            good.clone(),
        ),
        (
            Method::POST,
            "/v1/events",
            "/v1/events",
            vec![BEARER, JSON],
            good.clone(),
        ),
        (
            Method::POST,
            "/v1/events",
            "/v1/events",
            vec![JSON, sig],
            good.clone(),
        ),
        (
            Method::POST,
            "/v1/events",
            "/v1/events",
            vec![BEARER, sig],
            good.clone(),
        ),
        (
            Method::POST,
            "/v1/events",
            "/v1/events",
            vec![
                BEARER,
                JSON,
                ("x-journey-signature", signed_broken.as_str()),
            ],
            "{".to_string(),
        ),
        (
            Method::GET,
            "/v1/customers/{id}",
            "/v1/customers/giulia",
            vec![BEARER],
            String::new(),
        ),
        (
            Method::GET,
            "/v1/customers/{id}",
            "/v1/customers/nobody",
            vec![BEARER],
            String::new(),
        ),
        (
            Method::DELETE,
            "/v1/customers/{id}",
            "/v1/customers/giulia",
            vec![BEARER],
            String::new(),
        ),
        (
            Method::GET,
            "/v1/journeys",
            "/v1/journeys",
            vec![],
            String::new(),
        ),
        (
            Method::GET,
            "/v1/dead-letters",
            "/v1/dead-letters",
            vec![BEARER],
            String::new(),
        ),
        (
            Method::GET,
            "/metrics",
            "/metrics",
            vec![BEARER],
            String::new(),
        ),
        (Method::GET, "/healthz", "/healthz", vec![], String::new()),
        (
            Method::GET,
            "/v1/unsubscribe/{customer}/{token}",
            "/v1/unsubscribe/giulia/x",
            vec![],
            String::new(),
        ),
        (
            Method::POST,
            "/v1/unsubscribe/{customer}/{token}",
            "/v1/unsubscribe/giulia/x",
            vec![FORM],
            "List-Unsubscribe=One-Click".to_string(),
        ),
        (
            Method::POST,
            "/v1/unsubscribe/{customer}/{token}",
            "/v1/unsubscribe/giulia/good",
            vec![FORM],
            "List-Unsubscribe=One-Click".to_string(),
        ),
    ];
    for (method, path, uri, headers, body) in cases {
        let answer = send(&router, method.clone(), uri, &headers, body).await;
        let operation = &doc["paths"][path][method.as_str().to_lowercase()];
        let status = answer.status.as_str().to_string();
        assert!(
            operation["responses"].get(&status).is_some(),
            "{method} {uri}: {status} is not documented"
        );
        if answer.status.is_client_error() || answer.status.is_server_error() {
            let body = answer.json();
            let errors: Vec<String> = error_shape
                .iter_errors(&body)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{method} {uri}: {body}: {errors:?}");
        }
    }
    fake.calls();
}

// ------------------------------------------------------------------ a real socket

#[tokio::test]
async fn serve_answers_on_a_socket_and_shuts_down() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ingest::serve(
        Arc::new(Fake::default()),
        &config(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("{\"status\":\"ok\"}"), "{answer}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

// ------------------------------------------------------------------ what schemathesis found
// `tests/schemathesis.sh` runs schemathesis against a real `journey run`; each test below pins
// down one disagreement it found between the server and the document.

/// Whether the ingest accepts `body` exactly when the document's `component` does.
async fn agree(
    router: &Router,
    doc: &Value,
    component: &str,
    method: Method,
    uri: &str,
    body: &Value,
) {
    let documented = validator(doc, component).is_valid(body);
    let answer = send(router, method, uri, &[BEARER, JSON], body.to_string()).await;
    assert!(
        answer.status.is_success() || answer.status.is_client_error(),
        "{uri} {body}: {}",
        answer.status
    );
    assert_eq!(
        answer.status.is_success(),
        documented,
        "{uri} {body:?}: the document {} it, the ingest answers {} {}",
        if documented { "accepts" } else { "refuses" },
        answer.status,
        answer.text()
    );
}

#[tokio::test]
async fn without_a_token_the_document_asks_for_none() {
    // Found: every operation required the bearer scheme although none was configured, so the
    // answers to requests without a token contradicted the document.
    let open = Config {
        token: None,
        ..config()
    };
    let doc = openapi(&open).await;
    assert_eq!(doc["security"], json!([]));
    assert!(doc["components"]["securitySchemes"].get("bearer").is_none());
    assert_eq!(doc["paths"]["/v1/events"]["post"]["security"], json!([]));
    let (_fake, router) = setup(&open);
    let answer = send(&router, Method::GET, "/v1/journeys", &[], Body::empty()).await;
    assert_eq!(answer.status, StatusCode::OK);
    // Signatures without a token: only the signature is asked for.
    let signed = Config {
        token: None,
        ..signed_config()
    };
    let doc = openapi(&signed).await;
    assert_eq!(doc["security"], json!([]));
    assert_eq!(
        doc["paths"]["/v1/events"]["post"]["security"],
        json!([{ "signature": [] }])
    );
    // With a token, every route but the public ones asks for it.
    let doc = openapi(&config()).await;
    assert_eq!(doc["security"], json!([{ "bearer": [] }]));
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
}

#[tokio::test]
async fn customer_ids_follow_one_rule_on_every_route() {
    // Found: the unsubscribe page took any id (2,000 characters, control characters), and ids
    // were limited to 256 bytes while the document said 256 characters.
    let doc = openapi(&config()).await;
    let id_schema = validator(&doc, "CustomerId");
    let (fake, router) = setup(&config());
    let long_accented = "é".repeat(256);
    let cases: Vec<(String, String)> = vec![
        ("giulia".to_string(), "giulia".to_string()),
        ("a%2Fb".to_string(), "a/b".to_string()),
        ("%25".to_string(), "%".to_string()),
        (long_accented.clone(), long_accented),
        ("x".repeat(256), "x".repeat(256)),
        ("x".repeat(257), "x".repeat(257)),
        ("a%00b".to_string(), "a\0b".to_string()),
        ("a%0Ab".to_string(), "a\nb".to_string()),
        ("a%7Fb".to_string(), "a\u{7f}b".to_string()),
        ("a%C2%85b".to_string(), "a\u{85}b".to_string()),
    ];
    for (in_path, id) in cases {
        let valid = id_schema.is_valid(&json!(id));
        let uris = [
            (
                Method::GET,
                format!("/v1/customers/{in_path}"),
                JSON,
                "".to_string(),
            ),
            (
                Method::PUT,
                format!("/v1/customers/{in_path}"),
                JSON,
                "{}".to_string(),
            ),
            (
                Method::DELETE,
                format!("/v1/customers/{in_path}"),
                JSON,
                "".to_string(),
            ),
            (
                Method::GET,
                format!("/v1/unsubscribe/{in_path}/x"),
                JSON,
                "".to_string(),
            ),
            (
                Method::POST,
                format!("/v1/unsubscribe/{in_path}/x"),
                FORM,
                "List-Unsubscribe=One-Click".to_string(),
            ),
        ];
        for (method, uri, content_type, body) in uris {
            let answer = send(&router, method.clone(), &uri, &[BEARER, content_type], body).await;
            let shown: String = uri.chars().take(60).collect();
            if valid {
                assert_ne!(
                    answer.status,
                    StatusCode::BAD_REQUEST,
                    "{method} {shown}: {}",
                    answer.text()
                );
            } else {
                assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method} {shown}");
                assert_eq!(
                    answer.error()["code"],
                    "invalid_request",
                    "{method} {shown}"
                );
            }
        }
        // The same rule for the customer of an event.
        let mut body = event("subscribed", "x");
        body["customer"] = json!(id);
        agree(&router, &doc, "Event", Method::POST, "/v1/events", &body).await;
    }
    // A path that is not UTF-8 is a 400 in the error shape too.
    let answer = send(
        &router,
        Method::GET,
        "/v1/customers/%FF",
        &[BEARER],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error()["code"], "invalid_request");
    fake.calls();
}

#[tokio::test]
async fn event_envelopes_agree_with_the_ingest() {
    // Found: an event without `data` was documented as valid although its data has required
    // fields; `null` for `at`, `id` and `data` was accepted but not documented; idempotency keys
    // with control characters were accepted; a batch over `max_batch` was not documented.
    let doc = openapi(&config()).await;
    let (fake, router) = setup(&config());
    let post = |body: Value| {
        let router = router.clone();
        let doc = doc.clone();
        async move { agree(&router, &doc, "Event", Method::POST, "/v1/events", &body).await }
    };
    // Every event without data: refused exactly when its data has a required field.
    for schema in doc["components"]["schemas"].as_object().unwrap().keys() {
        if let Some(name) = schema.strip_prefix("EventData_") {
            post(json!({ "event": name, "customer": "giulia" })).await;
            post(json!({ "event": name, "customer": "giulia", "data": null })).await;
        }
    }
    let mut nulls = event("subscribed", "giulia");
    nulls["at"] = Value::Null;
    nulls["id"] = Value::Null;
    post(nulls).await;
    for id in [
        json!("k\u{0}"),
        json!("k\n"),
        json!(""),
        json!("é".repeat(256)),
        json!("é".repeat(257)),
    ] {
        let mut keyed = event("subscribed", "giulia");
        keyed["id"] = id;
        post(keyed).await;
    }
    let batch = json!({ "events": vec![event("subscribed", "giulia"); 6] });
    assert!(!validator(&doc, "EventBatch").is_valid(&batch));
    assert_eq!(
        post_events(&router, &batch).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    fake.calls();
}

#[tokio::test]
async fn numbers_agree_with_the_ingest() {
    // Found: an amount given as a number (`{"amount": 0, "currency": "EUR"}`) was accepted but
    // documented as text only; an int written `-34946.0` was documented (JSON Schema's integer)
    // but refused; an amount of -10^12 was accepted beyond the documented range.
    let doc = openapi(&config()).await;
    let (fake, router) = setup(&config());
    for amount in [
        json!(0),
        json!(12.5),
        json!(0.000003),
        json!(999_999_999_999.999_9_f64),
        json!(-999_999_999_999i64),
        json!(-1_000_000_000_000i64),
        json!(1e12),
        json!(1e300),
        json!("12.50"),
    ] {
        let mut refund = event("order_refunded", "giulia");
        refund["data"]["amount"] = json!({ "amount": amount, "currency": "EUR" });
        agree(&router, &doc, "Event", Method::POST, "/v1/events", &refund).await;
        let profile = json!({ "total_spent": { "amount": amount, "currency": "AAA" } });
        agree(
            &router,
            &doc,
            "Profile",
            Method::PUT,
            "/v1/customers/giulia",
            &profile,
        )
        .await;
    }
    for score in [
        json!(3),
        json!(3.0),
        json!(-34946.0),
        json!(3.5),
        json!(1e300),
    ] {
        let mut survey = event("survey_answered", "giulia");
        survey["data"]["score"] = score.clone();
        agree(&router, &doc, "Event", Method::POST, "/v1/events", &survey).await;
        let profile = json!({ "orders_count": score });
        agree(
            &router,
            &doc,
            "Profile",
            Method::PUT,
            "/v1/customers/giulia",
            &profile,
        )
        .await;
    }
    fake.calls();
}

#[tokio::test]
async fn text_patterns_agree_with_the_ingest() {
    // The email and url patterns spell out the white space the decoder refuses (`\s` differs
    // between regex dialects: ECMA 262 counts U+FEFF, Rust counts U+0085).
    let doc = openapi(&config()).await;
    let (fake, router) = setup(&config());
    for email in [
        "g@example.it",
        "0@.",
        "g@ex ample.it",
        "g@example.it\u{85}",
        "g@example.it\u{feff}",
        "g@example.it\u{1c}",
        "@x.it",
    ] {
        let profile = json!({ "email": email });
        agree(
            &router,
            &doc,
            "Profile",
            Method::PUT,
            "/v1/customers/giulia",
            &profile,
        )
        .await;
    }
    for url in [
        "https://x.it/1",
        "http://",
        "https://x.it/\u{85}",
        "https://x.it/\u{feff}",
        "ftp://x.it",
    ] {
        let mut shipped = event("order_shipped", "giulia");
        shipped["data"]["tracking_url"] = json!(url);
        agree(&router, &doc, "Event", Method::POST, "/v1/events", &shipped).await;
    }
    fake.calls();
}
