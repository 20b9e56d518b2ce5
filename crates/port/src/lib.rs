//! Port drivers: hook handlers in external Python or Java processes that speak the Erlang-port
//! protocol (4-byte length framing, Erlang External Term Format) over stdin/stdout, as EMQX
//! 4.1's `emqx_extension_hook` plugin did.
//!
//! The broker's hook registry calls the drivers defined here; they call nothing in the broker.
//! The binary starts one [`PortDrivers`] (configured by `[exhook.drivers]` in `hookmq.toml` and
//! by `etc/plugins/extension_hook.conf`); the management API loads, unloads and lists them.
//!
//! - Protocol, sans-IO: [`etf`] (terms), [`frame`] (`{packet, 4}`), [`message`] (calls, replies
//!   and the rest of the port message set), `batch` (hookmq's batched mode with its own
//!   runtimes: many calls per frame, one answer per batch).
//! - Hook semantics: [`arguments`] (an event as EMQX's argument terms), [`verdict`] (an answer as
//!   a chain verdict), [`spec`] (the `init()` answer).
//! - Configuration: [`config`] (`hookmq.toml`), [`conf_file`] (the EMQX-style file),
//!   [`settings`] (one key at a time, for both),
//!   [`runtimes`] (where our runtimes are; the worker command line).
//! - Errors: [`error`], one enum per layer; [`PortError`] is what callers of [`PortDrivers`] see.
//! - Processes: `worker` (one process and its pipe), `pool` (the workers of a driver, their
//!   supervision and restarts), `driver` (a loaded driver as a hook handler), [`manager`] (the
//!   plugin: load, unload, reload, enable, disable), `console` (worker output in the log).

pub mod arguments;
mod auth_answer;
mod batch;
pub mod conf_file;
pub mod config;
mod connack_answer;
mod console;
mod driver;
pub mod error;
pub mod etf;
pub mod frame;
pub mod manager;
pub mod message;
mod pool;
mod rights_answer;
pub mod runtimes;
mod service;
pub mod settings;
pub mod spec;
pub mod status;
pub mod verdict;
mod worker;

/// Entry points for the fuzz targets (`crates/fuzzcheck`), not for use elsewhere.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a worker's call to `hookmq:Function(Args)` into a service call, as the worker's
    /// reader does (with `parent_hops` as the hop count in flight).
    pub fn service_call(
        function: &crate::etf::Term,
        args: &crate::etf::Term,
        parent_hops: u8,
    ) -> Result<hookmq_hooks::ServiceCall, hookmq_hooks::ServiceError> {
        crate::service::decode(function, args, parent_hops)
    }

    /// The `{hookmq, Code, Message, []}` error term a refused call is answered with.
    pub fn service_error(error: &hookmq_hooks::ServiceError) -> crate::etf::Term {
        crate::service::encode_error(error)
    }

    use bytes::BytesMut;
    use tokio::sync::oneshot;
    use tokio::time::Instant;

    use crate::batch::{BatchFault, Batches, Slot};
    use crate::message::BatchReply;
    use crate::worker::{Answer, Reply};

    /// What one call of a batch got from an answer.
    #[derive(Debug, Clone, PartialEq)]
    pub enum CallOutcome {
        /// Still waiting (the answer was not for its batch).
        Waiting,
        /// A result (`observe`: a value an observe-only call returned anyway).
        Value,
        /// Acknowledged without a value (observe-only calls only).
        Acknowledged,
        /// The hook raised.
        Error,
        /// The answer was malformed: the call failed with this reason.
        Malformed(String),
    }

    /// Sends batch 1 of calls (`observe[i]`: call `i` is observe-only), at most `max_batch` per
    /// batch, then hands it `reply`; returns each call's outcome and the fault reported, if any.
    pub fn answer_batch(
        observe: &[bool],
        max_batch: usize,
        reply: BatchReply,
    ) -> (Vec<CallOutcome>, Option<String>) {
        let mut batches = Batches::new(max_batch);
        let mut waiting: Vec<oneshot::Receiver<Answer>> = Vec::new();
        for &o in observe {
            let (tx, rx) = oneshot::channel();
            let slot = Slot {
                reply: tx,
                observe: o,
            };
            let pushed = batches.push(
                0,
                |buf| crate::etf::put_list(buf, &[]),
                slot,
                Instant::now(),
            );
            if pushed.is_ok() {
                waiting.push(rx);
            }
        }
        batches.flush_into(&mut BytesMut::new());
        let (done, fault) = batches.complete(reply);
        for (slot, answer) in done {
            let _ = slot.reply.send(answer);
        }
        let outcomes = waiting
            .into_iter()
            .map(|mut rx| match rx.try_recv() {
                Err(_) => CallOutcome::Waiting,
                Ok(Ok(Reply::Value(_) | Reply::Result { .. })) => CallOutcome::Value,
                Ok(Ok(Reply::Acknowledged)) => CallOutcome::Acknowledged,
                Ok(Ok(Reply::Error(_))) => CallOutcome::Error,
                Ok(Err(e)) => CallOutcome::Malformed(e.to_string()),
            })
            .collect();
        let fault = fault.map(|f: BatchFault| f.to_string());
        (outcomes, fault)
    }
}

pub use config::{DriverConfig, DriverKind, DriversConfig};
pub use error::{ConfigError, LoadError, ReplyError, RuntimeError, SettingError};
pub use manager::{PLUGIN, PLUGIN_ALIASES, PortDrivers, PortError, is_plugin};
pub use pool::{BACKOFF_MAX, BACKOFF_MIN, HANG_FACTOR, STABLE_AFTER};
pub use spec::InitError;
pub use status::{DriverStatus, HookStatus, LoadReport, PluginStatus, WorkerStatus};
