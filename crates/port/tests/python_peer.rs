//! Interoperability with the real peer: hookmq's Python side of the port protocol
//! (`runtimes/python/erlport`). Python decodes what we encode and encodes it again, and we decode
//! what Python encodes from its own values, including a pickled `State` that must come back to
//! Python intact after the broker spliced it into a call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use bytes::{Bytes, BytesMut};
use common::peer::{self, from_hex, to_hex};
use common::strategies::term;
use hookmq_port::etf::{self, BigInt, Term};
use hookmq_port::message::{Incoming, Outgoing};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// `echo`: each input line is the hex of a term; print the hex of Python's re-encoding of it and
/// its repr. `emit`: print the hex of each value in a fixed list.
const SCRIPT: &str = r#"
import sys
from erlport.erlterms import Atom, ImproperList, decode, encode

if sys.argv[1] == "echo":
    for line in sys.stdin:
        term = decode(bytes.fromhex(line.strip()))
        print(encode(term).hex(), repr(term), sep="\t")
else:
    values = [
        True, False, None, 0, 255, 256, -1, 2**31, -2**63, 2**64, -(2**2100), 1.5,
        "hooks", "\u00e9t\u00e9", "\u20acuro", "", b"bin", (1, (2,)), [], [1, 2], [1000],
        Atom(b"x"), ImproperList([1], Atom(b"t")),
        (0, ([("client_connect", "hooks", "emqx_hook.on_client_connect", [])], {"k": "v"})),
    ]
    for value in values:
        print(encode(value).hex())
"#;

/// Runs the script under the repository's Python runtime.
fn python(mode: &str, input: &str) -> Vec<String> {
    let runtime = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtimes/python");
    let mut command = Command::new("python3");
    command
        .args(["-c", SCRIPT, mode])
        .env("PYTHONPATH", runtime);
    peer::run(&mut command, input)
}

/// The form Python writes back: a non-empty list of small integers becomes STRING_EXT.
fn as_python_writes(term: &Term) -> Term {
    let all = |items: &[Term]| items.iter().map(as_python_writes).collect::<Vec<_>>();
    match term {
        Term::List(items)
            if !items.is_empty() && items.iter().all(|t| matches!(t, Term::Int(0..=255))) =>
        {
            Term::ByteList(
                items
                    .iter()
                    .filter_map(|t| t.as_int())
                    .map(|i| i as u8)
                    .collect(),
            )
        }
        Term::List(items) => Term::List(all(items)),
        Term::Tuple(items) => Term::Tuple(all(items)),
        Term::ImproperList { items, tail } => Term::ImproperList {
            items: all(items),
            tail: Box::new(as_python_writes(tail)),
        },
        other => other.clone(),
    }
}

#[test]
fn python_reads_what_we_write() {
    let mut runner = TestRunner::deterministic();
    let mut terms = vec![
        Term::proplist([
            ("node", Term::atom("hookmq@127.0.0.1")),
            ("clientid", Term::binary("c1")),
            ("is_superuser", Term::bool(false)),
            ("anonymous", Term::bool(true)),
            ("mountpoint", Term::undefined()),
            ("timestamp", Term::timestamp_ms(1_700_000_000_123)),
        ]),
        Term::BigInt(BigInt::new(true, vec![1; 300])),
    ];
    for _ in 0..300 {
        terms.push(term().new_tree(&mut runner).unwrap().current());
    }
    let input: String = terms
        .iter()
        .map(|t| to_hex(&common::encoded(t)) + "\n")
        .collect();
    let output = python("echo", &input);
    assert_eq!(output.len(), terms.len());
    for (term, line) in terms.iter().zip(&output) {
        let (back, repr) = line.split_once('\t').unwrap();
        let expected = common::encoded(&as_python_writes(term));
        assert_eq!(back, to_hex(&expected), "{term} came back as {repr}");
    }
    // Python sees booleans, None and an int timestamp, not atoms and raw bytes.
    let repr = output[0].split_once('\t').unwrap().1;
    assert!(repr.contains("(Atom(b'anonymous'), True)"), "{repr}");
    assert!(repr.contains("(Atom(b'mountpoint'), None)"), "{repr}");
    assert!(
        repr.contains("(Atom(b'timestamp'), 1700000000123)"),
        "{repr}"
    );
}

#[test]
fn we_read_what_python_writes() {
    let lines = python("emit", "");
    let terms: Vec<Term> = lines
        .iter()
        .map(|l| etf::decode(&from_hex(l)).unwrap())
        .collect();
    let byte_list = |b: &'static [u8]| Term::ByteList(Bytes::from_static(b));
    let expected = [
        Term::bool(true),
        Term::bool(false),
        Term::undefined(),
        Term::Int(0),
        Term::Int(255),
        Term::Int(256),
        Term::Int(-1),
        Term::Int(1 << 31),
        Term::Int(i64::MIN),
        Term::BigInt(BigInt::new(false, vec![0, 0, 0, 0, 0, 0, 0, 0, 1])),
    ];
    assert_eq!(terms[..expected.len()], expected);
    let Term::BigInt(huge) = &terms[10] else {
        panic!("{}", terms[10])
    };
    assert!(huge.is_negative() && huge.magnitude_le().len() > 255);
    assert_eq!(terms[11], Term::Float(1.5));
    assert_eq!(terms[12], byte_list(b"hooks"));
    assert_eq!(terms[13].as_charlist_string().unwrap(), "été");
    assert_eq!(terms[14].as_charlist_string().unwrap(), "€uro");
    assert_eq!(terms[15].as_charlist_string().unwrap(), "");
    assert_eq!(terms[16], Term::binary("bin"));
    assert_eq!(
        terms[17],
        Term::tuple([Term::Int(1), Term::tuple([Term::Int(2)])])
    );
    assert_eq!(terms[18], Term::nil());
    assert_eq!(terms[19], byte_list(&[1, 2]));
    assert_eq!(terms[20], Term::list([Term::Int(1000)]));
    assert_eq!(terms[21], Term::atom("x"));
    assert_eq!(
        terms[22],
        Term::ImproperList {
            items: vec![Term::Int(1)],
            tail: Box::new(Term::atom("t"))
        }
    );
    assert_eq!(terms.len(), 24);
}

#[test]
fn pickled_state_survives_the_broker() {
    let lines = python("emit", "");
    let result = from_hex(lines.last().unwrap());
    // Python's init() result as the worker sends it: {r, 1, Result}.
    let mut payload = vec![131, 0x68, 3, 0x64, 0, 1, b'r', 0x61, 1];
    payload.extend_from_slice(&result[1..]);
    let frame = Bytes::from(payload);
    let Incoming::Result { id: 1, result, raw } = Incoming::decode(&frame).unwrap() else {
        panic!("not a result");
    };
    let state = raw.element(1).unwrap().element(1).unwrap();
    let pair = result.as_tuple().unwrap()[1].as_tuple().unwrap();
    assert_eq!(
        pair[1].as_tuple().unwrap()[0].as_atom(),
        Some("$erlport.opaque")
    );
    let spec = pair[0].as_list().unwrap()[0].as_tuple().unwrap();
    assert_eq!(
        spec[2].as_charlist_string().unwrap(),
        "emqx_hook.on_client_connect"
    );

    // The broker appends the state to a call; Python must find its dict again.
    let call = Outgoing::Call {
        id: 2,
        module: "hooks".into(),
        function: "emqx_hook.on_client_connected".into(),
        args: vec![Term::binary("c1"), Term::Raw(state)],
    };
    let mut wire = BytesMut::new();
    call.encode_frame(&mut wire).unwrap();
    let output = python("echo", &(to_hex(&wire[4..]) + "\n"));
    let repr = output[0].split_once('\t').unwrap().1;
    assert!(repr.ends_with("[b'c1', {'k': 'v'}])"), "{repr}");
}
