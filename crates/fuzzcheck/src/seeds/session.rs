//! Seeds of the `session` target: client conversations at each protocol level, written by the
//! codec's encoder as [`crate::session`] scripts: a full QoS 0/1/2 exchange, a persistent session
//! taken over by a second connection with the same client id, a will on an abrupt close, a
//! CONNECT cut into one-byte writes, topic aliases, enhanced authentication without a handler,
//! and a first packet that is not CONNECT.

use bytes::{Bytes, BytesMut};
use hookmq_codec::{
    ByteString, Connect, Disconnect, LastWill, Packet, PacketId, Properties, Property, Protocol,
    PubAck, Publish, QoS, Subscribe, SubscriptionOptions, TopicFilter, TopicName, Unsubscribe,
    encode_packet,
};

use super::Seed;
use crate::session::{Step, script};

fn id(v: u16) -> PacketId {
    PacketId::new(v).unwrap_or_else(|| unreachable!("identifiers here are not 0"))
}

fn filter(v: &'static str) -> TopicFilter {
    TopicFilter::new(ByteString::from_static(v)).unwrap_or_else(|_| unreachable!("valid: {v}"))
}

fn bytes(p: Protocol, packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for packet in packets {
        if encode_packet(packet, p, &mut out).is_err() {
            unreachable!("seed packets encode: {packet:?}");
        }
    }
    out.to_vec()
}

fn connect(p: Protocol, client_id: &'static str, clean: bool, props: Vec<Property>) -> Packet {
    Packet::Connect(Box::new(Connect {
        protocol: p,
        clean_start: clean,
        keep_alive: 30,
        client_id: ByteString::from_static(client_id),
        will: None,
        username: Some(ByteString::from_static("alice")),
        password: None,
        properties: Properties(if p.is_v5() { props } else { Vec::new() }),
    }))
}

fn subscribe(pid: u16, f: &'static str, qos: QoS) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: id(pid),
        filters: vec![(
            filter(f),
            SubscriptionOptions {
                qos,
                ..Default::default()
            },
        )],
        properties: Properties::default(),
    })
}

fn publish(pid: u16, topic: &'static str, qos: QoS, retain: bool, props: Vec<Property>) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain,
        topic: ByteString::from_static(topic),
        packet_id: (qos != QoS::AtMostOnce).then(|| id(pid)),
        payload: Bytes::from_static(b"hello"),
        properties: Properties(props),
    })
}

fn seed(name: &str, header: u8, steps: &[Step<'_>]) -> Seed {
    Seed::new(name, script(header, steps))
}

fn step(conn: usize, close: bool, bytes: &[u8]) -> Step<'_> {
    Step { conn, close, bytes }
}

/// The `session` target's seeds.
pub(crate) fn scripts() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (level, p) in [
        ("v31", Protocol::V3_1),
        ("v311", Protocol::V3_1_1),
        ("v5", Protocol::V5),
    ] {
        let all = bytes(
            p,
            &[
                connect(p, "fuzz-a", true, Vec::new()),
                subscribe(1, "a/#", QoS::ExactlyOnce),
                publish(0, "a/b", QoS::AtMostOnce, false, Vec::new()),
                publish(2, "a/b", QoS::AtLeastOnce, true, Vec::new()),
                publish(3, "a/c", QoS::ExactlyOnce, false, Vec::new()),
                Packet::PubRel(PubAck::success(id(3))),
                Packet::PubAck(PubAck::success(id(1))),
                Packet::PubRec(PubAck::success(id(2))),
                Packet::PubComp(PubAck::success(id(2))),
                Packet::PingReq,
                Packet::Unsubscribe(Unsubscribe {
                    packet_id: id(4),
                    filters: vec![filter("a/#")],
                    properties: Properties::default(),
                }),
                Packet::Disconnect(Disconnect::default()),
            ],
        );
        seeds.push(seed(
            &format!("{level}-exchange"),
            1,
            &[step(0, false, &all)],
        ));

        // A persistent session with a QoS 2 message half done, taken over by a second connection.
        let first = bytes(
            p,
            &[
                connect(
                    p,
                    "fuzz-t",
                    false,
                    vec![Property::SessionExpiryInterval(60)],
                ),
                subscribe(1, "t/#", QoS::ExactlyOnce),
                publish(2, "t/x", QoS::ExactlyOnce, false, Vec::new()),
            ],
        );
        let second = bytes(
            p,
            &[
                connect(
                    p,
                    "fuzz-t",
                    false,
                    vec![Property::SessionExpiryInterval(60)],
                ),
                publish(5, "t/y", QoS::AtLeastOnce, false, Vec::new()),
                Packet::PubRel(PubAck::success(id(2))),
            ],
        );
        seeds.push(seed(
            &format!("{level}-takeover"),
            1,
            &[
                step(0, false, &first),
                step(1, false, &second),
                step(0, false, &first),
            ],
        ));

        // A will, and the connection cut without DISCONNECT; a watcher on the second connection.
        let mut with_will = connect(p, "fuzz-w", true, Vec::new());
        if let Packet::Connect(c) = &mut with_will {
            c.will = Some(LastWill {
                topic: TopicName::new("w/gone").unwrap_or_else(|_| unreachable!("valid")),
                payload: Bytes::from_static(b"bye"),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: Properties::default(),
            });
        }
        let watcher = bytes(
            p,
            &[
                connect(p, "fuzz-v", true, Vec::new()),
                subscribe(1, "w/#", QoS::AtLeastOnce),
            ],
        );
        seeds.push(seed(
            &format!("{level}-will"),
            0,
            &[
                step(1, false, &watcher),
                step(0, true, &bytes(p, &[with_will])),
            ],
        ));

        // CONNECT and SUBSCRIBE one byte at a time.
        let split = bytes(
            p,
            &[
                connect(p, "fuzz-s", true, Vec::new()),
                subscribe(1, "s", QoS::AtMostOnce),
            ],
        );
        let singles: Vec<Step<'_>> = split.chunks(1).map(|b| step(0, false, b)).collect();
        seeds.push(seed(&format!("{level}-bytewise"), 0, &singles));

        // The first packet is not CONNECT [MQTT-3.1.0-1].
        let early = bytes(p, &[subscribe(1, "x", QoS::AtMostOnce)]);
        seeds.push(seed(
            &format!("{level}-no-connect"),
            0,
            &[step(0, false, &early)],
        ));
    }
    let p = Protocol::V5;
    let aliases = bytes(
        p,
        &[
            connect(p, "fuzz-alias", true, vec![Property::TopicAliasMaximum(10)]),
            publish(
                1,
                "al/one",
                QoS::AtLeastOnce,
                false,
                vec![Property::TopicAlias(1)],
            ),
            publish(
                2,
                "",
                QoS::AtLeastOnce,
                false,
                vec![Property::TopicAlias(1)],
            ),
            publish(
                3,
                "",
                QoS::AtLeastOnce,
                false,
                vec![Property::TopicAlias(7)],
            ),
        ],
    );
    seeds.push(seed("v5-topic-alias", 1, &[step(0, false, &aliases)]));
    let auth = bytes(
        p,
        &[connect(
            p,
            "fuzz-auth",
            true,
            vec![
                Property::AuthenticationMethod("SCRAM-SHA-256".into()),
                Property::AuthenticationData(Bytes::from_static(b"n,,n=alice,r=abc")),
            ],
        )],
    );
    seeds.push(seed("v5-enhanced-auth", 0, &[step(0, false, &auth)]));
    seeds
}
