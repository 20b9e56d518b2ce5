//! An in-memory MQTT client for broker tests: connects through `tokio::io::duplex`, so tests can
//! run with paused time and assert exact durations.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hookmq_broker::connection::{ListenerContext, Transport};
use hookmq_broker::{Broker, BrokerConfig};
use hookmq_codec::{
    ConnAck, Connect, Decoder, LastWill, Packet, PacketId, Properties, Protocol, PubAck, Publish,
    QoS, Subscribe, SubscriptionOptions, TopicFilter,
};
use hookmq_hooks::Hooks;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// SUBSCRIBE (packet id 1) to one filter at `qos`.
pub fn subscribe_packet(filter: &str, qos: QoS) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: PacketId::new(1).unwrap(),
        filters: vec![(
            TopicFilter::new(filter).unwrap(),
            SubscriptionOptions {
                qos,
                ..Default::default()
            },
        )],
        properties: Properties::default(),
    })
}

/// A PUBLISH of `x` to `topic` at `qos`, with packet id `id` (ignored at QoS 0).
pub fn publish_packet(topic: &str, qos: QoS, id: u16) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id: PacketId::new(id),
        payload: Bytes::from_static(b"x"),
        properties: Properties::default(),
    })
}

/// A broker with no listeners and no $SYS, for in-memory connections.
pub fn broker(hooks: Arc<Hooks>) -> Arc<Broker> {
    broker_with(hooks, |_| {})
}

/// Like [`broker`], with configuration changes.
pub fn broker_with(hooks: Arc<Hooks>, change: impl FnOnce(&mut BrokerConfig)) -> Arc<Broker> {
    let mut cfg = BrokerConfig::default();
    cfg.listeners.tcp.clear();
    cfg.sys.enable = false;
    change(&mut cfg);
    Broker::new(cfg, hooks).unwrap()
}

/// A CONNECT with sensible defaults.
pub fn connect(protocol: Protocol, client_id: &str) -> Connect {
    Connect {
        protocol,
        clean_start: true,
        keep_alive: 0,
        client_id: client_id.into(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }
}

/// A will.
pub fn will(topic: &str, payload: &'static [u8], properties: Properties) -> LastWill {
    LastWill {
        topic: hookmq_codec::TopicName::new(topic).unwrap(),
        payload: bytes::Bytes::from_static(payload),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties,
    }
}

pub struct TestClient {
    io: DuplexStream,
    buf: BytesMut,
    decoder: Decoder,
    pub protocol: Protocol,
}

impl TestClient {
    /// Opens an in-memory connection and sends CONNECT; returns the client and the CONNACK.
    pub async fn connect(broker: &Arc<Broker>, c: Connect) -> (TestClient, ConnAck) {
        let mut t = TestClient::open(broker, c).await;
        match t.recv().await {
            Some(Packet::ConnAck(a)) => (t, a),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Opens an in-memory connection and sends CONNECT without waiting for an answer (MQTT 5
    /// enhanced authentication answers with AUTH first).
    pub async fn open(broker: &Arc<Broker>, c: Connect) -> TestClient {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (r, w) = tokio::io::split(server_side);
        broker.serve(Transport {
            reader: Box::new(r),
            writer: Box::new(w),
            peer: "127.0.0.1:40000".parse().unwrap(),
            sockport: 1883,
            listener: Arc::new(ListenerContext::default()),
            cert: None,
            cert_as_username: None,
        });
        let protocol = c.protocol;
        let mut t = TestClient {
            io: client_side,
            buf: BytesMut::new(),
            decoder: Decoder::with_protocol(protocol, u32::MAX),
            protocol,
        };
        t.send(Packet::Connect(Box::new(c))).await;
        t
    }

    pub async fn send(&mut self, p: Packet) {
        let mut out = BytesMut::new();
        hookmq_codec::encode_packet(&p, self.protocol, &mut out).unwrap();
        self.io.write_all(&out).await.unwrap();
    }

    /// The next packet, or None when the broker closed the connection.
    pub async fn recv(&mut self) -> Option<Packet> {
        loop {
            if let Some(p) = self.decoder.decode(&mut self.buf).unwrap() {
                return Some(p);
            }
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The next packet within `limit`.
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Packet> {
        tokio::time::timeout(limit, self.recv())
            .await
            .ok()
            .flatten()
    }

    pub async fn subscribe(&mut self, filter: &str, qos: QoS) {
        self.send(subscribe_packet(filter, qos)).await;
        match self.recv().await {
            Some(Packet::SubAck(a)) => assert!(a.reasons[0].is_success(), "{a:?}"),
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Acknowledges a QoS 1 publish.
    pub async fn puback(&mut self, id: PacketId) {
        self.send(Packet::PubAck(PubAck::success(id))).await;
    }

    /// Closes the connection without DISCONNECT.
    pub async fn drop_connection(mut self) {
        let _ = self.io.shutdown().await;
    }
}
