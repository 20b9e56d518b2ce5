//! gRPC exhook server endpoints: list, show, add, update, enable, disable, remove, move, reload,
//! stats — at runtime, without a broker restart.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hookmq_exhook::{ExhookError, ServerConfig};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiState};

/// The routes of this module, merged into the API router.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/exhook/servers", get(list).post(add))
        .route(
            "/api/v1/exhook/servers/{name}",
            get(show).put(update).delete(remove),
        )
        .route("/api/v1/exhook/servers/{name}/enable", post(enable))
        .route("/api/v1/exhook/servers/{name}/disable", post(disable))
        .route("/api/v1/exhook/servers/{name}/reload", post(reload))
        .route("/api/v1/exhook/servers/{name}/move", post(move_to))
        .route("/api/v1/exhook/stats", get(stats))
}

impl From<ExhookError> for ApiError {
    fn from(e: ExhookError) -> Self {
        match e {
            ExhookError::NotFound(_) => ApiError::not_found(e.to_string()),
            ExhookError::Duplicate(_) | ExhookError::Disabled(_) => {
                ApiError::conflict(e.to_string())
            }
            ExhookError::Config { .. } | ExhookError::Position(_) => {
                ApiError::bad_request(e.to_string())
            }
        }
    }
}

fn to_json(v: impl serde::Serialize) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// A server's JSON with its handler's circuit breaker.
fn with_breaker(s: &ApiState, item: Value) -> Value {
    let handler = format!("exhook:{}", item["name"].as_str().unwrap_or_default());
    super::hooks::with_breaker(s.broker.hooks(), &handler, item)
}

async fn list(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s
        .exhook
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
    let item = serde_json::to_value(s.exhook.get(&name)?).unwrap_or(Value::Null);
    Ok(Json(with_breaker(&s, item)))
}

async fn add(
    State(s): State<ApiState>,
    Json(cfg): Json<ServerConfig>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((StatusCode::CREATED, to_json(s.exhook.add(cfg).await?)))
}

async fn update(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    Json(cfg): Json<ServerConfig>,
) -> Result<Json<Value>, ApiError> {
    if cfg.name != name {
        return Err(ApiError::bad_request(format!(
            "the body names {:?}, the path {name:?}",
            cfg.name
        )));
    }
    Ok(to_json(s.exhook.update(cfg).await?))
}

async fn enable(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(to_json(s.exhook.enable(&name).await?))
}

async fn disable(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(to_json(s.exhook.disable(&name).await?))
}

async fn reload(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(to_json(s.exhook.reload(&name).await?))
}

async fn remove(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.exhook.remove(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of a move: `{"position": "front" | "rear" | "before:<name>" | "after:<name>"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    position: String,
}

async fn move_to(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    Json(b): Json<MoveBody>,
) -> Result<Json<Value>, ApiError> {
    let position = hookmq_exhook::parse_position(&b.position)?;
    s.exhook.move_to(&name, position).await?;
    let order: Vec<String> = s.exhook.list().into_iter().map(|st| st.name).collect();
    Ok(Json(json!({ "order": order })))
}

async fn stats(State(s): State<ApiState>) -> Json<Value> {
    Json(json!({ "data": s.exhook.stats() }))
}
