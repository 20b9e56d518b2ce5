//! Held acknowledgements (issue 13): a `message.publish` handler that answers
//! [`Value::Hold`](hookmq_hooks::Value::Hold) has the message routed as usual while the
//! publisher's PUBACK (QoS 1) / PUBREC (QoS 2) waits for the handler's `confirm`
//! ([`Holds::confirm`], reached through the `confirm` broker service) or its deadline.
//!
//! Two halves: [`Holds`], one per broker in [`Shared`](crate::shared::Shared), maps each held
//! message id to the connection waiting on it, so a confirmation from any driver finds it and
//! each id is released at most once; [`PendingAcks`], one per connection that holds anything,
//! keeps that connection's acknowledgements in the order of its PUBLISHes. MQTT requires that
//! order: a server acknowledges PUBLISHes in the order it received them ([MQTT-4.6.0-2],
//! [MQTT-4.6.0-3]), so an acknowledgement behind a held one waits too. The connection task
//! waits on [`PendingAcks::wait`] and sends what [`PendingAcks::release`] lets go.
//!
//! Who may confirm: only code that reaches the broker's services, i.e. a hook handler of this
//! broker (port workers, stream extensions, native handlers); MQTT clients cannot. A handler may
//! confirm any held id (drivers do not carry the caller's name to the services, and every
//! handler may already kick or publish, which is more); an id that is not held — unknown,
//! confirmed already, past its deadline, or whose publisher left — is a typed error that changes
//! nothing, so an acknowledgement is never sent twice.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use hookmq_codec::{PacketId, QoS, ReasonCode};
use hookmq_hooks::{FailedAction, Hold, MessageId, ServiceError};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The broker's held messages: id → the connection waiting on it.
#[derive(Default)]
pub(crate) struct Holds {
    held: Mutex<HashMap<MessageId, Arc<Releases>>>,
}

/// One connection's confirmations, as they arrive.
#[derive(Default)]
pub(crate) struct Releases {
    confirmed: Mutex<HashMap<MessageId, bool>>,
    /// Woken for every confirmation (a stored permit, so none is missed).
    pub(crate) wake: Notify,
}

impl Holds {
    /// Records that `releases` waits on `id`; false if `id` is held already.
    fn hold(&self, id: MessageId, releases: &Arc<Releases>) -> bool {
        use std::collections::hash_map::Entry;
        match self.held.lock().entry(id) {
            Entry::Occupied(_) => false,
            Entry::Vacant(v) => {
                v.insert(releases.clone());
                true
            }
        }
    }

    /// Releases the hold on `id` with success (`ok`) or failure.
    pub(crate) fn confirm(&self, id: MessageId, ok: bool) -> Result<(), ServiceError> {
        let Some(releases) = self.held.lock().remove(&id) else {
            tracing::debug!(%id, "confirm of a message whose acknowledgement is not held");
            return Err(ServiceError::NotHeld(id));
        };
        releases.confirmed.lock().insert(id, ok);
        releases.wake.notify_one();
        Ok(())
    }

    /// Ends the hold on `id` without a confirmation; false if it was confirmed meanwhile.
    fn forget(&self, id: MessageId) -> bool {
        self.held.lock().remove(&id).is_some()
    }

    /// How many acknowledgements are held in the whole broker.
    pub(crate) fn len(&self) -> usize {
        self.held.lock().len()
    }
}

/// A hold as the connection keeps it.
struct Held {
    id: MessageId,
    by: String,
    deadline: Instant,
    failed_action: FailedAction,
}

/// One acknowledgement owed to the client.
struct Pending {
    qos: QoS,
    packet_id: PacketId,
    /// The reason the acknowledgement carries when it goes with success.
    reason: ReasonCode,
    held: Option<Held>,
}

/// What the connection sends for an acknowledgement [`PendingAcks::release`] let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Released {
    /// Acknowledge with this reason.
    Ack(QoS, PacketId, ReasonCode),
    /// The hold failed (confirmed with failure, or its deadline under `deny`): MQTT 5
    /// acknowledges with 0x80, MQTT 3.x closes without acknowledging.
    Refuse(QoS, PacketId),
}

/// One connection's acknowledgements from its first held one on, in order. Dropping it (the
/// client left) ends its holds silently.
pub(crate) struct PendingAcks {
    holds: Arc<Holds>,
    releases: Arc<Releases>,
    queue: VecDeque<Pending>,
}

impl PendingAcks {
    /// An empty queue over the broker's holds.
    pub(crate) fn new(holds: Arc<Holds>) -> PendingAcks {
        PendingAcks {
            holds,
            releases: Arc::default(),
            queue: VecDeque::new(),
        }
    }

    /// Whether nothing is owed.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Acknowledgements owed (held ones and those behind them).
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// QoS 1 acknowledgements owed: unacknowledged PUBLISHes that count against Receive
    /// Maximum besides the QoS 2 ids awaiting PUBREL.
    pub(crate) fn qos1(&self) -> usize {
        self.queue
            .iter()
            .filter(|p| p.qos == QoS::AtLeastOnce)
            .count()
    }

    /// Whether an acknowledgement for `packet_id` at `qos` is owed (a retransmission of it
    /// waits for the same acknowledgement).
    pub(crate) fn owes(&self, qos: QoS, packet_id: PacketId) -> bool {
        self.queue
            .iter()
            .any(|p| p.qos == qos && p.packet_id == packet_id)
    }

    /// Queues an acknowledgement that is decided, behind the held ones.
    pub(crate) fn push_ready(&mut self, qos: QoS, packet_id: PacketId, reason: ReasonCode) {
        self.queue.push_back(Pending {
            qos,
            packet_id,
            reason,
            held: None,
        });
    }

    /// Queues a held acknowledgement; false (nothing queued) if the message is held already.
    pub(crate) fn push_held(
        &mut self,
        qos: QoS,
        packet_id: PacketId,
        reason: ReasonCode,
        hold: Hold,
    ) -> bool {
        if !self.holds.hold(hold.id, &self.releases) {
            return false;
        }
        self.queue.push_back(Pending {
            qos,
            packet_id,
            reason,
            held: Some(Held {
                id: hold.id,
                deadline: Instant::now() + hold.timeout,
                by: hold.by,
                failed_action: hold.failed_action,
            }),
        });
        true
    }

    /// What the connection waits on: a confirmation, or the first held acknowledgement's
    /// deadline. `None` when the head is not held (call [`PendingAcks::release`]).
    pub(crate) fn wait(&self) -> Option<(Arc<Releases>, Instant)> {
        let deadline = self.queue.front()?.held.as_ref()?.deadline;
        Some((self.releases.clone(), deadline))
    }

    /// Lets go of the acknowledgements at the head that are decided: not held, confirmed, or
    /// past their deadline (then the holder's failure policy decides), in order.
    pub(crate) fn release(&mut self, now: Instant) -> Vec<Released> {
        let mut out = Vec::new();
        while let Some(head) = self.queue.front() {
            let ok = match &head.held {
                None => true,
                Some(held) => {
                    let confirmed = self.releases.confirmed.lock().remove(&held.id);
                    match confirmed {
                        Some(ok) => ok,
                        None if held.deadline > now => break,
                        None if !self.holds.forget(held.id) => {
                            // Confirmed between the two looks: read it on the next turn.
                            continue;
                        }
                        None => {
                            tracing::debug!(id = %held.id, handler = %held.by, policy = ?held.failed_action,
                                "held acknowledgement not confirmed within hold_timeout");
                            held.failed_action == FailedAction::Ignore
                        }
                    }
                }
            };
            let Some(p) = self.queue.pop_front() else {
                break;
            };
            out.push(match ok {
                true => Released::Ack(p.qos, p.packet_id, p.reason),
                false => Released::Refuse(p.qos, p.packet_id),
            });
        }
        out
    }
}

impl Drop for PendingAcks {
    fn drop(&mut self) {
        for held in self.queue.iter().filter_map(|p| p.held.as_ref()) {
            self.holds.forget(held.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn hold(id: u128, timeout_ms: u64, failed_action: FailedAction) -> Hold {
        Hold {
            id: MessageId(id),
            by: "h".into(),
            timeout: Duration::from_millis(timeout_ms),
            failed_action,
        }
    }

    fn pid(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn acknowledgements_leave_in_order_once() {
        let holds = Arc::new(Holds::default());
        let mut acks = PendingAcks::new(holds.clone());
        let q1 = QoS::AtLeastOnce;
        assert!(acks.push_held(
            q1,
            pid(1),
            ReasonCode::SUCCESS,
            hold(1, 1000, FailedAction::Deny)
        ));
        assert!(!acks.push_held(
            q1,
            pid(9),
            ReasonCode::SUCCESS,
            hold(1, 1000, FailedAction::Deny)
        ));
        acks.push_ready(q1, pid(2), ReasonCode::NO_MATCHING_SUBSCRIBERS);
        assert!(acks.push_held(
            q1,
            pid(3),
            ReasonCode::SUCCESS,
            hold(3, 1000, FailedAction::Ignore)
        ));
        assert_eq!(acks.release(Instant::now()), vec![]);
        // The second hold's confirmation waits for the first.
        holds.confirm(MessageId(3), false).unwrap();
        assert_eq!(acks.release(Instant::now()), vec![]);
        holds.confirm(MessageId(1), true).unwrap();
        assert_eq!(
            holds.confirm(MessageId(1), true),
            Err(ServiceError::NotHeld(MessageId(1)))
        );
        assert_eq!(
            acks.release(Instant::now()),
            vec![
                Released::Ack(q1, pid(1), ReasonCode::SUCCESS),
                Released::Ack(q1, pid(2), ReasonCode::NO_MATCHING_SUBSCRIBERS),
                Released::Refuse(q1, pid(3)),
            ]
        );
        assert!(acks.is_empty());
        assert_eq!(holds.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_applies_the_failure_policy_and_ends_the_hold() {
        let holds = Arc::new(Holds::default());
        let mut acks = PendingAcks::new(holds.clone());
        let q2 = QoS::ExactlyOnce;
        acks.push_held(
            q2,
            pid(1),
            ReasonCode::SUCCESS,
            hold(1, 100, FailedAction::Ignore),
        );
        acks.push_held(
            q2,
            pid(2),
            ReasonCode::SUCCESS,
            hold(2, 100, FailedAction::Deny),
        );
        let (_, at) = acks.wait().unwrap();
        assert_eq!(
            acks.release(at),
            vec![
                Released::Ack(q2, pid(1), ReasonCode::SUCCESS),
                Released::Refuse(q2, pid(2))
            ]
        );
        assert_eq!(
            holds.confirm(MessageId(2), true),
            Err(ServiceError::NotHeld(MessageId(2)))
        );
    }

    #[test]
    fn a_connection_that_goes_ends_its_holds() {
        let holds = Arc::new(Holds::default());
        let mut acks = PendingAcks::new(holds.clone());
        acks.push_held(
            QoS::AtLeastOnce,
            pid(1),
            ReasonCode::SUCCESS,
            hold(7, 100, FailedAction::Deny),
        );
        assert_eq!(holds.len(), 1);
        drop(acks);
        assert_eq!(holds.len(), 0);
        assert!(holds.confirm(MessageId(7), true).is_err());
    }
}
