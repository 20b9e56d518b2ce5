//! Decoding terms that Python and Java workers send. Tolerant of every form they use, strict
//! about bounds: no panic on any input, nesting limited to [`MAX_DEPTH`], and no allocation
//! sized by a length the peer announces: memory follows the elements actually decoded.

use bytes::Bytes;

use super::bigint::{BigInt, magnitude_u64};
use super::{Atom, EtfError, RawTerm, Term, VERSION, tag};

/// How deeply containers (tuples, lists, maps, improper tails) may nest.
pub const MAX_DEPTH: usize = 256;

/// The most elements a container's vector is given room for before they are read. The count a
/// peer announces is only a claim: beyond this, vectors grow as elements actually decode, so a
/// header announcing millions of elements followed by garbage costs nothing.
const MAX_RESERVE: usize = 1024;

/// A cursor over one input buffer. Binaries, byte lists and raw terms come out as zero-copy
/// slices of the input.
pub(crate) struct Decoder<'a> {
    input: &'a Bytes,
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(input: &'a Bytes, pos: usize) -> Self {
        Self { input, pos }
    }

    /// How many bytes have been consumed.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Room to reserve for `announced` elements: no more than the input could hold (each takes at
    /// least a byte), and at most [`MAX_RESERVE`].
    pub(crate) fn reserve_for(&self, announced: usize) -> usize {
        announced.min(self.remaining()).min(MAX_RESERVE)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], EtfError> {
        let input: &'a [u8] = self.input;
        match input.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(EtfError::UnexpectedEnd {
                offset: self.pos,
                needed: n - self.remaining(),
            }),
        }
    }

    fn slice(&mut self, n: usize) -> Result<Bytes, EtfError> {
        let start = self.pos;
        self.take(n)?;
        Ok(self.input.slice(start..self.pos))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EtfError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, EtfError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<usize, EtfError> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn u32(&mut self) -> Result<usize, EtfError> {
        Ok(u32::from_be_bytes(self.array()?) as usize)
    }

    fn peek(&self) -> Result<u8, EtfError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(EtfError::UnexpectedEnd {
                offset: self.pos,
                needed: 1,
            })
    }

    /// Consumes the version byte 131 that starts every frame's term.
    pub(crate) fn version(&mut self) -> Result<(), EtfError> {
        match self.input.get(self.pos).copied() {
            Some(VERSION) => self.pos += 1,
            found => return Err(EtfError::MissingVersion { found }),
        }
        if self.input.get(self.pos) == Some(&tag::COMPRESSED) {
            return Err(EtfError::Compressed);
        }
        Ok(())
    }

    /// If a tuple comes next, consumes its header and returns its arity.
    pub(crate) fn tuple_header(&mut self) -> Result<Option<usize>, EtfError> {
        match self.peek()? {
            tag::SMALL_TUPLE => {
                self.pos += 1;
                Ok(Some(usize::from(self.u8()?)))
            }
            tag::LARGE_TUPLE => {
                self.pos += 1;
                Ok(Some(self.u32()?))
            }
            _ => Ok(None),
        }
    }

    /// Decodes the next term and also returns its encoded bytes.
    pub(crate) fn term_with_raw(&mut self, depth: usize) -> Result<(Term, RawTerm), EtfError> {
        let start = self.pos;
        let term = self.term(depth)?;
        Ok((
            term,
            RawTerm::from_checked(self.input.slice(start..self.pos)),
        ))
    }

    /// Decodes the next term; `depth` is how many containers enclose it.
    pub(crate) fn term(&mut self, depth: usize) -> Result<Term, EtfError> {
        if depth > MAX_DEPTH {
            return Err(EtfError::TooDeep { limit: MAX_DEPTH });
        }
        let start = self.pos;
        let tag = self.u8()?;
        Ok(match tag {
            tag::SMALL_INTEGER => Term::Int(i64::from(self.u8()?)),
            tag::INTEGER => Term::Int(i64::from(i32::from_be_bytes(self.array()?))),
            tag::NEW_FLOAT => Term::Float(f64::from_be_bytes(self.array()?)),
            tag::FLOAT => self.old_float(start)?,
            tag::ATOM | tag::ATOM_UTF8 => {
                let n = self.u16()?;
                Term::Atom(Atom::from_wire(self.take(n)?))
            }
            tag::SMALL_ATOM | tag::SMALL_ATOM_UTF8 => {
                let n = usize::from(self.u8()?);
                Term::Atom(Atom::from_wire(self.take(n)?))
            }
            tag::SMALL_TUPLE => {
                let n = usize::from(self.u8()?);
                self.tuple(n, depth)?
            }
            tag::LARGE_TUPLE => {
                let n = self.u32()?;
                self.tuple(n, depth)?
            }
            tag::NIL => Term::List(Vec::new()),
            tag::STRING => match self.u16()? {
                0 => Term::List(Vec::new()),
                n => Term::ByteList(self.slice(n)?),
            },
            tag::LIST => {
                let n = self.u32()?;
                self.list(n, depth)?
            }
            tag::BINARY => {
                let n = self.u32()?;
                Term::Binary(self.slice(n)?)
            }
            tag::SMALL_BIG => {
                let n = usize::from(self.u8()?);
                self.big(n)?
            }
            tag::LARGE_BIG => {
                let n = self.u32()?;
                self.big(n)?
            }
            tag::MAP => {
                let n = self.u32()?;
                self.map(n, depth)?
            }
            tag::PID
            | tag::NEW_PID
            | tag::REFERENCE
            | tag::NEW_REFERENCE
            | tag::NEWER_REFERENCE
            | tag::PORT
            | tag::NEW_PORT
            | tag::V4_PORT
            | tag::BIT_BINARY => {
                self.skip_identifier(tag)?;
                Term::Raw(RawTerm::from_checked(self.input.slice(start..self.pos)))
            }
            _ => return Err(EtfError::UnsupportedTag { tag, offset: start }),
        })
    }

    fn tuple(&mut self, n: usize, depth: usize) -> Result<Term, EtfError> {
        let mut elements = Vec::with_capacity(self.reserve_for(n));
        for _ in 0..n {
            elements.push(self.term(depth + 1)?);
        }
        Ok(Term::Tuple(elements))
    }

    /// A LIST_EXT. A tail that is itself a list continues the same list (the canonical form
    /// Erlang's `==` sees), read in a loop so long chains cost neither stack nor copying.
    fn list(&mut self, first: usize, depth: usize) -> Result<Term, EtfError> {
        let mut items = Vec::with_capacity(self.reserve_for(first));
        let mut n = first;
        loop {
            for _ in 0..n {
                items.push(self.term(depth + 1)?);
            }
            match self.peek()? {
                tag::LIST => {
                    self.pos += 1;
                    n = self.u32()?;
                    items.reserve(self.reserve_for(n));
                }
                tag::NIL => {
                    self.pos += 1;
                    return Ok(Term::List(items));
                }
                _ => {
                    let tail = self.term(depth + 1)?;
                    return Ok(match tail {
                        tail if items.is_empty() => tail,
                        Term::List(rest) => {
                            items.extend(rest);
                            Term::List(items)
                        }
                        Term::ByteList(bytes) => {
                            items.extend(bytes.iter().map(|&b| Term::Int(i64::from(b))));
                            Term::List(items)
                        }
                        tail => Term::ImproperList {
                            items,
                            tail: Box::new(tail),
                        },
                    });
                }
            }
        }
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Term, EtfError> {
        let mut entries = Vec::with_capacity(self.reserve_for(n));
        for _ in 0..n {
            let key = self.term(depth + 1)?;
            let value = self.term(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Term::Map(entries))
    }

    /// SMALL_BIG_EXT / LARGE_BIG_EXT: an `Int` when the value fits `i64`.
    fn big(&mut self, n: usize) -> Result<Term, EtfError> {
        let negative = self.u8()? != 0;
        let magnitude = self.slice(n)?;
        let small = magnitude_u64(&magnitude).and_then(|m| {
            if negative {
                0i64.checked_sub_unsigned(m)
            } else {
                i64::try_from(m).ok()
            }
        });
        Ok(match small {
            Some(value) => Term::Int(value),
            None => Term::BigInt(BigInt::new(negative, magnitude)),
        })
    }

    /// FLOAT_EXT (99): 31 bytes of `%.20e` text padded with NUL.
    fn old_float(&mut self, start: usize) -> Result<Term, EtfError> {
        let text = self.take(31)?;
        let used = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let text = String::from_utf8_lossy(&text[..used]);
        text.trim()
            .parse()
            .map(Term::Float)
            .map_err(|source| EtfError::InvalidFloat {
                offset: start,
                source,
            })
    }

    /// Steps over a pid, reference, port or bit binary, checking its layout.
    fn skip_identifier(&mut self, tag: u8) -> Result<(), EtfError> {
        match tag {
            tag::PID => self.node_then(4 + 4 + 1),
            tag::NEW_PID => self.node_then(4 + 4 + 4),
            tag::REFERENCE | tag::PORT => self.node_then(4 + 1),
            tag::NEW_PORT => self.node_then(4 + 4),
            tag::V4_PORT => self.node_then(8 + 4),
            tag::NEW_REFERENCE => {
                let words = self.u16()?;
                self.node_then(1 + 4 * words)
            }
            tag::NEWER_REFERENCE => {
                let words = self.u16()?;
                self.node_then(4 + 4 * words)
            }
            _ => {
                let n = self.u32()?;
                self.take(1 + n).map(drop)
            }
        }
    }

    /// Steps over a node name atom and then `rest` bytes.
    fn node_then(&mut self, rest: usize) -> Result<(), EtfError> {
        let n = match self.u8()? {
            tag::ATOM | tag::ATOM_UTF8 => self.u16()?,
            tag::SMALL_ATOM | tag::SMALL_ATOM_UTF8 => usize::from(self.u8()?),
            tag => {
                return Err(EtfError::UnexpectedTerm {
                    expected: "a node name atom",
                    tag,
                });
            }
        };
        self.take(n + rest).map(drop)
    }
}
