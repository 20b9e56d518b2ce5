//! Sizing and writing of PUBLISH and of PUBACK, PUBREC, PUBREL and PUBCOMP.

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::packet::{Protocol, PubAck, Publish, QoS};
use crate::property::Property;
use crate::reason::ReasonCode;
use crate::wire::{self, field_len};

use super::{Plan, props_size, put_props};

/// The PUBLISH first byte. DUP is only written with QoS 1 and 2 ([MQTT-3.3.1-2]: it MUST be 0
/// for QoS 0, so a QoS 0 copy of a retried message loses it).
pub(super) fn first_byte(p: &Publish) -> u8 {
    let mut b = 0x30 | (p.qos.as_u8() << 1);
    if p.dup && p.qos != QoS::AtMostOnce {
        b |= 0x08;
    }
    if p.retain {
        b |= 0x01;
    }
    b
}

/// Sizes a PUBLISH. A packet identifier given with QoS 0 is not written ([MQTT-2.2.1-2]).
pub(super) fn plan_publish(p: &Publish, protocol: Protocol) -> Result<Plan, EncodeError> {
    if p.topic.is_empty()
        && !(protocol.is_v5()
            && p.properties
                .iter()
                .any(|q| matches!(q, Property::TopicAlias(_))))
    {
        // [MQTT-4.7.3-1]; MQTT 5 §3.3.2.3.4 allows it only with a Topic Alias.
        return Err(EncodeError::Invalid(
            "PUBLISH with an empty topic and no topic alias",
        ));
    }
    let mut len = field_len(p.topic.len(), "topic name")?;
    if p.qos != QoS::AtMostOnce {
        if p.packet_id.is_none() {
            // [MQTT-2.2.1-3] QoS 1 and 2 PUBLISH packets carry a packet identifier.
            return Err(EncodeError::Invalid(
                "PUBLISH with QoS > 0 and no packet identifier",
            ));
        }
        len += 2;
    }
    let (size, props) = props_size(&p.properties, protocol)?;
    len += size + p.payload.len();
    Ok(Plan {
        remaining: len,
        props,
        will_props: None,
        reason: false,
    })
}

/// Writes a PUBLISH sized by [`plan_publish`].
pub(super) fn write_publish(p: &Publish, plan: &Plan, buf: &mut BytesMut) {
    wire::put_field(buf, p.topic.as_bytes());
    if let (Some(id), false) = (p.packet_id, p.qos == QoS::AtMostOnce) {
        buf.put_u16(id.get());
    }
    put_props(buf, &p.properties, plan.props);
    buf.put_slice(&p.payload);
}

/// Sizes an acknowledgement of a PUBLISH. MQTT 5 uses the two-byte form for success without
/// properties and the three-byte form (no property length) for another reason without
/// properties (§3.4.2.1, §3.4.2.2.1); 3.x always the two-byte form.
pub(super) fn plan_ack(a: &PubAck, protocol: Protocol) -> Result<Plan, EncodeError> {
    if !protocol.is_v5() {
        return Ok(Plan {
            remaining: 2,
            ..Plan::default()
        });
    }
    if a.properties.is_empty() {
        let reason = a.reason != ReasonCode::SUCCESS;
        return Ok(Plan {
            remaining: 2 + usize::from(reason),
            reason,
            ..Plan::default()
        });
    }
    let (size, props) = props_size(&a.properties, protocol)?;
    Ok(Plan {
        remaining: 3 + size,
        props,
        will_props: None,
        reason: true,
    })
}

/// Writes an acknowledgement sized by [`plan_ack`].
pub(super) fn write_ack(a: &PubAck, plan: &Plan, buf: &mut BytesMut) {
    buf.put_u16(a.packet_id.get());
    if plan.reason {
        buf.put_u8(a.reason.0);
    }
    put_props(buf, &a.properties, plan.props);
}
