//! The broker's implementation of [`BrokerServices`]: what hook code may ask of the broker
//! (publish, kick, subscribe on behalf of a client, queries, retained messages, authorization
//! cache invalidation, counters). [`Broker::new`](crate::Broker::new) installs it in the hook
//! registry, where every driver finds it; native handlers also reach it through
//! [`Broker::services`](crate::Broker::services).
//!
//! Ordering: no service waits on a client's connection task or on any hook. A kick or a cache
//! invalidation is a command queued for the client's task (handled before its next packet); a
//! publish through hooks is accepted at once and runs `message.publish` in a task of its own, so
//! a hook may call any service for the very client whose event it is handling.
//!
//! Authority: hook code speaks for the broker. Subscriptions made here are not authorized with
//! `client.authorize` (a later re-check may still remove them), and topics starting with `$` are
//! refused ([MQTT-4.7.2-1]: they are the broker's own, `$SYS` above all).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{
    Properties, QoS, ReasonCode, RetainHandling, SubscriptionOptions, TopicFilter, TopicName,
};
use hookmq_hooks::{
    AuthzTarget, BrokerServices, ClientFilter, ClientPage, ClientSummary, Event, HookPoint,
    MAX_HOPS, MAX_PAGE, Message, MessageHeaders, MessageId, Page, PublishReceipt, PublishRequest,
    ServiceError, ServiceFuture, SessionSubscription, SessionSummary, SubscriptionInfo,
};

use crate::delivery::Delivery;
use crate::metrics::Metrics;
use crate::persist::Op;
use crate::session::{Control, Session, Subscription};
use crate::shared::{Published, Shared};

/// Bytes of a PUBLISH besides topic and payload, counted against `mqtt.max_packet_size`:
/// fixed header (up to 5), topic length (2), packet id (2), property length (up to 4).
const PUBLISH_OVERHEAD: usize = 13;

/// The broker's services. Holds the broker's state weakly: the hook registry keeps this, and
/// the broker keeps the registry.
pub(crate) struct Services {
    shared: Weak<Shared>,
}

impl Services {
    /// Services over this broker's state.
    pub(crate) fn new(shared: &Arc<Shared>) -> Services {
        Services {
            shared: Arc::downgrade(shared),
        }
    }

    fn shared(&self) -> Result<Arc<Shared>, ServiceError> {
        self.shared.upgrade().ok_or(ServiceError::Unavailable)
    }

    /// What subscribe and unsubscribe on behalf of `clientid` start from: the session and the
    /// filter as given and as mounted, checked before the call's future exists.
    fn on_behalf(&self, clientid: &str, filter: &str) -> Result<OnBehalf, ServiceError> {
        let shared = self.shared()?;
        let session = session_of(&shared, clientid)?;
        let (filter, mounted) = filter_for(&shared, &session, filter)?;
        Ok(OnBehalf {
            shared,
            session,
            filter,
            mounted,
        })
    }
}

/// What a subscribe or unsubscribe on behalf of a client acts on.
struct OnBehalf {
    shared: Arc<Shared>,
    session: Arc<Session>,
    /// The filter as the hook gave it.
    filter: TopicFilter,
    /// The filter under the client's mount point.
    mounted: TopicFilter,
}

/// A topic name hook code may publish to or retain at: valid by the codec's rules, not a `$`
/// topic, within `mqtt.max_topic_levels`.
fn topic_name(shared: &Shared, topic: &str) -> Result<TopicName, ServiceError> {
    let invalid = |reason: String| ServiceError::InvalidTopic {
        topic: topic.to_owned(),
        reason,
    };
    let name = TopicName::new(topic.to_owned()).map_err(|e| invalid(e.to_string()))?;
    if name.is_dollar() {
        return Err(ServiceError::NotAllowed(format!(
            "topic {topic:?}: topics starting with $ are reserved to the broker"
        )));
    }
    if !shared.topic_depth_ok(topic) {
        return Err(invalid("more levels than mqtt.max_topic_levels".into()));
    }
    Ok(name)
}

/// Refuses a payload that would make a PUBLISH larger than `mqtt.max_packet_size`.
fn payload_fits(shared: &Shared, topic: &str, payload: &Bytes) -> Result<(), ServiceError> {
    let max = shared.config.mqtt.max_packet_size.0 as usize;
    let room = max.saturating_sub(PUBLISH_OVERHEAD + topic.len());
    if payload.len() > room {
        return Err(ServiceError::PayloadTooLarge {
            size: payload.len(),
            max,
        });
    }
    Ok(())
}

/// The session of a client id.
fn session_of(shared: &Shared, clientid: &str) -> Result<Arc<Session>, ServiceError> {
    shared
        .registry
        .get(clientid)
        .ok_or_else(|| ServiceError::UnknownClient(clientid.to_owned()))
}

/// A filter as hook code gave it, checked like a client's SUBSCRIBE filter, and its key in the
/// session (with the client's mount point).
fn filter_for(
    shared: &Shared,
    session: &Session,
    filter: &str,
) -> Result<(TopicFilter, TopicFilter), ServiceError> {
    let invalid = |reason: String| ServiceError::InvalidFilter {
        filter: filter.to_owned(),
        reason,
    };
    let parsed = TopicFilter::new(filter.to_owned()).map_err(|e| invalid(e.to_string()))?;
    let cfg = &shared.config.mqtt;
    if parsed.shared().is_some() && !cfg.shared_subscription {
        return Err(ServiceError::NotAllowed(
            "shared subscriptions are switched off".into(),
        ));
    }
    if parsed.has_wildcard() && !cfg.wildcard_subscription {
        return Err(ServiceError::NotAllowed(
            "wildcard subscriptions are switched off".into(),
        ));
    }
    if hookmq_codec::topic::levels(parsed.real_filter()) > cfg.max_topic_levels {
        return Err(invalid("more levels than mqtt.max_topic_levels".into()));
    }
    let mountpoint = session.state.lock().clientinfo.mountpoint.clone();
    let mounted = match (&mountpoint, parsed.shared()) {
        (None, _) => parsed.clone(),
        (Some(mp), Some(s)) => TopicFilter::new(format!("$share/{}/{mp}{}", s.group, s.filter))
            .map_err(|e| invalid(e.to_string()))?,
        (Some(mp), None) => {
            TopicFilter::new(format!("{mp}{filter}")).map_err(|e| invalid(e.to_string()))?
        }
    };
    Ok((parsed, mounted))
}

/// A session key without the client's mount point, as the client would have written it.
fn unmounted(key: &str, mountpoint: Option<&ByteString>) -> String {
    let Some(mp) = mountpoint else {
        return key.to_owned();
    };
    if let Ok(s) = hookmq_codec::SharedFilter::parse(key) {
        let inner = s.filter.strip_prefix(&**mp).unwrap_or(s.filter);
        return format!("$share/{}/{inner}", s.group);
    }
    key.strip_prefix(&**mp).unwrap_or(key).to_owned()
}

fn summary(session: &Session) -> ClientSummary {
    let st = session.state.lock();
    ClientSummary {
        clientid: session.clientid.to_string(),
        username: st.clientinfo.username.as_ref().map(|u| u.to_string()),
        connected: st.link.is_some(),
        peer: st.clientinfo.peer.to_string(),
        proto_ver: st.clientinfo.protocol.level(),
        expiry_interval: st.expiry_interval,
        created_at_ms: st.created_at_ms,
    }
}

/// Adds a subscription to a session (and the router) as SUBSCRIBE would, and queues the
/// retained messages its Retain Handling asks for.
async fn subscribe(
    shared: Arc<Shared>,
    session: Arc<Session>,
    filter: TopicFilter,
    mounted: TopicFilter,
    mut options: SubscriptionOptions,
) -> Result<QoS, ServiceError> {
    let granted = QoS::from_u8(options.qos.as_u8().min(shared.config.mqtt.max_qos))
        .unwrap_or(QoS::AtMostOnce);
    options.qos = granted;
    let key = mounted.as_bytestring().clone();
    let (exists, clientinfo) = {
        let mut st = session.state.lock();
        if st.terminated {
            return Err(ServiceError::UnknownClient(session.clientid.to_string()));
        }
        let exists = st
            .subscriptions
            .insert(key.clone(), Subscription { options, id: None })
            .is_some();
        (exists, st.clientinfo.clone())
    };
    shared.router.subscribe(&session, &mounted, options, None);
    if session.state.lock().terminated {
        // The session ended meanwhile; the router keeps nothing of it.
        shared.router.unsubscribe(&session.clientid, &key);
        return Err(ServiceError::UnknownClient(session.clientid.to_string()));
    }
    if let Some(op) = session.save_op()
        && !shared.commit(vec![op]).await
    {
        return Err(ServiceError::Failed(
            "the subscription could not be stored".into(),
        ));
    }
    if shared.hooks.has(HookPoint::SessionSubscribed) {
        shared.hooks.notify_nowait(Event::SessionSubscribed {
            clientinfo,
            filter: filter.clone(),
            info: SubscriptionInfo {
                options,
                is_new: !exists,
                subscription_id: None,
            },
        });
    }
    // [MQTT-3.3.1-9..11] retained messages by Retain Handling; never for shared subscriptions.
    let send_retained = filter.shared().is_none()
        && match options.retain_handling {
            RetainHandling::SendAtSubscribe => true,
            RetainHandling::SendIfNew => !exists,
            RetainHandling::DoNotSend => false,
        };
    if send_retained {
        let mut dropped = Vec::new();
        let mut ops = Vec::new();
        let now = hookmq_hooks::now_ms();
        for m in shared.retained.matching(mounted.real_filter(), now) {
            let d = Delivery {
                qos: m.qos.min(granted),
                message: m,
                retain: true,
                subscription_ids: Default::default(),
                seq: 0,
            };
            session.deliver(d, &mut dropped, &mut ops);
        }
        shared.report_drops(dropped);
        shared.submit(ops);
    }
    Ok(granted)
}

impl BrokerServices for Services {
    fn publish(&self, request: PublishRequest) -> ServiceFuture<PublishReceipt> {
        let prepared = (|| {
            let shared = self.shared()?;
            let topic = topic_name(&shared, &request.topic)?;
            payload_fits(&shared, &request.topic, &request.payload)?;
            let hops = if request.through_hooks {
                let hops = request.parent_hops.saturating_add(1);
                if hops > MAX_HOPS {
                    return Err(ServiceError::LoopLimit { hops });
                }
                hops
            } else {
                request.parent_hops
            };
            let mut message = Message::new(
                ByteString::new(),
                topic,
                request.payload,
                request.qos,
                request.retain,
            );
            message.properties = request.properties;
            message.headers = MessageHeaders {
                hops,
                ..MessageHeaders::default()
            };
            Ok((shared, Arc::new(message)))
        })();
        let through_hooks = request.through_hooks;
        Box::pin(async move {
            let (shared, message) = prepared?;
            let id = message.id;
            Metrics::inc(&shared.metrics.messages_received);
            if through_hooks {
                // The chain may call the very hook that made this call: never wait for it.
                tokio::spawn(async move {
                    let _ = shared.publish(message, Vec::new()).await;
                });
                return Ok(PublishReceipt {
                    id,
                    receivers: None,
                });
            }
            match shared.publish_routed(message, Vec::new()).await {
                Published::Routed(n, _) => Ok(PublishReceipt {
                    id,
                    receivers: Some(n),
                }),
                Published::Dropped | Published::Consumed => Ok(PublishReceipt {
                    id,
                    receivers: Some(0),
                }),
                Published::NotStored => Err(ServiceError::Failed(
                    "the message could not be stored".into(),
                )),
            }
        })
    }

    fn confirm(&self, id: MessageId, ok: bool) -> Result<(), ServiceError> {
        self.shared()?.holds.confirm(id, ok)
    }

    fn kick(&self, clientid: &str, reason: ReasonCode) -> Result<(), ServiceError> {
        // [MQTT-3.14.2.1] only the codes a server may send (the same rule as a hook's answer).
        if hookmq_hooks::disconnect_reason(reason).is_err() {
            return Err(ServiceError::NotAllowed(format!(
                "a server may not send DISCONNECT with reason code 0x{:02X}",
                reason.0
            )));
        }
        let shared = self.shared()?;
        let session = session_of(&shared, clientid)?;
        let link = session.state.lock().link.clone();
        match link {
            Some(l) if l.control.send(Control::Kick(reason)).is_ok() => Ok(()),
            _ => Err(ServiceError::NotConnected(clientid.to_owned())),
        }
    }

    fn subscribe(
        &self,
        clientid: &str,
        filter: &str,
        options: SubscriptionOptions,
    ) -> ServiceFuture<QoS> {
        let prepared = self.on_behalf(clientid, filter);
        Box::pin(async move {
            let OnBehalf {
                shared,
                session,
                filter,
                mounted,
            } = prepared?;
            subscribe(shared, session, filter, mounted, options).await
        })
    }

    fn unsubscribe(&self, clientid: &str, filter: &str) -> ServiceFuture<bool> {
        let prepared = self.on_behalf(clientid, filter);
        Box::pin(async move {
            let OnBehalf {
                shared,
                session,
                filter,
                mounted,
            } = prepared?;
            let key = mounted.as_bytestring();
            let (removed, clientinfo) = {
                let mut st = session.state.lock();
                (
                    st.subscriptions.remove(key).is_some(),
                    st.clientinfo.clone(),
                )
            };
            shared.router.unsubscribe(&session.clientid, key);
            if removed {
                if let Some(op) = session.save_op() {
                    shared.submit(vec![op]);
                }
                if shared.hooks.has(HookPoint::SessionUnsubscribed) {
                    shared
                        .hooks
                        .notify_nowait(Event::SessionUnsubscribed { clientinfo, filter });
                }
            }
            Ok(removed)
        })
    }

    fn client(&self, clientid: &str) -> Result<ClientSummary, ServiceError> {
        let shared = self.shared()?;
        Ok(summary(&*session_of(&shared, clientid)?))
    }

    fn clients(&self, filter: &ClientFilter, page: Page) -> ClientPage {
        let Ok(shared) = self.shared() else {
            return ClientPage {
                clients: Vec::new(),
                total: 0,
            };
        };
        let mut all: Vec<ClientSummary> = shared
            .registry
            .all()
            .iter()
            .map(|s| summary(s))
            .filter(|c| {
                filter
                    .clientid_prefix
                    .as_ref()
                    .is_none_or(|p| c.clientid.starts_with(p.as_str()))
                    && filter
                        .username
                        .as_ref()
                        .is_none_or(|u| c.username.as_ref() == Some(u))
                    && filter.connected.is_none_or(|on| c.connected == on)
            })
            .collect();
        all.sort_by(|a, b| a.clientid.cmp(&b.clientid));
        let total = all.len();
        let clients = all
            .into_iter()
            .skip(page.offset)
            .take(page.limit.min(MAX_PAGE))
            .collect();
        ClientPage { clients, total }
    }

    fn session(&self, clientid: &str) -> Result<SessionSummary, ServiceError> {
        let shared = self.shared()?;
        let session = session_of(&shared, clientid)?;
        let st = session.state.lock();
        let mountpoint = st.clientinfo.mountpoint.as_ref();
        let mut subscriptions: Vec<SessionSubscription> = st
            .subscriptions
            .iter()
            .map(|(key, sub)| SessionSubscription {
                filter: unmounted(key, mountpoint),
                options: sub.options,
            })
            .collect();
        subscriptions.sort_by(|a, b| a.filter.cmp(&b.filter));
        Ok(SessionSummary {
            clientid: session.clientid.to_string(),
            connected: st.link.is_some(),
            subscriptions,
            queue_len: st.queue.len(),
            inflight: st.inflight.len(),
            expiry_interval: st.expiry_interval,
        })
    }

    fn retained_get(&self, topic: &str) -> Result<Option<Arc<Message>>, ServiceError> {
        let shared = self.shared()?;
        TopicName::new(topic.to_owned()).map_err(|e| ServiceError::InvalidTopic {
            topic: topic.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(shared.retained.get(topic))
    }

    fn retained_set(
        &self,
        topic: &str,
        payload: Bytes,
        qos: QoS,
        properties: Properties,
    ) -> ServiceFuture<()> {
        let prepared = (|| {
            let shared = self.shared()?;
            if !shared.config.mqtt.retain_available {
                return Err(ServiceError::NotAllowed(
                    "retained messages are switched off (mqtt.retain_available)".into(),
                ));
            }
            let name = topic_name(&shared, topic)?;
            payload_fits(&shared, topic, &payload)?;
            let mut message = Message::new(ByteString::new(), name, payload, qos, true);
            message.properties = properties;
            Ok((shared, Arc::new(message)))
        })();
        Box::pin(async move {
            let (shared, message) = prepared?;
            if message.payload.is_empty() {
                // [MQTT-3.3.1-6] an empty retained payload removes the retained message.
                retained_delete(&shared, message.topic.as_str());
                return Ok(());
            }
            match shared.retained.set(message.clone()) {
                crate::retained::RetainOutcome::Refused => {
                    shared.metrics.limit_hit(crate::metrics::Limit::MaxRetained);
                    return Err(ServiceError::NotAllowed(
                        "the retained store is full (retained limits)".into(),
                    ));
                }
                _ => {
                    if let Some(cluster) = shared.cluster() {
                        cluster.retain(message.clone());
                    }
                }
            }
            if !shared
                .commit(vec![Op::PutRetained((*message).clone())])
                .await
            {
                return Err(ServiceError::Failed(
                    "the retained message could not be stored".into(),
                ));
            }
            Ok(())
        })
    }

    fn retained_delete(&self, topic: &str) -> Result<bool, ServiceError> {
        let shared = self.shared()?;
        topic_name(&shared, topic)?;
        Ok(retained_delete(&shared, topic))
    }

    fn authz_cache_invalidate(&self, target: AuthzTarget) -> ServiceFuture<usize> {
        let prepared = (|| {
            let shared = self.shared()?;
            let sessions = match &target {
                AuthzTarget::Client(id) => vec![session_of(&shared, id)?],
                AuthzTarget::All => shared.registry.all(),
            };
            Ok((shared, sessions))
        })();
        Box::pin(async move {
            let (shared, sessions) = prepared?;
            let n = sessions.len();
            for session in sessions {
                let link = session.state.lock().link.clone();
                match link {
                    // The client's task forgets its cache before it handles its next packet;
                    // nobody waits for the re-check, which may call the very hook calling us.
                    Some(l) => {
                        let (tx, _rx) = tokio::sync::oneshot::channel();
                        let _ = l.control.send(Control::Reauthorize(tx));
                    }
                    None => {
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            shared.reauthorize(&session).await;
                        });
                    }
                }
            }
            Ok(n)
        })
    }

    fn metrics(&self) -> Vec<(String, i64)> {
        let Ok(shared) = self.shared() else {
            return Vec::new();
        };
        let m = &shared.metrics;
        let c = |a: &std::sync::atomic::AtomicU64| Metrics::get(a) as i64;
        vec![
            ("connections".into(), m.connections.load(Ordering::Relaxed)),
            ("connections_total".into(), c(&m.connections_total)),
            ("sessions".into(), shared.registry.len() as i64),
            ("subscriptions".into(), shared.router.len() as i64),
            ("retained".into(), shared.retained.len() as i64),
            ("messages_received".into(), c(&m.messages_received)),
            ("messages_sent".into(), c(&m.messages_sent)),
            ("messages_dropped".into(), m.dropped_total() as i64),
            ("packets_received".into(), c(&m.packets_received)),
            ("packets_sent".into(), c(&m.packets_sent)),
            ("bytes_received".into(), c(&m.bytes_received)),
            ("bytes_sent".into(), c(&m.bytes_sent)),
            ("auth_failures".into(), c(&m.auth_failures)),
            ("authz_denied".into(), c(&m.authz_denied)),
            ("acks_held".into(), shared.holds.len() as i64),
            (
                "uptime_secs".into(),
                shared.started.elapsed().as_secs() as i64,
            ),
        ]
    }
}

/// Deletes a retained message here, in the cluster and in the store; true if this node had it.
pub(crate) fn retained_delete(shared: &Shared, topic: &str) -> bool {
    let deleted = shared.retained.delete(topic);
    if let Some(cluster) = shared.cluster() {
        // Deleted everywhere, also when another node's mirror had it and this one did not.
        cluster.retain_delete(topic.into());
    }
    if deleted {
        shared.submit(vec![Op::DelRetained(topic.into())]);
    }
    deleted
}
