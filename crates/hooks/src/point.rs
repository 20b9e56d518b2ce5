//! The 20 hook points and their names: the single table every driver (native, port, gRPC) uses to
//! translate between hookmq's points and the names users write.

use std::fmt;

/// A point in the broker where handlers are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookPoint {
    /// A CONNECT arrived (before authentication).
    ClientConnect,
    /// A CONNACK is about to be sent.
    ClientConnack,
    /// The client is connected (after a successful CONNACK).
    ClientConnected,
    /// The connection is closed.
    ClientDisconnected,
    /// Decide whether a client may log in (valued).
    ClientAuthenticate,
    /// Decide whether a client may publish to or subscribe to a topic (valued).
    ClientAuthorize,
    /// A SUBSCRIBE arrived, before authorization of its filters (valued: filters may be
    /// rewritten or refused).
    ClientSubscribe,
    /// An UNSUBSCRIBE arrived.
    ClientUnsubscribe,
    /// A new session was created.
    SessionCreated,
    /// A subscription was added to a session.
    SessionSubscribed,
    /// A subscription was removed from a session.
    SessionUnsubscribed,
    /// A persistent session was resumed by a new connection.
    SessionResumed,
    /// A session was discarded because a new connection asked for a clean start.
    SessionDiscarded,
    /// A session was taken over by a new connection with the same client id.
    SessionTakenover,
    /// A session ended.
    SessionTerminated,
    /// A message is about to be routed (valued: may be rewritten or dropped).
    MessagePublish,
    /// A message was sent to a subscriber.
    MessageDelivered,
    /// A subscriber acknowledged a QoS 1/2 message.
    MessageAcked,
    /// A message was dropped.
    MessageDropped,
    /// One step of an MQTT 5 enhanced authentication exchange (valued; hookmq's own point, not
    /// in EMQX's protocols).
    ClientEnhancedAuthenticate,
}

/// Whether a hook point's handlers can change the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    /// Handlers fold over an accumulator and the broker acts on the result.
    Valued,
    /// Handlers are told; their answer is ignored.
    Notification,
}

impl HookPoint {
    /// Every hook point, in the documented order.
    pub const ALL: [HookPoint; 20] = [
        HookPoint::ClientConnect,
        HookPoint::ClientConnack,
        HookPoint::ClientConnected,
        HookPoint::ClientDisconnected,
        HookPoint::ClientAuthenticate,
        HookPoint::ClientAuthorize,
        HookPoint::ClientSubscribe,
        HookPoint::ClientUnsubscribe,
        HookPoint::SessionCreated,
        HookPoint::SessionSubscribed,
        HookPoint::SessionUnsubscribed,
        HookPoint::SessionResumed,
        HookPoint::SessionDiscarded,
        HookPoint::SessionTakenover,
        HookPoint::SessionTerminated,
        HookPoint::MessagePublish,
        HookPoint::MessageDelivered,
        HookPoint::MessageAcked,
        HookPoint::MessageDropped,
        HookPoint::ClientEnhancedAuthenticate,
    ];

    /// Number of hook points.
    pub const COUNT: usize = 20;

    /// Position in [`HookPoint::ALL`], for per-point arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// EMQX's current name (exhook v2/v3), e.g. `client.authorize`.
    pub fn name(self) -> &'static str {
        NAMES[self.index()].0
    }

    /// The name the Erlang-port SDKs use (EMQX 4.1), e.g. `client_check_acl`; the Python SDK's
    /// method is `on_` + this name.
    pub fn port_name(self) -> &'static str {
        NAMES[self.index()].1
    }

    /// The name exhook proto v1 uses (EMQX 4.3/4.4), e.g. `client.check_acl`.
    pub fn v1_name(self) -> &'static str {
        NAMES[self.index()].2
    }

    /// Finds a hook point by any of its names: current, v1 dotted, or port underscored.
    pub fn from_name(name: &str) -> Option<HookPoint> {
        HookPoint::ALL.into_iter().find(|p| {
            let (a, b, c) = NAMES[p.index()];
            name == a || name == b || name == c
        })
    }

    /// Whether handlers decide something here.
    pub fn kind(self) -> PointKind {
        match self {
            HookPoint::ClientAuthenticate
            | HookPoint::ClientAuthorize
            | HookPoint::ClientSubscribe
            | HookPoint::MessagePublish
            | HookPoint::ClientEnhancedAuthenticate => PointKind::Valued,
            _ => PointKind::Notification,
        }
    }

    /// Whether EMQX has this point: the exhook protocols (frozen) carry only these;
    /// `client.enhanced_authenticate` is hookmq's own.
    pub fn in_emqx(self) -> bool {
        self != HookPoint::ClientEnhancedAuthenticate
    }

    /// True for the four `message.*` points, which take per-handler topic filters.
    pub fn is_message(self) -> bool {
        matches!(
            self,
            HookPoint::MessagePublish
                | HookPoint::MessageDelivered
                | HookPoint::MessageAcked
                | HookPoint::MessageDropped
        )
    }
}

/// (current name, port name, exhook v1 name), indexed by [`HookPoint::index`].
const NAMES: [(&str, &str, &str); HookPoint::COUNT] = [
    ("client.connect", "client_connect", "client.connect"),
    ("client.connack", "client_connack", "client.connack"),
    ("client.connected", "client_connected", "client.connected"),
    (
        "client.disconnected",
        "client_disconnected",
        "client.disconnected",
    ),
    (
        "client.authenticate",
        "client_authenticate",
        "client.authenticate",
    ),
    ("client.authorize", "client_check_acl", "client.check_acl"),
    ("client.subscribe", "client_subscribe", "client.subscribe"),
    (
        "client.unsubscribe",
        "client_unsubscribe",
        "client.unsubscribe",
    ),
    ("session.created", "session_created", "session.created"),
    (
        "session.subscribed",
        "session_subscribed",
        "session.subscribed",
    ),
    (
        "session.unsubscribed",
        "session_unsubscribed",
        "session.unsubscribed",
    ),
    ("session.resumed", "session_resumed", "session.resumed"),
    (
        "session.discarded",
        "session_discarded",
        "session.discarded",
    ),
    (
        "session.takenover",
        "session_takeovered",
        "session.takeovered",
    ),
    (
        "session.terminated",
        "session_terminated",
        "session.terminated",
    ),
    ("message.publish", "message_publish", "message.publish"),
    (
        "message.delivered",
        "message_delivered",
        "message.delivered",
    ),
    ("message.acked", "message_acked", "message.acked"),
    ("message.dropped", "message_dropped", "message.dropped"),
    (
        "client.enhanced_authenticate",
        "client_enhanced_authenticate",
        "client.enhanced_authenticate",
    ),
];

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_position() {
        for (i, p) in HookPoint::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(HookPoint::from_name(p.name()), Some(p));
            assert_eq!(HookPoint::from_name(p.port_name()), Some(p));
            assert_eq!(HookPoint::from_name(p.v1_name()), Some(p));
        }
        assert_eq!(
            HookPoint::from_name("client_check_acl"),
            Some(HookPoint::ClientAuthorize)
        );
        assert_eq!(
            HookPoint::from_name("session.takeovered"),
            Some(HookPoint::SessionTakenover)
        );
        assert_eq!(HookPoint::from_name("client.nope"), None);
    }
}
