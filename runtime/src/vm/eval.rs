//! Evaluation of compiled expressions against what an instance knows.
//!
//! Operators come from the compiler's `bytecode::ops` (the same code folds constants), builtins
//! from [`super::builtins`]. A value that is missing where one is needed is an error naming the
//! expression, never a panic and never a guess.

use chrono_tz::Tz;
use journey_compiler::bytecode::{BinaryOp, Expr, Record, UnaryOp, Value, ops};

use super::builtins::{self, CouponSeed};
use super::effect::Coupon;
use crate::render::locale::Locale;

/// Why an expression could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    /// The expression or field concerned, as written (`customer.first_name`).
    pub field: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl EvalError {
    /// An error without a field.
    pub fn new(message: impl Into<String>) -> EvalError {
        EvalError {
            field: None,
            message: message.into(),
        }
    }
}

/// What an expression can see.
pub struct Env<'a> {
    /// The customer's profile.
    pub profile: &'a Record,
    /// The instance's slots.
    pub slots: &'a [Value],
    /// Slot names, for messages.
    pub slot_names: &'a [String],
    /// The event being matched by a `where`.
    pub it: Option<&'a Value>,
    /// Template loop variables, outermost first.
    pub locals: Vec<Value>,
    /// The shop record.
    pub shop: &'a Value,
    /// The unsubscribe address.
    pub unsubscribe_url: Option<&'a str>,
    /// The customer's time zone.
    pub zone: Tz,
    /// The customer's locale.
    pub locale: &'a Locale,
    /// The current time, seconds since the epoch.
    pub now: i64,
    /// Where coupon codes come from, when coupons may be made here.
    pub coupon_seed: Option<CouponSeed<'a>>,
    /// Coupons made while evaluating.
    pub coupons: Vec<Coupon>,
}

impl Env<'_> {
    /// Evaluates an expression.
    pub fn eval(&mut self, expr: &Expr) -> Result<Value, EvalError> {
        match expr {
            Expr::Const(value) => Ok(value.clone()),
            Expr::Customer => Ok(Value::Record(std::sync::Arc::new(self.profile.clone()))),
            Expr::Shop => Ok(self.shop.clone()),
            Expr::UnsubscribeUrl => Ok(self.unsubscribe_url.map_or(Value::Missing, Value::text)),
            Expr::It => self
                .it
                .cloned()
                .ok_or_else(|| EvalError::new("`it` is only known in a `where` condition")),
            Expr::Slot(idx) => Ok(self.slots.get(*idx as usize).cloned().unwrap_or_default()),
            Expr::Local(depth) => Ok(self
                .locals
                .get(*depth as usize)
                .cloned()
                .unwrap_or_default()),
            Expr::Field(base, name) => {
                // `customer.x` reads the profile without copying it.
                if matches!(base.as_ref(), Expr::Customer) {
                    return Ok(self.profile.get(name).cloned().unwrap_or_default());
                }
                let base_value = self.eval(base)?;
                match &base_value {
                    Value::Record(record) => Ok(record.get(name).cloned().unwrap_or_default()),
                    Value::Missing => Err(EvalError {
                        field: Some(self.show(base)),
                        message: format!(
                            "`{}` is not set, so its field `{name}` cannot be read",
                            self.show(base)
                        ),
                    }),
                    other => Err(EvalError {
                        field: Some(self.show(expr)),
                        message: format!("{} has no field `{name}`", other.type_name()),
                    }),
                }
            }
            Expr::Call(builtin, args) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg)?);
                }
                builtins::call(*builtin, &values, self).map_err(|message| EvalError {
                    field: Some(self.show(expr)),
                    message,
                })
            }
            Expr::Binary(op, left, right) => {
                let left_value = self.eval(left)?;
                // Short-circuits: `a is set and a > 3` must not evaluate the right side.
                match op {
                    BinaryOp::And if left_value == Value::Bool(false) => {
                        return Ok(Value::Bool(false));
                    }
                    BinaryOp::Or if left_value == Value::Bool(true) => {
                        return Ok(Value::Bool(true));
                    }
                    BinaryOp::Coalesce if left_value.is_set() => return Ok(left_value),
                    _ => {}
                }
                let right_value = self.eval(right)?;
                ops::binary(*op, &left_value, &right_value).map_err(|message| {
                    let missing = if !left_value.is_set() {
                        Some(self.show(left))
                    } else if !right_value.is_set() {
                        Some(self.show(right))
                    } else {
                        None
                    };
                    EvalError {
                        message: match &missing {
                            Some(name) => format!(
                                "`{name}` is not set, so `{}` cannot be computed",
                                self.show(expr)
                            ),
                            None => message,
                        },
                        field: missing.or_else(|| Some(self.show(expr))),
                    }
                })
            }
            Expr::Unary(op, operand) => {
                let value = self.eval(operand)?;
                ops::unary(*op, &value).map_err(|message| EvalError {
                    field: Some(self.show(operand)),
                    message: if value.is_set() || matches!(op, UnaryOp::IsSet | UnaryOp::IsNotSet) {
                        message
                    } else {
                        format!("`{}` is not set: {message}", self.show(operand))
                    },
                })
            }
            Expr::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(item)?);
                }
                Ok(Value::list(values))
            }
        }
    }

    /// Evaluates a condition to yes or no.
    pub fn condition(&mut self, expr: &Expr) -> Result<bool, EvalError> {
        let value = self.eval(expr)?;
        ops::truthy(&value).map_err(|message| EvalError {
            field: Some(self.show(expr)),
            message: if value.is_set() {
                message
            } else {
                format!("`{}` is not set", self.show(expr))
            },
        })
    }

    /// The expression as the marketer wrote it (near enough), for messages.
    pub fn show(&self, expr: &Expr) -> String {
        show(expr, self.slot_names)
    }
}

/// An expression as the marketer wrote it (near enough), for messages; `slot_names` names the
/// program's slots.
pub fn show(expr: &Expr, slot_names: &[String]) -> String {
    let show = |e: &Expr| show(e, slot_names);
    match expr {
        Expr::Const(value) => journey_compiler::bytecode::disasm::constant(value),
        Expr::Customer => "customer".to_string(),
        Expr::Shop => "shop".to_string(),
        Expr::UnsubscribeUrl => "unsubscribe_url".to_string(),
        Expr::It => "it".to_string(),
        Expr::Slot(idx) => slot_names
            .get(*idx as usize)
            .cloned()
            .unwrap_or_else(|| format!("${idx}")),
        Expr::Local(depth) => format!("loop variable {depth}"),
        Expr::Field(base, name) => format!("{}.{name}", show(base)),
        Expr::Call(builtin, args) => {
            let args: Vec<String> = args
                .iter()
                .filter(|a| !matches!(a, Expr::Const(Value::Missing)))
                .map(show)
                .collect();
            format!("{}({})", builtin.name(), args.join(", "))
        }
        Expr::Binary(op, left, right) => {
            format!("{} {} {}", show(left), op.symbol(), show(right))
        }
        Expr::Unary(op, operand) => match op {
            UnaryOp::Not => format!("not {}", show(operand)),
            UnaryOp::Neg => format!("-{}", show(operand)),
            UnaryOp::IsSet => format!("{} is set", show(operand)),
            UnaryOp::IsNotSet => format!("{} is not set", show(operand)),
        },
        Expr::List(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
    }
}
