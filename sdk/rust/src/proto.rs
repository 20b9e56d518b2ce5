//! The Rust types generated from `proto/hookmq/ext/v1/*.proto` by `build.rs`: every message
//! (events, replies, frames) and the `Extension` server.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

/// `hookmq.ext.v1`.
pub mod v1 {
    tonic::include_proto!("hookmq.ext.v1");
}
