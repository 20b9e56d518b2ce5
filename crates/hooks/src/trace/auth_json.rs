//! `client.enhanced_authenticate` in the trace's JSON (for `json.rs`): the event and the answer.
//! Authentication Data and a handler's state are credentials or secrets of the method (a token,
//! a SCRAM proof, derived keys), so a record shows only that they were there,
//! `{"redacted": true}`, which reads back as none; hand-written events (`hookmq hooks replay`)
//! may give them as text or `{"base64": ...}`.

use bytes::Bytes;
use hookmq_codec::ReasonCode;
use serde_json::{Value, json};

use super::fields::{Obj, bad};
use super::json::{JsonError, clientinfo_from, clientinfo_to_json};
use crate::connack_terms::{ConnackTerms, UserProperty};
use crate::enhanced_auth::{AuthStep, EnhancedAuth};
use crate::event::Event;
use crate::grant::Grant;

fn secret(b: &Option<Bytes>) -> Value {
    json!(b.as_ref().map(|_| json!({"redacted": true})))
}

/// The event's fields: clientinfo, method, data, step, state, result.
pub(crate) fn event_to_json(e: &Event) -> Option<Value> {
    let Event::ClientEnhancedAuthenticate {
        clientinfo,
        method,
        data,
        step,
        state,
        result,
    } = e
    else {
        return None;
    };
    Some(json!({
        "clientinfo": clientinfo_to_json(clientinfo),
        "method": method.as_ref() as &str,
        "data": secret(data),
        "step": step.name(),
        "state": secret(state),
        "result": enhanced_to_json(result),
    }))
}

/// An answer: `{"continue": {...}}`, `{"success": {...}}` or `{"failure": {...}}`.
pub(crate) fn enhanced_to_json(r: &EnhancedAuth) -> Value {
    match r {
        EnhancedAuth::Continue { data, state } => {
            json!({"continue": {"data": secret(data), "state": secret(state)}})
        }
        EnhancedAuth::Success { data, grant } => json!({"success": {
            "data": secret(data),
            "superuser": grant.superuser,
            "expire_at_ms": grant.expire_at_ms,
            "rights": grant.rights.as_ref().map(|r| r.issuer.to_string()),
            "connack": connack_to_json(&grant.connack),
        }}),
        EnhancedAuth::Failure {
            reason,
            reason_string,
        } => json!({"failure": {
            "reason_code": reason.0,
            "reason": reason.name(),
            "reason_string": reason_string.as_deref(),
        }}),
    }
}

/// User properties as `[[name, value], ...]`.
pub(crate) fn user_properties_to_json(users: &[UserProperty]) -> Value {
    json!(
        users
            .iter()
            .map(|u| json!([&*u.name, &*u.value]))
            .collect::<Vec<_>>()
    )
}

/// A grant's CONNACK terms; `null` when it sets none.
pub(crate) fn connack_to_json(t: &ConnackTerms) -> Value {
    if t.is_empty() {
        return Value::Null;
    }
    json!({
        "reason_string": t.reason_string.as_deref(),
        "user_properties": user_properties_to_json(&t.user_properties),
        "session_expiry_interval": t.session_expiry_interval,
        "server_keep_alive": t.server_keep_alive,
        "maximum_qos": t.maximum_qos,
        "receive_maximum": t.receive_maximum,
        "assigned_client_id": t.assigned_client_id.as_deref(),
    })
}

/// Reads the event; a missing result is the chain's start (0x8C, no handler answered yet).
pub(crate) fn event_from_json(o: &Obj<'_>) -> Result<Event, JsonError> {
    let step = o.str_or("step", "initial")?;
    Ok(Event::ClientEnhancedAuthenticate {
        clientinfo: clientinfo_from(&o.obj("clientinfo")?)?,
        method: o.str_or("method", "")?,
        data: o.bin_opt("data")?,
        step: AuthStep::from_name(&step)
            .ok_or_else(|| bad("event.step", "expected initial, continue or reauthenticate"))?,
        state: o.bin_opt("state")?,
        result: match o.get("result") {
            None | Some(Value::Null) => EnhancedAuth::unhandled(),
            Some(_) => enhanced_from(&o.obj("result")?)?,
        },
    })
}

fn enhanced_from(o: &Obj<'_>) -> Result<EnhancedAuth, JsonError> {
    if o.get("continue").is_some() {
        let c = o.obj("continue")?;
        Ok(EnhancedAuth::Continue {
            data: c.bin_opt("data")?,
            state: c.bin_opt("state")?,
        })
    } else if o.get("success").is_some() {
        let s = o.obj("success")?;
        Ok(EnhancedAuth::Success {
            data: s.bin_opt("data")?,
            grant: Grant {
                superuser: s.bool_or("superuser", false)?,
                expire_at_ms: match s.get("expire_at_ms") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(s.uint_or("expire_at_ms", 0)?),
                },
                ..Grant::default()
            },
        })
    } else if o.get("failure").is_some() {
        let f = o.obj("failure")?;
        Ok(EnhancedAuth::Failure {
            reason: ReasonCode(f.uint_or("reason_code", ReasonCode::NOT_AUTHORIZED.0)?),
            reason_string: f.str_opt("reason_string")?,
        })
    } else {
        Err(bad("event.result", "expected continue, success or failure"))
    }
}
