//! The broker's own actions for operators and extensions: list and kick clients, list
//! subscriptions, read and delete retained messages, publish a message. The management API and
//! `hookmq ctl` call these; a future extension protocol will call the same ones.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hookmq_hooks::Message;

use crate::Broker;
use crate::metrics::Metrics;
use crate::recheck::Reauthorized;
use crate::router::SubscriptionView;
use crate::session::Control;

/// Sessions re-checked at once by [`Broker::reauthorize_all`]: enough to overlap the hook calls,
/// few enough not to flood a hook process.
const REAUTHORIZE_CONCURRENCY: usize = 16;

/// A session as the management API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientView {
    /// Client id.
    pub clientid: String,
    /// User name.
    pub username: Option<String>,
    /// Whether a connection is attached.
    pub connected: bool,
    /// Peer address of the last connection.
    pub peer: std::net::SocketAddr,
    /// Protocol level (3, 4, 5).
    pub proto_ver: u8,
    /// Session expiry interval in seconds.
    pub expiry_interval: u32,
    /// Subscriptions held.
    pub subscriptions: usize,
    /// Messages queued.
    pub queued: usize,
    /// Messages in flight.
    pub inflight: usize,
    /// Milliseconds since the epoch when the session was made.
    pub created_at_ms: u64,
}

/// Broker-wide figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerStats {
    /// Node name.
    pub node: String,
    /// Version.
    pub version: String,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Connections open.
    pub connections: i64,
    /// Sessions (connected or not).
    pub sessions: usize,
    /// Subscriptions.
    pub subscriptions: usize,
    /// Retained messages.
    pub retained: u64,
    /// Retained payload bytes.
    pub retained_bytes: u64,
}

impl Broker {
    /// Figures for `status`.
    pub fn stats(&self) -> BrokerStats {
        let s = &self.shared;
        BrokerStats {
            node: s.node.as_str().to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_secs: s.started.elapsed().as_secs(),
            connections: s.metrics.connections.load(Ordering::Relaxed),
            sessions: s.registry.len(),
            subscriptions: s.router.len(),
            retained: s.retained.len(),
            retained_bytes: s.retained.bytes(),
        }
    }

    /// Every session, connected or not.
    pub fn clients(&self) -> Vec<ClientView> {
        let mut out: Vec<ClientView> = self.shared.registry.all().iter().map(|s| view(s)).collect();
        out.sort_by(|a, b| a.clientid.cmp(&b.clientid));
        out
    }

    /// One session.
    pub fn client(&self, clientid: &str) -> Option<ClientView> {
        self.shared.registry.get(clientid).map(|s| view(&s))
    }

    /// Disconnects a client (MQTT 5: DISCONNECT 0x98). False if it is not connected.
    pub fn kick(&self, clientid: &str) -> bool {
        let Some(session) = self.shared.registry.get(clientid) else {
            return false;
        };
        let link = session.state.lock().link.clone();
        link.is_some_and(|l| {
            l.control
                .send(Control::Kick(
                    hookmq_codec::ReasonCode::ADMINISTRATIVE_ACTION,
                ))
                .is_ok()
        })
    }

    /// Disconnects every connected client that logged in with one of `usernames` (MQTT 5:
    /// DISCONNECT 0x87 Not authorized), because the credentials it used were taken away. Their
    /// sessions stay, like those of any other disconnected client. Returns how many were told.
    pub fn disconnect_users(&self, usernames: &[String]) -> usize {
        if usernames.is_empty() {
            return 0;
        }
        let wanted: std::collections::HashSet<&str> =
            usernames.iter().map(String::as_str).collect();
        let mut told = 0;
        for session in self.shared.registry.all() {
            let link = {
                let st = session.state.lock();
                match (&st.link, st.clientinfo.username.as_deref()) {
                    (Some(link), Some(user)) if wanted.contains(user) => Some(link.clone()),
                    _ => None,
                }
            };
            if link.is_some_and(|l| l.control.send(Control::Revoked).is_ok()) {
                told += 1;
            }
        }
        told
    }

    /// Authorizes a session again for the client holding it, as if its rights had just changed:
    /// forgets the client's cached decisions, removes the subscriptions `client.authorize` now
    /// denies, and drops the queued messages it may no longer read. `None` if there is no
    /// session with this client id. The management API, `hookmq ctl clients reauthorize` and
    /// hook services (cache invalidation) call this.
    pub async fn reauthorize(&self, clientid: &str) -> Option<Reauthorized> {
        let session = self.shared.registry.get(clientid)?;
        Some(self.shared.reauthorize(&session).await)
    }

    /// [`Broker::reauthorize`] for every session, a few at a time; sorted by client id.
    pub async fn reauthorize_all(&self) -> Vec<(String, Reauthorized)> {
        use futures_util::StreamExt;
        let sessions = self.shared.registry.all();
        let mut out: Vec<(String, Reauthorized)> = futures_util::stream::iter(sessions)
            .map(|s| async move { (s.clientid.to_string(), self.shared.reauthorize(&s).await) })
            .buffer_unordered(REAUTHORIZE_CONCURRENCY)
            .collect()
            .await;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Subscriptions of one client, or of all.
    pub fn subscriptions(&self, clientid: Option<&str>) -> Vec<SubscriptionView> {
        let sessions = match clientid {
            Some(id) => self.shared.registry.get(id).into_iter().collect(),
            None => self.shared.registry.all(),
        };
        let mut out = Vec::new();
        for s in sessions {
            let st = s.state.lock();
            for (filter, sub) in &st.subscriptions {
                out.push(SubscriptionView {
                    clientid: s.clientid.to_string(),
                    filter: filter.to_string(),
                    qos: sub.options.qos,
                    no_local: sub.options.no_local,
                    retain_as_published: sub.options.retain_as_published,
                    retain_handling: sub.options.retain_handling as u8,
                    subscription_id: sub.id,
                });
            }
        }
        out.sort_by(|a, b| (&a.clientid, &a.filter).cmp(&(&b.clientid, &b.filter)));
        out
    }

    /// Every retained message.
    pub fn retained(&self) -> Vec<Arc<Message>> {
        let mut all = self.shared.retained.all();
        all.sort_by(|a, b| a.topic.cmp(&b.topic));
        all
    }

    /// The retained message of a topic.
    pub fn retained_get(&self, topic: &str) -> Option<Arc<Message>> {
        self.shared.retained.get(topic)
    }

    /// Deletes the retained message of a topic; false if there was none.
    pub fn retained_delete(&self, topic: &str) -> bool {
        crate::services::retained_delete(&self.shared, topic)
    }

    /// Publishes a message as the broker (through `message.publish`); returns the number of
    /// sessions it reached, or `None` if a hook dropped or consumed it or its topic has more levels than
    /// `mqtt.max_topic_levels`.
    pub async fn publish(&self, message: Message) -> Option<usize> {
        if !self.shared.topic_depth_ok(message.topic.as_str()) {
            return None;
        }
        Metrics::inc(&self.shared.metrics.messages_received);
        match self.shared.publish(Arc::new(message), Vec::new()).await {
            crate::shared::Published::Routed(n, _) => Some(n),
            crate::shared::Published::Dropped
            | crate::shared::Published::Consumed
            | crate::shared::Published::NotStored => None,
        }
    }

    /// The `$SYS` values as they would be published now.
    pub fn sys_snapshot(&self) -> Vec<(String, String)> {
        crate::sys::snapshot(&self.shared)
    }
}

fn view(s: &crate::session::Session) -> ClientView {
    let st = s.state.lock();
    ClientView {
        clientid: s.clientid.to_string(),
        username: st.clientinfo.username.as_ref().map(|u| u.to_string()),
        connected: st.link.is_some(),
        peer: st.clientinfo.peer,
        proto_ver: st.clientinfo.protocol.level(),
        expiry_interval: st.expiry_interval,
        subscriptions: st.subscriptions.len(),
        queued: st.queue.len(),
        inflight: st.inflight.len(),
        created_at_ms: st.created_at_ms,
    }
}
