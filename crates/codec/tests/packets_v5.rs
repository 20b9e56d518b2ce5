//! Byte-annotated MQTT 5.0 packets, checked in both directions: properties, reason codes and
//! the short forms of acknowledgements.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::{both_ways, decode, encode, hex};
use hookmq_codec::{
    Auth, ByteString, ConnAck, Connect, Disconnect, LastWill, Packet, PacketId, Properties,
    Property, Protocol, PubAck, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName, UnsubAck, Unsubscribe,
};

const V5: Protocol = Protocol::V5;

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn s(v: &'static str) -> ByteString {
    ByteString::from_static(v)
}

#[test]
fn connect_with_properties_and_will_properties() {
    let c = Connect {
        protocol: V5,
        clean_start: true,
        keep_alive: 30,
        client_id: s("c5"),
        will: Some(LastWill {
            topic: TopicName::new("w/t").unwrap(),
            payload: Bytes::from_static(b"xy"),
            qos: QoS::ExactlyOnce,
            retain: false,
            properties: Properties(vec![
                Property::WillDelayInterval(5),
                Property::PayloadFormatIndicator(1),
            ]),
        }),
        username: Some(s("u")),
        password: Some(Bytes::from_static(b"pw")),
        properties: Properties(vec![Property::SessionExpiryInterval(120)]),
    };
    let bytes = hex("
        10 2C            // CONNECT, remaining length 44
        00 04 'MQTT'     // protocol name
        05               // level 5
        D6               // flags: user name, password, will QoS 2, will, clean start
        00 1E            // keep alive 30 s
        05               // property length 5
        11 00 00 00 78   //   session expiry interval 120 s
        00 02 'c5'       // client identifier
        07               // will property length 7
        18 00 00 00 05   //   will delay interval 5 s
        01 01            //   payload format indicator: UTF-8
        00 03 'w/t'      // will topic
        00 02 'xy'       // will payload
        00 01 'u'        // user name
        00 02 'pw'       // password
    ");
    both_ways(&Packet::Connect(Box::new(c)), V5, &bytes);
}

#[test]
fn connect_with_password_only_is_allowed_in_5() {
    let bytes = hex("
        10 11        // CONNECT, remaining length 17
        00 04 'MQTT' // protocol name
        05           // level 5
        40           // flags: password only
        00 00        // keep alive off
        00           // no properties
        00 00        // empty client identifier
        00 02 'pw'   // password
    ");
    let Packet::Connect(c) = decode(&bytes, None).unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.username, c.password),
        (None, Some(Bytes::from_static(b"pw")))
    );
    assert!(c.client_id.is_empty());
}

#[test]
fn connack_with_properties() {
    let ack = ConnAck {
        session_present: true,
        reason: ReasonCode::SUCCESS,
        properties: Properties(vec![
            Property::TopicAliasMaximum(10),
            Property::ReceiveMaximum(20),
            Property::MaximumQos(1),
            Property::UserProperty(s("k"), s("v")),
        ]),
    };
    let bytes = hex("
        20 12                   // CONNACK, remaining length 18
        01                      // session present
        00                      // success
        0F                      // property length 15
        22 00 0A                //   topic alias maximum 10
        21 00 14                //   receive maximum 20
        24 01                   //   maximum QoS 1
        26 00 01 'k' 00 01 'v'  //   user property k=v
    ");
    both_ways(&Packet::ConnAck(ack), V5, &bytes);
    let refused = ConnAck {
        session_present: false,
        reason: ReasonCode::NOT_AUTHORIZED,
        properties: Properties::new(),
    };
    both_ways(
        &Packet::ConnAck(refused),
        V5,
        &hex("20 03 00 87 00 // not authorized, no props"),
    );
}

#[test]
fn publish_with_every_publish_property() {
    let p = Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: s("a/b"),
        packet_id: Some(pid(7)),
        payload: Bytes::from_static(b"hi"),
        properties: Properties(vec![
            Property::PayloadFormatIndicator(1),
            Property::MessageExpiryInterval(60),
            Property::TopicAlias(5),
            Property::ResponseTopic(s("r/t")),
            Property::CorrelationData(Bytes::from_static(&[0xBE, 0xEF])),
            Property::UserProperty(s("k"), s("v")),
            Property::SubscriptionIdentifier(129),
            Property::SubscriptionIdentifier(2),
            Property::ContentType(s("text")),
        ]),
    };
    let bytes = hex("
        32 32                   // PUBLISH QoS 1, remaining length 50
        00 03 'a/b'             // topic name
        00 07                   // packet identifier 7
        28                      // property length 40
        01 01                   //   payload format indicator: UTF-8
        02 00 00 00 3C          //   message expiry interval 60 s
        23 00 05                //   topic alias 5
        08 00 03 'r/t'          //   response topic
        09 00 02 BE EF          //   correlation data
        26 00 01 'k' 00 01 'v'  //   user property
        0B 81 01                //   subscription identifier 129 (variable byte integer)
        0B 02                   //   subscription identifier 2 (may repeat in PUBLISH)
        03 00 04 'text'         //   content type
        'hi'                    // payload
    ");
    both_ways(&Packet::Publish(p), V5, &bytes);
}

#[test]
fn publish_with_empty_topic_and_topic_alias() {
    let p = Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: true,
        topic: ByteString::new(),
        packet_id: None,
        payload: Bytes::from_static(b"x"),
        properties: Properties(vec![Property::TopicAlias(5)]),
    };
    let bytes = hex("
        31 07    // PUBLISH QoS 0 retain, remaining length 7
        00 00    // empty topic name: the alias names it
        03       // property length 3
        23 00 05 //   topic alias 5
        'x'      // payload
    ");
    both_ways(&Packet::Publish(p), V5, &bytes);
}

#[test]
fn publish_acknowledgement_forms() {
    let ok = PubAck::success(pid(7));
    both_ways(
        &Packet::PubAck(ok.clone()),
        V5,
        &hex("40 02 00 07 // success: short form"),
    );
    both_ways(
        &Packet::PubComp(ok.clone()),
        V5,
        &hex("70 02 00 07 // PUBCOMP success"),
    );
    let mut nms = ok.clone();
    nms.reason = ReasonCode::NO_MATCHING_SUBSCRIBERS;
    both_ways(
        &Packet::PubRec(nms),
        V5,
        &hex("50 03 00 07 10 // reason, no property length"),
    );
    let mut nf = ok.clone();
    nf.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
    both_ways(
        &Packet::PubRel(nf),
        V5,
        &hex("62 03 00 07 92 // PUBREL id not found"),
    );
    let mut full = ok.clone();
    full.reason = ReasonCode::QUOTA_EXCEEDED;
    full.properties.push(Property::ReasonString(s("full")));
    let bytes = hex("
        40 0B            // PUBACK, remaining length 11
        00 07            // packet identifier
        97               // quota exceeded
        07               // property length 7
        1F 00 04 'full'  //   reason string
    ");
    both_ways(&Packet::PubAck(full), V5, &bytes);
    // The long forms of a plain success decode to the same value.
    assert_eq!(
        decode(&hex("40 04 00 07 00 00"), Some(V5)).unwrap(),
        Packet::PubAck(ok.clone())
    );
    assert_eq!(
        decode(&hex("40 03 00 07 00"), Some(V5)).unwrap(),
        Packet::PubAck(ok)
    );
}

#[test]
fn subscribe_with_options_and_identifier() {
    let sub = Subscribe {
        packet_id: pid(10),
        filters: vec![
            (
                TopicFilter::new("a/+").unwrap(),
                SubscriptionOptions {
                    qos: QoS::AtLeastOnce,
                    no_local: true,
                    retain_as_published: true,
                    retain_handling: RetainHandling::DoNotSend,
                },
            ),
            (
                TopicFilter::new("$share/g/x").unwrap(),
                SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    retain_handling: RetainHandling::SendIfNew,
                    ..Default::default()
                },
            ),
        ],
        properties: Properties(vec![Property::SubscriptionIdentifier(128)]),
    };
    let bytes = hex("
        82 19                 // SUBSCRIBE, remaining length 25
        00 0A                 // packet identifier 10
        03                    // property length 3
        0B 80 01              //   subscription identifier 128
        00 03 'a/+'           // filter
        2D                    //   QoS 1, no local, retain as published, retain handling 2
        00 0A '$share/g/x'    // shared filter
        12                    //   QoS 2, retain handling 1
    ");
    both_ways(&Packet::Subscribe(sub), V5, &bytes);
}

#[test]
fn suback_unsubscribe_unsuback() {
    let ack = SubAck {
        packet_id: pid(10),
        reasons: vec![
            ReasonCode::GRANTED_QOS_1,
            ReasonCode::NOT_AUTHORIZED,
            ReasonCode(0xA2),
        ],
        properties: Properties::new(),
    };
    both_ways(
        &Packet::SubAck(ack),
        V5,
        &hex("90 06 00 0A 00 01 87 A2 // id, no props, codes"),
    );
    let u = Unsubscribe {
        packet_id: pid(11),
        filters: vec![TopicFilter::new("a/+").unwrap()],
        properties: Properties(vec![Property::UserProperty(s("k"), s("v"))]),
    };
    let bytes = hex("
        A2 0F                   // UNSUBSCRIBE, remaining length 15
        00 0B                   // packet identifier 11
        07                      // property length 7
        26 00 01 'k' 00 01 'v'  //   user property
        00 03 'a/+'             // filter
    ");
    both_ways(&Packet::Unsubscribe(u), V5, &bytes);
    let ua = UnsubAck {
        packet_id: pid(11),
        reasons: vec![ReasonCode::NO_SUBSCRIPTION_EXISTED],
        properties: Properties::new(),
    };
    both_ways(
        &Packet::UnsubAck(ua),
        V5,
        &hex("B0 04 00 0B 00 11 // id, no props, 0x11"),
    );
}

#[test]
fn disconnect_forms() {
    both_ways(
        &Packet::Disconnect(Disconnect::default()),
        V5,
        &hex("E0 00 // normal"),
    );
    let will = Disconnect {
        reason: ReasonCode::DISCONNECT_WITH_WILL,
        properties: Properties::new(),
    };
    both_ways(
        &Packet::Disconnect(will),
        V5,
        &hex("E0 01 04 // with will, no property length"),
    );
    let taken = Disconnect {
        reason: ReasonCode::SESSION_TAKEN_OVER,
        properties: Properties(vec![Property::SessionExpiryInterval(0)]),
    };
    let bytes = hex("
        E0 07            // DISCONNECT, remaining length 7
        8E               // session taken over
        05               // property length 5
        11 00 00 00 00   //   session expiry interval 0
    ");
    both_ways(&Packet::Disconnect(taken), V5, &bytes);
    assert_eq!(
        decode(&hex("E0 02 00 00"), Some(V5)).unwrap(),
        Packet::Disconnect(Disconnect::default())
    );
}

#[test]
fn auth_forms() {
    both_ways(
        &Packet::Auth(Auth::default()),
        V5,
        &hex("F0 00 // success, no properties"),
    );
    let cont = Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties(vec![
            Property::AuthenticationMethod(s("SCRM")),
            Property::AuthenticationData(Bytes::from_static(&[1, 2])),
        ]),
    };
    let bytes = hex("
        F0 0E             // AUTH, remaining length 14
        18                // continue authentication
        0C                // property length 12
        15 00 04 'SCRM'   //   authentication method
        16 00 02 01 02    //   authentication data
    ");
    both_ways(&Packet::Auth(cont), V5, &bytes);
    // AUTH has no one-byte form: a reason without properties gets a property length of 0.
    let re = Auth {
        reason: ReasonCode::RE_AUTHENTICATE,
        properties: Properties::new(),
    };
    both_ways(&Packet::Auth(re), V5, &hex("F0 02 19 00"));
}

#[test]
fn pings() {
    both_ways(&Packet::PingReq, V5, &hex("C0 00"));
    both_ways(&Packet::PingResp, V5, &hex("D0 00"));
}

#[test]
fn auth_cannot_be_encoded_before_5() {
    let e = hookmq_codec::encode_packet(
        &Packet::Auth(Auth::default()),
        Protocol::V3_1_1,
        &mut bytes::BytesMut::new(),
    );
    assert_eq!(e, Err(hookmq_codec::EncodeError::NotInProtocol("AUTH")));
    assert!(hookmq_codec::encoded_len(&Packet::Auth(Auth::default()), Protocol::V3_1).is_err());
    // Properties are dropped below 5 rather than refused.
    let p = Packet::Disconnect(Disconnect {
        reason: ReasonCode::SUCCESS,
        properties: Properties(vec![Property::ReasonString(s("bye"))]),
    });
    assert_eq!(encode(&p, Protocol::V3_1_1), hex("E0 00"));
}
