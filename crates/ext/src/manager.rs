//! [`ExtManager`]: the configured extension servers, loaded at start and managed at run time
//! (add, update, enable, disable, remove, reload) without restarting the broker. The binary
//! starts it before the broker accepts clients; the management API and `hookmq ctl ext` call it
//! afterwards. It needs only a [`Hooks`] registry, so tools can drive an extension without a
//! broker (the hook test kit registers it into a registry of its own). The list and its
//! operations are the [`Fleet`] it shares with the exhook servers; what is its own is the
//! status it reports.

use std::sync::Arc;

use hookmq_exhook::fleet::{Fleet, FleetError};
use hookmq_exhook::{BrokerInfo, HookMetrics, Status};
use hookmq_hooks::Hooks;

use crate::ExtError;
use crate::config::ExtConfig;
use crate::server::{Server, handler_name};
use crate::status::{ExtHookStatus, ExtStatus};

impl From<FleetError> for ExtError {
    fn from(e: FleetError) -> Self {
        match e {
            FleetError::Config { key, message } => ExtError::Config { key, message },
            FleetError::NotFound(n) => ExtError::NotFound(n),
            FleetError::Duplicate(n) => ExtError::Duplicate(n),
            FleetError::Disabled(n) => ExtError::Disabled(n),
        }
    }
}

/// The configured extension servers and their streams.
pub struct ExtManager {
    fleet: Fleet<Server>,
}

impl ExtManager {
    /// Checks the configuration and loads every enabled server, waiting for each one's first
    /// load attempt so the broker does not accept clients before their hooks are registered.
    /// A server whose load fails does not stop the start: it is retried per `auto_reconnect`.
    pub async fn start(
        servers: Vec<ExtConfig>,
        hooks: Arc<Hooks>,
        info: BrokerInfo,
    ) -> Result<Arc<ExtManager>, ExtError> {
        let fleet = Fleet::start(servers, hooks, info).await?;
        Ok(Arc::new(ExtManager { fleet }))
    }

    /// Every server in configuration order.
    pub fn list(&self) -> Vec<ExtStatus> {
        let servers = self.fleet.shared().servers();
        servers.iter().map(|s| self.status_of(s)).collect()
    }

    /// One server.
    pub fn get(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let server = self.fleet.shared().find(name)?;
        Ok(self.status_of(&server))
    }

    /// Adds a server and loads it if enabled.
    pub async fn add(&self, config: ExtConfig) -> Result<ExtStatus, ExtError> {
        let server = self.fleet.add(config).await?;
        Ok(self.status_of(&server))
    }

    /// Replaces a server's configuration: it is unloaded, then loaded with the new settings if
    /// enabled.
    pub async fn update(&self, config: ExtConfig) -> Result<ExtStatus, ExtError> {
        let server = self.fleet.update(config).await?;
        Ok(self.status_of(&server))
    }

    /// Enables and loads a server (a no-op for one already enabled).
    pub async fn enable(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let server = self.fleet.enable(name).await?;
        Ok(self.status_of(&server))
    }

    /// Disables a server: its handler is unregistered and its streams closed.
    pub async fn disable(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let server = self.fleet.disable(name).await?;
        Ok(self.status_of(&server))
    }

    /// Unloads and forgets a server.
    pub async fn remove(&self, name: &str) -> Result<(), ExtError> {
        Ok(self.fleet.remove(name).await?)
    }

    /// Loads an enabled server again (new streams, a new `Register`: its hook list may change).
    pub async fn reload(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let server = self.fleet.reload(name).await?;
        Ok(self.status_of(&server))
    }

    /// Unloads every server.
    pub async fn stop(&self) {
        self.fleet.stop().await;
    }

    fn status_of(&self, server: &Server) -> ExtStatus {
        let me = handler_name(&server.name);
        let info = self
            .fleet
            .shared()
            .hooks
            .handlers()
            .into_iter()
            .find(|h| h.spec.name == me);
        let st = server.state.lock();
        let stats = info.as_ref().map(|h| h.stats.as_slice()).unwrap_or(&[]);
        let hooks = st
            .registered
            .iter()
            .map(|r| ExtHookStatus {
                name: r.spec.point.name().to_owned(),
                topics: r.spec.topics.clone(),
                observe: r.observe,
                metrics: stats
                    .iter()
                    .find(|s| s.point == Some(r.spec.point))
                    .map(HookMetrics::from)
                    .unwrap_or_default(),
            })
            .collect();
        let streams_up = st.handler.as_ref().map_or(0, |h| h.streams_up());
        let status = match st.status {
            Status::Connected if streams_up < st.config.pool_size => Status::Connecting,
            s => s,
        };
        ExtStatus {
            name: server.name.clone(),
            url: st.config.url.clone(),
            enable: st.config.enable,
            status,
            pool_size: st.config.pool_size,
            streams_up,
            registered: info.is_some(),
            hooks,
            last_error: st.last_error.clone(),
            failed_action: st.config.failed_action,
            observe_policy: st.config.observe_policy,
            stats: server.counters.snapshot(),
        }
    }
}
