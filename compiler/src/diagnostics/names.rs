//! Wording of names diagnostics.
