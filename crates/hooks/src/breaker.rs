//! The circuit breaker every registered handler has, whatever its driver: after
//! `failures` failed calls (timeouts, unavailable, failed, bad replies) within `window`, the
//! breaker opens and the registry stops calling the handler — the chain applies the handler's
//! failure policy at once, notifications are counted as skipped — until `cooldown` has passed;
//! then one probe call goes through (half-open): its success closes the breaker, its failure
//! opens it again for another cool-down.
//!
//! The state machine is sans-IO: every method takes the current time, so the tests drive it
//! with a clock of their own. The dispatcher (`dispatch.rs`) asks [`Breaker::admit`] before each
//! call and reports the outcome; the chain reports values it could not act on. While the breaker
//! is closed and no failure is pending, a call costs one atomic load.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// The text of the [`crate::HookError::Unavailable`] a call gets while its handler's breaker is
/// open (so a mandatory authenticator refuses with 0x88, as when it is down).
pub const BREAKER_OPEN: &str = "circuit breaker open";

/// When a handler's breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failed calls within `window` that open the breaker; 0 disables it.
    pub failures: u32,
    /// The sliding window the failures are counted in.
    pub window: Duration,
    /// How long an open breaker skips calls before it lets one probe call through.
    pub cooldown: Duration,
}

impl BreakerConfig {
    /// The breaker's default: disabled (`failures = 0`), with a 10 s window and a 5 s cool-down
    /// once `failures` is set.
    pub const DEFAULT: BreakerConfig = BreakerConfig {
        failures: 0,
        window: Duration::from_secs(10),
        cooldown: Duration::from_secs(5),
    };

    /// Whether the breaker can open at all.
    pub fn enabled(&self) -> bool {
        self.failures > 0
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig::DEFAULT
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls are made; failures are counted.
    Closed,
    /// Calls are skipped until the cool-down ends.
    Open,
    /// The cool-down ended: one probe call is (or is about to be) under way; others are skipped.
    HalfOpen,
}

impl BreakerState {
    /// The name used in metrics, listings and logs: `closed`, `open`, `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// The value of the Prometheus gauge: 0 closed, 1 open, 2 half-open.
    pub fn gauge(self) -> u8 {
        self as u8
    }

    fn from_u8(v: u8) -> BreakerState {
        match v {
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the dispatcher may do with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Make the call (breaker closed or disabled).
    Call,
    /// Make the call as the half-open probe; its outcome decides the state.
    Probe,
    /// Do not call: the breaker is open.
    Skip,
}

/// A snapshot of a breaker for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerStatus {
    /// Its configuration.
    pub config: BreakerConfig,
    /// Where it stands.
    pub state: BreakerState,
    /// How many times it opened (probe failures included) since the handler was registered.
    pub opens: u64,
    /// Failures counted in the current window (closed state).
    pub recent_failures: u32,
}

/// What the lock guards.
#[derive(Debug, Default)]
struct Inner {
    /// Times of the failures still inside the window (at most `failures` kept).
    failures: VecDeque<Instant>,
    /// When the breaker last opened.
    opened_at: Option<Instant>,
    /// A half-open probe is under way.
    probing: bool,
}

/// One handler's breaker.
#[derive(Debug)]
pub struct Breaker {
    handler: String,
    config: BreakerConfig,
    /// A [`BreakerState`], readable without the lock.
    state: AtomicU8,
    opens: AtomicU64,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker for the handler named `handler` (the name is for the logs).
    pub fn new(handler: impl Into<String>, config: BreakerConfig) -> Breaker {
        Breaker {
            handler: handler.into(),
            config,
            state: AtomicU8::new(BreakerState::Closed as u8),
            opens: AtomicU64::new(0),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether it can open at all (`failures` > 0).
    pub fn enabled(&self) -> bool {
        self.config.enabled()
    }

    /// Where it stands.
    pub fn state(&self) -> BreakerState {
        BreakerState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Its configuration, state and counters.
    pub fn status(&self) -> BreakerStatus {
        let inner = self.inner.lock();
        BreakerStatus {
            config: self.config,
            state: self.state(),
            opens: self.opens.load(Ordering::Relaxed),
            recent_failures: u32::try_from(inner.failures.len()).unwrap_or(u32::MAX),
        }
    }

    /// Whether a call may be made at `now`. An open breaker whose cool-down has passed turns
    /// half-open and admits this call as the probe; a [`Admission::Probe`] must be answered by
    /// [`Breaker::success`], [`Breaker::failure`] or [`Breaker::abandon`].
    pub(crate) fn admit(&self, now: Instant) -> Admission {
        if !self.config.enabled() || self.state() == BreakerState::Closed {
            return Admission::Call;
        }
        let mut inner = self.inner.lock();
        match self.state() {
            BreakerState::Closed => Admission::Call,
            BreakerState::Open => {
                let ready = inner
                    .opened_at
                    .is_none_or(|at| now.saturating_duration_since(at) >= self.config.cooldown);
                if !ready {
                    return Admission::Skip;
                }
                inner.probing = true;
                self.set(BreakerState::Open, BreakerState::HalfOpen);
                Admission::Probe
            }
            BreakerState::HalfOpen if !inner.probing => {
                inner.probing = true;
                Admission::Probe
            }
            BreakerState::HalfOpen => Admission::Skip,
        }
    }

    /// Whether a call at `now` would be skipped, without taking the probe: open and cooling
    /// down, or half-open with the probe under way.
    pub(crate) fn skips(&self, now: Instant) -> bool {
        let inner = self.inner.lock();
        match self.state() {
            BreakerState::Closed => false,
            BreakerState::Open => inner
                .opened_at
                .is_some_and(|at| now.saturating_duration_since(at) < self.config.cooldown),
            BreakerState::HalfOpen => inner.probing,
        }
    }

    /// A call admitted as `admission` answered. The probe's success closes the breaker; an
    /// ordinary call's success changes nothing (failures leave the window by age).
    pub(crate) fn success(&self, admission: Admission) {
        if admission != Admission::Probe {
            return;
        }
        let mut inner = self.inner.lock();
        inner.probing = false;
        inner.failures.clear();
        if self.state() == BreakerState::HalfOpen {
            self.set(BreakerState::HalfOpen, BreakerState::Closed);
        }
    }

    /// A call admitted as `admission` failed at `now` (or its answer could not be used). The
    /// probe's failure opens the breaker again; in the closed state the `failures`-th failure
    /// within the window opens it. Late outcomes of calls made before it opened are not counted.
    pub(crate) fn failure(&self, admission: Admission, now: Instant) {
        if !self.config.enabled() || admission == Admission::Skip {
            return;
        }
        let mut inner = self.inner.lock();
        let state = self.state();
        if admission == Admission::Probe {
            inner.probing = false;
            if state == BreakerState::HalfOpen {
                self.trip(&mut inner, now, state);
            }
            return;
        }
        if state != BreakerState::Closed {
            return;
        }
        while inner
            .failures
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) > self.config.window)
        {
            inner.failures.pop_front();
        }
        inner.failures.push_back(now);
        if inner.failures.len() >= self.config.failures as usize {
            self.trip(&mut inner, now, state);
        }
    }

    /// A call that answered (and was counted a success) gave a value the broker could not act
    /// on: one more failure in the window.
    pub(crate) fn bad_value(&self, now: Instant) {
        self.failure(Admission::Call, now);
    }

    /// The probe admitted as `admission` ended without an outcome (its caller went away): the
    /// next call becomes the probe.
    pub(crate) fn abandon(&self, admission: Admission) {
        if admission == Admission::Probe {
            self.inner.lock().probing = false;
        }
    }

    /// Closes the breaker now, whatever its state (an operator's reset). True if it was not
    /// closed.
    pub fn reset(&self) -> bool {
        let mut inner = self.inner.lock();
        inner.failures.clear();
        inner.probing = false;
        inner.opened_at = None;
        let state = self.state();
        if state == BreakerState::Closed {
            return false;
        }
        self.set(state, BreakerState::Closed);
        true
    }

    fn trip(&self, inner: &mut Inner, now: Instant, from: BreakerState) {
        inner.failures.clear();
        inner.opened_at = Some(now);
        self.opens.fetch_add(1, Ordering::Relaxed);
        self.set(from, BreakerState::Open);
    }

    /// Stores a transition (under the lock) and logs it once: a handler that keeps failing is
    /// the broker's deployment's fault, not a peer's, hence warn.
    fn set(&self, from: BreakerState, to: BreakerState) {
        self.state.store(to as u8, Ordering::Relaxed);
        match to {
            BreakerState::Open => tracing::warn!(
                handler = %self.handler, %from, failures = self.config.failures,
                window = ?self.config.window, cooldown = ?self.config.cooldown,
                "hook circuit breaker opened: calls skipped, failure policy applied"
            ),
            BreakerState::HalfOpen => tracing::warn!(
                handler = %self.handler, %from, "hook circuit breaker half-open: probing"
            ),
            BreakerState::Closed => tracing::warn!(
                handler = %self.handler, %from, "hook circuit breaker closed: calls resume"
            ),
        }
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
