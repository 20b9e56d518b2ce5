//! Check for the broker's connection state machine (`hookmq_broker::connection`): a script of
//! client writes on one or two in-memory connections (the second one may reuse the first one's
//! client id, which is a session takeover) against a real broker, with no listener, no `$SYS`
//! and no hooks. Each input gets its own runtime and broker, so an input replays alone exactly as
//! it ran, and nothing one input left (sessions, wills, expiry timers) reaches the next.
//!
//! Input: a header byte, then steps `[control][length][bytes…]` (a short last step takes what is
//! left). Control bit 0 picks the connection (opened at its first step), bit 1 half-closes it
//! after the write. Header bit 0 asks for the liveness probe after the script.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use hookmq_broker::connection::{ListenerContext, Transport};
use hookmq_broker::{Broker, BrokerConfig};
use hookmq_codec::{
    Connect, Decoder, Packet, PacketId, Properties, Protocol, Publish, QoS, Subscribe,
    SubscriptionOptions, TopicFilter, decode_packet, encode_packet,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, WriteHalf};
use tokio::task::JoinHandle;

/// How long, in real time, the broker has to close a connection whose client closed its side,
/// and to serve the probe. Far above what it takes (microseconds); reaching it is a hang.
const DEADLINE: Duration = Duration::from_secs(10);

/// Scheduler turns given to the broker after each write, so that steps on two connections
/// happen in the script's order.
const SETTLE_TURNS: usize = 8;

/// One client write.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// Connection 0 or 1.
    pub conn: usize,
    /// Half-close the connection after writing.
    pub close: bool,
    /// The bytes written.
    pub bytes: &'a [u8],
}

/// The steps of a script (the input after its header byte).
pub fn steps(mut rest: &[u8]) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    while let [control, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        steps.push(Step {
            conn: usize::from(control & 1),
            close: control & 2 != 0,
            bytes: &tail[..n],
        });
        rest = &tail[n..];
    }
    steps
}

/// Writes a script (the seeds' format): the header, then each step.
pub fn script(header: u8, steps: &[Step<'_>]) -> Vec<u8> {
    let mut out = vec![header];
    for s in steps {
        for chunk in s.bytes.chunks(255) {
            out.push(u8::from(s.conn == 1) | (u8::from(s.close) << 1));
            out.push(chunk.len() as u8);
            out.extend_from_slice(chunk);
        }
    }
    out
}

/// `session`: runs the script against a fresh broker. Nothing in the broker may panic; every
/// connection must be closed by the broker once its client closed its side; what the broker
/// wrote on each connection must be whole, well-formed server packets at the level the client's
/// CONNECT announced, starting with CONNACK (or AUTH), with at most one CONNACK; a connection
/// whose first packet is not a valid CONNECT gets at most a CONNACK. With the probe, a new client
/// then subscribes, publishes at QoS 1 and receives its message.
pub fn check(data: &[u8]) {
    let Some((&header, rest)) = data.split_first() else {
        return;
    };
    answers(header & 1 != 0, &steps(rest));
}

/// Runs a script (with the probe if asked) and checks it as [`check`] does; returns the packets
/// the broker sent on each connection the script opened.
pub fn answers(probe: bool, steps: &[Step<'_>]) -> Vec<Vec<Packet>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("no runtime: {e}"));
    runtime.block_on(run(probe, steps))
}

fn broker() -> Arc<Broker> {
    let mut cfg = BrokerConfig::default();
    cfg.listeners.tcp.clear();
    cfg.sys.enable = false;
    Broker::new(cfg, Arc::new(hookmq_hooks::Hooks::new()))
        .unwrap_or_else(|e| panic!("no broker: {e}"))
}

/// One in-memory connection, seen from the client.
struct Client {
    write: WriteHalf<DuplexStream>,
    open: bool,
    sent: Vec<u8>,
    output: JoinHandle<Vec<u8>>,
    server: JoinHandle<()>,
}

impl Client {
    fn open(broker: &Arc<Broker>) -> Client {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (r, w) = tokio::io::split(server);
        let transport = Transport {
            reader: Box::new(r),
            writer: Box::new(w),
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
            sockport: 1883,
            listener: Arc::new(ListenerContext::default()),
            cert: None,
            cert_as_username: None,
        };
        let server = tokio::spawn(hookmq_broker::connection::serve(broker.clone(), transport));
        let (mut read, write) = tokio::io::split(client);
        let output = tokio::spawn(async move {
            let mut out = Vec::new();
            let _ = read.read_to_end(&mut out).await;
            out
        });
        Client {
            write,
            open: true,
            sent: Vec::new(),
            output,
            server,
        }
    }

    async fn write(&mut self, bytes: &[u8], close: bool) {
        if !self.open {
            return;
        }
        self.sent.extend_from_slice(bytes);
        // The broker may have closed already; its side then refuses the bytes.
        if self.write.write_all(bytes).await.is_err() {
            self.open = false;
        }
        if close {
            self.close().await;
        }
    }

    async fn close(&mut self) {
        if self.open {
            let _ = self.write.shutdown().await;
            self.open = false;
        }
    }

    /// What the broker wrote, once it closed the connection; re-raises a panic of its task.
    async fn finish(mut self, which: usize) -> (Vec<u8>, Vec<u8>) {
        self.close().await;
        let output = tokio::time::timeout(DEADLINE, self.output)
            .await
            .unwrap_or_else(|_| panic!("connection {which} still open after the client closed"))
            .unwrap_or_default();
        match tokio::time::timeout(DEADLINE, self.server).await {
            Err(_) => panic!("connection {which}: its task did not end"),
            Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Ok(_) => {}
        }
        (self.sent, output)
    }
}

async fn settle() {
    for _ in 0..SETTLE_TURNS {
        tokio::task::yield_now().await;
    }
}

async fn run(probe: bool, steps: &[Step<'_>]) -> Vec<Vec<Packet>> {
    let broker = broker();
    let mut clients: [Option<Client>; 2] = [None, None];
    for step in steps {
        let client = clients[step.conn].get_or_insert_with(|| Client::open(&broker));
        client.write(step.bytes, step.close).await;
        settle().await;
    }
    let mut answers = Vec::new();
    for (which, client) in clients.into_iter().enumerate() {
        if let Some(client) = client {
            let (sent, output) = client.finish(which).await;
            answers.push(check_output(which, &sent, &output));
        }
    }
    if probe {
        tokio::time::timeout(DEADLINE, probe_broker(&broker))
            .await
            .unwrap_or_else(|_| panic!("the broker no longer serves a new client"));
    }
    answers
}

/// Whether the broker may send `p`.
fn from_server(p: &Packet) -> bool {
    !matches!(
        p,
        Packet::Connect(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) | Packet::PingReq
    )
}

/// The packets in `output` at `protocol`, or why they are not whole, well-formed packets.
fn packets(output: &[u8], protocol: Protocol) -> Result<Vec<Packet>, String> {
    let mut buf = BytesMut::from(output);
    let mut decoder = Decoder::with_protocol(protocol, u32::MAX);
    let mut out = Vec::new();
    while !buf.is_empty() {
        match decoder.decode(&mut buf) {
            Ok(Some(p)) => out.push(p),
            Ok(None) => return Err(format!("{} bytes of a cut packet at the end", buf.len())),
            Err(e) => return Err(format!("packet {} does not decode: {e}", out.len() + 1)),
        }
    }
    Ok(out)
}

/// Checks what the broker sent on one connection; returns its packets (none when the client's
/// first packet was not a valid CONNECT).
fn check_output(which: usize, sent: &[u8], output: &[u8]) -> Vec<Packet> {
    let first = decode_packet(&mut BytesMut::from(sent), None, u32::MAX);
    let Ok(Some(Packet::Connect(connect))) = first else {
        // No valid CONNECT: at most a refusing CONNACK, at whatever level the broker guessed.
        let refused = [Protocol::V3_1_1, Protocol::V5].iter().any(|&p| {
            matches!(
                packets(output, p).as_deref(),
                Ok([]) | Ok([Packet::ConnAck(_)])
            )
        });
        assert!(
            refused,
            "connection {which} without a valid CONNECT got {output:02x?}"
        );
        return Vec::new();
    };
    let got = packets(output, connect.protocol)
        .unwrap_or_else(|e| panic!("connection {which} ({:?}): {e}", connect.protocol));
    if let Some(p) = got.first() {
        assert!(
            matches!(p, Packet::ConnAck(_) | Packet::Auth(_)),
            "connection {which}: first packet {p:?}"
        );
    }
    if let Some(p) = got.iter().find(|p| !from_server(p)) {
        panic!("connection {which}: the broker sent a client packet {p:?}");
    }
    let connacks = got
        .iter()
        .filter(|p| matches!(p, Packet::ConnAck(_)))
        .count();
    assert!(connacks <= 1, "connection {which}: {connacks} CONNACKs");
    got
}

/// A new client subscribes, publishes at QoS 1 to itself and gets CONNACK, SUBACK, PUBACK and
/// the message.
async fn probe_broker(broker: &Arc<Broker>) {
    let (client, server) = tokio::io::duplex(1 << 16);
    let (r, w) = tokio::io::split(server);
    tokio::spawn(hookmq_broker::connection::serve(
        broker.clone(),
        Transport {
            reader: Box::new(r),
            writer: Box::new(w),
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 40001)),
            sockport: 1883,
            listener: Arc::new(ListenerContext::default()),
            cert: None,
            cert_as_username: None,
        },
    ));
    let (mut read, mut write) = tokio::io::split(client);
    let mut out = BytesMut::new();
    for p in probe_packets() {
        if encode_packet(&p, Protocol::V5, &mut out).is_err() {
            unreachable!("the probe's packets encode");
        }
    }
    if write.write_all(&out).await.is_err() {
        panic!("the broker refused the probe's bytes");
    }
    let mut decoder = Decoder::with_protocol(Protocol::V5, u32::MAX);
    let mut buf = BytesMut::new();
    let (mut connack, mut suback, mut puback, mut message) = (false, false, false, false);
    while !(connack && suback && puback && message) {
        match decoder.decode(&mut buf) {
            Ok(Some(Packet::ConnAck(a))) => {
                assert!(a.reason.is_success(), "probe refused: {a:?}");
                connack = true;
            }
            Ok(Some(Packet::SubAck(_))) => suback = true,
            Ok(Some(Packet::PubAck(_))) => puback = true,
            // Retained messages the script left under `probe/` may come first.
            Ok(Some(Packet::Publish(p))) => message |= !p.retain && &p.payload[..] == b"alive",
            Ok(Some(other)) => panic!("probe got {other:?}"),
            Ok(None) => match read.read_buf(&mut buf).await {
                Ok(0) | Err(_) => panic!("the broker closed the probe's connection"),
                Ok(_) => {}
            },
            Err(e) => panic!("probe got a bad packet: {e}"),
        }
    }
    let _ = write.shutdown().await;
}

fn probe_packets() -> Vec<Packet> {
    let id = |v| PacketId::new(v).unwrap_or_else(|| unreachable!("not 0"));
    let filter = TopicFilter::new("probe/#").unwrap_or_else(|_| unreachable!("valid"));
    vec![
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V5,
            clean_start: true,
            keep_alive: 0,
            client_id: "".into(),
            will: None,
            username: None,
            password: None,
            properties: Properties::default(),
        })),
        Packet::Subscribe(Subscribe {
            packet_id: id(1),
            filters: vec![(
                filter,
                SubscriptionOptions {
                    qos: QoS::AtLeastOnce,
                    ..Default::default()
                },
            )],
            properties: Properties::default(),
        }),
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "probe/x".into(),
            packet_id: Some(id(2)),
            payload: bytes::Bytes::from_static(b"alive"),
            properties: Properties::default(),
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeds::for_target;

    fn answers_to(seed: &str) -> Vec<Vec<Packet>> {
        let seeds = for_target("session");
        let Some(s) = seeds.iter().find(|s| s.name == seed) else {
            panic!("no seed {seed}");
        };
        answers(s.bytes[0] & 1 != 0, &steps(&s.bytes[1..]))
    }

    fn kinds(packets: &[Packet]) -> Vec<&'static str> {
        packets
            .iter()
            .map(|p| match p {
                Packet::ConnAck(_) => "connack",
                Packet::Publish(_) => "publish",
                Packet::PubAck(_) => "puback",
                Packet::PubRec(_) => "pubrec",
                Packet::PubComp(_) => "pubcomp",
                Packet::SubAck(_) => "suback",
                Packet::UnsubAck(_) => "unsuback",
                Packet::PingResp => "pingresp",
                _ => "other",
            })
            .collect()
    }

    /// The target is not vacuous: a scripted conversation reaches the broker's handling of every
    /// packet, and a takeover and a will reach the other connection.
    #[test]
    fn scripts_reach_the_state_machine() {
        for level in ["v31", "v311", "v5"] {
            let a = answers_to(&format!("{level}-exchange"));
            let k = kinds(&a[0]);
            for want in [
                "connack", "suback", "puback", "pubrec", "pubcomp", "pingresp", "unsuback",
            ] {
                assert!(k.contains(&want), "{level}: no {want} in {k:?}");
            }
            let t = answers_to(&format!("{level}-takeover"));
            assert_eq!(t.len(), 2, "{level}");
            let Packet::ConnAck(second) = &t[1][0] else {
                panic!("{level}: takeover answered {:?}", t[1]);
            };
            // MQTT 3.1's CONNACK has no session present flag.
            assert!(
                second.session_present || level == "v31",
                "{level}: takeover lost the session"
            );
            let w = answers_to(&format!("{level}-will"));
            // The watcher is connection 1.
            assert!(
                kinds(&w[1]).contains(&"publish"),
                "{level}: no will in {:?}",
                w[1]
            );
        }
    }
}
