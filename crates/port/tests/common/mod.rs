//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

pub mod peer;
pub mod strategies;

use bytes::{Bytes, BytesMut};
use hookmq_port::etf::{self, Term};

/// Bytes from hex digits, with whitespace ignored and `"text"` taken as ASCII, so vectors can be
/// written as the reference prints them: `68 04 6b 000e "client_connect"`.
pub fn hex(spec: &str) -> Bytes {
    let mut out = Vec::new();
    let mut digits = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.extend(chars.by_ref().take_while(|&c| c != '"').map(|c| c as u8)),
            c if c.is_ascii_hexdigit() => {
                digits.push(c);
                if digits.len() == 2 {
                    out.push(u8::from_str_radix(&digits, 16).unwrap());
                    digits.clear();
                }
            }
            c if c.is_whitespace() => {}
            c => panic!("unexpected {c:?} in hex spec"),
        }
    }
    assert!(digits.is_empty(), "odd number of hex digits in {spec:?}");
    Bytes::from(out)
}

/// `term` encoded with the version byte.
pub fn encoded(term: &Term) -> Bytes {
    let mut buf = BytesMut::new();
    etf::encode(term, &mut buf).unwrap();
    buf.freeze()
}

/// Decodes `131 ++ body`.
pub fn decode_body(body: &Bytes) -> Result<Term, etf::EtfError> {
    let mut input = BytesMut::from(&[etf::VERSION][..]);
    input.extend_from_slice(body);
    etf::decode(&input.freeze())
}
