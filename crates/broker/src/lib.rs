//! The hookmq MQTT broker: listeners, one task per connection, sessions, routing with shared
//! subscriptions, retained messages, wills, and `$SYS` topics, for MQTT 3.1, 3.1.1 and 5.0.
//!
//! The binary builds a [`Broker`] from the configuration and starts it; embedders do the same and
//! can register native hook handlers on [`Broker::hooks`]. Management (the HTTP API, `hookmq ctl`)
//! uses the methods in [`admin`](Broker::clients).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use hookmq_broker::{Broker, BrokerConfig};
//! use hookmq_hooks::{handler_fn, Event, HandlerSpec, HookPoint, Hooks, PointSpec, Value, Verdict};
//!
//! let hooks = Arc::new(Hooks::new());
//! let deny_secret = handler_fn(|e| match e {
//!     Event::ClientAuthorize { topic, .. } if topic.starts_with("secret/") => {
//!         Verdict::Stop(Value::Allow(false))
//!     }
//!     _ => Verdict::Ignore,
//! });
//! hooks.register(HandlerSpec::new("acl", "native", vec![PointSpec::all(HookPoint::ClientAuthorize)]), deny_secret)?;
//! let broker = Broker::new(BrokerConfig::default(), hooks)?;
//! let running = broker.start().await?;
//! println!("listening on {:?}", running.listeners);
//! broker.wait_shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod allocator;
#[doc(hidden)]
pub mod bench_api;
pub mod cluster;
pub mod config;
pub mod connection;
mod delivery;
mod held;
mod inflight;
pub mod listener;
mod mailbox;
mod memory;
pub mod metrics;
mod persist;
mod rate;
mod recheck;
mod registry;
mod remote;
mod retained;
mod router;
mod services;
mod session;
mod shared;
mod strategy;
mod subscriptions;
mod sys;
mod topic_tree;
pub mod units;

use std::sync::Arc;
use std::time::Duration;

use hookmq_hooks::Hooks;
use tokio_util::task::TaskTracker;

pub use admin::{BrokerStats, ClientView};
pub use config::{BrokerConfig, ConfigError};
pub use listener::BoundListener;
pub use metrics::Metrics;
pub use persist::{PersistenceConfig, StoreError, SyncPolicy};
pub use recheck::Reauthorized;
pub use remote::{Handover, RecordDecodeError};
pub use router::SubscriptionView;
pub use strategy::{SharedSubscriptionsConfig, Strategy};

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not start.
    #[error(transparent)]
    Listener(#[from] listener::ListenerError),
    /// The persistence store could not be opened.
    #[error(transparent)]
    Store(#[from] persist::StoreError),
}

/// A broker.
pub struct Broker {
    pub(crate) shared: Arc<shared::Shared>,
    tracker: TaskTracker,
    /// Sessions restored from the store whose expiry starts with [`Broker::start`].
    restored: parking_lot::Mutex<Vec<Arc<session::Session>>>,
}

/// What [`Broker::start`] started.
#[derive(Debug, Clone)]
pub struct Running {
    /// The bound listeners.
    pub listeners: Vec<BoundListener>,
}

impl Broker {
    /// A broker with this configuration and hook registry.
    /// With `[persistence] enable`, opens the store (relative to the working directory) and
    /// restores the stored sessions and retained messages.
    pub fn new(config: BrokerConfig, hooks: Arc<Hooks>) -> Result<Arc<Broker>, BrokerError> {
        config.validate()?;
        let (store, recovered) = if config.persistence.enable {
            let base = std::env::current_dir().unwrap_or_default();
            let (store, recovered) = persist::Store::open(&config.persistence, &base)?;
            (Some(store), recovered)
        } else {
            (None, persist::Recovered::default())
        };
        let shared = Arc::new(shared::Shared::new(config, hooks, store));
        if !shared
            .hooks
            .set_services(Arc::new(services::Services::new(&shared)))
        {
            tracing::warn!(
                "the hook registry already serves another broker; its hooks call that one"
            );
        }
        let broker = Arc::new(Broker {
            shared,
            tracker: TaskTracker::new(),
            restored: parking_lot::Mutex::new(Vec::new()),
        });
        broker.restore(recovered);
        Ok(broker)
    }

    fn restore(&self, recovered: persist::Recovered) {
        let shared = &self.shared;
        let n_retained = recovered.retained.len();
        for m in recovered.retained {
            shared.retained.set(Arc::new(m));
        }
        let cfg = &shared.config.mqtt;
        let limits = session::QueueLimits {
            max_len: cfg.max_queue_len,
            // Only persistent sessions are stored.
            drop: cfg.queue_policy(true),
            qos0_offline: cfg.queue_qos0_offline,
            persist: true,
        };
        let mut restored = Vec::new();
        for rec in recovered.sessions {
            let clientinfo = Arc::new(hookmq_hooks::ClientInfo {
                node: shared.node.clone(),
                clientid: rec.clientid.clone(),
                username: rec.record.username.clone(),
                password: None,
                peer: rec.record.peer,
                sockport: 0,
                protocol: rec.record.protocol,
                mountpoint: rec.record.mountpoint.clone(),
                is_superuser: false,
                anonymous: true,
                cn: rec.record.cn.clone(),
                dn: rec.record.dn.clone(),
                grant: None,
            });
            let session = session::Session::restore(clientinfo, rec, limits);
            shared.route_restored(&session);
            shared.registry.restore(session.clone());
            restored.push(session);
        }
        if n_retained > 0 || !restored.is_empty() {
            tracing::info!(
                sessions = restored.len(),
                retained = n_retained,
                "restored from the persistence store"
            );
        }
        *self.restored.lock() = restored;
    }

    /// The hook registry; register handlers here, before or after start.
    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.shared.hooks
    }

    /// The broker's services for hook code (publish, kick, subscribe on behalf of a client,
    /// queries, retained messages, authorization cache invalidation, counters): the same ones
    /// drivers reach through [`Hooks::services`]. A native handler may call them from inside its
    /// hook, also for the client whose event it handles (see docs/services.md).
    pub fn services(&self) -> Arc<dyn hookmq_hooks::BrokerServices> {
        Arc::new(services::Services::new(&self.shared))
    }

    /// The configuration in force.
    pub fn config(&self) -> &BrokerConfig {
        &self.shared.config
    }

    /// Broker counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Binds every enabled listener and starts accepting; also starts `$SYS` publishing.
    pub async fn start(self: &Arc<Self>) -> Result<Running, BrokerError> {
        let mut listeners = Vec::new();
        let cfg = &self.shared.config.listeners;
        let global = listener::ConnectionLimit::new(cfg.max_connections);
        for (kind, name, l) in cfg.all() {
            if !l.enable {
                continue;
            }
            let bound =
                listener::start(self, kind, name, l, global.clone(), self.tracker.clone()).await?;
            listeners.push(bound);
        }
        if self.shared.config.sys.enable {
            tokio::spawn(sys::run(self.shared.clone()));
        }
        if self.shared.config.limits.memory_high_watermark.0 > 0 {
            tokio::spawn(memory::watch(self.shared.clone()));
        }
        if !self.shared.config.limits.memory_trim_interval.0.is_zero() && allocator::supported() {
            tokio::spawn(allocator::watch(self.shared.clone()));
        }
        // Restored sessions expire like any disconnected session, counted from now.
        for session in std::mem::take(&mut *self.restored.lock()) {
            let (epoch, expiry) = {
                let st = session.state.lock();
                (st.epoch, st.expiry_interval)
            };
            self.shared.schedule_expiry(session, epoch, expiry);
        }
        Ok(Running { listeners })
    }

    /// Serves a connection accepted elsewhere (TLS, WebSocket, tests), tracked for shutdown.
    pub fn serve(self: &Arc<Self>, transport: connection::Transport) {
        let broker = self.clone();
        self.tracker
            .spawn(async move { connection::serve(broker, transport).await });
    }

    /// A token cancelled when the broker shuts down (for listeners run outside this crate).
    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.shared.shutdown.clone()
    }

    /// Stops accepting, tells MQTT 5 clients "server shutting down" (0x8B), and waits up to
    /// `grace` for connections to close.
    pub async fn stop(&self, grace: Duration) {
        self.shared.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(grace, self.tracker.wait()).await;
    }

    /// Resolves once [`Broker::stop`] was called.
    pub async fn wait_shutdown(&self) {
        self.shared.shutdown.cancelled().await;
    }
}
