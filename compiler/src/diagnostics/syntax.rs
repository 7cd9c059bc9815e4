//! Wording of syntax diagnostics (J0001–J0005).

use super::{Code, Diagnostic, Label};
use crate::source::Span;

/// The parser met something it did not expect.
pub fn unexpected(
    code: Code,
    found_span: Span,
    expected: &[String],
    found: Option<&str>,
    previous: Option<&str>,
) -> Diagnostic {
    let wanted = join_alternatives(expected);
    let message = match previous {
        Some(previous) if !wanted.is_empty() => format!("expected {wanted} after `{previous}`"),
        _ if !wanted.is_empty() => format!("expected {wanted}"),
        _ => "this is not valid here".to_string(),
    };
    let label = match found {
        None => "the text ends here".to_string(),
        Some("") => "the line ends here".to_string(),
        Some(token) => format!("found `{token}`"),
    };
    let mut diagnostic = Diagnostic::new(code, message, Label::new(found_span, label));
    if let [only] = expected {
        diagnostic = diagnostic.with_help(format!("write {only} here"));
    }
    diagnostic
}

/// `wait 3 hrs`: a number followed by a word that is not a unit of time. `instead` is the unit
/// meant, when it can be told (an abbreviation, an Italian word, a typo).
pub fn unknown_time_unit(span: Span, word: &str, instead: Option<&str>) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::Syntax,
        format!("`{word}` is not a unit of time"),
        Label::new(span, "not a unit of time"),
    );
    match instead {
        Some(unit) => diagnostic.with_fix(format!("did you mean `{unit}`?"), span, unit),
        None => diagnostic.with_help(
            "write one of `seconds`, `minutes`, `hours`, `days`, `weeks`, `months` or `years` (or `s`, `min`, `h`, `d`, `w`)",
        ),
    }
}

/// A declaration whose `{` is never closed.
pub fn unclosed_declaration(head: Span, head_text: &str, insert_at: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        format!("`{head_text}` is never closed with `}}`"),
        Label::new(head, "this declaration is not closed"),
    )
    .with_fix("add `}` at its end", insert_at, "\n}")
}

/// A `{% if %}` or `{% for %}` without its closing tag.
pub fn unclosed_tag(open: Span, tag: &str, closer: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TemplateSyntax,
        format!("`{tag}` is never closed"),
        Label::new(open, "opened here"),
    )
    .with_help(format!(
        "add `{closer}` where the repeated or conditional part ends"
    ))
}

/// A word that looks like a misspelled keyword.
pub fn misspelled_keyword(code: Code, span: Span, word: &str, keyword: &str) -> Diagnostic {
    Diagnostic::new(
        code,
        format!("unknown word `{word}`"),
        Label::new(span, "not a keyword here"),
    )
    .with_fix(format!("did you mean `{keyword}`?"), span, keyword)
}

/// `reminder: wait 3 hours`: a step label without the `step` keyword.
pub fn label_without_step(span: Span, word: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        format!("a step label is written `step {word}:`"),
        Label::new(span, "a label starts with `step`"),
    )
    .with_fix(
        "write `step` before the label",
        span,
        format!("step {word}"),
    )
}

/// `=` where `==` was meant.
pub fn single_equals(code: Code, span: Span) -> Diagnostic {
    Diagnostic::new(
        code,
        "`=` stores a value; to compare, write `==`",
        Label::new(span, "comparison written with one `=`"),
    )
    .with_fix("write `==`", span, "==")
}

/// A declaration nested deeper than the parser accepts.
pub fn too_deep(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        format!("this declaration is nested more than {limit} levels deep"),
        Label::new(span, "too deep from here on"),
    )
    .with_help("split it into smaller journeys or templates")
}

/// `when order placed`: a name written as two words.
pub fn spaced_name(span: Span, joined: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        "an event name is one word, with `_` between its parts",
        Label::new(span, "written as two words"),
    )
    .with_fix(format!("did you mean `{joined}`?"), span, joined)
}

/// `wait for 3 days`: a length of time where an event was expected.
pub fn wait_for_duration(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        "`wait for` waits for an event, such as `wait for order_shipped up to 5 days`",
        Label::new(span, "an event name was expected here"),
    )
    .with_help("to wait for a length of time, write `wait 3 days` (without `for`)")
}

/// A text in quotes that is never closed.
pub fn unterminated_text(open: Span, quote: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnterminatedText,
        "this text is never closed",
        Label::new(open, "the text starts here"),
    )
    .with_help(format!("add the closing {quote} at the end of the text"))
}

/// A literal whose value is out of range.
pub fn invalid_literal(span: Span, what: &str, why: &str, example: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidLiteral,
        format!("`{what}` is not a valid {why}"),
        Label::new(span, format!("not a valid {why}")),
    )
    .with_help(format!("write a {why} such as `{example}`"))
}

/// A number or an amount the runtime cannot hold (more than six decimals, or beyond about nine
/// trillion).
pub fn number_out_of_range(span: Span, written: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidLiteral,
        format!("`{written}` cannot be held exactly"),
        Label::new(span, "too many decimals, or too large"),
    )
    .with_note("numbers and amounts keep at most six decimals, and stay under 9,223,372,036,854")
    .with_help("round it, e.g. `12.50` or `49.90 EUR`")
}

/// A percentage with more than two decimals.
pub fn invalid_percentage(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidLiteral,
        "a percentage may have at most two decimals",
        Label::new(span, "too precise"),
    )
    .with_help("round it, e.g. `33.33%`")
}

/// An imported file that could not be read.
pub fn import_not_found(span: Span, path: &str, reason: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ImportNotFound,
        format!("cannot import `{path}`"),
        Label::new(span, reason.to_string()),
    )
    .with_help("check the path: it is relative to the file that imports it")
}

/// "a, b or c".
pub fn join_alternatives(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
