//! The modify rights in replies (issue 13), read by `reply.rs`: a `MessageEdit`'s retain flag
//! and properties, and a `Filters` answer to `client.subscribe`. What no packet can carry (a
//! property a message cannot hold, a reason code SUBACK does not allow) is refused here as
//! [`ReplyError::Invalid`], and again by the chain's checks for any value that gets past.

use bytestring::ByteString;
use hookmq_codec::{
    Properties, Property, QoS, ReasonCode, RetainHandling, SubscriptionOptions, TopicFilter,
};
use hookmq_hooks::{FilterRequest, Message, RightError, check_message, suback_refusal};

use crate::proto::v1 as pb;
use crate::reply::ReplyError;

fn invalid(e: RightError) -> ReplyError {
    ReplyError::Invalid(e.to_string())
}

/// Message properties from a reply: only those that travel with a message.
pub(crate) fn message_properties(p: pb::Properties) -> Result<Properties, ReplyError> {
    let cannot =
        |name: &str| ReplyError::Invalid(format!("property {name} cannot travel with a message"));
    let mut out = Properties::default();
    if let Some(v) = p.payload_format_indicator {
        let v = u8::try_from(v)
            .map_err(|_| ReplyError::Invalid(format!("payload_format_indicator {v}")))?;
        out.push(Property::PayloadFormatIndicator(v));
    }
    if let Some(v) = p.message_expiry_interval {
        out.push(Property::MessageExpiryInterval(v));
    }
    if let Some(v) = p.content_type {
        out.push(Property::ContentType(ByteString::from(v)));
    }
    if let Some(v) = p.response_topic {
        out.push(Property::ResponseTopic(ByteString::from(v)));
    }
    if let Some(v) = p.correlation_data {
        out.push(Property::CorrelationData(v));
    }
    for u in p.user_properties {
        out.push(Property::UserProperty(u.key.into(), u.value.into()));
    }
    let others = [
        (
            "subscription_identifiers",
            !p.subscription_identifiers.is_empty(),
        ),
        (
            "session_expiry_interval",
            p.session_expiry_interval.is_some(),
        ),
        (
            "assigned_client_identifier",
            p.assigned_client_identifier.is_some(),
        ),
        ("server_keep_alive", p.server_keep_alive.is_some()),
        ("authentication_method", p.authentication_method.is_some()),
        ("authentication_data", p.authentication_data.is_some()),
        (
            "request_problem_information",
            p.request_problem_information.is_some(),
        ),
        ("will_delay_interval", p.will_delay_interval.is_some()),
        (
            "request_response_information",
            p.request_response_information.is_some(),
        ),
        ("response_information", p.response_information.is_some()),
        ("server_reference", p.server_reference.is_some()),
        ("reason_string", p.reason_string.is_some()),
        ("receive_maximum", p.receive_maximum.is_some()),
        ("topic_alias_maximum", p.topic_alias_maximum.is_some()),
        ("maximum_qos", p.maximum_qos.is_some()),
        ("retain_available", p.retain_available.is_some()),
        ("maximum_packet_size", p.maximum_packet_size.is_some()),
        (
            "wildcard_subscription_available",
            p.wildcard_subscription_available.is_some(),
        ),
        (
            "subscription_identifier_available",
            p.subscription_identifier_available.is_some(),
        ),
        (
            "shared_subscription_available",
            p.shared_subscription_available.is_some(),
        ),
    ];
    if let Some((name, _)) = others.iter().find(|(_, set)| *set) {
        return Err(cannot(name));
    }
    Ok(out)
}

/// Checks an edited message as the chain will (so the extension's error names the field).
pub(crate) fn check(message: &Message) -> Result<(), ReplyError> {
    check_message(message).map_err(invalid)
}

/// A `Filters` answer read against the SUBSCRIBE's filters: one entry per filter, in order.
pub(crate) fn filters(
    answer: pb::Filters,
    asked: &[(TopicFilter, SubscriptionOptions)],
) -> Result<Vec<FilterRequest>, ReplyError> {
    if answer.filters.len() != asked.len() {
        return Err(invalid(RightError::FilterCount {
            got: answer.filters.len(),
            expected: asked.len(),
        }));
    }
    answer
        .filters
        .into_iter()
        .zip(asked)
        .map(|(a, (filter, options))| filter_answer(a, filter, *options))
        .collect()
}

fn filter_answer(
    a: pb::FilterAnswer,
    filter: &TopicFilter,
    mut options: SubscriptionOptions,
) -> Result<FilterRequest, ReplyError> {
    let filter = match a.filter {
        Some(f) if f != filter.as_str() => TopicFilter::new(f.clone())
            .map_err(|e| ReplyError::Invalid(format!("filter {f:?} is not a topic filter: {e}")))?,
        _ => filter.clone(),
    };
    if let Some(q) = a.qos {
        options.qos = u8::try_from(q)
            .ok()
            .and_then(QoS::from_u8)
            .ok_or_else(|| ReplyError::Invalid(format!("qos {q} is not 0, 1 or 2")))?;
    }
    if let Some(b) = a.no_local {
        options.no_local = b;
    }
    if let Some(b) = a.retain_as_published {
        options.retain_as_published = b;
    }
    if let Some(rh) = a.retain_handling {
        options.retain_handling = match rh {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            other => {
                return Err(ReplyError::Invalid(format!(
                    "retain_handling {other} is not 0, 1 or 2"
                )));
            }
        };
    }
    let request = FilterRequest::new(filter, options);
    match a.refuse {
        None => Ok(request),
        Some(code) => {
            let code = u8::try_from(code)
                .map(ReasonCode)
                .map_err(|_| ReplyError::Invalid(format!("refusal code {code} is not a byte")))?;
            Ok(request.refuse(suback_refusal(code).map_err(invalid)?))
        }
    }
}
