//! The MQTT 5 reason codes each packet may carry: a received code outside its packet's list is a
//! protocol error. Used by the decoder for every MQTT 5 acknowledgement, DISCONNECT and AUTH.

use crate::error::DecodeError;
use crate::packet::PacketType;
use crate::reason::ReasonCode;

/// Whether `code` is one of the reason codes MQTT 5 defines for packets of type `kind`.
pub(crate) fn allowed(kind: PacketType, code: u8) -> bool {
    check(kind, code).is_ok()
}

/// Checks that `code` is one of the reason codes MQTT 5 defines for packets of type `kind`.
pub(super) fn check(kind: PacketType, code: u8) -> Result<ReasonCode, DecodeError> {
    let (allowed, rule) = match kind {
        // [MQTT-3.2.2-8] §3.2.2.2 Connect Reason Codes.
        PacketType::ConnAck => (
            matches!(
                code,
                0x00 | 0x80..=0x8A | 0x8C | 0x90 | 0x95 | 0x97 | 0x99..=0x9D | 0x9F
            ),
            "reason code not allowed in CONNACK [MQTT-3.2.2-8]",
        ),
        // [MQTT-3.4.2-1] §3.4.2.1 PUBACK Reason Codes.
        PacketType::PubAck => (
            publish_ack(code),
            "reason code not allowed in PUBACK [MQTT-3.4.2-1]",
        ),
        // [MQTT-3.5.2-1] §3.5.2.1 PUBREC Reason Codes: the same list as PUBACK.
        PacketType::PubRec => (
            publish_ack(code),
            "reason code not allowed in PUBREC [MQTT-3.5.2-1]",
        ),
        // [MQTT-3.6.2-1] §3.6.2.1 PUBREL Reason Codes: success or packet identifier not found.
        PacketType::PubRel => (
            matches!(code, 0x00 | 0x92),
            "reason code not allowed in PUBREL [MQTT-3.6.2-1]",
        ),
        // [MQTT-3.7.2-1] §3.7.2.1 PUBCOMP Reason Codes: the same as PUBREL.
        PacketType::PubComp => (
            matches!(code, 0x00 | 0x92),
            "reason code not allowed in PUBCOMP [MQTT-3.7.2-1]",
        ),
        // [MQTT-3.9.3-2] §3.9.3 Subscribe Reason Codes.
        PacketType::SubAck => (
            matches!(
                code,
                0x00..=0x02 | 0x80 | 0x83 | 0x87 | 0x8F | 0x91 | 0x97 | 0x9E | 0xA1 | 0xA2
            ),
            "reason code not allowed in SUBACK [MQTT-3.9.3-2]",
        ),
        // [MQTT-3.11.3-2] §3.11.3 Unsubscribe Reason Codes.
        PacketType::UnsubAck => (
            matches!(code, 0x00 | 0x11 | 0x80 | 0x83 | 0x87 | 0x8F | 0x91),
            "reason code not allowed in UNSUBACK [MQTT-3.11.3-2]",
        ),
        // [MQTT-3.14.2-1] §3.14.2.1 Disconnect Reason Codes.
        PacketType::Disconnect => (
            matches!(
                code,
                0x00 | 0x04 | 0x80..=0x83 | 0x87 | 0x89 | 0x8B | 0x8D..=0x90 | 0x93..=0xA2
            ),
            "reason code not allowed in DISCONNECT [MQTT-3.14.2-1]",
        ),
        // [MQTT-3.15.2-1] §3.15.2.1 Authenticate Reason Codes.
        PacketType::Auth => (
            matches!(code, 0x00 | 0x18 | 0x19),
            "reason code not allowed in AUTH [MQTT-3.15.2-1]",
        ),
        PacketType::Connect
        | PacketType::Publish
        | PacketType::Subscribe
        | PacketType::Unsubscribe
        | PacketType::PingReq
        | PacketType::PingResp => (false, "packet carries no reason code"),
    };
    if allowed {
        Ok(ReasonCode(code))
    } else {
        Err(DecodeError::Protocol(rule))
    }
}

/// §3.4.2.1: the reason codes of PUBACK and PUBREC.
fn publish_ack(code: u8) -> bool {
    matches!(
        code,
        0x00 | 0x10 | 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists as the specification's tables give them, one code at a time.
    const TABLES: [(PacketType, &[u8]); 9] = [
        (
            PacketType::ConnAck,
            &[
                0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
                0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
            ],
        ),
        (
            PacketType::PubAck,
            &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        ),
        (
            PacketType::PubRec,
            &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        ),
        (PacketType::PubRel, &[0x00, 0x92]),
        (PacketType::PubComp, &[0x00, 0x92]),
        (
            PacketType::SubAck,
            &[
                0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
            ],
        ),
        (
            PacketType::UnsubAck,
            &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
        ),
        (
            PacketType::Disconnect,
            &[
                0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
                0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
                0xA2,
            ],
        ),
        (PacketType::Auth, &[0x00, 0x18, 0x19]),
    ];

    #[test]
    fn ranges_match_the_tables_of_the_specification() {
        for (kind, list) in TABLES {
            for code in 0..=255u8 {
                let expected = list.contains(&code);
                let got = check(kind, code);
                assert_eq!(got.is_ok(), expected, "{kind:?} code 0x{code:02X}");
                if let Err(e) = got {
                    assert_eq!(e.reason_code(), ReasonCode::PROTOCOL_ERROR);
                }
            }
        }
    }
}
