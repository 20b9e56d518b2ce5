//! Byte-annotated packets of MQTT 3.1 (level 3) and 3.1.1 (level 4), checked in both
//! directions: each value encodes to exactly the listed bytes and the bytes decode back to it.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::{both_ways, decode, encode, hex, hexdump};
use hookmq_codec::{
    ByteString, ConnAck, Connect, Disconnect, LastWill, Packet, PacketId, Properties, Protocol,
    PubAck, Publish, QoS, ReasonCode, SubAck, Subscribe, SubscriptionOptions, TopicFilter,
    TopicName, UnsubAck, Unsubscribe,
};

const V3: Protocol = Protocol::V3_1;
const V4: Protocol = Protocol::V3_1_1;

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn connect(protocol: Protocol) -> Connect {
    Connect {
        protocol,
        clean_start: true,
        keep_alive: 60,
        client_id: ByteString::from_static("c1"),
        will: None,
        username: None,
        password: None,
        properties: Properties::new(),
    }
}

#[test]
fn connect_3_1_1_with_will_and_credentials() {
    let mut c = connect(V4);
    c.will = Some(LastWill {
        topic: TopicName::new("w/t").unwrap(),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: Properties::new(),
    });
    c.username = Some(ByteString::from_static("u"));
    c.password = Some(Bytes::from_static(b"pw"));
    let bytes = hex("
        10 1F        // CONNECT, remaining length 31
        00 04 'MQTT' // protocol name
        04           // protocol level 4
        EE           // flags: user name, password, will retain, will QoS 1, will, clean session
        00 3C        // keep alive 60 s
        00 02 'c1'   // client identifier
        00 03 'w/t'  // will topic
        00 03 'bye'  // will payload
        00 01 'u'    // user name
        00 02 'pw'   // password
    ");
    both_ways(&Packet::Connect(Box::new(c)), V4, &bytes);
}

#[test]
fn connect_3_1_1_minimal() {
    let bytes = hex("
        10 0E        // CONNECT, remaining length 14
        00 04 'MQTT' // protocol name
        04           // level 4
        02           // flags: clean session
        00 3C        // keep alive 60 s
        00 02 'c1'   // client identifier
    ");
    both_ways(&Packet::Connect(Box::new(connect(V4))), V4, &bytes);
}

#[test]
fn connect_3_1_uses_mqisdp() {
    let mut c = connect(V3);
    c.keep_alive = 10;
    c.client_id = ByteString::from_static("abc");
    let bytes = hex("
        10 11          // CONNECT, remaining length 17
        00 06 'MQIsdp' // protocol name of MQTT 3.1
        03             // level 3
        02             // flags: clean session
        00 0A          // keep alive 10 s
        00 03 'abc'    // client identifier
    ");
    both_ways(&Packet::Connect(Box::new(c)), V3, &bytes);
}

#[test]
fn connack_3_1_1() {
    let ok = ConnAck {
        session_present: true,
        reason: ReasonCode::SUCCESS,
        properties: Properties::new(),
    };
    both_ways(
        &Packet::ConnAck(ok),
        V4,
        &hex("20 02 01 00 // session present, accepted"),
    );
    let refused = ConnAck {
        session_present: false,
        reason: ReasonCode::NOT_AUTHORIZED,
        properties: Properties::new(),
    };
    both_ways(
        &Packet::ConnAck(refused),
        V4,
        &hex("20 02 00 05 // return code 5 not authorized"),
    );
}

#[test]
fn connack_3_x_maps_reason_codes_onto_return_codes() {
    let codes = [
        (ReasonCode::SUCCESS, 0),
        (ReasonCode::UNSUPPORTED_PROTOCOL_VERSION, 1),
        (ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, 2),
        (ReasonCode::SERVER_UNAVAILABLE, 3),
        (ReasonCode::BAD_USER_NAME_OR_PASSWORD, 4),
        (ReasonCode::NOT_AUTHORIZED, 5),
    ];
    for (reason, rc) in codes {
        let ack = Packet::ConnAck(ConnAck {
            session_present: false,
            reason,
            properties: Properties::new(),
        });
        both_ways(&ack, V4, &[0x20, 0x02, 0x00, rc]);
    }
    // MQTT 5 only codes fall back on the nearest 3.x code, one way.
    let banned = Packet::ConnAck(ConnAck {
        session_present: false,
        reason: ReasonCode::BANNED,
        properties: Properties::new(),
    });
    assert_eq!(encode(&banned, V4), hex("20 02 00 05"));
    let busy = Packet::ConnAck(ConnAck {
        session_present: false,
        reason: ReasonCode::SERVER_BUSY,
        properties: Properties::new(),
    });
    assert_eq!(encode(&busy, V4), hex("20 02 00 03"));
}

#[test]
fn connack_3_1_has_no_session_present_flag() {
    let ack = Packet::ConnAck(ConnAck {
        session_present: true,
        reason: ReasonCode::SUCCESS,
        properties: Properties::new(),
    });
    // Sent as 0: the byte is unused in 3.1 ...
    assert_eq!(encode(&ack, V3), hex("20 02 00 00"));
    // ... and ignored when received.
    let Packet::ConnAck(got) = decode(&hex("20 02 01 00"), Some(V3)).unwrap() else {
        panic!()
    };
    assert!(!got.session_present);
}

fn publish(qos: QoS, packet_id: Option<u16>) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: ByteString::from_static("a/b"),
        packet_id: packet_id.map(pid),
        payload: Bytes::from_static(b"hi"),
        properties: Properties::new(),
    }
}

#[test]
fn publish_qos0() {
    let bytes = hex("
        30 07       // PUBLISH QoS 0, remaining length 7
        00 03 'a/b' // topic name
        'hi'        // payload
    ");
    for level in [V3, V4] {
        both_ways(
            &Packet::Publish(publish(QoS::AtMostOnce, None)),
            level,
            &bytes,
        );
    }
}

#[test]
fn publish_qos1_dup_retain() {
    let mut p = publish(QoS::AtLeastOnce, Some(7));
    p.dup = true;
    p.retain = true;
    let bytes = hex("
        3B          // PUBLISH, flags DUP, QoS 1, RETAIN
        09          // remaining length 9
        00 03 'a/b' // topic name
        00 07       // packet identifier 7
        'hi'        // payload
    ");
    both_ways(&Packet::Publish(p), V4, &bytes);
}

#[test]
fn publish_qos2_empty_payload() {
    let mut p = publish(QoS::ExactlyOnce, Some(0x1234));
    p.payload = Bytes::new();
    both_ways(
        &Packet::Publish(p),
        V4,
        &hex("34 07 00 03 'a/b' 12 34 // QoS 2, id 0x1234"),
    );
}

#[test]
fn publish_acknowledgements() {
    let ack = PubAck::success(pid(7));
    for level in [V3, V4] {
        both_ways(
            &Packet::PubAck(ack.clone()),
            level,
            &hex("40 02 00 07 // PUBACK id 7"),
        );
        both_ways(
            &Packet::PubRec(ack.clone()),
            level,
            &hex("50 02 00 07 // PUBREC id 7"),
        );
        both_ways(
            &Packet::PubRel(ack.clone()),
            level,
            &hex("62 02 00 07 // PUBREL, flags 0010"),
        );
        both_ways(
            &Packet::PubComp(ack.clone()),
            level,
            &hex("70 02 00 07 // PUBCOMP id 7"),
        );
    }
    // An MQTT 5 reason and properties are not sent to a 3.x client.
    let mut rich = PubAck::success(pid(7));
    rich.reason = ReasonCode::NO_MATCHING_SUBSCRIBERS;
    rich.properties
        .push(hookmq_codec::Property::ReasonString("none".into()));
    assert_eq!(encode(&Packet::PubAck(rich), V4), hex("40 02 00 07"));
}

#[test]
fn subscribe_and_suback() {
    let opts = |qos| SubscriptionOptions {
        qos,
        ..Default::default()
    };
    let s = Subscribe {
        packet_id: pid(10),
        filters: vec![
            (TopicFilter::new("a/+").unwrap(), opts(QoS::AtLeastOnce)),
            (TopicFilter::new("#").unwrap(), opts(QoS::ExactlyOnce)),
        ],
        properties: Properties::new(),
    };
    let bytes = hex("
        82 0C          // SUBSCRIBE, flags 0010, remaining length 12
        00 0A          // packet identifier 10
        00 03 'a/+' 01 // filter, requested QoS 1
        00 01 '#' 02   // filter, requested QoS 2
    ");
    for level in [V3, V4] {
        both_ways(&Packet::Subscribe(s.clone()), level, &bytes);
    }
    let ack = SubAck {
        packet_id: pid(10),
        reasons: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::UNSPECIFIED_ERROR],
        properties: Properties::new(),
    };
    both_ways(
        &Packet::SubAck(ack),
        V4,
        &hex("90 04 00 0A 01 80 // granted 1, failure"),
    );
    // MQTT 5 failure codes become 0x80.
    let refused = SubAck {
        packet_id: pid(10),
        reasons: vec![ReasonCode::NOT_AUTHORIZED, ReasonCode::GRANTED_QOS_2],
        properties: Properties::new(),
    };
    assert_eq!(
        encode(&Packet::SubAck(refused), V4),
        hex("90 04 00 0A 80 02")
    );
}

#[test]
fn subscribe_3_1_retry_may_set_dup() {
    // MQTT 3.1 retried SUBSCRIBE, UNSUBSCRIBE and PUBREL with DUP set.
    let bytes = hex("8A 06 00 01 00 01 '#' 00 // SUBSCRIBE, DUP | QoS 1 flags");
    assert!(matches!(decode(&bytes, Some(V3)), Ok(Packet::Subscribe(_))));
    assert!(decode(&bytes, Some(V4)).is_err());
}

#[test]
fn unsubscribe_and_unsuback() {
    let u = Unsubscribe {
        packet_id: pid(11),
        filters: vec![TopicFilter::new("a/+").unwrap()],
        properties: Properties::new(),
    };
    let bytes = hex("
        A2 07       // UNSUBSCRIBE, flags 0010, remaining length 7
        00 0B       // packet identifier 11
        00 03 'a/+' // filter
    ");
    both_ways(&Packet::Unsubscribe(u), V4, &bytes);
    let ack = UnsubAck {
        packet_id: pid(11),
        reasons: vec![],
        properties: Properties::new(),
    };
    both_ways(
        &Packet::UnsubAck(ack),
        V4,
        &hex("B0 02 00 0B // UNSUBACK, no payload in 3.x"),
    );
    // MQTT 5 reason codes are not sent to a 3.x client.
    let v5_style = UnsubAck {
        packet_id: pid(11),
        reasons: vec![ReasonCode::NO_SUBSCRIPTION_EXISTED],
        properties: Properties::new(),
    };
    assert_eq!(encode(&Packet::UnsubAck(v5_style), V4), hex("B0 02 00 0B"));
}

#[test]
fn ping_and_disconnect() {
    for level in [V3, V4] {
        both_ways(&Packet::PingReq, level, &hex("C0 00 // PINGREQ"));
        both_ways(&Packet::PingResp, level, &hex("D0 00 // PINGRESP"));
        both_ways(
            &Packet::Disconnect(Disconnect::default()),
            level,
            &hex("E0 00 // DISCONNECT"),
        );
    }
    // A reason code has nowhere to go in 3.x.
    let d = Disconnect {
        reason: ReasonCode::SESSION_TAKEN_OVER,
        properties: Properties::new(),
    };
    assert_eq!(hexdump(&encode(&Packet::Disconnect(d), V4)), "E0 00");
}
