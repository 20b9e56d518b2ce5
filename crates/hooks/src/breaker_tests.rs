//! The breaker's state machine driven by a clock of the test's own: a start instant plus
//! offsets, no sleeping.

use super::*;

fn config(failures: u32) -> BreakerConfig {
    BreakerConfig {
        failures,
        window: Duration::from_secs(10),
        cooldown: Duration::from_secs(5),
    }
}

/// A clock the test moves by hand.
struct Clock(Instant);

impl Clock {
    fn at(&self, secs: f64) -> Instant {
        self.0 + Duration::from_secs_f64(secs)
    }
}

fn clock() -> Clock {
    Clock(Instant::now())
}

/// Fails `n` ordinary calls at `t`.
fn fail(b: &Breaker, n: u32, t: Instant) {
    for _ in 0..n {
        let a = b.admit(t);
        assert_eq!(a, Admission::Call);
        b.failure(a, t);
    }
}

#[test]
fn n_failures_within_the_window_open_it() {
    let c = clock();
    let b = Breaker::new("h", config(3));
    fail(&b, 2, c.at(0.0));
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.status().recent_failures, 2);
    fail(&b, 1, c.at(9.0));
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.status().opens, 1);
    assert_eq!(b.admit(c.at(9.5)), Admission::Skip);
}

#[test]
fn failures_older_than_the_window_do_not_count() {
    let c = clock();
    let b = Breaker::new("h", config(3));
    fail(&b, 2, c.at(0.0));
    // 10.5 s later the first two left the window: this is failure 1 of a new count.
    fail(&b, 1, c.at(10.5));
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.status().recent_failures, 1);
    fail(&b, 1, c.at(11.0));
    assert_eq!(b.state(), BreakerState::Closed);
    fail(&b, 1, c.at(12.0));
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn successes_in_between_do_not_reset_the_count() {
    let c = clock();
    let b = Breaker::new("h", config(2));
    fail(&b, 1, c.at(0.0));
    let a = b.admit(c.at(1.0));
    b.success(a);
    fail(&b, 1, c.at(2.0));
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn after_the_cooldown_one_probe_goes_through_and_its_success_closes_it() {
    let c = clock();
    let b = Breaker::new("h", config(1));
    fail(&b, 1, c.at(0.0));
    assert_eq!(b.admit(c.at(4.9)), Admission::Skip);
    let probe = b.admit(c.at(5.0));
    assert_eq!(probe, Admission::Probe);
    assert_eq!(b.state(), BreakerState::HalfOpen);
    // Only one probe at a time.
    assert_eq!(b.admit(c.at(5.1)), Admission::Skip);
    b.success(probe);
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.admit(c.at(5.2)), Admission::Call);
    assert_eq!(b.status().opens, 1);
}

#[test]
fn a_failed_probe_opens_it_for_another_cooldown() {
    let c = clock();
    let b = Breaker::new("h", config(1));
    fail(&b, 1, c.at(0.0));
    let probe = b.admit(c.at(6.0));
    assert_eq!(probe, Admission::Probe);
    b.failure(probe, c.at(6.5));
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.status().opens, 2);
    // The cool-down counts from the probe's failure.
    assert_eq!(b.admit(c.at(11.0)), Admission::Skip);
    assert_eq!(b.admit(c.at(11.5)), Admission::Probe);
}

#[test]
fn an_abandoned_probe_lets_the_next_call_probe() {
    let c = clock();
    let b = Breaker::new("h", config(1));
    fail(&b, 1, c.at(0.0));
    let probe = b.admit(c.at(5.0));
    b.abandon(probe);
    assert_eq!(b.state(), BreakerState::HalfOpen);
    let next = b.admit(c.at(5.1));
    assert_eq!(next, Admission::Probe);
    b.success(next);
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn late_outcomes_of_calls_made_before_it_opened_change_nothing() {
    let c = clock();
    let b = Breaker::new("h", config(2));
    let early = b.admit(c.at(0.0));
    fail(&b, 2, c.at(0.1));
    assert_eq!(b.state(), BreakerState::Open);
    b.failure(early, c.at(0.2));
    b.success(early);
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.status().opens, 1);
    // Nor does a late ordinary outcome during the half-open probe.
    let probe = b.admit(c.at(5.1));
    b.failure(early, c.at(5.2));
    assert_eq!(b.state(), BreakerState::HalfOpen);
    b.success(probe);
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn zero_failures_disables_it() {
    let c = clock();
    let b = Breaker::new("h", config(0));
    fail(&b, 100, c.at(0.0));
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.status().opens, 0);
    assert!(!BreakerConfig::default().enabled());
}

#[test]
fn reset_closes_an_open_breaker() {
    let c = clock();
    let b = Breaker::new("h", config(1));
    assert!(!b.reset());
    fail(&b, 1, c.at(0.0));
    assert!(b.reset());
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.admit(c.at(0.1)), Admission::Call);
    // After a reset the count starts again.
    assert_eq!(b.status().recent_failures, 0);
}

#[test]
fn states_have_stable_names_and_gauge_values() {
    assert_eq!(
        [
            BreakerState::Closed,
            BreakerState::Open,
            BreakerState::HalfOpen
        ]
        .map(|s| (s.as_str(), s.gauge())),
        [("closed", 0), ("open", 1), ("half_open", 2)]
    );
}

#[test]
fn skips_answers_without_taking_the_probe() {
    let c = clock();
    let b = Breaker::new("h", config(1));
    assert!(!b.skips(c.at(0.0)));
    fail(&b, 1, c.at(0.0));
    assert!(b.skips(c.at(4.0)));
    // Cooled down: not skipped, and asking did not take the probe.
    assert!(!b.skips(c.at(5.0)));
    assert_eq!(b.state(), BreakerState::Open);
    let probe = b.admit(c.at(5.0));
    assert_eq!(probe, Admission::Probe);
    assert!(b.skips(c.at(5.1)));
}
