//! MQTT 5 properties: the identifiers, typed values and the list carried by each packet.
//!
//! [`Properties`] keeps the properties in wire order in a small vector, so a packet without
//! properties costs no allocation; typed getters find single-valued properties. Which property may
//! appear in which packet, and the rules on duplicates and zero values, are enforced by the decoder.

use bytes::Bytes;
use bytestring::ByteString;

/// Property identifiers ([MQTT 5.0 §2.2.2.2]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PropertyId {
    /// 0x01 Byte
    PayloadFormatIndicator = 0x01,
    /// 0x02 Four Byte Integer
    MessageExpiryInterval = 0x02,
    /// 0x03 UTF-8 String
    ContentType = 0x03,
    /// 0x08 UTF-8 String
    ResponseTopic = 0x08,
    /// 0x09 Binary Data
    CorrelationData = 0x09,
    /// 0x0B Variable Byte Integer
    SubscriptionIdentifier = 0x0B,
    /// 0x11 Four Byte Integer
    SessionExpiryInterval = 0x11,
    /// 0x12 UTF-8 String
    AssignedClientIdentifier = 0x12,
    /// 0x13 Two Byte Integer
    ServerKeepAlive = 0x13,
    /// 0x15 UTF-8 String
    AuthenticationMethod = 0x15,
    /// 0x16 Binary Data
    AuthenticationData = 0x16,
    /// 0x17 Byte
    RequestProblemInformation = 0x17,
    /// 0x18 Four Byte Integer
    WillDelayInterval = 0x18,
    /// 0x19 Byte
    RequestResponseInformation = 0x19,
    /// 0x1A UTF-8 String
    ResponseInformation = 0x1A,
    /// 0x1C UTF-8 String
    ServerReference = 0x1C,
    /// 0x1F UTF-8 String
    ReasonString = 0x1F,
    /// 0x21 Two Byte Integer
    ReceiveMaximum = 0x21,
    /// 0x22 Two Byte Integer
    TopicAliasMaximum = 0x22,
    /// 0x23 Two Byte Integer
    TopicAlias = 0x23,
    /// 0x24 Byte
    MaximumQos = 0x24,
    /// 0x25 Byte
    RetainAvailable = 0x25,
    /// 0x26 UTF-8 String Pair
    UserProperty = 0x26,
    /// 0x27 Four Byte Integer
    MaximumPacketSize = 0x27,
    /// 0x28 Byte
    WildcardSubscriptionAvailable = 0x28,
    /// 0x29 Byte
    SubscriptionIdentifierAvailable = 0x29,
    /// 0x2A Byte
    SharedSubscriptionAvailable = 0x2A,
}

impl PropertyId {
    /// Parses an identifier byte.
    pub fn from_u8(v: u8) -> Option<PropertyId> {
        use PropertyId::*;
        Some(match v {
            0x01 => PayloadFormatIndicator,
            0x02 => MessageExpiryInterval,
            0x03 => ContentType,
            0x08 => ResponseTopic,
            0x09 => CorrelationData,
            0x0B => SubscriptionIdentifier,
            0x11 => SessionExpiryInterval,
            0x12 => AssignedClientIdentifier,
            0x13 => ServerKeepAlive,
            0x15 => AuthenticationMethod,
            0x16 => AuthenticationData,
            0x17 => RequestProblemInformation,
            0x18 => WillDelayInterval,
            0x19 => RequestResponseInformation,
            0x1A => ResponseInformation,
            0x1C => ServerReference,
            0x1F => ReasonString,
            0x21 => ReceiveMaximum,
            0x22 => TopicAliasMaximum,
            0x23 => TopicAlias,
            0x24 => MaximumQos,
            0x25 => RetainAvailable,
            0x26 => UserProperty,
            0x27 => MaximumPacketSize,
            0x28 => WildcardSubscriptionAvailable,
            0x29 => SubscriptionIdentifierAvailable,
            0x2A => SharedSubscriptionAvailable,
            _ => return None,
        })
    }

    /// The property's name as the specification writes it, e.g. `Session-Expiry-Interval`
    /// (the form EMQX uses in hook payloads).
    pub fn name(self) -> &'static str {
        use PropertyId::*;
        match self {
            PayloadFormatIndicator => "Payload-Format-Indicator",
            MessageExpiryInterval => "Message-Expiry-Interval",
            ContentType => "Content-Type",
            ResponseTopic => "Response-Topic",
            CorrelationData => "Correlation-Data",
            SubscriptionIdentifier => "Subscription-Identifier",
            SessionExpiryInterval => "Session-Expiry-Interval",
            AssignedClientIdentifier => "Assigned-Client-Identifier",
            ServerKeepAlive => "Server-Keep-Alive",
            AuthenticationMethod => "Authentication-Method",
            AuthenticationData => "Authentication-Data",
            RequestProblemInformation => "Request-Problem-Information",
            WillDelayInterval => "Will-Delay-Interval",
            RequestResponseInformation => "Request-Response-Information",
            ResponseInformation => "Response-Information",
            ServerReference => "Server-Reference",
            ReasonString => "Reason-String",
            ReceiveMaximum => "Receive-Maximum",
            TopicAliasMaximum => "Topic-Alias-Maximum",
            TopicAlias => "Topic-Alias",
            MaximumQos => "Maximum-QoS",
            RetainAvailable => "Retain-Available",
            UserProperty => "User-Property",
            MaximumPacketSize => "Maximum-Packet-Size",
            WildcardSubscriptionAvailable => "Wildcard-Subscription-Available",
            SubscriptionIdentifierAvailable => "Subscription-Identifier-Available",
            SharedSubscriptionAvailable => "Shared-Subscription-Available",
        }
    }
}

/// One property with its typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// 0x01: 0 = unspecified bytes, 1 = UTF-8.
    PayloadFormatIndicator(u8),
    /// 0x02: seconds.
    MessageExpiryInterval(u32),
    /// 0x03
    ContentType(ByteString),
    /// 0x08: a topic name.
    ResponseTopic(ByteString),
    /// 0x09
    CorrelationData(Bytes),
    /// 0x0B: 1..=268_435_455.
    SubscriptionIdentifier(u32),
    /// 0x11: seconds.
    SessionExpiryInterval(u32),
    /// 0x12
    AssignedClientIdentifier(ByteString),
    /// 0x13: seconds.
    ServerKeepAlive(u16),
    /// 0x15
    AuthenticationMethod(ByteString),
    /// 0x16
    AuthenticationData(Bytes),
    /// 0x17: 0 or 1.
    RequestProblemInformation(u8),
    /// 0x18: seconds.
    WillDelayInterval(u32),
    /// 0x19: 0 or 1.
    RequestResponseInformation(u8),
    /// 0x1A
    ResponseInformation(ByteString),
    /// 0x1C
    ServerReference(ByteString),
    /// 0x1F
    ReasonString(ByteString),
    /// 0x21: never 0.
    ReceiveMaximum(u16),
    /// 0x22
    TopicAliasMaximum(u16),
    /// 0x23: never 0.
    TopicAlias(u16),
    /// 0x24: 0 or 1.
    MaximumQos(u8),
    /// 0x25: 0 or 1.
    RetainAvailable(u8),
    /// 0x26: may repeat; order is preserved ([MQTT-3.3.2-18]).
    UserProperty(ByteString, ByteString),
    /// 0x27: never 0.
    MaximumPacketSize(u32),
    /// 0x28: 0 or 1.
    WildcardSubscriptionAvailable(u8),
    /// 0x29: 0 or 1.
    SubscriptionIdentifierAvailable(u8),
    /// 0x2A: 0 or 1.
    SharedSubscriptionAvailable(u8),
}

impl Property {
    /// The identifier of this property.
    pub fn id(&self) -> PropertyId {
        use Property as P;
        use PropertyId as I;
        match self {
            P::PayloadFormatIndicator(_) => I::PayloadFormatIndicator,
            P::MessageExpiryInterval(_) => I::MessageExpiryInterval,
            P::ContentType(_) => I::ContentType,
            P::ResponseTopic(_) => I::ResponseTopic,
            P::CorrelationData(_) => I::CorrelationData,
            P::SubscriptionIdentifier(_) => I::SubscriptionIdentifier,
            P::SessionExpiryInterval(_) => I::SessionExpiryInterval,
            P::AssignedClientIdentifier(_) => I::AssignedClientIdentifier,
            P::ServerKeepAlive(_) => I::ServerKeepAlive,
            P::AuthenticationMethod(_) => I::AuthenticationMethod,
            P::AuthenticationData(_) => I::AuthenticationData,
            P::RequestProblemInformation(_) => I::RequestProblemInformation,
            P::WillDelayInterval(_) => I::WillDelayInterval,
            P::RequestResponseInformation(_) => I::RequestResponseInformation,
            P::ResponseInformation(_) => I::ResponseInformation,
            P::ServerReference(_) => I::ServerReference,
            P::ReasonString(_) => I::ReasonString,
            P::ReceiveMaximum(_) => I::ReceiveMaximum,
            P::TopicAliasMaximum(_) => I::TopicAliasMaximum,
            P::TopicAlias(_) => I::TopicAlias,
            P::MaximumQos(_) => I::MaximumQos,
            P::RetainAvailable(_) => I::RetainAvailable,
            P::UserProperty(_, _) => I::UserProperty,
            P::MaximumPacketSize(_) => I::MaximumPacketSize,
            P::WildcardSubscriptionAvailable(_) => I::WildcardSubscriptionAvailable,
            P::SubscriptionIdentifierAvailable(_) => I::SubscriptionIdentifierAvailable,
            P::SharedSubscriptionAvailable(_) => I::SharedSubscriptionAvailable,
        }
    }
}

/// The properties of one packet, in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties(pub Vec<Property>);

macro_rules! getter {
    ($(#[$doc:meta] $name:ident: $variant:ident -> $ty:ty;)*) => {
        $(
            #[$doc]
            pub fn $name(&self) -> Option<$ty> {
                self.0.iter().find_map(|p| match p {
                    Property::$variant(v) => Some(v.clone()),
                    _ => None,
                })
            }
        )*
    };
}

impl Properties {
    /// No properties.
    pub fn new() -> Properties {
        Properties(Vec::new())
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the properties in wire order.
    pub fn iter(&self) -> std::slice::Iter<'_, Property> {
        self.0.iter()
    }

    /// Appends a property.
    pub fn push(&mut self, p: Property) {
        self.0.push(p);
    }

    /// Removes every property with this identifier.
    pub fn remove(&mut self, id: PropertyId) {
        self.0.retain(|p| p.id() != id);
    }

    /// Replaces the single-valued property with this identifier (or appends it).
    pub fn set(&mut self, p: Property) {
        let id = p.id();
        match self.0.iter_mut().find(|q| q.id() == id) {
            Some(slot) => *slot = p,
            None => self.0.push(p),
        }
    }

    /// User properties in order.
    pub fn user_properties(&self) -> impl Iterator<Item = (&ByteString, &ByteString)> {
        self.0.iter().filter_map(|p| match p {
            Property::UserProperty(k, v) => Some((k, v)),
            _ => None,
        })
    }

    /// Subscription identifiers in order.
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().filter_map(|p| match p {
            Property::SubscriptionIdentifier(v) => Some(*v),
            _ => None,
        })
    }

    getter! {
        /// Payload Format Indicator.
        payload_format_indicator: PayloadFormatIndicator -> u8;
        /// Message Expiry Interval in seconds.
        message_expiry_interval: MessageExpiryInterval -> u32;
        /// Content Type.
        content_type: ContentType -> ByteString;
        /// Response Topic.
        response_topic: ResponseTopic -> ByteString;
        /// Correlation Data.
        correlation_data: CorrelationData -> Bytes;
        /// Session Expiry Interval in seconds.
        session_expiry_interval: SessionExpiryInterval -> u32;
        /// Assigned Client Identifier.
        assigned_client_identifier: AssignedClientIdentifier -> ByteString;
        /// Server Keep Alive in seconds.
        server_keep_alive: ServerKeepAlive -> u16;
        /// Authentication Method.
        authentication_method: AuthenticationMethod -> ByteString;
        /// Authentication Data.
        authentication_data: AuthenticationData -> Bytes;
        /// Request Problem Information.
        request_problem_information: RequestProblemInformation -> u8;
        /// Will Delay Interval in seconds.
        will_delay_interval: WillDelayInterval -> u32;
        /// Request Response Information.
        request_response_information: RequestResponseInformation -> u8;
        /// Response Information.
        response_information: ResponseInformation -> ByteString;
        /// Server Reference.
        server_reference: ServerReference -> ByteString;
        /// Reason String.
        reason_string: ReasonString -> ByteString;
        /// Receive Maximum.
        receive_maximum: ReceiveMaximum -> u16;
        /// Topic Alias Maximum.
        topic_alias_maximum: TopicAliasMaximum -> u16;
        /// Topic Alias.
        topic_alias: TopicAlias -> u16;
        /// Maximum QoS.
        maximum_qos: MaximumQos -> u8;
        /// Retain Available.
        retain_available: RetainAvailable -> u8;
        /// Maximum Packet Size.
        maximum_packet_size: MaximumPacketSize -> u32;
    }
}

impl FromIterator<Property> for Properties {
    fn from_iter<T: IntoIterator<Item = Property>>(iter: T) -> Self {
        Properties(iter.into_iter().collect())
    }
}
