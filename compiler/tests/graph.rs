//! `journey graph`'s pure half: every shipped journey drawn as Mermaid and DOT (snapshotted),
//! and the shape of the graph for each kind of step on small programs.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::path::{Path, PathBuf};

use journey_compiler::diagnostics::{Severity, render::terminal};
use journey_compiler::graph::{self, EdgeKind, Graph, NodeId, NodeKind};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn report(checked: &journey_compiler::Checked) -> String {
    terminal::render(&checked.diagnostics, &checked.sources, false)
}

/// The files of `journeys/`, checked as one program (as `examples.rs` does), drawn.
fn shipped_graphs() -> Vec<Graph> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(repo().join("journeys")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "journey") {
            let name = format!("journeys/{}", path.file_name().unwrap().to_string_lossy());
            files.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files.sort();
    let checked = journey_compiler::check_files(files, &journey_compiler::NoImports);
    assert_eq!(checked.count(Severity::Error), 0, "{}", report(&checked));
    graph::program(&checked)
}

/// The graph of the only journey of a small program that must check without errors.
fn draw(source: &str) -> Graph {
    let checked = journey_compiler::check_source("test.journey", source);
    assert_eq!(checked.count(Severity::Error), 0, "{}", report(&checked));
    let mut graphs = graph::program(&checked);
    assert_eq!(graphs.len(), 1);
    graphs.remove(0)
}

/// The first node whose label starts with `prefix`.
fn find(graph: &Graph, prefix: &str) -> NodeId {
    graph
        .nodes
        .iter()
        .find(|node| node.label.starts_with(prefix))
        .unwrap_or_else(|| panic!("no node starts with {prefix:?} in {graph:#?}"))
        .id
}

/// The target of the edge leaving `from` with this label.
fn follow(graph: &Graph, from: NodeId, label: &str) -> NodeId {
    graph
        .outgoing(from)
        .find(|edge| edge.label.as_deref() == Some(label))
        .unwrap_or_else(|| panic!("no edge {label:?} leaves {from} in {graph:#?}"))
        .to
}

/// The target of the one unlabelled edge leaving `from`.
fn next(graph: &Graph, from: NodeId) -> NodeId {
    let edges: Vec<_> = graph.outgoing(from).collect();
    assert_eq!(edges.len(), 1, "{from} should have one way out: {edges:#?}");
    assert_eq!(edges[0].label, None);
    edges[0].to
}

fn kind(graph: &Graph, id: NodeId) -> NodeKind {
    graph.node(id).unwrap().kind
}

const TEMPLATES: &str = r#"
template hello: email marketing {
  subject "Ciao"
  body "Benvenuto"
}

template receipt: email transactional {
  subject "Ricevuta"
  body "Grazie"
}
"#;

#[test]
fn every_shipped_journey_is_drawn_in_mermaid_and_dot() {
    let graphs = shipped_graphs();
    assert!(
        graphs.len() >= 13,
        "journeys/ holds thirteen journeys, {} were drawn",
        graphs.len()
    );
    for graph in &graphs {
        insta::assert_snapshot!(
            format!("{}.mermaid", graph.name),
            graph::mermaid::render(graph)
        );
        insta::assert_snapshot!(format!("{}.dot", graph.name), graph::dot::render(graph));
    }
}

#[test]
fn every_shipped_journey_has_one_start_and_every_path_ends() {
    for graph in shipped_graphs() {
        let starts: Vec<_> = graph
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Start)
            .collect();
        assert_eq!(starts.len(), 1, "{}", graph.name);
        assert_eq!(starts[0].id, NodeId(0), "{}: the start is n0", graph.name);
        for (idx, node) in graph.nodes.iter().enumerate() {
            assert_eq!(
                node.id,
                NodeId(idx),
                "{}: ids follow walk order",
                graph.name
            );
            let outgoing = graph
                .outgoing(node.id)
                .filter(|e| e.kind == EdgeKind::Flow)
                .count();
            if node.kind.is_end() || matches!(node.kind, NodeKind::ExitRule | NodeKind::GoalRule) {
                assert_eq!(outgoing, 0, "{}: {} ends a path", graph.name, node.id);
            } else {
                assert!(outgoing > 0, "{}: {} leads nowhere", graph.name, node.id);
            }
            if node.kind != NodeKind::Start {
                assert!(
                    graph.incoming(node.id).next().is_some(),
                    "{}: nothing reaches {}",
                    graph.name,
                    node.id
                );
            }
        }
    }
}

#[test]
fn the_start_shows_trigger_condition_entry_rule_and_group() {
    let graph = draw(&format!(
        r#"
journey j "Titolo" {{
  when order_placed as order where order.total >= €100   // only big orders
  once per order.order_id
  exclusive promotions
  send email hello
}}
{TEMPLATES}"#
    ));
    assert_eq!(graph.title.as_deref(), Some("Titolo"));
    assert_eq!(
        graph.node(NodeId(0)).unwrap().label,
        "when order_placed as order\nwhere order.total >= €100\nonce per order.order_id\nexclusive group: promotions"
    );
}

#[test]
fn schedule_and_date_triggers_print_their_source() {
    let schedule = draw(&format!(
        r#"
journey j {{
  when schedule "0 9 * * 1" in "Europe/Rome" for customers where customer.email_consent
  again after 30 days
  send email hello
}}
{TEMPLATES}"#
    ));
    assert_eq!(
        schedule.node(NodeId(0)).unwrap().label,
        "when schedule \"0 9 * * 1\" in \"Europe/Rome\"\nfor customers where customer.email_consent\nagain after 30 days"
    );
    let date = draw(&format!(
        r#"
journey j {{
  when date customer.birthday at 09:00
  again after 300 days
  send email hello
}}
{TEMPLATES}"#
    ));
    assert_eq!(
        date.node(NodeId(0)).unwrap().label,
        "when date customer.birthday at 09:00 local\nagain after 300 days"
    );
}

#[test]
fn a_send_names_the_channel_the_category_and_the_coupon() {
    let graph = draw(&format!(
        r#"
journey j {{
  when subscribed
  once
  send hello with coupon(percent: 10, valid: 14 days)
  send email receipt
}}
{TEMPLATES}"#
    ));
    let hello = find(&graph, "send email hello");
    assert_eq!(
        graph.node(hello).unwrap().label,
        "send email hello\n(marketing)\nwith coupon(percent: 10, valid: 14 days)"
    );
    assert_eq!(
        kind(&graph, hello),
        NodeKind::Send(Some(journey_compiler::syntax::ast::Category::Marketing))
    );
    let receipt = next(&graph, hello);
    assert_eq!(
        graph.node(receipt).unwrap().label,
        "send email receipt\n(transactional)"
    );
    assert_eq!(kind(&graph, next(&graph, receipt)), NodeKind::End);
}

#[test]
fn a_labelled_step_shows_its_label_above_what_it_does() {
    let graph = draw(&format!(
        r#"
journey j {{
  when subscribed
  once
  step first_wait: wait 3 hours
  step welcome: send email hello
}}
{TEMPLATES}"#
    ));
    let wait = find(&graph, "step first_wait:");
    assert_eq!(
        graph.node(wait).unwrap().label,
        "step first_wait:\nwait 3 hours"
    );
    assert_eq!(kind(&graph, wait), NodeKind::Wait);
    let send = next(&graph, wait);
    assert_eq!(
        graph.node(send).unwrap().label,
        "step welcome:\nsend email hello\n(marketing)"
    );
}

#[test]
fn wait_for_up_to_has_an_event_edge_and_a_timeout_edge_into_its_block() {
    let graph = draw(&format!(
        r#"
journey j {{
  when order_placed as order
  once per order.order_id
  wait for order_shipped where it.order_id == order.order_id up to 5 days {{
    timeout => {{ send email receipt }}
  }}
  send email hello
}}
{TEMPLATES}"#
    ));
    let wait = find(&graph, "wait for order_shipped");
    assert_eq!(
        graph.node(wait).unwrap().label,
        "wait for order_shipped\nwhere it.order_id == order.order_id\nup to 5 days"
    );
    let timeout = follow(&graph, wait, "timeout after 5 days");
    assert!(
        graph
            .node(timeout)
            .unwrap()
            .label
            .starts_with("send email receipt")
    );
    let arrived = follow(&graph, wait, "order_shipped");
    assert!(
        graph
            .node(arrived)
            .unwrap()
            .label
            .starts_with("send email hello")
    );
    // The timeout block rejoins after the wait.
    assert_eq!(next(&graph, timeout), arrived);
}

#[test]
fn a_timeout_block_that_exits_does_not_rejoin() {
    let graph = draw(&format!(
        r#"
journey j {{
  when order_placed as order
  once per order.order_id
  wait for order_delivered where it.order_id == order.order_id up to 30 days {{
    timeout => {{ exit }}
  }}
  send email hello
}}
{TEMPLATES}"#
    ));
    let wait = find(&graph, "wait for order_delivered");
    let timeout = follow(&graph, wait, "timeout after 30 days");
    assert_eq!(kind(&graph, timeout), NodeKind::Exit);
    assert_eq!(graph.outgoing(timeout).count(), 0);
    let hello = find(&graph, "send email hello");
    assert_eq!(graph.incoming(hello).count(), 1);
}

#[test]
fn a_wait_for_without_a_block_goes_on_either_way() {
    let graph = draw(&format!(
        r#"
journey j {{
  when order_placed as order
  once per order.order_id
  wait for order_shipped as shipment where it.order_id == order.order_id since entry up to 3 days
  send email receipt
}}
{TEMPLATES}"#
    ));
    let wait = find(&graph, "wait for order_shipped as shipment");
    assert!(graph.node(wait).unwrap().label.contains("\nsince entry\n"));
    let receipt = find(&graph, "send email receipt");
    assert_eq!(follow(&graph, wait, "order_shipped"), receipt);
    assert_eq!(follow(&graph, wait, "timeout after 3 days"), receipt);
}

#[test]
fn wait_up_to_has_one_labelled_edge_per_branch_and_the_timeout() {
    let graph = draw(&format!(
        r#"
journey j {{
  when subscribed
  once
  wait up to 7 days {{
    on coupon_redeemed => {{ exit }}
    on email_opened where it.template == "hello" => {{ send email receipt }}
    timeout => {{ send email hello }}
  }}
}}
{TEMPLATES}"#
    ));
    let wait = find(&graph, "wait up to 7 days");
    assert_eq!(
        graph.node(wait).unwrap().label,
        "wait up to 7 days\nfor coupon_redeemed or email_opened"
    );
    let labels: Vec<_> = graph
        .outgoing(wait)
        .map(|edge| edge.label.clone().unwrap())
        .collect();
    assert_eq!(
        labels,
        vec![
            "on coupon_redeemed",
            "on email_opened\nwhere it.template == \"hello\"",
            "timeout after 7 days"
        ]
    );
    assert_eq!(
        kind(&graph, follow(&graph, wait, "on coupon_redeemed")),
        NodeKind::Exit
    );
    // Both other branches go on to the one natural end.
    let end = find(&graph, "end");
    assert_eq!(kind(&graph, end), NodeKind::End);
    assert_eq!(graph.incoming(end).count(), 2);
}

#[test]
fn else_if_chains_follow_the_no_edges() {
    let graph = draw(&format!(
        r#"
journey j {{
  when order_delivered as delivery
  once per delivery.order_id
  if customer.orders_count == 1 {{
    send email hello
  }} else if customer.orders_count == 2 {{
    send email receipt
  }} else {{
    exit
  }}
}}
{TEMPLATES}"#
    ));
    let first = find(&graph, "if customer.orders_count == 1");
    assert_eq!(kind(&graph, first), NodeKind::Condition);
    let second = follow(&graph, first, "no");
    assert_eq!(
        graph.node(second).unwrap().label,
        "if customer.orders_count == 2"
    );
    assert_eq!(kind(&graph, second), NodeKind::Condition);
    assert_eq!(kind(&graph, follow(&graph, second, "no")), NodeKind::Exit);
    let hello = follow(&graph, first, "yes");
    let receipt = follow(&graph, second, "yes");
    assert_eq!(next(&graph, hello), next(&graph, receipt));
}

#[test]
fn an_if_without_else_goes_on_when_false() {
    let graph = draw(&format!(
        r#"
journey j {{
  when subscribed
  once
  if customer.email_consent {{
    send email hello
  }}
  send email receipt
}}
{TEMPLATES}"#
    ));
    let condition = find(&graph, "if customer.email_consent");
    let receipt = find(&graph, "send email receipt");
    assert_eq!(follow(&graph, condition, "no"), receipt);
    assert_eq!(next(&graph, follow(&graph, condition, "yes")), receipt);
}

#[test]
fn a_holdout_branch_ends_and_other_branches_go_on() {
    let graph = draw(&format!(
        r#"
journey j {{
  when subscribed
  once
  goal ordered when order_placed within 30 days
  split {{
    45% => {{ send email hello }}
    45% => {{ send email receipt }}
    10% => holdout
  }}
}}
{TEMPLATES}"#
    ));
    let split = find(&graph, "split");
    assert_eq!(kind(&graph, split), NodeKind::Split);
    let labels: Vec<_> = graph
        .outgoing(split)
        .map(|edge| edge.label.clone().unwrap())
        .collect();
    assert_eq!(labels, vec!["45%", "45%", "10%"]);
    let holdout = follow(&graph, split, "10%");
    assert_eq!(kind(&graph, holdout), NodeKind::Holdout);
    assert!(graph.node(holdout).unwrap().label.starts_with("holdout"));
    assert_eq!(graph.outgoing(holdout).count(), 0);
    let end = find(&graph, "end");
    assert_eq!(graph.incoming(end).count(), 2);
}

#[test]
fn set_goal_and_exit_are_nodes_with_their_source() {
    let graph = draw(&format!(
        r#"
journey j {{
  when order_placed as order
  every time
  set customer.points = customer.points /* euros */ + round(order.total / €1)
  goal counted within 1 day
  wait until saturday 10:00
  exit
}}
{TEMPLATES}"#
    ));
    let set = find(&graph, "set ");
    assert_eq!(kind(&graph, set), NodeKind::Set);
    assert_eq!(
        graph.node(set).unwrap().label,
        "set customer.points = customer.points + round(order.total / €1)"
    );
    let goal = next(&graph, set);
    assert_eq!(kind(&graph, goal), NodeKind::Goal);
    assert_eq!(graph.node(goal).unwrap().label, "goal counted within 1 day");
    let wait = next(&graph, goal);
    assert_eq!(graph.node(wait).unwrap().label, "wait until saturday 10:00");
    let exit = next(&graph, wait);
    assert_eq!(kind(&graph, exit), NodeKind::Exit);
    assert!(
        graph.nodes.iter().all(|node| node.kind != NodeKind::End),
        "a journey that always exits has no natural end"
    );
}

#[test]
fn exit_rules_and_goals_hang_beside_the_start_in_their_groups() {
    let graph = draw(&format!(
        r#"
journey j {{
  when cart_abandoned as cart
  once per cart.cart_id
  exit when order_placed
  exit when unsubscribed
  goal recovered when order_placed where it.total > €10 within 7 days
  wait 3 hours
  send email hello
}}
{TEMPLATES}"#
    ));
    let titles: Vec<_> = graph.clusters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, vec!["exit rules", "goals"]);
    assert_eq!(
        graph.clusters[0].nodes,
        vec![NodeId(1), NodeId(2)],
        "rules follow the start"
    );
    assert_eq!(
        graph.node(NodeId(1)).unwrap().label,
        "exit when order_placed"
    );
    assert_eq!(
        graph.node(NodeId(3)).unwrap().label,
        "goal recovered\nwhen order_placed\nwhere it.total > €10\nwithin 7 days"
    );
    let rule_edges: Vec<_> = graph
        .outgoing(NodeId(0))
        .filter(|edge| edge.kind == EdgeKind::Rule)
        .map(|edge| edge.to)
        .collect();
    assert_eq!(rule_edges, vec![NodeId(1), NodeId(2), NodeId(3)]);
    let first_step: Vec<_> = graph
        .outgoing(NodeId(0))
        .filter(|edge| edge.kind == EdgeKind::Flow)
        .map(|edge| edge.to)
        .collect();
    assert_eq!(first_step, vec![NodeId(4)]);
    assert_eq!(graph.node(NodeId(4)).unwrap().label, "wait 3 hours");
}

#[test]
fn labels_are_escaped_for_each_format() {
    let graph = draw(&format!(
        r#"
journey j "Il \"nostro\" flusso" {{
  when email_opened where it.template == "a\\b" and it.template != "<#x>"
  every time
  send email hello
}}
{TEMPLATES}"#
    ));
    let mermaid = graph::mermaid::render(&graph);
    assert!(
        mermaid.starts_with("---\ntitle: \"Il \\\"nostro\\\" flusso (j)\"\n---\nflowchart TD\n")
    );
    assert!(
        mermaid.contains(
            "n0([\"when email_opened<br/>where it.template == #quot;a#92;#92;b#quot;<br/>and it.template != #quot;#lt;#35;x#gt;#quot;<br/>every time\"])"
        ),
        "{mermaid}"
    );
    let dot = graph::dot::render(&graph);
    assert!(dot.starts_with("digraph \"journey_j\" {\n"), "{dot}");
    assert!(
        dot.contains(
            r#"n0 [label="when email_opened\nwhere it.template == \"a\\\\b\"\nand it.template != \"<#x>\"\nevery time""#
        ),
        "{dot}"
    );
}

#[test]
fn only_the_given_files_are_drawn() {
    let checked = journey_compiler::check_files(
        vec![
            (
                "a.journey".to_string(),
                format!(
                    "journey a {{\n  when subscribed\n  once\n  send email hello\n}}\n{TEMPLATES}"
                ),
            ),
            (
                "b.journey".to_string(),
                "journey b {\n  when unsubscribed\n  once\n  send email receipt\n}\n".to_string(),
            ),
        ],
        &journey_compiler::NoImports,
    );
    assert_eq!(checked.count(Severity::Error), 0, "{}", report(&checked));
    let graphs = graph::program(&checked);
    let names: Vec<_> = graphs
        .iter()
        .map(|g| (g.name.as_str(), g.file.as_str()))
        .collect();
    assert_eq!(names, vec![("a", "a.journey"), ("b", "b.journey")]);
    // Templates of another file still give their category.
    assert!(
        graphs[1]
            .nodes
            .iter()
            .any(|n| n.label == "send email receipt\n(transactional)")
    );
}
