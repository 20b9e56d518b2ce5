//! ETF micro-benchmarks: encode and decode a ClientInfo-sized proplist, the argument the port
//! drivers send with most hook calls. Run by `bench/run.sh` through `cargo bench`.

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, criterion_group, criterion_main};
use hookmq_port::etf::{self, Term};

/// The clientinfo proplist of a `client.connected` call, with values of realistic size.
fn clientinfo() -> Term {
    Term::proplist([
        ("node", Term::atom("hookmq@127.0.0.1")),
        (
            "clientid",
            Term::binary(Bytes::from_static(b"sensor-000123-building-7")),
        ),
        (
            "username",
            Term::binary(Bytes::from_static(b"device-fleet-a")),
        ),
        ("peerhost", Term::binary(Bytes::from_static(b"192.0.2.17"))),
        ("sockport", Term::Int(1883)),
        ("protocol", Term::atom("mqtt")),
        ("proto_ver", Term::Int(4)),
        ("keepalive", Term::Int(60)),
        ("mountpoint", Term::undefined()),
        ("is_superuser", Term::bool(false)),
        ("anonymous", Term::bool(true)),
        ("connected_at", Term::timestamp_ms(1_795_861_619_000)),
    ])
}

fn bench(c: &mut Criterion) {
    let term = clientinfo();
    let mut wire = BytesMut::new();
    etf::encode(&term, &mut wire).expect("encode");
    let wire: Bytes = wire.freeze();
    let mut g = c.benchmark_group("etf_clientinfo");
    g.bench_function(format!("encode_{}B", wire.len()), |b| {
        let mut buf = BytesMut::with_capacity(1024);
        b.iter(|| {
            buf.clear();
            etf::encode(black_box(&term), &mut buf).expect("encode");
            black_box(buf.len())
        })
    });
    g.bench_function(format!("decode_{}B", wire.len()), |b| {
        b.iter(|| black_box(etf::decode(black_box(&wire)).expect("decode")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
