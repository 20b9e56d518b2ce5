//! What a cluster implementation asks of the broker: attach itself, route a message that arrived
//! from another node, mirror a retained change made elsewhere, hand a local session to another
//! node (closing its connection with 0x8E), adopt the session of a client whose node died and
//! publish its will. The `hookmq-cluster` crate calls these; the broker calls the cluster through
//! the [`Cluster`] trait in `cluster.rs`.
//!
//! Sessions cross nodes in the persistence store's record layout (one versioned format for disk
//! and wire): a session record, its entries (in-flight first, then queued, in order) and its
//! awaiting-PUBREL identifiers.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use hookmq_codec::{LastWill, QoS, TopicFilter, TopicName};
use hookmq_hooks::{ClientInfo, Event, HookPoint, Message, NodeName};

use crate::Broker;
use crate::cluster::{Cluster, Interest, InterestChange, SessionRecord, Via};
use crate::persist::{self, Op, RecordError, RecoveredSession, StoredEntry, StoredSession};
use crate::session::{Session, SessionState};
use crate::shared::Shared;

const HANDOVER_VERSION: u8 = 1;
const RECORD_VERSION: u8 = 1;

/// What [`Broker::handover`] did with a local session.
#[derive(Debug)]
pub enum Handover {
    /// No session of that client id is here.
    NotHere,
    /// The session was discarded (clean start elsewhere) after its connection closed.
    Discarded,
    /// The session left this node: its state, for [`MovedSession::decode`](crate::cluster::MovedSession::decode).
    Moved(Bytes),
}

impl Broker {
    /// Attaches a cluster (once, before [`Broker::start`]) and reports the interest of the
    /// sessions restored from the store.
    pub fn attach_cluster(&self, cluster: Arc<dyn Cluster>) {
        let shared = &self.shared;
        if shared.router.attach(cluster.clone()).is_err() {
            tracing::warn!("a cluster is already attached");
            return;
        }
        let _ = shared.cluster.set(cluster.clone());
        let mut filters = std::collections::HashSet::new();
        for s in shared.registry.all() {
            for filter in s.state.lock().subscriptions.keys() {
                match hookmq_codec::SharedFilter::parse(filter) {
                    Ok(sf) => cluster.interest(InterestChange {
                        interest: Interest::Shared {
                            group: sf.group.into(),
                            filter: sf.filter.into(),
                        },
                        added: true,
                    }),
                    Err(_) => {
                        filters.insert(filter.clone());
                    }
                }
            }
        }
        for f in filters {
            cluster.interest(InterestChange {
                interest: Interest::Filter(f),
                added: true,
            });
        }
    }

    /// The cluster as this node sees it (members, link, counters); `None` on a single node.
    pub fn cluster_status(&self) -> Option<crate::cluster::ClusterStatus> {
        self.shared.cluster().map(|c| c.status())
    }

    /// The clients of every node of the cluster, each with its node; `None` on a single node.
    pub async fn cluster_clients(&self) -> Option<crate::cluster::ClusterClients> {
        let query = self.shared.cluster().map(|c| c.clients())?;
        Some(query.await)
    }

    /// Delivers a message that another node accepted to this node's sessions: no hooks (they ran
    /// on the publisher's node), no retained store (the cluster's store is mirrored separately),
    /// no forwarding. Returns the number of sessions it reached.
    pub fn route_remote(&self, message: Arc<Message>, via: Via<'_>) -> usize {
        let shared = &self.shared;
        let mut dropped = Vec::new();
        let mut ops = Vec::new();
        // Held while routing: a session moving in is put in the router under the write side,
        // so each message is either kept for it here or routed to it, never neither.
        let captures = shared.captures.map.read();
        if !captures.is_empty() && !matches!(via, Via::Shared { .. }) {
            let topic = message.topic.as_str();
            for capture in captures.values() {
                if capture
                    .filters
                    .iter()
                    .any(|f| hookmq_codec::topic::matches(f, topic))
                {
                    capture.messages.lock().push(message.clone());
                }
            }
        }
        let n = shared
            .router
            .route_remote(&message, via, &mut dropped, &mut ops);
        drop(captures);
        shared.report_drops(dropped);
        shared.submit(ops);
        n
    }

    /// Starts keeping the messages from other nodes that match `filters` (the non-shared
    /// filters of `clientid`'s session, from its registry record) for that session, which is
    /// about to be taken over from another node, and holds this node's interest in them. The
    /// cluster calls this before asking the holder for the session, and makes sure the interest
    /// reached NATS: from then on every message for the session reaches this node, so none is
    /// lost while the interest moves. Ended by the session's arrival (its connection opening
    /// here) or by [`Broker::capture_stop`].
    pub fn capture_start(&self, clientid: ByteString, filters: Vec<ByteString>) {
        self.capture_stop(&clientid);
        if let Some(cluster) = self.shared.cluster() {
            for f in &filters {
                cluster.interest(InterestChange {
                    interest: Interest::Filter(f.clone()),
                    added: true,
                });
            }
        }
        let capture = Capture {
            filters,
            messages: parking_lot::Mutex::new(Vec::new()),
        };
        self.shared.captures.map.write().insert(clientid, capture);
    }

    /// Stops keeping messages for `clientid` (the takeover did not happen) and drops them.
    pub fn capture_stop(&self, clientid: &str) {
        let capture = self.shared.captures.map.write().remove(clientid);
        if let Some(capture) = capture {
            self.shared.release_capture(&capture);
        }
    }

    /// Applies a retained change seen in the cluster's store: `Some` stores the message, `None`
    /// clears `topic`.
    pub fn retained_remote(&self, topic: &str, message: Option<Message>) {
        let shared = &self.shared;
        match message {
            Some(m) if !m.payload.is_empty() => {
                let m = Arc::new(m);
                if shared.retained.set(m.clone()) == crate::retained::RetainOutcome::Stored
                    && shared.store.is_some()
                {
                    shared.submit(vec![Op::PutRetained((*m).clone())]);
                }
            }
            _ => {
                if shared.retained.delete(topic) && shared.store.is_some() {
                    shared.submit(vec![Op::DelRetained(topic.into())]);
                }
            }
        }
    }

    /// Gives up the session of `clientid` for another node: closes its connection (MQTT 5:
    /// 0x8E) and waits for its disconnect hooks, ends the session here, and runs
    /// `session.takenover` (or, with `discard`, `session.discarded` and `session.terminated`).
    pub async fn handover(&self, clientid: &str, discard: bool) -> Handover {
        let shared = &self.shared;
        let Some((session, previous)) = shared.registry.release(clientid) else {
            return Handover::NotHere;
        };
        if let Some(previous) = previous {
            crate::connection::close_previous(previous).await;
        }
        let (state, subscriptions, clientinfo) = {
            let mut st = session.state.lock();
            let state = snapshot(&session, &st);
            st.moved = true;
            let subscriptions = st.end();
            (state, subscriptions, st.clientinfo.clone())
        };
        if session.persists() {
            shared.submit(vec![Op::DelSession(session.clientid.clone())]);
        }
        if discard {
            if shared.hooks.has(HookPoint::SessionDiscarded) {
                shared
                    .hooks
                    .notify(Event::SessionDiscarded {
                        clientinfo: clientinfo.clone(),
                    })
                    .await;
            }
            shared.end_session(clientinfo, subscriptions, "discarded");
            return Handover::Discarded;
        }
        shared.unroute(&session.clientid, &subscriptions);
        if shared.hooks.has(HookPoint::SessionTakenover) {
            shared
                .hooks
                .notify(Event::SessionTakenover { clientinfo })
                .await;
        }
        Handover::Moved(encode_handover(&state))
    }

    /// Takes in what a dead node left of a client, from its record in the cluster: a persistent
    /// session whose expiry has not passed waits here offline (subscribed, queueing) until the
    /// client comes back or it expires; the will is published now, or after what is left of its
    /// delay unless the client comes back first ([MQTT-3.1.3-9]). `epoch` is the claim the
    /// cluster made for this node. Returns whether a session was kept.
    pub async fn adopt(&self, record: &SessionRecord, epoch: u64) -> bool {
        let shared = &self.shared;
        let now = hookmq_hooks::now_ms();
        let gone_at = if record.online {
            now
        } else {
            record.disconnected_at_ms.min(now)
        };
        let elapsed = ((now - gone_at) / 1000).min(u64::from(u32::MAX)) as u32;
        let expiry_left = record.expiry.saturating_sub(elapsed);
        let state = recovered_from_record(record);
        let clientinfo = clientinfo_of(&shared.node, &state);
        let session =
            (expiry_left > 0 && shared.registry.get(&record.clientid).is_none()).then(|| {
                let session = Session::restore(clientinfo.clone(), state, shared.queue_limits());
                session.state.lock().cluster_epoch = epoch;
                shared.route_restored(&session);
                shared.registry.restore(session.clone());
                if let Some(op) = session.save_op() {
                    shared.submit(vec![op]);
                }
                let session_epoch = session.state.lock().epoch;
                shared.schedule_expiry(session.clone(), session_epoch, expiry_left);
                session
            });
        if let Some(will) = record.will.clone() {
            let delay = will
                .properties
                .will_delay_interval()
                .unwrap_or(0)
                .min(record.expiry)
                .saturating_sub(elapsed);
            match &session {
                Some(s) if delay > 0 => {
                    let session_epoch = s.state.lock().epoch;
                    crate::connection::schedule_will(
                        shared.clone(),
                        s.clone(),
                        session_epoch,
                        delay,
                        will,
                    );
                }
                _ => crate::connection::publish_will(shared.clone(), clientinfo, will).await,
            }
        }
        session.is_some()
    }

    /// Publishes the will of a client whose node died, as that node would have (authorization
    /// and `message.publish` apply).
    pub async fn publish_orphan_will(&self, record: &SessionRecord, will: LastWill) {
        let state = recovered_from_record(record);
        let clientinfo = clientinfo_of(&self.shared.node, &state);
        crate::connection::publish_will(self.shared.clone(), clientinfo, will).await;
    }

    /// The records of this node's sessions, for a cluster that re-registers them after its link
    /// came back.
    pub fn session_records(&self) -> Vec<SessionRecord> {
        self.shared
            .registry
            .all()
            .iter()
            .map(|s| record_of(&s.state.lock(), None))
            .collect()
    }
}

impl Shared {
    /// Removes a session's subscriptions from the router without ending hooks (it moved).
    pub(crate) fn unroute(
        &self,
        clientid: &ByteString,
        subscriptions: &[(ByteString, crate::session::Subscription)],
    ) {
        for (filter, _) in subscriptions {
            self.router.unsubscribe(clientid, filter);
        }
    }

    /// Puts a session taken over from another node into the router, and delivers to it first
    /// what was kept for it meanwhile ([`Broker::capture_start`]), less what the session
    /// brought along (same message id).
    pub(crate) fn route_moved(&self, session: &Arc<Session>) {
        let mut captures = self.captures.map.write();
        let Some(capture) = captures.remove(&session.clientid) else {
            drop(captures);
            self.route_restored(session);
            return;
        };
        self.route_restored(session);
        let mut seen: std::collections::HashSet<hookmq_hooks::MessageId> = {
            let st = session.state.lock();
            st.inflight
                .iter()
                .map(|e| e.delivery.message.id)
                .chain(st.queue.iter().map(|d| d.message.id))
                .collect()
        };
        let mut dropped = Vec::new();
        let mut ops = Vec::new();
        for message in capture.messages.lock().drain(..) {
            if seen.insert(message.id) {
                self.router
                    .route_to(&session.clientid, &message, &mut dropped, &mut ops);
            }
        }
        drop(captures);
        self.report_drops(dropped);
        self.submit(ops);
        self.release_capture(&capture);
    }

    /// Gives back the interest a capture held.
    fn release_capture(&self, capture: &Capture) {
        if let Some(cluster) = self.cluster() {
            for f in &capture.filters {
                cluster.interest(InterestChange {
                    interest: Interest::Filter(f.clone()),
                    added: false,
                });
            }
        }
    }

    /// Puts a restored or moved session's subscriptions into the router.
    pub(crate) fn route_restored(&self, session: &Arc<Session>) {
        let subs = session.state.lock().subscription_list();
        for (filter, options, id) in subs {
            match TopicFilter::new(filter.clone()) {
                Ok(f) => {
                    self.router.subscribe(session, &f, options, id);
                }
                Err(e) => {
                    tracing::warn!(%filter, error = %e, "skipping an invalid stored subscription")
                }
            }
        }
    }

    /// The cluster's record of a session now (with `will` if it may still fire elsewhere).
    pub(crate) fn cluster_record(
        &self,
        session: &Session,
        will: Option<LastWill>,
    ) -> SessionRecord {
        record_of(&session.state.lock(), will)
    }
}

/// The cluster's view of a session's state.
fn record_of(st: &SessionState, will: Option<LastWill>) -> SessionRecord {
    let online = st.link.is_some();
    SessionRecord {
        clientid: st.clientinfo.clientid.clone(),
        epoch: st.cluster_epoch,
        online,
        expiry: st.expiry_interval,
        disconnected_at_ms: if online { 0 } else { hookmq_hooks::now_ms() },
        created_at_ms: st.created_at_ms,
        username: st.clientinfo.username.clone(),
        protocol: st.clientinfo.protocol,
        peer: st.clientinfo.peer,
        mountpoint: st.clientinfo.mountpoint.clone(),
        subscriptions: st.subscription_list(),
        will,
    }
}

/// The client facts of a session that arrives without a connection.
fn clientinfo_of(node: &NodeName, state: &RecoveredSession) -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        node: node.clone(),
        clientid: state.clientid.clone(),
        username: state.record.username.clone(),
        password: None,
        peer: state.record.peer,
        sockport: 0,
        protocol: state.record.protocol,
        mountpoint: state.record.mountpoint.clone(),
        is_superuser: false,
        anonymous: true,
        cn: state.record.cn.clone(),
        dn: state.record.dn.clone(),
        grant: None,
    })
}

/// A session's full state in the store's layout.
fn snapshot(session: &Session, st: &SessionState) -> RecoveredSession {
    let mut entries = Vec::with_capacity(st.inflight.len() + st.queue.len());
    for e in st.inflight.iter() {
        entries.push(e.delivery.stored(Some((e.packet_id, e.phase))));
    }
    for d in &st.queue {
        entries.push(d.stored(None));
    }
    RecoveredSession {
        clientid: session.clientid.clone(),
        record: Session::stored(st),
        entries: entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| (i as u64 + 1, e))
            .collect(),
        rel: st.awaiting_rel.iter().copied().collect(),
    }
}

pub(crate) fn recovered_from_record(record: &SessionRecord) -> RecoveredSession {
    RecoveredSession {
        clientid: record.clientid.clone(),
        record: StoredSession {
            expiry_interval: record.expiry,
            created_at_ms: record.created_at_ms,
            username: record.username.clone(),
            cn: None,
            dn: None,
            protocol: record.protocol,
            peer: record.peer,
            mountpoint: record.mountpoint.clone(),
            subscriptions: record.subscriptions.clone(),
        },
        entries: Vec::new(),
        rel: Vec::new(),
    }
}

fn put_len_prefixed(out: &mut BytesMut, write: impl FnOnce(&mut BytesMut)) {
    let mut inner = BytesMut::new();
    write(&mut inner);
    out.put_u32(inner.len() as u32);
    out.put_slice(&inner);
}

fn get_len_prefixed(b: &mut Bytes) -> Result<Bytes, RecordError> {
    if b.remaining() < 4 {
        return Err(RecordError("truncated length"));
    }
    let n = b.get_u32() as usize;
    if b.remaining() < n {
        return Err(RecordError("truncated part"));
    }
    Ok(b.split_to(n))
}

fn get_text(b: &mut Bytes) -> Result<ByteString, RecordError> {
    ByteString::try_from(get_len_prefixed(b)?).map_err(|_| RecordError("invalid UTF-8"))
}

/// A session's state as bytes for another node.
fn encode_handover(state: &RecoveredSession) -> Bytes {
    let mut out = BytesMut::new();
    out.put_u8(HANDOVER_VERSION);
    put_len_prefixed(&mut out, |o| o.put_slice(state.clientid.as_bytes()));
    put_len_prefixed(&mut out, |o| persist::put_session(&state.record, o));
    out.put_u32(state.entries.len() as u32);
    for (_, e) in &state.entries {
        put_len_prefixed(&mut out, |o| persist::put_entry(e, o));
    }
    out.put_u32(state.rel.len() as u32);
    for id in &state.rel {
        out.put_u16(*id);
    }
    out.freeze()
}

/// Reads what [`encode_handover`] wrote; entries are numbered from 1 in order.
pub(crate) fn decode_handover(mut b: Bytes) -> Result<RecoveredSession, RecordError> {
    if b.remaining() < 1 || b.get_u8() != HANDOVER_VERSION {
        return Err(RecordError("unknown handover version"));
    }
    let clientid = get_text(&mut b)?;
    let record = persist::get_session(get_len_prefixed(&mut b)?)?;
    if b.remaining() < 4 {
        return Err(RecordError("truncated entry count"));
    }
    let n = b.get_u32() as usize;
    let mut entries = Vec::with_capacity(n.min(b.remaining() / 4));
    for i in 0..n {
        let e: StoredEntry = persist::get_entry(get_len_prefixed(&mut b)?)?;
        entries.push((i as u64 + 1, e));
    }
    if b.remaining() < 4 {
        return Err(RecordError("truncated id count"));
    }
    let n = b.get_u32() as usize;
    if b.remaining() < 2 * n {
        return Err(RecordError("truncated ids"));
    }
    let rel = (0..n).map(|_| b.get_u16()).filter(|id| *id != 0).collect();
    Ok(RecoveredSession {
        clientid,
        record,
        entries,
        rel,
    })
}

impl SessionRecord {
    /// The record as bytes (versioned; the session part in the persistence store's layout).
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        out.put_u8(RECORD_VERSION);
        out.put_u8(u8::from(self.online) | (u8::from(self.will.is_some()) << 1));
        out.put_u64(self.epoch);
        out.put_u64(self.disconnected_at_ms);
        put_len_prefixed(&mut out, |o| o.put_slice(self.clientid.as_bytes()));
        let stored = recovered_from_record(self).record;
        put_len_prefixed(&mut out, |o| persist::put_session(&stored, o));
        if let Some(w) = &self.will {
            put_len_prefixed(&mut out, |o| o.put_slice(w.topic.as_str().as_bytes()));
            out.put_u8(w.qos.as_u8() | (u8::from(w.retain) << 2));
            if hookmq_codec::encode_message_properties(&w.properties, &mut out).is_err() {
                // Properties a client sent always encode; keep the record readable regardless.
                out.put_u8(0);
            }
            put_len_prefixed(&mut out, |o| o.put_slice(&w.payload));
        }
        out.freeze()
    }

    /// Reads what [`SessionRecord::encode`] wrote.
    pub fn decode(mut b: Bytes) -> Result<SessionRecord, RecordDecodeError> {
        let err = |e: RecordError| RecordDecodeError(e.0);
        if b.remaining() < 18 || b.get_u8() != RECORD_VERSION {
            return Err(RecordDecodeError("unknown session record version"));
        }
        let flags = b.get_u8();
        let epoch = b.get_u64();
        let disconnected_at_ms = b.get_u64();
        let clientid = get_text(&mut b).map_err(err)?;
        let stored = persist::get_session(get_len_prefixed(&mut b).map_err(err)?).map_err(err)?;
        let will = if flags & 2 != 0 {
            let topic = get_text(&mut b).map_err(err)?;
            let topic =
                TopicName::new(topic).map_err(|_| RecordDecodeError("invalid will topic"))?;
            if b.remaining() < 1 {
                return Err(RecordDecodeError("truncated will"));
            }
            let flags = b.get_u8();
            let qos = QoS::from_u8(flags & 3).ok_or(RecordDecodeError("invalid will QoS"))?;
            let properties = hookmq_codec::decode_will_properties(&mut b)
                .map_err(|_| RecordDecodeError("invalid will properties"))?;
            let payload = get_len_prefixed(&mut b).map_err(err)?;
            Some(LastWill {
                topic,
                payload,
                qos,
                retain: flags & 4 != 0,
                properties,
            })
        } else {
            None
        };
        Ok(SessionRecord {
            clientid,
            epoch,
            online: flags & 1 != 0,
            expiry: stored.expiry_interval,
            disconnected_at_ms,
            created_at_ms: stored.created_at_ms,
            username: stored.username,
            protocol: stored.protocol,
            peer: stored.peer,
            mountpoint: stored.mountpoint,
            subscriptions: stored.subscriptions,
            will,
        })
    }
}

/// Why a session record from the cluster could not be read.
#[derive(Debug, thiserror::Error)]
#[error("session record is unreadable: {0}")]
pub struct RecordDecodeError(&'static str);

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::{Property, Protocol, SubscriptionOptions};

    fn record() -> SessionRecord {
        SessionRecord {
            clientid: "c1".into(),
            epoch: 3,
            online: true,
            expiry: 300,
            disconnected_at_ms: 0,
            created_at_ms: 1_700_000_000_000,
            username: Some("u".into()),
            protocol: Protocol::V5,
            peer: "127.0.0.1:5000".parse().unwrap(),
            mountpoint: None,
            subscriptions: vec![
                (
                    "a/+".into(),
                    SubscriptionOptions {
                        qos: QoS::AtLeastOnce,
                        no_local: true,
                        ..Default::default()
                    },
                    Some(7),
                ),
                ("$share/g/b/#".into(), SubscriptionOptions::default(), None),
            ],
            will: Some(LastWill {
                topic: TopicName::new("will/c1").unwrap(),
                payload: Bytes::from_static(b"gone"),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: hookmq_codec::Properties(vec![Property::WillDelayInterval(5)]),
            }),
        }
    }

    #[test]
    fn a_session_record_survives_its_bytes() {
        let r = record();
        assert_eq!(SessionRecord::decode(r.encode()).unwrap(), r);
        let mut bare = r.clone();
        bare.will = None;
        bare.online = false;
        bare.disconnected_at_ms = 42;
        assert_eq!(SessionRecord::decode(bare.encode()).unwrap(), bare);
    }

    #[test]
    fn truncated_or_foreign_bytes_are_refused_not_panicked_on() {
        let bytes = record().encode();
        for n in 0..bytes.len() {
            assert!(
                SessionRecord::decode(bytes.slice(..n)).is_err(),
                "prefix {n}"
            );
        }
        let handover = encode_handover(&recovered_from_record(&record()));
        assert!(decode_handover(handover.clone()).is_ok());
        for n in 0..handover.len() {
            assert!(decode_handover(handover.slice(..n)).is_err(), "prefix {n}");
        }
        assert!(decode_handover(Bytes::from_static(&[9, 0, 0])).is_err());
    }
}

/// Messages from other nodes kept for sessions on their way here, by client id.
#[derive(Default)]
pub(crate) struct Captures {
    map: parking_lot::RwLock<std::collections::HashMap<ByteString, Capture>>,
}

impl std::fmt::Debug for Captures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captures")
            .field("sessions", &self.map.read().len())
            .finish()
    }
}

/// What is kept for one session.
struct Capture {
    filters: Vec<ByteString>,
    messages: parking_lot::Mutex<Vec<Arc<Message>>>,
}
