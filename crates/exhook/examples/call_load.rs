//! Load on one gRPC exhook server through the broker's own path, without MQTT: an
//! [`ExhookManager`] registers the server in a [`Hooks`] registry, then `clients` tasks each run
//! `message.publish` on a fresh 128-byte message in a loop (one call at a time per client, as a
//! publishing connection does). Prints calls per second and this process's CPU time per call
//! (utime + stime from `/proc/self/stat`), i.e. the broker's side of each call only, since the
//! server is another process (`examples/noop_server.rs` or `bench/exhook_noop_server.py`).
//!
//! ```text
//! taskset -c 0 target/release/examples/noop_server 127.0.0.1:9100 &
//! taskset -c 1 target/release/examples/call_load --url http://127.0.0.1:9100 \
//!     [--clients 50] [--seconds 3] [--warmup 1] [--threads 1] [--pool-size 8] [--payload 128]
//! ```

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hookmq_codec::{Protocol, QoS, TopicName};
use hookmq_exhook::{BrokerInfo, ExhookManager, ServerConfig};
use hookmq_hooks::{Hooks, Message, MessageHeaders, PublishOutcome};

struct Args {
    url: String,
    clients: usize,
    seconds: f64,
    warmup: f64,
    threads: usize,
    pool_size: usize,
    payload: usize,
}

fn args() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        url: "http://127.0.0.1:9100".into(),
        clients: 50,
        seconds: 3.0,
        warmup: 1.0,
        threads: 1,
        pool_size: 8,
        payload: 128,
    };
    let mut it = std::env::args().skip(1);
    while let Some(key) = it.next() {
        let value = it.next().ok_or_else(|| format!("{key} needs a value"))?;
        match key.as_str() {
            "--url" => a.url = value,
            "--clients" => a.clients = value.parse()?,
            "--seconds" => a.seconds = value.parse()?,
            "--warmup" => a.warmup = value.parse()?,
            "--threads" => a.threads = value.parse()?,
            "--pool-size" => a.pool_size = value.parse()?,
            "--payload" => a.payload = value.parse()?,
            _ => return Err(format!("unknown option {key}").into()),
        }
    }
    Ok(a)
}

/// utime + stime of this process, in clock ticks (100 per second on Linux).
fn cpu_ticks() -> Result<u64, Box<dyn Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = stat.rsplit_once(')').ok_or("bad /proc/self/stat")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted after the command name (field 2).
    let utime: u64 = f.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = f.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

fn message(client: &str, topic: &TopicName, payload: &Bytes) -> Arc<Message> {
    let mut m = Message::new(
        client.into(),
        topic.clone(),
        payload.clone(),
        QoS::AtLeastOnce,
        false,
    );
    m.headers = MessageHeaders {
        username: None,
        peerhost: Some([127, 0, 0, 1].into()),
        protocol: Some(Protocol::V3_1_1),
        hops: 0,
    };
    Arc::new(m)
}

async fn run(a: Args) -> Result<(), Box<dyn Error>> {
    let hooks = Arc::new(Hooks::new());
    let mut config = ServerConfig::new("load", a.url.clone());
    config.pool_size = a.pool_size;
    let info = BrokerInfo {
        node: "hookmq@127.0.0.1".into(),
        version: "0.1.0".into(),
        sysdescr: "hookmq".into(),
        started_at: SystemTime::now(),
        cluster_name: "hookmq".into(),
    };
    let manager = ExhookManager::start(vec![config], hooks.clone(), info).await?;
    if !hooks.has(hookmq_hooks::HookPoint::MessagePublish) {
        return Err(format!("the server at {} registered no message.publish", a.url).into());
    }
    let calls = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let payload = Bytes::from(vec![b'x'; a.payload]);
    let tasks: Vec<_> = (0..a.clients)
        .map(|i| {
            let (hooks, calls, dropped, stop) =
                (hooks.clone(), calls.clone(), dropped.clone(), stop.clone());
            let client = format!("bench-pub-{i}");
            let topic = TopicName::new(format!("bench/p2p/{i}"))?;
            let payload = payload.clone();
            Ok(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let m = message(&client, &topic, &payload);
                    if let PublishOutcome::Drop { .. } = hooks.publish(m).await {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            }))
        })
        .collect::<Result<_, Box<dyn Error>>>()?;
    tokio::time::sleep(Duration::from_secs_f64(a.warmup)).await;
    let (c0, d0, t0, at) = (
        calls.load(Ordering::Relaxed),
        dropped.load(Ordering::Relaxed),
        cpu_ticks()?,
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(a.seconds)).await;
    let (c1, d1, t1, took) = (
        calls.load(Ordering::Relaxed),
        dropped.load(Ordering::Relaxed),
        cpu_ticks()?,
        at.elapsed(),
    );
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    manager.stop().await;
    let n = (c1 - c0).max(1);
    let cpu_us = (t1 - t0) as f64 * 10_000.0;
    eprintln!(
        "clients={} pool_size={} calls/s={:.0} cpu_us/call={:.2} cpu%={:.0} failed={}",
        a.clients,
        a.pool_size,
        n as f64 / took.as_secs_f64(),
        cpu_us / n as f64,
        cpu_us / took.as_secs_f64() / 10_000.0,
        d1 - d0
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let a = args()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()?
        .block_on(run(a))
}
