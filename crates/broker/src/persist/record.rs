//! The byte layout of what the store keeps: messages (a small header plus the message as an MQTT 5
//! PUBLISH, so properties reuse the codec), queue entries, and session records. Every record starts
//! with a version byte so the layout can change without breaking stored data: readers accept every
//! version ever written, writers write the newest.
//!
//! Session records: version 1 (hookmq 0.1) and version 2, which adds the client certificate's CN
//! and DN, part of the identity that owns the session.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use hookmq_codec::{
    Packet, PacketId, Protocol, Publish, QoS, RetainHandling, SubscriptionOptions, TopicName,
};
use hookmq_hooks::{Message, MessageHeaders, MessageId};

use crate::inflight::Phase;

/// Version of message and queue entry records.
const VERSION: u8 = 1;
/// Version of session records written now.
const SESSION_VERSION: u8 = 2;

/// Why a stored record could not be read (the problem only; [`RecordError::of`] names the
/// record).
#[derive(Debug, thiserror::Error)]
#[error("stored record is unreadable: {0}")]
pub(crate) struct RecordError(pub(crate) &'static str);

impl RecordError {
    /// The error with the kind of record it happened in.
    pub(crate) fn of(self, kind: RecordKind) -> UnreadableRecord {
        UnreadableRecord {
            kind,
            problem: self.0,
        }
    }
}

/// The kinds of record the store keeps, for errors that name the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A retained message (`retained` keyspace, keyed by topic).
    Retained,
    /// A session's queued or in-flight delivery (`queue` keyspace).
    QueueEntry,
    /// A session without its queue (`sessions` keyspace, keyed by client id).
    Session,
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordKind::Retained => "retained message",
            RecordKind::QueueEntry => "queue entry",
            RecordKind::Session => "session",
        })
    }
}

/// A stored record that could not be read: which kind of record, and what is wrong with it. The
/// store skips such a record with a warning naming it and its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored {kind} record is unreadable: {problem}")]
pub struct UnreadableRecord {
    /// The kind of record.
    pub kind: RecordKind,
    /// What is wrong with it.
    pub problem: &'static str,
}

fn put_str(out: &mut BytesMut, s: &[u8]) {
    out.put_u16(s.len().min(u16::MAX as usize) as u16);
    out.put_slice(&s[..s.len().min(u16::MAX as usize)]);
}

fn get_str(b: &mut Bytes) -> Result<Bytes, RecordError> {
    if b.remaining() < 2 {
        return Err(RecordError("truncated string length"));
    }
    let n = b.get_u16() as usize;
    if b.remaining() < n {
        return Err(RecordError("truncated string"));
    }
    Ok(b.split_to(n))
}

fn get_text(b: &mut Bytes) -> Result<ByteString, RecordError> {
    ByteString::try_from(get_str(b)?).map_err(|_| RecordError("invalid UTF-8"))
}

fn need(b: &Bytes, n: usize) -> Result<(), RecordError> {
    if b.remaining() < n {
        Err(RecordError("truncated record"))
    } else {
        Ok(())
    }
}

/// Appends a message record.
pub(crate) fn put_message(m: &Message, out: &mut BytesMut) {
    out.put_u8(VERSION);
    out.put_u128(m.id.0);
    out.put_u64(m.timestamp_ms);
    put_str(out, m.from.as_bytes());
    let h = &m.headers;
    let flags = u8::from(h.username.is_some())
        | (u8::from(h.peerhost.is_some()) << 1)
        | (u8::from(h.protocol.is_some()) << 2);
    out.put_u8(flags);
    if let Some(u) = &h.username {
        put_str(out, u.as_bytes());
    }
    if let Some(ip) = h.peerhost {
        match ip {
            IpAddr::V4(v4) => {
                out.put_u8(4);
                out.put_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                out.put_u8(6);
                out.put_slice(&v6.octets());
            }
        }
    }
    if let Some(p) = h.protocol {
        out.put_u8(p.level());
    }
    let publish = Publish {
        dup: false,
        qos: m.qos,
        retain: m.retain,
        topic: m.topic.as_bytestring().clone(),
        packet_id: (m.qos != QoS::AtMostOnce)
            .then(|| PacketId::new(1))
            .flatten(),
        payload: m.payload.clone(),
        properties: m.properties.clone(),
    };
    let mut packet = BytesMut::new();
    if hookmq_codec::encode_packet(&Packet::Publish(publish), Protocol::V5, &mut packet).is_err() {
        // A message the broker accepted always encodes; keep the record readable regardless.
        packet.clear();
    }
    out.put_u32(packet.len() as u32);
    out.put_slice(&packet);
}

/// Reads a message record from the front of `b`.
pub(crate) fn get_message(b: &mut Bytes) -> Result<Message, RecordError> {
    need(b, 1 + 16 + 8)?;
    if b.get_u8() != VERSION {
        return Err(RecordError("unknown message record version"));
    }
    let id = MessageId(b.get_u128());
    let timestamp_ms = b.get_u64();
    let from = get_text(b)?;
    need(b, 1)?;
    let flags = b.get_u8();
    let username = if flags & 1 != 0 {
        Some(get_text(b)?)
    } else {
        None
    };
    let peerhost = if flags & 2 != 0 {
        need(b, 1)?;
        match b.get_u8() {
            4 => {
                need(b, 4)?;
                let mut o = [0u8; 4];
                b.copy_to_slice(&mut o);
                Some(IpAddr::from(o))
            }
            6 => {
                need(b, 16)?;
                let mut o = [0u8; 16];
                b.copy_to_slice(&mut o);
                Some(IpAddr::from(o))
            }
            _ => return Err(RecordError("unknown address kind")),
        }
    } else {
        None
    };
    let protocol = if flags & 4 != 0 {
        need(b, 1)?;
        Some(match b.get_u8() {
            3 => Protocol::V3_1,
            4 => Protocol::V3_1_1,
            _ => Protocol::V5,
        })
    } else {
        None
    };
    need(b, 4)?;
    let n = b.get_u32() as usize;
    need(b, n)?;
    let mut packet = BytesMut::from(&b.split_to(n)[..]);
    let publish = match hookmq_codec::decode_packet(&mut packet, Some(Protocol::V5), u32::MAX) {
        Ok(Some(Packet::Publish(p))) => p,
        _ => return Err(RecordError("stored PUBLISH does not decode")),
    };
    Ok(Message {
        id,
        qos: publish.qos,
        from,
        topic: TopicName::new(publish.topic).map_err(|_| RecordError("stored topic is invalid"))?,
        payload: publish.payload,
        retain: publish.retain,
        timestamp_ms,
        properties: publish.properties,
        headers: MessageHeaders {
            username,
            peerhost,
            protocol,
            hops: 0,
        },
    })
}

/// One stored queue entry of a session: a delivery, queued or in flight.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredEntry {
    pub(crate) message: Arc<Message>,
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) subscription_ids: Vec<u32>,
    /// `None`: queued; otherwise the packet id and phase in flight.
    pub(crate) inflight: Option<(PacketId, Phase)>,
}

fn phase_byte(p: Phase) -> u8 {
    match p {
        Phase::PubAck => 1,
        Phase::PubRec => 2,
        Phase::PubComp => 3,
    }
}

/// Encodes a queue entry.
pub(crate) fn put_entry(e: &StoredEntry, out: &mut BytesMut) {
    out.put_u8(VERSION);
    match e.inflight {
        Some((id, phase)) => {
            out.put_u8(phase_byte(phase));
            out.put_u16(id.get());
        }
        None => {
            out.put_u8(0);
            out.put_u16(0);
        }
    }
    out.put_u8(e.qos.as_u8());
    out.put_u8(u8::from(e.retain));
    out.put_u8(e.subscription_ids.len().min(255) as u8);
    for id in e.subscription_ids.iter().take(255) {
        out.put_u32(*id);
    }
    put_message(&e.message, out);
}

/// Decodes a queue entry.
pub(crate) fn get_entry(mut b: Bytes) -> Result<StoredEntry, RecordError> {
    need(&b, 7)?;
    if b.get_u8() != VERSION {
        return Err(RecordError("unknown entry record version"));
    }
    let phase = b.get_u8();
    let id = b.get_u16();
    let qos = QoS::from_u8(b.get_u8()).ok_or(RecordError("bad QoS"))?;
    let retain = b.get_u8() != 0;
    let n = b.get_u8() as usize;
    need(&b, 4 * n)?;
    let subscription_ids = (0..n).map(|_| b.get_u32()).collect();
    let inflight = match phase {
        0 => None,
        p => {
            let phase = match p {
                1 => Phase::PubAck,
                2 => Phase::PubRec,
                3 => Phase::PubComp,
                _ => return Err(RecordError("bad phase")),
            };
            Some((PacketId::new(id).ok_or(RecordError("packet id 0"))?, phase))
        }
    };
    let message = Arc::new(get_message(&mut b)?);
    Ok(StoredEntry {
        message,
        qos,
        retain,
        subscription_ids,
        inflight,
    })
}

/// What the store keeps about a session besides its queue.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredSession {
    pub(crate) expiry_interval: u32,
    pub(crate) created_at_ms: u64,
    pub(crate) username: Option<ByteString>,
    /// TLS client certificate CN and DN (version 2; `None` in version 1 records).
    pub(crate) cn: Option<ByteString>,
    pub(crate) dn: Option<ByteString>,
    pub(crate) protocol: Protocol,
    pub(crate) peer: SocketAddr,
    pub(crate) mountpoint: Option<ByteString>,
    pub(crate) subscriptions: Vec<(ByteString, SubscriptionOptions, Option<u32>)>,
}

/// Encodes a session record.
pub(crate) fn put_session(s: &StoredSession, out: &mut BytesMut) {
    out.put_u8(SESSION_VERSION);
    out.put_u32(s.expiry_interval);
    out.put_u64(s.created_at_ms);
    out.put_u8(s.protocol.level());
    put_str(out, s.peer.to_string().as_bytes());
    let texts = [&s.username, &s.mountpoint, &s.cn, &s.dn];
    let flags = texts
        .iter()
        .enumerate()
        .fold(0u8, |f, (i, t)| f | (u8::from(t.is_some()) << i));
    out.put_u8(flags);
    for t in texts.into_iter().flatten() {
        put_str(out, t.as_bytes());
    }
    out.put_u32(s.subscriptions.len() as u32);
    for (filter, o, id) in &s.subscriptions {
        put_str(out, filter.as_bytes());
        let opts = o.qos.as_u8()
            | (u8::from(o.no_local) << 2)
            | (u8::from(o.retain_as_published) << 3)
            | ((o.retain_handling as u8) << 4);
        out.put_u8(opts);
        out.put_u32(id.unwrap_or(0));
    }
}

/// Decodes a session record.
pub(crate) fn get_session(mut b: Bytes) -> Result<StoredSession, RecordError> {
    need(&b, 14)?;
    let version = b.get_u8();
    if !(1..=SESSION_VERSION).contains(&version) {
        return Err(RecordError("unknown session record version"));
    }
    let expiry_interval = b.get_u32();
    let created_at_ms = b.get_u64();
    let protocol = match b.get_u8() {
        3 => Protocol::V3_1,
        4 => Protocol::V3_1_1,
        _ => Protocol::V5,
    };
    let peer = std::str::from_utf8(&get_str(&mut b)?)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    need(&b, 1)?;
    let flags = b.get_u8();
    // Version 1 knows the first two texts only.
    if version == 1 && flags & !3 != 0 {
        return Err(RecordError("unknown flags in a version 1 session record"));
    }
    let mut texts = [None, None, None, None];
    for (i, t) in texts.iter_mut().enumerate() {
        if flags & (1 << i) != 0 {
            *t = Some(get_text(&mut b)?);
        }
    }
    let [username, mountpoint, cn, dn] = texts;
    need(&b, 4)?;
    let n = b.get_u32() as usize;
    let mut subscriptions = Vec::with_capacity(n.min(b.remaining() / 7));
    for _ in 0..n {
        let filter = get_text(&mut b)?;
        need(&b, 5)?;
        let o = b.get_u8();
        let id = b.get_u32();
        let options = SubscriptionOptions {
            qos: QoS::from_u8(o & 3).ok_or(RecordError("bad QoS"))?,
            no_local: o & 4 != 0,
            retain_as_published: o & 8 != 0,
            retain_handling: match (o >> 4) & 3 {
                0 => RetainHandling::SendAtSubscribe,
                1 => RetainHandling::SendIfNew,
                _ => RetainHandling::DoNotSend,
            },
        };
        subscriptions.push((filter, options, (id != 0).then_some(id)));
    }
    Ok(StoredSession {
        expiry_interval,
        created_at_ms,
        username,
        cn,
        dn,
        protocol,
        peer,
        mountpoint,
        subscriptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::Property;

    #[test]
    fn messages_entries_and_sessions_round_trip() {
        let mut m = Message::new(
            "pub".into(),
            TopicName::new("a/b").unwrap(),
            Bytes::from_static(b"pay"),
            QoS::ExactlyOnce,
            true,
        );
        m.properties
            .push(Property::UserProperty("k".into(), "v".into()));
        m.properties.push(Property::MessageExpiryInterval(30));
        m.headers = MessageHeaders {
            username: Some("u".into()),
            peerhost: Some("::1".parse().unwrap()),
            protocol: Some(Protocol::V5),
            hops: 0,
        };
        let e = StoredEntry {
            message: Arc::new(m),
            qos: QoS::AtLeastOnce,
            retain: false,
            subscription_ids: vec![3, 9],
            inflight: Some((PacketId::new(77).unwrap(), Phase::PubComp)),
        };
        let mut out = BytesMut::new();
        put_entry(&e, &mut out);
        let back = get_entry(out.freeze()).unwrap();
        assert_eq!(*back.message, *e.message);
        assert_eq!(
            (back.qos, back.retain, back.subscription_ids, back.inflight),
            (e.qos, e.retain, e.subscription_ids, e.inflight)
        );

        let s = StoredSession {
            expiry_interval: 600,
            created_at_ms: 42,
            username: Some("alice".into()),
            cn: None,
            dn: Some("CN=alice,O=example".into()),
            protocol: Protocol::V3_1_1,
            peer: "10.0.0.1:5555".parse().unwrap(),
            mountpoint: None,
            subscriptions: vec![(
                "$share/g/x/#".into(),
                SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: false,
                    retain_as_published: true,
                    retain_handling: RetainHandling::DoNotSend,
                },
                Some(12),
            )],
        };
        let mut out = BytesMut::new();
        put_session(&s, &mut out);
        assert_eq!(get_session(out.freeze()).unwrap(), s);
    }

    #[test]
    fn version_1_session_records_still_load() {
        // A record as hookmq 0.1 wrote it: user name, no mount point, one subscription.
        let mut v1 = BytesMut::new();
        v1.put_u8(1);
        v1.put_u32(7200);
        v1.put_u64(1_700_000_000_000);
        v1.put_u8(4);
        put_str(&mut v1, b"127.0.0.1:40000");
        v1.put_u8(1);
        put_str(&mut v1, b"alice");
        v1.put_u32(1);
        put_str(&mut v1, b"alice/#");
        v1.put_u8(1 | (2 << 4));
        v1.put_u32(0);
        let s = get_session(v1.freeze()).unwrap();
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert_eq!((s.cn, s.dn, s.mountpoint), (None, None, None));
        assert_eq!(s.expiry_interval, 7200);
        assert_eq!(s.subscriptions.len(), 1);
        assert_eq!(s.subscriptions[0].1.qos, QoS::AtLeastOnce);
        assert_eq!(
            s.subscriptions[0].1.retain_handling,
            RetainHandling::DoNotSend
        );
    }

    #[test]
    fn errors_name_the_record() {
        let e = get_session(Bytes::from_static(&[9; 20]))
            .unwrap_err()
            .of(RecordKind::Session);
        assert_eq!(
            e.to_string(),
            "stored session record is unreadable: unknown session record version"
        );
        let e = get_entry(Bytes::from_static(&[1, 0, 0, 0, 0, 0]))
            .unwrap_err()
            .of(RecordKind::QueueEntry);
        assert_eq!(
            e.to_string(),
            "stored queue entry record is unreadable: truncated record"
        );
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        let mut out = BytesMut::new();
        put_message(
            &Message::new(
                "p".into(),
                TopicName::new("t").unwrap(),
                Bytes::from_static(b"x"),
                QoS::AtMostOnce,
                false,
            ),
            &mut out,
        );
        let full = out.freeze();
        for n in 0..full.len() {
            assert!(get_message(&mut full.slice(..n)).is_err(), "prefix {n}");
        }
    }
}
