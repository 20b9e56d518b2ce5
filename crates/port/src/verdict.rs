//! What a worker's answer means for the hook chain. EMQX 4.1's mapping, with its gaps filled the
//! way a hook author expects:
//!
//! | Answer | Meaning |
//! |---|---|
//! | `ok`, `undefined` (Python `None`, Java `null`/`void`) | no decision ([`Verdict::Ignore`]) |
//! | `(0, true/false)` for `client_authenticate` / `client_check_acl` | decision; ends the chain |
//! | `(0, (redirect, Reference))` / `(0, (moved, Reference))` for `client_authenticate` | refuse and send the client to another server (hookmq) |
//! | `(0, (allow, Terms))` / `(0, (deny, Code[, Terms]))` for `client_authenticate` | let in with CONNACK terms, or refuse with a code and texts (hookmq): see `connack_answer.rs` |
//! | `(0, MessageProplist)` for `message_publish` | rewrite `topic`, `payload`, `qos`; ends the chain |
//! | `(0, false)` for `message_publish` | drop the message (hookmq's Java SDK convention) |
//! | `(0, true)` for `message_publish` | keep the message as it is (no decision) |
//! | `(0, consume)`, `(0, hold)`, `retain`/`properties` in a message, `(0, Filters)` for `client_subscribe` | modify rights: see `rights_answer.rs` |
//! | `(1, Reason)`, an error reply, anything else | a failed call: `failed_action` applies |
//!
//! Notification hooks ignore the answer; only an error reply counts as a failure there.

use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{QoS, TopicName};
use hookmq_hooks::{Event, HookError, HookPoint, Message, Redirect, Value, Verdict};

use crate::error::ReplyError;
use crate::etf::Term;

/// Longest rendering of a term in an error message.
const MAX_SHOWN: usize = 300;

/// The verdict for the `result` of a call at `point`; `message` is the message a
/// `message_publish` call was about.
pub fn verdict(
    point: HookPoint,
    result: &Term,
    message: Option<&Arc<Message>>,
) -> Result<Verdict, HookError> {
    if matches!(result.as_atom(), Some("ok" | "undefined")) {
        return Ok(Verdict::Ignore);
    }
    let decision = match result.as_tuple() {
        Some([code, value]) if code.as_int() == Some(0) => value,
        Some([code, reason]) if code.as_int() == Some(1) => {
            return Err(HookError::Failed(format!(
                "the hook returned an error: {}",
                shown(reason)
            )));
        }
        // Notifications ignore what they answer; so does `client.subscribe` (a notification
        // in EMQX's port SDKs) unless it answers `(0, Filters)`.
        _ if !matches!(point.kind(), hookmq_hooks::PointKind::Valued)
            || point == HookPoint::ClientSubscribe =>
        {
            return Ok(Verdict::Ignore);
        }
        _ => return Err(unexpected(point, result)),
    };
    match point {
        HookPoint::ClientAuthenticate if decision.as_tuple().is_some() => {
            match crate::connack_answer::login(decision) {
                Some(Ok(value)) => Ok(Verdict::Stop(value)),
                Some(Err(why)) => Err(match unexpected(point, result) {
                    HookError::BadReply(text) => HookError::BadReply(format!("{text} ({why})")),
                    other => other,
                }),
                None => redirect(decision)
                    .map(|r| Verdict::Stop(Value::Redirect(r)))
                    .ok_or_else(|| unexpected(point, result)),
            }
        }
        HookPoint::ClientAuthenticate | HookPoint::ClientAuthorize => decision
            .as_bool()
            .map(|b| Verdict::Stop(Value::Allow(b)))
            .ok_or_else(|| unexpected(point, result)),
        HookPoint::ClientEnhancedAuthenticate => crate::auth_answer::enhanced_auth(decision)
            .map(Verdict::Stop)
            .map_err(|why| match unexpected(point, result) {
                HookError::BadReply(text) => HookError::BadReply(format!("{text} ({why})")),
                other => other,
            }),
        HookPoint::MessagePublish if crate::rights_answer::is_consume(decision) => {
            Ok(Verdict::Stop(Value::Consume))
        }
        HookPoint::MessagePublish if let Some(held) = crate::rights_answer::hold(decision) => {
            let Some(returned) = held else {
                return Ok(Verdict::Stop(Value::Hold(None)));
            };
            let original = message.ok_or_else(|| unexpected(point, result))?;
            rewrite(original, returned)
                .map(|m| Verdict::Stop(Value::Hold(Some(Arc::new(m)))))
                .map_err(HookError::from)
        }
        HookPoint::MessagePublish => match decision.as_bool() {
            Some(false) => Ok(Verdict::Stop(Value::Drop)),
            Some(true) => Ok(Verdict::Ignore),
            None => {
                let original = message.ok_or_else(|| unexpected(point, result))?;
                rewrite(original, decision)
                    .map(|m| Verdict::Stop(Value::Message(Arc::new(m))))
                    .map_err(HookError::from)
            }
        },
        _ => Ok(Verdict::Ignore),
    }
}

/// The verdict for the `result` of a call about `event`: [`verdict`], and for
/// `client_subscribe` a `(0, [Filter, ...])` answer read against the event's filters.
pub fn event_verdict(event: &Event, result: &Term) -> Result<Verdict, HookError> {
    if let Event::ClientSubscribe { filters, .. } = event
        && let Some([code, decision]) = result.as_tuple()
        && code.as_int() == Some(0)
        && decision.as_list().is_some()
    {
        return crate::rights_answer::filters(decision, filters)
            .map(|f| Verdict::Stop(Value::Filters(f)))
            .map_err(|why| HookError::BadReply(format!("client_subscribe returned {why}")));
    }
    verdict(event.point(), result, event.message())
}

/// `(redirect | moved, Reference)`: a redirection; the Server Reference may be any text term.
fn redirect(decision: &Term) -> Option<Redirect> {
    let [kind, reference] = decision.as_tuple()? else {
        return None;
    };
    let moved = match kind.as_atom()? {
        "redirect" => false,
        "moved" => true,
        _ => return None,
    };
    let reference = reference.as_text()?;
    (!reference.is_empty()).then(|| Redirect {
        server_reference: reference.into(),
        moved,
    })
}

fn unexpected(point: HookPoint, result: &Term) -> HookError {
    let expected = match point {
        HookPoint::MessagePublish => {
            "None/ok, (0, Message), (0, False) to drop, (0, consume), (0, hold) or (0, (hold, \
             Message))"
        }
        HookPoint::ClientAuthenticate => {
            "None/ok, (0, True|False), (0, (allow, Terms)), (0, (deny, Code[, Terms])) or (0, \
             (redirect|moved, Reference))"
        }
        HookPoint::ClientEnhancedAuthenticate => {
            "None/ok, (0, True|False), or (0, (continue, Data[, State]) | (success, Data[, \
             Superuser]) | (failure, Code[, ReasonString]))"
        }
        _ => "None/ok or (0, True|False)",
    };
    HookError::BadReply(format!(
        "{} returned {}; expected {expected}",
        point.port_name(),
        shown(result)
    ))
}

/// `original` with the `topic`, `payload` and `qos` of a returned message (a proplist or a map;
/// keys as atoms, or as text; other keys ignored, as in EMQX).
pub fn rewrite(original: &Message, returned: &Term) -> Result<Message, ReplyError> {
    let pairs: Vec<(&Term, &Term)> = if let Some(items) = returned.as_list() {
        items
            .iter()
            .map(|item| match item.as_tuple() {
                Some([k, v]) => Ok((k, v)),
                _ => Err(ReplyError::NotAPair { item: shown(item) }),
            })
            .collect::<Result<_, _>>()?
    } else if let Some(entries) = returned.as_map() {
        entries.iter().map(|(k, v)| (k, v)).collect()
    } else {
        return Err(ReplyError::NotAMessage {
            returned: shown(returned),
        });
    };
    let mut out = original.clone();
    for (key, value) in pairs {
        match key.as_text().as_deref() {
            Some("topic") => {
                let topic = string(value).ok_or_else(|| ReplyError::TopicNotText {
                    value: shown(value),
                })?;
                out.topic = TopicName::new(topic.clone())
                    .map_err(|source| ReplyError::BadTopic { topic, source })?;
            }
            Some("payload") => {
                out.payload = match value {
                    Term::Binary(b) => b.clone(),
                    other => {
                        Bytes::from(string(other).ok_or_else(|| ReplyError::PayloadNotBytes {
                            value: shown(value),
                        })?)
                    }
                };
            }
            Some("qos") => {
                out.qos = value
                    .as_int()
                    .and_then(|q| u8::try_from(q).ok())
                    .and_then(QoS::from_u8)
                    .ok_or_else(|| ReplyError::BadQos {
                        value: shown(value),
                    })?;
            }
            Some(other) => {
                crate::rights_answer::message_entry(&mut out, other, value)
                    .map_err(|why| ReplyError::Invalid { why })?;
            }
            None => {}
        }
    }
    Ok(out)
}

/// Text from a binary (must be UTF-8) or a charlist.
fn string(value: &Term) -> Option<String> {
    match value {
        Term::Binary(b) => std::str::from_utf8(b).ok().map(str::to_owned),
        Term::Atom(_) => None,
        other => other.as_charlist_string(),
    }
}

/// The readable text of an error reply: Python's traceback (or `Class: message`), Java's stack
/// trace, or the term itself.
pub fn error_text(error: &Term) -> String {
    match error {
        Term::Binary(b) => String::from_utf8_lossy(b).trim_end().to_owned(),
        Term::Tuple(parts) => match parts.as_slice() {
            [lang, class, message, trace] if lang.as_atom() == Some("python") => {
                let trace = trace.as_bytes().map(|b| String::from_utf8_lossy(b));
                match trace {
                    Some(t) if !t.trim().is_empty() => without_lookup_context(&t).to_owned(),
                    _ => format!(
                        "{}: {}",
                        class.as_text().unwrap_or_default(),
                        message.as_text().unwrap_or_default()
                    ),
                }
            }
            _ => shown(error),
        },
        other => shown(other),
    }
}

/// The line of an error text that names the exception: the last line of a Python traceback,
/// the first line of a Java stack trace.
pub fn summary(text: &str) -> &str {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = if text.starts_with("Traceback") {
        lines.next_back()
    } else {
        lines.next()
    };
    line.unwrap_or_default()
}

/// A Python traceback without the runtime's own function-cache miss that Python chains in front
/// of an import error ("During handling of the above exception ..."), which says nothing about
/// the user's code.
fn without_lookup_context(trace: &str) -> &str {
    const CHAIN: &str = "\nDuring handling of the above exception, another exception occurred:\n";
    let trace = trace.trim_end();
    match trace.split_once(CHAIN) {
        Some((first, rest))
            if first
                .trim_end()
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("KeyError: (Atom("))
                && first.contains("erlport/erlang.py") =>
        {
            rest.trim_start()
        }
        _ => trace,
    }
}

/// A term in Erlang notation, cut to a readable length.
pub fn shown(term: &Term) -> String {
    let mut s = term.to_string();
    if s.len() > MAX_SHOWN {
        let mut cut = MAX_SHOWN;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Arc<Message> {
        Arc::new(Message::new(
            "c".into(),
            TopicName::new("t/1").unwrap(),
            Bytes::from_static(b"p"),
            QoS::AtLeastOnce,
            true,
        ))
    }

    fn ok(v: Term) -> Term {
        Term::tuple([Term::Int(0), v])
    }

    #[test]
    fn authenticate_can_redirect() {
        fn answer(kind: &'static str, reference: &[u8]) -> Term {
            ok(Term::tuple([
                Term::atom(kind),
                Term::Binary(Bytes::copy_from_slice(reference)),
            ]))
        }
        let point = HookPoint::ClientAuthenticate;
        assert_eq!(
            verdict(point, &answer("moved", b"b:1883"), None),
            Ok(Verdict::Stop(Value::Redirect(Redirect {
                server_reference: "b:1883".into(),
                moved: true,
            })))
        );
        assert!(matches!(
            verdict(point, &answer("redirect", b"b"), None),
            Ok(Verdict::Stop(Value::Redirect(Redirect {
                moved: false,
                ..
            })))
        ));
        for bad in [answer("elsewhere", b"b"), answer("moved", b"")] {
            assert!(matches!(
                verdict(point, &bad, None),
                Err(HookError::BadReply(_))
            ));
        }
        // Only authentication redirects.
        assert!(verdict(HookPoint::ClientAuthorize, &answer("moved", b"b"), None).is_err());
    }

    #[test]
    fn no_decision_and_decisions() {
        for point in HookPoint::ALL {
            assert_eq!(verdict(point, &Term::atom("ok"), None), Ok(Verdict::Ignore));
            assert_eq!(
                verdict(point, &Term::undefined(), None),
                Ok(Verdict::Ignore)
            );
        }
        for point in [HookPoint::ClientAuthenticate, HookPoint::ClientAuthorize] {
            assert_eq!(
                verdict(point, &ok(Term::bool(false)), None),
                Ok(Verdict::Stop(Value::Allow(false)))
            );
            assert_eq!(
                verdict(point, &ok(Term::bool(true)), None),
                Ok(Verdict::Stop(Value::Allow(true)))
            );
            assert!(matches!(
                verdict(point, &Term::bool(true), None),
                Err(HookError::BadReply(_))
            ));
            assert!(matches!(
                verdict(point, &ok(Term::Int(1)), None),
                Err(HookError::BadReply(_))
            ));
        }
        let err = verdict(
            HookPoint::ClientConnected,
            &Term::tuple([Term::Int(1), Term::atom("nope")]),
            None,
        );
        assert!(matches!(err, Err(HookError::Failed(m)) if m.contains("nope")));
        assert_eq!(
            verdict(HookPoint::ClientConnected, &Term::Int(5), None),
            Ok(Verdict::Ignore)
        );
    }

    #[test]
    fn publish_rewrites_drops_and_keeps() {
        let m = msg();
        let p = HookPoint::MessagePublish;
        assert_eq!(
            verdict(p, &ok(Term::bool(false)), Some(&m)),
            Ok(Verdict::Stop(Value::Drop))
        );
        assert_eq!(
            verdict(p, &ok(Term::bool(true)), Some(&m)),
            Ok(Verdict::Ignore)
        );
        let returned = Term::list([
            Term::tuple([Term::atom("node"), Term::atom("n")]),
            Term::tuple([Term::atom("topic"), Term::binary("t/2")]),
            Term::tuple([
                Term::ByteList(Bytes::from_static(b"payload")),
                Term::ByteList(Bytes::from_static(b"x")),
            ]),
            Term::tuple([Term::atom("qos"), Term::Int(2)]),
        ]);
        let Ok(Verdict::Stop(Value::Message(out))) = verdict(p, &ok(returned), Some(&m)) else {
            panic!()
        };
        assert_eq!(out.topic.as_str(), "t/2");
        assert_eq!(&out.payload[..], b"x");
        assert_eq!(out.qos, QoS::ExactlyOnce);
        assert_eq!((out.id, out.retain, &out.from), (m.id, true, &m.from));
        let map = Term::Map(vec![(Term::atom("payload"), Term::binary("y"))]);
        assert!(
            matches!(verdict(p, &ok(map), Some(&m)), Ok(Verdict::Stop(Value::Message(x))) if &x.payload[..] == b"y")
        );
        for bad in [
            Term::list([Term::tuple([Term::atom("topic"), Term::binary("a/#")])]),
            Term::list([Term::tuple([Term::atom("topic"), Term::binary("")])]),
            Term::list([Term::tuple([Term::atom("qos"), Term::Int(3)])]),
            Term::list([Term::Int(1)]),
            Term::Int(7),
        ] {
            assert!(
                matches!(
                    verdict(p, &ok(bad.clone()), Some(&m)),
                    Err(HookError::BadReply(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn error_replies_read_as_text() {
        let py = Term::tuple([
            Term::atom("python"),
            Term::atom("builtins.ValueError"),
            Term::ByteList(Bytes::from_static(b"boom")),
            Term::binary("Traceback (most recent call last):\nValueError: boom\n"),
        ]);
        assert_eq!(
            error_text(&py),
            "Traceback (most recent call last):\nValueError: boom"
        );
        let bare = Term::tuple([
            Term::atom("python"),
            Term::atom("builtins.ValueError"),
            Term::ByteList(Bytes::from_static(b"boom")),
            Term::binary(""),
        ]);
        assert_eq!(error_text(&bare), "builtins.ValueError: boom");
        let chained = "Traceback (most recent call last):\n  File \"/r/erlport/erlang.py\", line 202, \
            in _answer\nKeyError: (Atom(b'main'), Atom(b'init'))\n\nDuring handling of the above \
            exception, another exception occurred:\n\nTraceback (most recent call last):\n\
            ModuleNotFoundError: No module named 'main'\n";
        let py = Term::tuple([
            Term::atom("python"),
            Term::atom("builtins.ModuleNotFoundError"),
            Term::nil(),
            Term::binary(chained),
        ]);
        assert_eq!(
            error_text(&py),
            "Traceback (most recent call last):\nModuleNotFoundError: No module named 'main'"
        );
        assert_eq!(
            error_text(&Term::binary(
                "java.lang.RuntimeException: x\n\tat A.b(A.java:1)\n"
            )),
            "java.lang.RuntimeException: x\n\tat A.b(A.java:1)"
        );
        assert!(shown(&Term::binary(vec![b'a'; 1000])).ends_with("..."));
        assert_eq!(
            summary("Traceback (most recent call last):\n  x\nValueError: boom\n"),
            "ValueError: boom"
        );
        assert_eq!(
            summary("java.lang.IllegalStateException: no\n\tat A.b(A.java:1)\n"),
            "java.lang.IllegalStateException: no"
        );
    }
}
