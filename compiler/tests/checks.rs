//! Semantics of the checker on small programs: what must pass (no false alarms) and what must
//! be caught, one check per rule. The UI corpus covers the wording; this covers the logic.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

/// The codes reported for `text` (checked alone with the prelude), in order.
fn codes(text: &str) -> Vec<String> {
    journey_compiler::check_source("test.journey", text)
        .diagnostics
        .iter()
        .map(|d| d.code.id())
        .collect()
}

fn template(name: &str, body: &str) -> String {
    format!(
        "template {name}: email transactional {{\n  subject \"s\"\n  body \"\"\"\n    {body}\n    \"\"\"\n}}\n"
    )
}

#[test]
fn the_briefs_post_purchase_journey_checks_clean() {
    let mut text = String::from(
        r#"journey post_purchase "After the purchase" {
  when order_placed as order
  once per order.order_id
  exit when order_refunded where it.order_id == order.order_id

  send email order_confirmation
  wait for order_shipped as shipment where it.order_id == order.order_id up to 5 days {
    timeout => {
      send email shipping_delay
      wait for order_shipped as shipment where it.order_id == order.order_id up to 20 days {
        timeout => { exit }
      }
    }
  }
  send email shipping_confirmation
  wait for order_delivered up to 10 days
  wait 3 days
  wait until 10:00
  send email review_request
  if customer.orders_count == 1 {
    send email first_purchase_survey
  } else {
    send email cross_sell with coupon(percent: 10, valid: 7 days)
  }
}
"#,
    );
    text += &template(
        "order_confirmation",
        "{% for item in order.items %}- {{ item.name }} x{{ item.quantity }}: {{ item.price | money }}\n{% endfor %}Total {{ order.total | money }}, expected {{ order.expected_delivery | date }}",
    );
    text += &template("shipping_delay", "Order {{ order.order_id }} is late.");
    text += &template(
        "shipping_confirmation",
        "Track it: {{ shipment.tracking_url }}",
    );
    text += &template("review_request", "How was {{ order.order_id }}?");
    text += &template(
        "first_purchase_survey",
        "Welcome {{ customer.first_name ?? 'friend' }}",
    );
    text += &template(
        "cross_sell",
        "Code {{ coupon.code }} until {{ coupon.expires | date }}",
    );
    assert_eq!(codes(&text), Vec::<String>::new());
}

#[test]
fn data_from_a_wait_is_known_only_on_paths_that_had_it() {
    let body = |timeout: &str| {
        format!(
            "journey j {{\n  when order_placed as order\n  once\n  wait for order_shipped as shipment up to 5 days {{\n    timeout => {{ {timeout} }}\n  }}\n  send email t\n}}\n{}",
            template("t", "{{ shipment.carrier }}")
        )
    };
    assert_eq!(
        codes(&body("wait 1 day")),
        ["J0112"],
        "falls through without shipment"
    );
    assert_eq!(
        codes(&body("exit")),
        Vec::<String>::new(),
        "the timeout path leaves"
    );
    assert_eq!(
        codes(&body(
            "wait for order_shipped as shipment up to 9 days { timeout => { exit } }"
        )),
        Vec::<String>::new(),
        "the timeout path waits again"
    );
}

#[test]
fn optionals_are_handled_by_fallback_or_narrowing() {
    let program = |condition: &str, body: &str| {
        format!(
            "journey j {{\n  when subscribed\n  once\n  if {condition} {{\n    send email t\n  }}\n}}\n{}",
            template("t", body)
        )
    };
    assert_eq!(
        codes(&program("true", "{{ customer.first_name }}")),
        ["J0203"]
    );
    assert_eq!(
        codes(&program("true", "{{ customer.first_name ?? 'amico' }}")),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&program(
            "customer.first_name is set",
            "{{ customer.first_name }}"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&program(
            "true",
            "{% if customer.first_name is set %}{{ customer.first_name }}{% endif %}"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&program(
            "customer.birthday is set and days_since(customer.birthday) > 3",
            "x"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&program("days_since(customer.birthday) > 3", "x")),
        ["J0203"]
    );
    assert_eq!(
        codes(&program("customer.first_name == 'Anna'", "x")),
        Vec::<String>::new(),
        "equality with an optional is fine"
    );
}

#[test]
fn money_types_and_currencies() {
    let program = |condition: &str| {
        format!(
            "journey j {{\n  when order_placed as order\n  once\n  if {condition} {{\n    exit\n  }}\n  send email t\n}}\n{}",
            template("t", "x")
        )
    };
    assert_eq!(codes(&program("order.total > €30")), Vec::<String>::new());
    assert_eq!(
        codes(&program("order.total * 2 >= 30 EUR + €5")),
        Vec::<String>::new()
    );
    assert_eq!(codes(&program("order.total > 30")), ["J0201"]);
    assert_eq!(codes(&program("order.total > €30 + 5 USD")), ["J0202"]);
    assert_eq!(codes(&program("order.order_id == 3")), ["J0201"]);
    assert_eq!(codes(&program("order.total")), ["J0204"]);
    assert_eq!(codes(&program("'it' in order.items")), ["J0201"]);
    assert_eq!(
        codes(&program("customer.locale in ['it', 'it-IT']")),
        Vec::<String>::new()
    );
}

#[test]
fn reachability_waits_splits_and_goals() {
    let journey = |steps: &str| format!("journey j {{\n  when subscribed\n  once\n{steps}\n}}\n");
    assert_eq!(codes(&journey("  exit\n  wait 1 day")), ["J0305"]);
    assert_eq!(
        codes(&journey("  if true { exit } else { exit }\n  wait 1 day")),
        ["J0305"]
    );
    assert_eq!(codes(&journey("  wait for order_placed")), ["J0304"]);
    assert_eq!(
        codes(&journey(
            "  split {\n    50% => { wait 1 day }\n    40% => holdout\n  }"
        )),
        ["J0303"]
    );
    assert_eq!(
        codes(&journey(
            "  split {\n    90% => { wait 1 day }\n    10% => holdout\n  }"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&journey("  wait 10 days\n  goal reached within 7 days")),
        ["J0306"]
    );
    assert_eq!(
        codes(&journey("  wait 5 days\n  goal reached within 7 days")),
        Vec::<String>::new()
    );
    assert_eq!(codes(&journey("  wait until monday 25:00")), ["J0004"]);
    assert_eq!(
        codes(&journey("  wait until 09:00 in \"Europe/Milan\"")),
        ["J0309"]
    );
    assert_eq!(
        codes(&journey("  set customer.points = customer.points + 10")),
        Vec::<String>::new()
    );
    assert_eq!(codes(&journey("  set customer.points = 'ten'")), ["J0206"]);
    assert_eq!(
        codes("journey j {\n  when schedule \"0 9 * *\" for customers\n  once\n  exit\n}\n"),
        ["J0308"]
    );
    assert_eq!(
        codes("journey j {\n  when schedule \"0 9 * * *\" for customers\n  once\n  exit\n}\n"),
        Vec::<String>::new()
    );
}

#[test]
fn a_shop_extends_prelude_schemas_but_cannot_redeclare_fields() {
    let base = "journey j {\n  when order_placed as order\n  once\n  if order.gift and customer.vip ?? false { exit }\n  exit\n}\n";
    let extension = "event order_placed {\n  gift: bool\n}\ncustomer {\n  vip: bool?\n}\n";
    assert_eq!(codes(&format!("{extension}{base}")), Vec::<String>::new());
    // Extensions add up; a field declared twice is the mistake.
    assert_eq!(
        codes(&format!(
            "{extension}event order_placed {{\n  wrap: bool\n}}\n{base}"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&format!(
            "{extension}event order_placed {{\n  gift: bool\n}}\n{base}"
        )),
        ["J0111"]
    );
    // A shop's own event declared twice is a duplicate.
    assert_eq!(
        codes(&format!(
            "event promo {{\n  code: text\n}}\nevent promo {{\n  x: int\n}}\n{base}{extension}"
        )),
        ["J0110"]
    );
    assert_eq!(
        codes(&format!(
            "event order_placed {{\n  total: money\n}}\n{base}"
        )),
        ["J0111", "J0102", "J0104"]
    );
}

#[test]
fn templates_not_sent_yet_are_checked_for_what_every_template_sees() {
    let journey = "journey j {\n  when subscribed\n  once\n  exit\n}\n";
    let unsent = |body: &str| format!("{journey}{}", template("draft", body));
    assert_eq!(
        codes(&unsent("{{ shop.name }} {{ order.total | money }}")),
        ["J0401"],
        "event data is not known yet: no alarm"
    );
    assert_eq!(
        codes(&unsent("{{ customer.firstname ?? 'x' }}")),
        ["J0401", "J0104"]
    );
    assert_eq!(
        codes(&unsent("{{ customer.first_name }}")),
        ["J0401", "J0203"]
    );
    assert_eq!(codes(&unsent("{{ shop.name | euro }}")), ["J0401", "J0107"]);
}
