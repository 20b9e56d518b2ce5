//! What a worker's answer to `client_enhanced_authenticate` means (called by `verdict.rs`).
//! hookmq's own point, so the terms are hookmq's; tags may be atoms or text, since a Python
//! `str` travels as a charlist (`hookmq_port.auth_continue` and friends build them):
//!
//! | Answer | Meaning |
//! |---|---|
//! | `(0, (continue, Data))`, `(0, (continue, Data, State))` | AUTH 0x18 with `Data`; `State` comes back at the next step |
//! | `(0, (success, Data))`, `(0, (success, Data, Superuser))` | let the client in, final `Data` |
//! | `(0, True)` | let the client in, no data |
//! | `(0, (failure, Code))`, `(0, (failure, Code, ReasonString))` | refuse with `Code` (a CONNACK refusal code) |
//! | `(0, False)` | refuse with 0x87 |
//!
//! `Data` and `State` are binaries, text (UTF-8) or `undefined` (Python `None`).

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{PacketType, ReasonCode};
use hookmq_hooks::{EnhancedAuth, Grant, Value};

use crate::etf::Term;

/// Longest Reason String taken from a worker.
const MAX_REASON_STRING: usize = 256;

/// The value of a decision (the `Value` of `(0, Value)`), or why it is not one.
pub(crate) fn enhanced_auth(decision: &Term) -> Result<Value, String> {
    if let Some(b) = decision.as_bool() {
        return Ok(Value::Allow(b));
    }
    let Some([tag, rest @ ..]) = decision.as_tuple() else {
        return Err("not a tuple".into());
    };
    let tag = tag.as_text().ok_or("the tag is not text")?;
    let answer = match (tag.as_str(), rest) {
        ("continue", [data]) => EnhancedAuth::Continue {
            data: bytes(data)?,
            state: None,
        },
        ("continue", [data, state]) => EnhancedAuth::Continue {
            data: bytes(data)?,
            state: bytes(state)?,
        },
        ("success", [data]) => EnhancedAuth::Success {
            data: bytes(data)?,
            grant: Grant::default(),
        },
        ("success", [data, superuser]) => EnhancedAuth::Success {
            data: bytes(data)?,
            grant: Grant {
                superuser: superuser.as_bool().ok_or("superuser is not a boolean")?,
                ..Grant::default()
            },
        },
        ("failure", [code]) => EnhancedAuth::Failure {
            reason: refusal(code)?,
            reason_string: None,
        },
        ("failure", [code, text]) => EnhancedAuth::Failure {
            reason: refusal(code)?,
            reason_string: match text.as_atom() {
                Some("undefined") => None,
                _ => {
                    let text = text.as_text().ok_or("the reason string is not text")?;
                    Some(ByteString::from(
                        text.chars().take(MAX_REASON_STRING).collect::<String>(),
                    ))
                }
            },
        },
        _ => return Err(format!("unknown answer {tag:?} or wrong arity")),
    };
    Ok(Value::EnhancedAuth(answer))
}

/// Data or state: a binary, text, or `undefined`.
fn bytes(term: &Term) -> Result<Option<Bytes>, String> {
    if term.as_atom() == Some("undefined") {
        return Ok(None);
    }
    if let Some(b) = term.as_bytes() {
        return Ok(Some(b.clone()));
    }
    term.as_charlist_string()
        .map(|s| Some(Bytes::from(s.into_bytes())))
        .ok_or_else(|| "data is not a binary, text or undefined".into())
}

/// A refusal code CONNACK can carry ([MQTT-3.2.2-8], 0x80 or above).
fn refusal(code: &Term) -> Result<ReasonCode, String> {
    code.as_int()
        .and_then(|c| u8::try_from(c).ok())
        .map(ReasonCode)
        .filter(|r| !r.is_success() && r.allowed_in(PacketType::ConnAck))
        .ok_or_else(|| "the reason code is not a CONNACK refusal code".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(items: Vec<Term>) -> Term {
        Term::Tuple(items)
    }

    fn bin(b: &'static [u8]) -> Term {
        Term::Binary(Bytes::from_static(b))
    }

    #[test]
    fn each_answer_and_its_value() {
        assert_eq!(
            enhanced_auth(&t(vec![Term::atom("continue"), bin(b"d"), bin(b"s")])),
            Ok(Value::EnhancedAuth(EnhancedAuth::Continue {
                data: Some(Bytes::from_static(b"d")),
                state: Some(Bytes::from_static(b"s")),
            }))
        );
        // A Python str tag arrives as a charlist.
        assert_eq!(
            enhanced_auth(&t(vec![
                Term::ByteList(Bytes::from_static(b"success")),
                Term::undefined(),
                Term::bool(true),
            ])),
            Ok(Value::EnhancedAuth(EnhancedAuth::Success {
                data: None,
                grant: Grant {
                    superuser: true,
                    ..Grant::default()
                },
            }))
        );
        assert_eq!(
            enhanced_auth(&t(vec![
                Term::atom("failure"),
                Term::Int(0x86),
                bin(b"bad proof"),
            ])),
            Ok(Value::EnhancedAuth(EnhancedAuth::Failure {
                reason: ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                reason_string: Some("bad proof".into()),
            }))
        );
        assert_eq!(enhanced_auth(&Term::bool(false)), Ok(Value::Allow(false)));
    }

    #[test]
    fn bad_answers_are_refused() {
        for bad in [
            // Not a CONNACK refusal code: success, a PUBACK-only code, out of range.
            t(vec![Term::atom("failure"), Term::Int(0)]),
            t(vec![Term::atom("failure"), Term::Int(0x91)]),
            t(vec![Term::atom("failure"), Term::Int(300)]),
            t(vec![Term::atom("continue")]),
            t(vec![Term::atom("continue"), Term::Int(1)]),
            t(vec![Term::atom("success"), bin(b""), Term::Int(1)]),
            t(vec![Term::atom("maybe"), bin(b"")]),
            Term::Int(0),
        ] {
            assert!(enhanced_auth(&bad).is_err(), "{bad}");
        }
    }
}
