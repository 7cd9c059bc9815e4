//! Parser tests: one check per construct of the language, asserting the shape of the tree.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use journey_compiler::source::FileId;
use journey_compiler::syntax::ast::*;
use journey_compiler::syntax::parse_file;

/// Parses a whole file and fails on any diagnostic.
fn parse(text: &str) -> Vec<Declaration> {
    let (file, diagnostics) = parse_file(FileId(0), text);
    assert!(
        diagnostics.is_empty(),
        "unexpected diagnostics: {diagnostics:#?}"
    );
    file.declarations
}

/// Parses the steps of a journey body.
fn steps(body: &str) -> Vec<StepKind> {
    journey(&format!(
        "journey j {{\n  when order_placed as order\n{body}\n}}\n"
    ))
    .steps
    .into_iter()
    .map(|step| step.kind)
    .collect()
}

fn journey(text: &str) -> Journey {
    match parse(text).into_iter().next() {
        Some(Declaration::Journey(journey)) => journey,
        other => panic!("expected a journey, got {other:?}"),
    }
}

/// Parses one expression (as a `set` value).
fn expr(text: &str) -> Expr {
    match steps(&format!("  set customer.points = {text}"))
        .into_iter()
        .next()
    {
        Some(StepKind::Set { value, .. }) => value,
        other => panic!("expected set, got {other:?}"),
    }
}

fn shape(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Binary(op, l, r) => format!("({} {} {})", shape(l), op.symbol(), shape(r)),
        ExprKind::Unary(UnaryOp::Not, e) => format!("(not {})", shape(e)),
        ExprKind::Unary(UnaryOp::Neg, e) => format!("(-{})", shape(e)),
        ExprKind::Unary(UnaryOp::IsSet, e) => format!("({} is set)", shape(e)),
        ExprKind::Unary(UnaryOp::IsNotSet, e) => format!("({} is not set)", shape(e)),
        ExprKind::Path(p) => p
            .parts
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Decimal(d) => d.clone(),
        ExprKind::Text(t) => format!("{t:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Money { amount, currency } => format!("{amount} {currency}"),
        ExprKind::Duration(s) => format!("{s}s"),
        ExprKind::Date(d) => d.clone(),
        ExprKind::Time(t) => format!("{:02}:{:02}", t.hour, t.minute),
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(shape).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Call(c) => format!(
            "{}({})",
            c.name.name,
            c.args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}: {}", n.name, shape(&a.value)),
                    None => shape(&a.value),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[test]
fn event_record_and_customer_schemas() {
    let declarations = parse(
        "event order_placed \"Order placed\" {\n  order_id: text\n  items: list<line_item>\n  coupon: text?\n}\nrecord line_item {\n  price: money\n}\ncustomer {\n  vip: bool?\n}\n",
    );
    let kinds: Vec<(SchemaKind, String, usize)> = declarations
        .iter()
        .map(|d| match d {
            Declaration::Schema(s) => (s.kind, s.name.name.clone(), s.fields.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (SchemaKind::Event, "order_placed".into(), 3),
            (SchemaKind::Record, "line_item".into(), 1),
            (SchemaKind::Customer, "customer".into(), 1)
        ]
    );
    let Some(Declaration::Schema(event)) = declarations.first() else {
        panic!()
    };
    assert_eq!(
        event.title.as_ref().map(|t| t.value.as_str()),
        Some("Order placed")
    );
    let items = &event.fields[1].ty;
    assert!(
        matches!(&items.kind, TypeExprKind::List(inner) if matches!(&inner.kind, TypeExprKind::Named(n) if n.name == "line_item"))
    );
    assert!(event.fields[2].ty.optional);
}

#[test]
fn imports_segments_builtins_layouts() {
    let declarations = parse(
        "import \"shop.journey\"\nsegment vip \"VIP\" where customer.total_spent >= €500\nbuiltin days_since(value: date) -> int\nlayout plain {\n  header \"{{ shop.name }}\"\n  footer \"bye\"\n}\n",
    );
    assert!(matches!(&declarations[0], Declaration::Import(i) if i.path.value == "shop.journey"));
    assert!(
        matches!(&declarations[1], Declaration::Segment(s) if s.name.name == "vip" && shape(&s.condition) == "(customer.total_spent >= 500 EUR)")
    );
    assert!(
        matches!(&declarations[2], Declaration::Builtin(b) if b.params.len() == 1 && b.name.name == "days_since")
    );
    assert!(
        matches!(&declarations[3], Declaration::Layout(l) if l.header.is_some() && l.footer.is_some())
    );
}

#[test]
fn policies() {
    let declarations = parse(
        "policy marketing {\n  quiet hours 21:00 to 08:00 local in \"Europe/Rome\"\n  at most 3 per 7 days then skip\n  at most 1 per 1 day\n}\n",
    );
    let Some(Declaration::Policy(policy)) = declarations.first() else {
        panic!()
    };
    let quiet = &policy.quiet_hours[0];
    assert_eq!((quiet.from.hour, quiet.to.hour), (21, 8));
    assert_eq!(
        quiet.zone.as_ref().map(|z| z.value.as_str()),
        Some("Europe/Rome")
    );
    assert_eq!(policy.caps.len(), 2);
    assert_eq!(
        (
            policy.caps[0].count,
            policy.caps[0].window.seconds,
            policy.caps[0].action
        ),
        (3, 7 * 86_400, CapAction::Skip)
    );
    assert_eq!(policy.caps[1].action, CapAction::Defer);
}

#[test]
fn templates_with_tags_and_filters() {
    let declarations = parse(
        "template t: email marketing {\n  subject \"Ciao {{ customer.first_name ?? 'amico' }}\"\n  preheader \"p\"\n  layout none\n  body markdown \"\"\"\n    {% for item in order.items %}- {{ item.name | upper }} {{ item.price | money }}\n    {% endfor %}{% if x is set %}a{% elif y %}b{% else %}c{% endif %}{# note #}\n    \"\"\"\n}\n",
    );
    let Some(Declaration::Template(template)) = declarations.first() else {
        panic!()
    };
    assert_eq!(
        (template.channel, template.category),
        (Channel::Email, Category::Marketing)
    );
    assert_eq!(
        template.layout.as_ref().map(|l| l.name.as_str()),
        Some("none")
    );
    let subject = template.subject.as_ref().unwrap();
    assert!(
        matches!(&subject.nodes[1], TemplateNode::Output { expr, .. } if shape(expr) == "(customer.first_name ?? \"amico\")")
    );
    let (format, body) = template.body.as_ref().unwrap();
    assert_eq!(*format, BodyFormat::Markdown);
    let TemplateNode::For {
        var,
        body: loop_body,
        ..
    } = &body.nodes[0]
    else {
        panic!("{:?}", body.nodes)
    };
    assert_eq!(var.name, "item");
    assert!(
        matches!(&loop_body[1], TemplateNode::Output { filters, .. } if filters[0].name.name == "upper")
    );
    let TemplateNode::If {
        branches,
        otherwise,
        ..
    } = &body.nodes[1]
    else {
        panic!()
    };
    assert_eq!((branches.len(), otherwise.len()), (2, 1));
}

#[test]
fn multi_line_bodies_lose_their_indentation() {
    let declarations = parse(
        "template t: sms transactional {\n  body text \"\"\"\n    Riga uno\n      rientrata\n    \"\"\"\n}\n",
    );
    let Some(Declaration::Template(template)) = declarations.first() else {
        panic!()
    };
    let (_, body) = template.body.as_ref().unwrap();
    let TemplateNode::Raw { text, .. } = &body.nodes[0] else {
        panic!()
    };
    assert_eq!(text, "Riga uno\n  rientrata\n");
}

#[test]
fn journey_header_rules() {
    let parsed = journey(
        "journey post_purchase \"After\" {\n  when order_placed as order where order.total > €10\n  once per order.order_id\n  exit when order_refunded where it.order_id == order.order_id\n  goal reviewed when review_submitted as r where r.rating >= 4 within 30 days\n  exclusive promotions\n  exit\n}\n",
    );
    assert_eq!(
        parsed.title.as_ref().map(|t| t.value.as_str()),
        Some("After")
    );
    let TriggerKind::Event(trigger) = &parsed.triggers[0].kind else {
        panic!()
    };
    assert_eq!(trigger.bound_name().name, "order");
    assert!(
        matches!(&parsed.entry[0].kind, EntryKind::OncePer(key) if shape(key) == "order.order_id")
    );
    assert_eq!(parsed.exits[0].event.name, "order_refunded");
    assert_eq!(
        (
            parsed.goals[0].name.name.as_str(),
            parsed.goals[0].within.seconds
        ),
        ("reviewed", 30 * 86_400)
    );
    assert_eq!(parsed.exclusive[0].name, "promotions");
    assert!(matches!(parsed.steps[0].kind, StepKind::Exit));
}

#[test]
fn every_kind_of_trigger_and_entry_rule() {
    let schedule = journey(
        "journey a {\n  when schedule \"0 9 * * *\" in \"Europe/Rome\" for customers where customer.orders_count > 0\n  again after 30 days\n  exit\n}\n",
    );
    assert!(
        matches!(&schedule.triggers[0].kind, TriggerKind::Schedule { cron, zone: Some(_), condition: Some(_) } if cron.value == "0 9 * * *")
    );
    assert!(matches!(schedule.entry[0].kind, EntryKind::AgainAfter(d) if d.seconds == 30 * 86_400));
    let date = journey(
        "journey b {\n  when date customer.birthday at 09:00 local\n  every time\n  exit\n}\n",
    );
    assert!(matches!(&date.triggers[0].kind, TriggerKind::Date { at, .. } if at.hour == 9));
    assert!(matches!(date.entry[0].kind, EntryKind::EveryTime));
    let segment = journey("journey c {\n  when entered segment vip\n  once\n  exit\n}\n");
    assert!(matches!(&segment.triggers[0].kind, TriggerKind::Segment(s) if s.name == "vip"));
    assert!(matches!(segment.entry[0].kind, EntryKind::Once));
}

#[test]
fn send_steps() {
    let parsed = steps(
        "  send email welcome\n  send reminder with offer = coupon(percent: 10, valid: 7 days), coupon(amount: €5, valid: 3 days)",
    );
    assert!(
        matches!(&parsed[0], StepKind::Send { channel: Some((Channel::Email, _)), template, with } if template.name == "welcome" && with.is_empty())
    );
    let StepKind::Send {
        channel: None,
        with,
        ..
    } = &parsed[1]
    else {
        panic!()
    };
    let names: Vec<&str> = with.iter().map(|(n, _)| n.name.as_str()).collect();
    assert_eq!(names, ["offer", "coupon"]);
    assert_eq!(shape(&with[0].1), "coupon(percent: 10, valid: 604800s)");
}

#[test]
fn wait_steps() {
    let parsed = steps(
        "  wait 3 days\n  wait 4h\n  wait until saturday 10:30 in \"Europe/Rome\"\n  wait until 09:00\n  wait for order_shipped as shipment where it.order_id == order.order_id since entry up to 5 days {\n    timeout => { exit }\n  }\n  wait for order_delivered up to 10 days",
    );
    assert!(matches!(parsed[0], StepKind::Wait(d) if d.seconds == 3 * 86_400));
    assert!(matches!(parsed[1], StepKind::Wait(d) if d.seconds == 4 * 3_600));
    assert!(
        matches!(&parsed[2], StepKind::WaitUntil { weekday: Some((Weekday::Saturday, _)), time, zone: Some(_) } if time.hour == 10 && time.minute == 30)
    );
    assert!(matches!(
        &parsed[3],
        StepKind::WaitUntil {
            weekday: None,
            zone: None,
            ..
        }
    ));
    let StepKind::WaitFor {
        event,
        since_entry,
        up_to,
        timeout,
    } = &parsed[4]
    else {
        panic!()
    };
    assert_eq!(event.bound_name().name, "shipment");
    assert!(*since_entry);
    assert_eq!(up_to.map(|d| d.seconds), Some(5 * 86_400));
    assert!(matches!(
        &timeout.as_ref().unwrap().steps[0].kind,
        StepKind::Exit
    ));
    assert!(matches!(
        &parsed[5],
        StepKind::WaitFor {
            timeout: None,
            up_to: Some(_),
            ..
        }
    ));
}

#[test]
fn wait_for_the_first_of_several_events() {
    let parsed = steps(
        "  wait up to 7 days {\n    on coupon_redeemed as r where r.code == \"X\" => { exit }\n    on email_opened => { wait 1 day }\n    timeout => { send email second }\n  }",
    );
    let StepKind::WaitAny {
        up_to,
        branches,
        timeout,
    } = &parsed[0]
    else {
        panic!()
    };
    assert_eq!(up_to.seconds, 7 * 86_400);
    let events: Vec<&str> = branches
        .iter()
        .map(|b| b.event.event.name.as_str())
        .collect();
    assert_eq!(events, ["coupon_redeemed", "email_opened"]);
    assert!(timeout.is_some());
}

#[test]
fn branching_steps() {
    let parsed = steps(
        "  if customer.orders_count == 1 { exit } else if customer.vip { goal vip within 2 days } else { set customer.points = 0 }\n  split {\n    45% => { exit }\n    45.5% => { exit }\n    9.5% => holdout\n  }",
    );
    let StepKind::If {
        condition,
        otherwise,
        ..
    } = &parsed[0]
    else {
        panic!()
    };
    assert_eq!(shape(condition), "(customer.orders_count == 1)");
    let nested = &otherwise.as_ref().unwrap().steps[0].kind;
    assert!(matches!(
        nested,
        StepKind::If {
            otherwise: Some(_),
            ..
        }
    ));
    let StepKind::Split(branches) = &parsed[1] else {
        panic!()
    };
    let shares: Vec<(u32, bool)> = branches
        .iter()
        .map(|b| (b.basis_points, b.block.is_some()))
        .collect();
    assert_eq!(shares, [(4500, true), (4550, true), (950, false)]);
}

#[test]
fn operator_precedence() {
    assert_eq!(shape(&expr("1 + 2 * 3")), "(1 + (2 * 3))");
    assert_eq!(
        shape(&expr("a or b and not c == d")),
        "(a or (b and (not (c == d))))"
    );
    assert_eq!(shape(&expr("x ?? 0 + 1 > 2")), "((x ?? (0 + 1)) > 2)");
    assert_eq!(shape(&expr("-a - b")), "((-a) - b)");
    assert_eq!(
        shape(&expr("a is set and b is not set")),
        "((a is set) and (b is not set))"
    );
    assert_eq!(shape(&expr("(1 + 2) * 3")), "((1 + 2) * 3)");
    assert_eq!(
        shape(&expr("locale in ['it', \"en\"]")),
        "(locale in [\"it\", \"en\"])"
    );
}

#[test]
fn literals_of_every_type() {
    assert_eq!(shape(&expr("€19.90")), "19.90 EUR");
    assert_eq!(shape(&expr("19.90 EUR")), "19.90 EUR");
    assert_eq!(shape(&expr("$5")), "5 USD");
    assert_eq!(shape(&expr("3 days")), "259200s");
    assert_eq!(shape(&expr("4h")), "14400s");
    assert_eq!(shape(&expr("6 months")), "15552000s");
    assert_eq!(shape(&expr("2026-11-23")), "2026-11-23");
    assert_eq!(shape(&expr("09:00")), "09:00");
    assert_eq!(shape(&expr("42")), "42");
    assert_eq!(shape(&expr("3.5")), "3.5");
    assert_eq!(shape(&expr("true")), "true");
    assert_eq!(shape(&expr("'it\\'s'")), "\"it's\"");
    assert_eq!(
        shape(&expr("days_since(customer.last_order_date)")),
        "days_since(customer.last_order_date)"
    );
}

#[test]
fn keywords_need_word_boundaries() {
    // `email_reminder` is a template name, not the channel `email` followed by `_reminder`.
    let parsed = steps("  send email_reminder\n  send email email_reminder");
    assert!(
        matches!(&parsed[0], StepKind::Send { channel: None, template, .. } if template.name == "email_reminder")
    );
    assert!(
        matches!(&parsed[1], StepKind::Send { channel: Some(_), template, .. } if template.name == "email_reminder")
    );
    // `index` and `order` are names, not `in` and `or`.
    assert_eq!(shape(&expr("index + order")), "(index + order)");
}

#[test]
fn a_broken_declaration_does_not_hide_the_others() {
    let text = "event a {\n  x text\n}\ntemplate t: email marketing {\n  subject \"s\"\n  body \"b\"\n}\njourney j {\n  wait\n}\nrecord r {\n  y: int\n}\n";
    let (file, diagnostics) = parse_file(FileId(0), text);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    let names: Vec<&str> = file
        .declarations
        .iter()
        .map(|d| match d {
            Declaration::Template(t) => t.name.name.as_str(),
            Declaration::Schema(s) => s.name.name.as_str(),
            _ => "?",
        })
        .collect();
    assert_eq!(names, ["t", "r"]);
    assert_eq!(
        file.broken,
        [
            ("event".to_string(), "a".to_string()),
            ("journey".to_string(), "j".to_string())
        ]
    );
}

#[test]
fn spans_point_at_what_was_written() {
    let text = "journey j {\n  when order_placed as order   // a comment\n  exit\n}\n";
    let parsed = journey(text);
    let trigger = parsed.triggers[0].span;
    assert_eq!(&text[trigger.range()], "when order_placed as order");
    assert_eq!(&text[parsed.name.span.range()], "j");
}
