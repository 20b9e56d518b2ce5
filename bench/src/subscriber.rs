//! One subscriber of a pub/sub scenario: reads PUBLISH packets, records their latency and
//! sequence numbers, acknowledges QoS 1/2, and tells each publisher's end-to-end window what
//! arrived. With a read rate (`--sub-rate`) it stops reading while it is ahead of that rate: a
//! slow consumer whose socket fills up. Runs until the scenario says stop. Called by
//! [`crate::scenario`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Result;
use hookmq_codec::{Packet, PubAck, QoS};

use crate::client::{Client, Step};
use crate::scenario::RunState;
use crate::stats::SubStats;

/// Runs one subscriber until the scenario's stop signal.
pub async fn run(mut client: Client, state: Arc<RunState>) -> Result<SubStats> {
    let mut stats = SubStats::new(state.publishers)?;
    let mut batch = vec![0u64; state.publishers];
    let mut touched: Vec<usize> = Vec::new();
    let mut stop = state.stop.subscribe();
    let rate = state.spec.sub_rate;
    let mut taken: u64 = 0;
    loop {
        if rate > 0.0 {
            // Ahead of the read rate: do not read until the rate allows the next message.
            let due_ns = (taken as f64 * 1e9 / rate) as u64;
            if due_ns > state.clock.now_ns() {
                let paused = tokio::time::sleep_until(state.clock.at(due_ns));
                tokio::select! {
                    () = paused => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        }
        let wake = async {
            let _ = stop.wait_for(|s| *s).await;
        };
        if client.step(wake).await? == Step::Woken {
            break;
        }
        let now = state.clock.now_ns();
        while let Some(packet) = client.next_packet()? {
            match packet {
                Packet::Publish(p) => {
                    taken += 1;
                    if let Some(from) = stats.record(&p.payload, now, state.warm_ns, state.end_ns) {
                        let i = from as usize;
                        if batch[i] == 0 {
                            touched.push(i);
                        }
                        batch[i] += 1;
                    }
                    match (p.qos, p.packet_id) {
                        (QoS::AtLeastOnce, Some(id)) => {
                            client.queue(&Packet::PubAck(PubAck::success(id)))?;
                        }
                        (QoS::ExactlyOnce, Some(id)) => {
                            client.queue(&Packet::PubRec(PubAck::success(id)))?;
                        }
                        _ => {}
                    }
                }
                Packet::PubRel(a) => {
                    client.queue(&Packet::PubComp(PubAck::success(a.packet_id)))?
                }
                _ => {}
            }
        }
        for i in touched.drain(..) {
            state.delivered[i].fetch_add(batch[i], Ordering::Relaxed);
            batch[i] = 0;
            state.wake[i].notify_one();
        }
    }
    client.disconnect().await;
    Ok(stats)
}
