//! Who a hook is about: the connection ([`ConnInfo`]) and the authenticated client
//! ([`ClientInfo`]). The broker builds them once per connection and shares them by `Arc`; drivers
//! turn them into proplists (port) or protobuf messages (gRPC).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::Protocol;

use crate::grant::Grant;

/// The broker's node name as hooks see it (EMQX's `node`), e.g. `hookmq@127.0.0.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeName(pub Arc<str>);

impl NodeName {
    /// Wraps a name.
    pub fn new(name: impl Into<Arc<str>>) -> NodeName {
        NodeName(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for NodeName {
    fn default() -> Self {
        NodeName::new("hookmq@127.0.0.1")
    }
}

/// The peer address with IPv4-mapped IPv6 addresses shown as IPv4, as EMQX prints `peerhost`.
pub fn peerhost_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Facts about a connection, known from the CONNECT packet and the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// Broker node.
    pub node: NodeName,
    /// Client identifier (the assigned one if the client sent none).
    pub clientid: ByteString,
    /// User name from CONNECT.
    pub username: Option<ByteString>,
    /// Peer address.
    pub peer: SocketAddr,
    /// Local port of the listener.
    pub sockport: u16,
    /// Protocol level.
    pub protocol: Protocol,
    /// Keep alive in seconds.
    pub keepalive: u16,
    /// Clean start / clean session flag.
    pub clean_start: bool,
    /// Session expiry interval in seconds (3.x: 0 for clean session, the configured maximum
    /// otherwise).
    pub expiry_interval: u32,
    /// Milliseconds since the Unix epoch when CONNECT arrived.
    pub connected_at_ms: u64,
}

/// Facts about a client as authentication and authorization see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// Broker node.
    pub node: NodeName,
    /// Client identifier.
    pub clientid: ByteString,
    /// User name (possibly replaced by the certificate's CN or DN, see the TLS listener options).
    pub username: Option<ByteString>,
    /// Password: present only in `client.authenticate` events.
    pub password: Option<Bytes>,
    /// Peer address.
    pub peer: SocketAddr,
    /// Local port of the listener.
    pub sockport: u16,
    /// Protocol level.
    pub protocol: Protocol,
    /// Mount point of the listener, if any.
    pub mountpoint: Option<ByteString>,
    /// Set by an authentication handler.
    pub is_superuser: bool,
    /// True until a handler authenticated the client.
    pub anonymous: bool,
    /// TLS client certificate common name.
    pub cn: Option<ByteString>,
    /// TLS client certificate subject distinguished name.
    pub dn: Option<ByteString>,
    /// The terms an authentication handler let the client in on (expiry, rights), if any.
    pub grant: Option<Arc<Grant>>,
}

/// Who a session belongs to: the identity of the client that made it, or that last resumed it
/// with the broker's consent (`session.owner_change`). Two connections are the same identity
/// when both the user name and the certificate subject are equal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// User name (the certificate's CN or DN where the listener uses it as the user name).
    pub username: Option<ByteString>,
    /// Subject DN of the TLS client certificate, when one was presented.
    pub cert_dn: Option<ByteString>,
}

impl ClientInfo {
    /// The identity this client logs in with.
    pub fn identity(&self) -> Identity {
        Identity {
            username: self.username.clone(),
            cert_dn: self.dn.clone(),
        }
    }

    /// The same client without its password, as every hook but `client.authenticate` sees it.
    pub fn without_password(&self) -> ClientInfo {
        ClientInfo {
            password: None,
            ..self.clone()
        }
    }

    /// `peerhost` text (IPv4-mapped addresses as IPv4).
    pub fn peerhost(&self) -> String {
        peerhost_text(self.peer.ip())
    }
}

impl ConnInfo {
    /// `peerhost` text (IPv4-mapped addresses as IPv4).
    pub fn peerhost(&self) -> String {
        peerhost_text(self.peer.ip())
    }
}
