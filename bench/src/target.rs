//! Brokers under test, started and stopped by the tool itself on a free loopback port with
//! equivalent settings: hookmq (`hookmq start --config <generated>`: `$SYS` and the API off,
//! logging at warn) and Debian's `mosquitto` (generated config, persistence off). Optionally
//! pinned to CPUs with `taskset`, optionally with a hook variant's extra configuration and
//! helper process (a gRPC server). `main` starts one per target and round.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use tokio::process::{Child, Command};

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// `target/release/hookmq`.
    Hookmq,
    /// Debian's `mosquitto`.
    Mosquitto,
    /// Several hookmq nodes joined by one NATS server (`--cluster-nodes`, default 3):
    /// publishers on the first node, subscribers on the others ([`Endpoints`]).
    Cluster,
}

impl TargetKind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Hookmq => "hookmq",
            TargetKind::Mosquitto => "mosquitto",
            TargetKind::Cluster => "cluster",
        }
    }
}

/// How to start brokers.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The hookmq binary.
    pub hookmq_bin: PathBuf,
    /// The mosquitto binary.
    pub mosquitto_bin: PathBuf,
    /// `taskset -c` list for the broker (empty: not pinned).
    pub broker_cpus: String,
    /// `taskset -c` list for a helper process (empty: not pinned).
    pub helper_cpus: String,
    /// Where configurations and logs go.
    pub work_dir: PathBuf,
    /// QoS 1/2 messages in flight per client (hookmq `mqtt.max_inflight`, mosquitto
    /// `max_inflight_messages`).
    pub max_inflight: u32,
    /// Messages queued per client (hookmq `mqtt.max_queue_len`, mosquitto
    /// `max_queued_messages`).
    pub max_queue: u32,
    /// hookmq nodes of the `cluster` target.
    pub cluster_nodes: usize,
    /// The NATS server of the `cluster` target.
    pub nats_bin: PathBuf,
    /// `taskset -c` list for hookmq's hook worker processes, applied once the broker listens
    /// (empty: they inherit the broker's CPUs).
    pub worker_cpus: String,
    /// Serve MQTT over TLS with this certificate (`--tls`).
    pub tls: Option<crate::tls::ServerFiles>,
}

/// Where the clients of a run connect, and which processes' CPU and memory count as the broker.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// MQTT listeners: one for a single broker, one per node for a cluster.
    pub addrs: Vec<SocketAddr>,
    /// Processes measured as the broker (a cluster's nodes and its NATS server).
    pub pids: Vec<u32>,
}

impl Endpoints {
    /// One broker.
    pub fn single(addr: SocketAddr, pid: Option<u32>) -> Self {
        Endpoints {
            addrs: vec![addr],
            pids: pid.into_iter().collect(),
        }
    }

    /// Where publisher `i` connects: always the first node, so every message crosses to the
    /// subscribers' nodes.
    pub fn publisher(&self, _i: usize) -> SocketAddr {
        self.addrs[0]
    }

    /// Where subscriber `i` connects: on a cluster, the nodes other than the publishers' in
    /// turn (`spread`: every node in turn, for shared-subscription members).
    pub fn subscriber(&self, i: usize, spread: bool) -> SocketAddr {
        let n = self.addrs.len();
        if n <= 1 {
            self.addrs[0]
        } else if spread {
            self.addrs[i % n]
        } else {
            self.addrs[1 + i % (n - 1)]
        }
    }

    /// Any node, in turn.
    pub fn any(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len().max(1)]
    }
}

/// Extra configuration for hookmq and a helper process started before it.
#[derive(Debug, Clone, Default)]
pub struct Variant {
    /// Name used in reports (`none`, `python1`, ...).
    pub name: String,
    /// TOML appended to hookmq's configuration; `{helper_port}` is replaced.
    pub hookmq_toml: String,
    /// Keys added to hookmq's `[mqtt]` table.
    pub mqtt_toml: String,
    /// Helper command (program and arguments; `{helper_port}` is replaced), e.g. a gRPC server.
    pub helper: Option<Vec<String>>,
}

/// A running broker (or cluster).
pub struct Broker {
    /// Which broker.
    pub kind: TargetKind,
    /// Its MQTT listeners and measured processes.
    pub endpoints: Endpoints,
    /// Its processes, stopped in reverse order (a cluster's NATS server first in the list).
    children: Vec<(Child, u32)>,
    helper: Option<Child>,
}

/// A free loopback port (bound then released; the broker binds it right after).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(l.local_addr()?.port())
}

impl Launcher {
    /// Starts `kind` with `variant` (hookmq only) and waits until it accepts connections.
    pub async fn start(&self, kind: TargetKind, variant: &Variant, tag: &str) -> Result<Broker> {
        std::fs::create_dir_all(&self.work_dir)?;
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut helper = None;
        let mut helper_port = 0;
        if let Some(cmd) = &variant.helper {
            helper_port = free_port()?;
            let args: Vec<String> = cmd
                .iter()
                .map(|a| a.replace("{helper_port}", &helper_port.to_string()))
                .collect();
            let log = self.work_dir.join(format!("{tag}-helper.log"));
            let mut child = spawn(&args, &log, &self.helper_cpus)?;
            let helper_addr = SocketAddr::from(([127, 0, 0, 1], helper_port));
            wait_listening(&mut child, helper_addr, &log).await?;
            helper = Some(child);
        }
        if kind == TargetKind::Cluster {
            return match crate::cluster::start(self, variant, tag, helper_port).await {
                Ok((endpoints, children)) => Ok(Broker {
                    kind,
                    endpoints,
                    children,
                    helper,
                }),
                Err(e) => {
                    if let Some(mut h) = helper {
                        let _ = h.kill().await;
                    }
                    Err(e)
                }
            };
        }
        let (args, log) = match kind {
            TargetKind::Hookmq => {
                let path = self.work_dir.join(format!("{tag}.toml"));
                let toml = self
                    .hookmq_config(port, variant)
                    .replace("{helper_port}", &helper_port.to_string());
                std::fs::write(&path, toml)?;
                let args = vec![
                    self.hookmq_bin.display().to_string(),
                    "start".into(),
                    "--config".into(),
                    path.display().to_string(),
                ];
                (args, self.work_dir.join(format!("{tag}.log")))
            }
            TargetKind::Cluster => bail!("the cluster target starts in crate::cluster"),
            TargetKind::Mosquitto => {
                if !variant.hookmq_toml.is_empty() || variant.helper.is_some() {
                    bail!("hook variants apply to hookmq only");
                }
                let path = self.work_dir.join(format!("{tag}.conf"));
                std::fs::write(&path, self.mosquitto_config(port))?;
                let args = vec![
                    self.mosquitto_bin.display().to_string(),
                    "-c".into(),
                    path.display().to_string(),
                ];
                (args, self.work_dir.join(format!("{tag}.log")))
            }
        };
        let mut child = spawn(&args, &log, &self.broker_cpus)?;
        let pid = child.id().ok_or_else(|| anyhow!("broker exited at once"))?;
        if let Err(e) = wait_listening(&mut child, addr, &log).await {
            let _ = child.kill().await;
            if let Some(mut h) = helper {
                let _ = h.kill().await;
            }
            return Err(e);
        }
        if kind == TargetKind::Hookmq && !self.worker_cpus.is_empty() {
            pin_descendants(pid, &self.worker_cpus).await;
        }
        Ok(Broker {
            kind,
            endpoints: Endpoints::single(addr, Some(pid)),
            children: vec![(child, pid)],
            helper,
        })
    }

    /// hookmq's configuration: one loopback listener, the same limits as mosquitto's, no `$SYS`,
    /// no management API, warnings only.
    pub fn hookmq_config(&self, port: u16, variant: &Variant) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# generated by hookmq-bench ({})", variant.name);
        match &self.tls {
            None => {
                let _ = writeln!(s, "[listeners.tcp.default]\nbind = \"127.0.0.1:{port}\"\n");
            }
            Some(tls) => {
                // The TLS listener under test, and the plain one moved off the default port.
                let plain = free_port().unwrap_or(0);
                let _ = writeln!(
                    s,
                    "[listeners.tls.default]\nbind = \"127.0.0.1:{port}\"\ncertfile = \"{}\"\n\
                     keyfile = \"{}\"\n\n[listeners.tcp.default]\nbind = \"127.0.0.1:{plain}\"\n",
                    tls.cert.display(),
                    tls.key.display()
                );
            }
        }
        let _ = writeln!(
            s,
            "[mqtt]\nmax_inflight = {}\nmax_queue_len = {}\n{}",
            self.max_inflight, self.max_queue, variant.mqtt_toml
        );
        let _ = writeln!(s, "[sys]\nenable = false\n\n[api]\nenable = false\n");
        let _ = writeln!(s, "[log]\nlevel = \"warn\"\n");
        s.push_str(&variant.hookmq_toml);
        s
    }

    /// mosquitto's configuration: the same listener and limits, persistence off.
    pub fn mosquitto_config(&self, port: u16) -> String {
        let tls = self.tls.as_ref().map_or_else(String::new, |t| {
            format!(
                "certfile {}\nkeyfile {}\n",
                t.cert.display(),
                t.key.display()
            )
        });
        format!(
            "# generated by hookmq-bench\n\
             listener {port} 127.0.0.1\n\
             {tls}\
             allow_anonymous true\n\
             max_inflight_messages {}\n\
             max_queued_messages {}\n\
             persistence false\n\
             set_tcp_nodelay true\n\
             sys_interval 0\n\
             log_dest stderr\n\
             log_type error\n\
             log_type warning\n",
            self.max_inflight, self.max_queue
        )
    }
}

/// Starts `args` with its output in `log`, pinned to `cpus` when not empty.
pub(crate) fn spawn(args: &[String], log: &Path, cpus: &str) -> Result<Child> {
    let file = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
    let (program, rest) = args.split_first().ok_or_else(|| anyhow!("empty command"))?;
    let mut cmd = if cpus.is_empty() {
        Command::new(program)
    } else {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpus).arg(program);
        c
    };
    cmd.args(rest)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true);
    cmd.spawn().with_context(|| format!("start {program}"))
}

/// Waits (at most 20 s) until `addr` accepts TCP connections, failing early if the process ends.
pub(crate) async fn wait_listening(child: &mut Child, addr: SocketAddr, log: &Path) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "process exited ({status}); log {}:\n{}",
                log.display(),
                tail(log)
            );
        }
        let probe = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr),
        );
        if let Ok(Ok(_)) = probe.await {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "nothing listens on {addr} after 20 s; log {}:\n{}",
                log.display(),
                tail(log)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pins every process below `pid` (hook workers; all their threads) to `cpus`. Port workers
/// start with the broker, before it listens.
async fn pin_descendants(pid: u32, cpus: &str) {
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{p}/task"))
            .into_iter()
            .flatten();
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                let _ = Command::new("taskset")
                    .args(["-a", "-p", "-c", cpus, &child.to_string()])
                    .stdout(Stdio::null())
                    .status()
                    .await;
                todo.push(child);
            }
        }
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Broker {
    /// Stops the broker (SIGTERM, then SIGKILL after 5 s; a cluster's nodes before its NATS
    /// server) and its helper.
    pub async fn stop(mut self) {
        while let Some((mut child, pid)) = self.children.pop() {
            terminate(&mut child, pid).await;
        }
        if let Some(mut h) = self.helper.take()
            && let Some(pid) = h.id()
        {
            terminate(&mut h, pid).await;
        }
    }
}

/// SIGTERM, then SIGKILL after 5 s.
pub(crate) async fn terminate(child: &mut Child, pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await;
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}
