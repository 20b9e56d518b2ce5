//! [`Fleet`]: a list of configured gRPC servers of one kind, loaded at start and managed at run
//! time (add, update, enable, disable, remove, move, reload) without restarting the broker.
//! Both kinds of hook server use it: the EMQX exhook servers of this crate
//! ([`crate::ExhookManager`]) and the servers of hookmq's own stream protocol
//! (`hookmq-ext-client`'s `ExtManager`). What differs between them (how a server loads, what
//! its status says) is the [`Member`] they implement; the list, the order, the names and the
//! serialization of management operations are here, once.
//!
//! Why here and not in a crate of its own: the stream driver already depends on this crate for
//! the HTTP/2 pool, TLS and the configuration types it shares with exhook, and nothing else
//! needs a fleet; a separate crate would move all of those for one consumer.

use std::future::Future;
use std::sync::Arc;

use hookmq_hooks::{Hooks, Position};
use parking_lot::Mutex;

use crate::BrokerInfo;

/// Why a management operation or a configuration was refused; each manager turns it into its
/// own error type, whose messages name its kind of server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    /// A configuration value is unusable.
    #[error("invalid configuration key {key}: {message}")]
    Config {
        /// The key, e.g. `exhook.servers[0].url`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// No server has this name.
    #[error("no server named {0:?}")]
    NotFound(String),
    /// A server with this name exists already.
    #[error("a server named {0:?} already exists")]
    Duplicate(String),
    /// The operation needs an enabled server.
    #[error("server {0:?} is disabled")]
    Disabled(String),
}

/// One kind of server a [`Fleet`] manages.
pub trait Member: Send + Sync + Sized + 'static {
    /// Its `[[...servers]]` entry.
    type Config: Send + 'static;
    /// The configuration section, for error keys: `exhook.servers`.
    const SECTION: &'static str;

    /// The name in a configuration entry.
    fn config_name(config: &Self::Config) -> &str;
    /// Checks one entry; `key` is its place for messages, e.g. `exhook.servers[0]`.
    fn validate(config: &Self::Config, key: &str) -> Result<(), FleetError>;
    /// A server not yet started.
    fn create(config: Self::Config) -> Arc<Self>;
    /// Its name (unique in the fleet).
    fn name(&self) -> &str;
    /// Whether it is enabled.
    fn enabled(&self) -> bool;
    /// Enables or disables it; returns whether it was enabled.
    fn set_enabled(&self, enable: bool) -> bool;
    /// Starts (or restarts) its supervisor; resolves once the first load attempt is over.
    fn start(self: &Arc<Self>, shared: &Arc<Shared<Self>>) -> impl Future<Output = ()> + Send;
    /// Stops it: its handler is unregistered, its connections closed, its status `disabled`.
    fn unload(&self, shared: &Shared<Self>) -> impl Future<Output = ()> + Send;
}

/// What the servers' supervisor tasks share with the fleet.
pub struct Shared<S> {
    /// The hook registry the servers register their handlers in.
    pub hooks: Arc<Hooks>,
    /// Facts about the broker for the load handshakes.
    pub info: BrokerInfo,
    /// The servers in configuration (call) order.
    servers: Mutex<Vec<Arc<S>>>,
}

impl<S: Member> Shared<S> {
    /// Every server, in order.
    pub fn servers(&self) -> Vec<Arc<S>> {
        self.servers.lock().clone()
    }

    /// The server named `name`.
    pub fn find(&self, name: &str) -> Result<Arc<S>, FleetError> {
        self.servers
            .lock()
            .iter()
            .find(|s| s.name() == name)
            .cloned()
            .ok_or_else(|| FleetError::NotFound(name.to_owned()))
    }
}

/// Checks every entry of a section and that names are unique.
pub fn validate_all<S: Member>(configs: &[S::Config]) -> Result<(), FleetError> {
    for (i, c) in configs.iter().enumerate() {
        let key = format!("{}[{i}]", S::SECTION);
        S::validate(c, &key)?;
        let name = S::config_name(c);
        if configs[..i].iter().any(|o| S::config_name(o) == name) {
            return Err(FleetError::Config {
                key: format!("{key}.name"),
                message: format!("a server named {name:?} is already configured"),
            });
        }
    }
    Ok(())
}

/// The configured servers of one kind.
pub struct Fleet<S: Member> {
    shared: Arc<Shared<S>>,
    /// Serializes management operations (each may wait for a load or an unload).
    ops: tokio::sync::Mutex<()>,
}

impl<S: Member> Fleet<S> {
    /// Checks the configuration and loads every enabled server, waiting for each one's first
    /// load attempt so the broker does not accept clients before their hooks are registered.
    /// A server whose load fails does not stop the start: it is retried per its own settings.
    pub async fn start(
        configs: Vec<S::Config>,
        hooks: Arc<Hooks>,
        info: BrokerInfo,
    ) -> Result<Fleet<S>, FleetError> {
        validate_all::<S>(&configs)?;
        let list: Vec<Arc<S>> = configs.into_iter().map(S::create).collect();
        let shared = Arc::new(Shared {
            hooks,
            info,
            servers: Mutex::new(list.clone()),
        });
        let starting = list
            .iter()
            .filter(|s| s.enabled())
            .map(|s| s.start(&shared));
        futures_util::future::join_all(starting).await;
        Ok(Fleet {
            shared,
            ops: tokio::sync::Mutex::new(()),
        })
    }

    /// What the servers share (the hook registry, broker facts, the list).
    pub fn shared(&self) -> &Arc<Shared<S>> {
        &self.shared
    }

    /// Adds a server at the end of the order and loads it if enabled.
    pub async fn add(&self, config: S::Config) -> Result<Arc<S>, FleetError> {
        let _op = self.ops.lock().await;
        S::validate(&config, &format!("{}[new]", S::SECTION))?;
        let server = {
            let mut servers = self.shared.servers.lock();
            let name = S::config_name(&config);
            if servers.iter().any(|s| s.name() == name) {
                return Err(FleetError::Duplicate(name.to_owned()));
            }
            let server = S::create(config);
            servers.push(server.clone());
            server
        };
        if server.enabled() {
            server.start(&self.shared).await;
        }
        Ok(server)
    }

    /// Replaces a server's configuration (same name, same place in the order): it is
    /// unloaded, then loaded with the new settings if enabled.
    pub async fn update(&self, config: S::Config) -> Result<Arc<S>, FleetError> {
        let _op = self.ops.lock().await;
        let name = S::config_name(&config).to_owned();
        S::validate(&config, &format!("{}[{name}]", S::SECTION))?;
        let old = self.shared.find(&name)?;
        old.unload(&self.shared).await;
        let server = S::create(config);
        if let Some(slot) = self
            .shared
            .servers
            .lock()
            .iter_mut()
            .find(|s| s.name() == name)
        {
            *slot = server.clone();
        }
        if server.enabled() {
            server.start(&self.shared).await;
        }
        Ok(server)
    }

    /// Enables and loads a server (a no-op for one already enabled).
    pub async fn enable(&self, name: &str) -> Result<Arc<S>, FleetError> {
        let _op = self.ops.lock().await;
        let server = self.shared.find(name)?;
        if !server.set_enabled(true) {
            server.start(&self.shared).await;
        }
        Ok(server)
    }

    /// Disables a server: it is unloaded and stays configured.
    pub async fn disable(&self, name: &str) -> Result<Arc<S>, FleetError> {
        let _op = self.ops.lock().await;
        let server = self.shared.find(name)?;
        server.set_enabled(false);
        server.unload(&self.shared).await;
        Ok(server)
    }

    /// Unloads and forgets a server.
    pub async fn remove(&self, name: &str) -> Result<(), FleetError> {
        let _op = self.ops.lock().await;
        let server = self.shared.find(name)?;
        server.unload(&self.shared).await;
        self.shared.servers.lock().retain(|s| s.name() != name);
        Ok(())
    }

    /// Loads an enabled server again (its hook list may change).
    pub async fn reload(&self, name: &str) -> Result<Arc<S>, FleetError> {
        let _op = self.ops.lock().await;
        let server = self.shared.find(name)?;
        if !server.enabled() {
            return Err(FleetError::Disabled(name.to_owned()));
        }
        server.start(&self.shared).await;
        Ok(server)
    }

    /// Moves a server in the order; `Before` / `After` name another server.
    pub async fn move_to(&self, name: &str, position: &Position) -> Result<(), FleetError> {
        let _op = self.ops.lock().await;
        let mut servers = self.shared.servers.lock();
        let from = servers
            .iter()
            .position(|s| s.name() == name)
            .ok_or_else(|| FleetError::NotFound(name.to_owned()))?;
        let other = |servers: &[Arc<S>], other: &str| {
            servers
                .iter()
                .position(|s| s.name() == other)
                .ok_or_else(|| FleetError::NotFound(other.to_owned()))
        };
        let mut rest = servers.clone();
        let me = rest.remove(from);
        let at = match position {
            Position::Front => 0,
            Position::Rear => rest.len(),
            Position::Before(o) => other(&rest, o)?,
            Position::After(o) => other(&rest, o)? + 1,
        };
        rest.insert(at, me);
        *servers = rest;
        Ok(())
    }

    /// Unloads every server, all at once.
    pub async fn stop(&self) {
        let _op = self.ops.lock().await;
        let servers = self.shared.servers();
        let unloading = servers.iter().map(|s| s.unload(&self.shared));
        futures_util::future::join_all(unloading).await;
    }
}
