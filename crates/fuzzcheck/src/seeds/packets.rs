//! Seeds of the `packet` target: every packet type at every level it exists in, written by the
//! codec's encoder, behind the selector byte [`crate::packet::check`] reads.

use bytes::{BufMut, Bytes, BytesMut};
use hookmq_codec::{
    Auth, ByteString, ConnAck, Connect, Disconnect, LastWill, Packet, PacketId, Properties,
    Property, Protocol, PubAck, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName, UnsubAck, Unsubscribe, encode_packet,
};

use super::Seed;
use crate::packet::selector;

const LEVELS: [(usize, Protocol); 3] = [
    (1, Protocol::V3_1),
    (2, Protocol::V3_1_1),
    (3, Protocol::V5),
];

/// Index of the unlimited maximum packet size in [`crate::packet::MAX_SIZES`].
const UNLIMITED: usize = 3;

fn id(v: u16) -> PacketId {
    PacketId::new(v).unwrap_or_else(|| unreachable!("identifiers here are not 0"))
}

fn name(v: &'static str) -> TopicName {
    TopicName::new(ByteString::from_static(v)).unwrap_or_else(|_| unreachable!("valid: {v}"))
}

fn filter(v: &'static str) -> TopicFilter {
    TopicFilter::new(ByteString::from_static(v)).unwrap_or_else(|_| unreachable!("valid: {v}"))
}

/// Properties only where the level has them.
fn props(p: Protocol, list: Vec<Property>) -> Properties {
    if p.is_v5() {
        Properties(list)
    } else {
        Properties::new()
    }
}

fn user() -> Property {
    Property::UserProperty("trace".into(), "42".into())
}

fn connect(p: Protocol) -> Connect {
    Connect {
        protocol: p,
        clean_start: true,
        keep_alive: 30,
        client_id: "device-1".into(),
        will: Some(LastWill {
            topic: name("devices/1/status"),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: props(
                p,
                vec![
                    Property::WillDelayInterval(5),
                    Property::ContentType("text/plain".into()),
                ],
            ),
        }),
        username: Some("alice".into()),
        password: Some(Bytes::from_static(b"secret")),
        properties: props(
            p,
            vec![
                Property::SessionExpiryInterval(3600),
                Property::ReceiveMaximum(20),
                Property::MaximumPacketSize(1 << 20),
                Property::TopicAliasMaximum(10),
                user(),
            ],
        ),
    }
}

fn publish(p: Protocol, qos: QoS) -> Publish {
    Publish {
        dup: qos != QoS::AtMostOnce,
        qos,
        retain: qos == QoS::AtLeastOnce,
        topic: "sensors/1/temp".into(),
        packet_id: (qos != QoS::AtMostOnce).then(|| id(7)),
        payload: Bytes::from_static(b"{\"t\":21.5}"),
        properties: props(
            p,
            vec![
                Property::PayloadFormatIndicator(1),
                Property::MessageExpiryInterval(60),
                Property::ResponseTopic("replies/1".into()),
                Property::CorrelationData(Bytes::from_static(b"\x01\x02")),
                Property::TopicAlias(3),
                user(),
            ],
        ),
    }
}

fn ack(p: Protocol, reason: ReasonCode) -> PubAck {
    PubAck {
        packet_id: id(7),
        reason: if p.is_v5() {
            reason
        } else {
            ReasonCode::SUCCESS
        },
        properties: props(p, vec![Property::ReasonString("because".into())]),
    }
}

/// Every packet that exists at `p`, in the forms worth starting from.
fn packets(p: Protocol) -> Vec<(&'static str, Packet)> {
    let v5 = p.is_v5();
    let options = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: v5,
        retain_as_published: v5,
        retain_handling: if v5 {
            RetainHandling::DoNotSend
        } else {
            RetainHandling::SendAtSubscribe
        },
    };
    let mut bare_connect = connect(p);
    bare_connect.will = None;
    bare_connect.username = None;
    bare_connect.password = None;
    bare_connect.properties = Properties::new();
    let mut list = vec![
        ("connect", Packet::Connect(Box::new(connect(p)))),
        ("connect-bare", Packet::Connect(Box::new(bare_connect))),
        (
            "connack",
            Packet::ConnAck(ConnAck {
                session_present: p != Protocol::V3_1,
                reason: ReasonCode::SUCCESS,
                properties: props(
                    p,
                    vec![
                        Property::AssignedClientIdentifier("auto-1".into()),
                        Property::MaximumQos(1),
                        Property::RetainAvailable(1),
                        Property::ServerKeepAlive(60),
                    ],
                ),
            }),
        ),
        (
            "connack-refused",
            Packet::ConnAck(ConnAck {
                session_present: false,
                reason: ReasonCode::NOT_AUTHORIZED,
                properties: Properties::new(),
            }),
        ),
        ("publish-qos0", Packet::Publish(publish(p, QoS::AtMostOnce))),
        (
            "publish-qos1",
            Packet::Publish(publish(p, QoS::AtLeastOnce)),
        ),
        (
            "publish-qos2",
            Packet::Publish(publish(p, QoS::ExactlyOnce)),
        ),
        (
            "puback",
            Packet::PubAck(ack(p, ReasonCode::NO_MATCHING_SUBSCRIBERS)),
        ),
        ("pubrec", Packet::PubRec(ack(p, ReasonCode::QUOTA_EXCEEDED))),
        (
            "pubrel",
            Packet::PubRel(ack(p, ReasonCode::PACKET_IDENTIFIER_NOT_FOUND)),
        ),
        ("pubcomp", Packet::PubComp(PubAck::success(id(7)))),
        (
            "subscribe",
            Packet::Subscribe(Subscribe {
                packet_id: id(9),
                filters: vec![
                    (filter("sensors/+/temp"), options),
                    (filter("$share/g1/alerts/#"), SubscriptionOptions::default()),
                    (filter("$SYS/#"), SubscriptionOptions::default()),
                ],
                properties: props(
                    p,
                    vec![Property::SubscriptionIdentifier(268_435_455), user()],
                ),
            }),
        ),
        (
            "suback",
            Packet::SubAck(SubAck {
                packet_id: id(9),
                reasons: vec![
                    ReasonCode::GRANTED_QOS_2,
                    ReasonCode::SUCCESS,
                    ReasonCode::UNSPECIFIED_ERROR,
                ],
                properties: props(p, vec![Property::ReasonString("partly".into())]),
            }),
        ),
        (
            "unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: id(10),
                filters: vec![filter("sensors/+/temp"), filter("#")],
                properties: props(p, vec![user()]),
            }),
        ),
        (
            "unsuback",
            Packet::UnsubAck(UnsubAck {
                packet_id: id(10),
                reasons: if v5 {
                    vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
                } else {
                    Vec::new()
                },
                properties: props(p, vec![user()]),
            }),
        ),
        ("pingreq", Packet::PingReq),
        ("pingresp", Packet::PingResp),
        (
            "disconnect",
            Packet::Disconnect(Disconnect {
                reason: if v5 {
                    ReasonCode::DISCONNECT_WITH_WILL
                } else {
                    ReasonCode::SUCCESS
                },
                properties: props(p, vec![Property::SessionExpiryInterval(0)]),
            }),
        ),
    ];
    if v5 {
        let mut aliased = publish(p, QoS::AtLeastOnce);
        aliased.topic = ByteString::new();
        list.push(("publish-alias-only", Packet::Publish(aliased)));
        list.push((
            "auth",
            Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: Properties(vec![
                    Property::AuthenticationMethod("SCRAM-SHA-1".into()),
                    Property::AuthenticationData(Bytes::from_static(b"client-first")),
                ]),
            }),
        ));
    }
    list
}

fn encoded(packet: &Packet, p: Protocol, out: &mut BytesMut) {
    if let Err(error) = encode_packet(packet, p, out) {
        unreachable!("seed packet does not encode: {error}: {packet:?}");
    }
}

/// The seeds: each packet alone at its level; each level's whole session from before CONNECT;
/// a packet with a non-minimal remaining length; packets against small maximum sizes.
pub(super) fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (level, p) in LEVELS {
        let mut session = BytesMut::new();
        session.put_u8(selector(0, UNLIMITED));
        for (what, packet) in packets(p) {
            let mut one = BytesMut::new();
            one.put_u8(selector(level, UNLIMITED));
            encoded(&packet, p, &mut one);
            seeds.push(Seed::new(format!("{}-{what}", p.level()), one.to_vec()));
            // One CONNECT opens the session; the rest follow it.
            if what == "connect" || !what.starts_with("conn") {
                encoded(&packet, p, &mut session);
            }
        }
        seeds.push(Seed::new(
            format!("{}-session", p.level()),
            session.to_vec(),
        ));
        let mut small = vec![selector(level, 1)];
        let mut packet = BytesMut::new();
        encoded(
            &Packet::Publish(publish(p, QoS::AtLeastOnce)),
            p,
            &mut packet,
        );
        small.extend_from_slice(&packet);
        seeds.push(Seed::new(format!("{}-publish-max-128", p.level()), small));
        let mut tiny = BytesMut::new();
        tiny.put_u8(selector(level, 0));
        encoded(&Packet::PingReq, p, &mut tiny);
        let tiny = tiny.to_vec();
        seeds.push(Seed::new(format!("{}-pingreq-max-4", p.level()), tiny));
    }
    // PUBACK with its remaining length 2 written in two bytes (0x82 0x00).
    seeds.push(Seed::new(
        "4-puback-long-varint",
        vec![selector(2, UNLIMITED), 0x40, 0x82, 0x00, 0x00, 0x07],
    ));
    seeds
}
