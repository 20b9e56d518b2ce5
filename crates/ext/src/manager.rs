//! [`ExtManager`]: the configured extension servers, loaded at start and managed at run time
//! (add, update, enable, disable, remove, reload) without restarting the broker. The binary
//! starts it before the broker accepts clients; the management API and `hookmq ctl ext` call it
//! afterwards. It needs only a [`Hooks`] registry, so tools can drive an extension without a
//! broker (the hook test kit registers it into a registry of its own).

use std::sync::Arc;

use hookmq_exhook::{BrokerInfo, HookMetrics, Status};
use hookmq_hooks::Hooks;
use parking_lot::Mutex;

use crate::ExtError;
use crate::config::{ExtConfig, validate, validate_server};
use crate::server::{Server, handler_name};
use crate::status::{ExtHookStatus, ExtStatus};

/// State shared by the manager and the servers' supervisor tasks.
pub(crate) struct Inner {
    pub(crate) hooks: Arc<Hooks>,
    pub(crate) info: BrokerInfo,
    servers: Mutex<Vec<Arc<Server>>>,
}

impl Inner {
    fn find(&self, name: &str) -> Result<Arc<Server>, ExtError> {
        self.servers
            .lock()
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| ExtError::NotFound(name.to_owned()))
    }
}

/// The configured extension servers and their streams.
pub struct ExtManager {
    inner: Arc<Inner>,
    /// Serializes management operations (each may wait for a load or an unload).
    ops: tokio::sync::Mutex<()>,
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
        Ok(Arc::new(ExtManager {
            inner,
            ops: tokio::sync::Mutex::new(()),
        }))
    }

    /// Every server in configuration order.
    pub fn list(&self) -> Vec<ExtStatus> {
        let servers = self.inner.servers.lock().clone();
        servers.iter().map(|s| self.status_of(s)).collect()
    }

    /// One server.
    pub fn get(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let server = self.inner.find(name)?;
        Ok(self.status_of(&server))
    }

    /// Adds a server and loads it if enabled.
    pub async fn add(&self, config: ExtConfig) -> Result<ExtStatus, ExtError> {
        let _op = self.ops.lock().await;
        validate_server(&config, "ext.servers[new]")?;
        let server = {
            let mut servers = self.inner.servers.lock();
            if servers.iter().any(|s| s.name == config.name) {
                return Err(ExtError::Duplicate(config.name));
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

    /// Replaces a server's configuration: it is unloaded, then loaded with the new settings if
    /// enabled.
    pub async fn update(&self, config: ExtConfig) -> Result<ExtStatus, ExtError> {
        let _op = self.ops.lock().await;
        validate_server(&config, &format!("ext.servers[{}]", config.name))?;
        let old = self.inner.find(&config.name)?;
        old.unload(&self.inner, Status::Disabled).await;
        let server = Server::new(config);
        if let Some(slot) = self
            .inner
            .servers
            .lock()
            .iter_mut()
            .find(|s| s.name == server.name)
        {
            *slot = server.clone();
        }
        if server.state.lock().config.enable {
            server.start(&self.inner).await;
        }
        Ok(self.status_of(&server))
    }

    /// Enables and loads a server (a no-op for one already enabled).
    pub async fn enable(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        let was = std::mem::replace(&mut server.state.lock().config.enable, true);
        if !was {
            server.start(&self.inner).await;
        }
        Ok(self.status_of(&server))
    }

    /// Disables a server: its handler is unregistered and its streams closed.
    pub async fn disable(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        server.state.lock().config.enable = false;
        server.unload(&self.inner, Status::Disabled).await;
        Ok(self.status_of(&server))
    }

    /// Unloads and forgets a server.
    pub async fn remove(&self, name: &str) -> Result<(), ExtError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        server.unload(&self.inner, Status::Disabled).await;
        self.inner.servers.lock().retain(|s| s.name != name);
        Ok(())
    }

    /// Loads an enabled server again (new streams, a new `Register`: its hook list may change).
    pub async fn reload(&self, name: &str) -> Result<ExtStatus, ExtError> {
        let _op = self.ops.lock().await;
        let server = self.inner.find(name)?;
        if !server.state.lock().config.enable {
            return Err(ExtError::Disabled(name.to_owned()));
        }
        server.start(&self.inner).await;
        Ok(self.status_of(&server))
    }

    /// Unloads every server.
    pub async fn stop(&self) {
        let _op = self.ops.lock().await;
        let servers = self.inner.servers.lock().clone();
        let unloading = servers
            .iter()
            .map(|s| s.unload(&self.inner, Status::Disabled));
        futures_util::future::join_all(unloading).await;
    }

    fn status_of(&self, server: &Server) -> ExtStatus {
        let me = handler_name(&server.name);
        let info = self
            .inner
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
