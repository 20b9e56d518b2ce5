//! MQTT 5 reason codes, and their mapping onto MQTT 3.x CONNACK return codes and SUBACK codes.

use std::fmt;

/// A reason code byte ([MQTT 5.0 §2.4]). The same byte means different things in different
/// packets (0x00 is Success, Normal disconnection or Granted QoS 0), so this is a newtype over
/// the byte with named constants rather than one enum.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ReasonCode(pub u8);

macro_rules! codes {
    ($($name:ident = $v:expr, $text:expr;)*) => {
        impl ReasonCode {
            $(
                #[doc = $text]
                pub const $name: ReasonCode = ReasonCode($v);
            )*
        }
    };
}

codes! {
    SUCCESS = 0x00, "0x00 Success / Normal disconnection / Granted QoS 0";
    GRANTED_QOS_1 = 0x01, "0x01 Granted QoS 1";
    GRANTED_QOS_2 = 0x02, "0x02 Granted QoS 2";
    DISCONNECT_WITH_WILL = 0x04, "0x04 Disconnect with Will Message";
    NO_MATCHING_SUBSCRIBERS = 0x10, "0x10 No matching subscribers";
    NO_SUBSCRIPTION_EXISTED = 0x11, "0x11 No subscription existed";
    CONTINUE_AUTHENTICATION = 0x18, "0x18 Continue authentication";
    RE_AUTHENTICATE = 0x19, "0x19 Re-authenticate";
    UNSPECIFIED_ERROR = 0x80, "0x80 Unspecified error";
    MALFORMED_PACKET = 0x81, "0x81 Malformed Packet";
    PROTOCOL_ERROR = 0x82, "0x82 Protocol Error";
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83, "0x83 Implementation specific error";
    UNSUPPORTED_PROTOCOL_VERSION = 0x84, "0x84 Unsupported Protocol Version";
    CLIENT_IDENTIFIER_NOT_VALID = 0x85, "0x85 Client Identifier not valid";
    BAD_USER_NAME_OR_PASSWORD = 0x86, "0x86 Bad User Name or Password";
    NOT_AUTHORIZED = 0x87, "0x87 Not authorized";
    SERVER_UNAVAILABLE = 0x88, "0x88 Server unavailable";
    SERVER_BUSY = 0x89, "0x89 Server busy";
    BANNED = 0x8A, "0x8A Banned";
    SERVER_SHUTTING_DOWN = 0x8B, "0x8B Server shutting down";
    BAD_AUTHENTICATION_METHOD = 0x8C, "0x8C Bad authentication method";
    KEEP_ALIVE_TIMEOUT = 0x8D, "0x8D Keep Alive timeout";
    SESSION_TAKEN_OVER = 0x8E, "0x8E Session taken over";
    TOPIC_FILTER_INVALID = 0x8F, "0x8F Topic Filter invalid";
    TOPIC_NAME_INVALID = 0x90, "0x90 Topic Name invalid";
    PACKET_IDENTIFIER_IN_USE = 0x91, "0x91 Packet Identifier in use";
    PACKET_IDENTIFIER_NOT_FOUND = 0x92, "0x92 Packet Identifier not found";
    RECEIVE_MAXIMUM_EXCEEDED = 0x93, "0x93 Receive Maximum exceeded";
    TOPIC_ALIAS_INVALID = 0x94, "0x94 Topic Alias invalid";
    PACKET_TOO_LARGE = 0x95, "0x95 Packet too large";
    MESSAGE_RATE_TOO_HIGH = 0x96, "0x96 Message rate too high";
    QUOTA_EXCEEDED = 0x97, "0x97 Quota exceeded";
    ADMINISTRATIVE_ACTION = 0x98, "0x98 Administrative action";
    PAYLOAD_FORMAT_INVALID = 0x99, "0x99 Payload format invalid";
    RETAIN_NOT_SUPPORTED = 0x9A, "0x9A Retain not supported";
    QOS_NOT_SUPPORTED = 0x9B, "0x9B QoS not supported";
    USE_ANOTHER_SERVER = 0x9C, "0x9C Use another server";
    SERVER_MOVED = 0x9D, "0x9D Server moved";
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E, "0x9E Shared Subscriptions not supported";
    CONNECTION_RATE_EXCEEDED = 0x9F, "0x9F Connection rate exceeded";
    MAXIMUM_CONNECT_TIME = 0xA0, "0xA0 Maximum connect time";
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1, "0xA1 Subscription Identifiers not supported";
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2, "0xA2 Wildcard Subscriptions not supported";
}

impl ReasonCode {
    /// True for codes below 0x80.
    pub fn is_success(self) -> bool {
        self.0 < 0x80
    }

    /// Whether MQTT 5 lets a packet of type `kind` carry this code (the lists of §3.2.2.2,
    /// §3.4.2.1, ..., §3.15.2.1; the decoder refuses any other as a protocol error). For a
    /// sender checking a code before it builds a packet, e.g. a hook's refusal code.
    pub fn allowed_in(self, kind: crate::PacketType) -> bool {
        crate::decode::reason_allowed(kind, self.0)
    }

    /// The snake-case name EMQX uses for this code in hook payloads (`client.connack`'s result
    /// code, disconnect reasons), e.g. `success`, `not_authorized`, `session_taken_over`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x00 => "success",
            0x01 => "granted_qos1",
            0x02 => "granted_qos2",
            0x04 => "disconnect_with_will_message",
            0x10 => "no_matching_subscribers",
            0x11 => "no_subscription_existed",
            0x18 => "continue_authentication",
            0x19 => "reauthenticate",
            0x80 => "unspecified_error",
            0x81 => "malformed_packet",
            0x82 => "protocol_error",
            0x83 => "implementation_specific_error",
            0x84 => "unsupported_protocol_version",
            0x85 => "client_identifier_not_valid",
            0x86 => "bad_username_or_password",
            0x87 => "not_authorized",
            0x88 => "server_unavailable",
            0x89 => "server_busy",
            0x8A => "banned",
            0x8B => "server_shutting_down",
            0x8C => "bad_authentication_method",
            0x8D => "keepalive_timeout",
            0x8E => "session_taken_over",
            0x8F => "topic_filter_invalid",
            0x90 => "topic_name_invalid",
            0x91 => "packet_identifier_inuse",
            0x92 => "packet_identifier_not_found",
            0x93 => "receive_maximum_exceeded",
            0x94 => "topic_alias_invalid",
            0x95 => "packet_too_large",
            0x96 => "message_rate_too_high",
            0x97 => "quota_exceeded",
            0x98 => "administrative_action",
            0x99 => "payload_format_invalid",
            0x9A => "retain_not_supported",
            0x9B => "qos_not_supported",
            0x9C => "use_another_server",
            0x9D => "server_moved",
            0x9E => "shared_subscriptions_not_supported",
            0x9F => "connection_rate_exceeded",
            0xA0 => "maximum_connect_time",
            0xA1 => "subscription_identifiers_not_supported",
            0xA2 => "wildcard_subscriptions_not_supported",
            _ => "unknown_error",
        }
    }

    /// The MQTT 3.x CONNACK return code for this reason ([MQTT-3.2.2-4..5]):
    /// 0 accepted, 1 unacceptable protocol version, 2 identifier rejected, 3 server unavailable,
    /// 4 bad user name or password, 5 not authorized.
    pub fn to_v3_connack(self) -> u8 {
        match self {
            ReasonCode::SUCCESS => 0,
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => 1,
            ReasonCode::CLIENT_IDENTIFIER_NOT_VALID => 2,
            ReasonCode::BAD_USER_NAME_OR_PASSWORD => 4,
            ReasonCode::NOT_AUTHORIZED | ReasonCode::BANNED => 5,
            _ => 3,
        }
    }

    /// The reason code for an MQTT 3.x CONNACK return code; `None` for 6..=255, which are reserved.
    pub fn from_v3_connack(rc: u8) -> Option<ReasonCode> {
        Some(match rc {
            0 => ReasonCode::SUCCESS,
            1 => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            2 => ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
            3 => ReasonCode::SERVER_UNAVAILABLE,
            4 => ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            5 => ReasonCode::NOT_AUTHORIZED,
            _ => return None,
        })
    }

    /// The MQTT 3.1.1 SUBACK return code: granted QoS 0..2 as is, any failure as 0x80.
    pub fn to_v3_suback(self) -> u8 {
        if self.0 <= 2 { self.0 } else { 0x80 }
    }
}

impl fmt::Debug for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReasonCode(0x{:02X} {})", self.0, self.name())
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X} {}", self.0, self.name())
    }
}
