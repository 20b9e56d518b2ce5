//! The broker's services, called from an extension: [`Broker`] sends commands (publish, kick,
//! subscribe on behalf of a client, queries, retained messages, authorization cache
//! invalidation, counters) on one of the streams the broker opened and waits for their answers
//! by id. Get it from [`Extension::broker`](crate::Extension::broker) before serving and keep a
//! clone in your handlers; calling it from inside a handler, also for that event's client, is
//! fine (the broker answers without waiting on any hook). docs/services.md lists the rules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::proto::v1::{self as pb, command, command_reply, extension_frame};

/// Why a service call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// No broker stream is open (the broker has not connected yet, or is gone).
    #[error("no broker is connected")]
    NotConnected,
    /// The stream ended before the answer came.
    #[error("the stream to the broker ended before it answered")]
    Lost,
    /// The broker refused the call: `reason` is the service error's stable name
    /// (`invalid_topic`, `unknown_client`, `loop_limit`, ...).
    #[error("{reason}: {message}")]
    Refused {
        /// Stable name of the error (docs/services.md).
        reason: String,
        /// The broker's words.
        message: String,
    },
    /// The broker answered something this SDK does not expect for the call.
    #[error("unexpected answer from the broker")]
    Unexpected,
}

/// One open stream: where commands go and the calls waiting for an answer.
struct Link {
    out: mpsc::Sender<std::result::Result<pb::ExtensionFrame, Status>>,
    waiting: Mutex<HashMap<u64, oneshot::Sender<pb::CommandReply>>>,
}

#[derive(Default)]
struct Links {
    open: Mutex<Vec<Arc<Link>>>,
    next_id: AtomicU64,
}

/// A handle on the broker's services; cheap to clone.
#[derive(Clone, Default)]
pub struct Broker {
    links: Arc<Links>,
}

/// A stream's registration with its [`Broker`]; dropping it fails the calls still waiting.
pub(crate) struct Attached {
    links: Arc<Links>,
    link: Arc<Link>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.links
            .open
            .locked()
            .retain(|l| !Arc::ptr_eq(l, &self.link));
        self.link.waiting.locked().clear();
    }
}

impl Attached {
    /// Hands the broker's answers to their waiting calls.
    pub(crate) fn settle(&self, batch: pb::CommandReplyBatch) {
        let mut waiting = self.link.waiting.locked();
        for reply in batch.replies {
            if let Some(tx) = waiting.remove(&reply.id) {
                let _ = tx.send(reply);
            }
        }
    }
}

type Result<T> = std::result::Result<T, BrokerError>;

/// Locks, also after a panic elsewhere (the maps stay consistent: each change is one call).
trait Locked<T> {
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Broker {
    /// Registers a stream that just opened.
    pub(crate) fn attach(
        &self,
        out: mpsc::Sender<std::result::Result<pb::ExtensionFrame, Status>>,
    ) -> Attached {
        let link = Arc::new(Link {
            out,
            waiting: Mutex::new(HashMap::new()),
        });
        self.links.open.locked().push(link.clone());
        Attached {
            links: self.links.clone(),
            link,
        }
    }

    /// Sends one command and waits for its answer.
    pub async fn call(&self, call: command::Call) -> Result<command_reply::Result> {
        let link = self
            .links
            .open
            .locked()
            .first()
            .cloned()
            .ok_or(BrokerError::NotConnected)?;
        let id = self.links.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        link.waiting.locked().insert(id, tx);
        let frame = pb::ExtensionFrame {
            kind: Some(extension_frame::Kind::Commands(pb::CommandBatch {
                commands: vec![pb::Command {
                    id,
                    call: Some(call),
                }],
            })),
        };
        if link.out.send(Ok(frame)).await.is_err() {
            link.waiting.locked().remove(&id);
            return Err(BrokerError::Lost);
        }
        let reply = rx.await.map_err(|_| BrokerError::Lost)?;
        match reply.result {
            Some(command_reply::Result::Error(e)) => Err(BrokerError::Refused {
                reason: e.reason,
                message: e.message,
            }),
            Some(r) => Ok(r),
            None => Err(BrokerError::Unexpected),
        }
    }

    /// Publishes a message as the broker. Set `parent_hops` to the handled message's `hops`
    /// when the message derives from it, so a loop through `message.publish` ends.
    pub async fn publish(&self, publish: pb::PublishCommand) -> Result<pb::PublishResult> {
        match self.call(command::Call::Publish(publish)).await? {
            command_reply::Result::Published(p) => Ok(p),
            _ => Err(BrokerError::Unexpected),
        }
    }

    /// Disconnects a client; MQTT 5 clients get DISCONNECT with `reason_code` (0x98 if
    /// `None`).
    pub async fn kick(&self, clientid: &str, reason_code: Option<u8>) -> Result<()> {
        let call = command::Call::Kick(pb::KickCommand {
            clientid: clientid.to_owned(),
            reason_code: reason_code.map(u32::from),
        });
        self.done(call).await
    }

    /// Releases the publisher's acknowledgement that a [`Publish::hold`](crate::Publish::hold)
    /// answer kept back for the message `id` (`Message.id`, 16 bytes): `ok` acknowledges with
    /// success, otherwise it is refused (MQTT 5: 0x80; MQTT 3.x: the connection closes). An id
    /// that is not held is an error with reason `not_held`.
    pub async fn confirm(&self, id: impl Into<bytes::Bytes>, ok: bool) -> Result<()> {
        let call = command::Call::Confirm(pb::ConfirmCommand {
            id: id.into(),
            failed: !ok,
        });
        self.done(call).await
    }

    /// Subscribes a connected client or a persistent session; the granted QoS.
    pub async fn subscribe(
        &self,
        clientid: &str,
        filter: &str,
        options: pb::SubOpts,
    ) -> Result<u32> {
        let call = command::Call::Subscribe(pb::SubscribeCommand {
            clientid: clientid.to_owned(),
            filter: filter.to_owned(),
            options: Some(options),
        });
        match self.call(call).await? {
            command_reply::Result::Subscribed(s) => Ok(s.granted_qos),
            _ => Err(BrokerError::Unexpected),
        }
    }

    /// Removes a client's subscription; whether it existed.
    pub async fn unsubscribe(&self, clientid: &str, filter: &str) -> Result<bool> {
        let call = command::Call::Unsubscribe(pb::UnsubscribeCommand {
            clientid: clientid.to_owned(),
            filter: filter.to_owned(),
        });
        self.removed(call).await
    }

    /// One client.
    pub async fn client(&self, clientid: &str) -> Result<pb::ClientResult> {
        let call = command::Call::Client(pb::ClientQuery {
            clientid: clientid.to_owned(),
        });
        match self.call(call).await? {
            command_reply::Result::Client(c) => Ok(c),
            _ => Err(BrokerError::Unexpected),
        }
    }

    /// A page of clients.
    pub async fn clients(&self, query: pb::ClientsQuery) -> Result<pb::ClientsResult> {
        match self.call(command::Call::Clients(query)).await? {
            command_reply::Result::Clients(c) => Ok(c),
            _ => Err(BrokerError::Unexpected),
        }
    }

    /// A client's session: subscriptions, queue length, in flight.
    pub async fn session(&self, clientid: &str) -> Result<pb::SessionResult> {
        let call = command::Call::Session(pb::SessionQuery {
            clientid: clientid.to_owned(),
        });
        match self.call(call).await? {
            command_reply::Result::Session(s) => Ok(s),
            _ => Err(BrokerError::Unexpected),
        }
    }

    /// The retained message of a topic.
    pub async fn retained_get(&self, topic: &str) -> Result<Option<pb::Message>> {
        let call = command::Call::RetainedGet(pb::RetainedGetCommand {
            topic: topic.to_owned(),
        });
        match self.call(call).await? {
            command_reply::Result::Retained(r) => Ok(r.message),
            _ => Err(BrokerError::Unexpected),
        }
    }

    /// Sets the retained message of a topic (an empty payload deletes it).
    pub async fn retained_set(&self, set: pb::RetainedSetCommand) -> Result<()> {
        self.done(command::Call::RetainedSet(set)).await
    }

    /// Deletes the retained message of a topic; whether there was one.
    pub async fn retained_delete(&self, topic: &str) -> Result<bool> {
        let call = command::Call::RetainedDelete(pb::RetainedDeleteCommand {
            topic: topic.to_owned(),
        });
        self.removed(call).await
    }

    /// Makes the broker authorize a client (every client with `None`) again; the sessions
    /// re-checked.
    pub async fn authz_cache_invalidate(&self, clientid: Option<&str>) -> Result<u64> {
        let call = command::Call::AuthzCacheInvalidate(pb::AuthzCacheInvalidateCommand {
            clientid: clientid.unwrap_or_default().to_owned(),
        });
        match self.call(call).await? {
            command_reply::Result::Count(c) => Ok(c.count),
            _ => Err(BrokerError::Unexpected),
        }
    }

    /// The broker's counters by name.
    pub async fn metrics(&self) -> Result<HashMap<String, i64>> {
        match self
            .call(command::Call::Metrics(pb::MetricsQuery {}))
            .await?
        {
            command_reply::Result::Metrics(m) => Ok(m.values),
            _ => Err(BrokerError::Unexpected),
        }
    }

    async fn done(&self, call: command::Call) -> Result<()> {
        match self.call(call).await? {
            command_reply::Result::Done(_) => Ok(()),
            _ => Err(BrokerError::Unexpected),
        }
    }

    async fn removed(&self, call: command::Call) -> Result<bool> {
        match self.call(call).await? {
            command_reply::Result::Removed(r) => Ok(r.existed),
            _ => Err(BrokerError::Unexpected),
        }
    }
}
