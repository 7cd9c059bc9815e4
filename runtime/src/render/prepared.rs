//! Markdown email bodies worked out once per shape, with the values pasted in afterwards.
//!
//! Parsing a Markdown body is most of the cost of an email. The literal text of a template does
//! not change from one customer to the next; only the values in it do, and which branches of
//! its `{% if %}`s are taken and how many times its `{% for %}`s go round (its *shape*). So for
//! each shape the Markdown is rendered once with a placeholder (an ASCII word) where each value
//! stands, and cut into pieces at the placeholders; a message is then the pieces with each value
//! escaped for the HTML part (as pulldown-cmark escapes text or a link destination) and as is in
//! the plain-text part.
//!
//! That is only the same as rendering the message's own Markdown when the value cannot change
//! how the Markdown around it is read. Values are escaped before they are pasted into Markdown
//! (`render::escape::markdown_value`), so they never open a tag, a block or emphasis of their
//! own; what is left is checked here, conservatively (anything else renders the whole message
//! as before):
//!
//! - where the placeholder stands, once per shape ([`Prepared::new`]): in text, or in the
//!   destination of an inline link; not in code, raw HTML, an image, a link title, a table, after
//!   an unclosed `<`, or after `&` and letters (where it could complete an entity); the source has
//!   no link reference definitions and no table delimiter row;
//! - the value itself, per message ([`Prepared::render`]): not empty, no control characters (no
//!   line breaks) and no backticks, no blanks at either end; at the start of a line, a first
//!   letter, digit or character that the Markdown escaping escapes, and not digits alone before
//!   `.` or `)`; after `\`, and after a run of
//!   `*`, `_` or `~` that follows something other than a blank, a first letter or digit (so the
//!   run opens and closes as it does before the placeholder); before such a run that is followed
//!   by something other than a blank, a last letter or digit; no blanks in a link destination.
//!
//! In the plain-text part a link reads `text (url)` unless its text is its url: when the text or
//! the url holds a value, that is decided per message.
//!
//! Shapes are kept per thread, by program version (content hash), template and shape, like the
//! strftime patterns of `render::locale`: a cache, so rendering stays a pure function of its
//! inputs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pulldown_cmark::{Event, LinkType, Tag, TagEnd};

use super::markdown;

/// Opens and closes the placeholder of value `k`: `JvQzX{k}XzQvJ`.
const SLOT: (&str, &str) = ("JvQzX", "XzQvJ");
/// Opens and closes the mark where the plain text's link suffix `n` is decided: `JvQzL{n}LzQvJ`.
const LINK: (&str, &str) = ("JvQzL", "LzQvJ");
/// What both begin with.
const MARK: &str = "JvQz";
/// Characters `render::escape::markdown_value` always escapes or writes as an entity (and `-` and
/// `=`, which it escapes at the start of a value).
const ESCAPED: &str = "\\*_[]()#+!|~-=<>&\"'";
/// Shapes kept per thread before the table is emptied (a bound on memory, never reached by the
/// shipped journeys: a few shapes per template).
const MAX_SHAPES: usize = 4096;

/// One piece of a template's Markdown source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// The template's literal text.
    Raw(&'a str),
    /// The next value.
    Value,
}

/// Where a shape is kept: program version, template index, and the shape (branch taken at each
/// `if`, item count of each `for`, in the order the template met them).
type Key = ([u8; 32], u32, Vec<u32>);

thread_local! {
    static SHAPES: RefCell<HashMap<Key, Option<Rc<Prepared>>>> = RefCell::new(HashMap::new());
}

/// The text and HTML parts of one shape of a template, from the table of this thread (worked out
/// on first use), or `None` when the shape or one of the values needs the whole rendering.
#[must_use]
pub fn render_cached(
    version: [u8; 32],
    template: u32,
    shape: Vec<u32>,
    segments: &[Segment<'_>],
    values: &[&str],
) -> Option<(String, String)> {
    let key = (version, template, shape);
    let prepared = SHAPES.with(|shapes| shapes.borrow().get(&key).cloned());
    let prepared = match prepared {
        Some(prepared) => prepared,
        None => {
            let prepared = Prepared::new(segments).map(Rc::new);
            SHAPES.with(|shapes| {
                let mut shapes = shapes.borrow_mut();
                if shapes.len() >= MAX_SHAPES {
                    shapes.clear();
                }
                shapes.insert(key, prepared.clone());
            });
            prepared
        }
    }?;
    prepared.render(values)
}

/// What one value must be, for its place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Rule {
    /// It is (part of) a link destination: no blanks, escaped as an href in HTML.
    href: bool,
    /// It starts a line (after blanks and block markers): its first character must be a letter,
    /// a digit, or one that is escaped in Markdown (so it cannot start a block).
    line_start: bool,
    /// It must not be digits alone.
    not_only_digits: bool,
    /// Its first character must be a letter or digit.
    alnum_start: bool,
    /// Its last character must be a letter or digit.
    alnum_end: bool,
}

/// A piece of a prepared part.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Literal output.
    Lit(String),
    /// Value `k`.
    Slot(usize),
    /// The plain-text suffix of link `n`.
    Link(usize),
}

/// A template's Markdown in one shape, cut at its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    rules: Vec<Rule>,
    html: Vec<Piece>,
    text: Vec<Piece>,
    /// The text and url of each link whose plain-text suffix depends on values.
    links: Vec<(Vec<Piece>, Vec<Piece>)>,
    /// Literal bytes of each part, to size the output.
    html_len: usize,
    text_len: usize,
}

impl Prepared {
    /// Prepares a source (literal pieces and values), or `None` when a value stands where it
    /// could change how the Markdown is read.
    #[must_use]
    pub fn new(segments: &[Segment<'_>]) -> Option<Prepared> {
        let mut source = String::new();
        let mut spans = Vec::new();
        for segment in segments {
            match segment {
                Segment::Raw(raw) => {
                    if raw.contains(MARK) {
                        return None;
                    }
                    source.push_str(raw);
                }
                Segment::Value => {
                    let start = source.len();
                    source.push_str(&token(SLOT, spans.len()));
                    spans.push((start, source.len()));
                }
            }
        }
        let mut rules = Vec::with_capacity(spans.len());
        for &(start, end) in &spans {
            rules.push(place_rule(&source, start, end)?);
        }
        if has_delimiter_row(&source) {
            return None;
        }
        let mut parser = markdown::parser(&source);
        let events: Vec<Event<'_>> = parser.by_ref().collect();
        if parser.reference_definitions().iter().next().is_some() {
            return None;
        }
        let mut seen = vec![0_u32; rules.len()];
        check_events(&events, &mut rules, &mut seen)?;
        if seen.iter().any(|count| *count != 1) {
            return None;
        }
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, events.iter().cloned());
        let html = split(&html, rules.len(), 0)?;
        if count_slots(&html) != rules.len() {
            return None;
        }
        let (text, links) = markdown::text_with_links_apart(events)?;
        let links = links
            .iter()
            .map(|(text, url)| Some((split(text, rules.len(), 0)?, split(url, rules.len(), 0)?)))
            .collect::<Option<Vec<_>>>()?;
        let text = split(&text, rules.len(), links.len())?;
        Some(Prepared {
            html_len: lit_len(&html),
            text_len: lit_len(&text),
            rules,
            html,
            text,
            links,
        })
    }

    /// The text and HTML parts with these values (printed, not escaped), or `None` when a value
    /// does not fit its place.
    #[must_use]
    pub fn render(&self, values: &[&str]) -> Option<(String, String)> {
        if values.len() != self.rules.len() {
            return None;
        }
        let mut value_len = 0;
        for (value, rule) in values.iter().zip(&self.rules) {
            if !fits(value, *rule) {
                return None;
            }
            value_len += value.len();
        }
        let mut html = String::with_capacity(self.html_len + value_len * 2);
        for piece in &self.html {
            match piece {
                Piece::Lit(lit) => html.push_str(lit),
                Piece::Slot(k) => {
                    let value = values.get(*k)?;
                    if self.rules.get(*k)?.href {
                        href_into(value, &mut html)?;
                    } else {
                        body_text_into(value, &mut html);
                    }
                }
                Piece::Link(_) => return None,
            }
        }
        let mut text = String::with_capacity(self.text_len + value_len * 2);
        for piece in &self.text {
            match piece {
                Piece::Link(n) => {
                    let (link_text, url) = self.links.get(*n)?;
                    let link_text = paste(link_text, values)?;
                    let url = paste(url, values)?;
                    // As `markdown::TextWriter` ends a link.
                    let link_text = link_text.trim();
                    let bare = url.strip_prefix("mailto:").unwrap_or(&url);
                    if link_text != url && link_text != bare {
                        text.push_str(" (");
                        text.push_str(&url);
                        text.push(')');
                    }
                }
                other => paste_into(other, values, &mut text)?,
            }
        }
        Some((text, html))
    }
}

/// The placeholder or link mark `n`.
fn token(kind: (&str, &str), n: usize) -> String {
    format!("{}{n}{}", kind.0, kind.1)
}

/// Whether a text holds a placeholder or mark.
pub(crate) fn has_mark(text: &str) -> bool {
    text.contains(MARK)
}

/// The mark of link `n` in the plain text.
pub(crate) fn link_mark(n: usize) -> String {
    token(LINK, n)
}

/// What a value at `start..end` of `source` must be, or `None` when no value may stand there.
fn place_rule(source: &str, start: usize, end: usize) -> Option<Rule> {
    let before = source.get(..start)?;
    let after = source.get(end..)?;
    let line = before.rsplit(['\n', '\r']).next().unwrap_or_default();
    // Blanks, block markers and digits, or values (which may be digits) before it on its line.
    let line_start = split(line, usize::MAX, 0)?.iter().all(|piece| match piece {
        Piece::Lit(lit) => lit.chars().all(|c| {
            matches!(c, ' ' | '\t' | '>' | '*' | '+' | '-' | '.' | ')' | '#') || c.is_ascii_digit()
        }),
        _ => true,
    });
    let previous = before.chars().next_back();
    let next = after.chars().next();
    // `&` and letters or `#`: the value could complete an entity.
    let entity = line.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '#');
    if entity.ends_with('&') {
        return None;
    }
    // Inside a tag, a comment or an autolink.
    if let Some(open) = before.rfind('<')
        && before.rfind('>').is_none_or(|close| close < open)
    {
        return None;
    }
    Some(Rule {
        href: false,
        line_start,
        // Digits alone here would make an ordered list item (`12.`).
        not_only_digits: line_start && matches!(next, Some('.' | ')')),
        alnum_start: previous == Some('\\') || run_before_is_flanked(before),
        alnum_end: run_after_is_flanked(after),
    })
}

/// Whether a run of `*`, `_` or `~` ends `before` with something other than blanks before the
/// run: then a value's first character must be a letter or digit for the run to open and close
/// as it does before the placeholder. (After blanks, or at the start of a line, a run before any
/// character other than a blank opens and cannot close, whatever that character is.)
fn run_before_is_flanked(before: &str) -> bool {
    let Some(delimiter) = before
        .chars()
        .next_back()
        .filter(|c| matches!(c, '*' | '_' | '~'))
    else {
        return false;
    };
    before
        .trim_end_matches(delimiter)
        .chars()
        .next_back()
        .is_some_and(|c| !c.is_whitespace())
}

/// The same for a run of `*`, `_` or `~` at the start of `after`: unless blanks or the end
/// follow the run, a value's last character must be a letter or digit.
fn run_after_is_flanked(after: &str) -> bool {
    let Some(delimiter) = after
        .chars()
        .next()
        .filter(|c| matches!(c, '*' | '_' | '~'))
    else {
        return false;
    };
    after
        .trim_start_matches(delimiter)
        .chars()
        .next()
        .is_some_and(|c| !c.is_whitespace())
}

/// Whether a line could be a table's delimiter row (`|---|:--|`).
fn has_delimiter_row(source: &str) -> bool {
    source.split(['\n', '\r']).any(|line| {
        let line = line.trim();
        line.contains('|')
            && line.contains('-')
            && line
                .chars()
                .all(|c| matches!(c, '|' | ':' | '-' | ' ' | '\t'))
    })
}

/// Finds where each placeholder ended up: in text (once), or in an inline link's destination;
/// anywhere else is `None`.
fn check_events(events: &[Event<'_>], rules: &mut [Rule], seen: &mut [u32]) -> Option<()> {
    let n = rules.len();
    let mut count = |text: &str, href: bool, rules: &mut [Rule]| -> Option<()> {
        for piece in split(text, n, 0)? {
            if let Piece::Slot(k) = piece {
                *seen.get_mut(k)? += 1;
                rules.get_mut(k)?.href = href;
            }
        }
        Some(())
    };
    // Inside a code block, an image or a metadata block, where text is not written as text.
    let mut verbatim = 0_u32;
    for event in events {
        match event {
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) if has_mark(dest_url) || has_mark(title) => return None,
            Event::Start(Tag::CodeBlock(_) | Tag::Image { .. } | Tag::MetadataBlock(_)) => {
                verbatim += 1;
            }
            Event::End(TagEnd::CodeBlock | TagEnd::Image | TagEnd::MetadataBlock(_)) => {
                verbatim = verbatim.saturating_sub(1);
            }
            Event::Start(Tag::Table(_)) if n > 0 => return None,
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                if has_mark(title) || has_mark(id) {
                    return None;
                }
                if has_mark(dest_url) {
                    if *link_type != LinkType::Inline {
                        return None;
                    }
                    count(dest_url, true, rules)?;
                }
            }
            Event::Start(Tag::Heading {
                id, classes, attrs, ..
            }) if id.as_deref().is_some_and(has_mark)
                || classes.iter().any(|c| has_mark(c))
                || attrs
                    .iter()
                    .any(|(a, v)| has_mark(a) || v.as_deref().is_some_and(has_mark)) =>
            {
                return None;
            }
            Event::Text(text) if has_mark(text) => {
                if verbatim > 0 {
                    return None;
                }
                count(text, false, rules)?;
            }
            Event::Code(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
            | Event::Html(text)
            | Event::InlineHtml(text)
            | Event::FootnoteReference(text)
            | Event::Start(Tag::FootnoteDefinition(text))
                if has_mark(text) =>
            {
                return None;
            }
            _ => {}
        }
    }
    Some(())
}

/// Cuts a prepared part at its placeholders and link marks; `None` if one is not a known one.
fn split(text: &str, slots: usize, links: usize) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let (lit, mark) = rest.split_at_checked(at)?;
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit.to_owned()));
        }
        let (piece, after) = if let Some(inner) = mark.strip_prefix(SLOT.0) {
            let (digits, after) = inner.split_once(SLOT.1)?;
            let k: usize = digits.parse().ok()?;
            (k < slots).then_some((Piece::Slot(k), after))?
        } else if let Some(inner) = mark.strip_prefix(LINK.0) {
            let (digits, after) = inner.split_once(LINK.1)?;
            let n: usize = digits.parse().ok()?;
            (n < links).then_some((Piece::Link(n), after))?
        } else {
            return None;
        };
        pieces.push(piece);
        rest = after;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_owned()));
    }
    Some(pieces)
}

fn count_slots(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .filter(|piece| matches!(piece, Piece::Slot(_)))
        .count()
}

fn lit_len(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Lit(lit) => lit.len(),
            _ => 0,
        })
        .sum()
}

/// Whether a value fits its place (see the module's documentation).
fn fits(value: &str, rule: Rule) -> bool {
    if value.is_ascii() {
        fits_ascii(value, rule)
    } else {
        fits_chars(value, rule)
    }
}

/// [`fits`] for most values: the same tests on bytes.
fn fits_ascii(value: &str, rule: Rule) -> bool {
    let bytes = value.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // `char::is_whitespace` also counts the vertical tab, which `u8::is_ascii_whitespace` does
    // not; every other ASCII blank but the space is a control character.
    let blank = |b: u8| b.is_ascii_whitespace() || b == 0x0b;
    let escaped = |b: u8| ESCAPED.as_bytes().contains(&b);
    !(blank(first)
        || blank(last)
        || (rule.line_start && !(first.is_ascii_alphanumeric() || escaped(first)))
        || (rule.not_only_digits && bytes.iter().all(u8::is_ascii_digit))
        || (rule.alnum_start && !first.is_ascii_alphanumeric())
        || (rule.alnum_end && !last.is_ascii_alphanumeric())
        || bytes
            .iter()
            .any(|&b| b.is_ascii_control() || b == b'`' || (rule.href && blank(b))))
}

/// [`fits`] for any value, character by character.
fn fits_chars(value: &str, rule: Rule) -> bool {
    let (Some(first), Some(last)) = (value.chars().next(), value.chars().next_back()) else {
        return false;
    };
    if first.is_whitespace()
        || last.is_whitespace()
        || (rule.line_start && !(first.is_alphanumeric() || ESCAPED.contains(first)))
        || (rule.not_only_digits && value.bytes().all(|b| b.is_ascii_digit()))
        || (rule.alnum_start && !first.is_alphanumeric())
        || (rule.alnum_end && !last.is_alphanumeric())
    {
        return false;
    }
    !value
        .chars()
        .any(|c| c.is_control() || c == '`' || (rule.href && c.is_whitespace()))
}

/// Text as pulldown-cmark's HTML writer escapes a text event (`&`, `<`, `>`). The three are
/// ASCII, so bytes are looked at: no byte of a longer UTF-8 sequence can be one of them.
fn body_text_into(value: &str, out: &mut String) {
    let mut start = 0;
    for (idx, byte) in value.bytes().enumerate() {
        let escaped = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        out.push_str(value.get(start..idx).unwrap_or_default());
        out.push_str(escaped);
        start = idx + 1;
    }
    out.push_str(value.get(start..).unwrap_or_default());
}

/// A link destination as pulldown-cmark's HTML writer escapes it: with the function it calls
/// (per byte, so pieces of a destination escape the same apart).
fn href_into(value: &str, out: &mut String) -> Option<()> {
    pulldown_cmark_escape::escape_href(out, value).ok()
}

fn paste(pieces: &[Piece], values: &[&str]) -> Option<String> {
    let mut out = String::new();
    for piece in pieces {
        paste_into(piece, values, &mut out)?;
    }
    Some(out)
}

fn paste_into(piece: &Piece, values: &[&str], out: &mut String) -> Option<()> {
    match piece {
        Piece::Lit(lit) => out.push_str(lit),
        Piece::Slot(k) => out.push_str(values.get(*k)?),
        Piece::Link(_) => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::escape::markdown_value_into;

    #[test]
    fn ascii_values_fit_as_characters_do() {
        let values = [
            "",
            " ",
            "a",
            "ab",
            "12",
            "a1",
            "1a",
            "-x",
            "x-",
            "#1",
            "*",
            "a b",
            " a",
            "a ",
            "a\tb",
            "a\u{b}",
            "\u{b}a",
            "a\u{c}",
            "a\nb",
            "a\rb",
            "a`b",
            "a\u{7f}",
            "a\u{0}",
            "https://x.it/a?b=1&c=2",
            "Giulia",
            "19,90 €",
            "A-12",
            "(x)",
            "!",
            "~~",
        ];
        for value in values.iter().filter(|v| v.is_ascii()) {
            for bits in 0..32u8 {
                let rule = Rule {
                    href: bits & 1 != 0,
                    line_start: bits & 2 != 0,
                    not_only_digits: bits & 4 != 0,
                    alnum_start: bits & 8 != 0,
                    alnum_end: bits & 16 != 0,
                };
                assert_eq!(
                    fits_ascii(value, rule),
                    fits_chars(value, rule),
                    "{value:?} {rule:?}"
                );
            }
        }
    }

    /// The whole rendering of a source with these values.
    fn full(segments: &[Segment<'_>], values: &[&str]) -> (String, String) {
        let mut source = String::new();
        let mut next = values.iter();
        for segment in segments {
            match segment {
                Segment::Raw(raw) => source.push_str(raw),
                Segment::Value => {
                    markdown_value_into(next.next().copied().unwrap_or(""), &mut source)
                }
            }
        }
        markdown::to_text_and_html(&source)
    }

    /// Splits `a {} b {} c` into raw pieces and values.
    fn segments(template: &str) -> Vec<Segment<'_>> {
        let mut out = Vec::new();
        for (idx, raw) in template.split("{}").enumerate() {
            if idx > 0 {
                out.push(Segment::Value);
            }
            out.push(Segment::Raw(raw));
        }
        out
    }

    #[test]
    fn pasted_values_give_the_whole_rendering_or_none() {
        let templates = [
            "Hi {}, *{}* and **{}**\n\n- {} × **{}**: {}\n- b\n\n[{}](mailto:{})\n\n[{}]({})",
            "**{}**\n\n---\n{} · {}\n[{}]({}/x?a=1)",
            "1{}. x\n\n{}\n===\n\n# {}\n\n> {}",
            "a_{}_b ~{}~ \\{} &{} <b>{}</b> <{}> `{}`",
            "    {}\n\n<div>{}</div>\n\n| a | {} |\n|---|---|\n",
            "[x]({} \"{}\") ![{}]({}) [{}] [a][{}]\n\n[a]: /url",
            "{}{}. x\n\n- {}) y\n\n{}.\n\n{} {}",
            "x *{}*a* y a*_{}_ b **{}**b c** ~{}~",
            "_a*_{} z\n\n*b_*{} z\n\nc\\{}",
            "x\r\n{}. y\r\n\r\n**{}**z\r- {}\ra\r1{}. y",
        ];
        let values = [
            "Bob",
            "1",
            "2",
            "3.",
            ".",
            "x.",
            ".x",
            ")",
            "*Bob*",
            "_x_",
            "<b>",
            "a & b",
            "[x](y)",
            "#1",
            "- x",
            "1.",
            "12",
            "a\nb",
            " a",
            "a ",
            "",
            "`x`",
            "https://shop.it/a_b?x=1&y=2",
            "caffè",
            "x*",
            "&amp;",
            "a b",
            "é",
            "~",
            "\\",
            "2,50 €",
            "mailto:a@b.c",
            "a@b.c",
        ];
        let mut prepared_count = 0;
        for template in templates {
            let segments = segments(template);
            let n = segments.iter().filter(|s| **s == Segment::Value).count();
            let prepared = Prepared::new(&segments);
            for shift in 0..values.len() {
                let chosen: Vec<&str> = (0..n)
                    .map(|k| {
                        values
                            .get((k * 7 + shift) % values.len())
                            .copied()
                            .unwrap_or("")
                    })
                    .collect();
                if let Some(result) = prepared.as_ref().and_then(|p| p.render(&chosen)) {
                    prepared_count += 1;
                    assert_eq!(
                        result,
                        full(&segments, &chosen),
                        "{template:?} with {chosen:?}"
                    );
                }
            }
        }
        assert!(prepared_count > 0);
    }

    #[test]
    fn link_text_equal_to_its_url_reads_once() {
        let segments = segments("[{}](mailto:{}) [{}]({})");
        let prepared = Prepared::new(&segments);
        assert!(prepared.is_some());
        let values = ["a@b.it", "a@b.it", "https://x.it", "https://y.it"];
        let result = prepared.and_then(|p| p.render(&values));
        assert_eq!(result, Some(full(&segments, &values)));
    }
}
