//! Two-phase packet decoding: read the fixed header, and only once the whole packet is buffered,
//! parse and validate it. Called by the broker's connection task for every read.
//!
//! Phase one looks at the first byte (type and flags) and the remaining length, so a packet that
//! is too large, of the wrong type or with invalid flags is refused before its body is buffered.
//! Phase two splits the packet off the buffer (no copy) and hands the body to the parser for its
//! type in the private `connect`, `publish`, `subscribe` or `control` module. Every string, topic
//! and payload of the decoded [`Packet`] shares the buffer's allocation.
//!
//! Choices where the specification leaves room:
//! - non-minimal variable byte integers are accepted (only the sender is obliged to be minimal);
//! - MQTT 3.1 clients may set DUP on PUBREL, SUBSCRIBE and UNSUBSCRIBE retries (3.1 treated them
//!   as QoS 1 packets) and on QoS 0 PUBLISH; 3.1.1 and 5.0 may not ([MQTT-3.3.1-2]);
//! - a 3.1 CONNACK's first byte is unused and ignored;
//! - a PUBLISH payload marked UTF-8 is not checked ([MQTT-3.3.2-4] makes it optional and the
//!   answer is a PUBACK 0x99, not a closed connection, so the broker decides);
//! - rules needing session state (topic alias range, receive maximum, a client sending a
//!   subscription identifier in PUBLISH [MQTT-3.3.4-6], a second CONNECT) belong to the broker.

mod connect;
mod control;
mod publish;
mod reasons;

pub(crate) use reasons::allowed as reason_allowed;
mod subscribe;

use bytes::{Buf, BytesMut};

use crate::error::DecodeError;
use crate::packet::{Packet, PacketId, PacketType, Protocol};
use crate::wire::{self, Reader};

/// Stateful decoder for one connection: remembers the protocol level announced by CONNECT and
/// the maximum packet size in force.
#[derive(Debug, Clone)]
pub struct Decoder {
    protocol: Option<Protocol>,
    max_packet_size: u32,
}

impl Decoder {
    /// Server side: the protocol is unknown until CONNECT arrives.
    pub fn new(max_packet_size: u32) -> Decoder {
        Decoder {
            protocol: None,
            max_packet_size,
        }
    }

    /// Client side (or after CONNECT): decode at a known protocol level.
    pub fn with_protocol(protocol: Protocol, max_packet_size: u32) -> Decoder {
        Decoder {
            protocol: Some(protocol),
            max_packet_size,
        }
    }

    /// The protocol level, once known.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// Sets the protocol level.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = Some(protocol);
    }

    /// Changes the maximum packet size accepted.
    pub fn set_max_packet_size(&mut self, max: u32) {
        self.max_packet_size = max;
    }

    /// Decodes one packet from the front of `buf`. `Ok(None)` means more bytes are needed and
    /// `buf` is untouched. A decoded CONNECT sets the protocol level for later packets.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let packet = decode_packet(buf, self.protocol, self.max_packet_size)?;
        if let Some(Packet::Connect(c)) = &packet {
            self.protocol = Some(c.protocol);
        }
        Ok(packet)
    }
}

/// Decodes one packet from the front of `buf` at `protocol` (None: before CONNECT, when only
/// CONNECT is acceptable, [MQTT-3.1.0-1]). Rejects packets larger than `max_packet_size` as soon
/// as the fixed header is read.
///
/// `Ok(None)` means the packet is not complete yet; `buf` is then left as it was. On success the
/// packet's bytes are removed from `buf`. A CONNECT is parsed at the level it announces itself.
/// Every error is fatal to the connection: errors found in the fixed header leave `buf` as it
/// was, errors found in the body leave it without that packet's bytes.
pub fn decode_packet(
    buf: &mut BytesMut,
    protocol: Option<Protocol>,
    max_packet_size: u32,
) -> Result<Option<Packet>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let kind = packet_type(first, protocol)?;
    let Some((remaining, len_bytes)) = wire::parse_varint(&buf[1..])? else {
        return Ok(None);
    };
    let header = 1 + len_bytes;
    let size = header + remaining as usize;
    // [MQTT-3.2.2-15] / [MQTT-3.1.2-24]: a packet above the maximum packet size is refused
    // (Packet too large) from its fixed header alone, before any of the body is buffered.
    if size > max_packet_size as usize {
        return Err(DecodeError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    if buf.len() < size {
        return Ok(None);
    }
    let mut body = buf.split_to(size).freeze();
    body.advance(header);
    let r = Reader::new(body);
    let flags = first & 0x0F;
    let packet = match (kind, protocol) {
        (PacketType::Connect, _) => connect::connect(r)?,
        (_, None) => return Err(FIRST_NOT_CONNECT),
        (PacketType::ConnAck, Some(p)) => connect::connack(r, p)?,
        (PacketType::Publish, Some(p)) => publish::publish(flags, r, p)?,
        (PacketType::PubAck, Some(p)) => Packet::PubAck(publish::ack(kind, r, p)?),
        (PacketType::PubRec, Some(p)) => Packet::PubRec(publish::ack(kind, r, p)?),
        (PacketType::PubRel, Some(p)) => Packet::PubRel(publish::ack(kind, r, p)?),
        (PacketType::PubComp, Some(p)) => Packet::PubComp(publish::ack(kind, r, p)?),
        (PacketType::Subscribe, Some(p)) => subscribe::subscribe(r, p)?,
        (PacketType::SubAck, Some(p)) => subscribe::suback(r, p)?,
        (PacketType::Unsubscribe, Some(p)) => subscribe::unsubscribe(r, p)?,
        (PacketType::UnsubAck, Some(p)) => subscribe::unsuback(r, p)?,
        (PacketType::PingReq, Some(_)) => control::empty(r, Packet::PingReq)?,
        (PacketType::PingResp, Some(_)) => control::empty(r, Packet::PingResp)?,
        (PacketType::Disconnect, Some(p)) => control::disconnect(r, p)?,
        (PacketType::Auth, Some(_)) => control::auth(r)?,
    };
    Ok(Some(packet))
}

/// [MQTT-3.1.0-1] the first packet sent from the client to the server MUST be CONNECT.
const FIRST_NOT_CONNECT: DecodeError =
    DecodeError::Protocol("first packet is not CONNECT [MQTT-3.1.0-1]");

/// Reads the packet type from the first byte and checks its flags, so that a wrong packet is
/// refused before its body is buffered.
fn packet_type(first: u8, protocol: Option<Protocol>) -> Result<PacketType, DecodeError> {
    use PacketType as T;
    let kind = match first >> 4 {
        1 => T::Connect,
        2 => T::ConnAck,
        3 => T::Publish,
        4 => T::PubAck,
        5 => T::PubRec,
        6 => T::PubRel,
        7 => T::PubComp,
        8 => T::Subscribe,
        9 => T::SubAck,
        10 => T::Unsubscribe,
        11 => T::UnsubAck,
        12 => T::PingReq,
        13 => T::PingResp,
        14 => T::Disconnect,
        15 => T::Auth,
        // §2.1.2: packet type 0 is reserved (forbidden).
        _ => return Err(DecodeError::Malformed("reserved packet type 0")),
    };
    if protocol.is_none() && kind != T::Connect {
        return Err(FIRST_NOT_CONNECT);
    }
    if kind == T::Auth && !protocol.is_some_and(Protocol::is_v5) {
        // 3.1.1 §2.2.1: packet type 15 is reserved before MQTT 5.
        return Err(DecodeError::Malformed(
            "AUTH (packet type 15) exists only in MQTT 5",
        ));
    }
    let flags = first & 0x0F;
    match kind {
        T::Publish => publish::check_flags(flags, protocol)?,
        T::PubRel => qos1_flags(flags, protocol, "PUBREL flags must be 0010 [MQTT-3.6.1-1]")?,
        T::Subscribe => qos1_flags(
            flags,
            protocol,
            "SUBSCRIBE flags must be 0010 [MQTT-3.8.1-1]",
        )?,
        T::Unsubscribe => qos1_flags(
            flags,
            protocol,
            "UNSUBSCRIBE flags must be 0010 [MQTT-3.10.1-1]",
        )?,
        // [MQTT-2.2.2-1] (3.1.1) / [MQTT-2.1.3-1] (5.0): reserved flags MUST be set to the
        // listed value, 0000 for every other type; invalid flags make the packet malformed.
        _ if flags != 0 => {
            return Err(DecodeError::Malformed(
                "reserved fixed header flags must be 0000 [MQTT-2.2.2-1]",
            ));
        }
        _ => {}
    }
    Ok(kind)
}

/// PUBREL, SUBSCRIBE and UNSUBSCRIBE carry the flags 0010. MQTT 3.1 described them as QoS 1
/// packets whose retries set DUP, so 1010 is also accepted from 3.1 clients.
fn qos1_flags(
    flags: u8,
    protocol: Option<Protocol>,
    rule: &'static str,
) -> Result<(), DecodeError> {
    if flags == 0b0010 || (flags == 0b1010 && protocol == Some(Protocol::V3_1)) {
        Ok(())
    } else {
        Err(DecodeError::Malformed(rule))
    }
}

/// Reads a packet identifier, which is never 0.
fn packet_id(r: &mut Reader) -> Result<PacketId, DecodeError> {
    // [MQTT-2.2.1-3] packets that carry a packet identifier MUST use a non-zero one.
    PacketId::new(r.u16()?).ok_or(DecodeError::Protocol("packet identifier 0 [MQTT-2.2.1-3]"))
}
