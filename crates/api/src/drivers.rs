//! Port-driver endpoints: the `extension_hook` plugin (list, load, unload, reload; the name
//! `emqx_extension_hook` is accepted too) and its Python/Java drivers (list, show, enable,
//! disable, stats). Documented in `docs/api.md`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hookmq_port::{DriverStatus, LoadReport, PluginStatus, PortError, WorkerStatus};
use serde_json::{Value, json};

use super::{ApiError, ApiState};

/// The routes of this module, merged into the API router.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/plugins", get(plugins))
        .route("/api/v1/plugins/{name}/load", post(load))
        .route("/api/v1/plugins/{name}/unload", post(unload))
        .route("/api/v1/plugins/{name}/reload", post(reload))
        .route("/api/v1/exhook/drivers", get(drivers))
        .route("/api/v1/exhook/drivers/{name}", get(driver))
        .route("/api/v1/exhook/drivers/{name}/enable", post(enable))
        .route("/api/v1/exhook/drivers/{name}/disable", post(disable))
        .route("/api/v1/exhook/drivers/{name}/stats", get(stats))
}

/// Maps a driver error to its HTTP status: 404 unknown, 400 bad configuration, 409 wrong state,
/// 422 a driver failed to load.
fn api_error(e: PortError) -> ApiError {
    let status = match &e {
        PortError::NotFound(_) => StatusCode::NOT_FOUND,
        PortError::Config(_) => StatusCode::BAD_REQUEST,
        PortError::Refused(_) => StatusCode::CONFLICT,
        PortError::Load(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError {
        status,
        message: e.to_string(),
    }
}

fn check_plugin(name: &str) -> Result<(), ApiError> {
    if hookmq_port::is_plugin(name) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no plugin named {name:?} (this broker has {})",
            hookmq_port::PLUGIN
        )))
    }
}

fn plugin_json(p: &PluginStatus) -> Value {
    json!({
        "name": p.name,
        "aliases": p.aliases,
        "loaded": p.loaded,
        "state": p.state,
        "drivers": p.drivers,
        "conf_file": p.conf_file,
        "description": p.description,
    })
}

fn report_json(r: &LoadReport) -> Value {
    json!({
        "plugin": hookmq_port::PLUGIN,
        "loaded": true,
        "already_loaded": r.already_loaded,
        "started": r.started,
        "warnings": r.warnings,
    })
}

fn worker_json(w: &WorkerStatus) -> Value {
    json!({
        "index": w.index,
        "state": w.state,
        "pid": w.pid,
        "protocol": w.protocol,
        "restarts": w.restarts,
        "inflight": w.inflight,
        "last_error": w.last_error,
        "since": w.since_ms,
    })
}

fn driver_json(d: &DriverStatus) -> Value {
    json!({
        "name": d.name,
        "kind": d.kind,
        "source": d.source,
        "enabled": d.enabled,
        "state": d.state,
        "error": d.error,
        "init_module": d.init_module,
        "path": d.path,
        "call_timeout_ms": d.call_timeout_ms,
        "init_timeout_ms": d.init_timeout_ms,
        "pool_size": d.pool_size,
        "failed_action": d.failed_action,
        "dispatch": d.dispatch,
        "overflow": d.overflow,
        "batch": d.batch,
        "max_batch": d.max_batch,
        "queue_capacity": d.queue_capacity,
        "priority": d.priority,
        "hooks": d.hooks.iter().map(|h| json!({"name": h.name, "topics": h.topics, "observe": h.observe})).collect::<Vec<_>>(),
        "workers": d.workers.iter().map(worker_json).collect::<Vec<_>>(),
        "restarts": d.restarts,
        "loaded_at": d.loaded_at_ms,
    })
}

async fn plugins(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s.port.plugins().iter().map(plugin_json).collect();
    Json(json!({ "data": list }))
}

async fn load(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_plugin(&name)?;
    let report = s.port.load_plugin().await.map_err(api_error)?;
    Ok(Json(report_json(&report)))
}

async fn unload(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_plugin(&name)?;
    s.port.unload_plugin().await.map_err(api_error)?;
    Ok(Json(
        json!({ "plugin": hookmq_port::PLUGIN, "loaded": false }),
    ))
}

async fn reload(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_plugin(&name)?;
    let report = s.port.reload_plugin().await.map_err(api_error)?;
    Ok(Json(report_json(&report)))
}

/// A driver's JSON with its handler's circuit breaker (the handler has the driver's name).
fn with_breaker(s: &ApiState, d: &DriverStatus) -> Value {
    super::hooks::with_breaker(s.broker.hooks(), &d.name, driver_json(d))
}

async fn drivers(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s
        .port
        .drivers()
        .iter()
        .map(|d| with_breaker(&s, d))
        .collect();
    Json(json!({ "data": list }))
}

async fn driver(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = s.port.driver(&name).map_err(api_error)?;
    Ok(Json(with_breaker(&s, &d)))
}

async fn enable(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = s.port.enable(&name).await.map_err(api_error)?;
    Ok(Json(driver_json(&d)))
}

async fn disable(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = s.port.disable(&name).await.map_err(api_error)?;
    Ok(Json(driver_json(&d)))
}

/// The driver, plus its hook metrics from the registry (present while it is running).
async fn stats(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = s.port.driver(&name).map_err(api_error)?;
    let mut body = with_breaker(&s, &d);
    let handler = s
        .broker
        .hooks()
        .handlers()
        .into_iter()
        .find(|h| h.spec.name == name && h.spec.driver == d.kind);
    body["metrics"] = handler
        .map(|h| super::hooks::handler_json(&h)["metrics"].clone())
        .unwrap_or_else(|| json!([]));
    Ok(Json(body))
}
