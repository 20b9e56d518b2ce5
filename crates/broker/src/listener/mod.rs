//! Listeners: bind the configured addresses (TCP, TLS, WebSocket, WebSocket over TLS), accept
//! connections, enforce the global and per-listener connection limits before any byte is read,
//! run the TLS and WebSocket handshakes, and hand each stream to its own connection task.

mod limit;
mod tls;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

pub use self::limit::{ConnectionLimit, ConnectionSlot};
use crate::Broker;
use crate::config::{CertField, ListenerConfig, ListenerKind};
use crate::connection::{CertAsUsername, ListenerContext, Transport};
use crate::metrics::{Limit, Metrics};

/// A listener that is bound and accepting.
#[derive(Debug, Clone)]
pub struct BoundListener {
    /// `<kind>:<name>`, e.g. `tcp:default`.
    pub name: String,
    /// The address it listens on (with the real port if port 0 was configured).
    pub local_addr: SocketAddr,
}

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// The address could not be bound.
    #[error("listener {listener} cannot listen on {addr}: {source}")]
    Bind {
        /// Listener name.
        listener: String,
        /// Address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS files could not be used.
    #[error("listener {listener}: {message}")]
    Tls {
        /// Listener name.
        listener: String,
        /// What is wrong.
        message: String,
    },
}

/// Everything an accept loop needs about its listener.
struct Spec {
    kind: ListenerKind,
    ctx: Arc<ListenerContext>,
    limit: Arc<ConnectionLimit>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    path: Arc<str>,
    cert_as_username: Option<CertAsUsername>,
}

/// Binds one listener and spawns its accept loop.
pub(crate) async fn start(
    broker: &Arc<Broker>,
    kind: ListenerKind,
    name: &str,
    cfg: &ListenerConfig,
    global: Arc<ConnectionLimit>,
    tracker: TaskTracker,
) -> Result<BoundListener, ListenerError> {
    let full = format!("{}:{name}", kind.name());
    let tls = if kind.is_tls() {
        Some(tls::acceptor(cfg).map_err(|message| ListenerError::Tls {
            listener: full.clone(),
            message,
        })?)
    } else {
        None
    };
    let addr = cfg.bind_addr(kind);
    let tcp = TcpListener::bind(addr)
        .await
        .map_err(|source| ListenerError::Bind {
            listener: full.clone(),
            addr,
            source,
        })?;
    let local_addr = tcp.local_addr().unwrap_or(addr);
    tracing::info!(listener = %full, addr = %local_addr, "listening");
    let spec = Spec {
        kind,
        ctx: Arc::new(ListenerContext {
            name: full.clone(),
            mountpoint: cfg.mountpoint.clone(),
        }),
        limit: ConnectionLimit::new(cfg.max_connections),
        tls,
        path: cfg.path.as_str().into(),
        cert_as_username: cfg.peer_cert_as_username.map(|f| match f {
            CertField::Cn => CertAsUsername::Cn,
            CertField::Dn => CertAsUsername::Dn,
        }),
    };
    tokio::spawn(accept_loop(
        broker.clone(),
        tcp,
        Arc::new(spec),
        global,
        tracker,
    ));
    Ok(BoundListener {
        name: full,
        local_addr,
    })
}

async fn accept_loop(
    broker: Arc<Broker>,
    listener: TcpListener,
    spec: Arc<Spec>,
    global: Arc<ConnectionLimit>,
    tracker: TaskTracker,
) {
    let shutdown = broker.shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(listener = %spec.ctx.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let slots = global
            .acquire()
            .and_then(|g| spec.limit.acquire().map(|l| (g, l)));
        let Some(slots) = slots else {
            broker.shared.metrics.limit_hit(Limit::MaxConnections);
            tracing::debug!(listener = %spec.ctx.name, %peer, "max_connections reached; connection refused");
            continue;
        };
        let broker = broker.clone();
        // Boxed before the task exists: the TLS / WebSocket handshake state and the stream
        // are freed once it is done instead of staying in the connection task's cell for the
        // connection's lifetime.
        let handshake = {
            let (broker, spec) = (broker.clone(), spec.clone());
            Box::pin(async move { handshake(&broker, &spec, stream, peer).await })
        };
        tracker.spawn(async move {
            if let Some(transport) = handshake.await {
                crate::connection::serve(broker, transport).await;
            }
            drop(slots);
        });
    }
}

/// Runs the TLS and WebSocket handshakes (bounded by `connect_timeout`).
async fn handshake(
    broker: &Broker,
    spec: &Spec,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<Transport> {
    let _ = stream.set_nodelay(true);
    let sockport = stream.local_addr().map(|a| a.port()).unwrap_or(0);
    let limit = broker.shared.config.mqtt.connect_timeout.0;
    let mut transport = Transport {
        reader: Box::new(tokio::io::empty()),
        writer: Box::new(tokio::io::sink()),
        peer,
        sockport,
        listener: spec.ctx.clone(),
        cert: None,
        cert_as_username: spec.cert_as_username,
    };
    let result = tokio::time::timeout(limit, async {
        match (&spec.tls, spec.kind.is_ws()) {
            (None, false) => {
                let (r, w) = stream.into_split();
                transport.reader = Box::new(r);
                transport.writer = Box::new(w);
                Ok::<(), String>(())
            }
            (None, true) => {
                let ws = ws::accept(stream, &spec.path).await?;
                let (r, w) = tokio::io::split(ws);
                transport.reader = Box::new(r);
                transport.writer = Box::new(w);
                Ok(())
            }
            (Some(acceptor), is_ws) => {
                let tls_stream = acceptor
                    .accept(stream)
                    .await
                    .map_err(|e| format!("TLS handshake: {e}"))?;
                transport.cert = tls::peer_cert(tls_stream.get_ref().1);
                if is_ws {
                    let ws = ws::accept(tls_stream, &spec.path).await?;
                    let (r, w) = tokio::io::split(ws);
                    transport.reader = Box::new(r);
                    transport.writer = Box::new(w);
                } else {
                    let (r, w) = tokio::io::split(tls_stream);
                    transport.reader = Box::new(r);
                    transport.writer = Box::new(w);
                }
                Ok(())
            }
        }
    })
    .await;
    match result {
        Ok(Ok(())) => Some(transport),
        Ok(Err(e)) => {
            Metrics::inc(&broker.shared.metrics.protocol_errors);
            tracing::debug!(listener = %spec.ctx.name, %peer, error = %e, "handshake failed");
            None
        }
        Err(_) => {
            broker.shared.metrics.limit_hit(Limit::ConnectTimeout);
            tracing::debug!(listener = %spec.ctx.name, %peer, "handshake timed out");
            None
        }
    }
}
