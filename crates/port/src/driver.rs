//! One loaded driver: its worker pool, registered with the hook registry as a pipelined
//! [`Handler`]. A call picks the client's worker, builds the hook's arguments, appends the
//! worker's `State`, queues the frame before returning (so the registry may keep many calls in
//! flight and each client's order holds), and maps the answer to a [`Verdict`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hookmq_hooks::{
    Event, Handler, HandlerSpec, HookError, HookFuture, HookPoint, Hooks, PointSpec, Verdict,
};

use crate::arguments::{Form, put_hook_arguments};
use crate::config::DriverConfig;
use crate::error::LoadError;
use crate::etf::Atom;
use crate::pool::{DriverContext, Pool};
use crate::runtimes::Runtimes;
use crate::status::WorkerStatus;
use crate::verdict::{error_text, event_verdict, summary};
use crate::worker::Reply;

/// A running driver.
pub(crate) struct Driver {
    /// Its configuration.
    pub(crate) config: DriverConfig,
    pool: Arc<Pool>,
    /// The hooks its `init()` registered (worker 0's answer).
    pub(crate) points: Vec<PointSpec>,
    /// When it was loaded (ms since the epoch).
    pub(crate) loaded_at_ms: u64,
}

impl Driver {
    /// Starts the workers, runs their `init()` and registers the driver with `hooks`.
    pub(crate) async fn load(
        config: DriverConfig,
        runtimes: &Runtimes,
        base_dir: &std::path::Path,
        hooks: &Arc<Hooks>,
        node: Atom,
    ) -> Result<Driver, LoadError> {
        let launch = runtimes.launch(&config, base_dir)?;
        let ctx = Arc::new(DriverContext {
            init_module: Atom::new(&config.init_module),
            config: config.clone(),
            launch,
            hooks: Arc::downgrade(hooks),
        });
        let (pool, reply) = Pool::start(ctx).await?;
        for w in &reply.warnings {
            tracing::warn!(driver = %config.name, "{w}");
        }
        let spec = HandlerSpec {
            name: config.name.clone(),
            driver: config.kind.name().to_owned(),
            points: reply.points.clone(),
            priority: config.priority,
            timeout: config.call_timeout,
            failed_action: config.failed_action,
            dispatch: config.dispatch,
            overflow: config.overflow,
            mandatory: config.mandatory,
            breaker: config.breaker,
            hold_timeout: config.hold_timeout,
        };
        let handler = Arc::new(PortHandler {
            pool: pool.clone(),
            node,
        });
        if let Err(e) = hooks.register(spec, handler) {
            pool.stop().await;
            return Err(e.into());
        }
        let names: Vec<String> = reply
            .points
            .iter()
            .map(|p| match p.observe {
                true => format!("{} (observe)", p.point.port_name()),
                false => p.point.port_name().to_owned(),
            })
            .collect();
        tracing::info!(
            driver = %config.name,
            workers = config.pool_size,
            "driver loaded; hooks: {}",
            names.join(", ")
        );
        Ok(Driver {
            points: reply.points,
            config,
            pool,
            loaded_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        })
    }

    /// Unregisters the driver (no new calls), then runs `deinit()` and stops the workers.
    pub(crate) async fn unload(&self, hooks: &Hooks) {
        let _ = hooks.unregister(&self.config.name);
        self.pool.stop().await;
        tracing::info!(driver = %self.config.name, "driver unloaded");
    }

    /// Worker restarts since it was loaded.
    pub(crate) fn restarts(&self) -> u64 {
        self.pool.restarts()
    }

    /// Each worker's status.
    pub(crate) fn workers(&self) -> Vec<WorkerStatus> {
        self.pool.workers()
    }
}

/// The registry's way into a driver's workers.
struct PortHandler {
    pool: Arc<Pool>,
    node: Atom,
}

impl Handler for PortHandler {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let point = event.point();
        let conn = match self.pool.conn_for(event.clientid()) {
            Ok(c) => c,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let node = &self.node;
        let sent = match &conn.batched {
            Some(batched) => batched[point.index()].map(|t| {
                conn.worker.call_batched(t.index, t.observe, |buf| {
                    put_hook_arguments(buf, &event, node, Form::Values, None)
                })
            }),
            None => conn.targets[point.index()].as_ref().map(|t| {
                conn.worker.call_with(&t.module, &t.function, |buf| {
                    put_hook_arguments(buf, &event, node, Form::Proplist, Some(&conn.state))
                })
            }),
        };
        let rx = match sent {
            Some(Ok(rx)) => rx,
            Some(Err(e)) => return Box::pin(std::future::ready(Err(e))),
            None => return Box::pin(std::future::ready(Ok(Verdict::Ignore))),
        };
        let console = conn.worker.console.clone();
        // While this hook runs, a service call from the worker republishes at this hop count.
        let hop = event
            .message()
            .filter(|_| point == HookPoint::MessagePublish)
            .map(|m| conn.worker.hops.enter(m.headers.hops));
        Box::pin(async move {
            let _hop = hop;
            let answer = rx
                .await
                .unwrap_or_else(|_| Err(HookError::Unavailable("the worker stopped".into())))?;
            match answer {
                Reply::Result { result, .. } | Reply::Value(result) => {
                    let v = event_verdict(&event, &result);
                    if let Err(e) = &v {
                        console.hook_error(point.port_name(), &e.to_string());
                    }
                    v
                }
                Reply::Acknowledged => Ok(Verdict::Ignore),
                Reply::Error(error) => {
                    let text = error_text(&error);
                    console.hook_error(point.port_name(), &text);
                    Err(HookError::Failed(summary(&text).to_owned()))
                }
            }
        })
    }

    fn pipelined(&self) -> bool {
        true
    }
}
