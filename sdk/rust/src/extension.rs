//! [`Extension`]: the handlers of one extension by hook point, what it registers with the
//! broker, and how it serves a stream: `Hello` and `Register`, then each event handed to its
//! client's lane ([`crate::lanes`]: a client's events in order, clients side by side) and the
//! replies sent back in batches as they complete.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tonic::{Status, Streaming};

use crate::broker::Broker;
use crate::hooks::{
    Authenticate, Authorize, EnhancedAuthenticate, Erased, Handled, OnClientAuthenticate,
    OnClientAuthorize, OnClientEnhancedAuthenticate, OnMessagePublish, PublishHandler, no_opinion,
};
use crate::lanes::Lanes;
use crate::proto::v1::{self as pb, broker_frame, extension_frame};

/// The protocol version this SDK speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// How a point is registered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    topics: Vec<String>,
    observe: bool,
}

impl Options {
    /// Every topic, answers awaited.
    pub fn new() -> Options {
        Options::default()
    }

    /// Only messages whose topic matches one of these filters (`message.*` points).
    pub fn topics<I, S>(mut self, filters: I) -> Options
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.topics = filters.into_iter().map(Into::into).collect();
        self
    }

    /// Observe only: the broker does not wait for this handler (its answers are ignored) and
    /// sends the events in batches as they come; use it for handlers that record or forward.
    pub fn observe(mut self) -> Options {
        self.observe = true;
        self
    }
}

/// Handlers that may wait at once per stream, unless [`Extension::concurrency`] says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 256;

/// An extension: a name and a handler per hook point. Serve it with [`crate::serve`].
#[derive(Clone)]
pub struct Extension {
    name: String,
    handlers: BTreeMap<&'static str, (Options, Arc<dyn Erased>)>,
    concurrency: usize,
    broker: Broker,
}

impl Extension {
    /// An extension with no handlers yet.
    pub fn new(name: impl Into<String>) -> Extension {
        Extension {
            name: name.into(),
            handlers: BTreeMap::new(),
            concurrency: DEFAULT_CONCURRENCY,
            broker: Broker::default(),
        }
    }

    /// The broker's services (publish, kick, subscribe on behalf of a client, queries, ...),
    /// sent on this extension's streams. Take it before serving and keep a clone in the
    /// handlers that call it.
    pub fn broker(&self) -> Broker {
        self.broker.clone()
    }

    /// How many clients' handlers may be waiting (on a database, a network call) at once on
    /// one stream; past that, the stream stops taking events until one finishes. Each client's
    /// events are still handled one at a time, in order; a handler that answers without
    /// waiting never counts. At least 1.
    pub fn concurrency(mut self, handlers: usize) -> Extension {
        self.concurrency = handlers.max(1);
        self
    }

    pub(crate) fn with(
        mut self,
        point: &'static str,
        handler: Arc<dyn Erased>,
        options: Options,
    ) -> Extension {
        self.handlers.insert(point, (options, handler));
        self
    }

    /// Handles `client.authenticate` with `handler`.
    pub fn on_client_authenticate(
        self,
        handler: impl OnClientAuthenticate,
        options: Options,
    ) -> Extension {
        self.with(
            "client.authenticate",
            Arc::new(Authenticate(Arc::new(handler))),
            options,
        )
    }

    /// Handles `client.enhanced_authenticate` with `handler`.
    pub fn on_client_enhanced_authenticate(
        self,
        handler: impl OnClientEnhancedAuthenticate,
        options: Options,
    ) -> Extension {
        self.with(
            "client.enhanced_authenticate",
            Arc::new(EnhancedAuthenticate(Arc::new(handler))),
            options,
        )
    }

    /// Handles `client.authorize` with `handler`.
    pub fn on_client_authorize(
        self,
        handler: impl OnClientAuthorize,
        options: Options,
    ) -> Extension {
        self.with(
            "client.authorize",
            Arc::new(Authorize(Arc::new(handler))),
            options,
        )
    }

    /// Handles `message.publish` with `handler`.
    pub fn on_message_publish(self, handler: impl OnMessagePublish, options: Options) -> Extension {
        self.with(
            "message.publish",
            Arc::new(PublishHandler(Arc::new(handler))),
            options,
        )
    }

    /// The `Register` answer.
    pub(crate) fn register(&self) -> pb::Register {
        pb::Register {
            protocol_version: PROTOCOL_VERSION,
            name: self.name.clone(),
            hooks: self
                .handlers
                .iter()
                .map(|(point, (o, _))| pb::HookRegistration {
                    point: (*point).to_owned(),
                    topics: o.topics.clone(),
                    observe: o.observe,
                })
                .collect(),
        }
    }

    /// Starts handling one event: resolves to the reply, if the broker waits for one (an event
    /// nobody here handles gets "no opinion", so the broker does not wait).
    pub(crate) fn handle(&self, event: pb::Event) -> Handled {
        let wanted = !event.no_reply;
        let Some(payload) = event.payload else {
            return no_opinion(event.id, wanted);
        };
        match self.handlers.get(point_name(&payload)) {
            Some((_, h)) => h.handle(event.id, payload, wanted),
            None => no_opinion(event.id, wanted),
        }
    }

    /// Serves one stream: `Hello` first, then event batches until the broker ends the stream.
    pub(crate) async fn run(
        self: Arc<Self>,
        mut inbound: Streaming<pb::BrokerFrame>,
        out: mpsc::Sender<Result<pb::ExtensionFrame, Status>>,
    ) {
        let hello = match inbound.message().await {
            Ok(Some(pb::BrokerFrame {
                kind: Some(broker_frame::Kind::Hello(h)),
            })) => h,
            _ => {
                let _ = out
                    .send(Err(Status::invalid_argument(
                        "the first frame must be Hello",
                    )))
                    .await;
                return;
            }
        };
        tracing::debug!(node = %hello.node, stream = hello.stream_index, "broker connected");
        let register = pb::ExtensionFrame {
            kind: Some(extension_frame::Kind::Register(self.register())),
        };
        if out.send(Ok(register)).await.is_err() {
            return;
        }
        let limits = hello.limits.unwrap_or_default();
        // The broker refuses a reply batch larger than its max_batch.
        let max_batch = (limits.max_batch as usize).max(1);
        let (replies, replies_rx) = mpsc::channel(max_batch.saturating_mul(4));
        let attached = self.broker.attach(out.clone());
        tokio::spawn(write(replies_rx, out, max_batch));
        let lanes = Lanes::new(self.clone(), replies, self.concurrency);
        loop {
            let frame = match inbound.message().await {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(status) => {
                    tracing::debug!(%status, "stream ended");
                    return;
                }
            };
            match frame.kind {
                Some(broker_frame::Kind::Events(batch)) => {
                    for event in batch.events {
                        lanes.push(event).await;
                    }
                }
                Some(broker_frame::Kind::CommandReplies(batch)) => attached.settle(batch),
                _ => {}
            }
        }
    }
}

/// Sends replies as they come, whatever is ready as one batch (at most `max_batch`).
async fn write(
    mut replies: mpsc::Receiver<pb::Reply>,
    out: mpsc::Sender<Result<pb::ExtensionFrame, Status>>,
    max_batch: usize,
) {
    let mut taken = Vec::with_capacity(max_batch);
    while replies.recv_many(&mut taken, max_batch).await > 0 {
        let batch = std::mem::replace(&mut taken, Vec::with_capacity(max_batch));
        let frame = pb::ExtensionFrame {
            kind: Some(extension_frame::Kind::Replies(pb::ReplyBatch {
                replies: batch,
            })),
        };
        if out.send(Ok(frame)).await.is_err() {
            return;
        }
    }
}

/// The point name of an event's payload.
fn point_name(p: &pb::event::Payload) -> &'static str {
    use pb::event::Payload as P;
    match p {
        P::ClientConnect(_) => "client.connect",
        P::ClientConnack(_) => "client.connack",
        P::ClientConnected(_) => "client.connected",
        P::ClientDisconnected(_) => "client.disconnected",
        P::ClientAuthenticate(_) => "client.authenticate",
        P::ClientAuthorize(_) => "client.authorize",
        P::ClientSubscribe(_) => "client.subscribe",
        P::ClientUnsubscribe(_) => "client.unsubscribe",
        P::SessionCreated(_) => "session.created",
        P::SessionSubscribed(_) => "session.subscribed",
        P::SessionUnsubscribed(_) => "session.unsubscribed",
        P::SessionResumed(_) => "session.resumed",
        P::SessionDiscarded(_) => "session.discarded",
        P::SessionTakenover(_) => "session.takenover",
        P::SessionTerminated(_) => "session.terminated",
        P::MessagePublish(_) => "message.publish",
        P::MessageDelivered(_) => "message.delivered",
        P::MessageAcked(_) => "message.acked",
        P::MessageDropped(_) => "message.dropped",
        P::ClientEnhancedAuthenticate(_) => "client.enhanced_authenticate",
    }
}
