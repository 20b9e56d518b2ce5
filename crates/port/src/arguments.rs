//! The arguments of each hook call: an [`Event`] written as the Erlang terms EMQX 4.1's
//! `emqx_extension_hook` sent, with the same keys in the same order, so the Python SDK
//! (`emqx-extension-sdk`) and EMQX-style Java handlers (which check exact lengths) read them
//! unchanged. The driver calls [`put_hook_arguments`] for every hook call, which writes the
//! argument list straight into the outgoing frame (no term tree is built), with the worker's
//! `State` last.
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
//!
//! In hookmq's batched mode ([`Form::Values`]) conninfo, clientinfo and message travel as tuples
//! of their values; the runtime zips them with the keys of [`shapes`] back into the same
//! proplists, so hook code sees exactly what it always saw, for fewer bytes and less decoding.

use std::io::Write as _;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use hookmq_codec::{Properties, Property, SubscriptionOptions, TopicFilter};
use hookmq_hooks::{ClientInfo, ConnInfo, Event, HookPoint, Message, SubscriptionInfo};

use crate::etf::{
    self, Atom, EtfError, RawTerm, Term, put_atom, put_binary, put_int, put_tuple_header,
    put_word_big, tag,
};

/// The keys of conninfo, in EMQX's order.
pub const CONNINFO_KEYS: [&str; 8] = [
    "node",
    "clientid",
    "username",
    "peerhost",
    "sockport",
    "proto_name",
    "proto_ver",
    "keepalive",
];

/// The keys of clientinfo, in EMQX's order.
pub const CLIENTINFO_KEYS: [&str; 10] = [
    "node",
    "clientid",
    "username",
    "password",
    "peerhost",
    "sockport",
    "protocol",
    "mountpoint",
    "is_superuser",
    "anonymous",
];

/// The keys of a message, in EMQX's order.
pub const MESSAGE_KEYS: [&str; 7] = ["node", "id", "qos", "from", "topic", "payload", "timestamp"];

/// How conninfo, clientinfo and messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// As proplists `[{Key, Value}, ...]`: what EMQX sent, and what every call carries in the
    /// one-call-per-frame mode.
    Proplist,
    /// As tuples of their values `{Value, ...}` (hookmq's batched mode); [`shapes`] gives the
    /// keys the runtime puts back.
    Values,
}

/// How one argument travels in [`Form::Values`]: as itself (`None`), or as a tuple of values
/// for these keys.
pub type Shape = Option<&'static [&'static str]>;

const CONN: Shape = Some(&CONNINFO_KEYS);
const CLIENT: Shape = Some(&CLIENTINFO_KEYS);
const MESSAGE: Shape = Some(&MESSAGE_KEYS);

/// The shape of each argument of `point`'s calls (without the trailing `State`).
pub fn shapes(point: HookPoint) -> &'static [Shape] {
    match point {
        HookPoint::ClientConnect => &[CONN, None],
        HookPoint::ClientConnack => &[CONN, None, None],
        HookPoint::ClientConnected
        | HookPoint::SessionCreated
        | HookPoint::SessionResumed
        | HookPoint::SessionDiscarded
        | HookPoint::SessionTakenover => &[CLIENT],
        HookPoint::ClientDisconnected
        | HookPoint::SessionTerminated
        | HookPoint::ClientAuthenticate
        | HookPoint::SessionUnsubscribed => &[CLIENT, None],
        HookPoint::ClientAuthorize => &[CLIENT, None, None, None],
        HookPoint::ClientSubscribe
        | HookPoint::ClientUnsubscribe
        | HookPoint::SessionSubscribed => &[CLIENT, None, None],
        HookPoint::MessagePublish => &[MESSAGE],
        HookPoint::MessageDelivered | HookPoint::MessageAcked => &[CLIENT, MESSAGE],
        HookPoint::MessageDropped => &[MESSAGE, None],
        HookPoint::ClientEnhancedAuthenticate => &[CLIENT, None, None, None, None],
    }
}

/// Writes the argument list of the call for `event`, `[Arg, ..., State]` (without `State` when
/// `state` is `None`). `node` is the broker's node name as an atom (messages carry no node of
/// their own). On error `buf` holds a partial list.
pub fn put_hook_arguments(
    buf: &mut BytesMut,
    event: &Event,
    node: &Atom,
    form: Form,
    state: Option<&RawTerm>,
) -> Result<(), EtfError> {
    let count = shapes(event.point()).len() + usize::from(state.is_some());
    buf.put_u8(tag::LIST);
    buf.put_u32(count as u32); // at most 5
    let w = Writer { node, form };
    match event {
        Event::ClientConnect { conninfo: c, props } => {
            w.conninfo(buf, c)?;
            put_properties(buf, props)?;
        }
        Event::ClientConnack {
            conninfo: c,
            result,
            props,
        } => {
            w.conninfo(buf, c)?;
            put_atom(buf, result.name())?;
            put_properties(buf, props)?;
        }
        Event::ClientConnected { clientinfo: c, .. }
        | Event::SessionCreated { clientinfo: c }
        | Event::SessionResumed { clientinfo: c }
        | Event::SessionDiscarded { clientinfo: c }
        | Event::SessionTakenover { clientinfo: c } => w.clientinfo(buf, c)?,
        Event::ClientDisconnected {
            clientinfo: c,
            reason,
            ..
        }
        | Event::SessionTerminated {
            clientinfo: c,
            reason,
        } => {
            w.clientinfo(buf, c)?;
            put_binary(buf, reason.as_bytes())?;
        }
        Event::ClientAuthenticate {
            clientinfo: c,
            result,
            ..
        } => {
            w.clientinfo(buf, c)?;
            put_bool(buf, result.is_allowed());
        }
        Event::ClientAuthorize {
            clientinfo: c,
            action,
            topic,
            result,
        } => {
            w.clientinfo(buf, c)?;
            put_atom(buf, action.name())?;
            put_binary(buf, topic.as_bytes())?;
            put_bool(buf, *result);
        }
        Event::ClientSubscribe {
            clientinfo: c,
            props,
            filters,
        } => {
            w.clientinfo(buf, c)?;
            put_properties(buf, props)?;
            let pairs = filters.iter().map(|(f, o)| (f, o.qos.as_u8()));
            put_filter_list(buf, filters.len(), pairs)?;
        }
        Event::ClientUnsubscribe {
            clientinfo: c,
            props,
            filters,
        } => {
            w.clientinfo(buf, c)?;
            put_properties(buf, props)?;
            put_filter_list(buf, filters.len(), filters.iter().map(|f| (f, 0)))?;
        }
        Event::SessionSubscribed {
            clientinfo: c,
            filter,
            info,
        } => {
            w.clientinfo(buf, c)?;
            put_binary(buf, filter.real_filter().as_bytes())?;
            put_subscription_options(buf, filter, info)?;
        }
        Event::SessionUnsubscribed {
            clientinfo: c,
            filter,
        } => {
            w.clientinfo(buf, c)?;
            put_binary(buf, filter.real_filter().as_bytes())?;
        }
        Event::MessagePublish { message } => w.message(buf, message)?,
        Event::MessageDelivered {
            clientinfo: c,
            message,
        }
        | Event::MessageAcked {
            clientinfo: c,
            message,
        } => {
            w.clientinfo(buf, c)?;
            w.message(buf, message)?;
        }
        Event::MessageDropped { message, reason } => {
            w.message(buf, message)?;
            put_binary(buf, reason.name().as_bytes())?;
        }
        // hookmq's own point: (ClientInfo, Method, Data, Step, ExchangeState), absent data and
        // state as `undefined` (Python `None`).
        Event::ClientEnhancedAuthenticate {
            clientinfo: c,
            method,
            data,
            step,
            state: exchange,
            ..
        } => {
            w.clientinfo(buf, c)?;
            put_binary(buf, method.as_bytes())?;
            put_opt_binary(buf, data.as_deref())?;
            put_atom(buf, step.name())?;
            put_opt_binary(buf, exchange.as_deref())?;
        }
    }
    if let Some(state) = state {
        buf.put_slice(state.as_bytes());
    }
    buf.put_u8(tag::NIL);
    Ok(())
}

/// The arguments of the call for `event` as terms, in the proplist form (without `State`):
/// what [`put_hook_arguments`] writes, read back. For tests and tools.
pub fn hook_arguments(event: &Event, node: &Atom) -> Result<Vec<Term>, EtfError> {
    let mut buf = BytesMut::new();
    buf.put_u8(etf::VERSION);
    put_hook_arguments(&mut buf, event, node, Form::Proplist, None)?;
    match etf::decode(&buf.freeze())? {
        Term::List(items) => Ok(items),
        _ => Ok(Vec::new()),
    }
}

/// Writes the structured arguments in one [`Form`].
struct Writer<'a> {
    node: &'a Atom,
    form: Form,
}

/// The entries of one structured argument: a proplist, or a tuple of the values.
struct Entries<'a> {
    buf: &'a mut BytesMut,
    keys: &'static [&'static str],
    next: usize,
    form: Form,
}

impl<'a> Entries<'a> {
    fn start(
        buf: &'a mut BytesMut,
        form: Form,
        keys: &'static [&'static str],
    ) -> Result<Self, EtfError> {
        match form {
            Form::Proplist => {
                buf.put_u8(tag::LIST);
                buf.put_u32(keys.len() as u32); // at most 10
            }
            Form::Values => put_tuple_header(buf, keys.len())?,
        }
        Ok(Entries {
            buf,
            keys,
            next: 0,
            form,
        })
    }

    /// Where the next value goes (after its key, in a proplist).
    fn value(&mut self) -> Result<&mut BytesMut, EtfError> {
        let key = self.keys.get(self.next).copied().unwrap_or_default();
        self.next += 1;
        if self.form == Form::Proplist {
            put_tuple_header(self.buf, 2)?;
            put_atom(self.buf, key)?;
        }
        Ok(self.buf)
    }

    fn finish(self) {
        debug_assert_eq!(self.next, self.keys.len(), "{:?}", self.keys);
        if self.form == Form::Proplist {
            self.buf.put_u8(tag::NIL);
        }
    }
}

impl Writer<'_> {
    fn conninfo(&self, buf: &mut BytesMut, c: &ConnInfo) -> Result<(), EtfError> {
        let mut e = Entries::start(buf, self.form, &CONNINFO_KEYS)?;
        put_atom(e.value()?, self.node.as_str())?;
        put_binary(e.value()?, c.clientid.as_bytes())?;
        put_opt_text(e.value()?, &c.username)?;
        put_peerhost(e.value()?, c.peer.ip());
        put_int(e.value()?, i64::from(c.sockport));
        put_binary(e.value()?, c.protocol.name().as_bytes())?;
        put_int(e.value()?, i64::from(c.protocol.level()));
        put_int(e.value()?, i64::from(c.keepalive));
        e.finish();
        Ok(())
    }

    fn clientinfo(&self, buf: &mut BytesMut, c: &ClientInfo) -> Result<(), EtfError> {
        let mut e = Entries::start(buf, self.form, &CLIENTINFO_KEYS)?;
        put_atom(e.value()?, self.node.as_str())?;
        put_binary(e.value()?, c.clientid.as_bytes())?;
        put_opt_text(e.value()?, &c.username)?;
        put_binary(e.value()?, c.password.as_deref().unwrap_or_default())?;
        put_peerhost(e.value()?, c.peer.ip());
        put_int(e.value()?, i64::from(c.sockport));
        put_atom(e.value()?, "mqtt")?;
        put_opt_text(e.value()?, &c.mountpoint)?;
        put_bool(e.value()?, c.is_superuser);
        put_bool(e.value()?, c.anonymous);
        e.finish();
        Ok(())
    }

    fn message(&self, buf: &mut BytesMut, m: &Message) -> Result<(), EtfError> {
        let mut e = Entries::start(buf, self.form, &MESSAGE_KEYS)?;
        put_atom(e.value()?, self.node.as_str())?;
        put_message_id(e.value()?, m);
        put_int(e.value()?, i64::from(m.qos.as_u8()));
        put_binary(e.value()?, m.from.as_bytes())?;
        put_binary(e.value()?, m.topic.as_str().as_bytes())?;
        put_binary(e.value()?, &m.payload)?;
        put_word_big(e.value()?, false, m.timestamp_ms);
        e.finish();
        Ok(())
    }
}

fn put_bool(buf: &mut BytesMut, value: bool) {
    // Cannot fail: both names are short.
    let _ = put_atom(buf, if value { "true" } else { "false" });
}

/// A binary, or the atom `undefined` when absent.
fn put_opt_binary(buf: &mut BytesMut, bytes: Option<&[u8]>) -> Result<(), EtfError> {
    match bytes {
        Some(b) => put_binary(buf, b),
        None => put_atom(buf, "undefined"),
    }
}

fn put_opt_text(buf: &mut BytesMut, text: &Option<ByteString>) -> Result<(), EtfError> {
    put_binary(buf, text.as_ref().map_or(&b""[..], |t| t.as_bytes()))
}

/// `peerhost` as text, IPv4-mapped addresses as IPv4, written without an intermediate string.
fn put_peerhost(buf: &mut BytesMut, ip: std::net::IpAddr) {
    let ip = match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    };
    write_binary(buf, |w| write!(w, "{ip}"));
}

/// The message id as 32 uppercase hex digits, like EMQX's GUIDs.
fn put_message_id(buf: &mut BytesMut, m: &Message) {
    write_binary(buf, |w| write!(w, "{}", m.id));
}

/// A binary whose bytes `text` writes; the length is patched in afterwards.
fn write_binary(
    buf: &mut BytesMut,
    text: impl FnOnce(&mut bytes::buf::Writer<&mut BytesMut>) -> std::io::Result<()>,
) {
    buf.put_u8(tag::BINARY);
    let at = buf.len();
    buf.put_u32(0);
    // Writing into a BytesMut cannot fail.
    let _ = text(&mut buf.writer());
    let len = (buf.len() - at - 4) as u32; // an address or an id: a few dozen bytes
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// `client_subscribe`'s `[{Filter, QoS}]` (filters as the client sent them) and
/// `client_unsubscribe`'s `[{Filter, 0}]`.
fn put_filter_list<'a>(
    buf: &mut BytesMut,
    len: usize,
    filters: impl Iterator<Item = (&'a TopicFilter, u8)>,
) -> Result<(), EtfError> {
    if len > 0 {
        buf.put_u8(tag::LIST);
        buf.put_u32(u32::try_from(len).map_err(|_| EtfError::TooLong { what: "list", len })?);
        for (filter, qos) in filters {
            put_tuple_header(buf, 2)?;
            put_binary(buf, filter.as_bytestring().as_bytes())?;
            put_int(buf, i64::from(qos));
        }
    }
    buf.put_u8(tag::NIL);
    Ok(())
}

/// `session_subscribed`'s options, sorted by key: `is_new, nl, qos, rap, rh`, then `share`
/// (the group of a `$share/group/filter`) and `subid` when present.
fn put_subscription_options(
    buf: &mut BytesMut,
    filter: &TopicFilter,
    info: &SubscriptionInfo,
) -> Result<(), EtfError> {
    etf::put_term(buf, &subscription_options(filter, info))
}

/// The options of [`put_subscription_options`] as a term.
pub(crate) fn subscription_options(filter: &TopicFilter, info: &SubscriptionInfo) -> Term {
    let o: &SubscriptionOptions = &info.options;
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

/// MQTT 5 properties as a proplist sorted by name; `[]` when there are none (the usual case,
/// written without building anything).
fn put_properties(buf: &mut BytesMut, props: &Properties) -> Result<(), EtfError> {
    if props.iter().next().is_none() {
        buf.put_u8(tag::NIL);
        return Ok(());
    }
    etf::put_term(buf, &properties(props))
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

fn text(s: &ByteString) -> Term {
    Term::Binary(s.as_bytes().clone())
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
