//! The `exhook` target: what a gRPC exhook server can answer. The input is decoded with prost
//! as a `ValuedResponse` (the answer to `client.authenticate`, `client.authorize` and
//! `message.publish`) and as a `LoadedResponse` (the answer to `OnProviderLoaded`), and each that
//! decodes goes through the client's conversion (`hookmq_exhook::fuzzing`).
//!
//! The conversions are checked against a model of their documented behaviour:
//! - an unknown response type, IGNORE, or a value that does not fit the hook is
//!   [`Verdict::Ignore`]; a bool for the two authorization hooks is [`Value::Allow`];
//! - a message for `message.publish` drops the message when `headers["allow_publish"]` is
//!   `"false"`; otherwise a QoS above 2, or a changed topic that is not a valid topic name, is a
//!   bad reply; an unchanged message keeps the original, and a changed one takes topic, payload
//!   and QoS from the reply and everything else from the original;
//! - a load succeeds exactly when every hook name is known and every topic filter of a message
//!   hook is valid; then every point is listed once with the union of its filters (none when any
//!   listing of it had none, always none for other hooks).

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{Protocol, QoS, TopicName, topic};
use hookmq_exhook::ProtoVersion;
use hookmq_exhook::fuzzing::{hook_specs, verdict};
use hookmq_exhook::proto::v3::valued_response::{ResponsedType, Value as Reply};
use hookmq_exhook::proto::v3::{LoadedResponse, ValuedResponse};
use hookmq_hooks::{
    Action, AuthResult, ClientInfo, Event, HookError, HookPoint, Message, NodeName, Value, Verdict,
};
use prost::Message as _;

/// Checks one input (see the module documentation).
pub fn check(data: &[u8]) {
    if let Ok(resp) = ValuedResponse::decode(data) {
        for event in events() {
            check_verdict(&event, resp.clone());
        }
    }
    if let Ok(resp) = LoadedResponse::decode(data) {
        for version in ProtoVersion::PROBE_ORDER {
            check_load(version, resp.clone());
        }
    }
}

/// The original message of the `message.publish` event the replies answer.
pub fn original_message() -> Message {
    let topic = TopicName::new("sensors/1/temp").ok();
    let mut m = Message::new(
        "device-1".into(),
        topic.unwrap_or_else(|| unreachable!("a valid topic name")),
        Bytes::from_static(b"21.5"),
        QoS::AtLeastOnce,
        false,
    );
    m.headers.protocol = Some(Protocol::V5);
    m
}

/// One event of each valued hook point (the `ext_reply` target answers the same ones).
pub(crate) fn events() -> [Event; 3] {
    let client = Arc::new(ClientInfo {
        node: NodeName::new("hookmq@127.0.0.1"),
        clientid: "device-1".into(),
        username: Some("alice".into()),
        password: Some(Bytes::from_static(b"secret")),
        peer: ([127, 0, 0, 1], 50_000).into(),
        sockport: 1883,
        protocol: Protocol::V5,
        mountpoint: None,
        is_superuser: false,
        anonymous: true,
        cn: None,
        dn: None,
        grant: None,
    });
    [
        Event::ClientAuthenticate {
            clientinfo: client.clone(),
            result: AuthResult::Allow { superuser: false },
            previous_owner: None,
        },
        Event::ClientAuthorize {
            clientinfo: client,
            action: Action::Publish,
            topic: "sensors/1/temp".into(),
            result: true,
        },
        Event::MessagePublish {
            message: Arc::new(original_message()),
        },
    ]
}

/// The verdict for `resp` against the model.
fn check_verdict(event: &Event, resp: ValuedResponse) {
    let got = verdict(event, resp.clone());
    let wrap = |value| match ResponsedType::try_from(resp.r#type) {
        Ok(ResponsedType::Continue) => Verdict::Continue(value),
        _ => Verdict::Stop(value),
    };
    let point = event.point();
    let ignored = !matches!(
        ResponsedType::try_from(resp.r#type),
        Ok(ResponsedType::Continue | ResponsedType::StopAndReturn)
    );
    match (point, &resp.value, event) {
        _ if ignored => assert_eq!(got, Ok(Verdict::Ignore), "{resp:?}"),
        (
            HookPoint::ClientAuthenticate | HookPoint::ClientAuthorize,
            Some(Reply::BoolResult(b)),
            _,
        ) => {
            assert_eq!(got, Ok(wrap(Value::Allow(*b))), "{resp:?}")
        }
        (
            HookPoint::MessagePublish,
            Some(Reply::Message(reply)),
            Event::MessagePublish { message },
        ) => check_rewrite(message, reply, got, wrap),
        _ => assert_eq!(got, Ok(Verdict::Ignore), "{point}: {resp:?}"),
    }
}

fn check_rewrite(
    original: &Arc<Message>,
    reply: &hookmq_exhook::proto::v3::Message,
    got: Result<Verdict, HookError>,
    wrap: impl Fn(Value) -> Verdict,
) {
    if reply.headers.get("allow_publish").map(String::as_str) == Some("false") {
        assert_eq!(got, Ok(wrap(Value::Drop)), "{reply:?}");
        return;
    }
    let qos = u8::try_from(reply.qos).ok().and_then(QoS::from_u8);
    let unchanged = original.topic.as_str() == reply.topic
        && original.payload == reply.payload
        && Some(original.qos) == qos;
    let valid_topic = topic::validate_name(&reply.topic).is_ok();
    let Some(qos) = qos.filter(|_| unchanged || valid_topic) else {
        assert!(
            matches!(got, Err(HookError::BadReply(_))),
            "an invalid message was not refused: {reply:?} gave {got:?}"
        );
        return;
    };
    let Ok(Verdict::Continue(Value::Message(m)) | Verdict::Stop(Value::Message(m))) = &got else {
        panic!("a valid message gave {got:?}: {reply:?}");
    };
    assert_eq!(got, Ok(wrap(Value::Message(m.clone()))));
    if unchanged {
        assert!(Arc::ptr_eq(m, original), "an unchanged message was copied");
        return;
    }
    assert_eq!(m.topic.as_str(), reply.topic);
    assert_eq!(m.payload, reply.payload);
    assert_eq!(m.qos, qos);
    crate::assert_rest_kept(m, original);
}

/// The hooks of a load against the model.
fn check_load(version: ProtoVersion, resp: LoadedResponse) {
    let got = hook_specs(version, resp.clone());
    let mut model: Vec<(HookPoint, Option<BTreeSet<String>>)> = Vec::new();
    for hook in &resp.hooks {
        let Some(point) = version.parse_hook(&hook.name) else {
            assert!(got.is_err(), "unknown hook {:?} accepted", hook.name);
            return;
        };
        let topics = if point.is_message() {
            hook.topics.clone()
        } else {
            Vec::new()
        };
        if topics.iter().any(|t| topic::validate_filter(t).is_err()) {
            assert!(got.is_err(), "invalid filter in {topics:?} accepted");
            return;
        }
        // None: every topic.
        let topics = (!topics.is_empty()).then(|| topics.into_iter().collect::<BTreeSet<_>>());
        match model.iter_mut().find(|(p, _)| *p == point) {
            Some((_, existing)) => match (existing.as_mut(), topics) {
                (Some(set), Some(more)) => set.extend(more),
                _ => *existing = None,
            },
            None => model.push((point, topics)),
        }
    }
    let specs = match got {
        Ok(specs) => specs,
        Err(error) => panic!("a valid load was refused: {error}: {resp:?}"),
    };
    let got: Vec<(HookPoint, Option<BTreeSet<String>>)> = specs
        .into_iter()
        .map(|s| {
            let topics = (!s.topics.is_empty()).then(|| s.topics.into_iter().collect());
            (s.point, topics)
        })
        .collect();
    assert_eq!(got, model, "{version}: {resp:?}");
}
