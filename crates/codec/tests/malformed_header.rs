//! Fixed-header violations and length mismatches: each is refused with the exact error (and MQTT
//! 5 reason code) the specification prescribes, most of them from the first byte alone.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::BytesMut;
use common::{decode, hex, malformed, protocol_error};
use hookmq_codec::{Packet, Protocol, decode_packet};

const V3: Option<Protocol> = Some(Protocol::V3_1);
const V4: Option<Protocol> = Some(Protocol::V3_1_1);
const V5: Option<Protocol> = Some(Protocol::V5);

/// Decodes just the first byte(s) of a packet, whose body has not arrived.
fn header_only(bytes: &[u8], protocol: Option<Protocol>) -> hookmq_codec::DecodeError {
    let mut buf = BytesMut::from(bytes);
    let e = decode_packet(&mut buf, protocol, common::MAX).unwrap_err();
    assert_eq!(&buf[..], bytes, "buffer changed");
    e
}

#[test]
fn packet_type_0_is_reserved() {
    malformed(&hex("00 00"), V4);
}

#[test]
fn first_packet_must_be_connect() {
    // [MQTT-3.1.0-1] refused from the first byte, before the body.
    for first in [0x30, 0x82, 0xC0, 0xE0, 0x20] {
        let e = header_only(&[first], None);
        assert!(
            matches!(e, hookmq_codec::DecodeError::Protocol(_)),
            "{first:02X}: {e:?}"
        );
    }
    protocol_error(&hex("C0 00 // PINGREQ before CONNECT"), None);
}

#[test]
fn auth_only_exists_in_5() {
    malformed(&hex("F0 00"), V4);
    malformed(&hex("F0 00"), V3);
    assert!(decode(&hex("F0 00"), V5).is_ok());
}

#[test]
fn pubrel_flags_must_be_0010() {
    malformed(&hex("60 02 00 01 // PUBREL flags 0000"), V4);
    malformed(&hex("63 02 00 01 // PUBREL flags 0011"), V5);
    malformed(&hex("6A 02 00 01 // PUBREL DUP: 3.1 only"), V4);
    assert!(decode(&hex("6A 02 00 01"), V3).is_ok());
}

#[test]
fn subscribe_flags_must_be_0010() {
    malformed(&hex("80 06 00 01 00 01 '#' 00"), V4);
    malformed(&hex("83 06 00 01 00 01 '#' 00"), V5);
}

#[test]
fn unsubscribe_flags_must_be_0010() {
    malformed(&hex("A0 05 00 01 00 01 '#'"), V4);
    malformed(&hex("A6 05 00 01 00 01 '#'"), V5);
}

#[test]
fn other_flags_must_be_0000() {
    // CONNECT before the protocol is known, and every other fixed-flag type after it.
    malformed(&hex("11 00"), None);
    for first in [0x21, 0x41, 0x52, 0x74, 0x98, 0xB1, 0xC1, 0xD2, 0xE4] {
        for level in [V3, V4, V5] {
            let e = header_only(&[first], level);
            assert!(
                matches!(e, hookmq_codec::DecodeError::Malformed(_)),
                "{first:02X}: {e:?}"
            );
        }
    }
    malformed(&hex("F1 00 // AUTH flags"), V5);
}

#[test]
fn publish_qos_3_is_malformed() {
    // [MQTT-3.3.1-4], from the first byte alone.
    for level in [V3, V4, V5] {
        let e = header_only(&[0x36], level);
        assert_eq!(e.reason_code(), hookmq_codec::ReasonCode::MALFORMED_PACKET);
    }
    malformed(&hex("36 07 00 03 'a/b' 00 01"), V5);
}

#[test]
fn publish_dup_with_qos_0_is_a_protocol_error() {
    // [MQTT-3.3.1-2] in 3.1.1 and 5.0.
    let bytes = hex("38 05 00 03 'a/b' // DUP, QoS 0");
    protocol_error(&bytes, V5);
    protocol_error(&bytes, V4);
    // MQTT 3.1 has no such rule.
    assert!(decode(&bytes, V3).is_ok());
}

#[test]
fn remaining_length_of_five_bytes_is_malformed() {
    // [MQTT-1.5.5-1]: detected at the fourth continuation bit, before more bytes arrive.
    let e = header_only(&hex("30 FF FF FF FF"), V4);
    assert_eq!(e.reason_code(), hookmq_codec::ReasonCode::MALFORMED_PACKET);
    malformed(&hex("30 80 80 80 80 00"), V4);
}

#[test]
fn packet_identifier_0_is_a_protocol_error() {
    // [MQTT-2.2.1-3]
    protocol_error(&hex("32 07 00 03 'a/b' 00 00 // PUBLISH QoS 1 id 0"), V4);
    protocol_error(&hex("40 02 00 00 // PUBACK id 0"), V5);
    protocol_error(&hex("62 02 00 00 // PUBREL id 0"), V4);
    protocol_error(&hex("82 06 00 00 00 01 '#' 00 // SUBSCRIBE id 0"), V4);
    protocol_error(&hex("A2 05 00 00 00 01 '#' // UNSUBSCRIBE id 0"), V4);
    protocol_error(&hex("90 03 00 00 00 // SUBACK id 0"), V4);
    protocol_error(&hex("B0 02 00 00 // UNSUBACK id 0"), V4);
}

#[test]
fn remaining_length_too_short_is_malformed() {
    malformed(&hex("40 01 00 // PUBACK with half a packet id"), V4);
    malformed(
        &hex("32 05 00 03 'a/b' // QoS 1 PUBLISH without its packet id"),
        V4,
    );
    malformed(&hex("30 04 00 05 'a/' // topic longer than the packet"), V4);
    malformed(&hex("20 01 00 // CONNACK without return code"), V4);
    malformed(
        &hex("82 02 00 01 // SUBSCRIBE cut before its first filter"),
        V5,
    );
    malformed(
        &hex("82 05 00 01 00 00 01 // SUBSCRIBE filter without options"),
        V5,
    );
}

#[test]
fn leftover_bytes_are_malformed() {
    malformed(&hex("C0 01 00 // PINGREQ with a body"), V4);
    malformed(&hex("D0 01 00 // PINGRESP with a body"), V5);
    malformed(&hex("E0 01 00 // 3.1.1 DISCONNECT with a body"), V4);
    malformed(
        &hex("40 03 00 01 00 // 3.1.1 PUBACK with a reason code"),
        V4,
    );
    malformed(&hex("B0 03 00 01 00 // 3.1.1 UNSUBACK with a payload"), V4);
    malformed(&hex("20 03 00 00 00 // 3.1.1 CONNACK with properties"), V4);
    malformed(
        &hex("E0 03 00 00 00 // 5.0 DISCONNECT after its properties"),
        V5,
    );
    malformed(
        &hex("40 05 00 01 00 00 00 // 5.0 PUBACK after its properties"),
        V5,
    );
    malformed(
        &hex("10 0F 00 04 'MQTT' 04 02 00 3C 00 02 'c1' 00 // CONNECT + 1"),
        None,
    );
}

#[test]
fn strings_must_be_utf8_without_null() {
    // [MQTT-1.5.4-1], [MQTT-1.5.4-2]
    malformed(
        &hex("30 05 00 03 'a' C3 28 // invalid UTF-8 in the topic"),
        V4,
    );
    malformed(&hex("30 05 00 03 'a' ED A0 // truncated sequence"), V4);
    malformed(
        &hex("30 06 00 04 ED A0 80 'a' // encoded surrogate U+D800"),
        V5,
    );
    malformed(&hex("30 05 00 03 'a' 00 'b' // U+0000 in the topic"), V4);
}

#[test]
fn packets_stay_in_the_buffer_order() {
    // Two packets back to back: each decode takes exactly one.
    let mut buf = BytesMut::from(&hex("C0 00 40 02 00 07 D0")[..]);
    let a = decode_packet(&mut buf, V4, common::MAX).unwrap();
    assert_eq!(a, Some(Packet::PingReq));
    let b = decode_packet(&mut buf, V4, common::MAX).unwrap();
    assert!(matches!(b, Some(Packet::PubAck(_))));
    assert_eq!(decode_packet(&mut buf, V4, common::MAX).unwrap(), None);
    assert_eq!(&buf[..], &[0xD0]);
}
