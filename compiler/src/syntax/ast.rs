//! The syntax tree: what the marketer wrote, with a span on every node.
//!
//! Names here are still strings; `resolve` and `types` turn them into the checked model.
//! Nothing in this module knows about types or scopes.

use crate::source::Span;

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it stands in the source.
    pub span: Span,
}

/// One parsed file: its declarations in source order.
#[derive(Clone, Debug, Default)]
pub struct File {
    /// The declarations that parsed; broken ones are left out (their diagnostics explain why).
    pub declarations: Vec<Declaration>,
    /// Keyword and name of each declaration that did not parse (`("template", "welcome")`), so
    /// later phases do not report its uses as unknown.
    pub broken: Vec<(String, String)>,
}

/// A top-level declaration.
#[derive(Clone, Debug)]
pub enum Declaration {
    /// `import "other.journey"`.
    Import(Import),
    /// `event name { fields }`, `record name { fields }` or `customer { fields }`.
    Schema(Schema),
    /// `segment name where condition`.
    Segment(Segment),
    /// `builtin name(params) -> type`: a function the runtime provides.
    Builtin(Builtin),
    /// `layout name { header … footer … }`.
    Layout(Layout),
    /// `policy marketing { … }`.
    Policy(Policy),
    /// `template name: email marketing { … }`.
    Template(Template),
    /// `journey name "Title" { … }`.
    Journey(Journey),
}

/// `import "path"`.
#[derive(Clone, Debug)]
pub struct Import {
    /// The path as written, relative to the importing file.
    pub path: Text,
    /// The whole declaration.
    pub span: Span,
}

/// What a schema declaration describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    /// An event the shop sends.
    Event,
    /// A reusable record type (a line item, an address).
    Record,
    /// The customer profile (declarations add up).
    Customer,
}

/// A schema: an event, a record or (an extension of) the customer profile.
#[derive(Clone, Debug)]
pub struct Schema {
    /// Event, record or customer.
    pub kind: SchemaKind,
    /// The name; `customer` for the profile.
    pub name: Ident,
    /// An optional human title (events only).
    pub title: Option<Text>,
    /// The fields in source order.
    pub fields: Vec<Field>,
    /// The whole declaration.
    pub span: Span,
}

/// `name: type` inside a schema.
#[derive(Clone, Debug)]
pub struct Field {
    /// The field name.
    pub name: Ident,
    /// Its declared type.
    pub ty: TypeExpr,
}

/// A type as written: `text`, `list<line_item>`, `date?`.
#[derive(Clone, Debug)]
pub struct TypeExpr {
    /// The named or list type.
    pub kind: TypeExprKind,
    /// Whether `?` follows (the value may be missing).
    pub optional: bool,
    /// Where it is written.
    pub span: Span,
}

/// The shape of a written type.
#[derive(Clone, Debug)]
pub enum TypeExprKind {
    /// A name: a builtin type, a record or an event.
    Named(Ident),
    /// `list<T>`.
    List(Box<TypeExpr>),
}

/// `segment name "Title" where condition`.
#[derive(Clone, Debug)]
pub struct Segment {
    /// The segment name.
    pub name: Ident,
    /// Its optional title.
    pub title: Option<Text>,
    /// The condition over `customer`.
    pub condition: Expr,
    /// The whole declaration.
    pub span: Span,
}

/// `builtin name(params) -> type`.
#[derive(Clone, Debug)]
pub struct Builtin {
    /// The function name.
    pub name: Ident,
    /// Parameters; optional ones may be left out by callers.
    pub params: Vec<Field>,
    /// The result type.
    pub result: TypeExpr,
    /// The whole declaration.
    pub span: Span,
}

/// `layout name { header "…" footer "…" }`.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The layout name.
    pub name: Ident,
    /// Text above every message body.
    pub header: Option<TemplateText>,
    /// Text below every message body.
    pub footer: Option<TemplateText>,
    /// The whole declaration.
    pub span: Span,
}

/// `policy marketing { quiet hours …; at most … }`.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Which messages it governs (`marketing`).
    pub name: Ident,
    /// Quiet hours, if declared.
    pub quiet_hours: Vec<QuietHours>,
    /// Frequency caps.
    pub caps: Vec<FrequencyCap>,
    /// The whole declaration.
    pub span: Span,
}

/// `quiet hours 21:00 to 08:00`.
#[derive(Clone, Debug)]
pub struct QuietHours {
    /// When the quiet period starts.
    pub from: TimeOfDay,
    /// When it ends (may be the next morning).
    pub to: TimeOfDay,
    /// A fixed zone instead of the customer's own.
    pub zone: Option<Text>,
    /// The whole rule.
    pub span: Span,
}

/// What happens to a message over a frequency cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapAction {
    /// Send it once the window allows.
    Defer,
    /// Do not send it.
    Skip,
}

/// `at most 3 per 7 days then skip`.
#[derive(Clone, Debug)]
pub struct FrequencyCap {
    /// How many messages.
    pub count: u32,
    /// The span of the count.
    pub count_span: Span,
    /// Per how long a window.
    pub window: Duration,
    /// Defer (default) or skip.
    pub action: CapAction,
    /// The whole rule.
    pub span: Span,
}

/// The channel a template is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// An email: subject and body.
    Email,
    /// A text message: body only.
    Sms,
    /// A JSON call to the shop's systems.
    Webhook,
}

impl Channel {
    /// The keyword as written.
    pub fn keyword(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
        }
    }
}

/// Transactional messages are exempt from policies; marketing ones obey them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Expected by the customer (order confirmation); never held.
    Transactional,
    /// Promotional; obeys `policy marketing` and needs consent and an unsubscribe link.
    Marketing,
}

/// How a body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// Markdown: the runtime renders HTML and plain text from it.
    Markdown,
    /// Plain text only.
    Text,
    /// Raw HTML.
    Html,
}

/// `template name: email marketing { subject … body … }`.
#[derive(Clone, Debug)]
pub struct Template {
    /// The template name.
    pub name: Ident,
    /// Email, SMS or webhook.
    pub channel: Channel,
    /// Transactional or marketing.
    pub category: Category,
    /// The span of the category keyword.
    pub category_span: Span,
    /// The subject line (email).
    pub subject: Option<TemplateText>,
    /// The preview line shown after the subject (email).
    pub preheader: Option<TemplateText>,
    /// The body and its format.
    pub body: Option<(BodyFormat, TemplateText)>,
    /// A named layout, or `none`.
    pub layout: Option<Ident>,
    /// The whole declaration.
    pub span: Span,
}

/// A text literal as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The value with escapes resolved and, for `"""` texts, the common indentation removed.
    pub value: String,
    /// The whole literal, quotes included.
    pub span: Span,
}

/// A text that may hold `{{ … }}` and `{% … %}`: a subject, a body, a layout part.
#[derive(Clone, Debug)]
pub struct TemplateText {
    /// The nodes; empty if the text did not parse (a diagnostic says why).
    pub nodes: Vec<TemplateNode>,
    /// The literal, quotes included.
    pub span: Span,
}

/// One piece of a template text.
#[derive(Clone, Debug)]
pub enum TemplateNode {
    /// Text copied as is.
    Raw {
        /// The text as written in the source.
        text: String,
        /// Where it stands.
        span: Span,
    },
    /// `{{ expr | filter }}`.
    Output {
        /// The value printed.
        expr: Expr,
        /// Filters applied left to right.
        filters: Vec<Call>,
        /// The whole tag.
        span: Span,
    },
    /// `{% if c %}…{% elif c %}…{% else %}…{% endif %}`.
    If {
        /// Conditions with their contents, in order.
        branches: Vec<(Expr, Vec<TemplateNode>)>,
        /// The `else` part.
        otherwise: Vec<TemplateNode>,
        /// The whole construct.
        span: Span,
    },
    /// `{% for x in list %}…{% endfor %}`.
    For {
        /// The loop variable.
        var: Ident,
        /// The list looped over.
        list: Expr,
        /// The repeated contents.
        body: Vec<TemplateNode>,
        /// The whole construct.
        span: Span,
    },
}

/// `journey name "Title" { rules and steps }`.
#[derive(Clone, Debug)]
pub struct Journey {
    /// The journey name.
    pub name: Ident,
    /// Its optional title.
    pub title: Option<Text>,
    /// `when …` (more than one is an error).
    pub triggers: Vec<Trigger>,
    /// `once`, `once per …`, `again after …`, `every time`.
    pub entry: Vec<EntryRule>,
    /// `exit when …`.
    pub exits: Vec<EventMatch>,
    /// `goal name when … within …`.
    pub goals: Vec<GoalRule>,
    /// `exclusive group`.
    pub exclusive: Vec<Ident>,
    /// `migrate { old -> new }` lines, in order (from every `migrate` block).
    pub migrations: Vec<Migration>,
    /// The steps in order.
    pub steps: Vec<Step>,
    /// The whole declaration.
    pub span: Span,
}

/// How a customer enters.
#[derive(Clone, Debug)]
pub enum TriggerKind {
    /// `when order_placed as order where …`.
    Event(EventMatch),
    /// `when schedule "0 9 * * *" in "Europe/Rome" for customers where …`.
    Schedule {
        /// The cron expression.
        cron: Text,
        /// A fixed zone (default: UTC).
        zone: Option<Text>,
        /// Which customers enter.
        condition: Option<Expr>,
    },
    /// `when date customer.birthday at 09:00`.
    Date {
        /// The date attribute.
        attribute: Path,
        /// The local time of day.
        at: TimeOfDay,
        /// A fixed zone instead of the customer's own.
        zone: Option<Text>,
    },
    /// `when entered segment name`.
    Segment(Ident),
}

/// A trigger with its span.
#[derive(Clone, Debug)]
pub struct Trigger {
    /// What starts the journey.
    pub kind: TriggerKind,
    /// The whole `when …` line.
    pub span: Span,
}

/// An event name with an optional binding and condition: used by triggers, waits, exits, goals.
#[derive(Clone, Debug)]
pub struct EventMatch {
    /// The event name.
    pub event: Ident,
    /// `as name`.
    pub binding: Option<Ident>,
    /// `where condition` (`it` is the event).
    pub condition: Option<Expr>,
    /// The whole clause.
    pub span: Span,
}

impl EventMatch {
    /// A match spanning from the event name to its condition (or binding).
    pub fn new(event: Ident, binding: Option<Ident>, condition: Option<Expr>) -> EventMatch {
        let end = condition
            .as_ref()
            .map(|c| c.span)
            .or(binding.as_ref().map(|b| b.span))
            .unwrap_or(event.span);
        EventMatch {
            span: event.span.to(end),
            event,
            binding,
            condition,
        }
    }

    /// The name the event is known by afterwards: the `as` name, or the event name itself.
    pub fn bound_name(&self) -> &Ident {
        self.binding.as_ref().unwrap_or(&self.event)
    }
}

/// A re-entry rule.
#[derive(Clone, Debug)]
pub enum EntryKind {
    /// `once`: at most once ever.
    Once,
    /// `once per key`: at most once for each value of the key.
    OncePer(Expr),
    /// `again after 30 days`.
    AgainAfter(Duration),
    /// `every time`.
    EveryTime,
}

/// An entry rule with its span.
#[derive(Clone, Debug)]
pub struct EntryRule {
    /// The rule.
    pub kind: EntryKind,
    /// Where it is written.
    pub span: Span,
}

/// `goal name when event where … within 7 days`.
#[derive(Clone, Debug)]
pub struct GoalRule {
    /// The goal name.
    pub name: Ident,
    /// The converting event.
    pub event: EventMatch,
    /// The conversion window from entry.
    pub within: Duration,
    /// The whole rule.
    pub span: Span,
}

/// One line of a `migrate` block: customers standing at the step labelled `from` in a running
/// version move to the step labelled `to` in this one (or leave the journey).
#[derive(Clone, Debug)]
pub struct Migration {
    /// The label of a step in a running version.
    pub from: Ident,
    /// Where those customers go.
    pub to: MigrationTarget,
    /// The whole line.
    pub span: Span,
}

/// Where a migration moves customers.
#[derive(Clone, Debug)]
pub enum MigrationTarget {
    /// The step with this label in the new version.
    Step(Ident),
    /// Out of the journey (`-> exit`).
    Exit(Span),
}

/// A step with its span.
#[derive(Clone, Debug)]
pub struct Step {
    /// What the step does.
    pub kind: StepKind,
    /// `reminder:` written before the step, naming it for migrations.
    pub label: Option<Ident>,
    /// Where it is written (the label excluded).
    pub span: Span,
}

/// A sequence of steps between braces.
#[derive(Clone, Debug)]
pub struct Block {
    /// The steps.
    pub steps: Vec<Step>,
    /// The braces and everything between.
    pub span: Span,
}

/// Every kind of step.
#[derive(Clone, Debug)]
pub enum StepKind {
    /// `send email template with name = expr`.
    Send {
        /// The channel keyword, if written.
        channel: Option<(Channel, Span)>,
        /// The template sent.
        template: Ident,
        /// Extra values the template may use.
        with: Vec<(Ident, Expr)>,
    },
    /// `wait 3 days`.
    Wait(Duration),
    /// `wait until saturday 10:00`.
    WaitUntil {
        /// A day of the week, if any.
        weekday: Option<(Weekday, Span)>,
        /// The local time of day.
        time: TimeOfDay,
        /// A fixed zone instead of the customer's own.
        zone: Option<Text>,
    },
    /// `wait for event as x where … up to 5 days { timeout => … }`.
    WaitFor {
        /// The awaited event.
        event: EventMatch,
        /// `since entry`: an event since the customer entered counts.
        since_entry: bool,
        /// The longest wait.
        up_to: Option<Duration>,
        /// What to do on timeout (then continue after the wait).
        timeout: Option<Block>,
    },
    /// `wait up to 7 days { on a => {…} on b => {…} timeout => {…} }`.
    WaitAny {
        /// The longest wait.
        up_to: Duration,
        /// One branch per awaited event.
        branches: Vec<EventBranch>,
        /// What to do on timeout.
        timeout: Option<Block>,
    },
    /// `if c {…} else {…}`.
    If {
        /// The condition.
        condition: Expr,
        /// Steps when true.
        then: Block,
        /// Steps when false.
        otherwise: Option<Block>,
    },
    /// `split { 50% => {…} 50% => {…} }`.
    Split(Vec<SplitBranch>),
    /// `set customer.attr = expr`.
    Set {
        /// The attribute set.
        target: Path,
        /// The new value.
        value: Expr,
    },
    /// `exit`.
    Exit,
    /// `goal name within 7 days`.
    Goal {
        /// The goal reached here.
        name: Ident,
        /// Counts only if reached this soon after entry.
        within: Option<Duration>,
    },
}

impl StepKind {
    /// Whether every customer who starts this step goes on to the next one (no `exit` inside).
    pub fn always_continues(&self) -> bool {
        matches!(
            self,
            StepKind::Send { .. }
                | StepKind::Wait(_)
                | StepKind::WaitUntil { .. }
                | StepKind::Set { .. }
                | StepKind::Goal { .. }
        )
    }
}

/// `on event as x where … => { … }` inside `wait up to`.
#[derive(Clone, Debug)]
pub struct EventBranch {
    /// The awaited event.
    pub event: EventMatch,
    /// `since entry`.
    pub since_entry: bool,
    /// Steps when it arrives first.
    pub block: Block,
}

/// `30% => { … }` or `10% => holdout`.
#[derive(Clone, Debug)]
pub struct SplitBranch {
    /// The share in hundredths of a percent (`12.5%` is 1250).
    pub basis_points: u32,
    /// Where the percentage is written.
    pub percent_span: Span,
    /// The steps, or `None` for a holdout (nothing sent, tracked for goals).
    pub block: Option<Block>,
    /// The whole branch.
    pub span: Span,
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

/// A length of time, normalised to seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    /// Seconds (a month counts 30 days, a year 365).
    pub seconds: u64,
    /// Where it is written.
    pub span: Span,
}

/// A time of day as written (`09:00`); range errors are reported by the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOfDay {
    /// Hours as written.
    pub hour: u32,
    /// Minutes as written.
    pub minute: u32,
    /// Where it is written.
    pub span: Span,
}

/// A dotted name: `order.items`, `customer.first_name`.
#[derive(Clone, Debug)]
pub struct Path {
    /// The parts, at least one.
    pub parts: Vec<Ident>,
    /// The whole path.
    pub span: Span,
}

/// A function call or a filter: `coupon(percent: 10)`, `| money`.
#[derive(Clone, Debug)]
pub struct Call {
    /// The function name.
    pub name: Ident,
    /// Arguments, positional or named.
    pub args: Vec<Argument>,
    /// The whole call.
    pub span: Span,
}

/// One argument of a call.
#[derive(Clone, Debug)]
pub struct Argument {
    /// `name:` for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
}

/// An expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// Binary operators, from `or` to `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `in`.
    In,
    /// `??`.
    Coalesce,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
    /// `is set`.
    IsSet,
    /// `is not set`.
    IsNotSet,
}

/// The kinds of expression.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// `"text"`.
    Text(String),
    /// `42`.
    Int(i64),
    /// `3.5`, kept as written.
    Decimal(String),
    /// `€19.90`, `19.90 EUR`: amount as written and ISO currency.
    Money {
        /// The amount as written.
        amount: String,
        /// The ISO 4217 code (`€` is `EUR`).
        currency: String,
    },
    /// `3 days`.
    Duration(u64),
    /// `2026-11-23`, as written.
    Date(String),
    /// `09:00`.
    Time(TimeOfDay),
    /// `true`, `false`.
    Bool(bool),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `order.total`.
    Path(Path),
    /// `days_since(x)`.
    Call(Call),
    /// `a + b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `not a`, `-a`, `a is set`.
    Unary(UnaryOp, Box<Expr>),
}
