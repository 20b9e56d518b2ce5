//! What a worker's `init()` answers: `(0, (HookSpecs, State))`, each spec
//! `(HookName, Module, Function)` or `(HookName, Module, Function, Options)`, names as strings
//! (charlists from Python and Java; binaries and atoms accepted too). hookmq maps the names with
//! [`HookPoint::from_name`] and keeps `State` as the exact bytes received, to append to every
//! call.
//!
//! Topic filters for message hooks come from `Options`: `[{topics, [Filter, ...]}]` (the key an
//! atom or a string), or — what the Python SDK's `start(topics=[...])` sends — a bare list of
//! filters. EMQX 4.1 accepted these but never filtered; hookmq filters. Filters on other hooks
//! are ignored (the SDK puts the same list on every hook). `{observe, true}` in `Options` makes
//! the hook observe-only (hookmq's Python decorator and Java annotation send it).

use hookmq_codec::TopicError;
use hookmq_hooks::{HookPoint, PointSpec};

use crate::etf::{Atom, EtfError, RawTerm, Term};
use crate::verdict::shown;

/// Where a hook's calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookTarget {
    /// The module (Python module, Java class).
    pub module: Atom,
    /// The function (dotted for the Python SDK: `emqx_hook.on_client_connect`).
    pub function: Atom,
}

/// A parsed `init()` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct InitReply {
    /// The call target of each hook point (indexed by [`HookPoint::index`]).
    pub targets: [Option<HookTarget>; HookPoint::COUNT],
    /// The points to register, with their topic filters, in the order of the specs.
    pub points: Vec<PointSpec>,
    /// The worker's state, appended verbatim to every call.
    pub state: RawTerm,
    /// Specs that were ignored and why.
    pub warnings: Vec<String>,
}

/// The tail of every hook spec problem: what a spec looks like.
const SPEC_FORM: &str = "expected (hook_name, module, function[, options])";

/// Why a worker's `init()` answer cannot be used. Terms are shown in Erlang notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// Not `(0, (HookSpecs, State))`.
    #[error("init() returned {returned}; expected (0, (hook_specs, state))")]
    Unexpected {
        /// The answer.
        returned: String,
    },
    /// `(1, Reason)`.
    #[error("init() returned an error: {reason}")]
    Refused {
        /// The reason.
        reason: String,
    },
    /// The state's bytes cannot be taken out of the answer.
    #[error("init() returned an unreadable state: {source}")]
    State {
        /// The cause.
        #[source]
        source: EtfError,
    },
    /// The hook specs are not a list.
    #[error("init() returned hook specs {specs}; expected a list")]
    SpecsNotList {
        /// The specs.
        specs: String,
    },
    /// A spec of the wrong shape.
    #[error("init() returned the hook spec {spec}: {why}; {SPEC_FORM}")]
    BadSpec {
        /// The spec.
        spec: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A spec whose hook name, module or function is not a name.
    #[error("init() returned the hook spec {spec}: the {what} is not a name; {SPEC_FORM}")]
    NotAName {
        /// The spec.
        spec: String,
        /// `hook name`, `module` or `function`.
        what: &'static str,
    },
    /// A spec whose options name an invalid topic filter.
    #[error(
        "init() returned the hook spec {spec}: {filter:?} is not a valid topic filter: \
             {source}; {SPEC_FORM}"
    )]
    BadFilter {
        /// The spec.
        spec: String,
        /// The filter.
        filter: String,
        /// Why it is invalid.
        #[source]
        source: TopicError,
    },
    /// A hook name hookmq does not know.
    #[error(
        "init() returned the unknown hook name {name:?} (known: {})",
        known_hooks()
    )]
    UnknownHook {
        /// The name.
        name: String,
    },
}

fn known_hooks() -> String {
    let known: Vec<&str> = HookPoint::ALL.iter().map(|p| p.port_name()).collect();
    known.join(", ")
}

/// Reads `result` (whose bytes are `raw`), the answer of `init()`.
pub fn parse_init(result: &Term, raw: &RawTerm) -> Result<InitReply, InitError> {
    let unexpected = || InitError::Unexpected {
        returned: shown(result),
    };
    let (specs, _) = match result.as_tuple() {
        Some([code, body]) if code.as_int() == Some(0) => match body.as_tuple() {
            Some([specs, state]) => (specs, state),
            _ => return Err(unexpected()),
        },
        Some([code, reason]) if code.as_int() == Some(1) => {
            return Err(InitError::Refused {
                reason: shown(reason),
            });
        }
        _ => return Err(unexpected()),
    };
    let state = raw
        .element(1)
        .and_then(|body| body.element(1))
        .map_err(|source| InitError::State { source })?;
    let list = specs.as_list().ok_or_else(|| InitError::SpecsNotList {
        specs: shown(specs),
    })?;
    let mut reply = InitReply {
        targets: Default::default(),
        points: Vec::new(),
        state,
        warnings: Vec::new(),
    };
    for spec in list {
        let (point, target, options) = parse_spec(spec)?;
        if reply.targets[point.index()].is_some() {
            reply.warnings.push(format!(
                "a second spec for {} ignored: {}",
                point.port_name(),
                shown(spec)
            ));
            continue;
        }
        reply.targets[point.index()] = Some(target);
        let topics = if point.is_message() {
            options.topics
        } else {
            Vec::new()
        };
        reply.points.push(PointSpec {
            point,
            topics,
            observe: options.observe,
        });
    }
    if reply.points.is_empty() {
        reply
            .warnings
            .push("init() registered no hook: the driver will receive no calls".into());
    }
    Ok(reply)
}

/// What a spec's options say.
#[derive(Default)]
struct SpecOptions {
    topics: Vec<String>,
    observe: bool,
}

fn parse_spec(spec: &Term) -> Result<(HookPoint, HookTarget, SpecOptions), InitError> {
    let (name, module, function, options) = match spec.as_tuple() {
        Some([n, m, f]) => (n, m, f, None),
        Some([n, m, f, o]) => (n, m, f, Some(o)),
        _ => return Err(bad_spec(spec, "not a 3- or 4-tuple")),
    };
    let text = |t: &Term, what: &'static str| -> Result<String, InitError> {
        match t.as_text() {
            Some(s) if !s.is_empty() && s.len() <= 255 => Ok(s),
            _ => Err(InitError::NotAName {
                spec: shown(spec),
                what,
            }),
        }
    };
    let name = text(name, "hook name")?;
    let point = HookPoint::from_name(&name).ok_or(InitError::UnknownHook { name })?;
    let target = HookTarget {
        module: Atom::new(&text(module, "module")?),
        function: Atom::new(&text(function, "function")?),
    };
    let options = match options {
        Some(o) => spec_options(spec, o)?,
        None => SpecOptions::default(),
    };
    Ok((point, target, options))
}

fn bad_spec(spec: &Term, why: &'static str) -> InitError {
    InitError::BadSpec {
        spec: shown(spec),
        why,
    }
}

/// The topic filters and the observe flag in the options of `spec`.
fn spec_options(spec: &Term, options: &Term) -> Result<SpecOptions, InitError> {
    let mut filters = Vec::new();
    let mut observe = false;
    let items: Vec<&Term> = match options.as_list() {
        Some(items) => items.iter().collect(),
        None if filter_text(options).is_some() => vec![options],
        None => return Err(bad_spec(spec, "the options are not a list")),
    };
    for item in items {
        match item.as_tuple() {
            Some([key, value]) if key.as_text().as_deref() == Some("topics") => {
                let list: Vec<&Term> = match value.as_list() {
                    Some(l) => l.iter().collect(),
                    None => vec![value],
                };
                for f in list {
                    let f = filter_text(f);
                    filters.push(f.ok_or_else(|| bad_spec(spec, "a topic filter is not text"))?);
                }
            }
            Some([key, value]) if key.as_text().as_deref() == Some("observe") => {
                observe = value
                    .as_bool()
                    .ok_or_else(|| bad_spec(spec, "observe is neither true nor false"))?;
            }
            Some(_) => {}
            None => filters.push(filter_text(item).ok_or_else(|| {
                bad_spec(
                    spec,
                    "an option is neither {topics, [...]} nor a topic filter",
                )
            })?),
        }
    }
    for f in &filters {
        hookmq_codec::topic::validate_filter(f).map_err(|source| InitError::BadFilter {
            spec: shown(spec),
            filter: f.clone(),
            source,
        })?;
    }
    Ok(SpecOptions {
        topics: filters,
        observe,
    })
}

fn filter_text(t: &Term) -> Option<String> {
    match t {
        Term::Binary(_) | Term::ByteList(_) => t.as_text(),
        Term::List(items) if !items.is_empty() => t.as_charlist_string(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn chars(s: &'static str) -> Term {
        Term::ByteList(Bytes::from_static(s.as_bytes()))
    }

    fn reply(specs: Vec<Term>) -> (Term, RawTerm) {
        let t = Term::tuple([
            Term::Int(0),
            Term::tuple([Term::List(specs), Term::tuple([])]),
        ]);
        let raw = RawTerm::encode(&t).unwrap();
        (t, raw)
    }

    #[test]
    fn the_sdk_reply_maps_names_and_keeps_the_state() {
        let (t, raw) = reply(vec![
            Term::tuple([
                chars("client_connect"),
                chars("hooks"),
                chars("emqx_hook.on_client_connect"),
                Term::nil(),
            ]),
            Term::tuple([
                chars("client_check_acl"),
                chars("hooks"),
                chars("emqx_hook.on_client_check_acl"),
                Term::nil(),
            ]),
            Term::tuple([
                chars("message_publish"),
                chars("hooks"),
                chars("emqx_hook.on_message_publish"),
                Term::list([chars("t/#")]),
            ]),
            Term::tuple([
                Term::binary("session_takeovered"),
                Term::atom("Mod"),
                Term::atom("f"),
            ]),
        ]);
        let r = parse_init(&t, &raw).unwrap();
        assert_eq!(r.state.as_bytes().as_ref(), &[0x68, 0x00]);
        let points: Vec<_> = r.points.iter().map(|p| p.point).collect();
        assert_eq!(
            points,
            [
                HookPoint::ClientConnect,
                HookPoint::ClientAuthorize,
                HookPoint::MessagePublish,
                HookPoint::SessionTakenover
            ]
        );
        assert_eq!(r.points[2].topics, ["t/#"]);
        let acl = r.targets[HookPoint::ClientAuthorize.index()]
            .as_ref()
            .unwrap();
        assert_eq!(acl.module, "hooks");
        assert_eq!(acl.function, "emqx_hook.on_client_check_acl");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn topics_option_and_filters_on_other_hooks() {
        let opts = Term::list([Term::tuple([
            Term::atom("topics"),
            Term::list([Term::binary("a/+"), chars("b/#")]),
        ])]);
        let (t, raw) = reply(vec![
            Term::tuple([chars("message_acked"), chars("M"), chars("f"), opts.clone()]),
            Term::tuple([chars("client_connected"), chars("M"), chars("g"), opts]),
            Term::tuple([chars("message_acked"), chars("M"), chars("h")]),
        ]);
        let r = parse_init(&t, &raw).unwrap();
        assert_eq!(r.points[0].topics, ["a/+", "b/#"]);
        assert!(r.points[1].topics.is_empty());
        assert!(!r.points[0].observe);
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn the_observe_option_marks_a_hook_observe_only() {
        let observe = |v: Term| Term::tuple([Term::atom("observe"), v]);
        let (t, raw) = reply(vec![
            Term::tuple([
                chars("message_publish"),
                chars("M"),
                chars("f"),
                Term::list([
                    observe(Term::bool(true)),
                    Term::tuple([Term::atom("topics"), Term::list([Term::binary("x/#")])]),
                ]),
            ]),
            Term::tuple([
                chars("client_connected"),
                chars("M"),
                chars("g"),
                Term::list([Term::tuple([chars("observe"), Term::bool(true)])]),
            ]),
            Term::tuple([
                chars("client_check_acl"),
                chars("M"),
                chars("h"),
                Term::list([observe(Term::bool(false))]),
            ]),
        ]);
        let r = parse_init(&t, &raw).unwrap();
        let flags: Vec<bool> = r.points.iter().map(|p| p.observe).collect();
        assert_eq!(flags, [true, true, false]);
        assert_eq!(r.points[0].topics, ["x/#"]);
        let (t, raw) = reply(vec![Term::tuple([
            chars("message_acked"),
            chars("M"),
            chars("f"),
            Term::list([observe(Term::Int(1))]),
        ])]);
        let err = parse_init(&t, &raw).unwrap_err().to_string();
        assert!(err.contains("observe is neither true nor false"), "{err}");
    }

    #[test]
    fn bad_replies_say_why() {
        let (t, raw) = reply(vec![Term::tuple([
            chars("client_foo"),
            chars("m"),
            chars("f"),
        ])]);
        let err = parse_init(&t, &raw).unwrap_err().to_string();
        assert!(err.contains("unknown hook name \"client_foo\""), "{err}");
        let (t, raw) = reply(vec![Term::tuple([
            chars("message_publish"),
            chars("m"),
            chars("f"),
            Term::list([chars("a/#/b")]),
        ])]);
        assert!(
            parse_init(&t, &raw)
                .unwrap_err()
                .to_string()
                .contains("not a valid topic filter")
        );
        let none = Term::undefined();
        let err = parse_init(&none, &RawTerm::encode(&none).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("returned undefined; expected"), "{err}");
        let e = Term::tuple([Term::Int(1), Term::atom("no_db")]);
        let err = parse_init(&e, &RawTerm::encode(&e).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("error: no_db"), "{err}");
    }
}
