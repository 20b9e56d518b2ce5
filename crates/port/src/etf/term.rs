//! The owned term model: what the broker builds for hook calls and what it gets back from
//! replies, with the builders the driver uses to make arguments and the accessors it uses to
//! read results.

use bytes::Bytes;

use super::atom::Atom;
use super::bigint::BigInt;
use super::raw::RawTerm;

/// An Erlang term.
///
/// Some Erlang values have more than one form here, because the wire form matters to the peers:
/// a list of small integers may be a [`Term::List`] or a [`Term::ByteList`] (STRING_EXT), an
/// integer may be a [`Term::Int`] or a [`Term::BigInt`], and any term may be kept as its encoded
/// bytes in a [`Term::Raw`]. Decoding picks one canonical form (see [`crate::etf::decode`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// An integer, written in the smallest of SMALL_INTEGER_EXT (97), INTEGER_EXT (98) and
    /// SMALL_BIG_EXT (110).
    Int(i64),
    /// An integer always written as a bignum (110/111); decoded for values outside `i64`.
    BigInt(BigInt),
    /// A float, written as NEW_FLOAT_EXT (70).
    Float(f64),
    /// An atom, written as ATOM_EXT (100), including `true`, `false` and `undefined`.
    Atom(Atom),
    /// A binary (BINARY_EXT, 109).
    Binary(Bytes),
    /// A tuple (SMALL_TUPLE_EXT 104, or LARGE_TUPLE_EXT 105 past 255 elements).
    Tuple(Vec<Term>),
    /// A proper list; empty is `[]` (NIL_EXT, 106), otherwise LIST_EXT (108) ending in NIL.
    List(Vec<Term>),
    /// A list whose tail is not `[]`: `[items... | tail]`.
    ImproperList {
        /// The elements before the tail; an encoder given none writes just the tail.
        items: Vec<Term>,
        /// The tail.
        tail: Box<Term>,
    },
    /// A list of integers 0..=255 kept as the bytes of a STRING_EXT (107), which is how Python
    /// and Java send short text (one byte per code point, *not* UTF-8). Written as 107 when it
    /// fits (up to 65535 bytes), otherwise as a LIST_EXT of small integers; empty is `[]`.
    ByteList(Bytes),
    /// A map (MAP_EXT, 116), which only the Java side sends. Never encoded: erlport's Python
    /// side cannot read maps.
    Map(Vec<(Term, Term)>),
    /// A term kept as its encoded bytes and written back verbatim: a worker's `State` (which
    /// must reach every call byte for byte), and pids, references and ports from peers.
    Raw(RawTerm),
}

impl Term {
    /// An atom term: `Term::atom("clientid")`.
    pub fn atom(name: impl Into<Atom>) -> Self {
        Self::Atom(name.into())
    }

    /// The atom `true` or `false`.
    pub fn bool(value: bool) -> Self {
        Self::Atom(Atom::from_static(if value { "true" } else { "false" }))
    }

    /// The atom `undefined` (Python `None`).
    pub fn undefined() -> Self {
        Self::Atom(Atom::from_static("undefined"))
    }

    /// A binary term.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Self::Binary(bytes.into())
    }

    /// A tuple term.
    pub fn tuple(elements: impl IntoIterator<Item = Term>) -> Self {
        Self::Tuple(elements.into_iter().collect())
    }

    /// A proper list term.
    pub fn list(elements: impl IntoIterator<Item = Term>) -> Self {
        Self::List(elements.into_iter().collect())
    }

    /// The empty list `[]`.
    pub fn nil() -> Self {
        Self::List(Vec::new())
    }

    /// A proplist: a list of `{key, value}` tuples with atom keys, in the given order.
    pub fn proplist<K: Into<Atom>>(pairs: impl IntoIterator<Item = (K, Term)>) -> Self {
        Self::List(
            pairs
                .into_iter()
                .map(|(key, value)| Self::Tuple(vec![Self::Atom(key.into()), value]))
                .collect(),
        )
    }

    /// A millisecond timestamp, always written as SMALL_BIG_EXT (110) as EMQX does; the Java SDK
    /// reads timestamps only as `BigInteger`.
    pub fn timestamp_ms(ms: u64) -> Self {
        Self::BigInt(BigInt::from_u64(ms))
    }

    /// The atom's name, if this is an atom.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Self::Atom(atom) => Some(atom.as_str()),
            _ => None,
        }
    }

    /// `Some(true)` for the atom `true`, `Some(false)` for `false`, `None` otherwise.
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_atom() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        }
    }

    /// The value of an integer that fits `i64`, whichever form it has.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(*value),
            Self::BigInt(big) => big.to_i64(),
            _ => None,
        }
    }

    /// The value of a float.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Self::Float(value) => Some(*value),
            _ => None,
        }
    }

    /// The bytes of a binary.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Self::Binary(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The elements of a tuple; match them with a slice pattern: `Some([tag, id, result])`.
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Self::Tuple(elements) => Some(elements),
            _ => None,
        }
    }

    /// The elements of a proper list (`[]` included). A [`Term::ByteList`] is not returned here:
    /// see [`Term::as_charlist_string`].
    pub fn as_list(&self) -> Option<&[Term]> {
        match self {
            Self::List(elements) => Some(elements),
            _ => None,
        }
    }

    /// The entries of a map.
    pub fn as_map(&self) -> Option<&[(Term, Term)]> {
        match self {
            Self::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The encoded bytes of a raw term.
    pub fn as_raw(&self) -> Option<&RawTerm> {
        match self {
            Self::Raw(raw) => Some(raw),
            _ => None,
        }
    }

    /// Whether this is the empty list `[]`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Self::List(items) if items.is_empty())
    }

    /// The text of a charlist, read by code point: a STRING_EXT byte list (each byte one
    /// Latin-1 code point) or a proper list of integers that are all Unicode scalar values.
    /// This is how Python `str` and Java `String` arrive. `[]` is the empty string.
    pub fn as_charlist_string(&self) -> Option<String> {
        match self {
            Self::ByteList(bytes) => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            Self::List(items) => items
                .iter()
                .map(|item| match item {
                    Self::Int(code) => u32::try_from(*code).ok().and_then(char::from_u32),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// Text in any of the forms peers use for it: a charlist (see
    /// [`Term::as_charlist_string`]), a binary (UTF-8, invalid sequences replaced) or an atom.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Self::Binary(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            Self::Atom(atom) => Some(atom.as_str().to_owned()),
            _ => self.as_charlist_string(),
        }
    }

    /// Proplist lookup: the value of the first `{key, Value}` tuple with the atom `key` in a
    /// list (other elements are skipped), or the value under the atom key `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Term> {
        match self {
            Self::List(items) => items.iter().find_map(|item| match item.as_tuple() {
                Some([name, value]) if name.as_atom() == Some(key) => Some(value),
                _ => None,
            }),
            Self::Map(entries) => entries
                .iter()
                .find_map(|(name, value)| (name.as_atom() == Some(key)).then_some(value)),
            _ => None,
        }
    }
}

impl From<Atom> for Term {
    fn from(atom: Atom) -> Self {
        Self::Atom(atom)
    }
}

impl From<RawTerm> for Term {
    fn from(raw: RawTerm) -> Self {
        Self::Raw(raw)
    }
}

impl From<i64> for Term {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for Term {
    fn from(value: bool) -> Self {
        Self::bool(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proplist_lookup_finds_first_atom_key() {
        let list = Term::proplist([("qos", Term::Int(1)), ("qos", Term::Int(2))]);
        assert_eq!(list.get("qos"), Some(&Term::Int(1)));
        assert_eq!(list.get("topic"), None);
        let mixed = Term::list([Term::Int(3), Term::tuple([Term::atom("a"), Term::nil()])]);
        assert_eq!(mixed.get("a"), Some(&Term::nil()));
        let map = Term::Map(vec![(Term::atom("k"), Term::bool(true))]);
        assert_eq!(map.get("k").and_then(Term::as_bool), Some(true));
    }

    #[test]
    fn charlists_read_by_code_point() {
        assert_eq!(
            Term::ByteList(Bytes::from_static(b"\xe9t\xe9")).as_charlist_string(),
            Some("été".into())
        );
        assert_eq!(
            Term::list([Term::Int(0x20ac)]).as_charlist_string(),
            Some("€".into())
        );
        assert_eq!(Term::nil().as_charlist_string(), Some(String::new()));
        assert_eq!(Term::list([Term::Int(0xD800)]).as_charlist_string(), None);
        assert_eq!(Term::list([Term::Int(-1)]).as_charlist_string(), None);
        assert_eq!(Term::binary("x").as_charlist_string(), None);
        assert_eq!(Term::binary("x").as_text(), Some("x".into()));
        assert_eq!(Term::atom("y").as_text(), Some("y".into()));
    }

    #[test]
    fn booleans_are_atoms() {
        assert_eq!(Term::bool(true), Term::atom("true"));
        assert_eq!(Term::atom("false").as_bool(), Some(false));
        assert_eq!(Term::undefined().as_bool(), None);
        assert_eq!(Term::timestamp_ms(5).as_int(), Some(5));
    }
}
