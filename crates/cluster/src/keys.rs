//! The cluster's key-value buckets and how names become keys in them.
//!
//! * `hookmq_<cluster>_clients`: client id → registry entry (owner node, its incarnation, the
//!   session record). Written with compare-and-set on the key's revision.
//! * `hookmq_<cluster>_nodes`: node → lease (incarnation, figures). Entries older than the lease
//!   are dropped by JetStream itself (`max_age`), so a dead node's key disappears.
//! * `hookmq_<cluster>_retained`: topic → retained message (an envelope).
//!
//! Keys may only use `[-/_=.a-zA-Z0-9]`, while client ids, node names and topics may hold any
//! UTF-8, so a key is the URL-safe base64 of the name; names too long for a subject become a
//! SHA-256 digest (the full name is inside the value and checked on read).

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use hookmq_broker::cluster::SessionRecord;

use crate::StartError;
use crate::config::ClusterConfig;
use crate::link::Link;

/// Names up to this many bytes are keys in base64; longer ones are digests.
const MAX_PLAIN: usize = 600;

/// The key of a name: `b<base64>` or `h<sha256 hex>`.
fn key_of(name: &str) -> String {
    if name.len() <= MAX_PLAIN {
        let mut k = String::with_capacity(1 + name.len() * 4 / 3 + 3);
        k.push('b');
        URL_SAFE_NO_PAD.encode_string(name.as_bytes(), &mut k);
        k
    } else {
        let d = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
        let mut k = String::with_capacity(65);
        k.push('h');
        for b in d.as_ref() {
            k.push_str(&format!("{b:02x}"));
        }
        k
    }
}

/// The name of a `b…` key; `None` for digests (their name is in the value).
pub(crate) fn name_of(key: &str) -> Option<String> {
    let b64 = key.strip_prefix('b')?;
    String::from_utf8(URL_SAFE_NO_PAD.decode(b64).ok()?).ok()
}

/// The key of a client id in the registry.
pub(crate) fn client_key(clientid: &str) -> String {
    key_of(clientid)
}

/// The key of a topic in the retained bucket.
pub(crate) fn topic_key(topic: &str) -> String {
    key_of(topic)
}

/// The key (and subject token) of a node name.
pub(crate) fn node_key(node: &str) -> String {
    key_of(node)
}

/// The three buckets of a cluster.
pub(crate) struct Buckets {
    pub(crate) clients: kv::Store,
    pub(crate) nodes: kv::Store,
    pub(crate) retained: kv::Store,
}

impl Buckets {
    /// Opens the buckets, making them if they do not exist.
    pub(crate) async fn open(link: &Link, config: &ClusterConfig) -> Result<Buckets, StartError> {
        let js = jetstream::context::ContextBuilder::new()
            .timeout(config.request_timeout.0)
            .build(link.control.clone());
        let name = |what: &str| format!("hookmq_{}_{what}", config.name);
        let base = kv::Config {
            history: 1,
            num_replicas: config.replicas,
            ..Default::default()
        };
        let clients = open_bucket(
            &js,
            kv::Config {
                bucket: name("clients"),
                description: "hookmq client-id registry".into(),
                ..base.clone()
            },
        )
        .await?;
        let nodes = open_bucket(
            &js,
            kv::Config {
                bucket: name("nodes"),
                description: "hookmq node leases".into(),
                max_age: config.lease.0,
                ..base.clone()
            },
        )
        .await?;
        let retained = open_bucket(
            &js,
            kv::Config {
                bucket: name("retained"),
                description: "hookmq retained messages".into(),
                ..base
            },
        )
        .await?;
        Ok(Buckets {
            clients,
            nodes,
            retained,
        })
    }
}

/// How many values a bucket holds now, asked of the server: the store's own `status()` answers
/// from the stream info cached when the bucket was opened.
pub(crate) async fn count(kv: &kv::Store) -> Result<u64, String> {
    kv.stream
        .get_info()
        .await
        .map(|info| info.state.messages)
        .map_err(|e| e.to_string())
}

/// Opens a bucket, making its stream if needed. The stream is made directly, with the settings
/// a key-value bucket has, because the client's own bucket creation first reads account
/// details in a shape NATS 2.9 does not send.
async fn open_bucket(js: &jetstream::Context, config: kv::Config) -> Result<kv::Store, StartError> {
    let bucket = config.bucket.clone();
    let stream = jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(config.description.clone()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: config.history.max(1),
        max_age: config.max_age,
        storage: jetstream::stream::StorageType::File,
        num_replicas: config.num_replicas.max(1),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        ..Default::default()
    };
    let mut last = String::new();
    // Several nodes starting at once race to make the stream, and a new NATS cluster may still
    // be electing its JetStream leader: keep trying for a while.
    for _ in 0..50 {
        if let Ok(store) = js.get_key_value(bucket.as_str()).await {
            return Ok(store);
        }
        match js.get_or_create_stream(stream.clone()).await {
            Ok(_) => continue,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(StartError::Bucket {
        bucket,
        message: last,
    })
}

/// A registry entry: who holds a client id's session, and the session's record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The holding node's key.
    pub(crate) owner: String,
    /// The holding node's incarnation.
    pub(crate) incarnation: u64,
    /// The session as last recorded.
    pub(crate) record: SessionRecord,
}

const ENTRY_VERSION: u8 = 1;

impl Entry {
    pub(crate) fn encode(&self) -> Bytes {
        let record = self.record.encode();
        let mut out = BytesMut::with_capacity(12 + self.owner.len() + record.len());
        out.put_u8(ENTRY_VERSION);
        out.put_u16(self.owner.len() as u16);
        out.put_slice(self.owner.as_bytes());
        out.put_u64(self.incarnation);
        out.put_slice(&record);
        out.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Option<Entry> {
        if b.remaining() < 3 || b.get_u8() != ENTRY_VERSION {
            return None;
        }
        let n = usize::from(b.get_u16());
        if b.remaining() < n + 8 {
            return None;
        }
        let owner = String::from_utf8(b.split_to(n).to_vec()).ok()?;
        let incarnation = b.get_u64();
        let record = SessionRecord::decode(b).ok()?;
        Some(Entry {
            owner,
            incarnation,
            record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_valid_and_reversible_for_short_names() {
        for name in ["c1", "a b.c/$%*>", "ü", ""] {
            let k = client_key(name);
            assert!(
                k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=./".contains(c)),
                "{k}"
            );
            assert_eq!(name_of(&k).as_deref(), Some(name));
        }
        let long = "x".repeat(MAX_PLAIN + 1);
        let k = client_key(&long);
        assert_eq!(k.len(), 65);
        assert_eq!(name_of(&k), None);
        assert_ne!(k, client_key(&"x".repeat(MAX_PLAIN + 2)));
    }
}
