//! Terms kept as their encoded bytes. A worker's `State` comes back from `init()` inside the
//! reply and must be appended to every later call byte for byte, so the driver keeps it as a
//! [`RawTerm`]: a checked slice of the received frame that the encoder writes back verbatim.

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::decode::Decoder;
use super::{EtfError, Term, encode_body, tag};

/// One complete encoded term (without the version byte 131), known to decode.
///
/// Obtain one from a decoded reply ([`crate::message::Incoming::Result`] carries the result's
/// bytes), by walking into it with [`RawTerm::element`], from bytes with [`RawTerm::new`], or by
/// encoding a [`Term`] with [`RawTerm::encode`]. Put it into a term as [`Term::Raw`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawTerm(Bytes);

impl RawTerm {
    /// Checks that `body` is exactly one well-formed term (no 131 prefix, nothing after it).
    pub fn new(body: Bytes) -> Result<Self, EtfError> {
        let mut decoder = Decoder::new(&body, 0);
        decoder.term(0)?;
        match body.len() - decoder.position() {
            0 => Ok(Self(body)),
            count => Err(EtfError::TrailingBytes { count }),
        }
    }

    /// Encodes `term` once, e.g. to keep a constant argument ready for many calls.
    pub fn encode(term: &Term) -> Result<Self, EtfError> {
        let mut buf = BytesMut::with_capacity(term.encoded_len());
        encode_body(term, &mut buf)?;
        Ok(Self(buf.freeze()))
    }

    /// A slice of already checked bytes.
    pub(crate) fn from_checked(bytes: Bytes) -> Self {
        Self(bytes)
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The encoded bytes, owned.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The tag byte (see [`tag`]), e.g. [`tag::SMALL_TUPLE`].
    pub fn tag(&self) -> u8 {
        self.0.first().copied().unwrap_or(tag::NIL)
    }

    /// The term these bytes encode.
    pub fn decode(&self) -> Result<Term, EtfError> {
        Decoder::new(&self.0, 0).term(0)
    }

    /// The elements of a tuple, each as its own raw bytes.
    pub fn tuple_elements(&self) -> Result<Vec<RawTerm>, EtfError> {
        let mut decoder = Decoder::new(&self.0, 0);
        let arity = self.tuple_arity(&mut decoder)?;
        let mut elements = Vec::with_capacity(arity.min(self.0.len()));
        for _ in 0..arity {
            elements.push(decoder.term_with_raw(1)?.1);
        }
        Ok(elements)
    }

    /// Element `index` (0-based) of a tuple, as raw bytes. For the `init()` reply
    /// `{0, {Specs, State}}`, `result.element(1)?.element(1)?` is the `State`.
    pub fn element(&self, index: usize) -> Result<RawTerm, EtfError> {
        let mut decoder = Decoder::new(&self.0, 0);
        let arity = self.tuple_arity(&mut decoder)?;
        if index >= arity {
            return Err(EtfError::NoSuchElement { index, arity });
        }
        for _ in 0..index {
            decoder.term(1)?;
        }
        Ok(decoder.term_with_raw(1)?.1)
    }

    fn tuple_arity(&self, decoder: &mut Decoder<'_>) -> Result<usize, EtfError> {
        decoder
            .tuple_header()?
            .ok_or_else(|| EtfError::UnexpectedTerm {
                expected: "a tuple",
                tag: self.tag(),
            })
    }
}

/// Hex bytes, e.g. `RawTerm(68 00)`.
impl fmt::Debug for RawTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawTerm(")?;
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{byte:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_one_complete_term() {
        assert!(RawTerm::new(Bytes::from_static(&[0x68, 0x00])).is_ok());
        assert_eq!(
            RawTerm::new(Bytes::from_static(&[0x6a, 0x6a])),
            Err(EtfError::TrailingBytes { count: 1 })
        );
        assert!(matches!(
            RawTerm::new(Bytes::from_static(&[0x68, 0x01])),
            Err(EtfError::UnexpectedEnd { .. })
        ));
    }

    #[test]
    fn walks_into_tuples() {
        let raw = RawTerm::encode(&Term::tuple([
            Term::Int(0),
            Term::tuple([Term::nil(), Term::tuple([])]),
        ]))
        .unwrap();
        let state = raw.element(1).unwrap().element(1).unwrap();
        assert_eq!(state.as_bytes().as_ref(), &[0x68, 0x00]);
        assert_eq!(raw.tuple_elements().unwrap().len(), 2);
        assert_eq!(
            raw.element(2),
            Err(EtfError::NoSuchElement { index: 2, arity: 2 })
        );
        assert_eq!(
            state.element(0),
            Err(EtfError::NoSuchElement { index: 0, arity: 0 })
        );
        let nil = raw.element(1).unwrap().element(0).unwrap();
        assert_eq!(
            nil.element(0),
            Err(EtfError::UnexpectedTerm {
                expected: "a tuple",
                tag: tag::NIL
            })
        );
    }
}
