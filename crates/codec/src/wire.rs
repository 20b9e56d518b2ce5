//! Primitive wire types shared by the decoder and the encoder: variable byte integers, two-byte
//! length-prefixed strings and binary data.
//!
//! The decoder reads them through [`Reader`], a cursor over the frozen body of one packet that
//! hands out zero-copy slices of it; the encoder sizes a packet with [`varint_len`] and
//! [`field_len`] first and then writes it with the `put_*` functions.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::{DecodeError, EncodeError};

/// Largest value a four-byte variable byte integer carries ([MQTT-1.5.5-1]); also the largest
/// remaining length and subscription identifier.
pub(crate) const VARINT_MAX: usize = 268_435_455;

/// Longest string or binary field a two-byte length prefix can describe.
pub(crate) const FIELD_MAX: usize = u16::MAX as usize;

/// Parses a variable byte integer at the start of `src`. `Ok(None)` means `src` ends before the
/// integer does. Non-minimal encodings are accepted (the specification only obliges the sender
/// to use the minimum); a fifth byte is not.
pub(crate) fn parse_varint(src: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value = 0u32;
    for (i, shift) in [0u32, 7, 14, 21].into_iter().enumerate() {
        let Some(&b) = src.get(i) else {
            return Ok(None);
        };
        value |= u32::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    // [MQTT-1.5.5-1] a variable byte integer uses at most four bytes.
    Err(DecodeError::Malformed(
        "variable byte integer longer than four bytes [MQTT-1.5.5-1]",
    ))
}

/// A cursor over the body of one complete packet. Every read checks the bytes are there: running
/// off the end means the remaining length was too short for the fields, a malformed packet.
#[derive(Debug)]
pub(crate) struct Reader {
    data: Bytes,
}

/// The error for a field that runs past the end of the packet (or of the property list).
const TRUNCATED: DecodeError =
    DecodeError::Malformed("field runs past the end of the packet (remaining length too short)");

impl Reader {
    /// Reads from `data`, which holds exactly one packet body (or one property list).
    pub(crate) fn new(data: Bytes) -> Reader {
        Reader { data }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len()
    }

    /// True when everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        if self.data.is_empty() {
            return Err(TRUNCATED);
        }
        Ok(self.data.get_u8())
    }

    /// A big-endian two byte integer ([MQTT-1.5.2]).
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        if self.data.len() < 2 {
            return Err(TRUNCATED);
        }
        Ok(self.data.get_u16())
    }

    /// A big-endian four byte integer ([MQTT-1.5.3]).
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        if self.data.len() < 4 {
            return Err(TRUNCATED);
        }
        Ok(self.data.get_u32())
    }

    /// A variable byte integer ([MQTT-1.5.5]).
    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        let (value, len) = parse_varint(&self.data)?.ok_or(TRUNCATED)?;
        self.data.advance(len);
        Ok(value)
    }

    /// The next `n` bytes, without copying.
    pub(crate) fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if self.data.len() < n {
            return Err(TRUNCATED);
        }
        Ok(self.data.split_to(n))
    }

    /// Binary data: a two byte length followed by that many bytes ([MQTT-1.5.6]).
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 encoded string ([MQTT-1.5.4]), shared with the packet buffer.
    pub(crate) fn string(&mut self) -> Result<ByteString, DecodeError> {
        let raw = self.binary()?;
        // [MQTT-1.5.4-2] a UTF-8 encoded string MUST NOT include the null character U+0000.
        if raw.contains(&0) {
            return Err(DecodeError::Malformed(
                "string contains U+0000 [MQTT-1.5.4-2]",
            ));
        }
        // [MQTT-1.5.4-1] the string MUST be well-formed UTF-8, which excludes the surrogates
        // U+D800..U+DFFF; Rust's UTF-8 validation rejects their encodings.
        ByteString::try_from(raw)
            .map_err(|_| DecodeError::Malformed("string is not well-formed UTF-8 [MQTT-1.5.4-1]"))
    }

    /// A sub-reader over the next `n` bytes (a property list), which this reader skips.
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader, DecodeError> {
        self.take(n).map(Reader::new)
    }

    /// Everything not read yet (a payload).
    pub(crate) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.data)
    }

    /// Ends parsing: bytes left over inside the packet mean the remaining length and the fields
    /// disagree, a malformed packet.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Malformed(
                "unexpected bytes after the last field of the packet",
            ))
        }
    }
}

/// Bytes the minimal variable byte integer encoding of `v` takes ([MQTT-1.5.5-1]).
pub(crate) fn varint_len(v: usize) -> usize {
    match v {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes `v` (at most [`VARINT_MAX`], checked by the caller) as a minimal variable byte integer.
pub(crate) fn put_varint(buf: &mut BytesMut, mut v: usize) {
    loop {
        // Truncation is intended: the low seven bits of `v`.
        let mut b = (v & 0x7F) as u8;
        v >>= 7;
        if v > 0 {
            b |= 0x80;
        }
        buf.put_u8(b);
        if v == 0 {
            return;
        }
    }
}

/// Size of a length-prefixed field of `len` bytes, or `FieldTooLong` naming the field.
pub(crate) fn field_len(len: usize, field: &'static str) -> Result<usize, EncodeError> {
    if len > FIELD_MAX {
        return Err(EncodeError::FieldTooLong(field));
    }
    Ok(2 + len)
}

/// Writes a length-prefixed field whose length [`field_len`] has checked.
pub(crate) fn put_field(buf: &mut BytesMut, data: &[u8]) {
    // field_len has bounded the length to u16::MAX during sizing.
    buf.put_u16(data.len() as u16);
    buf.put_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(v: usize) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_varint(&mut b, v);
        b.to_vec()
    }

    #[test]
    fn varint_boundaries_use_the_minimal_length() {
        // Table 1.1 of the specification: the boundaries of each length.
        let cases: [(usize, &[u8]); 8] = [
            (0, &[0x00]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (VARINT_MAX, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ];
        for (v, bytes) in cases {
            assert_eq!(encode(v), bytes, "encoding {v}");
            assert_eq!(varint_len(v), bytes.len(), "length of {v}");
            assert_eq!(
                parse_varint(bytes),
                Ok(Some((v as u32, bytes.len()))),
                "decoding {v}"
            );
        }
    }

    #[test]
    fn varint_accepts_non_minimal_and_rejects_a_fifth_byte() {
        // 0x80 0x00 is a two-byte encoding of 0: wasteful but allowed to the receiver.
        assert_eq!(parse_varint(&[0x80, 0x00]), Ok(Some((0, 2))));
        assert_eq!(parse_varint(&[0x80, 0x80, 0x80]), Ok(None));
        assert!(matches!(
            parse_varint(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(DecodeError::Malformed(_))
        ));
        // The fifth byte need not have arrived: four continuation bits are already fatal.
        assert!(matches!(
            parse_varint(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn strings_are_zero_copy_and_validated() {
        let body = Bytes::from_static(b"\x00\x03abc\x00\x02\xC3\xA9");
        let mut r = Reader::new(body.clone());
        let s = r.string().unwrap();
        assert_eq!(&*s, "abc");
        // The string shares the packet's allocation.
        assert_eq!(s.as_bytes().as_ptr(), body[2..].as_ptr());
        assert_eq!(&*r.string().unwrap(), "é");
        r.finish().unwrap();

        for bad in [
            &b"\x00\x01\x00"[..],
            b"\x00\x02\xC3\x28",
            b"\x00\x03\xED\xA0\x80",
        ] {
            assert!(matches!(
                Reader::new(Bytes::from(bad)).string(),
                Err(DecodeError::Malformed(_))
            ));
        }
        // Length prefix longer than the data.
        assert!(matches!(
            Reader::new(Bytes::from_static(b"\x00\x05ab")).string(),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn leftover_bytes_are_malformed() {
        let mut r = Reader::new(Bytes::from_static(&[0x00, 0x01, 0x02]));
        assert_eq!(r.u16().unwrap(), 1);
        assert!(matches!(r.finish(), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn oversized_fields_are_refused_when_sizing() {
        assert_eq!(field_len(FIELD_MAX, "x"), Ok(FIELD_MAX + 2));
        assert_eq!(
            field_len(FIELD_MAX + 1, "x"),
            Err(EncodeError::FieldTooLong("x"))
        );
    }
}
