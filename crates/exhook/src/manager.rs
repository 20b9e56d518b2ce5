//! [`ExhookManager`]: the configured servers in call order, loaded at start and managed at run
//! time (add, enable, disable, remove, move, reload) without restarting the broker. The binary
//! starts it before the broker accepts clients; the management API and `hookmq ctl exhook` call
//! it afterwards. The list and its operations are the shared [`Fleet`]; what is exhook's own
//! is the handlers' order in the chain ([`place`]) and the status it reports.

use std::collections::HashSet;
use std::sync::Arc;

use hookmq_hooks::{Hooks, Position};

use crate::config::ServerConfig;
use crate::fleet::{Fleet, FleetError, Shared};
use crate::server::{Server, handler_name};
use crate::status::{HookMetrics, HookStatus, ServerStats, ServerStatus};
use crate::{BrokerInfo, ExhookError};

/// Moves a server's registered handler to its place: before the next registered server of the
/// configured order, else after the previous one.
pub(crate) fn place(shared: &Shared<Server>, name: &str) {
    let order: Vec<String> = shared.servers().iter().map(|s| s.name.clone()).collect();
    let registered: HashSet<String> = shared
        .hooks
        .handlers()
        .into_iter()
        .map(|h| h.spec.name)
        .collect();
    let me = handler_name(name);
    let Some(at) = order.iter().position(|n| n == name) else {
        return;
    };
    if !registered.contains(&me) {
        return;
    }
    let next = order[at + 1..]
        .iter()
        .map(|n| handler_name(n))
        .find(|h| registered.contains(h));
    let prev = order[..at]
        .iter()
        .rev()
        .map(|n| handler_name(n))
        .find(|h| registered.contains(h));
    let result = match (next, prev) {
        (Some(next), _) => shared.hooks.reorder(&me, Position::Before(next)),
        (None, Some(prev)) => shared.hooks.reorder(&me, Position::After(prev)),
        (None, None) => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(server = %name, error = %e, "cannot order exhook server");
    }
}

impl From<FleetError> for ExhookError {
    fn from(e: FleetError) -> Self {
        match e {
            FleetError::Config { key, message } => ExhookError::Config { key, message },
            FleetError::NotFound(n) => ExhookError::NotFound(n),
            FleetError::Duplicate(n) => ExhookError::Duplicate(n),
            FleetError::Disabled(n) => ExhookError::Disabled(n),
        }
    }
}

/// The configured exhook servers and their connections.
pub struct ExhookManager {
    fleet: Fleet<Server>,
}

impl ExhookManager {
    /// Checks the configuration and loads every enabled server, waiting for each one's first
    /// load attempt so the broker does not accept clients before their hooks are registered.
    /// A server whose load fails does not stop the start: it is retried per `auto_reconnect`.
    pub async fn start(
        servers: Vec<ServerConfig>,
        hooks: Arc<Hooks>,
        info: BrokerInfo,
    ) -> Result<Arc<ExhookManager>, ExhookError> {
        let fleet = Fleet::start(servers, hooks, info).await?;
        Ok(Arc::new(ExhookManager { fleet }))
    }

    /// Every server in call order.
    pub fn list(&self) -> Vec<ServerStatus> {
        let servers = self.fleet.shared().servers();
        servers.iter().map(|s| self.status_of(s)).collect()
    }

    /// One server.
    pub fn get(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let server = self.fleet.shared().find(name)?;
        Ok(self.status_of(&server))
    }

    /// Adds a server at the end of the call order and loads it if enabled.
    pub async fn add(&self, config: ServerConfig) -> Result<ServerStatus, ExhookError> {
        let server = self.fleet.add(config).await?;
        Ok(self.status_of(&server))
    }

    /// Replaces a server's configuration (same name, same place in the order): it is unloaded,
    /// then loaded with the new settings if enabled.
    pub async fn update(&self, config: ServerConfig) -> Result<ServerStatus, ExhookError> {
        let server = self.fleet.update(config).await?;
        Ok(self.status_of(&server))
    }

    /// Enables and loads a server (a no-op for one already enabled).
    pub async fn enable(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let server = self.fleet.enable(name).await?;
        Ok(self.status_of(&server))
    }

    /// Disables a server: its hooks are unregistered and `OnProviderUnloaded` is called.
    pub async fn disable(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let server = self.fleet.disable(name).await?;
        Ok(self.status_of(&server))
    }

    /// Unloads and forgets a server.
    pub async fn remove(&self, name: &str) -> Result<(), ExhookError> {
        Ok(self.fleet.remove(name).await?)
    }

    /// Moves a server in the call order; `Before` / `After` name another server.
    pub async fn move_to(&self, name: &str, position: Position) -> Result<(), ExhookError> {
        self.fleet.move_to(name, &position).await?;
        place(self.fleet.shared(), name);
        Ok(())
    }

    /// Runs the load handshake of an enabled server again (its hook list may change); its hooks
    /// stay registered meanwhile.
    pub async fn reload(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let server = self.fleet.reload(name).await?;
        Ok(self.status_of(&server))
    }

    /// Per server × hook counters.
    pub fn stats(&self) -> Vec<ServerStats> {
        self.list()
            .into_iter()
            .map(|s| {
                let mut total = HookMetrics::default();
                for h in &s.hooks {
                    total.add(&h.metrics);
                }
                ServerStats {
                    name: s.name,
                    hooks: s.hooks,
                    total,
                }
            })
            .collect()
    }

    /// Unloads every server (`OnProviderUnloaded`, at most 5 s each, all at once).
    pub async fn stop(&self) {
        self.fleet.stop().await;
    }

    fn status_of(&self, server: &Server) -> ServerStatus {
        let me = handler_name(&server.name);
        let stats = self
            .fleet
            .shared()
            .hooks
            .handlers()
            .into_iter()
            .find(|h| h.spec.name == me)
            .map(|h| h.stats)
            .unwrap_or_default();
        let st = server.state.lock();
        let hooks = st
            .hooks
            .iter()
            .map(|h| HookStatus {
                name: st
                    .version
                    .map_or(h.point.name(), |v| v.hook_name(h.point))
                    .to_owned(),
                topics: h.topics.clone(),
                observe: st.config.observes(h.point),
                metrics: stats
                    .iter()
                    .find(|s| s.point == Some(h.point))
                    .map(HookMetrics::from)
                    .unwrap_or_default(),
            })
            .collect();
        ServerStatus {
            name: server.name.clone(),
            url: st.config.url.clone(),
            enable: st.config.enable,
            status: st.status,
            proto: st.version,
            registered: st.handler.is_some(),
            hooks,
            last_error: st.last_error.clone(),
            failed_action: st.config.failed_action,
            notify: st.config.notify,
            overflow: st.config.overflow,
        }
    }
}

/// Reads a position as the management API writes it: `front`, `rear`, `before:<name>`,
/// `after:<name>`.
pub fn parse_position(text: &str) -> Result<Position, ExhookError> {
    let bad = || ExhookError::Position(text.to_owned());
    match text {
        "front" => Ok(Position::Front),
        "rear" => Ok(Position::Rear),
        _ => match text.split_once(':') {
            Some(("before", n)) if !n.is_empty() => Ok(Position::Before(n.to_owned())),
            Some(("after", n)) if !n.is_empty() => Ok(Position::After(n.to_owned())),
            _ => Err(bad()),
        },
    }
}
