//! The send rate limit: a token bucket of `per_second` tokens, refilled continuously.
//!
//! `Bucket` is the arithmetic on explicit instants (tested without a clock); `RateLimiter`
//! wraps it for concurrent senders on tokio's clock. A sender takes a token at once if one is
//! left, and otherwise reserves the next one and sleeps until it exists, so waiting senders are
//! served in the order they asked.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket: up to `capacity` sends at once, then `per_second` a second.
#[derive(Clone, Debug)]
pub struct Bucket {
    per_second: f64,
    capacity: f64,
    /// Tokens left at `last`; negative when senders have reserved tokens not yet refilled.
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket at `now` (bursts of `per_second` are allowed; 0 is taken as 1).
    pub fn new(per_second: u32, now: Instant) -> Bucket {
        let per_second = f64::from(per_second.max(1));
        Bucket {
            per_second,
            capacity: per_second,
            tokens: per_second,
            last: now,
        }
    }

    /// Takes a token at `now`: how long the caller must wait before sending (zero if a token was
    /// left). The token is reserved either way.
    pub fn take(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = self.last.max(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.per_second)
        }
    }
}

/// A rate limit shared by every delivery of one deliverer.
#[derive(Debug)]
pub struct RateLimiter {
    bucket: Mutex<Bucket>,
}

impl RateLimiter {
    /// At most `per_second` sends a second, in bursts of up to the same number.
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            bucket: Mutex::new(Bucket::new(per_second, Instant::now())),
        }
    }

    /// Waits until the caller may send.
    pub async fn acquire(&self) {
        let wait = self.bucket.lock().await.take(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_micros(10)
    }

    #[test]
    fn a_burst_up_to_the_rate_goes_at_once_then_senders_are_spaced() {
        let start = Instant::now();
        let mut bucket = Bucket::new(4, start);
        for _ in 0..4 {
            assert_eq!(bucket.take(start), Duration::ZERO);
        }
        // The fifth, sixth and seventh reserve the next tokens: 250 ms apart.
        assert!(close(bucket.take(start), ms(250)));
        assert!(close(bucket.take(start), ms(500)));
        assert!(close(bucket.take(start), ms(750)));
    }

    #[test]
    fn the_bucket_refills_over_time_but_not_beyond_its_capacity() {
        let start = Instant::now();
        let mut bucket = Bucket::new(2, start);
        assert_eq!(bucket.take(start), Duration::ZERO);
        assert_eq!(bucket.take(start), Duration::ZERO);
        // Half a second later one token is back.
        assert_eq!(bucket.take(start + ms(500)), Duration::ZERO);
        assert!(close(bucket.take(start + ms(500)), ms(500)));
        // An hour of quiet refills two tokens, not 7200.
        let later = start + Duration::from_secs(3600);
        assert_eq!(bucket.take(later), Duration::ZERO);
        assert_eq!(bucket.take(later), Duration::ZERO);
        assert!(close(bucket.take(later), ms(500)));
    }

    #[test]
    fn zero_is_taken_as_one_a_second() {
        let start = Instant::now();
        let mut bucket = Bucket::new(0, start);
        assert_eq!(bucket.take(start), Duration::ZERO);
        assert!(close(bucket.take(start), Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_spaces_sends_on_tokio_time() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        for _ in 0..15 {
            limiter.acquire().await;
        }
        // Ten at once, then five more at 100 ms each.
        let elapsed = Instant::now() - start;
        assert!(elapsed >= ms(500) && elapsed < ms(510), "{elapsed:?}");
    }
}
