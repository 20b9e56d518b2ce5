//! One bidirectional stream to an extension: the handshake (`Hello` → `Register`), then a
//! writer task that sends whatever is queued as one `EventBatch` (never waiting to fill it) and
//! a reader task that settles `ReplyBatch`es by id and answers commands. The handler of
//! `handler.rs` queues events here; when the stream is lost every call still waiting fails at
//! once (the failure policy applies) and the supervisor in `server.rs` opens a new one.
//!
//! Memory is bounded three ways: the HTTP/2 stream's flow-control window (the writer waits on
//! it), at most `max_inflight` calls awaiting a reply, and at most `queue_capacity` events
//! waiting to be sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hookmq_hooks::{Event, HookError, Verdict};
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tonic::transport::Channel;

use hookmq_exhook::transport::status_text;

use crate::counters::{Counters, add};
use crate::proto::v1::{self as pb, broker_frame, extension_frame};
use crate::registration::{RegisterError, Registration, registrations};
use crate::{event, reply};

/// Largest frame the broker decodes (a reply may carry a rewritten payload).
pub(crate) const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Frames waiting for the HTTP/2 window: few, so a blocked stream backs up into the event
/// queue, where later events join bigger batches.
const FRAME_BUFFER: usize = 2;

/// The limits of one stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_batch: usize,
    pub(crate) max_inflight: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) request_timeout: Duration,
}

/// Why a stream could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The call failed or the extension closed it.
    #[error("stream {index}: {status}")]
    Call {
        /// The stream's index.
        index: usize,
        /// The gRPC status.
        status: String,
    },
    /// No `Register` within `request_timeout`.
    #[error("stream {0}: no Register within request_timeout")]
    Timeout(usize),
    /// The first frame was not `Register`.
    #[error("stream {0}: the first frame is not Register")]
    NotRegister(usize),
    /// The `Register` cannot be used.
    #[error("stream {index}: {source}")]
    Register {
        /// The stream's index.
        index: usize,
        /// Why.
        #[source]
        source: RegisterError,
    },
}

/// A call waiting for its reply.
struct Waiter {
    event: Arc<Event>,
    reply: oneshot::Sender<Result<Verdict, HookError>>,
    _permit: OwnedSemaphorePermit,
}

/// The calls awaiting a reply on one stream.
#[derive(Default)]
struct Inflight {
    /// The highest id issued.
    issued: AtomicU64,
    /// Waiters by id; `None` once the stream is lost (no call may wait any more).
    waiting: Mutex<Option<HashMap<u64, Waiter>>>,
}

impl Inflight {
    fn new() -> Inflight {
        Inflight {
            issued: AtomicU64::new(0),
            waiting: Mutex::new(Some(HashMap::new())),
        }
    }

    fn next_id(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Removes a call's waiter when the call is dropped (its deadline passed), so late replies find
/// nothing and the permit comes back.
struct Forget<'a>(&'a Inflight, u64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(waiting) = self.0.waiting.lock().as_mut() {
            waiting.remove(&self.1);
        }
    }
}

/// An event on its way out.
struct Outgoing {
    id: u64,
    no_reply: bool,
    event: Arc<Event>,
}

/// One open stream.
pub(crate) struct Stream {
    index: usize,
    up: AtomicBool,
    queue: mpsc::Sender<Outgoing>,
    inflight: Arc<Inflight>,
    permits: Arc<Semaphore>,
    counters: Arc<Counters>,
    /// The writer and reader tasks, stopped by [`Stream::close`].
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

/// What the handshake gives: the running stream, what the extension registered, and a
/// receiver that resolves (with the reason) when the stream is lost.
pub(crate) struct Opened {
    pub(crate) stream: Arc<Stream>,
    pub(crate) registered: Vec<Registration>,
    pub(crate) lost: oneshot::Receiver<String>,
}

impl Stream {
    /// Opens stream `index` on `channel`: sends `hello`, waits for `Register` (within
    /// `request_timeout`), then starts the writer and reader tasks.
    pub(crate) async fn open(
        channel: Channel,
        index: usize,
        hello: pb::Hello,
        limits: Limits,
        counters: Arc<Counters>,
        hooks: std::sync::Weak<hookmq_hooks::Hooks>,
    ) -> Result<Opened, HandshakeError> {
        let (frames, mut frames_rx) = mpsc::channel::<pb::BrokerFrame>(FRAME_BUFFER);
        let call_err = |status: tonic::Status| HandshakeError::Call {
            index,
            status: status_text(&status),
        };
        let hello = pb::BrokerFrame {
            kind: Some(broker_frame::Kind::Hello(hello)),
        };
        // The buffer is empty: this cannot wait.
        let _ = frames.try_send(hello);
        let outbound = futures_util::stream::poll_fn(move |cx| frames_rx.poll_recv(cx));
        let mut client = pb::extension_client::ExtensionClient::new(channel)
            .max_decoding_message_size(MAX_FRAME_BYTES)
            .max_encoding_message_size(usize::MAX);
        let handshake =
            async {
                let mut inbound = client
                    .stream(outbound)
                    .await
                    .map_err(call_err)?
                    .into_inner();
                let first = inbound.message().await.map_err(call_err)?.ok_or_else(|| {
                    HandshakeError::Call {
                        index,
                        status: "the extension closed the stream".into(),
                    }
                })?;
                match first.kind {
                    Some(extension_frame::Kind::Register(r)) => {
                        let registered = registrations(&r)
                            .map_err(|source| HandshakeError::Register { index, source })?;
                        Ok((inbound, registered, r.name))
                    }
                    _ => Err(HandshakeError::NotRegister(index)),
                }
            };
        let (inbound, registered, name) = tokio::time::timeout(limits.request_timeout, handshake)
            .await
            .map_err(|_| HandshakeError::Timeout(index))??;
        tracing::debug!(stream = index, extension = %name, "stream registered");
        let (queue, queue_rx) = mpsc::channel(limits.queue_capacity);
        let stream = Arc::new(Stream {
            index,
            up: AtomicBool::new(true),
            queue,
            inflight: Arc::new(Inflight::new()),
            permits: Arc::new(Semaphore::new(limits.max_inflight)),
            counters: counters.clone(),
            tasks: Mutex::new(Vec::new()),
        });
        let writer = tokio::spawn(write(
            queue_rx,
            frames.clone(),
            limits.max_batch,
            counters.clone(),
        ));
        let (lost_tx, lost) = oneshot::channel();
        let reader = tokio::spawn(read(
            inbound,
            stream.clone(),
            frames,
            limits.max_batch,
            lost_tx,
            hooks,
        ));
        *stream.tasks.lock() = vec![writer.abort_handle(), reader.abort_handle()];
        Ok(Opened {
            stream,
            registered,
            lost,
        })
    }

    /// Whether the stream is open.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Sends an event whose reply the chain waits for, and waits for it. The caller's deadline
    /// bounds the wait (for a permit, for room in the queue, for the reply).
    pub(crate) async fn call(&self, event: Arc<Event>) -> Result<Verdict, HookError> {
        let lost = || HookError::Unavailable(format!("stream {} is down", self.index));
        if !self.is_up() {
            return Err(lost());
        }
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| lost())?;
        let id = self.inflight.next_id();
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = self.inflight.waiting.lock();
            let Some(waiting) = waiting.as_mut() else {
                return Err(lost());
            };
            waiting.insert(
                id,
                Waiter {
                    event: event.clone(),
                    reply: tx,
                    _permit: permit,
                },
            );
        }
        let _forget = Forget(&self.inflight, id);
        let out = Outgoing {
            id,
            no_reply: false,
            event,
        };
        self.queue.send(out).await.map_err(|_| lost())?;
        rx.await.unwrap_or_else(|_| Err(lost()))
    }

    /// Queues an event nobody waits for (a notification, an observe-only event). Gives it back
    /// when the queue is full, for the caller to drop or wait.
    pub(crate) fn send_now(&self, event: Arc<Event>) -> Result<(), SendNow> {
        if !self.is_up() {
            return Err(SendNow::Down);
        }
        let out = Outgoing {
            id: self.inflight.next_id(),
            no_reply: true,
            event,
        };
        match self.queue.try_send(out) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(out)) => Err(SendNow::Full(out.event)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendNow::Down),
        }
    }

    /// Like [`Stream::send_now`], waiting for room (the `block` policy).
    pub(crate) async fn send_wait(&self, event: Arc<Event>) -> Result<(), HookError> {
        let out = Outgoing {
            id: self.inflight.next_id(),
            no_reply: true,
            event,
        };
        self.queue
            .send(out)
            .await
            .map_err(|_| HookError::Unavailable(format!("stream {} is down", self.index)))
    }

    /// Closes the stream: calls waiting fail, the writer ends, the extension sees the end of
    /// the request stream.
    pub(crate) fn close(&self, why: &str) {
        self.fail_all(why);
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }

    /// Marks the stream down and fails every call still waiting; returns how many.
    fn fail_all(&self, why: &str) -> usize {
        self.up.store(false, Ordering::Relaxed);
        self.permits.close();
        let waiting = self.inflight.waiting.lock().take().unwrap_or_default();
        let n = waiting.len();
        for (_, w) in waiting {
            let _ = w.reply.send(Err(HookError::Unavailable(format!(
                "stream {} lost: {why}",
                self.index
            ))));
        }
        n
    }

    /// Settles a reply batch: refused replies fail their calls, accepted ones answer them.
    fn settle(&self, batch: pb::ReplyBatch, max_batch: usize) {
        let c = &self.counters;
        add(&c.reply_batches, 1);
        add(&c.replies, batch.replies.len() as u64);
        let issued = self.inflight.issued.load(Ordering::Relaxed);
        let sorted = reply::sort(batch, issued, max_batch);
        let mut unmatched = 0u64;
        let (refused, accepted) = {
            let mut guard = self.inflight.waiting.lock();
            let Some(waiting) = guard.as_mut() else {
                return;
            };
            let refused: Vec<_> = sorted
                .refused
                .into_iter()
                .map(|(id, e)| (waiting.remove(&id), id, e))
                .collect();
            let accepted: Vec<_> = sorted
                .accepted
                .into_iter()
                .filter_map(|r| match waiting.remove(&r.id) {
                    Some(w) => Some((w, r)),
                    None => {
                        unmatched += 1;
                        None
                    }
                })
                .collect();
            (refused, accepted)
        };
        if unmatched > 0 {
            add(&c.unmatched, unmatched);
            tracing::debug!(
                stream = self.index,
                unmatched,
                "replies to no waiting call (late, repeated, or to an event that expects none); ignored"
            );
        }
        if !refused.is_empty() {
            add(&c.refused, refused.len() as u64);
        }
        for (waiter, id, e) in refused {
            tracing::debug!(stream = self.index, id, reason = %e, "reply refused");
            if let Some(w) = waiter {
                let _ = w.reply.send(Err(e.into()));
            }
        }
        for (w, r) in accepted {
            let id = r.id;
            let verdict = reply::verdict(&w.event, r).map_err(|e| {
                if !matches!(e, reply::ReplyError::Failed(_)) {
                    add(&c.refused, 1);
                }
                tracing::debug!(stream = self.index, id, point = %w.event.point(), reason = %e, "reply refused");
                HookError::from(e)
            });
            let _ = w.reply.send(verdict);
        }
    }
}

/// Why [`Stream::send_now`] did not queue an event.
pub(crate) enum SendNow {
    /// The stream is down.
    Down,
    /// The queue is full; the event comes back.
    Full(Arc<Event>),
}

/// Sends whatever is queued as one batch, as soon as the previous one is handed to HTTP/2.
async fn write(
    mut queue: mpsc::Receiver<Outgoing>,
    frames: mpsc::Sender<pb::BrokerFrame>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let mut taken = Vec::with_capacity(max_batch);
    while queue.recv_many(&mut taken, max_batch).await > 0 {
        let events: Vec<pb::Event> = taken
            .drain(..)
            .map(|o| event::encode(o.id, o.no_reply, &o.event))
            .collect();
        add(&counters.events, events.len() as u64);
        add(&counters.event_batches, 1);
        let frame = pb::BrokerFrame {
            kind: Some(broker_frame::Kind::Events(pb::EventBatch { events })),
        };
        if frames.send(frame).await.is_err() {
            break;
        }
    }
}

/// Reads the extension's frames until the stream ends, then fails the calls still waiting and
/// reports the loss.
async fn read(
    mut inbound: tonic::Streaming<pb::ExtensionFrame>,
    stream: Arc<Stream>,
    frames: mpsc::Sender<pb::BrokerFrame>,
    max_batch: usize,
    lost: oneshot::Sender<String>,
    hooks: std::sync::Weak<hookmq_hooks::Hooks>,
) {
    let why = loop {
        match inbound.message().await {
            Ok(Some(frame)) => match frame.kind {
                Some(extension_frame::Kind::Replies(batch)) => stream.settle(batch, max_batch),
                Some(extension_frame::Kind::Commands(batch)) => {
                    add(&stream.counters.commands, batch.commands.len() as u64);
                    // Served in a task of their own: a command may wait (a store commit) and
                    // the replies to the broker's events must go on arriving meanwhile.
                    let (hooks, frames) = (hooks.clone(), frames.clone());
                    tokio::spawn(async move {
                        let replies = crate::command::answer_all(hooks, batch.commands).await;
                        let frame = pb::BrokerFrame {
                            kind: Some(broker_frame::Kind::CommandReplies(pb::CommandReplyBatch {
                                replies,
                            })),
                        };
                        let _ = frames.send(frame).await;
                    });
                }
                Some(extension_frame::Kind::Register(_)) => {
                    break "Register sent twice".to_owned();
                }
                None => {
                    tracing::debug!(stream = stream.index, "frame of an unknown kind; ignored");
                }
            },
            Ok(None) => break "the extension ended the stream".to_owned(),
            Err(status) => break status_text(&status),
        }
    };
    let n = stream.fail_all(&why);
    let c = &stream.counters;
    add(&c.failed_on_loss, n as u64);
    add(&c.losses, 1);
    tracing::debug!(stream = stream.index, reason = %why, failed = n, "stream lost");
    let _ = lost.send(why);
}
