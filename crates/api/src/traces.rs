//! Hook trace endpoints: start, list, show and stop traces, and follow one as a server-sent event
//! stream (`text/event-stream`), which `hookmq ctl trace follow` and the dashboard read.
//!
//! The stream sends the trace's backlog, then each new record as one `data:` line with the
//! record's sequence number as its `id:` (a reconnecting client's `Last-Event-ID` skips what it
//! has), an `event: lost` with `{"lost": n}` when this follower fell behind and lost records,
//! and ends after the trace's `end` record. Followers never slow the broker: the channel behind
//! them is bounded.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use hookmq_broker::units::HumanDuration;
use hookmq_hooks::trace::{Trace, TraceFilter, TraceRecord, TraceSpec};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{ApiError, ApiState};

/// Default records per second of a trace started without `max_rate`.
const DEFAULT_RATE: u32 = 100;
/// Default duration of a trace started without `duration`.
const DEFAULT_DURATION: Duration = Duration::from_secs(300);

/// The trace routes.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/traces", get(list).post(start))
        .route("/api/v1/traces/{id}", get(show).delete(stop))
        .route("/api/v1/traces/{id}/stream", get(follow))
}

/// Body of `POST /api/v1/traces`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartBody {
    clientid: Option<String>,
    username: Option<String>,
    topic: Option<String>,
    #[serde(default)]
    points: Vec<String>,
    /// Record the selected clients' packets; default: only when no points are given.
    packets: Option<bool>,
    max_rate: Option<u32>,
    /// Seconds, or text such as `90s`, `10m`.
    duration: Option<HumanDuration>,
}

async fn start(
    State(s): State<ApiState>,
    Json(b): Json<StartBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let filter = TraceFilter::parse(
        b.clientid,
        b.username,
        b.topic,
        &b.points,
        b.packets.unwrap_or(b.points.is_empty()),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let spec = TraceSpec {
        filter,
        max_rate: b.max_rate.unwrap_or(DEFAULT_RATE),
        duration: b.duration.map_or(DEFAULT_DURATION, |d| d.0),
    };
    let trace = s
        .broker
        .hooks()
        .tracer()
        .start(spec)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    tracing::info!(id = trace.id, selection = %trace.spec.filter.describe(), "hook trace started");
    Ok((StatusCode::CREATED, Json(trace.info().to_json())))
}

async fn list(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s
        .broker
        .hooks()
        .tracer()
        .list()
        .iter()
        .map(|t| t.to_json())
        .collect();
    Json(json!({ "data": list }))
}

fn find(s: &ApiState, id: u64) -> Result<Arc<Trace>, ApiError> {
    s.broker
        .hooks()
        .tracer()
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no running trace {id}")))
}

async fn show(State(s): State<ApiState>, Path(id): Path<u64>) -> Result<Json<Value>, ApiError> {
    Ok(Json(find(&s, id)?.info().to_json()))
}

async fn stop(State(s): State<ApiState>, Path(id): Path<u64>) -> Result<Json<Value>, ApiError> {
    let trace = s
        .broker
        .hooks()
        .tracer()
        .stop(id)
        .ok_or_else(|| ApiError::not_found(format!("no running trace {id}")))?;
    tracing::info!(id, "hook trace stopped");
    Ok(Json(trace.info().to_json()))
}

async fn follow(
    State(s): State<ApiState>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let trace = find(&s, id)?;
    let after: u64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (backlog, rx) = trace.follow();
    let backlog: Vec<Arc<TraceRecord>> = backlog.into_iter().filter(|r| r.seq > after).collect();
    Ok(Sse::new(records(backlog, rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Where a follower is: draining the backlog, then live, then done after the end record.
struct Follower {
    backlog: std::vec::IntoIter<Arc<TraceRecord>>,
    rx: broadcast::Receiver<Arc<TraceRecord>>,
    last: u64,
    done: bool,
}

fn sse(record: &TraceRecord) -> SseEvent {
    SseEvent::default()
        .id(record.seq.to_string())
        .data(&record.line)
}

fn records(
    backlog: Vec<Arc<TraceRecord>>,
    rx: broadcast::Receiver<Arc<TraceRecord>>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let f = Follower {
        backlog: backlog.into_iter(),
        rx,
        last: 0,
        done: false,
    };
    stream::unfold(f, |mut f| async move {
        if f.done {
            return None;
        }
        if let Some(r) = f.backlog.next() {
            f.last = r.seq;
            f.done = r.end;
            return Some((Ok(sse(&r)), f));
        }
        loop {
            match f.rx.recv().await {
                Ok(r) if r.seq <= f.last => continue,
                Ok(r) => {
                    f.last = r.seq;
                    f.done = r.end;
                    return Some((Ok(sse(&r)), f));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let ev = SseEvent::default()
                        .event("lost")
                        .data(json!({ "lost": n }).to_string());
                    return Some((Ok(ev), f));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
