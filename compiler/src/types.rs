//! The types of the language and the rules that relate them (assignability, display).

use std::fmt;

/// Index of an event or record in [`crate::model::Schemas`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u32);

/// A type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// Text.
    Text,
    /// Whole number.
    Int,
    /// Number with decimals.
    Decimal,
    /// An amount of money.
    Money,
    /// Yes or no.
    Bool,
    /// A calendar day.
    Date,
    /// An instant.
    DateTime,
    /// A time of day.
    Time,
    /// A length of time.
    Duration,
    /// An email address.
    Email,
    /// A web address.
    Url,
    /// A list.
    List(Box<Type>),
    /// An event or record.
    Record(RecordId),
    /// A value that may be missing.
    Optional(Box<Type>),
    /// Accepts anything (builtin signatures only: `list<any>`).
    Any,
    /// The type of an expression that already has an error; accepted everywhere so one mistake
    /// is reported once.
    Unknown,
}

impl Type {
    /// The builtin type with this name.
    pub fn builtin(name: &str) -> Option<Type> {
        Some(match name {
            "text" => Type::Text,
            "int" => Type::Int,
            "decimal" => Type::Decimal,
            "money" => Type::Money,
            "bool" => Type::Bool,
            "date" => Type::Date,
            "datetime" => Type::DateTime,
            "time" => Type::Time,
            "duration" => Type::Duration,
            "email" => Type::Email,
            "url" => Type::Url,
            "any" => Type::Any,
            _ => return None,
        })
    }

    /// Names of the builtin types, for suggestions.
    pub const BUILTIN_NAMES: &'static [&'static str] = &[
        "text", "int", "decimal", "money", "bool", "date", "datetime", "time", "duration", "email",
        "url",
    ];

    /// `T?` of this type (never `T??`).
    pub fn optional(self) -> Type {
        match self {
            Type::Optional(_) | Type::Unknown => self,
            other => Type::Optional(Box::new(other)),
        }
    }

    /// Whether the value may be missing.
    pub fn is_optional(&self) -> bool {
        matches!(self, Type::Optional(_))
    }

    /// The type without `?`.
    pub fn present(&self) -> &Type {
        match self {
            Type::Optional(inner) => inner,
            other => other,
        }
    }

    /// Whether this is `Unknown` (an error was already reported).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Type::Unknown)
    }

    /// Whether it is a number (int or decimal).
    pub fn is_number(&self) -> bool {
        matches!(self, Type::Int | Type::Decimal)
    }

    /// Whether it is text-like (text, email, url).
    pub fn is_textual(&self) -> bool {
        matches!(self, Type::Text | Type::Email | Type::Url)
    }

    /// Whether a value of type `self` can be used where `target` is expected.
    pub fn fits(&self, target: &Type) -> bool {
        match (self, target) {
            (Type::Unknown, _) | (_, Type::Unknown) | (_, Type::Any) => true,
            (a, b) if a == b => true,
            (Type::Int, Type::Decimal) => true,
            (Type::Email | Type::Url, Type::Text) => true,
            (Type::Text, Type::Email | Type::Url) => false,
            (Type::List(a), Type::List(b)) => a.fits(b),
            (Type::Optional(a), Type::Optional(b)) => a.fits(b),
            (a, Type::Optional(b)) => a.fits(b),
            _ => false,
        }
    }

    /// Whether two values can be compared for equality.
    pub fn comparable(&self, other: &Type) -> bool {
        let (a, b) = (self.present(), other.present());
        a.fits(b)
            || b.fits(a)
            || (a.is_number() && b.is_number())
            || (a.is_textual() && b.is_textual())
    }

    /// The type both may be seen as (for `??` and list literals), if any.
    pub fn join(&self, other: &Type) -> Option<Type> {
        if self.fits(other) {
            Some(other.clone())
        } else if other.fits(self) {
            Some(self.clone())
        } else {
            None
        }
    }

    /// Renders the type with record names from `names`.
    pub fn display<'a>(&'a self, names: &'a dyn Fn(RecordId) -> String) -> TypeDisplay<'a> {
        TypeDisplay { ty: self, names }
    }
}

/// A type with the names needed to print it.
pub struct TypeDisplay<'a> {
    ty: &'a Type,
    names: &'a dyn Fn(RecordId) -> String,
}

impl fmt::Display for TypeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            Type::Text => f.write_str("text"),
            Type::Int => f.write_str("int"),
            Type::Decimal => f.write_str("decimal"),
            Type::Money => f.write_str("money"),
            Type::Bool => f.write_str("bool"),
            Type::Date => f.write_str("date"),
            Type::DateTime => f.write_str("datetime"),
            Type::Time => f.write_str("time"),
            Type::Duration => f.write_str("duration"),
            Type::Email => f.write_str("email"),
            Type::Url => f.write_str("url"),
            Type::Any => f.write_str("any"),
            Type::Unknown => f.write_str("unknown"),
            Type::List(inner) => write!(f, "list<{}>", inner.display(self.names)),
            Type::Optional(inner) => write!(f, "{}?", inner.display(self.names)),
            Type::Record(id) => f.write_str(&(self.names)(*id)),
        }
    }
}
