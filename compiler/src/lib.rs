//! The journey compiler: parses `.journey` files, resolves names, checks types and the rules of
//! journeys, and reports every problem as data ([`diagnostics::Diagnostic`]).
//!
//! It does no I/O: callers hand it a [`source::SourceMap`] (and a [`Loader`] for imports) and
//! render the diagnostics it returns with [`diagnostics::render`].

pub mod diagnostics;
pub mod source;
pub mod syntax;
