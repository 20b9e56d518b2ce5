//! The hook handler of one extension server: it picks the client's stream (the same one for
//! the client's whole life, so its events stay in order) and either waits for the reply (valued
//! points) or queues the event and answers at once (notifications and observe-only points: the
//! broker never waits for those; a full queue drops and counts the event, or waits under the
//! `block` policy).

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use hookmq_exhook::transport::affinity;
use hookmq_hooks::{Event, Handler, HookError, HookFuture, HookPoint, Verdict};

use crate::config::ObservePolicy;
use crate::counters::{Counters, add};
use crate::registration::Registration;
use crate::stream::{SendNow, Stream};

/// The handler registered in the broker's hooks for one server.
pub(crate) struct StreamHandler {
    /// One slot per stream of the pool; empty while that stream is down.
    pub(crate) streams: Vec<ArcSwapOption<Stream>>,
    /// Per point: whether the chain waits for the extension's reply.
    awaits: [bool; HookPoint::COUNT],
    policy: ObservePolicy,
    counters: Arc<Counters>,
}

impl StreamHandler {
    pub(crate) fn new(
        streams: Vec<Arc<Stream>>,
        registered: &[Registration],
        policy: ObservePolicy,
        counters: Arc<Counters>,
    ) -> StreamHandler {
        let mut awaits = [false; HookPoint::COUNT];
        for r in registered {
            awaits[r.spec.point.index()] = r.awaits_reply();
        }
        StreamHandler {
            streams: streams
                .into_iter()
                .map(|s| ArcSwapOption::new(Some(s)))
                .collect(),
            awaits,
            policy,
            counters,
        }
    }

    /// How many streams are up.
    pub(crate) fn streams_up(&self) -> usize {
        self.streams
            .iter()
            .filter(|s| s.load().as_ref().is_some_and(|s| s.is_up()))
            .count()
    }

    /// Closes every stream (unload).
    pub(crate) fn close(&self, why: &str) {
        for slot in &self.streams {
            if let Some(s) = slot.swap(None) {
                s.close(why);
            }
        }
    }
}

fn ready(outcome: Result<Verdict, HookError>) -> HookFuture {
    Box::pin(std::future::ready(outcome))
}

impl Handler for StreamHandler {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let i = affinity(event.clientid(), self.streams.len());
        let Some(stream) = self.streams[i].load_full() else {
            return ready(Err(HookError::Unavailable(format!("stream {i} is down"))));
        };
        if self.awaits[event.point().index()] {
            return Box::pin(async move { stream.call(event).await });
        }
        match stream.send_now(event) {
            Ok(()) => ready(Ok(Verdict::Ignore)),
            Err(SendNow::Down) => ready(Err(HookError::Unavailable(format!("stream {i} is down")))),
            Err(SendNow::Full(event)) => match self.policy {
                ObservePolicy::Drop => {
                    add(&self.counters.dropped, 1);
                    ready(Err(HookError::Unavailable(
                        "the stream's queue is full; event dropped".into(),
                    )))
                }
                ObservePolicy::Block => {
                    Box::pin(async move { stream.send_wait(event).await.map(|()| Verdict::Ignore) })
                }
            },
        }
    }

    /// Events are queued on the client's stream when `call` runs, which fixes their order.
    fn pipelined(&self) -> bool {
        true
    }
}
