//! The MQTT control packets as plain values, shared by all protocol levels.
//!
//! One struct per packet kind; fields that exist only in MQTT 5 (reason codes on acknowledgements,
//! properties) hold their neutral value for levels 3 and 4 and are not encoded there.

use std::fmt;
use std::num::NonZeroU16;

use bytes::Bytes;
use bytestring::ByteString;

use crate::property::Properties;
use crate::reason::ReasonCode;
use crate::topic::{TopicFilter, TopicName};

/// Protocol level announced in CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// MQTT 3.1, protocol name `MQIsdp`, level 3.
    V3_1,
    /// MQTT 3.1.1, protocol name `MQTT`, level 4.
    V3_1_1,
    /// MQTT 5.0, protocol name `MQTT`, level 5.
    V5,
}

impl Protocol {
    /// The protocol level byte.
    pub fn level(self) -> u8 {
        match self {
            Protocol::V3_1 => 3,
            Protocol::V3_1_1 => 4,
            Protocol::V5 => 5,
        }
    }

    /// The protocol name sent in CONNECT.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::V3_1 => "MQIsdp",
            Protocol::V3_1_1 | Protocol::V5 => "MQTT",
        }
    }

    /// Whether this level carries properties and reason codes (MQTT 5).
    pub fn is_v5(self) -> bool {
        self == Protocol::V5
    }
}

/// Quality of service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum QoS {
    /// QoS 0: fire and forget.
    #[default]
    AtMostOnce = 0,
    /// QoS 1: acknowledged with PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: four-way PUBLISH / PUBREC / PUBREL / PUBCOMP exchange.
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses the two QoS bits; 3 is not a QoS.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    /// The numeric level.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// A non-zero packet identifier ([MQTT-2.2.1-3]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// Wraps a raw identifier; `None` for 0, which is never a valid identifier.
    pub fn new(v: u16) -> Option<PacketId> {
        NonZeroU16::new(v).map(PacketId)
    }

    /// The raw identifier.
    pub fn get(self) -> u16 {
        self.0.get()
    }
}

impl fmt::Display for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The control packet type in the high nibble of the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 1
    Connect,
    /// 2
    ConnAck,
    /// 3
    Publish,
    /// 4
    PubAck,
    /// 5
    PubRec,
    /// 6
    PubRel,
    /// 7
    PubComp,
    /// 8
    Subscribe,
    /// 9
    SubAck,
    /// 10
    Unsubscribe,
    /// 11
    UnsubAck,
    /// 12
    PingReq,
    /// 13
    PingResp,
    /// 14
    Disconnect,
    /// 15 (MQTT 5 only)
    Auth,
}

/// Will message carried in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    /// Will topic ([MQTT-3.1.3-11]: a valid topic name).
    pub topic: TopicName,
    /// Will payload.
    pub payload: Bytes,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// Will properties (MQTT 5): will delay, expiry, content type, user properties, ...
    pub properties: Properties,
}

/// CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol level.
    pub protocol: Protocol,
    /// Clean Session (3.x) / Clean Start (5).
    pub clean_start: bool,
    /// Keep alive in seconds, 0 disables it.
    pub keep_alive: u16,
    /// Client identifier; may be empty.
    pub client_id: ByteString,
    /// Will message, if the will flag was set.
    pub will: Option<LastWill>,
    /// User name, if the flag was set.
    pub username: Option<ByteString>,
    /// Password, if the flag was set.
    pub password: Option<Bytes>,
    /// CONNECT properties (MQTT 5).
    pub properties: Properties,
}

/// CONNACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// Session present flag.
    pub session_present: bool,
    /// Reason code (MQTT 5) or the return code mapped onto MQTT 5 codes for 3.x; see
    /// [`ReasonCode::to_v3_connack`].
    pub reason: ReasonCode,
    /// CONNACK properties (MQTT 5).
    pub properties: Properties,
}

/// PUBLISH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP flag.
    pub dup: bool,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name: validated as a topic name ([MQTT-3.3.2-2]) or empty, which only MQTT 5 allows
    /// and only together with a Topic Alias property.
    pub topic: ByteString,
    /// Packet identifier, present exactly when QoS > 0 ([MQTT-2.2.1-2]).
    pub packet_id: Option<PacketId>,
    /// Application payload.
    pub payload: Bytes,
    /// PUBLISH properties (MQTT 5).
    pub properties: Properties,
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP share this shape; [`Packet`] says which it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubAck {
    /// Packet identifier being acknowledged.
    pub packet_id: PacketId,
    /// Reason code (MQTT 5; always success for 3.x).
    pub reason: ReasonCode,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

impl PubAck {
    /// A successful acknowledgement without properties.
    pub fn success(packet_id: PacketId) -> PubAck {
        PubAck {
            packet_id,
            reason: ReasonCode::SUCCESS,
            properties: Properties::default(),
        }
    }
}

/// Retain handling subscription option (MQTT 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send retained messages only if the subscription did not exist.
    SendIfNew = 1,
    /// 2: do not send retained messages.
    DoNotSend = 2,
}

/// Options attached to one topic filter of a SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No Local (MQTT 5).
    pub no_local: bool,
    /// Retain As Published (MQTT 5).
    pub retain_as_published: bool,
    /// Retain Handling (MQTT 5).
    pub retain_handling: RetainHandling,
}

/// SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// At least one filter ([MQTT-3.8.3-3]).
    pub filters: Vec<(TopicFilter, SubscriptionOptions)>,
    /// Properties (MQTT 5): subscription identifier, user properties.
    pub properties: Properties,
}

/// SUBACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// Packet identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// One code per filter: granted QoS 0..2 or a failure (0x80 and up; 3.x only knows 0x80).
    pub reasons: Vec<ReasonCode>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// At least one filter ([MQTT-3.10.3-2]).
    pub filters: Vec<TopicFilter>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// UNSUBACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// Packet identifier of the UNSUBSCRIBE.
    pub packet_id: PacketId,
    /// One code per filter (MQTT 5); empty for 3.x, which has no payload.
    pub reasons: Vec<ReasonCode>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// Reason code (MQTT 5; normal disconnection for 3.x).
    pub reason: ReasonCode,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// AUTH (MQTT 5 only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// Reason code.
    pub reason: ReasonCode,
    /// Properties: authentication method and data.
    pub properties: Properties,
}

/// Any MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT
    Connect(Box<Connect>),
    /// CONNACK
    ConnAck(ConnAck),
    /// PUBLISH
    Publish(Publish),
    /// PUBACK
    PubAck(PubAck),
    /// PUBREC
    PubRec(PubAck),
    /// PUBREL
    PubRel(PubAck),
    /// PUBCOMP
    PubComp(PubAck),
    /// SUBSCRIBE
    Subscribe(Subscribe),
    /// SUBACK
    SubAck(SubAck),
    /// UNSUBSCRIBE
    Unsubscribe(Unsubscribe),
    /// UNSUBACK
    UnsubAck(UnsubAck),
    /// PINGREQ
    PingReq,
    /// PINGRESP
    PingResp,
    /// DISCONNECT
    Disconnect(Disconnect),
    /// AUTH
    Auth(Auth),
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }
}
