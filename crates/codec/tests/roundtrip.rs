//! Property tests: every valid packet at every level survives encode → decode unchanged, the
//! encoder's size prediction is exact, partial input is never consumed, and no input whatsoever
//! makes the decoder panic.

// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod strategy;

use bytes::BytesMut;
use hookmq_codec::{Decoder, Packet, Protocol, decode_packet, encode_packet, encoded_len};
use proptest::prelude::*;

/// The level to decode at: CONNECT is decoded before the level is known.
fn level_for(packet: &Packet, protocol: Protocol) -> Option<Protocol> {
    if matches!(packet, Packet::Connect(_)) {
        None
    } else {
        Some(protocol)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_gives_the_packet_back((protocol, packet) in strategy::any_packet()) {
        let mut buf = BytesMut::new();
        encode_packet(&packet, protocol, &mut buf).unwrap();
        prop_assert_eq!(encoded_len(&packet, protocol).unwrap(), buf.len());
        let decoded = decode_packet(&mut buf, level_for(&packet, protocol), u32::MAX).unwrap();
        prop_assert_eq!(decoded, Some(packet));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn every_prefix_is_incomplete_and_left_untouched((protocol, packet) in strategy::any_packet()) {
        let bytes = common::encode(&packet, protocol);
        for n in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..n]);
            let got = decode_packet(&mut buf, level_for(&packet, protocol), u32::MAX);
            prop_assert_eq!(got, Ok(None), "prefix of {} bytes", n);
            prop_assert_eq!(&buf[..], &bytes[..n]);
        }
    }

    #[test]
    fn a_stream_of_packets_decodes_in_order(
        (protocol, packets) in strategy::protocol()
            .prop_flat_map(|p| (Just(p), prop::collection::vec(strategy::packet(p), 1..6)))
    ) {
        // A connection's decoder: CONNECT first, then the packets, all in one buffer.
        let first = Packet::Connect(Box::new(hookmq_codec::Connect {
            protocol,
            clean_start: true,
            keep_alive: 0,
            client_id: "c".into(),
            will: None,
            username: None,
            password: None,
            properties: Default::default(),
        }));
        let mut buf = BytesMut::new();
        for p in std::iter::once(&first).chain(&packets) {
            encode_packet(p, protocol, &mut buf).unwrap();
        }
        let mut decoder = Decoder::new(u32::MAX);
        prop_assert_eq!(decoder.decode(&mut buf).unwrap(), Some(first));
        prop_assert_eq!(decoder.protocol(), Some(protocol));
        for p in packets {
            prop_assert_eq!(decoder.decode(&mut buf).unwrap(), Some(p));
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        level in prop::option::of(strategy::protocol()),
    ) {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = decode_packet(&mut buf, level, 1 << 16) {}
    }

    #[test]
    fn decode_never_panics_on_mutated_packets(
        (protocol, packet) in strategy::any_packet(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        // Valid packets with a few bytes changed reach much deeper than random bytes.
        let mut bytes = common::encode(&packet, protocol);
        for (i, v) in edits {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let mut buf = BytesMut::from(&bytes[..]);
        if let Ok(Some(p)) = decode_packet(&mut buf, level_for(&packet, protocol), u32::MAX) {
            // Whatever decodes must encode again (at the level it was decoded at).
            let at = match &p { Packet::Connect(c) => c.protocol, _ => protocol };
            let _ = common::encode(&p, at);
        }
    }
}
