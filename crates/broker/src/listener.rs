//! Listeners: bind the configured addresses and accept connections, each served by its own task.
//! Per-listener connection limits are enforced here, before any byte is read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use crate::Broker;
use crate::connection::{ListenerContext, Transport};
use crate::metrics::Metrics;

/// A listener that is bound and accepting.
#[derive(Debug, Clone)]
pub struct BoundListener {
    /// `tcp:<name>`.
    pub name: String,
    /// The address it listens on (with the real port if port 0 was configured).
    pub local_addr: SocketAddr,
}

/// Counts a listener's open connections and refuses beyond its limit.
#[derive(Debug)]
pub struct ConnectionLimit {
    active: AtomicUsize,
    max: usize,
}

impl ConnectionLimit {
    /// A limit of `max` (0: none).
    pub fn new(max: usize) -> Arc<ConnectionLimit> {
        Arc::new(ConnectionLimit {
            active: AtomicUsize::new(0),
            max,
        })
    }

    /// Takes a slot, or `None` when the limit is reached.
    pub fn acquire(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let n = self.active.fetch_add(1, Ordering::AcqRel);
        if self.max != 0 && n >= self.max {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnectionSlot(self.clone()))
    }
}

/// A taken slot; freed on drop.
#[derive(Debug)]
pub struct ConnectionSlot(Arc<ConnectionLimit>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Accepts TCP connections until the broker shuts down.
pub(crate) async fn accept_tcp(
    broker: Arc<Broker>,
    listener: TcpListener,
    ctx: Arc<ListenerContext>,
    limit: Arc<ConnectionLimit>,
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
                tracing::warn!(listener = %ctx.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = limit.acquire() else {
            Metrics::inc(&broker.shared.metrics.connection_limit_hits);
            tracing::debug!(listener = %ctx.name, %peer, "max_connections reached; connection refused");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let sockport = stream.local_addr().map(|a| a.port()).unwrap_or(0);
        let (reader, writer) = stream.into_split();
        let transport = Transport {
            reader: Box::new(reader),
            writer: Box::new(writer),
            peer,
            sockport,
            listener: ctx.clone(),
            cert: None,
            cert_as_username: None,
        };
        let broker = broker.clone();
        tracker.spawn(async move {
            crate::connection::serve(broker, transport).await;
            drop(slot);
        });
    }
}
