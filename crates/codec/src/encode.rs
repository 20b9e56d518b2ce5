//! Packet encoding at a given protocol level. Called by the broker's connection task (and the
//! load generator) to write packets.

use bytes::BytesMut;

use crate::error::EncodeError;
use crate::packet::{Packet, Protocol};

/// Appends the encoding of `packet` at `protocol` to `buf`.
pub fn encode_packet(packet: &Packet, protocol: Protocol, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let _ = (packet, protocol, buf);
    Err(EncodeError::NotInProtocol("encoder not implemented yet"))
}

/// The total size in bytes (fixed header included) `packet` takes at `protocol`.
pub fn encoded_len(packet: &Packet, protocol: Protocol) -> Result<usize, EncodeError> {
    let _ = (packet, protocol);
    Err(EncodeError::NotInProtocol("encoder not implemented yet"))
}
