//! The envelope a message travels in between nodes: a compact, versioned binary form of the
//! broker's [`Message`] (what `message.publish` left of the PUBLISH), so QoS, the retain flag
//! (for Retain As Published), the publisher (for No Local), the publisher's facts and every
//! MQTT 5 property survive the hop. Subscription-side choices (granted QoS, Retain As Published,
//! subscription identifiers) are made by the receiving node's router.
//!
//! Layout, version 1 (integers big-endian):
//!
//! ```text
//! u8   version (1)
//! u8   flags: bits 0-1 QoS, bit 2 retain, bit 3 user name follows, bit 4 peer address
//!      follows, bit 5 protocol level follows
//! u128 message id         u64 accepted at (ms since the epoch)
//! u16 + bytes  publisher client id      u16 + bytes  topic
//! [u16 + bytes user name] [u8 4|6 + 4|16 bytes address] [u8 protocol level]
//! MQTT 5 PUBLISH property list (variable byte integer length, then the properties)
//! payload: the rest
//! ```
//!
//! Decoding trusts nothing: anyone who can publish on the cluster's NATS subjects can send
//! bytes here. Strings must be UTF-8, the topic a valid topic name, the properties valid for a
//! PUBLISH, and per-connection properties (topic alias, subscription identifier) are refused.

use std::net::IpAddr;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use hookmq_codec::{Property, Protocol, QoS, TopicName};
use hookmq_hooks::{Message, MessageHeaders, MessageId};

/// The envelope version this node writes and reads.
pub const VERSION: u8 = 1;

/// Why an envelope could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed envelope: {0}")]
pub struct EnvelopeError(&'static str);

/// Writes `m` as an envelope.
pub fn encode(m: &Message) -> Bytes {
    let h = &m.headers;
    let mut out = BytesMut::with_capacity(
        40 + m.from.len() + m.topic.as_str().len() + m.payload.len() + 16 * m.properties.0.len(),
    );
    out.put_u8(VERSION);
    let flags = m.qos.as_u8()
        | (u8::from(m.retain) << 2)
        | (u8::from(h.username.is_some()) << 3)
        | (u8::from(h.peerhost.is_some()) << 4)
        | (u8::from(h.protocol.is_some()) << 5);
    out.put_u8(flags);
    out.put_u128(m.id.0);
    out.put_u64(m.timestamp_ms);
    put_str(&mut out, &m.from);
    put_str(&mut out, m.topic.as_str());
    if let Some(u) = &h.username {
        put_str(&mut out, u);
    }
    match h.peerhost {
        Some(IpAddr::V4(a)) => {
            out.put_u8(4);
            out.put_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            out.put_u8(6);
            out.put_slice(&a.octets());
        }
        None => {}
    }
    if let Some(p) = h.protocol {
        out.put_u8(p.level());
    }
    if hookmq_codec::encode_message_properties(&m.properties, &mut out).is_err() {
        // Properties the broker accepted always encode; an empty list keeps the envelope valid.
        out.put_u8(0);
    }
    out.put_slice(&m.payload);
    out.freeze()
}

/// Reads an envelope; the payload shares `b`'s memory.
pub fn decode(mut b: Bytes) -> Result<Message, EnvelopeError> {
    need(&b, 2 + 16 + 8)?;
    if b.get_u8() != VERSION {
        return Err(EnvelopeError("unknown version"));
    }
    let flags = b.get_u8();
    if flags & 0xC0 != 0 {
        return Err(EnvelopeError("unknown flags"));
    }
    let qos = QoS::from_u8(flags & 3).ok_or(EnvelopeError("QoS 3"))?;
    let id = MessageId(b.get_u128());
    let timestamp_ms = b.get_u64();
    let from = get_str(&mut b)?;
    let topic = TopicName::new(get_str(&mut b)?).map_err(|_| EnvelopeError("invalid topic"))?;
    let username = if flags & 8 != 0 {
        Some(get_str(&mut b)?)
    } else {
        None
    };
    let peerhost = if flags & 16 != 0 {
        need(&b, 1)?;
        match b.get_u8() {
            4 => {
                let mut a = [0u8; 4];
                need(&b, 4)?;
                b.copy_to_slice(&mut a);
                Some(IpAddr::from(a))
            }
            6 => {
                let mut a = [0u8; 16];
                need(&b, 16)?;
                b.copy_to_slice(&mut a);
                Some(IpAddr::from(a))
            }
            _ => return Err(EnvelopeError("unknown address kind")),
        }
    } else {
        None
    };
    let protocol = if flags & 32 != 0 {
        need(&b, 1)?;
        Some(match b.get_u8() {
            3 => Protocol::V3_1,
            4 => Protocol::V3_1_1,
            5 => Protocol::V5,
            _ => return Err(EnvelopeError("unknown protocol level")),
        })
    } else {
        None
    };
    let properties = hookmq_codec::decode_message_properties(&mut b)
        .map_err(|_| EnvelopeError("invalid properties"))?;
    // Topic alias and subscription identifiers belong to one connection, never to a message.
    if properties.iter().any(|p| {
        matches!(
            p,
            Property::TopicAlias(_) | Property::SubscriptionIdentifier(_)
        )
    }) {
        return Err(EnvelopeError("per-connection property"));
    }
    Ok(Message {
        id,
        qos,
        from,
        topic,
        payload: b,
        retain: flags & 4 != 0,
        timestamp_ms,
        properties,
        headers: MessageHeaders {
            username,
            peerhost,
            protocol,
            hops: 0,
        },
    })
}

fn put_str(out: &mut BytesMut, s: &str) {
    // Client ids, topics and user names are MQTT strings: at most 65,535 bytes.
    let n = s.len().min(usize::from(u16::MAX));
    out.put_u16(n as u16);
    out.put_slice(&s.as_bytes()[..n]);
}

fn get_str(b: &mut Bytes) -> Result<ByteString, EnvelopeError> {
    need(b, 2)?;
    let n = usize::from(b.get_u16());
    need(b, n)?;
    ByteString::try_from(b.split_to(n)).map_err(|_| EnvelopeError("invalid UTF-8"))
}

fn need(b: &Bytes, n: usize) -> Result<(), EnvelopeError> {
    if b.remaining() < n {
        Err(EnvelopeError("truncated"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::Properties;

    fn full() -> Message {
        let mut m = Message::new(
            "pub-1".into(),
            TopicName::new("a/b").unwrap(),
            Bytes::from_static(b"payload"),
            QoS::ExactlyOnce,
            true,
        );
        m.properties = Properties(vec![
            Property::PayloadFormatIndicator(1),
            Property::MessageExpiryInterval(30),
            Property::ContentType("text/plain".into()),
            Property::ResponseTopic("r/t".into()),
            Property::CorrelationData(Bytes::from_static(b"\x00\x01")),
            Property::UserProperty("k".into(), "v".into()),
            Property::UserProperty("k".into(), "v2".into()),
        ]);
        m.headers = MessageHeaders {
            username: Some("alice".into()),
            peerhost: Some("::1".parse().unwrap()),
            protocol: Some(Protocol::V5),
            hops: 0,
        };
        m
    }

    #[test]
    fn every_field_and_property_survives_the_hop() {
        let m = full();
        assert_eq!(decode(encode(&m)).unwrap(), m);
        let bare = Message::new(
            "".into(),
            TopicName::new("x").unwrap(),
            Bytes::new(),
            QoS::AtMostOnce,
            false,
        );
        let bytes = encode(&bare);
        assert_eq!(bytes.len(), 2 + 16 + 8 + 2 + 3 + 1);
        assert_eq!(decode(bytes).unwrap(), bare);
    }

    #[test]
    fn truncated_and_hostile_envelopes_are_refused() {
        let bytes = encode(&full());
        // Every cut before the payload fails; cuts inside the payload only shorten it.
        let payload_at = bytes.len() - b"payload".len();
        for n in 0..payload_at {
            assert!(decode(bytes.slice(..n)).is_err(), "prefix {n}");
        }
        let mut alias = full();
        alias.properties.push(Property::TopicAlias(3));
        assert_eq!(
            decode(encode(&alias)),
            Err(EnvelopeError("per-connection property"))
        );
        let mut wild = BytesMut::from(&encode(&full())[..]);
        // The topic "a/b" becomes "a/#": not a topic name.
        let at = 2 + 16 + 8 + 2 + 5 + 2 + 2;
        wild[at] = b'#';
        assert_eq!(decode(wild.freeze()), Err(EnvelopeError("invalid topic")));
        assert!(decode(Bytes::from_static(&[2, 0])).is_err());
        let mut qos3 = BytesMut::from(&encode(&full())[..]);
        qos3[1] |= 3;
        assert_eq!(decode(qos3.freeze()), Err(EnvelopeError("QoS 3")));
    }
}
