//! Pure helpers that turn values and templates into what a customer reads.
//!
//! - `locale`: money, dates, times and numbers in the customer's locale (glibc locale data through
//!   `pure-rust-locales`, month names through chrono's `format_localized`).
//! - `escape`: values made safe for HTML, and for Markdown that will become HTML.
//! - `markdown`: a Markdown body to its HTML part, its plain-text part, and the HTML document
//!   around it.
//! - `prepared`: a Markdown body worked out once per template and shape, values pasted in.
//!
//! Everything here is a function of its arguments: no I/O, no clock, no environment.
//! Time zones are left out on purpose: callers convert instants to the customer's zone first.

pub mod escape;
pub mod locale;
pub mod markdown;
pub mod prepared;
