//! The VM, one behaviour at a time: each instruction, entry rules, exits, goals, policies,
//! triggers and runtime errors, on small journeys compiled from source. Every test drives
//! `vm::step` directly with a manual clock, so it shows exactly which effects an input gives.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use chrono::TimeZone;
use chrono_tz::Tz;
use journey_compiler::bytecode::Value;
use journey_runtime::scenario;
use journey_runtime::vm::{
    self, CustomerState, DecisionKind, Effect, Event, ExitReason, Input, Library, Message, TimerId,
};
use serde_json::json;

const ROME: Tz = Tz::Europe__Rome;

/// Compiles a journey source (with the prelude) into a library; panics with the diagnostics if
/// it does not compile.
fn library(source: &str) -> Library {
    let built = journey_compiler::build_files(
        vec![("test.journey".to_string(), source.to_string())],
        &journey_compiler::NoImports,
    );
    let errors = built
        .checked
        .count(journey_compiler::diagnostics::Severity::Error);
    assert!(
        errors == 0 && built.failures.is_empty(),
        "{}",
        journey_compiler::diagnostics::render::terminal::render(
            &built.checked.diagnostics,
            &built.checked.sources,
            false
        )
    );
    Library::with(built.programs)
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    ROME.with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .timestamp()
}

fn local(t: i64) -> String {
    ROME.timestamp_opt(t, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

struct Harness {
    library: Library,
    env: vm::Environment,
    state: CustomerState,
    effects: Vec<Effect>,
}

impl Harness {
    fn new(source: &str) -> Harness {
        Harness::with_profile(source, json!({}))
    }

    fn with_profile(source: &str, extra: serde_json::Value) -> Harness {
        let mut harness = Harness {
            library: library(source),
            env: scenario::environment(None, None),
            state: CustomerState::new("giulia"),
            effects: Vec::new(),
        };
        let mut profile = json!({
            "email": "giulia@example.it",
            "first_name": "Giulia",
            "time_zone": "Europe/Rome",
            "locale": "it-IT",
            "orders_count": 1,
            "total_spent": "10 EUR",
            "points": 0,
            "email_consent": true,
            "sms_consent": false,
        });
        for (key, value) in extra.as_object().unwrap() {
            profile[key] = value.clone();
        }
        harness.step(
            Input::Profile(profile.as_object().unwrap().clone()),
            at(2026, 11, 23, 9, 0),
        );
        harness
    }

    fn step(&mut self, input: Input, now: i64) -> Vec<Effect> {
        let outcome = vm::step(&self.library, &self.env, &self.state, &input, now);
        self.state = outcome.state;
        self.effects.extend(outcome.effects.clone());
        outcome.effects
    }

    fn event(&mut self, name: &str, data: serde_json::Value, now: i64) -> Vec<Effect> {
        self.step(
            Input::Event(Event {
                id: format!("e{now}"),
                name: name.to_string(),
                at: now,
                data,
            }),
            now,
        )
    }

    /// Fires the pending wake timer with the latest `SetTimer` effect.
    fn fire(&mut self) -> (i64, Vec<Effect>) {
        let (timer, when) = self
            .effects
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::SetTimer {
                    timer: t @ TimerId::Wake { .. },
                    at,
                } => Some((t.clone(), *at)),
                _ => None,
            })
            .expect("a timer was set");
        let effects = self.step(Input::Timer(timer), when);
        (when, effects)
    }
}

fn sent(effects: &[Effect]) -> Vec<&Message> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(m) => Some(m.as_ref()),
            _ => None,
        })
        .collect()
}

fn decisions(effects: &[Effect], kind: DecisionKind) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Decision(d) if d.kind == kind => Some(d.why.clone()),
            _ => None,
        })
        .collect()
}

fn errors(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Error(error) => Some(error.message.clone()),
            _ => None,
        })
        .collect()
}

const NOTE: &str = r#"
template nota: email transactional {
  subject "Nota per {{ customer.first_name ?? 'te' }}"
  layout none
  body """
    Ciao.
    """
}
"#;

fn journey(steps: &str) -> String {
    format!(
        "journey prova \"Prova\" {{\n  when subscribed as signup\n  every time\n{steps}\n}}\n{NOTE}"
    )
}

// ---------------------------------------------------------------- send

#[test]
fn send_renders_the_message_at_once() {
    let mut h = Harness::new(&journey("  send email nota"));
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let messages = sent(&effects);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].subject.as_deref(), Some("Nota per Giulia"));
    assert_eq!(messages[0].to.as_deref(), Some("giulia@example.it"));
    assert_eq!(messages[0].text, "Ciao.\n");
    assert!(
        messages[0].message_id.starts_with('<')
            && messages[0].message_id.ends_with("@negozio.example>")
    );
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Exit {
            reason: ExitReason::Completed,
            ..
        }
    )));
}

#[test]
fn a_customer_without_an_email_address_is_skipped_not_failed() {
    let mut h = Harness::with_profile(&journey("  send email nota"), json!({ "email": null }));
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    assert!(sent(&effects).is_empty());
    assert_eq!(
        decisions(&effects, DecisionKind::Skipped),
        ["`nota` not sent: the customer has no `email`"]
    );
    assert!(errors(&effects).is_empty());
}

// ---------------------------------------------------------------- wait

#[test]
fn wait_sets_a_timer_and_continues_when_it_fires() {
    let mut h = Harness::new(&journey("  wait 3 days\n  send email nota"));
    let start = at(2026, 11, 23, 10, 0);
    let effects = h.event("subscribed", json!({}), start);
    assert!(sent(&effects).is_empty());
    let (when, effects) = h.fire();
    assert_eq!(when, start + 3 * 86_400);
    assert_eq!(sent(&effects).len(), 1);
}

#[test]
fn a_stale_timer_does_nothing() {
    let mut h = Harness::new(&journey("  wait 3 days\n  send email nota"));
    h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let stale = TimerId::Wake {
        journey: "prova".to_string(),
        instance: 0,
        seq: 99,
    };
    let effects = h.step(Input::Timer(stale), at(2026, 11, 30, 10, 0));
    assert!(sent(&effects).is_empty());
}

#[test]
fn wait_until_is_the_next_local_time_across_a_dst_change() {
    let mut h = Harness::new(&journey("  wait until 09:00\n  send email nota"));
    // Saturday 28 March 2026, 22:00 in Rome; clocks go forward that night.
    h.event("subscribed", json!({}), at(2026, 3, 28, 22, 0));
    let (when, effects) = h.fire();
    assert_eq!(local(when), "2026-03-29 09:00");
    assert_eq!(sent(&effects).len(), 1);
}

#[test]
fn wait_until_a_weekday() {
    let mut h = Harness::new(&journey("  wait until saturday 10:00\n  send email nota"));
    h.event("subscribed", json!({}), at(2026, 11, 25, 15, 0)); // a Wednesday
    let (when, _) = h.fire();
    assert_eq!(local(when), "2026-11-28 10:00");
}

// ---------------------------------------------------------------- wait for

const SHIPPING: &str = r#"
journey prova "Prova" {
  when order_placed as order
  every time
  wait for order_shipped as shipment where it.order_id == order.order_id up to 5 days {
    timeout => {
      send email ritardo
      exit
    }
  }
  send email partito
}

template ritardo: email transactional {
  subject "Ritardo {{ order.order_id }}"
  layout none
  body "ritardo"
}

template partito: email transactional {
  subject "Partito con {{ shipment.carrier }}"
  layout none
  body "partito"
}
"#;

fn order(id: &str) -> serde_json::Value {
    json!({
        "order_id": id, "placed_at": "2026-11-23T10:00:00+01:00", "total": "20 EUR", "items": [],
        "shipping_method": "Posta",
        "shipping_address": { "name": "G", "street": "Via Po 3", "city": "Torino", "postal_code": "10124", "country": "IT" },
        "expected_delivery": "2026-11-28", "promised_ship_by": "2026-11-25", "payment_method": "Carta",
        "first_order": false, "suggested_products": [], "suggested_product_ids": []
    })
}

fn shipment(id: &str) -> serde_json::Value {
    json!({ "order_id": id, "carrier": "BRT", "tracking_number": "1", "tracking_url": "https://brt.it/1",
            "shipped_at": "2026-11-24T10:00:00+01:00", "expected_delivery": "2026-11-27" })
}

#[test]
fn wait_for_binds_the_matching_event_and_cancels_the_timeout() {
    let mut h = Harness::new(SHIPPING);
    h.event("order_placed", order("A1"), at(2026, 11, 23, 10, 0));
    // Another order's shipment does not match the `where`.
    let effects = h.event("order_shipped", shipment("B9"), at(2026, 11, 24, 9, 0));
    assert!(sent(&effects).is_empty());
    let effects = h.event("order_shipped", shipment("A1"), at(2026, 11, 24, 10, 0));
    assert_eq!(
        sent(&effects)[0].subject.as_deref(),
        Some("Partito con BRT")
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTimer { .. }))
    );
}

#[test]
fn wait_for_times_out_into_its_block() {
    let mut h = Harness::new(SHIPPING);
    let start = at(2026, 11, 23, 10, 0);
    h.event("order_placed", order("A1"), start);
    let (when, effects) = h.fire();
    assert_eq!(when, start + 5 * 86_400);
    assert_eq!(
        decisions(&effects, DecisionKind::TimedOut),
        ["nothing arrived within 5 days"]
    );
    assert_eq!(sent(&effects)[0].subject.as_deref(), Some("Ritardo A1"));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Exit {
            reason: ExitReason::ExitStep,
            ..
        }
    )));
}

#[test]
fn wait_for_the_first_of_several_events_takes_whichever_comes_first() {
    let source = r#"
journey prova "Prova" {
  when subscribed
  every time
  wait up to 7 days {
    on coupon_redeemed => { send email a }
    on email_opened => { send email b }
    timeout => { send email c }
  }
}
template a: email transactional { subject "a" layout none body "a" }
template b: email transactional { subject "b" layout none body "b" }
template c: email transactional { subject "c" layout none body "c" }
"#;
    let mut h = Harness::new(source);
    h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let effects = h.event(
        "email_opened",
        json!({ "journey": "x", "template": "y" }),
        at(2026, 11, 24, 10, 0),
    );
    assert_eq!(sent(&effects)[0].template, "b");
    // The wait is over: a later redemption does nothing.
    let effects = h.event(
        "coupon_redeemed",
        json!({ "code": "X", "order_id": "A1", "discount": "5 EUR" }),
        at(2026, 11, 25, 10, 0),
    );
    assert!(sent(&effects).is_empty());
}

#[test]
fn since_entry_counts_an_event_that_came_before_the_wait() {
    let source = r#"
journey prova "Prova" {
  when order_placed as order
  every time
  wait 2 days
  wait for order_shipped where it.order_id == order.order_id since entry up to 3 days {
    timeout => { exit }
  }
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    h.event("order_placed", order("A1"), at(2026, 11, 23, 10, 0));
    // Shipped while the customer is still in the two-day wait.
    h.event("order_shipped", shipment("A1"), at(2026, 11, 24, 10, 0));
    let (_, effects) = h.fire();
    assert_eq!(sent(&effects).len(), 1, "{effects:#?}");
    assert_eq!(
        decisions(&effects, DecisionKind::EventMatched),
        ["`order_shipped` had already arrived since entry"]
    );
}

#[test]
fn without_since_entry_an_earlier_event_does_not_count() {
    let source = r#"
journey prova "Prova" {
  when order_placed as order
  every time
  wait 2 days
  wait for order_shipped where it.order_id == order.order_id up to 3 days {
    timeout => { exit }
  }
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    h.event("order_placed", order("A1"), at(2026, 11, 23, 10, 0));
    h.event("order_shipped", shipment("A1"), at(2026, 11, 24, 10, 0));
    let (_, effects) = h.fire();
    assert!(sent(&effects).is_empty());
}

// ---------------------------------------------------------------- if, split, set, goal, exit

#[test]
fn if_takes_the_branch_its_condition_chooses_and_says_why() {
    let source = journey(
        "  if customer.orders_count == 1 {\n    send email nota\n  } else {\n    exit\n  }",
    );
    let mut h = Harness::new(&source);
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    assert_eq!(sent(&effects).len(), 1);
    assert_eq!(
        decisions(&effects, DecisionKind::Branch),
        ["`customer.orders_count == 1` is true"]
    );
    let mut h = Harness::with_profile(&source, json!({ "orders_count": 4 }));
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    assert!(sent(&effects).is_empty());
    assert_eq!(
        decisions(&effects, DecisionKind::Branch),
        ["`customer.orders_count == 1` is false"]
    );
}

#[test]
fn split_is_stable_per_customer_and_follows_the_percentages() {
    let source = journey("  split {\n    30% => { send email nota }\n    70% => holdout\n  }");
    let library = library(&source);
    let env = scenario::environment(None, None);
    let mut in_first = 0;
    for n in 0..2000 {
        let mut state = CustomerState::new(&format!("customer-{n}"));
        let profile = json!({ "email": "x@example.it", "time_zone": "Europe/Rome", "locale": "it", "email_consent": true });
        state = vm::step(
            &library,
            &env,
            &state,
            &Input::Profile(profile.as_object().unwrap().clone()),
            0,
        )
        .state;
        let input = Input::Event(Event {
            id: "1".into(),
            name: "subscribed".into(),
            at: 0,
            data: json!({}),
        });
        let first = vm::step(&library, &env, &state, &input, 0);
        let again = vm::step(&library, &env, &state, &input, 0);
        assert_eq!(
            first.effects, again.effects,
            "the same customer lands in the same branch"
        );
        if !sent(&first.effects).is_empty() {
            in_first += 1;
        } else {
            assert!(first.effects.iter().any(|e| matches!(
                e,
                Effect::Exit {
                    reason: ExitReason::Holdout,
                    ..
                }
            )));
        }
    }
    // 30% of 2000 is 600; the hash spreads customers evenly.
    assert!(
        (540..=660).contains(&in_first),
        "{in_first} of 2000 in the 30% branch"
    );
}

#[test]
fn set_updates_the_profile_for_the_following_steps() {
    let source = journey(
        "  set customer.points = customer.points + 600\n  if customer.points >= 500 {\n    send email nota\n  }",
    );
    let mut h = Harness::new(&source);
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    assert!(effects.iter().any(|e| matches!(e, Effect::SetProfile { attribute, value: Value::Int(600), .. } if attribute.as_ref() == "points")));
    assert_eq!(sent(&effects).len(), 1);
    assert_eq!(h.state.profile.get("points"), Some(&Value::Int(600)));
}

#[test]
fn goals_count_within_their_window_only() {
    let source = r#"
journey prova "Prova" {
  when subscribed
  every time
  goal ordered when order_placed within 7 days
  wait 30 days
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let effects = h.event("order_placed", order("A1"), at(2026, 11, 26, 10, 0));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Goal { goal, .. } if goal == "ordered"))
    );
    // Reached once: a second order does not count again.
    let effects = h.event("order_placed", order("A2"), at(2026, 11, 27, 10, 0));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Goal { .. })));

    let mut late = Harness::new(&format!("{source}{NOTE}"));
    late.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let effects = late.event("order_placed", order("A1"), at(2026, 12, 1, 10, 0));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Goal { .. })));
}

#[test]
fn an_exit_rule_cancels_the_pending_wait_at_once() {
    let source = r#"
journey prova "Prova" {
  when cart_abandoned as cart
  every time
  exit when order_placed
  wait 3 hours
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    let cart = json!({ "cart_id": "C1", "items": [], "total": "5 EUR", "checkout_url": "https://negozio.example/c" });
    h.event("cart_abandoned", cart, at(2026, 11, 23, 10, 0));
    let effects = h.event("order_placed", order("A1"), at(2026, 11, 23, 11, 0));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTimer { .. }))
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::Exit { reason: ExitReason::ExitRule { event }, .. } if event == "order_placed")));
    assert_eq!(h.state.active_instances(), 0);
}

// ---------------------------------------------------------------- entry rules

fn entries(source_rule: &str) -> Vec<bool> {
    let source = format!(
        "journey prova \"Prova\" {{\n  when order_placed as order\n  {source_rule}\n  send email nota\n}}\n{NOTE}"
    );
    let mut h = Harness::new(&source);
    let times = [
        (at(2026, 11, 23, 10, 0), "A1"),
        (at(2026, 11, 24, 10, 0), "A1"),
        (at(2026, 11, 25, 10, 0), "A2"),
        (at(2027, 1, 25, 10, 0), "A3"),
    ];
    times
        .iter()
        .map(|(t, id)| {
            let effects = h.event("order_placed", order(id), *t);
            !sent(&effects).is_empty()
        })
        .collect()
}

#[test]
fn entry_rules_once_once_per_again_after_every_time() {
    assert_eq!(entries("once"), [true, false, false, false]);
    assert_eq!(
        entries("once per order.order_id"),
        [true, false, true, true]
    );
    assert_eq!(entries("again after 30 days"), [true, false, false, true]);
    assert_eq!(entries("every time"), [true, true, true, true]);
}

#[test]
fn an_exclusive_group_lets_a_customer_into_one_journey_at_a_time() {
    let source = r#"
journey uno "Uno" {
  when subscribed
  every time
  exclusive promo
  wait 3 days
  send email nota
}

journey due "Due" {
  when order_placed
  every time
  exclusive promo
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let effects = h.event("order_placed", order("A1"), at(2026, 11, 24, 10, 0));
    assert!(sent(&effects).is_empty());
    let refused = decisions(&effects, DecisionKind::NotEntered);
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].contains("already in `uno` of the exclusive group `promo`"),
        "{refused:?}"
    );
}

// ---------------------------------------------------------------- policies

const POLICY: &str = r#"
policy marketing {
  quiet hours 21:00 to 08:00 local
  at most 2 per 7 days then skip
}

journey prova "Prova" {
  when subscribed
  every time
  send email promo
}

template promo: email marketing {
  subject "Promo"
  body """
    Offerta. [Disiscriviti]({{ unsubscribe_url }})
    """
}
"#;

#[test]
fn marketing_waits_for_the_end_of_quiet_hours() {
    let mut h = Harness::new(POLICY);
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 22, 30));
    assert!(sent(&effects).is_empty());
    assert_eq!(decisions(&effects, DecisionKind::Deferred).len(), 1);
    let (when, effects) = h.fire();
    assert_eq!(local(when), "2026-11-24 08:00");
    let message = &sent(&effects)[0];
    assert!(
        message
            .unsubscribe_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://negozio.example/unsubscribe/giulia/"))
    );
    assert!(
        message
            .text
            .contains("Disiscriviti (https://negozio.example/unsubscribe/giulia/"),
        "{}",
        message.text
    );
}

#[test]
fn a_frequency_cap_skips_what_is_over_it() {
    let mut h = Harness::new(POLICY);
    let mut delivered = 0;
    for day in 23..27 {
        let effects = h.event("subscribed", json!({}), at(2026, 11, day, 10, 0));
        delivered += sent(&effects).len();
    }
    assert_eq!(delivered, 2);
    let skipped = decisions(&h.effects, DecisionKind::Skipped);
    assert_eq!(skipped.len(), 2);
    assert!(skipped[0].contains("at most 2 per 7 days"), "{skipped:?}");
}

#[test]
fn marketing_needs_consent_and_transactional_does_not() {
    let mut h = Harness::with_profile(POLICY, json!({ "email_consent": false }));
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    assert!(sent(&effects).is_empty());
    assert!(decisions(&effects, DecisionKind::Skipped)[0].contains("email_consent"));
    let mut h = Harness::with_profile(
        &journey("  send email nota"),
        json!({ "email_consent": false }),
    );
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 23, 0));
    assert_eq!(
        sent(&effects).len(),
        1,
        "transactional mail ignores consent and quiet hours"
    );
}

// ---------------------------------------------------------------- triggers

#[test]
fn a_schedule_lets_in_the_customers_its_condition_selects() {
    let source = r#"
journey prova "Prova" {
  when schedule "0 10 * * *" in "Europe/Rome" for customers where customer.orders_count > 2
  again after 30 days
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    let tick = Input::Schedule {
        journey: "prova".to_string(),
    };
    assert!(sent(&h.step(tick.clone(), at(2026, 11, 23, 10, 0))).is_empty());
    h.state.profile.set("orders_count".into(), Value::Int(3));
    assert_eq!(
        sent(&h.step(tick.clone(), at(2026, 11, 24, 10, 0))).len(),
        1
    );
    assert!(
        sent(&h.step(tick, at(2026, 11, 25, 10, 0))).is_empty(),
        "again after 30 days"
    );
}

#[test]
fn a_date_trigger_sets_its_timer_and_fires_on_the_day() {
    let source = r#"
journey prova "Prova" {
  when date customer.birthday at 09:00 local
  again after 300 days
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    let update = json!({ "birthday": "1996-02-29" });
    let effects = h.step(
        Input::Profile(update.as_object().unwrap().clone()),
        at(2026, 11, 23, 10, 0),
    );
    let when = effects
        .iter()
        .find_map(|e| match e {
            Effect::SetTimer {
                timer: TimerId::Anniversary { .. },
                at,
            } => Some(*at),
            _ => None,
        })
        .expect("an anniversary timer");
    assert_eq!(local(when), "2027-02-28 09:00");
    let effects = h.step(
        Input::Timer(TimerId::Anniversary {
            journey: "prova".to_string(),
        }),
        when,
    );
    assert_eq!(sent(&effects).len(), 1);
    let next = effects.iter().find_map(|e| match e {
        Effect::SetTimer {
            timer: TimerId::Anniversary { .. },
            at,
        } => Some(*at),
        _ => None,
    });
    assert_eq!(next.map(local).as_deref(), Some("2028-02-29 09:00"));
}

#[test]
fn entering_a_segment_starts_the_journey_once_per_entry() {
    let source = r#"
segment fedeli "Loyal" where customer.orders_count >= 5

journey prova "Prova" {
  when entered segment fedeli
  every time
  send email nota
}
"#;
    let mut h = Harness::new(&format!("{source}{NOTE}"));
    let update = |n: i64| Input::Profile(json!({ "orders_count": n }).as_object().unwrap().clone());
    assert!(sent(&h.step(update(3), at(2026, 11, 23, 10, 0))).is_empty());
    assert_eq!(sent(&h.step(update(5), at(2026, 11, 24, 10, 0))).len(), 1);
    assert!(
        sent(&h.step(update(6), at(2026, 11, 25, 10, 0))).is_empty(),
        "still inside: no new entry"
    );
}

// ---------------------------------------------------------------- runtime errors

#[test]
fn a_malformed_event_is_an_error_naming_the_field_and_nothing_runs() {
    let mut h = Harness::new(SHIPPING);
    let mut bad = order("A1");
    bad["total"] = json!(20);
    let effects = h.event("order_placed", bad, at(2026, 11, 23, 10, 0));
    let messages = errors(&effects);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("field `total` should be money"),
        "{messages:?}"
    );
    assert_eq!(h.state.active_instances(), 0);
    let effects = h.event("order_teleported", json!({}), at(2026, 11, 23, 10, 0));
    assert!(errors(&effects)[0].contains("unknown event `order_teleported`"));
}

#[test]
fn a_value_missing_at_run_time_sends_nothing_half_rendered() {
    // `first_name` is optional but the shop sent a profile without the required `points`:
    // a template reading it cannot be rendered.
    let source = r#"
journey prova "Prova" {
  when subscribed
  every time
  send email punti
}

template punti: email transactional {
  subject "Hai {{ customer.points }} punti"
  layout none
  body "ok"
}
"#;
    let mut h = Harness::with_profile(source, json!({ "points": null }));
    let effects = h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    assert!(sent(&effects).is_empty());
    let error = effects
        .iter()
        .find_map(|e| match e {
            Effect::Error(error) => Some(error.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(error.journey.as_deref(), Some("prova"));
    assert_eq!(error.template.as_deref(), Some("punti"));
    assert_eq!(error.field.as_deref(), Some("customer.points"));
    assert!(
        error.message.contains("in the subject of `punti`"),
        "{}",
        error.message
    );
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Exit {
            reason: ExitReason::Error,
            ..
        }
    )));
}

#[test]
fn coupons_are_deterministic_and_reported_with_their_rules() {
    let source = r#"
journey prova "Prova" {
  when subscribed
  every time
  send email regalo with coupon(percent: 15, valid: 14 days, on: ["MOKA-3"], minimum: €30)
}

template regalo: email transactional {
  subject "Codice {{ coupon.code }}"
  layout none
  body "Scade il {{ coupon.expires | date }}"
}
"#;
    let mut h = Harness::new(source);
    let start = at(2026, 11, 23, 10, 0);
    let first = h.event("subscribed", json!({}), start);
    let message = sent(&first)[0];
    let coupon = &message.coupons[0];
    assert_eq!(coupon.percent, Some(15));
    assert_eq!(coupon.products, ["MOKA-3"]);
    assert_eq!(coupon.minimum.as_deref(), Some("30 EUR"));
    assert_eq!(
        message.subject.as_deref(),
        Some(format!("Codice {}", coupon.code).as_str())
    );
    assert_eq!(message.text, "Scade il 7 dicembre 2026\n");
    // The same customer, journey, instance and step always give the same code.
    let mut twin = Harness::new(source);
    let second = twin.event("subscribed", json!({}), start);
    assert_eq!(sent(&second)[0].coupons[0].code, coupon.code);
}

#[test]
fn money_and_dates_follow_the_customer_locale() {
    let source = r#"
journey prova "Prova" {
  when order_placed as order
  every time
  send email totale
}

template totale: email transactional {
  subject "{{ order.total | money }} il {{ order.expected_delivery | date }}"
  layout none
  body "x"
}
"#;
    let mut h = Harness::new(source);
    let mut data = order("A1");
    data["total"] = json!("1234.5 EUR");
    let effects = h.event("order_placed", data.clone(), at(2026, 11, 23, 10, 0));
    assert_eq!(
        sent(&effects)[0].subject.as_deref(),
        Some("1.234,50 € il 28 novembre 2026")
    );
    let mut h = Harness::with_profile(source, json!({ "locale": "en-US" }));
    let effects = h.event("order_placed", data, at(2026, 11, 23, 10, 0));
    assert_eq!(
        sent(&effects)[0].subject.as_deref(),
        Some("€1,234.50 il November 28, 2026")
    );
}

// ---------------------------------------------------------------- migrations

/// Deploys a new version of the harness's journeys from source; returns its hash.
fn deploy(h: &mut Harness, source: &str) -> [u8; 32] {
    let built = journey_compiler::build_files(
        vec![("test.journey".to_string(), source.to_string())],
        &journey_compiler::NoImports,
    );
    assert_eq!(
        built
            .checked
            .count(journey_compiler::diagnostics::Severity::Error),
        0
    );
    let hash = journey_compiler::bytecode::format::hash(&built.programs[0]).0;
    h.library.deploy(built.programs);
    hash
}

fn version_of(h: &Harness) -> [u8; 32] {
    h.state.journeys["prova"].instances[0].version
}

const TWO_REMINDERS: &str = "  step reminder: wait 3 days\n  send email nota\n  step last_call: wait 7 days\n  send email nota";

#[test]
fn a_migration_moves_customers_at_a_named_step_and_their_wait_starts_again() {
    let mut h = Harness::new(&journey(TWO_REMINDERS));
    h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let old = version_of(&h);
    let new = deploy(
        &mut h,
        &journey(
            "  migrate {\n    reminder -> first\n  }\n  step first: wait 1 day\n  send email nota",
        ),
    );
    let now = at(2026, 11, 24, 9, 0);
    let effects = h.step(
        Input::Migrate {
            journey: "prova".to_string(),
        },
        now,
    );
    let moved = decisions(&effects, DecisionKind::Migrated);
    assert_eq!(moved.len(), 1, "{effects:?}");
    assert!(
        moved[0].starts_with("moved from `reminder` (line 4) of version ")
            && moved[0].contains(" to `first` (line 7) of version "),
        "{}",
        moved[0]
    );
    assert_eq!(version_of(&h), new);
    assert_ne!(old, new);
    // The old wait's timer is cancelled and the new wait counts from the deploy.
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTimer { .. }))
    );
    let (when, effects) = h.fire();
    assert_eq!(when, now + 86_400);
    assert_eq!(sent(&effects).len(), 1);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Exit {
            reason: ExitReason::Completed,
            ..
        }
    )));
    // Moving again does nothing: the customer runs the current version already.
    let again = h.step(
        Input::Migrate {
            journey: "prova".to_string(),
        },
        when + 1,
    );
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn customers_at_a_step_no_migration_names_stay_on_their_version() {
    let mut h = Harness::new(&journey(TWO_REMINDERS));
    h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    let (_, first) = h.fire(); // the first reminder goes out; now at `last_call`
    assert_eq!(sent(&first).len(), 1);
    let old = version_of(&h);
    deploy(
        &mut h,
        &journey(
            "  migrate {\n    reminder -> first\n  }\n  step first: wait 1 day\n  send email nota",
        ),
    );
    let effects = h.step(
        Input::Migrate {
            journey: "prova".to_string(),
        },
        at(2026, 11, 27, 9, 0),
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(version_of(&h), old);
    // It finishes on its own version: the second reminder, 7 days after the first.
    let (_, effects) = h.fire();
    assert_eq!(sent(&effects).len(), 1);
}

#[test]
fn a_migration_to_exit_ends_the_customer_and_cancels_the_wait() {
    let mut h = Harness::new(&journey(TWO_REMINDERS));
    h.event("subscribed", json!({}), at(2026, 11, 23, 10, 0));
    deploy(
        &mut h,
        &journey("  migrate {\n    reminder -> exit\n  }\n  wait 1 day\n  send email nota"),
    );
    let effects = h.step(
        Input::Migrate {
            journey: "prova".to_string(),
        },
        at(2026, 11, 24, 9, 0),
    );
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Exit {
            reason: ExitReason::Migrated,
            ..
        }
    )));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTimer { .. }))
    );
    assert!(decisions(&effects, DecisionKind::Left)[0].contains("out of the journey"));
}

#[test]
fn a_migrated_customer_keeps_the_event_data_by_name() {
    // Version 1 keeps the order; version 2 binds it under the same name and sends a message
    // that reads it: the moved customer still has it.
    let v1 = "journey prova \"Prova\" {\n  when order_placed as order\n  every time\n  step reminder: wait 3 days\n  exit\n}\n";
    let v2 = "journey prova \"Prova\" {\n  when order_placed as order\n  every time\n  migrate {\n    reminder -> thanks\n  }\n  wait 1 hour\n  step thanks: send email grazie\n}\ntemplate grazie: email transactional {\n  subject \"Ordine {{ order.order_id }}\"\n  layout none\n  body \"\"\"\n    Grazie.\n    \"\"\"\n}\n";
    let mut h = Harness::new(v1);
    h.event("order_placed", order("A1"), at(2026, 11, 23, 10, 0));
    deploy(&mut h, v2);
    let effects = h.step(
        Input::Migrate {
            journey: "prova".to_string(),
        },
        at(2026, 11, 24, 9, 0),
    );
    assert_eq!(sent(&effects)[0].subject.as_deref(), Some("Ordine A1"));
}
