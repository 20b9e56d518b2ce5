//! Sizing and writing of CONNECT and CONNACK.

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::packet::{ConnAck, Connect, Protocol};
use crate::wire::{self, field_len};

use super::{Plan, props_size, put_props};

/// Sizes a CONNECT at the level it names.
pub(super) fn plan_connect(c: &Connect) -> Result<Plan, EncodeError> {
    let protocol = c.protocol;
    if protocol == Protocol::V3_1_1 && c.password.is_some() && c.username.is_none() {
        // [MQTT-3.1.2-22] in 3.1.1 a password needs a user name.
        return Err(EncodeError::NotInProtocol("a password without a user name"));
    }
    // Protocol name, level, connect flags, keep alive.
    let mut len = field_len(protocol.name().len(), "protocol name")? + 1 + 1 + 2;
    let (size, props) = props_size(&c.properties, protocol)?;
    len += size;
    len += field_len(c.client_id.len(), "client identifier")?;
    let mut will_props = None;
    if let Some(w) = &c.will {
        let (size, props) = props_size(&w.properties, protocol)?;
        will_props = props;
        len += size;
        len += field_len(w.topic.as_str().len(), "will topic")?;
        len += field_len(w.payload.len(), "will payload")?;
    }
    if let Some(u) = &c.username {
        len += field_len(u.len(), "user name")?;
    }
    if let Some(p) = &c.password {
        len += field_len(p.len(), "password")?;
    }
    Ok(Plan {
        remaining: len,
        props,
        will_props,
        reason: false,
    })
}

/// Writes a CONNECT sized by [`plan_connect`].
pub(super) fn write_connect(c: &Connect, plan: &Plan, buf: &mut BytesMut) {
    wire::put_field(buf, c.protocol.name().as_bytes());
    buf.put_u8(c.protocol.level());
    // §3.1.2.3 connect flags; bit 0 is reserved and stays 0 ([MQTT-3.1.2-3]).
    let mut flags = 0u8;
    if c.clean_start {
        flags |= 0x02;
    }
    if let Some(w) = &c.will {
        flags |= 0x04 | (w.qos.as_u8() << 3);
        if w.retain {
            flags |= 0x20;
        }
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    buf.put_u8(flags);
    buf.put_u16(c.keep_alive);
    put_props(buf, &c.properties, plan.props);
    wire::put_field(buf, c.client_id.as_bytes());
    if let Some(w) = &c.will {
        put_props(buf, &w.properties, plan.will_props);
        wire::put_field(buf, w.topic.as_str().as_bytes());
        wire::put_field(buf, &w.payload);
    }
    if let Some(u) = &c.username {
        wire::put_field(buf, u.as_bytes());
    }
    if let Some(p) = &c.password {
        wire::put_field(buf, p);
    }
}

/// Sizes a CONNACK.
pub(super) fn plan_connack(c: &ConnAck, protocol: Protocol) -> Result<Plan, EncodeError> {
    let (size, props) = props_size(&c.properties, protocol)?;
    Ok(Plan {
        remaining: 2 + size,
        props,
        will_props: None,
        reason: true,
    })
}

/// Writes a CONNACK sized by [`plan_connack`].
pub(super) fn write_connack(c: &ConnAck, protocol: Protocol, plan: &Plan, buf: &mut BytesMut) {
    // MQTT 3.1 has no session present flag; its acknowledge byte is unused and sent as 0.
    let session_present = c.session_present && protocol != Protocol::V3_1;
    buf.put_u8(u8::from(session_present));
    buf.put_u8(if protocol.is_v5() {
        c.reason.0
    } else {
        c.reason.to_v3_connack()
    });
    put_props(buf, &c.properties, plan.props);
}
