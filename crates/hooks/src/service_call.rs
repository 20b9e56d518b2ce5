//! Service calls by value: the [`ServiceCall`] a driver decodes from its wire (an Erlang-port
//! call frame, a stream command) and the [`ServiceReply`] it encodes back. One place runs a call
//! against [`BrokerServices`], so every driver offers the same services with the same errors.

use std::sync::Arc;

use bytes::Bytes;
use hookmq_codec::{Properties, QoS, ReasonCode, SubscriptionOptions};

use crate::message::{Message, MessageId};
use crate::services::{
    AuthzTarget, BrokerServices, ClientFilter, ClientPage, ClientSummary, Page, PublishReceipt,
    PublishRequest, ServiceError, ServiceFuture, SessionSummary,
};

/// The service names, as drivers that call by name spell them.
pub const SERVICE_NAMES: [&str; 13] = [
    "publish",
    "kick",
    "subscribe",
    "unsubscribe",
    "client",
    "clients",
    "session",
    "retained_get",
    "retained_set",
    "retained_delete",
    "authz_cache_invalidate",
    "metrics",
    "confirm",
];

/// One service call with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceCall {
    /// [`BrokerServices::publish`].
    Publish(PublishRequest),
    /// [`BrokerServices::kick`].
    Kick {
        /// Client id.
        clientid: String,
        /// DISCONNECT reason code.
        reason: ReasonCode,
    },
    /// [`BrokerServices::subscribe`].
    Subscribe {
        /// Client id.
        clientid: String,
        /// Topic filter.
        filter: String,
        /// Options (QoS, no local, retain as published, retain handling).
        options: SubscriptionOptions,
    },
    /// [`BrokerServices::unsubscribe`].
    Unsubscribe {
        /// Client id.
        clientid: String,
        /// Topic filter.
        filter: String,
    },
    /// [`BrokerServices::client`].
    Client {
        /// Client id.
        clientid: String,
    },
    /// [`BrokerServices::clients`].
    Clients {
        /// Which clients.
        filter: ClientFilter,
        /// Which page.
        page: Page,
    },
    /// [`BrokerServices::session`].
    Session {
        /// Client id.
        clientid: String,
    },
    /// [`BrokerServices::retained_get`].
    RetainedGet {
        /// Topic name.
        topic: String,
    },
    /// [`BrokerServices::retained_set`].
    RetainedSet {
        /// Topic name.
        topic: String,
        /// Payload (empty deletes).
        payload: Bytes,
        /// QoS.
        qos: QoS,
        /// Properties.
        properties: Properties,
    },
    /// [`BrokerServices::retained_delete`].
    RetainedDelete {
        /// Topic name.
        topic: String,
    },
    /// [`BrokerServices::authz_cache_invalidate`].
    AuthzCacheInvalidate(AuthzTarget),
    /// [`BrokerServices::metrics`].
    Metrics,
    /// [`BrokerServices::confirm`].
    Confirm {
        /// The held message's id.
        id: MessageId,
        /// Success (true) or failure.
        ok: bool,
    },
}

/// What a service call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceReply {
    /// `publish`.
    Published(PublishReceipt),
    /// `kick`.
    Kicked,
    /// `subscribe`: the granted QoS.
    Subscribed(QoS),
    /// `unsubscribe` / `retained_delete`: whether something was removed.
    Removed(bool),
    /// `client`.
    Client(ClientSummary),
    /// `clients`.
    Clients(ClientPage),
    /// `session`.
    Session(SessionSummary),
    /// `retained_get`.
    Retained(Option<Arc<Message>>),
    /// `retained_set`.
    RetainedSet,
    /// `authz_cache_invalidate`: sessions re-checked.
    Invalidated(usize),
    /// `metrics`.
    Metrics(Vec<(String, i64)>),
    /// `confirm`.
    Confirmed,
}

impl ServiceCall {
    /// The service's name (one of [`SERVICE_NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            ServiceCall::Publish(_) => "publish",
            ServiceCall::Kick { .. } => "kick",
            ServiceCall::Subscribe { .. } => "subscribe",
            ServiceCall::Unsubscribe { .. } => "unsubscribe",
            ServiceCall::Client { .. } => "client",
            ServiceCall::Clients { .. } => "clients",
            ServiceCall::Session { .. } => "session",
            ServiceCall::RetainedGet { .. } => "retained_get",
            ServiceCall::RetainedSet { .. } => "retained_set",
            ServiceCall::RetainedDelete { .. } => "retained_delete",
            ServiceCall::AuthzCacheInvalidate(_) => "authz_cache_invalidate",
            ServiceCall::Metrics => "metrics",
            ServiceCall::Confirm { .. } => "confirm",
        }
    }

    /// Runs the call. The returned future owns what it needs, so a driver can spawn it and
    /// keep reading its wire meanwhile.
    pub fn run(self, services: &dyn BrokerServices) -> ServiceFuture<ServiceReply> {
        fn ready(r: Result<ServiceReply, ServiceError>) -> ServiceFuture<ServiceReply> {
            Box::pin(std::future::ready(r))
        }
        match self {
            ServiceCall::Publish(req) => {
                let f = services.publish(req);
                Box::pin(async move { f.await.map(ServiceReply::Published) })
            }
            ServiceCall::Kick { clientid, reason } => ready(
                services
                    .kick(&clientid, reason)
                    .map(|()| ServiceReply::Kicked),
            ),
            ServiceCall::Subscribe {
                clientid,
                filter,
                options,
            } => {
                let f = services.subscribe(&clientid, &filter, options);
                Box::pin(async move { f.await.map(ServiceReply::Subscribed) })
            }
            ServiceCall::Unsubscribe { clientid, filter } => {
                let f = services.unsubscribe(&clientid, &filter);
                Box::pin(async move { f.await.map(ServiceReply::Removed) })
            }
            ServiceCall::Client { clientid } => {
                ready(services.client(&clientid).map(ServiceReply::Client))
            }
            ServiceCall::Clients { filter, page } => {
                ready(Ok(ServiceReply::Clients(services.clients(&filter, page))))
            }
            ServiceCall::Session { clientid } => {
                ready(services.session(&clientid).map(ServiceReply::Session))
            }
            ServiceCall::RetainedGet { topic } => {
                ready(services.retained_get(&topic).map(ServiceReply::Retained))
            }
            ServiceCall::RetainedSet {
                topic,
                payload,
                qos,
                properties,
            } => {
                let f = services.retained_set(&topic, payload, qos, properties);
                Box::pin(async move { f.await.map(|()| ServiceReply::RetainedSet) })
            }
            ServiceCall::RetainedDelete { topic } => {
                ready(services.retained_delete(&topic).map(ServiceReply::Removed))
            }
            ServiceCall::AuthzCacheInvalidate(target) => {
                let f = services.authz_cache_invalidate(target);
                Box::pin(async move { f.await.map(ServiceReply::Invalidated) })
            }
            ServiceCall::Metrics => ready(Ok(ServiceReply::Metrics(services.metrics()))),
            ServiceCall::Confirm { id, ok } => {
                ready(services.confirm(id, ok).map(|()| ServiceReply::Confirmed))
            }
        }
    }
}
