//! What the encoder refuses (fields too long, packets that break a sender rule, AUTH before 5)
//! and what it normalises on the way out.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::{Bytes, BytesMut};
use common::{encode, hex};
use hookmq_codec::{
    ByteString, Connect, EncodeError, Packet, PacketId, Properties, Property, Protocol, Publish,
    QoS, SubAck, Subscribe, UnsubAck, Unsubscribe, encode_packet, encoded_len,
};

fn publish(topic: &str, qos: QoS, packet_id: Option<u16>) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: ByteString::from(topic),
        packet_id: packet_id.and_then(PacketId::new),
        payload: Bytes::from_static(b"x"),
        properties: Properties::new(),
    }
}

/// Asserts both entry points fail with `expected` and nothing is written.
fn refused(p: &Packet, protocol: Protocol, expected: EncodeError) {
    assert_eq!(encoded_len(p, protocol), Err(expected.clone()));
    let mut buf = BytesMut::from(&b"keep"[..]);
    assert_eq!(encode_packet(p, protocol, &mut buf), Err(expected));
    assert_eq!(&buf[..], b"keep");
}

#[test]
fn fields_longer_than_65535_bytes_are_refused() {
    let long = "a".repeat(65_536);
    let p = Packet::Publish(publish(&long, QoS::AtMostOnce, None));
    refused(
        &p,
        Protocol::V3_1_1,
        EncodeError::FieldTooLong("topic name"),
    );
    let mut p = publish("t", QoS::AtMostOnce, None);
    p.properties
        .push(Property::UserProperty("k".into(), long.clone().into()));
    refused(
        &Packet::Publish(p),
        Protocol::V5,
        EncodeError::FieldTooLong("User-Property value"),
    );
    let c = Connect {
        protocol: Protocol::V5,
        clean_start: true,
        keep_alive: 0,
        client_id: "c".into(),
        will: None,
        username: None,
        password: Some(Bytes::from(vec![0; 65_536])),
        properties: Properties::new(),
    };
    refused(
        &Packet::Connect(Box::new(c)),
        Protocol::V5,
        EncodeError::FieldTooLong("password"),
    );
    // 65,535 bytes is fine.
    let max = "a".repeat(65_535);
    assert!(
        encoded_len(
            &Packet::Publish(publish(&max, QoS::AtMostOnce, None)),
            Protocol::V5
        )
        .is_ok()
    );
}

#[test]
fn packets_above_the_remaining_length_limit_are_refused() {
    // A zeroed allocation is mapped lazily and never touched: sizing fails before anything is
    // read or written, so this costs address space, not memory.
    let mut p = publish("t", QoS::AtMostOnce, None);
    p.payload = Bytes::from(vec![0u8; 268_435_456]);
    refused(
        &Packet::Publish(p),
        Protocol::V3_1_1,
        EncodeError::TooLarge(268_435_456 + 3),
    );
}

#[test]
fn sender_rules_are_enforced() {
    let invalid = |p: Packet, protocol| {
        let e = encoded_len(&p, protocol).unwrap_err();
        assert!(matches!(e, EncodeError::Invalid(_)), "{p:?}: {e:?}");
    };
    invalid(
        Packet::Publish(publish("t", QoS::AtLeastOnce, None)),
        Protocol::V3_1_1,
    );
    invalid(
        Packet::Publish(publish("", QoS::AtMostOnce, None)),
        Protocol::V3_1_1,
    );
    invalid(
        Packet::Publish(publish("", QoS::AtMostOnce, None)),
        Protocol::V5,
    );
    let id = PacketId::new(1).unwrap();
    let none = Properties::new();
    invalid(
        Packet::Subscribe(Subscribe {
            packet_id: id,
            filters: vec![],
            properties: none.clone(),
        }),
        Protocol::V5,
    );
    invalid(
        Packet::Unsubscribe(Unsubscribe {
            packet_id: id,
            filters: vec![],
            properties: none.clone(),
        }),
        Protocol::V3_1_1,
    );
    invalid(
        Packet::SubAck(SubAck {
            packet_id: id,
            reasons: vec![],
            properties: none.clone(),
        }),
        Protocol::V3_1_1,
    );
    invalid(
        Packet::UnsubAck(UnsubAck {
            packet_id: id,
            reasons: vec![],
            properties: none,
        }),
        Protocol::V5,
    );
    for bad in [0, 268_435_456] {
        let mut p = publish("t", QoS::AtMostOnce, None);
        p.properties.push(Property::SubscriptionIdentifier(bad));
        invalid(Packet::Publish(p), Protocol::V5);
    }
}

#[test]
fn password_without_user_name_cannot_be_sent_at_3_1_1() {
    let c = Connect {
        protocol: Protocol::V3_1_1,
        clean_start: true,
        keep_alive: 0,
        client_id: "c".into(),
        will: None,
        username: None,
        password: Some(Bytes::from_static(b"pw")),
        properties: Properties::new(),
    };
    let e = encoded_len(&Packet::Connect(Box::new(c)), Protocol::V3_1_1).unwrap_err();
    assert!(matches!(e, EncodeError::NotInProtocol(_)), "{e:?}");
}

#[test]
fn qos_0_never_carries_dup_or_a_packet_identifier() {
    // [MQTT-3.3.1-2], [MQTT-2.2.1-2]: e.g. a QoS 1 retry downgraded to a QoS 0 subscriber.
    let mut p = publish("t", QoS::AtMostOnce, Some(9));
    p.dup = true;
    assert_eq!(
        encode(&Packet::Publish(p), Protocol::V5),
        hex("30 05 00 01 't' 00 'x'")
    );
}

#[test]
fn connect_is_encoded_at_its_own_level() {
    let c = Connect {
        protocol: Protocol::V3_1,
        clean_start: false,
        keep_alive: 5,
        client_id: "c".into(),
        will: None,
        username: None,
        password: None,
        properties: Properties(vec![Property::SessionExpiryInterval(1)]),
    };
    // The level argument says 5, the CONNECT says 3.1: 3.1 wins, properties are dropped.
    let bytes = encode(&Packet::Connect(Box::new(c)), Protocol::V5);
    assert_eq!(bytes, hex("10 0F 00 06 'MQIsdp' 03 00 00 05 00 01 'c'"));
}
