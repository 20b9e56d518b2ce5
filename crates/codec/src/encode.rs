//! Packet encoding at a given protocol level. Called by the broker's connection task (and the
//! load generator) to write packets.
//!
//! Encoding takes one sizing pass, which checks every field and computes the remaining length
//! and the property lengths into a `Plan`, then one reservation and one writing pass that
//! cannot fail. Fields that do not exist at a level (properties, reason codes of 3.x
//! acknowledgements) are left out there; MQTT 5 acknowledgements use their short forms when the
//! reason is success and there are no properties.

mod connect;
mod control;
mod publish;
mod subscribe;

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::packet::{Packet, Protocol};
use crate::property::Properties;
use crate::property_codec;
use crate::wire;

/// Appends the encoding of `packet` at `protocol` to `buf`.
///
/// A CONNECT is encoded at the level its own `protocol` field names. Nothing is written when an
/// error is returned.
pub fn encode_packet(
    packet: &Packet,
    protocol: Protocol,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let plan = plan(packet, protocol)?;
    let total = plan.total();
    buf.reserve(total);
    let start = buf.len();
    buf.put_u8(first_byte(packet));
    wire::put_varint(buf, plan.remaining);
    match packet {
        Packet::Connect(c) => connect::write_connect(c, &plan, buf),
        Packet::ConnAck(c) => connect::write_connack(c, protocol, &plan, buf),
        Packet::Publish(p) => publish::write_publish(p, &plan, buf),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            publish::write_ack(a, &plan, buf)
        }
        Packet::Subscribe(s) => subscribe::write_subscribe(s, protocol, &plan, buf),
        Packet::SubAck(s) => subscribe::write_suback(s, protocol, &plan, buf),
        Packet::Unsubscribe(u) => subscribe::write_unsubscribe(u, &plan, buf),
        Packet::UnsubAck(u) => subscribe::write_unsuback(u, protocol, &plan, buf),
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => control::write_reason(d.reason, &d.properties, &plan, buf),
        Packet::Auth(a) => control::write_reason(a.reason, &a.properties, &plan, buf),
    }
    debug_assert_eq!(
        buf.len() - start,
        total,
        "sizing and writing disagree for {packet:?}"
    );
    Ok(())
}

/// The total size in bytes (fixed header included) `packet` takes at `protocol`.
pub fn encoded_len(packet: &Packet, protocol: Protocol) -> Result<usize, EncodeError> {
    Ok(plan(packet, protocol)?.total())
}

/// The sizes the writing pass needs, computed once by the sizing pass.
#[derive(Debug, Clone, Copy, Default)]
struct Plan {
    /// Remaining length: everything after the fixed header.
    remaining: usize,
    /// Length of the packet's property list, without its prefix; `None` when the packet is
    /// written without a property length (3.x, or an MQTT 5 short form).
    props: Option<usize>,
    /// Length of the will property list in an MQTT 5 CONNECT with a will.
    will_props: Option<usize>,
    /// Whether an MQTT 5 acknowledgement writes its reason code.
    reason: bool,
}

impl Plan {
    /// Total packet size: first byte, remaining length, body.
    fn total(&self) -> usize {
        1 + wire::varint_len(self.remaining) + self.remaining
    }
}

/// The sizing pass.
fn plan(packet: &Packet, protocol: Protocol) -> Result<Plan, EncodeError> {
    let plan = match packet {
        Packet::Connect(c) => connect::plan_connect(c)?,
        Packet::ConnAck(c) => connect::plan_connack(c, protocol)?,
        Packet::Publish(p) => publish::plan_publish(p, protocol)?,
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            publish::plan_ack(a, protocol)?
        }
        Packet::Subscribe(s) => subscribe::plan_subscribe(s, protocol)?,
        Packet::SubAck(s) => subscribe::plan_suback(s, protocol)?,
        Packet::Unsubscribe(u) => subscribe::plan_unsubscribe(u, protocol)?,
        Packet::UnsubAck(u) => subscribe::plan_unsuback(u, protocol)?,
        Packet::PingReq | Packet::PingResp => Plan::default(),
        Packet::Disconnect(d) => control::plan_reason(d.reason, &d.properties, protocol, false)?,
        Packet::Auth(a) => {
            if !protocol.is_v5() {
                return Err(EncodeError::NotInProtocol("AUTH"));
            }
            control::plan_reason(a.reason, &a.properties, protocol, true)?
        }
    };
    // [MQTT-1.5.5-1] / §2.1.4: the remaining length is at most 268,435,455.
    if plan.remaining > wire::VARINT_MAX {
        return Err(EncodeError::TooLarge(plan.remaining));
    }
    Ok(plan)
}

/// The first byte: packet type and flags (§2.1.2, §2.1.3).
fn first_byte(packet: &Packet) -> u8 {
    match packet {
        Packet::Connect(_) => 0x10,
        Packet::ConnAck(_) => 0x20,
        Packet::Publish(p) => publish::first_byte(p),
        Packet::PubAck(_) => 0x40,
        Packet::PubRec(_) => 0x50,
        // [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]: flags 0010.
        Packet::PubRel(_) => 0x62,
        Packet::PubComp(_) => 0x70,
        Packet::Subscribe(_) => 0x82,
        Packet::SubAck(_) => 0x90,
        Packet::Unsubscribe(_) => 0xA2,
        Packet::UnsubAck(_) => 0xB0,
        Packet::PingReq => 0xC0,
        Packet::PingResp => 0xD0,
        Packet::Disconnect(_) => 0xE0,
        Packet::Auth(_) => 0xF0,
    }
}

/// Size of a property list with its length prefix at `protocol` (nothing before MQTT 5), and
/// the list's own length for the plan.
fn props_size(
    props: &Properties,
    protocol: Protocol,
) -> Result<(usize, Option<usize>), EncodeError> {
    if !protocol.is_v5() {
        return Ok((0, None));
    }
    let len = property_codec::encoded_len(props)?;
    Ok((wire::varint_len(len) + len, Some(len)))
}

/// Writes a property list sized by [`props_size`], if the plan has one.
fn put_props(buf: &mut BytesMut, props: &Properties, len: Option<usize>) {
    if let Some(len) = len {
        property_codec::put(buf, props, len);
    }
}
