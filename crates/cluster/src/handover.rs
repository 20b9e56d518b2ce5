//! Node-to-node requests on NATS: a takeover asks the node holding a session to close the
//! client's connection and hand the session over (or discard it, for clean start); a clients
//! query asks every node for its clients. Each node answers on subjects of its own key.
//!
//! A session larger than one NATS message (its queue can be) is sent in chunks: the first
//! answer carries the total size and the first chunk, and the taker fetches the rest by offset
//! under a token, which the giver keeps for a minute.
//!
//! Requests come from anyone who can publish on the cluster's subjects, so they are decoded
//! defensively; a malformed one gets no answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Message as NatsMessage, RequestErrorKind};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::StreamExt;
use hookmq_broker::cluster::ClusterClients;
use hookmq_broker::{ClientView, Handover};
use parking_lot::Mutex;

use crate::{Inner, Stats};

/// How long a node waits for a session's connection to close on takeover (the broker's own
/// bound), added to the request timeout.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long the rest of a chunked session is kept for its taker.
const CHUNK_TTL: Duration = Duration::from_secs(60);

/// Sessions being handed over in chunks, by token.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    map: Mutex<HashMap<u64, (Bytes, Instant)>>,
}

/// What the holder of a session answered.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Its session, as bytes.
    Moved(Bytes),
    /// Discarded there (clean start).
    Discarded,
    /// It has no session of that client id.
    NotHere,
    /// Nobody answers on its subject: its NATS connection is gone.
    Gone,
    /// It did not answer in time.
    Unresponsive,
}

/// Starts answering takeovers, chunk fetches and clients queries.
pub(crate) async fn start(inner: &Arc<Inner>) {
    for (what, shared) in [("takeover", false), ("chunk", false), ("clients", true)] {
        let subject = if shared {
            inner.subjects.all_nodes(what)
        } else {
            inner.subjects.node(&inner.me.key, what)
        };
        let mut sub = match inner.link.control.subscribe(subject.clone()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%subject, error = %e, "cannot subscribe");
                continue;
            }
        };
        let inner = inner.clone();
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                let inner = inner.clone();
                // Each answer runs on its own: a takeover waits for a connection to close.
                tokio::spawn(async move {
                    let answer = match what {
                        "takeover" => answer_takeover(&inner, msg.payload.clone()).await,
                        "chunk" => answer_chunk(&inner, msg.payload.clone()),
                        _ => Some(answer_clients(&inner)),
                    };
                    reply(&inner, &msg, answer).await;
                });
            }
        });
    }
}

async fn reply(inner: &Inner, msg: &NatsMessage, answer: Option<Bytes>) {
    if let (Some(to), Some(body)) = (&msg.reply, answer)
        && let Err(e) = inner.link.control.publish(to.clone(), body).await
    {
        tracing::debug!(error = %e, "cannot answer a cluster request");
    }
}

/// The largest chunk of a session in one answer: well inside the server's payload limit.
fn chunk_size(inner: &Inner) -> usize {
    (inner.link.control.server_info().max_payload / 2).clamp(4096, 512 * 1024)
}

async fn answer_takeover(inner: &Arc<Inner>, mut body: Bytes) -> Option<Bytes> {
    if body.remaining() < 4 || body.get_u8() != 1 {
        return None;
    }
    let discard = body.get_u8() & 1 != 0;
    let n = usize::from(body.get_u16());
    if body.remaining() != n {
        return None;
    }
    let clientid = ByteString::try_from(body).ok()?;
    // From now on the other node writes this client's entry.
    inner.registry.forget(&clientid);
    if !discard {
        // The taker's interest reached NATS before it asked (`routing::settle` there); what
        // was published before that came only here. A round trip on this node's data
        // connection makes sure all of it has arrived and is routed into the session before
        // the session is snapshot below, instead of arriving after it left (and being dropped).
        crate::routing::settle(inner).await;
        tokio::task::yield_now().await;
    }
    let mut out = BytesMut::new();
    match inner.broker.handover(&clientid, discard).await {
        Handover::NotHere => out.put_u8(0),
        Handover::Discarded => out.put_u8(1),
        Handover::Moved(state) => {
            Stats::inc(&inner.stats.takeovers_out);
            tracing::debug!(%clientid, bytes = state.len(), "session handed to another node");
            out.put_u8(2);
            let chunk = chunk_size(inner);
            let token = if state.len() > chunk {
                let token = rand::random::<u64>() | 1;
                let mut map = inner.handovers.map.lock();
                map.retain(|_, (_, at)| at.elapsed() < CHUNK_TTL);
                map.insert(token, (state.clone(), Instant::now()));
                token
            } else {
                0
            };
            out.put_u64(token);
            out.put_u32(state.len() as u32);
            out.put_slice(&state[..state.len().min(chunk)]);
        }
    }
    Some(out.freeze())
}

fn answer_chunk(inner: &Inner, mut body: Bytes) -> Option<Bytes> {
    if body.remaining() != 12 {
        return None;
    }
    let token = body.get_u64();
    let offset = body.get_u32() as usize;
    let map = inner.handovers.map.lock();
    let (state, _) = map.get(&token)?;
    let end = state.len().min(offset.saturating_add(chunk_size(inner)));
    (offset < end).then(|| state.slice(offset..end))
}

/// Asks node `owner` for the session of `clientid`. No answer because nobody listens is
/// retried until the request timeout (the owner may be reconnecting to another NATS server);
/// then the owner is taken as gone.
pub(crate) async fn request(inner: &Inner, owner: &str, clientid: &str, discard: bool) -> Answer {
    let subject = inner.subjects.node(owner, "takeover");
    let mut body = BytesMut::with_capacity(4 + clientid.len());
    body.put_u8(1);
    body.put_u8(u8::from(discard));
    body.put_u16(clientid.len().min(usize::from(u16::MAX)) as u16);
    body.put_slice(clientid.as_bytes());
    let body = body.freeze();
    let deadline = Instant::now() + inner.config.request_timeout.0;
    let answer = loop {
        let req = async_nats::Request::new()
            .payload(body.clone())
            .timeout(Some(inner.config.request_timeout.0 + CLOSE_WAIT));
        match inner.link.control.send_request(subject.clone(), req).await {
            Ok(msg) => break msg.payload,
            Err(e) if e.kind() == RequestErrorKind::NoResponders => {
                if Instant::now() >= deadline {
                    return Answer::Gone;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "takeover request failed");
                return Answer::Unresponsive;
            }
        }
    };
    read_answer(inner, owner, answer).await
}

async fn read_answer(inner: &Inner, owner: &str, mut a: Bytes) -> Answer {
    match a.first() {
        Some(0) => return Answer::NotHere,
        Some(1) => return Answer::Discarded,
        Some(2) if a.len() >= 13 => {}
        _ => return Answer::Unresponsive,
    }
    a.advance(1);
    let token = a.get_u64();
    let total = a.get_u32() as usize;
    if token == 0 || a.len() >= total {
        return Answer::Moved(a);
    }
    let mut state = BytesMut::with_capacity(total);
    state.extend_from_slice(&a);
    let subject = inner.subjects.node(owner, "chunk");
    while state.len() < total {
        let mut req = BytesMut::with_capacity(12);
        req.put_u64(token);
        req.put_u32(state.len() as u32);
        match inner
            .link
            .control
            .request(subject.clone(), req.freeze())
            .await
        {
            Ok(msg) if !msg.payload.is_empty() => state.extend_from_slice(&msg.payload),
            _ => return Answer::Unresponsive,
        }
    }
    Answer::Moved(state.freeze())
}

/// A client of some node, as the clients query carries it.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireClient {
    clientid: String,
    username: Option<String>,
    connected: bool,
    peer: std::net::SocketAddr,
    proto_ver: u8,
    expiry_interval: u32,
    subscriptions: usize,
    queued: usize,
    inflight: usize,
    created_at_ms: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct WireClients {
    node: String,
    clients: Vec<WireClient>,
}

fn answer_clients(inner: &Inner) -> Bytes {
    let clients = inner
        .broker
        .clients()
        .into_iter()
        .map(|c| WireClient {
            clientid: c.clientid,
            username: c.username,
            connected: c.connected,
            peer: c.peer,
            proto_ver: c.proto_ver,
            expiry_interval: c.expiry_interval,
            subscriptions: c.subscriptions,
            queued: c.queued,
            inflight: c.inflight,
            created_at_ms: c.created_at_ms,
        })
        .collect();
    let wire = WireClients {
        node: inner.me.name.clone(),
        clients,
    };
    Bytes::from(serde_json::to_vec(&wire).unwrap_or_default())
}

/// Asks every node for its clients and waits for the live members' answers (at most the
/// request timeout).
pub(crate) async fn clients(inner: Arc<Inner>) -> ClusterClients {
    let mut expected: Vec<String> = inner
        .members
        .live()
        .iter()
        .map(|k| inner.members.name(k))
        .collect();
    expected.push(inner.me.name.clone());
    let inbox = inner.link.control.new_inbox();
    let mut out = ClusterClients::default();
    let Ok(mut sub) = inner.link.control.subscribe(inbox.clone()).await else {
        out.missing = expected;
        return out;
    };
    if inner
        .link
        .control
        .publish_with_reply(inner.subjects.all_nodes("clients"), inbox, Bytes::new())
        .await
        .is_err()
    {
        out.missing = expected;
        return out;
    }
    let deadline = tokio::time::Instant::now() + inner.config.request_timeout.0;
    let mut answered = Vec::new();
    while answered.len() < expected.len() {
        let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await else {
            break;
        };
        let Ok(wire) = serde_json::from_slice::<WireClients>(&msg.payload) else {
            continue;
        };
        for c in wire.clients {
            out.clients.push((
                wire.node.clone(),
                ClientView {
                    clientid: c.clientid,
                    username: c.username,
                    connected: c.connected,
                    peer: c.peer,
                    proto_ver: c.proto_ver,
                    expiry_interval: c.expiry_interval,
                    subscriptions: c.subscriptions,
                    queued: c.queued,
                    inflight: c.inflight,
                    created_at_ms: c.created_at_ms,
                },
            ));
        }
        answered.push(wire.node);
    }
    out.missing = expected
        .into_iter()
        .filter(|n| !answered.contains(n))
        .collect();
    out.clients
        .sort_by(|a, b| (&a.1.clientid, &a.0).cmp(&(&b.1.clientid, &b.0)));
    out
}
