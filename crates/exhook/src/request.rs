//! Events to requests: each hook event becomes the protobuf request of its RPC, built as an
//! `emqx.exhook.v3` message and encoded for the server's version. Field numbers are shared by all
//! versions, so a v3 encoding is a valid v2 / v1 encoding once the version-specific fields are
//! right: user properties folded into `props` (v1, v2), no `peerport` (v1), and the legacy
//! `TopicFilter.qos` / `SubOpts.share` fields (v1, v2), which the three subscription requests
//! re-encode through their v2 / v1 types.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookmq_codec::{Properties, Property, SubscriptionOptions, TopicFilter};
use hookmq_hooks::{Action, ClientInfo, ConnInfo, Event, Message, peerhost_text};
use prost::Message as _;

use crate::BrokerInfo;
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

    fn legacy(&self) -> bool {
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
        Event::ClientAuthenticate { clientinfo, result } => pb::ClientAuthenticateRequest {
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

fn text(s: &Option<bytestring::ByteString>) -> String {
    s.as_ref().map(|s| s.to_string()).unwrap_or_default()
}

fn conn_info(c: &ConnInfo, cx: &RequestContext) -> pb::ConnInfo {
    pb::ConnInfo {
        node: c.node.as_str().to_owned(),
        clientid: c.clientid.to_string(),
        username: text(&c.username),
        peerhost: c.peerhost(),
        sockport: u32::from(c.sockport),
        proto_name: c.protocol.name().to_owned(),
        proto_ver: c.protocol.level().to_string(),
        keepalive: u32::from(c.keepalive),
        peerport: if cx.version == ProtoVersion::V1 {
            0
        } else {
            u32::from(c.peer.port())
        },
    }
}

fn client_info(c: &ClientInfo, cx: &RequestContext) -> pb::ClientInfo {
    pb::ClientInfo {
        node: c.node.as_str().to_owned(),
        clientid: c.clientid.to_string(),
        username: text(&c.username),
        password: c
            .password
            .as_ref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default(),
        peerhost: c.peerhost(),
        sockport: u32::from(c.sockport),
        protocol: "mqtt".to_owned(),
        mountpoint: text(&c.mountpoint),
        is_superuser: c.is_superuser,
        anonymous: c.anonymous,
        cn: text(&c.cn),
        dn: text(&c.dn),
        peerport: if cx.version == ProtoVersion::V1 {
            0
        } else {
            u32::from(c.peer.port())
        },
    }
}

fn message_of(m: &Message, cx: &RequestContext) -> pb::Message {
    let mut headers = HashMap::new();
    if let Some(u) = &m.headers.username {
        headers.insert("username".to_owned(), u.to_string());
    }
    if m.headers.protocol.is_some() {
        headers.insert("protocol".to_owned(), "mqtt".to_owned());
    }
    if let Some(ip) = m.headers.peerhost {
        headers.insert("peerhost".to_owned(), peerhost_text(ip));
    }
    pb::Message {
        node: cx.meta.node.clone(),
        id: m.id.to_string(),
        qos: u32::from(m.qos.as_u8()),
        from: m.from.to_string(),
        topic: m.topic.as_str().to_owned(),
        payload: m.payload.clone(),
        timestamp: m.timestamp_ms,
        headers,
    }
}

fn topic_filter(f: &TopicFilter, o: &SubscriptionOptions) -> pb::TopicFilter {
    pb::TopicFilter {
        name: f.as_str().to_owned(),
        subopts: Some(sub_opts(o)),
    }
}

fn sub_opts(o: &SubscriptionOptions) -> pb::SubOpts {
    pb::SubOpts {
        qos: u32::from(o.qos.as_u8()),
        rh: o.retain_handling as u32,
        rap: u32::from(o.retain_as_published),
        nl: u32::from(o.no_local),
    }
}

/// The share group of a `$share/<group>/<filter>` filter, else empty.
fn share_group(f: &TopicFilter) -> String {
    f.shared().map(|s| s.group.to_owned()).unwrap_or_default()
}

/// Splits properties into `props` (every property but User-Property, values as text) and
/// `user_props`. v1 / v2 have no `user_props`: the pairs go into `props` as one `User-Property`
/// entry whose value is the list written as an Erlang term, as EMQX 5.0-5.8 sends it.
fn properties(props: &Properties, cx: &RequestContext) -> (Vec<pb::Property>, Vec<pb::Property>) {
    let mut plain = Vec::new();
    let mut user = Vec::new();
    for p in props.iter() {
        match p {
            Property::UserProperty(k, v) => user.push(pb::Property {
                name: k.to_string(),
                value: v.to_string(),
            }),
            other => plain.push(pb::Property {
                name: other.id().name().to_owned(),
                value: property_value(other),
            }),
        }
    }
    if cx.legacy() && !user.is_empty() {
        let pairs: Vec<String> = user
            .iter()
            .map(|p| format!("{{{},{}}}", erlang_binary(&p.name), erlang_binary(&p.value)))
            .collect();
        plain.push(pb::Property {
            name: "User-Property".to_owned(),
            value: format!("[{}]", pairs.join(",")),
        });
        user.clear();
    }
    (plain, user)
}

/// A property's value as text: numbers in decimal, strings as they are, binary data as (lossy)
/// UTF-8.
fn property_value(p: &Property) -> String {
    use Property as P;
    match p {
        P::PayloadFormatIndicator(n)
        | P::RequestProblemInformation(n)
        | P::RequestResponseInformation(n)
        | P::MaximumQos(n)
        | P::RetainAvailable(n)
        | P::WildcardSubscriptionAvailable(n)
        | P::SubscriptionIdentifierAvailable(n)
        | P::SharedSubscriptionAvailable(n) => n.to_string(),
        P::ServerKeepAlive(n)
        | P::ReceiveMaximum(n)
        | P::TopicAliasMaximum(n)
        | P::TopicAlias(n) => n.to_string(),
        P::MessageExpiryInterval(n)
        | P::SubscriptionIdentifier(n)
        | P::SessionExpiryInterval(n)
        | P::WillDelayInterval(n)
        | P::MaximumPacketSize(n) => n.to_string(),
        P::ContentType(s)
        | P::ResponseTopic(s)
        | P::AssignedClientIdentifier(s)
        | P::AuthenticationMethod(s)
        | P::ResponseInformation(s)
        | P::ServerReference(s)
        | P::ReasonString(s) => s.to_string(),
        P::CorrelationData(b) | P::AuthenticationData(b) => String::from_utf8_lossy(b).into_owned(),
        P::UserProperty(k, v) => format!("{k}={v}"),
    }
}

/// A string written as an Erlang binary term: `<<"text">>`, `<<"tèxt"/utf8>>` beyond ASCII.
fn erlang_binary(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 6);
    out.push_str("<<\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                out.push_str(&format!("\\{:o}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    if !s.is_ascii() {
        out.push_str("/utf8");
    }
    out.push_str(">>");
    out
}

/// `BrokerInfo.uptime` in v1: e.g. `1 days, 2 hours, 0 minutes, 5 seconds`, leading zero units
/// left out.
fn uptime_text(d: Duration) -> String {
    let s = d.as_secs();
    let parts = [
        (s / 86_400, "days"),
        (s / 3_600 % 24, "hours"),
        (s / 60 % 60, "minutes"),
        (s % 60, "seconds"),
    ];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    parts[first..]
        .iter()
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `BrokerInfo.datetime`: `YYYY-MM-DD HH:MM:SS` in UTC.
fn datetime_text(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian calendar), counting in
/// 400-year eras that start on March 1st so leap days fall at the end of a year.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // month counted from March
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
