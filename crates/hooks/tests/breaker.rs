//! The circuit breaker through the registry: a native handler that fails opens its breaker, calls
//! are then not made and the failure policy applies (a mandatory authenticator refuses with
//! 0x88), notifications are counted as skipped, and after the cool-down a probe closes it. The
//! clock is tokio's paused test clock, moved by hand.

// Helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use hookmq_codec::ReasonCode;
use hookmq_hooks::*;

/// A handler that counts its calls and fails them while `failing` is set.
struct Flaky {
    calls: Arc<AtomicU64>,
    failing: Arc<AtomicBool>,
    answer: Verdict,
}

impl Handler for Flaky {
    fn call(&self, _event: Arc<Event>) -> HookFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let outcome = if self.failing.load(Ordering::SeqCst) {
            Err(HookError::Failed("raised".into()))
        } else {
            Ok(self.answer.clone())
        };
        Box::pin(std::future::ready(outcome))
    }
}

struct Setup {
    hooks: Arc<Hooks>,
    calls: Arc<AtomicU64>,
    failing: Arc<AtomicBool>,
}

fn breaker() -> BreakerConfig {
    BreakerConfig {
        failures: 3,
        window: Duration::from_secs(10),
        cooldown: Duration::from_secs(5),
    }
}

fn setup(mut spec: HandlerSpec, answer: Verdict) -> Setup {
    let hooks = Arc::new(Hooks::new());
    let calls = Arc::new(AtomicU64::new(0));
    let failing = Arc::new(AtomicBool::new(true));
    spec.breaker = breaker();
    let flaky = Flaky {
        calls: calls.clone(),
        failing: failing.clone(),
        answer,
    };
    hooks.register(spec, Arc::new(flaky)).unwrap();
    Setup {
        hooks,
        calls,
        failing,
    }
}

fn status(hooks: &Hooks) -> (BreakerStatus, PointStats) {
    let h = hooks.handlers().remove(0);
    (h.breaker, h.stats[0].clone())
}

async fn authorize(hooks: &Hooks) -> bool {
    hooks
        .authorize(&client("c"), Action::Publish, &"t".into(), true)
        .await
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_skips_calls_applies_deny_and_a_probe_closes_it() {
    let mut spec = spec("flaky", &[HookPoint::ClientAuthorize]);
    spec.failed_action = FailedAction::Deny;
    spec.dispatch = Dispatch::Inline;
    let s = setup(spec, Verdict::Stop(Value::Allow(true)));
    for _ in 0..3 {
        assert!(!authorize(&s.hooks).await, "a failed call is denied");
    }
    let (b, stats) = status(&s.hooks);
    assert_eq!((b.state, b.opens), (BreakerState::Open, 1));
    assert_eq!((stats.calls, stats.failed, stats.skipped), (3, 3, 0));

    // Open: denied at once, the handler is not called.
    s.failing.store(false, Ordering::SeqCst);
    for _ in 0..5 {
        assert!(!authorize(&s.hooks).await);
    }
    assert_eq!(s.calls.load(Ordering::SeqCst), 3);
    assert_eq!(status(&s.hooks).1.skipped, 5);

    // After the cool-down the probe is made, succeeds and closes the breaker.
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(authorize(&s.hooks).await);
    assert_eq!(s.calls.load(Ordering::SeqCst), 4);
    assert_eq!(status(&s.hooks).0.state, BreakerState::Closed);
    assert!(authorize(&s.hooks).await);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_opens_it_again_and_ignore_lets_the_chain_go_on() {
    let spec = spec("flaky", &[HookPoint::ClientAuthorize]);
    let s = setup(spec, Verdict::Stop(Value::Allow(false)));
    for _ in 0..3 {
        assert!(authorize(&s.hooks).await, "ignore keeps the initial allow");
    }
    assert_eq!(status(&s.hooks).0.state, BreakerState::Open);
    assert!(authorize(&s.hooks).await);
    tokio::time::advance(Duration::from_secs(5)).await;
    // The probe fails: open again for another cool-down.
    assert!(authorize(&s.hooks).await);
    let (b, stats) = status(&s.hooks);
    assert_eq!((b.state, b.opens), (BreakerState::Open, 2));
    assert_eq!((stats.calls, stats.skipped), (4, 1));
    tokio::time::advance(Duration::from_secs(4)).await;
    assert!(authorize(&s.hooks).await);
    assert_eq!(s.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_mandatory_authenticator_with_an_open_breaker_refuses_with_0x88() {
    let mut spec = spec("auth", &[HookPoint::ClientAuthenticate]);
    spec.mandatory = true;
    let s = setup(spec, Verdict::Stop(Value::Allow(true)));
    let allow = AuthResult::Allow { superuser: false };
    // Failed calls (not unavailability) apply failed_action: ignore keeps allow_anonymous.
    for _ in 0..3 {
        let r = s.hooks.authenticate(client("c"), allow).await;
        assert_eq!(r, allow);
    }
    assert_eq!(status(&s.hooks).0.state, BreakerState::Open);
    // Open: a mandatory authenticator is as good as down.
    let r = s.hooks.authenticate(client("c"), allow).await;
    assert_eq!(r, AuthResult::Deny(ReasonCode::SERVER_UNAVAILABLE));
    assert_eq!(s.calls.load(Ordering::SeqCst), 3);
    s.failing.store(false, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(5)).await;
    let r = s.hooks.authenticate(client("c"), allow).await;
    assert_eq!(r, allow);
    assert_eq!(status(&s.hooks).0.state, BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn queued_notifications_are_skipped_while_open() {
    let s = setup(spec("notes", &[HookPoint::SessionCreated]), Verdict::Ignore);
    let connected = || Event::SessionCreated {
        clientinfo: client("c"),
    };
    for _ in 0..3 {
        s.hooks.notify(connected()).await;
    }
    wait_until(|| status(&s.hooks).1.failed == 3).await;
    assert_eq!(status(&s.hooks).0.state, BreakerState::Open);
    for _ in 0..4 {
        s.hooks.notify(connected()).await;
    }
    wait_until(|| status(&s.hooks).1.skipped == 4).await;
    assert_eq!(s.calls.load(Ordering::SeqCst), 3);
    // An operator's reset closes it: calls resume at once.
    assert_eq!(s.hooks.reset_breaker("notes"), Ok(true));
    assert_eq!(
        s.hooks.reset_breaker("nobody"),
        Err(RegistryError::NotFound("nobody".into()))
    );
    s.failing.store(false, Ordering::SeqCst);
    s.hooks.notify(connected()).await;
    wait_until(|| s.calls.load(Ordering::SeqCst) == 4).await;
    assert_eq!(status(&s.hooks).0.state, BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_bad_value_counts_as_a_failure() {
    // A refusal code CONNACK cannot carry is a bad reply.
    let spec = spec("bad", &[HookPoint::ClientAuthenticate]);
    let s = setup(
        spec,
        Verdict::Stop(Value::Auth(AuthResult::Deny(ReasonCode::GRANTED_QOS_1))),
    );
    s.failing.store(false, Ordering::SeqCst);
    let allow = AuthResult::Allow { superuser: false };
    for _ in 0..3 {
        assert_eq!(s.hooks.authenticate(client("c"), allow).await, allow);
    }
    assert_eq!(status(&s.hooks).0.state, BreakerState::Open);
}

/// Yields to the registry's tasks until `done` holds (bounded: the paused clock makes no
/// progress on its own, so a bounded number of turns is the bound).
async fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition not reached");
}
