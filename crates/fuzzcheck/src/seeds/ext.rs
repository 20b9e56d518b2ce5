//! Seeds of the `ext_reply` target: frames an extension sends on hookmq's stream protocol.

use bytes::Bytes;
use hookmq_ext_client::proto::v1::{self as pb, extension_frame::Kind, reply::Value as V};
use prost::Message as _;

use super::Seed;

fn frame(kind: Kind) -> Vec<u8> {
    pb::ExtensionFrame { kind: Some(kind) }.encode_to_vec()
}

fn batch(replies: Vec<pb::Reply>) -> Vec<u8> {
    frame(Kind::Replies(pb::ReplyBatch { replies }))
}

fn reply(id: u64, outcome: pb::Outcome, value: Option<V>) -> pb::Reply {
    pb::Reply {
        id,
        outcome: outcome as i32,
        value,
        error: String::new(),
    }
}

fn edit(topic: Option<&str>, payload: Option<&[u8]>, qos: Option<u32>) -> Option<V> {
    Some(V::Message(pb::MessageEdit {
        topic: topic.map(Into::into),
        payload: payload.map(Bytes::copy_from_slice),
        qos,
        ..Default::default()
    }))
}

pub(super) fn frames() -> Vec<Seed> {
    use pb::Outcome::{Continue, Fail, Ignore, Stop};
    let auth = |allow, reason_code| {
        Some(V::Auth(pb::AuthResult {
            allow,
            superuser: false,
            reason_code,
        }))
    };
    let command = |id, call| pb::Command {
        id,
        call: Some(call),
    };
    let commands = frame(Kind::Commands(pb::CommandBatch {
        commands: vec![
            command(
                1,
                pb::command::Call::Publish(pb::PublishCommand {
                    topic: "a/b".into(),
                    payload: Bytes::from_static(b"x"),
                    qos: 1,
                    through_hooks: true,
                    parent_hops: 3,
                    ..Default::default()
                }),
            ),
            command(
                2,
                pb::command::Call::Subscribe(pb::SubscribeCommand {
                    clientid: "c".into(),
                    filter: "a/#".into(),
                    options: Some(pb::SubOpts {
                        qos: 3,
                        retain_handling: 5,
                        ..Default::default()
                    }),
                }),
            ),
            command(
                3,
                pb::command::Call::Kick(pb::KickCommand {
                    clientid: "c".into(),
                    reason_code: Some(300),
                }),
            ),
        ],
    }));
    let mut seeds = vec![
        Seed::new("commands", commands),
        Seed::new("ignore", batch(vec![reply(1, Ignore, None)])),
        Seed::new("allow", batch(vec![reply(2, Stop, Some(V::Allow(true)))])),
        Seed::new(
            "deny-continue",
            batch(vec![reply(3, Continue, Some(V::Allow(false)))]),
        ),
        Seed::new("auth-86", batch(vec![reply(4, Stop, auth(false, 0x86))])),
        Seed::new(
            "auth-bad-code",
            batch(vec![reply(5, Stop, auth(false, 0x80))]),
        ),
        Seed::new(
            "edit",
            batch(vec![reply(
                6,
                Continue,
                edit(Some("a/b"), Some(b"x"), Some(2)),
            )]),
        ),
        Seed::new(
            "edit-wildcard",
            batch(vec![reply(7, Stop, edit(Some("a/#"), None, None))]),
        ),
        Seed::new(
            "edit-qos3",
            batch(vec![reply(8, Stop, edit(None, None, Some(3)))]),
        ),
        Seed::new(
            "drop",
            batch(vec![reply(9, Stop, Some(V::Drop(pb::Drop {})))]),
        ),
        Seed::new("no-value", batch(vec![reply(10, Stop, None)])),
        Seed::new(
            "consume",
            batch(vec![reply(9, Stop, Some(V::Consume(pb::Consume {})))]),
        ),
        Seed::new(
            "hold",
            batch(vec![reply(
                9,
                Continue,
                Some(V::Hold(pb::Hold { message: None })),
            )]),
        ),
        Seed::new(
            "hold-edit",
            batch(vec![reply(
                9,
                Stop,
                Some(V::Hold(pb::Hold {
                    message: Some(pb::MessageEdit {
                        topic: Some("held/x".into()),
                        ..Default::default()
                    }),
                })),
            )]),
        ),
        Seed::new(
            "edit-rights",
            batch(vec![reply(
                6,
                Continue,
                Some(V::Message(pb::MessageEdit {
                    retain: Some(true),
                    properties: Some(pb::Properties {
                        content_type: Some("text/plain".into()),
                        user_properties: vec![pb::UserProperty {
                            key: "k".into(),
                            value: "v".into(),
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
            )]),
        ),
        Seed::new(
            "edit-rights-bad",
            batch(vec![reply(
                6,
                Stop,
                Some(V::Message(pb::MessageEdit {
                    properties: Some(pb::Properties {
                        topic_alias_maximum: Some(3),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
            )]),
        ),
        Seed::new(
            "filters",
            batch(vec![reply(
                3,
                Stop,
                Some(V::Filters(pb::Filters {
                    filters: vec![pb::FilterAnswer {
                        refuse: Some(0x87),
                        ..Default::default()
                    }],
                })),
            )]),
        ),
        Seed::new(
            "fail",
            batch(vec![pb::Reply {
                error: "database down".into(),
                ..reply(11, Fail, None)
            }]),
        ),
        Seed::new(
            "twice-unknown-zero",
            batch(vec![
                reply(12, Ignore, None),
                reply(12, Stop, Some(V::Allow(true))),
                reply(999, Ignore, None),
                reply(0, Ignore, None),
            ]),
        ),
        Seed::new(
            "oversize",
            batch((1..=9).map(|i| reply(i, Ignore, None)).collect()),
        ),
        Seed::new(
            "outcome-7",
            batch(vec![pb::Reply {
                outcome: 7,
                ..reply(13, Ignore, None)
            }]),
        ),
    ];
    let register = |version, hooks: Vec<(&str, &[&str], bool)>| {
        frame(Kind::Register(pb::Register {
            protocol_version: version,
            name: "seed".into(),
            hooks: hooks
                .into_iter()
                .map(|(point, topics, observe)| pb::HookRegistration {
                    point: point.into(),
                    topics: topics.iter().map(|t| (*t).into()).collect(),
                    observe,
                })
                .collect(),
        }))
    };
    seeds.push(Seed::new(
        "register",
        register(
            1,
            vec![
                ("client.authenticate", &[], false),
                ("message.publish", &["t/#", "a/+/b"], true),
                ("message.publish", &["x"], false),
                ("client.check_acl", &[], false),
            ],
        ),
    ));
    seeds.push(Seed::new("register-v2", register(2, vec![])));
    seeds.push(Seed::new(
        "register-bad",
        register(
            1,
            vec![("message.acked", &["a/#/b"], false), ("nope", &[], false)],
        ),
    ));
    seeds
}
