//! Seeds of the `exhook` target: EMQX-style answers of a gRPC HookProvider server.

use bytes::Bytes;
use hookmq_exhook::proto::v3::valued_response::{ResponsedType, Value as Reply};
use hookmq_exhook::proto::v3::{HookSpec, LoadedResponse, Message, ValuedResponse};
use prost::Message as _;

use super::Seed;

fn valued(kind: ResponsedType, value: Option<Reply>) -> Vec<u8> {
    ValuedResponse {
        r#type: kind as i32,
        value,
    }
    .encode_to_vec()
}

fn message(topic: &str, payload: &[u8], qos: u32, drop: bool) -> Option<Reply> {
    let mut m = Message {
        node: "emqx@127.0.0.1".into(),
        id: "0005F1A2B3C4D5E6F708192A3B4C5D6E".into(),
        qos,
        from: "device-1".into(),
        topic: topic.into(),
        payload: Bytes::copy_from_slice(payload),
        timestamp: 1_700_000_000_000,
        ..Message::default()
    };
    m.headers.insert("username".into(), "alice".into());
    if drop {
        m.headers.insert("allow_publish".into(), "false".into());
    }
    Some(Reply::Message(m))
}

fn loaded(hooks: &[(&str, &[&str])]) -> Vec<u8> {
    LoadedResponse {
        hooks: hooks
            .iter()
            .map(|(name, topics)| HookSpec {
                name: (*name).into(),
                topics: topics.iter().map(|t| (*t).into()).collect(),
            })
            .collect(),
    }
    .encode_to_vec()
}

pub(super) fn replies() -> Vec<Seed> {
    use ResponsedType::{Continue, Ignore, StopAndReturn};
    let original = crate::exhook::original_message();
    let topic = original.topic.as_str();
    vec![
        Seed::new(
            "allow",
            valued(StopAndReturn, Some(Reply::BoolResult(true))),
        ),
        Seed::new(
            "deny",
            valued(StopAndReturn, Some(Reply::BoolResult(false))),
        ),
        Seed::new(
            "continue-false",
            valued(Continue, Some(Reply::BoolResult(false))),
        ),
        Seed::new("ignore", valued(Ignore, None)),
        Seed::new("unknown-type", {
            let mut bytes = valued(Continue, Some(Reply::BoolResult(true)));
            bytes.splice(0..0, [0x08, 0x07]);
            bytes
        }),
        Seed::new(
            "rewrite",
            valued(Continue, message("rewritten/t", b"x", 2, false)),
        ),
        Seed::new(
            "echo",
            valued(StopAndReturn, message(topic, &original.payload, 1, false)),
        ),
        Seed::new("drop", valued(StopAndReturn, message(topic, b"", 0, true))),
        Seed::new(
            "bad-topic",
            valued(Continue, message("a/+/b", b"x", 1, false)),
        ),
        Seed::new("bad-qos", valued(Continue, message("ok", b"x", 3, false))),
        Seed::new(
            "load-v3",
            loaded(&[
                ("client.authenticate", &[]),
                ("client.authorize", &[]),
                ("message.publish", &["sensors/#", "$share/g/alerts/+"]),
                ("message.delivered", &[]),
            ]),
        ),
        Seed::new(
            "load-v1-names",
            loaded(&[
                ("client.check_acl", &[]),
                ("session.takeovered", &[]),
                ("message.publish", &["a/#"]),
                ("message.publish", &["b/+", "a/#"]),
            ]),
        ),
        Seed::new("load-unknown", loaded(&[("client.nosuch", &[])])),
        Seed::new("load-bad-filter", loaded(&[("message.acked", &["a/#/b"])])),
    ]
}
