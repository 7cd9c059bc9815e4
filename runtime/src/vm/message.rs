//! Template rendering: a compiled template and what the instance knows -> a [`Message`].
//!
//! Values are escaped for where they land: Markdown bodies get Markdown+HTML escaping (then one
//! Markdown source gives both the HTML and the plain-text part, inside the layout), HTML bodies
//! HTML escaping, webhook payloads JSON-string escaping; subjects and SMS texts are plain.
//! Rendering is all or nothing: the first value that cannot be printed is an error and no part
//! of the message is returned.

use journey_compiler::bytecode::{BodyFormat, Channel, Program, Template, TemplateNode, Value};

use super::builtins::print;
use super::eval::{Env, EvalError};
use crate::render::{escape, markdown};

/// How values are escaped in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// As is (subjects, SMS, plain text).
    Plain,
    /// Into Markdown that becomes HTML.
    Markdown,
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
            let mut source = String::with_capacity(
                raw_len(body) + layout.map_or(0, |l| raw_len(&l.header) + raw_len(&l.footer)) + 512,
            );
            if let Some(layout) = layout {
                write(&layout.header, env, Escape::Markdown, &mut source)
                    .map_err(part("layout header"))?;
                source.push_str("\n\n");
            }
            write(body, env, Escape::Markdown, &mut source).map_err(part("body"))?;
            if let Some(layout) = layout {
                source.push_str("\n\n");
                write(&layout.footer, env, Escape::Markdown, &mut source)
                    .map_err(part("layout footer"))?;
            }
            let title = subject.as_deref().unwrap_or_default();
            let (text, html) = markdown::to_text_and_html(&source);
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
    write(nodes, env, escape, &mut out)?;
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
        Escape::Markdown => escape::markdown_value_into(printed, out),
        Escape::Html => escape::html_into(printed, out),
        Escape::Json => json_string_into(printed, out),
    }
}

fn write(
    nodes: &[TemplateNode],
    env: &mut Env<'_>,
    mode: Escape,
    out: &mut String,
) -> Result<(), EvalError> {
    for node in nodes {
        match node {
            TemplateNode::Raw(raw) => out.push_str(raw),
            TemplateNode::Output { expr, source } => {
                let value = env.eval(expr)?;
                // Text is escaped straight into the output; other values are printed first.
                let printed = match &value {
                    Value::Text(text) => {
                        escape_into(mode, text, out);
                        Ok(())
                    }
                    other => print(other, env).map(|printed| escape_into(mode, &printed, out)),
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
                for (condition, body) in branches {
                    if env.condition(condition)? {
                        chosen = Some(body);
                        break;
                    }
                }
                write(chosen.unwrap_or(otherwise), env, mode, out)?;
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
                for item in items.iter() {
                    env.locals.push(item.clone());
                    let result = write(body, env, mode, out);
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
