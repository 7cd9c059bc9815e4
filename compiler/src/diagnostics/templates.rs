//! Wording of template diagnostics (J0401–J0403).

use super::{Code, Diagnostic, Label};
use crate::syntax::ast::{Ident, Template};

/// A template no journey sends.
pub fn unused_template(name: &Ident) -> Diagnostic {
    Diagnostic::new(
        Code::UnusedTemplate,
        format!("no journey sends the template `{}`", name.name),
        Label::new(name.span, "never sent"),
    )
    .with_help("send it from a journey, or remove it")
}

/// A marketing email without an unsubscribe link.
pub fn missing_unsubscribe(template: &Template) -> Diagnostic {
    Diagnostic::new(
        Code::MissingUnsubscribe,
        format!("the marketing email `{}` gives no way to unsubscribe", template.name.name),
        Label::new(template.name.span, "no unsubscribe link in its body or layout"),
    )
    .with_label(template.category_span, "marketing messages need an unsubscribe link")
    .with_help("keep the standard layout (remove `layout none`) or print `{{ unsubscribe_url }}` in the body")
}

/// A template without a part its channel needs.
pub fn missing_part(template: &Template, part: &str, example: &str) -> Diagnostic {
    Diagnostic::new(
        Code::MissingTemplatePart,
        format!(
            "the {} template `{}` has no {part}",
            template.channel.keyword(),
            template.name.name
        ),
        Label::new(template.name.span, format!("no {part}")),
    )
    .with_help(format!("add a line such as `{example}`"))
}
