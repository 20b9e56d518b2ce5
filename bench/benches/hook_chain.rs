//! Hook chain micro-benchmarks: what the broker pays per publish and per authorization check
//! with no handler registered (`Hooks::has`, one atomic load) and with one native handler that
//! ignores the event (`Hooks::publish` / `Hooks::authorize`). Run by `bench/run.sh` through
//! `cargo bench`.

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use criterion::{Criterion, criterion_group, criterion_main};
use hookmq_codec::{Protocol, QoS, TopicName};
use hookmq_hooks::{
    Action, ClientInfo, HandlerSpec, HookPoint, Hooks, Message, NodeName, PointSpec, Verdict,
    handler_fn,
};

fn message() -> Arc<Message> {
    Arc::new(Message::new(
        ByteString::from("publisher-1"),
        TopicName::new("sensors/7/temperature").expect("topic"),
        Bytes::from(vec![0u8; 128]),
        QoS::AtLeastOnce,
        false,
    ))
}

fn clientinfo() -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        node: NodeName::new("bench@127.0.0.1"),
        clientid: ByteString::from("publisher-1"),
        username: Some(ByteString::from("device")),
        password: None,
        peer: "127.0.0.1:50000".parse().expect("addr"),
        sockport: 1883,
        protocol: Protocol::V3_1_1,
        mountpoint: None,
        is_superuser: false,
        anonymous: true,
        cn: None,
        dn: None,
        grant: None,
    })
}

fn with_noop(points: &[HookPoint]) -> Hooks {
    let hooks = Hooks::new();
    let spec = HandlerSpec::new(
        "noop",
        "native",
        points.iter().map(|p| PointSpec::all(*p)).collect(),
    );
    hooks
        .register(spec, handler_fn(|_| Verdict::Ignore))
        .expect("register");
    hooks
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let msg = message();
    let ci = clientinfo();
    let topic = ByteString::from("sensors/7/temperature");
    let empty = Hooks::new();
    let _guard = rt.enter();
    let one = with_noop(&[HookPoint::MessagePublish, HookPoint::ClientAuthorize]);
    let mut g = c.benchmark_group("hook_chain");
    g.bench_function("message_publish/no_handler_has", |b| {
        b.iter(|| black_box(empty.has(black_box(HookPoint::MessagePublish))))
    });
    g.bench_function("message_publish/one_native_handler", |b| {
        b.iter(|| {
            let m = msg.clone();
            rt.block_on(async {
                if one.has(HookPoint::MessagePublish) {
                    black_box(one.publish(m).await);
                }
            })
        })
    });
    g.bench_function("client_authorize/no_handler_has", |b| {
        b.iter(|| black_box(empty.has(black_box(HookPoint::ClientAuthorize))))
    });
    g.bench_function("client_authorize/one_native_handler", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(one.authorize(&ci, Action::Publish, &topic, true).await)
            })
        })
    });
    // The executor's own share of the two rows above.
    g.bench_function("block_on_empty_future", |b| {
        b.iter(|| rt.block_on(async { black_box(1) }))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
