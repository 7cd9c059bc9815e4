//! Measures 3 to 8, each on a fresh data folder and a fresh `journey run` process (6 and 7 share
//! one): durable events over HTTP, event to message in the outbox, timers falling due at one
//! instant, a million waiting customers on disk and in memory, the restart after `kill -9`, and
//! timers falling due steadily while events keep coming.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use journey_runtime::store::{Sled, Store};

use crate::http::Client;
use crate::load::{self, Call, MakeCall};
use crate::server::{self, Server};
use crate::{Context, Error, Figure, bytes, int, ms};

/// Restate's figures on this machine (`/work/shared/peers/restate/README.md`): one-way events
/// accepted a second, events processed a second, timer firings a second.
const RESTATE_ACCEPTED: f64 = 1_000.0;
const RESTATE_STEPPED: f64 = 600.0;
const RESTATE_TIMERS: f64 = 708.0;

fn hot(i: usize) -> String {
    format!("h{i:07}")
}

fn ordering(i: usize) -> String {
    format!("o{i:07}")
}

fn timed(i: usize) -> String {
    format!("t{i:07}")
}

fn steady(i: usize) -> String {
    format!("s{i:07}")
}

fn waiting(i: usize) -> String {
    format!("w{i:07}")
}

/// Customers in a journey, all steps and versions (`GET /v1/journeys`, `{"journeys": [...]}`).
async fn customers_in(server: &Server, journey: &str) -> Result<u64, Error> {
    let body = Client::new(server.addr)
        .expect("GET", "/v1/journeys", None, 200)
        .await?;
    let views: serde_json::Value = serde_json::from_str(&body)?;
    let total = views
        .get("journeys")
        .and_then(|j| j.as_array())
        .into_iter()
        .flatten()
        .filter(|view| view.get("name").and_then(|n| n.as_str()) == Some(journey))
        .flat_map(|view| {
            view.get("versions")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
        })
        .flat_map(|version| {
            version
                .get("customers_per_step")
                .and_then(|s| s.as_object())
                .into_iter()
                .flatten()
        })
        .filter_map(|(_, count)| count.as_u64())
        .sum();
    Ok(total)
}

/// Posts single events `event(first..first + total)` from `clients` connections; every answer
/// must say `processed`.
async fn post_singles(
    server: &Server,
    clients: usize,
    first: usize,
    total: usize,
    event: fn(usize) -> String,
) -> Result<load::Run, Error> {
    let make: MakeCall = Arc::new(move |i| Call {
        method: "POST",
        path: "/v1/events".to_string(),
        body: event(first + i),
        expected: 200,
    });
    let run = load::drive(server.addr, clients, total, make, true).await?;
    let processed = run
        .bodies
        .iter()
        .filter(|b| b.contains(r#""status":"processed""#))
        .count();
    if processed != total {
        return Err(Error(format!(
            "{processed} of {total} events were answered `processed`"
        )));
    }
    Ok(run)
}

/// Measure 3: single `cart_abandoned` events from 64 keep-alive connections, each starting
/// `abandoned_cart` for a new customer (profile put first) and setting its 3-hour timer.
pub async fn durable_events(ctx: &mut Context) -> Result<(), Error> {
    let (events, clients) = (ctx.options.events, ctx.options.clients);
    let (mut server, _) = Server::start(&ctx.setup, &ctx.work.join("events"), 1).await?;
    let warm = (events / 10).clamp(100, 1000);
    let profiles =
        load::put_profiles(server.addr, clients, warm + events, hot, "Europe/Rome").await?;
    println!(
        "  {} profiles put first (PUT /v1/customers/{{id}}, {clients} clients): {} /s",
        int((warm + events) as f64),
        int(profiles.rate())
    );
    post_singles(&server, clients, 0, warm, |i| load::cart_abandoned(&hot(i))).await?;
    let before = server.metrics().await?;
    let run = post_singles(&server, clients, warm, events, |i| {
        load::cart_abandoned(&hot(i))
    })
    .await?;
    let after = server.metrics().await?;
    let delta = |name: &str| after.get(name) - before.get(name);
    let (processed, steps, commits) = (
        delta("journey_events_processed_total"),
        delta("journey_vm_steps_total"),
        delta("journey_commits_total"),
    );
    let in_journey = customers_in(&server, "abandoned_cart").await?;
    server.terminate()?;
    let rate = run.rate();
    let spread = load::spread(&run.latencies);
    println!(
        "  {} events after {} of warm-up, in {:.2} s: {} /s; ack p50 {} p99 {} max {}",
        int(events as f64),
        int(warm as f64),
        run.wall.as_secs_f64(),
        int(rate),
        ms(spread.p50),
        ms(spread.p99),
        ms(spread.max)
    );
    println!(
        "  engine counters during the run: {} events processed, {} VM steps, {} commits ({:.1} events per commit)",
        int(processed),
        int(steps),
        int(commits),
        processed / commits.max(1.0)
    );
    println!(
        "  customers in abandoned_cart afterwards (GET /v1/journeys): {} of {} posted",
        int(in_journey as f64),
        int((warm + events) as f64)
    );
    println!(
        "  an answer `processed` comes after the round that stepped the VM for the event has been written and synced (engine::writer), so accepted = stepped"
    );
    let events_line = format!("durable events/s, {clients} clients, single posts");
    ctx.figures.push(Figure::new(
        &format!("{events_line}: accepted"),
        format!("{} /s", int(rate)),
        format!("≥ 5× Restate = {} /s", int(5.0 * RESTATE_ACCEPTED)),
        Some(rate >= 5.0 * RESTATE_ACCEPTED),
    ));
    ctx.figures.push(Figure::new(
        &format!("{events_line}: stepped (acked after commit)"),
        format!("{} /s", int(rate)),
        format!("≥ 5× Restate = {} /s", int(5.0 * RESTATE_STEPPED)),
        Some(rate >= 5.0 * RESTATE_STEPPED),
    ));
    if let Some(c) = ctx.ceiling {
        ctx.figures.push(Figure::new(
            &format!("{events_line}, vs sled's ceiling C"),
            format!("{:.2}× C", rate / c),
            format!("≥ 0.3× C = {} /s", int(0.3 * c)),
            Some(rate >= 0.3 * c),
        ));
    }
    if let Some(f) = ctx.fsync {
        ctx.figures.push(Figure::new(
            &format!("{events_line}, vs the fdatasync rate F"),
            format!("{:.1}× F", rate / f),
            format!("≥ 2× F = {} /s", int(2.0 * f)),
            Some(rate >= 2.0 * f),
        ));
    }
    ctx.figures.push(Figure::new(
        "ack latency p50 / p99 / max",
        format!(
            "{} / {} / {}",
            ms(spread.p50),
            ms(spread.p99),
            ms(spread.max)
        ),
        "p99 ≤ 25 ms".to_string(),
        Some(spread.p99 <= Duration::from_millis(25)),
    ));
    Ok(())
}

/// Watches an outbox folder from its own thread every 2 ms and notes when each order
/// confirmation appears (by its `To:` address, which names the customer).
fn watch_confirmations(
    outbox: PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<HashMap<usize, Instant>> {
    std::thread::spawn(move || {
        let mut seen_files = std::collections::HashSet::new();
        let mut seen = HashMap::new();
        while !stop.load(Ordering::Relaxed) {
            for path in server::emails(&outbox) {
                if !seen_files.insert(path.clone()) {
                    continue;
                }
                let at = Instant::now();
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let journey = server::header(&text, "X-Journey").unwrap_or("");
                let customer = server::header(&text, "To")
                    .and_then(|to| to.strip_prefix('o'))
                    .and_then(|to| to.split('@').next())
                    .and_then(|n| n.parse::<usize>().ok());
                if let (true, Some(n)) = (journey.starts_with("order_confirmation/"), customer) {
                    seen.insert(n, at);
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        seen
    })
}

/// What [`post_at_rate`] did.
struct Paced {
    /// Each event's number, when it left, and how long its answer took.
    sent: Vec<(usize, Instant, Duration)>,
    /// The most a post fell behind its time.
    behind: Duration,
    /// From the first post's time to the last answer.
    wall: Duration,
}

/// Posts `event(0..total)` one by one at `rate` a second from eight connections (event `i`
/// leaves at start + i / rate); every answer must be 200.
async fn post_at_rate(
    addr: std::net::SocketAddr,
    total: usize,
    rate: f64,
    event: fn(usize) -> String,
) -> Result<Paced, Error> {
    calls_at_rate(addr, total, rate, move |i| load::Call {
        method: "POST",
        path: "/v1/events".to_string(),
        body: event(i),
        expected: 200,
    })
    .await
}

/// Sends `call(0..total)` one by one at `rate` a second from eight connections (call `i`
/// leaves at start + i / rate); every answer must have the call's expected status.
async fn calls_at_rate(
    addr: std::net::SocketAddr,
    total: usize,
    rate: f64,
    call: impl Fn(usize) -> load::Call + Copy + Send + 'static,
) -> Result<Paced, Error> {
    const LANES: usize = 8;
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..LANES {
        tasks.spawn(async move {
            let mut client = Client::new(addr);
            let mut sent = Vec::new();
            let mut behind = Duration::ZERO;
            for i in (lane..total).step_by(LANES) {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                behind = behind.max(tokio::time::Instant::now().saturating_duration_since(due));
                tokio::time::sleep_until(due).await;
                let call = call(i);
                let at = Instant::now();
                client
                    .expect(call.method, &call.path, Some(&call.body), call.expected)
                    .await?;
                sent.push((i, at, at.elapsed()));
            }
            Ok::<_, Error>((sent, behind))
        });
    }
    let mut paced = Paced {
        sent: Vec::with_capacity(total),
        behind: Duration::ZERO,
        wall: Duration::ZERO,
    };
    while let Some(joined) = tasks.join_next().await {
        let (sent, behind) = joined.map_err(|e| Error(format!("a client task failed: {e}")))??;
        paced.sent.extend(sent);
        paced.behind = paced.behind.max(behind);
    }
    paced.wall = start.elapsed();
    Ok(paced)
}

/// Measure 4: `order_placed` at a steady rate; from just before each post to its confirmation's
/// `.eml` file appearing in the outbox.
pub async fn event_to_outbox(ctx: &mut Context) -> Result<(), Error> {
    let (total, rate) = (ctx.options.outbox, ctx.options.outbox_rate);
    let (mut server, _) = Server::start(&ctx.setup, &ctx.work.join("outbox"), 1).await?;
    load::put_profiles(
        server.addr,
        ctx.options.clients,
        total,
        ordering,
        "Europe/Rome",
    )
    .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_confirmations(server.outbox(), Arc::clone(&stop));
    let sent = post_at_rate(server.addr, total, rate, |i| {
        load::order_placed(&ordering(i))
    })
    .await?
    .sent;
    // Give the last messages time to arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server::emails(&server.outbox()).len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    stop.store(true, Ordering::Relaxed);
    let seen = watcher
        .join()
        .map_err(|_| Error("the outbox watcher failed".to_string()))?;
    server.terminate()?;
    let acks: Vec<Duration> = sent.iter().map(|(_, _, ack)| *ack).collect();
    let delays: Vec<Duration> = sent
        .iter()
        .filter_map(|(i, at, _)| seen.get(i).map(|seen| seen.saturating_duration_since(*at)))
        .collect();
    let (ack, delay) = (load::spread(&acks), load::spread(&delays));
    println!(
        "  {} order_placed events at {rate} /s: ack p50 {} p99 {}; confirmation in the outbox p50 {} p99 {} max {} ({} of {} found)",
        int(total as f64),
        ms(ack.p50),
        ms(ack.p99),
        ms(delay.p50),
        ms(delay.p99),
        ms(delay.max),
        delays.len(),
        total
    );
    println!(
        "  the path: commit of the event (a sync), the .eml written, fsynced and renamed (the file transport records no attempt first); `Delivered` is recorded after"
    );
    ctx.figures.push(Figure::new(
        &format!("event → message in the outbox, {rate} events/s, p50 / p99"),
        format!("{} / {}", ms(delay.p50), ms(delay.p99)),
        "p99 ≤ 100 ms".to_string(),
        Some(delays.len() == total && delay.p99 <= Duration::from_millis(100)),
    ));
    Ok(())
}

/// Where a customer's `delivery_and_review` instance stands: entered and wake times (seconds).
async fn instance_times(server: &Server, customer: &str) -> Result<(i64, Option<i64>), Error> {
    let body = Client::new(server.addr)
        .expect("GET", &format!("/v1/customers/{customer}"), None, 200)
        .await?;
    let view: serde_json::Value = serde_json::from_str(&body)?;
    let instance = view
        .get("journeys")
        .and_then(|j| j.as_array())
        .into_iter()
        .flatten()
        .find(|i| i.get("journey").and_then(|j| j.as_str()) == Some("delivery_and_review"))
        .ok_or_else(|| Error(format!("{customer} is not in delivery_and_review: {body}")))?;
    let time = |key: &str| {
        instance
            .get(key)
            .and_then(|t| t.as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
    };
    let entered = time("entered_at").ok_or_else(|| Error(format!("no entered_at: {body}")))?;
    Ok((entered, time("wakes_at")))
}

/// The `Date` (seconds) of every review request in the outbox, except the probe's.
fn review_dates(outbox: &Path, probe: &str) -> Vec<i64> {
    server::emails(outbox)
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter(|text| {
            server::header(text, "X-Journey")
                .is_some_and(|j| j.starts_with("delivery_and_review/review_request"))
                && !server::header(text, "To").is_some_and(|to| to.starts_with(probe))
        })
        .filter_map(|text| {
            let date = server::header(&text, "Date")?;
            chrono::DateTime::parse_from_rfc2822(date)
                .ok()
                .map(|d| d.timestamp())
        })
        .collect()
}

/// Profile puts a second sent while measure 5's timers fire.
const BURST_PROBE_RATE: f64 = 200.0;
/// For how long they are sent, from a second before the due instant.
const BURST_PROBE_SECONDS: f64 = 4.0;

/// Measure 5: `timers` customers enter `delivery_and_review` on the same (virtual) day in UTC,
/// so `wait 4 days` + `wait until 10:30` ends for all of them at one instant. The clock runs
/// `speed` times faster (`journey run --speed`, `engine::clock::Fast`) so that instant comes in
/// about a minute; firing, stepping and committing are the same code as with the real clock.
pub async fn timers(ctx: &mut Context) -> Result<(), Error> {
    burst(ctx, false).await
}

/// Measure 9: measure 5's burst while other customers' profiles are put at
/// [`BURST_PROBE_RATE`] a second, from a second before the due instant: how long a shop's
/// writes wait while the timers fire, and how much they slow the burst.
pub async fn writes_during_burst(ctx: &mut Context) -> Result<(), Error> {
    burst(ctx, true).await
}

/// Measures 5 and 9: the burst, with the profile puts (`probed`) or alone.
async fn burst(ctx: &mut Context, probed: bool) -> Result<(), Error> {
    let (total, speed) = (ctx.options.timers, ctx.options.speed);
    let speed_f = f64::from(speed);
    let folder = if probed { "burst-writes" } else { "timers" };
    let (mut server, _) = Server::start(&ctx.setup, &ctx.work.join(folder), speed).await?;
    let addr = server.addr;
    let probe = timed(total);
    load::put_profiles(addr, ctx.options.clients, total + 1, timed, "UTC").await?;
    // The probe tells the virtual time: its entry time, read back.
    let anchor = Instant::now();
    Client::new(addr)
        .expect(
            "POST",
            "/v1/events",
            Some(&load::order_delivered(&probe)),
            200,
        )
        .await?;
    let (virtual_now, _) = instance_times(&server, &probe).await?;
    // Post all entries within one virtual day: wait for the next midnight if it is too close.
    let day_left = (86_400 - virtual_now.rem_euclid(86_400)) as f64 / speed_f;
    let needed = 3.0 + total as f64 / 1_000.0;
    if day_left - anchor.elapsed().as_secs_f64() < needed {
        let wait = Duration::from_secs_f64(day_left + 0.3).saturating_sub(anchor.elapsed());
        println!(
            "  waiting {:.1} s for the next virtual midnight (UTC)",
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
    }
    let posted =
        load::post_batches(addr, 4, total, 500, |i| load::order_delivered(&timed(i))).await?;
    let (_, first) = instance_times(&server, &timed(0)).await?;
    let (_, last) = instance_times(&server, &timed(total.saturating_sub(1))).await?;
    let (Some(due), Some(last)) = (first, last) else {
        return Err(Error("the customers are not waiting".to_string()));
    };
    if due != last {
        return Err(Error(format!(
            "the entries spanned two virtual days ({due} and {last}); run again or lower --speed"
        )));
    }
    let due_at = anchor + Duration::from_secs_f64(((due - virtual_now) as f64 / speed_f).max(0.0));
    let due_in = due_at
        .saturating_duration_since(Instant::now())
        .as_secs_f64();
    println!(
        "  {} order_delivered posted in batches of 500 in {:.1} s ({} /s); all {} timers due at one instant, {:.1} s from now",
        int(total as f64),
        posted.wall.as_secs_f64(),
        int(total as f64 / posted.wall.as_secs_f64()),
        int(total as f64),
        due_in
    );
    // Meanwhile (measure 9) other customers' profiles are put at a steady rate, from a second
    // before the due instant until well after the burst: how long a shop's writes wait while it
    // fires.
    let prober = probed.then(|| {
        tokio::spawn(async move {
            let start = Duration::from_secs_f64((due_in - 1.1).max(0.0));
            tokio::time::sleep(start).await;
            let probes = (BURST_PROBE_RATE * BURST_PROBE_SECONDS) as usize;
            calls_at_rate(addr, probes, BURST_PROBE_RATE, |i| {
                let customer = format!("b{i:07}");
                load::Call {
                    method: "PUT",
                    path: format!("/v1/customers/{customer}"),
                    body: load::profile(&customer, "UTC"),
                    expected: 204,
                }
            })
            .await
        })
    });
    // Count firings from /metrics every 10 ms around the due instant.
    tokio::time::sleep(Duration::from_secs_f64((due_in - 2.0).max(0.0))).await;
    let confirmations = server::emails(&server.outbox()).len();
    let base = server.metrics().await?.get("journey_timers_fired_total");
    let (mut first_fired, mut all_fired) = (None, None);
    let polling = Instant::now();
    let deadline = polling + Duration::from_secs(300);
    while all_fired.is_none() && Instant::now() < deadline {
        let fired = server.metrics().await?.get("journey_timers_fired_total") - base;
        let now = Instant::now();
        if fired > 0.0 && first_fired.is_none() {
            first_fired = Some(now);
        }
        if fired >= total as f64 {
            all_fired = Some(now);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lateness_max = server
        .metrics()
        .await?
        .get("journey_timer_lateness_seconds_max");
    // Then read every review request's Date: the virtual time its timer fired.
    let deadline = Instant::now() + Duration::from_secs(300);
    while server::emails(&server.outbox()).len() < confirmations + total
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let puts = match prober {
        Some(prober) => Some(
            prober
                .await
                .map_err(|e| Error(format!("the profile puts failed: {e}")))??,
        ),
        None => None,
    };
    let dates = review_dates(&server.outbox(), &probe);
    server.terminate()?;
    let (Some(first_fired), Some(all_fired)) = (first_fired, all_fired) else {
        return Err(Error(
            "the timers did not all fire in 5 minutes".to_string(),
        ));
    };
    // As Restate's figure: all timers over the time from the due instant to the last firing.
    let span = all_fired.saturating_duration_since(due_at).as_secs_f64();
    let late: Vec<Duration> = dates
        .iter()
        .map(|date| Duration::from_secs_f64((date - due).max(0) as f64 / speed_f))
        .collect();
    let early = dates.iter().filter(|date| **date < due).count();
    let lateness = load::spread(&late);
    let (min_date, max_date) = (
        dates.iter().min().copied().unwrap_or(due),
        dates.iter().max().copied().unwrap_or(due),
    );
    let rate = total as f64 / span.max(0.010);
    let since_due = |at: Instant| {
        at.checked_duration_since(due_at).map_or_else(
            || -due_at.duration_since(at).as_secs_f64(),
            |d| d.as_secs_f64(),
        )
    };
    println!(
        "  /metrics (journey_timers_fired_total, polled every 10 ms from {:.1} s before): first firings seen {:.3} s after the due instant, all {} {:.3} s after it: {} /s",
        due_at.saturating_duration_since(polling).as_secs_f64(),
        since_due(first_fired),
        int(total as f64),
        since_due(all_fired),
        int(rate)
    );
    println!(
        "  messages' Date (the virtual `now` of the round that fired the timer; a virtual second is 1/{speed} s): {} review requests, first {:.3} s, last {:.3} s after the due instant; lateness p50 {} p99 {} max {}; {early} early; journey_timer_lateness_seconds_max {:.3} s real",
        dates.len(),
        (min_date - due) as f64 / speed_f,
        (max_date - due) as f64 / speed_f,
        ms(lateness.p50),
        ms(lateness.p99),
        ms(lateness.max),
        lateness_max / speed_f
    );
    if let Some(puts) = puts {
        // The puts sent while the timers were firing (from the due instant to the last firing).
        let during: Vec<Duration> = puts
            .sent
            .iter()
            .filter(|(_, at, _)| *at >= due_at && *at <= all_fired)
            .map(|(_, _, ack)| *ack)
            .collect();
        let ack = load::spread(&during);
        println!(
            "  profile puts at {} /s from 1 s before the due instant: {} sent while the timers fired, answered in p50 {} p99 {} max {}",
            int(BURST_PROBE_RATE),
            during.len(),
            ms(ack.p50),
            ms(ack.p99),
            ms(ack.max)
        );
        ctx.figures.push(Figure::new(
            "profile puts during that burst: ack p50 / p99 / max",
            format!("{} / {} / {}", ms(ack.p50), ms(ack.p99), ms(ack.max)),
            "p99 ≤ 25 ms".to_string(),
            Some(!during.is_empty() && ack.p99 <= Duration::from_millis(25)),
        ));
        ctx.figures.push(Figure::new(
            "timer lateness p50 / p99 / max with those puts",
            format!(
                "{} / {} / {}",
                ms(lateness.p50),
                ms(lateness.p99),
                ms(lateness.max)
            ),
            "(measure 5: alone)".to_string(),
            None,
        ));
        return Ok(());
    }
    ctx.figures.push(Figure::new(
        "timer firings/s, all due at one instant (each sends an email)",
        format!("{} /s", int(rate)),
        format!("≥ 2× Restate = {} /s", int(2.0 * RESTATE_TIMERS)),
        Some(rate >= 2.0 * RESTATE_TIMERS),
    ));
    lateness_figures(
        ctx,
        "timer lateness p50 / p99 / max (real time)",
        "timers fired early",
        &lateness,
        early,
        (dates.len(), total),
    );
    Ok(())
}

/// The two figures of a lateness measure: the spread against p99 ≤ 1 s, and timers fired
/// early against none; both met only if every timer of `counted.1` was seen (`counted.0`).
fn lateness_figures(
    ctx: &mut Context,
    spread_name: &str,
    early_name: &str,
    lateness: &load::Spread,
    early: usize,
    counted: (usize, usize),
) {
    let (seen, total) = counted;
    ctx.figures.push(Figure::new(
        spread_name,
        format!(
            "{} / {} / {}",
            ms(lateness.p50),
            ms(lateness.p99),
            ms(lateness.max)
        ),
        "p99 ≤ 1 s".to_string(),
        Some(seen == total && lateness.p99 <= Duration::from_secs(1)),
    ));
    ctx.figures.push(Figure::new(
        early_name,
        format!("{early} of {seen}"),
        "never".to_string(),
        Some(early == 0 && seen == total),
    ));
}

/// Measures 6 and 7: `waiting` customers in `abandoned_cart` (profile, then the event, in
/// batches of 1,000), bytes on disk and memory; then `kill -9`, a restart on the same folder, the
/// time to the first answers, and the count of waiting customers again.
pub async fn waiting_customers(ctx: &mut Context) -> Result<(), Error> {
    let total = ctx.options.waiting;
    let data = ctx.work.join("waiting");
    let (mut server, _) = Server::start(&ctx.setup, &data, 1).await?;
    let profiles = load::put_profiles(
        server.addr,
        ctx.options.clients,
        total,
        waiting,
        "Europe/Rome",
    )
    .await?;
    println!(
        "  {} profiles put ({} clients) in {:.1} s: {} /s",
        int(total as f64),
        ctx.options.clients,
        profiles.wall.as_secs_f64(),
        int(profiles.rate())
    );
    let posted = load::post_batches(server.addr, 4, total, 1000, |i| {
        load::cart_abandoned(&waiting(i))
    })
    .await?;
    let batch_latency = load::spread(&posted.latencies);
    println!(
        "  {} cart_abandoned posted in batches of 1,000 (4 clients) in {:.1} s: {} events/s; batch ack p50 {} p99 {}",
        int(total as f64),
        posted.wall.as_secs_f64(),
        int(total as f64 / posted.wall.as_secs_f64()),
        ms(batch_latency.p50),
        ms(batch_latency.p99)
    );
    let memory = server.memory()?;
    let store_gauge = server.metrics().await?.get("journey_store_bytes");
    let counted = Instant::now();
    let before = customers_in(&server, "abandoned_cart").await?;
    println!(
        "  waiting in abandoned_cart: {} (GET /v1/journeys, {:.1} s); RSS peak {} now {}; journey_store_bytes {}",
        int(before as f64),
        counted.elapsed().as_secs_f64(),
        bytes(memory.peak as f64),
        bytes(memory.now as f64),
        bytes(store_gauge)
    );
    server.kill()?;
    let (apparent, allocated) = server::disk_usage(&data)?;
    let per_customer = apparent as f64 / total as f64;
    println!(
        "  after kill -9: data folder {} ({} allocated): {:.0} B per waiting customer",
        bytes(apparent as f64),
        bytes(allocated as f64),
        per_customer
    );
    drop(server);
    let (mut server, healthy) = Server::start(&ctx.setup, &data, 1).await?;
    let spawned = Instant::now() - healthy;
    let first = r#"{"event":"product_viewed","customer":"w0000000","id":"viewed-after-restart","data":{"product_id":"MOKA-3","name":"Moka Express","price":"29.90 EUR"}}"#;
    Client::new(server.addr)
        .expect("POST", "/v1/events", Some(first), 200)
        .await?;
    let first_answer = spawned.elapsed();
    let counted = Instant::now();
    let after = customers_in(&server, "abandoned_cart").await?;
    let count_time = counted.elapsed();
    let restarted_memory = server.memory()?;
    server.terminate()?;
    let (apparent_stopped, _) = server::disk_usage(&data)?;
    let state = stored_state_bytes(&data.join("store"), &waiting(0))?;
    println!(
        "  restart: /healthz after {:.2} s, first event processed after {:.2} s; {} waiting counted in {:.1} s; RSS after {}",
        healthy.as_secs_f64(),
        first_answer.as_secs_f64(),
        int(after as f64),
        count_time.as_secs_f64(),
        bytes(restarted_memory.peak as f64)
    );
    println!(
        "  after a clean stop: data folder {} ({:.0} B per customer); one customer's stored state: {state} B (postcard)",
        bytes(apparent_stopped as f64),
        apparent_stopped as f64 / total as f64
    );
    println!("  what the store holds, table by table:");
    print_breakdown(&data.join("store"), total)?;
    let label = format!("{} waiting customers", int(total as f64));
    ctx.figures.push(Figure::new(
        &format!("{label}: bytes on disk per waiting customer"),
        format!("{per_customer:.0} B"),
        "≤ 1,024 B".to_string(),
        Some(per_customer <= 1024.0),
    ));
    ctx.figures.push(Figure::new(
        &format!("{label}: peak RSS (VmHWM)"),
        bytes(memory.peak as f64),
        "≤ 2 GiB".to_string(),
        Some(memory.peak <= 2 << 30),
    ));
    ctx.figures.push(Figure::new(
        &format!("{label}: restart after kill -9 to the first event answered"),
        format!("{:.2} s", first_answer.as_secs_f64()),
        "≤ 30 s".to_string(),
        Some(first_answer <= Duration::from_secs(30)),
    ));
    ctx.figures.push(Figure::new(
        &format!("{label}: still waiting after the restart"),
        int(after as f64),
        int(total as f64),
        Some(after == total as u64 && before == total as u64),
    ));
    Ok(())
}

/// The tables of the store (`store` module: one prefix byte each).
const TABLES: [(u8, &str); 13] = [
    (b'c', "customers"),
    (b't', "timer index"),
    (b'r', "timer reverse index (older stores)"),
    (b'o', "outbox"),
    (b'e', "processed event keys"),
    (b'a', "audit log"),
    (b'p', "programs"),
    (b'd', "deployment"),
    (b'x', "dead letters"),
    (b's', "suppressed addresses"),
    (b'm', "counters"),
    (b'n', "customers per step"),
    (b'z', "compression dictionaries"),
];

/// Prints the entries and the bytes of keys and values of each table of a stopped store, per
/// customer: what is stored, before sled's own overhead.
pub fn print_breakdown(store: &Path, customers: usize) -> Result<(), Error> {
    let sled = Sled::open(store)?;
    let per = customers.max(1) as f64;
    let mut total = 0;
    for (prefix, name) in TABLES {
        let (mut entries, mut size) = (0_u64, 0_u64);
        let mut start = vec![prefix];
        loop {
            let page =
                journey_runtime::store::Backend::scan(&sled, &[prefix], &start, None, 10_000)?;
            for (key, value) in &page {
                entries += 1;
                size += (key.len() + value.len()) as u64;
            }
            match page.last() {
                Some((key, _)) if page.len() == 10_000 => {
                    start = key.clone();
                    start.push(0);
                }
                _ => break,
            }
        }
        total += size;
        if entries > 0 {
            println!(
                "    {name:22} {:>10} entries  {:>9}  {:>6.0} B per customer",
                int(entries as f64),
                bytes(size as f64),
                size as f64 / per
            );
        }
    }
    println!(
        "    keys and values, all tables: {} = {:.0} B per customer",
        bytes(total as f64),
        total as f64 / per
    );
    Ok(())
}

/// The size of one customer's stored state, read from a stopped data folder.
fn stored_state_bytes(store: &Path, customer: &str) -> Result<usize, Error> {
    let store = Store::open(Arc::new(Sled::open(store)?))?;
    let state = store
        .customer(customer)?
        .ok_or_else(|| Error(format!("{customer} is not stored")))?;
    Ok(postcard::to_stdvec(&state).map(|b| b.len()).unwrap_or(0))
}

/// When a customer entered `abandoned_cart` and when its first wait ended (the first decision
/// about the reminder), in virtual seconds, from the customer's decision log.
async fn cart_reminder_times(client: &mut Client, customer: &str) -> Result<(i64, i64), Error> {
    let body = client
        .expect("GET", &format!("/v1/customers/{customer}"), None, 200)
        .await?;
    let view: serde_json::Value = serde_json::from_str(&body)?;
    let decisions: Vec<&serde_json::Value> = view
        .get("decisions")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter(|d| d.get("journey").and_then(|j| j.as_str()) == Some("abandoned_cart"))
        .collect();
    let time = |decision: &serde_json::Value| {
        decision
            .get("at")
            .and_then(|t| t.as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
    };
    let kind = |decision: &&&serde_json::Value, kinds: &[&str]| {
        decision
            .get("kind")
            .and_then(|k| k.as_str())
            .is_some_and(|k| kinds.contains(&k))
    };
    let entered = decisions
        .iter()
        .find(|d| kind(d, &["entered"]))
        .and_then(|d| time(d));
    let reminder = decisions
        .iter()
        .find(|d| kind(d, &["sent", "deferred", "skipped"]))
        .and_then(|d| time(d));
    match (entered, reminder) {
        (Some(entered), Some(reminder)) => Ok((entered, reminder)),
        _ => Err(Error(format!(
            "{customer}: no entry and reminder decision in the log: {body}"
        ))),
    }
}

/// The fixed-offset zone (`Etc/GMT…`) where `now` is between 08:00 and 09:00.
fn morning_zone(now: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    let hours = f64::from(now.hour()) + f64::from(now.minute()) / 60.0;
    // Hours east of UTC, in the range the Etc zones have (-12 to +14).
    let mut east = (8.0 - hours).ceil() as i32;
    if east < -12 {
        east += 24;
    }
    if east > 14 {
        east -= 24;
    }
    match east {
        0 => "Etc/GMT".to_string(),
        // The Etc zones' signs are POSIX's: Etc/GMT-2 is two hours east of UTC.
        east if east > 0 => format!("Etc/GMT-{east}"),
        west => format!("Etc/GMT+{}", -west),
    }
}

/// Measure 8: `steady` customers post `cart_abandoned` at `steady_rate` a second, each starting
/// `abandoned_cart`, whose `wait 3 hours` ends 3 virtual hours after its entry: timers fall due
/// steadily while events keep coming (as Restate's "timers-relative" run). The clock runs
/// `steady_speed` times faster: 3 virtual hours are 7.5 s at the default 1,440, so the waits
/// of the first customers end while the others are still posting. The customers live in the
/// fixed-offset zone where posting starts between 08:00 and 09:00 local time, so the posting's
/// 8 virtual hours and their reminders stay out of the shop's quiet hours (21:00 to 08:00),
/// which would gather the reminders into one burst at their end: measure 5's case. Each
/// timer's lateness is the time of the round that decided the reminder minus entry + 3 hours,
/// read from every customer's decision log afterwards (virtual seconds, so 1/`steady_speed` s
/// of resolution).
pub async fn steady_timers(ctx: &mut Context) -> Result<(), Error> {
    const WAIT: i64 = 3 * 3_600;
    let (total, rate, speed) = (
        ctx.options.steady,
        ctx.options.steady_rate,
        ctx.options.steady_speed,
    );
    let speed_f = f64::from(speed);
    let (mut server, _) = Server::start(&ctx.setup, &ctx.work.join("steady"), speed).await?;
    let zone: &'static str = Box::leak(morning_zone(chrono::Utc::now()).into_boxed_str());
    load::put_profiles(server.addr, ctx.options.clients, total, steady, zone).await?;
    let base = server.metrics().await?.get("journey_timers_fired_total");
    let posted = post_at_rate(server.addr, total, rate, |i| {
        load::cart_abandoned(&steady(i))
    })
    .await?;
    let (behind, posting) = (posted.behind, posted.wall);
    let acks: Vec<Duration> = posted.sent.iter().map(|(_, _, ack)| *ack).collect();
    let ack = load::spread(&acks);
    let slowest = posted
        .sent
        .iter()
        .max_by_key(|(_, _, ack)| *ack)
        .map_or(0.0, |(i, _, _)| *i as f64 / rate);
    // Every first wait ends 3 virtual hours after its entry: wait for all of them.
    let deadline = Instant::now() + Duration::from_secs_f64(60.0 + WAIT as f64 / speed_f);
    let mut fired = 0.0;
    while Instant::now() < deadline {
        fired = server.metrics().await?.get("journey_timers_fired_total") - base;
        if fired >= total as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut client = Client::new(server.addr);
    let mut late = Vec::with_capacity(total);
    let mut early = 0;
    for i in 0..total {
        let (entered, reminder) = cart_reminder_times(&mut client, &steady(i)).await?;
        let lateness = reminder - (entered + WAIT);
        if lateness < 0 {
            early += 1;
        }
        late.push(Duration::from_secs_f64(lateness.max(0) as f64 / speed_f));
    }
    server.terminate()?;
    let lateness = load::spread(&late);
    println!(
        "  {} cart_abandoned posted at {} /s over {:.1} s (8 connections; the load generator, on the same cores, fell at most {} behind its schedule; customers in {zone}); {} timers fired (the 3-hour waits, 3 virtual hours = {:.1} s later; a clock {speed} times faster)",
        int(total as f64),
        int(rate),
        posting.as_secs_f64(),
        ms(behind),
        int(fired),
        WAIT as f64 / speed_f
    );
    println!(
        "  the events' acks: p50 {} p99 {} max {} (the slowest {slowest:.1} s into the posting)",
        ms(ack.p50),
        ms(ack.p99),
        ms(ack.max)
    );
    println!(
        "  lateness of each wait's end (the decision log: the round that decided the reminder, against entry + 3 hours; a virtual second is 1/{speed} s): p50 {} p99 {} max {}; {early} early",
        ms(lateness.p50),
        ms(lateness.p99),
        ms(lateness.max),
    );
    lateness_figures(
        ctx,
        &format!(
            "timer lateness p50 / p99 / max, timers falling due at {} /s among as many events",
            int(rate)
        ),
        "timers fired early, falling due steadily",
        &lateness,
        early,
        (late.len(), total),
    );
    Ok(())
}
