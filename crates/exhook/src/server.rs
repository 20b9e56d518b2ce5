//! One configured server at run time: its state (health, version, registered hooks) and the
//! supervisor task that loads it, watches its connections every few seconds and reloads it
//! when they are lost (`auto_reconnect`). While a loaded server is reconnecting its hooks stay
//! registered, so its `failed_action` applies to the calls that fail meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hookmq_hooks::{Dispatch, Event, Handler, HandlerSpec, HookFuture, HookPoint, PointSpec};
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::config::{NotifyMode, ServerConfig, check};
use crate::fleet::{FleetError, Member, Shared};
use crate::manager::place;
use crate::status::Status;
use crate::version::ProtoVersion;

/// How often a loaded server's connections are checked.
pub(crate) const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// The registry name of a server's handler.
pub(crate) fn handler_name(server: &str) -> String {
    format!("exhook:{server}")
}

/// The hook handler of one server: every call goes to the current client (swapped on reload).
pub(crate) struct GrpcHandler {
    client: ArcSwap<Client>,
}

impl Handler for GrpcHandler {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let client = self.client.load_full();
        Box::pin(async move { client.call(event).await })
    }
}

/// Mutable facts about a server.
pub(crate) struct State {
    pub(crate) config: ServerConfig,
    pub(crate) status: Status,
    pub(crate) version: Option<ProtoVersion>,
    /// The hooks of the last successful load.
    pub(crate) hooks: Vec<PointSpec>,
    /// Registered with the broker's hooks (only when `hooks` is not empty).
    pub(crate) handler: Option<Arc<GrpcHandler>>,
    /// The client of the last successful load (for `OnProviderUnloaded`).
    pub(crate) client: Option<Arc<Client>>,
    pub(crate) last_error: Option<String>,
}

/// One configured server.
pub(crate) struct Server {
    pub(crate) name: String,
    pub(crate) state: Mutex<State>,
    task: Mutex<Option<JoinHandle<()>>>,
    trouble: Arc<Notify>,
}

impl Server {
    pub(crate) fn new(config: ServerConfig) -> Arc<Server> {
        Arc::new(Server {
            name: config.name.clone(),
            state: Mutex::new(State {
                status: if config.enable {
                    Status::Disconnected
                } else {
                    Status::Disabled
                },
                config,
                version: None,
                hooks: Vec::new(),
                handler: None,
                client: None,
                last_error: None,
            }),
            task: Mutex::new(None),
            trouble: Arc::new(Notify::new()),
        })
    }

    fn set_status(&self, status: Status) {
        self.state.lock().status = status;
    }

    /// Starts (or restarts) the supervisor; resolves once its first load attempt is over.
    pub(crate) async fn start(self: &Arc<Self>, inner: &Arc<Shared<Server>>) {
        // The previous supervisor is gone before the new one starts, so only one installs.
        self.halt().await;
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(supervise(inner.clone(), self.clone(), tx));
        *self.task.lock() = Some(task);
        let _ = rx.await;
    }

    /// Stops the supervisor (the registered hooks, if any, stay).
    pub(crate) async fn halt(&self) {
        let task = self.task.lock().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the supervisor, unregisters the hooks and calls `OnProviderUnloaded`.
    pub(crate) async fn unload(&self, inner: &Shared<Server>) {
        self.halt().await;
        let (registered, client) = {
            let mut st = self.state.lock();
            st.status = Status::Disabled;
            st.version = None;
            st.hooks.clear();
            (st.handler.take().is_some(), st.client.take())
        };
        if registered {
            let _ = inner.hooks.unregister(&handler_name(&self.name));
        }
        if let Some(client) = client {
            client.unload().await;
            tracing::info!(server = %self.name, "exhook server unloaded");
        }
    }
}

/// The exhook servers' side of the [`crate::ExhookManager`]'s fleet.
impl Member for Server {
    type Config = ServerConfig;
    const SECTION: &'static str = "exhook.servers";

    fn config_name(config: &ServerConfig) -> &str {
        &config.name
    }

    fn validate(config: &ServerConfig, key: &str) -> Result<(), FleetError> {
        check(config, key)
    }

    fn create(config: ServerConfig) -> Arc<Self> {
        Server::new(config)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn enabled(&self) -> bool {
        self.state.lock().config.enable
    }

    fn set_enabled(&self, enable: bool) -> bool {
        std::mem::replace(&mut self.state.lock().config.enable, enable)
    }

    fn start(self: &Arc<Self>, shared: &Arc<Shared<Self>>) -> impl Future<Output = ()> + Send {
        Server::start(self, shared)
    }

    fn unload(&self, shared: &Shared<Self>) -> impl Future<Output = ()> + Send {
        Server::unload(self, shared)
    }
}

/// The registration of a server's handler: its hooks, those listed in `observe` marked
/// observe-only (the EMQX protocol cannot say it, so only the configuration does).
/// `client.subscribe` is always observe-only: EMQX's protos cannot answer it with a value, so
/// the broker never waits for it (as before the point became valued).
fn handler_spec(config: &ServerConfig, points: Vec<PointSpec>) -> HandlerSpec {
    let points = points
        .into_iter()
        .map(|p| PointSpec {
            observe: config.observes(p.point) || p.point == HookPoint::ClientSubscribe,
            ..p
        })
        .collect();
    let mut spec = HandlerSpec::new(handler_name(&config.name), "grpc", points);
    spec.timeout = config.request_timeout.0;
    spec.failed_action = config.failed_action.into();
    spec.mandatory = config.mandatory;
    spec.breaker = config.breaker();
    spec.overflow = config.overflow.into();
    spec.dispatch = match config.notify {
        NotifyMode::Async => Dispatch::Queued {
            shards: config.pool_size.saturating_mul(4).max(1),
            capacity: config.queue_capacity,
        },
        NotifyMode::Sync => Dispatch::Inline,
    };
    spec
}

/// Makes a freshly loaded client current: the same hooks as before swap the client under the
/// registered handler (its counters and queues stay); other hooks re-register it.
fn install(inner: &Shared<Server>, server: &Server, client: Arc<Client>, hooks: Vec<PointSpec>) {
    let name = handler_name(&server.name);
    let mut placed = false;
    {
        let mut st = server.state.lock();
        match &st.handler {
            Some(h) if st.hooks == hooks => h.client.store(client.clone()),
            _ => {
                if st.handler.take().is_some() {
                    let _ = inner.hooks.unregister(&name);
                }
                if !hooks.is_empty() {
                    let handler = Arc::new(GrpcHandler {
                        client: ArcSwap::new(client.clone()),
                    });
                    match inner
                        .hooks
                        .register(handler_spec(&st.config, hooks.clone()), handler.clone())
                    {
                        Ok(()) => {
                            st.handler = Some(handler);
                            placed = true;
                        }
                        Err(e) => {
                            tracing::warn!(server = %server.name, error = %e, "cannot register exhook server")
                        }
                    }
                }
            }
        }
        st.version = Some(client.version());
        st.status = Status::Connected;
        st.last_error = None;
        st.hooks = hooks;
        st.client = Some(client);
    }
    if placed {
        place(inner, &server.name);
    }
}

/// Loads the server, then watches it; reloads after a loss, retries failed loads every
/// `auto_reconnect`. `first` is told when the first attempt is over.
async fn supervise(inner: Arc<Shared<Server>>, server: Arc<Server>, first: oneshot::Sender<()>) {
    let mut first = Some(first);
    let config = server.state.lock().config.clone();
    let retry = config.auto_reconnect.0;
    loop {
        server.set_status(Status::Connecting);
        match Client::load(&config, &inner.info, server.trouble.clone()).await {
            Ok((client, hooks)) => {
                let client = Arc::new(client);
                let names: Vec<&str> = hooks
                    .iter()
                    .map(|h| client.version().hook_name(h.point))
                    .collect();
                tracing::info!(server = %config.name, proto = %client.version(), hooks = %names.join(","), "exhook server loaded");
                install(&inner, &server, client.clone(), hooks);
                if let Some(tx) = first.take() {
                    let _ = tx.send(());
                }
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(HEALTH_INTERVAL) => {}
                        () = server.trouble.notified() => {}
                    }
                    if client.healthy() {
                        server.set_status(Status::Connected);
                        continue;
                    }
                    server.set_status(Status::Disconnected);
                    if retry.is_some() {
                        tracing::warn!(server = %config.name, "exhook server connection lost; loading it again");
                        break;
                    }
                }
            }
            Err(e) => {
                {
                    let mut st = server.state.lock();
                    st.status = Status::Disconnected;
                    st.last_error = Some(e.to_string());
                }
                match retry {
                    Some(d) => {
                        tracing::warn!(server = %config.name, error = %e, retry_in = ?d, "exhook server load failed")
                    }
                    None => {
                        tracing::warn!(server = %config.name, error = %e, "exhook server load failed; auto_reconnect is off")
                    }
                }
                if let Some(tx) = first.take() {
                    let _ = tx.send(());
                }
                match retry {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending::<()>().await,
                }
            }
        }
    }
}
