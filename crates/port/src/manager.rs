//! The port drivers of one broker, presented as EMQX's `extension_hook` plugin. The binary starts
//! one [`PortDrivers`]; the management API (`hookmq ctl plugins ...`, `hookmq ctl exhook
//! drivers ...`) drives it.
//!
//! - Drivers come from `hookmq.toml` (`[exhook.drivers.<name>]`) and from the EMQX-style file
//!   (`etc/plugins/extension_hook.conf`). If either configures a driver, the plugin loads at
//!   start; a driver that fails is logged and the broker serves without it.
//! - `load` re-reads the `.conf` file when the plugin is not loaded, starts every enabled driver
//!   not yet running, and answers "already loaded" when there is nothing to do; `unload` runs
//!   `deinit()` and stops the workers; `reload` re-reads the `.conf` file (a broken file changes
//!   nothing), then unloads and loads. `hookmq.toml` is read once, at start.
//! - `enable` / `disable` start or stop one driver of the loaded plugin.

use std::path::PathBuf;
use std::sync::Arc;

use hookmq_hooks::{Hooks, NodeName};
use parking_lot::Mutex;

use crate::conf_file;
use crate::config::{DriverConfig, DriversConfig};
use crate::driver::Driver;
use crate::error::{ConfigError, LoadError};
use crate::etf::Atom;
use crate::runtimes::Runtimes;
use crate::status::{DriverStatus, LoadReport, PluginStatus, driver_status};

/// The plugin's name.
pub const PLUGIN: &str = "extension_hook";

/// Other names of the plugin (EMQX's).
pub const PLUGIN_ALIASES: [&str; 1] = ["emqx_extension_hook"];

/// Whether `name` names the plugin.
pub fn is_plugin(name: &str) -> bool {
    name == PLUGIN || PLUGIN_ALIASES.contains(&name)
}

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The configuration cannot be used (the `.conf` file names the line and key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No such driver.
    #[error("{0}")]
    NotFound(String),
    /// Not possible in the current state (e.g. the plugin is not loaded).
    #[error("{0}")]
    Refused(String),
    /// Drivers failed to load; the message says which and why (each driver's [`LoadError`],
    /// with the Python traceback or Java stack trace of a failed `init()`).
    #[error("{0}")]
    Load(String),
}

/// Where a driver is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Toml,
    ConfFile,
}

struct Entry {
    config: DriverConfig,
    source: Source,
    enabled: bool,
    running: Option<Arc<Driver>>,
    error: Option<String>,
}

#[derive(Default)]
struct Plugin {
    loaded: bool,
    entries: Vec<Entry>,
}

/// The configured drivers.
pub struct PortDrivers {
    hooks: Arc<Hooks>,
    base_dir: PathBuf,
    node: Atom,
    config: DriversConfig,
    /// Serializes load, unload, reload, enable, disable.
    ops: tokio::sync::Mutex<()>,
    plugin: Mutex<Plugin>,
}

impl PortDrivers {
    /// Starts the port drivers; `base_dir` is what relative paths resolve against (the broker's
    /// working directory, like EMQX's install root); `node` is the broker's node name. Loads the
    /// plugin when `hookmq.toml` or the `.conf` file configures a driver; failures are logged
    /// and do not stop the broker.
    pub async fn start(
        config: DriversConfig,
        hooks: Arc<Hooks>,
        base_dir: PathBuf,
        node: NodeName,
    ) -> Result<Arc<PortDrivers>, PortError> {
        let entries = toml_entries(&config);
        let drivers = Arc::new(PortDrivers {
            hooks,
            base_dir,
            node: Atom::new(node.as_str()),
            config,
            ops: tokio::sync::Mutex::new(()),
            plugin: Mutex::new(Plugin {
                loaded: false,
                entries,
            }),
        });
        let conf_exists = drivers.conf_path().is_some_and(|p| p.exists());
        if !drivers.config.drivers.is_empty() || conf_exists {
            match drivers.load_plugin().await {
                Ok(report) => tracing::info!(
                    "plugin {PLUGIN} loaded; drivers started: {}",
                    report.started.join(", ")
                ),
                Err(e) => tracing::error!(
                    "plugin {PLUGIN} failed to load: {e}\nThe broker runs without it; fix the \
                     cause and run `hookmq ctl plugins load {PLUGIN}`."
                ),
            }
        }
        Ok(drivers)
    }

    /// Unloads every driver (`deinit()`, then the processes end).
    pub async fn stop(&self) {
        let _op = self.ops.lock().await;
        self.stop_all().await;
        self.plugin.lock().loaded = false;
    }

    fn conf_path(&self) -> Option<PathBuf> {
        (!self.config.conf_file.is_empty()).then(|| self.base_dir.join(&self.config.conf_file))
    }

    /// Loads the plugin: see the module documentation.
    pub async fn load_plugin(&self) -> Result<LoadReport, PortError> {
        let _op = self.ops.lock().await;
        let mut report = LoadReport::default();
        if self.plugin.lock().loaded {
            if self.pending().is_empty() {
                report.already_loaded = true;
                return Ok(report);
            }
        } else {
            let (entries, warnings) = self.read_entries()?;
            report.warnings = warnings;
            let mut plugin = self.plugin.lock();
            plugin.entries = entries;
            plugin.loaded = true;
        }
        report.started = self.start_pending().await?;
        Ok(report)
    }

    /// Unloads the plugin: every driver's `deinit()`, then its workers stop.
    pub async fn unload_plugin(&self) -> Result<(), PortError> {
        let _op = self.ops.lock().await;
        if !self.plugin.lock().loaded {
            return Err(PortError::Refused(format!("plugin {PLUGIN} is not loaded")));
        }
        self.stop_all().await;
        self.plugin.lock().loaded = false;
        Ok(())
    }

    /// Re-reads the `.conf` file, then unloads and loads the plugin. A broken file is refused
    /// before anything stops.
    pub async fn reload_plugin(&self) -> Result<LoadReport, PortError> {
        let _op = self.ops.lock().await;
        let (entries, warnings) = self.read_entries()?;
        self.stop_all().await;
        {
            let mut plugin = self.plugin.lock();
            plugin.entries = entries;
            plugin.loaded = true;
        }
        let started = self.start_pending().await?;
        Ok(LoadReport {
            already_loaded: false,
            started,
            warnings,
        })
    }

    /// Enables a driver of the loaded plugin and starts it.
    pub async fn enable(&self, name: &str) -> Result<DriverStatus, PortError> {
        let _op = self.ops.lock().await;
        self.set_enabled(name, true)?;
        self.start_pending().await?;
        self.driver(name)
    }

    /// Disables a driver: `deinit()`, then its workers stop.
    pub async fn disable(&self, name: &str) -> Result<DriverStatus, PortError> {
        let _op = self.ops.lock().await;
        let running = self.set_enabled(name, false)?;
        if let Some(driver) = running {
            driver.unload(&self.hooks).await;
        }
        self.driver(name)
    }

    /// Marks a driver; returns it if it was running and is being disabled.
    fn set_enabled(&self, name: &str, enabled: bool) -> Result<Option<Arc<Driver>>, PortError> {
        let mut plugin = self.plugin.lock();
        if !plugin.loaded {
            return Err(PortError::Refused(format!(
                "plugin {PLUGIN} is not loaded (hookmq ctl plugins load {PLUGIN})"
            )));
        }
        let entry = plugin
            .entries
            .iter_mut()
            .find(|e| e.config.name == name)
            .ok_or_else(|| PortError::NotFound(format!("no driver named {name:?}")))?;
        entry.enabled = enabled;
        entry.error = None;
        Ok(if enabled { None } else { entry.running.take() })
    }

    /// The drivers configured in `hookmq.toml` and (as last read) in the `.conf` file.
    fn read_entries(&self) -> Result<(Vec<Entry>, Vec<String>), PortError> {
        let mut entries = toml_entries(&self.config);
        let mut warnings = Vec::new();
        if let Some(path) = self.conf_path()
            && let Some(conf) = conf_file::read(&path)?
        {
            for w in &conf.warnings {
                tracing::warn!("{w}");
            }
            warnings = conf.warnings;
            for config in conf.drivers {
                if entries.iter().any(|e| e.config.name == config.name) {
                    return Err(PortError::Config(ConfigError::Duplicate {
                        driver: config.name,
                        file: path.display().to_string(),
                    }));
                }
                entries.push(Entry {
                    enabled: config.enable,
                    config,
                    source: Source::ConfFile,
                    running: None,
                    error: None,
                });
            }
        }
        Ok((entries, warnings))
    }

    /// Enabled drivers that are not running.
    fn pending(&self) -> Vec<DriverConfig> {
        let plugin = self.plugin.lock();
        plugin
            .entries
            .iter()
            .filter(|e| e.enabled && e.running.is_none())
            .map(|e| e.config.clone())
            .collect()
    }

    /// Starts the pending drivers; returns their names, or the failures (the others keep
    /// running).
    async fn start_pending(&self) -> Result<Vec<String>, PortError> {
        let mut started = Vec::new();
        let mut failures = Vec::new();
        for config in self.pending() {
            let name = config.name.clone();
            let result = match Runtimes::locate(&self.config.runtimes_dir, &self.base_dir) {
                Ok(runtimes) => {
                    Driver::load(
                        config,
                        &runtimes,
                        &self.base_dir,
                        &self.hooks,
                        self.node.clone(),
                    )
                    .await
                }
                Err(e) => Err(LoadError::from(e)),
            };
            let mut plugin = self.plugin.lock();
            let Some(entry) = plugin.entries.iter_mut().find(|e| e.config.name == name) else {
                continue;
            };
            match result {
                Ok(driver) => {
                    entry.running = Some(Arc::new(driver));
                    entry.error = None;
                    started.push(name);
                }
                Err(e) => {
                    tracing::error!(driver = %name, "driver failed to load: {e}");
                    failures.push(format!("driver {name} failed to load: {e}"));
                    entry.error = Some(e.to_string());
                }
            }
        }
        if failures.is_empty() {
            Ok(started)
        } else {
            Err(PortError::Load(failures.join("\n")))
        }
    }

    async fn stop_all(&self) {
        let running: Vec<Arc<Driver>> = {
            let mut plugin = self.plugin.lock();
            plugin
                .entries
                .iter_mut()
                .filter_map(|e| e.running.take())
                .collect()
        };
        for driver in running {
            driver.unload(&self.hooks).await;
        }
    }

    /// The plugin's status.
    pub fn plugins(&self) -> Vec<PluginStatus> {
        let plugin = self.plugin.lock();
        let failed = plugin
            .entries
            .iter()
            .any(|e| e.enabled && e.running.is_none());
        vec![PluginStatus {
            name: PLUGIN,
            aliases: PLUGIN_ALIASES.to_vec(),
            loaded: plugin.loaded,
            state: match (plugin.loaded, failed) {
                (false, _) => "unloaded",
                (true, true) => "failed",
                (true, false) => "loaded",
            },
            drivers: plugin
                .entries
                .iter()
                .map(|e| e.config.name.clone())
                .collect(),
            conf_file: self.conf_path().map(|p| p.display().to_string()),
            description: "Python and Java hooks over the Erlang-port protocol",
        }]
    }

    /// Every configured driver.
    pub fn drivers(&self) -> Vec<DriverStatus> {
        let plugin = self.plugin.lock();
        plugin.entries.iter().map(|e| self.status(e)).collect()
    }

    /// One driver.
    pub fn driver(&self, name: &str) -> Result<DriverStatus, PortError> {
        let plugin = self.plugin.lock();
        plugin
            .entries
            .iter()
            .find(|e| e.config.name == name)
            .map(|e| self.status(e))
            .ok_or_else(|| PortError::NotFound(format!("no driver named {name:?}")))
    }

    fn status(&self, e: &Entry) -> DriverStatus {
        let source = match e.source {
            Source::Toml => "hookmq.toml".to_owned(),
            Source::ConfFile => self.config.conf_file.clone(),
        };
        driver_status(
            &e.config,
            source,
            e.enabled,
            e.error.clone(),
            e.running.as_deref(),
        )
    }

    /// Worker restarts per running driver, for `/metrics`.
    pub fn restart_counts(&self) -> Vec<(String, u64)> {
        let plugin = self.plugin.lock();
        plugin
            .entries
            .iter()
            .filter_map(|e| Some((e.config.name.clone(), e.running.as_ref()?.restarts())))
            .collect()
    }
}

fn toml_entries(config: &DriversConfig) -> Vec<Entry> {
    config
        .drivers
        .iter()
        .map(|c| Entry {
            config: c.clone(),
            source: Source::Toml,
            enabled: c.enable,
            running: None,
            error: None,
        })
        .collect()
}
