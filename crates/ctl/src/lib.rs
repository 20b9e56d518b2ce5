//! `hookmq ctl`: the command-line client of the management API (served by `hookmq-api`). It
//! speaks plain HTTP/JSON to `/api/v1`, so it depends on no broker crate; the binary calls
//! [`client::run`].

pub mod client;
pub mod client_drivers;
pub mod client_ext;
pub mod client_servers;
pub mod client_trace;
mod table;
