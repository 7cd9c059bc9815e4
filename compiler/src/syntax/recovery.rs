//! Splits a file into chunks at top-level declarations so one broken declaration does not hide
//! the others.
//!
//! A chunk starts at a line whose first word, at column 0 and outside any text or comment, is a
//! top-level keyword. Each chunk is parsed on its own; a parse error costs only its chunk.

/// The words that open a top-level declaration.
pub const TOP_LEVEL_KEYWORDS: &[&str] = &[
    "import", "event", "record", "customer", "segment", "builtin", "layout", "policy", "template",
    "journey",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    LineComment,
    BlockComment,
    TripleText,
    Text(u8),
}

/// Byte offsets where chunks start; the first is always 0.
pub fn chunk_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut state = State::Code;
    let mut idx = 0;
    let mut at_line_start = true;
    while let Some(&byte) = bytes.get(idx) {
        if at_line_start && state == State::Code && idx > 0 && starts_keyword(text, idx) {
            starts.push(idx);
        }
        at_line_start = byte == b'\n';
        let next = bytes.get(idx + 1).copied();
        match state {
            State::Code => match byte {
                b'/' if next == Some(b'/') => state = State::LineComment,
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment;
                    idx += 1;
                }
                b'"' if text.get(idx..idx + 3) == Some("\"\"\"") => {
                    state = State::TripleText;
                    idx += 2;
                }
                b'"' | b'\'' => state = State::Text(byte),
                _ => {}
            },
            State::LineComment => {
                if byte == b'\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if byte == b'*' && next == Some(b'/') {
                    state = State::Code;
                    idx += 1;
                }
            }
            State::TripleText => {
                if text.get(idx..idx + 3) == Some("\"\"\"") {
                    state = State::Code;
                    idx += 2;
                }
            }
            State::Text(quote) => match byte {
                b'\\' => idx += 1,
                b'\n' => state = State::Code,
                _ if byte == quote => state = State::Code,
                _ => {}
            },
        }
        idx += 1;
    }
    starts
}

fn starts_keyword(text: &str, idx: usize) -> bool {
    let rest = text.get(idx..).unwrap_or("");
    TOP_LEVEL_KEYWORDS.iter().any(|keyword| {
        rest.starts_with(keyword)
            && !rest
                .as_bytes()
                .get(keyword.len())
                .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_column_zero_keywords_outside_texts() {
        let text = "event a {\n}\n// journey in a comment\ntemplate t: email marketing {\n  body \"\"\"\njourney in a body\n\"\"\"\n}\njourney j {\n}\neventful\n";
        let starts = chunk_starts(text);
        let heads: Vec<&str> = starts.iter().map(|s| &text[*s..*s + 5]).collect();
        assert_eq!(heads, ["event", "templ", "journ"]);
    }
}
