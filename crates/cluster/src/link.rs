//! The link to NATS: two client connections built from `[cluster]` (servers, credentials,
//! TLS), their up/down state as the client's events report it, and a watcher that re-registers
//! this node's sessions when the link comes back after an outage (`registry::reconcile`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::{Client, ConnectOptions, Event, ServerAddr};
use tokio::sync::Notify;

use crate::config::ClusterConfig;
use crate::{Inner, StartError};

/// State the event callbacks update.
#[derive(Debug, Default)]
struct State {
    data_up: AtomicBool,
    control_up: AtomicBool,
    /// Reconnections of the control connection.
    reconnects: AtomicU64,
    /// Woken when the control connection is back.
    back: Notify,
}

/// The two NATS connections of a node.
pub(crate) struct Link {
    /// Publishes messages and holds plain route subscriptions; never receives its own messages.
    pub(crate) data: Client,
    /// Queue groups, key-value traffic, node-to-node requests.
    pub(crate) control: Client,
    state: Arc<State>,
}

impl Link {
    /// Connects both, retrying until `connect_timeout`.
    pub(crate) async fn connect(config: &ClusterConfig, node: &str) -> Result<Link, StartError> {
        let state = Arc::new(State::default());
        let servers: Vec<ServerAddr> = config
            .nats
            .iter()
            .map(|s| s.parse::<ServerAddr>())
            .collect::<Result<_, _>>()
            .map_err(|e| {
                StartError::Config(crate::ConfigError {
                    key: "cluster.nats".into(),
                    message: e.to_string(),
                })
            })?;
        let data = connect_one(config, node, "data", servers.clone(), state.clone(), true).await?;
        let control = connect_one(config, node, "control", servers, state.clone(), false).await?;
        state.data_up.store(true, Ordering::Relaxed);
        state.control_up.store(true, Ordering::Relaxed);
        Ok(Link {
            data,
            control,
            state,
        })
    }

    /// Both connections are up.
    pub(crate) fn is_up(&self) -> bool {
        self.state.data_up.load(Ordering::Relaxed) && self.state.control_up.load(Ordering::Relaxed)
    }

    /// The data connection is up (messages can be forwarded).
    pub(crate) fn data_up(&self) -> bool {
        self.state.data_up.load(Ordering::Relaxed)
    }

    /// The control connection is up (registry and requests work).
    pub(crate) fn control_up(&self) -> bool {
        self.state.control_up.load(Ordering::Relaxed)
    }

    /// The server the control connection uses.
    pub(crate) fn server(&self) -> Option<String> {
        self.control_up().then(|| {
            let info = self.control.server_info();
            format!("{}:{} ({})", info.host, info.port, info.server_name)
        })
    }

    /// Times the control connection came back.
    pub(crate) fn reconnects(&self) -> u64 {
        self.state.reconnects.load(Ordering::Relaxed)
    }
}

async fn connect_one(
    config: &ClusterConfig,
    node: &str,
    role: &'static str,
    servers: Vec<ServerAddr>,
    state: Arc<State>,
    no_echo: bool,
) -> Result<Client, StartError> {
    let deadline = Instant::now() + config.connect_timeout.0;
    let describe = config.nats.join(", ");
    loop {
        let options = options(config, node, role, state.clone(), no_echo).await?;
        match options.connect(servers.clone()).await {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() >= deadline => {
                return Err(StartError::Connect {
                    servers: describe,
                    message: e.to_string(),
                });
            }
            Err(e) => {
                tracing::debug!(error = %e, "NATS not reachable yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn options(
    config: &ClusterConfig,
    node: &str,
    role: &'static str,
    state: Arc<State>,
    no_echo: bool,
) -> Result<ConnectOptions, StartError> {
    let servers = config.nats.len();
    let mut o = ConnectOptions::new()
        .name(format!("hookmq {node} {role}"))
        .connection_timeout(config.connect_timeout.0)
        // Pings find a silent server (a partition) within about half a lease.
        .ping_interval((config.lease.0 / 4).max(Duration::from_millis(500)))
        .max_reconnects(None)
        .reconnect_delay_callback(move |attempts| reconnect_delay(attempts, servers))
        .event_callback(move |event| {
            let state = state.clone();
            async move { on_event(&state, role, event) }
        });
    if no_echo {
        o = o.no_echo();
    }
    if !config.discover {
        o = o.ignore_discovered_servers();
    }
    if !config.user.is_empty() {
        o = o.user_and_password(config.user.clone(), config.password.clone());
    }
    if !config.token.is_empty() {
        o = o.token(config.token.clone());
    }
    if !config.nkey.is_empty() {
        o = o.nkey(config.nkey.clone());
    }
    if let Some(path) = &config.credentials_file {
        o = o.credentials_file(path).await.map_err(|e| {
            StartError::Config(crate::ConfigError {
                key: "cluster.credentials_file".into(),
                message: format!("{}: {e}", path.display()),
            })
        })?;
    }
    if config.tls_required {
        o = o.require_tls(true);
    }
    if let Some(ca) = &config.tls_ca_file {
        o = o.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) {
        o = o.add_client_certificate(cert.clone(), key.clone());
    }
    Ok(o)
}

/// How long the NATS client waits before its `attempts`-th try to (re)connect (counted from 1,
/// back to 0 once connected), with `servers` configured. The first pass over the servers does
/// not wait: when one server dies the others are usually up, and every millisecond before the
/// node is back is a millisecond of messages from and to its clients not crossing the cluster
/// (core NATS is at most once). After that, 100 ms doubling up to a second, so a NATS that is
/// down altogether is not hammered.
fn reconnect_delay(attempts: usize, servers: usize) -> Duration {
    let past_first_pass = attempts.saturating_sub(servers.max(1));
    if past_first_pass == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis((50u64 << past_first_pass.min(5)).min(1_000))
}

fn on_event(state: &State, role: &'static str, event: Event) {
    let flag = if role == "data" {
        &state.data_up
    } else {
        &state.control_up
    };
    match event {
        Event::Connected => {
            tracing::info!(connection = role, "NATS link up");
            flag.store(true, Ordering::Relaxed);
            if role == "control" {
                state.reconnects.fetch_add(1, Ordering::Relaxed);
                state.back.notify_one();
            }
        }
        Event::Disconnected => {
            tracing::warn!(connection = role, "NATS link down");
            flag.store(false, Ordering::Relaxed);
        }
        Event::SlowConsumer(sid) => {
            tracing::warn!(
                connection = role,
                sid,
                "NATS slow consumer: messages were dropped"
            );
        }
        other => tracing::debug!(connection = role, event = %other, "NATS event"),
    }
}

/// Re-registers this node's sessions each time the control connection comes back.
pub(crate) fn watch(inner: &Arc<Inner>) {
    let inner = inner.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                _ = inner.link.state.back.notified() => {}
            }
            crate::registry::reconcile(&inner).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_pass_over_the_servers_does_not_wait_then_backs_off_to_a_second() {
        let ms = |a, n| reconnect_delay(a, n).as_millis();
        assert_eq!([ms(1, 3), ms(2, 3), ms(3, 3)], [0, 0, 0]);
        assert_eq!(
            [ms(4, 3), ms(5, 3), ms(6, 3), ms(7, 3)],
            [100, 200, 400, 800]
        );
        assert_eq!([ms(8, 3), ms(100, 3)], [1_000, 1_000]);
        assert_eq!([ms(1, 1), ms(2, 1)], [0, 100]);
        assert_eq!(ms(1, 0), 0);
    }
}
