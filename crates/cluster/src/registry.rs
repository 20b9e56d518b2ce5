//! The client-id registry: one entry per client id in the clients bucket, naming the node that
//! holds the session, written only with compare-and-set on the key's revision, so two nodes can
//! never both believe they registered the same client id.
//!
//! * `claim` (CONNECT): reads the entry; a live other owner is asked to hand the session over
//!   (`handover::request`); a dead one's session is adopted from the record, and its will
//!   published; then the entry is rewritten for this node. A lost race re-reads and retries.
//! * `save` / `end`: a session's record changes or goes, but only while this node's claim is
//!   the latest (`Held`): a late write of an older connection, or of a node whose client was
//!   taken over meanwhile, is dropped.
//! * `sweep_orphans`: after a node died, its entries are taken over one by one (the CAS picks
//!   one survivor per entry): wills are published once, persistent sessions adopted.
//! * `reconcile`: after this node's link came back, sessions another node took over meanwhile
//!   are closed here.
//!
//! Operations on one client id are serialized on this node by a per-client lock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation};
use bytestring::ByteString;
use futures_util::StreamExt;
use hookmq_broker::cluster::{Claim, ClaimRequest, ClusterError, MovedSession, SessionRecord};
use hookmq_codec::LastWill;
use parking_lot::Mutex;

use crate::handover::{self, Answer};
use crate::keys::{self, Entry};
use crate::{Inner, Stats};

/// What this node registered for one client id.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    /// The entry's revision after our last write.
    revision: u64,
    /// The epoch of our claim.
    epoch: u64,
}

type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

/// The client ids this node holds, each behind its own lock.
#[derive(Debug, Default)]
pub(crate) struct Owned {
    slots: Mutex<HashMap<ByteString, Slot>>,
}

impl Owned {
    fn slot(&self, clientid: &ByteString) -> Slot {
        self.slots
            .lock()
            .entry(clientid.clone())
            .or_default()
            .clone()
    }

    /// Forgets a client id handed to another node.
    pub(crate) fn forget(&self, clientid: &str) {
        self.slots.lock().remove(clientid);
    }

    /// Drops slots nobody holds, so the map does not grow with every client id ever seen.
    fn tidy(&self, clientid: &ByteString) {
        let mut slots = self.slots.lock();
        if let Some(slot) = slots.get(clientid)
            && Arc::strong_count(slot) == 1
            && slot.try_lock().is_ok_and(|h| h.is_none())
        {
            slots.remove(clientid);
        }
    }
}

/// The current entry of a key: its revision (0: never written) and content (`None`: deleted,
/// unreadable, or another client id's digest).
async fn read(
    inner: &Inner,
    key: &str,
    clientid: &str,
) -> Result<(u64, Option<Entry>), ClusterError> {
    let entry = inner
        .buckets
        .clients
        .entry(key)
        .await
        .map_err(|e| ClusterError::Backend(e.to_string()))?;
    Ok(match entry {
        None => (0, None),
        Some(e) if e.operation != Operation::Put => (e.revision, None),
        Some(e) => (
            e.revision,
            Entry::decode(e.value).filter(|en| en.record.clientid == clientid),
        ),
    })
}

/// Writes `entry` if the key is still at `revision`; `Ok(None)` if it moved on.
async fn write(
    inner: &Inner,
    key: &str,
    revision: u64,
    entry: &Entry,
) -> Result<Option<u64>, ClusterError> {
    let kv = &inner.buckets.clients;
    let result = if revision == 0 {
        kv.create(key, entry.encode())
            .await
            .map_err(|e| match e.kind() {
                kv::CreateErrorKind::AlreadyExists => None,
                _ => Some(e.to_string()),
            })
    } else {
        kv.update(key, entry.encode(), revision)
            .await
            .map_err(|e| match e.kind() {
                kv::UpdateErrorKind::WrongLastRevision => None,
                _ => Some(e.to_string()),
            })
    };
    match result {
        Ok(rev) => Ok(Some(rev)),
        Err(None) => Ok(None),
        Err(Some(e)) => Err(ClusterError::Backend(e)),
    }
}

fn is_expired(record: &SessionRecord, now_ms: u64) -> bool {
    !record.online && record.disconnected_at_ms + u64::from(record.expiry) * 1000 <= now_ms
}

/// The will a dead client's record still owes, if the client does not resume in time.
fn owed_will(record: &SessionRecord) -> Option<LastWill> {
    record.will.clone()
}

/// Registers `request`'s client id for this node. See the module documentation.
pub(crate) async fn claim(inner: Arc<Inner>, request: ClaimRequest) -> Result<Claim, ClusterError> {
    let clientid = request.clientinfo.clientid.clone();
    let result = claim_once(&inner, request).await;
    // Messages kept for a session that did not move here are not needed.
    if !matches!(&result, Ok(Claim { moved: Some(_), .. })) {
        inner.broker.capture_stop(&clientid);
    }
    result
}

/// Before asking another node for a persistent session: this node takes the interest of its
/// non-shared subscriptions (from the registry record) and keeps what arrives for it, so
/// messages published while the session moves are not lost between the two nodes.
async fn capture(inner: &Inner, clientid: &ByteString, record: &SessionRecord) {
    let filters: Vec<ByteString> = record
        .subscriptions
        .iter()
        .map(|(f, _, _)| f.clone())
        .filter(|f| hookmq_codec::SharedFilter::parse(f).is_err())
        .collect();
    if filters.is_empty() {
        return;
    }
    inner.broker.capture_start(clientid.clone(), filters);
    crate::routing::settle(inner).await;
}

async fn claim_once(inner: &Arc<Inner>, request: ClaimRequest) -> Result<Claim, ClusterError> {
    let inner = inner.clone();
    if !inner.link.control_up() {
        return Err(ClusterError::Unavailable);
    }
    let clientid = request.clientinfo.clientid.clone();
    let key = keys::client_key(&clientid);
    let slot = inner.registry.slot(&clientid);
    let mut held = slot.lock().await;
    let mut moved: Option<MovedSession> = None;
    // A will of a dead owner's client, published once our entry is written.
    let mut orphan: Option<(SessionRecord, LastWill)> = None;
    for _ in 0..4 {
        let (revision, prev) = read(&inner, &key, &clientid).await?;
        if let Some(prev) = &prev
            && moved.is_none()
            && !(prev.owner == inner.me.key && prev.incarnation == inner.me.incarnation)
        {
            let alive = inner
                .members
                .is_alive(&inner.me, &prev.owner, prev.incarnation);
            let answer = if alive {
                if !request.clean_start && prev.record.expiry > 0 {
                    capture(&inner, &clientid, &prev.record).await;
                }
                handover::request(&inner, &prev.owner, &clientid, request.clean_start).await
            } else {
                Answer::Gone
            };
            match answer {
                Answer::Moved(bytes) => {
                    moved = Some(MovedSession::decode(bytes, true)?);
                    Stats::inc(&inner.stats.takeovers_in);
                }
                Answer::NotHere | Answer::Discarded => {}
                Answer::Gone => {
                    // The owner is dead (or its link is): take what its record holds.
                    let now = hookmq_hooks::now_ms();
                    let resumable = !request.clean_start
                        && prev.record.expiry > 0
                        && !is_expired(&prev.record, now);
                    if resumable {
                        moved = Some(MovedSession::from_record(&prev.record));
                        Stats::inc(&inner.stats.adopted);
                    }
                    if let Some(will) = owed_will(&prev.record) {
                        let delayed = will.properties.will_delay_interval().unwrap_or(0) > 0;
                        // [MQTT-3.1.3-9] a session resumed before the will delay: no will.
                        if !(resumable && delayed) {
                            orphan = Some((prev.record.clone(), will));
                        }
                    }
                }
                Answer::Unresponsive => {
                    return Err(ClusterError::Unresponsive {
                        node: inner.members.name(&prev.owner),
                    });
                }
            }
        }
        let epoch = prev.as_ref().map_or(0, |p| p.record.epoch).max(revision) + 1;
        let info = &request.clientinfo;
        let (subscriptions, created_at_ms) = match (&moved, &prev) {
            (Some(m), _) => (m.subscription_list(), m.created_at_ms()),
            (None, Some(p)) if !request.clean_start && p.owner == inner.me.key => {
                (p.record.subscriptions.clone(), p.record.created_at_ms)
            }
            _ => (Vec::new(), hookmq_hooks::now_ms()),
        };
        let entry = Entry {
            owner: inner.me.key.clone(),
            incarnation: inner.me.incarnation,
            record: SessionRecord {
                clientid: clientid.clone(),
                epoch,
                online: true,
                expiry: request.expiry,
                disconnected_at_ms: 0,
                created_at_ms,
                username: info.username.clone(),
                protocol: info.protocol,
                peer: info.peer,
                mountpoint: info.mountpoint.clone(),
                subscriptions,
                will: request.will.clone(),
            },
        };
        if let Some(revision) = write(&inner, &key, revision, &entry).await? {
            *held = Some(Held { revision, epoch });
            drop(held);
            if let Some((record, will)) = orphan {
                Stats::inc(&inner.stats.orphan_wills);
                inner.broker.publish_orphan_will(&record, will).await;
            }
            return Ok(Claim { epoch, moved });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(ClusterError::Contended)
}

/// Rewrites a session's record if this node's claim is still the latest.
pub(crate) async fn save(inner: Arc<Inner>, record: SessionRecord) -> bool {
    if !inner.link.control_up() {
        return false;
    }
    let slot = inner.registry.slot(&record.clientid);
    let mut held = slot.lock().await;
    let Some(h) = *held else {
        // Not ours (handed over, or never registered): nothing to write.
        return true;
    };
    if h.epoch != record.epoch {
        // A late write of an older connection.
        return true;
    }
    let key = keys::client_key(&record.clientid);
    let entry = Entry {
        owner: inner.me.key.clone(),
        incarnation: inner.me.incarnation,
        record,
    };
    match write(&inner, &key, h.revision, &entry).await {
        Ok(Some(revision)) => {
            *held = Some(Held { revision, ..h });
            true
        }
        Ok(None) => {
            tracing::debug!(clientid = %entry.record.clientid, "registry entry taken by another node");
            *held = None;
            false
        }
        Err(e) => {
            tracing::debug!(error = %e, "session record not saved");
            false
        }
    }
}

/// Deletes a session's entry if this node's claim `epoch` is still the latest.
pub(crate) async fn end(inner: Arc<Inner>, clientid: ByteString, epoch: u64) {
    let slot = inner.registry.slot(&clientid);
    {
        let mut held = slot.lock().await;
        if let Some(h) = *held
            && h.epoch == epoch
        {
            let key = keys::client_key(&clientid);
            if let Err(e) = inner
                .buckets
                .clients
                .delete_expect_revision(key.as_str(), Some(h.revision))
                .await
            {
                tracing::debug!(%clientid, error = %e, "registry entry not deleted");
            }
            *held = None;
        }
    }
    drop(slot);
    inner.registry.tidy(&clientid);
}

/// Takes over the entries of dead nodes: `dead` names one (key, incarnation); `None` checks
/// every entry against the live members (at start).
pub(crate) async fn sweep_orphans(inner: Arc<Inner>, dead: Option<(String, u64)>) {
    let entries = match snapshot(&inner.buckets.clients).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the registry to find orphaned sessions");
            return;
        }
    };
    let mut swept = 0usize;
    for (key, entry) in entries {
        let orphaned = match &dead {
            Some((k, inc)) => entry.owner == *k && entry.incarnation == *inc,
            None => !inner
                .members
                .is_alive(&inner.me, &entry.owner, entry.incarnation),
        };
        if orphaned && take_orphan(&inner, &key, &entry.record.clientid, &dead).await {
            swept += 1;
        }
    }
    // Every survivor sweeps; the compare-and-set leaves each client to one of them, so a
    // survivor may have taken none.
    if dead.is_some() || swept > 0 {
        tracing::info!(sessions = swept, "swept the registry after a node died");
    }
}

/// Takes one orphaned entry: rechecked under the client's lock, then rewritten for this node
/// (persistent session kept) or deleted (its will published).
async fn take_orphan(
    inner: &Arc<Inner>,
    key: &str,
    clientid: &ByteString,
    dead: &Option<(String, u64)>,
) -> bool {
    let slot = inner.registry.slot(clientid);
    let mut held = slot.lock().await;
    let Ok((revision, Some(entry))) = read(inner, key, clientid).await else {
        return false;
    };
    let still = match dead {
        Some((k, inc)) => entry.owner == *k && entry.incarnation == *inc,
        None => !inner
            .members
            .is_alive(&inner.me, &entry.owner, entry.incarnation),
    };
    if !still {
        return false;
    }
    let record = entry.record;
    let now = hookmq_hooks::now_ms();
    let keep = record.expiry > 0 && !is_expired(&record, now);
    let epoch = record.epoch.max(revision) + 1;
    if keep {
        let mut mine = record.clone();
        mine.epoch = epoch;
        if mine.online {
            mine.online = false;
            mine.disconnected_at_ms = now;
        }
        let ours = Entry {
            owner: inner.me.key.clone(),
            incarnation: inner.me.incarnation,
            record: mine.clone(),
        };
        match write(inner, key, revision, &ours).await {
            Ok(Some(rev)) => {
                *held = Some(Held {
                    revision: rev,
                    epoch,
                });
                drop(held);
                Stats::inc(&inner.stats.adopted);
                if mine.will.is_some() {
                    Stats::inc(&inner.stats.orphan_wills);
                }
                inner.broker.adopt(&mine, epoch).await;
                true
            }
            _ => false,
        }
    } else {
        match inner
            .buckets
            .clients
            .delete_expect_revision(key, Some(revision))
            .await
        {
            Ok(()) => {
                drop(held);
                if let Some(will) = owed_will(&record) {
                    Stats::inc(&inner.stats.orphan_wills);
                    inner.broker.publish_orphan_will(&record, will).await;
                }
                true
            }
            Err(_) => false,
        }
    }
}

/// Every live entry of a bucket, read through a watch of the last values.
async fn snapshot(kv: &kv::Store) -> Result<Vec<(String, Entry)>, String> {
    let total = crate::keys::count(kv).await?;
    if total == 0 {
        return Ok(Vec::new());
    }
    let mut watch = kv
        .watch_with_history(">")
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), watch.next()).await;
        match next {
            Ok(Some(Ok(e))) => {
                let last = e.delta == 0;
                if e.operation == Operation::Put
                    && let Some(entry) = Entry::decode(e.value)
                {
                    out.push((e.key, entry));
                }
                if last {
                    return Ok(out);
                }
            }
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) | Err(_) => return Ok(out),
        }
    }
}

/// After the link came back: every local session is checked against the registry; one that
/// another node took over meanwhile (this node was declared dead) is closed here (MQTT 5:
/// 0x8E), one still ours is recorded again.
pub(crate) async fn reconcile(inner: &Arc<Inner>) {
    let records = inner.broker.session_records();
    let mut evicted = 0usize;
    for record in records {
        let key = keys::client_key(&record.clientid);
        let Ok((revision, entry)) = read(inner, &key, &record.clientid).await else {
            return;
        };
        let ours = entry
            .as_ref()
            .is_some_and(|e| e.owner == inner.me.key && e.incarnation == inner.me.incarnation);
        if ours {
            let slot = inner.registry.slot(&record.clientid);
            let mut held = slot.lock().await;
            if held.is_none()
                && let Some(e) = &entry
            {
                *held = Some(Held {
                    revision,
                    epoch: e.record.epoch,
                });
            }
            continue;
        }
        tracing::info!(clientid = %record.clientid, "session taken over elsewhere while this node was cut off; closing it here");
        inner.registry.forget(&record.clientid);
        inner.broker.handover(&record.clientid, true).await;
        evicted += 1;
    }
    if evicted > 0 {
        tracing::warn!(
            sessions = evicted,
            "closed sessions other nodes took over during the outage"
        );
    }
}
