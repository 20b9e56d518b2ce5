//! Retained messages across the cluster: the retained bucket holds the last retained message of
//! each topic (as an envelope), and every node mirrors the whole bucket into its broker's own
//! retained store, so a subscription on any node finds them without a round trip. A node writes
//! what its publishers retain (in order, through one writer task) and applies what the bucket
//! says, its own writes included, which brings every node to the bucket's order. `$SYS` topics
//! stay local.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{Entry, Operation};
use bytestring::ByteString;
use futures_util::StreamExt;
use hookmq_hooks::Message;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::{Inner, StartError, envelope, keys};

/// A change this node makes.
pub(crate) enum Change {
    Set(Arc<Message>),
    Delete(ByteString),
}

/// Loads the bucket into the broker (bounded by the request timeout), then follows it; starts
/// the writer.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    mut rx: mpsc::UnboundedReceiver<Change>,
) -> Result<(), StartError> {
    let writer = inner.clone();
    tokio::spawn(async move {
        while let Some(change) = rx.recv().await {
            write(&writer, change).await;
        }
    });
    let (ready_tx, ready) = oneshot::channel();
    tokio::spawn(follow(inner.clone(), ready_tx));
    if tokio::time::timeout(inner.config.request_timeout.0, ready)
        .await
        .is_err()
    {
        tracing::warn!("retained messages of the cluster not all loaded at start");
    }
    Ok(())
}

/// Queues a retained message (or, with an empty payload, a clear) for the bucket.
pub(crate) fn store(inner: &Inner, message: Arc<Message>) {
    let _ = inner.retained.send(Change::Set(message));
}

/// Queues an operator's delete for the bucket.
pub(crate) fn delete(inner: &Inner, topic: ByteString) {
    let _ = inner.retained.send(Change::Delete(topic));
}

async fn write(inner: &Inner, change: Change) {
    let kv = &inner.buckets.retained;
    let result = match change {
        Change::Set(m) if m.payload.is_empty() => kv
            .delete(keys::topic_key(m.topic.as_str()).as_str())
            .await
            .map_err(|e| e.to_string()),
        Change::Set(m) => kv
            .put(
                keys::topic_key(m.topic.as_str()).as_str(),
                envelope::encode(&m),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Change::Delete(topic) => kv
            .delete(keys::topic_key(&topic).as_str())
            .await
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "retained message not stored in the cluster");
    }
}

/// Applies the bucket to the broker until shutdown, re-watching after errors (a new watch
/// replays the last value of every key, which is harmless).
async fn follow(inner: Arc<Inner>, ready: oneshot::Sender<()>) {
    let mut ready = Some(ready);
    // Digest keys cannot be read back; their topics are remembered from the values.
    let topics: Mutex<HashMap<String, ByteString>> = Mutex::new(HashMap::new());
    loop {
        let kv = &inner.buckets.retained;
        match kv.watch_with_history(">").await {
            Ok(mut watch) => {
                if crate::keys::count(kv).await.unwrap_or(1) == 0
                    && let Some(r) = ready.take()
                {
                    let _ = r.send(());
                }
                loop {
                    let next = tokio::select! {
                        _ = inner.shutdown.cancelled() => return,
                        e = watch.next() => e,
                    };
                    match next {
                        Some(Ok(e)) => {
                            let caught_up = e.delta == 0;
                            apply(&inner, &topics, e);
                            if caught_up && let Some(r) = ready.take() {
                                let _ = r.send(());
                            }
                        }
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "retained watch failed");
                            break;
                        }
                        None => break,
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot watch retained messages"),
        }
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

fn apply(inner: &Inner, topics: &Mutex<HashMap<String, ByteString>>, e: Entry) {
    match e.operation {
        Operation::Put => match envelope::decode(e.value) {
            Ok(m) if keys::topic_key(m.topic.as_str()) == e.key && !m.is_sys() => {
                if e.key.starts_with('h') {
                    topics
                        .lock()
                        .insert(e.key.clone(), m.topic.as_bytestring().clone());
                }
                let topic = m.topic.as_bytestring().clone();
                inner.broker.retained_remote(&topic, Some(m));
            }
            // A value under another topic's key, or a $SYS topic: not ours to apply.
            Ok(_) => tracing::debug!(key = %e.key, "ignoring a misplaced retained message"),
            Err(err) => {
                tracing::debug!(key = %e.key, error = %err, "ignoring a malformed retained message")
            }
        },
        Operation::Delete | Operation::Purge => {
            let topic = keys::name_of(&e.key)
                .map(ByteString::from)
                .or_else(|| topics.lock().remove(&e.key));
            if let Some(topic) = topic {
                inner.broker.retained_remote(&topic, None);
            }
        }
    }
}
