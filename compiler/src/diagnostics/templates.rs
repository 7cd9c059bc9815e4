//! Wording of templates diagnostics.
