//! The prelude: standard e-commerce events, the customer schema, builtin functions and the
//! default layout, written in the journey language and compiled into every check.
//!
//! It holds source text only; the compiler parses it like any other file.

/// One prelude file: the name shown in diagnostics and its text.
#[derive(Clone, Copy, Debug)]
pub struct PreludeFile {
    /// Name shown in diagnostics, e.g. `<prelude>/commerce.journey`.
    pub name: &'static str,
    /// The source text.
    pub text: &'static str,
}

/// Every prelude file, in load order.
pub const PRELUDE: &[PreludeFile] = &[
    PreludeFile {
        name: "<prelude>/customer.journey",
        text: include_str!("../prelude/customer.journey"),
    },
    PreludeFile {
        name: "<prelude>/commerce.journey",
        text: include_str!("../prelude/commerce.journey"),
    },
    PreludeFile {
        name: "<prelude>/engagement.journey",
        text: include_str!("../prelude/engagement.journey"),
    },
    PreludeFile {
        name: "<prelude>/builtins.journey",
        text: include_str!("../prelude/builtins.journey"),
    },
    PreludeFile {
        name: "<prelude>/layouts.journey",
        text: include_str!("../prelude/layouts.journey"),
    },
];
