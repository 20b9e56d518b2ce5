//! One configured extension server at run time: its state and the supervisor task that loads
//! it (every stream of the pool: `Hello` → `Register`), registers its handler in the broker's
//! hooks, and keeps each stream open: a lost stream fails its waiting calls at once and is
//! opened again with a backoff (100 ms doubling up to `auto_reconnect`); a stream that comes
//! back with a different registration makes the whole server load again.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hookmq_exhook::Status;
use hookmq_exhook::fleet::{FleetError, Member, Shared};
use hookmq_exhook::transport::Pool;
use hookmq_hooks::{Dispatch, HandlerSpec, Overflow};
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{ExtConfig, ObservePolicy, check};
use crate::counters::{Counters, add};
use crate::handler::StreamHandler;
use crate::proto::v1 as pb;
use crate::registration::{PROTOCOL_VERSION, Registration};
use crate::stream::{HandshakeError, Limits, MAX_FRAME_BYTES, Opened, Stream};

/// First wait before reopening a lost stream.
const BACKOFF_START: Duration = Duration::from_millis(100);

/// The registry name of a server's handler.
pub(crate) fn handler_name(server: &str) -> String {
    format!("ext:{server}")
}

/// Mutable facts about a server.
pub(crate) struct State {
    pub(crate) config: ExtConfig,
    pub(crate) status: Status,
    /// What the extension registered in the last successful load.
    pub(crate) registered: Vec<Registration>,
    /// Registered with the broker's hooks (only when `registered` is not empty).
    pub(crate) handler: Option<Arc<StreamHandler>>,
    pub(crate) last_error: Option<String>,
}

/// One configured server.
pub(crate) struct Server {
    pub(crate) name: String,
    pub(crate) state: Mutex<State>,
    pub(crate) counters: Arc<Counters>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}")]
    Connect(String),
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("streams registered different hooks (stream 0 and stream {0})")]
    Mismatch(usize),
}

impl Server {
    pub(crate) fn new(config: ExtConfig) -> Arc<Server> {
        Arc::new(Server {
            name: config.name.clone(),
            state: Mutex::new(State {
                status: if config.enable {
                    Status::Disconnected
                } else {
                    Status::Disabled
                },
                config,
                registered: Vec::new(),
                handler: None,
                last_error: None,
            }),
            counters: Arc::new(Counters::default()),
            task: Mutex::new(None),
        })
    }

    /// Starts (or restarts) the supervisor; resolves once its first load attempt is over.
    pub(crate) async fn start(self: &Arc<Self>, inner: &Arc<Shared<Server>>) {
        self.halt().await;
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(supervise(inner.clone(), self.clone(), tx));
        *self.task.lock() = Some(task);
        let _ = rx.await;
    }

    /// Stops the supervisor and the streams it keeps (the registered handler, if any, stays).
    async fn halt(&self) {
        let task = self.task.lock().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the supervisor, unregisters the handler and closes the streams.
    pub(crate) async fn unload(&self, inner: &Shared<Server>) {
        self.halt().await;
        let handler = {
            let mut st = self.state.lock();
            st.status = Status::Disabled;
            st.registered.clear();
            st.handler.take()
        };
        if let Some(handler) = handler {
            let _ = inner.hooks.unregister(&handler_name(&self.name));
            handler.close("unloaded");
            tracing::info!(server = %self.name, "extension unloaded");
        }
    }
}

/// The extension servers' side of the [`crate::ExtManager`]'s fleet.
impl Member for Server {
    type Config = ExtConfig;
    const SECTION: &'static str = "ext.servers";

    fn config_name(config: &ExtConfig) -> &str {
        &config.name
    }

    fn validate(config: &ExtConfig, key: &str) -> Result<(), FleetError> {
        check(config, key)
    }

    fn create(config: ExtConfig) -> Arc<Self> {
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

fn hello(inner: &Shared<Server>, config: &ExtConfig, index: usize) -> pb::Hello {
    pb::Hello {
        protocol_version: PROTOCOL_VERSION,
        node: inner.info.node.clone(),
        broker_version: inner.info.version.clone(),
        extension_name: config.name.clone(),
        stream_index: index as u32,
        stream_count: config.pool_size as u32,
        limits: Some(pb::Limits {
            max_batch: config.max_batch as u32,
            max_inflight: config.max_inflight as u32,
            request_timeout_ms: u32::try_from(config.request_timeout.0.as_millis())
                .unwrap_or(u32::MAX),
            max_frame_bytes: MAX_FRAME_BYTES as u32,
        }),
        cluster_name: inner.info.cluster_name.clone(),
    }
}

fn limits(config: &ExtConfig) -> Limits {
    Limits {
        max_batch: config.max_batch,
        max_inflight: config.max_inflight,
        queue_capacity: config.queue_capacity,
        request_timeout: config.request_timeout.0,
    }
}

/// Opens stream `index` of the pool.
async fn open(
    inner: &Shared<Server>,
    server: &Server,
    pool: &Pool,
    config: &ExtConfig,
    index: usize,
) -> Result<Opened, HandshakeError> {
    Stream::open(
        pool.channel(index),
        index,
        hello(inner, config, index),
        limits(config),
        server.counters.clone(),
        Arc::downgrade(&inner.hooks),
    )
    .await
}

/// Connects the pool and opens every stream; all must register the same hooks.
async fn load(
    inner: &Shared<Server>,
    server: &Server,
    config: &ExtConfig,
) -> Result<(Pool, Vec<Opened>), LoadError> {
    let pool = Pool::connect(&config.url, &config.ssl, config.pool_size)
        .await
        .map_err(LoadError::Connect)?;
    let opening = (0..pool.len()).map(|i| open(inner, server, &pool, config, i));
    let opened = futures_util::future::join_all(opening).await;
    let mut streams = Vec::with_capacity(opened.len());
    let mut failure = None;
    for o in opened {
        match o {
            Ok(o) => streams.push(o),
            Err(e) => failure = failure.or(Some(LoadError::Handshake(e))),
        }
    }
    if failure.is_none()
        && let Some(i) = streams
            .iter()
            .position(|o| o.registered != streams[0].registered)
    {
        failure = Some(LoadError::Mismatch(i));
    }
    if let Some(e) = failure {
        for o in &streams {
            o.stream.close("load failed");
        }
        return Err(e);
    }
    Ok((pool, streams))
}

/// Registers a freshly loaded server's handler (replacing the previous one).
fn install(
    inner: &Shared<Server>,
    server: &Server,
    registered: Vec<Registration>,
    handler: StreamHandler,
) {
    let name = handler_name(&server.name);
    let handler = Arc::new(handler);
    let mut st = server.state.lock();
    if let Some(old) = st.handler.take() {
        let _ = inner.hooks.unregister(&name);
        old.close("reloaded");
    }
    if !registered.is_empty() {
        let config = &st.config;
        let mut spec = HandlerSpec::new(
            name,
            "stream",
            registered.iter().map(|r| r.spec.clone()).collect(),
        );
        spec.timeout = config.request_timeout.0;
        spec.failed_action = config.failed_action.into();
        spec.mandatory = config.mandatory;
        spec.hold_timeout = config.hold_timeout.0;
        spec.breaker = config.breaker();
        spec.priority = config.priority;
        // Observe-only points reach the handler through the registry's queues; a full one
        // drops (counted) or waits, as the server's observe_policy says.
        spec.overflow = match config.observe_policy {
            ObservePolicy::Drop => Overflow::Drop,
            ObservePolicy::Block => Overflow::Block,
        };
        // The handler queues on the client's stream itself and waits only for valued replies:
        // an extra queue in front of it would add a task hop per event and nothing else.
        spec.dispatch = Dispatch::Inline;
        if let Err(e) = inner.hooks.register(spec, handler.clone()) {
            tracing::warn!(server = %server.name, error = %e, "cannot register the extension");
        }
    }
    // Kept even without hooks, so unloading closes the streams.
    st.handler = Some(handler);
    st.status = Status::Connected;
    st.last_error = None;
    st.registered = registered;
}

/// Loads the server, keeps its streams open, loads it again when a stream comes back with a
/// different registration; retries failed loads every `auto_reconnect`.
async fn supervise(inner: Arc<Shared<Server>>, server: Arc<Server>, first: oneshot::Sender<()>) {
    let mut first = Some(first);
    let config = server.state.lock().config.clone();
    let retry = config.auto_reconnect.0;
    loop {
        server.state.lock().status = Status::Connecting;
        match load(&inner, &server, &config).await {
            Ok((pool, opened)) => {
                let registered = opened[0].registered.clone();
                let points: Vec<String> = registered
                    .iter()
                    .map(|r| {
                        let mut p = r.spec.point.name().to_owned();
                        if r.observe {
                            p.push_str("(observe)");
                        }
                        p
                    })
                    .collect();
                tracing::info!(server = %config.name, streams = pool.len(), hooks = %points.join(","), "extension loaded");
                let mut losses = Vec::with_capacity(opened.len());
                let mut streams = Vec::with_capacity(opened.len());
                for o in opened {
                    streams.push(o.stream);
                    losses.push(o.lost);
                }
                let handler = StreamHandler::new(
                    streams,
                    &registered,
                    config.observe_policy,
                    server.counters.clone(),
                );
                install(&inner, &server, registered.clone(), handler);
                if let Some(tx) = first.take() {
                    let _ = tx.send(());
                }
                keep(&inner, &server, &config, pool, registered, losses).await;
                tracing::warn!(server = %config.name, "extension registered other hooks; loading it again");
            }
            Err(e) => {
                {
                    let mut st = server.state.lock();
                    st.status = Status::Disconnected;
                    st.last_error = Some(e.to_string());
                }
                match retry {
                    Some(d) => {
                        tracing::warn!(server = %config.name, error = %e, retry_in = ?d, "extension load failed")
                    }
                    None => {
                        tracing::warn!(server = %config.name, error = %e, "extension load failed; auto_reconnect is off")
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

/// Keeps every stream open; returns when one came back with another registration.
async fn keep(
    inner: &Arc<Shared<Server>>,
    server: &Arc<Server>,
    config: &ExtConfig,
    pool: Pool,
    registered: Vec<Registration>,
    losses: Vec<oneshot::Receiver<String>>,
) {
    let pool = Arc::new(pool);
    let (reload_tx, mut reload) = mpsc::channel::<()>(1);
    let mut tasks = JoinSet::new();
    for (index, lost) in losses.into_iter().enumerate() {
        tasks.spawn(keep_one(
            inner.clone(),
            server.clone(),
            config.clone(),
            pool.clone(),
            registered.clone(),
            index,
            lost,
            reload_tx.clone(),
        ));
    }
    drop(reload_tx);
    // Dropping the set (on return, or when the supervisor is aborted) stops every keeper.
    if reload.recv().await.is_none() {
        // Every keeper ended (auto_reconnect = false and all streams lost): stay as we are.
        std::future::pending::<()>().await;
    }
}

/// Keeps stream `index` open: after a loss, opens it again with a doubling backoff.
#[allow(clippy::too_many_arguments)]
async fn keep_one(
    inner: Arc<Shared<Server>>,
    server: Arc<Server>,
    config: ExtConfig,
    pool: Arc<Pool>,
    registered: Vec<Registration>,
    index: usize,
    mut lost: oneshot::Receiver<String>,
    reload: mpsc::Sender<()>,
) {
    loop {
        let why = (&mut lost).await.unwrap_or_else(|_| "closed".into());
        let handler = server.state.lock().handler.clone();
        if let Some(h) = &handler {
            h.streams[index].store(None);
        }
        let Some(max) = config.auto_reconnect.0 else {
            tracing::warn!(server = %config.name, stream = index, reason = %why, "extension stream lost; auto_reconnect is off");
            return;
        };
        tracing::warn!(server = %config.name, stream = index, reason = %why, "extension stream lost; reconnecting");
        let mut delay = BACKOFF_START.min(max);
        let opened = loop {
            tokio::time::sleep(delay).await;
            match open(&inner, &server, &pool, &config, index).await {
                Ok(o) => break o,
                Err(e) => {
                    tracing::debug!(server = %config.name, stream = index, error = %e, "reconnect failed");
                    delay = (delay * 2).min(max);
                }
            }
        };
        add(&server.counters.reconnects, 1);
        if opened.registered != registered {
            opened.stream.close("registration changed");
            let _ = reload.send(()).await;
            return;
        }
        tracing::info!(server = %config.name, stream = index, "extension stream reopened");
        if let Some(h) = &handler {
            h.streams[index].store(Some(opened.stream));
        }
        lost = opened.lost;
    }
}
