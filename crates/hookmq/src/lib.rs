//! The library part of the `hookmq` command: loading and validating `hookmq.toml`
//! ([`config`]). The binary (`main.rs`) uses it to start the broker and for
//! `hookmq config check`; the `config_toml` fuzz target (`crates/fuzzcheck`) runs the same
//! loading on arbitrary text.

pub mod config;
