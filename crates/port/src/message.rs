//! The messages of the Erlang-port protocol, typed and still sans-IO: what the broker sends a
//! worker ([`Outgoing`], written as frames) and what a worker sends back ([`Incoming`], read from
//! frames). The driver matches results to calls by id and keeps the `init()` state raw.

use bytes::{Bytes, BytesMut};

use crate::etf::{self, Atom, Decoder, EtfError, RawTerm, Term};
use crate::frame::encode_frame_with;
use crate::verdict::shown;

/// A message from the broker to a worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    /// `{'C', Id, Module, Function, Args}`: call `Module:Function(Args...)`. For a hook call the
    /// last argument is the worker's state, as the [`Term::Raw`] kept from `init()`.
    Call {
        /// Echoed in the reply; any integer unique among the outstanding calls.
        id: u64,
        /// The module (Python module or Java class).
        module: Atom,
        /// The function; may be dotted (`'emqx_hook.on_client_connect'`).
        function: Atom,
        /// The arguments.
        args: Vec<Term>,
    },
    /// `{'M', Term}`: a message for the worker's message handler (erlport ignores it by default).
    Message(Term),
    /// `{'r', Id, Result}`: the answer to a call the worker made to the broker.
    Reply {
        /// The worker's call id, as received (Python's are 128-bit bignums).
        id: Term,
        /// The result.
        result: Term,
    },
    /// `{'e', Id, Error}`: a failed answer to a call the worker made to the broker.
    ErrorReply {
        /// The worker's call id, as received.
        id: Term,
        /// The error, `{erlang, Class, Reason, Trace}` for erlport.
        error: Term,
    },
}

impl Outgoing {
    /// The answer to a call the broker does not offer: `{'e', Id, {erlang, error, undef, []}}`.
    /// Without an answer the worker's call would block it forever.
    pub fn undef_reply(id: Term) -> Self {
        Self::ErrorReply {
            id,
            error: Term::tuple([
                Term::atom("erlang"),
                Term::atom("error"),
                Term::atom("undef"),
                Term::nil(),
            ]),
        }
    }

    /// Appends this message as one frame (length, 131, term) to `buf`, writing the envelope
    /// directly. On error `buf` is left as it was.
    pub fn encode_frame(&self, buf: &mut BytesMut) -> Result<(), EtfError> {
        match self {
            Self::Call {
                id,
                module,
                function,
                args,
            } => encode_call(buf, *id, module, function, |buf| etf::put_list(buf, args)),
            Self::Message(term) => encode_frame_with(buf, 6 + term.encoded_len(), |buf| {
                etf::put_tuple_header(buf, 2)?;
                etf::put_atom(buf, "M")?;
                etf::put_term(buf, term)
            }),
            Self::Reply { id, result: body } | Self::ErrorReply { id, error: body } => {
                let tag = if matches!(self, Self::Reply { .. }) {
                    "r"
                } else {
                    "e"
                };
                let len = 6 + id.encoded_len() + body.encoded_len();
                encode_frame_with(buf, len, |buf| {
                    etf::put_tuple_header(buf, 3)?;
                    etf::put_atom(buf, tag)?;
                    etf::put_term(buf, id)?;
                    etf::put_term(buf, body)
                })
            }
        }
    }
}

/// `{'R', BatchId, Results, Errors, Observed}`: hookmq's runtimes answer a whole batch of calls
/// with one frame (see `batch.rs`). Read loosely, so that what does not fit its batch can fail
/// that batch's calls with the reason.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchReply {
    /// The batch answered.
    pub id: u64,
    /// One result per call that wants one, in order.
    pub results: Vec<Term>,
    /// `(Index, Error)` for each call that raised; `Index` counts every call of the batch.
    pub errors: Vec<(u64, Term)>,
    /// `(Index, Value)` for each observe-only call that returned something other than
    /// `None`/`null` (counted by the broker, never used).
    pub observed: Vec<(u64, Term)>,
    /// Why `Results` or `Errors` cannot be read, if they cannot.
    pub malformed: Option<String>,
}

impl BatchReply {
    fn read(id: u64, results: Term, errors: Term, observed: Term) -> BatchReply {
        let mut reply = BatchReply {
            id,
            results: Vec::new(),
            errors: Vec::new(),
            observed: Vec::new(),
            malformed: None,
        };
        // Python writes a list of small integers as STRING_EXT, so a batch whose results are
        // all 0..255 arrives as a byte list.
        match results {
            Term::List(items) => reply.results = items,
            Term::ByteList(bytes) => {
                reply.results = bytes.iter().map(|&b| Term::Int(i64::from(b))).collect();
            }
            other => {
                reply.malformed = Some(format!("the results are not a list: {}", shown(&other)));
                return reply;
            }
        }
        match indexed(errors, "error") {
            Ok(errors) => reply.errors = errors,
            Err(why) => reply.malformed = Some(why),
        }
        match indexed(observed, "observed value") {
            Ok(observed) => reply.observed = observed,
            Err(why) => reply.malformed = reply.malformed.or(Some(why)),
        }
        reply
    }
}

/// Appends the frame of `{'C', Id, Module, Function, Args}`, `args` writing the argument list.
/// On error `buf` is left as it was.
pub(crate) fn encode_call(
    buf: &mut BytesMut,
    id: u64,
    module: &Atom,
    function: &Atom,
    args: impl FnOnce(&mut BytesMut) -> Result<(), EtfError>,
) -> Result<(), EtfError> {
    let len = 32 + module.as_str().len() + function.as_str().len();
    encode_frame_with(buf, len + 256, |buf| {
        etf::put_tuple_header(buf, 5)?;
        etf::put_atom(buf, "C")?;
        etf::put_u64(buf, id);
        etf::put_atom(buf, module.as_str())?;
        etf::put_atom(buf, function.as_str())?;
        args(buf)
    })
}

/// A list of `{Index, Term}`, or why it is not one.
fn indexed(list: Term, what: &str) -> Result<Vec<(u64, Term)>, String> {
    let items = match list {
        Term::List(items) => items,
        other => return Err(format!("the {what}s are not a list: {}", shown(&other))),
    };
    items
        .into_iter()
        .map(|item| match item {
            Term::Tuple(pair) => match <[Term; 2]>::try_from(pair) {
                Ok([index, term]) => match call_id(&index) {
                    Some(index) => Ok((index, term)),
                    None => Err(format!("an {what}'s index is {}", shown(&index))),
                },
                Err(pair) => Err(format!(
                    "an {what} is not {{Index, Term}}: {}",
                    shown(&Term::Tuple(pair))
                )),
            },
            other => Err(format!(
                "an {what} is not {{Index, Term}}: {}",
                shown(&other)
            )),
        })
        .collect()
}

/// A message from a worker to the broker.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// `{'r', Id, Result}`: a call succeeded.
    Result {
        /// The id of the broker's call.
        id: u64,
        /// The result.
        result: Term,
        /// The result's bytes exactly as received, e.g. to keep `State` from the `init()` reply
        /// `{0, {Specs, State}}` with `raw.element(1)?.element(1)?`.
        raw: RawTerm,
    },
    /// `{'R', BatchId, Results, Errors, Observed}`: the answer to a batch of calls.
    BatchReply(BatchReply),
    /// `{'e', Id, Error}`: a call failed (Python: `{python, Class, Message, Trace}`; Java: a
    /// binary with the stack trace).
    Error {
        /// The id of the broker's call.
        id: u64,
        /// The error.
        error: Term,
    },
    /// `{'e', Error}`: a failure outside any call; erlport treats the worker as failed.
    ErrorNoId(Term),
    /// `{'P', Chars}`: text the user code printed (`print(x)` sends the text, then `"\n"`).
    Print(String),
    /// `{'C', Id, Module, Function, Args, Context}`: the worker calls the broker. Kept loose so
    /// that every such call can be answered (see [`Outgoing::undef_reply`]); otherwise the
    /// worker waits forever.
    Call {
        /// The worker's call id, to echo in the answer.
        id: Term,
        /// The module called (an atom from well-behaved workers).
        module: Term,
        /// The function called.
        function: Term,
        /// The arguments (a list from well-behaved workers).
        args: Term,
        /// erlport's call context (`'N'` or `'L'`).
        context: Term,
    },
    /// `{'M', Pid, Message}`: a cast from the worker.
    Message {
        /// The destination.
        pid: Term,
        /// The message.
        message: Term,
    },
    /// A well-formed term of no known shape, including results and errors whose id is not an
    /// id the broker sends (a non-negative integer below 2^64).
    Unknown(Term),
}

impl Incoming {
    /// Decodes a frame's payload (131 and a term; bytes after the term are ignored).
    pub fn decode(frame: &Bytes) -> Result<Self, EtfError> {
        let mut decoder = Decoder::new(frame, 0);
        decoder.version()?;
        let Some(arity) = decoder.tuple_header()? else {
            return Ok(Self::Unknown(decoder.term(0)?));
        };
        let mut elements = Vec::with_capacity(decoder.reserve_for(arity));
        for _ in 0..arity {
            elements.push(decoder.term_with_raw(1)?);
        }
        Ok(classify(elements))
    }
}

/// Sorts a decoded top-level tuple into a message.
fn classify(elements: Vec<(Term, RawTerm)>) -> Incoming {
    let kind = elements.first().and_then(|(tag, _)| match tag.as_atom()? {
        name @ ("r" | "e" | "P" | "C" | "M" | "R") => name.chars().next(),
        _ => None,
    });
    match (kind, elements.len()) {
        (Some('R'), 5) => {
            let mut parts = terms(elements).skip(1);
            let mut next = || parts.next().unwrap_or_else(Term::nil);
            let (id, results, errors, observed) = (next(), next(), next(), next());
            match call_id(&id) {
                Some(id) => Incoming::BatchReply(BatchReply::read(id, results, errors, observed)),
                None => Incoming::Unknown(Term::Tuple(vec![
                    Term::atom("R"),
                    id,
                    results,
                    errors,
                    observed,
                ])),
            }
        }
        (Some(kind @ ('r' | 'e')), 3) => {
            let [tag, (id, _), (body, raw)] = match <[_; 3]>::try_from(elements) {
                Ok(parts) => parts,
                Err(elements) => return unknown(elements),
            };
            match call_id(&id) {
                Some(id) if kind == 'r' => Incoming::Result {
                    id,
                    result: body,
                    raw,
                },
                Some(id) => Incoming::Error { id, error: body },
                None => Incoming::Unknown(Term::Tuple(vec![tag.0, id, body])),
            }
        }
        (Some('e'), 2) => Incoming::ErrorNoId(terms(elements).nth(1).unwrap_or_else(Term::nil)),
        (Some('P'), 2) => match elements[1].0.as_text() {
            Some(text) => Incoming::Print(text),
            None => unknown(elements),
        },
        (Some('C'), 6) => {
            let mut parts = terms(elements).skip(1);
            let mut next = || parts.next().unwrap_or_else(Term::nil);
            Incoming::Call {
                id: next(),
                module: next(),
                function: next(),
                args: next(),
                context: next(),
            }
        }
        (Some('M'), 3) => {
            let mut parts = terms(elements).skip(1);
            let mut next = || parts.next().unwrap_or_else(Term::nil);
            Incoming::Message {
                pid: next(),
                message: next(),
            }
        }
        _ => unknown(elements),
    }
}

fn terms(elements: Vec<(Term, RawTerm)>) -> impl Iterator<Item = Term> {
    elements.into_iter().map(|(term, _)| term)
}

/// An id the broker may have sent: a non-negative integer below 2^64.
fn call_id(id: &Term) -> Option<u64> {
    match id {
        Term::Int(value) => u64::try_from(*value).ok(),
        Term::BigInt(big) => big.to_u64(),
        _ => None,
    }
}

fn unknown(elements: Vec<(Term, RawTerm)>) -> Incoming {
    Incoming::Unknown(Term::Tuple(terms(elements).collect()))
}
