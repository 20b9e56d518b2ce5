//! What an authentication handler may tell a client in its CONNACK besides the reason code: a
//! Reason String and User Properties, overrides of what the broker negotiated (session expiry,
//! keep alive, maximum QoS, receive maximum) and an Assigned Client Identifier. A handler that
//! lets a client in puts them in its [`Grant`](crate::Grant) (`client.authenticate`, or the
//! success of `client.enhanced_authenticate`); one that refuses a client answers
//! [`Value::Refuse`](crate::Value::Refuse) with a [`Refusal`]. `rights.rs` checks both before
//! the broker acts on them; the broker's connection (`broker/src/connection/negotiation.rs`)
//! applies the overrides, which only ever tighten what the configuration allows.

use bytestring::ByteString;
use hookmq_codec::ReasonCode;

/// A User Property: name and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProperty {
    /// The name.
    pub name: ByteString,
    /// The value.
    pub value: ByteString,
}

impl UserProperty {
    /// A property from its name and value.
    pub fn new(name: impl Into<ByteString>, value: impl Into<ByteString>) -> UserProperty {
        UserProperty {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The CONNACK terms of a successful login. Every field is optional; what is not set is left to
/// the broker. MQTT 3.x clients get none of the properties (their CONNACK has none); the
/// overrides that can be applied without telling the client are (see docs/hooks.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnackTerms {
    /// A Reason String for the client (MQTT 5; dropped if the CONNACK would exceed the
    /// client's Maximum Packet Size, [MQTT-3.2.2-19]).
    pub reason_string: Option<ByteString>,
    /// User Properties for the client (MQTT 5; dropped, before the Reason String, if the CONNACK
    /// would exceed the client's Maximum Packet Size, [MQTT-3.2.2-20]).
    pub user_properties: Vec<UserProperty>,
    /// Session Expiry Interval in seconds instead of the client's, capped by
    /// `mqtt.session_expiry_max`; an MQTT 3.x client's session may only be shortened.
    pub session_expiry_interval: Option<u32>,
    /// Server Keep Alive in seconds, capped by the configured keep alive limits (MQTT 5 only:
    /// a 3.x client cannot be told).
    pub server_keep_alive: Option<u16>,
    /// Maximum QoS (0, 1 or 2) the client may publish with and is granted; never above
    /// `mqtt.max_qos`.
    pub maximum_qos: Option<u8>,
    /// Receive Maximum (1 to 65535): the QoS 1/2 publications the client may have unacknowledged;
    /// never above `mqtt.receive_maximum` (MQTT 5 only).
    pub receive_maximum: Option<u16>,
    /// The client id the connection, its session and every hook use instead of the one the
    /// client sent; told to MQTT 5 clients as the Assigned Client Identifier, applied silently for
    /// MQTT 3.x clients. It goes through the same session-ownership rules as a client's own id.
    pub assigned_client_id: Option<ByteString>,
}

impl ConnackTerms {
    /// Whether the terms change nothing.
    pub fn is_empty(&self) -> bool {
        *self == ConnackTerms::default()
    }
}

/// A refusal with what its CONNACK tells an MQTT 5 client (3.x clients only get the return
/// code that maps from `code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// A code CONNACK can carry as a refusal ([MQTT-3.2.2-7]).
    pub code: ReasonCode,
    /// A Reason String for the client.
    pub reason_string: Option<ByteString>,
    /// User Properties for the client.
    pub user_properties: Vec<UserProperty>,
}

impl Refusal {
    /// A refusal with `code` and nothing else.
    pub fn new(code: ReasonCode) -> Refusal {
        Refusal {
            code,
            reason_string: None,
            user_properties: Vec::new(),
        }
    }
}
