//! Unit tests of the trace: filters, the rate limit, followers, expiry, the tap around handlers
//! and the JSON form of events.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hookmq_codec::{Properties, Property, QoS, SubscriptionOptions, TopicFilter, TopicName};
use serde_json::Value;

use super::json::{event_from_json, event_to_json};
use super::*;
use crate::{
    ClientInfo, Event, HandlerSpec, HookError, HookPoint, Hooks, Message, PointSpec, Verdict,
    async_handler_fn, handler_fn,
};

fn client(id: &str, user: Option<&str>) -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        node: Default::default(),
        clientid: id.into(),
        username: user.map(Into::into),
        password: Some(Bytes::from_static(b"secret-pw")),
        peer: "10.1.2.3:5555".parse().unwrap(),
        sockport: 1883,
        protocol: hookmq_codec::Protocol::V5,
        mountpoint: None,
        is_superuser: false,
        anonymous: false,
        cn: None,
        dn: None,
        grant: None,
    })
}

fn publish(from: &str, topic: &str) -> Event {
    let mut m = Message::new(
        from.into(),
        TopicName::new(topic).unwrap(),
        Bytes::from_static(b"payload \xff"),
        QoS::AtLeastOnce,
        true,
    );
    m.properties
        .push(Property::ContentType("text/plain".into()));
    m.properties
        .push(Property::UserProperty("k".into(), "v".into()));
    m.properties
        .push(Property::UserProperty("k".into(), "w".into()));
    m.properties
        .push(Property::CorrelationData(Bytes::from_static(b"\x00\x01")));
    Event::MessagePublish {
        message: Arc::new(m),
    }
}

fn spec(filter: TraceFilter, rate: u32) -> TraceSpec {
    TraceSpec {
        filter,
        max_rate: rate,
        duration: Duration::from_secs(60),
    }
}

fn lines(trace: &Trace) -> Vec<Value> {
    trace
        .follow()
        .0
        .iter()
        .map(|r| serde_json::from_str(&r.line).unwrap())
        .collect()
}

#[test]
fn filters_select_by_client_user_topic_and_point() {
    let f = TraceFilter::parse(
        Some("c1".into()),
        None,
        Some("a/+".into()),
        &["message.publish".into()],
        false,
    )
    .unwrap();
    assert!(f.matches_event(&publish("c1", "a/b")));
    assert!(!f.matches_event(&publish("c2", "a/b")));
    assert!(!f.matches_event(&publish("c1", "a/b/c")));
    let authz = Event::ClientAuthorize {
        clientinfo: client("c1", None),
        action: crate::Action::Publish,
        topic: "a/b".into(),
        result: true,
    };
    assert!(!f.matches_event(&authz), "point not selected");
    let by_user = TraceFilter::parse(None, Some("alice".into()), None, &[], true).unwrap();
    let sub = Event::ClientSubscribe {
        clientinfo: client("c9", Some("alice")),
        props: Properties::default(),
        filters: vec![(
            TopicFilter::new("$share/g/x/#").unwrap(),
            SubscriptionOptions::default(),
        )],
    };
    assert!(by_user.matches_event(&sub));
    assert!(
        !by_user.matches_event(&publish("c9", "x")),
        "publish has no user name"
    );
    let shared = TraceFilter::parse(None, None, Some("x/#".into()), &[], true).unwrap();
    assert!(
        shared.matches_event(&sub),
        "a shared filter matches by its real filter"
    );
    assert!(!shared.matches_event(&Event::SessionCreated {
        clientinfo: client("c9", None)
    }));
    assert!(shared.matches_packet("any", None, Some("x/y")));
    assert!(!shared.matches_packet("any", None, None));
    assert!(!f.matches_packet("c1", None, Some("a/b")), "packets off");
}

#[test]
fn malformed_filters_and_limits_are_refused() {
    assert!(matches!(
        TraceFilter::parse(None, None, Some("a/#/b".into()), &[], true),
        Err(TraceError::Topic(..))
    ));
    assert!(matches!(
        TraceFilter::parse(None, None, None, &["message.nope".into()], true),
        Err(TraceError::Point(_))
    ));
    assert!(spec(TraceFilter::all(), 0).validate().is_err());
    let mut long = spec(TraceFilter::all(), 10);
    long.duration = Duration::from_secs(2 * 24 * 3600);
    assert!(long.validate().is_err());
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_counts_drops_and_refills() {
    let tracer = Arc::new(Tracer::default());
    assert!(!tracer.on());
    let trace = tracer.start(spec(TraceFilter::all(), 5)).unwrap();
    assert!(tracer.on());
    let admitted = (0..20).filter(|_| trace.admit()).count();
    assert_eq!(admitted, 5);
    assert_eq!(trace.info().dropped, 15);
    tokio::time::advance(Duration::from_millis(400)).await;
    assert_eq!((0..20).filter(|_| trace.admit()).count(), 2);
}

#[tokio::test(start_paused = true)]
async fn traces_end_by_themselves_and_tell_followers() {
    let tracer = Arc::new(Tracer::default());
    let trace = tracer.start(spec(TraceFilter::all(), 100)).unwrap();
    let (_, mut rx) = trace.follow();
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert!(!tracer.on() && tracer.list().is_empty());
    let end = rx.recv().await.unwrap();
    assert!(end.end && end.line.contains("\"reason\":\"expired\""));
    assert!(tracer.stop(trace.id).is_none());
}

#[tokio::test]
async fn the_tap_records_calls_of_selected_events_with_answer_and_decision() {
    let hooks = Hooks::new();
    let rewrite = handler_fn(|e| match e {
        Event::MessagePublish { message } => {
            let mut m = (**message).clone();
            m.payload = Bytes::from_static(b"NEW");
            Verdict::Continue(crate::Value::Message(Arc::new(m)))
        }
        _ => Verdict::Ignore,
    });
    let mut s = HandlerSpec::new(
        "rw",
        "native",
        vec![PointSpec::all(HookPoint::MessagePublish)],
    );
    s.dispatch = crate::Dispatch::Inline;
    hooks.register(s, rewrite).unwrap();
    let trace = hooks
        .tracer()
        .start(spec(
            TraceFilter::parse(Some("pub".into()), None, None, &[], true).unwrap(),
            100,
        ))
        .unwrap();
    let Event::MessagePublish { message } = publish("pub", "t/1") else {
        unreachable!()
    };
    hooks.publish(message.clone()).await;
    let Event::MessagePublish { message: other } = publish("other", "t/1") else {
        unreachable!()
    };
    hooks.publish(other).await;
    let recs = lines(&trace);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert_eq!(r["type"], "hook");
    assert_eq!(r["point"], "message.publish");
    assert_eq!(r["handler"], "rw");
    assert_eq!(r["driver"], "native");
    assert_eq!(r["decision"], "continue");
    assert_eq!(r["event"]["message"]["payload"]["base64"], "cGF5bG9hZCD/");
    assert_eq!(r["answer"]["value"]["message"]["payload"], "NEW");
    assert_eq!(r["seq"], 1);
}

#[tokio::test]
async fn an_abandoned_call_is_recorded_as_a_timeout_with_the_failure_policy() {
    let hooks = Hooks::new();
    let hang = async_handler_fn(|_| async {
        std::future::pending::<()>().await;
        Ok::<_, HookError>(Verdict::Ignore)
    });
    let mut s = HandlerSpec::new(
        "hang",
        "native",
        vec![PointSpec::all(HookPoint::ClientAuthorize)],
    );
    s.timeout = Duration::from_millis(20);
    s.failed_action = crate::FailedAction::Deny;
    hooks.register(s, hang).unwrap();
    let trace = hooks.tracer().start(spec(TraceFilter::all(), 100)).unwrap();
    let allowed = hooks
        .authorize(
            &client("c", None),
            crate::Action::Publish,
            &"t".into(),
            true,
        )
        .await;
    assert!(!allowed);
    let recs = lines(&trace);
    assert_eq!(recs[0]["answer"]["error"], "timeout");
    assert_eq!(recs[0]["decision"], "deny");
}

#[test]
fn events_survive_the_json_round_trip_except_passwords() {
    let events = [
        publish("c1", "a/b"),
        Event::ClientAuthenticate {
            clientinfo: client("c1", Some("u")),
            result: crate::AuthResult::Deny(hookmq_codec::ReasonCode::BAD_USER_NAME_OR_PASSWORD),
            previous_owner: Some(crate::Identity {
                username: Some("alice".into()),
                cert_dn: None,
            }),
        },
        Event::ClientSubscribe {
            clientinfo: client("c1", None),
            props: Properties(vec![Property::SubscriptionIdentifier(7)]),
            filters: vec![(
                TopicFilter::new("x/#").unwrap(),
                SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: true,
                    ..Default::default()
                },
            )],
        },
        Event::MessageDropped {
            message: match publish("c1", "z") {
                Event::MessagePublish { message } => message,
                _ => unreachable!(),
            },
            reason: crate::DropReason::QueueFull,
        },
    ];
    for e in events {
        let v = event_to_json(&e);
        let back = event_from_json(e.point(), &v).unwrap();
        // A redacted password reads back as none; everything else is kept.
        let mut expected = v.clone();
        if expected["clientinfo"]["password"].is_object() {
            expected["clientinfo"]["password"] = Value::Null;
        }
        assert_eq!(event_to_json(&back), expected);
        assert!(!v.to_string().contains("secret-pw"));
    }
    let short = serde_json::json!({"message": {"topic": "t", "payload": "hi"}});
    let Event::MessagePublish { message } =
        event_from_json(HookPoint::MessagePublish, &short).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(&message.payload[..], b"hi");
    let bad = serde_json::json!({"message": {"topic": "t/#"}});
    let err = event_from_json(HookPoint::MessagePublish, &bad).unwrap_err();
    assert_eq!(err.field, "event.message.topic");
    let bad_qos = serde_json::json!({"message": {"topic": "t", "qos": 3}});
    assert!(event_from_json(HookPoint::MessagePublish, &bad_qos).is_err());
}

#[test]
fn enhanced_authentication_records_never_show_data_or_state() {
    let secret = |s: &'static str| Some(Bytes::from_static(s.as_bytes()));
    let e = Event::ClientEnhancedAuthenticate {
        clientinfo: client("c1", Some("u")),
        method: "SCRAM-SHA-256".into(),
        data: secret("client-proof-secret"),
        step: crate::AuthStep::Continue,
        state: secret("state-secret"),
        result: crate::EnhancedAuth::Continue {
            data: secret("server-first-secret"),
            state: secret("state-secret"),
        },
    };
    let v = event_to_json(&e);
    let text = v.to_string();
    for leaked in [
        "secret-pw",
        "client-proof-secret",
        "state-secret",
        "server-first-secret",
    ] {
        assert!(!text.contains(leaked), "{leaked} in {text}");
    }
    assert_eq!(v["method"], "SCRAM-SHA-256");
    assert_eq!(v["step"], "continue");
    assert_eq!(v["data"]["redacted"], true);
    // Redacted reads back as none; the rest survives.
    let back = event_from_json(e.point(), &v).unwrap();
    let Event::ClientEnhancedAuthenticate {
        data, state, step, ..
    } = &back
    else {
        unreachable!()
    };
    assert_eq!(
        (data, state, *step),
        (&None, &None, crate::AuthStep::Continue)
    );
    // A hand-written event (hookmq hooks replay) may give data as text.
    let hand = serde_json::json!({"method": "toy", "data": "hello", "step": "initial"});
    let Event::ClientEnhancedAuthenticate { data, result, .. } =
        event_from_json(HookPoint::ClientEnhancedAuthenticate, &hand).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(result, crate::EnhancedAuth::unhandled());
    let answer = crate::trace::json::answer_to_json(&Ok(crate::Verdict::Stop(
        crate::Value::EnhancedAuth(crate::EnhancedAuth::Success {
            data: secret("server-signature-secret"),
            grant: crate::Grant::default(),
        }),
    )));
    assert!(!answer.to_string().contains("server-signature-secret"));
    // Packet records and event properties redact Authentication Data too (CONNECT, CONNACK and
    // AUTH carry it), and it reads back as none.
    let auth = hookmq_codec::Packet::Auth(hookmq_codec::Auth {
        reason: hookmq_codec::ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties(vec![
            Property::AuthenticationMethod("SCRAM-SHA-256".into()),
            Property::AuthenticationData(Bytes::from_static(b"c=biws,r=n,p=proof-secret")),
        ]),
    });
    let record = crate::trace::json::packet_to_json(&auth).to_string();
    assert!(!record.contains("proof-secret"), "{record}");
    assert!(record.contains("SCRAM-SHA-256"), "{record}");
    let props = Properties(vec![Property::AuthenticationData(Bytes::from_static(
        b"token-secret",
    ))]);
    let v = super::fields::properties_to_json(&props);
    assert!(!v.to_string().contains("token-secret"));
    let back = super::fields::properties_from(Some(&v), "props").unwrap();
    assert!(back.authentication_data().is_none());
}
