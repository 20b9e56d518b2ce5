//! The Rust types generated from `proto/hookmq/ext/v1/*.proto` by `build.rs` (messages and the
//! `Extension` client). The SDK (`sdk/rust`) compiles the same files for the server side.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

/// `hookmq.ext.v1`.
pub mod v1 {
    tonic::include_proto!("hookmq.ext.v1");
}
