//! A bound on nesting while decoding: a crafted file with thousands of nested expressions would
//! otherwise exhaust the stack. Every recursive field of the format decodes through [`nested`],
//! which refuses more than [`MAX_DEPTH`] levels with a decoding error.

use std::cell::Cell;

use serde::de::{Deserialize, Deserializer, Error};

/// The deepest nesting decoded (the compiler refuses far shallower source).
pub const MAX_DEPTH: u32 = 256;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static EXCEEDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs a decoding with the depth count starting from zero; also says whether it failed for
/// nesting too deep (decoders such as postcard do not keep custom error messages).
pub fn guarded<T>(decode: impl FnOnce() -> T) -> (T, bool) {
    DEPTH.with(|depth| depth.set(0));
    EXCEEDED.with(|exceeded| exceeded.set(false));
    let result = decode();
    DEPTH.with(|depth| depth.set(0));
    (result, EXCEEDED.with(|exceeded| exceeded.replace(false)))
}

/// Decodes one level deeper, or fails past [`MAX_DEPTH`].
pub fn nested<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let level = DEPTH.with(Cell::get).saturating_add(1);
    if level > MAX_DEPTH {
        EXCEEDED.with(|exceeded| exceeded.set(true));
        return Err(D::Error::custom(format!(
            "nesting deeper than {MAX_DEPTH} levels"
        )));
    }
    DEPTH.with(|depth| depth.set(level));
    let result = T::deserialize(deserializer);
    DEPTH.with(|depth| depth.set(level - 1));
    result
}
