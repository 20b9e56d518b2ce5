//! SUBSCRIBE and UNSUBSCRIBE: per-filter checks and authorization, the session's and the
//! router's subscription tables, the session hooks, and retained messages for new subscriptions.

use std::sync::Arc;

use hookmq_codec::{
    Packet, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, SubscriptionOptions, TopicFilter,
    UnsubAck, Unsubscribe,
};
use hookmq_hooks::{Event, FilterRequest, HookPoint, SubscriptionInfo};

use super::{Close, Conn};
use crate::config::Recheck;
use crate::delivery::Delivery;
use crate::metrics::Metrics;
use crate::session::Subscription;

impl Conn {
    pub(crate) async fn on_subscribe(&mut self, s: Subscribe) -> Result<(), Close> {
        let hooks = self.shared.hooks.clone();
        let requests = if hooks.has(HookPoint::ClientSubscribe) {
            hooks
                .subscribe(&self.clientinfo, &s.properties, s.filters)
                .await
        } else {
            s.filters
                .into_iter()
                .map(|(f, o)| FilterRequest::new(f, o))
                .collect()
        };
        let sub_id = s.properties.subscription_identifiers().next();
        let mut reasons = Vec::with_capacity(requests.len());
        let mut retained = Vec::new();
        for request in requests {
            let reason = match request.refused {
                // The chain let only SUBACK refusal codes through ([MQTT-3.9.3-2]).
                Some(code) => {
                    tracing::debug!(filter = %request.filter, reason = %code, "subscription refused by hook");
                    code
                }
                None => {
                    self.subscribe_one(request.filter, request.options, sub_id, &mut retained)
                        .await
                }
            };
            reasons.push(reason);
        }
        // A persistent session's subscriptions are durable (and, in a cluster, recorded there)
        // before they are acknowledged.
        let stored = match self.session.save_op() {
            Some(op) => self.shared.commit(vec![op]).await,
            None => true,
        };
        if !stored || !self.save_in_cluster().await {
            tracing::warn!("subscriptions could not be stored");
            for r in reasons.iter_mut().filter(|r| r.is_success()) {
                *r = ReasonCode::UNSPECIFIED_ERROR;
            }
        }
        let ack = SubAck {
            packet_id: s.packet_id,
            reasons,
            properties: Default::default(),
        };
        self.io.send(&Packet::SubAck(ack), self.protocol);
        // Retained messages follow the SUBACK, through the session queue like any delivery.
        let mut dropped = Vec::new();
        let mut ops = Vec::new();
        for d in retained {
            self.session.deliver(d, &mut dropped, &mut ops);
        }
        self.shared.report_drops(dropped);
        self.shared.submit(ops);
        Ok(())
    }

    async fn subscribe_one(
        &mut self,
        filter: TopicFilter,
        mut options: SubscriptionOptions,
        sub_id: Option<u32>,
        retained: &mut Vec<Delivery>,
    ) -> ReasonCode {
        let cfg = &self.shared.config.mqtt;
        let shared_group = filter.shared().map(|s| s.group.to_owned());
        let real = filter.real_filter().to_owned();
        if shared_group.is_some() && !cfg.shared_subscription {
            return ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED;
        }
        if filter.has_wildcard() && !cfg.wildcard_subscription {
            return ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED;
        }
        let levels = hookmq_codec::topic::levels(&real);
        if levels > cfg.max_topic_levels {
            self.shared
                .metrics
                .limit_hit(crate::metrics::Limit::MaxTopicLevels);
            tracing::debug!(
                levels,
                max_topic_levels = cfg.max_topic_levels,
                "filter deeper than mqtt.max_topic_levels; refused"
            );
            // SUBACK 0x8F (3.1.1: 0x80 failure).
            return ReasonCode::TOPIC_FILTER_INVALID;
        }
        let mounted = match (&shared_group, &self.clientinfo.mountpoint) {
            // Copied out of SUBSCRIBE's read buffer, which the stored filter would keep alive.
            (_, None) => {
                TopicFilter::new(filter.as_str().to_owned()).unwrap_or_else(|_| filter.clone())
            }
            (Some(g), Some(_)) => {
                match TopicFilter::new(format!("$share/{g}/{}", self.mount(&real))) {
                    Ok(f) => f,
                    Err(_) => return ReasonCode::TOPIC_FILTER_INVALID,
                }
            }
            (None, Some(_)) => match TopicFilter::new(self.mount(&real)) {
                Ok(f) => f,
                Err(_) => return ReasonCode::TOPIC_FILTER_INVALID,
            },
        };
        let key = mounted.as_bytestring().clone();
        let exists = self.session.state.lock().subscriptions.contains_key(&key);
        if !exists && cfg.max_subscriptions != 0 && self.subscription_count >= cfg.max_subscriptions
        {
            self.shared
                .metrics
                .limit_hit(crate::metrics::Limit::MaxSubscriptions);
            return ReasonCode::QUOTA_EXCEEDED;
        }
        // Authorization sees the real topic of a shared subscription, never the `$share/` form.
        if !self.authorizer().may_subscribe(&real).await {
            Metrics::inc(&self.shared.metrics.authz_denied);
            tracing::debug!(%filter, "subscribe not authorized");
            return ReasonCode::NOT_AUTHORIZED;
        }
        let granted =
            QoS::from_u8(options.qos.as_u8().min(self.max_qos)).unwrap_or(QoS::AtMostOnce);
        options.qos = granted;

        let sub = Subscription {
            options,
            id: sub_id,
        };
        {
            let mut st = self.session.state.lock();
            if st.terminated {
                return ReasonCode::UNSPECIFIED_ERROR;
            }
            st.subscriptions.insert(key.clone(), sub);
        }
        self.shared
            .router
            .subscribe(&self.session, &mounted, options, sub_id);
        if self.session.state.lock().terminated {
            // The session ended while we subscribed; undo so the router keeps nothing of it.
            self.shared.router.unsubscribe(&self.session.clientid, &key);
            return ReasonCode::UNSPECIFIED_ERROR;
        }
        if !exists {
            self.subscription_count += 1;
        }
        let hooks = &self.shared.hooks;
        if hooks.has(HookPoint::SessionSubscribed) {
            let info = SubscriptionInfo {
                options,
                is_new: !exists,
                subscription_id: sub_id,
            };
            hooks
                .notify(Event::SessionSubscribed {
                    clientinfo: self.clientinfo.clone(),
                    filter: filter.clone(),
                    info,
                })
                .await;
        }
        // [MQTT-3.3.1-9..11] retained messages by Retain Handling; never for shared subscriptions.
        let send_retained = shared_group.is_none()
            && match options.retain_handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendIfNew => !exists,
                RetainHandling::DoNotSend => false,
            };
        if send_retained {
            let now = hookmq_hooks::now_ms();
            let check = self.shared.config.authorization.recheck != Recheck::Subscribe;
            for m in self.shared.retained.matching(mounted.real_filter(), now) {
                // The filter was granted, but a retained message is read-checked on its own: the
                // filter may cover topics this client may not read.
                if check && !self.authorizer().may_read(&m.topic).await {
                    tracing::debug!(topic = %m.topic, "retained message not readable; not sent");
                    continue;
                }
                retained.push(Delivery {
                    qos: m.qos.min(granted),
                    message: Arc::clone(&m),
                    retain: true,
                    subscription_ids: sub_id.into_iter().collect(),
                    seq: 0,
                });
            }
        }
        match granted {
            QoS::AtMostOnce => ReasonCode::SUCCESS,
            QoS::AtLeastOnce => ReasonCode::GRANTED_QOS_1,
            QoS::ExactlyOnce => ReasonCode::GRANTED_QOS_2,
        }
    }

    /// Records a persistent session's subscriptions in the cluster, so they survive this node;
    /// resolves to true when done or not needed.
    fn save_in_cluster(&self) -> impl std::future::Future<Output = bool> + Send + 'static {
        let save = self.shared.cluster().and_then(|cluster| {
            // Read apart: `cluster_record` takes the session's lock again.
            let persistent = self.session.state.lock().expiry_interval > 0;
            persistent.then(|| {
                cluster.save_session(
                    self.shared
                        .cluster_record(&self.session, self.will.as_deref().cloned()),
                )
            })
        });
        async move {
            match save {
                Some(f) => f.await,
                None => true,
            }
        }
    }

    pub(crate) async fn on_unsubscribe(&mut self, u: Unsubscribe) -> Result<(), Close> {
        let hooks = self.shared.hooks.clone();
        if hooks.has(HookPoint::ClientUnsubscribe) {
            hooks
                .notify(Event::ClientUnsubscribe {
                    clientinfo: self.clientinfo.clone(),
                    props: u.properties.clone(),
                    filters: u.filters.clone(),
                })
                .await;
        }
        let mut reasons = Vec::with_capacity(u.filters.len());
        for filter in u.filters {
            let key = match (filter.shared(), &self.clientinfo.mountpoint) {
                (_, None) => filter.as_bytestring().clone(),
                (Some(s), Some(_)) => format!("$share/{}/{}", s.group, self.mount(s.filter)).into(),
                (None, Some(_)) => self.mount(filter.as_str()),
            };
            let removed = self
                .session
                .state
                .lock()
                .subscriptions
                .remove(&key)
                .is_some();
            self.shared.router.unsubscribe(&self.session.clientid, &key);
            if removed {
                self.subscription_count = self.subscription_count.saturating_sub(1);
                if hooks.has(HookPoint::SessionUnsubscribed) {
                    hooks
                        .notify(Event::SessionUnsubscribed {
                            clientinfo: self.clientinfo.clone(),
                            filter,
                        })
                        .await;
                }
                reasons.push(ReasonCode::SUCCESS);
            } else {
                reasons.push(ReasonCode::NO_SUBSCRIPTION_EXISTED);
            }
        }
        if let Some(op) = self.session.save_op() {
            self.shared.submit(vec![op]);
        }
        self.save_in_cluster().await;
        let ack = UnsubAck {
            packet_id: u.packet_id,
            reasons,
            properties: Default::default(),
        };
        self.io.send(&Packet::UnsubAck(ack), self.protocol);
        Ok(())
    }
}
