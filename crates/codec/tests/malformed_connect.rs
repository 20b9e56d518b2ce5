//! CONNECT and CONNACK violations: protocol name and level, connect flags, will, credentials,
//! acknowledge flags and return codes.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{decode, decode_err, hex, malformed, packet, protocol_error};
use hookmq_codec::{DecodeError, Protocol, ReasonCode, TopicError};

/// A CONNECT at `name`/`level` with connect `flags`, keep alive 60 and `rest` after it.
fn connect(name: &str, level: u8, flags: u8, rest: &str) -> Vec<u8> {
    let mut body = vec![0, name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(&[level, flags, 0x00, 0x3C]);
    body.extend(hex(rest));
    packet(0x10, &body)
}

#[test]
fn unknown_protocol_level_or_name_is_unsupported() {
    for (name, level) in [
        ("MQTT", 6),
        ("MQTT", 3),
        ("MQIsdp", 4),
        ("MQTX", 4),
        ("", 4),
    ] {
        let e = decode_err(&connect(name, level, 0x02, "00 02 'c1'"), None);
        assert_eq!(
            e,
            DecodeError::UnsupportedProtocol {
                name: name.into(),
                level
            }
        );
        assert_eq!(e.reason_code(), ReasonCode::UNSUPPORTED_PROTOCOL_VERSION);
    }
}

#[test]
fn protocol_name_must_be_a_string() {
    malformed(
        &hex("10 04 00 04 'MQ' // name longer than the packet"),
        None,
    );
    malformed(&connect("MQ\u{0}T", 4, 0x02, "00 02 'c1'"), None);
}

#[test]
fn reserved_connect_flag_must_be_0() {
    // [MQTT-3.1.2-3]
    for (name, level) in [("MQIsdp", 3), ("MQTT", 4), ("MQTT", 5)] {
        let rest = if level == 5 {
            "00 00 02 'c1'"
        } else {
            "00 02 'c1'"
        };
        let d = malformed(&connect(name, level, 0x03, rest), None);
        assert!(d.contains("3.1.2-3"), "{d}");
    }
}

#[test]
fn will_qos_without_will_is_malformed() {
    // [MQTT-3.1.2-11] (5.0) / [MQTT-3.1.2-13] (3.1.1)
    let d = malformed(&connect("MQTT", 4, 0x0A, "00 02 'c1'"), None);
    assert!(d.contains("will QoS"), "{d}");
    malformed(&connect("MQTT", 5, 0x12, "00 00 02 'c1'"), None);
}

#[test]
fn will_retain_without_will_is_malformed() {
    // [MQTT-3.1.2-13] (5.0) / [MQTT-3.1.2-15] (3.1.1)
    let d = malformed(&connect("MQTT", 4, 0x22, "00 02 'c1'"), None);
    assert!(d.contains("will retain"), "{d}");
    malformed(&connect("MQTT", 5, 0x22, "00 00 02 'c1'"), None);
}

#[test]
fn will_qos_3_is_malformed() {
    // [MQTT-3.1.2-14] (3.1.1) / [MQTT-3.1.2-12] (5.0)
    let d = malformed(
        &connect("MQTT", 4, 0x1E, "00 02 'c1' 00 01 't' 00 00"),
        None,
    );
    assert!(d.contains("will QoS 3"), "{d}");
}

#[test]
fn password_without_user_name_is_malformed_in_3_1_1() {
    // [MQTT-3.1.2-22]
    let d = malformed(&connect("MQTT", 4, 0x42, "00 02 'c1' 00 02 'pw'"), None);
    assert!(d.contains("3.1.2-22"), "{d}");
    // MQTT 5 allows it (tested in packets_v5).
    assert!(decode(&connect("MQTT", 5, 0x42, "00 00 02 'c1' 00 02 'pw'"), None).is_ok());
}

#[test]
fn fields_announced_by_flags_must_be_present() {
    // [MQTT-3.1.2-9], [MQTT-3.1.2-19], [MQTT-3.1.2-21]
    malformed(
        &connect(
            "MQTT",
            4,
            0x82,
            "00 02 'c1' // user name flag, no user name",
        ),
        None,
    );
    malformed(
        &connect("MQTT", 4, 0xC2, "00 02 'c1' 00 01 'u' // no password"),
        None,
    );
    malformed(
        &connect("MQTT", 4, 0x06, "00 02 'c1' 00 01 't' // no will payload"),
        None,
    );
    malformed(&connect("MQTT", 4, 0x02, "// no client identifier"), None);
}

#[test]
fn will_topic_must_be_a_valid_topic_name() {
    // [MQTT-3.1.3-11]
    let e = decode_err(
        &connect("MQTT", 4, 0x06, "00 02 'c1' 00 03 'a/#' 00 00"),
        None,
    );
    assert_eq!(e, DecodeError::TopicName(TopicError::WildcardInName));
    assert_eq!(e.reason_code(), ReasonCode::TOPIC_NAME_INVALID);
    let e = decode_err(&connect("MQTT", 4, 0x06, "00 02 'c1' 00 00 00 00"), None);
    assert_eq!(e, DecodeError::TopicName(TopicError::Empty));
}

#[test]
fn client_identifier_must_be_utf8() {
    malformed(&connect("MQTT", 4, 0x02, "00 02 C3 28"), None);
    malformed(&connect("MQTT", 4, 0x02, "00 02 'c' 00"), None);
}

#[test]
fn connect_properties_are_checked() {
    // Topic Alias is a PUBLISH property.
    protocol_error(&connect("MQTT", 5, 0x02, "03 23 00 01 00 02 'c1'"), None);
    // Will properties: Session Expiry Interval belongs to CONNECT, not to the will.
    let d = protocol_error(
        &connect(
            "MQTT",
            5,
            0x06,
            "00 00 02 'c1' 05 11 00 00 00 01 00 01 't' 00 00",
        ),
        None,
    );
    assert!(d.contains("not allowed"), "{d}");
    // The will's own properties are accepted.
    assert!(
        decode(
            &connect("MQTT", 5, 0x06, "00 00 02 'c1' 02 01 00 00 01 't' 00 00"),
            None
        )
        .is_ok()
    );
    // Authentication Data without Authentication Method (§3.1.2.11.10).
    protocol_error(&connect("MQTT", 5, 0x02, "04 16 00 01 AA 00 02 'c1'"), None);
    assert!(
        decode(
            &connect("MQTT", 5, 0x02, "05 15 00 02 'AM' 00 02 'c1'"),
            None
        )
        .is_ok()
    );
}

#[test]
fn connack_acknowledge_flags_reserved_bits_must_be_0() {
    // [MQTT-3.2.2-1]
    malformed(&hex("20 02 02 00"), Some(Protocol::V3_1_1));
    malformed(&hex("20 03 80 00 00"), Some(Protocol::V5));
}

#[test]
fn connack_reserved_return_code_is_refused() {
    protocol_error(
        &hex("20 02 00 06 // 3.1.1 return code 6"),
        Some(Protocol::V3_1_1),
    );
    protocol_error(&hex("20 02 00 80"), Some(Protocol::V3_1));
}

#[test]
fn connack_refusal_must_not_have_session_present() {
    // [MQTT-3.2.2-4] (3.1.1) / [MQTT-3.2.2-6] (5.0)
    protocol_error(&hex("20 02 01 05"), Some(Protocol::V3_1_1));
    protocol_error(&hex("20 03 01 87 00"), Some(Protocol::V5));
}

#[test]
fn connack_5_reason_code_must_be_a_connect_reason() {
    // [MQTT-3.2.2-8]: 0x04 and 0x8B are DISCONNECT codes, not CONNACK ones.
    protocol_error(&hex("20 03 00 04 00"), Some(Protocol::V5));
    protocol_error(&hex("20 03 00 8B 00"), Some(Protocol::V5));
}

#[test]
fn connack_5_needs_its_property_length() {
    malformed(&hex("20 02 00 00"), Some(Protocol::V5));
}

#[test]
fn connack_properties_are_checked() {
    // Maximum QoS 2 is not allowed (§3.2.2.3.4: 0 or 1).
    protocol_error(&hex("20 05 00 00 02 24 02"), Some(Protocol::V5));
    // Will Delay Interval is a will property.
    protocol_error(&hex("20 08 00 00 05 18 00 00 00 01"), Some(Protocol::V5));
}
