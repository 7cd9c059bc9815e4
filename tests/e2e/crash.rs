//! The durability promise, by counting: thousands of customers post events to `journey run`
//! from several threads while the process is killed with SIGKILL at random moments and
//! restarted. Clients retry until acknowledged (with the same idempotency key), as a shop's
//! back end would. At the end every customer entered the journey exactly once (no event lost, no
//! step applied twice) and every message is in the outbox.
//!
//! CI kills a few dozen times; `JOURNEY_CRASH_KILLS=1000 JOURNEY_CRASH_CUSTOMERS=20000 cargo test
//! -p journey --test e2e crash -- --nocapture` runs the long version.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::run::{Server, http};
use super::{repo, temp_dir};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator, so a failing run can be repeated.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

#[test]
fn kill_9_at_random_moments_loses_nothing_and_applies_nothing_twice() {
    let kills = setting("JOURNEY_CRASH_KILLS", 24);
    let customers = setting("JOURNEY_CRASH_CUSTOMERS", 2000);
    let dir = temp_dir("crash");
    let data = dir.join("data");
    let journeys = repo().join("journeys");
    let server = Server::start(&data, &journeys, 1);
    let port = Arc::new(AtomicU16::new(server.port));
    let queue: Arc<Mutex<VecDeque<usize>>> = Arc::new(Mutex::new((0..customers).collect()));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (port, queue, acknowledged, done) = (
            Arc::clone(&port),
            Arc::clone(&queue),
            Arc::clone(&acknowledged),
            Arc::clone(&done),
        );
        clients.push(std::thread::spawn(move || {
            loop {
                let Some(n) = queue.lock().unwrap().pop_front() else {
                    if done.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let customer = format!("c{n:06}");
                let profile = format!(
                    r#"{{"email":"{customer}@example.it","time_zone":"Europe/Rome","locale":"it-IT"}}"#
                );
                let event = format!(
                    r#"{{"event":"support_request","customer":"{customer}","id":"ticket-{n}","at":"2026-11-23T10:00:00+01:00","data":{{"ticket_id":"T-{n}","subject":"Reso","channel":"email","max_response_hours":24}}}}"#
                );
                // Retry each call until acknowledged: the server may be dead or restarting.
                for (method, path, body, ok) in [
                    ("PUT", format!("/v1/customers/{customer}"), profile, 204),
                    ("POST", "/v1/events".to_string(), event, 200),
                ] {
                    loop {
                        let port = port.load(Ordering::Relaxed);
                        match http(port, method, &path, Some(&body)) {
                            Ok((status, _)) if status == ok => break,
                            Ok((status, answer)) if (400..500).contains(&status) => {
                                panic!("{method} {path} refused: {status} {answer}")
                            }
                            _ => std::thread::sleep(Duration::from_millis(30)),
                        }
                    }
                }
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Kill and restart at random moments while the clients post.
    let mut random = Lcg(0x5eed);
    let mut server = Some(server);
    let started = Instant::now();
    for kill in 0..kills {
        std::thread::sleep(Duration::from_millis(50 + random.next(400)));
        if let Some(running) = server.take() {
            running.kill();
        }
        let restarted = Server::start(&data, &journeys, 1);
        port.store(restarted.port, Ordering::Relaxed);
        server = Some(restarted);
        if kill % 8 == 7 {
            eprintln!(
                "crash test: {} kills, {} of {customers} customers acknowledged, {:.1} s",
                kill + 1,
                acknowledged.load(Ordering::Relaxed),
                started.elapsed().as_secs_f64()
            );
        }
    }
    done.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let server = server.unwrap();
    assert_eq!(acknowledged.load(Ordering::Relaxed), customers);
    eprintln!(
        "crash test: every event acknowledged after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Every customer entered the journey once and got one reply.
    for n in 0..customers {
        let customer = format!("c{n:06}");
        let (status, body) = http(
            server.port,
            "GET",
            &format!("/v1/customers/{customer}"),
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{customer}: {body}");
        let view: serde_json::Value = serde_json::from_str(&body).unwrap();
        let entered = view["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == "entered" && d["journey"] == "support_auto_reply")
            .count();
        assert_eq!(entered, 1, "{customer} entered {entered} times: {body}");
    }
    eprintln!(
        "crash test: every customer checked after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Every reply reaches the outbox (one file per Message-ID).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let emails = std::fs::read_dir(data.join("outbox"))
            .map(|e| {
                e.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0);
        if emails == customers {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{emails} of {customers} emails in the outbox after waiting"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "crash test: {kills} kills, {customers} customers, all acknowledged events processed once, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
