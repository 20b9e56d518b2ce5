//! Stored records laid out by hand after `persist::record` (so a change of layout that breaks
//! reading old stores shows in the replay test): retained messages with and without headers,
//! queue entries queued and in each in-flight phase, session records of versions 1 and 2.

use bytes::{BufMut, BytesMut};
use hookmq_codec::{Packet, PacketId, Properties, Property, Protocol, Publish, QoS, encode_packet};

use super::Seed;

fn put_str(out: &mut BytesMut, s: &str) {
    out.put_u16(s.len() as u16);
    out.put_slice(s.as_bytes());
}

/// A message record: version 1, id, timestamp, publisher, headers, then the PUBLISH (MQTT 5).
fn message(out: &mut BytesMut, qos: QoS, headers: bool, properties: Properties) {
    out.put_u8(1);
    out.put_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    out.put_u64(1_765_000_000_000);
    put_str(out, "publisher-1");
    if headers {
        out.put_u8(0b111);
        put_str(out, "alice");
        out.put_u8(6);
        out.put_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        out.put_u8(4);
    } else {
        out.put_u8(0);
    }
    let publish = Publish {
        dup: false,
        qos,
        retain: true,
        topic: "sensors/room-1/temp".into(),
        packet_id: (qos != QoS::AtMostOnce).then(|| PacketId::new(1)).flatten(),
        payload: bytes::Bytes::from_static(b"21.5"),
        properties,
    };
    let mut packet = BytesMut::new();
    if encode_packet(&Packet::Publish(publish), Protocol::V5, &mut packet).is_err() {
        packet.clear();
    }
    out.put_u32(packet.len() as u32);
    out.put_slice(&packet);
}

fn seed(name: &str, selector: u8, body: BytesMut) -> Seed {
    let mut bytes = vec![selector];
    bytes.extend_from_slice(&body);
    Seed::new(name, bytes)
}

fn properties() -> Properties {
    Properties(vec![
        Property::MessageExpiryInterval(60),
        Property::ContentType("text/plain".into()),
        Property::UserProperty("k".into(), "v".into()),
    ])
}

/// One session record; `version` 1 has no certificate names.
fn session(version: u8, subscriptions: &[(&str, u8, u32)]) -> BytesMut {
    let mut out = BytesMut::new();
    out.put_u8(version);
    out.put_u32(7200);
    out.put_u64(1_700_000_000_000);
    out.put_u8(if version == 1 { 4 } else { 5 });
    put_str(
        &mut out,
        if version == 1 {
            "127.0.0.1:40000"
        } else {
            "[::1]:1883"
        },
    );
    if version == 1 {
        out.put_u8(1);
        put_str(&mut out, "alice");
    } else {
        out.put_u8(0b1111);
        put_str(&mut out, "alice");
        put_str(&mut out, "t/alice/");
        put_str(&mut out, "alice");
        put_str(&mut out, "CN=alice,O=example");
    }
    out.put_u32(subscriptions.len() as u32);
    for (filter, options, id) in subscriptions {
        put_str(&mut out, filter);
        out.put_u8(*options);
        out.put_u32(*id);
    }
    out
}

/// The `store` target's seeds (selector 0: retained message, 1: queue entry, 2: session).
pub(crate) fn records() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (name, qos, headers, props) in [
        (
            "retained-qos0-bare",
            QoS::AtMostOnce,
            false,
            Properties::default(),
        ),
        (
            "retained-qos1-headers",
            QoS::AtLeastOnce,
            true,
            properties(),
        ),
        ("retained-qos2-props", QoS::ExactlyOnce, false, properties()),
    ] {
        let mut out = BytesMut::new();
        message(&mut out, qos, headers, props);
        seeds.push(seed(name, 0, out));
    }
    for (name, phase, id) in [
        ("entry-queued", 0u8, 0u16),
        ("entry-puback", 1, 7),
        ("entry-pubrec", 2, 8),
        ("entry-pubcomp", 3, 65535),
    ] {
        let mut out = BytesMut::new();
        out.put_u8(1);
        out.put_u8(phase);
        out.put_u16(id);
        out.put_u8(if phase == 0 { 0 } else { 2 });
        out.put_u8(u8::from(phase == 1));
        out.put_u8(2);
        out.put_u32(3);
        out.put_u32(268_435_455);
        message(&mut out, QoS::ExactlyOnce, phase % 2 == 0, properties());
        seeds.push(seed(name, 1, out));
    }
    seeds.push(seed(
        "session-v1",
        2,
        session(1, &[("alice/#", 1 | (2 << 4), 0)]),
    ));
    seeds.push(seed(
        "session-v2",
        2,
        session(
            2,
            &[
                ("$share/g/x/#", 2 | 8, 12),
                ("a/+/c", 4 | (1 << 4), 0),
                ("#", 0, 268_435_455),
            ],
        ),
    ));
    seeds.push(seed("session-v2-empty", 2, session(2, &[])));
    seeds
}
