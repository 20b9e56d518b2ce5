//! [`ExhookManager`]: the configured servers in call order, loaded at start and managed at run
//! time (add, enable, disable, remove, move, reload) without restarting the broker. The binary
//! starts it before the broker accepts clients; the management API and `hookmq ctl exhook` call
//! it afterwards.

use std::collections::HashSet;
use std::sync::Arc;

use hookmq_hooks::{Hooks, Position};
use parking_lot::Mutex;

use crate::config::{ServerConfig, validate, validate_server};
use crate::server::{Server, handler_name};
use crate::status::{HookMetrics, HookStatus, ServerStats, ServerStatus, Status};
use crate::{BrokerInfo, ExhookError};

/// State shared by the manager and the servers' supervisor tasks.
pub(crate) struct Inner {
    pub(crate) hooks: Arc<Hooks>,
    pub(crate) info: BrokerInfo,
    /// Servers in call order.
    servers: Mutex<Vec<Arc<Server>>>,
}

impl Inner {
    /// Moves a server's registered handler to its place: before the next registered server of
    /// the configured order, else after the previous one.
    pub(crate) fn place(&self, name: &str) {
        let order: Vec<String> = self.servers.lock().iter().map(|s| s.name.clone()).collect();
        let registered: HashSet<String> = self
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
            (Some(next), _) => self.hooks.reorder(&me, Position::Before(next)),
            (None, Some(prev)) => self.hooks.reorder(&me, Position::After(prev)),
            (None, None) => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(server = %name, error = %e, "cannot order exhook server");
        }
    }

    fn find(&self, name: &str) -> Result<Arc<Server>, ExhookError> {
        self.servers
            .lock()
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| ExhookError::NotFound(name.to_owned()))
    }
}

/// The configured exhook servers and their connections.
pub struct ExhookManager {
    inner: Arc<Inner>,
    /// Serializes management operations (each may wait for a load or an unload).
    ops: tokio::sync::Mutex<()>,
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
        validate(&servers)?;
        let list: Vec<Arc<Server>> = servers.into_iter().map(Server::new).collect();
        let inner = Arc::new(Inner {
            hooks,
            info,
            servers: Mutex::new(list.clone()),
        });
        let starting = list
            .iter()
            .filter(|s| s.state.lock().config.enable)
            .map(|s| s.start(&inner));
        futures_util::future::join_all(starting).await;
        Ok(Arc::new(ExhookManager {
            inner,
            ops: tokio::sync::Mutex::new(()),
        }))
    }

    /// Every server in call order.
    pub fn list(&self) -> Vec<ServerStatus> {
        let servers = self.inner.servers.lock().clone();
        servers.iter().map(|s| self.status_of(s)).collect()
    }

    /// One server.
    pub fn get(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let server = self.inner.find(name)?;
        Ok(self.status_of(&server))
    }

    /// Adds a server at the end of the call order and loads it if enabled.
    pub async fn add(&self, config: ServerConfig) -> Result<ServerStatus, ExhookError> {
        let _op = self.ops.lock().await;
        validate_server(&config, "exhook.servers[new]")?;
        let server = {
            let mut servers = self.inner.servers.lock();
            if servers.iter().any(|s| s.name == config.name) {
                return Err(ExhookError::Duplicate(config.name));
            }
            let server = Server::new(config);
            servers.push(server.clone());
            server
        };
        if server.state.lock().config.enable {
            server.start(&self.inner).await;
        }
        Ok(self.status_of(&server))
    }

    /// Replaces a server's configuration (same name, same place in the order): it is unloaded,
    /// then loaded with the new settings if enabled.
    pub async fn update(&self, config: ServerConfig) -> Result<ServerStatus, ExhookError> {
        let _op = self.ops.lock().await;
        validate_server(&config, &format!("exhook.servers[{}]", config.name))?;
        let old = self.inner.find(&config.name)?;
        old.unload(&self.inner, Status::Disabled).await;
        let server = Server::new(config);
        {
            let mut servers = self.inner.servers.lock();
            if let Some(slot) = servers.iter_mut().find(|s| s.name == server.name) {
                *slot = server.clone();
            }
        }
        if server.state.lock().config.enable {
            server.start(&self.inner).await;
        }
        Ok(self.status_of(&server))
    }

    /// Enables and loads a server (a no-op for one already enabled).
    pub async fn enable(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        let was = std::mem::replace(&mut server.state.lock().config.enable, true);
        if !was {
            server.start(&self.inner).await;
        }
        Ok(self.status_of(&server))
    }

    /// Disables a server: its hooks are unregistered and `OnProviderUnloaded` is called.
    pub async fn disable(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        server.state.lock().config.enable = false;
        server.unload(&self.inner, Status::Disabled).await;
        Ok(self.status_of(&server))
    }

    /// Unloads and forgets a server.
    pub async fn remove(&self, name: &str) -> Result<(), ExhookError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        server.unload(&self.inner, Status::Disabled).await;
        self.inner.servers.lock().retain(|s| s.name != name);
        Ok(())
    }

    /// Moves a server in the call order; `Before` / `After` name another server.
    pub async fn move_to(&self, name: &str, position: Position) -> Result<(), ExhookError> {
        let _op = self.ops.lock().await;
        {
            let mut servers = self.inner.servers.lock();
            let from = servers
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| ExhookError::NotFound(name.to_owned()))?;
            let other = |servers: &[Arc<Server>], other: &str| {
                servers
                    .iter()
                    .position(|s| s.name == other)
                    .ok_or_else(|| ExhookError::NotFound(other.to_owned()))
            };
            let mut rest = servers.clone();
            let me = rest.remove(from);
            let at = match &position {
                Position::Front => 0,
                Position::Rear => rest.len(),
                Position::Before(o) => other(&rest, o)?,
                Position::After(o) => other(&rest, o)? + 1,
            };
            rest.insert(at, me);
            *servers = rest;
        }
        self.inner.place(name);
        Ok(())
    }

    /// Runs the load handshake of an enabled server again (its hook list may change); its hooks
    /// stay registered meanwhile.
    pub async fn reload(&self, name: &str) -> Result<ServerStatus, ExhookError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        if !server.state.lock().config.enable {
            return Err(ExhookError::Disabled(name.to_owned()));
        }
        server.start(&self.inner).await;
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
        let _op = self.ops.lock().await;
        let servers = self.inner.servers.lock().clone();
        let unloading = servers
            .iter()
            .map(|s| s.unload(&self.inner, Status::Disabled));
        futures_util::future::join_all(unloading).await;
    }

    fn status_of(&self, server: &Server) -> ServerStatus {
        let me = handler_name(&server.name);
        let stats = self
            .inner
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
