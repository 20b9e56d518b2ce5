//! What a handler's answer may change, checked before the broker acts on it: which reason codes
//! each packet may carry, which properties travel with a message and what values they may hold.
//! The chain calls these checks on every value (so a native handler cannot make the broker send
//! an invalid packet either); drivers call them to turn a bad answer into a typed error early.

use hookmq_codec::{Property, PropertyId, ReasonCode, topic};

use crate::connack_terms::{ConnackTerms, Refusal, UserProperty};
use crate::message::Message;

/// The longest UTF-8 string or binary value an MQTT packet can carry (a two-byte length,
/// MQTT 5.0 §1.5.4 and §1.5.6).
pub const MAX_FIELD_LEN: usize = 65_535;

/// Why a handler's answer cannot be used as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RightError {
    /// A reason code the packet cannot carry.
    #[error("reason code {code:#04x} is not allowed in {packet}")]
    ReasonCode {
        /// The code.
        code: u8,
        /// The packet, e.g. `SUBACK`.
        packet: &'static str,
    },
    /// A property the packet cannot carry.
    #[error("property {property} cannot travel with {packet}")]
    Property {
        /// The property's name.
        property: &'static str,
        /// The packet, e.g. `PUBLISH`.
        packet: &'static str,
    },
    /// A single-valued property given more than once.
    #[error("property {0} given more than once")]
    Repeated(&'static str),
    /// A value the property cannot hold.
    #[error("{property}: {why}")]
    Value {
        /// The property's name.
        property: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A value longer than a packet field can hold.
    #[error("{what} is {len} bytes; at most {MAX_FIELD_LEN} fit in a packet")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// An answer for `client.subscribe` whose number of filters differs from the SUBSCRIBE's.
    #[error("{got} filters answered for a SUBSCRIBE of {expected}")]
    FilterCount {
        /// Filters answered.
        got: usize,
        /// Filters in the packet.
        expected: usize,
    },
}

/// Whether `code` may refuse one filter in a SUBACK: the failure codes of MQTT 5.0 §3.9.3
/// ([MQTT-3.9.3-2]: one per filter, in order). MQTT 3.1.1 clients receive each as 0x80.
pub fn suback_refusal(code: ReasonCode) -> Result<ReasonCode, RightError> {
    match code.0 {
        0x80 | 0x83 | 0x87 | 0x8F | 0x91 | 0x97 | 0x9E | 0xA1 | 0xA2 => Ok(code),
        other => Err(RightError::ReasonCode {
            code: other,
            packet: "SUBACK",
        }),
    }
}

/// Whether `code` may refuse a connection in a CONNACK: the failure codes of MQTT 5.0
/// §3.2.2.2 ([MQTT-3.2.2-7]: a code other than these is not sent). MQTT 3.1.1 clients receive
/// the mapping of [`ReasonCode::to_v3_connack`].
pub fn connack_refusal(code: ReasonCode) -> Result<ReasonCode, RightError> {
    match code.0 {
        0x80..=0x8A | 0x8C | 0x90 | 0x95 | 0x97 | 0x99..=0x9D | 0x9F => Ok(code),
        other => Err(RightError::ReasonCode {
            code: other,
            packet: "CONNACK",
        }),
    }
}

/// Whether the server may send `code` in a DISCONNECT (MQTT 5.0 §3.14.2.1, the codes marked
/// "Server" or "Client or Server"). MQTT 3.x has no DISCONNECT from the server: the connection
/// is closed.
pub fn disconnect_reason(code: ReasonCode) -> Result<ReasonCode, RightError> {
    match code.0 {
        0x00 | 0x80..=0x83 | 0x87 | 0x89 | 0x8B | 0x8D..=0x90 | 0x93..=0xA2 => Ok(code),
        other => Err(RightError::ReasonCode {
            code: other,
            packet: "DISCONNECT",
        }),
    }
}

/// Checks a text or binary value's length against what a packet field holds.
pub fn field_len(what: &'static str, len: usize) -> Result<(), RightError> {
    if len > MAX_FIELD_LEN {
        return Err(RightError::TooLong { what, len });
    }
    Ok(())
}

/// Checks a text a packet carries as an MQTT UTF-8 string: short enough for its field and
/// without U+0000, which a receiver must treat as malformed ([MQTT-1.5.4-2]).
fn mqtt_string(what: &'static str, s: &str) -> Result<(), RightError> {
    field_len(what, s.len())?;
    if s.contains('\0') {
        return Err(RightError::Value {
            property: what,
            why: "contains U+0000 [MQTT-1.5.4-2]".into(),
        });
    }
    Ok(())
}

/// The Reason String and User Properties of a CONNACK.
fn connack_text(reason_string: Option<&str>, users: &[UserProperty]) -> Result<(), RightError> {
    if let Some(t) = reason_string {
        mqtt_string("Reason String", t)?;
    }
    for u in users {
        mqtt_string("a user property name", &u.name)?;
        mqtt_string("a user property value", &u.value)?;
    }
    Ok(())
}

/// Checks a client id a handler assigns: 1 to 65,535 bytes of an MQTT UTF-8 string
/// ([MQTT-1.5.4-2]) with no control character (they are allowed on the wire but make an id that
/// logs, topics and the management API would show ambiguously; the broker never assigns one).
/// The broker then checks it against `mqtt.max_clientid_len` and the session's owner.
pub fn check_assigned_client_id(id: &str) -> Result<(), RightError> {
    const WHAT: &str = "Assigned Client Identifier";
    if id.is_empty() {
        return Err(RightError::Value {
            property: WHAT,
            why: "empty".into(),
        });
    }
    mqtt_string(WHAT, id)?;
    if id.chars().any(char::is_control) {
        return Err(RightError::Value {
            property: WHAT,
            why: format!("{id:?} contains a control character"),
        });
    }
    Ok(())
}

/// Checks the CONNACK terms of a grant: texts as MQTT strings, Receive Maximum not 0 (MQTT 5.0
/// §3.2.2.3.3: 0 is a protocol error), Maximum QoS 0, 1 or 2 (2 means no limit; the CONNACK
/// property itself is only ever 0 or 1, §3.2.2.3.4), and a well-formed assigned client id. Keep alive and expiry cannot be out of range
/// in their types; drivers refuse wider numbers when they read them.
pub fn check_connack_terms(t: &ConnackTerms) -> Result<(), RightError> {
    connack_text(t.reason_string.as_deref(), &t.user_properties)?;
    if t.receive_maximum == Some(0) {
        return Err(RightError::Value {
            property: "Receive Maximum",
            why: "0 is not allowed".into(),
        });
    }
    if let Some(q) = t.maximum_qos.filter(|q| *q > 2) {
        return Err(RightError::Value {
            property: "Maximum QoS",
            why: format!("{q} is not 0, 1 or 2"),
        });
    }
    if let Some(id) = &t.assigned_client_id {
        check_assigned_client_id(id)?;
    }
    Ok(())
}

/// Checks a refusal: a code CONNACK can carry ([MQTT-3.2.2-7]) and its texts.
pub fn check_refusal(r: &Refusal) -> Result<(), RightError> {
    connack_refusal(r.code)?;
    connack_text(r.reason_string.as_deref(), &r.user_properties)
}

/// Checks the properties a handler gave a message: only those that travel with an application
/// message (payload format, message expiry, content type, response topic, correlation data, user
/// properties — never topic alias or subscription identifiers, which the broker sets per
/// connection, [MQTT-3.3.2-7] [MQTT-3.3.4-3]), each single-valued one at most once, a payload
/// format of 0 or 1 with a UTF-8 payload when 1 ([MQTT-3.3.2-4]), a response topic that is a
/// topic name ([MQTT-3.3.2-14]), and every value short enough for a packet.
pub fn check_message(message: &Message) -> Result<(), RightError> {
    let mut seen = 0u64;
    for p in message.properties.iter() {
        let id = p.id();
        let name = id.name();
        match p {
            Property::PayloadFormatIndicator(v) => {
                if *v > 1 {
                    return Err(RightError::Value {
                        property: name,
                        why: format!("{v} is not 0 or 1"),
                    });
                }
                if *v == 1 && std::str::from_utf8(&message.payload).is_err() {
                    return Err(RightError::Value {
                        property: name,
                        why: "1 (UTF-8) but the payload is not UTF-8".into(),
                    });
                }
            }
            Property::MessageExpiryInterval(_) => {}
            Property::ContentType(t) => field_len(name, t.len())?,
            Property::ResponseTopic(t) => {
                field_len(name, t.len())?;
                topic::validate_name(t).map_err(|e| RightError::Value {
                    property: name,
                    why: format!("{t:?} is not a topic name: {e}"),
                })?;
            }
            Property::CorrelationData(d) => field_len(name, d.len())?,
            Property::UserProperty(k, v) => {
                field_len("a user property name", k.len())?;
                field_len("a user property value", v.len())?;
            }
            _ => {
                return Err(RightError::Property {
                    property: name,
                    packet: "PUBLISH",
                });
            }
        }
        if id != PropertyId::UserProperty {
            let bit = 1u64 << (id as u8);
            if seen & bit != 0 {
                return Err(RightError::Repeated(name));
            }
            seen |= bit;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hookmq_codec::{QoS, TopicName};

    fn message(payload: &'static [u8], props: Vec<Property>) -> Message {
        let mut m = Message::new(
            "c".into(),
            TopicName::new("t").unwrap(),
            Bytes::from_static(payload),
            QoS::AtMostOnce,
            false,
        );
        m.properties.0 = props;
        m
    }

    #[test]
    fn reason_codes_are_checked_per_packet() {
        assert!(suback_refusal(ReasonCode::NOT_AUTHORIZED).is_ok());
        assert!(suback_refusal(ReasonCode(0xA2)).is_ok());
        assert!(suback_refusal(ReasonCode::SUCCESS).is_err());
        assert!(suback_refusal(ReasonCode::SERVER_UNAVAILABLE).is_err());
        assert!(connack_refusal(ReasonCode::SERVER_UNAVAILABLE).is_ok());
        assert!(connack_refusal(ReasonCode::BANNED).is_ok());
        assert!(connack_refusal(ReasonCode::SUCCESS).is_err());
        assert!(connack_refusal(ReasonCode::TOPIC_FILTER_INVALID).is_err());
        assert!(connack_refusal(ReasonCode::SERVER_SHUTTING_DOWN).is_err());
        assert!(disconnect_reason(ReasonCode::ADMINISTRATIVE_ACTION).is_ok());
        assert!(disconnect_reason(ReasonCode::SUCCESS).is_ok());
        assert!(disconnect_reason(ReasonCode::BAD_USER_NAME_OR_PASSWORD).is_err());
        assert!(disconnect_reason(ReasonCode::DISCONNECT_WITH_WILL).is_err());
        assert!(disconnect_reason(ReasonCode(0xA3)).is_err());
    }

    #[test]
    fn message_properties_are_checked() {
        let ok = message(
            b"x",
            vec![
                Property::PayloadFormatIndicator(1),
                Property::ContentType("text/plain".into()),
                Property::ResponseTopic("r/1".into()),
                Property::UserProperty("a".into(), "1".into()),
                Property::UserProperty("a".into(), "2".into()),
            ],
        );
        assert_eq!(check_message(&ok), Ok(()));
        let bad = [
            vec![Property::TopicAlias(3)],
            vec![Property::SubscriptionIdentifier(3)],
            vec![Property::SessionExpiryInterval(3)],
            vec![Property::PayloadFormatIndicator(2)],
            vec![Property::ResponseTopic("r/#".into())],
            vec![
                Property::ContentType("a".into()),
                Property::ContentType("b".into()),
            ],
            vec![Property::CorrelationData(Bytes::from(vec![0; 70_000]))],
        ];
        for props in bad {
            assert!(
                check_message(&message(b"x", props.clone())).is_err(),
                "{props:?}"
            );
        }
        let not_utf8 = message(b"\xff", vec![Property::PayloadFormatIndicator(1)]);
        assert!(check_message(&not_utf8).is_err());
    }

    #[test]
    fn connack_terms_and_refusals_are_checked() {
        let ok = ConnackTerms {
            reason_string: Some("welcome".into()),
            user_properties: vec![UserProperty::new("k", "v")],
            session_expiry_interval: Some(u32::MAX),
            server_keep_alive: Some(u16::MAX),
            maximum_qos: Some(2),
            receive_maximum: Some(1),
            assigned_client_id: Some("tenant/dev-1".into()),
        };
        assert_eq!(check_connack_terms(&ok), Ok(()));
        let bad = [
            ConnackTerms {
                receive_maximum: Some(0),
                ..ConnackTerms::default()
            },
            ConnackTerms {
                maximum_qos: Some(3),
                ..ConnackTerms::default()
            },
            ConnackTerms {
                reason_string: Some("a\0b".into()),
                ..ConnackTerms::default()
            },
            ConnackTerms {
                user_properties: vec![UserProperty::new("k", "v".repeat(70_000))],
                ..ConnackTerms::default()
            },
        ];
        for t in bad {
            assert!(check_connack_terms(&t).is_err(), "{t:?}");
        }
        for id in ["", "a\0", "line\nbreak", "\u{85}", &"x".repeat(70_000)] {
            assert!(check_assigned_client_id(id).is_err(), "{id:?}");
        }
        assert_eq!(check_assigned_client_id("tenant/ü-1"), Ok(()));
        assert!(check_refusal(&Refusal::new(ReasonCode::BANNED)).is_ok());
        assert!(check_refusal(&Refusal::new(ReasonCode::SUCCESS)).is_err());
        assert!(check_refusal(&Refusal::new(ReasonCode::TOPIC_FILTER_INVALID)).is_err());
    }
}
