//! Proptest strategies for terms in the form the decoder returns them.

use bytes::Bytes;
use hookmq_port::etf::{Atom, BigInt, RawTerm, Term};
use proptest::collection::vec;
use proptest::prelude::*;

/// A pid as Python's erlport 1.2 would send it back.
pub fn pid() -> impl Strategy<Value = Term> {
    (
        "[a-z]{1,8}@[a-z]{1,8}",
        any::<u32>(),
        any::<u32>(),
        any::<u8>(),
    )
        .prop_map(|(node, id, serial, creation)| {
            let mut bytes = vec![103, 100];
            bytes.extend((node.len() as u16).to_be_bytes());
            bytes.extend(node.as_bytes());
            bytes.extend(id.to_be_bytes());
            bytes.extend(serial.to_be_bytes());
            bytes.push(creation);
            Term::Raw(RawTerm::new(Bytes::from(bytes)).unwrap())
        })
}

/// Leaves in their canonical decoded form.
pub fn leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        any::<i64>().prop_map(Term::Int),
        (0i64..=255).prop_map(Term::Int),
        (any::<bool>(), vec(any::<u8>(), 9..40)).prop_map(|(negative, mut magnitude)| {
            *magnitude.last_mut().unwrap() |= 1; // beyond 8 bytes: outside i64
            Term::BigInt(BigInt::new(negative, magnitude))
        }),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
            .prop_map(Term::Float),
        "\\PC{0,12}".prop_map(|name| Term::Atom(Atom::new(&name))),
        prop_oneof![Just("true"), Just("undefined"), Just("r")].prop_map(Term::atom),
        vec(any::<u8>(), 0..48).prop_map(|b| Term::Binary(Bytes::from(b))),
        vec(any::<u8>(), 1..48).prop_map(|b| Term::ByteList(Bytes::from(b))),
        pid(),
    ]
}

/// Terms the encoder accepts, in the form the decoder returns them.
pub fn term() -> impl Strategy<Value = Term> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        let not_a_list = inner
            .clone()
            .prop_filter("a list tail continues the list", |t| {
                !matches!(
                    t,
                    Term::List(_) | Term::ByteList(_) | Term::ImproperList { .. }
                )
            });
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Term::Tuple),
            vec(inner.clone(), 0..8).prop_map(Term::List),
            (vec(inner, 1..4), not_a_list).prop_map(|(items, tail)| Term::ImproperList {
                items,
                tail: Box::new(tail)
            }),
        ]
    })
}
