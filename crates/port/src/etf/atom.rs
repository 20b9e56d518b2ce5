//! Atoms: the names of the term model (`true`, `ok`, proplist keys, module and function names).
//! Cheap to clone, so a driver can keep a hook's module and function atoms and put them in every
//! call without copying text.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An Erlang atom. `true`, `false` and `undefined` are atoms too (see [`crate::etf::Term::bool`]).
///
/// The name is kept as Rust text. On the wire the broker writes its UTF-8 bytes under ATOM_EXT
/// (100), which is what erlport's Python and Java sides read back as the same name; incoming atom
/// bytes are read as UTF-8 when valid and as Latin-1 otherwise. Names longer than
/// [`crate::etf::MAX_ATOM_LEN`] bytes can be built but not encoded.
#[derive(Clone)]
pub struct Atom(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Atom {
    /// An atom with a name known at compile time; no allocation.
    pub const fn from_static(name: &'static str) -> Self {
        Self(Repr::Static(name))
    }

    /// An atom with a name computed at run time.
    pub fn new(name: &str) -> Self {
        Self(Repr::Shared(Arc::from(name)))
    }

    /// The atom's name.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(name) => name,
            Repr::Shared(name) => name,
        }
    }

    /// Builds an atom from wire bytes: UTF-8 when valid, Latin-1 otherwise. Names the protocol
    /// uses all the time come back without allocating.
    pub(crate) fn from_wire(bytes: &[u8]) -> Self {
        if let Some(known) = known(bytes) {
            return Self::from_static(known);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::new(text),
            Err(_) => {
                let text: String = bytes.iter().map(|&b| char::from(b)).collect();
                Self(Repr::Shared(Arc::from(text)))
            }
        }
    }
}

/// Atoms that replies and messages carry on every call.
fn known(bytes: &[u8]) -> Option<&'static str> {
    Some(match bytes {
        b"true" => "true",
        b"false" => "false",
        b"undefined" => "undefined",
        b"ok" => "ok",
        b"error" => "error",
        b"r" => "r",
        b"e" => "e",
        b"P" => "P",
        b"C" => "C",
        b"M" => "M",
        b"N" => "N",
        b"L" => "L",
        b"python" => "python",
        b"java" => "java",
        b"erlang" => "erlang",
        b"$erlport.opaque" => "$erlport.opaque",
        b"topics" => "topics",
        b"node" => "node",
        b"id" => "id",
        b"qos" => "qos",
        b"from" => "from",
        b"topic" => "topic",
        b"payload" => "payload",
        b"timestamp" => "timestamp",
        _ => return None,
    })
}

impl From<&'static str> for Atom {
    fn from(name: &'static str) -> Self {
        Self::from_static(name)
    }
}

impl From<String> for Atom {
    fn from(name: String) -> Self {
        Self(Repr::Shared(Arc::from(name)))
    }
}

impl AsRef<str> for Atom {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Atom {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Atom {}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({:?})", self.as_str())
    }
}

/// Erlang notation: bare when the name is a plain lower-case identifier, quoted otherwise.
impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.as_str();
        let mut chars = name.chars();
        let bare = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
        if bare {
            return f.write_str(name);
        }
        f.write_str("'")?;
        for c in name.chars() {
            match c {
                '\'' => f.write_str("\\'")?,
                '\\' => f.write_str("\\\\")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_decode_as_utf8_then_latin1() {
        assert_eq!(Atom::from_wire(b"true").as_str(), "true");
        assert_eq!(Atom::from_wire("héllo".as_bytes()).as_str(), "héllo");
        assert_eq!(Atom::from_wire(b"h\xe9llo").as_str(), "héllo");
    }

    #[test]
    fn equality_ignores_representation() {
        assert_eq!(Atom::from_static("clientid"), Atom::new("clientid"));
        assert_eq!(Atom::from(String::from("x")), "x");
    }

    #[test]
    fn display_quotes_when_erlang_would() {
        assert_eq!(Atom::from_static("ok").to_string(), "ok");
        assert_eq!(Atom::from_static("C").to_string(), "'C'");
        assert_eq!(
            Atom::from_static("emqx_hook.on_x").to_string(),
            "'emqx_hook.on_x'"
        );
        assert_eq!(Atom::from_static("it's").to_string(), "'it\\'s'");
    }
}
