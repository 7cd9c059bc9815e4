//! Prepared Markdown (`render::prepared`) against the whole rendering, over every Markdown email
//! template of the shipped journeys: many shapes (branches taken, items in loops) and values
//! chosen to trouble Markdown. Whenever the prepared path answers, its text and HTML must be
//! byte for byte those of rendering the message's own Markdown.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use journey_compiler::bytecode::{BodyFormat, Channel, TemplateNode};
use journey_runtime::render::escape::markdown_value_into;
use journey_runtime::render::markdown::to_text_and_html;
use journey_runtime::render::prepared::{Prepared, Segment};

/// Values that look like Markdown, HTML, entities, line starts, URLs, or nothing.
const VALUES: &[&str] = &[
    "Bob",
    "Bella Casa",
    "2",
    "12",
    "24,90 €",
    "€ 3.50",
    "2 dicembre 2026",
    "*Bob*",
    "**x**",
    "_x_",
    "a_b",
    "~x~",
    "<b>hi</b>",
    "<script>alert(1)</script>",
    "Tom & Jerry's \"shop\"",
    "&amp;",
    "&lt;",
    "[x](y)",
    "[x]",
    "# title",
    "#1",
    "- item",
    "1. one",
    "1.",
    "3)",
    "+",
    "> quote",
    "a\nb",
    "a\n\nb",
    "line\n# heading",
    "\n",
    " a",
    "a ",
    "a  b",
    "",
    "`code`",
    "x\\",
    "\\*",
    "https://shop.it/a_b?x=1&y=2",
    "https://shop.it/p/(red)#top",
    "mailto:a@b.it",
    "info@bellacasa.it",
    "https://bellacasa.it",
    "caffè",
    "é",
    "!",
    "|a|b|",
    "---",
    "===",
    "a\u{a0}",
    "\u{a0}a",
    "x*",
    "*x",
    ".",
    ":)",
];

/// A small deterministic generator (xorshift), so the test explores the same cases every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Walks template nodes choosing a branch per `if` and an item count per `for`.
fn shape<'t>(nodes: &'t [TemplateNode], rng: &mut Rng, out: &mut Vec<Segment<'t>>) {
    for node in nodes {
        match node {
            TemplateNode::Raw(raw) => out.push(Segment::Raw(raw)),
            TemplateNode::Output { .. } => out.push(Segment::Value),
            TemplateNode::If {
                branches,
                otherwise,
            } => {
                let pick = rng.below(branches.len() + 1);
                let body = branches.get(pick).map_or(otherwise, |(_, body)| body);
                shape(body, rng, out);
            }
            TemplateNode::For { body, .. } => {
                for _ in 0..rng.below(4) {
                    shape(body, rng, out);
                }
            }
        }
    }
}

fn whole(segments: &[Segment<'_>], values: &[&str]) -> (String, String) {
    let mut source = String::new();
    let mut next = values.iter();
    for segment in segments {
        match segment {
            Segment::Raw(raw) => source.push_str(raw),
            Segment::Value => markdown_value_into(next.next().unwrap(), &mut source),
        }
    }
    to_text_and_html(&source)
}

#[test]
fn prepared_markdown_is_the_whole_rendering_for_every_shipped_template() {
    let library = common::shipped_library();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut templates, mut compared, mut plain_prepared, mut plain_tried) = (0, 0, 0, 0);
    for (_, program) in library.current_programs() {
        for template in &program.templates {
            let Some((BodyFormat::Markdown, body)) = &template.body else {
                continue;
            };
            if template.channel != Channel::Email {
                continue;
            }
            templates += 1;
            let layout = template
                .layout
                .and_then(|idx| program.layouts.get(idx as usize));
            for _ in 0..12 {
                let mut segments = Vec::new();
                if let Some(layout) = layout {
                    shape(&layout.header, &mut rng, &mut segments);
                    segments.push(Segment::Raw("\n\n"));
                }
                shape(body, &mut rng, &mut segments);
                if let Some(layout) = layout {
                    segments.push(Segment::Raw("\n\n"));
                    shape(&layout.footer, &mut rng, &mut segments);
                }
                let slots = segments.iter().filter(|s| **s == Segment::Value).count();
                let prepared = Prepared::new(&segments);
                // Plain values: the prepared path should answer for these shapes.
                let plain: Vec<&str> = (0..slots)
                    .map(|k| ["Bob", "12", "BellaCasa"][k % 3])
                    .collect();
                plain_tried += 1;
                if let Some(parts) = prepared.as_ref().and_then(|p| p.render(&plain)) {
                    plain_prepared += 1;
                    assert_eq!(parts, whole(&segments, &plain), "{}", template.name);
                }
                for _ in 0..60 {
                    let values: Vec<&str> = (0..slots)
                        .map(|_| VALUES[rng.below(VALUES.len())])
                        .collect();
                    if let Some(parts) = prepared.as_ref().and_then(|p| p.render(&values)) {
                        compared += 1;
                        assert_eq!(
                            parts,
                            whole(&segments, &values),
                            "{} with {values:?}",
                            template.name
                        );
                    }
                }
                // One troublesome value at a time among plain ones.
                for value in VALUES {
                    for k in 0..slots {
                        let mut values = plain.clone();
                        values[k] = value;
                        if let Some(parts) = prepared.as_ref().and_then(|p| p.render(&values)) {
                            compared += 1;
                            assert_eq!(
                                parts,
                                whole(&segments, &values),
                                "{} with {values:?}",
                                template.name
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(templates >= 10, "{templates} Markdown email templates");
    assert!(
        compared > 10_000,
        "only {compared} prepared renderings compared"
    );
    assert!(
        plain_prepared * 10 >= plain_tried * 9,
        "plain values prepared in only {plain_prepared} of {plain_tried} shapes"
    );
}
