//! The Rust types generated from `proto/exhook_v{1,2,3}.proto` by `build.rs`. The client in
//! `client.rs` builds v3 requests and re-encodes them for v2 and v1 servers (`version.rs`); the
//! field numbers are shared, only a few fields differ.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

/// `emqx.exhook.v1` (EMQX 4.3 / 4.4).
pub mod v1 {
    tonic::include_proto!("emqx.exhook.v1");
}

/// `emqx.exhook.v2` (EMQX 5.0 to 5.8).
pub mod v2 {
    tonic::include_proto!("emqx.exhook.v2");
}

/// `emqx.exhook.v3` (EMQX 5.9 and later, 6.x).
pub mod v3 {
    tonic::include_proto!("emqx.exhook.v3");
}
