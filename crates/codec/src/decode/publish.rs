//! Parsing of PUBLISH (flags, topic, packet identifier, properties, payload) and of its four
//! acknowledgements PUBACK, PUBREC, PUBREL and PUBCOMP.

use crate::error::{DecodeError, TopicError};
use crate::packet::{Packet, PacketType, Protocol, PubAck, Publish, QoS};
use crate::property::{Properties, Property};
use crate::property_codec::{self, Carrier};
use crate::topic;
use crate::wire::Reader;

use super::{packet_id, reasons};

/// Checks the PUBLISH flags from the first byte, before the body is buffered.
pub(super) fn check_flags(flags: u8, protocol: Option<Protocol>) -> Result<(), DecodeError> {
    let qos = (flags >> 1) & 0b11;
    if qos == 3 {
        // [MQTT-3.3.1-4] a PUBLISH packet MUST NOT have both QoS bits set to 1.
        return Err(DecodeError::Malformed("PUBLISH with QoS 3 [MQTT-3.3.1-4]"));
    }
    let dup = flags & 0b1000 != 0;
    if dup && qos == 0 && matches!(protocol, Some(Protocol::V3_1_1 | Protocol::V5)) {
        // [MQTT-3.3.1-2] the DUP flag MUST be 0 for all QoS 0 messages (3.1.1 and 5.0; MQTT 3.1
        // only says DUP is unused at QoS 0).
        return Err(DecodeError::Protocol(
            "DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]",
        ));
    }
    Ok(())
}

/// PUBLISH; `flags` were checked by [`check_flags`].
pub(super) fn publish(flags: u8, mut r: Reader, protocol: Protocol) -> Result<Packet, DecodeError> {
    let qos = QoS::from_u8((flags >> 1) & 0b11)
        .ok_or(DecodeError::Malformed("PUBLISH with QoS 3 [MQTT-3.3.1-4]"))?;
    let topic = r.string()?;
    // [MQTT-2.2.1-2] a QoS 0 PUBLISH MUST NOT contain a packet identifier; QoS 1 and 2 do.
    let packet_id = if qos == QoS::AtMostOnce {
        None
    } else {
        Some(packet_id(&mut r)?)
    };
    let properties = if protocol.is_v5() {
        property_codec::decode(&mut r, Carrier::Publish)?
    } else {
        Properties::new()
    };
    if topic.is_empty() {
        if !protocol.is_v5() {
            // [MQTT-4.7.3-1] topic names are at least one character long.
            return Err(DecodeError::TopicName(TopicError::Empty));
        }
        if !properties
            .iter()
            .any(|p| matches!(p, Property::TopicAlias(_)))
        {
            // §3.3.2.3.4: a zero length topic name without a Topic Alias is a Protocol Error.
            return Err(DecodeError::Protocol(
                "empty topic name without a topic alias",
            ));
        }
    } else {
        // [MQTT-3.3.2-2] no wildcards in a topic name; [MQTT-4.7.3-1] not empty.
        topic::validate_name(&topic).map_err(DecodeError::TopicName)?;
    }
    // §3.3.3: the payload is whatever follows, possibly nothing.
    let payload = r.rest();
    Ok(Packet::Publish(Publish {
        dup: flags & 0b1000 != 0,
        qos,
        retain: flags & 0b0001 != 0,
        topic,
        packet_id,
        payload,
        properties,
    }))
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (`kind` says which).
pub(super) fn ack(
    kind: PacketType,
    mut r: Reader,
    protocol: Protocol,
) -> Result<PubAck, DecodeError> {
    let mut ack = PubAck::success(packet_id(&mut r)?);
    // §3.4.2.1 (and §3.5.2.1, §3.6.2.1, §3.7.2.1): with remaining length 2 the reason code is
    // 0x00 and there are no properties; with remaining length 3 there is no property length.
    if protocol.is_v5() && !r.is_empty() {
        ack.reason = reasons::check(kind, r.u8()?)?;
        if !r.is_empty() {
            ack.properties = property_codec::decode(&mut r, Carrier::PubAck)?;
        }
    }
    // 3.x: the remaining length is exactly 2.
    r.finish()?;
    Ok(ack)
}
