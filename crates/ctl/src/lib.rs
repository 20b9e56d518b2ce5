//! Management for hookmq: the HTTP API (JSON under `/api/v1`, Prometheus text at `/metrics`),
//! served by the binary on `[api] bind`, and the `hookmq ctl` client that calls it.

pub mod api;
pub mod client;
pub mod client_drivers;
pub mod client_servers;
pub mod prometheus;
mod table;

use serde::Deserialize;

/// `[api]`: the management API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the API.
    pub enable: bool,
    /// Address; keep it on loopback unless a token is set.
    pub bind: std::net::SocketAddr,
    /// Bearer token every request must carry; empty: none.
    pub token: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enable: true,
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 18083)),
            token: String::new(),
        }
    }
}
