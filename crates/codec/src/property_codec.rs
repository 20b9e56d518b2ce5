//! MQTT 5 property lists on the wire: the table of which property each packet may carry, and the
//! decoding (with the duplicate, zero-value and boolean rules) and encoding of a list. Called by
//! the decoder and the encoder for every MQTT 5 packet that has properties.

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::property::{Properties, Property, PropertyId};
use crate::topic;
use crate::wire::{self, Reader};

/// The packet (or the will inside CONNECT) a property list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carrier {
    /// CONNECT's own properties.
    Connect,
    /// The will properties in CONNECT's payload.
    Will,
    /// CONNACK.
    ConnAck,
    /// PUBLISH.
    Publish,
    /// PUBACK, PUBREC, PUBREL and PUBCOMP.
    PubAck,
    /// SUBSCRIBE.
    Subscribe,
    /// SUBACK.
    SubAck,
    /// UNSUBSCRIBE.
    Unsubscribe,
    /// UNSUBACK.
    UnsubAck,
    /// DISCONNECT.
    Disconnect,
    /// AUTH.
    Auth,
}

/// A set of property identifiers as a bit mask (every identifier is below 64).
const fn mask(ids: &[PropertyId]) -> u64 {
    let mut m = 0u64;
    let mut i = 0;
    while i < ids.len() {
        m |= 1u64 << (ids[i] as u8);
        i += 1;
    }
    m
}

/// Which properties each carrier may hold: the "Properties" subsection of each packet in
/// chapter 3 of MQTT 5.0, collected in the table of §2.2.2.2.
const fn allowed_mask(carrier: Carrier) -> u64 {
    use PropertyId as P;
    match carrier {
        // §3.1.2.11
        Carrier::Connect => mask(&[
            P::SessionExpiryInterval,
            P::ReceiveMaximum,
            P::MaximumPacketSize,
            P::TopicAliasMaximum,
            P::RequestResponseInformation,
            P::RequestProblemInformation,
            P::UserProperty,
            P::AuthenticationMethod,
            P::AuthenticationData,
        ]),
        // §3.1.3.2
        Carrier::Will => mask(&[
            P::WillDelayInterval,
            P::PayloadFormatIndicator,
            P::MessageExpiryInterval,
            P::ContentType,
            P::ResponseTopic,
            P::CorrelationData,
            P::UserProperty,
        ]),
        // §3.2.2.3
        Carrier::ConnAck => mask(&[
            P::SessionExpiryInterval,
            P::ReceiveMaximum,
            P::MaximumQos,
            P::RetainAvailable,
            P::MaximumPacketSize,
            P::AssignedClientIdentifier,
            P::TopicAliasMaximum,
            P::ReasonString,
            P::UserProperty,
            P::WildcardSubscriptionAvailable,
            P::SubscriptionIdentifierAvailable,
            P::SharedSubscriptionAvailable,
            P::ServerKeepAlive,
            P::ResponseInformation,
            P::ServerReference,
            P::AuthenticationMethod,
            P::AuthenticationData,
        ]),
        // §3.3.2.3
        Carrier::Publish => mask(&[
            P::PayloadFormatIndicator,
            P::MessageExpiryInterval,
            P::TopicAlias,
            P::ResponseTopic,
            P::CorrelationData,
            P::UserProperty,
            P::SubscriptionIdentifier,
            P::ContentType,
        ]),
        // §3.4.2.2, §3.5.2.2, §3.6.2.2, §3.7.2.2; §3.9.2.1; §3.11.2.1
        Carrier::PubAck | Carrier::SubAck | Carrier::UnsubAck => {
            mask(&[P::ReasonString, P::UserProperty])
        }
        // §3.8.2.1
        Carrier::Subscribe => mask(&[P::SubscriptionIdentifier, P::UserProperty]),
        // §3.10.2.1
        Carrier::Unsubscribe => mask(&[P::UserProperty]),
        // §3.14.2.2
        Carrier::Disconnect => mask(&[
            P::SessionExpiryInterval,
            P::ReasonString,
            P::UserProperty,
            P::ServerReference,
        ]),
        // §3.15.2.2
        Carrier::Auth => mask(&[
            P::AuthenticationMethod,
            P::AuthenticationData,
            P::ReasonString,
            P::UserProperty,
        ]),
    }
}

/// Whether `id` may appear more than once in `carrier`: User Property anywhere, Subscription
/// Identifier in PUBLISH (one per matching subscription, §3.3.4).
fn may_repeat(id: PropertyId, carrier: Carrier) -> bool {
    id == PropertyId::UserProperty
        || (id == PropertyId::SubscriptionIdentifier && carrier == Carrier::Publish)
}

/// A byte property that may only be 0 or 1.
fn boolean(r: &mut Reader, what: &'static str) -> Result<u8, DecodeError> {
    let v = r.u8()?;
    if v > 1 {
        return Err(DecodeError::Protocol(what));
    }
    Ok(v)
}

/// Reads a property length and the list it covers, checking every rule the decoder can check
/// without session state.
pub(crate) fn decode(r: &mut Reader, carrier: Carrier) -> Result<Properties, DecodeError> {
    let len = r.varint()? as usize;
    if len > r.remaining() {
        return Err(DecodeError::Malformed(
            "property length runs past the end of the packet",
        ));
    }
    // The list is parsed from its own slice, so a property crossing the end of the declared
    // length is reported as malformed instead of eating into the payload.
    let mut list = r.sub(len)?;
    let mut props = Properties::new();
    let mut seen = 0u64;
    while !list.is_empty() {
        let raw = list.varint()?;
        let id = u8::try_from(raw)
            .ok()
            .and_then(PropertyId::from_u8)
            .ok_or(DecodeError::Malformed("unknown property identifier"))?;
        let bit = 1u64 << (id as u8);
        if allowed_mask(carrier) & bit == 0 {
            // §2.2.2.2: each packet lists the properties it may contain.
            return Err(DecodeError::Protocol("property not allowed in this packet"));
        }
        if seen & bit != 0 && !may_repeat(id, carrier) {
            // "It is a Protocol Error to include ... more than once" (each single-valued property).
            return Err(DecodeError::Protocol(
                "single-valued property included more than once",
            ));
        }
        seen |= bit;
        props.push(value(&mut list, id)?);
    }
    if seen & mask(&[PropertyId::AuthenticationData]) != 0
        && seen & mask(&[PropertyId::AuthenticationMethod]) == 0
        && matches!(carrier, Carrier::Connect | Carrier::ConnAck)
    {
        // §3.1.2.11.10, §3.2.2.3.18: Authentication Data without Authentication Method.
        return Err(DecodeError::Protocol(
            "authentication data without authentication method",
        ));
    }
    Ok(props)
}

/// Reads the value of property `id` and checks the value rules of §3.
fn value(r: &mut Reader, id: PropertyId) -> Result<Property, DecodeError> {
    use PropertyId as I;
    Ok(match id {
        // §3.3.2.3.2: 0 (unspecified bytes) or 1 (UTF-8).
        I::PayloadFormatIndicator => {
            Property::PayloadFormatIndicator(boolean(r, "payload format indicator not 0 or 1")?)
        }
        I::MessageExpiryInterval => Property::MessageExpiryInterval(r.u32()?),
        I::ContentType => Property::ContentType(r.string()?),
        I::ResponseTopic => {
            let t = r.string()?;
            // [MQTT-3.3.2-14] the Response Topic MUST NOT contain wildcards; it is a topic name.
            topic::validate_name(&t).map_err(DecodeError::TopicName)?;
            Property::ResponseTopic(t)
        }
        I::CorrelationData => Property::CorrelationData(r.binary()?),
        I::SubscriptionIdentifier => {
            // §3.8.2.1.2: a variable byte integer 1..268,435,455; "It is a Protocol Error if the
            // Subscription Identifier has a value of 0". Four bytes cannot exceed the maximum.
            let v = r.varint()?;
            if v == 0 {
                return Err(DecodeError::Protocol("subscription identifier 0"));
            }
            Property::SubscriptionIdentifier(v)
        }
        I::SessionExpiryInterval => Property::SessionExpiryInterval(r.u32()?),
        I::AssignedClientIdentifier => Property::AssignedClientIdentifier(r.string()?),
        I::ServerKeepAlive => Property::ServerKeepAlive(r.u16()?),
        I::AuthenticationMethod => Property::AuthenticationMethod(r.string()?),
        I::AuthenticationData => Property::AuthenticationData(r.binary()?),
        // §3.1.2.11.7: "a value other than 0 or 1" is a Protocol Error.
        I::RequestProblemInformation => Property::RequestProblemInformation(boolean(
            r,
            "request problem information not 0 or 1",
        )?),
        I::WillDelayInterval => Property::WillDelayInterval(r.u32()?),
        // §3.1.2.11.6: "a value other than 0 or 1" is a Protocol Error.
        I::RequestResponseInformation => Property::RequestResponseInformation(boolean(
            r,
            "request response information not 0 or 1",
        )?),
        I::ResponseInformation => Property::ResponseInformation(r.string()?),
        I::ServerReference => Property::ServerReference(r.string()?),
        I::ReasonString => Property::ReasonString(r.string()?),
        I::ReceiveMaximum => {
            // §3.1.2.11.3 / §3.2.2.3.3: "It is a Protocol Error ... to have the value 0".
            let v = r.u16()?;
            if v == 0 {
                return Err(DecodeError::Protocol("receive maximum 0"));
            }
            Property::ReceiveMaximum(v)
        }
        I::TopicAliasMaximum => Property::TopicAliasMaximum(r.u16()?),
        I::TopicAlias => {
            // [MQTT-3.3.2-8] a sender MUST NOT send a Topic Alias of 0.
            let v = r.u16()?;
            if v == 0 {
                // A Protocol Error whose reason code is 0x94 Topic Alias invalid (§3.3.2.3.4).
                return Err(DecodeError::TopicAliasInvalid);
            }
            Property::TopicAlias(v)
        }
        // §3.2.2.3.4: "a value other than 0 or 1" is a Protocol Error.
        I::MaximumQos => Property::MaximumQos(boolean(r, "maximum QoS not 0 or 1")?),
        // §3.2.2.3.5: "a value other than 0 or 1" is a Protocol Error.
        I::RetainAvailable => Property::RetainAvailable(boolean(r, "retain available not 0 or 1")?),
        I::UserProperty => {
            let k = r.string()?;
            Property::UserProperty(k, r.string()?)
        }
        I::MaximumPacketSize => {
            // §3.1.2.11.4 / §3.2.2.3.6: "It is a Protocol Error ... for the value to be 0".
            let v = r.u32()?;
            if v == 0 {
                return Err(DecodeError::Protocol("maximum packet size 0"));
            }
            Property::MaximumPacketSize(v)
        }
        // §3.2.2.3.11..13: "a value other than 0 or 1" is a Protocol Error.
        I::WildcardSubscriptionAvailable => Property::WildcardSubscriptionAvailable(boolean(
            r,
            "wildcard subscription available not 0 or 1",
        )?),
        I::SubscriptionIdentifierAvailable => Property::SubscriptionIdentifierAvailable(boolean(
            r,
            "subscription identifier available not 0 or 1",
        )?),
        I::SharedSubscriptionAvailable => Property::SharedSubscriptionAvailable(boolean(
            r,
            "shared subscription available not 0 or 1",
        )?),
    })
}

/// Bytes the list takes on the wire, without its own length prefix.
pub(crate) fn encoded_len(props: &Properties) -> Result<usize, EncodeError> {
    let mut len = 0;
    for p in props.iter() {
        // Every identifier is below 128: a one-byte variable byte integer.
        len += 1 + match p {
            Property::PayloadFormatIndicator(_)
            | Property::RequestProblemInformation(_)
            | Property::RequestResponseInformation(_)
            | Property::MaximumQos(_)
            | Property::RetainAvailable(_)
            | Property::WildcardSubscriptionAvailable(_)
            | Property::SubscriptionIdentifierAvailable(_)
            | Property::SharedSubscriptionAvailable(_) => 1,
            Property::ServerKeepAlive(_)
            | Property::ReceiveMaximum(_)
            | Property::TopicAliasMaximum(_)
            | Property::TopicAlias(_) => 2,
            Property::MessageExpiryInterval(_)
            | Property::SessionExpiryInterval(_)
            | Property::WillDelayInterval(_)
            | Property::MaximumPacketSize(_) => 4,
            Property::SubscriptionIdentifier(v) => {
                let v = *v as usize;
                if v == 0 || v > wire::VARINT_MAX {
                    return Err(EncodeError::Invalid(
                        "subscription identifier out of 1..268435455",
                    ));
                }
                wire::varint_len(v)
            }
            Property::ContentType(s)
            | Property::ResponseTopic(s)
            | Property::AssignedClientIdentifier(s)
            | Property::AuthenticationMethod(s)
            | Property::ResponseInformation(s)
            | Property::ServerReference(s)
            | Property::ReasonString(s) => wire::field_len(s.len(), p.id().name())?,
            Property::CorrelationData(b) | Property::AuthenticationData(b) => {
                wire::field_len(b.len(), p.id().name())?
            }
            Property::UserProperty(k, v) => {
                wire::field_len(k.len(), "User-Property name")?
                    + wire::field_len(v.len(), "User-Property value")?
            }
        };
    }
    Ok(len)
}

/// Writes the property length `len` (from [`encoded_len`]) and the list.
pub(crate) fn put(buf: &mut BytesMut, props: &Properties, len: usize) {
    wire::put_varint(buf, len);
    for p in props.iter() {
        buf.put_u8(p.id() as u8);
        match p {
            Property::PayloadFormatIndicator(v)
            | Property::RequestProblemInformation(v)
            | Property::RequestResponseInformation(v)
            | Property::MaximumQos(v)
            | Property::RetainAvailable(v)
            | Property::WildcardSubscriptionAvailable(v)
            | Property::SubscriptionIdentifierAvailable(v)
            | Property::SharedSubscriptionAvailable(v) => buf.put_u8(*v),
            Property::ServerKeepAlive(v)
            | Property::ReceiveMaximum(v)
            | Property::TopicAliasMaximum(v)
            | Property::TopicAlias(v) => buf.put_u16(*v),
            Property::MessageExpiryInterval(v)
            | Property::SessionExpiryInterval(v)
            | Property::WillDelayInterval(v)
            | Property::MaximumPacketSize(v) => buf.put_u32(*v),
            // A variable byte integer, never a four byte integer (a bug other codecs shipped).
            Property::SubscriptionIdentifier(v) => wire::put_varint(buf, *v as usize),
            Property::ContentType(s)
            | Property::ResponseTopic(s)
            | Property::AssignedClientIdentifier(s)
            | Property::AuthenticationMethod(s)
            | Property::ResponseInformation(s)
            | Property::ServerReference(s)
            | Property::ReasonString(s) => wire::put_field(buf, s.as_bytes()),
            Property::CorrelationData(b) | Property::AuthenticationData(b) => {
                wire::put_field(buf, b)
            }
            Property::UserProperty(k, v) => {
                wire::put_field(buf, k.as_bytes());
                wire::put_field(buf, v.as_bytes());
            }
        }
    }
}

/// Writes a PUBLISH (or will) property list with its length prefix, as a packet carries it. For
/// callers that carry messages in their own framing (the cluster's envelope) and want the
/// properties byte-identical to what a client sent.
pub fn encode_message_properties(
    props: &Properties,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let len = encoded_len(props)?;
    put(buf, props, len);
    Ok(())
}

/// Reads a PUBLISH property list with its length prefix from the front of `data`, checked by the
/// same rules as a PUBLISH's ([MQTT-2.2.2-1]: only properties a PUBLISH may carry); the bytes
/// after the list stay in `data`.
pub fn decode_message_properties(data: &mut bytes::Bytes) -> Result<Properties, DecodeError> {
    let mut r = Reader::new(std::mem::take(data));
    let props = decode(&mut r, Carrier::Publish)?;
    *data = r.rest();
    Ok(props)
}

/// Reads a will property list with its length prefix from the front of `data`, checked by the
/// rules for the will properties of CONNECT.
pub fn decode_will_properties(data: &mut bytes::Bytes) -> Result<Properties, DecodeError> {
    let mut r = Reader::new(std::mem::take(data));
    let props = decode(&mut r, Carrier::Will)?;
    *data = r.rest();
    Ok(props)
}
