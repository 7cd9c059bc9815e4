//! Bytecode: a checked journey compiled into a self-contained [`Program`] that the runtime's VM
//! executes. The format is published (`journey build` writes it, the runtime stores it by content
//! hash), so every type here is serializable and changes bump [`format::FORMAT_VERSION`].
//!
//! One program per journey: its trigger and rules, its steps as a flat list of [`Instr`] with
//! jumps, the templates it sends (pre-parsed into [`TemplateNode`]s), the layouts they use, the
//! marketing policy and the schemas of the events it reads. A program never refers to another,
//! so a changed journey is a new program and customers mid-journey keep running the old one.
//!
//! Names of fields stay names (records are keyed by name, see [`value`]); everything else that
//! was a name in the source (builtins, operators, templates, slots, jumps) is an enum or an index.

pub mod codegen;
pub mod depth;
pub mod disasm;
pub mod format;
pub mod ops;
pub mod value;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use value::{Currency, Record, Value};

/// Index of an instruction in [`Program::code`].
pub type Pc = u32;

/// A compiled journey.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// The journey's name.
    pub journey: String,
    /// Its title, if written.
    pub title: Option<String>,
    /// The file it was compiled from (for messages).
    pub file: String,
    /// How customers enter.
    pub trigger: Trigger,
    /// Who may enter again.
    pub entry: EntryRule,
    /// `exit when …` rules.
    pub exits: Vec<EventMatch>,
    /// `goal … when … within …` rules.
    pub goals: Vec<GoalRule>,
    /// `exclusive GROUP`, if any.
    pub exclusive: Option<String>,
    /// Names of the instance's slots: slot 0 is the trigger's event (if any), then every `as`
    /// binding of a wait, then every `with` value of a send.
    pub slots: Vec<String>,
    /// Names of goals reached by `goal` steps or rules, in the order of their bit in an instance.
    pub goal_names: Vec<String>,
    /// Events that a `since entry` wait may match: an instance keeps those that arrive.
    pub since_entry_events: Vec<String>,
    /// The steps.
    pub code: Vec<Instr>,
    /// Where each source step starts, for the decision log: `steps[i]` describes step `i`.
    pub steps: Vec<StepInfo>,
    /// Labelled steps (`reminder: wait 3 hours`), which migrations name.
    pub labels: Vec<StepLabel>,
    /// `migrate` lines: where customers of older versions go when this version is deployed.
    pub migrations: Vec<Migration>,
    /// The templates sent.
    pub templates: Vec<Template>,
    /// The layouts they use.
    pub layouts: Vec<Layout>,
    /// Rules for marketing messages.
    pub policy: Option<Policy>,
    /// Every event and record schema of the program (for validating events).
    pub schemas: Vec<Schema>,
    /// Segment conditions used by the trigger (`entered segment`).
    pub segment: Option<Segment>,
}

/// Index of a step in [`Program::steps`].
pub type StepId = u32;

/// A source step, as the decision log and disassembly name it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepInfo {
    /// One line describing it (`send email cart_reminder_email`).
    pub label: String,
    /// The line in the journey's file.
    pub line: u32,
}

/// A labelled step: its name, where its code starts, and what a customer there carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepLabel {
    /// The label.
    pub name: String,
    /// The step it names.
    pub step: StepId,
    /// The first instruction of the step (a customer moved here runs from it).
    pub pc: Pc,
    /// The values bound by the trigger and by waits that are known on every path to the step.
    pub known: Vec<KnownValue>,
}

/// A value a customer carries at a step: a name bound to an event by the trigger or a wait.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KnownValue {
    /// The name (`cart`, `shipment`).
    pub name: String,
    /// The event it holds (`cart_abandoned`).
    pub event: String,
}

/// One `migrate` line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// The label of a step in an older version.
    pub from: String,
    /// Where customers standing there go.
    pub to: MigrationTarget,
}

/// Where a migration moves customers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MigrationTarget {
    /// The labelled step of this version (an index in [`Program::labels`]).
    Step(u16),
    /// Out of the journey.
    Exit,
}

/// How customers enter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Trigger {
    /// When the shop sends an event for the customer.
    Event(EventMatch),
    /// When a cron schedule fires, for every customer matching a condition.
    Schedule {
        /// Five-field cron expression.
        cron: String,
        /// The zone the schedule is read in (`UTC` by default).
        zone: String,
        /// Which customers enter.
        condition: Option<Expr>,
    },
    /// Every year on a date attribute of the customer, at a local time.
    Date {
        /// The `customer` attribute holding the date.
        attribute: Arc<str>,
        /// Seconds after local midnight.
        at: u32,
        /// A fixed zone instead of the customer's own.
        zone: Option<String>,
    },
    /// When the customer becomes part of the program's segment.
    Segment,
}

/// A named condition over the customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The segment's name.
    pub name: String,
    /// The condition.
    pub condition: Expr,
}

/// Who may enter again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EntryRule {
    /// At most once ever.
    Once,
    /// At most once per value of the key.
    OncePer(Expr),
    /// Again once this many seconds have passed since the last entry.
    AgainAfter(u64),
    /// Every time.
    EveryTime,
}

/// An event with an optional condition; binds the event to a slot when it matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventMatch {
    /// The event's name.
    pub event: String,
    /// The condition (`it` is the event).
    pub condition: Option<Expr>,
    /// The slot the event is kept in.
    pub slot: Option<u16>,
}

/// `goal NAME when EVENT within DURATION`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoalRule {
    /// Index in [`Program::goal_names`].
    pub goal: u16,
    /// The converting event.
    pub event: EventMatch,
    /// The window from entry, in seconds.
    pub within: u64,
}

/// The channel of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    /// Email.
    Email,
    /// Text message.
    Sms,
    /// A JSON call to the shop's systems.
    Webhook,
}

impl Channel {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
        }
    }
}

/// Transactional or marketing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Category {
    /// Exempt from policies and consent.
    Transactional,
    /// Obeys the marketing policy, needs consent and an unsubscribe link.
    Marketing,
}

impl Category {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Category::Transactional => "transactional",
            Category::Marketing => "marketing",
        }
    }
}

/// One arm of a wait for events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitArm {
    /// The awaited event (binding its slot when it matches).
    pub event: EventMatch,
    /// Whether an event that arrived since entry counts.
    pub since_entry: bool,
    /// Where to go when it arrives.
    pub target: Pc,
}

/// The instructions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Instr {
    /// Renders and sends a template; `with` values are stored in their slots first.
    Send {
        /// The source step.
        step: StepId,
        /// Index in [`Program::templates`].
        template: u16,
        /// Values given with `with`.
        with: Vec<(u16, Expr)>,
    },
    /// Suspends for a fixed time.
    Wait {
        /// The source step.
        step: StepId,
        /// Seconds.
        seconds: u64,
    },
    /// Suspends until the next local time of day (on a weekday, if given), counting from the
    /// local date `days` days ahead (`wait 3 days` then `wait until 10:00` is one instruction).
    WaitUntil {
        /// The source step.
        step: StepId,
        /// Whole days to move ahead first (0 for a plain `wait until`).
        days: u32,
        /// 0 = Monday … 6 = Sunday.
        weekday: Option<u8>,
        /// Seconds after local midnight.
        at: u32,
        /// A fixed zone instead of the customer's.
        zone: Option<String>,
    },
    /// Suspends until one of the events arrives, or the timeout.
    WaitFor {
        /// The source step.
        step: StepId,
        /// The events awaited, first match wins.
        arms: Vec<WaitArm>,
        /// Seconds before the timeout, and where it goes.
        timeout: Option<(u64, Pc)>,
    },
    /// Goes on at `target`.
    Jump {
        /// Where.
        target: Pc,
    },
    /// Goes on at `target` unless the condition holds (an `if`).
    Branch {
        /// The source step.
        step: StepId,
        /// The condition.
        condition: Expr,
        /// Where to go when it is false.
        otherwise: Pc,
    },
    /// Picks a branch by hashing the customer id with the journey name.
    Split {
        /// The source step.
        step: StepId,
        /// Cumulative upper bounds in basis points (out of 10,000) and their targets; `None`
        /// for a holdout.
        branches: Vec<(u32, Option<Pc>)>,
    },
    /// Sets a customer attribute.
    Set {
        /// The source step.
        step: StepId,
        /// The attribute.
        attribute: Arc<str>,
        /// The value.
        value: Expr,
    },
    /// Marks a goal reached.
    Goal {
        /// The source step.
        step: StepId,
        /// Index in [`Program::goal_names`].
        goal: u16,
        /// Counts only this soon after entry, in seconds.
        within: Option<u64>,
    },
    /// Leaves the journey (an `exit` step).
    Exit {
        /// The source step.
        step: StepId,
    },
    /// The end of the journey's steps.
    End,
}

/// A compiled expression: a small tree evaluated by the VM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A constant (literals, folded at compile time).
    Const(Value),
    /// The customer's profile.
    Customer,
    /// The shop record (templates).
    Shop,
    /// The unsubscribe address (templates).
    UnsubscribeUrl,
    /// The event being matched by a `where` (`it`).
    It,
    /// An instance slot.
    Slot(u16),
    /// A loop variable of a template `for`, by depth.
    Local(u16),
    /// A field of a record.
    Field(
        #[serde(deserialize_with = "depth::nested")] Box<Expr>,
        Arc<str>,
    ),
    /// A builtin call with its arguments in the signature's order (left out ones are missing).
    Call(
        Builtin,
        #[serde(deserialize_with = "depth::nested")] Vec<Expr>,
    ),
    /// A binary operator.
    Binary(
        BinaryOp,
        #[serde(deserialize_with = "depth::nested")] Box<Expr>,
        #[serde(deserialize_with = "depth::nested")] Box<Expr>,
    ),
    /// A unary operator.
    Unary(
        UnaryOp,
        #[serde(deserialize_with = "depth::nested")] Box<Expr>,
    ),
    /// A list literal.
    List(#[serde(deserialize_with = "depth::nested")] Vec<Expr>),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    /// `or` (short-circuit).
    Or,
    /// `and` (short-circuit).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The builtins of the prelude that the runtime implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Builtin {
    /// `money(value)`: an amount in the customer's locale.
    Money,
    /// `date(value)`: a date in the customer's locale (and zone, for instants).
    Date,
    /// `time(value)`: a time of day in the customer's zone and locale.
    Time,
    /// `upper(text)`.
    Upper,
    /// `lower(text)`.
    Lower,
    /// `capitalize(text)`.
    Capitalize,
    /// `truncate(text, length)`.
    Truncate,
    /// `join(values, separator?)`.
    Join,
    /// `default(value?, fallback)`.
    Default,
    /// `days_since(date or datetime)`.
    DaysSince,
    /// `days_until(date)`.
    DaysUntil,
    /// `today()`, in the customer's zone.
    Today,
    /// `add_days(date, days)`.
    AddDays,
    /// `count(list)`.
    Count,
    /// `round(decimal)`.
    Round,
    /// `percent_of(money, percent)`.
    PercentOf,
    /// `coupon(percent?, amount?, valid, on?, minimum?)`.
    Coupon,
}

impl Builtin {
    /// Every builtin with its prelude name.
    pub const ALL: [(Builtin, &'static str); 17] = [
        (Builtin::Money, "money"),
        (Builtin::Date, "date"),
        (Builtin::Time, "time"),
        (Builtin::Upper, "upper"),
        (Builtin::Lower, "lower"),
        (Builtin::Capitalize, "capitalize"),
        (Builtin::Truncate, "truncate"),
        (Builtin::Join, "join"),
        (Builtin::Default, "default"),
        (Builtin::DaysSince, "days_since"),
        (Builtin::DaysUntil, "days_until"),
        (Builtin::Today, "today"),
        (Builtin::AddDays, "add_days"),
        (Builtin::Count, "count"),
        (Builtin::Round, "round"),
        (Builtin::PercentOf, "percent_of"),
        (Builtin::Coupon, "coupon"),
    ];

    /// The builtin with this prelude name.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(builtin, _)| *builtin)
    }

    /// Its prelude name.
    pub fn name(self) -> &'static str {
        Builtin::ALL
            .iter()
            .find(|(b, _)| *b == self)
            .map_or("?", |(_, name)| name)
    }
}

/// A template, pre-parsed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Its name.
    pub name: String,
    /// Email, SMS or webhook.
    pub channel: Channel,
    /// Transactional or marketing.
    pub category: Category,
    /// The subject (email).
    pub subject: Option<Vec<TemplateNode>>,
    /// The preview line (email).
    pub preheader: Option<Vec<TemplateNode>>,
    /// The body and how it is written.
    pub body: Option<(BodyFormat, Vec<TemplateNode>)>,
    /// Index in [`Program::layouts`], or `None` for `layout none` or a body that is not Markdown.
    pub layout: Option<u16>,
}

/// How a body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyFormat {
    /// Markdown: HTML and plain text are derived from it.
    Markdown,
    /// Plain text.
    Text,
    /// HTML.
    Html,
}

/// A piece of a template text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TemplateNode {
    /// Text copied as is.
    Raw(String),
    /// A value printed, after filters (builtins applied with the value first).
    Output {
        /// The value (filters folded in as calls).
        expr: Expr,
        /// The source text of the tag, for runtime errors.
        source: String,
    },
    /// `{% if %}` chains.
    If {
        /// Conditions and contents.
        #[serde(deserialize_with = "depth::nested")]
        branches: Vec<(Expr, Vec<TemplateNode>)>,
        /// The `else` part.
        #[serde(deserialize_with = "depth::nested")]
        otherwise: Vec<TemplateNode>,
    },
    /// `{% for x in list %}`: the item is [`Expr::Local`] at this depth.
    For {
        /// The list.
        list: Expr,
        /// The loop variable's name (for messages).
        var: String,
        /// The repeated contents.
        #[serde(deserialize_with = "depth::nested")]
        body: Vec<TemplateNode>,
    },
}

/// A layout around Markdown email bodies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Its name.
    pub name: String,
    /// Markdown above the body.
    pub header: Vec<TemplateNode>,
    /// Markdown below the body.
    pub footer: Vec<TemplateNode>,
}

/// The marketing policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Quiet periods.
    pub quiet_hours: Vec<QuietHours>,
    /// Frequency caps.
    pub caps: Vec<FrequencyCap>,
}

/// `quiet hours 21:00 to 08:00`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuietHours {
    /// Start, seconds after local midnight.
    pub from: u32,
    /// End, seconds after local midnight (may be smaller than `from`: over midnight).
    pub to: u32,
    /// A fixed zone instead of the customer's.
    pub zone: Option<String>,
}

/// `at most N per D then defer|skip`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrequencyCap {
    /// How many marketing messages.
    pub count: u32,
    /// In how long a window, in seconds.
    pub window: u64,
    /// Whether a capped message waits (`true`) or is skipped.
    pub defer: bool,
}

/// The type of a schema field, for validating events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FieldType {
    /// Text.
    Text,
    /// Whole number.
    Int,
    /// Decimal number.
    Decimal,
    /// Money.
    Money,
    /// Bool.
    Bool,
    /// Calendar day.
    Date,
    /// Instant.
    DateTime,
    /// Time of day.
    Time,
    /// Length of time.
    Duration,
    /// Email address.
    Email,
    /// Web address.
    Url,
    /// A list.
    List(Box<FieldType>),
    /// A record, by index in [`Program::schemas`].
    Record(u16),
    /// A value that may be missing.
    Optional(Box<FieldType>),
    /// Anything.
    Any,
}

/// An event or record schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Its name.
    pub name: String,
    /// Whether it is an event.
    pub is_event: bool,
    /// Fields sorted by name.
    pub fields: Vec<(Arc<str>, FieldType)>,
}

impl Instr {
    /// The source step an instruction belongs to (`None` for jumps and the end).
    pub fn step(&self) -> Option<StepId> {
        match self {
            Instr::Send { step, .. }
            | Instr::Wait { step, .. }
            | Instr::WaitUntil { step, .. }
            | Instr::WaitFor { step, .. }
            | Instr::Branch { step, .. }
            | Instr::Split { step, .. }
            | Instr::Set { step, .. }
            | Instr::Goal { step, .. }
            | Instr::Exit { step } => Some(*step),
            Instr::Jump { .. } | Instr::End => None,
        }
    }
}

impl Program {
    /// The schema with this name.
    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.name == name)
    }

    /// The description of a step, for logs.
    pub fn step_label(&self, step: StepId) -> &str {
        self.steps
            .get(step as usize)
            .map_or("?", |info| info.label.as_str())
    }

    /// The instruction where a suspended customer stands. `pc` is the instance's next
    /// instruction; `sleeping` says it sleeps on a timer rather than waits for events. A
    /// customer sleeping right after a `wait` is in that wait (a send held by quiet hours just
    /// after a wait counts as the wait); one sleeping elsewhere is held at the send at `pc`; one
    /// waiting for events is at the `wait for` at `pc`.
    pub fn standing_at(&self, pc: Pc, sleeping: bool) -> Pc {
        let after_wait = sleeping
            && pc
                .checked_sub(1)
                .and_then(|before| self.code.get(before as usize))
                .is_some_and(|instr| matches!(instr, Instr::Wait { .. } | Instr::WaitUntil { .. }));
        if after_wait { pc - 1 } else { pc }
    }

    /// The labelled step where a suspended customer stands (see [`Program::standing_at`]).
    pub fn standing_label(&self, pc: Pc, sleeping: bool) -> Option<&StepLabel> {
        let at = self.standing_at(pc, sleeping);
        self.labels.iter().find(|label| label.pc == at)
    }

    /// Where a suspended customer stands, for people: the step's line of source, after its
    /// label if it has one (`step reminder: wait 3 hours`).
    pub fn standing_text(&self, pc: Pc, sleeping: bool) -> Option<String> {
        let at = self.standing_at(pc, sleeping);
        let step = self.code.get(at as usize)?.step()?;
        let text = self.step_label(step);
        Some(match self.labels.iter().find(|label| label.pc == at) {
            Some(label) => format!("step {}: {text}", label.name),
            None => text.to_string(),
        })
    }

    /// The names of the events the program reacts to (trigger, waits, exits, goals), in that
    /// order, a name as often as it is used.
    pub fn events_listened(&self) -> impl Iterator<Item = &str> {
        let trigger = match &self.trigger {
            Trigger::Event(m) => Some(m.event.as_str()),
            _ => None,
        };
        let waits = self.code.iter().flat_map(|instr| match instr {
            Instr::WaitFor { arms, .. } => arms.as_slice(),
            _ => &[],
        });
        trigger
            .into_iter()
            .chain(waits.map(|arm| arm.event.event.as_str()))
            .chain(self.exits.iter().map(|m| m.event.as_str()))
            .chain(self.goals.iter().map(|g| g.event.event.as_str()))
    }
}
