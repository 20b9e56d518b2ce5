//! The management HTTP API server: JSON over HTTP/1.1 under `/api/v1`, plus `/metrics` in
//! Prometheus text format, optionally protected by a bearer token. The binary serves it on
//! `[api] bind`; the `hookmq ctl` client (crate `hookmq-ctl`) and operators' tools call it.
//! Endpoints are listed in `docs/api.md`.

mod authorization;
mod broker;
mod dashboard;
mod drivers;
mod ext;
mod guard;
mod hooks;
pub mod prometheus;
mod servers;
mod traces;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hookmq_broker::Broker;
use hookmq_exhook::ExhookManager;
use serde::Deserialize;
use serde_json::json;

/// `[api]`: the management API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the API.
    pub enable: bool,
    /// Address; keep it on loopback unless a token is set.
    pub bind: SocketAddr,
    /// Bearer token every request must carry; empty: none.
    pub token: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enable: true,
            bind: SocketAddr::from(([127, 0, 0, 1], 18083)),
            token: String::new(),
        }
    }
}

/// Changes the log filter at runtime.
pub trait LogControl: Send + Sync {
    /// The filter in force.
    fn level(&self) -> String;
    /// Replaces the filter (a level such as `debug` or a tracing filter).
    fn set_level(&self, filter: &str) -> Result<(), String>;
}

/// What the API serves.
#[derive(Clone)]
pub struct ApiState {
    /// The broker.
    pub broker: Arc<Broker>,
    /// The gRPC exhook servers.
    pub exhook: Arc<ExhookManager>,
    /// The extension servers (hookmq's stream protocol).
    pub ext: Arc<hookmq_ext_client::ExtManager>,
    /// The port (Python, Java) drivers.
    pub port: Arc<hookmq_port::PortDrivers>,
    /// Runtime log level control, if the binary set one up.
    pub log: Option<Arc<dyn LogControl>>,
    /// Bearer token required on every request, if set.
    pub token: Option<String>,
    /// The bound MQTT listeners, for the dashboard's overview.
    pub listeners: Vec<hookmq_broker::BoundListener>,
    /// The configuration in force with secrets masked (`GET /api/v1/config`), if known.
    pub config: Option<Arc<serde_json::Value>>,
}

/// An API error: an HTTP status and a message, sent as `{"error": message}`.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 409 with a message.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "error": self.message }))).into_response()
    }
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/status", get(broker::status))
        .route("/api/v1/clients", get(broker::clients))
        .route("/api/v1/cluster", get(broker::cluster))
        .route(
            "/api/v1/clients/{clientid}",
            get(broker::client).delete(broker::kick),
        )
        .route(
            "/api/v1/clients/{clientid}/subscriptions",
            get(broker::client_subscriptions),
        )
        .route(
            "/api/v1/clients/{clientid}/reauthorize",
            post(authorization::one),
        )
        .route("/api/v1/reauthorize", post(authorization::all))
        .route("/api/v1/subscriptions", get(broker::subscriptions))
        .route("/api/v1/retained", get(broker::retained_list))
        .route(
            "/api/v1/retained/{*topic}",
            get(broker::retained_show).delete(broker::retained_delete),
        )
        .route("/api/v1/publish", post(broker::publish))
        .route("/api/v1/hooks", get(hooks::hooks))
        .route(
            "/api/v1/hooks/{name}/breaker/reset",
            post(hooks::reset_breaker),
        )
        .route(
            "/api/v1/log/level",
            get(hooks::log_level).put(hooks::set_log_level),
        )
        .route("/metrics", get(hooks::metrics))
        .route("/api/v1/config", get(hooks::config))
        .merge(drivers::routes())
        .merge(servers::routes())
        .merge(traces::routes())
        .merge(ext::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        // The dashboard's files carry no data: the login form must load without the token.
        .merge(dashboard::routes())
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .with_state(state)
}

/// Checks the bearer token when one is configured.
async fn auth(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            let mut resp = (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "missing or wrong bearer token"})),
            )
                .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return resp;
        }
    }
    next.run(req).await
}

/// Serves the API on `bind` until the broker shuts down; returns the bound address.
pub async fn serve(state: ApiState, bind: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let shutdown = state.broker.shutdown_token();
    let app = router(state);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await });
        if let Err(e) = served.await {
            tracing::warn!(error = %e, "management API stopped");
        }
    });
    Ok(addr)
}
