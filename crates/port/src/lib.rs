//! Port drivers: hook handlers in external Python or Java processes that speak the Erlang-port
//! protocol (4-byte length framing, Erlang External Term Format) over stdin/stdout.
//!
//! The broker's hook registry calls the drivers defined here; they call nothing in the broker.
//! The sans-IO protocol layers come first: [`etf`] (terms), [`frame`] (`{packet, 4}`) and
//! [`message`] (calls, replies and the rest of the port message set).

pub mod etf;
pub mod frame;
pub mod manager;
pub mod message;

pub use manager::{DriversConfig, PortDrivers, PortError};
