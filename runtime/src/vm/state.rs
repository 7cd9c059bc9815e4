//! What the VM keeps per customer between steps: the profile, where the customer stands in every
//! journey, and the recent marketing messages that frequency caps count.
//!
//! This is stored by the runtime (one record per customer), so it is a published format: fields
//! are only ever added at the end with defaults, and it stays small (a waiting instance is a few
//! dozen bytes plus the event data it keeps).

use std::collections::BTreeMap;
use std::sync::Arc;

use journey_compiler::bytecode::{Record, Value};
use serde::{Deserialize, Serialize};

use super::TimerId;

/// Everything the VM knows about one customer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerState {
    /// The customer's id.
    pub id: Arc<str>,
    /// The profile (`customer` in journeys).
    pub profile: Record,
    /// Per journey (by name): entries, keys seen and live instances.
    pub journeys: BTreeMap<String, Membership>,
    /// When recent marketing messages were sent (seconds since the epoch), oldest first; pruned
    /// to the longest frequency-cap window.
    pub marketing_sends: Vec<i64>,
}

/// Where an active instance stands: its journey, program version, instruction, and whether it
/// sleeps there (a `wait`) or waits for an event. The runtime counts customers by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Standing {
    /// The journey's name.
    pub journey: String,
    /// The program version (content hash).
    pub version: [u8; 32],
    /// The instruction it stands at.
    pub pc: u32,
    /// Sleeping (a `wait`) rather than waiting for an event.
    pub sleeping: bool,
}

/// A customer's history with one journey.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// How many times the customer entered.
    pub entries: u32,
    /// When they last entered.
    pub last_entry: Option<i64>,
    /// Keys of `once per` seen so far, sorted.
    pub keys: Vec<Arc<str>>,
    /// Whether they were in the journey's segment when last evaluated (`entered segment`).
    pub in_segment: bool,
    /// The next anniversary timer set for a date trigger.
    pub next_anniversary: Option<i64>,
    /// The id the next instance gets.
    pub next_instance: u32,
    /// Instances still running, or ended but still counted for goals.
    pub instances: Vec<Instance>,
}

/// One run of a journey for a customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Unique within the customer's membership of the journey.
    pub id: u32,
    /// The content hash of the program version it runs.
    pub version: [u8; 32],
    /// The next instruction.
    pub pc: u32,
    /// When the customer entered (seconds since the epoch).
    pub entered_at: i64,
    /// Running, waiting, or ended and tracked for goals.
    pub status: Status,
    /// Sequence number of the current timer: a firing with another number is stale.
    pub timer: u32,
    /// The values bound by the trigger, waits and `with` (by slot).
    pub slots: Vec<Value>,
    /// Goals reached, one bit per goal of the program.
    pub goals: u32,
    /// Whether the customer landed in a holdout group.
    pub holdout: bool,
    /// Events kept for `since entry` waits: name, arrival time, data.
    pub kept: Vec<(Arc<str>, i64, Value)>,
}

/// Where an instance stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Suspended until a timer (a wait, a deferred send) fires.
    Sleeping {
        /// When.
        until: i64,
    },
    /// Waiting for events, possibly with a timeout.
    Waiting {
        /// When the wait times out, if ever.
        until: Option<i64>,
    },
    /// Ended; kept until every goal window has closed.
    Ended {
        /// When it can be forgotten.
        until: i64,
    },
}

impl Instance {
    /// Whether the instance is still in the journey (not ended).
    pub fn is_active(&self) -> bool {
        !matches!(self.status, Status::Ended { .. })
    }
}

impl CustomerState {
    /// A new customer with an empty profile except the id.
    pub fn new(id: &str) -> CustomerState {
        let mut profile = Record::default();
        profile.set(Arc::from("id"), Value::text(id));
        CustomerState {
            id: Arc::from(id),
            profile,
            ..CustomerState::default()
        }
    }

    /// The timers this state has pending, with their times: an instance's wake-up (sleeping, or
    /// waiting with a timeout; its current sequence number) and each date trigger's next
    /// anniversary. The VM keeps these in step with the timers it sets and cancels, so the
    /// runtime finds a timer's time here instead of keeping an index of its own.
    pub fn pending_timers(&self) -> Vec<(TimerId, i64)> {
        let mut out = Vec::new();
        for (journey, membership) in &self.journeys {
            if let Some(at) = membership.next_anniversary {
                out.push((
                    TimerId::Anniversary {
                        journey: journey.clone(),
                    },
                    at,
                ));
            }
            for instance in &membership.instances {
                let until = match instance.status {
                    Status::Sleeping { until } => Some(until),
                    Status::Waiting { until } => until,
                    Status::Ended { .. } => None,
                };
                if let Some(at) = until {
                    out.push((
                        TimerId::Wake {
                            journey: journey.clone(),
                            instance: instance.id,
                            seq: instance.timer,
                        },
                        at,
                    ));
                }
            }
        }
        out
    }

    /// Where each active instance stands (what `GET /v1/journeys` counts per step).
    pub fn standings(&self) -> Vec<Standing> {
        let mut out = Vec::new();
        for (journey, membership) in &self.journeys {
            for instance in membership.instances.iter().filter(|i| i.is_active()) {
                out.push(Standing {
                    journey: journey.clone(),
                    version: instance.version,
                    pc: instance.pc,
                    sleeping: matches!(instance.status, Status::Sleeping { .. }),
                });
            }
        }
        out
    }

    /// Instances waiting or sleeping, across journeys.
    pub fn active_instances(&self) -> usize {
        self.journeys
            .values()
            .map(|m| m.instances.iter().filter(|i| i.is_active()).count())
            .sum()
    }
}
