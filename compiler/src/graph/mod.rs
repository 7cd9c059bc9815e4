//! Journeys drawn as flowcharts, for people who read diagrams rather than code.
//!
//! [`program`] walks the syntax tree of every journey of a checked program and builds a small
//! [`Graph`]: nodes with a kind and a label, edges with an optional label. [`mermaid`] and
//! [`dot`] print it. Labels quote the source text of expressions (comments dropped, blanks
//! collapsed) rather than re-printing the tree, so a diagram reads like the file.
//!
//! Nothing here checks anything: callers draw programs that checked without errors. Node ids
//! are given in walk order (`n0` is the start), so the output of one file never changes from
//! run to run.

pub mod dot;
pub mod mermaid;

use std::collections::BTreeMap;
use std::fmt;

use crate::Checked;
use crate::source::{SourceMap, Span};
use crate::syntax::{
    self,
    ast::{self, Category, Channel, Declaration, ExprKind, StepKind, TriggerKind},
};

/// Longest label line, in characters, before a condition is broken before `and` / `or`.
const WRAP_AT: usize = 44;

/// Identifies a node of one [`Graph`]; printed `n0`, `n1`, … in the order the journey is walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// What a node stands for; renderers choose its shape and colour from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// The trigger, with the entry rule and exclusive group.
    Start,
    /// `send`: the template's category, when the template is known.
    Send(Option<Category>),
    /// `wait`, `wait until`, `wait for` and `wait up to`.
    Wait,
    /// `if`: edges `yes` and `no`.
    Condition,
    /// `split`: one edge per percentage.
    Split,
    /// `set customer.x = …`.
    Set,
    /// `goal name` reached on the way.
    Goal,
    /// `exit`: the customer leaves here.
    Exit,
    /// A `holdout` branch of a split: nothing is sent, goals still count.
    Holdout,
    /// The natural end of the journey, after its last step.
    End,
    /// An `exit when …` rule, beside the start.
    ExitRule,
    /// A `goal … when … within …` rule, beside the start.
    GoalRule,
}

impl NodeKind {
    /// Whether the customer's path stops at this node.
    pub fn is_end(self) -> bool {
        matches!(self, NodeKind::Exit | NodeKind::Holdout | NodeKind::End)
    }
}

/// One box of the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its id.
    pub id: NodeId,
    /// What it stands for.
    pub kind: NodeKind,
    /// The text inside; `\n` separates lines.
    pub label: String,
}

/// How an edge is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// The path customers follow: an arrow.
    Flow,
    /// Attaches a rule to the start: a dotted line, not a step.
    Rule,
}

/// An arrow (or a dotted line) between two nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Where it starts.
    pub from: NodeId,
    /// Where it points.
    pub to: NodeId,
    /// `yes`, `no`, `90%`, an event, `timeout after 5 days`; `\n` separates lines.
    pub label: Option<String>,
    /// Arrow or dotted line.
    pub kind: EdgeKind,
}

/// A titled group of nodes: the exit rules, the goals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// An identifier made of letters and `_` (`exit_rules`, `goals`).
    pub id: String,
    /// The title shown on the group.
    pub title: String,
    /// Its nodes, in order.
    pub nodes: Vec<NodeId>,
}

/// One journey as a diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    /// The journey's name.
    pub name: String,
    /// Its title, if written.
    pub title: Option<String>,
    /// The name of the file it is declared in.
    pub file: String,
    /// Every node; `nodes[i].id` is `NodeId(i)`.
    pub nodes: Vec<Node>,
    /// Every edge, in walk order.
    pub edges: Vec<Edge>,
    /// Groups of nodes drawn together.
    pub clusters: Vec<Cluster>,
}

impl Graph {
    /// The node with this id.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// The edges leaving a node, in order.
    pub fn outgoing(&self, id: NodeId) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |edge| edge.from == id)
    }

    /// The edges reaching a node, in order.
    pub fn incoming(&self, id: NodeId) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |edge| edge.to == id)
    }

    /// The heading of the diagram: the title and the name, or the name alone.
    pub fn heading(&self) -> String {
        match &self.title {
            Some(title) => format!("{title} ({})", self.name),
            None => self.name.clone(),
        }
    }

    /// Whether a node belongs to a cluster.
    pub fn in_cluster(&self, id: NodeId) -> bool {
        self.clusters
            .iter()
            .any(|cluster| cluster.nodes.contains(&id))
    }
}

/// Draws every journey of the files the caller gave (not the prelude, not imports), in file
/// order and then in source order. Call it on a program without errors: journeys that did not
/// parse are left out.
pub fn program(checked: &Checked) -> Vec<Graph> {
    let parsed: Vec<_> = checked
        .sources
        .iter()
        .map(|(id, file)| (id, syntax::parse_file(id, &file.text).0))
        .collect();
    let templates: BTreeMap<&str, (Channel, Category)> = parsed
        .iter()
        .flat_map(|(_, file)| file.declarations.iter())
        .filter_map(|declaration| match declaration {
            Declaration::Template(template) => Some((
                template.name.name.as_str(),
                (template.channel, template.category),
            )),
            _ => None,
        })
        .collect();
    let mut graphs = Vec::new();
    for root in &checked.roots {
        let Some((_, file)) = parsed.iter().find(|(id, _)| id == root) else {
            continue;
        };
        for declaration in &file.declarations {
            if let Declaration::Journey(journey) = declaration {
                let builder = Builder {
                    sources: &checked.sources,
                    templates: &templates,
                    nodes: Vec::new(),
                    edges: Vec::new(),
                };
                graphs.push(builder.journey(journey));
            }
        }
    }
    graphs
}

/// Edges waiting for the node that comes next: where they start and their label.
type Ends = Vec<(NodeId, Option<String>)>;

struct Builder<'a> {
    sources: &'a SourceMap,
    templates: &'a BTreeMap<&'a str, (Channel, Category)>,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

impl Builder<'_> {
    fn journey(mut self, journey: &ast::Journey) -> Graph {
        let start = self.add(NodeKind::Start, self.start_label(journey), Vec::new());
        let mut clusters = Vec::new();
        let exit_rules: Vec<NodeId> = journey
            .exits
            .iter()
            .map(|rule| {
                let mut lines = vec![format!("exit when {}", self.event_head(rule))];
                lines.extend(self.condition_lines("where ", rule.condition.as_ref()));
                self.rule(start, NodeKind::ExitRule, lines)
            })
            .collect();
        if !exit_rules.is_empty() {
            clusters.push(Cluster {
                id: "exit_rules".to_string(),
                title: "exit rules".to_string(),
                nodes: exit_rules,
            });
        }
        let goals: Vec<NodeId> = journey
            .goals
            .iter()
            .map(|goal| {
                let mut lines = vec![
                    format!("goal {}", goal.name.name),
                    format!("when {}", self.event_head(&goal.event)),
                ];
                lines.extend(self.condition_lines("where ", goal.event.condition.as_ref()));
                lines.push(format!("within {}", self.text(goal.within.span)));
                self.rule(start, NodeKind::GoalRule, lines)
            })
            .collect();
        if !goals.is_empty() {
            clusters.push(Cluster {
                id: "goals".to_string(),
                title: "goals".to_string(),
                nodes: goals,
            });
        }
        let ends = self.block(&journey.steps, vec![(start, None)]);
        if !ends.is_empty() {
            self.add(NodeKind::End, "end".to_string(), ends);
        }
        let file = self
            .sources
            .get(journey.span.file)
            .map(|file| file.name.clone())
            .unwrap_or_default();
        Graph {
            name: journey.name.name.clone(),
            title: journey.title.as_ref().map(|title| title.value.clone()),
            file,
            nodes: self.nodes,
            edges: self.edges,
            clusters,
        }
    }

    fn start_label(&self, journey: &ast::Journey) -> String {
        let mut lines = Vec::new();
        match journey.triggers.first().map(|trigger| &trigger.kind) {
            Some(TriggerKind::Event(event)) => {
                lines.push(format!("when {}", self.event_head(event)));
                lines.extend(self.condition_lines("where ", event.condition.as_ref()));
            }
            Some(TriggerKind::Schedule {
                cron,
                zone,
                condition,
            }) => {
                let zone = zone
                    .as_ref()
                    .map_or_else(String::new, |zone| format!(" in {}", self.text(zone.span)));
                lines.push(format!("when schedule {}{zone}", self.text(cron.span)));
                match condition {
                    Some(_) => lines
                        .extend(self.condition_lines("for customers where ", condition.as_ref())),
                    None => lines.push("for customers".to_string()),
                }
            }
            Some(TriggerKind::Date {
                attribute,
                at,
                zone,
                ..
            }) => {
                let zone = zone.as_ref().map_or_else(
                    || " local".to_string(),
                    |zone| format!(" in {}", self.text(zone.span)),
                );
                lines.push(format!(
                    "when date {} at {}{zone}",
                    self.text(attribute.span),
                    self.text(at.span)
                ));
            }
            Some(TriggerKind::Segment(segment)) => {
                lines.push(format!("when entered segment {}", segment.name));
            }
            None => lines.push("start".to_string()),
        }
        if journey.entry.is_empty() {
            lines.push("once (the default)".to_string());
        }
        for rule in &journey.entry {
            lines.push(self.text(rule.span));
        }
        for group in &journey.exclusive {
            lines.push(format!("exclusive group: {}", group.name));
        }
        lines.join("\n")
    }

    /// Adds a rule node beside the start, attached by a dotted line.
    fn rule(&mut self, start: NodeId, kind: NodeKind, lines: Vec<String>) -> NodeId {
        let id = self.add(kind, lines.join("\n"), Vec::new());
        self.edges.push(Edge {
            from: start,
            to: id,
            label: None,
            kind: EdgeKind::Rule,
        });
        id
    }

    /// Adds a node and connects the waiting edges to it.
    fn add(&mut self, kind: NodeKind, label: String, incoming: Ends) -> NodeId {
        let id = NodeId(self.nodes.len());
        self.nodes.push(Node { id, kind, label });
        for (from, label) in incoming {
            self.edges.push(Edge {
                from,
                to: id,
                label,
                kind: EdgeKind::Flow,
            });
        }
        id
    }

    /// Walks steps in order; returns the edges that leave the block.
    fn block(&mut self, steps: &[ast::Step], mut ends: Ends) -> Ends {
        for step in steps {
            ends = self.step(step, ends);
        }
        ends
    }

    fn step(&mut self, step: &ast::Step, incoming: Ends) -> Ends {
        let first = self.nodes.len();
        let ends = self.step_nodes(step, incoming);
        // A labelled step shows its label above what it does.
        if let (Some(label), Some(node)) = (&step.label, self.nodes.get_mut(first)) {
            node.label = format!("step {}:\n{}", label.name, node.label);
        }
        ends
    }

    fn step_nodes(&mut self, step: &ast::Step, incoming: Ends) -> Ends {
        match &step.kind {
            StepKind::Send {
                channel,
                template,
                with,
            } => {
                let known = self.templates.get(template.name.as_str()).copied();
                let channel = channel
                    .map(|(channel, _)| channel)
                    .or(known.map(|(channel, _)| channel));
                let mut lines = vec![match channel {
                    Some(channel) => format!("send {} {}", channel.keyword(), template.name),
                    None => format!("send {}", template.name),
                }];
                let category = known.map(|(_, category)| category);
                if let Some(category) = category {
                    lines.push(format!("({})", category_word(category)));
                }
                for (name, value) in with {
                    let prefix = match &value.kind {
                        ExprKind::Call(call) if call.name.name == name.name => "with ".to_string(),
                        _ => format!("with {} = ", name.name),
                    };
                    lines.extend(wrap(&prefix, &self.text(value.span), Breaks::AfterCommas));
                }
                self.simple(NodeKind::Send(category), lines.join("\n"), incoming)
            }
            StepKind::Wait(_) | StepKind::WaitUntil { .. } => {
                let label = self.text(step.span);
                self.simple(NodeKind::Wait, label, incoming)
            }
            StepKind::Set { .. } => {
                let label = self.text(step.span);
                self.simple(NodeKind::Set, label, incoming)
            }
            StepKind::Goal { .. } => {
                let label = self.text(step.span);
                self.simple(NodeKind::Goal, label, incoming)
            }
            StepKind::Exit => {
                self.add(NodeKind::Exit, "exit".to_string(), incoming);
                Vec::new()
            }
            StepKind::WaitFor {
                event,
                since_entry,
                up_to,
                timeout,
            } => {
                let mut lines = vec![format!("wait for {}", self.event_head(event))];
                lines.extend(self.condition_lines("where ", event.condition.as_ref()));
                if *since_entry {
                    lines.push("since entry".to_string());
                }
                if let Some(up_to) = up_to {
                    lines.push(format!("up to {}", self.text(up_to.span)));
                }
                let id = self.add(NodeKind::Wait, lines.join("\n"), incoming);
                let mut ends = Vec::new();
                if let Some(up_to) = up_to {
                    let label = Some(format!("timeout after {}", self.text(up_to.span)));
                    match timeout {
                        Some(block) => ends.extend(self.block(&block.steps, vec![(id, label)])),
                        None => ends.push((id, label)),
                    }
                }
                ends.insert(0, (id, Some(event.event.name.clone())));
                ends
            }
            StepKind::WaitAny {
                up_to,
                branches,
                timeout,
            } => {
                let events: Vec<&str> = branches
                    .iter()
                    .map(|branch| branch.event.event.name.as_str())
                    .collect();
                let mut lines = vec![format!("wait up to {}", self.text(up_to.span))];
                if !events.is_empty() {
                    lines.push(format!("for {}", events.join(" or ")));
                }
                let id = self.add(NodeKind::Wait, lines.join("\n"), incoming);
                let mut ends = Vec::new();
                for branch in branches {
                    let mut label = vec![format!("on {}", self.event_head(&branch.event))];
                    label.extend(self.condition_lines("where ", branch.event.condition.as_ref()));
                    if branch.since_entry {
                        label.push("since entry".to_string());
                    }
                    ends.extend(
                        self.block(&branch.block.steps, vec![(id, Some(label.join("\n")))]),
                    );
                }
                let label = Some(format!("timeout after {}", self.text(up_to.span)));
                match timeout {
                    Some(block) => ends.extend(self.block(&block.steps, vec![(id, label)])),
                    None => ends.push((id, label)),
                }
                ends
            }
            StepKind::If {
                condition,
                then,
                otherwise,
            } => {
                let label = self.condition_lines("if ", Some(condition)).join("\n");
                let id = self.add(NodeKind::Condition, label, incoming);
                let mut ends = self.block(&then.steps, vec![(id, Some("yes".to_string()))]);
                let no = vec![(id, Some("no".to_string()))];
                match otherwise {
                    // `else if` arrives as a block holding one `if`: its diamond follows `no`.
                    Some(block) => ends.extend(self.block(&block.steps, no)),
                    None => ends.extend(no),
                }
                ends
            }
            StepKind::Split(branches) => {
                let id = self.add(NodeKind::Split, "split".to_string(), incoming);
                let mut ends = Vec::new();
                for branch in branches {
                    let label = Some(self.text(branch.percent_span));
                    match &branch.block {
                        Some(block) => ends.extend(self.block(&block.steps, vec![(id, label)])),
                        None => {
                            self.add(
                                NodeKind::Holdout,
                                "holdout\nnothing sent, counted for goals".to_string(),
                                vec![(id, label)],
                            );
                        }
                    }
                }
                ends
            }
        }
    }

    /// A node the customer always leaves by one unlabelled edge.
    fn simple(&mut self, kind: NodeKind, label: String, incoming: Ends) -> Ends {
        let id = self.add(kind, label, incoming);
        vec![(id, None)]
    }

    /// `event as name`: the event and its binding, without the condition.
    fn event_head(&self, event: &ast::EventMatch) -> String {
        match &event.binding {
            Some(binding) => format!("{} as {}", event.event.name, binding.name),
            None => event.event.name.clone(),
        }
    }

    /// A condition's source text after `prefix`, broken into lines before `and` / `or` when long.
    fn condition_lines(&self, prefix: &str, condition: Option<&ast::Expr>) -> Vec<String> {
        let Some(condition) = condition else {
            return Vec::new();
        };
        wrap(prefix, &self.text(condition.span), Breaks::BeforeAndOr)
    }

    fn text(&self, span: Span) -> String {
        self.sources
            .get(span.file)
            .map_or_else(String::new, |file| one_line(file.slice(span)))
    }
}

fn category_word(category: Category) -> &'static str {
    match category {
        Category::Marketing => "marketing",
        Category::Transactional => "transactional",
    }
}

/// Source text on one line: comments dropped, each run of blanks made one space. Texts in
/// quotes are kept as written (a line break inside one becomes a space).
fn one_line(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    let mut quote: Option<char> = None;
    let mut blank = false;
    while let Some(c) = chars.next() {
        if let Some(open) = quote {
            match c {
                '\n' | '\r' => out.push(' '),
                '\\' => {
                    out.push(c);
                    out.extend(chars.next());
                }
                _ => {
                    out.push(c);
                    if c == open {
                        quote = None;
                    }
                }
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            while chars.next_if(|next| *next != '\n').is_some() {}
            blank = true;
            continue;
        }
        if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut previous = ' ';
            for next in chars.by_ref() {
                if previous == '*' && next == '/' {
                    break;
                }
                previous = next;
            }
            blank = true;
            continue;
        }
        if c.is_whitespace() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push(' ');
        }
        blank = false;
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
        out.push(c);
    }
    out
}

/// Where a long label line may be broken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Breaks {
    /// Before `and` and `or` outside parentheses: conditions.
    BeforeAndOr,
    /// After a comma: the arguments of `with coupon(…)`.
    AfterCommas,
}

/// `prefix` and `text` as lines of at most [`WRAP_AT`] characters where possible, breaking only
/// where `breaks` allows, never inside quotes.
fn wrap(prefix: &str, text: &str, breaks: Breaks) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if quote.is_none() && c == ' ' && !current.is_empty() {
            let after = rest.get(1..).unwrap_or("");
            let at_break = match breaks {
                Breaks::BeforeAndOr => {
                    depth == 0 && (after.starts_with("and ") || after.starts_with("or "))
                }
                Breaks::AfterCommas => current.ends_with(','),
            };
            if at_break {
                pieces.push(std::mem::take(&mut current));
                rest = after;
                continue;
            }
        }
        match (quote, c) {
            (Some(open), _) if c == open => quote = None,
            (Some(_), '\\') => {
                current.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or("");
                if let Some(escaped) = rest.chars().next() {
                    current.push(escaped);
                    rest = rest.get(escaped.len_utf8()..).unwrap_or("");
                }
                continue;
            }
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
        current.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    pieces.push(current);
    let mut lines: Vec<String> = Vec::new();
    let mut line = prefix.to_string();
    let mut line_has_piece = false;
    for piece in pieces {
        let fits = line.chars().count() + 1 + piece.chars().count() <= WRAP_AT;
        if line_has_piece && !fits {
            lines.push(std::mem::take(&mut line));
        } else if line_has_piece {
            line.push(' ');
        }
        line.push_str(&piece);
        line_has_piece = true;
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::{Breaks, one_line, wrap};

    #[test]
    fn source_text_loses_comments_and_extra_blanks_but_not_texts() {
        assert_eq!(
            one_line("a  >  0\n   and b // why\n  and c /* x */ == \"two  words\""),
            "a > 0 and b and c == \"two  words\""
        );
        assert_eq!(one_line("x / 2"), "x / 2");
    }

    #[test]
    fn long_conditions_break_before_and_or_outside_parentheses() {
        assert_eq!(
            wrap("if ", "a and b", Breaks::BeforeAndOr),
            vec!["if a and b"]
        );
        assert_eq!(
            wrap(
                "where ",
                "customer.orders_count > 0 and customer.email_consent and (x or y) and \"p and q\"",
                Breaks::BeforeAndOr
            ),
            vec![
                "where customer.orders_count > 0",
                "and customer.email_consent and (x or y)",
                "and \"p and q\""
            ]
        );
    }

    #[test]
    fn long_calls_break_after_commas() {
        assert_eq!(
            wrap(
                "with ",
                "coupon(percent: 10, valid: 7 days, on: order.suggested_product_ids)",
                Breaks::AfterCommas
            ),
            vec![
                "with coupon(percent: 10, valid: 7 days,",
                "on: order.suggested_product_ids)"
            ]
        );
        assert_eq!(
            wrap(
                "with ",
                "coupon(percent: 15, valid: 14 days)",
                Breaks::AfterCommas
            ),
            vec!["with coupon(percent: 15, valid: 14 days)"]
        );
    }
}
