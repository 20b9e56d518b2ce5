//! Strategies for whole packets, built on the field strategies of the parent module.

use super::*;

fn will(protocol: Protocol) -> impl Strategy<Value = LastWill> {
    (
        topic_name(),
        bytes(32),
        qos(),
        any::<bool>(),
        properties(Carrier::Will, protocol),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| LastWill {
            topic,
            payload,
            qos,
            retain,
            properties,
        })
}

fn connect(protocol: Protocol) -> impl Strategy<Value = Packet> {
    (
        (any::<bool>(), any::<u16>(), text()),
        prop::option::of(will(protocol)),
        prop::option::of(text()),
        prop::option::of(bytes(16)),
        properties(Carrier::Connect, protocol),
    )
        .prop_map(
            move |(
                (clean_start, keep_alive, client_id),
                will,
                username,
                mut password,
                properties,
            )| {
                if protocol == Protocol::V3_1_1 && username.is_none() {
                    // [MQTT-3.1.2-22]
                    password = None;
                }
                Packet::Connect(Box::new(Connect {
                    protocol,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                }))
            },
        )
}

fn connack(protocol: Protocol) -> impl Strategy<Value = Packet> {
    let codes = if protocol.is_v5() {
        CONNACK_V5
    } else {
        CONNACK_V3
    };
    (
        any::<bool>(),
        reason(codes),
        properties(Carrier::ConnAck, protocol),
    )
        .prop_map(move |(session_present, reason, properties)| {
            // No session present on a refusal ([MQTT-3.2.2-4]), nor at all in 3.1.
            let session_present =
                session_present && reason == ReasonCode::SUCCESS && protocol != Protocol::V3_1;
            Packet::ConnAck(ConnAck {
                session_present,
                reason,
                properties,
            })
        })
}

fn publish(protocol: Protocol) -> impl Strategy<Value = Packet> {
    (
        (any::<bool>(), qos(), any::<bool>(), pid()),
        topic_name(),
        prop_oneof![4 => bytes(64), 1 => bytes(400)],
        properties(Carrier::Publish, protocol),
        any::<bool>(),
    )
        .prop_map(
            move |((dup, qos, retain, id), topic, payload, mut properties, empty)| {
                let mut topic = topic.into_inner();
                if protocol.is_v5() && empty {
                    // An empty topic name is allowed with a topic alias.
                    topic = ByteString::new();
                    if properties.topic_alias().is_none() {
                        properties.push(Property::TopicAlias(7));
                    }
                }
                let at_least_once = qos != QoS::AtMostOnce;
                Packet::Publish(Publish {
                    dup: dup && at_least_once,
                    qos,
                    retain,
                    topic,
                    packet_id: at_least_once.then_some(id),
                    payload,
                    properties,
                })
            },
        )
}

fn ack(protocol: Protocol, codes: &'static [u8]) -> impl Strategy<Value = PubAck> {
    (pid(), reason(codes), properties(Carrier::Ack, protocol)).prop_map(
        move |(packet_id, reason, properties)| PubAck {
            packet_id,
            reason: if protocol.is_v5() {
                reason
            } else {
                ReasonCode::SUCCESS
            },
            properties,
        },
    )
}

fn options(protocol: Protocol) -> impl Strategy<Value = SubscriptionOptions> {
    let rh = select(vec![
        RetainHandling::SendAtSubscribe,
        RetainHandling::SendIfNew,
        RetainHandling::DoNotSend,
    ]);
    (qos(), any::<bool>(), any::<bool>(), rh).prop_map(move |(qos, nl, rap, rh)| {
        if protocol.is_v5() {
            SubscriptionOptions {
                qos,
                no_local: nl,
                retain_as_published: rap,
                retain_handling: rh,
            }
        } else {
            SubscriptionOptions {
                qos,
                ..Default::default()
            }
        }
    })
}

fn subscribe(protocol: Protocol) -> impl Strategy<Value = Packet> {
    (
        pid(),
        prop::collection::vec((topic_filter(), options(protocol)), 1..4),
        properties(Carrier::Subscribe, protocol),
    )
        .prop_map(|(packet_id, mut filters, properties)| {
            for (f, o) in &mut filters {
                if f.shared().is_some() {
                    // [MQTT-3.8.3-4]
                    o.no_local = false;
                }
            }
            Packet::Subscribe(Subscribe {
                packet_id,
                filters,
                properties,
            })
        })
}

fn suback(protocol: Protocol) -> impl Strategy<Value = Packet> {
    let codes = if protocol.is_v5() {
        SUBACK_V5
    } else {
        SUBACK_V3
    };
    (
        pid(),
        prop::collection::vec(reason(codes), 1..5),
        properties(Carrier::Ack, protocol),
    )
        .prop_map(|(packet_id, reasons, properties)| {
            Packet::SubAck(SubAck {
                packet_id,
                reasons,
                properties,
            })
        })
}

fn unsubscribe(protocol: Protocol) -> impl Strategy<Value = Packet> {
    (
        pid(),
        prop::collection::vec(topic_filter(), 1..4),
        properties(Carrier::Unsubscribe, protocol),
    )
        .prop_map(|(packet_id, filters, properties)| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                filters,
                properties,
            })
        })
}

fn unsuback(protocol: Protocol) -> impl Strategy<Value = Packet> {
    let n = if protocol.is_v5() { 1..5 } else { 0..1 };
    (
        pid(),
        prop::collection::vec(reason(UNSUBACK_V5), n),
        properties(Carrier::Ack, protocol),
    )
        .prop_map(|(packet_id, reasons, properties)| {
            Packet::UnsubAck(UnsubAck {
                packet_id,
                reasons,
                properties,
            })
        })
}

fn disconnect(protocol: Protocol) -> impl Strategy<Value = Packet> {
    (
        reason(DISCONNECT_V5),
        properties(Carrier::Disconnect, protocol),
    )
        .prop_map(move |(reason, properties)| {
            let reason = if protocol.is_v5() {
                reason
            } else {
                ReasonCode::SUCCESS
            };
            Packet::Disconnect(Disconnect { reason, properties })
        })
}

fn auth() -> impl Strategy<Value = Packet> {
    (reason(AUTH_V5), properties(Carrier::Auth, Protocol::V5))
        .prop_map(|(reason, properties)| Packet::Auth(Auth { reason, properties }))
}

/// Any valid packet at `protocol`.
pub fn packet(protocol: Protocol) -> BoxedStrategy<Packet> {
    let common = prop_oneof![
        connect(protocol),
        connack(protocol),
        publish(protocol),
        ack(protocol, PUBACK_V5).prop_map(Packet::PubAck),
        ack(protocol, PUBACK_V5).prop_map(Packet::PubRec),
        ack(protocol, PUBREL_V5).prop_map(Packet::PubRel),
        ack(protocol, PUBREL_V5).prop_map(Packet::PubComp),
        subscribe(protocol),
        suback(protocol),
        unsubscribe(protocol),
        unsuback(protocol),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        disconnect(protocol),
    ];
    if protocol.is_v5() {
        prop_oneof![14 => common, 1 => auth()].boxed()
    } else {
        common.boxed()
    }
}

/// A protocol level and a valid packet at it.
pub fn any_packet() -> impl Strategy<Value = (Protocol, Packet)> {
    protocol().prop_flat_map(|p| packet(p).prop_map(move |pk| (p, pk)))
}
