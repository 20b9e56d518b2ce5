//! Hook events to protocol events: each [`Event`] of the hooks crate becomes one `Event` message
//! carrying all of it (client and connection facts, MQTT 5 properties, subscription options).
//! The node name is left out of every `ClientInfo` and `ConnInfo`: the extension has it from
//! `Hello`. Called by a stream's writer task, off the clients' tasks.

use hookmq_codec::{Properties, Property, Protocol, SubscriptionOptions};
use hookmq_hooks::{
    Action, AuthResult, AuthStep, ClientInfo, ConnInfo, Event, Message, peerhost_text,
};

use crate::proto::v1 as pb;

/// The protocol event for `event` with id `id`; `no_reply` for events nobody waits for.
pub(crate) fn encode(id: u64, no_reply: bool, event: &Event) -> pb::Event {
    use pb::event::Payload as P;
    let payload = match event {
        Event::ClientConnect { conninfo, props } => P::ClientConnect(pb::ClientConnect {
            conninfo: Some(conn_info(conninfo)),
            props: Some(properties(props)),
        }),
        Event::ClientConnack {
            conninfo,
            result,
            props,
        } => P::ClientConnack(pb::ClientConnack {
            conninfo: Some(conn_info(conninfo)),
            reason_code: u32::from(result.0),
            result: result.name().to_owned(),
            props: Some(properties(props)),
        }),
        Event::ClientConnected {
            clientinfo,
            conninfo,
        } => P::ClientConnected(pb::ClientConnected {
            clientinfo: Some(client_info(clientinfo)),
            conninfo: Some(conn_info(conninfo)),
        }),
        Event::ClientDisconnected {
            clientinfo,
            reason,
            conninfo,
        } => P::ClientDisconnected(pb::ClientDisconnected {
            clientinfo: Some(client_info(clientinfo)),
            reason: reason.to_string(),
            conninfo: Some(conn_info(conninfo)),
        }),
        Event::ClientAuthenticate {
            clientinfo, result, ..
        } => P::ClientAuthenticate(pb::ClientAuthenticate {
            clientinfo: Some(client_info(clientinfo)),
            result: Some(auth_result(*result)),
        }),
        Event::ClientAuthorize {
            clientinfo,
            action,
            topic,
            result,
        } => P::ClientAuthorize(pb::ClientAuthorize {
            clientinfo: Some(client_info(clientinfo)),
            action: match action {
                Action::Publish => pb::Action::Publish,
                Action::Subscribe => pb::Action::Subscribe,
            } as i32,
            topic: topic.to_string(),
            allow: *result,
        }),
        Event::ClientSubscribe {
            clientinfo,
            props,
            filters,
        } => P::ClientSubscribe(pb::ClientSubscribe {
            clientinfo: Some(client_info(clientinfo)),
            props: Some(properties(props)),
            filters: filters
                .iter()
                .map(|(f, o)| pb::TopicFilter {
                    filter: f.as_str().to_owned(),
                    options: Some(sub_opts(o)),
                })
                .collect(),
        }),
        Event::ClientUnsubscribe {
            clientinfo,
            props,
            filters,
        } => P::ClientUnsubscribe(pb::ClientUnsubscribe {
            clientinfo: Some(client_info(clientinfo)),
            props: Some(properties(props)),
            filters: filters.iter().map(|f| f.as_str().to_owned()).collect(),
        }),
        Event::SessionCreated { clientinfo } => P::SessionCreated(session(clientinfo)),
        Event::SessionResumed { clientinfo } => P::SessionResumed(session(clientinfo)),
        Event::SessionDiscarded { clientinfo } => P::SessionDiscarded(session(clientinfo)),
        Event::SessionTakenover { clientinfo } => P::SessionTakenover(session(clientinfo)),
        Event::SessionSubscribed {
            clientinfo,
            filter,
            info,
        } => P::SessionSubscribed(pb::SessionSubscribed {
            clientinfo: Some(client_info(clientinfo)),
            filter: filter.as_str().to_owned(),
            options: Some(sub_opts(&info.options)),
            is_new: info.is_new,
            subscription_id: info.subscription_id,
        }),
        Event::SessionUnsubscribed { clientinfo, filter } => {
            P::SessionUnsubscribed(pb::SessionUnsubscribed {
                clientinfo: Some(client_info(clientinfo)),
                filter: filter.as_str().to_owned(),
            })
        }
        Event::SessionTerminated { clientinfo, reason } => {
            P::SessionTerminated(pb::SessionTerminated {
                clientinfo: Some(client_info(clientinfo)),
                reason: reason.to_string(),
            })
        }
        Event::MessagePublish { message } => P::MessagePublish(pb::MessagePublish {
            message: Some(message_of(message)),
        }),
        Event::MessageDelivered {
            clientinfo,
            message,
        } => P::MessageDelivered(pb::MessageDelivered {
            clientinfo: Some(client_info(clientinfo)),
            message: Some(message_of(message)),
        }),
        Event::MessageAcked {
            clientinfo,
            message,
        } => P::MessageAcked(pb::MessageAcked {
            clientinfo: Some(client_info(clientinfo)),
            message: Some(message_of(message)),
        }),
        Event::MessageDropped { message, reason } => P::MessageDropped(pb::MessageDropped {
            message: Some(message_of(message)),
            reason: reason.name().to_owned(),
        }),
        Event::ClientEnhancedAuthenticate {
            clientinfo,
            method,
            data,
            step,
            state,
            ..
        } => P::ClientEnhancedAuthenticate(pb::ClientEnhancedAuthenticate {
            clientinfo: Some(client_info(clientinfo)),
            method: method.to_string(),
            data: data.clone(),
            step: match step {
                AuthStep::Initial => pb::AuthStep::Initial,
                AuthStep::Continue => pb::AuthStep::Continue,
                AuthStep::Reauthenticate => pb::AuthStep::Reauthenticate,
            } as i32,
            state: state.clone(),
        }),
    };
    pb::Event {
        id,
        no_reply,
        payload: Some(payload),
    }
}

fn session(clientinfo: &ClientInfo) -> pb::SessionEvent {
    pb::SessionEvent {
        clientinfo: Some(client_info(clientinfo)),
    }
}

/// The protocol's level numbering.
pub(crate) fn protocol(p: Protocol) -> pb::Protocol {
    match p {
        Protocol::V3_1 => pb::Protocol::Mqtt31,
        Protocol::V3_1_1 => pb::Protocol::Mqtt311,
        Protocol::V5 => pb::Protocol::Mqtt5,
    }
}

fn conn_info(c: &ConnInfo) -> pb::ConnInfo {
    pb::ConnInfo {
        clientid: c.clientid.to_string(),
        username: c.username.as_ref().map(ToString::to_string),
        peerhost: c.peerhost(),
        peerport: u32::from(c.peer.port()),
        sockport: u32::from(c.sockport),
        protocol: protocol(c.protocol) as i32,
        keepalive: u32::from(c.keepalive),
        clean_start: c.clean_start,
        expiry_interval: c.expiry_interval,
        connected_at_ms: c.connected_at_ms,
    }
}

fn client_info(c: &ClientInfo) -> pb::ClientInfo {
    pb::ClientInfo {
        clientid: c.clientid.to_string(),
        username: c.username.as_ref().map(ToString::to_string),
        password: c.password.clone(),
        peerhost: c.peerhost(),
        peerport: u32::from(c.peer.port()),
        sockport: u32::from(c.sockport),
        protocol: protocol(c.protocol) as i32,
        mountpoint: c.mountpoint.as_ref().map(ToString::to_string),
        is_superuser: c.is_superuser,
        anonymous: c.anonymous,
        cn: c.cn.as_ref().map(ToString::to_string),
        dn: c.dn.as_ref().map(ToString::to_string),
    }
}

pub(crate) fn auth_result(r: AuthResult) -> pb::AuthResult {
    match r {
        AuthResult::Allow { superuser } => pb::AuthResult {
            allow: true,
            superuser,
            reason_code: 0,
        },
        AuthResult::Deny(code) => pb::AuthResult {
            allow: false,
            superuser: false,
            reason_code: u32::from(code.0),
        },
    }
}

pub(crate) fn sub_opts(o: &SubscriptionOptions) -> pb::SubOpts {
    pb::SubOpts {
        qos: o.qos as u32,
        no_local: o.no_local,
        retain_as_published: o.retain_as_published,
        retain_handling: o.retain_handling as u32,
    }
}

/// The message with all its properties.
pub(crate) fn message_of(m: &Message) -> pb::Message {
    pb::Message {
        id: m.id.0.to_be_bytes().to_vec().into(),
        qos: m.qos as u32,
        from: m.from.to_string(),
        topic: m.topic.as_str().to_owned(),
        payload: m.payload.clone(),
        retain: m.retain,
        timestamp_ms: m.timestamp_ms,
        properties: (!m.properties.is_empty()).then(|| properties(&m.properties)),
        username: m.headers.username.as_ref().map(ToString::to_string),
        peerhost: m.headers.peerhost.map(peerhost_text),
        protocol: m
            .headers
            .protocol
            .map_or(pb::Protocol::Unspecified, protocol) as i32,
        hops: m.headers.hops.into(),
    }
}

/// Every property present, in one message.
pub(crate) fn properties(props: &Properties) -> pb::Properties {
    let mut out = pb::Properties::default();
    for p in props.iter() {
        match p {
            Property::PayloadFormatIndicator(v) => out.payload_format_indicator = Some((*v).into()),
            Property::MessageExpiryInterval(v) => out.message_expiry_interval = Some(*v),
            Property::ContentType(v) => out.content_type = Some(v.to_string()),
            Property::ResponseTopic(v) => out.response_topic = Some(v.to_string()),
            Property::CorrelationData(v) => out.correlation_data = Some(v.clone()),
            Property::SubscriptionIdentifier(v) => out.subscription_identifiers.push(*v),
            Property::SessionExpiryInterval(v) => out.session_expiry_interval = Some(*v),
            Property::AssignedClientIdentifier(v) => {
                out.assigned_client_identifier = Some(v.to_string())
            }
            Property::ServerKeepAlive(v) => out.server_keep_alive = Some((*v).into()),
            Property::AuthenticationMethod(v) => out.authentication_method = Some(v.to_string()),
            Property::AuthenticationData(v) => out.authentication_data = Some(v.clone()),
            Property::RequestProblemInformation(v) => {
                out.request_problem_information = Some((*v).into())
            }
            Property::WillDelayInterval(v) => out.will_delay_interval = Some(*v),
            Property::RequestResponseInformation(v) => {
                out.request_response_information = Some((*v).into())
            }
            Property::ResponseInformation(v) => out.response_information = Some(v.to_string()),
            Property::ServerReference(v) => out.server_reference = Some(v.to_string()),
            Property::ReasonString(v) => out.reason_string = Some(v.to_string()),
            Property::ReceiveMaximum(v) => out.receive_maximum = Some((*v).into()),
            Property::TopicAliasMaximum(v) => out.topic_alias_maximum = Some((*v).into()),
            // Per connection; never carried by a message or shown to hooks.
            Property::TopicAlias(_) => {}
            Property::MaximumQos(v) => out.maximum_qos = Some((*v).into()),
            Property::RetainAvailable(v) => out.retain_available = Some((*v).into()),
            Property::UserProperty(k, v) => out.user_properties.push(pb::UserProperty {
                key: k.to_string(),
                value: v.to_string(),
            }),
            Property::MaximumPacketSize(v) => out.maximum_packet_size = Some(*v),
            Property::WildcardSubscriptionAvailable(v) => {
                out.wildcard_subscription_available = Some((*v).into())
            }
            Property::SubscriptionIdentifierAvailable(v) => {
                out.subscription_identifier_available = Some((*v).into())
            }
            Property::SharedSubscriptionAvailable(v) => {
                out.shared_subscription_available = Some((*v).into())
            }
        }
    }
    out
}
