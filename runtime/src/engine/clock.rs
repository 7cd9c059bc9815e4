//! Where the engine's time comes from. The VM never reads a clock; the engine reads this one,
//! once per input, and passes the time in.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, seconds since the epoch.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> i64;

    /// How long `seconds` of this clock last in real time (for sleeping until a timer).
    fn real_time(&self, seconds: i64) -> std::time::Duration {
        std::time::Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
    }
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that runs `speed` times faster than the machine's, from the moment it is made: for
/// trying journeys out (`speed = 3600` makes an hour pass every second). Never for real
/// customers.
#[derive(Clone, Copy, Debug)]
pub struct Fast {
    origin: i64,
    started: std::time::Instant,
    speed: u32,
}

impl Fast {
    /// A clock starting at the machine's time, running `speed` times faster.
    pub fn new(speed: u32) -> Fast {
        Fast {
            origin: SystemClock.now(),
            started: std::time::Instant::now(),
            speed: speed.max(1),
        }
    }
}

impl Clock for Fast {
    fn now(&self) -> i64 {
        let elapsed = self.started.elapsed().as_secs_f64() * f64::from(self.speed);
        self.origin.saturating_add(elapsed as i64)
    }

    fn real_time(&self, seconds: i64) -> std::time::Duration {
        let seconds = u64::try_from(seconds).unwrap_or(0);
        std::time::Duration::from_secs(seconds) / self.speed
    }
}
