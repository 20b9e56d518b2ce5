//! Port-driver endpoints: the `extension_hook` plugin (load, unload, reload) and the Python/Java
//! drivers (list, enable, disable, stats).

use axum::Router;

use super::ApiState;

/// The routes of this module, merged into the API router.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
}
