//! A Markdown email body to its HTML part, its plain-text part, and the HTML document around it.
//!
//! The Markdown is CommonMark with strikethrough and tables (pulldown-cmark). Raw HTML in the
//! source is kept: the template's author wrote it, and values were escaped before they were
//! pasted in (`render::escape::markdown_value`).
//! Left out: CSS inlining, link tracking and anything that depends on the sending shop.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::{escape, prepared};

/// Width of the line of dashes a `---` rule becomes in the plain-text part.
const RULE_WIDTH: usize = 40;

/// Converts Markdown to an HTML fragment: CommonMark, strikethrough (`~~x~~`) and tables;
/// raw HTML in the source is passed through.
#[must_use]
pub fn to_html(markdown: &str) -> String {
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser(markdown));
    html
}

/// Derives a readable plain-text part from Markdown.
///
/// Blocks are separated by a blank line; headings keep their text without `#`; list items read
/// `- item` or `1. item`, nested lists indented under their item; emphasis and strikethrough
/// markers are dropped; links read `text (url)`, or just the url when the text is the url;
/// images become their alt text; a rule becomes a line of dashes; line breaks stay; block quotes
/// keep a `> ` prefix; table rows become cells joined by ` | `. Entities are decoded (`&amp;` is
/// `&`) and raw HTML tags are dropped (`<br>` becomes a line break). Lines carry no trailing
/// spaces and the text ends with a single newline, or is empty when the Markdown has no text.
#[must_use]
pub fn to_text(markdown: &str) -> String {
    let mut writer = TextWriter::with_capacity(markdown.len());
    for event in parser(markdown) {
        writer.event(event);
    }
    writer.finish()
}

/// Both parts of a Markdown body from one parse: the plain-text part (as [`to_text`] writes
/// it) and the HTML fragment (as [`to_html`] writes it).
#[must_use]
pub fn to_text_and_html(markdown: &str) -> (String, String) {
    let events: Vec<Event<'_>> = parser(markdown).collect();
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.iter().cloned());
    let mut writer = TextWriter::with_capacity(markdown.len());
    for event in events {
        writer.event(event);
    }
    (writer.finish(), html)
}

/// The plain-text part of prepared Markdown (`render::prepared`), with the suffix of each link
/// whose text or url holds a placeholder left as a mark, decided per message: the marks and
/// each such link's text and url. `None` where the suffix could not be decided later the same
/// way.
pub(crate) fn text_with_links_apart(
    events: Vec<Event<'_>>,
) -> Option<(String, Vec<(String, String)>)> {
    let mut writer = TextWriter::with_capacity(1024);
    writer.links_apart = Some(Vec::new());
    for event in events {
        writer.event(event);
    }
    if writer.refused {
        return None;
    }
    let links = writer.links_apart.take().unwrap_or_default();
    Some((writer.finish(), links))
}

/// Wraps an HTML body into a minimal email document: doctype, UTF-8, the escaped title, a
/// hidden preheader (the preview line mail clients show after the subject, escaped) when given,
/// and the body in a centered container at most 600px wide.
///
/// Styles are inline because many mail clients drop `<style>` blocks. Outlook for Windows ignores
/// `max-width`, so a 600px table around the body is given to it alone, in a conditional comment
/// that other clients and HTML validators read as a comment.
#[must_use]
pub fn wrap_html(title: &str, preheader: Option<&str>, body_html: &str) -> String {
    const HEAD: &str = "<!DOCTYPE html>\n\
         <html>\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>";
    const BODY: &str = "</title>\n\
         </head>\n\
         <body style=\"margin:0;padding:0;background-color:#ffffff;\">\n";
    const PREHEADER: &str = "<span style=\"display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;\
             font-size:1px;line-height:1px;color:#ffffff;\">";
    const CONTAINER: &str = "<!--[if mso]><table role=\"presentation\" width=\"600\" align=\"center\"><tr><td><![endif]-->\n\
         <div style=\"max-width:600px;margin:0 auto;padding:16px;font-family:Arial,Helvetica,sans-serif;\
         font-size:16px;line-height:1.5;color:#222222;\">\n";
    const END: &str = "</div>\n\
         <!--[if mso]></td></tr></table><![endif]-->\n\
         </body>\n\
         </html>\n";
    let extra = title.len() + preheader.map_or(0, |p| p.len() + PREHEADER.len() + 8);
    let mut out = String::with_capacity(
        HEAD.len() + BODY.len() + CONTAINER.len() + END.len() + body_html.len() + extra + 16,
    );
    out.push_str(HEAD);
    escape::html_into(title, &mut out);
    out.push_str(BODY);
    if let Some(text) = preheader {
        out.push_str(PREHEADER);
        escape::html_into(text, &mut out);
        out.push_str("</span>\n");
    }
    out.push_str(CONTAINER);
    out.push_str(body_html);
    if !body_html.is_empty() && !body_html.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(END);
    out
}

/// The parser every part uses: CommonMark with strikethrough and tables.
pub(crate) fn parser(markdown: &str) -> Parser<'_> {
    Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
}

/// Builds the plain-text part from pulldown-cmark events.
struct TextWriter {
    out: String,
    /// What starts each new line inside the containers we are in: `> ` for a block quote, blanks
    /// as wide as the marker for a list item.
    prefixes: Vec<String>,
    /// The next number of each open list, `None` for bullets.
    lists: Vec<Option<u64>>,
    /// Destination and start (in `out`) of the text of each open link or image.
    links: Vec<(String, usize)>,
    /// A list marker was just written: the item's first block goes on the same line.
    after_marker: bool,
    /// Cells written so far in the current table row.
    n_cells: usize,
    /// When preparing (`render::prepared`): links whose suffix is decided later (text, url).
    links_apart: Option<Vec<(String, String)>>,
    /// When preparing: a link's suffix could not be decided later.
    refused: bool,
}

impl TextWriter {
    fn with_capacity(capacity: usize) -> TextWriter {
        TextWriter {
            out: String::with_capacity(capacity),
            prefixes: Vec::new(),
            lists: Vec::new(),
            links: Vec::new(),
            after_marker: false,
            n_cells: 0,
            links_apart: None,
            refused: false,
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Code(text) | Event::InlineMath(text) => self.text(&text),
            Event::DisplayMath(text) => {
                self.block_start();
                self.text(&text);
            }
            Event::Html(html) => self.html_block(&html),
            Event::InlineHtml(html) => {
                if is_line_break_tag(&html) {
                    self.newline();
                }
            }
            Event::SoftBreak | Event::HardBreak => self.newline(),
            Event::Rule => {
                self.block_start();
                self.text(&"-".repeat(RULE_WIDTH));
            }
            Event::FootnoteReference(label) => self.text(&format!("[{label}]")),
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph
            | Tag::Heading { .. }
            | Tag::CodeBlock(_)
            | Tag::HtmlBlock
            | Tag::Table(_)
            | Tag::DefinitionList
            | Tag::FootnoteDefinition(_)
            | Tag::MetadataBlock(_) => self.block_start(),
            Tag::DefinitionListTitle | Tag::DefinitionListDefinition => self.line_start(),
            Tag::TableHead | Tag::TableRow => {
                self.line_start();
                self.n_cells = 0;
            }
            Tag::TableCell => {
                if self.n_cells > 0 {
                    self.text(" | ");
                }
                self.n_cells += 1;
            }
            Tag::BlockQuote(_) => {
                self.block_start();
                self.prefixes.push("> ".to_owned());
            }
            Tag::List(first) => {
                // A nested list goes right under its item's text; a top-level one is a block.
                if self.lists.is_empty() {
                    self.block_start();
                }
                self.lists.push(first);
            }
            Tag::Item => {
                self.line_start();
                let marker = match self.lists.last_mut() {
                    Some(Some(number)) => {
                        let marker = format!("{number}. ");
                        *number = number.saturating_add(1);
                        marker
                    }
                    _ => "- ".to_owned(),
                };
                self.text(&marker);
                self.prefixes.push(" ".repeat(marker.len()));
                self.after_marker = true;
            }
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push((dest_url.into_string(), self.out.len()));
            }
            Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::BlockQuote(_) | TagEnd::Item => {
                self.prefixes.pop();
                self.after_marker = false;
            }
            TagEnd::List(_) => {
                self.lists.pop();
            }
            TagEnd::Link => self.end_link(),
            TagEnd::Image => {
                // The alt text was written as the image's text; its source is not worth a line.
                self.links.pop();
            }
            _ => {}
        }
    }

    fn end_link(&mut self) {
        let Some((url, start)) = self.links.pop() else {
            return;
        };
        let untrimmed = self.out.get(start..).unwrap_or_default();
        let text = untrimmed.trim();
        if self.links_apart.is_some()
            && !text.is_empty()
            && (prepared::has_mark(untrimmed) || prepared::has_mark(&url))
        {
            if untrimmed.ends_with(char::is_whitespace) || self.out.ends_with('\n') {
                self.refused = true;
                return;
            }
            let untrimmed = untrimmed.to_owned();
            if let Some(apart) = &mut self.links_apart {
                let mark = prepared::link_mark(apart.len());
                apart.push((untrimmed, url));
                self.out.push_str(&mark);
            }
            self.after_marker = false;
            return;
        }
        let bare = url.strip_prefix("mailto:").unwrap_or(&url);
        if text.is_empty() {
            self.text(&url);
        } else if text != url && text != bare {
            self.text(&format!(" ({url})"));
        }
    }

    /// Starts a block: a blank line before it, unless it is the first thing written or the first
    /// block of a list item.
    fn block_start(&mut self) {
        if std::mem::take(&mut self.after_marker) || self.out.is_empty() {
            return;
        }
        self.line_start();
        if !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Ends the current line unless nothing has been written on it.
    fn line_start(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
    }

    /// Writes text; each line starts with the prefixes of the containers it is in.
    fn text(&mut self, text: &str) {
        self.after_marker = false;
        for (line_idx, line) in text.split('\n').enumerate() {
            if line_idx > 0 {
                self.newline();
            }
            if line.is_empty() {
                continue;
            }
            if self.out.is_empty() || self.out.ends_with('\n') {
                for prefix in &self.prefixes {
                    self.out.push_str(prefix);
                }
            }
            self.out.push_str(line);
        }
    }

    /// One line of a raw HTML block from the template: tags are dropped, the text between them
    /// goes on lines of its own, broken where a `<br>` or a block element would break it.
    fn html_block(&mut self, html: &str) {
        for line in html_text_lines(html) {
            self.line_start();
            self.text(&line);
        }
    }

    fn finish(self) -> String {
        let mut text = String::with_capacity(self.out.len() + 1);
        for line in self.out.lines() {
            let line = line.trim_end();
            // Blank lines before the first text are dropped, as are those after the last.
            if text.is_empty() && line.is_empty() {
                continue;
            }
            text.push_str(line);
            text.push('\n');
        }
        while text.ends_with("\n\n") {
            text.pop();
        }
        text
    }
}

/// The text of raw HTML, split where a browser would break the line, trimmed, entities decoded.
fn html_text_lines(html: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut rest = html;
    loop {
        let (text, tag) = match rest.find('<').and_then(|open| rest.split_at_checked(open)) {
            Some((text, tag)) => (text, Some(tag)),
            None => (rest, None),
        };
        for (piece_idx, piece) in text.split('\n').enumerate() {
            if piece_idx > 0 {
                lines.push(std::mem::take(&mut current));
            }
            current.push_str(piece);
        }
        let Some(tag) = tag else { break };
        let Some(close) = tag.find('>') else {
            // A `<` that opens no tag is text.
            current.push_str(tag);
            break;
        };
        let (tag, after) = tag.split_at_checked(close + 1).unwrap_or((tag, ""));
        if is_line_break_tag(tag) {
            lines.push(std::mem::take(&mut current));
        }
        rest = after;
    }
    lines.push(current);
    lines
        .iter()
        .map(|line| decode_entities(line.trim()))
        .filter(|line| !line.is_empty())
        .collect()
}

/// Whether an HTML tag breaks the line of text around it: `<br>`, and block elements.
fn is_line_break_tag(tag: &str) -> bool {
    let name = tag.trim_start_matches('<').trim_start_matches('/');
    let name = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    matches!(
        name.to_ascii_lowercase().as_str(),
        "br" | "p" | "div" | "tr" | "li" | "table" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "hr"
    )
}

/// Decodes the entities template authors put in raw HTML; pulldown-cmark decodes the ones in
/// Markdown text itself.
fn decode_entities(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_has_commonmark_strikethrough_tables_and_raw_html() {
        assert_eq!(to_html(""), "");
        assert_eq!(
            to_html("# Hi\n\n*a* **b** ~~c~~"),
            "<h1>Hi</h1>\n<p><em>a</em> <strong>b</strong> <del>c</del></p>\n"
        );
        assert_eq!(
            to_html("| a | b |\n|---|---|\n| 1 | 2 |"),
            "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>\n<tr><td>1</td><td>2</td></tr>\n</tbody></table>\n"
        );
        assert_eq!(
            to_html("<div align=\"center\">x</div>\n"),
            "<div align=\"center\">x</div>\n"
        );
        assert_eq!(to_html("a <b>b</b>"), "<p>a <b>b</b></p>\n");
    }

    #[test]
    fn text_of_empty_markdown_is_empty() {
        assert_eq!(to_text(""), "");
        assert_eq!(to_text("\n\n  \n"), "");
    }

    #[test]
    fn text_separates_blocks_and_drops_markers() {
        let markdown = "# Your *cart*\n\nHello **Bob**, your ~~old~~ items\nare waiting.  \nStill.\n\n## Items\nThanks &amp; bye &lt;3";
        assert_eq!(
            to_text(markdown),
            "Your cart\n\nHello Bob, your old items\nare waiting.\nStill.\n\nItems\n\nThanks & bye <3\n"
        );
    }

    #[test]
    fn text_lists() {
        assert_eq!(
            to_text("- a\n- b\n\n1. one\n2. two"),
            "- a\n- b\n\n1. one\n2. two\n"
        );
        assert_eq!(to_text("3. three\n4. four"), "3. three\n4. four\n");
        assert_eq!(
            to_text("Intro\n\n- a\n  - a1\n  - a2\n    1. deep\n- b\n\nAfter"),
            "Intro\n\n- a\n  - a1\n  - a2\n    1. deep\n- b\n\nAfter\n"
        );
        assert_eq!(
            to_text("1. one\n   - sub\n2. two"),
            "1. one\n   - sub\n2. two\n"
        );
        // Loose items: the second paragraph of an item is indented under it.
        assert_eq!(to_text("- a\n\n  more\n- b"), "- a\n\n  more\n- b\n");
    }

    #[test]
    fn text_links_and_images() {
        assert_eq!(
            to_text("[Shop now](https://shop.it/x)"),
            "Shop now (https://shop.it/x)\n"
        );
        assert_eq!(
            to_text("[https://shop.it](https://shop.it)"),
            "https://shop.it\n"
        );
        assert_eq!(to_text("<https://shop.it/a>"), "https://shop.it/a\n");
        assert_eq!(to_text("<bob@shop.it>"), "bob@shop.it\n");
        assert_eq!(to_text("[](https://shop.it)"), "https://shop.it\n");
        assert_eq!(
            to_text("![A red mug](https://cdn.shop.it/mug.png)"),
            "A red mug\n"
        );
        assert_eq!(
            to_text("[![Mug](https://cdn.shop.it/mug.png)](https://shop.it/mug)"),
            "Mug (https://shop.it/mug)\n"
        );
        assert_eq!(
            to_text("[a_b](https://shop.it/a\\_b?x=1&amp;y=2)"),
            "a_b (https://shop.it/a_b?x=1&y=2)\n"
        );
    }

    #[test]
    fn text_rules_quotes_code_and_tables() {
        let dashes = "-".repeat(RULE_WIDTH);
        assert_eq!(
            to_text("above\n\n---\n\nbelow"),
            format!("above\n\n{dashes}\n\nbelow\n")
        );
        assert_eq!(
            to_text("> quoted\n> still\n\nafter"),
            "> quoted\n> still\n\nafter\n"
        );
        assert_eq!(
            to_text("Use `CODE10`:\n\n    CODE10\n    now"),
            "Use CODE10:\n\nCODE10\nnow\n"
        );
        assert_eq!(to_text("| a | b |\n|---|---|\n| 1 | 2 |"), "a | b\n1 | 2\n");
    }

    #[test]
    fn text_of_raw_html() {
        assert_eq!(to_text("a<br>b"), "a\nb\n");
        assert_eq!(to_text("Hi <b>Bob</b>"), "Hi Bob\n");
        assert_eq!(
            to_text(
                "<div align=\"center\">\n  <p>Hello &amp; welcome</p><p>Bye</p>\n</div>\n\nafter"
            ),
            "Hello & welcome\nBye\n\nafter\n"
        );
        assert_eq!(to_text("<p>1 < 2\n"), "1 < 2\n");
    }

    #[test]
    fn text_has_no_trailing_spaces_and_one_final_newline() {
        let text = to_text("a  \nb   \n\n\n\n- \n\nc\n\n\n");
        assert!(text.lines().all(|line| line == line.trim_end()), "{text:?}");
        assert!(text.ends_with("c\n") && !text.ends_with("\n\n"), "{text:?}");
    }

    #[test]
    fn no_panic_on_odd_input() {
        let pieces = [
            "", "\n", "- ", "1. ", "> ", "#", "*", "**", "~~", "`", "[", "](", ")", "![", "<", ">",
            "<br", "</p>", "&", "&amp;", "|", "---", "    ", "\t", "\\", "é", "\r\n", "<!--",
        ];
        for first in pieces {
            for second in pieces {
                for third in pieces {
                    let markdown = format!("{first}{second}x{third}\n{second}{first}");
                    let text = to_text(&markdown);
                    assert!(text.is_empty() || (text.ends_with('\n') && !text.ends_with("\n\n")));
                    assert!(
                        text.lines().all(|line| line == line.trim_end()),
                        "{markdown:?}"
                    );
                    let _ = to_html(&markdown);
                }
            }
        }
    }

    #[test]
    fn wrapped_document() {
        let html = wrap_html("Tom & <Jerry>", Some("Your \"cart\""), "<p>Hi</p>\n");
        assert!(html.starts_with("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"));
        assert!(html.contains("<title>Tom &amp; &lt;Jerry&gt;</title>"));
        assert!(html.contains(">Your &quot;cart&quot;</span>"));
        assert!(html.contains("max-width:600px"));
        assert!(html.contains("\n<p>Hi</p>\n</div>\n"));
        assert!(html.ends_with("</body>\n</html>\n"));
        let bare = wrap_html("T", None, "<p>Hi</p>");
        assert!(!bare.contains("<span"));
        assert_whole_document(&bare);
    }

    /// The whole document once, so a change to it shows in review.
    fn assert_whole_document(html: &str) {
        let expected = "<!DOCTYPE html>\n\
<html>\n\
<head>\n\
<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>T</title>\n\
</head>\n\
<body style=\"margin:0;padding:0;background-color:#ffffff;\">\n\
<!--[if mso]><table role=\"presentation\" width=\"600\" align=\"center\"><tr><td><![endif]-->\n\
<div style=\"max-width:600px;margin:0 auto;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#222222;\">\n\
<p>Hi</p>\n\
</div>\n\
<!--[if mso]></td></tr></table><![endif]-->\n\
</body>\n\
</html>\n";
        assert_eq!(html, expected);
    }
}
