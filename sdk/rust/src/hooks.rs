//! One trait per hook point. Implement the ones your extension handles and register each with
//! [`Extension`](crate::Extension)'s method of the same name; every method has a default (no
//! opinion, or nothing to do), so an implementation overrides only what it needs. Events are the
//! protocol's messages ([`crate::proto::v1`]): every field the broker knows, MQTT 5 properties
//! included.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::answer::{Answer, Auth, EnhancedAuth, Publish, reply};
use crate::proto::v1::{self as pb, event::Payload};

/// What an erased handler gives: the reply, for events that expect one.
pub(crate) type Handled = Pin<Box<dyn Future<Output = Option<pb::Reply>> + Send>>;

/// A handler of one point, whatever its trait. `reply`: the broker waits for an answer (a
/// notification or an observe-only event gets none).
pub(crate) trait Erased: Send + Sync + 'static {
    fn handle(&self, id: u64, payload: Payload, reply: bool) -> Handled;
}

/// The answer "no opinion", for events that expect one and have no handler here.
pub(crate) fn no_opinion(id: u64, reply: bool) -> Handled {
    Box::pin(std::future::ready(reply.then(|| pb::Reply {
        id,
        ..pb::Reply::default()
    })))
}

/// `client.authenticate`: decide whether a client may log in. The event carries the password.
pub trait OnClientAuthenticate: Send + Sync + 'static {
    /// Answers one login; the default has no opinion.
    fn on_client_authenticate(
        &self,
        event: pb::ClientAuthenticate,
    ) -> impl Future<Output = Answer<Auth>> + Send {
        let _ = event;
        async { Answer::Ignore }
    }
}

/// `client.authorize`: decide whether a client may publish to or subscribe to a topic.
pub trait OnClientAuthorize: Send + Sync + 'static {
    /// Answers one check (`true`: allowed); the default has no opinion.
    fn on_client_authorize(
        &self,
        event: pb::ClientAuthorize,
    ) -> impl Future<Output = Answer<bool>> + Send {
        let _ = event;
        async { Answer::Ignore }
    }
}

/// `message.publish`: rewrite or drop a message before it is routed.
pub trait OnMessagePublish: Send + Sync + 'static {
    /// Answers one message; the default has no opinion.
    fn on_message_publish(
        &self,
        event: pb::MessagePublish,
    ) -> impl Future<Output = Answer<Publish>> + Send {
        let _ = event;
        async { Answer::Ignore }
    }
}

/// `client.enhanced_authenticate`: one step of an MQTT 5 enhanced authentication exchange (a
/// CONNECT with an Authentication Method, the client's AUTH 0x18, a re-authentication's AUTH
/// 0x19). The event carries the method, the client's data, the step and the state the previous
/// [`EnhancedAuth::Continue`] gave.
pub trait OnClientEnhancedAuthenticate: Send + Sync + 'static {
    /// Answers one step; the default has no opinion (a method nobody answers is refused with
    /// 0x8C Bad authentication method).
    fn on_client_enhanced_authenticate(
        &self,
        event: pb::ClientEnhancedAuthenticate,
    ) -> impl Future<Output = Answer<EnhancedAuth>> + Send {
        let _ = event;
        async { Answer::Ignore }
    }
}

pub(crate) struct EnhancedAuthenticate<H>(pub(crate) Arc<H>);

impl<H: OnClientEnhancedAuthenticate> Erased for EnhancedAuthenticate<H> {
    fn handle(&self, id: u64, payload: Payload, wanted: bool) -> Handled {
        let Payload::ClientEnhancedAuthenticate(e) = payload else {
            return no_opinion(id, wanted);
        };
        let h = self.0.clone();
        Box::pin(async move {
            let answer = h.on_client_enhanced_authenticate(e).await;
            wanted.then(|| reply(id, answer, EnhancedAuth::into_value))
        })
    }
}

pub(crate) struct Authenticate<H>(pub(crate) Arc<H>);

impl<H: OnClientAuthenticate> Erased for Authenticate<H> {
    fn handle(&self, id: u64, payload: Payload, wanted: bool) -> Handled {
        let Payload::ClientAuthenticate(e) = payload else {
            return no_opinion(id, wanted);
        };
        let h = self.0.clone();
        Box::pin(async move {
            let answer = h.on_client_authenticate(e).await;
            wanted.then(|| reply(id, answer, |a| pb::reply::Value::Auth(a.to_proto())))
        })
    }
}

pub(crate) struct Authorize<H>(pub(crate) Arc<H>);

impl<H: OnClientAuthorize> Erased for Authorize<H> {
    fn handle(&self, id: u64, payload: Payload, wanted: bool) -> Handled {
        let Payload::ClientAuthorize(e) = payload else {
            return no_opinion(id, wanted);
        };
        let h = self.0.clone();
        Box::pin(async move {
            let answer = h.on_client_authorize(e).await;
            wanted.then(|| reply(id, answer, pb::reply::Value::Allow))
        })
    }
}

pub(crate) struct PublishHandler<H>(pub(crate) Arc<H>);

impl<H: OnMessagePublish> Erased for PublishHandler<H> {
    fn handle(&self, id: u64, payload: Payload, wanted: bool) -> Handled {
        let Payload::MessagePublish(e) = payload else {
            return no_opinion(id, wanted);
        };
        let h = self.0.clone();
        Box::pin(async move {
            let answer = h.on_message_publish(e).await;
            wanted.then(|| reply(id, answer, Publish::into_value))
        })
    }
}

/// A notification trait, its adapter and its registration method.
macro_rules! notification {
    ($(#[$doc:meta])* $trait:ident, $method:ident, $adapter:ident, $event:ty, $variant:ident, $point:literal) => {
        $(#[$doc])*
        pub trait $trait: Send + Sync + 'static {
            /// Called for each event, in the client's order; the default does nothing.
            fn $method(&self, event: $event) -> impl Future<Output = ()> + Send {
                let _ = event;
                async {}
            }
        }

        pub(crate) struct $adapter<H>(pub(crate) Arc<H>);

        impl<H: $trait> Erased for $adapter<H> {
            fn handle(&self, id: u64, payload: Payload, wanted: bool) -> Handled {
                let Payload::$variant(e) = payload else {
                    return no_opinion(id, wanted);
                };
                let h = self.0.clone();
                Box::pin(async move {
                    h.$method(e).await;
                    // A notification takes no value: "no opinion" if the broker asks at all.
                    wanted.then(|| pb::Reply {
                        id,
                        ..pb::Reply::default()
                    })
                })
            }
        }

        impl crate::Extension {
            #[doc = concat!("Handles `", $point, "` with `handler`.")]
            pub fn $method(self, handler: impl $trait, options: crate::Options) -> Self {
                self.with($point, Arc::new($adapter(Arc::new(handler))), options)
            }
        }
    };
}

notification!(
    /// `client.connect`: a CONNECT arrived (before authentication).
    OnClientConnect, on_client_connect, ClientConnectAdapter, pb::ClientConnect, ClientConnect, "client.connect"
);
notification!(
    /// `client.connack`: a CONNACK is about to be sent.
    OnClientConnack, on_client_connack, ClientConnackAdapter, pb::ClientConnack, ClientConnack, "client.connack"
);
notification!(
    /// `client.connected`: a client is connected.
    OnClientConnected, on_client_connected, ClientConnectedAdapter, pb::ClientConnected, ClientConnected, "client.connected"
);
notification!(
    /// `client.disconnected`: a connection closed.
    OnClientDisconnected, on_client_disconnected, ClientDisconnectedAdapter, pb::ClientDisconnected, ClientDisconnected, "client.disconnected"
);
notification!(
    /// `client.subscribe`: a SUBSCRIBE arrived.
    OnClientSubscribe, on_client_subscribe, ClientSubscribeAdapter, pb::ClientSubscribe, ClientSubscribe, "client.subscribe"
);
notification!(
    /// `client.unsubscribe`: an UNSUBSCRIBE arrived.
    OnClientUnsubscribe, on_client_unsubscribe, ClientUnsubscribeAdapter, pb::ClientUnsubscribe, ClientUnsubscribe, "client.unsubscribe"
);
notification!(
    /// `session.created`.
    OnSessionCreated, on_session_created, SessionCreatedAdapter, pb::SessionEvent, SessionCreated, "session.created"
);
notification!(
    /// `session.subscribed`: a subscription was added.
    OnSessionSubscribed, on_session_subscribed, SessionSubscribedAdapter, pb::SessionSubscribed, SessionSubscribed, "session.subscribed"
);
notification!(
    /// `session.unsubscribed`: a subscription was removed.
    OnSessionUnsubscribed, on_session_unsubscribed, SessionUnsubscribedAdapter, pb::SessionUnsubscribed, SessionUnsubscribed, "session.unsubscribed"
);
notification!(
    /// `session.resumed`.
    OnSessionResumed, on_session_resumed, SessionResumedAdapter, pb::SessionEvent, SessionResumed, "session.resumed"
);
notification!(
    /// `session.discarded`.
    OnSessionDiscarded, on_session_discarded, SessionDiscardedAdapter, pb::SessionEvent, SessionDiscarded, "session.discarded"
);
notification!(
    /// `session.takenover`.
    OnSessionTakenover, on_session_takenover, SessionTakenoverAdapter, pb::SessionEvent, SessionTakenover, "session.takenover"
);
notification!(
    /// `session.terminated`.
    OnSessionTerminated, on_session_terminated, SessionTerminatedAdapter, pb::SessionTerminated, SessionTerminated, "session.terminated"
);
notification!(
    /// `message.delivered`: a message was sent to a subscriber.
    OnMessageDelivered, on_message_delivered, MessageDeliveredAdapter, pb::MessageDelivered, MessageDelivered, "message.delivered"
);
notification!(
    /// `message.acked`: a subscriber acknowledged a QoS 1/2 message.
    OnMessageAcked, on_message_acked, MessageAckedAdapter, pb::MessageAcked, MessageAcked, "message.acked"
);
notification!(
    /// `message.dropped`: a message was dropped.
    OnMessageDropped, on_message_dropped, MessageDroppedAdapter, pb::MessageDropped, MessageDropped, "message.dropped"
);
