//! The `cluster` target: one `nats-server` with JetStream and `--cluster-nodes` hookmq nodes
//! joined through it, each on its own loopback port, all pinned like a single broker would be.
//! [`crate::target::Launcher::start`] calls [`start`]; the scenario runner then connects
//! publishers to the first node and subscribers to the others ([`crate::target::Endpoints`]),
//! so every message crosses the NATS hop, and counts the CPU of every node and of the NATS
//! server as the broker's.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::Child;

use crate::target::{Endpoints, Launcher, Variant, free_port, spawn, terminate, wait_listening};

/// Starts the NATS server and the nodes; returns where to connect and the processes (the NATS
/// server first, so it is stopped last).
pub async fn start(
    launcher: &Launcher,
    variant: &Variant,
    tag: &str,
    helper_port: u16,
) -> Result<(Endpoints, Vec<(Child, u32)>)> {
    let nodes = launcher.cluster_nodes.max(2);
    let dir = launcher.work_dir.join(format!("{tag}-nats"));
    std::fs::create_dir_all(&dir)?;
    let nats_port = free_port()?;
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{nats_port}\njetstream {{ store_dir: \"{}\", max_memory_store: 256MB, max_file_store: 1GB }}\n",
            dir.join("js").display()
        ),
    )?;
    let mut children: Vec<(Child, u32)> = Vec::new();
    let result = async {
        let log = dir.join("nats.log");
        let args = vec![
            launcher.nats_bin.display().to_string(),
            "-c".to_owned(),
            conf.display().to_string(),
        ];
        let mut nats = spawn(&args, &log, &launcher.broker_cpus)?;
        let pid = nats.id().context("nats-server exited at once")?;
        wait_listening(
            &mut nats,
            SocketAddr::from(([127, 0, 0, 1], nats_port)),
            &log,
        )
        .await?;
        children.push((nats, pid));

        let mut addrs = Vec::new();
        let mut logs = Vec::new();
        for i in 0..nodes {
            let port = free_port()?;
            let path = launcher.work_dir.join(format!("{tag}-n{i}.toml"));
            let toml = node_config(launcher, port, variant, i, nats_port, tag)
                .replace("{helper_port}", &helper_port.to_string());
            std::fs::write(&path, toml)?;
            let log = launcher.work_dir.join(format!("{tag}-n{i}.log"));
            let args = vec![
                launcher.hookmq_bin.display().to_string(),
                "start".into(),
                "--config".into(),
                path.display().to_string(),
            ];
            let mut child = spawn(&args, &log, &launcher.broker_cpus)?;
            let pid = child.id().context("hookmq node exited at once")?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            wait_listening(&mut child, addr, &log).await?;
            children.push((child, pid));
            addrs.push(addr);
            logs.push(log);
        }
        // Routing works once every node has seen the others join.
        for log in &logs {
            wait_members(log, nodes - 1).await?;
        }
        // Nodes first (the first node is the one a `conn` run measures), then NATS.
        let mut pids: Vec<u32> = children.iter().skip(1).map(|(_, p)| *p).collect();
        pids.extend(children.first().map(|(_, p)| *p));
        anyhow::Ok(Endpoints { addrs, pids })
    }
    .await;
    match result {
        Ok(endpoints) => Ok((endpoints, children)),
        Err(e) => {
            while let Some((mut c, pid)) = children.pop() {
                terminate(&mut c, pid).await;
            }
            Err(e)
        }
    }
}

/// A node's configuration: the single broker's (same limits, `$SYS` and API off) with the
/// cluster section, and logging at info so that membership can be awaited.
fn node_config(
    launcher: &Launcher,
    port: u16,
    variant: &Variant,
    index: usize,
    nats_port: u16,
    tag: &str,
) -> String {
    let mut s = launcher
        .hookmq_config(port, variant)
        .replace("level = \"warn\"", "level = \"info\"");
    let _ = write!(
        s,
        "\n[node]\nname = \"b{index}@127.0.0.1\"\n\n[cluster]\nenable = true\n\
         name = \"bench{}{}\"\nnats = [\"nats://127.0.0.1:{nats_port}\"]\nreplicas = 1\n",
        std::process::id(),
        tag.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    );
    s
}

/// Waits (at most 30 s) until `log` says `others` members are up.
async fn wait_members(log: &Path, others: usize) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches("cluster member is up").count() >= others {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{}: the other nodes never came up", log.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
