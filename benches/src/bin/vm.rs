//! VM benchmarks that print figures: `cargo run --release -p journey-bench --bin vm`.
//!
//! Five measures, each printed with its target (see `docs/performance.md`, "The VM"):
//!
//! 1. VM instructions and steps per second over the shipped journeys, with customers that have
//!    no email address or phone (every `send` is decided, nothing is rendered), then the same
//!    workload with addresses (messages rendered);
//! 2. messages rendered per second through the order and shipping confirmations;
//! 3. 100,000 customers through the post-purchase journeys on the simulator;
//! 4. bytes per waiting instance and per customer state (postcard);
//! 5. a year of virtual time for one customer.
//!
//! Everything but the simulator of measure 3 runs on one thread; the simulator uses one thread
//! per core (`SIM_THREADS=N` sets how many). Payloads are built before the clock starts.
//! `vm [customers] [runs] [measures]` scales measures 1 and 2 (default 10,000 customers, best of
//! 5) and picks the measures to run (default `12345`; 3 runs last, it needs the most memory;
//! `0` is measure 1 without rendering only, `9` measure 2 without the parts of one message, for
//! profiling).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use journey_runtime::scenario;
use journey_runtime::simulate::Simulator;
use journey_runtime::vm::{
    self, CustomerState, Effect, Environment, Event, Input, Library, TimerId,
};
use serde_json::{Map, Value as Json, json};

/// The allocator the `journey` binary uses (`cli/src/main.rs`), so the figures are those of the
/// VM as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 2026-11-23 09:00 Europe/Rome, a Monday.
const START: i64 = 1_795_420_800;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped journeys, optionally only those named.
fn library(only: Option<&[&str]>) -> Library {
    let dir = repo().join("journeys");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "journey"))
                .filter_map(|path| {
                    let text = std::fs::read_to_string(&path).ok()?;
                    Some((path.display().to_string(), text))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let built = journey_compiler::build_files(files, &journey_compiler::NoImports);
    if built.programs.is_empty() {
        eprintln!(
            "the shipped journeys did not compile ({} failures)",
            built.failures.len()
        );
        std::process::exit(1);
    }
    let programs = built
        .programs
        .into_iter()
        .filter(|p| only.is_none_or(|names| names.contains(&p.journey.as_str())))
        .collect();
    Library::with(programs)
}

// ---------------------------------------------------------------------------------- customers

/// A customer's profile. `contact`: with an email address (and a phone for one in five), so
/// messages are rendered; without, every send is decided and skipped for want of an address.
fn profile(i: usize, contact: bool) -> Map<String, Json> {
    let mut profile = json!({
        "first_name": if i.is_multiple_of(2) { "Giulia" } else { "Marco" },
        "last_name": "Rossi",
        "time_zone": "Europe/Rome",
        "locale": "it-IT",
        "orders_count": if i.is_multiple_of(3) { 1 } else { 3 },
        "total_spent": "184.50 EUR",
        "points": (i * 37) % 600,
        "email_consent": !i.is_multiple_of(4),
        "sms_consent": i.is_multiple_of(5),
        "last_order_date": "2026-09-01",
    });
    if contact && let Some(object) = profile.as_object_mut() {
        object.insert("email".into(), json!(format!("cliente{i}@example.it")));
        if i.is_multiple_of(5) {
            object.insert("phone".into(), json!(format!("+39333{i:07}")));
        }
    }
    profile.as_object().cloned().unwrap_or_default()
}

fn rfc3339(t: i64) -> String {
    match (DateTime::from_timestamp(t, 0), FixedOffset::east_opt(3_600)) {
        (Some(instant), Some(rome)) => instant.with_timezone(&rome).to_rfc3339(),
        _ => String::new(),
    }
}

fn date(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

fn event(customer: &str, n: usize, name: &str, at: i64, data: Json) -> (i64, Input) {
    (
        at,
        Input::Event(Event {
            id: format!("{customer}-{n}"),
            name: name.to_string(),
            at,
            data,
        }),
    )
}

fn order_placed(order: &str, at: i64, first: bool) -> Json {
    let address = json!({ "name": "Giulia Rossi", "street": "Via Po 3", "city": "Torino", "postal_code": "10124", "country": "Italia" });
    json!({
        "order_id": order,
        "placed_at": rfc3339(at),
        "total": "59.80 EUR",
        "items": [
            { "product_id": "MOKA-3", "name": "Moka Express 3 tazze", "quantity": 1, "price": "29.90 EUR", "related": ["CAFFE-250"] },
            { "product_id": "CAFFE-250", "name": "Caffè 100% arabica 250 g", "quantity": 2, "price": "14.95 EUR", "related": [] }
        ],
        "shipping_method": "Corriere espresso",
        "shipping_address": address,
        "expected_delivery": date(at + 4 * DAY),
        "promised_ship_by": date(at + 2 * DAY),
        "payment_method": "Carta Visa",
        "first_order": first,
        "suggested_products": [
            { "product_id": "TAZZE-2", "name": "Set 2 tazzine", "price": "12.00 EUR", "url": "https://caffearoma.it/p/TAZZE-2" }
        ],
        "suggested_product_ids": ["TAZZE-2"]
    })
}

fn order_shipped(order: &str, at: i64) -> Json {
    json!({ "order_id": order, "carrier": "BRT", "tracking_number": format!("BRT{order}"),
        "tracking_url": format!("https://brt.it/t/{order}"), "shipped_at": rfc3339(at),
        "expected_delivery": date(at + 2 * DAY) })
}

fn order_delivered(order: &str, at: i64) -> Json {
    json!({ "order_id": order, "delivered_at": rfc3339(at) })
}

/// The post-purchase events of one order: placed at `t0`, shipped a day later, delivered two
/// days after that.
fn post_purchase(
    customer: &str,
    order: &str,
    t0: i64,
    first: bool,
    n: &mut usize,
) -> Vec<(i64, Input)> {
    let mut events = Vec::new();
    for (name, at, data) in [
        ("order_placed", t0, order_placed(order, t0, first)),
        ("order_shipped", t0 + DAY, order_shipped(order, t0 + DAY)),
        (
            "order_delivered",
            t0 + 3 * DAY,
            order_delivered(order, t0 + 3 * DAY),
        ),
    ] {
        *n += 1;
        events.push(event(customer, *n, name, at, data));
    }
    events
}

/// A realistic life around one order: sometimes an abandoned cart first, a newsletter
/// subscription, a support request; the order placed, shipped, delivered; the survey answered
/// (first purchase or review request; scores 3-5, so no team alert webhook is sent).
fn life(i: usize, customer: &str, t0: i64) -> Vec<(i64, Input)> {
    let mut n = 0;
    let mut next = |name: &str, at: i64, data: Json| {
        n += 1;
        event(customer, n, name, at, data)
    };
    let mut events = Vec::new();
    let first = i.is_multiple_of(3);
    if i.is_multiple_of(10) {
        events.push(next("subscribed", t0 - DAY, json!({ "source": "footer" })));
    }
    if i.is_multiple_of(2) {
        events.push(next(
            "cart_abandoned",
            t0 - 2 * HOUR,
            json!({ "cart_id": format!("C-{i}"), "total": "59.80 EUR", "checkout_url": format!("https://caffearoma.it/carrello/C-{i}"),
                "items": [{ "product_id": "MOKA-3", "name": "Moka Express 3 tazze", "quantity": 1, "price": "29.90 EUR", "related": ["CAFFE-250"] }] }),
        ));
    }
    let order = format!("A-{i}");
    events.push(next("order_placed", t0, order_placed(&order, t0, first)));
    events.push(next(
        "order_shipped",
        t0 + DAY,
        order_shipped(&order, t0 + DAY),
    ));
    if i.is_multiple_of(7) {
        events.push(next(
            "support_request",
            t0 + 2 * DAY,
            json!({ "ticket_id": format!("T-{i}"), "subject": "Dov'è il mio pacco?", "channel": "email", "max_response_hours": 48 }),
        ));
    }
    events.push(next(
        "order_delivered",
        t0 + 3 * DAY,
        order_delivered(&order, t0 + 3 * DAY),
    ));
    let (survey, answer_at) = if first {
        ("primo_acquisto", t0 + 7 * DAY)
    } else {
        ("soddisfazione", t0 + 9 * DAY)
    };
    events.push(next(
        "survey_answered",
        answer_at,
        json!({ "survey": survey, "score": 3 + i % 3, "comment": null }),
    ));
    events.sort_by_key(|(at, _)| *at);
    events
}

/// One customer's inputs: an id, the profile (applied at the first input's time) and events.
#[derive(Clone)]
struct Customer {
    id: String,
    /// `Input::Profile`: the customer's first input.
    profile: Input,
    events: Vec<(i64, Input)>,
}

fn customers(count: usize, contact: bool) -> Vec<Customer> {
    (0..count)
        .map(|i| {
            let id = format!("c{i:06}");
            // Orders spread over a day, so quiet hours and `wait until` land differently.
            let t0 = START + (i as i64 * 997) % DAY;
            let events = life(i, &id, t0);
            Customer {
                id,
                profile: Input::Profile(profile(i, contact)),
                events,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------- driving

#[derive(Default, Clone, Copy)]
struct Counts {
    steps: u64,
    executed: u64,
    sends: u64,
    errors: u64,
    effects: u64,
}

/// Runs one customer through its inputs and every timer the VM sets, up to `until`, stepping
/// the VM directly (`pure`: `vm::step`, which copies the state; else `vm::step_in_place`).
fn drive(
    library: &Library,
    env: &Environment,
    customer: &Customer,
    until: i64,
    pure: bool,
    counts: &mut Counts,
) -> CustomerState {
    let mut state = CustomerState::new(&customer.id);
    let mut timers: Vec<(i64, u64, TimerId)> = Vec::new();
    let mut seq = 0u64;
    let first_at = customer.events.first().map_or(START, |(at, _)| *at);
    let mut next_event = 0;
    // Events are stepped where they lie (the shell hands the VM a reference too); only the
    // timers the VM set are made here.
    let mut pending: Option<(i64, Cow<'_, Input>)> =
        Some((first_at, Cow::Borrowed(&customer.profile)));
    while let Some((now, input)) = pending.take() {
        if now > until {
            break;
        }
        let input = input.as_ref();
        let effects = if pure {
            let outcome = vm::step(library, env, &state, input, now);
            state = outcome.state;
            counts.executed += outcome.executed;
            outcome.effects
        } else {
            vm::step_in_place(library, env, &mut state, input, now, &mut counts.executed)
        };
        counts.steps += 1;
        counts.effects += effects.len() as u64;
        for effect in effects {
            match effect {
                Effect::SetTimer { timer, at } => {
                    timers.retain(|(_, _, t)| *t != timer);
                    seq += 1;
                    timers.push((at, seq, timer));
                }
                Effect::CancelTimer { timer } => timers.retain(|(_, _, t)| *t != timer),
                Effect::Send(_) => counts.sends += 1,
                Effect::Error(_) => counts.errors += 1,
                _ => {}
            }
        }
        // Next: the earliest timer, unless an event comes first (events first on a tie).
        let timer = timers
            .iter()
            .enumerate()
            .min_by_key(|(_, (at, seq, _))| (*at, *seq))
            .map(|(idx, (at, _, _))| (idx, *at));
        let event_at = customer.events.get(next_event).map(|(at, _)| *at);
        pending = match (timer, event_at) {
            (Some((idx, at)), e) if e.is_none_or(|e| at < e) => {
                let (_, _, timer) = timers.swap_remove(idx);
                Some((at, Cow::Owned(Input::Timer(timer))))
            }
            (_, Some(_)) => {
                let event = customer.events.get(next_event);
                next_event += 1;
                event.map(|(at, input)| (*at, Cow::Borrowed(input)))
            }
            _ => None,
        };
    }
    state
}

fn best_of<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let result = work();
        best = best.min(start.elapsed());
        last = Some(result);
    }
    match last {
        Some(result) => (best, result),
        None => (best, work()),
    }
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// `1234567.8` as `1,234,568`.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (idx, ch) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

// ---------------------------------------------------------------------------------- measures

/// 1. Instructions and steps per second, without and with rendering.
fn vm_steps(library: &Library, env: &Environment, count: usize, runs: usize, all: bool) {
    println!();
    println!(
        "1. VM steps over the 13 shipped journeys ({count} customers, each: profile, maybe a cart and a subscription, an order placed/shipped/delivered, a survey answer, every timer up to 60 days; best of {runs})"
    );
    let until = START + 60 * DAY;
    let variants = if all { 3 } else { 1 };
    for (label, contact, pure) in [
        (
            "no address (sends decided, nothing rendered), step_in_place",
            false,
            false,
        ),
        (
            "no address (sends decided, nothing rendered), step (state copied)",
            false,
            true,
        ),
        (
            "with email/phone (messages rendered), step_in_place",
            true,
            false,
        ),
    ]
    .into_iter()
    .take(variants)
    {
        let people = customers(count, contact);
        let (elapsed, counts) = best_of(runs, || {
            let mut counts = Counts::default();
            for customer in &people {
                drive(library, env, customer, until, pure, &mut counts);
            }
            counts
        });
        let ips = per_second(counts.executed, elapsed);
        println!("   {label}:");
        println!(
            "      {:.3} s, {} steps, {} instructions, {} effects, {} messages, {} errors",
            elapsed.as_secs_f64(),
            counts.steps,
            counts.executed,
            counts.effects,
            counts.sends,
            counts.errors
        );
        println!(
            "      {} instructions/s (target >= 1,000,000 without rendering: {}), {} steps/s, {:.2} us/step",
            grouped(ips),
            if contact { "n/a" } else { verdict(ips >= 1e6) },
            grouped(per_second(counts.steps, elapsed)),
            elapsed.as_secs_f64() * 1e6 / counts.steps.max(1) as f64,
        );
    }
}

/// 2. Messages rendered per second through the order and shipping confirmations.
fn rendering(env: &Environment, count: usize, runs: usize, parts: bool) {
    let library = library(Some(&["order_confirmation", "shipping_confirmation"]));
    println!();
    println!(
        "2. Messages rendered: order_confirmation + shipping_confirmation only ({count} customers, order_placed then order_shipped; one in five also gets the SMS; best of {runs})"
    );
    for contact in [true, false] {
        let people = customers(count, contact);
        // Profiles applied before the clock starts; the timed part is the two events.
        let start_states: Vec<(CustomerState, Vec<(i64, Input)>)> = people
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let t0 = START + (i as i64 * 997) % DAY;
                let state =
                    vm::step(&library, env, &CustomerState::new(&c.id), &c.profile, t0).state;
                let mut n = 0;
                let order = format!("A-{i}");
                let mut events = post_purchase(&c.id, &order, t0, i.is_multiple_of(3), &mut n);
                events.truncate(2);
                (state, events)
            })
            .collect();
        let mut vm_time = Duration::MAX;
        let mut counts = Counts::default();
        let mut bytes = 0;
        for _ in 0..runs.max(1) {
            // The states are copied before the clock starts.
            let mut states: Vec<CustomerState> =
                start_states.iter().map(|(s, _)| s.clone()).collect();
            counts = Counts::default();
            bytes = 0;
            let start = Instant::now();
            for (state, (_, events)) in states.iter_mut().zip(&start_states) {
                for (at, input) in events {
                    let effects =
                        vm::step_in_place(&library, env, state, input, *at, &mut counts.executed);
                    counts.steps += 1;
                    for effect in &effects {
                        if let Effect::Send(message) = effect {
                            counts.sends += 1;
                            bytes +=
                                message.text.len() + message.html.as_ref().map_or(0, String::len);
                        }
                    }
                }
            }
            vm_time = vm_time.min(start.elapsed());
        }
        if contact {
            let rate = per_second(counts.sends, vm_time);
            println!(
                "   with email: {:.3} s of VM time, {} steps, {} messages: {} messages/s (target >= 100,000: {}), {:.1} us/message",
                vm_time.as_secs_f64(),
                counts.steps,
                counts.sends,
                grouped(rate),
                verdict(rate >= 1e5),
                vm_time.as_secs_f64() * 1e6 / counts.sends.max(1) as f64
            );
            println!(
                "      {:.1} KB of text + HTML per message on average, {:.1} MB/s of output",
                bytes as f64 / counts.sends.max(1) as f64 / 1e3,
                bytes as f64 / 1e6 / vm_time.as_secs_f64()
            );
        } else {
            println!(
                "   same steps without an address (decided, not rendered): {:.3} s, {} messages, {:.1} us/step",
                vm_time.as_secs_f64(),
                counts.sends,
                vm_time.as_secs_f64() * 1e6 / counts.steps.max(1) as f64
            );
        }
    }
    if parts {
        render_parts(&library, env, runs);
    }
}

/// Times the parts of one order confirmation on their own (best of `runs`, `n` calls each):
/// decoding the event, the customer's zone and locale, the template's values, Markdown to HTML
/// and to text, the whole render.
fn render_parts(library: &Library, env: &Environment, runs: usize) {
    use journey_compiler::bytecode::{BodyFormat, TemplateNode, Trigger, Value};
    use journey_runtime::render::markdown;
    use journey_runtime::vm::{decode, eval::Env, exec, message};

    let n = 2_000;
    let time = |work: &mut dyn FnMut() -> usize| -> f64 {
        let (elapsed, _) = best_of(runs, || (0..n).map(|_| work()).sum::<usize>());
        elapsed.as_secs_f64() * 1e6 / f64::from(n)
    };
    let (Some((version, program)), Some(schema)) = (
        library.current("order_confirmation"),
        library.event_schema("order_placed"),
    ) else {
        println!("   (order_confirmation is not deployed: no breakdown)");
        return;
    };
    let (Some(template), Trigger::Event(trigger)) = (
        program
            .templates
            .iter()
            .find(|t| t.name == "order_confirmation_email"),
        &program.trigger,
    ) else {
        println!("   (order_confirmation_email not found: no breakdown)");
        return;
    };
    let json = order_placed("A-1", START, false);
    let decode_us =
        time(&mut || decode::record(library.schemas(), schema, &json, "").map_or(0, |_| 1));
    let Ok(order) = decode::record(library.schemas(), schema, &json, "") else {
        println!("   (the order did not decode: no breakdown)");
        return;
    };
    let profile = vm::step(
        library,
        env,
        &CustomerState::new("c000001"),
        &Input::Profile(profile(1, true)),
        START,
    )
    .state
    .profile;
    let locale_us = time(&mut || {
        let (_, locale) = exec::zone_and_locale(&profile, "order_confirmation", &mut Vec::new());
        locale.name().len()
    });
    let (zone, locale) = exec::zone_and_locale(&profile, "order_confirmation", &mut Vec::new());
    let mut slots = vec![Value::Missing; program.slots.len()];
    if let Some(slot) = trigger.slot.and_then(|s| slots.get_mut(s as usize)) {
        *slot = order;
    }
    let scope = || Env {
        profile: &profile,
        slots: &slots,
        slot_names: &program.slots,
        it: None,
        locals: Vec::new(),
        shop: &env.shop,
        unsubscribe_url: Some(""),
        zone,
        locale: &locale,
        now: START,
        coupon_seed: None,
        coupons: Vec::new(),
    };
    let size = |rendered: message::Rendered| {
        (
            rendered.text.len() + rendered.html.map_or(0, |h| h.len()),
            rendered.text,
        )
    };
    let render = |template: &journey_compiler::bytecode::Template| {
        message::render(program, template, &mut scope()).map_or((0, String::new()), size)
    };
    // As the VM renders it: the template's Markdown prepared once (on the first call), the
    // values pasted in.
    let index = program
        .templates
        .iter()
        .position(|t| t.name == template.name)
        .and_then(|idx| u32::try_from(idx).ok())
        .unwrap_or(u32::MAX);
    let prepared_us = time(&mut || {
        message::render_prepared(program, version, index, &mut scope()).map_or(0, |r| size(r).0)
    });
    let whole_us = time(&mut || render(template).0);
    // The same template with a plain-text body that includes the layout: the values are
    // evaluated and printed as for the email, and its output is the Markdown source (values
    // not Markdown-escaped) that the email's HTML and text parts are made from.
    let mut plain = template.clone();
    if let Some((format, body)) = &mut plain.body {
        *format = BodyFormat::Text;
        if let Some(layout) = template
            .layout
            .and_then(|idx| program.layouts.get(idx as usize))
        {
            let mut nodes = layout.header.clone();
            nodes.push(TemplateNode::Raw("\n\n".to_string()));
            nodes.append(body);
            nodes.push(TemplateNode::Raw("\n\n".to_string()));
            nodes.extend(layout.footer.iter().cloned());
            *body = nodes;
        }
    }
    plain.layout = None;
    let values_us = time(&mut || render(&plain).0);
    let (_, source) = render(&plain);
    let html_us = time(&mut || markdown::to_html(&source).len());
    let text_us = time(&mut || markdown::to_text(&source).len());
    let fragment = markdown::to_html(&source);
    let wrap_us =
        time(&mut || markdown::wrap_html("Grazie!", Some("Consegna prevista"), &fragment).len());
    println!(
        "   where one order confirmation's time goes (each part alone, {n} calls, best of {runs}; Markdown source {:.1} KB):",
        source.len() as f64 / 1e3
    );
    println!(
        "      decode the order_placed payload {decode_us:.1} us; zone and locale of the customer {locale_us:.1} us (per call; a step makes several)"
    );
    println!(
        "      render the email as the VM does (Markdown prepared once per shape, values pasted in) {prepared_us:.1} us"
    );
    println!(
        "      render the email whole {whole_us:.1} us = template values (subject, preheader, body, layout) about {values_us:.1} us + Markdown to HTML {html_us:.1} us + Markdown to text {text_us:.1} us + HTML document {wrap_us:.1} us"
    );
}

/// The post-purchase journeys: those an order starts and follows to the review.
const POST_PURCHASE: [&str; 7] = [
    "order_confirmation",
    "shipping_confirmation",
    "shipping_delay",
    "parcel_tips",
    "delivery_and_review",
    "cross_sell",
    "first_purchase_feedback",
];

/// Measure 3: 100,000 customers through the post-purchase journeys on the simulator.
/// `deployed` says what is deployed (for the heading); with `compare`, the same customers are
/// also stepped directly, without the simulator.
fn many_customers(
    library: &Library,
    env: &Environment,
    count: usize,
    deployed: &str,
    compare: bool,
) {
    let threads = std::env::var("SIM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    println!();
    println!(
        "3. {count} customers on the simulator ({} threads), {deployed} deployed: order_placed (spread over a day), order_shipped a day later, order_delivered two days after; run until every timer fired (60 days)",
        threads
    );
    // Inputs built before the clock starts.
    let mut people = Vec::with_capacity(count);
    for i in 0..count {
        let id = format!("c{i:06}");
        let t0 = START + (i as i64 * DAY) / count.max(1) as i64;
        let mut n = 0;
        let events = post_purchase(&id, &format!("A-{i}"), t0, i.is_multiple_of(3), &mut n);
        people.push(Customer {
            id,
            profile: Input::Profile(profile(i, true)),
            events,
        });
    }
    let copy = people.clone();
    let start = Instant::now();
    let mut simulator = Simulator::new(library, env, START + 60 * DAY);
    // Counts only: the log of every effect (rendered messages included) would take gigabytes.
    simulator.keep_only_counts();
    simulator.use_threads(threads);
    for customer in copy {
        if let Input::Profile(profile) = customer.profile {
            simulator.add_customer(&customer.id, profile, START);
        }
        for (at, input) in customer.events {
            simulator.queue(at, &customer.id, input);
        }
    }
    let loaded = start.elapsed();
    simulator.run();
    let total = start.elapsed();
    let summary = simulator.summary;
    let (messages, errors) = (summary.messages, summary.errors);
    println!(
        "   wall time {:.2} s (target < 5 s: {}): load {:.2} s (customers' profiles applied, events queued), run {:.2} s",
        total.as_secs_f64(),
        verdict(total.as_secs_f64() < 5.0),
        loaded.as_secs_f64(),
        (total - loaded).as_secs_f64()
    );
    println!(
        "   {} steps ({} steps/s), {} instructions, {messages} messages, {errors} errors, {} effects (counted, not logged)",
        simulator.steps,
        grouped(per_second(simulator.steps, total)),
        simulator.executed,
        summary.effects
    );
    println!(
        "   timers set {} (at most {} pending for one customer), {} instances still waiting at the end; peak RSS {:.0} MB (the simulator keeps counts, not the log)",
        summary.timers_set,
        summary.peak_timers_per_customer,
        simulator.still_waiting(),
        peak_rss_mb().unwrap_or(0.0)
    );
    drop(simulator);
    if !compare {
        return;
    }
    // The same customers stepped directly: no simulator queue, no log.
    let start = Instant::now();
    let mut counts = Counts::default();
    for customer in &people {
        drive(library, env, customer, START + 60 * DAY, false, &mut counts);
    }
    let direct = start.elapsed();
    println!(
        "   the same {count} customers stepped directly (vm::step_in_place, no simulator queue, no log): {:.2} s, {} steps, {} messages",
        direct.as_secs_f64(),
        counts.steps,
        counts.sends
    );
    // And without addresses: every send decided, nothing rendered.
    for customer in &mut people {
        if let Input::Profile(profile) = &mut customer.profile {
            profile.remove("email");
            profile.remove("phone");
        }
    }
    let start = Instant::now();
    let mut counts = Counts::default();
    for customer in &people {
        drive(library, env, customer, START + 60 * DAY, false, &mut counts);
    }
    println!(
        "   the same stepped directly without addresses (nothing rendered): {:.2} s, {} steps, {} messages",
        start.elapsed().as_secs_f64(),
        counts.steps,
        counts.sends
    );
}

fn spread(sizes: &mut [usize]) -> String {
    sizes.sort_unstable();
    match (sizes.first(), sizes.get(sizes.len() / 2), sizes.last()) {
        (Some(min), Some(median), Some(max)) => format!("{min} / {median} / {max}"),
        _ => "-".to_string(),
    }
}

/// 4. Bytes per waiting instance and per customer, serialized with postcard.
fn sizes(library: &Library, env: &Environment, count: usize) {
    println!();
    println!(
        "4. Stored state (postcard), {count} customers with the 13 journeys; bytes min / median / max (target < 128 bytes per waiting instance without its payload)"
    );
    let mut states: Vec<CustomerState> = (0..count)
        .map(|i| {
            let id = format!("c{i:06}");
            vm::step(
                library,
                env,
                &CustomerState::new(&id),
                &Input::Profile(profile(i, true)),
                START,
            )
            .state
        })
        .collect();
    let stages = [
        "after order_placed",
        "after order_shipped",
        "after order_delivered",
    ];
    for (stage_idx, stage) in stages.iter().enumerate() {
        let mut per_journey: BTreeMap<String, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        let mut whole = Vec::new();
        for (i, state) in states.iter_mut().enumerate() {
            let t0 = START + (i as i64 * 997) % DAY;
            let mut n = 0;
            let events = post_purchase(
                state.id.as_ref(),
                &format!("A-{i}"),
                t0,
                i.is_multiple_of(3),
                &mut n,
            );
            if let Some((at, input)) = events.get(stage_idx) {
                *state = vm::step(library, env, state, input, *at).state;
            }
            whole.push(postcard::to_stdvec(&*state).map_or(0, |b| b.len()));
            for (journey, membership) in &state.journeys {
                for instance in membership.instances.iter().filter(|i| i.is_active()) {
                    let full = postcard::to_stdvec(instance).map_or(0, |b| b.len());
                    let mut bare = instance.clone();
                    bare.slots.clear();
                    bare.kept.clear();
                    let empty = postcard::to_stdvec(&bare).map_or(0, |b| b.len());
                    let entry = per_journey.entry(journey.clone()).or_default();
                    entry.0.push(empty);
                    entry.1.push(full);
                }
            }
        }
        println!(
            "   {stage}: whole CustomerState {} bytes",
            spread(&mut whole)
        );
        for (journey, (mut empty, mut full)) in per_journey {
            let max_empty = empty.iter().copied().max().unwrap_or(0);
            println!(
                "      {journey:<24} {:>5} waiting: without payload {} ({}), with payload {}",
                empty.len(),
                spread(&mut empty),
                verdict(max_empty < 128),
                spread(&mut full)
            );
        }
    }
}

/// 5. A year of virtual time for one customer, every journey, the daily schedule included.
fn one_year(library: &Library, env: &Environment, runs: usize) {
    println!();
    println!(
        "5. One customer, one year of virtual time, 13 journeys, daily reactivation schedule (best of {runs})"
    );
    let id = "giulia";
    let mut profile = profile(1, true);
    profile.insert("birthday".into(), json!("1990-03-14"));
    profile.insert("last_order_date".into(), json!("2026-01-10"));
    let mut inputs: Vec<(i64, Input)> = Vec::new();
    let mut n = 0;
    inputs.push(event(
        id,
        0,
        "subscribed",
        START + HOUR,
        json!({ "source": "footer" }),
    ));
    // An order every five weeks or so, a cart abandoned before some, a survey answer after,
    // a support request now and then, the profile updated after each order.
    for k in 0..10usize {
        let t0 = START + 2 * DAY + k as i64 * 37 * DAY + (k as i64 % 5) * HOUR;
        if k.is_multiple_of(2) {
            n += 1;
            inputs.push(event(id, n, "cart_abandoned", t0 - 5 * HOUR, json!({ "cart_id": format!("C-{k}"), "total": "59.80 EUR",
                "checkout_url": "https://caffearoma.it/carrello", "items": [{ "product_id": "MOKA-3", "name": "Moka", "quantity": 1, "price": "29.90 EUR", "related": [] }] })));
        }
        inputs.extend(post_purchase(id, &format!("Y-{k}"), t0, k == 0, &mut n));
        n += 1;
        inputs.push(event(
            id,
            n,
            "survey_answered",
            t0 + 9 * DAY,
            json!({ "survey": "soddisfazione", "score": 1 + k % 5, "comment": null }),
        ));
        if k.is_multiple_of(3) {
            n += 1;
            inputs.push(event(id, n, "support_request", t0 + 2 * DAY, json!({ "ticket_id": format!("T-{k}"), "subject": "Aiuto", "channel": "email", "max_response_hours": 24 })));
        }
        let mut update = Map::new();
        update.insert("orders_count".into(), json!(4 + k));
        update.insert("last_order_date".into(), json!(date(t0)));
        inputs.push((t0 + HOUR, Input::Profile(update)));
    }
    n += 1;
    inputs.push(event(
        id,
        n,
        "email_opened",
        START + 300 * DAY,
        json!({ "journey": "reactivation", "template": "reactivation_email" }),
    ));
    let (elapsed, (steps, executed, messages, log)) = best_of(runs, || {
        let mut simulator = Simulator::new(library, env, START + 365 * DAY);
        simulator.add_customer(id, profile.clone(), START);
        for (at, input) in &inputs {
            simulator.queue(*at, id, input.clone());
        }
        simulator.schedule_triggers(START - 1);
        simulator.run();
        let messages = simulator
            .log
            .iter()
            .filter(|e| matches!(e.effect, Effect::Send(_)))
            .count();
        (
            simulator.steps,
            simulator.executed,
            messages,
            simulator.log.len(),
        )
    });
    println!(
        "   {:.2} ms wall time (target: milliseconds): {steps} steps ({} inputs queued, 365 schedule firings), {executed} instructions, {messages} messages, {log} log entries",
        elapsed.as_secs_f64() * 1e3,
        inputs.len()
    );
}

fn machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |m| m.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(String::new(), |kb| {
            format!(", {:.0} GiB", kb / 1024.0 / 1024.0)
        });
    println!(
        "journey VM benchmark, {} (UTC), one thread (the simulator of measure 3: one per core)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    println!("machine: {model}, {cores} cores{memory}");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let only = args.next().unwrap_or_else(|| "12345".to_string());
    machine();
    let library = library(None);
    let env = scenario::environment(None, None);
    if only.contains('1') || only.contains('0') {
        vm_steps(&library, &env, count, runs, only.contains('1'));
    }
    if only.contains('2') || only.contains('9') {
        rendering(&env, count, runs, only.contains('2'));
    }
    if only.contains('4') {
        sizes(&library, &env, 1_000);
    }
    if only.contains('5') {
        one_year(&library, &env, runs);
    }
    if only.contains('3') {
        many_customers(&library, &env, 100_000, "all 13 journeys", true);
        let post_purchase = self::library(Some(&POST_PURCHASE));
        many_customers(
            &post_purchase,
            &env,
            100_000,
            "the 7 post-purchase journeys (01-07)",
            false,
        );
    }
}
