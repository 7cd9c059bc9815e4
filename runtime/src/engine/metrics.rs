//! Counters and a few latency figures of the engine, printed in the Prometheus text format.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The engine's counters.
#[derive(Default)]
pub struct Metrics {
    /// Events processed.
    pub events_processed: AtomicU64,
    /// Events already processed (same idempotency key).
    pub events_duplicate: AtomicU64,
    /// VM steps.
    pub vm_steps: AtomicU64,
    /// Timers fired.
    pub timers_fired: AtomicU64,
    /// Messages put in the outbox.
    pub messages_queued: AtomicU64,
    /// Messages delivered.
    pub messages_delivered: AtomicU64,
    /// Delivery attempts that will be retried.
    pub messages_retried: AtomicU64,
    /// Messages given up on.
    pub messages_dead: AtomicU64,
    /// Runtime errors of journeys.
    pub runtime_errors: AtomicU64,
    /// Durable commits.
    pub commits: AtomicU64,
    /// Requests from outside (events, profiles, erasures, deploys) sent to the writer and not
    /// taken yet: while there are some, a round cuts its own work short.
    pub requests_waiting: AtomicU64,
    commit_seconds: Mutex<(f64, f64)>,
    lateness: Mutex<(i64, u64)>,
}

impl Metrics {
    /// Adds to a counter.
    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Records how long a commit took.
    pub fn observe_commit(&self, took: Duration) {
        if let Ok(mut sums) = self.commit_seconds.lock() {
            sums.0 += took.as_secs_f64();
            sums.1 = sums.1.max(took.as_secs_f64());
        }
    }

    /// Records how late a timer fired, in seconds.
    pub fn observe_lateness(&self, seconds: i64) {
        if let Ok(mut late) = self.lateness.lock() {
            late.0 = late.0.max(seconds);
            late.1 += 1;
        }
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "journey_events_processed_total",
                "Events processed.",
                &self.events_processed,
            ),
            (
                "journey_events_duplicate_total",
                "Events received again with a processed idempotency key.",
                &self.events_duplicate,
            ),
            (
                "journey_vm_steps_total",
                "Inputs stepped through the VM.",
                &self.vm_steps,
            ),
            (
                "journey_timers_fired_total",
                "Timers fired.",
                &self.timers_fired,
            ),
            (
                "journey_messages_queued_total",
                "Messages put in the outbox.",
                &self.messages_queued,
            ),
            (
                "journey_messages_delivered_total",
                "Messages delivered.",
                &self.messages_delivered,
            ),
            (
                "journey_messages_retried_total",
                "Delivery attempts that failed temporarily.",
                &self.messages_retried,
            ),
            (
                "journey_messages_dead_total",
                "Messages given up on (dead letters).",
                &self.messages_dead,
            ),
            (
                "journey_runtime_errors_total",
                "Runtime errors of journeys.",
                &self.runtime_errors,
            ),
            (
                "journey_commits_total",
                "Durable commits (group commits).",
                &self.commits,
            ),
        ];
        for (name, help, counter) in counters {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                counter.load(Ordering::Relaxed)
            ));
        }
        if let Ok(sums) = self.commit_seconds.lock() {
            out.push_str(&format!(
                "# HELP journey_commit_seconds_sum Time spent committing.\n# TYPE journey_commit_seconds_sum counter\njourney_commit_seconds_sum {:.6}\n# HELP journey_commit_seconds_max The longest commit.\n# TYPE journey_commit_seconds_max gauge\njourney_commit_seconds_max {:.6}\n",
                sums.0, sums.1
            ));
        }
        out.push_str(&format!(
            "# HELP journey_requests_waiting Requests from outside waiting for the engine's writer.\n# TYPE journey_requests_waiting gauge\njourney_requests_waiting {}\n",
            self.requests_waiting.load(Ordering::Relaxed)
        ));
        if let Ok(late) = self.lateness.lock() {
            out.push_str(&format!(
                "# HELP journey_timer_lateness_seconds_max The latest a timer fired after its time.\n# TYPE journey_timer_lateness_seconds_max gauge\njourney_timer_lateness_seconds_max {}\n",
                late.0
            ));
        }
        out
    }
}
