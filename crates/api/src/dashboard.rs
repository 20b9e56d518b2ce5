//! The web dashboard, served by the API listener at `/`: three files of plain HTML, CSS and one
//! ES module under `crates/api/assets/`, embedded in the binary at build time, so nothing (no
//! Node.js, no bundler) is needed to build or run it. The pages call the same `/api/v1`
//! endpoints as `hookmq ctl`, with the same token; the files themselves hold no data and are
//! served without the token so the login form can load. Why this shape rather than
//! server-rendered charts: `docs/dashboard.md`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::ApiState;

const INDEX: &str = include_str!("../assets/index.html");
const APP: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");

/// The dashboard's routes (outside the token check).
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(|| file("text/html; charset=utf-8", INDEX)))
        .route(
            "/index.html",
            get(|| file("text/html; charset=utf-8", INDEX)),
        )
        .route(
            "/assets/app.js",
            get(|| file("text/javascript; charset=utf-8", APP)),
        )
        .route(
            "/assets/style.css",
            get(|| file("text/css; charset=utf-8", STYLE)),
        )
}

async fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
