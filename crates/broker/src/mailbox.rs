//! The way broker commands ([`Control`]: takeover, kick) reach one connection's loop. The
//! registry and the admin API send; the connection task receives in its `select!`.
//!
//! Commands are rare (at most a few in a connection's life) but every connection needs a way to
//! receive them, so what matters is what an idle connection pays: an unbounded `tokio` channel
//! allocates a 32-slot block and a cache-padded channel state up front, about 1 KB per
//! connection; this is one small allocation whose queue allocates only when a command arrives.

use std::sync::Arc;
use std::task::{Poll, Waker};

use parking_lot::Mutex;

use crate::session::Control;

struct Shared {
    state: Mutex<State>,
}

struct State {
    /// Commands not yet received; `None` once the receiver is gone.
    queue: Option<Vec<Control>>,
    /// The receiver's task while it waits (a waker, not a `Notify`: the waiting future is then
    /// one reference, and it sits in every idle connection's task).
    waiting: Option<Waker>,
}

/// The sending side, kept in the session's link; cheap to clone.
#[derive(Clone)]
pub(crate) struct Mailbox(Arc<Shared>);

/// The receiving side, owned by the connection. Dropping it refuses further commands and drops
/// the queued ones (a takeover waiting on its acknowledgement then sees it dropped).
pub(crate) struct Inbox(Arc<Shared>);

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("open", &self.0.state.lock().queue.is_some())
            .finish()
    }
}

/// A connected sender and receiver.
pub(crate) fn mailbox() -> (Mailbox, Inbox) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: Some(Vec::new()),
            waiting: None,
        }),
    });
    (Mailbox(shared.clone()), Inbox(shared))
}

impl Mailbox {
    /// Queues a command for the connection; gives it back if the connection is gone.
    pub(crate) fn send(&self, control: Control) -> Result<(), Control> {
        let mut st = self.0.state.lock();
        let Some(queue) = st.queue.as_mut() else {
            return Err(control);
        };
        queue.push(control);
        // A command sent while the loop is busy is seen on its next wait.
        if let Some(waker) = st.waiting.take() {
            waker.wake();
        }
        Ok(())
    }
}

impl Inbox {
    /// The next command, in the order they were sent. Safe to cancel: a command is taken from
    /// the queue only when this returns it.
    pub(crate) async fn recv(&self) -> Control {
        std::future::poll_fn(|cx| {
            let mut st = self.0.state.lock();
            if let Some(queue) = st.queue.as_mut()
                && !queue.is_empty()
            {
                return Poll::Ready(queue.remove(0));
            }
            match &mut st.waiting {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // Taken out of the lock before it is dropped: a takeover's acknowledgement sender wakes
        // its waiter when dropped.
        let left = self.0.state.lock().queue.take();
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use hookmq_codec::ReasonCode;

    #[tokio::test]
    async fn commands_arrive_in_order_and_a_gone_receiver_refuses_them() {
        let (tx, rx) = mailbox();
        assert!(rx.recv().now_or_never().is_none());
        let (ack, acked) = tokio::sync::oneshot::channel();
        assert!(
            tx.send(Control::Kick(ReasonCode::ADMINISTRATIVE_ACTION))
                .is_ok()
        );
        assert!(tx.clone().send(Control::Takeover(ack)).is_ok());
        assert!(matches!(
            rx.recv().await,
            Control::Kick(ReasonCode::ADMINISTRATIVE_ACTION)
        ));
        assert!(rx.recv().now_or_never().is_some());
        let (ack2, acked2) = tokio::sync::oneshot::channel();
        assert!(tx.send(Control::Takeover(ack2)).is_ok());
        drop(rx);
        // The queued takeover was dropped with the receiver: its waiter is released.
        assert!(acked2.await.is_err());
        assert!(acked.await.is_err());
        assert!(
            tx.send(Control::Kick(ReasonCode::ADMINISTRATIVE_ACTION))
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send() {
        let (tx, rx) = mailbox();
        let waiter = tokio::spawn(async move {
            matches!(
                rx.recv().await,
                Control::Kick(ReasonCode::ADMINISTRATIVE_ACTION)
            )
        });
        tokio::task::yield_now().await;
        assert!(
            tx.send(Control::Kick(ReasonCode::ADMINISTRATIVE_ACTION))
                .is_ok()
        );
        assert!(waiter.await.unwrap_or(false));
    }
}
