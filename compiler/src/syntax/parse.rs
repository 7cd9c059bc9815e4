//! From pest's parse tree to the [`ast`](super::ast), one function per construct.
//!
//! The grammar guarantees the shape of every pair, so a pair that is not where it should be
//! means a grammar/builder mismatch; such spots degrade to an empty node rather than panic.

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::Rule;
use super::ast::*;
use super::template;
use super::text;
use crate::diagnostics::Diagnostic;
use crate::source::{FileId, Span};

/// Where the pairs being built come from: the file and the offset of the parsed slice in it.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The file.
    pub file: FileId,
    /// Byte offset of the parsed slice in the file.
    pub base: usize,
}

impl Ctx {
    /// The file span of a pair.
    pub fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        let len = trim_trivia(pair.as_str()).len();
        Span::new(
            self.file,
            self.base + span.start(),
            self.base + span.start() + len,
        )
    }
}

/// The text without trailing blanks and comments, which pest includes in the span of a rule
/// that ends with an optional part.
fn trim_trivia(text: &str) -> &str {
    let mut text = text.trim_end();
    loop {
        let line_start = text.rfind('\n').map_or(0, |idx| idx + 1);
        let line = text.get(line_start..).unwrap_or("");
        match comment_start(line) {
            Some(idx) => text = text.get(..line_start + idx).unwrap_or(text).trim_end(),
            None => return text,
        }
    }
}

/// Where a `//` comment starts in a line, outside quotes.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (idx, ch) in line.char_indices() {
        match quote {
            Some(open) if ch == open && previous != '\\' => quote = None,
            Some(_) => {}
            None if ch == '"' || ch == '\'' => quote = Some(ch),
            None if ch == '/' && previous == '/' => return Some(idx - 1),
            None => {}
        }
        previous = ch;
    }
    None
}

/// Builds the declarations of one parsed chunk; template texts may add diagnostics.
pub fn chunk(
    ctx: Ctx,
    pair: Pair<'_, Rule>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Declaration> {
    let mut builder = Builder { ctx, diagnostics };
    pair.into_inner()
        .filter(|pair| pair.as_rule() != Rule::EOI)
        .filter_map(|pair| builder.declaration(pair))
        .collect()
}

struct Builder<'d> {
    ctx: Ctx,
    diagnostics: &'d mut Vec<Diagnostic>,
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: std::sync::OnceLock<PrattParser<Rule>> = std::sync::OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::or_op, Assoc::Left))
            .op(Op::infix(Rule::and_op, Assoc::Left))
            .op(Op::prefix(Rule::not_op))
            .op(Op::infix(Rule::eq, Assoc::Left)
                | Op::infix(Rule::ne, Assoc::Left)
                | Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left)
                | Op::infix(Rule::in_op, Assoc::Left))
            .op(Op::infix(Rule::coalesce, Assoc::Right))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
            .op(Op::prefix(Rule::neg))
            .op(Op::postfix(Rule::is_set) | Op::postfix(Rule::is_not_set))
    })
}

impl Builder<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        self.ctx.span(pair)
    }

    fn declaration(&mut self, pair: Pair<'_, Rule>) -> Option<Declaration> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        Some(match rule {
            Rule::import_decl => Declaration::Import(Import {
                path: self.text(inner.next()?),
                span,
            }),
            Rule::event_decl | Rule::record_decl => {
                let name = self.ident(inner.next()?);
                let mut title = None;
                let mut fields = Vec::new();
                for part in inner {
                    match part.as_rule() {
                        Rule::text_lit => title = Some(self.text(part)),
                        Rule::field => fields.extend(self.field(part)),
                        _ => {}
                    }
                }
                let kind = if rule == Rule::event_decl {
                    SchemaKind::Event
                } else {
                    SchemaKind::Record
                };
                Declaration::Schema(Schema {
                    kind,
                    name,
                    title,
                    fields,
                    span,
                })
            }
            Rule::customer_decl => {
                let keyword_end = span.start as usize + "customer".len();
                Declaration::Schema(Schema {
                    kind: SchemaKind::Customer,
                    name: Ident {
                        name: "customer".into(),
                        span: Span::new(span.file, span.start as usize, keyword_end),
                    },
                    title: None,
                    fields: inner.filter_map(|part| self.field(part)).collect(),
                    span,
                })
            }
            Rule::segment_decl => {
                let name = self.ident(inner.next()?);
                let mut title = None;
                let mut condition = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::text_lit => title = Some(self.text(part)),
                        Rule::expr => condition = Some(self.expr(part)),
                        _ => {}
                    }
                }
                Declaration::Segment(Segment {
                    name,
                    title,
                    condition: condition?,
                    span,
                })
            }
            Rule::builtin_decl => {
                let name = self.ident(inner.next()?);
                let mut params = Vec::new();
                let mut result = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::param => params.extend(self.field(part)),
                        Rule::type_expr => result = Some(self.type_expr(part)),
                        _ => {}
                    }
                }
                Declaration::Builtin(Builtin {
                    name,
                    params,
                    result: result?,
                    span,
                })
            }
            Rule::layout_decl => {
                let name = self.ident(inner.next()?);
                let mut header = None;
                let mut footer = None;
                for part in inner {
                    let mut slots = part.into_inner();
                    let slot = slots.next()?;
                    let text = self.template_text(slots.next()?);
                    if slot.as_str() == "header" {
                        header = Some(text);
                    } else {
                        footer = Some(text);
                    }
                }
                Declaration::Layout(Layout {
                    name,
                    header: header.map(|t| t.1),
                    footer: footer.map(|t| t.1),
                    span,
                })
            }
            Rule::policy_decl => self.policy(inner, span)?,
            Rule::template_decl => self.template(inner, span)?,
            Rule::journey_decl => Declaration::Journey(self.journey(inner, span)?),
            _ => return None,
        })
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Option<Field> {
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next()?);
        let ty = self.type_expr(inner.next()?);
        Some(Field { name, ty })
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut kind = TypeExprKind::Named(Ident {
            name: String::new(),
            span,
        });
        let mut optional = false;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::ident => kind = TypeExprKind::Named(self.ident(part)),
                Rule::list_type => {
                    if let Some(element) = part.into_inner().next() {
                        kind = TypeExprKind::List(Box::new(self.type_expr(element)));
                    }
                }
                Rule::optional_mark => optional = true,
                _ => {}
            }
        }
        TypeExpr {
            kind,
            optional,
            span,
        }
    }

    fn policy(&mut self, mut inner: Pairs<'_, Rule>, span: Span) -> Option<Declaration> {
        let name = self.ident(inner.next()?);
        let mut quiet_hours = Vec::new();
        let mut caps = Vec::new();
        for rule in inner {
            let rule_span = self.span(&rule);
            match rule.as_rule() {
                Rule::quiet_hours => {
                    let mut times = Vec::new();
                    let mut zone = None;
                    for part in rule.into_inner() {
                        match part.as_rule() {
                            Rule::time_lit => times.push(self.time(part)),
                            Rule::zone => zone = self.zone(part),
                            _ => {}
                        }
                    }
                    let mut times = times.into_iter();
                    quiet_hours.push(QuietHours {
                        from: times.next()?,
                        to: times.next()?,
                        zone,
                        span: rule_span,
                    });
                }
                Rule::frequency_cap => {
                    let mut parts = rule.into_inner();
                    let count_pair = parts.next()?;
                    let count_span = self.span(&count_pair);
                    let count = count_pair.as_str().parse().unwrap_or(u32::MAX);
                    let window = self.duration(parts.next()?);
                    let action = match parts.next() {
                        Some(action) if action.as_str().ends_with("skip") => CapAction::Skip,
                        _ => CapAction::Defer,
                    };
                    caps.push(FrequencyCap {
                        count,
                        count_span,
                        window,
                        action,
                        span: rule_span,
                    });
                }
                _ => {}
            }
        }
        Some(Declaration::Policy(Policy {
            name,
            quiet_hours,
            caps,
            span,
        }))
    }

    fn template(&mut self, mut inner: Pairs<'_, Rule>, span: Span) -> Option<Declaration> {
        let name = self.ident(inner.next()?);
        let channel = channel(inner.next()?.as_str());
        let category_pair = inner.next()?;
        let category_span = self.span(&category_pair);
        let category = if category_pair.as_str() == "marketing" {
            Category::Marketing
        } else {
            Category::Transactional
        };
        let mut template = Template {
            name,
            channel,
            category,
            category_span,
            subject: None,
            preheader: None,
            body: None,
            layout: None,
            span,
        };
        for part in inner {
            let rule = part.as_rule();
            let mut parts = part.into_inner();
            match rule {
                Rule::subject_part => template.subject = Some(self.template_text(parts.next()?).1),
                Rule::preheader_part => {
                    template.preheader = Some(self.template_text(parts.next()?).1);
                }
                Rule::body_part => {
                    let mut format = BodyFormat::Markdown;
                    let mut text = None;
                    for piece in parts {
                        match piece.as_rule() {
                            Rule::body_format => {
                                format = match piece.as_str() {
                                    "text" => BodyFormat::Text,
                                    "html" => BodyFormat::Html,
                                    _ => BodyFormat::Markdown,
                                };
                            }
                            Rule::text_lit => text = Some(self.template_text(piece).1),
                            _ => {}
                        }
                    }
                    template.body = Some((format, text?));
                }
                Rule::layout_choice => template.layout = Some(self.ident(parts.next()?)),
                _ => {}
            }
        }
        Some(Declaration::Template(template))
    }

    fn journey(&mut self, mut inner: Pairs<'_, Rule>, span: Span) -> Option<Journey> {
        let name = self.ident(inner.next()?);
        let mut journey = Journey {
            name,
            title: None,
            triggers: Vec::new(),
            entry: Vec::new(),
            exits: Vec::new(),
            goals: Vec::new(),
            exclusive: Vec::new(),
            migrations: Vec::new(),
            steps: Vec::new(),
            span,
        };
        for item in inner {
            let item_span = self.span(&item);
            match item.as_rule() {
                Rule::text_lit => journey.title = Some(self.text(item)),
                Rule::trigger => {
                    if let Some(kind) = self.trigger(item) {
                        journey.triggers.push(Trigger {
                            kind,
                            span: item_span,
                        });
                    }
                }
                Rule::entry_rule => {
                    let rule = item.into_inner().next()?;
                    let kind = match rule.as_rule() {
                        Rule::once_rule => match rule.into_inner().next() {
                            Some(key) => EntryKind::OncePer(self.expr(key)),
                            None => EntryKind::Once,
                        },
                        Rule::again_rule => {
                            EntryKind::AgainAfter(self.duration(rule.into_inner().next()?))
                        }
                        _ => EntryKind::EveryTime,
                    };
                    journey.entry.push(EntryRule {
                        kind,
                        span: item_span,
                    });
                }
                Rule::exit_rule => {
                    let mut parts = item.into_inner();
                    let event = self.ident(parts.next()?);
                    let condition = parts.next().and_then(|c| self.where_clause(c));
                    journey.exits.push(EventMatch {
                        event,
                        binding: None,
                        condition,
                        span: item_span,
                    });
                }
                Rule::goal_rule => {
                    let mut parts = item.into_inner();
                    let goal_name = self.ident(parts.next()?);
                    let event = self.ident(parts.next()?);
                    let mut binding = None;
                    let mut condition = None;
                    let mut within = None;
                    for part in parts {
                        match part.as_rule() {
                            Rule::binding => {
                                binding = part.into_inner().next().map(|p| self.ident(p))
                            }
                            Rule::where_clause => condition = self.where_clause(part),
                            Rule::duration_lit => within = Some(self.duration(part)),
                            _ => {}
                        }
                    }
                    journey.goals.push(GoalRule {
                        name: goal_name,
                        event: EventMatch::new(event, binding, condition),
                        within: within?,
                        span: item_span,
                    });
                }
                Rule::exclusive_rule => {
                    journey
                        .exclusive
                        .push(self.ident(item.into_inner().next()?));
                }
                Rule::migrate_rule => {
                    for line in item.into_inner() {
                        journey.migrations.extend(self.migration(line));
                    }
                }
                _ => journey.steps.extend(self.step(item)),
            }
        }
        Some(journey)
    }

    fn trigger(&mut self, pair: Pair<'_, Rule>) -> Option<TriggerKind> {
        let inner = pair.into_inner().next()?;
        let rule = inner.as_rule();
        let mut parts = inner.into_inner();
        Some(match rule {
            Rule::event_trigger => TriggerKind::Event(self.event_match(parts)?),
            Rule::schedule_trigger => {
                let _keyword = parts.next();
                let cron = self.text(parts.next()?);
                let mut zone = None;
                let mut condition = None;
                for part in parts {
                    match part.as_rule() {
                        Rule::zone => zone = self.zone(part),
                        Rule::where_clause => condition = self.where_clause(part),
                        _ => {}
                    }
                }
                TriggerKind::Schedule {
                    cron,
                    zone,
                    condition,
                }
            }
            Rule::date_trigger => {
                let _keyword = parts.next();
                let attribute = self.path(parts.next()?);
                let at = self.time(parts.next()?);
                let zone = parts
                    .find(|part| part.as_rule() == Rule::zone)
                    .and_then(|part| self.zone(part));
                TriggerKind::Date {
                    attribute,
                    at,
                    zone,
                }
            }
            _ => {
                let _keyword = parts.next();
                TriggerKind::Segment(self.ident(parts.next()?))
            }
        })
    }

    fn event_match(&mut self, mut parts: Pairs<'_, Rule>) -> Option<EventMatch> {
        let event = self.ident(parts.next()?);
        let mut binding = None;
        let mut condition = None;
        for part in parts {
            match part.as_rule() {
                Rule::binding => binding = part.into_inner().next().map(|p| self.ident(p)),
                Rule::where_clause => condition = self.where_clause(part),
                _ => {}
            }
        }
        Some(EventMatch::new(event, binding, condition))
    }

    fn where_clause(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        pair.into_inner().next().map(|expr| self.expr(expr))
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let span = self.span(&pair);
        let steps = pair.into_inner().flat_map(|step| self.step(step)).collect();
        Block { steps, span }
    }

    fn timeout(&mut self, pair: Pair<'_, Rule>) -> Option<Block> {
        // timeout_block -> timeout_branch -> block, or timeout_branch -> block.
        let mut pair = pair;
        while pair.as_rule() != Rule::block {
            pair = pair.into_inner().next()?;
        }
        Some(self.block(pair))
    }

    fn migration(&mut self, pair: Pair<'_, Rule>) -> Option<Migration> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let from = self.ident(parts.next()?);
        let target = parts.next()?;
        let to = match target.as_rule() {
            Rule::migrate_exit => MigrationTarget::Exit(self.span(&target)),
            _ => MigrationTarget::Step(self.ident(target)),
        };
        Some(Migration { from, to, span })
    }

    fn step(&mut self, pair: Pair<'_, Rule>) -> Option<Step> {
        if pair.as_rule() == Rule::labelled_step {
            let mut parts = pair.into_inner().skip(1); // the `step` keyword
            let label = parts
                .next()?
                .into_inner()
                .next()
                .map(|name| self.ident(name));
            let mut step = self.step(parts.next()?)?;
            step.label = label;
            return Some(step);
        }
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = pair.into_inner();
        let kind = match rule {
            Rule::send_step => {
                let mut channel_kw = None;
                let mut template = None;
                let mut with = Vec::new();
                for part in parts {
                    match part.as_rule() {
                        Rule::channel => {
                            channel_kw = Some((channel(part.as_str()), self.span(&part)))
                        }
                        Rule::ident => template = Some(self.ident(part)),
                        Rule::with_item => with.extend(self.with_item(part)),
                        _ => {}
                    }
                }
                StepKind::Send {
                    channel: channel_kw,
                    template: template?,
                    with,
                }
            }
            Rule::wait_step => StepKind::Wait(self.duration(parts.next()?)),
            Rule::wait_until_step => {
                let mut weekday_kw = None;
                let mut time = None;
                let mut zone = None;
                for part in parts {
                    match part.as_rule() {
                        Rule::weekday => {
                            weekday_kw = Some((weekday(part.as_str()), self.span(&part)))
                        }
                        Rule::time_lit => time = Some(self.time(part)),
                        Rule::zone => zone = self.zone(part),
                        _ => {}
                    }
                }
                StepKind::WaitUntil {
                    weekday: weekday_kw,
                    time: time?,
                    zone,
                }
            }
            Rule::wait_for_step => {
                let event = self.ident(parts.next()?);
                let mut binding = None;
                let mut condition = None;
                let mut since_entry = false;
                let mut up_to = None;
                let mut timeout = None;
                for part in parts {
                    match part.as_rule() {
                        Rule::binding => binding = part.into_inner().next().map(|p| self.ident(p)),
                        Rule::where_clause => condition = self.where_clause(part),
                        Rule::since_entry => since_entry = true,
                        Rule::up_to => up_to = part.into_inner().next().map(|d| self.duration(d)),
                        Rule::timeout_block => timeout = self.timeout(part),
                        _ => {}
                    }
                }
                StepKind::WaitFor {
                    event: EventMatch::new(event, binding, condition),
                    since_entry,
                    up_to,
                    timeout,
                }
            }
            Rule::wait_any_step => {
                let up_to = self.duration(parts.next()?.into_inner().next()?);
                let mut branches = Vec::new();
                let mut timeout = None;
                for part in parts {
                    match part.as_rule() {
                        Rule::event_branch => branches.extend(self.event_branch(part)),
                        Rule::timeout_branch => timeout = self.timeout(part),
                        _ => {}
                    }
                }
                StepKind::WaitAny {
                    up_to,
                    branches,
                    timeout,
                }
            }
            Rule::if_step => return self.if_step(parts, span),
            Rule::split_step => StepKind::Split(
                parts
                    .filter_map(|branch| self.split_branch(branch))
                    .collect(),
            ),
            Rule::set_step => StepKind::Set {
                target: self.path(parts.next()?),
                value: self.expr(parts.next()?),
            },
            Rule::exit_step => StepKind::Exit,
            Rule::goal_step => StepKind::Goal {
                name: self.ident(parts.next()?),
                within: parts.next().map(|d| self.duration(d)),
            },
            _ => return None,
        };
        Some(Step {
            kind,
            label: None,
            span,
        })
    }

    fn if_step(&mut self, mut parts: Pairs<'_, Rule>, span: Span) -> Option<Step> {
        let condition = self.expr(parts.next()?);
        let then = self.block(parts.next()?);
        let otherwise = match parts.next() {
            Some(else_clause) => {
                let inner = else_clause.into_inner().next()?;
                if inner.as_rule() == Rule::block {
                    Some(self.block(inner))
                } else {
                    let nested_span = self.span(&inner);
                    let nested = self.step(inner)?;
                    Some(Block {
                        steps: vec![nested],
                        span: nested_span,
                    })
                }
            }
            None => None,
        };
        Some(Step {
            kind: StepKind::If {
                condition,
                then,
                otherwise,
            },
            label: None,
            span,
        })
    }

    fn event_branch(&mut self, pair: Pair<'_, Rule>) -> Option<EventBranch> {
        let mut event = None;
        let mut binding = None;
        let mut condition = None;
        let mut since_entry = false;
        let mut block = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::ident => event = Some(self.ident(part)),
                Rule::binding => binding = part.into_inner().next().map(|p| self.ident(p)),
                Rule::where_clause => condition = self.where_clause(part),
                Rule::since_entry => since_entry = true,
                Rule::block => block = Some(self.block(part)),
                _ => {}
            }
        }
        let event = event?;
        Some(EventBranch {
            event: EventMatch::new(event, binding, condition),
            since_entry,
            block: block?,
        })
    }

    fn split_branch(&mut self, pair: Pair<'_, Rule>) -> Option<SplitBranch> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let percent = parts.next()?;
        let percent_span = self.span(&percent);
        let basis_points = text::basis_points(percent.as_str().trim_end_matches('%'));
        let target = parts.next()?;
        let block = if target.as_rule() == Rule::block {
            Some(self.block(target))
        } else {
            None
        };
        Some(SplitBranch {
            basis_points: basis_points.unwrap_or(u32::MAX),
            percent_span,
            block,
            span,
        })
    }

    fn with_item(&mut self, pair: Pair<'_, Rule>) -> Option<(Ident, Expr)> {
        let mut parts = pair.into_inner();
        let first = parts.next()?;
        if first.as_rule() == Rule::call {
            let expr = self.primary(first);
            let name = match &expr.kind {
                ExprKind::Call(call) => call.name.clone(),
                _ => return None,
            };
            Some((name, expr))
        } else {
            let name = self.ident(first);
            let value = self.expr(parts.next()?);
            Some((name, value))
        }
    }

    // ------------------------------------------------------------ expressions

    /// Builds an expression from an `expr` pair.
    pub fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let ctx = self.ctx;
        let pairs = pair.into_inner();
        pratt()
            .map_primary(|primary| self.primary(primary))
            .map_prefix(|op, operand| {
                let span = ctx.span(&op).to(operand.span);
                let op = if op.as_rule() == Rule::not_op {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Expr {
                    kind: ExprKind::Unary(op, Box::new(operand)),
                    span,
                }
            })
            .map_postfix(|operand, op| {
                let span = operand.span.to(ctx.span(&op));
                let op = if op.as_rule() == Rule::is_set {
                    UnaryOp::IsSet
                } else {
                    UnaryOp::IsNotSet
                };
                Expr {
                    kind: ExprKind::Unary(op, Box::new(operand)),
                    span,
                }
            })
            .map_infix(|left, op, right| {
                let span = left.span.to(right.span);
                Expr {
                    kind: ExprKind::Binary(
                        binary_op(op.as_rule()),
                        Box::new(left),
                        Box::new(right),
                    ),
                    span,
                }
            })
            .parse(pairs)
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let raw = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::expr => return self.expr(pair),
            Rule::money_lit => {
                let (amount, currency) = text::money(raw);
                ExprKind::Money { amount, currency }
            }
            Rule::duration_lit => ExprKind::Duration(self.duration(pair).seconds),
            Rule::date_lit => ExprKind::Date(raw.to_string()),
            Rule::time_lit => ExprKind::Time(self.time(pair)),
            Rule::number_lit => {
                if raw.contains('.') {
                    ExprKind::Decimal(raw.to_string())
                } else {
                    match raw.parse::<i64>() {
                        Ok(value) => ExprKind::Int(value),
                        Err(_) => ExprKind::Decimal(raw.to_string()),
                    }
                }
            }
            Rule::text_lit => ExprKind::Text(self.text(pair).value),
            Rule::bool_lit => ExprKind::Bool(raw == "true"),
            Rule::list_lit => {
                ExprKind::List(pair.into_inner().map(|item| self.expr(item)).collect())
            }
            Rule::call => ExprKind::Call(self.call(pair)),
            Rule::path => ExprKind::Path(self.path(pair)),
            _ => ExprKind::List(Vec::new()),
        };
        Expr { kind, span }
    }

    /// Builds a call or a filter from a `call` or `filter` pair.
    pub fn call(&mut self, pair: Pair<'_, Rule>) -> Call {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let name = match parts.next() {
            Some(name) => self.ident(name),
            None => Ident {
                name: String::new(),
                span,
            },
        };
        let args = parts
            .filter(|part| part.as_rule() == Rule::argument)
            .map(|argument| {
                let mut inner = argument.into_inner().peekable();
                let named = inner.peek().is_some_and(|p| p.as_rule() == Rule::ident);
                let name = if named {
                    inner.next().map(|p| self.ident(p))
                } else {
                    None
                };
                let value = match inner.next() {
                    Some(value) => self.expr(value),
                    None => Expr {
                        kind: ExprKind::List(Vec::new()),
                        span,
                    },
                };
                Argument { name, value }
            })
            .collect();
        Call { name, args, span }
    }

    fn path(&mut self, pair: Pair<'_, Rule>) -> Path {
        let span = self.span(&pair);
        Path {
            parts: pair.into_inner().map(|part| self.ident(part)).collect(),
            span,
        }
    }

    // ------------------------------------------------------------ leaves

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn text(&self, pair: Pair<'_, Rule>) -> Text {
        Text {
            value: text::value(pair.as_str()),
            span: self.span(&pair),
        }
    }

    fn template_text(&mut self, pair: Pair<'_, Rule>) -> (Text, TemplateText) {
        let text = self.text(pair.clone());
        let parsed = template::parse(self.ctx, pair.as_str(), text.span, self.diagnostics);
        (text, parsed)
    }

    fn zone(&self, pair: Pair<'_, Rule>) -> Option<Text> {
        pair.into_inner().next().map(|text| self.text(text))
    }

    fn duration(&self, pair: Pair<'_, Rule>) -> Duration {
        Duration {
            seconds: text::duration_seconds(pair.as_str()),
            span: self.span(&pair),
        }
    }

    fn time(&self, pair: Pair<'_, Rule>) -> TimeOfDay {
        let (hour, minute) = pair.as_str().split_once(':').unwrap_or(("99", "99"));
        TimeOfDay {
            hour: hour.parse().unwrap_or(99),
            minute: minute.parse().unwrap_or(99),
            span: self.span(&pair),
        }
    }
}

/// Builds an expression from an `expr` pair (used by the template parser).
pub fn expr(ctx: Ctx, pair: Pair<'_, Rule>, diagnostics: &mut Vec<Diagnostic>) -> Expr {
    Builder { ctx, diagnostics }.expr(pair)
}

/// Builds a filter call from a `filter` pair (used by the template parser).
pub fn filter(ctx: Ctx, pair: Pair<'_, Rule>, diagnostics: &mut Vec<Diagnostic>) -> Call {
    Builder { ctx, diagnostics }.call(pair)
}

fn channel(keyword: &str) -> Channel {
    match keyword {
        "sms" => Channel::Sms,
        "webhook" => Channel::Webhook,
        _ => Channel::Email,
    }
}

fn weekday(keyword: &str) -> Weekday {
    match keyword {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        _ => Weekday::Sunday,
    }
}

fn binary_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::or_op => BinaryOp::Or,
        Rule::and_op => BinaryOp::And,
        Rule::eq => BinaryOp::Eq,
        Rule::ne => BinaryOp::Ne,
        Rule::lt => BinaryOp::Lt,
        Rule::le => BinaryOp::Le,
        Rule::gt => BinaryOp::Gt,
        Rule::ge => BinaryOp::Ge,
        Rule::in_op => BinaryOp::In,
        Rule::coalesce => BinaryOp::Coalesce,
        Rule::add => BinaryOp::Add,
        Rule::sub => BinaryOp::Sub,
        Rule::mul => BinaryOp::Mul,
        _ => BinaryOp::Div,
    }
}
