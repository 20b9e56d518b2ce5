//! Outbound QoS 1/2 state of one session (sans-IO): which messages are in flight to the client
//! under which packet identifier and in which phase of the handshake, and which identifier comes
//! next. The connection task drives it; it survives disconnection with the session, so the
//! messages can be sent again on reconnect ([MQTT-4.4.0-1]).

use std::collections::VecDeque;

use hookmq_codec::PacketId;

use crate::delivery::Delivery;

/// Where a message is in its acknowledgement handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // named after the packet each phase waits for
pub(crate) enum Phase {
    /// QoS 1 PUBLISH sent, waiting for PUBACK.
    PubAck,
    /// QoS 2 PUBLISH sent, waiting for PUBREC.
    PubRec,
    /// PUBREL sent, waiting for PUBCOMP.
    PubComp,
}

/// One message in flight.
#[derive(Debug, Clone)]
pub(crate) struct InflightEntry {
    pub(crate) packet_id: PacketId,
    pub(crate) delivery: Delivery,
    pub(crate) phase: Phase,
}

/// What an acknowledgement from the client did.
#[derive(Debug, PartialEq)]
pub(crate) enum AckOutcome {
    /// The handshake completed; the message is acknowledged.
    Completed(Delivery),
    /// PUBREC accepted: answer with PUBREL.
    SendPubRel,
    /// PUBREC with an error reason (MQTT 5): the handshake ends without delivery.
    Refused(Delivery),
    /// No message in flight under this identifier.
    Unknown,
    /// The acknowledgement does not belong to the message in flight under this identifier
    /// (PUBACK for QoS 2, PUBREC or PUBCOMP for QoS 1, PUBCOMP before PUBREL): a protocol
    /// violation ([MQTT-4.8.0-1]).
    WrongType,
}

/// The outbound window.
#[derive(Debug, Default)]
pub(crate) struct Inflight {
    entries: VecDeque<InflightEntry>,
    last_id: u16,
}

impl Inflight {
    /// Messages in flight.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entries in the order they were first sent.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &InflightEntry> {
        self.entries.iter()
    }

    /// The entries, oldest first, to renumber their stored sequence.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut InflightEntry> {
        self.entries.iter_mut()
    }

    /// The next free packet identifier, or `None` if all 65,535 are in use.
    fn next_id(&mut self) -> Option<PacketId> {
        for _ in 0..u16::MAX {
            self.last_id = self.last_id.wrapping_add(1);
            let Some(id) = PacketId::new(self.last_id) else {
                continue;
            };
            if !self.entries.iter().any(|e| e.packet_id == id) {
                return Some(id);
            }
        }
        None
    }

    /// Puts a QoS 1/2 delivery in flight and returns its packet identifier.
    pub(crate) fn push(&mut self, delivery: Delivery) -> Option<PacketId> {
        let packet_id = self.next_id()?;
        let phase = match delivery.qos {
            hookmq_codec::QoS::ExactlyOnce => Phase::PubRec,
            _ => Phase::PubAck,
        };
        self.entries.push_back(InflightEntry {
            packet_id,
            delivery,
            phase,
        });
        Some(packet_id)
    }

    fn position(&self, id: PacketId) -> Option<usize> {
        self.entries.iter().position(|e| e.packet_id == id)
    }

    /// Removes entry `i`, completing its handshake.
    fn complete(&mut self, i: usize) -> AckOutcome {
        match self.entries.remove(i) {
            Some(e) => AckOutcome::Completed(e.delivery),
            None => AckOutcome::Unknown,
        }
    }

    /// PUBACK received.
    pub(crate) fn puback(&mut self, id: PacketId) -> AckOutcome {
        match self.position(id) {
            None => AckOutcome::Unknown,
            Some(i) if self.entries[i].phase == Phase::PubAck => self.complete(i),
            Some(_) => AckOutcome::WrongType,
        }
    }

    /// PUBREC received; `refused` when its reason code is 0x80 or above ([MQTT-4.3.3-4]).
    pub(crate) fn pubrec(&mut self, id: PacketId, refused: bool) -> AckOutcome {
        let Some(i) = self.position(id) else {
            return AckOutcome::Unknown;
        };
        match self.entries[i].phase {
            Phase::PubAck => AckOutcome::WrongType,
            // A repeated PUBREC for a message already released: release again.
            Phase::PubComp => AckOutcome::SendPubRel,
            Phase::PubRec if refused => match self.entries.remove(i) {
                Some(e) => AckOutcome::Refused(e.delivery),
                None => AckOutcome::Unknown,
            },
            Phase::PubRec => {
                self.entries[i].phase = Phase::PubComp;
                AckOutcome::SendPubRel
            }
        }
    }

    /// PUBCOMP received.
    pub(crate) fn pubcomp(&mut self, id: PacketId) -> AckOutcome {
        match self.position(id) {
            None => AckOutcome::Unknown,
            Some(i) if self.entries[i].phase == Phase::PubComp => self.complete(i),
            Some(_) => AckOutcome::WrongType,
        }
    }

    /// Puts back an entry read from the store at start.
    pub(crate) fn restore(&mut self, packet_id: PacketId, phase: Phase, delivery: Delivery) {
        self.last_id = self.last_id.max(packet_id.get());
        self.entries.push_back(InflightEntry {
            packet_id,
            delivery,
            phase,
        });
    }

    /// Removes an entry that was never sent (it did not fit the client's packet size limit).
    pub(crate) fn forget(&mut self, id: PacketId) {
        self.entries.retain(|e| e.packet_id != id);
    }

    /// Empties the window (session ended), returning what was in it.
    pub(crate) fn drain(&mut self) -> Vec<InflightEntry> {
        self.entries.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::tests::delivery;
    use hookmq_codec::QoS;

    #[test]
    fn qos1_and_qos2_handshakes_complete_once() {
        let mut w = Inflight::default();
        let a = w.push(delivery("a", QoS::AtLeastOnce)).unwrap();
        let b = w.push(delivery("b", QoS::ExactlyOnce)).unwrap();
        assert_ne!(a, b);
        assert!(matches!(w.puback(a), AckOutcome::Completed(d) if d.message.topic.as_str() == "a"));
        assert_eq!(w.puback(a), AckOutcome::Unknown);
        assert_eq!(w.pubrec(b, false), AckOutcome::SendPubRel);
        assert_eq!(w.pubrec(b, false), AckOutcome::SendPubRel);
        assert!(matches!(w.pubcomp(b), AckOutcome::Completed(_)));
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn acknowledgements_of_the_wrong_type_are_violations_and_change_nothing() {
        let mut w = Inflight::default();
        let a = w.push(delivery("a", QoS::AtLeastOnce)).unwrap();
        let b = w.push(delivery("b", QoS::ExactlyOnce)).unwrap();
        assert_eq!(w.pubrec(a, false), AckOutcome::WrongType);
        assert_eq!(w.pubcomp(a), AckOutcome::WrongType);
        assert_eq!(w.puback(b), AckOutcome::WrongType);
        // PUBCOMP answers PUBREL, which was not sent yet.
        assert_eq!(w.pubcomp(b), AckOutcome::WrongType);
        assert_eq!(w.len(), 2);
        assert_eq!(w.pubrec(b, false), AckOutcome::SendPubRel);
        assert_eq!(w.puback(b), AckOutcome::WrongType);
        assert!(matches!(w.pubcomp(b), AckOutcome::Completed(_)));
        assert!(matches!(w.puback(a), AckOutcome::Completed(_)));
    }

    #[test]
    fn refused_pubrec_ends_the_handshake() {
        let mut w = Inflight::default();
        let id = w.push(delivery("a", QoS::ExactlyOnce)).unwrap();
        assert!(matches!(w.pubrec(id, true), AckOutcome::Refused(_)));
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn identifiers_skip_those_in_use_and_wrap() {
        let mut w = Inflight::default();
        let first = w.push(delivery("a", QoS::AtLeastOnce)).unwrap();
        w.last_id = u16::MAX - 1;
        assert_eq!(
            w.push(delivery("b", QoS::AtLeastOnce)).unwrap().get(),
            u16::MAX
        );
        // 0 is skipped, 1 is in use.
        assert_eq!(first.get(), 1);
        assert_eq!(w.push(delivery("c", QoS::AtLeastOnce)).unwrap().get(), 2);
    }
}
