//! Logging: a tracing subscriber writing human-readable or JSON lines to stderr, with a filter
//! that the management API can replace at runtime (`hookmq ctl log debug`).

use std::io::IsTerminal;
use std::sync::Arc;

use parking_lot::Mutex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::config::LogFormat;

/// The installed filter, replaceable at runtime.
pub(crate) struct Reloadable {
    handle: reload::Handle<EnvFilter, Registry>,
    current: Mutex<String>,
}

impl hookmq_api::LogControl for Reloadable {
    fn level(&self) -> String {
        self.current.lock().clone()
    }

    fn set_level(&self, filter: &str) -> Result<(), String> {
        let new = EnvFilter::try_new(quiet_dependencies(filter))
            .map_err(|e| format!("invalid log filter {filter:?}: {e}"))?;
        self.handle.reload(new).map_err(|e| e.to_string())?;
        *self.current.lock() = filter.to_owned();
        tracing::info!(filter, "log level changed");
        Ok(())
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, wins over `level`.
pub(crate) fn init(level: &str, format: LogFormat) -> Result<Arc<Reloadable>, String> {
    let text = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| level.to_owned());
    let filter =
        EnvFilter::try_new(quiet_dependencies(&text)).map_err(|e| format!("{text:?}: {e}"))?;
    let (filter, handle) = reload::Layer::new(filter);
    let ansi = std::io::stderr().is_terminal();
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
    Ok(Arc::new(Reloadable {
        handle,
        current: Mutex::new(text),
    }))
}

/// The storage engine logs its housekeeping at info; keep it at warn unless the filter names it.
fn quiet_dependencies(filter: &str) -> String {
    let mut f = filter.to_owned();
    for dep in ["fjall", "lsm_tree"] {
        if !f.contains(dep) {
            f.push_str(&format!(",{dep}=warn"));
        }
    }
    f
}
