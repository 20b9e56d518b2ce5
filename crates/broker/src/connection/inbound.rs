//! Packets from the client about messages: PUBLISH (alias resolution, authorization,
//! `message.publish`, routing, acknowledgement), the acknowledgements of messages the broker
//! sent (PUBACK, PUBREC, PUBCOMP), PUBREL, and DISCONNECT.

use std::sync::Arc;

use bytestring::ByteString;
use hookmq_codec::{Packet, PropertyId, PubAck, Publish, QoS, ReasonCode, TopicName};
use hookmq_hooks::{Action, DropReason, Event, HookPoint, Message, MessageHeaders};
use tokio::time::Instant;

use super::{Close, Conn};
use crate::config::DenyAction;
use crate::held::{PendingAcks, Released};
use crate::inflight::{AckOutcome, Phase};
use crate::metrics::Metrics;
use crate::persist::Op;
use crate::recheck::Authorizer;
use crate::shared::Published;

impl Conn {
    /// Decisions for this client through its authorization cache.
    pub(crate) fn authorizer(&mut self) -> Authorizer<'_> {
        Authorizer {
            shared: &self.shared,
            clientinfo: &self.clientinfo,
            cache: Some(&mut self.authz),
        }
    }

    /// Whether the client may `action` on `topic` (as the client wrote it, before any mount
    /// point).
    pub(crate) async fn authorized(&mut self, action: Action, topic: &ByteString) -> bool {
        self.authorizer().allowed(action, topic).await
    }

    /// The topic of an incoming PUBLISH, resolving and recording topic aliases ([MQTT-3.3.2-12]).
    fn resolve_topic(&mut self, p: &Publish) -> Result<TopicName, Close> {
        let Some(alias) = p.properties.topic_alias() else {
            return TopicName::new(p.topic.clone()).map_err(|_| {
                Close::with_code(ReasonCode::TOPIC_NAME_INVALID, "topic_name_invalid")
            });
        };
        // [MQTT-3.3.2-8] an alias of 0 or above our Topic Alias Maximum is an error.
        if alias == 0 || alias > self.shared.config.mqtt.max_topic_alias {
            return Err(Close::with_code(
                ReasonCode::TOPIC_ALIAS_INVALID,
                "topic_alias_invalid",
            ));
        }
        if p.topic.is_empty() {
            return self
                .in_aliases
                .get(&alias)
                .cloned()
                .ok_or_else(|| Close::protocol_error("topic alias used before it was set"));
        }
        let topic = TopicName::new(p.topic.clone())
            .map_err(|_| Close::with_code(ReasonCode::TOPIC_NAME_INVALID, "topic_name_invalid"))?;
        self.in_aliases.insert(alias, topic.clone());
        Ok(topic)
    }

    /// Prefixes a topic with the client's mount point.
    pub(crate) fn mount(&self, topic: &str) -> ByteString {
        match &self.clientinfo.mountpoint {
            Some(mp) => format!("{mp}{topic}").into(),
            None => ByteString::from(topic),
        }
    }

    /// Acknowledges a PUBLISH, or queues the acknowledgement behind held ones so the client
    /// gets them in the order of its PUBLISHes ([MQTT-4.6.0-2], [MQTT-4.6.0-3]).
    fn ack(&mut self, qos: QoS, packet_id: Option<hookmq_codec::PacketId>, reason: ReasonCode) {
        let Some(packet_id) = packet_id else { return };
        if qos == QoS::AtMostOnce {
            return;
        }
        match &mut self.acks {
            Some(acks) => acks.push_ready(qos, packet_id, reason),
            None => self.send_ack(qos, packet_id, reason),
        }
    }

    /// Sends a PUBACK or PUBREC now.
    fn send_ack(&mut self, qos: QoS, packet_id: hookmq_codec::PacketId, reason: ReasonCode) {
        let reason = if self.protocol.is_v5() {
            reason
        } else {
            ReasonCode::SUCCESS
        };
        let ack = PubAck {
            packet_id,
            reason,
            properties: Default::default(),
        };
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.io.send(&Packet::PubAck(ack), self.protocol),
            QoS::ExactlyOnce => {
                // An error reason ends the QoS 2 flow at once ([MQTT-4.3.3-8]); otherwise the
                // identifier waits for PUBREL.
                if reason.is_success() {
                    self.session
                        .state
                        .lock()
                        .awaiting_rel
                        .insert(packet_id.get());
                } else {
                    self.forget_awaiting_rel(packet_id);
                }
                self.io.send(&Packet::PubRec(ack), self.protocol);
            }
        }
    }

    /// Ends a QoS 2 identifier accepted before its PUBREC was decided (a held PUBREC that
    /// failed): a retransmission is then a new message, routed and held again.
    fn forget_awaiting_rel(&mut self, packet_id: hookmq_codec::PacketId) {
        let removed = self
            .session
            .state
            .lock()
            .awaiting_rel
            .remove(&packet_id.get());
        if removed && self.session.persists() {
            self.shared.submit(vec![Op::DelRel(
                self.session.clientid.clone(),
                packet_id.get(),
            )]);
        }
    }

    /// Sends the acknowledgements that held ones no longer keep back (confirmed, or past their
    /// deadline). A failed hold is 0x80 for MQTT 5; MQTT 3.x has no negative acknowledgement,
    /// so the connection closes without one and the client sends the message again when it
    /// reconnects ([MQTT-4.4.0-1]) — at least once holds end to end, where acknowledging
    /// would tell the client a message the hook did not keep was delivered.
    pub(crate) fn release_acks(&mut self) -> Result<(), Close> {
        let Some(acks) = &mut self.acks else {
            return Ok(());
        };
        let released = acks.release(Instant::now());
        if acks.is_empty() {
            self.acks = None;
        }
        for r in released {
            match r {
                Released::Ack(qos, id, reason) => self.send_ack(qos, id, reason),
                Released::Refuse(qos, id) if self.protocol.is_v5() => {
                    self.send_ack(qos, id, ReasonCode::UNSPECIFIED_ERROR)
                }
                Released::Refuse(qos, id) => {
                    if qos == QoS::ExactlyOnce {
                        self.forget_awaiting_rel(id);
                    }
                    return Err(Close::with_code(
                        ReasonCode::UNSPECIFIED_ERROR,
                        "hold_refused",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether an MQTT 3.x client has as many acknowledgements owed as the broker's Receive
    /// Maximum: its next PUBLISH waits in the socket (3.x has no Receive Maximum to enforce;
    /// this bounds what a connection holds).
    pub(crate) fn acks_full(&self) -> bool {
        self.acks.as_ref().is_some_and(|a| {
            !self.protocol.is_v5()
                && a.len() >= usize::from(self.shared.config.mqtt.receive_maximum)
        })
    }

    /// The close for a client past the Receive Maximum it was given ([MQTT-3.3.4-9]), counted.
    fn receive_maximum_exceeded(&self) -> Close {
        self.shared
            .metrics
            .limit_hit(crate::metrics::Limit::MaxAwaitingRel);
        Close::with_code(
            ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
            "receive_maximum_exceeded",
        )
    }

    pub(crate) async fn on_publish(&mut self, p: Publish) -> Result<(), Close> {
        Metrics::inc(&self.shared.metrics.messages_received);
        if let Some(bucket) = &mut self.rate {
            let now = Instant::now();
            if let Some(wait) = bucket.take(now) {
                self.shared
                    .metrics
                    .limit_hit(crate::metrics::Limit::PublishRate);
                self.throttled_until = Some(now + wait);
            }
        }
        let shared = self.shared.clone();
        let cfg = &shared.config.mqtt;
        if p.qos.as_u8() > self.max_qos {
            // [MQTT-3.2.2-11] QoS above Maximum QoS.
            return Err(Close::with_code(
                ReasonCode::QOS_NOT_SUPPORTED,
                "qos_not_supported",
            ));
        }
        if p.retain && !cfg.retain_available {
            // [MQTT-3.2.2-14] retain when Retain Available is 0.
            return Err(Close::with_code(
                ReasonCode::RETAIN_NOT_SUPPORTED,
                "retain_not_supported",
            ));
        }
        if p.properties.subscription_identifiers().next().is_some() {
            // [MQTT-3.3.4-6] a PUBLISH from a client must not carry a Subscription Identifier.
            return Err(Close::protocol_error(
                "subscription identifier in a client PUBLISH",
            ));
        }
        let topic = self.resolve_topic(&p)?;
        let levels = hookmq_codec::topic::levels(topic.as_str());
        if levels > cfg.max_topic_levels {
            self.shared
                .metrics
                .limit_hit(crate::metrics::Limit::MaxTopicLevels);
            tracing::debug!(
                levels,
                max_topic_levels = cfg.max_topic_levels,
                "PUBLISH topic deeper than mqtt.max_topic_levels; refused"
            );
            // MQTT 5 refuses the message with 0x90 in its acknowledgement and keeps the
            // connection; a QoS 0 message has none, so DISCONNECT 0x90 tells why. MQTT 3.1.1
            // has no negative acknowledgement: close ([MQTT-4.8.0-1] treats it like an error).
            if self.protocol.is_v5() && p.qos != QoS::AtMostOnce {
                self.ack(p.qos, p.packet_id, ReasonCode::TOPIC_NAME_INVALID);
                return Ok(());
            }
            return Err(Close::with_code(
                ReasonCode::TOPIC_NAME_INVALID,
                "topic_name_invalid",
            ));
        }
        if p.qos == QoS::ExactlyOnce {
            let Some(id) = p.packet_id else {
                return Err(Close::protocol_error("QoS 2 without id"));
            };
            let st = self.session.state.lock();
            if st.awaiting_rel.contains(&id.get()) {
                // A retransmission of a message already accepted: acknowledge, do not route
                // again — unless its PUBREC is held, which then answers both.
                drop(st);
                if !self
                    .acks
                    .as_ref()
                    .is_some_and(|a| a.owes(QoS::ExactlyOnce, id))
                {
                    self.ack(QoS::ExactlyOnce, Some(id), ReasonCode::SUCCESS);
                }
                return Ok(());
            }
            // Held QoS 1 acknowledgements count against Receive Maximum too.
            let waiting = st.awaiting_rel.len() + self.acks.as_ref().map_or(0, |a| a.qos1());
            drop(st);
            if self.protocol.is_v5() && waiting >= usize::from(self.receive_maximum) {
                // [MQTT-3.3.4-9] more unacknowledged QoS 2 PUBLISHes than our Receive Maximum.
                return Err(self.receive_maximum_exceeded());
            }
            if waiting >= cfg.max_awaiting_rel.max(usize::from(cfg.receive_maximum)) {
                self.shared
                    .metrics
                    .limit_hit(crate::metrics::Limit::MaxAwaitingRel);
                return Err(Close::with_code(
                    ReasonCode::QUOTA_EXCEEDED,
                    "too_many_awaiting_rel",
                ));
            }
        }

        if p.qos == QoS::AtLeastOnce
            && self.protocol.is_v5()
            && let Some(acks) = &self.acks
        {
            let waiting = self.session.state.lock().awaiting_rel.len() + acks.qos1();
            if waiting >= usize::from(self.receive_maximum) {
                // [MQTT-3.3.4-9] more unacknowledged QoS 1 and 2 PUBLISHes than the Receive
                // Maximum this connection was given (held acknowledgements are unacknowledged).
                return Err(self.receive_maximum_exceeded());
            }
        }

        let sys_denied = topic.as_str().starts_with("$SYS/") && !cfg.allow_sys_publish;
        let deny_action = self.shared.config.authorization.deny_action;
        let topic_text = topic.as_bytestring().clone();
        if sys_denied || !self.authorized(Action::Publish, &topic_text).await {
            tracing::debug!(topic = %topic, "publish not authorized");
            Metrics::inc(&self.shared.metrics.authz_denied);
            self.shared.metrics.dropped(DropReason::NotAuthorized);
            if deny_action == DenyAction::Disconnect {
                return Err(Close::with_code(
                    ReasonCode::NOT_AUTHORIZED,
                    "not_authorized",
                ));
            }
            self.ack(p.qos, p.packet_id, ReasonCode::NOT_AUTHORIZED);
            return Ok(());
        }

        let topic = match &self.clientinfo.mountpoint {
            Some(_) => TopicName::new(self.mount(topic.as_str())).map_err(|_| {
                Close::with_code(ReasonCode::TOPIC_NAME_INVALID, "topic_name_invalid")
            })?,
            None => topic,
        };
        let mut message = Message::new(
            self.clientinfo.clientid.clone(),
            topic,
            p.payload,
            p.qos,
            p.retain,
        );
        if !p.properties.is_empty() {
            message.properties = p.properties;
            message.properties.remove(PropertyId::TopicAlias);
            message
                .properties
                .remove(PropertyId::SubscriptionIdentifier);
        }
        message.headers = MessageHeaders {
            username: self.clientinfo.username.clone(),
            peerhost: Some(self.clientinfo.peer.ip()),
            protocol: Some(self.protocol),
            hops: 0,
        };
        // A QoS 2 message's id must be stored with the message itself, so a retransmission after
        // a broker restart is recognised and not routed twice.
        let mut extra = Vec::new();
        if let (QoS::ExactlyOnce, Some(id)) = (p.qos, p.packet_id) {
            self.session.state.lock().awaiting_rel.insert(id.get());
            if self.session.save_op().is_some() {
                extra.push(Op::PutRel(self.session.clientid.clone(), id.get()));
            }
        }
        let (published, hold) = self.shared.publish_held(Arc::new(message), extra).await;
        let reason = match published {
            Published::Routed(0, _) => ReasonCode::NO_MATCHING_SUBSCRIBERS,
            Published::Routed(_, full) => {
                if !full.is_empty() {
                    // Backpressure: this message is queued; the next ones wait in the socket.
                    self.shared
                        .metrics
                        .limit_hit(crate::metrics::Limit::Backpressure);
                    self.held_by.extend(full);
                }
                ReasonCode::SUCCESS
            }
            Published::Dropped | Published::Consumed => ReasonCode::SUCCESS,
            Published::NotStored => {
                if let Some(id) = p.packet_id {
                    self.session.state.lock().awaiting_rel.remove(&id.get());
                }
                if !self.protocol.is_v5() {
                    // 3.x has no negative acknowledgement: close, the client sends it again.
                    return Err(Close::with_code(
                        ReasonCode::UNSPECIFIED_ERROR,
                        "store_failed",
                    ));
                }
                ReasonCode::UNSPECIFIED_ERROR
            }
        };
        // QoS 0 has no acknowledgement to hold; a message not routed (store failure) is
        // refused at once.
        if let (Some(hold), Some(id), true) = (hold, p.packet_id, reason.is_success()) {
            let holds = &self.shared.holds;
            let acks = self
                .acks
                .get_or_insert_with(|| Box::new(PendingAcks::new(holds.clone())));
            if acks.push_held(p.qos, id, reason, hold) {
                return Ok(());
            }
        }
        self.ack(p.qos, p.packet_id, reason);
        Ok(())
    }

    fn acked(&self, message: Arc<Message>) {
        let hooks = &self.shared.hooks;
        if hooks.has(HookPoint::MessageAcked) {
            hooks.notify_nowait(Event::MessageAcked {
                clientinfo: self.clientinfo.clone(),
                message,
            });
        }
    }

    /// Removes a completed delivery from the store.
    fn forget_stored(&self, seq: u64) {
        if seq != 0 {
            self.shared
                .submit(vec![Op::DelEntry(self.session.clientid.clone(), seq)]);
        }
    }

    pub(crate) fn on_puback(&mut self, a: PubAck) -> Result<(), Close> {
        let outcome = self.session.state.lock().inflight.puback(a.packet_id);
        match outcome {
            AckOutcome::Completed(d) => {
                self.forget_stored(d.seq);
                self.acked(d.message);
            }
            // [MQTT-4.8.0-1] (MQTT 5: §4.13, DISCONNECT 0x82) a protocol violation closes.
            AckOutcome::WrongType => {
                return Err(Close::protocol_error("PUBACK for a QoS 2 message"));
            }
            _ => tracing::debug!(id = a.packet_id.get(), "PUBACK for an unknown packet id"),
        }
        Ok(())
    }

    pub(crate) async fn on_pubrec(&mut self, a: PubAck) -> Result<(), Close> {
        let outcome = self
            .session
            .state
            .lock()
            .inflight
            .pubrec(a.packet_id, !a.reason.is_success());
        let reason = match outcome {
            AckOutcome::SendPubRel => ReasonCode::SUCCESS,
            AckOutcome::Refused(d) | AckOutcome::Completed(d) => {
                self.forget_stored(d.seq);
                return Ok(());
            }
            // [MQTT-4.3.3] answer an unknown identifier with 0x92.
            AckOutcome::Unknown => ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
            // [MQTT-4.8.0-1] (MQTT 5: §4.13, DISCONNECT 0x82) a protocol violation closes.
            AckOutcome::WrongType => {
                return Err(Close::protocol_error("PUBREC for a QoS 1 message"));
            }
        };
        if reason.is_success() {
            let released = self
                .session
                .state
                .lock()
                .inflight
                .iter()
                .find(|e| e.packet_id == a.packet_id)
                .map(|e| e.delivery.clone());
            if let Some(d) = released {
                if d.seq != 0 {
                    // Durable before PUBREL leaves: a receiver that delivers at PUBREL (paho,
                    // the spec's method B) frees the packet id then, so a restart that still
                    // had the message as unreleased would resend it as a new message, a
                    // duplicate after `kill -9` (the CVE-2026-8741 class). Once released is
                    // stored, a restart sends only PUBREL ([MQTT-4.3.3-5]).
                    let entry = d.stored(Some((a.packet_id, Phase::PubComp)));
                    let op = Op::PutEntry(self.session.clientid.clone(), d.seq, entry);
                    if !self.shared.commit(vec![op]).await {
                        tracing::warn!(
                            id = a.packet_id.get(),
                            "persistence store: PUBREL state not stored; sending PUBREL anyway"
                        );
                    }
                }
                self.acked(d.message);
            }
        }
        let reason = if self.protocol.is_v5() {
            reason
        } else {
            ReasonCode::SUCCESS
        };
        let rel = PubAck {
            packet_id: a.packet_id,
            reason,
            properties: Default::default(),
        };
        self.io.send(&Packet::PubRel(rel), self.protocol);
        Ok(())
    }

    pub(crate) fn on_pubcomp(&mut self, a: PubAck) -> Result<(), Close> {
        let outcome = self.session.state.lock().inflight.pubcomp(a.packet_id);
        match outcome {
            AckOutcome::Completed(d) => self.forget_stored(d.seq),
            // [MQTT-4.8.0-1] (MQTT 5: §4.13, DISCONNECT 0x82) a protocol violation closes.
            AckOutcome::WrongType => {
                return Err(Close::protocol_error(
                    "PUBCOMP for a message not released (QoS 1, or before PUBREL)",
                ));
            }
            _ => tracing::debug!(id = a.packet_id.get(), "PUBCOMP for an unknown packet id"),
        }
        Ok(())
    }

    pub(crate) fn on_pubrel(&mut self, a: PubAck) -> Result<(), Close> {
        let known = self
            .session
            .state
            .lock()
            .awaiting_rel
            .remove(&a.packet_id.get());
        if known && self.session.persists() {
            self.shared.submit(vec![Op::DelRel(
                self.session.clientid.clone(),
                a.packet_id.get(),
            )]);
        }
        let reason = if known || !self.protocol.is_v5() {
            ReasonCode::SUCCESS
        } else {
            ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
        };
        let comp = PubAck {
            packet_id: a.packet_id,
            reason,
            properties: Default::default(),
        };
        self.io.send(&Packet::PubComp(comp), self.protocol);
        Ok(())
    }

    pub(crate) fn on_disconnect(&mut self, d: hookmq_codec::Disconnect) -> Close {
        if self.protocol.is_v5() {
            if let Some(expiry) = d.properties.session_expiry_interval() {
                let max = self
                    .shared
                    .config
                    .mqtt
                    .session_expiry_max
                    .0
                    .as_secs()
                    .min(u64::from(u32::MAX)) as u32;
                // [MQTT-3.14.2-2] a session that expires at once may not be extended at DISCONNECT.
                if self.conninfo.expiry_interval == 0 && expiry != 0 {
                    return Close::protocol_error(
                        "session expiry set at DISCONNECT after 0 at CONNECT",
                    );
                }
                let mut st = self.session.state.lock();
                // A connection taken over (its DISCONNECT read late) leaves the session's
                // expiry to the connection that owns it now.
                if st.linked_to(self.id) {
                    st.expiry_interval = expiry.min(max);
                    drop(st);
                    if let Some(op) = self.session.save_op() {
                        self.shared.submit(vec![op]);
                    }
                }
            }
            // [MQTT-3.14.4-3] only a normal disconnection (0x00) discards the will.
            if d.reason != ReasonCode::SUCCESS {
                return Close::normal_with_will();
            }
        }
        Close::normal()
    }
}
