//! Golden timelines: every scenario in `journeys/scenarios/` run over every shipped journey,
//! the readable timeline (messages included) snapshotted. A change in what any customer
//! receives, when, or why, shows up here as a diff to review.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use journey_runtime::vm::Library;
use journey_runtime::{scenario, simulate, timeline};

fn shipped_journeys() -> Library {
    common::shipped_library()
}

#[test]
fn scenarios() {
    let library = shipped_journeys();
    insta::glob!("../../journeys/scenarios", "*.toml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let scenario =
            scenario::scenario(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let simulator = simulate::run(&library, &scenario);
        let zones = timeline::zones(&simulator.customers);
        let options = timeline::Options {
            messages: true,
            timers: true,
        };
        let errors = simulator
            .log
            .iter()
            .filter(|e| matches!(e.effect, journey_runtime::vm::Effect::Error(_)))
            .count();
        assert_eq!(errors, 0, "{} has runtime errors", path.display());
        insta::assert_snapshot!(timeline::human(&simulator.log, &zones, options));
    });
}
