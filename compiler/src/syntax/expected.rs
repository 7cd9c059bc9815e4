//! Turns pest's errors into plain-language diagnostics.
//!
//! Every grammar rule maps, through one exhaustive `match`, to the phrase a marketer reads
//! ("a duration such as `3 days`"), so no rule name ever reaches the user.

use std::collections::BTreeSet;

use pest::error::{Error, ErrorVariant, InputLocation};

use super::Rule;
use super::parse::Ctx;
use crate::diagnostics::Code;
use crate::diagnostics::Diagnostic;
use crate::diagnostics::syntax as wording;
use crate::source::Span;

/// A diagnostic for a pest error in `text`, the slice parsed at `ctx`.
pub fn diagnostic(code: Code, ctx: Ctx, text: &str, error: &Error<Rule>) -> Diagnostic {
    let reported = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let position = error
        .parse_attempts()
        .map_or(reported, |attempts| attempts.max_position.max(reported))
        .min(text.len());
    let at = |start: usize, end: usize| Span::new(ctx.file, ctx.base + start, ctx.base + end);
    let unclosed_triple = (text.matches("\"\"\"").count() % 2 == 1)
        .then(|| text.rfind("\"\"\""))
        .flatten();
    if let Some(open) = unclosed_triple
        .or_else(|| unterminated_text(text, position))
        .or_else(|| open_quote_on_line(text, position))
    {
        let quote = if text.get(open..open + 3) == Some("\"\"\"") {
            "\"\"\""
        } else {
            text.get(open..open + 1).unwrap_or("\"")
        };
        return wording::unterminated_text(at(open, open + quote.len()), quote);
    }
    if code == Code::TemplateSyntax
        && let Some((open, tag, closer)) = unclosed_tag(text, position)
    {
        return wording::unclosed_tag(at(open, open + tag.len()), &tag, closer);
    }
    let mut phrases = BTreeSet::new();
    let mut keywords = BTreeSet::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        // pest's positives belong to the position it reported; use them only if that is where
        // the message points.
        if position == reported {
            for rule in positives {
                if let Some(phrase) = phrase(*rule) {
                    phrases.insert(Expectation::from(phrase));
                }
            }
        }
    }
    if let Some(attempts) = error.parse_attempts() {
        for token in attempts.expected_tokens() {
            let token = token.to_string();
            if is_meaningful_token(&token) {
                if token.chars().all(|ch| ch.is_ascii_lowercase()) {
                    keywords.insert(token.clone());
                }
                phrases.insert(Expectation::from_token(&token));
            }
        }
    }
    let expected = summarize(phrases);
    // `wait 3 hrs`: where a unit of time was the only thing that could come (`30 euro` in a
    // condition is another mistake).
    if let Some((start, word)) = word_after_number(text, position)
        && !TIME_UNITS.contains(&word)
        && (expected.is_empty() || expected.iter().any(|e| e.contains("unit of time")))
    {
        return wording::unknown_time_unit(at(start, start + word.len()), word, unit_meant(word));
    }
    let found = found_token(text, position);
    let found_len = found.as_ref().map_or(0, String::len);
    let found_span = at(position, position + found_len);
    let previous = previous_token(text, position);

    if found.is_none() && expected.iter().any(|e| e == "`}`") {
        let head_end = text
            .find('\n')
            .unwrap_or(text.len())
            .min(text.find('{').unwrap_or(text.len()));
        let head = text.get(..head_end).unwrap_or("").trim_end();
        let insert_at = text.trim_end().len();
        return wording::unclosed_declaration(at(0, head.len()), head, at(insert_at, insert_at));
    }
    if let Some(word) = found
        .as_deref()
        .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        && text
            .get(position + word.len()..)
            .is_some_and(|rest| rest.starts_with(':'))
        && expected.iter().any(|e| e.starts_with("a step such as"))
    {
        return wording::label_without_step(found_span, word);
    }
    if let Some(word) = found
        .as_deref()
        .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        let same_start = keywords
            .iter()
            .map(String::as_str)
            .filter(|k| k.get(..1) == word.get(..1));
        if let Some(keyword) = crate::diagnostics::suggest::closest(word, same_start) {
            return wording::misspelled_keyword(code, found_span, word, keyword);
        }
    }
    let is_word =
        |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if expected.iter().any(|e| e == "`as` and a name")
        && let (Some(first), Some(second)) = (previous.as_deref(), found.as_deref())
        && is_word(first)
        && is_word(second)
        && let Some(start) = text
            .get(..position)
            .and_then(|before| before.trim_end().strip_suffix(first).map(str::len))
    {
        let joined = format!("{first}_{second}");
        return wording::spaced_name(at(start, position + second.len()), &joined);
    }
    if previous.as_deref() == Some("for")
        && found
            .as_deref()
            .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
    {
        return wording::wait_for_duration(found_span);
    }
    if found.as_deref() == Some("=") && text.get(position..position + 2) != Some("=>") {
        return wording::single_equals(code, found_span);
    }
    let quote_closed_early = position > 0
        && text.get(position - 1..position) == Some("\"")
        && found
            .as_deref()
            .is_some_and(|w| w.chars().next().is_some_and(char::is_alphanumeric));
    let mut diagnostic = wording::unexpected(
        code,
        found_span,
        &expected,
        found.as_deref(),
        previous.as_deref(),
    );
    if quote_closed_early {
        diagnostic = diagnostic.with_note(
            "the `\"` before this word closed the text; inside `{{ }}` in a one-line text, write texts in single quotes: 'amico'",
        );
    }
    diagnostic
}

fn is_meaningful_token(token: &str) -> bool {
    !token.is_empty()
        && !token.contains("..")
        && !token.chars().all(char::is_whitespace)
        && !matches!(
            token,
            "//" | "/*" | "_" | "-" | "{{-" | "{%-" | "-}}" | "-%}" | "\"\"\"" | "\"" | "'"
        )
}

/// What the parser wanted, ranked so the most helpful phrase comes first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Expectation {
    rank: u8,
    phrase: String,
}

impl Expectation {
    fn from(phrase: &str) -> Expectation {
        let rank = if phrase == "an operator" || phrase == "`is set`" {
            5
        } else {
            1
        };
        Expectation {
            rank,
            phrase: phrase.to_string(),
        }
    }

    fn from_token(token: &str) -> Expectation {
        let phrase = match token {
            "send" | "wait" | "if" | "split" | "set" | "exit" | "goal" | "step" => {
                "a step such as `send`, `wait` or `if`".to_string()
            }
            "when" | "once" | "again" | "every" | "exclusive" | "migrate" => {
                "a step such as `send`, `wait` or `if`".to_string()
            }
            "import" | "event" | "record" | "customer" | "segment" | "builtin" | "layout"
            | "policy" | "template" | "journey" => {
                "a declaration such as `event`, `template` or `journey`".to_string()
            }
            "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "*" | "/" | "??" | "or" | "and"
            | "in" | "is" | "." | "|" => "an operator".to_string(),
            "up" => "`up to`".to_string(),
            "s" | "second" | "seconds" | "m" | "min" | "mins" | "minute" | "minutes" | "h"
            | "hour" | "hours" | "d" | "day" | "days" | "w" | "week" | "weeks" | "month"
            | "months" | "year" | "years" => {
                "a unit of time such as `days`, `hours` or `minutes`".to_string()
            }
            "since" => "`since entry`".to_string(),
            other => format!("`{other}`"),
        };
        let rank = match phrase.as_str() {
            "an operator" => 5,
            "`,`" | "`(`" => 4,
            p if p.starts_with('`') => 0,
            _ => 2,
        };
        Expectation { rank, phrase }
    }
}

/// The units of time a duration may have (as `duration_unit` in the grammar).
const TIME_UNITS: [&str; 21] = [
    "seconds", "second", "s", "minutes", "minute", "mins", "min", "m", "hours", "hour", "h",
    "days", "day", "d", "weeks", "week", "w", "months", "month", "years", "year",
];

/// The word the parse stopped in or at, if it follows a number (`3 hrs`, `2giorni`), with
/// where it starts: a unit of time, or a mistaken one.
fn word_after_number(text: &str, position: usize) -> Option<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut start = position.min(bytes.len());
    while start > 0 && bytes.get(start - 1).is_some_and(u8::is_ascii_alphabetic) {
        start -= 1;
    }
    let mut end = start;
    while bytes.get(end).is_some_and(u8::is_ascii_alphabetic) {
        end += 1;
    }
    if end == start {
        return None;
    }
    let mut before = start;
    while before > 0 && bytes.get(before - 1) == Some(&b' ') {
        before -= 1;
    }
    let digits_end = before;
    while before > 0 && bytes.get(before - 1).is_some_and(u8::is_ascii_digit) {
        before -= 1;
    }
    let part_of_a_name = before > 0
        && bytes
            .get(before - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
    if before == digits_end || part_of_a_name {
        return None;
    }
    Some((start, text.get(start..end)?))
}

/// The unit of time meant by a word that is not one: English abbreviations, the Italian
/// words, or a close spelling.
fn unit_meant(word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    let known = match lower.as_str() {
        "sec" | "secs" | "secondi" | "secondo" => Some("seconds"),
        "minuti" | "minuto" => Some("minutes"),
        "hr" | "hrs" | "ore" | "ora" => Some("hours"),
        "giorni" | "giorno" | "gg" => Some("days"),
        "wk" | "wks" | "settimane" | "settimana" => Some("weeks"),
        "mo" | "mos" | "mth" | "mths" | "mesi" | "mese" => Some("months"),
        "yr" | "yrs" | "anni" | "anno" => Some("years"),
        _ => None,
    };
    // The plural first: `2 dayz` meant `days`.
    let close = |plural: bool| {
        crate::diagnostics::suggest::closest(
            &lower,
            TIME_UNITS
                .into_iter()
                .filter(|unit| unit.len() > 1 && (!plural || unit.ends_with('s'))),
        )
    };
    known.or_else(|| close(true)).or_else(|| close(false))
}

/// Most helpful phrases first, each once, without phrases that another one already says, at most five.
fn summarize(phrases: BTreeSet<Expectation>) -> Vec<String> {
    let journey_level = [
        "`exclusive` and a group name",
        "`exit when` and an event",
        "a goal such as `goal converted when coupon_redeemed within 7 days`",
        "a trigger such as `when order_placed as order`",
        "an entry rule such as `once`, `once per order.order_id` or `again after 30 days`",
    ];
    let has_step = phrases.iter().any(|e| e.phrase.starts_with("a step"));
    let mut ordered: Vec<Expectation> = phrases.into_iter().collect();
    ordered.sort();
    let all: Vec<String> = ordered.iter().map(|e| e.phrase.clone()).collect();
    let mut seen = BTreeSet::new();
    let mut out: Vec<String> = ordered
        .into_iter()
        .map(|e| e.phrase)
        .filter(|phrase| !(has_step && journey_level.contains(&phrase.as_str())))
        .filter(|phrase| {
            !all.iter()
                .any(|other| other != phrase && other.starts_with(phrase.as_str()))
        })
        .filter(|phrase| seen.insert(phrase.clone()))
        .collect();
    let meaningful = out.iter().filter(|p| p.as_str() != "an operator").count();
    if meaningful > 0 {
        out.retain(|p| p != "an operator" && p != "`is set`" && p != "`,`" && p != "`(`");
    }
    out.truncate(5);
    out
}

/// For a template that ends inside `{% if %}` or `{% for %}`: the opening tag and its closer.
fn unclosed_tag(text: &str, position: usize) -> Option<(usize, String, &'static str)> {
    if position < text.trim_end().len() {
        return None;
    }
    let mut open: Vec<(usize, String, &'static str)> = Vec::new();
    let mut rest = 0;
    while let Some(found) = text.get(rest..).and_then(|tail| tail.find("{%")) {
        let start = rest + found;
        let end = text
            .get(start..)
            .and_then(|tail| tail.find("%}"))
            .map_or(text.len(), |e| start + e + 2);
        let tag = text.get(start..end).unwrap_or("");
        let word = tag
            .trim_start_matches("{%")
            .trim_start_matches('-')
            .split_whitespace()
            .next()
            .unwrap_or("");
        match word {
            "if" => open.push((start, tag.to_string(), "{% endif %}")),
            "for" => open.push((start, tag.to_string(), "{% endfor %}")),
            "endif" | "endfor" => {
                open.pop();
            }
            _ => {}
        }
        rest = end.max(start + 2);
    }
    open.pop()
}

/// The phrase for a rule, or `None` for rules that never stand alone in an error.
fn phrase(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::WHITESPACE | Rule::COMMENT => return None,
        Rule::chunk | Rule::declaration => "a declaration such as `event`, `template` or `journey`",
        Rule::import_decl => "`import \"file.journey\"`",
        Rule::event_decl => "an event declaration",
        Rule::record_decl => "a record declaration",
        Rule::customer_decl => "a customer declaration",
        Rule::field | Rule::param => "a field such as `order_id: text`",
        Rule::type_expr | Rule::list_type => "a type such as `text`, `money` or `list<line_item>`",
        Rule::optional_mark => "`?`",
        Rule::segment_decl => "a segment declaration",
        Rule::builtin_decl => "a builtin declaration",
        Rule::layout_decl => "a layout declaration",
        Rule::layout_part | Rule::layout_slot => "`header` or `footer`",
        Rule::policy_decl => "a policy declaration",
        Rule::policy_rule | Rule::quiet_hours | Rule::frequency_cap => {
            "a policy rule such as `quiet hours 21:00 to 08:00` or `at most 3 per 7 days`"
        }
        Rule::cap_action | Rule::cap_verb => "`then defer` or `then skip`",
        Rule::local_mark => "`local`",
        Rule::zone => "a time zone such as `in \"Europe/Rome\"`",
        Rule::template_decl => "a template declaration",
        Rule::channel => "a channel: `email`, `sms` or `webhook`",
        Rule::category => "`transactional` or `marketing`",
        Rule::template_part
        | Rule::subject_part
        | Rule::preheader_part
        | Rule::body_part
        | Rule::layout_choice => "a template part such as `subject \"…\"` or `body \"\"\"…\"\"\"`",
        Rule::body_format => "`markdown`, `text` or `html`",
        Rule::journey_decl => "a journey declaration",
        Rule::journey_item => "a journey rule or a step",
        Rule::trigger
        | Rule::event_trigger
        | Rule::schedule_trigger
        | Rule::date_trigger
        | Rule::segment_trigger => "a trigger such as `when order_placed as order`",
        Rule::date_kw => "`date`",
        Rule::schedule_kw => "`schedule`",
        Rule::entered_kw => "`entered`",
        Rule::binding => "`as` and a name",
        Rule::where_clause => "`where` and a condition",
        Rule::entry_rule | Rule::once_rule | Rule::again_rule | Rule::every_rule => {
            "an entry rule such as `once`, `once per order.order_id` or `again after 30 days`"
        }
        Rule::exit_rule => "`exit when` and an event",
        Rule::goal_rule => "a goal such as `goal converted when coupon_redeemed within 7 days`",
        Rule::exclusive_rule => "`exclusive` and a group name",
        // Offered wherever a step may stand; the step phrase already says enough there.
        Rule::migrate_rule | Rule::labelled_step | Rule::step_kw => return None,
        Rule::migration => "a migration such as `reminder -> first_reminder` or `reminder -> exit`",
        Rule::migrate_exit => "`exit`",
        Rule::step_label => "a step label such as `step reminder:`",
        Rule::block => "a block of steps in braces `{ … }`",
        Rule::step
        | Rule::send_step
        | Rule::wait_step
        | Rule::wait_until_step
        | Rule::wait_for_step
        | Rule::wait_any_step
        | Rule::if_step
        | Rule::split_step
        | Rule::set_step
        | Rule::exit_step
        | Rule::goal_step => "a step such as `send`, `wait` or `if`",
        Rule::with_item => {
            "a value for the template such as `offer = coupon(percent: 10, valid: 7 days)`"
        }
        Rule::weekday => "a day of the week such as `monday`",
        Rule::up_to => "`up to` and a duration",
        Rule::since_entry => "`since entry`",
        Rule::timeout_block | Rule::timeout_branch => "`timeout => { … }`",
        Rule::event_branch => "a branch such as `on order_placed => { … }`",
        Rule::else_clause => "`else`",
        Rule::split_branch => "a branch such as `50% => { … }`",
        Rule::holdout => "`holdout`",
        Rule::expr | Rule::primary | Rule::prefix => {
            "a value such as `order.total`, `3 days` or `\"text\"`"
        }
        Rule::infix
        | Rule::or_op
        | Rule::and_op
        | Rule::in_op
        | Rule::eq
        | Rule::ne
        | Rule::le
        | Rule::ge
        | Rule::lt
        | Rule::gt
        | Rule::coalesce
        | Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div => "an operator",
        Rule::not_op => "`not`",
        Rule::neg => "`-`",
        Rule::postfix | Rule::is_set | Rule::is_not_set => "`is set`",
        Rule::call => "a function call such as `days_since(customer.last_order_date)`",
        Rule::argument => "an argument",
        Rule::path => "a name such as `order.total`",
        Rule::list_lit => "a list such as `[\"it\", \"en\"]`",
        Rule::money_lit | Rule::currency_sign | Rule::currency_code | Rule::decimal_digits => {
            "an amount such as `€19.90`"
        }
        Rule::duration_lit | Rule::duration_unit => "a duration such as `3 days` or `4 hours`",
        Rule::date_lit => "a date such as `2026-11-23`",
        Rule::time_lit => "a time of day such as `09:00`",
        Rule::percent_lit => "a percentage such as `50%`",
        Rule::number_lit | Rule::int_lit => "a number",
        Rule::bool_lit => "`true` or `false`",
        Rule::text_lit | Rule::triple_text | Rule::double_text | Rule::single_text => {
            "a text in quotes"
        }
        Rule::ident | Rule::ident_char | Rule::reserved => "a name",
        Rule::template_text | Rule::t_node | Rule::t_raw | Rule::t_comment => "template text",
        Rule::t_output | Rule::t_open => "`{{ … }}`",
        Rule::t_close => "`}}` to close `{{`",
        Rule::filter => "a filter such as `| money`",
        Rule::t_if | Rule::t_if_open => "`{% if … %}`",
        Rule::t_elif_open => "`{% elif … %}`",
        Rule::t_else_tag => "`{% else %}`",
        Rule::t_endif_tag => "`{% endif %}` to close the `{% if %}`",
        Rule::t_for | Rule::t_for_open => "`{% for item in list %}`",
        Rule::t_endfor_tag => "`{% endfor %}` to close the `{% for %}`",
        Rule::tag_open => "`{%`",
        Rule::tag_close => "`%}` to close the tag",
    })
}

/// The offset of a quote opening a text that is never closed, if the error sits on one.
fn unterminated_text(text: &str, position: usize) -> Option<usize> {
    let rest = text.get(position..)?;
    if rest.starts_with("\"\"\"") {
        return (!rest.get(3..)?.contains("\"\"\"")).then_some(position);
    }
    let quote = rest.chars().next().filter(|ch| *ch == '"' || *ch == '\'')?;
    let line = rest.get(1..)?.split('\n').next().unwrap_or("");
    let mut escaped = false;
    for ch in line.chars() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == quote {
            return None;
        }
    }
    Some(position)
}

/// The offset of a quote, on the line of `position`, that opens a text no later quote closes.
fn open_quote_on_line(text: &str, position: usize) -> Option<usize> {
    let line_start = text.get(..position)?.rfind('\n').map_or(0, |idx| idx + 1);
    let line_end = text
        .get(position..)?
        .find('\n')
        .map_or(text.len(), |idx| position + idx);
    let line = text.get(line_start..line_end)?;
    if line.contains("\"\"\"") {
        return None;
    }
    let mut open: Option<(usize, char)> = None;
    let mut escaped = false;
    for (idx, ch) in line.char_indices() {
        match open {
            _ if escaped => escaped = false,
            Some(_) if ch == '\\' => escaped = true,
            Some((_, quote)) if ch == quote => open = None,
            Some(_) => {}
            None if ch == '"' => open = Some((idx, ch)),
            None if ch == '/' && line.get(idx + 1..idx + 2) == Some("/") => break,
            None => {}
        }
    }
    open.map(|(idx, _)| line_start + idx)
}

/// The word or symbol at `position`, or `None` at the end of the text.
fn found_token(text: &str, position: usize) -> Option<String> {
    let rest = text.get(position..)?;
    let first = rest.chars().next()?;
    if first.is_alphanumeric() || first == '_' {
        Some(
            rest.chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '.')
                .collect::<String>()
                .trim_end_matches('.')
                .to_string(),
        )
    } else if first == '\n' || first == '\r' {
        Some(String::new())
    } else {
        Some(first.to_string())
    }
}

/// The last word or symbol before `position`, skipping blanks and comments.
fn previous_token(text: &str, position: usize) -> Option<String> {
    let before = text.get(..position)?;
    let mut lines: Vec<&str> = before.lines().collect();
    if before.ends_with('\n') {
        lines.push("");
    }
    while let Some(line) = lines.pop() {
        let code = line.split("//").next().unwrap_or("").trim_end();
        if code.is_empty() {
            continue;
        }
        let last = code.chars().next_back()?;
        let token: String = if last.is_alphanumeric() || last == '_' {
            let mut word: Vec<char> = code
                .chars()
                .rev()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
                .collect();
            word.reverse();
            word.into_iter().collect()
        } else {
            last.to_string()
        };
        return Some(token);
    }
    None
}
