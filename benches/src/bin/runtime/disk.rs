//! The two ceilings the durable runtime is compared with, measured in the same folder as its
//! data: F, how many `fdatasync`s a second the disk takes, and C, how many batches shaped like
//! one event's writes sled 0.34 applies a second without flushing them.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use journey_runtime::store::{Backend, Sled};

use crate::Error;

/// Small writes, each followed by `fdatasync` (`File::sync_data`), for `time`: syncs a second.
/// `append` grows the file like a log (the size changes, so each sync also commits metadata);
/// otherwise the same 512 bytes are rewritten in place.
pub fn fdatasync_rate(folder: &Path, time: Duration, append: bool) -> Result<f64, Error> {
    use std::os::unix::fs::FileExt;
    let path = folder.join(if append {
        "fsync-append"
    } else {
        "fsync-place"
    });
    let mut file = std::fs::File::create(&path)?;
    let block = [0x5a_u8; 512];
    let started = Instant::now();
    let mut syncs = 0_u64;
    while started.elapsed() < time {
        if append {
            file.write_all(&block)?;
        } else {
            file.write_all_at(&block, 0)?;
        }
        file.sync_data()?;
        syncs += 1;
    }
    let rate = syncs as f64 / started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(rate)
}

/// The writes one `cart_abandoned` event makes, with the runtime's key layout
/// (`store` module): the customer's state, the processed idempotency key, the step's audit
/// record (entered, the branch taken) and the timer index entry.
fn event_writes(n: u64, state: &[u8], audit: &[u8]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let customer = format!("c{n:08}");
    let key = |prefix: u8, parts: &[&[u8]]| {
        let mut key = vec![prefix];
        for (idx, part) in parts.iter().enumerate() {
            if idx > 0 {
                key.push(0);
            }
            key.extend_from_slice(part);
        }
        key
    };
    let at = (1_795_420_800_u64 + 10_800 + n) ^ (1 << 63);
    let mut timer = b"wabandoned_cart\0".to_vec();
    timer.extend_from_slice(&1_u32.to_be_bytes());
    timer.extend_from_slice(&2_u32.to_be_bytes());
    let mut index = vec![b't'];
    index.extend_from_slice(&at.to_be_bytes());
    index.extend_from_slice(customer.as_bytes());
    index.push(0);
    index.extend_from_slice(&timer);
    vec![
        (key(b'c', &[customer.as_bytes()]), Some(state.to_vec())),
        (
            key(b'e', &[format!("cart-{customer}").as_bytes()]),
            Some(at.to_be_bytes().to_vec()),
        ),
        (
            key(b'a', &[customer.as_bytes(), &n.to_be_bytes()]),
            Some(audit.to_vec()),
        ),
        (index, Some(Vec::new())),
    ]
}

/// What C measured.
pub struct Ceiling {
    /// Batches applied a second.
    pub rate: f64,
    /// Bytes of keys and values in one batch.
    pub batch_bytes: usize,
    /// Batches applied and synced (`Backend::sync`, the runtime's durable commit) a second.
    pub commits: f64,
    /// Files in sled's folder, each synced by `Backend::sync`.
    pub files: usize,
}

/// `apply_batch` (through the runtime's own `Sled` backend, as the engine calls it) of one
/// event's writes at a time, never flushed, for `time`, on a fresh store in `folder`. The state
/// and the audit record are `state_bytes` and `audit_bytes` long: as the store keeps them,
/// compressed (`store::codec`).
pub fn sled_ceiling(
    folder: &Path,
    time: Duration,
    state_bytes: usize,
    audit_bytes: usize,
) -> Result<Ceiling, Error> {
    let sled = Sled::open(folder)?;
    // Compressed bytes do not compress further.
    let state: Vec<u8> = (0..state_bytes).map(|i| (i * 31 % 251) as u8).collect();
    let audit: Vec<u8> = (0..audit_bytes).map(|i| (i * 17 % 241) as u8).collect();
    let audit = audit.as_slice();
    let batch_bytes = event_writes(0, &state, audit)
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let started = Instant::now();
    let mut batches = 0_u64;
    while started.elapsed() < time {
        // Check the clock every 64 batches, not on every one.
        for _ in 0..64 {
            sled.apply(event_writes(batches, &state, audit))?;
            batches += 1;
        }
    }
    let rate = batches as f64 / started.elapsed().as_secs_f64();
    // For comparison: one batch, then the runtime's durable sync, as a round of one event does
    // (after one sync of everything above, which alone can take seconds).
    sled.sync()?;
    let started = Instant::now();
    let mut commits = 0_u64;
    while started.elapsed() < time {
        sled.apply(event_writes(batches + commits, &state, audit))?;
        sled.sync()?;
        commits += 1;
    }
    let commits = commits as f64 / started.elapsed().as_secs_f64();
    let files = count_files(folder)?;
    drop(sled);
    std::fs::remove_dir_all(folder)?;
    Ok(Ceiling {
        rate,
        batch_bytes,
        commits,
        files,
    })
}

/// Files below a folder.
fn count_files(folder: &Path) -> Result<usize, Error> {
    let mut count = 0;
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        count += if entry.metadata()?.is_dir() {
            count_files(&entry.path())?
        } else {
            1
        };
    }
    Ok(count)
}
