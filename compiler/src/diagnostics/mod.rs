//! Diagnostics as data: every problem the compiler finds, with code, spans, notes and help.
//!
//! Phases build [`Diagnostic`]s through the constructor functions of the family modules
//! (`syntax`, `names`, `types`, `journeys`, `templates`, `policies`,
//! `migrations`) so the wording of each
//! message lives in one place. Renderers in [`render`] are pure functions of diagnostics and the
//! source map; this module never prints.

pub mod codes;
pub mod journeys;
pub mod migrations;
pub mod names;
pub mod policies;
pub mod render;
pub mod suggest;
pub mod syntax;
pub mod templates;
pub mod types;

pub use codes::Code;

use crate::source::Span;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something the marketer probably wants to know; the journey still runs.
    Warning,
    /// The journey cannot run as written.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A span with an optional message printed at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is at that spot.
    pub text: Option<String>,
}

impl Label {
    /// A label with a message.
    pub fn new(span: Span, text: impl Into<String>) -> Label {
        Label {
            span,
            text: Some(text.into()),
        }
    }
}

/// A text edit that applies a suggested fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The text replaced (empty to insert).
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

/// What to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Help {
    /// A sentence for the marketer.
    pub text: String,
    /// A fix an editor can apply.
    pub edit: Option<Edit>,
}

/// One problem found in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `J0102` and its name.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One line naming the thing.
    pub message: String,
    /// The main spot; always present.
    pub primary: Label,
    /// Related spots.
    pub secondary: Vec<Label>,
    /// Extra facts.
    pub notes: Vec<String>,
    /// What to type instead.
    pub help: Option<Help>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity.
    pub fn new(code: Code, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label::new(span, text));
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(Help {
            text: text.into(),
            edit: None,
        });
        self
    }

    /// Sets the help text with a fix that replaces `span` by `replacement`.
    pub fn with_fix(
        mut self,
        text: impl Into<String>,
        span: Span,
        replacement: impl Into<String>,
    ) -> Diagnostic {
        self.help = Some(Help {
            text: text.into(),
            edit: Some(Edit {
                span,
                replacement: replacement.into(),
            }),
        });
        self
    }

    /// Every span this diagnostic points at.
    pub fn spans(&self) -> impl Iterator<Item = Span> + '_ {
        std::iter::once(self.primary.span)
            .chain(self.secondary.iter().map(|label| label.span))
            .chain(
                self.help
                    .iter()
                    .filter_map(|help| help.edit.as_ref().map(|edit| edit.span)),
            )
    }
}

/// Sorts diagnostics by file, position and code, so every output is stable.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.span, a.code, &a.message).cmp(&(b.primary.span, b.code, &b.message))
    });
}
