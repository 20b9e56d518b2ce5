//! Differential tests against the published `mqtt-proto` 0.4 crate: what we encode it decodes
//! to the same field values, and what it encodes we decode to the same field values, for a
//! representative set of MQTT 3.1.1 and 5.0 packets and for generated packets of every type.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod reference;
mod strategy;

use bytes::Bytes;
use common::hexdump;
use hookmq_codec::{
    Auth, ByteString, ConnAck, Connect, Disconnect, LastWill, Packet, PacketId, Properties,
    Property, Protocol, PubAck, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName, UnsubAck, Unsubscribe,
};
use mqtt_proto::{v3, v5};
use proptest::prelude::*;

/// Runs `packet` through both directions and compares field values.
fn check(packet: &Packet, protocol: Protocol) {
    let ours = common::encode(packet, protocol);
    let at = if matches!(packet, Packet::Connect(_)) {
        None
    } else {
        Some(protocol)
    };
    if protocol.is_v5() {
        let expected = reference::to_v5(packet);
        let theirs = v5::Packet::decode(&ours).unwrap_or_else(|e| {
            panic!(
                "mqtt-proto refused our {}: {e:?}\n{packet:?}",
                hexdump(&ours)
            )
        });
        assert_eq!(
            theirs,
            Some(expected.clone()),
            "mqtt-proto reading {}",
            hexdump(&ours)
        );
        let their_bytes = expected.encode().unwrap();
        let back = common::decode(their_bytes.as_ref(), at).unwrap_or_else(|e| {
            panic!(
                "we refused mqtt-proto's {}: {e:?}",
                hexdump(their_bytes.as_ref())
            )
        });
        assert_eq!(
            reference::canonical(&back),
            reference::canonical(packet),
            "reading theirs"
        );
    } else {
        let expected = reference::to_v3(packet);
        let theirs = v3::Packet::decode(&ours).unwrap_or_else(|e| {
            panic!(
                "mqtt-proto refused our {}: {e:?}\n{packet:?}",
                hexdump(&ours)
            )
        });
        assert_eq!(
            theirs,
            Some(expected.clone()),
            "mqtt-proto reading {}",
            hexdump(&ours)
        );
        if v3_suback_failure(packet) {
            // See `mqtt_proto_writes_a_3_x_suback_failure_as_3`.
            return;
        }
        let their_bytes = expected.encode().unwrap();
        // 3.x has one encoding per packet: the bytes must be identical too.
        assert_eq!(
            hexdump(their_bytes.as_ref()),
            hexdump(&ours),
            "encodings differ"
        );
        let back = common::decode(their_bytes.as_ref(), at).unwrap();
        assert_eq!(&back, packet, "reading theirs");
    }
}

/// A 3.x SUBACK refusing a filter, which `mqtt-proto` 0.4 encodes wrongly.
fn v3_suback_failure(p: &Packet) -> bool {
    matches!(p, Packet::SubAck(a) if a.reasons.iter().any(|r| r.0 >= 0x80))
}

#[test]
fn mqtt_proto_writes_a_3_x_suback_failure_as_3() {
    // mqtt-proto 0.4 writes `SubscribeReturnCode::Failure` as its enum index, 0x03, where
    // 3.1.1 prescribes 0x80 ([MQTT-3.9.3-2]); we refuse that byte. If this starts failing,
    // mqtt-proto was fixed and `v3_suback_failure` can go.
    let theirs = v3::Packet::Suback(v3::Suback {
        pid: mqtt_proto::Pid::try_from(1).unwrap(),
        topics: vec![v3::SubscribeReturnCode::Failure],
    });
    let bytes = theirs.encode().unwrap();
    assert_eq!(bytes.as_ref(), common::hex("90 03 00 01 03"));
    let e = common::decode_err(bytes.as_ref(), Some(Protocol::V3_1_1));
    assert_eq!(e.reason_code(), ReasonCode::PROTOCOL_ERROR);
    // Our 0x80 is read correctly by its decoder.
    let ours = common::encode(
        &Packet::SubAck(SubAck {
            packet_id: pid(1),
            reasons: vec![ReasonCode::NOT_AUTHORIZED],
            properties: Properties::new(),
        }),
        Protocol::V3_1_1,
    );
    assert_eq!(v3::Packet::decode(&ours).unwrap(), Some(theirs));
}

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn s(v: &'static str) -> ByteString {
    ByteString::from_static(v)
}

fn users() -> Properties {
    Properties(vec![
        Property::UserProperty(s("a"), s("1")),
        Property::UserProperty(s("a"), s("2")),
    ])
}

/// One packet of each type (AUTH only at 5), with properties at 5.
fn representative(protocol: Protocol) -> Vec<Packet> {
    let v5 = protocol.is_v5();
    let props = |p: Vec<Property>| if v5 { Properties(p) } else { Properties::new() };
    let reason = |r: ReasonCode| if v5 { r } else { ReasonCode::SUCCESS };
    let mut out = vec![
        Packet::Connect(Box::new(Connect {
            protocol,
            clean_start: false,
            keep_alive: 300,
            client_id: s("client-ü"),
            will: Some(LastWill {
                topic: TopicName::new("will/topic").unwrap(),
                payload: Bytes::from_static(b"gone"),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: props(vec![
                    Property::WillDelayInterval(30),
                    Property::ContentType(s("text/plain")),
                    Property::ResponseTopic(s("reply/here")),
                    Property::CorrelationData(Bytes::from_static(b"\x00\x01")),
                ]),
            }),
            username: Some(s("user")),
            password: Some(Bytes::from_static(b"\xFFsecret")),
            properties: props(vec![
                Property::SessionExpiryInterval(3600),
                Property::ReceiveMaximum(100),
                Property::MaximumPacketSize(65_536),
                Property::TopicAliasMaximum(16),
                Property::RequestProblemInformation(0),
                Property::AuthenticationMethod(s("SCRAM-SHA-1")),
                Property::AuthenticationData(Bytes::from_static(b"abc")),
                Property::UserProperty(s("k"), s("v")),
            ]),
        })),
        Packet::ConnAck(ConnAck {
            session_present: true,
            reason: ReasonCode::SUCCESS,
            properties: props(vec![
                Property::AssignedClientIdentifier(s("auto-1")),
                Property::ServerKeepAlive(60),
                Property::MaximumQos(1),
                Property::RetainAvailable(0),
                Property::WildcardSubscriptionAvailable(1),
                Property::SubscriptionIdentifierAvailable(1),
                Property::SharedSubscriptionAvailable(0),
                Property::ResponseInformation(s("resp")),
            ]),
        }),
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            properties: props(vec![Property::ReasonString(s("no"))]),
        }),
        Packet::Publish(Publish {
            dup: true,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic: s("sensors/€/t"),
            packet_id: Some(pid(65_535)),
            payload: Bytes::from(vec![7; 300]),
            properties: props(vec![
                Property::PayloadFormatIndicator(0),
                Property::MessageExpiryInterval(10),
                Property::TopicAlias(3),
                Property::SubscriptionIdentifier(268_435_455),
                Property::UserProperty(s("x"), s("")),
            ]),
        }),
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: s("a"),
            packet_id: None,
            payload: Bytes::new(),
            properties: Properties::new(),
        }),
        Packet::PubAck(PubAck::success(pid(1))),
        Packet::PubAck(PubAck {
            packet_id: pid(2),
            reason: reason(ReasonCode::NO_MATCHING_SUBSCRIBERS),
            properties: Properties::new(),
        }),
        Packet::PubRec(PubAck {
            packet_id: pid(3),
            reason: reason(ReasonCode::QUOTA_EXCEEDED),
            properties: props(vec![Property::ReasonString(s("slow down"))]),
        }),
        Packet::PubRel(PubAck {
            packet_id: pid(4),
            reason: reason(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND),
            properties: if v5 { users() } else { Properties::new() },
        }),
        Packet::PubComp(PubAck::success(pid(5))),
        Packet::Subscribe(Subscribe {
            packet_id: pid(6),
            filters: vec![
                (
                    TopicFilter::new("a/+/c").unwrap(),
                    SubscriptionOptions {
                        qos: QoS::ExactlyOnce,
                        no_local: v5,
                        retain_as_published: v5,
                        retain_handling: if v5 {
                            RetainHandling::DoNotSend
                        } else {
                            RetainHandling::SendAtSubscribe
                        },
                    },
                ),
                (
                    TopicFilter::new("$share/grp/x/#").unwrap(),
                    SubscriptionOptions::default(),
                ),
                (
                    TopicFilter::new("#").unwrap(),
                    SubscriptionOptions::default(),
                ),
            ],
            properties: props(vec![Property::SubscriptionIdentifier(200)]),
        }),
        Packet::SubAck(SubAck {
            packet_id: pid(6),
            reasons: vec![
                ReasonCode::GRANTED_QOS_2,
                ReasonCode::SUCCESS,
                ReasonCode(0x80),
            ],
            properties: props(vec![Property::ReasonString(s("ok"))]),
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: pid(7),
            filters: vec![
                TopicFilter::new("a/+/c").unwrap(),
                TopicFilter::new("+").unwrap(),
            ],
            properties: if v5 { users() } else { Properties::new() },
        }),
        Packet::UnsubAck(UnsubAck {
            packet_id: pid(7),
            reasons: if v5 {
                vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
            } else {
                vec![]
            },
            properties: Properties::new(),
        }),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect(Disconnect::default()),
        Packet::Disconnect(Disconnect {
            reason: reason(ReasonCode::SERVER_MOVED),
            properties: props(vec![
                Property::ServerReference(s("other:1883")),
                Property::SessionExpiryInterval(0),
            ]),
        }),
    ];
    if v5 {
        out.push(Packet::Auth(Auth::default()));
        out.push(Packet::Auth(Auth {
            reason: ReasonCode::CONTINUE_AUTHENTICATION,
            properties: Properties(vec![
                Property::AuthenticationMethod(s("SCRAM-SHA-1")),
                Property::AuthenticationData(Bytes::from_static(b"c=biws")),
            ]),
        }));
    }
    out
}

#[test]
fn representative_packets_agree_at_3_1_1() {
    for p in representative(Protocol::V3_1_1) {
        check(&p, Protocol::V3_1_1);
    }
}

#[test]
fn representative_packets_agree_at_5() {
    for p in representative(Protocol::V5) {
        check(&p, Protocol::V5);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn generated_packets_agree((protocol, packet) in strategy::any_packet()) {
        prop_assume!(reference::representable(&packet));
        check(&packet, protocol);
    }
}
