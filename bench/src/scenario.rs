//! The pub/sub scenarios, named after EMQ's open MQTT benchmark: `p2p` (N publishers → N
//! subscribers, one topic each), `fanout` (P publishers → S subscribers on one topic) and
//! `sharedsub` (P publishers → S subscribers in one `$share/perf/...` group). [`run`] connects
//! everyone, runs warm-up then the measurement window, drains, and merges what every
//! subscriber saw into a [`LoadResult`]. Called by `main` once per target and round.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hookmq_codec::{Protocol, QoS};
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::client::ConnectOptions;
use crate::procfs::{self, ProcSample};
use crate::stats::{Clock, Integrity, Latency, SeqSet, SubStats, latency_histogram};
use crate::target::Endpoints;
use crate::{publisher, subscriber};

/// Which pub/sub pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// N publishers → N subscribers, one topic per pair.
    P2p,
    /// P publishers → S subscribers, all on one topic.
    Fanout,
    /// P publishers → S subscribers sharing `$share/perf/bench/shared/+`.
    Sharedsub,
    /// The IoT shape: P devices, each publishing to its own topic `bench/iot/<i>` (at a slow
    /// fixed rate), and S subscribers on the wildcard `bench/iot/+` that each get everything.
    Iot,
}

/// Everything that defines one pub/sub run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSpec {
    /// Pattern.
    pub shape: Shape,
    /// Publishers.
    pub publishers: usize,
    /// Subscribers (equal to publishers for p2p).
    pub subscribers: usize,
    /// QoS of publishes and subscriptions.
    #[serde(serialize_with = "qos_number")]
    pub qos: QoS,
    /// Payload bytes (at least the 16-byte stamp).
    pub payload: usize,
    /// Messages per second per publisher; 0 means as fast as the windows allow.
    pub rate: f64,
    /// End-to-end window per publisher: messages sent and not yet received by every subscriber
    /// that should get them (0: no window).
    pub window: u64,
    /// QoS 1/2 messages awaiting acknowledgement per publisher.
    pub inflight: usize,
    /// Protocol level.
    #[serde(serialize_with = "protocol_level")]
    pub protocol: Protocol,
    /// Warm-up before the window.
    pub warmup: Duration,
    /// Measurement window.
    pub duration: Duration,
    /// Longest wait for the last messages after the window.
    pub drain: Duration,
    /// Time allowed to connect and subscribe everyone.
    pub setup_timeout: Duration,
    /// Publishers write each packet with its own system call instead of pipelining a batch:
    /// the load of many devices sending now and then, not of one fast producer.
    pub one_per_write: bool,
    /// Messages per second each subscriber reads at most (0: as fast as they come): slow
    /// consumers, for the open-loop overload row.
    pub sub_rate: f64,
    /// Connect over TLS.
    #[serde(serialize_with = "crate::tls::is_on")]
    pub tls: Option<crate::tls::ClientTls>,
}

fn qos_number<S: serde::Serializer>(q: &QoS, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(q.as_u8())
}

fn protocol_level<S: serde::Serializer>(p: &Protocol, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(p.level())
}

impl LoadSpec {
    /// The mqttbs-style name, e.g. `p2p-50-50`.
    pub fn name(&self) -> String {
        let shape = match self.shape {
            Shape::P2p => "p2p",
            Shape::Fanout => "fanout",
            Shape::Sharedsub => "sharedsub",
            Shape::Iot => "iot",
        };
        format!("{shape}-{}-{}", self.publishers, self.subscribers)
    }
}

/// The broker process's use of CPU and memory during the window.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct BrokerUsage {
    /// CPU seconds (user + system) used inside the window.
    pub cpu_s: f64,
    /// CPU use over the window, percent of one core.
    pub cpu_pct: f64,
    /// CPU microseconds per message delivered.
    pub cpu_us_per_msg_out: f64,
    /// Peak resident memory of the broker process, KiB.
    pub peak_rss_kb: u64,
}

/// The outcome of one pub/sub run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// Scenario name.
    pub scenario: String,
    /// The parameters.
    pub spec: LoadSpec,
    /// Messages published in the window.
    pub sent_in_window: u64,
    /// Messages published in all.
    pub sent_total: u64,
    /// Messages published per second in the window.
    pub msgs_in_per_s: f64,
    /// Messages received per second in the window (all subscribers).
    pub msgs_out_per_s: f64,
    /// End-to-end latency of messages sent in the window.
    pub latency: Latency,
    /// Lost and duplicated messages over the whole run.
    pub integrity: Integrity,
    /// Times a publisher's end-to-end window gave up on dropped messages.
    pub window_stalls: u64,
    /// Broker CPU and memory, when the broker's pid is known.
    pub broker: Option<BrokerUsage>,
    /// sharedsub: the largest member's share of the messages over the smallest's (1.0 is a
    /// perfect balance).
    pub share_max_min: Option<f64>,
    /// CPU use of this load generator over the window, percent of one core (near 100 per
    /// generator thread means the generator, not the broker, set the pace).
    pub generator_cpu_pct: f64,
    /// Receipts over the whole run out of those every published message should have produced
    /// (1.0: nothing lost).
    pub delivered_fraction: f64,
}

/// What publishers and subscribers share during a run.
pub struct RunState {
    /// The parameters.
    pub spec: LoadSpec,
    /// The shared clock; t = 0 when publishing starts.
    pub clock: Clock,
    /// Start of the window (end of warm-up), ns.
    pub warm_ns: u64,
    /// End of the window, ns.
    pub end_ns: u64,
    /// Publishers.
    pub publishers: usize,
    /// Receipts each message should produce (1, or S for fanout).
    pub receipts_per_message: u64,
    /// Receipts per publisher so far.
    pub delivered: Vec<AtomicU64>,
    /// Wakes a publisher waiting on its end-to-end window.
    pub wake: Vec<Notify>,
    /// A publisher whose window makes no progress for this long gives up on those messages.
    pub stall_ns: u64,
    /// Set to true to end the subscribers.
    pub stop: watch::Sender<bool>,
}

/// Runs `spec` against the broker (or cluster) at `ep`; its pids give the CPU and memory
/// figures.
pub async fn run(ep: &Endpoints, spec: &LoadSpec) -> Result<LoadResult> {
    if spec.payload < crate::stats::STAMP_LEN {
        bail!("payload must be at least {} bytes", crate::stats::STAMP_LEN);
    }
    let (pubs, subs) = match spec.shape {
        Shape::P2p => (spec.publishers, spec.publishers),
        _ => (spec.publishers, spec.subscribers),
    };
    let run_id = std::process::id();
    let connect = |addr: SocketAddr, name: String| ConnectOptions {
        addr,
        client_id: name,
        protocol: spec.protocol,
        keep_alive: 300,
        timeout: spec.setup_timeout,
        tls: spec.tls.clone(),
    };
    let sub_filter = |i: usize| match spec.shape {
        Shape::P2p => format!("bench/p2p/{i}"),
        Shape::Fanout => "bench/fanout".to_owned(),
        Shape::Sharedsub => "$share/perf/bench/shared/+".to_owned(),
        Shape::Iot => "bench/iot/+".to_owned(),
    };
    let pub_topic = |i: usize| match spec.shape {
        Shape::P2p => format!("bench/p2p/{i}"),
        Shape::Fanout => "bench/fanout".to_owned(),
        Shape::Sharedsub => format!("bench/shared/{i}"),
        Shape::Iot => format!("bench/iot/{i}"),
    };
    let setup = async {
        let mut subscribers = crate::client::connect_many(
            (0..subs)
                .map(|i| {
                    let spread = spec.shape == Shape::Sharedsub;
                    connect(ep.subscriber(i, spread), format!("bs-{run_id}-{i}"))
                })
                .collect(),
        )
        .await?;
        for (i, c) in subscribers.iter_mut().enumerate() {
            c.subscribe(&sub_filter(i), spec.qos, spec.setup_timeout)
                .await
                .with_context(|| format!("subscriber {i}"))?;
        }
        let publishers = crate::client::connect_many(
            (0..pubs)
                .map(|i| connect(ep.publisher(i), format!("bp-{run_id}-{i}")))
                .collect(),
        )
        .await?;
        anyhow::Ok((subscribers, publishers))
    };
    let (subscribers, publishers) = tokio::time::timeout(spec.setup_timeout, setup)
        .await
        .context("connecting the clients timed out")??;

    let clock = Clock::start();
    let warm_ns = spec.warmup.as_nanos() as u64;
    let end_ns = warm_ns + spec.duration.as_nanos() as u64;
    let (stop, _) = watch::channel(false);
    let state = Arc::new(RunState {
        spec: spec.clone(),
        clock,
        warm_ns,
        end_ns,
        publishers: pubs,
        receipts_per_message: if matches!(spec.shape, Shape::Fanout | Shape::Iot) {
            subs as u64
        } else {
            1
        },
        delivered: (0..pubs).map(|_| AtomicU64::new(0)).collect(),
        wake: (0..pubs).map(|_| Notify::new()).collect(),
        stall_ns: 500_000_000,
        stop,
    });
    let mut sub_tasks = JoinSet::new();
    for (i, c) in subscribers.into_iter().enumerate() {
        let state = state.clone();
        sub_tasks.spawn(async move { subscriber::run(c, state).await.map(|s| (i, s)) });
    }
    let mut pub_tasks = JoinSet::new();
    for (i, c) in publishers.into_iter().enumerate() {
        let run = publisher::run(c, i as u32, pub_topic(i), state.clone());
        pub_tasks.spawn(async move { run.await.map(|s| (i, s)) });
    }

    // Broker usage over the window.
    tokio::time::sleep_until(clock.at(warm_ns)).await;
    let me = [std::process::id()];
    let (before, gen_before) = (procfs::sample_sum(&ep.pids), procfs::sample_sum(&me));
    tokio::time::sleep_until(clock.at(end_ns)).await;
    let (after, gen_after) = (procfs::sample_sum(&ep.pids), procfs::sample_sum(&me));

    // Publishers end at the window's end plus their bounded drain.
    let limit = spec.drain + Duration::from_secs(5);
    let mut sent = vec![0u64; pubs];
    let (mut sent_in_window, mut stalls) = (0, 0);
    let pub_stats = join_all(&mut pub_tasks, limit).await?;
    for (i, p) in pub_stats {
        sent[i] = p.sent;
        sent_in_window += p.sent_in_window;
        stalls += p.stalls;
    }
    let sent_total: u64 = sent.iter().sum();
    // Wait (bounded) until every expected receipt arrived, then stop the subscribers.
    let expected = sent_total * state.receipts_per_message;
    let drain_end = tokio::time::Instant::now() + spec.drain;
    while tokio::time::Instant::now() < drain_end {
        let got: u64 = state
            .delivered
            .iter()
            .map(|d| d.load(std::sync::atomic::Ordering::Relaxed))
            .sum();
        if got >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = state.stop.send(true);
    let sub_stats: Vec<SubStats> = join_all(&mut sub_tasks, Duration::from_secs(10))
        .await?
        .into_iter()
        .map(|(_, s)| s)
        .collect();

    let integrity = tally(spec.shape, &sent, &sub_stats);
    let delivered_fraction = if expected == 0 {
        1.0
    } else {
        expected.saturating_sub(integrity.lost) as f64 / expected as f64
    };
    let share_max_min = (spec.shape == Shape::Sharedsub)
        .then(|| share_balance(&sub_stats))
        .flatten();
    let mut hist = latency_histogram()?;
    let mut received_in_window = 0;
    for s in &sub_stats {
        hist.add(&s.latency).ok();
        received_in_window += s.received_in_window;
    }
    let secs = spec.duration.as_secs_f64();
    let out_rate = received_in_window as f64 / secs;
    Ok(LoadResult {
        scenario: spec.name(),
        spec: spec.clone(),
        sent_in_window,
        sent_total,
        msgs_in_per_s: sent_in_window as f64 / secs,
        msgs_out_per_s: out_rate,
        latency: Latency::of(&hist),
        integrity,
        window_stalls: stalls,
        broker: usage(before, after, secs, out_rate, &ep.pids),
        share_max_min,
        generator_cpu_pct: match (gen_before, gen_after) {
            (Some(b), Some(a)) => 100.0 * (a.cpu_s - b.cpu_s) / secs,
            _ => 0.0,
        },
        delivered_fraction,
    })
}

fn usage(
    before: Option<ProcSample>,
    after: Option<ProcSample>,
    secs: f64,
    out_rate: f64,
    pids: &[u32],
) -> Option<BrokerUsage> {
    let (b, a) = (before?, after?);
    let cpu_s = a.cpu_s - b.cpu_s;
    let peak = procfs::sample_sum(pids).map_or(a.hwm_kb, |s| s.hwm_kb);
    Some(BrokerUsage {
        cpu_s,
        cpu_pct: 100.0 * cpu_s / secs,
        cpu_us_per_msg_out: if out_rate > 0.0 {
            1e6 * cpu_s / (out_rate * secs)
        } else {
            0.0
        },
        peak_rss_kb: peak,
    })
}

/// Joins every task within `limit`, in the order of their indices; a task that fails fails the
/// run, one that hangs is aborted.
async fn join_all<T: 'static>(
    tasks: &mut JoinSet<Result<(usize, T)>>,
    limit: Duration,
) -> Result<Vec<(usize, T)>> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(joined)) => out.push(joined.context("client task panicked")??),
            Ok(None) => break,
            Err(_) => {
                tasks.abort_all();
                bail!("{} client tasks did not finish in time", tasks.len());
            }
        }
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
}

/// The most and least messages any group member received, as a ratio (None if a member got
/// nothing, or there is a single member).
fn share_balance(subs: &[SubStats]) -> Option<f64> {
    let shares: Vec<u64> = subs
        .iter()
        .map(|s| s.seen.iter().map(SeqSet::count).sum())
        .collect();
    let (max, min) = (*shares.iter().max()?, *shares.iter().min()?);
    (shares.len() > 1 && min > 0).then(|| max as f64 / min as f64)
}

/// Lost and duplicated messages: in p2p each message must reach its one subscriber, in fanout
/// every subscriber, in sharedsub exactly one member of the group.
fn tally(shape: Shape, sent: &[u64], subs: &[SubStats]) -> Integrity {
    let mut lost = 0;
    let mut duplicated: u64 = subs.iter().map(|s| s.duplicates).sum();
    let malformed = subs.iter().map(|s| s.malformed).sum();
    match shape {
        Shape::P2p => {
            for (i, s) in subs.iter().enumerate() {
                lost += sent[i].saturating_sub(s.seen[i].count());
            }
        }
        Shape::Fanout | Shape::Iot => {
            for s in subs {
                for (p, n) in sent.iter().enumerate() {
                    lost += n.saturating_sub(s.seen[p].count());
                }
            }
        }
        Shape::Sharedsub => {
            for (p, n) in sent.iter().enumerate() {
                let mut union = SeqSet::default();
                let mut sum = 0;
                for s in subs {
                    union.union_with(&s.seen[p]);
                    sum += s.seen[p].count();
                }
                lost += n.saturating_sub(union.count());
                duplicated += sum - union.count();
            }
        }
    }
    Integrity {
        lost,
        duplicated,
        malformed,
    }
}
