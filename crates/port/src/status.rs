//! What the management API shows about the `extension_hook` plugin and its drivers: plain
//! snapshots built by [`crate::PortDrivers`], turned into JSON by `hookmq-api`.

use hookmq_hooks::{Dispatch, FailedAction, Overflow};

use crate::config::DriverConfig;
use crate::driver::Driver;

/// The `extension_hook` plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStatus {
    /// `extension_hook`.
    pub name: &'static str,
    /// Other names accepted (`emqx_extension_hook`).
    pub aliases: Vec<&'static str>,
    /// Whether it is loaded (its enabled drivers started, or being retried).
    pub loaded: bool,
    /// `loaded`, `unloaded`, or `failed` (loaded, but an enabled driver is not running).
    pub state: &'static str,
    /// The configured drivers.
    pub drivers: Vec<String>,
    /// The EMQX-style file it reads, if any.
    pub conf_file: Option<String>,
    /// What it does.
    pub description: &'static str,
}

/// The result of loading (or reloading) the plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The plugin was loaded already and every enabled driver was running: nothing was done.
    pub already_loaded: bool,
    /// The drivers started by this operation.
    pub started: Vec<String>,
    /// Lines of the configuration that were ignored.
    pub warnings: Vec<String>,
}

/// One configured driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverStatus {
    /// Its name.
    pub name: String,
    /// `python3`, `python` or `java`.
    pub kind: &'static str,
    /// Where it is configured: `hookmq.toml` or the `.conf` file's path.
    pub source: String,
    /// Whether it starts with the plugin.
    pub enabled: bool,
    /// `running`, `stopped`, `disabled` or `failed`.
    pub state: &'static str,
    /// Why its last load failed.
    pub error: Option<String>,
    /// `init_module`.
    pub init_module: String,
    /// Search path entries as configured.
    pub path: Vec<String>,
    /// `call_timeout` in milliseconds.
    pub call_timeout_ms: u64,
    /// `init_timeout` in milliseconds.
    pub init_timeout_ms: u64,
    /// `pool_size`.
    pub pool_size: usize,
    /// `ignore` or `deny`.
    pub failed_action: &'static str,
    /// `queued` or `inline`.
    pub dispatch: &'static str,
    /// `drop` or `block`: what a full queue does to notifications and observed events.
    pub overflow: &'static str,
    /// Whether hookmq's batched protocol is offered to the workers.
    pub batch: bool,
    /// The most calls in one batch.
    pub max_batch: usize,
    /// The bound of each queue (queued dispatch).
    pub queue_capacity: Option<usize>,
    /// Chain priority.
    pub priority: i32,
    /// The hooks it registered (port names), with their topic filters and whether it only
    /// observes them.
    pub hooks: Vec<HookStatus>,
    /// Its workers (empty unless running).
    pub workers: Vec<WorkerStatus>,
    /// Worker restarts since it was loaded.
    pub restarts: u64,
    /// When it was loaded (ms since the epoch).
    pub loaded_at_ms: Option<u64>,
}

/// One hook a running driver registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookStatus {
    /// Its port name, e.g. `client_check_acl`.
    pub name: String,
    /// Topic filters (message hooks); empty: every topic.
    pub topics: Vec<String>,
    /// Observe-only.
    pub observe: bool,
}

/// What a worker slot is doing, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    /// Slot number, from 0.
    pub index: usize,
    /// `starting`, `running`, `restarting` or `stopped`.
    pub state: &'static str,
    /// Process id while running.
    pub pid: Option<u32>,
    /// While running: `batched` (hookmq's batched protocol) or `single` (one call per frame,
    /// as with EMQX's erlport).
    pub protocol: Option<&'static str>,
    /// Times the worker was started again after its first start.
    pub restarts: u64,
    /// Calls waiting for an answer.
    pub inflight: usize,
    /// Why it last stopped or failed to start.
    pub last_error: Option<String>,
    /// When the running process started (ms since the epoch).
    pub since_ms: Option<u64>,
}

/// The status of a configured driver (`running` when it has a [`Driver`]).
pub(crate) fn driver_status(
    c: &DriverConfig,
    source: String,
    enabled: bool,
    error: Option<String>,
    running: Option<&Driver>,
) -> DriverStatus {
    DriverStatus {
        name: c.name.clone(),
        kind: c.kind.name(),
        source,
        enabled,
        state: match (running, enabled, &error) {
            (Some(_), _, _) => "running",
            (None, false, _) => "disabled",
            (None, true, Some(_)) => "failed",
            (None, true, None) => "stopped",
        },
        error,
        init_module: c.init_module.clone(),
        path: c.path.clone(),
        call_timeout_ms: c.call_timeout.as_millis() as u64,
        init_timeout_ms: c.init_timeout.as_millis() as u64,
        pool_size: c.pool_size,
        failed_action: match c.failed_action {
            FailedAction::Ignore => "ignore",
            FailedAction::Deny => "deny",
        },
        dispatch: match c.dispatch {
            Dispatch::Inline => "inline",
            Dispatch::Queued { .. } => "queued",
        },
        overflow: match c.overflow {
            Overflow::Drop => "drop",
            Overflow::Block => "block",
        },
        batch: c.batch,
        max_batch: c.max_batch,
        queue_capacity: match c.dispatch {
            Dispatch::Inline => None,
            Dispatch::Queued { capacity, .. } => Some(capacity),
        },
        priority: c.priority,
        hooks: running
            .map(|d| {
                d.points
                    .iter()
                    .map(|p| HookStatus {
                        name: p.point.port_name().to_owned(),
                        topics: p.topics.clone(),
                        observe: p.observe,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        workers: running.map(|d| d.workers()).unwrap_or_default(),
        restarts: running.map_or(0, |d| d.restarts()),
        loaded_at_ms: running.map(|d| d.loaded_at_ms),
    }
}
