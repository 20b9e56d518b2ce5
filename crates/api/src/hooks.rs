//! Hook endpoints (registered handlers, their metrics and circuit breakers), the runtime log
//! level, and Prometheus `/metrics`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use hookmq_hooks::{BreakerStatus, HandlerInfo, Hooks, PointStats};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiState};

fn stats_json(s: &PointStats) -> Value {
    json!({
        "hook": s.point.map(|p| p.name()),
        "calls": s.calls,
        "ignored": s.ignored,
        "continued": s.continued,
        "stopped": s.stopped,
        "failed": s.failed,
        "timed_out": s.timed_out,
        "dropped": s.dropped,
        "values_ignored": s.values_ignored,
        "skipped": s.skipped,
        "latency_avg_us": s.latency_sum_us.checked_div(s.calls).unwrap_or(0),
        "latency_buckets": s.latency_buckets,
    })
}

/// A registered handler as JSON.
pub(crate) fn handler_json(h: &HandlerInfo) -> Value {
    json!({
        "name": h.spec.name,
        "driver": h.spec.driver,
        "priority": h.spec.priority,
        "timeout_ms": h.spec.timeout.as_millis() as u64,
        "failed_action": format!("{:?}", h.spec.failed_action).to_lowercase(),
        "overflow": format!("{:?}", h.spec.overflow).to_lowercase(),
        "mandatory": h.spec.mandatory,
        "breaker": breaker_json(&h.breaker),
        "hooks": h.spec.points.iter().map(|p| json!({"name": p.point.name(), "topics": p.topics, "observe": p.observe})).collect::<Vec<_>>(),
        "metrics": h.stats.iter().map(stats_json).collect::<Vec<_>>(),
    })
}

/// A circuit breaker as JSON: `state` (`closed`, `open`, `half_open`), times opened, failures in
/// the current window, and its configuration (`failures` 0: disabled).
pub(crate) fn breaker_json(b: &BreakerStatus) -> Value {
    json!({
        "state": b.state.as_str(),
        "opens": b.opens,
        "recent_failures": b.recent_failures,
        "failures": b.config.failures,
        "window_ms": b.config.window.as_millis() as u64,
        "cooldown_ms": b.config.cooldown.as_millis() as u64,
    })
}

/// Adds `breaker` (or null while no handler of that name is registered) to a driver's or
/// server's JSON.
pub(crate) fn with_breaker(hooks: &Hooks, handler: &str, mut item: Value) -> Value {
    let breaker = hooks
        .handlers()
        .into_iter()
        .find(|h| h.spec.name == handler)
        .map(|h| breaker_json(&h.breaker));
    if let Value::Object(map) = &mut item {
        map.insert("breaker".into(), breaker.unwrap_or(Value::Null));
    }
    item
}

/// `POST /api/v1/hooks/{name}/breaker/reset`: closes a handler's circuit breaker now.
pub(super) async fn reset_breaker(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hooks = s.broker.hooks();
    let was_open = hooks
        .reset_breaker(&name)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    tracing::info!(handler = %name, was_open, "circuit breaker reset through the API");
    let item = with_breaker(hooks, &name, json!({ "name": name, "was_open": was_open }));
    Ok(Json(item))
}

pub(super) async fn hooks(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s
        .broker
        .hooks()
        .handlers()
        .iter()
        .map(handler_json)
        .collect();
    Json(json!({ "data": list, "latency_bounds_us": hookmq_hooks::LATENCY_BUCKETS_US }))
}

/// `GET /api/v1/config`: the configuration in force, secrets masked.
pub(super) async fn config(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    s.config
        .as_deref()
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("the configuration is not available"))
}

pub(super) async fn log_level(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let log = s
        .log
        .as_ref()
        .ok_or_else(|| ApiError::not_found("log control is not available"))?;
    Ok(Json(json!({ "level": log.level() })))
}

/// Body of `PUT /api/v1/log/level`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LevelBody {
    level: String,
}

pub(super) async fn set_log_level(
    State(s): State<ApiState>,
    Json(b): Json<LevelBody>,
) -> Result<Json<Value>, ApiError> {
    let log = s
        .log
        .as_ref()
        .ok_or_else(|| ApiError::not_found("log control is not available"))?;
    log.set_level(&b.level).map_err(ApiError::bad_request)?;
    Ok(Json(json!({ "level": log.level() })))
}

pub(super) async fn metrics(State(s): State<ApiState>) -> impl IntoResponse {
    let mut text = crate::prometheus::render(&s.broker);
    text.push_str(&crate::prometheus::render_port(&s.port));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
