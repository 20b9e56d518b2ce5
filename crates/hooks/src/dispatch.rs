//! How a registered handler is reached: directly in the caller's task, or through bounded queues
//! (one per shard of client ids) served by background tasks, so each client's events reach the
//! handler in order and a slow handler never blocks the broker's notification path. Events the
//! broker does not wait for (notifications, observe-only points) meet the handler's
//! [`Overflow`] policy when a queue is full. Every call of every driver starts in [`invoke`],
//! which asks the handler's circuit breaker first (`breaker.rs`) and reports the outcome to it.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::{FuturesOrdered, FuturesUnordered};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::{Instant, timeout_at};

use crate::breaker::{Admission, BREAKER_OPEN, Breaker, BreakerState};
use crate::event::Event;
use crate::handler::{Dispatch, Handler, HandlerSpec, HookError, Overflow, Verdict};
use crate::metrics::HandlerMetrics;

/// Calls a handler may have in flight per shard (pipelined: in queue order; otherwise: of
/// different clients).
const PIPELINE_WINDOW: usize = 64;

type Reply = oneshot::Sender<Result<Verdict, HookError>>;

/// One queued call.
pub(crate) struct Job {
    event: Arc<Event>,
    /// Valued calls carry the caller's deadline; notifications get theirs when dequeued.
    deadline: Option<Instant>,
    reply: Option<Reply>,
    /// An event of an observe-only point: a value it answers is counted, not used.
    observed: bool,
    /// Its place in the shard's bound, given back when the call starts. `None` for an event
    /// queued beyond the bound (`Overflow::Block` where the caller cannot wait).
    room: Option<OwnedSemaphorePermit>,
}

/// One shard: an ordered queue and the room left in its bound. The queue itself is unbounded;
/// the semaphore bounds it, so a caller that may not wait can still queue in order.
struct Shard {
    tx: mpsc::UnboundedSender<Job>,
    room: Arc<Semaphore>,
}

/// The way into one handler.
pub(crate) struct Dispatcher {
    /// Valued calls and notifications of non-observed points run in the caller's task.
    inline: bool,
    /// Per-shard queues, each served in order by its own task; for an inline handler only when
    /// it has observe-only points (which then use them).
    shards: Vec<Shard>,
    overflow: Overflow,
    timeout: Duration,
    /// The handler's circuit breaker, asked before every call.
    breaker: Arc<Breaker>,
}

impl Dispatcher {
    /// Builds the dispatcher, spawning the shard tasks on the current tokio runtime.
    pub(crate) fn start(
        spec: &HandlerSpec,
        handler: &Arc<dyn Handler>,
        metrics: &Arc<HandlerMetrics>,
        breaker: &Arc<Breaker>,
    ) -> Dispatcher {
        let inline = matches!(spec.dispatch, Dispatch::Inline);
        let (shards, capacity) = match spec.dispatch {
            Dispatch::Queued { shards, capacity } => (shards.max(1), capacity),
            Dispatch::Inline if spec.observes() => match Dispatch::default() {
                Dispatch::Queued { shards, capacity } => (shards.max(1), capacity),
                Dispatch::Inline => (1, 1),
            },
            Dispatch::Inline => (0, 0),
        };
        let pipelined = handler.pipelined();
        let timeout = spec.timeout;
        let shards = (0..shards)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                let to = Target {
                    handler: handler.clone(),
                    metrics: metrics.clone(),
                    breaker: breaker.clone(),
                };
                if pipelined {
                    tokio::spawn(serve_pipelined(to, rx, timeout));
                } else {
                    tokio::spawn(serve_per_client(to, rx, timeout));
                }
                Shard {
                    tx,
                    room: Arc::new(Semaphore::new(capacity.max(1))),
                }
            })
            .collect();
        Dispatcher {
            inline,
            shards,
            overflow: spec.overflow,
            timeout,
            breaker: breaker.clone(),
        }
    }

    /// The handler's circuit breaker.
    pub(crate) fn breaker(&self) -> &Arc<Breaker> {
        &self.breaker
    }

    fn shard(&self, clientid: &str) -> &Shard {
        let mut h = DefaultHasher::new();
        clientid.hash(&mut h);
        &self.shards[(h.finish() as usize) % self.shards.len()]
    }

    /// Calls the handler and waits for its answer until `deadline`.
    pub(crate) async fn call(
        &self,
        handler: &Arc<dyn Handler>,
        metrics: &Arc<HandlerMetrics>,
        event: Arc<Event>,
        deadline: Instant,
    ) -> Result<Verdict, HookError> {
        if self.inline {
            return invoke(handler, metrics, &self.breaker, event, deadline, false).await;
        }
        let point = event.point();
        // An open breaker answers at once, without waiting for room in the queue.
        if self.breaker.state() != BreakerState::Closed && self.breaker.skips(Instant::now()) {
            metrics.point(point).record_skipped();
            return Err(HookError::Unavailable(BREAKER_OPEN.into()));
        }
        let shard = self.shard(event.clientid());
        let room = match timeout_at(deadline, shard.room.clone().acquire_owned()).await {
            Ok(Ok(room)) => room,
            Ok(Err(_)) => return Err(HookError::Unavailable("handler stopped".into())),
            Err(_) => {
                metrics.point(point).record_timeout();
                return Err(HookError::Timeout);
            }
        };
        let (tx, rx) = oneshot::channel();
        let job = Job {
            event,
            deadline: Some(deadline),
            reply: Some(tx),
            observed: false,
            room: Some(room),
        };
        if shard.tx.send(job).is_err() {
            return Err(HookError::Unavailable("handler stopped".into()));
        }
        rx.await
            .unwrap_or_else(|_| Err(HookError::Unavailable("handler stopped".into())))
    }

    /// Tells the handler about an event it is not asked to decide (a notification, or any event
    /// of an observe-only point). Queued: waits only for room under [`Overflow::Block`] (at most
    /// the handler's timeout), otherwise a full queue drops and counts the event. Inline (and not
    /// observed): awaits the call.
    pub(crate) async fn notify(
        &self,
        handler: &Arc<dyn Handler>,
        metrics: &Arc<HandlerMetrics>,
        event: Arc<Event>,
        observed: bool,
    ) {
        if self.inline && !observed {
            let deadline = Instant::now() + self.timeout;
            let _ = invoke(handler, metrics, &self.breaker, event, deadline, false).await;
            return;
        }
        let shard = self.shard(event.clientid());
        let room = match shard.room.clone().try_acquire_owned() {
            Ok(room) => room,
            Err(_) if self.overflow == Overflow::Block => {
                let wait = shard.room.clone().acquire_owned();
                match tokio::time::timeout(self.timeout, wait).await {
                    Ok(Ok(room)) => room,
                    _ => return metrics.point(event.point()).record_dropped(),
                }
            }
            Err(_) => return metrics.point(event.point()).record_dropped(),
        };
        queue(shard, event, observed, Some(room), metrics);
    }

    /// Like [`Dispatcher::notify`] for a caller that cannot wait: queues at once (a full queue
    /// drops and counts the event, or under [`Overflow::Block`] queues it beyond the bound).
    /// Gives the event back if this handler is inline and must be awaited instead.
    pub(crate) fn enqueue(
        &self,
        metrics: &HandlerMetrics,
        event: Arc<Event>,
        observed: bool,
    ) -> Option<Arc<Event>> {
        if self.inline && !observed {
            return Some(event);
        }
        let shard = self.shard(event.clientid());
        let room = match shard.room.clone().try_acquire_owned() {
            Ok(room) => Some(room),
            Err(_) if self.overflow == Overflow::Block => None,
            Err(_) => {
                metrics.point(event.point()).record_dropped();
                return None;
            }
        };
        queue(shard, event, observed, room, metrics);
        None
    }
}

/// Puts a notification or observed event on `shard`'s queue.
fn queue(
    shard: &Shard,
    event: Arc<Event>,
    observed: bool,
    room: Option<OwnedSemaphorePermit>,
    metrics: &HandlerMetrics,
) {
    let point = event.point();
    let job = Job {
        event,
        deadline: None,
        reply: None,
        observed,
        room,
    };
    if shard.tx.send(job).is_err() {
        metrics.point(point).record_dropped();
    }
}

/// The handler of a shard task and what its calls report to.
struct Target {
    handler: Arc<dyn Handler>,
    metrics: Arc<HandlerMetrics>,
    breaker: Arc<Breaker>,
}

/// Tells the breaker about a probe call that ended without an outcome (its future was dropped).
struct ProbeGuard {
    breaker: Arc<Breaker>,
    admission: Admission,
}

impl ProbeGuard {
    /// Reports the outcome; the guard is spent.
    fn report(mut self, outcome: &Result<Verdict, HookError>) {
        match outcome {
            Ok(_) => self.breaker.success(self.admission),
            Err(_) => self.breaker.failure(self.admission, Instant::now()),
        }
        self.admission = Admission::Call;
    }
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        self.breaker.abandon(self.admission);
    }
}

/// Starts the handler's call now (so a pipelined handler fixes the order here) and returns a
/// future that waits for the answer until `deadline` and records it. The breaker decides first:
/// while it is open the call is not made, counted as skipped, and answered
/// [`HookError::Unavailable`] ([`BREAKER_OPEN`]); the outcome of a call made is reported to it.
fn invoke(
    handler: &Arc<dyn Handler>,
    metrics: &Arc<HandlerMetrics>,
    breaker: &Arc<Breaker>,
    event: Arc<Event>,
    deadline: Instant,
    observed: bool,
) -> impl Future<Output = Result<Verdict, HookError>> + Send + 'static {
    let point = event.point();
    let start = Instant::now();
    let admission = if start < deadline {
        breaker.admit(start)
    } else {
        Admission::Call
    };
    if admission == Admission::Skip {
        metrics.point(point).record_skipped();
    }
    let call = (start < deadline && admission != Admission::Skip).then(|| handler.call(event));
    // Without a breaker the call path takes no reference to it (no atomic increment per call).
    let guard = breaker.enabled().then(|| ProbeGuard {
        breaker: breaker.clone(),
        admission,
    });
    let metrics = metrics.clone();
    async move {
        if admission == Admission::Skip {
            return Err(HookError::Unavailable(BREAKER_OPEN.into()));
        }
        let outcome = match call {
            None => Err(HookError::Timeout),
            Some(mut call) => {
                // A handler that answers at once (native closures) needs no deadline timer.
                match std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await {
                    Poll::Ready(outcome) => outcome,
                    Poll::Pending => timeout_at(deadline, call)
                        .await
                        .unwrap_or(Err(HookError::Timeout)),
                }
            }
        };
        if let Some(guard) = guard {
            guard.report(&outcome);
        }
        metrics
            .point(point)
            .record_call(&outcome, start.elapsed(), observed);
        outcome
    }
}

/// Starts a queued job's call and returns a future that answers its waiter.
fn start_job(
    to: &Target,
    job: Job,
    timeout: Duration,
) -> impl Future<Output = ()> + Send + 'static {
    drop(job.room);
    let deadline = job.deadline.unwrap_or_else(|| Instant::now() + timeout);
    let call = invoke(
        &to.handler,
        &to.metrics,
        &to.breaker,
        job.event,
        deadline,
        job.observed,
    );
    let reply = job.reply;
    async move {
        let outcome = call.await;
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }
}

/// A pipelined handler fixes the order itself when a call starts, so calls are started in queue
/// order and up to [`PIPELINE_WINDOW`] run at once.
async fn serve_pipelined(to: Target, mut rx: mpsc::UnboundedReceiver<Job>, timeout: Duration) {
    let mut inflight = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            Some(()) = inflight.next(), if !inflight.is_empty() => {}
            job = rx.recv(), if inflight.len() < PIPELINE_WINDOW => {
                let Some(job) = job else { break };
                inflight.push_back(start_job(&to, job, timeout));
            }
        }
    }
    while inflight.next().await.is_some() {}
}

/// Runs a call and gives back the client it was for.
async fn keyed(run: impl Future<Output = ()>, key: String) -> String {
    run.await;
    key
}

/// Any other handler: one call at a time per client (so each client's events arrive in order),
/// but different clients of the shard concurrently (up to [`PIPELINE_WINDOW`]), so a slow call
/// for one client does not hold up another's login. Events of a busy client wait here, still
/// holding their room in the shard's bound.
async fn serve_per_client(to: Target, mut rx: mpsc::UnboundedReceiver<Job>, timeout: Duration) {
    let mut inflight = FuturesUnordered::new();
    // A client with a call in flight, and its events waiting behind it.
    let mut active: HashMap<String, VecDeque<Job>> = HashMap::new();
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            Some(key) = inflight.next(), if !inflight.is_empty() => {
                match active.get_mut(&key).and_then(VecDeque::pop_front) {
                    Some(job) => {
                        inflight.push(keyed(start_job(&to, job, timeout), key));
                    }
                    None => {
                        active.remove(&key);
                    }
                }
            }
            job = rx.recv(), if open && inflight.len() < PIPELINE_WINDOW => {
                let Some(job) = job else {
                    open = false;
                    continue;
                };
                let key = job.event.clientid().to_owned();
                if let Some(queue) = active.get_mut(&key) {
                    queue.push_back(job);
                } else {
                    active.insert(key.clone(), VecDeque::new());
                    inflight.push(keyed(start_job(&to, job, timeout), key));
                }
            }
            else => break,
        }
    }
}
