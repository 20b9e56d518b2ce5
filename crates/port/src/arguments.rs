//! The arguments of each hook call: an [`Event`] as the Erlang terms EMQX 4.1's
//! `emqx_extension_hook` sent, with the same keys in the same order, so the Python SDK
//! (`emqx-extension-sdk`) and EMQX-style Java handlers (which check exact lengths) read them
//! unchanged. The driver appends the worker's `State` after these.
//!
//! - conninfo: 8 entries `node, clientid, username, peerhost, sockport, proto_name, proto_ver,
//!   keepalive`; clientinfo: 10 entries `node, clientid, username, password, peerhost, sockport,
//!   protocol, mountpoint, is_superuser, anonymous` (the password only in `client_authenticate`);
//!   message: 7 entries `node, id, qos, from, topic, payload, timestamp`.
//! - Absent text is `<<>>`; booleans and `node`/`protocol` are atoms; `peerhost` is text; the
//!   timestamp is always a SMALL_BIG (the Java SDK reads it as a `BigInteger`).
//! - MQTT 5 properties: a proplist `[{'Session-Expiry-Interval', 60}, ...]` sorted by name (as
//!   Erlang's `maps:to_list` gives), user properties gathered as `{'User-Property', [{K, V}]}`.
//! - Where EMQX 4.1 had a bug, hookmq sends what a hook author expects: `client_unsubscribe`
//!   gets the filters as `[{Filter, 0}]` (EMQX sent `[]`).

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{Properties, Property, SubscriptionOptions, TopicFilter};
use hookmq_hooks::{ClientInfo, ConnInfo, Event, Message, SubscriptionInfo};

use crate::etf::{Atom, Term};

/// The arguments of the call for `event` (without the trailing `State`). `node` is the broker's
/// node name as an atom (messages carry no node of their own).
pub fn hook_arguments(event: &Event, node: &Atom) -> Vec<Term> {
    let ci = |c: &ClientInfo| clientinfo(c, node);
    match event {
        Event::ClientConnect { conninfo: c, props } => vec![conninfo(c, node), properties(props)],
        Event::ClientConnack {
            conninfo: c,
            result,
            props,
        } => vec![
            conninfo(c, node),
            Term::atom(result.name()),
            properties(props),
        ],
        Event::ClientConnected { clientinfo: c, .. }
        | Event::SessionCreated { clientinfo: c }
        | Event::SessionResumed { clientinfo: c }
        | Event::SessionDiscarded { clientinfo: c }
        | Event::SessionTakenover { clientinfo: c } => vec![ci(c)],
        Event::ClientDisconnected {
            clientinfo: c,
            reason,
            ..
        }
        | Event::SessionTerminated {
            clientinfo: c,
            reason,
        } => vec![ci(c), text(reason)],
        Event::ClientAuthenticate {
            clientinfo: c,
            result,
        } => vec![ci(c), Term::bool(result.is_allowed())],
        Event::ClientAuthorize {
            clientinfo: c,
            action,
            topic,
            result,
        } => vec![
            ci(c),
            Term::atom(action.name()),
            text(topic),
            Term::bool(*result),
        ],
        Event::ClientSubscribe {
            clientinfo: c,
            props,
            filters,
        } => vec![ci(c), properties(props), subscribe_filters(filters)],
        Event::ClientUnsubscribe {
            clientinfo: c,
            props,
            filters,
        } => {
            let list = filters
                .iter()
                .map(|f| Term::tuple([text(f.as_bytestring()), Term::Int(0)]));
            vec![ci(c), properties(props), Term::list(list)]
        }
        Event::SessionSubscribed {
            clientinfo: c,
            filter,
            info,
        } => vec![
            ci(c),
            Term::binary(Bytes::copy_from_slice(filter.real_filter().as_bytes())),
            subscription_options(filter, info),
        ],
        Event::SessionUnsubscribed {
            clientinfo: c,
            filter,
        } => vec![
            ci(c),
            Term::binary(Bytes::copy_from_slice(filter.real_filter().as_bytes())),
        ],
        Event::MessagePublish { message } => vec![message_term(message, node)],
        Event::MessageDelivered {
            clientinfo: c,
            message,
        }
        | Event::MessageAcked {
            clientinfo: c,
            message,
        } => vec![ci(c), message_term(message, node)],
        Event::MessageDropped { message, reason } => vec![
            message_term(message, node),
            Term::binary(Bytes::from_static(reason.name().as_bytes())),
        ],
    }
}

fn text(s: &ByteString) -> Term {
    Term::Binary(s.as_bytes().clone())
}

fn opt_text(s: &Option<ByteString>) -> Term {
    s.as_ref().map_or_else(|| Term::binary(Bytes::new()), text)
}

/// `conninfo()`: 8 entries.
pub fn conninfo(c: &ConnInfo, node: &Atom) -> Term {
    Term::proplist([
        ("node", Term::Atom(node.clone())),
        ("clientid", text(&c.clientid)),
        ("username", opt_text(&c.username)),
        ("peerhost", Term::binary(c.peerhost())),
        ("sockport", Term::Int(i64::from(c.sockport))),
        ("proto_name", Term::binary(c.protocol.name())),
        ("proto_ver", Term::Int(i64::from(c.protocol.level()))),
        ("keepalive", Term::Int(i64::from(c.keepalive))),
    ])
}

/// `clientinfo()`: 10 entries.
pub fn clientinfo(c: &ClientInfo, node: &Atom) -> Term {
    Term::proplist([
        ("node", Term::Atom(node.clone())),
        ("clientid", text(&c.clientid)),
        ("username", opt_text(&c.username)),
        (
            "password",
            Term::Binary(c.password.clone().unwrap_or_default()),
        ),
        ("peerhost", Term::binary(c.peerhost())),
        ("sockport", Term::Int(i64::from(c.sockport))),
        ("protocol", Term::atom("mqtt")),
        ("mountpoint", opt_text(&c.mountpoint)),
        ("is_superuser", Term::bool(c.is_superuser)),
        ("anonymous", Term::bool(c.anonymous)),
    ])
}

/// `message()`: 7 entries.
pub fn message_term(m: &Message, node: &Atom) -> Term {
    Term::proplist([
        ("node", Term::Atom(node.clone())),
        ("id", Term::binary(m.id.to_string())),
        ("qos", Term::Int(i64::from(m.qos.as_u8()))),
        ("from", text(&m.from)),
        ("topic", text(m.topic.as_bytestring())),
        ("payload", Term::Binary(m.payload.clone())),
        ("timestamp", Term::timestamp_ms(m.timestamp_ms)),
    ])
}

/// `client_subscribe`'s `[{Filter, QoS}]`, filters as the client sent them.
fn subscribe_filters(filters: &[(TopicFilter, SubscriptionOptions)]) -> Term {
    Term::list(
        filters.iter().map(|(f, o)| {
            Term::tuple([text(f.as_bytestring()), Term::Int(i64::from(o.qos.as_u8()))])
        }),
    )
}

/// `session_subscribed`'s options, sorted by key: `is_new, nl, qos, rap, rh`, then `share`
/// (the group of a `$share/group/filter`) and `subid` when present.
fn subscription_options(filter: &TopicFilter, info: &SubscriptionInfo) -> Term {
    let o = &info.options;
    let mut pairs = vec![
        ("is_new", Term::bool(info.is_new)),
        ("nl", Term::Int(i64::from(o.no_local))),
        ("qos", Term::Int(i64::from(o.qos.as_u8()))),
        ("rap", Term::Int(i64::from(o.retain_as_published))),
        ("rh", Term::Int(o.retain_handling as i64)),
    ];
    if let Some(shared) = filter.shared() {
        pairs.push((
            "share",
            Term::binary(Bytes::copy_from_slice(shared.group.as_bytes())),
        ));
    }
    if let Some(id) = info.subscription_id {
        pairs.push(("subid", Term::Int(i64::from(id))));
    }
    Term::proplist(pairs)
}

/// MQTT 5 properties as a proplist sorted by name; `[]` when there are none.
pub fn properties(props: &Properties) -> Term {
    let mut pairs: Vec<(&'static str, Term)> = Vec::new();
    let mut user = Vec::new();
    for p in props.iter() {
        if let Property::UserProperty(k, v) = p {
            user.push(Term::tuple([text(k), text(v)]));
            continue;
        }
        let name = p.id().name();
        if !pairs.iter().any(|(n, _)| *n == name) {
            pairs.push((name, property_value(p)));
        }
    }
    if !user.is_empty() {
        pairs.push(("User-Property", Term::List(user)));
    }
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    Term::proplist(pairs.into_iter().map(|(n, v)| (Atom::from_static(n), v)))
}

fn property_value(p: &Property) -> Term {
    use Property::*;
    let int = |v: u32| Term::Int(i64::from(v));
    match p {
        PayloadFormatIndicator(v)
        | RequestProblemInformation(v)
        | RequestResponseInformation(v)
        | MaximumQos(v)
        | RetainAvailable(v)
        | WildcardSubscriptionAvailable(v)
        | SubscriptionIdentifierAvailable(v)
        | SharedSubscriptionAvailable(v) => int(u32::from(*v)),
        ServerKeepAlive(v) | ReceiveMaximum(v) | TopicAliasMaximum(v) | TopicAlias(v) => {
            int(u32::from(*v))
        }
        MessageExpiryInterval(v)
        | SubscriptionIdentifier(v)
        | SessionExpiryInterval(v)
        | WillDelayInterval(v)
        | MaximumPacketSize(v) => int(*v),
        ContentType(s)
        | ResponseTopic(s)
        | AssignedClientIdentifier(s)
        | AuthenticationMethod(s)
        | ResponseInformation(s)
        | ServerReference(s)
        | ReasonString(s) => text(s),
        CorrelationData(b) | AuthenticationData(b) => Term::Binary(b.clone()),
        UserProperty(k, v) => Term::tuple([text(k), text(v)]),
    }
}

#[cfg(test)]
#[path = "arguments_tests.rs"]
mod tests;
