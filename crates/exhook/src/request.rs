//! Events to requests: each hook event becomes the protobuf request of its RPC, built as an
//! `emqx.exhook.v3` message and encoded for the server's version. Field numbers are shared by all
//! versions, so a v3 encoding is a valid v2 / v1 encoding once the version-specific fields are
//! right: user properties folded into `props` (v1, v2), no `peerport` (v1), and the legacy
//! `TopicFilter.qos` / `SubOpts.share` fields (v1, v2), which the three subscription requests
//! re-encode through their v2 / v1 types.

use std::time::SystemTime;

use hookmq_codec::SubscriptionOptions;
use hookmq_hooks::{Action, Event};
use prost::Message as _;

use crate::BrokerInfo;
use crate::clock::{datetime_text, uptime_text};
use crate::fields::{
    client_info, conn_info, message_of, properties, share_group, sub_opts, topic_filter,
};
use crate::proto::{v1, v2, v3 as pb};
use crate::version::ProtoVersion;

/// What every request of one server carries besides the event.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    /// The version the server speaks.
    pub(crate) version: ProtoVersion,
    /// `RequestMeta`, the same in every request.
    pub(crate) meta: pb::RequestMeta,
}

impl RequestContext {
    pub(crate) fn new(version: ProtoVersion, info: &BrokerInfo) -> RequestContext {
        RequestContext {
            version,
            meta: request_meta(info),
        }
    }

    /// Whether the server speaks v1 or v2 (no `user_props`, legacy filter fields).
    pub(crate) fn legacy(&self) -> bool {
        self.version != ProtoVersion::V3
    }
}

/// `RequestMeta` for this broker.
pub(crate) fn request_meta(info: &BrokerInfo) -> pb::RequestMeta {
    pb::RequestMeta {
        node: info.node.clone(),
        version: info.version.clone(),
        sysdescr: info.sysdescr.clone(),
        cluster_name: info.cluster_name.clone(),
    }
}

/// The `OnProviderLoaded` request.
pub(crate) fn provider_loaded(cx: &RequestContext, info: &BrokerInfo) -> Vec<u8> {
    let uptime = info.started_at.elapsed().unwrap_or_default();
    let datetime = datetime_text(SystemTime::now());
    let meta = Some(cx.meta.clone());
    match cx.version {
        ProtoVersion::V1 => v1::ProviderLoadedRequest {
            broker: Some(v1::BrokerInfo {
                version: info.version.clone(),
                sysdescr: info.sysdescr.clone(),
                uptime: uptime_text(uptime),
                datetime,
            }),
            meta: meta.map(|m| transcode(&m)),
        }
        .encode_to_vec(),
        ProtoVersion::V2 | ProtoVersion::V3 => pb::ProviderLoadedRequest {
            broker: Some(pb::BrokerInfo {
                version: info.version.clone(),
                sysdescr: info.sysdescr.clone(),
                uptime: i64::try_from(uptime.as_millis()).unwrap_or(i64::MAX),
                datetime,
            }),
            meta,
        }
        .encode_to_vec(),
    }
}

/// The `OnProviderUnloaded` request.
pub(crate) fn provider_unloaded(cx: &RequestContext) -> Vec<u8> {
    pb::ProviderUnloadedRequest {
        meta: Some(cx.meta.clone()),
    }
    .encode_to_vec()
}

/// The request for one hook event, encoded for the server's version.
pub(crate) fn encode(event: &Event, cx: &RequestContext) -> Vec<u8> {
    let meta = Some(cx.meta.clone());
    match event {
        Event::ClientConnect { conninfo, props } => {
            let (props, user_props) = properties(props, cx);
            pb::ClientConnectRequest {
                conninfo: Some(conn_info(conninfo, cx)),
                props,
                meta,
                user_props,
            }
            .encode_to_vec()
        }
        Event::ClientConnack {
            conninfo,
            result,
            props,
        } => {
            let (props, user_props) = properties(props, cx);
            pb::ClientConnackRequest {
                conninfo: Some(conn_info(conninfo, cx)),
                result_code: result.name().to_owned(),
                props,
                meta,
                user_props,
            }
            .encode_to_vec()
        }
        Event::ClientConnected { clientinfo, .. } => pb::ClientConnectedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            meta,
        }
        .encode_to_vec(),
        Event::ClientDisconnected {
            clientinfo, reason, ..
        } => pb::ClientDisconnectedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            reason: reason.to_string(),
            meta,
        }
        .encode_to_vec(),
        Event::ClientAuthenticate {
            clientinfo, result, ..
        } => pb::ClientAuthenticateRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            result: result.is_allowed(),
            meta,
        }
        .encode_to_vec(),
        Event::ClientAuthorize {
            clientinfo,
            action,
            topic,
            result,
        } => {
            let kind = match action {
                Action::Publish => pb::client_authorize_request::AuthorizeReqType::Publish,
                Action::Subscribe => pb::client_authorize_request::AuthorizeReqType::Subscribe,
            };
            pb::ClientAuthorizeRequest {
                clientinfo: Some(client_info(clientinfo, cx)),
                r#type: kind as i32,
                topic: topic.to_string(),
                result: *result,
                meta,
            }
            .encode_to_vec()
        }
        Event::ClientSubscribe {
            clientinfo,
            props,
            filters,
        } => {
            let (props, user_props) = properties(props, cx);
            let req = pb::ClientSubscribeRequest {
                clientinfo: Some(client_info(clientinfo, cx)),
                props,
                topic_filters: filters.iter().map(|(f, o)| topic_filter(f, o)).collect(),
                meta,
                user_props,
            };
            let legacy = filters
                .iter()
                .map(|(f, o)| (u32::from(o.qos.as_u8()), share_group(f)))
                .collect();
            subscription_filters::<v2::ClientSubscribeRequest, v1::ClientSubscribeRequest>(
                req, cx, legacy,
            )
        }
        Event::ClientUnsubscribe {
            clientinfo,
            props,
            filters,
        } => {
            let (props, user_props) = properties(props, cx);
            let none = SubscriptionOptions::default();
            let req = pb::ClientUnsubscribeRequest {
                clientinfo: Some(client_info(clientinfo, cx)),
                props,
                topic_filters: filters.iter().map(|f| topic_filter(f, &none)).collect(),
                meta,
                user_props,
            };
            let legacy = filters.iter().map(|f| (0, share_group(f))).collect();
            subscription_filters::<v2::ClientUnsubscribeRequest, v1::ClientUnsubscribeRequest>(
                req, cx, legacy,
            )
        }
        Event::SessionCreated { clientinfo } => pb::SessionCreatedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            meta,
        }
        .encode_to_vec(),
        Event::SessionSubscribed {
            clientinfo,
            filter,
            info,
        } => {
            let req = pb::SessionSubscribedRequest {
                clientinfo: Some(client_info(clientinfo, cx)),
                topic: filter.as_str().to_owned(),
                subopts: Some(sub_opts(&info.options)),
                meta,
            };
            let share = share_group(filter);
            match cx.version {
                ProtoVersion::V3 => req.encode_to_vec(),
                ProtoVersion::V2 => {
                    let mut r: v2::SessionSubscribedRequest = transcode(&req);
                    if let Some(o) = r.subopts.as_mut() {
                        o.share = share;
                    }
                    r.encode_to_vec()
                }
                ProtoVersion::V1 => {
                    let mut r: v1::SessionSubscribedRequest = transcode(&req);
                    if let Some(o) = r.subopts.as_mut() {
                        o.share = share;
                    }
                    r.encode_to_vec()
                }
            }
        }
        Event::SessionUnsubscribed { clientinfo, filter } => pb::SessionUnsubscribedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            topic: filter.as_str().to_owned(),
            meta,
        }
        .encode_to_vec(),
        Event::SessionResumed { clientinfo } => pb::SessionResumedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            meta,
        }
        .encode_to_vec(),
        Event::SessionDiscarded { clientinfo } => pb::SessionDiscardedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            meta,
        }
        .encode_to_vec(),
        Event::SessionTakenover { clientinfo } => pb::SessionTakenoverRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            meta,
        }
        .encode_to_vec(),
        Event::SessionTerminated { clientinfo, reason } => pb::SessionTerminatedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            reason: reason.to_string(),
            meta,
        }
        .encode_to_vec(),
        Event::MessagePublish { message } => {
            // Only v3 has props / user_props here.
            let (props, user_props) = if cx.legacy() {
                (Vec::new(), Vec::new())
            } else {
                properties(&message.properties, cx)
            };
            pb::MessagePublishRequest {
                message: Some(message_of(message, cx)),
                meta,
                props,
                user_props,
            }
            .encode_to_vec()
        }
        Event::MessageDelivered {
            clientinfo,
            message,
        } => pb::MessageDeliveredRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            message: Some(message_of(message, cx)),
            meta,
        }
        .encode_to_vec(),
        Event::MessageAcked {
            clientinfo,
            message,
        } => pb::MessageAckedRequest {
            clientinfo: Some(client_info(clientinfo, cx)),
            message: Some(message_of(message, cx)),
            meta,
        }
        .encode_to_vec(),
        Event::MessageDropped { message, reason } => pb::MessageDroppedRequest {
            message: Some(message_of(message, cx)),
            reason: reason.name().to_owned(),
            meta,
        }
        .encode_to_vec(),
        // Not in EMQX's protocols: `ProtoVersion::parse_hook` never registers an exhook server
        // for it, so no request is ever built.
        Event::ClientEnhancedAuthenticate { .. } => Vec::new(),
    }
}

/// Access to the topic filters of the v2 / v1 subscribe and unsubscribe requests.
trait LegacyFilters: prost::Message + Default {
    /// Sets the legacy `qos` (and in v2 `subopts.share`) of filter `i`.
    fn set_legacy(&mut self, i: usize, qos: u32, share: &str);
}

macro_rules! legacy_filters {
    (v2: $($t:ty),*) => {$(
        impl LegacyFilters for $t {
            fn set_legacy(&mut self, i: usize, qos: u32, share: &str) {
                if let Some(f) = self.topic_filters.get_mut(i) {
                    f.qos = qos;
                    if let Some(o) = f.subopts.as_mut() {
                        o.share = share.to_owned();
                    }
                }
            }
        }
    )*};
    (v1: $($t:ty),*) => {$(
        impl LegacyFilters for $t {
            fn set_legacy(&mut self, i: usize, qos: u32, _share: &str) {
                if let Some(f) = self.topic_filters.get_mut(i) {
                    f.qos = qos;
                }
            }
        }
    )*};
}

legacy_filters!(v2: v2::ClientSubscribeRequest, v2::ClientUnsubscribeRequest);
legacy_filters!(v1: v1::ClientSubscribeRequest, v1::ClientUnsubscribeRequest);

/// Encodes a subscribe / unsubscribe request, adding the legacy per-filter fields (`qos`, and the
/// share group) for v2 / v1.
fn subscription_filters<V2: LegacyFilters, V1: LegacyFilters>(
    req: impl prost::Message,
    cx: &RequestContext,
    legacy: Vec<(u32, String)>,
) -> Vec<u8> {
    fn fill<T: LegacyFilters>(mut r: T, legacy: Vec<(u32, String)>) -> Vec<u8> {
        for (i, (qos, share)) in legacy.into_iter().enumerate() {
            r.set_legacy(i, qos, &share);
        }
        r.encode_to_vec()
    }
    match cx.version {
        ProtoVersion::V3 => req.encode_to_vec(),
        ProtoVersion::V2 => fill(transcode::<V2>(&req), legacy),
        ProtoVersion::V1 => fill(transcode::<V1>(&req), legacy),
    }
}

/// Re-reads a message as another version's type with the same field numbers.
fn transcode<T: prost::Message + Default>(m: &impl prost::Message) -> T {
    // Both types come from protos with the same field numbers and wire types, so decoding cannot
    // fail; fields the target lacks are skipped.
    T::decode(m.encode_to_vec().as_slice()).unwrap_or_default()
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
