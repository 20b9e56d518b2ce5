//! A message on its way to one subscriber: the shared message plus what is particular to this
//! subscriber (granted QoS, retain flag as delivered, subscription identifiers). The router makes
//! deliveries; sessions queue them; connections turn them into PUBLISH packets.

use std::sync::Arc;

use hookmq_codec::{PacketId, Properties, Property, Publish, QoS};
use hookmq_hooks::Message;

use crate::inflight::Phase;
use crate::persist::StoredEntry;

/// One message for one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delivery {
    pub(crate) message: Arc<Message>,
    /// min(published QoS, granted QoS).
    pub(crate) qos: QoS,
    /// RETAIN flag to send: set for retained messages sent on subscribe, and for routed messages
    /// only with Retain As Published ([MQTT-3.3.1-12], [MQTT-3.3.1-13]).
    pub(crate) retain: bool,
    /// Subscription identifiers of the matching subscriptions ([MQTT-3.3.4-3]).
    pub(crate) subscription_ids: Vec<u32>,
    /// Position in the session's stored queue; 0 when not stored.
    pub(crate) seq: u64,
}

impl Delivery {
    /// The stored form of this delivery, queued or in flight under a packet id.
    pub(crate) fn stored(&self, inflight: Option<(PacketId, Phase)>) -> StoredEntry {
        StoredEntry {
            message: self.message.clone(),
            qos: self.qos,
            retain: self.retain,
            subscription_ids: self.subscription_ids.clone(),
            inflight,
        }
    }

    /// The PUBLISH for this delivery at `now_ms`, with the remaining message expiry
    /// ([MQTT-3.3.2-6]). Topic aliasing is applied by the connection.
    pub(crate) fn to_publish(
        &self,
        packet_id: Option<PacketId>,
        dup: bool,
        now_ms: u64,
    ) -> Publish {
        let m = &self.message;
        let mut properties = if m.properties.is_empty() && self.subscription_ids.is_empty() {
            Properties::default()
        } else {
            let mut p = Properties(Vec::with_capacity(
                m.properties.0.len() + self.subscription_ids.len(),
            ));
            for prop in m.properties.iter() {
                match prop {
                    Property::MessageExpiryInterval(_) => {
                        if let Some(left) = m.remaining_expiry(now_ms) {
                            p.push(Property::MessageExpiryInterval(left));
                        }
                    }
                    other => p.push(other.clone()),
                }
            }
            p
        };
        for id in &self.subscription_ids {
            properties.push(Property::SubscriptionIdentifier(*id));
        }
        Publish {
            dup,
            qos: self.qos,
            retain: self.retain,
            topic: m.topic.as_bytestring().clone(),
            packet_id,
            payload: m.payload.clone(),
            properties,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;
    use hookmq_codec::TopicName;

    pub(crate) fn delivery(topic: &str, qos: QoS) -> Delivery {
        Delivery {
            message: Arc::new(Message::new(
                "pub".into(),
                TopicName::new(topic).unwrap(),
                Bytes::from_static(b"x"),
                qos,
                false,
            )),
            qos,
            retain: false,
            subscription_ids: Vec::new(),
            seq: 0,
        }
    }

    #[test]
    fn publish_carries_remaining_expiry_and_subscription_ids() {
        let mut d = delivery("t", QoS::AtLeastOnce);
        let mut m = (*d.message).clone();
        m.timestamp_ms = 1_000;
        m.properties.push(Property::MessageExpiryInterval(10));
        m.properties
            .push(Property::UserProperty("k".into(), "v".into()));
        d.message = Arc::new(m);
        d.subscription_ids = vec![7, 9];
        let p = d.to_publish(PacketId::new(3), true, 4_500);
        assert!(p.dup);
        assert_eq!(p.properties.message_expiry_interval(), Some(7));
        assert_eq!(
            p.properties.subscription_identifiers().collect::<Vec<_>>(),
            [7, 9]
        );
        assert_eq!(p.properties.user_properties().count(), 1);
    }
}
