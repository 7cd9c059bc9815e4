//! The simulator runs each customer's queue on its own, customers side by side on several
//! threads, and merges what happened into one log. These tests hold it to what that promises:
//! a customer's log does not depend on who else is simulated, nor on the number of threads, and
//! the merged log is in time order.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use journey_runtime::scenario::{self, Happening, Scenario};
use journey_runtime::simulate::{Entry, Simulator};
use journey_runtime::vm::{Effect, Input, Library};

fn scenarios() -> Vec<(String, Scenario)> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../journeys/scenarios");
    let mut found: Vec<(String, Scenario)> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let scenario = scenario::scenario(&text).unwrap();
            (path.display().to_string(), scenario)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(found.len() >= 3, "the shipped scenarios are missing");
    found
}

/// The scenario with only one of its customers.
fn alone(scenario: &Scenario, customer: &str) -> Scenario {
    let mut only = scenario.clone();
    only.customers.retain(|(id, _)| id == customer);
    only.timeline.retain(|timed| timed.customer == customer);
    only
}

/// The scenario with every customer copied `copies` times under new ids.
fn crowd(scenario: &Scenario, copies: usize) -> Scenario {
    let mut crowd = scenario.clone();
    crowd.customers.clear();
    crowd.timeline.clear();
    for copy in 0..copies {
        for (id, profile) in &scenario.customers {
            crowd
                .customers
                .push((format!("{id}-{copy}"), profile.clone()));
        }
        for timed in &scenario.timeline {
            let mut timed = timed.clone();
            timed.customer = format!("{}-{copy}", timed.customer);
            crowd.timeline.push(timed);
        }
    }
    crowd
}

fn run(library: &Library, scenario: &Scenario, threads: usize) -> Simulator<'static> {
    // Leaked so the simulator can outlive this function; a test process is short.
    let library: &'static Library = Box::leak(Box::new(library.clone()));
    let scenario: &'static Scenario = Box::leak(Box::new(scenario.clone()));
    let mut simulator = Simulator::new(library, &scenario.env, scenario.until);
    simulator.use_threads(threads);
    simulator.load(scenario);
    simulator.run();
    simulator
}

fn of(log: &[Entry], customer: &str) -> Vec<Entry> {
    log.iter()
        .filter(|entry| entry.customer == customer)
        .cloned()
        .collect()
}

#[test]
fn a_customer_s_log_does_not_depend_on_who_else_is_simulated() {
    let library = common::shipped_library();
    for (path, scenario) in scenarios() {
        let together = run(&library, &scenario, 1);
        assert!(!together.log.is_empty(), "{path}: nothing happened");
        for (id, _) in &scenario.customers {
            let by_themselves = run(&library, &alone(&scenario, id), 1);
            let theirs = of(&together.log, id);
            assert_eq!(theirs, by_themselves.log, "{path}: {id}");
            assert_eq!(together.customers[id], by_themselves.customers[id]);
        }
    }
}

#[test]
fn the_log_is_in_time_order_and_customers_at_one_instant_in_the_order_they_were_named() {
    let library = common::shipped_library();
    for (path, scenario) in scenarios() {
        let simulator = run(&library, &scenario, 1);
        let rank = |customer: &str| {
            scenario
                .customers
                .iter()
                .position(|(id, _)| id == customer)
                .unwrap()
        };
        for pair in simulator.log.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                (a.at, rank(&a.customer)) <= (b.at, rank(&b.customer)),
                "{path}: {a:?} before {b:?}"
            );
        }
    }
}

#[test]
fn threads_change_nothing_but_the_time_it_takes() {
    let library = common::shipped_library();
    for (path, scenario) in scenarios() {
        // Enough customers for the simulator to use several threads.
        let copies = 256usize.div_ceil(scenario.customers.len());
        let crowd = crowd(&scenario, copies);
        let one = run(&library, &crowd, 1);
        let three = run(&library, &crowd, 3);
        assert!(one.steps > 256, "{path}");
        assert_eq!(one.log.len(), three.log.len(), "{path}");
        assert!(one.log == three.log, "{path}: the logs differ");
        assert_eq!(one.summary, three.summary, "{path}");
        assert_eq!((one.steps, one.executed), (three.steps, three.executed));
        assert!(
            one.customers == three.customers,
            "{path}: final states differ"
        );
    }
}

#[test]
fn an_event_for_a_customer_never_added_is_an_error_in_the_log() {
    let library = common::shipped_library();
    let (_, scenario) = scenarios().remove(0);
    let mut stray = alone(&scenario, "nobody");
    let event = scenario
        .timeline
        .iter()
        .find_map(|timed| match &timed.what {
            Happening::Event(event) => Some(event.clone()),
            Happening::Profile(_) => None,
        })
        .unwrap();
    let library: &'static Library = Box::leak(Box::new(library));
    stray.customers.clear();
    let stray: &'static Scenario = Box::leak(Box::new(stray));
    let mut simulator = Simulator::new(library, &stray.env, stray.until);
    simulator.queue(stray.start + 60, "nobody", Input::Event(event));
    simulator.run();
    assert_eq!(simulator.log.len(), 1);
    assert_eq!(simulator.summary.errors, 1);
    match &simulator.log[0].effect {
        Effect::Error(error) => assert!(error.message.contains("`nobody`"), "{error:?}"),
        other => panic!("expected an error, got {other:?}"),
    }
}
