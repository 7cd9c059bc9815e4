//! A [`Graph`] as a Mermaid flowchart (`flowchart TD`), the text form GitHub, GitLab and most
//! wikis draw inside a ```` ```mermaid ```` block.
//!
//! Every label is quoted (`["…"]`, `|"…"|`), and the characters Mermaid would read as syntax
//! or HTML are written as its entity codes (`#quot;`, `#lt;`, …). Lines are joined with
//! `<br/>`. The journey's heading goes in the front matter as the diagram's title.

use std::fmt::Write;

use super::{EdgeKind, Graph, Node, NodeKind};
use crate::syntax::ast::Category;

/// The Mermaid text of one journey, ending with a newline.
pub fn render(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "title: {}", yaml_text(&graph.heading()));
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "flowchart TD");
    for node in &graph.nodes {
        if !graph.in_cluster(node.id) {
            let _ = writeln!(out, "    {}", shape(node));
        }
    }
    for cluster in &graph.clusters {
        let _ = writeln!(
            out,
            "    subgraph {}[\"{}\"]",
            cluster.id,
            escape(&cluster.title)
        );
        for node in cluster.nodes.iter().filter_map(|id| graph.node(*id)) {
            let _ = writeln!(out, "        {}", shape(node));
        }
        let _ = writeln!(out, "    end");
    }
    for edge in &graph.edges {
        let arrow = match edge.kind {
            EdgeKind::Flow => "-->",
            EdgeKind::Rule => "-.-",
        };
        match &edge.label {
            Some(label) => {
                let _ = writeln!(
                    out,
                    "    {} {arrow}|\"{}\"| {}",
                    edge.from,
                    escape(label),
                    edge.to
                );
            }
            None => {
                let _ = writeln!(out, "    {} {arrow} {}", edge.from, edge.to);
            }
        }
    }
    for (class, style) in CLASSES {
        let members: Vec<String> = graph
            .nodes
            .iter()
            .filter(|node| class_of(node.kind) == *class)
            .map(|node| node.id.to_string())
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "    classDef {class} {style}");
            let _ = writeln!(out, "    class {} {class}", members.join(","));
        }
    }
    out
}

/// Colours by class, in the order they are printed.
const CLASSES: &[(&str, &str)] = &[
    ("start", "fill:#e3f2fd,stroke:#1565c0,color:#0d47a1"),
    ("marketing", "fill:#fff3e0,stroke:#ef6c00"),
    ("transactional", "fill:#f1f8e9,stroke:#558b2f"),
    ("wait", "fill:#f5f5f5,stroke:#757575"),
    ("decision", "fill:#fffde7,stroke:#f9a825"),
    ("change", "fill:#ede7f6,stroke:#5e35b1"),
    ("goal", "fill:#e8f5e9,stroke:#2e7d32"),
    ("exit", "fill:#ffebee,stroke:#c62828"),
    ("finish", "fill:#eeeeee,stroke:#616161"),
    (
        "holdout",
        "fill:#fafafa,stroke:#9e9e9e,stroke-dasharray:4 3",
    ),
    ("rule", "fill:#fafafa,stroke:#9e9e9e"),
];

fn class_of(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Start => "start",
        NodeKind::Send(Some(Category::Marketing)) => "marketing",
        NodeKind::Send(_) => "transactional",
        NodeKind::Wait => "wait",
        NodeKind::Condition | NodeKind::Split => "decision",
        NodeKind::Set => "change",
        NodeKind::Goal | NodeKind::GoalRule => "goal",
        NodeKind::Exit => "exit",
        NodeKind::End => "finish",
        NodeKind::Holdout => "holdout",
        NodeKind::ExitRule => "rule",
    }
}

/// `n3{"label"}`: the node's id, its shape and its quoted label.
fn shape(node: &Node) -> String {
    let (open, close) = match node.kind {
        NodeKind::Start | NodeKind::Exit | NodeKind::End | NodeKind::Holdout => ("([", "])"),
        NodeKind::Send(_) | NodeKind::ExitRule => ("[", "]"),
        NodeKind::Wait => ("(", ")"),
        NodeKind::Condition => ("{", "}"),
        NodeKind::Split => ("{{", "}}"),
        NodeKind::Set => ("[/", "/]"),
        NodeKind::Goal | NodeKind::GoalRule => (">", "]"),
    };
    format!("{}{open}\"{}\"{close}", node.id, escape(&node.label))
}

/// A label inside Mermaid quotes: syntax and HTML characters as entity codes, `\n` as `<br/>`.
pub fn escape(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        match c {
            '\n' => out.push_str("<br/>"),
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '\\' => out.push_str("#92;"),
            '|' => out.push_str("#124;"),
            _ => out.push(c),
        }
    }
    out
}

/// A YAML double-quoted scalar, for the front matter.
fn yaml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn labels_escape_what_mermaid_would_read() {
        assert_eq!(
            escape("a <= \"b\" # c\nd & e | `f`"),
            "a #lt;= #quot;b#quot; #35; c<br/>d #amp; e #124; #96;f#96;"
        );
    }
}
