//! Wording of type diagnostics (J0201–J0210).

use super::{Code, Diagnostic, Label};
use crate::source::Span;
use crate::syntax::ast::Call;

/// Two operands that do not go together.
pub fn type_mismatch(
    op: &str,
    left: Span,
    left_ty: &str,
    right: Span,
    right_ty: &str,
) -> Diagnostic {
    let number = |ty: &str| ty == "int" || ty == "decimal";
    let help =
        if (left_ty == "money" && number(right_ty)) || (number(left_ty) && right_ty == "money") {
            "write the number as an amount with its currency, e.g. `€30` or `30 EUR`"
        } else if (left_ty == "duration" && number(right_ty))
            || (number(left_ty) && right_ty == "duration")
        {
            "write the number as a duration with its unit, e.g. `3 days`"
        } else {
            "compare or combine values of the same kind (money with money, dates with dates)"
        };
    operands(op, left, left_ty, right, right_ty).with_help(help)
}

/// A number written in quotes against a number (`customer.points > "100"`): the same report,
/// with the quotes taken away as its fix.
pub fn quoted_number(
    op: &str,
    (left, left_ty): (Span, &str),
    (right, right_ty): (Span, &str),
    text: Span,
    number: &str,
) -> Diagnostic {
    operands(op, left, left_ty, right, right_ty).with_fix(
        format!("write the number without quotes: `{number}`"),
        text,
        number,
    )
}

/// The message and labels of two operands that do not go together.
fn operands(op: &str, left: Span, left_ty: &str, right: Span, right_ty: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        format!(
            "cannot use `{op}` with {} and {}",
            article(left_ty),
            article(right_ty)
        ),
        Label::new(right, format!("this is {}", article(right_ty))),
    )
    .with_label(left, format!("this is {}", article(left_ty)))
}

/// Elements of a list literal that do not go together.
pub fn mixed_list(span: Span, first: &str, other: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        format!(
            "a list cannot hold both {} and {}",
            article(first),
            article(other)
        ),
        Label::new(span, format!("this is {}", article(other))),
    )
}

/// A unary operator on the wrong kind of value.
pub fn bad_unary(span: Span, op: &str, ty: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        format!("cannot use `{op}` on {}", article(ty)),
        Label::new(span, format!("this is {}", article(ty))),
    )
}

/// Money literals of two currencies combined.
pub fn mixed_currencies(
    op: &str,
    left: Span,
    left_currency: &str,
    right: Span,
    right_currency: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::MixedCurrencies,
        format!("cannot use `{op}` with {left_currency} and {right_currency} amounts"),
        Label::new(right, format!("this amount is in {right_currency}")),
    )
    .with_label(left, format!("this amount is in {left_currency}"))
    .with_help(format!(
        "write both amounts in the same currency, e.g. both in {left_currency}"
    ))
}

/// An optional value used where a value is required; `in_template` picks the `{% if %}` form
/// of the suggested check.
pub fn unhandled_optional_in(
    in_template: bool,
    span: Span,
    what: &str,
    ty: &str,
    use_: &str,
) -> Diagnostic {
    let check = if in_template {
        format!("`{{% if {what} is set %}}…{{% endif %}}`")
    } else {
        format!("`if {what} is set {{ … }}`")
    };
    Diagnostic::new(
        Code::UnhandledOptional,
        format!("`{what}` may be missing, so you cannot {use_} directly"),
        Label::new(
            span,
            format!(
                "this is {}, which may be missing",
                article(&format!("{ty}?"))
            ),
        ),
    )
    .with_help(format!(
        "give a fallback with `{what} ?? …`, or check first with {check}"
    ))
}

/// An optional yes/no used as a condition.
pub fn unhandled_optional_condition(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnhandledOptional,
        "this condition may be missing, so it is neither true nor false",
        Label::new(span, "this is a bool?, which may be missing"),
    )
    .with_help("say what a missing value means with `?? false` (or `?? true`)")
}

/// A condition that is not a yes/no value.
pub fn condition_not_bool(span: Span, ty: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ConditionNotBool,
        format!(
            "a condition must be true or false, but this is {}",
            article(ty)
        ),
        Label::new(span, format!("this is {}", article(ty))),
    )
    .with_help("compare it with something, e.g. `customer.orders_count > 1`")
}

/// An argument of the wrong type.
pub fn argument_type(
    span: Span,
    function: &str,
    param: &str,
    expected: &str,
    found: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::ArgumentType,
        format!(
            "`{function}` expects {} for `{param}`, but this is {}",
            article(expected),
            article(found)
        ),
        Label::new(span, format!("this is {}", article(found))),
    )
}

/// No overload of a builtin accepts the arguments.
pub fn no_overload(call: &Call, given: &[String], accepted: &[String]) -> Diagnostic {
    Diagnostic::new(
        Code::ArgumentType,
        format!(
            "`{}` cannot be used with ({})",
            call.name.name,
            given.join(", ")
        ),
        Label::new(call.span, "no version of this function takes these values"),
    )
    .with_note(format!("it can be used as: {}", accepted.join("; ")))
}

/// Looping over, or looking inside, something that is not a list.
pub fn not_a_list(span: Span, ty: &str, construct: &str) -> Diagnostic {
    Diagnostic::new(
        Code::NotAList,
        format!("{construct} needs a list, but this is {}", article(ty)),
        Label::new(span, format!("this is {}", article(ty))),
    )
}

/// Printing a record or list in a template.
pub fn not_printable(span: Span, ty: &str) -> Diagnostic {
    Diagnostic::new(
        Code::NotPrintable,
        format!("{} cannot be printed as text", article(ty)),
        Label::new(span, format!("this is {}", article(ty))),
    )
    .with_help(
        "print one of its fields, or loop over a list with `{% for item in list %}…{% endfor %}`",
    )
}

/// Reading a field of something that has none.
pub fn no_fields(part: &crate::syntax::ast::Ident, path: &str, ty: &str) -> Diagnostic {
    Diagnostic::new(
        Code::NoFields,
        format!("`{path}` is {} and has no fields", article(ty)),
        Label::new(
            part.span,
            format!("`{}` cannot be read from {}", part.name, article(ty)),
        ),
    )
}

/// "a money", "an int", "a list<line_item>".
pub fn article(ty: &str) -> String {
    let vowel = ty.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} `{ty}`", if vowel { "an" } else { "a" })
}
