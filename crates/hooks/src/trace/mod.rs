//! The hook trace: records, for a selection of clients, topics and hook points, every hook call
//! (point, handler, the event as the handler received it, its answer, the chain's decision, the
//! latency) and the clients' MQTT packets, as JSON lines (the format is in `docs/testing-hooks.md`;
//! `hookmq hooks replay` reads the same lines).
//!
//! Safe in production by construction: with no trace running, a hook call pays one relaxed atomic
//! load ([`Tracer::on`]); a running trace checks its filter first and then a token bucket of
//! `max_rate` records per second, so nothing beyond that rate is ever serialized (those calls are
//! counted as dropped), and every trace ends by itself after its duration. Followers (the API's
//! stream, `hookmq ctl trace follow`, the dashboard) read a bounded backlog and then a bounded
//! broadcast channel; a follower that falls behind loses records, which it is told, and never
//! slows the broker.

mod auth_json;
mod fields;
mod filter;
pub mod json;
mod packet;
mod tap;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::Instant;

pub use filter::TraceFilter;
pub(crate) use tap::{TracedHandler, decision};

use crate::message::now_ms;

/// Records a trace keeps for followers that join late.
const BACKLOG: usize = 1000;
/// Records a follower may fall behind before it loses some.
const CHANNEL: usize = 1024;
/// Traces that may run at once.
const MAX_TRACES: usize = 16;
/// The longest a trace may run.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Why a trace could not start.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The topic filter is malformed.
    #[error("bad topic filter {0:?}: {1}")]
    Topic(String, #[source] hookmq_codec::TopicError),
    /// No hook point of that name.
    #[error("unknown hook point {0:?}")]
    Point(String),
    /// Rate or duration out of range.
    #[error("{0}")]
    Limit(String),
    /// Too many traces running.
    #[error("{MAX_TRACES} traces are running already; stop one first")]
    TooMany,
}

/// What to trace and how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSpec {
    /// The selection.
    pub filter: TraceFilter,
    /// Records per second at most; calls beyond it are counted as dropped, never serialized.
    pub max_rate: u32,
    /// How long the trace runs before it stops by itself.
    pub duration: Duration,
}

impl TraceSpec {
    /// Checks the limits: a rate of 1..=100 000 per second and a duration of 1 s to a day.
    pub fn validate(&self) -> Result<(), TraceError> {
        if !(1..=100_000).contains(&self.max_rate) {
            return Err(TraceError::Limit(format!(
                "max_rate must be 1..=100000 records per second, not {}",
                self.max_rate
            )));
        }
        if self.duration < Duration::from_secs(1) || self.duration > MAX_DURATION {
            return Err(TraceError::Limit(format!(
                "duration must be between 1s and 24h, not {:?}",
                self.duration
            )));
        }
        Ok(())
    }
}

/// One record as followers receive it: its sequence number and its JSON line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRecord {
    /// Position in the trace, from 1.
    pub seq: u64,
    /// The record as one line of JSON (no newline).
    pub line: String,
    /// The last record of a trace that ended (`{"type":"end",...}`).
    pub end: bool,
}

/// A token bucket of `rate` tokens per second holding at most `rate` tokens.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One running (or ended) trace.
pub struct Trace {
    /// Its id, unique in this broker.
    pub id: u64,
    /// What it records.
    pub spec: TraceSpec,
    /// Milliseconds since the epoch when it started.
    pub started_ms: u64,
    ends: Instant,
    bucket: Mutex<Bucket>,
    recorded: AtomicU64,
    dropped: AtomicU64,
    ended: AtomicBool,
    /// The backlog; records are pushed and broadcast under this lock so a new follower sees
    /// each record exactly once.
    backlog: Mutex<VecDeque<Arc<TraceRecord>>>,
    tx: broadcast::Sender<Arc<TraceRecord>>,
}

/// A snapshot of a trace for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceInfo {
    /// Id.
    pub id: u64,
    /// What it records.
    pub spec: TraceSpec,
    /// Start, milliseconds since the epoch.
    pub started_ms: u64,
    /// Seconds left (0 once ended).
    pub remaining_secs: u64,
    /// Records written.
    pub recorded: u64,
    /// Calls and packets selected but not recorded because of the rate limit.
    pub dropped: u64,
    /// Whether it has ended.
    pub ended: bool,
}

impl TraceInfo {
    /// As JSON, for the API.
    pub fn to_json(&self) -> Value {
        let f = &self.spec.filter;
        json!({
            "id": self.id,
            "clientid": f.clientid,
            "username": f.username,
            "topic": f.topic.as_ref().map(|t| t.as_str()),
            "points": f.points.iter().map(|p| p.name()).collect::<Vec<_>>(),
            "packets": f.packets,
            "max_rate": self.spec.max_rate,
            "duration_secs": self.spec.duration.as_secs(),
            "started_at": self.started_ms,
            "remaining_secs": self.remaining_secs,
            "recorded": self.recorded,
            "dropped": self.dropped,
            "ended": self.ended,
            "selection": f.describe(),
        })
    }
}

impl Trace {
    /// Takes a token if the rate allows one more record now; counts a drop otherwise.
    fn admit(&self) -> bool {
        if self.ended.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= self.ends {
            return false;
        }
        let rate = f64::from(self.spec.max_rate);
        let mut b = self.bucket.lock();
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * rate;
        b.tokens = (b.tokens + refill).min(rate);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            drop(b);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Numbers the record, keeps it in the backlog and hands it to the followers.
    fn publish(&self, mut body: serde_json::Map<String, Value>, end: bool) {
        let mut backlog = self.backlog.lock();
        let seq = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
        let mut head = serde_json::Map::with_capacity(body.len() + 3);
        head.insert("trace".into(), json!(self.id));
        head.insert("seq".into(), json!(seq));
        head.insert("ts".into(), json!(now_ms()));
        head.append(&mut body);
        let record = Arc::new(TraceRecord {
            seq,
            line: Value::Object(head).to_string(),
            end,
        });
        if backlog.len() == BACKLOG {
            backlog.pop_front();
        }
        backlog.push_back(record.clone());
        let _ = self.tx.send(record);
    }

    /// The records kept so far and a receiver for the ones to come (no gap, no repeat).
    pub fn follow(&self) -> (Vec<Arc<TraceRecord>>, broadcast::Receiver<Arc<TraceRecord>>) {
        let backlog = self.backlog.lock();
        (backlog.iter().cloned().collect(), self.tx.subscribe())
    }

    /// Whether it has ended.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    /// Ends the trace with a final `end` record saying why.
    fn end(&self, why: &str) {
        if self.ended.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut body = serde_json::Map::new();
        body.insert("type".into(), json!("end"));
        body.insert("reason".into(), json!(why));
        body.insert(
            "dropped".into(),
            json!(self.dropped.load(Ordering::Relaxed)),
        );
        self.publish(body, true);
    }

    /// A snapshot.
    pub fn info(&self) -> TraceInfo {
        TraceInfo {
            id: self.id,
            spec: self.spec.clone(),
            started_ms: self.started_ms,
            remaining_secs: if self.ended() {
                0
            } else {
                self.ends
                    .saturating_duration_since(Instant::now())
                    .as_secs()
            },
            recorded: self.recorded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            ended: self.ended(),
        }
    }
}

/// The traces of one broker, owned by its [`crate::Hooks`].
pub struct Tracer {
    /// Whether any trace runs: the only thing the hot path reads when none does.
    on: AtomicBool,
    traces: ArcSwap<Vec<Arc<Trace>>>,
    next_id: AtomicU64,
    write: Mutex<()>,
}

impl Default for Tracer {
    fn default() -> Self {
        Tracer {
            on: AtomicBool::new(false),
            traces: ArcSwap::from_pointee(Vec::new()),
            next_id: AtomicU64::new(1),
            write: Mutex::new(()),
        }
    }
}

impl Tracer {
    /// Whether any trace runs. Check this before anything else: it is the whole cost of tracing
    /// while no trace runs.
    #[inline]
    pub fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Starts a trace; it ends by itself after its duration (a timer on the current runtime).
    pub fn start(self: &Arc<Self>, spec: TraceSpec) -> Result<Arc<Trace>, TraceError> {
        spec.validate()?;
        let _w = self.write.lock();
        let current = self.traces.load_full();
        if current.len() >= MAX_TRACES {
            return Err(TraceError::TooMany);
        }
        let now = Instant::now();
        let trace = Arc::new(Trace {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            started_ms: now_ms(),
            ends: now + spec.duration,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(spec.max_rate),
                at: now,
            }),
            spec,
            recorded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            backlog: Mutex::new(VecDeque::new()),
            tx: broadcast::channel(CHANNEL).0,
        });
        let mut next = (*current).clone();
        next.push(trace.clone());
        self.install(next);
        let (tracer, id, ends) = (Arc::downgrade(self), trace.id, trace.ends);
        tokio::spawn(async move {
            tokio::time::sleep_until(ends).await;
            if let Some(tracer) = tracer.upgrade() {
                tracer.finish(id, "expired");
            }
        });
        Ok(trace)
    }

    /// Stops a running trace; `None` if there is none with this id.
    pub fn stop(&self, id: u64) -> Option<Arc<Trace>> {
        self.finish(id, "stopped")
    }

    fn finish(&self, id: u64, why: &str) -> Option<Arc<Trace>> {
        let _w = self.write.lock();
        let current = self.traces.load_full();
        let trace = current.iter().find(|t| t.id == id)?.clone();
        self.install(current.iter().filter(|t| t.id != id).cloned().collect());
        trace.end(why);
        Some(trace)
    }

    fn install(&self, traces: Vec<Arc<Trace>>) {
        self.on.store(!traces.is_empty(), Ordering::Relaxed);
        self.traces.store(Arc::new(traces));
    }

    /// A running trace.
    pub fn get(&self, id: u64) -> Option<Arc<Trace>> {
        self.traces.load().iter().find(|t| t.id == id).cloned()
    }

    /// The running traces.
    pub fn list(&self) -> Vec<TraceInfo> {
        self.traces.load().iter().map(|t| t.info()).collect()
    }

    /// Records one MQTT packet of a client, if a trace selects it. `packet` builds the packet's
    /// JSON only when a trace admits the record.
    pub fn packet(
        &self,
        clientid: &str,
        username: Option<&str>,
        topic: Option<&str>,
        incoming: bool,
        packet: impl Fn() -> Value,
    ) {
        for trace in self.traces.load().iter() {
            if trace.spec.filter.matches_packet(clientid, username, topic) && trace.admit() {
                let mut body = serde_json::Map::new();
                body.insert("type".into(), json!("packet"));
                body.insert(
                    "direction".into(),
                    json!(if incoming { "in" } else { "out" }),
                );
                body.insert("clientid".into(), json!(clientid));
                body.insert("packet".into(), packet());
                trace.publish(body, false);
            }
        }
    }

    /// The traces selecting a hook call with this event.
    fn selecting(&self, event: &crate::Event) -> Vec<Arc<Trace>> {
        self.traces
            .load()
            .iter()
            .filter(|t| t.spec.filter.matches_event(event))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests;
