//! The errors of the port drivers, one enum per layer, each keeping its cause:
//!
//! - [`SettingError`]: one driver setting's value (`settings`, shared by both files);
//! - [`ConfigError`]: a configuration file (`conf_file`), naming the file, line and key;
//! - [`RuntimeError`]: finding hookmq's runtimes and building a worker's command line
//!   (`runtimes`);
//! - [`LoadError`]: starting a driver (`worker`, `pool`, `driver`), wrapping a
//!   [`RuntimeError`] or the [`InitError`] of a bad `init()` answer (kept in [`crate::spec`]);
//! - [`ReplyError`]: a `message_publish` answer that cannot rewrite the message (`verdict`).
//!
//! [`crate::PortError`] (`manager`) is what the management API and the binary see. The texts are
//! the ones users read in `hookmq ctl` output, logs and the API's `error` field: each names what
//! is wrong and, where there is one, its cause.

use std::path::PathBuf;
use std::time::Duration;

use hookmq_codec::TopicError;
use hookmq_hooks::{HookError, RegistryError};

use crate::config::{MAX_POOL_SIZE, SETTING_KEYS};
use crate::spec::InitError;

/// Why the value of one driver setting cannot be used; the caller names the key and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// A key no driver has.
    #[error("unknown driver setting {key:?} (known: {})", SETTING_KEYS.join(", "))]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A value of the wrong form.
    #[error("{value} is not {expected}")]
    BadValue {
        /// The value as written.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// A `pool_size` out of range.
    #[error("{value} is not a number of workers from 1 to {MAX_POOL_SIZE}")]
    PoolSize {
        /// The value as written.
        value: String,
    },
    /// A value that does not read as a duration.
    #[error("{value} is not a duration (write e.g. 5s or 500ms)")]
    NotADuration {
        /// The value as written.
        value: String,
        /// Why its number did not parse, if that was the problem.
        #[source]
        source: Option<std::num::ParseIntError>,
    },
    /// A duration written without its unit.
    #[error("{text:?} has no unit (write e.g. {text}ms or {text}s; EMQX read a bare number as ms)")]
    NoUnit {
        /// The number as written.
        text: String,
    },
    /// A duration of zero or more than an hour.
    #[error("{value} must be more than 0 and at most 1h")]
    DurationRange {
        /// The value as written.
        value: String,
    },
    /// A driver name with other characters than letters, digits, `_` and `-`.
    #[error("{name:?} is not a driver name (letters, digits, '_' and '-')")]
    DriverName {
        /// The name.
        name: String,
    },
    /// A driver without `kind` whose name is not a kind.
    #[error(
        "driver {name:?} needs kind = \"python3\", \"python\" or \"java\" (only drivers named \
         after a kind may leave it out)"
    )]
    NoKind {
        /// The driver's name.
        name: String,
    },
    /// A hook name no hook point has (in `observe`).
    #[error("{name:?} is not a hook name (e.g. message_publish or message.publish)")]
    UnknownHook {
        /// The name as written.
        name: String,
    },
    /// `python2` listed in `exhook.drivers`.
    #[error("python2 is not supported (the SDK needs Python 3): use python3")]
    Python2,
}

/// Why the EMQX-style configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line that is not `key = value`.
    #[error("{file} line {line}: {text}: {problem}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The key, or the line's text when there is no key.
        text: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A value that cannot be used.
    #[error("{file} line {line}: {key}: {source}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong with the value.
        #[source]
        source: SettingError,
    },
    /// A driver configured in both files.
    #[error("driver {driver} is configured both in hookmq.toml and in {file}; keep one")]
    Duplicate {
        /// The driver's name.
        driver: String,
        /// The EMQX-style file.
        file: String,
    },
}

/// Why a worker's command line cannot be built: hookmq's runtimes, the interpreter or a search
/// path entry is missing.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No runtimes directory in any of the places tried.
    #[error(
        "cannot find hookmq's port runtimes (looked in: {}); set [exhook.drivers] runtimes_dir \
         or HOOKMQ_RUNTIMES to the directory holding python/erlport and java/erlport.jar",
        places(.looked)
    )]
    NotFound {
        /// The places tried, in order.
        looked: Vec<PathBuf>,
    },
    /// The runtimes directory has no Python runtime.
    #[error("hookmq's Python runtime is missing: no {}", .script.display())]
    PythonMissing {
        /// The file looked for (`python/erlport/cli.py`).
        script: PathBuf,
    },
    /// The runtimes directory has no Java runtime.
    #[error(
        "hookmq's Java runtime is missing: no erlport.jar and hookmq-sdk.jar in {shown}/java or \
         {shown}/java/build (build them with runtimes/java/build.sh)",
        shown = .dir.display()
    )]
    JavaMissing {
        /// The runtimes directory.
        dir: PathBuf,
    },
    /// No Python interpreter of the driver's kind.
    #[error("{exe} not found on PATH (the {exe} driver runs the `{exe}` command)")]
    InterpreterNotFound {
        /// `python3` or `python`.
        exe: &'static str,
    },
    /// No `java`.
    #[error("java not found on PATH or in $JAVA_HOME/bin")]
    JavaNotFound,
    /// A search path entry that does not exist.
    #[error("path {entry} does not exist (looked for {})", .looked.display())]
    PathMissing {
        /// The entry as configured.
        entry: String,
        /// Where it was looked for.
        looked: PathBuf,
    },
    /// Paths that cannot be joined into one variable (one contains `:`).
    #[error("a path cannot be used: {source}")]
    Join {
        /// The cause.
        #[source]
        source: std::env::JoinPathsError,
    },
}

fn places(looked: &[PathBuf]) -> String {
    if looked.is_empty() {
        return "nowhere".to_owned();
    }
    let names: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// Why a driver, or one of its workers, did not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The worker's command line cannot be built.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The process cannot be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The executable.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The `init()` call cannot be sent.
    #[error(transparent)]
    Call(HookError),
    /// The process ended before `init()` answered.
    #[error("the worker exited ({status}) before {module}.init() answered{}", stderr_tail(.stderr))]
    Exited {
        /// `init_module`.
        module: String,
        /// Its exit status, or why waiting for it failed.
        status: String,
        /// The last lines it wrote to stderr.
        stderr: String,
    },
    /// `init()` did not answer within `init_timeout`.
    #[error("{module}.init() did not answer within {} (init_timeout)", crate::pool::show(*.after))]
    InitTimeout {
        /// `init_module`.
        module: String,
        /// `init_timeout`.
        after: Duration,
    },
    /// The worker stopped taking calls before `init()` answered.
    #[error("the worker stopped before {module}.init() answered")]
    Stopped {
        /// `init_module`.
        module: String,
    },
    /// `init()` raised: Python's traceback or Java's stack trace.
    #[error("{module}.init() failed:\n{trace}")]
    InitRaised {
        /// `init_module`.
        module: String,
        /// The traceback or stack trace.
        trace: String,
    },
    /// `init()` answered something that cannot be used.
    #[error("{module}: {source}")]
    BadInit {
        /// `init_module`.
        module: String,
        /// What is wrong with the answer.
        #[source]
        source: InitError,
    },
    /// A runtime that agreed to hookmq's batched mode failed a step of it (after `init()`:
    /// preparing the hooks it registered, e.g. a function that does not exist).
    #[error("{step}: {why}")]
    Batch {
        /// What was being done.
        step: &'static str,
        /// Why it failed: the runtime's traceback, or what it answered.
        why: String,
    },
    /// One worker of several failed.
    #[error("worker {index}: {source}")]
    Worker {
        /// The worker's index.
        index: usize,
        /// Why it failed.
        #[source]
        source: Box<LoadError>,
    },
    /// A worker's supervisor ended before its worker started.
    #[error("worker {index} stopped while starting")]
    Abandoned {
        /// The worker's index.
        index: usize,
    },
    /// The pool has no worker (not reached: a pool has at least one).
    #[error("no worker started")]
    NoWorker,
    /// The hook registry refused the driver.
    #[error(transparent)]
    Register(#[from] RegistryError),
}

impl LoadError {
    /// This failure as worker `index`'s when the pool has several workers.
    pub(crate) fn of_worker(self, index: usize, pool_size: usize) -> LoadError {
        if pool_size > 1 {
            LoadError::Worker {
                index,
                source: Box::new(self),
            }
        } else {
            self
        }
    }
}

fn stderr_tail(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; its stderr:\n{stderr}")
    }
}

/// Why a `message_publish` answer cannot rewrite the message; it becomes
/// [`HookError::BadReply`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// `(0, X)` where `X` is neither a proplist nor a map.
    #[error(
        "message_publish returned (0, {returned}); expected a message proplist, or False to drop"
    )]
    NotAMessage {
        /// `X`.
        returned: String,
    },
    /// A proplist item that is not a pair.
    #[error("message_publish returned a list with {item}, not a {{key, value}} pair")]
    NotAPair {
        /// The item.
        item: String,
    },
    /// A topic that is not text.
    #[error("message_publish returned topic {value}, not text")]
    TopicNotText {
        /// The value.
        value: String,
    },
    /// A topic that is not a valid topic name.
    #[error("message_publish returned topic {topic:?}, not a valid topic name: {source}")]
    BadTopic {
        /// The topic.
        topic: String,
        /// Why it is invalid.
        #[source]
        source: TopicError,
    },
    /// A payload that is neither a binary nor a charlist.
    #[error("message_publish returned payload {value}, not bytes")]
    PayloadNotBytes {
        /// The value.
        value: String,
    },
    /// A QoS other than 0, 1 or 2.
    #[error("message_publish returned qos {value}, not 0, 1 or 2")]
    BadQos {
        /// The value.
        value: String,
    },
    /// A `retain` or `properties` entry that cannot be read.
    #[error("message_publish returned {why}")]
    Invalid {
        /// What is wrong.
        why: String,
    },
}

impl From<ReplyError> for HookError {
    fn from(e: ReplyError) -> HookError {
        HookError::BadReply(e.to_string())
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
