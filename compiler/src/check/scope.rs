//! What is known at a point of a journey: named values with their types, names known on some
//! paths only (and where they were lost), optionals proven set, and the least time since entry.

use std::collections::{BTreeMap, BTreeSet};

use crate::source::Span;
use crate::types::Type;

/// A named value in scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    /// Its type.
    pub ty: Type,
    /// Where it was bound.
    pub span: Span,
}

/// A name known on some paths to this point but not on all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// The construct on whose path the name is not known (a wait, a branch).
    pub lost_at: Span,
    /// Why, in a few words ("when this wait times out").
    pub why: String,
}

/// The state of knowledge at one point of a journey.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Values known on every path.
    pub vars: BTreeMap<String, Var>,
    /// Values known on some paths only.
    pub missing: BTreeMap<String, Missing>,
    /// Paths (`customer.first_name`) proven set by an enclosing `if … is set`.
    pub narrowed: BTreeSet<String>,
    /// The least time, in seconds, a customer can have spent in the journey to get here.
    pub elapsed: u64,
}

impl Scope {
    /// Binds a name (shadowing any earlier one).
    pub fn bind(&mut self, name: &str, ty: Type, span: Span) {
        self.missing.remove(name);
        self.vars.insert(name.to_string(), Var { ty, span });
    }

    /// The scope after two paths join: names on both survive; names on one become missing,
    /// blamed on `lost_at` with `why` for the path that lacks them.
    pub fn join(a: Option<Scope>, b: Option<Scope>, lost_at: Span, why: &str) -> Option<Scope> {
        match (a, b) {
            (None, other) | (other, None) => other,
            (Some(a), Some(b)) => {
                let mut joined = Scope {
                    elapsed: a.elapsed.min(b.elapsed),
                    narrowed: a.narrowed.intersection(&b.narrowed).cloned().collect(),
                    ..Scope::default()
                };
                for (name, var) in &a.vars {
                    match b.vars.get(name) {
                        Some(other) if other.ty == var.ty => {
                            joined.vars.insert(name.clone(), var.clone());
                        }
                        _ => {
                            joined.missing.insert(
                                name.clone(),
                                b.missing.get(name).cloned().unwrap_or(Missing {
                                    lost_at,
                                    why: why.to_string(),
                                }),
                            );
                        }
                    }
                }
                for name in b.vars.keys() {
                    if !a.vars.contains_key(name) {
                        joined.missing.insert(
                            name.clone(),
                            a.missing.get(name).cloned().unwrap_or(Missing {
                                lost_at,
                                why: why.to_string(),
                            }),
                        );
                    }
                }
                for (name, missing) in a.missing.into_iter().chain(b.missing) {
                    if !joined.vars.contains_key(&name) {
                        joined.missing.entry(name).or_insert(missing);
                    }
                }
                Some(joined)
            }
        }
    }
}
