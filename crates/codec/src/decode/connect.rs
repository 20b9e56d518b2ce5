//! Parsing of CONNECT (protocol name and level, connect flags, will, credentials) and CONNACK.

use crate::error::DecodeError;
use crate::packet::{ConnAck, Connect, LastWill, Packet, PacketType, Protocol, QoS};
use crate::property::Properties;
use crate::property_codec::{self, Carrier};
use crate::reason::ReasonCode;
use crate::topic::TopicName;
use crate::wire::Reader;

use super::reasons;

/// Connect flag bits (§3.1.2.3).
const RESERVED: u8 = 0x01;
const CLEAN_START: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

/// CONNECT, at the level it announces.
pub(super) fn connect(mut r: Reader) -> Result<Packet, DecodeError> {
    let name = r.string()?;
    let level = r.u8()?;
    let protocol = match (&*name, level) {
        ("MQIsdp", 3) => Protocol::V3_1,
        ("MQTT", 4) => Protocol::V3_1_1,
        ("MQTT", 5) => Protocol::V5,
        // [MQTT-3.1.2-1] unknown protocol name, [MQTT-3.1.2-2] unsupported level: the server
        // answers CONNACK 0x01 (3.x) / 0x84 (5.0) and closes.
        _ => {
            return Err(DecodeError::UnsupportedProtocol {
                name: name.to_string(),
                level,
            });
        }
    };
    let flags = r.u8()?;
    // [MQTT-3.1.2-3] the reserved flag in the connect flags MUST be 0.
    if flags & RESERVED != 0 {
        return Err(DecodeError::Malformed(
            "reserved connect flag is set [MQTT-3.1.2-3]",
        ));
    }
    let will_flag = flags & WILL != 0;
    let will_qos = (flags >> 3) & 0b11;
    let will_retain = flags & WILL_RETAIN != 0;
    if !will_flag && will_qos != 0 {
        // [MQTT-3.1.2-11] (5.0) / [MQTT-3.1.2-13] (3.1.1): no will, will QoS MUST be 0.
        return Err(DecodeError::Malformed(
            "will QoS set without a will [MQTT-3.1.2-11]",
        ));
    }
    if !will_flag && will_retain {
        // [MQTT-3.1.2-13] (5.0) / [MQTT-3.1.2-15] (3.1.1): no will, will retain MUST be 0.
        return Err(DecodeError::Malformed(
            "will retain set without a will [MQTT-3.1.2-13]",
        ));
    }
    // [MQTT-3.1.2-12] (5.0) / [MQTT-3.1.2-14] (3.1.1): will QoS MUST NOT be 3.
    let will_qos =
        QoS::from_u8(will_qos).ok_or(DecodeError::Malformed("will QoS 3 [MQTT-3.1.2-14]"))?;
    let has_username = flags & USERNAME != 0;
    let has_password = flags & PASSWORD != 0;
    if protocol == Protocol::V3_1_1 && has_password && !has_username {
        // [MQTT-3.1.2-22] (3.1.1 only; MQTT 5 allows a password alone): no user name flag,
        // then the password flag MUST be 0.
        return Err(DecodeError::Malformed(
            "password without user name [MQTT-3.1.2-22]",
        ));
    }
    let keep_alive = r.u16()?;
    let properties = if protocol.is_v5() {
        property_codec::decode(&mut r, Carrier::Connect)?
    } else {
        Properties::new()
    };
    // [MQTT-3.1.3-1] payload order: client id, will properties, will topic, will payload,
    // user name, password; each present exactly when its flag says so ([MQTT-3.1.2-9],
    // [MQTT-3.1.2-19], [MQTT-3.1.2-21]).
    let client_id = r.string()?;
    let will = if will_flag {
        let properties = if protocol.is_v5() {
            property_codec::decode(&mut r, Carrier::Will)?
        } else {
            Properties::new()
        };
        // [MQTT-3.1.3-11] the will topic MUST be a UTF-8 string and a valid topic name.
        let topic = TopicName::new(r.string()?).map_err(DecodeError::TopicName)?;
        let payload = r.binary()?;
        Some(LastWill {
            topic,
            payload,
            qos: will_qos,
            retain: will_retain,
            properties,
        })
    } else {
        None
    };
    let username = if has_username {
        Some(r.string()?)
    } else {
        None
    };
    let password = if has_password {
        Some(r.binary()?)
    } else {
        None
    };
    r.finish()?;
    Ok(Packet::Connect(Box::new(Connect {
        protocol,
        clean_start: flags & CLEAN_START != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
        properties,
    })))
}

/// CONNACK.
pub(super) fn connack(mut r: Reader, protocol: Protocol) -> Result<Packet, DecodeError> {
    let ack_flags = r.u8()?;
    let session_present = match protocol {
        // MQTT 3.1 has no session present flag: the byte is "reserved, not used".
        Protocol::V3_1 => false,
        Protocol::V3_1_1 | Protocol::V5 => {
            // [MQTT-3.2.2-1] bits 7-1 of the connect acknowledge flags are reserved, MUST be 0.
            if ack_flags & 0xFE != 0 {
                return Err(DecodeError::Malformed(
                    "reserved connect acknowledge flags are set [MQTT-3.2.2-1]",
                ));
            }
            ack_flags & 0x01 != 0
        }
    };
    let code = r.u8()?;
    let (reason, properties) = if protocol.is_v5() {
        let reason = reasons::check(PacketType::ConnAck, code)?;
        (reason, property_codec::decode(&mut r, Carrier::ConnAck)?)
    } else {
        // 3.1.1 §3.2.2.3: return codes 6-255 are reserved.
        let reason = ReasonCode::from_v3_connack(code)
            .ok_or(DecodeError::Protocol("reserved CONNACK return code"))?;
        (reason, Properties::new())
    };
    if session_present && reason != ReasonCode::SUCCESS {
        // [MQTT-3.2.2-4] (3.1.1) / [MQTT-3.2.2-6] (5.0): a refusing CONNACK MUST set Session
        // Present to 0.
        return Err(DecodeError::Protocol(
            "session present on a refused connection [MQTT-3.2.2-6]",
        ));
    }
    r.finish()?;
    Ok(Packet::ConnAck(ConnAck {
        session_present,
        reason,
        properties,
    }))
}
