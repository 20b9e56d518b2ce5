//! Seeds of the `etf` and `port_reply` targets: terms Python and Java workers send, framed and
//! not, in every tag the decoder reads, and the answers hook functions give.

use bytes::{BufMut, Bytes, BytesMut};
use hookmq_port::etf::{self, BigInt, Term};
use hookmq_port::frame::encode_frame;
use hookmq_port::message::Outgoing;

use super::{Seed, hex};

fn chars(text: &str) -> Term {
    Term::ByteList(Bytes::copy_from_slice(text.as_bytes()))
}

fn encoded(term: &Term) -> Vec<u8> {
    let mut buf = BytesMut::new();
    if let Err(error) = etf::encode(term, &mut buf) {
        unreachable!("seed term does not encode: {error}: {term:?}");
    }
    buf.to_vec()
}

fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

pub(super) fn terms() -> Vec<Seed> {
    let spec = Term::tuple([
        chars("client_connect"),
        chars("hooks"),
        chars("emqx_hook.on_client_connect"),
        Term::nil(),
    ]);
    let init = Term::tuple([
        Term::atom("r"),
        Term::Int(0),
        Term::tuple([
            Term::Int(0),
            Term::tuple([Term::list([spec]), Term::tuple([])]),
        ]),
    ]);
    let python_error = Term::tuple([
        Term::atom("e"),
        Term::Int(3),
        Term::tuple([
            Term::atom("python"),
            Term::atom("builtins.ValueError"),
            chars("bad input"),
            Term::list([Term::tuple([chars("hooks.py"), Term::Int(12)])]),
        ]),
    ]);
    let publish_reply = Term::tuple([
        Term::atom("r"),
        Term::Int(4),
        Term::tuple([
            Term::Int(0),
            Term::proplist([
                ("topic", Term::binary(&b"rewritten/t"[..])),
                ("payload", Term::binary(&b"x"[..])),
                ("qos", Term::Int(2)),
            ]),
        ]),
    ]);
    let worker_call = Term::tuple([
        Term::atom("C"),
        Term::BigInt(BigInt::new(false, vec![0xff; 16])),
        Term::atom("erlang"),
        Term::atom("node"),
        Term::nil(),
        Term::atom("L"),
    ]);
    let mut call_frame = BytesMut::new();
    let call = Outgoing::Call {
        id: 7,
        module: "hooks".into(),
        function: "emqx_hook.on_message_publish".into(),
        args: vec![
            Term::Int(1),
            Term::timestamp_ms(1_700_000_000_000),
            Term::tuple([]),
        ],
    };
    let _ = call.encode_frame(&mut call_frame);
    let mut nil_frame = BytesMut::new();
    let _ = encode_frame(&Term::nil(), &mut nil_frame);
    nil_frame.put_slice(&[0, 0, 0, 3, 131, 97, 5]);

    let mut seeds = vec![
        Seed::new("init-reply", encoded(&init)),
        Seed::new("python-error", encoded(&python_error)),
        Seed::new("publish-reply", encoded(&publish_reply)),
        Seed::new("worker-call", encoded(&worker_call)),
        Seed::new("call-frame", call_frame.to_vec()),
        Seed::new("two-frames", nil_frame.to_vec()),
        Seed::new(
            "frames",
            framed(&[
                encoded(&init),
                encoded(&python_error),
                encoded(&Term::atom("ok")),
            ]),
        ),
    ];
    // Hand-written forms that only peers send (tags the encoder never writes).
    let raw: [(&str, &str); 15] = [
        ("java-reply-trailing-nil", "83 68 03 77 01 72 61 01 6a 6a"),
        ("print", r#"83 68 02 77 01 50 6b 00 05 68 65 6c 6c 6f"#),
        ("euro-codepoint-list", "83 6c 00000001 62 000020ac 6a"),
        ("latin1-atom", "83 73 03 e9 74 e9"),
        ("utf8-atom", "83 76 0004 c3 a9 74 c3"),
        ("new-float-nan", "83 46 7ff8000000000000"),
        ("large-big", "83 6f 00000009 01 010203040506070809"),
        ("small-big-i64-min", "83 6e 08 01 0000000000000080"),
        ("improper-list", "83 6c 00000001 61 01 61 02"),
        (
            "list-chain",
            "83 6c 00000001 61 01 6c 00000001 61 02 6b 0002 0304",
        ),
        ("java-map", "83 74 00000001 77 01 6b 6d 00000002 7a 7a"),
        (
            "message-with-pid",
            "83 68 03 77 01 4d 58 77 0d 6e6f6e6f6465406e6f686f7374 00000001 00000000 00000000 6a",
        ),
        (
            "newer-reference",
            "83 5a 0002 77 0d 6e6f6e6f6465406e6f686f7374 00000000 00000001 00000002",
        ),
        ("bit-binary", "83 4d 00000002 03 ff e0"),
        ("compressed", "83 50 00000001 78 9c"),
    ];
    for (name, text) in raw {
        seeds.push(Seed::new(name, hex(text)));
    }
    // FLOAT_EXT: 31 bytes of `%.20e` text, NUL-padded.
    let mut old_float = vec![131, 99];
    old_float.extend_from_slice(b"1.50000000000000000000e+00");
    old_float.resize(2 + 31, 0);
    seeds.push(Seed::new("old-float", old_float));
    let mut big_tuple = vec![131, 105, 0, 0, 1, 44];
    big_tuple.extend(std::iter::repeat_n(106, 300));
    seeds.push(Seed::new("large-tuple", big_tuple));
    seeds
}

pub(super) fn port_replies() -> Vec<Seed> {
    let reply = |result: Term| encoded(&Term::tuple([Term::atom("r"), Term::Int(1), result]));
    let ok = |value: Term| Term::tuple([Term::Int(0), value]);
    let pair = |k: &'static str, v: Term| Term::tuple([Term::atom(k), v]);
    let spec = |name: &str, options: Term| {
        Term::tuple([
            chars(name),
            chars("hooks"),
            chars(&format!("emqx_hook.on_{name}")),
            options,
        ])
    };
    let init = ok(Term::tuple([
        Term::list([
            spec("client_authenticate", Term::nil()),
            spec(
                "message_publish",
                Term::list([chars("sensors/#"), chars("a/+")]),
            ),
            spec(
                "message_acked",
                Term::list([pair("topics", Term::list([chars("#")]))]),
            ),
            spec("client_authenticate", Term::nil()),
        ]),
        Term::tuple([Term::atom("state"), Term::Int(42)]),
    ]));
    let traceback =
        "Traceback (most recent call last):\n  File \"hooks.py\", line 3\nValueError: no";
    let mut seeds = vec![
        Seed::new("ok", reply(Term::atom("ok"))),
        Seed::new("none", reply(Term::undefined())),
        Seed::new("allow", reply(ok(Term::bool(true)))),
        Seed::new("deny", reply(ok(Term::bool(false)))),
        Seed::new(
            "failed",
            reply(Term::tuple([Term::Int(1), chars("bad password")])),
        ),
        Seed::new(
            "rewrite",
            reply(ok(Term::list([
                pair("topic", Term::binary(&b"rewritten/t"[..])),
                pair("payload", Term::binary(&b"x"[..])),
                pair("qos", Term::Int(2)),
                pair("retain", Term::bool(true)),
            ]))),
        ),
        Seed::new(
            "rewrite-charlists",
            reply(ok(Term::list([
                Term::tuple([chars("topic"), chars("a/b")]),
                Term::tuple([chars("payload"), chars("text")]),
            ]))),
        ),
        Seed::new(
            "bad-topic",
            reply(ok(Term::list([pair("topic", chars("a/#/b"))]))),
        ),
        Seed::new(
            "bad-qos",
            reply(ok(Term::list([pair("qos", Term::Int(3))]))),
        ),
        Seed::new(
            "rewrite-properties",
            reply(ok(Term::list([pair(
                "properties",
                Term::list([
                    pair("content_type", Term::binary(&b"text/plain"[..])),
                    pair(
                        "user_property",
                        Term::list([Term::tuple([
                            Term::binary(&b"k"[..]),
                            Term::binary(&b"v"[..]),
                        ])]),
                    ),
                ]),
            )]))),
        ),
        Seed::new("consume", reply(ok(Term::atom("consume")))),
        Seed::new("hold", reply(ok(Term::atom("hold")))),
        Seed::new(
            "hold-rewrite",
            reply(ok(Term::tuple([
                Term::atom("hold"),
                Term::list([Term::tuple([Term::atom("topic"), chars("held/x")])]),
            ]))),
        ),
        Seed::new(
            "subscribe-filters",
            reply(ok(Term::list([
                Term::tuple([Term::binary(&b"a/x"[..]), Term::Int(2)]),
                Term::tuple([Term::binary(&b"b"[..]), Term::Int(0x87)]),
            ]))),
        ),
        Seed::new("init", reply(init)),
        Seed::new(
            "python-traceback",
            encoded(&Term::tuple([
                Term::atom("e"),
                Term::Int(1),
                Term::tuple([
                    Term::atom("python"),
                    Term::atom("builtins.ValueError"),
                    chars("no"),
                    Term::binary(traceback.as_bytes().to_vec()),
                ]),
            ])),
        ),
        Seed::new(
            "java-error",
            encoded(&Term::tuple([
                Term::atom("e"),
                Term::Int(1),
                Term::binary(&b"java.lang.IllegalStateException: no\n\tat Hooks.run"[..]),
            ])),
        ),
    ];
    // Service calls from hook code: hookmq:publish(<<"t">>, <<"x">>, [{qos, 1}]), and one with
    // arguments of the wrong types.
    let call = |function: &'static str, args: Term| {
        encoded(&Term::tuple([
            Term::atom("C"),
            Term::Int(7),
            Term::atom("hookmq"),
            Term::atom(function),
            args,
            Term::atom("N"),
        ]))
    };
    seeds.push(Seed::new(
        "service-publish",
        call(
            "publish",
            Term::list([
                Term::binary(&b"t"[..]),
                Term::binary(&b"x"[..]),
                Term::list([
                    pair("qos", Term::Int(1)),
                    pair("through_hooks", Term::bool(true)),
                ]),
            ]),
        ),
    ));
    seeds.push(Seed::new(
        "service-bad-args",
        call(
            "subscribe",
            Term::list([Term::Int(1), chars("a/#/b"), Term::Int(9)]),
        ),
    ));
    // A map from the Java side: #{<<"topic">> => <<"m/t">>, qos => 1}.
    seeds.push(Seed::new(
        "java-map-rewrite",
        hex("83 68 03 77 01 72 61 01 68 02 61 00 74 00000002
             6d 00000005 746f706963 6d 00000003 6d2f74  77 03 716f73 61 01"),
    ));
    seeds
}

/// Seeds of `port_batch`: two bytes (calls − 1, observe-only mask), then a batch answer as the
/// Python and Java runtimes write it, good and bad.
pub(super) fn batch_answers() -> Vec<Seed> {
    let answer = |id: i64, results: Term, errors: Term, observed: Term| {
        encoded(&Term::tuple([
            Term::atom("R"),
            Term::Int(id),
            results,
            errors,
            observed,
        ]))
    };
    let pair = |i: i64, t: Term| Term::tuple([Term::Int(i), t]);
    let trace = || Term::binary("Traceback (most recent call last):\nValueError: x\n");
    let cases: Vec<(&str, u8, u8, Vec<u8>)> = vec![
        (
            "calls-and-an-observer",
            2,
            0b010,
            answer(
                1,
                Term::list([
                    Term::atom("undefined"),
                    Term::tuple([Term::Int(0), Term::bool(true)]),
                ]),
                Term::nil(),
                Term::nil(),
            ),
        ),
        (
            "error-and-observed-value",
            3,
            0b1100,
            answer(
                1,
                Term::list([Term::atom("ok"), Term::atom("undefined")]),
                Term::list([pair(1, trace())]),
                Term::list([pair(3, Term::tuple([Term::Int(0), Term::bool(false)]))]),
            ),
        ),
        (
            "python-byte-list-results",
            2,
            0,
            answer(
                1,
                Term::ByteList(Bytes::from_static(&[0, 1, 2])),
                Term::nil(),
                Term::nil(),
            ),
        ),
        (
            "only-observers",
            3,
            0b1111,
            answer(1, Term::nil(), Term::nil(), Term::nil()),
        ),
        (
            "unknown-id",
            0,
            0,
            answer(7, Term::list([Term::atom("ok")]), Term::nil(), Term::nil()),
        ),
        (
            "too-few",
            1,
            0,
            answer(1, Term::list([Term::atom("ok")]), Term::nil(), Term::nil()),
        ),
        (
            "too-many",
            0,
            0,
            answer(
                1,
                Term::list(vec![Term::atom("ok"); 6]),
                Term::nil(),
                Term::nil(),
            ),
        ),
        (
            "error-out-of-range",
            0,
            0,
            answer(
                1,
                Term::list([Term::atom("ok")]),
                Term::list([pair(9, trace())]),
                Term::nil(),
            ),
        ),
        (
            "results-not-a-list",
            0,
            0,
            answer(1, Term::atom("ok"), Term::nil(), Term::nil()),
        ),
        (
            "error-twice",
            1,
            0,
            answer(
                1,
                Term::list([Term::atom("undefined"), Term::atom("ok")]),
                Term::list([pair(0, trace()), pair(0, trace())]),
                Term::nil(),
            ),
        ),
        (
            "observed-value-of-a-call",
            1,
            0b01,
            answer(
                1,
                Term::list([Term::atom("ok")]),
                Term::nil(),
                Term::list([pair(1, Term::atom("ok"))]),
            ),
        ),
        (
            "errors-not-pairs",
            0,
            0,
            answer(
                1,
                Term::list([Term::atom("undefined")]),
                Term::list([Term::Int(0)]),
                Term::nil(),
            ),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, calls, mask, payload)| {
            let mut bytes = vec![calls, mask];
            bytes.extend(payload);
            Seed::new(format!("batch-{name}"), bytes)
        })
        .collect()
}
