//! "Zero cost when nothing is registered", measured with a counting global allocator:
//! `Hooks::has` never allocates, and a publish through the broker's real path (`Broker::publish`
//! → `message.publish` check → router → the subscriber's session queue) allocates the same with
//! no `message.publish` handler as the routing alone needs, while one no-op native handler adds
//! its event's allocations. Neither copies the message: it travels as one `Arc`. The hook
//! trace is free while off (`Tracer::on` is one load, no allocation) and a running trace that
//! selects another client adds nothing either. Run by `bench/run.sh`
//! (`cargo bench --bench zero_cost`); exits non-zero if `has` or `Tracer::on` allocates.

#![allow(missing_docs, clippy::expect_used, clippy::print_stdout)]

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_bench::client::{Client, ConnectOptions, Step};
use hookmq_broker::{Broker, BrokerConfig};
use hookmq_codec::{Protocol, QoS, TopicName};
use hookmq_hooks::trace::{TraceFilter, TraceSpec};
use hookmq_hooks::{HandlerSpec, HookPoint, Hooks, Message, PointSpec, Verdict, handler_fn};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const PUBLISHES: usize = 20_000;

/// Allocations and bytes per publish through `Broker::publish` to one QoS 0 subscriber.
async fn per_publish(hooks: Arc<Hooks>) -> (f64, f64) {
    let mut cfg = BrokerConfig::default();
    cfg.sys.enable = false;
    for l in cfg.listeners.tcp.values_mut() {
        l.bind = Some("127.0.0.1:0".parse().expect("addr"));
    }
    let broker = Broker::new(cfg, hooks).expect("broker");
    let running = broker.start().await.expect("start");
    let addr = running.listeners[0].local_addr;
    let mut sub = Client::connect(&ConnectOptions {
        addr,
        client_id: "zero-cost-sub".into(),
        protocol: Protocol::V3_1_1,
        keep_alive: 0,
        timeout: Duration::from_secs(5),
        tls: None,
    })
    .await
    .expect("connect");
    sub.subscribe("bench/zero", QoS::AtMostOnce, Duration::from_secs(5))
        .await
        .expect("subscribe");
    // The subscriber drains in its own task so the session queue never fills.
    let drain = tokio::spawn(async move {
        while let Ok(Step::Read) = sub.step(std::future::pending()).await {
            while let Ok(Some(_)) = sub.next_packet() {}
        }
    });
    let topic = TopicName::new("bench/zero").expect("topic");
    let payload = Bytes::from(vec![7u8; 128]);
    let from = ByteString::from("zero-cost-pub");
    let (mut allocs, mut bytes) = (0usize, 0usize);
    for i in 0..PUBLISHES + 1000 {
        let message = Message::new(
            from.clone(),
            topic.clone(),
            payload.clone(),
            QoS::AtMostOnce,
            false,
        );
        let region = Region::new(GLOBAL);
        let reached = broker.publish(message).await;
        let stats = region.change();
        assert_eq!(reached, Some(1));
        // The first 1000 publishes warm up queues and caches.
        if i >= 1000 {
            allocs += stats.allocations + stats.reallocations;
            bytes += stats.bytes_allocated;
        }
        if i % 64 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    drain.abort();
    broker.stop(Duration::from_secs(1)).await;
    (
        allocs as f64 / PUBLISHES as f64,
        bytes as f64 / PUBLISHES as f64,
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let empty = Hooks::new();
    // The first load on a thread sets up arc-swap's per-thread state once; not per call.
    assert!(!empty.has(HookPoint::MessagePublish));
    let region = Region::new(GLOBAL);
    let mut n = 0u32;
    for _ in 0..1_000_000 {
        n += u32::from(std::hint::black_box(empty.has(HookPoint::MessagePublish)));
    }
    let has_allocs = region.change().allocations;
    assert_eq!(n, 0);
    let region = Region::new(GLOBAL);
    for _ in 0..1_000_000 {
        n += u32::from(std::hint::black_box(empty.tracer().on()));
    }
    let trace_off_allocs = region.change().allocations;
    assert_eq!(n, 0);

    let (none_allocs, none_bytes) = rt.block_on(per_publish(Arc::new(Hooks::new())));
    let _guard = rt.enter();
    let one = Hooks::new();
    one.register(
        HandlerSpec::new(
            "noop",
            "native",
            vec![PointSpec::all(HookPoint::MessagePublish)],
        ),
        handler_fn(|_| Verdict::Ignore),
    )
    .expect("register");
    let one = Arc::new(one);
    let (one_allocs, one_bytes) = rt.block_on(per_publish(one.clone()));
    // The same handler while a trace runs that selects another client only.
    let spec = TraceSpec {
        filter: TraceFilter {
            clientid: Some("somebody-else".into()),
            ..TraceFilter::all()
        },
        max_rate: 1000,
        duration: Duration::from_secs(3600),
    };
    one.tracer().start(spec).expect("trace");
    let (other_allocs, other_bytes) = rt.block_on(per_publish(one));

    println!("| path | allocations per call | bytes allocated per call |");
    println!("|---|---:|---:|");
    println!(
        "| `Hooks::has(message.publish)`, nothing registered (10^6 calls) | {} | 0 |",
        has_allocs as f64 / 1e6
    );
    println!(
        "| `Tracer::on()`, no trace running (10^6 calls) | {} | 0 |",
        trace_off_allocs as f64 / 1e6
    );
    println!(
        "| `Broker::publish` → 1 QoS 0 subscriber, no handler | {none_allocs:.2} | {none_bytes:.0} |"
    );
    println!(
        "| `Broker::publish` → 1 QoS 0 subscriber, one no-op native `message.publish` handler | {one_allocs:.2} | {one_bytes:.0} |"
    );
    println!(
        "| the same, while a hook trace selecting another client runs | {other_allocs:.2} | {other_bytes:.0} |"
    );
    println!(
        "\n(`size_of::<Message>()` = {} bytes; a copy of the message would add at least that.)",
        std::mem::size_of::<Message>()
    );
    if has_allocs != 0 || trace_off_allocs != 0 {
        eprintln!("Hooks::has or Tracer::on allocated");
        std::process::exit(1);
    }
}
