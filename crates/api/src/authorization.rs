//! Re-authorization: check sessions again against what `client.authorize` answers now, after an
//! operator or an external system changed a client's rights (`hookmq ctl clients reauthorize`).
//! Denied subscriptions are removed and unreadable queued messages dropped; see
//! docs/security.md.

use axum::Json;
use axum::extract::{Path, State};
use hookmq_broker::Reauthorized;
use serde_json::{Value, json};

use super::{ApiError, ApiState};

fn report_json(clientid: &str, r: &Reauthorized) -> Value {
    json!({
        "clientid": clientid,
        "unsubscribed": r.unsubscribed,
        "dropped": r.dropped,
    })
}

/// `POST /api/v1/clients/{clientid}/reauthorize`
pub(super) async fn one(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match s.broker.reauthorize(&id).await {
        Some(r) => Ok(Json(report_json(&id, &r))),
        None => Err(ApiError::not_found(format!("no client {id:?}"))),
    }
}

/// `POST /api/v1/reauthorize`: every session.
pub(super) async fn all(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s
        .broker
        .reauthorize_all()
        .await
        .iter()
        .map(|(id, r)| report_json(id, r))
        .collect();
    Json(json!({ "data": list }))
}
