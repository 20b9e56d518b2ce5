//! Event → request conversion, checked by decoding the bytes with each version's generated types
//! (what a server built from that version's proto reads).

use std::time::Duration;

use hookmq_hooks::{Event, HookPoint};
use prost::Message as _;

use super::*;
use crate::test_events;

fn info() -> BrokerInfo {
    BrokerInfo {
        node: "hookmq@127.0.0.1".into(),
        version: "0.1.0".into(),
        sysdescr: "hookmq".into(),
        started_at: SystemTime::now() - Duration::from_secs(3_725),
        cluster_name: "hookmq".into(),
    }
}

fn cx(version: ProtoVersion) -> RequestContext {
    RequestContext::new(version, &info())
}

fn decode<T: prost::Message + Default>(event: &Event, version: ProtoVersion) -> T {
    T::decode(encode(event, &cx(version)).as_slice()).unwrap()
}

fn event(point: HookPoint) -> Event {
    test_events::all()
        .into_iter()
        .find(|e| e.point() == point)
        .unwrap()
}

/// Name / value of the `Property` type of any version.
trait NameValue {
    fn pair(&self) -> (&str, &str);
}

macro_rules! name_value {
    ($($t:ty),*) => {$(
        impl NameValue for $t {
            fn pair(&self) -> (&str, &str) {
                (self.name.as_str(), self.value.as_str())
            }
        }
    )*};
}

name_value!(pb::Property, v2::Property, v1::Property);

fn pairs<P: NameValue>(props: &[P]) -> Vec<(&str, &str)> {
    props.iter().map(NameValue::pair).collect()
}

#[test]
fn every_request_carries_the_meta() {
    for e in test_events::all() {
        // `meta` has a different field number per request; read it through the v3 type of each.
        let bytes = encode(&e, &cx(ProtoVersion::V3));
        let meta = match e.point() {
            HookPoint::ClientConnect => pb::ClientConnectRequest::decode(&bytes[..]).unwrap().meta,
            HookPoint::ClientConnack => pb::ClientConnackRequest::decode(&bytes[..]).unwrap().meta,
            HookPoint::ClientAuthorize => {
                pb::ClientAuthorizeRequest::decode(&bytes[..]).unwrap().meta
            }
            HookPoint::MessagePublish => {
                pb::MessagePublishRequest::decode(&bytes[..]).unwrap().meta
            }
            HookPoint::MessageDropped => {
                pb::MessageDroppedRequest::decode(&bytes[..]).unwrap().meta
            }
            HookPoint::ClientSubscribe => {
                pb::ClientSubscribeRequest::decode(&bytes[..]).unwrap().meta
            }
            _ => continue,
        };
        let meta = meta.unwrap();
        assert_eq!(
            (
                meta.node.as_str(),
                meta.version.as_str(),
                meta.sysdescr.as_str(),
                meta.cluster_name.as_str()
            ),
            ("hookmq@127.0.0.1", "0.1.0", "hookmq", "hookmq"),
            "{}",
            e.point()
        );
    }
}

#[test]
fn connect_v3_splits_user_properties_and_v2_folds_them() {
    let e = event(HookPoint::ClientConnect);
    let r: pb::ClientConnectRequest = decode(&e, ProtoVersion::V3);
    let c = r.conninfo.unwrap();
    assert_eq!(
        (
            c.clientid.as_str(),
            c.username.as_str(),
            c.peerhost.as_str(),
            c.sockport,
            c.peerport
        ),
        ("c1", "alice", "10.1.2.3", 1883, 51000)
    );
    assert_eq!(
        (c.proto_name.as_str(), c.proto_ver.as_str(), c.keepalive),
        ("MQTT", "5", 30)
    );
    assert_eq!(
        pairs(&r.props),
        [
            ("Session-Expiry-Interval", "60"),
            ("Content-Type", "text/plain")
        ]
    );
    assert_eq!(pairs(&r.user_props), [("k", "v"), ("q\"uote", "é")]);

    let r2: v2::ClientConnectRequest = decode(&e, ProtoVersion::V2);
    assert_eq!(
        pairs(&r2.props),
        [
            ("Session-Expiry-Interval", "60"),
            ("Content-Type", "text/plain"),
            (
                "User-Property",
                r#"[{<<"k">>,<<"v">>},{<<"q\"uote">>,<<"é"/utf8>>}]"#
            )
        ]
    );
    assert_eq!(r2.conninfo.unwrap().peerport, 51000);
    // A v3 server sees nothing in user_props when talking v2 encoding, and v1 has no peerport.
    let r1: v1::ClientConnectRequest = decode(&e, ProtoVersion::V1);
    assert_eq!(r1.props.len(), 3);
    let as_v3 =
        pb::ClientConnectRequest::decode(encode(&e, &cx(ProtoVersion::V1)).as_slice()).unwrap();
    assert_eq!(as_v3.conninfo.unwrap().peerport, 0);
    assert!(as_v3.user_props.is_empty());
}

#[test]
fn connack_has_the_reason_name() {
    let r: pb::ClientConnackRequest = decode(&event(HookPoint::ClientConnack), ProtoVersion::V3);
    assert_eq!(r.result_code, "not_authorized");
    assert!(r.props.is_empty() && r.user_props.is_empty());
}

#[test]
fn clientinfo_fields_and_password_only_in_authenticate() {
    let r: pb::ClientAuthenticateRequest =
        decode(&event(HookPoint::ClientAuthenticate), ProtoVersion::V3);
    assert!(r.result);
    let c = r.clientinfo.unwrap();
    assert_eq!(c.password, "secret");
    assert_eq!(
        (
            c.node.as_str(),
            c.clientid.as_str(),
            c.username.as_str(),
            c.peerhost.as_str()
        ),
        ("hookmq@127.0.0.1", "c1", "alice", "10.1.2.3")
    );
    assert_eq!(
        (
            c.protocol.as_str(),
            c.mountpoint.as_str(),
            c.cn.as_str(),
            c.dn.as_str()
        ),
        ("mqtt", "", "", "")
    );
    assert_eq!(
        (c.sockport, c.peerport, c.is_superuser, c.anonymous),
        (1883, 51000, false, true)
    );

    let r: pb::ClientConnectedRequest =
        decode(&event(HookPoint::ClientConnected), ProtoVersion::V3);
    assert_eq!(r.clientinfo.unwrap().password, "");
    let r: pb::ClientDisconnectedRequest =
        decode(&event(HookPoint::ClientDisconnected), ProtoVersion::V3);
    assert_eq!(r.reason, "normal");
}

#[test]
fn authorize_is_check_acl_in_v1() {
    let e = event(HookPoint::ClientAuthorize);
    let r: pb::ClientAuthorizeRequest = decode(&e, ProtoVersion::V3);
    assert_eq!(
        r.r#type,
        pb::client_authorize_request::AuthorizeReqType::Subscribe as i32
    );
    assert_eq!((r.topic.as_str(), r.result), ("t/#", false));
    let r1: v1::ClientCheckAclRequest = decode(&e, ProtoVersion::V1);
    assert_eq!(
        r1.r#type,
        v1::client_check_acl_request::AclReqType::Subscribe as i32
    );
    assert_eq!(r1.topic, "t/#");
    assert_eq!(r1.meta.unwrap().node, "hookmq@127.0.0.1");
}

#[test]
fn subscribe_filters_keep_the_share_form_and_legacy_fields() {
    let e = event(HookPoint::ClientSubscribe);
    let r: pb::ClientSubscribeRequest = decode(&e, ProtoVersion::V3);
    let names: Vec<_> = r.topic_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["a/b", "$share/g/t/+"]);
    let o = r.topic_filters[1].subopts.unwrap();
    assert_eq!((o.qos, o.rh, o.rap, o.nl), (2, 2, 1, 1));
    assert_eq!(r.topic_filters[0].subopts.unwrap().qos, 1);

    let r2: v2::ClientSubscribeRequest = decode(&e, ProtoVersion::V2);
    assert_eq!(r2.topic_filters[0].qos, 1);
    assert_eq!(r2.topic_filters[1].qos, 2);
    let o2 = r2.topic_filters[1].subopts.clone().unwrap();
    assert_eq!((o2.qos, o2.share.as_str(), o2.rh), (2, "g", 2));
    assert_eq!(r2.topic_filters[0].subopts.clone().unwrap().share, "");

    let r1: v1::ClientSubscribeRequest = decode(&e, ProtoVersion::V1);
    let legacy: Vec<_> = r1
        .topic_filters
        .iter()
        .map(|f| (f.name.as_str(), f.qos))
        .collect();
    assert_eq!(legacy, [("a/b", 1), ("$share/g/t/+", 2)]);
    assert_eq!(pairs(&r1.props)[2].0, "User-Property");

    let u: v1::ClientUnsubscribeRequest =
        decode(&event(HookPoint::ClientUnsubscribe), ProtoVersion::V1);
    assert_eq!(u.topic_filters.len(), 2);
    let u3: pb::ClientUnsubscribeRequest =
        decode(&event(HookPoint::ClientUnsubscribe), ProtoVersion::V3);
    assert_eq!(u3.topic_filters[1].name, "$share/g/t/+");
}

#[test]
fn session_subscribed_has_subopts_and_share_in_legacy_versions() {
    let e = event(HookPoint::SessionSubscribed);
    let r: pb::SessionSubscribedRequest = decode(&e, ProtoVersion::V3);
    assert_eq!(r.topic, "$share/g/t/+");
    let o = r.subopts.unwrap();
    assert_eq!((o.qos, o.rh, o.rap, o.nl), (2, 2, 1, 1));
    for v in [ProtoVersion::V1, ProtoVersion::V2] {
        let r1: v1::SessionSubscribedRequest = decode(&e, v);
        assert_eq!(r1.subopts.unwrap().share, "g", "{v}");
    }
    let r: pb::SessionUnsubscribedRequest =
        decode(&event(HookPoint::SessionUnsubscribed), ProtoVersion::V3);
    assert_eq!(r.topic, "$share/g/t/+");
}

#[test]
fn session_events_carry_the_client() {
    for point in [
        HookPoint::SessionCreated,
        HookPoint::SessionResumed,
        HookPoint::SessionDiscarded,
        HookPoint::SessionTakenover,
    ] {
        // All of these are clientinfo = 1, meta = 2.
        let r: pb::SessionCreatedRequest = decode(&event(point), ProtoVersion::V3);
        assert_eq!(r.clientinfo.unwrap().clientid, "c1", "{point}");
        assert_eq!(r.meta.unwrap().node, "hookmq@127.0.0.1", "{point}");
    }
    let r: pb::SessionTerminatedRequest =
        decode(&event(HookPoint::SessionTerminated), ProtoVersion::V3);
    assert_eq!(
        (r.clientinfo.unwrap().clientid.as_str(), r.reason.as_str()),
        ("c1", "takenover")
    );
    let r: v1::SessionTakeoveredRequest =
        decode(&event(HookPoint::SessionTakenover), ProtoVersion::V1);
    assert_eq!(r.clientinfo.unwrap().clientid, "c1");
}

#[test]
fn messages_carry_id_publisher_timestamp_and_headers() {
    let e = event(HookPoint::MessagePublish);
    let Event::MessagePublish { message } = &e else {
        unreachable!()
    };
    let r: pb::MessagePublishRequest = decode(&e, ProtoVersion::V3);
    let m = r.message.unwrap();
    assert_eq!(m.id, message.id.to_string());
    assert_eq!(m.id.len(), 32);
    assert_eq!(
        (m.node.as_str(), m.from.as_str(), m.topic.as_str()),
        ("hookmq@127.0.0.1", "c1", "t/1")
    );
    assert_eq!(
        (&m.payload[..], m.qos, m.timestamp),
        (&b"hello"[..], 1, 1_700_000_000_123)
    );
    let mut headers: Vec<_> = m
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    headers.sort();
    assert_eq!(
        headers,
        [
            ("peerhost", "10.1.2.3"),
            ("protocol", "mqtt"),
            ("username", "alice")
        ]
    );
    assert_eq!(pairs(&r.props), [("Message-Expiry-Interval", "30")]);
    assert_eq!(pairs(&r.user_props), [("trace", "42")]);

    let r2: v2::MessagePublishRequest = decode(&e, ProtoVersion::V2);
    assert_eq!(r2.message.unwrap().topic, "t/1");
    let as_v3 =
        pb::MessagePublishRequest::decode(encode(&e, &cx(ProtoVersion::V2)).as_slice()).unwrap();
    assert!(as_v3.props.is_empty() && as_v3.user_props.is_empty());

    let r: pb::MessageDeliveredRequest =
        decode(&event(HookPoint::MessageDelivered), ProtoVersion::V3);
    assert_eq!(
        (
            r.clientinfo.unwrap().clientid.as_str(),
            r.message.unwrap().topic.as_str()
        ),
        ("c1", "t/1")
    );
    let r: pb::MessageAckedRequest = decode(&event(HookPoint::MessageAcked), ProtoVersion::V1);
    assert_eq!(r.message.unwrap().qos, 1);
    let r: pb::MessageDroppedRequest = decode(&event(HookPoint::MessageDropped), ProtoVersion::V3);
    assert_eq!(
        (r.reason.as_str(), r.message.unwrap().from.as_str()),
        ("no_subscribers", "c1")
    );
}

#[test]
fn provider_loaded_uptime_is_ms_or_text_in_v1() {
    let r = pb::ProviderLoadedRequest::decode(
        provider_loaded(&cx(ProtoVersion::V3), &info()).as_slice(),
    )
    .unwrap();
    let b = r.broker.unwrap();
    assert!((3_725_000..3_800_000).contains(&b.uptime), "{}", b.uptime);
    assert_eq!(
        (b.version.as_str(), b.sysdescr.as_str()),
        ("0.1.0", "hookmq")
    );
    assert_eq!(b.datetime.len(), "2024-01-01 00:00:00".len());
    assert_eq!(r.meta.unwrap().cluster_name, "hookmq");
    let r1 = v1::ProviderLoadedRequest::decode(
        provider_loaded(&cx(ProtoVersion::V1), &info()).as_slice(),
    )
    .unwrap();
    assert!(
        r1.broker
            .unwrap()
            .uptime
            .starts_with("1 hours, 2 minutes, ")
    );
    let u =
        pb::ProviderUnloadedRequest::decode(provider_unloaded(&cx(ProtoVersion::V2)).as_slice())
            .unwrap();
    assert_eq!(u.meta.unwrap().node, "hookmq@127.0.0.1");
}
