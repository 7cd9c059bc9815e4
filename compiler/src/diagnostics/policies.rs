//! Wording of policies diagnostics.
