//! Server redirection (MQTT 5 §4.11): a refused or closed MQTT 5 client is told another server
//! to use, in the Server Reference of its CONNACK or DISCONNECT. An authentication handler
//! answers `client.authenticate` with [`Value::Redirect`](crate::Value::Redirect) to send a
//! client elsewhere (a tenant that lives on another cluster, a node being drained); the
//! broker's own configuration uses the same value for a node that moved or is shutting down.
//! MQTT 3.x clients cannot be told: they get CONNACK return code 3 (server unavailable).

use bytestring::ByteString;
use hookmq_codec::ReasonCode;

/// Where a client should connect instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The Server Reference: `host` or `host:port`, several separated by spaces (the form the
    /// specification suggests; clients read it, the broker does not).
    pub server_reference: ByteString,
    /// A permanent move (0x9D Server moved: the client should stop using this server) rather
    /// than a temporary one (0x9C Use another server).
    pub moved: bool,
}

impl Redirect {
    /// The CONNACK or DISCONNECT reason code that carries the reference.
    pub fn reason_code(&self) -> ReasonCode {
        if self.moved {
            ReasonCode::SERVER_MOVED
        } else {
            ReasonCode::USE_ANOTHER_SERVER
        }
    }
}
