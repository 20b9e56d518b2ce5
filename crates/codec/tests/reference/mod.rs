//! Conversion of our packets into the packet types of the published `mqtt-proto` 0.4 crate, the
//! independent implementation the differential tests compare against. Comparisons happen in its
//! types: its property structs have one field per property, so property order does not matter.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{Packet, PacketId, Properties, Property, Protocol, QoS, RetainHandling};
use mqtt_proto as mp;
use mqtt_proto::{v3, v5};

pub fn qos(q: QoS) -> mp::QoS {
    match q {
        QoS::AtMostOnce => mp::QoS::Level0,
        QoS::AtLeastOnce => mp::QoS::Level1,
        QoS::ExactlyOnce => mp::QoS::Level2,
    }
}

fn pid(id: PacketId) -> mp::Pid {
    mp::Pid::try_from(id.get()).unwrap()
}

fn qos_pid(q: QoS, id: Option<PacketId>) -> mp::QosPid {
    match q {
        QoS::AtMostOnce => mp::QosPid::Level0,
        QoS::AtLeastOnce => mp::QosPid::Level1(pid(id.unwrap())),
        QoS::ExactlyOnce => mp::QosPid::Level2(pid(id.unwrap())),
    }
}

fn protocol(p: Protocol) -> mp::Protocol {
    match p {
        Protocol::V3_1 => mp::Protocol::V310,
        Protocol::V3_1_1 => mp::Protocol::V311,
        Protocol::V5 => mp::Protocol::V500,
    }
}

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

fn topic(s: &str) -> mp::TopicName {
    mp::TopicName::try_from(s).unwrap()
}

fn filter(s: &str) -> mp::TopicFilter {
    mp::TopicFilter::try_from(s).unwrap()
}

/// Our 3.x packet as an `mqtt_proto::v3::Packet`.
pub fn to_v3(p: &Packet) -> v3::Packet {
    match p {
        Packet::Connect(c) => v3::Packet::Connect(v3::Connect {
            protocol: protocol(c.protocol),
            clean_session: c.clean_start,
            keep_alive: c.keep_alive,
            client_id: arc(&c.client_id),
            last_will: c.will.as_ref().map(|w| v3::LastWill {
                qos: qos(w.qos),
                retain: w.retain,
                topic_name: topic(w.topic.as_str()),
                message: w.payload.clone(),
            }),
            username: c.username.as_deref().map(arc),
            password: c.password.clone(),
        }),
        Packet::ConnAck(a) => v3::Packet::Connack(v3::Connack {
            session_present: a.session_present,
            code: v3::ConnectReturnCode::from_u8(a.reason.to_v3_connack()).unwrap(),
        }),
        Packet::Publish(p) => v3::Packet::Publish(v3::Publish {
            dup: p.dup,
            retain: p.retain,
            qos_pid: qos_pid(p.qos, p.packet_id),
            topic_name: topic(&p.topic),
            payload: p.payload.clone(),
        }),
        Packet::PubAck(a) => v3::Packet::Puback(pid(a.packet_id)),
        Packet::PubRec(a) => v3::Packet::Pubrec(pid(a.packet_id)),
        Packet::PubRel(a) => v3::Packet::Pubrel(pid(a.packet_id)),
        Packet::PubComp(a) => v3::Packet::Pubcomp(pid(a.packet_id)),
        Packet::Subscribe(s) => v3::Packet::Subscribe(v3::Subscribe {
            pid: pid(s.packet_id),
            topics: s
                .filters
                .iter()
                .map(|(f, o)| (filter(f.as_str()), qos(o.qos)))
                .collect(),
        }),
        Packet::SubAck(s) => v3::Packet::Suback(v3::Suback {
            pid: pid(s.packet_id),
            topics: s
                .reasons
                .iter()
                .map(|r| v3::SubscribeReturnCode::from_u8(r.to_v3_suback()).unwrap())
                .collect(),
        }),
        Packet::Unsubscribe(u) => v3::Packet::Unsubscribe(v3::Unsubscribe {
            pid: pid(u.packet_id),
            topics: u.filters.iter().map(|f| filter(f.as_str())).collect(),
        }),
        Packet::UnsubAck(u) => v3::Packet::Unsuback(pid(u.packet_id)),
        Packet::PingReq => v3::Packet::Pingreq,
        Packet::PingResp => v3::Packet::Pingresp,
        Packet::Disconnect(_) => v3::Packet::Disconnect,
        Packet::Auth(_) => unreachable!("AUTH does not exist in 3.x"),
    }
}

/// Every property value, one slot per property as `mqtt-proto` keeps them.
#[derive(Default)]
struct Bag {
    payload_is_utf8: Option<bool>,
    message_expiry: Option<u32>,
    content_type: Option<Arc<str>>,
    response_topic: Option<mp::TopicName>,
    correlation: Option<Bytes>,
    subscription_id: Option<v5::VarByteInt>,
    session_expiry: Option<u32>,
    assigned_id: Option<Arc<str>>,
    server_keep_alive: Option<u16>,
    auth_method: Option<Arc<str>>,
    auth_data: Option<Bytes>,
    problem_info: Option<bool>,
    will_delay: Option<u32>,
    response_info_req: Option<bool>,
    response_info: Option<Arc<str>>,
    server_reference: Option<Arc<str>>,
    reason_string: Option<Arc<str>>,
    receive_max: Option<u16>,
    topic_alias_max: Option<u16>,
    topic_alias: Option<u16>,
    max_qos: Option<mp::QoS>,
    retain_available: Option<bool>,
    users: Vec<v5::UserProperty>,
    max_packet_size: Option<u32>,
    wildcard: Option<bool>,
    sub_ids: Option<bool>,
    shared: Option<bool>,
}

fn bag(props: &Properties) -> Bag {
    let mut b = Bag::default();
    for p in props.iter() {
        match p {
            Property::PayloadFormatIndicator(v) => b.payload_is_utf8 = Some(*v == 1),
            Property::MessageExpiryInterval(v) => b.message_expiry = Some(*v),
            Property::ContentType(s) => b.content_type = Some(arc(s)),
            Property::ResponseTopic(s) => b.response_topic = Some(topic(s)),
            Property::CorrelationData(d) => b.correlation = Some(d.clone()),
            Property::SubscriptionIdentifier(v) => {
                assert!(
                    b.subscription_id.is_none(),
                    "mqtt-proto keeps one subscription id"
                );
                b.subscription_id = Some(v5::VarByteInt::try_from(*v).unwrap());
            }
            Property::SessionExpiryInterval(v) => b.session_expiry = Some(*v),
            Property::AssignedClientIdentifier(s) => b.assigned_id = Some(arc(s)),
            Property::ServerKeepAlive(v) => b.server_keep_alive = Some(*v),
            Property::AuthenticationMethod(s) => b.auth_method = Some(arc(s)),
            Property::AuthenticationData(d) => b.auth_data = Some(d.clone()),
            Property::RequestProblemInformation(v) => b.problem_info = Some(*v == 1),
            Property::WillDelayInterval(v) => b.will_delay = Some(*v),
            Property::RequestResponseInformation(v) => b.response_info_req = Some(*v == 1),
            Property::ResponseInformation(s) => b.response_info = Some(arc(s)),
            Property::ServerReference(s) => b.server_reference = Some(arc(s)),
            Property::ReasonString(s) => b.reason_string = Some(arc(s)),
            Property::ReceiveMaximum(v) => b.receive_max = Some(*v),
            Property::TopicAliasMaximum(v) => b.topic_alias_max = Some(*v),
            Property::TopicAlias(v) => b.topic_alias = Some(*v),
            Property::MaximumQos(v) => {
                b.max_qos = Some(if *v == 0 {
                    mp::QoS::Level0
                } else {
                    mp::QoS::Level1
                })
            }
            Property::RetainAvailable(v) => b.retain_available = Some(*v == 1),
            Property::UserProperty(k, v) => b.users.push(v5::UserProperty {
                name: arc(k),
                value: arc(v),
            }),
            Property::MaximumPacketSize(v) => b.max_packet_size = Some(*v),
            Property::WildcardSubscriptionAvailable(v) => b.wildcard = Some(*v == 1),
            Property::SubscriptionIdentifierAvailable(v) => b.sub_ids = Some(*v == 1),
            Property::SharedSubscriptionAvailable(v) => b.shared = Some(*v == 1),
        }
    }
    b
}

mod v5_packet;
pub use v5_packet::to_v5;

/// Whether `mqtt-proto` can represent `p`: it keeps a single subscription identifier, and it
/// refuses a payload marked UTF-8 that is not, which the specification lets a receiver do
/// ([MQTT-3.3.2-4], "MAY") and we leave to the broker (it answers with a PUBACK 0x99 rather
/// than a closed connection).
pub fn representable(p: &Packet) -> bool {
    let utf8_ok = |props: &Properties, payload: &Bytes| {
        props.payload_format_indicator() != Some(1) || std::str::from_utf8(payload).is_ok()
    };
    match p {
        Packet::Publish(p) => {
            p.properties.subscription_identifiers().count() <= 1
                && utf8_ok(&p.properties, &p.payload)
        }
        Packet::Connect(c) => c
            .will
            .as_ref()
            .is_none_or(|w| utf8_ok(&w.properties, &w.payload)),
        _ => true,
    }
}

/// The retain handling option in `mqtt-proto`'s terms.
fn retain_handling(r: RetainHandling) -> v5::RetainHandling {
    match r {
        RetainHandling::SendAtSubscribe => v5::RetainHandling::SendAtSubscribe,
        RetainHandling::SendIfNew => v5::RetainHandling::SendAtSubscribeIfNotExist,
        RetainHandling::DoNotSend => v5::RetainHandling::DoNotSend,
    }
}

/// `p` with every property list sorted by identifier (stable, so repeated user properties keep
/// their order): the form in which packets are compared after passing through `mqtt-proto`,
/// which writes properties in its own fixed order.
pub fn canonical(p: &Packet) -> Packet {
    let mut p = p.clone();
    let sort = |props: &mut Properties| props.0.sort_by_key(|q| q.id() as u8);
    match &mut p {
        Packet::Connect(c) => {
            sort(&mut c.properties);
            if let Some(w) = &mut c.will {
                sort(&mut w.properties);
            }
        }
        Packet::ConnAck(a) => sort(&mut a.properties),
        Packet::Publish(x) => sort(&mut x.properties),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            sort(&mut a.properties)
        }
        Packet::Subscribe(s) => sort(&mut s.properties),
        Packet::SubAck(s) => sort(&mut s.properties),
        Packet::Unsubscribe(u) => sort(&mut u.properties),
        Packet::UnsubAck(u) => sort(&mut u.properties),
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => sort(&mut d.properties),
        Packet::Auth(a) => sort(&mut a.properties),
    }
    p
}
