//! Helpers shared by the codec's integration tests: annotated hex literals, and one-call
//! encode / decode wrappers that also check the encoder's size prediction.

#![allow(dead_code, unreachable_pub)]

use bytes::BytesMut;
use hookmq_codec::{DecodeError, Packet, Protocol, decode_packet, encode_packet, encoded_len};

/// Large enough for every test packet.
pub const MAX: u32 = 1 << 20;

/// Bytes from an annotated hex listing: pairs of hex digits, `'text'` for ASCII, and `//`
/// comments to the end of the line.
pub fn hex(listing: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in listing.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut chars = code.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_whitespace() {
                continue;
            }
            if c == '\'' {
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    let mut b = [0u8; 4];
                    out.extend_from_slice(q.encode_utf8(&mut b).as_bytes());
                }
                continue;
            }
            let lo = chars
                .next()
                .unwrap_or_else(|| panic!("odd hex digit in {line:?}"));
            let pair: String = [c, lo].iter().collect();
            out.push(u8::from_str_radix(&pair, 16).unwrap_or_else(|_| panic!("bad hex {pair:?}")));
        }
    }
    out
}

/// Decodes exactly one packet from `bytes` at `protocol`, asserting nothing is left over.
pub fn decode(bytes: &[u8], protocol: Option<Protocol>) -> Result<Packet, DecodeError> {
    let mut buf = BytesMut::from(bytes);
    let p = decode_packet(&mut buf, protocol, MAX)?.expect("packet incomplete");
    assert!(buf.is_empty(), "decoder left {} bytes", buf.len());
    Ok(p)
}

/// Decodes, expecting an error.
pub fn decode_err(bytes: &[u8], protocol: Option<Protocol>) -> DecodeError {
    match decode(bytes, protocol) {
        Ok(p) => panic!("decoded {p:?}, expected an error"),
        Err(e) => e,
    }
}

/// Encodes, checking `encoded_len` agrees with what was written.
pub fn encode(packet: &Packet, protocol: Protocol) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode_packet(packet, protocol, &mut buf).unwrap();
    assert_eq!(
        encoded_len(packet, protocol).unwrap(),
        buf.len(),
        "encoded_len of {packet:?}"
    );
    buf.to_vec()
}

/// Asserts `packet` encodes to exactly `bytes` and `bytes` decode to exactly `packet`.
pub fn both_ways(packet: &Packet, protocol: Protocol, bytes: &[u8]) {
    assert_eq!(
        hexdump(&encode(packet, protocol)),
        hexdump(bytes),
        "encoding {packet:?}"
    );
    let at = if matches!(packet, Packet::Connect(_)) {
        None
    } else {
        Some(protocol)
    };
    assert_eq!(&decode(bytes, at).unwrap(), packet, "decoding");
}

/// Hex for readable assertion failures.
pub fn hexdump(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts decoding fails as a malformed packet (reason code 0x81); returns the detail.
#[track_caller]
pub fn malformed(bytes: &[u8], protocol: Option<Protocol>) -> &'static str {
    let e = decode_err(bytes, protocol);
    assert_eq!(
        e.reason_code(),
        hookmq_codec::ReasonCode::MALFORMED_PACKET,
        "{e:?}"
    );
    match e {
        DecodeError::Malformed(detail) => detail,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

/// Asserts decoding fails as a protocol error (reason code 0x82); returns the detail.
#[track_caller]
pub fn protocol_error(bytes: &[u8], protocol: Option<Protocol>) -> &'static str {
    let e = decode_err(bytes, protocol);
    assert_eq!(
        e.reason_code(),
        hookmq_codec::ReasonCode::PROTOCOL_ERROR,
        "{e:?}"
    );
    match e {
        DecodeError::Protocol(detail) => detail,
        other => panic!("expected Protocol, got {other:?}"),
    }
}

/// A packet from its first byte and body, with the remaining length filled in.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}
