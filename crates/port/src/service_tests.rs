//! Decoding service calls from port terms: every argument form hook code sends, and the typed
//! error for each bad input.

#![allow(clippy::unwrap_used)]

use super::*;

fn call(function: &str, args: Vec<Term>) -> Result<ServiceCall, ServiceError> {
    decode(&Term::atom(Atom::new(function)), &Term::list(args), 3)
}

fn bin(s: &str) -> Term {
    Term::binary(Bytes::copy_from_slice(s.as_bytes()))
}

fn opts(pairs: Vec<(&str, Term)>) -> Term {
    Term::list(
        pairs
            .into_iter()
            .map(|(k, v)| Term::tuple([Term::Atom(Atom::new(k)), v])),
    )
}

#[test]
fn publish_takes_text_in_any_form_and_options_as_proplist_or_map() {
    let charlist = Term::list("t/1".chars().map(|c| Term::Int(c as i64)));
    let o = opts(vec![
        ("qos", Term::Int(1)),
        ("retain", Term::bool(true)),
        ("through_hooks", Term::bool(true)),
        (
            "user_properties",
            Term::list([Term::tuple([bin("k"), bin("v")])]),
        ),
        ("content_type", bin("text/plain")),
    ]);
    let Ok(ServiceCall::Publish(req)) = call("publish", vec![charlist, bin("x"), o]) else {
        panic!("not a publish");
    };
    assert_eq!(req.topic, "t/1");
    assert_eq!(&req.payload[..], b"x");
    assert_eq!(req.qos, QoS::AtLeastOnce);
    assert!(req.retain && req.through_hooks);
    assert_eq!(req.parent_hops, 3);
    assert_eq!(req.properties.user_properties().count(), 1);

    let map = Term::Map(vec![(Term::atom("qos"), Term::Int(2))]);
    let Ok(ServiceCall::Publish(req)) = call("publish", vec![bin("t"), bin(""), map]) else {
        panic!("not a publish");
    };
    assert_eq!(req.qos, QoS::ExactlyOnce);
    assert!(!req.through_hooks);
}

#[test]
fn bad_input_is_answered_with_typed_errors() {
    let code = |r: Result<ServiceCall, ServiceError>| r.unwrap_err().code();
    assert_eq!(code(call("launch_rockets", vec![])), "unknown_service");
    assert_eq!(code(call("publish", vec![bin("t")])), "bad_argument");
    assert_eq!(
        code(call("publish", vec![Term::Int(1), bin("x")])),
        "bad_argument"
    );
    assert_eq!(
        code(call(
            "publish",
            vec![bin("t"), bin("x"), opts(vec![("qos", Term::Int(3))])]
        )),
        "bad_argument"
    );
    assert_eq!(
        code(call("publish", vec![bin("t"), bin("x"), Term::Int(7)])),
        "bad_argument"
    );
    assert_eq!(
        code(call("kick", vec![bin("c"), Term::Int(300)])),
        "bad_argument"
    );
    assert_eq!(
        code(call(
            "subscribe",
            vec![
                bin("c"),
                bin("f"),
                opts(vec![("retain_handling", Term::Int(5))])
            ]
        )),
        "bad_argument"
    );
    assert_eq!(code(call("metrics", vec![bin("extra")])), "bad_argument");
    let not_a_list = decode(&Term::atom("metrics"), &Term::Int(1), 0);
    assert_eq!(code(not_a_list), "bad_argument");
}

#[test]
fn calls_decode_with_defaults() {
    assert_eq!(
        call("kick", vec![bin("c")]).unwrap(),
        ServiceCall::Kick {
            clientid: "c".into(),
            reason: ReasonCode::ADMINISTRATIVE_ACTION
        }
    );
    assert_eq!(
        call("authz_cache_invalidate", vec![Term::atom("all")]).unwrap(),
        ServiceCall::AuthzCacheInvalidate(AuthzTarget::All)
    );
    assert_eq!(
        call("authz_cache_invalidate", vec![bin("c")]).unwrap(),
        ServiceCall::AuthzCacheInvalidate(AuthzTarget::Client("c".into()))
    );
    assert_eq!(call("metrics", vec![]).unwrap(), ServiceCall::Metrics);
}

#[test]
fn errors_are_four_tuples_that_erlport_splits() {
    let t = encode_error(&ServiceError::UnknownClient("x".into()));
    let parts = t.as_tuple().unwrap();
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[0].as_atom(), Some("hookmq"));
    assert_eq!(parts[1].as_atom(), Some("unknown_client"));
}
