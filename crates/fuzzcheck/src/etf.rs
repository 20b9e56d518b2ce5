//! The `etf` target: what a Python or Java worker can send the broker. The Erlang term decoder
//! (`hookmq_port::etf::decode`), [`RawTerm`], the `{packet, 4}` [`FrameDecoder`] fed in arbitrary
//! chunks, and the port message classifier [`Incoming::decode`].
//!
//! Input: bytes a worker writes to its stdout. They are checked twice: as one frame's payload
//! (131 and a term), and as the pipe's byte stream, split into frames by a small and by the
//! default frame decoder, whose frames are checked as payloads in turn. Properties:
//! - no panic, and no allocation sized by an announced length beyond what the input holds (the
//!   fuzz runs enforce it with `-malloc_limit_mb`);
//! - stability: a term that decodes and encodes (maps never encode) has an exact `encoded_len`,
//!   and its encoding decodes to the same term (floats compared by bits) and encodes to the
//!   same bytes. Decoding canonicalises (old atom and float tags, small bignums, `[]` tails,
//!   list chains), so the first encoding may differ from the input, never the second;
//! - `RawTerm::new` accepts exactly the bodies that hold one term and nothing after it, its
//!   `decode` gives the term, and, when its bytes are a tuple, `tuple_elements` and `element`
//!   give the tuple's elements. (A raw term walks bytes, not the canonical term: `[] ++ {..}`
//!   written as a LIST_EXT of no elements with a tuple tail decodes as the tuple, yet its bytes
//!   are not a tuple's.) `Incoming::Result` carries the raw bytes of its own result;
//! - the frame decoder gives the same frames, each within its maximum, however the stream is cut.

use bytes::{Bytes, BytesMut};
use hookmq_port::etf::{self, RawTerm, Term, tag};
use hookmq_port::frame::FrameDecoder;
use hookmq_port::message::Incoming;

/// The frame size limit of the small frame decoder.
pub const SMALL_FRAME: usize = 32;

/// Checks one input (see the module documentation).
pub fn check(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    check_payload(&bytes);
    for max in [SMALL_FRAME, hookmq_port::frame::DEFAULT_MAX_FRAME_LEN] {
        let frames = frames_in_chunks(data, max);
        for frame in &frames {
            assert!(frame.len() <= max, "a frame of {} bytes", frame.len());
            check_payload(frame);
        }
    }
}

/// One frame's payload: the term, its raw form, and the port message.
fn check_payload(payload: &Bytes) {
    let decoded = etf::decode(payload);
    if let Ok(term) = &decoded {
        stable(term);
    }
    if let Some(body) = payload.get(1..).filter(|_| payload[0] == etf::VERSION) {
        check_raw(&payload.slice(1..), decoded.as_ref().ok(), body.len());
    }
    match Incoming::decode(payload) {
        Ok(Incoming::Result { result, raw, .. }) => match raw.decode() {
            Ok(again) => assert!(same(&again, &result), "Result.raw is not the result"),
            Err(error) => panic!("Result.raw does not decode: {error}"),
        },
        Ok(_) => {}
        Err(error) => {
            assert!(
                decoded.is_err(),
                "Incoming refused a term etf::decode read: {error}"
            )
        }
    }
}

/// Encodes a decoded term twice and compares.
fn stable(term: &Term) {
    let mut first = BytesMut::new();
    if etf::encode(term, &mut first).is_err() {
        assert!(first.is_empty(), "a failed encode left bytes");
        return;
    }
    assert_eq!(
        term.encoded_len() + 1,
        first.len(),
        "encoded_len is not exact for {term:?}"
    );
    let first = first.freeze();
    let again = match etf::decode(&first) {
        Ok(again) => again,
        Err(error) => panic!("the encoding {first:02x?} of {term:?} does not decode: {error}"),
    };
    assert!(
        same(term, &again),
        "{term:?} encodes as {first:02x?}, which decodes as {again:?}"
    );
    let mut second = BytesMut::new();
    if let Err(error) = etf::encode(&again, &mut second) {
        panic!("the re-decoded {again:?} does not encode: {error}");
    }
    assert_eq!(first, second, "encoding is not stable for {term:?}");
}

/// `RawTerm::new` on a body (the payload without 131); `term` is what `etf::decode` made of the
/// payload, if anything.
fn check_raw(body: &Bytes, term: Option<&Term>, len: usize) {
    let Ok(raw) = RawTerm::new(body.clone()) else {
        return;
    };
    assert_eq!(raw.as_bytes().len(), len);
    let Some(term) = term else {
        panic!("RawTerm::new accepted a body that etf::decode refuses");
    };
    match raw.decode() {
        Ok(again) => assert!(same(term, &again), "RawTerm decodes differently"),
        Err(error) => panic!("an accepted RawTerm does not decode: {error}"),
    }
    let elements = match term.as_tuple() {
        Some(elements) if matches!(raw.tag(), tag::SMALL_TUPLE | tag::LARGE_TUPLE) => elements,
        _ => {
            assert!(raw.tuple_elements().is_err() && raw.element(0).is_err());
            return;
        }
    };
    let parts = match raw.tuple_elements() {
        Ok(parts) => parts,
        Err(error) => panic!("tuple_elements of a tuple failed: {error}"),
    };
    assert_eq!(parts.len(), elements.len());
    for (i, (part, element)) in parts.iter().zip(elements).enumerate().take(8) {
        assert_eq!(raw.element(i).as_ref(), Ok(part));
        match part.decode() {
            Ok(decoded) => assert!(same(&decoded, element), "element {i} differs"),
            Err(error) => panic!("element {i} does not decode: {error}"),
        }
    }
    assert!(raw.element(elements.len()).is_err());
}

/// The frames of `data` as a stream, fed whole and fed in chunks; both must agree.
fn frames_in_chunks(data: &[u8], max: usize) -> Vec<Bytes> {
    let (whole, whole_end) = read_frames(max, [data].into_iter());
    let mut rng = (data.len() as u64) ^ 0x9e37_79b9_7f4a_7c15;
    let mut rest = data;
    let chunks = std::iter::from_fn(|| {
        if rest.is_empty() {
            return None;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let n = (1 + (rng % 19) as usize).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    });
    let (chunked, chunked_end) = read_frames(max, chunks);
    assert_eq!(whole, chunked, "frames depend on how the stream is cut");
    assert_eq!(
        whole_end, chunked_end,
        "the stream ends differently when cut"
    );
    whole
}

/// How a stream ended: bytes left over waiting for more, or a fatal error.
#[derive(Debug, PartialEq)]
enum End {
    Waiting(Vec<u8>),
    Failed,
}

fn read_frames<'a>(max: usize, chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<Bytes>, End) {
    let mut decoder = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => {
                    assert_eq!(buf.len(), before, "Ok(None) consumed bytes");
                    break;
                }
                Err(_) => return (frames, End::Failed),
            }
        }
    }
    (frames, End::Waiting(buf.to_vec()))
}

/// Term equality with floats compared by their bits (NaN is a value a peer can send).
pub fn same(a: &Term, b: &Term) -> bool {
    let all =
        |x: &[Term], y: &[Term]| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q));
    match (a, b) {
        (Term::Float(x), Term::Float(y)) => x.to_bits() == y.to_bits(),
        (Term::Tuple(x), Term::Tuple(y)) | (Term::List(x), Term::List(y)) => all(x, y),
        (Term::ImproperList { items: x, tail: s }, Term::ImproperList { items: y, tail: t }) => {
            all(x, y) && same(s, t)
        }
        (Term::Map(x), Term::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, v), (l, w))| same(k, l) && same(v, w))
        }
        _ => a == b,
    }
}
