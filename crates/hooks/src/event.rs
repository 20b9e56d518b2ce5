//! One typed value per hook call: [`Event`] carries the payload of each of the 20 hook points,
//! including the current accumulator for the four valued points. Drivers translate events into
//! their wire format; a future streaming protocol can carry the same values.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{Properties, ReasonCode, SubscriptionOptions, TopicFilter};

use crate::enhanced_auth::{AuthStep, EnhancedAuth};
use crate::info::{ClientInfo, ConnInfo, Identity};
use crate::message::{DropReason, Message};
use crate::point::HookPoint;

/// What a client wants to do with a topic (`client.authorize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// PUBLISH to a topic name.
    Publish,
    /// SUBSCRIBE to a topic filter.
    Subscribe,
}

impl Action {
    /// `publish` or `subscribe`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }
}

/// The outcome of authentication so far, which is the accumulator of `client.authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// Let the client in.
    Allow {
        /// Grant superuser (authorization is skipped for superusers).
        superuser: bool,
    },
    /// Refuse the connection with this reason: [`ReasonCode::NOT_AUTHORIZED`] (v3 return code 5)
    /// or [`ReasonCode::BAD_USER_NAME_OR_PASSWORD`] (v3 return code 4).
    Deny(ReasonCode),
}

impl AuthResult {
    /// Whether the client is let in.
    pub fn is_allowed(self) -> bool {
        matches!(self, AuthResult::Allow { .. })
    }
}

/// Options of one subscription as `session.subscribed` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInfo {
    /// Options from the SUBSCRIBE.
    pub options: SubscriptionOptions,
    /// Whether the subscription did not exist before.
    pub is_new: bool,
    /// MQTT 5 subscription identifier.
    pub subscription_id: Option<u32>,
}

/// The payload of one hook call.
#[derive(Debug, Clone)]
pub enum Event {
    /// `client.connect`: CONNECT received.
    ClientConnect {
        /// The connection.
        conninfo: Arc<ConnInfo>,
        /// CONNECT properties (MQTT 5).
        props: Properties,
    },
    /// `client.connack`: about to answer CONNECT.
    ClientConnack {
        /// The connection.
        conninfo: Arc<ConnInfo>,
        /// The CONNACK reason; [`ReasonCode::name`] gives EMQX's text.
        result: ReasonCode,
        /// CONNACK properties.
        props: Properties,
    },
    /// `client.connected`.
    ClientConnected {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// The connection.
        conninfo: Arc<ConnInfo>,
    },
    /// `client.disconnected`.
    ClientDisconnected {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// Why, e.g. `normal`, `keepalive_timeout`, `takenover`, `kicked`, `closed`.
        reason: ByteString,
        /// The connection.
        conninfo: Arc<ConnInfo>,
    },
    /// `client.authenticate` (valued).
    ClientAuthenticate {
        /// The client, with its password.
        clientinfo: Arc<ClientInfo>,
        /// The result so far.
        result: AuthResult,
        /// The owner of the session already held under this client id, if there is one: a
        /// handler can refuse a client whose identity differs (the session would be taken over
        /// or resumed by someone else; `session.owner_change` says what happens otherwise).
        previous_owner: Option<Identity>,
    },
    /// `client.authorize` (valued).
    ClientAuthorize {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// Publish or subscribe.
        action: Action,
        /// Topic name, or for subscribe the filter without any `$share/group/` prefix.
        topic: ByteString,
        /// The result so far (true: allowed).
        result: bool,
    },
    /// `client.subscribe`: SUBSCRIBE received.
    ClientSubscribe {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// SUBSCRIBE properties.
        props: Properties,
        /// The filters with their options.
        filters: Vec<(TopicFilter, SubscriptionOptions)>,
    },
    /// `client.unsubscribe`: UNSUBSCRIBE received.
    ClientUnsubscribe {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// UNSUBSCRIBE properties.
        props: Properties,
        /// The filters.
        filters: Vec<TopicFilter>,
    },
    /// `session.created`.
    SessionCreated {
        /// The client.
        clientinfo: Arc<ClientInfo>,
    },
    /// `session.subscribed`.
    SessionSubscribed {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// The filter, in its full `$share/group/...` form if shared.
        filter: TopicFilter,
        /// Its options.
        info: SubscriptionInfo,
    },
    /// `session.unsubscribed`.
    SessionUnsubscribed {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// The filter removed.
        filter: TopicFilter,
    },
    /// `session.resumed`.
    SessionResumed {
        /// The client.
        clientinfo: Arc<ClientInfo>,
    },
    /// `session.discarded`.
    SessionDiscarded {
        /// The client whose session was discarded.
        clientinfo: Arc<ClientInfo>,
    },
    /// `session.takenover`.
    SessionTakenover {
        /// The client whose session was taken over (the old connection).
        clientinfo: Arc<ClientInfo>,
    },
    /// `session.terminated`.
    SessionTerminated {
        /// The client.
        clientinfo: Arc<ClientInfo>,
        /// Why, e.g. `normal`, `expired`, `discarded`, `takenover`, `kicked`.
        reason: ByteString,
    },
    /// `message.publish` (valued): the message so far.
    MessagePublish {
        /// The message.
        message: Arc<Message>,
    },
    /// `message.delivered`: sent to a subscriber.
    MessageDelivered {
        /// The subscriber.
        clientinfo: Arc<ClientInfo>,
        /// The message.
        message: Arc<Message>,
    },
    /// `message.acked`: a subscriber acknowledged a QoS 1/2 message.
    MessageAcked {
        /// The subscriber.
        clientinfo: Arc<ClientInfo>,
        /// The message.
        message: Arc<Message>,
    },
    /// `message.dropped`.
    MessageDropped {
        /// The message.
        message: Arc<Message>,
        /// Why.
        reason: DropReason,
    },
    /// `client.enhanced_authenticate` (valued): one step of an MQTT 5 AUTH exchange.
    ClientEnhancedAuthenticate {
        /// The client; with its password (if the CONNECT had one) at the initial step.
        clientinfo: Arc<ClientInfo>,
        /// The Authentication Method.
        method: ByteString,
        /// The client's Authentication Data in this step.
        data: Option<Bytes>,
        /// Initial (CONNECT), continue (AUTH 0x18) or re-authenticate (AUTH 0x19).
        step: AuthStep,
        /// What the previous step's `continue` answer asked to get back.
        state: Option<Bytes>,
        /// The answer so far.
        result: EnhancedAuth,
    },
}

impl Event {
    /// The hook point this event belongs to.
    pub fn point(&self) -> HookPoint {
        match self {
            Event::ClientConnect { .. } => HookPoint::ClientConnect,
            Event::ClientConnack { .. } => HookPoint::ClientConnack,
            Event::ClientConnected { .. } => HookPoint::ClientConnected,
            Event::ClientDisconnected { .. } => HookPoint::ClientDisconnected,
            Event::ClientAuthenticate { .. } => HookPoint::ClientAuthenticate,
            Event::ClientAuthorize { .. } => HookPoint::ClientAuthorize,
            Event::ClientSubscribe { .. } => HookPoint::ClientSubscribe,
            Event::ClientUnsubscribe { .. } => HookPoint::ClientUnsubscribe,
            Event::SessionCreated { .. } => HookPoint::SessionCreated,
            Event::SessionSubscribed { .. } => HookPoint::SessionSubscribed,
            Event::SessionUnsubscribed { .. } => HookPoint::SessionUnsubscribed,
            Event::SessionResumed { .. } => HookPoint::SessionResumed,
            Event::SessionDiscarded { .. } => HookPoint::SessionDiscarded,
            Event::SessionTakenover { .. } => HookPoint::SessionTakenover,
            Event::SessionTerminated { .. } => HookPoint::SessionTerminated,
            Event::MessagePublish { .. } => HookPoint::MessagePublish,
            Event::MessageDelivered { .. } => HookPoint::MessageDelivered,
            Event::MessageAcked { .. } => HookPoint::MessageAcked,
            Event::MessageDropped { .. } => HookPoint::MessageDropped,
            Event::ClientEnhancedAuthenticate { .. } => HookPoint::ClientEnhancedAuthenticate,
        }
    }

    /// The client id the event is about (used to keep each client's events in order); for
    /// `message.publish` and `message.dropped` the publisher.
    pub fn clientid(&self) -> &str {
        match self {
            Event::ClientConnect { conninfo, .. } | Event::ClientConnack { conninfo, .. } => {
                &conninfo.clientid
            }
            Event::ClientConnected { clientinfo, .. }
            | Event::ClientDisconnected { clientinfo, .. }
            | Event::ClientAuthenticate { clientinfo, .. }
            | Event::ClientAuthorize { clientinfo, .. }
            | Event::ClientSubscribe { clientinfo, .. }
            | Event::ClientUnsubscribe { clientinfo, .. }
            | Event::SessionCreated { clientinfo }
            | Event::SessionSubscribed { clientinfo, .. }
            | Event::SessionUnsubscribed { clientinfo, .. }
            | Event::SessionResumed { clientinfo }
            | Event::SessionDiscarded { clientinfo }
            | Event::SessionTakenover { clientinfo }
            | Event::SessionTerminated { clientinfo, .. }
            | Event::MessageDelivered { clientinfo, .. }
            | Event::MessageAcked { clientinfo, .. }
            | Event::ClientEnhancedAuthenticate { clientinfo, .. } => &clientinfo.clientid,
            Event::MessagePublish { message } | Event::MessageDropped { message, .. } => {
                &message.from
            }
        }
    }

    /// The message of a `message.*` event.
    pub fn message(&self) -> Option<&Arc<Message>> {
        match self {
            Event::MessagePublish { message }
            | Event::MessageDelivered { message, .. }
            | Event::MessageAcked { message, .. }
            | Event::MessageDropped { message, .. } => Some(message),
            _ => None,
        }
    }
}
