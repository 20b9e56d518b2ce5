//! `hookmq-bench`: the load generator behind `docs/performance.md`. It starts each broker under
//! test itself on a free loopback port (hookmq, Debian's mosquitto, or hookmq with a no-op hook
//! in one of its drivers), runs one scenario against each in turn for several rounds, writes
//! every run to a JSON-lines file and prints the medians. `bench/run.sh` calls it.
//!
//! ```text
//! hookmq-bench p2p --targets hookmq,mosquitto --rounds 5 --qos 1
//! hookmq-bench conn --connections 10000 --targets hookmq,mosquitto
//! hookmq-bench p2p --drivers none,python1,python1-single,python-observe,java,grpc,stream-rust --hook publish
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use hookmq_codec::{Protocol, QoS};

use hookmq_bench::conn::{self, ConnSpec};
use hookmq_bench::report::{self, Measured, Record};
use hookmq_bench::scenario::{self, LoadSpec, Shape};
use hookmq_bench::target::{Endpoints, Launcher, TargetKind, Variant};
use hookmq_bench::variant::{Driver, HookFiles, HookOn};

/// Which scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ScenarioArg {
    /// N publishers → N subscribers, one topic each.
    P2p,
    /// P publishers → S subscribers on one topic.
    Fanout,
    /// P publishers → S subscribers in one shared-subscription group.
    Sharedsub,
    /// P devices on their own topics → S wildcard subscribers (use with --rate 1).
    Iot,
    /// N idle connections: connection rate and memory per connection.
    Conn,
}

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "hookmq-bench",
    about = "MQTT load generator: hookmq vs mosquitto, hook drivers"
)]
struct Cli {
    /// Scenario.
    #[arg(value_enum)]
    scenario: ScenarioArg,
    /// Brokers to start and compare (alternating, round by round).
    #[arg(long, value_delimiter = ',', default_value = "hookmq")]
    targets: Vec<TargetKind>,
    /// Hook variants of hookmq to compare (alternating); `none` is the baseline.
    #[arg(long, value_delimiter = ',', default_value = "none")]
    drivers: Vec<Driver>,
    /// Hook point of the no-op hook in the driver variants.
    #[arg(long, value_enum, default_value = "publish")]
    hook: HookOn,
    /// Use an already running broker instead of starting one (loopback only).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Process id of that broker, for CPU and memory figures.
    #[arg(long)]
    pid: Option<u32>,
    /// Rounds per configuration.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Publishers (p2p: pairs).
    #[arg(long, default_value_t = 50)]
    publishers: usize,
    /// Subscribers (fanout, sharedsub).
    #[arg(long, default_value_t = 50)]
    subscribers: usize,
    /// QoS 0, 1 or 2.
    #[arg(long, default_value_t = 0)]
    qos: u8,
    /// Payload size in bytes (16 to 8192 for the report; at least 16).
    #[arg(long, default_value_t = 128)]
    payload: usize,
    /// Messages per second per publisher; 0: as fast as the windows allow.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// End-to-end window per publisher (messages not yet received by all their subscribers).
    #[arg(long, default_value_t = 64)]
    window: u64,
    /// QoS 1/2 messages awaiting acknowledgement per publisher.
    #[arg(long, default_value_t = 32)]
    inflight: usize,
    /// Protocol level, 4 (3.1.1) or 5.
    #[arg(long, default_value_t = 4)]
    protocol: u8,
    /// Warm-up seconds before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Measurement window, seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Longest wait for the last messages after the window, seconds.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Publishers write one packet per system call (no pipelining).
    #[arg(long)]
    one_per_write: bool,
    /// Messages per second each subscriber reads at most (0: no limit): slow consumers for
    /// an open-loop overload (with --rate and --window 0).
    #[arg(long, default_value_t = 0.0)]
    sub_rate: f64,
    /// MQTT over TLS (a self-signed P-256 certificate made with `openssl`) for both brokers.
    #[arg(long)]
    tls: bool,
    /// conn: connections.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// conn: connections started per second (0: as fast as --concurrency allows).
    #[arg(long, default_value_t = 0.0)]
    conn_rate: f64,
    /// conn: handshakes in progress at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The hookmq binary.
    #[arg(long, env = "HOOKMQ_BIN")]
    hookmq_bin: Option<PathBuf>,
    /// The mosquitto binary.
    #[arg(long, default_value = "mosquitto")]
    mosquitto_bin: PathBuf,
    /// hookmq nodes of the `cluster` target (publishers on the first, subscribers on the others).
    #[arg(long, default_value_t = 3)]
    cluster_nodes: usize,
    /// The NATS server of the `cluster` target.
    #[arg(long, default_value = "nats-server")]
    nats_bin: PathBuf,
    /// CPUs for the broker (`taskset -c` list); empty: not pinned.
    #[arg(long, default_value = "")]
    broker_cpus: String,
    /// CPUs for a helper process (a gRPC hook server); empty: not pinned. `--helper-cpus 1` with
    /// `--broker-cpus 1` puts the extension on the broker's core.
    #[arg(long, default_value = "")]
    helper_cpus: String,
    /// CPUs for hookmq's port workers (`taskset -c` list), set once the broker listens; empty:
    /// they share the broker's.
    #[arg(long, default_value = "")]
    worker_cpus: String,
    /// Messages in flight per client in both brokers.
    #[arg(long, default_value_t = 32)]
    max_inflight: u32,
    /// Messages queued per client in both brokers.
    #[arg(long, default_value_t = 1000)]
    max_queue: u32,
    /// Python with grpcio, for the gRPC hook server (default: the repository's .venv).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Raw results (JSON lines, appended).
    #[arg(long, default_value = "bench/results/runs.jsonl")]
    out: PathBuf,
    /// Also append the Markdown summary to this file.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Title of the summary table (default: the scenario's name and parameters).
    #[arg(long)]
    title: Option<String>,
    /// Worker threads of the generator's runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()?
        .block_on(run(cli))
}

/// The repository root: the parent of this package's directory.
fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

async fn run(cli: Cli) -> Result<()> {
    let repo = repo_root();
    let qos = QoS::from_u8(cli.qos).context("--qos must be 0, 1 or 2")?;
    let protocol = match cli.protocol {
        4 => Protocol::V3_1_1,
        5 => Protocol::V5,
        _ => bail!("--protocol must be 4 or 5"),
    };
    let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
    let work_dir = cli
        .out
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join("work");
    let (server_tls, client_tls) = if cli.tls {
        let (server, client) = hookmq_bench::tls::generate(&work_dir.join("tls"))?;
        (Some(server), Some(client))
    } else {
        (None, None)
    };
    let load = |shape| LoadSpec {
        shape,
        publishers: cli.publishers,
        subscribers: if shape == Shape::P2p {
            cli.publishers
        } else {
            cli.subscribers
        },
        qos,
        payload: cli.payload,
        rate: cli.rate,
        window: cli.window,
        inflight: cli.inflight,
        protocol,
        warmup: secs(cli.warmup),
        duration: secs(cli.duration),
        drain: secs(cli.drain),
        setup_timeout: Duration::from_secs(60),
        one_per_write: cli.one_per_write,
        sub_rate: cli.sub_rate,
        tls: client_tls.clone(),
    };
    let job = match cli.scenario {
        ScenarioArg::P2p => Job::Load(load(Shape::P2p)),
        ScenarioArg::Fanout => Job::Load(load(Shape::Fanout)),
        ScenarioArg::Sharedsub => Job::Load(load(Shape::Sharedsub)),
        ScenarioArg::Iot => Job::Load(load(Shape::Iot)),
        ScenarioArg::Conn => Job::Conn(ConnSpec {
            connections: cli.connections,
            rate: cli.conn_rate,
            concurrency: cli.concurrency,
            protocol,
            settle: Duration::from_secs(2),
            timeout: Duration::from_secs(120),
            tls: client_tls.clone(),
        }),
    };
    let title = cli.title.clone().unwrap_or_else(|| job.title(&cli));
    let hookmq_bin = cli.hookmq_bin.clone().unwrap_or_else(|| {
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo.join("target"), PathBuf::from);
        target.join("release").join("hookmq")
    });
    let launcher = Launcher {
        hookmq_bin,
        mosquitto_bin: cli.mosquitto_bin.clone(),
        broker_cpus: cli.broker_cpus.clone(),
        helper_cpus: cli.helper_cpus.clone(),
        work_dir,
        max_inflight: cli.max_inflight,
        max_queue: cli.max_queue,
        cluster_nodes: cli.cluster_nodes,
        nats_bin: cli.nats_bin.clone(),
        worker_cpus: cli.worker_cpus.clone(),
        tls: server_tls,
    };
    let files = HookFiles {
        python: cli.python.clone().unwrap_or_else(|| {
            let venv = repo.join(".venv/bin/python3");
            if venv.exists() {
                venv
            } else {
                PathBuf::from("python3")
            }
        }),
        repo: repo.clone(),
    };

    // Configurations: (target, driver); hook drivers apply to hookmq only.
    let mut configs: Vec<(TargetKind, Driver)> = Vec::new();
    for &t in &cli.targets {
        for &d in &cli.drivers {
            if t != TargetKind::Mosquitto || d == Driver::None {
                if let Err(e) = files.check(d, cli.hook) {
                    eprintln!("skipping {}: {e:#}", d.name());
                    continue;
                }
                configs.push((t, d));
            }
        }
    }
    if cli.addr.is_some() {
        configs = vec![(TargetKind::Hookmq, Driver::None)];
    }
    if configs.is_empty() {
        bail!("nothing to run");
    }
    let mut records = Vec::new();
    for round in 1..=cli.rounds.max(1) {
        // Alternate the order every round so drift and noise hit every configuration alike.
        let mut order = configs.clone();
        if round % 2 == 0 {
            order.reverse();
        }
        for (kind, driver) in order {
            let variant = if driver == Driver::None {
                Variant {
                    name: "none".into(),
                    ..Default::default()
                }
            } else {
                files.variant(driver, cli.hook)
            };
            let tag = format!("{}-{}-r{round}", kind.name(), driver.name());
            let (target_name, measured) = match cli.addr {
                Some(addr) => (
                    "external".to_owned(),
                    job.run(&Endpoints::single(addr, cli.pid)).await,
                ),
                None => {
                    let broker = launcher.start(kind, &variant, &tag).await?;
                    let m = job.run(&broker.endpoints).await;
                    broker.stop().await;
                    (kind.name().to_owned(), m)
                }
            };
            let measured = measured.with_context(|| format!("{title}: {tag}"))?;
            let record = Record {
                target: target_name,
                driver: driver.name().to_owned(),
                hook: (driver != Driver::None).then(|| cli.hook.point().to_owned()),
                round,
                unix_time: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                loadavg_1m: report::loadavg(),
                result: measured,
            };
            eprintln!("{}", one_line(&record));
            report::append(&cli.out, &record)?;
            records.push(record);
        }
    }
    let text = report::summary(&title, &records);
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    if let Some(path) = &cli.summary {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// A scenario ready to run against any address.
enum Job {
    Load(LoadSpec),
    Conn(ConnSpec),
}

impl Job {
    async fn run(&self, ep: &Endpoints) -> Result<Measured> {
        Ok(match self {
            Job::Load(spec) => Measured::Load(scenario::run(ep, spec).await?),
            // Connections go to the first node; its process is the one measured.
            Job::Conn(spec) => {
                Measured::Conn(conn::run(ep.any(0), spec, ep.pids.first().copied()).await?)
            }
        })
    }

    fn title(&self, cli: &Cli) -> String {
        match self {
            Job::Load(s) => {
                let rate = if s.rate > 0.0 {
                    format!("{} msg/s per publisher", s.rate)
                } else {
                    format!("unlimited rate, end-to-end window {}", s.window)
                };
                let mut hook = if cli.drivers.iter().any(|d| d.is_hook()) {
                    format!(", no-op {} hook", cli.hook.point())
                } else {
                    String::new()
                };
                if s.one_per_write {
                    hook.push_str(", one packet per write");
                }
                if s.sub_rate > 0.0 {
                    hook.push_str(&format!(", subscribers read {} msg/s each", s.sub_rate));
                }
                if s.tls.is_some() {
                    hook.push_str(", TLS");
                }
                if !cli.worker_cpus.is_empty() {
                    hook.push_str(&format!(", hook workers on CPU {}", cli.worker_cpus));
                }
                format!(
                    "{} QoS {}, {} B, MQTT {}, {rate}{hook}",
                    s.name(),
                    s.qos.as_u8(),
                    s.payload,
                    if s.protocol.is_v5() { "5" } else { "3.1.1" }
                )
            }
            Job::Conn(s) => {
                let hook = if cli.drivers.iter().any(|d| d.is_hook()) {
                    format!(", no-op {} hook", cli.hook.point())
                } else {
                    String::new()
                };
                let tls = if s.tls.is_some() { ", TLS" } else { "" };
                format!(
                    "conn-{} (concurrency {}){hook}{tls}",
                    s.connections, s.concurrency
                )
            }
        }
    }
}

fn one_line(r: &Record) -> String {
    match &r.result {
        Measured::Load(l) => format!(
            "[{} r{}] {}: in {:.0}/s out {:.0}/s p50 {:.2} ms p99 {:.2} ms lost {} dup {} cpu {:.0}% gen {:.0}%",
            r.label(),
            r.round,
            l.scenario,
            l.msgs_in_per_s,
            l.msgs_out_per_s,
            l.latency.p50_us as f64 / 1000.0,
            l.latency.p99_us as f64 / 1000.0,
            l.integrity.lost,
            l.integrity.duplicated,
            l.broker.map_or(0.0, |b| b.cpu_pct),
            l.generator_cpu_pct,
        ),
        Measured::Conn(c) => format!(
            "[{} r{}] {}: {:.0} conn/s, p99 {:.2} ms, {:.0} B/conn, failed {}",
            r.label(),
            r.round,
            c.scenario,
            c.conn_per_s,
            c.connect_latency.p99_us as f64 / 1000.0,
            c.bytes_per_conn,
            c.failed
        ),
    }
}
