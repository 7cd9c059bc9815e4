//! Money, dates, times and numbers written the way the customer's locale writes them.
//!
//! Separators, grouping, currency placement, month names and the 12- or 24-hour clock come from
//! glibc's locale data (`pure-rust-locales`, the crate behind chrono's `unstable-locales`); this
//! module only adds what glibc does not say: the long date pattern and the date–time joiner of a
//! few languages, ISO 4217 minor units and a handful of currency symbols.
//!
//! Spaces: where the locale puts a space between the currency symbol and the amount, the space
//! is a regular U+0020, not a no-break space, so emails and tests stay simple.
//! Thousands separators are glibc's own characters (French uses U+202F, a narrow no-break space).
//!
//! Left out: time zones (callers convert instants to the customer's zone first), plural rules,
//! and any I/O: everything here is a pure function of its arguments.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::format::{DelayedFormat, Item, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use pure_rust_locales::locale_match;

/// The locale of customers whose locale is unknown or has no glibc data.
const FALLBACK: chrono::Locale = chrono::Locale::en_US;

/// A customer's locale, such as `it_IT` or `en_US`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale {
    glibc: chrono::Locale,
    /// Glibc's name, `language_TERRITORY`; computed once because the enum has no `&str` getter
    /// (shared, so a copy of a locale does not allocate).
    name: Arc<str>,
}

/// Locales parsed so far on this thread, by tag (customers share a handful of tags).
const PARSED_CACHE_LIMIT: usize = 256;

thread_local! {
    static PARSED: RefCell<HashMap<Box<str>, Locale>> = RefCell::new(HashMap::new());
    /// Strftime patterns parsed once per pattern and locale.
    static PATTERNS: RefCell<HashMap<(&'static str, chrono::Locale), Vec<Item<'static>>>> =
        RefCell::new(HashMap::new());
    /// Dates written out so far, by day and locale (messages print the same few days again and
    /// again: today, tomorrow, delivery dates).
    static DATES: RefCell<HashMap<(NaiveDate, chrono::Locale), String>> =
        RefCell::new(HashMap::new());
}

/// Dates kept per thread before the table is emptied.
const DATES_CACHE_LIMIT: usize = 4096;

impl Locale {
    /// Reads a locale tag such as `it-IT`, `it_IT`, `it_IT.UTF-8`, `en-GB` or `it`; never fails.
    ///
    /// The language is matched case-insensitively and the territory is optional: a bare language
    /// (or a territory glibc has no data for, such as `it-US`) takes the language's main
    /// territory (`it` is `it_IT`, `en` is `en_US`, `pt` is `pt_PT`).
    /// Anything else (`""`, `C`, `xx-YY`) is `en_US`.
    #[must_use]
    pub fn parse(tag: &str) -> Locale {
        let cached = PARSED.with(|cache| cache.try_borrow().ok()?.get(tag).cloned());
        if let Some(locale) = cached {
            return locale;
        }
        let locale = Locale::parse_uncached(tag);
        PARSED.with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                if cache.len() >= PARSED_CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(Box::from(tag), locale.clone());
            }
        });
        locale
    }

    fn parse_uncached(tag: &str) -> Locale {
        let base = tag.trim().split(['.', '@']).next().unwrap_or_default();
        let mut parts = base.split(['-', '_']).filter(|part| !part.is_empty());
        let language = parts.next().unwrap_or_default().to_ascii_lowercase();
        // BCP 47 may put a script before the region (`sr-Latn-RS`): take the first two-letter part.
        let territory = parts
            .find(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase);
        let is_language =
            (2..=3).contains(&language.len()) && language.chars().all(|c| c.is_ascii_lowercase());
        if !is_language {
            return Locale::from_glibc(FALLBACK);
        }
        let mut candidates = Vec::with_capacity(2);
        if let Some(territory) = territory {
            candidates.push(format!("{language}_{territory}"));
        }
        candidates.push(format!("{language}_{}", main_territory(&language)));
        candidates
            .iter()
            .find_map(|name| chrono::Locale::try_from(name.as_str()).ok())
            .map_or_else(|| Locale::from_glibc(FALLBACK), Locale::from_glibc)
    }

    /// Glibc's name of the locale, `language_TERRITORY`: `it_IT`, `en_US`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    fn from_glibc(glibc: chrono::Locale) -> Locale {
        Locale {
            glibc,
            name: Arc::from(glibc.to_string()),
        }
    }

    fn language(&self) -> &str {
        self.name.split('_').next().unwrap_or_default()
    }

    fn territory(&self) -> &str {
        self.name.split('_').nth(1).unwrap_or_default()
    }
}

impl Default for Locale {
    /// `en_US`, the locale of customers whose locale is not known.
    fn default() -> Locale {
        Locale::from_glibc(FALLBACK)
    }
}

/// The territory a bare language tag means; for most languages it is the language in capitals
/// (`it` → `IT`), these are the exceptions glibc has data for.
fn main_territory(language: &str) -> String {
    let territory = match language {
        "en" => "US",
        "ar" => "EG",
        "be" => "BY",
        "bn" => "BD",
        "ca" => "ES",
        "cs" => "CZ",
        "da" => "DK",
        "el" => "GR",
        "et" => "EE",
        "eu" => "ES",
        "fa" => "IR",
        "ga" => "IE",
        "gl" => "ES",
        "he" => "IL",
        "hi" => "IN",
        "hy" => "AM",
        "ja" => "JP",
        "ka" => "GE",
        "kk" => "KZ",
        "ko" => "KR",
        "ms" => "MY",
        "nb" | "nn" => "NO",
        "sl" => "SI",
        "sq" => "AL",
        "sr" => "RS",
        "sv" => "SE",
        "uk" => "UA",
        "ur" => "PK",
        "vi" => "VN",
        "zh" => "CN",
        other => return other.to_ascii_uppercase(),
    };
    territory.to_owned()
}

/// Formats an amount given in millionths of the currency unit (19.90 EUR is `19_900_000`).
///
/// The amount is rounded half away from zero to the currency's ISO 4217 minor units (2 for EUR,
/// USD, GBP, CHF; 0 for JPY; 3 for KWD). Separators, grouping, the side of the symbol and the
/// place of the minus sign come from the locale: Italian `1.234,50 €`, US English `€19.90` and
/// `$1,234.50`, German `-19,90 €`. Known codes print their symbol (EUR `€`, USD `$`, GBP `£`,
/// JPY `¥`, …; CHF stays `CHF`), other codes print themselves in capitals; a letter symbol is
/// always spaced from the digits (`CHF 5.00`).
///
/// Italian is the one deliberate departure from glibc, whose `it_IT` writes `€ 19,90`
/// (`p_cs_precedes` 1): this writes `19,90 €`, as Italian shops and CLDR do.
#[must_use]
pub fn money(amount_micros: i64, currency: &str, locale: &Locale) -> String {
    let trimmed = currency.trim();
    let upper;
    let code = if trimmed.bytes().any(|b| b.is_ascii_lowercase()) {
        upper = trimmed.to_ascii_uppercase();
        upper.as_str()
    } else {
        trimmed
    };
    let minor_digits = minor_units(code);
    let magnitude = round_micros(amount_micros.unsigned_abs(), minor_digits);
    let negative = amount_micros < 0 && magnitude > 0;
    let style = Monetary::of(locale, negative);

    let scale = 10_u64.pow(minor_digits);
    let mut buffer = [0u8; 20];
    let mut number = String::with_capacity(24);
    group_digits_into(
        digits_of(magnitude / scale, &mut buffer),
        style.thousands_sep,
        style.grouping,
        &mut number,
    );
    if minor_digits > 0 {
        number.push_str(style.decimal_point);
        let fraction = digits_of(magnitude % scale, &mut buffer);
        let width = usize::try_from(minor_digits).unwrap_or_default();
        for _ in fraction.len()..width {
            number.push('0');
        }
        number.push_str(fraction);
    }
    let sign = if negative { style.negative_sign } else { "" };
    let mut out = String::with_capacity(number.len() + 16);
    style.place_into(&number, symbol(code), sign, &mut out);
    out
}

/// The decimal digits of `n`, written at the end of `buffer`.
fn digits_of(mut n: u64, buffer: &mut [u8; 20]) -> &str {
    let mut start = buffer.len();
    for slot in buffer.iter_mut().rev() {
        // The remainder is below 10, so the cast keeps it whole.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    buffer
        .get(start..)
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .unwrap_or("0")
}

/// Formats a date with the month written out: Italian `23 novembre 2026`, US English
/// `November 23, 2026`, British English `23 November 2026`, German `23. November 2026`.
///
/// Italian, English, German, French, Spanish, Portuguese and Dutch have a long pattern here;
/// other languages get glibc's numeric date (`D_FMT`), because glibc's month names are in the
/// nominative case, which is wrong inside a date for languages such as Polish or Russian.
#[must_use]
pub fn date(date: NaiveDate, locale: &Locale) -> String {
    let key = (date, locale.glibc);
    let cached = DATES.with(|cache| cache.try_borrow().ok()?.get(&key).cloned());
    if let Some(text) = cached {
        return text;
    }
    let text = date_uncached(date, locale);
    DATES.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if cache.len() >= DATES_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, text.clone());
        }
    });
    text
}

fn date_uncached(date: NaiveDate, locale: &Locale) -> String {
    let pattern = match locale.language() {
        "en" if locale.territory() == "US" => "%B %-d, %Y",
        "en" | "it" | "fr" | "nl" => "%-d %B %Y",
        "de" => "%-d. %B %Y",
        "es" | "pt" => "%-d de %B de %Y",
        _ => locale_match!(locale.glibc => LC_TIME::D_FMT),
    };
    strftime(Some(date), None, pattern, locale)
}

/// Formats a time of day without seconds: `14:05`, or `2:05 PM` where the locale uses a
/// 12-hour clock (glibc's `T_FMT` has `%I`, `%l` or `%r`, as `en_US` does and `en_GB` does not).
#[must_use]
pub fn time(t: NaiveTime, locale: &Locale) -> String {
    strftime(None, Some(t), time_pattern(locale), locale)
}

/// Formats a date and time, joined the way the language joins them: Italian
/// `23 novembre 2026, 14:05`, US English `November 23, 2026 at 2:05 PM`, German
/// `23. November 2026 um 14:05`; other languages join with a space.
///
/// The value is already in the customer's time zone: converting is the caller's job.
#[must_use]
pub fn datetime(dt: NaiveDateTime, locale: &Locale) -> String {
    let joiner = match locale.language() {
        "it" | "es" => ", ",
        "en" => " at ",
        "de" => " um ",
        "fr" => " à ",
        "pt" => " às ",
        "nl" => " om ",
        _ => " ",
    };
    format!(
        "{}{joiner}{}",
        date(dt.date(), locale),
        time(dt.time(), locale)
    )
}

/// Formats a decimal number given in millionths (3.5 is `3_500_000`): up to six decimals,
/// trailing zeros trimmed (`3,5` in Italian, `3` for 3.0), the locale's decimal point.
///
/// The integer part is grouped as in [`integer`]: only from five digits on.
#[must_use]
pub fn decimal(value_micros: i64, locale: &Locale) -> String {
    let magnitude = value_micros.unsigned_abs();
    let mut out = String::new();
    if value_micros < 0 {
        out.push('-');
    }
    out.push_str(&integer_digits(magnitude / 1_000_000, locale));
    let fraction = format!("{:06}", magnitude % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        out.push_str(locale_match!(locale.glibc => LC_NUMERIC::DECIMAL_POINT));
        out.push_str(fraction);
    }
    out
}

/// Formats a whole number with the locale's thousands separator, from five digits on:
/// `2026` stays `2026` (years and four-digit counts read better ungrouped), `12345` is
/// `12.345` in Italian and `12,345` in English.
#[must_use]
pub fn integer(value: i64, locale: &Locale) -> String {
    let digits = integer_digits(value.unsigned_abs(), locale);
    if value < 0 {
        format!("-{digits}")
    } else {
        digits
    }
}

fn integer_digits(magnitude: u64, locale: &Locale) -> String {
    let digits = magnitude.to_string();
    if magnitude < 10_000 {
        return digits;
    }
    group_digits(
        &digits,
        locale_match!(locale.glibc => LC_NUMERIC::THOUSANDS_SEP),
        locale_match!(locale.glibc => LC_NUMERIC::GROUPING),
    )
}

fn time_pattern(locale: &Locale) -> &'static str {
    let t_fmt = locale_match!(locale.glibc => LC_TIME::T_FMT);
    let am_pm = locale_match!(locale.glibc => LC_TIME::AM_PM);
    let twelve_hours = ["%I", "%l", "%r"].iter().any(|spec| t_fmt.contains(spec));
    let has_markers = am_pm.iter().any(|marker| !marker.is_empty());
    if twelve_hours && has_markers {
        "%-I:%M %p"
    } else {
        "%H:%M"
    }
}

/// Runs a strftime pattern with the locale's names; the patterns are this module's own, so the
/// ISO fallback only guards against a formatting error chrono might report.
fn strftime(
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    pattern: &'static str,
    locale: &Locale,
) -> String {
    let mut out = String::with_capacity(32);
    let key = (pattern, locale.glibc);
    // The pattern is parsed once per locale; without the cache (re-entered), it is parsed here.
    let written = PATTERNS.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return None;
        };
        let items = match cache.entry(key) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(
                StrftimeItems::new_with_locale(pattern, locale.glibc)
                    .parse_to_owned()
                    .ok()?,
            ),
        };
        Some(
            write!(
                out,
                "{}",
                DelayedFormat::new_with_locale(date, time, items.iter(), locale.glibc)
            )
            .is_ok(),
        )
    });
    let written = written.unwrap_or_else(|| {
        out.clear();
        let items = StrftimeItems::new_with_locale(pattern, locale.glibc);
        write!(
            out,
            "{}",
            DelayedFormat::new_with_locale(date, time, items, locale.glibc)
        )
        .is_ok()
    });
    if written {
        return out;
    }
    match (date, time) {
        (Some(date), Some(time)) => format!("{date} {}", time.format("%H:%M")),
        (Some(date), None) => date.to_string(),
        (None, Some(time)) => time.format("%H:%M").to_string(),
        (None, None) => String::new(),
    }
}

/// Rounds millionths to `minor_digits` decimals, half away from zero (on the magnitude).
fn round_micros(magnitude: u64, minor_digits: u32) -> u64 {
    let divisor = 10_u64.pow(6_u32.saturating_sub(minor_digits));
    let quotient = magnitude / divisor;
    if (magnitude % divisor) * 2 >= divisor {
        quotient + 1
    } else {
        quotient
    }
}

/// ISO 4217 minor units; the currencies without cents or with mils, every other one has two.
fn minor_units(code: &str) -> u32 {
    match code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// The symbol of a currency; codes whose symbol would be ambiguous or unknown print themselves.
fn symbol(code: &str) -> &str {
    match code {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "JPY" => "¥",
        "INR" => "₹",
        "KRW" => "₩",
        "ILS" => "₪",
        "TRY" => "₺",
        "UAH" => "₴",
        "NGN" => "₦",
        "PHP" => "₱",
        "VND" => "₫",
        other => other,
    }
}

/// Splits ASCII digits into groups, right to left, with glibc's grouping: each entry is the size
/// of the next group, the last one repeats, and an entry of zero or less stops grouping.
fn group_digits(digits: &str, separator: &str, grouping: &[i64]) -> String {
    let mut out = String::with_capacity(digits.len() * 2);
    group_digits_into(digits, separator, grouping, &mut out);
    out
}

/// [`group_digits`], written to the end of `out`.
fn group_digits_into(digits: &str, separator: &str, grouping: &[i64], out: &mut String) {
    if separator.is_empty() {
        out.push_str(digits);
        return;
    }
    // Where each group starts, right to left (a u64 has at most 20 digits).
    let mut starts = [0usize; 24];
    let mut count = 0;
    let mut head = digits.len();
    let mut sizes = grouping.iter();
    let mut size = sizes.next().copied().unwrap_or(0);
    while let Ok(width) = usize::try_from(size) {
        if width == 0 || head <= width || count == starts.len() {
            break;
        }
        head -= width;
        if let Some(slot) = starts.get_mut(count) {
            *slot = head;
        }
        count += 1;
        if let Some(next) = sizes.next() {
            size = *next;
        }
    }
    out.push_str(digits.get(..head).unwrap_or_default());
    for group in (0..count).rev() {
        let start = starts.get(group).copied().unwrap_or_default();
        let end = match group.checked_sub(1) {
            Some(before) => starts.get(before).copied().unwrap_or(digits.len()),
            None => digits.len(),
        };
        out.push_str(separator);
        out.push_str(digits.get(start..end).unwrap_or_default());
    }
}

/// What glibc's `LC_MONETARY` says about one sign of amount in one locale.
struct Monetary {
    decimal_point: &'static str,
    thousands_sep: &'static str,
    grouping: &'static [i64],
    negative_sign: &'static str,
    /// The symbol comes before the number.
    cs_precedes: bool,
    /// POSIX `sep_by_space`: 0 no space, 1 a space between symbol and number, 2 a space between
    /// symbol and sign.
    sep_by_space: i64,
    /// POSIX `sign_posn`: 0 parentheses, 1 sign first, 2 sign last, 3 sign right before the
    /// symbol, 4 sign right after the symbol.
    sign_posn: i64,
}

impl Monetary {
    fn of(locale: &Locale, negative: bool) -> Monetary {
        let glibc = locale.glibc;
        let (cs_precedes, sep_by_space, sign_posn) = if negative {
            (
                locale_match!(glibc => LC_MONETARY::N_CS_PRECEDES),
                locale_match!(glibc => LC_MONETARY::N_SEP_BY_SPACE),
                locale_match!(glibc => LC_MONETARY::N_SIGN_POSN),
            )
        } else {
            (
                locale_match!(glibc => LC_MONETARY::P_CS_PRECEDES),
                locale_match!(glibc => LC_MONETARY::P_SEP_BY_SPACE),
                locale_match!(glibc => LC_MONETARY::P_SIGN_POSN),
            )
        };
        let negative_sign = match locale_match!(glibc => LC_MONETARY::NEGATIVE_SIGN) {
            "" => "-",
            sign => sign,
        };
        let mut style = Monetary {
            decimal_point: locale_match!(glibc => LC_MONETARY::MON_DECIMAL_POINT),
            thousands_sep: locale_match!(glibc => LC_MONETARY::MON_THOUSANDS_SEP),
            grouping: locale_match!(glibc => LC_MONETARY::MON_GROUPING),
            negative_sign,
            cs_precedes: cs_precedes != 0,
            sep_by_space,
            sign_posn,
        };
        // glibc writes `€ 19,90` for it_IT; Italian shops and CLDR write `19,90 €`.
        if glibc == chrono::Locale::it_IT {
            style.cs_precedes = false;
            style.sep_by_space = 1;
        }
        style
    }

    /// Puts number, symbol and sign together by POSIX's rules, at the end of `out`.
    fn place_into(&self, number: &str, symbol: &str, sign: &str, out: &mut String) {
        if symbol.is_empty() {
            out.push_str(sign);
            out.push_str(number);
            return;
        }
        let sign_gap = if self.sep_by_space == 2 && !sign.is_empty() {
            " "
        } else {
            ""
        };
        // The symbol with what sticks to it, and what goes before and after everything.
        let (symbol_part, before, after): ([&str; 3], [&str; 2], [&str; 2]) = match self.sign_posn {
            0 if !sign.is_empty() => ([symbol, "", ""], ["(", ""], [")", ""]),
            2 => ([symbol, "", ""], ["", ""], [sign_gap, sign]),
            3 => ([sign, sign_gap, symbol], ["", ""], ["", ""]),
            4 => ([symbol, sign_gap, sign], ["", ""], ["", ""]),
            _ => ([symbol, "", ""], [sign, sign_gap], ["", ""]),
        };
        // A symbol made of letters never touches the digits (`CHF 5.00`, not `CHF5.00`).
        let edge = if self.cs_precedes {
            symbol_part
                .iter()
                .rev()
                .find_map(|piece| piece.chars().last())
        } else {
            symbol_part.iter().find_map(|piece| piece.chars().next())
        };
        let spaced = self.sep_by_space == 1 || edge.is_some_and(char::is_alphabetic);
        let gap = if spaced { " " } else { "" };
        let pieces = if self.cs_precedes {
            [
                before[0],
                before[1],
                symbol_part[0],
                symbol_part[1],
                symbol_part[2],
                gap,
                number,
            ]
        } else {
            [
                before[0],
                before[1],
                number,
                gap,
                symbol_part[0],
                symbol_part[1],
                symbol_part[2],
            ]
        };
        for piece in pieces.iter().chain(&after) {
            out.push_str(piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn it() -> Locale {
        Locale::parse("it-IT")
    }
    fn us() -> Locale {
        Locale::parse("en-US")
    }
    fn gb() -> Locale {
        Locale::parse("en-GB")
    }
    fn de() -> Locale {
        Locale::parse("de-DE")
    }
    fn fr() -> Locale {
        Locale::parse("fr-FR")
    }
    fn es() -> Locale {
        Locale::parse("es-ES")
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn five_past_two() -> NaiveTime {
        NaiveTime::from_hms_opt(14, 5, 0).unwrap()
    }

    #[test]
    fn parse_accepts_tags_in_either_spelling() {
        assert_eq!(Locale::parse("it-IT").name(), "it_IT");
        assert_eq!(Locale::parse("it_IT").name(), "it_IT");
        assert_eq!(Locale::parse("IT-it").name(), "it_IT");
        assert_eq!(Locale::parse(" it_IT.UTF-8 ").name(), "it_IT");
        assert_eq!(Locale::parse("en-GB").name(), "en_GB");
        assert_eq!(Locale::parse("de-DE").name(), "de_DE");
        assert_eq!(Locale::parse("fr-FR").name(), "fr_FR");
        assert_eq!(Locale::parse("es-ES").name(), "es_ES");
        assert_eq!(Locale::parse("sr-Latn-RS").name(), "sr_RS");
    }

    #[test]
    fn parse_falls_back_to_the_language_then_to_en_us() {
        assert_eq!(Locale::parse("it").name(), "it_IT");
        assert_eq!(Locale::parse("en").name(), "en_US");
        assert_eq!(Locale::parse("pt").name(), "pt_PT");
        assert_eq!(Locale::parse("sv").name(), "sv_SE");
        assert_eq!(Locale::parse("it-US").name(), "it_IT");
        assert_eq!(Locale::parse("xx-YY").name(), "en_US");
        assert_eq!(Locale::parse("C").name(), "en_US");
        assert_eq!(Locale::parse("POSIX").name(), "en_US");
        assert_eq!(Locale::parse("").name(), "en_US");
        assert_eq!(Locale::parse("-_-").name(), "en_US");
        assert_eq!(Locale::parse("klingon").name(), "en_US");
        assert_eq!(Locale::default().name(), "en_US");
    }

    #[test]
    fn money_in_italian() {
        assert_eq!(money(19_900_000, "EUR", &it()), "19,90 €");
        assert_eq!(money(1_234_500_000, "EUR", &it()), "1.234,50 €");
        assert_eq!(money(-19_900_000, "EUR", &it()), "-19,90 €");
        assert_eq!(
            money(1_234_567_890_000_000, "EUR", &it()),
            "1.234.567.890,00 €"
        );
        assert_eq!(money(19_900_000, "EUR", &Locale::parse("it")), "19,90 €");
    }

    #[test]
    fn money_in_english() {
        assert_eq!(money(19_900_000, "EUR", &us()), "€19.90");
        assert_eq!(money(1_234_500_000, "USD", &us()), "$1,234.50");
        assert_eq!(money(-1_234_500_000, "USD", &us()), "-$1,234.50");
        assert_eq!(money(5_000_000, "GBP", &gb()), "£5.00");
        assert_eq!(money(5_000_000, "CHF", &us()), "CHF 5.00");
        assert_eq!(money(-5_000_000, "CHF", &us()), "-CHF 5.00");
    }

    #[test]
    fn money_in_german_french_spanish() {
        assert_eq!(money(19_900_000, "EUR", &de()), "19,90 €");
        assert_eq!(money(-19_900_000, "EUR", &de()), "-19,90 €");
        assert_eq!(money(1_234_500_000, "EUR", &de()), "1.234,50 €");
        assert_eq!(money(1_234_500_000, "EUR", &fr()), "1\u{202f}234,50 €");
        assert_eq!(money(1_234_500_000, "EUR", &es()), "1.234,50 €");
        assert_eq!(money(5_000_000, "CHF", &de()), "5,00 CHF");
    }

    #[test]
    fn money_zero_and_rounding() {
        assert_eq!(money(0, "EUR", &it()), "0,00 €");
        assert_eq!(money(5_000, "EUR", &us()), "€0.01");
        assert_eq!(money(4_999, "EUR", &us()), "€0.00");
        assert_eq!(money(-5_000, "EUR", &us()), "-€0.01");
        // Rounds to zero: no minus sign on nothing.
        assert_eq!(money(-4_999, "EUR", &us()), "€0.00");
        assert_eq!(money(19_995_000, "EUR", &it()), "20,00 €");
        assert_eq!(money(i64::MIN, "EUR", &us()), "-€9,223,372,036,854.78");
        assert_eq!(money(i64::MAX, "EUR", &us()), "€9,223,372,036,854.78");
    }

    #[test]
    fn money_without_minor_units_or_known_symbol() {
        assert_eq!(money(1_234_500_000, "JPY", &us()), "¥1,235");
        assert_eq!(money(1_234_400_000, "jpy", &it()), "1.234 ¥");
        assert_eq!(money(-500_000, "JPY", &us()), "-¥1");
        assert_eq!(money(1_500_000, "KWD", &us()), "KWD 1.500");
        assert_eq!(money(19_900_000, "XYZ", &us()), "XYZ 19.90");
        assert_eq!(money(19_900_000, "XYZ", &it()), "19,90 XYZ");
        assert_eq!(money(19_900_000, "", &it()), "19,90");
    }

    #[test]
    fn money_follows_glibc_sign_positions() {
        // nl_NL: `€ 19,90`, and the sign after the symbol for negative amounts.
        let nl = Locale::parse("nl-NL");
        assert_eq!(money(19_900_000, "EUR", &nl), "€ 19,90");
        assert_eq!(money(-19_900_000, "EUR", &nl), "€ -19,90");
    }

    #[test]
    fn dates() {
        assert_eq!(date(day(), &it()), "23 novembre 2026");
        assert_eq!(date(day(), &us()), "November 23, 2026");
        assert_eq!(date(day(), &gb()), "23 November 2026");
        assert_eq!(date(day(), &de()), "23. November 2026");
        assert_eq!(date(day(), &fr()), "23 novembre 2026");
        assert_eq!(date(day(), &es()), "23 de noviembre de 2026");
        let first = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(date(first, &it()), "1 gennaio 2027");
        assert_eq!(date(first, &us()), "January 1, 2027");
        // No long pattern for Polish: glibc's numeric date.
        assert_eq!(date(day(), &Locale::parse("pl")), "23.11.2026");
    }

    #[test]
    fn times() {
        assert_eq!(time(five_past_two(), &it()), "14:05");
        assert_eq!(time(five_past_two(), &de()), "14:05");
        assert_eq!(time(five_past_two(), &fr()), "14:05");
        assert_eq!(time(five_past_two(), &gb()), "14:05");
        assert_eq!(time(five_past_two(), &us()), "2:05 PM");
        let midnight = NaiveTime::from_hms_opt(0, 0, 59).unwrap();
        assert_eq!(time(midnight, &us()), "12:00 AM");
        assert_eq!(time(midnight, &it()), "00:00");
    }

    #[test]
    fn datetimes() {
        let dt = day().and_time(five_past_two());
        assert_eq!(datetime(dt, &it()), "23 novembre 2026, 14:05");
        assert_eq!(datetime(dt, &us()), "November 23, 2026 at 2:05 PM");
        assert_eq!(datetime(dt, &gb()), "23 November 2026 at 14:05");
        assert_eq!(datetime(dt, &de()), "23. November 2026 um 14:05");
        assert_eq!(datetime(dt, &fr()), "23 novembre 2026 à 14:05");
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(3_500_000, &it()), "3,5");
        assert_eq!(decimal(3_500_000, &us()), "3.5");
        assert_eq!(decimal(3_000_000, &it()), "3");
        assert_eq!(decimal(0, &it()), "0");
        assert_eq!(decimal(1, &us()), "0.000001");
        assert_eq!(decimal(-250_000, &it()), "-0,25");
        assert_eq!(decimal(12_345_678_000_000, &it()), "12.345.678");
        assert_eq!(decimal(1_234_500_000, &it()), "1234,5");
    }

    #[test]
    fn integers() {
        assert_eq!(integer(2026, &it()), "2026");
        assert_eq!(integer(9_999, &us()), "9999");
        assert_eq!(integer(12_345, &it()), "12.345");
        assert_eq!(integer(12_345, &us()), "12,345");
        assert_eq!(integer(1_234_567, &de()), "1.234.567");
        assert_eq!(integer(-12_345, &it()), "-12.345");
        assert_eq!(integer(0, &it()), "0");
        assert_eq!(integer(i64::MIN, &us()), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn grouping_follows_glibc_rules() {
        assert_eq!(group_digits("1234567", ".", &[3, 3]), "1.234.567");
        assert_eq!(group_digits("1234567", ".", &[3]), "1.234.567");
        assert_eq!(group_digits("12345678", ",", &[3, 2]), "1,23,45,678");
        assert_eq!(group_digits("1234567", ".", &[3, -1]), "1234.567");
        assert_eq!(group_digits("1234567", ".", &[0, 0]), "1234567");
        assert_eq!(group_digits("1234567", "", &[3]), "1234567");
        assert_eq!(group_digits("123", ".", &[3]), "123");
    }
}
