//! When to try a temporarily failed delivery again, and when to give up.
//!
//! RFC 5321 §4.5.4.1 asks a sender to wait at least 30 minutes between attempts and to give up
//! after four to five days. Marketing and transactional mail is better served by a few quick
//! attempts first (most 4xx answers are greylisting or a relay restarting, gone in minutes), then
//! the RFC's slower pace:
//!
//! | after attempt | wait    | next attempt at (since the first) |
//! |---------------|---------|-----------------------------------|
//! | 1             | 1 min   | 1 min                             |
//! | 2             | 5 min   | 6 min                             |
//! | 3             | 30 min  | 36 min                            |
//! | 4             | 1 h     | 1 h 36 min                        |
//! | 5             | 2 h     | 3 h 36 min                        |
//! | 6, 7, …       | 4 h     | 7 h 36 min, 11 h 36 min, …        |
//!
//! No attempt is made later than 4 days after the first: the last one is attempt 29, at
//! 3 days 23 h 36 min; after it `next_attempt` says `None` and the message becomes a dead letter.

use std::time::Duration;

/// No attempt starts later than this after the first one.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(4 * 24 * 3600);

const MINUTE: u64 = 60;

/// The waits after attempts 1 to 5; every later wait is [`LATER_WAIT`].
const FIRST_WAITS: [u64; 5] = [MINUTE, 5 * MINUTE, 30 * MINUTE, 60 * MINUTE, 120 * MINUTE];

/// The wait after attempt 6 and every later one.
const LATER_WAIT: u64 = 240 * MINUTE;

/// How long to wait after `attempt` failed attempts (1 after the first) before the next one, or
/// `None` to give up. `attempt` 0 (nothing tried yet) waits nothing.
pub fn next_attempt(attempt: u32) -> Option<Duration> {
    if attempt == 0 {
        return Some(Duration::ZERO);
    }
    let wait = wait_after(attempt);
    let next_at = since_first(attempt).saturating_add(wait);
    (next_at <= GIVE_UP_AFTER.as_secs()).then_some(Duration::from_secs(wait))
}

/// The wait after attempt `attempt` (1-based), ignoring the give-up limit.
fn wait_after(attempt: u32) -> u64 {
    let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
    FIRST_WAITS.get(index).copied().unwrap_or(LATER_WAIT)
}

/// Seconds from the first attempt to attempt `attempt` (1-based).
fn since_first(attempt: u32) -> u64 {
    let before = u64::from(attempt.saturating_sub(1));
    let quick: u64 = FIRST_WAITS
        .iter()
        .take(usize::try_from(before).unwrap_or(usize::MAX))
        .sum();
    let slow = before.saturating_sub(FIRST_WAITS.len() as u64);
    quick.saturating_add(slow.saturating_mul(LATER_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(m: u64) -> Option<Duration> {
        Some(Duration::from_secs(m * 60))
    }

    #[test]
    fn quick_attempts_first_then_every_four_hours() {
        assert_eq!(next_attempt(0), Some(Duration::ZERO));
        assert_eq!(next_attempt(1), minutes(1));
        assert_eq!(next_attempt(2), minutes(5));
        assert_eq!(next_attempt(3), minutes(30));
        assert_eq!(next_attempt(4), minutes(60));
        assert_eq!(next_attempt(5), minutes(120));
        for attempt in 6..=28 {
            assert_eq!(next_attempt(attempt), minutes(240), "attempt {attempt}");
        }
    }

    #[test]
    fn gives_up_within_four_days() {
        assert_eq!(next_attempt(29), None);
        assert_eq!(next_attempt(30), None);
        assert_eq!(next_attempt(u32::MAX), None);
        // The last attempt, 29, starts 3 days 23 h 36 min after the first.
        let mut elapsed = Duration::ZERO;
        let mut attempt = 1;
        while let Some(wait) = next_attempt(attempt) {
            elapsed += wait;
            attempt += 1;
        }
        assert_eq!(attempt, 29);
        assert_eq!(elapsed, Duration::from_secs(((3 * 24 + 23) * 60 + 36) * 60));
        assert!(elapsed <= GIVE_UP_AFTER);
    }

    #[test]
    fn waits_never_shrink_and_respect_rfc_5321_after_the_quick_start() {
        let waits: Vec<Duration> = (1..29).filter_map(next_attempt).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert!(
            waits
                .iter()
                .skip(2)
                .all(|w| *w >= Duration::from_secs(30 * 60))
        );
    }
}
