//! The hook registry: which handlers are registered for which points, in which order. The broker
//! holds one [`Hooks`] and asks it, at each hook point, whether anyone listens ([`Hooks::has`],
//! one atomic load) before it builds an event; the chain itself lives in `chain.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::breaker::{Breaker, BreakerStatus};
use crate::dispatch::Dispatcher;
use crate::handler::{Handler, HandlerSpec};
use crate::metrics::{HandlerMetrics, PointStats};
use crate::point::HookPoint;
use crate::service_call::{ServiceCall, ServiceReply};
use crate::services::{BrokerServices, ServiceError, ServiceFuture};
use crate::trace::{TracedHandler, Tracer};

/// Why a registry change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A handler with this name is already registered.
    #[error("a hook handler named {0:?} is already registered")]
    Duplicate(String),
    /// No handler with this name.
    #[error("no hook handler named {0:?}")]
    NotFound(String),
    /// A move relative to a handler of another priority.
    #[error("{0:?} and {1:?} have different priorities; only handlers of equal priority reorder")]
    PriorityMismatch(String, String),
    /// Registration outside a tokio runtime.
    #[error("hook handlers must be registered from within the tokio runtime")]
    NoRuntime,
}

/// Where to move a handler among those of its priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// First.
    Front,
    /// Last.
    Rear,
    /// Just before the named handler.
    Before(String),
    /// Just after the named handler.
    After(String),
}

/// One registered handler.
pub(crate) struct Entry {
    pub(crate) spec: HandlerSpec,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) metrics: Arc<HandlerMetrics>,
    pub(crate) dispatcher: Dispatcher,
}

/// A handler's registration at one point.
#[derive(Clone)]
pub(crate) struct Slot {
    pub(crate) entry: Arc<Entry>,
    /// Topic filters (message points only); empty means all topics.
    pub(crate) topics: Arc<[String]>,
    /// The handler only observes this point.
    pub(crate) observe: bool,
}

impl Slot {
    pub(crate) fn matches_topic(&self, topic: &str) -> bool {
        self.topics.is_empty()
            || self
                .topics
                .iter()
                .any(|f| hookmq_codec::topic::matches(f, topic))
    }
}

/// An immutable snapshot of the registrations, swapped as a whole on change.
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) entries: Vec<Arc<Entry>>,
    pub(crate) by_point: [Vec<Slot>; HookPoint::COUNT],
}

impl Table {
    fn build(entries: Vec<Arc<Entry>>) -> Table {
        let mut by_point: [Vec<Slot>; HookPoint::COUNT] = Default::default();
        for entry in &entries {
            for ps in &entry.spec.points {
                let topics = if ps.point.is_message() {
                    ps.topics.clone()
                } else {
                    Vec::new()
                };
                by_point[ps.point.index()].push(Slot {
                    entry: entry.clone(),
                    topics: topics.into(),
                    observe: ps.observe,
                });
            }
        }
        Table { entries, by_point }
    }
}

/// A listing of one registered handler.
#[derive(Debug, Clone)]
pub struct HandlerInfo {
    /// Its registration.
    pub spec: HandlerSpec,
    /// Counters per registered point.
    pub stats: Vec<PointStats>,
    /// Its circuit breaker.
    pub breaker: BreakerStatus,
}

/// The hook registry and chain runner.
pub struct Hooks {
    pub(crate) table: ArcSwap<Table>,
    /// Per point: whether any handler listens (kept in step with `table` under `write`).
    listening: [AtomicBool; HookPoint::COUNT],
    write: Mutex<()>,
    tracer: Arc<Tracer>,
    /// The broker's services, installed by the broker once it is built (after the drivers).
    services: OnceLock<Arc<dyn BrokerServices>>,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks::new()
    }
}

impl Hooks {
    /// An empty registry.
    pub fn new() -> Hooks {
        Hooks {
            table: ArcSwap::from_pointee(Table::default()),
            listening: Default::default(),
            write: Mutex::new(()),
            tracer: Arc::new(Tracer::default()),
            services: OnceLock::new(),
        }
    }

    /// Installs the broker's services (the broker does this when it is built). False if some
    /// were installed already; the first stay.
    pub fn set_services(&self, services: Arc<dyn BrokerServices>) -> bool {
        self.services.set(services).is_ok()
    }

    /// The broker's services, once a broker installed them.
    pub fn services(&self) -> Option<&Arc<dyn BrokerServices>> {
        self.services.get()
    }

    /// Runs a service call for a driver: [`ServiceError::Unavailable`] without a broker; a
    /// refused call is logged at debug (it is the hook code's fault, not the broker's).
    pub fn call_service(&self, call: ServiceCall) -> ServiceFuture<ServiceReply> {
        let Some(services) = self.services.get() else {
            return Box::pin(std::future::ready(Err(ServiceError::Unavailable)));
        };
        let name = call.name();
        let run = call.run(services.as_ref());
        Box::pin(async move {
            let result = run.await;
            if let Err(e) = &result {
                tracing::debug!(service = name, code = e.code(), error = %e, "hook service refused");
            }
            result
        })
    }

    /// Whether any handler listens at `point`. Call this before building an event: with no
    /// handler the hook point costs one atomic load.
    #[inline]
    pub fn has(&self, point: HookPoint) -> bool {
        self.listening[point.index()].load(Ordering::Relaxed)
    }

    /// The hook traces of this registry (`crate::trace`).
    pub fn tracer(&self) -> &Arc<Tracer> {
        &self.tracer
    }

    /// Installs a new table and the per-point flags that mirror it.
    fn install(&self, table: Table) {
        for (flag, slots) in self.listening.iter().zip(&table.by_point) {
            flag.store(!slots.is_empty(), Ordering::Relaxed);
        }
        self.table.store(Arc::new(table));
    }

    /// Registers a handler after the others of equal or higher priority.
    pub fn register(
        &self,
        spec: HandlerSpec,
        handler: Arc<dyn Handler>,
    ) -> Result<(), RegistryError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RegistryError::NoRuntime);
        }
        let _w = self.write.lock();
        let current = self.table.load();
        if current.entries.iter().any(|e| e.spec.name == spec.name) {
            return Err(RegistryError::Duplicate(spec.name));
        }
        let metrics = Arc::new(HandlerMetrics::default());
        // Every call of every driver passes the trace tap (one atomic load while none runs).
        let handler = TracedHandler::wrap(handler, self.tracer.clone(), &spec);
        let breaker = Arc::new(Breaker::new(spec.name.clone(), spec.breaker));
        let dispatcher = Dispatcher::start(&spec, &handler, &metrics, &breaker);
        let priority = spec.priority;
        let entry = Arc::new(Entry {
            spec,
            handler,
            metrics,
            dispatcher,
        });
        let mut entries = current.entries.clone();
        let at = entries
            .iter()
            .position(|e| e.spec.priority < priority)
            .unwrap_or(entries.len());
        entries.insert(at, entry);
        self.install(Table::build(entries));
        Ok(())
    }

    /// Removes a handler; calls already running finish, queued notifications are still delivered.
    pub fn unregister(&self, name: &str) -> Result<(), RegistryError> {
        let _w = self.write.lock();
        let current = self.table.load();
        let mut entries = current.entries.clone();
        let before = entries.len();
        entries.retain(|e| e.spec.name != name);
        if entries.len() == before {
            return Err(RegistryError::NotFound(name.to_owned()));
        }
        self.install(Table::build(entries));
        Ok(())
    }

    /// Moves a handler among the handlers of its priority.
    pub fn reorder(&self, name: &str, position: Position) -> Result<(), RegistryError> {
        let _w = self.write.lock();
        let current = self.table.load();
        let mut entries = current.entries.clone();
        let from = entries
            .iter()
            .position(|e| e.spec.name == name)
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
        let entry = entries.remove(from);
        let prio = entry.spec.priority;
        let same = |e: &Arc<Entry>| e.spec.priority == prio;
        let find = |other: &str, entries: &[Arc<Entry>]| {
            let i = entries
                .iter()
                .position(|e| e.spec.name == other)
                .ok_or_else(|| RegistryError::NotFound(other.to_owned()))?;
            if entries[i].spec.priority != prio {
                return Err(RegistryError::PriorityMismatch(
                    name.to_owned(),
                    other.to_owned(),
                ));
            }
            Ok(i)
        };
        let at = match &position {
            Position::Front => entries.iter().position(same).unwrap_or_else(|| {
                entries
                    .iter()
                    .position(|e| e.spec.priority < prio)
                    .unwrap_or(entries.len())
            }),
            Position::Rear => entries
                .iter()
                .position(|e| e.spec.priority < prio)
                .unwrap_or(entries.len()),
            Position::Before(other) => find(other, &entries)?,
            Position::After(other) => find(other, &entries)? + 1,
        };
        entries.insert(at, entry);
        self.install(Table::build(entries));
        Ok(())
    }

    /// The registered handlers in call order, with their counters.
    pub fn handlers(&self) -> Vec<HandlerInfo> {
        self.table
            .load()
            .entries
            .iter()
            .map(|e| HandlerInfo {
                spec: e.spec.clone(),
                stats: e
                    .spec
                    .points
                    .iter()
                    .map(|p| e.metrics.point(p.point).snapshot(p.point))
                    .collect(),
                breaker: e.dispatcher.breaker().status(),
            })
            .collect()
    }

    /// Closes the circuit breaker of the handler named `name` (an operator's reset): calls
    /// resume at once. True if it was open or half-open.
    pub fn reset_breaker(&self, name: &str) -> Result<bool, RegistryError> {
        self.table
            .load()
            .entries
            .iter()
            .find(|e| e.spec.name == name)
            .map(|e| e.dispatcher.breaker().reset())
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))
    }

    /// Names of the handlers registered at `point`, in call order.
    pub fn handler_names(&self, point: HookPoint) -> Vec<String> {
        self.table.load().by_point[point.index()]
            .iter()
            .map(|s| s.entry.spec.name.clone())
            .collect()
    }
}
