//! The durable store of `journey run`: typed tables over a [`Backend`] (sled by default, memory
//! in tests). Every step of the engine writes one [`Batch`] — customer states, timer changes,
//! outbox messages, processed event ids, audit entries — that lands whole or not at all, and
//! [`Store::sync`] makes everything applied durable.
//!
//! One keyspace, one prefix byte per table (a single-tree batch in sled costs about half a
//! multi-tree transaction):
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `c` | customer id | `CustomerState` (postcard) |
//! | `t` | wake time (8 bytes, ordered), customer id, 0, timer | empty: the timer index |
//! | `o` | sequence number | `OutboxRecord` (postcard) |
//! | `e` | idempotency key | time processed |
//! | `a` | customer id, 0, sequence number | audit record (JSON): what one step decided, `{"at": seconds, "entries": [...]}` (a store written before 2026-12 holds one entry per key, `{"at": "RFC 3339", "entry": {...}}`; both are read) |
//! | `p` | program hash | program bytes (the `.jbc` format) |
//! | `d` | journey name | hash of its current program |
//! | `x` | sequence number | `DeadLetter` (JSON) |
//! | `s` | email address | time it was suppressed |
//! | `m` | counter name | next value |
//! | `n` | program version (32 bytes), instruction (4 bytes), 1 if sleeping, journey name | customers standing there (8 bytes), kept by the writer in the batch of every step (counter `standings` = 1 once kept) |
//! | `z` | dictionary id (4 bytes) | a zstd dictionary the values of `c`, `a` and `o` are compressed with |
//!
//! A timer's time, to replace or cancel it, is read from the customer's state
//! (`CustomerState::pending_timers`); stores written before 2026-12 also kept a reverse index
//! (`r`: customer id, 0, timer -> wake time), which the writer drops at start
//! ([`Store::reverse_index_keys`]).
//!
//! Values of `c`, `a` and `o` are compressed one by one against a dictionary trained on the
//! store's own records once a thousand are written (`codec`): about a tenth of their size.

pub mod backend;
pub mod codec;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use backend::{Backend, COMPRESSION_LEVEL, Error, Memory, Pairs, Sled, sled_compression};

use crate::vm::{CustomerState, Message, Standing, TimerId};
use codec::Codec;

/// A message waiting to be delivered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxRecord {
    /// The customer.
    pub customer: String,
    /// The rendered message.
    pub message: Message,
    /// Delivery attempts started so far (written before each attempt).
    pub attempts: u32,
    /// Not before this time (seconds since the epoch).
    pub next_attempt: i64,
    /// The last temporary failure, if any.
    pub last_error: Option<String>,
    /// When it was queued (the message's Date on every attempt).
    pub queued_at: i64,
}

/// A message given up on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The customer.
    pub customer: String,
    /// The message.
    pub message: Message,
    /// Why it was given up.
    pub reason: String,
    /// When (seconds since the epoch).
    pub at: i64,
}

/// A due timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTimer {
    /// When it was due.
    pub at: i64,
    /// Whose.
    pub customer: String,
    /// Which.
    pub timer: TimerId,
}

/// The tables.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    codec: Arc<Codec>,
}

/// Writes that land together.
#[derive(Default)]
pub struct Batch {
    writes: Vec<backend::Write>,
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    key.push(prefix);
    for (idx, part) in parts.iter().enumerate() {
        if idx > 0 {
            key.push(0);
        }
        key.extend_from_slice(part);
    }
    key
}

/// An ordered encoding of a signed time.
fn time_bytes(at: i64) -> [u8; 8] {
    ((at as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_of(bytes: &[u8]) -> Option<i64> {
    let array: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(array) ^ (1 << 63)) as i64)
}

/// The entries of one stored audit record, each as `{"at": "RFC 3339", "entry": {...}}`: a
/// record of one step (`{"at": seconds, "entries": [...]}`) or a single entry as stores written
/// before 2026-12 kept them (already in that shape).
fn audit_entries(record: serde_json::Value, out: &mut Vec<serde_json::Value>) {
    let serde_json::Value::Object(mut record) = record else {
        return;
    };
    match record.remove("entries") {
        Some(serde_json::Value::Array(entries)) => {
            let at = record
                .get("at")
                .and_then(serde_json::Value::as_i64)
                .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
                .map(|at| at.to_rfc3339())
                .unwrap_or_default();
            for entry in entries {
                out.push(serde_json::json!({ "at": at, "entry": entry }));
            }
        }
        _ => out.push(serde_json::Value::Object(record)),
    }
}

/// The first timer index key after every timer due at `now` (none: every key is due).
fn due_end(now: i64) -> Option<Vec<u8>> {
    let after = now.checked_add(1)?;
    let mut end = vec![b't'];
    end.extend_from_slice(&time_bytes(after));
    Some(end)
}

/// The timer index key: `t`, the ordered wake time, the customer, 0, the timer.
fn timer_index_key(at: i64, customer: &str, timer: &[u8]) -> Vec<u8> {
    let mut index = Vec::with_capacity(10 + customer.len() + timer.len());
    index.push(b't');
    index.extend_from_slice(&time_bytes(at));
    index.extend_from_slice(customer.as_bytes());
    index.push(0);
    index.extend_from_slice(timer);
    index
}

/// A timer as key bytes: `w` journey 0 instance seq, or `a` journey.
fn timer_bytes(timer: &TimerId) -> Vec<u8> {
    match timer {
        TimerId::Wake {
            journey,
            instance,
            seq,
        } => {
            let mut out = vec![b'w'];
            out.extend_from_slice(journey.as_bytes());
            out.push(0);
            out.extend_from_slice(&instance.to_be_bytes());
            out.extend_from_slice(&seq.to_be_bytes());
            out
        }
        TimerId::Anniversary { journey } => {
            let mut out = vec![b'a'];
            out.extend_from_slice(journey.as_bytes());
            out
        }
    }
}

fn timer_of(bytes: &[u8]) -> Option<TimerId> {
    let (kind, rest) = bytes.split_first()?;
    match kind {
        b'w' => {
            let zero = rest.iter().position(|b| *b == 0)?;
            let journey = std::str::from_utf8(rest.get(..zero)?).ok()?.to_string();
            let numbers = rest.get(zero + 1..)?;
            let instance = u32::from_be_bytes(numbers.get(..4)?.try_into().ok()?);
            let seq = u32::from_be_bytes(numbers.get(4..8)?.try_into().ok()?);
            Some(TimerId::Wake {
                journey,
                instance,
                seq,
            })
        }
        b'a' => Some(TimerId::Anniversary {
            journey: std::str::from_utf8(rest).ok()?.to_string(),
        }),
        _ => None,
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Error> {
    journey_compiler::bytecode::depth::guarded(|| postcard::from_bytes(bytes))
        .0
        .map_err(|e| {
            Error::new(format!(
                "a stored {what} cannot be read ({e}); the data folder may be damaged"
            ))
        })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).unwrap_or_default()
}

impl Store {
    /// Tables over a backend (reads the compression dictionaries it holds).
    pub fn open(backend: Arc<dyn Backend>) -> Result<Store, Error> {
        let prefix = [codec::PREFIX];
        let dictionaries = backend
            .scan(&prefix, &prefix, None, usize::MAX)?
            .into_iter()
            .filter_map(|(k, v)| {
                let id: [u8; 4] = k.get(1..)?.try_into().ok()?;
                Some((u32::from_be_bytes(id), v))
            })
            .collect();
        Ok(Store {
            backend,
            codec: Arc::new(Codec::new(dictionaries)),
        })
    }

    /// A store in memory.
    pub fn memory() -> Store {
        Store {
            backend: Arc::new(Memory::new()),
            codec: Arc::new(Codec::new(Vec::new())),
        }
    }

    /// Applies a batch atomically (not yet durable: see [`Store::sync`]). Customer states and
    /// audit records are compressed on the way (and a new dictionary stored with the first
    /// values compressed with it).
    pub fn apply(&self, mut batch: Batch) -> Result<(), Error> {
        if batch.writes.is_empty() {
            return Ok(());
        }
        if let Some((id, dictionary)) = self.codec.encode_batch(&mut batch.writes) {
            batch
                .writes
                .insert(0, (codec::dictionary_key(id), Some(dictionary)));
        }
        self.backend.apply(batch.writes)?;
        self.codec.saved();
        Ok(())
    }

    /// The dictionary values are compressed with now, if one was made yet.
    pub fn dictionary(&self) -> Option<u32> {
        self.codec.current()
    }

    /// Makes every applied batch durable.
    pub fn sync(&self) -> Result<(), Error> {
        self.backend.sync()
    }

    /// Bytes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.backend.size_on_disk()
    }

    /// A customer's state.
    pub fn customer(&self, id: &str) -> Result<Option<CustomerState>, Error> {
        match self.backend.get(&key(b'c', &[id.as_bytes()]))? {
            Some(bytes) => decode("customer", &self.codec.decode("customer", &bytes)?).map(Some),
            None => Ok(None),
        }
    }

    /// Customers per standing, as the writer keeps them up to date (`None` for a store written
    /// before they were kept: see [`Store::count_standings`]).
    pub fn standings(&self) -> Result<Option<Vec<(Standing, u64)>>, Error> {
        if self.counter(STANDINGS_KEPT)? == 0 {
            return Ok(None);
        }
        let mut out = Vec::new();
        for (key, value) in self.backend.scan(b"n", b"n", None, usize::MAX)? {
            let standing = standing_from_key(&key).ok_or_else(|| {
                Error::new("a stored count of customers per step has a damaged key; the data folder may be damaged")
            })?;
            let count = value
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| Error::new("a stored count of customers per step is damaged; the data folder may be damaged"))?;
            out.push((standing, count));
        }
        Ok(Some(out))
    }

    /// Customers per standing, counted by reading every customer (what the writer does once
    /// for a store written before the counts were kept, and what tests check them against).
    pub fn count_standings(&self) -> Result<HashMap<Standing, u64>, Error> {
        let mut counts = HashMap::new();
        let mut start = vec![b'c'];
        loop {
            let page = self.backend.scan(b"c", &start, None, 4096)?;
            for (_, value) in &page {
                let state = self
                    .codec
                    .decode("customer", value)
                    .and_then(|plain| decode::<CustomerState>("customer", &plain));
                let state = match state {
                    Ok(state) => state,
                    Err(error) => {
                        // Counting is for showing: one damaged record does not stop it.
                        tracing::warn!("{error}; left out of the customers per step");
                        continue;
                    }
                };
                for standing in state.standings() {
                    *counts.entry(standing).or_insert(0) += 1;
                }
            }
            match page.last() {
                Some((last, _)) if page.len() == 4096 => {
                    start = last.clone();
                    start.push(0);
                }
                _ => break,
            }
        }
        Ok(counts)
    }

    /// Customer ids from `after` on (exclusive), in order, at most `limit`.
    pub fn customer_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, Error> {
        let start = match after {
            Some(id) => {
                let mut k = key(b'c', &[id.as_bytes()]);
                k.push(0);
                k
            }
            None => vec![b'c'],
        };
        Ok(self
            .backend
            .scan(b"c", &start, None, limit)?
            .into_iter()
            .filter_map(|(k, _)| std::str::from_utf8(k.get(1..)?).ok().map(str::to_string))
            .collect())
    }

    /// Whether an idempotency key was processed.
    pub fn processed(&self, idempotency_key: &str) -> Result<bool, Error> {
        Ok(self
            .backend
            .get(&key(b'e', &[idempotency_key.as_bytes()]))?
            .is_some())
    }

    /// Timers due at or before `now`, oldest first, at most `limit` (a range scan of the
    /// ordered index that stops at `now`: future timers are never read).
    pub fn due_timers(&self, now: i64, limit: usize) -> Result<Vec<DueTimer>, Error> {
        self.due_timers_after(now, None, limit)
    }

    /// As [`Store::due_timers`], from the timer after `after` in the index (the last one of a
    /// previous call), so a caller can take the due timers a few at a time.
    pub fn due_timers_after(
        &self,
        now: i64,
        after: Option<&DueTimer>,
        limit: usize,
    ) -> Result<Vec<DueTimer>, Error> {
        let mut out = Vec::new();
        let end = due_end(now);
        let start = match after {
            Some(timer) => {
                let mut key =
                    timer_index_key(timer.at, &timer.customer, &timer_bytes(&timer.timer));
                // The smallest key after it.
                key.push(0);
                key
            }
            None => b"t".to_vec(),
        };
        for (k, _) in self.backend.scan(b"t", &start, end.as_deref(), limit)? {
            let Some(at) = k.get(1..9).and_then(time_of) else {
                continue;
            };
            if at > now {
                break;
            }
            let rest = k.get(9..).unwrap_or(&[]);
            let Some(zero) = rest.iter().position(|b| *b == 0) else {
                continue;
            };
            let customer = String::from_utf8_lossy(rest.get(..zero).unwrap_or(&[])).into_owned();
            if let Some(timer) = rest.get(zero + 1..).and_then(timer_of) {
                out.push(DueTimer {
                    at,
                    customer,
                    timer,
                });
            }
        }
        Ok(out)
    }

    /// How many timers are due at `now`: a scan of the due part of the timer index only, in
    /// chunks (for the catch-up report after downtime).
    pub fn count_due(&self, now: i64) -> Result<u64, Error> {
        const CHUNK: usize = 65_536;
        let mut count = 0;
        let mut start = b"t".to_vec();
        let end = due_end(now);
        loop {
            let chunk = self.backend.scan(b"t", &start, end.as_deref(), CHUNK)?;
            for (k, _) in &chunk {
                match k.get(1..9).and_then(time_of) {
                    Some(at) if at <= now => count += 1,
                    Some(_) => return Ok(count),
                    None => {}
                }
            }
            match chunk.last() {
                Some((last, _)) if chunk.len() == CHUNK => {
                    start = last.clone();
                    start.push(0);
                }
                _ => return Ok(count),
            }
        }
    }

    /// The earliest pending timer.
    pub fn next_wake(&self) -> Result<Option<i64>, Error> {
        Ok(self
            .backend
            .scan(b"t", b"t", None, 1)?
            .first()
            .and_then(|(k, _)| k.get(1..9).and_then(time_of)))
    }

    /// Outbox messages from sequence `from` on, at most `limit`.
    pub fn outbox(&self, from: u64, limit: usize) -> Result<Vec<(u64, OutboxRecord)>, Error> {
        let start = key(b'o', &[&from.to_be_bytes()]);
        let mut out = Vec::new();
        for (k, v) in self.backend.scan(b"o", &start, None, limit)? {
            let Some(seq) = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                continue;
            };
            let plain = self.codec.decode("outbox message", &v)?;
            out.push((seq, decode("outbox message", &plain)?));
        }
        Ok(out)
    }

    /// Whether outbox message `seq` is still queued (read without decoding it).
    pub fn outbox_queued(&self, seq: u64) -> Result<bool, Error> {
        Ok(self
            .backend
            .get(&key(b'o', &[&seq.to_be_bytes()]))?
            .is_some())
    }

    /// The audit entries of a customer, oldest first, the last `limit`, each as
    /// `{"at": "RFC 3339", "entry": {...}}` whatever the format they were stored in.
    pub fn audit(&self, customer: &str, limit: usize) -> Result<Vec<serde_json::Value>, Error> {
        let prefix = {
            let mut k = key(b'a', &[customer.as_bytes()]);
            k.push(0);
            k
        };
        let mut entries = Vec::new();
        for (_, value) in self.backend.scan(&prefix, &prefix, None, usize::MAX)? {
            let plain = self.codec.decode("audit record", &value)?;
            if let Ok(record) = serde_json::from_slice::<serde_json::Value>(&plain) {
                audit_entries(record, &mut entries);
            }
        }
        let skip = entries.len().saturating_sub(limit);
        Ok(entries.into_iter().skip(skip).collect())
    }

    /// Dead letters, oldest first.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        Ok(self
            .backend
            .scan(b"x", b"x", None, limit)?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect())
    }

    /// Whether an address was suppressed (after a permanent failure).
    pub fn suppressed(&self, address: &str) -> Result<bool, Error> {
        Ok(self
            .backend
            .get(&key(b's', &[address.to_ascii_lowercase().as_bytes()]))?
            .is_some())
    }

    /// Every stored program (bytes in the `.jbc` format), by hash.
    pub fn programs(&self) -> Result<Vec<Vec<u8>>, Error> {
        Ok(self
            .backend
            .scan(b"p", b"p", None, usize::MAX)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// The deployed journeys: name and current program hash.
    pub fn deployment(&self) -> Result<Vec<(String, [u8; 32])>, Error> {
        Ok(self
            .backend
            .scan(b"d", b"d", None, usize::MAX)?
            .into_iter()
            .filter_map(|(k, v)| {
                let name = std::str::from_utf8(k.get(1..)?).ok()?.to_string();
                let hash: [u8; 32] = v.as_slice().try_into().ok()?;
                Some((name, hash))
            })
            .collect())
    }

    /// A counter's next value.
    pub fn counter(&self, name: &str) -> Result<u64, Error> {
        Ok(self
            .backend
            .get(&key(b'm', &[name.as_bytes()]))?
            .and_then(|b| b.as_slice().try_into().ok())
            .map_or(0, u64::from_be_bytes))
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Writes queued.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Stores a customer's state.
    pub fn put_customer(&mut self, state: &CustomerState) {
        self.writes
            .push((key(b'c', &[state.id.as_bytes()]), Some(encode(state))));
    }

    /// Removes a customer's state.
    pub fn delete_customer(&mut self, id: &str) {
        self.writes.push((key(b'c', &[id.as_bytes()]), None));
    }

    /// Sets a timer, replacing its earlier time `previous` if it had one.
    pub fn set_timer(&mut self, customer: &str, timer: &TimerId, at: i64, previous: Option<i64>) {
        let id = timer_bytes(timer);
        if let Some(old) = previous.filter(|old| *old != at) {
            self.writes
                .push((timer_index_key(old, customer, &id), None));
        }
        self.writes
            .push((timer_index_key(at, customer, &id), Some(Vec::new())));
    }

    /// Removes a timer set for `at`.
    pub fn cancel_timer(&mut self, customer: &str, timer: &TimerId, at: i64) {
        let id = timer_bytes(timer);
        self.writes.push((timer_index_key(at, customer, &id), None));
    }

    /// Removes a key as it is (the reverse index of older stores).
    pub fn delete_raw(&mut self, raw_key: Vec<u8>) {
        self.writes.push((raw_key, None));
    }

    /// Records an idempotency key as processed.
    pub fn processed(&mut self, idempotency_key: &str, at: i64) {
        self.writes.push((
            key(b'e', &[idempotency_key.as_bytes()]),
            Some(at.to_be_bytes().to_vec()),
        ));
    }

    /// Puts an outbox message under its sequence number.
    pub fn put_outbox(&mut self, seq: u64, record: &OutboxRecord) {
        self.writes
            .push((key(b'o', &[&seq.to_be_bytes()]), Some(encode(record))));
    }

    /// Removes an outbox message.
    pub fn delete_outbox(&mut self, seq: u64) {
        self.writes.push((key(b'o', &[&seq.to_be_bytes()]), None));
    }

    /// Takes back the audit records this batch adds for `customer`, in the order they were
    /// added (an erasure later in the same round rewrites them anonymised).
    pub fn take_audit(&mut self, customer: &str) -> Vec<serde_json::Value> {
        let prefix = key(b'a', &[customer.as_bytes(), &[]]);
        let mine = |key: &[u8]| key.len() == prefix.len() + 8 && key.starts_with(&prefix);
        let mut taken = Vec::new();
        self.writes.retain(|(key, value)| match value {
            Some(bytes) if mine(key) => {
                if let Ok(record) = serde_json::from_slice(bytes) {
                    taken.push(record);
                }
                false
            }
            _ => true,
        });
        taken
    }

    /// Takes back the messages this batch queues (or re-queues) for `customer`: an erasure
    /// later in the same round. Returns how many.
    pub fn take_outbox(&mut self, customer: &str) -> usize {
        let before = self.writes.len();
        self.writes.retain(|(key, value)| match value {
            Some(bytes) if key.first() == Some(&b'o') && key.len() == 9 => {
                decode::<OutboxRecord>("outbox message", bytes)
                    .map_or(true, |record| record.customer != customer)
            }
            _ => true,
        });
        before - self.writes.len()
    }

    /// Adds an audit record: what one step (or one delivery report) decided at `at`, one key
    /// for all of it.
    pub fn audit(&mut self, customer: &str, seq: u64, at: i64, entries: Vec<serde_json::Value>) {
        let record = serde_json::json!({ "at": at, "entries": entries });
        self.audit_record(customer, seq, &record);
    }

    /// Adds an audit record as it is (erasure rewrites records anonymised, in their format).
    pub fn audit_record(&mut self, customer: &str, seq: u64, record: &serde_json::Value) {
        self.writes.push((
            key(b'a', &[customer.as_bytes(), &seq.to_be_bytes()]),
            Some(serde_json::to_vec(record).unwrap_or_default()),
        ));
    }

    /// Removes an audit entry (erasure rewrites them anonymised).
    pub fn put_audit_raw(&mut self, raw_key: Vec<u8>, value: Option<Vec<u8>>) {
        self.writes.push((raw_key, value));
    }

    /// Adds a dead letter.
    pub fn dead_letter(&mut self, seq: u64, letter: &DeadLetter) {
        self.writes.push((
            key(b'x', &[&seq.to_be_bytes()]),
            Some(serde_json::to_vec(letter).unwrap_or_default()),
        ));
    }

    /// Suppresses an address.
    pub fn suppress(&mut self, address: &str, at: i64) {
        self.writes.push((
            key(b's', &[address.to_ascii_lowercase().as_bytes()]),
            Some(at.to_be_bytes().to_vec()),
        ));
    }

    /// Stores a program by hash.
    pub fn put_program(&mut self, hash: &[u8; 32], bytes: Vec<u8>) {
        self.writes.push((key(b'p', &[hash]), Some(bytes)));
    }

    /// Makes a program the current version of its journey.
    pub fn deploy(&mut self, journey: &str, hash: &[u8; 32]) {
        self.writes
            .push((key(b'd', &[journey.as_bytes()]), Some(hash.to_vec())));
    }

    /// Retires a journey.
    pub fn retire(&mut self, journey: &str) {
        self.writes.push((key(b'd', &[journey.as_bytes()]), None));
    }

    /// Sets a counter.
    pub fn counter(&mut self, name: &str, value: u64) {
        self.writes.push((
            key(b'm', &[name.as_bytes()]),
            Some(value.to_be_bytes().to_vec()),
        ));
    }

    /// Sets how many customers stand at `standing` (none: the count goes).
    pub fn standing(&mut self, standing: &Standing, customers: u64) {
        let value = (customers > 0).then(|| customers.to_be_bytes().to_vec());
        self.writes.push((standing_key(standing), value));
    }

    /// Marks the counts of customers per standing as kept from now on.
    pub fn standings_kept(&mut self) {
        self.counter(STANDINGS_KEPT, 1);
    }
}

/// The counter that says the store keeps counts of customers per standing (`n`).
const STANDINGS_KEPT: &str = "standings";

/// `n`, the version, the instruction (4 bytes), 1 if sleeping, the journey's name.
fn standing_key(standing: &Standing) -> Vec<u8> {
    let mut key = Vec::with_capacity(38 + standing.journey.len());
    key.push(b'n');
    key.extend_from_slice(&standing.version);
    key.extend_from_slice(&standing.pc.to_be_bytes());
    key.push(u8::from(standing.sleeping));
    key.extend_from_slice(standing.journey.as_bytes());
    key
}

fn standing_from_key(key: &[u8]) -> Option<Standing> {
    let rest = key.strip_prefix(b"n")?;
    let (version, rest) = rest.split_first_chunk::<32>()?;
    let (pc, rest) = rest.split_first_chunk::<4>()?;
    let (sleeping, journey) = rest.split_first()?;
    Some(Standing {
        journey: std::str::from_utf8(journey).ok()?.to_string(),
        version: *version,
        pc: u32::from_be_bytes(*pc),
        sleeping: *sleeping == 1,
    })
}

impl Store {
    /// The audit records of a customer with their keys (for erasure), each as it was stored
    /// (a record that is not JSON is left out).
    pub fn audit_records(
        &self,
        customer: &str,
    ) -> Result<Vec<(Vec<u8>, serde_json::Value)>, Error> {
        let mut prefix = key(b'a', &[customer.as_bytes()]);
        prefix.push(0);
        let mut out = Vec::new();
        for (k, value) in self.backend.scan(&prefix, &prefix, None, usize::MAX)? {
            let plain = self.codec.decode("audit record", &value)?;
            if let Ok(record) = serde_json::from_slice(&plain) {
                out.push((k, record));
            }
        }
        Ok(out)
    }

    /// Up to `limit` keys of the timer reverse index that stores written before 2026-12 kept
    /// (nothing reads it any more: the writer removes it at start).
    pub fn reverse_index_keys(&self, limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        self.keys_of(b'r', limit)
    }

    /// The keys of the counts of customers per standing, whatever they hold (to count again).
    pub fn standing_keys(&self) -> Result<Vec<Vec<u8>>, Error> {
        self.keys_of(b'n', usize::MAX)
    }

    /// The first `limit` keys of the table with prefix `table`.
    fn keys_of(&self, table: u8, limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        Ok(self
            .backend
            .scan(&[table], &[table], None, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::PathBuf;

    use super::*;

    fn stores() -> Vec<(&'static str, Store, Option<PathBuf>)> {
        let dir = std::env::temp_dir().join(format!(
            "journey-store-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        vec![
            ("memory", Store::memory(), None),
            (
                "sled",
                Store::open(Arc::new(Sled::open(&dir).unwrap())).unwrap(),
                Some(dir),
            ),
        ]
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    #[test]
    fn a_scan_stops_at_its_end_its_prefix_and_its_limit() {
        for (name, store, dir) in stores() {
            let backend = &store.backend;
            let writes = ["a1", "a2", "a3", "a4", "b1"]
                .iter()
                .map(|k| (k.as_bytes().to_vec(), Some(k.as_bytes().to_vec())))
                .collect();
            backend.apply(writes).unwrap();
            let keys = |pairs: Pairs| -> Vec<String> {
                pairs
                    .into_iter()
                    .map(|(k, _)| String::from_utf8(k).unwrap())
                    .collect()
            };
            let scan = |start: &str, end: Option<&str>, limit| {
                keys(
                    backend
                        .scan(b"a", start.as_bytes(), end.map(str::as_bytes), limit)
                        .unwrap(),
                )
            };
            assert_eq!(scan("a", None, 10), ["a1", "a2", "a3", "a4"], "{name}");
            assert_eq!(scan("a", Some("a3"), 10), ["a1", "a2"], "{name}");
            assert_eq!(scan("a2", Some("a4"), 10), ["a2", "a3"], "{name}");
            assert_eq!(scan("a", Some("a4"), 2), ["a1", "a2"], "{name}");
            assert_eq!(scan("a", None, 0), Vec::<String>::new(), "{name}");
            assert_eq!(scan("a", Some("a1"), 10), Vec::<String>::new(), "{name}");
            if let Some(dir) = dir {
                drop(store);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    #[test]
    fn audit_records_of_one_step_and_single_entries_of_older_stores_read_alike() {
        for (name, store, dir) in stores() {
            let mut batch = Batch::new();
            // As a store written before per-step records kept it.
            batch.audit_record(
                "giulia",
                1,
                &serde_json::json!({ "at": "2026-11-23T09:00:00+00:00", "entry": { "kind": "entered" } }),
            );
            batch.audit(
                "giulia",
                2,
                1_795_428_000,
                vec![
                    serde_json::json!({ "kind": "branch" }),
                    serde_json::json!({ "kind": "sent" }),
                ],
            );
            batch.audit(
                "marco",
                3,
                0,
                vec![serde_json::json!({ "kind": "entered" })],
            );
            store.apply(batch).unwrap();
            let all = store.audit("giulia", 10).unwrap();
            assert_eq!(
                all,
                [
                    serde_json::json!({ "at": "2026-11-23T09:00:00+00:00", "entry": { "kind": "entered" } }),
                    serde_json::json!({ "at": "2026-11-23T10:00:00+00:00", "entry": { "kind": "branch" } }),
                    serde_json::json!({ "at": "2026-11-23T10:00:00+00:00", "entry": { "kind": "sent" } }),
                ],
                "{name}"
            );
            // The last entries, not the last records.
            assert_eq!(store.audit("giulia", 2).unwrap(), all[1..], "{name}");
            assert_eq!(store.audit("marco", 10).unwrap().len(), 1, "{name}");
            if let Some(dir) = dir {
                drop(store);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    #[test]
    fn due_timers_stop_at_now_whatever_the_limit() {
        for (name, store, dir) in stores() {
            let timer = TimerId::Anniversary {
                journey: "j".into(),
            };
            let mut batch = Batch::new();
            for (customer, at) in [("a", 10), ("b", 20), ("c", 20), ("d", 21), ("e", i64::MAX)] {
                batch.set_timer(customer, &timer, at, None);
            }
            store.apply(batch).unwrap();
            let due = |now| -> Vec<String> {
                store
                    .due_timers(now, 100)
                    .unwrap()
                    .into_iter()
                    .map(|d| d.customer)
                    .collect()
            };
            assert_eq!(due(9), Vec::<String>::new(), "{name}");
            assert_eq!(due(20), ["a", "b", "c"], "{name}");
            assert_eq!(due(i64::MAX), ["a", "b", "c", "d", "e"], "{name}");
            assert_eq!(store.count_due(20).unwrap(), 3, "{name}");
            assert_eq!(store.count_due(i64::MAX).unwrap(), 5, "{name}");
            if let Some(dir) = dir {
                drop(store);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    /// A memory backend that counts the pairs its scans return.
    #[derive(Default)]
    struct Counting {
        inner: Memory,
        read: std::sync::atomic::AtomicUsize,
    }

    impl Backend for Counting {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
            self.inner.get(key)
        }

        fn scan(
            &self,
            prefix: &[u8],
            start: &[u8],
            end: Option<&[u8]>,
            limit: usize,
        ) -> Result<Pairs, Error> {
            let pairs = self.inner.scan(prefix, start, end, limit)?;
            self.read
                .fetch_add(pairs.len(), std::sync::atomic::Ordering::Relaxed);
            Ok(pairs)
        }

        fn apply(&self, writes: Vec<backend::Write>) -> Result<(), Error> {
            self.inner.apply(writes)
        }

        fn sync(&self) -> Result<(), Error> {
            Ok(())
        }

        fn size_on_disk(&self) -> u64 {
            0
        }
    }

    #[test]
    fn looking_for_due_timers_reads_no_future_timer() {
        let backend = Arc::new(Counting::default());
        let store = Store::open(backend.clone()).unwrap();
        let timer = TimerId::Anniversary {
            journey: "j".into(),
        };
        let mut batch = Batch::new();
        batch.set_timer("due", &timer, 10, None);
        for customer in 0..1_000 {
            batch.set_timer(&format!("later{customer}"), &timer, 100 + customer, None);
        }
        store.apply(batch).unwrap();
        let read = || backend.read.swap(0, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(store.due_timers(50, 2_048).unwrap().len(), 1);
        assert_eq!(read(), 1, "only the due timer is read");
        assert_eq!(store.count_due(50).unwrap(), 1);
        assert_eq!(read(), 1);
        assert!(store.due_timers(5, 2_048).unwrap().is_empty());
        assert_eq!(read(), 0);
    }

    #[test]
    fn the_reverse_index_of_older_stores_is_listed_for_removal_and_never_written() {
        for (name, store, dir) in stores() {
            let timer = TimerId::Anniversary {
                journey: "j".into(),
            };
            let mut batch = Batch::new();
            batch.set_timer("a", &timer, 10, None);
            // As a store written before 2026-12 kept it next to the index.
            batch.writes.push((
                key(b'r', &[b"a", &timer_bytes(&timer)]),
                Some(time_bytes(10).to_vec()),
            ));
            store.apply(batch).unwrap();
            let old = store.reverse_index_keys(10).unwrap();
            assert_eq!(old.len(), 1, "{name}");
            let mut batch = Batch::new();
            batch.delete_raw(old[0].clone());
            batch.set_timer("b", &timer, 20, None);
            batch.cancel_timer("a", &timer, 10);
            store.apply(batch).unwrap();
            assert!(store.reverse_index_keys(10).unwrap().is_empty(), "{name}");
            let due = store.due_timers(100, 10).unwrap();
            assert_eq!(due.len(), 1, "{name}");
            assert_eq!(due[0].customer, "b", "{name}");
            if let Some(dir) = dir {
                drop(store);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    #[test]
    fn timers_come_out_in_wake_order_and_can_be_replaced() {
        for (name, store, dir) in stores() {
            let timer = |seq| TimerId::Wake {
                journey: "j".into(),
                instance: 1,
                seq,
            };
            let mut batch = Batch::new();
            batch.set_timer("b", &timer(1), 300, None);
            batch.set_timer("a", &timer(2), -5, None);
            batch.set_timer(
                "c",
                &TimerId::Anniversary {
                    journey: "k".into(),
                },
                100,
                None,
            );
            store.apply(batch).unwrap();
            let due = store.due_timers(200, 10).unwrap();
            assert_eq!(
                due.iter().map(|d| d.at).collect::<Vec<_>>(),
                [-5, 100],
                "{name}"
            );
            assert_eq!(store.next_wake().unwrap(), Some(-5), "{name}");
            // Replace b's timer with an earlier one, cancel a's.
            let mut batch = Batch::new();
            batch.set_timer("b", &timer(1), 50, Some(300));
            batch.cancel_timer("a", &timer(2), -5);
            store.apply(batch).unwrap();
            let due = store.due_timers(1000, 10).unwrap();
            assert_eq!(
                due.iter()
                    .map(|d| (d.at, d.customer.as_str()))
                    .collect::<Vec<_>>(),
                [(50, "b"), (100, "c")],
                "{name}"
            );
            assert_eq!(due[0].timer, timer(1));
            store.sync().unwrap();
            if let Some(dir) = dir {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    #[test]
    fn due_timers_taken_a_few_at_a_time_come_out_as_all_at_once() {
        let timer = |seq| TimerId::Wake {
            journey: "j".into(),
            instance: 1,
            seq,
        };
        for (name, store, dir) in stores() {
            let mut batch = Batch::new();
            // Several customers at the same instant, two timers of one customer, a future one.
            for (n, at) in [
                (0, 10),
                (1, 10),
                (2, 10),
                (3, 5),
                (4, 20),
                (5, 10),
                (6, 500),
            ] {
                batch.set_timer(&format!("c{n}"), &timer(1), at, None);
            }
            batch.set_timer("c1", &timer(2), 10, None);
            store.apply(batch).unwrap();
            let all = store.due_timers(100, 100).unwrap();
            assert_eq!(all.len(), 7, "{name}");
            for size in [1, 2, 3] {
                let mut taken = Vec::new();
                let mut after: Option<DueTimer> = None;
                loop {
                    let chunk = store.due_timers_after(100, after.as_ref(), size).unwrap();
                    after = chunk.last().cloned();
                    let last = chunk.len() < size;
                    taken.extend(chunk);
                    if last {
                        break;
                    }
                }
                assert_eq!(taken, all, "{name}, {size} at a time");
            }
            if let Some(dir) = dir {
                drop(store);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}
