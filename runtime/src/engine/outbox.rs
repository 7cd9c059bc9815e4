//! The outbox worker: takes messages the writer committed, records each attempt durably before
//! handing the message to an SMTP server (so a crash means "maybe sent": it is sent again with
//! the same Message-ID, never lost), delivers it, and reports the outcome back through the
//! writer. Writing a file named after the Message-ID can be repeated without effect, so the file
//! transport skips the attempt record: one commit less per message.
//!
//! Marketing email is checked once more against the customer's current consent (an unsubscribe
//! may have come in since it was queued) and every address against the suppression list.
//! SMS and webhook messages have no transport yet: they are written as JSON files into the
//! `other` folder next to the email outbox.
//!
//! The log tells an operator when delivery stops working and when it works again, once each
//! ([`Health`]), not once per message; a message given up on is logged with its reason.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::TimeZone;
use journey_compiler::bytecode::{Category, Channel, Value};
use tokio::sync::{Semaphore, watch};

use super::{DeliveryReport, Engine};
use crate::delivery::{Deliverer, Outcome, next_attempt};
use crate::store::OutboxRecord;

/// Messages delivered at the same time.
const CONCURRENCY: usize = 16;
/// The longest the outbox goes without being read from its start (for retries falling due).
const FULL_READ: Duration = Duration::from_secs(1);

/// Whether deliveries are failing. The first temporary failure after a success is logged as a
/// warning and the ones after it only counted, until a delivery goes through again (logged
/// too): a relay that is down shows in the log without a line per message and attempt.
#[derive(Default)]
struct Health {
    failing: AtomicBool,
    failures: AtomicU64,
}

impl Health {
    fn failed(&self, message_id: &str, reason: &str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if self.failing.swap(true, Ordering::Relaxed) {
            tracing::debug!("delivery of {message_id} failed again: {reason}");
        } else {
            tracing::warn!(
                "delivery is failing: {reason} (message {message_id}); messages are kept and retried, and further failures are not logged until one goes through"
            );
        }
    }

    fn delivered(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            let failures = self.failures.swap(0, Ordering::Relaxed);
            tracing::info!("delivery works again, after {failures} failed attempts");
        }
    }
}

/// Runs until `stop` turns true; finishes the deliveries in flight first.
pub async fn run(
    engine: Engine,
    deliverer: Arc<Deliverer>,
    other: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let health = Arc::new(Health::default());
    let mut in_flight: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    // At start, attempts interrupted by a crash (started, never answered) go again at once.
    let mut recovering = true;
    // Where to read on: new messages come with higher numbers, so the outbox is read on from
    // the last message taken, and from the start again at least every second and when a retry
    // seen falls due (a busy outbox never lets the loop sleep: this keeps retries coming).
    let mut cursor = 0;
    let mut earliest: Option<i64> = None;
    let mut read_from_start = std::time::Instant::now();
    loop {
        while let Ok(seq) = done_rx.try_recv() {
            in_flight.remove(&seq);
        }
        if *stop.borrow() {
            break;
        }
        let now = engine.clock().now();
        if read_from_start.elapsed() >= FULL_READ || earliest.is_some_and(|at| at <= now) {
            cursor = 0;
        }
        if cursor == 0 {
            read_from_start = std::time::Instant::now();
        }
        let pending = match engine.store().outbox(cursor, 512) {
            Ok(pending) => pending,
            Err(error) => {
                tracing::error!("cannot read the outbox: {error}");
                Vec::new()
            }
        };
        if cursor == 0 {
            earliest = None;
        }
        if let Some((last, _)) = pending.last() {
            cursor = last.saturating_add(1);
        }
        for (seq, record) in pending {
            if in_flight.contains(&seq) {
                continue;
            }
            let interrupted = recovering && record.attempts > 0 && record.last_error.is_none();
            if record.next_attempt > now && !interrupted {
                earliest =
                    Some(earliest.map_or(record.next_attempt, |e| e.min(record.next_attempt)));
                continue;
            }
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            in_flight.insert(seq);
            let engine = engine.clone();
            let deliverer = Arc::clone(&deliverer);
            let other = other.clone();
            let done = done_tx.clone();
            let health = Arc::clone(&health);
            tokio::spawn(async move {
                deliver_one(&engine, &deliverer, &health, &other, seq, record).await;
                drop(permit);
                let _ = done.send(seq);
            });
        }
        recovering = false;
        let wait = earliest.map_or(Duration::from_secs(1), |at| {
            Duration::from_secs(u64::try_from(at - now).unwrap_or(0).clamp(0, 1))
        });
        // Wake for new messages, for a slot that frees up (more may be due), at the next due
        // time, or to stop.
        tokio::select! {
            () = engine.outbox_ready.notified() => {}
            finished = done_rx.recv() => {
                if let Some(seq) = finished {
                    in_flight.remove(&seq);
                }
            }
            () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
            _ = stop.changed() => {}
        }
    }
    // Let deliveries in flight finish.
    let _ = slots
        .acquire_many(u32::try_from(CONCURRENCY).unwrap_or(1))
        .await;
    deliverer.shutdown().await;
}

async fn deliver_one(
    engine: &Engine,
    deliverer: &Deliverer,
    health: &Health,
    other: &std::path::Path,
    seq: u64,
    record: OutboxRecord,
) {
    let now = engine.clock().now();
    let message = &record.message;
    // Consent and suppression, as they are now.
    if let Some(reason) = still_wanted(engine, &record) {
        let _ = engine.report(seq, DeliveryReport::Dropped { reason }).await;
        return;
    }
    let attempt = record.attempts + 1;
    let guard = next_attempt(attempt).unwrap_or(Duration::from_secs(3600));
    let retry_at = now.saturating_add(i64::try_from(guard.as_secs()).unwrap_or(3600));
    // The attempt is on disk before the message leaves, unless delivering it again changes
    // nothing (files named after the Message-ID): then the queued message itself is the record,
    // and a crash before `Delivered` just writes the same file again.
    let repeatable = match message.channel {
        Channel::Email => deliverer.repeatable(),
        Channel::Sms | Channel::Webhook => true,
    };
    if !repeatable
        && engine
            .report(seq, DeliveryReport::Attempting { retry_at })
            .await
            .is_err()
    {
        return;
    }
    let outcome = match message.channel {
        Channel::Email => {
            let date = chrono::Utc
                .timestamp_opt(record.queued_at, 0)
                .single()
                .unwrap_or_default();
            deliverer.deliver(message, date).await
        }
        Channel::Sms | Channel::Webhook => write_other(other, &record).await,
    };
    let id = &message.message_id;
    let report = match outcome {
        // `attempt` counts the attempts recorded before this one (a repeatable delivery
        // records none).
        Outcome::Delivered => {
            health.delivered();
            DeliveryReport::Delivered {
                attempt,
                customer: record.customer.clone(),
                journey: message.journey.clone(),
                template: message.template.clone(),
                message_id: id.clone(),
            }
        }
        Outcome::Retry { reason } => {
            health.failed(id, &reason);
            match next_attempt(attempt) {
                Some(wait) => DeliveryReport::Retry {
                    attempt,
                    at: engine
                        .clock()
                        .now()
                        .saturating_add(i64::try_from(wait.as_secs()).unwrap_or(3600)),
                    reason,
                },
                None => given_up(
                    id,
                    format!("gave up after {attempt} attempts over 4 days; last answer: {reason}"),
                    false,
                ),
            }
        }
        Outcome::Permanent { reason, suppress } => {
            // The server answered: it works, it refused this message.
            health.delivered();
            given_up(id, reason, suppress)
        }
    };
    if let Err(error) = engine.report(seq, report).await {
        tracing::warn!("delivery result not recorded (it will be retried): {error}");
    }
}

/// A message given up on, logged: a dead letter, and its address suppressed if it was refused.
fn given_up(message_id: &str, reason: String, suppress: bool) -> DeliveryReport {
    let suppressed = if suppress {
        "; the address is suppressed"
    } else {
        ""
    };
    tracing::warn!("message {message_id} given up (a dead letter{suppressed}): {reason}");
    DeliveryReport::Permanent { reason, suppress }
}

/// Why a queued message should no longer go out, if so.
fn still_wanted(engine: &Engine, record: &OutboxRecord) -> Option<String> {
    let message = &record.message;
    let state = match engine.store().customer(&record.customer) {
        Ok(Some(state)) => state,
        Ok(None) => return Some("the customer was erased".to_string()),
        Err(_) => return None,
    };
    if message.category == Category::Marketing {
        let field = match message.channel {
            Channel::Email => Some("email_consent"),
            Channel::Sms => Some("sms_consent"),
            Channel::Webhook => None,
        };
        if let Some(field) = field
            && !matches!(state.profile.get(field), Some(Value::Bool(true)))
        {
            return Some(format!(
                "the customer withdrew consent (`{field}`) after it was queued"
            ));
        }
    }
    if let Some(to) = &message.to
        && engine.store().suppressed(to).unwrap_or(false)
    {
        return Some(format!(
            "{to} is suppressed after an earlier permanent failure"
        ));
    }
    None
}

async fn write_other(folder: &std::path::Path, record: &OutboxRecord) -> Outcome {
    let eml = crate::delivery::transport::file_name(&record.message.message_id);
    let name = eml.trim_end_matches(".eml");
    let path = folder.join(format!("{name}.json"));
    let body = serde_json::to_vec_pretty(&serde_json::json!({
        "customer": record.customer,
        "message": record.message,
    }))
    .unwrap_or_default();
    let temp = folder.join(format!(".{name}.tmp"));
    let written = async {
        tokio::fs::create_dir_all(folder).await?;
        tokio::fs::write(&temp, &body).await?;
        tokio::fs::rename(&temp, &path).await
    }
    .await;
    match written {
        Ok(()) => Outcome::Delivered,
        Err(error) => Outcome::Retry {
            reason: format!("cannot write `{}`: {error}", path.display()),
        },
    }
}
