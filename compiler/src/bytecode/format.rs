//! The binary format of a compiled program (`.jbc` files, and the runtime's stored programs).
//!
//! ```text
//! offset  size  content
//! 0       8     magic: the bytes `JOURNEY` and 0x1A
//! 8       2     format version, little endian (FORMAT_VERSION)
//! 10      32    SHA-256 of the body: the program's identity (its content hash)
//! 42      …     body: the Program encoded with postcard
//! ```
//!
//! A program is named by its content hash, so the same journey compiled twice is the same
//! program, and a changed journey is a different one. Reading checks the magic, the version and
//! the hash before decoding, so a foreign, truncated or corrupted file is a clear error.

use std::fmt;

use sha2::{Digest, Sha256};

use super::Program;

/// The first bytes of every bytecode file.
pub const MAGIC: [u8; 8] = *b"JOURNEY\x1a";

/// The version of the format this build writes and reads.
pub const FORMAT_VERSION: u16 = 2;

const HEADER_LEN: usize = 8 + 2 + 32;

/// The content hash naming a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgramHash(pub [u8; 32]);

impl ProgramHash {
    /// The full hash in lowercase hex.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 12 hex digits, as shown to people.
    pub fn short(&self) -> String {
        self.hex().chars().take(12).collect()
    }
}

impl fmt::Display for ProgramHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Why bytes could not be read as a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes do not start with the magic.
    NotBytecode,
    /// Fewer bytes than the header needs.
    Truncated {
        /// How many bytes there were.
        len: usize,
    },
    /// Written by a build with another format version.
    UnsupportedVersion {
        /// The file's version.
        found: u16,
    },
    /// The body does not match its hash.
    HashMismatch,
    /// The body could not be decoded.
    Corrupt {
        /// The decoder's explanation.
        detail: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotBytecode => f.write_str(
                "this is not a journey bytecode file (it does not start with the bytecode header); build one with `journey build`",
            ),
            DecodeError::Truncated { len } => write!(
                f,
                "the file is truncated: {len} bytes, shorter than the {HEADER_LEN}-byte header"
            ),
            DecodeError::UnsupportedVersion { found } => write!(
                f,
                "bytecode format version {found} is not supported by this build, which reads version {FORMAT_VERSION}; rebuild the journeys with this `journey build`"
            ),
            DecodeError::HashMismatch => f.write_str(
                "the file is corrupt: its content does not match the hash in its header",
            ),
            DecodeError::Corrupt { detail } => {
                write!(f, "the file is corrupt: cannot decode the program ({detail})")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Encodes a program; returns the bytes and the program's hash.
pub fn encode(program: &Program) -> (Vec<u8>, ProgramHash) {
    // Encoding plain data into a Vec cannot fail; an empty body would fail the hash check.
    let body = postcard::to_stdvec(program).unwrap_or_default();
    let hash = ProgramHash(Sha256::digest(&body).into());
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&hash.0);
    bytes.extend_from_slice(&body);
    (bytes, hash)
}

/// The hash of a program, as [`encode`] computes it.
pub fn hash(program: &Program) -> ProgramHash {
    encode(program).1
}

/// Decodes bytes written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<(Program, ProgramHash), DecodeError> {
    match bytes.get(..8) {
        Some(magic) if magic == MAGIC => {}
        // A few bytes that begin like a header: a cut-off file.
        None if !bytes.is_empty() && MAGIC.starts_with(bytes) => {
            return Err(DecodeError::Truncated { len: bytes.len() });
        }
        _ => return Err(DecodeError::NotBytecode),
    }
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or(DecodeError::Truncated { len: bytes.len() })?;
    let version = header
        .get(8..10)
        .and_then(|v| <[u8; 2]>::try_from(v).ok())
        .map(u16::from_le_bytes)
        .ok_or(DecodeError::Truncated { len: bytes.len() })?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion { found: version });
    }
    let stored: [u8; 32] = header
        .get(10..HEADER_LEN)
        .and_then(|h| <[u8; 32]>::try_from(h).ok())
        .ok_or(DecodeError::Truncated { len: bytes.len() })?;
    let body = bytes.get(HEADER_LEN..).unwrap_or(&[]);
    let actual: [u8; 32] = Sha256::digest(body).into();
    if actual != stored {
        return Err(DecodeError::HashMismatch);
    }
    let (decoded, too_deep) = super::depth::guarded(|| postcard::take_from_bytes(body));
    let (program, rest): (Program, &[u8]) = decoded.map_err(|error| DecodeError::Corrupt {
        detail: if too_deep {
            format!("nesting deeper than {} levels", super::depth::MAX_DEPTH)
        } else {
            error.to_string()
        },
    })?;
    if !rest.is_empty() {
        return Err(DecodeError::Corrupt {
            detail: format!("{} unexpected bytes after the program", rest.len()),
        });
    }
    Ok((program, ProgramHash(stored)))
}
