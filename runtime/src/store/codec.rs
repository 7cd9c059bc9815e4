//! Customer states, audit records and outbox messages, compressed one by one with a dictionary
//! made from the store's own records.
//!
//! Every waiting customer keeps a state (~470 B of postcard) and an audit record or two
//! (~320 B of JSON) that look almost alike from one customer to the next: the same field
//! names, journey names, step texts and reasons; every message of a template has the same
//! layout around a few different values. zstd compresses a record of that size poorly on its
//! own, but against a dictionary trained on a thousand of its neighbours it shrinks to about a
//! tenth (50 B for a state, 25 B for an audit record, 2–3 µs each; measured in
//! `docs/performance.md`). Compressing value by value keeps reads and recovery as fast as
//! before, unlike compressing sled's whole log (`[store] compression`). A batch holding more
//! than [`PARALLEL_BYTES`] of such values (a burst of timers, each sending a message) is
//! compressed half on a second thread, which a burst otherwise leaves idle.
//!
//! A stored value of these tables is either plain (as written before the first dictionary, or by
//! an older version) or `0`, the dictionary's id (LEB128), and a zstd frame. A plain value never
//! starts with 0: a state and an outbox record start with the length of the customer's id,
//! which is never empty, and an audit record with `{`. Dictionaries are kept in the store under
//! `z` + id (4 bytes, big endian), written in the same batch as the first value compressed with
//! them, and never changed or removed, so every value stays readable.
//!
//! The first dictionary is trained (on a thread of its own, the writer carrying on uncompressed)
//! once [`SAMPLES`] values of a table, or half as many of each, have been written (samples are
//! kept per table: a batch writes its states, then its audit records); a new one is trained from
//! fresh samples when the values of a window compress less than half as well as those right
//! after the current one was made (the journeys, and so the shape of the records, changed).

use std::borrow::Cow;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

use super::Error;

/// Values of one table collected to train a dictionary.
pub const SAMPLES: usize = 1_024;
/// The most bytes of samples kept per table for one training (longer values are cut short).
const SAMPLE_BYTES: usize = 512 * 1024;
/// The largest value kept as a sample.
const SAMPLE_MAX: usize = 4_096;
/// The size of a trained dictionary.
const DICTIONARY_BYTES: usize = 32 * 1024;
/// zstd's level (its default): at these sizes level 1 saves no time.
const LEVEL: i32 = 3;
/// Plain bytes of compressed tables in one batch from which half of them are compressed on a
/// second thread (about twenty timer firings that send a message: a round cut short while
/// requests wait still uses both cores).
pub const PARALLEL_BYTES: usize = 64 * 1024;
/// Values in one window over which the compression ratio is watched.
const WINDOW: u64 = 1_024;
/// The first byte of a compressed value.
const TAG: u8 = 0;
/// The largest plain value a frame may claim to hold.
const MAX_PLAIN: u64 = 64 << 20;
/// The tables whose values are compressed: customer states, audit records, outbox messages.
const TABLES: [u8; 3] = [b'c', b'a', b'o'];
/// The key prefix of the dictionaries.
pub const PREFIX: u8 = b'z';

/// One dictionary, prepared for compressing and decompressing.
struct Dictionary {
    id: u32,
    compress: CDict<'static>,
    decompress: DDict<'static>,
}

impl Dictionary {
    fn new(id: u32, bytes: &[u8]) -> Dictionary {
        Dictionary {
            id,
            compress: CDict::create(bytes, LEVEL),
            decompress: DDict::create(bytes),
        }
    }
}

/// The key under which dictionary `id` is stored.
pub fn dictionary_key(id: u32) -> Vec<u8> {
    let mut key = vec![PREFIX];
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// The compression of one store: its dictionaries, and what the writer needs to make the next.
pub struct Codec {
    dictionaries: RwLock<Vec<Arc<Dictionary>>>,
    writing: Mutex<Writing>,
    /// Decompression contexts not in use (a few hundred KiB each: kept for the next read, at
    /// most [`SPARE_CONTEXTS`], whichever threads read).
    contexts: Mutex<Vec<DCtx<'static>>>,
}

/// Decompression contexts kept between reads.
const SPARE_CONTEXTS: usize = 4;

/// The writer's side: the current dictionary, samples, a training under way, the ratio watched.
struct Writing {
    /// The compression context (it keeps no reference to a dictionary between calls).
    context: CCtx<'static>,
    /// The second thread's context, for large batches.
    helper: CCtx<'static>,
    current: Option<Arc<Dictionary>>,
    samples: Option<Samples>,
    training: Option<Receiver<Vec<u8>>>,
    /// The current dictionary until a batch holding it has been applied.
    unsaved: Option<(u32, Vec<u8>)>,
    window: (u64, u64, u64),
    baseline: Option<f64>,
}

impl Codec {
    /// A codec over the dictionaries stored so far (`(id, bytes)`, any order).
    pub fn new(stored: Vec<(u32, Vec<u8>)>) -> Codec {
        let mut dictionaries: Vec<Arc<Dictionary>> = stored
            .iter()
            .map(|(id, bytes)| Arc::new(Dictionary::new(*id, bytes)))
            .collect();
        dictionaries.sort_by_key(|d| d.id);
        let current = dictionaries.last().cloned();
        let samples = current.is_none().then(Samples::default);
        Codec {
            dictionaries: RwLock::new(dictionaries),
            writing: Mutex::new(Writing {
                context: zstd_safe::create_cctx(),
                helper: zstd_safe::create_cctx(),
                current,
                samples,
                training: None,
                unsaved: None,
                window: (0, 0, 0),
                baseline: None,
            }),
            contexts: Mutex::new(Vec::new()),
        }
    }

    /// The id of the dictionary values are compressed with now, if any.
    pub fn current(&self) -> Option<u32> {
        let writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        writing.current.as_ref().map(|d| d.id)
    }

    /// Encodes the values of a batch about to be applied, in place; returns the dictionary to
    /// store with them while no batch holding it has been applied (see [`Codec::saved`]).
    pub fn encode_batch(
        &self,
        writes: &mut [(Vec<u8>, Option<Vec<u8>>)],
    ) -> Option<(u32, Vec<u8>)> {
        let mut writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        self.install_trained(&mut writing);
        let mut values = Vec::new();
        for (key, value) in writes.iter_mut() {
            let (Some(prefix), Some(plain)) = (key.first(), value.as_mut()) else {
                continue;
            };
            let Some(table) = TABLES.iter().position(|t| t == prefix) else {
                continue;
            };
            if let Some(samples) = writing.samples.as_mut() {
                samples.offer(table, plain);
            }
            values.push(plain);
        }
        writing.compress(&mut values);
        writing.maybe_train();
        writing.unsaved.clone()
    }

    /// The last batch encoded was applied: its dictionary is stored.
    pub fn saved(&self) {
        let mut writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        writing.unsaved = None;
    }

    /// A finished training becomes the current dictionary.
    fn install_trained(&self, writing: &mut Writing) {
        let Some(training) = writing.training.as_ref() else {
            return;
        };
        let bytes = match training.try_recv() {
            Ok(bytes) => bytes,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => {
                writing.training = None;
                return;
            }
        };
        writing.training = None;
        let mut dictionaries = self
            .dictionaries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let id = dictionaries.last().map_or(1, |d| d.id.saturating_add(1));
        let dictionary = Arc::new(Dictionary::new(id, &bytes));
        dictionaries.push(dictionary.clone());
        writing.current = Some(dictionary);
        writing.samples = None;
        writing.window = (0, 0, 0);
        writing.baseline = None;
        writing.unsaved = Some((id, bytes));
    }

    /// The plain bytes of a stored value of a compressed table.
    pub fn decode<'a>(&self, what: &str, stored: &'a [u8]) -> Result<Cow<'a, [u8]>, Error> {
        let Some((&TAG, rest)) = stored.split_first() else {
            return Ok(Cow::Borrowed(stored));
        };
        let damaged = |why: String| {
            Error::new(format!(
                "a stored {what} cannot be read ({why}); the data folder may be damaged"
            ))
        };
        let (id, frame) = read_id(rest).ok_or_else(|| damaged("no dictionary id".into()))?;
        let dictionary = {
            let dictionaries = self
                .dictionaries
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            dictionaries.iter().find(|d| d.id == id).cloned()
        }
        .ok_or_else(|| damaged(format!("compressed with dictionary {id}, which is missing")))?;
        // Unknown sizes and errors are the largest u64 values.
        let size = zstd_safe::get_frame_content_size(frame);
        if size > MAX_PLAIN {
            return Err(damaged("no readable size".into()));
        }
        let mut plain = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let spare = self
            .contexts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut context = spare.unwrap_or_else(zstd_safe::create_dctx);
        // A frame holding more than its header says fails here: the buffer is only that long.
        let result = context.decompress_using_ddict(&mut plain, frame, &dictionary.decompress);
        {
            let mut contexts = self.contexts.lock().unwrap_or_else(PoisonError::into_inner);
            if contexts.len() < SPARE_CONTEXTS {
                contexts.push(context);
            }
        }
        result.map_err(|code| damaged(zstd_safe::get_error_name(code).to_string()))?;
        Ok(Cow::Owned(plain))
    }
}

impl Writing {
    /// Compresses the values of one batch with the current dictionary, if there is one: a
    /// large batch (a burst of timers) half on a second thread, so a round's compression takes
    /// both cores instead of one.
    fn compress(&mut self, values: &mut [&mut Vec<u8>]) {
        let Some(dictionary) = self.current.clone() else {
            return;
        };
        let plain: usize = values.iter().map(|value| value.len()).sum();
        let sizes = if plain >= PARALLEL_BYTES {
            let half = split_at_half(values, plain);
            let (mine, theirs) = values.split_at_mut(half);
            let (context, helper) = (&mut self.context, &mut self.helper);
            std::thread::scope(|scope| {
                let other = std::thread::Builder::new()
                    .name("journey-compress".into())
                    .spawn_scoped(scope, || compress_all(helper, &dictionary, theirs));
                let mine = compress_all(context, &dictionary, mine);
                // Without a second thread, or if it failed, its half stays plain (a plain
                // value is read as it is).
                let theirs = match other {
                    Ok(handle) => handle.join().unwrap_or_default(),
                    Err(error) => {
                        tracing::debug!("no thread to compress on ({error}): half stays plain");
                        Sizes::default()
                    }
                };
                mine.add(theirs)
            })
        } else {
            compress_all(&mut self.context, &dictionary, values)
        };
        self.window.0 += sizes.values;
        self.window.1 += sizes.plain;
        self.window.2 += sizes.packed;
    }

    /// Starts a training when enough samples are in, or starts sampling when the ratio of the
    /// last window fell to less than half that of the dictionary's first.
    fn maybe_train(&mut self) {
        let (count, plain, packed) = self.window;
        if count >= WINDOW {
            let ratio = packed as f64 / plain.max(1) as f64;
            match self.baseline {
                None => self.baseline = Some(ratio),
                Some(baseline) if ratio > 2.0 * baseline && self.samples.is_none() => {
                    self.samples = Some(Samples::default());
                }
                Some(_) => {}
            }
            self.window = (0, 0, 0);
        }
        let ready = self.samples.as_ref().is_some_and(Samples::ready);
        if !ready || self.training.is_some() {
            return;
        }
        let samples = self.samples.take().unwrap_or_default().values;
        let (send, receive) = std::sync::mpsc::channel();
        let started = std::thread::Builder::new()
            .name("journey-dictionary".into())
            .spawn(move || {
                let _ = send.send(train(&samples));
            });
        if started.is_ok() {
            self.training = Some(receive);
        }
    }
}

/// What one thread compressed: values, their plain bytes, their bytes as stored.
#[derive(Clone, Copy, Default)]
struct Sizes {
    values: u64,
    plain: u64,
    packed: u64,
}

impl Sizes {
    fn add(self, other: Sizes) -> Sizes {
        Sizes {
            values: self.values + other.values,
            plain: self.plain + other.plain,
            packed: self.packed + other.packed,
        }
    }
}

/// Where to cut `values` (`plain` bytes in all) so both sides hold about half the bytes.
fn split_at_half(values: &[&mut Vec<u8>], plain: usize) -> usize {
    let mut seen = 0;
    for (index, value) in values.iter().enumerate() {
        seen += value.len();
        if seen * 2 >= plain {
            return index + 1;
        }
    }
    values.len()
}

/// Compresses each value in place with `dictionary` where that makes it smaller: `0`, the
/// dictionary's id, the frame.
fn compress_all(
    context: &mut CCtx<'static>,
    dictionary: &Dictionary,
    values: &mut [&mut Vec<u8>],
) -> Sizes {
    let mut sizes = Sizes::default();
    for plain in values.iter_mut() {
        let mut packed = Vec::with_capacity(plain.len() / 2 + 64);
        packed.push(TAG);
        write_id(&mut packed, dictionary.id);
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(plain.len()));
        if context
            .compress_using_cdict(&mut frame, plain, &dictionary.compress)
            .is_err()
        {
            continue;
        }
        packed.extend_from_slice(&frame);
        sizes.values += 1;
        sizes.plain += plain.len() as u64;
        sizes.packed += packed.len() as u64;
        if packed.len() < plain.len() {
            **plain = packed;
        }
    }
    sizes
}

/// Values collected for a training, per table.
#[derive(Default)]
struct Samples {
    values: [Vec<Vec<u8>>; TABLES.len()],
    bytes: [usize; TABLES.len()],
}

impl Samples {
    fn offer(&mut self, table: usize, plain: &[u8]) {
        let (Some(values), Some(bytes)) = (self.values.get_mut(table), self.bytes.get_mut(table))
        else {
            return;
        };
        if values.len() < SAMPLES && *bytes < SAMPLE_BYTES {
            let sample = plain.get(..plain.len().min(SAMPLE_MAX)).unwrap_or(plain);
            *bytes += sample.len();
            values.push(sample.to_vec());
        }
    }

    /// A table is full, or every table has half its share.
    fn ready(&self) -> bool {
        let full = |(values, bytes): (&Vec<Vec<u8>>, &usize)| {
            values.len() >= SAMPLES || *bytes >= SAMPLE_BYTES
        };
        let half = |(values, bytes): (&Vec<Vec<u8>>, &usize)| {
            values.len() >= SAMPLES / 2 || *bytes >= SAMPLE_BYTES / 2
        };
        let tables = || self.values.iter().zip(self.bytes.iter());
        tables().any(full) || tables().all(half)
    }
}

/// A dictionary for values like the samples (one list per table): trained by zstd on three
/// quarters of each list, or the last bytes of those as they are (a raw-content dictionary, an
/// equal share per table), whichever compresses the last quarters better. zstd's trainer
/// sometimes returns a tiny dictionary for samples of two kinds, or fails on too few; the raw
/// one is never far off.
pub fn train(samples: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let (mut learn, mut check): (Vec<&[u8]>, Vec<&[u8]>) = (Vec::new(), Vec::new());
    let kinds = samples
        .iter()
        .filter(|list| !list.is_empty())
        .count()
        .max(1);
    let mut raw: Vec<u8> = Vec::with_capacity(DICTIONARY_BYTES);
    for list in samples {
        let (these, checked) = list.split_at(list.len() - list.len() / 4);
        let mut share: Vec<u8> = Vec::new();
        for sample in these.iter().rev() {
            if share.len() + sample.len() > DICTIONARY_BYTES / kinds {
                break;
            }
            share.splice(0..0, sample.iter().copied());
        }
        raw.extend_from_slice(&share);
        learn.extend(these.iter().map(Vec::as_slice));
        check.extend(checked.iter().map(Vec::as_slice));
    }
    let trained = zstd::dict::from_samples(&learn, DICTIONARY_BYTES)
        .ok()
        .filter(|d| !d.is_empty());
    match trained {
        Some(trained) if compressed_size(&trained, &check) < compressed_size(&raw, &check) => {
            trained
        }
        _ => raw,
    }
}

/// The bytes `values` take compressed one by one with `dictionary`.
fn compressed_size(dictionary: &[u8], values: &[&[u8]]) -> usize {
    let prepared = CDict::create(dictionary, LEVEL);
    let mut context = zstd_safe::create_cctx();
    let mut total = 0;
    for value in values {
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(value.len()));
        total += match context.compress_using_cdict(&mut frame, value, &prepared) {
            Ok(size) => size,
            Err(_) => value.len(),
        };
    }
    total
}

/// LEB128.
fn write_id(out: &mut Vec<u8>, mut id: u32) {
    loop {
        let byte = (id & 0x7f) as u8;
        id >>= 7;
        if id == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_id(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut id: u32 = 0;
    for (idx, byte) in bytes.iter().enumerate().take(5) {
        id |= u32::from(byte & 0x7f).checked_shl(7 * idx as u32)?;
        if byte & 0x80 == 0 {
            return Some((id, bytes.get(idx + 1..)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_round_trip() {
        for id in [0, 1, 127, 128, 300, u32::MAX] {
            let mut out = Vec::new();
            write_id(&mut out, id);
            out.push(9);
            assert_eq!(read_id(&out), Some((id, &[9][..])));
        }
        assert_eq!(read_id(&[0x80, 0x80]), None);
    }

    #[test]
    fn a_raw_dictionary_stands_in_when_training_fails() {
        let samples = vec![b"{\"at\":1}".to_vec(); 3];
        // Too few samples to train: the samples as they are.
        assert_eq!(
            train(&[samples, Vec::new()]),
            b"{\"at\":1}{\"at\":1}{\"at\":1}"
        );
    }

    /// An audit record like a burst's: `i` makes each one different.
    fn audit_like(i: usize) -> Vec<u8> {
        format!(r#"{{"at":{i},"entries":[{{"effect":"queued","journey":"delivery_and_review","template":"review_request_email","to":"c{i:07}@example.it","subject":"Com'è andato l'ordine {i}?"}}]}}"#)
            .into_bytes()
    }

    #[test]
    fn a_large_batch_is_compressed_whole_on_two_threads_and_reads_back() {
        let samples: Vec<Vec<u8>> = (0..1_024).map(audit_like).collect();
        let codec = Codec::new(vec![(7, train(&[Vec::new(), samples]))]);
        // Audit records well past PARALLEL_BYTES, a key of another table among them.
        let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..4_000)
            .map(|i| (format!("a{i}").into_bytes(), Some(audit_like(100_000 + i))))
            .collect();
        writes.push((b"t1".to_vec(), Some(b"timer".to_vec())));
        let plain: usize = writes
            .iter()
            .filter_map(|(_, v)| v.as_ref())
            .map(Vec::len)
            .sum();
        assert!(plain > 2 * PARALLEL_BYTES, "{plain}");
        let originals = writes.clone();
        assert_eq!(codec.encode_batch(&mut writes), None);
        for ((key, stored), (_, original)) in writes.iter().zip(&originals) {
            let (stored, original) = (stored.as_ref().unwrap(), original.as_ref().unwrap());
            if key.first() == Some(&b't') {
                assert_eq!(stored, original, "a table not compressed is left alone");
                continue;
            }
            // Both halves compressed, the second thread's as well as the writer's.
            assert_eq!(
                stored.first(),
                Some(&TAG),
                "{}",
                String::from_utf8_lossy(key)
            );
            assert!(stored.len() * 2 < original.len());
            assert_eq!(
                codec.decode("audit record", stored).unwrap().as_ref(),
                &original[..]
            );
        }
    }

    #[test]
    fn the_dictionary_chosen_compresses_values_like_the_samples() {
        let samples: Vec<Vec<u8>> = (0..1_024)
            .map(|i| {
                format!(r#"{{"at":{i},"entries":[{{"journey":"abandoned_cart","kind":"entered","why":"`cart_abandoned` arrived","customer":"c{i:07}"}}]}}"#)
                    .into_bytes()
            })
            .collect();
        let states: Vec<Vec<u8>> = (0..1_024)
            .map(|i| {
                format!("\u{8}c{i:07}\u{5}email\u{13}c{i:07}@example.it\nfirst_name\u{6}Giulia")
                    .into_bytes()
            })
            .collect();
        // States first, then audit records, as a batch writes them.
        let dictionary = train(&[states, samples]);
        assert!(dictionary.len() <= DICTIONARY_BYTES);
        let audit = br#"{"at":5000,"entries":[{"journey":"abandoned_cart","kind":"entered","why":"`cart_abandoned` arrived","customer":"c0005000"}]}"#;
        let state = "\u{8}c0005000\u{5}email\u{13}c0005000@example.it\nfirst_name\u{6}Giulia";
        for value in [&audit[..], state.as_bytes()] {
            let size = compressed_size(&dictionary, &[value]);
            assert!(size * 2 < value.len(), "{size} of {}", value.len());
        }
    }
}
