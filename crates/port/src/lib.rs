//! Port drivers: hook handlers in external Python or Java processes that speak the Erlang-port
//! protocol (4-byte length framing, Erlang External Term Format) over stdin/stdout, as EMQX
//! 4.1's `emqx_extension_hook` plugin did.
//!
//! The broker's hook registry calls the drivers defined here; they call nothing in the broker.
//! The binary starts one [`PortDrivers`] (configured by `[exhook.drivers]` in `hookmq.toml` and
//! by `etc/plugins/extension_hook.conf`); the management API loads, unloads and lists them.
//!
//! - Protocol, sans-IO: [`etf`] (terms), [`frame`] (`{packet, 4}`), [`message`] (calls, replies
//!   and the rest of the port message set).
//! - Hook semantics: [`arguments`] (an event as EMQX's argument terms), [`verdict`] (an answer as
//!   a chain verdict), [`spec`] (the `init()` answer).
//! - Configuration: [`config`] (`hookmq.toml`), [`conf_file`] (the EMQX-style file),
//!   [`settings`] (one key at a time, for both),
//!   [`runtimes`] (where our runtimes are; the worker command line).
//! - Errors: [`error`], one enum per layer; [`PortError`] is what callers of [`PortDrivers`] see.
//! - Processes: `worker` (one process and its pipe), `pool` (the workers of a driver, their
//!   supervision and restarts), `driver` (a loaded driver as a hook handler), [`manager`] (the
//!   plugin: load, unload, reload, enable, disable), `console` (worker output in the log).

pub mod arguments;
pub mod conf_file;
pub mod config;
mod console;
mod driver;
pub mod error;
pub mod etf;
pub mod frame;
pub mod manager;
pub mod message;
mod pool;
pub mod runtimes;
pub mod settings;
pub mod spec;
pub mod status;
pub mod verdict;
mod worker;

pub use config::{DriverConfig, DriverKind, DriversConfig};
pub use error::{ConfigError, LoadError, ReplyError, RuntimeError, SettingError};
pub use manager::{PLUGIN, PLUGIN_ALIASES, PortDrivers, PortError, is_plugin};
pub use pool::{BACKOFF_MAX, BACKOFF_MIN, HANG_FACTOR, STABLE_AFTER};
pub use spec::InitError;
pub use status::{DriverStatus, HookStatus, LoadReport, PluginStatus, WorkerStatus};
