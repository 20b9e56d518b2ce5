//! MQTT packets as JSON, for the packet records of a trace: every field of the decoded packet,
//! payloads as text or base64, passwords and Authentication Data redacted.

use hookmq_codec::Packet;
use serde_json::{Value, json};

use super::fields::{bin_to_json, properties_to_json};
use super::json::filters_to_json;

/// A decoded MQTT packet as JSON, for the packet records of a trace. Passwords and
/// Authentication Data are redacted.
pub fn packet_to_json(p: &Packet) -> Value {
    let kind = format!("{:?}", p.packet_type()).to_uppercase();
    let mut v = match p {
        Packet::Connect(c) => json!({
            "proto_ver": c.protocol.level(),
            "clean_start": c.clean_start,
            "keepalive": c.keep_alive,
            "clientid": c.client_id.as_ref() as &str,
            "username": c.username.as_deref(),
            "password": c.password.as_ref().map(|_| json!({"redacted": true})),
            "will": c.will.as_ref().map(|w| json!({
                "topic": w.topic.as_str(), "payload": bin_to_json(&w.payload),
                "qos": w.qos.as_u8(), "retain": w.retain,
                "properties": properties_to_json(&w.properties),
            })),
            "properties": properties_to_json(&c.properties),
        }),
        Packet::ConnAck(c) => json!({
            "session_present": c.session_present, "reason_code": c.reason.0,
            "properties": properties_to_json(&c.properties),
        }),
        Packet::Publish(p) => json!({
            "dup": p.dup, "qos": p.qos.as_u8(), "retain": p.retain,
            "topic": p.topic.as_ref() as &str, "packet_id": p.packet_id.map(|i| i.get()),
            "payload": bin_to_json(&p.payload), "properties": properties_to_json(&p.properties),
        }),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => json!({
            "packet_id": a.packet_id.get(), "reason_code": a.reason.0,
            "properties": properties_to_json(&a.properties),
        }),
        Packet::Subscribe(s) => json!({
            "packet_id": s.packet_id.get(),
            "filters": filters_to_json(&s.filters),
            "properties": properties_to_json(&s.properties),
        }),
        Packet::SubAck(s) => json!({
            "packet_id": s.packet_id.get(),
            "reason_codes": s.reasons.iter().map(|r| r.0).collect::<Vec<_>>(),
            "properties": properties_to_json(&s.properties),
        }),
        Packet::Unsubscribe(u) => json!({
            "packet_id": u.packet_id.get(),
            "filters": u.filters.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "properties": properties_to_json(&u.properties),
        }),
        Packet::UnsubAck(u) => json!({
            "packet_id": u.packet_id.get(),
            "reason_codes": u.reasons.iter().map(|r| r.0).collect::<Vec<_>>(),
            "properties": properties_to_json(&u.properties),
        }),
        Packet::PingReq | Packet::PingResp => json!({}),
        Packet::Disconnect(d) => json!({
            "reason_code": d.reason.0, "properties": properties_to_json(&d.properties),
        }),
        Packet::Auth(a) => json!({
            "reason_code": a.reason.0, "properties": properties_to_json(&a.properties),
        }),
    };
    v["type"] = json!(kind);
    v
}
