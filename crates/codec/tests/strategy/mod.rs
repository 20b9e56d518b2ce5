//! Proptest strategies producing valid packets of every type at every protocol level: what the
//! round-trip and differential tests feed the codec. "Valid" means every rule the decoder
//! enforces holds, so decode(encode(p)) must give p back.

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use hookmq_codec::{
    Auth, ByteString, ConnAck, Connect, Disconnect, LastWill, Packet, PacketId, Properties,
    Property, PropertyId, Protocol, PubAck, Publish, QoS, ReasonCode, RetainHandling, SubAck,
    Subscribe, SubscriptionOptions, TopicFilter, TopicName, UnsubAck, Unsubscribe,
};
use proptest::prelude::*;
use proptest::sample::select;

pub fn protocol() -> impl Strategy<Value = Protocol> {
    select(vec![Protocol::V3_1, Protocol::V3_1_1, Protocol::V5])
}

/// Any string without U+0000, mixing ASCII and multi-byte characters.
pub fn text() -> impl Strategy<Value = ByteString> {
    prop_oneof![
        "[a-zA-Z0-9 _.-]{0,12}",
        prop::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..6)
            .prop_map(String::from_iter),
    ]
    .prop_map(ByteString::from)
}

pub fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// A topic level without wildcards (may be empty: `a//b` is a valid name).
fn level() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9]{0,5}", "[a-zé€ $]{1,3}"]
}

pub fn topic_name() -> impl Strategy<Value = TopicName> {
    prop::collection::vec(level(), 1..5)
        .prop_map(|l| l.join("/"))
        .prop_filter("non-empty", |s| !s.is_empty())
        .prop_map(|s| TopicName::new(s).unwrap())
}

pub fn topic_filter() -> impl Strategy<Value = TopicFilter> {
    let lvl = prop_oneof![3 => level(), 1 => Just("+".to_string())];
    (
        prop::collection::vec(lvl, 1..4),
        any::<bool>(),
        prop::option::of("[a-z0-9]{1,4}"),
    )
        .prop_map(|(mut levels, hash, share)| {
            if hash {
                levels.push("#".into());
            }
            let f = levels.join("/");
            match share {
                Some(g) if !f.is_empty() => format!("$share/{g}/{f}"),
                _ => f,
            }
        })
        .prop_filter("non-empty", |s| !s.is_empty())
        .prop_map(|s| TopicFilter::new(s).unwrap())
}

fn pid() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|v| PacketId::new(v).unwrap())
}

fn qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn flag() -> impl Strategy<Value = u8> {
    0..=1u8
}

/// A valid value of single-valued property `id`.
fn single(id: PropertyId) -> BoxedStrategy<Property> {
    use Property as P;
    use PropertyId as I;
    match id {
        I::PayloadFormatIndicator => flag().prop_map(P::PayloadFormatIndicator).boxed(),
        I::MessageExpiryInterval => any::<u32>().prop_map(P::MessageExpiryInterval).boxed(),
        I::ContentType => text().prop_map(P::ContentType).boxed(),
        I::ResponseTopic => topic_name()
            .prop_map(|t| P::ResponseTopic(t.into_inner()))
            .boxed(),
        I::CorrelationData => bytes(16).prop_map(P::CorrelationData).boxed(),
        I::SubscriptionIdentifier => (1..=268_435_455u32)
            .prop_map(P::SubscriptionIdentifier)
            .boxed(),
        I::SessionExpiryInterval => any::<u32>().prop_map(P::SessionExpiryInterval).boxed(),
        I::AssignedClientIdentifier => text().prop_map(P::AssignedClientIdentifier).boxed(),
        I::ServerKeepAlive => any::<u16>().prop_map(P::ServerKeepAlive).boxed(),
        I::AuthenticationMethod => text().prop_map(P::AuthenticationMethod).boxed(),
        I::AuthenticationData => bytes(16).prop_map(P::AuthenticationData).boxed(),
        I::RequestProblemInformation => flag().prop_map(P::RequestProblemInformation).boxed(),
        I::WillDelayInterval => any::<u32>().prop_map(P::WillDelayInterval).boxed(),
        I::RequestResponseInformation => flag().prop_map(P::RequestResponseInformation).boxed(),
        I::ResponseInformation => text().prop_map(P::ResponseInformation).boxed(),
        I::ServerReference => text().prop_map(P::ServerReference).boxed(),
        I::ReasonString => text().prop_map(P::ReasonString).boxed(),
        I::ReceiveMaximum => (1..=u16::MAX).prop_map(P::ReceiveMaximum).boxed(),
        I::TopicAliasMaximum => any::<u16>().prop_map(P::TopicAliasMaximum).boxed(),
        I::TopicAlias => (1..=u16::MAX).prop_map(P::TopicAlias).boxed(),
        I::MaximumQos => flag().prop_map(P::MaximumQos).boxed(),
        I::RetainAvailable => flag().prop_map(P::RetainAvailable).boxed(),
        I::UserProperty => (text(), text())
            .prop_map(|(k, v)| P::UserProperty(k, v))
            .boxed(),
        I::MaximumPacketSize => (1..=u32::MAX).prop_map(P::MaximumPacketSize).boxed(),
        I::WildcardSubscriptionAvailable => {
            flag().prop_map(P::WildcardSubscriptionAvailable).boxed()
        }
        I::SubscriptionIdentifierAvailable => {
            flag().prop_map(P::SubscriptionIdentifierAvailable).boxed()
        }
        I::SharedSubscriptionAvailable => flag().prop_map(P::SharedSubscriptionAvailable).boxed(),
    }
}

/// Where a property list sits; the allowed lists follow MQTT 5.0 chapter 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Connect,
    Will,
    ConnAck,
    Publish,
    Ack,
    Subscribe,
    Unsubscribe,
    Disconnect,
    Auth,
}

fn allowed(carrier: Carrier) -> &'static [PropertyId] {
    use PropertyId as I;
    match carrier {
        Carrier::Connect => &[
            I::SessionExpiryInterval,
            I::ReceiveMaximum,
            I::MaximumPacketSize,
            I::TopicAliasMaximum,
            I::RequestResponseInformation,
            I::RequestProblemInformation,
            I::AuthenticationMethod,
            I::AuthenticationData,
        ],
        Carrier::Will => &[
            I::WillDelayInterval,
            I::PayloadFormatIndicator,
            I::MessageExpiryInterval,
            I::ContentType,
            I::ResponseTopic,
            I::CorrelationData,
        ],
        Carrier::ConnAck => &[
            I::SessionExpiryInterval,
            I::ReceiveMaximum,
            I::MaximumQos,
            I::RetainAvailable,
            I::MaximumPacketSize,
            I::AssignedClientIdentifier,
            I::TopicAliasMaximum,
            I::ReasonString,
            I::WildcardSubscriptionAvailable,
            I::SubscriptionIdentifierAvailable,
            I::SharedSubscriptionAvailable,
            I::ServerKeepAlive,
            I::ResponseInformation,
            I::ServerReference,
            I::AuthenticationMethod,
            I::AuthenticationData,
        ],
        Carrier::Publish => &[
            I::PayloadFormatIndicator,
            I::MessageExpiryInterval,
            I::TopicAlias,
            I::ResponseTopic,
            I::CorrelationData,
            I::ContentType,
        ],
        Carrier::Ack => &[I::ReasonString],
        Carrier::Subscribe => &[I::SubscriptionIdentifier],
        Carrier::Unsubscribe => &[],
        Carrier::Disconnect => &[
            I::SessionExpiryInterval,
            I::ReasonString,
            I::ServerReference,
        ],
        Carrier::Auth => &[
            I::AuthenticationMethod,
            I::AuthenticationData,
            I::ReasonString,
        ],
    }
}

/// A valid property list for `carrier` at `protocol` (empty before MQTT 5), in shuffled order
/// with repeated user properties (and subscription identifiers in PUBLISH).
pub fn properties(carrier: Carrier, protocol: Protocol) -> BoxedStrategy<Properties> {
    if !protocol.is_v5() {
        return Just(Properties::new()).boxed();
    }
    let singles: Vec<_> = allowed(carrier)
        .iter()
        .map(|id| prop::option::weighted(0.3, single(*id)))
        .collect();
    let users = prop::collection::vec(single(PropertyId::UserProperty), 0..3);
    let sub_ids = if carrier == Carrier::Publish {
        prop::collection::vec(single(PropertyId::SubscriptionIdentifier), 0..3).boxed()
    } else {
        Just(vec![]).boxed()
    };
    (singles, users, sub_ids)
        .prop_map(move |(singles, users, ids)| {
            let mut v: Vec<Property> = singles.into_iter().flatten().collect();
            let has = |v: &Vec<Property>, id| v.iter().any(|p: &Property| p.id() == id);
            if matches!(carrier, Carrier::Connect | Carrier::ConnAck)
                && has(&v, PropertyId::AuthenticationData)
                && !has(&v, PropertyId::AuthenticationMethod)
            {
                v.push(Property::AuthenticationMethod("m".into()));
            }
            v.extend(users);
            v.extend(ids);
            v
        })
        .prop_shuffle()
        .prop_map(Properties)
        .boxed()
}

/// Reason codes each MQTT 5 packet may carry.
pub const CONNACK_V5: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
pub const PUBACK_V5: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
pub const PUBREL_V5: &[u8] = &[0x00, 0x92];
pub const SUBACK_V5: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
pub const UNSUBACK_V5: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
pub const DISCONNECT_V5: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
pub const AUTH_V5: &[u8] = &[0x00, 0x18, 0x19];
/// The 3.x CONNACK return codes, as reason codes.
pub const CONNACK_V3: &[u8] = &[0x00, 0x84, 0x85, 0x88, 0x86, 0x87];
pub const SUBACK_V3: &[u8] = &[0x00, 0x01, 0x02, 0x80];

fn reason(codes: &'static [u8]) -> impl Strategy<Value = ReasonCode> {
    select(codes).prop_map(ReasonCode)
}

mod packet;
#[allow(unused_imports)]
pub use packet::{any_packet, packet};
