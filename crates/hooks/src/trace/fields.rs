//! The building blocks of the trace's JSON: binary data as text or base64, MQTT 5 properties
//! by their specification names, and a reader for JSON objects whose every error names the
//! field. `json` builds events and answers from these; `packet` builds packets.

use std::net::{IpAddr, Ipv4Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{Properties, Property, PropertyId, Protocol, QoS};
use serde_json::{Map, Value, json};

/// Why a JSON event could not be read: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct JsonError {
    /// The field, e.g. `event.message.qos`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

pub(crate) fn bad(field: &str, problem: impl Into<String>) -> JsonError {
    JsonError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Binary data as JSON: text when it is UTF-8, base64 otherwise.
pub fn bin_to_json(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => json!(s),
        Err(_) => json!({ "base64": B64.encode(b) }),
    }
}

pub(crate) fn bin_from_json(v: &Value, field: &str) -> Result<Bytes, JsonError> {
    match v {
        Value::String(s) => Ok(Bytes::copy_from_slice(s.as_bytes())),
        Value::Object(o) => match o.get("base64").and_then(Value::as_str) {
            Some(b) => B64
                .decode(b)
                .map(Bytes::from)
                .map_err(|e| bad(field, format!("bad base64: {e}"))),
            None => Err(bad(field, "expected a string or {\"base64\": ...}")),
        },
        _ => Err(bad(field, "expected a string or {\"base64\": ...}")),
    }
}

/// Reads fields of one JSON object, naming the field in every error.
pub(crate) struct Obj<'a> {
    pub(crate) map: Option<&'a Map<String, Value>>,
    path: String,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(v: Option<&'a Value>, path: &str) -> Result<Obj<'a>, JsonError> {
        match v {
            None | Some(Value::Null) => Ok(Obj {
                map: None,
                path: path.to_owned(),
            }),
            Some(Value::Object(map)) => Ok(Obj {
                map: Some(map),
                path: path.to_owned(),
            }),
            Some(_) => Err(bad(path, "expected an object")),
        }
    }

    pub(crate) fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    pub(crate) fn obj(&self, key: &str) -> Result<Obj<'a>, JsonError> {
        Obj::new(self.get(key), &self.field(key))
    }

    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<ByteString>, JsonError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(ByteString::from(s.as_str()))),
            Some(_) => Err(bad(&self.field(key), "expected a string")),
        }
    }

    pub(crate) fn str_or(&self, key: &str, default: &str) -> Result<ByteString, JsonError> {
        Ok(self.str_opt(key)?.unwrap_or_else(|| default.into()))
    }

    pub(crate) fn bool_or(&self, key: &str, default: bool) -> Result<bool, JsonError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| bad(&self.field(key), "expected true or false")),
        }
    }

    pub(crate) fn uint_or<T: TryFrom<u64>>(&self, key: &str, default: T) -> Result<T, JsonError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .and_then(|n| T::try_from(n).ok())
                .ok_or_else(|| bad(&self.field(key), "expected a non-negative integer in range")),
        }
    }

    pub(crate) fn bin_opt(&self, key: &str) -> Result<Option<Bytes>, JsonError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) if o.get("redacted").is_some() => Ok(None),
            Some(v) => bin_from_json(v, &self.field(key)).map(Some),
        }
    }

    pub(crate) fn ip_or_local(&self, key: &str) -> Result<IpAddr, JsonError> {
        match self.str_opt(key)? {
            None => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Some(s) => s
                .parse()
                .map_err(|_| bad(&self.field(key), "expected an IP address")),
        }
    }

    pub(crate) fn protocol(&self, key: &str) -> Result<Protocol, JsonError> {
        match self.uint_or::<u8>(key, 4)? {
            3 => Ok(Protocol::V3_1),
            4 => Ok(Protocol::V3_1_1),
            5 => Ok(Protocol::V5),
            _ => Err(bad(&self.field(key), "expected 3, 4 or 5")),
        }
    }

    pub(crate) fn qos(&self, key: &str) -> Result<QoS, JsonError> {
        QoS::from_u8(self.uint_or(key, 0)?)
            .ok_or_else(|| bad(&self.field(key), "expected 0, 1 or 2"))
    }
}

/// MQTT 5 properties as an object keyed by the specification's names (`Content-Type`);
/// `User-Property` is a list of `[key, value]` pairs in order. Authentication Data is redacted
/// (`{"redacted": true}`): CONNECT, CONNACK and AUTH packets and `client.connect` events carry
/// credentials there.
pub fn properties_to_json(props: &Properties) -> Value {
    let mut out = Map::new();
    let mut user = Vec::new();
    for p in props.iter() {
        let v = match p {
            Property::UserProperty(k, v) => {
                user.push(json!([k.as_ref() as &str, v.as_ref() as &str]));
                continue;
            }
            Property::PayloadFormatIndicator(n)
            | Property::RequestProblemInformation(n)
            | Property::RequestResponseInformation(n)
            | Property::MaximumQos(n)
            | Property::RetainAvailable(n)
            | Property::WildcardSubscriptionAvailable(n)
            | Property::SubscriptionIdentifierAvailable(n)
            | Property::SharedSubscriptionAvailable(n) => json!(n),
            Property::MessageExpiryInterval(n)
            | Property::SubscriptionIdentifier(n)
            | Property::SessionExpiryInterval(n)
            | Property::WillDelayInterval(n)
            | Property::MaximumPacketSize(n) => json!(n),
            Property::ServerKeepAlive(n)
            | Property::ReceiveMaximum(n)
            | Property::TopicAliasMaximum(n)
            | Property::TopicAlias(n) => json!(n),
            Property::ContentType(s)
            | Property::ResponseTopic(s)
            | Property::AssignedClientIdentifier(s)
            | Property::AuthenticationMethod(s)
            | Property::ResponseInformation(s)
            | Property::ServerReference(s)
            | Property::ReasonString(s) => json!(s.as_ref() as &str),
            Property::CorrelationData(b) => bin_to_json(b),
            // A credential (a token, a SCRAM proof): a record only says it was there.
            Property::AuthenticationData(_) => json!({"redacted": true}),
        };
        out.insert(p.id().name().to_owned(), v);
    }
    if !user.is_empty() {
        out.insert(
            PropertyId::UserProperty.name().to_owned(),
            Value::Array(user),
        );
    }
    Value::Object(out)
}

pub(crate) fn properties_from(v: Option<&Value>, path: &str) -> Result<Properties, JsonError> {
    let o = Obj::new(v, path)?;
    let mut props = Properties::default();
    let Some(map) = o.map else {
        return Ok(props);
    };
    for (name, v) in map {
        let field = o.field(name);
        let id = (0u8..=0x2A)
            .filter_map(PropertyId::from_u8)
            .find(|id| id.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| bad(&field, "unknown property"))?;
        let num = || v.as_u64().ok_or_else(|| bad(&field, "expected an integer"));
        let n8 = || num().and_then(|n| u8::try_from(n).map_err(|_| bad(&field, "out of range")));
        let n16 = || num().and_then(|n| u16::try_from(n).map_err(|_| bad(&field, "out of range")));
        let n32 = || num().and_then(|n| u32::try_from(n).map_err(|_| bad(&field, "out of range")));
        let text = || {
            v.as_str()
                .map(ByteString::from)
                .ok_or_else(|| bad(&field, "expected a string"))
        };
        use PropertyId as I;
        let p = match id {
            I::UserProperty => {
                let pairs = v
                    .as_array()
                    .ok_or_else(|| bad(&field, "expected [[key, value], ...]"))?;
                for pair in pairs {
                    match pair.as_array().map(Vec::as_slice) {
                        Some([Value::String(k), Value::String(val)]) => props.push(
                            Property::UserProperty(k.as_str().into(), val.as_str().into()),
                        ),
                        _ => return Err(bad(&field, "expected [[key, value], ...]")),
                    }
                }
                continue;
            }
            I::PayloadFormatIndicator => Property::PayloadFormatIndicator(n8()?),
            I::RequestProblemInformation => Property::RequestProblemInformation(n8()?),
            I::RequestResponseInformation => Property::RequestResponseInformation(n8()?),
            I::MaximumQos => Property::MaximumQos(n8()?),
            I::RetainAvailable => Property::RetainAvailable(n8()?),
            I::WildcardSubscriptionAvailable => Property::WildcardSubscriptionAvailable(n8()?),
            I::SubscriptionIdentifierAvailable => Property::SubscriptionIdentifierAvailable(n8()?),
            I::SharedSubscriptionAvailable => Property::SharedSubscriptionAvailable(n8()?),
            I::MessageExpiryInterval => Property::MessageExpiryInterval(n32()?),
            I::SubscriptionIdentifier => Property::SubscriptionIdentifier(n32()?),
            I::SessionExpiryInterval => Property::SessionExpiryInterval(n32()?),
            I::WillDelayInterval => Property::WillDelayInterval(n32()?),
            I::MaximumPacketSize => Property::MaximumPacketSize(n32()?),
            I::ServerKeepAlive => Property::ServerKeepAlive(n16()?),
            I::ReceiveMaximum => Property::ReceiveMaximum(n16()?),
            I::TopicAliasMaximum => Property::TopicAliasMaximum(n16()?),
            I::TopicAlias => Property::TopicAlias(n16()?),
            I::ContentType => Property::ContentType(text()?),
            I::ResponseTopic => Property::ResponseTopic(text()?),
            I::AssignedClientIdentifier => Property::AssignedClientIdentifier(text()?),
            I::AuthenticationMethod => Property::AuthenticationMethod(text()?),
            I::ResponseInformation => Property::ResponseInformation(text()?),
            I::ServerReference => Property::ServerReference(text()?),
            I::ReasonString => Property::ReasonString(text()?),
            I::CorrelationData => Property::CorrelationData(bin_from_json(v, &field)?),
            // A redacted record reads back as no data.
            I::AuthenticationData if v.get("redacted").is_some() => continue,
            I::AuthenticationData => Property::AuthenticationData(bin_from_json(v, &field)?),
        };
        props.push(p);
    }
    Ok(props)
}
