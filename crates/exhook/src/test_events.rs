//! Sample events of every hook point for this crate's unit tests.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{
    Properties, Property, Protocol, QoS, ReasonCode, RetainHandling, SubscriptionOptions,
    TopicFilter, TopicName,
};
use hookmq_hooks::{
    Action, AuthResult, ClientInfo, ConnInfo, DropReason, Event, Message, MessageHeaders, NodeName,
    SubscriptionInfo,
};

pub(crate) fn peer() -> SocketAddr {
    "[::ffff:10.1.2.3]:51000".parse().unwrap()
}

pub(crate) fn conninfo() -> Arc<ConnInfo> {
    Arc::new(ConnInfo {
        node: NodeName::new("hookmq@127.0.0.1"),
        clientid: "c1".into(),
        username: Some("alice".into()),
        peer: peer(),
        sockport: 1883,
        protocol: Protocol::V5,
        keepalive: 30,
        clean_start: true,
        expiry_interval: 0,
        connected_at_ms: 1_700_000_000_000,
    })
}

pub(crate) fn clientinfo() -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        node: NodeName::new("hookmq@127.0.0.1"),
        clientid: "c1".into(),
        username: Some("alice".into()),
        password: None,
        peer: peer(),
        sockport: 1883,
        protocol: Protocol::V5,
        mountpoint: None,
        is_superuser: false,
        anonymous: true,
        cn: None,
        dn: None,
        grant: None,
    })
}

pub(crate) fn props() -> Properties {
    [
        Property::SessionExpiryInterval(60),
        Property::UserProperty("k".into(), "v".into()),
        Property::ContentType("text/plain".into()),
        Property::UserProperty("q\"uote".into(), "é".into()),
    ]
    .into_iter()
    .collect()
}

pub(crate) fn message() -> Arc<Message> {
    let mut m = Message::new(
        "c1".into(),
        TopicName::new("t/1").unwrap(),
        Bytes::from_static(b"hello"),
        QoS::AtLeastOnce,
        true,
    );
    m.timestamp_ms = 1_700_000_000_123;
    m.properties = [
        Property::MessageExpiryInterval(30),
        Property::UserProperty("trace".into(), "42".into()),
    ]
    .into_iter()
    .collect();
    m.headers = MessageHeaders {
        username: Some("alice".into()),
        peerhost: Some(peer().ip()),
        protocol: Some(Protocol::V5),
        hops: 0,
    };
    Arc::new(m)
}

pub(crate) fn authenticate() -> Event {
    let mut ci = ClientInfo::clone(&clientinfo());
    ci.password = Some(Bytes::from_static(b"secret"));
    Event::ClientAuthenticate {
        clientinfo: Arc::new(ci),
        result: AuthResult::Allow { superuser: false },
        previous_owner: None,
    }
}

pub(crate) fn authorize() -> Event {
    Event::ClientAuthorize {
        clientinfo: clientinfo(),
        action: Action::Subscribe,
        topic: "t/#".into(),
        result: false,
    }
}

pub(crate) fn publish() -> Event {
    Event::MessagePublish { message: message() }
}

pub(crate) fn shared_opts() -> SubscriptionOptions {
    SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    }
}

/// One event of every hook point, in [`hookmq_hooks::HookPoint::ALL`] order.
pub(crate) fn all() -> Vec<Event> {
    let ci = clientinfo;
    let shared = TopicFilter::new("$share/g/t/+").unwrap();
    vec![
        Event::ClientConnect {
            conninfo: conninfo(),
            props: props(),
        },
        Event::ClientConnack {
            conninfo: conninfo(),
            result: ReasonCode::NOT_AUTHORIZED,
            props: Properties::default(),
        },
        Event::ClientConnected {
            clientinfo: ci(),
            conninfo: conninfo(),
        },
        Event::ClientDisconnected {
            clientinfo: ci(),
            reason: "normal".into(),
            conninfo: conninfo(),
        },
        authenticate(),
        authorize(),
        Event::ClientSubscribe {
            clientinfo: ci(),
            props: props(),
            filters: vec![
                (
                    TopicFilter::new("a/b").unwrap(),
                    SubscriptionOptions {
                        qos: QoS::AtLeastOnce,
                        ..Default::default()
                    },
                ),
                (shared.clone(), shared_opts()),
            ],
        },
        Event::ClientUnsubscribe {
            clientinfo: ci(),
            props: Properties::default(),
            filters: vec![TopicFilter::new("a/b").unwrap(), shared.clone()],
        },
        Event::SessionCreated { clientinfo: ci() },
        Event::SessionSubscribed {
            clientinfo: ci(),
            filter: shared.clone(),
            info: SubscriptionInfo {
                options: shared_opts(),
                is_new: true,
                subscription_id: None,
            },
        },
        Event::SessionUnsubscribed {
            clientinfo: ci(),
            filter: shared,
        },
        Event::SessionResumed { clientinfo: ci() },
        Event::SessionDiscarded { clientinfo: ci() },
        Event::SessionTakenover { clientinfo: ci() },
        Event::SessionTerminated {
            clientinfo: ci(),
            reason: "takenover".into(),
        },
        publish(),
        Event::MessageDelivered {
            clientinfo: ci(),
            message: message(),
        },
        Event::MessageAcked {
            clientinfo: ci(),
            message: message(),
        },
        Event::MessageDropped {
            message: message(),
            reason: DropReason::NoSubscribers,
        },
    ]
}
