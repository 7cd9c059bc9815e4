//! Values made safe to paste into HTML, or into Markdown that will become HTML.
//!
//! A template's author may write Markdown and raw HTML; a customer's values (names, product
//! titles, URLs) may not: whatever they contain must show literally and no tag may get through.
//! Left out: escaping for attribute names, scripts or styles — templates never put values there.

/// Escapes `&`, `<`, `>`, `"` and `'` so the value is text in HTML content and in quoted
/// attribute values.
#[must_use]
pub fn html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    html_into(value, &mut out);
    out
}

/// [`html`], written at the end of `out`.
pub fn html_into(value: &str, out: &mut String) {
    // Runs without special characters are copied whole.
    let mut start = 0;
    for (idx, c) in value.char_indices() {
        if matches!(c, '&' | '<' | '>' | '"' | '\'') {
            out.push_str(value.get(start..idx).unwrap_or_default());
            push_html(out, c);
            start = idx + c.len_utf8();
        }
    }
    out.push_str(value.get(start..).unwrap_or_default());
}

/// Escapes a value that will be pasted into a Markdown source before it becomes HTML.
///
/// HTML-special characters become entities (`<` is `&lt;`), so no tag gets through; Markdown
/// punctuation that could change the structure (`` \ ` * _ [ ] ( ) # + ! | ~ ``) is
/// backslash-escaped, and so are the markers that only count at the start of a line (after
/// optional blanks): `-`, `=`, and the `.` of `1.`. A customer called `*Bob* <script>` shows as
/// just that.
///
/// URLs survive when pasted into a link destination, `[x]({{ url }})`: CommonMark drops the
/// backslash before ASCII punctuation there and decodes `&amp;` to `&`.
/// Inside a code span (`` `{{ value }}` ``) the escapes would show: templates should not put
/// values there.
#[must_use]
pub fn markdown_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 4);
    markdown_value_into(value, &mut out);
    out
}

/// [`markdown_value`], written at the end of `out`.
pub fn markdown_value_into(value: &str, out: &mut String) {
    let mut line = LineStart::Blank;
    for c in value.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '=' if line == LineStart::Blank => {
                out.push('\\');
                out.push(c);
            }
            '.' if line == LineStart::Digits => out.push_str("\\."),
            _ => push_html(out, c),
        }
        line = match (line, c) {
            (_, '\n' | '\r') => LineStart::Blank,
            (LineStart::Blank, ' ' | '\t') => LineStart::Blank,
            (LineStart::Blank | LineStart::Digits, '0'..='9') => LineStart::Digits,
            _ => LineStart::Past,
        };
    }
}

/// Where the escaper stands in the current line, for the markers that only count at its start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineStart {
    /// Only blanks so far.
    Blank,
    /// Blanks, then digits: a `.` here would open an ordered list.
    Digits,
    /// Anything else: the start of the line is behind us.
    Past,
}

fn push_html(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::markdown::to_html;

    #[test]
    fn html_escapes_the_five_characters() {
        assert_eq!(
            html(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(html(""), "");
        assert_eq!(html("caffè"), "caffè");
        assert_eq!(html("&amp;"), "&amp;amp;");
    }

    #[test]
    fn markdown_value_escapes_punctuation_and_html() {
        assert_eq!(markdown_value("*Bob* <script>"), r"\*Bob\* &lt;script&gt;");
        assert_eq!(
            markdown_value("a_b [c](d) #1 + !x | ~y `z` \\"),
            r"a\_b \[c\]\(d\) \#1 \+ \!x \| \~y \`z\` \\"
        );
        assert_eq!(
            markdown_value("Tom & Jerry's \"shop\""),
            "Tom &amp; Jerry&#39;s &quot;shop&quot;"
        );
    }

    #[test]
    fn markdown_value_escapes_line_start_markers_only_at_line_start() {
        assert_eq!(markdown_value("- item"), r"\- item");
        assert_eq!(markdown_value("  - item"), r"  \- item");
        assert_eq!(markdown_value("2026. A year"), r"2026\. A year");
        assert_eq!(markdown_value("a\n3. b\n==="), "a\n3\\. b\n\\===");
        assert_eq!(markdown_value("Jean-Luc 3.5 a=b"), "Jean-Luc 3.5 a=b");
        assert_eq!(markdown_value("-5"), r"\-5");
    }

    #[test]
    fn escaped_values_render_literally() {
        let html = to_html(&format!(
            "Hi {}!",
            markdown_value("*Bob* <script>alert(1)</script>")
        ));
        assert_eq!(
            html,
            "<p>Hi *Bob* &lt;script&gt;alert(1)&lt;/script&gt;!</p>\n"
        );
        let list = to_html(&markdown_value(
            "1. not a list\n- nor this\n# nor a heading",
        ));
        assert_eq!(list, "<p>1. not a list\n- nor this\n# nor a heading</p>\n");
    }

    #[test]
    fn escaped_values_read_literally_in_the_text_part() {
        let value = "*Bob* <b>Tom & Jerry's</b> [x](y) 1. - #";
        let text = crate::render::markdown::to_text(&format!("Hi {}", markdown_value(value)));
        assert_eq!(text, format!("Hi {value}\n"));
    }

    #[test]
    fn no_tag_gets_through() {
        let nasty = [
            "<script>alert(1)</script>",
            "<<script>script>",
            "\\<script>",
            "`<script>`",
            "<img src=x onerror=alert(1)>",
            "[x](javascript:alert(1))",
            "<!-- x --><script>",
            "&lt;script&gt;",
            "\n\n    <script>\n",
            "<https://evil.example/<script>>",
        ];
        for value in nasty {
            let html = to_html(&format!("Dear {}, *hi*", markdown_value(value)));
            assert!(!html.contains("<script"), "{value:?} gave {html:?}");
            assert!(!html.contains("<img"), "{value:?} gave {html:?}");
            assert!(!html.contains("<a "), "{value:?} gave {html:?}");
        }
    }

    #[test]
    fn escaped_urls_still_work_as_link_destinations() {
        let url = markdown_value("https://shop.it/a_b?x=1&y=2");
        let html = to_html(&format!("[link]({url})"));
        assert_eq!(
            html,
            "<p><a href=\"https://shop.it/a_b?x=1&amp;y=2\">link</a></p>\n"
        );
        let url = markdown_value("https://shop.it/p/(red)#top");
        let html = to_html(&format!("[link]({url})"));
        assert_eq!(
            html,
            "<p><a href=\"https://shop.it/p/(red)#top\">link</a></p>\n"
        );
    }
}
