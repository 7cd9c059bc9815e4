//! Wording of types diagnostics.
