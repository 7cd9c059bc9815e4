//! Wording of name diagnostics (J0101–J0113): unknown names with "did you mean", duplicates,
//! data not known where it is used, call arguments.

use super::suggest::closest;
use super::{Code, Diagnostic, Label};
use crate::check::expr::SendSite;
use crate::check::scope::Missing;
use crate::source::Span;
use crate::syntax::ast::Ident;

/// Adds "did you mean" with a fix when a candidate is close to the name.
pub(super) fn with_suggestion<'a>(
    diagnostic: Diagnostic,
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    match closest(&ident.name, candidates) {
        Some(best) => diagnostic.with_fix(format!("did you mean `{best}`?"), ident.span, best),
        None => diagnostic,
    }
}

/// An event name that is not declared.
pub fn unknown_event<'a>(
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownEvent,
        format!("unknown event `{}`", ident.name),
        Label::new(ident.span, "no event has this name"),
    )
    .with_note("events are declared with `event name { … }`; the standard ones are in the prelude");
    with_suggestion(diagnostic, ident, candidates)
}

/// A field that the event or record does not have.
pub fn unknown_field<'a>(
    part: &Ident,
    record: &str,
    path: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let fields: Vec<&str> = candidates.clone().into_iter().collect();
    let diagnostic = Diagnostic::new(
        Code::UnknownField,
        format!("`{record}` has no field `{}`", part.name),
        Label::new(part.span, format!("not a field of `{path}`")),
    )
    .with_note(format!(
        "the fields of `{record}` are: {}",
        fields.join(", ")
    ));
    with_suggestion(diagnostic, part, candidates)
}

/// A customer attribute that is not declared.
pub fn unknown_attribute<'a>(
    part: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownAttribute,
        format!("the customer profile has no attribute `{}`", part.name),
        Label::new(part.span, "unknown customer attribute"),
    )
    .with_note("a shop adds attributes with a `customer { name: type }` block");
    with_suggestion(diagnostic, part, candidates)
}

/// A name known on some paths only.
pub fn not_in_scope(head: &Ident, missing: &Missing, send_site: Option<&SendSite>) -> Diagnostic {
    let message = match send_site {
        Some(site) => format!(
            "template `{}` uses `{}`, which is not known on every path to where it is sent",
            site.template, head.name
        ),
        None => format!("`{}` is not known on every path to this step", head.name),
    };
    let mut diagnostic = Diagnostic::new(
        Code::NotInScope,
        message,
        Label::new(head.span, format!("`{}` may not exist here", head.name)),
    )
    .with_label(
        missing.lost_at,
        format!("`{}` is not known {}", head.name, missing.why),
    );
    if let Some(site) = send_site {
        diagnostic = diagnostic.with_label(site.span, "sent here");
    }
    diagnostic.with_help(format!(
        "make every path bind `{}` (for example wait for the event again in the timeout branch), or `exit` on the paths that lack it",
        head.name
    ))
}

/// A name used before the step that binds it.
pub fn not_yet_known(head: &Ident, bound_at: Span, send_site: Option<&SendSite>) -> Diagnostic {
    let message = match send_site {
        Some(site) => format!(
            "template `{}` uses `{}`, which is not known yet where it is sent",
            site.template, head.name
        ),
        None => format!("`{}` is not known yet at this step", head.name),
    };
    let mut diagnostic = Diagnostic::new(
        Code::NotInScope,
        message,
        Label::new(
            head.span,
            format!("`{}` does not exist yet here", head.name),
        ),
    )
    .with_label(bound_at, "it is known only after this wait");
    if let Some(site) = send_site {
        diagnostic = diagnostic.with_label(site.span, "sent here");
    }
    diagnostic.with_help(format!(
        "move this step after the wait that binds `{}`",
        head.name
    ))
}

/// A name that is not known at all.
pub fn unknown_name<'a>(
    head: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
    is_event: bool,
    send_site: Option<&SendSite>,
) -> Diagnostic {
    let message = match send_site {
        Some(site) => format!(
            "template `{}` uses `{}`, which is not known where it is sent",
            site.template, head.name
        ),
        None => format!("`{}` is not known here", head.name),
    };
    let mut diagnostic = Diagnostic::new(
        Code::UnknownName,
        message,
        Label::new(head.span, "unknown name"),
    );
    if let Some(site) = send_site {
        diagnostic = diagnostic.with_label(site.span, "sent here");
    }
    if is_event {
        diagnostic = diagnostic.with_note(format!(
            "`{}` is an event: its data is known only after `when {0} as name` or `wait for {0} as name`",
            head.name
        ));
    }
    with_suggestion(diagnostic, head, candidates)
}

/// A type name that is not a builtin type, record or event.
pub fn unknown_type<'a>(
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownType,
        format!("unknown type `{}`", ident.name),
        Label::new(ident.span, "not a type"),
    )
    .with_note("types are text, int, decimal, money, bool, date, datetime, time, duration, email, url, list<T>, or a record or event name");
    with_suggestion(diagnostic, ident, candidates)
}

/// A function or filter that is not a builtin.
pub fn unknown_function<'a>(
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownFunction,
        format!("unknown function or filter `{}`", ident.name),
        Label::new(ident.span, "not a builtin"),
    )
    .with_note("the builtins are listed in docs/language.md#builtins");
    with_suggestion(diagnostic, ident, candidates)
}

/// A segment that is not declared.
pub fn unknown_segment<'a>(
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownSegment,
        format!("unknown segment `{}`", ident.name),
        Label::new(ident.span, "no segment has this name"),
    )
    .with_note("segments are declared with `segment name where condition`");
    with_suggestion(diagnostic, ident, candidates)
}

/// A template that is not declared.
pub fn unknown_template<'a>(
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownTemplate,
        format!("unknown template `{}`", ident.name),
        Label::new(ident.span, "no template has this name"),
    );
    with_suggestion(diagnostic, ident, candidates)
}

/// A layout that is not declared.
pub fn unknown_layout<'a>(
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownLayout,
        format!("unknown layout `{}`", ident.name),
        Label::new(ident.span, "no layout has this name"),
    )
    .with_note("`layout none` sends the body without a layout; the prelude declares `standard`");
    with_suggestion(diagnostic, ident, candidates)
}

/// A second declaration of a name.
pub fn duplicate_declaration(ident: &Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateDeclaration,
        format!("`{}` is declared twice", ident.name),
        Label::new(ident.span, "declared again here"),
    )
    .with_label(first, "first declared here")
    .with_help("rename one of them; names are shared by every file checked together")
}

/// A second declaration of a field.
pub fn duplicate_field(ident: &Ident, first: Span, record: &str) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateField,
        format!("`{record}` declares the field `{}` twice", ident.name),
        Label::new(ident.span, "declared again here"),
    )
    .with_label(first, "first declared here")
    .with_help("remove one of the two fields")
}

/// A named argument the function does not take.
pub fn unknown_argument<'a>(
    ident: &Ident,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let params: Vec<&str> = candidates.clone().into_iter().collect();
    let diagnostic = Diagnostic::new(
        Code::BadArguments,
        format!("no argument is called `{}`", ident.name),
        Label::new(ident.span, "unknown argument"),
    )
    .with_note(format!("the arguments are: {}", params.join(", ")));
    with_suggestion(diagnostic, ident, candidates)
}

/// More positional arguments than parameters.
pub fn extra_argument(span: Span, count: usize) -> Diagnostic {
    Diagnostic::new(
        Code::BadArguments,
        format!("too many arguments: this function takes {count}"),
        Label::new(span, "one argument too many"),
    )
    .with_help("remove this argument")
}

/// A required argument left out.
pub fn missing_argument(span: Span, name: &str, ty: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadArguments,
        format!("the argument `{name}` is missing"),
        Label::new(span, format!("`{name}` ({ty}) is required")),
    )
    .with_help(format!("add `{name}: …`"))
}

/// A `builtin` declaration the runtime has no implementation for.
pub fn builtin_not_provided<'a>(
    ident: &Ident,
    provided: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::BuiltinNotProvided,
        format!(
            "the runtime does not provide a builtin called `{}`",
            ident.name
        ),
        Label::new(ident.span, "no function of the runtime has this name"),
    )
    .with_note("`builtin` declares a function the runtime implements; it cannot add new ones");
    with_suggestion(diagnostic, ident, provided)
}
