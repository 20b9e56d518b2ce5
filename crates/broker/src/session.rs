//! A session: the state that outlives a connection ([MQTT-4.1]): subscriptions, queued and
//! in-flight messages, and incoming QoS 2 identifiers awaiting PUBREL. The router puts deliveries
//! into it; the connection attached to it (if any) is woken to send them. A session lives in the
//! registry from CONNECT until it ends (clean disconnect, expiry, discard).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use bytestring::ByteString;
use hookmq_codec::{QoS, SubscriptionOptions};
use hookmq_hooks::{ClientInfo, DropReason, Identity, Message};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::config::QueueDrop;
use crate::delivery::Delivery;
use crate::inflight::Inflight;
use crate::persist::{Op, StoredSession};
use crate::subscriptions::SubscriptionMap;

/// Commands from the broker to the connection attached to a session.
#[derive(Debug)]
pub(crate) enum Control {
    /// Another connection with the same client id took the session (or discarded it): close with
    /// 0x8E and acknowledge once the `client.disconnected` hook has run.
    Takeover(tokio::sync::oneshot::Sender<()>),
    /// An operator or a hook service kicked the client: close with this DISCONNECT reason
    /// (operators: 0x98 Administrative action).
    Kick(hookmq_codec::ReasonCode),
    /// The credentials the client logged in with were taken away (its password file entry
    /// removed or changed): close with 0x87 Not authorized.
    Revoked,
    /// The client's full queue held publishers back for `slow_consumer_timeout`: close with
    /// 0x97 Quota exceeded.
    SlowConsumer,
    /// Forget cached authorization decisions and re-check the session's subscriptions and queue
    /// for this client now; the answer says what was removed.
    Reauthorize(tokio::sync::oneshot::Sender<crate::recheck::Reauthorized>),
}

/// The attached connection.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) conn_id: u64,
    pub(crate) control: crate::mailbox::Mailbox,
}

/// One subscription of a session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Subscription {
    pub(crate) options: SubscriptionOptions,
    pub(crate) id: Option<u32>,
}

/// Queue limits copied from the configuration when the session is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    pub(crate) max_len: usize,
    pub(crate) drop: QueueDrop,
    pub(crate) qos0_offline: bool,
    /// The broker persists sessions: QoS 1/2 deliveries to sessions with an expiry are stored.
    pub(crate) persist: bool,
}

/// Mutable session state, behind the session's lock.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// Subscriptions by full filter (including any `$share/group/` and mount point).
    pub(crate) subscriptions: SubscriptionMap,
    /// Messages waiting to be sent.
    pub(crate) queue: VecDeque<Delivery>,
    /// Messages sent and not yet acknowledged.
    pub(crate) inflight: Inflight,
    /// Incoming QoS 2 packet identifiers for which PUBREC was sent and PUBREL is awaited.
    pub(crate) awaiting_rel: HashSet<u16>,
    /// Session expiry interval in seconds.
    pub(crate) expiry_interval: u32,
    /// The connection attached now.
    pub(crate) link: Option<Link>,
    /// The latest client facts (for hooks fired while offline). Its identity is the session's
    /// owner: the client that made the session, or the last one admitted to resume it.
    pub(crate) clientinfo: Arc<ClientInfo>,
    /// Changes on every attach and detach, so delayed work (expiry, delayed will) can tell
    /// whether the session was resumed meanwhile.
    pub(crate) epoch: u64,
    /// The session has ended; deliveries are refused.
    pub(crate) terminated: bool,
    /// Milliseconds since the epoch when the session was made.
    pub(crate) created_at_ms: u64,
    /// Last sequence number given to a stored delivery.
    pub(crate) next_seq: u64,
    /// The session moved to another node of the cluster: a will still scheduled here is
    /// cancelled, as by a resume ([MQTT-3.1.3-9]).
    pub(crate) moved: bool,
    /// The cluster's epoch of the claim this session was opened (or adopted) under; 0 on a
    /// single node.
    pub(crate) cluster_epoch: u64,
    /// Publishers held back by this session's full queue (`backpressure`), woken when it has
    /// room again or the session goes offline.
    pub(crate) blocked: Vec<Waker>,
}

impl SessionState {
    /// The subscriptions as (filter, options, identifier), the layout stored and sent between
    /// nodes.
    pub(crate) fn subscription_list(&self) -> Vec<(ByteString, SubscriptionOptions, Option<u32>)> {
        self.subscriptions
            .iter()
            .map(|(f, s)| (f.clone(), s.options, s.id))
            .collect()
    }

    /// Wakes the publishers held back by this session (it has room, or nobody reads it).
    pub(crate) fn release_blocked(&mut self) {
        for waker in self.blocked.drain(..) {
            waker.wake();
        }
    }

    /// Whether connection `conn_id` is the one attached (not taken over).
    pub(crate) fn linked_to(&self, conn_id: u64) -> bool {
        self.link.as_ref().is_some_and(|l| l.conn_id == conn_id)
    }

    /// Who the session belongs to.
    pub(crate) fn owner(&self) -> Identity {
        self.clientinfo.identity()
    }

    /// Ends the session: refuses further deliveries, forgets queued and in-flight messages, and
    /// hands back the subscriptions for the caller to remove from the router.
    pub(crate) fn end(&mut self) -> Vec<(ByteString, Subscription)> {
        self.terminated = true;
        self.release_blocked();
        self.queue.clear();
        self.inflight.drain();
        self.subscriptions.take()
    }
}

/// A session shared between the registry, the router and its connection.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) clientid: ByteString,
    pub(crate) state: Mutex<SessionState>,
    /// Wakes the attached connection when something was queued.
    pub(crate) wake: Notify,
    online: AtomicBool,
    limits: QueueLimits,
}

impl Session {
    pub(crate) fn new(
        clientinfo: Arc<ClientInfo>,
        expiry_interval: u32,
        link: Link,
        limits: QueueLimits,
    ) -> Arc<Session> {
        Arc::new(Session {
            clientid: clientinfo.clientid.clone(),
            state: Mutex::new(SessionState {
                subscriptions: SubscriptionMap::default(),
                queue: VecDeque::new(),
                inflight: Inflight::default(),
                awaiting_rel: HashSet::new(),
                expiry_interval,
                link: Some(link),
                clientinfo,
                epoch: 0,
                terminated: false,
                created_at_ms: hookmq_hooks::now_ms(),
                next_seq: 0,
                moved: false,
                cluster_epoch: 0,
                blocked: Vec::new(),
            }),
            wake: Notify::new(),
            online: AtomicBool::new(true),
            limits,
        })
    }

    /// A disconnected session rebuilt from the store: its subscriptions, its queue (in order) and
    /// what was in flight (sent again, with DUP, when the client comes back).
    pub(crate) fn restore(
        clientinfo: Arc<ClientInfo>,
        rec: crate::persist::RecoveredSession,
        limits: QueueLimits,
    ) -> Arc<Session> {
        let mut st = SessionState {
            subscriptions: SubscriptionMap::default(),
            queue: VecDeque::new(),
            inflight: Inflight::default(),
            awaiting_rel: rec.rel.into_iter().collect(),
            expiry_interval: rec.record.expiry_interval,
            link: None,
            clientinfo,
            epoch: 0,
            terminated: false,
            created_at_ms: rec.record.created_at_ms,
            next_seq: rec.entries.iter().map(|(seq, _)| *seq).max().unwrap_or(0),
            moved: false,
            cluster_epoch: 0,
            blocked: Vec::new(),
        };
        for (filter, options, id) in rec.record.subscriptions {
            st.subscriptions
                .insert(filter, Subscription { options, id });
        }
        for (seq, e) in rec.entries {
            let delivery = Delivery {
                message: e.message,
                qos: e.qos,
                retain: e.retain,
                subscription_ids: e.subscription_ids,
                seq,
            };
            match e.inflight {
                Some((id, phase)) => st.inflight.restore(id, phase, delivery),
                None => st.queue.push_back(delivery),
            }
        }
        Arc::new(Session {
            clientid: rec.clientid,
            state: Mutex::new(st),
            wake: Notify::new(),
            online: AtomicBool::new(false),
            limits,
        })
    }

    /// Whether a connection is attached (a hint for shared-subscription picking).
    pub(crate) fn is_online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    /// Records whether a connection is attached; call with the state lock held.
    pub(crate) fn set_online(&self, online: bool) {
        self.online.store(online, Ordering::Relaxed);
    }

    /// Takes the QoS 0 messages still queued when the connection goes, unless QoS 0 is kept for
    /// offline sessions: a message routed while the client was disconnecting must not outlive
    /// the connection when one routed a moment later would not be queued. Call with the state
    /// lock held (from `Registry::detach`).
    pub(crate) fn take_qos0_at_detach(
        &self,
        st: &mut SessionState,
    ) -> Vec<(Arc<Message>, DropReason)> {
        if self.limits.qos0_offline {
            return Vec::new();
        }
        let mut dropped = Vec::new();
        st.queue.retain(|d| {
            let keep = d.qos != QoS::AtMostOnce;
            if !keep {
                dropped.push((d.message.clone(), DropReason::QosZeroOffline));
            }
            keep
        });
        dropped
    }

    /// Queues a delivery, applying the queue limits. Messages that cannot be queued are added to
    /// `dropped` with the reason; store changes (persistent sessions) are added to `ops`.
    /// Returns true when the delivery was queued beyond the limit under `backpressure`: the
    /// caller then holds its publisher back until [`Session::poll_room`] says there is room.
    pub(crate) fn deliver(
        &self,
        mut delivery: Delivery,
        dropped: &mut Vec<(Arc<Message>, DropReason)>,
        ops: &mut Vec<Op>,
    ) -> bool {
        let mut st = self.state.lock();
        if st.terminated {
            return false;
        }
        let online = st.link.is_some();
        if !online && delivery.qos == QoS::AtMostOnce && !self.limits.qos0_offline {
            dropped.push((delivery.message, DropReason::QosZeroOffline));
            return false;
        }
        let mut over = false;
        if st.queue.len() >= self.limits.max_len {
            match self.limits.drop {
                QueueDrop::Backpressure if online && delivery.qos != QoS::AtMostOnce => {
                    over = true;
                }
                QueueDrop::Backpressure => {
                    dropped.push((delivery.message, DropReason::QueueFull));
                    return false;
                }
                QueueDrop::Oldest => {
                    if let Some(old) = st.queue.pop_front() {
                        if old.seq != 0 {
                            ops.push(Op::DelEntry(self.clientid.clone(), old.seq));
                        }
                        dropped.push((old.message, DropReason::QueueFull));
                    }
                }
                QueueDrop::Newest => {
                    dropped.push((delivery.message, DropReason::QueueFull));
                    return false;
                }
            }
        }
        if self.limits.persist && st.expiry_interval > 0 && delivery.qos != QoS::AtMostOnce {
            st.next_seq += 1;
            delivery.seq = st.next_seq;
            ops.push(Op::PutEntry(
                self.clientid.clone(),
                delivery.seq,
                delivery.stored(None),
            ));
        }
        st.queue.push_back(delivery);
        drop(st);
        if online {
            self.wake.notify_one();
        }
        over
    }

    /// Ready once a publisher held back by this session may go on: the queue is down to half
    /// its limit (so publishers and subscriber do not alternate message by message), or no
    /// connection reads it any more. Otherwise registers the task to be woken then.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.state.lock();
        if st.terminated || st.link.is_none() || self.has_room(&st) {
            return Poll::Ready(());
        }
        if !st.blocked.iter().any(|w| w.will_wake(cx.waker())) {
            st.blocked.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Whether the queue has room for held-back publishers again; call with the lock held.
    pub(crate) fn has_room(&self, st: &SessionState) -> bool {
        st.queue.len() <= self.limits.max_len / 2
    }

    /// Whether the session's queue is still over its limit (a slow consumer, if it stays so).
    pub(crate) fn is_full(&self) -> bool {
        let st = self.state.lock();
        !st.terminated && st.link.is_some() && st.queue.len() >= self.limits.max_len
    }

    /// Tells the attached connection to close as a slow consumer (0x97). False if none is.
    pub(crate) fn disconnect_slow_consumer(&self) -> bool {
        let link = self.state.lock().link.clone();
        link.is_some_and(|l| l.control.send(Control::SlowConsumer).is_ok())
    }

    /// The record the store keeps for this session.
    pub(crate) fn stored(st: &SessionState) -> StoredSession {
        StoredSession {
            expiry_interval: st.expiry_interval,
            created_at_ms: st.created_at_ms,
            username: st.clientinfo.username.clone(),
            cn: st.clientinfo.cn.clone(),
            dn: st.clientinfo.dn.clone(),
            protocol: st.clientinfo.protocol,
            peer: st.clientinfo.peer,
            mountpoint: st.clientinfo.mountpoint.clone(),
            subscriptions: st.subscription_list(),
        }
    }

    /// A `PutSession` op for this session's current state, if the broker persists it.
    pub(crate) fn save_op(&self) -> Option<Op> {
        if !self.limits.persist {
            return None;
        }
        let st = self.state.lock();
        (st.expiry_interval > 0 && !st.terminated)
            .then(|| Op::PutSession(self.clientid.clone(), Session::stored(&st)))
    }

    /// Store changes that write this whole session (record, queued and in-flight entries,
    /// awaiting-PUBREL ids), for a session that arrived from another node; `None` if the broker
    /// does not persist it.
    pub(crate) fn store_all(&self) -> Option<Vec<Op>> {
        let record = self.save_op()?;
        let mut ops = vec![Op::DelSession(self.clientid.clone()), record];
        let mut st = self.state.lock();
        let st = &mut *st;
        for e in st.inflight.iter_mut() {
            st.next_seq += 1;
            e.delivery.seq = st.next_seq;
            let entry = e.delivery.stored(Some((e.packet_id, e.phase)));
            ops.push(Op::PutEntry(self.clientid.clone(), st.next_seq, entry));
        }
        for d in st.queue.iter_mut().filter(|d| d.qos != QoS::AtMostOnce) {
            st.next_seq += 1;
            d.seq = st.next_seq;
            ops.push(Op::PutEntry(self.clientid.clone(), d.seq, d.stored(None)));
        }
        for id in &st.awaiting_rel {
            ops.push(Op::PutRel(self.clientid.clone(), *id));
        }
        Some(ops)
    }

    /// Whether the broker persists sessions.
    pub(crate) fn persists(&self) -> bool {
        self.limits.persist
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::delivery;
    use hookmq_codec::Protocol;
    use hookmq_hooks::NodeName;

    fn session(limits: QueueLimits) -> Arc<Session> {
        let info = Arc::new(ClientInfo {
            node: NodeName::default(),
            clientid: "c".into(),
            username: None,
            password: None,
            peer: "127.0.0.1:1".parse().unwrap(),
            sockport: 1883,
            protocol: Protocol::V5,
            mountpoint: None,
            is_superuser: false,
            anonymous: true,
            cn: None,
            dn: None,
            grant: None,
        });
        let (tx, _rx) = crate::mailbox::mailbox();
        Session::new(
            info,
            60,
            Link {
                conn_id: 1,
                control: tx,
            },
            limits,
        )
    }

    #[test]
    fn a_full_queue_drops_the_oldest_or_the_newest() {
        for (policy, kept) in [
            (QueueDrop::Oldest, ["b", "c"]),
            (QueueDrop::Newest, ["a", "b"]),
        ] {
            let s = session(QueueLimits {
                max_len: 2,
                drop: policy,
                qos0_offline: false,
                persist: false,
            });
            let mut dropped = Vec::new();
            for t in ["a", "b", "c"] {
                s.deliver(delivery(t, QoS::AtLeastOnce), &mut dropped, &mut Vec::new());
            }
            let st = s.state.lock();
            let topics: Vec<&str> = st.queue.iter().map(|d| d.message.topic.as_str()).collect();
            assert_eq!(topics, kept);
            assert_eq!(dropped.len(), 1);
            assert_eq!(dropped[0].1, DropReason::QueueFull);
        }
    }

    #[test]
    fn offline_sessions_drop_qos0_unless_configured() {
        let s = session(QueueLimits {
            max_len: 10,
            drop: QueueDrop::Oldest,
            qos0_offline: false,
            persist: false,
        });
        s.state.lock().link = None;
        let mut dropped = Vec::new();
        s.deliver(
            delivery("a", QoS::AtMostOnce),
            &mut dropped,
            &mut Vec::new(),
        );
        s.deliver(
            delivery("b", QoS::AtLeastOnce),
            &mut dropped,
            &mut Vec::new(),
        );
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].1, DropReason::QosZeroOffline);
        assert_eq!(s.state.lock().queue.len(), 1);
    }

    #[test]
    fn qos0_still_queued_when_the_connection_goes_is_dropped_unless_configured() {
        for (qos0_offline, left) in [(false, vec!["b"]), (true, vec!["a", "b", "c"])] {
            let s = session(QueueLimits {
                max_len: 10,
                drop: QueueDrop::Oldest,
                qos0_offline,
                persist: false,
            });
            for (t, qos) in [
                ("a", QoS::AtMostOnce),
                ("b", QoS::AtLeastOnce),
                ("c", QoS::AtMostOnce),
            ] {
                s.deliver(delivery(t, qos), &mut Vec::new(), &mut Vec::new());
            }
            let mut st = s.state.lock();
            let dropped = s.take_qos0_at_detach(&mut st);
            let topics: Vec<&str> = st.queue.iter().map(|d| d.message.topic.as_str()).collect();
            assert_eq!(topics, left);
            assert_eq!(dropped.len(), 3 - left.len());
            assert!(
                dropped
                    .iter()
                    .all(|(_, r)| *r == DropReason::QosZeroOffline)
            );
        }
    }
}
