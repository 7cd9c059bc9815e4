//! Literal values: texts (escapes, `"""` indentation), money, durations, percentages.

/// The value of a text literal written with its quotes.
pub fn value(raw: &str) -> String {
    if let Some(inner) = raw
        .strip_prefix("\"\"\"")
        .and_then(|rest| rest.strip_suffix("\"\"\""))
    {
        let layout = TripleLayout::of(inner);
        return layout.clean(inner, 0, inner.len());
    }
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    unescape(inner)
}

/// Resolves `\n`, `\t`, `\\`, `\"`, `\'`; an unknown escape keeps its character.
pub fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// How a `"""` text is laid out: a first line break that is dropped and the indentation that
/// every line loses.
#[derive(Clone, Copy, Debug)]
pub struct TripleLayout {
    /// Whether the text starts with a line break right after `"""`.
    pub leading_newline: bool,
    /// Spaces removed at the start of every line.
    pub indent: usize,
}

impl TripleLayout {
    /// The layout of the inside of a `"""` text.
    pub fn of(inner: &str) -> TripleLayout {
        let leading_newline = inner.starts_with('\n') || inner.starts_with("\r\n");
        let indent = inner
            .lines()
            .skip(usize::from(leading_newline))
            .filter(|line| !line.trim().is_empty())
            .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
            .min()
            .unwrap_or(0);
        TripleLayout {
            leading_newline,
            indent,
        }
    }

    /// The cleaned text of `inner[start..end]`: indentation removed at each line start, the
    /// leading line break dropped, and blanks after the last line break trimmed.
    pub fn clean(&self, inner: &str, start: usize, end: usize) -> String {
        let segment = inner.get(start..end).unwrap_or("");
        let mut out = String::with_capacity(segment.len());
        let mut at_line_start = start == 0 || inner.get(..start).is_some_and(|p| p.ends_with('\n'));
        let mut rest = segment;
        if start == 0 && self.leading_newline {
            rest = rest
                .trim_start_matches('\r')
                .strip_prefix('\n')
                .unwrap_or(rest);
            at_line_start = true;
        }
        let ends_content = end >= inner.len();
        for (idx, line) in rest.split_inclusive('\n').enumerate() {
            let line = if at_line_start || idx > 0 {
                strip_indent(line, self.indent)
            } else {
                line
            };
            out.push_str(line);
            at_line_start = false;
        }
        if ends_content
            && let Some(last_break) = out.rfind('\n')
            && out
                .get(last_break + 1..)
                .is_some_and(|tail| tail.trim().is_empty())
        {
            out.truncate(last_break + 1);
        }
        out
    }
}

fn strip_indent(line: &str, indent: usize) -> &str {
    let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
    line.get(blanks.min(indent)..).unwrap_or(line)
}

/// Amount and ISO currency of a money literal: `€19.90` -> ("19.90", "EUR").
pub fn money(raw: &str) -> (String, String) {
    let signs = [('€', "EUR"), ('$', "USD"), ('£', "GBP")];
    for (sign, code) in signs {
        if raw.contains(sign) {
            let amount = raw.replace(sign, "").trim().to_string();
            return (amount, code.to_string());
        }
    }
    let (amount, code) = raw.split_at(raw.len().saturating_sub(3));
    (amount.trim().to_string(), code.to_string())
}

/// Seconds in a duration literal such as `3 days` or `4h` (a month is 30 days, a year 365).
pub fn duration_seconds(raw: &str) -> u64 {
    let digits_end = raw
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(digits_end);
    let count: u64 = digits.parse().unwrap_or(u64::MAX);
    let unit_seconds: u64 = match unit.trim() {
        "s" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "month" | "months" => 30 * 86_400,
        _ => 365 * 86_400,
    };
    count.saturating_mul(unit_seconds)
}

/// Hundredths of a percent in `12.5` (-> 1250); `None` if more than two decimals.
pub fn basis_points(raw: &str) -> Option<u32> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 2 {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triple_texts_lose_common_indentation() {
        let raw = "\"\"\"\n    Ciao,\n      grazie!\n    \"\"\"";
        assert_eq!(value(raw), "Ciao,\n  grazie!\n");
    }

    #[test]
    fn literals() {
        assert_eq!(value(r#""a \"b\"\n""#), "a \"b\"\n");
        assert_eq!(money("€19.90"), ("19.90".into(), "EUR".into()));
        assert_eq!(money("19.90 USD"), ("19.90".into(), "USD".into()));
        assert_eq!(duration_seconds("3 days"), 259_200);
        assert_eq!(duration_seconds("4h"), 14_400);
        assert_eq!(basis_points("12.5"), Some(1250));
        assert_eq!(basis_points("33.333"), None);
    }
}
