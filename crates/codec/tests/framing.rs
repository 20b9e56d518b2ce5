//! Framing: incomplete input is never consumed, oversized packets are refused from the fixed
//! header alone, and remaining lengths at every variable byte integer boundary work.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::{Bytes, BytesMut};
use common::hex;
use hookmq_codec::{
    ByteString, DecodeError, Decoder, Packet, Properties, Protocol, Publish, QoS, ReasonCode,
    decode_packet,
};

const V4: Option<Protocol> = Some(Protocol::V3_1_1);

/// Valid packets of several types and levels, as bytes and the level to read them at.
fn samples() -> Vec<(Vec<u8>, Option<Protocol>)> {
    vec![
        (hex("10 0E 00 04 'MQTT' 04 02 00 3C 00 02 'c1'"), None),
        (hex("10 11 00 06 'MQIsdp' 03 02 00 0A 00 03 'abc'"), None),
        (hex("20 02 01 00"), V4),
        (hex("3B 09 00 03 'a/b' 00 07 'hi'"), V4),
        (
            hex("32 0D 00 03 'a/b' 00 07 03 23 00 05 'hi'"),
            Some(Protocol::V5),
        ),
        (hex("82 0C 00 0A 00 03 'a/+' 01 00 01 '#' 02"), V4),
        (hex("90 06 00 0A 00 01 87 A2"), Some(Protocol::V5)),
        (hex("E0 07 8E 05 11 00 00 00 00"), Some(Protocol::V5)),
        (hex("F0 02 19 00"), Some(Protocol::V5)),
        (hex("C0 00"), V4),
    ]
}

#[test]
fn every_prefix_returns_none_and_leaves_the_buffer_unchanged() {
    for (bytes, level) in samples() {
        for n in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..n]);
            assert_eq!(
                decode_packet(&mut buf, level, common::MAX),
                Ok(None),
                "{n} of {bytes:?}"
            );
            assert_eq!(&buf[..], &bytes[..n]);
        }
        assert!(common::decode(&bytes, level).is_ok());
    }
}

#[test]
fn a_packet_arriving_byte_by_byte_decodes_once_complete() {
    let bytes = hex("3B 09 00 03 'a/b' 00 07 'hi' C0 00");
    let mut decoder = Decoder::with_protocol(Protocol::V3_1_1, common::MAX);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in bytes {
        buf.extend_from_slice(&[b]);
        while let Some(p) = decoder.decode(&mut buf).unwrap() {
            got.push(p);
        }
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[1], Packet::PingReq);
}

#[test]
fn packet_too_large_is_reported_from_the_fixed_header() {
    // PUBLISH announcing 65,535 bytes of remaining length: only 4 bytes have arrived.
    let mut buf = BytesMut::from(&hex("30 FF FF 03")[..]);
    let e = decode_packet(&mut buf, V4, 1024).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PacketTooLarge {
            size: 65_539,
            max: 1024
        }
    );
    assert_eq!(e.reason_code(), ReasonCode::PACKET_TOO_LARGE);
    assert_eq!(buf.len(), 4, "nothing consumed");
    // Also for a CONNECT before the protocol is known.
    let mut buf = BytesMut::from(&hex("10 80 08")[..]);
    let e = decode_packet(&mut buf, None, 1000).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PacketTooLarge {
            size: 1027,
            max: 1000
        }
    );
}

#[test]
fn the_limit_counts_the_whole_packet() {
    // 2 bytes of fixed header + 9 of body = 11.
    let bytes = hex("3B 09 00 03 'a/b' 00 07 'hi'");
    let mut buf = BytesMut::from(&bytes[..]);
    assert!(decode_packet(&mut buf, V4, 11).unwrap().is_some());
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(
        decode_packet(&mut buf, V4, 10),
        Err(DecodeError::PacketTooLarge { size: 11, max: 10 })
    );
    let mut decoder = Decoder::with_protocol(Protocol::V3_1_1, 10);
    decoder.set_max_packet_size(11);
    assert!(
        decoder
            .decode(&mut BytesMut::from(&bytes[..]))
            .unwrap()
            .is_some()
    );
}

#[test]
fn remaining_length_boundaries_round_trip() {
    // Remaining length = 2 + 1 (topic) + payload; cover each variable byte integer width.
    for (remaining, header) in [
        (127, 2),
        (128, 3),
        (16_383, 3),
        (16_384, 4),
        (2_097_151, 4),
        (2_097_152, 5),
    ] {
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: ByteString::from_static("t"),
            packet_id: None,
            payload: Bytes::from(vec![0xA5; remaining - 3]),
            properties: Properties::new(),
        });
        let bytes = common::encode(&p, Protocol::V3_1_1);
        assert_eq!(bytes.len(), header + remaining, "remaining {remaining}");
        let mut buf = BytesMut::from(&bytes[..]);
        let got = decode_packet(&mut buf, V4, u32::MAX).unwrap();
        assert_eq!(got, Some(p));
    }
}

#[test]
fn decoded_fields_share_the_read_buffer() {
    let bytes = hex("30 07 00 03 'a/b' 'hi'");
    let mut buf = BytesMut::from(&bytes[..]);
    let start = buf.as_ptr() as usize;
    let Some(Packet::Publish(p)) = decode_packet(&mut buf, V4, common::MAX).unwrap() else {
        panic!()
    };
    // Topic at offset 4 and payload at offset 7 of the original allocation: no copies.
    assert_eq!(p.topic.as_bytes().as_ptr() as usize, start + 4);
    assert_eq!(p.payload.as_ptr() as usize, start + 7);
}

#[test]
fn decoder_learns_the_level_from_connect() {
    let mut d = Decoder::new(common::MAX);
    assert_eq!(d.protocol(), None);
    let mut buf =
        BytesMut::from(&hex("10 11 00 06 'MQIsdp' 03 02 00 0A 00 03 'abc' 6A 02 00 01")[..]);
    assert!(matches!(d.decode(&mut buf), Ok(Some(Packet::Connect(_)))));
    assert_eq!(d.protocol(), Some(Protocol::V3_1));
    // A 3.1 PUBREL retry with DUP is accepted because the level is now known.
    assert!(matches!(d.decode(&mut buf), Ok(Some(Packet::PubRel(_)))));
    d.set_protocol(Protocol::V5);
    assert_eq!(d.protocol(), Some(Protocol::V5));
}
