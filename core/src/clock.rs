//! A clock you can replace: deadlines, idle timeouts, working-day arithmetic and retries take
//! time from [`Clock`], so tests move time instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Source of wall-clock and monotonic time.
pub trait Clock: Send + Sync {
    /// Wall-clock time (receipt dates, deadlines).
    fn now(&self) -> DateTime<Utc>;
    /// Monotonic time (timeouts, backoff).
    fn monotonic(&self) -> Instant;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn monotonic(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to (tests, headless scripts).
#[derive(Debug)]
pub struct ManualClock {
    inner: Mutex<(DateTime<Utc>, Instant)>,
}

impl ManualClock {
    /// Starts at `now`.
    pub fn new(now: DateTime<Utc>) -> ManualClock {
        ManualClock {
            inner: Mutex::new((now, Instant::now())),
        }
    }
    /// Moves both clocks forward.
    pub fn advance(&self, d: Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
        g.1 += d;
    }
    /// Sets the wall clock (the monotonic clock never goes back).
    pub fn set(&self, now: DateTime<Utc>) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).0
    }
    fn monotonic(&self) -> Instant {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-03-20T10:00:00Z")
            .expect("ts")
            .with_timezone(&Utc);
        let c = ManualClock::new(start);
        let m0 = c.monotonic();
        assert_eq!(c.now(), start);
        c.advance(Duration::from_secs(90));
        assert_eq!((c.now() - start).num_seconds(), 90);
        assert_eq!(c.monotonic() - m0, Duration::from_secs(90));
    }
}
