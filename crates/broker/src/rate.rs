//! A token bucket for the per-client publish rate limit (`mqtt.max_publish_rate`). Sans-IO: the
//! connection asks it, with the current time, whether a PUBLISH fits, and if not, how long to
//! stop reading from the client.

use std::time::Duration;

use tokio::time::Instant;

/// Tokens refill at `rate` per second up to `rate` (one second of burst).
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket allowing `rate` messages per second.
    pub(crate) fn new(rate: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: now,
        }
    }

    /// Takes one token. `None` if one was available; otherwise how long until the bucket has a
    /// token again (the message is still accepted: the caller pauses reading for that long).
    pub(crate) fn take(&mut self, now: Instant) -> Option<Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            return None;
        }
        Some(Duration::from_secs_f64(-self.tokens / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_rate_holds() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0);
        for _ in 0..10 {
            assert_eq!(b.take(t0), None);
        }
        let wait = b.take(t0).unwrap();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        // After the wait one more fits, and the debt is paid.
        assert_eq!(b.take(t0 + Duration::from_millis(200)), None);
        assert!(b.take(t0 + Duration::from_millis(200)).is_some());
    }
}
