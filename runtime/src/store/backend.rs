//! The narrow storage contract every backend fulfils: ordered keys and values, prefix scans,
//! atomic batches and an explicit durability barrier. Tables (`store::tables`) are built on it,
//! so a new backend (a distributed database) implements five methods.
//!
//! Two backends: [`Memory`] (tests, simulations) and [`Sled`] (the embedded default). Sled 0.34's
//! `flush` uses `sync_file_range`, which does not reach the disk's cache, so [`Sled::sync`]
//! also calls `fdatasync` on the database's files.
//!
//! A new sled folder may compress its log with zstd ([`COMPRESSION_LEVEL`], `[store]
//! compression`, off by default): the pages of similar customers compress to about a third, for
//! more CPU per write and a slower start. sled refuses to open a folder with another
//! compression setting than it was made with, so an existing folder is opened as it was made:
//! [`Sled::open_with`] reads the setting from sled's `conf` file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A storage failure, with what was being done.
#[derive(Debug)]
pub struct Error {
    /// What failed, in words.
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }
}

/// Key-value pairs read by a scan, in key order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// One write of a batch: a value to put, or `None` to delete the key.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// Ordered bytes with atomic batches.
pub trait Backend: Send + Sync {
    /// The value of a key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;
    /// Up to `limit` pairs whose keys start with `prefix`, in key order, from `start` on and
    /// before `end` if given (`start` must itself start with `prefix`; pass the prefix to begin
    /// at its first key). Keys past `end` are not read.
    fn scan(
        &self,
        prefix: &[u8],
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, Error>;
    /// Applies every write or none.
    fn apply(&self, writes: Vec<Write>) -> Result<(), Error>;
    /// Makes every applied batch durable (on the disk, past its cache).
    fn sync(&self) -> Result<(), Error>;
    /// Bytes used on disk (0 in memory).
    fn size_on_disk(&self) -> u64;
}

/// The ordered map behind [`Memory`].
type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// Keys and values in memory.
#[derive(Default)]
pub struct Memory {
    map: Mutex<Map>,
}

impl Memory {
    /// An empty store.
    pub fn new() -> Memory {
        Memory::default()
    }

    fn map(&self) -> Result<std::sync::MutexGuard<'_, Map>, Error> {
        self.map
            .lock()
            .map_err(|_| Error::new("the memory store is poisoned by an earlier panic"))
    }
}

impl Backend for Memory {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.map()?.get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, Error> {
        Ok(self
            .map()?
            .range(start.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .take_while(|(key, _)| end.is_none_or(|end| key.as_slice() < end))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), Error> {
        let mut map = self.map()?;
        for (key, value) in writes {
            match value {
                Some(value) => {
                    map.insert(key, value);
                }
                None => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), Error> {
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        0
    }
}

/// The embedded default: one sled tree in a folder.
pub struct Sled {
    db: sled::Db,
    folder: PathBuf,
    /// sled's log file (`db/db`), where every batch lands: synced at every commit.
    log: std::fs::File,
    /// The files below the store known to be on the disk; a file sled adds later (a blob for a
    /// large value, a snapshot) is synced once, with its folder, at the next commit.
    synced: Mutex<std::collections::BTreeSet<PathBuf>>,
    /// Whether sled compresses the log (fixed when the folder was made).
    compressed: bool,
}

/// zstd's level for sled's log items (1 to 22): level 1 shrank the benchmark's store as much as 3
/// did, for less CPU.
pub const COMPRESSION_LEVEL: i32 = 1;

/// Whether the sled database in `db` (the folder sled was given) was made with compression:
/// `None` for a new database (no settings file yet), else the `use_compression` line of the
/// `conf` file sled writes at creation (`segment_size: …`, `use_compression: …`, `version: …`,
/// then a 4-byte checksum).
pub fn sled_compression(db: &Path) -> Result<Option<bool>, Error> {
    let path = db.join("conf");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::new(format!(
                "cannot read the store's settings `{}`: {e}",
                path.display()
            )));
        }
    };
    // sled treats a settings file this short as missing and writes a new one.
    if bytes.len() <= 8 {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .find_map(|line| line.strip_prefix("use_compression: "))
        .and_then(|value| match value.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
        .map(Some)
        .ok_or_else(|| {
            Error::new(format!(
                "the store's settings `{}` do not say whether it is compressed; the data folder may be damaged",
                path.display()
            ))
        })
}

impl Sled {
    /// Opens (or creates) the database in `folder`: a new one not compressed (the default of
    /// `[store] compression`), an existing one as it was made.
    pub fn open(folder: &Path) -> Result<Sled, Error> {
        Sled::open_with(folder, false)
    }

    /// Opens (or creates) the database in `folder`; a new one is compressed if `compress_new`
    /// (an existing one keeps the setting it was made with).
    pub fn open_with(folder: &Path, compress_new: bool) -> Result<Sled, Error> {
        std::fs::create_dir_all(folder).map_err(|e| {
            Error::new(format!(
                "cannot create the data folder `{}`: {e}",
                folder.display()
            ))
        })?;
        let compressed = sled_compression(&folder.join("db"))?.unwrap_or(compress_new);
        let db = sled::Config::new()
            .path(folder.join("db"))
            // The cache does not bound memory in sled 0.34; keep it modest.
            .cache_capacity(64 * 1024 * 1024)
            .use_compression(compressed)
            .compression_factor(COMPRESSION_LEVEL)
            .open()
            .map_err(|e| {
                Error::new(format!(
                    "cannot open the store in `{}`: {e} (is another `journey run` using it?)",
                    folder.display()
                ))
            })?;
        let files = folder.join("db");
        let log_path = files.join("db");
        let log = std::fs::File::open(&log_path).map_err(|e| {
            Error::new(format!(
                "cannot open the store's log `{}`: {e}",
                log_path.display()
            ))
        })?;
        // Everything sled wrote before is made durable once; from then on, commits sync the log
        // and whatever file is new.
        sync_folder(&files)?;
        let synced = Mutex::new(files_below(&files)?);
        Ok(Sled {
            db,
            folder: folder.to_path_buf(),
            log,
            synced,
            compressed,
        })
    }

    /// Whether sled compresses this database's log.
    pub fn compressed(&self) -> bool {
        self.compressed
    }
}

fn sled_error(what: &str, error: sled::Error) -> Error {
    Error::new(format!("the store failed while {what}: {error}"))
}

impl Backend for Sled {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.db
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| sled_error("reading", e))
    }

    fn scan(
        &self,
        prefix: &[u8],
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Pairs, Error> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let range = match end {
            Some(end) => self.db.range(start.to_vec()..end.to_vec()),
            None => self.db.range(start.to_vec()..),
        };
        for item in range {
            let (key, value) = item.map_err(|e| sled_error("scanning", e))?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        for (key, value) in writes {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        self.db
            .apply_batch(batch)
            .map_err(|e| sled_error("writing a batch", e))
    }

    fn sync(&self) -> Result<(), Error> {
        self.db.flush().map_err(|e| sled_error("flushing", e))?;
        // sled's flush stops at sync_file_range: make the data reach the disk itself. One
        // `fdatasync` of the log per commit; a file sled created since (blobs are written
        // without a sync) is synced with its folder once.
        self.log
            .sync_data()
            .map_err(|e| Error::new(format!("cannot sync the store's log: {e}")))?;
        let files = self.folder.join("db");
        let present = files_below(&files)?;
        let mut synced = self
            .synced
            .lock()
            .map_err(|_| Error::new("the store's sync state is poisoned by an earlier panic"))?;
        if present.iter().any(|path| !synced.contains(path)) {
            for path in present.iter().filter(|path| !synced.contains(*path)) {
                if let Ok(file) = std::fs::File::open(path) {
                    file.sync_data().map_err(|e| {
                        Error::new(format!("cannot sync `{}`: {e}", path.display()))
                    })?;
                }
            }
            sync_folders(&files)?;
        }
        *synced = present;
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

/// Every file below `folder` (its subfolders included).
fn files_below(folder: &Path) -> Result<std::collections::BTreeSet<PathBuf>, Error> {
    let mut found = std::collections::BTreeSet::new();
    let entries = std::fs::read_dir(folder)
        .map_err(|e| Error::new(format!("cannot list `{}`: {e}", folder.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error::new(format!("cannot list `{}`: {e}", folder.display())))?
            .path();
        if path.is_dir() {
            found.extend(files_below(&path)?);
        } else {
            found.insert(path);
        }
    }
    Ok(found)
}

/// `fsync` on `folder` and every folder below it (so new names in them are durable).
fn sync_folders(folder: &Path) -> Result<(), Error> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| Error::new(format!("cannot list `{}`: {e}", folder.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sync_folders(&path)?;
        }
    }
    // Not every file system syncs folders; where it cannot, the files themselves were synced.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// `fdatasync` on every file below `folder`, then on the folder itself.
fn sync_folder(folder: &Path) -> Result<(), Error> {
    let entries = std::fs::read_dir(folder).map_err(|e| {
        Error::new(format!(
            "cannot list `{}` to sync it: {e}",
            folder.display()
        ))
    })?;
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::new(format!("cannot list `{}`: {e}", folder.display())))?;
        let path = entry.path();
        if path.is_dir() {
            sync_folder(&path)?;
        } else if let Ok(file) = std::fs::File::open(&path) {
            file.sync_data()
                .map_err(|e| Error::new(format!("cannot sync `{}`: {e}", path.display())))?;
        }
    }
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}
