//! Local time in the customer's zone: the next 09:00, the end of quiet hours, the next birthday.
//!
//! Daylight saving time is handled by resolving local times through chrono-tz: a local time that
//! happens twice (clocks go back) is its first occurrence; one that does not exist (clocks go
//! forward) moves to the first valid instant after the gap (02:30 on the spring-forward night is
//! 03:00). The time is always an input: nothing here reads a clock.

use std::str::FromStr;

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// A zone by IANA name.
pub fn zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name.trim()).map_err(|_| {
        format!("`{name}` is not a time zone of the IANA database (such as \"Europe/Rome\")")
    })
}

/// The instant a local date and time stands for in `tz`.
pub fn resolve(tz: Tz, local: NaiveDateTime) -> Option<i64> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(at.timestamp()),
        LocalResult::Ambiguous(first, _) => Some(first.timestamp()),
        LocalResult::None => {
            // In a gap: the first valid minute after it (gaps are at most a few hours).
            (1..=24 * 60).find_map(|minutes| {
                let later = local.checked_add_signed(Duration::minutes(minutes))?;
                match tz.from_local_datetime(&later) {
                    LocalResult::Single(at) => Some(at.timestamp()),
                    LocalResult::Ambiguous(first, _) => Some(first.timestamp()),
                    LocalResult::None => None,
                }
            })
        }
    }
}

fn local_now(tz: Tz, now: i64) -> Option<NaiveDateTime> {
    tz.timestamp_opt(now, 0).single().map(|d| d.naive_local())
}

fn time_of(seconds: u32) -> Option<NaiveTime> {
    NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)
}

/// The first instant at or after `now` when the local clock shows `at` (seconds after
/// midnight), on `weekday` (0 = Monday) if given.
pub fn next_local_time(now: i64, tz: Tz, at: u32, weekday: Option<u8>) -> Option<i64> {
    next_local_time_after_days(now, tz, at, weekday, 0)
}

/// Like [`next_local_time`], but counting from the local date `days` days after today's:
/// `wait 3 days` then `wait until 10:00` is 10:00 on the third day, whatever the hour now.
pub fn next_local_time_after_days(
    now: i64,
    tz: Tz,
    at: u32,
    weekday: Option<u8>,
    days: u32,
) -> Option<i64> {
    let today = local_now(tz, now)?
        .date()
        .checked_add_signed(Duration::days(i64::from(days)))?;
    let time = time_of(at)?;
    (0..=8).find_map(|offset| {
        let day = today.checked_add_signed(Duration::days(offset))?;
        if weekday.is_some_and(|w| u32::from(w) != day.weekday().num_days_from_monday()) {
            return None;
        }
        resolve(tz, day.and_time(time)).filter(|instant| *instant >= now)
    })
}

/// `now` plus a duration. Whole days are calendar days in `tz`: the local time of day stays the
/// same across a daylight-saving change (`wait 7 days` from 10:00 ends at 10:00). Other lengths
/// are exact.
pub fn add(now: i64, seconds: u64, tz: Tz) -> i64 {
    let exact = now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
    if seconds == 0 || !seconds.is_multiple_of(86_400) {
        return exact;
    }
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    local_now(tz, now)
        .and_then(|local| local.checked_add_signed(Duration::days(days)))
        .and_then(|later| resolve(tz, later))
        .unwrap_or(exact)
}

/// If `now` falls in the quiet period `from`–`to` (local, possibly over midnight), when it ends.
pub fn quiet_until(now: i64, tz: Tz, from: u32, to: u32) -> Option<i64> {
    let local = local_now(tz, now)?;
    let time = local.time();
    let seconds = chrono::Timelike::num_seconds_from_midnight(&time);
    let quiet = if from < to {
        seconds >= from && seconds < to
    } else {
        seconds >= from || seconds < to
    };
    if !quiet {
        return None;
    }
    next_local_time(now, tz, to, None)
}

/// The next instant after `after` on an anniversary of `day` at local time `at`.
pub fn next_anniversary(after: i64, tz: Tz, day: NaiveDate, at: u32) -> Option<i64> {
    let today = local_now(tz, after)?.date();
    let time = time_of(at)?;
    // Walk the years: this year's date, or next year's.
    for year in today.year()..=today.year() + 8 {
        // Only 29 February can be missing from a year: it is kept on 28 February.
        let candidate = match NaiveDate::from_ymd_opt(year, day.month(), day.day()) {
            Some(candidate) => candidate,
            None => NaiveDate::from_ymd_opt(year, 2, 28)?,
        };
        if let Some(instant) = resolve(tz, candidate.and_time(time))
            && instant > after
        {
            return Some(instant);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        tz.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().timestamp()
    }

    fn show(tz: Tz, instant: i64) -> String {
        tz.timestamp_opt(instant, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    #[test]
    fn nine_oclock_on_a_dst_change_day_is_nine_local() {
        let rome = zone("Europe/Rome").unwrap();
        // 29 March 2026: clocks go forward at 02:00.
        let now = at(rome, 2026, 3, 28, 22, 0);
        let next = next_local_time(now, rome, 9 * 3600, None).unwrap();
        assert_eq!(show(rome, next), "2026-03-29 09:00 CEST");
        // 25 October 2026: clocks go back at 03:00.
        let now = at(rome, 2026, 10, 24, 22, 0);
        let next = next_local_time(now, rome, 9 * 3600, None).unwrap();
        assert_eq!(show(rome, next), "2026-10-25 09:00 CET");
    }

    #[test]
    fn a_time_that_does_not_exist_moves_past_the_gap() {
        let rome = zone("Europe/Rome").unwrap();
        let now = at(rome, 2026, 3, 28, 22, 0);
        let next = next_local_time(now, rome, 2 * 3600 + 30 * 60, None).unwrap();
        assert_eq!(show(rome, next), "2026-03-29 03:00 CEST");
    }

    #[test]
    fn a_repeated_time_is_its_first_occurrence() {
        let rome = zone("Europe/Rome").unwrap();
        let now = at(rome, 2026, 10, 24, 22, 0);
        let next = next_local_time(now, rome, 2 * 3600 + 30 * 60, None).unwrap();
        assert_eq!(show(rome, next), "2026-10-25 02:30 CEST");
    }

    #[test]
    fn weekdays_and_quiet_hours_over_midnight() {
        let rome = zone("Europe/Rome").unwrap();
        // Wednesday 25 November 2026, 15:00: next Saturday 10:00.
        let now = at(rome, 2026, 11, 25, 15, 0);
        let next = next_local_time(now, rome, 10 * 3600, Some(5)).unwrap();
        assert_eq!(show(rome, next), "2026-11-28 10:00 CET");
        let late = at(rome, 2026, 11, 25, 22, 30);
        let end = quiet_until(late, rome, 21 * 3600, 8 * 3600).unwrap();
        assert_eq!(show(rome, end), "2026-11-26 08:00 CET");
        let early = at(rome, 2026, 11, 26, 6, 0);
        let end = quiet_until(early, rome, 21 * 3600, 8 * 3600).unwrap();
        assert_eq!(show(rome, end), "2026-11-26 08:00 CET");
        assert_eq!(quiet_until(now, rome, 21 * 3600, 8 * 3600), None);
    }

    #[test]
    fn whole_days_keep_the_local_time_across_dst() {
        let rome = zone("Europe/Rome").unwrap();
        let now = at(rome, 2026, 10, 22, 10, 0);
        assert_eq!(
            show(rome, add(now, 7 * 86_400, rome)),
            "2026-10-29 10:00 CET"
        );
        assert_eq!(show(rome, add(now, 3600, rome)), "2026-10-22 11:00 CEST");
        let evening = at(rome, 2026, 11, 23, 15, 0);
        let next = next_local_time_after_days(evening, rome, 10 * 3600, None, 3).unwrap();
        assert_eq!(show(rome, next), "2026-11-26 10:00 CET");
    }

    #[test]
    fn a_leap_day_birthday_is_kept_on_28_february() {
        let rome = zone("Europe/Rome").unwrap();
        let born = NaiveDate::from_ymd_opt(1996, 2, 29).unwrap();
        let now = at(rome, 2026, 12, 1, 12, 0);
        let next = next_anniversary(now, rome, born, 9 * 3600).unwrap();
        assert_eq!(show(rome, next), "2027-02-28 09:00 CET");
        let now = at(rome, 2027, 12, 1, 12, 0);
        let next = next_anniversary(now, rome, born, 9 * 3600).unwrap();
        assert_eq!(show(rome, next), "2028-02-29 09:00 CET");
    }
}
