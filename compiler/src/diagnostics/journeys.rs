//! Wording of journey diagnostics (J0301–J0314).

use super::{Code, Diagnostic, Label};
use crate::source::Span;
use crate::syntax::ast::{Channel, Duration, GoalRule, Ident, SplitBranch, Template};

/// "3 days", "5 hours", "90 minutes".
pub fn human_duration(seconds: u64) -> String {
    let units = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    for (size, unit) in units {
        if seconds >= size && seconds.is_multiple_of(size) {
            let count = seconds / size;
            return format!("{count} {unit}{}", if count == 1 { "" } else { "s" });
        }
    }
    "0 seconds".to_string()
}

/// A journey without a trigger.
pub fn missing_trigger(name: &Ident) -> Diagnostic {
    Diagnostic::new(
        Code::MissingTrigger,
        format!(
            "journey `{}` has no trigger, so no customer can enter it",
            name.name
        ),
        Label::new(name.span, "this journey never starts"),
    )
    .with_help("add a `when` line, e.g. `when order_placed as order`")
}

/// A second trigger.
pub fn multiple_triggers(extra: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::MultipleTriggers,
        "a journey has exactly one trigger",
        Label::new(extra, "second trigger"),
    )
    .with_label(first, "first trigger")
    .with_help("write a second journey for the other trigger")
}

/// No re-entry rule: the default applies.
pub fn default_reentry(name: &Ident) -> Diagnostic {
    Diagnostic::new(
        Code::DefaultReentry,
        format!("journey `{}` does not say whether a customer may enter it again; the default is `once` (each customer at most once, ever)", name.name),
        Label::new(name.span, "no re-entry rule"),
    )
    .with_help("say it after the trigger: `once`, `once per order.order_id`, `again after 30 days` or `every time`")
}

/// Two re-entry rules.
pub fn conflicting_entry_rules(extra: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ConflictingEntryRules,
        "a journey has one re-entry rule",
        Label::new(extra, "second rule"),
    )
    .with_label(first, "first rule")
    .with_help("keep the one you mean and remove the other")
}

/// Two goals with one name.
pub fn duplicate_goal(name: &Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateGoal,
        format!("the goal `{}` is declared twice", name.name),
        Label::new(name.span, "declared again here"),
    )
    .with_label(first, "first declared here")
}

/// A journey without steps.
pub fn empty_journey(name: &Ident) -> Diagnostic {
    Diagnostic::new(
        Code::EmptyJourney,
        format!("journey `{}` has no steps", name.name),
        Label::new(name.span, "nothing happens in this journey"),
    )
    .with_help("add a step, e.g. `send email welcome`")
}

/// A goal rule whose window closes before the first message.
pub fn goal_rule_before_first_message(goal: &GoalRule, first_send: u64) -> Diagnostic {
    Diagnostic::new(
        Code::GoalWindowTooShort,
        format!(
            "the goal `{}` closes {} after entry, but the first message goes out at least {} after entry",
            goal.name.name,
            human_duration(goal.within.seconds),
            human_duration(first_send)
        ),
        Label::new(goal.within.span, "window too short"),
    )
    .with_help(format!("make the window at least {}", human_duration(first_send)))
}

/// A goal step reached only after its window has closed.
pub fn goal_window_too_short(span: Span, within: &Duration, elapsed: u64) -> Diagnostic {
    Diagnostic::new(
        Code::GoalWindowTooShort,
        format!(
            "this goal counts only within {} of entry, but no customer can reach it in less than {}",
            human_duration(within.seconds),
            human_duration(elapsed)
        ),
        Label::new(within.span, "window too short"),
    )
    .with_label(span, "the goal")
    .with_help(format!("make the window at least {}", human_duration(elapsed)))
}

/// A date trigger on something that is not a customer date attribute.
pub fn not_a_date_attribute(span: Span, ty: &str) -> Diagnostic {
    Diagnostic::new(
        Code::NotADateAttribute,
        "a date trigger needs a date attribute of the customer",
        Label::new(span, format!("this is {}", super::types::article(ty))),
    )
    .with_help("use a customer attribute of type `date`, e.g. `customer.birthday`")
}

/// A cron expression that does not parse.
pub fn invalid_cron(span: Span, reason: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidCron,
        "this schedule is not a valid cron expression",
        Label::new(span, reason.to_string()),
    )
    .with_note("five fields: minute hour day-of-month month day-of-week")
    .with_help("for every day at 9:00 write \"0 9 * * *\"")
}

/// A time zone name not in the IANA database.
pub fn unknown_time_zone(span: Span, zone: &str, suggestion: Option<&str>) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownTimeZone,
        format!("unknown time zone `{zone}`"),
        Label::new(span, "not an IANA time zone"),
    );
    match suggestion {
        Some(best) => diagnostic.with_fix(
            format!("did you mean `{best}`?"),
            span,
            format!("\"{best}\""),
        ),
        None => diagnostic.with_help("use an IANA name such as \"Europe/Rome\""),
    }
}

/// A step after `exit`.
pub fn unreachable_step(span: Span, previous: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnreachableStep,
        "no customer can reach this step",
        Label::new(span, "unreachable"),
    )
    .with_label(previous, "every customer has left the journey after this")
    .with_help("remove the step, or move it before the `exit`")
}

/// Split percentages that do not add up.
pub fn split_not_hundred(span: Span, branches: &[SplitBranch], total: u64) -> Diagnostic {
    let shown = format!("{}.{:02}", total / 100, total % 100);
    let shown = shown
        .trim_end_matches("00")
        .trim_end_matches('.')
        .to_string();
    let mut diagnostic = Diagnostic::new(
        Code::SplitNotHundred,
        format!("the branches of this split add up to {shown}%, not 100%"),
        Label::new(span, format!("{shown}% in total")),
    );
    for branch in branches {
        diagnostic = diagnostic.with_label(branch.percent_span, "");
    }
    diagnostic
        .secondary
        .iter_mut()
        .for_each(|label| label.text = None);
    diagnostic.with_help("change the percentages so that they add up to 100%")
}

/// Waiting for an event that makes the customer exit.
pub fn wait_for_exit_event(event: Span, exit: Span) -> Diagnostic {
    Diagnostic::new(
        Code::WaitNeverEnds,
        "this wait can never end with its event: the same event makes the customer exit the journey",
        Label::new(event, "the customer exits before this wait sees it"),
    )
    .with_label(exit, "exit rule")
    .with_help("add a `where` condition to the exit rule, or wait for another event")
}

/// A wait for an event without a limit.
pub fn wait_without_limit(wait: Span, event: Span) -> Diagnostic {
    let end = Span {
        start: event.end,
        ..event
    };
    Diagnostic::new(
        Code::WaitNeverEnds,
        "this wait has no time limit: customers whose event never comes would wait forever",
        Label::new(wait, "no `up to`"),
    )
    .with_fix("say how long to wait at most", end, " up to 7 days")
}

/// Sending a template on the wrong channel.
pub fn channel_mismatch(span: Span, channel: Channel, template: &Template) -> Diagnostic {
    Diagnostic::new(
        Code::ChannelMismatch,
        format!(
            "`{}` is {} template, not {}",
            template.name.name,
            with_article(template.channel.keyword()),
            with_article(channel.keyword())
        ),
        Label::new(span, format!("sent as {}", with_article(channel.keyword()))),
    )
    .with_label(
        template.name.span,
        format!("declared for {}", template.channel.keyword()),
    )
    .with_fix(
        format!("send it as {}", with_article(template.channel.keyword())),
        span,
        template.channel.keyword(),
    )
}

fn with_article(channel: &str) -> String {
    match channel {
        "sms" => "an SMS".to_string(),
        "email" => "an email".to_string(),
        other => format!("a {other}"),
    }
}

/// `set` on something that is not a customer attribute.
pub fn set_not_customer(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::SetNotCustomer,
        "only customer attributes can be set",
        Label::new(span, "not a customer attribute"),
    )
    .with_help("write `set customer.attribute = value`; event data cannot be changed")
}

/// `set` with a value of the wrong type.
pub fn set_type_mismatch(target: Span, value: Span, expected: &str, found: &str) -> Diagnostic {
    Diagnostic::new(
        Code::SetTypeMismatch,
        format!(
            "cannot store {} in an attribute of type `{expected}`",
            super::types::article(found)
        ),
        Label::new(value, format!("this is {}", super::types::article(found))),
    )
    .with_label(
        target,
        format!("this attribute holds {}", super::types::article(expected)),
    )
}
