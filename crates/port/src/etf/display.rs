//! Terms in Erlang notation, for logs: `{r, 3, {0, true}}`, `<<"t/1">>`, `"hooks"`.

use std::fmt::{self, Display, Formatter, Write};

use super::Term;

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(value) => write!(f, "{value}"),
            Self::BigInt(big) => write!(f, "{big}"),
            Self::Float(value) => write!(f, "{value:?}"),
            Self::Atom(atom) => write!(f, "{atom}"),
            Self::Binary(bytes) => binary(f, bytes),
            Self::Tuple(elements) => {
                f.write_char('{')?;
                sequence(f, elements)?;
                f.write_char('}')
            }
            Self::List(items) => {
                f.write_char('[')?;
                sequence(f, items)?;
                f.write_char(']')
            }
            Self::ImproperList { items, tail } => {
                f.write_char('[')?;
                sequence(f, items)?;
                write!(f, " | {tail}]")
            }
            Self::ByteList(bytes) if bytes.iter().all(|&b| printable(char::from(b))) => {
                quoted(f, bytes.iter().map(|&b| char::from(b)))
            }
            Self::ByteList(bytes) => {
                f.write_char('[')?;
                for (i, byte) in bytes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{byte}")?;
                }
                f.write_char(']')
            }
            Self::Map(entries) => {
                f.write_str("#{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key} => {value}")?;
                }
                f.write_char('}')
            }
            Self::Raw(raw) => write!(f, "#Raw<{raw:?}>"),
        }
    }
}

fn sequence(f: &mut Formatter<'_>, terms: &[Term]) -> fmt::Result {
    for (i, term) in terms.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{term}")?;
    }
    Ok(())
}

fn binary(f: &mut Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str("<<")?;
    match std::str::from_utf8(bytes) {
        Ok(text) if text.chars().all(printable) => quoted(f, text.chars())?,
        _ => {
            for (i, byte) in bytes.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write!(f, "{byte}")?;
            }
        }
    }
    f.write_str(">>")
}

fn printable(c: char) -> bool {
    !c.is_control() || c == '\n' || c == '\t'
}

fn quoted(f: &mut Formatter<'_>, chars: impl Iterator<Item = char>) -> fmt::Result {
    f.write_char('"')?;
    for c in chars {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::etf::BigInt;

    #[test]
    fn erlang_notation() {
        let reply = Term::tuple([
            Term::atom("r"),
            Term::Int(3),
            Term::tuple([Term::Int(0), Term::bool(true)]),
        ]);
        assert_eq!(reply.to_string(), "{r, 3, {0, true}}");
        let mixed = Term::list([
            Term::binary("t/1"),
            Term::binary(vec![0, 255]),
            Term::ByteList(Bytes::from_static(b"hooks")),
            Term::ByteList(Bytes::from_static(&[1, 2])),
            Term::Float(1.5),
            Term::BigInt(BigInt::from_u64(1 << 40)),
        ]);
        assert_eq!(
            mixed.to_string(),
            r#"[<<"t/1">>, <<0,255>>, "hooks", [1, 2], 1.5, 16#10000000000]"#
        );
        let improper = Term::ImproperList {
            items: vec![Term::Int(1)],
            tail: Box::new(Term::atom("T")),
        };
        assert_eq!(improper.to_string(), "[1 | 'T']");
        let map = Term::Map(vec![(Term::atom("k"), Term::nil())]);
        assert_eq!(map.to_string(), "#{k => []}");
    }
}
