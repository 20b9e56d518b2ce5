//! The `packet` target: `hookmq_codec::decode_packet` over arbitrary bytes at every protocol
//! level and several maximum packet sizes.
//!
//! Input: one selector byte, then the byte stream a connection would read. Bits 0-1 of the
//! selector pick the level the stream starts at (before CONNECT, 3.1, 3.1.1, 5.0), bits 2-3 the
//! maximum packet size. Packets are decoded one after the other like the connection task does (a
//! CONNECT sets the level for the rest) until the stream is incomplete or an error ends it.
//!
//! Properties, for every packet that decodes:
//! - it is no larger than the maximum packet size, and every shorter prefix of it is incomplete
//!   (`Ok(None)`, buffer untouched);
//! - it encodes at its level (a CONNECT at its own), `encoded_len` predicts the size exactly, and
//!   the encoding decodes to an equal packet, consuming every byte. Most of the codec's documented
//!   normalisations (non-minimal variable byte integers, the MQTT 5 short forms of
//!   acknowledgements, the unused first byte of a 3.1 CONNACK) change bytes, never the packet.
//!   One changes the packet, and [`normalised`] applies it: the encoder never writes DUP on a
//!   QoS 0 PUBLISH ([MQTT-3.3.1-2]), which the decoder accepts from MQTT 3.1 clients.
//!
//! And for every input: no panic; an incomplete stream leaves the buffer untouched.

use bytes::BytesMut;
use hookmq_codec::{Packet, Protocol, QoS, decode_packet, encode_packet, encoded_len};

/// The level the stream starts at, by selector bits 0-1 (`None`: before CONNECT).
pub const LEVELS: [Option<Protocol>; 4] = [
    None,
    Some(Protocol::V3_1),
    Some(Protocol::V3_1_1),
    Some(Protocol::V5),
];

/// The maximum packet size, by selector bits 2-3: below the smallest packet with a body, small,
/// the broker's usual 1 MiB, and no limit.
pub const MAX_SIZES: [u32; 4] = [4, 128, 1 << 20, u32::MAX];

/// The selector byte for a level (index into [`LEVELS`]) and a size (index into [`MAX_SIZES`]).
pub fn selector(level: usize, size: usize) -> u8 {
    ((level & 3) | ((size & 3) << 2)) as u8
}

/// Checks one input (see the module documentation).
pub fn check(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let mut level = LEVELS[usize::from(selector & 3)];
    let max = MAX_SIZES[usize::from((selector >> 2) & 3)];
    let mut buf = BytesMut::from(stream);
    let mut offset = 0;
    // Every decoded packet consumes at least two bytes, so this ends.
    loop {
        match decode_packet(&mut buf, level, max) {
            Ok(None) => {
                assert_eq!(&buf[..], &stream[offset..], "Ok(None) changed the buffer");
                return;
            }
            Ok(Some(packet)) => {
                let used = stream.len() - offset - buf.len();
                let bytes = &stream[offset..offset + used];
                assert!(used >= 2, "a packet of {used} bytes: {packet:?}");
                assert!(
                    used as u64 <= u64::from(max),
                    "a packet of {used} bytes passed the maximum of {max}: {packet:?}"
                );
                prefix_is_incomplete(bytes, level, max);
                round_trip(&packet, level);
                if let Packet::Connect(connect) = &packet {
                    level = Some(connect.protocol);
                }
                offset += used;
            }
            Err(error) => {
                // The reason code the broker would send, and the log text.
                let _ = (error.reason_code(), error.to_string());
                return;
            }
        }
    }
}

/// The packet's bytes without the last one are not a packet yet.
fn prefix_is_incomplete(bytes: &[u8], level: Option<Protocol>, max: u32) {
    let prefix = &bytes[..bytes.len() - 1];
    let mut buf = BytesMut::from(prefix);
    let got = decode_packet(&mut buf, level, max);
    assert_eq!(got, Ok(None), "a strict prefix {prefix:02x?} decoded");
    assert_eq!(&buf[..], prefix, "an incomplete packet changed the buffer");
}

/// Encodes a decoded packet and decodes it again.
fn round_trip(packet: &Packet, level: Option<Protocol>) {
    let protocol = match (packet, level) {
        (Packet::Connect(connect), _) => connect.protocol,
        (_, Some(protocol)) => protocol,
        (_, None) => panic!("a packet other than CONNECT decoded before CONNECT: {packet:?}"),
    };
    let mut out = BytesMut::new();
    if let Err(error) = encode_packet(packet, protocol, &mut out) {
        panic!("a decoded packet does not encode at {protocol:?}: {error}\n{packet:?}");
    }
    assert_eq!(
        encoded_len(packet, protocol),
        Ok(out.len()),
        "encoded_len disagrees with encode_packet for {packet:?}"
    );
    let encoded = out.to_vec();
    let again = decode_packet(&mut out, level, u32::MAX);
    assert_eq!(
        again.as_ref(),
        Ok(&Some(normalised(packet))),
        "{protocol:?} encoding {encoded:02x?} decodes differently"
    );
    assert!(out.is_empty(), "the re-encoded packet left bytes behind");
}

/// The packet an encode → decode round trip gives back: `packet` with the encoder's documented
/// normalisations applied.
pub fn normalised(packet: &Packet) -> Packet {
    let mut packet = packet.clone();
    if let Packet::Publish(p) = &mut packet
        && p.qos == QoS::AtMostOnce
    {
        // encode/publish.rs: DUP is only written with QoS 1 and 2.
        p.dup = false;
    }
    packet
}
