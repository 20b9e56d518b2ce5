//! The shared parts of requests: `ConnInfo`, `ClientInfo`, `Message`, topic filters and MQTT 5
//! properties, filled the way EMQX fills them (empty strings for what is absent, `peerhost` as
//! text, properties as text, user properties split out for v3 and folded in for v1 / v2).

use std::collections::HashMap;

use hookmq_codec::{Properties, Property, SubscriptionOptions, TopicFilter};
use hookmq_hooks::{ClientInfo, ConnInfo, Message, peerhost_text};

use crate::proto::v3 as pb;
use crate::request::RequestContext;
use crate::version::ProtoVersion;

pub(crate) fn text(s: &Option<bytestring::ByteString>) -> String {
    s.as_ref().map(|s| s.to_string()).unwrap_or_default()
}

pub(crate) fn conn_info(c: &ConnInfo, cx: &RequestContext) -> pb::ConnInfo {
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

pub(crate) fn client_info(c: &ClientInfo, cx: &RequestContext) -> pb::ClientInfo {
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

pub(crate) fn message_of(m: &Message, cx: &RequestContext) -> pb::Message {
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

pub(crate) fn topic_filter(f: &TopicFilter, o: &SubscriptionOptions) -> pb::TopicFilter {
    pb::TopicFilter {
        name: f.as_str().to_owned(),
        subopts: Some(sub_opts(o)),
    }
}

pub(crate) fn sub_opts(o: &SubscriptionOptions) -> pb::SubOpts {
    pb::SubOpts {
        qos: u32::from(o.qos.as_u8()),
        rh: o.retain_handling as u32,
        rap: u32::from(o.retain_as_published),
        nl: u32::from(o.no_local),
    }
}

/// The share group of a `$share/<group>/<filter>` filter, else empty.
pub(crate) fn share_group(f: &TopicFilter) -> String {
    f.shared().map(|s| s.group.to_owned()).unwrap_or_default()
}

/// Splits properties into `props` (every property but User-Property, values as text) and
/// `user_props`. v1 / v2 have no `user_props`: the pairs go into `props` as one `User-Property`
/// entry whose value is the list written as an Erlang term, as EMQX 5.0-5.8 sends it.
pub(crate) fn properties(
    props: &Properties,
    cx: &RequestContext,
) -> (Vec<pb::Property>, Vec<pb::Property>) {
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
pub(crate) fn property_value(p: &Property) -> String {
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
pub(crate) fn erlang_binary(s: &str) -> String {
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
