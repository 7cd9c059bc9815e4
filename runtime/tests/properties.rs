//! Properties of the VM over the shipped journeys, with random customers, events and payloads:
//! it is deterministic (same inputs, same effects and state), it never panics whatever the
//! payload (a missing or wrong-typed field is a runtime error effect), and every instance
//! eventually ends or waits for an event with a timeout. `PROPTEST_CASES` sets the case count.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::sync::OnceLock;

use journey_runtime::scenario;
use journey_runtime::simulate::Simulator;
use journey_runtime::vm::{self, CustomerState, Effect, Event, Input, Library, Status};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(common::shipped_library)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

/// A valid payload for each event the journeys listen to.
fn sample(name: &str, order_id: &str) -> Json {
    let address = json!({ "name": "G", "street": "Via Po 3", "city": "Torino", "postal_code": "10124", "country": "IT" });
    let item = json!({ "product_id": "MOKA-3", "name": "Moka", "quantity": 2, "price": "29.90 EUR", "related": ["CAFFE"] });
    match name {
        "order_placed" => json!({
            "order_id": order_id, "placed_at": "2026-11-23T10:00:00+01:00", "total": "59.80 EUR",
            "items": [item], "shipping_method": "Posta", "shipping_address": address,
            "expected_delivery": "2026-11-28", "promised_ship_by": "2026-11-25", "payment_method": "Carta",
            "first_order": true,
            "suggested_products": [{ "product_id": "T", "name": "Tazze", "price": "12 EUR", "url": "https://x.it/t" }],
            "suggested_product_ids": ["T"]
        }),
        "order_shipped" => json!({ "order_id": order_id, "carrier": "BRT", "tracking_number": "1",
            "tracking_url": "https://brt.it/1", "shipped_at": "2026-11-24T10:00:00+01:00", "expected_delivery": "2026-11-27" }),
        "order_delivered" => {
            json!({ "order_id": order_id, "delivered_at": "2026-11-26T10:00:00+01:00" })
        }
        "order_refunded" => json!({ "order_id": order_id, "amount": "10 EUR", "method": "card" }),
        "order_cancelled" => json!({ "order_id": order_id }),
        "cart_abandoned" => {
            json!({ "cart_id": "C1", "items": [item], "total": "59.80 EUR", "checkout_url": "https://x.it/c" })
        }
        "subscribed" => json!({ "source": "footer" }),
        "unsubscribed" => json!({ "channel": "email" }),
        "email_opened" => json!({ "journey": "reactivation", "template": "reactivation_email" }),
        "coupon_redeemed" => json!({ "code": "X", "order_id": order_id, "discount": "5 EUR" }),
        "survey_answered" => json!({ "survey": "soddisfazione", "score": 2, "comment": null }),
        "support_request" => {
            json!({ "ticket_id": "T1", "subject": "Aiuto", "channel": "email", "max_response_hours": 48 })
        }
        _ => json!({}),
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

fn arbitrary_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
        "[ -~]{0,12}".prop_map(Json::String),
        Just(json!("59.90 EUR")),
        Just(json!("2026-02-30")),
        Just(json!("2026-11-23T10:00:00+01:00")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// A payload: valid, valid with one field removed or replaced by anything, or anything.
fn payload(name: &'static str) -> impl Strategy<Value = Json> {
    let base = sample(name, "A1");
    let keys: Vec<String> = base
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let key_count = keys.len().max(1);
    prop_oneof![
        3 => Just(base.clone()),
        2 => (0..key_count, arbitrary_json()).prop_map(move |(idx, junk)| {
            let mut value = base.clone();
            if let (Some(key), Some(object)) = (keys.get(idx), value.as_object_mut()) {
                if junk.is_null() {
                    object.remove(key);
                } else {
                    object.insert(key.clone(), junk);
                }
            }
            value
        }),
        1 => arbitrary_json(),
    ]
}

fn input() -> impl Strategy<Value = (u32, Input)> {
    let event = prop::sample::select(EVENTS.to_vec())
        .prop_flat_map(|name| {
            (
                Just(name),
                payload(name),
                prop::sample::select(vec!["A1", "A2"]),
            )
        })
        .prop_map(|(name, mut data, order)| {
            if let Some(object) = data.as_object_mut()
                && object.contains_key("order_id")
            {
                object.insert("order_id".to_string(), json!(order));
            }
            Input::Event(Event {
                id: "e".to_string(),
                name: name.to_string(),
                at: 0,
                data,
            })
        });
    let profile = prop_oneof![
        Just(json!({ "orders_count": 1 })),
        Just(json!({ "email_consent": false })),
        Just(json!({ "birthday": "1996-02-29" })),
        Just(json!({ "time_zone": "Mars/Olympus" })),
        Just(json!({ "points": "lots" })),
    ]
    .prop_map(|p| Input::Profile(p.as_object().cloned().unwrap_or_default()));
    let schedule = Just(Input::Schedule {
        journey: "reactivation".to_string(),
    });
    // Minutes since the previous input, and the input.
    (
        0u32..(60 * 24 * 5),
        prop_oneof![8 => event, 1 => profile, 1 => schedule],
    )
}

fn customer(library: &Library, env: &vm::Environment, id: &str) -> CustomerState {
    let profile = json!({
        "email": "g@example.it", "first_name": "Giulia", "time_zone": "Europe/Rome", "locale": "it-IT",
        "orders_count": 3, "total_spent": "100 EUR", "points": 480, "email_consent": true,
        "sms_consent": true, "phone": "+39333", "last_order_date": "2026-01-01"
    });
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00+01:00")
        .unwrap()
        .timestamp();
    vm::step(
        library,
        env,
        &CustomerState::new(id),
        &Input::Profile(profile.as_object().cloned().unwrap_or_default()),
        start,
    )
    .state
}

fn timed(inputs: &[(u32, Input)], start: i64) -> Vec<(i64, Input)> {
    let mut now = start;
    inputs
        .iter()
        .map(|(minutes, input)| {
            now += i64::from(*minutes) * 60;
            let input = match input {
                Input::Event(event) => Input::Event(Event {
                    at: now,
                    ..event.clone()
                }),
                other => other.clone(),
            };
            (now, input)
        })
        .collect()
}

const START: i64 = 1_795_420_800; // 2026-11-23 09:00 Europe/Rome

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_vm_is_deterministic_and_never_panics(inputs in prop::collection::vec(input(), 1..24)) {
        let library = library();
        let env = scenario::environment(None, None);
        let mut first = customer(library, &env, "giulia");
        let mut second = first.clone();
        for (now, input) in timed(&inputs, START) {
            let a = vm::step(library, &env, &first, &input, now);
            let b = vm::step(library, &env, &second, &input, now);
            prop_assert_eq!(&a.effects, &b.effects);
            prop_assert_eq!(&a.state, &b.state);
            first = a.state;
            second = b.state;
        }
    }

    #[test]
    fn bad_payloads_are_error_effects_not_crashes(name in prop::sample::select(EVENTS.to_vec()), data in arbitrary_json()) {
        let library = library();
        let env = scenario::environment(None, None);
        let state = customer(library, &env, "giulia");
        let input = Input::Event(Event { id: "e".into(), name: name.to_string(), at: START, data: data.clone() });
        let outcome = vm::step(library, &env, &state, &input, START);
        let valid = journey_runtime::vm::decode::record(
            library.schemas(),
            library.event_schema(name).unwrap(),
            &data,
            "",
        ).is_ok();
        if !valid {
            // Nothing happens but one error effect naming what was wrong.
            prop_assert_eq!(outcome.effects.len(), 1, "{:?}", outcome.effects);
            prop_assert!(matches!(&outcome.effects[0], Effect::Error(e) if e.message.contains(name)));
            prop_assert_eq!(&outcome.state, &state);
        }
    }

    #[test]
    fn every_instance_eventually_ends_or_waits(inputs in prop::collection::vec(input(), 1..16)) {
        let library = library();
        let env = scenario::environment(None, None);
        let end = START + 3 * 365 * 86_400;
        let mut simulator = Simulator::new(library, &env, end);
        simulator.add_customer(
            "giulia",
            json!({
                "email": "g@example.it", "time_zone": "Europe/Rome", "locale": "it-IT",
                "orders_count": 3, "total_spent": "100 EUR", "points": 480, "email_consent": true,
                "sms_consent": false, "last_order_date": "2026-01-01"
            }).as_object().cloned().unwrap_or_default(),
            START,
        );
        for (now, input) in timed(&inputs, START) {
            simulator.queue(now, "giulia", input);
        }
        simulator.run();
        // Three years later every journey has run its course: nothing is left running, and
        // the only timers left are yearly date triggers.
        let state = &simulator.customers["giulia"];
        for (journey, membership) in &state.journeys {
            for instance in &membership.instances {
                prop_assert!(
                    matches!(instance.status, Status::Ended { .. }),
                    "{journey} instance {} is still {:?}", instance.id, instance.status
                );
            }
        }
    }
}
