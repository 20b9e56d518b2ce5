//! [`Extension`]: the handlers of one extension by hook point, what it registers with the
//! broker, and the order in which it handles a stream's events: one stream at a time in the
//! order they arrive (each client's events stay in order, as the broker sent them), the reply
//! batch sent when the event batch is done.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tonic::{Status, Streaming};

use crate::hooks::{
    Authenticate, Authorize, Erased, OnClientAuthenticate, OnClientAuthorize, OnMessagePublish,
    PublishHandler,
};
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

/// An extension: a name and a handler per hook point. Serve it with [`crate::serve`].
#[derive(Clone)]
pub struct Extension {
    name: String,
    handlers: BTreeMap<&'static str, (Options, Arc<dyn Erased>)>,
}

impl Extension {
    /// An extension with no handlers yet.
    pub fn new(name: impl Into<String>) -> Extension {
        Extension {
            name: name.into(),
            handlers: BTreeMap::new(),
        }
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

    /// Handles one event: the reply, if it expects one.
    async fn handle(&self, event: pb::Event) -> Option<pb::Reply> {
        let payload = event.payload?;
        let point = point_name(&payload);
        let reply = match self.handlers.get(point) {
            Some((_, h)) => h.handle(event.id, payload).await,
            None => None,
        };
        if event.no_reply {
            return None;
        }
        // An event nobody here handles still gets an answer, so the broker does not wait.
        Some(reply.unwrap_or(pb::Reply {
            id: event.id,
            ..pb::Reply::default()
        }))
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
        loop {
            let frame = match inbound.message().await {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(status) => {
                    tracing::debug!(%status, "stream ended");
                    return;
                }
            };
            let Some(broker_frame::Kind::Events(batch)) = frame.kind else {
                continue;
            };
            let mut replies = Vec::with_capacity(batch.events.len());
            for event in batch.events {
                if let Some(r) = self.handle(event).await {
                    replies.push(r);
                }
            }
            if replies.is_empty() {
                continue;
            }
            let frame = pb::ExtensionFrame {
                kind: Some(extension_frame::Kind::Replies(pb::ReplyBatch { replies })),
            };
            if out.send(Ok(frame)).await.is_err() {
                return;
            }
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
    }
}
