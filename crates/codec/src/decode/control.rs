//! Parsing of the packets that control the connection itself: PINGREQ, PINGRESP, DISCONNECT and
//! AUTH.

use crate::error::DecodeError;
use crate::packet::{Auth, Disconnect, Packet, PacketType, Protocol};
use crate::property_codec::{self, Carrier};
use crate::wire::Reader;

use super::reasons;

/// PINGREQ or PINGRESP: §3.12 / §3.13, no variable header and no payload, so the remaining
/// length is 0 (a non-zero one is malformed, a bug other implementations shipped).
pub(super) fn empty(r: Reader, packet: Packet) -> Result<Packet, DecodeError> {
    r.finish()?;
    Ok(packet)
}

/// DISCONNECT.
pub(super) fn disconnect(mut r: Reader, protocol: Protocol) -> Result<Packet, DecodeError> {
    let mut d = Disconnect::default();
    // 3.x §3.14: no variable header, remaining length 0. 5.0 §3.14.2.1: with remaining length 0
    // the reason is 0x00 (normal disconnection); §3.14.2.2.1: below 2, no properties.
    if protocol.is_v5() && !r.is_empty() {
        d.reason = reasons::check(PacketType::Disconnect, r.u8()?)?;
        if !r.is_empty() {
            d.properties = property_codec::decode(&mut r, Carrier::Disconnect)?;
        }
    }
    r.finish()?;
    Ok(Packet::Disconnect(d))
}

/// AUTH (MQTT 5 only; the caller has refused it at other levels).
pub(super) fn auth(mut r: Reader) -> Result<Packet, DecodeError> {
    let mut a = Auth::default();
    // §3.15.2.1: the reason code and property length may only be omitted together (remaining
    // length 0, success without properties); a reason code alone is malformed.
    if !r.is_empty() {
        a.reason = reasons::check(PacketType::Auth, r.u8()?)?;
        a.properties = property_codec::decode(&mut r, Carrier::Auth)?;
    }
    r.finish()?;
    Ok(Packet::Auth(a))
}
