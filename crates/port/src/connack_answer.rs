//! `client_authenticate` answers with CONNACK terms (issue 13), read by `verdict.rs`. Tags and
//! keys may be atoms or text, since a Python `str` travels as a charlist
//! (`hookmq_port.login_allow` / `login_refuse` build them; Java: `ConnackTerms`).
//!
//! | Answer | Meaning |
//! |---|---|
//! | `(0, (allow, Terms))` | let the client in on `Terms` |
//! | `(0, (deny, Code))`, `(0, (deny, Code, Terms))` | refuse with the CONNACK code `Code`; an MQTT 5 client also gets `Terms`' `reason_string` and `user_properties` |
//!
//! `Terms` is a proplist or a map with any of: `superuser` (boolean), `expire_at` (seconds
//! since the Unix epoch: the client is disconnected then), `reason_string` (text),
//! `user_properties` (a list of `{Name, Value}` or a map), `session_expiry_interval`
//! (0–4294967295), `server_keep_alive` (0–65535), `maximum_qos` (0–2), `receive_maximum`
//! (1–65535), `assigned_client_id` (text); `undefined` (Python `None`) means unset. A number
//! out of its range or an unknown key is a bad reply; the chain then checks the values
//! (`hookmq_hooks::check_connack_terms`).

use hookmq_codec::ReasonCode;
use hookmq_hooks::{Grant, Refusal, UserProperty, Value};

use crate::etf::Term;
use crate::rights_answer::{pairs, text};
use crate::verdict::shown;

/// The value of `(allow, Terms)` or `(deny, Code[, Terms])`; `None` for another tuple (a
/// redirection, read by `verdict.rs`).
pub(crate) fn login(decision: &Term) -> Option<Result<Value, String>> {
    let [tag, rest @ ..] = decision.as_tuple()? else {
        return None;
    };
    Some(match (tag.as_text()?.as_str(), rest) {
        ("allow", [terms]) => grant(terms).map(Value::Grant),
        ("deny", [code]) => refusal(code, None).map(Value::Refuse),
        ("deny", [code, terms]) => refusal(code, Some(terms)).map(Value::Refuse),
        ("allow" | "deny", _) => Err("wrong arity".into()),
        _ => return None,
    })
}

fn grant(terms: &Term) -> Result<Grant, String> {
    let mut grant = Grant::default();
    let t = &mut grant.connack;
    for (key, value) in pairs(terms)? {
        let key = key
            .as_text()
            .ok_or_else(|| format!("key {} is not text", shown(key)))?;
        if value.as_atom() == Some("undefined") {
            continue;
        }
        match key.as_str() {
            "superuser" => {
                grant.superuser = value
                    .as_bool()
                    .ok_or_else(|| format!("superuser {} is not a boolean", shown(value)))?;
            }
            "expire_at" => {
                grant.expire_at_ms = Some(number::<u64>(&key, value)?.saturating_mul(1000))
            }
            "reason_string" => t.reason_string = Some(text(&key, value)?),
            "user_properties" | "user_property" => t.user_properties = users(value)?,
            "session_expiry_interval" => t.session_expiry_interval = Some(number(&key, value)?),
            "server_keep_alive" => t.server_keep_alive = Some(number(&key, value)?),
            "maximum_qos" => t.maximum_qos = Some(number(&key, value)?),
            "receive_maximum" => t.receive_maximum = Some(number(&key, value)?),
            "assigned_client_id" => t.assigned_client_id = Some(text(&key, value)?),
            other => return Err(format!("unknown CONNACK term {other:?}")),
        }
    }
    Ok(grant)
}

fn refusal(code: &Term, terms: Option<&Term>) -> Result<Refusal, String> {
    let code = code
        .as_int()
        .and_then(|c| u8::try_from(c).ok())
        .ok_or_else(|| format!("reason code {} is not a byte", shown(code)))?;
    let mut refusal = Refusal::new(ReasonCode(code));
    let Some(terms) = terms else {
        return Ok(refusal);
    };
    for (key, value) in pairs(terms)? {
        let key = key
            .as_text()
            .ok_or_else(|| format!("key {} is not text", shown(key)))?;
        if value.as_atom() == Some("undefined") {
            continue;
        }
        match key.as_str() {
            "reason_string" => refusal.reason_string = Some(text(&key, value)?),
            "user_properties" | "user_property" => refusal.user_properties = users(value)?,
            other => return Err(format!("{other:?} cannot go with a refusal")),
        }
    }
    Ok(refusal)
}

fn users(value: &Term) -> Result<Vec<UserProperty>, String> {
    pairs(value)?
        .into_iter()
        .map(|(k, v)| {
            Ok(UserProperty {
                name: text("a user property name", k)?,
                value: text("a user property value", v)?,
            })
        })
        .collect()
}

/// An integer that fits `T`, or why not.
fn number<T: TryFrom<i64>>(key: &str, value: &Term) -> Result<T, String> {
    value
        .as_int()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("{key} {} is not a number in range", shown(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hookmq_hooks::ConnackTerms;

    fn t(items: Vec<Term>) -> Term {
        Term::Tuple(items)
    }

    fn kv(k: &'static str, v: Term) -> Term {
        t(vec![Term::atom(k), v])
    }

    fn bin(s: &'static str) -> Term {
        Term::Binary(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn allow_with_terms_and_deny_with_texts() {
        let terms = Term::List(vec![
            kv("superuser", Term::bool(true)),
            kv("reason_string", bin("welcome")),
            kv(
                "user_properties",
                Term::List(vec![t(vec![bin("tier"), bin("gold")])]),
            ),
            kv("session_expiry_interval", Term::Int(300)),
            kv("server_keep_alive", Term::Int(20)),
            kv("maximum_qos", Term::Int(1)),
            kv("receive_maximum", Term::Int(5)),
            kv("assigned_client_id", bin("tenant/d")),
            kv("expire_at", Term::undefined()),
        ]);
        let Some(Ok(Value::Grant(g))) = login(&t(vec![Term::atom("allow"), terms])) else {
            panic!("not a grant")
        };
        assert!(g.superuser);
        assert_eq!(
            *g.connack,
            ConnackTerms {
                reason_string: Some("welcome".into()),
                user_properties: vec![UserProperty::new("tier", "gold")],
                session_expiry_interval: Some(300),
                server_keep_alive: Some(20),
                maximum_qos: Some(1),
                receive_maximum: Some(5),
                assigned_client_id: Some("tenant/d".into()),
            }
        );
        let deny = t(vec![
            Term::ByteList(Bytes::from_static(b"deny")),
            Term::Int(0x8A),
            Term::List(vec![kv("reason_string", bin("banned"))]),
        ]);
        assert_eq!(
            login(&deny),
            Some(Ok(Value::Refuse(Refusal {
                code: ReasonCode::BANNED,
                reason_string: Some("banned".into()),
                user_properties: Vec::new(),
            })))
        );
        // Not ours: a redirection.
        assert_eq!(login(&t(vec![Term::atom("redirect"), bin("h:1883")])), None);
    }

    #[test]
    fn numbers_out_of_range_and_unknown_keys_are_bad_replies() {
        for (k, v) in [
            ("server_keep_alive", Term::Int(65_536)),
            ("session_expiry_interval", Term::Int(-1)),
            ("maximum_qos", Term::Int(300)),
            ("receive_maximum", Term::Int(70_000)),
            ("assigned_client_id", Term::Int(1)),
            ("client_id", bin("x")),
        ] {
            let answer = t(vec![Term::atom("allow"), Term::List(vec![kv(k, v)])]);
            assert!(matches!(login(&answer), Some(Err(_))), "{k}");
        }
        let wider = t(vec![
            Term::atom("deny"),
            Term::Int(0x87),
            Term::List(vec![kv("maximum_qos", Term::Int(1))]),
        ]);
        assert!(matches!(login(&wider), Some(Err(_))));
        assert!(matches!(
            login(&t(vec![Term::atom("deny"), Term::Int(300)])),
            Some(Err(_))
        ));
    }
}
