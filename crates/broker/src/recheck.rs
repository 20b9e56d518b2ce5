//! Authorization that holds after SUBSCRIBE. [`Authorizer`] is the one place that asks whether
//! a client may publish to, subscribe to or read a topic (connections use it for every check);
//! [`recheck`] authorizes a session again for the identity holding it now and removes what that
//! identity may not have: at resume (`authorization.recheck`), when another identity resumes it
//! (`session.owner_change`), and on demand ([`Broker::reauthorize`](crate::Broker::reauthorize),
//! the management API, hook services).
//!
//! Reading is asked as `client.authorize` with action `subscribe` on the message's topic name
//! (without the mount point): hook protocols know only publish and subscribe, and a topic name is
//! the narrowest filter matching it, so an ACL written for filters answers it as Mosquitto's
//! read check would.

use std::collections::HashMap;
use std::sync::Arc;

use bytestring::ByteString;
use hookmq_codec::{TopicFilter, TopicName};
use hookmq_hooks::{Action, AuthzCache, ClientInfo, DropReason, Event, HookPoint};
use tokio::time::Instant;

use crate::config::NoMatch;
use crate::inflight::Phase;
use crate::persist::Op;
use crate::session::Session;
use crate::shared::Shared;

/// What a re-check of one session took away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reauthorized {
    /// Subscriptions removed, as the client subscribed them (with any `$share/<group>/`, without
    /// the mount point).
    pub unsubscribed: Vec<String>,
    /// Messages dropped from the queue (and, for a session not yet sent to, from the in-flight
    /// window) because the client may not read their topic.
    pub dropped: usize,
}

/// Authorization decisions for one client, through its cache when it has one.
pub(crate) struct Authorizer<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) clientinfo: &'a Arc<ClientInfo>,
    pub(crate) cache: Option<&'a mut AuthzCache>,
}

impl Authorizer<'_> {
    /// Whether the client may `action` on `topic` (as the client wrote it, before any mount
    /// point): superusers always may; without a `client.authorize` handler `no_match` decides;
    /// otherwise the cache, then the chain.
    pub(crate) async fn allowed(&mut self, action: Action, topic: &ByteString) -> bool {
        if self.clientinfo.is_superuser {
            return true;
        }
        let default = self.shared.config.authorization.no_match == NoMatch::Allow;
        let hooks = &self.shared.hooks;
        if !hooks.has(HookPoint::ClientAuthorize) {
            return default;
        }
        let now = Instant::now();
        if let Some(allowed) = self.cache.as_ref().and_then(|c| c.get(action, topic, now)) {
            return allowed;
        }
        let allowed = hooks
            .authorize(self.clientinfo, action, topic, default)
            .await;
        if let Some(cache) = self.cache.as_mut() {
            cache.put(action, topic.clone(), allowed, now);
        }
        allowed
    }

    /// Whether the client may subscribe to `real` (a filter without `$share/<group>/` and mount
    /// point). `$SYS` wildcards need `mqtt.allow_sys_wildcard_subscribe` or a superuser.
    pub(crate) async fn may_subscribe(&mut self, real: &str) -> bool {
        let sys_wildcard = real.starts_with("$SYS") && (real.contains('+') || real.contains('#'));
        if sys_wildcard
            && !self.shared.config.mqtt.allow_sys_wildcard_subscribe
            && !self.clientinfo.is_superuser
        {
            return false;
        }
        self.allowed(Action::Subscribe, &ByteString::from(real))
            .await
    }

    /// Whether the client may read a message routed to it on `topic` (a topic with the mount
    /// point, as routed).
    pub(crate) async fn may_read(&mut self, topic: &TopicName) -> bool {
        let topic = unmount(self.clientinfo.mountpoint.as_deref(), topic.as_bytestring());
        self.allowed(Action::Subscribe, &topic).await
    }
}

/// `topic` as the client of mount point `mountpoint` sees it.
pub(crate) fn unmount(mountpoint: Option<&str>, topic: &ByteString) -> ByteString {
    match mountpoint.and_then(|mp| topic.strip_prefix(mp)) {
        Some(rest) => topic.slice_ref(rest),
        None => topic.clone(),
    }
}

/// Authorizes every subscription of `session` again through `authz` (removing the denied ones
/// from the session and the router, with `session.unsubscribed`), then drops the queued messages
/// whose topic the client may not read, and with `inflight_too` the in-flight ones not yet
/// released (for a session whose client has not been sent them: at resume, or offline).
pub(crate) async fn recheck(
    shared: &Shared,
    session: &Arc<Session>,
    authz: &mut Authorizer<'_>,
    inflight_too: bool,
) -> Reauthorized {
    let mut report = Reauthorized::default();
    let mountpoint = authz.clientinfo.mountpoint.clone();
    let keys: Vec<ByteString> = session.state.lock().subscriptions.keys().cloned().collect();
    for key in keys {
        let Ok(filter) = TopicFilter::new(key.clone()) else {
            continue;
        };
        let real = unmount(
            mountpoint.as_deref(),
            &ByteString::from(filter.real_filter()),
        );
        if authz.may_subscribe(&real).await {
            continue;
        }
        if session.state.lock().subscriptions.remove(&key).is_none() {
            continue;
        }
        shared.router.unsubscribe(&session.clientid, &key);
        let as_subscribed = match filter.shared() {
            Some(s) => format!("$share/{}/{real}", s.group),
            None => real.to_string(),
        };
        tracing::debug!(clientid = %session.clientid, filter = %as_subscribed, "subscription no longer authorized; removed");
        if shared.hooks.has(HookPoint::SessionUnsubscribed)
            && let Ok(filter) = TopicFilter::new(as_subscribed.clone())
        {
            shared.hooks.notify_nowait(Event::SessionUnsubscribed {
                clientinfo: authz.clientinfo.clone(),
                filter,
            });
        }
        report.unsubscribed.push(as_subscribed);
    }
    if !report.unsubscribed.is_empty()
        && let Some(op) = session.save_op()
    {
        shared.submit(vec![op]);
    }
    report.dropped = drop_unreadable(shared, session, authz, inflight_too).await;
    report
}

/// Drops the session's messages whose topic the client may not read; returns how many.
async fn drop_unreadable(
    shared: &Shared,
    session: &Arc<Session>,
    authz: &mut Authorizer<'_>,
    inflight_too: bool,
) -> usize {
    // Topics are decided outside the session's lock (the chain may call out); messages that
    // arrive meanwhile with new topics are decided in the next round.
    let mut readable: HashMap<ByteString, bool> = HashMap::new();
    loop {
        let pending: Vec<TopicName> = {
            let st = session.state.lock();
            let inflight = st
                .inflight
                .iter()
                .filter(|e| inflight_too && e.phase != Phase::PubComp)
                .map(|e| &e.delivery);
            let mut pending: Vec<TopicName> = Vec::new();
            for d in st.queue.iter().chain(inflight) {
                let topic = &d.message.topic;
                if !readable.contains_key(topic.as_bytestring())
                    && !pending.iter().any(|t| t == topic)
                {
                    pending.push(topic.clone());
                }
            }
            pending
        };
        if pending.is_empty() {
            break;
        }
        for topic in pending {
            let ok = authz.may_read(&topic).await;
            readable.insert(topic.into_inner(), ok);
        }
    }
    if readable.values().all(|ok| *ok) {
        return 0;
    }
    let denied = |topic: &TopicName| readable.get(topic.as_bytestring()) == Some(&false);
    let mut dropped = Vec::new();
    let mut ops = Vec::new();
    {
        let mut st = session.state.lock();
        st.queue.retain(|d| {
            if !denied(&d.message.topic) {
                return true;
            }
            if d.seq != 0 {
                ops.push(Op::DelEntry(session.clientid.clone(), d.seq));
            }
            dropped.push((d.message.clone(), DropReason::NotAuthorized));
            false
        });
        if inflight_too {
            let gone: Vec<_> = st
                .inflight
                .iter()
                .filter(|e| e.phase != Phase::PubComp && denied(&e.delivery.message.topic))
                .map(|e| (e.packet_id, e.delivery.clone()))
                .collect();
            for (id, d) in gone {
                st.inflight.forget(id);
                if d.seq != 0 {
                    ops.push(Op::DelEntry(session.clientid.clone(), d.seq));
                }
                dropped.push((d.message, DropReason::NotAuthorized));
            }
        }
    }
    let n = dropped.len();
    if n > 0 {
        tracing::debug!(clientid = %session.clientid, n, "messages the client may no longer read dropped");
    }
    shared.report_drops(dropped);
    shared.submit(ops);
    n
}
