//! One publisher of a pub/sub scenario: sends stamped PUBLISH packets at a fixed rate or as fast
//! as its windows allow, handles PUBACK / PUBREC / PUBCOMP, and after the measurement window
//! waits (bounded) for its last acknowledgements. Called by [`crate::scenario`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Result, bail};
use bytes::{Bytes, BytesMut};
use hookmq_codec::{
    ByteString, Packet, PacketId, Properties, Protocol, PubAck, Publish, QoS, encode_packet,
};

use crate::client::{Client, Step};
use crate::scenario::RunState;
use crate::stats::Stamp;

/// Packets encoded per turn at most, so acknowledgements are read in between.
const BATCH: u64 = 64;
/// Output buffered beyond this waits for the socket.
const WRITE_HIGH: usize = 256 * 1024;

/// What one publisher did.
#[derive(Debug, Clone, Copy, Default)]
pub struct PubStats {
    /// Messages sent in all.
    pub sent: u64,
    /// Messages sent inside the measurement window.
    pub sent_in_window: u64,
    /// Times the end-to-end window stalled (messages the broker dropped never come back).
    pub stalls: u64,
}

/// Packet identifiers in use, for the QoS 1/2 inflight window.
struct PacketIds {
    used: Vec<bool>,
    next: u16,
    in_use: usize,
    limit: usize,
}

impl PacketIds {
    fn new(limit: usize) -> PacketIds {
        PacketIds {
            used: vec![false; 65536],
            next: 0,
            in_use: 0,
            limit: limit.min(65_000),
        }
    }

    fn free(&self) -> u64 {
        (self.limit - self.in_use) as u64
    }

    fn take(&mut self) -> Option<PacketId> {
        if self.in_use >= self.limit {
            return None;
        }
        loop {
            self.next = self.next.wrapping_add(1).max(1);
            if !self.used[self.next as usize] {
                self.used[self.next as usize] = true;
                self.in_use += 1;
                return PacketId::new(self.next);
            }
        }
    }

    fn release(&mut self, id: PacketId) {
        let slot = &mut self.used[id.get() as usize];
        if *slot {
            *slot = false;
            self.in_use -= 1;
        }
    }
}

/// Runs publisher `idx` on `client` until the end of the measurement window, then drains.
pub async fn run(
    mut client: Client,
    idx: u32,
    topic: String,
    state: Arc<RunState>,
) -> Result<PubStats> {
    let spec = &state.spec;
    let clock = state.clock;
    let k = state.receipts_per_message;
    let template = Template::new(&topic, spec.payload, spec.qos, client.protocol_level())?;
    let mut ids = PacketIds::new(spec.inflight);
    let mut stats = PubStats::default();
    let mut seq: u64 = 0;
    let mut forgiven: u64 = 0;
    let mut last_delivered = 0;
    let mut last_progress = clock.now_ns();
    // Publishers at a fixed rate are spread evenly over one period instead of sending together.
    let phase_ns = if spec.rate > 0.0 {
        (f64::from(idx) / state.publishers as f64 * 1e9 / spec.rate) as u64
    } else {
        0
    };
    let notify = &state.wake[idx as usize];
    let delivered = &state.delivered[idx as usize];
    loop {
        let now = clock.now_ns();
        if now >= state.end_ns {
            break;
        }
        let mut budget = BATCH;
        if spec.rate > 0.0 {
            // Nothing is due before the publisher's phase: without this every publisher sent
            // its first message at t = 0, a burst of one message per device (10k at once in
            // the IoT rows, more than a subscriber's queue holds).
            let due = if now < phase_ns {
                0
            } else {
                ((now - phase_ns) as f64 * spec.rate / 1e9) as u64 + 1
            };
            budget = budget.min(due.saturating_sub(seq));
        }
        let seen = delivered.load(Ordering::Relaxed);
        if seen != last_delivered {
            last_delivered = seen;
            last_progress = now;
        }
        if spec.window > 0 {
            let outstanding = (seq * k).saturating_sub(seen + forgiven);
            let room = (spec.window * k).saturating_sub(outstanding) / k;
            if room == 0 && now - last_progress > state.stall_ns {
                // Messages the broker dropped never arrive: stop waiting for them.
                forgiven += outstanding;
                stats.stalls += 1;
                last_progress = now;
            }
            budget = budget.min(room);
        }
        if spec.qos != QoS::AtMostOnce {
            budget = budget.min(ids.free());
        }
        if client.pending_write() > WRITE_HIGH {
            budget = 0;
        }
        if spec.one_per_write {
            // One packet, written before the next is queued: one system call per message.
            budget = budget.min(1);
        }
        for _ in 0..budget {
            let packet_id = match spec.qos {
                QoS::AtMostOnce => None,
                _ => ids.take(),
            };
            let sent_ns = clock.now_ns();
            let stamp = Stamp {
                seq: seq as u32,
                publisher: idx,
                sent_ns,
            };
            template.queue(&mut client, stamp, packet_id);
            seq += 1;
            stats.sent += 1;
            if sent_ns >= state.warm_ns {
                stats.sent_in_window += 1;
            }
        }
        if spec.one_per_write && budget > 0 {
            client.write_now().await?;
            continue;
        }
        // Wake for the next rate tick, an end-to-end delivery, a stall check or the window's end.
        let mut wake_at = state.end_ns.min(clock.now_ns() + state.stall_ns / 4);
        if spec.rate > 0.0 {
            wake_at = wake_at.min(phase_ns + (seq as f64 * 1e9 / spec.rate) as u64);
        }
        let sleep = tokio::time::sleep_until(clock.at(wake_at));
        let notified = notify.notified();
        let wake = async move {
            tokio::select! {
                () = sleep => {}
                () = notified => {}
            }
        };
        if client.step(wake).await? == Step::Read {
            handle_acks(&mut client, &mut ids)?;
        }
    }
    // The window is over: collect the last acknowledgements so the broker has every message.
    let deadline = tokio::time::Instant::now() + state.spec.drain;
    while ids.in_use > 0 || client.pending_write() > 0 {
        match client.step(tokio::time::sleep_until(deadline)).await? {
            Step::Read => handle_acks(&mut client, &mut ids)?,
            Step::Woken => break,
        }
    }
    client.disconnect().await;
    Ok(stats)
}

/// A PUBLISH encoded once by the codec; each message copies it and patches the packet id and
/// the payload's stamp in place, so the generator spends little per message.
struct Template {
    bytes: BytesMut,
    packet_id_at: Option<usize>,
    stamp_at: usize,
}

impl Template {
    fn new(topic: &str, payload: usize, qos: QoS, protocol: Protocol) -> Result<Template> {
        let packet_id = (qos != QoS::AtMostOnce)
            .then_some(PacketId::new(0xABCD))
            .flatten();
        let mut bytes = BytesMut::new();
        encode_packet(
            &Packet::Publish(Publish {
                dup: false,
                qos,
                retain: false,
                topic: ByteString::from(topic),
                packet_id,
                payload: Bytes::from(vec![b'x'; payload]),
                properties: Properties::default(),
            }),
            protocol,
            &mut bytes,
        )?;
        let stamp_at = bytes.len() - payload;
        // Before the payload: the packet id, then (MQTT 5) a one-byte empty property length.
        let props = usize::from(protocol.is_v5());
        let packet_id_at = packet_id.map(|_| stamp_at - props - 2);
        if let Some(at) = packet_id_at
            && bytes[at..at + 2] != [0xAB, 0xCD]
        {
            bail!("unexpected PUBLISH layout");
        }
        Ok(Template {
            bytes,
            packet_id_at,
            stamp_at,
        })
    }

    fn queue(&self, client: &mut Client, stamp: Stamp, packet_id: Option<PacketId>) {
        let out = client.queue_bytes(&self.bytes);
        stamp.write(&mut out[self.stamp_at..]);
        if let (Some(at), Some(id)) = (self.packet_id_at, packet_id) {
            out[at..at + 2].copy_from_slice(&id.get().to_be_bytes());
        }
    }
}

fn handle_acks(client: &mut Client, ids: &mut PacketIds) -> Result<()> {
    while let Some(packet) = client.next_packet()? {
        match packet {
            Packet::PubAck(a) | Packet::PubComp(a) => ids.release(a.packet_id),
            // A PUBREC with a failure reason ends the exchange ([MQTT-4.3.3]).
            Packet::PubRec(a) if !a.reason.is_success() => ids.release(a.packet_id),
            Packet::PubRec(a) => client.queue(&Packet::PubRel(PubAck::success(a.packet_id)))?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::Decoder;

    /// The patched template decodes to a PUBLISH with the patched id and stamp, at both levels.
    #[test]
    fn a_patched_template_decodes_with_its_id_and_stamp() {
        for protocol in [Protocol::V3_1_1, Protocol::V5] {
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let t = Template::new("bench/p2p/1", 64, qos, protocol).unwrap();
                let mut bytes = t.bytes.clone();
                let stamp = Stamp {
                    seq: 41,
                    publisher: 2,
                    sent_ns: 99,
                };
                stamp.write(&mut bytes[t.stamp_at..]);
                if let Some(at) = t.packet_id_at {
                    bytes[at..at + 2].copy_from_slice(&513u16.to_be_bytes());
                }
                let packet = Decoder::with_protocol(protocol, 1 << 20)
                    .decode(&mut bytes)
                    .unwrap()
                    .unwrap();
                let Packet::Publish(p) = packet else {
                    panic!("not a PUBLISH");
                };
                assert_eq!(Stamp::read(&p.payload), Some(stamp));
                assert_eq!(p.payload.len(), 64);
                assert_eq!(
                    p.packet_id.map(|id| id.get()),
                    (qos != QoS::AtMostOnce).then_some(513)
                );
            }
        }
    }
}
