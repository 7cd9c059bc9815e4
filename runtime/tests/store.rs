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

/// Opens the sled store in `dir`, waiting up to 5 s for a handle dropped just before to let go
/// of the folder's lock (sled's own threads release it a moment after the drop).
fn open_sled(dir: &std::path::Path, compress_new: bool) -> Sled {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Sled::open_with(dir, compress_new) {
            Ok(sled) => return sled,
            Err(error)
                if error.message.contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => panic!("{}", error.message),
        }
    }
}

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

/// Applies the ops; `timers` is when each timer is set, as the runtime knows it from the
/// customer's state.
fn apply(store: &Store, ops: &[Op], timers: &mut std::collections::HashMap<(u8, u8), i64>) {
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
                let previous = timers.insert((*c, *t), *at);
                batch.set_timer(&customer, &timer(*t), *at, previous);
            }
            Op::CancelTimer(c, t) => {
                let customer = format!("c{c}");
                if let Some(at) = timers.remove(&(*c, *t)) {
                    batch.cancel_timer(&customer, &timer(*t), at);
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
        let memory = Store::memory();
        let dir = temp("agree");
        let sled = Store::open(Arc::new(open_sled(&dir, false))).unwrap();
        let (mut memory_timers, mut sled_timers) = Default::default();
        for ops in &batches {
            apply(&memory, ops, &mut memory_timers);
            apply(&sled, ops, &mut sled_timers);
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
        let store = Store::open(Arc::new(open_sled(&dir, false))).unwrap();
        apply(
            &store,
            &[
                Op::Customer(1, 7),
                Op::SetTimer(1, 0, 42),
                Op::Outbox(3),
                Op::Processed(9),
            ],
            &mut Default::default(),
        );
        store.sync().unwrap();
        snapshot(&store)
    };
    let store = Store::open(Arc::new(open_sled(&dir, false))).unwrap();
    assert_eq!(snapshot(&store), before);
    assert!(store.processed("e9").unwrap());
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_second_process_cannot_open_the_same_folder() {
    let dir = temp("locked");
    let first = open_sled(&dir, false);
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
        &mut Default::default(),
    );
    store.sync().unwrap();
    snapshot(store)
}

#[test]
fn a_new_folder_asked_to_compress_is_compressed_and_stays_so() {
    let dir = temp("compressed");
    let before = {
        let sled = open_sled(&dir, true);
        assert!(sled.compressed());
        fill(&Store::open(Arc::new(sled)).unwrap())
    };
    assert_eq!(sled_compression(&dir.join("db")).unwrap(), Some(true));
    // Asking for no compression does not change a folder made with it.
    let sled = open_sled(&dir, false);
    assert!(sled.compressed());
    assert_eq!(snapshot(&Store::open(Arc::new(sled)).unwrap()), before);
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
        let sled = open_sled(&dir, false);
        assert!(!sled.compressed(), "the folder keeps its setting");
        assert_eq!(
            journey_runtime::store::Backend::get(&sled, b"c-old").unwrap(),
            Some(b"written by an earlier version".to_vec())
        );
        fill(&Store::open(Arc::new(sled)).unwrap())
    };
    let sled = open_sled(&dir, false);
    assert!(!sled.compressed());
    assert_eq!(
        journey_runtime::store::Backend::get(&sled, b"c-old").unwrap(),
        Some(b"written by an earlier version".to_vec())
    );
    assert_eq!(snapshot(&Store::open(Arc::new(sled)).unwrap()), before);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_new_folder_is_not_compressed_by_default() {
    let dir = temp("off");
    let before = {
        let sled = open_sled(&dir, false);
        assert!(!sled.compressed());
        fill(&Store::open(Arc::new(sled)).unwrap())
    };
    assert_eq!(sled_compression(&dir.join("db")).unwrap(), Some(false));
    // Asking for compression later does not change a folder made without it.
    let sled = open_sled(&dir, true);
    assert!(!sled.compressed());
    assert_eq!(snapshot(&Store::open(Arc::new(sled)).unwrap()), before);
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

/// A customer with a profile like a shop's: most bytes alike from one customer to the next.
fn shop_customer(n: usize) -> CustomerState {
    use journey_compiler::bytecode::Value;
    let id = format!("w{n:07}");
    let mut state = CustomerState::new(&id);
    for (name, value) in [
        ("email", format!("{id}@example.it")),
        ("first_name", "Giulia".to_string()),
        ("time_zone", "Europe/Rome".to_string()),
        ("locale", "it-IT".to_string()),
        (
            "checkout_url",
            format!("https://caffearoma.it/carrello/C-{id}"),
        ),
    ] {
        state.profile.set(name.into(), Value::text(&value));
    }
    state.marketing_sends.push(1_796_216_547 + n as i64);
    state
}

fn shop_audit(n: usize) -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"effect": "decision", "instance": 0, "journey": "abandoned_cart",
            "kind": "entered", "step": null, "why": "`cart_abandoned` arrived", "n": n}),
        serde_json::json!({"effect": "decision", "instance": 0, "journey": "abandoned_cart",
            "kind": "branch", "step": "if not customer.email_consent",
            "why": "`not customer.email_consent` is false"}),
    ]
}

/// Writes customers `range` (state and one audit record each) in batches of 100.
fn write_customers(store: &Store, range: std::ops::Range<usize>) {
    let mut batch = Batch::new();
    for n in range {
        batch.put_customer(&shop_customer(n));
        batch.audit(&format!("w{n:07}"), n as u64, 1_796_216_547, shop_audit(n));
        if batch.len() >= 200 {
            store.apply(std::mem::take(&mut batch)).unwrap();
        }
    }
    store.apply(batch).unwrap();
}

/// Waits (writing a customer now and then) until the first dictionary, trained on a thread of
/// its own, is in use.
fn wait_for_dictionary(store: &Store, mut next: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.dictionary().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no dictionary after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_customers(store, next..next + 1);
        next += 1;
    }
    next
}

#[test]
fn states_and_audit_records_are_compressed_with_a_dictionary_and_read_back_after_reopening() {
    use journey_runtime::store::Backend;
    let dir = temp("dictionary");
    let sled = Arc::new(open_sled(&dir, false));
    let store = Store::open(sled.clone()).unwrap();
    let first = 1_200;
    write_customers(&store, 0..first);
    let raw = |n: usize| sled.get(format!("cw{n:07}").as_bytes()).unwrap().unwrap();
    let plain_size = raw(0).len();
    assert_ne!(raw(0)[0], 0, "written before the dictionary: plain");
    let next = wait_for_dictionary(&store, first);
    write_customers(&store, next..next + 100);
    let last = next + 100;
    let compressed = raw(last - 1);
    assert_eq!(compressed[0], 0, "written after it: compressed");
    assert!(
        compressed.len() * 3 < plain_size,
        "{} B compressed, {plain_size} B plain",
        compressed.len()
    );
    let audit_key = {
        let mut key = format!("aw{:07}", last - 1).into_bytes();
        key.push(0);
        key.extend_from_slice(&((last - 1) as u64).to_be_bytes());
        key
    };
    assert_eq!(sled.get(&audit_key).unwrap().unwrap()[0], 0);
    let check = |store: &Store| {
        for n in (0..last).step_by(37).chain([last - 1]) {
            let id = format!("w{n:07}");
            assert_eq!(store.customer(&id).unwrap(), Some(shop_customer(n)), "{id}");
            let entries = store.audit(&id, 10).unwrap();
            assert_eq!(entries.len(), 2, "{id}");
            assert_eq!(entries[0]["entry"], shop_audit(n)[0], "{id}");
            let records = store.audit_records(&id).unwrap();
            assert_eq!(records.len(), 1, "{id}");
            assert_eq!(records[0].1["entries"][1], shop_audit(n)[1], "{id}");
        }
    };
    check(&store);
    store.sync().unwrap();
    drop(store);
    drop(sled);
    // The dictionary was stored with the first values compressed with it.
    let store = Store::open(Arc::new(open_sled(&dir, false))).unwrap();
    assert!(store.dictionary().is_some());
    check(&store);
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_damaged_compressed_value_is_an_error_naming_the_data_not_a_panic() {
    use journey_runtime::store::Backend;
    let sled = Arc::new(Memory::new());
    let store = Store::open(sled.clone()).unwrap();
    write_customers(&store, 0..1_100);
    let next = wait_for_dictionary(&store, 1_100);
    let good = sled
        .get(format!("cw{:07}", next - 1).as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(good[0], 0);
    let mut damaged = good.clone();
    let middle = damaged.len() / 2;
    damaged.truncate(middle);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "a dictionary never made",
            vec![0, 9, 1, 2, 3],
            "dictionary 9, which is missing",
        ),
        ("no dictionary id", vec![0, 0x80], "no dictionary id"),
        (
            "a frame cut short",
            damaged,
            "the data folder may be damaged",
        ),
        (
            "not a frame",
            vec![0, good[1], 1, 2, 3, 4, 5, 6],
            "the data folder may be damaged",
        ),
    ];
    for (what, value, expected) in cases {
        sled.apply(vec![(b"cbroken".to_vec(), Some(value))])
            .unwrap();
        let error = store.customer("broken").unwrap_err().message;
        assert!(
            error.contains("a stored customer cannot be read"),
            "{what}: {error}"
        );
        assert!(error.contains(expected), "{what}: {error}");
    }
}
