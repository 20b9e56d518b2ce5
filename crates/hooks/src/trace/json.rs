//! The JSON form of events, answers and MQTT packets in trace records, and the way back from
//! JSON to an [`Event`] that `hookmq hooks replay` uses. Written by hand rather than derived so
//! the format stays stable and readable whatever the Rust types become; `docs/testing-hooks.md`
//! documents it field by field.
//!
//! Binary data (payloads, passwords, correlation data) is a JSON string when it is valid UTF-8
//! and `{"base64": "..."}` otherwise. Recorded passwords are replaced by `{"redacted": true}`,
//! which reads back as no password: a trace must never leak credentials.

use std::net::SocketAddr;
use std::sync::Arc;

use hookmq_codec::{
    Protocol, ReasonCode, RetainHandling, SubscriptionOptions, TopicFilter, TopicName,
};
use serde_json::{Value, json};

use crate::event::{Action, AuthResult, Event, SubscriptionInfo};
use crate::handler::{HookError, Value as HookValue, Verdict};
use crate::info::{ClientInfo, ConnInfo, Identity, NodeName, peerhost_text};
use crate::message::{DropReason, Message, MessageHeaders, MessageId};
use crate::point::HookPoint;

pub use super::fields::{JsonError, bin_to_json, properties_to_json};
use super::fields::{Obj, bad, properties_from};
pub use super::packet::packet_to_json;

fn protocol_json(p: Protocol) -> Value {
    json!(p.level())
}

/// A client as JSON; the password, if any, is redacted.
pub fn clientinfo_to_json(c: &ClientInfo) -> Value {
    json!({
        "node": c.node.as_str(),
        "clientid": c.clientid.as_ref() as &str,
        "username": c.username.as_deref(),
        "password": c.password.as_ref().map(|_| json!({"redacted": true})),
        "peerhost": peerhost_text(c.peer.ip()),
        "peerport": c.peer.port(),
        "sockport": c.sockport,
        "proto_ver": protocol_json(c.protocol),
        "mountpoint": c.mountpoint.as_deref(),
        "is_superuser": c.is_superuser,
        "anonymous": c.anonymous,
        "cn": c.cn.as_deref(),
        "dn": c.dn.as_deref(),
    })
}

pub(crate) fn clientinfo_from(o: &Obj<'_>) -> Result<Arc<ClientInfo>, JsonError> {
    Ok(Arc::new(ClientInfo {
        node: NodeName::new(o.str_or("node", NodeName::default().as_str())?.as_ref() as &str),
        clientid: o.str_or("clientid", "")?,
        username: o.str_opt("username")?,
        password: o.bin_opt("password")?,
        peer: SocketAddr::new(o.ip_or_local("peerhost")?, o.uint_or("peerport", 0)?),
        sockport: o.uint_or("sockport", 1883)?,
        protocol: o.protocol("proto_ver")?,
        mountpoint: o.str_opt("mountpoint")?,
        is_superuser: o.bool_or("is_superuser", false)?,
        anonymous: o.bool_or("anonymous", false)?,
        cn: o.str_opt("cn")?,
        dn: o.str_opt("dn")?,
        grant: None,
    }))
}

/// A connection as JSON.
pub fn conninfo_to_json(c: &ConnInfo) -> Value {
    json!({
        "node": c.node.as_str(),
        "clientid": c.clientid.as_ref() as &str,
        "username": c.username.as_deref(),
        "peerhost": peerhost_text(c.peer.ip()),
        "peerport": c.peer.port(),
        "sockport": c.sockport,
        "proto_ver": protocol_json(c.protocol),
        "keepalive": c.keepalive,
        "clean_start": c.clean_start,
        "expiry_interval": c.expiry_interval,
        "connected_at": c.connected_at_ms,
    })
}

fn conninfo_from(o: &Obj<'_>) -> Result<Arc<ConnInfo>, JsonError> {
    Ok(Arc::new(ConnInfo {
        node: NodeName::new(o.str_or("node", NodeName::default().as_str())?.as_ref() as &str),
        clientid: o.str_or("clientid", "")?,
        username: o.str_opt("username")?,
        peer: SocketAddr::new(o.ip_or_local("peerhost")?, o.uint_or("peerport", 0)?),
        sockport: o.uint_or("sockport", 1883)?,
        protocol: o.protocol("proto_ver")?,
        keepalive: o.uint_or("keepalive", 60)?,
        clean_start: o.bool_or("clean_start", true)?,
        expiry_interval: o.uint_or("expiry_interval", 0)?,
        connected_at_ms: o.uint_or("connected_at", 0)?,
    }))
}

/// A message as JSON.
pub fn message_to_json(m: &Message) -> Value {
    json!({
        "id": m.id.to_string(),
        "qos": m.qos.as_u8(),
        "from": m.from.as_ref() as &str,
        "topic": m.topic.as_str(),
        "payload": bin_to_json(&m.payload),
        "retain": m.retain,
        "timestamp": m.timestamp_ms,
        "properties": properties_to_json(&m.properties),
        "headers": {
            "username": m.headers.username.as_deref(),
            "peerhost": m.headers.peerhost.map(peerhost_text),
            "proto_ver": m.headers.protocol.map(protocol_json),
        },
    })
}

fn message_from(o: &Obj<'_>) -> Result<Arc<Message>, JsonError> {
    let topic = o.str_or("topic", "")?;
    let topic = TopicName::new(topic)
        .map_err(|e| bad(&o.field("topic"), format!("bad topic name: {e}")))?;
    let id = match o.str_opt("id")? {
        None => MessageId(0),
        Some(hex) => u128::from_str_radix(&hex, 16)
            .map(MessageId)
            .map_err(|_| bad(&o.field("id"), "expected up to 32 hex digits"))?,
    };
    let h = o.obj("headers")?;
    let headers = MessageHeaders {
        username: h.str_opt("username")?,
        peerhost: h
            .get("peerhost")
            .map(|_| h.ip_or_local("peerhost"))
            .transpose()?,
        protocol: h
            .get("proto_ver")
            .map(|_| h.protocol("proto_ver"))
            .transpose()?,
        hops: 0,
    };
    Ok(Arc::new(Message {
        id,
        qos: o.qos("qos")?,
        from: o.str_or("from", "")?,
        topic,
        payload: o.bin_opt("payload")?.unwrap_or_default(),
        retain: o.bool_or("retain", false)?,
        timestamp_ms: o.uint_or("timestamp", 0)?,
        properties: properties_from(o.get("properties"), &o.field("properties"))?,
        headers,
    }))
}

/// An authentication result as JSON: `{"allow": true, "superuser": false}` or
/// `{"allow": false, "reason_code": 135}`.
pub fn auth_to_json(r: AuthResult) -> Value {
    match r {
        AuthResult::Allow { superuser } => json!({"allow": true, "superuser": superuser}),
        AuthResult::Deny(code) => {
            json!({"allow": false, "reason_code": code.0, "reason": code.name()})
        }
    }
}

fn auth_from(o: &Obj<'_>) -> Result<AuthResult, JsonError> {
    if o.bool_or("allow", true)? {
        Ok(AuthResult::Allow {
            superuser: o.bool_or("superuser", false)?,
        })
    } else {
        Ok(AuthResult::Deny(ReasonCode(
            o.uint_or("reason_code", ReasonCode::NOT_AUTHORIZED.0)?,
        )))
    }
}

/// Subscription filters with their options: `[{filter, qos, no_local, ...}]`.
pub(crate) fn filters_to_json(filters: &[(TopicFilter, SubscriptionOptions)]) -> Value {
    filters
        .iter()
        .map(|(f, o)| {
            let mut v = options_to_json(o);
            v["filter"] = json!(f.as_str());
            v
        })
        .collect()
}

fn options_to_json(o: &SubscriptionOptions) -> Value {
    json!({
        "qos": o.qos.as_u8(),
        "no_local": o.no_local,
        "retain_as_published": o.retain_as_published,
        "retain_handling": o.retain_handling as u8,
    })
}

fn options_from(o: &Obj<'_>) -> Result<SubscriptionOptions, JsonError> {
    Ok(SubscriptionOptions {
        qos: o.qos("qos")?,
        no_local: o.bool_or("no_local", false)?,
        retain_as_published: o.bool_or("retain_as_published", false)?,
        retain_handling: match o.uint_or::<u8>("retain_handling", 0)? {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(bad(&o.field("retain_handling"), "expected 0, 1 or 2")),
        },
    })
}

fn filter_from(v: &Value, field: &str) -> Result<TopicFilter, JsonError> {
    let s = v
        .as_str()
        .ok_or_else(|| bad(field, "expected a topic filter"))?;
    TopicFilter::new(s).map_err(|e| bad(field, format!("bad topic filter: {e}")))
}

fn list<'a>(o: &Obj<'a>, key: &str) -> Result<&'a [Value], JsonError> {
    match o.get(key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad(&o.field(key), "expected a list")),
    }
}

/// An event as JSON: the fields of its variant, by their EMQX names.
pub fn event_to_json(e: &Event) -> Value {
    let ci = clientinfo_to_json;
    match e {
        Event::ClientConnect { conninfo, props } => {
            json!({"conninfo": conninfo_to_json(conninfo), "props": properties_to_json(props)})
        }
        Event::ClientConnack {
            conninfo,
            result,
            props,
        } => json!({
            "conninfo": conninfo_to_json(conninfo),
            "result_code": result.0,
            "result": result.name(),
            "props": properties_to_json(props),
        }),
        Event::ClientConnected {
            clientinfo,
            conninfo,
        } => json!({"clientinfo": ci(clientinfo), "conninfo": conninfo_to_json(conninfo)}),
        Event::ClientDisconnected {
            clientinfo,
            reason,
            conninfo,
        } => json!({
            "clientinfo": ci(clientinfo),
            "reason": reason.as_ref() as &str,
            "conninfo": conninfo_to_json(conninfo),
        }),
        Event::ClientAuthenticate {
            clientinfo,
            result,
            previous_owner,
        } => json!({
            "clientinfo": ci(clientinfo),
            "result": auth_to_json(*result),
            "previous_owner": previous_owner.as_ref().map(|o| json!({
                "username": o.username.as_deref(),
                "cert_dn": o.cert_dn.as_deref(),
            })),
        }),
        Event::ClientAuthorize {
            clientinfo,
            action,
            topic,
            result,
        } => json!({
            "clientinfo": ci(clientinfo),
            "action": action.name(),
            "topic": topic.as_ref() as &str,
            "result": result,
        }),
        Event::ClientSubscribe {
            clientinfo,
            props,
            filters,
        } => json!({
            "clientinfo": ci(clientinfo),
            "props": properties_to_json(props),
            "filters": filters_to_json(filters),
        }),
        Event::ClientUnsubscribe {
            clientinfo,
            props,
            filters,
        } => json!({
            "clientinfo": ci(clientinfo),
            "props": properties_to_json(props),
            "filters": filters.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        }),
        Event::SessionSubscribed {
            clientinfo,
            filter,
            info,
        } => json!({
            "clientinfo": ci(clientinfo),
            "filter": filter.as_str(),
            "options": options_to_json(&info.options),
            "is_new": info.is_new,
            "subscription_id": info.subscription_id,
        }),
        Event::SessionUnsubscribed { clientinfo, filter } => {
            json!({"clientinfo": ci(clientinfo), "filter": filter.as_str()})
        }
        Event::SessionCreated { clientinfo }
        | Event::SessionResumed { clientinfo }
        | Event::SessionDiscarded { clientinfo }
        | Event::SessionTakenover { clientinfo } => json!({"clientinfo": ci(clientinfo)}),
        Event::SessionTerminated { clientinfo, reason } => {
            json!({"clientinfo": ci(clientinfo), "reason": reason.as_ref() as &str})
        }
        Event::MessagePublish { message } => json!({"message": message_to_json(message)}),
        Event::MessageDelivered {
            clientinfo,
            message,
        }
        | Event::MessageAcked {
            clientinfo,
            message,
        } => json!({"clientinfo": ci(clientinfo), "message": message_to_json(message)}),
        Event::MessageDropped { message, reason } => {
            json!({"message": message_to_json(message), "reason": reason.name()})
        }
        Event::ClientEnhancedAuthenticate { .. } => {
            super::auth_json::event_to_json(e).unwrap_or_default()
        }
    }
}

/// Reads an event of `point` from its JSON form. Missing fields take neutral defaults (empty
/// client id, 127.0.0.1, MQTT 3.1.1, QoS 0, ...) so hand-written events stay short.
pub fn event_from_json(point: HookPoint, v: &Value) -> Result<Event, JsonError> {
    let o = Obj::new(Some(v), "event")?;
    let ci = || clientinfo_from(&o.obj("clientinfo")?);
    let conn = || conninfo_from(&o.obj("conninfo")?);
    let props = || properties_from(o.get("props"), &o.field("props"));
    let msg = || message_from(&o.obj("message")?);
    let reason = |default: &str| o.str_or("reason", default);
    Ok(match point {
        HookPoint::ClientConnect => Event::ClientConnect {
            conninfo: conn()?,
            props: props()?,
        },
        HookPoint::ClientConnack => Event::ClientConnack {
            conninfo: conn()?,
            result: ReasonCode(o.uint_or("result_code", 0)?),
            props: props()?,
        },
        HookPoint::ClientConnected => Event::ClientConnected {
            clientinfo: ci()?,
            conninfo: conn()?,
        },
        HookPoint::ClientDisconnected => Event::ClientDisconnected {
            clientinfo: ci()?,
            reason: reason("normal")?,
            conninfo: conn()?,
        },
        HookPoint::ClientAuthenticate => Event::ClientAuthenticate {
            clientinfo: ci()?,
            result: auth_from(&o.obj("result")?)?,
            previous_owner: match o.get("previous_owner") {
                None => None,
                Some(_) => {
                    let owner = o.obj("previous_owner")?;
                    Some(Identity {
                        username: owner.str_opt("username")?,
                        cert_dn: owner.str_opt("cert_dn")?,
                    })
                }
            },
        },
        HookPoint::ClientAuthorize => Event::ClientAuthorize {
            clientinfo: ci()?,
            action: match o.str_or("action", "publish")?.as_ref() {
                "publish" => Action::Publish,
                "subscribe" => Action::Subscribe,
                _ => return Err(bad("event.action", "expected publish or subscribe")),
            },
            topic: o.str_or("topic", "")?,
            result: o.bool_or("result", true)?,
        },
        HookPoint::ClientSubscribe => Event::ClientSubscribe {
            clientinfo: ci()?,
            props: props()?,
            filters: list(&o, "filters")?
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let path = format!("event.filters[{i}]");
                    let fo = Obj::new(Some(f), &path)?;
                    let filter = fo.get("filter").ok_or_else(|| bad(&path, "no filter"))?;
                    Ok((
                        filter_from(filter, &fo.field("filter"))?,
                        options_from(&fo)?,
                    ))
                })
                .collect::<Result<_, JsonError>>()?,
        },
        HookPoint::ClientUnsubscribe => Event::ClientUnsubscribe {
            clientinfo: ci()?,
            props: props()?,
            filters: list(&o, "filters")?
                .iter()
                .enumerate()
                .map(|(i, f)| filter_from(f, &format!("event.filters[{i}]")))
                .collect::<Result<_, _>>()?,
        },
        HookPoint::SessionSubscribed => Event::SessionSubscribed {
            clientinfo: ci()?,
            filter: filter_from(o.get("filter").unwrap_or(&Value::Null), "event.filter")?,
            info: SubscriptionInfo {
                options: options_from(&o.obj("options")?)?,
                is_new: o.bool_or("is_new", true)?,
                subscription_id: o
                    .get("subscription_id")
                    .map(|_| o.uint_or("subscription_id", 0))
                    .transpose()?,
            },
        },
        HookPoint::SessionUnsubscribed => Event::SessionUnsubscribed {
            clientinfo: ci()?,
            filter: filter_from(o.get("filter").unwrap_or(&Value::Null), "event.filter")?,
        },
        HookPoint::SessionCreated => Event::SessionCreated { clientinfo: ci()? },
        HookPoint::SessionResumed => Event::SessionResumed { clientinfo: ci()? },
        HookPoint::SessionDiscarded => Event::SessionDiscarded { clientinfo: ci()? },
        HookPoint::SessionTakenover => Event::SessionTakenover { clientinfo: ci()? },
        HookPoint::SessionTerminated => Event::SessionTerminated {
            clientinfo: ci()?,
            reason: reason("normal")?,
        },
        HookPoint::MessagePublish => Event::MessagePublish { message: msg()? },
        HookPoint::MessageDelivered => Event::MessageDelivered {
            clientinfo: ci()?,
            message: msg()?,
        },
        HookPoint::MessageAcked => Event::MessageAcked {
            clientinfo: ci()?,
            message: msg()?,
        },
        HookPoint::MessageDropped => Event::MessageDropped {
            message: msg()?,
            reason: {
                let name = reason("no_subscribers")?;
                DropReason::ALL
                    .into_iter()
                    .find(|r| r.name() == &*name)
                    .ok_or_else(|| bad("event.reason", "unknown drop reason"))?
            },
        },
        HookPoint::ClientEnhancedAuthenticate => super::auth_json::event_from_json(&o)?,
    })
}

/// A handler's answer as JSON: `{"verdict": "ignore"}`, `{"verdict": "continue" | "stop",
/// "value": ...}`, or `{"error": "timeout" | "unavailable" | "failed" | "bad_reply",
/// "message": ...}`.
pub fn answer_to_json(outcome: &Result<Verdict, HookError>) -> Value {
    let value = |v: &HookValue| match v {
        HookValue::Auth(r) => json!({ "auth": auth_to_json(*r) }),
        HookValue::Allow(b) => json!({ "allow": b }),
        HookValue::Message(m) => json!({ "message": message_to_json(m) }),
        HookValue::Drop => json!({ "drop": true }),
        HookValue::Consume => json!({ "consume": true }),
        HookValue::Hold(m) => json!({ "hold": m.as_deref().map(message_to_json) }),
        HookValue::Filters(f) => json!({ "filters": f.iter().map(|r| json!({
            "filter": r.filter.as_str(),
            "options": options_to_json(&r.options),
            "refused": r.refused.map(|c| c.0),
        })).collect::<Vec<_>>() }),
        // Rights are opaque: the trace names their issuer only.
        HookValue::Grant(g) => json!({ "grant": {
            "superuser": g.superuser,
            "expire_at_ms": g.expire_at_ms,
            "rights": g.rights.as_ref().map(|r| r.issuer.to_string()),
            "connack": super::auth_json::connack_to_json(&g.connack),
        } }),
        HookValue::Refuse(r) => json!({ "refuse": {
            "reason_code": r.code.0,
            "reason_string": r.reason_string.as_deref(),
            "user_properties": super::auth_json::user_properties_to_json(&r.user_properties),
        } }),
        HookValue::Redirect(r) => json!({ "redirect": {
            "server_reference": r.server_reference.to_string(),
            "moved": r.moved,
        } }),
        HookValue::EnhancedAuth(a) => {
            json!({ "enhanced_auth": super::auth_json::enhanced_to_json(a) })
        }
    };
    match outcome {
        Ok(Verdict::Ignore) => json!({"verdict": "ignore"}),
        Ok(Verdict::Continue(v)) => json!({"verdict": "continue", "value": value(v)}),
        Ok(Verdict::Stop(v)) => json!({"verdict": "stop", "value": value(v)}),
        Err(e) => {
            let kind = match e {
                HookError::Timeout => "timeout",
                HookError::Unavailable(_) => "unavailable",
                HookError::Failed(_) => "failed",
                HookError::BadReply(_) => "bad_reply",
            };
            json!({"error": kind, "message": e.to_string()})
        }
    }
}
