//! Parsing of SUBSCRIBE (filters and subscription options), SUBACK, UNSUBSCRIBE and UNSUBACK.

use crate::error::DecodeError;
use crate::packet::{
    Packet, PacketType, Protocol, QoS, RetainHandling, SubAck, Subscribe, SubscriptionOptions,
    UnsubAck, Unsubscribe,
};
use crate::property::Properties;
use crate::property_codec::{self, Carrier};
use crate::reason::ReasonCode;
use crate::topic::TopicFilter;
use crate::wire::Reader;

use super::{packet_id, reasons};

/// The properties of an MQTT 5 packet, none before.
fn properties(
    r: &mut Reader,
    protocol: Protocol,
    carrier: Carrier,
) -> Result<Properties, DecodeError> {
    if protocol.is_v5() {
        property_codec::decode(r, carrier)
    } else {
        Ok(Properties::new())
    }
}

/// A topic filter from SUBSCRIBE or UNSUBSCRIBE.
fn filter(r: &mut Reader) -> Result<TopicFilter, DecodeError> {
    // [MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.3-1], [MQTT-4.8.2-1]: valid (shared) filter.
    TopicFilter::new(r.string()?).map_err(DecodeError::TopicFilter)
}

/// SUBSCRIBE.
pub(super) fn subscribe(mut r: Reader, protocol: Protocol) -> Result<Packet, DecodeError> {
    let packet_id = packet_id(&mut r)?;
    let properties = properties(&mut r, protocol, Carrier::Subscribe)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        let f = filter(&mut r)?;
        let o = options(r.u8()?, protocol)?;
        if o.no_local && f.shared().is_some() {
            // [MQTT-3.8.3-4] No Local MUST NOT be set on a shared subscription.
            return Err(DecodeError::Protocol(
                "no local on a shared subscription [MQTT-3.8.3-4]",
            ));
        }
        filters.push((f, o));
    }
    if filters.is_empty() {
        // [MQTT-3.8.3-3] a SUBSCRIBE MUST contain at least one filter / options pair.
        return Err(DecodeError::Protocol(
            "SUBSCRIBE without topic filters [MQTT-3.8.3-3]",
        ));
    }
    Ok(Packet::Subscribe(Subscribe {
        packet_id,
        filters,
        properties,
    }))
}

/// The subscription options byte (3.x: the requested QoS byte).
fn options(byte: u8, protocol: Protocol) -> Result<SubscriptionOptions, DecodeError> {
    if !protocol.is_v5() {
        // 3.1.1 [MQTT-3.8.3-4]: the upper six bits are reserved and MUST be 0, the QoS 0..2.
        if byte & 0xFC != 0 {
            return Err(DecodeError::Malformed(
                "reserved bits of the requested QoS byte are set [MQTT-3.8.3-4]",
            ));
        }
        let qos =
            QoS::from_u8(byte).ok_or(DecodeError::Malformed("requested QoS 3 [MQTT-3.8.3-4]"))?;
        return Ok(SubscriptionOptions {
            qos,
            ..SubscriptionOptions::default()
        });
    }
    // [MQTT-3.8.3-5] bits 6 and 7 of the subscription options are reserved and MUST be 0.
    if byte & 0xC0 != 0 {
        return Err(DecodeError::Malformed(
            "reserved bits of the subscription options are set [MQTT-3.8.3-5]",
        ));
    }
    // §3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3."
    let qos =
        QoS::from_u8(byte & 0b11).ok_or(DecodeError::Protocol("subscription maximum QoS 3"))?;
    let retain_handling = match (byte >> 4) & 0b11 {
        0 => RetainHandling::SendAtSubscribe,
        1 => RetainHandling::SendIfNew,
        2 => RetainHandling::DoNotSend,
        // §3.8.3.1: "It is a Protocol Error to send a Retain Handling value of 3."
        _ => return Err(DecodeError::Protocol("retain handling 3")),
    };
    Ok(SubscriptionOptions {
        qos,
        no_local: byte & 0b0100 != 0,
        retain_as_published: byte & 0b1000 != 0,
        retain_handling,
    })
}

/// SUBACK.
pub(super) fn suback(mut r: Reader, protocol: Protocol) -> Result<Packet, DecodeError> {
    let packet_id = packet_id(&mut r)?;
    let properties = properties(&mut r, protocol, Carrier::SubAck)?;
    let mut codes = Vec::with_capacity(r.remaining());
    while !r.is_empty() {
        let code = r.u8()?;
        codes.push(if protocol.is_v5() {
            reasons::check(PacketType::SubAck, code)?
        } else if matches!(code, 0x00..=0x02 | 0x80) {
            ReasonCode(code)
        } else {
            // 3.1.1 [MQTT-3.9.3-2] return codes other than 0, 1, 2 and 0x80 are reserved.
            return Err(DecodeError::Protocol(
                "reserved SUBACK return code [MQTT-3.9.3-2]",
            ));
        });
    }
    if codes.is_empty() {
        // §3.8.4 / §3.9.3: one code per filter of the SUBSCRIBE, which has at least one.
        return Err(DecodeError::Protocol("SUBACK without reason codes"));
    }
    Ok(Packet::SubAck(SubAck {
        packet_id,
        reasons: codes,
        properties,
    }))
}

/// UNSUBSCRIBE.
pub(super) fn unsubscribe(mut r: Reader, protocol: Protocol) -> Result<Packet, DecodeError> {
    let packet_id = packet_id(&mut r)?;
    let properties = properties(&mut r, protocol, Carrier::Unsubscribe)?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        filters.push(filter(&mut r)?);
    }
    if filters.is_empty() {
        // [MQTT-3.10.3-2] an UNSUBSCRIBE MUST contain at least one topic filter.
        return Err(DecodeError::Protocol(
            "UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]",
        ));
    }
    Ok(Packet::Unsubscribe(Unsubscribe {
        packet_id,
        filters,
        properties,
    }))
}

/// UNSUBACK.
pub(super) fn unsuback(mut r: Reader, protocol: Protocol) -> Result<Packet, DecodeError> {
    let packet_id = packet_id(&mut r)?;
    if !protocol.is_v5() {
        // 3.1.1 §3.11: remaining length 2, no payload.
        r.finish()?;
        return Ok(Packet::UnsubAck(UnsubAck {
            packet_id,
            reasons: Vec::new(),
            properties: Properties::new(),
        }));
    }
    let properties = property_codec::decode(&mut r, Carrier::UnsubAck)?;
    let mut codes = Vec::with_capacity(r.remaining());
    while !r.is_empty() {
        codes.push(reasons::check(PacketType::UnsubAck, r.u8()?)?);
    }
    if codes.is_empty() {
        // §3.11.3: one code per filter of the UNSUBSCRIBE, which has at least one.
        return Err(DecodeError::Protocol("UNSUBACK without reason codes"));
    }
    Ok(Packet::UnsubAck(UnsubAck {
        packet_id,
        reasons: codes,
        properties,
    }))
}
