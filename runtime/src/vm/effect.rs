//! Inputs and effects: what the VM is given and what it asks its shell to do.
//!
//! Effects are data. The VM never sends, sleeps or writes: it returns messages (fully rendered),
//! timers to set or cancel, profile updates, goals, entries and exits, a decision log entry for
//! every choice it made, and runtime errors.

use std::sync::Arc;

use journey_compiler::bytecode::{Category, Channel, Value};
use serde::Serialize;

/// An event the shop sent for a customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Its id (for deduplication by the shell; also shown in logs).
    pub id: String,
    /// The event's name (`order_placed`).
    pub name: String,
    /// When it happened, seconds since the epoch.
    pub at: i64,
    /// Its data, as the shop sent it.
    pub data: serde_json::Value,
}

/// Identifies a timer; setting a timer with the same id replaces the previous one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerId {
    /// Wakes an instance (end of a wait, a timeout, a deferred send).
    Wake {
        /// The journey.
        journey: String,
        /// The instance.
        instance: u32,
        /// The instance's timer sequence number; stale firings are ignored.
        seq: u32,
    },
    /// A date trigger's next anniversary.
    Anniversary {
        /// The journey.
        journey: String,
    },
}

/// What the VM is stepped with.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// An event for the customer.
    Event(Event),
    /// A timer the VM set earlier has come due.
    Timer(TimerId),
    /// A schedule trigger of this journey fired.
    Schedule {
        /// The journey.
        journey: String,
    },
    /// Profile attributes to merge into the customer's profile.
    Profile(serde_json::Map<String, serde_json::Value>),
    /// A new version of this journey was deployed: move the customers its `migrate` lines
    /// name from the older versions they run.
    Migrate {
        /// The journey.
        journey: String,
    },
}

/// A coupon a message carries, for the shop to honour.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Coupon {
    /// The code.
    pub code: String,
    /// Percent off, if a percentage coupon.
    pub percent: Option<i64>,
    /// Amount off, as text (`20.00 EUR`), if an amount coupon.
    pub amount: Option<String>,
    /// When it expires (RFC 3339, UTC).
    pub expires: String,
    /// Product ids it is limited to; empty for the whole shop.
    pub products: Vec<String>,
    /// Minimum order, as text, if any.
    pub minimum: Option<String>,
}

/// A rendered message (stored in the runtime's outbox until delivered).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Message {
    /// The deterministic Message-ID (the same on every attempt).
    pub message_id: String,
    /// The journey.
    pub journey: String,
    /// The instance.
    pub instance: u32,
    /// The step that sent it (its first source line).
    pub step: String,
    /// The template.
    pub template: String,
    /// The channel.
    pub channel: Channel,
    /// Transactional or marketing.
    pub category: Category,
    /// The address: the customer's email or phone; none for webhooks.
    pub to: Option<String>,
    /// The subject (email).
    pub subject: Option<String>,
    /// The preview line (email).
    pub preheader: Option<String>,
    /// The plain-text part (or the SMS text, or the webhook payload).
    pub text: String,
    /// The HTML part (email with a Markdown or HTML body).
    pub html: Option<String>,
    /// The unsubscribe address (marketing email).
    pub unsubscribe_url: Option<String>,
    /// Coupons created for this message.
    pub coupons: Vec<Coupon>,
}

/// Why an instance left its journey.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// It ran to the end of the steps.
    Completed,
    /// An `exit` step.
    ExitStep,
    /// An `exit when` rule matched an event.
    ExitRule {
        /// The event.
        event: String,
    },
    /// A split sent it to the holdout group.
    Holdout,
    /// A runtime error stopped it.
    Error,
    /// A `migrate` line of a new version sent it out (`old_step -> exit`).
    Migrated,
}

/// What kind of choice a decision records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The customer entered the journey.
    Entered,
    /// The customer did not enter (an entry rule or an exclusive group).
    NotEntered,
    /// A condition chose a branch.
    Branch,
    /// A split chose a branch.
    Split,
    /// A message went out.
    Sent,
    /// A message was held for later.
    Deferred,
    /// A message was not sent.
    Skipped,
    /// A wait ended because its event came.
    EventMatched,
    /// A wait timed out.
    TimedOut,
    /// The customer left the journey.
    Left,
    /// A deploy moved the customer to another version of the journey.
    Migrated,
}

/// One entry of the decision log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// The journey.
    pub journey: String,
    /// The instance, if one exists yet.
    pub instance: Option<u32>,
    /// The step (its first source line), if the decision belongs to one.
    pub step: Option<String>,
    /// What was decided.
    pub kind: DecisionKind,
    /// The rule that decided it, in words.
    pub why: String,
}

/// A problem at run time: data missing or of the wrong kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuntimeError {
    /// The journey, if the problem belongs to one.
    pub journey: Option<String>,
    /// The instance.
    pub instance: Option<u32>,
    /// The step.
    pub step: Option<String>,
    /// The template being rendered.
    pub template: Option<String>,
    /// The field or expression concerned.
    pub field: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// What the shell must do after a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Deliver a message.
    Send(Box<Message>),
    /// Set (or replace) a timer.
    SetTimer {
        /// Which.
        timer: TimerId,
        /// When, seconds since the epoch.
        at: i64,
    },
    /// Cancel a timer.
    CancelTimer {
        /// Which.
        timer: TimerId,
    },
    /// A profile attribute changed.
    SetProfile {
        /// The journey whose `set` step changed it.
        journey: String,
        /// The attribute.
        attribute: Arc<str>,
        /// Its new value.
        #[serde(skip)]
        value: Value,
        /// The value as text, for logs.
        shown: String,
    },
    /// The customer reached a goal.
    Goal {
        /// The journey.
        journey: String,
        /// The instance.
        instance: u32,
        /// The goal.
        goal: String,
        /// Whether the customer was in a holdout group.
        holdout: bool,
    },
    /// A choice and its reason.
    Decision(Decision),
    /// The customer left a journey.
    Exit {
        /// The journey.
        journey: String,
        /// The instance.
        instance: u32,
        /// Why.
        reason: ExitReason,
    },
    /// A runtime error; nothing half-done was sent.
    Error(RuntimeError),
}
