//! Messages from the session to the client: take deliveries off the session queue within the
//! inflight window, read-check them (`authorization.recheck = "deliver"`), turn them into PUBLISH
//! packets (mount point stripped, topic alias applied, the client's maximum packet size
//! respected), and resend what was in flight on resume.

use std::sync::Arc;

use hookmq_codec::{Packet, PacketId, Property, PubAck, QoS, ReasonCode, TopicName};
use hookmq_hooks::{Action, DropReason, Event, HookPoint, Message};

use super::aliases::Alias;
use super::{Close, Conn, WBUF_LOW};
use crate::config::Recheck;
use crate::delivery::Delivery;
use crate::inflight::Phase;
use crate::persist::Op;
use crate::recheck::unmount;

/// Why [`Conn::pump_some`] stopped.
enum Pumped {
    /// The write buffer, the queue or the inflight window is full or empty.
    Done,
    /// The delivery at the front needs a read check the cache cannot answer.
    Check(TopicName),
}

impl Conn {
    /// Moves queued deliveries into the write buffer until it is full, the queue is empty, or
    /// the inflight window is. Under `recheck = "deliver"` each message is read-checked first
    /// (through the cache; a miss asks `client.authorize` and continues).
    pub(crate) async fn pump(&mut self) -> Result<(), Close> {
        let mut checked = None;
        loop {
            match self.pump_some(checked.take()) {
                Pumped::Done => return Ok(()),
                Pumped::Check(topic) => {
                    let ok = self.authorizer().may_read(&topic).await;
                    checked = Some((topic, ok));
                }
            }
        }
    }

    /// The synchronous part of [`Conn::pump`]; `checked` answers the read check of the front
    /// delivery when the cache could not.
    fn pump_some(&mut self, mut checked: Option<(TopicName, bool)>) -> Pumped {
        let read_check = self.shared.config.authorization.recheck == Recheck::Deliver
            && self.shared.hooks.has(HookPoint::ClientAuthorize)
            && !self.clientinfo.is_superuser;
        let mut stopped = None;
        let now_ms = hookmq_hooks::now_ms();
        let want_delivered = self.shared.hooks.has(HookPoint::MessageDelivered);
        let mut delivered: Vec<Arc<Message>> = Vec::new();
        let mut dropped = Vec::new();
        let mut ops = Vec::new();
        let session = self.session.clone();
        {
            let mut st = session.state.lock();
            if !st.linked_to(self.id) {
                // Taken over: the control channel will close this connection.
                return Pumped::Done;
            }
            while self.io.wr.buf.len() < WBUF_LOW {
                let Some(front) = st.queue.front() else { break };
                if front.qos != QoS::AtMostOnce && st.inflight.len() >= self.window {
                    break;
                }
                let Some(d) = st.queue.pop_front() else { break };
                if d.message.is_expired(now_ms) {
                    // [MQTT-3.3.2-5] expired messages are not sent.
                    if d.seq != 0 {
                        ops.push(Op::DelEntry(session.clientid.clone(), d.seq));
                    }
                    dropped.push((d.message, DropReason::Expired));
                    continue;
                }
                if read_check {
                    let verdict = match checked.take() {
                        Some((topic, ok)) if topic == d.message.topic => Some(ok),
                        _ => {
                            let mp = self.clientinfo.mountpoint.as_deref();
                            let topic = unmount(mp, d.message.topic.as_bytestring());
                            self.authz
                                .get(Action::Subscribe, &topic, tokio::time::Instant::now())
                        }
                    };
                    match verdict {
                        Some(true) => {}
                        Some(false) => {
                            if d.seq != 0 {
                                ops.push(Op::DelEntry(session.clientid.clone(), d.seq));
                            }
                            dropped.push((d.message, DropReason::NotAuthorized));
                            continue;
                        }
                        None => {
                            stopped = Some(Pumped::Check(d.message.topic.clone()));
                            st.queue.push_front(d);
                            break;
                        }
                    }
                }
                let packet_id = if d.qos == QoS::AtMostOnce {
                    None
                } else {
                    match st.inflight.push(d.clone()) {
                        Some(id) => Some(id),
                        None => {
                            st.queue.push_front(d);
                            break;
                        }
                    }
                };
                if !self.write_publish(&d, packet_id, false, now_ms) {
                    if let Some(id) = packet_id {
                        st.inflight.forget(id);
                    }
                    if d.seq != 0 {
                        ops.push(Op::DelEntry(session.clientid.clone(), d.seq));
                    }
                    dropped.push((d.message, DropReason::PacketTooLarge));
                    continue;
                }
                if let (Some(id), true) = (packet_id, d.seq != 0) {
                    // Record the packet id so a restart resends under the same id (with DUP).
                    let phase = if d.qos == QoS::ExactlyOnce {
                        Phase::PubRec
                    } else {
                        Phase::PubAck
                    };
                    ops.push(Op::PutEntry(
                        session.clientid.clone(),
                        d.seq,
                        d.stored(Some((id, phase))),
                    ));
                }
                if want_delivered {
                    delivered.push(d.message);
                }
            }
            // Backpressure: publishers held back by this queue go on once it has room.
            if !st.blocked.is_empty() && session.has_room(&st) {
                st.release_blocked();
            }
        }
        for message in delivered {
            self.shared.hooks.notify_nowait(Event::MessageDelivered {
                clientinfo: self.clientinfo.clone(),
                message,
            });
        }
        if !dropped.is_empty() {
            self.shared.report_drops(dropped);
        }
        self.shared.submit(ops);
        self.count_sent();
        stopped.unwrap_or(Pumped::Done)
    }

    /// Encodes one delivery; false if it exceeds the client's maximum packet size
    /// ([MQTT-3.1.2-24]).
    pub(crate) fn write_publish(
        &mut self,
        d: &Delivery,
        packet_id: Option<PacketId>,
        dup: bool,
        now_ms: u64,
    ) -> bool {
        let mut p = d.to_publish(packet_id, dup, now_ms);
        if !self.protocol.is_v5() {
            p.properties = Default::default();
        }
        if let Some(mp) = &self.clientinfo.mountpoint
            && let Some(rest) = p.topic.strip_prefix(&**mp)
        {
            p.topic = p.topic.slice_ref(rest);
        }
        let alias = self.out_aliases.lookup(&p.topic);
        let topic = match alias {
            Some(Alias::Known(n)) => {
                p.properties.push(Property::TopicAlias(n));
                std::mem::take(&mut p.topic)
            }
            Some(Alias::New(n)) => {
                p.properties.push(Property::TopicAlias(n));
                p.topic.clone()
            }
            None => Default::default(),
        };
        let packet = Packet::Publish(p);
        if self.client_max_packet != u32::MAX {
            match hookmq_codec::encoded_len(&packet, self.protocol) {
                Ok(len) if len <= self.client_max_packet as usize => {}
                _ => return false,
            }
        }
        match alias {
            Some(Alias::Known(n)) => self.out_aliases.touch(n),
            Some(Alias::New(n)) => self.out_aliases.bind(n, topic),
            None => {}
        }
        self.io.send(&packet, self.protocol);
        crate::metrics::Metrics::inc(&self.shared.metrics.messages_sent);
        true
    }

    /// Sends again what was in flight when the session was last connected ([MQTT-4.4.0-1]):
    /// PUBLISH with DUP for unacknowledged messages, PUBREL for released ones.
    pub(crate) fn resend_inflight(&mut self) {
        let now_ms = hookmq_hooks::now_ms();
        let entries: Vec<_> = self.session.state.lock().inflight.iter().cloned().collect();
        for e in entries {
            match e.phase {
                Phase::PubAck | Phase::PubRec => {
                    if !self.write_publish(&e.delivery, Some(e.packet_id), true, now_ms) {
                        self.session.state.lock().inflight.forget(e.packet_id);
                    }
                }
                Phase::PubComp => {
                    let rel = PubAck {
                        packet_id: e.packet_id,
                        reason: ReasonCode::SUCCESS,
                        properties: Default::default(),
                    };
                    self.io.send(&Packet::PubRel(rel), self.protocol);
                }
            }
        }
    }
}
