//! Values: what expressions compute and what instances keep. Part of the bytecode format
//! (constants) and of the instance state the runtime stores, so its encoding is a contract.
//!
//! Numbers with decimals and money are fixed point (millionths), never floating point.
//! Records are keyed by field name, so a customer profile or a kept event payload means the same
//! under every version of a program.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Fixed-point scale of [`Value::Decimal`] and [`Value::Money`]: millionths.
pub const MICROS: i64 = 1_000_000;

/// A three-letter ISO 4217 currency code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Currency(pub [u8; 3]);

impl Currency {
    /// The code from text such as `EUR` (three ASCII letters, upper-cased).
    pub fn parse(code: &str) -> Option<Currency> {
        let bytes = code.as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Some(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => None,
        }
    }

    /// The code as text.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

/// A runtime value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum Value {
    /// An optional value that is not set, or a field absent from an event.
    #[default]
    Missing,
    /// Yes or no.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with decimals, in millionths.
    Decimal(i64),
    /// An amount in millionths of the currency unit.
    Money {
        /// Millionths of the unit (19.90 EUR is 19_900_000).
        micros: i64,
        /// The currency.
        currency: Currency,
    },
    /// Text (also emails and web addresses).
    Text(Arc<str>),
    /// A calendar day, as days since 1 January of year 1 (chrono's `num_days_from_ce`).
    Date(i32),
    /// An instant, as seconds since the Unix epoch (UTC).
    DateTime(i64),
    /// A time of day, as seconds after midnight.
    Time(u32),
    /// A length of time in seconds.
    Duration(i64),
    /// A list.
    List(#[serde(deserialize_with = "super::depth::nested")] Arc<Vec<Value>>),
    /// A record or an event: fields by name, sorted by name.
    Record(#[serde(deserialize_with = "super::depth::nested")] Arc<Record>),
}

/// Up to this many fields a record is searched from the start (most records, the customer's
/// profile among them); longer ones by halves.
const LINEAR_LOOKUP: usize = 24;

/// The fields of a record, sorted by name (lookups are a binary search, or a scan when short).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Record {
    /// `(name, value)` pairs sorted by name, each name once.
    pub fields: Vec<(Arc<str>, Value)>,
}

impl Record {
    /// A record from pairs in any order (a later duplicate wins).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Arc<str>, Value)>) -> Record {
        let mut record = Record::default();
        for (name, value) in pairs {
            record.set(name, value);
        }
        record
    }

    /// The value of a field, if the record has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        if self.fields.len() <= LINEAR_LOOKUP {
            // A short record: compare lengths (kept beside each name) and only then bytes.
            return self
                .fields
                .iter()
                .find(|(field, _)| field.len() == name.len() && field.as_ref() == name)
                .map(|(_, value)| value);
        }
        self.fields
            .binary_search_by(|(field, _)| compare_names(field, name))
            .ok()
            .and_then(|idx| self.fields.get(idx))
            .map(|(_, value)| value)
    }

    /// Sets a field, adding it if absent.
    pub fn set(&mut self, name: Arc<str>, value: Value) {
        match self
            .fields
            .binary_search_by(|(field, _)| compare_names(field, &name))
        {
            Ok(idx) => {
                if let Some(slot) = self.fields.get_mut(idx) {
                    slot.1 = value;
                }
            }
            Err(idx) => self.fields.insert(idx, (name, value)),
        }
    }
}

/// Orders two names as `str::cmp` does, byte by byte in line: field names are short and
/// mostly differ in their first bytes, where a call to `memcmp` costs more than the comparison
/// (record lookups are most of what the VM compares).
pub fn compare_names(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl Value {
    /// A text value.
    pub fn text(text: &str) -> Value {
        Value::Text(Arc::from(text))
    }

    /// A record value.
    pub fn record(record: Record) -> Value {
        Value::Record(Arc::new(record))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// Whether the value is set.
    pub fn is_set(&self) -> bool {
        !matches!(self, Value::Missing)
    }

    /// The name of the value's type, for runtime error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing => "nothing",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Decimal(_) => "decimal",
            Value::Money { .. } => "money",
            Value::Text(_) => "text",
            Value::Date(_) => "date",
            Value::DateTime(_) => "datetime",
            Value::Time(_) => "time",
            Value::Duration(_) => "duration",
            Value::List(_) => "list",
            Value::Record(_) => "record",
        }
    }

    /// A field of a record value.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Record(record) => record.get(name),
            _ => None,
        }
    }
}

/// Parses a decimal written as text (`19.90`, `-3`, `0.5`) into millionths; `None` if it is not
/// a number or has more than six decimals.
pub fn parse_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 6
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut fraction_micros: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    for _ in fraction.len()..6 {
        fraction_micros *= 10;
    }
    let value = whole.checked_mul(MICROS)?.checked_add(fraction_micros)?;
    Some(if negative { -value } else { value })
}

/// Prints millionths as a plain decimal (`19.9`, `-3`), for disassembly and debugging.
pub fn show_micros(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let whole = abs / MICROS.unsigned_abs();
    let fraction = abs % MICROS.unsigned_abs();
    if fraction == 0 {
        format!("{sign}{whole}")
    } else {
        let digits = format!("{fraction:06}");
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_to_micros_and_back() {
        assert_eq!(parse_micros("19.90"), Some(19_900_000));
        assert_eq!(parse_micros("-3"), Some(-3_000_000));
        assert_eq!(parse_micros(".5"), Some(500_000));
        assert_eq!(parse_micros("1.0000001"), None);
        assert_eq!(parse_micros("abc"), None);
        assert_eq!(parse_micros(""), None);
        assert_eq!(show_micros(19_900_000), "19.9");
        assert_eq!(show_micros(-3_000_000), "-3");
        assert_eq!(show_micros(5), "0.000005");
    }

    #[test]
    fn records_keep_fields_sorted_and_unique() {
        let mut record = Record::from_pairs([
            (Arc::from("b"), Value::Int(2)),
            (Arc::from("a"), Value::Int(1)),
        ]);
        record.set(Arc::from("a"), Value::Int(3));
        assert_eq!(record.get("a"), Some(&Value::Int(3)));
        assert_eq!(record.get("c"), None);
        let names: Vec<&str> = record.fields.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn long_and_short_records_find_every_field() {
        for size in [0, 1, 5, LINEAR_LOOKUP, LINEAR_LOOKUP + 1, 100] {
            let record = Record::from_pairs(
                (0..size).map(|i| (Arc::from(format!("f{i}").as_str()), Value::Int(i as i64))),
            );
            for i in 0..size {
                assert_eq!(
                    record.get(&format!("f{i}")),
                    Some(&Value::Int(i as i64)),
                    "f{i} of {size}"
                );
            }
            assert_eq!(record.get("f"), None);
            assert_eq!(record.get(&format!("f{size}")), None);
        }
    }

    #[test]
    fn names_compare_as_text_does() {
        let names = [
            "",
            "a",
            "ab",
            "abc",
            "b",
            "ba",
            "order_id",
            "order",
            "orders_count",
            "Zed",
            "zed",
            "é",
            "e",
            "ée",
            "\u{10000}",
            "\u{ffff}",
            "a\u{0}",
            "a\u{7f}",
        ];
        for a in names {
            for b in names {
                assert_eq!(compare_names(a, b), a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }
}
