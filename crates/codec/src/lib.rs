//! Sans-IO MQTT codec for protocol levels 3 (MQTT 3.1, `MQIsdp`), 4 (3.1.1) and 5 (5.0).
//!
//! The broker's connection task, the load generator and the fuzz targets call into this crate; it
//! knows nothing of sockets or runtimes. [`decode`] turns bytes into a [`Packet`] (or says more bytes
//! are needed) and rejects every malformed input with the error the specification prescribes;
//! [`encode`] writes a [`Packet`] back. [`topic`] validates topic names and filters and matches them;
//! [`template`] puts a client's identity into a topic without letting it change what it matches.

pub mod decode;
pub mod encode;
pub mod error;
pub mod packet;
pub mod property;
mod property_codec;
pub mod reason;
pub mod template;
pub mod topic;
mod wire;

pub use decode::{Decoder, decode_packet};
pub use encode::{encode_packet, encoded_len};
pub use error::TopicError;
pub use error::{DecodeError, EncodeError};
pub use packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, PacketId, PacketType, Protocol, PubAck,
    Publish, QoS, RetainHandling, SubAck, Subscribe, SubscriptionOptions, UnsubAck, Unsubscribe,
};
pub use property::{Properties, Property, PropertyId};
pub use property_codec::{
    decode_message_properties, decode_will_properties, encode_message_properties,
};
pub use reason::ReasonCode;
pub use topic::{SharedFilter, TopicFilter, TopicName};

/// Re-exported so users of the codec name the same string type.
pub use bytestring::ByteString;
