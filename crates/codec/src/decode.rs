//! Two-phase packet decoding: read the fixed header, and only once the whole packet is buffered,
//! parse and validate it. Called by the broker's connection task for every read.

use bytes::BytesMut;

use crate::error::DecodeError;
use crate::packet::{Packet, Protocol};

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
        Decoder { protocol: None, max_packet_size }
    }

    /// Client side (or after CONNECT): decode at a known protocol level.
    pub fn with_protocol(protocol: Protocol, max_packet_size: u32) -> Decoder {
        Decoder { protocol: Some(protocol), max_packet_size }
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
pub fn decode_packet(
    buf: &mut BytesMut,
    protocol: Option<Protocol>,
    max_packet_size: u32,
) -> Result<Option<Packet>, DecodeError> {
    let _ = (buf, protocol, max_packet_size);
    Err(DecodeError::Malformed("decoder not implemented yet"))
}
