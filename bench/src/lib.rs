//! The load generator behind `docs/performance.md`, as a library so its parts are documented
//! and reusable: an MQTT client on our codec ([`client`]), the pub/sub scenarios
//! ([`scenario`], with [`publisher`] and [`subscriber`]), the `conn` scenario ([`conn`]),
//! broker processes ([`target`], [`cluster`], [`variant`], [`procfs`], [`tls`]) and results ([`stats`], [`report`]).
//! The `hookmq-bench` binary (`src/main.rs`) drives them; `bench/run.sh` drives the binary.

pub mod client;
pub mod cluster;
pub mod conn;
pub mod procfs;
pub mod publisher;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod subscriber;
pub mod target;
pub mod tls;
pub mod variant;
