//! PUBLISH, SUBSCRIBE, UNSUBSCRIBE and acknowledgement violations: topic names and filters,
//! subscription options, reason codes, short forms.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{decode, decode_err, hex, malformed, protocol_error};
use hookmq_codec::{DecodeError, Packet, Protocol, ReasonCode, TopicError};

const V3: Option<Protocol> = Some(Protocol::V3_1);
const V4: Option<Protocol> = Some(Protocol::V3_1_1);
const V5: Option<Protocol> = Some(Protocol::V5);

#[test]
fn publish_topic_must_not_contain_wildcards() {
    // [MQTT-3.3.2-2]
    for level in [V3, V4] {
        let e = decode_err(&hex("30 05 00 03 'a/+'"), level);
        assert_eq!(e, DecodeError::TopicName(TopicError::WildcardInName));
        assert_eq!(e.reason_code(), ReasonCode::TOPIC_NAME_INVALID);
    }
    let e = decode_err(&hex("30 04 00 01 '#' 00"), V5);
    assert_eq!(e, DecodeError::TopicName(TopicError::WildcardInName));
}

#[test]
fn publish_topic_must_not_be_empty_before_5() {
    // [MQTT-4.7.3-1]
    let e = decode_err(&hex("30 03 00 00 'x'"), V4);
    assert_eq!(e, DecodeError::TopicName(TopicError::Empty));
}

#[test]
fn empty_topic_needs_a_topic_alias_in_5() {
    // §3.3.2.3.4
    let d = protocol_error(&hex("30 04 00 00 00 'x'"), V5);
    assert!(d.contains("topic alias"), "{d}");
    let d = protocol_error(&hex("30 09 00 00 05 02 00 00 00 01 'x'"), V5);
    assert!(d.contains("topic alias"), "{d}");
}

#[test]
fn subscribe_needs_a_filter() {
    // [MQTT-3.8.3-3]
    let d = protocol_error(&hex("82 02 00 01"), V4);
    assert!(d.contains("3.8.3-3"), "{d}");
    protocol_error(&hex("82 03 00 01 00"), V5);
}

#[test]
fn unsubscribe_needs_a_filter() {
    // [MQTT-3.10.3-2]
    let d = protocol_error(&hex("A2 02 00 01"), V4);
    assert!(d.contains("3.10.3-2"), "{d}");
    protocol_error(&hex("A2 03 00 01 00"), V5);
}

#[test]
fn subscribe_filters_are_validated() {
    let cases = [
        ("a/#/b", TopicError::MisplacedMultiLevelWildcard),
        ("a+", TopicError::MisplacedSingleLevelWildcard),
        ("$share/g", TopicError::InvalidShare),
        ("$share//x", TopicError::InvalidShare),
    ];
    for (filter, expected) in cases {
        let mut body = vec![0, 1, 0, filter.len() as u8];
        body.extend_from_slice(filter.as_bytes());
        body.push(0);
        let e = decode_err(&common::packet(0x82, &body), V4);
        assert_eq!(e, DecodeError::TopicFilter(expected), "{filter}");
        assert_eq!(e.reason_code(), ReasonCode::TOPIC_FILTER_INVALID);
        // UNSUBSCRIBE validates the same way.
        body.pop();
        let e = decode_err(&common::packet(0xA2, &body), V4);
        assert_eq!(e, DecodeError::TopicFilter(expected), "{filter}");
    }
    let e = decode_err(&hex("82 05 00 01 00 00 00 // empty filter"), V4);
    assert_eq!(e, DecodeError::TopicFilter(TopicError::Empty));
}

#[test]
fn requested_qos_byte_before_5_has_only_qos_bits() {
    // 3.1.1 [MQTT-3.8.3-4]: upper six bits reserved, QoS 0..2.
    let d = malformed(
        &hex("82 06 00 01 00 01 't' 04 // no local bit in 3.1.1"),
        V4,
    );
    assert!(d.contains("reserved"), "{d}");
    malformed(&hex("82 06 00 01 00 01 't' 80"), V3);
    let d = malformed(&hex("82 06 00 01 00 01 't' 03 // QoS 3"), V4);
    assert!(d.contains("QoS 3"), "{d}");
}

#[test]
fn subscription_options_reserved_bits_must_be_0() {
    // [MQTT-3.8.3-5]
    let d = malformed(&hex("82 07 00 01 00 00 01 't' 40"), V5);
    assert!(d.contains("3.8.3-5"), "{d}");
    malformed(&hex("82 07 00 01 00 00 01 't' 80"), V5);
}

#[test]
fn subscription_maximum_qos_3_is_a_protocol_error_in_5() {
    // §3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3."
    let d = protocol_error(&hex("82 07 00 01 00 00 01 't' 03"), V5);
    assert!(d.contains("QoS 3"), "{d}");
}

#[test]
fn retain_handling_3_is_a_protocol_error() {
    // §3.8.3.1: "It is a Protocol Error to send a Retain Handling value of 3."
    let d = protocol_error(&hex("82 07 00 01 00 00 01 't' 30"), V5);
    assert!(d.contains("retain handling"), "{d}");
}

#[test]
fn no_local_on_a_shared_subscription_is_a_protocol_error() {
    // [MQTT-3.8.3-4] (5.0)
    let d = protocol_error(&hex("82 10 00 01 00 00 0A '$share/g/t' 04"), V5);
    assert!(d.contains("3.8.3-4"), "{d}");
    assert!(decode(&hex("82 10 00 01 00 00 0A '$share/g/t' 00"), V5).is_ok());
}

#[test]
fn acknowledgement_reason_codes_must_belong_to_the_packet() {
    let cases = [
        (
            "40 03 00 01 92 // PUBACK: id not found is PUBREL/PUBCOMP only",
            "3.4.2-1",
        ),
        ("50 03 00 01 92 // PUBREC", "3.5.2-1"),
        (
            "62 03 00 01 10 // PUBREL: no matching subscribers",
            "3.6.2-1",
        ),
        ("70 03 00 01 80 // PUBCOMP", "3.7.2-1"),
        (
            "90 04 00 01 00 11 // SUBACK: no subscription existed",
            "3.9.3-2",
        ),
        ("B0 04 00 01 00 01 // UNSUBACK: granted QoS 1", "3.11.3-2"),
        ("E0 01 01 // DISCONNECT: 0x01", "3.14.2-1"),
        (
            "E0 01 84 // DISCONNECT: unsupported protocol version",
            "3.14.2-1",
        ),
        ("F0 02 01 00 // AUTH", "3.15.2-1"),
    ];
    for (listing, rule) in cases {
        let d = protocol_error(&hex(listing), V5);
        assert!(d.contains(rule), "{listing}: {d}");
    }
}

#[test]
fn suback_return_codes_before_5() {
    // 3.1.1 [MQTT-3.9.3-2]: 0, 1, 2 and 0x80 only.
    protocol_error(&hex("90 03 00 01 03"), V4);
    protocol_error(&hex("90 03 00 01 87"), V4);
    let Packet::SubAck(a) = decode(&hex("90 06 00 01 00 01 02 80"), V4).unwrap() else {
        panic!()
    };
    assert_eq!(
        a.reasons,
        [
            ReasonCode(0),
            ReasonCode(1),
            ReasonCode(2),
            ReasonCode(0x80)
        ]
    );
}

#[test]
fn acknowledgements_of_filters_need_a_code() {
    protocol_error(&hex("90 02 00 01 // SUBACK without codes"), V4);
    protocol_error(&hex("90 03 00 01 00 // 5.0 SUBACK without codes"), V5);
    protocol_error(&hex("B0 03 00 01 00 // 5.0 UNSUBACK without codes"), V5);
}

#[test]
fn auth_reason_code_alone_is_malformed() {
    // §3.15.2.1: only the zero-length form omits the property length.
    malformed(&hex("F0 01 18"), V5);
}

#[test]
fn short_forms_decode_to_success_without_properties() {
    let Packet::PubAck(a) = decode(&hex("40 02 00 09"), V5).unwrap() else {
        panic!()
    };
    assert_eq!((a.packet_id.get(), a.reason), (9, ReasonCode::SUCCESS));
    assert!(a.properties.is_empty());
    let Packet::Disconnect(d) = decode(&hex("E0 01 8B"), V5).unwrap() else {
        panic!()
    };
    assert_eq!(d.reason, ReasonCode::SERVER_SHUTTING_DOWN);
    assert!(d.properties.is_empty());
}
