//! Byte-exact term vectors: the wire examples of the port protocol reference, and each tag the
//! encoder must (or must never) write and the decoder must accept.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::{Bytes, BytesMut};
use common::{decode_body, encoded, hex};
use hookmq_port::etf::{self, Atom, BigInt, EtfError, MAX_ATOM_LEN, MAX_DEPTH, RawTerm, Term};

#[test]
fn hook_spec_from_python_is_charlists() {
    let body = hex(r#"68 04 6b 000e "client_connect" 6b 0005 "hooks"
                      6b 001b "emqx_hook.on_client_connect" 6a"#);
    let spec = decode_body(&body).unwrap();
    let [name, module, function, opts] = spec.as_tuple().unwrap() else {
        panic!("not a 4-tuple: {spec}");
    };
    assert_eq!(name.as_charlist_string().unwrap(), "client_connect");
    assert_eq!(module.as_charlist_string().unwrap(), "hooks");
    assert_eq!(
        function.as_charlist_string().unwrap(),
        "emqx_hook.on_client_connect"
    );
    assert_eq!(opts.as_list(), Some(&[][..]));
    // An explicit byte list is written back as STRING_EXT, byte for byte.
    assert_eq!(encoded(&spec)[1..], body[..]);
}

#[test]
fn empty_state_is_an_empty_tuple() {
    assert_eq!(decode_body(&hex("68 00")).unwrap(), Term::tuple([]));
    assert_eq!(encoded(&Term::tuple([])), hex("83 68 00"));
}

#[test]
fn euro_sign_arrives_as_a_list_of_code_points() {
    let term = decode_body(&hex("6c 00000001 62 000020ac 6a")).unwrap();
    assert_eq!(term, Term::list([Term::Int(0x20ac)]));
    assert_eq!(term.as_charlist_string().unwrap(), "€");
    // Latin-1 text comes as STRING_EXT, one byte per code point (not UTF-8).
    let latin = decode_body(&hex("6b 0003 e9 74 e9")).unwrap();
    assert_eq!(latin.as_charlist_string().unwrap(), "été");
}

#[test]
fn millisecond_timestamps_are_small_bigs() {
    let ts = Term::timestamp_ms(1_600_000_000_000);
    assert_eq!(encoded(&ts), hex("83 6e 06 00 00806e877401"));
    assert_eq!(
        decode_body(&hex("6e 06 00 00806e877401")).unwrap(),
        Term::Int(1_600_000_000_000)
    );
    // Even a timestamp that would fit a small integer stays a bignum.
    assert_eq!(encoded(&Term::timestamp_ms(5)), hex("83 6e 01 00 05"));
    assert_eq!(encoded(&Term::timestamp_ms(0)), hex("83 6e 01 00 00"));
}

#[test]
fn java_trailing_nil_is_ignored() {
    assert_eq!(etf::decode(&hex("83 6a 6a")).unwrap(), Term::nil());
    let reply = etf::decode(&hex("83 68 03 77 01 72 61 01 6a 6a")).unwrap();
    assert_eq!(
        reply,
        Term::tuple([Term::atom("r"), Term::Int(1), Term::nil()])
    );
}

#[test]
fn integers_use_the_smallest_tag() {
    let cases: [(i64, &str); 9] = [
        (0, "61 00"),
        (255, "61 ff"),
        (256, "62 00000100"),
        (-1, "62 ffffffff"),
        (i64::from(i32::MAX), "62 7fffffff"),
        (i64::from(i32::MIN), "62 80000000"),
        (1 << 31, "6e 04 00 00000080"),
        (-(1 << 31) - 1, "6e 04 01 01000080"),
        (i64::MIN, "6e 08 01 0000000000000080"),
    ];
    for (value, body) in cases {
        let term = Term::Int(value);
        assert_eq!(encoded(&term)[1..], hex(body)[..], "{value}");
        assert_eq!(decode_body(&hex(body)).unwrap(), term, "{value}");
        assert_eq!(term.encoded_len(), hex(body).len(), "{value}");
    }
}

#[test]
fn bignums_outside_i64_stay_bignums() {
    let big = BigInt::new(false, vec![0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(
        encoded(&Term::BigInt(big.clone())),
        hex("83 6e 09 00 000000000000000001")
    );
    assert_eq!(
        decode_body(&hex("6e 09 00 000000000000000001")).unwrap(),
        Term::BigInt(big)
    );
    // High zero bytes do not matter; LARGE_BIG_EXT is read too.
    assert_eq!(
        decode_body(&hex("6f 00000003 01 050000")).unwrap(),
        Term::Int(-5)
    );
    let huge = BigInt::new(true, vec![7; 300]);
    let bytes = encoded(&Term::BigInt(huge.clone()));
    assert_eq!(bytes[..7], hex("83 6f 0000012c 01")[..]);
    assert_eq!(etf::decode(&bytes).unwrap(), Term::BigInt(huge));
}

#[test]
fn every_atom_is_atom_ext() {
    for (term, body) in [
        (Term::bool(true), r#"64 0004 "true""#),
        (Term::bool(false), r#"64 0005 "false""#),
        (Term::undefined(), r#"64 0009 "undefined""#),
        (Term::atom("C"), r#"64 0001 "C""#),
        (Term::Atom(Atom::new("é")), "64 0002 c3a9"),
    ] {
        assert_eq!(encoded(&term)[1..], hex(body)[..], "{term}");
    }
    let longest = Term::Atom(Atom::new(&"a".repeat(MAX_ATOM_LEN)));
    assert_eq!(encoded(&longest).len(), 4 + MAX_ATOM_LEN);
    let too_long = Term::Atom(Atom::new(&"é".repeat(128)));
    assert_eq!(
        etf::encode(&too_long, &mut BytesMut::new()),
        Err(EtfError::TooLong {
            what: "atom",
            len: 256
        })
    );
}

#[test]
fn every_atom_tag_decodes() {
    let t = Term::atom("true");
    assert_eq!(decode_body(&hex(r#"64 0004 "true""#)).unwrap(), t);
    assert_eq!(decode_body(&hex(r#"73 04 "true""#)).unwrap(), t);
    assert_eq!(decode_body(&hex(r#"76 0004 "true""#)).unwrap(), t);
    assert_eq!(decode_body(&hex(r#"77 04 "true""#)).unwrap(), t);
    // Latin-1 content under the old tags.
    assert_eq!(decode_body(&hex("73 01 e9")).unwrap(), Term::atom("é"));
}

#[test]
fn floats_new_and_old() {
    assert_eq!(encoded(&Term::Float(1.5)), hex("83 46 3ff8000000000000"));
    assert_eq!(
        decode_body(&hex("46 3ff8000000000000")).unwrap(),
        Term::Float(1.5)
    );
    let mut old = b"1.50000000000000000000e+00".to_vec();
    old.resize(31, 0);
    let mut body = vec![99];
    body.extend(old);
    assert_eq!(decode_body(&Bytes::from(body)).unwrap(), Term::Float(1.5));
    let mut junk = vec![99];
    junk.extend([b'x'; 31]);
    assert!(matches!(
        decode_body(&Bytes::from(junk)),
        Err(EtfError::InvalidFloat { offset: 1, .. })
    ));
}

#[test]
fn containers() {
    let tuple = Term::Tuple((0..300).map(Term::Int).collect());
    let bytes = encoded(&tuple);
    assert_eq!(bytes[..6], hex("83 69 0000012c")[..]);
    assert_eq!(etf::decode(&bytes).unwrap(), tuple);

    let list = Term::list([Term::Int(1), Term::binary("a")]);
    assert_eq!(
        encoded(&list),
        hex(r#"83 6c 00000002 61 01 6d 00000001 "a" 6a"#)
    );
    assert_eq!(encoded(&Term::nil()), hex("83 6a"));

    let improper = decode_body(&hex("6c 00000001 61 01 61 02")).unwrap();
    assert_eq!(
        improper,
        Term::ImproperList {
            items: vec![Term::Int(1)],
            tail: Box::new(Term::Int(2))
        }
    );
    assert_eq!(encoded(&improper)[1..], hex("6c 00000001 61 01 61 02")[..]);
    // A list tail continues the list.
    let chained = decode_body(&hex("6c 00000001 61 01 6c 00000001 61 02 6b 0001 03")).unwrap();
    assert_eq!(
        chained,
        Term::list([Term::Int(1), Term::Int(2), Term::Int(3)])
    );

    let map = decode_body(&hex(r#"74 00000001 64 0001 "k" 61 01"#)).unwrap();
    assert_eq!(map.get("k"), Some(&Term::Int(1)));
    assert_eq!(
        etf::encode(&map, &mut BytesMut::new()),
        Err(EtfError::Unencodable { what: "map" })
    );
}

#[test]
fn byte_lists_are_string_ext_only_when_asked() {
    let text = Term::ByteList(Bytes::from_static(b"hi"));
    assert_eq!(encoded(&text), hex(r#"83 6b 0002 "hi""#));
    assert_eq!(encoded(&Term::ByteList(Bytes::new())), hex("83 6a"));
    let long = Term::ByteList(Bytes::from(vec![7; 70_000]));
    let bytes = encoded(&long);
    assert_eq!(bytes[..8], hex("83 6c 00011170 61 07")[..]);
    assert_eq!(bytes.len(), 1 + long.encoded_len());
    let decoded = etf::decode(&bytes).unwrap();
    assert_eq!(decoded.as_list().map(<[Term]>::len), Some(70_000));
}

#[test]
fn pids_references_and_ports_are_kept_raw() {
    for body in [
        r#"67 64 0003 "n@h" 00000001 00000002 03"#,
        r#"58 77 03 "n@h" 00000001 00000002 00000003"#,
        r#"65 64 0003 "n@h" 00000001 02"#,
        r#"72 0002 64 0003 "n@h" 01 00000001 00000002"#,
        r#"5a 0001 77 03 "n@h" 00000001 00000002"#,
        r#"66 64 0003 "n@h" 00000001 02"#,
        r#"59 64 0003 "n@h" 00000001 00000002"#,
        r#"78 64 0003 "n@h" 0000000000000001 00000002"#,
        "4d 00000001 05 f8",
    ] {
        let bytes = hex(body);
        let term = decode_body(&bytes).unwrap();
        assert_eq!(
            term.as_raw().map(|raw| raw.as_bytes().clone()),
            Some(bytes.clone()),
            "{body}"
        );
        assert_eq!(encoded(&term)[1..], bytes[..], "{body}");
    }
    assert!(matches!(
        decode_body(&hex("67 61 01 00000001 00000002 03")),
        Err(EtfError::UnexpectedTerm {
            expected: "a node name atom",
            tag: 0x61
        })
    ));
}

#[test]
fn raw_terms_are_spliced_verbatim() {
    // A Java-style state with SMALL_ATOM_UTF8 atoms goes back exactly as it came.
    let state = RawTerm::new(hex(
        r#"68 03 77 0f "$erlport.opaque" 77 04 "java" 6d 00000002 aced"#,
    ))
    .unwrap();
    let args = Term::list([Term::binary("c1"), Term::Raw(state.clone())]);
    let bytes = encoded(&args);
    assert!(bytes.ends_with(&[state.as_bytes().as_ref(), &[0x6a]].concat()));
    assert_eq!(bytes.len(), 1 + args.encoded_len());
}

#[test]
fn malformed_input_is_an_error() {
    assert_eq!(
        etf::decode(&Bytes::new()),
        Err(EtfError::MissingVersion { found: None })
    );
    assert_eq!(
        etf::decode(&hex("84 6a")),
        Err(EtfError::MissingVersion { found: Some(0x84) })
    );
    assert_eq!(
        etf::decode(&hex("83 50 00000001 789c")),
        Err(EtfError::Compressed)
    );
    assert_eq!(
        etf::decode(&hex("83 71 00")),
        Err(EtfError::UnsupportedTag {
            tag: 0x71,
            offset: 1
        })
    );
    assert_eq!(
        etf::decode(&hex("83 6d 00000005 6162")),
        Err(EtfError::UnexpectedEnd {
            offset: 6,
            needed: 3
        })
    );
    assert_eq!(
        etf::decode(&hex("83")),
        Err(EtfError::UnexpectedEnd {
            offset: 1,
            needed: 1
        })
    );
}

#[test]
fn announced_lengths_do_not_allocate() {
    // Four billion elements announced, none present: an error, not a huge allocation.
    for body in [
        "6c ffffffff",
        "69 ffffffff",
        "74 ffffffff",
        "6d ffffffff",
        "6f ffffffff 00",
    ] {
        assert!(
            matches!(decode_body(&hex(body)), Err(EtfError::UnexpectedEnd { .. })),
            "{body}"
        );
    }
}

#[test]
fn nesting_is_bounded() {
    let nested = |depth: usize| {
        let mut body = [0x68, 0x01].repeat(depth);
        body.push(0x6a);
        Bytes::from(body)
    };
    assert!(decode_body(&nested(MAX_DEPTH)).is_ok());
    assert_eq!(
        decode_body(&nested(MAX_DEPTH + 1)),
        Err(EtfError::TooDeep { limit: MAX_DEPTH })
    );
    // A list whose tail is a list is one longer list, read in a loop, not nested.
    let mut chain = hex("6c 00000001 61 01").repeat(100_000);
    chain.extend_from_slice(&[0x61, 0x02]);
    let Term::ImproperList { items, tail } = decode_body(&Bytes::from(chain)).unwrap() else {
        panic!("not an improper list");
    };
    assert_eq!((items.len(), *tail), (100_000, Term::Int(2)));
}
