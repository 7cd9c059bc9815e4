//! Operators on [`Value`]s: the one definition of arithmetic and comparison, used by constant
//! folding at compile time and by the VM at run time.
//!
//! Errors are plain sentences ("cannot add text and money"); the VM wraps them with the journey,
//! step and template they happened in.

use std::cmp::Ordering;

use super::value::{Currency, MICROS, Value};
use super::{BinaryOp, UnaryOp};

/// Applies a binary operator to two evaluated operands. `and`, `or` and `??` short-circuit in
/// the evaluator; here they take both values.
pub fn binary(op: BinaryOp, left: &Value, right: &Value) -> Result<Value, String> {
    use BinaryOp::*;
    match op {
        Or => Ok(Value::Bool(truthy(left)? || truthy(right)?)),
        And => Ok(Value::Bool(truthy(left)? && truthy(right)?)),
        Coalesce => Ok(if left.is_set() {
            left.clone()
        } else {
            right.clone()
        }),
        Eq => Ok(Value::Bool(equal(left, right)?)),
        Ne => Ok(Value::Bool(!equal(left, right)?)),
        Lt | Le | Gt | Ge => {
            let ordering = compare(left, right)?;
            Ok(Value::Bool(match op {
                Lt => ordering == Ordering::Less,
                Le => ordering != Ordering::Greater,
                Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            }))
        }
        In => match right {
            Value::List(items) => {
                for item in items.iter() {
                    if equal(left, item)? {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            Value::Missing => Err("the list looked in is missing".to_string()),
            other => Err(format!("cannot look inside {}", other.type_name())),
        },
        Add | Sub | Mul | Div => arithmetic(op, left, right),
    }
}

/// Applies a unary operator.
pub fn unary(op: UnaryOp, value: &Value) -> Result<Value, String> {
    match op {
        UnaryOp::Not => Ok(Value::Bool(!truthy(value)?)),
        UnaryOp::IsSet => Ok(Value::Bool(value.is_set())),
        UnaryOp::IsNotSet => Ok(Value::Bool(!value.is_set())),
        UnaryOp::Neg => match value {
            Value::Int(n) => n.checked_neg().map(Value::Int).ok_or_else(overflow),
            Value::Decimal(n) => n.checked_neg().map(Value::Decimal).ok_or_else(overflow),
            Value::Money { micros, currency } => micros
                .checked_neg()
                .map(|micros| Value::Money {
                    micros,
                    currency: *currency,
                })
                .ok_or_else(overflow),
            Value::Duration(n) => n.checked_neg().map(Value::Duration).ok_or_else(overflow),
            other => Err(format!("cannot negate {}", describe(other))),
        },
    }
}

/// The value as a condition.
pub fn truthy(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Missing => Err("a condition's value is missing".to_string()),
        other => Err(format!("a condition is {}, not yes or no", describe(other))),
    }
}

fn overflow() -> String {
    "the number is too large".to_string()
}

fn describe(value: &Value) -> String {
    match value {
        Value::Missing => "missing".to_string(),
        other => format!("a {}", other.type_name()),
    }
}

/// Whether two values are equal: numbers across int and decimal, texts by content, money only
/// in the same currency.
pub fn equal(left: &Value, right: &Value) -> Result<bool, String> {
    Ok(match (left, right) {
        (Value::Missing, Value::Missing) => true,
        (Value::Missing, _) | (_, Value::Missing) => false,
        (Value::Int(a), Value::Decimal(b)) => i128::from(*a) * i128::from(MICROS) == i128::from(*b),
        (Value::Decimal(a), Value::Int(b)) => i128::from(*a) == i128::from(*b) * i128::from(MICROS),
        (
            Value::Money {
                micros: a,
                currency: ca,
            },
            Value::Money {
                micros: b,
                currency: cb,
            },
        ) => {
            same_currency(*ca, *cb)?;
            a == b
        }
        (a, b) => a == b,
    })
}

/// Orders two values of the same kind.
pub fn compare(left: &Value, right: &Value) -> Result<Ordering, String> {
    Ok(match (left, right) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::Int(a), Value::Decimal(b)) => {
            (i128::from(*a) * i128::from(MICROS)).cmp(&i128::from(*b))
        }
        (Value::Decimal(a), Value::Int(b)) => {
            i128::from(*a).cmp(&(i128::from(*b) * i128::from(MICROS)))
        }
        (Value::Decimal(a), Value::Decimal(b)) => a.cmp(b),
        (
            Value::Money {
                micros: a,
                currency: ca,
            },
            Value::Money {
                micros: b,
                currency: cb,
            },
        ) => {
            same_currency(*ca, *cb)?;
            a.cmp(b)
        }
        (Value::Text(a), Value::Text(b)) => a.cmp(b),
        (Value::Date(a), Value::Date(b)) => a.cmp(b),
        (Value::DateTime(a), Value::DateTime(b)) => a.cmp(b),
        (Value::Time(a), Value::Time(b)) => a.cmp(b),
        (Value::Duration(a), Value::Duration(b)) => a.cmp(b),
        (Value::Missing, _) | (_, Value::Missing) => {
            return Err("cannot compare a missing value".to_string());
        }
        (a, b) => {
            return Err(format!(
                "cannot compare {} with {}",
                describe(a),
                describe(b)
            ));
        }
    })
}

fn same_currency(a: Currency, b: Currency) -> Result<(), String> {
    if a == b {
        Ok(())
    } else {
        Err(format!(
            "amounts in two currencies ({} and {}) cannot be combined",
            a.code(),
            b.code()
        ))
    }
}

/// Multiplies two millionth-scaled numbers, rounding half away from zero.
fn mul_micros(a: i64, b: i64) -> Result<i64, String> {
    let product = i128::from(a) * i128::from(b);
    let scale = i128::from(MICROS);
    let rounded = if product >= 0 {
        (product + scale / 2) / scale
    } else {
        (product - scale / 2) / scale
    };
    i64::try_from(rounded).map_err(|_| overflow())
}

/// Divides two millionth-scaled numbers, rounding half away from zero.
fn div_micros(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        return Err("division by zero".to_string());
    }
    let numerator = i128::from(a) * i128::from(MICROS) * 2;
    let denominator = i128::from(b);
    let mut quotient = numerator / denominator;
    // quotient is twice the exact result, truncated: round half away from zero.
    quotient += quotient.signum();
    i64::try_from(quotient / 2).map_err(|_| overflow())
}

fn to_micros(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => n.checked_mul(MICROS),
        Value::Decimal(n) => Some(*n),
        _ => None,
    }
}

fn arithmetic(op: BinaryOp, left: &Value, right: &Value) -> Result<Value, String> {
    use BinaryOp::{Add, Div, Mul, Sub};
    let checked = |value: Option<i64>| value.ok_or_else(overflow);
    match (op, left, right) {
        (Add, Value::Int(a), Value::Int(b)) => checked(a.checked_add(*b)).map(Value::Int),
        (Sub, Value::Int(a), Value::Int(b)) => checked(a.checked_sub(*b)).map(Value::Int),
        (Mul, Value::Int(a), Value::Int(b)) => checked(a.checked_mul(*b)).map(Value::Int),
        (_, Value::Int(_) | Value::Decimal(_), Value::Int(_) | Value::Decimal(_)) => {
            let a = checked(to_micros(left))?;
            let b = checked(to_micros(right))?;
            match op {
                Add => checked(a.checked_add(b)).map(Value::Decimal),
                Sub => checked(a.checked_sub(b)).map(Value::Decimal),
                Mul => mul_micros(a, b).map(Value::Decimal),
                _ => div_micros(a, b).map(Value::Decimal),
            }
        }
        (
            Add | Sub,
            Value::Money {
                micros: a,
                currency: ca,
            },
            Value::Money {
                micros: b,
                currency: cb,
            },
        ) => {
            same_currency(*ca, *cb)?;
            let micros = if op == Add {
                a.checked_add(*b)
            } else {
                a.checked_sub(*b)
            };
            checked(micros).map(|micros| Value::Money {
                micros,
                currency: *ca,
            })
        }
        (
            Div,
            Value::Money {
                micros: a,
                currency: ca,
            },
            Value::Money {
                micros: b,
                currency: cb,
            },
        ) => {
            same_currency(*ca, *cb)?;
            div_micros(*a, *b).map(Value::Decimal)
        }
        (Mul, Value::Money { micros, currency }, factor @ (Value::Int(_) | Value::Decimal(_)))
        | (Mul, factor @ (Value::Int(_) | Value::Decimal(_)), Value::Money { micros, currency }) => {
            let factor = checked(to_micros(factor))?;
            mul_micros(*micros, factor).map(|micros| Value::Money {
                micros,
                currency: *currency,
            })
        }
        (Div, Value::Money { micros, currency }, divisor @ (Value::Int(_) | Value::Decimal(_))) => {
            let divisor = checked(to_micros(divisor))?;
            div_micros(*micros, divisor).map(|micros| Value::Money {
                micros,
                currency: *currency,
            })
        }
        (Add | Sub, Value::Date(day), Value::Duration(seconds)) => {
            let days = i32::try_from(seconds / 86_400).map_err(|_| overflow())?;
            let days = if op == Add {
                day.checked_add(days)
            } else {
                day.checked_sub(days)
            };
            days.map(Value::Date).ok_or_else(overflow)
        }
        (Add, Value::Duration(seconds), Value::Date(day)) => {
            let days = i32::try_from(seconds / 86_400).map_err(|_| overflow())?;
            day.checked_add(days).map(Value::Date).ok_or_else(overflow)
        }
        (Add | Sub, Value::DateTime(at), Value::Duration(seconds)) => {
            let at = if op == Add {
                at.checked_add(*seconds)
            } else {
                at.checked_sub(*seconds)
            };
            checked(at).map(Value::DateTime)
        }
        (Add, Value::Duration(seconds), Value::DateTime(at)) => {
            checked(at.checked_add(*seconds)).map(Value::DateTime)
        }
        (Sub, Value::Date(a), Value::Date(b)) => Ok(Value::Duration(i64::from(*a - *b) * 86_400)),
        (Sub, Value::DateTime(a), Value::DateTime(b)) => {
            checked(a.checked_sub(*b)).map(Value::Duration)
        }
        (Add, Value::Duration(a), Value::Duration(b)) => {
            checked(a.checked_add(*b)).map(Value::Duration)
        }
        (Sub, Value::Duration(a), Value::Duration(b)) => {
            checked(a.checked_sub(*b)).map(Value::Duration)
        }
        (Mul, Value::Duration(d), Value::Int(n)) | (Mul, Value::Int(n), Value::Duration(d)) => {
            checked(d.checked_mul(*n)).map(Value::Duration)
        }
        (Add, Value::Text(a), Value::Text(b)) => Ok(Value::text(&format!("{a}{b}"))),
        (_, Value::Missing, _) | (_, _, Value::Missing) => Err(format!(
            "cannot compute with `{}`: a value is missing",
            op.symbol()
        )),
        (_, a, b) => Err(format!(
            "cannot compute {} {} {}",
            describe(a),
            op.symbol(),
            describe(b)
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn eur(micros: i64) -> Value {
        Value::Money {
            micros,
            currency: Currency::parse("EUR").unwrap(),
        }
    }

    #[test]
    fn money_arithmetic_is_exact_and_rounds_half_away_from_zero() {
        assert_eq!(
            binary(BinaryOp::Mul, &eur(29_950_000), &Value::Int(2)).unwrap(),
            eur(59_900_000)
        );
        assert_eq!(
            binary(BinaryOp::Mul, &eur(19_990_000), &Value::Decimal(900_000)).unwrap(),
            eur(17_991_000)
        );
        assert_eq!(
            binary(BinaryOp::Div, &eur(59_900_000), &eur(1_000_000)).unwrap(),
            Value::Decimal(59_900_000)
        );
        assert_eq!(
            binary(BinaryOp::Div, &Value::Int(1), &Value::Int(3)).unwrap(),
            Value::Decimal(333_333)
        );
        assert_eq!(
            binary(BinaryOp::Div, &Value::Int(2), &Value::Int(3)).unwrap(),
            Value::Decimal(666_667)
        );
        assert!(binary(BinaryOp::Div, &Value::Int(2), &Value::Int(0)).is_err());
    }

    #[test]
    fn currencies_do_not_mix_at_run_time() {
        let usd = Value::Money {
            micros: 1,
            currency: Currency::parse("usd").unwrap(),
        };
        let error = binary(BinaryOp::Add, &eur(1), &usd).unwrap_err();
        assert!(error.contains("EUR and USD"), "{error}");
    }

    #[test]
    fn comparisons_cross_int_and_decimal_and_refuse_missing() {
        assert_eq!(
            binary(BinaryOp::Ge, &Value::Int(500), &Value::Decimal(499_500_000)).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            binary(BinaryOp::Eq, &Value::Missing, &Value::Int(1)).unwrap(),
            Value::Bool(false)
        );
        assert!(binary(BinaryOp::Lt, &Value::Missing, &Value::Int(1)).is_err());
        assert!(binary(BinaryOp::Add, &Value::Int(i64::MAX), &Value::Int(1)).is_err());
    }
}
