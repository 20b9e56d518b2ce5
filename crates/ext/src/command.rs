//! Commands from the extension (`CommandBatch`): Ping and the broker services of
//! docs/services.md, decoded into a [`ServiceCall`], run through the registry's services and
//! answered by id in a `CommandReplyBatch` on the same stream. The stream's reader hands each
//! batch to a task of its own, so a command sent while the extension handles an event (also
//! for that event's client) never holds up the replies the broker waits for.

use std::sync::Weak;

use bytestring::ByteString;
use futures_util::future::join_all;
use hookmq_codec::{Properties, Property, QoS, ReasonCode, RetainHandling, SubscriptionOptions};
use hookmq_hooks::{
    AuthzTarget, ClientFilter, ClientSummary, Hooks, MessageId, Page, PublishRequest, ServiceCall,
    ServiceError, ServiceReply,
};

use crate::event;
use crate::proto::v1::{self as pb, command, command_error, command_reply};

/// Answers a batch of commands, in the order given.
pub(crate) async fn answer_all(
    hooks: Weak<Hooks>,
    commands: Vec<pb::Command>,
) -> Vec<pb::CommandReply> {
    join_all(commands.into_iter().map(|c| answer(&hooks, c))).await
}

/// The broker's answer to one command.
async fn answer(hooks: &Weak<Hooks>, cmd: pb::Command) -> pb::CommandReply {
    let id = cmd.id;
    let result = match cmd.call {
        Some(command::Call::Ping(p)) => command_reply::Result::Pong(pb::Pong { data: p.data }),
        None => error_of(
            command_error::Code::Unimplemented,
            "unknown_service",
            "this broker does not know the command".into(),
        ),
        Some(call) => {
            // Refusals are logged once: here for what cannot be decoded, by the registry's
            // `call_service` for what the broker refused.
            let outcome = match (decode(call), hooks.upgrade()) {
                (Err(e), _) => {
                    tracing::debug!(code = e.code(), error = %e, "an extension's command refused");
                    Err(e)
                }
                (Ok(_), None) => Err(ServiceError::Unavailable),
                (Ok(call), Some(hooks)) => hooks.call_service(call).await,
            };
            match outcome {
                Ok(reply) => encode(reply),
                Err(e) => error(&e),
            }
        }
    };
    pb::CommandReply {
        id,
        result: Some(result),
    }
}

fn bad(service: &str, reason: impl Into<String>) -> ServiceError {
    ServiceError::bad_argument(service, reason)
}

fn qos(service: &str, q: u32) -> Result<QoS, ServiceError> {
    u8::try_from(q)
        .ok()
        .and_then(QoS::from_u8)
        .ok_or_else(|| bad(service, format!("qos {q} is not 0, 1 or 2")))
}

fn options(service: &str, o: Option<pb::SubOpts>) -> Result<SubscriptionOptions, ServiceError> {
    let o = o.unwrap_or_default();
    let retain_handling = match o.retain_handling {
        0 => RetainHandling::SendAtSubscribe,
        1 => RetainHandling::SendIfNew,
        2 => RetainHandling::DoNotSend,
        n => {
            return Err(bad(
                service,
                format!("retain_handling {n} is not 0, 1 or 2"),
            ));
        }
    };
    Ok(SubscriptionOptions {
        qos: qos(service, o.qos)?,
        no_local: o.no_local,
        retain_as_published: o.retain_as_published,
        retain_handling,
    })
}

/// The properties a message may carry; any other is refused (a PUBLISH cannot carry it).
fn message_properties(
    service: &str,
    p: Option<pb::Properties>,
) -> Result<Properties, ServiceError> {
    let mut out = Properties::default();
    let Some(p) = p else { return Ok(out) };
    let foreign = !p.subscription_identifiers.is_empty()
        || p.session_expiry_interval.is_some()
        || p.assigned_client_identifier.is_some()
        || p.server_keep_alive.is_some()
        || p.authentication_method.is_some()
        || p.authentication_data.is_some()
        || p.request_problem_information.is_some()
        || p.will_delay_interval.is_some()
        || p.request_response_information.is_some()
        || p.response_information.is_some()
        || p.server_reference.is_some()
        || p.reason_string.is_some()
        || p.receive_maximum.is_some()
        || p.topic_alias_maximum.is_some()
        || p.maximum_qos.is_some()
        || p.retain_available.is_some()
        || p.maximum_packet_size.is_some()
        || p.wildcard_subscription_available.is_some()
        || p.subscription_identifier_available.is_some()
        || p.shared_subscription_available.is_some();
    if foreign {
        return Err(bad(
            service,
            "a message carries only payload format, message expiry, content type, response \
             topic, correlation data and user properties",
        ));
    }
    if let Some(v) = p.payload_format_indicator {
        let v = u8::try_from(v)
            .ok()
            .filter(|v| *v <= 1)
            .ok_or_else(|| bad(service, "payload_format_indicator must be 0 or 1"))?;
        out.push(Property::PayloadFormatIndicator(v));
    }
    if let Some(v) = p.message_expiry_interval {
        out.push(Property::MessageExpiryInterval(v));
    }
    if let Some(v) = p.content_type {
        out.push(Property::ContentType(v.into()));
    }
    if let Some(v) = p.response_topic {
        hookmq_codec::topic::validate_name(&v)
            .map_err(|e| bad(service, format!("response_topic: {e}")))?;
        out.push(Property::ResponseTopic(v.into()));
    }
    if let Some(v) = p.correlation_data {
        out.push(Property::CorrelationData(v));
    }
    for u in p.user_properties {
        out.push(Property::UserProperty(
            ByteString::from(u.key),
            ByteString::from(u.value),
        ));
    }
    Ok(out)
}

/// A command's service call.
pub(crate) fn decode(call: command::Call) -> Result<ServiceCall, ServiceError> {
    use command::Call as C;
    Ok(match call {
        C::Ping(_) => return Err(ServiceError::UnknownService("ping".into())),
        C::Publish(p) => {
            let mut req = PublishRequest::new(p.topic, p.payload);
            req.qos = qos("publish", p.qos)?;
            req.retain = p.retain;
            req.properties = message_properties("publish", p.properties)?;
            req.through_hooks = p.through_hooks;
            req.parent_hops = u8::try_from(p.parent_hops).unwrap_or(u8::MAX);
            ServiceCall::Publish(req)
        }
        C::Confirm(c) => ServiceCall::Confirm {
            id: <[u8; 16]>::try_from(&c.id[..])
                .map(|b| MessageId(u128::from_be_bytes(b)))
                .map_err(|_| {
                    ServiceError::bad_argument(
                        "confirm",
                        format!("the message id is {} bytes, not 16", c.id.len()),
                    )
                })?,
            ok: !c.failed,
        },
        C::Kick(k) => ServiceCall::Kick {
            clientid: k.clientid,
            reason: match k.reason_code {
                None => ReasonCode::ADMINISTRATIVE_ACTION,
                Some(r) => ReasonCode(
                    u8::try_from(r)
                        .map_err(|_| bad("kick", format!("reason code {r} is not a byte")))?,
                ),
            },
        },
        C::Subscribe(s) => ServiceCall::Subscribe {
            clientid: s.clientid,
            filter: s.filter,
            options: options("subscribe", s.options)?,
        },
        C::Unsubscribe(u) => ServiceCall::Unsubscribe {
            clientid: u.clientid,
            filter: u.filter,
        },
        C::Client(c) => ServiceCall::Client {
            clientid: c.clientid,
        },
        C::Clients(c) => ServiceCall::Clients {
            filter: ClientFilter {
                clientid_prefix: c.clientid_prefix,
                username: c.username,
                connected: c.connected,
            },
            page: Page {
                offset: c.offset as usize,
                limit: if c.limit == 0 {
                    Page::default().limit
                } else {
                    c.limit as usize
                },
            },
        },
        C::Session(s) => ServiceCall::Session {
            clientid: s.clientid,
        },
        C::RetainedGet(r) => ServiceCall::RetainedGet { topic: r.topic },
        C::RetainedSet(r) => ServiceCall::RetainedSet {
            qos: qos("retained_set", r.qos)?,
            properties: message_properties("retained_set", r.properties)?,
            topic: r.topic,
            payload: r.payload,
        },
        C::RetainedDelete(r) => ServiceCall::RetainedDelete { topic: r.topic },
        C::AuthzCacheInvalidate(a) => ServiceCall::AuthzCacheInvalidate(if a.clientid.is_empty() {
            AuthzTarget::All
        } else {
            AuthzTarget::Client(a.clientid)
        }),
        C::Metrics(_) => ServiceCall::Metrics,
    })
}

fn client(c: ClientSummary) -> pb::ClientResult {
    pb::ClientResult {
        clientid: c.clientid,
        username: c.username,
        connected: c.connected,
        peer: c.peer,
        proto_ver: c.proto_ver.into(),
        expiry_interval: c.expiry_interval,
        created_at_ms: c.created_at_ms,
    }
}

fn encode(reply: ServiceReply) -> command_reply::Result {
    use command_reply::Result as R;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match reply {
        ServiceReply::Published(p) => R::Published(pb::PublishResult {
            id: p.id.to_string(),
            receivers: p.receivers.map(count),
        }),
        ServiceReply::Kicked | ServiceReply::RetainedSet | ServiceReply::Confirmed => {
            R::Done(pb::Done {})
        }
        ServiceReply::Subscribed(q) => R::Subscribed(pb::SubscribeResult {
            granted_qos: q as u32,
        }),
        ServiceReply::Removed(existed) => R::Removed(pb::Removed { existed }),
        ServiceReply::Client(c) => R::Client(client(c)),
        ServiceReply::Clients(page) => R::Clients(pb::ClientsResult {
            total: count(page.total),
            clients: page.clients.into_iter().map(client).collect(),
        }),
        ServiceReply::Session(s) => R::Session(pb::SessionResult {
            clientid: s.clientid,
            connected: s.connected,
            subscriptions: s
                .subscriptions
                .into_iter()
                .map(|sub| pb::SessionSubscription {
                    filter: sub.filter,
                    options: Some(event::sub_opts(&sub.options)),
                })
                .collect(),
            queue_len: count(s.queue_len),
            inflight: count(s.inflight),
            expiry_interval: s.expiry_interval,
        }),
        ServiceReply::Retained(m) => R::Retained(pb::RetainedResult {
            message: m.as_deref().map(event::message_of),
        }),
        ServiceReply::Invalidated(n) => R::Count(pb::Count { count: n as u64 }),
        ServiceReply::Metrics(all) => R::Metrics(pb::MetricsResult {
            values: all.into_iter().collect(),
        }),
    }
}

fn error_of(code: command_error::Code, reason: &str, message: String) -> command_reply::Result {
    command_reply::Result::Error(pb::CommandError {
        code: code as i32,
        message,
        reason: reason.to_owned(),
    })
}

fn error(e: &ServiceError) -> command_reply::Result {
    use command_error::Code;
    let code = match e {
        ServiceError::UnknownClient(_) | ServiceError::NotHeld(_) => Code::NotFound,
        ServiceError::NotConnected(_)
        | ServiceError::NotAllowed(_)
        | ServiceError::LoopLimit { .. } => Code::FailedPrecondition,
        ServiceError::InvalidTopic { .. }
        | ServiceError::InvalidFilter { .. }
        | ServiceError::PayloadTooLarge { .. }
        | ServiceError::BadArgument { .. } => Code::InvalidArgument,
        ServiceError::UnknownService(_) => Code::Unimplemented,
        ServiceError::Unavailable | ServiceError::Failed(_) => Code::Unavailable,
    };
    error_of(code, e.code(), e.to_string())
}
