//! The `conn` scenario: N clients connect at a target rate (or as fast as a bounded number of
//! concurrent handshakes allows), each subscribes to one topic of its own, and all stay idle
//! while the broker's resident memory is read. Reports connections per second, connect latency
//! (TCP connect to CONNACK) and memory per idle connection. Called by `main`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hookmq_codec::{Protocol, QoS};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{Client, ConnectOptions};
use crate::procfs;
use crate::stats::{Latency, latency_histogram};

/// Parameters of a `conn` run.
#[derive(Debug, Clone, Serialize)]
pub struct ConnSpec {
    /// Connections.
    pub connections: usize,
    /// Connections started per second; 0 means as fast as `concurrency` allows.
    pub rate: f64,
    /// Handshakes in progress at once at most.
    pub concurrency: usize,
    /// Protocol level.
    #[serde(serialize_with = "level")]
    pub protocol: Protocol,
    /// Time the idle connections are held before memory is read.
    pub settle: Duration,
    /// Time allowed for the whole connect phase.
    pub timeout: Duration,
    /// Connect over TLS.
    #[serde(serialize_with = "crate::tls::is_on")]
    pub tls: Option<crate::tls::ClientTls>,
}

fn level<S: serde::Serializer>(p: &Protocol, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(p.level())
}

/// Outcome of a `conn` run.
#[derive(Debug, Clone, Serialize)]
pub struct ConnResult {
    /// Scenario name, e.g. `conn-10000-0`.
    pub scenario: String,
    /// Parameters.
    pub spec: ConnSpec,
    /// Connections made.
    pub connected: usize,
    /// Connections that failed.
    pub failed: usize,
    /// First error seen, if any.
    pub first_error: Option<String>,
    /// Connections (with their SUBSCRIBE) completed per second.
    pub conn_per_s: f64,
    /// TCP connect → CONNACK.
    pub connect_latency: Latency,
    /// Broker resident memory before connecting, KiB.
    pub rss_before_kb: u64,
    /// Broker resident memory with every connection idle, KiB.
    pub rss_idle_kb: u64,
    /// (idle − before) / connections, bytes.
    pub bytes_per_conn: f64,
    /// Broker CPU microseconds per connection (connect phase).
    pub cpu_us_per_conn: f64,
}

/// Runs the `conn` scenario against `addr`.
pub async fn run(addr: SocketAddr, spec: &ConnSpec, broker_pid: Option<u32>) -> Result<ConnResult> {
    let before = broker_pid.map(procfs::sample).transpose()?;
    let sem = Arc::new(Semaphore::new(spec.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let run_id = std::process::id();
    for i in 0..spec.connections {
        if spec.rate > 0.0 {
            let at = started + Duration::from_secs_f64(i as f64 / spec.rate);
            tokio::time::sleep_until(at.into()).await;
        }
        let permit = tokio::time::timeout_at(deadline, sem.clone().acquire_owned())
            .await
            .context("connect phase timed out")??;
        let opts = ConnectOptions {
            addr,
            client_id: format!("bc-{run_id}-{i}"),
            protocol: spec.protocol,
            keep_alive: 0,
            timeout: Duration::from_secs(10),
            tls: spec.tls.clone(),
        };
        tasks.spawn(async move {
            let t = Instant::now();
            let mut c = Client::connect(&opts).await?;
            let us = t.elapsed().as_micros() as u64;
            c.subscribe(
                &format!("bench/conn/{i}"),
                QoS::AtMostOnce,
                Duration::from_secs(10),
            )
            .await?;
            drop(permit);
            anyhow::Ok((c, us))
        });
    }
    let mut hist = latency_histogram()?;
    let mut clients = Vec::with_capacity(spec.connections);
    let (mut failed, mut first_error) = (0, None);
    while let Some(joined) = tokio::time::timeout_at(deadline, tasks.join_next())
        .await
        .context("connect phase timed out")?
    {
        match joined.context("connect task panicked")? {
            Ok((c, us)) => {
                let _ = hist.record(us.max(1));
                clients.push(c);
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mid = broker_pid.map(procfs::sample).transpose()?;
    tokio::time::sleep(spec.settle).await;
    let idle = broker_pid.map(procfs::sample).transpose()?;
    let connected = clients.len();
    if connected == 0 {
        bail!(
            "no connection succeeded: {}",
            first_error.unwrap_or_default()
        );
    }
    // Close everyone (bounded); the broker is stopped after this run anyway.
    let mut closing = JoinSet::new();
    for c in clients {
        closing.spawn(c.disconnect());
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while closing.join_next().await.is_some() {}
    })
    .await;
    let (rss_before_kb, rss_idle_kb) = match (before, idle) {
        (Some(b), Some(i)) => (b.rss_kb, i.rss_kb),
        _ => (0, 0),
    };
    let cpu_us_per_conn = match (before, mid) {
        (Some(b), Some(m)) => 1e6 * (m.cpu_s - b.cpu_s) / connected as f64,
        _ => 0.0,
    };
    Ok(ConnResult {
        scenario: format!("conn-{}-{}", spec.connections, spec.rate),
        spec: spec.clone(),
        connected,
        failed,
        first_error,
        conn_per_s: connected as f64 / elapsed,
        connect_latency: Latency::of(&hist),
        rss_before_kb,
        rss_idle_kb,
        bytes_per_conn: 1024.0 * rss_idle_kb.saturating_sub(rss_before_kb) as f64
            / connected as f64,
        cpu_us_per_conn,
    })
}
