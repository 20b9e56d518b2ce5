//! Interoperability with the real peer: hookmq's Java port runtime (`runtimes/java`, the
//! `erlport.jar` that `runtimes/java/build.sh` makes). Java decodes what we encode and encodes it
//! again, and a serialized Java `State` spliced into a call is deserialized again by Java.

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

/// Runs `tests/java/EtfEcho.java` in source-file mode against the runtime jar, building the jar
/// first when it is missing.
fn java(mode: &str, input: &str) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let runtime = root.join("../../runtimes/java");
    let jar = runtime.join("build/erlport.jar");
    if !jar.exists() {
        let built = Command::new(runtime.join("build.sh")).status().unwrap();
        assert!(built.success(), "runtimes/java/build.sh failed");
    }
    let mut command = Command::new("java");
    command
        .arg("-cp")
        .arg(&jar)
        .arg(root.join("tests/java/EtfEcho.java"))
        .arg(mode);
    peer::run(&mut command, input)
}

/// Terms whose encoding the Java runtime writes back unchanged: it writes pids in their newest
/// form and refuses infinite floats.
fn java_writes_back(term: &Term) -> bool {
    match term {
        Term::Raw(_) => false,
        Term::Float(f) => f.is_finite(),
        Term::Tuple(items) | Term::List(items) => items.iter().all(java_writes_back),
        Term::ImproperList { items, tail } => {
            items.iter().all(java_writes_back) && java_writes_back(tail)
        }
        _ => true,
    }
}

#[test]
fn java_reads_what_we_write() {
    let mut runner = TestRunner::deterministic();
    let mut terms = vec![
        Term::proplist([
            ("node", Term::atom("hookmq@127.0.0.1")),
            ("clientid", Term::binary("c1")),
            ("is_superuser", Term::bool(false)),
            ("anonymous", Term::bool(true)),
            ("sockport", Term::Int(1883)),
            ("timestamp", Term::timestamp_ms(1_700_000_000_123)),
        ]),
        Term::BigInt(BigInt::new(true, vec![1; 300])),
    ];
    while terms.len() < 300 {
        let term = term().new_tree(&mut runner).unwrap().current();
        if java_writes_back(&term) {
            terms.push(term);
        }
    }
    let input: String = terms
        .iter()
        .map(|t| to_hex(&common::encoded(t)) + "\n")
        .collect();
    let output = java("echo", &input);
    assert_eq!(output.len(), terms.len());
    for (term, line) in terms.iter().zip(&output) {
        let (back, text) = line.split_once('\t').unwrap();
        assert_eq!(
            back,
            to_hex(&common::encoded(term)),
            "{term} came back as {text}"
        );
    }
    // Java sees Booleans and a BigInteger timestamp (its text shows them unquoted).
    let text = output[0].split_once('\t').unwrap().1;
    assert!(text.contains("{anonymous, true}"), "{text}");
    assert!(text.contains("{timestamp, 1700000000123}"), "{text}");
}

#[test]
fn serialized_state_survives_the_broker() {
    let lines = java("emit", "");
    let terms: Vec<Term> = lines
        .iter()
        .map(|l| etf::decode(&from_hex(l)).unwrap())
        .collect();
    assert_eq!(terms[0], Term::bool(true));
    assert_eq!(terms[1], Term::undefined());
    assert_eq!(terms[2], Term::Int(7));
    assert_eq!(terms[3], Term::Int(70000));
    assert_eq!(terms[4], Term::Int(1_700_000_000_123));
    assert_eq!(terms[5].as_charlist_string().unwrap(), "été");
    assert_eq!(terms[6].as_charlist_string().unwrap(), "€");
    assert_eq!(terms[7], Term::atom("x"));
    assert_eq!(terms[8], Term::binary("b"));
    assert_eq!(terms[9], Term::nil());
    assert_eq!(terms[10], Term::list([Term::Int(1000)]));

    // The init() result as the worker sends it: {r, 1, Result}.
    let result = from_hex(lines.last().unwrap());
    let mut payload = vec![131, 0x68, 3, 0x64, 0, 1, b'r', 0x61, 1];
    payload.extend_from_slice(&result[1..]);
    let Incoming::Result { id: 1, result, raw } = Incoming::decode(&Bytes::from(payload)).unwrap()
    else {
        panic!("not a result");
    };
    let pair = result.as_tuple().unwrap()[1].as_tuple().unwrap();
    let spec = pair[0].as_list().unwrap()[0].as_tuple().unwrap();
    assert_eq!(spec[0].as_charlist_string().unwrap(), "client_authenticate");
    let opaque = pair[1].as_tuple().unwrap();
    assert_eq!(opaque[0].as_atom(), Some("$erlport.opaque"));
    assert_eq!(opaque[1].as_atom(), Some("java"));
    let state = raw.element(1).unwrap().element(1).unwrap();

    let call = Outgoing::Call {
        id: 2,
        module: "SampleHandler".into(),
        function: "onClientAuthenticateRaw".into(),
        args: vec![Term::binary("c1"), Term::bool(false), Term::Raw(state)],
    };
    let mut wire = BytesMut::new();
    call.encode_frame(&mut wire).unwrap();
    let output = java("echo", &(to_hex(&wire[4..]) + "\n"));
    let text = output[0].split_once('\t').unwrap().1;
    assert!(text.contains("false"), "{text}");
    assert!(
        text.contains("2024-01-02"),
        "state not deserialized: {text}"
    );
}
