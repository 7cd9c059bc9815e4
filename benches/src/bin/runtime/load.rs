//! What the benchmark sends, and the load generator: `clients` tasks, each with its own
//! keep-alive connection, taking the next request from a shared counter until `total` are done,
//! timing each from just before its write to its whole answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::Error;
use crate::http::Client;

/// A customer's profile: an email address, consent to marketing email, a zone and a locale
/// (what `abandoned_cart` and the post-purchase journeys read).
pub fn profile(customer: &str, zone: &str) -> String {
    format!(
        r#"{{"email":"{customer}@example.it","first_name":"Giulia","time_zone":"{zone}","locale":"it-IT","orders_count":2,"total_spent":"84.50 EUR","points":0,"email_consent":true,"sms_consent":false}}"#
    )
}

/// A `cart_abandoned` event for `customer` with its own cart id (and idempotency key): it starts
/// `abandoned_cart`, which sets a 3-hour timer.
pub fn cart_abandoned(customer: &str) -> String {
    format!(
        r#"{{"event":"cart_abandoned","customer":"{customer}","id":"cart-{customer}","data":{{"cart_id":"C-{customer}","items":[{{"product_id":"MOKA-3","name":"Moka Express 3 tazze","quantity":2,"price":"29.90 EUR","related":[]}}],"total":"59.80 EUR","checkout_url":"https://caffearoma.it/carrello/C-{customer}"}}}}"#
    )
}

/// An `order_placed` event: `order_confirmation` sends its email at once.
pub fn order_placed(customer: &str) -> String {
    format!(
        r#"{{"event":"order_placed","customer":"{customer}","id":"order-{customer}","data":{{"order_id":"A-{customer}","placed_at":"2026-11-23T10:00:00+01:00","total":"59.80 EUR","items":[{{"product_id":"MOKA-3","name":"Moka Express","quantity":2,"price":"29.90 EUR","related":[]}}],"shipping_method":"Corriere","shipping_address":{{"name":"Giulia Rossi","street":"Via Po 3","city":"Torino","postal_code":"10124","country":"Italia"}},"expected_delivery":"2026-11-28","promised_ship_by":"2026-12-01","payment_method":"Carta","first_order":false,"suggested_products":[],"suggested_product_ids":[]}}}}"#
    )
}

/// An `order_delivered` event: `delivery_and_review` sends a confirmation, then waits
/// `4 days` + `until 10:30` (one wake instant for every customer entering on the same local day).
pub fn order_delivered(customer: &str) -> String {
    format!(
        r#"{{"event":"order_delivered","customer":"{customer}","id":"delivered-{customer}","data":{{"order_id":"D-{customer}","delivered_at":"2026-11-23T10:00:00+01:00"}}}}"#
    )
}

/// A batch body of events.
pub fn batch(events: impl Iterator<Item = String>) -> String {
    let events: Vec<String> = events.collect();
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

/// One request of a run: method, path, body, the status expected.
pub struct Call {
    /// `GET`, `PUT`, `POST`.
    pub method: &'static str,
    /// The path.
    pub path: String,
    /// The body.
    pub body: String,
    /// The status that means success.
    pub expected: u16,
}

/// Makes the `i`-th request of a run.
pub type MakeCall = Arc<dyn Fn(usize) -> Call + Send + Sync>;

/// A finished run.
pub struct Run {
    /// From the first request written to the last answer read.
    pub wall: Duration,
    /// The latency of each successful request.
    pub latencies: Vec<Duration>,
    /// The bodies of the successful answers, when kept.
    pub bodies: Vec<String>,
}

impl Run {
    /// Successful requests a second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Sends `total` requests over `clients` concurrent connections. Any failure stops the run.
pub async fn drive(
    addr: SocketAddr,
    clients: usize,
    total: usize,
    make: MakeCall,
    keep_bodies: bool,
) -> Result<Run, Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (next, make) = (Arc::clone(&next), Arc::clone(&make));
        tasks.spawn(async move {
            let mut client = Client::new(addr);
            let mut latencies = Vec::new();
            let mut bodies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, Error>((latencies, bodies));
                }
                let call = make(i);
                let sent = Instant::now();
                let body = client
                    .expect(call.method, &call.path, Some(&call.body), call.expected)
                    .await?;
                latencies.push(sent.elapsed());
                if keep_bodies {
                    bodies.push(body);
                }
            }
        });
    }
    let mut run = Run {
        wall: Duration::ZERO,
        latencies: Vec::with_capacity(total),
        bodies: Vec::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let (latencies, bodies) =
            joined.map_err(|e| Error(format!("a client task failed: {e}")))??;
        run.latencies.extend(latencies);
        run.bodies.extend(bodies);
    }
    run.wall = started.elapsed();
    Ok(run)
}

/// Puts the profiles of customers `name(0..total)` with `clients` connections.
pub async fn put_profiles(
    addr: SocketAddr,
    clients: usize,
    total: usize,
    name: fn(usize) -> String,
    zone: &'static str,
) -> Result<Run, Error> {
    let make: MakeCall = Arc::new(move |i| {
        let customer = name(i);
        Call {
            method: "PUT",
            path: format!("/v1/customers/{customer}"),
            body: profile(&customer, zone),
            expected: 204,
        }
    });
    drive(addr, clients, total, make, false).await
}

/// Posts `total` events, `per_batch` to a request, with `clients` connections; `event(i)` is
/// the `i`-th event. Fails unless every event is answered `processed`.
pub async fn post_batches(
    addr: SocketAddr,
    clients: usize,
    total: usize,
    per_batch: usize,
    event: fn(usize) -> String,
) -> Result<Run, Error> {
    let per_batch = per_batch.max(1);
    let requests = total.div_ceil(per_batch);
    let make: MakeCall = Arc::new(move |i| {
        let first = i * per_batch;
        let last = (first + per_batch).min(total);
        Call {
            method: "POST",
            path: "/v1/events".to_string(),
            body: batch((first..last).map(event)),
            expected: 200,
        }
    });
    let run = drive(addr, clients, requests, make, true).await?;
    let processed: usize = run
        .bodies
        .iter()
        .map(|b| b.matches(r#""status":"processed""#).count())
        .sum();
    if processed != total {
        return Err(Error(format!(
            "{processed} of {total} events were answered `processed`"
        )));
    }
    Ok(run)
}

/// p50, p99 and max of some durations.
pub struct Spread {
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
}

/// The spread of `values` (all zero if there are none).
pub fn spread(values: &[Duration]) -> Spread {
    let mut sorted = values.to_vec();
    sorted.sort();
    let at = |q: f64| {
        let idx = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
        sorted.get(idx).copied().unwrap_or_default()
    };
    Spread {
        p50: at(0.50),
        p99: at(0.99),
        max: sorted.last().copied().unwrap_or_default(),
    }
}
