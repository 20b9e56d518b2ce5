//! Encoding terms for Python and Java workers, in the forms both erlport sides read correctly:
//! atoms always as ATOM_EXT (100), integers in the smallest of 97 / 98 / 110, proper lists as
//! LIST_EXT (108) or NIL, never maps or old floats. Writes straight into the caller's buffer.

use bytes::{BufMut, BytesMut};

use super::bigint::trimmed;
use super::{EtfError, Term, VERSION, tag};

/// Writes the version byte 131 and `term` to `buf`. On error `buf` is left as it was.
pub fn encode(term: &Term, buf: &mut BytesMut) -> Result<(), EtfError> {
    let start = buf.len();
    buf.reserve(1 + term.encoded_len());
    buf.put_u8(VERSION);
    put_term(buf, term).inspect_err(|_| buf.truncate(start))
}

/// Writes `term` without the version byte, e.g. to embed it in a larger term written by hand.
/// On error `buf` is left as it was.
pub fn encode_body(term: &Term, buf: &mut BytesMut) -> Result<(), EtfError> {
    let start = buf.len();
    put_term(buf, term).inspect_err(|_| buf.truncate(start))
}

impl Term {
    /// The number of bytes [`encode_body`] writes for this term (one less than [`encode`]);
    /// exact whenever encoding succeeds.
    pub fn encoded_len(&self) -> usize {
        match self {
            Self::Int(value) => match *value {
                0..=255 => 2,
                v if i32::try_from(v).is_ok() => 5,
                v => 3 + trimmed(&v.unsigned_abs().to_le_bytes()).len(),
            },
            Self::BigInt(big) => {
                let n = big.magnitude_le().len().max(1);
                if n <= 255 { 3 + n } else { 6 + n }
            }
            Self::Float(_) => 9,
            Self::Atom(atom) => 3 + atom.as_str().len(),
            Self::Binary(bytes) => 5 + bytes.len(),
            Self::Tuple(elements) => {
                let header = if elements.len() <= 255 { 2 } else { 5 };
                header + elements.iter().map(Term::encoded_len).sum::<usize>()
            }
            Self::List(items) if items.is_empty() => 1,
            Self::List(items) => 6 + items.iter().map(Term::encoded_len).sum::<usize>(),
            Self::ImproperList { items, tail } if items.is_empty() => tail.encoded_len(),
            Self::ImproperList { items, tail } => {
                5 + items.iter().map(Term::encoded_len).sum::<usize>() + tail.encoded_len()
            }
            Self::ByteList(bytes) => match bytes.len() {
                0 => 1,
                n if n <= usize::from(u16::MAX) => 3 + n,
                n => 6 + 2 * n,
            },
            Self::Map(entries) => {
                5 + entries
                    .iter()
                    .map(|(k, v)| k.encoded_len() + v.encoded_len())
                    .sum::<usize>()
            }
            Self::Raw(raw) => raw.as_bytes().len(),
        }
    }
}

/// Writes `term` (no version byte); on error `buf` holds a partial term.
pub(crate) fn put_term(buf: &mut BytesMut, term: &Term) -> Result<(), EtfError> {
    match term {
        Term::Int(value) => put_int(buf, *value),
        Term::BigInt(big) => put_big(buf, big.is_negative(), big.magnitude_le())?,
        Term::Float(value) => {
            buf.put_u8(tag::NEW_FLOAT);
            buf.put_f64(*value);
        }
        Term::Atom(atom) => put_atom(buf, atom.as_str())?,
        Term::Binary(bytes) => put_binary(buf, bytes)?,
        Term::Tuple(elements) => {
            put_tuple_header(buf, elements.len())?;
            elements.iter().try_for_each(|e| put_term(buf, e))?;
        }
        Term::List(items) => put_list(buf, items)?,
        Term::ImproperList { items, tail } => {
            if !items.is_empty() {
                buf.put_u8(tag::LIST);
                buf.put_u32(length("list", items.len())?);
                items.iter().try_for_each(|e| put_term(buf, e))?;
            }
            put_term(buf, tail)?;
        }
        Term::ByteList(bytes) => match u16::try_from(bytes.len()) {
            Ok(0) => buf.put_u8(tag::NIL),
            Ok(n) => {
                buf.put_u8(tag::STRING);
                buf.put_u16(n);
                buf.put_slice(bytes);
            }
            Err(_) => {
                buf.put_u8(tag::LIST);
                buf.put_u32(length("list", bytes.len())?);
                for &b in bytes.iter() {
                    buf.put_u8(tag::SMALL_INTEGER);
                    buf.put_u8(b);
                }
                buf.put_u8(tag::NIL);
            }
        },
        Term::Map(_) => return Err(EtfError::Unencodable { what: "map" }),
        Term::Raw(raw) => buf.put_slice(raw.as_bytes()),
    }
    Ok(())
}

fn length(what: &'static str, len: usize) -> Result<u32, EtfError> {
    u32::try_from(len).map_err(|_| EtfError::TooLong { what, len })
}

/// BINARY_EXT (109).
pub(crate) fn put_binary(buf: &mut BytesMut, bytes: &[u8]) -> Result<(), EtfError> {
    buf.put_u8(tag::BINARY);
    buf.put_u32(length("binary", bytes.len())?);
    buf.put_slice(bytes);
    Ok(())
}

/// An integer in the smallest of 97, 98 and 110.
pub(crate) fn put_int(buf: &mut BytesMut, value: i64) {
    if let Ok(small) = u8::try_from(value) {
        buf.put_u8(tag::SMALL_INTEGER);
        buf.put_u8(small);
    } else if let Ok(int) = i32::try_from(value) {
        buf.put_u8(tag::INTEGER);
        buf.put_i32(int);
    } else {
        put_word_big(buf, value < 0, value.unsigned_abs());
    }
}

/// SMALL_BIG_EXT of a magnitude that fits a word, whatever its size (a millisecond timestamp,
/// which the Java SDK reads as a `BigInteger`).
pub(crate) fn put_word_big(buf: &mut BytesMut, negative: bool, magnitude: u64) {
    let bytes = magnitude.to_le_bytes();
    let digits = match trimmed(&bytes) {
        [] => &[0u8][..],
        digits => digits,
    };
    buf.put_u8(tag::SMALL_BIG);
    buf.put_u8(digits.len() as u8); // at most 8
    buf.put_u8(u8::from(negative));
    buf.put_slice(digits);
}

fn put_big(buf: &mut BytesMut, negative: bool, magnitude: &[u8]) -> Result<(), EtfError> {
    let digits = if magnitude.is_empty() {
        &[0u8][..]
    } else {
        magnitude
    };
    match u8::try_from(digits.len()) {
        Ok(n) => {
            buf.put_u8(tag::SMALL_BIG);
            buf.put_u8(n);
        }
        Err(_) => {
            buf.put_u8(tag::LARGE_BIG);
            buf.put_u32(length("bignum", digits.len())?);
        }
    }
    buf.put_u8(u8::from(negative));
    buf.put_slice(digits);
    Ok(())
}

/// An unsigned integer (a call id), in the smallest form.
pub(crate) fn put_u64(buf: &mut BytesMut, value: u64) {
    match i64::try_from(value) {
        Ok(value) => put_int(buf, value),
        Err(_) => put_word_big(buf, false, value),
    }
}

/// The longest atom written, in bytes: Erlang allows 255 characters, and the Python runtime
/// refuses atoms over 255 bytes.
pub const MAX_ATOM_LEN: usize = 255;

/// ATOM_EXT (100) with the name's UTF-8 bytes.
pub(crate) fn put_atom(buf: &mut BytesMut, name: &str) -> Result<(), EtfError> {
    if name.len() > MAX_ATOM_LEN {
        return Err(EtfError::TooLong {
            what: "atom",
            len: name.len(),
        });
    }
    buf.put_u8(tag::ATOM);
    buf.put_u16(name.len() as u16); // at most 255
    buf.put_slice(name.as_bytes());
    Ok(())
}

/// The header of a tuple of `arity` elements; the elements follow.
pub(crate) fn put_tuple_header(buf: &mut BytesMut, arity: usize) -> Result<(), EtfError> {
    match u8::try_from(arity) {
        Ok(n) => {
            buf.put_u8(tag::SMALL_TUPLE);
            buf.put_u8(n);
        }
        Err(_) => {
            buf.put_u8(tag::LARGE_TUPLE);
            buf.put_u32(length("tuple", arity)?);
        }
    }
    Ok(())
}

/// A proper list: NIL when empty, else LIST_EXT, the items and NIL.
pub(crate) fn put_list(buf: &mut BytesMut, items: &[Term]) -> Result<(), EtfError> {
    if !items.is_empty() {
        buf.put_u8(tag::LIST);
        buf.put_u32(length("list", items.len())?);
        items.iter().try_for_each(|e| put_term(buf, e))?;
    }
    buf.put_u8(tag::NIL);
    Ok(())
}
