//! Key order and term types of every hook's arguments (reference §1.1/§1.2).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use hookmq_codec::{
    Properties, Property, Protocol, QoS, ReasonCode, RetainHandling, SubscriptionOptions,
    TopicFilter, TopicName,
};
use hookmq_hooks::{
    Action, AuthResult, ClientInfo, ConnInfo, DropReason, Event, Message, MessageId, NodeName,
    SubscriptionInfo,
};

use super::*;
use crate::etf::{RawTerm, Term, tag};

fn node() -> Atom {
    Atom::new("hookmq@127.0.0.1")
}

fn client(password: Option<&'static [u8]>) -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        node: NodeName::default(),
        clientid: "c1".into(),
        username: Some("alice".into()),
        password: password.map(Bytes::from_static),
        peer: "[::ffff:10.0.0.7]:50001".parse::<SocketAddr>().unwrap(),
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

fn conn() -> Arc<ConnInfo> {
    Arc::new(ConnInfo {
        node: NodeName::default(),
        clientid: "c1".into(),
        username: None,
        peer: "127.0.0.1:50001".parse().unwrap(),
        sockport: 1883,
        protocol: Protocol::V3_1_1,
        keepalive: 60,
        clean_start: true,
        expiry_interval: 0,
        connected_at_ms: 1,
    })
}

fn message() -> Arc<Message> {
    let mut m = Message::new(
        "pub1".into(),
        TopicName::new("t/1").unwrap(),
        Bytes::from_static(b"hello"),
        QoS::AtLeastOnce,
        false,
    );
    m.id = MessageId(0xABCDEF);
    m.timestamp_ms = 1_700_000_000_123;
    Arc::new(m)
}

/// The keys of a proplist, in order.
fn keys(t: &Term) -> Vec<String> {
    t.as_list()
        .unwrap()
        .iter()
        .map(|p| p.as_tuple().unwrap()[0].as_atom().unwrap().to_owned())
        .collect()
}

fn args(event: Event) -> Vec<Term> {
    hook_arguments(&event, &node()).unwrap()
}

#[test]
fn conninfo_has_eight_entries_in_emqx_order() {
    let a = args(Event::ClientConnect {
        conninfo: conn(),
        props: Properties::default(),
    });
    assert_eq!(a.len(), 2);
    assert_eq!(
        keys(&a[0]),
        [
            "node",
            "clientid",
            "username",
            "peerhost",
            "sockport",
            "proto_name",
            "proto_ver",
            "keepalive"
        ]
    );
    let c = &a[0];
    assert_eq!(c.get("node"), Some(&Term::atom("hookmq@127.0.0.1")));
    assert_eq!(c.get("username"), Some(&Term::binary("")));
    assert_eq!(c.get("peerhost"), Some(&Term::binary("127.0.0.1")));
    assert_eq!(c.get("proto_name"), Some(&Term::binary("MQTT")));
    assert_eq!(c.get("proto_ver"), Some(&Term::Int(4)));
    assert_eq!(c.get("keepalive"), Some(&Term::Int(60)));
    assert_eq!(a[1], Term::nil());
}

#[test]
fn clientinfo_has_ten_entries_and_the_password_only_when_given() {
    let a = args(Event::ClientAuthenticate {
        clientinfo: client(Some(b"pw")),
        result: AuthResult::Allow { superuser: false },
        previous_owner: None,
    });
    assert_eq!(keys(&a[0]), CLIENTINFO_KEYS);
    let c = &a[0];
    assert_eq!(c.get("password"), Some(&Term::binary("pw")));
    assert_eq!(c.get("peerhost"), Some(&Term::binary("10.0.0.7")));
    assert_eq!(c.get("sockport"), Some(&Term::Int(1883)));
    assert_eq!(c.get("protocol"), Some(&Term::atom("mqtt")));
    assert_eq!(c.get("mountpoint"), Some(&Term::binary("")));
    assert_eq!(c.get("is_superuser"), Some(&Term::bool(false)));
    assert_eq!(c.get("anonymous"), Some(&Term::bool(true)));
    assert_eq!(a[1], Term::bool(true));
    let a = args(Event::ClientAuthenticate {
        clientinfo: client(None),
        result: AuthResult::Deny(ReasonCode::NOT_AUTHORIZED),
        previous_owner: None,
    });
    assert_eq!(a[0].get("password"), Some(&Term::binary("")));
    assert_eq!(a[1], Term::bool(false));
}

#[test]
fn message_has_seven_entries_and_a_big_timestamp() {
    let a = args(Event::MessagePublish { message: message() });
    assert_eq!(a.len(), 1);
    let m = &a[0];
    assert_eq!(
        keys(m),
        ["node", "id", "qos", "from", "topic", "payload", "timestamp"]
    );
    assert_eq!(
        m.get("id"),
        Some(&Term::binary("00000000000000000000000000ABCDEF"))
    );
    assert_eq!(m.get("qos"), Some(&Term::Int(1)));
    assert_eq!(m.get("from"), Some(&Term::binary("pub1")));
    assert_eq!(m.get("topic"), Some(&Term::binary("t/1")));
    assert_eq!(m.get("payload"), Some(&Term::binary("hello")));
    let ts = m.get("timestamp").unwrap();
    assert_eq!(RawTerm::encode(ts).unwrap().tag(), tag::SMALL_BIG);
    assert_eq!(ts.as_int(), Some(1_700_000_000_123));
}

#[test]
fn every_hook_gets_its_argument_list() {
    let ci = client(None);
    let filter = TopicFilter::new("$share/g/t/#").unwrap();
    let opts = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: false,
        retain_handling: RetainHandling::SendIfNew,
    };
    let mut props = Properties::default();
    props.push(Property::UserProperty("k".into(), "v".into()));
    props.push(Property::SessionExpiryInterval(60));
    let cases: Vec<(Event, usize)> = vec![
        (
            Event::ClientConnack {
                conninfo: conn(),
                result: ReasonCode::NOT_AUTHORIZED,
                props: Properties::default(),
            },
            3,
        ),
        (
            Event::ClientConnected {
                clientinfo: ci.clone(),
                conninfo: conn(),
            },
            1,
        ),
        (
            Event::ClientDisconnected {
                clientinfo: ci.clone(),
                reason: "keepalive_timeout".into(),
                conninfo: conn(),
            },
            2,
        ),
        (
            Event::ClientAuthorize {
                clientinfo: ci.clone(),
                action: Action::Subscribe,
                topic: "t/#".into(),
                result: true,
            },
            4,
        ),
        (
            Event::ClientSubscribe {
                clientinfo: ci.clone(),
                props: props.clone(),
                filters: vec![(filter.clone(), opts)],
            },
            3,
        ),
        (
            Event::ClientUnsubscribe {
                clientinfo: ci.clone(),
                props: Properties::default(),
                filters: vec![TopicFilter::new("a/b").unwrap()],
            },
            3,
        ),
        (
            Event::SessionCreated {
                clientinfo: ci.clone(),
            },
            1,
        ),
        (
            Event::SessionSubscribed {
                clientinfo: ci.clone(),
                filter: filter.clone(),
                info: SubscriptionInfo {
                    options: opts,
                    is_new: true,
                    subscription_id: Some(7),
                },
            },
            3,
        ),
        (
            Event::SessionUnsubscribed {
                clientinfo: ci.clone(),
                filter,
            },
            2,
        ),
        (
            Event::SessionResumed {
                clientinfo: ci.clone(),
            },
            1,
        ),
        (
            Event::SessionDiscarded {
                clientinfo: ci.clone(),
            },
            1,
        ),
        (
            Event::SessionTakenover {
                clientinfo: ci.clone(),
            },
            1,
        ),
        (
            Event::SessionTerminated {
                clientinfo: ci.clone(),
                reason: "normal".into(),
            },
            2,
        ),
        (
            Event::MessageDelivered {
                clientinfo: ci.clone(),
                message: message(),
            },
            2,
        ),
        (
            Event::MessageAcked {
                clientinfo: ci.clone(),
                message: message(),
            },
            2,
        ),
        (
            Event::MessageDropped {
                message: message(),
                reason: DropReason::NoSubscribers,
            },
            2,
        ),
    ];
    let mut seen = Vec::new();
    for (event, count) in cases {
        let point = event.point();
        assert_values_form_expands_to_the_proplists(&event);
        let a = args(event);
        assert_eq!(a.len(), count, "{point}");
        seen.push((point, a));
    }
    let find = |name: &str| &seen.iter().find(|(p, _)| p.port_name() == name).unwrap().1;
    assert_eq!(find("client_connack")[1], Term::atom("not_authorized"));
    assert_eq!(
        find("client_disconnected")[1],
        Term::binary("keepalive_timeout")
    );
    let acl = find("client_check_acl");
    assert_eq!(keys(&acl[0]), CLIENTINFO_KEYS);
    assert_eq!(acl[1], Term::atom("subscribe"));
    assert_eq!(acl[2], Term::binary("t/#"));
    assert_eq!(acl[3], Term::bool(true));
    let sub = find("client_subscribe");
    assert_eq!(keys(&sub[1]), ["Session-Expiry-Interval", "User-Property"]);
    assert_eq!(
        sub[1].get("User-Property"),
        Some(&Term::list([Term::tuple([
            Term::binary("k"),
            Term::binary("v")
        ])]))
    );
    assert_eq!(
        sub[2],
        Term::list([Term::tuple([Term::binary("$share/g/t/#"), Term::Int(1)])])
    );
    assert_eq!(
        find("client_unsubscribe")[2],
        Term::list([Term::tuple([Term::binary("a/b"), Term::Int(0)])])
    );
    let subscribed = find("session_subscribed");
    assert_eq!(subscribed[1], Term::binary("t/#"));
    assert_eq!(
        keys(&subscribed[2]),
        ["is_new", "nl", "qos", "rap", "rh", "share", "subid"]
    );
    assert_eq!(subscribed[2].get("is_new"), Some(&Term::bool(true)));
    assert_eq!(subscribed[2].get("nl"), Some(&Term::Int(1)));
    assert_eq!(subscribed[2].get("rh"), Some(&Term::Int(1)));
    assert_eq!(subscribed[2].get("share"), Some(&Term::binary("g")));
    assert_eq!(subscribed[2].get("subid"), Some(&Term::Int(7)));
    assert_eq!(find("session_unsubscribed")[1], Term::binary("t/#"));
    assert_eq!(find("session_terminated")[1], Term::binary("normal"));
    let delivered = find("message_delivered");
    assert_eq!(keys(&delivered[0]).len(), 10);
    assert_eq!(keys(&delivered[1]).len(), 7);
    let dropped = find("message_dropped");
    assert_eq!(keys(&dropped[0]).len(), 7);
    assert_eq!(dropped[1], Term::binary("no_subscribers"));
}

#[test]
fn plain_subscription_options_have_five_entries() {
    let info = SubscriptionInfo {
        options: SubscriptionOptions::default(),
        is_new: false,
        subscription_id: None,
    };
    let filter = TopicFilter::new("a/+").unwrap();
    let t = subscription_options(&filter, &info);
    assert_eq!(keys(&t), ["is_new", "nl", "qos", "rap", "rh"]);
}

/// The batched form, expanded the way the runtimes expand it (zip each shaped tuple with its
/// keys), is the proplist form; `State` comes last in both.
fn assert_values_form_expands_to_the_proplists(event: &Event) {
    let state = RawTerm::encode(&Term::tuple([Term::atom("st")])).unwrap();
    let read = |form: Form| {
        let mut buf = BytesMut::new();
        buf.put_u8(crate::etf::VERSION);
        put_hook_arguments(&mut buf, event, &node(), form, Some(&state)).unwrap();
        match crate::etf::decode(&buf.freeze()).unwrap() {
            Term::List(items) => items,
            other => panic!("not a list: {other}"),
        }
    };
    let (plain, values) = (read(Form::Proplist), read(Form::Values));
    let point = event.point();
    let shapes = shapes(point);
    assert_eq!(values.len(), shapes.len() + 1, "{point}");
    let mut expanded: Vec<Term> = values
        .iter()
        .zip(shapes)
        .map(|(v, shape)| match shape {
            None => v.clone(),
            Some(keys) => {
                let values = v.as_tuple().unwrap();
                assert_eq!(values.len(), keys.len(), "{point}");
                Term::proplist(keys.iter().copied().zip(values.iter().cloned()))
            }
        })
        .collect();
    expanded.push(values.last().unwrap().clone());
    assert_eq!(expanded, plain, "{point}");
    assert_eq!(plain.last(), Some(&Term::tuple([Term::atom("st")])));
}

#[test]
fn connect_and_publish_expand_too() {
    assert_values_form_expands_to_the_proplists(&Event::ClientConnect {
        conninfo: conn(),
        props: Properties::default(),
    });
    assert_values_form_expands_to_the_proplists(&Event::MessagePublish { message: message() });
    assert_values_form_expands_to_the_proplists(&Event::ClientAuthenticate {
        clientinfo: client(Some(b"pw")),
        result: AuthResult::Allow { superuser: false },
        previous_owner: None,
    });
}
