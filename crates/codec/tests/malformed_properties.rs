//! MQTT 5 property rules: where each property may appear (checked for every identifier in every
//! packet against the specification's table), unknown identifiers, duplicates, zero values,
//! booleans and the property length.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{decode, decode_err, hex, malformed, packet, protocol_error};
use hookmq_codec::{DecodeError, Packet, Property, Protocol, ReasonCode, TopicError};

const V5: Option<Protocol> = Some(Protocol::V5);

/// A property list with its length prefix (short lists only).
fn list(props: &[u8]) -> Vec<u8> {
    assert!(props.len() < 128);
    let mut v = vec![props.len() as u8];
    v.extend_from_slice(props);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Every packet (and the will) that carries properties, with a builder placing a property list.
type Builder = fn(&[u8]) -> (Vec<u8>, Option<Protocol>);

fn carriers() -> Vec<(&'static str, Builder, &'static [u8])> {
    // The allowed identifiers, transcribed from each packet's "Properties" section of MQTT 5.0.
    vec![
        (
            "CONNECT",
            |p| {
                let body = cat(&[
                    &hex("00 04 'MQTT' 05 02 00 00"),
                    &list(p),
                    &hex("00 01 'c'"),
                ]);
                (packet(0x10, &body), None)
            },
            &[0x11, 0x21, 0x27, 0x22, 0x19, 0x17, 0x26, 0x15, 0x16],
        ),
        (
            "will",
            |p| {
                let body = cat(&[
                    &hex("00 04 'MQTT' 05 06 00 00 00 00 01 'c'"),
                    &list(p),
                    &hex("00 01 't' 00 00"),
                ]);
                (packet(0x10, &body), None)
            },
            &[0x18, 0x01, 0x02, 0x03, 0x08, 0x09, 0x26],
        ),
        (
            "CONNACK",
            |p| (packet(0x20, &cat(&[&[0, 0], &list(p)])), V5),
            &[
                0x11, 0x21, 0x24, 0x25, 0x27, 0x12, 0x22, 0x1F, 0x26, 0x28, 0x29, 0x2A, 0x13, 0x1A,
                0x1C, 0x15, 0x16,
            ],
        ),
        (
            "PUBLISH",
            |p| {
                (
                    packet(0x30, &cat(&[&hex("00 01 't'"), &list(p), b"pay"])),
                    V5,
                )
            },
            &[0x01, 0x02, 0x23, 0x08, 0x09, 0x26, 0x0B, 0x03],
        ),
        (
            "PUBACK",
            |p| (packet(0x40, &cat(&[&[0, 1, 0], &list(p)])), V5),
            &[0x1F, 0x26],
        ),
        (
            "PUBREC",
            |p| (packet(0x50, &cat(&[&[0, 1, 0], &list(p)])), V5),
            &[0x1F, 0x26],
        ),
        (
            "PUBREL",
            |p| (packet(0x62, &cat(&[&[0, 1, 0], &list(p)])), V5),
            &[0x1F, 0x26],
        ),
        (
            "PUBCOMP",
            |p| (packet(0x70, &cat(&[&[0, 1, 0], &list(p)])), V5),
            &[0x1F, 0x26],
        ),
        (
            "SUBSCRIBE",
            |p| {
                (
                    packet(0x82, &cat(&[&[0, 1], &list(p), &hex("00 01 't' 00")])),
                    V5,
                )
            },
            &[0x0B, 0x26],
        ),
        (
            "SUBACK",
            |p| (packet(0x90, &cat(&[&[0, 1], &list(p), &[0]])), V5),
            &[0x1F, 0x26],
        ),
        (
            "UNSUBSCRIBE",
            |p| {
                (
                    packet(0xA2, &cat(&[&[0, 1], &list(p), &hex("00 01 't'")])),
                    V5,
                )
            },
            &[0x26],
        ),
        (
            "UNSUBACK",
            |p| (packet(0xB0, &cat(&[&[0, 1], &list(p), &[0]])), V5),
            &[0x1F, 0x26],
        ),
        (
            "DISCONNECT",
            |p| (packet(0xE0, &cat(&[&[0], &list(p)])), V5),
            &[0x11, 0x1F, 0x26, 0x1C],
        ),
        (
            "AUTH",
            |p| (packet(0xF0, &cat(&[&[0], &list(p)])), V5),
            &[0x15, 0x16, 0x1F, 0x26],
        ),
    ]
}

/// One valid encoding of each property (identifier and value).
const SAMPLES: [(u8, &str); 27] = [
    (0x01, "01 01"),
    (0x02, "02 00 00 00 0A"),
    (0x03, "03 00 01 'x'"),
    (0x08, "08 00 01 'x'"),
    (0x09, "09 00 01 AA"),
    (0x0B, "0B 05"),
    (0x11, "11 00 00 00 0A"),
    (0x12, "12 00 01 'x'"),
    (0x13, "13 00 0A"),
    (0x15, "15 00 01 'x'"),
    (0x16, "16 00 01 AA"),
    (0x17, "17 01"),
    (0x18, "18 00 00 00 0A"),
    (0x19, "19 01"),
    (0x1A, "1A 00 01 'x'"),
    (0x1C, "1C 00 01 'x'"),
    (0x1F, "1F 00 01 'x'"),
    (0x21, "21 00 0A"),
    (0x22, "22 00 0A"),
    (0x23, "23 00 0A"),
    (0x24, "24 01"),
    (0x25, "25 01"),
    (0x26, "26 00 01 'k' 00 01 'v'"),
    (0x27, "27 00 00 04 00"),
    (0x28, "28 01"),
    (0x29, "29 01"),
    (0x2A, "2A 01"),
];

#[test]
fn each_property_is_accepted_exactly_where_the_specification_lists_it() {
    for (carrier, build, allowed) in carriers() {
        for (id, sample) in SAMPLES {
            let mut props = hex(sample);
            if id == 0x16 && matches!(carrier, "CONNECT" | "CONNACK") {
                // Authentication Data needs an Authentication Method there.
                props.extend(hex("15 00 01 'm'"));
            }
            let (bytes, level) = build(&props);
            let got = decode(&bytes, level);
            if allowed.contains(&id) {
                assert!(
                    got.is_ok(),
                    "{carrier} refused property 0x{id:02X}: {got:?}"
                );
            } else {
                let e = got.expect_err(&format!("{carrier} accepted property 0x{id:02X}"));
                assert!(
                    matches!(e, DecodeError::Protocol(_)),
                    "{carrier} 0x{id:02X}: {e:?}"
                );
            }
        }
    }
}

#[test]
fn the_decoded_value_is_the_encoded_one() {
    let (bytes, level) = (carriers()[3].1)(&hex("0B 80 80 01 02 00 00 01 00"));
    let Packet::Publish(p) = decode(&bytes, level).unwrap() else {
        panic!()
    };
    assert_eq!(
        p.properties.0,
        vec![
            Property::SubscriptionIdentifier(16_384),
            Property::MessageExpiryInterval(256)
        ]
    );
    assert_eq!(&p.payload[..], b"pay");
}

#[test]
fn unknown_property_identifiers_are_malformed() {
    let publish = carriers()[3].1;
    for id in [
        "00",
        "04",
        "7F",
        "2B",
        "81 01 // 129 as a variable byte integer",
    ] {
        let d = malformed(&publish(&hex(&format!("{id} 00"))).0, V5);
        assert!(d.contains("unknown property"), "{id}: {d}");
    }
}

#[test]
fn single_valued_properties_must_not_repeat() {
    let publish = carriers()[3].1;
    for dup in [
        "02 00 00 00 01 02 00 00 00 02",
        "03 00 01 'a' 03 00 01 'b'",
        "23 00 01 23 00 01",
    ] {
        let d = protocol_error(&publish(&hex(dup)).0, V5);
        assert!(d.contains("more than once"), "{dup}: {d}");
    }
    let disconnect = carriers()[12].1;
    protocol_error(&disconnect(&hex("1F 00 01 'a' 1F 00 01 'b'")).0, V5);
}

#[test]
fn user_properties_repeat_in_order() {
    let puback = carriers()[4].1;
    let (bytes, level) = puback(&hex("26 00 01 'a' 00 00 26 00 01 'a' 00 01 '2'"));
    let Packet::PubAck(a) = decode(&bytes, level).unwrap() else {
        panic!()
    };
    let pairs: Vec<_> = a
        .properties
        .user_properties()
        .map(|(k, v)| (&**k, &**v))
        .collect();
    assert_eq!(pairs, [("a", ""), ("a", "2")]);
}

#[test]
fn subscription_identifier_repeats_only_in_publish() {
    let publish = carriers()[3].1;
    assert!(decode(&publish(&hex("0B 01 0B 02")).0, V5).is_ok());
    let subscribe = carriers()[8].1;
    protocol_error(&subscribe(&hex("0B 01 0B 02")).0, V5);
}

#[test]
fn zero_is_invalid_where_the_specification_says_so() {
    let connack = carriers()[2].1;
    let publish = carriers()[3].1;
    let subscribe = carriers()[8].1;
    let connect = carriers()[0].1;
    protocol_error(&connack(&hex("21 00 00 // receive maximum 0")).0, V5);
    protocol_error(&connect(&hex("21 00 00 // receive maximum 0")).0, None);
    protocol_error(
        &connack(&hex("27 00 00 00 00 // maximum packet size 0")).0,
        V5,
    );
    protocol_error(
        &connect(&hex("27 00 00 00 00 // maximum packet size 0")).0,
        None,
    );
    let alias0 = decode(&publish(&hex("23 00 00 // topic alias 0")).0, V5).unwrap_err();
    assert_eq!(alias0, DecodeError::TopicAliasInvalid);
    assert_eq!(alias0.reason_code(), ReasonCode::TOPIC_ALIAS_INVALID);
    protocol_error(&publish(&hex("0B 00 // subscription identifier 0")).0, V5);
    protocol_error(&subscribe(&hex("0B 00 // subscription identifier 0")).0, V5);
    // Zero is fine for the others, e.g. topic alias maximum and server keep alive.
    assert!(decode(&connack(&hex("22 00 00 13 00 00")).0, V5).is_ok());
}

#[test]
fn subscription_identifier_longer_than_four_bytes_is_malformed() {
    let subscribe = carriers()[8].1;
    malformed(&subscribe(&hex("0B FF FF FF FF 01")).0, V5);
    // The largest value, 268,435,455, is accepted.
    assert!(decode(&subscribe(&hex("0B FF FF FF 7F")).0, V5).is_ok());
}

#[test]
fn byte_booleans_must_be_0_or_1() {
    let connack = carriers()[2].1;
    let connect = carriers()[0].1;
    let publish = carriers()[3].1;
    for id in [0x24, 0x25, 0x28, 0x29, 0x2A] {
        protocol_error(&connack(&[id, 2]).0, V5);
        assert!(decode(&connack(&[id, 0]).0, V5).is_ok());
    }
    for id in [0x17, 0x19] {
        protocol_error(&connect(&[id, 2]).0, None);
    }
    protocol_error(&publish(&[0x01, 0xFF]).0, V5);
}

#[test]
fn property_length_must_cover_the_properties_exactly() {
    // Longer than the packet.
    malformed(&hex("40 05 00 01 00 05 1F // PUBACK"), V5);
    // A property running past the declared length is not completed from the payload.
    malformed(&hex("30 0C 00 01 't' 03 02 00 00 00 0A 'pay'"), V5);
    // A property cut inside the list.
    malformed(&hex("E0 04 00 02 1F 00"), V5);
}

#[test]
fn response_topic_must_be_a_topic_name() {
    // [MQTT-3.3.2-14]
    let publish = carriers()[3].1;
    let e = decode_err(&publish(&hex("08 00 03 'r/+'")).0, V5);
    assert_eq!(e, DecodeError::TopicName(TopicError::WildcardInName));
}

#[test]
fn property_strings_are_utf8_without_null() {
    let puback = carriers()[4].1;
    malformed(&puback(&hex("1F 00 01 FF")).0, V5);
    malformed(&puback(&hex("26 00 01 'k' 00 01 00")).0, V5);
}
