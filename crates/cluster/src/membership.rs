//! Membership: each node renews a lease (its key in the nodes bucket) every quarter lease, with
//! its incarnation and figures; every node follows the bucket and keeps, per member, when it
//! last heard of it (by its own clock, so clocks need not agree). A member not heard of for a
//! lease, or whose key was deleted (a clean stop), or that came back with a new incarnation (a
//! restart), is dead: its orphaned registry entries are swept (`registry::sweep_orphans`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_nats::jetstream::kv::{self, Operation};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use hookmq_broker::cluster::MemberStatus;
use parking_lot::RwLock;
use tokio::sync::oneshot;

use crate::keys::Buckets;
use crate::{Inner, NodeId, StartError};

/// One member as last heard of.
#[derive(Debug, Clone)]
struct Member {
    lease: Lease,
    last_seen: Instant,
    /// The revision of its key when last heard of.
    revision: u64,
}

/// What a node renews.
#[derive(Debug, Clone, PartialEq)]
struct Lease {
    incarnation: u64,
    name: String,
    connections: i64,
    sessions: u64,
    api: Option<String>,
}

const LEASE_VERSION: u8 = 1;

impl Lease {
    fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(32 + self.name.len());
        out.put_u8(LEASE_VERSION);
        out.put_u64(self.incarnation);
        out.put_i64(self.connections);
        out.put_u64(self.sessions);
        put_str(&mut out, &self.name);
        put_str(&mut out, self.api.as_deref().unwrap_or(""));
        out.freeze()
    }

    fn decode(mut b: Bytes) -> Option<Lease> {
        if b.remaining() < 25 || b.get_u8() != LEASE_VERSION {
            return None;
        }
        let incarnation = b.get_u64();
        let connections = b.get_i64();
        let sessions = b.get_u64();
        let name = get_str(&mut b)?;
        let api = get_str(&mut b)?;
        Some(Lease {
            incarnation,
            name,
            connections,
            sessions,
            api: (!api.is_empty()).then_some(api),
        })
    }
}

fn put_str(out: &mut BytesMut, s: &str) {
    let n = s.len().min(usize::from(u16::MAX));
    out.put_u16(n as u16);
    out.put_slice(&s.as_bytes()[..n]);
}

fn get_str(b: &mut Bytes) -> Option<String> {
    if b.remaining() < 2 {
        return None;
    }
    let n = usize::from(b.get_u16());
    if b.remaining() < n {
        return None;
    }
    String::from_utf8(b.split_to(n).to_vec()).ok()
}

/// The members this node has heard of (itself excluded).
#[derive(Debug, Default)]
pub(crate) struct Members {
    map: RwLock<HashMap<String, Member>>,
    lease: RwLock<Duration>,
}

impl Members {
    /// Whether the node with this key and incarnation holds a live lease (this node always
    /// does).
    pub(crate) fn is_alive(&self, me: &NodeId, key: &str, incarnation: u64) -> bool {
        if key == me.key {
            return incarnation == me.incarnation;
        }
        let lease = *self.lease.read();
        self.map
            .read()
            .get(key)
            .is_some_and(|m| m.lease.incarnation == incarnation && m.last_seen.elapsed() < lease)
    }

    /// The name of a member, for messages.
    pub(crate) fn name(&self, key: &str) -> String {
        self.map
            .read()
            .get(key)
            .map(|m| m.lease.name.clone())
            .or_else(|| crate::keys::name_of(key))
            .unwrap_or_else(|| key.to_owned())
    }

    /// Counts every member as heard of now.
    fn grace(&self) {
        let now = Instant::now();
        for m in self.map.write().values_mut() {
            m.last_seen = now;
        }
    }

    /// Live members' keys.
    pub(crate) fn live(&self) -> Vec<String> {
        let lease = *self.lease.read();
        self.map
            .read()
            .iter()
            .filter(|(_, m)| m.last_seen.elapsed() < lease)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Members with a live lease as the status shows them, this node first.
    pub(crate) fn view(&self, me: &NodeId) -> Vec<MemberStatus> {
        let lease = *self.lease.read();
        let mut out: Vec<MemberStatus> = self
            .map
            .read()
            .values()
            .filter(|m| m.last_seen.elapsed() < lease)
            .map(|m| MemberStatus {
                node: m.lease.name.clone(),
                connections: m.lease.connections,
                sessions: m.lease.sessions,
                last_seen_ms: m.last_seen.elapsed().as_millis() as u64,
                api: m.lease.api.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        out.insert(
            0,
            MemberStatus {
                node: me.name.clone(),
                ..Default::default()
            },
        );
        out
    }
}

/// Waits until no live node holds this node's name: a predecessor killed a moment ago still
/// holds its lease until it lapses. A name still renewed after that belongs to a live node.
pub(crate) async fn take_name(
    buckets: &Buckets,
    me: &NodeId,
    lease: Duration,
) -> Result<(), StartError> {
    let deadline = Instant::now() + lease + lease / 2 + Duration::from_secs(1);
    let mut waited = false;
    loop {
        match buckets.nodes.get(me.key.as_str()).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) | Err(_) if Instant::now() >= deadline => {
                return Err(StartError::NameTaken(me.name.clone()));
            }
            Ok(Some(_)) | Err(_) => {
                if !waited {
                    tracing::info!(node = %me.name, "waiting for the previous lease of this node name to lapse");
                    waited = true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Renews this node's lease now and from now on, and follows the other members. Returns once
/// the members alive now are known.
pub(crate) async fn start(inner: &Arc<Inner>) -> Result<(), StartError> {
    *inner.members.lease.write() = inner.config.lease.0;
    renew(inner).await.map_err(|message| StartError::Bucket {
        bucket: "nodes".into(),
        message,
    })?;
    let renewer = inner.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(renewer.config.lease.0 / 4);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewing = true;
        loop {
            tokio::select! {
                _ = renewer.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match renew(&renewer).await {
                Ok(()) => {
                    if !renewing {
                        // The others could not renew either while we could not (the bucket
                        // was unavailable, or we were cut off): they get a fresh lease to show
                        // they are alive before any is declared dead.
                        renewer.members.grace();
                        renewing = true;
                    }
                    expire(&renewer).await;
                }
                Err(e) => {
                    // A node that cannot renew its own lease cannot tell a dead member from a
                    // bucket it cannot reach: it declares nobody dead meanwhile.
                    tracing::debug!(error = %e, "lease not renewed");
                    renewing = false;
                }
            }
        }
    });
    let (ready_tx, ready) = oneshot::channel();
    tokio::spawn(follow(inner.clone(), ready_tx));
    let _ = tokio::time::timeout(inner.config.request_timeout.0, ready).await;
    Ok(())
}

/// Gives the lease up: survivors act on this node's sessions at once.
pub(crate) async fn leave(inner: &Inner) {
    if let Err(e) = inner.buckets.nodes.delete(inner.me.key.as_str()).await {
        tracing::debug!(error = %e, "lease not given up");
    }
}

async fn renew(inner: &Inner) -> Result<(), String> {
    let stats = inner.broker.stats();
    let lease = Lease {
        incarnation: inner.me.incarnation,
        name: inner.me.name.clone(),
        connections: stats.connections,
        sessions: stats.sessions as u64,
        api: inner.api.lock().map(|a| a.to_string()),
    };
    inner
        .buckets
        .nodes
        .put(inner.me.key.as_str(), lease.encode())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Declares the members not heard of for a lease dead, after asking the bucket itself: the
/// watch that brings renewals can stall for a while when a NATS server goes, and a member whose
/// key moved on since is alive.
async fn expire(inner: &Arc<Inner>) {
    let lease = inner.config.lease.0;
    let late: Vec<(String, u64, u64)> = inner
        .members
        .map
        .read()
        .iter()
        .filter(|(_, m)| m.last_seen.elapsed() >= lease)
        .map(|(k, m)| (k.clone(), m.lease.incarnation, m.revision))
        .collect();
    for (key, incarnation, revision) in late {
        let renewed = match inner.buckets.nodes.entry(key.as_str()).await {
            Ok(Some(e)) if e.operation == Operation::Put && e.revision > revision => {
                Lease::decode(e.value)
                    .filter(|l| l.incarnation == incarnation)
                    .map(|_| e.revision)
            }
            Ok(_) => None,
            // Cannot tell: ask again next time.
            Err(_) => continue,
        };
        let dead = {
            let mut map = inner.members.map.write();
            match renewed {
                Some(rev) => {
                    if let Some(m) = map.get_mut(&key) {
                        m.last_seen = Instant::now();
                        m.revision = m.revision.max(rev);
                    }
                    None
                }
                None => map
                    .remove(&key)
                    .filter(|m| m.last_seen.elapsed() >= lease)
                    .map(|m| m.lease),
            }
        };
        if let Some(lease) = dead {
            died(inner, key, lease);
        }
    }
}

fn died(inner: &Arc<Inner>, key: String, lease: Lease) {
    tracing::warn!(node = %lease.name, "cluster member is gone");
    tokio::spawn(crate::registry::sweep_orphans(
        inner.clone(),
        Some((key, lease.incarnation)),
    ));
}

/// Follows the nodes bucket until shutdown, re-watching after errors.
async fn follow(inner: Arc<Inner>, ready: oneshot::Sender<()>) {
    let mut ready = Some(ready);
    loop {
        match inner.buckets.nodes.watch_with_history(">").await {
            Ok(mut watch) => {
                if crate::keys::count(&inner.buckets.nodes).await.unwrap_or(1) == 0
                    && let Some(r) = ready.take()
                {
                    let _ = r.send(());
                }
                loop {
                    let entry = tokio::select! {
                        _ = inner.shutdown.cancelled() => return,
                        e = watch.next() => e,
                    };
                    match entry {
                        Some(Ok(e)) => {
                            let caught_up = e.delta == 0;
                            apply(&inner, e);
                            if caught_up && let Some(r) = ready.take() {
                                let _ = r.send(());
                            }
                        }
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "membership watch failed");
                            break;
                        }
                        None => break,
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot watch the members"),
        }
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

fn apply(inner: &Arc<Inner>, e: kv::Entry) {
    if e.key == inner.me.key {
        if e.operation == Operation::Put
            && Lease::decode(e.value).is_some_and(|l| l.incarnation != inner.me.incarnation)
        {
            tracing::error!(node = %inner.me.name, "another process renews this node's lease: node names must be unique");
        }
        return;
    }
    let previous = match e.operation {
        Operation::Put => {
            let Some(lease) = Lease::decode(e.value) else {
                return;
            };
            // The entry's age by the server's clock, for entries written before we watched.
            let age = SystemTime::from(e.created)
                .elapsed()
                .unwrap_or_default()
                .min(inner.config.lease.0);
            let last_seen = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
            let member = Member {
                lease,
                last_seen,
                revision: e.revision,
            };
            let previous = inner
                .members
                .map
                .write()
                .insert(e.key.clone(), member.clone());
            match previous {
                Some(p) if p.lease.incarnation != member.lease.incarnation => Some(p),
                None => {
                    tracing::info!(node = %member.lease.name, "cluster member is up");
                    None
                }
                _ => None,
            }
        }
        Operation::Delete | Operation::Purge => inner.members.map.write().remove(&e.key),
    };
    if let Some(p) = previous {
        died(inner, e.key, p.lease);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_survives_its_bytes_and_junk_is_refused() {
        let l = Lease {
            incarnation: 9,
            name: "n1@h".into(),
            connections: 3,
            sessions: 4,
            api: Some("127.0.0.1:8081".into()),
        };
        assert_eq!(Lease::decode(l.encode()), Some(l.clone()));
        let bytes = l.encode();
        for n in 0..bytes.len() {
            assert_eq!(Lease::decode(bytes.slice(..n)), None);
        }
    }
}
