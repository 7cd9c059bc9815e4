//! A readable listing of a [`Program`]: what `journey disasm` prints.
//!
//! Expressions are printed back in the journey language's own notation, with slots shown by
//! name, so a reviewer can compare the listing with the source.

use std::fmt::Write;

use chrono::NaiveDate;

use super::value::{Value, show_micros};
use super::{
    EntryRule, EventMatch, Expr, FieldType, Instr, Program, TemplateNode, Trigger, UnaryOp,
};

/// The listing of a program; `hash` is printed in the header when given.
pub fn listing(program: &Program, hash: Option<&str>) -> String {
    let mut out = String::new();
    let p = Printer { program };
    let title = program
        .title
        .as_ref()
        .map(|t| format!(" \"{t}\""))
        .unwrap_or_default();
    let _ = writeln!(out, "journey {}{title}", program.journey);
    let _ = writeln!(out, "  file       {}", program.file);
    if let Some(hash) = hash {
        let _ = writeln!(out, "  hash       {hash}");
    }
    let trigger = match &program.trigger {
        Trigger::Event(m) => format!("event {}", p.event_match(m)),
        Trigger::Schedule {
            cron,
            zone,
            condition,
        } => format!(
            "schedule \"{cron}\" in {zone}{}",
            condition
                .as_ref()
                .map(|c| format!(" where {}", p.expr(c, &[])))
                .unwrap_or_default()
        ),
        Trigger::Date {
            attribute,
            at,
            zone,
        } => format!(
            "date customer.{attribute} at {}{}",
            clock(*at),
            zone.as_ref()
                .map(|z| format!(" in {z}"))
                .unwrap_or_else(|| " local".to_string())
        ),
        Trigger::Segment => format!(
            "entered segment {}",
            program
                .segment
                .as_ref()
                .map(|s| format!("{} ({})", s.name, p.expr(&s.condition, &[])))
                .unwrap_or_default()
        ),
    };
    let _ = writeln!(out, "  trigger    {trigger}");
    let entry = match &program.entry {
        EntryRule::Once => "once".to_string(),
        EntryRule::OncePer(key) => format!("once per {}", p.expr(key, &[])),
        EntryRule::AgainAfter(seconds) => format!("again after {}", duration(*seconds)),
        EntryRule::EveryTime => "every time".to_string(),
    };
    let _ = writeln!(out, "  entry      {entry}");
    for exit in &program.exits {
        let _ = writeln!(out, "  exit when  {}", p.event_match(exit));
    }
    for goal in &program.goals {
        let _ = writeln!(
            out,
            "  goal       {} when {} within {}",
            p.goal(goal.goal),
            p.event_match(&goal.event),
            duration(goal.within)
        );
    }
    if let Some(group) = &program.exclusive {
        let _ = writeln!(out, "  exclusive  {group}");
    }
    if !program.slots.is_empty() {
        let slots: Vec<String> = program
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| format!("${i} {s}"))
            .collect();
        let _ = writeln!(out, "  slots      {}", slots.join(", "));
    }
    if !program.since_entry_events.is_empty() {
        let _ = writeln!(
            out,
            "  keeps      {} (for `since entry` waits)",
            program.since_entry_events.join(", ")
        );
    }
    if let Some(policy) = &program.policy {
        for quiet in &policy.quiet_hours {
            let _ = writeln!(
                out,
                "  policy     quiet hours {} to {}{}",
                clock(quiet.from),
                clock(quiet.to),
                quiet
                    .zone
                    .as_ref()
                    .map(|z| format!(" in {z}"))
                    .unwrap_or_else(|| " local".to_string())
            );
        }
        for cap in &policy.caps {
            let _ = writeln!(
                out,
                "  policy     at most {} per {} then {}",
                cap.count,
                duration(cap.window),
                if cap.defer { "defer" } else { "skip" }
            );
        }
    }
    for migration in &program.migrations {
        let to = match migration.to {
            super::MigrationTarget::Exit => "exit".to_string(),
            super::MigrationTarget::Step(idx) => program
                .labels
                .get(usize::from(idx))
                .map_or_else(|| "?".to_string(), |l| format!("{} ({:04})", l.name, l.pc)),
        };
        let _ = writeln!(out, "  migrate    {} -> {to}", migration.from);
    }
    let _ = writeln!(out, "\ncode");
    for (pc, instr) in program.code.iter().enumerate() {
        for label in program.labels.iter().filter(|l| l.pc as usize == pc) {
            let carries: Vec<String> = label
                .known
                .iter()
                .map(|k| format!("{} ({})", k.name, k.event))
                .collect();
            let _ = writeln!(
                out,
                "        step {}:{}",
                label.name,
                if carries.is_empty() {
                    String::new()
                } else {
                    format!("  carries {}", carries.join(", "))
                }
            );
        }
        let _ = writeln!(out, "  {pc:04}  {}", p.instr(instr));
    }
    for template in &program.templates {
        let layout = template
            .layout
            .and_then(|l| program.layouts.get(l as usize))
            .map(|l| format!(" layout {}", l.name))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\ntemplate {}: {} {}{layout}",
            template.name,
            template.channel.keyword(),
            template.category.keyword()
        );
        if let Some(subject) = &template.subject {
            let _ = writeln!(out, "  subject    {}", p.nodes(subject, &mut Vec::new()));
        }
        if let Some(preheader) = &template.preheader {
            let _ = writeln!(out, "  preheader  {}", p.nodes(preheader, &mut Vec::new()));
        }
        if let Some((format, body)) = &template.body {
            let format = match format {
                super::BodyFormat::Markdown => "markdown",
                super::BodyFormat::Text => "text",
                super::BodyFormat::Html => "html",
            };
            let _ = writeln!(out, "  body {format}  {}", p.nodes(body, &mut Vec::new()));
        }
    }
    for layout in &program.layouts {
        let _ = writeln!(out, "\nlayout {}", layout.name);
        let _ = writeln!(
            out,
            "  header     {}",
            p.nodes(&layout.header, &mut Vec::new())
        );
        let _ = writeln!(
            out,
            "  footer     {}",
            p.nodes(&layout.footer, &mut Vec::new())
        );
    }
    let events: Vec<&str> = program
        .schemas
        .iter()
        .filter(|s| s.is_event)
        .map(|s| s.name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "\nschemas    {} records and events; events: {}",
        program.schemas.len(),
        events.join(", ")
    );
    out
}

/// Prints a duration in the largest whole units (`7 days`, `3 hours`, `90 minutes`).
pub fn duration(seconds: u64) -> String {
    let units = [
        (86_400, "day"),
        (3600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    for (size, unit) in units {
        if seconds >= size && seconds.is_multiple_of(size) {
            let n = seconds / size;
            return format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    "0 seconds".to_string()
}

fn clock(seconds: u32) -> String {
    format!("{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

struct Printer<'p> {
    program: &'p Program,
}

impl Printer<'_> {
    fn goal(&self, idx: u16) -> &str {
        self.program
            .goal_names
            .get(idx as usize)
            .map_or("?", String::as_str)
    }

    fn slot(&self, idx: u16) -> String {
        self.program
            .slots
            .get(idx as usize)
            .map_or_else(|| format!("${idx}"), Clone::clone)
    }

    fn event_match(&self, m: &EventMatch) -> String {
        let mut text = m.event.clone();
        if let Some(slot) = m.slot {
            let _ = write!(text, " -> ${slot} {}", self.slot(slot));
        }
        if let Some(condition) = &m.condition {
            let _ = write!(text, " where {}", self.expr(condition, &[]));
        }
        text
    }

    fn step(&self, step: u32) -> String {
        format!("   ; {}", self.program.step_label(step))
    }

    fn instr(&self, instr: &Instr) -> String {
        match instr {
            Instr::Send {
                step,
                template,
                with,
            } => {
                let name = self
                    .program
                    .templates
                    .get(*template as usize)
                    .map_or("?", |t| t.name.as_str());
                let with: Vec<String> = with
                    .iter()
                    .map(|(slot, value)| format!("${slot} = {}", self.expr(value, &[])))
                    .collect();
                let with = if with.is_empty() {
                    String::new()
                } else {
                    format!(" with {}", with.join(", "))
                };
                format!("send       {name}{with}{}", self.step(*step))
            }
            Instr::Wait { step, seconds } => {
                format!("wait       {}{}", duration(*seconds), self.step(*step))
            }
            Instr::WaitUntil {
                step,
                days,
                weekday,
                at,
                zone,
            } => {
                let day_names = [
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                ];
                let day = weekday
                    .and_then(|d| day_names.get(d as usize))
                    .map(|d| format!("{d} "))
                    .unwrap_or_default();
                let zone = zone
                    .as_ref()
                    .map_or_else(|| "local".to_string(), |z| format!("in {z}"));
                let ahead = if *days > 0 {
                    format!("+{} ", duration(u64::from(*days) * 86_400))
                } else {
                    String::new()
                };
                format!(
                    "wait-until {ahead}{day}{} {zone}{}",
                    clock(*at),
                    self.step(*step)
                )
            }
            Instr::WaitFor {
                step,
                arms,
                timeout,
            } => {
                let arms: Vec<String> = arms
                    .iter()
                    .map(|arm| {
                        format!(
                            "{}{} => {:04}",
                            self.event_match(&arm.event),
                            if arm.since_entry { " since entry" } else { "" },
                            arm.target
                        )
                    })
                    .collect();
                let timeout = timeout
                    .map(|(seconds, target)| {
                        format!("; timeout {} => {target:04}", duration(seconds))
                    })
                    .unwrap_or_default();
                format!(
                    "wait-for   {}{timeout}{}",
                    arms.join("; "),
                    self.step(*step)
                )
            }
            Instr::Jump { target } => format!("jump       {target:04}"),
            Instr::Branch {
                step,
                condition,
                otherwise,
            } => format!(
                "branch     if {} else {otherwise:04}{}",
                self.expr(condition, &[]),
                self.step(*step)
            ),
            Instr::Split { step, branches } => {
                let mut previous = 0;
                let arms: Vec<String> = branches
                    .iter()
                    .map(|(bound, target)| {
                        let share = bound.saturating_sub(previous);
                        previous = *bound;
                        let target =
                            target.map_or_else(|| "holdout".to_string(), |t| format!("{t:04}"));
                        format!("{} => {target}", percent(share))
                    })
                    .collect();
                format!("split      {}{}", arms.join(", "), self.step(*step))
            }
            Instr::Set {
                step,
                attribute,
                value,
            } => format!(
                "set        customer.{attribute} = {}{}",
                self.expr(value, &[]),
                self.step(*step)
            ),
            Instr::Goal { step, goal, within } => format!(
                "goal       {}{}{}",
                self.goal(*goal),
                within
                    .map(|w| format!(" within {}", duration(w)))
                    .unwrap_or_default(),
                self.step(*step)
            ),
            Instr::Exit { step } => format!("exit{}", self.step(*step)),
            Instr::End => "end".to_string(),
        }
    }

    fn nodes(&self, nodes: &[TemplateNode], locals: &mut Vec<String>) -> String {
        let mut out = String::new();
        for node in nodes {
            match node {
                TemplateNode::Raw(text) => {
                    let _ = write!(out, "{}", text.replace('\\', "\\\\").replace('\n', "\\n"));
                }
                TemplateNode::Output { expr, .. } => {
                    let _ = write!(out, "{{{{ {} }}}}", self.expr(expr, locals));
                }
                TemplateNode::If {
                    branches,
                    otherwise,
                } => {
                    for (idx, (condition, body)) in branches.iter().enumerate() {
                        let keyword = if idx == 0 { "if" } else { "elif" };
                        let _ = write!(
                            out,
                            "{{% {keyword} {} %}}{}",
                            self.expr(condition, locals),
                            self.nodes(body, locals)
                        );
                    }
                    if !otherwise.is_empty() {
                        let _ = write!(out, "{{% else %}}{}", self.nodes(otherwise, locals));
                    }
                    out.push_str("{% endif %}");
                }
                TemplateNode::For { list, var, body } => {
                    let list = self.expr(list, locals);
                    locals.push(var.clone());
                    let body = self.nodes(body, locals);
                    locals.pop();
                    let _ = write!(out, "{{% for {var} in {list} %}}{body}{{% endfor %}}");
                }
            }
        }
        out
    }

    fn expr(&self, expr: &Expr, locals: &[String]) -> String {
        match expr {
            Expr::Const(value) => constant(value),
            Expr::Customer => "customer".to_string(),
            Expr::Shop => "shop".to_string(),
            Expr::UnsubscribeUrl => "unsubscribe_url".to_string(),
            Expr::It => "it".to_string(),
            Expr::Slot(idx) => self.slot(*idx),
            Expr::Local(depth) => locals
                .get(*depth as usize)
                .cloned()
                .unwrap_or_else(|| format!("#{depth}")),
            Expr::Field(base, name) => format!("{}.{name}", self.expr(base, locals)),
            Expr::Call(builtin, args) => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| {
                        let text = self.expr(a, locals);
                        match (a, text.strip_prefix('(').and_then(|t| t.strip_suffix(')'))) {
                            (Expr::Binary(..), Some(inner)) => inner.to_string(),
                            _ => text,
                        }
                    })
                    .collect();
                format!("{}({})", builtin.name(), args.join(", "))
            }
            Expr::Binary(op, left, right) => format!(
                "({} {} {})",
                self.expr(left, locals),
                op.symbol(),
                self.expr(right, locals)
            ),
            Expr::Unary(op, operand) => match op {
                UnaryOp::Not => format!("not {}", self.expr(operand, locals)),
                UnaryOp::Neg => format!("-{}", self.expr(operand, locals)),
                UnaryOp::IsSet => format!("{} is set", self.expr(operand, locals)),
                UnaryOp::IsNotSet => format!("{} is not set", self.expr(operand, locals)),
            },
            Expr::List(items) => {
                let items: Vec<String> = items.iter().map(|i| self.expr(i, locals)).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

fn percent(basis_points: u32) -> String {
    if basis_points.is_multiple_of(100) {
        format!("{}%", basis_points / 100)
    } else {
        format!("{}.{:02}%", basis_points / 100, basis_points % 100)
    }
}

/// A constant in the language's notation.
pub fn constant(value: &Value) -> String {
    match value {
        Value::Missing => "missing".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Decimal(micros) => show_micros(*micros),
        Value::Money { micros, currency } => {
            format!("{} {}", show_micros(*micros), currency.code())
        }
        Value::Text(text) => format!(
            "\"{}\"",
            text.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        ),
        Value::Date(days) => NaiveDate::from_num_days_from_ce_opt(*days).map_or_else(
            || format!("day {days}"),
            |d| d.format("%Y-%m-%d").to_string(),
        ),
        Value::DateTime(seconds) => chrono::DateTime::from_timestamp(*seconds, 0)
            .map_or_else(|| format!("instant {seconds}"), |d| d.to_rfc3339()),
        Value::Time(seconds) => clock(*seconds),
        Value::Duration(seconds) => duration(seconds.unsigned_abs()),
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(constant).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Record(record) => {
            let fields: Vec<String> = record
                .fields
                .iter()
                .map(|(name, value)| format!("{name}: {}", constant(value)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}

/// A field type in the language's notation.
pub fn field_type(program: &Program, ty: &FieldType) -> String {
    match ty {
        FieldType::Text => "text".to_string(),
        FieldType::Int => "int".to_string(),
        FieldType::Decimal => "decimal".to_string(),
        FieldType::Money => "money".to_string(),
        FieldType::Bool => "bool".to_string(),
        FieldType::Date => "date".to_string(),
        FieldType::DateTime => "datetime".to_string(),
        FieldType::Time => "time".to_string(),
        FieldType::Duration => "duration".to_string(),
        FieldType::Email => "email".to_string(),
        FieldType::Url => "url".to_string(),
        FieldType::Any => "any".to_string(),
        FieldType::List(inner) => format!("list<{}>", field_type(program, inner)),
        FieldType::Optional(inner) => format!("{}?", field_type(program, inner)),
        FieldType::Record(idx) => program
            .schemas
            .get(*idx as usize)
            .map_or_else(|| "record".to_string(), |s| s.name.clone()),
    }
}
