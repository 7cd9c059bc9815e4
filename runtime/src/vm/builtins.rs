//! The builtins of the prelude, and how values print in templates (in the customer's locale and
//! time zone).
//!
//! Each builtin takes its arguments in the signature's order; a left-out optional argument is
//! `Missing`. Errors are sentences; the evaluator adds which call failed.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone};
use journey_compiler::bytecode::value::{MICROS, show_micros};
use journey_compiler::bytecode::{Builtin, Record, Value};
use sha2::{Digest, Sha256};

use super::effect::Coupon;
use super::eval::Env;
use crate::render::locale;

/// What a coupon code is derived from: the same inputs always give the same code.
#[derive(Clone, Copy, Debug)]
pub struct CouponSeed<'a> {
    /// The shop's secret.
    pub secret: &'a [u8],
    /// The customer.
    pub customer: &'a str,
    /// The journey.
    pub journey: &'a str,
    /// The instance.
    pub instance: u32,
    /// The instruction that sends.
    pub pc: u32,
}

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789#";

/// A deterministic coupon code: ten characters from an unambiguous alphabet.
pub fn coupon_code(seed: &CouponSeed<'_>, nth: usize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seed.secret);
    for part in [seed.customer, seed.journey] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(seed.instance.to_le_bytes());
    hasher.update(seed.pc.to_le_bytes());
    hasher.update((nth as u64).to_le_bytes());
    let digest = hasher.finalize();
    digest
        .iter()
        .take(10)
        // 31 symbols: the last byte of the alphabet is never used.
        .map(|b| char::from(*CODE_ALPHABET.get(usize::from(*b) % 31).unwrap_or(&b'X')))
        .collect()
}

fn date_of(days: i32) -> Result<NaiveDate, String> {
    NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| "the date is out of range".to_string())
}

/// The local date of an instant in the environment's zone.
pub fn local_date(env: &Env<'_>, at: i64) -> Result<NaiveDate, String> {
    env.zone
        .timestamp_opt(at, 0)
        .single()
        .map(|d| d.date_naive())
        .ok_or_else(|| "the instant is out of range".to_string())
}

fn text_arg(value: &Value, what: &str) -> Result<Arc<str>, String> {
    match value {
        Value::Text(text) => Ok(text.clone()),
        Value::Missing => Err(format!("the {what} is not set")),
        other => Err(format!("the {what} is {}, not text", other.type_name())),
    }
}

/// Calls a builtin.
pub fn call(builtin: Builtin, args: &[Value], env: &mut Env<'_>) -> Result<Value, String> {
    let arg = |idx: usize| args.get(idx).unwrap_or(&Value::Missing);
    match builtin {
        Builtin::Money => match arg(0) {
            Value::Money { .. } => print(arg(0), env).map(|t| Value::text(&t)),
            Value::Missing => Err("the amount is not set".to_string()),
            other => Err(format!("`money` needs money, not {}", other.type_name())),
        },
        Builtin::Date => match arg(0) {
            Value::Date(days) => Ok(Value::text(&locale::date(date_of(*days)?, env.locale))),
            Value::DateTime(at) => Ok(Value::text(&locale::date(
                local_date(env, *at)?,
                env.locale,
            ))),
            Value::Missing => Err("the date is not set".to_string()),
            other => Err(format!("`date` needs a date, not {}", other.type_name())),
        },
        Builtin::Time => match arg(0) {
            Value::DateTime(at) => {
                let local = env
                    .zone
                    .timestamp_opt(*at, 0)
                    .single()
                    .ok_or_else(|| "the instant is out of range".to_string())?;
                Ok(Value::text(&locale::time(local.time(), env.locale)))
            }
            Value::Time(seconds) => {
                let time = NaiveTime::from_num_seconds_from_midnight_opt(*seconds, 0)
                    .ok_or_else(|| "the time is out of range".to_string())?;
                Ok(Value::text(&locale::time(time, env.locale)))
            }
            Value::Missing => Err("the time is not set".to_string()),
            other => Err(format!(
                "`time` needs a date and time, not {}",
                other.type_name()
            )),
        },
        Builtin::Upper => Ok(Value::text(&text_arg(arg(0), "text")?.to_uppercase())),
        Builtin::Lower => Ok(Value::text(&text_arg(arg(0), "text")?.to_lowercase())),
        Builtin::Capitalize => {
            let text = text_arg(arg(0), "text")?;
            let mut chars = text.chars();
            let capitalized: String = match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            };
            Ok(Value::text(&capitalized))
        }
        Builtin::Truncate => {
            let text = text_arg(arg(0), "text")?;
            let Value::Int(length) = arg(1) else {
                return Err("the length must be a whole number".to_string());
            };
            let length = usize::try_from(*length).unwrap_or(0);
            if text.chars().count() <= length {
                Ok(Value::Text(text))
            } else {
                let kept: String = text.chars().take(length.saturating_sub(1)).collect();
                Ok(Value::text(&format!("{}…", kept.trim_end())))
            }
        }
        Builtin::Join => {
            let Value::List(items) = arg(0) else {
                return Err("`join` needs a list".to_string());
            };
            let separator = match arg(1) {
                Value::Missing => Arc::from(", "),
                other => text_arg(other, "separator")?,
            };
            let mut parts = Vec::with_capacity(items.len());
            for item in items.iter() {
                parts.push(print(item, env)?);
            }
            Ok(Value::text(&parts.join(&separator)))
        }
        Builtin::Default => Ok(if arg(0).is_set() {
            arg(0).clone()
        } else {
            arg(1).clone()
        }),
        Builtin::DaysSince | Builtin::DaysUntil => {
            let today = local_date(env, env.now)?;
            let day = match arg(0) {
                Value::Date(days) => date_of(*days)?,
                Value::DateTime(at) => local_date(env, *at)?,
                Value::Missing => return Err("the date is not set".to_string()),
                other => return Err(format!("needs a date, not {}", other.type_name())),
            };
            let days = (today - day).num_days();
            Ok(Value::Int(if builtin == Builtin::DaysSince {
                days
            } else {
                -days
            }))
        }
        Builtin::Today => Ok(Value::Date(local_date(env, env.now)?.num_days_from_ce())),
        Builtin::AddDays => match (arg(0), arg(1)) {
            (Value::Date(day), Value::Int(n)) => i32::try_from(*n)
                .ok()
                .and_then(|n| day.checked_add(n))
                .map(Value::Date)
                .ok_or_else(|| "the date is out of range".to_string()),
            (Value::Missing, _) => Err("the date is not set".to_string()),
            _ => Err("`add_days` needs a date and a whole number".to_string()),
        },
        Builtin::Count => match arg(0) {
            Value::List(items) => Ok(Value::Int(i64::try_from(items.len()).unwrap_or(i64::MAX))),
            Value::Missing => Err("the list is not set".to_string()),
            other => Err(format!("`count` needs a list, not {}", other.type_name())),
        },
        Builtin::Round => match arg(0) {
            Value::Int(n) => Ok(Value::Int(*n)),
            Value::Decimal(micros) => {
                let half = MICROS / 2;
                let rounded = if *micros >= 0 {
                    (micros + half) / MICROS
                } else {
                    (micros - half) / MICROS
                };
                Ok(Value::Int(rounded))
            }
            Value::Missing => Err("the number is not set".to_string()),
            other => Err(format!("`round` needs a number, not {}", other.type_name())),
        },
        Builtin::PercentOf => match (arg(0), arg(1)) {
            (Value::Money { micros, currency }, Value::Int(percent)) => {
                let scaled = i128::from(*micros) * i128::from(*percent);
                let micros = i64::try_from(scaled / 100).map_err(|_| "the amount is too large")?;
                Ok(Value::Money {
                    micros,
                    currency: *currency,
                })
            }
            _ => Err("`percent_of` needs money and a whole number".to_string()),
        },
        Builtin::Coupon => coupon(args, env),
    }
}

fn coupon(args: &[Value], env: &mut Env<'_>) -> Result<Value, String> {
    let arg = |idx: usize| args.get(idx).unwrap_or(&Value::Missing);
    let Some(seed) = env.coupon_seed else {
        return Err("a coupon can only be made in a `send` step".to_string());
    };
    let Value::Duration(valid) = arg(2) else {
        return Err("a coupon needs `valid:`, how long it lasts".to_string());
    };
    let percent = match arg(0) {
        Value::Int(p) if (1..=100).contains(p) => Some(*p),
        Value::Missing => None,
        _ => return Err("`percent:` must be a whole number from 1 to 100".to_string()),
    };
    let amount = match arg(1) {
        value @ Value::Money { micros, .. } if *micros > 0 => Some(value.clone()),
        Value::Missing => None,
        _ => return Err("`amount:` must be a positive amount of money".to_string()),
    };
    if percent.is_none() == amount.is_none() {
        return Err("a coupon needs either `percent:` or `amount:`".to_string());
    }
    let products = match arg(3) {
        Value::List(items) => items
            .iter()
            .map(|item| match item {
                Value::Text(t) => Ok(t.to_string()),
                other => Err(format!(
                    "`on:` lists product ids, not {}",
                    other.type_name()
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Value::Missing => Vec::new(),
        _ => return Err("`on:` must be a list of product ids".to_string()),
    };
    let minimum = match arg(4) {
        Value::Money { micros, currency } => {
            Some(format!("{} {}", show_micros(*micros), currency.code()))
        }
        _ => None,
    };
    let code = coupon_code(&seed, env.coupons.len());
    let expires = env.now.saturating_add(*valid);
    let expires_text = chrono::DateTime::from_timestamp(expires, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    env.coupons.push(Coupon {
        code: code.clone(),
        percent,
        amount: amount.as_ref().and_then(|a| match a {
            Value::Money { micros, currency } => {
                Some(format!("{} {}", show_micros(*micros), currency.code()))
            }
            _ => None,
        }),
        expires: expires_text,
        products,
        minimum,
    });
    Ok(Value::record(Record::from_pairs([
        (Arc::from("code"), Value::text(&code)),
        (
            Arc::from("percent"),
            percent.map_or(Value::Missing, Value::Int),
        ),
        (Arc::from("amount"), amount.unwrap_or(Value::Missing)),
        (Arc::from("expires"), Value::DateTime(expires)),
    ])))
}

/// A value as text in the customer's locale and zone (what `{{ value }}` prints).
pub fn print(value: &Value, env: &Env<'_>) -> Result<String, String> {
    Ok(match value {
        Value::Missing => return Err("the value is not set".to_string()),
        Value::Text(text) => text.to_string(),
        Value::Int(n) => locale::integer(*n, env.locale),
        Value::Decimal(micros) => locale::decimal(*micros, env.locale),
        Value::Money { micros, currency } => locale::money(*micros, currency.code(), env.locale),
        Value::Bool(b) => match (env.locale.name().starts_with("it"), b) {
            (true, true) => "sì".to_string(),
            (_, true) => "yes".to_string(),
            (_, false) => "no".to_string(),
        },
        Value::Date(days) => locale::date(date_of(*days)?, env.locale),
        Value::DateTime(at) => {
            let local = env
                .zone
                .timestamp_opt(*at, 0)
                .single()
                .ok_or_else(|| "the instant is out of range".to_string())?;
            locale::datetime(local.naive_local(), env.locale)
        }
        Value::Time(seconds) => {
            let time = NaiveTime::from_num_seconds_from_midnight_opt(*seconds, 0)
                .ok_or_else(|| "the time is out of range".to_string())?;
            locale::time(time, env.locale)
        }
        Value::Duration(seconds) => {
            journey_compiler::bytecode::disasm::duration(seconds.unsigned_abs())
        }
        Value::List(_) => return Err("a list cannot be printed; loop over it".to_string()),
        Value::Record(_) => {
            return Err("a record cannot be printed; print one of its fields".to_string());
        }
    })
}

/// Whether a local date is a yearly anniversary of `day` (29 February counts on 28 February
/// in years without it).
pub fn is_anniversary(day: NaiveDate, on: NaiveDate) -> bool {
    if day.month() == on.month() && day.day() == on.day() {
        return true;
    }
    day.month() == 2
        && day.day() == 29
        && on.month() == 2
        && on.day() == 28
        && NaiveDate::from_ymd_opt(on.year(), 2, 29).is_none()
}
