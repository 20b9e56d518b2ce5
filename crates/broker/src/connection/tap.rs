//! The packet side of the hook trace: once CONNECT names the client, its connection records
//! the MQTT packets it reads and writes, decoded, into the traces that select the client
//! (`hookmq_hooks::trace`). With no trace running a packet costs one atomic load here.

use std::sync::Arc;

use bytestring::ByteString;
use hookmq_codec::{Connect, Packet};
use hookmq_hooks::trace::{Tracer, json::packet_to_json};

/// Who the packets belong to, and where they go.
pub(crate) struct PacketTap {
    tracer: Arc<Tracer>,
    clientid: ByteString,
    username: Option<ByteString>,
}

impl PacketTap {
    pub(crate) fn new(
        tracer: Arc<Tracer>,
        clientid: ByteString,
        username: Option<ByteString>,
    ) -> PacketTap {
        PacketTap {
            tracer,
            clientid,
            username,
        }
    }

    /// Records a packet read (`incoming`) or written.
    #[inline]
    pub(crate) fn packet(&self, packet: &Packet, incoming: bool) {
        if self.tracer.on() {
            let topic = match packet {
                Packet::Publish(p) => Some(&*p.topic),
                _ => None,
            };
            self.tracer.packet(
                &self.clientid,
                self.username.as_deref(),
                topic,
                incoming,
                || packet_to_json(packet),
            );
        }
    }

    /// Records the CONNECT that opened the connection (read before the client was known).
    pub(crate) fn connect(&self, c: &Connect) {
        if self.tracer.on() {
            self.tracer
                .packet(&self.clientid, self.username.as_deref(), None, true, || {
                    packet_to_json(&Packet::Connect(Box::new(c.clone())))
                });
        }
    }
}
