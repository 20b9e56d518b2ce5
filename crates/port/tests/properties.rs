//! Property tests: every encodable term survives encode → decode, raw sub-terms decode to the
//! terms they came from, no input makes the decoders panic, and frames come out whole however
//! the stream is cut.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::{Bytes, BytesMut};
use common::encoded;
use common::strategies::term;
use hookmq_port::etf::{self, RawTerm, Term};
use hookmq_port::frame::{FrameDecoder, encode_frame};
use hookmq_port::message::Incoming;
use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #[test]
    fn encode_then_decode_is_identity(term in term()) {
        let bytes = encoded(&term);
        prop_assert_eq!(bytes.len(), 1 + term.encoded_len());
        prop_assert_eq!(etf::decode(&bytes).unwrap(), term.clone());
        let raw = RawTerm::encode(&term).unwrap();
        prop_assert_eq!(raw.as_bytes(), &bytes.slice(1..));
        prop_assert_eq!(RawTerm::new(raw.as_bytes().clone()).unwrap().decode().unwrap(), term);
    }

    #[test]
    fn raw_elements_decode_to_the_elements(elements in vec(term(), 0..6)) {
        let tuple = Term::Tuple(elements.clone());
        let raw = RawTerm::encode(&tuple).unwrap();
        let parts = raw.tuple_elements().unwrap();
        prop_assert_eq!(parts.len(), elements.len());
        for (i, (part, element)) in parts.iter().zip(&elements).enumerate() {
            prop_assert_eq!(&part.decode().unwrap(), element);
            prop_assert_eq!(&raw.element(i).unwrap(), part);
            // Splicing the raw part reproduces the element's bytes.
            prop_assert_eq!(encoded(&Term::Raw(part.clone())), encoded(element));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in vec(any::<u8>(), 0..512)) {
        let mut input = vec![131];
        input.extend(&body);
        let input = Bytes::from(input);
        let _ = etf::decode(&input);
        let _ = Incoming::decode(&input);
        let _ = RawTerm::new(Bytes::from(body));
    }

    #[test]
    fn damaged_terms_never_panic(
        term in term(),
        cut in any::<prop::sample::Index>(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let bytes = encoded(&term);
        let _ = etf::decode(&bytes.slice(..cut.index(bytes.len())));
        let mut damaged = bytes.to_vec();
        for (at, value) in flips {
            let at = at.index(damaged.len());
            damaged[at] = value;
        }
        let damaged = Bytes::from(damaged);
        if let Ok(decoded) = etf::decode(&damaged) {
            // Whatever decodes can be shown, and re-encoded unless it holds a map.
            let _ = decoded.to_string();
            let _ = etf::encode(&decoded, &mut BytesMut::new());
        }
        let _ = Incoming::decode(&damaged);
    }

    #[test]
    fn frames_survive_any_split(
        terms in vec(term(), 1..6),
        cuts in vec(1usize..40, 1..40),
    ) {
        let mut wire = BytesMut::new();
        for term in &terms {
            encode_frame(term, &mut wire).unwrap();
        }
        let mut decoder = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut rest = wire.freeze();
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let chunk = rest.split_to((*cut).min(rest.len()));
            buf.extend_from_slice(&chunk);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                got.push(etf::decode(&frame).unwrap());
            }
        }
        prop_assert_eq!(got, terms);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn frame_decoder_never_panics(stream in vec(any::<u8>(), 0..256), max in 0usize..64) {
        let mut decoder = FrameDecoder::new(max);
        let mut buf = BytesMut::from(&stream[..]);
        while let Ok(Some(frame)) = decoder.decode(&mut buf) {
            prop_assert!(frame.len() <= max);
        }
    }
}

#[test]
fn frame_decoder_fed_byte_by_byte() {
    let terms = [
        Term::tuple([
            Term::atom("r"),
            Term::Int(3),
            Term::tuple([Term::Int(0), Term::bool(true)]),
        ]),
        Term::nil(),
        Term::binary(vec![9; 300]),
    ];
    let mut wire = BytesMut::new();
    for term in &terms {
        encode_frame(term, &mut wire).unwrap();
    }
    let mut decoder = FrameDecoder::default();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for byte in wire.iter() {
        buf.extend_from_slice(&[*byte]);
        if let Some(frame) = decoder.decode(&mut buf).unwrap() {
            got.push(etf::decode(&frame).unwrap());
        }
    }
    assert_eq!(got, terms);
    assert!(buf.is_empty());
}
