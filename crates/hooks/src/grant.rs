//! What an authentication handler can attach to a login beyond allow / deny: when the
//! credentials expire (the broker disconnects the client then) and per-connection rights that
//! the handler reads back at `client.authorize` (a JWT's ACL claim, an HTTP answer's ACL), and
//! the terms of its CONNACK ([`ConnackTerms`]: reason string, user properties, overrides, an
//! assigned client id).
//! A handler answers `client.authenticate` with [`Value::Grant`](crate::Value::Grant); the
//! broker keeps the grant in the connection's [`ClientInfo`](crate::ClientInfo) for its life.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::connack_terms::ConnackTerms;

/// Rights only the handler that issued them understands, carried for it by the broker.
#[derive(Clone)]
pub struct Rights {
    /// The issuing handler's name, so another handler never reads them as its own.
    pub issuer: Arc<str>,
    /// The rights themselves.
    pub data: Arc<dyn Any + Send + Sync>,
}

impl Rights {
    /// The rights as `T` if `issuer` issued them.
    pub fn get<T: Any + Send + Sync>(&self, issuer: &str) -> Option<&T> {
        if &*self.issuer == issuer {
            self.data.downcast_ref()
        } else {
            None
        }
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights(issued by {})", self.issuer)
    }
}

impl PartialEq for Rights {
    fn eq(&self, other: &Self) -> bool {
        self.issuer == other.issuer && Arc::ptr_eq(&self.data, &other.data)
    }
}

impl Eq for Rights {}

/// A successful login with its terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// Grant superuser (authorization is skipped for superusers).
    pub superuser: bool,
    /// When the credentials stop being valid, in milliseconds since the Unix epoch. The broker
    /// refuses a login whose grant has already expired, and disconnects the client when it
    /// expires (MQTT 5: DISCONNECT 0xA0 Maximum connect time).
    pub expire_at_ms: Option<u64>,
    /// Rights for the issuing handler to read back at `client.authorize`.
    pub rights: Option<Rights>,
    /// What the CONNACK tells the client and the negotiated values it overrides, the assigned
    /// client id among them (ignored after a re-authentication, which sends no CONNACK). Boxed:
    /// most grants set none, and events carry grants by value.
    pub connack: Box<ConnackTerms>,
}
