//! Erlang External Term Format, the subset the Erlang-port protocol uses between the broker and
//! its Python and Java workers. Sans-IO: terms to bytes and back. The framing ([`crate::frame`])
//! and the port messages ([`crate::message`]) are built on it; the driver uses all three.
//!
//! - Encoding (broker → worker) writes only the forms both erlport sides read: atoms as ATOM_EXT
//!   (100), even `true`/`false`/`undefined` (Java's SDK sees other atom tags as plain atoms, not
//!   booleans); integers as 97, 98 or SMALL_BIG_EXT 110; NEW_FLOAT_EXT; tuples; proper lists;
//!   binaries; STRING_EXT only for an explicit [`Term::ByteList`]; never maps or FLOAT_EXT.
//! - Decoding (worker → broker) accepts everything Python and Java send, including all four
//!   atom tags, STRING_EXT charlists, improper lists, bignums, maps, pids, references and ports
//!   (kept as [`Term::Raw`]), and ignores bytes after the term (Java erlport 1.1.1 writes an
//!   empty list as `6a 6a`). Compressed terms are refused ([`EtfError::Compressed`]).
//! - [`RawTerm`] keeps a term as its exact bytes, for the worker's `State`.

mod atom;
mod bigint;
mod decode;
mod display;
mod encode;
mod error;
mod raw;
mod term;

use bytes::Bytes;

pub use atom::Atom;
pub use bigint::BigInt;
pub use decode::MAX_DEPTH;
pub use encode::{MAX_ATOM_LEN, encode, encode_body};
pub(crate) use encode::{
    put_atom, put_binary, put_int, put_list, put_term, put_tuple_header, put_u64, put_word_big,
};
pub use error::EtfError;
pub use raw::RawTerm;
pub use term::Term;

pub(crate) use decode::Decoder;

/// The version byte that starts every encoded term.
pub const VERSION: u8 = 131;

/// Decodes the term in `input`, which starts with the version byte 131. Bytes after the term
/// are ignored. Binaries, byte lists and raw terms in the result share `input`'s memory.
pub fn decode(input: &Bytes) -> Result<Term, EtfError> {
    let mut decoder = Decoder::new(input, 0);
    decoder.version()?;
    decoder.term(0)
}

/// Tag bytes of the external term format.
pub mod tag {
    /// NEW_FLOAT_EXT: IEEE 754 double, big-endian.
    pub const NEW_FLOAT: u8 = 70;
    /// BIT_BINARY_EXT: a bitstring (kept raw).
    pub const BIT_BINARY: u8 = 77;
    /// The compressed envelope after the version byte (refused).
    pub const COMPRESSED: u8 = 80;
    /// NEW_PID_EXT (kept raw).
    pub const NEW_PID: u8 = 88;
    /// NEW_PORT_EXT (kept raw).
    pub const NEW_PORT: u8 = 89;
    /// NEWER_REFERENCE_EXT (kept raw).
    pub const NEWER_REFERENCE: u8 = 90;
    /// SMALL_INTEGER_EXT: 0..=255.
    pub const SMALL_INTEGER: u8 = 97;
    /// INTEGER_EXT: a signed 32-bit integer.
    pub const INTEGER: u8 = 98;
    /// FLOAT_EXT: a float as 31 bytes of text (decoded only).
    pub const FLOAT: u8 = 99;
    /// ATOM_EXT: 16-bit length, Latin-1 per the format (we write UTF-8 bytes).
    pub const ATOM: u8 = 100;
    /// REFERENCE_EXT (kept raw).
    pub const REFERENCE: u8 = 101;
    /// PORT_EXT (kept raw).
    pub const PORT: u8 = 102;
    /// PID_EXT (kept raw).
    pub const PID: u8 = 103;
    /// SMALL_TUPLE_EXT: up to 255 elements.
    pub const SMALL_TUPLE: u8 = 104;
    /// LARGE_TUPLE_EXT.
    pub const LARGE_TUPLE: u8 = 105;
    /// NIL_EXT: `[]`.
    pub const NIL: u8 = 106;
    /// STRING_EXT: a list of up to 65535 small integers as bytes.
    pub const STRING: u8 = 107;
    /// LIST_EXT: count, elements, tail.
    pub const LIST: u8 = 108;
    /// BINARY_EXT.
    pub const BINARY: u8 = 109;
    /// SMALL_BIG_EXT: up to 255 magnitude bytes.
    pub const SMALL_BIG: u8 = 110;
    /// LARGE_BIG_EXT.
    pub const LARGE_BIG: u8 = 111;
    /// NEW_REFERENCE_EXT (kept raw).
    pub const NEW_REFERENCE: u8 = 114;
    /// SMALL_ATOM_EXT: 8-bit length, Latin-1 (decoded only).
    pub const SMALL_ATOM: u8 = 115;
    /// MAP_EXT (decoded only).
    pub const MAP: u8 = 116;
    /// ATOM_UTF8_EXT: 16-bit length (decoded only).
    pub const ATOM_UTF8: u8 = 118;
    /// SMALL_ATOM_UTF8_EXT: 8-bit length, what Java erlport 1.1.1 writes (decoded only).
    pub const SMALL_ATOM_UTF8: u8 = 119;
    /// V4_PORT_EXT (kept raw).
    pub const V4_PORT: u8 = 120;
}
