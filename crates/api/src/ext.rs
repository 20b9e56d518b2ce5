//! Extension server endpoints (hookmq's stream protocol): list, show, add, update, enable,
//! disable, remove, reload — at runtime, without a broker restart. The same shape as the exhook
//! server endpoints, under `/api/v1/ext/servers`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hookmq_ext_client::{ExtConfig, ExtError};
use serde_json::{Value, json};

use super::{ApiError, ApiState};

/// The routes of this module, merged into the API router.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/ext/servers", get(list).post(add))
        .route(
            "/api/v1/ext/servers/{name}",
            get(show).put(update).delete(remove),
        )
        .route("/api/v1/ext/servers/{name}/enable", post(enable))
        .route("/api/v1/ext/servers/{name}/disable", post(disable))
        .route("/api/v1/ext/servers/{name}/reload", post(reload))
}

impl From<ExtError> for ApiError {
    fn from(e: ExtError) -> Self {
        match e {
            ExtError::NotFound(_) => ApiError::not_found(e.to_string()),
            ExtError::Duplicate(_) | ExtError::Disabled(_) => ApiError::conflict(e.to_string()),
            ExtError::Config { .. } => ApiError::bad_request(e.to_string()),
        }
    }
}

fn to_json(v: impl serde::Serialize) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// A server's JSON with its handler's circuit breaker.
fn with_breaker(s: &ApiState, item: Value) -> Value {
    let handler = format!("ext:{}", item["name"].as_str().unwrap_or_default());
    super::hooks::with_breaker(s.broker.hooks(), &handler, item)
}

async fn list(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s
        .ext
        .list()
        .into_iter()
        .map(|v| with_breaker(&s, serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect();
    Json(json!({ "data": list }))
}

async fn show(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let item = serde_json::to_value(s.ext.get(&name)?).unwrap_or(Value::Null);
    Ok(Json(with_breaker(&s, item)))
}

async fn add(
    State(s): State<ApiState>,
    Json(cfg): Json<ExtConfig>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((StatusCode::CREATED, to_json(s.ext.add(cfg).await?)))
}

async fn update(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    Json(cfg): Json<ExtConfig>,
) -> Result<Json<Value>, ApiError> {
    if cfg.name != name {
        return Err(ApiError::bad_request(format!(
            "the body names {:?}, the path {name:?}",
            cfg.name
        )));
    }
    Ok(to_json(s.ext.update(cfg).await?))
}

async fn enable(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(to_json(s.ext.enable(&name).await?))
}

async fn disable(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(to_json(s.ext.disable(&name).await?))
}

async fn reload(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(to_json(s.ext.reload(&name).await?))
}

async fn remove(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.ext.remove(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
