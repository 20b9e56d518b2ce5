//! [`Lanes`]: how one stream's events reach the handlers. Each client has a lane: its events are
//! handled one after the other, in the order the broker sent them, while different clients'
//! lanes run side by side, so a slow handler (a database call) holds up only its own client.
//! Replies go back as soon as they are ready, in any order (the protocol matches them by id).
//!
//! The common case costs no task: an event whose client has nothing in progress is polled once
//! in the stream's reader, and a handler that answers without waiting (most do) is done there.
//! Only a handler that has to wait gets a task of its own, which then also takes the events of
//! its client that arrive meanwhile. At most `concurrency` such tasks run per stream; past that
//! the reader waits, so the broker's flow control holds back further events.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::{Semaphore, mpsc};

use crate::extension::Extension;
use crate::hooks::Handled;
use crate::proto::v1::{self as pb, event::Payload};

/// The lanes of one stream.
pub(crate) struct Lanes {
    extension: Arc<Extension>,
    /// Where replies go (the stream's writer batches them).
    replies: mpsc::Sender<pb::Reply>,
    /// Events waiting behind a client's running handler, by client (hash of its id). A lane
    /// with no entry is idle. Two clients whose ids hash alike share a lane: slower, still in
    /// order.
    waiting: Mutex<HashMap<u64, VecDeque<pb::Event>>>,
    hasher: RandomState,
    /// Bounds the lanes running in tasks.
    running: Arc<Semaphore>,
}

impl Lanes {
    /// Lanes handing events to `extension`'s handlers, at most `concurrency` waiting at once.
    pub(crate) fn new(
        extension: Arc<Extension>,
        replies: mpsc::Sender<pb::Reply>,
        concurrency: usize,
    ) -> Arc<Lanes> {
        Arc::new(Lanes {
            extension,
            replies,
            waiting: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
            running: Arc::new(Semaphore::new(concurrency.max(1))),
        })
    }

    /// Hands one event to its client's lane. Waits only when `concurrency` lanes are running.
    pub(crate) async fn push(self: &Arc<Self>, event: pb::Event) {
        let lane = self.lane_of(&event);
        {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(queue) = waiting.get_mut(&lane) {
                queue.push_back(event);
                return;
            }
        }
        let mut handled = self.extension.handle(event);
        let polled = handled
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        if let Poll::Ready(reply) = polled {
            self.reply(reply).await;
            return;
        }
        // The handler waits: later events of this client queue behind it from now on.
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(lane, VecDeque::new());
        let Ok(permit) = self.running.clone().acquire_owned().await else {
            return;
        };
        let lanes = self.clone();
        tokio::spawn(async move {
            lanes.run(lane, handled).await;
            drop(permit);
        });
    }

    /// Finishes `handled`, then the client's events that queued meanwhile, in order.
    async fn run(&self, lane: u64, mut handled: Handled) {
        loop {
            let reply = handled.await;
            self.reply(reply).await;
            let next = {
                let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                match waiting.get_mut(&lane).and_then(VecDeque::pop_front) {
                    Some(event) => event,
                    None => {
                        waiting.remove(&lane);
                        return;
                    }
                }
            };
            handled = self.extension.handle(next);
        }
    }

    async fn reply(&self, reply: Option<pb::Reply>) {
        if let Some(r) = reply {
            // A closed channel means the stream ended: nobody waits for the reply any more.
            let _ = self.replies.send(r).await;
        }
    }

    /// The lane of an event: its client, as the broker picks the client's stream.
    fn lane_of(&self, event: &pb::Event) -> u64 {
        self.hasher.hash_one(client_of(event.payload.as_ref()))
    }
}

/// The client an event is about (for `message.publish` and `message.dropped`: the publisher),
/// as the broker keys its ordering.
fn client_of(payload: Option<&Payload>) -> &str {
    use Payload as P;
    fn info(c: &Option<pb::ClientInfo>) -> &str {
        c.as_ref().map_or("", |c| c.clientid.as_str())
    }
    fn conn(c: &Option<pb::ConnInfo>) -> &str {
        c.as_ref().map_or("", |c| c.clientid.as_str())
    }
    fn from(m: &Option<pb::Message>) -> &str {
        m.as_ref().map_or("", |m| m.from.as_str())
    }
    match payload {
        None => "",
        Some(P::ClientConnect(e)) => conn(&e.conninfo),
        Some(P::ClientConnack(e)) => conn(&e.conninfo),
        Some(P::ClientConnected(e)) => info(&e.clientinfo),
        Some(P::ClientDisconnected(e)) => info(&e.clientinfo),
        Some(P::ClientAuthenticate(e)) => info(&e.clientinfo),
        Some(P::ClientAuthorize(e)) => info(&e.clientinfo),
        Some(P::ClientSubscribe(e)) => info(&e.clientinfo),
        Some(P::ClientUnsubscribe(e)) => info(&e.clientinfo),
        Some(
            P::SessionCreated(e)
            | P::SessionResumed(e)
            | P::SessionDiscarded(e)
            | P::SessionTakenover(e),
        ) => info(&e.clientinfo),
        Some(P::SessionSubscribed(e)) => info(&e.clientinfo),
        Some(P::SessionUnsubscribed(e)) => info(&e.clientinfo),
        Some(P::SessionTerminated(e)) => info(&e.clientinfo),
        Some(P::MessagePublish(e)) => from(&e.message),
        Some(P::MessageDelivered(e)) => info(&e.clientinfo),
        Some(P::MessageAcked(e)) => info(&e.clientinfo),
        Some(P::MessageDropped(e)) => from(&e.message),
        Some(P::ClientEnhancedAuthenticate(e)) => info(&e.clientinfo),
    }
}
