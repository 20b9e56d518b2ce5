//! Sizing and writing of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK.

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::packet::{Protocol, SubAck, Subscribe, SubscriptionOptions, UnsubAck, Unsubscribe};
use crate::wire::{self, field_len};

use super::{Plan, props_size, put_props};

/// Sizes a SUBSCRIBE: packet identifier, properties, then filter and options byte pairs.
pub(super) fn plan_subscribe(s: &Subscribe, protocol: Protocol) -> Result<Plan, EncodeError> {
    if s.filters.is_empty() {
        // [MQTT-3.8.3-3] at least one topic filter.
        return Err(EncodeError::Invalid("SUBSCRIBE without topic filters"));
    }
    let (size, props) = props_size(&s.properties, protocol)?;
    let mut len = 2 + size;
    for (f, _) in &s.filters {
        len += field_len(f.as_str().len(), "topic filter")? + 1;
    }
    Ok(Plan {
        remaining: len,
        props,
        ..Plan::default()
    })
}

/// The options byte: 3.x only has the requested QoS (the other bits are reserved,
/// [MQTT-3.8.3-4]); MQTT 5 adds No Local, Retain As Published and Retain Handling (§3.8.3.1).
fn options_byte(o: &SubscriptionOptions, protocol: Protocol) -> u8 {
    let mut b = o.qos.as_u8();
    if protocol.is_v5() {
        if o.no_local {
            b |= 0x04;
        }
        if o.retain_as_published {
            b |= 0x08;
        }
        b |= (o.retain_handling as u8) << 4;
    }
    b
}

/// Writes a SUBSCRIBE sized by [`plan_subscribe`].
pub(super) fn write_subscribe(s: &Subscribe, protocol: Protocol, plan: &Plan, buf: &mut BytesMut) {
    buf.put_u16(s.packet_id.get());
    put_props(buf, &s.properties, plan.props);
    for (f, o) in &s.filters {
        wire::put_field(buf, f.as_str().as_bytes());
        buf.put_u8(options_byte(o, protocol));
    }
}

/// Sizes a SUBACK: packet identifier, properties, one code per filter.
pub(super) fn plan_suback(s: &SubAck, protocol: Protocol) -> Result<Plan, EncodeError> {
    if s.reasons.is_empty() {
        // §3.9.3: one code per filter of the SUBSCRIBE, which has at least one.
        return Err(EncodeError::Invalid("SUBACK without reason codes"));
    }
    let (size, props) = props_size(&s.properties, protocol)?;
    Ok(Plan {
        remaining: 2 + size + s.reasons.len(),
        props,
        ..Plan::default()
    })
}

/// Writes a SUBACK sized by [`plan_suback`]; 3.x return codes are 0, 1, 2 or 0x80.
pub(super) fn write_suback(s: &SubAck, protocol: Protocol, plan: &Plan, buf: &mut BytesMut) {
    buf.put_u16(s.packet_id.get());
    put_props(buf, &s.properties, plan.props);
    for r in &s.reasons {
        buf.put_u8(if protocol.is_v5() {
            r.0
        } else {
            r.to_v3_suback()
        });
    }
}

/// Sizes an UNSUBSCRIBE: packet identifier, properties, filters.
pub(super) fn plan_unsubscribe(u: &Unsubscribe, protocol: Protocol) -> Result<Plan, EncodeError> {
    if u.filters.is_empty() {
        // [MQTT-3.10.3-2] at least one topic filter.
        return Err(EncodeError::Invalid("UNSUBSCRIBE without topic filters"));
    }
    let (size, props) = props_size(&u.properties, protocol)?;
    let mut len = 2 + size;
    for f in &u.filters {
        len += field_len(f.as_str().len(), "topic filter")?;
    }
    Ok(Plan {
        remaining: len,
        props,
        ..Plan::default()
    })
}

/// Writes an UNSUBSCRIBE sized by [`plan_unsubscribe`].
pub(super) fn write_unsubscribe(u: &Unsubscribe, plan: &Plan, buf: &mut BytesMut) {
    buf.put_u16(u.packet_id.get());
    put_props(buf, &u.properties, plan.props);
    for f in &u.filters {
        wire::put_field(buf, f.as_str().as_bytes());
    }
}

/// Sizes an UNSUBACK: 3.x has only the packet identifier; MQTT 5 adds properties and one reason
/// code per filter.
pub(super) fn plan_unsuback(u: &UnsubAck, protocol: Protocol) -> Result<Plan, EncodeError> {
    if !protocol.is_v5() {
        return Ok(Plan {
            remaining: 2,
            ..Plan::default()
        });
    }
    if u.reasons.is_empty() {
        // §3.11.3: one code per filter of the UNSUBSCRIBE, which has at least one.
        return Err(EncodeError::Invalid("UNSUBACK without reason codes"));
    }
    let (size, props) = props_size(&u.properties, protocol)?;
    Ok(Plan {
        remaining: 2 + size + u.reasons.len(),
        props,
        ..Plan::default()
    })
}

/// Writes an UNSUBACK sized by [`plan_unsuback`].
pub(super) fn write_unsuback(u: &UnsubAck, protocol: Protocol, plan: &Plan, buf: &mut BytesMut) {
    buf.put_u16(u.packet_id.get());
    if protocol.is_v5() {
        put_props(buf, &u.properties, plan.props);
        for r in &u.reasons {
            buf.put_u8(r.0);
        }
    }
}
