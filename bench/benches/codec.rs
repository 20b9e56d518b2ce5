//! Codec micro-benchmarks: PUBLISH decode and encode (16 B and 1 KB payloads, MQTT 3.1.1 and
//! MQTT 5 with properties) and CONNECT. Run by `bench/run.sh` through `cargo bench`.

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hookmq_codec::{
    ByteString, Connect, Decoder, Packet, PacketId, Properties, Property, Protocol, Publish, QoS,
    encode_packet,
};

fn publish(payload: usize, v5: bool) -> Packet {
    let mut properties = Properties::default();
    if v5 {
        properties.push(Property::MessageExpiryInterval(3600));
        properties.push(Property::ContentType("application/octet-stream".into()));
        properties.push(Property::UserProperty(
            "trace".into(),
            "4bf92f3577b34da6".into(),
        ));
    }
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: ByteString::from("sensors/building-7/floor-3/temperature"),
        packet_id: PacketId::new(42),
        payload: Bytes::from(vec![0x5A; payload]),
        properties,
    })
}

fn connect(protocol: Protocol) -> Packet {
    let mut properties = Properties::default();
    if protocol.is_v5() {
        properties.push(Property::SessionExpiryInterval(7200));
        properties.push(Property::ReceiveMaximum(64));
    }
    Packet::Connect(Box::new(Connect {
        protocol,
        clean_start: true,
        keep_alive: 60,
        client_id: ByteString::from("bench-client-0001"),
        will: None,
        username: Some(ByteString::from("device")),
        password: Some(Bytes::from_static(b"secret")),
        properties,
    }))
}

fn encoded(packet: &Packet, protocol: Protocol) -> BytesMut {
    let mut buf = BytesMut::new();
    encode_packet(packet, protocol, &mut buf).expect("encode");
    buf
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    for (name, protocol) in [("v311", Protocol::V3_1_1), ("v5", Protocol::V5)] {
        for size in [16usize, 1024] {
            let packet = publish(size, protocol.is_v5());
            let wire = encoded(&packet, protocol);
            g.throughput(Throughput::Elements(1));
            g.bench_function(format!("publish_{size}B_{name}/decode"), |b| {
                let mut decoder = Decoder::with_protocol(protocol, 1 << 20);
                b.iter(|| {
                    let mut buf = wire.clone();
                    black_box(decoder.decode(&mut buf).expect("decode"))
                })
            });
            g.bench_function(format!("publish_{size}B_{name}/encode"), |b| {
                let mut buf = BytesMut::with_capacity(4096);
                b.iter(|| {
                    buf.clear();
                    encode_packet(black_box(&packet), protocol, &mut buf).expect("encode");
                    black_box(buf.len())
                })
            });
        }
        let packet = connect(protocol);
        let wire = encoded(&packet, protocol);
        g.bench_function(format!("connect_{name}/decode"), |b| {
            b.iter(|| {
                let mut decoder = Decoder::new(1 << 20);
                let mut buf = wire.clone();
                black_box(decoder.decode(&mut buf).expect("decode"))
            })
        });
        g.bench_function(format!("connect_{name}/encode"), |b| {
            let mut buf = BytesMut::with_capacity(256);
            b.iter(|| {
                buf.clear();
                encode_packet(black_box(&packet), protocol, &mut buf).expect("encode");
                black_box(buf.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
