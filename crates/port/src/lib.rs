//! Port drivers: hook handlers in external Python or Java processes that speak the Erlang-port
//! protocol (4-byte length framing, Erlang External Term Format) over stdin/stdout.
//!
//! The broker's hook registry calls the drivers defined here; they call nothing in the broker.

pub mod etf;
pub mod frame;
