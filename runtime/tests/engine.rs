//! The durable engine without HTTP: the writer thread over a memory store, on a clock the test
//! moves by hand. Here: a restart after downtime fires every timer that fell due meanwhile,
//! oldest first, and says how the catch-up goes.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use journey_runtime::api::{Api, Submission};
use journey_runtime::engine::{Clock, Engine};
use journey_runtime::store::Store;
use journey_runtime::vm::Event;

/// A clock the test sets.
struct Manual(AtomicI64);

impl Clock for Manual {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Collects the log lines of every thread.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const JOURNEY: &str = r#"
journey benvenuto "Benvenuto" {
  when subscribed as signup
  every time
  wait 1 hour
  send email grazie
}

template grazie: email transactional {
  subject "Grazie"
  layout none
  body """
    Ciao.
    """
}
"#;

const CUSTOMERS: usize = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_downtime_every_overdue_timer_fires_and_the_catch_up_is_reported() {
    let log = Log::default();
    let writer = log.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();
    let built = journey_compiler::build_files(
        vec![("benvenuto.journey".to_string(), JOURNEY.to_string())],
        &journey_compiler::NoImports,
    );
    assert!(!built.programs.is_empty());
    let store = Store::memory();
    let start = 1_795_000_000;
    let clock = Arc::new(Manual(AtomicI64::new(start)));
    let env = journey_runtime::scenario::environment(None, None);

    let engine = Engine::start(store.clone(), env.clone(), clock.clone()).unwrap();
    engine.deploy(built.programs.clone()).await.unwrap();
    for i in 0..CUSTOMERS {
        let profile = serde_json::json!({ "email": format!("c{i}@example.it") });
        engine
            .upsert_profile(format!("c{i:05}"), profile.as_object().unwrap().clone())
            .await
            .unwrap();
    }
    for chunk in (0..CUSTOMERS).collect::<Vec<_>>().chunks(500) {
        let events = chunk
            .iter()
            .map(|i| Submission {
                customer: format!("c{i:05}"),
                event: Event {
                    id: format!("e{i}"),
                    name: "subscribed".to_string(),
                    at: start,
                    data: serde_json::json!({}),
                },
                key: format!("e{i}"),
            })
            .collect();
        engine.submit(events).await.unwrap();
    }
    // Every request answered was taken off the count of those waiting.
    assert!(
        engine
            .metrics()
            .render()
            .contains("\njourney_requests_waiting 0\n")
    );
    engine.shutdown();
    assert_eq!(store.count_due(start + 3600).unwrap(), CUSTOMERS as u64);
    assert!(store.outbox(0, CUSTOMERS).unwrap().is_empty());

    // Down for a day; then a restart.
    clock.0.store(start + 86_400, Ordering::SeqCst);
    let engine = Engine::start(store.clone(), env, clock.clone()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.outbox(0, CUSTOMERS + 1).unwrap().len() < CUSTOMERS {
        assert!(
            std::time::Instant::now() < deadline,
            "not every overdue timer fired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    engine.shutdown();
    assert_eq!(store.count_due(start + 86_400).unwrap(), 0);
    assert_eq!(store.outbox(0, CUSTOMERS + 1).unwrap().len(), CUSTOMERS);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains(&format!(
            "catching up: {CUSTOMERS} timers fell due while the runtime was down (the oldest 82800 s ago)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("caught up: {CUSTOMERS} overdue timers fired in")),
        "{text}"
    );
}

/// One event for customer `c1`, as the ingest submits it.
fn subscribed(id: &str, at: i64) -> Submission {
    Submission {
        customer: "c1".to_string(),
        event: Event {
            id: id.to_string(),
            name: "subscribed".to_string(),
            at,
            data: serde_json::json!({}),
        },
        key: id.to_string(),
    }
}

/// A writer over a memory store with `JOURNEY` deployed, on a clock the test sets (at
/// 1,795,000,000), driven round by round on the test's thread.
fn deployed_writer() -> (journey_runtime::engine::Writer, Store, Arc<Manual>) {
    deployed_writer_of(JOURNEY)
}

/// As [`deployed_writer`], with `source` deployed.
fn deployed_writer_of(source: &str) -> (journey_runtime::engine::Writer, Store, Arc<Manual>) {
    let (writer, store, clock, _) = deployed_writer_sharing(source);
    (writer, store, clock)
}

/// As [`deployed_writer_of`], with the writer's shared view (its counters, requests waiting).
fn deployed_writer_sharing(
    source: &str,
) -> (
    journey_runtime::engine::Writer,
    Store,
    Arc<Manual>,
    Arc<journey_runtime::engine::Shared>,
) {
    deployed_writer_over(source, Store::memory())
}

/// [`deployed_writer_sharing`] over `store`.
fn deployed_writer_over(
    source: &str,
    store: Store,
) -> (
    journey_runtime::engine::Writer,
    Store,
    Arc<Manual>,
    Arc<journey_runtime::engine::Shared>,
) {
    use journey_runtime::engine::{Request, Shared, Writer};

    let built = journey_compiler::build_files(
        vec![("benvenuto.journey".to_string(), source.to_string())],
        &journey_compiler::NoImports,
    );
    assert!(
        !built.programs.is_empty(),
        "{:?}",
        built.checked.diagnostics
    );
    let clock = Arc::new(Manual(AtomicI64::new(1_795_000_000)));
    let shared = Arc::new(Shared::new(journey_runtime::vm::Library::new()));
    let mut writer = Writer::new(
        store.clone(),
        journey_runtime::scenario::environment(None, None),
        clock.clone(),
        shared.clone(),
    )
    .unwrap();
    let (deployed, _) = tokio::sync::oneshot::channel();
    writer.round(vec![Request::Deploy(built.programs, deployed)]);
    (writer, store, clock, shared)
}

#[test]
fn an_event_after_an_erasure_in_the_same_round_starts_a_new_customer() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    let (mut writer, store, clock) = deployed_writer();
    let (first, _) = oneshot::channel();
    writer.round(vec![Request::Events(
        vec![subscribed("e1", 1_795_000_000)],
        first,
    )]);
    let before = store.customer("c1").unwrap().unwrap();
    assert_eq!(before.journeys["benvenuto"].instances.len(), 1);
    // Erased, and a new event for the same id, in one round, 100 s later.
    clock.0.store(1_795_000_100, Ordering::SeqCst);
    let (erased, _) = oneshot::channel();
    let (second, _) = oneshot::channel();
    writer.round(vec![
        Request::Erase("c1".to_string(), erased),
        Request::Events(vec![subscribed("e2", 1_795_000_100)], second),
    ]);
    let after = store.customer("c1").unwrap().unwrap();
    let membership = &after.journeys["benvenuto"];
    assert_eq!(
        membership.instances.len(),
        1,
        "the erased customer came back: {after:?}"
    );
    assert_eq!(membership.entries, 1);
    // The erased instance's timer went with it: only the new one's is left.
    let timers = store.due_timers(i64::MAX, 10).unwrap();
    assert_eq!(timers.len(), 1, "{timers:?}");
    assert_eq!(timers[0].at, 1_795_000_100 + 3_600);
}

#[test]
fn a_waiting_customer_erased_leaves_no_timer_and_a_timer_left_for_nobody_brings_nobody_back() {
    use journey_runtime::engine::Request;
    use journey_runtime::store::Batch;
    use journey_runtime::vm::TimerId;
    use tokio::sync::oneshot;

    let (mut writer, store, clock) = deployed_writer();
    let (first, _) = oneshot::channel();
    writer.round(vec![Request::Events(
        vec![subscribed("e1", 1_795_000_000)],
        first,
    )]);
    let timers = store.due_timers(i64::MAX, 10).unwrap();
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].at, 1_795_003_600, "the wait's end: {timers:?}");
    let (erased, _) = oneshot::channel();
    writer.round(vec![Request::Erase("c1".to_string(), erased)]);
    assert!(store.due_timers(i64::MAX, 10).unwrap().is_empty());
    assert_eq!(store.customer("c1").unwrap(), None);
    // A timer in the index for a customer the store does not have (as an erasure by an older
    // version could leave): it goes when due, and no customer appears.
    let mut batch = Batch::new();
    let ghost = TimerId::Wake {
        journey: "benvenuto".to_string(),
        instance: 0,
        seq: 1,
    };
    batch.set_timer("ghost", &ghost, 1_795_000_500, None);
    store.apply(batch).unwrap();
    clock.0.store(1_795_001_000, Ordering::SeqCst);
    writer.round(Vec::new());
    assert!(store.due_timers(i64::MAX, 10).unwrap().is_empty());
    assert_eq!(store.customer("ghost").unwrap(), None);
    assert!(store.customer_ids(None, 10).unwrap().is_empty());
}

#[test]
fn the_timer_reverse_index_of_an_older_version_is_dropped_at_start() {
    use journey_runtime::engine::{Shared, Writer};
    use journey_runtime::store::{Backend, Memory};

    let backend = Arc::new(Memory::new());
    let mut old: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..70_000)
        .map(|n| (format!("rc{n}\0wbenvenuto").into_bytes(), Some(vec![0; 8])))
        .collect();
    old.push((b"cc1".to_vec(), Some(b"\x02c1".to_vec())));
    backend.apply(old).unwrap();
    let store = Store::open(backend.clone()).unwrap();
    let shared = Arc::new(Shared::new(journey_runtime::vm::Library::new()));
    let clock = Arc::new(Manual(AtomicI64::new(1_795_000_000)));
    Writer::new(
        store,
        journey_runtime::scenario::environment(None, None),
        clock,
        shared,
    )
    .unwrap();
    assert!(backend.scan(b"r", b"r", None, 10).unwrap().is_empty());
    assert_eq!(
        backend.scan(b"c", b"c", None, 10).unwrap().len(),
        1,
        "the rest stays"
    );
}

#[test]
fn each_step_keeps_one_audit_record_read_back_entry_by_entry_and_erasure_anonymises_it() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    let (mut writer, store, clock) = deployed_writer();
    let (first, _) = oneshot::channel();
    writer.round(vec![Request::Events(
        vec![subscribed("e1", 1_795_000_000)],
        first,
    )]);
    let records = store.audit_records("c1").unwrap();
    assert_eq!(records.len(), 1, "one step, one record");
    let entered = store.audit("c1", 100).unwrap();
    assert_eq!(entered.len(), 1, "{entered:?}");
    assert_eq!(entered[0]["at"], "2026-11-18T11:06:40+00:00");
    assert_eq!(entered[0]["entry"]["kind"], "entered");
    // An hour later the timer fires and the message is queued: a second record.
    clock.0.store(1_795_003_600, Ordering::SeqCst);
    writer.round(Vec::new());
    assert_eq!(store.audit_records("c1").unwrap().len(), 2);
    let all = store.audit("c1", 100).unwrap();
    assert!(
        all.len() >= 3,
        "the step's decisions in one record: {all:?}"
    );
    assert!(
        all[1..]
            .iter()
            .all(|e| e["at"] == "2026-11-18T12:06:40+00:00")
    );
    assert_eq!(all[..entered.len()], entered[..]);
    // No email address: the send is skipped, then the journey ends.
    assert_eq!(all[1]["entry"]["kind"], "skipped", "{all:?}");
    assert_eq!(all[2]["entry"]["kind"], "left", "{all:?}");
    // The last entries, across records.
    assert_eq!(store.audit("c1", 1).unwrap()[..], all[all.len() - 1..]);
    // Erased: the records move to `(erased)`, without the person.
    let (erased, _) = oneshot::channel();
    writer.round(vec![Request::Erase("c1".to_string(), erased)]);
    assert!(store.audit_records("c1").unwrap().is_empty());
    let kept = store.audit("(erased)", 100).unwrap();
    assert_eq!(kept.len(), all.len());
    for (entry, before) in kept.iter().zip(&all) {
        assert_eq!(entry["at"], before["at"]);
        assert_eq!(entry["entry"]["kind"], before["entry"]["kind"]);
        if before["entry"]["why"].is_string() {
            assert_eq!(entry["entry"]["why"], "(erased)", "{entry:?}");
        }
    }
}

#[test]
fn a_delivered_report_settles_the_message_once_and_logs_it_without_reading_it() {
    use journey_runtime::engine::{DeliveryReport, Request};
    use tokio::sync::oneshot;

    let (mut writer, store, clock) = deployed_writer();
    let (profile, _) = oneshot::channel();
    let mut attributes = serde_json::Map::new();
    attributes.insert("email".into(), "giulia@example.it".into());
    writer.round(vec![
        Request::Profile("c1".to_string(), attributes, profile),
        Request::Events(vec![subscribed("e1", 1_795_000_000)], oneshot::channel().0),
    ]);
    clock.0.store(1_795_003_600, Ordering::SeqCst);
    writer.round(Vec::new());
    let queued = store.outbox(0, 10).unwrap();
    assert_eq!(queued.len(), 1, "the wait ended and the email is queued");
    let (seq, record) = &queued[0];
    let report = || DeliveryReport::Delivered {
        attempt: 1,
        customer: record.customer.clone(),
        journey: record.message.journey.clone(),
        template: record.message.template.clone(),
        message_id: record.message.message_id.clone(),
    };
    writer.round(vec![Request::Delivery(
        *seq,
        report(),
        oneshot::channel().0,
    )]);
    assert!(store.outbox(0, 10).unwrap().is_empty());
    let delivered = |store: &Store| -> Vec<serde_json::Value> {
        store
            .audit("c1", 100)
            .unwrap()
            .into_iter()
            .filter(|e| e["entry"]["effect"] == "delivered")
            .collect()
    };
    let entries = delivered(&store);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["entry"]["message_id"], record.message.message_id);
    assert_eq!(entries[0]["entry"]["attempts"], 1);
    assert_eq!(entries[0]["entry"]["journey"], record.message.journey);
    assert_eq!(entries[0]["entry"]["template"], record.message.template);
    // The same report again (a retried report after a crash): nothing more.
    writer.round(vec![Request::Delivery(
        *seq,
        report(),
        oneshot::channel().0,
    )]);
    assert_eq!(delivered(&store).len(), 1);
}

#[test]
fn an_erasure_after_a_step_in_the_same_round_anonymises_its_record_and_drops_its_message() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    // The email goes out at once: the step queues it in the same round as the erasure.
    let at_once = JOURNEY.replace("  wait 1 hour\n", "");
    let (mut writer, store, _) = deployed_writer_of(&at_once);
    let mut attributes = serde_json::Map::new();
    attributes.insert("email".into(), "giulia@example.it".into());
    writer.round(vec![Request::Profile(
        "c1".to_string(),
        attributes,
        oneshot::channel().0,
    )]);
    let profile_records = store.audit_records("c1").unwrap().len();
    writer.round(vec![
        Request::Events(vec![subscribed("e1", 1_795_000_000)], oneshot::channel().0),
        Request::Erase("c1".to_string(), oneshot::channel().0),
    ]);
    assert_eq!(store.customer("c1").unwrap(), None);
    assert!(
        store.audit_records("c1").unwrap().is_empty(),
        "the step's record stayed under the person's id: {:?}",
        store.audit("c1", 100).unwrap()
    );
    assert!(
        store.outbox(0, 10).unwrap().is_empty(),
        "the message queued for the erased customer would still go out"
    );
    let kept = store.audit("(erased)", 100).unwrap();
    let text = serde_json::to_string(&kept).unwrap();
    assert!(
        kept.iter().any(|e| e["entry"]["effect"] == "queued"),
        "the step's decisions are kept, anonymised: {kept:?}"
    );
    assert!(!text.contains("giulia@example.it"), "{text}");
    assert!(
        store.audit_records("(erased)").unwrap().len() > profile_records,
        "{kept:?}"
    );
}

/// The counts of customers per standing the store keeps, as a map.
fn kept_standings(store: &Store) -> std::collections::HashMap<journey_runtime::vm::Standing, u64> {
    store
        .standings()
        .unwrap()
        .expect("the writer keeps the counts")
        .into_iter()
        .collect()
}

/// `subscribed` for any customer.
fn subscribed_by(customer: &str, id: &str, at: i64) -> Submission {
    Submission {
        customer: customer.to_string(),
        ..subscribed(id, at)
    }
}

#[test]
fn the_counts_of_customers_per_step_follow_every_step_erasure_and_deploy() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    let (mut writer, store, clock) = deployed_writer();
    let check = |store: &Store, when: &str| {
        let counted = store.count_standings().unwrap();
        let kept = kept_standings(store);
        let differ: Vec<_> = kept
            .iter()
            .filter(|(s, n)| counted.get(*s) != Some(*n))
            .map(|(s, n)| (s.pc, s.sleeping, *n, counted.get(s).copied()))
            .collect();
        assert_eq!(
            kept, counted,
            "{when}: (pc, sleeping, kept, counted) {differ:?}"
        );
        counted.values().sum::<u64>()
    };
    assert_eq!(check(&store, "empty"), 0);
    let start = 1_795_000_000;
    let events = (0..40)
        .map(|n| subscribed_by(&format!("c{n}"), &format!("a{n}"), start))
        .collect();
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    assert_eq!(check(&store, "40 entered"), 40);
    // Entering twice (`every time`), erasing, an event then an erasure and an erasure then an
    // event in one round.
    clock.0.store(start + 600, Ordering::SeqCst);
    writer.round(vec![
        Request::Events(
            vec![subscribed_by("c0", "b0", start + 600)],
            oneshot::channel().0,
        ),
        Request::Erase("c1".to_string(), oneshot::channel().0),
        Request::Events(
            vec![subscribed_by("c2", "b2", start + 600)],
            oneshot::channel().0,
        ),
        Request::Erase("c2".to_string(), oneshot::channel().0),
        Request::Erase("c3".to_string(), oneshot::channel().0),
        Request::Events(
            vec![subscribed_by("c3", "b3", start + 600)],
            oneshot::channel().0,
        ),
        Request::Erase("nobody".to_string(), oneshot::channel().0),
    ]);
    // c0 twice, c1 and c2 gone, c3 afresh.
    assert_eq!(check(&store, "after erasures"), 40 + 1 - 2);
    // A new version: customers already in stay on theirs, new ones take it.
    let built = journey_compiler::build_files(
        vec![(
            "benvenuto.journey".to_string(),
            JOURNEY.replace("wait 1 hour", "wait 2 hours"),
        )],
        &journey_compiler::NoImports,
    );
    writer.round(vec![Request::Deploy(built.programs, oneshot::channel().0)]);
    let events = (40..50)
        .map(|n| subscribed_by(&format!("c{n}"), &format!("a{n}"), start + 600))
        .collect();
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    let versions: std::collections::HashSet<_> =
        kept_standings(&store).keys().map(|s| s.version).collect();
    assert_eq!(versions.len(), 2, "two versions have customers");
    assert_eq!(check(&store, "after the deploy"), 49);
    // The first version's waits end: those instances leave (no email address: skipped).
    clock.0.store(start + 3_600, Ordering::SeqCst);
    writer.round(Vec::new());
    // c0's first instance and c4 to c39: the others entered 600 s later or wait 2 hours.
    assert_eq!(check(&store, "first waits over"), 49 - 37);
    clock.0.store(start + 4_200, Ordering::SeqCst);
    writer.round(Vec::new());
    clock.0.store(start + 600 + 7_200, Ordering::SeqCst);
    writer.round(Vec::new());
    assert_eq!(check(&store, "all over"), 0);
    assert!(
        kept_standings(&store).is_empty(),
        "a count that falls to nothing goes"
    );
}

#[test]
fn a_store_written_before_the_counts_were_kept_is_counted_once_at_start() {
    use journey_runtime::engine::{Request, Shared, Writer};
    use journey_runtime::store::{Backend, Memory};
    use tokio::sync::oneshot;

    let built = journey_compiler::build_files(
        vec![("benvenuto.journey".to_string(), JOURNEY.to_string())],
        &journey_compiler::NoImports,
    );
    let backend = Arc::new(Memory::new());
    let start_writer = |backend: &Arc<Memory>| {
        let store = Store::open(backend.clone()).unwrap();
        let shared = Arc::new(Shared::new(journey_runtime::vm::Library::new()));
        let clock = Arc::new(Manual(AtomicI64::new(1_795_000_000)));
        let writer = Writer::new(
            store.clone(),
            journey_runtime::scenario::environment(None, None),
            clock,
            shared,
        )
        .unwrap();
        (writer, store)
    };
    let (mut writer, store) = start_writer(&backend);
    writer.round(vec![Request::Deploy(built.programs, oneshot::channel().0)]);
    let events = (0..30)
        .map(|n| subscribed_by(&format!("c{n}"), &format!("a{n}"), 1_795_000_000))
        .collect();
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    let kept = kept_standings(&store);
    assert_eq!(kept.values().sum::<u64>(), 30);
    // As an older version left it: no counts, no mark.
    let mut older: Vec<(Vec<u8>, Option<Vec<u8>>)> = backend
        .scan(b"n", b"n", None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(key, _)| (key, None))
        .collect();
    older.push((b"mstandings".to_vec(), None));
    backend.apply(older).unwrap();
    drop(writer);
    let reopened = Store::open(backend.clone()).unwrap();
    assert_eq!(reopened.standings().unwrap(), None);
    let (writer, store) = start_writer(&backend);
    assert_eq!(kept_standings(&store), kept, "counted from the customers");
    // Damaged counts (a value cut short, a key that is no standing) are counted again too.
    drop(writer);
    let mut damaged: Vec<(Vec<u8>, Option<Vec<u8>>)> = backend
        .scan(b"n", b"n", None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(key, _)| (key, Some(vec![1, 2, 3])))
        .collect();
    damaged.push((b"nshort".to_vec(), Some(vec![0; 8])));
    backend.apply(damaged).unwrap();
    let error = Store::open(backend.clone())
        .unwrap()
        .standings()
        .unwrap_err();
    assert!(
        error.message.contains("customers per step") && error.message.contains("damaged"),
        "{error:?}"
    );
    let (_, store) = start_writer(&backend);
    assert_eq!(kept_standings(&store), kept, "counted again");
    assert!(backend.get(b"nshort").unwrap().is_none());
}

/// A memory backend that counts the customer states written, and those read by scans.
#[derive(Default)]
struct CountingStates {
    inner: journey_runtime::store::Memory,
    written: std::sync::atomic::AtomicUsize,
    scanned: std::sync::atomic::AtomicUsize,
}

impl journey_runtime::store::Backend for CountingStates {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, journey_runtime::store::Error> {
        self.inner.get(key)
    }

    fn scan(
        &self,
        prefix: &[u8],
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<journey_runtime::store::Pairs, journey_runtime::store::Error> {
        let pairs = self.inner.scan(prefix, start, end, limit)?;
        if prefix == b"c" {
            self.scanned.fetch_add(pairs.len(), Ordering::SeqCst);
        }
        Ok(pairs)
    }

    fn apply(
        &self,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), journey_runtime::store::Error> {
        let states = writes
            .iter()
            .filter(|(key, value)| key.first() == Some(&b'c') && value.is_some())
            .count();
        self.written.fetch_add(states, Ordering::SeqCst);
        self.inner.apply(writes)
    }

    fn sync(&self) -> Result<(), journey_runtime::store::Error> {
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        0
    }
}

/// Runs one round of `writer`: how many customers it read from `backend` by scans (a sweep's
/// reads).
fn customers_read_by_a_round(
    writer: &mut journey_runtime::engine::Writer,
    backend: &CountingStates,
) -> usize {
    let before = backend.scanned.load(Ordering::SeqCst);
    writer.round(Vec::new());
    backend.scanned.load(Ordering::SeqCst) - before
}

/// A journey file with [`JOURNEY`] and a schedule asking every customer at 10:00 UTC (and
/// sending to none: nobody has 1,000 orders).
fn with_morning_schedule() -> String {
    format!(
        "{JOURNEY}\njourney fedeli \"Fedeli\" {{\n  when schedule \"0 10 * * *\" in \"UTC\" for customers\n    where (customer.orders_count ?? 0) > 1000\n  send email grazie\n}}\n"
    )
}

#[test]
fn a_schedule_asks_every_customer_but_rewrites_none_it_leaves_as_they_were() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    let backend = Arc::new(CountingStates::default());
    let (mut writer, store, clock, shared) = deployed_writer_over(
        &with_morning_schedule(),
        Store::open(backend.clone()).unwrap(),
    );
    let deployed = shared.library.lock().unwrap().current_programs().count();
    assert_eq!(deployed, 2, "both journeys deployed");
    let start = 1_795_000_000; // 2026-11-18 11:06:40 UTC
    let events = (0..30)
        .map(|n| subscribed_by(&format!("c{n}"), &format!("a{n}"), start))
        .collect();
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    // The waits end: every customer changes, and is written.
    clock.0.store(start + 7_200, Ordering::SeqCst);
    let written = || backend.written.load(Ordering::SeqCst);
    let before = written();
    writer.round(Vec::new());
    assert_eq!(written() - before, 30);
    // The next morning at 10:00 the schedule asks all 30; none has 1,000 orders.
    let (steps_before, before) = (vm_steps(&shared), written());
    clock.0.store(1_795_082_400 + 1, Ordering::SeqCst);
    writer.round(Vec::new());
    assert_eq!(
        vm_steps(&shared) - steps_before,
        30.0,
        "every customer asked"
    );
    assert_eq!(written() - before, 0, "no customer rewritten");
    assert_eq!(store.customer_ids(None, 100).unwrap().len(), 30);
}

/// The VM steps the writer of `shared` has counted.
fn vm_steps(shared: &journey_runtime::engine::Shared) -> f64 {
    shared
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("journey_vm_steps_total "))
        .map(|v| v.parse::<f64>().unwrap())
        .unwrap()
}

/// A request putting `customer`'s email address (`customer@example.it`), answered to nobody.
fn profile_with_email(customer: &str) -> journey_runtime::engine::Request {
    let email = serde_json::json!({ "email": format!("{customer}@example.it") });
    journey_runtime::engine::Request::Profile(
        customer.to_string(),
        email.as_object().unwrap().clone(),
        tokio::sync::oneshot::channel().0,
    )
}

#[test]
fn a_burst_of_timers_sends_one_message_each_in_the_order_they_fell_due() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    // Hundreds of customers due in one round, three of them concerned by the round otherwise.
    const BURST: usize = 600;
    let (mut writer, store, clock) = deployed_writer();
    let start = 1_795_000_000;
    let name = |n: usize| format!("c{n:03}");
    writer.round((0..BURST).map(|n| profile_with_email(&name(n))).collect());
    let mut events: Vec<Submission> = (0..BURST)
        .map(|n| subscribed_by(&name(n), &format!("a{n}"), start))
        .collect();
    // c000 enters twice (`every time`): two timers due at once, stepped in turn.
    events.push(subscribed_by(&name(0), "again", start));
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    assert_eq!(store.count_due(start + 3_600).unwrap(), BURST as u64 + 1);

    // The waits end. In the same round c001 is erased (its timer goes with it) and c002 enters
    // again (a new timer, an hour on); the round fires them all, however long it takes.
    clock.0.store(start + 3_600, Ordering::SeqCst);
    writer.set_round_budget(std::time::Duration::MAX);
    writer.round(vec![
        Request::Erase(name(1), oneshot::channel().0),
        Request::Events(
            vec![subscribed_by(&name(2), "b2", start + 3_600)],
            oneshot::channel().0,
        ),
    ]);
    let outbox = store.outbox(0, 2 * BURST).unwrap();
    let mut expected: Vec<String> = (0..BURST).filter(|n| *n != 1).map(name).collect();
    expected.insert(0, name(0));
    let queued: Vec<String> = outbox.iter().map(|(_, r)| r.customer.clone()).collect();
    assert_eq!(
        queued, expected,
        "one message each, in the order the timers fell due"
    );
    for customer in [name(0), name(3), name(300), name(599)] {
        let log = store.audit(&customer, 100).unwrap();
        let queued = log
            .iter()
            .filter(|e| e["entry"]["effect"] == "queued")
            .count();
        let expected = if customer == name(0) { 2 } else { 1 };
        assert_eq!(queued, expected, "{customer}: {log:?}");
    }
    assert!(
        store
            .audit(&name(1), 100)
            .unwrap()
            .iter()
            .all(|e| e["entry"]["effect"] != "queued")
    );
    // Only c002's second entry still waits; the counts per step agree with the store.
    assert_eq!(store.count_due(start + 7_200).unwrap(), 1);
    assert_eq!(kept_standings(&store), store.count_standings().unwrap());
    assert_eq!(kept_standings(&store).values().sum::<u64>(), 1);
}

#[test]
fn while_a_shop_waits_a_burst_fires_in_short_rounds_and_loses_no_timer() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    const BURST: usize = 100;
    let (mut writer, store, clock, shared) = deployed_writer_sharing(JOURNEY);
    let start = 1_795_000_000;
    let name = |n: usize| format!("c{n:03}");
    writer.round((0..BURST).map(|n| profile_with_email(&name(n))).collect());
    let events = (0..BURST)
        .map(|n| subscribed_by(&name(n), &format!("a{n}"), start))
        .collect();
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    clock.0.store(start + 3_600, Ordering::SeqCst);
    let queued = || store.outbox(0, 2 * BURST).unwrap().len();

    // A request from outside waits and the round's budget is spent at once: the round fires
    // only its minimum, and each next one goes on where it stopped.
    writer.set_round_budget(std::time::Duration::ZERO);
    let waiting = Request::Profile(
        "shop".to_string(),
        serde_json::Map::new(),
        oneshot::channel().0,
    );
    shared.sending(&waiting);
    writer.round(Vec::new());
    let first = queued();
    assert!(first > 0 && first < BURST, "a short round fired {first}");
    writer.round(Vec::new());
    assert_eq!(queued(), 2 * first, "the next round goes on");
    // Nothing waits any more, but a round carrying a request answers it only once committed:
    // it is short too.
    shared
        .metrics
        .requests_waiting
        .store(0, std::sync::atomic::Ordering::Relaxed);
    writer.round(vec![profile_with_email("shop")]);
    assert_eq!(queued(), 3 * first, "a round carrying a request is short");
    // With neither, the next round fires the rest at once.
    writer.round(Vec::new());
    let outbox = store.outbox(0, 2 * BURST).unwrap();
    let customers: Vec<String> = outbox.iter().map(|(_, r)| r.customer.clone()).collect();
    assert_eq!(
        customers,
        (0..BURST).map(name).collect::<Vec<_>>(),
        "one message each, in the order the timers fell due"
    );
    assert_eq!(store.count_due(start + 7_200).unwrap(), 0);
}

#[test]
fn a_schedule_cut_short_by_waiting_requests_asks_every_customer_once() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    // More customers than the sweep reads at a time (64), fewer than a round asks (2,048).
    const CUSTOMERS: usize = 150;
    let backend = Arc::new(CountingStates::default());
    let (mut writer, store, clock, shared) = deployed_writer_over(
        &with_morning_schedule(),
        Store::open(backend.clone()).unwrap(),
    );
    let start = 1_795_000_000; // 2026-11-18 11:06:40 UTC
    let events = (0..CUSTOMERS)
        .map(|n| subscribed_by(&format!("c{n:03}"), &format!("a{n}"), start))
        .collect();
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    clock.0.store(start + 7_200, Ordering::SeqCst);
    writer.round(Vec::new());
    // The next morning at 10:00 the schedule asks every customer, a few per round while a
    // request from outside waits, reading only a few more than it asks.
    writer.set_round_budget(std::time::Duration::ZERO);
    shared.sending(&Request::Erase("shop".to_string(), oneshot::channel().0));
    let before = vm_steps(&shared);
    clock.0.store(1_795_082_400 + 1, Ordering::SeqCst);
    let read = customers_read_by_a_round(&mut writer, &backend);
    let first = vm_steps(&shared) - before;
    assert!(first > 0.0 && first < 64.0, "a short round asked {first}");
    assert!(
        read <= 64,
        "a short round read {read} customers to ask {first}"
    );
    for _ in 0..20 {
        writer.round(Vec::new());
    }
    assert_eq!(
        vm_steps(&shared) - before,
        CUSTOMERS as f64,
        "every customer asked once"
    );
    assert_eq!(store.customer_ids(None, 1_000).unwrap().len(), CUSTOMERS);
}

#[test]
fn a_migration_cut_short_by_waiting_requests_moves_every_customer() {
    use journey_runtime::engine::Request;
    use tokio::sync::oneshot;

    const CUSTOMERS: usize = 150;
    let v1 = JOURNEY.replace("  wait 1 hour", "  step waiting: wait 1 hour");
    let backend = Arc::new(CountingStates::default());
    let (mut writer, store, _clock, shared) =
        deployed_writer_over(&v1, Store::open(backend.clone()).unwrap());
    let start = 1_795_000_000;
    let events = (0..CUSTOMERS)
        .map(|n| subscribed_by(&format!("c{n:03}"), &format!("a{n}"), start))
        .collect();
    writer.round(vec![Request::Events(events, oneshot::channel().0)]);
    let waiting = |store: &Store| kept_standings(store).values().sum::<u64>();
    assert_eq!(waiting(&store), CUSTOMERS as u64);
    // Version 2 moves whoever waits at `waiting` to its `thanks` step (which sends the email,
    // skipped for want of an address, and ends). Deployed while a request waits: short rounds.
    let v2 = JOURNEY.replace(
        "  wait 1 hour\n  send email grazie",
        "  migrate {\n    waiting -> thanks\n  }\n  wait 1 hour\n  step thanks: send email grazie",
    );
    let built = journey_compiler::build_files(
        vec![("benvenuto.journey".to_string(), v2)],
        &journey_compiler::NoImports,
    );
    assert!(
        !built.programs.is_empty(),
        "{:?}",
        built.checked.diagnostics
    );
    writer.set_round_budget(std::time::Duration::ZERO);
    shared.sending(&Request::Erase("shop".to_string(), oneshot::channel().0));
    writer.round(vec![Request::Deploy(built.programs, oneshot::channel().0)]);
    // The sweep starts in the round after the deploy's.
    assert_eq!(waiting(&store), CUSTOMERS as u64);
    let read = customers_read_by_a_round(&mut writer, &backend);
    let moved = CUSTOMERS as u64 - waiting(&store);
    assert!(moved > 0 && moved < 64, "a short round moved {moved}");
    assert!(
        read <= 64,
        "a short round read {read} customers to move {moved}"
    );
    for _ in 0..20 {
        writer.round(Vec::new());
    }
    assert_eq!(waiting(&store), 0, "every customer moved, none left behind");
    assert_eq!(kept_standings(&store), store.count_standings().unwrap());
}
