//! The store's backends agree: random sequences of batches (customers, timers set, replaced and
//! cancelled, outbox messages, processed event keys) applied to the memory and the sled backend
//! read back the same; what sled synced is there after reopening the folder; a new folder is
//! compressed, and one made without compression (by an earlier version) still opens.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::sync::Arc;

use journey_compiler::bytecode::{Category, Channel};
use journey_runtime::store::{Batch, Memory, OutboxRecord, Sled, Store, sled_compression};
use journey_runtime::vm::{CustomerState, Message, TimerId};
use proptest::prelude::*;

fn temp(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "journey-store-test-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn message(n: u64) -> Message {
    Message {
        message_id: format!("<{n}@test>"),
        journey: "j".into(),
        instance: 0,
        step: "send".into(),
        template: "t".into(),
        channel: Channel::Email,
        category: Category::Transactional,
        to: Some("a@example.it".into()),
        subject: Some(format!("s{n}")),
        preheader: None,
        text: "x".into(),
        html: None,
        unsubscribe_url: None,
        coupons: Vec::new(),
    }
}

#[derive(Clone, Debug)]
enum Op {
    Customer(u8, i64),
    SetTimer(u8, u8, i64),
    CancelTimer(u8, u8),
    Outbox(u8),
    DeleteOutbox(u8),
    Processed(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..5, any::<i64>()).prop_map(|(c, p)| Op::Customer(c, p)),
        (0u8..5, 0u8..3, -1000i64..1000).prop_map(|(c, t, at)| Op::SetTimer(c, t, at)),
        (0u8..5, 0u8..3).prop_map(|(c, t)| Op::CancelTimer(c, t)),
        (0u8..20).prop_map(Op::Outbox),
        (0u8..20).prop_map(Op::DeleteOutbox),
        (0u8..20).prop_map(Op::Processed),
    ]
}

fn timer(t: u8) -> TimerId {
    if t == 2 {
        TimerId::Anniversary {
            journey: "birthday".into(),
        }
    } else {
        TimerId::Wake {
            journey: "j".into(),
            instance: u32::from(t),
            seq: 1,
        }
    }
}

fn apply(store: &Store, ops: &[Op]) {
    let mut batch = Batch::new();
    for op in ops {
        match op {
            Op::Customer(c, points) => {
                let mut state = CustomerState::new(&format!("c{c}"));
                state.marketing_sends.push(*points);
                batch.put_customer(&state);
            }
            Op::SetTimer(c, t, at) => {
                let customer = format!("c{c}");
                let previous = store.timer_at(&customer, &timer(*t)).unwrap();
                batch.set_timer(&customer, &timer(*t), *at, previous);
                // One batch per timer change: the previous time must be read after each.
                store.apply(std::mem::take(&mut batch)).unwrap();
            }
            Op::CancelTimer(c, t) => {
                let customer = format!("c{c}");
                if let Some(at) = store.timer_at(&customer, &timer(*t)).unwrap() {
                    batch.cancel_timer(&customer, &timer(*t), at);
                    store.apply(std::mem::take(&mut batch)).unwrap();
                }
            }
            Op::Outbox(n) => batch.put_outbox(
                u64::from(*n),
                &OutboxRecord {
                    customer: "c0".into(),
                    message: message(u64::from(*n)),
                    attempts: 0,
                    next_attempt: 0,
                    last_error: None,
                    queued_at: 0,
                },
            ),
            Op::DeleteOutbox(n) => batch.delete_outbox(u64::from(*n)),
            Op::Processed(n) => batch.processed(&format!("e{n}"), 1),
        }
    }
    store.apply(batch).unwrap();
}

fn snapshot(store: &Store) -> String {
    let customers: Vec<_> = (0..5)
        .map(|c| store.customer(&format!("c{c}")).unwrap())
        .collect();
    let timers = store.due_timers(i64::MAX, 1000).unwrap();
    let outbox: Vec<u64> = store
        .outbox(0, 1000)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let processed: Vec<bool> = (0..20)
        .map(|n| store.processed(&format!("e{n}")).unwrap())
        .collect();
    format!(
        "{customers:?}\n{timers:?}\n{outbox:?}\n{processed:?}\n{:?}\n{:?}",
        store.next_wake().unwrap(),
        store.customer_ids(None, 100).unwrap()
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(32),
        ..ProptestConfig::default()
    })]

    #[test]
    fn memory_and_sled_agree(batches in prop::collection::vec(prop::collection::vec(op(), 1..8), 1..8)) {
        let memory = Store::new(Arc::new(Memory::new()));
        let dir = temp("agree");
        let sled = Store::new(Arc::new(Sled::open(&dir).unwrap()));
        for ops in &batches {
            apply(&memory, ops);
            apply(&sled, ops);
            prop_assert_eq!(snapshot(&memory), snapshot(&sled));
        }
        drop(sled);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn what_sled_synced_is_there_after_reopening() {
    let dir = temp("reopen");
    let before = {
        let store = Store::new(Arc::new(Sled::open(&dir).unwrap()));
        apply(
            &store,
            &[
                Op::Customer(1, 7),
                Op::SetTimer(1, 0, 42),
                Op::Outbox(3),
                Op::Processed(9),
            ],
        );
        store.sync().unwrap();
        snapshot(&store)
    };
    let store = Store::new(Arc::new(Sled::open(&dir).unwrap()));
    assert_eq!(snapshot(&store), before);
    assert!(store.processed("e9").unwrap());
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_second_process_cannot_open_the_same_folder() {
    let dir = temp("locked");
    let first = Sled::open(&dir).unwrap();
    // sled takes a file lock; within one process a second open of the same folder fails too.
    let second = Sled::open(&dir);
    assert!(second.is_err());
    let message = second.err().unwrap().message;
    assert!(
        message.contains("is another `journey run` using it?"),
        "{message}"
    );
    drop(first);
    let _ = std::fs::remove_dir_all(dir);
}

/// Writes some of everything, syncs, and returns what the store reads back.
fn fill(store: &Store) -> String {
    apply(
        store,
        &[
            Op::Customer(1, 7),
            Op::Customer(2, 3),
            Op::SetTimer(1, 0, 42),
            Op::Outbox(3),
            Op::Processed(9),
        ],
    );
    store.sync().unwrap();
    snapshot(store)
}

#[test]
fn a_new_folder_asked_to_compress_is_compressed_and_stays_so() {
    let dir = temp("compressed");
    let before = {
        let sled = Sled::open_with(&dir, true).unwrap();
        assert!(sled.compressed());
        fill(&Store::new(Arc::new(sled)))
    };
    assert_eq!(sled_compression(&dir.join("db")).unwrap(), Some(true));
    // Asking for no compression does not change a folder made with it.
    let sled = Sled::open_with(&dir, false).unwrap();
    assert!(sled.compressed());
    assert_eq!(snapshot(&Store::new(Arc::new(sled))), before);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_folder_made_without_compression_still_opens_and_keeps_its_data() {
    let dir = temp("uncompressed");
    // What versions before compression made: sled's defaults, no compression.
    {
        let old = sled::Config::new().path(dir.join("db")).open().unwrap();
        old.insert(b"c-old", b"written by an earlier version".to_vec())
            .unwrap();
        old.flush().unwrap();
    }
    assert_eq!(sled_compression(&dir.join("db")).unwrap(), Some(false));
    let before = {
        let sled = Sled::open(&dir).unwrap();
        assert!(!sled.compressed(), "the folder keeps its setting");
        assert_eq!(
            journey_runtime::store::Backend::get(&sled, b"c-old").unwrap(),
            Some(b"written by an earlier version".to_vec())
        );
        fill(&Store::new(Arc::new(sled)))
    };
    let sled = Sled::open(&dir).unwrap();
    assert!(!sled.compressed());
    assert_eq!(
        journey_runtime::store::Backend::get(&sled, b"c-old").unwrap(),
        Some(b"written by an earlier version".to_vec())
    );
    assert_eq!(snapshot(&Store::new(Arc::new(sled))), before);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_new_folder_is_not_compressed_by_default() {
    let dir = temp("off");
    let before = {
        let sled = Sled::open(&dir).unwrap();
        assert!(!sled.compressed());
        fill(&Store::new(Arc::new(sled)))
    };
    assert_eq!(sled_compression(&dir.join("db")).unwrap(), Some(false));
    // Asking for compression later does not change a folder made without it.
    let sled = Sled::open_with(&dir, true).unwrap();
    assert!(!sled.compressed());
    assert_eq!(snapshot(&Store::new(Arc::new(sled))), before);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unreadable_store_settings_are_an_error_not_a_guess() {
    let dir = temp("settings");
    let db = dir.join("db");
    assert_eq!(sled_compression(&db).unwrap(), None, "no folder yet: new");
    std::fs::create_dir_all(&db).unwrap();
    assert_eq!(sled_compression(&db).unwrap(), None, "no settings yet: new");
    std::fs::write(db.join("conf"), "segment_size: 524288\nversion: 0.34\n1234").unwrap();
    let error = sled_compression(&db).unwrap_err().message;
    assert!(error.contains("may be damaged"), "{error}");
    let error = Sled::open(&dir).err().unwrap().message;
    assert!(error.contains("may be damaged"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}
