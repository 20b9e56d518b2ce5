//! The codec's error types: why a packet could not be decoded or encoded, and which reason code
//! the specification prescribes for it.

use crate::reason::ReasonCode;

/// Why a topic name or filter is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Zero-length topic ([MQTT-4.7.3-1]).
    #[error("topic is empty")]
    Empty,
    /// Longer than a UTF-8 string field can carry.
    #[error("topic is longer than 65535 bytes")]
    TooLong,
    /// `+` or `#` in a topic name ([MQTT-3.3.2-2]).
    #[error("topic name contains a wildcard")]
    WildcardInName,
    /// U+0000 in a topic ([MQTT-4.7.3-2]).
    #[error("topic contains U+0000")]
    NullCharacter,
    /// `#` not alone in the last level ([MQTT-4.7.1-2]).
    #[error("'#' must be the last level and alone in it")]
    MisplacedMultiLevelWildcard,
    /// `+` not alone in its level ([MQTT-4.7.1-3]).
    #[error("'+' must be alone in its level")]
    MisplacedSingleLevelWildcard,
    /// Malformed `$share/group/filter`.
    #[error("shared subscription must be $share/<group>/<filter> with a group without wildcards")]
    InvalidShare,
}

/// Why bytes could not be decoded into a packet. Every variant maps to the reason code the
/// broker sends (MQTT 5 DISCONNECT or CONNACK) before closing the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes violate the packet format; the detail names the rule.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// The packet is well-formed but breaks a protocol rule; the detail names the rule.
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// The packet is larger than the maximum packet size ([MQTT-3.2.2-15]); detected from the
    /// fixed header, before the body is buffered.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// Total packet size announced by the fixed header.
        size: usize,
        /// The limit in force.
        max: u32,
    },
    /// CONNECT with an unknown protocol name or level ([MQTT-3.1.2-2]).
    #[error("unsupported protocol name {name:?} level {level}")]
    UnsupportedProtocol {
        /// Protocol name as sent.
        name: String,
        /// Protocol level as sent.
        level: u8,
    },
    /// Invalid topic name in PUBLISH or a will.
    #[error("invalid topic name: {0}")]
    TopicName(#[source] TopicError),
    /// A Topic Alias of 0 ([MQTT-3.3.2-8]): a protocol error answered with 0x94.
    #[error("topic alias 0 [MQTT-3.3.2-8]")]
    TopicAliasInvalid,
    /// Invalid topic filter in SUBSCRIBE or UNSUBSCRIBE.
    #[error("invalid topic filter: {0}")]
    TopicFilter(#[source] TopicError),
}

impl DecodeError {
    /// The MQTT 5 reason code for this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            DecodeError::Malformed(_) => ReasonCode::MALFORMED_PACKET,
            DecodeError::Protocol(_) => ReasonCode::PROTOCOL_ERROR,
            DecodeError::PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
            DecodeError::UnsupportedProtocol { .. } => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            DecodeError::TopicName(_) => ReasonCode::TOPIC_NAME_INVALID,
            DecodeError::TopicAliasInvalid => ReasonCode::TOPIC_ALIAS_INVALID,
            DecodeError::TopicFilter(_) => ReasonCode::TOPIC_FILTER_INVALID,
        }
    }
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The packet would exceed 268,435,455 bytes of remaining length.
    #[error("packet too large to encode ({0} bytes of remaining length)")]
    TooLarge(usize),
    /// A string or binary field exceeds 65,535 bytes.
    #[error("field {0} is longer than 65535 bytes")]
    FieldTooLong(&'static str),
    /// The packet or a field of it does not exist at this protocol level (e.g. AUTH in 3.1.1).
    #[error("{0} cannot be encoded at this protocol level")]
    NotInProtocol(&'static str),
    /// The packet breaks a rule of the specification that the encoder enforces for the sender
    /// (e.g. a QoS 1 PUBLISH without a packet identifier, a SUBSCRIBE without filters).
    #[error("invalid packet: {0}")]
    Invalid(&'static str),
}
