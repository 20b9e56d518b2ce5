//! Broker endpoints: status, clients (list, show, kick; the list also of the whole cluster),
//! cluster membership, subscriptions, retained messages (list, show, delete), publish.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine;
use bytes::Bytes;
use hookmq_broker::{ClientView, SubscriptionView};
use hookmq_codec::{Property, QoS, TopicName};
use hookmq_hooks::Message;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiState};

pub(super) async fn status(State(s): State<ApiState>) -> Json<Value> {
    let st = s.broker.stats();
    let m = s.broker.metrics();
    Json(json!({
        "node": st.node,
        "version": st.version,
        "uptime_secs": st.uptime_secs,
        "connections": st.connections,
        "sessions": st.sessions,
        "subscriptions": st.subscriptions,
        "retained": st.retained,
        "retained_bytes": st.retained_bytes,
        "messages_received": m.messages_received.load(Ordering::Relaxed),
        "messages_sent": m.messages_sent.load(Ordering::Relaxed),
        "messages_dropped": m.dropped_total(),
        "listeners": s.listeners.iter()
            .map(|l| json!({"name": l.name, "addr": l.local_addr.to_string()}))
            .collect::<Vec<_>>(),
    }))
}

fn client_json(c: &ClientView) -> Value {
    json!({
        "clientid": c.clientid,
        "username": c.username,
        "connected": c.connected,
        "peerhost": hookmq_hooks::peerhost_text(c.peer.ip()),
        "peerport": c.peer.port(),
        "proto_ver": c.proto_ver,
        "expiry_interval": c.expiry_interval,
        "subscriptions": c.subscriptions,
        "queued": c.queued,
        "inflight": c.inflight,
        "created_at": c.created_at_ms,
    })
}

/// Filters for the client list.
#[derive(Debug, Deserialize)]
pub(super) struct ClientFilter {
    /// The clients of every node of the cluster, each with its node.
    cluster: Option<bool>,
    connected: Option<bool>,
    username: Option<String>,
    /// Substring of the client id.
    like: Option<String>,
}

pub(super) async fn clients(
    State(s): State<ApiState>,
    Query(f): Query<ClientFilter>,
) -> Json<Value> {
    let node = s.broker.stats().node;
    let (clients, missing) = match f.cluster {
        Some(true) => match s.broker.cluster_clients().await {
            Some(all) => (all.clients, all.missing),
            None => (with_node(&node, s.broker.clients()), Vec::new()),
        },
        _ => (with_node(&node, s.broker.clients()), Vec::new()),
    };
    let list: Vec<Value> = clients
        .iter()
        .filter(|(_, c)| f.connected.is_none_or(|want| c.connected == want))
        .filter(|(_, c)| {
            f.username
                .as_ref()
                .is_none_or(|u| c.username.as_ref() == Some(u))
        })
        .filter(|(_, c)| {
            f.like
                .as_ref()
                .is_none_or(|l| c.clientid.contains(l.as_str()))
        })
        .map(|(node, c)| {
            let mut v = client_json(c);
            v["node"] = json!(node);
            v
        })
        .collect();
    Json(json!({ "data": list, "missing_nodes": missing }))
}

fn with_node(node: &str, clients: Vec<ClientView>) -> Vec<(String, ClientView)> {
    clients.into_iter().map(|c| (node.to_owned(), c)).collect()
}

/// `GET /api/v1/cluster`: members, their connections and sessions, the NATS link.
pub(super) async fn cluster(State(s): State<ApiState>) -> Json<Value> {
    let Some(st) = s.broker.cluster_status() else {
        return Json(json!({ "enabled": false, "node": s.broker.stats().node }));
    };
    let members: Vec<Value> = st
        .members
        .iter()
        .map(|m| {
            json!({
                "node": m.node,
                "connections": m.connections,
                "sessions": m.sessions,
                "last_seen_ms": m.last_seen_ms,
                "api": m.api,
            })
        })
        .collect();
    Json(json!({
        "enabled": true,
        "name": st.name,
        "node": st.node,
        "link": if st.link_up { "up" } else { "down" },
        "link_server": st.link_server,
        "reconnects": st.reconnects,
        "members": members,
        "forwarded": st.forwarded,
        "unforwarded": st.unforwarded,
        "received": st.received,
        "malformed": st.malformed,
        "takeovers_in": st.takeovers_in,
        "takeovers_out": st.takeovers_out,
        "adopted": st.adopted,
        "orphan_wills": st.orphan_wills,
    }))
}

pub(super) async fn client(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.broker
        .client(&id)
        .map(|c| Json(client_json(&c)))
        .ok_or_else(|| ApiError::not_found(format!("no client {id:?}")))
}

pub(super) async fn kick(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.broker.kick(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "client {id:?} is not connected"
        )))
    }
}

fn sub_json(v: &SubscriptionView) -> Value {
    json!({
        "clientid": v.clientid,
        "topic": v.filter,
        "qos": v.qos.as_u8(),
        "nl": v.no_local,
        "rap": v.retain_as_published,
        "rh": v.retain_handling,
        "subid": v.subscription_id,
    })
}

/// Filter for the subscription list.
#[derive(Debug, Deserialize)]
pub(super) struct SubFilter {
    clientid: Option<String>,
}

pub(super) async fn subscriptions(
    State(s): State<ApiState>,
    Query(f): Query<SubFilter>,
) -> Json<Value> {
    let list: Vec<Value> = s
        .broker
        .subscriptions(f.clientid.as_deref())
        .iter()
        .map(sub_json)
        .collect();
    Json(json!({ "data": list }))
}

pub(super) async fn client_subscriptions(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if s.broker.client(&id).is_none() {
        return Err(ApiError::not_found(format!("no client {id:?}")));
    }
    let list: Vec<Value> = s
        .broker
        .subscriptions(Some(&id))
        .iter()
        .map(sub_json)
        .collect();
    Ok(Json(json!({ "data": list })))
}

/// A message as JSON: the payload as text when it is UTF-8, else base64.
pub(crate) fn message_json(m: &Message) -> Value {
    let (payload, encoding) = match std::str::from_utf8(&m.payload) {
        Ok(t) => (t.to_owned(), "plain"),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&m.payload),
            "base64",
        ),
    };
    json!({
        "id": m.id.to_string(),
        "topic": m.topic.as_str(),
        "qos": m.qos.as_u8(),
        "retain": m.retain,
        "from": &*m.from,
        "timestamp": m.timestamp_ms,
        "payload": payload,
        "payload_encoding": encoding,
    })
}

pub(super) async fn retained_list(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s
        .broker
        .retained()
        .iter()
        .map(|m| message_json(m))
        .collect();
    Json(json!({ "data": list }))
}

pub(super) async fn retained_show(
    State(s): State<ApiState>,
    Path(topic): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.broker
        .retained_get(&topic)
        .map(|m| Json(message_json(&m)))
        .ok_or_else(|| ApiError::not_found(format!("no retained message on {topic:?}")))
}

pub(super) async fn retained_delete(
    State(s): State<ApiState>,
    Path(topic): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.broker.retained_delete(&topic) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no retained message on {topic:?}"
        )))
    }
}

/// Body of `POST /api/v1/publish`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PublishBody {
    topic: String,
    #[serde(default)]
    payload: String,
    /// `plain` (default) or `base64`.
    #[serde(default)]
    payload_encoding: Option<String>,
    #[serde(default)]
    qos: u8,
    #[serde(default)]
    retain: bool,
    /// MQTT 5 user properties.
    #[serde(default)]
    user_properties: Vec<(String, String)>,
}

pub(super) async fn publish(
    State(s): State<ApiState>,
    Json(b): Json<PublishBody>,
) -> Result<Json<Value>, ApiError> {
    let topic = TopicName::new(b.topic.as_str())
        .map_err(|e| ApiError::bad_request(format!("topic: {e}")))?;
    let qos = QoS::from_u8(b.qos).ok_or_else(|| ApiError::bad_request("qos must be 0, 1 or 2"))?;
    let payload = match b.payload_encoding.as_deref() {
        None | Some("plain") => Bytes::from(b.payload.into_bytes()),
        Some("base64") => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(b.payload.as_bytes())
                .map_err(|e| ApiError::bad_request(format!("payload: {e}")))?,
        ),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown payload_encoding {other:?}"
            )));
        }
    };
    let mut message = Message::new(Default::default(), topic, payload, qos, b.retain);
    for (k, v) in b.user_properties {
        message
            .properties
            .push(Property::UserProperty(k.into(), v.into()));
    }
    let id = message.id.to_string();
    match s.broker.publish(message).await {
        Some(n) => Ok(Json(json!({ "id": id, "delivered_to": n }))),
        None => Err(ApiError::conflict(
            "a message.publish hook dropped the message",
        )),
    }
}
