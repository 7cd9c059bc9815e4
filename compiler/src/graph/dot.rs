//! A [`Graph`] in Graphviz DOT, for `dot -Tsvg` (or `-Tpng`, `-Tpdf`).
//!
//! Labels are DOT strings: `"` and `\` are escaped, lines end with `\n`. Rules sit in
//! `cluster_` subgraphs, so Graphviz frames them with their title. Running Graphviz is the
//! caller's business: this module only writes text.

use std::fmt::Write;

use super::{EdgeKind, Graph, Node, NodeKind};
use crate::syntax::ast::Category;

/// The DOT text of one journey (`digraph journey_NAME { … }`), ending with a newline.
pub fn render(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph {} {{",
        quote(&format!("journey_{}", graph.name))
    );
    let _ = writeln!(out, "    label={};", quote(&graph.heading()));
    let _ = writeln!(out, "    labelloc=t;");
    let _ = writeln!(out, "    fontname=\"Helvetica\";");
    let _ = writeln!(out, "    rankdir=TB;");
    let _ = writeln!(
        out,
        "    node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"];"
    );
    let _ = writeln!(out, "    edge [fontname=\"Helvetica\", fontsize=10];");
    for node in &graph.nodes {
        if !graph.in_cluster(node.id) {
            let _ = writeln!(out, "    {}", statement(node));
        }
    }
    for cluster in &graph.clusters {
        let _ = writeln!(out, "    subgraph cluster_{} {{", cluster.id);
        let _ = writeln!(out, "        label={};", quote(&cluster.title));
        let _ = writeln!(out, "        style=dashed;");
        let _ = writeln!(out, "        color=\"#9e9e9e\";");
        for node in cluster.nodes.iter().filter_map(|id| graph.node(*id)) {
            let _ = writeln!(out, "        {}", statement(node));
        }
        let _ = writeln!(out, "    }}");
    }
    for edge in &graph.edges {
        let mut attributes = Vec::new();
        if let Some(label) = &edge.label {
            attributes.push(format!("label={}", quote(label)));
        }
        if edge.kind == EdgeKind::Rule {
            attributes.push("style=dotted".to_string());
            attributes.push("arrowhead=none".to_string());
        }
        let attributes = if attributes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attributes.join(", "))
        };
        let _ = writeln!(out, "    {} -> {}{attributes};", edge.from, edge.to);
    }
    let _ = writeln!(out, "}}");
    out
}

/// `n3 [label="…", shape=diamond, …];`
fn statement(node: &Node) -> String {
    let look = match node.kind {
        NodeKind::Start => {
            "shape=box, style=\"rounded,filled\", fillcolor=\"#e3f2fd\", color=\"#1565c0\""
        }
        NodeKind::Send(Some(Category::Marketing)) => {
            "shape=box, style=filled, fillcolor=\"#fff3e0\", color=\"#ef6c00\""
        }
        NodeKind::Send(_) => "shape=box, style=filled, fillcolor=\"#f1f8e9\", color=\"#558b2f\"",
        NodeKind::Wait => {
            "shape=box, style=\"rounded,filled\", fillcolor=\"#f5f5f5\", color=\"#757575\""
        }
        NodeKind::Condition => {
            "shape=diamond, style=filled, fillcolor=\"#fffde7\", color=\"#f9a825\""
        }
        NodeKind::Split => "shape=hexagon, style=filled, fillcolor=\"#fffde7\", color=\"#f9a825\"",
        NodeKind::Set => {
            "shape=parallelogram, style=filled, fillcolor=\"#ede7f6\", color=\"#5e35b1\""
        }
        NodeKind::Goal => "shape=cds, style=filled, fillcolor=\"#e8f5e9\", color=\"#2e7d32\"",
        NodeKind::GoalRule => "shape=note, style=filled, fillcolor=\"#e8f5e9\", color=\"#2e7d32\"",
        NodeKind::Exit => "shape=octagon, style=filled, fillcolor=\"#ffebee\", color=\"#c62828\"",
        NodeKind::End => "shape=ellipse, style=filled, fillcolor=\"#eeeeee\", color=\"#616161\"",
        NodeKind::Holdout => {
            "shape=ellipse, style=\"dashed,filled\", fillcolor=\"#fafafa\", color=\"#9e9e9e\""
        }
        NodeKind::ExitRule => "shape=note, style=filled, fillcolor=\"#fafafa\", color=\"#9e9e9e\"",
    };
    format!("{} [label={}, {look}];", node.id, quote(&node.label))
}

/// A DOT double-quoted string: `"` and `\` escaped, `\n` as the line break escape.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn strings_escape_quotes_backslashes_and_lines() {
        assert_eq!(quote("a \"b\" \\ c\nd"), "\"a \\\"b\\\" \\\\ c\\nd\"");
    }
}
