//! The modify rights of port answers (issue 13), read by `verdict.rs`: a `message_publish`
//! message may also carry `retain` and `properties`, `(0, consume)` consumes the message, and
//! `client_subscribe` may answer its filters. Tags and keys may be atoms or text, since a Python
//! `str` travels as a charlist.
//!
//! | Answer | Meaning |
//! |---|---|
//! | `(0, consume)` for `message_publish` | acknowledge the publisher, route nothing, no drop reported |
//! | `(0, hold)` / `(0, (hold, Message))` for `message_publish` | route the message (as it is, or rewritten like `(0, Message)`) and hold the publisher's acknowledgement until `hookmq.confirm(id, ok)` or the driver's `hold_timeout` |
//! | `{retain, Bool}` in a returned message | the retain flag |
//! | `{properties, Props}` in a returned message | replaces the MQTT 5 properties: a proplist or map with `payload_format_indicator`, `message_expiry_interval`, `content_type`, `response_topic`, `correlation_data`, `user_property` (a list of `{Key, Value}`); EMQX's spellings (`'Content-Type'`, `'User-Property'`, ...) are read too |
//! | `(0, [Filter, ...])` for `client_subscribe` | one per filter of the SUBSCRIBE, in order: `(TopicFilter, QoS)` keeps the other options, `(TopicFilter, Options)` with `qos`, `no_local`, `retain_as_published`, `retain_handling`, or `(TopicFilter, Code)` with `Code` ≥ 0x80 refuses it with that SUBACK code |
//!
//! A value no packet can carry is refused by the chain's checks (`hookmq_hooks::check_message`,
//! `suback_refusal`) as a bad reply.

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{
    Properties, Property, QoS, ReasonCode, RetainHandling, SubscriptionOptions, TopicFilter,
};
use hookmq_hooks::{FilterRequest, Message};

use crate::etf::Term;
use crate::verdict::shown;

/// Whether `decision` (the `X` of `(0, X)`) says "consume".
pub(crate) fn is_consume(decision: &Term) -> bool {
    decision.as_text().as_deref() == Some("consume")
}

/// Whether `decision` holds the acknowledgement: `Some(None)` for `hold` (the message as it
/// is), `Some(Some(Message))` for `(hold, Message)`, `None` for any other answer.
pub(crate) fn hold(decision: &Term) -> Option<Option<&Term>> {
    if decision.as_text().as_deref() == Some("hold") {
        return Some(None);
    }
    match decision.as_tuple()? {
        [tag, message] if tag.as_text().as_deref() == Some("hold") => Some(Some(message)),
        _ => None,
    }
}

/// Applies a returned message's `retain` or `properties` entry to `out`; `Ok(false)` for any
/// other key.
pub(crate) fn message_entry(out: &mut Message, key: &str, value: &Term) -> Result<bool, String> {
    match key {
        "retain" => {
            out.retain = value
                .as_bool()
                .ok_or_else(|| format!("retain {} is not a boolean", shown(value)))?;
        }
        "properties" => out.properties = properties(value)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Key/value pairs of a proplist or a map.
pub(crate) fn pairs(term: &Term) -> Result<Vec<(&Term, &Term)>, String> {
    if let Some(items) = term.as_list() {
        items
            .iter()
            .map(|item| match item.as_tuple() {
                Some([k, v]) => Ok((k, v)),
                _ => Err(format!("{} is not a {{key, value}} pair", shown(item))),
            })
            .collect()
    } else if let Some(entries) = term.as_map() {
        Ok(entries.iter().map(|(k, v)| (k, v)).collect())
    } else {
        Err(format!("{} is not a proplist or a map", shown(term)))
    }
}

/// Message properties from a proplist or map (see the module table).
fn properties(term: &Term) -> Result<Properties, String> {
    let mut out = Properties::default();
    for (key, value) in pairs(term)? {
        let key = key
            .as_text()
            .ok_or_else(|| format!("property name {} is not text", shown(key)))?;
        let name = key.to_ascii_lowercase().replace('-', "_");
        let int = || {
            value
                .as_int()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("{key} {} is not a number", shown(value)))
        };
        let property = match name.as_str() {
            "payload_format_indicator" => Property::PayloadFormatIndicator(
                u8::try_from(int()?).map_err(|_| format!("{key} is not 0 or 1"))?,
            ),
            "message_expiry_interval" => Property::MessageExpiryInterval(int()?),
            "content_type" => Property::ContentType(text(&key, value)?),
            "response_topic" => Property::ResponseTopic(text(&key, value)?),
            "correlation_data" => Property::CorrelationData(bytes(&key, value)?),
            "user_property" | "user_properties" => {
                for (k, v) in pairs(value)? {
                    out.push(Property::UserProperty(text(&key, k)?, text(&key, v)?));
                }
                continue;
            }
            _ => return Err(format!("property {key} cannot travel with a message")),
        };
        out.push(property);
    }
    Ok(out)
}

/// A text value (a binary or a charlist) as UTF-8.
pub(crate) fn text(key: &str, value: &Term) -> Result<ByteString, String> {
    let bytes = bytes(key, value)?;
    ByteString::try_from(bytes).map_err(|_| format!("{key} is not UTF-8"))
}

fn bytes(key: &str, value: &Term) -> Result<Bytes, String> {
    match value {
        Term::Binary(b) => Ok(b.clone()),
        Term::Atom(_) => Err(format!("{key} {} is not text", shown(value))),
        other => other
            .as_charlist_string()
            .map(Bytes::from)
            .ok_or_else(|| format!("{key} {} is not text", shown(value))),
    }
}

/// A `client_subscribe` answer: one entry per filter of `asked`, in order.
pub(crate) fn filters(
    decision: &Term,
    asked: &[(TopicFilter, SubscriptionOptions)],
) -> Result<Vec<FilterRequest>, String> {
    let items = decision
        .as_list()
        .ok_or_else(|| format!("{} is not a list of filters", shown(decision)))?;
    if items.len() != asked.len() {
        return Err(format!(
            "{} filters answered for a SUBSCRIBE of {}",
            items.len(),
            asked.len()
        ));
    }
    items
        .iter()
        .zip(asked)
        .map(|(item, (_, options))| filter(item, *options))
        .collect()
}

fn filter(item: &Term, mut options: SubscriptionOptions) -> Result<FilterRequest, String> {
    let Some([name, how]) = item.as_tuple() else {
        return Err(format!("{} is not (TopicFilter, QoS)", shown(item)));
    };
    let name = text("topic filter", name)?;
    let filter = TopicFilter::new(name.clone())
        .map_err(|e| format!("{name:?} is not a topic filter: {e}"))?;
    if let Some(n) = how.as_int() {
        return match u8::try_from(n) {
            Ok(code @ 0x80..=0xFF) => {
                Ok(FilterRequest::new(filter, options).refuse(ReasonCode(code)))
            }
            Ok(q) => {
                options.qos = QoS::from_u8(q).ok_or_else(|| format!("qos {q} is not 0, 1 or 2"))?;
                Ok(FilterRequest::new(filter, options))
            }
            Err(_) => Err(format!("{n} is neither a QoS nor a SUBACK code")),
        };
    }
    for (key, value) in pairs(how)? {
        let key = key.as_text().unwrap_or_default();
        let flag = || {
            value
                .as_bool()
                .ok_or_else(|| format!("{key} {} is not a boolean", shown(value)))
        };
        match key.as_str() {
            "qos" => {
                options.qos = value
                    .as_int()
                    .and_then(|q| u8::try_from(q).ok())
                    .and_then(QoS::from_u8)
                    .ok_or_else(|| format!("qos {} is not 0, 1 or 2", shown(value)))?;
            }
            "no_local" | "nl" => options.no_local = flag()?,
            "retain_as_published" | "rap" => options.retain_as_published = flag()?,
            "retain_handling" | "rh" => {
                options.retain_handling = match value.as_int() {
                    Some(0) => RetainHandling::SendAtSubscribe,
                    Some(1) => RetainHandling::SendIfNew,
                    Some(2) => RetainHandling::DoNotSend,
                    _ => return Err(format!("retain_handling {} is not 0, 1 or 2", shown(value))),
                };
            }
            other => return Err(format!("unknown subscription option {other:?}")),
        }
    }
    Ok(FilterRequest::new(filter, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(k: &str, v: Term) -> Term {
        Term::tuple([Term::atom(k.to_owned()), v])
    }

    #[test]
    fn properties_read_both_spellings_and_refuse_what_cannot_travel() {
        let props = Term::list([
            pair("content_type", Term::binary("text/plain")),
            pair("Message-Expiry-Interval", Term::Int(60)),
            pair(
                "user_property",
                Term::list([Term::tuple([Term::binary("k"), Term::binary("v")])]),
            ),
        ]);
        let got = properties(&props).unwrap();
        assert_eq!(got.content_type().as_deref(), Some("text/plain"));
        assert_eq!(got.message_expiry_interval(), Some(60));
        assert_eq!(got.user_properties().count(), 1);
        assert!(properties(&Term::list([pair("topic_alias", Term::Int(1))])).is_err());
        assert!(
            properties(&Term::list([pair(
                "message_expiry_interval",
                Term::Int(-1)
            )]))
            .is_err()
        );
    }

    #[test]
    fn subscribe_answers_keep_rewrite_or_refuse_each_filter() {
        let asked = vec![
            (
                TopicFilter::new("a").unwrap(),
                SubscriptionOptions {
                    no_local: true,
                    ..Default::default()
                },
            ),
            (
                TopicFilter::new("b").unwrap(),
                SubscriptionOptions::default(),
            ),
            (
                TopicFilter::new("c").unwrap(),
                SubscriptionOptions::default(),
            ),
        ];
        let answer = Term::list([
            Term::tuple([Term::binary("a/new"), Term::Int(2)]),
            Term::tuple([Term::binary("b"), Term::Int(0x87)]),
            Term::tuple([
                Term::binary("c"),
                Term::list([
                    pair("qos", Term::Int(1)),
                    pair("retain_handling", Term::Int(2)),
                ]),
            ]),
        ]);
        let got = filters(&answer, &asked).unwrap();
        assert_eq!(got[0].filter.as_str(), "a/new");
        assert_eq!(got[0].options.qos, QoS::ExactlyOnce);
        assert!(got[0].options.no_local, "other options are kept");
        assert_eq!(got[1].refused, Some(ReasonCode::NOT_AUTHORIZED));
        assert_eq!(got[2].options.retain_handling, RetainHandling::DoNotSend);
        for bad in [
            Term::list([Term::tuple([Term::binary("a"), Term::Int(1)])]),
            Term::list([
                Term::tuple([Term::binary("a/#/b"), Term::Int(1)]),
                Term::tuple([Term::binary("b"), Term::Int(1)]),
                Term::tuple([Term::binary("c"), Term::Int(1)]),
            ]),
            Term::list([
                Term::tuple([Term::binary("a"), Term::Int(3)]),
                Term::tuple([Term::binary("b"), Term::Int(1)]),
                Term::tuple([Term::binary("c"), Term::Int(1)]),
            ]),
            Term::Int(1),
        ] {
            assert!(filters(&bad, &asked).is_err(), "{bad}");
        }
    }
}
