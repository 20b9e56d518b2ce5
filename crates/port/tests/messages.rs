//! Port messages on the wire: the reference's framed call and reply vectors, every incoming
//! message shape, and the `init()` state carried byte for byte into later calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::{Bytes, BytesMut};
use common::hex;
use hookmq_port::etf::{Atom, BigInt, EtfError, Term};
use hookmq_port::frame::{FrameDecoder, encode_frame};
use hookmq_port::message::{Incoming, Outgoing};

fn frame_of(message: &Outgoing) -> Bytes {
    let mut buf = BytesMut::new();
    message.encode_frame(&mut buf).unwrap();
    buf.freeze()
}

/// Splits `wire` into frames and decodes each.
fn incoming(wire: &[u8]) -> Vec<Incoming> {
    let mut buf = BytesMut::from(wire);
    let mut decoder = FrameDecoder::default();
    let mut out = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        out.push(Incoming::decode(&frame).unwrap());
    }
    assert!(buf.is_empty(), "partial frame left");
    out
}

/// One framed term from its body.
fn framed(body: &str) -> Vec<u8> {
    let body = hex(body);
    let mut out = (u32::try_from(body.len() + 1).unwrap())
        .to_be_bytes()
        .to_vec();
    out.push(131);
    out.extend_from_slice(&body);
    out
}

#[test]
fn init_call_matches_the_reference_bytes() {
    let call = Outgoing::Call {
        id: 1,
        module: Atom::from_static("hooks"),
        function: Atom::from_static("init"),
        args: Vec::new(),
    };
    let expected = hex(r#"00000019 83 68 05 64 0001 43 61 01 64 0005 "hooks" 64 0004 "init" 6a"#);
    assert_eq!(frame_of(&call), expected);
    // The same bytes through the generic term path.
    let term = Term::tuple([
        Term::atom("C"),
        Term::Int(1),
        Term::atom("hooks"),
        Term::atom("init"),
        Term::nil(),
    ]);
    let mut buf = BytesMut::new();
    encode_frame(&term, &mut buf).unwrap();
    assert_eq!(buf, expected);
}

#[test]
fn python_and_java_replies_decode_alike() {
    let python = hex(r#"00000014 83 68 03 64 0001 72 61 03 68 02 61 00 64 0004 74727565"#);
    let java = hex(r#"00000012 83 68 03 77 01 72 61 03 68 02 61 00 77 04 74727565"#);
    for (wire, raw) in [
        (python, "68 02 61 00 64 0004 74727565"),
        (java, "68 02 61 00 77 04 74727565"),
    ] {
        let [
            Incoming::Result {
                id,
                result,
                raw: got,
            },
        ] = &incoming(&wire)[..]
        else {
            panic!("not one result");
        };
        assert_eq!(*id, 3);
        assert_eq!(result, &Term::tuple([Term::Int(0), Term::bool(true)]));
        assert_eq!(result.as_tuple().and_then(|t| t[1].as_bool()), Some(true));
        assert_eq!(got.as_bytes(), &hex(raw));
    }
}

#[test]
fn init_state_reaches_every_call_byte_for_byte() {
    // Python SDK: {r, 1, {0, {[Spec], {}}}}.
    let spec = r#"68 04 6b 000e "client_connect" 6b 0005 "hooks"
                  6b 001b "emqx_hook.on_client_connect" 6a"#;
    let python = framed(&format!(
        "68 03 64 0001 72 61 01 68 02 61 00 68 02 6c 00000001 {spec} 6a 68 00"
    ));
    // Java SDK (erlport 1.1.1 style): the state is an opaque tuple with SMALL_ATOM_UTF8 atoms.
    let java_state = r#"68 03 77 0f "$erlport.opaque" 77 04 "java" 6d 00000003 aced00"#;
    let java = framed(&format!(
        "68 03 77 01 72 61 01 68 02 61 00 68 02 6a {java_state}"
    ));
    for (wire, state_bytes) in [(python, hex("68 00")), (java, hex(java_state))] {
        let [Incoming::Result { id: 1, result, raw }] = &incoming(&wire)[..] else {
            panic!("not the init result");
        };
        let [zero, pair] = result.as_tuple().unwrap() else {
            panic!("not {{0, _}}")
        };
        assert_eq!(zero.as_int(), Some(0));
        assert!(pair.as_tuple().unwrap()[0].as_list().is_some());
        let state = raw.element(1).unwrap().element(1).unwrap();
        assert_eq!(state.as_bytes(), &state_bytes);

        let call = Outgoing::Call {
            id: 7,
            module: Atom::from_static("hooks"),
            function: Atom::new("emqx_hook.on_client_authenticate"),
            args: vec![
                Term::proplist([
                    ("clientid", Term::binary("c1")),
                    ("anonymous", Term::bool(true)),
                ]),
                Term::bool(false),
                Term::Raw(state.clone()),
            ],
        };
        let frame = frame_of(&call);
        let mut tail = state_bytes.to_vec();
        tail.push(0x6a);
        assert!(frame.ends_with(&tail), "state not spliced verbatim");
        let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - 4);
    }
    // The Python spec decodes to charlists the driver can read.
    let [Incoming::Result { result, .. }] = &incoming(&framed(&format!(
        "68 03 64 0001 72 61 01 68 02 61 00 68 02 6c 00000001 {spec} 6a 68 00"
    )))[..] else {
        panic!()
    };
    let specs = result.as_tuple().unwrap()[1].as_tuple().unwrap()[0]
        .as_list()
        .unwrap();
    assert_eq!(
        specs[0].as_tuple().unwrap()[2]
            .as_charlist_string()
            .unwrap(),
        "emqx_hook.on_client_connect"
    );
}

#[test]
fn errors_prints_calls_and_casts() {
    let wire = [
        // {e, 4, {python, 'builtins.ValueError', "bad", []}}
        framed(r#"68 03 64 0001 "e" 61 04 68 04 64 0006 "python" 64 0013 "builtins.ValueError" 6b 0003 "bad" 6a"#),
        // {e, <<"bad frame">>}
        framed(r#"68 02 64 0001 "e" 6d 00000009 "bad frame""#),
        // {'P', "hi\n"} from Python and {'P', [8364]} and a binary from elsewhere
        framed(r#"68 02 64 0001 "P" 6b 0003 "hi" 0a"#),
        framed(r#"68 02 64 0001 "P" 6c 00000001 62 000020ac 6a"#),
        framed(r#"68 02 64 0001 "P" 6d 00000002 "ok""#),
        // {'C', uuid4().int, erlang, self, [], 'L'}
        framed(r#"68 06 64 0001 "C" 6e 10 00 0102030405060708090a0b0c0d0e0f10 64 0006 "erlang" 64 0004 "self" 6a 64 0001 "L""#),
        // {'M', Pid, hello}
        framed(r#"68 03 64 0001 "M" 67 64 0003 "n@h" 00000001 00000002 03 64 0005 "hello""#),
    ]
    .concat();
    let messages = incoming(&wire);
    assert_eq!(messages.len(), 7);
    let Incoming::Error { id: 4, error } = &messages[0] else {
        panic!("{:?}", messages[0])
    };
    assert_eq!(
        error.as_tuple().unwrap()[2].as_charlist_string().unwrap(),
        "bad"
    );
    assert_eq!(messages[1], Incoming::ErrorNoId(Term::binary("bad frame")));
    assert_eq!(messages[2], Incoming::Print("hi\n".into()));
    assert_eq!(messages[3], Incoming::Print("€".into()));
    assert_eq!(messages[4], Incoming::Print("ok".into()));
    let Incoming::Call {
        id,
        module,
        function,
        args,
        context,
    } = &messages[5]
    else {
        panic!("{:?}", messages[5])
    };
    let big_id = BigInt::new(false, (1..=16).collect::<Vec<u8>>());
    assert_eq!(id, &Term::BigInt(big_id.clone()));
    assert_eq!(
        (module.as_atom(), function.as_atom()),
        (Some("erlang"), Some("self"))
    );
    assert!(args.is_nil());
    assert_eq!(context.as_atom(), Some("L"));
    let Incoming::Message { pid, message } = &messages[6] else {
        panic!("{:?}", messages[6])
    };
    assert!(pid.as_raw().is_some());
    assert_eq!(message.as_atom(), Some("hello"));

    // The answer the broker gives to such a call.
    let answer = frame_of(&Outgoing::undef_reply(Term::BigInt(big_id)));
    let expected = framed(
        r#"68 03 64 0001 "e" 6e 10 00 0102030405060708090a0b0c0d0e0f10
           68 04 64 0006 "erlang" 64 0005 "error" 64 0005 "undef" 6a"#,
    );
    assert_eq!(answer, expected);
}

#[test]
fn outgoing_messages_and_replies() {
    assert_eq!(
        frame_of(&Outgoing::Message(Term::atom("hi"))),
        framed(r#"68 02 64 0001 "M" 64 0002 "hi""#)
    );
    assert_eq!(
        frame_of(&Outgoing::Reply {
            id: Term::Int(9),
            result: Term::nil()
        }),
        framed(r#"68 03 64 0001 "r" 61 09 6a"#)
    );
    // Call ids past i64 go out as bignums.
    let call = Outgoing::Call {
        id: u64::MAX,
        module: Atom::from_static("m"),
        function: Atom::from_static("f"),
        args: vec![Term::Int(1)],
    };
    assert_eq!(
        frame_of(&call),
        framed(
            r#"68 05 64 0001 "C" 6e 08 00 ffffffffffffffff 64 0001 "m" 64 0001 "f" 6c 00000001 61 01 6a"#
        )
    );
    let reply = framed(r#"68 03 64 0001 "r" 6e 08 00 ffffffffffffffff 6a"#);
    assert!(matches!(
        &incoming(&reply)[..],
        [Incoming::Result { id: u64::MAX, .. }]
    ));
    // An unencodable argument leaves the buffer as it was.
    let mut buf = BytesMut::from(&b"xy"[..]);
    let bad = Outgoing::Call {
        id: 1,
        module: Atom::from_static("m"),
        function: Atom::from_static("f"),
        args: vec![Term::Map(Vec::new())],
    };
    assert_eq!(
        bad.encode_frame(&mut buf),
        Err(EtfError::Unencodable { what: "map" })
    );
    assert_eq!(&buf[..], b"xy");
}

#[test]
fn other_shapes_are_unknown() {
    for body in [
        r#"64 0002 "ok""#,                     // not a tuple
        r#"68 03 64 0001 "r" 62 ffffffff 6a"#, // negative id
        r#"68 03 64 0001 "r" 64 0001 "x" 6a"#, // atom id
        r#"68 02 64 0001 "P" 61 01"#,          // not text
        r#"68 04 64 0001 "r" 61 01 6a 6a"#,    // wrong arity
        r#"68 00"#,
        r#"68 02 61 01 61 02"#,
    ] {
        let frame = Bytes::from(framed(body)).slice(4..);
        assert!(
            matches!(Incoming::decode(&frame), Ok(Incoming::Unknown(_))),
            "{body}"
        );
    }
    let unknown =
        Incoming::decode(&Bytes::from(framed(r#"68 02 61 01 61 02"#)).slice(4..)).unwrap();
    assert_eq!(
        unknown,
        Incoming::Unknown(Term::tuple([Term::Int(1), Term::Int(2)]))
    );
    assert_eq!(
        Incoming::decode(&hex("83 68 01")),
        Err(EtfError::UnexpectedEnd {
            offset: 3,
            needed: 1
        })
    );
}

#[test]
fn protocol_types_cross_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Term>();
    send_sync::<hookmq_port::etf::RawTerm>();
    send_sync::<Incoming>();
    send_sync::<Outgoing>();
    send_sync::<EtfError>();
    send_sync::<FrameDecoder>();
}
