//! The `{packet, 4}` framing of the port pipe: every term travels as a 4-byte big-endian length
//! followed by that many bytes (131 and the term). Sans-IO: the driver reads the worker's stdout
//! into a `BytesMut` and asks [`FrameDecoder`] for complete frames; it writes frames made by
//! [`encode_frame`] (or [`crate::message::Outgoing::encode_frame`]) to the worker's stdin.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::etf::{self, EtfError, Term};

/// The default largest frame accepted from a worker: 16 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// The length prefix's size.
const HEADER_LEN: usize = 4;

/// Splits a byte stream into frames, refusing any frame longer than a maximum.
///
/// The announced length is checked before anything is buffered for it, and no buffer space is
/// reserved from it, so a peer cannot make the broker allocate by announcing a large frame. The
/// shape of [`FrameDecoder::decode`] matches `tokio_util::codec::Decoder::decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameDecoder {
    max_frame_len: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames longer than `max_frame_len` bytes (not counting the
    /// length prefix).
    pub fn new(max_frame_len: usize) -> Self {
        Self { max_frame_len }
    }

    /// The largest frame accepted.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Takes the next complete frame (without its length prefix) off the front of `buf`, or
    /// returns `None` and leaves `buf` untouched until more bytes arrive. Call it again after
    /// a frame: `buf` may hold several.
    ///
    /// An error is fatal for the stream: the frame boundaries are lost.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, EtfError> {
        let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > self.max_frame_len {
            return Err(EtfError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        if buf.len() - HEADER_LEN < len {
            return Ok(None);
        }
        buf.advance(HEADER_LEN);
        Ok(Some(buf.split_to(len).freeze()))
    }
}

impl Default for FrameDecoder {
    /// A decoder with [`DEFAULT_MAX_FRAME_LEN`].
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LEN)
    }
}

/// Appends one frame carrying `term` to `buf`: the length, 131 and the term, written in one pass
/// (the length is patched in afterwards). On error `buf` is left as it was.
pub fn encode_frame(term: &Term, buf: &mut BytesMut) -> Result<(), EtfError> {
    encode_frame_with(buf, 1 + term.encoded_len(), |buf| etf::put_term(buf, term))
}

/// Appends one frame whose term `body` writes (after the version byte); `expected_len` is a
/// capacity hint for the payload. On error `buf` is left as it was.
pub(crate) fn encode_frame_with(
    buf: &mut BytesMut,
    expected_len: usize,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EtfError>,
) -> Result<(), EtfError> {
    let start = buf.len();
    buf.reserve(HEADER_LEN + expected_len);
    buf.put_u32(0);
    buf.put_u8(etf::VERSION);
    let result = body(buf).and_then(|()| {
        let len = buf.len() - start - HEADER_LEN;
        u32::try_from(len).map_err(|_| EtfError::TooLong { what: "frame", len })
    });
    match result {
        Ok(len) => {
            buf[start..start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
            Ok(())
        }
        Err(error) => {
            buf.truncate(start);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_the_whole_frame() {
        let mut decoder = FrameDecoder::default();
        let mut buf = BytesMut::from(&[0, 0, 0, 2, 131][..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(buf.len(), 5);
        buf.put_slice(&[106, 0, 0, 0, 0]);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Bytes::from_static(&[131, 106])))
        );
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Bytes::new())));
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
    }

    #[test]
    fn refuses_oversized_frames_before_buffering_them() {
        let mut decoder = FrameDecoder::new(10);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(EtfError::FrameTooLarge {
                len: u32::MAX as usize,
                max: 10
            })
        );
        assert!(buf.capacity() < 1024);
        let mut exact = BytesMut::from(&[0, 0, 0, 10][..]);
        exact.put_slice(&[0; 10]);
        assert_eq!(
            decoder.decode(&mut exact).unwrap().map(|f| f.len()),
            Some(10)
        );
        let mut over = BytesMut::from(&[0, 0, 0, 11][..]);
        assert!(decoder.decode(&mut over).is_err());
    }

    #[test]
    fn a_failed_encode_leaves_the_buffer_alone() {
        let mut buf = BytesMut::from(&b"keep"[..]);
        let map = Term::list([Term::Map(Vec::new())]);
        assert_eq!(
            encode_frame(&map, &mut buf),
            Err(EtfError::Unencodable { what: "map" })
        );
        assert_eq!(&buf[..], b"keep");
        encode_frame(&Term::nil(), &mut buf).unwrap();
        assert_eq!(&buf[..], b"keep\x00\x00\x00\x02\x83\x6a");
    }
}
