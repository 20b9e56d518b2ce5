//! The one error type of the port codec layer: term decoding and encoding, `{packet, 4}` framing
//! and port messages. The driver wraps it in its own error when a worker speaks garbage.

use std::num::ParseFloatError;

/// Why a term, a frame or a port message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EtfError {
    /// The input ends inside a term.
    #[error("input ends inside a term: {needed} more bytes needed at offset {offset}")]
    UnexpectedEnd {
        /// Where the missing bytes should start.
        offset: usize,
        /// How many bytes are missing at least.
        needed: usize,
    },
    /// The term does not start with the version byte 131.
    #[error("term does not start with the version byte 131 (found {found:?})")]
    MissingVersion {
        /// The first byte, `None` for empty input.
        found: Option<u8>,
    },
    /// A compressed term (`131, 80, size, zlib data`). hookmq starts its workers with
    /// `--compressed=0`, so a peer never has a reason to send one; we carry no zlib.
    #[error("compressed terms are not supported (workers run with --compressed=0)")]
    Compressed,
    /// A tag this codec does not understand (funs, exports, atom cache references, ...).
    #[error("unsupported term tag {tag} at offset {offset}")]
    UnsupportedTag {
        /// The tag byte.
        tag: u8,
        /// Where it was found.
        offset: usize,
    },
    /// Containers nested deeper than the decoder allows.
    #[error("terms nested deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit in force.
        limit: usize,
    },
    /// The text of an old-style FLOAT_EXT (99) is not a number.
    #[error("FLOAT_EXT at offset {offset} is not a number")]
    InvalidFloat {
        /// Where the term starts.
        offset: usize,
        /// Why the text did not parse.
        #[source]
        source: ParseFloatError,
    },
    /// Bytes follow a term where exactly one term was expected.
    #[error("{count} bytes follow the term")]
    TrailingBytes {
        /// How many bytes follow.
        count: usize,
    },
    /// A term the broker must never send to a port peer (maps: erlport's Python side cannot
    /// read MAP_EXT).
    #[error("a {what} cannot be sent to a port peer")]
    Unencodable {
        /// What kind of term it is.
        what: &'static str,
    },
    /// A length that the external term format cannot carry.
    #[error("{what} of length {len} is too long for the external term format")]
    TooLong {
        /// What is too long.
        what: &'static str,
        /// Its length (bytes or elements).
        len: usize,
    },
    /// A term of another kind than the caller asked for.
    #[error("expected {expected}, found a term with tag {tag}")]
    UnexpectedTerm {
        /// What was expected.
        expected: &'static str,
        /// The tag found instead.
        tag: u8,
    },
    /// A tuple element index past the end.
    #[error("tuple of {arity} elements has no element {index}")]
    NoSuchElement {
        /// The requested index (0-based).
        index: usize,
        /// The tuple's arity.
        arity: usize,
    },
    /// A frame announces more bytes than the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The maximum in force.
        max: usize,
    },
}
