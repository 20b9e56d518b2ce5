//! How a registered handler is reached: directly in the caller's task, or through bounded queues
//! (one per shard of client ids) served by background tasks, so each client's events reach the
//! handler in order and a slow handler never blocks the broker's notification path.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::{FuturesOrdered, FuturesUnordered};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout_at};

use crate::event::Event;
use crate::handler::{Dispatch, Handler, HookError, Verdict};
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
}

/// The way into one handler.
pub(crate) enum Dispatcher {
    /// Await the handler in the caller's task.
    Inline,
    /// Per-shard queues, each served in order by its own task.
    Queued(Vec<mpsc::Sender<Job>>),
}

impl Dispatcher {
    /// Builds the dispatcher, spawning the shard tasks on the current tokio runtime.
    pub(crate) fn start(
        dispatch: Dispatch,
        timeout: Duration,
        handler: &Arc<dyn Handler>,
        metrics: &Arc<HandlerMetrics>,
    ) -> Dispatcher {
        match dispatch {
            Dispatch::Inline => Dispatcher::Inline,
            Dispatch::Queued { shards, capacity } => {
                let pipelined = handler.pipelined();
                let senders = (0..shards.max(1))
                    .map(|_| {
                        let (tx, rx) = mpsc::channel(capacity.max(1));
                        let (handler, metrics) = (handler.clone(), metrics.clone());
                        if pipelined {
                            tokio::spawn(serve_pipelined(handler, metrics, rx, timeout));
                        } else {
                            tokio::spawn(serve_per_client(handler, metrics, rx, capacity, timeout));
                        }
                        tx
                    })
                    .collect();
                Dispatcher::Queued(senders)
            }
        }
    }

    fn shard<'a>(senders: &'a [mpsc::Sender<Job>], clientid: &str) -> &'a mpsc::Sender<Job> {
        let mut h = DefaultHasher::new();
        clientid.hash(&mut h);
        &senders[(h.finish() as usize) % senders.len()]
    }

    /// Calls the handler and waits for its answer until `deadline`.
    pub(crate) async fn call(
        &self,
        handler: &Arc<dyn Handler>,
        metrics: &Arc<HandlerMetrics>,
        event: Arc<Event>,
        deadline: Instant,
    ) -> Result<Verdict, HookError> {
        match self {
            Dispatcher::Inline => invoke(handler, metrics, event, deadline).await,
            Dispatcher::Queued(senders) => {
                let point = event.point();
                let (tx, rx) = oneshot::channel();
                let job = Job {
                    deadline: Some(deadline),
                    reply: Some(tx),
                    event,
                };
                let sender = Dispatcher::shard(senders, job.event.clientid());
                match timeout_at(deadline, sender.send(job)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(HookError::Unavailable("handler stopped".into())),
                    Err(_) => {
                        metrics.point(point).record_timeout();
                        return Err(HookError::Timeout);
                    }
                }
                rx.await
                    .unwrap_or_else(|_| Err(HookError::Unavailable("handler stopped".into())))
            }
        }
    }

    /// Tells the handler about a notification. Queued: never waits; a full queue drops the
    /// event and counts it. Inline: awaits the call.
    pub(crate) async fn notify(
        &self,
        handler: &Arc<dyn Handler>,
        metrics: &Arc<HandlerMetrics>,
        event: Arc<Event>,
        timeout: Duration,
    ) {
        if let Some(event) = self.enqueue(metrics, event) {
            let _ = invoke(handler, metrics, event, Instant::now() + timeout).await;
        }
    }

    /// Queues a notification without waiting (a full queue drops and counts it). Gives the event
    /// back if this handler is inline and must be awaited instead.
    pub(crate) fn enqueue(
        &self,
        metrics: &HandlerMetrics,
        event: Arc<Event>,
    ) -> Option<Arc<Event>> {
        match self {
            Dispatcher::Inline => Some(event),
            Dispatcher::Queued(senders) => {
                let point = event.point();
                let sender = Dispatcher::shard(senders, event.clientid());
                if sender
                    .try_send(Job {
                        event,
                        deadline: None,
                        reply: None,
                    })
                    .is_err()
                {
                    metrics.point(point).record_dropped();
                }
                None
            }
        }
    }
}

/// Starts the handler's call now (so a pipelined handler fixes the order here) and returns a
/// future that waits for the answer until `deadline` and records it.
fn invoke(
    handler: &Arc<dyn Handler>,
    metrics: &Arc<HandlerMetrics>,
    event: Arc<Event>,
    deadline: Instant,
) -> impl Future<Output = Result<Verdict, HookError>> + Send + 'static {
    let point = event.point();
    let start = Instant::now();
    let call = (start < deadline).then(|| handler.call(event));
    let metrics = metrics.clone();
    async move {
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
        metrics.point(point).record(&outcome, start.elapsed());
        outcome
    }
}

/// Starts a queued job's call and returns a future that answers its waiter.
fn start_job(
    handler: &Arc<dyn Handler>,
    metrics: &Arc<HandlerMetrics>,
    job: Job,
    timeout: Duration,
) -> impl Future<Output = ()> + Send + 'static {
    let deadline = job.deadline.unwrap_or_else(|| Instant::now() + timeout);
    let call = invoke(handler, metrics, job.event, deadline);
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
async fn serve_pipelined(
    handler: Arc<dyn Handler>,
    metrics: Arc<HandlerMetrics>,
    mut rx: mpsc::Receiver<Job>,
    timeout: Duration,
) {
    let mut inflight = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            Some(()) = inflight.next(), if !inflight.is_empty() => {}
            job = rx.recv(), if inflight.len() < PIPELINE_WINDOW => {
                let Some(job) = job else { break };
                inflight.push_back(start_job(&handler, &metrics, job, timeout));
            }
        }
    }
    while inflight.next().await.is_some() {}
}

/// Any other handler: one call at a time per client (so each client's events arrive in order),
/// but different clients of the shard concurrently (up to [`PIPELINE_WINDOW`]), so a slow call
/// for one client does not hold up another's login. Events of a busy client wait here; the
/// waiting ones count against the shard's capacity.
/// Runs a call and gives back the client it was for.
async fn keyed(run: impl Future<Output = ()>, key: String) -> String {
    run.await;
    key
}

async fn serve_per_client(
    handler: Arc<dyn Handler>,
    metrics: Arc<HandlerMetrics>,
    mut rx: mpsc::Receiver<Job>,
    capacity: usize,
    timeout: Duration,
) {
    let mut inflight = FuturesUnordered::new();
    // A client with a call in flight, and its events waiting behind it.
    let mut active: HashMap<String, VecDeque<Job>> = HashMap::new();
    let mut n_waiting = 0usize;
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            Some(key) = inflight.next(), if !inflight.is_empty() => {
                match active.get_mut(&key).and_then(VecDeque::pop_front) {
                    Some(job) => {
                        n_waiting -= 1;
                        inflight.push(keyed(start_job(&handler, &metrics, job, timeout), key));
                    }
                    None => {
                        active.remove(&key);
                    }
                }
            }
            job = rx.recv(), if open && inflight.len() < PIPELINE_WINDOW && n_waiting < capacity => {
                let Some(job) = job else {
                    open = false;
                    continue;
                };
                let key = job.event.clientid().to_owned();
                if let Some(queue) = active.get_mut(&key) {
                    queue.push_back(job);
                    n_waiting += 1;
                } else {
                    active.insert(key.clone(), VecDeque::new());
                    inflight.push(keyed(start_job(&handler, &metrics, job, timeout), key));
                }
            }
            else => break,
        }
    }
}
