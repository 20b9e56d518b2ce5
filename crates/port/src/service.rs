//! Broker services over the Erlang-port protocol: a worker's `{'C', Id, hookmq, Function, Args,
//! Context}` call decoded into a [`ServiceCall`], and the [`ServiceReply`] or [`ServiceError`]
//! encoded as the `{'r', Id, Result}` / `{'e', Id, Error}` answer. Python's `hookmq` module and
//! `erlang.call(Atom(b"hookmq"), ...)`, and the Java SDK's `Broker`, send these calls; the worker's
//! reader (`worker.rs`) hands them to a task of their own, so a call made from inside a hook
//! never holds up the pipe.
//!
//! Arguments are positional; options are a proplist (`[{qos, 1}, {retain, true}]`) or a map with
//! atom keys. Text is accepted as a binary, a charlist or an atom. Results are proplists with
//! atom keys (port peers take no maps); errors are `{hookmq, Code, Message, []}` with `Code` the error's stable name.

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{Properties, Property, QoS, ReasonCode, RetainHandling, SubscriptionOptions};
use hookmq_hooks::{
    AuthzTarget, ClientFilter, ClientSummary, Message, MessageId, Page, PublishRequest,
    ServiceCall, ServiceError, ServiceReply,
};

use crate::etf::{Atom, Term};

/// The module atom a worker calls for broker services.
pub(crate) const MODULE: &str = "hookmq";

/// Decodes a call to `hookmq:Function(Args)`; `parent_hops` is the hop count of the message
/// whose hook the worker is running (see [`hookmq_hooks::MAX_HOPS`]).
pub(crate) fn decode(
    function: &Term,
    args: &Term,
    parent_hops: u8,
) -> Result<ServiceCall, ServiceError> {
    let name = function
        .as_atom()
        .map(str::to_owned)
        .or_else(|| function.as_text())
        .unwrap_or_default();
    let args: &[Term] = match args {
        Term::List(items) => items,
        Term::ByteList(_) => {
            return Err(ServiceError::bad_argument(
                &name,
                "arguments must be a list",
            ));
        }
        t if t.is_nil() => &[],
        _ => {
            return Err(ServiceError::bad_argument(
                &name,
                "arguments must be a list",
            ));
        }
    };
    let a = Args { name: &name, args };
    let call = match name.as_str() {
        "publish" => {
            a.arity(2, 3)?;
            let opts = a.opt(2);
            let mut req = PublishRequest::new(a.text(0, "topic")?, a.bytes(1, "payload")?);
            req.qos = a.qos(opts, "qos")?.unwrap_or(QoS::AtMostOnce);
            req.retain = a.flag(opts, "retain")?.unwrap_or(false);
            req.through_hooks = a.flag(opts, "through_hooks")?.unwrap_or(false);
            req.properties = a.properties(opts)?;
            req.parent_hops = parent_hops;
            ServiceCall::Publish(req)
        }
        "kick" => {
            a.arity(1, 2)?;
            let reason = match a.args.get(1) {
                None => ReasonCode::ADMINISTRATIVE_ACTION,
                Some(t) => ReasonCode(
                    t.as_int()
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| a.bad("the reason code must be an integer 0..255"))?,
                ),
            };
            ServiceCall::Kick {
                clientid: a.text(0, "client id")?,
                reason,
            }
        }
        "subscribe" => {
            a.arity(2, 3)?;
            let opts = a.opt(2);
            let retain_handling = match a.int(opts, "retain_handling")? {
                None | Some(0) => RetainHandling::SendAtSubscribe,
                Some(1) => RetainHandling::SendIfNew,
                Some(2) => RetainHandling::DoNotSend,
                Some(_) => return Err(a.bad("retain_handling must be 0, 1 or 2")),
            };
            ServiceCall::Subscribe {
                clientid: a.text(0, "client id")?,
                filter: a.text(1, "filter")?,
                options: SubscriptionOptions {
                    qos: a.qos(opts, "qos")?.unwrap_or(QoS::AtMostOnce),
                    no_local: a.flag(opts, "no_local")?.unwrap_or(false),
                    retain_as_published: a.flag(opts, "retain_as_published")?.unwrap_or(false),
                    retain_handling,
                },
            }
        }
        "unsubscribe" => {
            a.arity(2, 2)?;
            ServiceCall::Unsubscribe {
                clientid: a.text(0, "client id")?,
                filter: a.text(1, "filter")?,
            }
        }
        "client" => {
            a.arity(1, 1)?;
            ServiceCall::Client {
                clientid: a.text(0, "client id")?,
            }
        }
        "clients" => {
            a.arity(0, 1)?;
            let opts = a.opt(0);
            let default = Page::default();
            let count = |key| -> Result<Option<usize>, ServiceError> {
                a.int(opts, key)?
                    .map(|n| usize::try_from(n).map_err(|_| a.bad(format!("{key} must be >= 0"))))
                    .transpose()
            };
            ServiceCall::Clients {
                filter: ClientFilter {
                    clientid_prefix: a.opt_text(opts, "clientid_prefix")?,
                    username: a.opt_text(opts, "username")?,
                    connected: a.flag(opts, "connected")?,
                },
                page: Page {
                    offset: count("offset")?.unwrap_or(default.offset),
                    limit: count("limit")?.unwrap_or(default.limit),
                },
            }
        }
        "session" => {
            a.arity(1, 1)?;
            ServiceCall::Session {
                clientid: a.text(0, "client id")?,
            }
        }
        "retained_get" => {
            a.arity(1, 1)?;
            ServiceCall::RetainedGet {
                topic: a.text(0, "topic")?,
            }
        }
        "retained_set" => {
            a.arity(2, 3)?;
            let opts = a.opt(2);
            ServiceCall::RetainedSet {
                topic: a.text(0, "topic")?,
                payload: a.bytes(1, "payload")?,
                qos: a.qos(opts, "qos")?.unwrap_or(QoS::AtMostOnce),
                properties: a.properties(opts)?,
            }
        }
        "retained_delete" => {
            a.arity(1, 1)?;
            ServiceCall::RetainedDelete {
                topic: a.text(0, "topic")?,
            }
        }
        "authz_cache_invalidate" => {
            a.arity(0, 1)?;
            match a.args.first() {
                None => ServiceCall::AuthzCacheInvalidate(AuthzTarget::All),
                Some(t) if t.as_atom() == Some("all") => {
                    ServiceCall::AuthzCacheInvalidate(AuthzTarget::All)
                }
                Some(_) => {
                    ServiceCall::AuthzCacheInvalidate(AuthzTarget::Client(a.text(0, "client id")?))
                }
            }
        }
        "metrics" => {
            a.arity(0, 0)?;
            ServiceCall::Metrics
        }
        "confirm" => {
            a.arity(1, 2)?;
            let id = a.text(0, "message id")?;
            let id = MessageId::parse(&id)
                .ok_or_else(|| a.bad(format!("{id:?} is not a message id (32 hex digits)")))?;
            let ok = match a.args.get(1) {
                None => true,
                Some(t) => t
                    .as_bool()
                    .ok_or_else(|| a.bad("ok must be true or false"))?,
            };
            ServiceCall::Confirm { id, ok }
        }
        _ => return Err(ServiceError::UnknownService(name)),
    };
    Ok(call)
}

/// The arguments of one call, with the checks that name the service in their errors.
struct Args<'a> {
    name: &'a str,
    args: &'a [Term],
}

impl<'a> Args<'a> {
    fn bad(&self, reason: impl Into<String>) -> ServiceError {
        ServiceError::bad_argument(self.name, reason)
    }

    fn arity(&self, min: usize, max: usize) -> Result<(), ServiceError> {
        let n = self.args.len();
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(self.bad(format!("takes {want} arguments, got {n}")));
        }
        Ok(())
    }

    fn text(&self, i: usize, what: &str) -> Result<String, ServiceError> {
        self.args
            .get(i)
            .and_then(Term::as_text)
            .ok_or_else(|| self.bad(format!("the {what} must be text (a binary or a string)")))
    }

    fn bytes(&self, i: usize, what: &str) -> Result<Bytes, ServiceError> {
        match self.args.get(i) {
            Some(Term::Binary(b) | Term::ByteList(b)) => Ok(b.clone()),
            Some(t) if t.is_nil() => Ok(Bytes::new()),
            Some(t) => t
                .as_charlist_string()
                .map(Bytes::from)
                .ok_or_else(|| self.bad(format!("the {what} must be a binary"))),
            None => Err(self.bad(format!("the {what} is missing"))),
        }
    }

    /// The options argument at `i` (an empty list when absent).
    fn opt(&self, i: usize) -> &'a Term {
        static NONE: Term = Term::List(Vec::new());
        self.args.get(i).unwrap_or(&NONE)
    }

    fn checked_opts(&self, opts: &Term) -> Result<(), ServiceError> {
        match opts {
            Term::List(_) | Term::Map(_) => Ok(()),
            t if t.is_nil() => Ok(()),
            _ => Err(self.bad("options must be a proplist or a map")),
        }
    }

    fn value<'t>(&self, opts: &'t Term, key: &str) -> Result<Option<&'t Term>, ServiceError> {
        self.checked_opts(opts)?;
        Ok(opts.get(key).filter(|t| t.as_atom() != Some("undefined")))
    }

    fn flag(&self, opts: &Term, key: &str) -> Result<Option<bool>, ServiceError> {
        self.value(opts, key)?
            .map(|t| {
                t.as_bool()
                    .ok_or_else(|| self.bad(format!("{key} must be true or false")))
            })
            .transpose()
    }

    fn int(&self, opts: &Term, key: &str) -> Result<Option<i64>, ServiceError> {
        self.value(opts, key)?
            .map(|t| {
                t.as_int()
                    .ok_or_else(|| self.bad(format!("{key} must be an integer")))
            })
            .transpose()
    }

    fn qos(&self, opts: &Term, key: &str) -> Result<Option<QoS>, ServiceError> {
        self.int(opts, key)?
            .map(|n| {
                u8::try_from(n)
                    .ok()
                    .and_then(QoS::from_u8)
                    .ok_or_else(|| self.bad(format!("{key} must be 0, 1 or 2")))
            })
            .transpose()
    }

    fn opt_text(&self, opts: &Term, key: &str) -> Result<Option<String>, ServiceError> {
        self.value(opts, key)?
            .map(|t| {
                t.as_text()
                    .ok_or_else(|| self.bad(format!("{key} must be text")))
            })
            .transpose()
    }

    /// MQTT 5 properties from the options: `user_properties` (a list of `{Name, Value}`),
    /// `content_type`, `response_topic`, `correlation_data`, `message_expiry_interval`,
    /// `payload_format_indicator`.
    fn properties(&self, opts: &Term) -> Result<Properties, ServiceError> {
        let mut props = Properties::default();
        if let Some(n) = self.int(opts, "payload_format_indicator")? {
            let n = u8::try_from(n)
                .ok()
                .filter(|n| *n <= 1)
                .ok_or_else(|| self.bad("payload_format_indicator must be 0 or 1"))?;
            props.push(Property::PayloadFormatIndicator(n));
        }
        if let Some(n) = self.int(opts, "message_expiry_interval")? {
            let n = u32::try_from(n)
                .map_err(|_| self.bad("message_expiry_interval must be 0..2^32-1"))?;
            props.push(Property::MessageExpiryInterval(n));
        }
        if let Some(t) = self.opt_text(opts, "content_type")? {
            props.push(Property::ContentType(t.into()));
        }
        if let Some(t) = self.opt_text(opts, "response_topic")? {
            hookmq_codec::topic::validate_name(&t)
                .map_err(|e| self.bad(format!("response_topic: {e}")))?;
            props.push(Property::ResponseTopic(t.into()));
        }
        if let Some(t) = self.value(opts, "correlation_data")? {
            let b = t
                .as_bytes()
                .ok_or_else(|| self.bad("correlation_data must be a binary"))?;
            props.push(Property::CorrelationData(b.clone()));
        }
        if let Some(list) = self.value(opts, "user_properties")? {
            let items = list
                .as_list()
                .ok_or_else(|| self.bad("user_properties must be a list of {Name, Value}"))?;
            for item in items {
                match item.as_tuple() {
                    Some([k, v]) => match (k.as_text(), v.as_text()) {
                        (Some(k), Some(v)) => props.push(Property::UserProperty(
                            ByteString::from(k),
                            ByteString::from(v),
                        )),
                        _ => return Err(self.bad("user property names and values must be text")),
                    },
                    _ => return Err(self.bad("user_properties must be a list of {Name, Value}")),
                }
            }
        }
        Ok(props)
    }
}

/// A proplist with atom keys (port peers take no maps: erlport 1.2's Java classes lack them).
fn map<const N: usize>(pairs: [(&str, Term); N]) -> Term {
    Term::List(
        pairs
            .into_iter()
            .map(|(k, v)| Term::tuple([Term::Atom(Atom::new(k)), v]))
            .collect(),
    )
}

fn opt_text(text: Option<&str>) -> Term {
    text.map_or_else(Term::undefined, |t| {
        Term::binary(Bytes::copy_from_slice(t.as_bytes()))
    })
}

fn text(t: &str) -> Term {
    Term::binary(Bytes::copy_from_slice(t.as_bytes()))
}

fn client(c: &ClientSummary) -> Term {
    map([
        ("clientid", text(&c.clientid)),
        ("username", opt_text(c.username.as_deref())),
        ("connected", Term::bool(c.connected)),
        ("peer", text(&c.peer)),
        ("proto_ver", Term::Int(i64::from(c.proto_ver))),
        ("expiry_interval", Term::Int(i64::from(c.expiry_interval))),
        ("created_at", Term::Int(c.created_at_ms as i64)),
    ])
}

fn message(m: &Message) -> Term {
    let user: Vec<Term> = m
        .properties
        .user_properties()
        .map(|(k, v)| Term::tuple([text(k), text(v)]))
        .collect();
    map([
        ("topic", text(m.topic.as_str())),
        ("payload", Term::binary(m.payload.clone())),
        ("qos", Term::Int(i64::from(m.qos.as_u8()))),
        ("retain", Term::bool(m.retain)),
        ("timestamp", Term::Int(m.timestamp_ms as i64)),
        ("user_properties", Term::list(user)),
    ])
}

/// The `{'r', Id, Result}` result of a reply.
pub(crate) fn encode_reply(reply: &ServiceReply) -> Term {
    match reply {
        ServiceReply::Published(r) => map([
            ("id", text(&r.id.to_string())),
            (
                "receivers",
                r.receivers
                    .map_or_else(Term::undefined, |n| Term::Int(n as i64)),
            ),
        ]),
        ServiceReply::Kicked | ServiceReply::RetainedSet | ServiceReply::Confirmed => {
            Term::atom("ok")
        }
        ServiceReply::Subscribed(qos) => Term::Int(i64::from(qos.as_u8())),
        ServiceReply::Removed(b) => Term::bool(*b),
        ServiceReply::Client(c) => client(c),
        ServiceReply::Clients(page) => map([
            ("clients", Term::list(page.clients.iter().map(client))),
            ("total", Term::Int(page.total as i64)),
        ]),
        ServiceReply::Session(s) => map([
            ("clientid", text(&s.clientid)),
            ("connected", Term::bool(s.connected)),
            (
                "subscriptions",
                Term::list(s.subscriptions.iter().map(|sub| {
                    map([
                        ("filter", text(&sub.filter)),
                        ("qos", Term::Int(i64::from(sub.options.qos.as_u8()))),
                        ("no_local", Term::bool(sub.options.no_local)),
                        (
                            "retain_as_published",
                            Term::bool(sub.options.retain_as_published),
                        ),
                        (
                            "retain_handling",
                            Term::Int(sub.options.retain_handling as i64),
                        ),
                    ])
                })),
            ),
            ("queue_len", Term::Int(s.queue_len as i64)),
            ("inflight", Term::Int(s.inflight as i64)),
            ("expiry_interval", Term::Int(i64::from(s.expiry_interval))),
        ]),
        ServiceReply::Retained(m) => m.as_deref().map_or_else(Term::undefined, message),
        ServiceReply::Invalidated(n) => Term::Int(*n as i64),
        ServiceReply::Metrics(all) => Term::List(
            all.iter()
                .map(|(k, v)| Term::tuple([Term::Atom(Atom::new(k)), Term::Int(*v)]))
                .collect(),
        ),
    }
}

/// The `{'e', Id, Error}` error of a refused call: `{hookmq, Code, Message, []}`, the shape
/// erlport's `ErlangError` splits into language, type, value and stack trace.
pub(crate) fn encode_error(error: &ServiceError) -> Term {
    Term::tuple([
        Term::atom(MODULE),
        Term::atom(error.code()),
        text(&error.to_string()),
        Term::nil(),
    ])
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
