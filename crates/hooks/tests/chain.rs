//! Chain semantics with native handlers: fold order, stop, ignore, failure policies, timeouts,
//! topic filters, queue overflow and per-client ordering.

// Helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use common::{answering, client, hanging, message, spec};
use hookmq_codec::{Protocol, ReasonCode, TopicName};
use hookmq_hooks::*;
use parking_lot::Mutex;

#[tokio::test]
async fn authorize_folds_continue_ignore_and_stop_in_priority_order() {
    let hooks = Hooks::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut low = spec("low", &[HookPoint::ClientAuthorize]);
    low.priority = -1;
    hooks
        .register(
            low,
            answering(&log, "low", Verdict::Continue(Value::Allow(true))),
        )
        .unwrap();
    hooks
        .register(
            spec("a", &[HookPoint::ClientAuthorize]),
            answering(&log, "a", Verdict::Continue(Value::Allow(false))),
        )
        .unwrap();
    hooks
        .register(
            spec("b", &[HookPoint::ClientAuthorize]),
            answering(&log, "b", Verdict::Ignore),
        )
        .unwrap();
    let topic = ByteString::from("t");
    // a: false, b: keeps false, low: true.
    assert!(
        hooks
            .authorize(&client("c"), Action::Publish, &topic, true)
            .await
    );
    assert_eq!(*log.lock(), ["a", "b", "low"]);

    // A stop ends the chain before `low`.
    hooks
        .register(
            spec("stop", &[HookPoint::ClientAuthorize]),
            answering(&log, "stop", Verdict::Stop(Value::Allow(false))),
        )
        .unwrap();
    hooks.reorder("stop", Position::Front).unwrap();
    log.lock().clear();
    assert!(
        !hooks
            .authorize(&client("c"), Action::Publish, &topic, true)
            .await
    );
    assert_eq!(*log.lock(), ["stop"]);
    assert_eq!(
        hooks.handler_names(HookPoint::ClientAuthorize),
        ["stop", "a", "b", "low"]
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_kind_is_ignored() {
    let hooks = Hooks::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    hooks
        .register(
            spec("w", &[HookPoint::ClientAuthorize]),
            answering(&log, "w", Verdict::Stop(Value::Drop)),
        )
        .unwrap();
    assert!(
        hooks
            .authorize(&client("c"), Action::Subscribe, &"t".into(), true)
            .await
    );
}

#[tokio::test]
async fn authenticate_maps_booleans_and_keeps_refusal_reasons() {
    let hooks = Hooks::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let deny = AuthResult::Deny(ReasonCode::BAD_USER_NAME_OR_PASSWORD);
    hooks
        .register(
            spec("pw", &[HookPoint::ClientAuthenticate]),
            answering(&log, "pw", Verdict::Stop(Value::Auth(deny))),
        )
        .unwrap();
    assert_eq!(
        hooks
            .authenticate(client("c"), AuthResult::Allow { superuser: false })
            .await,
        deny
    );
    hooks.unregister("pw").unwrap();
    hooks
        .register(
            spec("yes", &[HookPoint::ClientAuthenticate]),
            answering(&log, "yes", Verdict::Continue(Value::Allow(true))),
        )
        .unwrap();
    let denied = AuthResult::Deny(ReasonCode::NOT_AUTHORIZED);
    assert_eq!(
        hooks.authenticate(client("c"), denied).await,
        AuthResult::Allow { superuser: false }
    );
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_handler_denies_or_is_ignored_by_its_policy() {
    for (action, dispatch, expected) in [
        (FailedAction::Deny, Dispatch::Inline, false),
        (FailedAction::Ignore, Dispatch::Inline, true),
        (FailedAction::Deny, Dispatch::default(), false),
        (FailedAction::Ignore, Dispatch::default(), true),
    ] {
        let hooks = Hooks::new();
        let mut s = spec("slow", &[HookPoint::ClientAuthorize]);
        s.timeout = Duration::from_millis(200);
        s.failed_action = action;
        s.dispatch = dispatch;
        hooks.register(s, hanging()).unwrap();
        let start = tokio::time::Instant::now();
        let allowed = hooks
            .authorize(&client("c"), Action::Publish, &"t".into(), true)
            .await;
        assert_eq!(allowed, expected, "{action:?} {dispatch:?}");
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        let stats = &hooks.handlers()[0].stats[0];
        assert_eq!(
            (stats.calls, stats.timed_out),
            (1, 1),
            "{action:?} {dispatch:?}"
        );
    }
}

#[tokio::test]
async fn publish_rewrites_skip_unmatched_filters_and_drops() {
    let hooks = Hooks::new();
    let rewrite = handler_fn(|event| match event {
        Event::MessagePublish { message } => {
            let mut m = (**message).clone();
            m.topic = TopicName::new(format!("rewritten/{}", m.topic)).unwrap();
            m.payload = Bytes::from_static(b"new");
            Verdict::Continue(Value::Message(Arc::new(m)))
        }
        _ => Verdict::Ignore,
    });
    let mut s = spec("rewrite", &[]);
    s.points = vec![PointSpec::all(HookPoint::MessagePublish).with_topics(["in/#"])];
    hooks.register(s, rewrite).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut s = spec("dropper", &[]);
    s.points = vec![PointSpec::all(HookPoint::MessagePublish).with_topics(["rewritten/in/drop"])];
    hooks
        .register(s, answering(&log, "dropper", Verdict::Stop(Value::Drop)))
        .unwrap();

    match hooks.publish(message("in/a")).await {
        PublishOutcome::Publish(m) => {
            assert_eq!(m.topic.as_str(), "rewritten/in/a");
            assert_eq!(&m.payload[..], b"new");
        }
        other => panic!("{other:?}"),
    }
    // The second handler's filter matches the rewritten topic.
    assert_eq!(
        hooks.publish(message("in/drop")).await,
        PublishOutcome::Drop {
            by: "dropper".into()
        }
    );
    // Neither filter matches: untouched.
    let m = message("other");
    assert_eq!(hooks.publish(m.clone()).await, PublishOutcome::Publish(m));
    // $SYS messages skip message hooks.
    let sys = message("$SYS/brokers");
    let mut s = spec("all", &[HookPoint::MessagePublish]);
    s.priority = 10;
    hooks
        .register(s, answering(&log, "all", Verdict::Stop(Value::Drop)))
        .unwrap();
    assert_eq!(
        hooks.publish(sys.clone()).await,
        PublishOutcome::Publish(sys)
    );
    assert_eq!(*log.lock(), ["dropper"]);
}

#[tokio::test]
async fn a_full_notification_queue_drops_and_counts_without_blocking() {
    let hooks = Hooks::new();
    let mut s = spec("stuck", &[HookPoint::ClientConnected]);
    s.dispatch = Dispatch::Queued {
        shards: 1,
        capacity: 4,
    };
    s.timeout = Duration::from_secs(3600);
    hooks.register(s, hanging()).unwrap();
    let c = client("c");
    let conninfo = Arc::new(ConnInfo {
        node: NodeName::default(),
        clientid: "c".into(),
        username: None,
        peer: c.peer,
        sockport: 1883,
        protocol: Protocol::V5,
        keepalive: 60,
        clean_start: true,
        expiry_interval: 0,
        connected_at_ms: 0,
    });
    let fired = 100;
    let notifying = async {
        for _ in 0..fired {
            hooks
                .notify(Event::ClientConnected {
                    clientinfo: c.clone(),
                    conninfo: conninfo.clone(),
                })
                .await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), notifying)
        .await
        .expect("notify blocked");
    // Let the shard task take the first event (it then hangs on it).
    tokio::task::yield_now().await;
    let stats = &hooks.handlers()[0].stats[0];
    // One in the handler at most, four queued, the rest dropped.
    assert!(stats.dropped >= fired - 5, "dropped {}", stats.dropped);
    assert!(stats.dropped <= fired - 4, "dropped {}", stats.dropped);
}

#[tokio::test]
async fn queued_handlers_see_each_clients_events_in_order() {
    let hooks = Arc::new(Hooks::new());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let slow_then_record = async_handler_fn(move |event| {
        let tx = tx.clone();
        async move {
            if let Event::MessageDelivered {
                clientinfo,
                message,
            } = &*event
            {
                // Later events for a client must not overtake earlier ones even if they are quicker.
                let delay = if message.payload.as_ref() == b"0" {
                    20
                } else {
                    1
                };
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let _ = tx.send((
                    clientinfo.clientid.to_string(),
                    String::from_utf8_lossy(&message.payload).into(),
                ));
            }
            Ok(Verdict::Ignore)
        }
    });
    let mut s = spec("rec", &[HookPoint::MessageDelivered]);
    s.dispatch = Dispatch::Queued {
        shards: 4,
        capacity: 64,
    };
    hooks.register(s, slow_then_record).unwrap();
    let clients: Vec<_> = (0..6).map(|i| client(&format!("c{i}"))).collect();
    for n in 0..5 {
        for c in &clients {
            let mut m = (*message("t")).clone();
            m.payload = Bytes::from(n.to_string());
            hooks.notify_nowait(Event::MessageDelivered {
                clientinfo: c.clone(),
                message: Arc::new(m),
            });
        }
    }
    let mut seen = Vec::new();
    while seen.len() < 30 {
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        seen.push(got.expect("events stopped arriving").expect("handler gone"));
    }
    for c in &clients {
        let order: Vec<String> = seen
            .iter()
            .filter(|(id, _)| *id == *c.clientid)
            .map(|(_, n)| n.clone())
            .collect();
        assert_eq!(order, ["0", "1", "2", "3", "4"], "client {}", c.clientid);
    }
}

#[tokio::test]
async fn registry_rejects_duplicates_and_unknown_names() {
    let hooks = Hooks::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    hooks
        .register(
            spec("x", &[HookPoint::SessionCreated]),
            answering(&log, "x", Verdict::Ignore),
        )
        .unwrap();
    assert!(matches!(
        hooks.register(
            spec("x", &[HookPoint::SessionCreated]),
            answering(&log, "x", Verdict::Ignore)
        ),
        Err(RegistryError::Duplicate(_))
    ));
    assert!(matches!(
        hooks.unregister("nope"),
        Err(RegistryError::NotFound(_))
    ));
    assert!(hooks.has(HookPoint::SessionCreated));
    assert!(!hooks.has(HookPoint::SessionResumed));
    hooks.unregister("x").unwrap();
    assert!(!hooks.has(HookPoint::SessionCreated));
}

#[tokio::test(start_paused = true)]
async fn a_slow_call_for_one_client_does_not_hold_up_another_clients_call() {
    let hooks = Arc::new(Hooks::new());
    let slow = async_handler_fn(|event| async move {
        if event.clientid() == "slow" {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        Ok(Verdict::Continue(Value::Allow(true)))
    });
    let mut s = spec("one-shard", &[HookPoint::ClientAuthorize]);
    s.dispatch = Dispatch::Queued {
        shards: 1,
        capacity: 16,
    };
    s.timeout = Duration::from_secs(30);
    hooks.register(s, slow).unwrap();
    let t0 = tokio::time::Instant::now();
    let slow_call = {
        let hooks = hooks.clone();
        tokio::spawn(async move {
            hooks
                .authorize(&client("slow"), Action::Publish, &"t".into(), false)
                .await
        })
    };
    tokio::task::yield_now().await;
    assert!(
        hooks
            .authorize(&client("fast"), Action::Publish, &"t".into(), false)
            .await
    );
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "the fast client waited for the slow one"
    );
    assert!(slow_call.await.unwrap());
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
}

#[tokio::test]
async fn login_keeps_the_grant_of_the_handler_that_let_the_client_in() {
    let grant = Grant {
        superuser: true,
        expire_at_ms: Some(42),
        ..Grant::default()
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    // A grant alone: allowed, superuser, with its terms.
    let hooks = Hooks::new();
    hooks
        .register(
            spec("g", &[HookPoint::ClientAuthenticate]),
            answering(&log, "g", Verdict::Continue(Value::Grant(grant.clone()))),
        )
        .unwrap();
    let deny = AuthResult::Deny(ReasonCode::NOT_AUTHORIZED);
    let login = hooks.login(client("c"), None, deny).await;
    assert_eq!(login.result, AuthResult::Allow { superuser: true });
    assert!(login.decided);
    assert_eq!(login.grant.as_ref(), Some(&grant));
    // A later handler's value replaces the whole accumulator: its plain allow drops the grant.
    hooks
        .register(
            spec("plain", &[HookPoint::ClientAuthenticate]),
            answering(
                &log,
                "plain",
                Verdict::Stop(Value::Auth(AuthResult::Allow { superuser: false })),
            ),
        )
        .unwrap();
    let login = hooks.login(client("c"), None, deny).await;
    assert_eq!(login.result, AuthResult::Allow { superuser: false });
    assert_eq!(login.grant, None);
    // A refusal never carries a grant.
    let hooks = Hooks::new();
    hooks
        .register(
            spec("g", &[HookPoint::ClientAuthenticate]),
            answering(&log, "g", Verdict::Continue(Value::Grant(grant.clone()))),
        )
        .unwrap();
    hooks
        .register(
            spec("no", &[HookPoint::ClientAuthenticate]),
            answering(&log, "no", Verdict::Continue(Value::Allow(false))),
        )
        .unwrap();
    let login = hooks.login(client("c"), None, deny).await;
    assert_eq!(login.result, deny);
    assert_eq!(login.grant, None);
    // Rights are read back only by their issuer.
    let rights = Rights {
        issuer: "jwt".into(),
        data: Arc::new(7u32),
    };
    assert_eq!(rights.get::<u32>("jwt"), Some(&7));
    assert_eq!(rights.get::<u32>("other"), None);
    assert_eq!(rights.get::<u64>("jwt"), None);
}

fn filters(names: &[&str]) -> Vec<(hookmq_codec::TopicFilter, hookmq_codec::SubscriptionOptions)> {
    names
        .iter()
        .map(|n| {
            (
                hookmq_codec::TopicFilter::new(*n).unwrap(),
                Default::default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn subscribe_folds_rewrites_keeps_refusals_and_ignores_a_wrong_count() {
    let hooks = Hooks::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    // First: refuses the first filter and rewrites the second.
    let mut first = spec("first", &[HookPoint::ClientSubscribe]);
    first.priority = 3;
    hooks
        .register(
            first,
            handler_fn(|e| match e {
                Event::ClientSubscribe { filters, .. } => {
                    let mut out: Vec<FilterRequest> = filters
                        .iter()
                        .map(|(f, o)| FilterRequest::new(f.clone(), *o))
                        .collect();
                    out[0] = out[0].clone().refuse(ReasonCode::NOT_AUTHORIZED);
                    out[1].filter = hookmq_codec::TopicFilter::new("b/new").unwrap();
                    Verdict::Continue(Value::Filters(out))
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    // Second: answers one filter too few (ignored).
    let mut second = spec("second", &[HookPoint::ClientSubscribe]);
    second.priority = 2;
    hooks
        .register(
            second,
            handler_fn(|_| Verdict::Continue(Value::Filters(Vec::new()))),
        )
        .unwrap();
    // Third: sees the rewrite, answers everything unrefused (cannot lift the refusal).
    let log = seen.clone();
    hooks
        .register(
            spec("third", &[HookPoint::ClientSubscribe]),
            handler_fn(move |e| match e {
                Event::ClientSubscribe { filters, .. } => {
                    log.lock()
                        .extend(filters.iter().map(|(f, _)| f.as_str().to_owned()));
                    Verdict::Stop(Value::Filters(
                        filters
                            .iter()
                            .map(|(f, o)| FilterRequest::new(f.clone(), *o))
                            .collect(),
                    ))
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    let out = hooks
        .subscribe(&client("c"), &Default::default(), filters(&["a", "b"]))
        .await;
    assert_eq!(*seen.lock(), ["a", "b/new"]);
    assert_eq!(out[0].refused, Some(ReasonCode::NOT_AUTHORIZED));
    assert_eq!((out[1].filter.as_str(), out[1].refused), ("b/new", None));
}

#[tokio::test]
async fn publish_consume_ends_the_chain_and_a_bad_message_applies_the_policy() {
    let hooks = Hooks::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut bad = spec("bad", &[HookPoint::MessagePublish]);
    bad.priority = 2;
    bad.failed_action = FailedAction::Ignore;
    hooks
        .register(
            bad,
            handler_fn(|e| match e {
                Event::MessagePublish { message } => {
                    let mut m = (**message).clone();
                    m.properties
                        .push(hookmq_codec::Property::SubscriptionIdentifier(4));
                    Verdict::Continue(Value::Message(Arc::new(m)))
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    hooks
        .register(
            spec("consume", &[HookPoint::MessagePublish]),
            answering(&log, "consume", Verdict::Stop(Value::Consume)),
        )
        .unwrap();
    let m = message("t/1");
    assert_eq!(
        hooks.publish(m).await,
        PublishOutcome::Consume {
            by: "consume".into()
        }
    );
    assert_eq!(*log.lock(), ["consume"]);
    // Under "deny", the same bad answer drops the message.
    let hooks = Hooks::new();
    let mut bad = spec("bad", &[HookPoint::MessagePublish]);
    bad.failed_action = FailedAction::Deny;
    hooks
        .register(
            bad,
            handler_fn(|e| match e {
                Event::MessagePublish { message } => {
                    let mut m = (**message).clone();
                    m.properties
                        .push(hookmq_codec::Property::PayloadFormatIndicator(7));
                    Verdict::Continue(Value::Message(Arc::new(m)))
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    assert!(matches!(
        hooks.publish(message("t/1")).await,
        PublishOutcome::Drop { .. }
    ));
}

#[tokio::test]
async fn login_carries_refusal_texts_and_checks_assigned_ids_per_handler() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let refusal = Refusal {
        code: ReasonCode::BANNED,
        reason_string: Some("not today".into()),
        user_properties: vec![UserProperty::new("k", "v")],
    };
    let hooks = Hooks::new();
    hooks
        .register(
            spec("no", &[HookPoint::ClientAuthenticate]),
            answering(&log, "no", Verdict::Stop(Value::Refuse(refusal.clone()))),
        )
        .unwrap();
    let allow = AuthResult::Allow { superuser: false };
    let login = hooks.login(client("c"), None, allow).await;
    assert_eq!(login.result, AuthResult::Deny(ReasonCode::BANNED));
    assert_eq!(login.refusal, Some(refusal));

    // An assignment the broker's rules refuse is the handler's bad reply: under "ignore" the
    // next handler decides.
    let assigning = |id: &str| Grant {
        connack: Box::new(ConnackTerms {
            assigned_client_id: Some(id.into()),
            ..ConnackTerms::default()
        }),
        ..Grant::default()
    };
    let hooks = Hooks::new();
    let mut first = spec("taken", &[HookPoint::ClientAuthenticate]);
    first.priority = 10;
    hooks
        .register(
            first,
            answering(
                &log,
                "taken",
                Verdict::Stop(Value::Grant(assigning("taken"))),
            ),
        )
        .unwrap();
    hooks
        .register(
            spec("free", &[HookPoint::ClientAuthenticate]),
            answering(&log, "free", Verdict::Stop(Value::Grant(assigning("free")))),
        )
        .unwrap();
    let rules = |id: &str| {
        if id == "taken" {
            Err(RightError::Value {
                property: "Assigned Client Identifier",
                why: "taken".into(),
            })
        } else {
            Ok(())
        }
    };
    let deny = AuthResult::Deny(ReasonCode::NOT_AUTHORIZED);
    let login = hooks.login_assigning(client("c"), None, deny, &rules).await;
    assert_eq!(login.result, allow);
    assert_eq!(
        login.grant.unwrap().connack.assigned_client_id.as_deref(),
        Some("free")
    );
    // Without the broker's rules only the id's form is checked.
    let login = hooks.login(client("c"), None, deny).await;
    assert_eq!(
        login.grant.unwrap().connack.assigned_client_id.as_deref(),
        Some("taken")
    );
}
