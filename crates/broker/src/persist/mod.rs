//! Durable sessions and retained messages on fjall (an LSM store; chosen over redb because
//! fsync-per-commit and small group commits were about three times faster in
//! `examples/store_choice.rs`, see docs/reliability.md).
//!
//! The broker sends [`Op`]s to one writer thread, which applies everything queued since its last
//! commit as one batch (group commit). `commit` waits until the batch is durable under the sync
//! policy; the connection sends PUBACK / PUBREC / SUBACK only after that, so with
//! `sync = "always"` no acknowledged QoS 1/2 message or subscription is lost by a crash.
//! `submit` does not wait (state changes whose loss only causes a redelivery).

mod record;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use hookmq_hooks::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

pub(crate) use record::{
    RecordError, StoredEntry, StoredSession, get_entry, get_message, get_session, put_entry,
    put_message, put_session,
};
pub use record::{RecordKind, UnreadableRecord};

use crate::units::HumanDuration;

/// When written data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SyncPolicy {
    /// fsync every group commit before acknowledging: no acknowledged QoS 1/2 message is lost,
    /// even by a power failure.
    #[default]
    Always,
    /// fsync every `sync_interval`: a crash of the machine may lose what was acknowledged in the
    /// last interval; a crash of the broker process alone loses nothing written.
    Periodic,
}

/// `[persistence]`: durable sessions and retained messages.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistenceConfig {
    /// Keep persistent sessions and retained messages across restarts (recommended in
    /// production).
    pub enable: bool,
    /// Directory of the store, relative to the working directory.
    pub dir: PathBuf,
    /// When data is forced to disk.
    pub sync: SyncPolicy,
    /// fsync interval for `sync = "periodic"`.
    pub sync_interval: HumanDuration,
}

impl Default for PersistenceConfig {
    fn default() -> Self {
        PersistenceConfig {
            enable: false,
            dir: PathBuf::from("data/hookmq"),
            sync: SyncPolicy::Always,
            sync_interval: HumanDuration(Duration::from_millis(100)),
        }
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// fjall reported an error.
    #[error("persistence store {dir}: {source}")]
    Fjall {
        /// The store directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: fjall::Error,
    },
}

/// One change to the store.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    PutSession(ByteString, StoredSession),
    /// Removes the session, its queue and its awaiting-PUBREL ids.
    DelSession(ByteString),
    PutEntry(ByteString, u64, StoredEntry),
    DelEntry(ByteString, u64),
    PutRel(ByteString, u16),
    DelRel(ByteString, u16),
    PutRetained(Message),
    DelRetained(ByteString),
}

struct Job {
    ops: Vec<Op>,
    done: Option<oneshot::Sender<bool>>,
}

/// What was in the store at start.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    pub(crate) sessions: Vec<RecoveredSession>,
    pub(crate) retained: Vec<Message>,
}

/// One stored session with its queue (in sequence order) and awaiting-PUBREL ids.
#[derive(Debug)]
pub(crate) struct RecoveredSession {
    pub(crate) clientid: ByteString,
    pub(crate) record: StoredSession,
    pub(crate) entries: Vec<(u64, StoredEntry)>,
    pub(crate) rel: Vec<u16>,
}

/// A handle on the store's writer.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    tx: mpsc::UnboundedSender<Job>,
}

struct Spaces {
    db: Database,
    sessions: Keyspace,
    queue: Keyspace,
    rel: Keyspace,
    retained: Keyspace,
}

fn key(clientid: &str, suffix: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(clientid.len() + 1 + suffix.len());
    k.extend_from_slice(clientid.as_bytes());
    // [MQTT-1.5.4-2] client ids never contain U+0000, so 0 separates them from the suffix.
    k.push(0);
    k.extend_from_slice(suffix);
    k
}

impl Store {
    /// Opens (or creates) the store under `base`, reads what it holds, and starts the writer.
    pub(crate) fn open(
        cfg: &PersistenceConfig,
        base: &Path,
    ) -> Result<(Store, Recovered), StoreError> {
        let dir = base.join(&cfg.dir);
        let err = |source| StoreError::Fjall {
            dir: dir.clone(),
            source,
        };
        let _ = std::fs::create_dir_all(&dir);
        let dir_abs = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        let db = Database::builder(&dir_abs).open().map_err(err)?;
        let open = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(err)
        };
        let spaces = Spaces {
            sessions: open("sessions")?,
            queue: open("queue")?,
            rel: open("rel")?,
            retained: open("retained")?,
            db,
        };
        let recovered = recover(&spaces);
        let (tx, rx) = mpsc::unbounded_channel();
        let policy = (cfg.sync, cfg.sync_interval.0);
        std::thread::Builder::new()
            .name("hookmq-store".into())
            .spawn(move || writer(spaces, rx, policy))
            .map_err(|e| err(fjall::Error::Io(e)))?;
        Ok((Store { tx }, recovered))
    }

    /// Queues changes without waiting for them.
    pub(crate) fn submit(&self, ops: Vec<Op>) {
        if !ops.is_empty() {
            let _ = self.tx.send(Job { ops, done: None });
        }
    }

    /// Applies changes and waits until they are durable; false if the store failed.
    pub(crate) async fn commit(&self, ops: Vec<Op>) -> bool {
        if ops.is_empty() {
            return true;
        }
        let (done, rx) = oneshot::channel();
        if self
            .tx
            .send(Job {
                ops,
                done: Some(done),
            })
            .is_err()
        {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

fn recover(s: &Spaces) -> Recovered {
    let mut out = Recovered::default();
    for item in s.sessions.iter() {
        let Ok((k, v)) = item.into_inner() else {
            continue;
        };
        let Ok(clientid) = ByteString::try_from(Bytes::copy_from_slice(&k)) else {
            continue;
        };
        let record = match record::get_session(Bytes::copy_from_slice(&v)) {
            Ok(r) => r,
            Err(e) => {
                let error = e.of(RecordKind::Session);
                tracing::warn!(%clientid, %error, "skipping an unreadable stored session");
                continue;
            }
        };
        let mut entries = Vec::new();
        for item in s.queue.prefix(key(&clientid, &[])) {
            let Ok((k, v)) = item.into_inner() else {
                continue;
            };
            let Some(seq) = k
                .get(k.len().saturating_sub(8)..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
            else {
                continue;
            };
            let seq = u64::from_be_bytes(seq);
            match record::get_entry(Bytes::copy_from_slice(&v)) {
                Ok(e) => entries.push((seq, e)),
                Err(e) => {
                    let error = e.of(RecordKind::QueueEntry);
                    tracing::warn!(%clientid, seq, %error, "skipping an unreadable stored message")
                }
            }
        }
        let mut rel = Vec::new();
        for item in s.rel.prefix(key(&clientid, &[])) {
            let Ok((k, _)) = item.into_inner() else {
                continue;
            };
            if let Some(b) = k
                .get(k.len().saturating_sub(2)..)
                .and_then(|b| <[u8; 2]>::try_from(b).ok())
            {
                rel.push(u16::from_be_bytes(b));
            }
        }
        out.sessions.push(RecoveredSession {
            clientid,
            record,
            entries,
            rel,
        });
    }
    for item in s.retained.iter() {
        let Ok((k, v)) = item.into_inner() else {
            continue;
        };
        match record::get_message(&mut Bytes::copy_from_slice(&v)) {
            Ok(m) => out.retained.push(m),
            Err(e) => {
                let error = e.of(RecordKind::Retained);
                let topic = String::from_utf8_lossy(&k);
                tracing::warn!(%topic, %error, "skipping an unreadable retained message")
            }
        }
    }
    out
}

fn writer(
    s: Spaces,
    mut rx: mpsc::UnboundedReceiver<Job>,
    (policy, interval): (SyncPolicy, Duration),
) {
    let mut last_sync = Instant::now();
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < 4096 {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let ok = apply(&s, &jobs, policy);
        if policy == SyncPolicy::Periodic && last_sync.elapsed() >= interval {
            if let Err(e) = s.db.persist(PersistMode::SyncAll) {
                tracing::warn!(error = %e, "persistence store: fsync failed");
            }
            last_sync = Instant::now();
        }
        for job in jobs {
            if let Some(done) = job.done {
                let _ = done.send(ok);
            }
        }
    }
    let _ = s.db.persist(PersistMode::SyncAll);
}

/// Applies jobs in order as one or more batches; a session removal ends a batch so the removal's
/// scan sees everything written before it.
fn apply(s: &Spaces, jobs: &[Job], policy: SyncPolicy) -> bool {
    let durability = match policy {
        SyncPolicy::Always => Some(PersistMode::SyncAll),
        SyncPolicy::Periodic => None,
    };
    let mut batch = s.db.batch().durability(durability);
    let mut ok = true;
    let mut buf = BytesMut::new();
    for op in jobs.iter().flat_map(|j| &j.ops) {
        match op {
            Op::PutSession(id, rec) => {
                buf.clear();
                record::put_session(rec, &mut buf);
                batch.insert(&s.sessions, &id.as_bytes()[..], &buf[..]);
            }
            Op::DelSession(id) => {
                ok &= commit(std::mem::replace(
                    &mut batch,
                    s.db.batch().durability(durability),
                ));
                batch.remove(&s.sessions, &id.as_bytes()[..]);
                for space in [&s.queue, &s.rel] {
                    for item in space.prefix(key(id, &[])) {
                        if let Ok(k) = item.key() {
                            batch.remove(space, k);
                        }
                    }
                }
            }
            Op::PutEntry(id, seq, e) => {
                buf.clear();
                record::put_entry(e, &mut buf);
                batch.insert(&s.queue, key(id, &seq.to_be_bytes()), &buf[..]);
            }
            Op::DelEntry(id, seq) => batch.remove(&s.queue, key(id, &seq.to_be_bytes())),
            Op::PutRel(id, pid) => batch.insert(&s.rel, key(id, &pid.to_be_bytes()), &[][..]),
            Op::DelRel(id, pid) => batch.remove(&s.rel, key(id, &pid.to_be_bytes())),
            Op::PutRetained(m) => {
                buf.clear();
                record::put_message(m, &mut buf);
                batch.insert(&s.retained, m.topic.as_str().as_bytes(), &buf[..]);
            }
            Op::DelRetained(topic) => batch.remove(&s.retained, &topic.as_bytes()[..]),
        }
    }
    ok & commit(batch)
}

fn commit(batch: fjall::OwnedWriteBatch) -> bool {
    if batch.is_empty() {
        return true;
    }
    match batch.commit() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "persistence store: commit failed");
            false
        }
    }
}
