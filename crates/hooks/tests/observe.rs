//! Observe-only points: observers take no part in a valued fold, are never waited for, see the
//! accumulator as it stands at their place in the chain, have their values counted and ignored,
//! and meet their overflow policy (drop and count, or block up to the timeout) on a full queue.

// Helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{answering, client, hanging, message, spec};
use hookmq_hooks::*;
use parking_lot::Mutex;
use tokio::sync::mpsc;

/// A spec whose every point is observe-only.
fn observer(name: &str, points: &[HookPoint]) -> HandlerSpec {
    HandlerSpec::new(
        name,
        "native",
        points.iter().map(|p| PointSpec::observed(*p)).collect(),
    )
}

/// A handler that sends `(client id, payload or topic)` of every event it sees, then answers
/// `verdict`.
fn recording(tx: mpsc::UnboundedSender<(String, String)>, verdict: Verdict) -> Arc<dyn Handler> {
    handler_fn(move |event| {
        let what = match event {
            Event::MessagePublish { message } | Event::MessageDelivered { message, .. } => {
                String::from_utf8_lossy(&message.payload).into_owned()
            }
            Event::ClientAuthorize { topic, .. } => topic.to_string(),
            _ => String::new(),
        };
        let _ = tx.send((event.clientid().to_owned(), what));
        verdict.clone()
    })
}

fn numbered(from: &str, n: usize) -> Arc<Message> {
    let mut m = (*message("t/1")).clone();
    m.from = from.into();
    m.payload = Bytes::from(n.to_string());
    Arc::new(m)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(String, String)>) -> (String, String) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the observer got nothing")
        .expect("observer gone")
}

fn stats(hooks: &Hooks, name: &str) -> PointStats {
    let info = hooks.handlers().into_iter().find(|h| h.spec.name == name);
    info.unwrap().stats[0].clone()
}

#[tokio::test]
async fn an_observer_takes_no_part_in_the_fold_and_its_values_are_counted() {
    let hooks = Hooks::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    // The observer runs first and would deny everything if it could decide.
    let mut watch = observer("watch", &[HookPoint::ClientAuthorize]);
    watch.priority = 10;
    hooks
        .register(watch, recording(tx, Verdict::Stop(Value::Allow(false))))
        .unwrap();
    hooks
        .register(
            spec("acl", &[HookPoint::ClientAuthorize]),
            answering(&log, "acl", Verdict::Continue(Value::Allow(true))),
        )
        .unwrap();
    let allowed = hooks
        .authorize(&client("c"), Action::Subscribe, &"a/b".into(), false)
        .await;
    assert!(allowed, "the observer's deny must not count");
    assert_eq!(*log.lock(), ["acl"]);
    assert_eq!(next(&mut rx).await, ("c".into(), "a/b".into()));
    // The observer's answer is counted as a value ignored, not as a stop.
    tokio::task::yield_now().await;
    let s = stats(&hooks, "watch");
    assert_eq!((s.calls, s.values_ignored, s.stopped), (1, 1, 0));
    assert!(hooks.handlers()[0].spec.points[0].observe);
    // The replay kit and traces say so too.
    let calls = hooks
        .probe(Event::ClientAuthorize {
            clientinfo: client("c"),
            action: Action::Publish,
            topic: "x".into(),
            result: true,
        })
        .await;
    let decisions: Vec<_> = calls
        .iter()
        .map(|c| (c.handler.as_str(), c.decision))
        .collect();
    assert_eq!(decisions, [("watch", "observed"), ("acl", "continue")]);
}

#[tokio::test]
async fn an_observer_sees_the_message_as_it_stands_at_its_place() {
    let hooks = Hooks::new();
    let rewrite = handler_fn(|event| match event {
        Event::MessagePublish { message } => {
            let mut m = (**message).clone();
            m.payload = Bytes::from_static(b"rewritten");
            Verdict::Continue(Value::Message(Arc::new(m)))
        }
        _ => Verdict::Ignore,
    });
    let (before_tx, mut before) = mpsc::unbounded_channel();
    let (after_tx, mut after) = mpsc::unbounded_channel();
    let mut first = observer("first", &[HookPoint::MessagePublish]);
    first.priority = 1;
    let mut last = observer("last", &[HookPoint::MessagePublish]);
    last.priority = -1;
    hooks
        .register(first, recording(before_tx, Verdict::Ignore))
        .unwrap();
    hooks
        .register(spec("rewrite", &[HookPoint::MessagePublish]), rewrite)
        .unwrap();
    hooks
        .register(last, recording(after_tx, Verdict::Stop(Value::Drop)))
        .unwrap();
    let PublishOutcome::Publish(out) = hooks.publish(message("t/1")).await else {
        panic!("an observer's drop must not drop")
    };
    assert_eq!(&out.payload[..], b"rewritten");
    assert_eq!(next(&mut before).await.1, "hello");
    assert_eq!(next(&mut after).await.1, "rewritten");
}

#[tokio::test(start_paused = true)]
async fn the_chain_never_waits_for_an_observer() {
    let hooks = Hooks::new();
    let mut slow = observer("slow", &[HookPoint::MessagePublish]);
    slow.timeout = Duration::from_secs(3600);
    hooks.register(slow, hanging()).unwrap();
    let t0 = tokio::time::Instant::now();
    for n in 0..10 {
        let out = hooks.publish(numbered("p", n)).await;
        assert!(matches!(out, PublishOutcome::Publish(_)));
    }
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn a_full_observer_queue_drops_and_counts() {
    let hooks = Hooks::new();
    let mut s = observer("stuck", &[HookPoint::MessagePublish]);
    s.dispatch = Dispatch::Queued {
        shards: 1,
        capacity: 4,
    };
    s.timeout = Duration::from_secs(3600);
    hooks.register(s, hanging()).unwrap();
    let fired = 100;
    let publishing = async {
        for n in 0..fired {
            hooks.publish(numbered("p", n)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), publishing)
        .await
        .expect("publish waited for an observer");
    tokio::task::yield_now().await;
    let s = stats(&hooks, "stuck");
    // One in the handler at most, four queued, the rest dropped.
    assert!(s.dropped >= fired as u64 - 5, "dropped {}", s.dropped);
    assert!(s.dropped <= fired as u64 - 4, "dropped {}", s.dropped);
}

/// An observer that takes a moment per event, so a small queue stays full.
fn slow_recorder(tx: mpsc::UnboundedSender<(String, String)>) -> Arc<dyn Handler> {
    async_handler_fn(move |event| {
        let tx = tx.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if let Event::MessagePublish { message } | Event::MessageDelivered { message, .. } =
                &*event
            {
                let _ = tx.send((
                    event.clientid().to_owned(),
                    String::from_utf8_lossy(&message.payload).into_owned(),
                ));
            }
            Ok(Verdict::Ignore)
        }
    })
}

#[tokio::test]
async fn block_delivers_every_event_in_order_through_a_tiny_queue() {
    let hooks = Arc::new(Hooks::new());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut s = observer(
        "all",
        &[HookPoint::MessagePublish, HookPoint::MessageDelivered],
    );
    s.dispatch = Dispatch::Queued {
        shards: 2,
        capacity: 2,
    };
    s.overflow = Overflow::Block;
    hooks.register(s, slow_recorder(tx)).unwrap();
    let per_client = 40;
    let publishers: Vec<_> = (0..4)
        .map(|p| {
            let hooks = hooks.clone();
            tokio::spawn(async move {
                for n in 0..per_client {
                    hooks.publish(numbered(&format!("p{p}"), n)).await;
                }
            })
        })
        .collect();
    // Events raised where the broker cannot wait go beyond the bound rather than be dropped.
    for n in per_client..2 * per_client {
        hooks.notify_nowait(Event::MessageDelivered {
            clientinfo: client("d"),
            message: numbered("p", n),
        });
    }
    for p in publishers {
        p.await.unwrap();
    }
    let mut seen: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for _ in 0..5 * per_client {
        let (id, n) = next(&mut rx).await;
        seen.entry(id).or_default().push(n.parse().unwrap());
    }
    for id in ["p0", "p1", "p2", "p3"] {
        assert_eq!(seen[id], (0..per_client).collect::<Vec<_>>(), "{id}");
    }
    assert_eq!(seen["d"], (per_client..2 * per_client).collect::<Vec<_>>());
    let dropped: u64 = hooks.handlers()[0].stats.iter().map(|s| s.dropped).sum();
    assert_eq!(dropped, 0);
}

#[tokio::test(start_paused = true)]
async fn block_waits_at_most_the_handlers_timeout() {
    let hooks = Hooks::new();
    let mut s = observer("stuck", &[HookPoint::MessagePublish]);
    s.dispatch = Dispatch::Queued {
        shards: 1,
        capacity: 1,
    };
    s.overflow = Overflow::Block;
    s.timeout = Duration::from_secs(2);
    hooks.register(s, hanging()).unwrap();
    // The first is taken by the handler (which hangs), the second fills the queue.
    hooks.publish(numbered("p", 0)).await;
    tokio::task::yield_now().await;
    hooks.publish(numbered("p", 1)).await;
    let t0 = tokio::time::Instant::now();
    let out = hooks.publish(numbered("p", 2)).await;
    assert!(matches!(out, PublishOutcome::Publish(_)));
    assert_eq!(t0.elapsed(), Duration::from_secs(2));
    assert_eq!(stats(&hooks, "stuck").dropped, 1);
}

#[tokio::test(start_paused = true)]
async fn an_inline_handler_still_observes_without_waiting() {
    let hooks = Hooks::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    // Answers authorize at once but takes 5 s over every observed publish.
    let handler = async_handler_fn(move |event| {
        let tx = tx.clone();
        let counted = counted.clone();
        async move {
            match &*event {
                Event::ClientAuthorize { .. } => {
                    *counted.lock() += 1;
                    Ok(Verdict::Stop(Value::Allow(false)))
                }
                _ => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    let _ = tx.send((event.clientid().to_owned(), String::new()));
                    Ok(Verdict::Ignore)
                }
            }
        }
    });
    let mut s = HandlerSpec::new(
        "inline",
        "native",
        vec![
            PointSpec::all(HookPoint::ClientAuthorize),
            PointSpec::observed(HookPoint::MessagePublish),
        ],
    );
    s.dispatch = Dispatch::Inline;
    s.timeout = Duration::from_secs(60);
    hooks.register(s, handler).unwrap();
    let t0 = tokio::time::Instant::now();
    hooks.publish(numbered("p", 0)).await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert!(
        !hooks
            .authorize(&client("c"), Action::Publish, &"t".into(), true)
            .await
    );
    assert_eq!(*calls.lock(), 1);
    assert_eq!(next(&mut rx).await.0, "p");
}

#[test]
fn point_spec_builders() {
    let p = PointSpec::observed(HookPoint::MessageAcked).with_topics(["a/#", "b"]);
    assert!(p.observe);
    assert_eq!(p.topics, ["a/#", "b"]);
    assert!(!PointSpec::all(HookPoint::MessageAcked).observe);
    let mut s = spec("x", &[HookPoint::ClientConnected]);
    assert!(!s.observes());
    s.points.push(p);
    assert!(s.observes());
    assert_eq!(s.overflow, Overflow::Drop);
}
