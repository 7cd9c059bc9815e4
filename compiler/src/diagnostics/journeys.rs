//! Wording of journeys diagnostics.
