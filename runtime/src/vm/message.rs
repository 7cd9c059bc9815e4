//! Template rendering: a compiled template and what the instance knows -> a [`Message`].
//!
//! Values are escaped for where they land: Markdown bodies get Markdown+HTML escaping (then one
//! Markdown source gives both the HTML and the plain-text part, inside the layout; or, through
//! `render_prepared`, the same parts from the template's Markdown worked out once per shape,
//! see `render::prepared`), HTML bodies
//! HTML escaping, webhook payloads JSON-string escaping; subjects and SMS texts are plain.
//! Rendering is all or nothing: the first value that cannot be printed is an error and no part
//! of the message is returned.

use journey_compiler::bytecode::{BodyFormat, Channel, Program, Template, TemplateNode, Value};

use super::builtins::print;
use super::eval::{Env, EvalError};
use crate::render::prepared::{self, Segment};
use crate::render::{escape, markdown};

/// How values are escaped in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// As is (subjects, SMS, plain text).
    Plain,
    /// Into HTML.
    Html,
    /// Into a JSON string (webhook payloads).
    Json,
}

/// The rendered parts of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject.
    pub subject: Option<String>,
    /// The preview line.
    pub preheader: Option<String>,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: Option<String>,
}

/// A rendering failure: which part and which value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderError {
    /// The part (`subject`, `body`, `layout footer`).
    pub part: String,
    /// The value's problem.
    pub error: EvalError,
}

/// Renders a template.
pub fn render(
    program: &Program,
    template: &Template,
    env: &mut Env<'_>,
) -> Result<Rendered, RenderError> {
    render_as(program, template, None, env)
}

/// Renders template `index` of program version `version`, the same as [`render`]; a Markdown
/// email body is worked out once per shape of the template and its values pasted in
/// (`render::prepared`) when they fit where they stand.
pub fn render_prepared(
    program: &Program,
    version: [u8; 32],
    index: u32,
    env: &mut Env<'_>,
) -> Result<Rendered, RenderError> {
    let Some(template) = program.templates.get(index as usize) else {
        return Err(RenderError {
            part: "template".to_string(),
            error: EvalError::new("the program has no such template"),
        });
    };
    render_as(program, template, Some((version, index)), env)
}

fn render_as(
    program: &Program,
    template: &Template,
    prepared_as: Option<([u8; 32], u32)>,
    env: &mut Env<'_>,
) -> Result<Rendered, RenderError> {
    let part = |name: &str| {
        let name = name.to_string();
        move |error: EvalError| RenderError { part: name, error }
    };
    let subject = match &template.subject {
        Some(nodes) => Some(one_line(
            &text(nodes, env, Escape::Plain).map_err(part("subject"))?,
        )),
        None => None,
    };
    let preheader = match &template.preheader {
        Some(nodes) => Some(one_line(
            &text(nodes, env, Escape::Plain).map_err(part("preheader"))?,
        )),
        None => None,
    };
    let Some((format, body)) = &template.body else {
        return Ok(Rendered {
            subject,
            preheader,
            text: String::new(),
            html: None,
        });
    };
    let (text_part, html) = match (template.channel, format) {
        (Channel::Webhook, _) => (text(body, env, Escape::Json).map_err(part("body"))?, None),
        (Channel::Sms, _) | (_, BodyFormat::Text) => {
            (text(body, env, Escape::Plain).map_err(part("body"))?, None)
        }
        (Channel::Email, BodyFormat::Html) => {
            let html = text(body, env, Escape::Html).map_err(part("body"))?;
            let title = subject.clone().unwrap_or_default();
            (
                markdown::to_text(&html),
                Some(markdown::wrap_html(&title, preheader.as_deref(), &html)),
            )
        }
        (Channel::Email, BodyFormat::Markdown) => {
            let layout = template
                .layout
                .and_then(|idx| program.layouts.get(idx as usize));
            let mut shape = Shape::default();
            if let Some(layout) = layout {
                write(&layout.header, env, &mut shape).map_err(part("layout header"))?;
                shape.raw("\n\n");
            }
            write(body, env, &mut shape).map_err(part("body"))?;
            if let Some(layout) = layout {
                shape.raw("\n\n");
                write(&layout.footer, env, &mut shape).map_err(part("layout footer"))?;
            }
            let title = subject.as_deref().unwrap_or_default();
            let (text, html) = shape.into_text_and_html(prepared_as);
            (
                text,
                Some(markdown::wrap_html(title, preheader.as_deref(), &html)),
            )
        }
    };
    Ok(Rendered {
        subject,
        preheader,
        text: text_part,
        html,
    })
}

/// Subjects and preheaders are one line: line breaks and runs of blanks become one space.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn text(nodes: &[TemplateNode], env: &mut Env<'_>, escape: Escape) -> Result<String, EvalError> {
    let mut out = String::with_capacity(raw_len(nodes) + 64);
    write(
        nodes,
        env,
        &mut Escaped {
            mode: escape,
            out: &mut out,
        },
    )?;
    Ok(out)
}

/// The length of the literal text of a template (top level), to size its output.
fn raw_len(nodes: &[TemplateNode]) -> usize {
    nodes
        .iter()
        .map(|node| match node {
            TemplateNode::Raw(raw) => raw.len(),
            _ => 0,
        })
        .sum()
}

/// Writes a printed value, escaped for where it lands.
fn escape_into(mode: Escape, printed: &str, out: &mut String) {
    match mode {
        Escape::Plain => out.push_str(printed),
        Escape::Html => escape::html_into(printed, out),
        Escape::Json => json_string_into(printed, out),
    }
}

/// Where [`write`] puts a template's literal text and printed values.
trait Sink<'t> {
    /// Literal text of the template.
    fn raw(&mut self, raw: &'t str);
    /// A printed value.
    fn value(&mut self, printed: &str);
    /// The branch an `if` took (`branches.len()` for `else`), or the items of a `for`.
    fn chose(&mut self, _choice: usize) {}
}

/// Values escaped straight into one text.
struct Escaped<'o> {
    mode: Escape,
    out: &'o mut String,
}

impl<'t> Sink<'t> for Escaped<'_> {
    fn raw(&mut self, raw: &'t str) {
        self.out.push_str(raw);
    }

    fn value(&mut self, printed: &str) {
        escape_into(self.mode, printed, self.out);
    }
}

/// A Markdown body as literal pieces and values, and its shape (`render::prepared`).
#[derive(Default)]
struct Shape<'t> {
    segments: Vec<Segment<'t>>,
    /// The printed values, one after the other, and where each ends.
    values: String,
    ends: Vec<usize>,
    choices: Vec<u32>,
}

impl<'t> Sink<'t> for Shape<'t> {
    fn raw(&mut self, raw: &'t str) {
        self.segments.push(Segment::Raw(raw));
    }

    fn value(&mut self, printed: &str) {
        self.segments.push(Segment::Value);
        self.values.push_str(printed);
        self.ends.push(self.values.len());
    }

    fn chose(&mut self, choice: usize) {
        self.choices.push(u32::try_from(choice).unwrap_or(u32::MAX));
    }
}

impl Shape<'_> {
    fn values(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let value = self.values.get(start..end).unwrap_or_default();
                start = end;
                value
            })
            .collect()
    }

    /// The text and HTML parts: pasted into the prepared shape when it and the values allow,
    /// else from the whole Markdown source.
    fn into_text_and_html(mut self, prepared_as: Option<([u8; 32], u32)>) -> (String, String) {
        let choices = std::mem::take(&mut self.choices);
        let values = self.values();
        if let Some((version, index)) = prepared_as
            && let Some(parts) =
                prepared::render_cached(version, index, choices, &self.segments, &values)
        {
            return parts;
        }
        let raw: usize = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Raw(raw) => raw.len(),
                Segment::Value => 0,
            })
            .sum();
        let mut source = String::with_capacity(raw + self.values.len() * 5 / 4 + 64);
        let mut next = values.iter();
        for segment in &self.segments {
            match segment {
                Segment::Raw(raw) => source.push_str(raw),
                Segment::Value => {
                    escape::markdown_value_into(
                        next.next().copied().unwrap_or_default(),
                        &mut source,
                    );
                }
            }
        }
        markdown::to_text_and_html(&source)
    }
}

fn write<'t>(
    nodes: &'t [TemplateNode],
    env: &mut Env<'_>,
    out: &mut dyn Sink<'t>,
) -> Result<(), EvalError> {
    for node in nodes {
        match node {
            TemplateNode::Raw(raw) => out.raw(raw),
            TemplateNode::Output { expr, source } => {
                let value = env.eval(expr)?;
                // Text is escaped straight into the output; other values are printed first.
                let printed = match &value {
                    Value::Text(text) => {
                        out.value(text);
                        Ok(())
                    }
                    other => print(other, env).map(|printed| out.value(&printed)),
                };
                printed.map_err(|message| EvalError {
                    field: Some(env.show(expr)),
                    message: if value.is_set() {
                        format!("{source}: {message}")
                    } else {
                        format!("{source}: `{}` is not set", env.show(expr))
                    },
                })?;
            }
            TemplateNode::If {
                branches,
                otherwise,
            } => {
                let mut chosen = None;
                for (idx, (condition, body)) in branches.iter().enumerate() {
                    if env.condition(condition)? {
                        chosen = Some((idx, body));
                        break;
                    }
                }
                let (idx, body) = chosen.unwrap_or((branches.len(), otherwise));
                out.chose(idx);
                write(body, env, out)?;
            }
            TemplateNode::For { list, var, body } => {
                let items = match env.eval(list)? {
                    Value::List(items) => items,
                    Value::Missing => {
                        return Err(EvalError {
                            field: Some(env.show(list)),
                            message: format!(
                                "`{{% for {var} in {} %}}`: the list is not set",
                                env.show(list)
                            ),
                        });
                    }
                    other => {
                        return Err(EvalError {
                            field: Some(env.show(list)),
                            message: format!("`for` needs a list, not {}", other.type_name()),
                        });
                    }
                };
                out.chose(items.len());
                for item in items.iter() {
                    env.locals.push(item.clone());
                    let result = write(body, env, out);
                    env.locals.pop();
                    result?;
                }
            }
        }
    }
    Ok(())
}

fn json_string_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}
