//! The application message as the broker routes it and as `message.*` hooks see it.
//!
//! One type serves both: the broker wraps a [`Message`] in an `Arc` when a PUBLISH is accepted and
//! hands the same `Arc` to every subscriber's session and to every hook, so a hook that changes
//! nothing costs no copy.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{Properties, Protocol, QoS, TopicName};

/// A message identifier unique within this broker: microseconds since the epoch in the high 64
/// bits and a counter in the low 64 bits. Shown as 32 uppercase hex digits, like EMQX's GUIDs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u128);

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl MessageId {
    /// A fresh identifier.
    pub fn generate() -> MessageId {
        MessageId::at(since_epoch())
    }

    /// An identifier for a message stamped `since_epoch` after the Unix epoch.
    fn at(since_epoch: Duration) -> MessageId {
        let micros = since_epoch.as_micros();
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        MessageId(((micros as u64 as u128) << 64) | seq as u128)
    }

    /// Reads an identifier as [`Display`](fmt::Display) writes it (1 to 32 hex digits, either
    /// case); `None` for anything else.
    pub fn parse(text: &str) -> Option<MessageId> {
        let ok = (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| u128::from_str_radix(text, 16).ok())
            .flatten()
            .map(MessageId)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032X}", self.0)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    since_epoch().as_millis() as u64
}

/// Time since the Unix epoch (zero if the clock is before it).
fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Facts about the publisher carried with a message (exhook's `Message.headers`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageHeaders {
    /// Publisher's user name.
    pub username: Option<ByteString>,
    /// Publisher's address.
    pub peerhost: Option<IpAddr>,
    /// Publisher's protocol level; `None` for messages the broker made (API, `$SYS`, wills
    /// keep the publisher's).
    pub protocol: Option<Protocol>,
    /// How many times hook services republished this message's ancestors through
    /// `message.publish` (0 for a client's message); bounded by [`crate::MAX_HOPS`].
    pub hops: u8,
}

/// An application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Unique id.
    pub id: MessageId,
    /// QoS the publisher used (each subscriber receives at most its granted QoS).
    pub qos: QoS,
    /// Publisher's client id; empty for messages made by the broker.
    pub from: ByteString,
    /// Topic.
    pub topic: TopicName,
    /// Payload.
    pub payload: Bytes,
    /// Retain flag as published.
    pub retain: bool,
    /// Milliseconds since the epoch when the broker accepted the message.
    pub timestamp_ms: u64,
    /// MQTT 5 publish properties that travel with the message: payload format, message expiry,
    /// content type, response topic, correlation data, user properties. Never topic alias or
    /// subscription identifiers, which are per connection.
    pub properties: Properties,
    /// Publisher facts.
    pub headers: MessageHeaders,
}

impl Message {
    /// A message stamped now with a fresh id.
    pub fn new(
        from: ByteString,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Message {
        // One clock read for the id and the timestamp (it showed in the publish path's profile).
        let now = since_epoch();
        Message {
            id: MessageId::at(now),
            qos,
            from,
            topic,
            payload,
            retain,
            timestamp_ms: now.as_millis() as u64,
            properties: Properties::default(),
            headers: MessageHeaders::default(),
        }
    }

    /// True for `$SYS/...` topics, which skip message hooks.
    pub fn is_sys(&self) -> bool {
        self.topic.as_str().starts_with("$SYS/")
    }

    /// The Message Expiry Interval the publisher set, in seconds.
    pub fn expiry_interval(&self) -> Option<u32> {
        self.properties.message_expiry_interval()
    }

    /// Seconds left before expiry at `now_ms` (`None`: never expires; `Some(0)`: expired).
    /// [MQTT-3.3.2-6] the forwarded interval is the received one minus the time waited.
    pub fn remaining_expiry(&self, now_ms: u64) -> Option<u32> {
        let interval = u64::from(self.expiry_interval()?);
        let waited = now_ms.saturating_sub(self.timestamp_ms) / 1000;
        Some(interval.saturating_sub(waited) as u32)
    }

    /// Whether the message has expired at `now_ms` ([MQTT-3.3.2-5]).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        match self.expiry_interval() {
            Some(interval) => now_ms >= self.timestamp_ms + u64::from(interval) * 1000,
            None => false,
        }
    }
}

/// Why a message was dropped (the `reason` of `message.dropped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// No subscription matched the topic.
    NoSubscribers,
    /// A subscriber's queue was full.
    QueueFull,
    /// The message expired before it could be delivered.
    Expired,
    /// A `message.publish` handler dropped it.
    DroppedByHook,
    /// Publishing to the topic was not authorized.
    NotAuthorized,
    /// The encoded packet exceeds the subscriber's maximum packet size.
    PacketTooLarge,
    /// QoS 0 message for a disconnected persistent session.
    QosZeroOffline,
    /// The receiving session ended before delivery completed.
    SessionTerminated,
}

impl DropReason {
    /// Every reason (per-reason counters, reading a reason back from its name).
    pub const ALL: [DropReason; 8] = [
        DropReason::NoSubscribers,
        DropReason::QueueFull,
        DropReason::Expired,
        DropReason::DroppedByHook,
        DropReason::NotAuthorized,
        DropReason::PacketTooLarge,
        DropReason::QosZeroOffline,
        DropReason::SessionTerminated,
    ];

    /// The reason as hooks see it, e.g. `no_subscribers`.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::NoSubscribers => "no_subscribers",
            DropReason::QueueFull => "queue_full",
            DropReason::Expired => "expired",
            DropReason::DroppedByHook => "dropped_by_hook",
            DropReason::NotAuthorized => "not_authorized",
            DropReason::PacketTooLarge => "packet_too_large",
            DropReason::QosZeroOffline => "qos0_offline",
            DropReason::SessionTerminated => "session_terminated",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::Property;

    #[test]
    fn ids_are_unique_and_print_as_32_hex_digits() {
        let a = MessageId::generate();
        let b = MessageId::generate();
        assert_ne!(a, b);
        let s = a.to_string();
        assert_eq!(s.len(), 32);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        assert_eq!(MessageId::parse(&s), Some(a));
        assert_eq!(MessageId::parse(&s.to_ascii_lowercase()), Some(a));
        for bad in ["", "x", "+1", " 1", &format!("{s}0"), "-0"] {
            assert_eq!(MessageId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn expiry_counts_down_from_the_acceptance_time() {
        let mut m = Message::new(
            "c".into(),
            TopicName::new("t").unwrap(),
            Bytes::new(),
            QoS::AtLeastOnce,
            false,
        );
        m.timestamp_ms = 10_000;
        assert_eq!(m.remaining_expiry(20_000), None);
        m.properties.push(Property::MessageExpiryInterval(30));
        assert_eq!(m.remaining_expiry(20_500), Some(20));
        assert!(!m.is_expired(39_999));
        assert!(m.is_expired(40_000));
        assert_eq!(m.remaining_expiry(50_000), Some(0));
    }
}
